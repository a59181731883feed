//! Resolving a path from a model's answer inside the repository root, refusing every way out:
//! absolute paths, `..` past the root, and symlinks (directories or the file itself) whose
//! target lies outside. Paths under `.git/` and `.vibe/` (at any depth: a nested repository's
//! too) are refused too: the model has no business in a repository's history and hooks or in
//! vibe's own backups and settings.

use std::path::{Component, Path, PathBuf};

/// Why a path from an answer is refused.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("`{0}`: the path is empty or names the repository root itself")]
    Empty(String),
    #[error("`{0}`: absolute paths are refused; give a path relative to the repository root")]
    Absolute(String),
    #[error("`{0}`: the path leaves the repository root through `..`")]
    Escapes(String),
    #[error("`{path}`: `{link}` is a symlink to {target}, outside the repository root")]
    Symlink {
        path: String,
        link: String,
        target: String,
    },
    #[error("`{path}`: `{link}` is a symlink whose target does not exist")]
    Dangling { path: String, link: String },
    #[error("`{0}`: paths under .git/ and .vibe/ are not edited")]
    Reserved(String),
    #[error(
        "`{0}`: the path holds control characters or bidirectional marks; vibe does not write such names"
    )]
    Unprintable(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Resolves `path` (as written in an answer) inside `root`. Returns the path relative to the
/// (canonical) root with `/` separators and every symlink inside the root followed, and the
/// absolute path, so that a write replaces the real file rather than a link to it.
pub fn resolve(root: &Path, path: &str) -> Result<(String, PathBuf), PathError> {
    let (rel, real) = locate(root, path)?;
    // At any depth: a nested repository's `sub/.git/config` or hooks run programs at its next
    // `git status` (`core.fsmonitor`), and a nested `.vibe/` holds its settings. Case-blind:
    // on macOS and Windows `.GIT` is `.git`.
    if rel
        .split('/')
        .any(|c| c.eq_ignore_ascii_case(".git") || c.eq_ignore_ascii_case(".vibe"))
    {
        return Err(PathError::Reserved(path.trim().into()));
    }
    Ok((rel, real))
}

/// [`resolve`] without the refusal of `.git/` and `.vibe/` paths: for `vibe undo`, which puts
/// back what vibe itself copied, also of a run made before such paths were refused at every
/// depth.
pub(crate) fn locate(root: &Path, path: &str) -> Result<(String, PathBuf), PathError> {
    let written = path.trim();
    let trimmed = written.strip_prefix("./").unwrap_or(written);
    if trimmed.starts_with('/') || trimmed.starts_with('\\') || Path::new(trimmed).is_absolute() {
        return Err(PathError::Absolute(written.into()));
    }
    if trimmed.contains('\0') {
        return Err(PathError::Empty(written.into()));
    }
    // A model naming a file `new\x1b[31mred\u{202e}.py` made one that every listing shows
    // wrong (or that recolours the terminal).
    if trimmed.chars().any(crate::repomap::render::unsafe_to_show) {
        return Err(PathError::Unprintable(written.into()));
    }
    // Lexical normalisation: `.` dropped, `..` pops, never above the root.
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in Path::new(trimmed).components() {
        match c {
            Component::Normal(p) => parts.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err(PathError::Escapes(written.into()));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(PathError::Absolute(written.into()));
            }
        }
    }
    if parts.is_empty() {
        return Err(PathError::Empty(written.into()));
    }
    let canon_root = root.canonicalize().map_err(|source| PathError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    // Walk the existing prefix; follow any symlink and require its target inside the root.
    let mut real = canon_root.clone();
    let mut walked = PathBuf::new();
    let mut rest = parts.iter();
    for part in rest.by_ref() {
        walked.push(part);
        let next = real.join(part);
        match std::fs::symlink_metadata(&next) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                real = next;
                break;
            }
            Err(source) => return Err(PathError::Io { path: next, source }),
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = next.canonicalize().map_err(|_| PathError::Dangling {
                    path: written.into(),
                    link: walked.display().to_string(),
                })?;
                if !target.starts_with(&canon_root) {
                    return Err(PathError::Symlink {
                        path: written.into(),
                        link: walked.display().to_string(),
                        target: target.display().to_string(),
                    });
                }
                real = target;
            }
            Ok(_) => real = next,
        }
    }
    for part in rest {
        real.push(part);
    }
    let rel_path = real
        .strip_prefix(&canon_root)
        .map_err(|_| PathError::Escapes(written.into()))?;
    let rel = rel_path
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    if rel.is_empty() {
        return Err(PathError::Empty(written.into()));
    }
    Ok((rel, real))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(t.path().join("src/sub")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(t.path().join("src/a.py"), "x").unwrap_or_else(|e| panic!("{e}"));
        t
    }

    #[test]
    fn plain_paths_normalise() {
        let t = root();
        let canon = t.path().canonicalize().unwrap_or_else(|e| panic!("{e}"));
        for (given, want) in [
            ("src/a.py", "src/a.py"),
            ("./src/a.py", "src/a.py"),
            ("src/./sub/../a.py", "src/a.py"),
            ("new/dir/file.rs", "new/dir/file.rs"),
            (" src/a.py ", "src/a.py"),
        ] {
            let (rel, abs) = resolve(t.path(), given).unwrap_or_else(|e| panic!("{given}: {e}"));
            assert_eq!(rel, want);
            assert_eq!(abs, canon.join(want));
        }
    }

    #[test]
    fn ways_out_are_refused() {
        let t = root();
        for (given, what) in [
            ("../x", "Escapes"),
            ("a/../../x", "Escapes"),
            ("src/../../etc/passwd", "Escapes"),
            ("/etc/passwd", "Absolute"),
            ("", "Empty"),
            (".", "Empty"),
            ("src/..", "Empty"),
            (".git/config", "Reserved"),
            ("sub/.git/config", "Reserved"),
            ("sub/.GIT/hooks/pre-commit", "Reserved"),
            ("sub/.vibe/config.toml", "Reserved"),
            ("sub/.git", "Reserved"),
            (".vibe/backups/x", "Reserved"),
            (".GIT/hooks/pre-commit", "Reserved"),
            (".Vibe/config.toml", "Reserved"),
            ("new\u{1b}[31mred.py", "Unprintable"),
            ("a\u{202e}yp.exe", "Unprintable"),
            ("tab\there.py", "Unprintable"),
        ] {
            let e = resolve(t.path(), given).err();
            let got = format!("{e:?}");
            assert!(got.starts_with(&format!("Some({what}")), "{given}: {got}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        use std::os::unix::fs::symlink;
        let t = root();
        let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(outside.path().join("secret"), "s").unwrap_or_else(|e| panic!("{e}"));
        let r = t.path();
        symlink(outside.path(), r.join("out")).unwrap_or_else(|e| panic!("{e}"));
        symlink(outside.path().join("secret"), r.join("src/secret.py"))
            .unwrap_or_else(|e| panic!("{e}"));
        symlink(r.join("src"), r.join("inside")).unwrap_or_else(|e| panic!("{e}"));
        symlink(r.join("src/a.py"), r.join("alias.py")).unwrap_or_else(|e| panic!("{e}"));
        symlink(r.join("nowhere"), r.join("dangling")).unwrap_or_else(|e| panic!("{e}"));
        for given in ["out/secret", "out/new/file", "src/secret.py", "./out"] {
            let e = resolve(r, given);
            assert!(
                matches!(e, Err(PathError::Symlink { .. })),
                "{given}: {e:?}"
            );
        }
        assert!(matches!(
            resolve(r, "dangling"),
            Err(PathError::Dangling { .. })
        ));
        // Links that stay inside resolve to their targets.
        let canon = r.canonicalize().unwrap_or_else(|e| panic!("{e}"));
        let got = resolve(r, "inside/a.py").map(|x| x.0).ok();
        assert_eq!(got.as_deref(), Some("src/a.py"));
        let (rel, abs) = resolve(r, "alias.py").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((rel.as_str(), abs), ("src/a.py", canon.join("src/a.py")));
        let got = resolve(r, "inside/new.py").map(|x| x.0).ok();
        assert_eq!(got.as_deref(), Some("src/new.py"));
    }
}
