//! The usage ledger: one row per provider request, in `ledger.db` in the user data dir. The SQL
//! is in `store::ledger`; this turns its errors into ones that say what to do.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::store::ledger::{self as db, LedgerDb};

pub use crate::store::ledger::Filter;

use super::{Entry, Error};

/// How long recording waits for another process's write lock before it fails. Writes are single
/// inserts, so a lock held this long means a stuck process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request's hold counts at most: a request still running after an hour (no
/// timeout allows it) belongs to a process that is stuck, or that this system cannot see (see
/// [`crate::process_exists`]).
pub const HOLD_STALE: Duration = Duration::from_secs(3600);

/// An open ledger.
pub struct Ledger {
    db: LedgerDb,
    busy: Duration,
}

impl Ledger {
    /// `ledger.db` in [`crate::config::user_data_dir`].
    pub fn default_path() -> PathBuf {
        crate::config::user_data_dir().join("ledger.db")
    }

    /// Opens (creating it and its directory if needed) the ledger at [`Ledger::default_path`].
    pub fn open_default() -> Result<Ledger, Error> {
        Self::open(&Self::default_path())
    }

    /// Opens (creating it and its directory if needed) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Ledger, Error> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::LedgerUnwritable {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            detail: format!("cannot create {}: {e}", dir.display()),
        })?;
        Self::open_inner(path, true)
    }

    /// Opens the ledger at `path` for reading, or `None` if there is none: creates no file.
    pub fn open_existing(path: &Path) -> Result<Option<Ledger>, Error> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Read {
                path: path.to_path_buf(),
                source,
            }),
            Ok(m) if m.is_dir() => Err(Error::LedgerUnusable {
                path: path.to_path_buf(),
                reason: "is a directory, not a file".into(),
            }),
            Ok(_) => Self::open_inner(path, false).map(Some),
        }
    }

    fn open_inner(path: &Path, create: bool) -> Result<Ledger, Error> {
        let db = LedgerDb::open(path, create, BUSY_TIMEOUT)
            .map_err(|e| convert(e, path, BUSY_TIMEOUT))?;
        Ok(Ledger {
            db,
            busy: BUSY_TIMEOUT,
        })
    }

    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// How long writes and reads wait for another process's lock (30 s unless set).
    pub fn set_busy_timeout(&mut self, busy: Duration) -> Result<(), Error> {
        self.busy = busy;
        self.db.set_busy_timeout(busy).map_err(|e| self.err(e))
    }

    /// Appends one request. Waits for other writers (see [`Ledger::set_busy_timeout`]).
    pub fn record(&self, e: &Entry) -> Result<(), Error> {
        self.db.insert(e).map_err(|e| self.err(e))
    }

    /// Checks a request of up to `cost_usd` with `check`, given the spend of today, this month
    /// and `session` with the requests in flight in every process counted, and if it passes
    /// holds that amount until [`Ledger::settle`] records the request: one write transaction,
    /// so that processes asking at once cannot each spend the same remainder. A hold left by a
    /// process that is gone, or older than [`HOLD_STALE`], no longer counts.
    pub fn hold<E>(
        &self,
        session: &str,
        cost_usd: f64,
        clock: &super::Clock,
        check: &mut dyn FnMut(super::Spend) -> std::result::Result<(), E>,
    ) -> Result<std::result::Result<Option<i64>, E>, Error> {
        let now = clock.now.as_millisecond();
        let stale = now - HOLD_STALE.as_millis() as i64;
        let running = |pid: u32| crate::process_exists(pid) != Some(false);
        self.db
            .hold(
                session,
                cost_usd,
                now,
                (clock.day_start_ms(), clock.month_start_ms()),
                stale,
                &crate::process_host(),
                &running,
                check,
            )
            .map_err(|e| self.err(e))
    }

    /// Records a request and releases its hold (see [`Ledger::hold`]), at once.
    pub fn settle(&self, hold: Option<i64>, e: &Entry) -> Result<(), Error> {
        self.db.settle(hold, e).map_err(|e| self.err(e))
    }

    /// Releases a hold without recording its request (which could not be recorded).
    pub fn release(&self, hold: i64) -> Result<(), Error> {
        self.db.release(hold).map_err(|e| self.err(e))
    }

    /// The money held for requests in flight: (session, USD), oldest first.
    pub fn holds(&self) -> Result<Vec<(String, f64)>, Error> {
        self.db.holds().map_err(|e| self.err(e))
    }

    /// Total cost in USD of one session's requests.
    pub fn session_spent(&self, session: &str) -> Result<f64, Error> {
        self.db.session_spent(session).map_err(|e| self.err(e))
    }

    /// Total cost in USD of the requests at or after `from_ms` (unix ms), all projects.
    pub fn spent_since(&self, from_ms: i64) -> Result<f64, Error> {
        self.db.spent_since(from_ms).map_err(|e| self.err(e))
    }

    /// Calls `f` with every request that passes `filter`, oldest first.
    pub fn scan(&self, filter: &Filter, f: &mut dyn FnMut(Entry)) -> Result<(), Error> {
        self.db.scan(filter, f).map_err(|e| self.err(e))
    }

    fn err(&self, e: crate::store::Error) -> Error {
        convert(e, self.db.path(), self.busy)
    }
}

/// A store error as the cost part's: unusable, newer, locked and unwritable ledgers get their
/// own messages (with what to do); anything else is named with the ledger's path.
fn convert(e: crate::store::Error, path: &Path, busy: Duration) -> Error {
    use crate::store::Error as S;
    let path = path.to_path_buf();
    if let S::Newer {
        found, supported, ..
    } = e
    {
        return Error::LedgerNewer {
            path,
            found,
            supported,
        };
    }
    if db::is_unusable(&e) {
        let reason = match &e {
            S::Unusable { reason, .. } => reason.clone(),
            S::Sqlite { source, .. } => format!("is not a usable SQLite database ({source})"),
            other => other.to_string(),
        };
        return Error::LedgerUnusable { path, reason };
    }
    if db::is_busy(&e) {
        return Error::LedgerLocked {
            path,
            waited_s: busy.as_secs_f64(),
        };
    }
    if db::is_unwritable(&e) {
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let detail = match &e {
            S::Sqlite { source, .. } => source.to_string(),
            other => other.to_string(),
        };
        return Error::LedgerUnwritable { path, dir, detail };
    }
    Error::Ledger(e)
}
