//! What goes into a chat session ([`Op`]) and what comes out ([`Event`]). The TUI and the
//! script modes (`vibe chat -m`, `--json`, `--jsonl`) drive a session with the same operations
//! and consume the same events; `--jsonl` prints each event as one JSON object per line
//! (`{"type": "delta", ...}`), so these shapes are a documented interface (docs/chat.md).

use serde::Serialize;

use crate::llm::Usage;

/// An operation for the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// A user message: one turn (context packed, the model streams, edits become proposals).
    Message { text: String },
    /// A slash command without its slash: `add`, `drop`, `files`, `map`, `context`, `ask`
    /// (a turn whose answer may not edit), `heal`, `undo`, `diff`, `cost`, `tokens`, `model`,
    /// `clear`, `help`. (`quit` is the front end's.)
    Command { name: String, args: String },
    /// Accept or reject one edit proposal.
    Decide { proposal: u64, accept: bool },
    /// Stop the streaming answer (or a running heal); the session goes on.
    Cancel,
    /// End the session (history is already saved after each turn).
    Quit,
}

/// How an event should be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
}

/// A file in the packed context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextFile {
    pub path: String,
    /// `full`, `partial`, `skeleton`, `map`, or `added` (added by the user with /add).
    pub included: String,
    pub tokens: usize,
}

/// One message of a resumed session's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryMessage {
    /// `user` or `assistant`.
    pub role: String,
    pub text: String,
}

/// Everything a session reports, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The session is ready (new or resumed).
    Started {
        session: String,
        provider: String,
        model: String,
        /// Context tokens per turn.
        context_budget: usize,
        /// Turns already in the history (a resumed session).
        turns: usize,
    },
    /// Right after `Started` when a session is resumed: its earlier conversation (the
    /// messages still in its window, oldest first) for the front end to show, and its cost so
    /// far.
    Resumed {
        /// Earlier messages no longer in the window (summarised, or cleared).
        earlier: usize,
        messages: Vec<HistoryMessage>,
        session_cost_usd: f64,
    },
    /// A user message starts turn `turn`.
    TurnStarted {
        turn: u64,
        text: String,
    },
    /// The context sent with this turn.
    Context {
        turn: u64,
        budget: usize,
        used_tokens: usize,
        files: Vec<ContextFile>,
    },
    /// A piece of the answer, as it streams.
    Delta {
        turn: u64,
        text: String,
    },
    /// An edit the answer proposes for one file, as a unified diff, waiting for a decision.
    Proposal {
        id: u64,
        turn: u64,
        path: String,
        diff: String,
        new_file: bool,
    },
    /// An edit block that could not be used (no match, outside the repository, ...).
    EditError {
        turn: u64,
        path: String,
        message: String,
    },
    /// Accepted proposals written (with a backup run for /undo).
    Applied {
        proposals: Vec<u64>,
        paths: Vec<String>,
        run_id: String,
    },
    Rejected {
        proposal: u64,
    },
    /// Validation of written files (the heal validators), and its outcome.
    Validated {
        paths: Vec<String>,
        passed: bool,
        /// `stage: N error(s)` or `every stage passes`.
        summary: String,
    },
    /// A heal started (on /heal, or after a failed validation when `auto_heal` is on).
    HealStarted {
        paths: Vec<String>,
    },
    /// Progress of a heal (one line per attempt).
    HealProgress {
        text: String,
    },
    HealFinished {
        paths: Vec<String>,
        healed: bool,
        written: bool,
        attempts: usize,
        summary: String,
    },
    /// Usage and cost of one request, and the session's total.
    Usage {
        turn: u64,
        provider: String,
        model: String,
        usage: Usage,
        cost_usd: f64,
        priced: bool,
        session_cost_usd: f64,
        /// Spend against the tightest budget, if any: (spent, limit) in USD.
        budget: Option<(f64, f64)>,
    },
    /// The answer is complete.
    TurnFinished {
        turn: u64,
        text: String,
    },
    /// The output of a slash command (`/files`, `/cost`, `/help`, ...), as text.
    Output {
        command: String,
        text: String,
    },
    /// Something the user should know (a soft budget threshold, a summarised history, ...).
    Notice {
        level: Level,
        text: String,
    },
    /// A turn or command failed; the session goes on.
    Error {
        text: String,
    },
    /// `/name` is neither a command nor a plugin command (after the `Error` that lists the
    /// commands); the script mode exits 2 on it, the TUI puts the text back for fixing.
    UnknownCommand {
        name: String,
    },
    /// The turn's request was refused by a budget (after the `Error` that says which); the
    /// script mode exits 3 on it.
    BudgetRefused {
        turn: u64,
    },
    /// The streaming answer was cancelled.
    Cancelled {
        turn: u64,
    },
    /// The model changed (/model).
    ModelChanged {
        provider: String,
        model: String,
    },
    /// History was cleared (/clear).
    Cleared,
    /// The session ended.
    Ended {
        session: String,
    },
}
