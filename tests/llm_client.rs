//! The provider layer against a scripted server on 127.0.0.1: both wire formats, streamed and
//! not, and every failure path (429 with Retry-After, 5xx, malformed SSE, a reset, stalls, no
//! usage), retries, fallback, the circuit breaker, cancel and budget refusal.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use vibe::llm::client::{Admitted, Call, Cancel, Client, Meter, NoMeter, Policy};
use vibe::llm::providers::{Endpoint, KeySource, Kind};
use vibe::llm::{Error, Event, Message, Request, StopReason, ToolDef, Usage};

use crate::util::llm_server::{Reply, Server, SseEvent, anthropic, openai};

const KEY: &str = "sk-test-planted-7f3a9c";

fn endpoint(name: &str, kind: Kind, url: &str) -> Endpoint {
    Endpoint {
        provider: name.into(),
        kind,
        base_url: format!("{url}/v1"),
        model: "test-model".into(),
        key: KeySource::Command(format!("echo {KEY}")),
        headers: vec![],
        local: false,
        context_window: 32768,
        prices: None,
        connect_timeout: Duration::from_secs(2),
        first_byte_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        requests_per_minute: 0,
        tokens_per_minute: 0,
    }
}

fn policy() -> Policy {
    Policy {
        retries: 2,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        retry_after_max: Duration::from_secs(5),
        breaker_failures: 3,
        breaker_cooldown: Duration::from_secs(60),
        stop_repeats: 3,
    }
}

fn request(stream: bool) -> Request {
    Request {
        model: String::new(),
        system: Some("be brief".into()),
        messages: vec![Message::user("hello there")],
        tools: vec![],
        max_tokens: 64,
        temperature: None,
        stream,
    }
}

/// Records what the client reports to the ledger.
#[derive(Default)]
struct Recorder {
    rows: Mutex<Vec<(String, String, Usage)>>,
    refuse: bool,
}

impl Meter for Recorder {
    fn before(&self, call: &Call) -> anyhow::Result<Admitted> {
        if self.refuse {
            anyhow::bail!("over budget: {} prompt tokens", call.prompt_tokens);
        }
        Ok(Admitted::default())
    }
    fn after(
        &self,
        _: Option<i64>,
        e: &Endpoint,
        usage: &Usage,
        _: SystemTime,
        _: Duration,
        outcome: &str,
    ) -> (f64, bool) {
        self.rows.lock().unwrap_or_else(|p| p.into_inner()).push((
            e.provider.clone(),
            outcome.to_string(),
            *usage,
        ));
        // A cent an attempt, so that totals can be checked.
        (0.01, true)
    }
}

impl Recorder {
    fn outcomes(&self) -> Vec<String> {
        self.rows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(p, o, _)| format!("{p}:{o}"))
            .collect()
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs a request; returns the result and the events seen.
fn run_with(client: &Client, req: &Request) -> (Result<vibe::llm::Outcome, Error>, Vec<Event>) {
    let mut seen = Vec::new();
    let r = rt().block_on(client.run(req, &Cancel::default(), &mut |e: &Event| {
        seen.push(e.clone());
        true
    }));
    (r, seen)
}

fn client(chain: Vec<Endpoint>, meter: Arc<dyn Meter>) -> Client {
    Client::new(chain, policy(), meter).expect("client")
}

fn texts(events: &[Event]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn openai_stream_with_usage_and_request_shape() {
    let s = Server::start();
    s.push(openai::stream(&["Hel", "lo", "!"], Some((12, 3, 4))));
    let c = client(
        vec![endpoint("a", Kind::OpenAi, &s.url())],
        Arc::new(NoMeter),
    );
    let (r, events) = run_with(&c, &request(true));
    let out = r.expect("answer");
    assert_eq!(texts(&events), "Hello!");
    assert_eq!(out.text, "Hello!");
    assert_eq!(out.stop, StopReason::End);
    assert_eq!(
        out.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 3,
            cached_tokens: 4,
            estimated: false
        }
    );
    let req = s.last_request().expect("recorded");
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let b = req.body_json();
    assert_eq!(b["stream"], json!(true));
    assert_eq!(b["stream_options"]["include_usage"], json!(true));
    assert_eq!(
        b["messages"][0],
        json!({"role": "system", "content": "be brief"})
    );
    assert_eq!(b["model"], json!("test-model"));
}

#[test]
fn anthropic_stream_with_tool_use() {
    let s = Server::start();
    s.push(anthropic::stream_tool_use(
        &["Let me look."],
        &[("toolu_1", "read_file", r#"{"path":"src/a.rs"}"#)],
        Some((40, 9, 30)),
    ));
    let c = client(
        vec![endpoint("b", Kind::Anthropic, &s.url())],
        Arc::new(NoMeter),
    );
    let mut req = request(true);
    req.tools = vec![ToolDef {
        name: "read_file".into(),
        description: "reads a file".into(),
        parameters: json!({"type": "object", "properties": {"path": {"type": "string"}}}),
    }];
    let (r, events) = run_with(&c, &req);
    let out = r.expect("answer");
    assert_eq!(texts(&events), "Let me look.");
    assert_eq!(out.tool_calls.len(), 1);
    assert_eq!(out.tool_calls[0].name, "read_file");
    assert_eq!(out.tool_calls[0].arguments, json!({"path": "src/a.rs"}));
    assert_eq!(out.stop, StopReason::ToolUse);
    assert_eq!(out.usage.input_tokens, 70, "uncached + cache reads");
    assert_eq!((out.usage.output_tokens, out.usage.cached_tokens), (9, 30));
    let rec = s.last_request().expect("recorded");
    assert_eq!(rec.path, "/v1/messages");
    assert_eq!(rec.header("x-api-key"), Some(KEY));
    assert_eq!(rec.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(rec.body_json()["system"], json!("be brief"));
    assert_eq!(
        rec.body_json()["tools"][0]["input_schema"]["type"],
        json!("object")
    );
}

#[test]
fn non_streaming_replies_in_both_formats() {
    let s = Server::start();
    s.push(openai::tool_calls(
        None,
        &[("call_9", "grep", r#"{"pattern":"x"}"#)],
        Some((5, 2, 0)),
    ));
    s.push(anthropic::message("plain answer", Some((7, 3, 0))));
    let a = client(
        vec![endpoint("a", Kind::OpenAi, &s.url())],
        Arc::new(NoMeter),
    );
    let (r, _) = run_with(&a, &request(false));
    let out = r.expect("answer");
    assert_eq!(out.tool_calls[0].arguments, json!({"pattern": "x"}));
    assert_eq!(out.stop, StopReason::ToolUse);
    let b = client(
        vec![endpoint("b", Kind::Anthropic, &s.url())],
        Arc::new(NoMeter),
    );
    let (r, events) = run_with(&b, &request(false));
    assert_eq!(r.expect("answer").usage.input_tokens, 7);
    assert_eq!(texts(&events), "plain answer");
}

#[test]
fn rate_limited_then_ok_honours_retry_after() {
    let s = Server::start();
    s.push(openai::rate_limited(1));
    s.push(openai::stream(&["ok"], Some((3, 1, 0))));
    let rec = Arc::new(Recorder::default());
    let c = client(vec![endpoint("a", Kind::OpenAi, &s.url())], rec.clone());
    let t = Instant::now();
    let (r, _) = run_with(&c, &request(true));
    assert_eq!(r.expect("answer").text, "ok");
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        t.elapsed()
    );
    assert_eq!(s.request_count(), 2);
    assert_eq!(rec.outcomes(), ["a:http 429", "a:ok"]);
}

#[test]
fn retry_after_longer_than_allowed_falls_back_at_once() {
    let (s1, s2) = (Server::start(), Server::start());
    s1.push(openai::rate_limited(3600));
    s2.push(anthropic::stream(&["from b"], Some((3, 2, 0))));
    let c = client(
        vec![
            endpoint("a", Kind::OpenAi, &s1.url()),
            endpoint("b", Kind::Anthropic, &s2.url()),
        ],
        Arc::new(NoMeter),
    );
    let (r, _) = run_with(&c, &request(true));
    let out = r.expect("answer");
    assert_eq!((out.provider.as_str(), out.text.as_str()), ("b", "from b"));
    assert_eq!(s1.request_count(), 1);
    assert!(
        out.notes.iter().any(|n| n.contains("fell back")),
        "{:?}",
        out.notes
    );
}

#[test]
fn server_errors_are_retried_then_reported() {
    let s = Server::start();
    s.push(openai::error(500, "boom", "server_error", None));
    s.push(openai::error(503, "busy", "server_error", None));
    s.push(openai::stream(&["fine"], Some((3, 1, 0))));
    let c = client(
        vec![endpoint("a", Kind::OpenAi, &s.url())],
        Arc::new(NoMeter),
    );
    let (r, _) = run_with(&c, &request(true));
    assert_eq!(r.expect("answer").text, "fine");
    assert_eq!(s.request_count(), 3);

    // Three failures exhaust two retries; the error names the provider and the status.
    for _ in 0..3 {
        s.push(openai::error(502, "bad gateway", "server_error", None));
    }
    let (r, _) = run_with(&c, &request(true));
    let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("provider `a`") && msg.contains("HTTP 502"),
        "{msg}"
    );
    assert_eq!(s.request_count(), 6);
}

#[test]
fn client_errors_are_not_retried_and_never_show_the_key() {
    let s = Server::start();
    s.push(openai::error(
        401,
        "Incorrect API key provided",
        "invalid_request_error",
        None,
    ));
    let c = client(
        vec![endpoint("a", Kind::OpenAi, &s.url())],
        Arc::new(NoMeter),
    );
    let (r, _) = run_with(&c, &request(true));
    let e = r.expect_err("an error");
    let (display, debug) = (format!("{e:#}"), format!("{e:?}"));
    assert!(
        display.contains("HTTP 401") && display.contains("API key"),
        "{display}"
    );
    assert!(!display.contains(KEY) && !debug.contains(KEY));
    assert_eq!(s.request_count(), 1);

    s.push(openai::error(
        400,
        "context too long",
        "invalid_request_error",
        None,
    ));
    let (r, _) = run_with(&c, &request(true));
    assert!(matches!(r, Err(Error::Http { status: 400, .. })));
    assert_eq!(s.request_count(), 2);
}

#[test]
fn a_malformed_line_before_output_falls_back() {
    let (s1, s2) = (Server::start(), Server::start());
    // The role chunk, then a line that is not JSON: nothing was shown yet.
    s1.push(openai::stream(&["never"], None).insert_event(1, SseEvent::malformed()));
    s2.push(openai::stream(&["second"], Some((1, 1, 0))));
    let c = client(
        vec![
            endpoint("a", Kind::OpenAi, &s1.url()),
            endpoint("b", Kind::OpenAi, &s2.url()),
        ],
        Arc::new(NoMeter),
    );
    let (r, events) = run_with(&c, &request(true));
    assert_eq!(r.expect("answer").provider, "b");
    assert_eq!(texts(&events), "second");
    assert_eq!(s1.request_count(), 1, "a protocol error is not retried");
}

#[test]
fn a_reset_after_output_is_final_and_not_retried() {
    let s = Server::start();
    // Role chunk and two content chunks, then the connection drops.
    s.push(openai::stream(&["one ", "two ", "three"], Some((3, 3, 0))).reset_after(3));
    s.push(openai::stream(&["must not be used"], None));
    let rec = Arc::new(Recorder::default());
    let c = client(vec![endpoint("a", Kind::OpenAi, &s.url())], rec.clone());
    let (r, events) = run_with(&c, &request(true));
    assert_eq!(texts(&events), "one two ");
    let msg = match r {
        Err(e @ Error::Interrupted { .. }) => e.to_string(),
        other => panic!("expected Interrupted, got {other:?}"),
    };
    assert!(msg.contains("does not retry"), "{msg}");
    assert_eq!(msg.matches("provider `a`").count(), 1, "{msg}");
    assert_eq!(s.request_count(), 1);
    let rows = rec.rows.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "broken");
    assert!(
        rows[0].2.estimated && rows[0].2.output_tokens > 0,
        "{rows:?}"
    );
}

/// The same break when the caller showed nothing (`--json`, heal): nobody saw the first
/// answer, so it is retried like a break before output; the broken attempt is still recorded,
/// with what was read.
#[test]
fn a_reset_after_output_nobody_saw_is_retried() {
    let s = Server::start();
    s.push(openai::stream(&["one ", "two ", "three"], Some((3, 3, 0))).reset_after(3));
    s.push(openai::stream(&["whole"], Some((3, 1, 0))));
    let rec = Arc::new(Recorder::default());
    let c = client(vec![endpoint("a", Kind::OpenAi, &s.url())], rec.clone());
    let r = rt().block_on(c.run(&request(true), &Cancel::default(), &mut |_| false));
    let out = r.expect("answer");
    assert_eq!(out.text, "whole");
    // The broken attempt was paid: its cost comes with the answer.
    assert_eq!((out.cost_usd, out.retried_cost_usd), (0.01, 0.01));
    assert_eq!(s.request_count(), 2);
    let rows = rec.rows.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let outcomes: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(outcomes, ["broken", "ok"]);
    assert!(rows[0].2.output_tokens > 0, "{rows:?}");
}

/// A server that ignores `max_tokens` (64 here) and streams on: vibe stops reading a little
/// past it, records what it read, and says so.
#[test]
fn an_answer_far_past_max_tokens_is_cut() {
    let s = Server::start();
    let chunk = "lorem ipsum dolor sit amet consectetur ";
    let chunks: Vec<&str> = std::iter::repeat_n(chunk, 2000).collect();
    s.push(openai::stream(&chunks, Some((3, 99_999, 0))));
    let rec = Arc::new(Recorder::default());
    let c = client(vec![endpoint("a", Kind::OpenAi, &s.url())], rec.clone());
    let (r, _) = run_with(&c, &request(true));
    let out = r.expect("answer");
    assert_eq!(out.stop, StopReason::MaxTokens);
    let ceiling = 64 * 5 / 4 + 64;
    let count = vibe::context::tokens::Encoding::O200kBase.count(&out.text) as u64;
    assert!(count <= ceiling && count + 5 > ceiling, "{count}");
    assert!(
        out.usage.estimated && out.usage.output_tokens == count,
        "{:?}",
        out.usage
    );
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("sent more than the 64 tokens")),
        "{:?}",
        out.notes
    );
    assert_eq!(rec.rows.lock().expect("rows")[0].2.output_tokens, count);
}

/// The same in one piece (a million words in a single delta, or a whole body): what is
/// shown, kept and recorded is cut at the bound, not counted whole (it recorded $29.99
/// against a budget check for 100 tokens).
#[test]
fn an_answer_past_max_tokens_in_one_piece_is_cut_at_the_bound() {
    let huge = "word ".repeat(1_000_000);
    let ceiling = 64 * 5 / 4 + 64;
    let count = |t: &str| vibe::context::tokens::Encoding::O200kBase.count(t) as u64;
    for stream in [true, false] {
        let s = Server::start();
        s.push(if stream {
            openai::stream(&[huge.as_str()], None)
        } else {
            openai::completion(&huge, None)
        });
        let rec = Arc::new(Recorder::default());
        let c = client(vec![endpoint("a", Kind::OpenAi, &s.url())], rec.clone());
        let (r, events) = run_with(&c, &request(stream));
        let out = r.expect("answer");
        assert_eq!(out.stop, StopReason::MaxTokens);
        let n = count(&out.text);
        assert!(n <= ceiling && n + 5 > ceiling, "{stream}: {n}");
        assert_eq!(texts(&events), out.text, "what was shown is what was kept");
        let rows = rec.rows.lock().expect("rows");
        assert_eq!(rows.len(), 1);
        assert!(
            rows[0].2.output_tokens == n && rows[0].2.estimated,
            "{:?}",
            rows[0]
        );
    }
}

/// A server that sends keep-alives and nothing else (SSE comments, empty deltas, Anthropic
/// pings) is waited on for four times the timeout, then given up on, and not asked again; it
/// used to keep vibe waiting for ever. Keep-alives that end in an answer within that are fine
/// (Anthropic pings while it buffers a tool's input).
#[test]
fn keep_alives_are_waited_on_for_a_while_not_for_ever() {
    let mut p = policy();
    p.retries = 2;
    // A server of its own for each stream: the server sends a reply to its end.
    let started = |kind: Kind, reply: Reply| {
        let s = Server::start();
        let mut ep = endpoint("a", kind, &s.url());
        ep.first_byte_timeout = Duration::from_millis(300);
        ep.idle_timeout = Duration::from_millis(300);
        s.push(reply);
        let c = Client::new(vec![ep], p.clone(), Arc::new(NoMeter)).expect("client");
        (s, c)
    };
    // Ten seconds of keep-alives, one every 100 ms.
    let pings =
        |e: SseEvent| Reply::sse(std::iter::repeat_n(e, 100)).gap(Duration::from_millis(100));
    let gave_up = |r: Result<vibe::llm::Outcome, Error>, t: Instant, s: &Server| {
        let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("keep-alives from the server and nothing else"),
            "{msg}"
        );
        // Past the timeout (300 ms), within four of it and then some (not the ten seconds).
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(1000) && waited < Duration::from_secs(6),
            "{waited:?}"
        );
        assert_eq!(s.request_count(), 1, "not asked again");
    };
    for keep_alive in [
        SseEvent::raw(": keep-alive\n\n"),
        openai::chunk(json!({"content": ""}), None, true),
        openai::chunk(json!({"role": "assistant"}), None, false),
    ] {
        let (s, c) = started(Kind::OpenAi, pings(keep_alive));
        let t = Instant::now();
        let (r, _) = run_with(&c, &request(true));
        gave_up(r, t, &s);
    }
    // After output.
    let mut keep = openai::stream(&["partial"], None).truncate(2);
    for _ in 0..100 {
        keep = keep.event(SseEvent::raw(": ka\n\n"));
    }
    let (s, c) = started(Kind::OpenAi, keep.gap(Duration::from_millis(100)));
    let t = Instant::now();
    let (r, events) = run_with(&c, &request(true));
    assert_eq!(texts(&events), "partial");
    gave_up(r, t, &s);
    // Anthropic's pings.
    let mut events = vec![anthropic::message_start(Some((5, 1, 0)))];
    events.extend(std::iter::repeat_n(anthropic::ping(), 100));
    let (s, c) = started(
        Kind::Anthropic,
        Reply::sse(events).gap(Duration::from_millis(100)),
    );
    let t = Instant::now();
    let (r, _) = run_with(&c, &request(true));
    gave_up(r, t, &s);
    // Pings for 0.6 s (twice the timeout), then the answer: taken.
    let whole = anthropic::stream(&["after the pings"], Some((5, 3, 0)));
    let mut events = whole.events();
    let tail = events.split_off(1);
    events.extend(std::iter::repeat_n(anthropic::ping(), 6));
    events.extend(tail);
    let (_s, c) = started(
        Kind::Anthropic,
        Reply::sse(events).gap(Duration::from_millis(100)),
    );
    let (r, _) = run_with(&c, &request(true));
    assert_eq!(r.expect("answer").text, "after the pings");
    // One keep-alive (OpenAI's role chunk; Anthropic's ping after the block starts), then a
    // connection gone silent: a plain timeout, retried (it was taken for a server busy with
    // keep-alives, and not asked again).
    for kind in [Kind::OpenAi, Kind::Anthropic] {
        let first = match kind {
            Kind::OpenAi => openai::chunk(json!({"role": "assistant"}), None, false),
            Kind::Anthropic => anthropic::ping(),
        };
        let (s, c) = started(
            kind,
            Reply::sse([first]).stall_after(1, Duration::from_secs(5)),
        );
        let answer = match kind {
            Kind::OpenAi => openai::stream(&["second try"], Some((3, 2, 0))),
            Kind::Anthropic => anthropic::stream(&["second try"], Some((3, 2, 0))),
        };
        s.push(answer);
        let (r, _) = run_with(&c, &request(true));
        assert_eq!(r.expect("answer").text, "second try");
        assert_eq!(s.request_count(), 2);
    }
    // After the stop reason, keep-alives do not stretch the short wait for the end marker.
    let whole = openai::stream(&["done"], Some((3, 1, 0)));
    let mut events = whole.events();
    events.pop(); // [DONE]
    events.extend(std::iter::repeat_n(SseEvent::raw(": ka\n\n"), 100));
    let (_s, c) = started(
        Kind::OpenAi,
        Reply::sse(events).gap(Duration::from_millis(100)),
    );
    let t = Instant::now();
    let (r, _) = run_with(&c, &request(true));
    assert_eq!(r.expect("answer").text, "done");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

/// A whole answer whose stream never ends: the model said it stopped (and the usage came),
/// and the server keeps the connection open without `[DONE]`. The answer is taken, once; it
/// used to time out and be asked for again, each try billed.
#[test]
fn a_finished_answer_without_its_end_marker_is_taken() {
    let s = Server::start();
    let mut ep = endpoint("a", Kind::OpenAi, &s.url());
    ep.idle_timeout = Duration::from_millis(800);
    let rec = Arc::new(Recorder::default());
    let c = Client::new(vec![ep], policy(), rec.clone()).expect("client");
    let reply = openai::stream(&["all ", "here"], Some((5, 2, 0)));
    let n = reply.events().len();
    s.push(
        reply
            .truncate(n - 1)
            .stall_after(n - 1, Duration::from_secs(10)),
    );
    let (r, _) = run_with(&c, &request(true));
    let out = r.expect("answer");
    assert_eq!(out.text, "all here");
    assert_eq!((out.usage.output_tokens, out.usage.estimated), (2, false));
    assert_eq!(s.request_count(), 1);
    assert_eq!(rec.outcomes(), ["a:ok"]);
    // Anthropic: `message_delta` with its stop reason, then a clean close without
    // `message_stop`.
    let s = Server::start();
    let c = client(
        vec![endpoint("b", Kind::Anthropic, &s.url())],
        Arc::new(NoMeter),
    );
    let reply = anthropic::stream(&["done"], Some((5, 1, 0)));
    let n = reply.events().len();
    s.push(reply.truncate(n - 1));
    let (r, _) = run_with(&c, &request(true));
    assert_eq!(r.expect("answer").text, "done");
    assert_eq!(s.request_count(), 1);
}

/// A usage with a count missing or not a count is not taken as exact: the local count is
/// recorded, marked estimated.
#[test]
fn partial_or_invalid_usage_is_counted_locally() {
    let count = |t: &str| vibe::context::tokens::Encoding::O200kBase.count(t) as u64;
    let s = Server::start();
    let c = client(
        vec![endpoint("a", Kind::OpenAi, &s.url())],
        Arc::new(NoMeter),
    );
    for usage in [
        json!({"prompt_tokens": 480}),
        json!({"prompt_tokens": 480, "completion_tokens": -1}),
    ] {
        let reply = openai::stream(&["four words of text"], None);
        let n = reply.events().len();
        let usage_chunk = SseEvent::json(&json!({"choices": [], "usage": usage}));
        s.push(reply.insert_event(n - 1, usage_chunk));
        let (r, _) = run_with(&c, &request(true));
        let u = r.expect("answer").usage;
        assert!(u.estimated, "{usage}: {u:?}");
        assert_eq!(u.output_tokens, count("four words of text"), "{usage}");
    }
    let s = Server::start();
    let c = client(
        vec![endpoint("b", Kind::Anthropic, &s.url())],
        Arc::new(NoMeter),
    );
    let delta = |usage: Value| {
        anthropic::event(
            "message_delta",
            json!({"delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": usage}),
        )
    };
    for (start, end) in [
        // message_start's output_tokens (1) is the count so far, not the total.
        (json!({"input_tokens": 480, "output_tokens": 1}), json!({})),
        (
            json!({"input_tokens": -5, "output_tokens": 1}),
            json!({"output_tokens": 14}),
        ),
        (
            json!({"input_tokens": "480", "output_tokens": 1}),
            json!({"output_tokens": 14}),
        ),
    ] {
        let events = vec![
            anthropic::event(
                "message_start",
                json!({"message": {"id": "msg_1", "type": "message", "role": "assistant",
                    "content": [], "model": "m", "usage": start}}),
            ),
            anthropic::event(
                "content_block_start",
                json!({"index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            anthropic::event(
                "content_block_delta",
                json!({"index": 0, "delta": {"type": "text_delta", "text": "four words of text"}}),
            ),
            anthropic::event("content_block_stop", json!({"index": 0})),
            delta(end.clone()),
            anthropic::event("message_stop", json!({})),
        ];
        s.push(Reply::sse(events));
        let (r, _) = run_with(&c, &request(true));
        let u = r.expect("answer").usage;
        assert!(u.estimated, "{start} {end}: {u:?}");
        assert_eq!(
            u.output_tokens,
            count("four words of text"),
            "{start} {end}"
        );
    }
}

/// `Retry-After` longer than a `Duration` holds is as long as can be: vibe moves on, it used
/// to retry at once.
#[test]
fn a_retry_after_past_any_duration_moves_on() {
    let (s1, s2) = (Server::start(), Server::start());
    for v in ["1e30", "99999999999999999999"] {
        s1.push(openai::rate_limited(1).header("Retry-After", v));
        s2.push(openai::stream(&["from b"], Some((3, 2, 0))));
    }
    let c = client(
        vec![
            endpoint("a", Kind::OpenAi, &s1.url()),
            endpoint("b", Kind::OpenAi, &s2.url()),
        ],
        Arc::new(NoMeter),
    );
    for n in 1..=2 {
        let (r, _) = run_with(&c, &request(true));
        assert_eq!(r.expect("answer").provider, "b");
        assert_eq!(s1.request_count(), n);
    }
}

/// A line without end, or a reply too large, is a protocol error, not buffered until memory
/// runs out.
#[test]
fn an_endless_line_is_a_protocol_error() {
    let s = Server::start();
    let mut p = policy();
    p.retries = 0;
    let c = Client::new(
        vec![endpoint("a", Kind::OpenAi, &s.url())],
        p,
        Arc::new(NoMeter),
    )
    .expect("client");
    let piece = "a".repeat(1 << 20);
    let mut reply = Reply::sse([SseEvent::raw("data: ")]);
    for _ in 0..20 {
        reply = reply.event(SseEvent::raw(piece.clone()));
    }
    s.push(reply);
    let (r, _) = run_with(&c, &request(true));
    let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("longer than 16 MiB"), "{msg}");
}

#[test]
fn a_reset_before_output_is_retried() {
    let s = Server::start();
    s.push(openai::stream(&["lost"], None).reset_after(1));
    s.push(openai::stream(&["kept"], Some((2, 1, 0))));
    let c = client(
        vec![endpoint("a", Kind::OpenAi, &s.url())],
        Arc::new(NoMeter),
    );
    let (r, events) = run_with(&c, &request(true));
    assert_eq!(r.expect("answer").text, "kept");
    assert_eq!(texts(&events), "kept");
    assert_eq!(s.request_count(), 2);
}

#[test]
fn stalls_hit_the_first_byte_and_idle_timeouts() {
    let s = Server::start();
    let mut ep = endpoint("a", Kind::OpenAi, &s.url());
    ep.first_byte_timeout = Duration::from_millis(300);
    ep.idle_timeout = Duration::from_millis(300);
    let mut p = policy();
    p.retries = 0;
    let rec = Arc::new(Recorder::default());
    let c = Client::new(vec![ep], p, rec.clone()).expect("client");
    // No headers at all.
    s.push(Reply::hang(Duration::from_secs(5)));
    let (r, _) = run_with(&c, &request(true));
    let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("timed out") && msg.contains("first byte"),
        "{msg}"
    );
    // The prompt was sent, and may be billed: it is recorded (it was 0 tokens).
    let rows = rec.rows.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "timeout");
    assert!(
        rows[0].2.input_tokens > 0 && rows[0].2.estimated,
        "{:?}",
        rows[0].2
    );
    // Output, then silence: the idle timeout, and no retry once text was shown.
    s.push(openai::stream(&["partial", "never"], None).stall_after(2, Duration::from_secs(5)));
    let (r, events) = run_with(&c, &request(true));
    assert_eq!(texts(&events), "partial");
    let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("waiting for more of the stream"), "{msg}");
}

#[test]
fn a_reply_without_usage_is_counted_locally() {
    let s = Server::start();
    s.push(anthropic::stream(&["counted ", "here"], None));
    s.push(openai::completion("also counted", None));
    let c = client(
        vec![endpoint("b", Kind::Anthropic, &s.url())],
        Arc::new(NoMeter),
    );
    let (r, _) = run_with(&c, &request(true));
    let u = r.expect("answer").usage;
    let count = |t: &str| vibe::context::tokens::Encoding::O200kBase.count(t) as u64;
    assert!(u.estimated && u.input_tokens > 0, "{u:?}");
    assert_eq!(u.output_tokens, count("counted here"));
    let c = client(
        vec![endpoint("a", Kind::OpenAi, &s.url())],
        Arc::new(NoMeter),
    );
    let (r, _) = run_with(&c, &request(false));
    let u = r.expect("answer").usage;
    assert!(u.estimated, "{u:?}");
    assert_eq!(u.output_tokens, count("also counted"));
}

#[test]
fn an_unreachable_provider_falls_back_and_the_breaker_opens() {
    let dead = crate::util::DEAD_URL.to_string();
    let s = Server::start();
    let rec = Arc::new(Recorder::default());
    let mut p = policy();
    p.retries = 0;
    p.breaker_failures = 2;
    let c = Client::new(
        vec![
            endpoint("dead", Kind::OpenAi, &dead),
            endpoint("live", Kind::OpenAi, &s.url()),
        ],
        p,
        rec.clone(),
    )
    .expect("client");
    for i in 0..3 {
        s.push(openai::stream(&["hi"], Some((1, 1, 0))));
        let (r, _) = run_with(&c, &request(true));
        let out = r.expect("fallback answers");
        assert_eq!(out.provider, "live");
        if i == 2 {
            assert!(
                out.notes.iter().any(|n| n.contains("circuit open")),
                "{:?}",
                out.notes
            );
        }
    }
    // Two attempts at the dead provider, then the breaker skips it.
    assert_eq!(
        rec.outcomes(),
        [
            "dead:unreachable",
            "live:ok",
            "dead:unreachable",
            "live:ok",
            "live:ok"
        ]
    );
    // Alone, the dead provider's error says how to configure another.
    let c = client(
        vec![endpoint("dead", Kind::OpenAi, &dead)],
        Arc::new(NoMeter),
    );
    let msg = run_with(&c, &request(true))
        .0
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("cannot connect") && msg.contains("--model"),
        "{msg}"
    );
}

#[test]
fn cancel_stops_a_stalled_stream_and_is_recorded() {
    let s = Server::start();
    s.push(openai::stream(&["start", "never"], None).stall_after(2, Duration::from_secs(10)));
    let rec = Arc::new(Recorder::default());
    let c = client(vec![endpoint("a", Kind::OpenAi, &s.url())], rec.clone());
    let cancel = Cancel::default();
    let t = Instant::now();
    let r = rt().block_on(async {
        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            c2.cancel();
        });
        c.run(&request(true), &cancel, &mut |_| true).await
    });
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(rec.outcomes(), ["a:cancelled"]);
}

#[test]
fn a_refusing_meter_stops_the_request_before_it_is_sent() {
    let s = Server::start();
    let rec = Arc::new(Recorder {
        refuse: true,
        ..Default::default()
    });
    let c = client(vec![endpoint("a", Kind::OpenAi, &s.url())], rec.clone());
    let (r, _) = run_with(&c, &request(true));
    let msg = match r {
        Err(Error::Refused(e)) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(msg.contains("over budget"), "{msg}");
    assert_eq!(s.request_count(), 0);
    assert!(rec.outcomes().is_empty());
}

#[test]
fn an_error_event_mid_stream_before_output_is_retried() {
    let s = Server::start();
    s.push(anthropic::overloaded_stream(&[], None));
    s.push(anthropic::stream(&["recovered"], Some((2, 1, 0))));
    let c = client(
        vec![endpoint("b", Kind::Anthropic, &s.url())],
        Arc::new(NoMeter),
    );
    // The provider's own error event, before any output: retried like a 5xx.
    let (r, _) = run_with(&c, &request(true));
    assert_eq!(r.expect("answer").text, "recovered");
    assert_eq!(s.request_count(), 2);
}

#[test]
fn an_answer_that_loops_is_not_read_to_the_end() {
    // 10 lines, 372 bytes: three copies make the kilobyte a loop must have.
    let block = [
        "src/greeting.py\n",
        "<<<<<<< SEARCH\n",
        "def greet(name: str, greeting: str = 'Hello', punctuation: str = '!') -> str:\n",
        "    \"\"\"Returns a greeting for `name`, with the given greeting and punctuation.\"\"\"\n",
        "    if not name:\n",
        "        raise ValueError('greet() needs a name to greet, got an empty string')\n",
        "    return greeting + ', ' + name + punctuation\n",
        "print(greet('world')\n",
        "```\n",
        "\n",
    ];
    let mut chunks = vec!["Here is the fix:\n"];
    for _ in 0..10 {
        chunks.extend(block);
    }
    // After four copies the server goes silent: a client that read on would time out.
    let stalled = 1 + 1 + 4 * block.len();
    let s = Server::start();
    s.push(
        openai::stream(&chunks, Some((50, 400, 0))).stall_after(stalled, Duration::from_secs(10)),
    );
    let rec = Arc::new(Recorder::default());
    let c = client(vec![endpoint("a", Kind::OpenAi, &s.url())], rec.clone());
    let t = Instant::now();
    // Room for the copies: a loop, not `max_tokens`, ends this answer.
    let mut req = request(true);
    req.max_tokens = 2048;
    let (r, events) = run_with(&c, &req);
    let out = r.expect("answer");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert_eq!(out.stop, StopReason::Repeating);
    let copy = block.concat();
    assert_eq!(
        out.text,
        format!("Here is the fix:\n{copy}{copy}"),
        "two copies are kept"
    );
    let read = format!("Here is the fix:\n{}", copy.repeat(3));
    assert_eq!(texts(&events), read, "read up to the third copy");
    let count = |t: &str| vibe::context::tokens::Encoding::O200kBase.count(t) as u64;
    assert!(out.usage.estimated, "{:?}", out.usage);
    assert_eq!(
        out.usage.output_tokens,
        count(&read),
        "what was read is counted"
    );
    assert_eq!(rec.outcomes(), ["a:ok"]);
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("the same 10 lines 3 times")),
        "{:?}",
        out.notes
    );
    // With llm.stop_repeats = 0 the whole answer is read.
    s.push(openai::stream(&chunks, Some((50, 400, 0))));
    let mut p = policy();
    p.stop_repeats = 0;
    let c = Client::new(
        vec![endpoint("a", Kind::OpenAi, &s.url())],
        p,
        Arc::new(NoMeter),
    )
    .expect("client");
    let (r, _) = run_with(&c, &req);
    let out = r.expect("answer");
    assert_eq!((out.stop, out.usage.output_tokens), (StopReason::End, 400));
    assert_eq!(out.text, chunks.concat());
    assert!(out.notes.is_empty(), "{:?}", out.notes);
}

/// A provider without its key falls back, and the note says which variable or command: "error"
/// alone hid a typo in `api_key_env` while every run went to the fallback.
#[test]
fn a_missing_key_says_which_when_falling_back() {
    let s = Server::start();
    s.push(openai::stream(&["from b"], Some((3, 2, 0))));
    s.push(openai::stream(&["from b"], Some((3, 2, 0))));
    let mut no_var = endpoint("a", Kind::OpenAi, &s.url());
    no_var.key = KeySource::Env("VIBE_TEST_UNSET_KEY_3f9a".into());
    let mut bad_cmd = endpoint("a", Kind::OpenAi, &s.url());
    bad_cmd.key = KeySource::Command("exit 3".into());
    for (first, says) in [
        (
            no_var,
            "no API key (VIBE_TEST_UNSET_KEY_3f9a is not set); fell back",
        ),
        (bad_cmd, "the key command failed"),
    ] {
        let c = client(
            vec![first, endpoint("b", Kind::OpenAi, &s.url())],
            Arc::new(NoMeter),
        );
        let (r, _) = run_with(&c, &request(true));
        let out = r.expect("answer");
        assert_eq!(out.provider, "b");
        assert!(
            out.notes.iter().any(|n| n.contains(says)),
            "{:?}",
            out.notes
        );
    }
}
