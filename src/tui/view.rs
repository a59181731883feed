//! Drawing, from the state only: no I/O and nothing that blocks. The only writes to the app
//! are derived caches (each message's wrapped lines for the width drawn) and the measured
//! conversation height, which scrolling keys use for a page.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::app::{App, Decision, Entry, Kind, Mode, SystemKind};
use super::markdown::{self, RLine};
use super::palette::Action;
use super::theme::Theme;

/// The side pane shows only when the terminal is at least this wide.
pub const SIDE_MIN_WIDTH: u16 = 100;
const SIDE_WIDTH: u16 = 34;
const INPUT_MAX_LINES: usize = 8;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    let input_lines = app.input.lines().len().clamp(1, INPUT_MAX_LINES) as u16;
    let input_h = (input_lines + 1).min(area.height.saturating_sub(2).max(1));
    let [main, input, status] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(input_h),
        Constraint::Length(1),
    ])
    .areas(area);

    let (conv, side) = if app.show_side && area.width >= SIDE_MIN_WIDTH {
        let [c, s] =
            Layout::horizontal([Constraint::Min(20), Constraint::Length(SIDE_WIDTH)]).areas(main);
        (c, Some(s))
    } else {
        (main, None)
    };

    if app.mode == Mode::Review {
        draw_review(frame, main, app);
    } else {
        let conv = draw_banner(frame, conv, app);
        draw_conversation(frame, conv, app);
        if let Some(side) = side {
            draw_side(frame, side, app);
        }
    }
    draw_input(frame, input, app);
    draw_status(frame, status, app);
    if app.mode == Mode::Palette {
        draw_palette(frame, main, app);
    }
}

/// `12345` → `12,345`.
pub fn thousands(n: usize) -> String {
    crate::repomap::render::thousands(n as u64)
}

fn draw_banner(frame: &mut Frame, area: Rect, app: &App) -> Rect {
    let Some(err) = &app.error else { return area };
    let theme = &app.theme;
    let text = format!("✗ {err}  (Esc dismisses)");
    let mut lines = Vec::new();
    markdown::wrap(
        &markdown::plain(&text, theme.banner(), 2),
        area.width as usize,
        &mut lines,
    );
    lines.truncate(3.min(area.height.saturating_sub(1) as usize).max(1));
    let h = lines.len() as u16;
    let [banner, rest] = Layout::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(lines).style(theme.banner()), banner);
    rest
}

/// The logical lines of one entry (without the blank line that follows it).
fn entry_lines(entry: &Entry, theme: &Theme) -> Vec<RLine> {
    match &entry.kind {
        Kind::User => {
            let mut out = Vec::new();
            for (i, l) in entry.text.lines().enumerate() {
                let mark = if i == 0 { "› " } else { "  " };
                out.push(RLine::new(
                    vec![
                        Span::styled(mark, theme.user()),
                        Span::styled(l.to_string(), theme.plain()),
                    ],
                    2,
                ));
            }
            if out.is_empty() {
                out.push(RLine::new(vec![Span::styled("›", theme.user())], 2));
            }
            out
        }
        Kind::Assistant { done, .. } => {
            let mut head = vec![Span::styled("vibe", theme.assistant())];
            if !done {
                head.push(Span::styled(" …", theme.dim()));
            }
            let mut out = vec![RLine::new(head, 0)];
            out.extend(markdown::render(&entry.text, theme));
            out
        }
        Kind::System(kind) => {
            let style = match kind {
                SystemKind::Info => theme.info(),
                SystemKind::Warning => theme.warning(),
                SystemKind::Good => theme.good(),
                SystemKind::Bad => theme.bad(),
                SystemKind::Output => theme.dim(),
            };
            if *kind == SystemKind::Output {
                let mut lines = entry.text.lines();
                let mut out = vec![RLine::new(
                    vec![Span::styled(
                        lines.next().unwrap_or_default().to_string(),
                        style,
                    )],
                    2,
                )];
                for l in lines {
                    out.push(RLine::new(
                        vec![Span::raw("  "), Span::styled(l.to_string(), theme.plain())],
                        2,
                    ));
                }
                return out;
            }
            entry
                .text
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    let mark = if i == 0 { "• " } else { "  " };
                    RLine::new(
                        vec![
                            Span::styled(mark, style),
                            Span::styled(l.to_string(), style),
                        ],
                        2,
                    )
                })
                .collect()
        }
    }
}

/// Makes sure every entry's wrapped lines are cached for `width`. Finished entries are
/// rendered once per width; the streaming one again only when its text grew.
pub fn layout(app: &mut App, width: usize) -> usize {
    let theme = app.theme;
    let mut total = 0;
    for e in &mut app.entries {
        let fresh = matches!(&e.cache, Some((w, len, _)) if *w == width && *len == e.text.len());
        if !fresh {
            let mut lines = Vec::new();
            markdown::wrap(&entry_lines(e, &theme), width, &mut lines);
            lines.push(Line::default());
            e.cache = Some((width, e.text.len(), lines));
        }
        total += e.cache.as_ref().map_or(0, |c| c.2.len());
    }
    total
}

fn draw_conversation(frame: &mut Frame, area: Rect, app: &mut App) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let width = area.width as usize;
    let height = area.height as usize;
    let before = app.total_lines;
    let total = layout(app, width);
    // Scrolled up while output arrives: keep the same lines in view.
    if app.scroll > 0 && total > before && before > 0 {
        app.scroll += total - before;
    }
    app.total_lines = total;
    app.view_height = height;
    app.scroll = app.scroll.min(total.saturating_sub(height));

    if app.entries.is_empty() {
        let t = &app.theme;
        let lines = vec![
            Line::default(),
            Line::from(Span::styled("  vibe chat", t.assistant())),
            Line::default(),
            Line::from(Span::styled(
                "  Ask about the code, or ask for a change. Edits are shown as diffs to accept.",
                t.plain(),
            )),
            Line::from(Span::styled(
                "  /help lists commands · Ctrl-P palette · Ctrl-C cancels · Ctrl-D quits",
                t.dim(),
            )),
        ];
        frame.render_widget(Paragraph::new(lines), area);
        return;
    }

    let bottom = total - app.scroll;
    let top = bottom.saturating_sub(height);
    let mut visible: Vec<Line<'static>> = Vec::with_capacity(height);
    let mut at = 0;
    for e in &app.entries {
        let lines = e.cache.as_ref().map_or(&[][..], |c| &c.2[..]);
        let end = at + lines.len();
        if end > top && at < bottom {
            let from = top.saturating_sub(at);
            let to = (bottom - at).min(lines.len());
            visible.extend(lines[from..to].iter().cloned());
        }
        at = end;
        if at >= bottom {
            break;
        }
    }
    frame.render_widget(Paragraph::new(visible), area);
    if app.scroll > 0 {
        let label = format!(" ↓ {} more ", thousands(app.scroll));
        let w = label.width() as u16;
        if area.width > w {
            let r = Rect::new(area.right() - w, area.bottom() - 1, w, 1);
            frame.render_widget(Paragraph::new(label).style(app.theme.selected()), r);
        }
    }
}

fn draw_side(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let title = format!(
        " context {}/{} ",
        thousands(app.context_used),
        thousands(app.context_budget)
    );
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(t.border())
        .title(Span::styled(title, t.dim()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines = Vec::new();
    if app.files.is_empty() {
        lines.push(Line::from(Span::styled(" no files yet", t.dim())));
    }
    for f in app.files.iter().take(inner.height as usize) {
        let mark = match f.included.as_str() {
            "full" => "●",
            "partial" => "◐",
            "skeleton" => "○",
            "added" => "+",
            _ => "·",
        };
        let tokens = thousands(f.tokens);
        let room = width.saturating_sub(tokens.len() + 4);
        let path = elide_left(&f.path, room);
        let pad = room.saturating_sub(path.width());
        lines.push(Line::from(vec![
            Span::styled(format!(" {mark} "), t.dim()),
            Span::raw(path),
            Span::raw(" ".repeat(pad + 1)),
            Span::styled(tokens, t.dim()),
        ]));
    }
    if app.files.len() > inner.height as usize
        && let Some(last) = lines.last_mut()
    {
        *last = Line::from(Span::styled(
            format!(" … {} more", app.files.len() + 1 - inner.height as usize),
            t.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Keeps the end of a path (the file name matters most): `…/src/tui/app.rs`.
fn elide_left(s: &str, max: usize) -> String {
    if s.width() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: Vec<char> = Vec::new();
    let mut w = 1;
    for c in s.chars().rev() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw > max {
            break;
        }
        w += cw;
        out.push(c);
    }
    out.push('…');
    out.into_iter().rev().collect()
}

fn draw_input(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let hint = match app.mode {
        Mode::Review => " a accept · r reject · A all · R none · Tab next · Esc back ",
        Mode::Palette => " ↑↓ choose · Enter run · Esc close ",
        Mode::Chat => " Enter send · Alt-Enter newline · Ctrl-P commands ",
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(t.border())
        .title(Span::styled(hint, t.dim()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width < 3 {
        return;
    }
    let prompt_w = 2usize;
    let text_w = inner.width as usize - prompt_w;
    let lines = app.input.lines();
    let (row, col) = app.input.cursor();
    let h = inner.height as usize;
    let first = (row + 1).saturating_sub(h);
    let cursor_x: usize = lines[row].chars().take(col).collect::<String>().width();
    let shift = (cursor_x + 1).saturating_sub(text_w);
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate().skip(first).take(h) {
        let prompt = if i == 0 { "› " } else { "  " };
        let shown = if i == row && shift > 0 {
            skip_columns(l, shift)
        } else {
            l.clone()
        };
        out.push(Line::from(vec![
            Span::styled(prompt, t.user()),
            Span::raw(shown),
        ]));
    }
    if app.input.is_empty() && app.mode == Mode::Chat {
        let placeholder = if app.streaming.is_some() {
            "streaming… Ctrl-C cancels"
        } else {
            "Ask vibe, or type / for commands"
        };
        out = vec![Line::from(vec![
            Span::styled("› ", t.user()),
            Span::styled(placeholder, t.dim()),
        ])];
    }
    frame.render_widget(Paragraph::new(out), inner);
    if app.mode == Mode::Chat {
        let x = inner.x + (prompt_w + cursor_x - shift) as u16;
        let y = inner.y + (row - first) as u16;
        frame.set_cursor_position((x.min(inner.right().saturating_sub(1)), y));
    }
}

fn skip_columns(s: &str, cols: usize) -> String {
    let mut w = 0;
    let mut out = String::new();
    for c in s.chars() {
        if w >= cols {
            out.push(c);
        }
        w += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    }
    out
}

fn draw_status(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let base = t.status();
    let mut left = vec![Span::styled(
        format!(" {}/{} ", app.provider, app.model),
        base.add_modifier(ratatui::style::Modifier::BOLD),
    )];
    let sep = Span::styled("│", base);
    left.push(sep.clone());
    left.push(Span::styled(
        format!(
            " ctx {}/{} ",
            thousands(app.context_used),
            thousands(app.context_budget)
        ),
        base,
    ));
    left.push(sep.clone());
    left.push(Span::styled(format!(" ${:.4} ", app.session_cost), base));
    if let Some((spent, limit)) = app.budget
        && limit > 0.0
    {
        let ratio = (spent / limit).clamp(0.0, 1.0);
        let cells = 8usize;
        let full = (ratio * cells as f64).round() as usize;
        left.push(sep.clone());
        left.push(Span::styled(" budget ", base));
        left.push(Span::styled("█".repeat(full), base.patch(t.gauge(ratio))));
        left.push(Span::styled("░".repeat(cells - full), base));
        left.push(Span::styled(format!(" {:.0}% ", ratio * 100.0), base));
    }
    let right = if app.quit_armed {
        Span::styled(" Ctrl-C again to quit ", base.patch(t.warning()))
    } else if app.streaming.is_some() {
        Span::styled(" streaming · Ctrl-C cancels ", base.patch(t.info()))
    } else if let Some(what) = &app.working {
        Span::styled(format!(" {what} · Ctrl-C cancels "), base.patch(t.info()))
    } else if app.pending() > 0 {
        Span::styled(
            format!(" {} edit(s) to review · Ctrl-R ", app.pending()),
            base.patch(t.warning()),
        )
    } else {
        Span::styled(" Ctrl-P commands ", base)
    };
    let left_w: usize = left.iter().map(|s| s.width()).sum();
    let right_w = right.width();
    let width = area.width as usize;
    let mut spans = left;
    if left_w + right_w <= width {
        spans.push(Span::styled(" ".repeat(width - left_w - right_w), base));
        spans.push(right);
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(base), area);
}

fn draw_palette(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let matches = app.palette.matches();
    let w = area.width.saturating_sub(4).min(64);
    let h = (matches.len() as u16 + 3).min(area.height);
    if w < 10 || h < 3 {
        return;
    }
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + 1.min(area.height - h),
        w,
        h,
    );
    frame.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border())
        .title(Span::styled(" commands ", t.heading()));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let mut lines = vec![Line::from(vec![
        Span::styled("> ", t.user()),
        Span::raw(app.palette.query.clone()),
    ])];
    let rows = inner.height.saturating_sub(1) as usize;
    let first = (app.palette.selected + 1).saturating_sub(rows);
    for (i, item) in matches.iter().enumerate().skip(first).take(rows) {
        let style = if i == app.palette.selected {
            t.selected()
        } else {
            Style::new()
        };
        let label_style = match item.action {
            Action::Command { .. } => t.user(),
            _ => t.assistant(),
        };
        let label = format!(" {:<18}", item.label);
        let help_w = (inner.width as usize).saturating_sub(label.width());
        let help: String = item.help.chars().take(help_w).collect();
        let pad = help_w.saturating_sub(help.width());
        lines.push(
            Line::from(vec![
                Span::styled(label, label_style),
                Span::styled(help, t.dim()),
                Span::raw(" ".repeat(pad)),
            ])
            .style(style),
        );
    }
    if matches.is_empty() {
        lines.push(Line::from(Span::styled(" no match", t.dim())));
    }
    frame.render_widget(Paragraph::new(lines), inner);
    let x = inner.x + 2 + app.palette.query.width() as u16;
    frame.set_cursor_position((x.min(inner.right().saturating_sub(1)), inner.y));
}

/// Diff lines coloured: additions, removals, hunk headers, file headers.
pub fn diff_lines(diff: &str, theme: &Theme) -> Vec<RLine> {
    diff.lines()
        .map(|l| {
            let style = if l.starts_with("+++") || l.starts_with("---") {
                theme.heading()
            } else if l.starts_with('+') {
                theme.added()
            } else if l.starts_with('-') {
                theme.removed()
            } else if l.starts_with("@@") {
                theme.hunk()
            } else {
                theme.plain()
            };
            RLine::new(vec![Span::styled(l.to_string(), style)], 1)
        })
        .collect()
}

fn draw_review(frame: &mut Frame, area: Rect, app: &mut App) {
    let t = app.theme;
    let pending = app.pending();
    let title = format!(
        " review edits · {} pending of {} ",
        pending,
        app.proposals.len()
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border())
        .title(Span::styled(title, t.heading()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 || app.proposals.is_empty() {
        return;
    }
    let list_h = app
        .proposals
        .len()
        .min(5)
        .min(inner.height as usize / 3)
        .max(1);
    let [list, diff] =
        Layout::vertical([Constraint::Length(list_h as u16), Constraint::Min(1)]).areas(inner);
    let sel = app.review_selected.min(app.proposals.len() - 1);
    let first = (sel + 1).saturating_sub(list_h);
    let mut rows = Vec::new();
    for (i, p) in app.proposals.iter().enumerate().skip(first).take(list_h) {
        let (mark, style) = match p.decision {
            Decision::Pending => ("?", t.warning()),
            Decision::Accepted => ("✓", t.good()),
            Decision::Rejected => ("✗", t.bad()),
        };
        let added = p
            .diff
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .count();
        let removed = p
            .diff
            .lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .count();
        let line = Line::from(vec![
            Span::styled(format!(" {mark} "), style),
            Span::raw(p.path.clone()),
            Span::styled(if p.new_file { " (new)" } else { "" }, t.dim()),
            Span::styled(format!("  +{added}"), t.added()),
            Span::styled(format!(" -{removed}"), t.removed()),
        ]);
        rows.push(if i == sel {
            line.style(t.selected())
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(rows), list);

    let mut lines = Vec::new();
    markdown::wrap(
        &diff_lines(&app.proposals[sel].diff, &t),
        diff.width as usize,
        &mut lines,
    );
    let h = diff.height as usize;
    app.view_height = h;
    app.review_scroll = app.review_scroll.min(lines.len().saturating_sub(h));
    let shown: Vec<Line> = lines.into_iter().skip(app.review_scroll).take(h).collect();
    frame.render_widget(Paragraph::new(shown), diff);
}
