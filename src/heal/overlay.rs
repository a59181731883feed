//! A scratch tree for validating candidate edits without touching the user's files.
//!
//! [`Overlay::new`] builds, in a temp dir, a tree whose replaced files hold the candidate text;
//! the directories along their paths are real directories, and every other entry is a symlink to
//! the original (so `target/`, `node_modules/` and `.git` are shared as they are, and cargo, tsc
//! and go reuse their caches). The tree is removed when the overlay is dropped.
//!
//! Invariant: nothing is written under the original root by the overlay itself. Tools run in it
//! may write through the symlinks (cargo into the shared `target/`), as they would in the
//! original tree.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use crate::heal::tools::TempDir;

/// Live overlays: (overlay root, original root), so that diagnostics a tool reports through a
/// symlink (the original file's real path) are still made relative to the validated root.
static LIVE: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());

/// The original root of a live overlay.
pub fn original_of(root: &Path) -> Option<PathBuf> {
    let live = LIVE.lock().ok()?;
    live.iter()
        .find(|(o, _)| o == root)
        .map(|(_, orig)| orig.clone())
}

#[derive(Debug)]
pub struct Overlay {
    dir: TempDir,
    root: PathBuf,
}

impl Overlay {
    /// Builds the overlay of `root` with `replaced` files (paths relative to `root`, which must
    /// stay inside it) holding their new text. A replaced file need not exist yet.
    pub fn new(root: &Path, replaced: &[(String, String)]) -> io::Result<Overlay> {
        let root = std::fs::canonicalize(root)?;
        let dir = TempDir::new("vibe-overlay")?;
        let top = dir.path().join("root");
        std::fs::create_dir(&top)?;
        let mut rels = Vec::new();
        for (rel, _) in replaced {
            rels.push(check_rel(rel)?);
        }
        build(&root, &top, &rels)?;
        for ((_, text), rel) in replaced.iter().zip(&rels) {
            let dest = top.join(rel);
            if dest.is_symlink() {
                std::fs::remove_file(&dest)?;
            }
            std::fs::write(&dest, text)?;
            // Keep the original's permissions (an executable script stays executable).
            if let Ok(m) = std::fs::metadata(root.join(rel)) {
                let _ = std::fs::set_permissions(&dest, m.permissions());
            }
        }
        if let Ok(mut live) = LIVE.lock() {
            live.push((top.clone(), root.clone()));
        }
        Ok(Overlay { dir, root: top })
    }

    /// The overlay's root: validate this instead of the original.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|(o, _)| o != &self.root);
        }
        let _ = &self.dir; // removed by TempDir's drop
    }
}

/// A relative path of normal components only.
fn check_rel(rel: &str) -> io::Result<PathBuf> {
    let p = Path::new(rel);
    let ok = !rel.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(p.to_path_buf())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{rel}: an overlay path must be relative and stay inside the root"),
        ))
    }
}

/// Mirrors `src` into `dst`: entries on the way to a replaced file become real directories
/// (recursively), every other entry a symlink to the original.
fn build(src: &Path, dst: &Path, rels: &[PathBuf]) -> io::Result<()> {
    let mut next: std::collections::BTreeMap<std::ffi::OsString, Vec<PathBuf>> = Default::default();
    for r in rels {
        let mut cs = r.components();
        if let Some(first) = cs.next() {
            let rest: PathBuf = cs.collect();
            next.entry(first.as_os_str().to_os_string())
                .or_default()
                .push(rest);
        }
    }
    if src.is_dir() {
        for e in std::fs::read_dir(src)? {
            let e = e?;
            let name = e.file_name();
            if next.contains_key(&name) {
                continue;
            }
            std::os::unix::fs::symlink(e.path(), dst.join(&name))?;
        }
    }
    for (name, rests) in next {
        let below: Vec<PathBuf> = rests
            .into_iter()
            .filter(|r| !r.as_os_str().is_empty())
            .collect();
        if below.is_empty() {
            continue; // the replaced file itself, written by the caller
        }
        std::fs::create_dir(dst.join(&name))?;
        build(&src.join(&name), &dst.join(&name), &below)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaced_files_real_the_rest_symlinked() -> Result<(), Box<dyn std::error::Error>> {
        let d = TempDir::new("vibe-test")?;
        let root = std::fs::canonicalize(d.path())?;
        std::fs::create_dir_all(root.join("src/deep"))?;
        std::fs::create_dir_all(root.join("target"))?;
        std::fs::write(root.join("src/a.py"), "old")?;
        std::fs::write(root.join("src/b.py"), "b")?;
        std::fs::write(root.join("src/deep/c.py"), "c")?;
        std::fs::write(root.join("README"), "r")?;
        let o = Overlay::new(
            &root,
            &[
                ("src/a.py".into(), "new".into()),
                ("src/n/new.py".into(), "n".into()),
            ],
        )?;
        let r = o.root().to_path_buf();
        assert_eq!(std::fs::read_to_string(r.join("src/a.py"))?, "new");
        assert!(!r.join("src/a.py").is_symlink() && !r.join("src").is_symlink());
        assert!(r.join("src/b.py").is_symlink() && r.join("target").is_symlink());
        assert!(r.join("src/deep").is_symlink() && r.join("README").is_symlink());
        assert_eq!(std::fs::read_to_string(r.join("src/n/new.py"))?, "n");
        assert_eq!(std::fs::read_to_string(root.join("src/a.py"))?, "old");
        assert_eq!(original_of(&r), Some(root.clone()));
        assert!(Overlay::new(&root, &[("../x".into(), String::new())]).is_err());
        assert!(Overlay::new(&root, &[("/etc/x".into(), String::new())]).is_err());
        drop(o);
        assert!(!r.exists() && original_of(&r).is_none());
        assert!(root.join("src/b.py").exists());
        Ok(())
    }
}
