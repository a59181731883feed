//! The command palette (Ctrl-P): every slash command and TUI action, filtered by a fuzzy
//! query (the letters in order, anywhere; tighter and earlier matches rank first).

/// What choosing an item does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A slash command; `takes_args` ones are put in the input to be completed.
    Command {
        name: &'static str,
        takes_args: bool,
    },
    Review,
    ToggleSidePane,
    Quit,
}

#[derive(Debug, Clone, Copy)]
pub struct Item {
    pub label: &'static str,
    pub help: &'static str,
    pub action: Action,
}

const fn cmd(
    label: &'static str,
    name: &'static str,
    takes_args: bool,
    help: &'static str,
) -> Item {
    Item {
        label,
        help,
        action: Action::Command { name, takes_args },
    }
}

/// Every item, in the order shown for an empty query.
pub const ITEMS: &[Item] = &[
    cmd("/add", "add", true, "add files to the context"),
    cmd("/drop", "drop", true, "drop files from the context"),
    cmd("/files", "files", false, "list the files in the context"),
    cmd("/map", "map", false, "show the repo map"),
    cmd(
        "/context",
        "context",
        true,
        "show the context a task would get",
    ),
    cmd("/ask", "ask", true, "ask without edits"),
    cmd("/heal", "heal", true, "validate and fix files"),
    cmd("/undo", "undo", false, "undo the last applied edits"),
    cmd("/diff", "diff", false, "show the changes of this session"),
    cmd("/cost", "cost", false, "show spend and budgets"),
    cmd("/tokens", "tokens", true, "count tokens of files"),
    cmd("/model", "model", true, "switch model (provider/model)"),
    cmd("/clear", "clear", false, "clear the conversation history"),
    cmd("/help", "help", false, "list commands and keys"),
    Item {
        label: "Review edits",
        help: "open the diff review (Ctrl-R)",
        action: Action::Review,
    },
    Item {
        label: "Toggle side pane",
        help: "show or hide the context files (Ctrl-B)",
        action: Action::ToggleSidePane,
    },
    Item {
        label: "/quit",
        help: "leave vibe chat",
        action: Action::Quit,
    },
];

/// Names accepted after a slash in the input (besides `quit`).
pub fn is_command(name: &str) -> bool {
    ITEMS
        .iter()
        .any(|i| matches!(i.action, Action::Command { name: n, .. } if n == name))
}

/// Fuzzy score of `query` against `text` (lower is better), or None if the letters of the
/// query do not all appear in order.
pub fn score(query: &str, text: &str) -> Option<usize> {
    if query.is_empty() {
        return Some(0);
    }
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let mut first = None;
    let mut last = 0;
    let mut pos = 0;
    for q in query.to_lowercase().chars().filter(|c| !c.is_whitespace()) {
        let found = text[pos..].iter().position(|&c| c == q)?;
        let at = pos + found;
        first.get_or_insert(at);
        last = at;
        pos = at + 1;
    }
    let first = first.unwrap_or(0);
    // Span of the match first, then how late it starts.
    Some((last - first) * 4 + first)
}

#[derive(Debug, Clone, Default)]
pub struct Palette {
    pub query: String,
    pub selected: usize,
}

impl Palette {
    /// The matching items, best first (ties keep the list order).
    pub fn matches(&self) -> Vec<&'static Item> {
        let q = self.query.trim_start_matches('/');
        let mut v: Vec<(usize, usize, &'static Item)> = ITEMS
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let label = score(q, item.label);
                let help = score(q, item.help).map(|s| s + 1000);
                let best = match (label, help) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                best.map(|s| (s, i, item))
            })
            .collect();
        v.sort_by_key(|&(s, i, _)| (s, i));
        v.into_iter().map(|(_, _, item)| item).collect()
    }

    pub fn chosen(&self) -> Option<&'static Item> {
        self.matches().get(self.selected).copied()
    }

    pub fn up(&mut self) {
        self.selected = self.selected.saturating_sub(1);
    }

    pub fn down(&mut self) {
        let n = self.matches().len();
        if self.selected + 1 < n {
            self.selected += 1;
        }
    }

    pub fn type_char(&mut self, c: char) {
        self.query.push(c);
        self.selected = 0;
    }

    pub fn backspace(&mut self) {
        self.query.pop();
        self.selected = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_ranks_tight_matches_first() {
        let p = Palette {
            query: "tok".into(),
            selected: 0,
        };
        assert_eq!(p.matches()[0].label, "/tokens");
        let p = Palette {
            query: "/cl".into(),
            selected: 0,
        };
        assert_eq!(p.matches()[0].label, "/clear");
        assert!(score("zz", "/add").is_none());
    }

    #[test]
    fn every_command_is_known() {
        for name in [
            "add", "drop", "files", "map", "context", "ask", "heal", "undo", "diff", "cost",
            "tokens", "model", "clear", "help",
        ] {
            assert!(is_command(name), "{name}");
        }
        assert!(!is_command("quit"));
    }
}
