//! The session thread: takes [`Op`]s in order, runs turns, commands, decisions and heals, and
//! sends [`Event`]s. A model call runs on the session's own current-thread runtime while the op
//! channel is watched, so a `Cancel` stops the stream at once and other ops wait their turn.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::config::{Config, EditFormat};
use crate::context::{self, tokens::Encoding};
use crate::cost::{Budget, Ledger, Limit, Spend};
use crate::edit::{self, FileChange};
use crate::heal;
use crate::llm::{self, Message, Request, client};
use crate::store::Store;
use crate::store::sessions::TurnRow;

use super::history;
use super::{ContextFile, Event, Level, Op, Options, Started};

const SYSTEM: &str = "You are vibe, a coding assistant working with a developer in their \
repository, in a terminal chat. Each message comes with excerpts of the files most relevant to \
it (full files, partial files with line ranges, signatures with bodies elided, one-line \
summaries) and the files the user added in full. Answer from them, name the files (path:line) \
you rely on, and say so when they do not show the answer rather than guessing. Be concise.";

const EDITS: &str = "When the user asks for a change, make it with edit blocks; each file's \
edit is shown to the user as a diff to accept or reject, then validated (syntax, compiler, \
linter, tests).";

const WHOLE_FILES: &str = "To change a file shown in full, reply with its path alone on a \
line, then the whole new file in a fenced block, changing nothing else. Files shown only in part \
cannot be changed this way: ask the user to add them with /add.";

const ASK_ONLY: &str = "This message is a question only: answer it, and do not propose edits.";

/// The slash commands, for /help and the error on an unknown one.
pub const COMMANDS: &[(&str, &str)] = &[
    ("add PATH…", "add files to every message's context, in full"),
    ("drop [PATH…]", "drop added files (all without a path)"),
    ("files", "the added files and the last context, with tokens"),
    ("map", "the repository map"),
    ("context TASK", "what would be packed for TASK"),
    ("ask TEXT", "a question whose answer proposes no edits"),
    (
        "heal [FILE…]",
        "heal files (default: written files that fail validation)",
    ),
    ("undo", "put back the files of the session's last edit run"),
    (
        "diff",
        "the pending proposals' diff, else the last applied run's",
    ),
    ("cost", "this session's cost, today's, and the budgets"),
    (
        "tokens",
        "history, context and added files vs the context window",
    ),
    ("model [SPEC]", "show or switch the model"),
    ("clear", "forget the conversation (added files stay)"),
    ("help", "this list"),
];

/// Tokens of the map shown by /map.
const MAP_TOKENS: usize = 1024;

pub(crate) fn now_ms() -> i64 {
    crate::store::unix_ms(std::time::SystemTime::now())
}

/// The models of the session: one client for chat (ledger operation `chat`) and one for heals
/// (operation `heal`), both recording under the session's id.
pub(super) struct Models {
    pub chat: llm::Client,
    pub heal: llm::Client,
    pub provider: String,
    pub model: String,
    pub window: usize,
    pub encoding: Encoding,
}

impl Models {
    pub fn new(
        config: &Config,
        root: &std::path::Path,
        spec: Option<&str>,
        session: &str,
        opts: &Options,
    ) -> anyhow::Result<Models> {
        let chain = llm::providers::chain(config, spec)?;
        let policy = client::Policy::from_config(&config.llm)?;
        let meter = |operation: &str| -> anyhow::Result<Arc<crate::cost::meter::LedgerMeter>> {
            Ok(Arc::new(
                crate::cost::meter::LedgerMeter::for_command(
                    config,
                    Some(root),
                    operation,
                    crate::cost::meter::Limits {
                        allow_over: opts.allow_over_budget,
                        ..Default::default()
                    },
                )?
                .with_session(session),
            ))
        };
        let primary = chain[0].clone();
        Ok(Models {
            chat: llm::Client::new(chain.clone(), policy.clone(), meter("chat")?)?,
            heal: llm::Client::new(chain, policy, meter("heal")?)?,
            provider: primary.provider.clone(),
            model: primary.model.clone(),
            window: primary.context_window as usize,
            encoding: Encoding::for_model(&primary.model),
        })
    }

    fn label(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }
}

/// The op channel and the event channel, and what a model call needs around them.
pub(super) struct Link {
    pub rt: tokio::runtime::Runtime,
    pub rx: UnboundedReceiver<Op>,
    /// Ops that arrived while a model call ran, handled after it.
    pub pending: VecDeque<Op>,
    pub events: Sender<Event>,
    /// The front end went away during a call.
    pub quit: bool,
    pub session: String,
    pub session_cost: f64,
    pub budget: Budget,
    pub ledger: Option<Ledger>,
    /// See [`super::Options::deltas_unseen`].
    pub deltas_unseen: bool,
}

impl Link {
    pub fn emit(&self, e: Event) {
        // The front end may be gone; the session still finishes what it does and saves.
        let _ = self.events.send(e);
    }

    /// The next op: one that waited, else the next from the channel (`None`: the front end is
    /// gone).
    fn next_op(&mut self) -> Option<Op> {
        if let Some(op) = self.pending.pop_front() {
            return Some(op);
        }
        if self.quit {
            return None;
        }
        self.rt.block_on(self.rx.recv())
    }

    /// One model call, cancellable by `Op::Cancel` while it runs; streams `Delta`s when
    /// `stream`, and sends `Usage` after it (and the soft-budget notes).
    pub fn call(
        &mut self,
        client: &llm::Client,
        req: &Request,
        turn: u64,
        stream: bool,
    ) -> Result<llm::Outcome, llm::Error> {
        // A Cancel that came while the call was being prepared (the context packed, the
        // history summarised, a file validated): nothing more is sent, nothing paid for.
        let mut cancelled = false;
        loop {
            match self.rx.try_recv() {
                Ok(Op::Cancel) => cancelled = true,
                Ok(op) => self.pending.push_back(op),
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                    // The front end is gone: nobody would read the answer.
                    cancelled |= !self.quit;
                    self.quit = true;
                    break;
                }
            }
        }
        if cancelled {
            return Err(llm::Error::Cancelled);
        }
        let cancel = client::Cancel::default();
        let started_ms = crate::store::unix_ms(std::time::SystemTime::now());
        let events = self.events.clone();
        let seen = !self.deltas_unseen;
        let mut on_event = move |e: &llm::Event| {
            if let llm::Event::Text { text } = e
                && stream
            {
                let _ = events.send(Event::Delta {
                    turn,
                    text: text.clone(),
                });
                return seen;
            }
            false
        };
        let (rx, pending, quit) = (&mut self.rx, &mut self.pending, &mut self.quit);
        let result = self.rt.block_on(async {
            let run = client.run(req, &cancel, &mut on_event);
            tokio::pin!(run);
            let mut open = !*quit;
            loop {
                tokio::select! {
                    r = &mut run => return r,
                    op = rx.recv(), if open => match op {
                        Some(Op::Cancel) => cancel.cancel(),
                        // The front end is gone: nobody reads the answer.
                        None => {
                            *quit = true;
                            open = false;
                            cancel.cancel();
                        }
                        // Quit too waits: the turn finishes and is saved first.
                        Some(op) => pending.push_back(op),
                    },
                }
            }
        });
        // What the ledger recorded for this session, failed and retried attempts included
        // (the outcome holds only the attempt that answered).
        let recorded = self
            .ledger
            .as_ref()
            .and_then(|l| l.session_spent(&self.session).ok());
        {
            // Attempts that broke, were cancelled or were retried may still be paid for: each
            // is said, from what the ledger holds (the answering one follows below).
            let mut rows = Vec::new();
            if let Some(l) = &self.ledger {
                let filter = crate::store::ledger::Filter {
                    from_ms: Some(started_ms),
                    project: None,
                };
                let _ = l.scan(&filter, &mut |r| {
                    if r.session == self.session
                        && r.outcome != "ok"
                        && (r.cost_usd > 0.0 || r.tokens.input + r.tokens.output > 0)
                    {
                        rows.push(r)
                    }
                });
            }
            for r in rows {
                self.session_cost += r.cost_usd;
                self.emit(Event::Usage {
                    turn,
                    provider: r.provider,
                    model: r.model,
                    usage: llm::Usage {
                        input_tokens: r.tokens.input,
                        output_tokens: r.tokens.output,
                        cached_tokens: r.tokens.cached,
                        estimated: r.estimated,
                    },
                    cost_usd: round_usd(r.cost_usd),
                    priced: r.priced,
                    session_cost_usd: round_usd(recorded.unwrap_or(self.session_cost)),
                    budget: self.tightest(),
                });
            }
        }
        if let Some(total) = recorded {
            self.session_cost = total;
        }
        if let Ok(o) = &result {
            if recorded.is_none() {
                self.session_cost += o.cost_usd;
            }
            for n in &o.notes {
                self.emit(Event::Notice {
                    level: Level::Warning,
                    text: n.clone(),
                });
            }
            self.emit(Event::Usage {
                turn,
                provider: o.provider.clone(),
                model: o.model.clone(),
                usage: o.usage,
                cost_usd: round_usd(o.cost_usd),
                priced: o.priced,
                session_cost_usd: round_usd(self.session_cost),
                budget: self.tightest(),
            });
        }
        result
    }

    fn spend(&self) -> Option<Spend> {
        let ledger = self.ledger.as_ref()?;
        Spend::read(ledger, &self.session, &crate::cost::Clock::system()).ok()
    }

    /// The budget with the largest share spent, as (spent, limit).
    fn tightest(&self) -> Option<(f64, f64)> {
        self.budget.limits().next()?;
        let spend = self.spend()?;
        self.budget
            .limits()
            .map(|(l, limit)| (spent_on(&spend, l), limit))
            .max_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)))
    }
}

/// A sum of dollar amounts without the float noise of the sum (0.0022500000000000003):
/// to the nano-dollar, far below any price.
pub fn round_usd(v: f64) -> f64 {
    (v * 1e9).round() / 1e9
}

fn spent_on(s: &Spend, l: Limit) -> f64 {
    match l {
        Limit::Daily => s.today,
        Limit::Monthly => s.month,
        Limit::Session => s.session,
    }
}

/// One message in the live window, with its token count.
struct Held {
    row: TurnRow,
    tokens: usize,
}

/// An edit proposal waiting for a decision.
struct Proposal {
    id: u64,
    change: FileChange,
    diff: String,
    decision: Option<bool>,
}

/// A file added with /add.
struct Added {
    path: String,
    block: String,
    tokens: usize,
}

pub(super) struct Core {
    pub root: PathBuf,
    pub config: Config,
    pub opts: Options,
    pub id: String,
    pub store: Store,
    pub models: Models,
    pub link: Link,
    /// Stands for the messages before `window_start`.
    pub summary: String,
    pub window_start: usize,
    /// Every message of the session (user and assistant).
    pub messages: usize,
    window: VecDeque<Held>,
    /// User turns so far.
    pub turn: u64,
    added: Vec<String>,
    last_context: Vec<ContextFile>,
    proposals: Vec<Proposal>,
    next_proposal: u64,
    pub runs: Vec<String>,
    last_diff: String,
    /// Written files whose last validation failed, with their text before the session's edit
    /// that made them fail (`None`: created by it), for `/heal`: what its candidates are
    /// compared with.
    failing: BTreeMap<String, Option<String>>,
    /// Edits are asked for as whole files (`chat.edit_format`).
    whole_files: bool,
}

impl Core {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        root: PathBuf,
        config: Config,
        opts: Options,
        id: String,
        store: Store,
        models: Models,
        link: Link,
        resumed: Option<crate::store::sessions::SessionState>,
    ) -> Core {
        let mut core = Core {
            root,
            config,
            opts,
            id,
            store,
            models,
            link,
            summary: String::new(),
            window_start: 0,
            messages: 0,
            window: VecDeque::new(),
            turn: 0,
            added: vec![],
            last_context: vec![],
            proposals: vec![],
            next_proposal: 1,
            runs: vec![],
            last_diff: String::new(),
            whole_files: false,
            failing: BTreeMap::new(),
        };
        if let Some(s) = resumed {
            core.summary = s.summary;
            core.window_start = s.window_start;
            core.messages = s.row.messages;
            core.turn = (s.row.messages as u64).div_ceil(2);
            core.runs = s.runs;
            core.link.session_cost = s.row.cost_usd;
            for row in s.window {
                let tokens = core.models.encoding.count(&row.text);
                core.window.push_back(Held { row, tokens });
            }
        }
        core
    }

    pub fn started(&self) -> Started {
        Started {
            session: self.id.clone(),
            provider: self.models.provider.clone(),
            model: self.models.model.clone(),
            context_budget: self.config.chat.context_budget,
            turns: self.turn as usize,
        }
    }

    fn emit(&self, e: Event) {
        self.link.emit(e);
    }

    fn error(&self, text: impl Into<String>) {
        self.emit(Event::Error { text: text.into() });
    }

    fn notice(&self, level: Level, text: impl Into<String>) {
        self.emit(Event::Notice {
            level,
            text: text.into(),
        });
    }

    /// Handles ops until `Quit` or the front end is gone.
    pub fn run(mut self) {
        let s = self.started();
        self.emit(Event::Started {
            session: s.session,
            provider: s.provider,
            model: s.model,
            context_budget: s.context_budget,
            turns: s.turns,
        });
        if self.messages > 0 {
            // What the ledger holds for the session (heals included), else its answers' sum.
            let spent = self
                .link
                .ledger
                .as_ref()
                .and_then(|l| l.session_spent(&self.id).ok())
                .unwrap_or(0.0);
            self.link.session_cost = self.link.session_cost.max(spent);
            self.emit(Event::Resumed {
                earlier: self.window_start,
                messages: self
                    .window
                    .iter()
                    .map(|h| super::HistoryMessage {
                        role: h.row.role.clone(),
                        text: h.row.text.clone(),
                    })
                    .collect(),
                session_cost_usd: round_usd(self.link.session_cost),
            });
        }
        while let Some(op) = self.link.next_op() {
            match op {
                Op::Message { text } => self.turn_op(&text, true),
                Op::Command { name, args } => self.command(&name, &args),
                Op::Decide { proposal, accept } => self.decide(proposal, accept),
                // Nothing is running: there is nothing to stop.
                Op::Cancel => {}
                Op::Quit => break,
            }
        }
        // A session left before its first turn holds nothing to list or resume.
        self.follow_store();
        if let Err(e) = self.store.forget_if_empty(&self.id) {
            tracing::debug!("forgetting the empty session {}: {e}", self.id);
        }
        self.emit(Event::Ended {
            session: self.id.clone(),
        });
    }

    /// The index brought up to date (a turn sees the edits written before it).
    fn index(&self) -> anyhow::Result<Store> {
        let (store, report) = crate::repomap::index(
            &self.root,
            &self.config,
            &crate::repomap::Options::default(),
        )?;
        for w in report.warnings {
            tracing::warn!("{w}");
        }
        Ok(store)
    }

    fn added_files(&self) -> Vec<Added> {
        let mut out = vec![];
        for path in &self.added {
            match std::fs::read_to_string(self.root.join(path)) {
                Ok(text) => {
                    let block = context::pack::full_block(
                        path,
                        context::pack::fence_language(None, path),
                        &text,
                    );
                    let tokens = self.models.encoding.count(&block);
                    out.push(Added {
                        path: path.clone(),
                        block,
                        tokens,
                    });
                }
                Err(e) => self.notice(Level::Warning, format!("{path}: not read: {e}")),
            }
        }
        out
    }

    fn system_prompt(&self, edits: bool) -> String {
        let mut s = SYSTEM.to_string();
        if edits {
            s.push_str("\n\n");
            s.push_str(EDITS);
            s.push_str("\n\n");
            if self.whole_files || self.config.chat.edit_format == EditFormat::Whole {
                s.push_str(WHOLE_FILES);
            } else {
                s.push_str(edit::FORMAT_PROMPT);
            }
        } else {
            s.push_str("\n\n");
            s.push_str(ASK_ONLY);
        }
        if !self.summary.is_empty() {
            s.push_str("\n\nSummary of the conversation so far (older messages):\n");
            s.push_str(&self.summary);
        }
        s
    }

    fn history_tokens(&self) -> usize {
        self.window.iter().map(|h| h.tokens).sum::<usize>()
            + self.models.encoding.count(&self.summary)
    }

    /// Keeps the history within its share of the window: folds the oldest messages into the
    /// summary (a model call), or drops them if that fails.
    fn fit_history(&mut self, turn: u64) -> bool {
        let budget = history::history_budget(
            self.models.window,
            self.config.chat.context_budget,
            self.config.llm.max_tokens as usize,
            self.config.chat.history_share,
        );
        let tokens: Vec<usize> = self.window.iter().map(|h| h.tokens).collect();
        let summary_tokens = self.models.encoding.count(&self.summary);
        let n = history::to_fold(&tokens, summary_tokens, budget);
        if n == 0 {
            return true;
        }
        let folded: Vec<(&str, &str)> = self
            .window
            .iter()
            .take(n)
            .map(|h| (h.row.role.as_str(), h.row.text.as_str()))
            .collect();
        let max_tokens = (budget / 4).clamp(16, self.config.llm.max_tokens.max(16) as usize);
        // Characters of transcript that fit: ~3 per token, the answer and a margin left out.
        let room = self.models.window.saturating_sub(max_tokens + 300) * 3;
        let req = history::summary_request(
            &self.models.model,
            &self.summary,
            &folded,
            room,
            max_tokens as u32,
        );
        let chat = self.models.chat.clone();
        let outcome = self.link.call(&chat, &req, turn, false);
        match &outcome {
            Err(llm::Error::Cancelled) => {
                self.emit(Event::Cancelled { turn });
                return false;
            }
            // A budget refused the summary: the turn's own request would be refused too, and
            // dropping the history for it would lose it for nothing. Nothing is dropped.
            Err(e @ llm::Error::Refused(_)) => {
                self.error(format!(
                    "summarising the history: {}",
                    crate::error_chain(e)
                ));
                self.emit(Event::BudgetRefused { turn });
                return false;
            }
            _ => {}
        }
        self.window.drain(..n);
        self.window_start += n;
        match outcome {
            Ok(o) if !o.text.trim().is_empty() => {
                self.summary = o.text.trim().to_string();
                // A summary longer than it was asked to be must not push the history out again.
                if self.models.encoding.count(&self.summary) > budget / 2 {
                    let keep = (budget / 2) * 3;
                    self.summary = self.summary.chars().take(keep).collect();
                }
                self.notice(
                    Level::Info,
                    format!("the {n} oldest messages were summarised to keep the history within its share of the context window"),
                );
            }
            Ok(_) | Err(_) => {
                let why = match outcome {
                    Err(e) => crate::error_chain(&e),
                    Ok(_) => "the summary was empty".into(),
                };
                if self.models.encoding.count(&self.summary) > budget / 2 {
                    self.summary.clear();
                }
                self.notice(
                    Level::Warning,
                    format!("the {n} oldest messages were dropped from the history (summarising them failed: {})", why.lines().next().unwrap_or_default()),
                );
            }
        }
        let (summary, start) = (self.summary.clone(), self.window_start);
        self.save(|store, id| store.set_session_window(id, &summary, start));
        true
    }

    /// A user message (or /ask): context, the answer streamed, then proposals.
    fn turn_op(&mut self, text: &str, edits: bool) {
        let text = text.trim();
        if text.is_empty() {
            self.error("the message is empty");
            return;
        }
        self.turn += 1;
        let turn = self.turn;
        self.emit(Event::TurnStarted {
            turn,
            text: text.to_string(),
        });
        if !self.fit_history(turn) || self.link.quit {
            return;
        }
        let system = self.system_prompt(edits);
        let enc = self.models.encoding;
        let message_tokens = enc.count(text);
        let fixed = enc.count(&system)
            + self.window.iter().map(|h| h.tokens).sum::<usize>()
            + message_tokens;
        let max_tokens = self.config.llm.max_tokens as usize;
        // Sent all the same: the window vibe knows may be smaller than the model's (32,768
        // unless configured), and the provider is the judge.
        if message_tokens + max_tokens > self.models.window {
            self.notice(
                Level::Warning,
                format!(
                    "the message is {message_tokens} tokens: with the answer's llm.max_tokens ({max_tokens}) it does not fit the context window of {} ({} tokens, providers.{}.context_window); the provider may refuse or cut it",
                    self.models.model, self.models.window, self.models.provider
                ),
            );
        }
        let budget = history::context_room(
            self.models.window,
            self.config.chat.context_budget,
            fixed,
            max_tokens,
        );
        // Added files first, in full, while they fit.
        let mut context_text = String::new();
        let mut files = vec![];
        let mut used = 0;
        for a in self.added_files() {
            if used + a.tokens > budget {
                self.notice(
                    Level::Warning,
                    format!(
                        "{} ({} tokens) does not fit in the context budget ({budget} tokens, {used} used by added files): left out",
                        a.path, a.tokens
                    ),
                );
                continue;
            }
            used += a.tokens;
            context_text.push_str(&a.block);
            files.push(ContextFile {
                path: a.path,
                included: "added".into(),
                tokens: a.tokens,
            });
        }
        let rest = budget - used;
        if rest > 0 {
            match self.pack(text, rest) {
                Ok(Some(p)) => {
                    for w in &p.warnings {
                        self.notice(Level::Warning, w.clone());
                    }
                    used += p.used_tokens;
                    context_text.push_str(&p.context);
                    files.extend(context_files(&p));
                }
                Ok(None) => {}
                Err(e) => {
                    self.error(format!(
                        "packing the context: {}",
                        crate::error_chain(e.as_ref())
                    ));
                    return;
                }
            }
        }
        self.last_context = files.clone();
        self.emit(Event::Context {
            turn,
            budget,
            used_tokens: used,
            files,
        });
        let mut messages: Vec<Message> = self
            .window
            .iter()
            .map(|h| match h.row.role.as_str() {
                "assistant" => Message::assistant(h.row.text.clone()),
                _ => Message::user(h.row.text.clone()),
            })
            .collect();
        let prompt = if context_text.is_empty() {
            text.to_string()
        } else {
            format!("<context>\n{context_text}</context>\n\n{text}")
        };
        messages.push(Message::user(prompt));
        let req = Request {
            model: self.models.model.clone(),
            system: Some(system),
            messages,
            tools: vec![],
            max_tokens: self.config.llm.max_tokens,
            temperature: self.config.llm.temperature,
            stream: true,
        };
        let chat = self.models.chat.clone();
        let outcome = match self.link.call(&chat, &req, turn, true) {
            Ok(o) => o,
            Err(llm::Error::Cancelled) => {
                self.emit(Event::Cancelled { turn });
                return;
            }
            Err(e) => {
                let refused = matches!(e, llm::Error::Refused(_));
                self.error(crate::error_chain(&e));
                if refused {
                    self.emit(Event::BudgetRefused { turn });
                }
                return;
            }
        };
        if outcome.text.trim().is_empty() {
            // Nothing to show or save; said, so that a script does not take it for an answer.
            let why = if outcome.tool_calls.is_empty() {
                String::new()
            } else {
                let names: Vec<&str> = outcome.tool_calls.iter().map(|c| c.name.as_str()).collect();
                format!(
                    ": it asked to call {} (vibe chat offers the model no tools)",
                    names.join(", ")
                )
            };
            self.error(format!(
                "{} gave no answer{why}; the turn was not saved: ask again, or try another model (--model)",
                self.models.label()
            ));
            return;
        }
        if outcome.stop == llm::StopReason::MaxTokens {
            self.notice(
                Level::Warning,
                format!(
                    "the answer was cut at {} tokens (llm.max_tokens)",
                    self.config.llm.max_tokens
                ),
            );
        }
        let now = now_ms();
        self.remember([
            TurnRow {
                role: "user".into(),
                text: text.to_string(),
                time_ms: now,
                input_tokens: 0,
                output_tokens: 0,
                cost_usd: 0.0,
            },
            TurnRow {
                role: "assistant".into(),
                text: outcome.text.clone(),
                time_ms: now,
                input_tokens: outcome.usage.input_tokens,
                output_tokens: outcome.usage.output_tokens,
                cost_usd: outcome.cost_usd,
            },
        ]);
        self.emit(Event::TurnFinished {
            turn,
            text: outcome.text.clone(),
        });
        if edits {
            self.propose(turn, &outcome.text, outcome.stop.cut_short());
        }
    }

    fn pack(&self, task: &str, budget: usize) -> anyhow::Result<Option<context::Packed>> {
        let store = self.index()?;
        let req = context::Request {
            task,
            budget,
            encoding: self.models.encoding,
            // `/add`ed files are in the prompt already, in full.
            exclude: &self.added,
            history: self.config.context.history,
        };
        match context::build(&self.root, &store, &req) {
            Ok(p) => Ok(Some(p)),
            // A message the loader cannot use (no terms, a budget below one header) packs none.
            Err(e) if e.downcast_ref::<context::Error>().is_some() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Saves a turn (its two messages) after the last message stored. If another process
    /// continued the session since this one read it, the turn goes after that one's turns (it
    /// is never written over them), the window is read again so that the next turn sends them
    /// too, and an error says so.
    fn remember(&mut self, rows: [TurnRow; 2]) {
        self.follow_store();
        let first = match self.store.append_turns(&self.id, &rows) {
            Ok(n) => n,
            Err(e) => {
                self.error(format!("the session was not saved: {e}"));
                self.messages
            }
        };
        if first != self.messages {
            self.error(format!(
                "session {} was continued by another vibe process; this turn was saved after its turns: resume it again to see them (vibe chat --resume {0})",
                self.id
            ));
            if let Ok(Some(s)) = self.store.load_session(Some(&self.id)) {
                self.summary = s.summary;
                self.window_start = s.window_start;
                self.messages = s.row.messages;
                self.window = s
                    .window
                    .into_iter()
                    .map(|row| Held {
                        tokens: self.models.encoding.count(&row.text),
                        row,
                    })
                    .collect();
                return;
            }
        }
        self.messages = first + rows.len();
        for row in rows {
            let tokens = self.models.encoding.count(&row.text);
            self.window.push_back(Held { row, tokens });
        }
    }

    /// Edit blocks of an answer as proposals (one per file), or edit errors.
    fn propose(&mut self, turn: u64, answer: &str, cut: bool) {
        let edits = match edit::parse_answer(answer, cut) {
            Ok((e, dropped)) => {
                if let Some(line) = dropped {
                    self.notice(Level::Warning, edit::cut_off(line));
                }
                e
            }
            Err(edit::ParseError::NoBlocks) => {
                // Small models answer with the whole changed file, fenced after its path: a
                // proposal for a file the model saw whole (added, or packed in full).
                let seen: Vec<String> = self
                    .last_context
                    .iter()
                    .filter(|f| f.included == "added" || f.included == "full")
                    .map(|f| f.path.clone())
                    .collect();
                let rewrites = heal::fix::fenced_rewrites(&self.root, answer, &seen);
                if rewrites.is_empty() {
                    return;
                }
                rewrites
            }
            Err(e) => {
                self.emit(Event::EditError {
                    turn,
                    path: String::new(),
                    message: e.to_string(),
                });
                if self.config.chat.edit_format == EditFormat::Auto && !self.whole_files {
                    self.whole_files = true;
                    self.notice(
                        Level::Info,
                        "the model's edit blocks could not be read: edits are asked for as whole files from now on",
                    );
                }
                return;
            }
        };
        let mut ids = vec![];
        for (path, r) in edit::plan_each(&self.root, &edits) {
            match r {
                Ok(change) => {
                    let diff = edit::unified_diff(&change);
                    if diff.is_empty() {
                        continue;
                    }
                    let id = self.next_proposal;
                    self.next_proposal += 1;
                    // A newer answer for a file that still has a proposal waiting was written
                    // against the file on disk: it replaces the older proposal (both could
                    // not be written, and the older one is no longer what the model means).
                    let older: Vec<u64> = self
                        .proposals
                        .iter()
                        .filter(|p| p.change.rel == change.rel)
                        .map(|p| p.id)
                        .collect();
                    for old in older {
                        self.proposals.retain(|p| p.id != old);
                        self.emit(Event::Rejected { proposal: old });
                        self.notice(
                            Level::Info,
                            format!(
                                "proposal {old} for {} is replaced by proposal {id} (a newer answer)",
                                change.rel
                            ),
                        );
                    }
                    self.emit(Event::Proposal {
                        id,
                        turn,
                        path: change.rel.clone(),
                        diff: diff.clone(),
                        new_file: change.old.is_none(),
                    });
                    self.proposals.push(Proposal {
                        id,
                        change,
                        diff,
                        decision: None,
                    });
                    ids.push(id);
                }
                Err(e) => self.emit(Event::EditError {
                    turn,
                    path,
                    message: e.to_string(),
                }),
            }
        }
        if self.opts.yes {
            for id in ids {
                self.decide(id, true);
            }
        }
    }

    /// A decision on one proposal; once none is left undecided, the accepted ones are written
    /// as one run, validated, and healed if that fails and `auto_heal` is on.
    fn decide(&mut self, id: u64, accept: bool) {
        let Some(p) = self.proposals.iter_mut().find(|p| p.id == id) else {
            self.error(format!("no proposal {id} waits for a decision"));
            return;
        };
        p.decision = Some(accept);
        if !accept {
            self.emit(Event::Rejected { proposal: id });
        }
        if self.proposals.iter().any(|p| p.decision.is_none()) {
            return;
        }
        let decided = std::mem::take(&mut self.proposals);
        let accepted: Vec<Proposal> = decided
            .into_iter()
            .filter(|p| p.decision == Some(true))
            .collect();
        if accepted.is_empty() {
            return;
        }
        let changes: Vec<FileChange> = accepted.iter().map(|p| p.change.clone()).collect();
        let run_id = match edit::commit(&self.root, &changes, "chat") {
            Ok(id) => id,
            Err(e) => {
                self.error(format!(
                    "the edits were not written: {e}\nhint: no file was changed and the proposals are dropped; fix that, then ask for the edits again"
                ));
                return;
            }
        };
        let paths: Vec<String> = changes.iter().map(|c| c.rel.clone()).collect();
        self.last_diff = accepted.iter().map(|p| p.diff.as_str()).collect();
        self.add_run(&run_id);
        self.emit(Event::Applied {
            proposals: accepted.iter().map(|p| p.id).collect(),
            paths: paths.clone(),
            run_id,
        });
        let before: HashMap<String, Option<String>> = changes
            .iter()
            .map(|c| (c.rel.clone(), c.old.clone()))
            .collect();
        if let Some(failed) = self.validate(&paths, &before) {
            if self.config.chat.auto_heal {
                self.heal(&paths, Some(failed), before);
            } else {
                self.notice(
                    Level::Warning,
                    "validation failed: /heal asks the model to fix it (or set chat.auto_heal = true to heal at once)",
                );
            }
        }
    }

    /// Opens the index again if another process set it aside and rebuilt it (a damaged one)
    /// while this session ran: its turns went to the file set aside and were lost. The fresh
    /// index holds the session when the rebuild could carry it over.
    fn follow_store(&mut self) {
        if let Err(e) = self.store.follow() {
            self.error(format!(
                "the index was rebuilt by another vibe process and cannot be opened again: {e}"
            ));
        }
    }

    /// Writes the session's row with `write` (given the store and the session's id), to the
    /// index as it is now (see `follow_store`); a failure is said, and the session goes on.
    fn save(&mut self, write: impl FnOnce(&Store, &str) -> crate::store::Result<()>) {
        self.follow_store();
        if let Err(e) = write(&self.store, &self.id) {
            self.error(format!("the session was not saved: {e}"));
        }
    }

    fn add_run(&mut self, run_id: &str) {
        self.runs.push(run_id.to_string());
        self.save(|store, id| store.session_run(id, Some(run_id), now_ms()));
    }

    /// Validates written files (`before`: their text before the edits); the validation if it
    /// failed.
    fn validate(
        &mut self,
        paths: &[String],
        before: &HashMap<String, Option<String>>,
    ) -> Option<heal::Validation> {
        let texts = before;
        let v = match heal::validate_with(
            &self.root,
            paths,
            &self.config,
            None,
            &heal::Before::Texts(texts),
        ) {
            Ok(v) => v,
            Err(e) if e.is::<heal::Interrupted>() => {
                self.emit(Event::Cancelled { turn: self.turn });
                self.notice(
                    Level::Info,
                    "validation cancelled: the files stay as written, not validated",
                );
                return None;
            }
            Err(e) => {
                self.error(format!(
                    "validation did not run: {}",
                    crate::error_chain(e.as_ref())
                ));
                return None;
            }
        };
        for w in &v.warnings {
            self.notice(Level::Warning, w.clone());
        }
        let passed = v.passed();
        if passed {
            for p in paths {
                self.failing.remove(p);
            }
        } else {
            for p in paths {
                let before = texts.get(p).cloned().flatten();
                self.failing.entry(p.clone()).or_insert(before);
            }
        }
        self.emit(Event::Validated {
            paths: paths.to_vec(),
            passed,
            summary: validation_summary(&v),
        });
        (!passed).then_some(v)
    }

    /// The fix loop on `paths`, written (as a run) only when healed.
    /// `before`: the validation of `paths` that just failed, if there is one (it is not run
    /// again).
    /// Heals `paths`; `texts`: their text before the edits just written, if that is what failed.
    fn heal(
        &mut self,
        paths: &[String],
        before: Option<heal::Validation>,
        texts: HashMap<String, Option<String>>,
    ) {
        self.emit(Event::HealStarted {
            paths: paths.to_vec(),
        });
        let finished =
            |healed: bool, written: bool, attempts: usize, summary: String| Event::HealFinished {
                paths: paths.to_vec(),
                healed,
                written,
                attempts,
                summary,
            };
        let mut store = match self.index() {
            Ok(s) => s,
            Err(e) => {
                self.error(format!("heal: {}", crate::error_chain(e.as_ref())));
                self.emit(finished(false, false, 0, crate::error_chain(e.as_ref())));
                return;
            }
        };
        let past = store.remembered_fixes().unwrap_or_default();
        let turn = self.turn;
        let (root, config, link) = (&self.root, &self.config, &mut self.link);
        let heal_client = self.models.heal.clone();
        let budget = config.heal.context_budget;
        let encoding = self.models.encoding;
        let mut related =
            |q: &str, ex: &[String]| heal::fix::related(root, &store, budget, encoding, q, ex);
        let progress_tx = link.events.clone();
        let mut progress = |line: &str| {
            let _ = progress_tx.send(Event::HealProgress {
                text: line.to_string(),
            });
        };
        let mut ask = |req: &Request| link.call(&heal_client, req, turn, false);
        let mut lp = heal::fix::Loop {
            root,
            config,
            related: &mut related,
            ask: &mut ask,
            progress: &mut progress,
            past: &past,
        };
        let opts = heal::fix::Options {
            max_attempts: config.heal.max_attempts.max(1),
            up_to: None,
            max_tokens: config.llm.max_tokens,
            model: self.models.label(),
            before: texts,
        };
        let result = lp.run(paths, &opts, before);
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                if heal::fix::is_cancelled(&e) {
                    self.emit(Event::Cancelled { turn });
                    self.emit(finished(
                        false,
                        false,
                        0,
                        "cancelled; nothing was written".into(),
                    ));
                } else {
                    self.error(format!("heal: {}", crate::error_chain(e.as_ref())));
                    // A refused attempt is a budget refusal like a refused answer (exit 3).
                    if e.chain().any(|c| {
                        matches!(c.downcast_ref::<llm::Error>(), Some(llm::Error::Refused(_)))
                    }) {
                        self.emit(Event::BudgetRefused { turn });
                    }
                    self.emit(finished(false, false, 0, crate::error_chain(e.as_ref())));
                }
                return;
            }
        };
        let attempts = outcome.attempts.len();
        if outcome.before.passed() {
            for p in paths {
                self.failing.remove(p);
            }
            self.emit(finished(
                true,
                false,
                0,
                "nothing to heal: every stage passes".into(),
            ));
            return;
        }
        if !outcome.healed {
            let left = heal::fix::Summary::of(&outcome.after);
            let stage = left.failed_stage.map(|s| s.name()).unwrap_or("a");
            self.emit(finished(
                false,
                false,
                attempts,
                format!(
                    "not healed after {attempts} attempt(s): the {stage} stage still fails with {} error(s); your files are as the edit left them",
                    left.errors
                ),
            ));
            return;
        }
        match heal::fix::write(&self.root, &mut store, &outcome) {
            Ok(run_id) => {
                self.last_diff = outcome.changes.iter().map(edit::unified_diff).collect();
                self.add_run(&run_id);
                for p in paths {
                    self.failing.remove(p);
                }
                self.emit(finished(
                    true,
                    true,
                    attempts,
                    format!("healed in {attempts} attempt(s); written as run {run_id} (/undo puts it back)"),
                ));
            }
            Err(e) => {
                self.error(format!("heal: the fix was not written: {e}"));
                self.emit(finished(
                    true,
                    false,
                    attempts,
                    format!("healed, but not written: {e}"),
                ));
            }
        }
    }

    fn command(&mut self, name: &str, args: &str) {
        let args = args.trim();
        let out = |s: &Core, text: String| {
            s.emit(Event::Output {
                command: name.to_string(),
                text,
            })
        };
        match name {
            "ask" => self.turn_op(args, false),
            "add" => self.add(args),
            "drop" => {
                if args.is_empty() {
                    self.added.clear();
                } else {
                    for p in args.split_whitespace() {
                        let rel = edit::resolve(&self.root, p)
                            .map(|r| r.0)
                            .unwrap_or_else(|_| p.to_string());
                        if !self.added.contains(&rel) {
                            self.error(format!("/drop: {p} was not added"));
                        }
                        self.added.retain(|a| *a != rel);
                    }
                }
                out(self, self.files_text());
            }
            "files" => out(self, self.files_text()),
            "map" => match self.index().and_then(|store| {
                Ok(crate::repomap::render::text_map(
                    &store,
                    MAP_TOKENS,
                    self.config.map.symbols_per_file,
                    self.models.encoding,
                )?)
            }) {
                Ok(m) => out(self, m.text),
                Err(e) => self.error(format!("/map: {}", crate::error_chain(e.as_ref()))),
            },
            "context" => {
                if args.is_empty() {
                    self.error("/context: give a task, e.g. /context fix the retry delay");
                    return;
                }
                match self.pack(args, self.config.chat.context_budget) {
                    Ok(Some(p)) => {
                        let mut s = format!("{} of {} tokens:\n", p.used_tokens, p.budget);
                        for f in context_files(&p) {
                            s.push_str(&format!(
                                "  {:>6}  {:<8} {}\n",
                                f.tokens, f.included, f.path
                            ));
                        }
                        out(self, s);
                    }
                    Ok(None) => out(self, "nothing would be packed for that task".into()),
                    Err(e) => self.error(format!("/context: {}", crate::error_chain(e.as_ref()))),
                }
            }
            "heal" => {
                let paths: Vec<String> = if args.is_empty() {
                    self.failing.keys().cloned().collect()
                } else {
                    // As /add: a path outside the repository could never be written, so no
                    // attempt is paid for it.
                    let mut paths = vec![];
                    for p in args.split_whitespace() {
                        match edit::resolve(&self.root, p) {
                            Ok((rel, abs)) if abs.is_file() => paths.push(rel),
                            Ok((rel, _)) => {
                                self.error(format!("/heal: {rel}: not a file"));
                                return;
                            }
                            Err(e) => {
                                self.error(format!("/heal: {e}"));
                                return;
                            }
                        }
                    }
                    paths
                };
                if paths.is_empty() {
                    out(
                        self,
                        "nothing to heal: no file written in this session fails validation (/heal FILE… heals others)".into(),
                    );
                    return;
                }
                let texts = paths
                    .iter()
                    .filter_map(|p| Some((p.clone(), self.failing.get(p)?.clone())))
                    .collect();
                self.heal(&paths, None, texts);
            }
            "undo" => {
                let Some(run) = self.runs.last().cloned() else {
                    self.error("/undo: this session has written no edits");
                    return;
                };
                match edit::undo(&self.root, Some(&run), false) {
                    Ok(r) => {
                        self.runs.pop();
                        self.save(|store, id| store.session_run(id, None, now_ms()));
                        let mut s = format!("run {} undone", r.run);
                        if !r.restored.is_empty() {
                            s.push_str(&format!("; restored {}", r.restored.join(", ")));
                        }
                        if !r.removed.is_empty() {
                            s.push_str(&format!("; removed {}", r.removed.join(", ")));
                        }
                        out(self, s);
                    }
                    // The CLI's hint (`--force`) is not an option of /undo.
                    Err(edit::Error::Changed { run, files }) => self.error(format!(
                        "/undo: run {run}: {} changed since the run: {}; undo refused (`vibe undo --force` in a shell restores anyway, losing those changes)",
                        if files.len() == 1 { "a file" } else { "files" },
                        files.join(", ")
                    )),
                    Err(e) => self.error(format!("/undo: {e}")),
                }
            }
            "diff" => {
                let pending: String = self.proposals.iter().map(|p| p.diff.as_str()).collect();
                let text = if !pending.is_empty() {
                    pending
                } else if !self.last_diff.is_empty() {
                    self.last_diff.clone()
                } else {
                    "no pending proposals and nothing applied yet".into()
                };
                out(self, text);
            }
            "cost" => out(self, self.cost_text()),
            "tokens" => out(self, self.tokens_text()),
            "model" => {
                if args.is_empty() {
                    out(
                        self,
                        format!(
                            "{} (context window {} tokens)",
                            self.models.label(),
                            self.models.window
                        ),
                    );
                    return;
                }
                match Models::new(&self.config, &self.root, Some(args), &self.id, &self.opts) {
                    Ok(m) => {
                        self.models = m;
                        for h in self.window.iter_mut() {
                            h.tokens = self.models.encoding.count(&h.row.text);
                        }
                        let label = self.models.label();
                        self.save(|store, id| store.set_session_model(id, &label));
                        self.emit(Event::ModelChanged {
                            provider: self.models.provider.clone(),
                            model: self.models.model.clone(),
                        });
                    }
                    Err(e) => self.error(format!("/model: {}", crate::error_chain(e.as_ref()))),
                }
            }
            "clear" => {
                self.window_start = self.messages;
                self.window.clear();
                self.summary.clear();
                let start = self.window_start;
                self.save(|store, id| store.set_session_window(id, "", start));
                self.emit(Event::Cleared);
            }
            "help" => out(self, help_text()),
            other => self.plugin_command(other, args),
        }
    }

    /// `/name` for a command plugin (docs/plugins.md); else an unknown command.
    fn plugin_command(&mut self, name: &str, args: &str) {
        use crate::plugins::{self, Kind};
        let (found, warnings) = plugins::discover(&self.root, &self.config);
        let commands: Vec<&str> = found
            .iter()
            .filter(|p| p.usable_as(Kind::Command))
            .map(|p| p.name())
            .collect();
        let Some(plugin) = found
            .iter()
            .find(|p| p.name() == name && p.manifest.has(Kind::Command))
        else {
            let extra = if commands.is_empty() {
                String::new()
            } else {
                format!("\nplugin commands: /{}", commands.join(", /"))
            };
            self.error(format!("unknown command /{name}\n{}{extra}", help_text()));
            self.emit(Event::UnknownCommand {
                name: name.to_string(),
            });
            return;
        };
        for w in warnings
            .iter()
            .filter(|w| w.plugin.as_deref() == Some(name))
        {
            self.emit(Event::Notice {
                level: Level::Warning,
                text: w.to_string(),
            });
        }
        if let Err(e) = plugins::find(&found, name) {
            self.error(e);
            return;
        }
        let argv: Vec<String> = args.split_whitespace().map(str::to_string).collect();
        match plugins::run_command(plugin, &argv, &self.root) {
            Ok(o) => {
                for w in &o.warnings {
                    self.emit(Event::Notice {
                        level: Level::Warning,
                        text: w.to_string(),
                    });
                }
                let text = match o.title {
                    Some(t) => format!("{t}\n\n{}", o.output),
                    None => o.output,
                };
                self.emit(Event::Output {
                    command: name.to_string(),
                    text,
                });
            }
            Err(e) => self.error(e.to_string()),
        }
    }

    fn add(&mut self, args: &str) {
        if args.is_empty() {
            self.error("/add: give one or more paths");
            return;
        }
        for p in args.split_whitespace() {
            match edit::resolve(&self.root, p) {
                Ok((rel, abs)) if abs.is_file() => {
                    if !self.added.contains(&rel) {
                        self.added.push(rel);
                    }
                }
                Ok((rel, _)) => self.error(format!("/add: {rel}: not a file")),
                Err(e) => self.error(format!("/add: {e}")),
            }
        }
        self.emit(Event::Output {
            command: "add".into(),
            text: self.files_text(),
        });
    }

    fn files_text(&self) -> String {
        let mut s = String::new();
        let added = self.added_files();
        if added.is_empty() {
            s.push_str("no files added (/add PATH)\n");
        } else {
            s.push_str("added (in full with every message):\n");
            for a in &added {
                s.push_str(&format!("  {:>6}  {}\n", a.tokens, a.path));
            }
        }
        if !self.last_context.is_empty() {
            s.push_str("last context:\n");
            for f in &self.last_context {
                s.push_str(&format!(
                    "  {:>6}  {:<8} {}\n",
                    f.tokens, f.included, f.path
                ));
            }
        }
        s
    }

    fn cost_text(&self) -> String {
        use crate::cost::usd;
        let mut s = format!("this session: {}\n", usd(self.link.session_cost));
        match self.link.spend() {
            Some(spend) => {
                s.push_str(&format!(
                    "today: {}  this month: {}\n",
                    usd(spend.today),
                    usd(spend.month)
                ));
                let mut any = false;
                for (l, limit) in self.link.budget.limits() {
                    any = true;
                    s.push_str(&format!(
                        "{} budget: {} of {}\n",
                        l.name(),
                        usd(spent_on(&spend, l)),
                        usd(limit)
                    ));
                }
                if !any {
                    s.push_str("no budgets set ([budget] in config)\n");
                }
            }
            None => s.push_str("the cost ledger could not be read\n"),
        }
        s
    }

    fn tokens_text(&self) -> String {
        let enc = self.models.encoding;
        let system = enc.count(&self.system_prompt(true));
        let history = self.history_tokens();
        let added: usize = self.added_files().iter().map(|a| a.tokens).sum();
        let context: usize = self
            .last_context
            .iter()
            .filter(|f| f.included != "added")
            .map(|f| f.tokens)
            .sum();
        let max = self.config.llm.max_tokens as usize;
        let total = system + history + added + context + max;
        format!(
            "system {system} + history {history} ({} messages) + added files {added} + last context {context} + answer up to {max} = {total} of {} tokens in the context window\n",
            self.window.len(),
            self.models.window
        )
    }
}

fn help_text() -> String {
    let mut s = String::from("commands:\n");
    for (c, what) in COMMANDS {
        s.push_str(&format!("  /{c:<14} {what}\n"));
    }
    s.push_str("  /quit          leave (the front end's)\n");
    s
}

/// The files a packed context holds, as events show them.
pub fn context_files(p: &context::Packed) -> Vec<ContextFile> {
    p.files
        .iter()
        .filter(|f| f.included != context::pack::Included::None)
        .map(|f| ContextFile {
            path: f.path.clone(),
            included: f.included.name().to_string(),
            tokens: f.tokens,
        })
        .collect()
}

/// `lint: 2 error(s)` or `every stage passes`.
fn validation_summary(v: &heal::Validation) -> String {
    match v.failed_stage {
        Some(s) => format!("{}: {} error(s)", s.name(), v.error_count(s)),
        None => "every stage passes".into(),
    }
}
