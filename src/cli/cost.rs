//! `vibe cost`: where the money went, from the cost ledger. Needs no repository; reads the
//! ledger without creating it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::config::Config;
use crate::cost::report::{self, Options};
use crate::cost::{Budget, Clock, Ledger};

use super::{UsageError, print, print_json};

#[derive(Debug, Args)]
pub struct CostArgs {
    /// Report from this local day on: YYYY-MM-DD, `today`, or days / weeks back like 7d, 30d, 2w
    /// (today counts as one). Today's and this month's figures are always shown in full.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,

    /// Only requests made in this repository ("." = the current one).
    #[arg(long, value_name = "PATH")]
    pub project: Option<PathBuf>,

    /// Print the whole report as JSON ({"schema": "vibe.cost/1", ...}; see docs/cost.md).
    #[arg(long)]
    pub json: bool,
}

/// Fixes the report's clock, for tests: RFC 3339 (`2025-06-15T12:00:00Z`) or unix ms. Read by
/// `vibe cost` only; the time zone comes from `TZ` as usual.
const NOW_VAR: &str = "VIBE_NOW";

pub fn run(
    args: &CostArgs,
    cwd: &Path,
    repo: Option<&Path>,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let clock = clock()?;
    let since = match &args.since {
        Some(s) => Some(report::parse_since(s, &clock).map_err(|m| UsageError {
            message: format!("--since {s}: {m}"),
        })?),
        None => None,
    };
    let project = match &args.project {
        Some(p) if p.as_os_str() == "." => {
            Some(crate::cost::project_key(Some(repo.ok_or_else(|| {
                UsageError {
                    message: "--project .: not in a repository\nhint: give the repository's path"
                        .into(),
                }
            })?)))
        }
        Some(p) => {
            let abs = if p.is_absolute() {
                p.clone()
            } else {
                cwd.join(p)
            };
            Some(crate::cost::project_key(Some(&abs)))
        }
        None => None,
    };
    let path = Ledger::default_path();
    let ledger = Ledger::open_existing(&path)?;
    let budget = Budget::from_config(&config.budget);
    let r = report::build(
        ledger.as_ref(),
        &path,
        &budget,
        &clock,
        &Options { since, project },
    )?;
    if args.json {
        print_json(&r)?;
    } else {
        print(&report::render(&r))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn clock() -> anyhow::Result<Clock> {
    let mut clock = Clock::system();
    if let Some(v) = std::env::var_os(NOW_VAR) {
        let v = v.to_string_lossy();
        clock.now = match v.parse::<i64>() {
            Ok(ms) => jiff::Timestamp::from_millisecond(ms).ok(),
            Err(_) => v.parse().ok(),
        }
        .ok_or_else(|| UsageError {
            message: format!(
                "{NOW_VAR}={v}: expected an RFC 3339 time like 2025-06-15T12:00:00Z or unix milliseconds\nhint: unset it (it is for tests)"
            ),
        })?;
    }
    Ok(clock)
}

#[cfg(test)]
mod tests {
    use std::process::ExitCode;

    use anyhow::Context as _;

    use crate::cost::{Error, Limit, OverBudget};

    #[test]
    fn a_budget_refusal_exits_3_however_wrapped() {
        let refusal = OverBudget {
            limit: Limit::Daily,
            limit_usd: 5.0,
            spent_usd: 4.9,
            held_usd: 0.0,
            estimate_usd: 0.2,
        };
        /// A wrapper such as a provider layer's own error type.
        #[derive(Debug, thiserror::Error)]
        #[error("asking the model")]
        struct Wrapper(#[source] Error);
        let errors = [
            anyhow::Error::from(refusal.clone()),
            anyhow::Error::from(Error::OverBudget(refusal.clone())),
            Err::<(), _>(Error::OverBudget(refusal.clone()))
                .context("vibe ask")
                .err()
                .unwrap_or_else(|| anyhow::anyhow!("no error")),
            anyhow::Error::from(Wrapper(Error::OverBudget(refusal.clone()))),
            anyhow::Error::from(crate::llm::Error::Refused(anyhow::Error::from(
                Error::OverBudget(refusal),
            ))),
        ];
        for e in &errors {
            assert_eq!(super::super::report(e), ExitCode::from(3), "{e:#}");
        }
        for other in [
            anyhow::anyhow!("other"),
            anyhow::Error::from(crate::llm::Error::Refused(anyhow::anyhow!("no"))),
        ] {
            assert_eq!(super::super::report(&other), ExitCode::FAILURE);
        }
    }
}
