//! The only place SQL lives: the repo index at `<root>/.vibe/index.db`.
//!
//! Invariants: WAL mode and a long busy timeout, so concurrent `vibe map` runs queue behind one
//! another instead of failing; an index run is one `BEGIN IMMEDIATE` transaction, so readers
//! see either the old or the new index, never half of one; a database that is corrupt, foreign
//! (not vibe's) or from a newer vibe is reported and rebuilt.

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashMap;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::repomap::extract::{FileTags, Symbol};

pub mod ledger;
pub mod memory;
pub mod sessions;

/// A time as stored: milliseconds since the Unix epoch (0 for a clock before 1970).
pub fn unix_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `PRAGMA application_id`: "vibe" in ASCII.
const APP_ID: i64 = 0x7669_6265;

/// Numbered migrations, applied in order; `user_version` is the count applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_leaner_indexes.sql"),
    include_str!("migrations/0003_lexicon.sql"),
    include_str!("migrations/0004_heal_memory.sql"),
    include_str!("migrations/0005_sessions.sql"),
    include_str!("migrations/0006_lexicon_generated.sql"),
    include_str!("migrations/0007_lexicon_reanalysed.sql"),
    include_str!("migrations/0008_lexicon_short_words.sql"),
    include_str!("migrations/0009_history.sql"),
    include_str!("migrations/0010_history_paths.sql"),
    include_str!("migrations/0011_history_renames.sql"),
    include_str!("migrations/0012_history_added.sql"),
    include_str!("migrations/0013_history_trailers.sql"),
    include_str!("migrations/0014_history_pasted_headers.sql"),
    include_str!("migrations/0015_file_graph.sql"),
    include_str!("migrations/0016_lexicon_passages.sql"),
    include_str!("migrations/0017_lexicon_deep.sql"),
    include_str!("migrations/0018_file_stamp.sql"),
    include_str!("migrations/0019_history_links.sql"),
    include_str!("migrations/0020_parsed_again.sql"),
    include_str!("migrations/0021_cpp_export_macros.sql"),
    include_str!("migrations/0022_java_enum_constant_bodies.sql"),
    include_str!("migrations/0023_cpp_leading_macros.sql"),
];

/// The tables the migrations leave, checked on open: an index that opens but lacks one (a table
/// dropped by hand or by damage) is rebuilt, instead of failing every run on "no such table".
/// A unit test keeps the list equal to what [`MIGRATIONS`] create.
const TABLES: &[&str] = &[
    "chat_runs",
    "chat_sessions",
    "chat_turns",
    "edges",
    "file_graph",
    "files",
    "heal_memory",
    "history",
    "imports",
    "lexicon",
    "lexicon_deep",
    "meta",
    "names",
    "refs",
    "symbols",
    "token_counts",
];

/// Rows per multi-row `INSERT INTO names` at commit (two parameters each).
const NAMES_PER_INSERT: usize = 128;
static NAMES_INSERT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| names_insert(NAMES_PER_INSERT));

fn names_insert(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO names(name, id) VALUES ");
    for i in 0..rows {
        sql.push_str(if i == 0 { "(?,?)" } else { ",(?,?)" });
    }
    sql
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}{}", write_hint(source))]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create {path}: {source}\nhint: check that the directory is writable")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} {reason}")]
    Unusable { path: PathBuf, reason: String },
    /// The repository root is gone (deleted, or moved away under a running `vibe watch`).
    #[error(
        "{path} does not exist (deleted or moved?)\nhint: run vibe in the repository's current directory"
    )]
    NoRoot { path: PathBuf },
    #[error("{path} has schema version {found}, newer than this vibe's {supported}")]
    Newer {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
}

/// What to do about a database that opened but cannot be written (made immutable, or
/// read-only after vibe opened it): said with the error.
fn write_hint(e: &rusqlite::Error) -> &'static str {
    match e {
        // SQLITE_READONLY itself: the extended codes say why otherwise (1032: the file was
        // moved or deleted while open, which making it writable does not mend).
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_READONLY =>
        {
            "\nhint: make the file, its `-wal` and `-shm` files beside it and their directory \
             writable (`chmod u+w FILE*`: SQLite made the `-shm` file with the mode the database \
             had then; `chattr -i` if `lsattr` shows one immutable), or remove all three \
             (vibe builds the index again)"
        }
        // The busy handler gave up (two minutes for the index).
        e if matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        ) =>
        {
            "\nhint: another process held this database's write lock for the whole wait (another \
             vibe run, such as the first index of a large tree, or a program that has the file \
             open); run again when it is done"
        }
        // Damage past the header, found by a query (`vibe chat --list` said "malformed" and
        // nothing more, run after run).
        e if is_corruption(e) => {
            "\nhint: the file is damaged; move it aside (`mv` it to a .broken name): vibe builds \
             the index again, and chat sessions kept in it start anew"
        }
        _ => "",
    }
}

impl Error {
    /// A database that must be thrown away and rebuilt.
    pub fn needs_rebuild(&self) -> bool {
        match self {
            Error::Unusable { .. } | Error::Newer { .. } => true,
            Error::Sqlite { source, .. } => is_corruption(source) || is_schema_damage(source),
            Error::Io { .. } | Error::NoRoot { .. } => false,
        }
    }

    /// The first line of the message: what a rebuild's warning says of its reason (the hint
    /// of a damaged file, to move it aside, is what the rebuild does).
    fn reason(&self) -> String {
        self.to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The index cannot be written where it is: its directory cannot be created or written, or
    /// the database opened for writing.
    fn is_unwritable(&self) -> bool {
        match self {
            Error::Io { .. } => true,
            Error::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(
                    rusqlite::ErrorCode::ReadOnly
                        | rusqlite::ErrorCode::CannotOpen
                        | rusqlite::ErrorCode::PermissionDenied
                )
            ),
            _ => false,
        }
    }
}

/// The file vibe writes in a `.vibe/` it made for an index (see [`is_a_chosen_root`]).
pub const MADE_FOR_THE_INDEX: &str = "made-for-the-index";

const MADE_NOTE: &[u8] = b"vibe made this directory to keep the index of the directory above it. \
In a git repository it does not make that directory a root when vibe looks for one from a \
directory below it: a .vibe/ directory without this file, or with a config.toml, does.\n";

/// Whether `dir` is marked as a root by its `.vibe/`: one the user made (`mkdir .vibe`, or
/// from before vibe wrote [`MADE_FOR_THE_INDEX`]), or one that holds a `config.toml` (`vibe
/// init`). A `.vibe/` vibe made for an index run (with `-C` into a directory of a
/// repository, or at a repository's top) is not: one run must not decide where later ones
/// start.
pub fn is_a_chosen_root(dir: &Path) -> bool {
    let own = dir.join(".vibe");
    own.is_dir() && (!own.join(MADE_FOR_THE_INDEX).exists() || own.join("config.toml").exists())
}

/// Why no index of `root` can be kept on disk, so that every command keeps one in memory
/// ([`Store::open_or_memory`]): neither its `.vibe/` nor the user's data directory's place for
/// it ([`fallback_dir`]) can be made or written. Judged without writing (`vibe doctor` asks):
/// each must be a directory this process may write in, or be creatable in the nearest one
/// that exists. `None` when either can.
pub fn nowhere_to_keep(root: &Path) -> Option<String> {
    let own = root.join(".vibe");
    let elsewhere = fallback_dir(root);
    let why = |dir: &Path| -> Option<String> {
        let existing = dir.ancestors().find(|a| a.symlink_metadata().is_ok())?;
        let problem = if !existing.is_dir() {
            "is not a directory"
        } else if !writable(existing) {
            "cannot be written"
        } else {
            return None;
        };
        Some(format!("{} {problem}", existing.display()))
    };
    let (a, b) = (why(&own)?, why(&elsewhere)?);
    Some(format!("{a}, and {b}"))
}

/// Whether this process may create files in `dir` (`access(2)`; elsewhere than unix, whether
/// the directory is not read-only).
fn writable(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
        unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly())
    }
}

/// SQLite's name for a database in memory (see [`Store::open_or_memory`]).
const MEMORY: &str = ":memory:";

/// Where the index of a tree that vibe cannot write to is kept: the user's data directory,
/// `indexes/<the root's name>-<FNV-1a of its canonical path>`.
pub fn fallback_dir(root: &Path) -> PathBuf {
    let canon = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canon.as_os_str().as_encoded_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let name: String = canon
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    crate::config::user_data_dir()
        .join("indexes")
        .join(format!("{name}-{h:016x}"))
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// A database that does not hold what its schema version says, found by a query: a table
/// without a column vibe's statements name, or rows that break a constraint vibe's writes keep
/// (another program edited it, or an older vibe's half-applied change). The index is a cache,
/// so it is rebuilt as a damaged one is.
fn is_schema_damage(e: &rusqlite::Error) -> bool {
    let msg = match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.as_str(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.as_str(),
        _ => "",
    };
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
        || ["no such column", "no such table", "has no column named"]
            .iter()
            .any(|m| msg.contains(m))
}

pub type Result<T> = std::result::Result<T, Error>;

/// An open index.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// The database file this store opened (device and inode), so that a rebuild can tell
    /// whether another process has replaced it since.
    file: Option<FileId>,
}

/// A file's device and inode (elsewhere than unix, when it was made).
type FileId = (u64, u64);

fn file_id(path: &Path) -> Option<FileId> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    // Elsewhere no inode: when the file was made, which a new file at the path changes.
    #[cfg(not(unix))]
    {
        let made = meta
            .created()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some((made.as_secs(), u64::from(made.subsec_nanos())))
    }
}

/// The database files this process opened, by path: a command that finds its index damaged
/// after the store is gone ([`Store::rebuild_damaged`]) rebuilds only the file it found so.
static OPENED: std::sync::Mutex<Vec<(PathBuf, Option<FileId>)>> = std::sync::Mutex::new(Vec::new());

/// Takes `<index>.lock`, shared to open the index, exclusive to set it aside and make a fresh
/// one: two processes that find the index unusable at once then rebuild it once (the second
/// opens what the first made), and no process opens the path between the setting aside and
/// the fresh database (it would create an empty file that the rebuild then deletes under it).
/// Held for the opening only, not for the index run: SQLite's own locks order those.
///
/// The lock is a courtesy between vibe processes, not a condition of opening: a lock file that
/// cannot be written (made by another user, a `sudo vibe` run, and read-only to this one) is
/// locked through a read-only descriptor, which `flock` accepts; one that cannot be opened at
/// all, or a file system without locks, means opening without it, as before there was one.
fn open_lock(path: &Path, exclusive: bool) -> Option<std::fs::File> {
    let lock = PathBuf::from(format!("{}.lock", path.display()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .or_else(|_| std::fs::File::open(&lock));
    let file = match file {
        Ok(f) => f,
        Err(e) => {
            tracing::debug!("{}: {e}; opening the index without it", lock.display());
            return None;
        }
    };
    // Made by root in a user's tree: the user's later runs must open it too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(l), Some(Ok(d))) = (file.metadata(), lock.parent().map(std::fs::metadata))
            && l.uid() != d.uid()
        {
            let _ = std::os::unix::fs::fchown(&file, Some(d.uid()), Some(d.gid()));
        }
    }
    let locked = if exclusive {
        file.lock()
    } else {
        file.lock_shared()
    };
    match locked {
        Ok(()) => Some(file),
        Err(e) => {
            tracing::debug!("{}: {e}; opening the index without it", lock.display());
            None
        }
    }
}

/// One file as the index knows it.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: i64,
    pub path: String,
    pub language: Option<String>,
    pub ftype: String,
    pub size: u64,
    pub mtime_ns: i64,
    /// See [`crate::repomap::walk::Entry::stamp`]; 0 in rows written before it was kept.
    pub stamp: i64,
    pub hash: Option<Vec<u8>>,
    pub lines: u64,
    pub bytes: u64,
    pub parse_errors: bool,
    pub skip_reason: Option<String>,
    pub package: Option<String>,
    pub main_guard: bool,
    pub rank: f64,
}

/// A file to write, with its tags if it is source.
pub struct NewFile<'a> {
    pub path: &'a str,
    pub language: Option<&'a str>,
    pub ftype: &'a str,
    pub size: u64,
    pub mtime_ns: i64,
    pub stamp: i64,
    pub hash: Option<&'a [u8]>,
    pub lines: u64,
    pub bytes: u64,
    pub skip_reason: Option<&'a str>,
    pub tags: Option<&'a FileTags>,
}

#[derive(Debug, Clone)]
pub struct ImportRow {
    pub id: i64,
    pub file_id: i64,
    pub line: u32,
    pub raw: String,
    pub kind: String,
    pub module: String,
    pub names: Vec<String>,
    pub targets: Vec<i64>,
    pub external: Option<String>,
}

/// What [`IndexTx::put_file`] did.
#[derive(Debug, Clone, Copy)]
pub struct PutFile {
    pub id: i64,
    /// The file's imports differ from what the index had, so resolution must run again.
    pub imports_changed: bool,
    /// The file's definitions or references differ from what the index had (or it is new), so
    /// ranks must be computed again. An edit to comments, strings or layout changes neither.
    pub graph_changed: bool,
    /// The file's top-level type names (see [`is_type_kind`]) differ from what the index had.
    /// Java imports resolve to them, so a Java file's edit needs resolution again only then
    /// (or when its package changed).
    pub types_changed: bool,
}

/// Symbol kinds that, defined at the top level, are types an import can name (Java's
/// `import a.b.C` resolves to the file defining `C` in package `a.b`).
pub fn is_type_kind(kind: &str) -> bool {
    matches!(
        kind,
        "class" | "interface" | "enum" | "struct" | "trait" | "type"
    )
}

#[derive(Debug, Clone)]
pub struct SymbolRow {
    pub file_id: i64,
    pub symbol: Symbol,
}

/// How long a run waits for another process's lock on the index before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);
/// After this long waiting for the index, the wait is said on stderr: another process's cold
/// index run can hold the lock for minutes.
const BUSY_NOTE: Duration = Duration::from_secs(2);

/// The index's busy handler: waits for another process's lock as `busy_timeout` does (1, 2, 4
/// … up to 50 ms between tries, [`BUSY_TIMEOUT`] in all), and says once per wait, after
/// [`BUSY_NOTE`], what it is waiting for. `count` is how many times it was called for this
/// wait.
fn index_busy(count: i32) -> bool {
    thread_local! {
        static SINCE: std::cell::Cell<Option<std::time::Instant>> =
            const { std::cell::Cell::new(None) };
        static SAID: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    let now = std::time::Instant::now();
    if count == 0 {
        SINCE.set(Some(now));
        SAID.set(false);
    }
    let waited = SINCE.get().map_or(Duration::ZERO, |since| now - since);
    if waited >= BUSY_TIMEOUT {
        return false;
    }
    let pause = Duration::from_millis(1 << count.clamp(0, 6)).min(Duration::from_millis(50));
    if waited >= BUSY_NOTE && !SAID.replace(true) {
        crate::to_stderr!(
            "note: another vibe process is writing this repository's index; waiting for it \
             (up to {} s)",
            BUSY_TIMEOUT.as_secs()
        );
    }
    std::thread::sleep(pause);
    true
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |source| Error::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// The index path of a repository root: `<root>/.vibe/index.db`, or the one kept in the
    /// user's data directory for a tree vibe cannot write to (see [`Store::open`]).
    pub fn path_for(root: &Path) -> PathBuf {
        let own = root.join(".vibe").join("index.db");
        if !own.exists() {
            let elsewhere = fallback_dir(root).join("index.db");
            if elsewhere.exists() {
                return elsewhere;
            }
        }
        own
    }

    /// Opens (creating, migrating, or rebuilding if it is unusable) the index of `root`.
    /// A rebuild is reported through `warn` with the reason. A tree vibe cannot write to (a
    /// read-only checkout or mount) has its index in the user's data directory instead
    /// (`indexes/<name>-<hash of the root's path>/`), said through `warn` when it is created.
    ///
    /// The root itself is never created: only `.vibe` inside it, so a root deleted or moved
    /// away while `vibe watch` runs does not come back as an empty `<root>/.vibe/`
    /// ([`Error::NoRoot`]).
    pub fn open(root: &Path, warn: &mut dyn FnMut(String)) -> Result<Store> {
        Self::open_with(root, warn, false)
    }

    /// Opens the index of `root` as [`Store::open`] does, and when neither the tree nor the
    /// user's data directory can hold it (a read-only checkout with no writable home: a
    /// container's user whose `HOME` is `/`), keeps it in memory for this process, said
    /// through `warn`: the command works, and the next one indexes the tree again. For
    /// commands that need the index for their run alone; not for one that keeps it for others
    /// (`vibe watch`) or keeps what the user makes in it (chat sessions).
    pub fn open_or_memory(root: &Path, warn: &mut dyn FnMut(String)) -> Result<Store> {
        Self::open_with(root, warn, true)
    }

    fn open_with(root: &Path, warn: &mut dyn FnMut(String), memory: bool) -> Result<Store> {
        let own = root.join(".vibe");
        let made = match std::fs::create_dir(&own) {
            // Made here for the index, not by the user to mark a root: said inside it, so
            // that finding the root does not take it for one (`cli::resolve_root`). A marker
            // that cannot be written leaves the directory a root, as before there was one.
            Ok(()) => {
                let _ = crate::edit::atomic_write(&own.join(MADE_FOR_THE_INDEX), MADE_NOTE);
                Ok(own)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoRoot {
                    path: root.to_path_buf(),
                });
            }
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists || !own.is_dir() => {
                Err(Error::Io {
                    path: own,
                    source: e,
                })
            }
            _ => Ok(own),
        };
        match made.and_then(|own| Self::open_in(&own, warn)) {
            Err(e) if e.is_unwritable() => {
                let dir = fallback_dir(root);
                let first = e.reason();
                let known = dir.join("index.db").exists();
                let elsewhere = std::fs::create_dir_all(&dir)
                    .map_err(|source| Error::Io {
                        path: dir.clone(),
                        source,
                    })
                    .and_then(|()| Self::open_in(&dir, warn));
                match elsewhere {
                    Ok(store) => {
                        if !known {
                            warn(format!(
                                "{first}; keeping the index of this tree in {} instead",
                                dir.display()
                            ));
                        }
                        Ok(store)
                    }
                    Err(e) if memory && e.is_unwritable() => {
                        warn(format!(
                            "{first}; {}; keeping the index of this tree in memory for this \
                             command, and the next one indexes it again (make the tree \
                             writable, or set VIBE_HOME to a writable directory)",
                            e.reason()
                        ));
                        Self::in_memory()
                    }
                    Err(e) => Err(e),
                }
            }
            other => other,
        }
    }

    /// A fresh index in memory (see [`Store::open_or_memory`]).
    fn in_memory() -> Result<Store> {
        Self::try_open(Path::new(MEMORY))
    }

    /// Whether this index lives in memory only, and goes with the process.
    pub fn is_memory(&self) -> bool {
        self.path == Path::new(MEMORY)
    }

    /// Opens the index in `dir`, which exists.
    fn open_in(dir: &Path, warn: &mut dyn FnMut(String)) -> Result<Store> {
        let ignore = dir.join(".gitignore");
        if !ignore.exists() {
            crate::edit::atomic_write(&ignore, b"*\n").map_err(|source| Error::Io {
                path: ignore.clone(),
                source,
            })?;
        }
        let path = dir.join("index.db");
        let opened = {
            let _shared = open_lock(&path, false);
            let file = file_id(&path);
            Self::try_open(&path).map_err(|e| (e, file))
        };
        match opened {
            Ok(s) => Ok(s),
            Err((e, file)) if e.needs_rebuild() => Self::fresh(&path, warn, &e, file),
            Err((e, _)) => Err(e),
        }
    }

    /// Sets the database aside (as `index.db.broken`) and opens a fresh one, unless another
    /// process has done so since this store opened it.
    pub fn rebuild(self, warn: &mut dyn FnMut(String), reason: &Error) -> Result<Store> {
        if self.is_memory() {
            drop(self);
            warn(format!("{}; rebuilding it in memory", reason.reason()));
            return Self::in_memory();
        }
        let (path, file) = (self.path.clone(), self.file);
        drop(self);
        Self::fresh(&path, warn, reason, file)
    }

    /// The same as [`Store::rebuild`] for a command whose store is gone: the index of `root`
    /// that this process opened last is set aside and a fresh one made (found damaged by a
    /// query: a page of a table, a missing column), unless another process has replaced it
    /// since.
    pub fn rebuild_damaged(
        root: &Path,
        warn: &mut dyn FnMut(String),
        reason: &Error,
    ) -> Result<Store> {
        // What was opened before, read before this open records itself.
        let before = OPENED.lock().map(|o| o.clone()).unwrap_or_default();
        let store = Store::open(root, warn)?;
        let seen = before
            .into_iter()
            .find(|(p, _)| *p == store.path)
            .map_or(store.file, |(_, f)| f);
        let path = store.path.clone();
        drop(store);
        Self::fresh(&path, warn, reason, seen)
    }

    /// Sets the database at `path` aside, opens a fresh one and carries over what the old one
    /// held that is not a cache of the repository, when it can be read; warns with `reason`.
    /// `seen` is the file found unusable: when another process has replaced it while this one
    /// waited for the lock, what that process made is opened instead.
    fn fresh(
        path: &Path,
        warn: &mut dyn FnMut(String),
        reason: &Error,
        seen: Option<FileId>,
    ) -> Result<Store> {
        let _exclusive = open_lock(path, true);
        let now = file_id(path);
        if now.is_some() && now != seen {
            match Self::try_open(path) {
                Ok(store) => return Ok(store),
                Err(e) if e.needs_rebuild() => return Self::replace(path, warn, &e),
                Err(e) => return Err(e),
            }
        }
        Self::replace(path, warn, reason)
    }

    fn replace(path: &Path, warn: &mut dyn FnMut(String), reason: &Error) -> Result<Store> {
        let aside = Self::set_aside(path)?;
        let store = Self::try_open(path)?;
        let carried = store.carry_over(&PathBuf::from(format!("{}.broken", path.display())));
        warn(format!("{}; {aside}{carried}", reason.reason()));
        Ok(store)
    }

    /// Copies the chat sessions and the bug memory from a database set aside into this fresh
    /// one, table by table, the columns both have (every column this schema requires without a
    /// default); a table that cannot be read (a damaged page, another layout) is left behind.
    /// Says what was carried over, for the warning.
    fn carry_over(&self, old: &Path) -> String {
        const KEPT: [&str; 4] = ["chat_sessions", "chat_turns", "chat_runs", "heal_memory"];
        let columns = |schema: &str, table: &str| -> Vec<(String, bool)> {
            let sql = format!(
                "SELECT name, \"notnull\" AND dflt_value IS NULL FROM pragma_table_info('{table}', '{schema}')"
            );
            self.conn
                .prepare(&sql)
                .and_then(|mut st| {
                    st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?
                        .collect()
                })
                .unwrap_or_default()
        };
        if self
            .conn
            .execute("ATTACH DATABASE ?1 AS old", [old.to_string_lossy()])
            .is_err()
        {
            return String::new();
        }
        let mut carried = Vec::new();
        for table in KEPT {
            let old_cols: Vec<String> = columns("old", table).into_iter().map(|c| c.0).collect();
            let new_cols = columns("main", table);
            if old_cols.is_empty()
                || new_cols
                    .iter()
                    .any(|(c, required)| *required && !old_cols.contains(c))
            {
                continue;
            }
            let shared: Vec<String> = new_cols
                .into_iter()
                .map(|c| c.0)
                .filter(|c| old_cols.contains(c))
                .map(|c| format!("\"{c}\""))
                .collect();
            let list = shared.join(", ");
            let copy = format!(
                "INSERT OR IGNORE INTO main.{table} ({list}) SELECT {list} FROM old.{table}"
            );
            let done = self.conn.execute_batch("SAVEPOINT carry").and_then(|()| {
                match self.conn.execute(&copy, []) {
                    Ok(n) => self.conn.execute_batch("RELEASE carry").map(|()| n),
                    Err(e) => {
                        let _ = self.conn.execute_batch("ROLLBACK TO carry; RELEASE carry");
                        Err(e)
                    }
                }
            });
            if let Ok(n) = done
                && n > 0
                && table != "chat_turns"
                && table != "chat_runs"
            {
                carried.push(match table {
                    "chat_sessions" => format!("{n} chat session{}", if n == 1 { "" } else { "s" }),
                    _ => "the bug memory".to_string(),
                });
            }
        }
        let _ = self.conn.execute_batch("DETACH DATABASE old");
        if carried.is_empty() {
            String::new()
        } else {
            format!("; {} carried over", carried.join(" and "))
        }
    }

    /// Moves an unusable database (and its write-ahead log) to `index.db.broken`, replacing an
    /// older one there, so that what it held beyond the cache (chat sessions, the bug memory)
    /// can still be read; says so, for the warning.
    fn set_aside(path: &Path) -> Result<String> {
        let broken = PathBuf::from(format!("{}.broken", path.display()));
        Self::remove(&broken)?;
        for suffix in ["", "-wal"] {
            let from = PathBuf::from(format!("{}{suffix}", path.display()));
            let to = PathBuf::from(format!("{}{suffix}", broken.display()));
            match std::fs::rename(&from, &to) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::Io { path: from, source }),
            }
        }
        Self::remove(path)?;
        Ok(format!(
            "rebuilding the index from scratch (the old one is kept as {})",
            broken.display()
        ))
    }

    fn remove(path: &Path) -> Result<()> {
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::Io { path: p, source }),
            }
        }
        Ok(())
    }

    fn try_open(path: &Path) -> Result<Store> {
        let memory = path == Path::new(MEMORY);
        let e = sql(path);
        let mut conn = connect(path, rusqlite::OpenFlags::default(), BUSY_TIMEOUT)?;
        conn.busy_handler(Some(index_busy)).map_err(&e)?;
        // put_file alone cycles through a dozen statements; rusqlite's default cache of 16
        // evicts and re-prepares them on every file.
        conn.set_prepared_statement_cache_capacity(64);
        // synchronous=OFF: the index is a cache derived from the repository. An application crash
        // cannot corrupt a WAL database; an OS crash might, and then the next run finds the
        // corruption and rebuilds. In exchange no run waits on fsync (a WAL checkpoint under
        // synchronous=NORMAL costs tens of milliseconds, more than a whole incremental run).
        conn.execute_batch(
            "PRAGMA synchronous=OFF; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
        )
        .map_err(&e)?;
        migrate(&mut conn, path, APP_ID, MIGRATIONS, "vibe index")?;
        let tables = table_names(&conn).map_err(&e)?;
        if let Some(missing) = TABLES.iter().find(|t| !tables.iter().any(|n| n == *t)) {
            return Err(Error::Unusable {
                path: path.to_path_buf(),
                reason: format!("is damaged: its table `{missing}` is missing"),
            });
        }
        let file = if memory { None } else { file_id(path) };
        if !memory && let Ok(mut opened) = OPENED.lock() {
            opened.retain(|(p, _)| p != path);
            opened.push((path.to_path_buf(), file));
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            file,
        })
    }

    /// Reads every page of the index (SQLite's `quick_check`): damage that only a query of the
    /// damaged table would find otherwise. `Some(problem)` names the first; `vibe doctor` asks.
    pub fn damage(&self) -> Result<Option<String>> {
        let mut st = self
            .conn
            .prepare("PRAGMA quick_check(1)")
            .map_err(sql(&self.path))?;
        let said: String = match st.query_row([], |r| r.get(0)) {
            Ok(s) => s,
            Err(e) if is_corruption(&e) => e.to_string(),
            Err(e) => return Err(sql(&self.path)(e)),
        };
        // "*** in database main ***" heads the list of problems.
        let first = said
            .lines()
            .find(|l| !l.trim().is_empty() && !l.starts_with("***"))
            .unwrap_or(&said);
        Ok((first != "ok").then(|| first.to_string()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the database at this store's path again if another process has set the one it
    /// holds aside and made a fresh one (a rebuild of a damaged index): a store kept open for
    /// long, as a chat session's, would otherwise go on writing to the file set aside (SQLite
    /// in WAL mode does not notice the move).
    pub fn follow(&mut self) -> Result<()> {
        if self.file.is_none() || file_id(&self.path) == self.file {
            return Ok(());
        }
        let _shared = open_lock(&self.path, false);
        *self = Self::try_open(&self.path)?;
        Ok(())
    }

    /// Starts the one write transaction of an index run; it waits for any other writer.
    pub fn index_tx(&mut self) -> Result<IndexTx<'_>> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&path))?;
        Ok(IndexTx {
            tx,
            path,
            names: Default::default(),
            new_names: Default::default(),
            next_name: Default::default(),
            bulk: Cell::new(false),
        })
    }

    /// A consistent read snapshot.
    pub fn read(&self) -> Result<Reader<'_>> {
        let path = self.path.clone();
        let tx = self.conn.unchecked_transaction().map_err(sql(&path))?;
        Ok(Reader { tx, path })
    }

    /// The cached token count of a map line, if it was ever counted.
    pub fn token_count(&self, hash: i64) -> Result<Option<u32>> {
        self.conn
            .prepare_cached("SELECT count FROM token_counts WHERE hash = ?1")
            .and_then(|mut s| s.query_row([hash], |r| r.get(0)).optional())
            .map_err(sql(&self.path))
    }

    /// Remembers token counts, in a transaction of their own.
    pub fn put_token_counts(&self, counts: &[(i64, u32)]) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        let e = sql(&self.path);
        let tx = self.conn.unchecked_transaction().map_err(&e)?;
        insert_token_counts(&tx, counts).map_err(&e)?;
        tx.commit().map_err(&e)
    }
}

/// A file's row in the lexical index (see `context::lexicon`). What ranking reads of a few
/// files only is kept apart (see [`LexiconDeep`]).
#[derive(Debug, Clone)]
pub struct LexiconRow {
    pub file_id: i64,
    /// The content hash the entry was built from.
    pub hash: Vec<u8>,
    pub length: u32,
    /// How many passages the file has, and their lengths summed.
    pub passages: u32,
    pub passage_terms: u32,
    pub terms: Vec<u8>,
}

/// The part of a file's lexicon entry that ranking reads for its best few hundred files only
/// (see [`Reader::lexicon_deep`]): its passages and its defined names' terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LexiconDeep {
    pub chunks: Vec<u8>,
    pub names: Vec<u8>,
}

impl Store {
    /// Writes lexicon entries, replacing older ones, in a transaction of their own. An entry
    /// for a file that is gone by now (another process re-indexed) is dropped.
    pub fn put_lexicon(&self, entries: &[(LexiconRow, LexiconDeep)]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let e = sql(&self.path);
        let tx = self.conn.unchecked_transaction().map_err(&e)?;
        {
            let mut row = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO lexicon(file_id, hash, length, passages, \
                     passage_terms, terms) \
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6 \
                     WHERE EXISTS (SELECT 1 FROM files WHERE id = ?1)",
                )
                .map_err(&e)?;
            let mut deep = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO lexicon_deep(file_id, chunks, names) \
                     SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM files WHERE id = ?1)",
                )
                .map_err(&e)?;
            for (r, d) in entries {
                row.execute(params![
                    r.file_id,
                    r.hash,
                    r.length,
                    r.passages,
                    r.passage_terms,
                    r.terms
                ])
                .map_err(&e)?;
                deep.execute(params![r.file_id, d.chunks, d.names])
                    .map_err(&e)?;
            }
        }
        tx.commit().map_err(&e)
    }

    /// Every lexicon entry, by file id.
    pub fn lexicon(&self) -> Result<Vec<LexiconRow>> {
        let e = sql(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT file_id, hash, length, passages, passage_terms, terms \
                 FROM lexicon ORDER BY file_id",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(LexiconRow {
                    file_id: r.get(0)?,
                    hash: r.get(1)?,
                    length: r.get(2)?,
                    passages: r.get(3)?,
                    passage_terms: r.get(4)?,
                    terms: r.get(5)?,
                })
            })
            .map_err(&e)?;
        rows.collect::<rusqlite::Result<_>>().map_err(&e)
    }
}

/// One commit of the repository's history, as `vibe context` keeps it (see
/// `context::history`).
#[derive(Debug, Clone, PartialEq)]
pub struct CommitRow {
    pub hash: String,
    pub subject: String,
    /// The message's length in terms.
    pub length: u32,
    /// (term, count) varint pairs, by term.
    pub terms: Vec<u8>,
    /// The paths it changed, NUL-separated.
    pub files: String,
    /// The files it renamed: old and new path, all NUL-separated.
    pub renames: String,
    /// The paths it added, NUL-separated.
    pub added: String,
}

/// `meta` key of the commit the stored history was read up to.
const HISTORY_HEAD: &str = "history_head";

impl Store {
    /// The stored history, newest commit first, and the commit it was read up to.
    pub fn history(&self) -> Result<(Option<String>, Vec<CommitRow>)> {
        let e = sql(&self.path);
        // One read snapshot: the key and the rows it describes, never a writer's half.
        let reader = self.read()?;
        let head = reader.meta(HISTORY_HEAD)?;
        let mut stmt = reader
            .tx
            .prepare_cached(
                "SELECT hash, subject, length, terms, files, renames, added FROM history \
                 ORDER BY seq",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(CommitRow {
                    hash: r.get(0)?,
                    subject: r.get(1)?,
                    length: r.get(2)?,
                    terms: r.get(3)?,
                    files: r.get(4)?,
                    renames: r.get(5)?,
                    added: r.get(6)?,
                })
            })
            .map_err(&e)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(&e)?;
        Ok((head, rows))
    }

    /// Replaces the stored history (newest first) and the commit it was read up to, in a
    /// transaction of its own.
    pub fn put_history(&self, head: &str, rows: &[CommitRow]) -> Result<()> {
        let e = sql(&self.path);
        let tx = self.conn.unchecked_transaction().map_err(&e)?;
        tx.execute("DELETE FROM history", []).map_err(&e)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO history(seq, hash, subject, length, terms, files, renames, \
                     added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(&e)?;
            for (seq, r) in rows.iter().enumerate() {
                stmt.execute(params![
                    seq as i64, r.hash, r.subject, r.length, r.terms, r.files, r.renames, r.added
                ])
                .map_err(&e)?;
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
            [HISTORY_HEAD, head],
        )
        .map_err(&e)?;
        tx.commit().map_err(&e)
    }
}

/// The one insert of token counts, for a render's own transaction and for an index run's.
fn insert_token_counts(conn: &Connection, counts: &[(i64, u32)]) -> rusqlite::Result<()> {
    let mut stmt =
        conn.prepare_cached("INSERT OR REPLACE INTO token_counts(hash, count) VALUES (?1, ?2)")?;
    for (h, c) in counts {
        stmt.execute(params![h, c])?;
    }
    Ok(())
}

/// Opens a database in WAL mode with a busy timeout: the one way every vibe database is opened.
fn connect(path: &Path, flags: rusqlite::OpenFlags, busy: Duration) -> Result<Connection> {
    let e = sql(path);
    let conn = Connection::open_with_flags(path, flags).map_err(&e)?;
    conn.busy_timeout(busy).map_err(&e)?;
    // The first read of the header is where a non-database file shows itself. Switching a
    // new database to WAL takes an exclusive lock and, when another process holds a lock at
    // that moment (two first runs at once), fails with SQLITE_BUSY without consulting the
    // busy handler; so it is retried here for as long as the busy timeout.
    let started = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(conn),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && started.elapsed() < busy =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(err) => return Err(e(err)),
        }
    }
}

/// Checks that `conn` is a database of ours (`app_id`) that this vibe understands, and applies
/// the `migrations` it lacks in one write transaction. `what` names the database in errors.
fn migrate(
    conn: &mut Connection,
    path: &Path,
    app_id: i64,
    migrations: &[&str],
    what: &str,
) -> Result<()> {
    let e = sql(path);
    let unusable = |reason: String| Error::Unusable {
        path: path.to_path_buf(),
        reason,
    };
    let latest = migrations.len() as i64;
    let (found_id, version) = header(conn).map_err(&e)?;
    if version > latest && found_id == app_id {
        return Err(Error::Newer {
            path: path.to_path_buf(),
            found: version,
            supported: latest,
        });
    }
    if found_id != app_id && found_id != 0 {
        return Err(unusable(format!(
            "is not a {what} (foreign application id)"
        )));
    }
    if version < latest || found_id == 0 {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&e)?;
        // Re-read under the write lock: another process may have migrated meanwhile, maybe a
        // newer vibe past this one's latest (then never written back down).
        let (found_id, version) = header(&tx).map_err(&e)?;
        if version > latest && found_id == app_id {
            return Err(Error::Newer {
                path: path.to_path_buf(),
                found: version,
                supported: latest,
            });
        }
        if found_id == 0 {
            let tables: i64 = tx
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(&e)?;
            if tables > 0 {
                return Err(unusable(format!("is not a {what} (it has foreign tables)")));
            }
        }
        for (n, m) in migrations.iter().enumerate().skip(version.max(0) as usize) {
            // A step that fails on a database of our id and version is a database that is not
            // what its version says (edited, or damaged): said in a line, not with the script.
            tx.execute_batch(m).map_err(|source| {
                // Only SQL errors (SQLITE_ERROR: "no such table", "already exists"); a full
                // disk or an I/O error stays what it is.
                let code = match &source {
                    rusqlite::Error::SqliteFailure(f, _)
                    | rusqlite::Error::SqlInputError { error: f, .. } => Some(f.code),
                    _ => None,
                };
                if code != Some(rusqlite::ErrorCode::Unknown) {
                    return e(source);
                }
                let detail = match &source {
                    rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
                    other => other.to_string(),
                };
                let detail = detail.lines().next().unwrap_or_default();
                unusable(format!(
                    "does not have the schema its version {version} says (upgrade step {} failed: {detail})",
                    n + 1
                ))
            })?;
        }
        tx.execute_batch(&format!(
            "PRAGMA application_id={app_id}; PRAGMA user_version={latest};"
        ))
        .map_err(&e)?;
        tx.commit().map_err(&e)?;
    }
    Ok(())
}

/// The names of a database's tables, sorted.
fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect()
}

fn header(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    let app_id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok((app_id, version))
}

const FILE_COLS: &str = "id, path, language, ftype, size, mtime_ns, hash, lines, bytes, \
     parse_errors, skip_reason, package, main_guard, rank, stamp";

fn file_row(r: &rusqlite::Row) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        id: r.get(0)?,
        path: r.get(1)?,
        language: r.get(2)?,
        ftype: r.get(3)?,
        size: r.get::<_, i64>(4)? as u64,
        mtime_ns: r.get(5)?,
        hash: r.get(6)?,
        lines: r.get::<_, i64>(7)? as u64,
        bytes: r.get::<_, i64>(8)? as u64,
        parse_errors: r.get(9)?,
        skip_reason: r.get(10)?,
        package: r.get(11)?,
        main_guard: r.get(12)?,
        rank: r.get(13)?,
        stamp: r.get(14)?,
    })
}

fn symbol_row(r: &rusqlite::Row) -> rusqlite::Result<SymbolRow> {
    Ok(SymbolRow {
        file_id: r.get(0)?,
        symbol: Symbol {
            name: r.get(1)?,
            kind: r.get(2)?,
            parent: r.get(3)?,
            signature: r.get(4)?,
            line: r.get(5)?,
            end_line: r.get(6)?,
            doc: r.get(7)?,
        },
    })
}

fn import_row(r: &rusqlite::Row) -> rusqlite::Result<ImportRow> {
    let names: String = r.get(6)?;
    let targets: String = r.get(7)?;
    Ok(ImportRow {
        id: r.get(0)?,
        file_id: r.get(1)?,
        line: r.get(2)?,
        raw: r.get(3)?,
        kind: r.get(4)?,
        module: r.get(5)?,
        names: split_list(&names),
        targets: targets.split(' ').filter_map(|t| t.parse().ok()).collect(),
        external: r.get(8)?,
    })
}

fn split_list(s: &str) -> Vec<String> {
    if s.is_empty() {
        vec![]
    } else {
        s.split('\u{1f}').map(str::to_string).collect()
    }
}

/// Appends `v` as an unsigned LEB128 varint.
pub fn encode_varint(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn decode_varint(data: &[u8], at: &mut usize) -> Option<u32> {
    let mut v: u32 = 0;
    for shift in (0..35).step_by(7) {
        let b = *data.get(*at)?;
        *at += 1;
        v |= u32::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Parses a `refs.data` blob into (name id, count), in name order.
pub fn decode_refs(data: &[u8]) -> impl Iterator<Item = (u32, u32)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || Some((decode_varint(data, &mut at)?, decode_varint(data, &mut at)?)))
}

/// Parses a `refs.defs` blob into (name id, is an impl block, shape code), in symbol order.
pub fn decode_defs(data: &[u8]) -> impl Iterator<Item = (u32, bool, u8)> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let id = decode_varint(data, &mut at)?;
        let flags = *data.get(at)?;
        let shape = *data.get(at + 1)?;
        at += 2;
        Some((id, flags == 1, shape))
    })
}

/// One file's ranking graph.
#[derive(Debug, Clone)]
pub struct GraphRow {
    pub file: i64,
    pub refs: Vec<u8>,
    pub defs: Vec<u8>,
}

/// A one-definition `defs` blob, for ranking tests.
#[cfg(test)]
pub fn test_blob(id: u32, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    encode_varint(&mut out, id);
    out.push(0);
    out.push(crate::repomap::rank::shape_code(name));
    out
}

macro_rules! reads {
    () => {
        /// Every file row, ordered by path.
        pub fn files(&self) -> Result<Vec<FileRow>> {
            let e = sql(&self.path);
            let mut stmt = self
                .tx
                .prepare_cached(&format!("SELECT {FILE_COLS} FROM files ORDER BY path"))
                .map_err(&e)?;
            let rows = stmt.query_map([], file_row).map_err(&e)?;
            rows.collect::<rusqlite::Result<_>>().map_err(&e)
        }

        /// Every import row, ordered by file and line.
        pub fn imports(&self) -> Result<Vec<ImportRow>> {
            let e = sql(&self.path);
            let mut stmt = self
                .tx
                .prepare_cached(
                    "SELECT id, file_id, line, raw, kind, module, names, targets, external \
                     FROM imports ORDER BY file_id, line, id",
                )
                .map_err(&e)?;
            let rows = stmt.query_map([], import_row).map_err(&e)?;
            rows.collect::<rusqlite::Result<_>>().map_err(&e)
        }

        /// Symbols of the given files (or all files if `None`), in file and source order.
        pub fn symbols(&self, files: Option<&[i64]>) -> Result<Vec<SymbolRow>> {
            let e = sql(&self.path);
            let base = "SELECT file_id, name, kind, parent, signature, line, end_line, doc \
                        FROM symbols";
            match files {
                None => {
                    let mut stmt = self
                        .tx
                        .prepare_cached(&format!("{base} ORDER BY file_id, id"))
                        .map_err(&e)?;
                    let rows = stmt.query_map([], symbol_row).map_err(&e)?;
                    rows.collect::<rusqlite::Result<_>>().map_err(&e)
                }
                Some(ids) => {
                    let mut stmt = self
                        .tx
                        .prepare_cached(&format!("{base} WHERE file_id = ?1 ORDER BY id"))
                        .map_err(&e)?;
                    let mut out = Vec::new();
                    for id in ids {
                        let rows = stmt.query_map([id], symbol_row).map_err(&e)?;
                        for r in rows {
                            out.push(r.map_err(&e)?);
                        }
                    }
                    Ok(out)
                }
            }
        }

        /// Per-symbol ranks of a file, in symbol order (empty if never ranked).
        pub fn symbol_ranks(&self, file: i64) -> Result<Vec<f32>> {
            let e = sql(&self.path);
            let blob: Option<Vec<u8>> = self
                .tx
                .query_row(
                    "SELECT symbol_ranks FROM files WHERE id = ?1",
                    [file],
                    |r| r.get(0),
                )
                .optional()
                .map_err(&e)?
                .flatten();
            Ok(blob
                .unwrap_or_default()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        }

        /// The ids of those of `names` the index has interned, sorted.
        pub fn name_ids(&self, names: &[&str]) -> Result<Vec<u32>> {
            let e = sql(&self.path);
            let mut stmt = self
                .tx
                .prepare_cached("SELECT id FROM names WHERE name = ?1")
                .map_err(&e)?;
            let mut ids = Vec::new();
            for name in names {
                if let Some(id) = stmt
                    .query_row([name], |r| r.get(0))
                    .optional()
                    .map_err(&e)?
                {
                    ids.push(id);
                }
            }
            ids.sort_unstable();
            ids.dedup();
            Ok(ids)
        }

        /// Every file's ranking graph: (file id, refs blob, defs blob).
        pub fn graph(&self) -> Result<Vec<GraphRow>> {
            let e = sql(&self.path);
            let mut stmt = self
                .tx
                .prepare_cached("SELECT file_id, data, defs FROM refs ORDER BY file_id")
                .map_err(&e)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(GraphRow {
                        file: r.get(0)?,
                        refs: r.get(1)?,
                        defs: r.get(2)?,
                    })
                })
                .map_err(&e)?;
            rows.collect::<rusqlite::Result<_>>().map_err(&e)
        }

        /// (file id, signature, parent) of every definition called `main`. The name is a
        /// literal so that the partial index `symbols_main` serves the query.
        pub fn main_definitions(&self) -> Result<Vec<(i64, String, Option<String>)>> {
            let e = sql(&self.path);
            let mut stmt = self
                .tx
                .prepare_cached(
                    "SELECT file_id, signature, parent FROM symbols WHERE name = 'main' \
                     ORDER BY file_id, id",
                )
                .map_err(&e)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(&e)?;
            rows.collect::<rusqlite::Result<_>>().map_err(&e)
        }

        /// Names of top-level type definitions per file of `language` (Java class lookups).
        pub fn top_level_types(&self, language: &str) -> Result<Vec<(i64, String)>> {
            let e = sql(&self.path);
            let mut stmt = self
                .tx
                .prepare_cached(
                    "SELECT s.file_id, s.name, s.kind FROM symbols s \
                     JOIN files f ON f.id = s.file_id \
                     WHERE f.language = ?1 AND s.parent IS NULL ORDER BY s.file_id, s.id",
                )
                .map_err(&e)?;
            let mut out = Vec::new();
            let mut rows = stmt.query([language]).map_err(&e)?;
            while let Some(r) = rows.next().map_err(&e)? {
                let kind: String = r.get(2).map_err(&e)?;
                if is_type_kind(&kind) {
                    out.push((r.get(0).map_err(&e)?, r.get(1).map_err(&e)?));
                }
            }
            Ok(out)
        }

        /// All file → file import edges.
        pub fn edges(&self) -> Result<Vec<(i64, i64)>> {
            let e = sql(&self.path);
            let mut stmt = self
                .tx
                .prepare_cached("SELECT src, dst FROM edges ORDER BY src, dst")
                .map_err(&e)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(&e)?;
            rows.collect::<rusqlite::Result<_>>().map_err(&e)
        }

        /// (symbols, imports, edges, distinct external packages) in the index.
        pub fn counts(&self) -> Result<(u64, u64, u64, u64)> {
            self.tx
                .query_row(
                    "SELECT (SELECT count(*) FROM symbols), (SELECT count(*) FROM imports), \
                            (SELECT count(*) FROM edges), \
                            (SELECT count(DISTINCT external) FROM imports)",
                    [],
                    |r| {
                        let n = |i| r.get::<_, i64>(i).map(|v| v as u64);
                        Ok((n(0)?, n(1)?, n(2)?, n(3)?))
                    },
                )
                .map_err(sql(&self.path))
        }

        pub fn meta(&self, key: &str) -> Result<Option<String>> {
            self.tx
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
                .map_err(sql(&self.path))
        }

        /// The graph generation: advanced by every index run that changes the file graph's
        /// inputs (a file's definitions, references or imports, the file set, where an import
        /// resolves to; see [`IndexTx::graph_changed`]).
        pub fn graph_generation(&self) -> Result<u64> {
            Ok(self
                .meta(GRAPH_GENERATION)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0))
        }
    };
}

/// A read snapshot.
pub struct Reader<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
}

impl Reader<'_> {
    reads!();

    /// The deep part of the lexicon entry of each of these files (file id, content hash) whose
    /// entry was built from that content, by file id.
    pub fn lexicon_deep(&self, files: &[(i64, &[u8])]) -> Result<HashMap<i64, LexiconDeep>> {
        let e = sql(&self.path);
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT d.chunks, d.names FROM lexicon_deep d \
                 JOIN lexicon l ON l.file_id = d.file_id \
                 WHERE d.file_id = ?1 AND l.hash = ?2",
            )
            .map_err(&e)?;
        let mut out = HashMap::new();
        for &(id, hash) in files {
            if let Some(deep) = stmt
                .query_row(params![id, hash], |r| {
                    Ok(LexiconDeep {
                        chunks: r.get(0)?,
                        names: r.get(1)?,
                    })
                })
                .optional()
                .map_err(&e)?
            {
                out.insert(id, deep);
            }
        }
        Ok(out)
    }

    /// The kept file graph of `vibe context` (see migration 0015), if it was built for `key`.
    pub fn file_graph(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.tx
            .query_row(
                "SELECT data FROM file_graph WHERE id = 1 AND key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql(&self.path))
    }
}

/// `meta` key of the graph generation (see [`Reader::graph_generation`]).
const GRAPH_GENERATION: &str = "graph_generation";

impl Store {
    /// Keeps the file graph of `vibe context` built for `key`, in place of any other, in a
    /// transaction of its own.
    pub fn put_file_graph(&self, key: &str, data: &[u8]) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO file_graph(id, key, data) VALUES (1, ?1, ?2)",
                params![key, data],
            )
            .map(|_| ())
            .map_err(sql(&self.path))
    }
}

/// The write transaction of one index run. Dropping it without [`IndexTx::commit`] rolls back.
pub struct IndexTx<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
    /// Name ids interned in this run.
    names: RefCell<FxHashMap<String, u32>>,
    /// Names first seen in this run, written by [`IndexTx::commit`] in name order (index
    /// inserts in key order are several times cheaper than in arrival order).
    new_names: RefCell<Vec<(u32, String)>>,
    /// The next free name id, and whether the table held any names when the run started
    /// (when it did not, a name missing from `names` is new without asking the database).
    next_name: Cell<Option<(u32, bool)>>,
    /// A first build (see [`IndexTx::begin_bulk`]).
    bulk: Cell<bool>,
}

impl IndexTx<'_> {
    reads!();

    pub fn commit(self) -> Result<()> {
        let e = sql(&self.path);
        let mut new = self.new_names.take();
        if !new.is_empty() {
            // In name order (the table's key), NAMES_PER_INSERT rows per statement: a first
            // build adds ~70k names here, after parsing, where every millisecond is wall time.
            new.sort_unstable_by(|a, b| a.1.cmp(&b.1));
            for chunk in new.chunks(NAMES_PER_INSERT) {
                let sql = if chunk.len() == NAMES_PER_INSERT {
                    &*NAMES_INSERT
                } else {
                    &names_insert(chunk.len())
                };
                self.tx
                    .prepare_cached(sql)
                    .and_then(|mut s| {
                        s.execute(rusqlite::params_from_iter(chunk.iter().flat_map(
                            |(id, name)| [name as &dyn rusqlite::ToSql, id as &dyn rusqlite::ToSql],
                        )))
                    })
                    .map_err(&e)?;
            }
            if let Some((next, _)) = self.next_name.get() {
                self.set_meta("names_next", &next.to_string())?;
            }
        }
        self.tx.commit().map_err(&e)
    }

    /// Starts a first build, if the index holds no files: then every file is new, and
    /// [`IndexTx::put_file`] skips looking for a previous version of each. Returns whether bulk
    /// mode is on. (The secondary indexes stay: rows arrive in file id order, so keeping
    /// `symbols_file` and `imports_file` up to date is an append, cheaper than building them
    /// after parsing, on the critical path.)
    pub fn begin_bulk(&self) -> Result<bool> {
        if !self.bulk.get() {
            let files: i64 = self
                .tx
                .query_row("SELECT count(*) FROM files", [], |r| r.get(0))
                .map_err(sql(&self.path))?;
            self.bulk.set(files == 0);
        }
        Ok(self.bulk.get())
    }

    /// Records that an unchanged file was seen with a new size, mtime or stamp.
    pub fn touch(&self, id: i64, size: u64, mtime_ns: i64, stamp: i64) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE files SET size = ?2, mtime_ns = ?3, stamp = ?4 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![id, size as i64, mtime_ns, stamp]))
            .map(|_| ())
            .map_err(sql(&self.path))
    }

    pub fn delete_file(&self, id: i64) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM files WHERE id = ?1")
            .and_then(|mut s| s.execute([id]))
            .map(|_| ())
            .map_err(sql(&self.path))
    }

    /// Inserts or replaces a file and everything extracted from it. When the file's imports are
    /// the same as before (same kind, module and names, in order), their resolutions and the
    /// file's edges are kept, and `imports_changed` is false: the caller may skip re-resolving.
    pub fn put_file(&self, f: &NewFile) -> Result<PutFile> {
        let e = sql(&self.path);
        let tags = f.tags;
        let id: i64 = self
            .tx
            .prepare_cached(
                "INSERT INTO files(path, language, ftype, size, mtime_ns, hash, lines, bytes, \
                   parse_errors, skip_reason, package, main_guard, symbol_ranks, stamp) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, ?13) \
                 ON CONFLICT(path) DO UPDATE SET language = excluded.language, \
                   ftype = excluded.ftype, size = excluded.size, mtime_ns = excluded.mtime_ns, \
                   stamp = excluded.stamp, \
                   hash = excluded.hash, lines = excluded.lines, bytes = excluded.bytes, \
                   parse_errors = excluded.parse_errors, skip_reason = excluded.skip_reason, \
                   package = excluded.package, main_guard = excluded.main_guard, \
                   symbol_ranks = NULL \
                 RETURNING id",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![
                        f.path,
                        f.language,
                        f.ftype,
                        f.size as i64,
                        f.mtime_ns,
                        f.hash,
                        f.lines as i64,
                        f.bytes as i64,
                        tags.is_some_and(|t| t.has_errors),
                        f.skip_reason,
                        tags.and_then(|t| t.package.as_deref()),
                        tags.is_some_and(|t| t.main_guard),
                        f.stamp,
                    ],
                    |r| r.get(0),
                )
            })
            .map_err(&e)?;
        let bulk = self.bulk.get();
        // The old imports, to carry their resolutions over if nothing about them changed.
        let old: Vec<(String, String, String, String, Option<String>)> = if bulk {
            Vec::new()
        } else {
            self.tx
                .prepare_cached(
                    "SELECT kind, module, names, targets, external FROM imports \
                 WHERE file_id = ?1 ORDER BY id",
                )
                .and_then(|mut s| {
                    s.query_map([id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(&e)?
        };
        let new_imports: &[crate::repomap::extract::Import] =
            tags.map(|t| t.imports.as_slice()).unwrap_or(&[]);
        let same = old.len() == new_imports.len()
            && old
                .iter()
                .zip(new_imports)
                .all(|(o, n)| o.0 == n.kind && o.1 == n.module && o.2 == n.names.join("\u{1f}"));
        // The old ranking graph, to tell whether ranks can stand.
        let old_graph: Option<(Vec<u8>, Vec<u8>)> = if bulk {
            None
        } else {
            self.tx
                .prepare_cached("SELECT data, defs FROM refs WHERE file_id = ?1")
                .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
                .map_err(&e)?
        };
        // The old top-level type names (Java files only: resolution reads no other language's).
        let old_types: Vec<String> = if bulk || f.language != Some("java") {
            Vec::new()
        } else {
            self.tx
                .prepare_cached(
                    "SELECT name, kind FROM symbols WHERE file_id = ?1 AND parent IS NULL \
                     ORDER BY id",
                )
                .and_then(|mut s| {
                    s.query_map([id], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })?
                    .filter(|r| r.as_ref().map_or(true, |(_, k)| is_type_kind(k)))
                    .map(|r| r.map(|(n, _)| n))
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(&e)?
        };
        let new_types = tags
            .into_iter()
            .flat_map(|t| &t.symbols)
            .filter(|s| s.parent.is_none() && is_type_kind(&s.kind));
        let types_changed = f.language == Some("java")
            && !old_types
                .iter()
                .map(String::as_str)
                .eq(new_types.map(|s| s.name.as_str()));
        // In bulk mode every file is new: nothing to delete.
        let mut deletes = if bulk {
            Vec::new()
        } else {
            vec![
                "DELETE FROM symbols WHERE file_id = ?1",
                "DELETE FROM refs WHERE file_id = ?1",
                "DELETE FROM imports WHERE file_id = ?1",
            ]
        };
        if !same && !bulk {
            deletes.push("DELETE FROM edges WHERE src = ?1");
        }
        for stmt in deletes {
            self.tx
                .prepare_cached(stmt)
                .and_then(|mut s| s.execute([id]))
                .map_err(&e)?;
        }
        let new_graph = match tags {
            Some(t) => Some((self.encode_refs(&t.refs)?, self.encode_defs(&t.symbols)?)),
            None => None,
        };
        let mut put = PutFile {
            id,
            imports_changed: !same,
            graph_changed: old_graph != new_graph,
            types_changed,
        };
        put.graph_changed |= put.imports_changed;
        let Some(tags) = tags else { return Ok(put) };
        let (refs_blob, defs_blob) = new_graph.unwrap_or_default();
        let mut ins = self
            .tx
            .prepare_cached(
                "INSERT INTO symbols(file_id, name, kind, parent, signature, line, end_line, doc) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(&e)?;
        for s in &tags.symbols {
            ins.execute(params![
                id,
                s.name,
                s.kind,
                s.parent,
                s.signature,
                s.line,
                s.end_line,
                s.doc
            ])
            .map_err(&e)?;
        }
        self.tx
            .prepare_cached("INSERT INTO refs(file_id, data, defs) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![id, refs_blob, defs_blob]))
            .map_err(&e)?;
        let mut ins = self
            .tx
            .prepare_cached(
                "INSERT INTO imports(file_id, line, raw, kind, module, names, targets, external) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(&e)?;
        for (n, i) in tags.imports.iter().enumerate() {
            let (targets, external) = match old.get(n) {
                Some(o) if same => (o.3.as_str(), o.4.as_deref()),
                _ => ("", None),
            };
            ins.execute(params![
                id,
                i.line,
                i.raw,
                i.kind,
                i.module,
                i.names.join("\u{1f}"),
                targets,
                external
            ])
            .map_err(&e)?;
        }
        Ok(put)
    }

    /// The ids of those of `names` the index knows, as [`IndexTx::name_ids`] would give them
    /// after [`IndexTx::commit`]: with the names first seen in this run, which reach the table
    /// only then (a first build's ranking saw none of them, so it weighed the common method
    /// names as any other, and ranked otherwise than any later run on the same tree).
    pub fn name_ids_now(&self, names: &[&str]) -> Result<Vec<u32>> {
        let mut ids: Vec<u32> = Vec::new();
        let mut stored: Vec<&str> = Vec::new();
        {
            let interned = self.names.borrow();
            for name in names {
                match interned.get(*name) {
                    Some(id) => ids.push(*id),
                    None => stored.push(name),
                }
            }
        }
        ids.extend(self.name_ids(&stored)?);
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// The id of `name` in the `names` table, adding it if new.
    /// New names get ids now and reach the table at commit, in name order.
    fn intern(&self, name: &str) -> Result<u32> {
        if let Some(id) = self.names.borrow().get(name) {
            return Ok(*id);
        }
        let e = sql(&self.path);
        let (next, had_names) = match self.next_name.get() {
            Some(n) => n,
            None => {
                // Kept by the migration and by every commit that adds names; the scan is for
                // an index whose meta row went missing.
                let next: i64 = match self.meta("names_next")?.and_then(|v| v.parse().ok()) {
                    Some(n) => n,
                    None => self
                        .tx
                        .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM names", [], |r| {
                            r.get(0)
                        })
                        .map_err(&e)?,
                };
                (next as u32, next > 1)
            }
        };
        let stored: Option<u32> = if had_names {
            self.tx
                .prepare_cached("SELECT id FROM names WHERE name = ?1")
                .and_then(|mut s| s.query_row([name], |r| r.get(0)).optional())
                .map_err(&e)?
        } else {
            None
        };
        let id = match stored {
            Some(id) => {
                self.next_name.set(Some((next, had_names)));
                id
            }
            None => {
                self.next_name.set(Some((next + 1, had_names)));
                self.new_names.borrow_mut().push((next, name.to_string()));
                next
            }
        };
        self.names.borrow_mut().insert(name.to_string(), id);
        Ok(id)
    }

    fn encode_refs(&self, refs: &[(String, u32)]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(refs.len() * 4);
        for (name, count) in refs {
            encode_varint(&mut out, self.intern(name)?);
            encode_varint(&mut out, *count);
        }
        Ok(out)
    }

    fn encode_defs(&self, symbols: &[Symbol]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(symbols.len() * 5);
        for s in symbols {
            encode_varint(&mut out, self.intern(&s.name)?);
            out.push(u8::from(s.kind == "impl"));
            out.push(crate::repomap::rank::shape_code(&s.name));
        }
        Ok(out)
    }

    /// Stores one import's resolution.
    pub fn set_resolution(
        &self,
        import: i64,
        targets: &[i64],
        external: Option<&str>,
    ) -> Result<()> {
        let targets: Vec<String> = targets.iter().map(i64::to_string).collect();
        self.tx
            .prepare_cached("UPDATE imports SET targets = ?2, external = ?3 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![import, targets.join(" "), external]))
            .map(|_| ())
            .map_err(sql(&self.path))
    }

    /// Replaces the whole edge table.
    pub fn set_edges(&self, edges: &[(i64, i64)]) -> Result<()> {
        let e = sql(&self.path);
        self.tx.execute("DELETE FROM edges", []).map_err(&e)?;
        let mut ins = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO edges(src, dst) VALUES (?1, ?2)")
            .map_err(&e)?;
        for (s, d) in edges {
            ins.execute([s, d]).map_err(&e)?;
        }
        Ok(())
    }

    /// Stores a file's rank and its symbols' ranks.
    pub fn set_rank(&self, file: i64, rank: f64, symbol_ranks: &[f32]) -> Result<()> {
        let blob: Vec<u8> = symbol_ranks.iter().flat_map(|r| r.to_le_bytes()).collect();
        self.tx
            .prepare_cached("UPDATE files SET rank = ?2, symbol_ranks = ?3 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![file, rank, blob]))
            .map(|_| ())
            .map_err(sql(&self.path))
    }

    /// Which of `keys` already have a cached token count.
    pub fn known_token_counts(&self, keys: &[i64]) -> Result<HashSet<i64>> {
        let e = sql(&self.path);
        let mut stmt = self
            .tx
            .prepare_cached("SELECT 1 FROM token_counts WHERE hash = ?1")
            .map_err(&e)?;
        let mut known = HashSet::new();
        for k in keys {
            if stmt.exists([k]).map_err(&e)? {
                known.insert(*k);
            }
        }
        Ok(known)
    }

    /// Remembers token counts of map lines, inside this run's transaction.
    pub fn put_token_counts(&self, counts: &[(i64, u32)]) -> Result<()> {
        insert_token_counts(&self.tx, counts).map_err(sql(&self.path))
    }

    /// Records that this run changed the file graph's inputs: advances the graph generation
    /// and drops the kept file graph, now stale.
    pub fn graph_changed(&self) -> Result<()> {
        let next = self.graph_generation()?.wrapping_add(1);
        self.set_meta(GRAPH_GENERATION, &next.to_string())?;
        self.tx
            .execute("DELETE FROM file_graph", [])
            .map(|_| ())
            .map_err(sql(&self.path))
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.tx
            .prepare_cached("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute([key, value]))
            .map(|_| ())
            .map_err(sql(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> impl FnMut(String) {
        |_| {}
    }

    /// A database damaged past its header says what to do; other errors get no hint.
    #[test]
    fn a_damaged_database_says_what_to_do() {
        let err = |code| {
            Error::Sqlite {
                path: "/r/.vibe/index.db".into(),
                source: rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None),
            }
            .to_string()
        };
        let damaged = err(rusqlite::ffi::SQLITE_CORRUPT);
        assert!(
            damaged.starts_with("/r/.vibe/index.db: ")
                && damaged.contains("hint: the file is damaged; move it aside"),
            "{damaged}"
        );
        // A lock held past the wait says whose it may be.
        let busy = err(rusqlite::ffi::SQLITE_BUSY);
        assert!(busy.contains("\nhint: another process held"), "{busy}");
        assert!(!err(rusqlite::ffi::SQLITE_IOERR).contains("hint"));
    }

    #[test]
    fn creates_and_reopens() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let s = Store::open(dir.path(), &mut quiet())?;
        drop(s);
        let s = Store::open(dir.path(), &mut quiet())?;
        assert!(s.read()?.files()?.is_empty());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".vibe/.gitignore"))?,
            "*\n"
        );
        Ok(())
    }

    /// An index in memory is used as one on disk, and a rebuild of it makes another in memory
    /// (never a file named `:memory:` in the current directory, nor its lock).
    #[test]
    fn an_index_in_memory_rebuilds_in_memory() -> std::result::Result<(), Box<dyn std::error::Error>>
    {
        let store = Store::in_memory()?;
        assert!(store.is_memory());
        assert_eq!(store.file, None);
        assert_eq!(store.read()?.files()?.len(), 0);
        let reason = Error::Unusable {
            path: store.path().to_path_buf(),
            reason: "is damaged".into(),
        };
        let mut said = Vec::new();
        let again = store.rebuild(&mut |w| said.push(w), &reason)?;
        assert!(again.is_memory());
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].ends_with("rebuilding it in memory"), "{said:?}");
        assert!(!Path::new(":memory:").exists() && !Path::new(":memory:.lock").exists());
        assert!(
            OPENED
                .lock()
                .map(|o| o.iter().all(|(p, _)| p != Path::new(MEMORY)))
                .unwrap_or(true)
        );
        Ok(())
    }

    #[test]
    fn rebuilds_corrupt_foreign_and_newer() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let db = Store::path_for(dir.path());
        std::fs::create_dir_all(db.parent().ok_or("no parent")?)?;

        std::fs::write(&db, b"this is not a database, just some text that is long enough to matter.......................................................")?;
        let mut warnings = Vec::new();
        Store::open(dir.path(), &mut |w| warnings.push(w))?;
        assert_eq!(warnings.len(), 1, "{warnings:?}");

        Store::remove(&db)?;
        let c = Connection::open(&db)?;
        c.execute_batch("CREATE TABLE other(x); INSERT INTO other VALUES (1);")?;
        drop(c);
        let mut warnings = Vec::new();
        Store::open(dir.path(), &mut |w| warnings.push(w))?;
        assert!(warnings[0].contains("not a vibe index"), "{warnings:?}");

        let c = Connection::open(&db)?;
        c.execute_batch("PRAGMA user_version = 99;")?;
        drop(c);
        let mut warnings = Vec::new();
        let s = Store::open(dir.path(), &mut |w| warnings.push(w))?;
        assert!(warnings[0].contains("newer"), "{warnings:?}");
        assert!(s.read()?.files()?.is_empty());
        drop(s);

        // Damaged inside: a table gone, or a version lower than the schema (an upgrade step
        // then fails on a table that exists). Rebuilt, with a reason of one line.
        let c = Connection::open(&db)?;
        c.execute_batch(
            "INSERT INTO chat_sessions(id, created_ms, updated_ms, model, title) \
                 VALUES ('s1', 1, 2, 'm', 'first');
             INSERT INTO chat_turns(session, n, role, text, time_ms) VALUES ('s1', 0, 'user', 'hi', 1);
             INSERT INTO heal_memory(time_ms, path, stage, code, signature, message, before, diff) \
                 VALUES (1, 'a.py', 'syntax', 'E1', 'sig', 'msg', 'x', 'd');
             DROP TABLE symbols;",
        )?;
        drop(c);
        let mut warnings = Vec::new();
        let s = Store::open(dir.path(), &mut |w| warnings.push(w))?;
        assert!(
            warnings[0].contains("table `symbols` is missing"),
            "{warnings:?}"
        );
        assert!(s.read()?.symbols(None)?.is_empty());
        // What is not a cache of the repository is carried over to the fresh index.
        assert!(
            warnings[0].ends_with("; 1 chat session and the bug memory carried over"),
            "{warnings:?}"
        );
        let count = |table: &str| -> rusqlite::Result<i64> {
            s.conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        };
        assert_eq!(
            (
                count("chat_sessions")?,
                count("chat_turns")?,
                count("heal_memory")?
            ),
            (1, 1, 1)
        );
        drop(s);
        // The old database is kept aside (chat sessions and the bug memory live there too).
        let kept = Connection::open(db.with_extension("db.broken"))?;
        assert!(!table_names(&kept)?.contains(&"symbols".to_string()));
        assert!(table_names(&kept)?.contains(&"chat_sessions".to_string()));
        drop(kept);
        let c = Connection::open(&db)?;
        c.execute_batch("PRAGMA user_version = 3;")?;
        drop(c);
        let mut warnings = Vec::new();
        Store::open(dir.path(), &mut |w| warnings.push(w))?;
        assert!(
            warnings[0].contains("does not have the schema its version 3 says"),
            "{warnings:?}"
        );
        assert_eq!(warnings[0].lines().count(), 1, "{warnings:?}");
        Ok(())
    }

    /// A store kept open (a chat session's) whose database another process set aside and
    /// rebuilt follows it to the fresh one: in WAL mode SQLite goes on writing to the file set
    /// aside, and the session's later turns were lost to it.
    #[test]
    fn a_store_follows_a_rebuild_by_another_process()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut first = Store::open(dir.path(), &mut |_| {})?;
        first.put_token_counts(&[(1, 1)])?;
        first.follow()?;
        let second = Store::open(dir.path(), &mut |_| {})?;
        let reason = Error::Unusable {
            path: second.path.clone(),
            reason: "is damaged".into(),
        };
        let fresh = second.rebuild(&mut |_| {}, &reason)?;
        first.follow()?;
        first.put_token_counts(&[(2, 2)])?;
        assert_eq!(fresh.token_count(2)?, Some(2));
        assert_eq!(fresh.token_count(1)?, None);
        Ok(())
    }

    /// A lock file that cannot be opened (here a directory in its place; another user's
    /// read-only file is opened read-only) does not move the index to the user's data
    /// directory: the index opens where it is, without the lock.
    #[test]
    fn an_unusable_lock_file_does_not_move_the_index()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join(".vibe/index.db.lock"))?;
        let mut warnings = Vec::new();
        let s = Store::open(dir.path(), &mut |w| warnings.push(w))?;
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(s.path(), dir.path().join(".vibe/index.db"));
        Ok(())
    }

    /// Two processes that find the index unusable rebuild it once: the second, waiting for the
    /// lock, opens what the first made instead of setting that aside (the chat sessions the
    /// first carried over, and the old file it kept, were lost).
    #[test]
    fn a_rebuild_uses_what_another_process_rebuilt()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let first = Store::open(dir.path(), &mut |_| {})?;
        let second = Store::open(dir.path(), &mut |_| {})?;
        first.conn.execute_batch(
            "INSERT INTO chat_sessions(id, created_ms, updated_ms, model, title) \
                 VALUES ('s1', 1, 2, 'm', 'first');",
        )?;
        let reason = Error::Unusable {
            path: first.path.clone(),
            reason: "is damaged".into(),
        };
        let mut warnings = Vec::new();
        let rebuilt = first.rebuild(&mut |w| warnings.push(w), &reason)?;
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let mut warnings = Vec::new();
        let again = second.rebuild(&mut |w| warnings.push(w), &reason)?;
        assert!(warnings.is_empty(), "{warnings:?}");
        let sessions: i64 =
            again
                .conn
                .query_row("SELECT count(*) FROM chat_sessions", [], |r| r.get(0))?;
        assert_eq!(sessions, 1);
        assert_eq!(again.file, rebuilt.file);
        // The file kept aside is still the one the first rebuild set aside.
        let kept = Connection::open(again.path.with_extension("db.broken"))?;
        let title: String = kept.query_row("SELECT title FROM chat_sessions", [], |r| r.get(0))?;
        assert_eq!(title, "first");
        Ok(())
    }

    #[test]
    fn the_checked_tables_are_those_the_migrations_create()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let mut c = Connection::open_in_memory()?;
        migrate(
            &mut c,
            Path::new(":memory:"),
            APP_ID,
            MIGRATIONS,
            "vibe index",
        )?;
        assert_eq!(table_names(&c)?, TABLES);
        Ok(())
    }

    #[test]
    fn the_file_graph_is_kept_by_key_until_the_graph_changes()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut s = Store::open(dir.path(), &mut quiet())?;
        assert_eq!(s.read()?.graph_generation()?, 0);
        s.put_file_graph("0:abc", b"one")?;
        s.put_file_graph("0:def", b"two")?;
        {
            let r = s.read()?;
            assert_eq!(r.file_graph("0:def")?, Some(b"two".to_vec()));
            assert_eq!(r.file_graph("0:abc")?, None, "one graph is kept, the last");
        }
        let tx = s.index_tx()?;
        tx.graph_changed()?;
        tx.graph_changed()?;
        tx.commit()?;
        let r = s.read()?;
        assert_eq!(r.graph_generation()?, 2);
        assert_eq!(
            r.file_graph("0:def")?,
            None,
            "a changed graph drops the kept one"
        );
        Ok(())
    }

    #[test]
    fn deep_entries_are_read_for_the_content_they_were_built_from()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut s = Store::open(dir.path(), &mut quiet())?;
        let tags = FileTags::default();
        let tx = s.index_tx()?;
        let id = tx.put_file(&file_with("a.py", &tags))?.id;
        tx.commit()?;
        let row = |hash: &[u8]| LexiconRow {
            file_id: id,
            hash: hash.to_vec(),
            length: 3,
            passages: 1,
            passage_terms: 3,
            terms: vec![1],
        };
        let deep = |chunks: &[u8]| LexiconDeep {
            chunks: chunks.to_vec(),
            names: vec![2],
        };
        // An entry for a file the index no longer has is dropped.
        let gone = LexiconRow {
            file_id: id + 1,
            ..row(b"h1")
        };
        s.put_lexicon(&[(row(b"h1"), deep(b"p1")), (gone, deep(b"gone"))])?;
        let stored = s.lexicon()?;
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].passages, stored[0].passage_terms), (1, 3));
        let r = s.read()?;
        let got = r.lexicon_deep(&[(id, b"h1"), (id + 1, b"h1")])?;
        assert_eq!(got.get(&id), Some(&deep(b"p1")));
        assert_eq!(got.len(), 1);
        // Another content's entry: its passages and names are not this content's.
        assert!(r.lexicon_deep(&[(id, b"h2")])?.is_empty());
        drop(r);
        s.put_lexicon(&[(row(b"h2"), deep(b"p2"))])?;
        let got = s.read()?.lexicon_deep(&[(id, b"h2")])?;
        assert_eq!(got.get(&id), Some(&deep(b"p2")));
        Ok(())
    }

    /// The names of the database's indexes, sorted.
    fn index_names(s: &Store) -> rusqlite::Result<Vec<String>> {
        let mut stmt = s.conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        )?;
        stmt.query_map([], |r| r.get(0))?.collect()
    }

    fn file_with<'a>(path: &'a str, tags: &'a FileTags) -> NewFile<'a> {
        NewFile {
            path,
            language: Some("python"),
            ftype: "python",
            size: 1,
            mtime_ns: 1,
            stamp: 1,
            hash: None,
            lines: 1,
            bytes: 1,
            skip_reason: None,
            tags: Some(tags),
        }
    }

    #[test]
    fn version_1_index_migrates_keeping_name_ids()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join(".vibe/index.db");
        std::fs::create_dir_all(dir.path().join(".vibe"))?;
        let c = Connection::open(&db)?;
        c.execute_batch(MIGRATIONS[0])?;
        c.execute_batch(&format!(
            "PRAGMA application_id={APP_ID}; PRAGMA user_version=1; \
             INSERT INTO names(id, name) VALUES (1, 'beta'), (2, 'alpha');"
        ))?;
        drop(c);

        let mut warnings = Vec::new();
        let mut s = Store::open(dir.path(), &mut |w| warnings.push(w))?;
        assert!(warnings.is_empty(), "{warnings:?}");
        let indexes = index_names(&s)?;
        assert!(indexes.contains(&"symbols_main".to_string()), "{indexes:?}");
        assert!(
            !indexes.contains(&"symbols_name".to_string()),
            "{indexes:?}"
        );

        // Stored names keep their ids; a new one comes after them.
        let tags = FileTags {
            refs: vec![("alpha".into(), 1), ("gamma".into(), 1)],
            ..Default::default()
        };
        let tx = s.index_tx()?;
        tx.put_file(&file_with("a.py", &tags))?;
        tx.commit()?;
        let mut stmt = s.conn.prepare("SELECT id, name FROM names ORDER BY id")?;
        let names: Vec<(u32, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(
            names,
            vec![(1, "beta".into()), (2, "alpha".into()), (3, "gamma".into())]
        );
        Ok(())
    }

    #[test]
    fn first_build_interns_names_once() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut s = Store::open(dir.path(), &mut quiet())?;
        let tags = FileTags {
            refs: vec![("beta".into(), 2), ("alpha".into(), 1)],
            ..Default::default()
        };
        let tx = s.index_tx()?;
        assert!(tx.begin_bulk()?, "an empty index starts a bulk build");
        tx.put_file(&file_with("a.py", &tags))?;
        tx.put_file(&file_with("b.py", &tags))?;
        tx.commit()?;
        let names = |s: &Store| -> rusqlite::Result<Vec<(u32, String)>> {
            let mut stmt = s.conn.prepare("SELECT id, name FROM names ORDER BY id")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        };
        // Ids in first-seen order, each name once.
        assert_eq!(names(&s)?, vec![(1, "beta".into()), (2, "alpha".into())]);

        // A later run is not a bulk build; it finds stored names and adds new ones after them.
        let tags = FileTags {
            refs: vec![("alpha".into(), 1), ("gamma".into(), 1)],
            ..Default::default()
        };
        let tx = s.index_tx()?;
        assert!(!tx.begin_bulk()?, "an index with files is updated in place");
        tx.put_file(&file_with("a.py", &tags))?;
        tx.commit()?;
        assert_eq!(
            names(&s)?,
            vec![(1, "beta".into()), (2, "alpha".into()), (3, "gamma".into())]
        );
        Ok(())
    }

    #[test]
    fn varints_round_trip() {
        let mut data = Vec::new();
        for v in [0u32, 1, 127, 128, 300, 16_384, u32::MAX] {
            encode_varint(&mut data, v);
            encode_varint(&mut data, 7);
        }
        let back: Vec<_> = decode_refs(&data).collect();
        assert_eq!(
            back,
            [0u32, 1, 127, 128, 300, 16_384, u32::MAX]
                .map(|v| (v, 7))
                .to_vec()
        );
    }
}
