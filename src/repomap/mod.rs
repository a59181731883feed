//! The repo map: walk → detect → parse and tag (in parallel) → store → resolve imports → rank →
//! render.
//!
//! Invariant: an index run is incremental and exact. Files unchanged in size and mtime are not
//! read; changed ones are re-parsed only if their content hash changed; deleted files disappear;
//! and the result equals a from-scratch index of the same tree. Everything runs inside one
//! write transaction, so a concurrent run waits and then finds the index fresh.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::Config;
use crate::store::{self, FileRow, IndexTx, NewFile, Store};

pub mod attributes;
pub mod extract;
pub mod git;
pub mod lang;
pub mod project;
pub mod rank;
pub mod render;
pub mod resolve;
pub mod walk;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} is not a directory\nhint: pass a repository directory with -C <dir>")]
    NotADirectory(PathBuf),
    #[error("{0} does not exist\nhint: pass a repository directory with -C <dir>")]
    NotFound(PathBuf),
    /// It exists, or may, but cannot be looked at (a link in a loop, no permission).
    #[error("{0}: {1}\nhint: pass a repository directory with -C <dir>")]
    Unreachable(PathBuf, String),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("cannot start parser threads: {0}\nhint: lower map.threads or free system resources")]
    Threads(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// How an index run should behave.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Show a progress bar on stderr if indexing takes more than a second.
    pub progress: bool,
    /// When neither the tree nor the user's data directory can hold the index, keep it in
    /// memory for this process ([`Store::open_or_memory`]): for commands that need it for
    /// their run alone.
    pub memory: bool,
}

/// What an index run did, and how long each phase took.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexReport {
    pub files_seen: usize,
    pub unchanged: usize,
    /// Read and hashed, but the content was the same (only size or mtime changed).
    pub rehashed: usize,
    pub added: usize,
    pub changed: usize,
    pub deleted: usize,
    pub parsed: usize,
    pub parsed_bytes: u64,
    /// Whether resolution and ranking were recomputed.
    pub reranked: bool,
    pub warnings: Vec<String>,
    pub timings_ms: Timings,
    /// Where the symlinks the walk followed lead (canonical; see `walk::walk_linked`).
    #[serde(skip)]
    pub linked: Vec<PathBuf>,
    /// The directories the walk read and the symlinks it met (see `walk::Walked`).
    #[serde(skip)]
    pub dirs: Vec<PathBuf>,
    #[serde(skip)]
    pub links: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub open: f64,
    pub walk: f64,
    pub parse: f64,
    pub write: f64,
    pub resolve: f64,
    pub rank: f64,
    pub commit: f64,
    pub total: f64,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Checks that `root` is an existing directory and returns its canonical path.
pub fn check_root(root: &Path) -> Result<PathBuf> {
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {
            Ok(std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()))
        }
        Ok(_) => Err(Error::NotADirectory(root.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::NotFound(root.to_path_buf()))
        }
        Err(e) => Err(Error::Unreachable(root.to_path_buf(), e.to_string())),
    }
}

/// Brings the index of `root` up to date and returns the open store with a report.
/// Warnings (unreadable files, symlink loops, a rebuilt database) are in the report.
pub fn index(root: &Path, cfg: &Config, opts: &Options) -> Result<(Store, IndexReport)> {
    let start = Instant::now();
    let mut warnings = Vec::new();
    let mut store = if opts.memory {
        Store::open_or_memory(root, &mut |w| warnings.push(w))?
    } else {
        Store::open(root, &mut |w| warnings.push(w))?
    };
    let opened = start.elapsed();
    let result = run(&mut store, root, cfg, opts);
    let mut report = match result {
        Ok(r) => r,
        Err(Error::Store(e)) if e.needs_rebuild() => {
            // Corruption found mid-run: start over once from an empty index.
            store = store.rebuild(&mut |w| warnings.push(w), &e)?;
            run(&mut store, root, cfg, opts)?
        }
        Err(e) => return Err(e),
    };
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    report.timings_ms.open = ms(opened);
    report.timings_ms.total = ms(start.elapsed());
    Ok((store, report))
}

/// A file's fate in this run.
enum Outcome {
    /// Same content; only size / mtime / stamp to record.
    Touch {
        id: i64,
        size: u64,
        mtime_ns: i64,
        stamp: i64,
    },
    Write(Box<Prepared>),
}

struct Prepared {
    entry: walk::Entry,
    mtime_ns: i64,
    hash: Option<[u8; 32]>,
    language: Option<lang::Lang>,
    ftype: String,
    lines: u64,
    bytes: u64,
    skip_reason: Option<&'static str>,
    tags: Option<extract::FileTags>,
    warning: Option<String>,
}

/// When a run parses at least this many files (a first index, a branch switch) and ranks again,
/// it also counts the tokens of every line the [`PRECOUNT_TOP`] highest-ranked files can put in
/// a map, so that the incremental runs after it find the counts of a map's lines cached when
/// an edit moves ranks a little (counting on both cores here, while a small run counts on
/// one). Small runs skip it.
const PRECOUNT_FILES: usize = 64;

/// How many of the highest-ranked files have their map lines counted ahead: several times what
/// a 2,048-token map shows (15 files on the Python standard library). A larger map counts the
/// rest itself, once (counts are stored). 256 files cost a first build ~50 ms more.
const PRECOUNT_TOP: usize = 64;

/// The encoding the text map is fitted in.
pub const MAP_ENCODING: crate::context::tokens::Encoding =
    crate::context::tokens::Encoding::O200kBase;

/// A stat taken this close to now may be followed by a write in the same timestamp tick, so it
/// is not trusted: the file is stored with mtime -1 and re-hashed next time (git's "racy" rule).
const RACY_WINDOW_NS: i64 = 50_000_000;

/// The same for an mtime of whole seconds, a filesystem's whose tick is a second (ext3, ext4
/// with small inodes, many network mounts) or two (FAT): a file written at 10.05 s and indexed
/// at 10.15 s has mtime 10 s, as has a same-size rewrite at 10.5 s. Three seconds: FAT's tick
/// and a margin for the kernel's file clock, which lags the system clock by up to a tick of
/// its own. A file with such an mtime written in the last three seconds costs one more hash
/// on the next run.
const COARSE_RACY_WINDOW_NS: i64 = 3_000_000_000;

/// The mtime to store for a file stat'ed before `now`: -1 (re-hash next time) while a write
/// could still leave its stat as it is.
fn trusted_mtime(mtime_ns: i64, now: i64) -> i64 {
    let window = if mtime_ns % 1_000_000_000 == 0 {
        COARSE_RACY_WINDOW_NS
    } else {
        RACY_WINDOW_NS
    };
    if now - mtime_ns < window {
        -1
    } else {
        mtime_ns
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Threads for walking and parsing from `map.threads`: 0 is one per CPU, and more than four per
/// CPU is four per CPU (thousands of walker threads made a run of a small tree take minutes).
pub fn threads(configured: usize) -> usize {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    match configured {
        0 => cpus,
        n => n.min(4 * cpus),
    }
}

/// The index's meta key for the resolver settings its import edges were resolved with.
const RESOLVER_SETTINGS: &str = "resolver_settings";
/// The index's meta key for the `rank::GRAPH_VERSION` its ranks were computed with.
const RANKED_BY: &str = "ranked_by";
/// The index's meta key for the configs the last resolution found extended by a tsconfig (a
/// JSON list of paths; see `resolve::Resolution::extended_configs`). Written with
/// `RESOLVER_SETTINGS`, whose absence has an index resolve again.
const EXTENDED_CONFIGS: &str = "extended_configs";
/// The index's meta key for what the last resolution found of the tsconfigs' `extends`
/// ([`ExtendsSeen`]), which a walk may not see: a base in an ignored `node_modules/`, one not
/// installed yet.
const EXTENDS_SEEN: &str = "extends_seen";

/// The configs a tsconfig extends as the last resolution found them (each with the hash of its
/// content, or none when it was gone: npm gives every file it installs the same modification
/// time), and the `extends` entries that named no file.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct ExtendsSeen {
    files: Vec<(String, Option<String>)>,
    missing: Vec<(String, String)>,
}

impl ExtendsSeen {
    fn now(root: &Path, files: &[String], missing: Vec<(String, String)>) -> ExtendsSeen {
        ExtendsSeen {
            files: files
                .iter()
                .map(|f| (f.clone(), file_stamp(&root.join(f))))
                .collect(),
            missing,
        }
    }

    /// Whether an extended config changed, went or came since (each read and hashed, and each
    /// entry that named nothing looked up again).
    fn moved(&self, root: &Path) -> bool {
        self.files
            .iter()
            .any(|(f, stamp)| file_stamp(&root.join(f)) != *stamp)
            || self
                .missing
                .iter()
                .any(|(dir, spec)| resolve::tsconfig_extends_path(root, dir, spec).is_some())
    }
}

/// The hash of a config's content, through links (pnpm links its packages); configs are a few
/// kilobytes, and one larger than 1 MiB is known by its size alone.
fn file_stamp(path: &Path) -> Option<String> {
    let m = std::fs::metadata(path).ok()?;
    if m.len() > 1 << 20 {
        return Some(format!("{} bytes", m.len()));
    }
    let data = std::fs::read(path).ok()?;
    Some(blake3::hash(&data).to_hex()[..32].to_string())
}

fn resolver_settings(cfg: &Config) -> String {
    serde_json::json!({
        "include_dirs": cfg.map.include_dirs,
        "python_roots": cfg.map.python_roots,
    })
    .to_string()
}

fn run(store: &mut Store, root: &Path, cfg: &Config, opts: &Options) -> Result<IndexReport> {
    let mut report = IndexReport::default();
    let mut t = Instant::now();
    let tx = store.index_tx()?;
    let existing: HashMap<String, FileRow> = tx
        .files()?
        .into_iter()
        .map(|f| (f.path.clone(), f))
        .collect();
    let threads = threads(cfg.map.threads);
    let walk::Walked {
        entries,
        warnings: walk_warnings,
        linked,
        dirs,
        links,
    } = walk::walk_linked(root, &cfg.map.exclude, threads);
    report.warnings.extend(walk_warnings);
    report.linked = linked;
    report.dirs = dirs;
    report.links = links;
    report.files_seen = entries.len();
    report.timings_ms.walk = ms(t.elapsed());
    t = Instant::now();

    // Unchanged in size, mtime and stamp (inode and ctime): not read at all, unless the size
    // limit moved across it.
    let max_size = cfg.map.max_file_size;
    let todo: Vec<(&walk::Entry, Option<&FileRow>)> = entries
        .iter()
        .filter_map(|e| match existing.get(&e.path) {
            Some(o)
                if o.size == e.size
                    && o.mtime_ns == e.mtime_ns
                    && o.mtime_ns != -1
                    && o.stamp == e.stamp
                    && (o.skip_reason.as_deref() == Some("too_large")) == (e.size > max_size) =>
            {
                None
            }
            old => Some((e, old)),
        })
        .collect();
    report.unchanged = report.files_seen - todo.len();

    let now = now_ns();
    let done = AtomicUsize::new(0);
    let finished = AtomicBool::new(false);
    let total = todo.len();
    // A warm run with nothing to read starts no threads at all.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(if total == 0 { 1 } else { threads.min(total) })
        .build()
        .map_err(|e| Error::Threads(e.to_string()))?;
    let precount = total >= PRECOUNT_FILES;

    // Resolution must run again when the file set or any import changed, and also when a
    // non-source file the resolver reads (tsconfig.json and the configs it extends,
    // package.json, go.mod, Cargo.toml: `resolve::configures`) changed, or a Java file's
    // package or top-level types (import targets). Ranking runs again when any file's definitions,
    // references or imports changed (not for edits to comments, strings or layout), and the
    // summary for the header (entry points, frameworks) after any write.
    // Settings the resolver reads (`map.include_dirs`, `map.python_roots`): a change resolves
    // every import again, as a changed file would.
    let resolver_settings = resolver_settings(cfg);
    let mut resolve = tx.meta("ranked")?.is_none()
        || tx.meta(RESOLVER_SETTINGS)?.as_deref() != Some(resolver_settings.as_str());
    let extended_configs: HashSet<String> = match tx.meta(EXTENDED_CONFIGS)? {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => HashSet::new(),
    };
    // A config a tsconfig extends that the walk does not see (in an ignored node_modules/),
    // edited, installed or removed since. An index made before this was kept has no record:
    // it resolves once if it has a tsconfig.
    let moved = match tx.meta(EXTENDS_SEEN)? {
        Some(seen) => serde_json::from_str::<ExtendsSeen>(&seen).is_ok_and(|s| s.moved(root)),
        None => existing.keys().any(|p| {
            let name = p.rsplit('/').next().unwrap_or(p);
            name == "tsconfig.json" || name == "jsconfig.json"
        }),
    };
    if moved {
        resolve = true;
    }
    // Ranks computed by another version of the graph's weights (an older vibe).
    let ranked_by = rank::GRAPH_VERSION.to_string();
    let mut rerank = resolve || tx.meta(RANKED_BY)?.as_deref() != Some(ranked_by.as_str());
    // The file graph's inputs (`context` keeps the graph until they change): any file's
    // definitions or references, the file set (definers of a name), the import edges.
    let mut graph_changed = resolve;

    // Deleted: indexed before, not walked now.
    let walked: HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let mut deleted: Vec<&FileRow> = existing
        .values()
        .filter(|f| !walked.contains(f.path.as_str()))
        .collect();
    deleted.sort_by(|a, b| a.path.cmp(&b.path));
    if existing.is_empty() && !todo.is_empty() {
        tx.begin_bulk()?;
    }
    for f in deleted {
        tx.delete_file(f.id)?;
        report.deleted += 1;
        resolve = true;
        graph_changed = true;
    }

    // Workers read and parse; this thread writes each result as it arrives, so writing overlaps
    // parsing and at most a channel's worth of parsed files is held in memory. Ids therefore
    // follow arrival order: nothing downstream may depend on id order (ranking and output sort
    // by path).
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Outcome>(64);
    let mut write_time = Duration::ZERO;
    std::thread::scope(|s| -> Result<()> {
        if opts.progress && total > 0 {
            s.spawn(|| progress(&done, &finished, total));
        }
        let (todo, pool, done, finished) = (&todo, &pool, &done, &finished);
        s.spawn(move || {
            pool.install(|| {
                todo.par_iter().for_each_init(
                    || {
                        (
                            tree_sitter::Parser::new(),
                            tree_sitter::QueryCursor::new(),
                            sender.clone(),
                        )
                    },
                    |(parser, cursor, out), (entry, old)| {
                        let o = prepare(entry, *old, max_size, now, parser, cursor);
                        done.fetch_add(1, Ordering::Relaxed);
                        // The receiver only goes away on a write error, which ends the run.
                        let _ = out.send(o);
                    },
                )
            });
            drop(sender);
            finished.store(true, Ordering::Relaxed);
        });
        for o in receiver {
            let w = Instant::now();
            match o {
                Outcome::Touch {
                    id,
                    size,
                    mtime_ns,
                    stamp,
                } => {
                    report.rehashed += 1;
                    tx.touch(id, size, mtime_ns, stamp)?;
                }
                Outcome::Write(p) => {
                    if let Some(w) = &p.warning {
                        report.warnings.push(w.clone());
                    }
                    if let Some(o) = existing.get(&p.entry.path) {
                        report.changed += 1;
                        // A file that starts or stops being indexed (grown past the size limit,
                        // turned binary or unreadable, or back) stops or starts being an
                        // import target; one whose language changed (a shebang edited) defines
                        // its names for another family of files.
                        if o.skip_reason.is_none() != p.skip_reason.is_none() {
                            resolve = true;
                            graph_changed = true;
                        }
                        if o.language.as_deref() != p.language.map(|l| l.name()) {
                            resolve = true;
                            rerank = true;
                            graph_changed = true;
                        }
                    } else {
                        report.added += 1;
                        resolve = true;
                        graph_changed = true;
                    }
                    if p.language.is_none() && resolve::configures(&p.entry.path, &extended_configs)
                    {
                        resolve = true;
                    }
                    if p.tags.is_some() {
                        report.parsed += 1;
                        report.parsed_bytes += p.bytes;
                    }
                    let put = tx.put_file(&NewFile {
                        path: &p.entry.path,
                        language: p.language.map(|l| l.name()),
                        ftype: &p.ftype,
                        size: p.entry.size,
                        mtime_ns: p.mtime_ns,
                        stamp: p.entry.stamp,
                        hash: p.hash.as_ref().map(|h| &h[..]),
                        lines: p.lines,
                        bytes: p.bytes,
                        skip_reason: p.skip_reason,
                        tags: p.tags.as_ref(),
                    })?;
                    resolve |= put.imports_changed;
                    // Java imports name a package's files and top-level types.
                    resolve |= put.types_changed
                        || (p.language == Some(lang::Lang::Java)
                            && p.tags.as_ref().and_then(|t| t.package.as_deref())
                                != existing
                                    .get(&p.entry.path)
                                    .and_then(|o| o.package.as_deref()));
                    rerank |= put.graph_changed;
                    graph_changed |= put.graph_changed;
                }
            }
            write_time += w.elapsed();
        }
        Ok(())
    })?;
    report.warnings.sort();
    report.timings_ms.parse = ms(t.elapsed());
    report.timings_ms.write = ms(write_time);

    let wrote = report.added + report.changed + report.deleted > 0;
    if resolve || rerank || wrote {
        t = Instant::now();
        let files = tx.files()?;
        if resolve {
            graph_changed |= resolve_phase(&tx, &files, root, cfg)?;
            tx.set_meta(RESOLVER_SETTINGS, &resolver_settings)?;
        } else {
            summary_phase(&tx, &files, root, None)?;
        }
        report.timings_ms.resolve = ms(t.elapsed());
        if resolve || rerank {
            t = Instant::now();
            rank_phase(&tx, &files)?;
            if precount {
                precount_phase(&tx, &pool)?;
            }
            report.timings_ms.rank = ms(t.elapsed());
            report.reranked = true;
            tx.set_meta("ranked", "1")?;
            tx.set_meta(RANKED_BY, &ranked_by)?;
            if graph_changed {
                tx.graph_changed()?;
            }
        }
    }
    t = Instant::now();
    tx.commit()?;
    report.timings_ms.commit = ms(t.elapsed());
    Ok(report)
}

fn progress(done: &AtomicUsize, finished: &AtomicBool, total: usize) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        if finished.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} indexing {pos}/{len} files {wide_bar} {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    while !finished.load(Ordering::Relaxed) {
        bar.set_position(done.load(Ordering::Relaxed) as u64);
        std::thread::sleep(Duration::from_millis(50));
    }
    bar.finish_and_clear();
}

/// How much of a file's start [`is_binary`] looks at.
pub const BINARY_HEAD: usize = 8192;

/// Whether a file whose first [`BINARY_HEAD`] bytes are `head` is binary: it holds a NUL, as
/// git judges.
pub fn is_binary(head: &[u8]) -> bool {
    head.contains(&0)
}

/// A file's text with lines as the parser, the lexicon and the packer count them: in a file
/// whose lines end with a carriage return alone (classic Mac OS line endings: more such returns
/// than line feeds), each of those ends a line as a line feed does. A stray one in a file of
/// line feeds (inside a string, a pasted line) ends none, as git, compilers and the line
/// numbers in their messages count. Every byte stays where it was (one byte for one), so offsets
/// into the text hold for the file; a file without them is not copied.
pub fn lf_lines(text: std::borrow::Cow<'_, str>) -> std::borrow::Cow<'_, str> {
    if !text.contains('\r') {
        return text;
    }
    let b = text.as_bytes();
    let lone = |i: usize| b[i] == b'\r' && b.get(i + 1) != Some(&b'\n');
    let returns = (0..b.len()).filter(|&i| lone(i)).count();
    if returns <= b.iter().filter(|&&c| c == b'\n').count() {
        return text;
    }
    let out = text
        .char_indices()
        .map(|(i, c)| if c == '\r' && lone(i) { '\n' } else { c })
        .collect();
    std::borrow::Cow::Owned(out)
}

/// Reads, hashes and (if needed) parses one file. Never fails: problems become a skip reason
/// and a warning.
fn prepare(
    entry: &walk::Entry,
    old: Option<&FileRow>,
    max_size: u64,
    now: i64,
    parser: &mut tree_sitter::Parser,
    cursor: &mut tree_sitter::QueryCursor,
) -> Outcome {
    let mtime_ns = trusted_mtime(entry.mtime_ns, now);
    let mut p = Prepared {
        entry: entry.clone(),
        mtime_ns,
        hash: None,
        language: None,
        ftype: lang::text_type(&entry.path),
        lines: 0,
        bytes: entry.size,
        skip_reason: None,
        tags: None,
        warning: None,
    };
    let touch = |o: &FileRow| Outcome::Touch {
        id: o.id,
        size: entry.size,
        mtime_ns,
        stamp: entry.stamp,
    };
    if entry.size > max_size {
        if let Some(o) = old.filter(|o| o.skip_reason.as_deref() == Some("too_large")) {
            return touch(o);
        }
        p.skip_reason = Some("too_large");
        return Outcome::Write(Box::new(p));
    }
    let data = match std::fs::read(&entry.abs) {
        Ok(d) => d,
        Err(e) => {
            p.skip_reason = Some("unreadable");
            p.mtime_ns = -1;
            p.warning = Some(format!("{}: cannot read: {e}", entry.path));
            return Outcome::Write(Box::new(p));
        }
    };
    p.bytes = data.len() as u64;
    let head = &data[..data.len().min(BINARY_HEAD)];
    if is_binary(head) {
        if let Some(o) = old.filter(|o| o.skip_reason.as_deref() == Some("binary")) {
            return touch(o);
        }
        p.skip_reason = Some("binary");
        return Outcome::Write(Box::new(p));
    }
    let hash: [u8; 32] = *blake3::hash(&data).as_bytes();
    if let Some(o) = old
        && o.hash.as_deref() == Some(&hash[..])
        && o.skip_reason.is_none()
    {
        return touch(o);
    }
    p.hash = Some(hash);
    let text = lf_lines(String::from_utf8_lossy(&data));
    p.lines = count_lines(&text);
    p.language = lang::detect(&entry.path, head);
    if let Some(l) = p.language {
        p.ftype = l.name().to_string();
        match l.query() {
            Ok(q) => {
                if let Some(tree) = extract::parse(parser, l, &text) {
                    let tags = extract::extract(l, q, &tree, &text, cursor);
                    p.tags = Some(tags);
                }
            }
            // Queries are embedded and compiled by a test, so this is a build defect.
            Err(e) => p.warning = Some(e),
        }
    }
    Outcome::Write(Box::new(p))
}

fn count_lines(text: &str) -> u64 {
    let n = text.bytes().filter(|b| *b == b'\n').count() as u64;
    if text.is_empty() || text.ends_with('\n') {
        n
    } else {
        n + 1
    }
}

/// Resolves every import against the current file set, rewrites the edges if they changed
/// (and says whether they did), and recomputes the project summary for the header.
fn resolve_phase(tx: &IndexTx, files: &[FileRow], root: &Path, cfg: &Config) -> Result<bool> {
    let mut types: HashMap<i64, Vec<String>> = HashMap::new();
    for (f, name) in tx.top_level_types("java")? {
        types.entry(f).or_default().push(name);
    }
    let infos: Vec<resolve::FileInfo> = files
        .iter()
        .filter(|f| f.skip_reason.is_none())
        .map(|f| resolve::FileInfo {
            id: f.id,
            path: &f.path,
            language: f.language.as_deref(),
            package: f.package.as_deref(),
            types: types
                .get(&f.id)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default(),
        })
        .collect();
    let imports = tx.imports()?;
    let resolve::Resolution {
        resolved,
        extended_configs,
        missing_extends,
    } = resolve::resolve_all(
        root,
        &infos,
        &imports,
        &resolve::Options {
            include_dirs: &cfg.map.include_dirs,
            python_roots: &cfg.map.python_roots,
        },
    );
    let mut edges: Vec<(i64, i64)> = Vec::new();
    let mut external_uses: Vec<(i64, String)> = Vec::new();
    for (imp, r) in imports.iter().zip(&resolved) {
        if imp.targets != r.targets || imp.external != r.external {
            tx.set_resolution(imp.id, &r.targets, r.external.as_deref())?;
        }
        edges.extend(r.targets.iter().map(|t| (imp.file_id, *t)));
        if let Some(x) = &r.external {
            external_uses.push((imp.file_id, x.clone()));
        }
    }
    edges.sort_unstable();
    edges.dedup();
    let changed = tx.edges()? != edges;
    if changed {
        tx.set_edges(&edges)?;
    }
    tx.set_meta(
        EXTENDED_CONFIGS,
        &serde_json::to_string(&extended_configs).unwrap_or_else(|_| "[]".into()),
    )?;
    let seen = ExtendsSeen::now(root, &extended_configs, missing_extends);
    tx.set_meta(
        EXTENDS_SEEN,
        &serde_json::to_string(&seen).unwrap_or_else(|_| "{}".into()),
    )?;
    summary_phase(
        tx,
        files,
        root,
        Some(project::top_externals(external_uses.into_iter(), 20)),
    )?;
    Ok(changed)
}

/// Recomputes the project summary for the header. `externals` is `None` when imports were not
/// re-resolved, and then the previous summary's counts still hold.
fn summary_phase(
    tx: &IndexTx,
    files: &[FileRow],
    root: &Path,
    externals: Option<Vec<project::ExternalCount>>,
) -> Result<()> {
    let externals = match externals {
        Some(x) => x,
        None => project::Project::from_meta(tx.meta("project")?).externals,
    };
    let by_id: HashMap<i64, &FileRow> = files.iter().map(|f| (f.id, f)).collect();
    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    let mut add = |path: &str, reason: &str| {
        entries
            .entry(path.to_string())
            .or_insert_with(|| reason.to_string());
    };
    let paths: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for e in project::manifest_entry_points(root, files.iter().map(|f| f.path.as_str())) {
        if paths.contains(e.path.as_str()) {
            add(&e.path, &e.reason);
        }
    }
    for (file, signature, parent) in tx.main_definitions()? {
        let Some(f) = by_id.get(&file) else { continue };
        let reason = match (f.language.as_deref(), parent.is_some()) {
            (Some("go"), false) if f.package.as_deref() == Some("main") => "package main",
            (Some("java"), true) if signature.contains("static") => "static main",
            (Some("rust"), false) => "fn main",
            (Some("c" | "cpp"), false) => "main()",
            (Some("python"), false) => "def main",
            (Some("javascript" | "typescript" | "tsx"), false) => "main()",
            _ => continue,
        };
        add(&f.path, reason);
    }
    for f in files {
        if f.main_guard {
            add(&f.path, "__main__ guard");
        }
    }
    let test_files = files
        .iter()
        .filter(|f| f.language.is_some() && project::is_test_path(&f.path))
        .count();
    let summary = project::Project {
        entry_points: entries
            .into_iter()
            .map(|(path, reason)| project::EntryPoint { path, reason })
            .collect(),
        test_files,
        frameworks: project::frameworks(root, files.iter().map(|f| f.path.as_str())),
        externals,
    };
    let json = serde_json::to_string(&summary).unwrap_or_default();
    tx.set_meta("project", &json)?;
    Ok(())
}

/// Counts ahead the map lines of the [`PRECOUNT_TOP`] highest-ranked files (in map order), in
/// parallel; lines already counted are skipped.
fn precount_phase(tx: &IndexTx, pool: &rayon::ThreadPool) -> Result<()> {
    // The files with their new ranks, in the order the map shows them.
    let files = tx.files()?;
    let order: Vec<&FileRow> = render::ranked(&files)
        .into_iter()
        .take(PRECOUNT_TOP)
        .collect();
    let ids: Vec<i64> = order.iter().map(|f| f.id).collect();
    let mut by_file: HashMap<i64, Vec<extract::Symbol>> = HashMap::new();
    for row in tx.symbols(Some(&ids))? {
        by_file.entry(row.file_id).or_default().push(row.symbol);
    }
    let mut lines: Vec<(i64, String)> = Vec::new();
    for f in &order {
        let syms = by_file.get(&f.id).map(Vec::as_slice).unwrap_or(&[]);
        for line in render::candidate_lines(&f.path, syms) {
            lines.push((crate::context::tokens::line_key(MAP_ENCODING, &line), line));
        }
    }
    lines.sort_unstable_by_key(|l| l.0);
    lines.dedup_by_key(|l| l.0);
    let known = tx.known_token_counts(&lines.iter().map(|l| l.0).collect::<Vec<_>>())?;
    lines.retain(|l| !known.contains(&l.0));
    let counts: Vec<(i64, u32)> = pool.install(|| {
        lines
            .par_iter()
            .map(|(k, line)| (*k, crate::context::tokens::count_line(MAP_ENCODING, line)))
            .collect()
    });
    tx.put_token_counts(&counts)?;
    Ok(())
}

/// Recomputes file and symbol ranks.
fn rank_phase(tx: &IndexTx, files: &[FileRow]) -> Result<()> {
    let ranked: Vec<&FileRow> = files
        .iter()
        .filter(|f| f.language.is_some() && f.skip_reason.is_none())
        .collect();
    let ids: Vec<i64> = ranked.iter().map(|f| f.id).collect();
    let families: Vec<u8> = ranked
        .iter()
        .map(|f| rank::family(f.language.as_deref()))
        .collect();
    let t = Instant::now();
    let graph = tx.graph()?;
    let edges = tx.edges()?;
    let loaded = t.elapsed();
    let common = tx.name_ids_now(rank::COMMON_METHODS)?;
    let ranks = rank::rank(&rank::Input {
        files: &ids,
        graph: &graph,
        edges: &edges,
        common: &common,
        families: &families,
    });
    let computed = t.elapsed();
    for id in &ids {
        let r = ranks.files.get(id).copied().unwrap_or(0.0);
        let s = ranks.symbols.get(id).map(Vec::as_slice).unwrap_or(&[]);
        tx.set_rank(*id, r, s)?;
    }
    tracing::debug!(
        "rank: load {:?}, compute {:?}, write {:?}",
        loaded,
        computed - loaded,
        t.elapsed() - computed
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Classic Mac OS line endings are lines; a stray carriage return in a file of line feeds
    /// is not (review of helper 99: a Go raw string's `\r` moved every line below it, and
    /// `main.go:11` named a blank line).
    #[test]
    fn lone_carriage_returns_end_lines_only_where_they_are_the_line_endings() {
        let lines = |t: &str| super::lf_lines(t.into()).into_owned();
        assert_eq!(lines("a\rb\rc\r"), "a\nb\nc\n");
        assert_eq!(lines("é\r😀\r"), "é\n😀\n");
        assert_eq!(lines("top\nx\ry\rz\r"), "top\nx\ny\nz\n");
        for same in ["a\r\nb\r\n", "s := `x\ry`\nz\n", "a\nb\r\nc\rd\n", ""] {
            assert_eq!(lines(same), same, "{same:?}");
        }
        assert!(matches!(
            super::lf_lines("a\nb\r\n".into()),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn threads_are_one_per_cpu_by_default_and_at_most_four_per_cpu() {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        assert_eq!(super::threads(0), cpus);
        assert_eq!(super::threads(1), 1);
        assert_eq!(super::threads(100_000), 4 * cpus);
    }

    /// A stat is trusted once a write can no longer leave it as it is: 50 ms after an mtime
    /// with nanoseconds, 3 s after one of whole seconds (a filesystem that keeps seconds).
    #[test]
    fn mtimes_are_trusted_once_out_of_their_tick() {
        let second = 1_700_000_000_000_000_000i64;
        let ms = 1_000_000;
        let fine = second + 123 * ms;
        assert_eq!(super::trusted_mtime(fine, fine + 49 * ms), -1);
        assert_eq!(super::trusted_mtime(fine, fine + 50 * ms), fine);
        assert_eq!(super::trusted_mtime(second, second + 2_999 * ms), -1);
        assert_eq!(super::trusted_mtime(second, second + 3_000 * ms), second);
        // An mtime after the stat (a clock set back, another machine's): never trusted yet.
        assert_eq!(super::trusted_mtime(fine, fine - 10 * ms), -1);
        // Before 1970.
        assert_eq!(super::trusted_mtime(-second, 0), -second);
    }
}
