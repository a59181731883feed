//! `vibe undo`: puts back the files of the last edit run (or a given one), or lists the runs.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::edit::{self, RunInfo, UndoReport};

use super::{UsageError, print, print_json, shown};

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// List the edit runs (newest last) instead of undoing one.
    #[arg(long, conflicts_with_all = ["run", "force"])]
    pub list: bool,

    /// Undo this run (an id from --list) instead of the last one not yet undone.
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,

    /// Restore even files that changed since the run (those changes are lost).
    #[arg(long)]
    pub force: bool,

    /// Print JSON: {schema: "vibe.undo/1", run, operation, restored, removed, forced}, or with
    /// --list {schema: "vibe.undo.list/1", runs: [{id, time, operation, files, undone, damaged}]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct ListJson<'a> {
    schema: &'static str,
    runs: &'a [RunInfo],
}

#[derive(Serialize)]
struct UndoJson<'a> {
    schema: &'static str,
    #[serde(flatten)]
    report: &'a UndoReport,
}

pub fn run(args: &UndoArgs, root: &Path) -> anyhow::Result<ExitCode> {
    if args.list {
        let runs = edit::list_runs(root)?;
        let json = ListJson {
            schema: "vibe.undo.list/1",
            runs: &runs,
        };
        return emit(args.json, &json, || list_text(&runs));
    }
    let report = match edit::undo(root, args.run.as_deref(), args.force) {
        Ok(r) => r,
        // A run id that does not exist is a bad argument.
        Err(e @ edit::Error::UnknownRun(_)) => {
            return Err(UsageError {
                message: e.to_string(),
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let json = UndoJson {
        schema: "vibe.undo/1",
        report: &report,
    };
    emit(args.json, &json, || report_text(&report))
}

/// Prints `value` as JSON, or the text `text` makes.
fn emit<T: Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<ExitCode> {
    if json {
        print_json(value)?;
    } else {
        print(&text())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list_text(runs: &[RunInfo]) -> String {
    if runs.is_empty() {
        return "no edit runs\n".into();
    }
    let mut s = String::new();
    for r in runs {
        let status = match (&r.damaged, r.undone) {
            (Some(why), _) => format!("damaged: {}", shown(why)),
            (None, true) => "undone".into(),
            (None, false) => format!(
                "{} file{}",
                r.files.len(),
                if r.files.len() == 1 { "" } else { "s" }
            ),
        };
        // A run's manifest is a file in the repository (a clone may carry one): what it
        // says is escaped, as every text from outside vibe is.
        s.push_str(&format!(
            "{}  {:<8}  {status}\n",
            shown(&r.id),
            shown(&r.operation)
        ));
        if r.damaged.is_none() {
            for f in &r.files {
                s.push_str(&format!("    {}\n", shown(f)));
            }
        }
    }
    s
}

fn report_text(r: &UndoReport) -> String {
    let mut s = format!(
        "undid run {} ({}): {} restored, {} removed\n",
        shown(&r.run),
        shown(&r.operation),
        r.restored.len(),
        r.removed.len()
    );
    for f in &r.restored {
        s.push_str(&format!("  restored  {}\n", shown(f)));
    }
    for f in &r.removed {
        s.push_str(&format!("  removed   {}\n", shown(f)));
    }
    for f in &r.forced {
        s.push_str(&format!(
            "  (changes made since the run to {} were overwritten)\n",
            shown(f)
        ));
    }
    s
}
