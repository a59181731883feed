//! The live index: a notify watcher on the repository, debounced, bringing the index up to date
//! after each burst of changes.
//!
//! Each update is an ordinary incremental index run (`repomap::index`): the walk compares sizes
//! and mtimes with the index, so only the files that changed are read and parsed, and whatever
//! happened — an editor saving through a rename, a branch switch, a mass rewrite, an edit to an
//! ignore file or the config — the index ends equal to a fresh one.
//!
//! Invariants:
//! - What is indexed is the run's walk's to decide: a run walks the whole tree, whatever paths
//!   started it. Events start no run when they are under the root's `.git/` and `.vibe/`
//!   (except `.git/info/exclude` and `.vibe/config.toml`, which change what the walk indexes).
//!   Changes on paths the walk would not read (`repomap::walk::Skips`: ignored, hidden or
//!   excluded, as the ignore files and the config are now; not what a symlink the last run
//!   followed leads to) start a run only after 2 s of quiet (30 s at most), or with the next
//!   other change, so that a build writing `target/` or `node_modules/` costs a walk every 30 s
//!   and one at its end, not one a second; deferred, never dropped, since the judgment can be
//!   wrong. An ignore file's change makes the next events judged by the new rules (and starts
//!   a run).
//!   `.vibe/config.toml` is loaded again when it changes; a config that does not load is a
//!   warning and the previous one stays.
//! - At most one run is queued: events that arrive during a run are folded into the next one.
//!   A failed run keeps its paths pending and is retried with a backoff (1 s doubling to 30 s).
//! - On Linux, only the directories the last run's walk read are watched (one inotify watch
//!   each, see `dirs`), plus what holds each step of its symlinks, nested repositories'
//!   `.git/info/` and the root's `.git/`, `.git/info/` and `.vibe/`; after each run (its update
//!   out) the watches follow the walk, and after lost events every one is registered again.
//!   Elsewhere the root is watched recursively.
//! - The root stays the directory the watch started on (same device and inode): deleted, moved
//!   away or replaced, the watch ends with an error and never recreates it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant, SystemTime};

use notify::{EventKind, Watcher};
use serde::Serialize;

use crate::config::Config;
use crate::repomap::walk::Skips;

mod dirs;
use dirs::Watches;

/// Quiet time that ends a burst of events.
pub const DEBOUNCE: Duration = Duration::from_millis(100);
/// A burst that never goes quiet still runs after this long.
pub const MAX_WAIT: Duration = Duration::from_secs(1);
/// Changes the walk would not read (see [`Relevance::Unread`]) run after this much quiet…
pub const UNREAD_QUIET: Duration = Duration::from_secs(2);
/// …or this long into a burst that never goes quiet (a build).
pub const UNREAD_MAX_WAIT: Duration = Duration::from_secs(30);
/// The wait before retrying a failed run, doubled after each failure up to [`RETRY_MAX`].
pub const RETRY_FIRST: Duration = Duration::from_secs(1);
pub const RETRY_MAX: Duration = Duration::from_secs(30);
/// How often an idle watch wakes to check `stop` and the root.
const TICK: Duration = Duration::from_millis(200);
/// How many paths an update lists.
pub const LISTED_PATHS: usize = 20;

/// One update of the index.
#[derive(Debug, Clone, Serialize)]
pub struct Update {
    pub schema: &'static str,
    /// Unix time in milliseconds when the run finished.
    pub time_ms: i64,
    /// Paths the watcher reported (relative to the root, the first [`LISTED_PATHS`]).
    pub paths: Vec<String>,
    /// How many paths the watcher reported, listed or not.
    pub paths_total: usize,
    pub added: usize,
    pub changed: usize,
    pub deleted: usize,
    pub parsed: usize,
    /// From the end of the burst (the last event) to the index committed.
    pub latency_ms: f64,
    /// The index run alone.
    pub index_ms: f64,
    pub files: usize,
    /// What this run has to say that the run before it did not (a broken symlink, an
    /// unreadable file, the index kept elsewhere, a config edit that does not load).
    pub warnings: Vec<String>,
}

/// Errors starting the watcher, or that end it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot watch {path}: {source}\nhint: {}", watch_hint(source))]
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
    /// The root was deleted or moved away: its watch would see the moved tree under the old
    /// path, and an index run would recreate the old path.
    #[error(
        "{root} no longer exists: it was deleted or moved away while vibe watch ran\nhint: run vibe watch again in the repository's new place"
    )]
    RootGone { root: PathBuf },
    /// Another directory now has the root's path (the watched one moved away or was replaced).
    #[error(
        "{root} is no longer the directory vibe watch started on: it was moved away or replaced\nhint: run vibe watch again in the repository's new place"
    )]
    RootReplaced { root: PathBuf },
    /// An index run failed; its changes stay pending and it is tried again.
    #[error("the index update failed (vibe watch tries again in {} s): {source}", retry_in.as_secs())]
    Failed {
        retry_in: Duration,
        source: crate::repomap::Error,
    },
}

fn watch_hint(e: &notify::Error) -> &'static str {
    match &e.kind {
        notify::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            "make the repository's directory readable to you (vibe watch watches it and the directories the walk reads in it)"
        }
        _ => "on Linux, raise fs.inotify.max_user_watches (sysctl) for large trees",
    }
}

fn root_id(root: &Path) -> Result<dirs::Id, Error> {
    let meta = std::fs::metadata(root).map_err(|_| Error::RootGone {
        root: root.to_path_buf(),
    })?;
    if !meta.is_dir() {
        return Err(Error::RootReplaced {
            root: root.to_path_buf(),
        });
    }
    Ok(dirs::id(&meta))
}

fn check_root(root: &Path, id: dirs::Id) -> Result<(), Error> {
    if root_id(root)? == id {
        Ok(())
    } else {
        Err(Error::RootReplaced {
            root: root.to_path_buf(),
        })
    }
}

/// What a changed path means to the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relevance {
    /// Under the root's `.git/` or `.vibe/`: not content, no run.
    Ignored,
    /// A path the walk would not read, as [`Skips`] judges it (ignored, hidden, excluded): a
    /// run only once such changes have been quiet for [`UNREAD_QUIET`] (at most
    /// [`UNREAD_MAX_WAIT`]), or with the next other change. Deferred, not dropped: the judgment
    /// is made when the event is handled, on the tree and the ignore files as they are then,
    /// and cannot see every way the walk may reach a path (a link to a file that did not exist
    /// at the last run, a link to a link).
    Unread,
    /// May be indexed: a run decides.
    Content,
    /// An ignore file (`.gitignore`, `.ignore`, `.vibeignore` anywhere, `.git/info/exclude`):
    /// what the walk indexes may change.
    IgnoreFile,
    /// `.vibe/config.toml`: the configuration is loaded again.
    Config,
}

/// Sorts a changed path (absolute, as the watcher reports it) by what it means; `None` for a
/// path outside the root or the root itself. Only what is certainly no content is
/// [`Relevance::Ignored`]: the run's walk decides what is indexed, with the ignore files as
/// they are then, so a nested `.gitignore` re-including a file is honoured.
pub fn classify(root: &Path, path: &Path) -> Option<(String, Relevance)> {
    let rel = path.strip_prefix(root).ok()?;
    if rel.as_os_str().is_empty() {
        return None;
    }
    let shown = rel.to_string_lossy().replace('\\', "/");
    let first = rel.components().next()?.as_os_str();
    let relevance = if shown == ".vibe/config.toml" {
        Relevance::Config
    } else if is_git_exclude(rel) {
        // The root's, or a nested repository's (its `.git/` and `.git/info/` are watched):
        // `.git/` or `.git/info/` made, moved or deleted adds or drops it too.
        Relevance::IgnoreFile
    } else if first == ".vibe" || in_git(rel) {
        // Git's own writes in a `.git/` (`index.lock`, `HEAD`) are no content, unless a link
        // the walk followed leads there (see `judged`).
        Relevance::Ignored
    } else if rel
        .file_name()
        .is_some_and(|n| crate::repomap::walk::IGNORE_FILES.iter().any(|f| n == *f))
    {
        Relevance::IgnoreFile
    } else {
        Relevance::Content
    };
    Some((shown, relevance))
}

/// `.git/info/exclude`, or a `.git/` or `.git/info/` that holds it.
fn is_git_exclude(rel: &Path) -> bool {
    rel.ends_with(".git/info/exclude") || rel.ends_with(".git/info") || rel.ends_with(".git")
}

/// Whether `rel` is in a `.git/` directory.
fn in_git(rel: &Path) -> bool {
    rel.components().any(|c| c.as_os_str() == ".git")
}

/// Whether the event removes the index (`rm -rf .vibe`, `.vibe/index.db` deleted or moved
/// away): a run makes it again. Other events under `.vibe/` (the index's own writes) start none.
fn removes_the_index(root: &Path, ev: &notify::Event) -> bool {
    use notify::event::{ModifyKind, RemoveKind};
    matches!(
        ev.kind,
        EventKind::Remove(RemoveKind::Any | RemoveKind::File | RemoveKind::Folder)
            | EventKind::Modify(ModifyKind::Name(_))
    ) && ev.paths.iter().any(|p| {
        p.strip_prefix(root)
            .is_ok_and(|rel| rel == Path::new(".vibe") || rel == Path::new(".vibe/index.db"))
    })
}

/// A change the walk would not read (see [`Skips`]) is [`Relevance::Unread`], and so is an
/// ignore file in a directory the walk does not read (`node_modules/x/.gitignore`). Any other
/// changed ignore file makes `skips` read the ignore files again before the next change is
/// judged. A change in a `.git/` that a link the walk followed leads into (`hooks ->
/// sub/.git/hooks`), at, under or above where it leads, is content; one in a `.git/` the walk
/// only passes on its way to a link's target (`alias -> lib`, `lib/.git/index.lock`) is not.
fn judged(skips: &mut Skips, path: &Path, relevance: Relevance) -> Relevance {
    let in_skipped_dir =
        |skips: &mut Skips| !is_git_exclude(path) && path.parent().is_some_and(|d| skips.skips(d));
    match relevance {
        Relevance::Ignored
            if skips
                .links_through(path)
                .any(|l| l.strip_prefix(skips.root()).is_ok_and(in_git)) =>
        {
            Relevance::Content
        }
        Relevance::Content if skips.skips(path) => Relevance::Unread,
        Relevance::IgnoreFile if in_skipped_dir(skips) => Relevance::Unread,
        Relevance::IgnoreFile => {
            skips.forget();
            relevance
        }
        other => other,
    }
}

/// Brings the registrations to what the run `r` read (see [`dirs::wanted`]); with `since`
/// (when the run started), a directory registered now that changed since then starts a run:
/// nothing told of that change. Only the root failing to be watched is an error.
fn rewatch(
    watches: &mut Watches,
    watcher: &mut dyn dirs::Register,
    root: &Path,
    r: &crate::repomap::IndexReport,
    since: Option<SystemTime>,
    pending: &mut Pending,
) -> Result<Vec<String>, Error> {
    let t = Instant::now();
    let wanted = dirs::wanted(root, &r.dirs, &r.links, &mut watches.seen);
    let found_in = t.elapsed();
    let synced = watches
        .sync(watcher, &wanted)
        .map_err(|source| Error::Watch {
            path: root.to_path_buf(),
            source,
        })?;
    tracing::debug!(
        "watch: {} directories wanted (found in {:.1} ms), {} registered (sync {:.1} ms)",
        wanted.len(),
        found_in.as_secs_f64() * 1000.0,
        synced.added.len(),
        (t.elapsed() - found_in).as_secs_f64() * 1000.0
    );
    if let Some(since) = since
        && synced.added.iter().any(|d| dirs::changed_since(d, since))
    {
        pending.event();
    }
    Ok(synced.warnings)
}

/// The root's `.vibe/`, or a `.git/` or `.git/info/` (the root's or a nested repository's),
/// made (or replaced) between runs at `path`: watched at once (`.git/info/` too if it is
/// there already), and the file in it that the watch follows, if it is there already, counts
/// as changed.
fn watch_made(
    root: &Path,
    path: &Path,
    watches: &mut Watches,
    watcher: &mut dyn dirs::Register,
    pending: &mut Pending,
) {
    let Ok(rel) = path.strip_prefix(root) else {
        return;
    };
    let made = if rel == Path::new(".vibe") || rel.ends_with(".git/info") {
        vec![path.to_path_buf()]
    } else if rel.file_name().is_some_and(|n| n == ".git") {
        vec![path.to_path_buf(), path.join("info")]
    } else {
        return;
    };
    for dir in made {
        if watches.add_now(watcher, &dir) {
            // The one of these that the watch follows in `dir` (`classify` takes the others
            // for internals, which `pending` drops).
            for file in ["info/exclude", "exclude", "config.toml"] {
                let path = dir.join(file);
                if let Some((rel, relevance)) = classify(root, &path)
                    && path.is_file()
                {
                    pending.add(rel, relevance);
                }
            }
        }
    }
}

/// Whether the event's paths were deleted (`Some(false)`) or moved away (`Some(true)`; or may
/// have been: a rename notify could not pair).
fn gone(kind: &EventKind) -> Option<bool> {
    use notify::event::ModifyKind;
    match kind {
        EventKind::Remove(_) => Some(false),
        EventKind::Modify(ModifyKind::Name(_)) => Some(true),
        _ => None,
    }
}

fn interesting(kind: &EventKind) -> bool {
    // Opening and closing a file (notify reports them on Linux) changes nothing.
    !matches!(kind, EventKind::Access(_) | EventKind::Other)
}

/// How a watch reports to its caller.
pub struct Hooks<'a> {
    /// Checked between bursts and every 200 ms when idle: true ends the watch.
    pub stop: &'a dyn Fn() -> bool,
    /// Once the watcher is registered and the index is up to date: its file count and the
    /// warnings of that first run.
    pub on_ready: &'a mut dyn FnMut(usize, &[String]),
    /// After each run that changed the index, has new warnings or follows an edit of an ignore
    /// file or the config; or a run's error (the run is retried).
    pub on_update: &'a mut dyn FnMut(anyhow::Result<Update>),
    /// Loads the configuration again after `.vibe/config.toml` changed; `None` keeps the one
    /// the watch started with.
    pub reload: Option<&'a dyn Fn() -> anyhow::Result<Config>>,
}

/// Changes seen and not yet in the index.
#[derive(Default)]
struct Pending {
    /// Whether there is anything to run for (an overflow of the kernel's queue has no path).
    any: bool,
    /// In the order first seen; those the walk would not read after the others (see
    /// [`Pending::listed`]).
    paths: Vec<String>,
    unread_paths: Vec<String>,
    seen: std::collections::HashSet<String>,
    /// The first and last event of the burst still going on (none after a failed run).
    burst: Option<(Instant, Instant)>,
    /// The same for changes the walk would not read, when those are all there is.
    unread: Option<(Instant, Instant)>,
    /// When the last event came.
    last: Option<Instant>,
    ignore_files: bool,
    config: bool,
}

impl Pending {
    fn event(&mut self) {
        let now = Instant::now();
        self.any = true;
        self.last = Some(now);
        self.burst = Some((self.burst.map_or(now, |(first, _)| first), now));
    }

    fn add(&mut self, rel: String, relevance: Relevance) {
        match relevance {
            Relevance::Ignored => return,
            Relevance::Unread => {}
            Relevance::Content => {}
            Relevance::IgnoreFile => self.ignore_files = true,
            Relevance::Config => self.config = true,
        }
        let unread = relevance == Relevance::Unread;
        if self.seen.insert(rel.clone()) {
            let list = if unread {
                &mut self.unread_paths
            } else {
                &mut self.paths
            };
            list.push(rel);
        }
        if unread {
            let now = Instant::now();
            self.last = Some(now);
            self.unread = Some((self.unread.map_or(now, |(first, _)| first), now));
        } else {
            self.event();
        }
    }

    /// How long until a run may start: when the burst has been quiet for [`DEBOUNCE`] (or
    /// went on for [`MAX_WAIT`]) and a retry is due. `None` with nothing pending.
    /// How many paths are pending.
    fn total(&self) -> usize {
        self.paths.len() + self.unread_paths.len()
    }

    /// The first `n` paths, those the walk would not read last: a build's thousand object
    /// files do not hide the source file saved with them.
    fn listed(&self, n: usize) -> Vec<String> {
        self.paths
            .iter()
            .chain(&self.unread_paths)
            .take(n)
            .cloned()
            .collect()
    }

    /// Changes the walk would not read wait for [`UNREAD_QUIET`] (at most
    /// [`UNREAD_MAX_WAIT`]) when they are all there is.
    fn due_in(&self, retry_at: Option<Instant>) -> Option<Duration> {
        let now = Instant::now();
        let mut at = match (self.any, self.burst, self.unread) {
            (true, Some((first, last)), _) => (last + DEBOUNCE).min(first + MAX_WAIT),
            (true, None, _) => now,
            (false, _, Some((first, last))) => (last + UNREAD_QUIET).min(first + UNREAD_MAX_WAIT),
            (false, _, None) => return None,
        };
        if let Some(r) = retry_at {
            at = at.max(r);
        }
        Some(at.saturating_duration_since(now))
    }
}

/// Watches `root` (canonical): brings the index up to date with the watcher registered (on
/// Linux: a run, the directories it read registered, a second run for what changed before
/// that; elsewhere: the root registered, then a run) and calls `on_ready` (a change made before
/// that is in the index, one made after is seen by the watcher); then runs after each burst of changes and calls `on_update`, until `stop` says so,
/// the watcher fails, or the root is deleted, moved or replaced ([`Error::RootGone`],
/// [`Error::RootReplaced`]).
pub fn watch(root: &Path, config: &Config, hooks: Hooks<'_>) -> anyhow::Result<()> {
    let Hooks {
        stop,
        on_ready,
        on_update,
        reload,
    } = hooks;
    let id = root_id(root)?;
    let (tx, rx) = channel();
    // Links are not followed: every directory the walk can index through a link is inside the
    // root (links leading outside are not indexed), so it is watched under its own path. A
    // directory watched through a link too would share one inotify watch with it, reported
    // under one of the two paths, and lost with the link when the link is deleted.
    let mut watcher = notify::RecommendedWatcher::new(
        move |res| {
            let _ = tx.send(res);
        },
        notify::Config::default().with_follow_symlinks(false),
    )
    .map_err(|source| Error::Watch {
        path: root.to_path_buf(),
        source,
    })?;
    let mut watches = Watches::new(root);
    let mut pending = Pending::default();
    let mut config = config.clone();
    // Not in memory: the index a watch keeps is for other commands to read.
    let opts = crate::repomap::Options::default();
    // Registered before the first run where one registration watches the tree; on Linux, after
    // it (its walk says which directories to watch), and a second run finds what changed before
    // the registrations (a walk that finds nothing changed: 0.3 s on Node.js's tree).
    let mut ready_warnings = Vec::new();
    if !dirs::PER_DIRECTORY {
        ready_warnings.extend(rewatch(
            &mut watches,
            &mut watcher,
            root,
            &Default::default(),
            None,
            &mut pending,
        )?);
    }
    let (_, mut first) = crate::repomap::index(root, &config, &opts)?;
    check_root(root, id)?;
    if dirs::PER_DIRECTORY {
        ready_warnings.extend(rewatch(
            &mut watches,
            &mut watcher,
            root,
            &first,
            None,
            &mut pending,
        )?);
        let started = SystemTime::now();
        (_, first) = crate::repomap::index(root, &config, &opts)?;
        check_root(root, id)?;
        ready_warnings.extend(rewatch(
            &mut watches,
            &mut watcher,
            root,
            &first,
            Some(started),
            &mut pending,
        )?);
    }
    // Changes the walk would not read wait for quiet (see `Skips`, `Relevance::Unread`).
    let mut skips = Skips::new(root, &config.map.exclude);
    skips.set_linked(std::mem::take(&mut first.linked));
    let mut said: BTreeSet<String> = first.warnings.iter().cloned().collect();
    first.warnings.extend(ready_warnings);
    on_ready(first.files_seen, &first.warnings);
    // After a failed run: when to try again, and the wait after the next failure.
    let mut retry: Option<(Instant, Duration)> = None;
    while !stop() {
        check_root(root, id)?;
        let due = pending.due_in(retry.map(|(at, _)| at));
        if due != Some(Duration::ZERO) {
            match rx.recv_timeout(due.unwrap_or(TICK).min(TICK)) {
                Ok(first) => {
                    // Take what else is queued now, rather than one event per turn.
                    for res in std::iter::once(first).chain(rx.try_iter()) {
                        match res {
                            // The kernel's queue overflowed (notify says so with a rescan
                            // flag on an `Other` event): events were lost, a run finds them.
                            Ok(ev) if ev.need_rescan() => {
                                tracing::warn!("watcher: events were lost; rescanning");
                                // Directories deleted and made again meanwhile: registered
                                // anew by the run's sync, with every other one.
                                watches.resync();
                                pending.event();
                            }
                            Ok(ev) if interesting(&ev.kind) => {
                                if removes_the_index(root, &ev) {
                                    pending.event();
                                }
                                if let Some(moved) = gone(&ev.kind) {
                                    for p in &ev.paths {
                                        let reg = moved
                                            .then_some(&mut watcher as &mut dyn dirs::Register);
                                        watches.forget_under(reg, p);
                                    }
                                }
                                for p in &ev.paths {
                                    watch_made(root, p, &mut watches, &mut watcher, &mut pending);
                                    if let Some((rel, relevance)) = classify(root, p) {
                                        if watches.seen.ignore_targets.contains(p) {
                                            // Where an ignore file that is a link leads.
                                            skips.forget();
                                            pending.add(rel, Relevance::IgnoreFile);
                                        } else {
                                            pending.add(rel, judged(&mut skips, p, relevance));
                                        }
                                    }
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                // An overflow of the kernel's queue loses events: a run
                                // finds every change anyway.
                                tracing::warn!("watcher: {e}; rescanning");
                                watches.resync();
                                pending.event();
                            }
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => anyhow::bail!("the file watcher stopped"),
            }
            continue;
        }
        let mut warnings = Vec::new();
        if pending.config
            && let Some(reload) = reload
        {
            match reload() {
                Ok(c) => {
                    warnings.extend(c.warnings.iter().cloned());
                    config = c;
                    skips.set_exclude(&config.map.exclude);
                }
                Err(e) => warnings.push(format!(
                    "{}\nvibe watch keeps the previous configuration until this is fixed",
                    crate::error_chain(e.as_ref())
                )),
            }
        }
        let t = Instant::now();
        let started = SystemTime::now();
        let result = crate::repomap::index(root, &config, &opts);
        // A root that went away during the run: what the run saw is not the repository.
        check_root(root, id)?;
        match result {
            Ok((_, mut r)) => {
                let finished = Instant::now();
                tracing::info!(
                    "watch: index run for {} changed paths in {:.1} ms: {} added, {} changed, {} deleted",
                    pending.total(),
                    t.elapsed().as_secs_f64() * 1000.0,
                    r.added,
                    r.changed,
                    r.deleted
                );
                retry = None;
                // What the run read: the links it followed, the ignore files as they are now.
                skips.set_linked(std::mem::take(&mut r.linked));
                skips.forget();
                let now: BTreeSet<String> = r.warnings.iter().cloned().collect();
                warnings.extend(now.difference(&said).cloned());
                said = now;
                let done = std::mem::take(&mut pending);
                // `of_run`: the run's counts (a second update about the same run has none).
                let update = |of_run: bool, paths_total, paths, warnings| Update {
                    schema: "vibe.watch/1",
                    time_ms: crate::store::unix_ms(std::time::SystemTime::now()),
                    paths_total,
                    paths,
                    added: if of_run { r.added } else { 0 },
                    changed: if of_run { r.changed } else { 0 },
                    deleted: if of_run { r.deleted } else { 0 },
                    parsed: if of_run { r.parsed } else { 0 },
                    latency_ms: finished
                        .saturating_duration_since(done.last.unwrap_or(t))
                        .as_secs_f64()
                        * 1000.0,
                    index_ms: finished.saturating_duration_since(t).as_secs_f64() * 1000.0,
                    files: r.files_seen,
                    warnings,
                };
                // A touched file, an editor's swap file, an ignored path: nothing to say.
                if r.added + r.changed + r.deleted > 0
                    || !warnings.is_empty()
                    || done.config
                    || done.ignore_files
                {
                    on_update(Ok(update(
                        true,
                        done.total(),
                        done.listed(LISTED_PATHS),
                        std::mem::take(&mut warnings),
                    )));
                }
                // Then (the update is out) the directories it read are watched from now on;
                // what changed in a new one before its registration starts another run. What
                // that has to say (the inotify limit) is an update of its own.
                let said_now = rewatch(
                    &mut watches,
                    &mut watcher,
                    root,
                    &r,
                    Some(started),
                    &mut pending,
                )?;
                if !said_now.is_empty() {
                    on_update(Ok(update(false, 0, Vec::new(), said_now)));
                }
            }
            Err(source) => {
                // The changes stay pending, the config reload too (what it says is said with
                // the run that succeeds).
                let wait = retry.map_or(RETRY_FIRST, |(_, w)| w);
                retry = Some((Instant::now() + wait, (wait * 2).min(RETRY_MAX)));
                pending.burst = None;
                // Retried like any other change.
                pending.any = true;
                on_update(Err(Error::Failed {
                    retry_in: wait,
                    source,
                }
                .into()));
            }
        }
    }
    Ok(())
}

/// Keeps the index of `root` fresh on a background thread (for `vibe chat`) until the handle
/// is dropped.
pub struct Background {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    pub fn start(root: PathBuf, config: Config) -> Background {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            // The configuration stays the one chat started with (its -c flags are not at hand
            // here); ignore files are read afresh by each run.
            let result = watch(
                &root,
                &config,
                Hooks {
                    stop: &|| flag.load(Ordering::Relaxed),
                    on_ready: &mut |_, _| {},
                    on_update: &mut |u| match u {
                        Ok(u) => {
                            for w in &u.warnings {
                                tracing::warn!("live index: {w}");
                            }
                        }
                        Err(e) => {
                            tracing::warn!("live index: {}", crate::error_chain(e.as_ref()))
                        }
                    },
                    reload: None,
                },
            );
            if let Err(e) = result {
                tracing::warn!("live index stopped: {}", crate::error_chain(e.as_ref()));
            }
        });
        Background {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_git_and_vibe_internals_are_dropped() {
        let root = Path::new("/r");
        let c = |p: &str| classify(root, &root.join(p)).map(|(_, r)| r);
        assert_eq!(c(".git/index"), Some(Relevance::Ignored));
        assert_eq!(c(".git/info/exclude"), Some(Relevance::IgnoreFile));
        assert_eq!(c(".vibe/index.db-wal"), Some(Relevance::Ignored));
        assert_eq!(c(".vibe/config.toml"), Some(Relevance::Config));
        assert_eq!(c(".gitignore"), Some(Relevance::IgnoreFile));
        assert_eq!(c("a/b/.vibeignore"), Some(Relevance::IgnoreFile));
        assert_eq!(c("a/.ignore"), Some(Relevance::IgnoreFile));
        // A nested repository's, and the directories that hold it (made or moved away).
        assert_eq!(c("sub/.git/info/exclude"), Some(Relevance::IgnoreFile));
        assert_eq!(c("sub/.git/index.lock"), Some(Relevance::Ignored));
        assert_eq!(c("sub/.git/info"), Some(Relevance::IgnoreFile));
        assert_eq!(c("sub/.git"), Some(Relevance::IgnoreFile));
        assert_eq!(c(".git"), Some(Relevance::IgnoreFile));
        // Hidden and ignored paths are the walk's to judge (a .gitignore may re-include them).
        assert_eq!(c(".github/workflows/ci.yml"), Some(Relevance::Content));
        assert_eq!(c("sub/.vibe/x.py"), Some(Relevance::Content));
        assert_eq!(c("src/.core.py.swp"), Some(Relevance::Content));
        assert_eq!(classify(root, root), None);
        assert_eq!(classify(root, Path::new("/elsewhere/a.py")), None);
    }

    /// An unreadable root made vibe watch fail with the hint about inotify limits. (A directory
    /// in it that cannot be read is not watched: see `dirs`.)
    #[test]
    fn a_watch_error_gets_the_hint_for_its_cause() {
        let shown = |source: notify::Error| {
            Error::Watch {
                path: "/r".into(),
                source,
            }
            .to_string()
        };
        let denied = shown(
            notify::Error::io(std::io::ErrorKind::PermissionDenied.into())
                .add_path("/r/vol".into()),
        );
        assert!(
            denied.contains("/r/vol") && denied.contains("directory readable"),
            "{denied}"
        );
        assert!(!denied.contains("max_user_watches"), "{denied}");
        let limit = shown(notify::Error::new(notify::ErrorKind::MaxFilesWatch));
        assert!(limit.contains("max_user_watches"), "{limit}");
    }

    #[test]
    fn a_run_waits_for_quiet_and_for_a_retry() {
        let mut p = Pending::default();
        assert_eq!(p.due_in(None), None);
        p.add(".git/HEAD".into(), Relevance::Ignored);
        assert_eq!(p.due_in(None), None);
        p.add("a.py".into(), Relevance::Content);
        p.add("a.py".into(), Relevance::Content);
        assert_eq!(p.paths, ["a.py"]);
        assert!(
            p.due_in(None)
                .is_some_and(|d| d > Duration::ZERO && d <= DEBOUNCE)
        );
        // After a failure the paths stay and wait for the retry alone.
        p.burst = None;
        assert_eq!(p.due_in(None), Some(Duration::ZERO));
        // Changes the walk would not read wait for more quiet, unless others come.
        let mut u = Pending::default();
        u.add("target/a.o".into(), Relevance::Unread);
        assert_eq!(u.unread_paths, ["target/a.o"]);
        assert!(
            u.due_in(None)
                .is_some_and(|d| d > DEBOUNCE && d <= UNREAD_QUIET)
        );
        u.add("a.py".into(), Relevance::Content);
        assert!(u.due_in(None).is_some_and(|d| d <= DEBOUNCE));
        assert_eq!(u.listed(LISTED_PATHS), ["a.py", "target/a.o"]);
        assert_eq!(u.listed(1), ["a.py"]);
        let later = Instant::now() + Duration::from_secs(5);
        assert!(
            p.due_in(Some(later))
                .is_some_and(|d| d > Duration::from_secs(4))
        );
    }
}
