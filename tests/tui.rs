//! TUI screens, drawn into ratatui's TestBackend from events fed in directly, checked with
//! insta snapshots (tests/snapshots/tui_*.snap). Colours are off in most screens so that the
//! snapshots show the layout; one test checks the colours of a diff.

#[allow(clippy::duplicate_mod)]
#[path = "util/mod.rs"]
#[macro_use]
mod util;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use vibe::llm::Usage;
use vibe::session::{ContextFile, Event, Level};
use vibe::tui::App;
use vibe::tui::theme::Theme;
use vibe::tui::view;

fn app() -> App {
    let mut a = App::with_theme(Theme { color: false });
    a.on_event(Event::Started {
        session: "s-1".into(),
        provider: "ollama".into(),
        model: "qwen2.5-coder:7b".into(),
        context_budget: 8000,
        turns: 0,
    });
    a
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| view::draw(f, app)).expect("draw");
    t.backend().to_string()
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn context(a: &mut App, turn: u64) {
    a.on_event(Event::Context {
        turn,
        budget: 8000,
        used_tokens: 5234,
        files: vec![
            ContextFile {
                path: "src/decoder.rs".into(),
                included: "full".into(),
                tokens: 2410,
            },
            ContextFile {
                path: "src/very/deeply/nested/module/errors.rs".into(),
                included: "skeleton".into(),
                tokens: 612,
            },
            ContextFile {
                path: "README.md".into(),
                included: "added".into(),
                tokens: 1800,
            },
        ],
    });
}

fn usage(a: &mut App, turn: u64) {
    a.on_event(Event::Usage {
        turn,
        provider: "ollama".into(),
        model: "qwen2.5-coder:7b".into(),
        usage: Usage {
            input_tokens: 5400,
            output_tokens: 320,
            cached_tokens: 0,
            estimated: false,
        },
        cost_usd: 0.0123,
        priced: true,
        session_cost_usd: 0.0456,
        budget: Some((1.5, 5.0)),
    });
}

const ANSWER: &str = "The decoder reports the **byte** offset; it should report the character.\n\n\
Change `position` in `src/decoder.rs`:\n\n```rust\nfn position(&self) -> usize {\n    // count chars, not bytes\n    self.input[..self.at].chars().count()\n}\n```\n\nThen:\n\n1. run the tests\n2. check the error";

fn turn(a: &mut App, n: u64, question: &str, answer: &str) {
    a.on_event(Event::TurnStarted {
        turn: n,
        text: question.into(),
    });
    a.on_event(Event::Delta {
        turn: n,
        text: answer.into(),
    });
    a.on_event(Event::TurnFinished {
        turn: n,
        text: answer.into(),
    });
}

#[test]
fn empty_session() {
    let mut a = app();
    snapshot!("tui_empty", screen(&mut a, 120, 30));
}

#[test]
fn streaming_answer_with_code_block() {
    let mut a = app();
    a.on_event(Event::TurnStarted {
        turn: 1,
        text: "why is the error position wrong?".into(),
    });
    context(&mut a, 1);
    // Mid-way: the fence is still open.
    let cut = ANSWER.find("}\n```").expect("fence");
    let chars: Vec<char> = ANSWER[..cut].chars().collect();
    for chunk in chars.chunks(7) {
        a.on_event(Event::Delta {
            turn: 1,
            text: chunk.iter().collect(),
        });
    }
    snapshot!("tui_streaming", screen(&mut a, 120, 30));
}

#[test]
fn diff_review() {
    let mut a = app();
    turn(&mut a, 1, "fix it", "Here is the fix.");
    a.on_event(Event::Proposal {
        id: 1,
        turn: 1,
        path: "src/decoder.rs".into(),
        diff: "--- a/src/decoder.rs\n+++ b/src/decoder.rs\n@@ -10,3 +10,3 @@\n fn position(&self) -> usize {\n-    self.at\n+    self.input[..self.at].chars().count()\n }\n".into(),
        new_file: false,
    });
    a.on_event(Event::Proposal {
        id: 2,
        turn: 1,
        path: "tests/decoder.rs".into(),
        diff: "--- /dev/null\n+++ b/tests/decoder.rs\n@@ -0,0 +1,2 @@\n+#[test]\n+fn position_counts_chars() {}\n".into(),
        new_file: true,
    });
    usage(&mut a, 1);
    snapshot!("tui_review", screen(&mut a, 100, 24));
}

#[test]
fn diff_colours() {
    let mut a = App::with_theme(Theme { color: true });
    a.on_event(Event::Proposal {
        id: 1,
        turn: 1,
        path: "a.rs".into(),
        diff: "--- a/a.rs\n+++ b/a.rs\n@@ -1 +1 @@\n-old\n+new\n".into(),
        new_file: false,
    });
    let mut t = Terminal::new(TestBackend::new(60, 16)).expect("terminal");
    t.draw(|f| view::draw(f, &mut a)).expect("draw");
    let buf = t.backend().buffer();
    let find = |text: &str| {
        (0..buf.area.height)
            .find_map(|y| {
                let row: String = (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect();
                row.find(text).map(|x| (x as u16, y))
            })
            .expect(text)
    };
    let (x, y) = find("+new");
    assert_eq!(buf[(x, y)].fg, Color::Green);
    let (x, y) = find("-old");
    assert_eq!(buf[(x, y)].fg, Color::Red);
}

#[test]
fn no_color_means_no_colours() {
    let mut a = app();
    turn(&mut a, 1, "q", ANSWER);
    a.on_event(Event::Error {
        text: "provider ollama: HTTP 500".into(),
    });
    usage(&mut a, 1);
    let mut t = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    t.draw(|f| view::draw(f, &mut a)).expect("draw");
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset);
        assert_eq!(cell.bg, Color::Reset);
    }
}

#[test]
fn palette_open() {
    let mut a = app();
    turn(&mut a, 1, "hello", "Hi! What shall we do?");
    a.on_key(ctrl('p'));
    for c in "co".chars() {
        a.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    snapshot!("tui_palette", screen(&mut a, 100, 24));
}

#[test]
fn narrow_long_conversation() {
    let mut a = app();
    context(&mut a, 1);
    for n in 1..=30 {
        turn(
            &mut a,
            n,
            &format!("question number {n} about a rather long topic that wraps on a narrow screen"),
            ANSWER,
        );
        a.on_event(Event::Notice {
            level: Level::Info,
            text: format!("turn {n} used 5,234 tokens"),
        });
    }
    usage(&mut a, 30);
    a.on_paste("a pasted\nmulti-line message");
    let s = screen(&mut a, 80, 24);
    // Nothing wider than the screen, the side pane collapsed.
    assert!(s.lines().all(|l| l.chars().count() <= 82), "{s}");
    assert!(!s.contains("decoder.rs  "));
    snapshot!("tui_narrow", s);
}

#[test]
fn scrolled_up_narrow() {
    let mut a = app();
    for n in 1..=5 {
        turn(&mut a, n, &format!("question {n}"), ANSWER);
    }
    screen(&mut a, 80, 24);
    a.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    snapshot!("tui_scrolled", screen(&mut a, 80, 24));
}

#[test]
fn error_banner() {
    let mut a = app();
    turn(&mut a, 1, "hello", "Hi.");
    a.on_event(Event::Error {
        text:
            "provider openai: HTTP 429 rate limited; retry after 20 s or switch model with /model"
                .into(),
    });
    a.on_event(Event::Output {
        command: "files".into(),
        text: "src/decoder.rs  2,410\nREADME.md       1,800".into(),
    });
    snapshot!("tui_error", screen(&mut a, 80, 24));
    a.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(!screen(&mut a, 80, 24).contains("HTTP 429"));
}

#[test]
fn tiny_terminal_does_not_panic() {
    let mut a = app();
    turn(&mut a, 1, "q", ANSWER);
    a.on_key(ctrl('p'));
    for (w, h) in [(1, 1), (5, 3), (20, 5), (40, 8)] {
        a.on_resize(w, h);
        screen(&mut a, w, h);
    }
}

#[test]
fn a_finished_answer_loses_its_streaming_mark() {
    let mut a = app();
    a.on_event(Event::TurnStarted {
        turn: 1,
        text: "hi".into(),
    });
    a.on_event(Event::Delta {
        turn: 1,
        text: "hello there".into(),
    });
    assert!(screen(&mut a, 80, 12).contains("vibe …"), "streaming");
    a.on_event(Event::TurnFinished {
        turn: 1,
        text: "hello there".into(),
    });
    let s = screen(&mut a, 80, 12);
    assert!(!s.contains("vibe …") && s.contains("hello there"), "{s}");
}

/// An edit block in an answer is drawn as written (its path as the label, indentation and
/// markers kept); only the prose around it is markdown.
#[test]
fn an_answer_with_an_edit_block() {
    let mut a = app();
    turn(
        &mut a,
        1,
        "make total use a clearer name",
        "Rename `s` in **total**:\n\nsrc/app.py\n<<<<<<< SEARCH\ndef total(items):\n    s = 0\n    for item in items:\n        s += item.price\n    return s\n=======\ndef total(items):\n    amount = 0\n    for item in items:\n        amount += item.price\n    return amount\n>>>>>>> REPLACE\n\nThen run the tests.",
    );
    snapshot!("tui_edit_block", screen(&mut a, 80, 30));
}
