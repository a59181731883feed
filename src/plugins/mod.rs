//! Plugins: folders with a `plugin.toml` in the repository's `plugins/`, the `[plugins] dirs`
//! of the config, and the user's config dir's `plugins/`; each is an external program speaking
//! one JSON request on stdin and one JSON response on stdout (`vibe.plugin/1`, docs/plugins.md).
//!
//! Invariant: a broken plugin (bad manifest, missing program, crash, timeout, malformed
//! response) becomes a [`Warning`] or an [`Error`] naming the plugin, never a panic or an abort
//! of the command that ran it. On a name clash the later directory wins (the user's last).

pub mod host;
pub mod manifest;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::heal::{Stage, ValidatorRun};

pub use host::{CommandOutput, Finding};
pub use manifest::{Kind, Manifest, Permissions};

/// Where a plugin was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The repository's `plugins/`.
    Repo,
    /// A directory of `[plugins] dirs`.
    Config,
    /// The user's config dir's `plugins/`: the only source trusted with secret-looking
    /// environment variables without `[plugins] allow_env`.
    User,
}

/// One plugin found on disk.
#[derive(Debug, Clone)]
pub struct Plugin {
    pub manifest: Manifest,
    /// The plugin's folder (absolute).
    pub dir: PathBuf,
    pub source: Source,
    /// False when `[plugins] enabled = false` or the name is in `[plugins] disabled`.
    pub enabled: bool,
    /// Why it cannot run (its program is missing), if so.
    pub problem: Option<String>,
    /// Environment variables it asked for that it will not see, and why.
    pub withheld_env: Vec<String>,
}

impl Plugin {
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// Enabled, runnable, and of `kind`.
    pub fn usable_as(&self, kind: Kind) -> bool {
        self.enabled && self.problem.is_none() && self.manifest.has(kind)
    }
}

/// Something the user should know about a plugin; printed as `warning: ...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub plugin: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.plugin {
            Some(p) => write!(f, "plugin `{p}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A plugin that did not do its job: it could not start, crashed, timed out, answered with
/// something that is not a valid response, or reported an `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin `{plugin}`: {message}")]
pub struct Error {
    pub plugin: String,
    pub message: String,
    /// Problems noticed even though the run failed (files it wrote without `write_repo`).
    pub warnings: Vec<Warning>,
}

/// The plugin directories searched, in order (a later one wins a name clash).
pub fn dirs(root: &Path, config: &Config) -> Vec<(PathBuf, Source)> {
    let mut out = vec![(root.join("plugins"), Source::Repo)];
    for d in &config.plugins.dirs {
        let p = Path::new(d);
        out.push((
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                root.join(p)
            },
            Source::Config,
        ));
    }
    out.push((
        crate::config::user_config_dir().join("plugins"),
        Source::User,
    ));
    out
}

/// Every plugin of the repository at `root` and the user, sorted by name, with warnings for
/// the broken ones (which are left out) and for name clashes.
pub fn discover(root: &Path, config: &Config) -> (Vec<Plugin>, Vec<Warning>) {
    let mut found: Vec<Plugin> = Vec::new();
    let mut warnings = Vec::new();
    for (dir, source) in dirs(root, config) {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut folders: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            // A `plugin.toml` that is not a file (a directory, a link to nothing or in a loop)
            // is a broken manifest (warned about below), not a folder without one.
            .filter(|p| p.join("plugin.toml").symlink_metadata().is_ok())
            .collect();
        folders.sort();
        let mut here: Vec<String> = Vec::new();
        for folder in folders {
            let file = folder.join("plugin.toml");
            let read = match std::fs::metadata(&file) {
                Ok(m) if m.is_file() => {
                    std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))
                }
                Ok(_) => Err(format!(
                    "{}: is not a file (a directory?); the manifest is a TOML file",
                    file.display()
                )),
                Err(e) => Err(format!("{}: {e}", file.display())),
            };
            let manifest = match read.and_then(|text| Manifest::parse(&file, &text)) {
                Ok(m) => m,
                Err(message) => {
                    warnings.push(Warning {
                        plugin: folder.file_name().map(|n| n.to_string_lossy().into_owned()),
                        message: format!("{BAD_MANIFEST}{message}"),
                    });
                    continue;
                }
            };
            let name = manifest.name.clone();
            if here.contains(&name) {
                warnings.push(Warning {
                    plugin: Some(name),
                    message: format!(
                        "{} has the name of another plugin in {}; not loaded",
                        file.display(),
                        dir.display()
                    ),
                });
                continue;
            }
            here.push(name.clone());
            let plugin = load(manifest, folder, source, config);
            if let Some(p) = &plugin.problem
                && plugin.enabled
            {
                warnings.push(Warning {
                    plugin: Some(name.clone()),
                    message: p.clone(),
                });
            }
            if let Some(i) = found.iter().position(|p| p.name() == name) {
                warnings.push(Warning {
                    plugin: Some(name),
                    message: format!(
                        "{} overrides the plugin of the same name in {}",
                        plugin.dir.display(),
                        found[i].dir.display()
                    ),
                });
                found[i] = plugin;
            } else {
                found.push(plugin);
            }
        }
    }
    found.sort_by(|a, b| a.name().cmp(b.name()));
    (found, warnings)
}

fn load(manifest: Manifest, dir: PathBuf, source: Source, config: &Config) -> Plugin {
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let trusted = source == Source::User || config.plugins.trust_repo;
    let enabled =
        trusted && config.plugins.enabled && !config.plugins.disabled.contains(&manifest.name);
    let problem = if trusted {
        host::resolve_command(&dir, &manifest.command).err()
    } else {
        Some(UNTRUSTED.to_string())
    };
    let withheld_env = manifest
        .permissions
        .env
        .iter()
        .filter(|v| source != Source::User && host::looks_secret(v))
        .filter(|v| !config.plugins.allow_env.contains(v))
        .cloned()
        .collect();
    Plugin {
        manifest,
        dir,
        source,
        enabled,
        problem,
        withheld_env,
    }
}

/// How the warning about a `plugin.toml` that did not parse begins (the file and the
/// problem follow); its `plugin` is the folder's name.
pub const BAD_MANIFEST: &str = "bad manifest, plugin not loaded: ";

/// Why a plugin of the repository (or of `[plugins] dirs`) does not run.
pub const UNTRUSTED: &str = "the repository's plugins run only when you trust them\nhint: set plugins.trust_repo = true in your user config, or pass -c plugins.trust_repo=true";

/// Finds an enabled plugin by name, or says why there is none.
pub fn find<'a>(plugins: &'a [Plugin], name: &str) -> Result<&'a Plugin, String> {
    match plugins.iter().find(|p| p.name() == name) {
        None => {
            let names: Vec<&str> = plugins.iter().map(Plugin::name).collect();
            Err(format!(
                "no plugin named `{name}` (found: {})\nhint: `vibe plugin list` shows them and where they are looked for",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        }
        Some(p) if !p.enabled && p.problem.as_deref() == Some(UNTRUSTED) => {
            Err(format!("plugin `{name}`: {UNTRUSTED}"))
        }
        Some(p) if !p.enabled => Err(format!(
            "plugin `{name}` is disabled in the config ([plugins] enabled / disabled)"
        )),
        Some(p) => Ok(p),
    }
}

/// Runs a `command` plugin with `args` in the repository `root`: for `vibe plugin run` and
/// `/NAME` in chat. Blocking (call it from `spawn_blocking` in async code).
pub fn run_command(plugin: &Plugin, args: &[String], root: &Path) -> Result<CommandOutput, Error> {
    if !plugin.manifest.has(Kind::Command) {
        return Err(Error {
            plugin: plugin.name().to_string(),
            message: not_a_command(plugin),
            warnings: vec![],
        });
    }
    host::command(plugin, args, root)
}

/// Why `plugin` cannot be run as a command.
pub fn not_a_command(plugin: &Plugin) -> String {
    format!(
        "is not a command plugin (its kinds: {})\nhint: `vibe plugin list` shows the plugins and their kinds",
        kinds(&plugin.manifest)
    )
}

pub fn kinds(m: &Manifest) -> String {
    m.kinds
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `files` matching gitignore-style `patterns` (all of them when there are none).
pub fn matching(root: &Path, files: &[String], patterns: &[String]) -> Result<Vec<String>, String> {
    if patterns.is_empty() {
        return Ok(files.to_vec());
    }
    let mut b = ignore::gitignore::GitignoreBuilder::new(root);
    for pat in patterns {
        b.add_line(None, pat)
            .map_err(|e| format!("bad `files` pattern {pat:?}: {e}"))?;
    }
    let g = b
        .build()
        .map_err(|e| format!("bad `files` patterns: {e}"))?;
    Ok(files
        .iter()
        .filter(|f| g.matched_path_or_any_parents(f, false).is_ignore())
        .cloned()
        .collect())
}

/// The validator plugins for `vibe heal` of the repository at `root` (the original root when
/// validating in an overlay), with the warnings of discovery.
pub fn validators(root: &Path, config: &Config) -> (Vec<Plugin>, Vec<String>) {
    let (plugins, warnings) = discover(root, config);
    (
        plugins
            .into_iter()
            .filter(|p| p.usable_as(Kind::Validator))
            .collect(),
        warnings.iter().map(ToString::to_string).collect(),
    )
}

/// Runs the validator plugins of `stage` on `files` in `run_root` (the repository, or an
/// overlay of it whose original is `repo_root`): one [`ValidatorRun`] each, and warnings. A
/// broken plugin's run is skipped with the reason, and warned about.
pub fn validator_runs(
    plugins: &[Plugin],
    stage: Stage,
    run_root: &Path,
    repo_root: &Path,
    files: &[String],
) -> Vec<(ValidatorRun, Vec<String>)> {
    use crate::heal::Status;
    let mut out = Vec::new();
    for p in plugins {
        let Some(spec) = p.manifest.validator.as_ref().filter(|v| v.stage == stage) else {
            continue;
        };
        let mut run = ValidatorRun {
            name: format!("plugin:{}", p.name()),
            status: Status::Passed,
            duration_ms: 0,
            command: Some(p.manifest.command.join(" ")),
            cwd: Some(String::new()),
            exit_code: None,
            diagnostics: vec![],
        };
        let mut warnings = Vec::new();
        let files = match matching(repo_root, files, &spec.files) {
            Ok(f) => f,
            Err(e) => {
                run.status = Status::Skipped { reason: e.clone() };
                warnings.push(format!("plugin `{}`: {e}", p.name()));
                out.push((run, warnings));
                continue;
            }
        };
        if files.is_empty() {
            run.status = Status::Skipped {
                reason: "no file matches its `files` patterns".into(),
            };
            out.push((run, warnings));
            continue;
        }
        let start = std::time::Instant::now();
        match host::validator(p, stage, run_root, repo_root, &files) {
            Ok((ds, ws)) => {
                run.exit_code = Some(0);
                if ds
                    .iter()
                    .any(|d| d.severity == crate::heal::Severity::Error)
                {
                    run.status = Status::Failed;
                }
                run.diagnostics = ds;
                warnings.extend(ws.iter().map(ToString::to_string));
            }
            Err(e) => {
                run.status = Status::Skipped {
                    reason: format!("plugin failed: {}", e.message),
                };
                warnings.push(e.to_string());
                warnings.extend(e.warnings.iter().map(ToString::to_string));
            }
        }
        run.duration_ms = start.elapsed().as_millis() as u64;
        out.push((run, warnings));
    }
    out
}

/// One analyzer's part of `vibe map --json`'s `plugins`.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzerReport {
    pub name: String,
    pub version: String,
    pub findings: Vec<Finding>,
    /// Why it produced nothing, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// Runs every enabled analyzer on the repository's files (those `vibe map` walks: ignore files
/// and `map.exclude` respected, hidden files skipped, source or not). Empty when there is no
/// analyzer (so `vibe map --json` keeps its shape).
pub fn analyze(root: &Path, config: &Config) -> (Vec<AnalyzerReport>, Vec<Warning>) {
    let (plugins, mut warnings) = discover(root, config);
    let analyzers: Vec<&Plugin> = plugins
        .iter()
        .filter(|p| p.usable_as(Kind::Analyzer))
        .collect();
    if analyzers.is_empty() {
        return (vec![], warnings);
    }
    let (entries, _) = crate::repomap::walk::walk(
        root,
        &config.map.exclude,
        crate::repomap::threads(config.map.threads),
    );
    let files: Vec<String> = entries.into_iter().map(|e| e.path).collect();
    let files = files.as_slice();
    let mut out = Vec::new();
    for p in analyzers {
        let start = std::time::Instant::now();
        let patterns = p
            .manifest
            .analyzer
            .as_ref()
            .map(|a| a.files.clone())
            .unwrap_or_default();
        let result = matching(root, files, &patterns)
            .map_err(|message| Error {
                plugin: p.name().to_string(),
                message,
                warnings: vec![],
            })
            .and_then(|fs| host::analyzer(p, root, &fs));
        let mut report = AnalyzerReport {
            name: p.name().to_string(),
            version: p.manifest.version.clone(),
            findings: vec![],
            error: None,
            duration_ms: 0,
        };
        match result {
            Ok((findings, ws)) => {
                report.findings = findings;
                warnings.extend(ws);
            }
            Err(e) => {
                warnings.push(Warning {
                    plugin: Some(e.plugin.clone()),
                    message: e.message.clone(),
                });
                warnings.extend(e.warnings);
                report.error = Some(e.message);
            }
        }
        report.duration_ms = start.elapsed().as_millis() as u64;
        out.push(report);
    }
    (out, warnings)
}

/// Turns a diagnostic's file into a path relative to the root when it is absolute under it.
fn relative(root: &Path, file: &str) -> String {
    let p = Path::new(file);
    if p.is_absolute() {
        for r in [
            root.to_path_buf(),
            std::fs::canonicalize(root).unwrap_or_default(),
        ] {
            if let Ok(rel) = p.strip_prefix(&r) {
                return rel.to_string_lossy().replace('\\', "/");
            }
        }
    }
    file.trim_start_matches("./").to_string()
}

#[cfg(test)]
mod tests;
