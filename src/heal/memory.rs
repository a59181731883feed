//! Bug memory: what past heals fixed, to show the model similar fixes and to warn when a fixed
//! bug comes back.
//!
//! Each error a successful heal removed is remembered (in the index database, see
//! `store::memory`) by its stage, code and *signature*: the message with quoted names, paths
//! and numbers replaced by placeholders, so "undefined name 'total'" and "undefined name
//! 'count'" are the same bug. Its *before pattern* is the lines the fix removed, trimmed; a file
//! that contains those lines again, in order, gets a warning from `vibe heal --check`.

use std::collections::HashSet;

use crate::store::memory::Fix;

/// At most this many past fixes go into a prompt.
pub const IN_PROMPT: usize = 2;
/// A before pattern shorter than this (non-blank characters) is too common to warn about.
const MIN_PATTERN_CHARS: usize = 12;

/// The message with names, paths and numbers normalised away.
pub fn signature(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                // A quoted name: keep the quotes, drop what is inside (up to the same quote).
                let mut inner = String::new();
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == c {
                        closed = true;
                        break;
                    }
                    inner.push(d);
                }
                if closed {
                    out.push_str("'_'");
                } else {
                    // An apostrophe, not a quote: the rest is ordinary text.
                    out.push(c);
                    out.push_str(&signature(&inner));
                }
            }
            c if c.is_ascii_digit() => {
                while chars
                    .peek()
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.')
                {
                    chars.next();
                }
                out.push('N');
            }
            c if c.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.extend(c.to_lowercase()),
        }
    }
    out.trim().to_string()
}

/// The lines a diff removes, trimmed, blank ones dropped.
pub fn before_pattern(diff: &str) -> String {
    diff.lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .map(|l| l[1..].trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn words(s: &str) -> HashSet<&str> {
    s.split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect()
}

/// The past fixes most like an error (same stage; same code and similar message first), at
/// most [`IN_PROMPT`], one per distinct fix.
pub fn similar<'a>(past: &'a [Fix], stage: &str, code: &str, message: &str) -> Vec<&'a Fix> {
    let sig = signature(message);
    let mut scored: Vec<(f64, &Fix)> = past
        .iter()
        .filter(|f| f.stage == stage)
        .filter_map(|f| {
            let like = jaccard(&sig, &f.signature);
            let same_code = !code.is_empty() && f.code == code;
            let score = like + if same_code { 0.5 } else { 0.0 };
            (score >= 0.6).then_some((score, f))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.time_ms.cmp(&a.1.time_ms)));
    let mut seen = HashSet::new();
    scored
        .into_iter()
        .map(|(_, f)| f)
        .filter(|f| seen.insert(f.diff.as_str()))
        .take(IN_PROMPT)
        .collect()
}

/// Jaccard similarity of the words of two signatures.
fn jaccard(a: &str, b: &str) -> f64 {
    let (a, b) = (words(a), words(b));
    let union = a.union(&b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

/// A remembered bug found again in a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recurrence {
    /// 1-based line where the pattern starts.
    pub line: usize,
    pub stage: String,
    pub code: String,
    pub message: String,
    /// The file the bug was first fixed in.
    pub fixed_in: String,
}

/// The remembered bugs whose before pattern appears again in `text` (its lines, trimmed, in
/// order and consecutive, blank lines skipped).
pub fn recurrences(text: &str, past: &[Fix]) -> Vec<Recurrence> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let mut out: Vec<Recurrence> = Vec::new();
    for f in past {
        let pattern: Vec<&str> = f.before.lines().collect();
        let chars: usize = pattern
            .iter()
            .map(|l| l.chars().filter(|c| !c.is_whitespace()).count())
            .sum();
        if pattern.is_empty() || chars < MIN_PATTERN_CHARS {
            continue;
        }
        for w in lines.windows(pattern.len()) {
            if w.iter().zip(&pattern).all(|((_, l), p)| l == p) {
                let line = w[0].0;
                if !out.iter().any(|r| r.line == line && r.message == f.message) {
                    out.push(Recurrence {
                        line,
                        stage: f.stage.clone(),
                        code: f.code.clone(),
                        message: f.message.clone(),
                        fixed_in: f.path.clone(),
                    });
                }
            }
        }
    }
    out.sort_by_key(|r| r.line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(stage: &str, code: &str, message: &str, diff: &str) -> Fix {
        Fix {
            time_ms: 0,
            path: "a.py".into(),
            stage: stage.into(),
            code: code.into(),
            signature: signature(message),
            message: message.into(),
            before: before_pattern(diff),
            diff: diff.into(),
        }
    }

    #[test]
    fn signatures_forget_names_and_numbers() {
        assert_eq!(
            signature("Undefined name 'total' at 12:5"),
            signature("undefined name `count` at 3:14")
        );
        assert_eq!(
            signature("expected `u32`, found `&str`"),
            "expected '_', found '_'"
        );
        assert_eq!(signature("it's  broken"), "it's broken");
    }

    #[test]
    fn similar_fixes_share_stage_and_look_alike() {
        let past = vec![
            fix(
                "lint",
                "F821",
                "undefined name 'x'",
                "-return x\n+return y\n",
            ),
            fix(
                "compile",
                "E0308",
                "mismatched types",
                "-let a: u32 = \"s\";\n",
            ),
            fix("lint", "F401", "'os' imported but unused", "-import os\n"),
        ];
        let got = similar(&past, "lint", "F821", "undefined name 'total'");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].code, "F821");
        assert!(similar(&past, "syntax", "", "undefined name 'x'").is_empty());
    }

    #[test]
    fn a_removed_pattern_coming_back_is_found() {
        let past = vec![
            fix(
                "compile",
                "",
                "division by zero",
                "--- a/m.py\n+++ b/m.py\n-    ratio = total / 0\n-    return ratio\n+    return 0\n",
            ),
            fix("lint", "", "short", "-x\n"),
        ];
        let text = "def f(total):\n\n    ratio = total / 0\n    return ratio\n";
        let r = recurrences(text, &past);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].line, r[0].message.as_str()), (3, "division by zero"));
        assert!(recurrences("ratio = total / 0\nreturn 1\n", &past).is_empty());
    }
}
