//! `vibe context`: the packed context for a task, its ranking as JSON, or the reasons.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use crate::config::Config;
use crate::context::{self, Request, tokens::Encoding};

use super::{UsageError, print, print_json};

#[derive(Debug, Args)]
pub struct ContextArgs {
    /// The task, as you would write a commit message or an issue title ("-": read stdin).
    /// Without it (and without --query-file), the task is read from stdin when it is not a
    /// terminal.
    #[arg(value_name = "TASK")]
    pub task: Vec<String>,

    /// Read the task from a file (UTF-8, invalid bytes replaced, or UTF-16 with a byte-order
    /// mark; "-": stdin).
    #[arg(long, value_name = "FILE", conflicts_with = "task")]
    pub query_file: Option<PathBuf>,

    /// Token budget, never exceeded [default: context.budget, 8000].
    #[arg(long, short = 'b', value_name = "N")]
    pub budget: Option<usize>,

    /// Tokenizer to count in: o200k_base or cl100k_base [default: follows context.model].
    #[arg(long, value_name = "NAME")]
    pub encoding: Option<String>,

    /// Print {schema, budget, used_tokens, encoding, files, context} as JSON (see docs/context.md).
    #[arg(long)]
    pub json: bool,

    /// Also print why each file was chosen (to stderr, so stdout stays the context).
    #[arg(long)]
    pub explain: bool,
}

pub fn encoding(flag: Option<&str>, config: &Config) -> anyhow::Result<Encoding> {
    match flag {
        Some(name) => Encoding::from_name(name).ok_or_else(|| {
            UsageError {
                message: format!(
                    "--encoding {name}: unknown encoding\nhint: use {}",
                    Encoding::NAMES.join(" or ")
                ),
            }
            .into()
        }),
        None => {
            Encoding::configured(&config.context.encoding, &config.context.model).map_err(|e| {
                UsageError {
                    message: format!("context.encoding: {e}"),
                }
                .into()
            })
        }
    }
}

/// The task, from the words, `--query-file` or stdin: read once per command (stdin cannot be
/// read again when the command runs a second time on a rebuilt index).
pub fn read_task(args: &ContextArgs) -> anyhow::Result<String> {
    match &args.query_file {
        // `--query-file -`: stdin, as the task `-` is.
        Some(path) if path.as_os_str() == "-" => {
            super::words_or_stdin(&["-".to_string()], "task", "")
        }
        Some(path) => std::fs::read(path)
            .map(|b| crate::context::tokens::decode_text(&b).into_owned())
            .map_err(|e| {
                UsageError {
                    message: format!(
                        "--query-file {}: {e}\nhint: give a readable file holding the task",
                        path.display()
                    ),
                }
                .into()
            }),
        None => super::words_or_stdin(
            &args.task,
            "task",
            "vibe context \"<task>\" or --query-file FILE",
        ),
    }
}

pub fn run(
    args: &ContextArgs,
    task: &str,
    root: &Path,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let budget = args.budget.unwrap_or(config.context.budget);
    let encoding = encoding(args.encoding.as_deref(), config)?;
    let usage = |e: context::Error| UsageError {
        message: e.to_string(),
    };
    let request = Request {
        task,
        budget,
        encoding,
        exclude: &[],
        history: config.context.history,
    };
    context::check(&request).map_err(usage)?;
    let t = Instant::now();
    let (store, _) = super::index(root, config)?;
    tracing::info!(
        "index refreshed in {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let packed = context::build(root, &store, &request).map_err(|e| {
        match e.downcast::<context::Error>() {
            Ok(e) => usage(e).into(),
            Err(e) => e,
        }
    })?;
    let tm = &packed.timings;
    tracing::info!(
        "context: lexicon {:.1} ms ({} files analysed), history {:.1} ms ({} commits, {} read from {}){}, rank {:.1} ms (file graph {} in {:.1} ms), pack {:.1} ms ({} blocks counted by the tokenizer), {} of {} tokens",
        tm.lexicon_ms,
        tm.lexicon_files,
        tm.history_ms,
        tm.history_commits,
        tm.history_read,
        tm.history_source,
        tm.uncommitted
            .map(|n| format!(", {n} changed and not committed"))
            .unwrap_or_default(),
        tm.rank_ms,
        tm.graph,
        tm.graph_ms,
        tm.pack_ms,
        tm.tokenizer_misses,
        packed.used_tokens,
        packed.budget
    );
    for w in &packed.warnings {
        super::warning(w);
    }
    if packed.files.is_empty() {
        crate::to_stderr!(
            "note: no file of {} was chosen: nothing indexed matches the task, and no source file is indexed to fall back on (`vibe map --stats` shows what was indexed and skipped)",
            root.display()
        );
    }
    if args.explain {
        use std::io::Write as _;
        // Like a warning: text that cannot be written does not cost the context.
        let _ = write!(std::io::stderr(), "{}", explain(&packed));
    }
    if args.json {
        print_json(&packed)?;
    } else {
        print(&packed.context)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The ranking with its reasons, one file per entry.
pub fn explain(p: &context::Packed) -> String {
    let mut s = format!(
        "{} of {} tokens ({}), {} files ranked:\n",
        p.used_tokens,
        p.budget,
        p.encoding,
        p.files.len()
    );
    for f in &p.files {
        s.push_str(&format!(
            "{:>3}. {}  score {:.3}, {}{}\n",
            f.rank,
            crate::repomap::render::shown_path(&f.path),
            f.score,
            f.included.name(),
            if f.tokens > 0 {
                format!(" ({} tokens)", f.tokens)
            } else {
                String::new()
            }
        ));
        // Reasons quote commit subjects and paths: escaped as the path above is.
        for r in &f.reasons {
            s.push_str(&format!("       {}\n", super::shown(r)));
        }
    }
    s
}
