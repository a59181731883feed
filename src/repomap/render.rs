//! Rendering the map: the compact text map fitted to an exact token budget, and the JSON map.
//!
//! Token counts are exact (tiktoken-rs) and additive per line: every rendered line ends with
//! `\n`, has no trailing whitespace, and no line is empty or starts with `/` or whitespace that
//! a newline could merge with, so the pre-tokenizer always splits at line ends and the count of
//! the whole text is the sum of its lines' counts (a test checks this). That lets counts be
//! cached per line in the index (`context::tokens::CountCache`), so a warm run fits the budget
//! without counting them again. The cache key treats every ASCII digit as `0`: digits pre-tokenize in runs of at most three,
//! and every run of one to three digits is one token in o200k_base and cl100k_base (a test
//! checks all 1,110 of them), so a line's count does not depend on which digits it holds. A map
//! whose header says "1,835 files" instead of "1,834 files" reuses the cached count.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::context::tokens::{CountCache, Encoding};
use crate::store::{self, FileRow, Store};

use super::extract::Symbol;
use super::project::Project;

/// Marker for definitions (and, in `vibe context`, lines) left out.
pub const ELIDED: &str = "⋮";

/// A rendered text map.
#[derive(Debug, Clone, Serialize)]
pub struct TextMap {
    pub text: String,
    pub tokens: usize,
    pub budget: usize,
    pub files_shown: usize,
    pub symbols_shown: usize,
    /// Tokens of the map's first line, the least a map that shows anything needs (0 for an
    /// empty index).
    pub first_line: usize,
}

/// Every line a file can contribute to a map: its path line, each definition at its nesting
/// depth, and the elision markers; counted ahead at index time so rendering rarely needs the
/// tokenizer.
pub fn candidate_lines(path: &str, symbols: &[Symbol]) -> Vec<String> {
    let mut lines = Vec::with_capacity(symbols.len() + 2);
    lines.push(path_line(path));
    for i in 0..symbols.len() {
        lines.push(symbol_line(symbols, i));
    }
    if !symbols.is_empty() {
        let mut n = symbols.len();
        loop {
            lines.push(elided_line(n));
            if n < 10 {
                break;
            }
            n /= 10;
        }
    }
    lines
}

pub fn path_line(path: &str) -> String {
    format!("{}:", shown_path(path))
}

/// A path as a map line or a context block names it: as it is, unless it could be read as
/// something else or break the block apart (a control character such as a newline, leading
/// whitespace, a leading `"`, a leading Markdown fence such as `` ```x.py ``, ` (` as a block
/// header's description or the map's title write it: `auth (lines 2-3 of 3 in full, …)` would
/// read as a part of `auth`): then quoted, with Rust's escapes (`"bad\nname.py"`), so that
/// every block still starts with a path that is not whitespace, no header opens a code block
/// and none reads as another file's.
pub fn shown_path(path: &str) -> std::borrow::Cow<'_, str> {
    let odd = path.chars().any(unsafe_to_show)
        || path.starts_with(char::is_whitespace)
        || path.starts_with('"')
        || path.starts_with("```")
        || path.starts_with("~~~")
        || path.contains(" (");
    if odd {
        format!("{path:?}").into()
    } else {
        path.into()
    }
}

/// A character that must not reach a terminal as it is: a control character (an escape
/// sequence, a carriage return) or a bidirectional override or isolate (U+202A–U+202E,
/// U+2066–U+2069, the marks U+200E, U+200F, U+061C), which reorders what follows it on the
/// line ("Trojan Source"), or a line or paragraph separator (U+2028, U+2029), which ends the
/// line for readers that split on them.
pub fn unsafe_to_show(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// A definition's line at its nesting depth (two spaces per level, below the path line).
pub fn symbol_line(symbols: &[Symbol], i: usize) -> String {
    let s = &symbols[i];
    let sig = if s.signature.is_empty() {
        &s.name
    } else {
        &s.signature
    };
    format!("{}{}", "  ".repeat(depth(symbols, i) + 1), sig)
}

pub fn elided_line(n: usize) -> String {
    format!("  {ELIDED} {n} more")
}

/// Thousands separators: 1834 → "1,834".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Files in map order: source files by rank (highest first), ties by path.
pub fn ranked(files: &[FileRow]) -> Vec<&FileRow> {
    let mut v: Vec<&FileRow> = files
        .iter()
        .filter(|f| f.language.is_some() && f.skip_reason.is_none())
        .collect();
    v.sort_by(|a, b| b.rank.total_cmp(&a.rank).then_with(|| a.path.cmp(&b.path)));
    v
}

/// The header lines: languages, size, entry points, tests, frameworks, external packages.
pub fn header(files: &[FileRow], project: &Project) -> Vec<String> {
    let mut langs: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let (mut nfiles, mut nlines) = (0u64, 0u64);
    for f in files.iter().filter(|f| f.skip_reason.is_none()) {
        if let Some(l) = &f.language {
            let e = langs.entry(l).or_default();
            e.0 += 1;
            e.1 += f.lines;
            nfiles += 1;
            nlines += f.lines;
        }
    }
    if nfiles == 0 {
        return vec!["# repository map: no source files".to_string()];
    }
    let mut by_size: Vec<(&str, (u64, u64))> = langs.into_iter().collect();
    by_size.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(b.0)));
    let langs: Vec<String> = by_size
        .iter()
        .map(|(l, (f, _))| format!("{l} {}", thousands(*f)))
        .collect();
    let mut out = vec![format!(
        "# repository map: {} source files, {} lines ({})",
        thousands(nfiles),
        thousands(nlines),
        langs.join(", ")
    )];
    if !project.entry_points.is_empty() {
        let rank: HashMap<&str, f64> = files.iter().map(|f| (f.path.as_str(), f.rank)).collect();
        // Entry points of the program before those of tests, each by rank.
        let mut eps: Vec<(bool, f64, &super::project::EntryPoint)> = project
            .entry_points
            .iter()
            .map(|e| {
                let r = rank.get(e.path.as_str()).copied().unwrap_or(0.0);
                (super::project::is_test_path(&e.path), r, e)
            })
            .collect();
        eps.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then(b.1.total_cmp(&a.1))
                .then_with(|| a.2.path.cmp(&b.2.path))
        });
        let eps: Vec<&super::project::EntryPoint> = eps.into_iter().map(|e| e.2).collect();
        const SHOWN: usize = 8;
        let mut line: Vec<String> = eps
            .iter()
            .take(SHOWN)
            .map(|e| format!("{} ({})", shown_path(&e.path), e.reason))
            .collect();
        if eps.len() > SHOWN {
            line.push(format!("+{} more", eps.len() - SHOWN));
        }
        out.push(format!("# entry points: {}", line.join(", ")));
    }
    let mut facts = vec![format!(
        "tests: {} files",
        thousands(project.test_files as u64)
    )];
    if !project.frameworks.is_empty() {
        facts.push(format!("frameworks: {}", project.frameworks.join(", ")));
    }
    if !project.externals.is_empty() {
        let ext: Vec<String> = project
            .externals
            .iter()
            .take(10)
            .map(|x| format!("{} {}", x.name, x.files))
            .collect();
        facts.push(format!("external: {}", ext.join(", ")));
    }
    out.push(format!("# {}", facts.join(" · ")));
    out
}

/// A file's block: its path line and the lines of the chosen definitions (with the parents they
/// need for context), in source order, then an elision marker if some were left out.
fn block(path: &str, symbols: &[Symbol], ranks: &[f32], keep: usize) -> (Vec<String>, usize) {
    let mut lines = vec![path_line(path)];
    if symbols.is_empty() {
        return (lines, 0);
    }
    // Pick the `keep` best definitions: by rank, then by kind, then by position.
    let mut order: Vec<usize> = (0..symbols.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = ranks.get(a).copied().unwrap_or(0.0);
        let rb = ranks.get(b).copied().unwrap_or(0.0);
        rb.total_cmp(&ra)
            .then(kind_weight(&symbols[a].kind).cmp(&kind_weight(&symbols[b].kind)))
            .then(a.cmp(&b))
    });
    let mut chosen = vec![false; symbols.len()];
    for &i in order.iter().take(keep) {
        chosen[i] = true;
    }
    // Parents of chosen definitions, so a method shows under its class.
    for i in (0..symbols.len()).rev() {
        if !chosen[i] {
            continue;
        }
        if let Some(p) = enclosing(symbols, i) {
            chosen[p] = true;
        }
    }
    let mut shown = 0;
    for (i, &on) in chosen.iter().enumerate() {
        if on {
            let line = symbol_line(symbols, i);
            // Names declared together (`let a = 0, b = 1;`) share one line.
            if lines.last() != Some(&line) {
                lines.push(line);
            }
            shown += 1;
        }
    }
    let left = symbols.len() - shown;
    if left > 0 {
        lines.push(elided_line(left));
    }
    (lines, shown)
}

/// The innermost earlier definition named as symbol `i`'s parent whose lines enclose it.
fn enclosing(symbols: &[Symbol], i: usize) -> Option<usize> {
    let s = &symbols[i];
    let parent = s.parent.as_deref()?;
    (0..i).rev().find(|&j| {
        symbols[j].name == parent && symbols[j].line <= s.line && symbols[j].end_line >= s.end_line
    })
}

fn depth(symbols: &[Symbol], i: usize) -> usize {
    let mut d = 0;
    let mut cur = i;
    while let Some(p) = enclosing(symbols, cur) {
        d += 1;
        cur = p;
        if d > 8 {
            break;
        }
    }
    d
}

fn kind_weight(kind: &str) -> u8 {
    match kind {
        "class" | "struct" | "trait" | "interface" | "enum" => 0,
        "function" | "type" => 1,
        "method" | "impl" => 2,
        "constant" | "macro" => 3,
        _ => 4,
    }
}

/// Renders the text map within `budget` tokens.
pub fn text_map(
    store: &Store,
    budget: usize,
    symbols_per_file: usize,
    encoding: Encoding,
) -> Result<TextMap, store::Error> {
    let reader = store.read()?;
    let files = reader.files()?;
    let project = Project::from_meta(reader.meta("project")?);
    let mut counter = CountCache::new(store, encoding);
    let mut out: Vec<String> = Vec::new();
    let mut used = 0usize;
    let mut first_line = 0;
    for line in header(&files, &project) {
        let n = counter.count(&line)?;
        if first_line == 0 {
            first_line = n;
        }
        if used + n > budget {
            break;
        }
        used += n;
        out.push(line);
    }
    let (mut files_shown, mut symbols_shown) = (0, 0);
    // A map without its first line (the title) is no map: nothing (which `vibe map` takes for
    // a budget too small).
    let titled = first_line == 0 || !out.is_empty();
    for f in ranked(&files).into_iter().filter(|_| titled) {
        let syms: Vec<Symbol> = reader
            .symbols(Some(&[f.id]))?
            .into_iter()
            .map(|r| r.symbol)
            .collect();
        let ranks = reader.symbol_ranks(f.id)?;
        // The fullest version of the block that fits: all chosen definitions, then fewer.
        let mut keep = symbols_per_file.min(syms.len());
        let mut placed = false;
        loop {
            let (lines, shown) = block(&f.path, &syms, &ranks, keep);
            let n = counter.count_all(&lines)?;
            if used + n <= budget {
                used += n;
                out.extend(lines);
                files_shown += 1;
                symbols_shown += shown;
                placed = true;
                break;
            }
            if keep == 0 {
                break;
            }
            // Halve quickly while far over, then step down one at a time.
            keep = if keep > 4 { keep / 2 } else { keep - 1 };
        }
        if !placed {
            // Not even the path fits: the map is full.
            let n = counter.count(&path_line(&f.path))?;
            if used + n > budget {
                break;
            }
        }
    }
    drop(reader);
    counter.save();
    let mut text = String::with_capacity(out.iter().map(|l| l.len() + 1).sum());
    for l in &out {
        text.push_str(l);
        text.push('\n');
    }
    Ok(TextMap {
        text,
        tokens: used,
        budget,
        files_shown,
        symbols_shown,
        first_line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::tokens::zero_digits;

    #[test]
    fn odd_paths_are_quoted() {
        assert_eq!(shown_path("src/a b.py"), "src/a b.py");
        assert_eq!(shown_path("caf\u{e9}/\u{fffd}.py"), "caf\u{e9}/\u{fffd}.py");
        assert_eq!(shown_path("bad\nname.py"), "\"bad\\nname.py\"");
        assert_eq!(shown_path(" lead.py"), "\" lead.py\"");
        assert_eq!(shown_path("\u{3000}wide.py"), "\"\\u{3000}wide.py\"");
        assert_eq!(shown_path("\"q\".py"), "\"\\\"q\\\".py\"");
        assert_eq!(shown_path("````x.py"), "\"````x.py\"");
        assert_eq!(shown_path("~~~x.py"), "\"~~~x.py\"");
        assert_eq!(shown_path("a```.py"), "a```.py");
        assert_eq!(shown_path("tab\there"), "\"tab\\there\"");
        // A right-to-left override would reorder the rest of the line on a terminal.
        assert_eq!(shown_path("a\u{202e}yp.exe"), "\"a\\u{202e}yp.exe\"");
        assert_eq!(path_line("x\r.py"), "\"x\\r.py\":");
        // A name written as a block header or the map's title would read as one.
        assert_eq!(
            shown_path("auth (lines 2-3 of 3 in full, the rest elided)"),
            "\"auth (lines 2-3 of 3 in full, the rest elided)\""
        );
        assert_eq!(
            shown_path("Other relevant files (definitions only):"),
            "\"Other relevant files (definitions only):\""
        );
        assert_eq!(shown_path("a(1).py"), "a(1).py");
        assert_eq!(shown_path("x\u{2028}y.py"), "\"x\\u{2028}y.py\"");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1834), "1,834");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn short_digit_runs_are_one_token() {
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            for width in 1..=3 {
                for n in 0..10usize.pow(width) {
                    let s = format!("{n:0width$}", width = width as usize);
                    assert_eq!(enc.count(&s), 1, "{s} in {}", enc.name());
                }
            }
            let a = "# repository map: 1,834 source files, 652,311 lines (python 1,812)\n";
            assert_eq!(enc.count(a), enc.count(&zero_digits(a)));
        }
    }

    #[test]
    fn line_counts_add_up() {
        let lines = [
            "# repository map: 3 source files, 120 lines (python 2, rust 1)",
            "# tests: 1 files · external: requests 2, os 1",
            "src/app.py:",
            "  class App(Base):",
            "    def run(self, argv: list[str]) -> int:",
            "      \"\"\"Nested.\"\"\"",
            "  def main():",
            "  ⋮ 3 more",
            "src/lib.rs:",
            "  pub fn parse(input: &str) -> Result<Ast, Error>",
            "  impl Display for Ast",
            "    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result",
            "  const MAX: usize = 10;",
            "  #define X(a) ((a)+1)",
            "  <T>() => {}",
            "  */ weird",
        ];
        let enc = Encoding::O200kBase;
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let sum: usize = lines.iter().map(|l| enc.count(&format!("{l}\n"))).sum();
        assert_eq!(enc.count(&text), sum);
    }
}

/// Schema id of `vibe map --json`.
pub const MAP_SCHEMA: &str = "vibe.map/1";

#[derive(Debug, Serialize)]
pub struct JsonMap {
    pub schema: &'static str,
    pub root: String,
    pub stats: Stats,
    pub project: Project,
    pub files: Vec<JsonFile>,
    pub edges: Vec<JsonEdge>,
    pub externals: Vec<JsonExternal>,
    pub skipped: Vec<JsonSkipped>,
}

#[derive(Debug, Serialize)]
pub struct JsonFile {
    pub path: String,
    pub language: String,
    pub lines: u64,
    pub bytes: u64,
    pub rank: f64,
    pub parse_errors: bool,
    pub symbols: Vec<Symbol>,
    pub imports: Vec<JsonImport>,
}

#[derive(Debug, Serialize)]
pub struct JsonImport {
    pub line: u32,
    pub raw: String,
    pub module: String,
    pub resolved: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct JsonEdge {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Serialize)]
pub struct JsonExternal {
    pub name: String,
    pub files: usize,
}

#[derive(Debug, Serialize)]
pub struct JsonSkipped {
    pub path: String,
    pub reason: String,
}

/// Index figures: files, lines and bytes per language; other text files per type; skipped
/// files per reason; table sizes.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub files: u64,
    pub source_files: u64,
    pub lines: u64,
    pub bytes: u64,
    pub languages: BTreeMap<String, LangStats>,
    pub other_text: BTreeMap<String, u64>,
    pub skipped: BTreeMap<String, u64>,
    pub files_with_parse_errors: u64,
    pub symbols: u64,
    pub imports: u64,
    pub edges: u64,
    pub externals: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct LangStats {
    pub files: u64,
    pub lines: u64,
    pub bytes: u64,
}

/// Rounds a rank for output, so JSON stays short and stable across platforms' float printing.
fn round_rank(r: f64) -> f64 {
    (r * 1e9).round() / 1e9
}

pub fn stats(files: &[FileRow], symbols: u64, imports: u64, edges: u64, externals: u64) -> Stats {
    let mut s = Stats {
        symbols,
        imports,
        edges,
        externals,
        ..Default::default()
    };
    for f in files {
        s.files += 1;
        if let Some(reason) = &f.skip_reason {
            *s.skipped.entry(reason.clone()).or_default() += 1;
            continue;
        }
        match &f.language {
            Some(l) => {
                let e = s.languages.entry(l.clone()).or_default();
                e.files += 1;
                e.lines += f.lines;
                e.bytes += f.bytes;
                s.source_files += 1;
                s.lines += f.lines;
                s.bytes += f.bytes;
                if f.parse_errors {
                    s.files_with_parse_errors += 1;
                }
            }
            None => *s.other_text.entry(f.ftype.clone()).or_default() += 1,
        }
    }
    s
}

/// Index figures alone, without loading every symbol (what `vibe map --stats` prints).
pub fn index_stats(store: &Store) -> Result<Stats, store::Error> {
    let reader = store.read()?;
    let files = reader.files()?;
    let (symbols, imports, edges, externals) = reader.counts()?;
    Ok(stats(&files, symbols, imports, edges, externals))
}

/// The whole structured map.
pub fn json_map(store: &Store, root: &str) -> Result<JsonMap, store::Error> {
    let reader = store.read()?;
    let files = reader.files()?;
    let project = Project::from_meta(reader.meta("project")?);
    let path_of: HashMap<i64, &str> = files.iter().map(|f| (f.id, f.path.as_str())).collect();
    let mut symbols: HashMap<i64, Vec<Symbol>> = HashMap::new();
    let mut nsym = 0;
    for r in reader.symbols(None)? {
        nsym += 1;
        symbols.entry(r.file_id).or_default().push(r.symbol);
    }
    let mut imports: HashMap<i64, Vec<JsonImport>> = HashMap::new();
    let mut ext_files: BTreeMap<String, std::collections::BTreeSet<i64>> = BTreeMap::new();
    let mut nimp = 0;
    for i in reader.imports()? {
        nimp += 1;
        if let Some(x) = &i.external {
            ext_files.entry(x.clone()).or_default().insert(i.file_id);
        }
        imports.entry(i.file_id).or_default().push(JsonImport {
            line: i.line,
            raw: i.raw,
            module: i.module,
            resolved: i
                .targets
                .iter()
                .filter_map(|t| path_of.get(t).map(|p| p.to_string()))
                .collect(),
            external: i.external,
        });
    }
    let edges: Vec<JsonEdge> = reader
        .edges()?
        .into_iter()
        .filter_map(|(s, d)| {
            Some(JsonEdge {
                from: path_of.get(&s)?.to_string(),
                to: path_of.get(&d)?.to_string(),
            })
        })
        .collect();
    let mut edges = edges;
    edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    let mut externals: Vec<JsonExternal> = ext_files
        .into_iter()
        .map(|(name, f)| JsonExternal {
            name,
            files: f.len(),
        })
        .collect();
    externals.sort_by(|a, b| b.files.cmp(&a.files).then(a.name.cmp(&b.name)));
    let stats = stats(
        &files,
        nsym,
        nimp,
        edges.len() as u64,
        externals.len() as u64,
    );
    let json_files = ranked(&files)
        .into_iter()
        .map(|f| JsonFile {
            path: f.path.clone(),
            language: f.language.clone().unwrap_or_default(),
            lines: f.lines,
            bytes: f.bytes,
            rank: round_rank(f.rank),
            parse_errors: f.parse_errors,
            symbols: symbols.remove(&f.id).unwrap_or_default(),
            imports: imports.remove(&f.id).unwrap_or_default(),
        })
        .collect();
    let skipped = files
        .iter()
        .filter_map(|f| {
            Some(JsonSkipped {
                path: f.path.clone(),
                reason: f.skip_reason.clone()?,
            })
        })
        .collect();
    Ok(JsonMap {
        schema: MAP_SCHEMA,
        root: root.to_string(),
        stats,
        project,
        files: json_files,
        edges,
        externals,
        skipped,
    })
}

/// Files reachable from `start` along import edges (`reverse`: files that import it), up to
/// `depth` steps, with the step at which each was reached; breadth-first, ties by path.
pub fn deps(
    store: &Store,
    start: &str,
    reverse: bool,
    depth: usize,
) -> Result<Option<Vec<(String, usize)>>, store::Error> {
    let reader = store.read()?;
    let files = reader.files()?;
    let Some(id) = files.iter().find(|f| f.path == start).map(|f| f.id) else {
        return Ok(None);
    };
    let path_of: HashMap<i64, &str> = files.iter().map(|f| (f.id, f.path.as_str())).collect();
    let mut adj: HashMap<i64, Vec<i64>> = HashMap::new();
    for (s, d) in reader.edges()? {
        if reverse {
            adj.entry(d).or_default().push(s);
        } else {
            adj.entry(s).or_default().push(d);
        }
    }
    let mut seen = std::collections::HashSet::from([id]);
    let mut frontier = vec![id];
    let mut out = Vec::new();
    for level in 1..=depth.max(1) {
        let mut next: Vec<i64> = Vec::new();
        for f in &frontier {
            for t in adj.get(f).map(Vec::as_slice).unwrap_or(&[]) {
                if seen.insert(*t) {
                    next.push(*t);
                }
            }
        }
        next.sort_by_key(|t| path_of.get(t).copied().unwrap_or(""));
        out.extend(
            next.iter()
                .filter_map(|t| path_of.get(t).map(|p| (p.to_string(), level))),
        );
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(Some(out))
}

/// External packages a file imports.
pub fn file_externals(store: &Store, path: &str) -> Result<Vec<String>, store::Error> {
    let reader = store.read()?;
    let files = reader.files()?;
    let Some(id) = files.iter().find(|f| f.path == path).map(|f| f.id) else {
        return Ok(vec![]);
    };
    let mut v: Vec<String> = reader
        .imports()?
        .into_iter()
        .filter(|i| i.file_id == id)
        .filter_map(|i| i.external)
        .collect();
    v.sort();
    v.dedup();
    Ok(v)
}
