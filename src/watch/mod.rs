//! The live index: a notify watcher on the repository, debounced, bringing the index up to date
//! after each burst of changes.
//!
//! Each update is an ordinary incremental index run (`repomap::index`): the walk compares sizes
//! and mtimes with the index, so only the files that changed are read and parsed, and whatever
//! happened — an editor saving through a rename, a branch switch, a mass rewrite — the index
//! ends equal to a fresh one. Events under `.git/` and `.vibe/` and on ignored paths do not
//! start a run (a branch switch is seen through the files it changes). At most one run is
//! queued: events that arrive during a run are folded into the next one.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};
use serde::Serialize;

use crate::config::Config;

/// Quiet time that ends a burst of events.
pub const DEBOUNCE: Duration = Duration::from_millis(100);
/// A burst that never goes quiet still runs after this long.
pub const MAX_WAIT: Duration = Duration::from_secs(1);

/// One update of the index.
#[derive(Debug, Clone, Serialize)]
pub struct Update {
    pub schema: &'static str,
    /// Unix time in milliseconds when the run finished.
    pub time_ms: i64,
    /// Paths the watcher reported (relative to the root, at most 20).
    pub paths: Vec<String>,
    pub added: usize,
    pub changed: usize,
    pub deleted: usize,
    pub parsed: usize,
    /// From the end of the burst (the last event) to the index committed.
    pub latency_ms: f64,
    /// The index run alone.
    pub index_ms: f64,
    pub files: usize,
}

/// Errors starting the watcher.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot watch {path}: {source}\nhint: on Linux, raise fs.inotify.max_user_watches (sysctl) for large trees"
    )]
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
}

/// Whether a changed path should start an index run.
pub struct Filter {
    root: PathBuf,
    ignore: ignore::gitignore::Gitignore,
}

impl Filter {
    pub fn new(root: &Path, config: &Config) -> Filter {
        let mut b = ignore::gitignore::GitignoreBuilder::new(root);
        for name in [".gitignore", ".ignore", ".vibeignore"] {
            let p = root.join(name);
            if p.exists() {
                let _ = b.add(p);
            }
        }
        for pat in &config.map.exclude {
            let _ = b.add_line(None, pat);
        }
        Filter {
            root: root.to_path_buf(),
            ignore: b
                .build()
                .unwrap_or_else(|_| ignore::gitignore::Gitignore::empty()),
        }
    }

    /// The path relative to the root, if it matters.
    pub fn relevant(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        // Hidden entries are not indexed (the walk skips them), .git and .vibe included.
        if rel.as_os_str().is_empty()
            || rel
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        {
            return None;
        }
        let is_dir = path.is_dir();
        if self
            .ignore
            .matched_path_or_any_parents(rel, is_dir)
            .is_ignore()
        {
            return None;
        }
        Some(rel.to_string_lossy().replace('\\', "/"))
    }
}

fn interesting(kind: &EventKind) -> bool {
    // Opening and closing a file (notify reports them on Linux) changes nothing.
    !matches!(kind, EventKind::Access(_) | EventKind::Other)
}

/// Watches `root`: once the watcher is registered, brings the index up to date and calls
/// `on_ready` with its file count (a change made before that is in the index, one made after
/// is seen by the watcher); then calls `on_update` after each index run, until `stop` says so
/// (checked between bursts) or the watcher fails.
pub fn watch(
    root: &Path,
    config: &Config,
    stop: &dyn Fn() -> bool,
    on_ready: &mut dyn FnMut(usize),
    on_update: &mut dyn FnMut(anyhow::Result<Update>),
) -> anyhow::Result<()> {
    let (tx, rx) = channel();
    let mut watcher = notify::recommended_watcher(move |res| {
        let _ = tx.send(res);
    })
    .map_err(|source| Error::Watch {
        path: root.to_path_buf(),
        source,
    })?;
    watcher
        .watch(root, RecursiveMode::Recursive)
        .map_err(|source| Error::Watch {
            path: root.to_path_buf(),
            source,
        })?;
    let filter = Filter::new(root, config);
    let opts = crate::repomap::Options { progress: false };
    let (_, first) = crate::repomap::index(root, config, &opts)?;
    on_ready(first.files_seen);
    while !stop() {
        let Some((paths, last_event)) = burst(&rx, &filter, stop)? else {
            continue;
        };
        let t = Instant::now();
        let result = crate::repomap::index(root, config, &opts)
            .map(|(_, r)| Update {
                schema: "vibe.watch/1",
                time_ms: crate::store::unix_ms(std::time::SystemTime::now()),
                paths: paths.iter().take(20).cloned().collect(),
                added: r.added,
                changed: r.changed,
                deleted: r.deleted,
                parsed: r.parsed,
                latency_ms: last_event.elapsed().as_secs_f64() * 1000.0,
                index_ms: t.elapsed().as_secs_f64() * 1000.0,
                files: r.files_seen,
            })
            .map_err(anyhow::Error::from);
        on_update(result);
    }
    Ok(())
}

/// Waits for relevant events and their burst to go quiet; `None` on a timeout tick (to check
/// `stop`), or the paths seen and when the last one came.
#[allow(clippy::type_complexity)]
fn burst(
    rx: &Receiver<notify::Result<notify::Event>>,
    filter: &Filter,
    stop: &dyn Fn() -> bool,
) -> anyhow::Result<Option<(Vec<String>, Instant)>> {
    let mut paths: Vec<String> = Vec::new();
    let mut first: Option<Instant> = None;
    let mut last = Instant::now();
    loop {
        let wait = match first {
            None => Duration::from_millis(200),
            Some(f) => DEBOUNCE.min(MAX_WAIT.saturating_sub(f.elapsed())),
        };
        match rx.recv_timeout(wait) {
            Ok(Ok(ev)) => {
                if !interesting(&ev.kind) {
                    continue;
                }
                for p in &ev.paths {
                    if let Some(rel) = filter.relevant(p) {
                        if !paths.contains(&rel) {
                            paths.push(rel);
                        }
                        first.get_or_insert_with(Instant::now);
                        last = Instant::now();
                    }
                }
            }
            Ok(Err(e)) => {
                // An overflow of the kernel's queue loses events: a full run finds every
                // change anyway.
                tracing::warn!("watcher: {e}; rescanning");
                first.get_or_insert_with(Instant::now);
                last = Instant::now();
            }
            Err(RecvTimeoutError::Timeout) => match first {
                None => {
                    if stop() {
                        return Ok(None);
                    }
                }
                Some(_) => return Ok(Some((paths, last))),
            },
            Err(RecvTimeoutError::Disconnected) => {
                anyhow::bail!("the file watcher stopped");
            }
        }
        if let Some(f) = first
            && f.elapsed() >= MAX_WAIT
        {
            return Ok(Some((paths, last)));
        }
    }
}

/// Keeps the index of `root` fresh on a background thread (for `vibe chat`) until the handle
/// is dropped.
pub struct Background {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    pub fn start(root: PathBuf, config: Config) -> Background {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let result = watch(
                &root,
                &config,
                &|| flag.load(Ordering::Relaxed),
                &mut |_| {},
                &mut |u| {
                    if let Err(e) = u {
                        tracing::warn!("live index: {}", crate::error_chain(e.as_ref()));
                    }
                },
            );
            if let Err(e) = result {
                tracing::warn!("live index stopped: {}", crate::error_chain(e.as_ref()));
            }
        });
        Background {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
