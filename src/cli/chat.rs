//! `vibe chat`: a conversation about the repository. With `-m MESSAGE` (or the message on stdin)
//! one turn runs without the TUI: the answer streams to stdout, edits are applied only with
//! `--yes`; `--json` prints one final object, `--jsonl` every session event as a JSON line.
//! `--list` shows the saved sessions; `--resume [ID]` continues one. See docs/chat.md.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::llm::Usage;
use crate::session::{self, ContextFile, Event, Level, Op};

use super::{print, print_json};

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Run one turn with this message and exit (no TUI); without it, a message on stdin (when
    /// stdin is not a terminal) does the same.
    #[arg(long, short = 'm', value_name = "MESSAGE")]
    pub message: Option<String>,

    /// The model: PROVIDER/MODEL, PROVIDER, an alias, or a model of the default provider
    /// [default: the resumed session's, else llm.model].
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,

    /// Continue a saved session: ID, or the last one without it.
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,

    /// List the saved sessions of this repository.
    #[arg(long, conflicts_with_all = ["message", "resume", "jsonl"])]
    pub list: bool,

    /// Apply the proposed edits without asking (then validate, and heal if chat.auto_heal).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Send requests even if they would cross a hard budget limit.
    #[arg(long)]
    pub allow_over_budget: bool,

    /// Print one final JSON object (schema vibe.chat/1, see docs/chat.md).
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,

    /// Print every session event as one JSON object per line, as it happens.
    #[arg(long)]
    pub jsonl: bool,
}

/// The schema of `vibe chat --json`.
pub const SCHEMA: &str = "vibe.chat/1";

#[derive(Serialize, Default)]
struct ProposalOut {
    id: u64,
    path: String,
    diff: String,
    applied: bool,
}

#[derive(Serialize, Default)]
struct ContextOut {
    budget: usize,
    used_tokens: usize,
    files: Vec<ContextFile>,
}

#[derive(Serialize)]
struct ValidationOut {
    paths: Vec<String>,
    passed: bool,
    summary: String,
}

#[derive(Serialize)]
struct HealOut {
    paths: Vec<String>,
    healed: bool,
    written: bool,
    attempts: usize,
    summary: String,
}

/// `vibe chat -m --json`.
#[derive(Serialize, Default)]
struct ChatOut {
    schema: &'static str,
    session: String,
    provider: String,
    model: String,
    answer: String,
    edits_applied: Vec<String>,
    run_ids: Vec<String>,
    proposals: Vec<ProposalOut>,
    edit_errors: Vec<String>,
    validation: Option<ValidationOut>,
    heal: Option<HealOut>,
    usage: Usage,
    cost_usd: f64,
    session_cost_usd: f64,
    context: ContextOut,
    /// What a slash command (`-m "/cost"`) printed.
    outputs: Vec<OutputOut>,
    notices: Vec<String>,
    errors: Vec<String>,
    cancelled: bool,
}

#[derive(Serialize)]
struct OutputOut {
    command: String,
    text: String,
}

#[derive(Serialize)]
struct ListOut<'a> {
    schema: &'static str,
    sessions: &'a [session::SessionInfo],
}

/// The full-screen session: the TUI drives the session, and the index is kept fresh while it
/// runs.
fn interactive(args: &ChatArgs, root: &Path, config: &Config) -> anyhow::Result<ExitCode> {
    let handle = session::spawn(root.to_path_buf(), config.clone(), options(args))?;
    let live = crate::watch::Background::start(root.to_path_buf(), config.clone());
    let session::Handle {
        ops,
        events,
        thread,
        ..
    } = handle;
    let result = crate::tui::run(ops, events);
    drop(live);
    if let Some(signal) = crate::tui::signalled() {
        // Killed (SIGTERM) or its terminal gone (SIGHUP): the terminal is restored and what
        // ran was cancelled; the usual 128 + signal, without waiting for the session, whose
        // request in flight is recorded first (bounded, as for every signal).
        crate::llm::client::record_abandoned_within(super::ABANDON_WAIT);
        result?;
        return Ok(ExitCode::from(128 + signal as u8));
    }
    // The session saves after every turn; its thread ends on Quit or when the TUI is gone.
    let _ = thread.join();
    result.map(|_| ExitCode::SUCCESS)
}

fn read_message(args: &ChatArgs) -> anyhow::Result<String> {
    const EXAMPLE: &str = "vibe chat -m \"how are requests retried?\"";
    let words: Vec<String> = args.message.iter().cloned().collect();
    let m = super::words_or_stdin(&words, "message", EXAMPLE)?;
    super::not_blank(m, "message", EXAMPLE)
}

/// Slash commands that do nothing in one scripted turn: what they set lasts only for the
/// session's process.
const NOT_IN_SCRIPTS: &[(&str, &str)] = &[
    (
        "add",
        "name the file in the message, or use it in the TUI (vibe chat)",
    ),
    ("drop", "nothing is added in a scripted turn"),
    ("quit", "a scripted turn ends by itself"),
    ("exit", "a scripted turn ends by itself"),
    ("q", "a scripted turn ends by itself"),
];

/// The op for a `-m` message: a slash command is run as the TUI runs it (`/cost`, `/undo`,
/// `/heal`, `/context TASK`, a plugin's command, ...), not sent to the model; `//text` is a
/// message starting with a slash, and so is a path (`/usr/bin/env is missing`).
fn script_op(message: &str) -> anyhow::Result<Op> {
    let trimmed = message.trim();
    if let Some(rest) = trimmed.strip_prefix('/') {
        let (name, args) = match rest.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (rest, ""),
        };
        if !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            if let Some((_, what)) = NOT_IN_SCRIPTS.iter().find(|(n, _)| *n == name) {
                return Err(super::UsageError {
                    message: format!(
                        "/{name} has no effect with -m: {what}\nhint: `vibe chat -m \"//{name}\"` sends it to the model as a message"
                    ),
                }
                .into());
            }
            return Ok(Op::Command {
                name: name.to_string(),
                args: args.to_string(),
            });
        }
    }
    Ok(Op::Message {
        text: message.to_string(),
    })
}

/// The session options the flags give.
fn options(args: &ChatArgs) -> session::Options {
    session::Options {
        model: args.model.clone(),
        resume: args.resume.clone(),
        yes: args.yes,
        allow_over_budget: args.allow_over_budget,
        deltas_unseen: args.json,
    }
}

pub fn run(args: &ChatArgs, root: &Path, config: &Config) -> anyhow::Result<ExitCode> {
    if args.list {
        return list(args, root);
    }
    if args.message.is_none()
        && !args.json
        && !args.jsonl
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
    {
        return interactive(args, root, config);
    }
    // An unknown session is the error, not the message that stdin did not give.
    session::check_resume(root, args.resume.as_deref())?;
    let message = read_message(args)?;
    let op = script_op(&message)?;
    let handle = session::spawn(root.to_path_buf(), config.clone(), options(args))?;
    // Ctrl-C cancels the turn (before anything more is sent: the session checks before each
    // model call); a second Ctrl-C, SIGTERM and SIGHUP leave at once, killing the running
    // validators' and plugins' groups.
    let ops = handle.ops.clone();
    super::on_signals(move || {
        let _ = ops.send(Op::Cancel);
    });
    // Ops are handled in order: Quit comes after the turn, its decisions and its heal.
    let _ = handle.ops.send(op);
    let _ = handle.ops.send(Op::Quit);

    let mut out = ChatOut {
        schema: SCHEMA,
        session: handle.info.session.clone(),
        provider: handle.info.provider.clone(),
        model: handle.info.model.clone(),
        ..Default::default()
    };
    let mut code = ExitCode::SUCCESS;
    let mut stdout = std::io::stdout();
    let plain = !args.json && !args.jsonl;
    for e in handle.events.iter() {
        if args.jsonl {
            let mut line = serde_json::to_string(&e)?;
            line.push('\n');
            print(&line)?;
        }
        match &e {
            Event::Delta { text, .. } if plain => {
                stdout.write_all(text.as_bytes())?;
                stdout.flush()?;
            }
            Event::Context {
                budget,
                used_tokens,
                files,
                ..
            } => {
                out.context = ContextOut {
                    budget: *budget,
                    used_tokens: *used_tokens,
                    files: files.clone(),
                };
            }
            Event::TurnFinished { text, .. } => {
                out.answer = text.clone();
                if plain && !text.ends_with('\n') {
                    crate::to_stdout!();
                }
            }
            Event::Proposal { id, path, diff, .. } => {
                out.proposals.push(ProposalOut {
                    id: *id,
                    path: path.clone(),
                    diff: diff.clone(),
                    applied: false,
                });
                if plain && !args.yes {
                    print(&format!("\n{diff}"))?;
                }
            }
            Event::EditError { path, message, .. } => {
                // The message often names the path already.
                let m = if path.is_empty() || message.contains(path.as_str()) {
                    message.clone()
                } else {
                    format!("{path}: {message}")
                };
                if plain {
                    // Paths and messages come from the model's answer: escaped.
                    crate::to_stderr!("edit not usable: {}", super::shown_lines(&m));
                }
                out.edit_errors.push(m);
            }
            Event::Applied {
                proposals,
                paths,
                run_id,
            } => {
                for p in out.proposals.iter_mut() {
                    p.applied |= proposals.contains(&p.id);
                }
                out.edits_applied.extend(paths.iter().cloned());
                out.run_ids.push(run_id.clone());
                if plain {
                    crate::to_stderr!(
                        "applied: {} (backup run {run_id}; `vibe undo` puts it back)",
                        super::shown(&paths.join(", "))
                    );
                }
            }
            Event::Validated {
                paths,
                passed,
                summary,
            } => {
                if plain {
                    crate::to_stderr!(
                        "validated {}: {}",
                        super::shown(&paths.join(", ")),
                        super::shown_lines(summary)
                    );
                }
                out.validation = Some(ValidationOut {
                    paths: paths.clone(),
                    passed: *passed,
                    summary: summary.clone(),
                });
            }
            Event::HealStarted { paths } if plain => {
                crate::to_stderr!("heal: {}", paths.join(", "))
            }
            Event::HealProgress { text } if plain => crate::to_stderr!("heal: {text}"),
            Event::HealFinished {
                paths,
                healed,
                written,
                attempts,
                summary,
            } => {
                if plain {
                    crate::to_stderr!("heal: {summary}");
                }
                out.heal = Some(HealOut {
                    paths: paths.clone(),
                    healed: *healed,
                    written: *written,
                    attempts: *attempts,
                    summary: summary.clone(),
                });
            }
            Event::Usage {
                provider,
                model,
                usage,
                cost_usd,
                session_cost_usd,
                ..
            } => {
                out.usage.input_tokens += usage.input_tokens;
                out.usage.output_tokens += usage.output_tokens;
                out.usage.cached_tokens += usage.cached_tokens;
                out.usage.estimated |= usage.estimated;
                out.cost_usd += cost_usd;
                out.session_cost_usd = *session_cost_usd;
                if plain {
                    crate::to_stderr!(
                        "{provider}/{model} · {} in + {} out tokens{} · {} (session {})",
                        usage.input_tokens,
                        usage.output_tokens,
                        if usage.estimated { " (estimated)" } else { "" },
                        crate::cost::usd(*cost_usd),
                        crate::cost::usd(*session_cost_usd)
                    );
                }
            }
            Event::Notice { level, text } => {
                if plain {
                    let tag = match level {
                        Level::Info => "note",
                        Level::Warning => "warning",
                    };
                    crate::to_stderr!("{tag}: {}", super::shown_lines(text));
                }
                out.notices.push(text.clone());
            }
            Event::Output { command, text } => {
                if plain {
                    print(text)?;
                    if !text.ends_with('\n') {
                        crate::to_stdout!();
                    }
                }
                out.outputs.push(OutputOut {
                    command: command.clone(),
                    text: text.clone(),
                });
            }
            Event::Error { text } => {
                if plain {
                    crate::to_stderr!("error: {}", super::shown_lines(text));
                }
                out.errors.push(text.clone());
                // Before the answer (the turn failed) or after it (its edits not written, not
                // validated, not healed): either way the run did not do what was asked.
                if code == ExitCode::SUCCESS {
                    code = ExitCode::FAILURE;
                }
            }
            Event::BudgetRefused { .. } => code = ExitCode::from(3),
            // No such command (nor plugin command): bad usage.
            Event::UnknownCommand { .. } => code = ExitCode::from(2),
            Event::Cancelled { .. } => {
                if plain {
                    crate::to_stderr!("\ncancelled");
                }
                out.cancelled = true;
                code = ExitCode::from(130);
            }
            Event::Ended { .. } => break,
            _ => {}
        }
    }
    let _ = handle.thread.join();
    let pending = out.proposals.iter().any(|p| !p.applied);
    if plain && pending && !args.yes {
        crate::to_stderr!(
            "not applied: these edits are proposals only; pass --yes to apply them (vibe chat --resume {} --yes -m \"apply the edits\" continues this conversation)",
            out.session
        );
    }
    if args.json {
        out.cost_usd = crate::session::round_usd(out.cost_usd);
        out.session_cost_usd = crate::session::round_usd(out.session_cost_usd);
        print_json(&out)?;
    }
    Ok(code)
}

fn list(args: &ChatArgs, root: &Path) -> anyhow::Result<ExitCode> {
    let sessions = session::list(root)?;
    if args.json {
        print_json(&ListOut {
            schema: "vibe.chat.list/1",
            sessions: &sessions,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if sessions.is_empty() {
        crate::to_stderr!("no chat sessions in this repository yet");
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = String::new();
    for x in &sessions {
        s.push_str(&format!(
            "{}  {}  {:>3} turns  {:>8}  {}  {}\n",
            x.id,
            x.updated,
            x.turns,
            crate::cost::usd(x.cost_usd),
            super::shown(&x.model),
            // The first line of the first message: the user's (or a script's) text.
            super::shown(&x.title)
        ));
    }
    print(&s)?;
    Ok(ExitCode::SUCCESS)
}
