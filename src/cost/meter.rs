//! The ledger and budgets as the provider layer's [`Meter`]: every attempt is checked against
//! the budgets before it is sent and written to the ledger after, whatever its outcome.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::llm::{Admitted, Call, Endpoint, Meter, Usage};

use super::{Budget, Entry, Ledger, Prices, Pricing, Tokens};

/// Limits given on the command line, over `[budget]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub session: Option<f64>,
    pub daily: Option<f64>,
    pub monthly: Option<f64>,
    /// Send even past a hard limit (`--allow-over-budget`); a warning says so.
    pub allow_over: bool,
}

/// Budgets and the ledger for one command run (one session).
pub struct LedgerMeter {
    ledger: Mutex<Ledger>,
    pricing: Pricing,
    budget: Budget,
    allow_over: bool,
    session: String,
    project: String,
    operation: String,
}

impl LedgerMeter {
    /// The user's ledger, prices and budgets for `operation` in the repository at `root`.
    pub fn for_command(
        config: &Config,
        root: Option<&Path>,
        operation: &str,
        limits: Limits,
    ) -> anyhow::Result<LedgerMeter> {
        let mut budget = Budget::from_config(&config.budget);
        let flag = |v: Option<f64>, name: &str| -> anyhow::Result<Option<Option<f64>>> {
            match v {
                None => Ok(None),
                Some(x) if x.is_finite() && x >= 0.0 => Ok(Some((x > 0.0).then_some(x))),
                Some(x) => Err(crate::cli::UsageError {
                    message: format!(
                        "--{name}-budget {x}: give an amount in USD, 0 or more (0 = no limit)"
                    ),
                }
                .into()),
            }
        };
        if let Some(v) = flag(limits.session, "session")? {
            budget.session = v;
        }
        if let Some(v) = flag(limits.daily, "daily")? {
            budget.daily = v;
        }
        if let Some(v) = flag(limits.monthly, "monthly")? {
            budget.monthly = v;
        }
        Ok(LedgerMeter {
            ledger: Mutex::new(Ledger::open_default()?),
            pricing: Pricing::load()?,
            budget,
            allow_over: limits.allow_over,
            session: super::new_session_id(),
            project: super::project_key(root),
            operation: operation.to_string(),
        })
    }

    /// What a model costs: free for a local provider, the provider's own prices for the model,
    /// else `config/pricing.toml` (and the user's pricing.toml); `None` if unknown.
    pub fn prices(&self, e: &Endpoint) -> Option<Prices> {
        if e.local {
            return Some(Prices {
                input: 0.0,
                output: 0.0,
                cached_input: None,
            });
        }
        if let Some(p) = e.prices {
            return Some(p);
        }
        self.pricing.lookup(&e.model)
    }

    /// Records under `session` (a chat session's id, so that its chat and heal requests, and
    /// a resumed session, count against one session budget).
    pub fn with_session(mut self, session: &str) -> LedgerMeter {
        self.session = session.to_string();
        self
    }

    pub fn session(&self) -> &str {
        &self.session
    }
}

impl Meter for LedgerMeter {
    fn before(&self, call: &Call) -> anyhow::Result<Admitted> {
        let prices = self.prices(call.endpoint);
        let mut notes = vec![];
        let estimate = match prices {
            Some(p) => p.cost(&Tokens {
                input: call.prompt_tokens,
                output: call.max_output_tokens,
                cached: 0,
            }),
            None => {
                if self.budget.limits().next().is_some() {
                    notes.push(format!(
                        "no price known for {}: budgets cannot limit it (add its prices to pricing.toml or providers.{}.models)",
                        call.endpoint.label(),
                        call.endpoint.provider
                    ));
                }
                0.0
            }
        };
        let ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        // Checked against the spend with every process's requests in flight, and held until
        // recorded: runs started at once cannot each spend what is left.
        let held = ledger.hold(
            &self.session,
            estimate,
            &super::Clock::system(),
            &mut |spend| match self.budget.check_spend(&spend, estimate) {
                Ok(w) => {
                    notes.extend(w);
                    Ok(())
                }
                Err(o) if self.allow_over => {
                    notes.push(format!(
                        "sent over budget (--allow-over-budget): {}",
                        first_line(&o)
                    ));
                    Ok(())
                }
                Err(o) => Err(o),
            },
        );
        let ticket = match held {
            Ok(Ok(ticket)) => ticket,
            Ok(Err(over)) => return Err(over.into()),
            // With no budget to hold, a ledger that cannot be written now (locked, full, read
            // only) does not stop the request; recording it after will say so too.
            Err(e) if self.budget.limits().next().is_none() => {
                notes.push(format!(
                    "no budget is set, so sent anyway: {}",
                    first_line(&e)
                ));
                None
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Admitted { notes, ticket })
    }

    fn after(
        &self,
        ticket: Option<i64>,
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
        let cost = prices.map(|p| p.cost(&tokens)).unwrap_or(0.0);
        let entry = Entry {
            time_ms: crate::store::unix_ms(started),
            project: self.project.clone(),
            session: self.session.clone(),
            provider: endpoint.provider.clone(),
            model: endpoint.model.clone(),
            operation: self.operation.clone(),
            tokens,
            estimated: usage.estimated,
            cost_usd: cost,
            priced: prices.is_some(),
            latency_ms: latency.as_millis() as u64,
            outcome: outcome.to_string(),
        };
        let ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = ledger.settle(ticket, &entry) {
            // The request happened; failing it now would hide the answer. Say so loudly.
            crate::to_stderr!("warning: this request was not recorded in the cost ledger: {e}");
            // Its hold must not outlive it (counted against budgets for as long as this
            // process runs): released alone, if the ledger takes that much.
            if let Some(id) = ticket {
                let _ = ledger.release(id);
            }
        }
        (cost, prices.is_some())
    }
}

fn first_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}
