//! The OpenAI-compatible Chat Completions wire format (`POST {base_url}/chat/completions`), as
//! spoken by OpenAI, OpenRouter, Ollama, llama.cpp's server, vLLM and LM Studio.
//!
//! Streaming asks for `stream_options.include_usage`, so the last chunk before `[DONE]` carries
//! the usage (servers that ignore the option send none, and the usage is then counted locally).
//! Tool calls stream as deltas keyed by `index`; they are assembled and emitted whole when the
//! choice finishes (or the stream ends).

use serde_json::{Value, json};

use super::http::{DecodeError, Decoder};
use super::{Event, Message, Part, Request, Role, StopReason, ToolCall, Usage};

/// The request body. `completion_tokens_field`: OpenAI's own API wants `max_completion_tokens`
/// (its reasoning models refuse `max_tokens`); every other server knows `max_tokens`.
pub fn body(req: &Request, completion_tokens_field: bool) -> Value {
    let mut messages = Vec::new();
    if let Some(sys) = &req.system {
        messages.push(json!({"role": "system", "content": sys}));
    }
    for m in &req.messages {
        push_message(&mut messages, m);
    }
    let mut b = json!({
        "model": req.model,
        "messages": messages,
        "stream": req.stream,
    });
    let field = if completion_tokens_field {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    b[field] = json!(req.max_tokens);
    if let Some(t) = req.temperature {
        b["temperature"] = json!(t);
    }
    if req.stream {
        b["stream_options"] = json!({"include_usage": true});
    }
    if !req.tools.is_empty() {
        b["tools"] = req
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters}})
            })
            .collect();
    }
    b
}

fn push_message(out: &mut Vec<Value>, m: &Message) {
    let text = m.text();
    match m.role {
        Role::User => {
            // Tool results are messages of their own, right after the assistant's calls.
            for p in &m.content {
                if let Part::ToolResult {
                    call_id, content, ..
                } = p
                {
                    out.push(json!({"role": "tool", "tool_call_id": call_id, "content": content}));
                }
            }
            if !text.is_empty() {
                out.push(json!({"role": "user", "content": text}));
            }
        }
        Role::Assistant => {
            let calls: Vec<Value> = m
                .content
                .iter()
                .filter_map(|p| match p {
                    Part::ToolCall(c) => Some(json!({"id": c.id, "type": "function",
                        "function": {"name": c.name, "arguments": arguments_text(&c.arguments)}})),
                    _ => None,
                })
                .collect();
            let mut msg = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) }});
            if !calls.is_empty() {
                msg["tool_calls"] = Value::Array(calls);
            }
            out.push(msg);
        }
    }
}

/// Arguments go over the wire as a JSON string; a call whose arguments were not valid JSON is
/// sent back as the model wrote it.
fn arguments_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Parses tool-call arguments; text that is not JSON is kept as a string.
pub fn parse_arguments(text: &str) -> Value {
    if text.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

#[derive(Debug, Default)]
struct PendingCall {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Debug, Default)]
pub struct OpenAiDecoder {
    calls: Vec<(u64, PendingCall)>,
    stop: Option<StopReason>,
    usage: Option<Usage>,
    done: bool,
    /// The last event carried something (see [`Decoder::moved`]).
    moved: bool,
}

/// Whether a JSON value says anything: not null, not an empty string, array or object.
fn said(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn stop_reason(s: &str) -> StopReason {
    match s {
        "stop" => StopReason::End,
        "length" => StopReason::MaxTokens,
        "tool_calls" | "function_call" => StopReason::ToolUse,
        other => StopReason::Other(other.to_string()),
    }
}

/// The server's usage; `None` (counted locally, marked estimated) unless both counts are
/// there and are numbers a count can be: a usage without `completion_tokens`, or with -1 in
/// it, recorded 0 output tokens as exact.
fn usage(u: &Value) -> Option<Usage> {
    let input = u.get("prompt_tokens")?.as_u64()?;
    Some(Usage {
        input_tokens: input,
        output_tokens: u.get("completion_tokens")?.as_u64()?,
        cached_tokens: u
            .pointer("/prompt_tokens_details/cached_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        estimated: false,
    })
}

/// An error object inside a 200 reply or a stream (`{"error": {"message": ...}}`).
fn embedded_error(v: &Value) -> Option<String> {
    let e = v.get("error")?;
    Some(
        e.get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| e.to_string()),
    )
}

impl OpenAiDecoder {
    fn flush_calls(&mut self, out: &mut Vec<Event>) {
        self.calls.sort_by_key(|(i, _)| *i);
        for (_, c) in self.calls.drain(..) {
            out.push(Event::ToolCall(ToolCall {
                id: c.id,
                name: c.name,
                arguments: parse_arguments(&c.arguments),
            }));
        }
    }
}

impl Decoder for OpenAiDecoder {
    fn event(&mut self, _name: Option<&str>, data: &str) -> Result<Vec<Event>, DecodeError> {
        let mut out = Vec::new();
        self.moved = true;
        if data.trim() == "[DONE]" {
            self.done = true;
            self.flush_calls(&mut out);
            return Ok(out);
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            DecodeError::Malformed(format!(
                "a stream line is not JSON ({e}): {}",
                excerpt(data)
            ))
        })?;
        if let Some(msg) = embedded_error(&v) {
            return Err(DecodeError::Server(format!(
                "the server reported an error mid-stream: {msg}"
            )));
        }
        if let Some(u) = v.get("usage").and_then(usage) {
            self.usage = Some(u);
        }
        let Some(choice) = v.pointer("/choices/0") else {
            self.moved = v.get("usage").is_some_and(said);
            return Ok(out);
        };
        // A chunk whose delta is empty, or only the role, and no finish or usage: a
        // keep-alive, as some servers send while the model thinks.
        self.moved = v.get("usage").is_some_and(said)
            || choice.get("finish_reason").is_some_and(said)
            || choice
                .get("delta")
                .and_then(Value::as_object)
                .is_some_and(|d| d.iter().any(|(k, v)| k != "role" && said(v)));
        if let Some(delta) = choice.get("delta") {
            if let Some(t) = delta.get("content").and_then(Value::as_str)
                && !t.is_empty()
            {
                out.push(Event::Text {
                    text: t.to_string(),
                });
            }
            for tc in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
                let pos = match self.calls.iter().position(|(i, _)| *i == index) {
                    Some(p) => p,
                    None => {
                        self.calls.push((index, PendingCall::default()));
                        self.calls.len() - 1
                    }
                };
                let call = &mut self.calls[pos].1;
                if let Some(id) = tc.get("id").and_then(Value::as_str) {
                    call.id = id.to_string();
                }
                if let Some(n) = tc.pointer("/function/name").and_then(Value::as_str) {
                    call.name.push_str(n);
                }
                if let Some(a) = tc.pointer("/function/arguments").and_then(Value::as_str) {
                    call.arguments.push_str(a);
                }
            }
        }
        // An empty finish_reason is none: Ollama and SGLang send `""` on every chunk, and
        // taken as a stop it ended answers at the first pause of 10 s.
        if let Some(r) = choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            self.stop = Some(stop_reason(r));
            self.flush_calls(&mut out);
        }
        Ok(out)
    }

    fn body(&mut self, text: &str) -> Result<Vec<Event>, DecodeError> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            DecodeError::Malformed(format!("the reply is not JSON ({e}): {}", excerpt(text)))
        })?;
        if let Some(msg) = embedded_error(&v) {
            return Err(DecodeError::Server(format!(
                "the server reported an error: {msg}"
            )));
        }
        let choice = v.pointer("/choices/0").ok_or_else(|| {
            DecodeError::Malformed(format!("no choices in the reply: {}", excerpt(text)))
        })?;
        let mut out = Vec::new();
        let msg = choice.get("message").unwrap_or(&Value::Null);
        if let Some(t) = msg.get("content").and_then(Value::as_str)
            && !t.is_empty()
        {
            out.push(Event::Text {
                text: t.to_string(),
            });
        }
        for tc in msg
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(Event::ToolCall(ToolCall {
                id: str_field(tc, "id"),
                name: str_field(tc, "/function/name"),
                arguments: parse_arguments(&str_field(tc, "/function/arguments")),
            }));
        }
        self.stop = choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(stop_reason);
        self.usage = v.get("usage").and_then(usage);
        self.done = true;
        Ok(out)
    }

    fn finish(&mut self) -> (Vec<Event>, Option<StopReason>, Option<Usage>, bool) {
        let mut out = Vec::new();
        self.flush_calls(&mut out);
        // A stream that stopped with a finish_reason but never said [DONE] still ended well
        // if the server closed the connection cleanly; the caller decides with `complete`.
        let complete = self.done || self.stop.is_some();
        (out, self.stop.take(), self.usage.take(), complete)
    }

    fn moved(&self) -> bool {
        self.moved
    }

    fn stopped(&self) -> bool {
        self.stop.is_some()
    }
}

/// A string field at a JSON pointer (or key), "" when absent.
pub fn str_field(v: &Value, at: &str) -> String {
    let found = if at.starts_with('/') {
        v.pointer(at)
    } else {
        v.get(at)
    };
    found
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The start of a long text, for error messages.
pub fn excerpt(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The message of an error body (`{"error": {"message"}}`, or the text itself).
pub fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| embedded_error(&v))
        .unwrap_or_else(|| excerpt(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolDef;

    #[test]
    fn body_has_system_tools_results_and_usage_option() {
        let req = Request {
            model: "m".into(),
            system: Some("sys".into()),
            messages: vec![
                Message::user("hi"),
                Message {
                    role: Role::Assistant,
                    content: vec![Part::ToolCall(ToolCall {
                        id: "c1".into(),
                        name: "read".into(),
                        arguments: json!({"path": "a.py"}),
                    })],
                },
                Message {
                    role: Role::User,
                    content: vec![Part::ToolResult {
                        call_id: "c1".into(),
                        content: "text".into(),
                        is_error: false,
                    }],
                },
            ],
            tools: vec![ToolDef {
                name: "read".into(),
                description: "reads".into(),
                parameters: json!({"type": "object"}),
            }],
            max_tokens: 100,
            temperature: None,
            stream: true,
        };
        let b = body(&req, false);
        assert_eq!(
            b["messages"][0],
            json!({"role": "system", "content": "sys"})
        );
        assert_eq!(
            b["messages"][2]["tool_calls"][0]["function"]["arguments"],
            json!("{\"path\":\"a.py\"}")
        );
        assert_eq!(b["messages"][2]["content"], Value::Null);
        assert_eq!(
            b["messages"][3],
            json!({"role": "tool", "tool_call_id": "c1", "content": "text"})
        );
        assert_eq!(b["tools"][0]["function"]["name"], json!("read"));
        assert_eq!(b["stream_options"]["include_usage"], json!(true));
        assert_eq!(b["max_tokens"], json!(100));
        assert_eq!(body(&req, true)["max_completion_tokens"], json!(100));
    }

    #[test]
    fn streamed_tool_call_arguments_are_assembled() {
        let mut d = OpenAiDecoder::default();
        let lines = [
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":4}}}"#,
            "[DONE]",
        ];
        let events: Vec<Event> = lines
            .iter()
            .flat_map(|l| d.event(None, l).expect("valid"))
            .collect();
        assert_eq!(
            events,
            vec![Event::ToolCall(ToolCall {
                id: "call_1".into(),
                name: "get".into(),
                arguments: json!({"a": 1})
            })]
        );
        let (rest, stop, usage, complete) = d.finish();
        assert!(rest.is_empty() && complete);
        assert_eq!(stop, Some(StopReason::ToolUse));
        assert_eq!(
            usage,
            Some(Usage {
                input_tokens: 9,
                output_tokens: 3,
                cached_tokens: 4,
                estimated: false
            })
        );
    }

    #[test]
    fn malformed_line_and_error_events_are_errors() {
        let mut d = OpenAiDecoder::default();
        assert!(d.event(None, "{not json").is_err());
        let e = d
            .event(None, r#"{"error":{"message":"overloaded"}}"#)
            .expect_err("error event");
        assert!(
            matches!(&e, DecodeError::Server(m) if m.contains("overloaded")),
            "{e:?}"
        );
    }

    /// What moves a stream on, and what says it stopped: an empty finish_reason (Ollama and
    /// SGLang send one on every chunk) is no stop; a chunk with nothing in it is a keep-alive.
    #[test]
    fn stops_and_keep_alives() {
        let mut d = OpenAiDecoder::default();
        let chunk = |content: &str, finish: Value| {
            json!({"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]})
                .to_string()
        };
        d.event(None, &chunk("one ", json!(""))).expect("a chunk");
        assert!(d.moved() && !d.stopped());
        d.event(None, &chunk("", json!(""))).expect("a chunk");
        assert!(!d.moved() && !d.stopped());
        d.event(None, &chunk("", Value::Null)).expect("a chunk");
        assert!(!d.moved());
        let reasoning = json!({"choices": [{"index": 0, "delta": {"reasoning_content": "hmm"}}]});
        d.event(None, &reasoning.to_string()).expect("a chunk");
        assert!(d.moved() && !d.stopped());
        d.event(None, &chunk("", json!("stop"))).expect("a chunk");
        assert!(d.moved() && d.stopped());
    }
}
