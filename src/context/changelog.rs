//! History from ChangeLog files, for a tree without git's: a release tarball carries its
//! project's history as a `ChangeLog`, GNU's written by gitlog-to-changelog from `git log`
//! (each commit's message with the files it changed as `* path (function): …` lines), older
//! ones by hand in the same form, Mercurial's by `hg log --style changelog`. Each entry becomes
//! a commit of the history (`history::load`), newest first, so that the history, co-change and
//! component signals work on such a tree as on a git work tree.

use std::collections::HashSet;

/// A header's date: (year, month, day).
pub type Date = (u32, u32, u32);

/// One entry of a ChangeLog: a commit, or a day's work of one author in a ChangeLog written
/// by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The line it starts on, from 1.
    pub line: usize,
    /// The date of the header it is under.
    pub date: Option<Date>,
    /// Its text: the entry's lines without their indentation, a blank line kept as one.
    pub message: String,
    /// The files its `* path` lines name, relative to the ChangeLog's directory (`normalized`),
    /// in order, once each, at most `MAX_NAMED`.
    pub files: Vec<String>,
    /// Whether a subject under the same header started it (see `parse`).
    split: bool,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The date of a header line: `2023-03-04  Name  <mail>` (what gitlog-to-changelog and
/// Emacs write), or `Tue Jun 18 12:00:00 1996  Name  <mail>` (older ChangeLogs). Headers
/// start at the first column: an indented line (an entry's) is none.
fn header_date(line: &str) -> Option<Date> {
    if line.starts_with(char::is_whitespace) {
        return None;
    }
    let b = line.as_bytes();
    if b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && b.get(10).is_none_or(|c| c.is_ascii_whitespace())
    {
        let num = |r: std::ops::Range<usize>| line[r].parse::<u32>().ok();
        return valid((num(0..4)?, num(5..7)?, num(8..10)?));
    }
    let mut words = line.split_whitespace();
    let (day, month) = (words.next()?, words.next()?);
    if !DAYS.contains(&day) {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let mday: u32 = words.next()?.parse().ok()?;
    // The year follows the time (`12:00:00 1996`), or a time zone before it.
    let year = words.take(3).find_map(|w| {
        w.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| w.parse::<u32>().ok())
            .flatten()
            .filter(|y| (1970..3000).contains(y))
    })?;
    valid((year, month, mday))
}

/// The newest date of the headers in `text`: of a ChangeLog's first part, its newest (they are
/// written newest first).
pub fn newest_date(text: &str) -> Option<Date> {
    text.lines().filter_map(header_date).max()
}

/// A date whose month and day can be.
fn valid(d: Date) -> Option<Date> {
    ((1..=12).contains(&d.1) && (1..=31).contains(&d.2)).then_some(d)
}

/// GnuPG's ChangeLogs (gnupg, libgcrypt, gpgme, …) mark every commit with a `+ commit <hash>`
/// line after its subject.
fn is_commit_mark(s: &str) -> bool {
    s.strip_prefix("+ commit ").is_some_and(|h| {
        let h = h.trim();
        (7..=40).contains(&h.len()) && h.bytes().all(|c| c.is_ascii_hexdigit())
    })
}

/// The last line of an entry `hg log --style changelog` writes: `[84effa5ffaa1] <1.9>`, or
/// `[0bdd0b8469e3] [SUDO_1_9_13p3] <1.9>` (the changeset, its tags, its branch).
fn is_changeset_line(s: &str) -> bool {
    s.strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .is_some_and(|(h, _)| {
            (12..=40).contains(&h.len()) && h.bytes().all(|c| c.is_ascii_hexdigit())
        })
}

/// Whether a line reads as a commit's subject, `component: what` (`sort: fix --debug`,
/// `maint: update copyright`, `doc/tar.texi: …`): one or two words of name characters, then
/// `: `.
fn is_subject(s: &str) -> bool {
    let Some((head, _)) = s.split_once(": ") else {
        return false;
    };
    !head.is_empty()
        && head.split(' ').count() <= 2
        && head.split(' ').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ',' | '/' | '+' | '-'))
        })
}

/// A `* ` line's file list: its names so far, and the brackets still open (see
/// `FileList::read`).
struct FileList {
    names: Vec<String>,
    depth: u32,
    /// Whether the list goes on on the next line: a bracket open, or a `,` at the end.
    more: bool,
}

/// Names an entry keeps at most (a commit of more than `history::MAX_FILES` lends nothing).
const MAX_NAMED: usize = 1000;

impl FileList {
    /// Reads a line of a `* path, path (function): …` list: what comes before its first `:`
    /// outside brackets, the brackets' contents left out. The names, once a `:` ends the list
    /// (`* Update the copyright years.` names nothing); `None` while it has not.
    fn read(&mut self, text: &str) -> Option<Vec<String>> {
        let mut list = String::new();
        let mut done = false;
        for c in text.chars() {
            match c {
                '(' | '[' => self.depth += 1,
                ')' | ']' => self.depth = self.depth.saturating_sub(1),
                ':' if self.depth == 0 => {
                    done = true;
                    break;
                }
                _ if self.depth == 0 => list.push(c),
                _ => {}
            }
        }
        for word in list.split(|c: char| c == ',' || c.is_whitespace()) {
            if self.names.len() >= MAX_NAMED {
                break;
            }
            if let Some(p) = normalized(word) {
                self.names.push(p);
            }
        }
        self.more = self.depth > 0 || text.trim_end().ends_with(',');
        done.then(|| std::mem::take(&mut self.names))
    }
}

/// A name as a path relative to the ChangeLog's directory: `./` and empty parts dropped;
/// `None` for nothing, an absolute path or one with `..`.
fn normalized(word: &str) -> Option<String> {
    let word = word.trim();
    if word.starts_with('/') {
        return None;
    }
    let parts: Vec<&str> = word
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return None;
    }
    Some(parts.join("/"))
}

/// The entries of a ChangeLog, in its order (newest first). A header line (a date, an author)
/// starts a new entry; under one header, an entry starts after a blank line with a subject
/// (`component: …`) once the one before has named its files, at a GnuPG `+ commit` mark's
/// subject, and after a Mercurial changeset line; a paragraph a subject started that names no
/// file (a `Reported-by: …` trailer) stays with the entry before it. A ChangeLog written by
/// hand thus gives an entry per author and day. Files are what `* ` lines list before the
/// `:` that ends the list (`FileList`).
pub fn parse(text: &str) -> Vec<Entry> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    // With GnuPG's marks, the marks alone split entries: each starts at the last line written
    // before its mark.
    let mut starts = vec![false; lines.len()];
    let mut marked = false;
    for (i, line) in lines.iter().enumerate() {
        if is_commit_mark(line.trim()) {
            marked = true;
            if let Some(j) = (0..i).rev().find(|&j| !lines[j].trim().is_empty()) {
                starts[j] = true;
            }
        }
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut open = false;
    let mut date = None;
    let mut prev_blank = true;
    // The file list being read, and the names the open entry has.
    let mut list: Option<FileList> = None;
    let mut seen: HashSet<String> = HashSet::new();
    for (i, line) in lines.iter().enumerate() {
        let s = line.trim();
        if marked && is_commit_mark(s) {
            continue;
        }
        if let Some(d) = header_date(line) {
            date = Some(d);
            open = false;
            prev_blank = true;
            list = None;
            continue;
        }
        if s.is_empty() {
            prev_blank = true;
            list = None;
            continue;
        }
        if is_changeset_line(s) {
            open = false;
            list = None;
            continue;
        }
        // Under one header, a subject after a blank line starts an entry once the one before
        // has named its files, or when that one is a paragraph a subject started and has none
        // (a `Reported-by: …` trailer, folded back below).
        let split = open
            && !marked
            && prev_blank
            && is_subject(s)
            && entries
                .last()
                .is_some_and(|e| !e.files.is_empty() || e.split);
        if !open || split || (marked && starts[i]) {
            entries.push(Entry {
                line: i + 1,
                date,
                message: String::new(),
                files: Vec::new(),
                split,
            });
            open = true;
            list = None;
            seen.clear();
        }
        let e = entries.last_mut().expect("an entry is open");
        if !e.message.is_empty() {
            // A blank line before it is kept as one.
            e.message.push_str(if prev_blank { "\n\n" } else { "\n" });
        }
        e.message.push_str(s);
        let names = if let Some(rest) = s
            .strip_prefix('*')
            .filter(|r| r.starts_with(char::is_whitespace))
        {
            let mut l = FileList {
                names: Vec::new(),
                depth: 0,
                more: false,
            };
            let names = l.read(rest);
            list = names.is_none().then_some(l);
            names
        } else if let Some(l) = list
            .as_mut()
            .filter(|l| l.more || s.starts_with(['(', '[']))
        {
            let names = l.read(s);
            if names.is_some() {
                list = None;
            }
            names
        } else {
            list = None;
            None
        };
        for name in names.into_iter().flatten() {
            if e.files.len() < MAX_NAMED && seen.insert(name.clone()) {
                e.files.push(name);
            }
        }
        prev_blank = false;
    }
    // A paragraph a subject started that named no file belongs to the entry before it.
    let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
    for e in entries {
        match out.last_mut() {
            Some(prev) if e.split && e.files.is_empty() => {
                prev.message.push_str("\n\n");
                prev.message.push_str(&e.message);
            }
            _ => out.push(e),
        }
    }
    out
}

/// How many of a ChangeLog's newest entries `is_history` looks at.
const NEWEST: usize = 50;

/// Whether `entries` (a ChangeLog's, see `parse`) are the history of the files they name:
/// at least half of the newest `NEWEST` entries whose `* ` lines name anything name a file
/// (`is_file`, relative to the ChangeLog's directory). Not so in one a project left as it was
/// when it moved on (IDLE's of 2001 in CPython's tree, whose files were renamed since: 7 of
/// its newest 50), nor in one of release notes (no entry names anything); GNU's name files of
/// the tree in 80–100% of them.
pub fn is_history(entries: &[Entry], is_file: impl Fn(&str) -> bool) -> bool {
    let newest: Vec<&Entry> = entries
        .iter()
        .filter(|e| !e.files.is_empty())
        .take(NEWEST)
        .collect();
    let with_files = newest
        .iter()
        .filter(|e| e.files.iter().any(|p| is_file(p)))
        .count();
    with_files > 0 && 2 * with_files >= newest.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlog_to_changelog_entries() {
        let log = "\
2022-04-15  Paul Eggert  <eggert@cs.ucla.edu>

\tsort: fix --debug with -k
\tProblem reported by Someone (Bug#123).
\t* src/sort.c (keycompare): Mark the key.
\t* tests/misc/sort-debug-keys.sh: Test it.

\tmaint: update copyright
\t* ./src/ls.c, src/cp.c (main),
\tsrc/mv.c: Bump the year.
\t* /usr/include/stdio.h, ../other/x.c: Not here.

2022-04-14  Jim Meyering  <meyering@fb.com>

\tdoc: tweak wording
\t* doc/coreutils.texi (sort invocation): Say so.

\tReported long ago, and fixed now.
";
        let e = parse(log);
        assert_eq!(e.len(), 3, "{e:#?}");
        assert_eq!(e[0].line, 3);
        assert_eq!(e[0].date, Some((2022, 4, 15)));
        assert_eq!(
            e[0].message,
            "sort: fix --debug with -k\nProblem reported by Someone (Bug#123).\n\
             * src/sort.c (keycompare): Mark the key.\n* tests/misc/sort-debug-keys.sh: Test it."
        );
        assert_eq!(e[0].files, ["src/sort.c", "tests/misc/sort-debug-keys.sh"]);
        assert_eq!(e[1].files, ["src/ls.c", "src/cp.c", "src/mv.c"]);
        assert_eq!(e[2].date, Some((2022, 4, 14)));
        assert_eq!(e[2].files, ["doc/coreutils.texi"]);
        assert!(
            e[2].message
                .ends_with("Say so.\n\nReported long ago, and fixed now.")
        );
    }

    #[test]
    fn mercurial_and_gnupg_entries() {
        let hg = "\
2023-03-03  Todd C. Miller  <Todd.Miller@sudo.ws>

\t* plugins/sudoers/match.c, plugins/sudoers/parse.c,
\tplugins/sudoers/parse.h:
\tA user with \"list\" privs for root may not list all users.
\t[a3f7301ba4d3] <1.9>

\t* plugins/sudoers/policy.c:
\tsudoers_policy_list: do not set runas_pw to list_pw when listing
\t[84effa5ffaa1] [SUDO_1_9_13p3] <1.9>
";
        let e = parse(hg);
        assert_eq!(e.len(), 2, "{e:#?}");
        assert_eq!(
            e[0].files,
            [
                "plugins/sudoers/match.c",
                "plugins/sudoers/parse.c",
                "plugins/sudoers/parse.h"
            ]
        );
        assert!(!e[0].message.contains("a3f7301ba4d3"));
        assert_eq!(e[1].files, ["plugins/sudoers/policy.c"]);
        let gnupg = "\
2022-10-07  Werner Koch  <wk@gnupg.org>

\tgpg: Fix the thing.
\t+ commit 0123456789abcdef0123456789abcdef01234567
\t* g10/keyedit.c (menu): Fix.

\tMore words without a subject's shape.
\t+ commit 89abcdef0123456789abcdef0123456789abcdef
\t* g10/import.c: Also.
";
        let e = parse(gnupg);
        assert_eq!(e.len(), 2, "{e:#?}");
        assert_eq!(
            e[0].message,
            "gpg: Fix the thing.\n* g10/keyedit.c (menu): Fix."
        );
        assert_eq!(e[1].files, ["g10/import.c"]);
    }

    #[test]
    fn hand_written_and_old_headers() {
        let log = "\
Tue Jun 18 12:00:00 1996  Jim Blandy  <jimb@cyclic.com>

\t* main.c (main): Check argc.

\t* util.c (xmalloc): Say why.

Mon Jun 17 09:00:00 EST 1996  Someone  <s@x.org>

\t* util.c: Whitespace.
";
        let e = parse(log);
        assert_eq!(e.len(), 2, "{e:#?}");
        assert_eq!(e[0].date, Some((1996, 6, 18)));
        assert_eq!(e[0].files, ["main.c", "util.c"]);
        assert_eq!(e[1].date, Some((1996, 6, 17)));
        assert!(
            parse("no header, no entry markup\n")
                .iter()
                .all(|e| e.files.is_empty())
        );
        assert_eq!(header_date("2023-03-04"), Some((2023, 3, 4)));
        assert_eq!(header_date("2023-03-045 x"), None);
        assert_eq!(header_date("Version 2.0 released"), None);
        // Headers start at the first column; an indented date is an entry's text.
        assert_eq!(header_date("\tTue Jun 18 12:00:00 1996  Jim"), None);
        assert_eq!(header_date(" 2023-03-04  A  <a@x.org>"), None);
    }

    #[test]
    fn lists_end_with_a_colon_and_trailers_stay_with_their_entry() {
        let log = "\u{feff}2022-04-15  A  <a@x.org>

\tsort: fix
\t* src/sort.c (keycompare, begfield)
\t(limfield): Mark the key.
\t* Update the copyright years (Jim Meyering)
\t* src/a.c src/a.c,./src//a.c: Named once.

\tReported-by: Bob Smith

\tls: other fix
\t* src/ls.c: Y.

2022-13-45  B  <b@x.org>

\t* src/cp.c: Z.
";
        let e = parse(log);
        assert_eq!(e.len(), 2, "{e:#?}");
        assert_eq!(e[0].date, Some((2022, 4, 15)));
        assert_eq!(e[0].files, ["src/sort.c", "src/a.c"]);
        assert!(
            e[0].message
                .ends_with("Named once.\n\nReported-by: Bob Smith"),
            "{e:#?}"
        );
        assert!(e[1].message.starts_with("ls: other fix"));
        // Not a date, so no header: the entry goes on.
        assert_eq!(e[1].files, ["src/ls.c", "src/cp.c"]);
        assert!(e[1].message.ends_with("* src/cp.c: Z."), "{e:#?}");
    }

    #[test]
    fn history_when_half_the_entries_name_files() {
        let log = "\
2022-01-01  A  <a@x.org>

\t* old.c, main.c: Fix.

2021-01-01  A  <a@x.org>

\t* older.c: Fix.

2020-01-01  A  <a@x.org>

\t* oldest.c: Fix.
\tVersion 2.
";
        let e = parse(log);
        assert_eq!(e.len(), 3, "{e:#?}");
        assert!(!is_history(&e, |p| p == "main.c"));
        assert!(is_history(&e, |p| p == "main.c" || p == "older.c"));
        assert!(!is_history(&e, |_| false));
        // Release notes: nothing named.
        assert!(!is_history(
            &parse("2022-01-01  A  <a@x.org>\n\n\tVersion 2.\n"),
            |_| true
        ));
    }
}
