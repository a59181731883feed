//! One conversation: history, turns, edit proposals, heal, events out. The TUI (`src/tui/`) and
//! the script modes of `vibe chat` consume the same [`Event`]s. See docs/chat.md.
//!
//! [`spawn`] starts a session on its own thread with its own current-thread tokio runtime; the
//! front end sends [`Op`]s and polls [`Event`]s. Invariant: a turn is saved (both of its
//! messages) only once its answer is complete; a cancelled or failed turn leaves the history as
//! it was.

mod core;
pub mod events;
pub mod history;

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde::Serialize;

use crate::config::Config;
use crate::store::Store;

pub use self::core::{COMMANDS, round_usd};
pub use events::{ContextFile, Event, HistoryMessage, Level, Op};

/// How a session starts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The model spec (PROVIDER/MODEL, PROVIDER, an alias); `None`: the resumed session's, else
    /// `llm.model`.
    pub model: Option<String>,
    /// Resume a session: `Some("")` the last one, `Some(id)` that one.
    pub resume: Option<String>,
    /// Accept every proposal without asking (scripts with `--yes`).
    pub yes: bool,
    /// Send requests even past a hard budget limit.
    pub allow_over_budget: bool,
    /// The answer's deltas reach nobody as they come (`vibe chat -m --json` prints the turn's
    /// text at its end): a stream that breaks after some of them is retried, as one that
    /// broke before any.
    pub deltas_unseen: bool,
}

/// What a started session is (also sent as [`Event::Started`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Started {
    pub session: String,
    pub provider: String,
    pub model: String,
    /// Context tokens per turn (`chat.context_budget`).
    pub context_budget: usize,
    /// User turns already in the history (a resumed session).
    pub turns: usize,
}

/// A running session.
pub struct Handle {
    pub ops: mpsc::Sender<Op>,
    pub events: mpsc::Receiver<Event>,
    pub info: Started,
    /// The session thread; it ends after `Op::Quit` (or when `ops` is dropped).
    pub thread: std::thread::JoinHandle<()>,
}

/// One saved session, as `vibe chat --list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionInfo {
    pub id: String,
    /// RFC 3339, UTC.
    pub started: String,
    pub updated: String,
    /// User turns.
    pub turns: usize,
    /// The first user message (its first line, at most 80 characters).
    pub title: String,
    pub model: String,
    pub cost_usd: f64,
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn open_store(root: &Path) -> anyhow::Result<Store> {
    Ok(Store::open(root, &mut |w| tracing::warn!("{w}"))?)
}

/// The saved sessions of the repository at `root`, the most recently updated first.
pub fn list(root: &Path) -> anyhow::Result<Vec<SessionInfo>> {
    Ok(open_store(root)?
        .sessions()?
        .into_iter()
        .map(|s| SessionInfo {
            started: rfc3339(s.created_ms),
            updated: rfc3339(s.updated_ms),
            turns: s.messages.div_ceil(2),
            id: s.id,
            title: s.title,
            model: s.model,
            cost_usd: s.cost_usd,
        })
        .collect())
}

/// The session `resume` names (`Some("")`: the last one with a turn), or a usage error.
fn resumed(
    store: &Store,
    resume: Option<&str>,
) -> anyhow::Result<Option<crate::store::sessions::SessionState>> {
    let Some(id) = resume else { return Ok(None) };
    let want = (!id.is_empty()).then_some(id);
    Ok(Some(store.load_session(want)?.ok_or_else(|| {
        crate::cli::UsageError {
            message: match want {
                Some(id) => format!(
                    "no chat session `{id}` in this repository\nhint: vibe chat --list shows them"
                ),
                None => {
                    "no chat session to resume in this repository\nhint: start one with vibe chat"
                        .into()
                }
            },
        }
    })?))
}

/// Checks that the session `resume` names exists (the error [`spawn`] would give), before a
/// front end reads a message for it.
pub fn check_resume(root: &Path, resume: Option<&str>) -> anyhow::Result<()> {
    if resume.is_none() {
        return Ok(());
    }
    resumed(&open_store(root)?, resume).map(|_| ())
}

/// Starts a session on its own thread. Setup errors (a bad model spec, an unknown session to
/// resume, an unreadable index or ledger) are returned here; later errors arrive as
/// [`Event::Error`] and the session goes on.
pub fn spawn(root: PathBuf, config: Config, opts: Options) -> anyhow::Result<Handle> {
    let store = open_store(&root)?;
    let resumed = resumed(&store, opts.resume.as_deref())?;
    let id = match &resumed {
        Some(s) => s.row.id.clone(),
        None => crate::cost::new_session_id(),
    };
    let spec = opts
        .model
        .clone()
        .or_else(|| resumed.as_ref().map(|s| s.row.model.clone()));
    let models = core::Models::new(&config, &root, spec.as_deref(), &id, &opts)?;
    if resumed.is_none() {
        store.create_session(
            &id,
            &format!("{}/{}", models.provider, models.model),
            core::now_ms(),
        )?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (op_tx, op_rx) = mpsc::channel::<Op>();
    let (fwd_tx, fwd_rx) = tokio::sync::mpsc::unbounded_channel();
    let scope = crate::heal::tools::InterruptScope::default();
    let cancel = scope.clone();
    // The front end's std channel, bridged so that the session can wait on it and on a model
    // stream at once. A Cancel also stops a running validator or plugin here, at once: the
    // session thread is inside it and reads no op until it ends.
    std::thread::Builder::new()
        .name("vibe-session-ops".into())
        .spawn(move || {
            while let Ok(op) = op_rx.recv() {
                if matches!(op, Op::Cancel) {
                    cancel.interrupt();
                }
                if fwd_tx.send(op).is_err() {
                    break;
                }
            }
        })?;
    let (ev_tx, ev_rx) = mpsc::channel();
    let link = core::Link {
        rt,
        rx: fwd_rx,
        pending: Default::default(),
        events: ev_tx,
        quit: false,
        session: id.clone(),
        session_cost: 0.0,
        deltas_unseen: opts.deltas_unseen,
        budget: crate::cost::Budget::from_config(&config.budget),
        ledger: crate::cost::Ledger::open_default().ok(),
    };
    let core = core::Core::new(root, config, opts, id, store, models, link, resumed);
    let info = core.started();
    let thread = std::thread::Builder::new()
        .name("vibe-session".into())
        .spawn(move || {
            scope.enter();
            core.run()
        })?;
    Ok(Handle {
        ops: op_tx,
        events: ev_rx,
        info,
        thread,
    })
}
