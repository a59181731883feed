//! `vibe heal`: for now the `--check` mode, which validates files without a model (offline, CI):
//! every stage's validators, their diagnostics, exit 1 if anything fails. The fix mode (the
//! model loop) plugs in here.

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
}

pub fn run(args: &HealArgs, cwd: &Path, root: &Path, config: &Config) -> anyhow::Result<ExitCode> {
    let files = resolve_files(&args.files, cwd, root)?;
    if !args.check {
        return Err(UsageError {
            message: "the fix mode of `vibe heal` needs the fix loop, which is not built yet\nhint: run `vibe heal --check FILE…` to validate without a model".into(),
        }
        .into());
    }
    let v = crate::heal::validate(root, &files, config, args.stage)?;
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
        })?;
    } else {
        for w in &v.warnings {
            eprintln!("warning: {w}");
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
