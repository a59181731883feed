//! Which directories the watch registers, and keeping the registrations equal to that set.
//!
//! On Linux each directory the last index run's walk read is watched on its own (inotify,
//! non-recursive), plus where the symlinks it met lead and the root's `.git/`, `.git/info/`
//! and `.vibe/`: what the walk does not read (`node_modules/`, `target/`, a root-owned volume
//! it cannot read) costs no inotify watch and cannot stop the watch from starting. After each
//! run the registrations are brought to the new set, so a directory made, un-ignored or
//! replaced since is watched from then on. Elsewhere (FSEvents, kqueue, Windows) the root is
//! watched recursively, as those backends do it in one registration.

use std::collections::{BTreeSet, HashMap, HashSet};
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

/// A directory's identity (device and inode on Unix): the watch's root must keep it, and one
/// replaced at the same path (deleted and made again) is registered again, since the old
/// registration went with the old directory.
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

fn id_of(dir: &Path) -> Option<Id> {
    std::fs::metadata(dir)
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| id(&m))
}

/// The directories registered.
pub struct Watches {
    root: PathBuf,
    watched: HashMap<PathBuf, Id>,
    /// The inotify limit was reached (said once until the watch set fits again).
    at_limit: bool,
}

/// What [`Watches::sync`] did.
#[derive(Debug, Default)]
pub struct Synced {
    /// Directories registered by this sync (new, or replaced since).
    pub added: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

impl Watches {
    pub fn new(root: &Path) -> Watches {
        Watches {
            root: root.to_path_buf(),
            watched: HashMap::new(),
            at_limit: false,
        }
    }

    #[cfg(test)]
    fn watched(&self) -> BTreeSet<PathBuf> {
        self.watched.keys().cloned().collect()
    }

    /// Registers what `wanted` has and is not registered (or was replaced since), and ends
    /// the registrations it no longer has. A directory that cannot be watched is left out:
    /// one that went away or cannot be read (the walk warns about that) silently, the system's
    /// limit on watches with one warning. Only the root failing is an error.
    pub fn sync(
        &mut self,
        reg: &mut dyn Register,
        wanted: &BTreeSet<PathBuf>,
    ) -> Result<Synced, notify::Error> {
        let mut out = Synced::default();
        let gone: Vec<PathBuf> = self
            .watched
            .keys()
            .filter(|d| !wanted.contains(*d))
            .cloned()
            .collect();
        for d in gone {
            reg.remove(&d);
            self.watched.remove(&d);
        }
        let mut limit = None;
        for dir in wanted {
            let Some(id) = id_of(dir) else {
                // Gone since the walk: its parent's event starts the next run.
                if let Some(_old) = self.watched.remove(dir) {
                    reg.remove(dir);
                }
                continue;
            };
            if self.watched.get(dir) == Some(&id) {
                continue;
            }
            if self.watched.remove(dir).is_some() {
                reg.remove(dir);
            }
            if limit.is_some() && dir != &self.root {
                continue;
            }
            match reg.add(dir) {
                Ok(()) => {
                    self.watched.insert(dir.clone(), id);
                    out.added.push(dir.clone());
                }
                Err(e) if dir == &self.root => return Err(e),
                Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                    limit = Some(dir.clone());
                }
                Err(e) => {
                    tracing::info!("watch: not watching {}: {e}", dir.display());
                }
            }
        }
        match limit {
            Some(first) if !self.at_limit => {
                self.at_limit = true;
                let missed = wanted.len().saturating_sub(self.watched.len());
                out.warnings.push(format!(
                    "cannot watch {missed} of the {} directories vibe reads (the first: {}): the system's limit on inotify watches is reached\nchanges in them are indexed when another change starts a run; raise fs.inotify.max_user_watches (sysctl) to watch them all",
                    wanted.len(),
                    first.display()
                ));
            }
            Some(_) => {}
            None => self.at_limit = false,
        }
        Ok(out)
    }

    /// Registers `dir` at once, if it is a directory not registered (or replaced since): one
    /// of [`extras`] made between runs. Whether it did.
    pub fn add_now(&mut self, reg: &mut dyn Register, dir: &Path) -> bool {
        if !PER_DIRECTORY {
            return false;
        }
        let Some(id) = id_of(dir) else {
            return false;
        };
        if self.watched.get(dir) == Some(&id) {
            return false;
        }
        if self.watched.remove(dir).is_some() {
            reg.remove(dir);
        }
        match reg.add(dir) {
            Ok(()) => {
                self.watched.insert(dir.to_path_buf(), id);
                true
            }
            Err(e) => {
                tracing::info!("watch: not watching {}: {e}", dir.display());
                false
            }
        }
    }

    /// Ends the registrations of `path` and of the directories under it (it was deleted or
    /// moved away): the next sync registers what is there then, even a directory at the same
    /// path that the file system gave the same inode.
    pub fn forget_under(&mut self, reg: &mut dyn Register, path: &Path) {
        // A directory under it that is watched is one the walk read, and so is each directory
        // above that: if `path` is not watched, nothing under it is (but for where a link
        // leads, which the next sync checks).
        if !PER_DIRECTORY || path == self.root || !self.watched.contains_key(path) {
            return;
        }
        let under: Vec<PathBuf> = self
            .watched
            .keys()
            .filter(|d| d.starts_with(path))
            .cloned()
            .collect();
        for d in under {
            reg.remove(&d);
            self.watched.remove(&d);
        }
    }
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
/// through a symlink under the path it has), the directories along each link's chain that
/// hold its next step (or the nearest one that exists, for a link leading nowhere yet), and
/// [`extras`]; elsewhere the root alone. All inside `root` (canonical).
pub fn wanted(root: &Path, dirs: &[PathBuf], links: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    out.insert(root.to_path_buf());
    if !PER_DIRECTORY {
        return out;
    }
    let link_set: HashSet<&Path> = links.iter().map(PathBuf::as_path).collect();
    for dir in dirs {
        let through_link = !link_set.is_empty()
            && dir
                .ancestors()
                .take_while(|a| a.starts_with(root) && *a != root)
                .any(|a| link_set.contains(a));
        if through_link {
            if let Ok(real) = std::fs::canonicalize(dir)
                && real.starts_with(root)
            {
                out.insert(real);
            }
        } else {
            out.insert(dir.clone());
        }
    }
    for link in links {
        for holder in link_holders(link) {
            if holder.starts_with(root) {
                out.insert(holder);
            }
        }
    }
    for extra in extras(root) {
        if std::fs::symlink_metadata(&extra).is_ok_and(|m| m.is_dir()) {
            out.insert(extra);
        }
    }
    out
}

/// The directories (canonical) that hold each step of `link`'s chain after the link itself
/// (the nearest existing one where a step does not exist yet): a change there changes what
/// the walk reads through the link.
fn link_holders(link: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut at = link.to_path_buf();
    // The kernel follows at most 40 links in a path.
    for _ in 0..40 {
        let Ok(to) = std::fs::read_link(&at) else {
            break;
        };
        let next = normalize(&at.parent().unwrap_or(Path::new("/")).join(to));
        let holder = next
            .parent()
            .and_then(|p| p.ancestors().find_map(|a| std::fs::canonicalize(a).ok()));
        out.extend(holder);
        if !std::fs::symlink_metadata(&next).is_ok_and(|m| m.file_type().is_symlink()) {
            break;
        }
        at = next;
    }
    out
}

/// `a/b/../c` → `a/c`, lexically (the kernel resolves `..` after the links before it, which
/// the canonical holder above gets right when they exist).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
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

    /// Registrations that fail as told: a directory the process cannot read, or past a
    /// number of watches (the inotify limit).
    #[derive(Default)]
    struct Fake {
        denied: HashSet<PathBuf>,
        limit: usize,
        live: BTreeSet<PathBuf>,
        adds: usize,
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
    fn a_directory_no_longer_read_or_replaced_is_registered_anew() {
        let (_tmp, root) = tree();
        let mut reg = Fake {
            limit: 100,
            ..Fake::default()
        };
        let mut w = Watches::new(&root);
        w.sync(&mut reg, &set(&root, &["", "src", "src/a", "src/b"]))
            .expect("sync");
        // src/b ignored now: its registration ends.
        w.sync(&mut reg, &set(&root, &["", "src", "src/a"]))
            .expect("sync");
        assert_eq!(reg.live, set(&root, &["", "src", "src/a"]));
        // src/a deleted and made again: another directory at the same path.
        std::fs::remove_dir(root.join("src/a")).expect("rmdir");
        std::fs::create_dir(root.join("src/x")).expect("mkdir");
        std::fs::create_dir(root.join("src/a")).expect("mkdir");
        let s = w
            .sync(&mut reg, &set(&root, &["", "src", "src/a"]))
            .expect("sync");
        assert_eq!(s.added, [root.join("src/a")]);
        // Forgotten (its deletion seen): registered again even with the same identity.
        w.forget_under(&mut reg, &root.join("src"));
        assert_eq!(reg.live, set(&root, &[""]));
        let s = w
            .sync(&mut reg, &set(&root, &["", "src", "src/a"]))
            .expect("sync");
        assert_eq!(s.added.len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_watched_where_they_lead() {
        let (_tmp, root) = tree();
        std::fs::create_dir_all(root.join("packages/foo/lib")).expect("mkdir");
        std::os::unix::fs::symlink("../packages/foo", root.join("node_modules/foo"))
            .expect("symlink");
        std::os::unix::fs::symlink("later/gen.py", root.join("src/dangling.py")).expect("ln");
        std::os::unix::fs::symlink("../vol/hop.py", root.join("src/chain.py")).expect("ln");
        std::os::unix::fs::symlink("../node_modules/x/real.py", root.join("vol/hop.py"))
            .expect("ln");
        let dirs: Vec<PathBuf> = ["", "src", "node_modules/foo", "node_modules/foo/lib"]
            .iter()
            .map(|d| root.join(d))
            .collect();
        let links: Vec<PathBuf> = ["node_modules/foo", "src/dangling.py", "src/chain.py"]
            .iter()
            .map(|d| root.join(d))
            .collect();
        let got = wanted(&root, &dirs, &links);
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
                    // The linked directory under its own path, and where the link points.
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
