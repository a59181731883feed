//! Diagnostics and the parsers that turn each validator's output into them.
//!
//! Invariant: every [`Diagnostic::file`] is relative to the root that was validated (`/`
//! separators), whatever the tool printed (absolute paths, paths relative to a crate or package
//! directory, paths inside an overlay); a tool message that names no file gets `line` 0.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The validation stages, in the order they run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    #[default]
    Syntax,
    Compile,
    Lint,
    Test,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Syntax, Stage::Compile, Stage::Lint, Stage::Test];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Syntax => "syntax",
            Stage::Compile => "compile",
            Stage::Lint => "lint",
            Stage::Test => "test",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Stage, String> {
        Stage::ALL
            .into_iter()
            .find(|st| st.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| format!("unknown stage `{s}`: expected syntax, compile, lint or test"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }

    /// `error`, `fatal error`, `warning`, `note`, `help`, `info`, ... as tools spell them.
    fn parse(s: &str) -> Severity {
        let s = s.to_ascii_lowercase();
        if s.contains("error") || s == "failure" {
            Severity::Error
        } else if s.starts_with("warn") {
            Severity::Warning
        } else {
            Severity::Note
        }
    }
}

/// One problem a validator found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Relative to the validated root; the first validated file when the tool named none.
    pub file: String,
    /// 1-based; 0 when the tool gave no line.
    pub line: u32,
    /// 1-based.
    pub column: Option<u32>,
    pub severity: Severity,
    pub code: Option<String>,
    pub message: String,
    pub stage: Stage,
    /// The validator's name (`ruff`, `cargo check`, ...).
    pub source: String,
}

impl std::fmt::Display for Diagnostic {
    /// `file:line:col: severity[code]: message  (source)`; `file: severity...` when the tool
    /// gave no line (a timeout, a failed exit without a located error).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": {}", self.severity.name())?;
        if let Some(code) = &self.code {
            write!(f, "[{code}]")?;
        }
        write!(f, ": {}  ({})", self.message, self.source)
    }
}

/// How a validator's output is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parser {
    /// Exit status only.
    None,
    /// `file:line[:col]: [severity:] message` lines.
    Generic,
    PyCompile,
    Mypy,
    Pyright,
    Ruff,
    Flake8,
    Pytest,
    NodeCheck,
    Tsc,
    Eslint,
    Cargo,
    CargoTest,
    Go,
    GoTest,
    Javac,
    Gcc,
}

/// Where the tool ran, to turn the paths it prints into paths relative to the root.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The validated root, and its canonical form.
    pub roots: Vec<PathBuf>,
    /// The tool's working directory (absolute).
    pub cwd: PathBuf,
    /// The files being validated (relative to the root): a tool that prints only a file name
    /// (go test) is matched against them; the first is used when a tool names no file.
    pub files: Vec<String>,
}

impl Paths {
    pub fn new(root: &Path, cwd: &Path, files: &[String]) -> Paths {
        let mut roots = vec![root.to_path_buf()];
        if let Ok(c) = std::fs::canonicalize(root)
            && c != root
        {
            roots.push(c);
        }
        // An overlay's files may be reported through the original tree (symlinks resolved).
        if let Some(orig) = crate::heal::overlay::original_of(root) {
            roots.push(orig);
        }
        Paths {
            roots,
            cwd: cwd.to_path_buf(),
            files: files.to_vec(),
        }
    }

    /// The path a tool printed, relative to the root (lexically normalised).
    pub fn rel(&self, printed: &str) -> String {
        let printed = printed.trim();
        let p = Path::new(printed);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        };
        let abs = normalize(&abs);
        for r in &self.roots {
            if let Ok(rel) = abs.strip_prefix(normalize(r)) {
                return rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
            }
        }
        printed.to_string()
    }

    /// The file for a message with no file of its own.
    fn default_file(&self) -> String {
        self.files.first().cloned().unwrap_or_default()
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system.
pub(crate) fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// What a parser is given.
pub struct Output<'a> {
    pub stdout: &'a str,
    pub stderr: &'a str,
    pub stage: Stage,
    pub source: &'a str,
}

/// Parses a validator's output into diagnostics (duplicates removed, order kept).
pub fn parse(parser: Parser, out: &Output, paths: &Paths) -> Vec<Diagnostic> {
    let mut ds = Vec::new();
    let mut push = |file: String,
                    line: u32,
                    column: Option<u32>,
                    severity: Severity,
                    code: Option<String>,
                    message: String| {
        ds.push(Diagnostic {
            file,
            line,
            column,
            severity,
            code,
            message: message.trim().to_string(),
            stage: out.stage,
            source: out.source.to_string(),
        })
    };
    let both = format!("{}\n{}", out.stdout, out.stderr);
    match parser {
        Parser::None => {}
        Parser::Generic => generic(&both, paths, &mut push),
        Parser::PyCompile => python_traceback(&both, paths, &mut push),
        Parser::Mypy => mypy(out.stdout, paths, &mut push),
        Parser::Pyright => pyright(out.stdout, paths, &mut push),
        Parser::Ruff => ruff(out.stdout, paths, &mut push),
        Parser::Flake8 => flake8(out.stdout, paths, &mut push),
        Parser::Pytest => pytest(&both, paths, &mut push),
        Parser::NodeCheck => node_check(out.stderr, paths, &mut push),
        Parser::Tsc => tsc(&both, paths, &mut push),
        Parser::Eslint => eslint(out.stdout, paths, &mut push),
        Parser::Cargo => cargo(out.stdout, paths, &mut push),
        Parser::CargoTest => cargo_test(&both, paths, &mut push),
        Parser::Go => go(&both, paths, &mut push),
        Parser::GoTest => go_test(&both, paths, &mut push),
        Parser::Javac => javac(out.stderr, paths, &mut push),
        Parser::Gcc => gcc(out.stderr, paths, &mut push),
    }
    let mut seen = std::collections::HashSet::new();
    ds.retain(|d| {
        seen.insert((
            d.file.clone(),
            d.line,
            d.column,
            d.code.clone(),
            d.message.clone(),
        ))
    });
    ds
}

type Push<'a> = dyn FnMut(String, u32, Option<u32>, Severity, Option<String>, String) + 'a;

/// Splits `file:line[:col]: rest` (the file may not be empty, the numbers must be numbers).
fn file_line_col(line: &str) -> Option<(&str, u32, Option<u32>, &str)> {
    // Windows drive letters are not a concern here (Unix only), so the first `:N` is the line.
    let mut search = 0;
    while let Some(i) = line[search..].find(':').map(|i| i + search) {
        let file = &line[..i];
        let rest = &line[i + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && !file.trim().is_empty() && !file.contains(' ') {
            let ln: u32 = rest[..digits].parse().ok()?;
            let rest = &rest[digits..];
            if let Some(r) = rest.strip_prefix(':') {
                let d2 = r.bytes().take_while(u8::is_ascii_digit).count();
                if d2 > 0 {
                    let col: u32 = r[..d2].parse().ok()?;
                    let r = &r[d2..];
                    if let Some(msg) = r.strip_prefix(':') {
                        return Some((file, ln, Some(col), msg));
                    }
                    return None;
                }
                return Some((file, ln, None, r));
            }
            if rest.is_empty() {
                return Some((file, ln, None, ""));
            }
            return None;
        }
        search = i + 1;
    }
    None
}

/// `file:line[:col]: [error|warning|note:] message` — custom commands, and the fallback.
fn generic(text: &str, paths: &Paths, push: &mut Push) {
    for l in text.lines() {
        let Some((file, line, col, rest)) = file_line_col(l) else {
            continue;
        };
        let rest = rest.trim();
        let (sev, msg) = match rest.split_once(':') {
            Some((s, m))
                if matches!(
                    s.trim().to_ascii_lowercase().as_str(),
                    "error" | "fatal error" | "warning" | "note" | "info" | "help"
                ) =>
            {
                (Severity::parse(s.trim()), m)
            }
            _ => (Severity::Error, rest),
        };
        push(paths.rel(file), line, col, sev, None, msg.to_string());
    }
}

/// Python's `File "x.py", line N` frames followed by `SomeError: message` (py_compile, and any
/// traceback); the caret line gives the column.
fn python_traceback(text: &str, paths: &Paths, push: &mut Push) {
    let lines: Vec<&str> = text.lines().collect();
    let mut at: Option<(String, u32, Option<u32>)> = None;
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        if let Some(rest) = t.strip_prefix("File \"")
            && let Some((file, after)) = rest.split_once('"')
            && let Some(n) = after.trim_start_matches(',').trim().strip_prefix("line ")
        {
            let n: u32 = n
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            // A caret two lines down marks the column, under the source line that Python
            // echoes stripped and indented by four spaces.
            let col = lines.get(i + 2).and_then(|c| {
                let caret = c.find('^')?;
                if !c.trim().starts_with('^') || caret < 4 {
                    return None;
                }
                let indent = std::fs::read_to_string(paths.cwd.join(file))
                    .ok()
                    .and_then(|t| {
                        let l = t.lines().nth(n.checked_sub(1)? as usize)?;
                        Some(l.len() - l.trim_start().len())
                    })
                    .unwrap_or(0);
                Some((caret - 4 + indent + 1) as u32)
            });
            at = Some((file.to_string(), n, col));
            continue;
        }
        if let Some((name, msg)) = t.split_once(": ")
            && !l.starts_with(' ')
            && (name.ends_with("Error") || name.ends_with("Exception"))
            && !name.contains(' ')
        {
            let (file, line, col) = at
                .take()
                .map(|(f, n, c)| (paths.rel(&f), n, c))
                .unwrap_or_else(|| (paths.default_file(), 0, None));
            push(
                file,
                line,
                col,
                Severity::Error,
                Some(name.to_string()),
                msg.to_string(),
            );
        }
    }
}

/// mypy: `file:line:col: error: message  [code]`.
fn mypy(text: &str, paths: &Paths, push: &mut Push) {
    severity_lines(text, paths, push, |msg| {
        match msg
            .trim_end()
            .strip_suffix(']')
            .and_then(|m| m.rsplit_once("  ["))
        {
            Some((m, c)) => (m, Some(c.to_string())),
            None => (msg, None),
        }
    })
}

/// pyright `--outputjson`: `generalDiagnostics[]` with 0-based ranges.
fn pyright(text: &str, paths: &Paths, push: &mut Push) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    for d in v["generalDiagnostics"].as_array().into_iter().flatten() {
        let start = &d["range"]["start"];
        push(
            paths.rel(d["file"].as_str().unwrap_or_default()),
            start["line"].as_u64().map_or(0, |l| l as u32 + 1),
            start["character"].as_u64().map(|c| c as u32 + 1),
            Severity::parse(d["severity"].as_str().unwrap_or("error")),
            d["rule"].as_str().map(str::to_string),
            d["message"].as_str().unwrap_or_default().to_string(),
        );
    }
}

/// ruff `check --output-format=json`: every finding is an error (ruff fails on it).
fn ruff(text: &str, paths: &Paths, push: &mut Push) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    for d in v.as_array().into_iter().flatten() {
        push(
            paths.rel(d["filename"].as_str().unwrap_or_default()),
            d["location"]["row"].as_u64().unwrap_or(0) as u32,
            d["location"]["column"].as_u64().map(|c| c as u32),
            match d["severity"].as_str() {
                Some(s) => Severity::parse(s),
                None => Severity::Error,
            },
            d["code"].as_str().map(str::to_string),
            d["message"].as_str().unwrap_or_default().to_string(),
        );
    }
}

/// flake8: `file:line:col: CODE message`; E and F codes are errors, the rest warnings.
fn flake8(text: &str, paths: &Paths, push: &mut Push) {
    for l in text.lines() {
        let Some((file, line, col, rest)) = file_line_col(l) else {
            continue;
        };
        let rest = rest.trim();
        let (code, msg) = rest.split_once(' ').unwrap_or((rest, ""));
        let sev = if code.starts_with('E') || code.starts_with('F') {
            Severity::Error
        } else {
            Severity::Warning
        };
        push(
            paths.rel(file),
            line,
            col,
            sev,
            Some(code.to_string()),
            msg.to_string(),
        );
    }
}

/// pytest (best effort): each `FAILED path::test - message` of the short summary, placed at the
/// `path:line: ExceptionType` line pytest prints under the failure, when there is one.
fn pytest(text: &str, paths: &Paths, push: &mut Push) {
    let mut locations: Vec<(String, u32, String)> = Vec::new();
    for l in text.lines() {
        if let Some((file, line, None, rest)) = file_line_col(l)
            && file.ends_with(".py")
        {
            locations.push((file.to_string(), line, rest.trim().to_string()));
        }
    }
    let mut any = false;
    for l in text.lines() {
        let Some(rest) = l
            .strip_prefix("FAILED ")
            .or_else(|| l.strip_prefix("ERROR "))
        else {
            continue;
        };
        let (test, msg) = rest.split_once(" - ").unwrap_or((rest, "failed"));
        let file = test.split("::").next().unwrap_or(test);
        let (line, kind) = locations
            .iter()
            .find(|(f, _, _)| f == file)
            .map(|(_, n, k)| (*n, Some(k.clone())))
            .unwrap_or((0, None));
        any = true;
        push(
            paths.rel(file),
            line,
            None,
            Severity::Error,
            kind.filter(|k| !k.is_empty()),
            format!("{test} failed: {msg}"),
        );
    }
    if !any {
        python_traceback(text, paths, push);
    }
}

/// `node --check`: `path:line`, the source line, a caret, a blank line, `SyntaxError: msg`.
fn node_check(text: &str, paths: &Paths, push: &mut Push) {
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if let Some((file, line, None, rest)) = file_line_col(lines[i])
            && rest.is_empty()
        {
            let col = lines
                .get(i + 2)
                .filter(|c| c.trim().starts_with('^'))
                .and_then(|c| c.find('^'))
                .map(|c| c as u32 + 1);
            let err = lines[i + 1..]
                .iter()
                .find(|l| l.contains("Error: ") && !l.starts_with(' '));
            let (code, msg) = err
                .and_then(|e| e.split_once(": "))
                .map(|(k, m)| (Some(k.to_string()), m.to_string()))
                .unwrap_or((None, "syntax error".to_string()));
            push(paths.rel(file), line, col, Severity::Error, code, msg);
            // One error per file: node stops at the first.
            while i < lines.len() && !lines[i].starts_with("Node.js") {
                i += 1;
            }
        }
        i += 1;
    }
}

/// tsc `--pretty false`: `file(line,col): error TSxxxx: message` (continuation lines indented).
fn tsc(text: &str, paths: &Paths, push: &mut Push) {
    for l in text.lines() {
        let Some((file, rest)) = l.split_once('(') else {
            continue;
        };
        let Some((pos, rest)) = rest.split_once("): ") else {
            continue;
        };
        let Some((line, col)) = pos.split_once(',') else {
            continue;
        };
        let (Ok(line), Ok(col)) = (line.parse::<u32>(), col.parse::<u32>()) else {
            continue;
        };
        let Some((head, msg)) = rest.split_once(": ") else {
            continue;
        };
        let (sev, code) = head.split_once(' ').unwrap_or((head, ""));
        push(
            paths.rel(file),
            line,
            Some(col),
            Severity::parse(sev),
            (!code.is_empty()).then(|| code.to_string()),
            msg.to_string(),
        );
    }
}

/// eslint `--format json`: `[{filePath, messages: [{ruleId, severity 1|2, message, line, column}]}]`.
fn eslint(text: &str, paths: &Paths, push: &mut Push) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    for f in v.as_array().into_iter().flatten() {
        let file = paths.rel(f["filePath"].as_str().unwrap_or_default());
        for m in f["messages"].as_array().into_iter().flatten() {
            push(
                file.clone(),
                m["line"].as_u64().unwrap_or(0) as u32,
                m["column"].as_u64().map(|c| c as u32),
                if m["severity"].as_u64() == Some(2) || m["fatal"] == true {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                m["ruleId"].as_str().map(str::to_string),
                m["message"].as_str().unwrap_or_default().to_string(),
            );
        }
    }
}

/// cargo `--message-format=json`: `compiler-message` records, at their primary span. Span paths
/// are relative to the workspace root, which may be above the crate the tool ran in: the first
/// ancestor of the working directory where the file exists wins.
fn cargo(text: &str, paths: &Paths, push: &mut Push) {
    for l in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
            continue;
        };
        if v["reason"] != "compiler-message" {
            continue;
        }
        let m = &v["message"];
        let level = m["level"].as_str().unwrap_or("error");
        if !matches!(level, "error" | "warning") && !level.starts_with("error") {
            continue; // failure-note and the like: summaries, not findings
        }
        let spans = m["spans"].as_array();
        let span = spans.and_then(|s| s.iter().find(|s| s["is_primary"] == true));
        let (file, line, col) = match span {
            Some(s) => {
                let name = s["file_name"].as_str().unwrap_or_default();
                let file = if Path::new(name).is_absolute() {
                    name.to_string()
                } else {
                    paths
                        .cwd
                        .ancestors()
                        .map(|a| a.join(name))
                        .find(|p| p.exists())
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| name.to_string())
                };
                (
                    paths.rel(&file),
                    s["line_start"].as_u64().unwrap_or(0) as u32,
                    s["column_start"].as_u64().map(|c| c as u32),
                )
            }
            None => (paths.default_file(), 0, None),
        };
        let mut msg = m["message"].as_str().unwrap_or_default().to_string();
        if let Some(label) = span.and_then(|s| s["label"].as_str())
            && !label.is_empty()
        {
            msg = format!("{msg}: {label}");
        }
        push(
            file,
            line,
            col,
            Severity::parse(level),
            m["code"]["code"].as_str().map(str::to_string),
            msg,
        );
    }
}

/// cargo test: `thread 'name' (id) panicked at file:line:col:` and the message lines after it.
fn cargo_test(text: &str, paths: &Paths, push: &mut Push) {
    let lines: Vec<&str> = text.lines().collect();
    let mut any = false;
    for (i, l) in lines.iter().enumerate() {
        let Some(rest) = l.strip_prefix("thread '") else {
            continue;
        };
        let Some((name, after)) = rest.split_once('\'') else {
            continue;
        };
        let Some(at) = after.split_once("panicked at ").map(|(_, a)| a) else {
            continue;
        };
        let Some((file, line, col, _)) = file_line_col(at) else {
            continue;
        };
        let msg: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|m| !m.is_empty() && !m.starts_with("note:") && !m.starts_with("stack"))
            .map(|m| m.trim())
            .collect();
        any = true;
        push(
            paths.rel(file),
            line,
            col,
            Severity::Error,
            None,
            format!("test {name} panicked: {}", msg.join(" ")),
        );
    }
    if !any {
        // A test target that does not compile prints rustc's human format.
        gcc(text, paths, push);
    }
}

/// go build / vet: `# pkg` headers, then `file:line:col: message` (paths relative to the cwd).
fn go(text: &str, paths: &Paths, push: &mut Push) {
    for l in text.lines() {
        if l.starts_with('#') {
            continue;
        }
        if let Some((file, line, col, msg)) = file_line_col(l)
            && file.ends_with(".go")
        {
            push(
                paths.rel(file),
                line,
                col,
                Severity::Error,
                None,
                msg.to_string(),
            );
        }
    }
}

/// go test: `--- FAIL: TestX` and the indented `file_test.go:line: message` under it. go prints
/// only the file's base name; it is matched to a validated file of that name when there is one.
fn go_test(text: &str, paths: &Paths, push: &mut Push) {
    let mut test = String::new();
    let mut any = false;
    for l in text.lines() {
        if let Some(rest) = l.trim_start().strip_prefix("--- FAIL: ") {
            test = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            continue;
        }
        if l.starts_with("    ")
            && let Some((file, line, None, msg)) = file_line_col(l.trim_start())
            && file.ends_with(".go")
        {
            let base = file.rsplit('/').next().unwrap_or(file);
            let file = paths
                .files
                .iter()
                .find(|f| f.rsplit('/').next() == Some(base))
                .cloned()
                .unwrap_or_else(|| paths.rel(file));
            any = true;
            let msg = if test.is_empty() {
                msg.trim().to_string()
            } else {
                format!("{test}: {}", msg.trim())
            };
            push(file, line, None, Severity::Error, None, msg);
        }
    }
    if !any {
        go(text, paths, push);
    }
}

/// javac: `File.java:line: error: message`, the source line, a caret (the column), details.
fn javac(text: &str, paths: &Paths, push: &mut Push) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let Some((file, line, None, rest)) = file_line_col(l) else {
            continue;
        };
        let Some((sev, msg)) = rest.trim().split_once(": ") else {
            continue;
        };
        if !matches!(sev, "error" | "warning") {
            continue;
        }
        let col = lines
            .get(i + 2)
            .filter(|c| c.trim() == "^")
            .and_then(|c| c.find('^'))
            .map(|c| c as u32 + 1);
        // `symbol:` / `location:` details make "cannot find symbol" useful.
        let details: Vec<&str> = lines[(i + 3).min(lines.len())..]
            .iter()
            .take_while(|d| d.starts_with("  ") && d.contains(':'))
            .map(|d| d.trim())
            .collect();
        let msg = if details.is_empty() {
            msg.to_string()
        } else {
            format!("{msg} ({})", details.join(", "))
        };
        push(paths.rel(file), line, col, Severity::parse(sev), None, msg);
    }
}

/// gcc / clang: `file:line:col: error|warning|note: message [-Wflag]`.
fn gcc(text: &str, paths: &Paths, push: &mut Push) {
    severity_lines(text, paths, push, |msg| {
        match msg.strip_suffix(']').and_then(|m| m.rsplit_once(" [-W")) {
            Some((m, flag)) => (m, Some(format!("-W{flag}"))),
            None => (msg, None),
        }
    })
}

/// `file:line[:col]: error|fatal error|warning|note: message`, the code split off the message
/// by `code`; other lines (source echoes, `In function` headers) are passed over.
fn severity_lines(
    text: &str,
    paths: &Paths,
    push: &mut Push,
    code: impl Fn(&str) -> (&str, Option<String>),
) {
    for l in text.lines() {
        let Some((file, line, col, rest)) = file_line_col(l) else {
            continue;
        };
        let Some((sev, msg)) = rest.trim().split_once(": ") else {
            continue;
        };
        if !matches!(sev, "error" | "fatal error" | "warning" | "note") {
            continue;
        }
        let (msg, code) = code(msg);
        push(
            paths.rel(file),
            line,
            col,
            Severity::parse(sev),
            code,
            msg.to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! captured {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/heal/outputs/", $name))
        };
    }

    fn run(parser: Parser, stdout: &str, stderr: &str, cwd: &str) -> Vec<String> {
        let files = vec!["pkg/p_test.go".to_string()];
        let paths = Paths {
            roots: vec![PathBuf::from("/tmp/cap")],
            cwd: PathBuf::from(cwd),
            files,
        };
        let out = Output {
            stdout,
            stderr,
            stage: Stage::Compile,
            source: "t",
        };
        parse(parser, &out, &paths)
            .iter()
            .map(|d| d.to_string().trim_end_matches("  (t)").to_string())
            .collect()
    }

    #[test]
    fn stage_order_and_names() {
        assert!(Stage::Syntax < Stage::Compile && Stage::Lint < Stage::Test);
        assert_eq!("LINT".parse::<Stage>(), Ok(Stage::Lint));
        assert!("build".parse::<Stage>().is_err());
        assert_eq!(serde_json::json!(Stage::Test), "test");
    }

    #[test]
    fn a_diagnostic_without_a_line_names_only_the_file() {
        let mut d = Diagnostic {
            file: "src/a.rs".into(),
            line: 0,
            column: Some(3),
            severity: Severity::Error,
            code: Some("timeout".into()),
            message: "cargo check did not finish within 60 s".into(),
            stage: Stage::Compile,
            source: "cargo check".into(),
        };
        assert_eq!(
            d.to_string(),
            "src/a.rs: error[timeout]: cargo check did not finish within 60 s  (cargo check)"
        );
        d.line = 7;
        assert!(d.to_string().starts_with("src/a.rs:7:3: error[timeout]: "));
    }

    #[test]
    fn py_compile() {
        // The column needs the file's own indentation: bad.py is kept beside the output.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/heal/outputs");
        let paths = Paths::new(&dir, &dir, &[]);
        let out = Output {
            stdout: "",
            stderr: captured!("py_compile.txt"),
            stage: Stage::Compile,
            source: "py_compile",
        };
        let d: Vec<String> = parse(Parser::PyCompile, &out, &paths)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            d,
            ["bad.py:2:15: error[SyntaxError]: invalid syntax  (py_compile)"]
        );
    }

    #[test]
    fn mypy_lines() {
        let d = run(Parser::Mypy, captured!("mypy.txt"), "", "/tmp/cap");
        assert_eq!(
            d,
            [
                "ty.py:2:12: error[return-value]: Incompatible return value type (got \"str\", expected \"int\")",
                "ty.py:4:12: error[arg-type]: Argument 1 to \"f\" has incompatible type \"str\"; expected \"int\"",
            ]
        );
    }

    #[test]
    fn ruff_json() {
        let d = run(Parser::Ruff, captured!("ruff.json"), "", "/tmp/cap");
        assert_eq!(d.len(), 4, "{d:?}");
        assert_eq!(
            d[0],
            "bad.py:2:15: error[invalid-syntax]: Expected an expression"
        );
        assert_eq!(
            d[3],
            "lint.py:4:12: error[F821]: Undefined name `undefined_name`"
        );
    }

    #[test]
    fn flake8_lines() {
        let d = run(Parser::Flake8, captured!("flake8.txt"), "", "/tmp/cap");
        assert_eq!(
            d,
            [
                "lint.py:1:1: error[F401]: 'os' imported but unused",
                "lint.py:3:1: error[E302]: expected 2 blank lines, found 1",
                "lint.py:4:12: error[F821]: undefined name 'undefined_name'",
            ]
        );
    }

    #[test]
    fn pytest_summary() {
        let d = run(Parser::Pytest, captured!("pytest.txt"), "", "/tmp/cap");
        assert_eq!(
            d,
            [
                "tests/test_add.py:5: error[AssertionError]: tests/test_add.py::test_add failed: assert -1 == 3"
            ]
        );
    }

    #[test]
    fn node_check_output() {
        let d = run(
            Parser::NodeCheck,
            "",
            captured!("node_check.txt"),
            "/tmp/cap",
        );
        assert_eq!(d, ["bad.js:2:5: error[SyntaxError]: Unexpected token ';'"]);
    }

    #[test]
    fn tsc_lines() {
        let d = run(Parser::Tsc, captured!("tsc.txt"), "", "/tmp/cap");
        assert_eq!(
            d,
            [
                "bad.ts:1:7: error[TS2322]: Type 'string' is not assignable to type 'number'.",
                "bad.ts:2:40: error[TS2322]: Type 'string' is not assignable to type 'number'.",
            ]
        );
    }

    #[test]
    fn eslint_json() {
        // eslint's documented JSON formatter shape.
        let json = r#"[{"filePath":"/tmp/cap/src/a.js","messages":[
            {"ruleId":"no-undef","severity":2,"message":"'x' is not defined.","line":3,"column":9},
            {"ruleId":"no-unused-vars","severity":1,"message":"'y' is assigned a value but never used.","line":4,"column":7}
        ],"errorCount":1,"warningCount":1}]"#;
        let d = run(Parser::Eslint, json, "", "/tmp/cap");
        assert_eq!(
            d,
            [
                "src/a.js:3:9: error[no-undef]: 'x' is not defined.",
                "src/a.js:4:7: warning[no-unused-vars]: 'y' is assigned a value but never used.",
            ]
        );
    }

    #[test]
    fn cargo_json_primary_spans_deduplicated() {
        // Captured with --all-targets: the lib and its test build both report the error once.
        let d = run(
            Parser::Cargo,
            captured!("cargo_check.jsonl"),
            "",
            "/tmp/cap",
        );
        assert_eq!(
            d,
            [
                "0:0: error[E0308]: mismatched types: expected `u32`, found `&str`"
                    .replace("0:0", "src/lib.rs:3:5")
            ]
        );
        let d = run(Parser::Cargo, captured!("clippy.jsonl"), "", "/tmp/cap");
        assert!(
            d.iter().any(|l| l.starts_with(
                "src/lib.rs:2:13: warning[clippy::useless_vec]: useless use of `vec!`"
            )),
            "{d:?}"
        );
    }

    #[test]
    fn cargo_test_panics() {
        let d = run(
            Parser::CargoTest,
            captured!("cargo_test.txt"),
            "",
            "/tmp/cap",
        );
        assert_eq!(
            d,
            [
                "src/lib.rs:7:5: error: test t panicked: assertion `left == right` failed left: 2 right: 5"
            ]
        );
    }

    #[test]
    fn go_build_vet_and_test() {
        let d = run(Parser::Go, "", captured!("go_build.txt"), "/tmp/cap");
        assert_eq!(
            d,
            [
                "pkg/p.go:3:23: error: cannot use \"s\" (untyped string constant) as int value in return statement"
            ]
        );
        let d = run(Parser::Go, "", captured!("go_vet.txt"), "/tmp/cap");
        assert_eq!(
            d,
            ["main.go:8:2: error: fmt.Printf format %d has arg \"s\" of wrong type string"]
        );
        let d = run(Parser::GoTest, captured!("go_test.txt"), "", "/tmp/cap");
        assert_eq!(d, ["pkg/p_test.go:5: error: TestF: F() = 1, want 2"]);
    }

    #[test]
    fn javac_with_caret_and_details() {
        let d = run(Parser::Javac, "", captured!("javac.txt"), "/tmp/cap");
        assert_eq!(
            d,
            [
                "Bad.java:2:22: error: cannot find symbol (symbol:   variable y, location: class Bad)"
            ]
        );
    }

    #[test]
    fn gcc_lines() {
        let d = run(Parser::Gcc, "", captured!("gcc.txt"), "/tmp/cap");
        assert_eq!(
            d,
            [
                "bad.c:3:11: error: 'undefined_var' undeclared (first use in this function)",
                "bad.c:3:11: note: each undeclared identifier is reported only once for each function it appears in",
                "bad.c:4:11: error: expected ';' before '}' token",
            ]
        );
    }

    #[test]
    fn generic_lines_and_paths() {
        let text = "src/a.sh:3:1: warning: quote this\n/tmp/cap/b.txt:7: bad thing\nnoise: here\n";
        let d = run(Parser::Generic, text, "", "/tmp/cap/sub");
        assert_eq!(
            d,
            [
                "sub/src/a.sh:3:1: warning: quote this",
                "b.txt:7: error: bad thing"
            ]
        );
    }
}
