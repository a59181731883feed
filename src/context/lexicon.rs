//! The lexical index behind `vibe context`: per file, how often each term occurs in its text,
//! in the names it defines, and in its path. Built on the first `vibe context` of a repository
//! and brought up to date for changed files on later runs (by content hash), so `vibe map`
//! never pays for it.
//!
//! A file's entry is one blob of fixed 8-byte records sorted by term: term (u32), count in the
//! text (u16, saturating), count in defined names (u8), count in the path (u8), little-endian.
//! Scoring a task looks each of its terms up by binary search, so a query reads the blobs
//! (~4 MB on the Python standard library) and decodes nothing it does not need.
//!
//! Passages: the text is also cut into chunks of [`CHUNK_LINES`] lines, each with its own
//! term counts, so that a file where the task's words occur together (one function) can rank
//! above a large file that mentions each of them somewhere. `chunks` is, per chunk: its record
//! count (u16) and length in terms (u16), then that many 6-byte records sorted by term: term
//! (u32) and count (u16), little-endian.
//!
//! A file whose first lines say a tool generated it (Bison or flex output, "Code generated …
//! DO NOT EDIT.", "This file was automatically generated") also gets a record for the reserved
//! term [`GENERATED`], which the ranking discounts like a vendored file.

use std::collections::HashMap;

use super::terms::{Analyzer, Term, for_each_word, hash_bytes};

/// What one file contributes to the lexicon.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Records, sorted by term.
    pub blob: Vec<u8>,
    /// Terms in the text (the BM25 document length).
    pub length: u32,
    /// Per-passage records (see the module docs).
    pub chunks: Vec<u8>,
    /// Per defined name: its term count (u8), then its distinct terms (u32 each, sorted).
    pub names: Vec<u8>,
}

/// Lines per passage.
pub const CHUNK_LINES: usize = 40;
pub const CHUNK_RECORD: usize = 6;

pub const RECORD: usize = 8;

/// One term's counts in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub text: u16,
    pub defs: u8,
    pub path: u8,
}

/// Analyses a file: its text, the names (and parents) of the symbols it defines, its path.
/// Words are stemmed once per distinct word (`cache`), not once per occurrence.
pub fn analyse<'a>(
    analyzer: &Analyzer,
    cache: &mut HashMap<String, Vec<Term>>,
    path: &str,
    text: &str,
    def_names: impl Iterator<Item = &'a str>,
) -> Entry {
    let mut counts: HashMap<Term, Counts> = HashMap::new();
    let mut length = 0u32;
    let mut chunks = Vec::new();
    let mut lines = text.split_inclusive('\n').peekable();
    while lines.peek().is_some() {
        let mut chunk: HashMap<Term, u16> = HashMap::new();
        let mut chunk_len = 0u32;
        for line in lines.by_ref().take(CHUNK_LINES) {
            for_each_word(line, |w| {
                let terms = match cache.get(w) {
                    Some(t) => t,
                    None => {
                        let mut t = Vec::new();
                        analyzer.word_terms(w, |x| t.push(x));
                        // A cache of identifiers seen in one file set stays small; a file of
                        // random tokens (minified code, data) must not grow it without bound.
                        if cache.len() > 200_000 {
                            cache.clear();
                        }
                        cache.entry(w.to_string()).or_insert(t)
                    }
                };
                for t in terms {
                    let c = counts.entry(*t).or_default();
                    c.text = c.text.saturating_add(1);
                    length += 1;
                    let k = chunk.entry(*t).or_default();
                    *k = k.saturating_add(1);
                    chunk_len += 1;
                }
            });
        }
        if chunk.is_empty() {
            continue;
        }
        let mut records: Vec<(Term, u16)> = chunk.into_iter().collect();
        records.sort_unstable_by_key(|r| r.0);
        records.truncate(u16::MAX as usize);
        chunks.extend_from_slice(&(records.len() as u16).to_le_bytes());
        chunks.extend_from_slice(&(chunk_len.min(u32::from(u16::MAX)) as u16).to_le_bytes());
        for (t, n) in records {
            chunks.extend_from_slice(&t.to_le_bytes());
            chunks.extend_from_slice(&n.to_le_bytes());
        }
    }
    let mut names = Vec::new();
    for name in def_names {
        let mut own: Vec<Term> = Vec::new();
        analyzer.word_terms(name, |t| {
            let c = counts.entry(t).or_default();
            c.defs = c.defs.saturating_add(1);
            own.push(t);
        });
        own.sort_unstable();
        own.dedup();
        own.truncate(u8::MAX as usize);
        if !own.is_empty() {
            names.push(own.len() as u8);
            for t in own {
                names.extend_from_slice(&t.to_le_bytes());
            }
        }
    }
    for_each_word(path, |w| {
        analyzer.word_terms(w, |t| {
            let c = counts.entry(t).or_default();
            c.path = c.path.saturating_add(1);
        })
    });
    if looks_generated(text) {
        counts.insert(
            GENERATED,
            Counts {
                text: 1,
                defs: 0,
                path: 0,
            },
        );
    }
    let mut records: Vec<(Term, Counts)> = counts.into_iter().collect();
    records.sort_unstable_by_key(|r| r.0);
    let mut blob = Vec::with_capacity(records.len() * RECORD);
    for (t, c) in records {
        blob.extend_from_slice(&t.to_le_bytes());
        blob.extend_from_slice(&c.text.to_le_bytes());
        blob.push(c.defs);
        blob.push(c.path);
    }
    Entry {
        blob,
        length,
        chunks,
        names,
    }
}

/// A mark recorded among a file's terms when its header says a tool generated it: the hash
/// of a text no word can be (words have no control characters).
pub const GENERATED: Term = hash_bytes(b"\x01generated");

/// Whether the file's first lines say a tool wrote it: "Code generated … DO NOT EDIT." (Go),
/// Bison and flex output, "This file was automatically generated", `@generated`, …
pub fn looks_generated(text: &str) -> bool {
    let mut end = text.len().min(1500);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = text[..end].to_ascii_lowercase();
    head.lines().any(|line| {
        GENERATED_MARKS.iter().any(|m| {
            line.match_indices(m)
                .any(|(at, _)| says_generated(line, at, m.len()))
        })
    })
}

/// Whether the mark at `line[at..at + len]` is the line's own statement: a whole phrase, not
/// inside a quotation (a generator's template, or a comment quoting one: `a header such as
/// "Code generated … DO NOT EDIT."`).
fn says_generated(line: &str, at: usize, len: usize) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let (before, after) = (&line[..at], &line[at + len..]);
    let quotes = before.chars().filter(|c| matches!(c, '"' | '`')).count();
    !word(before.chars().next_back())
        && !word(after.chars().next())
        && quotes % 2 == 0
        && !after
            .trim_start_matches([' ', '.', '!', ':', ';', ','])
            .starts_with(['"', '`'])
}

/// Phrases with which tools mark their output.
const GENERATED_MARKS: &[&str] = &[
    "do not edit",
    "do not modify",
    "@generated",
    "made by gnu bison",
    "generated by flex",
    "lexical scanner generated",
    "automatically generated",
    "auto-generated",
    "autogenerated",
    "generated automatically",
    "code generated by",
    "this file is generated",
    "this file was generated",
    "generated file",
];

/// Whether the file's entry carries the [`GENERATED`] mark.
pub fn is_generated(blob: &[u8]) -> bool {
    lookup(blob, GENERATED).is_some()
}

/// Each defined name's terms, from a `names` blob.
pub fn name_terms(names: &[u8]) -> impl Iterator<Item = impl Iterator<Item = Term> + '_> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let n = *names.get(at)? as usize;
        let start = at + 1;
        let end = (start + n * 4).min(names.len());
        at = end;
        Some(
            names[start..end]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        )
    })
}

impl Entry {
    /// How many passages the file has, and their lengths summed (what the lexicon row keeps of
    /// them for the passages' average length).
    pub fn passage_stats(&self) -> (u32, u32) {
        passages(&self.chunks).fold((0, 0), |(n, total), (len, _)| {
            (n + 1, total.saturating_add(len))
        })
    }
}

/// Each passage of a file's `chunks` blob as (length in terms, its records).
pub fn passages(chunks: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at + 4 > chunks.len() {
            return None;
        }
        let n = u16::from_le_bytes([chunks[at], chunks[at + 1]]) as usize;
        let len = u16::from_le_bytes([chunks[at + 2], chunks[at + 3]]) as u32;
        let start = at + 4;
        let end = (start + n * CHUNK_RECORD).min(chunks.len());
        at = end;
        Some((len, &chunks[start..end]))
    })
}

/// The record of `term` among fixed-size records sorted by their leading u32 term.
fn find(records: &[u8], size: usize, term: Term) -> Option<&[u8]> {
    let n = records.len() / size;
    let record = |i: usize| &records[i * size..(i + 1) * size];
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let r = record(mid);
        match u32::from_le_bytes([r[0], r[1], r[2], r[3]]).cmp(&term) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(r),
        }
    }
    None
}

/// The count of `term` in one passage's records.
pub fn passage_count(records: &[u8], term: Term) -> u16 {
    find(records, CHUNK_RECORD, term).map_or(0, |r| u16::from_le_bytes([r[4], r[5]]))
}

/// The counts of `term` in a file's blob, if it occurs there.
pub fn lookup(blob: &[u8], term: Term) -> Option<Counts> {
    find(blob, RECORD, term).map(counts)
}

/// Every (term, counts) of a file's blob, in term order.
pub fn records(blob: &[u8]) -> impl Iterator<Item = (Term, Counts)> + '_ {
    blob.chunks_exact(RECORD)
        .map(|r| (u32::from_le_bytes([r[0], r[1], r[2], r[3]]), counts(r)))
}

fn counts(r: &[u8]) -> Counts {
    Counts {
        text: u16::from_le_bytes([r[4], r[5]]),
        defs: r[6],
        path: r[7],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::terms::hash;

    #[test]
    fn entries_count_text_names_and_path() {
        let a = Analyzer::default();
        let mut cache = HashMap::new();
        let e = analyse(
            &a,
            &mut cache,
            "json/decoder.py",
            "class JSONDecoder:\n    def decode(self, s): return s  # decode it\n",
            ["JSONDecoder", "decode"].into_iter(),
        );
        let decod = lookup(&e.blob, hash("decod")).expect("decod");
        // text: JSONDecoder's part, `decode` twice; names: JSONDecoder, decode; path: decoder.
        assert_eq!(
            decod,
            Counts {
                text: 3,
                defs: 2,
                path: 1
            }
        );
        assert_eq!(
            lookup(&e.blob, hash("jsondecoder")).map(|c| c.defs),
            Some(1)
        );
        assert_eq!(lookup(&e.blob, hash("json")).map(|c| c.path), Some(1));
        assert!(lookup(&e.blob, hash("missing")).is_none());
        assert_eq!(e.blob.len() % RECORD, 0);
        // The blob is sorted, so every record is found by binary search.
        for r in e.blob.chunks_exact(RECORD) {
            let t = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
            assert!(lookup(&e.blob, t).is_some());
        }
    }

    #[test]
    fn passages_hold_their_own_counts() {
        let a = Analyzer::default();
        let mut cache = HashMap::new();
        let mut text = String::new();
        for i in 0..CHUNK_LINES {
            text.push_str(&format!("alpha line {i}\n"));
        }
        text.push_str("beta beta\ngamma\n");
        let e = analyse(&a, &mut cache, "x.py", &text, std::iter::empty());
        let p: Vec<(u32, &[u8])> = passages(&e.chunks).collect();
        assert_eq!(p.len(), 2);
        assert_eq!(passage_count(p[0].1, hash("alpha")), CHUNK_LINES as u16);
        assert_eq!(passage_count(p[0].1, hash("beta")), 0);
        assert_eq!(passage_count(p[1].1, hash("beta")), 2);
        assert_eq!(p[1].0, 3);
        // The passages' lengths add up to the file's.
        assert_eq!(p.iter().map(|x| x.0).sum::<u32>(), e.length);
    }

    #[test]
    fn generated_files_are_marked() {
        let a = Analyzer::default();
        let mut cache = HashMap::new();
        let gen_text = "/* A Bison parser, made by GNU Bison 3.8.2.  */\nint yyparse(void);\n";
        let e = analyse(&a, &mut cache, "src/parser.c", gen_text, std::iter::empty());
        assert!(is_generated(&e.blob));
        assert_eq!(e.blob.len() % RECORD, 0);
        let go = "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage api\n";
        assert!(looks_generated(go));
        let hand = "/* The parser. Edit freely. */\nint parse(void);\n";
        let e = analyse(&a, &mut cache, "src/parse.c", hand, std::iter::empty());
        assert!(!is_generated(&e.blob));
        // Only the header counts, not a mention further down.
        let late = format!("{}// this file was generated\n", "x = 1\n".repeat(400));
        assert!(!looks_generated(&late));
        // A generator's template, a comment quoting a mark, or a mark inside a longer phrase
        // is not the file's own header.
        let generator = "HEADER = \"# Auto-generated by Tools/gen.py\"\n";
        assert!(!looks_generated(generator));
        let quoted = "//! a header such as \"Code generated … DO NOT EDIT.\") much less\n";
        assert!(!looks_generated(quoted));
        let spanning = "//! (\"Code generated …\n//! DO NOT EDIT.\", and others)\n";
        assert!(!looks_generated(spanning));
        assert!(!looks_generated(
            "// vendored and generated files count less\n"
        ));
        let stringer = "// Code generated by \"stringer -type=Pill\"; DO NOT EDIT.\n";
        assert!(looks_generated(stringer));
        let licence_first = format!(
            "{}/* DO NOT EDIT. Generated by optiontable.pl */\n",
            " * licence\n".repeat(20)
        );
        assert!(looks_generated(&licence_first));
    }

    #[test]
    fn names_keep_each_definitions_terms() {
        let a = Analyzer::default();
        let mut cache = HashMap::new();
        let e = analyse(
            &a,
            &mut cache,
            "x.py",
            "",
            ["raw_decode", "JSONDecoder"].into_iter(),
        );
        let names: Vec<Vec<Term>> = name_terms(&e.names).map(Iterator::collect).collect();
        let mut want = vec![
            vec![hash("raw"), hash("decod"), hash("rawdecode")],
            vec![hash("json"), hash("decod"), hash("jsondecoder")],
        ];
        for w in &mut want {
            w.sort_unstable();
        }
        assert_eq!(names, want);
    }
}
