//! Unified diffs in a model's answer, read as edits: models (small ones above all) often answer
//! with a `diff` block as `git diff` prints it instead of SEARCH/REPLACE blocks. Each hunk becomes
//! a search/replace edit: its context and removed lines are what to find, its context and added
//! lines what to put there. Line numbers in `@@` headers are not trusted (models miscount); the
//! lines are matched as SEARCH sections are ([`super::apply_to_text`]).

use super::{Edit, EditKind};

/// The edits of the unified diffs in an answer, in order; empty when it has none. A file is
/// named by its `+++` line (git's `b/` dropped when the `---` line has its `a/`; `+++
/// /dev/null` is a deletion, which is not taken); a file created (`--- /dev/null`) is an edit
/// with an empty search. With `cut_short` (an answer cut at `max_tokens`, or a loop vibe
/// stopped reading), a hunk that runs into the end of the answer is dropped (its lines may stop
/// anywhere), and the answer line of its `@@` comes with the edits.
pub fn diffs(answer: &str, cut_short: bool) -> (Vec<Edit>, Option<usize>) {
    let lines = super::parse::answer_lines(answer);
    let mut edits = Vec::new();
    // The file the hunks are of: its path and whether the diff creates it.
    let mut file: Option<(String, bool)> = None;
    // Inside a fence of code (```python): a diff there is the code's text (a test's patch).
    let mut in_code = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(info) = line.trim_start().strip_prefix("```") {
            // A fence opens code unless it says diff (```diff, ```Diff x.py) or holds one.
            let label = info.split_whitespace().next().unwrap_or("").to_lowercase();
            let diff_label = matches!(label.as_str(), "" | "diff" | "patch" | "udiff");
            let first = lines[i + 1..].iter().find(|l| !l.trim().is_empty());
            let holds_diff = first.is_some_and(|l| starts_diff(l) || l.starts_with("--- "));
            in_code = !in_code && !diff_label && !holds_diff;
            file = None;
            i += 1;
            continue;
        }
        if in_code {
            i += 1;
            continue;
        }
        if starts_diff(line) && !line.starts_with("@@") {
            // Another file's diff, whose `---` / `+++` lines may be missing.
            file = None;
            i += 1;
            continue;
        }
        if let Some((old, new)) = file_header(&lines, i) {
            // git's `a/` and `b/` prefixes, only when both lines have theirs (a repository may
            // have a directory `b`).
            let null = |p: &str| p.split('\t').next().unwrap_or("").trim() == "/dev/null";
            let git = (old.starts_with("a/") || null(old)) && (new.starts_with("b/") || null(new));
            let (a, b) = if git { ("a/", "b/") } else { ("", "") };
            let (old, new) = (diff_path(old, a), diff_path(new, b));
            file = match (old, new) {
                (_, None) => None,
                (None, Some(new)) => Some((new, true)),
                (Some(_), Some(new)) => Some((new, false)),
            };
            i += 2;
            continue;
        }
        if !line.starts_with("@@") {
            i += 1;
            continue;
        }
        let start = i;
        let Some((search, replace, end)) = hunk(&lines, i + 1) else {
            // Cut short: not taken, neither half.
            i += 1;
            continue;
        };
        i = end;
        if cut_short && lines[end..].iter().all(|l| l.trim().is_empty()) {
            return (edits, Some(start + 1));
        }
        let Some((path, created)) = &file else {
            continue;
        };
        if search.is_empty() && !created {
            // Lines added with nothing to say where: not an edit.
            continue;
        }
        edits.push(Edit {
            path: path.clone(),
            kind: EditKind::Replace { search, replace },
            line: start + 1,
        });
    }
    (edits, None)
}

/// A path of a `---` / `+++` line: without a timestamp after a tab, `prefix` (git's `a/` or
/// `b/`) and a leading `./`; `None` for `/dev/null` or nothing.
fn diff_path(text: &str, prefix: &str) -> Option<String> {
    let path = text.split('\t').next().unwrap_or("").trim();
    if path.is_empty() || path == "/dev/null" {
        return None;
    }
    let path = path.strip_prefix(prefix).unwrap_or(path);
    let path = path.strip_prefix("./").unwrap_or(path);
    Some(path.to_string())
}

/// The body of a hunk starting at `lines[i]`: its search and replace texts and the index past
/// it. It ends at a line that is not ` `, `-` or `+` prefixed (nor `\ No newline…`, nor empty:
/// models drop the space of a blank context line), at the next `@@` or at a file header; empty
/// lines that end it belong to what follows. `None` when diff lines go on after the line that
/// ended it: a context line that lost its space cut it short, and the hunk is not what was
/// meant.
fn hunk(lines: &[&str], mut i: usize) -> Option<(String, String, usize)> {
    let mut body: Vec<&str> = Vec::new();
    while i < lines.len() {
        let l = lines[i];
        if file_header(lines, i).is_some() || starts_diff(l) {
            break;
        }
        if l.is_empty() || l.starts_with([' ', '-', '+', '\\']) {
            body.push(l);
            i += 1;
        } else {
            // Diff lines going on after the line that ended it (context, or both removed and
            // added lines, up to a blank line or a fence): a context line that lost its space
            // cut it short, and it is not what was meant. A list after it (`- a to b`) is prose.
            let rest: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| {
                    !l.trim().is_empty()
                        && !starts_diff(l)
                        && !l.starts_with("```")
                        && !l.starts_with("--- ")
                })
                .copied()
                .collect();
            let has = |c: char| rest.iter().any(|l| l.starts_with(c));
            if has(' ') || (has('-') && has('+')) {
                return None;
            }
            break;
        }
    }
    while body.last() == Some(&"") {
        body.pop();
        i -= 1;
    }
    let (mut search, mut replace) = (String::new(), String::new());
    for l in body {
        let (mark, text) = l.split_at(l.len().min(1));
        match mark {
            "-" => push_line(&mut search, text),
            "+" => push_line(&mut replace, text),
            "\\" => {}
            // Context (` `) or a blank context line without its space.
            _ => {
                push_line(&mut search, text);
                push_line(&mut replace, text);
            }
        }
    }
    Some((search, replace, i))
}

/// The old and new names of a file header at `lines[i]`: a `--- ` line, then a `+++ ` one.
fn file_header<'a>(lines: &[&'a str], i: usize) -> Option<(&'a str, &'a str)> {
    let old = lines[i].strip_prefix("--- ")?;
    let new = lines.get(i + 1)?.strip_prefix("+++ ")?;
    Some((old, new))
}

/// A line that starts a hunk (`@@`) or another file's diff (`diff --git …`, `Index: …`).
fn starts_diff(line: &str) -> bool {
    ["@@", "diff ", "Index: "]
        .iter()
        .any(|m| line.starts_with(m))
}

fn push_line(s: &mut String, line: &str) {
    s.push_str(line);
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_diffs(answer: &str) -> Vec<Edit> {
        diffs(answer, false).0
    }

    fn replaces(edits: &[Edit]) -> Vec<(String, String, String)> {
        edits
            .iter()
            .map(|e| match &e.kind {
                EditKind::Replace { search, replace } => {
                    (e.path.clone(), search.clone(), replace.clone())
                }
                EditKind::WholeFile { .. } => panic!("a whole file"),
            })
            .collect()
    }

    #[test]
    fn hunks_are_search_and_replace() {
        // As git prints it, in a fence, two files, the blank context line's space dropped.
        let answer = "The fix:\n\n```diff\ndiff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n\
                      @@ -2,4 +2,4 @@\n     return 1\n\n \n-print(f(1)\n+print(f(1))\n\
                      --- a/src/b.py\t2026-12-03 10:00\n+++ b/src/b.py\n@@ @@\n x = 1\n-y = 2\n\
                      \\ No newline at end of file\n+y = 3\n```\n\nDone.\n";
        let e = parse_diffs(answer);
        assert_eq!(
            replaces(&e),
            vec![
                (
                    "a.py".into(),
                    "    return 1\n\n\nprint(f(1)\n".into(),
                    "    return 1\n\n\nprint(f(1))\n".into()
                ),
                (
                    "src/b.py".into(),
                    "x = 1\ny = 2\n".into(),
                    "x = 1\ny = 3\n".into()
                ),
            ]
        );
        assert_eq!((e[0].line, e[1].line), (7, 15));
    }

    #[test]
    fn created_deleted_and_unanchored() {
        let created = "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n";
        assert_eq!(
            replaces(&parse_diffs(created)),
            vec![("new.py".into(), String::new(), "a = 1\nb = 2\n".into())]
        );
        // Without git's prefixes on both lines, a path is as written (a directory `b`).
        let plain = "--- b/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n";
        assert_eq!(replaces(&parse_diffs(plain))[0].0, "b/x.py");
        let plain = "--- x.py\n+++ x.py\n@@ -1 +1 @@\n-a\n+b\n";
        assert_eq!(replaces(&parse_diffs(plain))[0].0, "x.py");
        let deleted = "--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-a = 1\n";
        assert!(parse_diffs(deleted).is_empty());
        // Lines added to an existing file with no context say nowhere; no header, no file.
        let unanchored = "--- a/x.py\n+++ b/x.py\n@@ -5,0 +6 @@\n+z = 3\n";
        assert!(parse_diffs(unanchored).is_empty());
        assert!(parse_diffs("@@ -1 +1 @@\n-a\n+b\n").is_empty());
        assert!(parse_diffs("Add a `)` on line 5.").is_empty());
        // A diff in a fence of code is the code's text; a context line without its space before
        // more changes makes the answer no diff; another file's `diff` line ends the last's.
        let code =
            "x.py\n```python\nPATCH = \"\"\"\n--- a/y.py\n+++ b/y.py\n@@ -1 +1 @@\n-a\n+b\n```\n";
        assert!(parse_diffs(code).is_empty());
        let cut = "--- a/x.py\n+++ b/x.py\n@@ -1,5 +1,5 @@\n-a = 1\n+a = 2\n b = 1\nc = 1\n-d = 1\n+d = 2\n";
        assert!(parse_diffs(cut).is_empty());
        assert!(parse_diffs(&cut.replace("-1,5 +1,5", "")).is_empty());
        // Miscounted, then a fence or prose: taken.
        for after in ["```\n", "That fixes it.\n"] {
            let miscounted =
                format!("```diff\n--- a/x.py\n+++ b/x.py\n@@ -10,7 +10,7 @@\n-a\n+b\n{after}");
            assert_eq!(parse_diffs(&miscounted).len(), 1, "{miscounted}");
        }
        // Fences that say diff, or hold one.
        for fence in ["```Diff", "```diff x.py", "```text"] {
            let d = format!("{fence}\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n```\n");
            assert_eq!(parse_diffs(&d).len(), 1, "{d}");
        }
        // Prose after a whole hunk, a list in it, is not part of it.
        let prose = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\nChanged:\n- a to b\n";
        assert_eq!(
            replaces(&parse_diffs(prose)),
            vec![("x.py".into(), "a\n".into(), "b\n".into())]
        );
        let next =
            "--- a/x.py\n+++ b/x.py\n@@ @@\n-a\n+b\ndiff --git a/y.py b/y.py\n@@ @@\n-c\n+d\n";
        assert_eq!(
            replaces(&parse_diffs(next)),
            vec![("x.py".into(), "a\n".into(), "b\n".into())]
        );
        // Two hunks of a file, and a removed line that looks like a header (`-- x` in SQL).
        let two = "--- a/q.sql\n+++ b/q.sql\n@@ -1 +1 @@\n--- x\n+-- y\n@@ -9 +9 @@\n-a\n+b\n";
        assert_eq!(
            replaces(&parse_diffs(two)),
            vec![
                ("q.sql".into(), "-- x\n".into(), "-- y\n".into()),
                ("q.sql".into(), "a\n".into(), "b\n".into()),
            ]
        );
    }
}
