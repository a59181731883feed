//! Which files matter for a task, and why.
//!
//! Signals, then priors:
//! 1. **Named files**: a path, a unique file name or a dotted module (`json.decoder`) written in
//!    the task puts that file first; a `component:` prefix (`url: only reuse…`, `fix(url): …`,
//!    `[url] …`) favours the file or directory it names.
//! 2. **Lexical**: BM25F over each file's text, the names it defines and its path (see
//!    `lexicon`), plus a bonus for task terms in the path; mixed half and half with the file's
//!    best 40-line passage, plus its best-matching defined name. Task terms that look like code
//!    (`raw_decode`, `JSONDecoder`) weigh more than plain words, and a whole compound
//!    identifier more than its parts.
//! 3. **Graph**: a personalised PageRank over the repo map's reference and import graph, seeded
//!    by the named and best lexical files, so that a file defining what a matched file uses (or
//!    using what it defines, with less weight) is relevant too; divided by the square root of
//!    the file's global rank, so that hubs do not win every task.
//!
//! Priors: test files count less unless the task talks about tests; vendored and generated files
//! (by path, or by a header such as "Code generated … DO NOT EDIT.") much less; example, demo
//! and benchmark code less unless the task talks about those; non-source text (docs, config)
//! less; entry points a little more. The weights were chosen on `benches/context_eval.py` (see
//! docs/context.md). Every score is a pure function of
//! the index and the task, summed in path order, so the same tree and task always give the same
//! ranking.

use std::collections::HashMap;

use crate::repomap::attributes::Marks;
use crate::repomap::project::is_test_path;
use crate::repomap::rank::{DAMPING, Edges, personalized_pagerank};
use crate::store::{FileRow, LexiconDeep};

use super::lexicon::{is_generated, lookup, name_terms, passage_count, passages, records};
use super::terms::{Analyzer, QueryTerm, is_change_word, is_tracker_id, mentions_tests};

/// Above this many task terms, hits are found by one pass over every file's records instead of
/// a lookup per term and file.
const LONG_TASK_TERMS: usize = 48;

/// Each task term's hits (file, counts), in `files` order: by a lookup per term and file, or
/// (`by_scan`, for a long task: a pasted log of thousands of words) by one pass over every
/// file's records. Both give the same lists.
fn term_hits(
    terms: &[QueryTerm],
    candidates: &[Candidate],
    files: &[usize],
    by_scan: bool,
) -> Vec<Vec<(usize, super::lexicon::Counts)>> {
    let mut hits: Vec<Vec<(usize, super::lexicon::Counts)>> = vec![Vec::new(); terms.len()];
    if by_scan {
        let of: HashMap<super::terms::Term, usize> = terms
            .iter()
            .enumerate()
            .map(|(qi, q)| (q.term, qi))
            .collect();
        for &i in files {
            if let Some(l) = candidates[i].lexicon {
                for (t, c) in records(l.terms) {
                    if let Some(&qi) = of.get(&t) {
                        hits[qi].push((i, c));
                    }
                }
            }
        }
    } else {
        for (qi, q) in terms.iter().enumerate() {
            hits[qi] = files
                .iter()
                .filter_map(|&i| {
                    let l = candidates[i].lexicon?;
                    lookup(l.terms, q.term).map(|c| (i, c))
                })
                .collect();
        }
    }
    hits
}

/// The ranking's weights. `VIBE_RANK_TUNE="graph=0.2,defs=1"` overrides them for
/// evaluation runs (benches/context_eval.py); the defaults are what the evaluation chose.
#[derive(Debug, Clone, Copy)]
struct Tune {
    /// BM25 saturation and length normalisation.
    k1: f64,
    b: f64,
    /// Field weights: a term in a defined name or in the path says more than one in the text.
    defs: f64,
    path: f64,
    /// How many of the best lexical files seed the personalised PageRank.
    seeds: usize,
    /// Weight of the graph signal next to the lexical one (both scaled to at most 1).
    graph: f64,
    /// Edges followed backwards (from a definer to the files using it) count this much.
    reverse: f64,
    /// Priors.
    tests: f64,
    text: f64,
    /// Outside BM25's saturation: a task term in a file's path adds this × its idf.
    path_bonus: f64,
    /// The graph lift is divided by the file's global rank to this power, so that hubs (which
    /// every seed reaches) do not win every task.
    hub: f64,
    /// Bonus for the file a `component: message` task prefix names (half for its directory).
    component: f64,
    /// Share of the lexical score that comes from the file's best passage.
    passage: f64,
    /// Weight of the file's best-matching defined name.
    best_def: f64,
    /// Prior of a file whose header says a tool generated it.
    generated: f64,
    /// Prior of example, demo and benchmark code, unless the task talks about those.
    examples: f64,
    /// Precision of the personalised PageRank (see `personalized_pagerank`).
    push_eps: f64,
    /// Weight of the history score (see `history`), at most 1.
    history: f64,
    /// A best past commit whose score is below this share of the task's idf mass lends in
    /// proportion (see `history::score`); 0 scales every history to 1.
    history_confident: f64,
    /// Weight of the share of the best files' past commits that changed a file with them.
    cochange: f64,
    /// Weight of a file's directory share of what past commits of the task's component
    /// changed.
    component_dirs: f64,
    /// Weight of how recently a commit changed one of the best files.
    recent: f64,
    /// The place the best source file's test (by name) comes up to; 0 leaves it where it is.
    paired_test: usize,
}

impl Tune {
    /// The weights, read once per process (the ranking asks three times a run).
    fn get() -> Tune {
        static TUNE: std::sync::OnceLock<Tune> = std::sync::OnceLock::new();
        *TUNE.get_or_init(|| {
            let spec = std::env::var("VIBE_RANK_TUNE").unwrap_or_default();
            let (tune, warnings) = Tune::parse(&spec);
            for w in warnings {
                tracing::warn!("VIBE_RANK_TUNE: {w}");
            }
            tune
        })
    }

    /// The defaults with `spec`'s `name=number` pairs over them, and what was ignored.
    fn parse(spec: &str) -> (Tune, Vec<String>) {
        let mut warnings = Vec::new();
        let mut t = Tune {
            k1: 2.0,
            b: 0.75,
            defs: 3.0,
            path: 2.0,
            seeds: 12,
            graph: 0.15,
            reverse: 0.35,
            tests: 0.8,
            text: 0.3,
            path_bonus: 1.5,
            hub: 0.5,
            component: 0.5,
            passage: 0.5,
            best_def: 0.3,
            generated: 0.2,
            examples: 0.6,
            push_eps: 3e-7,
            history: 0.7,
            history_confident: 0.3,
            cochange: 0.3,
            component_dirs: 0.3,
            recent: 0.3,
            paired_test: 5,
        };
        for kv in spec.split(',').filter(|kv| !kv.trim().is_empty()) {
            let Some((k, Ok(v))) = kv
                .split_once('=')
                .map(|(k, v)| (k, v.trim().parse::<f64>()))
            else {
                warnings.push(format!("ignoring `{kv}` (want name=number)"));
                continue;
            };
            // A weight that is not a number (`nan`, `inf`) or below 0 would leave every
            // score without an order; the graph's precision at 0 would never be reached.
            let ok = match k.trim() {
                "pusheps" => (1e-10..=0.1).contains(&v),
                _ => v.is_finite() && v >= 0.0,
            };
            if !ok {
                warnings.push(format!(
                    "ignoring `{kv}` (want a finite number ≥ 0; pusheps from 1e-10 to 0.1)"
                ));
                continue;
            }
            match k.trim() {
                "k1" => t.k1 = v,
                "b" => t.b = v,
                "defs" => t.defs = v,
                "path" => t.path = v,
                "seeds" => t.seeds = v as usize,
                "graph" => t.graph = v,
                "reverse" => t.reverse = v,
                "tests" => t.tests = v,
                "text" => t.text = v,
                "pathbonus" => t.path_bonus = v,
                "hub" => t.hub = v,
                "component" => t.component = v,
                "passage" => t.passage = v,
                "bestdef" => t.best_def = v,
                "generated" => t.generated = v,
                "examples" => t.examples = v,
                "pusheps" => t.push_eps = v,
                "history" => t.history = v,
                "histconf" => t.history_confident = v,
                "cochange" => t.cochange = v,
                "compdirs" => t.component_dirs = v,
                "recent" => t.recent = v,
                "pairedtest" => t.paired_test = v as usize,
                other => warnings.push(format!("unknown weight `{other}`")),
            }
        }
        (t, warnings)
    }
}
/// How many of the best files by file-level lexical score get passage and name scores.
const DEEP: usize = 500;
/// Score of a file named in the task, above any lexical score.
const NAMED: f64 = 10.0;

/// A file's lexicon entry (see `lexicon`).
#[derive(Clone, Copy)]
pub struct Lexicon<'a> {
    pub terms: &'a [u8],
    /// Length in terms.
    pub length: u32,
    /// How many passages the file has, and their lengths summed (the passages themselves, and
    /// the defined names' terms, come from `rank`'s `deep_of`, for the files that need them).
    pub passages: u32,
    pub passage_terms: u32,
}

/// The file graph of the candidates (see `repomap::rank::Graph`), positions in `candidates`
/// order: asked for only when some file seeds it.
pub type GraphOf<'a> = dyn FnMut() -> anyhow::Result<Edges> + 'a;

/// The passages and defined names (see `store::LexiconDeep`) of the candidates at these
/// positions, by position; a file left out has none to score.
pub type DeepOf<'a> = dyn FnMut(&[usize]) -> anyhow::Result<HashMap<usize, LexiconDeep>> + 'a;

/// One candidate file as the ranking sees it.
pub struct Candidate<'a> {
    pub file: &'a FileRow,
    pub lexicon: Option<Lexicon<'a>>,
    pub entry_point: bool,
    /// What the repository's `.gitattributes` say of it (`linguist-generated`, `-vendored`).
    pub marks: Marks,
}

impl Candidate<'_> {
    /// Vendored or generated by the repository's own marks, else by its path: a file its
    /// `.gitattributes` mark `linguist-generated` or `linguist-vendored` is, one they unset
    /// either on (`deps/** -linguist-vendored`) is not, whatever its path.
    pub fn vendored_or_generated(&self) -> bool {
        self.marks.marked() || (!self.marks.unmarked() && is_vendored_or_generated(&self.file.path))
    }
}

#[derive(Debug, Clone)]
pub struct Scored {
    /// Index into the candidates.
    pub index: usize,
    pub score: f64,
    pub named: bool,
    /// Lines the task names in the file (`src/a.rs:120`, `File "a.py", line 42`).
    pub lines: Vec<u32>,
    pub reasons: Vec<String>,
}

impl Scored {
    /// A file the ranking did not score, before history lends to it (co-change, a commit the
    /// task refers to): no score or reason yet.
    pub fn unscored(index: usize) -> Scored {
        Scored {
            index,
            score: 0.0,
            named: false,
            lines: Vec::new(),
            reasons: Vec::new(),
        }
    }
}

pub struct Ranking {
    /// Files with a positive score, best first (ties by path).
    pub files: Vec<Scored>,
}

/// A file named by the task, found in its text.
pub struct Named {
    pub index: usize,
    pub as_written: String,
    /// The line written with it, if any.
    pub line: Option<u32>,
    /// How many files have the name as written: 1 when it names this file alone, more for a
    /// file name a few files share (`tpm.h` in src/include/ and src/include/tss/).
    pub shared: usize,
}

/// How many of the lines the task names in a file its reason lists.
const LISTED_LINES: usize = 8;

/// `line 5`, `lines 5, 9`, or for a log that names many, the first few and how many:
/// `lines 1, 2, …, 8, … (300 lines)`. `lines` sorted.
pub fn listed_lines(lines: &[u32]) -> String {
    let shown = |ls: &[u32]| ls.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    match lines {
        [l] => format!("line {l}"),
        ls if ls.len() > LISTED_LINES => format!(
            "lines {}, … ({} lines)",
            shown(&ls[..LISTED_LINES]),
            ls.len()
        ),
        ls => format!("lines {}", shown(ls)),
    }
}

/// Whether `file` has line `line` (1-based).
pub fn has_line(file: &FileRow, line: u32) -> bool {
    line >= 1 && u64::from(line) <= file.lines
}

/// A file name shared by at most this many files still names them (each is lifted, none comes
/// first); more (`__init__.py`, `index.js`, `Makefile`) name none.
const MAX_SHARED: usize = 4;
/// Score of a file whose name the task writes and a few other files share: above any unnamed
/// file, below a file the task names alone.
const SHARED_NAME: f64 = NAMED / 2.0;

/// Finds files the task names: a path or path suffix (`src/a/b.py`, `a/b.py`), a file name that
/// only one file has (`decoder.py`) or a few share (`shared` > 1), or a dotted module
/// (`json.decoder`). A word is a file name when its extension is a known one or when some file
/// has exactly that name (`pom.xml`, `Foo.kt`, `Cargo.lock`: not `e.g.` or `v1.2`). Words that
/// look like paths but match nothing come back as warnings; `others` (path, why it is not a
/// candidate) say why for a file that exists but is not read. The candidates from `texts_from`
/// on are text files vibe does not rank (`package.json`, `debian/rules`), which only a name
/// brings in: a name more than `MAX_SHARED` of them have is a warning that says so.
pub fn named_files(
    task: &str,
    candidates: &[Candidate],
    texts_from: usize,
    others: &[(&str, &str)],
) -> (Vec<Named>, Vec<String>) {
    named_files_in(None, task, candidates, texts_from, others)
}

/// [`named_files`] in a root directory named `root_name`: a prefixed path that ends with it
/// and a file at the top (`/home/runner/work/proj/proj/app.py`, `../proj/app.py`) names that
/// file.
pub fn named_files_in(
    root_name: Option<&str>,
    task: &str,
    candidates: &[Candidate],
    texts_from: usize,
    others: &[(&str, &str)],
) -> (Vec<Named>, Vec<String>) {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        let name = c.file.path.rsplit('/').next().unwrap_or(&c.file.path);
        by_name.entry(name).or_default().push(i);
    }
    // The files that are not candidates, by file name, to say why a named one is not ranked.
    let mut others_by_name: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for &(path, why) in others {
        let name = path.rsplit('/').next().unwrap_or(path);
        others_by_name.entry(name).or_default().push((path, why));
    }
    // `name.ext` with a known extension, or with any extension some file's name has.
    let file_name = |w: &str| {
        has_extension(w, false) || {
            let name = w.rsplit('/').next().unwrap_or(w);
            has_extension(name, true)
                && (by_name.contains_key(name) || others_by_name.contains_key(name))
        }
    };
    let looks_like_file = |w: &str| w.contains('/') || file_name(w);
    let mut warned: std::collections::HashSet<String> = std::collections::HashSet::new();
    // Built when a word first looks like a module path.
    let modules_cell: std::cell::OnceCell<Modules> = std::cell::OnceCell::new();
    let modules = || modules_cell.get_or_init(|| Modules::new(candidates));
    let mut named: Vec<Named> = Vec::new();
    let mut warnings = Vec::new();
    let punctuation = |c: char| "`'\"()[]{}<>,;:!?*".contains(c);
    // At the end, full stops too, in any order with the rest (`"src/a.rs".`, `(a.rs).`).
    let closing = |c: char| punctuation(c) || c == '.';
    let trim = |w: &str| -> String {
        let w = w.trim_start_matches(punctuation).trim_end_matches(closing);
        // `src/a.rs's`: a possessive (`’s` too: the task is read with ASCII quotes,
        // `context::readable_task`).
        let w = w
            .strip_suffix("'s")
            .map_or(w, |w| w.trim_end_matches(closing));
        w.to_string()
    };
    // Words, and the parts of a Markdown link (`[the parser](src/parse.rs)`) and of a list
    // written without spaces (`a.rs,b.rs`).
    let words: Vec<&str> = task
        .split_whitespace()
        .flat_map(|w| w.split("](").flat_map(|w| w.split(',')))
        .filter(|w| !w.is_empty())
        .collect();
    for (k, raw) in words.iter().enumerate() {
        // A backslash escaped in a string's repr or JSON (`'C:\\\\src\\\\a.py'`) is one.
        let word = trim(raw).replace("\\\\", "\\").replace('\\', "/");
        // What a CI log puts before a path: GitHub Actions' `##[error]`, `file=` of its
        // `::error file=a.rs,line=9::` commands (whose `line=` is the next word).
        let word = match word.strip_prefix("##[") {
            Some(rest) => rest
                .split_once(']')
                .map_or(word.clone(), |(_, w)| w.to_string()),
            None => word,
        };
        let (word, command_line) = match word.strip_prefix("file=") {
            Some(path) => (
                path.to_string(),
                words
                    .get(k + 1)
                    .and_then(|w| w.strip_prefix("line="))
                    .and_then(|n| {
                        n.trim_end_matches(|c: char| !c.is_ascii_digit())
                            .parse::<u32>()
                            .ok()
                    }),
            ),
            None => (word, None),
        };
        // A link to the file on a forge names it by its path (nothing if it is not here: the
        // link may be to another repository); a `file://` URL, a bundler's (`webpack:///./a.js`)
        // or a local dev server's (`http://localhost:5173/src/a.js?t=1:30:9`) by theirs.
        let (word, linked) = match link_path(&word)
            .map(str::to_string)
            .or_else(|| local_url_path(&word))
        {
            Some(path) => (path, true),
            None => (word, false),
        };
        // A stack frame of the JVM's languages: `io.x.Decoder.decode(Decoder.java:42)` is
        // about `Decoder.java:42` (not so `a.cpp(120)`, a file and its line). Most frames are
        // of libraries, whose files are not here: no warning for those.
        let (word, framed) = match word.split_once('(') {
            Some((call, file))
                if !call.is_empty()
                    && !file_name(call)
                    && looks_like_file(file.split(':').next().unwrap_or(file)) =>
            {
                // Its class's package is where the file is (`com.y.Foo.m(Foo.java:44)` is
                // com/y/Foo.java, not another package's Foo.java), when the file is here.
                let in_package = jvm_package_path(call, file).filter(|p| {
                    let name = p.rsplit('/').next().unwrap_or(p);
                    let name = name.split(':').next().unwrap_or(name);
                    let path = p.split(':').next().unwrap_or(p);
                    by_name.get(name).is_some_and(|list| {
                        list.iter()
                            .any(|&i| ends_with_path(&candidates[i].file.path, path))
                    })
                });
                (in_package.unwrap_or_else(|| file.to_string()), true)
            }
            _ => (word, false),
        };
        // `a.rs:120:5`, `a.cpp(120)`, `a.py#L120`, Ruby's `a.rb:120:in`; a Python traceback's
        // `File "a.py", line 42`, Perl's `at a.pm line 42.`, .NET's `in C:\src\A.cs:line 42`.
        let word = match word.strip_suffix(":in") {
            Some(w) if split_line(w).is_some() => w.to_string(),
            _ => word,
        };
        // A pytest node id, `tests/test_a.py::TestA::test_b[x-1]`: its file.
        let word = match word.split_once("::") {
            Some((file, _)) if file_name(file) => file.to_string(),
            _ => word,
        };
        let (word, mut line) = match split_line(&word) {
            // Only after something that looks like a file: `time.sleep(100)` is a call.
            Some((path, n)) if looks_like_file(path) => (path, n),
            _ => (word.split('(').next().unwrap_or(&word), None),
        };
        let (word, dotnet) = match word.strip_suffix(":line") {
            Some(path) if line.is_none() && looks_like_file(path) => (path, true),
            _ => (word, false),
        };
        if line.is_none() {
            line = command_line;
        }
        if line.is_none() && (dotnet || words.get(k + 1) == Some(&"line")) {
            line = words
                .get(k + if dotnet { 1 } else { 2 })
                .and_then(|n| n.trim_end_matches([',', '.', ':', ';']).parse::<u32>().ok());
        }
        // `./any.go`, as `go build` writes a file of the directory it runs in: the file at the
        // top of that name, before any other file of it (`./src/a.rs` is `src/a.rs`).
        let top = word.trim_start_matches("./");
        let from_top = top.len() < word.len();
        let word = top.to_string();
        // URLs, and product names that look like file names, name no file of the repository.
        if word.len() < 3
            || word.contains("://")
            || word.starts_with("www.")
            || KNOWN_NAMES.contains(&word.to_ascii_lowercase().as_str())
        {
            continue;
        }
        let has_ext = file_name(&word);
        let mut found: Vec<usize> = Vec::new();
        let mut shared = 1;
        let dot_slash = by_name
            .get(word.as_str())
            .filter(|_| from_top)
            .and_then(|list| list.iter().find(|&&i| candidates[i].file.path == word));
        if let Some(&i) = dot_slash {
            found = vec![i];
        } else if word.contains('/') {
            // Only the files of the same name can end with the path (a pasted log may hold
            // thousands of paths: no scan of every file for each).
            let name = word.rsplit('/').next().unwrap_or(&word);
            let same_name = by_name.get(name).map_or(&[][..], Vec::as_slice);
            let path_of = |i: &usize| candidates[*i].file.path.as_str();
            found = same_name
                .iter()
                .filter(|i| ends_with_path(path_of(i), &word))
                .copied()
                .collect();
            if found.is_empty()
                && let Some(rest) = word.strip_prefix("a/").or_else(|| word.strip_prefix("b/"))
            {
                // A diff's `--- a/app.py`, `+++ b/app.py`: the repository's path after it.
                found = same_name
                    .iter()
                    .filter(|i| path_of(i) == rest)
                    .copied()
                    .collect();
            }
            if found.is_empty() {
                // An absolute or otherwise prefixed path (`/home/me/proj/src/a.py` in a
                // traceback, `C:/work/proj/src/a.cs`) names the longest repository path it ends
                // with, of at least two segments (a bare `a.py` is too little to tell it from a
                // file outside the repository), or a file at the top after the root's own name
                // (`/home/runner/work/proj/proj/app.py`). A path through where packages are
                // installed (`site-packages/django/db/models/base.py`, `node_modules/`, Cargo's
                // registry) is another project's file: only what follows the package
                // directory counts (`.tox/…/site-packages/proj/views.py` is src/proj/views.py).
                let (tail, installed) = match installed_path(&word) {
                    Some(rest) => (rest, true),
                    None => (word.as_str(), false),
                };
                let at_top = |p: &str| {
                    !installed
                        && root_name.is_some_and(|r| {
                            tail.strip_suffix(p)
                                .and_then(|rest| rest.strip_suffix('/'))
                                .is_some_and(|rest| rest.rsplit('/').next() == Some(r))
                        })
                };
                found = same_name
                    .iter()
                    .filter(|i| {
                        let p = path_of(i);
                        if installed {
                            ends_with_path(p, tail)
                        } else {
                            (p.contains('/') && ends_with_path(tail, p)) || at_top(p)
                        }
                    })
                    .max_by_key(|i| path_of(i).len())
                    .into_iter()
                    .copied()
                    .collect();
            }
            // A directory named in the task is not a file, and an absolute path that ends in no
            // repository file is outside it (a traceback's frames in the standard library or
            // site-packages): say nothing about either.
            let absolute = word.starts_with('/')
                || word.starts_with("../")
                || word.as_bytes().get(1..3) == Some(b":/".as_slice());
            if found.is_empty() && (!has_ext || absolute) {
                continue;
            }
            // A suffix several files end with (`src/index.js` in six packages) names each of
            // them as a shared name does.
            shared = found.len().max(1);
        } else if has_ext {
            if let Some(list) = by_name.get(word.as_str()) {
                // A unique file name names one file; a name a few files share names each of
                // them, more weakly (see `SHARED_NAME`).
                if list.len() <= MAX_SHARED {
                    found = list.clone();
                    shared = list.len();
                } else {
                    // Source files come in by their words too; a text file only by a name.
                    if list.iter().all(|&i| i >= texts_from) && warned.insert(word.clone()) {
                        warnings.push(format!(
                            "the task names {word}, which {} files have ({}, …); write more of \
                             its path to name one",
                            list.len(),
                            candidates[list[0]].file.path
                        ));
                    }
                    continue;
                }
            }
        } else if word.contains("::") {
            // A Rust or C++ path: `context::rank` → context/rank.rs, context/rank/mod.rs; an
            // item's path names its module's file (`cli::report` → cli/mod.rs, cli.rs).
            found = module_files(&word, candidates, modules());
            if found.is_empty() {
                continue;
            }
        } else if word.contains('.') && !word.starts_with('.') {
            // A dotted module: `json.decoder` → json/decoder.py, json/decoder/__init__.py, …
            found = dotted_module_files(&word, candidates, modules());
            if found.is_empty() {
                continue;
            }
        } else {
            continue;
        }
        // A piece of a brace list left as written (past the words it may multiply into:
        // `src/{a,b}/{c,d}/…/{i,j}.rs`) names no file of its own: no warning for `j}.rs`
        // (its braces do not pair; `${ROOT}/a.py`'s do).
        if found.is_empty() && (linked || framed || !braces_pair(&word)) {
            continue;
        }
        // Node's own modules in an older stack frame (`internal/modules/cjs/loader.js:1085`;
        // newer ones write `node:internal/…`), and a name that is no path (`Module._extensions
        // ..js`, a key of Node's), are no missing files.
        let node_core =
            word.starts_with("internal/") && (word.ends_with(".js") || word.ends_with(".mjs"));
        if found.is_empty() && (node_core || (word.contains("..") && !word.contains('/'))) {
            continue;
        }
        if found.is_empty() {
            // Once per word: a pasted log writes the same missing path on thousands of lines.
            if !warned.insert(word.clone()) {
                continue;
            }
            let suffix = format!("/{word}");
            let name = word.rsplit('/').next().unwrap_or(&word);
            warnings.push(
                match others_by_name
                    .get(name)
                    .into_iter()
                    .flatten()
                    .find(|(p, _)| *p == word || p.ends_with(&suffix))
                {
                    Some((path, why)) => {
                        format!("the task names {word}, but vibe does not read {path}: {why}")
                    }
                    None => format!("the task names {word}, which is not an indexed file"),
                },
            );
        }
        // One entry per file, and one more per further line named in it; a name it shares and
        // a name of its own are separate entries (a line written with a shared name is a line
        // of one of its files, not of this one).
        for i in found {
            if named
                .iter()
                .any(|n| n.index == i && n.shared == shared && (line.is_none() || n.line == line))
            {
                continue;
            }
            match named
                .iter_mut()
                .find(|n| n.index == i && n.shared == shared && n.line.is_none())
            {
                Some(n) => n.line = line,
                None => named.push(Named {
                    index: i,
                    as_written: word.clone(),
                    line,
                    shared,
                }),
            }
        }
    }
    // A shared name the task also writes one of its files' paths for names that file alone.
    // (Each file once: a pasted log may name the same files on thousands of lines.)
    let mut alone: Vec<&str> = named
        .iter()
        .filter(|n| n.shared == 1)
        .map(|n| candidates[n.index].file.path.as_str())
        .collect();
    alone.sort_unstable();
    alone.dedup();
    named.retain(|n| n.shared == 1 || !alone.iter().any(|p| ends_with_path(p, &n.as_written)));
    (named, warnings)
}

/// `name.ext` with a known extension, or with `any_extension` any extension of letters and
/// digits (`pom.xml`, `Cargo.lock`; not `v1.2`).
fn has_extension(word: &str, any_extension: bool) -> bool {
    word.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && if any_extension {
                ext.bytes().all(|b| b.is_ascii_alphanumeric())
                    && ext.bytes().any(|b| b.is_ascii_alphabetic())
            } else {
                is_extension(ext)
            }
    })
}

/// Whether every `}` of `word` closes a `{` before it, and every `{` is closed.
fn braces_pair(word: &str) -> bool {
    let mut depth = 0i32;
    for c in word.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// A path and the line written after it, when one is: `a.rs:120`, `a.rs:120:5`,
/// `a.rs:120-130`, `a.rs:L120`, `a.cpp(120)`, `a.cpp(120,5)` (the closing parenthesis already
/// trimmed), `a.py#L120`, `a.py#L120-L130`. The line is `None` when it does not fit a `u32`
/// (the path is still the path).
fn split_line(word: &str) -> Option<(&str, Option<u32>)> {
    // `120`, `L120`, `120-130`, `L120-L130`: the first line.
    let number = |s: &str| -> Option<Option<u32>> {
        // Maven's `A.java:[45,17]` (its `,17]` cut off as another word).
        let s = s
            .strip_prefix('L')
            .or_else(|| s.strip_prefix('['))
            .unwrap_or(s);
        let first = s.split('-').next().unwrap_or(s);
        (!first.is_empty() && first.bytes().all(|b| b.is_ascii_digit())).then(|| first.parse().ok())
    };
    if let Some((path, n)) = word.rsplit_once("#L")
        && let Some(line) = number(n)
    {
        return Some((path, line));
    }
    if let Some((path, args)) = word.rsplit_once('(')
        && let Some(line) = number(args.split(',').next().unwrap_or(args))
    {
        return Some((path, line));
    }
    // The path before the first of the numbers that end the word (`a.rs:1:2:3`; a Windows
    // drive's `C:` is no number), found in one pass from the end.
    let parts: Vec<&str> = word.split(':').collect();
    let mut first = parts.len();
    while first > 1 && number(parts[first - 1]).is_some() {
        first -= 1;
    }
    if first == parts.len() {
        return None;
    }
    let at = parts[..first].iter().map(|p| p.len() + 1).sum::<usize>() - 1;
    (at > 0).then(|| (&word[..at], number(parts[first]).flatten()))
}

/// The repository path of a link to a file on a forge: `https://github.com/o/r/blob/main/src/a.rs#L10`
/// → `src/a.rs#L10` (GitHub's and Gitea's `blob/`, `raw/`, `tree/`, GitLab's `-/blob/`: the
/// segment after it is the branch or commit).
fn link_path(word: &str) -> Option<&str> {
    let (_, rest) = word.split_once("://")?;
    let (_, after) = ["/blob/", "/raw/", "/tree/"]
        .iter()
        .find_map(|marker| rest.split_once(marker))?;
    let (_, path) = after.split_once('/')?;
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty()).then_some(path)
}

/// The path a `file://` URL, a bundler's source URL (`webpack:///./src/a.js`,
/// `webpack://app/./src/a.js`) or a local dev server's URL (`http://localhost:5173/src/a.js?t=1`)
/// stands for, with what follows it kept (`:30:9`) and its query dropped.
fn local_url_path(word: &str) -> Option<String> {
    let (scheme, rest) = word.split_once("://")?;
    let path = match scheme {
        "file" => rest.strip_prefix("localhost").unwrap_or(rest).to_string(),
        "webpack" | "webpack-internal" => {
            let rest = rest.trim_start_matches('/');
            match rest.split_once("/./") {
                Some((_, after)) => after.to_string(),
                None => rest.strip_prefix("./").unwrap_or(rest).to_string(),
            }
        }
        "http" | "https" => {
            let (host, path) = rest.split_once('/')?;
            let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
            if !matches!(host, "localhost" | "127.0.0.1" | "0.0.0.0" | "[::1]") {
                return None;
            }
            path.to_string()
        }
        _ => return None,
    };
    // `a.js?t=123:30:9` → `a.js:30:9`.
    let path = match path.split_once('?') {
        Some((before, after)) => match after.find(':') {
            Some(at) => format!("{before}{}", &after[at..]),
            None => before.to_string(),
        },
        None => path,
    };
    (!path.is_empty() && path != "/").then_some(path)
}

/// What follows the directory packages are installed in, in a path through one
/// (`…/site-packages/django/db/models/base.py` → `django/db/models/base.py`; `node_modules/`,
/// Cargo's registry and git checkouts, Go's module cache).
fn installed_path(word: &str) -> Option<&str> {
    const MARKERS: &[&str] = &[
        "/site-packages/",
        "/dist-packages/",
        "/node_modules/",
        "/.cargo/registry/",
        "/.cargo/git/",
        "/pkg/mod/",
    ];
    // The last such directory; at the start of a relative path too (`node_modules/x/a.js`).
    MARKERS
        .iter()
        .filter_map(|m| {
            word.rfind(m)
                .map(|at| &word[at + m.len()..])
                .or_else(|| word.strip_prefix(&m[1..]))
        })
        .min_by_key(|rest| rest.len())
}

/// The file a JVM frame's call names in its class's package: `com.y.Foo.m` with `Foo.java:44`
/// → `com/y/Foo.java:44` (an inner class's `Foo$Bar` too); `None` when the class is not named
/// after the file (Kotlin's `FooKt`) or has no package.
fn jvm_package_path(call: &str, file: &str) -> Option<String> {
    let name = file.split(':').next().unwrap_or(file);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let mut parts: Vec<&str> = call.split('.').collect();
    parts.pop()?;
    let class = parts.pop()?;
    let class = class.split('$').next().unwrap_or(class);
    if class != stem || parts.is_empty() || parts.iter().any(|p| p.is_empty() || p.contains('/')) {
        return None;
    }
    Some(format!("{}/{file}", parts.join("/")))
}

/// Whether `path` is `suffix` or ends with `/suffix`.
fn ends_with_path(path: &str, suffix: &str) -> bool {
    path.strip_suffix(suffix)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('/'))
}

/// The Rust or C++ files a `::` path names: the longest prefix of its segments (`crate`,
/// `self` and `super` dropped) that is a module file (`a/b.rs`, `a/b/mod.rs`, `a/b.cc`, …),
/// when at most three files match it.
///
/// A C++ namespace is no file: `std::` names none, and one segment names a C++ file only when
/// it is written as a class is (`Decoder::decode` → Decoder.cpp; not `fmt::join` → src/fmt.cc,
/// the project's own namespace). A longer path names one that has it (`boost::asio::io_context`
/// → boost/asio/io_context.hpp).
fn module_files(word: &str, candidates: &[Candidate], modules: &Modules) -> Vec<usize> {
    let segments: Vec<&str> = word
        .split("::")
        .filter(|s| !s.is_empty() && !matches!(*s, "crate" | "self" | "super"))
        .collect();
    let cpp_std = segments.first() == Some(&"std");
    longest_module(
        candidates,
        modules,
        &segments,
        1,
        "/mod",
        |c, _, as_path| match c.file.language.as_deref() {
            Some("rust") => true,
            Some("cpp") => {
                !cpp_std
                    && (as_path.contains('/')
                        || as_path.starts_with(|ch: char| ch.is_ascii_uppercase()))
            }
            _ => false,
        },
    )
}

/// The files a dotted name names: its longest prefix that is a module (`json.decoder` →
/// json/decoder.py or json/decoder/__init__.py; an item's path names its module's file:
/// `wsgiref.headers.Headers` → wsgiref/headers.py), when at most three files match it.
///
/// Only source files count, not their documentation (`ImageFont.rst`). A prefix names its file
/// only if the file mentions the segment after it (`email.parseaddr` does not name
/// email/__init__.py, which does not mention `parseaddr`), and a package alone does not name
/// a file when more follows than one item (`os.path.expandvars` names no os.py).
fn dotted_module_files(word: &str, candidates: &[Candidate], modules: &Modules) -> Vec<usize> {
    let segments: Vec<&str> = word.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Vec::new();
    }
    let shortest = if segments.len() == 2 { 1 } else { 2 };
    let analyzer = Analyzer::default();
    // An item with no terms (`e.g.`, `i.e.`) is mentioned nowhere.
    let mentions = |c: &Candidate, item: &str| {
        let (mut any, mut all) = (false, true);
        analyzer.word_terms(item, |t| {
            any = true;
            all &= c.lexicon.is_none_or(|l| lookup(l.terms, t).is_some());
        });
        any && all
    };
    longest_module(
        candidates,
        modules,
        &segments,
        shortest,
        "/__init__",
        // Rust's, C++'s and Go's modules are not written with dots (Go's `main.main()` is a
        // function of package main, not src/main.rs).
        |c, next, _| {
            c.file.language.is_some()
                && !matches!(
                    c.file.language.as_deref(),
                    Some("rust" | "c" | "cpp" | "go")
                )
                && next.is_none_or(|item| mentions(c, item))
        },
    )
}

/// The files of the longest prefix of `segments`, of at least `shortest` of them, that is a
/// module (see `files_of_module`) and whose files `keep` accepts (given the segment after the
/// prefix); none when more than three files are.
fn longest_module(
    candidates: &[Candidate],
    modules: &Modules,
    segments: &[&str],
    shortest: usize,
    package_file: &str,
    keep: impl Fn(&Candidate, Option<&str>, &str) -> bool,
) -> Vec<usize> {
    // No module path is deeper than the deepest file: a 64,000-segment `a.a.a…` in a pasted
    // log tried (and joined) every prefix, quadratic in its length.
    for take in (shortest.max(1)..=segments.len().min(modules.depth)).rev() {
        let next = segments.get(take).copied();
        let as_path = segments[..take].join("/");
        let found = files_of_module(candidates, modules, &as_path, package_file, |c| {
            keep(c, next, &as_path)
        });
        if !found.is_empty() {
            return if found.len() > 3 { Vec::new() } else { found };
        }
    }
    Vec::new()
}

/// The candidates (those `keep` accepts) that are the module `as_path` (`json/decoder`): their
/// path without its extension, and without a trailing `package_file` (`/__init__`, `/mod`),
/// is `as_path` or ends with `/as_path`.
fn files_of_module(
    candidates: &[Candidate],
    modules: &Modules,
    as_path: &str,
    package_file: &str,
    keep: impl Fn(&Candidate) -> bool,
) -> Vec<usize> {
    let suffix = format!("/{as_path}");
    let last = as_path.rsplit('/').next().unwrap_or(as_path);
    modules
        .by_last
        .get(last)
        .into_iter()
        .flatten()
        .copied()
        .filter(|&i| {
            let c = &candidates[i];
            let p = &c.file.path;
            let stem = p.rsplit_once('.').map_or(p.as_str(), |(s, _)| s);
            let stem = stem.strip_suffix(package_file).unwrap_or(stem);
            (stem == as_path || stem.ends_with(&suffix)) && keep(c)
        })
        .collect()
}

/// Candidates by the last part of a module path they can be: their stem (`decoder` of
/// json/decoder.py) and their directory's name (`json` of json/__init__.py, `cli` of
/// cli/mod.rs), each candidate once per key and in order. A module's files are looked up, not
/// searched for among every file: a pasted log of 60,000 dotted words searched 2,450 files for
/// each.
struct Modules<'c> {
    by_last: HashMap<&'c str, Vec<usize>>,
    /// The most segments a candidate's path has.
    depth: usize,
}

impl<'c> Modules<'c> {
    fn new(candidates: &'c [Candidate]) -> Self {
        let mut by_last: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut depth = 0;
        for (i, c) in candidates.iter().enumerate() {
            let p = c.file.path.as_str();
            depth = depth.max(p.split('/').count());
            let stem = p.rsplit_once('.').map_or(p, |(s, _)| s);
            let mut parts = stem.rsplit('/');
            let name = parts.next().unwrap_or(stem);
            by_last.entry(name).or_default().push(i);
            // json/json.py: once under `json`.
            if let Some(dir) = parts.next().filter(|&dir| dir != name) {
                by_last.entry(dir).or_default().push(i);
            }
        }
        Modules { by_last, depth }
    }
}

/// Names of projects and products spelled like file names.
const KNOWN_NAMES: &[&str] = &[
    "node.js",
    "vue.js",
    "next.js",
    "nuxt.js",
    "react.js",
    "angular.js",
    "ember.js",
    "express.js",
    "d3.js",
    "three.js",
    "chart.js",
    "deno.js",
    "bun.js",
    "asp.net",
    "socket.io",
];

/// An extension that makes a word a file name, whether or not a file has it: of code (those
/// vibe parses, and the distinctive ones of code it ranks unparsed: `Foo.kt`, `user.rb`; not
/// `m`, `r`, `pl` or `el`, which end abbreviations and times: `a.m.`, `5.pm`), documentation
/// and configuration.
fn is_extension(ext: &str) -> bool {
    matches!(
        ext,
        "py" | "pyi"
            | "pyw"
            | "pyx"
            | "kt"
            | "kts"
            | "rb"
            | "php"
            | "swift"
            | "cs"
            | "scala"
            | "dart"
            | "lua"
            | "groovy"
            | "vue"
            | "svelte"
            | "zig"
            | "exs"
            | "erl"
            | "clj"
            | "jl"
            | "coffee"
            | "js"
            | "jsx"
            | "mjs"
            | "cjs"
            | "ts"
            | "tsx"
            | "mts"
            | "cts"
            | "rs"
            | "go"
            | "java"
            | "c"
            | "h"
            | "cc"
            | "cpp"
            | "cxx"
            | "hpp"
            | "hh"
            | "hxx"
            | "md"
            | "rst"
            | "toml"
            | "json"
            | "yaml"
            | "yml"
            | "txt"
            | "cfg"
            | "ini"
            | "sh"
            | "html"
            | "css"
    )
}

/// The component of a `component: message` task, the convention of many projects' commit
/// subjects (`url: only reuse connections…`, `Stream: fixed…`, `lib/http2: …`), the scope of a
/// Conventional Commits subject (`fix(parser): …`, `feat(compiler-sfc)!: …`), or a leading
/// tag in brackets (`[InstCombine] …`, `[clang][NFC] …`), lowercased. A change type alone
/// (`fix: …`, `chore: …`), a version (`[3.11] …`) or a tag such as `[NFC]` or `[WIP]` names no
/// component, and neither does a list (`compat,build: …`: the files of one part would outrank
/// those of both). Several prefixes come joined by `:` (`net: ipv4: …` → `net:ipv4`) and two
/// words by a space (`system reset: …`), as written: [`component_here`] makes a path of them.
pub fn component_of(task: &str) -> Option<String> {
    let (tagged, task) = bracket_component(task.trim_start());
    if tagged.is_some() {
        return tagged;
    }
    prefix_component(task).or_else(|| phrase_component(task))
}

/// The `component:` or Conventional Commits scope a task (after its bracketed tags) starts
/// with; see [`component_of`]. Further `part:` prefixes on the first line that narrow it
/// (each starting with a letter, not a change type) follow it, joined by `:`: `net: ipv4: fix
/// …` is `net:ipv4`, `libtextstyle: term-ostream: …` `libtextstyle:term-ostream`, at most
/// `MAX_COMPONENT_PARTS` parts in all (each part of a written path counts); [`component_here`]
/// reads them.
fn prefix_component(task: &str) -> Option<String> {
    let mut words = task.trim_start().lines().next()?.split_whitespace();
    let first = words.next()?;
    let Some(head) = first.strip_suffix(':') else {
        return pair_component(first, words.next()?);
    };
    let head = head.strip_suffix('!').unwrap_or(head);
    match head.split_once('(') {
        Some((kind, scope))
            if !kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            return as_component(scope.strip_suffix(')')?);
        }
        Some(_) => return None,
        None if is_change_type(head) => return None,
        None => {}
    }
    let mut comp = as_component(head)?;
    let mut parts = comp.split('/').count();
    for word in words {
        let Some(part) = word
            .strip_suffix(':')
            .filter(|p| p.starts_with(|c: char| c.is_alphabetic()) && !is_change_type(p))
            .and_then(as_component)
        else {
            break;
        };
        parts += part.split('/').count();
        if parts > MAX_COMPONENT_PARTS {
            break;
        }
        comp = format!("{comp}:{part}");
    }
    Some(comp)
}

/// The component of a task that starts with two words and a colon (`system reset: …`, `tcs
/// pbg: …`), written with a space: [`component_here`] keeps it only as a path or a joined
/// file name the tree has (cmd/podman/system/reset.go, src/tcs/tcs_pbg.c), as such words are
/// as often a phrase (`skip test: …`, `blob loading: …`).
fn pair_component(first: &str, second: &str) -> Option<String> {
    let second = second.strip_suffix(':')?;
    let word = |w: &str| {
        as_component(w).filter(|c| {
            w.starts_with(|c: char| c.is_alphabetic())
                && !c.contains('/')
                && !is_change_type(c)
                && !crate::context::terms::is_stop_word(c)
        })
    };
    Some(format!("{} {}", word(first)?, word(second)?))
}

/// How many parts a component of several `part:` prefixes is read from.
const MAX_COMPONENT_PARTS: usize = 3;

/// Leading prefixes that say what kind of change it is rather than where (GNU's `doc: ls: …`,
/// `maint: diff3: …`, `tests: sort: …`, Conventional Commits' types as a prefix).
const KIND_PARTS: &[&str] = &[
    "all",
    "build",
    "ci",
    "doc",
    "docs",
    "documentation",
    "maint",
    "misc",
    "test",
    "tests",
];

/// The task's component as this tree has it (see [`component_of`]), a path for
/// [`component_match`]. One prefix is kept as written, whatever matches (the component history
/// may still know it). Several (`net:ipv4`, from `net: ipv4: …`) are kept whole where some
/// ranked file matches them as a path (net/ipv4/…); else without their leading parts when the
/// first says what kind of change it is or matches no file (`doc: ls: …` → src/ls.c), and
/// without their trailing parts, a function or a detail (`xl2tpd: start_pppd: …` → xl2tpd.c),
/// the first of these that matches (the trailing parts first when the first part matches and
/// is no kind); else their first part. Two words (`system reset: …`, see [`pair_component`])
/// are kept only as a path (system/reset) or a name joined by `_` or `-` that a file matches,
/// else there is no component.
pub fn component_here(component: Option<String>, candidates: &[Candidate]) -> Option<String> {
    let comp = component?;
    if !comp.contains([':', ' ']) {
        return Some(comp);
    }
    let lower: Vec<String> = candidates
        .iter()
        .map(|c| c.file.path.to_lowercase())
        .collect();
    let matches = |c: &String| lower.iter().any(|p| lowered_component_match(p, c) > 0.0);
    if let Some((first, second)) = comp.split_once(' ') {
        return ["/", "_", "-"]
            .iter()
            .map(|join| format!("{first}{join}{second}"))
            .find(matches);
    }
    let parts: Vec<&str> = comp.split(':').collect();
    let whole = parts.join("/");
    if matches(&whole) {
        return Some(whole);
    }
    let suffixes = (1..parts.len()).map(|i| parts[i..].join("/"));
    let prefixes = (1..parts.len()).rev().map(|j| parts[..j].join("/"));
    let first = parts[0].to_string();
    let found = if KIND_PARTS.contains(&parts[0]) || !matches(&first) {
        suffixes.chain(prefixes).find(matches)
    } else {
        prefixes.chain(suffixes).find(matches)
    };
    Some(found.unwrap_or(first))
}

/// Whether a past commit's component (as [`component_of`] reads it) has the parts of `comp`
/// (the task's, as [`component_here`] keeps it) in a row: `net: ipv4:` has `net`, `ipv4` and
/// `net/ipv4`, `doc: ls:` has `ls`, `system reset:` has `system/reset`; `core:` does not have
/// `cor`.
pub fn component_within(outer: &str, comp: &str) -> bool {
    let (outer, comp): (Vec<&str>, Vec<&str>) = (
        outer.split(['/', ':', ' ']).collect(),
        comp.split('/').collect(),
    );
    outer.windows(comp.len()).any(|w| w == comp.as_slice())
}

/// The part a task's first non-blank line calls "the X module" (or package, library, crate,
/// plugin, extension, subsystem, driver, or their plurals): `Fix AttributeError in the email
/// module` → `email`, `the "http.client" module` → `http/client`. Only after "the", and not a
/// word of the language (`the same module`, `the new driver`) or of the ecosystem around the
/// code (`the tests module`, `the npm package`).
fn phrase_component(task: &str) -> Option<String> {
    const KINDS: &[&str] = &[
        "module",
        "package",
        "library",
        "crate",
        "plugin",
        "extension",
        "subsystem",
        "driver",
    ];
    // Words that say which module without naming it, and words of the ecosystem around the
    // code (`the tests module`, `the kernel module`, `the npm package`).
    const DESCRIBING: &[&str] = &[
        "main",
        "core",
        "whole",
        "entire",
        "old",
        "default",
        "first",
        "last",
        "next",
        "standard",
        "following",
        "previous",
        "current",
        "corresponding",
        "underlying",
        "internal",
        "external",
        "shared",
        "dynamic",
        "static",
        "public",
        "private",
        "affected",
        "relevant",
        "right",
        "wrong",
        "native",
        "builtin",
        "missing",
        "unused",
        "actual",
        "existing",
        "original",
        "separate",
        "single",
        "specific",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "test",
        "tests",
        "testing",
        "kernel",
        "python",
        "node",
        "npm",
        "go",
        "rust",
        "java",
        "perl",
        "ruby",
        "php",
    ];
    let quotes = |c: char| matches!(c, '`' | '\'' | '"' | '‘' | '’' | '“' | '”');
    let line = task.lines().find(|l| !l.trim().is_empty())?;
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(3).find_map(|w| {
        let the = w[0].trim_start_matches(|c: char| c.is_ascii_punctuation());
        let name = w[1].trim_matches(quotes);
        let kind = w[2]
            .trim_end_matches(|c: char| c.is_ascii_punctuation() || quotes(c))
            .to_ascii_lowercase();
        let singular = match kind.strip_suffix("ies") {
            Some(k) => format!("{k}y"),
            None => kind.strip_suffix('s').unwrap_or(&kind).to_string(),
        };
        let lower = name.to_lowercase();
        if !the.eq_ignore_ascii_case("the")
            || !KINDS.contains(&singular.as_str())
            || lower.chars().count() < 2
            || lower.starts_with(|c: char| c.is_ascii_digit())
            || crate::context::terms::is_stop_word(&lower)
            || DESCRIBING.contains(&lower.as_str())
            || is_change_type(&lower)
        {
            return None;
        }
        // A module written as code names its file: `http.client` is http/client, and
        // `tcs_auth_mgr.c` is tcs_auth_mgr.
        let name = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() && is_extension(ext) => stem,
            _ => name,
        };
        as_component(&name.replace('.', "/"))
    })
}

/// The first component among the bracketed tags a task starts with (`[clang][NFC] …`,
/// `[4.2.x] [admin] …`), else none and the task after its tags (`[CVE-2022-40303] xmlreader:
/// …` → `xmlreader: …`).
fn bracket_component(task: &str) -> (Option<String>, &str) {
    let mut rest = task;
    while let Some(tail) = rest.strip_prefix('[') {
        let Some((tag, after)) = tail.split_once(']') else {
            break;
        };
        // Versions (`3.11`, `4.2.x`).
        let is_tag = tag.starts_with(|c: char| c.is_ascii_digit())
            || is_change_type(tag)
            || BRACKET_TAGS.contains(&tag.to_ascii_lowercase().as_str());
        if !is_tag && let Some(comp) = as_component(tag) {
            return (Some(comp), after);
        }
        rest = after.trim_start();
    }
    (None, rest)
}

/// A component as written, if it looks like one: a name or path, lowercased; not an issue
/// tracker's id (`CVE-2022-40303`, `gh-121650`), while `e1000e` or `iso8601` are components.
fn as_component(comp: &str) -> Option<String> {
    let comp = comp.trim_matches('/');
    let ok = !comp.is_empty()
        && !comp.contains("//")
        && comp.len() <= 40
        && !is_tracker_id(comp)
        && comp
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    ok.then(|| comp.to_lowercase())
}

/// Bracketed tags that say something about a change other than where it is.
const BRACKET_TAGS: &[&str] = &[
    "nfc", "nfci", "rfc", "draft", "patch", "security", "breaking", "minor", "major", "trivial",
    "skip ci", "ci skip", "release",
];

/// Whether a commit subject's type says what kind of change it is, not where: a word the task
/// analysis drops for that reason (`fix`, `add`, `refactor`, …) or a Conventional Commits type.
fn is_change_type(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    is_change_word(&lower)
        || matches!(
            lower.as_str(),
            "feat"
                | "feature"
                | "chore"
                | "perf"
                | "style"
                | "revert"
                | "wip"
                | "cleanup"
                | "improvement"
                | "bugfix"
                | "hotfix"
        )
}

/// 1 when the file's stem is the component (`url` → lib/url.c, `init` → init_linux.go), 0.5
/// when a directory on its path is (`stream` → src/stream/x.c), else 0. A component of
/// several parts (`lib/http2`, `libtextstyle/term-ostream`) gives 1 when the stem is its last
/// part's and the others are directories on the path, in that order
/// (libtextstyle/lib/term-ostream.c), and 0.5 when all its parts are, in that order (net/ipv4
/// → net/ipv4/tcp.c).
pub fn component_match(path: &str, comp: &str) -> f64 {
    lowered_component_match(&path.to_lowercase(), comp)
}

/// [`component_match`] of a path already lowercased.
fn lowered_component_match(lower: &str, comp: &str) -> f64 {
    let (dirs, name) = lower.rsplit_once('/').unwrap_or(("", lower));
    let stem = name.split('.').next().unwrap_or(name);
    let (before, last) = comp.rsplit_once('/').unwrap_or(("", comp));
    let stem_hit = stem == last
        || stem
            .strip_prefix(last)
            .is_some_and(|r| r.starts_with(['_', '-']));
    // Whether `parts` are directories on the path, in that order.
    let on_path = |parts: &str| {
        let mut dirs = dirs.split('/');
        parts
            .split('/')
            .all(|part| part.is_empty() || dirs.any(|d| d == part))
    };
    if stem_hit && on_path(before) {
        return 1.0;
    }
    if on_path(comp) {
        return 0.5;
    }
    0.0
}

/// Vendored, generated or minified: almost never what a task means. Also a Python build's
/// metadata (`PKG-INFO`, `*.egg-info/`: the README again, in every source distribution and
/// editable install) and Sphinx's output (`_build/`).
pub fn is_vendored_or_generated(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.split('/').any(|c| {
        c.ends_with(".egg-info")
            || matches!(
                c,
                "vendor"
                    | "vendored"
                    | "third_party"
                    | "thirdparty"
                    | "third-party"
                    | "node_modules"
                    | "external"
                    | "deps"
                    | "generated"
                    | "gen"
                    | "dist"
                    | "build"
                    | "_build"
            )
    }) || lower.ends_with(".min.js")
        || lower.rsplit('/').next() == Some("pkg-info")
        || lower.ends_with("_pb2.py")
        || lower.ends_with(".pb.go")
        || lower.ends_with(".generated.ts")
        || lower.contains(".gen.")
}

/// Example, demo, sample and benchmark code: a directory of that name on the path.
pub fn is_example_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let dirs = lower.rsplit_once('/').map_or("", |(d, _)| d);
    dirs.split('/').any(|c| {
        matches!(
            c,
            "example"
                | "examples"
                | "demo"
                | "demos"
                | "sample"
                | "samples"
                | "benchmark"
                | "benchmarks"
        )
    })
}

/// Whether the task talks about examples, demos, samples or benchmarks.
fn mentions_examples(task: &str) -> bool {
    let lower = task.to_lowercase();
    ["example", "demo", "sample", "benchmark"]
        .iter()
        .any(|w| lower.contains(w))
}

/// Best first; ties by path, so that the order is the same on every run.
pub fn sort(files: &mut [Scored], candidates: &[Candidate]) {
    files.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| {
            candidates[a.index]
                .file
                .path
                .cmp(&candidates[b.index].file.path)
        })
    });
}

/// The weight of the co-change score (see `context::changed_with_best`), and the prior of what
/// it lends a file that is not source code.
pub fn cochange_weights() -> (f64, f64) {
    let t = Tune::get();
    (t.cochange, t.text)
}

/// The weight of how recently a commit changed a file (see `context::recently_changed`), and
/// the prior of what it lends a file that is not source code.
pub fn recent_weights() -> (f64, f64) {
    let t = Tune::get();
    (t.recent, t.text)
}

/// The share of the task's idf mass below which the best past commit's match is weak (see
/// `history::score`).
pub fn history_confident() -> f64 {
    Tune::get().history_confident
}

/// The place the best source file's test comes up to (see `context::test_of_best`); 0: off.
pub fn paired_test_place() -> usize {
    Tune::get().paired_test
}

/// The prior of what history and co-change lend a file: the text prior for a file that is not
/// source code (commits change docs, READMEs and changelogs with the code they describe, and a
/// task rarely needs them in the code's place), none for source.
pub fn lent_prior(c: &Candidate, text: f64) -> f64 {
    if is_source(c.file) { 1.0 } else { text }
}

/// Whether a file is source code: in a language vibe parses, or in one it ranks by words
/// alone (`lang::unparsed_code`); the rest (docs, configuration, build files) takes the text
/// prior.
pub fn is_source(f: &FileRow) -> bool {
    f.language.is_some() || crate::repomap::lang::unparsed_code(&f.ftype).is_some()
}

/// A graph score, or a lift of recent changes, at or below this is too small to list among a
/// file's reasons (and a graph score this small is no evidence of its own).
pub const SHOWN: f64 = 0.01;

/// Ranks the candidates for the task's terms; `component` is the task's ([`component_here`]),
/// worked out once by the caller, which also reads past commits by it. `graph_of` gives the
/// file graph of the candidates, `deep_of` the passages and defined names of the few hundred
/// files whose passages and names are scored.
#[allow(clippy::too_many_arguments)]
pub fn rank(
    task: &str,
    component: Option<&str>,
    terms: &[QueryTerm],
    candidates: &[Candidate],
    named: &[Named],
    graph_of: &mut GraphOf,
    history: &[Option<super::history::Hit>],
    deep_of: &mut DeepOf,
) -> anyhow::Result<Ranking> {
    let n = candidates.len();
    let tune = Tune::get();
    let (k1, b) = (tune.k1, tune.b);
    let about_tests = mentions_tests(task);
    let about_examples = mentions_examples(task);

    // Lexical: BM25F.
    let with_lexicon: Vec<usize> = (0..n)
        .filter(|&i| candidates[i].lexicon.is_some())
        .collect();
    let docs = with_lexicon.len().max(1) as f64;
    let avg_len = with_lexicon
        .iter()
        .filter_map(|&i| candidates[i].lexicon.map(|l| f64::from(l.length)))
        .sum::<f64>()
        / docs;
    let mut lexical = vec![0.0f64; n];
    let mut matched: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n]; // (term index, contribution)
    let mut term_weights: Vec<(super::terms::Term, f64)> = Vec::new(); // (term, weight × idf)
    let hits_by_term = term_hits(
        terms,
        candidates,
        &with_lexicon,
        terms.len() > LONG_TASK_TERMS,
    );
    for (qi, (q, hits)) in terms.iter().zip(hits_by_term).enumerate() {
        if hits.is_empty() {
            continue;
        }
        let df = hits.len() as f64;
        let idf = (1.0 + (docs - df + 0.5) / (df + 0.5)).ln();
        let weight = if q.whole {
            2.0
        } else if q.code_like {
            1.3
        } else {
            1.0
        };
        term_weights.push((q.term, weight * idf));
        for (i, c) in hits {
            let len = candidates[i].lexicon.map_or(0.0, |l| f64::from(l.length));
            let norm = 1.0 - b + b * len / avg_len.max(1.0);
            let tf = f64::from(c.text) / norm
                + tune.defs * f64::from(c.defs)
                + tune.path * f64::from(c.path);
            let s = weight * idf * tf * (k1 + 1.0) / (tf + k1)
                + tune.path_bonus * weight * idf * f64::from(c.path.min(1));
            lexical[i] += s;
            matched[i].push((qi, s));
        }
    }
    let max_lex = lexical.iter().copied().fold(0.0, f64::max);
    let mut lex_norm: Vec<f64> = lexical
        .iter()
        .map(|s| if max_lex > 0.0 { s / max_lex } else { 0.0 })
        .collect();
    // Files by their file-level score: the best seed the graph, and only the best DEEP get
    // passage and name scores (further down, a mix with them cannot reach the top of the list,
    // and on large repositories scoring every file's passages would cost more than the rest).
    let mut order: Vec<usize> = (0..n).filter(|&i| lexical[i] > 0.0).collect();
    order.sort_by(|&a, &b| {
        lexical[b]
            .total_cmp(&lexical[a])
            .then_with(|| candidates[a].file.path.cmp(&candidates[b].file.path))
    });
    let deep: Vec<usize> = order
        .iter()
        .take(DEEP)
        .copied()
        .filter(|&i| candidates[i].lexicon.is_some())
        .collect();
    let scored = !term_weights.is_empty() && (tune.passage > 0.0 || tune.best_def > 0.0);
    let details = if scored {
        deep_of(&deep)?
    } else {
        HashMap::new()
    };
    let deep: Vec<(usize, &LexiconDeep)> = deep
        .iter()
        .filter_map(|&i| details.get(&i).map(|d| (i, d)))
        .collect();
    // Passages: the best 40-line passage of each matched file, by BM25 over passages.
    if tune.passage > 0.0 && !term_weights.is_empty() {
        let (mut total, mut count) = (0.0f64, 0usize);
        for &i in &with_lexicon {
            if let Some(l) = candidates[i].lexicon {
                total += f64::from(l.passage_terms);
                count += l.passages as usize;
            }
        }
        let avg = (total / count.max(1) as f64).max(1.0);
        let mut best = vec![0.0f64; n];
        for &(i, d) in &deep {
            for (len, records) in passages(&d.chunks) {
                let norm = 1.0 - b + b * f64::from(len) / avg;
                let mut s = 0.0;
                for &(t, w) in &term_weights {
                    let tf = f64::from(passage_count(records, t));
                    if tf > 0.0 {
                        s += w * tf * (k1 + 1.0) / (tf + k1 * norm);
                    }
                }
                best[i] = best[i].max(s);
            }
        }
        let max_best = best.iter().copied().fold(0.0, f64::max);
        if max_best > 0.0 {
            for i in 0..n {
                lex_norm[i] =
                    (1.0 - tune.passage) * lex_norm[i] + tune.passage * best[i] / max_best;
            }
        }
    }
    // Definitions: the defined name that shares the most (idf-weighted) task terms.
    if tune.best_def > 0.0 && !term_weights.is_empty() {
        let weights: HashMap<super::terms::Term, f64> = term_weights.iter().copied().collect();
        let mut best = vec![0.0f64; n];
        for &(i, d) in &deep {
            for name in name_terms(&d.names) {
                let s: f64 = name.filter_map(|t| weights.get(&t)).sum();
                best[i] = best[i].max(s);
            }
        }
        let max_best = best.iter().copied().fold(0.0, f64::max);
        if max_best > 0.0 {
            for i in 0..n {
                lex_norm[i] += tune.best_def * best[i] / max_best;
            }
            let top = lex_norm.iter().copied().fold(0.0, f64::max);
            if top > 0.0 {
                lex_norm.iter_mut().for_each(|x| *x /= top);
            }
        }
    }

    // Graph: personalised PageRank from the named and the best lexical files.
    let mut seed = vec![0.0f64; n];
    for &i in order.iter().take(tune.seeds) {
        seed[i] = lex_norm[i] * lex_norm[i];
    }
    for nm in named {
        seed[nm.index] = seed[nm.index].max(1.0 / nm.shared.max(1) as f64);
    }
    let seed_sum: f64 = seed.iter().sum();
    let mut graph_score = vec![0.0f64; n];
    let mut via: Vec<Option<(usize, bool)>> = vec![None; n]; // (seed, reverse)
    if seed_sum > 0.0 {
        let graph = &graph_of()?;
        assert_eq!(graph.files(), n, "the graph is the candidates'");
        let teleport: Vec<f64> = seed.iter().map(|s| s / seed_sum).collect();
        let ppr = personalized_pagerank(graph, &teleport, tune.reverse, tune.push_eps);
        // The part of a file's rank that is not its own teleport share, relative to the best.
        let lift: Vec<f64> = (0..n)
            .map(|i| {
                let own = (ppr[i] - (1.0 - DAMPING) * teleport[i]).max(0.0);
                let global = candidates[i].file.rank.max(1e-9);
                own / global.powf(tune.hub)
            })
            .collect();
        let max_lift = lift
            .iter()
            .enumerate()
            .filter(|(i, _)| seed[*i] == 0.0)
            .map(|(_, l)| *l)
            .fold(0.0, f64::max);
        if max_lift > 0.0 {
            for i in 0..n {
                graph_score[i] = (lift[i] / max_lift).min(1.0);
            }
        }
        // Why: the seed with the strongest direct edge to the file ("defines what it uses"),
        // else the seed the file points at most strongly ("uses it").
        let mut strongest = vec![0.0f64; n];
        for f in 0..n {
            if seed[f] == 0.0 {
                continue;
            }
            for (g, w) in graph.of(f) {
                let g = g as usize;
                if seed[g] == 0.0 && seed[f] * w > strongest[g] {
                    strongest[g] = seed[f] * w;
                    via[g] = Some((f, false));
                }
            }
        }
        for f in 0..n {
            if seed[f] > 0.0 || via[f].is_some() {
                continue;
            }
            if let Some((g, _)) = graph
                .of(f)
                .filter(|(g, _)| seed[*g as usize] > 0.0)
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            {
                via[f] = Some((g as usize, true));
            }
        }
    }

    // Per named file: how the task first wrote it, the lines it named there (only for a file
    // it names alone: a line of a shared name's file is a line of one of them) and how many
    // files have that name (1 once the task names it alone anywhere).
    let mut named_at: HashMap<usize, (&str, Vec<u32>, usize)> = HashMap::new();
    for nm in named {
        let (as_written, lines, shared) =
            named_at
                .entry(nm.index)
                .or_insert((nm.as_written.as_str(), Vec::new(), nm.shared));
        if nm.shared < *shared {
            *as_written = nm.as_written.as_str();
            *shared = nm.shared;
        }
        if nm.shared == 1 {
            lines.extend(nm.line);
        }
    }
    let mut files: Vec<Scored> = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        let is_named = named_at.get(&i);
        let mut score = lex_norm[i] + tune.graph * graph_score[i];
        let hint = component.map_or(0.0, |comp| component_match(&c.file.path, comp));
        let past = history
            .get(i)
            .and_then(Option::as_ref)
            .filter(|_| tune.history > 0.0);
        // A lend too small to show (a weak best match scaled down), as for the graph's, is not
        // listed, and is no evidence of its own.
        let lent_shown = past.is_some_and(|h| h.score > SHOWN);
        if score <= 0.0 && is_named.is_none() && hint == 0.0 && !lent_shown {
            continue;
        }
        let mut reasons = Vec::new();
        if hint > 0.0 {
            score += tune.component * hint;
            reasons.push(format!(
                "the task names its component ({})",
                component.unwrap_or("")
            ));
        }
        let mut lines: Vec<u32> = is_named.map(|(_, l, _)| l.clone()).unwrap_or_default();
        lines.sort_unstable();
        lines.dedup();
        // Named alone: first, in full if it fits; by a name it shares: above the unnamed files.
        let alone = is_named.is_some_and(|&(_, _, shared)| shared == 1);
        if let Some(&(as_written, _, shared)) = is_named
            && shared > 1
        {
            reasons.push(format!(
                "named in the task ({as_written}, a name {shared} files share)"
            ));
        } else if let Some((as_written, _, _)) = is_named {
            // Lines the file has; the others are a warning (`context::build`).
            let inside: Vec<u32> = lines
                .iter()
                .copied()
                .filter(|&l| has_line(c.file, l))
                .collect();
            let at = if inside.is_empty() {
                String::new()
            } else {
                format!(", {}", listed_lines(&inside))
            };
            reasons.push(format!("named in the task ({as_written}{at})"));
        }
        if !matched[i].is_empty() {
            let mut m = matched[i].clone();
            m.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let words: Vec<String> = m
                .iter()
                .take(6)
                .map(|(qi, _)| terms[*qi].word.clone())
                .fold(Vec::new(), |mut acc, w| {
                    if !acc.contains(&w) {
                        acc.push(w);
                    }
                    acc
                });
            reasons.push(format!(
                "matches {} (lexical {:.2})",
                words.join(", "),
                lex_norm[i]
            ));
        }
        if graph_score[i] > SHOWN {
            match via[i] {
                Some((s, false)) => reasons.push(format!(
                    "defines what {} uses (graph {:.2})",
                    candidates[s].file.path, graph_score[i]
                )),
                Some((s, true)) => reasons.push(format!(
                    "uses {} (graph {:.2})",
                    candidates[s].file.path, graph_score[i]
                )),
                None => reasons.push(format!(
                    "close to the matched files in the graph ({:.2})",
                    graph_score[i]
                )),
            }
        }
        let path = c.file.path.as_str();
        if c.marks.marked() {
            score *= 0.2;
            reasons.push(format!(
                "marked {} in .gitattributes (×0.2)",
                if c.marks.generated == Some(true) {
                    "linguist-generated"
                } else {
                    "linguist-vendored"
                }
            ));
        } else if c.vendored_or_generated() {
            score *= 0.2;
            reasons.push("vendored or generated (×0.2)".into());
        } else if c.marks.generated != Some(false)
            && c.lexicon.is_some_and(|l| is_generated(l.terms))
        {
            score *= tune.generated;
            reasons.push(format!(
                "generated, its header says so (×{})",
                tune.generated
            ));
        } else if !about_tests && is_test_path(path) {
            score *= tune.tests;
            reasons.push(format!(
                "test file, the task is not about tests (×{})",
                tune.tests
            ));
        } else if !about_examples && is_example_path(path) {
            score *= tune.examples;
            reasons.push(format!(
                "example or benchmark, the task is not about those (×{})",
                tune.examples
            ));
        }
        if !is_source(c.file) {
            score *= tune.text;
            reasons.push(format!("not source code (×{})", tune.text));
        }
        if c.entry_point {
            score *= 1.1;
            reasons.push("entry point (×1.1)".into());
        }
        // Past commits like the task changed it: outside the priors (they changed it whatever
        // kind of file it is), but for text, which commits change along with the code they
        // describe (docs, READMEs, changelogs) and which the task rarely needs in their place.
        if let Some(h) = past {
            score += tune.history * h.score * lent_prior(c, tune.text);
        }
        if let Some(h) = past.filter(|_| lent_shown) {
            reasons.push(format!(
                "changed by {} of the past commits most like the task, such as {} (history {:.2})",
                h.commits, h.example, h.score
            ));
        }
        // Where the task's component's past commits went: only for files with evidence of their
        // own (the task's words, a graph score or a history lend that would be shown, the name,
        // the prefix): spread over every file of a directory, it would bury them.
        let evidence = lex_norm[i] > 0.0
            || graph_score[i] > SHOWN
            || hint > 0.0
            || is_named.is_some()
            || lent_shown;
        if let Some(d) = past.and_then(|h| h.dir)
            && evidence
            && tune.component_dirs > 0.0
        {
            score += tune.component_dirs * d.share * lent_prior(c, tune.text);
            let dir = match super::history::parent(&c.file.path) {
                "" => "the top directory".to_string(),
                dir => format!("{dir}/"),
            };
            reasons.push(format!(
                "in {dir}, where past `{}` commits made {} of their {} file changes \
                 (component history {:.2})",
                component.unwrap_or(""),
                d.here,
                d.all,
                d.share
            ));
        }
        // A touch of global importance breaks near-ties towards central files.
        score += 0.02 * c.file.rank.sqrt().min(1.0);
        if alone {
            score += NAMED;
        } else if is_named.is_some() {
            score += SHARED_NAME;
        }
        files.push(Scored {
            index: i,
            score,
            named: alone,
            lines,
            reasons,
        });
    }
    sort(&mut files, candidates);
    Ok(Ranking { files })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn component_prefixes_name_files_and_directories() {
        let comp = |task: &str| component_of(task).unwrap_or_default();
        assert_eq!(comp("url: only reuse connections"), "url");
        assert_eq!(comp("Stream: fixed OCSP"), "stream");
        assert_eq!(comp("lib/http2: fix"), "lib/http2");
        assert_eq!(comp("Fix the decoder"), "");
        assert_eq!(comp("note: see https://x"), "note");
        assert_eq!(comp("fix(parser): handle EOF"), "parser");
        assert_eq!(comp("feat(compiler-sfc)!: drop x"), "compiler-sfc");
        assert_eq!(comp("fix: handle EOF"), "");
        assert_eq!(comp("Chore: bump deps"), "");
        assert_eq!(comp("fix(oops: x"), "");
        assert_eq!(comp("(x): y"), "");
        assert_eq!(comp("compat,build: handle cacheTo"), "");
        assert_eq!(comp("[InstCombine] fold x"), "instcombine");
        assert_eq!(comp("[NFC][clang] tidy"), "clang");
        assert_eq!(comp("[4.2.x] Fixed #1 -- y"), "");
        assert_eq!(comp("[3.11] [] gh-102988: y"), "");
        assert_eq!(comp("GH-102988: y"), "");
        assert_eq!(comp("[WIP] y"), "");
        assert_eq!(comp("[3.12] [admin] y"), "admin");
        assert_eq!(comp("[CVE-2022-40303] xmlreader: y"), "xmlreader");
        assert_eq!(comp("[] schemas: y"), "schemas");
        assert_eq!(comp("e1000e: fix y"), "e1000e");
        assert_eq!(comp("iso8601: y"), "iso8601");
        assert_eq!(comp("bpo-4567: y"), "");
        assert_eq!(comp("Update: y"), "");
        assert_eq!(comp("[backport] y"), "");
        assert_eq!(
            comp("[3.11] gh-118643: Fix x in the email module (GH-2)"),
            "email"
        );
        assert_eq!(comp("Use the `json` package, not simplejson"), "json");
        assert_eq!(comp("Fix a leak in the http.client module."), "http/client");
        assert_eq!(comp("(the email module)"), "email");
        assert_eq!(comp("the “email” module"), "email");
        assert_eq!(comp("the é module"), "");
        assert_eq!(comp("Fix the tests module"), "");
        assert_eq!(comp("Fix the parser plugins"), "parser");
        assert_eq!(comp("in the crypto libraries"), "crypto");
        assert_eq!(comp("Fix the same module twice"), "");
        assert_eq!(comp("Fix the new driver"), "");
        assert_eq!(comp("Fix the core module"), "");
        assert_eq!(comp("removing unused module"), "");
        assert_eq!(comp("the 4th package treated specially"), "");
        assert_eq!(comp("is the eighth package getting special treatment"), "");
        assert_eq!(comp("Fix the tcs_auth_mgr.c module's leak"), "");
        assert_eq!(
            comp("Patch the tcs_auth_mgr.c module to fix x"),
            "tcs_auth_mgr"
        );
        assert_eq!(comp("x\n\nthe email module"), "");
        assert_eq!(comp("url: in the email module"), "url");
        assert_eq!(component_match("lib/url.c", "url"), 1.0);
        assert_eq!(component_match("Lib/http/client.py", "http/client"), 1.0);
        assert_eq!(component_match("libcontainer/init_linux.go", "init"), 1.0);
        assert_eq!(
            component_match("src/stream/ngx_stream_ssl_module.c", "stream"),
            0.5
        );
        assert_eq!(component_match("lib/urldata.h", "url"), 0.0);
        assert_eq!(component_match("lib/http2.c", "lib/http2"), 1.0);
        assert_eq!(component_match("src/http2.c", "lib/http2"), 0.0);
        // Prefixes that narrow a component, joined by `:` as written.
        assert_eq!(comp("net: ipv4: fix the MTU"), "net:ipv4");
        assert_eq!(
            comp("libtextstyle: term-ostream: Fix a leak"),
            "libtextstyle:term-ostream"
        );
        assert_eq!(comp("a: b: c: d: e"), "a:b:c");
        assert_eq!(comp("a/b: c: d: e"), "a/b:c");
        assert_eq!(comp("a: b/c/d: e"), "a");
        assert_eq!(comp("doc: fix: typo"), "doc");
        assert_eq!(comp("doc: 2: typo"), "doc");
        assert_eq!(comp("doc: see: x"), "doc:see");
        assert_eq!(comp("fix(parser): lexer: x"), "parser");
        assert_eq!(comp("x//y: z"), "");
        assert_eq!(comp("x: a//b: z"), "x");
        // Only the first line's.
        assert_eq!(comp("tests:\n\nFoo: bar"), "tests");
        assert_eq!(comp("\n  net: ipv4: x"), "net:ipv4");
        // Two words: kept as written, for `component_here`.
        assert_eq!(comp("system reset: show x"), "system reset");
        assert_eq!(comp("Fix typo: x"), "");
        assert_eq!(comp("the parser: x"), "");
        assert_eq!(comp("Python 3.9: x"), "");
        assert_eq!(comp("src/a b: x"), "");
        assert_eq!(comp("Fix the typo: x"), "");
        // The directories before a component's file, in order.
        assert_eq!(
            component_match(
                "libtextstyle/lib/term-ostream.oo.c",
                "libtextstyle/term-ostream"
            ),
            1.0
        );
        assert_eq!(
            component_match("lib/term-ostream.c", "libtextstyle/term-ostream"),
            0.0
        );
        assert_eq!(component_match("net/ipv4/tcp.c", "net/ipv4"), 0.5);
        assert_eq!(component_match("net/core/dev.c", "net/ipv4"), 0.0);
        assert_eq!(component_match("a/lib/b/http2.c", "lib/http2"), 1.0);
        assert_eq!(component_match("http2/lib/x.c", "lib/http2"), 0.0);
    }

    #[test]
    fn a_component_part_naming_nothing_here_is_dropped() {
        let files = rows(&[
            "xl2tpd.c",
            "network.c",
            "net/ipv4/tcp.c",
            "net/core/dev.c",
            "src/ls.c",
            "doc/cp.texi",
            "cmd/podman/system/reset.go",
            "src/tcs/tcs_pbg.c",
            "test/main.go",
        ]);
        let candidates = without_lexicon(&files);
        let here = |task: &str| component_here(component_of(task), &candidates);
        assert_eq!(here("net: ipv4: x").as_deref(), Some("net/ipv4"));
        // A kind of change, or a part naming nothing, before the component.
        assert_eq!(here("maint: tcp: x").as_deref(), Some("tcp"));
        assert_eq!(here("gui: tcp: x").as_deref(), Some("tcp"));
        assert_eq!(here("doc: ls: x").as_deref(), Some("ls"));
        assert_eq!(here("tests: main: x").as_deref(), Some("main"));
        // A function or a detail after it, even one named like a file elsewhere.
        assert_eq!(here("xl2tpd: start_pppd: x").as_deref(), Some("xl2tpd"));
        assert_eq!(here("net: sctp: x").as_deref(), Some("net"));
        assert_eq!(here("net: sctp: tcp: x").as_deref(), Some("net"));
        assert_eq!(here("network: main: x").as_deref(), Some("network"));
        assert_eq!(here("maint: sctp: x").as_deref(), Some("maint"));
        // A path written as one prefix is kept as written.
        assert_eq!(here("src/tcp.c: x").as_deref(), Some("src/tcp.c"));
        assert_eq!(here("lib/http2: x").as_deref(), Some("lib/http2"));
        // One part is kept whatever matches: the component history may know it.
        assert_eq!(here("gui: x").as_deref(), Some("gui"));
        assert_eq!(here("Fix x").as_deref(), None);
        // Two words name a path or a joined name, or nothing.
        assert_eq!(here("system reset: x").as_deref(), Some("system/reset"));
        assert_eq!(here("tcs pbg: x").as_deref(), Some("tcs_pbg"));
        assert_eq!(here("skip test: x").as_deref(), None);
        assert!(component_within("system reset", "system/reset"));
        assert!(component_within("system reset", "system"));
        assert!(component_within("net:ipv4", "net"));
        assert!(component_within("net:ipv4", "ipv4"));
        assert!(component_within("net:ipv4", "net/ipv4"));
        assert!(component_within("net:ipv4:tcp", "ipv4/tcp"));
        assert!(component_within("lib/http2", "lib/http2"));
        assert!(component_within("doc:ls", "ls"));
        assert!(component_within("core", "core"));
        assert!(!component_within("core", "cor"));
        assert!(!component_within("net:ipv4:tcp", "net/tcp"));
        assert!(!component_within("net", "net/ipv4"));
    }

    pub(crate) fn file(id: i64, path: &str) -> FileRow {
        FileRow {
            id,
            path: path.into(),
            language: Some("rust".into()),
            ftype: "rust".into(),
            size: 0,
            mtime_ns: 0,
            stamp: 0,
            hash: None,
            lines: 0,
            bytes: 0,
            parse_errors: false,
            skip_reason: None,
            package: None,
            main_guard: false,
            rank: 0.0,
        }
    }

    fn rows(paths: &[&str]) -> Vec<FileRow> {
        paths
            .iter()
            .enumerate()
            .map(|(i, p)| file(i as i64, p))
            .collect()
    }

    pub(crate) fn without_lexicon(files: &[FileRow]) -> Vec<Candidate<'_>> {
        files
            .iter()
            .map(|f| Candidate {
                file: f,
                lexicon: None,
                entry_point: false,
                marks: Marks::default(),
            })
            .collect()
    }

    /// Each (path, text)'s lexicon entry.
    fn analysed(sources: &[(&str, &str)]) -> Vec<super::super::lexicon::Entry> {
        let analyzer = Analyzer::default();
        sources
            .iter()
            .map(|(p, text)| {
                super::super::lexicon::analyse(
                    &analyzer,
                    &mut HashMap::new(),
                    p,
                    text,
                    std::iter::empty(),
                )
            })
            .collect()
    }

    fn with_lexicons<'a>(
        files: &'a [FileRow],
        entries: &'a [super::super::lexicon::Entry],
    ) -> Vec<Candidate<'a>> {
        files
            .iter()
            .zip(entries)
            .map(|(f, e)| Candidate {
                file: f,
                lexicon: Some({
                    let (passages, passage_terms) = e.passage_stats();
                    Lexicon {
                        terms: &e.blob,
                        length: e.length,
                        passages,
                        passage_terms,
                    }
                }),
                entry_point: false,
                marks: Marks::default(),
            })
            .collect()
    }

    /// The paths of the files the task names; no warnings.
    fn named_paths(task: &str, files: &[FileRow], candidates: &[Candidate]) -> Vec<String> {
        let (named, warnings) = named_files(task, candidates, candidates.len(), &[]);
        assert!(warnings.is_empty(), "{warnings:?}");
        named.iter().map(|n| files[n.index].path.clone()).collect()
    }

    /// A brace list too long to write out stays as written; its pieces (`j}.rs`) are no
    /// missing files.
    #[test]
    fn a_brace_list_left_as_written_names_no_missing_file() {
        let files = rows(&["src/a.py"]);
        let candidates = without_lexicon(&files);
        let task = "fix src/{a,b}/{c,d}/{e,f}/{g,h}/{i,j}.rs";
        assert_eq!(super::super::terms::with_braces_expanded(task), task);
        let (named, warnings) = named_files(task, &candidates, 1, &[]);
        assert!(named.is_empty() && warnings.is_empty(), "{warnings:?}");
        // Braces that pair are no brace list's piece: a missing file is still said.
        let (_, warnings) = named_files("fix ${ROOT}/polls/missing.py", &candidates, 1, &[]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn text_files_are_named_whatever_their_extension() {
        let mut paths = vec!["src/a.py", "pom.xml", "Cargo.lock", "debian/rules", "v1.2"];
        let many: Vec<String> = (0..6).map(|i| format!("p{i}/package.json")).collect();
        paths.extend(many.iter().map(String::as_str));
        let files = rows(&paths);
        let candidates = without_lexicon(&files);
        // The text files from the second on.
        type Found = Vec<(String, Option<u32>, usize)>;
        let named = |task: &str| -> (Found, Vec<String>) {
            let (named, warnings) = named_files(task, &candidates, 1, &[]);
            let named = named
                .iter()
                .map(|n| (files[n.index].path.clone(), n.line, n.shared))
                .collect();
            (named, warnings)
        };
        assert_eq!(
            named("bump it in pom.xml:12 and `Cargo.lock`; see debian/rules").0,
            [
                ("pom.xml".to_string(), Some(12), 1),
                ("Cargo.lock".to_string(), None, 1),
                ("debian/rules".to_string(), None, 1),
            ]
        );
        // A version, an abbreviation and a bare `rules` are no file names.
        assert_eq!(named("since v1.2, e.g. the rules"), (vec![], vec![]));
        // A name more than four text files have names none, and says how many have it.
        assert_eq!(
            named("package.json"),
            (
                vec![],
                vec![
                    "the task names package.json, which 6 files have (p0/package.json, …); \
                     write more of its path to name one"
                        .to_string()
                ]
            )
        );
        assert_eq!(named("p3/package.json").0[0].0, "p3/package.json");
        // A file that is not read is named by any extension, to say why.
        let others = [("logo.dat", "it is binary")];
        let (named, warnings) = named_files("see logo.dat", &[], 0, &others);
        assert!(named.is_empty());
        assert_eq!(
            warnings,
            ["the task names logo.dat, but vibe does not read logo.dat: it is binary"]
        );
    }

    #[test]
    fn rust_paths_name_their_module_files() {
        let files = rows(&[
            "src/context/rank.rs",
            "src/cli/mod.rs",
            "src/lib.rs",
            "src/io.rs",
        ]);
        let candidates = without_lexicon(&files);
        let named = |task: &str| named_paths(task, &files, &candidates);
        assert_eq!(named("context::rank: one pass"), ["src/context/rank.rs"]);
        assert_eq!(named("make crate::cli::report exit 2"), ["src/cli/mod.rs"]);
        assert_eq!(
            named("`context::rank::named_files` misses"),
            ["src/context/rank.rs"]
        );
        assert!(named("std::vec::Vec grows twice").is_empty());
        // C++: a namespace is no file (helper 97: `std::vector<bool>` named fmt's std.h and
        // `fmt::join` its src/fmt.cc), a class is, and so is a longer path a file has.
        let mut files = rows(&[
            "include/fmt/std.hpp",
            "src/fmt.cc",
            "src/Decoder.cpp",
            "boost/asio/io_context.hpp",
        ]);
        for f in &mut files {
            f.language = Some("cpp".into());
        }
        let candidates = without_lexicon(&files);
        let named = |task: &str| named_paths(task, &files, &candidates);
        assert!(named("fmt::join fails on std::vector<bool>").is_empty());
        assert!(named("Crash in std::string conversion").is_empty());
        assert_eq!(named("Decoder::decode drops frames"), ["src/Decoder.cpp"]);
        assert_eq!(
            named("boost::asio::io_context::run hangs"),
            ["boost/asio/io_context.hpp"]
        );
    }

    #[test]
    fn dotted_names_name_their_module_files() {
        let sources = [
            ("Lib/wsgiref/headers.py", "class Headers:\n    pass\n"),
            ("Lib/json/__init__.py", "def loads(s):\n    pass\n"),
            ("Lib/json/decoder.py", "class JSONDecoder:\n    pass\n"),
            (
                "Lib/email/__init__.py",
                "def message_from_string(s):\n    pass\n",
            ),
            ("Lib/os.py", "import posixpath as path\nenviron = {}\n"),
            ("Doc/library/os.rst", "os.environ\n"),
            ("Lib/e.py", "g = 1\n"),
        ];
        let files: Vec<FileRow> = sources
            .iter()
            .enumerate()
            .map(|(i, (p, _))| {
                let mut f = file(i as i64, p);
                f.language = p.ends_with(".py").then(|| "python".to_string());
                f
            })
            .collect();
        let entries = analysed(&sources);
        let candidates = with_lexicons(&files, &entries);
        let named = |task: &str| named_paths(task, &files, &candidates);
        assert_eq!(named("json.decoder: faster"), ["Lib/json/decoder.py"]);
        assert_eq!(named("json.loads() and NaN"), ["Lib/json/__init__.py"]);
        assert_eq!(
            named("Reject control characters in wsgiref.headers.Headers"),
            ["Lib/wsgiref/headers.py"]
        );
        // The source file, not its documentation.
        assert_eq!(named("read os.environ once"), ["Lib/os.py"]);
        // A package followed by more than one item names nothing; nor does a module that does
        // not mention the item.
        assert!(named("os.path.expandvars() is quadratic").is_empty());
        assert!(named("email.parseaddr() and malformed addresses").is_empty());
        assert!(named("since v1.2.3, self.x and e.g. are words").is_empty());
        // A call's arguments are not a line.
        let (found, _) = named_files("json.loads(0) raises", &candidates, usize::MAX, &[]);
        assert_eq!(
            found.iter().map(|n| (n.index, n.line)).collect::<Vec<_>>(),
            [(1, None)]
        );
    }

    #[test]
    fn lines_written_after_paths() {
        for (word, path, line) in [
            ("src/a.rs:120:5", "src/a.rs", Some(120)),
            ("src/a.rs:120", "src/a.rs", Some(120)),
            ("src/a.rs:120-130", "src/a.rs", Some(120)),
            ("src/a.rs:L120", "src/a.rs", Some(120)),
            ("src/a.rs:1:2:3", "src/a.rs", Some(1)),
            ("C:/p/a.rs:7", "C:/p/a.rs", Some(7)),
            ("src/a.rs:4294967296", "src/a.rs", None),
            ("a.cpp(120,5", "a.cpp", Some(120)),
            ("a.py#L12-L20", "a.py", Some(12)),
            ("a.py#L99999999999", "a.py", None),
        ] {
            assert_eq!(split_line(word), Some((path, line)), "{word}");
        }
        // Read once: a quadratic reading took minutes on this.
        let long = format!("a.rs{}", ":1".repeat(40_000));
        assert_eq!(split_line(&long), Some(("a.rs", Some(1))));
        for word in ["a::b", "src/a.rs", ":12", "a.rs:x12", "C:/p/a.rs"] {
            assert_eq!(split_line(word), None, "{word}");
        }
        assert_eq!(
            link_path("https://github.com/o/r/blob/main/src/a.rs#L10-L20"),
            Some("src/a.rs#L10-L20")
        );
        assert_eq!(
            link_path("https://gitlab.com/o/r/-/blob/v1.2/lib/x.c?ref_type=tags"),
            Some("lib/x.c")
        );
        assert_eq!(link_path("https://github.com/o/r/issues/12"), None);
        let files = rows(&["src/a/b.py", "b.py", "a/b.py"]);
        let candidates = without_lexicon(&files);
        // A path suffix names every file it ends; an absolute path the longest repository path
        // it ends with, never a bare file name.
        let at = |task: &str| -> Vec<usize> {
            named_files(task, &candidates, usize::MAX, &[])
                .0
                .iter()
                .map(|n| n.index)
                .collect()
        };
        assert_eq!(at("a/b.py"), [0, 2]);
        assert_eq!(at("/home/me/p/src/a/b.py"), [0]);
        assert_eq!(at("/home/me/p/a/b.py"), [2]);
        assert!(at("/usr/lib/x/b.py /usr/lib/xa/b.py xa/b.py").is_empty());
        assert!(ends_with_path("src/a/b.py", "a/b.py") && !ends_with_path("src/xa/b.py", "a/b.py"));
        let (named, warnings) = named_files(
            "File \"/home/me/p/src/a/b.py\", line 7, in f; then src/a/b.py:9",
            &candidates,
            usize::MAX,
            &[],
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        let lines: Vec<(usize, Option<u32>)> = named.iter().map(|n| (n.index, n.line)).collect();
        assert_eq!(lines, [(0, Some(7)), (0, Some(9))]);
        // A frame outside the repository is no missing file.
        let (named, warnings) = named_files(
            "File \"/usr/lib/python3.11/json/decoder.py\", line 355, and C:/Python311/Lib/x/y.py",
            &candidates,
            usize::MAX,
            &[],
        );
        assert!(named.is_empty() && warnings.is_empty(), "{warnings:?}");
        // Windows separators, as a Windows traceback or compiler writes them.
        let (named, _) = named_files(
            "C:\\work\\p\\src\\a\\b.py(12): error",
            &candidates,
            usize::MAX,
            &[],
        );
        assert_eq!(
            named.iter().map(|n| (n.index, n.line)).collect::<Vec<_>>(),
            [(0, Some(12))]
        );
        // The JVM's stack frames name their file by its name (a library's frame, whose file is
        // not here, is no missing file); .NET's write `:line N`.
        let files = rows(&["src/main/java/io/x/Decoder.java", "src/A.cs"]);
        let jvm = without_lexicon(&files);
        let (named, warnings) = named_files(
            "Exception\n\tat io.x.Decoder.decode(Decoder.java:42)\n\tat \
             java.base/java.lang.Thread.run(Thread.java:833)\n\tat x.Y.z(Unknown Source)\n   \
             at A.B() in C:\\work\\src\\A.cs:line 7",
            &jvm,
            usize::MAX,
            &[],
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            named.iter().map(|n| (n.index, n.line)).collect::<Vec<_>>(),
            [(0, Some(42)), (1, Some(7))]
        );
        // A pytest node id names its file.
        let (named, _) = named_files(
            "FAILED a/b.py::TestB::test_c[x-1] - boom",
            &candidates,
            usize::MAX,
            &[],
        );
        assert_eq!(named.iter().map(|n| n.index).collect::<Vec<_>>(), [0, 2]);
        // Ruby's frames end in `:in`; Perl's `die` writes `at FILE line N.`
        let files = rows(&["app/models/user.rb", "lib/Foo.pm", "src/main/kotlin/Foo.kt"]);
        let scripts = without_lexicon(&files);
        let (named, warnings) = named_files(
            "user.rb:12:in `save'\nboom at Foo.pm line 30.\n\tat io.x.Foo.bar(Foo.kt:3)",
            &scripts,
            usize::MAX,
            &[],
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            named.iter().map(|n| (n.index, n.line)).collect::<Vec<_>>(),
            [(0, Some(12)), (1, Some(30)), (2, Some(3))]
        );
        // A Markdown link, a list without spaces, a possessive, a link to the file on a forge
        // (one to another repository's file is no missing file).
        for task in [
            "see [the parser](src/a/b.py) for it",
            "in x.c,src/a/b.py:3 and y.c",
            "src/a/b.py's parser is slow",
            "as https://github.com/o/r/blob/main/src/a/b.py#L3 does, not https://github.com/o/q/blob/main/q/z.py",
        ] {
            let (named, warnings) = named_files(task, &candidates, usize::MAX, &[]);
            assert_eq!(
                named.iter().map(|n| n.index).collect::<Vec<_>>(),
                [0],
                "{task}"
            );
            let missing: Vec<&String> = warnings
                .iter()
                .filter(|w| !w.contains("x.c") && !w.contains("y.c"))
                .collect();
            assert!(missing.is_empty(), "{task}: {warnings:?}");
        }
        // A long log names each file once per line; a suffix that the log's absolute paths
        // resolve to one file names that file alone.
        let log: String = (1..=40)
            .map(|n| format!("at /home/me/p/src/a/b.py:{n} and a/b.py:{n}\n"))
            .collect();
        let (named, _) = named_files(&log, &candidates, usize::MAX, &[]);
        assert_eq!(named.len(), 40);
        assert!(named.iter().all(|n| n.index == 0 && n.shared == 1));
    }

    /// What developers paste from their tools (helper 96): each names the repository's file,
    /// with its line, and a path through installed packages names none of its files.
    #[test]
    fn pasted_errors_name_the_files_they_are_about() {
        let files = rows(&[
            "app.py",
            "main.go",
            "models/base.py",
            "src/index.js",
            "src/lib.rs",
            "src/esm/x.mjs",
            "src/main/java/com/x/Foo.java",
            "src/main/java/com/y/Foo.java",
            "src/main/java/com/x/Bar.java",
            "src/parser.rs",
            "src/proj/views.py",
            "src/main.rs",
            "web/src/a.ts",
            "cmd/main.go",
        ]);
        let candidates = without_lexicon(&files);
        let at = |task: &str| -> (Vec<(usize, Option<u32>)>, Vec<String>) {
            let (named, warnings) =
                named_files_in(Some("proj"), task, &candidates, usize::MAX, &[]);
            (named.iter().map(|n| (n.index, n.line)).collect(), warnings)
        };
        for (task, want) in [
            // A file at the top, after the root's own name, or in a diff.
            (
                "/home/runner/work/proj/proj/app.py:46: error: x",
                vec![(0, Some(46))],
            ),
            ("File \"../proj/app.py\", line 3", vec![(0, Some(3))]),
            (
                "diff --git a/app.py b/app.py\n--- a/main.go",
                vec![(0, None), (1, None)],
            ),
            // URLs that stand for files here.
            (
                "at esm5 (file:///home/ci/proj/src/esm/x.mjs:46:26)",
                vec![(5, Some(46))],
            ),
            (
                "http://localhost:5173/src/index.js?t=17:30:9 and webpack:///./src/lib.rs:4",
                vec![(3, Some(30)), (4, Some(4))],
            ),
            // The frame's package picks its class's file.
            ("\tat com.y.Foo.m5(Foo.java:44)", vec![(7, Some(44))]),
            ("\tat com.x.Foo$Inner.run(Foo.java:9)", vec![(6, Some(9))]),
            // Maven, GitHub Actions, escaped Windows separators.
            (
                "[ERROR] src/main/java/com/x/Bar.java:[45,17] cannot find symbol",
                vec![(8, Some(45))],
            ),
            (
                "::error file=src/parser.rs,line=96,col=5::too big",
                vec![(9, Some(96))],
            ),
            (
                "##[error]web/src/a.ts(50,5): error TS2345",
                vec![(12, Some(50))],
            ),
            (
                "'C:\\\\Users\\\\me\\\\proj\\\\src\\\\proj\\\\views.py'",
                vec![(10, None)],
            ),
            // `go build`'s `./main.go`: the file at the top, not each file of that name
            // (helper 97); `./` before a longer path is the path.
            ("./main.go:5:2: undefined: x", vec![(1, Some(5))]),
            (
                "main.go:5:2: undefined: x",
                vec![(1, Some(5)), (13, Some(5))],
            ),
            ("see ./web/src/a.ts", vec![(12, None)]),
            // An installed copy of this project is its file.
            (
                "/w/.tox/py311/lib/python3.11/site-packages/proj/views.py:76",
                vec![(10, Some(76))],
            ),
        ] {
            let (named, warnings) = at(task);
            assert_eq!(named, want, "{task}");
            assert!(warnings.is_empty(), "{task}: {warnings:?}");
        }
        // Other projects' files, installed, name none here, and are no missing files.
        for task in [
            "File \"/srv/venv/lib/python3.11/site-packages/django/db/models/base.py\", line 812",
            "at f (/home/ci/proj/node_modules/somelib/src/index.js:10:5)",
            "at /root/.cargo/registry/src/index.crates.io-6f1/serde_json-1.0.108/src/lib.rs:120:9",
            "/root/go/pkg/mod/golang.org/x/tools@v0.1.0/internal/models/base.py:12",
            // Go's `main.main()` is no module path of src/main.rs.
            "main.main()",
            // Node 12-16's own modules, and a key of its loader.
            "at Module._compile (internal/modules/cjs/loader.js:1085:14)",
            "at Object.Module._extensions..js (internal/modules/cjs/loader.js:1114:10)",
        ] {
            let (named, warnings) = at(task);
            assert!(named.is_empty(), "{task}: {named:?}");
            assert!(warnings.is_empty(), "{task}: {warnings:?}");
        }
    }

    #[test]
    fn a_file_name_a_few_files_share_lifts_each_below_one_named_alone() {
        use crate::context::terms::{Analyzer, query_terms};
        let mut paths = vec!["src/include/tpm.h", "src/include/tss/tpm.h", "lib/util.c"];
        let many: Vec<String> = (0..=MAX_SHARED).map(|i| format!("d{i}/x.py")).collect();
        paths.extend(many.iter().map(String::as_str));
        let files = rows(&paths);
        let candidates = without_lexicon(&files);
        let task = "Added comment to tpm.h file, see util.c, and to x.py";
        let (named, warnings) = named_files(task, &candidates, usize::MAX, &[]);
        assert!(warnings.is_empty(), "{warnings:?}");
        let found: Vec<(usize, usize)> = named.iter().map(|n| (n.index, n.shared)).collect();
        // x.py is too common a name to name any of its files.
        assert_eq!(found, [(0, 2), (1, 2), (2, 1)]);
        // A path naming one of them alone says which: the other is not named, and a line
        // written with the shared name is no line of either.
        for task in [
            "tpm.h: see src/include/tss/tpm.h",
            "crash at tpm.h:3, see src/include/tss/tpm.h",
            "see src/include/tss/tpm.h; tpm.h:3",
        ] {
            let (named, _) = named_files(task, &candidates, usize::MAX, &[]);
            let found: Vec<_> = named.iter().map(|n| (n.index, n.shared, n.line)).collect();
            assert_eq!(found, [(1, 1, None)], "{task}");
        }
        // Up to MAX_SHARED files of a name, and a path suffix several files end with.
        let mut four = vec!["a/b/x.c", "c/b/x.c", "d/x.c", "e/x.c", "f/y.c"];
        let four_files = rows(&four);
        let four_candidates = without_lexicon(&four_files);
        let (named, _) = named_files("x.c and b/x.c", &four_candidates, usize::MAX, &[]);
        let found: Vec<(usize, usize)> = named.iter().map(|n| (n.index, n.shared)).collect();
        assert_eq!(found, [(0, 4), (1, 4), (2, 4), (3, 4), (0, 2), (1, 2)]);
        four.push("g/x.c");
        let five_files = rows(&four);
        let (named, _) = named_files("x.c", &without_lexicon(&five_files), usize::MAX, &[]);
        assert!(named.is_empty());

        let (named, _) = named_files(task, &candidates, usize::MAX, &[]);
        let query = query_terms(&Analyzer::default(), task);
        let ranking = rank(
            task,
            component_of(task).as_deref(),
            &query,
            &candidates,
            &named,
            &mut || Ok(Edges::with_files(candidates.len())),
            &[],
            &mut |_| Ok(HashMap::new()),
        )
        .expect("no passages to read");
        let order: Vec<(&str, bool)> = ranking
            .files
            .iter()
            .map(|s| (files[s.index].path.as_str(), s.named))
            .collect();
        assert_eq!(
            order,
            [
                ("lib/util.c", true),
                ("src/include/tpm.h", false),
                ("src/include/tss/tpm.h", false),
            ]
        );
        assert!(
            ranking.files[1]
                .reasons
                .contains(&"named in the task (tpm.h, a name 2 files share)".to_string()),
            "{:?}",
            ranking.files[1].reasons
        );
        assert!(ranking.files[1].score >= SHARED_NAME && ranking.files[0].score >= NAMED);
    }

    #[test]
    fn a_history_lend_too_small_to_show_is_neither_listed_nor_evidence() {
        use crate::context::history::{DirShare, Hit};
        use crate::context::terms::{Analyzer, query_terms};
        let files = rows(&["src/a.c", "src/b.c", "src/c.c"]);
        let candidates = without_lexicon(&files);
        let task = "core: fix the frobnicator";
        let dir = Some(DirShare {
            share: 1.0,
            here: 2,
            all: 2,
        });
        let lend = |score: f64| {
            Some(Hit {
                score,
                commits: 1,
                example: "c1 core: frobnicate".into(),
                dir,
            })
        };
        // a.c: a lend scaled down to almost nothing; b.c: a real one; c.c: its directory only.
        let history = [
            lend(SHOWN / 2.0),
            lend(0.5),
            Some(Hit {
                dir,
                ..Hit::default()
            }),
        ];
        let ranking = rank(
            task,
            component_of(task).as_deref(),
            &query_terms(&Analyzer::default(), task),
            &candidates,
            &[],
            &mut || Ok(Edges::with_files(candidates.len())),
            &history,
            &mut |_| Ok(HashMap::new()),
        )
        .expect("no passages to read");
        let listed: Vec<(&str, &[String])> = ranking
            .files
            .iter()
            .map(|s| (files[s.index].path.as_str(), s.reasons.as_slice()))
            .collect();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].0, "src/b.c");
        assert!(
            listed[0].1[0].starts_with("changed by 1 of the past commits")
                && listed[0].1[1].starts_with("in src/, where past `core` commits"),
            "{listed:?}"
        );
    }

    #[test]
    fn long_tasks_find_the_same_hits_by_one_scan() {
        let sources = [
            ("a.py", "def decode(s): return json_loads(s)\n"),
            (
                "b.py",
                "class Frame:\n    def checksum(self): return crc16(self.data)\n",
            ),
            ("c.py", ""),
        ];
        let files = rows(&["a.py", "b.py", "c.py"]);
        let entries = analysed(&sources);
        let candidates = with_lexicons(&files, &entries);
        let analyzer = Analyzer::default();
        let terms = super::super::terms::query_terms(
            &analyzer,
            "decode json frames: checksum crc16 of self.data, then missing words",
        );
        let all = [0, 1, 2];
        let by_lookup = term_hits(&terms, &candidates, &all, false);
        assert_eq!(by_lookup, term_hits(&terms, &candidates, &all, true));
        assert!(by_lookup.iter().filter(|h| !h.is_empty()).count() >= 4);
    }

    /// Weights that would leave scores without an order (`nan`, below 0) or the graph without
    /// an end (a precision of 0) are ignored, each with a warning.
    #[test]
    fn tune_ignores_weights_it_cannot_use() {
        let (t, warnings) =
            Tune::parse("graph=0.2, pusheps=0,recent=nan,history=inf,tests=-1,x,k=1");
        assert_eq!(t.graph, 0.2);
        let defaults = Tune::parse("").0;
        assert!(Tune::parse("").1.is_empty());
        assert_eq!(
            (t.push_eps, t.recent, t.history, t.tests),
            (
                defaults.push_eps,
                defaults.recent,
                defaults.history,
                defaults.tests
            )
        );
        assert_eq!(warnings.len(), 6, "{warnings:?}");
        assert!(warnings[0].contains("` pusheps=0`"), "{warnings:?}");
        assert_eq!(warnings[5], "unknown weight `k`");
    }

    #[test]
    fn vendored_and_generated_paths() {
        assert!(is_vendored_or_generated("vendor/github.com/x/y.go"));
        assert!(is_vendored_or_generated("static/app.min.js"));
        assert!(is_vendored_or_generated("proto/api_pb2.py"));
        assert!(!is_vendored_or_generated("src/vendors.py"));
        assert!(is_vendored_or_generated("PKG-INFO"));
        assert!(is_vendored_or_generated(
            "src/cachetools.egg-info/SOURCES.txt"
        ));
        assert!(is_vendored_or_generated("docs/_build/html/searchindex.js"));
        assert!(!is_vendored_or_generated("src/pkg_info.py"));
    }

    #[test]
    fn example_paths_and_tasks() {
        assert!(is_example_path("docs/examples/getredirect.c"));
        assert!(is_example_path("benchmark/update-baselines.mjs"));
        assert!(!is_example_path("lib/example.c"));
        assert!(!is_example_path("src/samplers/x.go"));
        assert!(mentions_examples("docs: fix the cookie examples"));
        assert!(!mentions_examples("url: use same credentials on redirect"));
    }
}
