//! `vibe ask` end to end: the real binary against a scripted provider on 127.0.0.1, with the
//! ledger and budgets in a temp `VIBE_HOME`; and, when `VIBE_E2E_LLM_URL` is set, against a real
//! model (see README.md: ../shared/tools/local-llm).

use serde_json::Value;

use crate::util::llm_server::{Server, anthropic, openai};
use crate::util::{Run, Test, ledger_rows};

/// An API key planted in the environment: it must never show up anywhere.
const KEY: &str = "sk-planted-e4b1c07d55aa";

/// A user config with one scripted provider, priced high enough that costs show.
fn setup(t: &Test, url: &str, kind: &str, extra: &str) {
    std::fs::write(
        t.home.path().join("config.toml"),
        format!(
            r#"[llm]
model = "scripted/test-model"
retries = 1
backoff_base = 0.01
max_tokens = 100
context_budget = 300

[providers.scripted]
kind = "{kind}"
base_url = "{url}/v1"
api_key_env = "SCRIPTED_API_KEY"

[providers.scripted.models."test-model"]
input = 1000.0
output = 2000.0
{extra}"#
        ),
    )
    .unwrap_or_else(|e| panic!("config: {e}"));
}

fn ask(t: &Test, args: &[&str]) -> Run {
    let mut c = t.cmd();
    c.env("SCRIPTED_API_KEY", KEY).arg("ask").args(args);
    Run {
        output: c.output().unwrap_or_else(|e| panic!("run vibe: {e}")),
    }
}

fn assert_no_key(t: &Test, run: &Run) {
    assert!(!run.stdout().contains(KEY) && !run.stderr().contains(KEY));
    for entry in std::fs::read_dir(t.home.path())
        .into_iter()
        .flatten()
        .flatten()
    {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(KEY),
            "the key is in {}",
            entry.path().display()
        );
    }
}

#[test]
fn streams_the_answer_records_the_cost_and_never_shows_the_key() {
    let t = Test::fixture("python");
    let s = Server::start();
    setup(&t, &s.url(), "openai", "");
    s.push(openai::stream(
        &["The engine ", "caps items."],
        Some((250, 4, 0)),
    ));
    let run = ask(&t, &["-vvv", "How does Engine.run cap the items?"]);
    assert_eq!(run.ok(), "The engine caps items.\n");
    let err = run.stderr();
    // 250 in at $1000/M + 4 out at $2000/M = $0.258.
    assert!(err.contains("scripted/test-model"), "{err}");
    assert!(
        err.contains("250 in + 4 out tokens") && err.contains("$0.2580"),
        "{err}"
    );
    let req = s.last_request().expect("a request");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let user = req.body_json()["messages"][1]["content"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        user.contains("<context>") && user.contains("core.py"),
        "{user}"
    );
    assert!(
        user.ends_with("Question: How does Engine.run cap the items?"),
        "{user}"
    );
    let rows = ledger_rows(t.home.path());
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!((r.operation.as_str(), r.outcome.as_str()), ("ask", "ok"));
    assert_eq!((r.tokens.input, r.tokens.output), (250, 4));
    assert!((r.cost_usd - 0.258).abs() < 1e-9 && r.priced && !r.estimated);
    assert_eq!(r.project, vibe::cost::project_key(Some(t.root())));
    assert_no_key(&t, &run);
}

#[test]
fn json_output_and_the_question_on_stdin() {
    let t = Test::fixture("python");
    let s = Server::start();
    setup(&t, &s.url(), "anthropic", "");
    s.push(anthropic::stream(&["Yes."], Some((120, 2, 100))));
    let mut c = t.cmd();
    c.env("SCRIPTED_API_KEY", KEY)
        .args(["ask", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"Is there a config loader?\n")
            .expect("write");
    }
    let run = Run {
        output: child.wait_with_output().expect("wait"),
    };
    let j: Value = run.json();
    assert_eq!(j["schema"], "vibe.ask/1");
    assert_eq!(j["question"], "Is there a config loader?");
    assert_eq!(j["answer"], "Yes.");
    assert_eq!(
        (j["provider"].as_str(), j["model"].as_str()),
        (Some("scripted"), Some("test-model"))
    );
    assert_eq!(j["usage"]["input_tokens"], 220);
    assert_eq!(j["usage"]["cached_tokens"], 100);
    assert_eq!(j["usage"]["estimated"], false);
    // 220 tokens in at $1000/M and 2 out at $2000/M, in micro-dollars (no float noise).
    assert_eq!(j["cost_usd"].as_f64(), Some(0.224), "{j}");
    assert!(j["context"]["used_tokens"].as_u64().unwrap_or(0) <= 300);
    assert!(
        !j["context"]["files"]
            .as_array()
            .map(Vec::is_empty)
            .unwrap_or(true)
    );
    let rec = s.last_request().expect("request");
    assert_eq!(rec.header("x-api-key"), Some(KEY));
}

#[test]
fn a_budget_refuses_before_sending_and_exits_3() {
    let t = Test::fixture("python");
    let s = Server::start();
    setup(&t, &s.url(), "openai", "[budget]\ndaily = 0.05\n");
    let run = ask(&t, &["what does main do?"]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("daily budget") && err.contains("--allow-over-budget"),
        "{err}"
    );
    assert_eq!(s.request_count(), 0, "nothing was sent");
    assert!(ledger_rows(t.home.path()).is_empty());

    // A flag can lower a limit too, and --allow-over-budget sends anyway with a warning.
    s.push(openai::stream(&["ok"], Some((10, 1, 0))));
    let run = ask(&t, &["--allow-over-budget", "what does main do?"]);
    assert_eq!(run.ok(), "ok\n");
    assert_eq!(s.request_count(), 1);
    let run = ask(
        &t,
        &[
            "--session-budget",
            "0.0001",
            "-c",
            "budget.daily=0",
            "what?",
        ],
    );
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(run.stderr().contains("session budget"), "{}", run.stderr());
    // A negative amount is refused with its flag named (clap took `-1` for an unknown flag).
    let run = ask(&t, &["--daily-budget", "-1", "what?"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("--daily-budget -1: give an amount in USD, 0 or more"),
        "{}",
        run.stderr()
    );
}

/// Five runs started at once against a budget with room for two requests: each check counts
/// the requests the others have in flight, so at most two are sent (without the holds, all five
/// passed the check before any was recorded, and spent twice the budget).
#[test]
fn runs_started_at_once_cannot_each_spend_what_is_left() {
    let t = Test::fixture("python");
    let s = Server::start();
    // Each request may cost $20 and some cents (10,000 tokens out at $2000/M, a short prompt);
    // each answer costs $20.01.
    setup(&t, &s.url(), "openai", "[budget]\ndaily = 50\n");
    for _ in 0..5 {
        s.push(
            openai::stream(&["ok"], Some((10, 10_000, 0)))
                .delayed(std::time::Duration::from_secs(3)),
        );
    }
    // The index first, so that the runs reach their checks together.
    t.run(&["map", "--stats"]).ok();
    let runs: Vec<std::process::Child> = (0..5)
        .map(|_| {
            let mut c = t.cmd();
            c.env("SCRIPTED_API_KEY", KEY)
                .args(["-c", "llm.max_tokens=10000", "ask", "--context-budget", "0"])
                .arg("what does main do?")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap_or_else(|e| panic!("spawn: {e}"))
        })
        .collect();
    let codes: Vec<(i32, String)> = runs
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap_or_else(|e| panic!("wait: {e}"));
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            (out.status.code().unwrap_or(-1), err)
        })
        .collect();
    let answered = codes.iter().filter(|(c, _)| *c == 0).count();
    let refused = codes
        .iter()
        .filter(|(c, e)| *c == 3 && e.contains("daily budget"))
        .count();
    assert!(
        (1..=2).contains(&answered) && answered + refused == 5,
        "{codes:#?}"
    );
    assert_eq!(s.request_count(), answered);
    let spent: f64 = ledger_rows(t.home.path()).iter().map(|r| r.cost_usd).sum();
    assert!(spent <= 50.0, "spent ${spent}");
    // Every hold was released with its record.
    let ledger = vibe::cost::Ledger::open(&t.home.path().join("ledger.db"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ledger.holds().unwrap_or_else(|e| panic!("{e}")), vec![]);
}

#[test]
fn no_usage_is_estimated_and_unpriced_models_are_flagged() {
    let t = Test::fixture("python");
    let s = Server::start();
    setup(&t, &s.url(), "openai", "");
    s.push(openai::stream(&["counted locally"], None));
    let run = ask(&t, &["--model", "scripted/unknown-model-x", "hi"]);
    assert_eq!(run.ok(), "counted locally\n");
    let err = run.stderr();
    assert!(
        err.contains("(estimated)") && err.contains("no price known"),
        "{err}"
    );
    let rows = ledger_rows(t.home.path());
    assert!(
        rows[0].estimated && !rows[0].priced && rows[0].cost_usd == 0.0,
        "{rows:?}"
    );
    assert!(rows[0].tokens.input > 0);
}

/// A bad `pricing.toml` is the user's to fix, like a bad `config.toml`: exit code 2, the file,
/// line and key named, nothing sent.
#[test]
fn a_bad_pricing_file_is_a_usage_error() {
    let t = Test::fixture("python");
    let s = Server::start();
    setup(&t, &s.url(), "openai", "");
    std::fs::write(
        t.home.path().join("pricing.toml"),
        "[models.\"my-model\"]\ninput = 1.0\noutput = \"cheap\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = ask(&t, &["hi"]);
    assert_eq!(run.output.status.code(), Some(2), "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("pricing.toml") && err.contains("line 3"),
        "{err}"
    );
    assert_eq!(s.request_count(), 0);
}

#[test]
fn absurd_usage_reported_by_a_server_is_recorded_within_what_was_possible() {
    let t = Test::fixture("python");
    let s = Server::start();
    setup(&t, &s.url(), "openai", "");
    // 10^12 tokens claimed for "hi": $2,000,000 at the test prices. max_tokens = 100 allows at
    // most 189 out (a quarter more and 64, where vibe stops reading).
    s.push(openai::stream(
        &["hi"],
        Some((1_000_000_000_000, 1_000_000_000_000, 0)),
    ));
    let run = ask(&t, &["hi"]);
    assert_eq!(run.ok(), "hi\n");
    let err = run.stderr();
    assert!(
        err.contains("the server reported 1000000000000 output tokens (at most 189 possible)"),
        "{err}"
    );
    let rows = ledger_rows(t.home.path());
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.tokens.output, 189);
    assert!(r.tokens.input < 10_000, "{r:?}");
    assert!(r.estimated && r.cost_usd < 10.0, "{r:?}");
}

#[test]
fn an_unreachable_provider_says_how_to_configure_another_and_falls_back() {
    let t = Test::fixture("python");
    let dead = crate::util::DEAD_URL.to_string();
    setup(&t, &dead, "openai", "");
    let run = ask(&t, &["hello?"]);
    assert_eq!(run.code(), 1);
    let err = run.stderr();
    assert!(
        err.contains("provider `scripted`") && err.contains("cannot connect"),
        "{err}"
    );
    assert!(err.contains("--model"), "{err}");

    let s = Server::start();
    s.push(openai::stream(&["from the fallback"], Some((5, 3, 0))));
    std::fs::write(
        t.home.path().join("config.toml"),
        std::fs::read_to_string(t.home.path().join("config.toml"))
            .unwrap_or_default()
            .replace(
                "retries = 1",
                "retries = 0\nfallback = [\"backup/test-model\"]",
            )
            + &format!(
                "\n[providers.backup]\nkind = \"openai\"\nbase_url = \"{}/v1\"\nlocal = true\n",
                s.url()
            ),
    )
    .expect("config");
    let run = ask(&t, &["hello?"]);
    assert_eq!(run.ok(), "from the fallback\n");
    assert!(run.stderr().contains("fell back"), "{}", run.stderr());
    let rows = ledger_rows(t.home.path());
    let outcomes: Vec<String> = rows
        .iter()
        .map(|r| format!("{}:{}", r.provider, r.outcome))
        .collect();
    assert_eq!(
        outcomes[outcomes.len() - 2..],
        ["scripted:unreachable", "backup:ok"]
    );
    assert_eq!(
        rows.last().map(|r| r.cost_usd),
        Some(0.0),
        "a local provider is free"
    );
}

#[test]
fn bad_input_is_refused_before_any_request() {
    let t = Test::fixture("python");
    let s = Server::start();
    setup(&t, &s.url(), "openai", "");
    let run = ask(&t, &["--model", "nosuch/x", "   "]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("question is empty"),
        "{}",
        run.stderr()
    );
    for zero in [
        &["--max-tokens", "0", "hi"][..],
        &["-c", "llm.max_tokens=0", "hi"],
    ] {
        let run = ask(&t, zero);
        assert_eq!(run.code(), 2, "{zero:?}: {}", run.stderr());
    }
    let run = ask(&t, &["-c", "llm.stop_repeats=1", "hi"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("llm.stop_repeats = 1") && run.stderr().contains("0 (never"),
        "{}",
        run.stderr()
    );
    let run = ask(&t, &["-c", "llm.model=nowhere", "hi"]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("llm.model"), "{}", run.stderr());
    // A repository may not point a keyed provider elsewhere.
    t.write(
        ".vibe/config.toml",
        "[providers.scripted]\nbase_url = \"http://evil.example/v1\"\n",
    );
    let run = ask(&t, &["hi"]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr().contains("providers.scripted.base_url"),
        "{}",
        run.stderr()
    );
    assert_eq!(s.request_count(), 0);
}

/// The whole flow against a real model served locally: set VIBE_E2E_LLM_URL (e.g.
/// http://127.0.0.1:8089, from ../shared/tools/local-llm/serve_local_llm.sh). CI does.
#[test]
fn a_real_local_model_answers() {
    let Ok(url) = std::env::var("VIBE_E2E_LLM_URL") else {
        eprintln!("skipped: set VIBE_E2E_LLM_URL to run against a real model");
        return;
    };
    for kind in ["openai", "anthropic"] {
        let t = Test::fixture("python");
        std::fs::write(
            t.home.path().join("config.toml"),
            format!(
                "[llm]\nmodel = \"local/qwen\"\nmax_tokens = 24\ncontext_budget = 150\n[providers.local]\nkind = \"{kind}\"\nbase_url = \"{url}/v1\"\nlocal = true\nfirst_byte_timeout = 600\n"
            ),
        )
        .expect("config");
        let run = ask(&t, &["--json", "Which file defines the Engine class?"]);
        let j = run.json();
        assert!(!j["answer"].as_str().unwrap_or("").trim().is_empty(), "{j}");
        assert!(j["usage"]["input_tokens"].as_u64().unwrap_or(0) > 50, "{j}");
        assert!(j["usage"]["output_tokens"].as_u64().unwrap_or(0) > 0, "{j}");
        let rows = ledger_rows(t.home.path());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].outcome, "ok");
    }
}

/// `vibe ask` against a server that sends part of the answer and stalls; `signal` once the
/// first part arrived. The test directory (for its ledger) and the run.
#[cfg(unix)]
fn signalled_mid_answer(signal: &str, extra: &str) -> (Test, Run) {
    let t = Test::fixture("python");
    let s = Server::start();
    setup(&t, &s.url(), "openai", extra);
    s.push(
        openai::stream(&["partial ", "never"], None)
            .stall_after(2, std::time::Duration::from_secs(30)),
    );
    let mut c = t.cmd();
    c.env("SCRIPTED_API_KEY", KEY)
        .args(["ask", "what is this?"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
    // Once the first chunk is on stdout (however slow the machine), signal (SIGINT as Ctrl-C
    // would).
    let mut out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if seen.ends_with(b"partial ") {
                let _ = tx.send(());
            }
        }
        seen
    });
    assert!(
        rx.recv_timeout(std::time::Duration::from_secs(60)).is_ok(),
        "no answer on stdout"
    );
    crate::util::send_signal(child.id(), signal);
    let status = child.wait().expect("wait");
    let mut stderr = Vec::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_end(&mut stderr);
    }
    let stdout = reader.join().expect("reader");
    let run = Run {
        output: std::process::Output {
            status,
            stdout,
            stderr,
        },
    };
    (t, run)
}

#[cfg(unix)]
#[test]
fn ctrl_c_cancels_the_request_and_records_it() {
    let (t, run) = signalled_mid_answer("INT", "");
    assert_eq!(run.code(), 130, "{}", run.stderr());
    assert_eq!(run.stdout(), "partial ");
    assert!(run.stderr().contains("cancelled"), "{}", run.stderr());
    let rows = ledger_rows(t.home.path());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, "cancelled");
    assert!(rows[0].estimated && rows[0].tokens.output > 0, "{rows:?}");
}

/// SIGTERM and SIGHUP end vibe at once, and the request that was sent is still recorded, as
/// cancelled, with its budget hold released (they left no row, and the hold for an hour).
#[cfg(unix)]
#[test]
fn term_and_hup_record_the_request_in_flight() {
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let (t, run) = signalled_mid_answer(signal, "[budget]\ndaily = 1000.0\n");
        assert_eq!(run.code(), code, "{signal}: {}", run.stderr());
        assert_eq!(run.stdout(), "partial ");
        let rows = ledger_rows(t.home.path());
        assert_eq!(rows.len(), 1, "{signal}");
        assert_eq!(rows[0].outcome, "cancelled");
        assert!(rows[0].estimated && rows[0].tokens.output > 0, "{rows:?}");
        let ledger = vibe::cost::Ledger::open(&t.home.path().join("ledger.db"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ledger.holds().unwrap_or_else(|e| panic!("{e}")), vec![]);
    }
}

#[test]
fn a_soft_threshold_warns_but_sends() {
    let t = Test::fixture("python");
    let s = Server::start();
    setup(&t, &s.url(), "openai", "[budget]\ndaily = 1.0\n");
    // 250 in + 4 out: $0.258 spent.
    s.push(openai::stream(&["one"], Some((250, 4, 0))));
    let run = ask(&t, &["first?"]);
    assert_eq!(run.ok(), "one\n");
    assert!(!run.stderr().contains("daily budget"), "{}", run.stderr());
    // The worst case of the next request (its prompt, and 100 tokens out at $2000/M) takes the
    // day past 80% of $1.00, not past $1.00.
    s.push(openai::stream(&["two"], Some((250, 4, 0))));
    let run = ask(&t, &["second?"]);
    assert_eq!(run.ok(), "two\n");
    let err = run.stderr();
    assert!(
        err.contains("daily budget") && err.contains("of $1.00"),
        "{err}"
    );
    assert_eq!(s.request_count(), 2);
}
