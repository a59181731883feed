//! What a command talks to: the fallback chain of endpoints, each with its HTTP client, circuit
//! breaker and rate limiter, and the [`Meter`] (budgets and the cost ledger) around every
//! attempt.
//!
//! For each endpoint in order: skip it while its breaker is open; otherwise attempt, retrying on
//! retryable errors with exponential backoff and full jitter (a `Retry-After` is honoured; one
//! longer than `llm.retry_after_max` moves on at once). Once any text or tool call has reached
//! the caller, a failure is final ([`Error::Interrupted`]): no silent retry, no fallback, as the
//! user has already seen part of an answer. Errors that are about the request rather than the
//! provider (a 400, a budget refusal, a cancel) end the run at once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use tokio::sync::watch;

use super::providers::Endpoint;
use super::{Error, Event, Request, StopReason, ToolCall, Usage, http};
use crate::config::LlmConfig;
use crate::context::tokens::Encoding;

/// What is known about a request before it is sent, for budgets.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub endpoint: &'a Endpoint,
    /// Prompt tokens, counted exactly in the model's encoding (o200k_base for non-OpenAI
    /// models, see docs/llm.md).
    pub prompt_tokens: u64,
    /// The most the answer may cost: `max_tokens`.
    pub max_output_tokens: u64,
}

/// A call the meter let through.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Admitted {
    /// Warnings to show (a soft budget threshold).
    pub notes: Vec<String>,
    /// The meter's own mark of the call, given back to [`Meter::after`] (the ledger's hold on
    /// the money the call may cost, so that other processes' budget checks count it).
    pub ticket: Option<i64>,
}

impl Outcome {
    /// What the request cost in all: this answer and the attempts retried before it.
    pub fn paid_usd(&self) -> f64 {
        self.cost_usd + self.retried_cost_usd
    }
}

/// Budgets and the cost ledger: every attempt is checked before it is sent and recorded after.
/// Each `before` that admits a call is followed by exactly one `after` with its ticket.
pub trait Meter: Send + Sync {
    /// Refuses the call (an error the CLI reports, exit code 3 for a budget) or lets it go.
    fn before(&self, call: &Call) -> anyhow::Result<Admitted>;
    /// Records an attempt, whatever its outcome; returns its cost in USD and whether the model
    /// had a price.
    fn after(
        &self,
        ticket: Option<i64>,
        endpoint: &Endpoint,
        usage: &Usage,
        started: SystemTime,
        latency: Duration,
        outcome: &str,
    ) -> (f64, bool);
}

/// An attempt that was sent and is not yet recorded, for [`record_abandoned`].
struct InFlight {
    meter: Arc<dyn Meter>,
    ticket: Option<i64>,
    endpoint: Endpoint,
    prompt_tokens: u64,
    started: SystemTime,
    t0: Instant,
    /// The answer's text so far.
    text: Mutex<String>,
    /// [`OPEN`], [`RECORDING`] or [`RECORDED`]: recorded by the attempt or by
    /// [`record_abandoned`], never twice.
    state: std::sync::atomic::AtomicU8,
}

const OPEN: u8 = 0;
const RECORDING: u8 = 1;
const RECORDED: u8 = 2;

impl InFlight {
    /// Records the attempt in the meter, unless it was recorded already (by the attempt or by
    /// [`record_abandoned`]): its cost and whether it had a price, `None` for the second caller.
    fn record(&self, usage: &Usage, latency: Duration, outcome: &str) -> Option<(f64, bool)> {
        use std::sync::atomic::Ordering::SeqCst;
        self.state
            .compare_exchange(OPEN, RECORDING, SeqCst, SeqCst)
            .ok()?;
        let recorded = self.meter.after(
            self.ticket,
            &self.endpoint,
            usage,
            self.started,
            latency,
            outcome,
        );
        self.state.store(RECORDED, SeqCst);
        Some(recorded)
    }
}

fn in_flight() -> std::sync::MutexGuard<'static, Vec<Arc<InFlight>>> {
    static IN_FLIGHT: Mutex<Vec<Arc<InFlight>>> = Mutex::new(Vec::new());
    IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Records every attempt still in flight as `cancelled`, with the prompt and the text read so
/// far counted locally: for a signal that ends the process at once (SIGTERM, SIGHUP, a second
/// Ctrl-C), which would otherwise leave a request that was sent, and may be billed, out of the
/// ledger, and its budget hold in place for an hour.
pub fn record_abandoned() {
    let flights: Vec<Arc<InFlight>> = in_flight().drain(..).collect();
    for f in flights {
        let text = f
            .text
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let usage = Usage {
            input_tokens: f.prompt_tokens,
            output_tokens: Encoding::for_model(&f.endpoint.model).count(&text) as u64,
            cached_tokens: 0,
            estimated: true,
        };
        if f.record(&usage, f.t0.elapsed(), "cancelled").is_none() {
            // The attempt is recording itself (a first Ctrl-C cancelled it): the exit waits
            // for that row too, for a while (a meter that panicked never finishes).
            let since = Instant::now();
            while f.state.load(std::sync::atomic::Ordering::SeqCst) == RECORDING
                && since.elapsed() < Duration::from_secs(5)
            {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// [`record_abandoned`] for at most `limit`: a ledger another process holds (SQLite's busy
/// wait is 30 s) must not keep a signal from ending vibe; past the limit the rows are not
/// written, and the budget holds lapse as a killed process's do.
pub fn record_abandoned_within(limit: Duration) {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("record-abandoned".into())
        .spawn(move || {
            record_abandoned();
            let _ = tx.send(());
        });
    if spawned.is_ok() {
        let _ = rx.recv_timeout(limit);
    }
}

/// A meter that allows everything and records nothing (for tests and library users without a
/// ledger).
pub struct NoMeter;

impl Meter for NoMeter {
    fn before(&self, _: &Call) -> anyhow::Result<Admitted> {
        Ok(Admitted::default())
    }
    fn after(
        &self,
        _: Option<i64>,
        _: &Endpoint,
        _: &Usage,
        _: SystemTime,
        _: Duration,
        _: &str,
    ) -> (f64, bool) {
        (0.0, true)
    }
}

/// A finished request.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub provider: String,
    pub model: String,
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub stop: StopReason,
    pub usage: Usage,
    pub cost_usd: f64,
    /// What the attempts before this one cost (broken or failed after output was read, then
    /// retried or sent to a fallback): recorded in the ledger, paid, not part of `cost_usd`.
    pub retried_cost_usd: f64,
    pub priced: bool,
    pub latency_ms: u64,
    /// Soft-budget warnings and the attempts that failed before this one.
    pub notes: Vec<String>,
}

/// Cancels a running request (Ctrl-C): the connection is dropped and the attempt recorded as
/// cancelled.
#[derive(Clone)]
pub struct Cancel(watch::Sender<bool>);

impl Default for Cancel {
    fn default() -> Self {
        Cancel(watch::channel(false).0)
    }
}

impl Cancel {
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
    async fn wait(mut rx: watch::Receiver<bool>) {
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                // The sender is gone: nobody can cancel any more.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Retry and breaker settings (from `[llm]`).
#[derive(Debug, Clone)]
pub struct Policy {
    pub retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub retry_after_max: Duration,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    /// Copies in a row of one block of lines after which an answer is not read further (0 =
    /// never; see [`super::repeat`]).
    pub stop_repeats: u32,
}

impl Policy {
    pub fn from_config(c: &LlmConfig) -> Result<Policy, Error> {
        if c.max_tokens == 0 {
            return Err(Error::Config(
                "llm.max_tokens = 0: an answer needs at least 1 token\nhint: e.g. -c llm.max_tokens=2048".into(),
            ));
        }
        if c.stop_repeats == 1 {
            return Err(Error::Config(
                "llm.stop_repeats = 1: a block written once is no repeat; use 0 (never stop early) or 2 or more\nhint: e.g. -c llm.stop_repeats=3".into(),
            ));
        }
        let d = |key: &str, v: f64| {
            Duration::try_from_secs_f64(v).map_err(|_| {
                Error::Config(format!(
                    "llm.{key} = {v}: must be a number of seconds, 0 or more"
                ))
            })
        };
        Ok(Policy {
            retries: c.retries,
            backoff_base: d("backoff_base", c.backoff_base)?,
            backoff_max: d("backoff_max", c.backoff_max)?,
            retry_after_max: d("retry_after_max", c.retry_after_max)?,
            breaker_failures: c.breaker_failures.max(1),
            breaker_cooldown: d("breaker_cooldown", c.breaker_cooldown)?,
            stop_repeats: c.stop_repeats,
        })
    }

    /// The wait before retry `n` (0-based): full jitter over `base * 2^n`, capped.
    fn backoff(&self, n: u32) -> Duration {
        let cap = self
            .backoff_base
            .saturating_mul(1u32 << n.min(16))
            .min(self.backoff_max);
        cap.mul_f64(jitter())
    }
}

/// A number in [0, 1) that differs between calls and processes.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Consecutive failures, and until when the provider is skipped.
#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

/// Requests and tokens sent in the last minute.
#[derive(Debug, Default)]
struct Limiter {
    sent: VecDeque<(Instant, u64)>,
}

impl Limiter {
    /// How long to wait before sending `tokens` more, under the limits (0 = none).
    fn wait(&mut self, now: Instant, rpm: u32, tpm: u64, tokens: u64) -> Option<Duration> {
        let minute = Duration::from_secs(60);
        while self
            .sent
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= minute)
        {
            self.sent.pop_front();
        }
        let over_requests = rpm > 0 && self.sent.len() >= rpm as usize;
        let used: u64 = self.sent.iter().map(|(_, n)| n).sum();
        // A request larger than the whole limit goes alone rather than never.
        let over_tokens = tpm > 0 && !self.sent.is_empty() && used + tokens > tpm;
        if over_requests || over_tokens {
            let oldest = self.sent.front().map(|(t, _)| *t).unwrap_or(now);
            return Some((oldest + minute).saturating_duration_since(now));
        }
        self.sent.push_back((now, tokens));
        None
    }
}

struct Slot {
    endpoint: Endpoint,
    http: reqwest::Client,
    breaker: Mutex<Breaker>,
    limiter: Mutex<Limiter>,
}

/// The fallback chain with its meter; cheap to share between tasks.
#[derive(Clone)]
pub struct Client {
    slots: Arc<Vec<Slot>>,
    meter: Arc<dyn Meter>,
    policy: Policy,
}

/// The usage a server reported, within what the request could have used: at most `ceiling`
/// output tokens (where vibe stops reading; see `attempt`: reasoning tokens count toward
/// `max_tokens` too) and four times the prompt's local count plus 1,024 input tokens (another
/// tokenizer, a chat template). A server claiming 10¹² tokens for "hi" recorded $12.5 M in the
/// ledger and refused every later request under a budget. Past either bound, the bound is
/// recorded, marked estimated, with a note.
fn plausible(mut u: Usage, prompt_tokens: u64, ceiling: u64) -> (Usage, Option<String>) {
    let max_input = prompt_tokens.saturating_mul(4).saturating_add(1024);
    let mut claims = Vec::new();
    if u.output_tokens > ceiling {
        claims.push(format!(
            "{} output tokens (at most {ceiling} possible)",
            u.output_tokens
        ));
        u.output_tokens = ceiling;
    }
    if u.input_tokens > max_input {
        claims.push(format!(
            "{} input tokens for a prompt of about {prompt_tokens}",
            u.input_tokens
        ));
        u.input_tokens = max_input;
    }
    u.cached_tokens = u.cached_tokens.min(u.input_tokens);
    if claims.is_empty() {
        return (u, None);
    }
    u.estimated = true;
    let note = format!(
        "the server reported {}; vibe recorded {} in, {} out",
        claims.join(" and "),
        u.input_tokens,
        u.output_tokens
    );
    (u, Some(note))
}

impl Client {
    pub fn new(
        chain: Vec<Endpoint>,
        policy: Policy,
        meter: Arc<dyn Meter>,
    ) -> Result<Client, Error> {
        if chain.is_empty() {
            return Err(Error::Config("no provider configured".into()));
        }
        let slots = chain
            .into_iter()
            .map(|endpoint| {
                Ok(Slot {
                    http: http::client(&endpoint)?,
                    endpoint,
                    breaker: Mutex::default(),
                    limiter: Mutex::default(),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Client {
            slots: Arc::new(slots),
            meter,
            policy,
        })
    }

    /// The first endpoint of the chain (the one normally used).
    pub fn primary(&self) -> &Endpoint {
        &self.slots[0].endpoint
    }

    /// Runs `req` (its `model` is replaced by each endpoint's), handing every text delta and
    /// tool call to `on_event` as it arrives. `on_event` says whether the event reached the
    /// user (printed, streamed to a screen): once one has, a broken attempt is not retried nor
    /// sent to a fallback (the user would see the answer twice); a caller that shows nothing
    /// until the end (`--json`, heal) returns false and keeps retries and fallbacks.
    pub async fn run(
        &self,
        req: &Request,
        cancel: &Cancel,
        on_event: &mut (dyn FnMut(&Event) -> bool + Send),
    ) -> Result<Outcome, Error> {
        let mut failures: Vec<Error> = Vec::new();
        let mut notes = Vec::new();
        // What failed attempts cost before the one that answers.
        let mut retried_cost = 0.0;
        for slot in self.slots.iter() {
            let ep = &slot.endpoint;
            if let Some(e) = self.breaker_open(slot) {
                notes.push(e.to_string());
                failures.push(e);
                continue;
            }
            // The key once per endpoint, not per retry (a key command is a process to run).
            let key = match ep.api_key() {
                Ok(k) => k,
                Err(e) => {
                    // Which variable or command: "error" alone left a typo in api_key_env
                    // unseen while every run went to the fallback.
                    let why = match &e {
                        Error::MissingKey { var, .. } => format!("no API key ({var} is not set)"),
                        Error::KeyCommand { detail, .. } => {
                            format!("the key command failed ({detail})")
                        }
                        _ => e.outcome(),
                    };
                    notes.push(format!("{}: {why}; fell back", ep.label()));
                    failures.push(e);
                    continue;
                }
            };
            let mut req = req.clone();
            req.model = ep.model.clone();
            let prompt_tokens = Encoding::for_model(&ep.model).count(&req.prompt_text()) as u64;
            let mut attempt = 0;
            let err = loop {
                let call = Call {
                    endpoint: ep,
                    prompt_tokens,
                    max_output_tokens: u64::from(req.max_tokens),
                };
                // The rate limit first: once admitted, the call is sent (and recorded) at once.
                self.rate_limit(slot, prompt_tokens + u64::from(req.max_tokens), cancel)
                    .await?;
                let admitted = self.meter.before(&call).map_err(Error::Refused)?;
                notes.extend(admitted.notes);
                match self
                    .attempt(
                        slot,
                        &req,
                        key.as_ref(),
                        prompt_tokens,
                        admitted.ticket,
                        cancel,
                        on_event,
                    )
                    .await
                {
                    Ok(mut out) => {
                        self.record_success(slot);
                        notes.append(&mut out.notes);
                        out.notes = std::mem::take(&mut notes);
                        out.retried_cost_usd = retried_cost;
                        return Ok(out);
                    }
                    Err((e, shown, cost)) => {
                        retried_cost += cost;
                        self.record_failure(slot, &e);
                        if shown {
                            return Err(match e {
                                Error::Cancelled => Error::Cancelled,
                                e => {
                                    // The provider is named once, by `Interrupted`.
                                    let detail = format!("{e:#}");
                                    let named = format!("provider `{}`: ", ep.provider);
                                    Error::Interrupted {
                                        provider: ep.provider.clone(),
                                        detail: detail
                                            .strip_prefix(&named)
                                            .unwrap_or(&detail)
                                            .to_string(),
                                    }
                                }
                            });
                        }
                        if !e.retryable() || attempt >= self.policy.retries {
                            break e;
                        }
                        let wait = match &e {
                            Error::Http {
                                retry_after: Some(d),
                                ..
                            } => {
                                if *d > self.policy.retry_after_max {
                                    break e;
                                }
                                *d
                            }
                            _ => self.policy.backoff(attempt),
                        };
                        tracing::warn!(
                            "{e}; retrying {} in {:.1} s",
                            ep.label(),
                            wait.as_secs_f64()
                        );
                        notes.push(format!("{}: {}; retried", ep.label(), e.outcome()));
                        self.sleep(wait, cancel).await?;
                        attempt += 1;
                    }
                }
            };
            if !err.falls_back() {
                return Err(err);
            }
            tracing::warn!("{err}");
            notes.push(format!("{}: {}; fell back", ep.label(), err.outcome()));
            failures.push(err);
        }
        if failures.len() == 1 {
            Err(failures.remove(0))
        } else {
            Err(Error::AllFailed(failures))
        }
    }

    fn breaker_open(&self, slot: &Slot) -> Option<Error> {
        let mut b = slot.breaker.lock().unwrap_or_else(|p| p.into_inner());
        let until = b.open_until?;
        let now = Instant::now();
        if now >= until {
            // Half-open: one attempt decides.
            b.open_until = None;
            b.failures = self.policy.breaker_failures.saturating_sub(1);
            return None;
        }
        Some(Error::CircuitOpen {
            provider: slot.endpoint.provider.clone(),
            failures: b.failures,
            retry_in: until - now,
        })
    }

    fn record_success(&self, slot: &Slot) {
        let mut b = slot.breaker.lock().unwrap_or_else(|p| p.into_inner());
        *b = Breaker::default();
    }

    fn record_failure(&self, slot: &Slot, e: &Error) {
        // Only failures of the provider count, not a cancel or a request it rightly refused.
        if !(e.retryable() || e.falls_back()) {
            return;
        }
        let mut b = slot.breaker.lock().unwrap_or_else(|p| p.into_inner());
        b.failures += 1;
        if b.failures >= self.policy.breaker_failures {
            b.open_until = Some(Instant::now() + self.policy.breaker_cooldown);
        }
    }

    async fn rate_limit(&self, slot: &Slot, tokens: u64, cancel: &Cancel) -> Result<(), Error> {
        let ep = &slot.endpoint;
        if ep.requests_per_minute == 0 && ep.tokens_per_minute == 0 {
            return Ok(());
        }
        loop {
            let wait = slot.limiter.lock().unwrap_or_else(|p| p.into_inner()).wait(
                Instant::now(),
                ep.requests_per_minute,
                ep.tokens_per_minute,
                tokens,
            );
            match wait {
                None => return Ok(()),
                Some(d) => {
                    tracing::info!(
                        "{}: client-side rate limit, waiting {:.1} s",
                        ep.label(),
                        d.as_secs_f64()
                    );
                    self.sleep(d, cancel).await?;
                }
            }
        }
    }

    async fn sleep(&self, d: Duration, cancel: &Cancel) -> Result<(), Error> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = Cancel::wait(cancel.0.subscribe()) => Err(Error::Cancelled),
        }
    }

    /// One attempt, recorded with the meter's `ticket`; on failure, whether output had reached
    /// the caller.
    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        slot: &Slot,
        req: &Request,
        key: Option<&super::Secret>,
        prompt_tokens: u64,
        ticket: Option<i64>,
        cancel: &Cancel,
        on_event: &mut (dyn FnMut(&Event) -> bool + Send),
    ) -> Result<Outcome, (Error, bool, f64)> {
        let ep = &slot.endpoint;
        let started = SystemTime::now();
        let t0 = Instant::now();
        let flight = Arc::new(InFlight {
            meter: self.meter.clone(),
            ticket,
            endpoint: ep.clone(),
            prompt_tokens,
            started,
            t0,
            text: Mutex::new(String::new()),
            state: std::sync::atomic::AtomicU8::new(OPEN),
        });
        in_flight().push(flight.clone());
        // Whatever happens below, the attempt leaves the list (a signal's handler records
        // what is still on it).
        struct Leave(Arc<InFlight>);
        impl Drop for Leave {
            fn drop(&mut self) {
                in_flight().retain(|f| !Arc::ptr_eq(f, &self.0));
            }
        }
        let _leave = Leave(flight.clone());
        let mut text = String::new();
        let mut calls = Vec::new();
        // Output arrived (it is paid for), and some of it reached the user.
        let (mut received, mut shown) = (false, false);
        let mut stream: Option<http::EventStream> = None;
        let mut looped: Option<super::repeat::Loop> = None;
        // A server that ignores `max_tokens`: past a quarter more (and 64 tokens), vibe stops
        // reading and keeps the answer's first `ceiling` tokens, so that what it records and
        // pays for stays near what the budget check allowed. Tokens are counted only once the
        // text could hold that many (a token is at least a byte), then again every half of
        // that in bytes.
        let ceiling = u64::from(req.max_tokens) * 5 / 4 + 64;
        let mut next_count = ceiling as usize;
        let mut overran: Option<u64> = None;
        // A reply that is not streamed arrives whole: nothing to save by stopping.
        let copies = if req.stream {
            self.policy.stop_repeats as usize
        } else {
            0
        };
        let work = async {
            let mut s = http::open(&slot.http, ep, req, key, prompt_tokens).await?;
            loop {
                let next = s.next().await;
                match next {
                    Ok(Some(Event::Finished { stop, usage })) => return Ok((stop, Some(usage))),
                    Ok(Some(mut e)) => {
                        let mut new_line = false;
                        match &mut e {
                            Event::Text { text: t } => {
                                let before = text.len();
                                text.push_str(t);
                                new_line = t.contains('\n');
                                if text.len() > next_count {
                                    // Past the ceiling, what is kept (and shown, and recorded)
                                    // is cut at it: a server may send a million tokens in one
                                    // piece.
                                    let enc = Encoding::for_model(&ep.model);
                                    let mut keep = enc.prefix_within(&text, ceiling as usize);
                                    // What was shown before this piece stays kept when it
                                    // fits (the search may stop a few bytes short of it).
                                    if keep < before
                                        && enc.count(&text[..before]) <= ceiling as usize
                                    {
                                        keep = before;
                                    }
                                    if keep < text.len() {
                                        text.truncate(keep);
                                        *t = text.get(before..).unwrap_or_default().to_string();
                                        overran = Some(enc.count(&text) as u64);
                                    }
                                    next_count = text.len() + (ceiling as usize).div_ceil(2);
                                }
                                flight
                                    .text
                                    .lock()
                                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                                    .push_str(t);
                            }
                            Event::ToolCall(c) => calls.push(c.clone()),
                            Event::Finished { .. } => {}
                        }
                        received = true;
                        if !matches!(&e, Event::Text { text } if text.is_empty()) {
                            shown |= on_event(&e);
                        }
                        if overran.is_some() {
                            // Dropping the stream closes the connection: the server stops.
                            return Ok((StopReason::MaxTokens, None));
                        }
                        if new_line {
                            looped = super::repeat::looping(&text, copies);
                            if looped.is_some() {
                                // Dropping the stream closes the connection: the server stops.
                                return Ok((StopReason::Repeating, None));
                            }
                        }
                    }
                    Ok(None) => {
                        return Err(Error::Broken {
                            provider: ep.provider.clone(),
                            detail: "the reply ended without a finish".into(),
                        });
                    }
                    Err(e) => {
                        stream = Some(s);
                        return Err(e);
                    }
                }
            }
        };
        let result = tokio::select! {
            r = work => r,
            _ = Cancel::wait(cancel.0.subscribe()) => Err(Error::Cancelled),
        };
        let latency = t0.elapsed();
        // What was read is what was written, and paid for: count it when the server could not
        // say (a stream vibe stopped, or one that failed after output).
        let counted = |text: &str| Usage {
            input_tokens: prompt_tokens,
            output_tokens: Encoding::for_model(&ep.model).count(text) as u64,
            cached_tokens: 0,
            estimated: true,
        };
        match result {
            Ok((stop, usage)) => {
                let mut notes = vec![];
                let usage = match usage {
                    Some(u) => {
                        let (u, note) = plausible(u, prompt_tokens, ceiling);
                        notes.extend(note.map(|n| format!("{}: {n}", ep.label())));
                        u
                    }
                    None => counted(&text),
                };
                let (cost, priced) = flight.record(&usage, latency, "ok").unwrap_or((0.0, true));
                if let Some(n) = overran {
                    notes.push(format!(
                        "{} sent more than the {} tokens asked for; vibe kept the first {n} and stopped reading",
                        ep.label(),
                        req.max_tokens
                    ));
                }
                if let Some(l) = looped {
                    text.truncate(l.keep);
                    notes.push(format!(
                        "the answer wrote the same {} lines {} times in a row; vibe stopped reading it after {} tokens (llm.stop_repeats)",
                        l.lines, l.copies, usage.output_tokens
                    ));
                }
                Ok(Outcome {
                    provider: ep.provider.clone(),
                    model: ep.model.clone(),
                    text,
                    tool_calls: calls,
                    stop,
                    usage,
                    cost_usd: cost,
                    retried_cost_usd: 0.0,
                    priced,
                    latency_ms: latency.as_millis() as u64,
                    notes,
                })
            }
            Err(e) => {
                // A failed or cancelled attempt may still be billed for what was read and
                // written: record the local count when anything came back, or the prompt
                // was sent and the server kept it (cancelled; a first byte that never came, or
                // only keep-alives: it may have been generating, and billing, all along).
                let sent = matches!(
                    e,
                    Error::Cancelled
                        | Error::Timeout {
                            phase: super::TimeoutPhase::FirstByte | super::TimeoutPhase::KeepAlive,
                            ..
                        }
                );
                let usage = match (&stream, received || sent) {
                    (_, true) => counted(&text),
                    (Some(s), false) => s.estimate(),
                    (None, false) => Usage {
                        estimated: true,
                        ..Usage::default()
                    },
                };
                let cost = flight
                    .record(&usage, latency, &e.outcome())
                    .map_or(0.0, |(cost, _)| cost);
                Err((e, shown, cost))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_waits_for_the_oldest_request_to_age_out() {
        let mut l = Limiter::default();
        let t = Instant::now();
        assert_eq!(l.wait(t, 2, 0, 10), None);
        assert_eq!(l.wait(t + Duration::from_secs(1), 2, 0, 10), None);
        assert_eq!(
            l.wait(t + Duration::from_secs(10), 2, 0, 10),
            Some(Duration::from_secs(50))
        );
        assert_eq!(l.wait(t + Duration::from_secs(60), 2, 0, 10), None);
        let mut l = Limiter::default();
        assert_eq!(
            l.wait(t, 0, 100, 500),
            None,
            "an oversized request goes alone"
        );
        assert_eq!(l.wait(t, 0, 100, 1), Some(Duration::from_secs(60)));
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let p = Policy {
            retries: 3,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(300),
            retry_after_max: Duration::from_secs(1),
            breaker_failures: 3,
            breaker_cooldown: Duration::from_secs(1),
            stop_repeats: 3,
        };
        for n in 0..20 {
            assert!(p.backoff(n) < Duration::from_millis(300));
        }
        let a: Vec<Duration> = (0..8).map(|_| p.backoff(2)).collect();
        assert!(a.iter().any(|d| *d != a[0]), "jitter varies: {a:?}");
    }
}
