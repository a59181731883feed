//! The Anthropic Messages wire format (`POST {base_url}/messages`, `anthropic-version:
//! 2023-06-01`).
//!
//! A stream is `message_start` (with the input usage), then per content block
//! `content_block_start` / `content_block_delta`s / `content_block_stop`, then `message_delta`
//! (stop reason and the output usage so far) and `message_stop`; `ping`s may come anywhere and
//! an `error` event ends it. Text deltas are emitted as they come; a tool-use block's
//! `input_json_delta` pieces are joined and emitted as one call when the block stops.

use serde_json::{Value, json};

use super::http::{DecodeError, Decoder};
use super::openai::{excerpt, parse_arguments, str_field};
use super::{Event, Message, Part, Request, Role, StopReason, ToolCall, Usage};

pub const VERSION: &str = "2023-06-01";

pub fn body(req: &Request) -> Value {
    let messages: Vec<Value> = req.messages.iter().map(message).collect();
    let mut b = json!({
        "model": req.model,
        "max_tokens": req.max_tokens,
        "messages": messages,
        "stream": req.stream,
    });
    if let Some(sys) = &req.system {
        b["system"] = json!(sys);
    }
    if let Some(t) = req.temperature {
        b["temperature"] = json!(t);
    }
    if !req.tools.is_empty() {
        b["tools"] = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
    }
    b
}

fn message(m: &Message) -> Value {
    let content: Vec<Value> = m
        .content
        .iter()
        .map(|p| match p {
            Part::Text { text } => json!({"type": "text", "text": text}),
            Part::ToolCall(c) => json!({"type": "tool_use", "id": c.id, "name": c.name,
                // The API takes an object; arguments that were not one are passed as text.
                "input": if c.arguments.is_object() { c.arguments.clone() } else { json!({"arguments": c.arguments}) }}),
            Part::ToolResult {
                call_id,
                content,
                is_error,
            } => json!({"type": "tool_result", "tool_use_id": call_id, "content": content, "is_error": is_error}),
        })
        .collect();
    json!({
        "role": match m.role { Role::User => "user", Role::Assistant => "assistant" },
        "content": content,
    })
}

fn stop_reason(s: &str) -> StopReason {
    match s {
        "end_turn" => StopReason::End,
        "max_tokens" => StopReason::MaxTokens,
        "tool_use" => StopReason::ToolUse,
        other => StopReason::Other(other.to_string()),
    }
}

/// Input counts of a `usage` object: uncached input plus cache reads and writes, of which the
/// reads are the cached part.
fn input_usage(u: &Value) -> Option<(u64, u64)> {
    let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    // A count that is not one (-5, "480") leaves the usage to the local count.
    u.get("input_tokens")?.as_u64()?;
    let cached = get("cache_read_input_tokens");
    Some((
        // Saturating: the numbers are the server's (a wrapped sum would hide a wild claim).
        get("input_tokens")
            .saturating_add(cached)
            .saturating_add(get("cache_creation_input_tokens")),
        cached,
    ))
}

enum Block {
    Text,
    Tool {
        id: String,
        name: String,
        json: String,
    },
    Other,
}

#[derive(Default)]
pub struct AnthropicDecoder {
    blocks: Vec<(u64, Block)>,
    input: Option<(u64, u64)>,
    output: Option<u64>,
    stop: Option<StopReason>,
    done: bool,
    /// The last event carried something (see [`Decoder::moved`]).
    moved: bool,
}

fn error_text(v: &Value) -> String {
    let e = v.get("error").unwrap_or(v);
    match (
        e.get("type").and_then(Value::as_str),
        e.get("message").and_then(Value::as_str),
    ) {
        (Some(t), Some(m)) => format!("{t}: {m}"),
        (None, Some(m)) => m.to_string(),
        _ => excerpt(&v.to_string()),
    }
}

/// The message of an error body (`{"type":"error","error":{"type","message"}}`).
pub fn error_message(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) if v.get("error").is_some() => error_text(&v),
        _ => excerpt(body),
    }
}

impl AnthropicDecoder {
    fn usage(&self) -> Option<Usage> {
        let (input, cached) = self.input?;
        Some(Usage {
            input_tokens: input,
            output_tokens: self.output?,
            cached_tokens: cached,
            estimated: false,
        })
    }

    fn close_block(&mut self, index: u64, out: &mut Vec<Event>) {
        if let Some(pos) = self.blocks.iter().position(|(i, _)| *i == index) {
            let (_, block) = self.blocks.remove(pos);
            if let Block::Tool { id, name, json } = block {
                out.push(Event::ToolCall(ToolCall {
                    id,
                    name,
                    arguments: parse_arguments(&json),
                }));
            }
        }
    }
}

impl Decoder for AnthropicDecoder {
    fn event(&mut self, _name: Option<&str>, data: &str) -> Result<Vec<Event>, DecodeError> {
        let v: Value = serde_json::from_str(data).map_err(|e| {
            DecodeError::Malformed(format!(
                "a stream event is not JSON ({e}): {}",
                excerpt(data)
            ))
        })?;
        let mut out = Vec::new();
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
        self.moved = kind != "ping"
            && !(kind == "content_block_delta"
                && v.pointer("/delta/type").and_then(Value::as_str) == Some("text_delta")
                && v.pointer("/delta/text").and_then(Value::as_str) == Some(""));
        match kind {
            "message_start" => {
                // Its `output_tokens` is the count so far (1); the total comes with
                // `message_delta`, and without it the output is counted locally.
                if let Some(u) = v.pointer("/message/usage") {
                    self.input = input_usage(u);
                }
            }
            "content_block_start" => {
                let b = v.get("content_block").unwrap_or(&Value::Null);
                let block = match b.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(t) = b.get("text").and_then(Value::as_str)
                            && !t.is_empty()
                        {
                            out.push(Event::Text {
                                text: t.to_string(),
                            });
                        }
                        Block::Text
                    }
                    Some("tool_use") => Block::Tool {
                        id: str_field(b, "id"),
                        name: str_field(b, "name"),
                        json: String::new(),
                    },
                    _ => Block::Other,
                };
                self.blocks.push((index, block));
            }
            "content_block_delta" => {
                let d = v.get("delta").unwrap_or(&Value::Null);
                match d.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        if let Some(t) = d.get("text").and_then(Value::as_str)
                            && !t.is_empty()
                        {
                            out.push(Event::Text {
                                text: t.to_string(),
                            });
                        }
                    }
                    Some("input_json_delta") => {
                        let piece = d
                            .get("partial_json")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        match self.blocks.iter_mut().find(|(i, _)| *i == index) {
                            Some((_, Block::Tool { json, .. })) => json.push_str(piece),
                            _ => {
                                return Err(DecodeError::Malformed(format!(
                                    "input_json_delta for block {index}, which is not a tool_use block"
                                )));
                            }
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => self.close_block(index, &mut out),
            "message_delta" => {
                if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop = Some(stop_reason(r));
                }
                if let Some(u) = v.get("usage") {
                    if let Some(o) = u.get("output_tokens").and_then(Value::as_u64) {
                        self.output = Some(o);
                    }
                    if let Some(i) = input_usage(u) {
                        self.input = Some(i);
                    }
                }
            }
            "message_stop" => self.done = true,
            "error" => {
                return Err(DecodeError::Server(format!(
                    "the server sent an error: {}",
                    error_text(&v)
                )));
            }
            _ => {} // ping, and event types added later
        }
        Ok(out)
    }

    fn body(&mut self, text: &str) -> Result<Vec<Event>, DecodeError> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            DecodeError::Malformed(format!("the reply is not JSON ({e}): {}", excerpt(text)))
        })?;
        if v.get("type").and_then(Value::as_str) == Some("error") {
            return Err(DecodeError::Server(format!(
                "the server reported an error: {}",
                error_text(&v)
            )));
        }
        let content = v.get("content").and_then(Value::as_array).ok_or_else(|| {
            DecodeError::Malformed(format!("no content in the reply: {}", excerpt(text)))
        })?;
        let mut out = Vec::new();
        for b in content {
            match b.get("type").and_then(Value::as_str) {
                Some("text") => {
                    if let Some(t) = b.get("text").and_then(Value::as_str)
                        && !t.is_empty()
                    {
                        out.push(Event::Text {
                            text: t.to_string(),
                        });
                    }
                }
                Some("tool_use") => out.push(Event::ToolCall(ToolCall {
                    id: str_field(b, "id"),
                    name: str_field(b, "name"),
                    arguments: b.get("input").cloned().unwrap_or_else(|| json!({})),
                })),
                _ => {}
            }
        }
        self.stop = v
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(stop_reason);
        if let Some(u) = v.get("usage") {
            self.input = input_usage(u);
            self.output = u.get("output_tokens").and_then(Value::as_u64);
        }
        self.done = true;
        Ok(out)
    }

    fn finish(&mut self) -> (Vec<Event>, Option<StopReason>, Option<Usage>, bool) {
        let mut out = Vec::new();
        let open: Vec<u64> = self.blocks.iter().map(|(i, _)| *i).collect();
        for i in open {
            self.close_block(i, &mut out);
        }
        // A stream that said why it stopped (`message_delta`) and then closed cleanly without
        // `message_stop` is whole.
        let complete = self.done || self.stop.is_some();
        (out, self.stop.take(), self.usage(), complete)
    }

    fn moved(&self) -> bool {
        self.moved
    }

    fn stopped(&self) -> bool {
        self.stop.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_with_text_tool_use_and_usage() {
        let mut d = AnthropicDecoder::default();
        let events = [
            r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"c","stop_reason":null,"usage":{"input_tokens":10,"cache_read_input_tokens":5,"cache_creation_input_tokens":0,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t1","name":"get","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\": "}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"2}"}}"#,
            r#"{"type":"content_block_stop","index":1}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":7}}"#,
            r#"{"type":"message_stop"}"#,
        ];
        let out: Vec<Event> = events
            .iter()
            .flat_map(|e| d.event(None, e).expect("valid"))
            .collect();
        assert_eq!(
            out,
            vec![
                Event::Text { text: "Hi".into() },
                Event::ToolCall(ToolCall {
                    id: "t1".into(),
                    name: "get".into(),
                    arguments: json!({"a": 2})
                })
            ]
        );
        let (rest, stop, usage, done) = d.finish();
        assert!(rest.is_empty() && done);
        assert_eq!(stop, Some(StopReason::ToolUse));
        assert_eq!(
            usage,
            Some(Usage {
                input_tokens: 15,
                output_tokens: 7,
                cached_tokens: 5,
                estimated: false
            })
        );
    }

    #[test]
    fn input_counts_saturate_on_wild_numbers() {
        let u = serde_json::json!({
            "input_tokens": u64::MAX,
            "cache_read_input_tokens": 5,
            "cache_creation_input_tokens": 7
        });
        assert_eq!(input_usage(&u), Some((u64::MAX, 5)));
    }

    #[test]
    fn error_event_is_an_error() {
        let mut d = AnthropicDecoder::default();
        let e = d
            .event(
                Some("error"),
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            )
            .expect_err("error");
        assert!(
            matches!(&e, DecodeError::Server(m) if m.contains("overloaded_error: Overloaded")),
            "{e:?}"
        );
    }

    #[test]
    fn body_places_system_and_tool_results() {
        let req = Request {
            model: "c".into(),
            system: Some("sys".into()),
            messages: vec![Message {
                role: Role::User,
                content: vec![Part::ToolResult {
                    call_id: "t1".into(),
                    content: "ok".into(),
                    is_error: false,
                }],
            }],
            tools: vec![],
            max_tokens: 5,
            temperature: None,
            stream: false,
        };
        let b = body(&req);
        assert_eq!(b["system"], json!("sys"));
        assert_eq!(b["messages"][0]["content"][0]["type"], json!("tool_result"));
        assert!(b.get("tools").is_none());
    }
}
