//! Markdown to styled lines (over pulldown-cmark), and word wrapping of styled lines.
//! Rendering is width-independent: [`render`] gives logical lines, each with the indent its
//! wrapped continuation lines hang at; [`wrap`] fits them to a width. The conversation caches
//! the wrapped result per finished message, so a frame only renders what changed.

use crate::edit::{Marker, is_fence, marker};
use pulldown_cmark::{CodeBlockKind, Event as Md, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use super::highlight::highlight;
use super::theme::Theme;

/// One logical line and the column its wrapped continuations start at.
#[derive(Debug, Clone)]
pub struct RLine {
    pub line: Line<'static>,
    pub hang: usize,
}

impl RLine {
    pub fn new(spans: Vec<Span<'static>>, hang: usize) -> Self {
        Self {
            line: Line::from(spans),
            hang,
        }
    }
}

struct Renderer<'t> {
    theme: &'t Theme,
    out: Vec<RLine>,
    cur: Vec<Span<'static>>,
    styles: Vec<Style>,
    quote: usize,
    /// One entry per open list: the next number, or None for bullets.
    lists: Vec<Option<u64>>,
    /// The marker to put on the next line of the innermost list item.
    marker: Option<String>,
    code: Option<(String, String)>,
    link: Option<String>,
}

impl Renderer<'_> {
    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn push_style(&mut self, f: impl FnOnce(Style) -> Style) {
        let s = f(self.style());
        self.styles.push(s);
    }

    fn prefix(&mut self) -> (Vec<Span<'static>>, usize) {
        let mut spans = Vec::new();
        let mut width = 0;
        if self.quote > 0 {
            let q = "│ ".repeat(self.quote);
            width += 2 * self.quote;
            spans.push(Span::styled(q, self.theme.dim()));
        }
        if !self.lists.is_empty() {
            let indent = 2 * (self.lists.len() - 1);
            let marker = self.marker.take();
            let marker_w = 2 + self.lists.last().copied().flatten().map_or(0, |n| {
                // "1. " is one column wider than "• "; keep items aligned up to 99.
                if n >= 10 { 2 } else { 1 }
            });
            let text = match marker {
                Some(m) => format!("{}{:<w$}", " ".repeat(indent), m, w = marker_w),
                None => " ".repeat(indent + marker_w),
            };
            width += text.chars().count();
            spans.push(Span::styled(text, self.theme.dim()));
        }
        (spans, width)
    }

    fn flush(&mut self) {
        if self.cur.is_empty() && self.marker.is_none() {
            return;
        }
        let (mut spans, hang) = self.prefix();
        spans.append(&mut self.cur);
        self.out.push(RLine::new(spans, hang));
    }

    fn blank(&mut self) {
        self.flush();
        if self.out.last().is_some_and(|l| l.line.width() > 0) {
            if self.quote > 0 {
                let (spans, hang) = self.prefix_quote_only();
                self.out.push(RLine::new(spans, hang));
            } else {
                self.out.push(RLine::new(Vec::new(), 0));
            }
        }
    }

    fn prefix_quote_only(&self) -> (Vec<Span<'static>>, usize) {
        if self.quote == 0 {
            return (Vec::new(), 0);
        }
        (
            vec![Span::styled("│ ".repeat(self.quote), self.theme.dim())],
            2 * self.quote,
        )
    }

    fn text(&mut self, t: &str) {
        let style = self.style();
        for (i, part) in t.split('\n').enumerate() {
            if i > 0 {
                self.flush();
            }
            if !part.is_empty() {
                self.cur.push(Span::styled(part.to_string(), style));
            }
        }
    }

    fn code_block(&mut self, lang: &str, code: &str) {
        self.blank();
        let theme = self.theme;
        let label = if lang.is_empty() { "code" } else { lang };
        let (mut head, hang) = self.prefix();
        head.push(Span::styled(format!("╭─ {label}"), theme.dim()));
        self.out.push(RLine::new(head, hang));
        for spans in highlight(code, lang, theme) {
            let (mut line, hang) = self.prefix();
            line.push(Span::styled("│ ", theme.dim()));
            line.extend(spans);
            self.out.push(RLine::new(line, hang + 2));
        }
        let (mut foot, hang) = self.prefix();
        foot.push(Span::styled("╰─", theme.dim()));
        self.out.push(RLine::new(foot, hang));
    }
}

/// A part of an answer: prose (markdown), or an edit block drawn as written.
#[derive(Debug, PartialEq)]
enum Part<'a> {
    Prose(&'a str),
    /// The path line and the block's lines, markers included.
    Edit {
        path: &'a str,
        lines: Vec<&'a str>,
    },
}

/// Whether a line opens an edit block (`<<<<<<< SEARCH`, `<<<<<<< FILE`).
fn opens(line: &str) -> bool {
    matches!(marker(line), Some(Marker::Search | Marker::FileStart))
}

/// Whether a line closes an edit block (`>>>>>>> REPLACE`, `>>>>>>> FILE`).
fn closes(line: &str) -> bool {
    matches!(marker(line), Some(Marker::Replace | Marker::FileEnd))
}

/// Splits an answer into prose and the edit blocks the model was asked for (a path line, then
/// `<<<<<<< SEARCH` … `>>>>>>> REPLACE`, or `<<<<<<< FILE` … `>>>>>>> FILE`). Markdown would
/// take the path for a heading, the markers for quotes and the indented lines for code; the
/// blocks are drawn verbatim instead. A block inside a code fence is the fence's; a block not
/// closed yet (a streaming answer) runs to the end.
fn parts(text: &str) -> Vec<Part<'_>> {
    let mut out = Vec::new();
    // Byte offsets of each line's start, with the line (its newline excluded).
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut at = 0;
    for l in text.split_inclusive('\n') {
        lines.push((at, l.trim_end_matches(['\n', '\r'])));
        at += l.len();
    }
    let mut prose_from = 0;
    let mut fenced = false;
    let mut i = 0;
    while i < lines.len() {
        let (start, line) = lines[i];
        if is_fence(line) {
            fenced = !fenced;
        }
        if fenced || !opens(line) {
            i += 1;
            continue;
        }
        // The path is the line before, if it is one (not blank, not prose's end of a block).
        let (block_start, path) = match i.checked_sub(1).map(|j| lines[j]) {
            Some((p_start, p))
                if !p.trim().is_empty() && marker(p).is_none() && p_start >= prose_from =>
            {
                (p_start, p)
            }
            _ => (start, ""),
        };
        if block_start > prose_from {
            out.push(Part::Prose(&text[prose_from..block_start]));
        }
        let mut block = Vec::new();
        let mut j = i;
        while j < lines.len() {
            block.push(lines[j].1);
            j += 1;
            if closes(lines[j - 1].1) {
                break;
            }
        }
        out.push(Part::Edit { path, lines: block });
        prose_from = lines.get(j).map_or(text.len(), |l| l.0);
        i = j;
    }
    if prose_from < text.len() {
        out.push(Part::Prose(&text[prose_from..]));
    }
    out
}

/// An edit block as a code-like block: its path as the label, every line as written.
fn edit_block(out: &mut Vec<RLine>, path: &str, lines: &[&str], theme: &Theme) {
    if out.last().is_some_and(|l| l.line.width() > 0) {
        out.push(RLine::new(Vec::new(), 0));
    }
    let label = if path.trim().is_empty() {
        "edit"
    } else {
        path.trim()
    };
    out.push(RLine::new(
        vec![Span::styled(format!("╭─ {label}"), theme.dim())],
        0,
    ));
    for l in lines {
        let style = if marker(l).is_some() {
            theme.dim()
        } else {
            Style::new()
        };
        out.push(RLine::new(
            vec![
                Span::styled("│ ", theme.dim()),
                Span::styled(l.replace('\t', "    "), style),
            ],
            2,
        ));
    }
    out.push(RLine::new(vec![Span::styled("╰─", theme.dim())], 0));
}

/// Renders an answer into logical lines: markdown, with edit blocks drawn verbatim (see
/// [`parts`]). An unclosed code fence (a streaming answer) renders as a code block up to the
/// end of the text.
pub fn render(text: &str, theme: &Theme) -> Vec<RLine> {
    let mut out = Vec::new();
    for part in parts(text) {
        match part {
            Part::Prose(p) => {
                let lines = render_markdown(p, theme);
                if !lines.is_empty() && out.last().is_some_and(|l: &RLine| l.line.width() > 0) {
                    out.push(RLine::new(Vec::new(), 0));
                }
                out.extend(lines);
            }
            Part::Edit { path, lines } => edit_block(&mut out, path, &lines, theme),
        }
    }
    out
}

fn render_markdown(text: &str, theme: &Theme) -> Vec<RLine> {
    let mut r = Renderer {
        theme,
        out: Vec::new(),
        cur: Vec::new(),
        styles: vec![Style::new()],
        quote: 0,
        lists: Vec::new(),
        marker: None,
        code: None,
        link: None,
    };
    let parser = Parser::new_ext(
        text,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS,
    );
    for ev in parser {
        if let Some((_, buf)) = r.code.as_mut() {
            match ev {
                Md::Text(t) => {
                    buf.push_str(&t);
                    continue;
                }
                Md::End(TagEnd::CodeBlock) => {
                    if let Some((lang, buf)) = r.code.take() {
                        r.code_block(&lang, &buf);
                    }
                    continue;
                }
                _ => continue,
            }
        }
        match ev {
            Md::Start(tag) => match tag {
                Tag::Paragraph => {
                    if r.marker.is_none() {
                        r.blank();
                    }
                }
                Tag::Heading { level, .. } => {
                    r.blank();
                    let hashes = match level {
                        HeadingLevel::H1 => "# ",
                        HeadingLevel::H2 => "## ",
                        _ => "### ",
                    };
                    let style = theme.heading();
                    r.cur.push(Span::styled(hashes, style));
                    r.styles.push(style);
                }
                Tag::BlockQuote(_) => {
                    r.blank();
                    r.quote += 1;
                }
                Tag::CodeBlock(kind) => {
                    r.flush();
                    let lang = match kind {
                        CodeBlockKind::Fenced(l) => l.to_string(),
                        CodeBlockKind::Indented => String::new(),
                    };
                    r.code = Some((lang, String::new()));
                }
                Tag::List(start) => {
                    if r.lists.is_empty() {
                        r.blank();
                    } else {
                        r.flush();
                    }
                    r.lists.push(start);
                }
                Tag::Item => {
                    r.flush();
                    let marker = match r.lists.last_mut() {
                        Some(Some(n)) => {
                            let m = format!("{n}.");
                            *n += 1;
                            m
                        }
                        _ => "•".to_string(),
                    };
                    r.marker = Some(marker);
                }
                Tag::Emphasis => r.push_style(|s| s.add_modifier(Modifier::ITALIC)),
                Tag::Strong => r.push_style(|s| s.add_modifier(Modifier::BOLD)),
                Tag::Strikethrough => r.push_style(|s| s.add_modifier(Modifier::CROSSED_OUT)),
                Tag::Link { dest_url, .. } => {
                    let link = theme.link();
                    r.push_style(|s| s.patch(link));
                    r.link = Some(dest_url.to_string());
                }
                _ => r.styles.push(r.style()),
            },
            Md::End(tag) => match tag {
                TagEnd::Paragraph => r.flush(),
                TagEnd::Heading(_) => {
                    r.styles.pop();
                    r.flush();
                }
                TagEnd::BlockQuote(_) => {
                    r.flush();
                    r.quote = r.quote.saturating_sub(1);
                }
                TagEnd::List(_) => {
                    r.flush();
                    r.lists.pop();
                }
                TagEnd::Item => r.flush(),
                TagEnd::Link => {
                    r.styles.pop();
                    if let Some(url) = r.link.take()
                        && r.cur.last().is_none_or(|s| s.content != url)
                    {
                        r.cur.push(Span::styled(format!(" ({url})"), theme.dim()));
                    }
                }
                TagEnd::CodeBlock => {}
                _ => {
                    if r.styles.len() > 1 {
                        r.styles.pop();
                    }
                }
            },
            Md::Text(t) => r.text(&t),
            Md::Code(t) => {
                let style = r.style().patch(theme.inline_code());
                r.cur.push(Span::styled(t.to_string(), style));
            }
            Md::Html(t) | Md::InlineHtml(t) => r.text(t.trim_end_matches('\n')),
            // Models break lines on purpose (tables without the extension, addresses...):
            // keep their line breaks rather than joining the lines as CommonMark would.
            Md::SoftBreak | Md::HardBreak => r.flush(),
            Md::Rule => {
                r.blank();
                r.cur.push(Span::styled("────────", theme.dim()));
                r.flush();
            }
            Md::TaskListMarker(done) => {
                r.cur.push(Span::raw(if done { "[x] " } else { "[ ] " }));
            }
            Md::FootnoteReference(t) | Md::InlineMath(t) | Md::DisplayMath(t) => r.text(&t),
        }
    }
    if let Some((lang, buf)) = r.code.take() {
        r.code_block(&lang, &buf);
    }
    r.flush();
    r.out
}

/// Plain text (no markdown) as logical lines with one style.
pub fn plain(text: &str, style: Style, hang: usize) -> Vec<RLine> {
    text.lines()
        .map(|l| RLine::new(vec![Span::styled(l.to_string(), style)], hang))
        .collect()
}

/// Word-wraps logical lines to `width` columns; continuation lines start at each line's hang.
/// Words longer than a line are broken between characters.
pub fn wrap(lines: &[RLine], width: usize, out: &mut Vec<Line<'static>>) {
    let width = width.max(4);
    for rl in lines {
        if rl.line.width() <= width {
            out.push(rl.line.clone());
            continue;
        }
        let hang = rl.hang.min(width / 2);
        let mut w = Wrapper {
            width,
            hang,
            out,
            cur: Vec::new(),
            cur_w: 0,
        };
        for span in &rl.line.spans {
            for piece in pieces(&span.content) {
                w.piece(piece, span.style);
            }
        }
        w.end();
    }
}

struct Wrapper<'o> {
    width: usize,
    hang: usize,
    out: &'o mut Vec<Line<'static>>,
    cur: Vec<Span<'static>>,
    cur_w: usize,
}

impl Wrapper<'_> {
    fn push_str(&mut self, s: &str, style: Style) {
        match self.cur.last_mut() {
            Some(last) if last.style == style => last.content.to_mut().push_str(s),
            _ => self.cur.push(Span::styled(s.to_string(), style)),
        }
    }

    fn newline(&mut self) {
        let mut spans = std::mem::take(&mut self.cur);
        if let Some(last) = spans.last_mut() {
            let trimmed = last.content.trim_end().len();
            last.content.to_mut().truncate(trimmed);
        }
        self.out.push(Line::from(spans));
        if self.hang > 0 {
            self.cur.push(Span::raw(" ".repeat(self.hang)));
        }
        self.cur_w = self.hang;
    }

    fn piece(&mut self, piece: &str, style: Style) {
        let w: usize = piece.chars().map(|c| c.width().unwrap_or(0)).sum();
        let trimmed = piece.trim_end();
        let w_trim: usize = trimmed.chars().map(|c| c.width().unwrap_or(0)).sum();
        if self.cur_w + w_trim > self.width && self.cur_w > self.hang {
            self.newline();
            if trimmed.is_empty() {
                return; // whitespace at a break disappears
            }
        }
        if self.hang + w_trim > self.width || self.cur_w + w_trim > self.width {
            let mut buf = [0u8; 4];
            for c in piece.chars() {
                let cw = c.width().unwrap_or(0);
                if self.cur_w + cw > self.width {
                    self.newline();
                }
                self.push_str(c.encode_utf8(&mut buf), style);
                self.cur_w += cw;
            }
            return;
        }
        self.push_str(piece, style);
        self.cur_w += w;
    }

    fn end(mut self) {
        if self.cur_w > self.hang || self.out.is_empty() {
            let spans = std::mem::take(&mut self.cur);
            self.out.push(Line::from(spans));
        }
    }
}

/// Splits text into words, each with the whitespace that follows it (leading whitespace is a
/// piece of its own).
fn pieces(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut seen_word = false;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            if c.is_whitespace() {
                if seen_word {
                    // Take the whole whitespace run with the word.
                    let ws_end = rest[i..]
                        .char_indices()
                        .find(|&(_, d)| !d.is_whitespace())
                        .map_or(rest.len(), |(j, _)| i + j);
                    end = ws_end;
                    break;
                }
            } else if !seen_word && i > 0 {
                end = i;
                break;
            } else {
                seen_word = true;
            }
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn edit_blocks_are_parts_of_their_own() {
        let text = "Fix:\n\nsrc/app.py\n<<<<<<< SEARCH\n    x = 1\n=======\n    x = 2\n>>>>>>> REPLACE\nDone.\n";
        assert_eq!(
            parts(text),
            [
                Part::Prose("Fix:\n\n"),
                Part::Edit {
                    path: "src/app.py",
                    lines: vec![
                        "<<<<<<< SEARCH",
                        "    x = 1",
                        "=======",
                        "    x = 2",
                        ">>>>>>> REPLACE"
                    ]
                },
                Part::Prose("Done.\n"),
            ]
        );
        // Inside a fence, the fence's; not closed yet (streaming), to the end.
        let fenced = "```\na.py\n<<<<<<< SEARCH\nx\n```\n";
        assert_eq!(parts(fenced), [Part::Prose(fenced)]);
        assert_eq!(
            parts("a.py\n<<<<<<< SEARCH\n  x"),
            [Part::Edit {
                path: "a.py",
                lines: vec!["<<<<<<< SEARCH", "  x"]
            }]
        );
    }

    #[test]
    fn pieces_keep_trailing_whitespace() {
        let v: Vec<_> = pieces("  fn main()  {x").collect();
        assert_eq!(v, ["  ", "fn ", "main()  ", "{x"]);
    }

    #[test]
    fn wraps_words_and_hangs() {
        let lines = vec![RLine::new(vec![Span::raw("• alpha beta gamma delta")], 2)];
        let mut out = Vec::new();
        wrap(&lines, 12, &mut out);
        assert_eq!(texts(&out), ["• alpha beta", "  gamma", "  delta"]);
    }

    #[test]
    fn breaks_long_words() {
        let lines = vec![RLine::new(vec![Span::raw("x".repeat(25))], 0)];
        let mut out = Vec::new();
        wrap(&lines, 10, &mut out);
        assert_eq!(
            out.iter().map(|l| l.width()).collect::<Vec<_>>(),
            [10, 10, 5]
        );
    }

    #[test]
    fn markdown_blocks() {
        let theme = Theme { color: true };
        let md = "# Title\n\nSome *text* and `code`.\n\n- one\n- two\n\n```rust\nfn x() {}\n```\n";
        let lines: Vec<String> = render(md, &theme)
            .iter()
            .map(|l| l.line.to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "# Title",
                "",
                "Some text and code.",
                "",
                "• one",
                "• two",
                "",
                "╭─ rust",
                "│ fn x() {}",
                "╰─",
            ]
        );
    }

    #[test]
    fn unclosed_fence_renders_as_code() {
        let theme = Theme { color: true };
        let lines: Vec<String> = render("Here:\n```py\ndef f():", &theme)
            .iter()
            .map(|l| l.line.to_string())
            .collect();
        assert_eq!(lines, ["Here:", "", "╭─ py", "│ def f():", "╰─"]);
    }
}
