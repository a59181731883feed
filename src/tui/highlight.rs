//! Keyword-level syntax highlighting for code blocks: comments, strings, numbers, keywords
//! and type-like names, per language, one line at a time (block comments carry over lines).
//! Small and fast on purpose: a code block is re-highlighted only when its message changes.

use ratatui::text::Span;

use super::theme::Theme;

struct Lang {
    /// Space-separated.
    keywords: &'static str,
    line_comment: &'static [&'static str],
    block_comment: Option<(&'static str, &'static str)>,
    /// Characters that open a string (closed by the same character, `\` escapes).
    quotes: &'static [char],
}

const RUST: Lang = Lang {
    keywords: "as async await break const continue crate dyn else enum extern false fn for if \
         impl in let loop match mod move mut pub ref return self Self static struct super \
         trait true type unsafe use where while",
    line_comment: &["//"],
    block_comment: Some(("/*", "*/")),
    quotes: &['"'],
};
const PYTHON: Lang = Lang {
    keywords: "False None True and as assert async await break class continue def del elif else \
         except finally for from global if import in is lambda nonlocal not or pass raise \
         return try while with yield self",
    line_comment: &["#"],
    block_comment: None,
    quotes: &['"', '\''],
};
const JS: Lang = Lang {
    keywords: "async await break case catch class const continue default delete do else export \
         extends false finally for from function if import in instanceof interface let \
         new null return static super switch this throw true try type typeof undefined \
         var void while yield enum implements readonly",
    line_comment: &["//"],
    block_comment: Some(("/*", "*/")),
    quotes: &['"', '\'', '`'],
};
const GO: Lang = Lang {
    keywords: "break case chan const continue default defer else fallthrough for func go goto \
         if import interface map package range return select struct switch type var nil \
         true false",
    line_comment: &["//"],
    block_comment: Some(("/*", "*/")),
    quotes: &['"', '`', '\''],
};
const C: Lang = Lang {
    keywords: "auto break case char class const continue default delete do double else enum \
         extern float for goto if int long namespace new nullptr private protected public \
         return short signed sizeof static struct switch template this typedef typename \
         union unsigned using virtual void volatile while true false NULL #include \
         #define #ifdef #ifndef #endif #if #else",
    line_comment: &["//"],
    block_comment: Some(("/*", "*/")),
    quotes: &['"', '\''],
};
const JAVA: Lang = Lang {
    keywords: "abstract boolean break byte case catch char class continue default do double \
         else enum extends final finally float for if implements import instanceof int \
         interface long new null package private protected public return short static \
         super switch this throw throws try void while true false var",
    line_comment: &["//"],
    block_comment: Some(("/*", "*/")),
    quotes: &['"', '\''],
};
const SHELL: Lang = Lang {
    keywords: "if then else elif fi for while do done case esac function in return export local \
         echo cd set",
    line_comment: &["#"],
    block_comment: None,
    quotes: &['"', '\''],
};
const DATA: Lang = Lang {
    keywords: "true false null",
    line_comment: &["#"],
    block_comment: None,
    quotes: &['"', '\''],
};

fn lang(name: &str) -> Option<&'static Lang> {
    let name = name.trim().to_ascii_lowercase();
    // "```rust,ignore" or "```python title=x": the first word names the language.
    let name = name.split([',', ' ', '{']).next().unwrap_or_default();
    Some(match name {
        "rust" | "rs" => &RUST,
        "python" | "py" | "python3" => &PYTHON,
        "javascript" | "js" | "jsx" | "typescript" | "ts" | "tsx" | "mjs" => &JS,
        "go" | "golang" => &GO,
        "c" | "h" | "cpp" | "c++" | "cc" | "hpp" | "cxx" => &C,
        "java" | "kotlin" | "kt" => &JAVA,
        "sh" | "bash" | "shell" | "zsh" | "console" => &SHELL,
        "toml" | "yaml" | "yml" | "json" | "ini" => &DATA,
        _ => return None,
    })
}

/// Highlights the lines of one code block. `lang` is the fence's info string; an unknown
/// language gets the plain code style.
pub fn highlight(code: &str, lang_name: &str, theme: &Theme) -> Vec<Vec<Span<'static>>> {
    let Some(lang) = lang(lang_name) else {
        return code
            .lines()
            .map(|l| vec![Span::styled(l.to_string(), theme.code())])
            .collect();
    };
    let mut in_block = false;
    code.lines()
        .map(|line| highlight_line(line, lang, theme, &mut in_block))
        .collect()
}

fn highlight_line(
    line: &str,
    lang: &Lang,
    theme: &Theme,
    in_block: &mut bool,
) -> Vec<Span<'static>> {
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut push = |text: &str, style| {
        if !text.is_empty() {
            out.push(Span::styled(text.to_string(), style));
        }
    };
    let mut rest = line;
    let mut plain_start = 0usize; // byte offset in `rest` of pending plain text
    loop {
        if *in_block {
            let Some((_, close)) = lang.block_comment else {
                *in_block = false;
                continue;
            };
            match rest.find(close) {
                Some(i) => {
                    push(&rest[..i + close.len()], theme.comment());
                    rest = &rest[i + close.len()..];
                    *in_block = false;
                }
                None => {
                    push(rest, theme.comment());
                    return out;
                }
            }
        }
        let mut chars = rest[plain_start..].char_indices();
        let mut token: Option<(usize, usize, ratatui::style::Style, bool)> = None; // (start, end, style, opens block)
        while let Some((i, c)) = chars.next() {
            let at = plain_start + i;
            let tail = &rest[at..];
            if lang.line_comment.iter().any(|p| tail.starts_with(p)) {
                token = Some((at, rest.len(), theme.comment(), false));
                break;
            }
            if let Some((open, close)) = lang.block_comment
                && tail.starts_with(open)
            {
                match tail[open.len()..].find(close) {
                    Some(j) => {
                        token = Some((
                            at,
                            at + open.len() + j + close.len(),
                            theme.comment(),
                            false,
                        ))
                    }
                    None => token = Some((at, rest.len(), theme.comment(), true)),
                }
                break;
            }
            if lang.quotes.contains(&c) {
                let mut end = rest.len();
                let mut escaped = false;
                for (j, d) in tail.char_indices().skip(1) {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == c {
                        end = at + j + d.len_utf8();
                        break;
                    }
                }
                token = Some((at, end, theme.string(), false));
                break;
            }
            let prev_is_word = rest[..at]
                .chars()
                .next_back()
                .is_some_and(|p| p.is_alphanumeric() || p == '_');
            if !prev_is_word && (c.is_alphabetic() || c == '_' || c == '#') {
                let end = tail
                    .char_indices()
                    .skip(1)
                    .find(|&(_, d)| !(d.is_alphanumeric() || d == '_'))
                    .map_or(rest.len(), |(j, _)| at + j);
                let word = &rest[at..end];
                let style = if lang.keywords.split_ascii_whitespace().any(|k| k == word) {
                    Some(theme.keyword())
                } else if c.is_uppercase() && word.len() > 1 {
                    Some(theme.type_name())
                } else {
                    None
                };
                match style {
                    Some(s) => {
                        token = Some((at, end, s, false));
                        break;
                    }
                    None => {
                        // Skip the word as plain text.
                        let skip = word.chars().count() - 1;
                        for _ in 0..skip {
                            chars.next();
                        }
                        continue;
                    }
                }
            }
            if !prev_is_word && c.is_ascii_digit() {
                let end = tail
                    .char_indices()
                    .find(|&(_, d)| !(d.is_ascii_alphanumeric() || d == '.' || d == '_'))
                    .map_or(rest.len(), |(j, _)| at + j);
                token = Some((at, end, theme.number(), false));
                break;
            }
        }
        match token {
            Some((start, end, style, opens)) => {
                push(&rest[..start], theme.code());
                push(&rest[start..end], style);
                rest = &rest[end..];
                plain_start = 0;
                if opens {
                    *in_block = true;
                    return out;
                }
                if rest.is_empty() {
                    return out;
                }
            }
            None => {
                push(rest, theme.code());
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(code: &str, lang: &str) -> Vec<(String, bool)> {
        let theme = Theme { color: true };
        highlight(code, lang, &theme)
            .into_iter()
            .flatten()
            .map(|s| (s.content.to_string(), s.style == theme.keyword()))
            .collect()
    }

    #[test]
    fn keywords_strings_and_comments() {
        let spans = kinds("fn main() { let s = \"fn\"; } // fn", "rust");
        let keywords: Vec<_> = spans.iter().filter(|s| s.1).map(|s| s.0.as_str()).collect();
        assert_eq!(keywords, ["fn", "let"]);
        let text: String = spans.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(text, "fn main() { let s = \"fn\"; } // fn");
    }

    #[test]
    fn block_comments_span_lines() {
        let theme = Theme { color: true };
        let lines = highlight("/* a\nfn b */ fn", "c", &theme);
        assert_eq!(lines[1][0].content, "fn b */");
        assert_eq!(lines[1][0].style, theme.comment());
    }

    #[test]
    fn unknown_language_is_plain() {
        assert_eq!(kinds("fn x", "brainfuck"), [("fn x".to_string(), false)]);
    }
}
