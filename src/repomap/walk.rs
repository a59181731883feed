//! The parallel walk of a repository with the `ignore` crate: .gitignore, .ignore, global git
//! excludes, hidden files and `.vibeignore` are respected; symlinks are followed, so loops and
//! unreadable entries become warnings, never failures.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use ignore::{WalkBuilder, WalkState, overrides::OverrideBuilder};

/// One file found by the walk.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Relative to the root, `/`-separated.
    pub path: String,
    pub abs: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
}

/// Walks `root` and returns its files sorted by path, plus warnings.
pub fn walk(root: &Path, exclude: &[String], threads: usize) -> (Vec<Entry>, Vec<String>) {
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(true)
        .git_ignore(true)
        .git_global(true)
        .git_exclude(true)
        .ignore(true)
        .parents(true)
        .require_git(false)
        .follow_links(true)
        .add_custom_ignore_filename(".vibeignore")
        .threads(threads);
    let mut warnings = Vec::new();
    if !exclude.is_empty() {
        let mut ob = OverrideBuilder::new(root);
        for pat in exclude {
            if let Err(e) = ob.add(&format!("!{pat}")) {
                warnings.push(format!("config map.exclude: bad pattern `{pat}`: {e}"));
            }
        }
        match ob.build() {
            Ok(o) => {
                builder.overrides(o);
            }
            Err(e) => warnings.push(format!("config map.exclude: {e}")),
        }
    }
    let entries = Mutex::new(Vec::new());
    let warns = Mutex::new(warnings);
    builder.build_parallel().run(|| {
        let entries = &entries;
        let warns = &warns;
        Box::new(move |result| {
            match result {
                Ok(dent) => {
                    if dent.file_type().is_some_and(|t| t.is_dir()) || dent.depth() == 0 {
                        return WalkState::Continue;
                    }
                    match dent.metadata() {
                        Ok(meta) if meta.is_file() => {
                            if let Some(rel) = relative(root, dent.path()) {
                                let mtime_ns = meta
                                    .modified()
                                    .ok()
                                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                                    .map(|d| d.as_nanos() as i64)
                                    .unwrap_or(0);
                                if let Ok(mut v) = entries.lock() {
                                    v.push(Entry {
                                        path: rel,
                                        abs: dent.path().to_path_buf(),
                                        size: meta.len(),
                                        mtime_ns,
                                    });
                                }
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            if let Ok(mut w) = warns.lock() {
                                w.push(format!("{}: {}", dent.path().display(), clean(&e)));
                            }
                        }
                    }
                }
                Err(e) => {
                    if let Ok(mut w) = warns.lock() {
                        w.push(clean(&e));
                    }
                }
            }
            WalkState::Continue
        })
    });
    let mut entries = entries.into_inner().unwrap_or_default();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    // A file reached twice through symlinked directories is indexed once, under its first path.
    entries.dedup_by(|b, a| a.path == b.path);
    let mut warnings = warns.into_inner().unwrap_or_default();
    warnings.sort();
    (entries, warnings)
}

fn clean(e: &ignore::Error) -> String {
    e.to_string().replace('\n', " ")
}

fn relative(root: &Path, p: &Path) -> Option<String> {
    let rel = p.strip_prefix(root).ok()?;
    let mut out = String::new();
    for c in rel.components() {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(&c.as_os_str().to_string_lossy());
    }
    // The index's own directory is never content.
    if out.is_empty() || out == ".vibe" || out.starts_with(".vibe/") {
        return None;
    }
    Some(out)
}
