//! Key handling and event folding, without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use super::*;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}
fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}
fn typed(app: &mut App, text: &str) -> Vec<Op> {
    let mut ops = Vec::new();
    for c in text.chars() {
        ops.extend(app.on_key(key(KeyCode::Char(c))));
    }
    ops
}
fn app() -> App {
    App::with_theme(Theme { color: true })
}

#[test]
fn enter_sends_a_message() {
    let mut a = app();
    assert!(typed(&mut a, "hello").is_empty());
    assert_eq!(
        a.on_key(key(KeyCode::Enter)),
        [Op::Message {
            text: "hello".into()
        }]
    );
    assert!(a.input.is_empty());
    assert!(
        a.on_key(key(KeyCode::Enter)).is_empty(),
        "empty input sends nothing"
    );
}

#[test]
fn shift_and_alt_enter_insert_newlines() {
    let mut a = app();
    typed(&mut a, "a");
    a.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT));
    typed(&mut a, "b");
    a.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT));
    typed(&mut a, "c");
    assert_eq!(a.input.text(), "a\nb\nc");
    assert_eq!(
        a.on_key(key(KeyCode::Enter)),
        [Op::Message {
            text: "a\nb\nc".into()
        }]
    );
}

#[test]
fn slash_commands_parse() {
    let mut a = app();
    typed(&mut a, "/add src/main.rs  src/lib.rs ");
    assert_eq!(
        a.on_key(key(KeyCode::Enter)),
        [Op::Command {
            name: "add".into(),
            args: "src/main.rs  src/lib.rs".into()
        }]
    );
    for name in ["files", "map", "undo", "diff", "cost", "clear", "help"] {
        typed(&mut a, &format!("/{name}"));
        assert_eq!(
            a.on_key(key(KeyCode::Enter)),
            [Op::Command {
                name: name.into(),
                args: String::new()
            }]
        );
    }
    // Another name may be a plugin's command: the session decides.
    typed(&mut a, "/changelog v1.2");
    assert_eq!(
        a.on_key(key(KeyCode::Enter)),
        [Op::Command {
            name: "changelog".into(),
            args: "v1.2".into()
        }]
    );
    // "//text" is a message that starts with a slash.
    typed(&mut a, "//etc is a path");
    assert!(matches!(
        &a.on_key(key(KeyCode::Enter))[..],
        [Op::Message { .. }]
    ));
}

/// `/ñame` is a command too (the session says it is unknown), and an unknown command's text
/// comes back into the input for fixing; a known plugin command's does not.
#[test]
fn an_unknown_command_is_kept_for_fixing() {
    let mut a = app();
    typed(&mut a, "/ñame x");
    assert_eq!(
        a.on_key(key(KeyCode::Enter)),
        [Op::Command {
            name: "ñame".into(),
            args: "x".into()
        }]
    );
    a.on_event(Event::Error {
        text: "unknown command /ñame\ncommands:\n  /add".into(),
    });
    a.on_event(Event::UnknownCommand {
        name: "ñame".into(),
    });
    assert_eq!(a.input.text(), "/ñame x");
    assert!(a.error.is_some());
    a.input.clear();
    typed(&mut a, "/changelog");
    a.on_key(key(KeyCode::Enter));
    a.on_event(Event::Output {
        command: "changelog".into(),
        text: "v1".into(),
    });
    a.on_event(Event::UnknownCommand {
        name: "changelog".into(),
    });
    assert!(a.input.is_empty(), "{:?}", a.input.text());
    // A path is still a message.
    typed(&mut a, "/usr/bin/env is missing");
    assert!(matches!(
        &a.on_key(key(KeyCode::Enter))[..],
        [Op::Message { .. }]
    ));
}

#[test]
fn quit_and_ctrl_d() {
    let mut a = app();
    typed(&mut a, "/quit");
    assert_eq!(a.on_key(key(KeyCode::Enter)), [Op::Quit]);
    assert!(a.should_quit());

    let mut a = app();
    typed(&mut a, "x");
    assert!(
        a.on_key(ctrl('d')).is_empty(),
        "Ctrl-D deletes when there is text"
    );
    a.input.clear();
    assert_eq!(a.on_key(ctrl('d')), [Op::Quit]);
}

#[test]
fn ctrl_c_cancels_streaming_then_quits_when_idle() {
    let mut a = app();
    a.on_event(Event::TurnStarted {
        turn: 1,
        text: "hi".into(),
    });
    a.on_event(Event::Delta {
        turn: 1,
        text: "Hel".into(),
    });
    assert_eq!(a.on_key(ctrl('c')), [Op::Cancel]);
    assert!(!a.should_quit());
    a.on_event(Event::Cancelled { turn: 1 });
    assert_eq!(a.streaming, None);
    // Idle: the first Ctrl-C arms, the second quits.
    assert!(a.on_key(ctrl('c')).is_empty());
    assert!(a.quit_armed);
    assert_eq!(a.on_key(ctrl('c')), [Op::Quit]);
    assert!(a.should_quit());
}

#[test]
fn ctrl_c_cancels_validation_heal_and_plugins_once() {
    let mut a = app();
    a.on_event(Event::Applied {
        proposals: vec![1],
        paths: vec!["a.py".into()],
        run_id: "r1".into(),
    });
    assert_eq!(a.on_key(ctrl('c')), [Op::Cancel]);
    // No answer to the cancel: the next press acts as idle (arms quit), never stuck.
    assert!(a.on_key(ctrl('c')).is_empty());
    assert!(a.quit_armed);
    a.on_key(key(KeyCode::Esc));
    a.on_event(Event::HealStarted {
        paths: vec!["a.py".into()],
    });
    assert_eq!(a.working.as_deref(), Some("healing"));
    a.on_event(Event::HealFinished {
        paths: vec!["a.py".into()],
        healed: true,
        written: true,
        attempts: 1,
        summary: "healed".into(),
    });
    assert_eq!(a.working, None);
    assert!(a.on_key(ctrl('c')).is_empty(), "idle again");
    a.on_key(key(KeyCode::Esc));
    // A command plugin runs until its output or error: Ctrl-C cancels it; a built-in command
    // is not waited for.
    let run_slow = |a: &mut App| {
        typed(a, "/slow");
        a.on_key(key(KeyCode::Enter))
    };
    assert_eq!(
        run_slow(&mut a),
        [Op::Command {
            name: "slow".into(),
            args: String::new()
        }]
    );
    assert_eq!(a.working.as_deref(), Some("running /slow"));
    assert_eq!(a.on_key(ctrl('c')), [Op::Cancel]);
    run_slow(&mut a);
    a.on_event(Event::Error {
        text: "plugin slow: cancelled".into(),
    });
    assert_eq!(a.working, None);
    run_slow(&mut a);
    a.on_event(Event::Output {
        command: "slow".into(),
        text: "done".into(),
    });
    assert_eq!(a.working, None);
    typed(&mut a, "/diff");
    a.on_key(key(KeyCode::Enter));
    assert_eq!(a.working, None);
}

#[test]
fn ctrl_c_disarms_on_other_keys_and_clears_input() {
    let mut a = app();
    a.on_key(ctrl('c'));
    typed(&mut a, "x");
    assert!(!a.quit_armed);
    assert!(a.on_key(ctrl('c')).is_empty());
    assert!(a.input.is_empty(), "Ctrl-C with text clears the input");
    assert!(!a.should_quit());
}

#[test]
fn history_up_down() {
    let mut a = app();
    typed(&mut a, "first");
    a.on_key(key(KeyCode::Enter));
    typed(&mut a, "second");
    a.on_key(key(KeyCode::Enter));
    a.on_key(key(KeyCode::Up));
    assert_eq!(a.input.text(), "second");
    a.on_key(key(KeyCode::Up));
    assert_eq!(a.input.text(), "first");
    a.on_key(key(KeyCode::Down));
    assert_eq!(a.input.text(), "second");
    a.on_key(key(KeyCode::Down));
    assert_eq!(a.input.text(), "");
}

#[test]
fn paste_is_inserted_as_is() {
    let mut a = app();
    a.on_paste("line one\nline two\n\tindented");
    assert_eq!(a.input.text(), "line one\nline two\n\tindented");
    // Enter after a paste sends it whole.
    assert_eq!(
        a.on_key(key(KeyCode::Enter)),
        [Op::Message {
            text: "line one\nline two\n\tindented".into()
        }]
    );
}

#[test]
fn palette_selection_runs_the_command() {
    let mut a = app();
    a.on_key(ctrl('p'));
    assert_eq!(a.mode, Mode::Palette);
    typed(&mut a, "cost");
    assert_eq!(
        a.on_key(key(KeyCode::Enter)),
        [Op::Command {
            name: "cost".into(),
            args: String::new()
        }]
    );
    assert_eq!(a.mode, Mode::Chat);

    // A command with arguments goes to the input to be completed.
    a.on_key(ctrl('p'));
    typed(&mut a, "add");
    assert!(a.on_key(key(KeyCode::Enter)).is_empty());
    assert_eq!(a.input.text(), "/add ");

    // Arrow keys move the selection.
    a.input.clear();
    a.on_key(ctrl('p'));
    a.on_key(key(KeyCode::Down));
    a.on_key(key(KeyCode::Down));
    assert_eq!(a.palette.chosen().map(|i| i.label), Some("/files"));
    assert_eq!(
        a.on_key(key(KeyCode::Enter)),
        [Op::Command {
            name: "files".into(),
            args: String::new()
        }]
    );
    a.on_key(ctrl('p'));
    assert!(a.on_key(key(KeyCode::Esc)).is_empty());
    assert_eq!(a.mode, Mode::Chat);
}

fn proposal(id: u64, path: &str) -> Event {
    Event::Proposal {
        id,
        turn: 1,
        path: path.into(),
        diff: format!("--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-old\n+new\n"),
        new_file: false,
    }
}

#[test]
fn review_decides_one_and_all() {
    let mut a = app();
    a.on_event(proposal(7, "a.rs"));
    a.on_event(proposal(8, "b.rs"));
    a.on_event(proposal(9, "c.rs"));
    assert_eq!(a.mode, Mode::Review, "the first proposal opens the review");
    assert_eq!(
        a.on_key(key(KeyCode::Char('a'))),
        [Op::Decide {
            proposal: 7,
            accept: true
        }]
    );
    assert_eq!(a.review_selected, 1, "on to the next pending one");
    assert_eq!(
        a.on_key(key(KeyCode::Char('r'))),
        [Op::Decide {
            proposal: 8,
            accept: false
        }]
    );
    assert_eq!(
        a.on_key(KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT)),
        [Op::Decide {
            proposal: 9,
            accept: true
        }]
    );
    assert_eq!(a.mode, Mode::Chat, "nothing left to decide");
    assert_eq!(a.pending(), 0);
}

#[test]
fn reject_all_and_reopen() {
    let mut a = app();
    a.on_event(proposal(1, "a.rs"));
    a.on_key(key(KeyCode::Esc));
    assert_eq!(a.mode, Mode::Chat);
    a.on_event(proposal(2, "b.rs"));
    assert_eq!(
        a.mode,
        Mode::Chat,
        "a second proposal does not steal the keyboard"
    );
    a.on_key(ctrl('r'));
    assert_eq!(a.mode, Mode::Review);
    assert_eq!(
        a.on_key(KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT)),
        [
            Op::Decide {
                proposal: 1,
                accept: false
            },
            Op::Decide {
                proposal: 2,
                accept: false
            }
        ]
    );
}

#[test]
fn events_build_the_conversation() {
    let mut a = app();
    a.on_event(Event::TurnStarted {
        turn: 1,
        text: "q".into(),
    });
    for piece in ["Hel", "lo ", "world"] {
        a.on_event(Event::Delta {
            turn: 1,
            text: piece.into(),
        });
    }
    assert_eq!(a.entries[1].text, "Hello world");
    a.on_event(Event::TurnFinished {
        turn: 1,
        text: "Hello world".into(),
    });
    assert_eq!(a.streaming, None);
    assert_eq!(
        a.entries[1].kind,
        Kind::Assistant {
            turn: 1,
            done: true
        }
    );
    a.on_event(Event::Error {
        text: "boom".into(),
    });
    assert_eq!(a.error.as_deref(), Some("boom"));
    a.on_key(key(KeyCode::Esc));
    assert_eq!(a.error, None, "Esc dismisses the banner");
    a.on_event(Event::Cleared);
    assert_eq!(a.entries.len(), 1);
    a.on_event(Event::Ended {
        session: "s".into(),
    });
    assert!(a.should_quit());
}

#[test]
fn scrolling_by_page_and_wheel() {
    let mut a = app();
    a.total_lines = 100;
    a.view_height = 20;
    a.on_key(key(KeyCode::PageUp));
    assert_eq!(a.scroll, 18);
    a.on_mouse(MouseEvent {
        kind: MouseEventKind::ScrollUp,
        column: 0,
        row: 0,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(a.scroll, 21);
    a.on_key(key(KeyCode::PageDown));
    a.on_key(key(KeyCode::PageDown));
    assert_eq!(a.scroll, 0);
    for _ in 0..10 {
        a.on_key(key(KeyCode::PageUp));
    }
    assert_eq!(a.scroll, 80, "never past the top");
}

/// A resumed session shows its earlier turns and its cost so far; the next turn follows them.
#[test]
fn a_resumed_session_shows_its_history_and_cost() {
    let mut a = app();
    a.on_event(Event::Started {
        session: "s1".into(),
        provider: "p".into(),
        model: "m".into(),
        context_budget: 1000,
        turns: 2,
    });
    let m = |role: &str, text: &str| crate::session::HistoryMessage {
        role: role.into(),
        text: text.into(),
    };
    a.on_event(Event::Resumed {
        earlier: 0,
        messages: vec![
            m("user", "first question"),
            m("assistant", "first answer"),
            m("user", "second question"),
            m("assistant", "second answer"),
        ],
        session_cost_usd: 0.25,
    });
    assert_eq!(a.session_cost, 0.25);
    let shown: Vec<(&Kind, &str)> = a
        .entries
        .iter()
        .map(|e| (&e.kind, e.text.as_str()))
        .collect();
    assert!(
        shown.contains(&(&Kind::User, "first question")),
        "{shown:?}"
    );
    assert!(
        shown.contains(&(
            &Kind::Assistant {
                turn: 2,
                done: true
            },
            "second answer"
        )),
        "{shown:?}"
    );
    a.on_event(Event::TurnStarted {
        turn: 3,
        text: "third".into(),
    });
    a.on_event(Event::Delta {
        turn: 3,
        text: "new".into(),
    });
    assert_eq!(a.entries.last().map(|e| e.text.as_str()), Some("new"));
    assert_eq!(
        a.entries
            .iter()
            .filter(|e| e.text == "second answer")
            .count(),
        1
    );
}
