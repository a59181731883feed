//! The `vibe cost` report: spend today, this month and over a range, breakdowns, the daily
//! average and month projection, the most expensive request and budget gauges; as a value (for
//! `--json`) and as compact text (80 columns).

use std::collections::HashMap;
use std::path::Path;

use jiff::ToSpan as _;
use serde::Serialize;

use super::budget::usd;
use super::{Budget, Clock, Entry, Error, Ledger, Limit};
use crate::store::ledger::Filter;

/// The JSON schema name of [`Report`].
pub const SCHEMA: &str = "vibe.cost/1";

/// What to report on.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where the range starts (see [`parse_since`]); `None`: all time.
    pub since: Option<Since>,
    /// Only this project (its canonical root, as recorded).
    pub project: Option<String>,
}

/// Totals over a set of requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sum {
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub cost_usd: f64,
    /// Requests whose token counts were estimated locally.
    pub estimated: u64,
    /// Requests of a model with no known price (counted as $0).
    pub unpriced: u64,
    /// Requests whose outcome was not "ok".
    pub failed: u64,
}

impl Sum {
    fn add(&mut self, e: &Entry) {
        self.requests += 1;
        self.input_tokens += e.tokens.input;
        self.output_tokens += e.tokens.output;
        self.cached_tokens += e.tokens.cached;
        self.cost_usd += e.cost_usd;
        self.estimated += u64::from(e.estimated);
        self.unpriced += u64::from(!e.priced);
        self.failed += u64::from(e.outcome != "ok");
    }

    /// Rounds the cost to micro-dollars, so that sums print without float noise.
    fn rounded(mut self) -> Sum {
        self.cost_usd = micro(self.cost_usd);
        self
    }
}

/// An amount rounded to micro-dollars, as every cost vibe prints is (no `0.42800000000000005`).
pub fn micro(usd: f64) -> f64 {
    (usd * 1e6).round() / 1e6
}

/// One row of a breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub key: String,
    #[serde(flatten)]
    pub sum: Sum,
}

/// Spend against one limit (all projects).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gauge {
    pub limit: Limit,
    pub limit_usd: f64,
    pub spent_usd: f64,
    pub percent: f64,
    pub soft_percent: f64,
}

/// The most expensive request, with its local time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Costliest {
    pub local_time: String,
    #[serde(flatten)]
    pub entry: Entry,
}

/// Everything `vibe cost` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub ledger: String,
    /// False when there is no ledger file yet (nothing was ever recorded).
    pub ledger_exists: bool,
    /// Local time of the report, RFC 3339 with offset.
    pub now: String,
    pub time_zone: String,
    pub since: Option<String>,
    pub project: Option<String>,
    /// Today (from local midnight) and this calendar month, whatever `since` says.
    pub today: Sum,
    pub month: Sum,
    /// The range: all time, or from `since`.
    pub total: Sum,
    /// This month's spend divided by the days of the month so far (today included).
    pub daily_average_usd: f64,
    /// The daily average times the days of this month.
    pub projected_month_usd: f64,
    pub by_model: Vec<Group>,
    pub by_provider: Vec<Group>,
    pub by_operation: Vec<Group>,
    /// Key "" is requests made outside any repository.
    pub by_project: Vec<Group>,
    /// Local dates, oldest first; only days with requests.
    pub by_day: Vec<Group>,
    pub most_expensive: Option<Costliest>,
    /// Daily and monthly limits that are set, with spend across all projects.
    pub budgets: Vec<Gauge>,
}

/// The start of a range: a local date and the unix ms of its midnight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Since {
    pub date: jiff::civil::Date,
    pub start_ms: i64,
}

/// Parses `--since`: a date `YYYY-MM-DD`, `today`, or a number of days or weeks back counting
/// today (`7d` is today and the six days before it; `2w` is `14d`).
pub fn parse_since(s: &str, clock: &Clock) -> Result<Since, String> {
    let date = since_date(s.trim(), clock)?;
    let start_ms = date
        .to_zoned_datetime(clock.tz.clone())
        .map_err(|_| format!("{date} is out of the range of dates vibe can count from"))?
        .timestamp()
        .as_millisecond();
    Ok(Since { date, start_ms })
}

/// The farthest back `--since Nd` / `Nw` reaches: a century.
const MAX_DAYS_BACK: i64 = 36_525;

fn since_date(s: &str, clock: &Clock) -> Result<jiff::civil::Date, String> {
    let today = clock.today();
    if s.eq_ignore_ascii_case("today") {
        return Ok(today);
    }
    let relative = |unit: char, per: i64| -> Option<Result<jiff::civil::Date, String>> {
        let n: i64 = s.strip_suffix(unit)?.parse().ok()?;
        if n < 1 {
            return Some(Err("the count of days must be 1 or more".into()));
        }
        let days = n.checked_mul(per).filter(|d| *d <= MAX_DAYS_BACK);
        let Some(days) = days else {
            return Some(Err(format!(
                "at most {MAX_DAYS_BACK} days ({} weeks, a century) back",
                MAX_DAYS_BACK / 7
            )));
        };
        Some(
            today
                .checked_sub((days - 1).days())
                .map_err(|e| e.to_string()),
        )
    };
    if let Some(r) = relative('d', 1).or_else(|| relative('w', 7)) {
        return r;
    }
    s.parse::<jiff::civil::Date>().map_err(|_| {
        "expected a date YYYY-MM-DD, `today`, or days or weeks back like 7d, 30d, 2w".into()
    })
}

/// Builds the report from `ledger` (`None`: there is no ledger file at `path`).
pub fn build(
    ledger: Option<&Ledger>,
    path: &Path,
    budget: &Budget,
    clock: &Clock,
    opts: &Options,
) -> Result<Report, Error> {
    let zoned = clock.now.to_zoned_datetime(clock.tz.clone());
    let day_start = clock.day_start_ms();
    let month_start = clock.month_start_ms();
    let since_ms = opts.since.map(|s| s.start_ms);
    let mut today = Sum::default();
    let mut month = Sum::default();
    let mut total = Sum::default();
    let mut groups: [HashMap<String, Sum>; 5] = Default::default();
    let mut costliest: Option<Entry> = None;
    if let Some(ledger) = ledger {
        let filter = Filter {
            from_ms: since_ms.map(|s| s.min(month_start)),
            project: opts.project.as_deref(),
        };
        let this_day = clock.today();
        ledger.scan(&filter, &mut |e| {
            // Whole local periods, not "since": a request dated later (the report of a past
            // day, `VIBE_NOW`, or a clock that was ahead) is not today's.
            let date = clock.date_of(e.time_ms);
            if date == this_day {
                today.add(&e);
            }
            if (date.year(), date.month()) == (this_day.year(), this_day.month()) {
                month.add(&e);
            }
            if since_ms.is_some_and(|s| e.time_ms < s) {
                return;
            }
            total.add(&e);
            let day = date.to_string();
            let keys = [&e.model, &e.provider, &e.operation, &e.project, &day];
            for (g, k) in groups.iter_mut().zip(keys) {
                g.entry(k.clone()).or_default().add(&e);
            }
            if costliest.as_ref().is_none_or(|c| e.cost_usd > c.cost_usd) {
                costliest = Some(e);
            }
        })?;
    }
    let days_so_far = f64::from(zoned.day());
    let daily_average_usd = micro(month.cost_usd / days_so_far);
    let projected_month_usd =
        micro(month.cost_usd / days_so_far * f64::from(zoned.days_in_month()));
    let mut budgets = vec![];
    for (limit, limit_usd) in budget.limits() {
        let spent_usd = match (limit, ledger) {
            (_, None) => 0.0,
            (Limit::Daily, Some(l)) => l.spent_since(day_start)?,
            (Limit::Monthly, Some(l)) => l.spent_since(month_start)?,
            // A session belongs to one run of vibe, not to a report.
            (Limit::Session, _) => continue,
        };
        budgets.push(Gauge {
            limit,
            limit_usd,
            spent_usd: micro(spent_usd),
            percent: (spent_usd / limit_usd * 1000.0).round() / 10.0,
            soft_percent: budget.soft * 100.0,
        });
    }
    let [by_model, by_provider, by_operation, by_project, by_day] = groups.map(sorted);
    let (today, month, total) = (today.rounded(), month.rounded(), total.rounded());
    let mut by_day = by_day;
    by_day.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Report {
        schema: SCHEMA,
        ledger: path.display().to_string(),
        ledger_exists: ledger.is_some(),
        now: zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        time_zone: clock.tz.iana_name().unwrap_or("local").to_string(),
        since: opts.since.map(|s| s.date.to_string()),
        project: opts.project.clone(),
        today,
        month,
        total,
        daily_average_usd,
        projected_month_usd,
        by_model,
        by_provider,
        by_operation,
        by_project,
        by_day,
        most_expensive: costliest.map(|entry| Costliest {
            local_time: local_time(entry.time_ms, clock),
            entry: Entry {
                cost_usd: micro(entry.cost_usd),
                ..entry
            },
        }),
        budgets,
    })
}

/// A unix-ms time as local "YYYY-MM-DD HH:MM".
fn local_time(ms: i64, clock: &Clock) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(clock.tz.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// Groups by cost, most first (then by requests, then by name).
fn sorted(m: HashMap<String, Sum>) -> Vec<Group> {
    let mut v: Vec<Group> = m
        .into_iter()
        .map(|(key, sum)| Group {
            key,
            sum: sum.rounded(),
        })
        .collect();
    v.sort_by(|a, b| {
        b.sum
            .cost_usd
            .total_cmp(&a.sum.cost_usd)
            .then(b.sum.requests.cmp(&a.sum.requests))
            .then(a.key.cmp(&b.key))
    });
    v
}

/// Days shown in the text's by-day table when no `--since` is given (JSON has them all).
const TEXT_DAYS: usize = 14;
/// Rows of a breakdown shown in text (JSON has them all).
const TEXT_ROWS: usize = 10;
const NAME: usize = 26;

/// The report as text for a terminal, at most 80 columns wide.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    if let Some(p) = &r.project {
        s.push_str(&format!("Project {}\n\n", shorten(p, 72)));
    }
    if !r.ledger_exists {
        s.push_str("No requests recorded yet: there is no ledger. Figures are zero.\n\n");
    } else if r.total.requests == 0 && r.month.requests == 0 {
        let mut what = vec![];
        if let Some(d) = &r.since {
            what.push(format!("since {d}"));
        }
        if r.project.is_some() {
            what.push("for this project".to_string());
        }
        if what.is_empty() {
            s.push_str("No requests recorded yet: the ledger is empty. Figures are zero.\n\n");
        } else {
            s.push_str(&format!("No requests {}.\n\n", what.join(" ")));
        }
    }
    let range = match &r.since {
        Some(d) => format!("since {d}"),
        None => "all time".into(),
    };
    table(
        &mut s,
        "Spend",
        &[
            ("today", &r.today),
            ("this month", &r.month),
            (&range, &r.total),
        ],
    );
    s.push_str(&format!(
        "  daily average {} this month, projected {} by month end\n",
        usd(r.daily_average_usd),
        usd(r.projected_month_usd)
    ));
    s.push('\n');
    if r.budgets.is_empty() {
        s.push_str("Budgets: none set (budget.daily, budget.monthly in config)\n");
    } else {
        s.push_str("Budgets (all projects)\n");
        for g in &r.budgets {
            s.push_str(&format!(
                "  {:<8} {}  {:>4.0}%  {} of {}\n",
                g.limit.name(),
                bar(g.percent / 100.0, 20),
                g.percent,
                usd(g.spent_usd),
                usd(g.limit_usd)
            ));
        }
    }
    let breakdowns: [(&str, &[Group], usize); 4] = [
        ("By model", &r.by_model, TEXT_ROWS),
        ("By provider", &r.by_provider, TEXT_ROWS),
        ("By operation", &r.by_operation, TEXT_ROWS),
        ("By project", &r.by_project, TEXT_ROWS),
    ];
    for (title, groups, most) in breakdowns {
        if groups.is_empty() {
            continue;
        }
        s.push('\n');
        group_table(&mut s, title, groups, 0, most);
    }
    if !r.by_day.is_empty() {
        s.push('\n');
        let skip = match r.since {
            Some(_) => 0,
            None => r.by_day.len().saturating_sub(TEXT_DAYS),
        };
        let title = if skip > 0 {
            format!("By day (last {TEXT_DAYS} with requests)")
        } else {
            "By day".into()
        };
        group_table(&mut s, &title, &r.by_day, skip, usize::MAX);
    }
    if let Some(c) = &r.most_expensive {
        let e = &c.entry;
        s.push_str(&format!(
            "\nMost expensive request: {} at {}\n  {} ({}), {}, {} in / {} out\n",
            usd(e.cost_usd),
            c.local_time,
            cut(&e.model, 40),
            cut(&e.provider, 20),
            e.operation,
            tokens(e.tokens.input),
            tokens(e.tokens.output)
        ));
    }
    let any = |f: fn(&Sum) -> u64| [&r.today, &r.month, &r.total].into_iter().any(|x| f(x) > 0);
    let (estimated, unpriced) = (any(|x| x.estimated), any(|x| x.unpriced));
    if estimated || unpriced {
        s.push('\n');
        if estimated {
            s.push_str("~N: N requests with token counts estimated locally\n");
        }
        if unpriced {
            s.push_str("?N: N requests of models with no known price, counted as $0\n");
        }
    }
    s.push_str(&format!("\nLedger: {}\n", r.ledger));
    s
}

fn header(s: &mut String, title: &str) {
    s.push_str(&format!(
        "{:<w$}{:>8}{:>8}{:>8}{:>8}{:>10}\n",
        title,
        "requests",
        "input",
        "output",
        "cached",
        "cost",
        w = NAME + 2
    ));
}

fn row(s: &mut String, name: &str, sum: &Sum) {
    // Paths keep their end, other names their start.
    let name = if name.starts_with('/') {
        shorten(name, NAME)
    } else {
        cut(name, NAME)
    };
    let mut flags = String::new();
    if sum.estimated > 0 {
        flags.push_str(&format!(" ~{}", sum.estimated));
    }
    if sum.unpriced > 0 {
        flags.push_str(&format!(" ?{}", sum.unpriced));
    }
    s.push_str(&format!(
        "  {:<NAME$}{:>8}{:>8}{:>8}{:>8}{:>10}{flags}\n",
        name,
        sum.requests,
        tokens(sum.input_tokens),
        tokens(sum.output_tokens),
        tokens(sum.cached_tokens),
        usd(sum.cost_usd),
    ));
}

fn table(s: &mut String, title: &str, rows: &[(&str, &Sum)]) {
    header(s, title);
    for (name, sum) in rows {
        row(s, name, sum);
    }
}

fn group_table(s: &mut String, title: &str, groups: &[Group], skip: usize, most: usize) {
    header(s, title);
    for g in groups.iter().skip(skip).take(most) {
        let name = if g.key.is_empty() { "(none)" } else { &g.key };
        row(s, name, &g.sum);
    }
    let hidden = groups.len().saturating_sub(skip).saturating_sub(most);
    if hidden > 0 {
        s.push_str(&format!("  … {hidden} more (see --json)\n"));
    }
}

/// A token count in at most 6 characters: 999, 12.3k, 4.56M.
fn tokens(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..999_950 => format!("{:.1}k", n as f64 / 1e3),
        999_950..999_950_000 => format!("{:.2}M", n as f64 / 1e6),
        _ => format!("{:.2}B", n as f64 / 1e9),
    }
}

/// A gauge like `[########............]`, full past 100%.
fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled))
}

/// Cuts a name to `max` characters, keeping its start.
fn cut(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_string()
    } else {
        let head: String = name.chars().take(max - 1).collect();
        format!("{head}…")
    }
}

/// Cuts a name to `max` characters, keeping its end (the informative part of a path).
fn shorten(name: &str, max: usize) -> String {
    let n = name.chars().count();
    if n <= max {
        name.to_string()
    } else {
        let tail: String = name.chars().skip(n - (max - 1)).collect();
        format!("…{tail}")
    }
}
