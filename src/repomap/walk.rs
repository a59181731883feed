//! The parallel walk of a repository with the `ignore` crate: .gitignore, .ignore, global git
//! excludes, hidden files and `.vibeignore` are respected; symlinks are followed within the
//! repository (one that leads outside it is not: what the index holds is sent to models), so
//! loops and unreadable entries become warnings, never failures.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use ignore::{WalkBuilder, WalkState, overrides::OverrideBuilder};

/// One file found by the walk.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Relative to the root, `/`-separated.
    pub path: String,
    pub abs: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    /// A hash of the file's device, inode and change time (ctime), as git's index keeps them: a
    /// file replaced by another of the same size and mtime (`mv b.py a.py` after one checkout
    /// wrote both) has another. 0 where the system has none.
    pub stamp: i64,
}

/// See [`Entry::stamp`].
pub fn stamp(meta: &std::fs::Metadata) -> i64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mut h = blake3::Hasher::new();
        for v in [
            meta.dev() as i64,
            meta.ino() as i64,
            meta.ctime(),
            meta.ctime_nsec(),
        ] {
            h.update(&v.to_le_bytes());
        }
        let b = h.finalize();
        // Never 0, the value of rows written before stamps were kept.
        (i64::from_le_bytes(b.as_bytes()[..8].try_into().unwrap_or([0; 8])) >> 1) | 1
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// Walks `root` and returns its files sorted by path, plus warnings.
pub fn walk(root: &Path, exclude: &[String], threads: usize) -> (Vec<Entry>, Vec<String>) {
    let w = walk_linked(root, exclude, threads);
    (w.entries, w.warnings)
}

/// What a walk found (see [`walk_linked`]).
#[derive(Debug, Default)]
pub struct Walked {
    /// The files, sorted by path.
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
    /// What the walk read whatever the ignore files say: where the symlinks it followed lead
    /// (canonical, inside the root), and the files git tracks though its ignore patterns match
    /// them ([`tracked_ignored`]).
    pub linked: Vec<PathBuf>,
    /// The directories the walk read, the root first, as the walk found them (under a
    /// symlink's path when reached through one).
    pub dirs: Vec<PathBuf>,
    /// The symlinks the walk met inside the root, followed or leading nowhere, as found.
    pub links: Vec<PathBuf>,
}

/// `map.exclude` as the walk's overrides (`!pattern` each), with a warning per pattern it
/// cannot use; `None` without patterns, or when none can be used.
fn exclude_overrides(
    root: &Path,
    exclude: &[String],
    warnings: &mut Vec<String>,
) -> Option<ignore::overrides::Override> {
    if exclude.is_empty() {
        return None;
    }
    let mut ob = OverrideBuilder::new(root);
    for pat in exclude {
        if let Err(e) = ob.add(&format!("!{pat}")) {
            warnings.push(format!("config map.exclude: bad pattern `{pat}`: {e}"));
        }
    }
    match ob.build() {
        Ok(o) => Some(o),
        Err(e) => {
            warnings.push(format!("config map.exclude: {e}"));
            None
        }
    }
}

/// [`walk`], and where it went: the canonical paths the symlinks it followed lead to (inside
/// the root: a change there changes what the walk reads through the link, ignored as the place
/// itself may be, see [`Skips`]), the directories it read and the links it met (what
/// `vibe watch` watches).
pub fn walk_linked(root: &Path, exclude: &[String], threads: usize) -> Walked {
    walk_from(root, root, exclude, threads)
}

/// [`walk`] of `dir`, a directory inside the repository at `root`, with `exclude` (the
/// repository's `map.exclude`) read relative to `root`: the files of `dir` that `vibe map`
/// reads. Both paths canonical.
pub fn walk_under(
    dir: &Path,
    root: &Path,
    exclude: &[String],
    threads: usize,
) -> (Vec<Entry>, Vec<String>) {
    let w = walk_from(dir, root, exclude, threads);
    (w.entries, w.warnings)
}

/// The directory whose walk decides what a walk of `root` reads (see [`walk_from`]): the top
/// of the git repository `root` is in (the nearest directory above it holding `.git`) when
/// `root` is below that top and a walk of it reaches `root` (no ignore file between them and
/// no hidden name leaves it out); else `root` itself. So a directory of a repository is walked
/// with the repository's ignore files, and a directory the repository leaves out (a download
/// in a home directory kept in git whose `.gitignore` says `*`, an ignored build or vendor
/// directory), or a repository of its own, only with its own.
pub fn walk_base(root: &Path) -> PathBuf {
    match git_top(root) {
        Some(top) if top != root && reach(top, root, true, None) == root => top.to_path_buf(),
        _ => root.to_path_buf(),
    }
}

/// The top of the git work tree `path` is in: the nearest directory at or above it holding
/// `.git` (a directory, or a worktree's or submodule's file).
fn git_top(path: &Path) -> Option<&Path> {
    path.ancestors().find(|a| a.join(".git").exists())
}

/// Whether `real`, a canonical path, lies outside the root whose canonical path is `real_root`
/// (everything does when the root cannot be resolved).
fn outside(real_root: Option<&PathBuf>, real: &Path) -> bool {
    real_root.is_none_or(|r| !real.starts_with(r))
}

/// The deepest directory on the way from `base` down to `dir` (a directory under it) that a walk
/// of `base` reaches: `dir` itself when the walk gets there, else the last directory before the
/// first that an ignore file, `map.exclude` (`overrides`) or, with `hidden`, a hidden name
/// leaves out. The walk's own filters decide (a worktree's shared `info/exclude` too); only the
/// directories on the way are listed.
fn reach(
    base: &Path,
    dir: &Path,
    hidden: bool,
    overrides: Option<&ignore::overrides::Override>,
) -> PathBuf {
    let mut builder = WalkBuilder::new(base);
    filters(&mut builder).hidden(hidden);
    if let Some(o) = overrides {
        builder.overrides(o.clone());
    }
    let to = dir.to_path_buf();
    builder.filter_entry(move |e| to.starts_with(e.path()));
    builder
        .build()
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_dir()) && dir.starts_with(e.path()))
        .map(|e| e.into_path())
        .max_by_key(|p| p.components().count())
        .unwrap_or_else(|| base.to_path_buf())
}

/// Files whose presence makes a directory look like a project of its own (see
/// [`own_project`]); a `.gitignore` only when it says more than `*` (what tools write into
/// their own output: a virtual environment, a cache).
const PROJECT_MARKERS: &[&str] = &[
    ".gitignore",
    "README",
    "README.md",
    "README.rst",
    "README.txt",
];

/// Files that make a directory a tool's output however project-like it looks: a configured
/// CMake or autotools build directory, a cache (`CACHEDIR.TAG`), a Python virtual environment.
const OUTPUT_MARKERS: &[&str] = &[
    "CMakeCache.txt",
    "config.status",
    "CACHEDIR.TAG",
    "pyvenv.cfg",
];

/// When the walk of the repository at `top` leaves out `dir` (a directory under it; an ignore
/// file leaves it or a directory above it out, hidden names do not count), the project
/// ([`project_around`]) from `dir` up to the highest one left out that looks like one (a
/// README, a `.gitignore`, a build file: [`PROJECT_MARKERS`], [`BUILD_MARKERS`]; not a
/// tool's output, [`OUTPUT_MARKERS`]) and holds no file git tracks: a project unpacked in a
/// home directory kept in git whose `.gitignore` says `*`, or in an ignored vendor directory.
/// `None` when the walk reaches `dir`, when nothing on the way looks like a project (an
/// ignored build directory: `target/debug` is still the repository's), or when the one that
/// does holds files the repository tracks (committed, then ignored: the walk reads those, see
/// [`walk_from`]).
pub fn own_project(top: &Path, dir: &Path) -> Option<PathBuf> {
    let reached = reach(&walk_base(top), dir, false, None);
    if reached == dir {
        return None;
    }
    let project = project_around(&reached, dir)?;
    (!tracks_files(&project)).then_some(project)
}

/// Whether git tracks a file in `dir` or below it (in the repository `dir` is in).
pub fn tracks_files(dir: &Path) -> bool {
    let tracked = super::git::run_within(dir, &["ls-files", "-z"], GIT_LIST_TIMEOUT);
    matches!(tracked, Ok(Some(ref out)) if !out.is_empty())
}

/// The project `dir` is in, below `above` (not including it): the nearest directory from `dir`
/// up that looks like a project of its own ([`PROJECT_MARKERS`], [`BUILD_MARKERS`], not
/// [`OUTPUT_MARKERS`]), and then its parents as long as each has a build file of a kind the
/// one below it has (a Makefile above a Makefile, a Cargo.toml above a Cargo.toml: an
/// autotools tree whose `src/` has its own Makefile, a Cargo or npm workspace run in from a
/// member, is the whole tree; a `vendor/` with only a README above `vendor/libfoo/` is not
/// libfoo's project). `None` when nothing on the way looks like a project.
pub fn project_around(above: &Path, dir: &Path) -> Option<PathBuf> {
    let below = |a: &Path| a != above && a.starts_with(above);
    let mut project = dir
        .ancestors()
        .take_while(|a| below(a))
        .find(|a| looks_like_a_project(a))?;
    let builds = |d: &Path| -> Vec<&str> {
        BUILD_MARKERS
            .iter()
            .copied()
            .filter(|m| d.join(m).is_file())
            .collect()
    };
    let mut project_builds = builds(project);
    while let Some(parent) = project.parent().filter(|p| below(p)) {
        let parent_builds = builds(parent);
        let shared = project_builds.iter().any(|m| parent_builds.contains(m));
        if !shared || !looks_like_a_project(parent) {
            break;
        }
        (project, project_builds) = (parent, parent_builds);
    }
    Some(project.to_path_buf())
}

/// Build files, which make a directory a project as [`PROJECT_MARKERS`] do.
const BUILD_MARKERS: &[&str] = &[
    "Makefile",
    "CMakeLists.txt",
    "configure",
    "meson.build",
    "Cargo.toml",
    "package.json",
    "pyproject.toml",
    "setup.py",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
];

/// See [`PROJECT_MARKERS`] and [`OUTPUT_MARKERS`].
fn looks_like_a_project(dir: &Path) -> bool {
    let marked = |m: &&str| match *m {
        ".gitignore" => std::fs::read_to_string(dir.join(m)).is_ok_and(|text| {
            text.lines()
                .map(str::trim)
                .any(|l| !l.is_empty() && !l.starts_with('#') && l != "*")
        }),
        _ => dir.join(m).is_file(),
    };
    PROJECT_MARKERS.iter().chain(BUILD_MARKERS).any(marked)
        && !OUTPUT_MARKERS.iter().any(|m| dir.join(m).is_file())
}

/// [`walk_linked`] of `root`, with `exclude` relative to `patterns_root` (`root` or a directory
/// above it). The walk starts at [`walk_base`] of `patterns_root` and goes down only to and
/// under `root`, so the ignore files of the directories between that base and `root` count,
/// and none above the base: git reads none above a repository's top, and a tree that no
/// repository holds, or that its repository leaves out, is read with its own. A `root` below
/// `patterns_root` that the walk from the base would not reach (ignored or excluded there:
/// `vibe tokens build/`) is walked from itself, each entry judged by the ignore files from the
/// base down ([`Skips`]), as the walk would judge it there.
fn walk_from(root: &Path, patterns_root: &Path, exclude: &[String], threads: usize) -> Walked {
    // Paths as the file system has them: with `..` or a link in it, a path's text would find
    // another repository above it.
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (root, patterns_root) = (&canonical(root), &canonical(patterns_root));
    let mut warnings = Vec::new();
    let overrides = exclude_overrides(patterns_root, exclude, &mut warnings);
    let mut base = walk_base(patterns_root);
    let rules_base = base.clone();
    // Asked while the walk runs.
    let tracked = git_top(root).is_some().then(|| {
        let root = root.clone();
        std::thread::spawn(move || tracked_ignored(&root))
    });
    let mut judge = None;
    if base != *root && reach(&base, root, true, overrides.as_ref()) != *root {
        judge = Some(Mutex::new(Skips::judging(root, &base, overrides.clone())));
        base = root.clone();
    }
    let mut builder = WalkBuilder::new(&base);
    filters(&mut builder).follow_links(true).threads(threads);
    if base != *root {
        let to = root.to_path_buf();
        builder.filter_entry(move |e| to.starts_with(e.path()) || e.path().starts_with(&to));
    } else if let Some(judge) = judge {
        builder.filter_entry(move |e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            e.depth() == 0 || judge.lock().is_ok_and(|mut j| !j.skipped(e.path(), is_dir))
        });
    }
    if let Some(o) = &overrides {
        builder.overrides(o.clone());
    }
    let linked: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let dirs: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let links: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let entries = Mutex::new(Vec::new());
    let warns = Mutex::new(warnings);
    // Where the root really is, for symlinks to be judged against (None: it cannot be resolved,
    // and then no symlink is followed).
    let real_root = std::fs::canonicalize(root).ok();
    let dangling: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());
    builder.build_parallel().run(|| {
        let entries = &entries;
        let warns = &warns;
        let real_root = &real_root;
        let dangling = &dangling;
        let linked = &linked;
        let dirs = &dirs;
        let links = &links;
        Box::new(move |result| {
            match result {
                Ok(dent) => {
                    // Everything reached through a symlink passes one: a link that leads
                    // outside the repository (`notes.md -> ~/.ssh/id_rsa`, a directory of
                    // another project) is neither indexed nor descended into.
                    // (A broken link resolves nowhere and is reported below.)
                    if dent.path_is_symlink() && dent.depth() > 0 {
                        let real = std::fs::canonicalize(dent.path());
                        let outside = real
                            .as_ref()
                            .is_ok_and(|real| outside(real_root.as_ref(), real));
                        if let Ok(real) = real
                            && !outside
                            && let (Ok(mut l), Ok(mut met)) = (linked.lock(), links.lock())
                        {
                            l.push(real);
                            met.push(dent.path().to_path_buf());
                        }
                        if outside {
                            tracing::info!(
                                "{}: a symlink that leads outside the repository; not indexed",
                                dent.path().display()
                            );
                            return WalkState::Skip;
                        }
                    }
                    if dent.file_type().is_some_and(|t| t.is_dir()) || dent.depth() == 0 {
                        // Not the directories on the way down from the base.
                        if dent.path().starts_with(root)
                            && let Ok(mut d) = dirs.lock()
                        {
                            d.push(dent.path().to_path_buf());
                        }
                        return WalkState::Continue;
                    }
                    match dent.metadata() {
                        Ok(meta) if meta.is_file() => {
                            if let Some(rel) = relative(root, dent.path()) {
                                let mtime_ns = mtime_ns(&meta);
                                if let Ok(mut v) = entries.lock() {
                                    v.push(Entry {
                                        path: rel,
                                        abs: dent.path().to_path_buf(),
                                        size: meta.len(),
                                        mtime_ns,
                                        stamp: stamp(&meta),
                                    });
                                }
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            if let Ok(mut w) = warns.lock() {
                                w.push(format!("{}: {}", dent.path().display(), clean(&e)));
                            }
                        }
                    }
                }
                Err(e) => {
                    // Walking a directory of a repository from its top, the walk meets the
                    // entries of the directories on the way (a home directory's stale links):
                    // not the root's. Nor is a loop through a link that leads outside the root
                    // (`sub/up -> ..`), which a walk from the root itself never follows.
                    if let Some(at) = error_path(&e)
                        && (!at.starts_with(root)
                            || std::fs::canonicalize(at)
                                .is_ok_and(|real| outside(real_root.as_ref(), &real)))
                    {
                        tracing::info!("{}: outside the root; not indexed", at.display());
                        return WalkState::Continue;
                    }
                    // A link to nothing: a warning only if the walk would have read it (see
                    // `unfiltered`, after the walk).
                    if let Some(path) = dangling_link(&e) {
                        if let (Ok(mut d), Ok(mut met)) = (dangling.lock(), links.lock()) {
                            d.push((path.to_path_buf(), clean(&e)));
                            met.push(path.to_path_buf());
                        }
                    } else if let Ok(mut w) = warns.lock() {
                        w.push(clean(&e));
                    }
                }
            }
            WalkState::Continue
        })
    });
    let mut entries = entries.into_inner().unwrap_or_default();
    let mut linked = linked.into_inner().unwrap_or_default();
    let mut dirs = dirs.into_inner().unwrap_or_default();
    let tracked = tracked.and_then(|t| t.join().ok()).unwrap_or_default();
    if !tracked.is_empty() {
        // vibe's own rules still count: `.vibeignore`, `.ignore`, `map.exclude`, hidden names.
        let mut rules = Skips::judging(root, &rules_base, overrides.clone());
        rules.git = false;
        let have: std::collections::HashSet<String> =
            entries.iter().map(|e| e.path.clone()).collect();
        // Each directory on the way down to one of them, and whether it is a directory inside
        // the root (never a link out of it: a tracked directory replaced by one).
        let mut known: std::collections::HashMap<PathBuf, bool> = std::collections::HashMap::new();
        for rel in tracked {
            let abs = root.join(&rel);
            if have.contains(&rel) || rules.skips(&abs) {
                continue;
            }
            for dir in abs.ancestors().skip(1).take_while(|d| d.starts_with(root)) {
                if known.contains_key(dir) {
                    break;
                }
                let real = std::fs::canonicalize(dir);
                let inside =
                    dir.is_dir() && real.is_ok_and(|real| !outside(real_root.as_ref(), &real));
                known.insert(dir.to_path_buf(), inside);
            }
            // A change there or to it is never deferred, also while it is gone from the work
            // tree (`lib/x/` deleted, then checked out again).
            linked.push(abs.clone());
            let in_root = abs.parent().and_then(|d| known.get(d)) == Some(&true);
            let meta = match std::fs::symlink_metadata(&abs) {
                Ok(m) if m.is_file() && in_root => m,
                _ => continue,
            };
            entries.push(Entry {
                path: rel,
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
                stamp: stamp(&meta),
                abs,
            });
        }
        // Their directories are watched.
        dirs.extend(
            known
                .into_iter()
                .filter(|(_, inside)| *inside)
                .map(|(d, _)| d),
        );
    }
    entries.sort_by(|a, b| {
        a.path
            .cmp(&b.path)
            .then_with(|| lossy_order(&a.abs, &b.abs))
    });
    let mut warnings = warns.into_inner().unwrap_or_default();
    warnings.extend(unfiltered(
        root,
        &rules_base,
        dangling.into_inner().unwrap_or_default(),
        overrides.as_ref(),
    ));
    // One entry per path: a file reached twice is indexed once; two names that read the same
    // once their bytes that are not UTF-8 are replaced (`bad\xff.py`, `bad\xfe.py`) cannot
    // both be, and that is said.
    // Said once per pair of names (two directories: once, not once per file in them).
    let mut said = std::collections::HashSet::new();
    entries.dedup_by(|b, a| {
        let same = a.path == b.path;
        if same && a.abs != b.abs {
            // The names up to the first part in which they differ.
            let (mut x, mut y) = (PathBuf::new(), PathBuf::new());
            for (p, q) in a.abs.components().zip(b.abs.components()) {
                x.push(p);
                y.push(q);
                if p != q {
                    break;
                }
            }
            if said.insert(x.clone()) {
                warnings.push(format!(
                    "{} and {} have the same name once their bytes that are not UTF-8 are \
                     replaced; only the first one's files are indexed (rename one to UTF-8)",
                    bytes_escaped(&x),
                    bytes_escaped(&y),
                ));
            }
        }
        same
    });
    warnings.sort();
    linked.sort();
    linked.dedup();
    // The root first (shortest), then by path.
    dirs.sort();
    dirs.dedup();
    let mut links = links.into_inner().unwrap_or_default();
    links.sort();
    links.dedup();
    Walked {
        entries,
        warnings,
        linked,
        dirs,
        links,
    }
}

/// Of two paths that read the same once their bytes that are not UTF-8 are replaced, the one
/// indexed is the one `on_disk` finds again: component by component, a UTF-8 name (which is
/// the lossy name itself, found by joining) before one that is not, then by bytes. So a file
/// named `b\u{fffd}.py` in UTF-8 next to `b\x80.py` is indexed with its own text, not the
/// other's.
fn lossy_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    let key = |c: std::path::Component<'_>| {
        let name = c.as_os_str();
        (name.to_str().is_none(), name.as_encoded_bytes().to_vec())
    };
    a.components().map(key).cmp(b.components().map(key))
}

/// A path with each byte that is not UTF-8 written `\xff`, so that two such names can be told
/// apart.
#[cfg(unix)]
fn bytes_escaped(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(not(unix))]
fn bytes_escaped(path: &Path) -> String {
    path.display().to_string()
}

/// The walk's filters: hidden names, ignore files (`.gitignore`, `.ignore`, `.vibeignore`, git's
/// excludes). Not those of the directories above where the walk starts ([`walk_base`], which
/// starts it at a repository's top when it walks a directory of it).
fn filters(builder: &mut WalkBuilder) -> &mut WalkBuilder {
    builder
        .hidden(true)
        .git_ignore(true)
        .git_global(true)
        .git_exclude(true)
        .ignore(true)
        .parents(false)
        .require_git(false)
        .add_custom_ignore_filename(".vibeignore")
}

/// The warnings of the links to nothing the walk would have read. `ignore` meets such a link
/// before its filters, so an editor's lock file (`.#a.py`) or an ignored `node_modules` whose
/// target was removed would warn on every run about a file vibe would not read anyway:
/// [`Skips`] judges each link's name in its directory (which the walk read) as the walk's
/// filters would, as a file and as a directory (`node_modules/`), since a link to nothing may
/// have been one.
fn unfiltered(
    root: &Path,
    base: &Path,
    links: Vec<(PathBuf, String)>,
    overrides: Option<&ignore::overrides::Override>,
) -> Vec<String> {
    if links.is_empty() {
        return Vec::new();
    }
    let mut skips = Skips::judging(root, base, overrides.cloned());
    let mut out = Vec::new();
    for (path, warning) in links {
        if !skips.skipped(&path, false) && !skips.skipped(&path, true) {
            out.push(warning);
        } else {
            tracing::info!("{}: a hidden or ignored symlink to nothing", path.display());
        }
    }
    out
}

/// Which paths under the root the walk never reads, decided as the walk decides (the `ignore`
/// crate's order): `map.exclude` first; then the ignore files by kind, `.vibeignore`, then
/// `.ignore`, then `.gitignore`, then git's `info/exclude`, each kind's nearest directory
/// first, then the global excludes; the first that has a say decides, and a hidden name
/// (`.name`) that none re-includes is skipped. The ignore files of the directories between
/// the root and its [`walk_base`] count, as in the walk, and none above. A path is skipped
/// when it, or a directory between the root and it, is. `vibe watch` defers the index run for
/// a change there (a build writing `target/` or `node_modules/`), which would walk the whole
/// tree to find nothing.
///
/// Never skipped: what a symlink the last walk followed leads to, and what lies under it or
/// above it (the walk reads it through the link, ignored as the place itself may be). Ignore
/// files are read again after [`Skips::forget`] (an ignore file changed, a run ended) and at
/// least every [`SKIPS_FRESH`].
///
/// A judgment, not the walk itself: it sees the tree as it is when asked, not when the change
/// was made (a path deleted and made again as a directory meanwhile), takes a path that no
/// longer exists for a file (a `!dir/` re-include does not apply to it), and knows only the
/// links the last walk followed to their end (not a link to a file made since, nor the links
/// along a chain), nor ignore files that are links, or a nested repository's or a worktree's
/// `info/exclude`. So its "skipped" defers a run; it must not drop one.
pub struct Skips {
    root: PathBuf,
    /// The highest directory whose ignore files count ([`walk_base`]).
    base: PathBuf,
    /// Whether git's ignore rules count (`.gitignore`, `info/exclude`, the global excludes):
    /// not for a file git tracks ([`tracked_ignored`]).
    git: bool,
    overrides: Option<ignore::overrides::Override>,
    /// Git's global excludes file (`core.excludesFile`).
    global: ignore::gitignore::Gitignore,
    /// Per directory read so far: its `.vibeignore`, `.ignore`, `.gitignore` and
    /// `.git/info/exclude`.
    dirs: std::collections::HashMap<PathBuf, [Option<ignore::gitignore::Gitignore>; 4]>,
    linked: Vec<PathBuf>,
    read_at: std::time::Instant,
    /// Read the ignore files again when next asked.
    stale: bool,
}

/// The ignore files the walk reads in each directory besides git's `.git/info/exclude`, in
/// the order they have a say: `.vibeignore`, then `.ignore`, then `.gitignore`.
pub const IGNORE_FILES: [&str; 3] = [".vibeignore", ".ignore", ".gitignore"];

/// A directory's own ignore files, as [`Skips`] keeps them: [`IGNORE_FILES`] and
/// `.git/info/exclude`, each if it is there.
fn ignore_files_of(dir: &Path) -> [Option<ignore::gitignore::Gitignore>; 4] {
    let read = |name: &str| {
        let file = dir.join(name);
        file.is_file()
            .then(|| ignore::gitignore::Gitignore::new(file).0)
    };
    let [vibeignore, ignore, gitignore] = IGNORE_FILES.map(read);
    let exclude = dir.join(".git/info/exclude");
    let exclude = exclude.is_file().then(|| {
        let mut b = ignore::gitignore::GitignoreBuilder::new(dir);
        // A line it cannot read leaves the others, as in the walk.
        let _ = b.add(&exclude);
        b.build()
            .unwrap_or_else(|_| ignore::gitignore::Gitignore::empty())
    });
    [vibeignore, ignore, gitignore, exclude]
}

/// Git's global excludes file, its patterns relative to the current directory as the walk
/// reads them (the root when there is none).
fn global_excludes(root: &Path) -> ignore::gitignore::Gitignore {
    let base = std::env::current_dir().unwrap_or_else(|_| root.to_path_buf());
    ignore::gitignore::GitignoreBuilder::new(base)
        .build_global()
        .0
}

/// How long [`Skips`] trusts the ignore files it read (git's global excludes file, which no
/// watch sees, may change).
pub const SKIPS_FRESH: std::time::Duration = std::time::Duration::from_secs(5);

impl Skips {
    /// For `root` (canonical) and `map.exclude`.
    pub fn new(root: &Path, exclude: &[String]) -> Skips {
        let overrides = exclude_overrides(root, exclude, &mut Vec::new());
        Skips::judging(root, &walk_base(root), overrides)
    }

    /// For `root`, the ignore files of the directories from `base` (`root` or a directory
    /// above it) down, and the walk's overrides.
    fn judging(root: &Path, base: &Path, overrides: Option<ignore::overrides::Override>) -> Skips {
        Skips {
            root: root.to_path_buf(),
            base: base.to_path_buf(),
            git: true,
            overrides,
            global: global_excludes(root),
            dirs: std::collections::HashMap::new(),
            linked: Vec::new(),
            read_at: std::time::Instant::now(),
            stale: false,
        }
    }

    /// `map.exclude` changed (the configuration was loaded again).
    pub fn set_exclude(&mut self, exclude: &[String]) {
        self.overrides = exclude_overrides(&self.root, exclude, &mut Vec::new());
    }

    /// What the symlinks of the last walk lead to (see [`walk_linked`]).
    pub fn set_linked(&mut self, linked: Vec<PathBuf>) {
        self.linked = linked;
    }

    /// The root it judges paths under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the symlinks the last walk followed lead, of those `path` is at, under or above.
    pub fn links_through<'a>(&'a self, path: &'a Path) -> impl Iterator<Item = &'a Path> + 'a {
        self.linked
            .iter()
            .filter(move |l| path.starts_with(l) || l.starts_with(path))
            .map(PathBuf::as_path)
    }

    /// Reads the ignore files again when next asked.
    pub fn forget(&mut self) {
        self.stale = true;
    }

    /// Whether the walk would not read `path` (absolute, under the root), nor anything under
    /// it. `false` for the root itself and for paths outside it.
    pub fn skips(&mut self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return false;
        };
        // What the walk read through a link, or above where one leads.
        if self.links_through(path).next().is_some() {
            return false;
        }
        if self.stale || self.read_at.elapsed() > SKIPS_FRESH {
            self.dirs.clear();
            self.global = global_excludes(&self.root);
            self.read_at = std::time::Instant::now();
            self.stale = false;
        }
        let parts: Vec<_> = rel.components().collect();
        let mut at = self.root.clone();
        for (i, part) in parts.iter().enumerate() {
            at.push(part);
            // The walk follows links: a link to a directory is one. A path that no longer
            // exists is judged as a file (a pattern for directories only does not skip it).
            let is_dir = i + 1 < parts.len() || at.is_dir();
            if self.skipped(&at, is_dir) {
                return true;
            }
        }
        false
    }

    /// One entry, its directory read: as `ignore`'s `Ignore::matched` and its hidden rule.
    fn skipped(&mut self, path: &Path, is_dir: bool) -> bool {
        use ignore::Match;
        if let Some(o) = &self.overrides {
            match o.matched(path, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        // Its directory and every one above it up to the base: the walk reads theirs.
        let parent = path.parent().unwrap_or(path);
        let base = &self.base;
        let above = move || parent.ancestors().take_while(move |d| d.starts_with(base));
        for dir in above() {
            if !self.dirs.contains_key(dir) {
                self.dirs.insert(dir.to_path_buf(), ignore_files_of(dir));
            }
        }
        let dirs = &self.dirs;
        let kinds = if self.git { 4 } else { 2 };
        let by_kind = (0..kinds).flat_map(|kind| {
            above().filter_map(move |dir| dirs.get(dir).and_then(|f| f[kind].as_ref()))
        });
        let global = self.git.then_some(&self.global);
        for gi in by_kind.chain(global) {
            match gi.matched(path, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        path.file_name()
            .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
    }
}

/// How long listing the files git tracks may take (every command walks).
const GIT_LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The files git tracks under `root` that its ignore patterns match (`git ls-files --cached
/// --ignored --exclude-standard`), relative to `root`: a `.gitignore` written after they were
/// committed (`config.h`, `lib/`), or a file added with `--force`. Git keeps them in the
/// repository, and so does the walk, unless vibe's own rules leave them out. Empty when git is
/// missing, says no or takes longer than 5 s; a name that is not UTF-8 is left out.
fn tracked_ignored(root: &Path) -> Vec<String> {
    let args = [
        "ls-files",
        "--cached",
        "--ignored",
        "--exclude-standard",
        "-z",
    ];
    match super::git::run_within(root, &args, GIT_LIST_TIMEOUT) {
        Ok(Some(out)) => out
            .split('\0')
            .filter(|p| !p.is_empty() && !p.contains(char::REPLACEMENT_CHARACTER))
            .map(str::to_string)
            .collect(),
        Ok(None) => Vec::new(),
        Err(why) => {
            tracing::info!("{}: tracked files not listed: {why}", root.display());
            Vec::new()
        }
    }
}

/// The path a walk error is about: the entry it met, or the link that closes a loop.
fn error_path(e: &ignore::Error) -> Option<&Path> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::Loop { child, .. } => Some(child),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

/// The path of a symlink whose target does not exist, when that is what `e` is about.
fn dangling_link(e: &ignore::Error) -> Option<&Path> {
    match e {
        ignore::Error::WithPath { path, err } => {
            let missing = err
                .io_error()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound);
            let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            (missing && link).then_some(path.as_path())
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            dangling_link(err)
        }
        _ => None,
    }
}

fn clean(e: &ignore::Error) -> String {
    e.to_string().replace('\n', " ")
}

/// The file on disk that the index's `path` (relative to `root`) names. The index keeps paths
/// as UTF-8, with a name that is not (Latin-1 `caf\xe9.py`) written lossily (`caf\u{fffd}.py`);
/// such a component is found again by listing its directory, when exactly one entry there has
/// that lossy name. Other paths are simply joined.
pub fn on_disk(root: &Path, path: &str) -> std::path::PathBuf {
    if !path.contains(char::REPLACEMENT_CHARACTER) {
        return root.join(path);
    }
    let mut at = root.to_path_buf();
    for part in path.split('/') {
        let next = at.join(part);
        if !part.contains(char::REPLACEMENT_CHARACTER) || next.exists() {
            at = next;
            continue;
        }
        let mut matches = std::fs::read_dir(&at)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n.to_string_lossy() == part);
        match (matches.next(), matches.next()) {
            (Some(real), None) => at.push(real),
            _ => at = next,
        }
    }
    at
}

fn relative(root: &Path, p: &Path) -> Option<String> {
    let rel = p.strip_prefix(root).ok()?;
    let mut out = String::new();
    for c in rel.components() {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(&c.as_os_str().to_string_lossy());
    }
    // The index's own directory is never content.
    if out.is_empty() || out == ".vibe" || out.starts_with(".vibe/") {
        return None;
    }
    Some(out)
}

/// A file's modification time in nanoseconds since the Unix epoch (0 when unknown).
fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn lossy_names_are_found_on_disk() -> Result<(), Box<dyn std::error::Error>> {
        let t = crate::heal::tools::TempDir::new("vibe-walk-test")?;
        let root = t.path();
        let dir = root.join(OsStr::from_bytes(b"d\xe9p"));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join(OsStr::from_bytes(b"caf\xe9.py"));
        std::fs::write(&file, "x = 1\n")?;
        let rel = relative(root, &file).ok_or("no path")?;
        assert_eq!(rel, "d\u{fffd}p/caf\u{fffd}.py");
        assert_eq!(on_disk(root, &rel), file);
        assert_eq!(on_disk(root, "plain/a.py"), root.join("plain/a.py"));
        // Two names that read the same: neither is guessed.
        std::fs::write(dir.join(OsStr::from_bytes(b"caf\xe8.py")), "")?;
        assert!(!on_disk(root, &rel).exists());
        // The walk indexes what `on_disk` finds: the UTF-8 name (`b\u{fffd}.py` itself) before
        // `b\x80.py`, whose bytes sort first.
        let utf8 = root.join("b\u{fffd}.py");
        let raw = root.join(OsStr::from_bytes(b"b\x80.py"));
        assert_eq!(lossy_order(&utf8, &raw), std::cmp::Ordering::Less);
        assert_eq!(lossy_order(&raw, &utf8), std::cmp::Ordering::Greater);
        std::fs::write(&utf8, "x = 1\n")?;
        assert_eq!(on_disk(root, "b\u{fffd}.py"), utf8);
        Ok(())
    }

    /// Every file under `dir`, links not followed, `.git` left out.
    fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let (path, kind) = (e.path(), e.file_type());
            if e.file_name() == ".git" {
                continue;
            }
            match kind {
                Ok(k) if k.is_dir() => all_files(&path, out),
                Ok(_) => out.push(path),
                Err(_) => {}
            }
        }
    }

    /// What the walk of `root` leaves out of the files under it (relative paths, sorted),
    /// checked against [`Skips`]: never a file the walk reads, and every file it does not read
    /// (but what a link leads to, which it reads through the link).
    fn left_out(
        root: &Path,
        exclude: &[String],
    ) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let Walked {
            entries, linked, ..
        } = walk_linked(root, exclude, 1);
        let listed: std::collections::HashSet<PathBuf> =
            entries.iter().map(|e| root.join(&e.path)).collect();
        let mut skips = Skips::new(root, exclude);
        skips.set_linked(linked.clone());
        let mut files = Vec::new();
        all_files(root, &mut files);
        let mut skipped: Vec<String> = Vec::new();
        for f in &files {
            let rel = f.strip_prefix(root)?.to_string_lossy().into_owned();
            if skips.skips(f) {
                assert!(!listed.contains(f), "{rel} is indexed but skipped");
                skipped.push(rel);
            } else {
                assert!(
                    listed.contains(f) || linked.contains(f),
                    "{rel} is not indexed and not skipped"
                );
            }
        }
        skipped.sort();
        Ok(skipped)
    }

    /// A file git tracks in an ignored directory is read, its directory is watched, and
    /// [`Skips`] never defers a change to it; an ignored file git does not track is neither.
    #[test]
    fn files_git_tracks_are_read_and_never_skipped() -> Result<(), Box<dyn std::error::Error>> {
        let t = crate::heal::tools::TempDir::new("vibe-tracked-test")?;
        let root = std::fs::canonicalize(t.path())?;
        std::fs::create_dir_all(root.join("lib"))?;
        std::fs::write(root.join(".gitignore"), "lib/\n")?;
        std::fs::write(root.join("lib/a.py"), "A = 1\n")?;
        std::fs::write(root.join("lib/b.py"), "B = 1\n")?;
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .current_dir(&root)
                .args(args)
                .output()
        };
        git(&["init", "-q"])?;
        git(&["add", "-f", "lib/a.py"])?;
        let w = walk_linked(&root, &[], 1);
        let paths: Vec<&str> = w.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["lib/a.py"]);
        assert!(w.dirs.contains(&root.join("lib")), "{:?}", w.dirs);
        assert_eq!(left_out(&root, &[])?, [".gitignore", "lib/b.py"]);
        Ok(())
    }

    #[test]
    fn skips_what_the_walk_does_not_read() -> Result<(), Box<dyn std::error::Error>> {
        let t = crate::heal::tools::TempDir::new("vibe-skips-test")?;
        // The root's parent has ignore files too, which neither the walk nor git reads: the
        // root is a repository's top.
        let above = std::fs::canonicalize(t.path())?;
        std::fs::write(above.join(".ignore"), "!.tool/\nparentskip/\n")?;
        std::fs::write(above.join(".gitignore"), "above.py\n")?;
        let root = above.join("repo");
        let write = |rel: &str, text: &str| -> std::io::Result<()> {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap_or(&root))?;
            std::fs::write(p, text)
        };
        std::fs::create_dir_all(root.join(".git/info"))?;
        write(".git/info/exclude", "secret.py\n")?;
        write(
            ".gitignore",
            "target/\n*.log\n!keep.log\nbuild\n!.github/\n",
        )?;
        write(".ignore", "gen/\n")?;
        write("sub/.gitignore", "!build\n!gen/\n")?;
        write("sub/.vibeignore", "*.tmp\n!*.log\n")?;
        for f in [
            "main.py",
            "target/debug/a.o",
            "target/real.py",
            "run.log",
            "keep.log",
            "build/x.py",
            "sub/build/y.py",
            "sub/gen/z.py",
            "gen/w.py",
            "sub/a.tmp",
            "sub/b.log",
            "secret.py",
            "sub/secret.py",
            ".hidden/h.py",
            ".env",
            ".github/workflows/ci.py",
            "docs/d.py",
            "src/lib.py",
            ".tool/t.py",
            "parentskip/p.py",
            "above.py",
            "gen/sub/v.log",
            ".hidden/y.log",
        ] {
            write(f, "x = 1\n")?;
        }
        std::os::unix::fs::symlink("target/real.py", root.join("link.py"))?;
        let exclude = vec!["docs/".to_string()];
        assert_eq!(
            walk_linked(&root, &exclude, 1).linked,
            [root.join("target/real.py")]
        );
        assert_eq!(
            left_out(&root, &exclude)?,
            [
                ".env",
                ".gitignore",
                ".hidden/h.py",
                ".hidden/y.log",
                ".ignore",
                ".tool/t.py",
                "build/x.py",
                "docs/d.py",
                "gen/sub/v.log",
                "gen/w.py",
                "run.log",
                "secret.py",
                "sub/.gitignore",
                "sub/.vibeignore",
                "sub/a.tmp",
                "sub/gen/z.py",
                "sub/secret.py",
                "target/debug/a.o",
            ]
        );
        // A directory of the repository is walked as the repository's walk reads it: the
        // ignore files between its top and the directory count (`*.log`, `info/exclude`).
        assert_eq!(walk_base(&root.join("sub")), root);
        assert_eq!(
            left_out(&root.join("sub"), &[])?,
            [
                ".gitignore",
                ".vibeignore",
                "a.tmp",
                "gen/z.py",
                "secret.py"
            ]
        );
        // One the repository leaves out (`gen/` in its `.ignore`), or a hidden one, is a tree
        // of its own: only its own ignore files count (not the repository's `*.log`).
        for dir in ["gen", ".hidden"] {
            assert_eq!(walk_base(&root.join(dir)), root.join(dir), "{dir}");
            assert_eq!(
                left_out(&root.join(dir), &[])?,
                Vec::<String>::new(),
                "{dir}"
            );
        }
        // How far the repository's walk goes towards a directory.
        assert_eq!(reach(&root, &root.join("gen/sub"), true, None), root);
        assert_eq!(
            reach(&root, &root.join("sub/build"), true, None),
            root.join("sub/build")
        );
        assert_eq!(reach(&root, &root.join(".hidden"), true, None), root);
        assert_eq!(
            reach(&root, &root.join(".hidden"), false, None),
            root.join(".hidden")
        );
        // A project of its own in what it leaves out: one that looks like one (a README).
        assert_eq!(own_project(&root, &root.join("sub")), None);
        assert_eq!(own_project(&root, &root.join("gen/sub")), None);
        write("gen/README.md", "# gen\n")?;
        assert_eq!(
            own_project(&root, &root.join("gen/sub")),
            Some(root.join("gen"))
        );
        let mut skips = Skips::new(&root, &exclude);
        // Directories, and paths that no longer exist (a deleted file is judged as a file).
        assert!(skips.skips(&root.join("target/debug")));
        assert!(skips.skips(&root.join("target/release/new.o")));
        skips.set_linked(vec![root.join("target/real.py")]);
        // Not what a followed link leads to, nor a directory above it (moving it moves that).
        assert!(!skips.skips(&root.join("target/real.py")));
        assert!(!skips.skips(&root.join("target")));
        assert!(!skips.skips(&root.join("gone.py")));
        assert!(!skips.skips(&root));
        assert!(!skips.skips(Path::new("/elsewhere/x.py")));
        // What an ignore file says is read again after `forget`.
        assert!(skips.skips(&root.join("sub/a.tmp")));
        write("sub/.vibeignore", "\n")?;
        assert!(skips.skips(&root.join("sub/a.tmp")));
        skips.forget();
        assert!(!skips.skips(&root.join("sub/a.tmp")));
        Ok(())
    }
}
