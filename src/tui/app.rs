//! The TUI's state and its input handling, pure: events from the session
//! ([`App::on_event`]), keys, pastes, mouse and resizes in; operations for the session out.
//! Nothing here touches the terminal, so every behaviour is testable by feeding events.
//! Derived state (wrapped lines per message) is cached here and filled by the view.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::text::Line;

use super::input::Input;
use super::palette::{self, Action, Palette};
use super::theme::Theme;
use crate::session::{ContextFile, Event, Level, Op};

/// What kind of entry a conversation line block is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    User,
    /// The model's answer; `done` once the turn finished or was cancelled.
    Assistant {
        turn: u64,
        done: bool,
    },
    /// Notices, command output, edit and heal results: shown as system lines.
    System(SystemKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemKind {
    Info,
    Warning,
    Good,
    Bad,
    /// Command output, shown verbatim.
    Output,
}

/// One block of the conversation, and its wrapped lines for the last width drawn.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: Kind,
    pub text: String,
    /// (width, text length) the cache was made for, and the lines.
    pub(crate) cache: Option<(usize, usize, Vec<Line<'static>>)>,
}

impl Entry {
    fn new(kind: Kind, text: impl Into<String>) -> Self {
        Self {
            kind,
            text: text.into(),
            cache: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Pending,
    Accepted,
    Rejected,
}

#[derive(Debug, Clone)]
pub struct Proposal {
    pub id: u64,
    pub path: String,
    pub diff: String,
    pub new_file: bool,
    pub decision: Decision,
}

/// What has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Chat,
    Palette,
    Review,
}

#[derive(Debug)]
pub struct App {
    pub theme: Theme,
    pub mode: Mode,
    pub session: String,
    pub provider: String,
    pub model: String,
    pub context_budget: usize,
    pub context_used: usize,
    pub files: Vec<ContextFile>,
    pub session_cost: f64,
    pub budget: Option<(f64, f64)>,
    pub last_tokens: Option<(u64, u64)>,
    pub entries: Vec<Entry>,
    /// The turn whose answer is streaming.
    pub streaming: Option<u64>,
    /// What the session is busy with outside a streaming answer, for the status bar:
    /// validating or healing written files (from `Applied` or `HealStarted` to the result) or
    /// running a command plugin (to its output or error). Ctrl-C cancels that.
    pub working: Option<String>,
    pub error: Option<String>,
    pub input: Input,
    pub palette: Palette,
    pub proposals: Vec<Proposal>,
    /// Index into `proposals` shown in the review.
    pub review_selected: usize,
    pub review_scroll: usize,
    /// Lines scrolled up from the bottom of the conversation (0 follows new output).
    pub scroll: usize,
    pub show_side: bool,
    /// A first Ctrl-C when idle with an empty input arms this; a second one quits.
    pub quit_armed: bool,
    pub quit: bool,
    /// A `/name` the TUI does not know, sent to the session (a command plugin?), with the text
    /// typed: put back into the input if the session answers that it is unknown.
    unknown_candidate: Option<(String, String)>,
    /// Set by the view: the conversation's height and total wrapped lines at the last draw.
    pub(crate) view_height: usize,
    pub(crate) total_lines: usize,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    /// A new app; colours unless `NO_COLOR` is set.
    pub fn new() -> Self {
        Self::with_theme(Theme::from_env())
    }

    pub fn with_theme(theme: Theme) -> Self {
        Self {
            theme,
            mode: Mode::Chat,
            session: String::new(),
            provider: String::new(),
            model: String::new(),
            context_budget: 0,
            context_used: 0,
            files: Vec::new(),
            session_cost: 0.0,
            budget: None,
            last_tokens: None,
            entries: Vec::new(),
            streaming: None,
            working: None,
            error: None,
            input: Input::default(),
            palette: Palette::default(),
            proposals: Vec::new(),
            review_selected: 0,
            review_scroll: 0,
            scroll: 0,
            show_side: true,
            quit_armed: false,
            unknown_candidate: None,
            quit: false,
            view_height: 20,
            total_lines: 0,
        }
    }

    /// Whether the front end should leave (after /quit, Ctrl-D, a second Ctrl-C, or the end
    /// of the session).
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn pending(&self) -> usize {
        self.proposals
            .iter()
            .filter(|p| p.decision == Decision::Pending)
            .count()
    }

    fn system(&mut self, kind: SystemKind, text: impl Into<String>) {
        self.entries.push(Entry::new(Kind::System(kind), text));
    }

    fn answer_mut(&mut self, turn: u64) -> &mut Entry {
        let found = self
            .entries
            .iter()
            .rposition(|e| matches!(e.kind, Kind::Assistant { turn: t, .. } if t == turn));
        let i = match found {
            Some(i) => i,
            None => {
                self.entries
                    .push(Entry::new(Kind::Assistant { turn, done: false }, ""));
                self.entries.len() - 1
            }
        };
        &mut self.entries[i]
    }

    fn finish(&mut self, turn: u64) {
        if let Some(e) = self
            .entries
            .iter_mut()
            .rev()
            .find(|e| matches!(e.kind, Kind::Assistant { turn: t, .. } if t == turn))
        {
            e.kind = Kind::Assistant { turn, done: true };
            // The heading loses its "…": the rendered lines must be drawn again.
            e.cache = None;
        }
        if self.streaming == Some(turn) {
            self.streaming = None;
        }
    }

    /// Applies one session event to the state.
    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Started {
                session,
                provider,
                model,
                context_budget,
                turns,
            } => {
                self.session = session;
                self.provider = provider;
                self.model = model;
                self.context_budget = context_budget;
                if turns > 0 {
                    self.system(
                        SystemKind::Info,
                        format!("resumed session {} ({turns} turns)", self.session),
                    );
                }
            }
            Event::Resumed {
                earlier,
                messages,
                session_cost_usd,
            } => {
                self.session_cost = session_cost_usd;
                if earlier > 0 {
                    self.system(
                        SystemKind::Info,
                        format!("{earlier} earlier messages are summarised (not shown)"),
                    );
                }
                // Turns numbered as the session numbers them: new ones follow.
                let mut turn = (earlier as u64).div_ceil(2);
                for m in messages {
                    if m.role == "assistant" {
                        self.entries
                            .push(Entry::new(Kind::Assistant { turn, done: true }, m.text));
                    } else {
                        turn += 1;
                        self.entries.push(Entry::new(Kind::User, m.text));
                    }
                }
                self.scroll = 0;
            }
            Event::TurnStarted { turn, text } => {
                self.entries.push(Entry::new(Kind::User, text));
                self.streaming = Some(turn);
                self.scroll = 0;
            }
            Event::Context {
                budget,
                used_tokens,
                files,
                ..
            } => {
                self.context_budget = budget;
                self.context_used = used_tokens;
                self.files = files;
            }
            Event::Delta { turn, text } => {
                self.answer_mut(turn).text.push_str(&text);
            }
            Event::Proposal {
                id,
                path,
                diff,
                new_file,
                ..
            } => {
                self.proposals.push(Proposal {
                    id,
                    path,
                    diff,
                    new_file,
                    decision: Decision::Pending,
                });
                if self.mode == Mode::Chat && self.pending() == 1 {
                    self.mode = Mode::Review;
                    self.review_selected = self.proposals.len() - 1;
                    self.review_scroll = 0;
                }
            }
            Event::EditError { path, message, .. } => {
                self.system(
                    SystemKind::Warning,
                    format!("edit to {path} not used: {message}"),
                );
            }
            Event::Applied { paths, .. } => {
                self.working = Some("validating".into());
                self.system(
                    SystemKind::Good,
                    format!("applied: {} (/undo to revert)", paths.join(", ")),
                );
            }
            Event::Rejected { proposal } => {
                if let Some(p) = self.proposals.iter_mut().find(|p| p.id == proposal) {
                    p.decision = Decision::Rejected;
                }
            }
            Event::Validated {
                passed, summary, ..
            } => {
                self.working = None;
                let kind = if passed {
                    SystemKind::Good
                } else {
                    SystemKind::Bad
                };
                self.system(kind, format!("validated: {summary}"));
            }
            Event::HealStarted { paths } => {
                self.working = Some("healing".into());
                self.system(SystemKind::Info, format!("healing {}…", paths.join(", ")));
            }
            Event::HealProgress { text } => self.system(SystemKind::Info, text),
            Event::HealFinished {
                healed, summary, ..
            } => {
                self.working = None;
                let kind = if healed {
                    SystemKind::Good
                } else {
                    SystemKind::Bad
                };
                self.system(kind, format!("heal: {summary}"));
            }
            Event::Usage {
                provider,
                model,
                usage,
                session_cost_usd,
                budget,
                ..
            } => {
                self.provider = provider;
                self.model = model;
                self.session_cost = session_cost_usd;
                self.budget = budget;
                self.last_tokens = Some((usage.input_tokens, usage.output_tokens));
            }
            Event::TurnFinished { turn, text } => {
                let e = self.answer_mut(turn);
                if !text.is_empty() && e.text != text {
                    e.text = text;
                    e.cache = None;
                }
                self.finish(turn);
            }
            Event::Output { command, text } => {
                self.working = None;
                self.unknown_candidate = None;
                self.system(SystemKind::Output, format!("/{command}\n{text}"));
            }
            Event::Notice { level, text } => {
                let kind = match level {
                    Level::Info => SystemKind::Info,
                    Level::Warning => SystemKind::Warning,
                };
                self.system(kind, text);
            }
            Event::Error { text } => {
                self.working = None;
                self.error = Some(text);
                if let Some(turn) = self.streaming {
                    self.finish(turn);
                }
            }
            // An unknown `/name` (the `Error` before it lists the commands): its text is put
            // back for fixing, unless something was typed since.
            Event::UnknownCommand { name } => {
                if let Some((sent, typed)) = self.unknown_candidate.take()
                    && sent == name
                    && self.input.is_empty()
                {
                    self.input.set_text(&typed);
                }
            }
            // The `Error` before it already says which budget; the turn is over.
            Event::BudgetRefused { turn } => {
                if self.streaming == Some(turn) {
                    self.finish(turn);
                }
            }
            Event::Cancelled { turn } => {
                self.working = None;
                self.finish(turn);
                self.system(SystemKind::Warning, "cancelled");
            }
            Event::ModelChanged { provider, model } => {
                self.system(SystemKind::Info, format!("model: {provider}/{model}"));
                self.provider = provider;
                self.model = model;
            }
            Event::Cleared => {
                self.entries.clear();
                self.files.clear();
                self.context_used = 0;
                self.scroll = 0;
                self.system(SystemKind::Info, "history cleared");
            }
            Event::Ended { .. } => self.quit = true,
        }
    }

    /// The session's event channel closed without an `Ended` event.
    pub fn on_disconnected(&mut self) {
        if !self.quit {
            self.error = Some("the session stopped; press Ctrl-D to leave".into());
            self.streaming = None;
        }
    }

    /// Inserts pasted text as is (bracketed paste), wherever the keyboard is.
    pub fn on_paste(&mut self, text: &str) {
        match self.mode {
            Mode::Palette => {
                self.palette
                    .query
                    .push_str(text.lines().next().unwrap_or_default());
                self.palette.selected = 0;
            }
            Mode::Review => {}
            Mode::Chat => {
                self.quit_armed = false;
                self.input.insert_str(text);
            }
        }
    }

    pub fn on_mouse(&mut self, mouse: MouseEvent) {
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll_by(3),
            MouseEventKind::ScrollDown => self.scroll_by(-3),
            _ => {}
        }
    }

    /// A terminal resize: wrapped lines are re-made lazily at the next draw (caches are keyed
    /// by width); the scroll position is kept within range there.
    pub fn on_resize(&mut self, _width: u16, height: u16) {
        self.view_height = (height as usize).saturating_sub(6).max(1);
    }

    fn scroll_by(&mut self, lines: isize) {
        if self.mode == Mode::Review {
            self.review_scroll = self.review_scroll.saturating_add_signed(-lines);
            return;
        }
        let max = self.total_lines.saturating_sub(self.view_height);
        self.scroll = self.scroll.saturating_add_signed(lines).min(max);
    }

    /// Handles one key; returns the operations for the session.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Op> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        // Keys that mean the same everywhere.
        if ctrl {
            match key.code {
                KeyCode::Char('c') => return self.ctrl_c(),
                KeyCode::Char('p') => {
                    self.mode = if self.mode == Mode::Palette {
                        Mode::Chat
                    } else {
                        self.palette = Palette::default();
                        Mode::Palette
                    };
                    return Vec::new();
                }
                _ => {}
            }
        }
        if !(ctrl && key.code == KeyCode::Char('c')) {
            self.quit_armed = false;
        }
        match self.mode {
            Mode::Palette => self.palette_key(key),
            Mode::Review => self.review_key(key),
            Mode::Chat => self.chat_key(key),
        }
    }

    fn ctrl_c(&mut self) -> Vec<Op> {
        // Once only while working: if the result never comes, the next press acts as idle.
        if self.streaming.is_some() || self.working.take().is_some() {
            return vec![Op::Cancel];
        }
        if self.mode != Mode::Chat {
            self.mode = Mode::Chat;
            return Vec::new();
        }
        if !self.input.is_empty() {
            self.input.clear();
            return Vec::new();
        }
        if self.quit_armed {
            self.quit = true;
            return vec![Op::Quit];
        }
        self.quit_armed = true;
        Vec::new()
    }

    fn chat_key(&mut self, key: KeyEvent) -> Vec<Op> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        match key.code {
            KeyCode::Enter if shift || alt || ctrl => self.input.newline(),
            KeyCode::Char('j') if ctrl => self.input.newline(),
            KeyCode::Enter => return self.submit(),
            KeyCode::Char('d') if ctrl => {
                if self.input.is_empty() {
                    self.quit = true;
                    return vec![Op::Quit];
                }
                self.input.delete();
            }
            KeyCode::Char('r') if ctrl && !self.proposals.is_empty() => {
                self.mode = Mode::Review;
                self.select_first_pending();
            }
            KeyCode::Char('b') if ctrl => self.show_side = !self.show_side,
            KeyCode::Char('w') if ctrl => self.input.delete_word(),
            KeyCode::Char('u') if ctrl => self.input.delete_to_start(),
            KeyCode::Char('a') if ctrl => self.input.home(),
            KeyCode::Char('e') if ctrl => self.input.end(),
            KeyCode::Char('l') if ctrl => self.scroll = 0,
            KeyCode::Char(c) if !ctrl => self.input.insert_char(c),
            KeyCode::Backspace if alt || ctrl => self.input.delete_word(),
            KeyCode::Backspace => self.input.backspace(),
            KeyCode::Delete => self.input.delete(),
            KeyCode::Left => self.input.left(),
            KeyCode::Right => self.input.right(),
            KeyCode::Home => self.input.home(),
            KeyCode::End => self.input.end(),
            KeyCode::Up => self.input.up(),
            KeyCode::Down => self.input.down(),
            KeyCode::Tab => self.input.insert_str("    "),
            KeyCode::PageUp => self.scroll_by(self.view_height.saturating_sub(2).max(1) as isize),
            KeyCode::PageDown => {
                self.scroll_by(-(self.view_height.saturating_sub(2).max(1) as isize))
            }
            KeyCode::Esc => {
                if self.error.is_some() {
                    self.error = None;
                } else {
                    self.scroll = 0;
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Enter: a slash command, /quit, or a message.
    fn submit(&mut self) -> Vec<Op> {
        let text = self.input.text();
        if text.trim().is_empty() {
            return Vec::new();
        }
        let trimmed = text.trim();
        if let Some(rest) = trimmed.strip_prefix('/') {
            let (name, args) = match rest.split_once(char::is_whitespace) {
                Some((n, a)) => (n, a.trim()),
                None => (rest, ""),
            };
            if name == "quit" || name == "exit" || name == "q" {
                self.input.submit();
                self.quit = true;
                return vec![Op::Quit];
            }
            if name == "review" {
                self.input.submit();
                if !self.proposals.is_empty() {
                    self.mode = Mode::Review;
                    self.select_first_pending();
                }
                return Vec::new();
            }
            // The built-in commands, and any other `/name`: the session knows the plugin
            // commands (and says when there is none of that name). "//text" is a message that
            // starts with a slash.
            // A name with a slash in it (`/usr/bin/env is missing`) is a path in a message.
            if palette::is_command(name)
                || (!name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '-' || c == '_'))
            {
                let op = Op::Command {
                    name: name.to_string(),
                    args: args.to_string(),
                };
                let text = self.input.submit();
                if !palette::is_command(name) {
                    // A command plugin: it runs until its output or error. If the session knows
                    // no such command, the text comes back into the input for fixing.
                    self.working = Some(format!("running /{name}"));
                    self.unknown_candidate = Some((name.to_string(), text));
                }
                self.scroll = 0;
                return vec![op];
            }
        }
        let text = self.input.submit();
        self.scroll = 0;
        vec![Op::Message { text }]
    }

    fn palette_key(&mut self, key: KeyEvent) -> Vec<Op> {
        match key.code {
            KeyCode::Esc => self.mode = Mode::Chat,
            KeyCode::Up => self.palette.up(),
            KeyCode::Down | KeyCode::Tab => self.palette.down(),
            KeyCode::Backspace => self.palette.backspace(),
            KeyCode::Enter => {
                let Some(item) = self.palette.chosen() else {
                    return Vec::new();
                };
                self.mode = Mode::Chat;
                return match item.action {
                    Action::Command {
                        name,
                        takes_args: true,
                    } => {
                        self.input.clear();
                        self.input.insert_str(&format!("/{name} "));
                        Vec::new()
                    }
                    Action::Command { name, .. } => vec![Op::Command {
                        name: name.to_string(),
                        args: String::new(),
                    }],
                    Action::Review => {
                        if !self.proposals.is_empty() {
                            self.mode = Mode::Review;
                            self.select_first_pending();
                        }
                        Vec::new()
                    }
                    Action::ToggleSidePane => {
                        self.show_side = !self.show_side;
                        Vec::new()
                    }
                    Action::Quit => {
                        self.quit = true;
                        vec![Op::Quit]
                    }
                };
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.palette.type_char(c)
            }
            _ => {}
        }
        Vec::new()
    }

    fn select_first_pending(&mut self) {
        if let Some(i) = self
            .proposals
            .iter()
            .position(|p| p.decision == Decision::Pending)
        {
            self.review_selected = i;
            self.review_scroll = 0;
        }
    }

    fn decide(&mut self, index: usize, accept: bool) -> Option<Op> {
        let p = self.proposals.get_mut(index)?;
        if p.decision != Decision::Pending {
            return None;
        }
        p.decision = if accept {
            Decision::Accepted
        } else {
            Decision::Rejected
        };
        Some(Op::Decide {
            proposal: p.id,
            accept,
        })
    }

    /// After a decision: on to the next pending proposal, or back to the chat when none is left.
    fn after_decision(&mut self) {
        if self.pending() == 0 {
            self.mode = Mode::Chat;
        } else {
            self.select_first_pending();
        }
    }

    fn review_key(&mut self, key: KeyEvent) -> Vec<Op> {
        let n = self.proposals.len();
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => self.mode = Mode::Chat,
            KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') if n > 0 => {
                self.review_selected = (self.review_selected + 1) % n;
                self.review_scroll = 0;
            }
            KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') if n > 0 => {
                self.review_selected = (self.review_selected + n - 1) % n;
                self.review_scroll = 0;
            }
            KeyCode::Down | KeyCode::Char('j') => self.review_scroll += 1,
            KeyCode::Up | KeyCode::Char('k') => {
                self.review_scroll = self.review_scroll.saturating_sub(1)
            }
            KeyCode::PageDown | KeyCode::Char(' ') => {
                self.review_scroll += self.view_height.saturating_sub(2).max(1)
            }
            KeyCode::PageUp => {
                self.review_scroll = self
                    .review_scroll
                    .saturating_sub(self.view_height.saturating_sub(2).max(1))
            }
            KeyCode::Char('a') | KeyCode::Char('y') | KeyCode::Enter => {
                let ops: Vec<Op> = self
                    .decide(self.review_selected, true)
                    .into_iter()
                    .collect();
                self.after_decision();
                return ops;
            }
            KeyCode::Char('r') | KeyCode::Char('n') | KeyCode::Delete => {
                let ops: Vec<Op> = self
                    .decide(self.review_selected, false)
                    .into_iter()
                    .collect();
                self.after_decision();
                return ops;
            }
            KeyCode::Char('A') | KeyCode::Char('R') => {
                let accept = key.code == KeyCode::Char('A');
                let ops: Vec<Op> = (0..n).filter_map(|i| self.decide(i, accept)).collect();
                self.after_decision();
                return ops;
            }
            _ => {}
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests;
