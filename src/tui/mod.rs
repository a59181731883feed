//! The full-screen `vibe chat` front end (ratatui + crossterm). [`App`] holds the state and
//! turns keys into [`Op`]s and [`Event`]s into state; [`view::draw`] draws from that state
//! only; [`run`] owns the terminal and the loop. Keys and layout: docs/tui.md.
//!
//! Invariant: the terminal is restored (raw mode off, main screen, mouse and paste modes off)
//! on every exit path of [`run`], including errors and panics.

pub mod app;
mod highlight;
pub mod input;
pub mod markdown;
pub mod palette;
pub mod theme;
pub mod view;

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use crossterm::event::{
    self as ct, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste,
    EnableMouseCapture, KeyboardEnhancementFlags, PopKeyboardEnhancementFlags,
    PushKeyboardEnhancementFlags,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub use app::App;

use crate::session::{Event, Op};

/// Whether the terminal is in the TUI's modes (so that restoring twice does nothing): the
/// crate's [`crate::TERMINAL_OWNED`], which also keeps stray stderr lines out of the frame.
use crate::TERMINAL_OWNED as ACTIVE;
/// Whether the keyboard enhancement flags were pushed (terminals without them ignore it).
static ENHANCED: AtomicBool = AtomicBool::new(false);

fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    if ENHANCED.swap(false, Ordering::SeqCst) {
        let _ = execute!(out, PopKeyboardEnhancementFlags);
    }
    let _ = disable_raw_mode();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = out.flush();
}

/// Restores the terminal when dropped: on return, on `?`, and on unwinding.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

fn setup() -> anyhow::Result<Guard> {
    // Restore before the panic message is printed, so that it is readable.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let guard = Guard;
    let mut out = io::stdout();
    execute!(
        out,
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    )?;
    // Shift-Enter is only distinguishable from Enter with the kitty keyboard protocol.
    if crossterm::terminal::supports_keyboard_enhancement().unwrap_or(false) {
        execute!(
            out,
            PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
        )?;
        ENHANCED.store(true, Ordering::SeqCst);
    }
    Ok(guard)
}

/// The signal (SIGTERM, SIGHUP) that ended the TUI; 0 while none came.
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

/// The signal that ended the last [`run`], if one did: the process should exit 128 + it.
pub fn signalled() -> Option<i32> {
    match SIGNALLED.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// Catches SIGTERM and SIGHUP (a `kill`, a closed terminal window) for the loop, which then
/// leaves as on /quit and restores the terminal; without this their default action ends the
/// process in raw mode on the alternate screen. Registered before the terminal is set up, so
/// that no window is left where a signal would skip the restore.
fn watch_signals() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // SIGINT too: a typed Ctrl-C is a key in raw mode, but one sent from outside (`kill
    // -INT`, `timeout -s INT`, a wrapper passing on its Ctrl-C) killed vibe with the terminal
    // left raw, on the alternate screen.
    let (mut term, mut hup, mut int) = {
        let _in = rt.enter();
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
            signal(SignalKind::interrupt())?,
        )
    };
    std::thread::Builder::new()
        .name("vibe-tui-signals".into())
        .spawn(move || {
            let n = rt.block_on(async {
                tokio::select! {
                    _ = term.recv() => libc_signal::TERM,
                    _ = hup.recv() => libc_signal::HUP,
                    _ = int.recv() => libc_signal::INT,
                }
            });
            SIGNALLED.store(n, Ordering::SeqCst);
            // The loop sees the signal within a frame and the process leaves. When it cannot
            // (blocked on a terminal that is gone: crossterm retries a hung-up tty forever; or
            // the TUI already left and a running command holds up the exit), or when a second
            // signal comes, the process ends here, the terminal restored and the running
            // validators' and plugins' groups killed.
            rt.block_on(async {
                tokio::select! {
                    _ = tokio::time::sleep(SIGNAL_GRACE) => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                    _ = int.recv() => {}
                }
            });
            restore();
            crate::cli::abandon_and_exit(128 + n);
        })?;
    Ok(())
}

/// The largest screen the TUI draws, in cells. ratatui keeps two buffers of a cell per screen
/// position: a terminal that says it is 65535 × 65535 (a broken one, a mistyped `stty`) made
/// them four billion cells, and the failed allocation aborted the process with the terminal
/// left raw. Past this size the TUI draws in the top left corner.
const MAX_COLUMNS: u16 = 1000;
const MAX_ROWS: u16 = 500;

/// A backend whose screen is at most [`MAX_COLUMNS`] × [`MAX_ROWS`].
struct Clamped<B>(B);

impl<B: ratatui::backend::Backend> ratatui::backend::Backend for Clamped<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a ratatui::buffer::Cell)>,
    {
        self.0.draw(content)
    }
    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        self.0.append_lines(n)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<ratatui::layout::Position, Self::Error> {
        self.0.get_cursor_position()
    }
    fn set_cursor_position<P: Into<ratatui::layout::Position>>(
        &mut self,
        position: P,
    ) -> Result<(), Self::Error> {
        self.0.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.0.clear()
    }
    fn clear_region(&mut self, clear_type: ratatui::backend::ClearType) -> Result<(), Self::Error> {
        self.0.clear_region(clear_type)
    }
    fn size(&self) -> Result<ratatui::layout::Size, Self::Error> {
        let s = self.0.size()?;
        Ok(ratatui::layout::Size::new(
            s.width.min(MAX_COLUMNS),
            s.height.min(MAX_ROWS),
        ))
    }
    fn window_size(&mut self) -> Result<ratatui::backend::WindowSize, Self::Error> {
        let mut w = self.0.window_size()?;
        w.columns_rows = self.size()?;
        Ok(w)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.0.flush()
    }
}

/// How long after SIGTERM / SIGHUP the process may take to leave by itself.
const SIGNAL_GRACE: Duration = Duration::from_secs(2);

/// Signal numbers (the same on every Unix vibe builds for).
mod libc_signal {
    pub const HUP: i32 = 1;
    pub const INT: i32 = 2;
    pub const TERM: i32 = 15;
}

/// Runs the TUI until the user quits, the session ends or a SIGTERM / SIGHUP comes
/// ([`signalled`]): sends `ops`, consumes `events`.
pub fn run(ops: Sender<Op>, events: Receiver<Event>) -> anyhow::Result<()> {
    watch_signals()?;
    let _guard = setup()?;
    let mut terminal = Terminal::new(Clamped(CrosstermBackend::new(io::stdout())))?;
    terminal.clear()?;
    let mut app = App::new();
    let mut dirty = true;
    let mut disconnected = false;
    loop {
        // Every event that arrived since the last frame, then one frame for all of them.
        while !disconnected {
            match events.try_recv() {
                Ok(ev) => {
                    app.on_event(ev);
                    dirty = true;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    disconnected = true;
                    app.on_disconnected();
                    dirty = true;
                }
            }
        }
        if app.should_quit() {
            // What still runs (a validator, a plugin) is stopped: the process would wait for
            // it to end.
            let _ = ops.send(Op::Cancel);
            break;
        }
        if signalled().is_some() {
            // Stop what runs (a stream, a validator), then leave; the guard restores.
            let _ = ops.send(Op::Cancel);
            let _ = ops.send(Op::Quit);
            break;
        }
        if dirty {
            terminal.draw(|f| view::draw(f, &mut app))?;
            dirty = false;
        }
        // A short poll keeps streamed text flowing while the user is idle.
        if !ct::poll(Duration::from_millis(16))? {
            continue;
        }
        loop {
            let op_list = match ct::read()? {
                ct::Event::Key(k) => app.on_key(k),
                ct::Event::Paste(s) => {
                    app.on_paste(&s);
                    Vec::new()
                }
                ct::Event::Mouse(m) => {
                    app.on_mouse(m);
                    Vec::new()
                }
                ct::Event::Resize(w, h) => {
                    app.on_resize(w.min(MAX_COLUMNS), h.min(MAX_ROWS));
                    Vec::new()
                }
                _ => Vec::new(),
            };
            dirty = true;
            for op in op_list {
                if ops.send(op).is_err() {
                    app.on_disconnected();
                }
            }
            if app.should_quit() || !ct::poll(Duration::ZERO)? {
                break;
            }
        }
        if app.should_quit() {
            // What still runs (a validator, a plugin) is stopped: the process would wait for
            // it to end.
            let _ = ops.send(Op::Cancel);
            break;
        }
    }
    // Give the session a moment to save and say goodbye; it may already be gone.
    let deadline = Instant::now() + Duration::from_millis(500);
    while !disconnected && Instant::now() < deadline {
        match events.recv_timeout(Duration::from_millis(50)) {
            Ok(Event::Ended { .. }) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                break;
            }
            _ => {}
        }
    }
    Ok(())
}
