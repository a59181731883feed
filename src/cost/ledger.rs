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
