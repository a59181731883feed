//! Budgets: daily, monthly and per-session limits, checked before a request is sent.
//!
//! Days and months are local (the system time zone, `TZ` honoured): "today" starts at local
//! midnight, "this month" on the 1st at local midnight.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{Error, Ledger};

/// Budgets from config (`[budget]`), possibly overridden by flags. `None`: no limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub daily: Option<f64>,
    pub monthly: Option<f64>,
    pub session: Option<f64>,
    /// The fraction of a limit at which to warn (0.8 by default).
    pub soft: f64,
}

/// Which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Limit {
    Daily,
    Monthly,
    Session,
}

impl Limit {
    pub fn name(self) -> &'static str {
        match self {
            Limit::Daily => "daily",
            Limit::Monthly => "monthly",
            Limit::Session => "session",
        }
    }

    fn period(self) -> &'static str {
        match self {
            Limit::Daily => "today",
            Limit::Monthly => "this month",
            Limit::Session => "in this session",
        }
    }

    fn wait(self) -> &'static str {
        match self {
            Limit::Daily => "wait until tomorrow",
            Limit::Monthly => "wait until next month",
            Limit::Session => "start a new session",
        }
    }
}

/// The refusal: a request that would take the spend past a hard limit. The CLI exits 3 on it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "request refused: the {} budget is {}, {} {}, and this request may cost up to {} (total {})\nhint: raise `budget.{}` in your config (or -c budget.{}=AMOUNT for one run), {}, or pass --allow-over-budget",
    limit.name(), usd(*limit_usd), usd(*spent_usd), spent_how(*held_usd, limit.period()), usd(*estimate_usd),
    usd_apart(spent_usd + estimate_usd, *limit_usd), limit.name(), limit.name(), limit.wait()
)]
pub struct OverBudget {
    pub limit: Limit,
    pub limit_usd: f64,
    /// Spent, and held by requests still in flight (other processes' included).
    pub spent_usd: f64,
    /// Of `spent_usd`, what requests in flight hold (their worst case).
    pub held_usd: f64,
    pub estimate_usd: f64,
}

/// "is already spent today", or, when part of it is held by requests still running (five
/// processes at once: three were told $0.04 was spent while the ledger held $0.00007), "is
/// spent or held by requests in flight today ($0.04 held)".
fn spent_how(held_usd: f64, period: &str) -> String {
    if held_usd > 0.0 {
        format!(
            "is spent or held by requests in flight {period} ({} held)",
            usd(held_usd)
        )
    } else {
        format!("is already spent {period}")
    }
}

/// What has been spent against each limit, in USD.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Spend {
    pub today: f64,
    pub month: f64,
    pub session: f64,
    /// Of `today` and `month`: what requests in flight hold.
    pub held: f64,
    /// Of `session`: what this session's requests in flight hold.
    pub session_held: f64,
}

/// "Now" and the time zone that days and months are counted in.
#[derive(Debug, Clone)]
pub struct Clock {
    pub now: Timestamp,
    pub tz: TimeZone,
}

impl Clock {
    /// The system clock and time zone.
    pub fn system() -> Clock {
        Clock {
            now: Timestamp::now(),
            tz: TimeZone::system(),
        }
    }

    /// Unix ms of the start of today (local midnight).
    pub fn day_start_ms(&self) -> i64 {
        let z = self.now.to_zoned_datetime(self.tz.clone());
        z.start_of_day()
            .map(|d| d.timestamp().as_millisecond())
            .unwrap_or_else(|_| self.now.as_millisecond())
    }

    /// Unix ms of the start of this month (the 1st, local midnight).
    pub fn month_start_ms(&self) -> i64 {
        let z = self.now.to_zoned_datetime(self.tz.clone());
        z.first_of_month()
            .and_then(|d| d.start_of_day())
            .map(|d| d.timestamp().as_millisecond())
            .unwrap_or_else(|_| self.now.as_millisecond())
    }

    /// The local calendar date of a unix-ms time.
    pub fn date_of(&self, ms: i64) -> jiff::civil::Date {
        Timestamp::from_millisecond(ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned_datetime(self.tz.clone())
            .date()
    }

    /// Today's local date.
    pub fn today(&self) -> jiff::civil::Date {
        self.now.to_zoned_datetime(self.tz.clone()).date()
    }
}

impl Spend {
    /// Reads today's, this month's (all projects) and `session`'s spend from the ledger.
    pub fn read(ledger: &Ledger, session: &str, clock: &Clock) -> Result<Spend, Error> {
        Ok(Spend {
            today: ledger.spent_since(clock.day_start_ms())?,
            month: ledger.spent_since(clock.month_start_ms())?,
            session: ledger.session_spent(session)?,
            held: 0.0,
            session_held: 0.0,
        })
    }
}

impl Budget {
    /// The budgets of the config; 0 means no limit.
    pub fn from_config(c: &crate::config::BudgetConfig) -> Budget {
        let limit = |v: f64| (v > 0.0).then_some(v);
        Budget {
            daily: limit(c.daily),
            monthly: limit(c.monthly),
            session: limit(c.session),
            soft: c.soft,
        }
    }

    /// The limits that are set, in the order they are checked.
    pub fn limits(&self) -> impl Iterator<Item = (Limit, f64)> {
        [
            (Limit::Daily, self.daily),
            (Limit::Monthly, self.monthly),
            (Limit::Session, self.session),
        ]
        .into_iter()
        .filter_map(|(l, v)| v.map(|v| (l, v)))
    }

    /// Before a request: would spending `estimate_usd` more cross a hard limit (today's spend in
    /// local time, this calendar month's, this session's)? `OverBudget` if so; else one warning
    /// line per limit that the request would take past the soft threshold, e.g. "daily budget:
    /// $4.10 of $5.00 spent (82%) after this request". A request that costs nothing (a local
    /// model) is never refused, even past a limit. The spend comes from [`Ledger::hold`], which
    /// counts the requests in flight in every process (what [`Spend::read`] does not).
    pub fn check_spend(&self, spend: &Spend, estimate_usd: f64) -> Result<Vec<String>, OverBudget> {
        let estimate_usd = estimate_usd.max(0.0);
        let mut warnings = vec![];
        for (limit, limit_usd) in self.limits() {
            let (spent_usd, held_usd) = match limit {
                Limit::Daily => (spend.today, spend.held),
                Limit::Monthly => (spend.month, spend.held),
                Limit::Session => (spend.session, spend.session_held),
            };
            let after = spent_usd + estimate_usd;
            if estimate_usd > 0.0 && after > limit_usd {
                return Err(OverBudget {
                    limit,
                    limit_usd,
                    spent_usd,
                    held_usd,
                    estimate_usd,
                });
            }
            if after >= self.soft * limit_usd && after > 0.0 {
                warnings.push(format!(
                    "{} budget: {} of {} spent ({:.0}%) after this request",
                    limit.name(),
                    usd(after),
                    usd(limit_usd),
                    after / limit_usd * 100.0
                ));
            }
        }
        Ok(warnings)
    }
}

/// Dollars for people: cents, or four decimals below one cent ("$0.0042"), two significant
/// digits below that ("$0.0000012", never "$0.0000" for an amount that is not nothing), "$0.00"
/// for nothing.
/// `v` as `usd` shows it, with more decimals where that would read the same as `other`'s (a
/// refusal saying "total $0.01" against a budget of $0.01).
fn usd_apart(v: f64, other: f64) -> String {
    let mut shown = usd(v);
    let mut decimals = 4;
    while shown == usd(other) && v != other && decimals <= 10 {
        shown = format!("${v:.decimals$}");
        decimals += 2;
    }
    shown
}

pub fn usd(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.0001 {
        let decimals = (-v.abs().log10()).ceil() as usize + 1;
        format!("${v:.*}", decimals.min(12))
    } else if v != 0.0 && v.abs() < 0.01 {
        format!("${v:.4}")
    } else {
        format!("${v:.2}")
    }
}
