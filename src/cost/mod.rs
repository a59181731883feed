//! Cost: the pricing table, the usage ledger, budgets and the `vibe cost` report.
//!
//! Every request to a provider goes through here: before it, [`Ledger::hold`] gives
//! [`Budget::check_spend`] the spend with every process's requests in flight and holds the
//! request's estimate; after it, [`Ledger::settle`] writes one [`Entry`] and releases the hold. [`meter::LedgerMeter`] does both
//! as the provider layer's `llm::Meter`. Invariant: the ledger holds
//! counts, names and money only, never prompts, answers or keys. Blocking code throughout (run it
//! via `spawn_blocking` from async code).

use std::path::{Path, PathBuf};

mod budget;
mod ledger;
pub mod meter;
mod pricing;
pub mod report;

pub use budget::{Budget, Clock, Limit, OverBudget, Spend, usd};
pub use ledger::{HOLD_STALE, Ledger};
pub use pricing::{Pricing, model_entry};
pub use report::Report;

/// Token counts of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tokens {
    /// Prompt tokens, including the cached ones.
    pub input: u64,
    pub output: u64,
    /// Input tokens read from the provider's prompt cache (a subset of `input`).
    pub cached: u64,
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub input: f64,
    pub output: f64,
    /// The price of input tokens read from the prompt cache; `None`: the input price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input: Option<f64>,
}

impl Prices {
    /// The cost in USD: cached tokens at `cached_input` (else the input price), the rest of the
    /// input at `input`, output at `output`. Cached counts above `input` are capped at it.
    pub fn cost(&self, t: &Tokens) -> f64 {
        let cached = t.cached.min(t.input);
        let fresh = t.input - cached;
        let cached_price = self.cached_input.unwrap_or(self.input);
        (fresh as f64 * self.input + cached as f64 * cached_price + t.output as f64 * self.output)
            / 1_000_000.0
    }
}

/// One row of the ledger: one provider request. Never holds prompts, answers or keys.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Entry {
    /// Unix epoch milliseconds (UTC) when the request started.
    pub time_ms: i64,
    /// The repository root (canonical, see [`project_key`]), "" if none.
    pub project: String,
    /// The vibe session (one per run of `vibe ask`, one per chat session); see [`new_session_id`].
    pub session: String,
    pub provider: String,
    pub model: String,
    /// "ask", "chat", "heal", ...
    pub operation: String,
    pub tokens: Tokens,
    /// The token counts were counted locally (the server reported none).
    pub estimated: bool,
    pub cost_usd: f64,
    /// False: no price was known; `cost_usd` is 0 and the report flags the request.
    pub priced: bool,
    pub latency_ms: u64,
    /// "ok", "error" or "cancelled". Requests refused by a budget are never sent, so never
    /// recorded.
    pub outcome: String,
}

/// Errors of the cost part. Each names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}\nhint: fix the file, or move it aside to use the built-in prices")]
    Pricing { path: PathBuf, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the cost ledger {path} {reason}\nhint: nothing was changed; move it aside (e.g. `mv {path} {path}.broken`) and vibe starts a new, empty ledger"
    )]
    LedgerUnusable { path: PathBuf, reason: String },
    #[error(
        "the cost ledger {path} has schema version {found}, newer than this vibe's {supported}\nhint: nothing was changed; use the newer vibe, or set VIBE_HOME to keep a separate ledger"
    )]
    LedgerNewer {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "the cost ledger {path} stayed locked by another process for {waited_s:.1} s\nhint: another vibe may be stuck; try again, or stop the process that holds it"
    )]
    LedgerLocked { path: PathBuf, waited_s: f64 },
    #[error(
        "cannot write the cost ledger {path}: {detail}\nhint: check that {dir} is writable, or set VIBE_HOME to a writable directory"
    )]
    LedgerUnwritable {
        path: PathBuf,
        dir: PathBuf,
        detail: String,
    },
    #[error("the cost ledger {0}")]
    Ledger(crate::store::Error),
    /// A request refused by a budget; the CLI exits 3 on it.
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
}

/// A new session id: the start time (UTC, to the second) and 32 bits that differ between
/// processes and calls, e.g. `20250615T101500Z-3f9a02c1`.
pub fn new_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = jiff::Timestamp::now();
    // RandomState is seeded from the OS once per process (and per thread after); the pid, the
    // time and a counter make two ids of one process differ too.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_i128(now.as_nanosecond());
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    format!(
        "{}-{:08x}",
        now.strftime("%Y%m%dT%H%M%SZ"),
        h.finish() as u32
    )
}

/// The project string recorded for a repository root: its canonical path ("" for none), so that
/// `vibe cost --project` matches it however the root was spelled.
pub fn project_key(root: Option<&Path>) -> String {
    root.map(|r| {
        std::fs::canonicalize(r)
            .unwrap_or_else(|_| r.to_path_buf())
            .display()
            .to_string()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests;
