//! `vibe watch`: keep the index fresh as files change, one line (or JSON object) per update.
//!
//! stdout carries the updates and nothing else; warnings and failed runs go to stderr (and,
//! with `--json`, warnings also into the update's `warnings`). A closed stdout ends the watch
//! quietly, seen on the next write or, when idle, within a tick.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use crate::config::Config;
use crate::watch::Update;

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// One JSON object per update (schema vibe.watch/1) instead of a line of text.
    #[arg(long)]
    pub json: bool,
}

/// Watches `root` with `config`; `reload` loads the configuration again after
/// `.vibe/config.toml` changes.
pub fn run(
    args: &WatchArgs,
    root: &Path,
    config: &Config,
    reload: &dyn Fn() -> anyhow::Result<Config>,
) -> anyhow::Result<ExitCode> {
    crate::repomap::check_root(root)?;
    let t = std::time::Instant::now();
    let failed: std::cell::RefCell<Option<std::io::Error>> = Default::default();
    let print = |line: &str| {
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, "{line}").and_then(|_| out.flush()) {
            // A closed pipe (`vibe watch | head`) ends the watch.
            failed.borrow_mut().get_or_insert(e);
        }
    };
    let warn = |warnings: &[String]| {
        if !args.json {
            for w in warnings {
                super::warning(w);
            }
        }
    };
    let mut ready = |files: usize, warnings: &[String]| {
        warn(warnings);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let line = if args.json {
            serde_json::json!({
                "schema": "vibe.watch/1",
                "ready": true,
                "files": files,
                "index_ms": ms,
                "warnings": warnings,
            })
            .to_string()
        } else {
            format!(
                "watching {} ({files} files indexed in {ms:.0} ms); Ctrl-C to stop",
                root.display()
            )
        };
        print(&line);
    };
    let mut update = |u: anyhow::Result<Update>| {
        if failed.borrow().is_some() {
            return;
        }
        match u {
            Ok(u) if args.json => print(&serde_json::to_string(&u).unwrap_or_default()),
            Ok(u) => {
                warn(&u.warnings);
                print(&text_line(&u));
            }
            Err(e) => super::warning(crate::error_chain(e.as_ref())),
        }
    };
    let stop = || failed.borrow().is_some() || stdout_reader_gone();
    crate::watch::watch(
        root,
        config,
        crate::watch::Hooks {
            stop: &stop,
            on_ready: &mut ready,
            on_update: &mut update,
            reload: Some(reload),
        },
    )?;
    match failed.into_inner() {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// An update as a line of text: the counts, and the first three paths (quoted when odd, so a
/// newline in a name cannot split the line) with how many more there were.
fn text_line(u: &Update) -> String {
    let shown: Vec<String> = u
        .paths
        .iter()
        .take(3)
        .map(|p| crate::repomap::render::shown_path(p).into_owned())
        .collect();
    let more = u.paths_total.saturating_sub(shown.len());
    format!(
        "{} added, {} changed, {} deleted ({} parsed) in {:.1} ms after the last change: {}{}",
        u.added,
        u.changed,
        u.deleted,
        u.parsed,
        u.latency_ms,
        shown.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// Whether stdout is a pipe (or socket) whose reader has gone: `vibe watch | head -1` must end
/// when `head` does, not at the next file change.
#[cfg(unix)]
fn stdout_reader_gone() -> bool {
    let mut fd = libc::pollfd {
        fd: 1,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call, and no wait.
    let n = unsafe { libc::poll(&mut fd, 1, 0) };
    n > 0 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

#[cfg(not(unix))]
fn stdout_reader_gone() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(paths: &[&str], total: usize) -> Update {
        Update {
            schema: "vibe.watch/1",
            time_ms: 0,
            paths: paths.iter().map(|p| p.to_string()).collect(),
            paths_total: total,
            added: total,
            changed: 0,
            deleted: 0,
            parsed: total,
            latency_ms: 1.0,
            index_ms: 1.0,
            files: total,
            warnings: vec![],
        }
    }

    #[test]
    fn the_line_counts_every_path_and_quotes_odd_ones() {
        let line = text_line(&update(&["a.py", "b\nc.py", "d.py", "e.py"], 50));
        assert!(
            line.ends_with(r#"a.py, "b\nc.py", d.py and 47 more"#),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let line = text_line(&update(&["a.py"], 1));
        assert!(line.ends_with(": a.py"), "{line}");
    }
}
