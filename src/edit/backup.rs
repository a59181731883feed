//! Runs: backups taken before files change, the writes themselves, and undo.
//!
//! A run lives in `.vibe/backups/<run-id>/`: `manifest.json` (each file's path, whether it
//! existed, its permissions, the hashes of its old and new content, and the directories the run
//! created) and `files/<path>`, a copy of every file that existed. The manifest and copies are
//! durable before the first file is touched, so a run cut short by a crash can still be undone:
//! undo accepts a file holding either the run's new content or its old one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::{sync_dir, write_with};
use super::{Error, FileChange, io, locate, resolve};

const SCHEMA: &str = "vibe.backup/1";
const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    schema: String,
    id: String,
    /// RFC 3339, UTC.
    created: String,
    /// Nanoseconds since the epoch: orders runs made within the same second.
    created_ns: i128,
    operation: String,
    files: Vec<Entry>,
    /// Directories the run created (parents first); undo removes them if they are empty.
    created_dirs: Vec<String>,
    /// When the run was undone (RFC 3339), if it was.
    undone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    path: String,
    existed: bool,
    /// Unix permission bits of the old file.
    mode: Option<u32>,
    readonly: bool,
    old_hash: Option<String>,
    new_hash: String,
}

/// One run, as `vibe undo --list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub id: String,
    /// RFC 3339 (empty if the manifest is damaged).
    pub time: String,
    /// What made the run, e.g. `heal`.
    pub operation: String,
    pub files: Vec<String>,
    pub undone: bool,
    /// Why the run cannot be undone, if its backup is damaged.
    pub damaged: Option<String>,
}

/// What an undo did.
#[derive(Debug, Clone, Serialize)]
pub struct UndoReport {
    pub run: String,
    pub operation: String,
    /// Files put back to their content before the run.
    pub restored: Vec<String>,
    /// Files the run created, now removed.
    pub removed: Vec<String>,
    /// Files that had changed since the run and were overwritten anyway (`--force`).
    pub forced: Vec<String>,
}

fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

fn backups_dir(root: &Path) -> PathBuf {
    root.join(".vibe").join("backups")
}

/// `20261202T121500Z-abcd`: sortable by time, with a random suffix.
fn new_run_id(now: jiff::Timestamp) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i128(now.as_nanosecond());
    h.write_u32(std::process::id());
    format!(
        "{}-{:04x}",
        now.strftime("%Y%m%dT%H%M%SZ"),
        h.finish() & 0xffff
    )
}

#[cfg(unix)]
fn mode_of(m: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> Option<u32> {
    None
}

fn permissions(entry: &Entry) -> Option<std::fs::Permissions> {
    #[cfg(unix)]
    if let Some(mode) = entry.mode {
        use std::os::unix::fs::PermissionsExt;
        return Some(std::fs::Permissions::from_mode(mode));
    }
    let _ = entry;
    None
}

/// Writes a file's copy back, with the mode it had.
fn restore(e: &Entry, abs: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(parent) = abs.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let perms = permissions(e).or_else(|| {
        let mut p = std::fs::metadata(abs).ok()?.permissions();
        p.set_readonly(e.readonly);
        Some(p)
    });
    write_with(abs, bytes, perms).map_err(io(abs))
}

/// Reads a file if it exists.
/// A file's copy in a run (`None` for a file the run created), or why it cannot be used (missing,
/// or not the content the manifest says it held).
fn read_copy(run_dir: &Path, e: &Entry) -> Result<Result<Option<Vec<u8>>, String>, Error> {
    if !e.existed {
        return Ok(Ok(None));
    }
    let Some(bytes) = read_opt(&run_dir.join("files").join(&e.path))? else {
        return Ok(Err(format!("the copy of {} is missing", e.path)));
    };
    if Some(hash(&bytes)) != e.old_hash {
        return Ok(Err(format!("the copy of {} is corrupt", e.path)));
    }
    Ok(Ok(Some(bytes)))
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), Error> {
    let path = dir.join(MANIFEST);
    let mut json = serde_json::to_vec_pretty(m).map_err(|e| Error::Damaged {
        run: m.id.clone(),
        reason: e.to_string(),
    })?;
    json.push(b'\n');
    super::atomic_write(&path, &json).map_err(io(&path))
}

/// The missing directories from `dir` up to `root` (parents first).
fn missing_dirs(root: &Path, dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|d| d.starts_with(root) && *d != root && !d.exists())
        .map(Path::to_path_buf)
        .collect();
    out.reverse();
    out
}

fn rel_of(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Writes `changes` for real, as one run named for `operation`; returns the run id. Every file
/// is backed up first; a file that changed on disk since it was planned stops the run before
/// anything is written. Changes that leave a file as it is are skipped.
pub fn commit(root: &Path, changes: &[FileChange], operation: &str) -> Result<String, Error> {
    // Two changes of one file were both planned from the same text: writing both would lose
    // the first without a word.
    for (i, c) in changes.iter().enumerate() {
        if changes[..i].iter().any(|d| d.rel == c.rel) {
            return Err(Error::Duplicate(c.rel.clone()));
        }
    }
    // Held to the end: a signal's exit waits for the run to be whole (or rolled back).
    let _writing = writing();
    let canon_root = root.canonicalize().map_err(io(root))?;
    // Re-resolve every path (the file system may have moved since the plan) and check that
    // each file is still what the plan read.
    let mut work: Vec<Pending> = Vec::new();
    for c in changes {
        if c.old.as_deref() == Some(c.new.as_str()) {
            continue;
        }
        let (_, abs) = resolve(&canon_root, &c.rel)?;
        let current = read_opt(&abs)?;
        if current.as_deref() != c.old.as_ref().map(|s| s.as_bytes()) {
            return Err(Error::ChangedSincePlan {
                path: c.rel.clone(),
            });
        }
        let meta = match &current {
            Some(_) => Some(std::fs::metadata(&abs).map_err(io(&abs))?),
            None => None,
        };
        work.push((c, abs, current, meta));
    }
    if work.is_empty() {
        return Err(Error::NothingToWrite);
    }
    // The run directory, with a fresh id.
    let backups = backups_dir(&canon_root);
    std::fs::create_dir_all(&backups).map_err(io(&backups))?;
    let ignore = canon_root.join(".vibe").join(".gitignore");
    if !ignore.exists() {
        super::atomic_write(&ignore, b"*\n").map_err(io(&ignore))?;
    }
    let (now, id, run_dir) = loop {
        let now = jiff::Timestamp::now();
        let id = new_run_id(now);
        let dir = backups.join(&id);
        match std::fs::create_dir(&dir) {
            Ok(()) => break (now, id, dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&dir)(e)),
        }
    };
    // Copies of the old files, then the manifest, all durable before any file changes. A run
    // whose backup could not be made (a full disk) changed nothing and is removed: left
    // without its manifest, it read as a damaged run and stopped `vibe undo` of older ones.
    let backed_up = back_up(&canon_root, &work, &run_dir, &id, now, operation);
    let (mut manifest, created_dirs) = match backed_up {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&run_dir);
            return Err(Error::NotBackedUp {
                source: Box::new(e),
            });
        }
    };
    // The writes. One that fails puts back the files written before it (they were read into
    // memory above): a run changes all its files or none.
    let mut done = 0;
    let mut stop = None;
    for d in &created_dirs {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                stop = Some(Stop::Failed(d.clone(), e));
                break;
            }
        }
    }
    // With the directories made, a failure is a file's write.
    let dirs_made = stop.is_none();
    if dirs_made {
        for (c, abs, current, _) in &work {
            #[cfg(test)]
            BEFORE_WRITE.with(|hook| {
                if let Some(hook) = &*hook.borrow() {
                    hook(abs)
                }
            });
            // A file saved by another program after the check above (the backups of a large
            // run take seconds) is not overwritten: each is checked again just before it is
            // replaced, and the run stops as for a failed write. The user's save was lost
            // before, the backup holding only the older text.
            if read_opt(abs).ok().as_ref() != Some(current) {
                stop = Some(Stop::Changed(c.rel.clone()));
                break;
            }
            if let Err(e) = super::atomic_write(abs, c.new.as_bytes()) {
                stop = Some(Stop::Failed(abs.clone(), e));
                break;
            }
            done += 1;
        }
    }
    if let Some(stop) = stop {
        // The file whose write failed is put back only if it holds what was written (see
        // `roll_back`); one another program changed is never touched.
        let failed_write = dirs_made && matches!(stop, Stop::Failed(..));
        let put_back = roll_back(
            work[..done].iter().map(as_written),
            work.get(done).filter(|_| failed_write).map(as_written),
        );
        for d in created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        if put_back {
            let _ = std::fs::remove_dir_all(&run_dir);
        } else {
            // A file that cannot be put back keeps the run, for `vibe undo`, with only the
            // files it may have written: a file another program saved (and those after it)
            // holds that program's text, which `undo --force` would put the backup over.
            manifest.files.truncate(done + usize::from(failed_write));
            let _ = write_manifest(&run_dir, &manifest);
        }
        let undo = (!put_back).then_some(id);
        return Err(match stop {
            Stop::Changed(path) if undo.is_none() => Error::ChangedSincePlan { path },
            Stop::Changed(path) => Error::WriteFailed {
                path: canon_root.join(&path),
                source: std::io::Error::other("changed on disk while the run was being written"),
                written: done,
                undo,
            },
            Stop::Failed(path, source) => Error::WriteFailed {
                path,
                source,
                written: done,
                undo,
            },
        });
    }
    tracing::info!(
        "edit run {id} ({operation}): {} files written",
        manifest.files.len()
    );
    Ok(id)
}

/// Why a commit's writes stopped.
enum Stop {
    /// Another program changed this file (relative path) since the run read it.
    Changed(String),
    /// A directory or file could not be written.
    Failed(PathBuf, std::io::Error),
}

/// A test's other program, run before each file of a commit is checked and written.
#[cfg(test)]
type Hook = Box<dyn Fn(&Path)>;

#[cfg(test)]
thread_local! {
    static BEFORE_WRITE: std::cell::RefCell<Option<Hook>> = const { std::cell::RefCell::new(None) };
}

/// Held while a run is backed up and written, or undone: see [`hold_writes`].
static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn writing() -> std::sync::MutexGuard<'static, ()> {
    WRITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// For an exit on a signal (SIGTERM, SIGHUP, a second Ctrl-C): waits, at most `wait`, for the
/// run being written (or undone) in this process to be whole, and returns a guard that keeps
/// any other from starting until the exit. A SIGTERM in the middle of a 1,000-file heal left
/// 48 files written and the rest not. `None` when the wait ran out (a write stuck on a dead
/// network file system).
pub fn hold_writes(wait: std::time::Duration) -> Option<std::sync::MutexGuard<'static, ()>> {
    let start = std::time::Instant::now();
    let mut said = false;
    loop {
        match WRITING.try_lock() {
            Ok(guard) => return Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => return Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => {
                if !said {
                    crate::to_stderr!("finishing the files being written first");
                    said = true;
                }
                if start.elapsed() >= wait {
                    return None;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
}

/// A pending write as [`roll_back`] takes it: what the file held, and what the run writes.
fn as_written<'a>((c, abs, current, _): &'a Pending<'a>) -> Put<'a> {
    (abs, current.as_deref(), Some(c.new.as_bytes()))
}

/// Puts back what a failed run (a commit, an undo) wrote, each file as `(path, before, wrote)`:
/// those `written` ([`put_back_one`]: not one another program wrote since, an editor's save),
/// then `failed`, the one whose write failed, only if it
/// holds what was written (its rename may have happened before the directory's fsync failed;
/// whatever else it holds is not this run's doing). True when every file holds what it held
/// before.
fn roll_back<'a>(written: impl Iterator<Item = Put<'a>>, failed: Option<Put<'a>>) -> bool {
    let mut all = true;
    for (abs, before, wrote) in written {
        all &= put_back_one(abs, before, wrote);
    }
    if let Some((abs, before, wrote)) = failed
        && read_opt(abs).ok().flatten().as_deref() == wrote
    {
        all &= put_back_one(abs, before, wrote);
    }
    all
}

/// A file to put back: its path, what it held before (`None`: no file) and what was written.
type Put<'a> = (&'a Path, Option<&'a [u8]>, Option<&'a [u8]>);

/// Puts `before` (its bytes, or `None`: no file) back at `abs` if it holds `wrote` (the same);
/// true when `abs` holds `before` now.
fn put_back_one(abs: &Path, before: Option<&[u8]>, wrote: Option<&[u8]>) -> bool {
    let Ok(now) = read_opt(abs) else {
        return false;
    };
    if now.as_deref() == before {
        return true;
    }
    if now.as_deref() != wrote {
        return false;
    }
    match before {
        Some(bytes) => super::atomic_write(abs, bytes).is_ok(),
        None => std::fs::remove_file(abs).is_ok(),
    }
}

/// Each change with its path now, its bytes now and their metadata (if it exists).
type Pending<'a> = (
    &'a FileChange,
    PathBuf,
    Option<Vec<u8>>,
    Option<std::fs::Metadata>,
);

/// Copies the files `work` changes into `run_dir` and writes its manifest, durably; the
/// manifest and the directories the run will create.
fn back_up(
    canon_root: &Path,
    work: &[Pending],
    run_dir: &Path,
    id: &str,
    now: jiff::Timestamp,
    operation: &str,
) -> Result<(Manifest, Vec<PathBuf>), Error> {
    let mut entries = Vec::new();
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    for (c, abs, current, meta) in work {
        if let Some(bytes) = current {
            let copy = run_dir.join("files").join(&c.rel);
            if let Some(parent) = copy.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            // The copy keeps the original's mode: a private file's backup stays private.
            write_with(&copy, bytes, meta.as_ref().map(|m| m.permissions())).map_err(io(&copy))?;
        } else if let Some(parent) = abs.parent() {
            for d in missing_dirs(canon_root, parent) {
                if !created_dirs.contains(&d) {
                    created_dirs.push(d);
                }
            }
        }
        entries.push(Entry {
            path: c.rel.clone(),
            existed: current.is_some(),
            mode: meta.as_ref().and_then(mode_of),
            readonly: meta.as_ref().is_some_and(|m| m.permissions().readonly()),
            old_hash: current.as_deref().map(hash),
            new_hash: hash(c.new.as_bytes()),
        });
    }
    let manifest = Manifest {
        schema: SCHEMA.into(),
        id: id.to_string(),
        created: now.to_string(),
        created_ns: now.as_nanosecond(),
        operation: operation.into(),
        files: entries,
        created_dirs: created_dirs.iter().map(|d| rel_of(canon_root, d)).collect(),
        undone: None,
    };
    write_manifest(run_dir, &manifest)?;
    sync_dir(run_dir).map_err(io(run_dir))?;
    if let Some(backups) = run_dir.parent() {
        sync_dir(backups).map_err(io(backups))?;
    }
    Ok((manifest, created_dirs))
}

/// The runs of a repository, oldest first. A run whose manifest is damaged is listed with the
/// reason.
pub fn list_runs(root: &Path) -> Result<Vec<RunInfo>, Error> {
    let mut out = Vec::new();
    for (id, m) in read_runs(root)? {
        out.push(match m {
            Ok(m) => {
                // A run still to undo is checked as `vibe undo` would check it: its copies.
                let mut damaged = None;
                if m.undone.is_none() {
                    let run_dir = backups_dir(root).join(&id);
                    for e in &m.files {
                        if let Err(reason) = read_copy(&run_dir, e)? {
                            damaged = Some(reason);
                            break;
                        }
                    }
                }
                RunInfo {
                    id,
                    time: m.created,
                    operation: m.operation,
                    files: m.files.into_iter().map(|f| f.path).collect(),
                    undone: m.undone.is_some(),
                    damaged,
                }
            }
            Err(reason) => RunInfo {
                id,
                time: String::new(),
                operation: String::new(),
                files: Vec::new(),
                undone: false,
                damaged: Some(reason),
            },
        });
    }
    Ok(out)
}

/// A run's id and its manifest, or why the manifest cannot be read.
type RunDir = (String, Result<Manifest, String>);

/// Every run directory with its manifest (or why it cannot be read), oldest first.
fn read_runs(root: &Path) -> Result<Vec<RunDir>, Error> {
    let dir = backups_dir(root);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&dir)(e)),
    };
    let mut runs = Vec::new();
    for entry in rd {
        let entry = entry.map_err(io(&dir))?;
        if !entry.file_type().map_err(io(&dir))?.is_dir() {
            continue;
        }
        let id = entry.file_name().to_string_lossy().into_owned();
        runs.push((id.clone(), read_manifest(&entry.path(), &id)));
    }
    // The id's timestamp, then the exact time (runs within one second), then the id.
    runs.sort_by_cached_key(|(id, m)| {
        let stamp = id.split('-').next().unwrap_or_default().to_string();
        (
            stamp,
            m.as_ref().map(|m| m.created_ns).unwrap_or(0),
            id.clone(),
        )
    });
    Ok(runs)
}

fn read_manifest(dir: &Path, id: &str) -> Result<Manifest, String> {
    let path = dir.join(MANIFEST);
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "manifest.json is missing".to_string(),
        _ => format!("manifest.json cannot be read: {e}"),
    })?;
    let m: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| format!("manifest.json is not a valid manifest: {e}"))?;
    if m.schema != SCHEMA {
        return Err(format!(
            "manifest.json has schema {:?}, not {SCHEMA}",
            m.schema
        ));
    }
    if m.id != id {
        return Err(format!("manifest.json names run {:?}", m.id));
    }
    Ok(m)
}

/// Restores the files of a run (the last one not undone, or `run`) to their content before it,
/// byte for byte with their permissions; files the run created are removed. Refused, with
/// nothing restored, if a file changed since the run, unless `force`.
pub fn undo(root: &Path, run: Option<&str>, force: bool) -> Result<UndoReport, Error> {
    let _writing = writing();
    let canon_root = root.canonicalize().map_err(io(root))?;
    let runs = read_runs(&canon_root)?;
    let (id, manifest) = match run {
        Some(want) => runs
            .into_iter()
            .find(|(id, _)| id == want)
            .ok_or_else(|| Error::UnknownRun(want.into()))?,
        None => {
            // The newest run not undone; a damaged one among the newest stops here, rather than
            // restoring an older state under it.
            let any = !runs.is_empty();
            runs.into_iter()
                .rev()
                .find(|(_, m)| m.as_ref().map_or(true, |m| m.undone.is_none()))
                .ok_or_else(|| {
                    if any {
                        Error::AllUndone(canon_root.clone())
                    } else {
                        Error::NoRuns(canon_root.clone())
                    }
                })?
        }
    };
    let damaged = |reason: String| Error::Damaged {
        run: id.clone(),
        reason,
    };
    let mut manifest = manifest.map_err(damaged)?;
    if manifest.undone.is_some() {
        return Err(Error::AlreadyUndone(id));
    }
    let run_dir = backups_dir(&canon_root).join(&id);
    // Check everything before changing anything.
    let mut plan = Vec::new();
    let mut changed = Vec::new();
    for e in &manifest.files {
        // Not `resolve`: a run made before `.git`/`.vibe` paths were refused at every depth
        // (a model's edit of `sub/.git/config`) must be undone all the more.
        let (_, abs) = locate(&canon_root, &e.path).map_err(|err| match err {
            // A path that cannot be looked at (a parent without permission) is an I/O error
            // of that path, not a path moved.
            super::PathError::Io { .. } => Error::Path(err),
            _ => Error::PathMoved {
                run: id.clone(),
                reason: err.to_string(),
            },
        })?;
        let backup = read_copy(&run_dir, e)?.map_err(damaged)?;
        let now = read_opt(&abs)?;
        let current = now.as_deref().map(hash);
        // Already as the run found it (put back by hand, or by an undo that failed half-way):
        // nothing to write.
        let as_before = current == e.old_hash || (current.is_none() && !e.existed);
        let untouched_since = as_before || current.as_deref() == Some(e.new_hash.as_str());
        if !untouched_since {
            changed.push(e.path.clone());
        }
        if !as_before {
            plan.push((e, abs, backup, now));
        }
    }
    // The directories the run made, checked as its files are: a manifest (damaged, or written
    // by hand) naming `../x` or an absolute path made undo remove an empty directory outside
    // the repository.
    // Only a directory reached without a link is removed: one the user has since moved and
    // replaced by a link (`gen -> vendor/gen`) is not the run's.
    let mut dirs = Vec::new();
    for d in &manifest.created_dirs {
        match locate(&canon_root, d) {
            Ok((_, abs)) if abs == canon_root.join(d) => dirs.push(abs),
            Ok(_) => {}
            Err(err @ super::PathError::Io { .. }) => return Err(Error::Path(err)),
            // A link to the root itself leaves nothing to remove.
            Err(super::PathError::Empty(_)) => {}
            Err(err) => return Err(damaged(format!("a directory it made: {err}"))),
        }
    }
    if !changed.is_empty() && !force {
        return Err(Error::Changed {
            run: id,
            files: changed,
        });
    }
    let mut report = UndoReport {
        run: id.clone(),
        operation: manifest.operation.clone(),
        restored: Vec::new(),
        removed: Vec::new(),
        forced: changed,
    };
    // One that fails puts back the files restored before it, as they were before the undo: an
    // undo restores all its files or none (and can be tried again).
    let mut done = 0;
    let mut failed = None;
    for (e, abs, backup, _) in &plan {
        let result = match backup {
            Some(bytes) => restore(e, abs, bytes),
            None => match std::fs::remove_file(abs) {
                Ok(()) => abs
                    .parent()
                    .map_or(Ok(()), |parent| sync_dir(parent).map_err(io(parent))),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(err) => Err(io(abs)(err)),
            },
        };
        match result {
            Ok(()) if backup.is_some() => report.restored.push(e.path.clone()),
            Ok(()) => report.removed.push(e.path.clone()),
            Err(err) => {
                failed = Some(err);
                break;
            }
        }
        done += 1;
    }
    if let Some(err) = failed {
        // As for a failed commit: what the undo wrote goes back to what it held before.
        type Step<'e> = (&'e Entry, PathBuf, Option<Vec<u8>>, Option<Vec<u8>>);
        fn as_restored<'a>((_, abs, backup, before): &'a Step<'_>) -> Put<'a> {
            (abs, before.as_deref(), backup.as_deref())
        }
        let put_back = roll_back(
            plan[..done].iter().map(as_restored),
            plan.get(done).map(as_restored),
        );
        return Err(Error::UndoFailed {
            run: id,
            source: Box::new(err),
            put_back,
        });
    }
    // Directories the run created, deepest first, if they are empty now.
    for d in dirs.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
    manifest.undone = Some(jiff::Timestamp::now().to_string());
    write_manifest(&run_dir, &manifest)?;
    tracing::info!("undid run {id}");
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(root: &Path, rel: &str, new: &str) -> FileChange {
        let (rel, abs) = resolve(root, rel).unwrap_or_else(|e| panic!("{e}"));
        let old = std::fs::read_to_string(&abs).ok();
        FileChange {
            rel,
            abs,
            old,
            new: new.into(),
        }
    }

    fn fail_writes_to(path: Option<PathBuf>) {
        super::super::atomic::FAIL_WRITES_TO.with(|f| *f.borrow_mut() = path.map(|p| (p, false)));
    }

    fn read(p: &Path) -> Option<String> {
        std::fs::read_to_string(p).ok()
    }

    /// A write that fails puts back the files written before it, removes the files and
    /// directories the run made and the run itself: all or nothing.
    #[test]
    fn a_failed_write_changes_nothing() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = t.path();
        std::fs::write(r.join("a.txt"), "a old\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(r.join("b.txt"), "b old\n").unwrap_or_else(|e| panic!("{e}"));
        let changes = vec![
            change(r, "a.txt", "a new\n"),
            change(r, "d/made.txt", "made\n"),
            change(r, "b.txt", "b new\n"),
        ];
        let canon = r.canonicalize().unwrap_or_else(|e| panic!("{e}"));
        fail_writes_to(Some(canon.join("b.txt")));
        let err = commit(r, &changes, "test").err();
        fail_writes_to(None);
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("b.txt: injected failure; nothing was changed (the 2 file(s) written before it were put back)"),
            "{msg}"
        );
        assert_eq!(read(&r.join("a.txt")).as_deref(), Some("a old\n"));
        assert_eq!(read(&r.join("b.txt")).as_deref(), Some("b old\n"));
        assert!(!r.join("d").exists());
        assert_eq!(list_runs(r).map(|l| l.len()).ok(), Some(0));
        // A backup that cannot be made (its copy of b.txt) leaves no run behind either.
        fail_writes_to(Some(PathBuf::from("files/b.txt")));
        let err = commit(r, &changes, "test").err();
        fail_writes_to(None);
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.starts_with("cannot back up the files before writing")
                && msg.contains("nothing was changed"),
            "{msg}"
        );
        assert_eq!(read(&r.join("a.txt")).as_deref(), Some("a old\n"));
        let runs = std::fs::read_dir(canon.join(".vibe/backups"))
            .into_iter()
            .flatten()
            .count();
        assert_eq!(runs, 0);
    }

    /// A write that fails after its file changed (the directory's fsync, after the rename) is
    /// put back too; a file that holds neither what the run found nor what it wrote (another
    /// program wrote it meanwhile) is left alone, and the run kept for `vibe undo`.
    #[test]
    fn a_rollback_puts_back_only_what_the_run_wrote() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = t.path();
        std::fs::write(r.join("a.txt"), "a old\n").unwrap_or_else(|e| panic!("{e}"));
        let changes = vec![change(r, "a.txt", "a new\n")];
        let canon = r.canonicalize().unwrap_or_else(|e| panic!("{e}"));
        super::super::atomic::FAIL_WRITES_TO
            .with(|f| *f.borrow_mut() = Some((canon.join("a.txt"), true)));
        let err = commit(r, &changes, "test").err();
        fail_writes_to(None);
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("nothing was changed"), "{msg}");
        assert_eq!(read(&r.join("a.txt")).as_deref(), Some("a old\n"));
        // Someone else's text is not overwritten.
        let f = r.join("b.txt");
        std::fs::write(&f, "theirs\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(!put_back_one(&f, Some(b"old\n"), Some(b"new\n")));
        assert_eq!(read(&f).as_deref(), Some("theirs\n"));
        assert!(put_back_one(&f, Some(b"theirs\n"), Some(b"new\n")));
        std::fs::write(&f, "new\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(put_back_one(&f, None, Some(b"new\n")));
        assert!(!f.exists());
    }

    /// An undo that fails half-way puts back what it restored; run again, it skips the files
    /// already as the run found them.
    #[test]
    fn a_failed_undo_restores_nothing_and_can_be_run_again() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = t.path();
        std::fs::write(r.join("a.txt"), "a old\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(r.join("b.txt"), "b old\n").unwrap_or_else(|e| panic!("{e}"));
        let changes = vec![change(r, "a.txt", "a new\n"), change(r, "b.txt", "b new\n")];
        commit(r, &changes, "test").unwrap_or_else(|e| panic!("{e}"));
        let canon = r.canonicalize().unwrap_or_else(|e| panic!("{e}"));
        fail_writes_to(Some(canon.join("b.txt")));
        let msg = undo(r, None, false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        fail_writes_to(None);
        assert!(
            msg.contains("injected failure; nothing was restored"),
            "{msg}"
        );
        assert_eq!(read(&r.join("a.txt")).as_deref(), Some("a new\n"));
        assert_eq!(read(&r.join("b.txt")).as_deref(), Some("b new\n"));
        // b.txt put back by hand: the undo writes a.txt alone.
        std::fs::write(r.join("b.txt"), "b old\n").unwrap_or_else(|e| panic!("{e}"));
        fail_writes_to(Some(canon.join("b.txt")));
        let report = undo(r, None, false);
        fail_writes_to(None);
        let report = report.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.restored, vec!["a.txt".to_string()]);
        assert_eq!(read(&r.join("a.txt")).as_deref(), Some("a old\n"));
    }

    /// a.txt, b.txt and c.txt in `r` holding "old\n", and a change of each to "new\n".
    fn three_changes(r: &Path) -> Vec<FileChange> {
        ["a.txt", "b.txt", "c.txt"]
            .iter()
            .map(|name| {
                std::fs::write(r.join(name), "old\n").unwrap_or_else(|e| panic!("{e}"));
                change(r, name, "new\n")
            })
            .collect()
    }

    /// Changes run `id`'s manifest as `change` says: a damaged one, or an older vibe's.
    fn edit_manifest(r: &Path, id: &str, change: impl FnOnce(&mut serde_json::Value)) {
        let manifest = r.join(".vibe/backups").join(id).join("manifest.json");
        let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| panic!("{e}"));
        let mut json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        change(&mut json);
        std::fs::write(&manifest, json.to_string()).unwrap_or_else(|e| panic!("{e}"));
    }

    /// `commit` with `hook` run before each file is checked and written.
    fn commit_with(
        r: &Path,
        changes: &[FileChange],
        hook: impl Fn(&Path) + 'static,
    ) -> Result<String, Error> {
        BEFORE_WRITE.with(|h| *h.borrow_mut() = Some(Box::new(hook)));
        let result = commit(r, changes, "test");
        BEFORE_WRITE.with(|h| *h.borrow_mut() = None);
        result
    }

    #[test]
    fn commit_then_undo_round_trips() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = t.path();
        std::fs::write(r.join("a.txt"), "old\r\n").unwrap_or_else(|e| panic!("{e}"));
        let changes = vec![
            change(r, "a.txt", "new\r\n"),
            change(r, "d/e/new.txt", "made\n"),
        ];
        let id = commit(r, &changes, "test").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            std::fs::read_to_string(r.join("d/e/new.txt"))
                .ok()
                .as_deref(),
            Some("made\n")
        );
        let runs = list_runs(r).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].id, id);
        assert_eq!(runs[0].files, ["a.txt", "d/e/new.txt"]);
        let rep = undo(r, None, false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rep.restored, ["a.txt"]);
        assert_eq!(rep.removed, ["d/e/new.txt"]);
        assert_eq!(
            std::fs::read(r.join("a.txt")).ok().as_deref(),
            Some(&b"old\r\n"[..])
        );
        assert!(!r.join("d").exists());
        assert!(matches!(undo(r, None, false), Err(Error::AllUndone(_))));
        assert!(matches!(
            undo(r, Some(&id), false),
            Err(Error::AlreadyUndone(_))
        ));
    }

    /// A manifest naming a directory outside the root (damaged, or written by hand) is damage:
    /// undo removed such a directory when it was empty.
    #[test]
    fn undo_removes_no_directory_outside_the_root() {
        let outer = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = outer.path().join("repo");
        let outside = outer.path().join("outside_empty");
        for d in [&r, &outside] {
            std::fs::create_dir(d).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(r.join("a.txt"), "old\n").unwrap_or_else(|e| panic!("{e}"));
        let id =
            commit(&r, &[change(&r, "a.txt", "new\n")], "test").unwrap_or_else(|e| panic!("{e}"));
        for dir in ["../outside_empty", outside.to_str().unwrap_or_default()] {
            edit_manifest(&r, &id, |json| {
                json["created_dirs"] = serde_json::json!([dir])
            });
            let result = undo(&r, None, false);
            assert!(
                matches!(result, Err(Error::Damaged { .. })),
                "{dir}: {result:?}"
            );
            assert!(outside.is_dir(), "{dir}");
            assert_eq!(
                std::fs::read_to_string(r.join("a.txt")).unwrap_or_default(),
                "new\n"
            );
        }
    }

    /// A run of an older vibe that wrote under a nested `.git/` (paths refused only at the
    /// top then) is undone all the same; a directory it made, since replaced by a link, is
    /// not removed through the link.
    #[test]
    fn undo_restores_a_nested_git_file_and_keeps_out_of_links() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = t.path();
        std::fs::create_dir_all(r.join("sub/.git")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(r.join("d.txt"), "old\n").unwrap_or_else(|e| panic!("{e}"));
        let id =
            commit(r, &[change(r, "d.txt", "new\n")], "test").unwrap_or_else(|e| panic!("{e}"));
        // As an older vibe left it: the run wrote sub/.git/config and made gen/.
        let run = r.join(".vibe/backups").join(&id);
        std::fs::create_dir_all(run.join("files/sub/.git")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::rename(run.join("files/d.txt"), run.join("files/sub/.git/config"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::rename(r.join("d.txt"), r.join("sub/.git/config"))
            .unwrap_or_else(|e| panic!("{e}"));
        edit_manifest(r, &id, |json| {
            json["files"][0]["path"] = "sub/.git/config".into();
            json["created_dirs"] = serde_json::json!(["gen"]);
        });
        // gen/ moved away by the user and a link left in its place.
        std::fs::create_dir_all(r.join("vendor/gen")).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("vendor/gen", r.join("gen")).unwrap_or_else(|e| panic!("{e}"));
        let rep = undo(r, None, false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rep.restored, ["sub/.git/config"]);
        assert_eq!(
            std::fs::read_to_string(r.join("sub/.git/config")).unwrap_or_default(),
            "old\n"
        );
        assert!(r.join("vendor/gen").is_dir(), "removed through the link");
    }

    /// A file saved by another program during the writes, when a file written before it
    /// cannot be put back either (saved over too), leaves a run that lists only the files it
    /// wrote: `undo --force` does not put a backup over the user's save.
    #[test]
    fn a_run_kept_after_a_save_lists_only_what_it_wrote() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = t.path();
        let changes = three_changes(r);
        let result = commit_with(r, &changes, |abs: &Path| {
            if abs.ends_with("c.txt") {
                let dir = abs.parent().unwrap_or(abs);
                for name in ["a.txt", "c.txt"] {
                    std::fs::write(dir.join(name), "saved\n").unwrap_or_else(|e| panic!("{e}"));
                }
            }
        });
        assert!(
            matches!(&result, Err(Error::WriteFailed { undo: Some(_), .. })),
            "{result:?}"
        );
        let runs = list_runs(r).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].files, ["a.txt", "b.txt"]);
        // b.txt was put back already; a.txt, saved over, is restored only by --force.
        let rep = undo(r, None, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rep.restored, ["a.txt"]);
        assert_eq!(
            std::fs::read_to_string(r.join("c.txt")).unwrap_or_default(),
            "saved\n"
        );
    }

    #[test]
    fn a_file_changed_since_the_plan_stops_the_commit() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = t.path();
        std::fs::write(r.join("a.txt"), "one\n").unwrap_or_else(|e| panic!("{e}"));
        let c = change(r, "a.txt", "two\n");
        std::fs::write(r.join("a.txt"), "meanwhile\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            commit(r, &[c], "test"),
            Err(Error::ChangedSincePlan { .. })
        ));
        assert!(list_runs(r).unwrap_or_default().is_empty());
        let same = change(r, "a.txt", "meanwhile\n");
        assert!(matches!(
            commit(r, &[same], "test"),
            Err(Error::NothingToWrite)
        ));
    }

    /// A file saved by another program while the run is being written (after the check that
    /// starts it) is not overwritten: the files written before it are put back.
    #[test]
    fn a_file_saved_during_the_writes_stops_the_run() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = t.path();
        let changes = three_changes(r);
        let result = commit_with(r, &changes, |abs: &Path| {
            if abs.ends_with("c.txt") {
                std::fs::write(abs, "the user's edit\n").unwrap_or_else(|e| panic!("{e}"));
            }
        });
        assert!(
            matches!(&result, Err(Error::ChangedSincePlan { path }) if path == "c.txt"),
            "{result:?}"
        );
        let read = |name: &str| std::fs::read_to_string(r.join(name)).unwrap_or_default();
        assert_eq!(
            (read("a.txt"), read("b.txt"), read("c.txt")),
            ("old\n".into(), "old\n".into(), "the user's edit\n".into())
        );
        assert!(list_runs(r).unwrap_or_default().is_empty());
    }

    /// An exit on a signal during a run's writes waits for them: it gets the guard only once
    /// every file is written.
    #[test]
    fn a_signal_exit_waits_for_the_run_being_written() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = t.path().to_path_buf();
        let names = ["a.txt", "b.txt", "c.txt"];
        let changes = three_changes(&r);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let exit = std::sync::Arc::new(std::sync::Mutex::new(None));
        let (root, seen_by, exit_by) = (r.clone(), seen.clone(), exit.clone());
        let result = commit_with(&r, &changes, move |abs: &Path| {
            if !abs.ends_with("b.txt") {
                return;
            }
            // The signal comes as the second file is about to be written.
            let (root, seen) = (root.clone(), seen_by.clone());
            let handle = std::thread::spawn(move || {
                let held = hold_writes(std::time::Duration::from_secs(20));
                let files: Vec<String> = names
                    .iter()
                    .map(|n| std::fs::read_to_string(root.join(n)).unwrap_or_default())
                    .collect();
                *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some((held.is_some(), files));
            });
            *exit_by.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
            std::thread::sleep(std::time::Duration::from_millis(50));
        });
        assert!(result.is_ok(), "{result:?}");
        let handle = exit.lock().unwrap_or_else(|e| e.into_inner()).take();
        handle.map(|h| h.join());
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).take();
        assert_eq!(seen, Some((true, vec!["new\n".to_string(); 3])));
    }

    #[test]
    fn two_changes_of_one_file_are_refused_and_backups_keep_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = t.path();
        std::fs::write(r.join("a.txt"), "one\n").unwrap_or_else(|e| panic!("{e}"));
        let both = [change(r, "a.txt", "two\n"), change(r, "a.txt", "three\n")];
        assert!(matches!(commit(r, &both, "test"), Err(Error::Duplicate(_))));
        assert_eq!(
            std::fs::read_to_string(r.join("a.txt")).ok().as_deref(),
            Some("one\n")
        );
        std::fs::set_permissions(r.join("a.txt"), std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{e}"));
        let id =
            commit(r, &[change(r, "a.txt", "two\n")], "test").unwrap_or_else(|e| panic!("{e}"));
        let copy = r.join(".vibe/backups").join(&id).join("files/a.txt");
        let mode = std::fs::metadata(&copy)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600, "{}", copy.display());
    }

    #[test]
    fn run_ids_sort_by_time() {
        let a = new_run_id(jiff::Timestamp::from_second(1_800_000_000).unwrap_or_default());
        let b = new_run_id(jiff::Timestamp::from_second(1_800_000_001).unwrap_or_default());
        assert!(a < b, "{a} {b}");
        assert_eq!(a.len(), "20270115T080000Z-abcd".len(), "{a}");
    }
}
