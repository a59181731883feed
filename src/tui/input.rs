//! The multi-line input ("composer"): lines of text, a cursor, and the history of sent
//! messages. Up/Down move between lines and reach the history only from the first / last line,
//! so editing a multi-line message never loses it. Invariant: `row < lines.len()` and `col` is
//! a char index `<= lines[row].chars().count()`.

#[derive(Debug, Clone)]
pub struct Input {
    lines: Vec<String>,
    row: usize,
    col: usize,
    history: Vec<String>,
    /// Position while browsing the history (`None`: editing the draft).
    browsing: Option<usize>,
    /// What was typed before browsing started, given back after the newest entry.
    draft: String,
}

impl Default for Input {
    fn default() -> Self {
        Self {
            lines: vec![String::new()],
            row: 0,
            col: 0,
            history: Vec::new(),
            browsing: None,
            draft: String::new(),
        }
    }
}

fn byte_at(s: &str, col: usize) -> usize {
    s.char_indices().nth(col).map_or(s.len(), |(i, _)| i)
}

impl Input {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
    pub fn lines(&self) -> &[String] {
        &self.lines
    }
    pub fn is_empty(&self) -> bool {
        self.lines.len() == 1 && self.lines[0].is_empty()
    }
    /// (row, column in chars) of the cursor.
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    pub fn set_text(&mut self, text: &str) {
        self.lines = text.split('\n').map(str::to_string).collect();
        if self.lines.is_empty() {
            self.lines.push(String::new());
        }
        self.row = self.lines.len() - 1;
        self.col = self.lines[self.row].chars().count();
    }

    pub fn clear(&mut self) {
        self.lines = vec![String::new()];
        self.row = 0;
        self.col = 0;
        self.browsing = None;
    }

    /// Takes the text out (for sending), remembers it in the history, and empties the input.
    pub fn submit(&mut self) -> String {
        let text = self.text();
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        self.clear();
        self.draft.clear();
        text
    }

    pub fn insert_char(&mut self, c: char) {
        let line = &mut self.lines[self.row];
        let at = byte_at(line, self.col);
        line.insert(at, c);
        self.col += 1;
    }

    /// Inserts text as is (a paste): newlines split lines, `\r\n` and `\r` count as `\n`.
    pub fn insert_str(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let line = &mut self.lines[self.row];
        let at = byte_at(line, self.col);
        let tail = line.split_off(at);
        let mut parts = text.split('\n');
        if let Some(first) = parts.next() {
            line.push_str(first);
        }
        let mut row = self.row;
        for part in parts {
            row += 1;
            self.lines.insert(row, part.to_string());
        }
        self.row = row;
        self.col = self.lines[row].chars().count();
        self.lines[row].push_str(&tail);
    }

    pub fn newline(&mut self) {
        self.insert_str("\n");
    }

    pub fn backspace(&mut self) {
        if self.col > 0 {
            let line = &mut self.lines[self.row];
            let at = byte_at(line, self.col - 1);
            line.remove(at);
            self.col -= 1;
        } else if self.row > 0 {
            let line = self.lines.remove(self.row);
            self.row -= 1;
            self.col = self.lines[self.row].chars().count();
            self.lines[self.row].push_str(&line);
        }
    }

    pub fn delete(&mut self) {
        let len = self.lines[self.row].chars().count();
        if self.col < len {
            let line = &mut self.lines[self.row];
            let at = byte_at(line, self.col);
            line.remove(at);
        } else if self.row + 1 < self.lines.len() {
            let next = self.lines.remove(self.row + 1);
            self.lines[self.row].push_str(&next);
        }
    }

    /// Deletes the word before the cursor (Ctrl-W).
    pub fn delete_word(&mut self) {
        let line: Vec<char> = self.lines[self.row].chars().collect();
        let mut start = self.col;
        while start > 0 && line[start - 1].is_whitespace() {
            start -= 1;
        }
        while start > 0 && !line[start - 1].is_whitespace() {
            start -= 1;
        }
        if start == self.col {
            self.backspace();
            return;
        }
        let s = &mut self.lines[self.row];
        let (a, b) = (byte_at(s, start), byte_at(s, self.col));
        s.replace_range(a..b, "");
        self.col = start;
    }

    /// Deletes from the line start to the cursor (Ctrl-U).
    pub fn delete_to_start(&mut self) {
        let s = &mut self.lines[self.row];
        let b = byte_at(s, self.col);
        s.replace_range(..b, "");
        self.col = 0;
    }

    pub fn left(&mut self) {
        if self.col > 0 {
            self.col -= 1;
        } else if self.row > 0 {
            self.row -= 1;
            self.col = self.lines[self.row].chars().count();
        }
    }

    pub fn right(&mut self) {
        if self.col < self.lines[self.row].chars().count() {
            self.col += 1;
        } else if self.row + 1 < self.lines.len() {
            self.row += 1;
            self.col = 0;
        }
    }

    pub fn home(&mut self) {
        self.col = 0;
    }

    pub fn end(&mut self) {
        self.col = self.lines[self.row].chars().count();
    }

    /// Up: the line above, or the previous history entry from the first line.
    pub fn up(&mut self) {
        if self.row > 0 {
            self.row -= 1;
            self.col = self.col.min(self.lines[self.row].chars().count());
            return;
        }
        let next = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.draft = self.text();
                self.history.len() - 1
            }
            Some(0) => return,
            Some(i) => i - 1,
        };
        self.browsing = Some(next);
        let entry = self.history[next].clone();
        self.set_text(&entry);
        // Land on the first line so that a second Up goes on through the history.
        self.row = 0;
        self.col = self.col.min(self.lines[0].chars().count());
    }

    /// Down: the line below, or the next history entry (then the draft) from the last line.
    pub fn down(&mut self) {
        if self.row + 1 < self.lines.len() {
            self.row += 1;
            self.col = self.col.min(self.lines[self.row].chars().count());
            return;
        }
        let Some(i) = self.browsing else { return };
        if i + 1 < self.history.len() {
            self.browsing = Some(i + 1);
            let entry = self.history[i + 1].clone();
            self.set_text(&entry);
        } else {
            self.browsing = None;
            let draft = std::mem::take(&mut self.draft);
            self.set_text(&draft);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_newlines_and_backspace() {
        let mut i = Input::default();
        for c in "ab".chars() {
            i.insert_char(c);
        }
        i.newline();
        i.insert_char('c');
        assert_eq!(i.text(), "ab\nc");
        i.backspace();
        i.backspace();
        assert_eq!(i.text(), "ab");
        assert_eq!(i.cursor(), (0, 2));
    }

    #[test]
    fn paste_inserts_as_is() {
        let mut i = Input::default();
        i.insert_str("xy");
        i.left();
        i.insert_str("1\r\n2\n3");
        assert_eq!(i.text(), "x1\n2\n3y");
        assert_eq!(i.cursor(), (2, 1));
    }

    #[test]
    fn history_from_first_and_last_line() {
        let mut i = Input::default();
        i.insert_str("one");
        i.submit();
        i.insert_str("two\nlines");
        i.submit();
        i.insert_str("draft");
        i.up();
        assert_eq!(i.text(), "two\nlines");
        assert_eq!(i.cursor().0, 0);
        i.up();
        assert_eq!(i.text(), "one");
        i.up();
        assert_eq!(i.text(), "one");
        i.down();
        assert_eq!(i.text(), "two\nlines");
        assert_eq!(i.cursor().0, 1, "coming down lands on the last line");
        i.down();
        assert_eq!(i.text(), "draft");
    }

    #[test]
    fn words_and_unicode() {
        let mut i = Input::default();
        i.insert_str("héllo wörld");
        i.delete_word();
        assert_eq!(i.text(), "héllo ");
        i.home();
        i.delete();
        assert_eq!(i.text(), "éllo ");
    }
}
