//! The [`Meter`] of a real run: before each attempt, its cost is estimated and checked against
//! the budgets; after it, the attempt is written to the ledger, whatever its outcome.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::llm::{Call, Endpoint, Meter, Usage};

use super::{Budget, Entry, Error, Ledger, Prices, Pricing, Tokens};

/// Budgets and the ledger around every request of one session.
pub struct LedgerMeter {
    ledger: Mutex<Ledger>,
    pricing: Pricing,
    budget: Budget,
    allow_over_budget: bool,
    session: String,
    project: String,
    operation: String,
}

impl LedgerMeter {
    /// `project` as [`super::project_key`] gives it; `operation` is "ask", "chat", "heal", ...
    pub fn new(
        ledger: Ledger,
        pricing: Pricing,
        budget: Budget,
        session: String,
        project: String,
        operation: &str,
    ) -> LedgerMeter {
        LedgerMeter {
            ledger: Mutex::new(ledger),
            pricing,
            budget,
            allow_over_budget: false,
            session,
            project,
            operation: operation.to_string(),
        }
    }

    /// `--allow-over-budget`: a request past a hard limit is sent, with a warning.
    pub fn allow_over_budget(mut self, allow: bool) -> LedgerMeter {
        self.allow_over_budget = allow;
        self
    }

    /// The prices of an endpoint's model: nothing for a local provider, the provider config's
    /// prices for the model if set, else the pricing table's; `None`: unknown.
    pub fn prices(&self, endpoint: &Endpoint) -> Option<Prices> {
        if endpoint.local {
            return Some(Prices {
                input: 0.0,
                output: 0.0,
                cached_input: None,
            });
        }
        match endpoint.prices {
            Some(p) => Some(Prices {
                input: p.input,
                output: p.output,
                cached_input: p.cached_input,
            }),
            None => self.pricing.lookup(&endpoint.model),
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // A panic while holding the lock leaves the ledger as it was (each write is atomic).
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Meter for LedgerMeter {
    fn before(&self, call: &Call) -> anyhow::Result<Vec<String>> {
        let Some(prices) = self.prices(call.endpoint) else {
            let mut notes = vec![];
            if self.budget.limits().next().is_some() {
                notes.push(format!(
                    "model `{}` has no known price, so budgets cannot limit it\nhint: add it to your pricing.toml (see docs/cost.md)",
                    call.endpoint.model
                ));
            }
            return Ok(notes);
        };
        let estimate = prices.cost(&Tokens {
            input: call.prompt_tokens,
            output: call.max_output_tokens,
            cached: 0,
        });
        match self.budget.check(&self.ledger(), &self.session, estimate) {
            Err(Error::OverBudget(o)) if self.allow_over_budget => Ok(vec![format!(
                "over the {} budget of {}: {} spent, this request may cost up to {}; sent anyway (--allow-over-budget)",
                o.limit.name(),
                super::budget::usd(o.limit_usd),
                super::budget::usd(o.spent_usd),
                super::budget::usd(o.estimate_usd)
            )]),
            other => Ok(other?),
        }
    }

    fn after(
        &self,
        endpoint: &Endpoint,
        usage: &Usage,
        started: SystemTime,
        latency: Duration,
        outcome: &str,
    ) -> (f64, bool) {
        let tokens = Tokens {
            input: usage.input_tokens,
            output: usage.output_tokens,
            cached: usage.cached_tokens,
        };
        let prices = self.prices(endpoint);
        let cost_usd = prices.map_or(0.0, |p| p.cost(&tokens));
        let time_ms = started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let entry = Entry {
            time_ms,
            project: self.project.clone(),
            session: self.session.clone(),
            provider: endpoint.provider.clone(),
            model: endpoint.model.clone(),
            operation: self.operation.clone(),
            tokens,
            estimated: usage.estimated,
            cost_usd,
            priced: prices.is_some(),
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            outcome: outcome.to_string(),
        };
        // The answer has been had by now: a ledger that cannot be written is a warning, not a
        // lost answer.
        if let Err(e) = self.ledger().record(&entry) {
            tracing::warn!("the request was not recorded: {e}");
        }
        (cost_usd, prices.is_some())
    }
}
