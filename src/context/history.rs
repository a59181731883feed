//! The repository's history as a ranking signal: the files that past commits with messages
//! like the task changed.
//!
//! A task is often worded like the commits that touched the same code before it ("tail: …",
//! "http2: fix memory leak in …"), and those commits name the files. vibe reads the last
//! `context.history` non-merge commits of HEAD from git (`git log --name-only`), keeps their
//! message terms and paths in the index (`store::CommitRow`; when HEAD moves, only commits the
//! index does not hold are read), scores every commit's message against the task with BM25, and gives the
//! files of the best `TOP` commits a score: each commit's score divided by the square root of
//! how many files it changed, summed per file, scaled to at most 1. Without git, outside a
//! work tree, or with `context.history = 0`, there is no history and nothing changes.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::store::{self, CommitRow, Store};

use super::terms::{Analyzer, QueryTerm, Term};

/// How many of the best-matching commits lend their files a score.
const TOP: usize = 30;
/// BM25 over commit messages (short texts: the usual constants).
const K1: f64 = 1.2;
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

/// A file's history score and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// At most 1.
    pub score: f64,
    /// How many of the best-matching commits changed it.
    pub commits: usize,
    /// The best of them: short hash and subject.
    pub example: String,
}

/// Runs git in `root` with `input` on its standard input; its standard output when it succeeds.
fn git(root: &Path, args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    // A repository's own config must not make reading its log run anything: no signature
    // checks (`log.showSignature` runs `gpg.program`), no fsmonitor hook, no prompts.
    let mut child = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "log.showSignature=false",
            "-c",
            "core.fsmonitor=false",
        ])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let input = input.to_vec();
    // Written from a thread of its own, so that neither side waits on a full pipe.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    out.status.success().then_some(out.stdout)
}

/// The given commits (hashes), each with its message and the paths it changed relative to
/// `root`, read with one `git log`: `\x1e` hash `\x1f` message `\x1f`, then each path ended by
/// NUL.
fn read_commits(root: &Path, hashes: &[&str]) -> Option<Vec<(String, String, Vec<String>)>> {
    let mut input = hashes.join("\n");
    input.push('\n');
    let out = git(
        root,
        &[
            "log",
            "--stdin",
            "--no-walk=unsorted",
            "--no-ext-diff",
            "--no-textconv",
            "--no-renames",
            "--relative",
            "--name-only",
            "-z",
            "--format=%x1e%H%x1f%B%x1f",
        ],
        input.as_bytes(),
    )?;
    Some(parse_log(&String::from_utf8_lossy(&out)))
}

/// Parses `read_commits`'s output.
fn parse_log(out: &str) -> Vec<(String, String, Vec<String>)> {
    out.split('\u{1e}')
        .filter_map(|record| {
            let (hash, rest) = record.split_once('\u{1f}')?;
            let (message, files) = rest.rsplit_once('\u{1f}')?;
            let files = files
                .split('\0')
                .map(|f| f.trim_matches('\n'))
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect();
            Some((hash.trim().to_string(), message.trim().to_string(), files))
        })
        .collect()
}

fn to_row(analyzer: &Analyzer, hash: String, message: &str, files: Vec<String>) -> CommitRow {
    let mut counts: HashMap<Term, u32> = HashMap::new();
    let terms = analyzer.text_terms(message);
    for &t in &terms {
        *counts.entry(t).or_default() += 1;
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
        files: files.join("\n"),
    }
}

fn from_row(r: CommitRow) -> Commit {
    Commit {
        terms: store::decode_refs(&r.terms).collect(),
        files: r.files.lines().map(str::to_string).collect(),
        hash: r.hash,
        subject: r.subject,
        length: r.length,
    }
}

/// The last `max` non-merge commits of HEAD, newest first: from the index when HEAD has not
/// moved, else those of the stored ones that are still among them plus the others read from
/// git (after a new commit, only that one; on another branch or an older commit, only what the
/// index does not hold yet). Empty without git, outside a work tree, or in a repository without
/// commits. The index is updated when it can be written; `warn` hears when it cannot. Also
/// says how many commits were read from git.
pub fn load(
    root: &Path,
    store: &Store,
    max: usize,
    warn: &mut dyn FnMut(String),
) -> (Vec<Commit>, usize) {
    // Spawning git costs a few milliseconds: not outside a work tree (unless GIT_DIR says where).
    if max == 0
        || (std::env::var_os("GIT_DIR").is_none()
            && !std::fs::canonicalize(root)
                .unwrap_or_else(|_| root.to_path_buf())
                .ancestors()
                .any(|d| d.join(".git").exists()))
    {
        return (Vec::new(), 0);
    }
    // The root's path in the work tree ("" at its top), then HEAD.
    let Some(out) = git(
        root,
        &["rev-parse", "--show-prefix", "--verify", "--quiet", "HEAD"],
        b"",
    ) else {
        return (Vec::new(), 0);
    };
    let out = String::from_utf8_lossy(&out);
    let mut lines = out.lines();
    let in_subdirectory = !lines.next().unwrap_or("").is_empty();
    let head = lines.next().unwrap_or("").trim().to_string();
    if head.is_empty() {
        return (Vec::new(), 0);
    }
    let (stored_key, stored) = match store.history() {
        Ok(h) => h,
        Err(e) => {
            warn(format!("cannot read the stored history: {e}"));
            (None, Vec::new())
        }
    };
    // The stored history is the last `max` commits of a HEAD: "HASH MAX".
    let key = format!("{head} {max}");
    if stored_key.as_deref() == Some(key.as_str()) {
        return (stored.into_iter().map(from_row).collect(), 0);
    }
    let count = format!("--max-count={max}");
    // Below the top of the work tree, the commits that changed something under the root.
    let mut args = vec!["rev-list", "--no-merges", &count, &head, "--"];
    if in_subdirectory {
        args.push(".");
    }
    let Some(list) = git(root, &args, b"") else {
        return (Vec::new(), 0);
    };
    let list = String::from_utf8_lossy(&list);
    let hashes: Vec<&str> = list.split_whitespace().collect();
    let mut known: HashMap<String, CommitRow> =
        stored.into_iter().map(|r| (r.hash.clone(), r)).collect();
    let missing: Vec<&str> = hashes
        .iter()
        .copied()
        .filter(|h| !known.contains_key(*h))
        .collect();
    if !missing.is_empty() {
        let Some(log) = read_commits(root, &missing) else {
            return (Vec::new(), 0);
        };
        let analyzer = Analyzer::default();
        for (hash, msg, files) in log {
            known.insert(hash.clone(), to_row(&analyzer, hash, &msg, files));
        }
    }
    let rows: Vec<CommitRow> = hashes.iter().filter_map(|h| known.remove(*h)).collect();
    save(store, &key, &rows, warn);
    (rows.into_iter().map(from_row).collect(), missing.len())
}

fn save(store: &Store, head: &str, rows: &[CommitRow], warn: &mut dyn FnMut(String)) {
    if let Err(e) = store.put_history(head, rows) {
        warn(format!(
            "cannot store the history read from git (it is read again next time): {e}"
        ));
    }
}

/// Each candidate file's history score for the task (`None` for most). `index` maps a path to
/// its candidate; paths a commit changed that are no candidates (deleted since, or not ranked)
/// are skipped, and a commit with none is not scored.
pub fn score(
    query: &[QueryTerm],
    commits: &[Commit],
    index: &HashMap<&str, usize>,
    n: usize,
) -> Vec<Option<Hit>> {
    let mut out: Vec<Option<Hit>> = vec![None; n];
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
    let mut scored: Vec<(f64, usize, Vec<usize>)> = Vec::new();
    for (ci, c) in commits.iter().enumerate() {
        let mut s = 0.0;
        for q in query {
            let Ok(at) = c.terms.binary_search_by_key(&q.term, |&(t, _)| t) else {
                continue;
            };
            let tf = f64::from(c.terms[at].1);
            let d = df[&q.term];
            let idf = (1.0 + (docs - d + 0.5) / (d + 0.5)).ln();
            let norm = 1.0 - B + B * f64::from(c.length) / avg.max(1.0);
            s += idf * tf * (K1 + 1.0) / (tf + K1 * norm);
        }
        if s <= 0.0 {
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
            let hit = out[f].get_or_insert_with(|| Hit {
                score: 0.0,
                commits: 0,
                example: format!("{} {}", &c.hash[..c.hash.len().min(7)], c.subject),
            });
            hit.commits += 1;
        }
    }
    let max = sum.iter().copied().fold(0.0, f64::max);
    for (f, hit) in out.iter_mut().enumerate() {
        if let Some(h) = hit {
            h.score = sum[f] / max;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::terms::query_terms;

    #[test]
    fn git_log_output_is_read_into_commits() {
        let out = "\u{1e}abc123\u{1f}tail: detect closed stdout\n\nOn Solaris.\n\u{1f}\0\nsrc/tail.c\0NEWS\0\
                   \u{1e}def456\u{1f}doc: fix\n\u{1f}\0\ndoc/a b.texi\0\
                   \u{1e}0a1b2c\u{1f}empty commit\n\u{1f}";
        let log = parse_log(out);
        assert_eq!(
            log,
            vec![
                (
                    "abc123".to_string(),
                    "tail: detect closed stdout\n\nOn Solaris.".to_string(),
                    vec!["src/tail.c".to_string(), "NEWS".to_string()]
                ),
                (
                    "def456".to_string(),
                    "doc: fix".to_string(),
                    vec!["doc/a b.texi".to_string()]
                ),
                ("0a1b2c".to_string(), "empty commit".to_string(), vec![]),
            ]
        );
        assert!(parse_log("").is_empty());
    }

    fn commit(analyzer: &Analyzer, hash: &str, msg: &str, files: &[&str]) -> Commit {
        from_row(to_row(
            analyzer,
            hash.to_string(),
            msg,
            files.iter().map(|f| f.to_string()).collect(),
        ))
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
        let hits = score(&q, &commits, &index, paths.len());
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
        assert!(score(&q, &[], &index, 4).iter().all(Option::is_none));
        assert!(score(&[], &commits, &index, 4).iter().all(Option::is_none));
    }
}
