//! Atomic file writes: a reader (or a crash) sees the old content or the new, never a mix.
//!
//! The bytes go to a temp file in the same directory, named `.<name>.vibe-tmp-<pid>-<n>` so a
//! leftover from a killed process is recognisable (and hidden); it is fsynced, given the
//! permissions of the file it replaces, renamed over it, and the directory is fsynced so the
//! rename itself survives a power cut. Ownership is not carried over (that needs root).

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The marker in temp file names; `is_temp_name` recognises them.
pub const TEMP_MARK: &str = ".vibe-tmp-";

/// Whether a file name is one of our temp files.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(TEMP_MARK)
}

/// Writes `bytes` to `path` atomically, keeping the permissions of the file it replaces (a new
/// file gets the default permissions, as `File::create` gives). The parent directory must exist.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let perms = match std::fs::metadata(path) {
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    write_with(path, bytes, perms)
}

#[cfg(test)]
thread_local! {
    /// Writes to a path that ends with this one fail (tests of what a failed write leaves);
    /// with `true`, after the file was written (a directory fsync that fails after the rename).
    pub(super) static FAIL_WRITES_TO: std::cell::RefCell<Option<(PathBuf, bool)>> =
        const { std::cell::RefCell::new(None) };
}

/// [`atomic_write`] with the permissions to give the file (`None`: the defaults).
pub(super) fn write_with(
    path: &Path,
    bytes: &[u8],
    perms: Option<Permissions>,
) -> std::io::Result<()> {
    #[cfg(test)]
    {
        // Once: what the failure leaves is then put back with ordinary writes.
        let hit = FAIL_WRITES_TO.with(|f| {
            let mut f = f.borrow_mut();
            match &*f {
                Some((p, _)) if path.ends_with(p) => f.take(),
                _ => None,
            }
        });
        if let Some((_, after)) = hit {
            if after {
                std::fs::write(path, bytes)?;
            }
            return Err(std::io::Error::other("injected failure"));
        }
    }
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => (d, n.to_string_lossy()),
        _ => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{}: not a file path", path.display()),
            ));
        }
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let (tmp, mut file) = create_temp(dir, &name)?;
    let result = (|| {
        file.write_all(bytes)?;
        if let Some(p) = perms {
            file.set_permissions(p)?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A new temp file beside the target, never one that already exists.
fn create_temp(dir: &Path, name: &str) -> std::io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}{TEMP_MARK}{}-{n}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Makes a directory's entries (a rename, a new or removed file) durable.
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_permissions() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = t.path().join("run.sh");
        std::fs::write(&p, "old").unwrap_or_else(|e| panic!("{e}"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, Permissions::from_mode(0o751))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        atomic_write(&p, b"new").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read(&p).ok().as_deref(), Some(&b"new"[..]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).map(|m| m.permissions().mode() & 0o7777);
            assert_eq!(mode.ok(), Some(0o751));
        }
        // A new file, and nothing left behind.
        atomic_write(&t.path().join("fresh"), b"x").unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = std::fs::read_dir(t.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(!names.iter().any(|n| is_temp_name(n)));
    }

    #[test]
    fn a_missing_directory_fails_cleanly() {
        let t = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert!(atomic_write(&t.path().join("no/such/file"), b"x").is_err());
    }
}
