//! Server-Sent Events framing (the WHATWG event-stream format), fed bytes as they arrive.
//!
//! Lines end in `\n`, `\r\n` or `\r`; a blank line dispatches the event; `data:` lines of one
//! event are joined with `\n`; lines starting with `:` are comments (keep-alives); `id:` and
//! `retry:` are ignored (vibe does not reconnect a stream: it retries the request, or not).
//! Bytes are buffered until a line is complete, so a UTF-8 character split across two network
//! reads is decoded whole.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any (Anthropic names its events; OpenAI does not).
    pub event: Option<String>,
    pub data: String,
}

/// The most one event may hold (its unfinished line and its `data:` lines together): an
/// answer's delta is a few bytes to a few kilobytes, and a server sending a line without end
/// would otherwise be buffered until memory ran out.
pub const MAX_EVENT_BYTES: usize = 16 << 20;

#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    event: Option<String>,
    data: Option<String>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one belongs to it.
    after_cr: bool,
    /// An event went past [`MAX_EVENT_BYTES`]: the stream is not read further.
    too_long: bool,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Whether an event went past [`MAX_EVENT_BYTES`] (then `feed` returns nothing more).
    pub fn too_long(&self) -> bool {
        self.too_long
    }

    /// Feeds bytes; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.too_long {
            return out;
        }
        let mut bytes = bytes;
        if self.after_cr && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'\n' || b == b'\r' {
                self.buf.extend_from_slice(&bytes[start..i]);
                let line = std::mem::take(&mut self.buf);
                self.line(&String::from_utf8_lossy(&line), &mut out);
                if b == b'\r' {
                    if i + 1 < bytes.len() {
                        if bytes[i + 1] == b'\n' {
                            i += 1;
                        }
                    } else {
                        self.after_cr = true;
                    }
                }
                start = i + 1;
            }
            i += 1;
        }
        self.buf.extend_from_slice(&bytes[start..]);
        if self.buf.len() + self.data.as_ref().map_or(0, String::len) > MAX_EVENT_BYTES {
            self.too_long = true;
            self.buf = Vec::new();
            self.data = None;
        }
        out
    }

    /// The end of the stream: an event whose blank line never came is dispatched (servers
    /// that close right after the last `data:` line are common enough).
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            let mut out = Vec::new();
            self.line(&String::from_utf8_lossy(&line), &mut out);
            if let Some(e) = out.pop() {
                return Some(e);
            }
        }
        self.dispatch()
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if let Some(e) = self.dispatch() {
                out.push(e);
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            _ => {}
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        self.data.take().map(|data| SseEvent { event, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = Parser::new();
        let mut out: Vec<SseEvent> = chunks.iter().flat_map(|c| p.feed(c)).collect();
        out.extend(p.finish());
        out
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_string),
            data: data.to_string(),
        }
    }

    #[test]
    fn events_split_anywhere_decode_the_same() {
        let text = "event: message_start\ndata: {\"a\":1}\n\n: keep-alive\n\ndata: x\ndata: y\r\n\r\ndata: é\r\rdata: [DONE]\n\n";
        let want = vec![
            ev(Some("message_start"), "{\"a\":1}"),
            ev(None, "x\ny"),
            ev(None, "é"),
            ev(None, "[DONE]"),
        ];
        let bytes = text.as_bytes();
        assert_eq!(all(&[bytes]), want);
        for cut in 0..bytes.len() {
            assert_eq!(all(&[&bytes[..cut], &bytes[cut..]]), want, "cut at {cut}");
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(all(&singles), want);
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_kept() {
        assert_eq!(all(&[b"data: end"]), vec![ev(None, "end")]);
        assert_eq!(all(&[b"data: end\n"]), vec![ev(None, "end")]);
        assert_eq!(all(&[b": only a comment\n"]), vec![]);
    }

    #[test]
    fn field_without_colon_or_space() {
        assert_eq!(
            all(&[b"data\n\ndata:x\n\n"]),
            vec![ev(None, ""), ev(None, "x")]
        );
    }

    #[test]
    fn an_event_without_end_is_not_buffered_without_limit() {
        let mut p = Parser::new();
        let piece = vec![b'a'; 1 << 20];
        assert!(p.feed(b"data: ").is_empty());
        for _ in 1..(MAX_EVENT_BYTES >> 20) {
            assert!(p.feed(&piece).is_empty());
            assert!(!p.too_long());
        }
        assert!(p.feed(&piece).is_empty());
        assert!(p.too_long());
        assert!(p.buf.capacity() == 0 && p.data.is_none());
        // Short lines of one event count together.
        let mut p = Parser::new();
        let line = format!("data: {}\n", "b".repeat(1 << 20));
        for _ in 0..=(MAX_EVENT_BYTES >> 20) {
            p.feed(line.as_bytes());
        }
        assert!(p.too_long());
        assert!(p.feed(b"\n\ndata: x\n\n").is_empty());
    }
}
