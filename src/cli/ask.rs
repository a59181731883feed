//! `vibe ask`: one question about the repository, answered by the configured model with
//! context packed for the question. The answer streams to stdout; the usage and cost line goes
//! to stderr; `--json` prints one object instead.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::context::{self, tokens::Encoding};
use crate::llm::{self, Event, Message, Request, client};

use super::print_json;
use crate::repomap::render::thousands;

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question ("-" or nothing: read it from stdin).
    #[arg(value_name = "QUESTION")]
    pub question: Vec<String>,

    /// The model: PROVIDER/MODEL, PROVIDER, an alias, or a model of the default provider
    /// [default: llm.model].
    #[arg(long, short = 'm', value_name = "MODEL")]
    pub model: Option<String>,

    /// Tokens of repository context to pack for the question; 0 sends none
    /// [default: llm.context_budget].
    #[arg(long, value_name = "N")]
    pub context_budget: Option<usize>,

    /// The most tokens the answer may have [default: llm.max_tokens].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tokens: Option<u32>,

    /// Send the request even if it would cross a hard budget limit.
    #[arg(long)]
    pub allow_over_budget: bool,

    // A negative amount is read as one, to be refused with the flag named (clap took `-1` for
    // an unknown flag).
    /// Limits in USD for this run, over [budget] in config.
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub session_budget: Option<f64>,
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub daily_budget: Option<f64>,
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub monthly_budget: Option<f64>,

    /// Print {schema, answer, provider, model, usage, cost_usd, context, ...} as JSON
    /// (see docs/llm.md) instead of streaming the answer.
    #[arg(long)]
    pub json: bool,
}

const SYSTEM: &str = "You are vibe, a coding assistant answering questions about the repository \
the user is working in. Excerpts of the files most relevant to the question follow: full files, \
partial files with their line ranges, signatures with bodies elided, and one-line summaries. \
Answer from them, name the files (path:line) you rely on, and say so when they do not show the \
answer rather than guessing. Be concise.";

/// The schema of `vibe ask --json`.
pub const SCHEMA: &str = "vibe.ask/1";

#[derive(Serialize)]
struct ContextFile {
    path: String,
    included: &'static str,
    tokens: usize,
}

#[derive(Serialize)]
struct ContextOut {
    budget: usize,
    used_tokens: usize,
    encoding: &'static str,
    files: Vec<ContextFile>,
}

#[derive(Serialize)]
struct AskOut<'a> {
    schema: &'static str,
    question: &'a str,
    answer: &'a str,
    provider: &'a str,
    model: &'a str,
    stop: &'a llm::StopReason,
    usage: &'a llm::Usage,
    cost_usd: f64,
    priced: bool,
    latency_ms: u64,
    context: ContextOut,
    notes: &'a [String],
}

fn read_question(args: &AskArgs) -> anyhow::Result<String> {
    const EXAMPLE: &str = "vibe ask \"how are requests retried?\"";
    let q = super::words_or_stdin(&args.question, "question", EXAMPLE)?;
    Ok(super::not_blank(q, "question", EXAMPLE)?.trim().to_string())
}

/// The user message: the packed context, then the question.
fn prompt(question: &str, packed: Option<&context::Packed>) -> String {
    match packed {
        Some(p) if !p.context.is_empty() => {
            format!("<context>\n{}</context>\n\nQuestion: {question}", p.context)
        }
        _ => format!("Question: {question}"),
    }
}

pub fn run(args: &AskArgs, root: &Path, config: &Config) -> anyhow::Result<ExitCode> {
    let question = read_question(args)?;
    let mut config = config.clone();
    if let Some(n) = args.max_tokens {
        config.llm.max_tokens = n;
    }
    let chain = llm::providers::chain(&config, args.model.as_deref())?;
    let policy = client::Policy::from_config(&config.llm)?;
    let primary = chain[0].clone();
    let meter = crate::cost::meter::LedgerMeter::for_command(
        &config,
        Some(root),
        "ask",
        crate::cost::meter::Limits {
            session: args.session_budget,
            daily: args.daily_budget,
            monthly: args.monthly_budget,
            allow_over: args.allow_over_budget,
        },
    )?;

    // Context for the question, within the model's window.
    let window_room = (primary.context_window as usize)
        .saturating_sub(config.llm.max_tokens as usize)
        .saturating_sub(1000);
    let budget = args
        .context_budget
        .unwrap_or(config.llm.context_budget)
        .min(window_room);
    let encoding = Encoding::for_model(&primary.model);
    let packed = if budget > 0 {
        let (store, _) = super::index(root, &config)?;
        let req = context::Request {
            task: &question,
            budget,
            encoding,
            exclude: &[],
            history: config.context.history,
        };
        let packed = context::build(root, &store, &req)?;
        for w in &packed.warnings {
            super::warning(w);
        }
        Some(packed)
    } else {
        None
    };
    let request = Request {
        model: primary.model.clone(),
        system: Some(SYSTEM.to_string()),
        messages: vec![Message::user(prompt(&question, packed.as_ref()))],
        tools: vec![],
        max_tokens: config.llm.max_tokens,
        temperature: config.llm.temperature,
        stream: true,
    };
    let client = llm::Client::new(chain, policy, Arc::new(meter))?;

    let (runtime, cancel) = super::runtime_with_ctrl_c()?;
    let json = args.json;
    // Whether what was printed ends a line (the answer kept may end elsewhere: a loop cut), and
    // whether stdout went away (a closed pipe: nothing more is printed there).
    let mut line_ended = false;
    let mut broken_pipe = false;
    let result = runtime.block_on(async {
        let mut out = std::io::stdout();
        let mut on_event = |e: &Event| {
            if let Event::Text { text } = e
                && !json
                && !broken_pipe
            {
                if out.write_all(text.as_bytes()).is_err() || out.flush().is_err() {
                    broken_pipe = true;
                }
                if let Some(c) = text.chars().last() {
                    line_ended = c == '\n';
                }
                return true;
            }
            false
        };
        client.run(&request, &cancel, &mut on_event).await
    });
    let outcome = match result {
        Ok(o) => o,
        Err(llm::Error::Cancelled) => {
            crate::to_stderr!("\ncancelled");
            return Ok(ExitCode::from(130));
        }
        Err(llm::Error::Refused(e)) => return Err(e),
        Err(e) => {
            if !json {
                // End a partly streamed line before the error.
                crate::to_stderr!();
            }
            return Err(e.into());
        }
    };
    if !json && !line_ended && !broken_pipe {
        // The answer's last line, ended before anything else is printed.
        crate::to_stdout!();
    }
    for n in &outcome.notes {
        crate::to_stderr!("note: {n}");
    }
    if json {
        let ctx = match &packed {
            Some(p) => ContextOut {
                budget: p.budget,
                used_tokens: p.used_tokens,
                encoding: p.encoding,
                files: p
                    .files
                    .iter()
                    .filter(|f| f.included != context::pack::Included::None)
                    .map(|f| ContextFile {
                        path: f.path.clone(),
                        included: f.included.name(),
                        tokens: f.tokens,
                    })
                    .collect(),
            },
            None => ContextOut {
                budget: 0,
                used_tokens: 0,
                encoding: encoding.name(),
                files: vec![],
            },
        };
        print_json(&AskOut {
            schema: SCHEMA,
            question: &question,
            answer: &outcome.text,
            provider: &outcome.provider,
            model: &outcome.model,
            stop: &outcome.stop,
            usage: &outcome.usage,
            cost_usd: crate::cost::report::micro(outcome.paid_usd()),
            priced: outcome.priced,
            latency_ms: outcome.latency_ms,
            context: ctx,
            notes: &outcome.notes,
        })?;
    } else {
        if outcome.stop == llm::StopReason::MaxTokens {
            crate::to_stderr!(
                "warning: the answer was cut at {} tokens (--max-tokens or llm.max_tokens)",
                config.llm.max_tokens
            );
        }
        crate::to_stderr!("{}", usage_line(&outcome, packed.as_ref()));
    }
    Ok(ExitCode::SUCCESS)
}

/// `ollama/qwen2.5-coder:7b · context 3,912 tokens (12 files) · 4,180 in + 212 out tokens ·
/// $0.0000 · 3.4 s`
pub fn usage_line(o: &client::Outcome, packed: Option<&context::Packed>) -> String {
    let u = &o.usage;
    let mut s = format!("{}/{}", o.provider, o.model);
    if let Some(p) = packed {
        let files = p
            .files
            .iter()
            .filter(|f| f.included != context::pack::Included::None)
            .count();
        s.push_str(&format!(
            " · context {} tokens ({files} files)",
            thousands(p.used_tokens as u64)
        ));
    }
    s.push_str(&format!(" · {} in", thousands(u.input_tokens)));
    if u.cached_tokens > 0 {
        s.push_str(&format!(" ({} cached)", thousands(u.cached_tokens)));
    }
    s.push_str(&format!(" + {} out tokens", thousands(u.output_tokens)));
    if u.estimated {
        s.push_str(" (estimated)");
    }
    if o.priced {
        s.push_str(&format!(" · ${:.4}", o.paid_usd()));
    } else {
        s.push_str(" · no price known for this model (recorded as $0)");
    }
    s.push_str(&format!(" · {:.1} s", o.latency_ms as f64 / 1000.0));
    s
}
