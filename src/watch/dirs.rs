//! Which directories the watch registers, and keeping the registrations equal to that set.
//!
//! On Linux each directory the last index run's walk read is watched on its own (inotify,
//! non-recursive), plus every directory on the way when a symlink the walk met (or an ignore
//! file that is one) is resolved, a nested repository's `.git/` and `.git/info/` (its
//! `exclude` is read by the walk), and the root's `.git/`, `.git/info/` and `.vibe/`: what the
//! walk does not read (`node_modules/`, `target/`, a root-owned volume it cannot read) costs
//! no inotify watch and cannot stop the watch from starting. After each run the registrations
//! are brought to the new set, so a directory made or un-ignored since is watched from then
//! on. A directory deleted or moved away (its own event says so) is forgotten and registered
//! again by the next sync. After lost events (an overflow of the kernel's queue) the next sync
//! registers every directory again (one deleted and made again at the same path may have the
//! same inode number, so identities cannot tell), and ends the registrations of those no
//! longer there (a directory moved away keeps its watch under the old path until then) and of
//! those the walk no longer reads. Elsewhere (macOS FSEvents, Windows, the BSDs) the root is
//! registered recursively, in one call, as before.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use notify::{RecursiveMode, Watcher};

/// Whether each directory is watched on its own (see the module's doc).
pub const PER_DIRECTORY: bool = cfg!(target_os = "linux");

/// How the watch registers a directory; a trait so that tests can fail registrations.
pub trait Register {
    fn add(&mut self, dir: &Path) -> notify::Result<()>;
    /// Ends a registration; one the backend already dropped (its directory was deleted) is
    /// no error.
    fn remove(&mut self, dir: &Path);
}

impl<W: Watcher> Register for W {
    fn add(&mut self, dir: &Path) -> notify::Result<()> {
        let mode = if PER_DIRECTORY {
            RecursiveMode::NonRecursive
        } else {
            RecursiveMode::Recursive
        };
        self.watch(dir, mode)
    }

    fn remove(&mut self, dir: &Path) {
        let _ = self.unwatch(dir);
    }
}

/// A directory's identity (device and inode on Unix): the watch's root must keep it.
pub type Id = (u64, u64);

pub fn id(meta: &std::fs::Metadata) -> Id {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

/// The directories registered.
pub struct Watches {
    root: PathBuf,
    /// Sorted, so that what lies under a path is one range of it; with the identity of the
    /// directory registered there (`None`: it could not be read).
    watched: BTreeMap<PathBuf, Option<Id>>,
    /// The inotify limit was reached (said once until the watch set fits again).
    at_limit: bool,
    /// Events were lost: the next sync checks every registration (see [`Watches::resync`]).
    lost: bool,
    /// What the last [`wanted`] found in each directory.
    pub seen: Seen,
}

/// What [`Watches::sync`] did.
#[derive(Debug, Default)]
pub struct Synced {
    /// Directories registered by this sync.
    pub added: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

impl Watches {
    pub fn new(root: &Path) -> Watches {
        Watches {
            root: root.to_path_buf(),
            watched: BTreeMap::new(),
            at_limit: false,
            lost: false,
            seen: Seen::default(),
        }
    }

    #[cfg(test)]
    fn watched(&self) -> BTreeSet<PathBuf> {
        self.watched.keys().cloned().collect()
    }

    /// Registers what `wanted` has and is not registered, and ends the registrations it no
    /// longer has. A directory that cannot be watched is left out: one that went away or
    /// cannot be read (the walk warns about that) silently, the system's limit on watches with
    /// one warning. Only the root failing is an error.
    pub fn sync(
        &mut self,
        reg: &mut dyn Register,
        wanted: &BTreeSet<PathBuf>,
    ) -> Result<Synced, notify::Error> {
        let mut out = Synced::default();
        let lost = std::mem::take(&mut self.lost);
        // After lost events, a directory that is not the one registered at its path (moved
        // away, another made there) is ended too, and registered again below.
        let gone: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|(d, at)| !wanted.contains(*d) || (lost && dir_id(d) != **at))
            .map(|(d, _)| d.clone())
            .collect();
        for d in gone {
            reg.remove(&d);
            self.watched.remove(&d);
        }
        // And every other one is registered again: one deleted and made again with the same
        // inode number lost its registration with the old directory.
        let new: Vec<&PathBuf> = wanted
            .iter()
            .filter(|d| lost || !self.watched.contains_key(*d))
            .collect();
        let mut limit = None;
        let mut added = Vec::new();
        for dir in new {
            if limit.is_some() && dir != &self.root {
                continue;
            }
            match reg.add(dir) {
                Ok(()) => added.push(dir.clone()),
                Err(e) if dir == &self.root => return Err(e),
                Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                    limit = Some(dir.clone());
                }
                Err(e) => {
                    tracing::info!("watch: not watching {}: {e}", dir.display());
                }
            }
        }
        self.watched
            .extend(added.iter().map(|d| (d.clone(), self.seen.id_of(d))));
        out.added = added;
        match limit {
            Some(first) if !self.at_limit => {
                self.at_limit = true;
                let missed = wanted.len().saturating_sub(self.watched.len());
                out.warnings.push(format!(
                    "cannot watch {missed} of the {} directories vibe watches (the first: {}): the system's limit on inotify watches is reached\nchanges in them are indexed when another change starts a run; raise fs.inotify.max_user_watches (sysctl) to watch them all",
                    wanted.len(),
                    first.display()
                ));
            }
            Some(_) => {}
            None => self.at_limit = false,
        }
        Ok(out)
    }

    /// Registers `dir` at once, if it is a directory not registered: one of [`extras`] made
    /// between runs. Whether it did.
    pub fn add_now(&mut self, reg: &mut dyn Register, dir: &Path) -> bool {
        if !PER_DIRECTORY || self.watched.contains_key(dir) || !dir.is_dir() {
            return false;
        }
        match reg.add(dir) {
            Ok(()) => {
                self.watched.insert(dir.to_path_buf(), self.seen.id_of(dir));
                true
            }
            Err(e) => {
                tracing::info!("watch: not watching {}: {e}", dir.display());
                false
            }
        }
    }

    /// Forgets the registrations of `path` and of the directories under it, deleted or moved
    /// away: the next sync registers what is there then. Those of a moved directory are ended
    /// through `reg` (they would go on reporting its events under the old paths); a deleted
    /// directory's went with it, and ending each again would cost `rm -rf` of a large tree a
    /// round trip to the watcher's thread per directory.
    pub fn forget_under(&mut self, mut reg: Option<&mut dyn Register>, path: &Path) {
        if !PER_DIRECTORY || path == self.root {
            return;
        }
        let under: Vec<PathBuf> = self
            .watched
            .range::<Path, _>((Bound::Included(path), Bound::Unbounded))
            .map(|(d, _)| d)
            .take_while(|d| d.starts_with(path))
            .cloned()
            .collect();
        for d in under {
            if let Some(reg) = reg.as_deref_mut() {
                reg.remove(&d);
            }
            self.watched.remove(&d);
        }
    }

    /// After lost events: the next sync registers every directory it wants again (one deleted
    /// and made again meanwhile lost its registration, whatever its inode number; registering
    /// one that did not change again changes nothing) and ends the registrations of those it
    /// no longer wants and of those another directory replaced (moved away meanwhile, the old
    /// directory would go on reporting its events under this path).
    pub fn resync(&mut self) {
        self.lost = true;
    }
}

/// The identity of the directory at `dir`, if it can be read.
fn dir_id(dir: &Path) -> Option<Id> {
    std::fs::symlink_metadata(dir).ok().map(|m| id(&m))
}

/// The root's directories that hold what the walk does not read but the watch must see:
/// `.git/info/exclude` (and the directories it is made in) and `.vibe/config.toml`.
pub fn extras(root: &Path) -> [PathBuf; 3] {
    [
        root.join(".git"),
        root.join(".git/info"),
        root.join(".vibe"),
    ]
}

/// What to watch after a run whose walk read `dirs` and met `links` (see
/// [`crate::repomap::walk::Walked`]): on Linux those directories (canonical: one reached
/// through a symlink under the path it has), the `.git/` and `.git/info/` of any of them that
/// is a repository, the directories that hold each step of each link and of each ignore file
/// in them that is a link (see [`link_holders`]) and [`extras`]; elsewhere the root alone. All
/// inside `root` (canonical). `seen` keeps what was found in each directory for the next call.
pub fn wanted(
    root: &Path,
    dirs: &[PathBuf],
    links: &[PathBuf],
    seen: &mut Seen,
) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    out.insert(root.to_path_buf());
    if !PER_DIRECTORY {
        return out;
    }
    let link_set: std::collections::HashSet<&Path> = links.iter().map(PathBuf::as_path).collect();
    let canonical: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|dir| {
            let through_link = !link_set.is_empty()
                && dir
                    .ancestors()
                    .take_while(|a| a.starts_with(root) && *a != root)
                    .any(|a| link_set.contains(a));
            if !through_link {
                return Some(dir.clone());
            }
            std::fs::canonicalize(dir)
                .ok()
                .filter(|real| real.starts_with(root))
        })
        .collect();
    let start = SystemTime::now();
    let found = seen.look_all(&canonical);
    tracing::debug!(
        "watch: {} of {} directories looked at anew",
        found.iter().filter(|f| f.at >= start).count(),
        found.len()
    );
    let mut next = HashMap::with_capacity(canonical.len());
    let mut ignore_links = Vec::new();
    for (dir, found) in canonical.into_iter().zip(found) {
        // The walk reads each directory's `.git/info/exclude` (a nested repository's too):
        // `.git/` is watched for `info/` made later (see `watch::watch_made`).
        if found.git {
            let git = dir.join(".git");
            let info = git.join("info");
            // An `exclude` that is a link is read where it leads.
            let exclude = info.join("exclude");
            if std::fs::symlink_metadata(&exclude).is_ok_and(|m| m.file_type().is_symlink()) {
                ignore_links.push(exclude);
            }
            if dir != root {
                if std::fs::symlink_metadata(&info).is_ok_and(|m| m.is_dir()) {
                    out.insert(info);
                }
                out.insert(git);
            }
        }
        ignore_links.extend(found.ignore_links.iter().cloned());
        next.insert(dir.clone(), found);
        out.insert(dir);
    }
    seen.dirs = next;
    let mut holders = Vec::new();
    // Where the ignore files that are links lead: an edit there is an ignore file's.
    seen.ignore_targets = ignore_links.iter().filter_map(|l| target_of(l)).collect();
    for link in links.iter().chain(&ignore_links) {
        link_holders(link, &mut holders);
    }
    out.extend(holders.into_iter().filter(|h| h.starts_with(root)));
    for extra in extras(root) {
        if std::fs::symlink_metadata(&extra).is_ok_and(|m| m.is_dir()) {
            out.insert(extra);
        }
    }
    out
}

/// Where the link `link` leads (canonical), or would lead once its target is made (deleted
/// and written again by an editor): the target's directory resolved, its name kept.
fn target_of(link: &Path) -> Option<PathBuf> {
    if let Ok(real) = std::fs::canonicalize(link) {
        return Some(real);
    }
    let to = link.parent()?.join(std::fs::read_link(link).ok()?);
    let name = to.file_name()?;
    Some(std::fs::canonicalize(to.parent()?).ok()?.join(name))
}

/// What [`wanted`] found in each directory: whether it holds a `.git/` directory, and which of
/// its ignore files are symlinks (read where they lead, which the walk, not listing hidden
/// names, does not report as links it met). Kept while the directory is the same one (device
/// and inode) and its change time stays (an entry made, deleted or renamed in it changes that;
/// unlike the mtime, `tar` or `touch` cannot set it back), so that a sync costs one `lstat` per
/// directory, not five.
pub struct Seen {
    dirs: HashMap<PathBuf, Found>,
    /// Where the ignore files that are links lead (canonical), as of the last [`wanted`].
    pub ignore_targets: std::collections::HashSet<PathBuf>,
    /// [`SETTLED`]; shorter in tests.
    settled: std::time::Duration,
    /// How many directories were looked at anew.
    #[cfg(test)]
    looks: std::sync::atomic::AtomicUsize,
}

impl Default for Seen {
    fn default() -> Seen {
        Seen {
            dirs: HashMap::new(),
            ignore_targets: std::collections::HashSet::new(),
            settled: SETTLED,
            #[cfg(test)]
            looks: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

#[derive(Clone)]
struct Found {
    /// The directory's identity.
    id: Option<Id>,
    /// Its change time.
    changed: Option<SystemTime>,
    /// When it was looked at: trusted only for a change time well before that (a change in
    /// the same tick of the file system's clock, after the look, would leave it as it was).
    at: SystemTime,
    git: bool,
    ignore_links: Vec<PathBuf>,
}

impl Seen {
    /// The identity of `dir`: as [`wanted`] just found it (read anew for a directory it did
    /// not look at, such as a link's holder).
    fn id_of(&self, dir: &Path) -> Option<Id> {
        match self.dirs.get(dir) {
            Some(f) => f.id,
            None => dir_id(dir),
        }
    }

    /// [`Seen::look`] at each of `dirs`, on a few threads for many (10,000 directories looked
    /// at anew, at the first sync, take 40 ms on one).
    fn look_all(&self, dirs: &[PathBuf]) -> Vec<Found> {
        let threads = if dirs.len() < 2000 {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        };
        let serial =
            |part: &[PathBuf]| -> Vec<Found> { part.iter().map(|d| self.look(d)).collect() };
        if threads == 1 {
            return serial(dirs);
        }
        std::thread::scope(|scope| {
            let parts: Vec<_> = dirs
                .chunks(dirs.len().div_ceil(threads))
                .map(|part| {
                    let spawned = std::thread::Builder::new()
                        .name("vibe-watch-look".into())
                        .spawn_scoped(scope, move || serial(part));
                    (part, spawned)
                })
                .collect();
            parts
                .into_iter()
                .flat_map(|(part, spawned)| match spawned {
                    Ok(handle) => handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    // No thread to be had (a limit on processes): here, then.
                    Err(_) => serial(part),
                })
                .collect()
        })
    }

    /// What is in `dir` now: as last found if it is the same directory and its change time is
    /// the same and was old enough then, else looked at again.
    fn look(&self, dir: &Path) -> Found {
        let meta = std::fs::symlink_metadata(dir).ok();
        let changed = meta.as_ref().and_then(changed_at);
        let id = meta.as_ref().map(id);
        if let Some(f) = self.dirs.get(dir)
            && let Some(c) = changed
            && f.changed == Some(c)
            && f.id == id
            && f.at.duration_since(c).is_ok_and(|d| d >= self.settled)
        {
            return f.clone();
        }
        #[cfg(test)]
        self.looks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let at = SystemTime::now();
        let is = |name: &str, what: fn(&std::fs::Metadata) -> bool| {
            std::fs::symlink_metadata(dir.join(name)).is_ok_and(|m| what(&m))
        };
        Found {
            id,
            changed,
            at,
            git: is(".git", std::fs::Metadata::is_dir),
            ignore_links: crate::repomap::walk::IGNORE_FILES
                .iter()
                .filter(|name| is(name, |m| m.file_type().is_symlink()))
                .map(|name| dir.join(name))
                .collect(),
        }
    }
}

/// How much older than the look a directory's change time must be for what was found in it to
/// be kept: more than a tick of any file system's clock.
const SETTLED: std::time::Duration = std::time::Duration::from_secs(2);

/// The directories that hold each step met resolving `link`: every directory on its path, on
/// the paths of the links along its target's path and of the target's target, …, and on the
/// path of what it finally leads to (up to the nearest that exists, for a link to nothing
/// yet). A change in any of them (a link retargeted, a directory above the target renamed or
/// replaced) changes what the walk reads through the link. Resolved as the kernel does,
/// component by component, so that a `..` after a link climbs from where the link leads.
fn link_holders(link: &Path, out: &mut Vec<PathBuf>) {
    // Owned components, so that a link's target can be put in front of what is left.
    let parts = |p: &Path| -> Vec<std::ffi::OsString> {
        p.components().map(|c| c.as_os_str().to_owned()).collect()
    };
    let mut todo: std::collections::VecDeque<std::ffi::OsString> = parts(link).into();
    let mut at = PathBuf::new();
    // The kernel follows at most 40 links in a path.
    let mut links_left = 40;
    while let Some(part) = todo.pop_front() {
        match Path::new(&part).components().next() {
            Some(Component::Prefix(_) | Component::RootDir) => at = PathBuf::from(&part),
            Some(Component::ParentDir) => {
                at.pop();
            }
            Some(Component::Normal(name)) => {
                out.push(at.clone());
                let next = at.join(name);
                match std::fs::symlink_metadata(&next) {
                    Ok(m) if m.file_type().is_symlink() => {
                        let Ok(to) = std::fs::read_link(&next) else {
                            return;
                        };
                        if links_left == 0 {
                            return;
                        }
                        links_left -= 1;
                        // `at` holds the link; a relative target goes on from there, an
                        // absolute one from its root.
                        for p in parts(&to).into_iter().rev() {
                            todo.push_front(p);
                        }
                    }
                    Ok(_) => at = next,
                    // Not there (yet): the nearest existing directory, held above, holds it
                    // when made.
                    Err(_) => return,
                }
            }
            Some(Component::CurDir) | None => {}
        }
    }
}

/// Whether something in `dir` (or `dir` itself) changed at or after `since`: a change made
/// between the run's walk and the directory's registration has no event, and starts a run.
/// File systems stamp times from a clock that lags the system's by up to a tick, hence the
/// margin.
pub fn changed_since(dir: &Path, since: SystemTime) -> bool {
    let since = since
        .checked_sub(std::time::Duration::from_millis(50))
        .unwrap_or(since);
    let newer = |m: &std::fs::Metadata| {
        m.modified().is_ok_and(|t| t >= since) || changed_at(m).is_some_and(|t| t >= since)
    };
    if std::fs::metadata(dir).is_ok_and(|m| newer(&m)) {
        return true;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .flatten()
        .any(|e| std::fs::symlink_metadata(e.path()).is_ok_and(|m| newer(&m)))
}

/// The inode's change time (a write, a rename, a chmod).
fn changed_at(m: &std::fs::Metadata) -> Option<SystemTime> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let secs = u64::try_from(m.ctime()).ok()?;
        let nanos = u32::try_from(m.ctime_nsec()).ok()?;
        SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Registrations that fail as told: a directory the process cannot read, or past a
    /// number of watches (the inotify limit).
    #[derive(Default)]
    struct Fake {
        denied: HashSet<PathBuf>,
        limit: usize,
        live: BTreeSet<PathBuf>,
        adds: usize,
        removed: Vec<PathBuf>,
    }

    impl Register for Fake {
        fn add(&mut self, dir: &Path) -> notify::Result<()> {
            if self.denied.contains(dir) {
                return Err(notify::Error::io(
                    std::io::ErrorKind::PermissionDenied.into(),
                ));
            }
            if self.live.len() >= self.limit {
                return Err(notify::Error::new(notify::ErrorKind::MaxFilesWatch));
            }
            self.adds += 1;
            self.live.insert(dir.to_path_buf());
            Ok(())
        }
        fn remove(&mut self, dir: &Path) {
            self.live.remove(dir);
            self.removed.push(dir.to_path_buf());
        }
    }

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(tmp.path()).expect("canonical");
        for d in ["src/a", "src/b", "vol", "node_modules/x"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        (tmp, root)
    }

    fn set(root: &Path, dirs: &[&str]) -> BTreeSet<PathBuf> {
        dirs.iter().map(|d| root.join(d)).collect()
    }

    #[test]
    fn an_unreadable_directory_is_left_out_and_the_limit_said_once() {
        let (_tmp, root) = tree();
        let mut reg = Fake {
            denied: [root.join("vol")].into(),
            limit: 100,
            ..Fake::default()
        };
        let mut w = Watches::new(&root);
        let all = set(&root, &["", "src", "src/a", "src/b", "vol"]);
        let s = w.sync(&mut reg, &all).expect("sync");
        assert_eq!(s.added.len(), 4);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(w.watched(), set(&root, &["", "src", "src/a", "src/b"]));
        // Nothing new: nothing registered again.
        let s = w.sync(&mut reg, &all).expect("sync");
        assert!(s.added.is_empty() && reg.adds == 4);

        // Past the limit: one warning naming the limit, and the root still watched.
        let mut reg = Fake {
            limit: 2,
            ..Fake::default()
        };
        let mut w = Watches::new(&root);
        let s = w.sync(&mut reg, &all).expect("sync");
        assert_eq!(s.added.len(), 2);
        assert!(w.watched().contains(&root));
        assert!(
            s.warnings.len() == 1 && s.warnings[0].contains("max_user_watches"),
            "{:?}",
            s.warnings
        );
        let s = w.sync(&mut reg, &all).expect("sync");
        assert!(s.warnings.is_empty(), "said once: {:?}", s.warnings);
        // A root that cannot be watched is the one failure.
        let mut reg = Fake {
            denied: [root.clone()].into(),
            limit: 100,
            ..Fake::default()
        };
        assert!(Watches::new(&root).sync(&mut reg, &all).is_err());
    }

    #[test]
    fn a_directory_no_longer_read_deleted_or_after_lost_events_is_registered_anew() {
        let (_tmp, root) = tree();
        let mut reg = Fake {
            limit: 100,
            ..Fake::default()
        };
        let mut w = Watches::new(&root);
        let three = set(&root, &["", "src", "src/a"]);
        w.sync(&mut reg, &set(&root, &["", "src", "src/a", "src/b"]))
            .expect("sync");
        // src/b ignored now: its registration ends.
        w.sync(&mut reg, &three).expect("sync");
        assert_eq!(reg.live, three);
        // src deleted (its event seen): it and what is under it, not src2 or src.txt.
        std::fs::create_dir(root.join("src2")).expect("mkdir");
        std::fs::create_dir(root.join("src.txt")).expect("mkdir");
        w.sync(
            &mut reg,
            &set(&root, &["", "src", "src/a", "src2", "src.txt"]),
        )
        .expect("sync");
        w.forget_under(Some(&mut reg), &root.join("src"));
        assert_eq!(w.watched(), set(&root, &["", "src2", "src.txt"]));
        let s = w.sync(&mut reg, &three).expect("sync");
        assert_eq!(s.added, [root.join("src"), root.join("src/a")]);
        // After lost events every one is registered again.
        let before = reg.adds;
        w.resync();
        let s = w.sync(&mut reg, &three).expect("sync");
        assert_eq!((s.added.len(), reg.adds - before), (3, 3));
        // Lost events hid src/a moved away and another made there, and src/b ignored (it was
        // registered before): the moved one's registration ends (it would report its events
        // under src/a), the new one is registered; src/b's ends though nothing said it went.
        w.sync(&mut reg, &set(&root, &["", "src", "src/a", "src/b"]))
            .expect("sync");
        reg.removed.clear();
        std::fs::rename(root.join("src/a"), root.join("away")).expect("mv");
        std::fs::create_dir(root.join("src/a")).expect("mkdir");
        w.resync();
        let before = reg.adds;
        let s = w.sync(&mut reg, &three).expect("sync");
        assert_eq!(reg.removed, [root.join("src/a"), root.join("src/b")]);
        assert_eq!((s.added.len(), reg.adds - before), (3, 3));
        assert_eq!(reg.live, three);
        assert_eq!(w.watched(), three);
        // Said once: the next sync checks nothing again.
        reg.removed.clear();
        let s = w.sync(&mut reg, &three).expect("sync");
        assert!(s.added.is_empty() && reg.removed.is_empty());
    }

    /// Where links lead, through links in the middle of a path and `..` after a link to a
    /// directory, resolved from where each link really is.
    #[cfg(unix)]
    #[test]
    fn each_step_of_a_link_is_held() {
        let (_tmp, root) = tree();
        let ln = |to: &str, at: &str| std::os::unix::fs::symlink(to, root.join(at)).expect("ln");
        for d in ["vendor/lib", "vendor/other", "ign", "out"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::write(root.join("out/gen.py"), "G = 1\n").expect("write");
        // src/x.py -> ../ign/l2/x.py, where ign/l2 -> ../vendor/lib.
        ln("../vendor/lib", "ign/l2");
        ln("../ign/l2/x.py", "src/x.py");
        // lib -> vendor/lib, and vendor/lib/gen.py -> ../../out/gen.py: read as lib/gen.py,
        // its `..`s climb from vendor/lib.
        ln("vendor/lib", "lib");
        ln("../../out/gen.py", "vendor/lib/gen.py");
        // Every directory a step is looked up in (those above the root are not watched).
        let held = |link: &str| -> BTreeSet<PathBuf> {
            let mut got = Vec::new();
            link_holders(&root.join(link), &mut got);
            got.into_iter().filter(|h| h.starts_with(&root)).collect()
        };
        assert_eq!(
            held("src/x.py"),
            set(&root, &["", "src", "ign", "vendor", "vendor/lib"])
        );
        assert_eq!(
            held("lib/gen.py"),
            set(&root, &["", "vendor", "vendor/lib", "out"])
        );
        // Renaming gen/a (gen/a/b/x.py's grandparent) changes what src/y.py leads to.
        std::fs::create_dir_all(root.join("gen/a/b")).expect("mkdir");
        std::fs::write(root.join("gen/a/b/x.py"), "X = 1\n").expect("write");
        ln("../gen/a/b/x.py", "src/y.py");
        assert_eq!(
            held("src/y.py"),
            set(&root, &["", "src", "gen", "gen/a", "gen/a/b"])
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_are_watched_where_they_lead() {
        let (_tmp, root) = tree();
        std::fs::create_dir_all(root.join("packages/foo/lib")).expect("mkdir");
        // A nested repository: the walk reads its .git/info/exclude.
        std::fs::create_dir_all(root.join("src/.git/info")).expect("mkdir");
        std::os::unix::fs::symlink("../packages/foo", root.join("node_modules/foo"))
            .expect("symlink");
        std::os::unix::fs::symlink("later/gen.py", root.join("src/dangling.py")).expect("ln");
        std::os::unix::fs::symlink("../vol/hop.py", root.join("src/chain.py")).expect("ln");
        std::os::unix::fs::symlink("../node_modules/x/real.py", root.join("vol/hop.py"))
            .expect("ln");
        // An ignore file that is a link, to a directory the walk does not read.
        std::fs::create_dir_all(root.join(".shared/ignores")).expect("mkdir");
        std::os::unix::fs::symlink(".shared/ignores/gi", root.join(".gitignore")).expect("ln");
        // And a nested repository's exclude that is one.
        std::fs::create_dir_all(root.join("excl")).expect("mkdir");
        std::os::unix::fs::symlink("../../../excl/ex", root.join("src/.git/info/exclude"))
            .expect("ln");
        let dirs: Vec<PathBuf> = ["", "src", "node_modules/foo", "node_modules/foo/lib"]
            .iter()
            .map(|d| root.join(d))
            .collect();
        let links: Vec<PathBuf> = ["node_modules/foo", "src/dangling.py", "src/chain.py"]
            .iter()
            .map(|d| root.join(d))
            .collect();
        let got = wanted(&root, &dirs, &links, &mut Seen::default());
        if !PER_DIRECTORY {
            assert_eq!(got, set(&root, &[""]));
            return;
        }
        assert_eq!(
            got,
            set(
                &root,
                &[
                    "",
                    "src",
                    // A nested repository's `.git/` (for `info/` made again) and `info/`.
                    "src/.git",
                    "src/.git/info",
                    // Where the root's .gitignore and src's exclude lead.
                    ".shared",
                    ".shared/ignores",
                    "excl",
                    // The linked directory under its own path, where the link is and what
                    // holds where it points.
                    "node_modules",
                    "packages",
                    "packages/foo",
                    "packages/foo/lib",
                    // `later/` does not exist yet: its parent holds it when it is made.
                    // Each step of the chain's directory.
                    "vol",
                    "node_modules/x",
                ]
            )
        );
    }

    /// What a directory holds is looked at again when its change time moved, when another
    /// directory took its place, or when it changed too recently to trust; else it is kept.
    #[cfg(unix)]
    #[test]
    fn what_is_found_in_a_directory_is_kept_while_it_stays_the_same() {
        let (_tmp, root) = tree();
        let dir = root.join("src/a");
        let looks = |seen: &Seen| seen.looks.load(std::sync::atomic::Ordering::Relaxed);
        let look = |seen: &mut Seen| -> (bool, Vec<PathBuf>) {
            let found = seen.look(&dir);
            let got = (found.git, found.ignore_links.clone());
            seen.dirs.insert(dir.clone(), found);
            got
        };
        // Trusted at once (the change time, not the clock, decides below).
        let mut seen = Seen {
            settled: std::time::Duration::ZERO,
            ..Seen::default()
        };
        assert_eq!(look(&mut seen), (false, vec![]));
        assert_eq!(look(&mut seen), (false, vec![]));
        assert_eq!(looks(&seen), 1);
        // A link made: the change time moves, and it is found.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::os::unix::fs::symlink("../../shared", dir.join(".gitignore")).expect("ln");
        assert_eq!(look(&mut seen), (false, vec![dir.join(".gitignore")]));
        assert_eq!(looks(&seen), 2);
        // Another directory put in its place (`tar`, `rsync -a` keep mtimes; the change time
        // of the new one may even be older): looked at.
        let other = root.join("other");
        std::fs::create_dir_all(other.join(".git")).expect("mkdir");
        std::fs::remove_file(dir.join(".gitignore")).expect("rm");
        std::fs::remove_dir(&dir).expect("rmdir");
        std::fs::rename(&other, &dir).expect("mv");
        assert_eq!(look(&mut seen), (true, vec![]));
        assert_eq!(looks(&seen), 3);
        // One changed within the last [`SETTLED`] is looked at every time.
        let mut seen = Seen::default();
        look(&mut seen);
        look(&mut seen);
        assert_eq!(looks(&seen), 2);
    }

    #[test]
    fn a_change_after_the_walk_is_found() {
        let (_tmp, root) = tree();
        let before = SystemTime::now() + std::time::Duration::from_secs(1);
        assert!(!changed_since(&root.join("src"), before));
        let later = SystemTime::now() + std::time::Duration::from_millis(200);
        std::thread::sleep(std::time::Duration::from_millis(300));
        std::fs::write(root.join("src/a/new.py"), "x = 1\n").expect("write");
        assert!(changed_since(&root.join("src/a"), later));
        assert!(!changed_since(&root.join("src/b"), later));
    }
}
