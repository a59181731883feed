//! `vibe watch`: keep the index fresh as files change, one line (or JSON object) per update.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use crate::config::Config;

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// One JSON object per update (schema vibe.watch/1) instead of a line of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &WatchArgs, root: &Path, config: &Config) -> anyhow::Result<ExitCode> {
    crate::repomap::check_root(root)?;
    let t = std::time::Instant::now();
    let mut out = std::io::stdout();
    let mut failed: Option<std::io::Error> = None;
    let broken = std::cell::Cell::new(false);
    let mut ready = |files: usize| {
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let line = if args.json {
            serde_json::json!({"schema": "vibe.watch/1", "ready": true, "files": files, "index_ms": ms})
                .to_string()
        } else {
            format!(
                "watching {} ({files} files indexed in {ms:.0} ms); Ctrl-C to stop",
                root.display()
            )
        };
        let _ = writeln!(std::io::stdout(), "{line}").and_then(|_| std::io::stdout().flush());
    };
    crate::watch::watch(root, config, &|| broken.get(), &mut ready, &mut |u| {
        if failed.is_some() {
            return;
        }
        let line = match u {
            Ok(u) if args.json => serde_json::to_string(&u).unwrap_or_default(),
            Ok(u) => format!(
                "{} added, {} changed, {} deleted ({} parsed) in {:.1} ms after the last change: {}{}",
                u.added,
                u.changed,
                u.deleted,
                u.parsed,
                u.latency_ms,
                u.paths
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if u.paths.len() > 3 {
                    format!(" and {} more", u.paths.len() - 3)
                } else {
                    String::new()
                }
            ),
            Err(e) => {
                eprintln!(
                    "warning: the index update failed: {}",
                    crate::error_chain(e.as_ref())
                );
                return;
            }
        };
        if let Err(e) = writeln!(out, "{line}").and_then(|_| out.flush()) {
            // A closed pipe (`vibe watch | head`) ends the watch.
            failed = Some(e);
            broken.set(true);
        }
    })?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}
