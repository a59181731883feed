//! vibe: a local-first terminal coding agent.
//!
//! The library holds every capability; `src/main.rs` only calls [`cli::main`], so that
//! tests and benches reach everything. See `../shared/ARCHITECTURE.md` for the parts.

#![deny(clippy::print_stderr, clippy::print_stdout)]

/// Set while the TUI draws on the terminal (raw mode, the alternate screen): a line written to
/// stderr then would land inside its frame, so [`to_stderr!`] drops it (the TUI shows what
/// matters as events).
pub static TERMINAL_OWNED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// `eprintln!` that never panics: a line that cannot be written (stderr closed, a full disk)
/// is dropped and the command goes on, so a warning cannot cost the output it warns about;
/// nor does it write into the TUI's frame ([`TERMINAL_OWNED`]).
#[macro_export]
macro_rules! to_stderr {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        if !$crate::TERMINAL_OWNED.load(::std::sync::atomic::Ordering::SeqCst) {
            let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
        }
    }};
}

/// `println!` that never panics: a closed stdout is noticed where the output proper is
/// written, not in a spacing line.
#[macro_export]
macro_rules! to_stdout {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stdout(), $($arg)*);
    }};
}

pub mod cli;
pub mod config;
pub mod context;
pub mod cost;
pub mod edit;
pub mod heal;
pub mod llm;
pub mod plugins;
pub mod repomap;
pub mod session;
pub mod store;
mod text;
pub mod tui;
pub mod watch;

/// An error and its causes on one line, `outer: cause: …`, as anyhow's `{:#}` prints them, but
/// without a cause the message before already quotes (errors that say `cannot read {path}:
/// {source}` and also give `source` as their cause), and with the `hint:` lines any of them
/// carries after that line, not inside it.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let (mut text, mut hints) = (String::new(), String::new());
    let mut cause = Some(e);
    while let Some(c) = cause {
        let c_text = c.to_string();
        let (body, hint) = c_text
            .find("\nhint:")
            .map_or((c_text.as_str(), ""), |at| c_text.split_at(at));
        // SQLite's own error under rusqlite's says the same, numbered: `Error code 8: …`. An
        // extended code (256 and up: 1032, the file moved while open) says more than the text
        // and stays.
        let said = body
            .strip_prefix("Error code ")
            .and_then(|b| b.split_once(": "))
            .filter(|(code, _)| code.parse::<u32>().is_ok_and(|c| c < 256))
            .map_or(body, |(_, rest)| rest);
        if !text.contains(said) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(body);
        }
        // A message that quotes its cause quotes the cause's hint too: said once.
        if !hints.contains(hint) {
            hints.push_str(hint);
        }
        cause = c.source();
    }
    text + &hints
}

/// Whether process `pid` exists on this system: `None` where it cannot tell (no `/proc`). Within
/// one PID namespace only: a process of another container sharing a directory is not seen.
pub fn process_exists(pid: u32) -> Option<bool> {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return None;
    }
    Some(proc.join(pid.to_string()).exists())
}

/// A PID no process has now (the highest free one below 4,000,000), for tests of what a
/// process that is gone left behind.
#[cfg(test)]
pub(crate) fn unused_pid() -> Option<u32> {
    (1..4_000_000u32)
        .rev()
        .find(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
}

/// Where this process's PIDs mean something: the host name and the PID namespace
/// (`myhost/pid:[4026531836]`), so that a PID recorded in a shared file is judged only by a
/// process that can see it. Empty parts where the system does not say.
pub fn process_host() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let ns = std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    format!("{name}/{ns}")
}

/// Routes tree-sitter's C allocations through mimalloc. Call it first thing in `main`, before
/// any tree-sitter object exists: memory allocated by one allocator must not be freed by the
/// other, which is also why the library never calls it on its own.
pub fn use_mimalloc_for_tree_sitter() {
    use libmimalloc_sys as mi;
    unsafe extern "C" fn malloc(size: usize) -> *mut std::ffi::c_void {
        // SAFETY: plain allocation through mimalloc's C API.
        unsafe { mi::mi_malloc(size) }
    }
    unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut std::ffi::c_void {
        // Zeroed, with calloc's overflow check.
        match n.checked_mul(size) {
            // SAFETY: as above.
            Some(total) => unsafe { mi::mi_zalloc(total) },
            None => std::ptr::null_mut(),
        }
    }
    unsafe extern "C" fn realloc(p: *mut std::ffi::c_void, size: usize) -> *mut std::ffi::c_void {
        // SAFETY: `p` was allocated by these functions (the allocator is installed before
        // tree-sitter allocates anything).
        unsafe { mi::mi_realloc(p, size) }
    }
    unsafe extern "C" fn free(p: *mut std::ffi::c_void) {
        // SAFETY: as for `realloc`.
        unsafe { mi::mi_free(p) }
    }
    // SAFETY: called once at start-up, before any tree-sitter allocation.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc,
            calloc,
            realloc,
            free,
        }))
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cause_the_message_quotes_is_not_repeated() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let quoted = anyhow::Error::new(crate::store::Error::Io {
            path: "/r/.vibe".into(),
            source: io(),
        });
        let text = crate::error_chain(quoted.as_ref());
        assert_eq!(text.matches("gone").count(), 1, "{text}");
        // The hint comes after every cause.
        assert!(
            text.ends_with("\nhint: check that the directory is writable"),
            "{text}"
        );
        // As SQLite reports a write to a database made read-only: said once, with the hint.
        let readonly = |code| {
            anyhow::Error::new(crate::store::Error::Sqlite {
                path: "/r/.vibe/index.db".into(),
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(code),
                    Some("attempt to write a readonly database".into()),
                ),
            })
            .context("indexing /r")
        };
        let text = crate::error_chain(readonly(rusqlite::ffi::SQLITE_READONLY).as_ref());
        assert_eq!(
            text,
            "indexing /r: /r/.vibe/index.db: attempt to write a readonly database\n\
             hint: make the file, its `-wal` and `-shm` files beside it and their directory \
             writable (`chmod u+w FILE*`: SQLite made the `-shm` file with the mode the database \
             had then; `chattr -i` if `lsattr` shows one immutable), or remove all three \
             (vibe builds the index again)"
        );
        // Moved while open (`rm -rf .vibe` under a running vibe): no such hint, and the code,
        // which says what happened, stays.
        let text = crate::error_chain(readonly(rusqlite::ffi::SQLITE_READONLY_DBMOVED).as_ref());
        assert!(!text.contains("hint:"), "{text}");
        assert!(text.contains("Error code 1032"), "{text}");
        // A message that quotes a cause with a hint: the hint once.
        let quoting = anyhow::Error::new(crate::watch::Error::Failed {
            retry_in: std::time::Duration::from_secs(2),
            source: crate::repomap::Error::Store(crate::store::Error::Io {
                path: "/r/.vibe".into(),
                source: io(),
            }),
        });
        let text = crate::error_chain(quoting.as_ref());
        assert_eq!(text.matches("hint:").count(), 1, "{text}");
        let wrapped = anyhow::Error::new(io()).context("reading the index");
        assert_eq!(
            crate::error_chain(wrapped.as_ref()),
            "reading the index: gone"
        );
    }
}
