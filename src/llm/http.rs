//! One attempt against one endpoint: build the HTTP request, wait for the reply within the
//! timeouts, turn an error status into a typed error, and decode the body into events.

use std::collections::VecDeque;
use std::time::Duration;

use super::providers::{Endpoint, Kind};
use super::sse;
use super::{Error, Event, Request, Secret, StopReason, TimeoutPhase, Usage, anthropic, openai};
use crate::context::tokens::Encoding;

/// Why a reply could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not what the format sends (a line that is not JSON, a delta for no block, ...).
    Malformed(String),
    /// The server reported an error inside a successful reply (an `error` event).
    Server(String),
}

/// Decodes one wire format.
pub trait Decoder: Send {
    /// One SSE event of a stream (its `event:` name and `data:`); the events it completes.
    fn event(&mut self, name: Option<&str>, data: &str) -> Result<Vec<Event>, DecodeError>;
    /// A whole non-streamed reply.
    fn body(&mut self, text: &str) -> Result<Vec<Event>, DecodeError>;
    /// The end of the reply: events still pending, the stop reason and usage if the server
    /// gave them, and whether the reply was complete (the format's end marker was seen).
    fn finish(&mut self) -> (Vec<Event>, Option<StopReason>, Option<Usage>, bool);
    /// Whether the last event moved the reply on: a keep-alive (Anthropic's `ping`, an
    /// OpenAI chunk with an empty delta) does not, and does not hold off the idle timeout.
    fn moved(&self) -> bool;
    /// Whether the model said it stopped (a stop reason): what may still come is usage and
    /// the end marker.
    fn stopped(&self) -> bool;
}

/// The most a reply that is not streamed may hold; past it the reply is a protocol error.
const MAX_BODY_BYTES: usize = 64 << 20;
/// The most of an error reply that is read (its message is shown in part anyway).
const MAX_SMALL_BODY_BYTES: usize = 1 << 20;
/// `at` + `d`, or a time too far to matter when that is past what an `Instant` holds (a
/// timeout of 10¹⁸ s is accepted by the config).
fn later_by(at: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    at.checked_add(d)
        .unwrap_or_else(|| at + Duration::from_secs(100 * 365 * 86_400))
}

/// How many times its timeout a stream may wait on keep-alives alone.
const KEEP_ALIVE_WAITS: u32 = 4;
/// How long a stream may stay open once the model said it stopped (for its usage and end
/// marker) before the answer is taken as it is.
const AFTER_STOP: Duration = Duration::from_secs(10);

/// A body read up to `cap` bytes, as text (invalid UTF-8 replaced); `None` past the cap.
async fn capped_text(
    resp: &mut reqwest::Response,
    cap: usize,
) -> Result<Option<String>, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(c) = resp.chunk().await? {
        if bytes.len() + c.len() > cap {
            return Ok(None);
        }
        bytes.extend_from_slice(&c);
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// A small body (an error reply) as [`capped_text`] reads it: "" when it is larger than
/// `MAX_SMALL_BODY_BYTES`, breaks, or does not come within `wait` (the status says enough).
async fn small_text(mut resp: reqwest::Response, wait: Duration) -> String {
    tokio::time::timeout(wait, capped_text(&mut resp, MAX_SMALL_BODY_BYTES))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .unwrap_or_default()
}

fn decoder(kind: Kind) -> Box<dyn Decoder> {
    match kind {
        Kind::OpenAi => Box::<openai::OpenAiDecoder>::default(),
        Kind::Anthropic => Box::<anthropic::AnthropicDecoder>::default(),
    }
}

/// An HTTP client for one endpoint (its connect timeout is the client's).
pub fn client(endpoint: &Endpoint) -> Result<reqwest::Client, Error> {
    install_crypto();
    reqwest::Client::builder()
        .connect_timeout(endpoint.connect_timeout)
        .user_agent(concat!("vibe/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Config(format!("cannot build an HTTP client: {e}")))
}

/// rustls needs a crypto provider chosen once per process (vibe builds it with ring only).
fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest error, without the URL's query (no key ever goes there, but proxies may add
/// credentials to URLs) and with its causes, which say what actually went wrong.
fn describe(e: reqwest::Error) -> String {
    crate::error_chain(&e.without_url())
}

/// `Retry-After` as seconds, or as an HTTP date (IMF-fixdate), relative to now.
pub fn retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(s) = v.parse::<f64>() {
        // Longer than a Duration holds (`1e30`): as long as can be, so that vibe moves on
        // rather than retrying at once.
        return Some(Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX));
    }
    let at = parse_http_date(v)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` → seconds since the epoch.
fn parse_http_date(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| x == month)? as i64 + 1;
    let (d, y): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time.split(':').filter_map(|x| x.parse().ok()).collect();
    let [h, mi, se] = hms.as_slice() else {
        return None;
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    u64::try_from(days * 86400 + h * 3600 + mi * 60 + se).ok()
}

/// The models a provider lists (`GET {base_url}/models`: `{"data": [{"id": ...}]}` in both
/// wire formats; Ollama's OpenAI-compatible endpoint lists the pulled models the same way).
pub async fn list_models(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    key: Option<&Secret>,
) -> Result<Vec<String>, Error> {
    let provider = endpoint.provider.clone();
    let url = format!("{}/models", endpoint.base_url);
    let rb = authorized(http.get(&url), endpoint, key);
    let resp = match tokio::time::timeout(endpoint.first_byte_timeout, rb.send()).await {
        Err(_) => {
            return Err(Error::Timeout {
                provider,
                phase: TimeoutPhase::FirstByte,
                after: endpoint.first_byte_timeout,
            });
        }
        Ok(Err(e)) => {
            return Err(Error::Connect {
                provider,
                url,
                detail: describe(e),
            });
        }
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    if !status.is_success() {
        let text = small_text(resp, endpoint.idle_timeout).await;
        return Err(Error::Http {
            provider,
            status: status.as_u16(),
            message: openai::error_message(&text),
            retry_after: None,
        });
    }
    // OpenRouter's list is megabytes and growing: read whole, up to a bound that says so.
    let mut resp = resp;
    let read = tokio::time::timeout(
        endpoint.idle_timeout,
        capped_text(&mut resp, MAX_BODY_BYTES),
    );
    let text = match read.await {
        Ok(Ok(Some(t))) => t,
        Ok(Ok(None)) => {
            return Err(Error::Protocol {
                provider,
                kind: endpoint.kind.name(),
                detail: format!("the model list is larger than {} MiB", MAX_BODY_BYTES >> 20),
            });
        }
        Ok(Err(e)) => {
            return Err(Error::Broken {
                provider,
                detail: describe(e),
            });
        }
        Err(_) => {
            return Err(Error::Timeout {
                provider,
                phase: TimeoutPhase::Idle,
                after: endpoint.idle_timeout,
            });
        }
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Protocol {
        provider: provider.clone(),
        kind: endpoint.kind.name(),
        detail: format!("the model list is not JSON ({e})"),
    })?;
    // A 200 whose JSON holds no list (another program on the port, a web app's health
    // answer) is no model server's answer.
    let Some(list) = v["data"].as_array() else {
        return Err(Error::Protocol {
            provider,
            kind: endpoint.kind.name(),
            detail: "the answer to GET /models holds no `data` list of models".into(),
        });
    };
    Ok(list
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect())
}

/// The key, the API version header and the configured extra headers of a request.
fn authorized(
    mut rb: reqwest::RequestBuilder,
    endpoint: &Endpoint,
    key: Option<&Secret>,
) -> reqwest::RequestBuilder {
    match (endpoint.kind, key) {
        (Kind::OpenAi, Some(k)) => rb = rb.bearer_auth(k.expose()),
        (Kind::Anthropic, Some(k)) => rb = rb.header("x-api-key", k.expose()),
        _ => {}
    }
    if endpoint.kind == Kind::Anthropic {
        rb = rb.header("anthropic-version", anthropic::VERSION);
    }
    for (k, v) in &endpoint.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    rb
}

/// Sends `req` (its prompt counted as `prompt_tokens`, for a local estimate of usage) with
/// `key` and waits for the reply's headers.
pub async fn open(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    req: &Request,
    key: Option<&Secret>,
    prompt_tokens: u64,
) -> Result<EventStream, Error> {
    let provider = endpoint.provider.clone();
    let (url, body) = match endpoint.kind {
        Kind::OpenAi => (
            format!("{}/chat/completions", endpoint.base_url),
            openai::body(req, endpoint.wants_max_completion_tokens()),
        ),
        Kind::Anthropic => (
            format!("{}/messages", endpoint.base_url),
            anthropic::body(req),
        ),
    };
    let rb = authorized(http.post(&url).json(&body), endpoint, key);
    let sent = tokio::time::timeout(endpoint.first_byte_timeout, rb.send()).await;
    let resp = match sent {
        Err(_) => {
            return Err(Error::Timeout {
                provider,
                phase: TimeoutPhase::FirstByte,
                after: endpoint.first_byte_timeout,
            });
        }
        Ok(Err(e)) if e.is_connect() || (e.is_timeout() && !e.is_body()) => {
            if e.is_timeout() {
                return Err(Error::Timeout {
                    provider,
                    phase: TimeoutPhase::Connect,
                    after: endpoint.connect_timeout,
                });
            }
            return Err(Error::Connect {
                provider,
                url,
                detail: describe(e),
            });
        }
        Ok(Err(e)) => {
            return Err(Error::Broken {
                provider,
                detail: describe(e),
            });
        }
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    if !status.is_success() {
        let retry = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after);
        let text = small_text(resp, endpoint.idle_timeout).await;
        let message = match endpoint.kind {
            Kind::OpenAi => openai::error_message(&text),
            Kind::Anthropic => anthropic::error_message(&text),
        };
        return Err(Error::Http {
            provider,
            status: status.as_u16(),
            message: if message.is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                message
            },
            retry_after: retry,
        });
    }
    let streaming = req.stream
        && resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/event-stream"));
    Ok(EventStream {
        provider,
        kind: endpoint.kind,
        body: Some(resp),
        streaming,
        sse: sse::Parser::new(),
        decoder: decoder(endpoint.kind),
        queue: VecDeque::new(),
        first_chunk: true,
        deadline: None,
        progress_at: tokio::time::Instant::now(),
        alive_at: tokio::time::Instant::now(),
        first_byte_timeout: endpoint.first_byte_timeout,
        idle_timeout: endpoint.idle_timeout,
        prompt_tokens,
        encoding: Encoding::for_model(&req.model),
        output: String::new(),
        ended: false,
    })
}

/// The events of one reply, pulled with [`EventStream::next`]; the last is
/// [`Event::Finished`], with the server's usage or, when it gave none, a local count marked
/// estimated.
pub struct EventStream {
    provider: String,
    kind: Kind,
    body: Option<reqwest::Response>,
    streaming: bool,
    sse: sse::Parser,
    decoder: Box<dyn Decoder>,
    queue: VecDeque<Event>,
    /// No event has moved the reply on yet (the first byte timeout applies until one does).
    first_chunk: bool,
    /// When the current wait for the reply to move on ends: keep-alives do not put it off.
    deadline: Option<tokio::time::Instant>,
    /// When the reply last moved on (or the headers came).
    progress_at: tokio::time::Instant,
    /// When the last keep-alive came (keep-alives came since the last progress when this is
    /// later than `progress_at`).
    alive_at: tokio::time::Instant,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
    prompt_tokens: u64,
    encoding: Encoding,
    /// Text and tool calls so far, for a local count of output tokens.
    output: String,
    ended: bool,
}

impl EventStream {
    fn protocol(&self, e: DecodeError) -> Error {
        match e {
            DecodeError::Malformed(detail) => Error::Protocol {
                provider: self.provider.clone(),
                kind: self.kind.name(),
                detail,
            },
            DecodeError::Server(detail) => Error::Broken {
                provider: self.provider.clone(),
                detail,
            },
        }
    }

    /// The next event; `Ok(None)` after [`Event::Finished`].
    pub async fn next(&mut self) -> Result<Option<Event>, Error> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                e.append_output(&mut self.output);
                return Ok(Some(e));
            }
            if self.ended {
                return Ok(None);
            }
            if self.body.is_none() {
                self.end()?;
                continue;
            }
            if !self.streaming {
                let Some(mut resp) = self.body.take() else {
                    continue;
                };
                let text =
                    tokio::time::timeout(self.idle_timeout, capped_text(&mut resp, MAX_BODY_BYTES));
                let text = match text.await {
                    Err(_) => return Err(self.timeout(TimeoutPhase::Idle)),
                    Ok(Err(e)) => {
                        return Err(Error::Broken {
                            provider: self.provider.clone(),
                            detail: describe(e),
                        });
                    }
                    Ok(Ok(None)) => {
                        return Err(self.protocol(DecodeError::Malformed(format!(
                            "the reply is larger than {} MiB",
                            MAX_BODY_BYTES >> 20
                        ))));
                    }
                    Ok(Ok(Some(t))) => t,
                };
                let events = self.decoder.body(&text).map_err(|d| self.protocol(d))?;
                self.queue.extend(events);
                continue;
            }
            let Some(resp) = self.body.as_mut() else {
                continue;
            };
            let (wait, phase) = if self.first_chunk {
                (self.first_byte_timeout, TimeoutPhase::FirstByte)
            } else if self.decoder.stopped() {
                (self.idle_timeout.min(AFTER_STOP), TimeoutPhase::Idle)
            } else {
                (self.idle_timeout, TimeoutPhase::Idle)
            };
            let deadline = *self
                .deadline
                .get_or_insert_with(|| later_by(tokio::time::Instant::now(), wait));
            let chunk = match tokio::time::timeout_at(deadline, resp.chunk()).await {
                // The model said it stopped and the server keeps the connection open without
                // its end marker: the answer is whole (its usage is counted if it never came).
                Err(_) if self.decoder.stopped() => {
                    self.body = None;
                    continue;
                }
                // Keep-alives came until the end of the wait (not one long before it: a role
                // chunk, then a connection gone dead, is a plain timeout, retried).
                Err(_)
                    if self.alive_at > self.progress_at
                        && later_by(self.alive_at, wait) > deadline =>
                {
                    return Err(Error::Timeout {
                        provider: self.provider.clone(),
                        phase: TimeoutPhase::KeepAlive,
                        after: self.progress_at.elapsed(),
                    });
                }
                Err(_) => return Err(self.timeout(phase)),
                Ok(Err(e)) => {
                    return Err(Error::Broken {
                        provider: self.provider.clone(),
                        detail: describe(e),
                    });
                }
                Ok(Ok(c)) => c,
            };
            match chunk {
                Some(bytes) => {
                    let mut moved = false;
                    for ev in self.sse.feed(&bytes) {
                        let events = self
                            .decoder
                            .event(ev.event.as_deref(), &ev.data)
                            .map_err(|d| self.protocol(d))?;
                        moved |= self.decoder.moved();
                        self.queue.extend(events);
                    }
                    if self.sse.too_long() {
                        return Err(self.protocol(DecodeError::Malformed(format!(
                            "a stream event is longer than {} MiB",
                            sse::MAX_EVENT_BYTES >> 20
                        ))));
                    }
                    if moved {
                        self.first_chunk = false;
                        self.deadline = None;
                        self.progress_at = tokio::time::Instant::now();
                    } else if !self.decoder.stopped() {
                        // Keep-alives (a server's comments while a model thinks, pings while
                        // Anthropic buffers a tool's input): the wait goes on, up to
                        // KEEP_ALIVE_WAITS times the timeout in all; a server that sends
                        // nothing else kept vibe waiting for ever. (After the stop reason the
                        // short wait for the end stays as it is.)
                        let now = tokio::time::Instant::now();
                        self.alive_at = now;
                        let cap = later_by(self.progress_at, wait.saturating_mul(KEEP_ALIVE_WAITS));
                        let later = later_by(now, wait).min(cap);
                        self.deadline = Some(later.max(deadline));
                    }
                }
                None => {
                    if let Some(ev) = self.sse.finish() {
                        let events = self
                            .decoder
                            .event(ev.event.as_deref(), &ev.data)
                            .map_err(|d| self.protocol(d))?;
                        self.queue.extend(events);
                    }
                    self.body = None;
                }
            }
        }
    }

    fn timeout(&self, phase: TimeoutPhase) -> Error {
        Error::Timeout {
            provider: self.provider.clone(),
            phase,
            after: match phase {
                TimeoutPhase::Idle => self.idle_timeout,
                _ => self.first_byte_timeout,
            },
        }
    }

    /// The body is over: the last events and [`Event::Finished`].
    fn end(&mut self) -> Result<(), Error> {
        let (rest, stop, usage, complete) = self.decoder.finish();
        if !complete {
            return Err(Error::Broken {
                provider: self.provider.clone(),
                detail: "the stream ended before the end of the answer".into(),
            });
        }
        self.queue.extend(rest);
        let usage = match usage {
            Some(u) => u,
            None => {
                // The output not yet handed out counts too.
                let mut pending = String::new();
                for e in &self.queue {
                    e.append_output(&mut pending);
                }
                self.output.push_str(&pending);
                let u = self.estimate();
                self.output.truncate(self.output.len() - pending.len());
                u
            }
        };
        self.queue.push_back(Event::Finished {
            stop: stop.unwrap_or(StopReason::End),
            usage,
        });
        self.ended = true;
        Ok(())
    }

    /// Usage counted locally: the prompt and the output so far, marked estimated.
    pub fn estimate(&self) -> Usage {
        Usage {
            input_tokens: self.prompt_tokens,
            output_tokens: self.encoding.count(&self.output) as u64,
            cached_tokens: 0,
            estimated: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784111777)
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon"), None);
    }
}
