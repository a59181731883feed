//! `vibe chat` with a scripted model on 127.0.0.1: the script modes (`-m`, `--json`, `--jsonl`),
//! an edit accepted with `--yes`, written with a backup, validated and healed, costs in the
//! ledger, `--resume` and `--list`; and the session driven through the library API (spawn, ops,
//! events): cancel mid-stream, a provider failure, slash commands, the history summarised (or
//! trimmed) within a tiny context window, and memory over a 200-turn session.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use vibe::session::{self, Event, Handle, Op};

use crate::util::llm_server::{Server, openai};
use crate::util::{Run, Test, ledger_rows};

fn config_text(url: &str, extra: &str) -> String {
    format!(
        "[llm]\nmodel = \"scripted/test-model\"\nretries = 0\nmax_tokens = 100\n\
         [heal]\nstages = [\"syntax\"]\n\
         [providers.scripted]\nkind = \"openai\"\nbase_url = \"{url}/v1\"\nlocal = true\n{extra}"
    )
}

fn setup(t: &Test, url: &str, extra: &str) {
    std::fs::write(t.home.path().join("config.toml"), config_text(url, extra))
        .unwrap_or_else(|e| panic!("config: {e}"));
}

fn answer(text: &str) -> crate::util::llm_server::Reply {
    openai::stream(&[text], Some((100, 20, 0)))
}

fn chat(t: &Test, args: &[&str]) -> Run {
    let mut c = t.cmd();
    c.arg("chat").args(args);
    Run {
        output: c.output().unwrap_or_else(|e| panic!("run vibe: {e}")),
    }
}

fn read(t: &Test, rel: &str) -> String {
    std::fs::read_to_string(t.root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The texts of a request: the system prompt and each message's content.
fn texts(req: &Value) -> Vec<(String, String)> {
    req["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or("").to_string(),
                m["content"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_message_prints_the_answer_and_json_and_jsonl_have_their_shapes() {
    let t = Test::new();
    t.write("app.py", "def greet(name):\n    return 'hi ' + name\n");
    let s = Server::start();
    setup(&t, &s.url(), "");
    s.push(answer("greet says hi."));
    s.push(answer("Second."));
    s.push(answer("Third."));

    let run = chat(&t, &["-m", "what does greet do?"]);
    assert_eq!(run.ok(), "greet says hi.\n");
    assert!(
        run.stderr().contains("scripted/test-model"),
        "{}",
        run.stderr()
    );
    let req = s.requests()[0].body_json().clone();
    let sys = req["messages"][0]["content"].as_str().unwrap_or("");
    assert!(sys.contains("<<<<<<< SEARCH"), "the edit format: {sys}");
    let user = texts(&req).pop().unwrap_or_default().1;
    assert!(
        user.contains("<context>") && user.contains("app.py"),
        "{user}"
    );
    assert!(user.ends_with("what does greet do?"), "{user}");

    let j = chat(&t, &["-m", "again", "--json"]).json();
    assert_eq!(j["schema"], "vibe.chat/1");
    assert_eq!(j["answer"], "Second.");
    assert!(j["session"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(j["usage"]["input_tokens"], 100);
    assert_eq!(j["edits_applied"], serde_json::json!([]));
    assert!(
        j["context"]["budget"].as_u64().is_some_and(|b| b > 0),
        "{j:#}"
    );
    assert!(j["context"]["files"].is_array());
    for key in ["proposals", "validation", "heal", "cost_usd"] {
        assert!(j.get(key).is_some(), "{key} in {j:#}");
    }

    let run = chat(&t, &["-m", "third", "--jsonl"]);
    run.ok();
    let lines = jsonl(&run);
    let types: Vec<&str> = lines.iter().filter_map(|l| l["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"started"));
    assert_eq!(types.last(), Some(&"ended"));
    for ty in ["turn_started", "context", "delta", "usage", "turn_finished"] {
        assert!(types.contains(&ty), "{ty} in {types:?}");
    }
    let delta = lines.iter().find(|l| l["type"] == "delta").cloned();
    assert_eq!(
        delta.map(|d| d["text"].clone()),
        Some(Value::from("Third."))
    );
}

#[test]
fn an_edit_is_applied_with_yes_validated_healed_and_its_costs_recorded() {
    let t = Test::new();
    t.write("calc.py", "def f():\n    return 1\n");
    let s = Server::start();
    setup(&t, &s.url(), "[chat]\nauto_heal = true\n");
    s.push(answer(
        "Done.\n\ncalc.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return (1\n>>>>>>> REPLACE\n",
    ));
    s.push(answer(
        "calc.py\n<<<<<<< SEARCH\n    return (1\n=======\n    return 2\n>>>>>>> REPLACE\n",
    ));
    let run = chat(
        &t,
        &["-m", "make f return something else", "--yes", "--json"],
    );
    let j = run.json();
    assert_eq!(j["edits_applied"], serde_json::json!(["calc.py"]), "{j:#}");
    assert_eq!(j["proposals"][0]["applied"], true);
    assert!(
        j["proposals"][0]["diff"]
            .as_str()
            .unwrap_or("")
            .contains("+    return (1")
    );
    assert_eq!(j["validation"]["passed"], false, "{j:#}");
    assert!(
        j["validation"]["summary"]
            .as_str()
            .unwrap_or("")
            .starts_with("syntax")
    );
    assert_eq!(j["heal"]["healed"], true, "{j:#}\n{}", run.stderr());
    assert_eq!(j["heal"]["written"], true);
    assert_eq!(read(&t, "calc.py"), "def f():\n    return 2\n");
    let backups = std::fs::read_dir(t.root().join(".vibe/backups"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        backups >= 2,
        "a backup run for the edit and one for the heal"
    );
    let rows = ledger_rows(t.home.path());
    let ops: Vec<&str> = rows.iter().map(|r| r.operation.as_str()).collect();
    assert_eq!(ops, ["chat", "heal"]);
    assert!(
        rows.iter()
            .all(|r| r.session == j["session"].as_str().unwrap_or(""))
    );
    // `vibe undo` puts back the heal's run, then the edit's.
    t.run(&["undo"]).ok();
    t.run(&["undo"]).ok();
    assert_eq!(read(&t, "calc.py"), "def f():\n    return 1\n");
}

/// A C file with code in a branch this build skips (tree-sitter cannot parse it; the compiler
/// never reads it): an edit elsewhere validates, an edit that breaks that branch does not.
#[test]
fn an_edit_that_breaks_a_skipped_branch_fails_validation() {
    if vibe::heal::tools::which("cc", &[]).is_none() {
        eprintln!("skipped: cc not installed");
        return;
    }
    let old =
        "int f(void) { return 1; }\n#ifdef NEVER_DEFINED\nint g(int a {\nint v = 1;\n#endif\n";
    let edit = |search: &str, replace: &str| {
        format!("a.c\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n")
    };
    // The session's tree and model, with `extra` config and these answers.
    let session = |extra: &str, answers: &[String]| {
        let t = Test::new();
        t.write("a.c", old);
        t.write(
            ".vibe/config.toml",
            "[heal]\nstages = [\"syntax\", \"compile\"]\n",
        );
        let s = Server::start();
        setup(&t, &s.url(), extra);
        for a in answers {
            s.push(answer(a));
        }
        let run = chat(&t, &["-m", "change a.c", "--yes", "--json"]);
        run.json()
    };
    for (search, replace, passed) in [
        (
            "int f(void) { return 1; }",
            "int f(void) { return 2; }",
            true,
        ),
        ("int v = 1;", "int v = (1 +;", false),
    ] {
        let j = session("", &[edit(search, replace)]);
        assert_eq!(j["edits_applied"], serde_json::json!(["a.c"]), "{j:#}");
        assert_eq!(j["validation"]["passed"], passed, "{replace}: {j:#}");
    }
    // Auto-heal compares its candidates with the text before the chat's edit: a fix elsewhere
    // does not make the chat's breakage the user's own.
    let fix_elsewhere = edit("int f(void) { return 1; }", "int f(void) { return 3; }");
    let j = session(
        "[chat]\nauto_heal = true\n",
        &[
            edit("int v = 1;", "int v = (1 +;"),
            fix_elsewhere.clone(),
            fix_elsewhere.clone(),
            fix_elsewhere,
        ],
    );
    assert_eq!(j["validation"]["passed"], false, "{j:#}");
    assert_eq!(j["heal"]["healed"], false, "{j:#}");
    assert_eq!(j["heal"]["written"], false, "{j:#}");
}

#[test]
fn without_yes_edits_are_only_proposed() {
    let t = Test::new();
    t.write("calc.py", "def f():\n    return 1\n");
    let s = Server::start();
    setup(&t, &s.url(), "");
    s.push(answer(
        "calc.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n",
    ));
    let run = chat(&t, &["-m", "change f"]);
    let out = run.ok();
    assert!(out.contains("+    return 2"), "the diff is printed: {out}");
    assert!(run.stderr().contains("--yes"), "{}", run.stderr());
    assert_eq!(read(&t, "calc.py"), "def f():\n    return 1\n");
}

/// An answer cut at max_tokens: its whole blocks are proposed, the one cut off is left out and
/// the user told so.
#[test]
fn an_answer_cut_short_proposes_its_whole_blocks() {
    let t = Test::new();
    t.write("calc.py", "def f():\n    return 1\n");
    let s = Server::start();
    setup(&t, &s.url(), "");
    s.push(openai::stream_cut(
        &["calc.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n\ncalc.py\n<<<<<<< SEARCH\n    retu"],
        Some((100, 100, 0)),
    ));
    let run = chat(&t, &["-m", "change f"]);
    let out = run.ok();
    assert!(out.contains("+    return 2"), "the diff is printed: {out}");
    assert!(
        run.stderr()
            .contains("the edit block at answer line 9 was cut off by the end of the answer"),
        "{}",
        run.stderr()
    );
}

/// A small model's whole changed file, fenced after its path, is a proposal for a file the
/// model saw whole; a fenced snippet after the path is not.
#[test]
fn a_fenced_whole_file_is_a_proposal_and_a_snippet_is_not() {
    let old = "def f():\n    return 1\n\n\ndef g():\n    return f() + 1\n";
    let new = "def f():\n    return 2\n\n\ndef g():\n    return f() + 1\n";
    for (reply, proposed) in [
        (format!("calc.py\n```python\n{new}```\n"), true),
        ("calc.py\n```python\n    return 2\n```\n".to_string(), false),
    ] {
        let t = Test::new();
        t.write("calc.py", old);
        let s = Server::start();
        setup(&t, &s.url(), "");
        s.push(answer(&reply));
        let run = chat(&t, &["-m", "change f in calc.py to return 2"]);
        let out = run.ok();
        assert_eq!(out.contains("+    return 2"), proposed, "{reply}: {out}");
        assert_eq!(read(&t, "calc.py"), old);
    }
}

/// `chat.edit_format`: "auto" asks for whole files after an answer whose blocks could not be
/// read, "whole" from the start, "search-replace" never.
#[test]
fn whole_files_are_asked_for_after_unreadable_blocks_or_when_configured() {
    let old = "def f():\n    return 1\n\n\ndef g():\n    return f() + 1\n";
    let new = "def f():\n    return 2\n\n\ndef g():\n    return f() + 1\n";
    let broken = "calc.py\n<<<<<<< SEARCH\n    return 1\n>>>>>>> REPLACE\n";
    let whole = format!("/calc.py\n```python\n{new}```\n");
    let asks_whole =
        |sys: &str| sys.contains("the whole new file") && !sys.contains("<<<<<<< SEARCH");
    for (format, first_whole, second_whole) in [
        ("auto", false, true),
        ("whole", true, true),
        ("search-replace", false, false),
    ] {
        let t = Test::new();
        t.write("calc.py", old);
        let s = Server::start();
        s.push(answer(broken));
        s.push(answer(&whole));
        let h = start(
            &t,
            &s.url(),
            &format!("[chat]\nedit_format = \"{format}\"\n"),
        );
        // The blocks' error comes after the turn's end.
        message(&h, "change f in calc.py to return 2");
        until(&h, "the edit error", |e| {
            matches!(e, Event::EditError { .. })
        });
        send(
            &h,
            Op::Message {
                text: "change f in calc.py to return 2, please".into(),
            },
        );
        until(&h, "a proposal", |e| matches!(e, Event::Proposal { .. }));
        let sys = |i: usize| texts(s.requests()[i].body_json())[0].1.clone();
        assert_eq!(asks_whole(&sys(0)), first_whole, "{format}: {}", sys(0));
        assert_eq!(asks_whole(&sys(1)), second_whole, "{format}: {}", sys(1));
        // The whole file is a proposal in any mode (it is read as one when there are no blocks).
        quit(h);
        assert_eq!(read(&t, "calc.py"), old);
    }
}

#[test]
fn resume_sends_the_history_and_list_shows_the_session() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let s = Server::start();
    setup(&t, &s.url(), "");
    s.push(answer("First answer."));
    s.push(answer("Second answer."));
    let first = chat(&t, &["-m", "first question", "--json"]).json();
    let second = chat(&t, &["--resume", "-m", "second question", "--json"]).json();
    assert_eq!(first["session"], second["session"]);
    let msgs = texts(s.requests()[1].body_json());
    assert_eq!(msgs[1], ("user".into(), "first question".into()));
    assert_eq!(msgs[2], ("assistant".into(), "First answer.".into()));
    assert!(msgs[3].1.ends_with("second question"));
    let list = chat(&t, &["--list", "--json"]).json();
    assert_eq!(list["sessions"][0]["id"], first["session"]);
    assert_eq!(list["sessions"][0]["turns"], 2);
    assert_eq!(list["sessions"][0]["title"], "first question");
    let unknown = chat(&t, &["--resume", "nope", "-m", "x"]);
    assert_eq!(unknown.code(), 2, "{}", unknown.stderr());
}

#[test]
fn a_provider_failure_exits_1_and_a_budget_refusal_3() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let s = Server::start();
    setup(&t, &s.url(), "");
    s.push(openai::error(
        400,
        "bad request",
        "invalid_request_error",
        None,
    ));
    let run = chat(&t, &["-m", "hi"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("HTTP 400"), "{}", run.stderr());
    // The model priced (not local), with `extra` settings.
    let priced = |extra: &str| {
        let prices =
            "[providers.scripted.models.\"test-model\"]\ninput = 1000.0\noutput = 1000.0\n";
        let text = config_text(&s.url(), &format!("{prices}{extra}")).replace("local = true\n", "");
        std::fs::write(t.home.path().join("config.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    };
    priced("[budget]\nsession = 0.0001\n");
    let run = chat(&t, &["-m", "hi"]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    // A stream that breaks after output is paid for what was read: --json says what the ledger
    // holds, not $0.
    priced("");
    s.push(openai::stream(&["one ", "two ", "three"], Some((3, 3, 0))).reset_after(3));
    let run = chat(&t, &["-m", "hi", "--json"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let j: Value = serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}"));
    let paid: f64 = ledger_rows(t.home.path()).iter().map(|r| r.cost_usd).sum();
    assert!(paid > 0.0);
    assert_eq!(j["cost_usd"].as_f64(), Some(paid), "{j:#}");
    assert_eq!(j["session_cost_usd"].as_f64(), Some(paid), "{j:#}");
    assert!(
        j["usage"]["output_tokens"].as_u64().unwrap_or(0) > 0,
        "{j:#}"
    );
}

/// With `--json` the answer is printed whole at the end: a stream that breaks after part of it
/// was read, but before anything was shown, is retried (it used to fail, saying output "was
/// shown"). Printed as it comes, it is not.
#[test]
fn a_broken_stream_nobody_saw_is_retried_under_json() {
    let t = Test::fixture("python");
    let s = Server::start();
    let text = config_text(&s.url(), "").replace("retries = 0", "retries = 1\nbackoff_base = 0.01");
    std::fs::write(t.home.path().join("config.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    s.push(openai::stream(&["one ", "two ", "three"], Some((3, 3, 0))).reset_after(3));
    s.push(answer("Whole."));
    let j = chat(&t, &["-m", "hi", "--json"]).json();
    assert_eq!(j["answer"], "Whole.", "{j:#}");
    assert_eq!(s.request_count(), 2);
    s.push(openai::stream(&["one ", "two ", "three"], Some((3, 3, 0))).reset_after(3));
    s.push(answer("Never asked for."));
    let run = chat(&t, &["-m", "hi"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr().contains("after part of the answer was shown"),
        "{}",
        run.stderr()
    );
    assert_eq!(s.request_count(), 3);
}

// ---------------------------------------------------------------------------------------------
// The session through the library API

/// The ledger of library-driven sessions: one temp `VIBE_HOME` for this test process (the
/// binary's tests set their own on each command).
fn lib_home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: set once, before any session of this process reads it; other tests pass
        // VIBE_HOME to the commands they run.
        unsafe { std::env::set_var("VIBE_HOME", d.path()) };
        d
    })
    .path()
}

fn start(t: &Test, url: &str, extra: &str) -> Handle {
    start_with(t, url, extra, session::Options::default())
}

/// Events until one matches (which is included); panics after 20 s.
fn until(h: &Handle, what: &str, mut done: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let mut seen = vec![];
    loop {
        match h.events.recv_timeout(Duration::from_secs(20)) {
            Ok(e) => {
                let stop = done(&e);
                seen.push(e);
                if stop {
                    return seen;
                }
            }
            Err(e) => panic!("waiting for {what}: {e}; saw {seen:#?}"),
        }
    }
}

fn send(h: &Handle, op: Op) {
    h.ops.send(op).unwrap_or_else(|e| panic!("{e}"));
}

fn message(h: &Handle, text: &str) -> Vec<Event> {
    send(h, Op::Message { text: text.into() });
    until(h, "the turn's end", |e| {
        matches!(
            e,
            Event::TurnFinished { .. } | Event::Error { .. } | Event::Cancelled { .. }
        )
    })
}

fn command(h: &Handle, name: &str, args: &str) -> Vec<Event> {
    send(
        h,
        Op::Command {
            name: name.into(),
            args: args.into(),
        },
    );
    until(h, name, |e| {
        matches!(
            e,
            Event::Output { .. }
                | Event::Error { .. }
                | Event::Cleared
                | Event::ModelChanged { .. }
        )
    })
}

/// Sends `text` and waits for the answer's (last) proposal: its id, and the events until it.
fn propose(h: &Handle, text: &str) -> (u64, Vec<Event>) {
    send(h, Op::Message { text: text.into() });
    let events = until(h, "a proposal", |e| matches!(e, Event::Proposal { .. }));
    let Some(Event::Proposal { id, .. }) = events.last() else {
        panic!("{events:#?}")
    };
    (*id, events)
}

fn accept(h: &Handle, proposal: u64) {
    send(
        h,
        Op::Decide {
            proposal,
            accept: true,
        },
    );
}

fn quit(h: Handle) {
    send(&h, Op::Quit);
    until(&h, "ended", |e| matches!(e, Event::Ended { .. }));
    let _ = h.thread.join();
}

#[test]
fn cancel_stops_a_stalled_stream_at_once_and_the_session_answers_next() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let s = Server::start();
    s.push(
        openai::stream(&["Hello ", "there"], Some((10, 2, 0)))
            .stall_after(2, Duration::from_secs(5)),
    );
    s.push(answer("Second answer."));
    let h = start(&t, &s.url(), "");
    send(&h, Op::Message { text: "hi".into() });
    until(&h, "the first delta", |e| matches!(e, Event::Delta { .. }));
    let asked = std::time::Instant::now();
    send(&h, Op::Cancel);
    until(&h, "cancelled", |e| {
        matches!(e, Event::Cancelled { turn: 1 })
    });
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    let events = message(&h, "again");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::TurnFinished { text, .. } if text == "Second answer.")),
        "{events:#?}"
    );
    // The cancelled turn is not in the history.
    assert_eq!(texts(s.requests()[1].body_json()).len(), 2);
    quit(h);
}

/// A session whose accepted edit is being validated by the sleeping validator: its handle, the
/// validator's pid, the test dir and the scripted server (kept alive with the session).
fn validating_session() -> (Handle, u32, Test, Server) {
    let t = Test::new();
    t.write("calc.py", "def f():\n    return 1\n");
    let pid_file = t.root().join("slow.pid");
    t.write(
        ".vibe/config.toml",
        format!(
            "[heal]
stages = [\"syntax\", \"compile\"]
{}",
            crate::util::sleeping_validator(&pid_file)
        ),
    );
    let s = Server::start();
    s.push(answer(
        "calc.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n",
    ));
    s.push(answer("Next."));
    let h = start(&t, &s.url(), "");
    let (id, _) = propose(&h, "change f");
    accept(&h, id);
    let validator = crate::util::started_pid(&pid_file);
    (h, validator, t, s)
}

/// Cancels the session's running validation: the validator's process group is killed at once
/// (the session thread is inside it and reads no op until it ends), the turn is cancelled, the
/// file stays as written, and the session answers the next message.
fn cancel_and_check(h: Handle, validator: u32, t: &Test) {
    let events = cancel_until(&h, "cancelled", |e| matches!(e, Event::Cancelled { .. }));
    assert!(
        !events.iter().any(|e| matches!(e, Event::Validated { .. })),
        "{events:#?}"
    );
    assert_gone(validator, "validator");
    assert_eq!(read(t, "calc.py"), "def f():\n    return 2\n");
    goes_on(h);
}

/// Sends Cancel and waits for `done`, which must come within 10 s.
fn cancel_until(h: &Handle, what: &str, done: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let asked = std::time::Instant::now();
    send(h, Op::Cancel);
    let events = until(h, what, done);
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );
    events
}

fn assert_gone(pid: u32, what: &str) {
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the {what} ({pid}) is still running"
    );
}

/// The session answers the next message (the script's "Next."), then quits.
fn goes_on(h: Handle) {
    let next = message(&h, "and now?");
    assert!(
        next.iter()
            .any(|e| matches!(e, Event::TurnFinished { text, .. } if text == "Next.")),
        "{next:#?}"
    );
    quit(h);
}

/// Cancel while a written file's validator runs stops it (see `cancel_and_check`).
#[test]
fn cancel_stops_a_running_validator() {
    let (h, validator, t, _s) = validating_session();
    cancel_and_check(h, validator, &t);
}

/// Cancel in one session stops its own validator only: another session in the same process
/// (as chat sessions in these tests are) goes on validating until it is cancelled itself.
#[test]
fn cancel_stops_only_its_own_sessions_validator() {
    let (first, first_pid, first_dir, _s1) = validating_session();
    let (second, second_pid, second_dir, _s2) = validating_session();
    cancel_and_check(first, first_pid, &first_dir);
    assert!(
        Path::new(&format!("/proc/{second_pid}")).exists(),
        "the other session's validator was stopped too"
    );
    cancel_and_check(second, second_pid, &second_dir);
}

#[test]
fn a_provider_failure_is_an_error_event_and_the_next_turn_works() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let s = Server::start();
    s.push(openai::error(400, "nope", "invalid_request_error", None));
    s.push(answer("Fine now."));
    let h = start(&t, &s.url(), "");
    let first = message(&h, "hi");
    assert!(
        matches!(first.last(), Some(Event::Error { text }) if text.contains("HTTP 400")),
        "{first:#?}"
    );
    let next = message(&h, "hi again");
    assert!(
        matches!(next.last(), Some(Event::TurnFinished { .. })),
        "{next:#?}"
    );
    quit(h);
}

#[test]
fn slash_commands_add_drop_undo_clear_model_and_unknown() {
    let t = Test::new();
    t.write("notes.txt", "ZEBRA-NOTE\n");
    t.write("calc.py", "def f():\n    return 1\n");
    let s = Server::start();
    s.push(answer("One."));
    s.push(answer(
        "calc.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n",
    ));
    s.push(answer("Three."));
    let h = start(
        &t,
        &s.url(),
        "[providers.scripted.models.\"other\"]\ncontext_window = 9000\n",
    );

    let added = command(&h, "add", "notes.txt");
    assert!(matches!(added.last(), Some(Event::Output { text, .. }) if text.contains("notes.txt")));
    let bad = command(&h, "add", "../outside.txt");
    assert!(matches!(bad.last(), Some(Event::Error { .. })), "{bad:#?}");
    let turn = message(&h, "what is in the notes?");
    assert!(
        turn.iter().any(|e| matches!(e, Event::Context { files, .. } if files.iter().any(|f| f.path == "notes.txt" && f.included == "added"))),
        "{turn:#?}"
    );
    assert!(
        texts(s.requests()[0].body_json())[1]
            .1
            .contains("ZEBRA-NOTE")
    );
    let dropped = command(&h, "drop", "notes.txt");
    assert!(
        matches!(dropped.last(), Some(Event::Output { text, .. }) if text.contains("no files added"))
    );

    // An edit, decided by the front end, then undone.
    let (id, proposed) = propose(&h, "change f");
    assert!(
        matches!(proposed.last(), Some(Event::Proposal { path, .. }) if path == "calc.py"),
        "{proposed:#?}"
    );
    let diff = command(&h, "diff", "");
    assert!(
        matches!(diff.last(), Some(Event::Output { text, .. }) if text.contains("+    return 2"))
    );
    accept(&h, id);
    until(&h, "validated", |e| {
        matches!(e, Event::Validated { passed: true, .. })
    });
    assert_eq!(read(&t, "calc.py"), "def f():\n    return 2\n");
    let undone = command(&h, "undo", "");
    assert!(
        matches!(undone.last(), Some(Event::Output { text, .. }) if text.contains("undone")),
        "{undone:#?}"
    );
    assert_eq!(read(&t, "calc.py"), "def f():\n    return 1\n");

    assert!(matches!(
        command(&h, "clear", "").last(),
        Some(Event::Cleared)
    ));
    message(&h, "fresh start");
    assert_eq!(
        texts(s.requests()[2].body_json()).len(),
        2,
        "system + the message only"
    );

    let model = command(&h, "model", "scripted/other");
    assert!(
        matches!(model.last(), Some(Event::ModelChanged { model, .. }) if model == "other"),
        "{model:#?}"
    );
    let unknown = command(&h, "frobnicate", "");
    assert!(
        matches!(unknown.last(), Some(Event::Error { text }) if text.contains("unknown command /frobnicate") && text.contains("/add")),
        "{unknown:#?}"
    );
    let then = until(&h, "unknown_command", |e| {
        matches!(e, Event::UnknownCommand { .. })
    });
    assert_eq!(
        then,
        [Event::UnknownCommand {
            name: "frobnicate".into()
        }]
    );
    for name in ["files", "tokens", "cost", "help", "map"] {
        assert!(
            matches!(command(&h, name, "").last(), Some(Event::Output { .. })),
            "/{name}"
        );
    }
    quit(h);
}

/// A tiny context window: the history is summarised (or trimmed when the summary request
/// fails) and no request ever exceeds the window.
fn long_session(summary_fails: bool) {
    let t = Test::new();
    t.write("a.py", "def alpha():\n    return 1\n");
    let s = Server::start();
    // Past max_tokens (100 here) but within where vibe stops reading (189): kept whole.
    let long = "word ".repeat(185);
    for _ in 0..3 {
        s.push(answer(&long));
    }
    if summary_fails {
        s.push(openai::error(
            400,
            "no summary",
            "invalid_request_error",
            None,
        ));
    } else {
        s.push(answer("SUMMARY-TEXT"));
    }
    s.push(answer("Fourth."));
    let window = 1200;
    let h = start(
        &t,
        &s.url(),
        &format!("context_window = {window}\n[chat]\ncontext_budget = 200\n"),
    );
    let mut events = vec![];
    for i in 1..=4 {
        events.extend(message(&h, &format!("question {i}")));
    }
    assert!(
        matches!(events.last(), Some(Event::TurnFinished { text, .. }) if text == "Fourth."),
        "{events:#?}"
    );
    let reqs = s.requests();
    assert_eq!(reqs.len(), 5);
    let sum_sys = reqs[3].body_json()["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(sum_sys.starts_with("You summarise"), "{sum_sys}");
    let last = texts(reqs[4].body_json());
    let notice = |word: &str| {
        events
            .iter()
            .any(|e| matches!(e, Event::Notice { text, .. } if text.contains(word)))
    };
    if summary_fails {
        assert!(notice("dropped"), "{events:#?}");
        assert!(!last[0].1.contains("SUMMARY-TEXT"));
    } else {
        assert!(notice("summarised"), "{events:#?}");
        assert!(last[0].1.contains("SUMMARY-TEXT"), "{}", last[0].1);
    }
    assert!(
        last.len() < 8,
        "older turns left the window: {}",
        last.len()
    );
    let enc = vibe::context::tokens::Encoding::O200kBase;
    for r in &reqs {
        let n: usize = texts(r.body_json()).iter().map(|(_, c)| enc.count(c)).sum();
        assert!(
            n + 100 <= window,
            "a request of {n} tokens in a window of {window}"
        );
    }
    quit(h);
}

#[test]
fn history_over_its_share_is_summarised() {
    long_session(false);
}

#[test]
fn history_is_trimmed_when_summarising_fails() {
    long_session(true);
}

/// Resident memory (kB) of this process.
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// 200 turns with a small window (so the history is summarised again and again): RSS at turn
/// 20 and turn 200. Run with `cargo test --test integration chat_memory -- --ignored
/// --nocapture`; figures in docs/chat.md.
#[test]
#[ignore]
fn chat_memory_over_200_turns() {
    let t = Test::new();
    t.write("a.py", "def alpha():\n    return 1\n");
    let s = Server::start();
    s.set_default(answer(&"word ".repeat(200)));
    let h = start(&t, &s.url(), "context_window = 4000\n");
    let mut at20 = 0;
    for i in 1..=200 {
        let ev = message(&h, &format!("question {i}"));
        assert!(
            matches!(ev.last(), Some(Event::TurnFinished { .. })),
            "turn {i}: {ev:#?}"
        );
        if i == 20 {
            at20 = rss_kb();
        }
    }
    let at200 = rss_kb();
    eprintln!("RSS at turn 20: {at20} kB; at turn 200: {at200} kB");
    assert!(at200 < at20 + 20_000, "{at20} kB → {at200} kB");
    quit(h);
}

#[test]
fn a_command_plugin_is_a_slash_command() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    t.write(
        "plugins/hello/plugin.toml",
        "name = \"hello\"\nversion = \"1\"\ndescription = \"greets\"\nkinds = [\"command\"]\ncommand = [\"python3\", \"main.py\"]\n",
    );
    t.write(
        "plugins/hello/main.py",
        "import json, sys\nreq = json.load(sys.stdin)\nprint(json.dumps({\"output\": \"hello \" + \" \".join(req[\"args\"])}))\n",
    );
    let s = Server::start();
    let h = start(&t, &s.url(), "[plugins]\ntrust_repo = true\n");
    let seen = command(&h, "hello", "big world");
    assert!(
        seen.iter().any(|e| matches!(e, Event::Output { command, text } if command == "hello" && text.trim() == "hello big world")),
        "{seen:#?}"
    );
    let seen = command(&h, "nosuch", "");
    assert!(
        seen.iter().any(|e| matches!(e, Event::Error { text } if text.contains("unknown command /nosuch") && text.contains("/hello"))),
        "{seen:#?}"
    );
    quit(h);
}

/// A repository command plugin `slow` that writes its PID to the returned file, then sleeps.
fn slow_plugin(t: &Test) -> std::path::PathBuf {
    let pid_file = t.root().join("slow.pid");
    t.write(
        "plugins/slow/plugin.toml",
        "name = \"slow\"\nversion = \"1\"\ndescription = \"sleeps\"\nkinds = [\"command\"]\ncommand = [\"sh\", \"run.sh\"]\ntimeout = 120\n",
    );
    t.write(
        "plugins/slow/run.sh",
        format!("{}\n", crate::util::pid_then_sleep(&pid_file)),
    );
    pid_file
}

/// Cancel while a command plugin runs kills its process group (the session thread is inside
/// it): the command ends with an error that says so, and the session goes on.
#[test]
fn cancel_stops_a_running_command_plugin() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let pid_file = slow_plugin(&t);
    let s = Server::start();
    s.push(answer("Next."));
    let h = start(&t, &s.url(), "[plugins]\ntrust_repo = true\n");
    send(
        &h,
        Op::Command {
            name: "slow".into(),
            args: String::new(),
        },
    );
    let plugin = crate::util::started_pid(&pid_file);
    let seen = cancel_until(&h, "the command's end", |e| {
        matches!(e, Event::Output { .. } | Event::Error { .. })
    });
    assert!(
        matches!(seen.last(), Some(Event::Error { text }) if text.contains("cancelled")),
        "{seen:#?}"
    );
    assert_gone(plugin, "plugin");
    goes_on(h);
}

/// `/heal` after a chat edit broke a C branch this build skips compares its candidates with the
/// text before that edit: a fix elsewhere does not make the breakage the user's own.
#[test]
fn slash_heal_keeps_a_chat_edit_that_broke_a_skipped_branch_an_error() {
    if vibe::heal::tools::which("cc", &[]).is_none() {
        eprintln!("skipped: cc not installed");
        return;
    }
    let t = Test::new();
    t.write(
        "a.c",
        "int f(void) { return 1; }\n#ifdef NEVER_DEFINED\nint g(int a {\nint v = 1;\n#endif\n",
    );
    t.write(
        ".vibe/config.toml",
        "[heal]\nstages = [\"syntax\", \"compile\"]\nmax_attempts = 1\n",
    );
    let s = Server::start();
    s.push(answer(
        "a.c\n<<<<<<< SEARCH\nint v = 1;\n=======\nint v = (1 +;\n>>>>>>> REPLACE\n",
    ));
    s.push(answer(
        "a.c\n<<<<<<< SEARCH\nint f(void) { return 1; }\n=======\nint f(void) { return 3; }\n>>>>>>> REPLACE\n",
    ));
    let h = start(&t, &s.url(), "");
    let (id, _) = propose(&h, "change a.c");
    accept(&h, id);
    let seen = until(&h, "the validation", |e| {
        matches!(e, Event::Validated { .. })
    });
    assert!(
        matches!(seen.last(), Some(Event::Validated { passed: false, .. })),
        "{seen:#?}"
    );
    send(
        &h,
        Op::Command {
            name: "heal".into(),
            args: String::new(),
        },
    );
    let seen = until(&h, "the heal", |e| matches!(e, Event::HealFinished { .. }));
    assert!(
        matches!(
            seen.last(),
            Some(Event::HealFinished {
                healed: false,
                written: false,
                ..
            })
        ),
        "{seen:#?}"
    );
    assert!(read(&t, "a.c").contains("int f(void) { return 1; }"));
    quit(h);
}

#[test]
fn a_newer_proposal_for_a_file_replaces_the_waiting_one() {
    let t = Test::new();
    t.write("calc.py", "def f():\n    return 1\n");
    let s = Server::start();
    s.push(answer(
        "calc.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n",
    ));
    s.push(answer(
        "calc.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 3\n>>>>>>> REPLACE\n",
    ));
    let h = start(&t, &s.url(), "");
    let (old, _) = propose(&h, "make it 2");
    // The first proposal is still waiting when the second answer proposes the same file.
    let (id, second) = propose(&h, "no, 3");
    assert!(
        second
            .iter()
            .any(|e| matches!(e, Event::Rejected { proposal } if *proposal == old)),
        "{second:#?}"
    );
    accept(&h, id);
    until(&h, "applied", |e| matches!(e, Event::Applied { .. }));
    assert_eq!(read(&t, "calc.py"), "def f():\n    return 3\n");
    quit(h);
}

#[test]
fn an_added_file_is_not_packed_twice() {
    let t = Test::new();
    t.write("calc.py", "def total(items):\n    return sum(items)\n");
    t.write("other.py", "from calc import total\n\nprint(total([1]))\n");
    let s = Server::start();
    s.push(answer("It sums."));
    let h = start(&t, &s.url(), "");
    command(&h, "add", "calc.py");
    let turn = message(&h, "what does total in calc.py do?");
    let files: Vec<(String, String)> = turn
        .iter()
        .find_map(|e| match e {
            Event::Context { files, .. } => Some(
                files
                    .iter()
                    .map(|f| (f.path.clone(), f.included.clone()))
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default();
    let calc: Vec<&(String, String)> = files.iter().filter(|(p, _)| p == "calc.py").collect();
    assert_eq!(
        calc,
        [&("calc.py".to_string(), "added".to_string())],
        "{files:?}"
    );
    let prompt = texts(s.requests()[0].body_json())
        .iter()
        .map(|(_, t)| t.clone())
        .collect::<String>();
    assert_eq!(prompt.matches("return sum(items)").count(), 1, "{prompt}");
    quit(h);
}

// ---------------------------------------------------------------------------------------------
// QA findings

/// [`start`] with session options (a session to resume).
fn start_with(t: &Test, url: &str, extra: &str, opts: session::Options) -> Handle {
    lib_home();
    let user = t.home.path().join("config.toml");
    std::fs::write(&user, config_text(url, extra)).unwrap_or_else(|e| panic!("{e}"));
    let config = vibe::config::Config::load(&vibe::config::Sources {
        user_file: Some(user),
        repo_root: Some(t.root().to_path_buf()),
        env: vec![],
        overrides: vec![],
    })
    .unwrap_or_else(|e| panic!("{e}"));
    session::spawn(t.root().to_path_buf(), config, opts).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Two processes resume one session and each adds a turn: neither turn is lost, and the second
/// to save says that the session was continued elsewhere.
#[test]
fn two_processes_continuing_one_session_keep_both_turns() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let s = Server::start();
    s.push(answer("First."));
    s.push(answer("From one."));
    s.push(answer("From two."));
    s.push(answer("Fourth."));
    let h = start(&t, &s.url(), "");
    let id = h.info.session.clone();
    message(&h, "first");
    quit(h);
    let resume = session::Options {
        resume: Some(id.clone()),
        ..Default::default()
    };
    let one = start_with(&t, &s.url(), "", resume.clone());
    let two = start_with(&t, &s.url(), "", resume);
    let events = message(&one, "from one");
    assert!(
        matches!(events.last(), Some(Event::TurnFinished { .. })),
        "{events:#?}"
    );
    let events = message(&two, "from two");
    let error = events.iter().find_map(|e| match e {
        Event::Error { text } => Some(text.clone()),
        _ => None,
    });
    assert!(
        error.as_deref().is_some_and(|e| e.contains(&format!(
            "session {id} was continued by another vibe process"
        ))),
        "{events:#?}"
    );
    // The answer is still shown (and kept).
    until(&two, "the answer", |e| {
        matches!(e, Event::TurnFinished { .. })
    });
    // The second process now sends the other's turn too.
    let events = message(&two, "fourth");
    assert!(
        matches!(events.last(), Some(Event::TurnFinished { .. })),
        "{events:#?}"
    );
    let sent: Vec<String> = texts(s.requests()[3].body_json())
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    assert!(sent.iter().any(|c| c == "From one."), "{sent:#?}");
    quit(one);
    quit(two);
    let list = session::list(t.root()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list[0].turns, 4, "{list:#?}");
}

/// The model priced (not local) at $1000 per million tokens, with `extra` settings.
fn priced(t: &Test, url: &str, extra: &str) {
    let prices = "[providers.scripted.models.\"test-model\"]\ninput = 1000.0\noutput = 1000.0\n";
    let text = config_text(url, &format!("{prices}{extra}")).replace("local = true\n", "");
    std::fs::write(t.home.path().join("config.toml"), text).unwrap_or_else(|e| panic!("{e}"));
}

/// Lines of `--jsonl` output.
fn jsonl(run: &Run) -> Vec<Value> {
    run.stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn types(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l["type"].as_str().map(str::to_string))
        .collect()
}

/// A heal that a budget refuses (auto_heal after an edit that broke the file) is a budget
/// refusal like any other: an `error`, then `budget_refused`, exit 3.
#[test]
fn a_budget_refused_heal_exits_3() {
    let t = Test::new();
    t.write("calc.py", "def f():\n    return 1\n");
    let s = Server::start();
    // The answer costs $2.02 (2,000 tokens read, as many as a server may plausibly say for
    // this prompt): the session budget of $2.50 leaves too little for the heal's request.
    priced(
        &t,
        &s.url(),
        "[chat]\nauto_heal = true\n[budget]\nsession = 2.5\n",
    );
    s.push(openai::stream(
        &["calc.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return (1\n>>>>>>> REPLACE\n"],
        Some((2_000, 20, 0)),
    ));
    let run = chat(&t, &["-m", "change f", "--yes", "--jsonl"]);
    assert_eq!(run.code(), 3, "{}\n{}", run.stdout(), run.stderr());
    let ty = types(&jsonl(&run));
    let error = ty.iter().rposition(|t| t == "error");
    let refused = ty.iter().position(|t| t == "budget_refused");
    assert!(
        matches!((error, refused), (Some(e), Some(r)) if e + 1 == r),
        "{ty:?}"
    );
    assert!(ty.contains(&"heal_finished".to_string()), "{ty:?}");
    assert_eq!(s.request_count(), 1, "the heal was not sent");
}

/// A summary of the history that a budget refuses drops nothing: the turn stops with the
/// refusal (exit 3), and the next turn still has the whole history to summarise.
#[test]
fn a_refused_summary_drops_nothing() {
    let t = Test::new();
    t.write("a.py", "def alpha():\n    return 1\n");
    let s = Server::start();
    let long = "word ".repeat(250);
    let window = "context_window = 1500\n";
    let chat_cfg = "[chat]\ncontext_budget = 200\n";
    // The window goes in the provider's table, before the prices.
    let with_window = |extra: &str| {
        let prices =
            "[providers.scripted.models.\"test-model\"]\ninput = 1000.0\noutput = 1000.0\n";
        let text = config_text(&s.url(), &format!("{window}{prices}{chat_cfg}{extra}"))
            .replace("local = true\n", "");
        std::fs::write(t.home.path().join("config.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    };
    with_window("");
    for i in 1..=3 {
        s.push(openai::stream(&[&long], Some((100, 20, 0))));
        let args = if i == 1 {
            vec!["-m".to_string(), format!("question {i}")]
        } else {
            vec!["--resume".into(), "-m".into(), format!("question {i}")]
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        chat(&t, &args).ok();
    }
    assert_eq!(s.request_count(), 3);
    // $0.36 spent: a session budget of $0.30 refuses the summary the fourth turn needs.
    with_window("[budget]\nsession = 0.30\n");
    let run = chat(&t, &["--resume", "-m", "question 4"]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(!run.stderr().contains("dropped"), "{}", run.stderr());
    assert_eq!(s.request_count(), 3, "nothing was sent");
    // Without the budget, the next turn summarises the messages from the first on.
    with_window("");
    s.push(answer("SUMMARY"));
    s.push(answer("Fifth."));
    chat(&t, &["--resume", "-m", "question 5"]).ok();
    let summary = texts(s.requests()[3].body_json());
    assert!(
        summary.iter().any(|(_, c)| c.contains("question 1")),
        "{summary:#?}"
    );
}

/// Edits accepted with --yes that cannot be written (.vibe/backups is a file) fail the run.
#[test]
fn edits_that_cannot_be_written_exit_1() {
    let t = Test::new();
    t.write("calc.py", "def f():\n    return 1\n");
    t.write(".vibe/backups", "not a directory");
    let s = Server::start();
    setup(&t, &s.url(), "");
    s.push(answer(
        "calc.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n",
    ));
    let run = chat(&t, &["-m", "change f", "--yes"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(
        run.stderr().contains("the edits were not written"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("hint: no file was changed"),
        "{}",
        run.stderr()
    );
    assert_eq!(read(&t, "calc.py"), "def f():\n    return 1\n");
}

/// `--resume` without an ID skips sessions that never had a turn, and `--list` does not show
/// them.
#[test]
fn resume_skips_sessions_without_turns() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let s = Server::start();
    setup(&t, &s.url(), "");
    s.push(answer("First answer."));
    s.push(answer("Second answer."));
    let first = chat(&t, &["-m", "first question", "--json"]).json();
    // A session that ends before its first turn (a command only).
    chat(&t, &["-m", "/cost"]).ok();
    let second = chat(&t, &["--resume", "-m", "second question", "--json"]).json();
    assert_eq!(first["session"], second["session"]);
    let list = chat(&t, &["--list", "--json"]).json();
    assert_eq!(
        list["sessions"].as_array().map(Vec::len),
        Some(1),
        "{list:#}"
    );
}

/// `/heal` refuses a path outside the repository as `/add` does, before any model is asked.
#[test]
fn slash_heal_refuses_paths_outside_the_repository() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let s = Server::start();
    let h = start(&t, &s.url(), "");
    for (path, add_error) in [("../x.py", "/add"), ("/etc/hostname", "/add")] {
        // /add says what failed, then lists the added files.
        let add = command(&h, "add", path);
        until(&h, "/add's list", |e| matches!(e, Event::Output { .. }));
        let heal = command(&h, "heal", path);
        let text = |events: &[Event]| {
            events.iter().find_map(|e| match e {
                Event::Error { text } => Some(text.clone()),
                _ => None,
            })
        };
        let add = text(&add).unwrap_or_else(|| panic!("/add {path} is an error"));
        let heal = text(&heal).unwrap_or_else(|| panic!("/heal {path} is an error"));
        assert_eq!(heal.replacen("/heal", add_error, 1), add);
    }
    quit(h);
    assert_eq!(s.request_count(), 0);
}

/// A slash command given with -m runs as in the TUI, not sent to the model; one that does
/// nothing in a script (`/add`) is refused (exit 2), and so is an unknown one.
#[test]
fn slash_commands_with_m_run_or_are_refused() {
    let t = Test::new();
    t.write("a.py", "def alpha():\n    return 1\n");
    let s = Server::start();
    setup(&t, &s.url(), "");
    let cost = chat(&t, &["-m", "/cost"]);
    assert!(
        cost.ok().contains("this session: $0.00"),
        "{}",
        cost.stdout()
    );
    let j = chat(&t, &["-m", "/context alpha", "--json"]).json();
    assert_eq!(j["outputs"][0]["command"], "context", "{j:#}");
    let add = chat(&t, &["-m", "/add a.py"]);
    assert_eq!(add.code(), 2, "{}", add.stderr());
    assert!(
        add.stderr().contains("/add has no effect with -m"),
        "{}",
        add.stderr()
    );
    let unknown = chat(&t, &["-m", "/nosuch"]);
    assert_eq!(unknown.code(), 2, "{}", unknown.stderr());
    assert!(
        unknown.stderr().contains("unknown command /nosuch"),
        "{}",
        unknown.stderr()
    );
    assert_eq!(s.request_count(), 0, "no command went to the model");
    // A path is a message.
    s.push(answer("It is there."));
    chat(&t, &["-m", "/usr/bin/env is missing?"]).ok();
    assert_eq!(s.request_count(), 1);
}

/// A resumed session sends its earlier conversation and its cost so far (for the TUI) right
/// after `started`.
#[test]
fn a_resumed_session_says_its_history_and_cost() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let s = Server::start();
    priced(&t, &s.url(), "");
    s.push(answer("First answer."));
    s.push(answer("Second answer."));
    let first = chat(&t, &["-m", "first question", "--json"]).json();
    let run = chat(&t, &["--resume", "-m", "second question", "--jsonl"]);
    let lines = jsonl(&run);
    assert_eq!(lines[1]["type"], "resumed", "{lines:#?}");
    assert_eq!(
        lines[1]["messages"],
        serde_json::json!([
            {"role": "user", "text": "first question"},
            {"role": "assistant", "text": "First answer."}
        ])
    );
    assert_eq!(lines[1]["session_cost_usd"], first["session_cost_usd"]);
    assert!(first["session_cost_usd"].as_f64().unwrap_or(0.0) > 0.0);
}

/// Smaller findings: an unknown session is the error even with no message on stdin; an answer
/// that is only a tool call is an error, not an empty answer; costs without float noise.
#[test]
fn smaller_chat_findings() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let s = Server::start();
    priced(&t, &s.url(), "");
    let run = t
        .cmd()
        .args(["chat", "--resume", "nosuch"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no chat session `nosuch`"), "{stderr}");

    s.push(openai::stream_tool_calls(
        &[],
        &[("call_1", "read_file", "{\"path\": \"a.py\"}")],
        Some((10, 5, 0)),
    ));
    let run = chat(&t, &["-m", "read a.py"]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert!(run.stderr().contains("read_file"), "{}", run.stderr());

    // 1.5 + 0.75 cents at these prices: 0.0022500000000000003 as a float sum.
    s.push(openai::stream(&["ok"], Some((1, 1, 0))));
    s.push(openai::stream(&["ok"], Some((1, 1, 0))));
    s.push(openai::stream(&["ok"], Some((1, 1, 0))));
    let mut last = Value::Null;
    for i in 0..3 {
        let mut args = vec!["-m", "hi", "--json"];
        if i > 0 {
            args.insert(0, "--resume");
        }
        last = chat(&t, &args).json();
    }
    let total = last["session_cost_usd"].as_f64().unwrap_or(0.0);
    assert_eq!(total, (total * 1e9).round() / 1e9, "{last:#}");
}

/// Ctrl-C while the context is being packed (the first index of a large repository): nothing
/// is sent to the model (exit 130), and a second Ctrl-C leaves at once.
#[test]
fn ctrl_c_before_the_model_call_sends_nothing() {
    use std::io::BufRead;
    let t = Test::new();
    for i in 0..2000 {
        let body: String = (0..20)
            .map(|j| format!("def f{i}_{j}(x):\n    return x + {j}\n\n"))
            .collect();
        t.write(&format!("pkg{}/m{i}.py", i % 40), body);
    }
    let s = Server::start();
    setup(&t, &s.url(), "");
    s.set_default(answer("An answer."));
    let interrupt = |pid: u32| crate::util::send_signal(pid, "INT");
    // Runs `vibe chat --jsonl`, presses Ctrl-C `presses` times once the turn started; the exit
    // code and the time from the last press to the exit.
    let run = |presses: usize| {
        let mut vibe = t
            .cmd()
            .args(["chat", "-m", "where is f7_3 defined?", "--jsonl"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let stdout = vibe.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            if line.unwrap_or_default().contains("\"turn_started\"") {
                break;
            }
        }
        for _ in 0..presses {
            std::thread::sleep(Duration::from_millis(100));
            interrupt(vibe.id());
        }
        let pressed = std::time::Instant::now();
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        let out = vibe.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        (out.status.code(), pressed.elapsed(), rest.join("\n"))
    };
    // Twice: out at once, the index not even finished.
    let (code, took, _) = run(2);
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    // Once: the packing ends, then the turn is cancelled before its request.
    let (code, _, rest) = run(1);
    assert_eq!(code, Some(130), "{rest}");
    assert!(rest.contains("\"cancelled\""), "{rest}");
    assert_eq!(s.request_count(), 0, "nothing was sent");
}

/// SIGTERM or SIGHUP to `vibe chat -m` while a command plugin runs: vibe kills its process
/// group and exits 128 + the signal (the `-m` watcher handled only Ctrl-C, and the plugin
/// outlived vibe).
#[test]
fn term_and_hup_to_chat_m_stop_a_running_plugin() {
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let t = Test::new();
        t.write("a.py", "x = 1\n");
        let pid_file = slow_plugin(&t);
        let s = Server::start();
        setup(&t, &s.url(), "[plugins]\ntrust_repo = true\n");
        crate::util::signal_once_started(&t, &["chat", "-m", "/slow"], &pid_file, signal, code);
    }
}

/// A message that cannot fit the context window vibe knows for the model is sent (the window
/// may be configured smaller than the model's) with a warning that says so.
#[test]
fn a_message_past_the_context_window_is_sent_with_a_warning() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let s = Server::start();
    setup(&t, &s.url(), "context_window = 300\n");
    s.push(answer("Read it."));
    let message = "word ".repeat(400);
    let run = chat(&t, &["-m", &message, "--jsonl"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let lines = jsonl(&run);
    assert!(
        lines.iter().any(|l| l["type"] == "notice"
            && l["level"] == "warning"
            && l["text"].as_str().is_some_and(|t| t.contains("the message is 400 tokens")
                && t.contains("context window of test-model (300 tokens, providers.scripted.context_window)"))),
        "{lines:#?}"
    );
    assert_eq!(s.request_count(), 1);
}

/// What the model's answer names (an edit's path) and what a message says (a session's title)
/// are printed escaped: an OSC title or a colour reached the terminal raw; and a path with
/// control characters or bidirectional marks is not written.
#[test]
fn model_and_user_text_is_escaped_in_status_lines() {
    let t = Test::fixture("python");
    let s = Server::start();
    setup(&t, &s.url(), "");
    s.push(answer(
        "x\n\n\u{1b}]0;PWNED\u{7}evil\u{202e}.py\n<<<<<<< SEARCH\nnothing\n=======\ny\n>>>>>>> REPLACE\n",
    ));
    let run = chat(&t, &["--yes", "-m", "\u{1b}[31mtitle\rOVER"]);
    let err = run.stderr();
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "{err:?}"
    );
    assert!(
        err.contains("edit not usable") && err.contains("\\u{1b}"),
        "{err}"
    );
    assert!(
        std::fs::read_dir(t.root())
            .expect("root")
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().contains('\u{1b}')),
        "a file with an escape in its name was written"
    );
    let list = chat(&t, &["--list"]);
    let out = list.stdout();
    assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
}
