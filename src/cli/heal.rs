//! `vibe heal`: validate files, and fix what fails with the model (the loop in `heal::fix`);
//! `--check` validates only, without a model (offline, CI): every stage's validators, their
//! diagnostics, exit 1 if anything fails.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::heal::{Stage, Status, Validation};

use super::{UsageError, print, print_json};

#[derive(Debug, Args)]
pub struct HealArgs {
    /// Files to validate (and fix), inside the repository.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Only validate: run the validators, print the diagnostics, exit 1 if any stage fails.
    #[arg(long)]
    pub check: bool,

    /// Validate up to this stage (inclusive): syntax, compile, lint or test.
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<Stage>,

    /// Print the report as JSON (schema vibe.heal/1, see docs/heal.md).
    #[arg(long)]
    pub json: bool,

    /// Rounds with the model before giving up [default: heal.max_attempts, 3].
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,

    /// Write the fix without asking.
    #[arg(long, short = 'y', conflicts_with = "dry_run")]
    pub yes: bool,

    /// Show the fix, write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// The model: PROVIDER/MODEL, PROVIDER, an alias, or a model of the default provider
    /// [default: llm.model].
    #[arg(long, short = 'm', value_name = "MODEL")]
    pub model: Option<String>,

    /// Tokens of related definitions in each fix prompt [default: heal.context_budget].
    #[arg(long, value_name = "N")]
    pub context_budget: Option<usize>,

    /// Send requests even if they would cross a hard budget limit.
    #[arg(long)]
    pub allow_over_budget: bool,
}

/// The `--json` report.
#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    mode: &'static str,
    files: &'a [String],
    up_to: Option<Stage>,
    passed: bool,
    failed_stage: Option<Stage>,
    errors: usize,
    warnings: usize,
    stages: &'a [crate::heal::StageResult],
    skipped: &'a [String],
    config_warnings: &'a [String],
    /// Bugs fixed by an earlier heal whose code is back (see docs/heal.md, bug memory).
    recurrences: &'a [FileRecurrence],
}

/// A remembered bug found again in a file.
#[derive(Serialize)]
pub struct FileRecurrence {
    pub file: String,
    #[serde(flatten)]
    pub recurrence: crate::heal::memory::Recurrence,
}

/// The remembered bugs whose code is back in `files`. Reads the bug memory only if the index
/// exists (`--check` creates nothing).
fn recurrences(root: &Path, files: &[String]) -> Vec<FileRecurrence> {
    if !crate::store::Store::path_for(root).exists() {
        return vec![];
    }
    let past = match crate::store::Store::open(root, &mut |_| {}).and_then(|s| s.remembered_fixes())
    {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("bug memory not read: {e}");
            return vec![];
        }
    };
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(root.join(f)) else {
            continue;
        };
        for r in crate::heal::memory::recurrences(&text, &past) {
            out.push(FileRecurrence {
                file: f.clone(),
                recurrence: r,
            });
        }
    }
    out
}

pub fn run(args: &HealArgs, cwd: &Path, root: &Path, config: &Config) -> anyhow::Result<ExitCode> {
    let files = resolve_files(&args.files, cwd, root)?;
    if !args.check {
        // Refused before any model is asked: no answer could be written to such a file.
        for f in &files {
            if let Err(e @ crate::edit::PathError::Reserved(_)) = crate::edit::resolve(root, f) {
                return Err(UsageError {
                    message: format!("{e}\nhint: `vibe heal --check {f}` still validates it"),
                }
                .into());
            }
            let bytes = std::fs::read(root.join(f)).map_err(|e| UsageError {
                message: format!("{f}: cannot read: {e}"),
            })?;
            if std::str::from_utf8(&bytes).is_err() {
                return Err(UsageError {
                    message: format!(
                        "{f}: not UTF-8 text (a binary file?); vibe heal edits text files only\nhint: `vibe heal --check {f}` still validates it"
                    ),
                }
                .into());
            }
        }
        return super::heal_fix::run(args, &files, root, config);
    }
    let Some(v) =
        super::unless_interrupted(|| crate::heal::validate(root, &files, config, args.stage))
    else {
        return Ok(ExitCode::from(130));
    };
    let v = v?;
    let recurrences = recurrences(root, &files);
    if args.json {
        let count = |s| v.diagnostics().filter(|d| d.severity == s).count();
        print_json(&Report {
            schema: "vibe.heal/1",
            mode: "check",
            files: &files,
            up_to: args.stage,
            passed: v.passed(),
            failed_stage: v.failed_stage,
            errors: count(crate::heal::Severity::Error),
            warnings: count(crate::heal::Severity::Warning),
            stages: &v.stages,
            skipped: &v.skipped,
            config_warnings: &v.warnings,
            recurrences: &recurrences,
        })?;
    } else {
        for w in &v.warnings {
            super::warning(w);
        }
        for r in &recurrences {
            let x = &r.recurrence;
            crate::to_stderr!(
                "warning: {}:{}: code that caused a bug fixed before is back ({} stage{}: {}; fixed in {})",
                r.file,
                x.line,
                x.stage,
                if x.code.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", x.code)
                },
                x.message,
                x.fixed_in
            );
        }
        print(&text(&v))?;
    }
    Ok(if v.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Each file relative to the root: it must exist and lie inside the root (symlinks resolved).
fn resolve_files(files: &[PathBuf], cwd: &Path, root: &Path) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for f in files {
        let abs = if f.is_absolute() {
            f.clone()
        } else {
            cwd.join(f)
        };
        let canon = std::fs::canonicalize(&abs).map_err(|e| UsageError {
            message: format!(
                "{}: {e}\nhint: give files that exist in the repository",
                f.display()
            ),
        })?;
        if !canon.is_file() {
            return Err(UsageError {
                message: format!("{}: not a file", f.display()),
            }
            .into());
        }
        let rel = canon.strip_prefix(root).map_err(|_| UsageError {
            message: format!(
                "{}: outside the repository {}\nhint: run vibe in the repository that holds it (-C DIR)",
                f.display(),
                root.display()
            ),
        })?;
        let rel = rel.to_string_lossy().replace('\\', "/");
        if !out.contains(&rel) {
            out.push(rel);
        }
    }
    Ok(out)
}

/// The text report: per stage its validators, then the diagnostics, then the verdict.
pub fn text(v: &Validation) -> String {
    let mut s = String::new();
    for st in &v.stages {
        s.push_str(&format!(
            "{}: {}\n",
            st.stage,
            if st.passed { "passed" } else { "FAILED" }
        ));
        for r in &st.validators {
            let status = match &r.status {
                Status::Passed => format!("passed ({} ms)", r.duration_ms),
                Status::Failed => format!("failed ({} ms)", r.duration_ms),
                Status::TimedOut => format!("timed out ({} ms)", r.duration_ms),
                Status::Skipped { reason } => format!("skipped: {reason}"),
            };
            s.push_str(&format!("  {:<14} {status}\n", r.name));
        }
        for d in st.validators.iter().flat_map(|r| &r.diagnostics) {
            s.push_str(&format!("{d}\n"));
        }
    }
    let errors = v.errors().len();
    match v.failed_stage {
        Some(stage) => s.push_str(&format!(
            "heal --check: failed at {stage} ({errors} error{})\n",
            if errors == 1 { "" } else { "s" }
        )),
        None => s.push_str(&format!(
            "heal --check: passed ({} stage{})\n",
            v.stages.len(),
            if v.stages.len() == 1 { "" } else { "s" }
        )),
    }
    s
}
