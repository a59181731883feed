//! The TUI's frame costs: (a) one keystroke (`App::on_key` plus a full draw into a 120×40
//! TestBackend) while a long answer streams at the end of a 200-turn conversation, and (b) the
//! first frame (`App::new` plus the first draw). Figures: docs/tui.md.
//!
//! `cargo bench --bench tui`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use vibe::session::{ContextFile, Event};
use vibe::tui::App;
use vibe::tui::theme::Theme;
use vibe::tui::view;

const ANSWER: &str = "The decoder reports the **byte** offset; it should report the character, \
so that errors point at the right column in lines with non-ASCII text.\n\n\
Change `position` in `src/decoder.rs`:\n\n```rust\nfn position(&self) -> usize {\n    \
// count chars, not bytes\n    self.input[..self.at].chars().count()\n}\n```\n\n\
Then:\n\n1. run the tests with `cargo test`\n2. check the error message\n\n";

fn started() -> Event {
    Event::Started {
        session: "bench".into(),
        provider: "ollama".into(),
        model: "qwen2.5-coder:7b".into(),
        context_budget: 8000,
        turns: 0,
    }
}

/// 200 finished turns, then a turn whose answer has streamed ~8 KB so far.
fn long_session(terminal: &mut Terminal<TestBackend>) -> App {
    let mut app = App::with_theme(Theme { color: true });
    app.on_event(started());
    app.on_event(Event::Context {
        turn: 1,
        budget: 8000,
        used_tokens: 6000,
        files: (0..20)
            .map(|i| ContextFile {
                path: format!("src/module_{i}/file.rs"),
                included: "full".into(),
                tokens: 300,
            })
            .collect(),
    });
    for turn in 1..=200 {
        app.on_event(Event::TurnStarted {
            turn,
            text: format!("question {turn}: why is the error position wrong?"),
        });
        app.on_event(Event::Delta {
            turn,
            text: ANSWER.into(),
        });
        app.on_event(Event::TurnFinished {
            turn,
            text: ANSWER.into(),
        });
    }
    app.on_event(Event::TurnStarted {
        turn: 201,
        text: "and now a long one".into(),
    });
    for _ in 0..20 {
        app.on_event(Event::Delta {
            turn: 201,
            text: ANSWER.into(),
        });
    }
    // The first draw renders and caches the finished turns.
    terminal.draw(|f| view::draw(f, &mut app)).expect("draw");
    app
}

fn keystroke(c: &mut Criterion) {
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let mut app = long_session(&mut terminal);
    let mut n = 0u64;
    let base = app.entries.last().map_or(0, |e| e.text.len());
    c.bench_function("keystroke_200_turns_streaming", |b| {
        b.iter(|| {
            n += 1;
            // A delta arrives between keystrokes, as it would while streaming.
            app.on_event(Event::Delta {
                turn: 201,
                text: "word ".into(),
            });
            let ops = app.on_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
            if n.is_multiple_of(64) {
                app.input.clear();
                // Keep the streaming answer at ~8-9 KB rather than growing for ever.
                if let Some(e) = app.entries.last_mut() {
                    e.text.truncate(base);
                }
            }
            terminal.draw(|f| view::draw(f, &mut app)).expect("draw");
            black_box(ops);
        })
    });
    c.bench_function("keystroke_200_turns_idle", |b| {
        b.iter(|| {
            let ops = app.on_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
            terminal.draw(|f| view::draw(f, &mut app)).expect("draw");
            black_box(ops);
        })
    });
}

fn first_frame(c: &mut Criterion) {
    c.bench_function("first_frame", |b| {
        b.iter(|| {
            let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
            let mut app = App::new();
            app.on_event(started());
            terminal.draw(|f| view::draw(f, &mut app)).expect("draw");
            black_box(app.should_quit());
        })
    });
    // A resumed 200-turn conversation: every message rendered for the first time.
    c.bench_function("first_frame_200_turns", |b| {
        b.iter(|| {
            let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
            black_box(long_session(&mut terminal).should_quit());
        })
    });
}

criterion_group!(benches, keystroke, first_frame);
criterion_main!(benches);
