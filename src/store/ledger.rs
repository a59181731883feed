//! The cost ledger's SQL: one row per provider request, in `ledger.db` in the user data dir
//! (a database of its own, apart from any repository's index).
//!
//! Invariants: WAL mode and a busy timeout, so that several vibe processes recording at once
//! all land; each record is one insert (atomic), together with the release of its request's
//! hold; a budget check and the hold it grants are one write transaction, so that processes
//! checking at once each see the others' requests in flight; a ledger that is corrupt, foreign or newer than
//! this vibe is reported and never rebuilt or deleted (it is the user's spending history); the
//! rows hold counts, names and money only, never prompts, answers or keys.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use super::{Error, Result, connect, migrate, sql};
use crate::cost::{Entry, Spend, Tokens};

/// `PRAGMA application_id`: "vcst" in ASCII (the index is "vibe").
const APP_ID: i64 = 0x7663_7374;

/// Numbered migrations, applied in order; `user_version` is the count applied.
const MIGRATIONS: &[&str] = &["CREATE TABLE requests (
    id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    project TEXT NOT NULL,
    session TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    operation TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    estimated INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    priced INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX requests_time ON requests(time_ms);
CREATE INDEX requests_session ON requests(session);"];

const COLS: &str = "time_ms, project, session, provider, model, operation, input_tokens, \
     output_tokens, cached_tokens, estimated, cost_usd, priced, latency_ms, outcome";

/// An open ledger database.
pub struct LedgerDb {
    conn: Connection,
    path: PathBuf,
}

/// Which rows a scan reads.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    /// Only requests at or after this time (unix ms).
    pub from_ms: Option<i64>,
    /// Only requests of this project (its recorded root path).
    pub project: Option<&'a str>,
}

impl LedgerDb {
    /// Opens the ledger at `path`, creating it (not its directory) if `create`, and migrating it.
    pub fn open(path: &Path, create: bool, busy: Duration) -> Result<LedgerDb> {
        let flags = if create {
            OpenFlags::default()
        } else {
            OpenFlags::default() - OpenFlags::SQLITE_OPEN_CREATE
        };
        let mut conn = connect(path, flags, busy)?;
        // NORMAL in WAL mode: a crash of vibe loses nothing committed; only an OS crash may lose
        // the last requests. The ledger is a record, not a cache, so not OFF as for the index.
        conn.execute_batch("PRAGMA synchronous=NORMAL;")
            .map_err(sql(path))?;
        migrate(&mut conn, path, APP_ID, MIGRATIONS, "vibe cost ledger")?;
        // Money held for requests in flight (see `LedgerDb::hold`): a table of its own, made
        // when missing rather than by a migration, so that an older vibe sharing the ledger
        // (which ignores it) is not refused a ledger of a newer version. Ids are never reused
        // (AUTOINCREMENT): a request settles its own hold, never one that took a lapsed id.
        // Creating it needs write access; a read-only opening (`vibe cost`) does without.
        let _ = conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS holds (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                time_ms INTEGER NOT NULL,
                session TEXT NOT NULL,
                host TEXT NOT NULL,
                pid INTEGER NOT NULL,
                cost_usd REAL NOT NULL
            );",
        );
        // Our id and version but not our table (edited by hand, or a half-copied file).
        if let Err(source) = conn.prepare(&format!("SELECT {COLS} FROM requests LIMIT 0")) {
            return Err(Error::Unusable {
                path: path.to_path_buf(),
                reason: format!("does not have the cost ledger's schema ({source})"),
            });
        }
        Ok(LedgerDb {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long a write waits for another process's lock before it fails.
    pub fn set_busy_timeout(&self, busy: Duration) -> Result<()> {
        self.conn.busy_timeout(busy).map_err(sql(&self.path))
    }

    /// Appends one request.
    pub fn insert(&self, e: &Entry) -> Result<()> {
        let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO requests({COLS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    e.time_ms,
                    e.project,
                    e.session,
                    e.provider,
                    e.model,
                    e.operation,
                    to_i64(e.tokens.input),
                    to_i64(e.tokens.output),
                    to_i64(e.tokens.cached),
                    e.estimated,
                    e.cost_usd,
                    e.priced,
                    to_i64(e.latency_ms),
                    e.outcome,
                ])
            })
            .map(|_| ())
            .map_err(sql(&self.path))
    }

    /// Checks a request against the budgets and holds its cost until it is recorded, in one
    /// write transaction: processes asking at once are served in turn, each seeing the others'
    /// holds. Holds older than `stale_before_ms`, or of a process of this `host` (machine and
    /// PID namespace) that `running` says is gone (one killed mid-request), are dropped first.
    /// `check` gets the spend so far with every hold counted (today and this month: all of
    /// them; the session: its own); when it allows the request, a hold of `cost_usd` is added
    /// (none for a free one) and its id returned.
    #[allow(clippy::too_many_arguments)]
    pub fn hold<E>(
        &self,
        session: &str,
        cost_usd: f64,
        now_ms: i64,
        since: (i64, i64),
        stale_before_ms: i64,
        host: &str,
        running: &dyn Fn(u32) -> bool,
        check: &mut dyn FnMut(Spend) -> std::result::Result<(), E>,
    ) -> Result<std::result::Result<Option<i64>, E>> {
        let e = sql(&self.path);
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )
        .map_err(&e)?;
        tx.execute("DELETE FROM holds WHERE time_ms < ?1", [stale_before_ms])
            .map_err(&e)?;
        // Whether a process runs can be told only for one of this host and PID namespace;
        // another's hold lapses with age alone.
        let pids: Vec<i64> = tx
            .prepare_cached("SELECT DISTINCT pid FROM holds WHERE host = ?1")
            .and_then(|mut s| s.query_map([host], |r| r.get(0))?.collect())
            .map_err(&e)?;
        for pid in pids {
            if !u32::try_from(pid).is_ok_and(running) {
                tx.execute(
                    "DELETE FROM holds WHERE host = ?1 AND pid = ?2",
                    params![host, pid],
                )
                .map_err(&e)?;
            }
        }
        let (held, session_held): (f64, f64) = tx
            .query_row(
                "SELECT coalesce(sum(cost_usd), 0.0), \
                   coalesce(sum(CASE WHEN session = ?1 THEN cost_usd END), 0.0) FROM holds",
                [session],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(&e)?;
        let spend = Spend {
            today: self.spent_since(since.0)? + held,
            month: self.spent_since(since.1)? + held,
            session: self.session_spent(session)? + session_held,
            held,
            session_held,
        };
        if let Err(refused) = check(spend) {
            // The stale holds stay dropped.
            tx.commit().map_err(&e)?;
            return Ok(Err(refused));
        }
        let id = if cost_usd > 0.0 {
            tx.execute(
                "INSERT INTO holds(time_ms, session, host, pid, cost_usd) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![now_ms, session, host, std::process::id(), cost_usd],
            )
            .map_err(&e)?;
            Some(tx.last_insert_rowid())
        } else {
            None
        };
        tx.commit().map_err(&e)?;
        Ok(Ok(id))
    }

    /// Records a request and releases its hold, in one transaction.
    pub fn settle(&self, hold: Option<i64>, entry: &Entry) -> Result<()> {
        let e = sql(&self.path);
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )
        .map_err(&e)?;
        self.insert(entry)?;
        if let Some(id) = hold {
            tx.execute("DELETE FROM holds WHERE id = ?1", [id])
                .map_err(&e)?;
        }
        tx.commit().map_err(&e)
    }

    /// Releases a hold alone (when its request could not be recorded).
    pub fn release(&self, hold: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM holds WHERE id = ?1", [hold])
            .map(|_| ())
            .map_err(sql(&self.path))
    }

    /// The holds of requests in flight: (session, cost in USD), oldest first.
    pub fn holds(&self) -> Result<Vec<(String, f64)>> {
        self.conn
            .prepare_cached("SELECT session, cost_usd FROM holds ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(sql(&self.path))
    }

    /// Total cost of the requests at or after `from_ms` (all projects).
    pub fn spent_since(&self, from_ms: i64) -> Result<f64> {
        self.sum("WHERE time_ms >= ?1", from_ms)
    }

    /// Total cost of one session's requests.
    pub fn session_spent(&self, session: &str) -> Result<f64> {
        self.sum("WHERE session = ?1", session)
    }

    fn sum(&self, filter: &str, param: impl rusqlite::ToSql) -> Result<f64> {
        self.conn
            .prepare_cached(&format!(
                "SELECT coalesce(sum(cost_usd), 0.0) FROM requests {filter}"
            ))
            .and_then(|mut s| s.query_row([param], |r| r.get(0)))
            .map_err(sql(&self.path))
    }

    /// Calls `f` with every request that passes `filter`, oldest first, in one read snapshot.
    pub fn scan(&self, filter: &Filter, f: &mut dyn FnMut(Entry)) -> Result<()> {
        let e = sql(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLS} FROM requests \
                 WHERE (?1 IS NULL OR time_ms >= ?1) AND (?2 IS NULL OR project = ?2) \
                 ORDER BY time_ms, id"
            ))
            .map_err(&e)?;
        let mut rows = stmt
            .query(params![filter.from_ms, filter.project])
            .map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            f(entry_row(r).map_err(&e)?);
        }
        Ok(())
    }
}

fn entry_row(r: &rusqlite::Row) -> rusqlite::Result<Entry> {
    let to_u64 = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(Entry {
        time_ms: r.get(0)?,
        project: r.get(1)?,
        session: r.get(2)?,
        provider: r.get(3)?,
        model: r.get(4)?,
        operation: r.get(5)?,
        tokens: Tokens {
            input: to_u64(r.get(6)?),
            output: to_u64(r.get(7)?),
            cached: to_u64(r.get(8)?),
        },
        estimated: r.get(9)?,
        cost_usd: r.get(10)?,
        priced: r.get(11)?,
        latency_ms: to_u64(r.get(12)?),
        outcome: r.get(13)?,
    })
}

/// Whether an error means another process held the ledger for longer than the busy timeout.
pub fn is_busy(e: &Error) -> bool {
    matches!(e, Error::Sqlite { source, .. } if matches!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    ))
}

/// Whether an error means the ledger file or its directory cannot be written or created.
pub fn is_unwritable(e: &Error) -> bool {
    matches!(e, Error::Sqlite { source, .. } if matches!(
        source.sqlite_error_code(),
        Some(
            rusqlite::ErrorCode::ReadOnly
                | rusqlite::ErrorCode::CannotOpen
                | rusqlite::ErrorCode::PermissionDenied
                | rusqlite::ErrorCode::SystemIoFailure
        )
    ))
}

/// Whether an error means the file is not a usable ledger (not SQLite, damaged, or foreign).
pub fn is_unusable(e: &Error) -> bool {
    match e {
        Error::Unusable { .. } => true,
        Error::Sqlite { source, .. } => super::is_corruption(source),
        _ => false,
    }
}
