//! Language-model providers: one [`Provider`] trait over the OpenAI-compatible Chat Completions
//! and the Anthropic Messages wire formats, streamed (SSE) or not, with typed events out.
//!
//! Layers, from the wire up:
//! - [`sse`]: Server-Sent Events framing, fed bytes as they arrive;
//! - [`openai`] / [`anthropic`]: request bodies, and decoders from the provider's events (or its
//!   one JSON reply) to [`Event`]s, tool calls assembled from their deltas;
//! - [`http`]: one attempt against one endpoint: timeouts (connect, first byte, idle stream),
//!   HTTP status to typed errors, the [`EventStream`] that ends in [`Event::Finished`];
//! - [`client`]: what a command uses: budgets and the cost ledger around every attempt
//!   ([`Meter`]), client-side rate limits, retries with backoff and jitter (never once output
//!   has reached the caller), a circuit breaker per provider, and the fallback chain.
//!
//! Invariant: an API key lives only in [`Secret`], whose `Debug` and `Display` print a
//! placeholder, and is written only into the request header; no error, log line, ledger row or
//! debug dump holds it.

pub mod anthropic;
pub mod client;
pub mod http;
pub mod openai;
pub mod providers;
pub mod repeat;
pub mod sse;

use std::time::Duration;

use serde::Serialize;

pub use client::{Admitted, Call, Client, Meter, Outcome};
pub use http::EventStream;
pub use providers::{Endpoint, Kind};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One message of a conversation. The system prompt is not a message: it is [`Request::system`],
/// which each wire format places where it belongs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Part>,
}

/// A piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text {
        text: String,
    },
    /// A tool call the assistant made (in an assistant message).
    ToolCall(ToolCall),
    /// The result of a tool call (in a user message).
    ToolResult {
        call_id: String,
        content: String,
        is_error: bool,
    },
}

impl Message {
    pub fn user(text: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: vec![Part::Text { text: text.into() }],
        }
    }
    pub fn assistant(text: impl Into<String>) -> Message {
        Message {
            role: Role::Assistant,
            content: vec![Part::Text { text: text.into() }],
        }
    }
    /// The text parts joined.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|p| match p {
                Part::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// A tool the model may call: a name, what it does, and a JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// A complete tool call: arguments as the JSON the model wrote (parsed when valid; the raw text
/// otherwise, so a malformed call can be reported back to the model).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: serde_json::Value,
}

/// What to ask a provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    pub model: String,
    pub system: Option<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDef>,
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    pub stream: bool,
}

impl Request {
    /// Every text the model reads, for counting prompt tokens locally.
    pub fn prompt_text(&self) -> String {
        let mut s = String::new();
        if let Some(sys) = &self.system {
            s.push_str(sys);
            s.push('\n');
        }
        for m in &self.messages {
            for p in &m.content {
                match p {
                    Part::Text { text } => s.push_str(text),
                    Part::ToolCall(c) => {
                        s.push_str(&c.name);
                        s.push_str(&c.arguments.to_string());
                    }
                    Part::ToolResult { content, .. } => s.push_str(content),
                }
                s.push('\n');
            }
        }
        for t in &self.tools {
            s.push_str(&t.name);
            s.push_str(&t.description);
            s.push_str(&t.parameters.to_string());
            s.push('\n');
        }
        s
    }
}

/// Token usage of one request. `estimated` is true when the server reported none and vibe
/// counted the prompt and the answer itself (tiktoken; see docs/llm.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens served from the provider's prompt cache (part of `input_tokens`).
    pub cached_tokens: u64,
    pub estimated: bool,
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// A natural end of the answer.
    End,
    /// `max_tokens` reached: the answer is cut short.
    MaxTokens,
    /// The model wants tool results.
    ToolUse,
    /// vibe stopped reading: the answer wrote the same block of lines `llm.stop_repeats` times
    /// in a row (the text keeps the first two copies; see [`repeat`]).
    Repeating,
    /// Anything else the provider said (content filter, a stop sequence, ...).
    Other(String),
}

impl StopReason {
    /// The answer ends where it was cut, not where the model ended it: its last edit block may
    /// be cut off (see [`crate::edit::parse_answer`]).
    pub fn cut_short(&self) -> bool {
        matches!(self, StopReason::MaxTokens | StopReason::Repeating)
    }
}

/// What a request streams out, in order: text deltas and complete tool calls, then exactly one
/// [`Event::Finished`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Text { text: String },
    ToolCall(ToolCall),
    Finished { stop: StopReason, usage: Usage },
}

impl Event {
    /// Appends what the model wrote in this event (for counting output tokens locally).
    pub fn append_output(&self, out: &mut String) {
        match self {
            Event::Text { text } => out.push_str(text),
            Event::ToolCall(c) => {
                out.push_str(&c.name);
                out.push_str(&c.arguments.to_string());
            }
            Event::Finished { .. } => {}
        }
    }
}

/// An API key. Never printed: `Debug` and `Display` show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    /// The key itself, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Which wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    Connect,
    FirstByte,
    Idle,
    /// The server sent only keep-alives, for four times the timeout.
    KeepAlive,
}

impl std::fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connecting",
            TimeoutPhase::FirstByte => "waiting for the first byte",
            TimeoutPhase::Idle => "waiting for more of the stream",
            TimeoutPhase::KeepAlive => "of keep-alives from the server and nothing else",
        })
    }
}

/// Everything a request can fail with. Each names the provider and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "provider `{provider}`: cannot connect to {url}: {detail}\nhint: start the server, or pick another provider with --model PROVIDER/MODEL or llm.model (see docs/llm.md)"
    )]
    Connect {
        provider: String,
        url: String,
        detail: String,
    },
    #[error(
        "provider `{provider}`: timed out after {:.0} s {phase}\nhint: raise providers.{provider}.{} in config if the model is slow",
        after.as_secs_f64(),
        match phase { TimeoutPhase::Connect => "connect_timeout", TimeoutPhase::FirstByte => "first_byte_timeout", TimeoutPhase::Idle => "idle_timeout", TimeoutPhase::KeepAlive => "first_byte_timeout or idle_timeout" }
    )]
    Timeout {
        provider: String,
        phase: TimeoutPhase,
        after: Duration,
    },
    #[error("provider `{provider}`: HTTP {status}: {message}{}", http_hint(*status, provider))]
    Http {
        provider: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("provider `{provider}`: the connection broke: {detail}")]
    Broken { provider: String, detail: String },
    #[error("provider `{provider}`: the reply is not what the {kind} API sends: {detail}")]
    Protocol {
        provider: String,
        kind: &'static str,
        detail: String,
    },
    #[error(
        "provider `{provider}`: the stream broke after part of the answer was shown: {detail}\nhint: ask again; vibe does not retry silently once output has been shown"
    )]
    Interrupted { provider: String, detail: String },
    #[error(
        "provider `{provider}`: skipped after {failures} failures in a row (circuit open for {:.0} s more)",
        retry_in.as_secs_f64()
    )]
    CircuitOpen {
        provider: String,
        failures: u32,
        retry_in: Duration,
    },
    #[error(
        "provider `{provider}`: no API key: the environment variable {var} is not set\nhint: export {var}=..., or set providers.{provider}.api_key_cmd in your user config"
    )]
    MissingKey { provider: String, var: String },
    #[error("provider `{provider}`: the key command failed: {detail}")]
    KeyCommand { provider: String, detail: String },
    #[error("cancelled")]
    Cancelled,
    /// A [`Meter`] refused the request (a budget); the CLI maps its error to exit code 3.
    #[error(transparent)]
    Refused(anyhow::Error),
    #[error("{0}")]
    Config(String),
    #[error("every provider failed:\n{}", .0.iter().map(|e| format!("  - {e:#}")).collect::<Vec<_>>().join("\n"))]
    AllFailed(Vec<Error>),
}

fn http_hint(status: u16, provider: &str) -> String {
    match status {
        401 | 403 => format!(
            "\nhint: check the API key of provider `{provider}` (providers.{provider}.api_key_env)"
        ),
        404 => "\nhint: check the model name and the provider's base_url".into(),
        429 => "\nhint: rate limited; wait, or lower providers.<name>.requests_per_minute".into(),
        _ => String::new(),
    }
}

impl Error {
    /// Worth another try at the same provider: connection trouble, timeouts before output,
    /// 408/409/429 and 5xx.
    pub fn retryable(&self) -> bool {
        match self {
            // A server that sent keep-alives for minutes is working on something (and may bill
            // it): asking it again would pay twice; the next provider of the chain is tried.
            Error::Timeout {
                phase: TimeoutPhase::KeepAlive,
                ..
            } => false,
            Error::Connect { .. } | Error::Timeout { .. } | Error::Broken { .. } => true,
            Error::Http { status, .. } => matches!(status, 408 | 409 | 429 | 500..=599),
            _ => false,
        }
    }

    /// Worth trying the next provider of the fallback chain: anything about this provider
    /// (reachability, overload, its key), but not a request that no provider would take, a
    /// cancel, a budget refusal, or output already shown.
    pub fn falls_back(&self) -> bool {
        match self {
            Error::Http { status, .. } => {
                matches!(status, 401 | 402 | 403 | 404 | 408 | 409 | 429 | 500..=599)
            }
            Error::Connect { .. }
            | Error::Timeout { .. }
            | Error::Broken { .. }
            | Error::Protocol { .. }
            | Error::CircuitOpen { .. }
            | Error::MissingKey { .. }
            | Error::KeyCommand { .. } => true,
            _ => false,
        }
    }

    /// A short word for the ledger's outcome column.
    pub fn outcome(&self) -> String {
        match self {
            Error::Http { status, .. } => format!("http {status}"),
            Error::Timeout { .. } => "timeout".into(),
            Error::Connect { .. } => "unreachable".into(),
            Error::Broken { .. } => "broken".into(),
            Error::Interrupted { .. } => "interrupted".into(),
            Error::Cancelled => "cancelled".into(),
            Error::Protocol { .. } => "protocol error".into(),
            _ => "error".into(),
        }
    }
}
