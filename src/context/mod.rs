//! The context loader: for a task, the files that matter, packed into an exact token budget.
//!
//! Flow: the caller brings the index up to date (`repomap::index`); [`build`] brings the
//! lexical index up to date for changed files (`lexicon`), ranks every candidate file for the
//! task (`rank`), then packs (`pack`): the best files in full (or, when a file is too large, its
//! matching definitions in full and the rest as signatures), then signature-only skeletons of
//! the next files, then repo-map lines for the rest, never over the budget. Counting is exact
//! for the chosen encoding; counts are cached in the index, and a miss costs only the count
//! (the token tables are built into the binary, `tokens::table`).

pub mod changelog;
pub mod history;
pub mod lexicon;
pub mod pack;
pub mod rank;
pub mod terms;
pub mod tokens;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::repomap::attributes::{Linguist, Marks};
use crate::repomap::extract::Symbol;
use crate::repomap::project::Project;
use crate::repomap::rank::{Edges, Graph, Input};
use crate::repomap::render;
use crate::store::{FileRow, LexiconDeep, LexiconRow, Store};

use pack::{Included, focused_block, full_block, partial_block};
use tokens::Encoding;

/// Schema of `vibe context --json`.
pub const SCHEMA: &str = "vibe.context/1";
/// At most this many files are listed in the JSON ranking.
pub const MAX_LISTED: usize = 200;
/// Shares of the budget: full or partial files up to the first, skeletons up to the second,
/// map lines for the rest.
const FULL_SHARE: f64 = 0.65;
const SKELETON_SHARE: f64 = 0.88;
/// How many files each tier tries and cannot include before it gives up (each try may cost
/// the tokenizer time); files it includes do not count, so a large budget holds as many as
/// fit.
const FULL_TRIES: usize = 24;
const SKELETON_TRIES: usize = 48;
/// Definitions per file in the map section.
const MAP_SYMBOLS: usize = 4;
/// Non-source files worth ranking (by the index's file type).
const TEXT_TYPES: &[&str] = &[
    "markdown",
    "md",
    "rst",
    "toml",
    "yaml",
    "yml",
    "cfg",
    "ini",
    "sh",
    "bash",
    "zsh",
    "fish",
    "makefile",
    "mk",
    "cmake",
    "am",
    "ac",
    "bzl",
    "bazel",
    "dockerfile",
    "sql",
    "proto",
    "graphql",
    "gql",
    "gradle",
    "css",
    "scss",
    "sass",
    "less",
    "html",
];

/// How many warnings a context carries at most (then one line says how many more there were).
const MAX_WARNINGS: usize = 20;

/// Errors that are the caller's to fix (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the task is empty\nhint: describe the change, e.g. vibe context \"fix the decoder's error position\""
    )]
    EmptyTask,
    #[error("the budget must be at least 1 token (--budget or context.budget)")]
    ZeroBudget,
    #[error(
        "a budget of {budget} token{} is too small for even one file header (the best-ranked file's takes {needed} tokens: {path})\nhint: give a larger --budget", if *budget == 1 { "" } else { "s" }
    )]
    BudgetTooSmall {
        budget: usize,
        needed: usize,
        path: String,
    },
}

pub struct Request<'a> {
    pub task: &'a str,
    pub budget: usize,
    pub encoding: Encoding,
    /// Files already in the prompt (a chat's `/add`ed files): ranked as usual, never packed.
    pub exclude: &'a [String],
    /// How many of the repository's latest commits the ranking learns from (`context.history`;
    /// 0: none).
    pub history: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileOut {
    pub path: String,
    pub rank: usize,
    pub score: f64,
    pub included: Included,
    pub tokens: usize,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Packed {
    pub schema: &'static str,
    pub budget: usize,
    pub used_tokens: usize,
    pub encoding: &'static str,
    pub files: Vec<FileOut>,
    pub context: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub timings: Timings,
}

#[derive(Debug, Clone, Default)]
pub struct Timings {
    pub lexicon_ms: f64,
    pub lexicon_files: usize,
    pub history_ms: f64,
    pub history_commits: usize,
    /// Commits read from git (or the ChangeLogs) this run (the rest came from the index).
    pub history_read: usize,
    /// Where the history comes from: "git" or "ChangeLog".
    pub history_source: &'static str,
    /// Candidate files changed in the work tree and not committed (see `recently_changed`);
    /// `None` when git was not asked (no history, or no weight for recent changes).
    pub uncommitted: Option<usize>,
    pub rank_ms: f64,
    /// Reading or building the file graph (part of `rank_ms`), and keeping it when built (after
    /// packing).
    pub graph_ms: f64,
    /// How the file graph came: "read" (kept by the index), "built" (this run), or "not
    /// needed" (no file seeded it).
    pub graph: &'static str,
    pub pack_ms: f64,
    pub tokenizer_misses: usize,
}

/// Build files known by their whole name, which gives them no type of their own (Bazel's).
const BUILD_NAMES: &[&str] = &["BUILD", "WORKSPACE"];

fn candidate(f: &FileRow) -> bool {
    f.skip_reason.is_none()
        && f.hash.is_some()
        && (rank::is_source(f)
            || TEXT_TYPES.contains(&f.ftype.as_str())
            || BUILD_NAMES.contains(&f.path.rsplit('/').next().unwrap_or_default()))
}

/// A file as the ranking sees it: its lexicon entry (if built from its content) and whether
/// it is an entry point.
fn candidate_of<'a>(
    f: &'a FileRow,
    lex_by_id: &HashMap<i64, &'a LexiconRow>,
    entry: &HashSet<&str>,
    marks: Marks,
) -> rank::Candidate<'a> {
    rank::Candidate {
        file: f,
        lexicon: lex_by_id
            .get(&f.id)
            .filter(|r| Some(&r.hash) == f.hash.as_ref())
            .map(|r| rank::Lexicon {
                terms: &r.terms,
                length: r.length,
                passages: r.passages,
                passage_terms: r.passage_terms,
            }),
        entry_point: entry.contains(f.path.as_str()),
        marks,
    }
}

fn read_text(root: &Path, path: &str) -> Option<String> {
    std::fs::read(crate::repomap::walk::on_disk(root, path))
        .ok()
        .map(|b| crate::repomap::lf_lines(String::from_utf8_lossy(&b)).into_owned())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// A file graph built this run, for the index to keep: its key and its bytes.
type GraphToKeep = (String, Vec<u8>);

/// The file graph of the candidates (see `repomap::rank::Graph`): the one the index keeps when
/// it was built by the same `GRAPH_VERSION` from the same graph generation and candidates,
/// else built from every file's references and imports and returned with its key and bytes,
/// for the caller to keep once its read snapshot is over. A kept graph that does not read back
/// as a graph `Graph::build` could make (see `Edges::from_bytes`) is built again.
fn file_graph(
    reader: &crate::store::Reader,
    candidates: &[rank::Candidate],
) -> anyhow::Result<(Edges, Option<GraphToKeep>)> {
    let ids: Vec<i64> = candidates.iter().map(|c| c.file.id).collect();
    let mut hasher = blake3::Hasher::new();
    for id in &ids {
        hasher.update(&id.to_le_bytes());
    }
    let key = format!(
        "{}:{}:{}",
        crate::repomap::rank::GRAPH_VERSION,
        reader.graph_generation()?,
        hasher.finalize().to_hex()
    );
    if let Some(edges) = reader
        .file_graph(&key)?
        .and_then(|b| Edges::from_bytes(&b, ids.len()))
    {
        return Ok((edges, None));
    }
    let (rows, imports) = (reader.graph()?, reader.edges()?);
    let common = reader.name_ids(crate::repomap::rank::COMMON_METHODS)?;
    let families: Vec<u8> = candidates
        .iter()
        .map(|c| crate::repomap::rank::family(c.file.language.as_deref()))
        .collect();
    let graph = Graph::build(&Input {
        files: &ids,
        graph: &rows,
        edges: &imports,
        common: &common,
        families: &families,
    });
    let keep = graph.edges.to_bytes().map(|data| (key, data));
    Ok((graph.edges, keep))
}

/// A file's lexicon entry, as an analysis makes it.
pub type Analysed = (LexiconRow, LexiconDeep);

/// Brings the lexicon up to date with the index: analyses every candidate file whose content
/// changed since its entry was built, and counts (in `encoding`) the blocks the packer can make
/// of it without a task: the whole file, its skeleton and its map lines, so that packing a new
/// task rarely needs the tokenizer. Returns the entries it made; when the index cannot be
/// written (a read-only checkout), they are still returned, for this run to use.
pub fn refresh_lexicon(
    root: &Path,
    store: &Store,
    files: &[FileRow],
    stored: &[LexiconRow],
    encoding: Encoding,
) -> anyhow::Result<Vec<Analysed>> {
    let (todo, symbols) = {
        let reader = store.read()?;
        let built_from: HashMap<i64, &[u8]> = stored
            .iter()
            .map(|r| (r.file_id, r.hash.as_slice()))
            .collect();
        let todo: Vec<&FileRow> = files
            .iter()
            .filter(|f| candidate(f) && built_from.get(&f.id).copied() != f.hash.as_deref())
            .collect();
        let ids: Vec<i64> = todo.iter().map(|f| f.id).collect();
        let mut symbols: HashMap<i64, Vec<Symbol>> = HashMap::new();
        if !ids.is_empty() {
            for s in reader.symbols(if ids.len() > 200 { None } else { Some(&ids) })? {
                symbols.entry(s.file_id).or_default().push(s.symbol);
            }
        }
        (todo, symbols)
    };
    if todo.is_empty() {
        return Ok(Vec::new());
    }
    let count = |text: &str| -> u32 { encoding.count(text) as u32 };
    let results: Vec<(Analysed, Vec<(i64, u32)>)> = todo
        .par_iter()
        .map_init(
            || (terms::Analyzer::default(), HashMap::new()),
            |(analyzer, cache), f| {
                let syms = symbols.get(&f.id).map(Vec::as_slice).unwrap_or(&[]);
                let (text, e) = analyse_file(analyzer, cache, root, f, syms);
                let lang = pack::fence_language(f.language.as_deref(), &f.path);
                let mut counts = Vec::new();
                let full = full_block(&f.path, lang, &text);
                counts.push((tokens::block_key(encoding, &full), count(&full)));
                if !syms.is_empty() {
                    let (skeleton, _) = partial_block(&f.path, lang, &text, syms, &[]);
                    counts.push((tokens::block_key(encoding, &skeleton), count(&skeleton)));
                }
                for line in map_lines_for(&f.path, syms) {
                    let n = count(&format!("{line}\n"));
                    counts.push((tokens::line_key(encoding, &line), n));
                }
                let (passages, passage_terms) = e.passage_stats();
                let row = LexiconRow {
                    file_id: f.id,
                    hash: f.hash.clone().unwrap_or_default(),
                    length: e.length,
                    passages,
                    passage_terms,
                    terms: e.blob,
                };
                let deep = LexiconDeep {
                    chunks: e.chunks,
                    names: e.names,
                };
                ((row, deep), counts)
            },
        )
        .collect();
    let (rows, counts): (Vec<Analysed>, Vec<Vec<(i64, u32)>>) = results.into_iter().unzip();
    if let Err(e) = store.put_lexicon(&rows) {
        tracing::warn!("the lexical index was not saved ({e}); this run uses it unsaved");
        return Ok(rows);
    }
    let counts: Vec<(i64, u32)> = counts.into_iter().flatten().collect();
    if let Err(e) = store.put_token_counts(&counts) {
        tracing::debug!("token counts not saved: {e}");
    }
    Ok(rows)
}

/// Reads a file and builds its lexicon entry, its defined names being `syms`'.
fn analyse_file(
    analyzer: &terms::Analyzer,
    cache: &mut HashMap<String, Vec<terms::Term>>,
    root: &Path,
    f: &FileRow,
    syms: &[Symbol],
) -> (String, lexicon::Entry) {
    let text = read_text(root, &f.path).unwrap_or_default();
    let e = lexicon::analyse(
        analyzer,
        cache,
        &f.path,
        &text,
        syms.iter().map(|s| s.name.as_str()),
    );
    (text, e)
}

/// What a definition around a line the task names counts for in the packer, above any number of
/// task terms it could match.
const AT_NAMED_LINE: usize = 1000;

/// Of the files named with lines, how many have room held for them in tier 1.
const MAX_HELD: usize = 8;

/// Room is held for a named file's lines when they take at most this share of the budget
/// (one over it).
const HELD_SHARE: usize = 4;

/// The lines of `lines` (named by the task) that the file has and that no definition holds,
/// sorted, each once.
fn loose_lines(symbols: &[Symbol], lines: &[u32], file_lines: u64) -> Vec<usize> {
    let mut loose: Vec<usize> = lines
        .iter()
        .filter(|&&l| {
            (1..=file_lines).contains(&u64::from(l)) && enclosing(symbols, &[l]).is_empty()
        })
        .map(|&l| l as usize)
        .collect();
    loose.sort_unstable();
    loose.dedup();
    loose
}

/// Whether definition `outer` spans definition `inner` (and is not it).
fn encloses(symbols: &[Symbol], outer: usize, inner: usize) -> bool {
    let (o, i) = (&symbols[outer], &symbols[inner]);
    outer != inner
        && o.line <= i.line
        && i.end_line <= o.end_line
        && (o.line, o.end_line) != (i.line, i.end_line)
}

/// For each line, the innermost definition that spans it (the shortest; the later one on a tie).
fn enclosing(symbols: &[Symbol], lines: &[u32]) -> Vec<usize> {
    let mut out: Vec<usize> = lines
        .iter()
        .filter_map(|&l| {
            symbols
                .iter()
                .enumerate()
                .filter(|(_, s)| s.line <= l && l <= s.end_line)
                .min_by_key(|(i, s)| (s.end_line - s.line, std::cmp::Reverse(*i)))
                .map(|(i, _)| i)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// How many of the best-ranked files lend their past companions a score.
const CHANGED_WITH_SEEDS: usize = 2;

/// Files that past commits changed together with the two best-ranked ones rank higher (see
/// `history::changed_with`): 0.3 × their share (`rank::cochange_weights`; times the text prior
/// for a file that is not source code), added after the rest of the ranking, up to just below
/// the best file's score.
fn changed_with_best(
    ranking: &mut rank::Ranking,
    candidates: &[rank::Candidate],
    commits: &[history::Commit],
    index: &HashMap<&str, usize>,
) {
    let (weight, text) = rank::cochange_weights();
    if commits.is_empty() || ranking.files.is_empty() || weight <= 0.0 {
        return;
    }
    let seeds: Vec<(usize, f64)> = ranking
        .files
        .iter()
        .take(CHANGED_WITH_SEEDS)
        .map(|s| (s.index, s.score))
        .collect();
    let lent = history::changed_with(commits, index, &seeds);
    if lent.is_empty() {
        return;
    }
    // Co-change reorders what follows the best file, never the best file itself: lifting a
    // companion past it cost recall@1 on every kind of history measured and gained no recall@5
    // (docs/context.md, "Real git histories").
    let (best, below_best) = (ranking.files[0].index, ranking.files[0].score.next_down());
    let mut at: HashMap<usize, usize> = ranking
        .files
        .iter()
        .enumerate()
        .map(|(pos, s)| (s.index, pos))
        .collect();
    for (f, share, seed, both, all) in lent {
        let pos = *at.entry(f).or_insert_with(|| {
            ranking.files.push(rank::Scored::unscored(f));
            ranking.files.len() - 1
        });
        let s = &mut ranking.files[pos];
        let lifted = s.score + weight * share * rank::lent_prior(&candidates[f], text);
        let cap = below_best.max(s.score);
        s.score = lifted.min(cap);
        s.reasons.push(format!(
            "changed together with {} in {both} of its {all} past commits (co-change {share:.2}{})",
            candidates[seed].file.path,
            if lifted > cap && cap == below_best {
                format!(", kept below {}", candidates[best].file.path)
            } else {
                String::new()
            }
        ));
    }
    rank::sort(&mut ranking.files, candidates);
}

/// Among how many of the best-ranked files the best source file's test is looked for.
const PAIRED_TEST_WITHIN: usize = 60;

/// The test named after the best source file (`test_parser.py`, `parser_test.go`,
/// `ParserTest.java` for `parser.*`; see `project::tested_name`), when it ranks below 5th among
/// the best 60, comes up to 5th (`rank::paired_test_place`): a change to a file often changes
/// its test, and the test's own words rarely match the task as well as the code's. The best
/// source file is the best-ranked of the first three that is source code and not a test. Taking
/// the 5th place, the test displaces the file ranked least likely of the five; recall@1 never
/// changes (docs/context.md, "Tests and vendored code").
fn test_of_best(ranking: &mut rank::Ranking, candidates: &[rank::Candidate]) {
    use crate::repomap::project::{is_test_path, tests_pair};
    let place = rank::paired_test_place();
    if place == 0 || ranking.files.len() <= place {
        return;
    }
    let source = |s: &rank::Scored| {
        let f = candidates[s.index].file;
        rank::is_source(f) && !is_test_path(&f.path)
    };
    let Some(best) = ranking.files.iter().take(3).find(|s| source(s)) else {
        return;
    };
    // A parsed file pairs with a parsed test (a JavaScript file's test may be TypeScript), and
    // code vibe does not parse with a test of its own type (a Ruby file's spec, not a C file's
    // Tcl test).
    fn kind(f: &FileRow) -> Option<&str> {
        f.language.is_none().then_some(f.ftype.as_str())
    }
    let best_file = candidates[best.index].file;
    let best_path = &best_file.path;
    let Some(pos) = ranking.files.iter().take(PAIRED_TEST_WITHIN).position(|s| {
        let f = candidates[s.index].file;
        rank::is_source(f) && kind(f) == kind(best_file) && tests_pair(&f.path, best_path)
    }) else {
        return;
    };
    // Never above a file the task names: those come first.
    let named = ranking.files.iter().take_while(|s| s.named).count();
    let at = (place - 1).max(named);
    if pos <= at {
        return;
    }
    let reason = format!(
        "the test named after {best_path}, the best source file (moved up to {})",
        ordinal(place)
    );
    let mut test = ranking.files.remove(pos);
    // Level with the file it goes above, so that the scores stay in order.
    test.score = ranking.files[at].score;
    test.reasons.push(reason);
    ranking.files.insert(at, test);
}

/// `1st`, `2nd`, `3rd`, `4th`, … for the few places a reason names.
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// How many of the best-ranked files the recency of their last change can reorder.
const RECENT_TOP: usize = 60;
/// A file changed this many commits ago counts half as recent as one HEAD changed.
const RECENT_HALF: f64 = 5.0;

/// The best-ranked files that recent commits changed rank higher: 0.3 × 1 / (1 + age / 5)
/// (`rank::recent_weights`; times the text prior for a file that is not source code), the
/// age being how many commits ago the file last changed (0 for HEAD's own, one of at most
/// 100 files), and the list re-sorted. A file changed in the work tree and not committed
/// (`uncommitted`, candidate indexes) counts as HEAD's own: work in progress. Only the best
/// `RECENT_TOP` files of the ranking move, before co-change adds its companions: a recent
/// change says which of the files the task matches it is about, not that a file the task does
/// not match is.
fn recently_changed(
    ranking: &mut rank::Ranking,
    candidates: &[rank::Candidate],
    commits: &[history::Commit],
    index: &HashMap<&str, usize>,
    uncommitted: &HashSet<usize>,
) {
    let (weight, text) = rank::recent_weights();
    if (commits.is_empty() && uncommitted.is_empty()) || weight <= 0.0 {
        return;
    }
    let last = history::last_changed(commits, index);
    let mut lifted = false;
    for s in ranking.files.iter_mut().take(RECENT_TOP) {
        // No age: not committed yet, as recent as it gets.
        let age = match (uncommitted.contains(&s.index), last.get(&s.index)) {
            (true, _) => None,
            (false, Some(&age)) => Some(age),
            (false, None) => continue,
        };
        let recency = age.map_or(1.0, |age| 1.0 / (1.0 + age as f64 / RECENT_HALF));
        let lift = weight * recency * rank::lent_prior(&candidates[s.index], text);
        s.score += lift;
        lifted = true;
        // On a long history nearly every file changed some time: a lift too small to show, as
        // for the graph's, is not listed.
        if lift <= rank::SHOWN {
            continue;
        }
        let when = match age {
            None => "in the work tree, not committed yet".to_string(),
            Some(n) => {
                let back = match n {
                    0 => "in the last commit".to_string(),
                    1 => "1 commit before the last".to_string(),
                    n => format!("{n} commits before the last"),
                };
                format!("{back}, {}", commits[n].label())
            }
        };
        s.reasons
            .push(format!("changed {when} (recent {recency:.2})"));
    }
    if lifted {
        rank::sort(&mut ranking.files, candidates);
    }
}

/// What a file gains from a commit the task refers to (by its hash, or as the last commit),
/// shared out when the commit changed more than `REFERRED_FILES` files; from a commit that
/// names an issue the task names, `REFERRED_ISSUE`.
const REFERRED: f64 = 1.0;
const REFERRED_ISSUE: f64 = 0.5;
const REFERRED_FILES: usize = 5;
/// Of the commits a task names by hash, the first this many count (a pasted `git log` names
/// dozens); of the commits naming its issues, the newest this many.
const REFERRED_COMMITS: usize = 5;
/// Of the words of a task that may be hashes, the first this many are looked up in the
/// history (another repository's hashes, a container's or a UUID's pieces name no commit).
const HASH_WORDS: usize = 200;

/// How the task refers to a past commit.
enum Referred {
    /// By its hash.
    Hash,
    /// As the last commit.
    Last,
    /// By an issue both name (`#13`).
    Issue(String),
    /// By its subject, as a revert (true) or a reland quotes it.
    Subject(bool),
}

/// The files of the commits the task refers to gain `REFERRED` each (times the text prior for a
/// file that is not source code; times `REFERRED_FILES` / files when the commit changed more than
/// that many, of at most `history::MAX_FILES`), those the task does not match too: which files
/// the task is about is what it says. It refers to a commit of the history by its hash (at
/// least 7 digits, naming one commit alone, the first `REFERRED_COMMITS` such: "fixes a
/// regression from 5f11478", `Fixes:`, `This reverts commit …`; `raw` is the task as written,
/// before `git revert`'s line left it), by the subject a revert or reland quotes
/// (`terms::reverted_subject`: `Revert "…"`), and to the newest one as "the previous commit"
/// (`terms::refers_to_last_commit`). The newest
/// commits that name an issue the task names (`terms::tracker_refs`: "Work on issue #13",
/// `gh-13`, `Closes: #13`) lend `REFERRED_ISSUE` the same way: earlier work on the same issue.
fn commits_referred(
    ranking: &mut rank::Ranking,
    candidates: &[rank::Candidate],
    commits: &[history::Commit],
    index: &HashMap<&str, usize>,
    task: &str,
    raw: &str,
) {
    if commits.is_empty() {
        return;
    }
    let mut referred: Vec<(usize, Referred)> = Vec::new();
    let words = terms::commit_hashes(raw, HASH_WORDS);
    if !words.is_empty() {
        let mut by_hash: Vec<(&str, usize)> = commits
            .iter()
            .enumerate()
            .map(|(k, c)| (c.hash.as_str(), k))
            .collect();
        by_hash.sort_unstable();
        let named = words.iter().filter_map(|w| {
            // The commits whose hashes start with the word: one, or it names none.
            let from = by_hash.partition_point(|(h, _)| *h < w.as_str());
            let mut found = by_hash[from..]
                .iter()
                .take_while(|(h, _)| h.starts_with(w.as_str()));
            match (found.next(), found.next()) {
                (Some(&(_, k)), None) => Some(k),
                _ => None,
            }
        });
        referred.extend(named.take(REFERRED_COMMITS).map(|k| (k, Referred::Hash)));
    }
    // The task was read as [`readable_task`] reads it (typographic quotes as ASCII ones, …):
    // so is the subject it quotes, for `Revert "Don’t crash on “weird” input"`.
    if let Some((subject, reverts)) = terms::reverted_subject(raw)
        && let Some(k) = commits
            .iter()
            .position(|c| readable_task(&c.subject) == subject)
    {
        referred.push((k, Referred::Subject(reverts)));
    }
    if terms::refers_to_last_commit(task) {
        referred.push((0, Referred::Last));
    }
    let issues = terms::tracker_refs(raw, terms::MAX_REFS);
    for (k, r) in history::commits_naming(commits, &issues, REFERRED_COMMITS) {
        referred.push((k, Referred::Issue(issues[r].clone())));
    }
    let (_, text) = rank::recent_weights();
    let mut lifted = false;
    let mut seen: HashSet<usize> = HashSet::new();
    for (k, how) in referred {
        let commit = &commits[k];
        if commit.files.len() > history::MAX_FILES || !seen.insert(k) {
            continue;
        }
        let weight = match how {
            Referred::Issue(_) => REFERRED_ISSUE,
            _ => REFERRED,
        };
        let share = weight * (REFERRED_FILES as f64 / commit.files.len() as f64).min(1.0);
        let label = commit.label();
        let reason = match how {
            Referred::Hash => format!("changed by {label}, which the task names"),
            Referred::Last => {
                format!("changed by the last commit, which the task refers to: {label}")
            }
            Referred::Issue(r) => format!("changed by {label}, which names {r} as the task does"),
            Referred::Subject(true) => format!("changed by {label}, which the task reverts"),
            Referred::Subject(false) => {
                format!("changed by {label}, which the task applies again")
            }
        };
        for path in &commit.files {
            let Some(&i) = index.get(path.as_str()) else {
                continue;
            };
            let lift = share * rank::lent_prior(&candidates[i], text);
            let at = match ranking.files.iter().position(|s| s.index == i) {
                Some(at) => at,
                None => {
                    ranking.files.push(rank::Scored::unscored(i));
                    ranking.files.len() - 1
                }
            };
            let s = &mut ranking.files[at];
            s.score += lift;
            s.reasons.push(reason.clone());
            lifted = true;
        }
    }
    if lifted {
        rank::sort(&mut ranking.files, candidates);
    }
}

/// Of the best `RECENT_TOP` files, those changed and not committed (`history::uncommitted`):
/// asked of git only with a history (`head`) and a weight for recent changes (`None`
/// otherwise).
fn work_in_progress(
    root: &Path,
    head: Option<&str>,
    ranking: &rank::Ranking,
    candidates: &[rank::Candidate],
    index: &HashMap<&str, usize>,
) -> Result<Option<HashSet<usize>>, String> {
    let Some(head) = head.filter(|_| rank::recent_weights().0 > 0.0) else {
        return Ok(None);
    };
    let best: Vec<&str> = ranking
        .files
        .iter()
        .take(RECENT_TOP)
        .map(|s| candidates[s.index].file.path.as_str())
        .collect();
    Ok(Some(
        history::uncommitted(root, head, &best)?
            .iter()
            .filter_map(|p| index.get(p.as_str()).copied())
            .collect(),
    ))
}

/// Characters that show nothing and separate nothing a reader sees: a byte-order mark (a task
/// file saved as "UTF-8 with BOM" starts with one), zero-width spaces, word joiners. In a task
/// they separate words, as the space a reader takes them for.
fn invisible(c: char) -> bool {
    matches!(c, '\u{feff}' | '\u{200b}' | '\u{2060}')
}

/// The task as it is read: invisible characters (see [`invisible`]) as spaces, so that a
/// byte-order mark does not stick to the path the task starts with; a terminal's colour and
/// cursor sequences (a log pasted from CI, `CARGO_TERM_COLOR=always`) left out, so that
/// `\x1b[31mpolls/models.py\x1b[0m:3` is `polls/models.py:3`; typographic quotes as ASCII
/// ones, and the brackets and sentence marks of other scripts (`«»`, `「」`, `（）`, `。`, `，`)
/// as spaces, so that a path written in them (`“polls/models.py”`, `models.py。`) is one.
fn readable_task(task: &str) -> std::borrow::Cow<'_, str> {
    static ESCAPES: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        // OSC (`\x1b]0;title\x07`, a link) with its end; one without an end is only its
        // two characters (the text after it is the task's).
        regex::Regex::new(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
            .expect("a valid pattern")
    });
    let odd = |c: char| {
        invisible(c)
            || matches!(
                c,
                '\u{1b}'
                    | '“'
                    | '”'
                    | '„'
                    | '‘'
                    | '’'
                    | '‚'
                    | '«'
                    | '»'
                    | '「'
                    | '」'
                    | '『'
                    | '』'
                    | '（'
                    | '）'
                    | '【'
                    | '】'
                    | '。'
                    | '，'
                    | '、'
                    | '；'
                    | '！'
                    | '？'
            )
    };
    if !task.contains(odd) {
        return task.into();
    }
    let plain = ESCAPES.replace_all(task, "");
    plain
        .chars()
        .map(|c| match c {
            '“' | '”' | '„' => '"',
            '‘' | '’' | '‚' => '\'',
            c if odd(c) => ' ',
            c => c,
        })
        .collect::<String>()
        .into()
}

/// The request's own mistakes, found before any work.
pub fn check(req: &Request) -> Result<(), Error> {
    // Nothing but blanks, control characters (NUL) and invisible ones is no task.
    if req
        .task
        .chars()
        .all(|c| c.is_whitespace() || c.is_control() || invisible(c))
    {
        return Err(Error::EmptyTask);
    }
    if req.budget == 0 {
        return Err(Error::ZeroBudget);
    }
    Ok(())
}

/// Ranks and packs the context for a task. The index must be fresh (see `repomap::index`).
pub fn build(root: &Path, store: &Store, req: &Request) -> anyhow::Result<Packed> {
    check(req)?;
    let task = readable_task(req.task);
    let req = &Request {
        task: &task,
        ..*req
    };

    let mut timings = Timings::default();
    let t = Instant::now();
    // One read of the file list serves the lexicon refresh and the ranking (the index run
    // before this one has settled it; the refresh only writes lexicon rows).
    let all_files: Vec<FileRow> = store.read()?.files()?;
    // The Linguist marks of the files that may be ranked, looked up beside the lexicon and the
    // history (a stat per directory: ~30 ms on a tree of 20,000 directories).
    let linguist = {
        let root = root.to_path_buf();
        let paths: Vec<String> = all_files
            .iter()
            .filter(|f| candidate(f))
            .map(|f| f.path.clone())
            .collect();
        std::thread::spawn(move || Linguist::load(&root, paths.iter().map(String::as_str)))
    };
    // One read of the lexicon serves the refresh (which entries are stale) and the ranking.
    let lex: Vec<LexiconRow> = store.lexicon()?;
    let fresh = refresh_lexicon(root, store, &all_files, &lex, req.encoding)?;
    timings.lexicon_files = fresh.len();
    timings.lexicon_ms = ms(t);

    // Before the read snapshot below: this may write the history it read to the index.
    let t = Instant::now();
    let mut history_warnings: Vec<String> = Vec::new();
    // A tree without git's history reads its ChangeLogs' (a release tarball's).
    let history::History {
        mut commits,
        moved,
        read,
        source,
        head,
    } = history::load(root, store, req.history, &all_files, &mut |w| {
        history_warnings.push(w)
    });
    timings.history_commits = commits.len();
    timings.history_read = read;
    timings.history_source = source;
    timings.history_ms = ms(t);

    let t = Instant::now();
    let reader = store.read()?;
    // What the ranking reads of the task: without trailers and mail addresses (a commit message
    // pasted whole), which name people rather than code, and with brace lists written out
    // (`src/{parser,lexer}.c` names both files).
    let task = terms::without_trailers(req.task);
    let task = terms::with_braces_expanded(&task);
    let task = task.as_ref();
    let (mut files, not_ranked): (Vec<FileRow>, Vec<FileRow>) =
        all_files.into_iter().partition(candidate);
    // Text files of the types vibe does not rank that the task names (`package.json`,
    // `pom.xml`, `debian/rules`) are ranked too, after the others (the file graph is the
    // others'), and come first as any named file does.
    let (texts, mut not_ranked): (Vec<FileRow>, Vec<FileRow>) = not_ranked
        .into_iter()
        .partition(|f| f.skip_reason.is_none() && f.hash.is_some());
    // Entries of this run win over stored ones (the same, unless they could not be saved).
    let mut lex_by_id: HashMap<i64, &LexiconRow> = lex.iter().map(|r| (r.file_id, r)).collect();
    lex_by_id.extend(fresh.iter().map(|(r, _)| (r.file_id, r)));
    let project = Project::from_meta(reader.meta("project")?);
    let entry: HashSet<&str> = project
        .entry_points
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    let regular = files.len();
    let (mut named, mut warnings) = {
        let naming: Vec<rank::Candidate> = files
            .iter()
            .chain(&texts)
            .map(|f| candidate_of(f, &lex_by_id, &entry, Marks::default()))
            .collect();
        let others: Vec<(&str, &str)> = not_ranked
            .iter()
            .map(|f| {
                let why = match f.skip_reason.as_deref() {
                    Some("too_large") => "it is larger than map.max_file_size",
                    Some("binary") => "it is binary",
                    Some("unreadable") => "it cannot be read",
                    _ => "it was skipped",
                };
                (f.path.as_str(), why)
            })
            .collect();
        let root_name = root.file_name().and_then(|n| n.to_str());
        rank::named_files_in(root_name, task, &naming, regular, &others)
    };
    // The named text files join the candidates, in their order; `place` is where each went.
    let mut is_named = vec![false; texts.len()];
    for n in named.iter().filter(|n| n.index >= regular) {
        is_named[n.index - regular] = true;
    }
    let mut place = vec![0; texts.len()];
    for (k, f) in texts.into_iter().enumerate() {
        if is_named[k] {
            place[k] = files.len();
            files.push(f);
        } else {
            not_ranked.push(f);
        }
    }
    for n in named.iter_mut().filter(|n| n.index >= regular) {
        n.index = place[n.index - regular];
    }
    let linguist = linguist.join().unwrap_or_default();
    let candidates: Vec<rank::Candidate> = files
        .iter()
        .map(|f| candidate_of(f, &lex_by_id, &entry, linguist.marks(&f.path)))
        .collect();
    let analyzer = terms::Analyzer::default();
    let query = terms::query_terms(&analyzer, task);
    warnings.extend(history_warnings);
    let path_index: HashMap<&str, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.file.path.as_str(), i))
        .collect();
    // Asked only of paths a rename left behind: a scan of the few unranked files is enough.
    history::follow_moves(&mut commits, &moved, |p| {
        path_index.contains_key(p) || not_ranked.iter().any(|f| f.path == p)
    });
    let component = rank::component_here(rank::component_of(task), &candidates);
    let past = history::score(
        &query,
        &commits,
        &path_index,
        candidates.len(),
        component.as_deref(),
        rank::history_confident(),
    );
    let t_rank = Instant::now();
    // The file graph, read or built only if the ranking asks (a task that matches nothing
    // seeds no graph).
    let mut graph_to_keep: Option<GraphToKeep> = None;
    let (mut graph_ms, mut graph_how) = (0.0, "not needed");
    let mut graph_of = || -> anyhow::Result<Edges> {
        let t = Instant::now();
        let (mut graph, keep) = file_graph(&reader, &candidates[..regular])?;
        graph.add_files(candidates.len() - regular);
        graph_how = if keep.is_some() { "built" } else { "read" };
        graph_to_keep = keep;
        graph_ms = ms(t);
        Ok(graph)
    };
    // Passages and names: this run's own for the files it analysed, else the index's (built
    // from the content the ranking uses), else analysed now: a file another run re-indexed
    // and re-analysed since this run read the lexicon has none for the content it ranks.
    let fresh_deep: HashMap<i64, &LexiconDeep> =
        fresh.iter().map(|(r, deep)| (r.file_id, deep)).collect();
    let mut deep_of = |at: &[usize]| -> anyhow::Result<HashMap<usize, LexiconDeep>> {
        let mut out = HashMap::new();
        let mut ask: Vec<(usize, i64, &[u8])> = Vec::new();
        for &i in at {
            let f = candidates[i].file;
            if let Some(deep) = fresh_deep.get(&f.id) {
                out.insert(i, (*deep).clone());
            } else if let Some(hash) = &f.hash {
                ask.push((i, f.id, hash));
            }
        }
        let mut stored =
            reader.lexicon_deep(&ask.iter().map(|&(_, id, h)| (id, h)).collect::<Vec<_>>())?;
        let mut missing: Vec<(usize, &FileRow)> = Vec::new();
        for (i, id, _) in ask {
            match stored.remove(&id) {
                Some(deep) => {
                    out.insert(i, deep);
                }
                None => missing.push((i, candidates[i].file)),
            }
        }
        if !missing.is_empty() {
            tracing::debug!("{} files' passages analysed again", missing.len());
            let ids: Vec<i64> = missing.iter().map(|(_, f)| f.id).collect();
            let mut symbols: HashMap<i64, Vec<Symbol>> = HashMap::new();
            for s in reader.symbols(Some(&ids))? {
                symbols.entry(s.file_id).or_default().push(s.symbol);
            }
            let (analyzer, mut cache) = (terms::Analyzer::default(), HashMap::new());
            for (i, f) in missing {
                let syms = symbols.get(&f.id).map(Vec::as_slice).unwrap_or(&[]);
                let (_, e) = analyse_file(&analyzer, &mut cache, root, f, syms);
                out.insert(
                    i,
                    LexiconDeep {
                        chunks: e.chunks,
                        names: e.names,
                    },
                );
            }
        }
        Ok(out)
    };
    let mut ranking = rank::rank(
        task,
        component.as_deref(),
        &query,
        &candidates,
        &named,
        &mut graph_of,
        &past,
        &mut deep_of,
    )?;
    timings.graph_ms = graph_ms;
    timings.graph = graph_how;
    // Lines the file does not have: a traceback or log of another version of the file. One
    // warning per file.
    for s in &ranking.files {
        let f = candidates[s.index].file;
        let mut outside: Vec<u32> = s
            .lines
            .iter()
            .copied()
            .filter(|&l| !rank::has_line(f, l))
            .collect();
        if outside.is_empty() {
            continue;
        }
        outside.sort_unstable();
        outside.dedup();
        warnings.push(format!(
            "the task names {} of {}, which has {} line{} (was it written against another \
             version of the file?)",
            rank::listed_lines(&outside),
            crate::repomap::render::shown_path(&f.path),
            f.lines,
            if f.lines == 1 { "" } else { "s" }
        ));
    }
    // Of the files scored, those changed and not committed, for the recency below: asked
    // before the warnings are counted and capped, as git may add one (a timeout).
    let uncommitted = work_in_progress(root, head.as_deref(), &ranking, &candidates, &path_index)
        .unwrap_or_else(|e| {
            warnings.push(format!(
                "{e}; the ranking goes on without the files changed and not committed (set \
                 context.history = 0 to skip them)"
            ));
            None
        });
    timings.uncommitted = uncommitted.as_ref().map(HashSet::len);
    let uncommitted = uncommitted.unwrap_or_default();
    // Once each: a pasted log names the same unindexed file on every line. And a few: a log
    // of a service names hundreds of paths of another machine.
    let mut seen = HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    if warnings.len() > MAX_WARNINGS {
        let more = warnings.len() - MAX_WARNINGS;
        warnings.truncate(MAX_WARNINGS);
        warnings.push(format!("… and {more} more warnings like these"));
    }
    // Recency first, on the files the ranking scored; co-change then lends from the best two
    // of them, never past the best one (docs/context.md, "Recent changes").
    recently_changed(
        &mut ranking,
        &candidates,
        &commits,
        &path_index,
        &uncommitted,
    );
    commits_referred(
        &mut ranking,
        &candidates,
        &commits,
        &path_index,
        task,
        req.task,
    );
    changed_with_best(&mut ranking, &candidates, &commits, &path_index);
    test_of_best(&mut ranking, &candidates);
    tracing::debug!("scored in {:.1} ms", ms(t_rank));
    let fell_back = ranking.files.is_empty();
    if fell_back {
        // Nothing in the task matches: fall back to the repo map's own importance, then to
        // the code it does not parse (a Ruby or PHP repository has no other), in path order;
        // vendored and generated code last.
        let mut order: Vec<usize> = (0..candidates.len())
            .filter(|&i| rank::is_source(candidates[i].file))
            .collect();
        let parsed = |i: usize| candidates[i].file.language.is_some();
        let vendored = |i: usize| candidates[i].vendored_or_generated();
        order.sort_by(|&a, &b| {
            vendored(a)
                .cmp(&vendored(b))
                .then_with(|| parsed(b).cmp(&parsed(a)))
                .then_with(|| files[b].rank.total_cmp(&files[a].rank))
                .then_with(|| files[a].path.cmp(&files[b].path))
        });
        ranking.files = order
            .into_iter()
            .take(MAX_LISTED)
            .map(|i| rank::Scored {
                index: i,
                score: files[i].rank,
                named: false,
                lines: Vec::new(),
                reasons: vec![if parsed(i) {
                    "no file matches the task; ranked by importance in the repo map".into()
                } else {
                    "no file matches the task; code the map does not parse, listed by path".into()
                }],
            })
            .collect();
    }
    timings.rank_ms = ms(t);

    let t = Instant::now();
    let query_terms: HashSet<terms::Term> = query.iter().map(|q| q.term).collect();
    let mut counter = tokens::CountCache::new(store, req.encoding);
    let budget = req.budget;
    let mut used = 0usize;
    let mut included = vec![(Included::None, 0usize); ranking.files.len()];
    let excluded: Vec<bool> = ranking
        .files
        .iter()
        .map(|s| req.exclude.contains(&candidates[s.index].file.path))
        .collect();
    let mut blocks: Vec<(usize, String)> = Vec::new(); // (ranking position, text)
    let mut skeletons: Vec<(usize, String)> = Vec::new();
    let mut symbol_cache: HashMap<i64, Vec<Symbol>> = HashMap::new();
    let mut symbols_of = |id: i64| -> anyhow::Result<Vec<Symbol>> {
        if let Some(s) = symbol_cache.get(&id) {
            return Ok(s.clone());
        }
        let s: Vec<Symbol> = reader
            .symbols(Some(&[id]))?
            .into_iter()
            .map(|r| r.symbol)
            .collect();
        symbol_cache.insert(id, s.clone());
        Ok(s)
    };
    // Tier 1 and 2 may both look at a file: read it once.
    let mut text_cache: HashMap<i64, Option<std::rc::Rc<str>>> = HashMap::new();
    let mut text_of = |f: &FileRow| {
        text_cache
            .entry(f.id)
            .or_insert_with(|| read_text(root, &f.path).map(std::rc::Rc::from))
            .clone()
    };
    // The task's terms in a line of text; each word analysed once a run (a document repeats
    // its words, and a window may scan many of them).
    let word_hits: std::cell::RefCell<HashMap<String, Vec<terms::Term>>> = Default::default();
    let terms_in = |line: &str, found: &mut Vec<terms::Term>| {
        let mut cache = word_hits.borrow_mut();
        terms::for_each_word(line, |w| {
            if let Some(hits) = cache.get(w) {
                found.extend_from_slice(hits);
                return;
            }
            let mut hits = Vec::new();
            analyzer.word_terms(w, |t| {
                if query_terms.contains(&t) {
                    hits.push(t);
                }
            });
            found.extend_from_slice(&hits);
            // Bounded, as the lexicon's cache is: random tokens must not grow it forever.
            if cache.len() > 200_000 {
                cache.clear();
            }
            cache.insert(w.to_string(), hits);
        })
    };
    // How many of the task's terms a defined name has, but for those in `own` (the words of
    // the file's own path).
    let matches_task = |name: &str, own: &HashSet<terms::Term>| {
        let mut found = Vec::new();
        terms_in(name, &mut found);
        found.retain(|t| !own.contains(t));
        pack::distinct(&found)
    };
    // The terms of a path's words: they say nothing of where in the file the task is (a task
    // that names py/widget.py is not about widget_factory in it), unless they are all it
    // matches.
    let own_terms = |path: &str| {
        let mut own: HashSet<terms::Term> = HashSet::new();
        terms::for_each_word(path, |w| {
            analyzer.word_terms(w, |t| {
                own.insert(t);
            })
        });
        own
    };

    // A file with the same text as one ranked above it (a copy, or the same file reached
    // through a symlinked directory) is not shown twice: it comes as its path line, with the
    // reason, once the other is shown in full, in part or as signatures.
    let mut first_with: HashMap<&[u8], usize> = HashMap::new();
    let copy_of: Vec<Option<usize>> = ranking
        .files
        .iter()
        .enumerate()
        .map(|(pos, s)| {
            let f = candidates[s.index].file;
            let hash = f.hash.as_deref().filter(|_| f.bytes > 0)?;
            let first = *first_with.entry(hash).or_insert(pos);
            (first != pos).then_some(first)
        })
        .collect();
    // Shown with its text, in full or in part.
    const SHOWN: &[Included] = &[Included::Full, Included::Partial, Included::Skeleton];
    let shown_above = |included: &[(Included, usize)], pos: usize| {
        copy_of[pos].is_some_and(|first| SHOWN.contains(&included[first].0))
    };

    // What the files named with lines need at the least, held for them while the files above
    // them are packed: the definitions around their named lines (or the lines around those no
    // definition holds), or the whole file when that is less. A stack trace names several
    // files; the first of them, matching many of its words, took the whole budget and the
    // frame that threw came as a map line.
    // (position, what it needs at the least, whether room is held for it)
    let mut framed: Vec<(usize, usize, bool)> = Vec::new();
    let mut held_sum = 0;
    for (pos, s) in ranking.files.iter().enumerate().take(MAX_LISTED) {
        if framed.len() >= MAX_HELD {
            break;
        }
        if !s.named || s.lines.is_empty() || copy_of[pos].is_some() {
            continue;
        }
        let f = candidates[s.index].file;
        let Some(text) = text_of(f) else {
            continue;
        };
        let lang = pack::fence_language(f.language.as_deref(), &f.path);
        let symbols = symbols_of(f.id)?;
        let mut n = counter.count_block(&full_block(&f.path, lang, &text))?;
        if !symbols.is_empty() {
            let at = enclosing(&symbols, &s.lines);
            let loose: Vec<(usize, usize)> = loose_lines(&symbols, &s.lines, f.lines)
                .into_iter()
                .map(|l| (l, pack::AROUND_LOOSE))
                .take(8)
                .collect();
            if at.is_empty() && loose.is_empty() {
                // Lines the file does not have: nothing to hold room for.
                continue;
            }
            let (block, _) = focused_block(&f.path, lang, &text, &symbols, &at, &loose);
            n = n.min(counter.count_block(&block)?);
        }
        // A definition too large to hold for is left to take its chance, and so are the files
        // below once half the budget is held: the files ranked higher come first (each of
        // them keeps at least the other half, more than its own need).
        let held = n <= budget / HELD_SHARE && held_sum + n <= budget / 2;
        if held {
            held_sum += n;
        }
        framed.push((pos, n, held));
    }

    // Tier 1: whole files, or their matching definitions.
    let full_limit = ((budget as f64) * FULL_SHARE) as usize;
    let mut misfits = 0;
    let mut tried: Option<usize> = None;
    for (pos, s) in ranking.files.iter().enumerate().take(MAX_LISTED) {
        if let Some(p) = tried.take()
            && included[p].0 == Included::None
        {
            misfits += 1;
        }
        if misfits >= FULL_TRIES {
            break;
        }
        let f = candidates[s.index].file;
        // Less what is held for the named files below this one that are not in yet.
        let below: Vec<&(usize, usize, bool)> = framed
            .iter()
            .filter(|&&(q, _, _)| q > pos && included[q].0 == Included::None)
            .collect();
        let held_below: usize = below.iter().filter(|f| f.2).map(|f| f.1).sum();
        let mut limit =
            (if s.named { budget } else { full_limit }).min(budget.saturating_sub(held_below));
        // A frame with more frames below it takes its share of what is left, or what it needs
        // at the least when that is more: not the definitions of all its matching words.
        if let Some(&(_, need, _)) = framed.iter().find(|f| f.0 == pos) {
            let pending = below.len();
            if pending > 0 {
                let share = budget.saturating_sub(used) / (1 + pending);
                limit = limit.min(used + need.max(share));
            }
        }
        if used >= limit || excluded[pos] || shown_above(&included, pos) {
            continue;
        }
        tried = Some(pos);
        let Some(text) = text_of(f) else {
            continue;
        };
        let lang = pack::fence_language(f.language.as_deref(), &f.path);
        let full = full_block(&f.path, lang, &text);
        let n = counter.count_block(&full)?;
        if used + n <= limit {
            used += n;
            included[pos] = (Included::Full, n);
            blocks.push((pos, full));
            continue;
        }
        let symbols = symbols_of(f.id)?;
        // The definitions around the lines the task names (`a.rs:120`) come first of all.
        let at_lines = enclosing(&symbols, &s.lines);
        let matching_but = |own: &HashSet<terms::Term>| -> Vec<(usize, usize)> {
            symbols
                .iter()
                .enumerate()
                .map(|(i, sym)| {
                    let m = matches_task(&sym.name, own);
                    (
                        i,
                        if at_lines.contains(&i) {
                            m + AT_NAMED_LINE
                        } else {
                            m
                        },
                    )
                })
                .filter(|&(_, m)| m > 0)
                .collect()
        };
        let own = own_terms(&f.path);
        let mut matching = matching_but(&own);
        if matching.is_empty() {
            matching = matching_but(&HashSet::new());
        }
        if matching.is_empty() && !symbols.is_empty() {
            // No definition's name has a task word: the definitions around the lines of the
            // best passage that have some, each as strong as its line with the most.
            for (line, hits) in pack::passage_hits(&text, terms_in) {
                for i in enclosing(&symbols, &[line]) {
                    match matching.iter_mut().find(|(j, _)| *j == i) {
                        Some((_, m)) => *m = (*m).max(hits),
                        None => matching.push((i, hits)),
                    }
                }
            }
            matching.sort_unstable();
        }
        // What a focused block or a window may take: half of what is left, or all of it for the
        // best file, as for a named one (it is the one the task is most likely about).
        let room = if s.named || pos == 0 {
            limit - used
        } else {
            (limit - used) / 2
        };
        // Lines the task names that no definition holds (a test framework's `test("…", () =>
        // {…})` call at the top of a file, code at a module's top level): a block of
        // definitions alone would leave them out. (A file without definitions comes as its
        // windows, below.)
        let loose = if symbols.is_empty() {
            Vec::new()
        } else {
            loose_lines(&symbols, &s.lines, f.lines)
        };
        'partial: {
            if matching.is_empty() && loose.is_empty() {
                break 'partial;
            }
            // Drop expanded definitions until the block fits, those that match the fewest task
            // terms first and the largest of those (so `calc_charlie` outlasts the other
            // `calc_*` for "fix calc_charlie"): each try estimates how many lines are too many
            // from the block's tokens per line, and verifies exactly.
            let strength: HashMap<usize, usize> = matching.iter().copied().collect();
            let mut expanded: Vec<usize> = matching.iter().map(|&(i, _)| i).collect();
            // With loose named lines, none: the focused block below shows them.
            let tries = if loose.is_empty() { 8 } else { 0 };
            for _ in 0..tries {
                let (block, ranges) = partial_block(&f.path, lang, &text, &symbols, &expanded);
                let n = counter.count_block(&block)?;
                if used + n <= limit {
                    used += n;
                    included[pos] = (Included::Partial, n);
                    blocks.push((pos, block));
                    break;
                }
                if expanded.len() <= 1 {
                    break;
                }
                let shown: usize = ranges.iter().map(|(a, b)| b + 1 - a).sum();
                let per_line = n as f64 / shown.max(1) as f64;
                let excess = ((used + n - limit) as f64 / per_line.max(0.1)).ceil() as usize;
                let size =
                    |i: usize| (symbols[i].end_line.saturating_sub(symbols[i].line)) as usize;
                // A definition that encloses another one kept (a class named with its
                // method: "HttpConnectionPool close leaks sockets") goes first, whatever it
                // matches: it shows the other anyway, and dropping the other saves nothing.
                let outer: HashSet<usize> = expanded
                    .iter()
                    .copied()
                    .filter(|&i| expanded.iter().any(|&j| encloses(&symbols, i, j)))
                    .collect();
                expanded.sort_by_key(|&i| {
                    (
                        at_lines.contains(&i),
                        !outer.contains(&i),
                        strength.get(&i).copied().unwrap_or(0),
                        std::cmp::Reverse(size(i)),
                        i,
                    )
                });
                let mut removed = 0;
                while removed < excess.max(1) && expanded.len() > 1 {
                    removed += size(expanded.remove(0)).max(1);
                }
                expanded.sort_unstable();
            }
            if included[pos].0 != Included::None {
                break 'partial;
            }
            // Even one definition with every signature is too much (a file of hundreds of
            // definitions): the definitions that match the most task terms, and the first lines of
            // what encloses them, the rest elided. The most that fit, in half of what is left (the
            // whole of it for a file named in the task), found by halving with exact counts.
            let size = |i: usize| (symbols[i].end_line.saturating_sub(symbols[i].line)) as usize;
            // Not a definition that encloses another one that matches: its first lines come
            // with the other, and whole it is what did not fit.
            let mut order: Vec<(usize, usize)> = matching
                .iter()
                .copied()
                .filter(|&(i, _)| !matching.iter().any(|&(j, _)| encloses(&symbols, i, j)))
                .collect();
            order.sort_by_key(|&(i, m)| (std::cmp::Reverse(m), size(i), i));
            // The lines the task names whose definition is left out of these (a class's
            // attribute, the class being too large) are shown with a few lines around them.
            // Those no definition holds, with more lines around them.
            let mut named_lines: Vec<(usize, usize)> = s
                .lines
                .iter()
                .filter(|&&l| {
                    enclosing(&symbols, &[l])
                        .first()
                        .is_some_and(|i| !order.iter().any(|&(j, _)| j == *i))
                })
                .map(|&l| (l as usize, pack::AROUND_FOCUSED))
                .chain(loose.iter().map(|&l| (l, pack::AROUND_LOOSE)))
                .collect();
            named_lines.sort_unstable();
            named_lines.dedup();
            named_lines.truncate(8);
            // The most definitions that fit with those lines; none, when even one does not.
            let (mut lo, mut hi) = (0, order.len());
            let mut best: Option<(String, usize)> = None;
            let mut focused = |k: usize| -> anyhow::Result<Option<(String, usize)>> {
                let mut keep: Vec<usize> = order[..k].iter().map(|&(i, _)| i).collect();
                keep.sort_unstable();
                let (block, _) = focused_block(&f.path, lang, &text, &symbols, &keep, &named_lines);
                let n = counter.count_block(&block)?;
                Ok((n <= room).then_some((block, n)))
            };
            while lo < hi {
                let k = (lo + hi).div_ceil(2);
                match focused(k)? {
                    Some(fits) => {
                        lo = k;
                        best = Some(fits);
                    }
                    None => hi = k - 1,
                }
            }
            if best.is_none() && !named_lines.is_empty() {
                best = focused(0)?;
            }
            if let Some((block, n)) = best {
                used += n;
                included[pos] = (Included::Partial, n);
                blocks.push((pos, block));
            }
        }
        // The fewest lines a window shows, at the whole file's tokens per line (the lines as
        // the index counted them).
        let lines = (f.lines as usize).max(1);
        let least = n * lines.min(lexicon::CHUNK_LINES) / lines;
        if included[pos].0 == Included::None && symbols.is_empty() && least <= room {
            // A file without definitions (documentation, configuration, code vibe does not
            // parse): the passage that matches the task best, and the lines around those the
            // task names, in half of what is left (all of it for the best or a named file).
            // When nothing matches the task, its head (no line has a task word to scan for):
            // where a file says what it is.
            let head = || {
                let total = text.split_inclusive('\n').count();
                vec![(1, lexicon::CHUNK_LINES.min(total))]
            };
            let ranges = if fell_back {
                head()
            } else {
                // The words of the file's own path say nothing of where in it the task is
                // (`package-lock.json`'s `package` is on its 3rd line, `lodash` further on),
                // unless they are all it matches.
                let ranges = pack::windows(&text, &s.lines, |line, found| {
                    let from = found.len();
                    terms_in(line, found);
                    let mut k = 0;
                    found.retain(|t| {
                        k += 1;
                        k <= from || !own.contains(t)
                    });
                });
                let ranges = if ranges.is_empty() {
                    pack::windows(&text, &s.lines, terms_in)
                } else {
                    ranges
                };
                // A file the task names is shown, where it says what it is if nothing else.
                if ranges.is_empty() && s.named {
                    head()
                } else {
                    ranges
                }
            };
            if !ranges.is_empty() && ranges != [(1, lines)] {
                let block = pack::window_block(&f.path, lang, &text, &ranges);
                let n = counter.count_block(&block)?;
                if n <= room {
                    used += n;
                    included[pos] = (Included::Partial, n);
                    blocks.push((pos, block));
                }
            }
        }
        if included[pos].0 == Included::None && pos == 0 {
            // Not even its best definition fits (or none matches): the best file's signatures,
            // before any file ranked below it takes this tier's room (at a small budget, a
            // partial block of the 5th file, and only a map line for the 1st).
            let (block, _) = partial_block(&f.path, lang, &text, &symbols, &[]);
            let n = counter.count_block(&block)?;
            if !symbols.is_empty() && used + n <= limit {
                used += n;
                included[pos] = (Included::Skeleton, n);
                blocks.push((pos, block));
            }
        }
    }

    // Tier 2: signatures only.
    let skeleton_limit = ((budget as f64) * SKELETON_SHARE) as usize;
    let mut misfits = 0;
    for (pos, s) in ranking.files.iter().enumerate().take(MAX_LISTED) {
        if misfits >= SKELETON_TRIES || used >= skeleton_limit {
            break;
        }
        if included[pos].0 != Included::None || excluded[pos] || shown_above(&included, pos) {
            continue;
        }
        // Taken back below when the file is included.
        misfits += 1;
        let f = candidates[s.index].file;
        let symbols = symbols_of(f.id)?;
        if symbols.is_empty() {
            continue;
        }
        let Some(text) = text_of(f) else {
            continue;
        };
        let lang = pack::fence_language(f.language.as_deref(), &f.path);
        let (block, _) = partial_block(&f.path, lang, &text, &symbols, &[]);
        let n = counter.count_block(&block)?;
        // A small file costs little more whole than as signatures: show it whole.
        let full = full_block(&f.path, lang, &text);
        let n_full = counter.count_block(&full)?;
        if n_full <= n + n / 2 + 24 && used + n_full <= skeleton_limit {
            used += n_full;
            included[pos] = (Included::Full, n_full);
            skeletons.push((pos, full));
            misfits -= 1;
        } else if used + n <= skeleton_limit {
            used += n;
            included[pos] = (Included::Skeleton, n);
            skeletons.push((pos, block));
            misfits -= 1;
        }
    }

    // Tier 3: map lines, each counted through the map's per-line cache.
    let mut map_lines: Vec<String> = Vec::new();
    let title = "Other relevant files (definitions only):".to_string();
    let title_tokens = counter.count(&title)?;
    let mut map_used = 0usize;
    // Stop once the budget is all but full, or after a run of files that do not fit: counting
    // lines nobody will see costs tokenizer time.
    let mut misfits = 0;
    for (pos, s) in ranking.files.iter().enumerate().take(MAX_LISTED) {
        if included[pos].0 != Included::None || excluded[pos] {
            continue;
        }
        if budget.saturating_sub(used + map_used) < 8 || misfits >= 8 {
            break;
        }
        let f = candidates[s.index].file;
        let symbols = symbols_of(f.id)?;
        let mut lines = map_lines_for(&f.path, &symbols);
        if shown_above(&included, pos) {
            // Its definitions are shown above, under the other path.
            lines.truncate(1);
        }
        let extra = if map_lines.is_empty() {
            title_tokens
        } else {
            0
        };
        // As many of the file's lines as fit, its path first; none if not even the path does.
        let room = budget.saturating_sub(used + map_used + extra);
        let mut n = 0;
        let mut keep = 0;
        for l in &lines {
            let c = counter.count(l)?;
            if n + c > room {
                break;
            }
            n += c;
            keep += 1;
        }
        if keep == 0 {
            misfits += 1;
            continue;
        }
        lines.truncate(keep);
        misfits = 0;
        if map_lines.is_empty() {
            map_lines.push(title.clone());
            map_used += title_tokens;
        }
        map_used += n;
        map_lines.extend(lines);
        included[pos] = (Included::Map, n);
    }
    used += map_used;

    if used == 0
        && let Some(first) = ranking.files.first()
    {
        let path = &candidates[first.index].file.path;
        let needed = counter.count(&render::path_line(path))? + title_tokens;
        return Err(Error::BudgetTooSmall {
            budget,
            needed,
            // Quoted as a block names it: a newline in the name cannot forge a line.
            path: crate::repomap::render::shown_path(path).into_owned(),
        }
        .into());
    }

    // Blocks: files named in the task first, then by rank.
    blocks.sort_by_key(|(pos, _)| (!ranking.files[*pos].named, *pos));
    let mut context = String::new();
    for (_, b) in blocks.iter().chain(skeletons.iter()) {
        context.push_str(b);
    }
    for l in &map_lines {
        context.push_str(l);
        context.push('\n');
    }
    timings.tokenizer_misses = counter.misses();
    // The read snapshot must end first: the cache is written in a transaction of its own.
    drop(reader);
    counter.save();
    timings.pack_ms = ms(t);
    if let Some((key, data)) = graph_to_keep {
        let t = Instant::now();
        if let Err(e) = store.put_file_graph(&key, &data) {
            tracing::debug!("file graph not kept: {e}");
        }
        timings.graph_ms += ms(t);
    }

    let mut out: Vec<FileOut> = ranking
        .files
        .iter()
        .enumerate()
        .take(MAX_LISTED)
        .map(|(pos, s)| FileOut {
            path: candidates[s.index].file.path.clone(),
            rank: pos + 1,
            score: (s.score * 1e6).round() / 1e6,
            included: included[pos].0,
            tokens: included[pos].1,
            reasons: {
                let mut reasons = s.reasons.clone();
                if let Some(first) = copy_of[pos]
                    .filter(|_| !SHOWN.contains(&included[pos].0) && shown_above(&included, pos))
                {
                    reasons.push(format!(
                        "the same text as {}, shown there",
                        candidates[ranking.files[first].index].file.path
                    ));
                }
                reasons
            },
        })
        .collect();
    // Named files that came as path lines only (larger than the budget, one long line, or
    // too many for it) say so, in one warning: the user asked for them.
    let unshown: Vec<(String, Option<u32>)> = ranking
        .files
        .iter()
        .enumerate()
        .take(MAX_LISTED)
        .filter(|&(pos, s)| {
            s.named
                && !SHOWN.contains(&included[pos].0)
                && !excluded[pos]
                && !shown_above(&included, pos)
        })
        .map(|(pos, s)| {
            (
                crate::repomap::render::shown_path(&out[pos].path).into_owned(),
                s.lines.iter().min().copied(),
            )
        })
        .collect();
    match unshown.as_slice() {
        [] => {}
        // The lines were named already: what is around them is what does not fit.
        [(path, Some(line))] => warnings.push(format!(
            "the task names {path}, but no part of it fits in the budget, not even the \
             lines around its line {line}; give a larger --budget"
        )),
        [(path, None)] => warnings.push(format!(
            "the task names {path}, but no part of it fits in the budget; give a larger \
             --budget, or name the lines wanted ({path}:120)"
        )),
        [(first, _), ..] => warnings.push(format!(
            "the task names {} files of which no part fits in the budget ({first}, …); give a \
             larger --budget",
            unshown.len()
        )),
    }
    // A named file that is not indexed is a reason on the ranking, not a failure.
    if let Some(first) = out.first_mut() {
        for w in &warnings {
            first.reasons.push(format!("warning: {w}"));
        }
    }
    Ok(Packed {
        schema: SCHEMA,
        budget,
        used_tokens: used,
        encoding: req.encoding.name(),
        files: out,
        context,
        warnings,
        timings,
    })
}

/// A file's lines in the map section: its path, its first top-level definitions, and how
/// many are left out, in the repo map's own line shapes (so counts add up line by line).
fn map_lines_for(path: &str, symbols: &[Symbol]) -> Vec<String> {
    let top: Vec<usize> = (0..symbols.len())
        .filter(|&i| symbols[i].parent.is_none())
        .collect();
    let mut lines = vec![render::path_line(path)];
    lines.extend(
        top.iter()
            .take(MAP_SYMBOLS)
            .map(|&i| render::symbol_line(symbols, i)),
    );
    if top.len() > MAP_SYMBOLS {
        lines.push(render::elided_line(top.len() - MAP_SYMBOLS));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(hash: &str, subject: &str, files: &[&str]) -> history::Commit {
        history::tests::commit(&terms::Analyzer::default(), hash, subject, files)
    }

    /// A ranking of `paths` in their order, scores 10, 9.9, 9.8, …
    fn ranked(paths: &[&str]) -> (Vec<FileRow>, rank::Ranking) {
        let rows: Vec<FileRow> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| rank::tests::file(i as i64, p))
            .collect();
        let files = (0..paths.len())
            .map(|i| rank::Scored {
                index: i,
                score: 10.0 - i as f64 * 0.1,
                named: false,
                lines: Vec::new(),
                reasons: Vec::new(),
            })
            .collect();
        (rows, rank::Ranking { files })
    }

    #[test]
    fn the_best_source_files_test_comes_up_to_fifth() {
        let order = |paths: &[&str]| order_named(paths, 0);
        // The best file is a test: the best source file is the next of the first three; its
        // test, 8th, comes up to 5th, level with the file it goes above.
        let (o, why) = order(&[
            "tests/test_other.py",
            "lib/parser.py",
            "lib/a.py",
            "lib/b.py",
            "lib/c.py",
            "lib/d.py",
            "tests/test_lexer.py",
            "tests/test_parser.py",
            "lib/e.py",
        ]);
        assert_eq!(
            o,
            "tests/test_other.py lib/parser.py lib/a.py lib/b.py tests/test_parser.py lib/c.py \
             lib/d.py tests/test_lexer.py lib/e.py"
        );
        assert_eq!(
            why,
            ["the test named after lib/parser.py, the best source file (moved up to 5th)"]
        );
        // Already in the first five, or no test named after the best file: nothing moves; nor
        // for a test that is not among the best 60.
        let mut already = vec!["src/handler.go", "src/handler_test.go"];
        already.extend(["src/a.go", "src/b.go", "src/c.go", "src/d.go"]);
        assert_eq!(order(&already).0, already.join(" "));
        let mut none = vec!["src/Handler.java"];
        none.extend((0..6).map(|_| "src/test/java/OtherTest.java"));
        assert!(order(&none).1.is_empty());
        let far: Vec<String> = std::iter::once("src/parser.rs".to_string())
            .chain((0..59).map(|i| format!("src/f{i}.rs")))
            .chain(["tests/parser.rs".to_string()])
            .collect();
        let far: Vec<&str> = far.iter().map(String::as_str).collect();
        assert_eq!(order(&far).0, far.join(" "));
        // Not when the first three are all tests.
        let tests = ["tests/test_a.py", "tests/test_b.py", "tests/test_c.py"];
        let mut only = tests.to_vec();
        only.extend(["a.py", "b.py", "c.py", "tests/test_d.py"]);
        assert_eq!(order(&only).0, only.join(" "));
        // Never above a file the task names (helper 97: jsoup's TokeniserStateTest.java came
        // 5th, above the stack trace's Jsoup.java).
        let paths = [
            "lib/parser.py",
            "lib/a.py",
            "lib/b.py",
            "lib/c.py",
            "lib/d.py",
            "lib/e.py",
            "tests/test_parser.py",
        ];
        assert_eq!(
            order_named(&paths, 6).0,
            "lib/parser.py lib/a.py lib/b.py lib/c.py lib/d.py lib/e.py tests/test_parser.py"
        );
        assert_eq!(
            order_named(&paths, 5).0,
            "lib/parser.py lib/a.py lib/b.py lib/c.py lib/d.py tests/test_parser.py lib/e.py"
        );
    }

    /// `test_of_best` on `paths` ranked in their order, the first `named` of them named in the
    /// task: the order after it, and its reasons.
    fn order_named(paths: &[&str], named: usize) -> (String, Vec<String>) {
        let (rows, mut ranking) = ranked(paths);
        for s in ranking.files.iter_mut().take(named) {
            s.named = true;
        }
        let candidates = rank::tests::without_lexicon(&rows);
        test_of_best(&mut ranking, &candidates);
        let scores: Vec<f64> = ranking.files.iter().map(|s| s.score).collect();
        assert!(scores.is_sorted_by(|a, b| a >= b), "{scores:?}");
        let reasons: Vec<String> = ranking
            .files
            .iter()
            .flat_map(|s| s.reasons.clone())
            .collect();
        let order: Vec<&str> = ranking.files.iter().map(|s| paths[s.index]).collect();
        (order.join(" "), reasons)
    }

    #[test]
    fn commits_the_task_refers_to_lend_their_files() {
        let mut paths = vec!["a.py", "b.py", "c.py", "README.md"];
        let many: Vec<String> = (0..100).map(|i| format!("gen/{i}.py")).collect();
        paths.extend(many.iter().map(String::as_str));
        let ten: Vec<&str> = std::iter::once("b.py")
            .chain(paths[4..13].iter().copied())
            .collect();
        let all: Vec<&str> = std::iter::once("c.py")
            .chain(many.iter().map(String::as_str))
            .collect();
        let commits = vec![
            commit("abc1234def0", "widget: draw", &["a.py", "README.md"]),
            commit("abc1234fff0", "borders: wider (#13)", &ten),
            commit("0123456789ab", "gen: reformat for #13", &all),
            commit("feed12340000", "first work on issue 13", &["c.py"]),
        ];
        let rows: Vec<FileRow> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut f = rank::tests::file(i as i64, p);
                if p.ends_with(".md") {
                    (f.language, f.ftype) = (None, "markdown".into());
                }
                f
            })
            .collect();
        let candidates = rank::tests::without_lexicon(&rows);
        let index: HashMap<&str, usize> = paths.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        // The score each file gets (rounded), and its reasons, for a task.
        let lent = |task: &str| -> Vec<(String, f64, String)> {
            let mut ranking = rank::Ranking { files: Vec::new() };
            commits_referred(&mut ranking, &candidates, &commits, &index, task, task);
            ranking
                .files
                .iter()
                .map(|s| {
                    let score = (s.score * 1000.0).round() / 1000.0;
                    (paths[s.index].to_string(), score, s.reasons.join("; "))
                })
                .collect()
        };
        // A prefix of two commits' hashes names neither; a longer one names its commit, whose
        // ten files share 1.0 by 5 / 10.
        assert!(lent("a regression since abc1234").is_empty());
        let got = lent("a regression since ABC1234F");
        assert_eq!(
            got[0],
            (
                "b.py".into(),
                0.5,
                "changed by abc1234 borders: wider (#13), which the task names".into()
            )
        );
        // Words that may be hashes but name no commit here do not use up the five.
        let got = lent("seen in 1a2b3c4 2b3c4d5 3c4d5e6 4d5e6f7 5e6f7a8 6f7a8b9 and abc1234d");
        assert_eq!(got[0].0, "a.py");
        // The last commit: a file that is not source code gets the text prior's share.
        let got = lent("Fixing the previous commit");
        assert_eq!(got[0].0, "a.py");
        assert_eq!(got[1].0, "README.md");
        assert!(got[1].1 < got[0].1 && got[1].1 > 0.0, "{got:?}");
        // An issue: the newest commits naming it lend half; a commit of more than 100 files
        // (the reformat) lends nothing.
        let got = lent("more work on #13");
        assert_eq!(
            got[0],
            (
                "c.py".into(),
                0.5,
                "changed by feed123 first work on issue 13, which names #13 as the task does"
                    .into()
            )
        );
        assert_eq!(got[1].0, "b.py");
        assert_eq!(got[1].1, 0.25);
        assert!(!got.iter().any(|(p, ..)| p == "gen/50.py"), "{got:?}");
    }

    #[test]
    fn recent_changes_reorder_only_the_best_files() {
        // 63 files the ranking scored in the order of their paths, and one it did not score.
        let mut paths: Vec<String> = (0..63).map(|i| format!("src/f{i:02}.rs")).collect();
        paths[2] = "docs/guide.md".into();
        paths[3] = "docs/d39.md".into();
        paths[4] = "docs/d40.md".into();
        paths.push("src/unmatched.rs".into());
        let mut rows: Vec<FileRow> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| rank::tests::file(i as i64, p))
            .collect();
        for doc in &mut rows[2..5] {
            doc.language = None;
        }
        let candidates = rank::tests::without_lexicon(&rows);
        let mut ranking = rank::Ranking {
            files: (0..63)
                .map(|i| rank::Scored {
                    index: i,
                    score: 10.0 - i as f64 * 0.001,
                    named: false,
                    lines: Vec::new(),
                    reasons: Vec::new(),
                })
                .collect(),
        };
        let index: HashMap<&str, usize> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i))
            .collect();
        let mut commits = vec![
            commit(
                "aaaaaaaaaa",
                "Tidy",
                &[
                    "src/f59.rs",
                    "src/f60.rs",
                    "docs/guide.md",
                    "src/unmatched.rs",
                ],
            ),
            commit("bbbbbbbbbb", "Fix", &["src/f40.rs"]),
        ];
        // Long ago: a lift too small to list (0.3 / (1 + 200 / 5)).
        commits.extend((0..198).map(|_| commit("cccccccccc", "Other", &["src/elsewhere.rs"])));
        commits.push(commit("dddddddddd", "Old", &["src/f30.rs"]));
        // The listing threshold: 144 and 145 commits back for source, 39 and 40 for a doc.
        commits[39].files.push("docs/d39.md".into());
        commits[40].files.push("docs/d40.md".into());
        commits[144].files.push("src/f44.rs".into());
        commits[145].files.push("src/f45.rs".into());
        // Work in progress: the 51st file, changed and not committed; and the 61st, not among
        // the best 60.
        let uncommitted: HashSet<usize> = [index["src/f50.rs"], index["src/f60.rs"]].into();
        let before = rank::Ranking {
            files: ranking.files.clone(),
        };
        recently_changed(&mut ranking, &candidates, &commits, &index, &uncommitted);

        let score = |path: &str| {
            let s = ranking.files.iter().find(|s| paths[s.index] == path);
            s.map(|s| (s.score, s.reasons.join("; ")))
        };
        let lifted = |path: &str, before: f64, lift: f64, why: &str| {
            let (s, reasons) = score(path).expect(path);
            assert!((s - (before + lift)).abs() < 1e-9, "{path}: {s}");
            assert_eq!(reasons, why, "{path}");
        };
        // The 60th file: 0.3 for HEAD's own change; a doc 0.3 × 0.3; one commit back 0.3 / 1.2;
        // 200 back, a lift too small to list.
        let last = "changed in the last commit, aaaaaaa Tidy (recent 1.00)";
        lifted("src/f59.rs", 10.0 - 0.059, 0.3, last);
        lifted("docs/guide.md", 10.0 - 0.002, 0.09, last);
        let one_back = "changed 1 commit before the last, bbbbbbb Fix (recent 0.83)";
        lifted("src/f40.rs", 10.0 - 0.040, 0.25, one_back);
        lifted("src/f30.rs", 10.0 - 0.030, 0.3 / 41.0, "");
        let wip = "changed in the work tree, not committed yet (recent 1.00)";
        lifted("src/f50.rs", 10.0 - 0.050, 0.3, wip);
        let listed = |path: &str| !score(path).expect(path).1.is_empty();
        assert!(listed("src/f44.rs") && !listed("src/f45.rs"));
        assert!(listed("docs/d39.md") && !listed("docs/d40.md"));
        // The 61st is not among the best 60; a file the ranking did not score is not added.
        assert_eq!(score("src/f60.rs"), Some((10.0 - 0.060, String::new())));
        // (Only `build` could add one: this guards the function, not the pipeline.)
        assert_eq!(score("src/unmatched.rs"), None);
        let order: Vec<&str> = ranking
            .files
            .iter()
            .take(4)
            .map(|s| paths[s.index].as_str())
            .collect();
        assert_eq!(
            order,
            ["src/f50.rs", "src/f59.rs", "src/f40.rs", "docs/guide.md"]
        );

        // Work in progress counts without any commit to learn from (a repository whose only
        // commit is its first).
        let mut ranking = before;
        recently_changed(&mut ranking, &candidates, &[], &index, &uncommitted);
        assert_eq!(paths[ranking.files[0].index], "src/f50.rs");
        assert_eq!(ranking.files[0].reasons, [wip]);
    }
}
