//! `vibe cost` on the command line: an empty or missing ledger, a seeded one (text and JSON
//! snapshots with a fixed clock and time zone), filters, and bad input.

#[allow(clippy::duplicate_mod)]
#[path = "util/mod.rs"]
#[macro_use]
mod util;

use std::path::PathBuf;

use vibe::cost::{Entry, Ledger, Tokens};

use util::{Run, Test};

/// The report's clock: 2025-06-15 16:00 in New York (EDT, UTC-4).
const NOW: &str = "2025-06-15T20:00:00Z";
/// New York's rules as a POSIX TZ string, so the tests need no time zone database.
const TZ: &str = "EST5EDT,M3.2.0,M11.1.0";

fn ledger_path(t: &Test) -> PathBuf {
    t.home.path().join("ledger.db")
}

fn ms(rfc3339: &str) -> i64 {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
}

fn cost(t: &Test, args: &[&str]) -> Run {
    let output = t
        .cmd()
        .env("VIBE_NOW", NOW)
        .env("TZ", TZ)
        .arg("cost")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run vibe: {e}"));
    Run { output }
}

fn redact(t: &Test, text: &str) -> String {
    let home = t.home.path().display().to_string();
    util::redact(text, t.root()).replace(&home, "[HOME]")
}

#[allow(clippy::too_many_arguments)]
fn entry(
    time: &str,
    project: &str,
    provider: &str,
    model: &str,
    operation: &str,
    tokens: (u64, u64, u64),
    cost_usd: f64,
) -> Entry {
    Entry {
        time_ms: ms(time),
        project: project.into(),
        session: "20250615T100000Z-00000001".into(),
        provider: provider.into(),
        model: model.into(),
        operation: operation.into(),
        tokens: Tokens {
            input: tokens.0,
            output: tokens.1,
            cached: tokens.2,
        },
        estimated: false,
        cost_usd,
        priced: true,
        latency_ms: 900,
        outcome: "ok".into(),
    }
}

/// A month and a half of requests across two projects (`root` and /src/other), three
/// providers and a local model.
fn seed(t: &Test, root: &str) {
    let l = Ledger::open(&ledger_path(t)).unwrap_or_else(|e| panic!("{e}"));
    let mut rows = vec![
        entry(
            "2025-05-02T14:00:00Z",
            root,
            "openai",
            "gpt-4o",
            "ask",
            (52_000, 1_800, 0),
            0.148,
        ),
        entry(
            "2025-05-30T14:00:00Z",
            "/src/other",
            "anthropic",
            "claude-opus-4-1-20250805",
            "chat",
            (120_000, 6_000, 80_000),
            1.17,
        ),
        entry(
            "2025-06-01T03:30:00Z",
            root,
            "openai",
            "gpt-4o",
            "ask",
            (10_000, 500, 0),
            0.03,
        ), // May 31 local
        entry(
            "2025-06-02T15:00:00Z",
            root,
            "anthropic",
            "claude-sonnet-4-5-20250929",
            "heal",
            (40_000, 2_000, 30_000),
            0.159,
        ),
        entry(
            "2025-06-10T15:00:00Z",
            "",
            "openrouter",
            "deepseek/deepseek-chat",
            "ask",
            (9_000, 700, 0),
            0.0028,
        ),
        entry(
            "2025-06-15T13:00:00Z",
            root,
            "ollama",
            "qwen2.5-coder:7b",
            "ask",
            (6_000, 400, 0),
            0.0,
        ),
        entry(
            "2025-06-15T14:00:00Z",
            root,
            "openai",
            "gpt-4o",
            "chat",
            (20_000, 1_000, 8_000),
            0.055,
        ),
    ];
    rows[4].estimated = true;
    let mut unpriced = entry(
        "2025-06-15T15:00:00Z",
        root,
        "openrouter",
        "mystery/new-model",
        "ask",
        (3_000, 200, 0),
        0.0,
    );
    unpriced.priced = false;
    unpriced.outcome = "error".into();
    rows.push(unpriced);
    for r in &rows {
        l.record(r).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn a_missing_ledger_prints_zeros_and_creates_nothing() {
    let t = Test::new();
    let out = cost(&t, &[]).ok();
    assert!(out.contains("No requests recorded yet"), "{out}");
    assert!(out.contains("$0.00"), "{out}");
    let j = cost(&t, &["--json"]).json();
    assert_eq!(j["schema"], "vibe.cost/1");
    assert_eq!(j["ledger_exists"], false);
    assert_eq!(j["total"]["requests"], 0);
    let left: Vec<_> = std::fs::read_dir(t.home.path())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "vibe cost wrote {left:?}");
}

#[test]
fn an_empty_ledger_says_so() {
    let t = Test::new();
    drop(Ledger::open(&ledger_path(&t)).unwrap_or_else(|e| panic!("{e}")));
    let out = cost(&t, &[]).ok();
    assert!(out.contains("the ledger is empty"), "{out}");
    assert_eq!(cost(&t, &["--json"]).json()["ledger_exists"], true);
}

#[test]
fn seeded_report_text() {
    let t = Test::new();
    seed(&t, "/home/me/src/app");
    let out = cost(&t, &["-c", "budget.daily=0.08", "-c", "budget.monthly=1"]).ok();
    for line in out.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    snapshot!("cost_text", redact(&t, &out));
}

#[test]
fn seeded_report_json() {
    let t = Test::new();
    seed(&t, "/home/me/src/app");
    let out = cost(&t, &["--json", "-c", "budget.daily=0.08"]).ok();
    snapshot!("cost_json", redact(&t, &out));
}

#[test]
fn since_and_project_filter() {
    let t = Test::new();
    let root = vibe::cost::project_key(Some(t.root()));
    seed(&t, &root);
    let j = cost(&t, &["--json", "--since", "7d"]).json();
    assert_eq!(j["since"], "2025-06-09");
    assert_eq!(j["total"]["requests"], 4);
    // Today and this month are whole whatever --since says.
    assert_eq!(j["month"]["requests"], 5);
    let j = cost(&t, &["--json", "--since", "2025-06-01"]).json();
    assert_eq!(j["total"]["requests"], 5, "May 31 local is not June");
    let j = cost(&t, &["--json", "--project", "."]).json();
    assert_eq!(j["project"], root.as_str());
    assert_eq!(j["total"]["requests"], 6);
    assert_eq!(j["by_project"].as_array().map(Vec::len), Some(1));
    let j = cost(&t, &["--json", "--project", "/src/other"]).json();
    assert_eq!(j["total"]["requests"], 1);
    let out = cost(&t, &["--project", "/nowhere"]).ok();
    assert!(
        out.starts_with("Project /nowhere\n\nNo requests for this project."),
        "{out}"
    );
}

#[test]
fn bad_since_is_a_usage_error() {
    let t = Test::new();
    for bad in ["7x", "2025-02-30", "0d"] {
        let r = cost(&t, &["--since", bad]);
        assert_eq!(r.code(), 2, "{bad}: {}", r.stderr());
        assert!(
            r.stderr().contains(&format!("--since {bad}")),
            "{}",
            r.stderr()
        );
    }
}

#[test]
fn a_corrupt_ledger_is_reported_and_kept() {
    let t = Test::new();
    let junk = "not a database\n".repeat(300);
    std::fs::write(ledger_path(&t), &junk).unwrap_or_else(|e| panic!("{e}"));
    let r = cost(&t, &[]);
    assert_eq!(r.code(), 1);
    let err = r.stderr();
    assert!(
        err.contains("ledger.db") && err.contains("move it aside"),
        "{err}"
    );
    let now = std::fs::read_to_string(ledger_path(&t)).unwrap_or_default();
    assert_eq!(now, junk, "the ledger was changed");
}

#[test]
fn a_newer_ledger_is_refused() {
    let t = Test::new();
    seed(&t, "/r");
    rusqlite_set_version(&ledger_path(&t), 7);
    let r = cost(&t, &[]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr().contains("newer than this vibe"),
        "{}",
        r.stderr()
    );
}

fn rusqlite_set_version(path: &std::path::Path, v: i64) {
    let c = rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
    c.execute_batch(&format!("PRAGMA user_version={v}"))
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_negative_budget_is_refused() {
    let t = Test::new();
    let r = cost(&t, &["-c", "budget.daily=-5"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("budget.daily"), "{}", r.stderr());
    std::fs::write(
        t.home.path().join("config.toml"),
        "[budget]\nmonthly = -1\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = cost(&t, &[]);
    assert_ne!(r.code(), 0);
    let err = r.stderr();
    assert!(
        err.contains("config.toml") && err.contains("line 2"),
        "{err}"
    );
    // A repository cannot lift (or set) your budgets.
    std::fs::remove_file(t.home.path().join("config.toml")).unwrap_or_else(|e| panic!("{e}"));
    t.write(".vibe/config.toml", "[budget]\ndaily = 0\n");
    let r = cost(&t, &[]);
    assert_ne!(r.code(), 0);
    assert!(
        r.stderr().contains("may not be set in a repository"),
        "{}",
        r.stderr()
    );
    // Nor make its requests lower the day's total: a negative or infinite price of a model is
    // refused, in a repository's config as in yours (a row of -inf let every request pass).
    for price in ["input = -1e308", "output = inf", "cached_input = nan"] {
        t.write(
            ".vibe/config.toml",
            format!(
                "[providers.paid]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n\n[providers.paid.models.\"m\"]\n{price}\n"
            ),
        );
        let r = cost(&t, &[]);
        assert_eq!(r.code(), 2, "{price}: {}", r.stderr());
        assert!(
            r.stderr()
                .contains("prices are USD per million tokens, 0 or more"),
            "{price}: {}",
            r.stderr()
        );
    }
}

#[test]
fn two_writers_at_once_both_land() {
    let t = Test::new();
    let path = ledger_path(&t);
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let l = Ledger::open(&path).unwrap_or_else(|e| panic!("{e}"));
                for i in 0..40 {
                    let time = format!("2025-06-15T12:{:02}:{:02}Z", w * 20 + i / 60, i % 60);
                    l.record(&entry(
                        &time,
                        "",
                        "openai",
                        "gpt-4o",
                        "ask",
                        (100, 10, 0),
                        0.001,
                    ))
                    .unwrap_or_else(|e| panic!("{e}"));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap_or_else(|_| panic!("writer panicked"));
    }
    let j = cost(&t, &["--json"]).json();
    assert_eq!(j["today"]["requests"], 80);
}
