//! Running one plugin: the request on stdin, a scrubbed environment, the repository root as
//! working directory, the timeout (the process group is killed past it), the response read and
//! checked, stderr to the `-v` log, and writes to the repository detected after the run.
//!
//! Invariant: every failure is an [`Error`] naming the plugin; nothing here panics on what a
//! plugin does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::{Error, Kind, Plugin, Warning, relative};
use crate::heal::tools::{self, TempDir};
use crate::heal::{Diagnostic, Severity, Stage};

/// The protocol's version, in every request as `schema`.
pub const SCHEMA: &str = "vibe.plugin/1";

/// Environment variables every plugin sees (when vibe has them), besides its `env`.
pub const BASE_ENV: &[&str] = &["PATH", "HOME", "LANG"];

/// What a `command` plugin answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandOutput {
    pub title: Option<String>,
    pub output: String,
    /// Problems noticed around a successful run (files it wrote without `write_repo`).
    pub warnings: Vec<Warning>,
}

/// One analyzer finding, as it appears in `vibe map --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Relative to the repository root.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(default = "warning")]
    pub severity: Severity,
    /// A short identifier of what was found (`aws-access-key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub message: String,
}

fn warning() -> Severity {
    Severity::Warning
}

fn error() -> Severity {
    Severity::Error
}

/// A diagnostic as a validator plugin writes it; stage and source are the host's.
#[derive(Debug, Deserialize)]
struct WireDiagnostic {
    file: String,
    #[serde(default)]
    line: u32,
    #[serde(default)]
    column: Option<u32>,
    #[serde(default = "error")]
    severity: Severity,
    #[serde(default)]
    code: Option<String>,
    message: String,
}

#[derive(Deserialize)]
struct ValidatorResponse {
    diagnostics: Vec<WireDiagnostic>,
}

#[derive(Deserialize)]
struct AnalyzerResponse {
    findings: Vec<Finding>,
}

#[derive(Deserialize)]
struct CommandResponse {
    output: String,
    #[serde(default)]
    title: Option<String>,
}

/// The most a plugin may write to stdout: its response is one JSON object.
pub const MAX_STDOUT: usize = 16 << 20;

/// How much of the end of a plugin's stderr is kept (for the `-v` log and the last lines
/// shown when it fails).
pub const STDERR_TAIL: usize = 64 << 10;

/// The longest stderr line shown, in characters.
pub const MAX_LINE: usize = 500;

/// The non-blank lines of what was kept of a plugin's stderr, each at most [`MAX_LINE`]
/// characters; when its start was `dropped`, the first (partial) line says so.
fn stderr_lines(stderr: &str, dropped: bool) -> Vec<String> {
    let mut lines: Vec<&str> = stderr.lines().collect();
    if dropped && !lines.is_empty() {
        lines[0] = "[earlier output dropped]";
    }
    lines
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| shorten(l, MAX_LINE))
        .collect()
}

/// `line` cut to `max` characters, with a marker saying how much was cut.
fn shorten(line: &str, max: usize) -> String {
    match line.char_indices().nth(max) {
        None => line.to_string(),
        Some((at, _)) => format!("{}… [{} more bytes]", &line[..at], line.len() - at),
    }
}

/// Environment variable names that look like they hold a secret.
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "KEY",
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "AUTH",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// The program and arguments of a manifest's `command`, with paths into the plugin folder made
/// absolute (the plugin runs in the repository root, not in its folder).
pub fn resolve_command(dir: &Path, command: &[String]) -> Result<(PathBuf, Vec<String>), String> {
    let Some((program, args)) = command.split_first() else {
        return Err("`command` is empty".into());
    };
    let exe = if program.contains('/') {
        let p = dir.join(program);
        if !p.is_file() {
            return Err(format!(
                "its command `{program}` does not exist ({})",
                p.display()
            ));
        }
        p
    } else {
        tools::which(program, &[]).ok_or_else(|| {
            format!(
                "its command `{program}` is not on PATH\nhint: {}",
                tools::install_hint(program)
            )
        })?
    };
    let args = args
        .iter()
        .map(|a| {
            let p = Path::new(a);
            if !a.starts_with('-') && p.is_relative() && dir.join(p).exists() {
                dir.join(p).display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    Ok((exe, args))
}

/// Size, modification time and stamp (inode and ctime) of every file vibe's walk sees under
/// `root` (ignored and hidden files are not), for detecting writes by a plugin without
/// `write_repo`.
type Snapshot = HashMap<String, (u64, i64, i64)>;

fn snapshot(root: &Path) -> Snapshot {
    let (entries, _) = crate::repomap::walk::walk(root, &[], 0);
    entries
        .into_iter()
        .map(|e| (e.path, (e.size, e.mtime_ns, e.stamp)))
        .collect()
}

fn changes(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut out: Vec<String> = after
        .iter()
        .filter_map(|(p, m)| match before.get(p) {
            None => Some(format!("{p} (created)")),
            Some(b) if b != m => Some(format!("{p} (changed)")),
            _ => None,
        })
        .chain(
            before
                .keys()
                .filter(|p| !after.contains_key(*p))
                .map(|p| format!("{p} (deleted)")),
        )
        .collect();
    out.sort();
    out
}

/// Runs `plugin` with `request` in `run_root`; `repo_root` is watched for writes. Returns the
/// response object and warnings.
fn invoke(
    plugin: &Plugin,
    kind: Kind,
    request: serde_json::Value,
    run_root: &Path,
    repo_root: &Path,
) -> Result<(serde_json::Map<String, serde_json::Value>, Vec<Warning>), Error> {
    let name = plugin.name().to_string();
    let fail = |message: String, warnings: Vec<Warning>| Error {
        plugin: name.clone(),
        message,
        warnings,
    };
    if let Some(p) = &plugin.problem {
        return Err(fail(p.clone(), vec![]));
    }
    let (exe, args) =
        resolve_command(&plugin.dir, &plugin.manifest.command).map_err(|e| fail(e, vec![]))?;
    // The request goes in a file: stdin is then never a pipe the plugin may leave unread.
    let scratch = TempDir::new("vibe-plugin")
        .map_err(|e| fail(format!("cannot make a temp dir: {e}"), vec![]))?;
    let req_path = scratch.path().join("request.json");
    let stdin = serde_json::to_vec(&request)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&req_path, bytes))
        .and_then(|()| std::fs::File::open(&req_path))
        .map_err(|e| fail(format!("cannot write its request: {e}"), vec![]))?;

    let mut cmd = Command::new(&exe);
    cmd.args(&args).current_dir(run_root).env_clear();
    for var in BASE_ENV {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    for var in &plugin.manifest.permissions.env {
        if plugin.withheld_env.contains(var) {
            continue;
        }
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd.env("VIBE_PLUGIN_DIR", &plugin.dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_COLOR", "1");

    let watch = !plugin.manifest.permissions.write_repo;
    let before = watch.then(|| snapshot(repo_root));
    let timeout = tools::timeout_secs(plugin.manifest.timeout);
    tracing::debug!(
        "plugin {name}: running {} {:?} as {kind}",
        exe.display(),
        args
    );
    let ran = tools::run_capped(
        cmd,
        Stdio::from(stdin),
        timeout,
        tools::Caps {
            stdout: Some(MAX_STDOUT),
            stderr_tail: Some(STDERR_TAIL),
        },
    );
    let mut warnings = Vec::new();
    if let Some(before) = before {
        let changed = changes(&before, &snapshot(repo_root));
        if !changed.is_empty() {
            let shown: Vec<&str> = changed.iter().take(10).map(String::as_str).collect();
            warnings.push(Warning {
                plugin: Some(name.clone()),
                message: format!(
                    "wrote to the repository without `write_repo` permission: {}{}\nhint: check these files (git diff); remove the plugin or give it `permissions.write_repo = true`",
                    shown.join(", "),
                    if changed.len() > shown.len() {
                        format!(" and {} more", changed.len() - shown.len())
                    } else {
                        String::new()
                    }
                ),
            });
        }
    }
    let ran = ran.map_err(|e| {
        fail(
            format!("cannot start {}: {e}", exe.display()),
            warnings.clone(),
        )
    })?;
    let stderr = stderr_lines(&ran.stderr, ran.stderr_dropped);
    for line in &stderr {
        tracing::info!("plugin {name}: {line}");
    }
    tracing::info!(
        "plugin {name}: {kind} ran in {:.0} ms",
        ran.duration.as_secs_f64() * 1000.0
    );
    if ran.interrupted {
        return Err(fail(
            "cancelled; its process group was killed".into(),
            warnings,
        ));
    }
    if ran.timed_out {
        return Err(fail(
            format!(
                "did not answer within {} s; its process group was killed\nhint: raise `timeout` in {}",
                plugin.manifest.timeout,
                plugin.dir.join("plugin.toml").display()
            ),
            warnings,
        ));
    }
    if ran.stdout_overflow {
        return Err(fail(
            format!(
                "wrote more than {} MiB to stdout; vibe stopped reading it\nhint: a response is one JSON object (see docs/plugins.md); write logs to stderr",
                MAX_STDOUT >> 20
            ),
            warnings,
        ));
    }
    if ran.code != Some(0) {
        let tail = stderr[stderr.len().saturating_sub(5)..].join("\n");
        return Err(fail(
            format!(
                "exited with {}{}",
                ran.code
                    .map_or("a signal".to_string(), |c| format!("status {c}")),
                if tail.is_empty() {
                    " and no error output".to_string()
                } else {
                    format!(": {tail}")
                }
            ),
            warnings,
        ));
    }
    let text = ran.stdout.trim();
    if text.is_empty() {
        return Err(fail(
            "malformed response: nothing on stdout (expected one JSON object, see docs/plugins.md)"
                .to_string(),
            warnings,
        ));
    }
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Err(fail(
                format!(
                    "malformed response: not JSON ({e}); stdout began with {:?}",
                    text.chars().take(80).collect::<String>()
                ),
                warnings,
            ));
        }
    };
    let serde_json::Value::Object(obj) = value else {
        return Err(fail(
            "malformed response: expected a JSON object on stdout".into(),
            warnings,
        ));
    };
    match obj.get("error") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(e)) => {
            return Err(fail(format!("reported an error: {e}"), warnings));
        }
        Some(_) => {
            return Err(fail(
                "malformed response: `error` must be a string".into(),
                warnings,
            ));
        }
    }
    Ok((obj, warnings))
}

fn typed<T: serde::de::DeserializeOwned>(
    plugin: &Plugin,
    obj: serde_json::Map<String, serde_json::Value>,
    warnings: &[Warning],
) -> Result<T, Error> {
    serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| Error {
        plugin: plugin.name().to_string(),
        message: format!("malformed response: {e} (see docs/plugins.md for the schema)"),
        warnings: warnings.to_vec(),
    })
}

fn request(plugin: &Plugin, kind: Kind, root: &Path, files: &[String]) -> serde_json::Value {
    serde_json::json!({
        "schema": SCHEMA,
        "kind": kind,
        "plugin": plugin.name(),
        "vibe_version": env!("CARGO_PKG_VERSION"),
        "root": root.display().to_string(),
        "files": if plugin.manifest.permissions.read_repo { files.to_vec() } else { vec![] },
        "args": Vec::<String>::new(),
        "settings": plugin.manifest.settings,
    })
}

/// A `command` run: `args` are the user's.
pub fn command(plugin: &Plugin, args: &[String], root: &Path) -> Result<CommandOutput, Error> {
    let mut req = request(plugin, Kind::Command, root, &[]);
    req["args"] = serde_json::json!(args);
    let (obj, warnings) = invoke(plugin, Kind::Command, req, root, root)?;
    let r: CommandResponse = typed(plugin, obj, &warnings)?;
    Ok(CommandOutput {
        title: r.title,
        output: r.output,
        warnings,
    })
}

/// A `validator` run on `files` in `stage`.
pub fn validator(
    plugin: &Plugin,
    stage: Stage,
    run_root: &Path,
    repo_root: &Path,
    files: &[String],
) -> Result<(Vec<Diagnostic>, Vec<Warning>), Error> {
    let mut req = request(plugin, Kind::Validator, run_root, files);
    req["stage"] = serde_json::json!(stage);
    let (obj, warnings) = invoke(plugin, Kind::Validator, req, run_root, repo_root)?;
    let r: ValidatorResponse = typed(plugin, obj, &warnings)?;
    let ds = r
        .diagnostics
        .into_iter()
        .map(|d| Diagnostic {
            file: relative(run_root, &d.file),
            line: d.line,
            column: d.column,
            severity: d.severity,
            code: d.code,
            message: d.message,
            stage,
            source: format!("plugin:{}", plugin.name()),
        })
        .collect();
    Ok((ds, warnings))
}

/// An `analyzer` run on the indexed `files`.
pub fn analyzer(
    plugin: &Plugin,
    root: &Path,
    files: &[String],
) -> Result<(Vec<Finding>, Vec<Warning>), Error> {
    let req = request(plugin, Kind::Analyzer, root, files);
    let (obj, warnings) = invoke(plugin, Kind::Analyzer, req, root, root)?;
    let r: AnalyzerResponse = typed(plugin, obj, &warnings)?;
    let findings = r
        .findings
        .into_iter()
        .map(|mut f| {
            f.file = relative(root, &f.file);
            f
        })
        .collect();
    Ok((findings, warnings))
}
