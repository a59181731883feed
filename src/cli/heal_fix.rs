//! `vibe heal FILE…` without `--check`: the fix loop with the configured model, then the diff,
//! and the write (with backups, atomically) only when every stage passes and the user agrees.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;

use crate::config::Config;
use crate::context::tokens::Encoding;
use crate::edit;
use crate::heal::fix::{self, Attempt, Loop, Options, Summary};
use crate::llm::{self, client};

use super::heal::HealArgs;
use super::{UsageError, print, print_json};

/// The `--json` report of the fix mode (schema vibe.heal/1, mode "fix").
#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    mode: &'static str,
    files: &'a [String],
    healed: bool,
    /// Whether the fix was written (with a backup run id for `vibe undo`).
    written: bool,
    run_id: Option<String>,
    before: Summary,
    after: Summary,
    attempts: &'a [Attempt],
    diff: String,
    usage: llm::Usage,
    cost_usd: f64,
    /// Past fixes of similar errors shown to the model.
    remembered: usize,
    notes: Vec<String>,
}

pub fn run(
    args: &HealArgs,
    files: &[String],
    root: &Path,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let chain = llm::providers::chain(config, args.model.as_deref())?;
    let policy = client::Policy::from_config(&config.llm)?;
    let model = chain[0].label();
    let encoding = Encoding::for_model(&chain[0].model);
    let meter = crate::cost::meter::LedgerMeter::for_command(
        config,
        Some(root),
        "heal",
        crate::cost::meter::Limits {
            allow_over: args.allow_over_budget,
            ..Default::default()
        },
    )?;
    let client = llm::Client::new(chain, policy, Arc::new(meter))?;
    let budget = args.context_budget.unwrap_or(config.heal.context_budget);
    let max_attempts = args.max_attempts.unwrap_or(config.heal.max_attempts);
    if max_attempts == 0 {
        return Err(UsageError {
            message: "--max-attempts 0: give at least 1 (or use --check to validate only)".into(),
        }
        .into());
    }

    let (mut store, _) = super::index(root, config)?;
    let past = store.remembered_fixes().unwrap_or_else(|e| {
        tracing::warn!("bug memory not read: {e}");
        vec![]
    });
    let (runtime, cancel) = super::runtime_with_ctrl_c()?;
    let quiet = args.json;
    let mut related = |query: &str, exclude: &[String]| {
        fix::related(root, &store, budget, encoding, query, exclude)
    };
    let mut ask = |req: &llm::Request| runtime.block_on(client.run(req, &cancel, &mut |_| false));
    let mut progress = |line: &str| {
        if !quiet {
            crate::to_stderr!("heal: {line}");
        }
    };
    let mut lp = Loop {
        root,
        config,
        related: &mut related,
        ask: &mut ask,
        progress: &mut progress,
        past: &past,
    };
    let opts = Options {
        max_attempts,
        up_to: args.stage,
        before: Default::default(),
        max_tokens: config.llm.max_tokens,
        model: model.clone(),
    };
    let outcome = match lp.run(files, &opts, None) {
        Ok(o) => o,
        Err(e) => {
            // --json still reports the attempts made (and paid for) before the error.
            if args.json
                && let Some(st) = e.downcast_ref::<fix::Stopped>()
            {
                print_json(&Report {
                    schema: "vibe.heal/1",
                    mode: "fix",
                    files,
                    healed: false,
                    written: false,
                    run_id: None,
                    before: st.before.clone(),
                    after: st.after.clone(),
                    attempts: &st.attempts,
                    diff: String::new(),
                    usage: totals(&st.attempts).0,
                    cost_usd: totals(&st.attempts).1,
                    remembered: st.remembered,
                    notes: vec![format!("stopped: {st}; your files are untouched")],
                })?;
            }
            return stopped(e);
        }
    };
    finish(args, files, root, &mut store, outcome, &model, quiet)
}

/// The error that stopped the loop, as the CLI reports it.
fn stopped(e: anyhow::Error) -> anyhow::Result<ExitCode> {
    if fix::is_cancelled(&e) {
        crate::to_stderr!("cancelled; nothing was written");
        return Ok(ExitCode::from(130));
    }
    match e.downcast::<llm::Error>() {
        Ok(llm::Error::Refused(e)) => Err(e),
        Ok(e) => Err(e.into()),
        Err(e) => Err(e),
    }
}

/// Every attempt's usage and cost, summed.
fn totals(attempts: &[Attempt]) -> (llm::Usage, f64) {
    let usage = attempts.iter().fold(llm::Usage::default(), |mut u, a| {
        u.input_tokens += a.usage.input_tokens;
        u.output_tokens += a.usage.output_tokens;
        u.cached_tokens += a.usage.cached_tokens;
        u.estimated |= a.usage.estimated;
        u
    });
    (usage, attempts.iter().map(|a| a.cost_usd).sum())
}

/// After the loop: the diff, the write (asked, or with --yes), the report.
fn finish(
    args: &HealArgs,
    files: &[String],
    root: &Path,
    store: &mut crate::store::Store,
    outcome: fix::Outcome,
    model: &str,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let diff: String = outcome.changes.iter().map(edit::unified_diff).collect();
    let mut notes = Vec::new();
    let mut run_id = None;
    let mut partly = false;
    let already_clean = outcome.before.failed_stage.is_none();
    if already_clean {
        notes.push("nothing to heal: every stage passes".to_string());
    } else if outcome.healed {
        if !quiet {
            print(&diff)?;
        }
        let write = if args.dry_run {
            notes.push("dry run: nothing was written".into());
            false
        } else if args.yes {
            true
        } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() && !quiet {
            super::confirm("Write these changes?")?
        } else {
            notes.push(
                "not written: no terminal to ask on; pass --yes to write without asking".into(),
            );
            false
        };
        if write {
            // A write refused (a file changed meanwhile, one that cannot be written) is
            // reported like any other outcome: with --json, in the report (it printed nothing).
            match fix::write(root, store, &outcome) {
                Ok(id) => {
                    notes.push(format!(
                        "written; the originals are in .vibe/backups/{id} (`vibe undo` puts them back)"
                    ));
                    run_id = Some(id);
                }
                Err(e) => {
                    // Written in part, and not all of it could be put back: the run stays,
                    // and the report names it for `vibe undo --run`.
                    let kept = match e.downcast_ref::<edit::Error>() {
                        Some(edit::Error::WriteFailed { undo: Some(id), .. }) => Some(id.clone()),
                        _ => None,
                    };
                    let said = crate::error_chain(e.as_ref()).replace('\n', " ");
                    notes.push(match kept {
                        Some(_) => format!("partly written: {said}"),
                        None => format!("not written: {said}"),
                    });
                    partly = kept.is_some();
                    run_id = kept;
                }
            }
        } else if !args.dry_run && std::io::stdin().is_terminal() && !quiet {
            notes.push("not written".into());
        }
    } else {
        notes.push(format!(
            "not healed after {} attempt(s); your files are untouched",
            outcome.attempts.len()
        ));
    }
    let (usage, cost) = totals(&outcome.attempts);
    let written = run_id.is_some() && !partly;
    if args.json {
        print_json(&Report {
            schema: "vibe.heal/1",
            mode: "fix",
            files,
            healed: outcome.healed,
            written,
            run_id,
            before: Summary::of(&outcome.before),
            after: Summary::of(&outcome.after),
            attempts: &outcome.attempts,
            diff,
            usage,
            cost_usd: cost,
            remembered: outcome.remembered,
            notes,
        })?;
    } else {
        if !outcome.healed {
            let left = Summary::of(&outcome.after);
            if let Some(stage) = left.failed_stage {
                crate::to_stderr!(
                    "still failing: the {} stage ({} error(s)):",
                    stage.name(),
                    left.errors
                );
                for d in left.diagnostics.iter().take(20) {
                    crate::to_stderr!("  {d}");
                }
            }
        }
        for n in &notes {
            crate::to_stderr!("heal: {n}");
        }
        if !outcome.attempts.is_empty() {
            crate::to_stderr!(
                "heal: {} attempt(s) with {model} · {} in + {} out tokens{} · ${cost:.4}",
                outcome.attempts.len(),
                crate::repomap::render::thousands(usage.input_tokens),
                crate::repomap::render::thousands(usage.output_tokens),
                if usage.estimated { " (estimated)" } else { "" },
            );
        }
    }
    Ok(
        if already_clean || written || (outcome.healed && args.dry_run) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}
