//! Unit tests: pricing lookup and files, cost arithmetic, the ledger (errors, concurrency),
//! budgets at day and month boundaries in a fixed time zone, and the report.

use std::path::Path;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::report::{self, Options};
use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn entry(time_ms: i64, model: &str, cost_usd: f64) -> Entry {
    Entry {
        time_ms,
        project: "/repo".into(),
        session: "s1".into(),
        provider: "openai".into(),
        model: model.into(),
        operation: "ask".into(),
        tokens: Tokens {
            input: 1000,
            output: 100,
            cached: 0,
        },
        estimated: false,
        cost_usd,
        priced: true,
        latency_ms: 1200,
        outcome: "ok".into(),
    }
}

/// New York: UTC-5 in winter, UTC-4 in summer (DST from the second Sunday of March).
fn new_york() -> TimeZone {
    TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap_or(TimeZone::UTC)
}

fn clock_at(rfc3339: &str) -> Clock {
    Clock {
        now: rfc3339.parse().unwrap_or(Timestamp::UNIX_EPOCH),
        tz: new_york(),
    }
}

fn ms(rfc3339: &str) -> i64 {
    rfc3339
        .parse::<Timestamp>()
        .map(|t| t.as_millisecond())
        .unwrap_or(0)
}

#[test]
fn cost_arithmetic() {
    let p = Prices {
        input: 2.5,
        output: 10.0,
        cached_input: Some(1.25),
    };
    let t = Tokens {
        input: 1_000_000,
        output: 500_000,
        cached: 400_000,
    };
    // 600k fresh at 2.5 + 400k cached at 1.25 + 500k out at 10.
    assert!((p.cost(&t) - (1.5 + 0.5 + 5.0)).abs() < 1e-9);
    // No cached price: cached tokens cost the input price.
    let q = Prices {
        cached_input: None,
        ..p
    };
    assert!((q.cost(&t) - (2.5 + 5.0)).abs() < 1e-9);
    // A cached count above the input is capped at it.
    let odd = Tokens {
        input: 10,
        output: 0,
        cached: 20,
    };
    assert!((p.cost(&odd) - 10.0 * 1.25 / 1e6).abs() < 1e-12);
    assert_eq!(p.cost(&Tokens::default()), 0.0);
}

#[test]
fn builtin_pricing_parses_and_has_the_common_models() -> TestResult {
    let p = Pricing::from_sources(None)?;
    for m in [
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "o3",
        "o4-mini",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "claude-opus-4-1",
        "claude-opus-4",
        "claude-sonnet-4-5",
        "claude-sonnet-4",
        "claude-3-7-sonnet",
        "claude-haiku-4-5",
        "claude-3-5-haiku",
        "deepseek-chat",
    ] {
        let prices = p.lookup(m).ok_or(format!("{m} has no price"))?;
        assert!(prices.input > 0.0 && prices.output >= prices.input, "{m}");
    }
    Ok(())
}

#[test]
fn lookup_rules() -> TestResult {
    let p = Pricing::from_sources(None)?;
    let price = |m: &str| p.lookup(m).map(|x| (x.input, x.output));
    // Exact, dated, longest prefix wins.
    assert_eq!(price("gpt-4o"), Some((2.5, 10.0)));
    assert_eq!(price("gpt-4o-2024-08-06"), Some((2.5, 10.0)));
    assert_eq!(price("gpt-4o-mini-2024-07-18"), Some((0.15, 0.6)));
    assert_eq!(price("claude-sonnet-4-5-20250929"), Some((3.0, 15.0)));
    assert_eq!(price("claude-opus-4-1-20250805"), Some((15.0, 75.0)));
    assert_eq!(price("claude-opus-4-20250514"), Some((15.0, 75.0)));
    // OpenRouter spellings: provider prefix, dots for dashes, ":tag", any case.
    assert_eq!(price("openai/gpt-4o"), Some((2.5, 10.0)));
    assert_eq!(price("anthropic/claude-sonnet-4.5"), Some((3.0, 15.0)));
    assert_eq!(price("deepseek/deepseek-chat:free"), Some((0.28, 0.42)));
    assert_eq!(price("GPT-4.1-Mini"), Some((0.4, 1.6)));
    // A name is a prefix only at a '-' or ':' boundary.
    assert_eq!(price("gpt-4ox"), None);
    assert_eq!(price("o3x"), None);
    assert_eq!(price("llama3.1:8b"), None);
    assert_eq!(price(""), None);
    let t = Tokens {
        input: 1_000_000,
        output: 0,
        cached: 0,
    };
    assert_eq!(p.lookup("openai/gpt-4o").map(|x| x.cost(&t)), Some(2.5));
    assert_eq!(p.lookup("my-local-model"), None);
    Ok(())
}

#[test]
fn user_pricing_overrides_and_adds() -> TestResult {
    let dir = tempfile::tempdir()?;
    let f = dir.path().join("pricing.toml");
    std::fs::write(
        &f,
        "[models]\n\"gpt-4o\" = { input = 1.0, output = 2.0 }\n\"my-model\" = { input = 0.5, output = 0.5, cached_input = 0.1 }\n",
    )?;
    let p = Pricing::from_sources(Some(&f))?;
    assert_eq!(p.lookup("gpt-4o-2024-08-06").map(|x| x.input), Some(1.0));
    assert_eq!(p.lookup("my-model").and_then(|x| x.cached_input), Some(0.1));
    assert_eq!(p.lookup("gpt-4o-mini").map(|x| x.input), Some(0.15));
    // A missing user file is no override.
    assert!(Pricing::from_sources(Some(&dir.path().join("none.toml"))).is_ok());
    Ok(())
}

#[test]
fn bad_pricing_names_file_line_and_key() -> TestResult {
    let dir = tempfile::tempdir()?;
    let f = dir.path().join("pricing.toml");
    let cases = [
        (
            "[models]\n\"a\" = { input = 1.0, output = 2.0 }\n\"b\" = { input = 1.0, outptu = 2.0 }\n",
            "line 3",
            "outptu",
        ),
        (
            "[models]\n\n\"b\" = { input = -1.0, output = 2.0 }\n",
            "line 3",
            "input",
        ),
        (
            "[models]\n\"b\" = { input = 1.0, output = \"two\" }\n",
            "line 2",
            "",
        ),
        ("[model]\n", "line 1", "model"),
        ("[models\n", "line 1", ""),
    ];
    for (text, line, key) in cases {
        std::fs::write(&f, text)?;
        let msg = Pricing::from_sources(Some(&f))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("pricing.toml"), "{text}: {msg}");
        assert!(msg.contains(line), "{text}: {msg}");
        assert!(msg.contains(key), "{text}: {msg}");
        assert!(msg.contains("hint:"), "{text}: {msg}");
    }
    Ok(())
}

#[test]
fn ledger_records_and_sums() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("data/ledger.db");
    assert!(Ledger::open_existing(&path)?.is_none());
    assert!(!path.exists(), "reading created the ledger");
    let l = Ledger::open(&path)?;
    l.record(&entry(1000, "gpt-4o", 0.5))?;
    let mut other = entry(2000, "gpt-4o", 0.25);
    other.session = "s2".into();
    l.record(&other)?;
    assert_eq!(l.session_spent("s1")?, 0.5);
    assert_eq!(l.session_spent("s2")?, 0.25);
    assert_eq!(l.session_spent("none")?, 0.0);
    assert_eq!(l.spent_since(1500)?, 0.25);
    assert_eq!(l.spent_since(0)?, 0.75);
    let mut seen = vec![];
    l.scan(&Default::default(), &mut |e| seen.push(e))?;
    assert_eq!(seen, vec![entry(1000, "gpt-4o", 0.5), other]);
    drop(l);
    assert!(Ledger::open_existing(&path)?.is_some());
    Ok(())
}

#[test]
fn concurrent_writers_all_land() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.db");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || -> Result<(), Error> {
                // Each thread opens its own connection, as separate processes would.
                let l = Ledger::open(&path)?;
                for i in 0..25 {
                    l.record(&entry(i64::from(t * 100 + i), "gpt-4o", 0.01))?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "thread panicked")??;
    }
    let l = Ledger::open(&path)?;
    let mut n = 0;
    l.scan(&Default::default(), &mut |_| n += 1)?;
    assert_eq!(n, 100);
    assert!((l.spent_since(0)? - 1.0).abs() < 1e-9);
    Ok(())
}

#[test]
fn a_held_lock_is_waited_for_then_reported() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.db");
    let mut l = Ledger::open(&path)?;
    let holder = rusqlite::Connection::open(&path)?;
    holder.execute_batch("BEGIN IMMEDIATE")?;
    // Released within the timeout: the write waits and lands.
    let release = std::thread::spawn(move || -> rusqlite::Result<rusqlite::Connection> {
        std::thread::sleep(std::time::Duration::from_millis(300));
        holder.execute_batch("COMMIT")?;
        Ok(holder)
    });
    l.record(&entry(1, "gpt-4o", 0.1))?;
    let holder = release.join().map_err(|_| "thread panicked")??;
    // Held past the timeout: a clear error.
    holder.execute_batch("BEGIN IMMEDIATE")?;
    l.set_busy_timeout(std::time::Duration::from_millis(100))?;
    let err = l.record(&entry(2, "gpt-4o", 0.1)).err().ok_or("no error")?;
    assert!(matches!(err, Error::LedgerLocked { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("locked") && msg.contains("ledger.db"), "{msg}");
    holder.execute_batch("ROLLBACK")?;
    assert_eq!(l.spent_since(0)?, 0.1);
    Ok(())
}

#[test]
fn unusable_ledgers_are_reported_and_kept() -> TestResult {
    let dir = tempfile::tempdir()?;
    // Not SQLite at all.
    let junk = dir.path().join("junk.db");
    let text = "this is not a database, it is a note\n".repeat(200);
    std::fs::write(&junk, &text)?;
    for open in [Ledger::open, |p: &Path| {
        Ledger::open_existing(p).map(|_| unreachable_ledger())
    }] {
        let err = open(&junk).err().ok_or("opened junk")?;
        assert!(matches!(err, Error::LedgerUnusable { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("junk.db") && msg.contains("move it aside"),
            "{msg}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&junk)?,
        text,
        "the file was changed"
    );
    // SQLite, but someone else's.
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)?.execute_batch("CREATE TABLE t(x)")?;
    let msg = Ledger::open(&foreign).err().ok_or("opened")?.to_string();
    assert!(msg.contains("foreign tables"), "{msg}");
    // The index's database is not a ledger.
    let index = dir.path().join("index.db");
    rusqlite::Connection::open(&index)?.execute_batch("PRAGMA application_id=1986619493")?;
    let msg = Ledger::open(&index).err().ok_or("opened")?.to_string();
    assert!(msg.contains("foreign application id"), "{msg}");
    // Our id and version, without our table.
    let gutted = dir.path().join("gutted.db");
    Ledger::open(&gutted)?;
    rusqlite::Connection::open(&gutted)?.execute_batch("DROP TABLE requests")?;
    let msg = Ledger::open(&gutted).err().ok_or("opened")?.to_string();
    assert!(msg.contains("schema"), "{msg}");
    Ok(())
}

fn unreachable_ledger() -> Ledger {
    // Only reached if open_existing wrongly succeeded; the assertion above then fails.
    #[allow(clippy::panic)]
    {
        panic!("open_existing accepted a junk file")
    }
}

#[test]
fn a_newer_ledger_is_refused_untouched() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.db");
    Ledger::open(&path)?.record(&entry(1, "gpt-4o", 0.1))?;
    rusqlite::Connection::open(&path)?.execute_batch("PRAGMA user_version=99")?;
    let err = Ledger::open(&path).err().ok_or("opened")?;
    assert!(
        matches!(
            err,
            Error::LedgerNewer {
                found: 99,
                supported: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer than this vibe"));
    let v: i64 =
        rusqlite::Connection::open(&path)?.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    assert_eq!(v, 99);
    Ok(())
}

#[test]
fn an_unwritable_data_dir_is_reported() -> TestResult {
    // Tests may run as root, for whom permission bits do not stop writes: a data "dir" that
    // is a regular file fails for everyone.
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("home");
    std::fs::write(&file, "not a dir")?;
    let err = Ledger::open(&file.join("ledger.db"))
        .err()
        .ok_or("opened")?;
    assert!(matches!(err, Error::LedgerUnwritable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("writable") && msg.contains("VIBE_HOME"),
        "{msg}"
    );
    Ok(())
}

#[test]
fn budget_hard_limits_and_soft_warnings() {
    let b = Budget {
        daily: Some(5.0),
        monthly: Some(100.0),
        session: None,
        soft: 0.8,
    };
    let spend = Spend {
        today: 3.9,
        month: 50.0,
        session: 4.0,
        held: 0.0,
        session_held: 0.0,
    };
    // Below the soft threshold: nothing.
    assert_eq!(b.check_spend(&spend, 0.01), Ok(vec![]));
    // Past it: one line.
    assert_eq!(
        b.check_spend(&spend, 0.20),
        Ok(vec![
            "daily budget: $4.10 of $5.00 spent (82%) after this request".to_string()
        ])
    );
    // Exactly at the limit is allowed; past it is refused.
    assert!(b.check_spend(&spend, 1.1).is_ok());
    let err = b.check_spend(&spend, 1.5).err();
    assert_eq!(
        err,
        Some(OverBudget {
            limit: Limit::Daily,
            limit_usd: 5.0,
            spent_usd: 3.9,
            held_usd: 0.0,
            estimate_usd: 1.5
        })
    );
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    for part in [
        "daily budget is $5.00",
        "$3.90 is already spent today",
        "$1.50",
        "budget.daily",
        "tomorrow",
        "--allow-over-budget",
    ] {
        assert!(msg.contains(part), "{part}: {msg}");
    }
    // Part of it held by requests in flight: said so, not called spent.
    let held = Spend { held: 0.4, ..spend };
    let msg = b
        .check_spend(&held, 1.5)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("$3.90 is spent or held by requests in flight today ($0.40 held)"),
        "{msg}"
    );
    // The monthly limit.
    let month = Spend {
        month: 99.5,
        ..spend
    };
    let err = b.check_spend(&month, 0.6).err();
    assert_eq!(err.map(|e| e.limit), Some(Limit::Monthly));
    // A free request is never refused, even past a limit.
    let over = Spend {
        today: 7.0,
        ..spend
    };
    assert!(b.check_spend(&over, 0.0).is_ok());
    // No limits: nothing to say.
    let none = Budget::from_config(&crate::config::Config::defaults().budget);
    assert_eq!(none.limits().count(), 0);
    assert_eq!(none.soft, 0.8);
    assert_eq!(none.check_spend(&over, 100.0), Ok(vec![]));
}

#[test]
fn session_budget_reads_the_session() -> TestResult {
    let dir = tempfile::tempdir()?;
    let l = Ledger::open(&dir.path().join("ledger.db"))?;
    let now = Clock::system().now.as_millisecond();
    l.record(&entry(now, "gpt-4o", 0.9))?;
    let b = Budget {
        daily: None,
        monthly: None,
        session: Some(1.0),
        soft: 0.8,
    };
    // As the meter checks: the spend with the holds, then `check_spend`.
    let check = |session: &str, usd: f64| -> Result<Result<Vec<String>, OverBudget>, Error> {
        let mut warnings = Vec::new();
        let held = l.hold(session, usd, &Clock::system(), &mut |spend| {
            b.check_spend(&spend, usd).map(|w| warnings = w)
        })?;
        Ok(held.map(|_| warnings))
    };
    let err = check("s1", 0.2)?.err().ok_or("not refused")?;
    assert_eq!(err.limit, Limit::Session, "{err:?}");
    assert!(err.to_string().contains("new session"));
    // Another session starts from zero.
    assert_eq!(check("s2", 0.2)?, Ok(Vec::<String>::new()));
    assert_eq!(check("s1", 0.05)?.map(|w| w.len()), Ok(1));
    Ok(())
}

#[test]
fn days_and_months_are_local() -> TestResult {
    // 2025-03-01 03:30 UTC is still 2025-02-28 in New York (22:30 EST).
    let c = clock_at("2025-03-01T03:30:00Z");
    assert_eq!(c.today().to_string(), "2025-02-28");
    assert_eq!(c.day_start_ms(), ms("2025-02-28T05:00:00Z"));
    assert_eq!(c.month_start_ms(), ms("2025-02-01T05:00:00Z"));
    // After the switch to summer time, midnight is 04:00 UTC.
    let c = clock_at("2025-07-01T12:00:00Z");
    assert_eq!(c.day_start_ms(), ms("2025-07-01T04:00:00Z"));
    assert_eq!(c.month_start_ms(), ms("2025-07-01T04:00:00Z"));

    // Spend on each side of local midnight and of the month's start.
    let dir = tempfile::tempdir()?;
    let l = Ledger::open(&dir.path().join("ledger.db"))?;
    l.record(&entry(ms("2025-01-31T23:00:00Z"), "gpt-4o", 1.0))?; // Jan 31 local
    l.record(&entry(ms("2025-02-01T04:59:00Z"), "gpt-4o", 2.0))?; // Jan 31 23:59 local
    l.record(&entry(ms("2025-02-01T05:00:00Z"), "gpt-4o", 4.0))?; // Feb 1 00:00 local
    l.record(&entry(ms("2025-02-02T04:59:00Z"), "gpt-4o", 8.0))?; // Feb 1 23:59 local
    l.record(&entry(ms("2025-02-02T05:00:00Z"), "gpt-4o", 16.0))?; // Feb 2 00:00 local
    let c = clock_at("2025-02-02T12:00:00Z");
    let s = Spend::read(&l, "s1", &c)?;
    assert_eq!((s.today, s.month, s.session), (16.0, 28.0, 31.0));
    let b = Budget {
        daily: Some(20.0),
        monthly: Some(30.0),
        session: None,
        soft: 0.8,
    };
    // Day at 17 of 20 and month at 29 of 30: both past 80%.
    assert_eq!(b.check_spend(&s, 1.0).map(|w| w.len()), Ok(2));
    assert_eq!(
        b.check_spend(&s, 3.0).err().map(|e| e.limit),
        Some(Limit::Monthly)
    );
    Ok(())
}

#[test]
fn since_parses_dates_and_relative_days() {
    let c = clock_at("2025-06-15T12:00:00Z");
    let date = |s: &str| report::parse_since(s, &c).map(|s| s.date.to_string());
    assert_eq!(date("2025-06-01").as_deref(), Ok("2025-06-01"));
    assert_eq!(date("today").as_deref(), Ok("2025-06-15"));
    assert_eq!(date("1d").as_deref(), Ok("2025-06-15"));
    assert_eq!(date("7d").as_deref(), Ok("2025-06-09"));
    assert_eq!(date("30d").as_deref(), Ok("2025-05-17"));
    assert_eq!(date("2w").as_deref(), Ok("2025-06-02"));
    assert_eq!(
        report::parse_since("2025-06-01", &c).map(|s| s.start_ms),
        Ok(ms("2025-06-01T04:00:00Z"))
    );
    for bad in [
        "",
        "7x",
        "0d",
        "-3d",
        "2025-13-01",
        "yesterday",
        "2025/06/01",
        // Past a century back, or past what a date can hold: an error, never a panic or a
        // count that wraps into the future.
        "36526d",
        "100000000000d",
        "9999999999w",
        "7905747460161236393w",
        "9999-12-31",
    ] {
        assert!(report::parse_since(bad, &c).is_err(), "{bad}");
    }
    assert_eq!(date("36525d").as_deref(), Ok("1925-06-16"));
}

/// Today and this month are whole local periods in the report: a request dated later (a
/// report of a past day, a clock that was ahead) is not counted in them.
#[test]
fn report_periods_end() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.db");
    let l = Ledger::open(&path)?;
    l.record(&entry(ms("2025-06-15T15:00:00Z"), "gpt-4o", 1.0))?;
    l.record(&entry(ms("2025-06-16T15:00:00Z"), "gpt-4o", 2.0))?;
    l.record(&entry(ms("2025-07-01T15:00:00Z"), "gpt-4o", 4.0))?;
    let c = clock_at("2025-06-15T20:00:00Z");
    let b = Budget {
        daily: None,
        monthly: None,
        session: None,
        soft: 0.8,
    };
    let r = report::build(Some(&l), &path, &b, &c, &Options::default())?;
    assert_eq!(r.today.cost_usd, 1.0);
    assert_eq!(r.month.cost_usd, 3.0);
    assert_eq!(r.total.cost_usd, 7.0);
    Ok(())
}

#[test]
fn report_sums_groups_and_projects() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.db");
    let l = Ledger::open(&path)?;
    l.record(&entry(ms("2025-05-20T15:00:00Z"), "gpt-4o", 3.0))?;
    let mut e = entry(ms("2025-06-10T15:00:00Z"), "claude-sonnet-4-5", 1.0);
    e.provider = "anthropic".into();
    e.project = "/other".into();
    e.estimated = true;
    l.record(&e)?;
    let mut e = entry(ms("2025-06-15T15:00:00Z"), "mystery", 0.0);
    e.priced = false;
    e.outcome = "error".into();
    l.record(&e)?;
    l.record(&entry(ms("2025-06-15T16:00:00Z"), "gpt-4o", 0.5))?;
    let c = clock_at("2025-06-15T20:00:00Z");
    let b = Budget {
        daily: Some(1.0),
        monthly: Some(10.0),
        session: Some(1.0),
        soft: 0.8,
    };
    let r = report::build(Some(&l), &path, &b, &c, &Options::default())?;
    assert_eq!(r.schema, "vibe.cost/1");
    assert_eq!((r.today.requests, r.today.cost_usd), (2, 0.5));
    assert_eq!((r.month.requests, r.month.cost_usd), (3, 1.5));
    assert_eq!((r.total.requests, r.total.cost_usd), (4, 4.5));
    assert_eq!(
        (r.total.estimated, r.total.unpriced, r.total.failed),
        (1, 1, 1)
    );
    assert!((r.daily_average_usd - 0.1).abs() < 1e-9);
    assert!((r.projected_month_usd - 3.0).abs() < 1e-9);
    let keys = |g: &[report::Group]| g.iter().map(|g| g.key.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(&r.by_model),
        ["gpt-4o", "claude-sonnet-4-5", "mystery"]
    );
    assert_eq!(keys(&r.by_provider), ["openai", "anthropic"]);
    assert_eq!(keys(&r.by_project), ["/repo", "/other"]);
    assert_eq!(keys(&r.by_day), ["2025-05-20", "2025-06-10", "2025-06-15"]);
    assert_eq!(
        r.most_expensive.as_ref().map(|c| c.local_time.as_str()),
        Some("2025-05-20 11:00")
    );
    assert_eq!(r.budgets.len(), 2, "no session gauge in a report");
    assert_eq!(r.budgets[0].percent, 50.0);
    // --since and --project narrow the range; today and this month stay whole days / months.
    let opts = Options {
        since: Some(report::parse_since("2025-06-12", &c)?),
        project: Some("/repo".into()),
    };
    let long = Options {
        project: Some(format!(
            "/home/someone/{}/repo",
            "very-long-directory-name/".repeat(6)
        )),
        ..opts.clone()
    };
    let text = report::render(&report::build(Some(&l), &path, &b, &c, &long)?);
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
    let r = report::build(Some(&l), &path, &b, &c, &opts)?;
    assert_eq!((r.total.requests, r.total.cost_usd), (2, 0.5));
    assert_eq!((r.month.requests, r.month.cost_usd), (2, 0.5));
    assert_eq!(r.budgets[1].spent_usd, 1.5, "gauges cover all projects");
    // Every text line fits 80 columns.
    let text = report::render(&r);
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
    Ok(())
}

#[test]
fn session_ids_differ() {
    let a = new_session_id();
    let b = new_session_id();
    assert_ne!(a, b);
    assert_eq!(a.len(), "20250615T101500Z-3f9a02c1".len(), "{a}");
}

#[test]
fn holds_count_until_settled_and_lapse_with_their_process() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(&path)?;
    let clock = clock_at("2025-06-15T16:00:00Z");
    let budget = Budget {
        daily: Some(1.0),
        monthly: None,
        session: Some(0.5),
        soft: 0.8,
    };
    let ask = |session: &str, usd: f64| -> Result<Result<Option<i64>, OverBudget>, Error> {
        ledger.hold(session, usd, &clock, &mut |spend| {
            budget.check_spend(&spend, usd).map(|_| ())
        })
    };
    // $0.4 held for s1, then $0.4 for s2: today's $1.00 has $0.2 left.
    let first = ask("s1", 0.4)?.map_err(|e| e.to_string())?;
    assert!(first.is_some());
    ask("s2", 0.4)?.map_err(|e| e.to_string())?;
    let refused = ask("s3", 0.4)?.err().ok_or("a third $0.4 passed")?;
    assert_eq!((refused.limit, refused.spent_usd), (Limit::Daily, 0.8));
    // The session limit counts the session's own holds only.
    let refused = ask("s1", 0.15)?.err().ok_or("s1 past $0.5")?;
    assert_eq!(refused.limit, Limit::Session);
    // s1's request cost $0.1 in the end: recorded and released at once.
    let mut e = entry(clock.now.as_millisecond(), "gpt-4o", 0.1);
    e.session = "s1".into();
    ledger.settle(first, &e)?;
    assert_eq!(ledger.holds()?, vec![("s2".to_string(), 0.4)]);
    ask("s3", 0.4)?.map_err(|e| e.to_string())?;
    // A free request holds nothing.
    assert_eq!(ask("s4", 0.0)?.map_err(|e| e.to_string())?, None);
    // Holds of a process that is gone, or older than an hour, lapse.
    let conn = rusqlite::Connection::open(&path)?;
    let dead = crate::unused_pid().ok_or("no free pid")?;
    if crate::process_exists(dead).is_some() {
        conn.execute("UPDATE holds SET pid = ?1 WHERE session = 's2'", [dead])?;
    } else {
        conn.execute("UPDATE holds SET time_ms = 0 WHERE session = 's2'", [])?;
    }
    let old = clock.now.as_millisecond() - HOLD_STALE.as_millis() as i64 - 1;
    conn.execute("UPDATE holds SET time_ms = ?1 WHERE session = 's3'", [old])?;
    let last = ask("s5", 0.5)?.map_err(|e| e.to_string())?;
    assert_eq!(ledger.holds()?, vec![("s5".to_string(), 0.5)]);
    // Ids are never reused: settling `first` again cannot release s5's hold.
    assert!(last.is_some() && last != first, "{last:?} {first:?}");
    ledger.settle(first, &entry(clock.now.as_millisecond(), "gpt-4o", 0.0))?;
    assert_eq!(ledger.holds()?.len(), 1);
    // A hold of another host (or PID namespace) is not judged by its PID here: it lapses
    // with age only.
    conn.execute(
        "INSERT INTO holds(time_ms, session, host, pid, cost_usd) VALUES (?1, 's6', 'elsewhere/pid:[1]', ?2, 0.1)",
        rusqlite::params![clock.now.as_millisecond(), dead],
    )?;
    ask("s7", 0.0)?.map_err(|e| e.to_string())?;
    assert_eq!(ledger.holds()?.len(), 2);
    // A hold released alone (its request could not be recorded).
    ledger.release(last.ok_or("no hold")?)?;
    assert_eq!(ledger.holds()?, vec![("s6".to_string(), 0.1)]);
    Ok(())
}

#[test]
fn dollars_show_what_is_not_nothing() {
    assert_eq!(usd(0.0), "$0.00");
    assert_eq!(usd(1.234), "$1.23");
    assert_eq!(usd(0.0042), "$0.0042");
    assert_eq!(usd(0.000001), "$0.0000010");
    assert_eq!(usd(0.0000012), "$0.0000012");
    assert_eq!(usd(0.00005), "$0.000050");
    assert_eq!(usd(1e-20), "$0.000000000000");
}

#[test]
fn a_refusal_never_shows_its_total_equal_to_the_limit() {
    let e = OverBudget {
        limit: Limit::Session,
        limit_usd: 0.01,
        spent_usd: 0.0095,
        held_usd: 0.0,
        estimate_usd: 0.0007,
    };
    let text = e.to_string();
    assert!(text.contains("the session budget is $0.01"), "{text}");
    assert!(text.contains("(total $0.0102)"), "{text}");
    let e = OverBudget {
        limit: Limit::Daily,
        limit_usd: 5.0,
        spent_usd: 4.0,
        held_usd: 0.0,
        estimate_usd: 2.0,
    };
    assert!(e.to_string().contains("(total $6.00)"), "{e}");
}
