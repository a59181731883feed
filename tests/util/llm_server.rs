//! A scripted HTTP/1.1 server for testing the LLM provider layer.
//!
//! [`Server::start`] binds `127.0.0.1:0` and answers every request with the next [`Reply`] from a
//! FIFO script ([`Server::push`]), or with the default reply when the script is empty
//! (500 with a JSON error, see [`Server::set_default`]). Fixed routes ([`Server::route`]) answer
//! without consuming the script; `GET /v1/models` is routed to [`openai::models`] by default.
//! Every request is recorded ([`Server::requests`]) before its reply starts, so once the client
//! sees any response byte (or a timeout), the request is already visible to the test.
//!
//! On the wire: one request per connection, every response carries `Connection: close`.
//! Plain replies have a `Content-Length`; SSE replies are `Content-Type: text/event-stream`
//! with `Transfer-Encoding: chunked`, one chunk per SSE event, flushed at once.
//!
//! The [`openai`] and [`anthropic`] modules build replies in the providers' real wire formats.
//! Std only plus `serde_json`; no async runtime.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Token usage for the builders: `(input/prompt, output/completion, cached)` tokens.
/// OpenAI: `prompt_tokens`, `completion_tokens`, `prompt_tokens_details.cached_tokens`.
/// Anthropic: `input_tokens`, `output_tokens`, `cache_read_input_tokens`
/// (`cache_creation_input_tokens` is always 0). Values are emitted as given.
pub type Usage = Option<(u64, u64, u64)>;

/// A tool call for the builders: `(id, name, arguments as a JSON string)`.
pub type ToolCall<'a> = (&'a str, &'a str, &'a str);

/// The model name every builder reports.
pub const MODEL: &str = "test-model";

// ---------------------------------------------------------------------------------------------
// Recorded requests

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target as sent, including any query string (`/v1/messages`).
    pub path: String,
    /// Headers in arrival order, names lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked if it was sent chunked), lossily decoded as UTF-8.
    pub body: String,
    /// The body parsed as JSON, if it parses.
    pub json: Option<Value>,
}

impl Recorded {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body; panics if the body was not JSON.
    pub fn body_json(&self) -> &Value {
        self.json
            .as_ref()
            .unwrap_or_else(|| panic!("request body is not JSON: {:?}", self.body))
    }
}

// ---------------------------------------------------------------------------------------------
// SSE events and replies

/// One SSE frame exactly as it goes on the wire (including the blank line that ends it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent(String);

impl SseEvent {
    /// `data: <data>\n\n` (a multi-line payload becomes several `data:` lines).
    pub fn data(data: impl AsRef<str>) -> Self {
        Self(frame(None, data.as_ref()))
    }

    /// `event: <name>\ndata: <data>\n\n`.
    pub fn named(name: &str, data: impl AsRef<str>) -> Self {
        Self(frame(Some(name), data.as_ref()))
    }

    /// `data: <compact JSON>\n\n`.
    pub fn json(value: &Value) -> Self {
        Self::data(value.to_string())
    }

    /// `event: <name>\ndata: <compact JSON>\n\n`.
    pub fn named_json(name: &str, value: &Value) -> Self {
        Self::named(name, value.to_string())
    }

    /// `data: [DONE]\n\n`, OpenAI's end-of-stream marker.
    pub fn done() -> Self {
        Self::data("[DONE]")
    }

    /// A malformed event: `data: {not json\n\n`.
    pub fn malformed() -> Self {
        Self::data("{not json")
    }

    /// Bytes sent verbatim, e.g. a comment `": keep-alive\n\n"` or half an event.
    pub fn raw(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The frame as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `event:` name, if any.
    pub fn name(&self) -> Option<&str> {
        self.0
            .lines()
            .find_map(|l| l.strip_prefix("event:"))
            .map(str::trim)
    }

    /// The `data:` payload (several `data:` lines joined by `\n`).
    pub fn payload(&self) -> String {
        let lines: Vec<&str> = self
            .0
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        lines.join("\n")
    }
}

fn frame(name: Option<&str>, data: &str) -> String {
    let mut out = String::new();
    if let Some(name) = name {
        out.push_str(&format!("event: {name}\n"));
    }
    for line in data.split('\n') {
        out.push_str(&format!("data: {line}\n"));
    }
    out.push('\n');
    out
}

#[derive(Clone, Debug)]
enum Step {
    Event(SseEvent),
    Pause(Duration),
    Reset,
}

#[derive(Clone, Debug)]
enum Kind {
    Body {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    Stream {
        status: u16,
        headers: Vec<(String, String)>,
        steps: Vec<Step>,
        gap: Duration,
    },
    Hang(Duration),
}

/// What the server does with one request. Build with a constructor, adjust with the
/// chained modifiers; the stream modifiers panic on a non-stream reply.
#[derive(Clone, Debug)]
pub struct Reply {
    delay: Duration,
    kind: Kind,
}

impl Reply {
    /// A JSON reply with this status (`Content-Type: application/json`).
    pub fn json(status: u16, body: Value) -> Self {
        Self::text(status, "application/json", body.to_string())
    }

    /// A reply with any body and content type.
    pub fn text(status: u16, content_type: &str, body: impl Into<String>) -> Self {
        let headers = vec![("Content-Type".to_string(), content_type.to_string())];
        Self {
            delay: Duration::ZERO,
            kind: Kind::Body {
                status,
                headers,
                body: body.into(),
            },
        }
    }

    /// `429` with `Retry-After: <seconds>` and this JSON body.
    pub fn rate_limited(retry_after_secs: u64, body: Value) -> Self {
        Self::json(429, body).header("Retry-After", &retry_after_secs.to_string())
    }

    /// A `200` SSE stream of these events (chunked, one chunk per event, flushed each).
    pub fn sse(events: impl IntoIterator<Item = SseEvent>) -> Self {
        let headers = vec![
            ("Content-Type".to_string(), "text/event-stream".to_string()),
            ("Cache-Control".to_string(), "no-cache".to_string()),
        ];
        let steps = events.into_iter().map(Step::Event).collect();
        Self {
            delay: Duration::ZERO,
            kind: Kind::Stream {
                status: 200,
                headers,
                steps,
                gap: Duration::ZERO,
            },
        }
    }

    /// Read the request, send nothing at all for `duration`, then close the connection
    /// (a stall before the status line; the client's connect/first-byte timeout should fire).
    pub fn hang(duration: Duration) -> Self {
        Self {
            delay: Duration::ZERO,
            kind: Kind::Hang(duration),
        }
    }

    /// Read the request and close the connection without any response.
    pub fn close() -> Self {
        Self::hang(Duration::ZERO)
    }

    /// Adds a response header (replaces a default header of the same name, e.g. `Content-Type`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Kind::Body { headers, .. } | Kind::Stream { headers, .. } = &mut self.kind {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// Changes the status code.
    pub fn with_status(mut self, code: u16) -> Self {
        if let Kind::Body { status, .. } | Kind::Stream { status, .. } = &mut self.kind {
            *status = code;
        }
        self
    }

    /// Waits this long after reading the request before sending anything (the status line
    /// included), then replies normally.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Stream: sleeps this long between consecutive events.
    pub fn gap(mut self, duration: Duration) -> Self {
        *self.stream_gap() = duration;
        self
    }

    /// Stream: appends an event.
    pub fn event(mut self, event: SseEvent) -> Self {
        self.steps().push(Step::Event(event));
        self
    }

    /// Stream: inserts an event after the first `after` events (e.g. [`SseEvent::malformed`]).
    pub fn insert_event(mut self, after: usize, event: SseEvent) -> Self {
        let at = self.position_after(after);
        self.steps().insert(at, Step::Event(event));
        self
    }

    /// Stream: keeps only the first `n` events and ends the chunked body cleanly (so the SSE
    /// stream ends without `[DONE]` / `message_stop`).
    pub fn truncate(mut self, n: usize) -> Self {
        let at = self.position_after(n);
        self.steps().truncate(at);
        self
    }

    /// Stream: sends the first `n` events, then shuts the socket down without the terminating
    /// chunk: the client sees EOF inside a chunked body (an incomplete-body error).
    pub fn reset_after(self, n: usize) -> Self {
        let mut reply = self.truncate(n);
        reply.steps().push(Step::Reset);
        reply
    }

    /// Stream: after the first `n` events (0 = right after the headers) sends nothing for
    /// `duration`, then carries on with the remaining events.
    pub fn stall_after(mut self, n: usize, duration: Duration) -> Self {
        let at = self.position_after(n);
        self.steps().insert(at, Step::Pause(duration));
        self
    }

    /// Stream: the events, in order (for inspecting what a builder produced).
    pub fn events(&self) -> Vec<SseEvent> {
        match &self.kind {
            Kind::Stream { steps, .. } => steps
                .iter()
                .filter_map(|s| match s {
                    Step::Event(e) => Some(e.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The body of a non-stream reply.
    pub fn body(&self) -> Option<&str> {
        match &self.kind {
            Kind::Body { body, .. } => Some(body),
            _ => None,
        }
    }

    fn steps(&mut self) -> &mut Vec<Step> {
        match &mut self.kind {
            Kind::Stream { steps, .. } => steps,
            _ => panic!("llm_server: stream modifier used on a non-stream Reply"),
        }
    }

    fn stream_gap(&mut self) -> &mut Duration {
        match &mut self.kind {
            Kind::Stream { gap, .. } => gap,
            _ => panic!("llm_server: stream modifier used on a non-stream Reply"),
        }
    }

    /// Index in `steps` just after the `n`-th event.
    fn position_after(&mut self, n: usize) -> usize {
        let steps = self.steps();
        if n == 0 {
            return 0;
        }
        let mut seen = 0;
        for (i, step) in steps.iter().enumerate() {
            if matches!(step, Step::Event(_)) {
                seen += 1;
                if seen == n {
                    return i + 1;
                }
            }
        }
        panic!("llm_server: the stream has only {seen} events, asked for position after {n}");
    }
}

// ---------------------------------------------------------------------------------------------
// The server

struct State {
    requests: Vec<Recorded>,
    queue: VecDeque<Reply>,
    default: Reply,
    routes: Vec<(String, String, Reply)>,
}

struct Shared {
    state: Mutex<State>,
    arrived: Condvar,
    shutdown: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps up to `duration`; false if the server shut down meanwhile.
    fn sleep(&self, duration: Duration) -> bool {
        let end = Instant::now() + duration;
        loop {
            if self.shutdown.load(Ordering::SeqCst) {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            thread::sleep((end - now).min(Duration::from_millis(10)));
        }
    }
}

/// The scripted server; shuts down when dropped.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `127.0.0.1:0` and serves in background threads (one per connection).
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("llm_server: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("llm_server: local_addr");
        let default = Reply::json(
            500,
            json!({"error": {
                "message": "llm_server: the script is empty (no Reply queued for this request)",
                "type": "script_empty", "code": null}}),
        );
        let routes = vec![(
            "GET".to_string(),
            "/v1/models".to_string(),
            openai::models(&[MODEL]),
        )];
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                requests: Vec::new(),
                queue: VecDeque::new(),
                default,
                routes,
            }),
            arrived: Condvar::new(),
            shutdown: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name("llm_server-accept".into())
            .spawn(move || accept_loop(&listener, &accept_shared))
            .expect("llm_server: spawn accept thread");
        Self {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a reply for the next unrouted request.
    pub fn push(&self, reply: Reply) -> &Self {
        self.shared.lock().queue.push_back(reply);
        self
    }

    /// The reply used when the script is empty (initially 500 `script_empty`).
    pub fn set_default(&self, reply: Reply) {
        self.shared.lock().default = reply;
    }

    /// Answers every `method path` request (query string ignored) with `reply`, without
    /// consuming the script. Replaces an earlier route for the same method and path.
    pub fn route(&self, method: &str, path: &str, reply: Reply) {
        let mut state = self.shared.lock();
        state
            .routes
            .retain(|(m, p, _)| !(m.eq_ignore_ascii_case(method) && p == path));
        state
            .routes
            .push((method.to_ascii_uppercase(), path.to_string(), reply));
    }

    /// All requests so far (routed ones included), in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// The number of requests so far.
    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// The latest request, if any.
    pub fn last_request(&self) -> Option<Recorded> {
        self.shared.lock().requests.last().cloned()
    }

    /// Replies still queued.
    pub fn remaining(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Waits until at least `n` requests arrived; false on timeout.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let state = self.shared.lock();
        let (state, _) = self
            .shared
            .arrived
            .wait_timeout_while(state, timeout, |s| s.requests.len() < n)
            .unwrap_or_else(PoisonError::into_inner);
        state.requests.len() >= n
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Unblock accept(); connection threads notice the flag in their sleeps.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        let Ok(conn) = conn else { continue };
        let shared = Arc::clone(shared);
        let _ = thread::Builder::new()
            .name("llm_server-conn".into())
            .spawn(move || handle(conn, &shared));
    }
}

fn handle(mut conn: TcpStream, shared: &Shared) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = conn.set_nodelay(true);
    let request = match read_request(&conn) {
        Ok(Some(request)) => request,
        Ok(None) => return, // connected and closed (e.g. the shutdown self-connect)
        Err(err) => {
            let body = json!({"error": {"message": format!("llm_server: bad request: {err}")}});
            let _ = write_reply(&mut conn, shared, Reply::json(400, body));
            return;
        }
    };
    let reply = {
        let mut state = shared.lock();
        let route_path = request
            .path
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        let routed = state
            .routes
            .iter()
            .find(|(m, p, _)| *m == request.method && *p == route_path)
            .map(|(_, _, r)| r.clone());
        let reply = match routed {
            Some(reply) => reply,
            None => match state.queue.pop_front() {
                Some(reply) => reply,
                None => state.default.clone(),
            },
        };
        state.requests.push(request);
        shared.arrived.notify_all();
        reply
    };
    let _ = write_reply(&mut conn, shared, reply);
}

fn read_request(conn: &TcpStream) -> io::Result<Option<Recorded>> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path), Some(_version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("request line {line:?}"),
        ));
    };
    let (method, path) = (method.to_string(), path.to_string());
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        let Some((name, value)) = trimmed.split_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("header {trimmed:?}"),
            ));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size_text = line.trim().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(size_text, 16).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("chunk size {line:?}: {e}"),
                )
            })?;
            if size == 0 {
                // Trailers, up to the blank line.
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?; // CRLF after the chunk
        }
    } else if let Some(length) = header("content-length") {
        let length: usize = length.parse().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("content-length: {e}"))
        })?;
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let json = serde_json::from_str(&body).ok();
    Ok(Some(Recorded {
        method,
        path,
        headers,
        body,
        json,
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Site Overloaded",
        _ => "Status",
    }
}

fn head(status: u16, headers: &[(String, String)], framing: &str) -> String {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(framing);
    out.push_str("Connection: close\r\n\r\n");
    out
}

fn write_reply(conn: &mut TcpStream, shared: &Shared, reply: Reply) -> io::Result<()> {
    if !shared.sleep(reply.delay) {
        return Ok(());
    }
    match reply.kind {
        Kind::Hang(duration) => {
            shared.sleep(duration);
        }
        Kind::Body {
            status,
            headers,
            body,
        } => {
            let framing = format!("Content-Length: {}\r\n", body.len());
            conn.write_all(head(status, &headers, &framing).as_bytes())?;
            conn.write_all(body.as_bytes())?;
            conn.flush()?;
        }
        Kind::Stream {
            status,
            headers,
            steps,
            gap,
        } => {
            conn.write_all(head(status, &headers, "Transfer-Encoding: chunked\r\n").as_bytes())?;
            conn.flush()?;
            let mut sent_any = false;
            for step in steps {
                match step {
                    Step::Event(event) => {
                        if sent_any && !shared.sleep(gap) {
                            return Ok(());
                        }
                        let data = event.as_str();
                        if !data.is_empty() {
                            conn.write_all(format!("{:x}\r\n{data}\r\n", data.len()).as_bytes())?;
                            conn.flush()?;
                        }
                        sent_any = true;
                    }
                    Step::Pause(duration) => {
                        if !shared.sleep(duration) {
                            return Ok(());
                        }
                    }
                    Step::Reset => {
                        return conn.shutdown(Shutdown::Both);
                    }
                }
            }
            conn.write_all(b"0\r\n\r\n")?;
            conn.flush()?;
        }
    }
    conn.shutdown(Shutdown::Write)
}

/// Splits `text` into up to three non-empty pieces on char boundaries.
fn split3(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(3).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

fn parse_args(args: &str) -> Value {
    serde_json::from_str(args)
        .unwrap_or_else(|e| panic!("llm_server: tool arguments {args:?} are not JSON: {e}"))
}

// ---------------------------------------------------------------------------------------------
// OpenAI Chat Completions

/// OpenAI Chat Completions wire format (`POST /v1/chat/completions`).
pub mod openai {
    use super::{MODEL, Reply, SseEvent, ToolCall, Usage, split3};
    use serde_json::{Value, json};

    const ID: &str = "chatcmpl-test";
    const CREATED: u64 = 1_700_000_000;

    /// The `usage` object: prompt/completion/total tokens and `prompt_tokens_details.cached_tokens`.
    pub fn usage_json(prompt: u64, completion: u64, cached: u64) -> Value {
        json!({
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
        })
    }

    fn body(message: Value, finish_reason: &str, usage: Usage) -> Value {
        let mut body = json!({
            "id": ID, "object": "chat.completion", "created": CREATED, "model": MODEL,
            "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason}],
            "system_fingerprint": null,
        });
        if let Some((p, c, k)) = usage {
            body["usage"] = usage_json(p, c, k);
        }
        body
    }

    /// `200` non-streaming completion with `message.content = text`, `finish_reason: "stop"`.
    pub fn completion(text: &str, usage: Usage) -> Reply {
        let message = json!({"role": "assistant", "content": text, "refusal": null});
        Reply::json(200, body(message, "stop", usage))
    }

    /// `200` non-streaming completion with `message.tool_calls` (and `content` = `text` or null),
    /// `finish_reason: "tool_calls"`.
    pub fn tool_calls(text: Option<&str>, calls: &[ToolCall<'_>], usage: Usage) -> Reply {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}))
            .collect();
        let message =
            json!({"role": "assistant", "content": text, "refusal": null, "tool_calls": calls});
        Reply::json(200, body(message, "tool_calls", usage))
    }

    /// One `chat.completion.chunk` with `choices[0].delta = delta`. With `include_usage` the
    /// chunk carries `"usage": null`, as OpenAI does under `stream_options.include_usage`.
    pub fn chunk(delta: Value, finish_reason: Option<&str>, include_usage: bool) -> SseEvent {
        let mut chunk = json!({
            "id": ID, "object": "chat.completion.chunk", "created": CREATED, "model": MODEL,
            "system_fingerprint": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
        });
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        SseEvent::json(&chunk)
    }

    /// The usage-only chunk (`choices: []`) sent before `[DONE]`.
    pub fn usage_chunk(prompt: u64, completion: u64, cached: u64) -> SseEvent {
        SseEvent::json(&json!({
            "id": ID, "object": "chat.completion.chunk", "created": CREATED, "model": MODEL,
            "system_fingerprint": null, "choices": [], "usage": usage_json(prompt, completion, cached),
        }))
    }

    fn finish(mut events: Vec<SseEvent>, finish_reason: &str, usage: Usage) -> Reply {
        events.push(chunk(json!({}), Some(finish_reason), usage.is_some()));
        if let Some((p, c, k)) = usage {
            events.push(usage_chunk(p, c, k));
        }
        events.push(SseEvent::done());
        Reply::sse(events)
    }

    /// SSE stream: a role chunk (`{"role":"assistant","content":""}`), one `delta.content`
    /// chunk per piece, a final chunk with `finish_reason: "stop"`, then (if `usage`) a chunk
    /// with `choices: []` and `usage`, then `data: [DONE]`.
    /// Events: `1 + chunks.len() + 1 + (usage ? 1 : 0) + 1`.
    pub fn stream(chunks: &[&str], usage: Usage) -> Reply {
        stream_ended(chunks, usage, "stop")
    }

    /// [`stream`], ended by `max_tokens`: `finish_reason: "length"`.
    pub fn stream_cut(chunks: &[&str], usage: Usage) -> Reply {
        stream_ended(chunks, usage, "length")
    }

    fn stream_ended(chunks: &[&str], usage: Usage, finish_reason: &str) -> Reply {
        let inc = usage.is_some();
        let mut events = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            None,
            inc,
        )];
        events.extend(
            chunks
                .iter()
                .map(|c| chunk(json!({"content": c}), None, inc)),
        );
        finish(events, finish_reason, usage)
    }

    /// SSE stream of tool calls: a role chunk, `text_chunks` as content deltas, then for each
    /// call (index i) a chunk `tool_calls[{index, id, type:"function", function{name, arguments:""}}]`
    /// followed by its arguments split over up to three `tool_calls[{index, function{arguments}}]`
    /// chunks; then `finish_reason: "tool_calls"`, the usage chunk (if any) and `[DONE]`.
    pub fn stream_tool_calls(text_chunks: &[&str], calls: &[ToolCall<'_>], usage: Usage) -> Reply {
        let inc = usage.is_some();
        let mut events = vec![chunk(
            json!({"role": "assistant", "content": null}),
            None,
            inc,
        )];
        events.extend(
            text_chunks
                .iter()
                .map(|c| chunk(json!({"content": c}), None, inc)),
        );
        for (index, (id, name, args)) in calls.iter().enumerate() {
            let start = json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                "function": {"name": name, "arguments": ""}}]});
            events.push(chunk(start, None, inc));
            for piece in split3(args) {
                let delta =
                    json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]});
                events.push(chunk(delta, None, inc));
            }
        }
        finish(events, "tool_calls", usage)
    }

    /// The error body `{"error":{"message","type","param":null,"code"}}`.
    pub fn error_body(message: &str, kind: &str, code: Option<&str>) -> Value {
        json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
    }

    /// An HTTP error reply with the OpenAI error body,
    /// e.g. `error(401, "Incorrect API key provided", "invalid_request_error", Some("invalid_api_key"))`.
    pub fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Reply {
        Reply::json(status, error_body(message, kind, code))
    }

    /// `429` with `Retry-After: <secs>` and a `rate_limit_exceeded` error body.
    pub fn rate_limited(retry_after_secs: u64) -> Reply {
        let body = error_body(
            "Rate limit reached for test-model",
            "requests",
            Some("rate_limit_exceeded"),
        );
        Reply::rate_limited(retry_after_secs, body)
    }

    /// `GET /v1/models` list: `{"object":"list","data":[{"id","object":"model","created","owned_by"}]}`.
    pub fn models(ids: &[&str]) -> Reply {
        let data: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "object": "model", "created": CREATED, "owned_by": "llm_server"}))
            .collect();
        Reply::json(200, json!({"object": "list", "data": data}))
    }
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages

/// Anthropic Messages wire format (`POST /v1/messages`).
pub mod anthropic {
    use super::{MODEL, Reply, SseEvent, ToolCall, Usage, parse_args, split3};
    use serde_json::{Value, json};

    const ID: &str = "msg_test";

    /// The full `usage` object (as in a non-streaming message).
    pub fn usage_json(input: u64, output: u64, cache_read: u64) -> Value {
        json!({"input_tokens": input, "cache_creation_input_tokens": 0,
               "cache_read_input_tokens": cache_read, "output_tokens": output})
    }

    fn message_json(content: Vec<Value>, stop_reason: Option<&str>, usage: Option<Value>) -> Value {
        let mut message = json!({
            "id": ID, "type": "message", "role": "assistant", "model": MODEL, "content": content,
            "stop_reason": stop_reason, "stop_sequence": null,
        });
        if let Some(usage) = usage {
            message["usage"] = usage;
        }
        message
    }

    fn text_block(text: &str) -> Value {
        json!({"type": "text", "text": text})
    }

    /// `200` non-streaming message: `content: [{type:"text", text}]`, `stop_reason: "end_turn"`.
    pub fn message(text: &str, usage: Usage) -> Reply {
        let usage = usage.map(|(i, o, c)| usage_json(i, o, c));
        Reply::json(
            200,
            message_json(vec![text_block(text)], Some("end_turn"), usage),
        )
    }

    /// `200` non-streaming message: an optional text block, then one
    /// `{type:"tool_use", id, name, input}` block per call (arguments parsed into `input`);
    /// `stop_reason: "tool_use"`.
    pub fn tool_use(text: Option<&str>, calls: &[ToolCall<'_>], usage: Usage) -> Reply {
        let mut content: Vec<Value> = text.map(text_block).into_iter().collect();
        content.extend(
            calls.iter().map(|(id, name, args)| json!({"type": "tool_use", "id": id, "name": name, "input": parse_args(args)})),
        );
        let usage = usage.map(|(i, o, c)| usage_json(i, o, c));
        Reply::json(200, message_json(content, Some("tool_use"), usage))
    }

    /// A named event whose `data` has `"type": name` (as every Anthropic event does).
    pub fn event(name: &str, mut data: Value) -> SseEvent {
        data["type"] = json!(name);
        SseEvent::named_json(name, &data)
    }

    /// `message_start`, with usage `{input_tokens, cache_*, output_tokens: 1}` if `usage`.
    pub fn message_start(usage: Usage) -> SseEvent {
        let usage = usage.map(|(i, _, c)| usage_json(i, 1, c));
        event(
            "message_start",
            json!({"message": message_json(Vec::new(), None, usage)}),
        )
    }

    /// The `ping` event.
    pub fn ping() -> SseEvent {
        event("ping", json!({}))
    }

    /// `message_delta` (with `usage.output_tokens` if `usage`) and `message_stop`.
    pub fn message_end(stop_reason: &str, usage: Usage) -> Vec<SseEvent> {
        let mut delta = json!({"delta": {"stop_reason": stop_reason, "stop_sequence": null}});
        if let Some((_, output, _)) = usage {
            delta["usage"] = json!({"output_tokens": output});
        }
        vec![
            event("message_delta", delta),
            event("message_stop", json!({})),
        ]
    }

    fn text_block_events(index: usize, chunks: &[&str]) -> Vec<SseEvent> {
        let mut events = vec![event(
            "content_block_start",
            json!({"index": index, "content_block": text_block("")}),
        )];
        if index == 0 {
            events.push(ping());
        }
        events.extend(chunks.iter().map(|c| {
            event(
                "content_block_delta",
                json!({"index": index, "delta": {"type": "text_delta", "text": c}}),
            )
        }));
        events.push(event("content_block_stop", json!({"index": index})));
        events
    }

    /// SSE stream: `message_start`, `content_block_start` (text), `ping`, one
    /// `content_block_delta`/`text_delta` per chunk, `content_block_stop`, `message_delta`
    /// (`stop_reason: "end_turn"`), `message_stop`. Events: `chunks.len() + 6`.
    /// With `usage: None` no event carries a `usage` object.
    pub fn stream(chunks: &[&str], usage: Usage) -> Reply {
        let mut events = vec![message_start(usage)];
        events.extend(text_block_events(0, chunks));
        events.extend(message_end("end_turn", usage));
        Reply::sse(events)
    }

    /// SSE stream with tool use: an optional text block (if `text_chunks` is non-empty), then per
    /// call a `content_block_start` `{type:"tool_use", id, name, input:{}}`, its arguments split
    /// over up to three `input_json_delta` `partial_json` deltas, `content_block_stop`; then
    /// `message_delta` with `stop_reason: "tool_use"` and `message_stop`.
    pub fn stream_tool_use(text_chunks: &[&str], calls: &[ToolCall<'_>], usage: Usage) -> Reply {
        let mut events = vec![message_start(usage)];
        let mut index = 0;
        if !text_chunks.is_empty() {
            events.extend(text_block_events(0, text_chunks));
            index = 1;
        }
        for (id, name, args) in calls {
            let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
            events.push(event(
                "content_block_start",
                json!({"index": index, "content_block": block}),
            ));
            if index == 0 {
                events.push(ping());
            }
            for piece in split3(args) {
                let delta = json!({"type": "input_json_delta", "partial_json": piece});
                events.push(event(
                    "content_block_delta",
                    json!({"index": index, "delta": delta}),
                ));
            }
            events.push(event("content_block_stop", json!({"index": index})));
            index += 1;
        }
        events.extend(message_end("tool_use", usage));
        Reply::sse(events)
    }

    /// The error body `{"type":"error","error":{"type","message"}}`.
    pub fn error_body(kind: &str, message: &str) -> Value {
        json!({"type": "error", "error": {"type": kind, "message": message}})
    }

    /// An in-stream `event: error` with the error body.
    pub fn error_event(kind: &str, message: &str) -> SseEvent {
        SseEvent::named_json("error", &error_body(kind, message))
    }

    /// `event: error` with `overloaded_error` / `Overloaded`.
    pub fn overloaded_event() -> SseEvent {
        error_event("overloaded_error", "Overloaded")
    }

    /// A stream that fails mid-way as the real API does: `message_start`, the text block start,
    /// `ping`, one delta per chunk, then `event: error` (overloaded) and a clean end of body.
    pub fn overloaded_stream(chunks: &[&str], usage: Usage) -> Reply {
        let mut events = vec![message_start(usage)];
        let mut block = text_block_events(0, chunks);
        block.pop(); // no content_block_stop
        events.extend(block);
        events.push(overloaded_event());
        Reply::sse(events)
    }

    /// An HTTP error reply, e.g. `error(401, "authentication_error", "invalid x-api-key")`.
    pub fn error(status: u16, kind: &str, message: &str) -> Reply {
        Reply::json(status, error_body(kind, message))
    }

    /// `429` with `Retry-After: <secs>` and a `rate_limit_error` body.
    pub fn rate_limited(retry_after_secs: u64) -> Reply {
        Reply::rate_limited(
            retry_after_secs,
            error_body(
                "rate_limit_error",
                "Number of requests has exceeded your rate limit",
            ),
        )
    }

    /// `529` `overloaded_error`.
    pub fn overloaded() -> Reply {
        error(529, "overloaded_error", "Overloaded")
    }

    /// `GET /v1/models` list: `{"data":[{"type":"model","id","display_name","created_at"}],"has_more":false,..}`.
    pub fn models(ids: &[&str]) -> Reply {
        let data: Vec<Value> = ids
            .iter()
            .map(|id| json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"}))
            .collect();
        let first = ids.first().copied();
        let last = ids.last().copied();
        Reply::json(
            200,
            json!({"data": data, "has_more": false, "first_id": first, "last_id": last}),
        )
    }
}
