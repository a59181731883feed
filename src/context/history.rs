//! The repository's history as a ranking signal: the files that past commits with messages
//! like the task changed.
//!
//! A task is often worded like the commits that touched the same code before it ("tail: …",
//! "http2: fix memory leak in …"), and those commits name the files. vibe reads the last
//! `context.history` one-parent commits of HEAD from git (`git log --name-status`), keeps
//! their message terms, paths and renames in the index (`store::CommitRow`; when HEAD moves,
//! only commits the index does not hold are read), follows each file's renames so that its
//! earlier commits count under its current name, scores every commit's message against the
//! task with BM25, and gives the files of the best `TOP` commits a score: each commit's score
//! divided by the square root of how many files it changed, summed per file, scaled to at
//! most 1 (less when even the best commit matches the task weakly). A task with a
//! `component:` also gives each file its directory's share of what the past commits of that
//! component changed (`DirShare`; `core:` commits go to src/ in one project, lib/core/ in
//! another). `last_changed` says how many commits ago each file last changed, for the
//! recency of the best files (`context::recently_changed`). A tree without a git history (a
//! release tarball, or a work tree whose only commit imported one) reads its ChangeLog files
//! instead (`changelog`), each entry a commit. Without either, or with `context.history = 0`,
//! there is no history and nothing changes.

use std::collections::HashMap;
use std::path::Path;

use crate::repomap::git::run as git;
use crate::store::{self, CommitRow, FileRow, Store};

use super::changelog::Date;
use super::terms::{Analyzer, QueryTerm, Term};

/// How many of the best-matching commits lend their files a score.
const TOP: usize = 30;
/// A commit that changed more files than this (a reformat, an import, a licence header) says
/// little about any one of them and lends nothing.
pub const MAX_FILES: usize = 100;
/// A component needs this many past commits of its own before their directories count.
const MIN_COMPONENT_COMMITS: usize = 3;
/// BM25 over commit messages (short texts: the usual constants).
const K1: f64 = 1.2;
/// The task's idf mass is its rarest this many terms' (`score`): a pasted log or issue of
/// hundreds of words would leave no commit a strong match.
const MASS_TERMS: usize = 10;
const B: f64 = 0.75;

/// One past commit, as the ranking reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub hash: String,
    pub subject: String,
    pub length: u32,
    /// (term, count), by term.
    pub terms: Vec<(Term, u32)>,
    pub files: Vec<String>,
}

/// A subject a reason quotes is cut after this many characters (a 1 MB subject line must not
/// make every reason that names its commit 1 MB).
const LABEL_CHARS: usize = 100;

impl Commit {
    /// The short hash and the subject, as reasons name a commit: `1a2b3c4 tail: detect …`; a
    /// subject over `LABEL_CHARS` characters is cut there, with `…`. A ChangeLog's entry is
    /// named by where it starts instead (`ChangeLog:120 sort: …`).
    pub fn label(&self) -> String {
        let hash = if self.hash.bytes().all(|c| c.is_ascii_hexdigit()) {
            &self.hash[..self.hash.len().min(7)]
        } else {
            &self.hash
        };
        match self.subject.char_indices().nth(LABEL_CHARS) {
            Some((cut, _)) => format!("{hash} {}…", &self.subject[..cut]),
            None => format!("{hash} {}", self.subject),
        }
    }
}

/// A file's history score and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hit {
    /// At most 1.
    pub score: f64,
    /// How many of the best-matching commits changed it.
    pub commits: usize,
    /// The best of them: short hash and subject (empty when none lends it).
    pub example: String,
    /// Its directory's share of what past commits of the task's component changed.
    pub dir: Option<DirShare>,
}

/// How much of what past commits titled with the task's component (`core: …`, `fix(parser):
/// …`, or one with its parts: `core: io: …`) changed lies in a file's directory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DirShare {
    /// Relative to the directory they changed most: at most 1.
    pub share: f64,
    /// Their file changes in the directory, and in all.
    pub here: usize,
    pub all: usize,
}

/// Commits read by one `git log` (their hashes are its arguments).
const BATCH: usize = 500;

/// A commit as git gives it: hash, message, the paths it changed (a renamed file by its new
/// name), and how it moved files.
#[derive(Debug, Clone, PartialEq)]
struct Logged {
    hash: String,
    message: String,
    files: Vec<String>,
    moves: Moves,
}

/// What a commit did to file names: the files it renamed (old path, new path) and the paths it
/// added (a path added after its file was renamed away names another file).
#[derive(Debug, Clone, Default, PartialEq)]
struct Moves {
    renames: Vec<(String, String)>,
    added: Vec<String>,
}

/// Renames as git finds them: files whose content did not change, files of the same name in
/// another directory, then the rest by comparing every added file with every deleted one, not
/// done when a commit adds or deletes more than 200 of those (`-l200`).
const RENAMES: [&str; 2] = ["--find-renames", "-l200"];
/// Exact renames only (files whose content did not change, paired by object id): these need no
/// file contents, which a blobless clone lacks (and vibe does not let git fetch), and cannot
/// be slow.
const EXACT_RENAMES: [&str; 1] = ["--find-renames=100%"];

/// The given commits, each with its message and the paths it changed relative to `root`, read
/// with `git log` in batches. Once a batch is refused or does not finish in time, it and every
/// batch after it are read with exact renames only (a blobless clone cannot compare contents,
/// and a commit that moves many large files and edits them takes seconds; `warn` hears of a
/// timeout); a batch refused that way too is skipped (a treeless clone's commits cannot be
/// read without fetching). Also says why it stopped early: a batch timed out both ways.
fn read_commits(
    root: &Path,
    hashes: &[&str],
    warn: &mut dyn FnMut(String),
) -> (Vec<Logged>, Option<String>) {
    let mut out = Vec::new();
    let mut renames: &[&str] = &RENAMES;
    for batch in hashes.chunks(BATCH) {
        let read = |renames: &[&str]| {
            let mut args = vec![
                "log",
                "--no-walk=unsorted",
                "--no-ext-diff",
                "--no-textconv",
                "--relative",
                "--name-status",
                "--encoding=UTF-8",
                "-z",
                "--format=%x1e%H%x1f%B%x1f",
            ];
            args.extend_from_slice(renames);
            args.extend_from_slice(batch);
            args.push("--");
            git(root, &args)
        };
        let log = match read(renames) {
            Ok(None) if renames == RENAMES => {
                renames = &EXACT_RENAMES;
                read(renames)
            }
            Err(e) if renames == RENAMES => {
                warn(format!(
                    "{e} finding renames; the rest of the history is read with exact renames \
                     only (a file moved with edits in those commits loses its earlier ones)"
                ));
                renames = &EXACT_RENAMES;
                read(renames)
            }
            other => other,
        };
        match log {
            Ok(Some(text)) => out.extend(parse_log(&text, batch)),
            Ok(None) => continue,
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

/// Parses `read_commits`'s output for the commits asked for, in order: each is `\x1e` hash
/// `\x1f` message `\x1f` NUL, then, if it changed any, a newline and each change as its status
/// and path ended by NUL (`M\0src/a.c\0`), a rename or copy with both paths
/// (`R093\0old.c\0new.c\0`). Read in that order, field by field: a message ends at its
/// `\x1f` NUL (no message holds a NUL), a status (letters and a score) says how many paths
/// follow, and the next record starts where a status would. So neither a message nor a path
/// that holds the separators, even one written as another commit's start, can end a record or
/// start one.
fn parse_log(out: &str, hashes: &[&str]) -> Vec<Logged> {
    let asked: std::collections::HashSet<&str> = hashes.iter().copied().collect();
    let mut commits = Vec::new();
    let mut rest = out;
    while let Some(record) = rest.trim_start_matches(['\0', '\n']).strip_prefix('\u{1e}') {
        let Some((hash, record)) = record.split_once('\u{1f}') else {
            break;
        };
        let Some((message, record)) = record.split_once("\u{1f}\0") else {
            break;
        };
        let (files, moves, after) = changes(record.strip_prefix('\n').unwrap_or(record));
        if asked.contains(hash) {
            commits.push(Logged {
                hash: hash.to_string(),
                message: message.trim().to_string(),
                files,
                moves,
            });
        }
        rest = after;
    }
    commits
}

/// A record's changes (see `parse_log`): the paths, the moves, and the text after them (the
/// next record, or nothing once the text is cut short or is not git's).
fn changes(mut text: &str) -> (Vec<String>, Moves, &str) {
    let (mut files, mut moves) = (Vec::new(), Moves::default());
    loop {
        text = text.trim_start_matches('\0');
        if text.is_empty() || text.starts_with('\u{1e}') {
            return (files, moves, text);
        }
        let Some((status, mut after)) = text.split_once('\0') else {
            return (files, moves, "");
        };
        // A letter and maybe a score; one git does not print for these commits is read as
        // one path, as all but renames and copies have.
        let kind = status.chars().next().unwrap_or(' ');
        if !kind.is_ascii_uppercase() || !status[1..].bytes().all(|b| b.is_ascii_digit()) {
            return (files, moves, "");
        }
        let Some((path, next)) = after.split_once('\0') else {
            return (files, moves, "");
        };
        after = next;
        if matches!(kind, 'R' | 'C') {
            // A rename or copy: the old path, then the new one.
            let Some((new, next)) = after.split_once('\0') else {
                return (files, moves, "");
            };
            after = next;
            if kind == 'R' {
                moves.renames.push((path.to_string(), new.to_string()));
            }
            files.push(new.to_string());
        } else {
            if kind == 'A' {
                moves.added.push(path.to_string());
            }
            files.push(path.to_string());
        }
        text = after;
    }
}

fn to_row(analyzer: &Analyzer, logged: Logged) -> CommitRow {
    let Logged {
        hash,
        message,
        files,
        moves,
    } = logged;
    let mut counts: HashMap<Term, u32> = HashMap::new();
    // Trailers and mail addresses name who wrote or signed a commit, not what it changed.
    let terms = analyzer.text_terms(&super::terms::without_trailers(&message));
    for &t in &terms {
        *counts.entry(t).or_default() += 1;
    }
    // The issues it names, trailers included (`Closes: #123`), as terms no word makes (see
    // `commits_naming`); the message's length is its words'.
    for r in super::terms::tracker_refs(&message, super::terms::MAX_REFS) {
        *counts.entry(super::terms::reference_term(&r)).or_default() += 1;
    }
    let mut pairs: Vec<(Term, u32)> = counts.into_iter().collect();
    pairs.sort_unstable();
    let mut blob = Vec::new();
    for (t, c) in pairs {
        store::encode_varint(&mut blob, t);
        store::encode_varint(&mut blob, c);
    }
    CommitRow {
        hash,
        subject: message.lines().next().unwrap_or("").trim().to_string(),
        length: terms.len() as u32,
        terms: blob,
        files: files.join("\0"),
        renames: moves
            .renames
            .iter()
            .flat_map(|(old, new)| [old.as_str(), new.as_str()])
            .collect::<Vec<_>>()
            .join("\0"),
        added: moves.added.join("\0"),
    }
}

fn paths(joined: &str) -> impl Iterator<Item = String> + '_ {
    joined
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
}

/// A stored commit, and how it moved files.
fn from_row(r: CommitRow) -> (Commit, Moves) {
    let mut moved = paths(&r.renames);
    let moves = Moves {
        renames: std::iter::from_fn(|| Some((moved.next()?, moved.next()?))).collect(),
        added: paths(&r.added).collect(),
    };
    let commit = Commit {
        terms: store::decode_refs(&r.terms).collect(),
        files: paths(&r.files).collect(),
        hash: r.hash,
        subject: r.subject,
        length: r.length,
    };
    (commit, moves)
}

/// What `load` gives.
#[derive(Debug)]
pub struct History {
    /// Newest first, every path under its current name (see `current_names`).
    pub commits: Vec<Commit>,
    /// Each path a rename left behind, and the name its file has now (see `follow_moves`).
    pub moved: HashMap<String, String>,
    /// How many of the commits were read in this run (from git, or from the ChangeLogs).
    pub read: usize,
    /// Where the commits come from: "git", or "ChangeLog" (see `changelog`).
    pub source: &'static str,
    /// The commit HEAD is (none without history: no work tree, no commit, git refused).
    pub head: Option<String>,
}

impl Default for History {
    fn default() -> History {
        History {
            commits: Vec::new(),
            moved: HashMap::new(),
            read: 0,
            source: "git",
            head: None,
        }
    }
}

/// The stored commits (newest first) with every path under its current name: the renames a
/// commit made apply to the paths of the commits before it, so that `git mv lib/parse.c
/// src/parse.c` keeps lib/parse.c's past commits for src/parse.c, through any number of moves.
/// Also each path a rename left behind and the name its file has now, for `follow_moves`:
/// not a path some commit added again after the rename (it names another file then).
fn current_names(rows: Vec<CommitRow>) -> (Vec<Commit>, HashMap<String, String>) {
    let mut now: HashMap<String, String> = HashMap::new(); // old path → current path
    let mut added_since: std::collections::HashSet<String> = Default::default();
    let mut reused: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (mut commit, moves) = from_row(row);
        rename_files(&mut commit.files, |f| now.get(f));
        added_since.extend(moves.added);
        for (old, new) in moves.renames {
            if added_since.contains(&old) {
                reused.push(old.clone());
            }
            let current = now.get(&new).cloned().unwrap_or(new);
            now.insert(old, current);
        }
        out.push(commit);
    }
    let mut moved = now;
    for old in reused {
        moved.remove(&old);
    }
    (out, moved)
}

/// Gives each of `files` the name `rename` gives it, and keeps one of any that end up the same
/// (two paths of a commit that are one file now).
fn rename_files<'a>(files: &mut Vec<String>, rename: impl Fn(&str) -> Option<&'a String>) {
    let mut renamed = false;
    for f in files.iter_mut() {
        if let Some(name) = rename(f) {
            f.clone_from(name);
            renamed = true;
        }
    }
    if renamed {
        let mut seen = std::collections::HashSet::new();
        files.retain(|f| seen.insert(f.clone()));
    }
}

/// The commits' paths that no file has now (`exists` says which do) and that a rename left
/// behind, under the name the renamed file has now. By date, the commits of a branch merged
/// after a rename on the other side come before the rename, and `current_names` leaves their
/// paths as they were: the files they changed are the renamed ones.
pub fn follow_moves(
    commits: &mut [Commit],
    moved: &HashMap<String, String>,
    exists: impl Fn(&str) -> bool,
) {
    if moved.is_empty() {
        return;
    }
    for c in commits {
        rename_files(&mut c.files, |f| moved.get(f).filter(|_| !exists(f)));
    }
}

/// Whether `root` is in a git work tree (a `.git` in it or a directory above): spawning git
/// costs a few milliseconds, not spent outside one.
fn in_work_tree(root: &Path) -> bool {
    std::fs::canonicalize(root)
        .unwrap_or_else(|_| root.to_path_buf())
        .ancestors()
        .any(|d| d.join(".git").exists())
}

/// The history of the tree at `root`, newest first, at most `max` commits: git's
/// (`from_git`), or, when git has no commit with a parent to give (no work tree, no git, only
/// a root commit: a tarball imported, a clone of depth 1), the entries of the ChangeLogs among
/// `files` (the index's; `from_changelogs`). Not when git failed (it refused the repository,
/// it timed out): a warning says so, and the history git has is not put aside. `warn` hears
/// of what could not be read or kept.
pub fn load(
    root: &Path,
    store: &Store,
    max: usize,
    files: &[FileRow],
    warn: &mut dyn FnMut(String),
) -> History {
    if max == 0 {
        return History::default();
    }
    let (mut history, none) = if in_work_tree(root) {
        from_git(root, store, max, warn)
    } else {
        (History::default(), Some(String::new()))
    };
    if let Some(prefix) = none
        && history.commits.is_empty()
        && let Some((rows, read)) = from_changelogs(root, store, max, files, &prefix, warn)
    {
        let (commits, moved) = current_names(rows);
        history.commits = commits;
        history.moved = moved;
        history.read = read;
        history.source = "ChangeLog";
    }
    history
}

/// The last `max` commits of HEAD with one parent, newest first (see `load`): from the index
/// when HEAD has not moved, else those of the stored ones that are still among them plus the
/// others read from git (after a new commit, only that one; on another branch or an older
/// commit, only what the index does not hold yet). Empty without git, or in a repository
/// without commits. The index is updated when it can be written; `warn` hears when it cannot,
/// and when git was too slow. Also says how many commits were read from git, and the commit
/// HEAD is; and, when git has no commit with a parent (it did not fail: there is none), the
/// start of the key the ChangeLogs' history is kept under (this HEAD's, so that the next run
/// asks git nothing more).
fn from_git(
    root: &Path,
    store: &Store,
    max: usize,
    warn: &mut dyn FnMut(String),
) -> (History, Option<String>) {
    // Whether git failed (refused the repository, timed out), not merely said there is no
    // history: the ChangeLogs do not stand in for a history git has and would not give.
    let failed = std::cell::Cell::new(false);
    let none = || (History::default(), (!failed.get()).then(String::new));
    let ask = |args: &[&str], warn: &mut dyn FnMut(String)| match git(root, args) {
        Ok(out) => out,
        Err(e) => {
            failed.set(true);
            warn(format!(
                "{e}; the ranking goes on without the repository's history (set \
                 context.history = 0 to skip it)"
            ));
            None
        }
    };
    let Some(said) = ask(
        &[
            "rev-parse",
            "--git-path",
            "shallow",
            "--verify",
            "--quiet",
            "HEAD",
        ],
        warn,
    ) else {
        return none();
    };
    // HEAD is the last line: the path before it may hold a newline.
    let Some((shallow, head)) = said.trim_end_matches('\n').rsplit_once('\n') else {
        return none();
    };
    let head = head.trim().to_string();
    // A shallow clone deepened (`git fetch --deepen`, `--unshallow`) has more history under
    // the same HEAD: its boundary, the shallow file, is part of the key.
    let boundary = std::fs::read(root.join(shallow))
        .map(|b| format!(" shallow {}", &blake3::hash(&b).to_hex()[..16]))
        .unwrap_or_default();
    let (stored_key, stored) = match store.history() {
        Ok(h) => h,
        Err(e) => {
            warn(format!("cannot read the stored history: {e}"));
            (None, Vec::new())
        }
    };
    // The stored history is the last `max` commits of a HEAD: "HASH MAX", " shallow H" in a
    // shallow clone, "reading N" (how its messages were read), and " part" when some could
    // not be read (they are tried again once HEAD moves, not on every run). Rows read another
    // way are not reused: every commit is read again.
    let reading = format!("reading{READING}");
    let stored = match &stored_key {
        Some(k) if k.split(' ').any(|w| w == reading) => stored,
        _ => Vec::new(),
    };
    let key = format!("{head} {max}{boundary} {reading}");
    let partial = format!("{key} part");
    // HEAD has no commit with a parent: kept as no rows under the key, or as the ChangeLogs'
    // history under the key and theirs (`from_changelogs`).
    let none_here = format!("{key} ");
    if stored_key.as_deref().is_some_and(|k| {
        k.strip_prefix(none_here.as_str())
            .is_some_and(|rest| rest.starts_with("changelog "))
    }) {
        let history = History {
            head: Some(head),
            ..History::default()
        };
        return (history, Some(none_here));
    }
    if stored_key.as_deref() == Some(key.as_str()) || stored_key.as_deref() == Some(&partial) {
        let empty = stored.is_empty() && stored_key.as_deref() == Some(key.as_str());
        let (commits, moved) = current_names(stored);
        let history = History {
            commits,
            moved,
            read: 0,
            source: "git",
            head: Some(head),
        };
        return (history, empty.then_some(none_here));
    }
    // Commits with one parent: not merges, and not a root commit or a shallow clone's
    // boundary, which look as if they added every file. The whole history, whatever the root:
    // limiting it to a subdirectory (`-- .`) walks all of it when the subdirectory changes
    // rarely; `--relative` below keeps the paths under the root, and a commit with none lends
    // nothing.
    let count = format!("--max-count={max}");
    let Some(list) = ask(
        &[
            "rev-list",
            "--min-parents=1",
            "--max-parents=1",
            &count,
            &head,
            "--",
        ],
        warn,
    ) else {
        return none();
    };
    let hashes: Vec<&str> = list.split_whitespace().collect();
    let mut known: HashMap<String, CommitRow> =
        stored.into_iter().map(|r| (r.hash.clone(), r)).collect();
    let missing: Vec<&str> = hashes
        .iter()
        .copied()
        .filter(|h| !known.contains_key(*h))
        .collect();
    let mut read = 0;
    if !missing.is_empty() {
        let (log, failed) = read_commits(root, &missing, warn);
        read = log.len();
        let held = hashes.len() - missing.len() + read;
        if let Some(e) = failed {
            warn(format!(
                "{e}; the ranking goes on with the {held} commits read so far, and the rest \
                 are tried again after HEAD moves (set context.history = 0 to skip it)"
            ));
        }
        let analyzer = Analyzer::default();
        for logged in log {
            known.insert(logged.hash.clone(), to_row(&analyzer, logged));
        }
    }
    let rows: Vec<CommitRow> = hashes.iter().filter_map(|h| known.remove(*h)).collect();
    let key = if read == missing.len() { key } else { partial };
    // With no commit with a parent (only a root commit: a tarball imported) this keeps no
    // rows under the key; `load` then reads the ChangeLogs, if any, and keeps theirs under
    // this key and theirs. (Commits git would not give are kept as such, under the `part`
    // key, so that they are not asked for on every run.)
    save(store, &key, &rows, warn);
    let (commits, moved) = current_names(rows);
    let history = History {
        commits,
        moved,
        read,
        source: "git",
        head: Some(head),
    };
    (history, hashes.is_empty().then_some(none_here))
}

/// How commit messages are read into a stored history's terms (`terms::without_trailers`:
/// trailers, pasted headers, links, the lines git's cherry-pick and revert add; the analyser's
/// words; the tracker references, `terms::tracker_refs`, since 2). Change it with any change to
/// that reading: a history stored under another is read again from git, with no migration of
/// the index.
const READING: u32 = 2;

/// Of `commits` (newest first), the first `max` whose messages name one of `references`
/// (`terms::tracker_refs`): (position, the first of the references it names).
pub fn commits_naming(
    commits: &[Commit],
    references: &[String],
    max: usize,
) -> Vec<(usize, usize)> {
    if references.is_empty() {
        return Vec::new();
    }
    let wanted: Vec<Term> = references
        .iter()
        .map(|r| super::terms::reference_term(r))
        .collect();
    commits
        .iter()
        .enumerate()
        .filter_map(|(k, c)| {
            wanted
                .iter()
                .position(|w| c.terms.binary_search_by_key(w, |&(t, _)| t).is_ok())
                .map(|r| (k, r))
        })
        .take(max)
        .collect()
}

/// A ChangeLog larger than this is not read (a project's whole history since the 1990s is a
/// few MB).
const MAX_CHANGELOG: u64 = 64 << 20;
/// How ChangeLogs are read into a history (which files are ChangeLogs, `is_changelog`;
/// `changelog::parse`, `is_history`): a change to any of them changes it, and the index's
/// ChangeLog history is read again.
const CHANGELOG_READING: u32 = 2;

/// A ChangeLog, or one its older entries were moved to (`ChangeLog.1`, `ChangeLog-2011`: GNU
/// projects rotate theirs so, by count or when they moved to git).
fn is_changelog(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "ChangeLog"
        || name
            .strip_prefix("ChangeLog")
            .and_then(|r| r.strip_prefix(['.', '-']))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The entries of the tree's ChangeLogs (`is_changelog`: rotated ones too; `changelog::parse`) as
/// commits, newest first (by their headers' dates; on a day, in the ChangeLogs' path order and each
/// one's own), the first `max`: each named `PATH:LINE` (where it starts), with the files it names
/// that are files of the index (paths relative to its ChangeLog's directory). A ChangeLog whose
/// newest entries name few files of the tree, or none (release notes), is left out
/// (`changelog::is_history`). Kept in the index under the ChangeLogs' paths, sizes and hashes
/// (times for those too large to have one) and the tree's paths, after `prefix` (in a work tree,
/// the key of a HEAD without commits with a parent, see `from_git`), so that they are read again
/// only once one of those changes. A ChangeLog whose first part is all older than the `max` entries
/// read before it (newest ChangeLogs first) is not read at all. Also says how many were read in
/// this run (0 when the index held them). `None` when no ChangeLog is history.
fn from_changelogs(
    root: &Path,
    store: &Store,
    max: usize,
    files: &[FileRow],
    prefix: &str,
    warn: &mut dyn FnMut(String),
) -> Option<(Vec<CommitRow>, usize)> {
    // Read whatever their size up to MAX_CHANGELOG (map.max_file_size leaves them unhashed).
    let mut logs: Vec<&FileRow> = files
        .iter()
        .filter(|f| {
            is_changelog(&f.path)
                && matches!(f.skip_reason.as_deref(), None | Some("too_large"))
                && f.size <= MAX_CHANGELOG
        })
        .collect();
    if logs.is_empty() {
        return None;
    }
    logs.sort_by(|a, b| a.path.cmp(&b.path));
    // The key: how entries are read, the ChangeLogs, and the tree's paths (which names are
    // files, which ChangeLogs are history).
    let mut stamp = blake3::Hasher::new();
    stamp.update(&CHANGELOG_READING.to_le_bytes());
    for f in files {
        stamp.update(f.path.as_bytes());
        stamp.update(&[0]);
    }
    for f in &logs {
        stamp.update(f.path.as_bytes());
        stamp.update(&[0]);
        stamp.update(&f.size.to_le_bytes());
        // A file over map.max_file_size has no hash: its time stands for it.
        match &f.hash {
            Some(h) => stamp.update(h),
            None => stamp.update(&f.mtime_ns.to_le_bytes()),
        };
    }
    let key = format!(
        "{prefix}changelog {} {max} reading{READING}",
        &stamp.finalize().to_hex()[..16]
    );
    match store.history() {
        Ok((Some(k), rows)) if k == key => return (!rows.is_empty()).then_some((rows, 0)),
        Ok(_) => {}
        Err(e) => warn(format!("cannot read the stored history: {e}")),
    }
    let paths: std::collections::HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    // Read newest first (by the newest header of each one's first HEAD_BYTES); once `max`
    // entries are read, a ChangeLog all older than the oldest of them is not read at all: a
    // tree's rotated ChangeLogs (Emacs' lisp/ChangeLog.1 to .17) are tens of MB.
    let newest: Vec<Option<Date>> = logs.iter().map(|f| newest_of(root, f)).collect();
    let mut order: Vec<usize> = (0..logs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(newest[i]));
    // The `max` newest dates read so far, the oldest on top.
    let mut kept: std::collections::BinaryHeap<std::cmp::Reverse<Date>> =
        std::collections::BinaryHeap::new();
    // (the date of its header, the entry), in each ChangeLog's order.
    let mut of_log: Vec<Vec<(Option<Date>, Logged)>> = logs.iter().map(|_| Vec::new()).collect();
    for i in order {
        let f = logs[i];
        if kept.len() >= max
            && let Some(std::cmp::Reverse(oldest)) = kept.peek()
            && newest[i].is_none_or(|d| d < *oldest)
        {
            continue;
        }
        let bytes = match std::fs::read(root.join(&f.path)) {
            Ok(b) => b,
            Err(e) => {
                warn(format!(
                    "cannot read {}: {e}; the ranking goes on without its history",
                    f.path
                ));
                continue;
            }
        };
        let parsed = super::changelog::parse(&String::from_utf8_lossy(&bytes));
        let dir = parent(&f.path);
        let under = |p: &str| {
            if dir.is_empty() {
                p.to_string()
            } else {
                format!("{dir}/{p}")
            }
        };
        let is_file = |p: &str| paths.contains(under(p).as_str());
        if !super::changelog::is_history(&parsed, is_file) {
            tracing::debug!(
                "{}: its newest entries name few files of the tree: left out",
                f.path
            );
            continue;
        }
        for e in parsed {
            let files: Vec<String> = e
                .files
                .iter()
                .map(|p| under(p))
                .filter(|p| paths.contains(p.as_str()))
                .collect();
            if let Some(d) = e.date {
                kept.push(std::cmp::Reverse(d));
                if kept.len() > max {
                    kept.pop();
                }
            }
            of_log[i].push((
                e.date,
                Logged {
                    hash: format!("{}:{}", f.path, e.line),
                    message: e.message,
                    files,
                    moves: Moves::default(),
                },
            ));
        }
    }
    // Newest first, in the ChangeLogs' path order on a day; an entry without a date goes after
    // the dated ones.
    let mut entries: Vec<(Option<Date>, Logged)> = of_log.into_iter().flatten().collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    entries.truncate(max);
    let analyzer = Analyzer::default();
    let rows: Vec<CommitRow> = entries
        .into_iter()
        .map(|(_, logged)| to_row(&analyzer, logged))
        .collect();
    save(store, &key, &rows, warn);
    let read = rows.len();
    (!rows.is_empty()).then_some((rows, read))
}

/// How much of a ChangeLog says its newest date (`changelog::newest_date`).
const HEAD_BYTES: u64 = 64 << 10;

/// The newest header date of a ChangeLog's first `HEAD_BYTES` (none when it cannot be read:
/// reading it whole then says why).
fn newest_of(root: &Path, f: &FileRow) -> Option<Date> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(root.join(&f.path))
        .and_then(|file| file.take(HEAD_BYTES).read_to_end(&mut head))
        .ok()?;
    super::changelog::newest_date(&String::from_utf8_lossy(&head))
}

fn save(store: &Store, head: &str, rows: &[CommitRow], warn: &mut dyn FnMut(String)) {
    if let Err(e) = store.put_history(head, rows) {
        warn(format!(
            "cannot store the history in the index (it is read again next time): {e}"
        ));
    }
}

/// Of the files checked, more than this many changed, and more than half of them, are no work
/// in progress: a line-end conversion vibe does not undo, or another tool's rewrite of every
/// file, makes them all differ from what git stores.
const MANY_CHANGED: usize = 8;

/// Of `paths` (the best-ranked candidates, relative to the root), those whose bytes in the work
/// tree are not what HEAD (`head`, the commit `load` read) holds: the work in progress, which
/// a task is most often about. Tracked files only: git's index must hold the path (a new file
/// counts once `git add`ed, one `git rm --cached` does not), as a regular file, without
/// skip-worktree or assume-unchanged (set to keep local edits, such as a local config, out of
/// git's sight). A change staged and then undone in the work tree does not count.
///
/// git reads only its own objects and index here (`ls-tree` and `ls-files`, while vibe hashes
/// the files; `check-attr --source` for those that differ), never the work tree: its own
/// comparison (`diff-index`, `status`) trusts stat data, so a copied tree looks all changed,
/// and hashes some files through the repository's filters, which run programs its config
/// names (a `filter.<x>.clean`) and read the tree's `.gitattributes`. vibe hashes each file's bytes itself, as a git blob, and also with CRLF
/// line ends as LF (a checkout with `core.autocrlf`). A file git would store otherwise than as
/// its bytes (a `filter`, such as Git LFS; `ident`; a `working-tree-encoding`) is not
/// compared, nor is any in a SHA-256 repository.
pub fn uncommitted<'a>(
    root: &Path,
    head: &'a str,
    paths: &[&'a str],
) -> Result<Vec<String>, String> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    fn with<'a>(args: &[&'a str], paths: &[&'a str]) -> Vec<&'a str> {
        let end: [&'a str; 1] = ["--"];
        args.iter()
            .copied()
            .chain(end)
            .chain(paths.iter().copied())
            .collect()
    }
    let tree_args = with(&["ls-tree", "-r", "-z", head], paths);
    let index_args = with(&["ls-files", "-v", "--stage", "-z"], paths);
    // The files are hashed while git lists its entries: as they are, and for a file with CRLF
    // line ends also as LF.
    let (in_head, in_index, ids) = std::thread::scope(|s| {
        let index = s.spawn(|| git(root, &index_args));
        let tree = s.spawn(|| git(root, &tree_args));
        let ids: Vec<Option<(String, Option<String>)>> = paths
            .iter()
            .map(|p| {
                let b = std::fs::read(root.join(p)).ok()?;
                Some((blob_id(&b), with_lf(&b).map(|lf| blob_id(&lf))))
            })
            .collect();
        let joined = |h: std::thread::ScopedJoinHandle<'_, _>| h.join().unwrap_or(Ok(None));
        (joined(tree), joined(index), ids)
    });
    let (Some(in_head), Some(in_index)) = (in_head?, in_index?) else {
        return Ok(Vec::new());
    };
    // "<mode> blob <id>\t<path>" and "<tag> <mode> <id> <stage>\t<path>"; regular files only:
    // a symbolic link's blob is where it points (vibe reads the file it points at), a
    // submodule's entry a commit. The index's tag is `S` for skip-worktree, lower case for
    // assume-unchanged.
    let entries = |out: &str, tagged: bool| -> HashMap<String, String> {
        out.split('\0')
            .filter_map(|e| {
                let (meta, path) = e.split_once('\t')?;
                let mut fields = meta.split(' ');
                if tagged {
                    let tag = fields.next()?;
                    if tag == "S" || tag.chars().any(|c| c.is_ascii_lowercase()) {
                        return None;
                    }
                }
                let mode = fields.next()?;
                let id = if tagged {
                    fields.next()?
                } else {
                    fields.nth(1)?
                };
                mode.starts_with("100")
                    .then(|| (path.to_string(), id.to_string()))
            })
            .collect()
    };
    let in_head = entries(&in_head, false);
    let tracked = entries(&in_index, true);
    if in_head
        .values()
        .chain(tracked.values())
        .any(|id| id.len() != 40)
    {
        return Ok(Vec::new());
    }
    let mut changed: Vec<&str> = paths
        .iter()
        .zip(&ids)
        .filter(|(p, id)| {
            let Some((id, lf)) = id else { return false };
            tracked.contains_key(**p)
                && in_head
                    .get(**p)
                    .is_none_or(|stored| stored != id && lf.as_ref() != Some(stored))
        })
        .map(|(p, _)| *p)
        .collect();
    if !changed.is_empty() {
        // "<path>\0<attribute>\0<value>\0" for each path and attribute, from HEAD's
        // attributes (no work-tree read). Without it (a git older than 2.40 has no --source)
        // every changed file counts.
        let attr_args = with(
            &[
                "check-attr",
                "--source",
                head,
                "-z",
                "filter",
                "ident",
                "working-tree-encoding",
            ],
            &changed,
        );
        if let Some(out) = git(root, &attr_args)? {
            let parts: Vec<&str> = out.split('\0').collect();
            let converted: std::collections::HashSet<&str> = parts
                .chunks_exact(3)
                .filter(|a| !matches!(a[2], "unspecified" | "unset"))
                .map(|a| a[0])
                .collect();
            changed.retain(|p| !converted.contains(p));
        }
    }
    if changed.len() > MANY_CHANGED && changed.len() * 2 > tracked.len() {
        tracing::debug!(
            "{} of {} files differ from HEAD: taken as a conversion's, no work in progress",
            changed.len(),
            tracked.len()
        );
        return Ok(Vec::new());
    }
    Ok(changed.into_iter().map(str::to_string).collect())
}

/// A git blob's id (SHA-1) of `bytes`.
fn blob_id(bytes: &[u8]) -> String {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    format!("{:x}", h.finalize())
}

/// `bytes` with CRLF line ends as LF (as git stores a `core.autocrlf` checkout's files);
/// `None` when it has none.
fn with_lf(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.windows(2).any(|w| w == b"\r\n") {
        return None;
    }
    let crlf_cr = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n');
    Some(
        (0..bytes.len())
            .filter(|&i| !crlf_cr(i))
            .map(|i| bytes[i])
            .collect(),
    )
}

/// Each candidate file's history score for the task (`None` for most files: those no commit
/// like the task changed, outside the component's directories). `index` maps a path to
/// its candidate; paths a commit changed that are no candidates (deleted since, or not ranked)
/// are skipped, and a commit with none is not scored.
///
/// The scores are relative to the best file's, scaled down when even the best commit is a weak
/// match: one whose BM25 score is below `confident` × the task's idf mass (the sum of the idf
/// over the commits of its `MASS_TERMS` rarest terms) lends in proportion. A commit sharing one
/// common word with a long task ("alter" in a task about Sphinx's quotes) then lends a little,
/// not as much as a commit that says what the task says.
///
/// With the task's `component` (see `rank::component_here`), a file also gets its directory's
/// share of the files that past commits of that component, or of one with its parts in a row
/// (`rank::component_within`), changed (`Hit::dir`), when there are at least
/// `MIN_COMPONENT_COMMITS` of them: in GnuPG's history `core:` commits change src/, `qt:`
/// commits lang/qt/src/, whatever files are named `core` or `qt`.
pub fn score(
    query: &[QueryTerm],
    commits: &[Commit],
    index: &HashMap<&str, usize>,
    n: usize,
    component: Option<&str>,
    confident: f64,
) -> Vec<Option<Hit>> {
    let mut out: Vec<Option<Hit>> = vec![None; n];
    if let Some(comp) = component {
        for (f, dir) in component_dirs(commits, comp, index, n)
            .into_iter()
            .enumerate()
        {
            if dir.is_some() {
                out[f] = Some(Hit {
                    dir,
                    ..Hit::default()
                });
            }
        }
    }
    if commits.is_empty() || query.is_empty() {
        return out;
    }
    let docs = commits.len() as f64;
    let avg = commits.iter().map(|c| f64::from(c.length)).sum::<f64>() / docs;
    let mut df: HashMap<Term, f64> = query.iter().map(|q| (q.term, 0.0)).collect();
    for c in commits {
        for (t, _) in &c.terms {
            if let Some(d) = df.get_mut(t) {
                *d += 1.0;
            }
        }
    }
    let idf = |t: &Term| {
        let d = df[t];
        (1.0 + (docs - d + 0.5) / (d + 0.5)).ln()
    };
    let mut scored: Vec<(f64, usize, Vec<usize>)> = Vec::new();
    for (ci, c) in commits.iter().enumerate() {
        let mut s = 0.0;
        for q in query {
            let Ok(at) = c.terms.binary_search_by_key(&q.term, |&(t, _)| t) else {
                continue;
            };
            let tf = f64::from(c.terms[at].1);
            let idf = idf(&q.term);
            let norm = 1.0 - B + B * f64::from(c.length) / avg.max(1.0);
            s += idf * tf * (K1 + 1.0) / (tf + K1 * norm);
        }
        if s <= 0.0 || c.files.len() > MAX_FILES {
            continue;
        }
        let files: Vec<usize> = c
            .files
            .iter()
            .filter_map(|f| index.get(f.as_str()).copied())
            .collect();
        if !files.is_empty() {
            scored.push((s, ci, files));
        }
    }
    // Best first; the newer commit on a tie.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(TOP);
    let mut sum = vec![0.0f64; n];
    for (s, ci, files) in &scored {
        let share = s / (commits[*ci].files.len() as f64).sqrt();
        for &f in files {
            sum[f] += share;
            let c = &commits[*ci];
            let hit = out[f].get_or_insert_with(Hit::default);
            if hit.example.is_empty() {
                hit.example = c.label();
            }
            hit.commits += 1;
        }
    }
    let max = sum.iter().copied().fold(0.0, f64::max);
    let mass: f64 = {
        let mut idfs: Vec<f64> = query.iter().map(|q| idf(&q.term)).collect();
        idfs.sort_by(|a, b| b.total_cmp(a));
        idfs.iter().take(MASS_TERMS).sum()
    };
    let best = scored.first().map_or(0.0, |s| s.0);
    let confidence = if confident > 0.0 && mass > 0.0 {
        (best / (confident * mass)).min(1.0)
    } else {
        1.0
    };
    for (f, hit) in out.iter_mut().enumerate() {
        if let Some(h) = hit
            && max > 0.0
        {
            h.score = sum[f] / max * confidence;
        }
    }
    out
}

/// Each candidate's directory share of the files that the past commits titled with `component`
/// or one with its parts in a row (at most `MAX_FILES` files each, at least one under the
/// indexed root) changed; none for all when there are fewer than `MIN_COMPONENT_COMMITS` such
/// commits.
fn component_dirs(
    commits: &[Commit],
    component: &str,
    index: &HashMap<&str, usize>,
    n: usize,
) -> Vec<Option<DirShare>> {
    let mut out: Vec<Option<DirShare>> = vec![None; n];
    let mut by_dir: HashMap<&str, usize> = HashMap::new();
    let (mut seen, mut all) = (0, 0);
    // A commit that changed nothing under the indexed root (its paths are relative to it)
    // says nothing of where the component lives here.
    for c in commits
        .iter()
        .filter(|c| !c.files.is_empty() && c.files.len() <= MAX_FILES)
    {
        // Its own component's, or one with its parts (`net: ipv4:` commits are `net:` and
        // `ipv4:` commits).
        let within = super::rank::component_of(&c.subject)
            .is_some_and(|own| super::rank::component_within(&own, component));
        if !within {
            continue;
        }
        seen += 1;
        for f in &c.files {
            *by_dir.entry(parent(f)).or_default() += 1;
            all += 1;
        }
    }
    let most = by_dir.values().copied().max().unwrap_or(0);
    if seen < MIN_COMPONENT_COMMITS || most == 0 {
        return out;
    }
    for (path, &f) in index {
        if let Some(&here) = by_dir.get(parent(path))
            && f < n
        {
            out[f] = Some(DirShare {
                share: here as f64 / most as f64,
                here,
                all,
            });
        }
    }
    out
}

/// A path's directory, `""` at the top.
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// How recently each candidate file was changed: for every candidate a commit of at most
/// `MAX_FILES` files changed, the newest such commit (its position in `commits`, newest first,
/// 0 for HEAD). Work goes on where it went last: a commit often finishes, mends or tests what
/// the commits just before it started.
pub fn last_changed(commits: &[Commit], index: &HashMap<&str, usize>) -> HashMap<usize, usize> {
    let mut out: HashMap<usize, usize> = HashMap::new();
    for (age, c) in commits.iter().enumerate() {
        if c.files.len() > MAX_FILES {
            continue;
        }
        for f in &c.files {
            if let Some(&i) = index.get(f.as_str()) {
                out.entry(i).or_insert(age);
            }
        }
    }
    out
}

/// Files changed together with the best-ranked ones: for each seed (candidate, score), every
/// other candidate that a past commit of at most `MAX_FILES` files changed with it gets the
/// seed's score × the share of the seed's commits that changed both; summed, scaled to at
/// most one. Returns (candidate, score, the seed that lends it most, commits together, the
/// seed's commits), the seeds themselves left out.
pub fn changed_with(
    commits: &[Commit],
    index: &HashMap<&str, usize>,
    seeds: &[(usize, f64)],
) -> Vec<(usize, f64, usize, usize, usize)> {
    let mut touched = vec![0usize; seeds.len()];
    // Ordered, so that each file's shares are added in seed order whatever the number of seeds
    // (floating-point sums depend on their order).
    let mut together: std::collections::BTreeMap<(usize, usize), usize> =
        std::collections::BTreeMap::new(); // (seed, file) → commits
    for c in commits.iter().filter(|c| c.files.len() <= MAX_FILES) {
        let files: Vec<usize> = c
            .files
            .iter()
            .filter_map(|f| index.get(f.as_str()).copied())
            .collect();
        for (si, &(seed, _)) in seeds.iter().enumerate() {
            if !files.contains(&seed) {
                continue;
            }
            touched[si] += 1;
            for &f in &files {
                if f != seed {
                    *together.entry((si, f)).or_default() += 1;
                }
            }
        }
    }
    // Per file: the sum, and the seed that lends the most.
    let mut per: HashMap<usize, (f64, usize, f64)> = HashMap::new();
    for (&(si, f), &n) in &together {
        if seeds.iter().any(|&(s, _)| s == f) {
            continue;
        }
        let lent = seeds[si].1 * n as f64 / touched[si] as f64;
        let e = per.entry(f).or_insert((0.0, si, 0.0));
        e.0 += lent;
        if lent > e.2 || (lent == e.2 && si < e.1) {
            e.1 = si;
            e.2 = lent;
        }
    }
    let max = per.values().map(|v| v.0).fold(0.0, f64::max);
    if max <= 0.0 {
        return Vec::new();
    }
    let mut out: Vec<(usize, f64, usize, usize, usize)> = per
        .into_iter()
        .map(|(f, (sum, si, _))| (f, sum / max, seeds[si].0, together[&(si, f)], touched[si]))
        .collect();
    out.sort_by_key(|o| o.0);
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::context::terms::query_terms;

    #[test]
    fn git_log_output_is_read_into_commits() {
        let out = "\u{1e}abc123\u{1f}tail: detect closed stdout\n\nOn Solaris.\n\u{1f}\0\nM\0src/tail.c\0M\0NEWS\0\
                   \u{1e}def456\u{1f}doc: fix \u{1e}0a1b2c\u{1f}\n\u{1f}\0\nA\0doc/a b.texi\0D\0\nnew\nline.py\0\
                   \u{1e}0a1b2c\u{1f}empty commit\n\u{1f}\0\
                   \u{1e}777777\u{1f}odd: a \u{1e}message\u{1f} with separators\n\u{1f}\0\nR093\0lib/x.c\0src/x.c\0M\0y.c\0\
                   \u{1e}888888\u{1f}a path ending in the separator\u{1f}\0\nC100\0a\0odd\u{1f}\0";
        let log = parse_log(
            out,
            &["abc123", "def456", "0a1b2c", "missing", "777777", "888888"],
        );
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let plain = |hash, message, files, renames| logged(hash, message, files, renames, &[]);
        assert_eq!(
            log,
            vec![
                plain(
                    "abc123",
                    "tail: detect closed stdout\n\nOn Solaris.",
                    &["src/tail.c", "NEWS"],
                    &[]
                ),
                // An added path is kept as such.
                logged(
                    "def456",
                    "doc: fix \u{1e}0a1b2c\u{1f}",
                    &["doc/a b.texi", "\nnew\nline.py"],
                    &[],
                    &["doc/a b.texi"]
                ),
                plain("0a1b2c", "empty commit", &[], &[]),
                // A rename changes the file under its new name; a copy (`-C`) renames nothing.
                plain(
                    "777777",
                    "odd: a \u{1e}message\u{1f} with separators",
                    &["src/x.c", "y.c"],
                    &[("lib/x.c", "src/x.c")]
                ),
                plain(
                    "888888",
                    "a path ending in the separator",
                    &["odd\u{1f}"],
                    &[]
                ),
            ]
        );
        assert!(parse_log("", &["abc123"]).is_empty());
        // A path written as another asked-for commit's start is a path.
        let forged = parse_log(
            "\u{1e}bbbbbb\u{1f}misc: data\u{1f}\0\nA\0\u{1e}aaaaaa\u{1f}parser: forged\u{1f}\0M\0p.rs\0\
             \u{1e}aaaaaa\u{1f}net: retry\u{1f}\0\nM\0net.rs\0",
            &["bbbbbb", "aaaaaa"],
        );
        assert_eq!(
            forged,
            vec![
                logged(
                    "bbbbbb",
                    "misc: data",
                    &["\u{1e}aaaaaa\u{1f}parser: forged\u{1f}", "p.rs"],
                    &[],
                    &["\u{1e}aaaaaa\u{1f}parser: forged\u{1f}"]
                ),
                plain("aaaaaa", "net: retry", &["net.rs"], &[]),
            ]
        );
        // A status git does not print for these commits is one path; what is not a status
        // ends the record.
        let odd = parse_log(
            "\u{1e}abc123\u{1f}m\u{1f}\0\nZ\0a.c\0T\0b.c\0\u{1e}def456\u{1f}n\u{1f}\0\nM\0c.c\0m.c\0x\0",
            &["abc123", "def456"],
        );
        assert_eq!(
            odd,
            vec![
                plain("abc123", "m", &["a.c", "b.c"], &[]),
                plain("def456", "n", &["c.c"], &[])
            ]
        );
        // A record cut short keeps the whole changes before the cut.
        let cut = parse_log(
            "\u{1e}abc123\u{1f}m\u{1f}\0\nM\0a.c\0R100\0b.c\0",
            &["abc123"],
        );
        assert_eq!(cut, vec![plain("abc123", "m", &["a.c"], &[])]);
        // Paths, renames and added paths keep their newlines through the index.
        let a = Analyzer::default();
        let c = commit(&a, "h", "m", &["new\nline.py", "b.py"]);
        assert_eq!(c.files, own(&["new\nline.py", "b.py"]));
        let mut moved = logged(
            "h",
            "m",
            &["b\n.py", "c\n.py"],
            &[("a\n.py", "b\n.py")],
            &["c\n.py"],
        );
        let (c, moves) = from_row(to_row(&a, moved.clone()));
        assert_eq!(
            (c.files, &moves),
            (own(&["b\n.py", "c\n.py"]), &moved.moves)
        );
        moved.moves = Moves::default();
        assert_eq!(from_row(to_row(&a, moved)).1, Moves::default());
    }

    #[test]
    fn a_file_is_its_blob_as_it_is_or_with_lf_line_ends() {
        // `printf 'a\nb\n' | git hash-object --stdin`
        let id = "422c2b7ab3b3c668038da977e4e93a5fc623169c";
        assert_eq!(blob_id(b"a\nb\n"), id);
        assert_eq!(
            with_lf(b"a\r\nb\r\n").map(|b| blob_id(&b)).as_deref(),
            Some(id)
        );
        assert_ne!(blob_id(b"a\nb\nc\n"), id);
        assert_eq!(with_lf(b"a\rb\r"), None);
        assert_eq!(with_lf(b"a\r\r\nb\r").as_deref(), Some(&b"a\r\nb\r"[..]));
        // The empty blob.
        assert_eq!(blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }

    /// A reason quotes a long subject cut, at a character.
    #[test]
    fn labels_cut_long_subjects() {
        let a = Analyzer::default();
        let short = commit(&a, "0123456789", "tail: fix", &[]);
        assert_eq!(short.label(), "0123456 tail: fix");
        let exact = commit(&a, "0123456789", &"é".repeat(LABEL_CHARS), &[]);
        assert_eq!(
            exact.label(),
            format!("0123456 {}", "é".repeat(LABEL_CHARS))
        );
        let long = commit(&a, "0123456789", &"é".repeat(LABEL_CHARS + 1), &[]);
        assert_eq!(
            long.label(),
            format!("0123456 {}…", "é".repeat(LABEL_CHARS))
        );
    }

    /// A commit as `parse_log` gives it.
    fn logged(
        hash: &str,
        message: &str,
        files: &[&str],
        renames: &[(&str, &str)],
        added: &[&str],
    ) -> Logged {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Logged {
            hash: hash.to_string(),
            message: message.to_string(),
            files: own(files),
            moves: Moves {
                renames: renames
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
                added: own(added),
            },
        }
    }

    #[test]
    fn earlier_commits_count_for_a_file_under_its_current_name() {
        let a = Analyzer::default();
        let row = |files: &[&str], renames: &[(&str, &str)]| {
            to_row(&a, logged("h", "m", files, renames, &[]))
        };
        // Newest first. p.c was renamed to q.c, then a new p.c added; a.c moved from old/ to
        // src/ and on to lib/, c.c from old/ to src/.
        let (commits, moved) = current_names(vec![
            to_row(&a, logged("h", "m", &["p.c"], &[], &["p.c"])),
            row(&["q.c"], &[("p.c", "q.c")]),
            row(&["p.c", "lib/a.c"], &[]),
            row(&["lib/a.c", "src/c.c"], &[("src/a.c", "lib/a.c")]),
            row(&["src/a.c", "x.c"], &[]),
            row(
                &["src/a.c", "src/c.c"],
                &[("old/a.c", "src/a.c"), ("old/c.c", "src/c.c")],
            ),
            row(&["old/a.c", "old/c.c"], &[]),
            row(&["old/a.c", "src/a.c", "y.c"], &[]),
        ]);
        let files: Vec<Vec<&str>> = commits
            .iter()
            .map(|c| c.files.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            files,
            vec![
                vec!["p.c"],
                vec!["q.c"],
                vec!["q.c", "lib/a.c"],
                vec!["lib/a.c", "src/c.c"],
                vec!["lib/a.c", "x.c"],
                vec!["lib/a.c", "src/c.c"],
                vec!["lib/a.c", "src/c.c"],
                // Two of its paths are one file now: it changed that file once.
                vec!["lib/a.c", "y.c"],
            ]
        );
        let mut left: Vec<(&str, &str)> = moved
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        left.sort_unstable();
        assert_eq!(
            left,
            [
                ("old/a.c", "lib/a.c"),
                ("old/c.c", "src/c.c"),
                // Not p.c: it was added again after its file became q.c.
                ("src/a.c", "lib/a.c")
            ]
        );

        // A branch merged after a move comes before it by date: its paths are followed only
        // where no file has them now.
        let mut branch = vec![
            commit(&a, "1", "m", &["old/c.c", "p.c", "zz.c"]),
            commit(&a, "2", "m", &["old/a.c", "src/a.c"]),
        ];
        follow_moves(&mut branch, &moved, |p| ["old/c.c", "zz.c"].contains(&p));
        let files: Vec<Vec<&str>> = branch
            .iter()
            .map(|c| c.files.iter().map(String::as_str).collect())
            .collect();
        // old/c.c is a file again (added after the rename, or skipped and unranked): kept.
        assert_eq!(files, [vec!["old/c.c", "p.c", "zz.c"], vec!["lib/a.c"]]);
        follow_moves(&mut branch, &HashMap::new(), |_| false);
        assert_eq!(branch[1].files, ["lib/a.c"]);
    }

    /// The index's row of `path` under `root` (what `from_changelogs` reads of it).
    fn row_of(root: &Path, path: &str) -> FileRow {
        let bytes = std::fs::read(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        FileRow {
            id: 0,
            path: path.to_string(),
            language: None,
            ftype: "other".into(),
            size: bytes.len() as u64,
            mtime_ns: 0,
            stamp: 0,
            hash: Some(blake3::hash(&bytes).as_bytes().to_vec()),
            lines: 0,
            bytes: bytes.len() as u64,
            parse_errors: false,
            skip_reason: None,
            package: None,
            main_guard: false,
            rank: 0.0,
        }
    }

    #[test]
    fn changelogs_of_several_directories_are_one_history() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = t.path();
        let write = |path: &str, text: &str| {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("a directory");
            std::fs::write(p, text).expect("written");
        };
        write("src/a.c", "int a;\n");
        write("lib/b.c", "int b;\n");
        let day = |ago: i64| {
            jiff::Timestamp::now()
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
                .checked_sub(jiff::Span::new().days(ago))
                .expect("a date")
        };
        write(
            "ChangeLog",
            &format!(
                "{}  A  <a@x.org>\n\n\tsrc: newest\n\t* src/a.c: One.\n\n\
                 {}  A  <a@x.org>\n\n\tsrc: oldest\n\t* src/a.c: Two.\n",
                day(1),
                day(30)
            ),
        );
        write(
            "lib/ChangeLog",
            &format!("{}  B  <b@x.org>\n\n\t* b.c (f): Middle.\n", day(10)),
        );
        // Older entries moved out of the way (a ChangeLog of its own), and a file that is no
        // ChangeLog of either kind.
        write(
            "src/ChangeLog-2011",
            &format!("{}  D  <d@x.org>\n\n\t* a.c: Rotated.\n", day(400)),
        );
        write(
            "ChangeLog.txt",
            &format!("{}  E  <e@x.org>\n\n\t* src/a.c: Not read.\n", day(2)),
        );
        // Release notes: no entry names a file.
        write(
            "doc/ChangeLog",
            &format!("{}  C  <c@x.org>\n\n\tVersion 2.\n", day(0)),
        );
        let store = Store::open(root, &mut |_| {}).expect("an index");
        let mut rows: Vec<FileRow> = [
            "ChangeLog",
            "ChangeLog.txt",
            "doc/ChangeLog",
            "lib/ChangeLog",
            "lib/b.c",
            "src/ChangeLog-2011",
            "src/a.c",
        ]
        .iter()
        .map(|p| row_of(root, p))
        .collect();
        let mut warnings = Vec::new();
        let h = load(root, &store, 10, &rows, &mut |w| warnings.push(w));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(h.source, "ChangeLog");
        assert_eq!(h.read, 4);
        let got: Vec<(&str, &str, Vec<&str>)> = h
            .commits
            .iter()
            .map(|c| {
                let files = c.files.iter().map(String::as_str).collect();
                (c.hash.as_str(), c.subject.as_str(), files)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("ChangeLog:3", "src: newest", vec!["src/a.c"]),
                ("lib/ChangeLog:3", "* b.c (f): Middle.", vec!["lib/b.c"]),
                ("ChangeLog:8", "src: oldest", vec!["src/a.c"]),
                ("src/ChangeLog-2011:3", "* a.c: Rotated.", vec!["src/a.c"]),
            ]
        );
        assert!(is_changelog("po/ChangeLog.0") && is_changelog("ChangeLog-1998"));
        assert!(
            !is_changelog("ChangeLog.old")
                && !is_changelog("ChangeLog-")
                && !is_changelog("xChangeLog")
        );
        assert_eq!(h.commits[1].label(), "lib/ChangeLog:3 * b.c (f): Middle.");
        // The first `max`; and from the index the next time.
        let h = load(root, &store, 2, &rows, &mut |w| warnings.push(w));
        assert_eq!((h.commits.len(), h.read), (2, 2));
        let h = load(root, &store, 2, &rows, &mut |w| warnings.push(w));
        assert_eq!((h.commits.len(), h.read), (2, 0));
        // Read again once the tree changes: a ChangeLog none of whose entries names a file of
        // the index now is no history.
        rows.retain(|r| r.path != "lib/b.c");
        let h = load(root, &store, 10, &rows, &mut |w| warnings.push(w));
        assert_eq!((h.commits.len(), h.read), (3, 3));
        assert!(h.commits.iter().all(|c| c.files == ["src/a.c"]));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn older_changelogs_are_read_only_while_they_can_count() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = t.path();
        let write =
            |path: &str, text: &str| std::fs::write(root.join(path), text).expect("written");
        write("a.c", "int a;\n");
        write(
            "ChangeLog",
            "2022-05-01  A  <a@x.org>\n\n\t* a.c: Newest.\n\n\
             2022-04-01  A  <a@x.org>\n\n\t* a.c: Second.\n",
        );
        // Rotated out in 2011, as its first headers say; an entry of 2022 past the part that says
        // so (which a ChangeLog written newest first does not have) shows whether it was read.
        let filler = "\t  More of the same.\n".repeat(4000);
        write(
            "ChangeLog-2011",
            &format!(
                "2011-01-01  B  <b@x.org>\n\n\t* a.c: Rotated.\n{filler}\n\
                 2022-04-15  B  <b@x.org>\n\n\t* a.c: Misplaced.\n"
            ),
        );
        let rows: Vec<FileRow> = ["ChangeLog", "ChangeLog-2011", "a.c"]
            .iter()
            .map(|p| row_of(root, p))
            .collect();
        let subjects = |max: usize| {
            let store = Store::open(root, &mut |_| {}).expect("an index");
            let h = load(root, &store, max, &rows, &mut |w| panic!("{w}"));
            h.commits
                .iter()
                .map(|c| c.subject.clone())
                .collect::<Vec<_>>()
        };
        // Two wanted, two read from ChangeLog, all of ChangeLog-2011 older: not read.
        assert_eq!(subjects(2), ["* a.c: Newest.", "* a.c: Second."]);
        // Three wanted: it is read, and every entry counts by its date.
        assert_eq!(
            subjects(3),
            ["* a.c: Newest.", "* a.c: Misplaced.", "* a.c: Second."]
        );
    }

    pub(crate) fn commit(analyzer: &Analyzer, hash: &str, msg: &str, files: &[&str]) -> Commit {
        from_row(to_row(analyzer, logged(hash, msg, files, &[], &[]))).0
    }

    /// A commit of more than `MAX_FILES` files: a.c and gen/0.c to gen/100.c.
    fn reformat(analyzer: &Analyzer, hash: &str) -> Commit {
        let generated: Vec<String> = (0..=MAX_FILES).map(|i| format!("gen/{i}.c")).collect();
        let files: Vec<&str> = std::iter::once("a.c")
            .chain(generated.iter().map(String::as_str))
            .collect();
        commit(analyzer, hash, "reformat", &files)
    }

    #[test]
    fn files_changed_with_the_best_ones_lean_on_their_share() {
        let a = Analyzer::default();
        let commits = vec![
            commit(&a, "1", "x", &["a.c", "b.c"]),
            commit(&a, "2", "x", &["a.c", "b.c"]),
            commit(&a, "3", "x", &["a.c", "c.c"]),
            commit(&a, "4", "x", &["b.c", "d.c"]),
            // A reformat of more than MAX_FILES files says nothing.
            reformat(&a, "5"),
        ];
        let paths = ["a.c", "b.c", "c.c", "d.c", "gen/0.c"];
        let index: HashMap<&str, usize> = paths.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let lent = changed_with(&commits, &index, &[(0, 2.0)]);
        // b.c with a.c in 2 of a.c's 3 commits, c.c in 1: scaled to the best.
        assert_eq!(lent, vec![(1, 1.0, 0, 2, 3), (2, 0.5, 0, 1, 3)]);
        // Two seeds: a seed is never lent to; d.c comes with b.c.
        let lent = changed_with(&commits, &index, &[(0, 2.0), (1, 1.0)]);
        assert!(lent.iter().all(|l| l.0 != 0 && l.0 != 1), "{lent:?}");
        let d = lent.iter().find(|l| l.0 == 3).expect("d.c");
        assert_eq!((d.2, d.3, d.4), (1, 1, 3));
        assert!(changed_with(&[], &index, &[(0, 1.0)]).is_empty());
    }

    #[test]
    fn the_newest_commit_of_a_file_gives_its_age() {
        let a = Analyzer::default();
        let commits = vec![
            // HEAD: a reformat of more than MAX_FILES files says nothing of a.c, yet counts in
            // the age of the commits after it.
            reformat(&a, "0"),
            commit(&a, "1", "x", &["b.c", "gone.c"]),
            commit(&a, "2", "x", &["a.c", "b.c"]),
            commit(&a, "3", "x", &["c.c"]),
        ];
        let paths = ["a.c", "b.c", "c.c", "d.c", "gen/0.c"];
        let index: HashMap<&str, usize> = paths.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let ages = last_changed(&commits, &index);
        let mut ages: Vec<(usize, usize)> = ages.into_iter().collect();
        ages.sort_unstable();
        // a.c 2 (not 0), b.c 1 (its newest), c.c 3; d.c and gen/0.c never (a commit of too
        // many files), gone.c is not a candidate.
        assert_eq!(ages, vec![(0, 2), (1, 1), (2, 3)]);
        assert!(last_changed(&[], &index).is_empty());
    }

    #[test]
    fn files_of_commits_like_the_task_score_best() {
        let a = Analyzer::default();
        let commits = vec![
            commit(&a, "c1", "tail: fix follow mode on pipes", &["src/tail.c"]),
            commit(&a, "c2", "doc: typo", &["doc/coreutils.texi"]),
            commit(
                &a,
                "c3",
                "tail: handle closed stdout",
                &["src/tail.c", "tests/tail.sh", "gone.c"],
            ),
            commit(
                &a,
                "c4",
                "maint: update copyright",
                &["src/tail.c", "src/cat.c"],
            ),
        ];
        let paths = [
            "src/tail.c",
            "tests/tail.sh",
            "doc/coreutils.texi",
            "src/cat.c",
        ];
        let index: HashMap<&str, usize> = paths.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let q = query_terms(&a, "tail: stdout pipes");
        let hits = score(&q, &commits, &index, paths.len(), None, 0.0);
        let tail = hits[0].as_ref().expect("src/tail.c has a history score");
        assert_eq!(tail.score, 1.0);
        assert_eq!(tail.commits, 2);
        assert!(tail.example.contains(" tail: "), "{tail:?}");
        let test = hits[1].as_ref().expect("tests/tail.sh has a history score");
        assert!(test.score > 0.0 && test.score < 1.0, "{test:?}");
        assert_eq!(test.commits, 1);
        // Commits sharing no word with the task lend nothing.
        assert!(hits[2].is_none() && hits[3].is_none(), "{hits:?}");
        // No history, no query: no scores.
        assert!(
            score(&q, &[], &index, 4, None, 0.0)
                .iter()
                .all(Option::is_none)
        );
        assert!(
            score(&[], &commits, &index, 4, None, 0.0)
                .iter()
                .all(Option::is_none)
        );
    }

    #[test]
    fn a_weak_best_commit_lends_in_proportion() {
        let a = Analyzer::default();
        let commits = vec![
            commit(
                &a,
                "c1",
                "sphinx: build the manual with smart quotes off",
                &["doc/conf.py"],
            ),
            commit(
                &a,
                "c2",
                "tif_jpeg: altering the photometric",
                &["libtiff/tif_jpeg.c"],
            ),
            commit(&a, "c3", "tools: fix a leak", &["tools/a.c"]),
            commit(&a, "c4", "doc: typo", &["doc/x.rst"]),
        ];
        let paths = [
            "doc/conf.py",
            "libtiff/tif_jpeg.c",
            "tools/a.c",
            "doc/x.rst",
        ];
        let index: HashMap<&str, usize> = paths.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let of = |task: &str, confident: f64, f: usize| {
            score(&query_terms(&a, task), &commits, &index, 4, None, confident)[f]
                .as_ref()
                .map_or(0.0, |h| h.score)
        };
        // A commit that says what the task says: its file scores 1 either way.
        let strong = "sphinx: smart quotes in the manual";
        assert_eq!(of(strong, 0.0, 0), 1.0);
        assert_eq!(of(strong, 0.3, 0), 1.0);
        // One word of four shared, and no commit says the rest: the best file's score is the
        // best commit's share of 0.3 × the task's idf mass.
        let weak = "alter dashes smartquotes docutils";
        assert_eq!(of(weak, 0.0, 1), 1.0);
        let lent = of(weak, 0.3, 1);
        assert!(lent > 0.0 && lent < 0.7, "{lent}");
        // Lower shares make a weak match count more, up to 1.
        assert!(of(weak, 0.1, 1) > lent);
        // A long task (a pasted log, an issue) weighs its rarest MASS_TERMS terms: the commit
        // that says what its first line says still lends most of its share.
        let words: Vec<String> = (0..40).map(|i| format!("frobnicate{i}")).collect();
        let long = format!("{strong}\n\n{}", words.join(" "));
        let lent = of(&long, 0.3, 0);
        assert!(lent > 0.5 && lent <= 1.0, "{lent}");
    }

    #[test]
    fn directories_where_the_components_commits_went_get_their_share() {
        let a = Analyzer::default();
        let mut commits = vec![
            commit(&a, "c1", "core: fix a leak", &["src/a.c", "src/b.c"]),
            commit(&a, "c2", "qt: new job", &["lang/qt/job.cpp"]),
            commit(&a, "c3", "core: allow expiry", &["src/a.c", "tests/t-a.c"]),
            // A part of core's (`net: ipv4:` is net's).
            commit(&a, "c4", "Core: io: tidy", &["src/c.c", "README"]),
        ];
        let paths = [
            "src/a.c",
            "src/c.c",
            "tests/t-a.c",
            "lang/qt/job.cpp",
            "lang/python/core.py",
            "README",
        ];
        let index: HashMap<&str, usize> = paths.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let q = query_terms(&a, "core: expiry of signatures");
        let hits = score(&q, &commits, &index, paths.len(), Some("core"), 0.0);
        let dir = |i: usize| hits[i].as_ref().and_then(|h| h.dir.as_ref());
        let src = dir(0).expect("src/ has a share");
        assert_eq!((src.share, src.here, src.all), (1.0, 4, 6), "{src:?}");
        assert_eq!(dir(1).map(|d| d.share), Some(1.0));
        assert_eq!(dir(2).map(|d| d.share), Some(0.25));
        // The top directory (README).
        assert_eq!(dir(5).map(|d| d.share), Some(0.25));
        // Other components' directories, and a file merely named like the component: none.
        assert!(dir(3).is_none() && dir(4).is_none(), "{hits:?}");
        // Only c4 is core/io's: fewer than three.
        let io = score(&q, &commits, &index, paths.len(), Some("core/io"), 0.0);
        assert!(io.iter().flatten().all(|h| h.dir.is_none()), "{io:?}");
        // `cor` is not `core`.
        let cor = score(&q, &commits, &index, paths.len(), Some("cor"), 0.0);
        assert!(cor.iter().flatten().all(|h| h.dir.is_none()), "{cor:?}");
        // The lexical part is unchanged: every `core` commit lends, the best (c3) first.
        assert_eq!(hits[0].as_ref().map(|h| h.commits), Some(2));
        assert!(
            hits[0]
                .as_ref()
                .is_some_and(|h| h.example.starts_with("c3 core: allow"))
        );
        // A directory share alone scores nothing lexically.
        let unlike = query_terms(&a, "signatures");
        let only_dir = score(&unlike, &commits, &index, paths.len(), Some("core"), 0.0);
        assert!(
            only_dir[1]
                .as_ref()
                .is_some_and(|h| h.score == 0.0 && h.dir.is_some())
        );
        // Fewer than three commits of the component that changed something under the indexed
        // root: no shares.
        let mut outside = commits.clone();
        outside[3].files.clear();
        let hits = score(&q, &outside, &index, paths.len(), Some("core"), 0.0);
        assert!(hits.iter().flatten().all(|h| h.dir.is_none()), "{hits:?}");
        commits.remove(3);
        let hits = score(&q, &commits, &index, paths.len(), Some("core"), 0.0);
        assert!(hits.iter().flatten().all(|h| h.dir.is_none()), "{hits:?}");
        // A commit of more than MAX_FILES files does not count.
        let many: Vec<String> = (0..=MAX_FILES).map(|i| format!("src/f{i}.c")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        commits.push(commit(&a, "c5", "core: reformat", &many));
        let hits = score(&q, &commits, &index, paths.len(), Some("core"), 0.0);
        assert!(hits.iter().flatten().all(|h| h.dir.is_none()), "{hits:?}");
    }

    #[test]
    fn who_signed_a_commit_lends_nothing() {
        let a = Analyzer::default();
        let commits = vec![
            commit(
                &a,
                "c1",
                "tcs: fix a leak\n\nSigned-off-by: Kent Yoder <key@linux.vnet.ibm.com>",
                &["src/tcs/leak.c"],
            ),
            commit(&a, "c2", "tspi: load the key once", &["src/tspi/key.c"]),
        ];
        let paths = ["src/tcs/leak.c", "src/tspi/key.c"];
        let index: HashMap<&str, usize> = paths.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        // The signer's name and mail host are not in c1's terms: a task naming them finds no
        // commit, and `key` finds only the commit about keys.
        let q = query_terms(&a, "Kent Yoder linux");
        assert!(
            score(&q, &commits, &index, 2, None, 0.0)
                .iter()
                .all(Option::is_none)
        );
        let q = query_terms(&a, "key");
        let hits = score(&q, &commits, &index, 2, None, 0.0);
        assert!(hits[0].is_none() && hits[1].is_some(), "{hits:?}");
        assert_eq!(commits[0].subject, "tcs: fix a leak");
    }
}
