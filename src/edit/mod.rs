//! Edits: a model's answer parsed into search/replace or whole-file blocks ([`parse`]), matched
//! and applied to file texts in memory ([`apply_to_text`], [`plan`]), shown as unified diffs
//! ([`unified_diff`]), and written for real only through backups and atomic writes ([`commit`]),
//! which [`undo`] reverses.
//!
//! Invariants: no path outside the repository root is ever read or written ([`resolve`]);
//! nothing the user owns is half-written ([`atomic_write`]); every file is copied to
//! `.vibe/backups/<run-id>/` before it changes. The format is in `docs/edit.md` and, for a
//! model, in [`FORMAT_PROMPT`].

use std::path::{Path, PathBuf};

mod atomic;
mod backup;
mod matching;
mod parse;
mod paths;
mod udiff;

pub use atomic::{TEMP_MARK, atomic_write, is_temp_name};
pub use backup::{RunInfo, UndoReport, commit, hold_writes, list_runs, undo};
pub use matching::{BOM, MatchError, Nearest, apply_to_text, with_bom};
pub use parse::{Marker, ParseError, cut_off, is_fence, marker, parse, parse_answer};
pub(crate) use paths::locate;
pub use paths::{PathError, resolve};

/// The edit format, explained to a model, with one example. Goes into system prompts as is.
pub const FORMAT_PROMPT: &str = r#"To change files, answer with edit blocks. Each block is:

1. the file's path relative to the repository root, alone on its line;
2. a line `<<<<<<< SEARCH`;
3. lines copied exactly from the file as it is now (every character, space and comment), enough of them to be unique in the file;
4. a line `=======`;
5. the lines to put in their place;
6. a line `>>>>>>> REPLACE`.

Example, renaming a variable in src/app.py:

src/app.py
<<<<<<< SEARCH
def total(items):
    s = 0
    for item in items:
        s += item.price
    return s
=======
def total(items):
    amount = 0
    for item in items:
        amount += item.price
    return amount
>>>>>>> REPLACE

Rules:
- Use one block per change; several blocks may follow each other, for the same or different files, and are applied in order.
- Keep SEARCH short: the lines that change plus a line or two around them. Never elide lines with "..." inside SEARCH.
- To delete lines, leave the part after `=======` empty. To move code, use one block to delete it and one to insert it.
- To create a new file, give its path and an empty SEARCH section; the REPLACE section is the whole new file.
- To rewrite a small file completely, give its path, then `<<<<<<< FILE`, the complete new content, then `>>>>>>> FILE`.
- Only edit files inside the repository. Anything outside the blocks is ignored.
"#;

/// One edit from an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The path as written in the answer (decoration removed), relative to the repository root.
    pub path: String,
    pub kind: EditKind,
    /// The answer line (1-based) of the block's opening marker.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditKind {
    /// Replace the lines `search` with `replace` (each line ends in `\n`; empty `search` creates
    /// a file).
    Replace { search: String, replace: String },
    /// The file's complete new content.
    WholeFile { content: String },
}

/// The new text of one file, computed but not yet written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Relative to the repository root, `/`-separated, symlinks inside the root followed.
    pub rel: String,
    pub abs: PathBuf,
    /// The text before (`None`: the file does not exist and will be created).
    pub old: Option<String>,
    pub new: String,
}

/// Everything that can go wrong in this module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Match(#[from] MatchError),
    #[error(transparent)]
    Path(#[from] PathError),
    /// Several files failed in one plan: each is reported, so a model can fix them all at once.
    #[error("{} edits failed:\n{}", .0.len(), .0.iter().map(|e| format!("- {e}")).collect::<Vec<_>>().join("\n"))]
    Several(Vec<Error>),
    #[error("{path}: the file is not UTF-8 text; vibe does not edit it")]
    NotUtf8 { path: String },
    #[error("{path}: not a regular file")]
    NotAFile { path: String },
    #[error(
        "{path}: the block at answer line {line} searches a file that does not exist; to create it, use an empty SEARCH section"
    )]
    NoSuchFile { path: String, line: usize },
    #[error(
        "{path}: the file changed on disk since the edit was planned; nothing was written\nhint: run the command again on the file as it is now"
    )]
    ChangedSincePlan { path: String },
    #[error("nothing to write: every change leaves its file as it is")]
    NothingToWrite,
    #[error(
        "two changes of {0} in one run: each was planned from the same text, so writing both would lose one\nhint: plan the second change on top of the first"
    )]
    Duplicate(String),
    #[error("no edit runs to undo in {}", .0.display())]
    NoRuns(PathBuf),
    #[error("every edit run in {} is already undone\nhint: `vibe undo --list` shows them", .0.display())]
    AllUndone(PathBuf),
    #[error("no run `{0}`; `vibe undo --list` shows the runs")]
    UnknownRun(String),
    #[error("run {0} is already undone")]
    AlreadyUndone(String),
    #[error(
        "run {run}: {} changed since the run: {}; undo refused (--force restores anyway, losing those changes)",
        if files.len() == 1 { "a file" } else { "files" }, files.join(", ")
    )]
    Changed { run: String, files: Vec<String> },
    #[error(
        "run {run}: the backup is damaged ({reason}); nothing was restored\nhint: `vibe undo --list` shows the runs, `vibe undo --run ID` undoes another; remove .vibe/backups/{run} if it holds nothing you need"
    )]
    Damaged { run: String, reason: String },
    #[error(
        "run {run}: {reason}; nothing was restored\nhint: the backup is whole; put the path back as the run left it (vibe does not write through a link leading out of the repository), then run `vibe undo` again"
    )]
    PathMoved { run: String, reason: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot back up the files before writing: {source}; nothing was changed\nhint: fix what stops the backup (a full disk, .vibe/backups not writable), then run the command again"
    )]
    NotBackedUp { source: Box<Error> },
    #[error(
        "{}: {source}; {}",
        path.display(),
        match (undo, written) {
            (None, 0) => "nothing was changed\nhint: fix what stops the write (permissions, a full disk, an immutable file), then run the command again".to_string(),
            (None, n) => format!("nothing was changed (the {n} file(s) written before it were put back)\nhint: fix what stops the write (permissions, a full disk, an immutable file), then run the command again"),
            (Some(id), _) => format!("the files written could not all be put back\nhint: `vibe undo --run {id}` restores them"),
        }
    )]
    WriteFailed {
        path: PathBuf,
        source: std::io::Error,
        written: usize,
        undo: Option<String>,
    },
    #[error(
        "run {run}: {source}; {}",
        if *put_back {
            "nothing was restored (the files restored before it were put back as they were)\nhint: fix what stops the write, then run `vibe undo` again"
        } else {
            "some files were restored and could not all be put back\nhint: fix what stops the write, then run `vibe undo` again: the files already restored are skipped"
        }
    )]
    UndoFailed {
        run: String,
        source: Box<Error>,
        put_back: bool,
    },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a file as text: `None` if it does not exist; an error if it is not a regular file or
/// not UTF-8.
pub(crate) fn read_text(rel: &str, abs: &Path) -> Result<Option<String>, Error> {
    match std::fs::metadata(abs) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(abs)(e)),
        Ok(m) if !m.is_file() => return Err(Error::NotAFile { path: rel.into() }),
        Ok(_) => {}
    }
    let bytes = std::fs::read(abs).map_err(io(abs))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Error::NotUtf8 { path: rel.into() })
}

/// Applies edits in memory, one result per file (in the order files first appear), reading the
/// originals from `root`. A failing file does not stop the others.
pub fn plan_each(root: &Path, edits: &[Edit]) -> Vec<(String, Result<FileChange, Error>)> {
    // Group by resolved path; an edit whose path is refused is its own failure.
    type Group<'a> = (Result<(String, PathBuf), PathError>, Vec<&'a Edit>);
    let mut groups: Vec<Group> = Vec::new();
    for e in edits {
        match resolve(root, &e.path) {
            Ok(r) => match groups
                .iter_mut()
                .find(|(g, _)| g.as_ref().is_ok_and(|g| g.0 == r.0))
            {
                Some((_, list)) => list.push(e),
                None => groups.push((Ok(r), vec![e])),
            },
            Err(err) => groups.push((Err(err), vec![e])),
        }
    }
    groups
        .into_iter()
        .map(|(resolved, list)| {
            // The file as resolved, or as the answer wrote it when it was refused.
            let name = match &resolved {
                Ok((rel, _)) => rel.clone(),
                Err(_) => list.first().map(|e| e.path.clone()).unwrap_or_default(),
            };
            (name, plan_group(resolved, &list))
        })
        .collect()
}

fn plan_group(
    resolved: Result<(String, PathBuf), PathError>,
    list: &[&Edit],
) -> Result<FileChange, Error> {
    let (rel, abs) = resolved?;
    let old = read_text(&rel, &abs)?;
    if old.is_none()
        && let Some(first) = list.first()
        && matches!(&first.kind, EditKind::Replace { search, .. } if !search.is_empty())
    {
        return Err(Error::NoSuchFile {
            path: rel,
            line: first.line,
        });
    }
    let new = apply_to_text(old.as_deref().unwrap_or(""), list)?;
    Ok(FileChange { rel, abs, old, new })
}

/// Applies edits in memory, all or nothing: every file's change, or every failure at once
/// ([`Error::Several`] when more than one file failed). Nothing is written.
pub fn plan(root: &Path, edits: &[Edit]) -> Result<Vec<FileChange>, Error> {
    let (mut changes, mut errors) = (Vec::new(), Vec::new());
    for (_, r) in plan_each(root, edits) {
        match r {
            Ok(c) => changes.push(c),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(changes),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Several(errors)),
    }
}

/// A unified diff of one change: `a/` and `b/` headers (`/dev/null` for a new file), three
/// lines of context. Empty when nothing changes.
pub fn unified_diff(change: &FileChange) -> String {
    let old = change.old.as_deref().unwrap_or("");
    if change.old.as_deref() == Some(change.new.as_str()) {
        return String::new();
    }
    let a = match change.old {
        Some(_) => format!("a/{}", change.rel),
        None => "/dev/null".to_string(),
    };
    similar::TextDiff::from_lines(old, &change.new)
        .unified_diff()
        .context_radius(3)
        .header(&a, &format!("b/{}", change.rel))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(t.path().join("a.py"), "x = 1\ny = 2\n").unwrap_or_else(|e| panic!("{e}"));
        t
    }

    #[test]
    fn plan_groups_by_file_and_creates() {
        let t = repo();
        let edits = parse(
            "a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 10\n>>>>>>> REPLACE\nnew/b.py\n<<<<<<< SEARCH\n=======\nb = 1\n>>>>>>> REPLACE\n./a.py\n<<<<<<< SEARCH\ny = 2\n=======\ny = 20\n>>>>>>> REPLACE\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let changes = plan(t.path(), &edits).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].rel, "a.py");
        assert_eq!(changes[0].new, "x = 10\ny = 20\n");
        assert_eq!(changes[1].rel, "new/b.py");
        assert_eq!(changes[1].old, None);
        assert_eq!(
            unified_diff(&changes[0]),
            "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n-x = 1\n-y = 2\n+x = 10\n+y = 20\n"
        );
        assert!(
            unified_diff(&changes[1]).starts_with("--- /dev/null\n+++ b/new/b.py\n"),
            "{}",
            unified_diff(&changes[1])
        );
    }

    #[test]
    fn plan_reports_every_failure() {
        let t = repo();
        std::fs::write(t.path().join("bin.dat"), [0xff, 0xfe, 0x00])
            .unwrap_or_else(|e| panic!("{e}"));
        let edits = parse(
            "a.py\n<<<<<<< SEARCH\nz = 3\n=======\n>>>>>>> REPLACE\n../out.py\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\nbin.dat\n<<<<<<< FILE\nx\n>>>>>>> FILE\nmissing.py\n<<<<<<< SEARCH\nq\n=======\n>>>>>>> REPLACE\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let each: Vec<Result<FileChange, Error>> = plan_each(t.path(), &edits)
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        assert!(matches!(
            each[0],
            Err(Error::Match(MatchError::NotFound { .. }))
        ));
        assert!(matches!(each[1], Err(Error::Path(PathError::Escapes(_)))));
        assert!(matches!(each[2], Err(Error::NotUtf8 { .. })));
        assert!(matches!(each[3], Err(Error::NoSuchFile { line: 16, .. })));
        let msg = plan(t.path(), &edits).err().map(|e| e.to_string());
        assert!(
            msg.as_deref()
                .is_some_and(|m| m.starts_with("4 edits failed:")),
            "{msg:?}"
        );
    }

    #[test]
    fn the_prompt_example_parses_and_applies() {
        let edits = parse(FORMAT_PROMPT).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(edits.len(), 1);
        let before = "def total(items):\n    s = 0\n    for item in items:\n        s += item.price\n    return s\n";
        let after = apply_to_text(before, &[&edits[0]]).unwrap_or_else(|e| panic!("{e}"));
        assert!(after.contains("amount += item.price"));
    }
}
