//! Layered configuration: the built-in `config/default.toml` (embedded) < user file < repo
//! `.vibe/config.toml` < `VIBE_<SECTION>_<KEY>` environment variables < `-c section.key=value`.
//!
//! Invariant: every layer is validated on its own before it is merged, so an error always names
//! the layer it came from (a file with its line, an environment variable, or a `-c` flag).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

/// The built-in defaults, embedded in the binary.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Errors from loading configuration. Each names the layer that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}\nhint: fix or remove this setting")]
    File { path: PathBuf, message: String },
    #[error(
        "{path}: line {line}: the file is not UTF-8 (byte {byte}); TOML files must be\nhint: save it as UTF-8"
    )]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        byte: usize,
    },
    #[error(
        "cannot read {path}: {source}\nhint: make it a readable file (or remove it: every setting has a default)"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("environment variable {var}: {message}\nhint: unset it or give a valid value")]
    Env { var: String, message: String },
    #[error(
        "this user has no home directory (HOME is not set) and VIBE_HOME is not set: vibe has nowhere to keep its config and cost ledger\nhint: set VIBE_HOME to an absolute directory, e.g. VIBE_HOME=/var/lib/vibe"
    )]
    NoHome,
    #[error("-c {arg}: {message}\nhint: the form is -c section.key=value, e.g. -c map.tokens=4096")]
    Flag { arg: String, message: String },
    /// A `-c` of the right form whose key or value is refused.
    #[error("-c {arg}: {message}\nhint: fix or drop this setting")]
    FlagValue { arg: String, message: String },
}

/// The resolved configuration handed down to every part.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub map: MapConfig,
    pub context: ContextConfig,
    pub llm: LlmConfig,
    pub providers: std::collections::BTreeMap<String, ProviderConfig>,
    pub budget: BudgetConfig,
    pub heal: HealConfig,
    pub chat: ChatConfig,
    pub plugins: PluginsConfig,
    /// Things the user should know about their configuration (printed by the CLI).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// `[llm]`: which model answers, and how hard vibe tries.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    pub model: String,
    pub fallback: Vec<String>,
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    pub context_budget: usize,
    pub retries: u32,
    pub backoff_base: f64,
    pub backoff_max: f64,
    pub retry_after_max: f64,
    pub breaker_failures: u32,
    pub breaker_cooldown: f64,
    /// Stop reading an answer that writes the same block of lines this many times in a row
    /// (0 = never).
    pub stop_repeats: u32,
}

/// `[providers.NAME]`: one server vibe can talk to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// `openai` (Chat Completions) or `anthropic` (Messages).
    pub kind: String,
    pub base_url: String,
    /// The environment variable holding the API key ("" = no key).
    #[serde(default)]
    pub api_key_env: String,
    /// A command whose output is the API key (user config only), e.g. `pass show openai`.
    #[serde(default)]
    pub api_key_cmd: String,
    /// Extra HTTP headers sent with every request (user config only).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub default_model: String,
    /// A server on this machine: requests cost nothing.
    #[serde(default)]
    pub local: bool,
    /// Tokens of context, unless the model says otherwise.
    #[serde(default = "default_context_window")]
    pub context_window: u64,
    /// Short names for models: `fast = "gpt-4o-mini"`.
    #[serde(default)]
    pub aliases: std::collections::BTreeMap<String, String>,
    /// Per-model settings: context window and prices (USD per million tokens).
    #[serde(default)]
    pub models: std::collections::BTreeMap<String, ModelConfig>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: f64,
    #[serde(default = "default_first_byte_timeout")]
    pub first_byte_timeout: f64,
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: f64,
    /// Client-side limits (0 = none).
    #[serde(default)]
    pub requests_per_minute: u32,
    #[serde(default)]
    pub tokens_per_minute: u64,
}

/// A model's settings under a provider. Prices (USD per million tokens) are checked on load:
/// finite and 0 or more. A negative or infinite price in a repository's config made its
/// requests lower the day's total (a row of -inf, after which every budget check passed).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawModel")]
pub struct ModelConfig {
    pub context_window: Option<u64>,
    pub input: Option<f64>,
    pub output: Option<f64>,
    pub cached_input: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    context_window: Option<u64>,
    input: Option<f64>,
    output: Option<f64>,
    cached_input: Option<f64>,
}

impl TryFrom<RawModel> for ModelConfig {
    type Error = String;
    fn try_from(r: RawModel) -> Result<Self, String> {
        for (key, v) in [
            ("input", r.input),
            ("output", r.output),
            ("cached_input", r.cached_input),
        ] {
            if let Some(v) = v.filter(|v| !v.is_finite() || *v < 0.0) {
                // -1e308 in full would be 309 digits.
                let v = if v.abs() >= 1e9 {
                    format!("{v:e}")
                } else {
                    v.to_string()
                };
                return Err(format!(
                    "`{key}` is {v}: prices are USD per million tokens, 0 or more"
                ));
            }
        }
        Ok(ModelConfig {
            context_window: r.context_window,
            input: r.input,
            output: r.output,
            cached_input: r.cached_input,
        })
    }
}

fn default_context_window() -> u64 {
    32768
}
fn default_connect_timeout() -> f64 {
    10.0
}
fn default_first_byte_timeout() -> f64 {
    300.0
}
fn default_idle_timeout() -> f64 {
    120.0
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    pub budget: usize,
    pub encoding: String,
    pub model: String,
    /// How many of the repository's latest commits the ranking learns from (0: none).
    pub history: usize,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapConfig {
    pub tokens: usize,
    pub max_file_size: u64,
    pub symbols_per_file: usize,
    pub exclude: Vec<String>,
    pub include_dirs: Vec<String>,
    pub python_roots: Vec<String>,
    pub threads: usize,
}

/// Spending limits in USD (0 = no limit) and the soft threshold, as a fraction of a limit, at
/// which vibe warns. Checked on load: amounts are finite and not negative, `soft` is in (0, 1].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawBudget")]
pub struct BudgetConfig {
    pub daily: f64,
    pub monthly: f64,
    pub session: f64,
    pub soft: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    daily: f64,
    monthly: f64,
    session: f64,
    soft: f64,
}

impl TryFrom<RawBudget> for BudgetConfig {
    type Error = String;
    fn try_from(r: RawBudget) -> Result<Self, String> {
        for (key, v) in [
            ("daily", r.daily),
            ("monthly", r.monthly),
            ("session", r.session),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!(
                    "`budget.{key}` is {v}: a budget is an amount in USD, or 0 for no limit"
                ));
            }
        }
        if !(r.soft > 0.0 && r.soft <= 1.0) {
            return Err(format!(
                "`budget.soft` is {}: it is the fraction of a limit at which vibe warns, \
                 above 0 and at most 1 (e.g. 0.8)",
                r.soft
            ));
        }
        Ok(BudgetConfig {
            daily: r.daily,
            monthly: r.monthly,
            session: r.session,
            soft: r.soft,
        })
    }
}

/// `[chat]`: the chat session (`vibe chat`). See docs/chat.md. `history_share` is checked on
/// load: above 0 and at most 1.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawChat")]
pub struct ChatConfig {
    pub context_budget: usize,
    pub auto_heal: bool,
    pub history_share: f64,
    /// How the model is asked for its edits (as `heal.edit_format`).
    pub edit_format: EditFormat,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChat {
    context_budget: usize,
    auto_heal: bool,
    history_share: f64,
    edit_format: EditFormat,
}

impl TryFrom<RawChat> for ChatConfig {
    type Error = String;
    fn try_from(r: RawChat) -> Result<Self, String> {
        if !(r.history_share > 0.0 && r.history_share <= 1.0) {
            return Err(format!(
                "`chat.history_share` is {}: it is the share of the context window the history \
                 may take, above 0 and at most 1 (e.g. 0.5)",
                r.history_share
            ));
        }
        Ok(ChatConfig {
            context_budget: r.context_budget,
            auto_heal: r.auto_heal,
            history_share: r.history_share,
            edit_format: r.edit_format,
        })
    }
}

/// `[heal]`: which validators `vibe heal` runs, and how. See docs/heal.md.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealConfig {
    /// The stages that run, a subset of syntax, compile, lint, test (always in that order).
    pub stages: Vec<crate::heal::Stage>,
    /// Default timeouts in seconds of one validator run, per stage.
    pub compile_timeout: f64,
    pub lint_timeout: f64,
    pub test_timeout: f64,
    /// The test stage's command (run with `sh -c` in the root); "" = detected.
    pub test_command: String,
    /// The C/C++ compilation database (`compile_commands.json` or `compile_flags.txt`, or a
    /// directory holding one), relative to the root; "" = the nearest, as clangd finds it.
    pub compile_commands: String,
    /// Rounds with the model before giving up.
    pub max_attempts: u32,
    /// Tokens of related definitions (from the context loader) in each fix prompt.
    pub context_budget: usize,
    /// How the model is asked to give its edits.
    pub edit_format: EditFormat,
    /// Settings for a built-in validator, by name (`ruff`, `cargo check`, ...).
    #[serde(default)]
    pub validators: std::collections::BTreeMap<String, ValidatorOverride>,
    /// Extra validators, by name.
    #[serde(default)]
    pub custom: std::collections::BTreeMap<String, CustomValidator>,
}

impl HealConfig {
    /// Every timeout is a number of seconds above 0 and at most [`MAX_TIMEOUT`] (a larger one
    /// is a typo, and overflows the clock when added to it).
    ///
    /// [`MAX_TIMEOUT`]: crate::heal::tools::MAX_TIMEOUT
    fn check_timeouts(&self) -> Result<(), String> {
        use crate::heal::tools::MAX_TIMEOUT;
        let stages = [
            ("compile_timeout", self.compile_timeout),
            ("lint_timeout", self.lint_timeout),
            ("test_timeout", self.test_timeout),
        ]
        .map(|(k, v)| (format!("heal.{k}"), Some(v)));
        let validators = self.validators.iter().map(|(name, o)| {
            (
                format!("heal.validators.{}.timeout", key_part(name)),
                o.timeout,
            )
        });
        let custom = self
            .custom
            .iter()
            .map(|(name, c)| (format!("heal.custom.{}.timeout", key_part(name)), c.timeout));
        for (key, v) in stages.into_iter().chain(validators).chain(custom) {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0 && v <= MAX_TIMEOUT)
            {
                return Err(format!(
                    "`{key}` is {v}: give a number of seconds above 0 and at most {MAX_TIMEOUT} (a day)"
                ));
            }
        }
        Ok(())
    }
}

/// A table name as a dotted key spells it: `ruff`, `"cargo check"`.
fn key_part(name: &str) -> String {
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

/// `heal.edit_format`: how the fix loop asks the model for its edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EditFormat {
    /// SEARCH/REPLACE blocks; after an answer that had no usable edits, the whole corrected
    /// files, when every file shown to the model is small enough to be shown whole.
    Auto,
    /// SEARCH/REPLACE blocks only.
    SearchReplace,
    /// The whole corrected files whenever they are small enough (small local models manage
    /// this far better than SEARCH/REPLACE); SEARCH/REPLACE for larger ones.
    Whole,
}

/// `[plugins]`: which plugins run. See docs/plugins.md.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    /// Run plugins at all.
    pub enabled: bool,
    /// Plugins not to run, by name.
    pub disabled: Vec<String>,
    /// More directories of plugins (relative to the repository root, or absolute), searched
    /// after the repository's `plugins/` and before the user's.
    pub dirs: Vec<String>,
    /// Environment variables with secret-looking names (`*KEY*`, `*TOKEN*`, ...) that plugins
    /// found outside the user's plugin directory may see when they ask (user config only).
    pub allow_env: Vec<String>,
    /// Run the plugins of the repository's `plugins/` and of `dirs` (user config or -c only):
    /// a repository you clone does not run its code on `vibe map` or `vibe heal` until you say so.
    pub trust_repo: bool,
}

/// `[heal.validators."NAME"]`: turn a built-in validator off, or replace its command (a shell
/// command; `{file}` / `{files}` are replaced by the quoted paths) or its timeout.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ValidatorOverride {
    pub enabled: Option<bool>,
    pub command: Option<String>,
    pub timeout: Option<f64>,
}

/// `[heal.custom.NAME]`: a validator of the project's own. `command` runs with `sh -c` in the
/// root: once per file with `{file}`, once for all with `{files}`, once with neither.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomValidator {
    pub stage: crate::heal::Stage,
    pub command: String,
    #[serde(default)]
    pub timeout: Option<f64>,
    /// "generic" (`file:line[:col]: message` lines) or "none" (the exit status only).
    #[serde(default = "default_parser")]
    pub parser: CustomParser,
    /// Glob patterns (`*.sh`, `src/**/*.py`) of the files it applies to; empty = every file.
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default = "default_true")]
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomParser {
    Generic,
    None,
}

fn default_parser() -> CustomParser {
    CustomParser::Generic
}
fn default_true() -> bool {
    true
}

/// Where the layers come from; tests point these at temp dirs.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The user config file, if any (`$VIBE_HOME/config.toml` or the OS config dir).
    pub user_file: Option<PathBuf>,
    /// The repository root; `<root>/.vibe/config.toml` is read if it exists.
    pub repo_root: Option<PathBuf>,
    /// `VIBE_*` environment variables as (name, value).
    pub env: Vec<(String, String)>,
    /// `-c section.key=value` arguments.
    pub overrides: Vec<String>,
}

impl Sources {
    /// The sources of a real run: the process environment and the user's directories. Other
    /// programs' variables are not read (one that is not UTF-8 made every command panic); a
    /// `VIBE_*` that is not UTF-8 is an error, one set empty is unset, and a home that would
    /// be the current directory is an error ([`home_problem`]).
    pub fn from_env(repo_root: Option<PathBuf>, overrides: Vec<String>) -> Result<Self, Error> {
        let mut env = Vec::new();
        for (k, v) in std::env::vars_os() {
            let Some(k) = k.to_str().filter(|k| k.starts_with("VIBE_")) else {
                continue;
            };
            // Set but empty (`VIBE_CONTEXT_BUDGET= vibe …`) is unset, as for `VIBE_HOME`.
            if v.is_empty() {
                continue;
            }
            let v = v.into_string().map_err(|v| Error::Env {
                var: k.to_string(),
                message: format!("not UTF-8 text ({:?})", v.to_string_lossy()),
            })?;
            env.push((k.to_string(), v));
        }
        if let Some(e) = home_problem() {
            return Err(e);
        }
        Ok(Sources {
            user_file: Some(crate::config::user_config_dir().join("config.toml")),
            repo_root,
            env,
            overrides,
        })
    }
}

/// `VIBE_HOME` as set: `None` when unset or empty (an empty one is unset, as for `HOME`).
fn vibe_home() -> Option<PathBuf> {
    std::env::var_os("VIBE_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// Why the user's vibe home cannot be used: a relative `VIBE_HOME`, or no home directory at
/// all. Either made the current directory the home: run in a cloned repository, its
/// `config.toml` (with `api_key_cmd`) and `plugins/` were the user's own, trusted.
pub fn home_problem() -> Option<Error> {
    match vibe_home() {
        Some(h) if !h.is_absolute() => Some(Error::Env {
            var: "VIBE_HOME".into(),
            message: format!(
                "{} is not an absolute path: the home would move with the current directory, and a repository's config.toml and plugins/ would be trusted as yours",
                h.display()
            ),
        }),
        Some(_) => None,
        None => directories::ProjectDirs::from("", "", "vibe")
            .is_none()
            .then_some(Error::NoHome),
    }
}

/// The user's vibe home for config: `$VIBE_HOME` if set, else the OS config dir's `vibe/`.
pub fn user_config_dir() -> PathBuf {
    user_dir(directories::ProjectDirs::config_dir)
}

/// The user's vibe home for data (the cost ledger): `$VIBE_HOME` if set, else the OS data dir's
/// `vibe/` (e.g. `~/.local/share/vibe`).
pub fn user_data_dir() -> PathBuf {
    user_dir(directories::ProjectDirs::data_dir)
}

/// The user's vibe cache (scratch that may be deleted any time, such as Python byte code of
/// validated files): `$VIBE_HOME/cache` if `VIBE_HOME` is set, else the OS cache dir's `vibe/`
/// (e.g. `~/.cache/vibe`). Never a fixed path under the shared temp dir, which another user
/// could own.
pub fn user_cache_dir() -> PathBuf {
    if let Some(home) = vibe_home() {
        return home.join("cache");
    }
    user_dir(directories::ProjectDirs::cache_dir)
}

/// A command that loads the config refuses to run when [`home_problem`] says why; without a
/// home, the fallback is a path that does not exist (never one relative to the current
/// directory), so that whatever reads or writes there fails and says where.
fn user_dir(pick: fn(&directories::ProjectDirs) -> &Path) -> PathBuf {
    if let Some(home) = vibe_home() {
        return home;
    }
    directories::ProjectDirs::from("", "", "vibe")
        .map(|d| pick(&d).to_path_buf())
        .unwrap_or_else(|| PathBuf::from("/nonexistent/vibe-home"))
}

impl Config {
    /// What deserializing does not check: the timeouts, the context's budget and encoding. A
    /// layer with a bad value fails when it is read, naming its file and line, its variable or
    /// its flag (`context.encoding = "o300k"` failed only `vibe context`, and `vibe map`
    /// went on).
    fn check_values(&self) -> Result<(), String> {
        self.heal.check_timeouts()?;
        if self.context.budget == 0 {
            return Err("`context.budget` is 0: give a number of tokens above 0".into());
        }
        crate::context::tokens::Encoding::configured(&self.context.encoding, &self.context.model)
            .map_err(|e| format!("`context.encoding`: {e}"))?;
        Ok(())
    }

    /// The built-in defaults alone.
    pub fn defaults() -> Config {
        // The embedded file is checked by a unit test, so this cannot fail in a release.
        #[allow(clippy::expect_used)]
        toml::from_str(DEFAULT_TOML).expect("config/default.toml is valid")
    }

    /// Resolves every layer in order.
    pub fn load(sources: &Sources) -> Result<Config, Error> {
        let mut merged: Table = toml::from_str(DEFAULT_TOML).map_err(|e| Error::File {
            path: "config/default.toml (built in)".into(),
            message: e.to_string(),
        })?;
        let mut files = Vec::new();
        if let Some(user) = &sources.user_file {
            files.push(user.clone());
        }
        if let Some(root) = &sources.repo_root {
            files.push(root.join(".vibe").join("config.toml"));
        }
        let mut warnings = Vec::new();
        for (i, path) in files.iter().enumerate() {
            let is_repo = sources.repo_root.is_some() && i + 1 == files.len();
            if let Some(layer) = read_file_layer(path, &merged, is_repo)? {
                if !is_repo && let Some(w) = secrets_readable_by_others(path, &layer) {
                    warnings.push(w);
                }
                merge(&mut merged, layer);
            }
        }
        let mut env: Vec<_> = sources.env.clone();
        env.sort();
        for (var, value) in env {
            if let Some(layer) = env_layer(&merged, &var, &value)? {
                check(&merged, &layer).map_err(|message| Error::Env {
                    var: var.clone(),
                    message,
                })?;
                merge(&mut merged, layer);
            }
        }
        for arg in &sources.overrides {
            let shown = shown_flag(arg);
            let layer = flag_layer(arg).map_err(|message| Error::Flag {
                arg: shown.clone(),
                message,
            })?;
            // The value is repeated in the message unless the key may hold a credential.
            let secret = arg.split_once('=').is_some_and(|(key, _)| secret_key(key));
            check_with(&merged, &layer, secret).map_err(|message| Error::FlagValue {
                arg: shown.clone(),
                message,
            })?;
            merge(&mut merged, layer);
        }
        let mut config = Config::deserialize(Value::Table(merged)).map_err(|e| Error::File {
            path: "merged configuration".into(),
            message: e.to_string(),
        })?;
        config.check_values().map_err(|message| Error::File {
            path: "merged configuration".into(),
            message,
        })?;
        config.warnings = warnings;
        Ok(config)
    }
}

/// Settings a repository's own `.vibe/config.toml` may not make: where keys come from, extra
/// headers, and the address of a provider that sends a key. A repository you clone must not be
/// able to run a command on your machine or send your API key to a server of its choosing.
fn check_repo_layer(base: &Table, layer: &Table) -> Result<(), String> {
    if layer.contains_key("budget") {
        return Err(format!(
            "`budget.*` (your spending limits, across all projects) may not be set in a repository's config\nhint: set them in your user config ({}), or -c budget.daily=... for one run",
            user_config_dir().join("config.toml").display()
        ));
    }
    for key in ["allow_env", "trust_repo"] {
        if layer
            .get("plugins")
            .and_then(Value::as_table)
            .is_some_and(|p| p.contains_key(key))
        {
            return Err(format!(
                "`plugins.{key}` may not be set in a repository's config\nhint: set it in your user config ({})",
                user_config_dir().join("config.toml").display()
            ));
        }
    }
    let Some(Value::Table(providers)) = layer.get("providers") else {
        return Ok(());
    };
    for (name, p) in providers {
        let Value::Table(p) = p else { continue };
        for key in ["api_key_env", "api_key_cmd", "headers"] {
            if p.contains_key(key) {
                return Err(format!(
                    "`providers.{name}.{key}` may not be set in a repository's config\nhint: set it in your user config ({})",
                    user_config_dir().join("config.toml").display()
                ));
            }
        }
        let sends_key = base
            .get("providers")
            .and_then(|v| v.get(name.as_str()))
            .is_some_and(|b| {
                ["api_key_env", "api_key_cmd"].iter().any(|k| {
                    b.get(*k)
                        .and_then(Value::as_str)
                        .is_some_and(|v| !v.is_empty())
                })
            });
        // Nor where its requests go, nor what they cost (prices and `local` decide budgets).
        for key in ["base_url", "local", "models"] {
            if sends_key && p.contains_key(key) {
                return Err(format!(
                    "`providers.{name}.{key}` may not be changed by a repository's config: provider `{name}` sends an API key\nhint: define a provider of another name, or set it in your user config"
                ));
            }
        }
    }
    Ok(())
}

/// A user config file with extra headers (which may carry credentials) that other users can
/// read gets a warning.
fn secrets_readable_by_others(path: &Path, layer: &Table) -> Option<String> {
    let has_secrets = layer
        .get("providers")
        .and_then(Value::as_table)
        .is_some_and(|ps| {
            ps.values().any(|p| {
                p.get("headers")
                    .and_then(Value::as_table)
                    .is_some_and(|h| !h.is_empty())
            })
        });
    if !has_secrets {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o044 != 0 {
            return Some(format!(
                "{} sets provider headers (which may hold credentials) and is readable by other users\nhint: chmod 600 {}",
                path.display(),
                path.display()
            ));
        }
    }
    None
}

/// Reads and validates one file layer over the layers below it. A missing file is no layer; a
/// bad one is an error with its line (toml's spans) and key. A repository's layer is also held
/// to [`check_repo_layer`].
fn read_file_layer(path: &Path, below: &Table, is_repo: bool) -> Result<Option<Table>, Error> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            Error::NotUtf8 {
                path: path.to_path_buf(),
                line: 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count(),
                byte: at + 1,
            }
        })?,
        // `.vibe` (or the home) being a file: no config there either.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source: e,
            });
        }
    };
    let table: Table = toml::from_str(&text).map_err(|e| Error::File {
        path: path.to_path_buf(),
        message: describe_toml_error(&text, &e),
    })?;
    if is_repo {
        check_repo_layer(below, &table).map_err(|message| Error::File {
            path: path.to_path_buf(),
            message: match locate_key_line(&text, &message) {
                Some(l) => format!("line {l}: {message}"),
                None => message,
            },
        })?;
    }
    // Validate this layer over the ones below it, from the text, so errors carry a line.
    if let Err(message) = check(below, &table) {
        // Re-run from text to get a span when the layer is self-contained.
        let line = locate_key_line(&text, &message);
        return Err(Error::File {
            path: path.to_path_buf(),
            message: match line {
                Some(l) => format!("line {l}: {message}"),
                None => message,
            },
        });
    }
    Ok(Some(table))
}

pub(crate) fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {msg}")
        }
        None => msg,
    }
}

/// Finds the line of the key an error message names in backquotes (`tokenz`, or a dotted path
/// like `providers.home.idle_timeout`). A dotted path is matched whole first, reading the
/// file's table headers (`[providers.home]` then `idle_timeout = …`, or a dotted key): with two
/// providers, the other's `idle_timeout` came first. Then the last part alone, as a file may
/// spell it in ways not followed here (inline tables).
fn locate_key_line(text: &str, message: &str) -> Option<usize> {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let path = quoted.iter().find(|q| q.contains('.')).or(quoted.first())?;
    let plain = |s: &str| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
    let dotted = |s: &str| s.split('.').map(plain).collect::<Vec<_>>().join(".");
    let mut table = String::new();
    let mut last_part = None;
    let key = path.rsplit('.').next()?;
    // Inside a value's brackets that close on a later line (`headers = [`, `["X-A", "b"],`,
    // `]`), a line starting with `[` is no table header.
    let mut depth = 0i32;
    // Inside a multi-line string (`system = """`), up to its closing quotes: text, not TOML.
    let mut open_string: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim_start();
        if let Some(q) = open_string {
            if l.matches(q).count() % 2 == 1 {
                open_string = None;
            }
            continue;
        }
        if depth > 0 {
            depth += bracket_depth(l);
            continue;
        }
        if let Some(header) = l.strip_prefix('[') {
            let header = header.trim_start_matches('[');
            if let Some(end) = header.find(']') {
                table = dotted(&header[..end]);
            }
            continue;
        }
        let Some((k, value)) = l.split_once('=') else {
            continue;
        };
        open_string = ["\"\"\"", "'''"]
            .into_iter()
            .find(|q| value.matches(q).count() % 2 == 1);
        depth = if open_string.is_some() {
            0
        } else {
            bracket_depth(value).max(0)
        };
        let k = dotted(k);
        let full = if table.is_empty() {
            k.clone()
        } else {
            format!("{table}.{k}")
        };
        if full == *path {
            return Some(i + 1);
        }
        if last_part.is_none() && k.rsplit('.').next() == Some(key) {
            last_part = Some(i + 1);
        }
    }
    last_part
}

/// How many more brackets (`[`, `{`) a line of TOML opens than it closes, outside strings and
/// comments.
fn bracket_depth(line: &str) -> i32 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '#' => break,
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                _ => {}
            },
        }
    }
    depth
}

/// Checks that `layer` merged over `base` still deserializes into a [`Config`].
fn check(base: &Table, layer: &Table) -> Result<(), String> {
    check_with(base, layer, true)
}

/// [`check`], with the values serde quotes in its message redacted or not.
fn check_with(base: &Table, layer: &Table, redact: bool) -> Result<(), String> {
    let mut t = base.clone();
    merge(&mut t, layer.clone());
    let config = Config::deserialize(Value::Table(t)).map_err(|e| {
        let message = e.to_string();
        if redact {
            redact_strings(message.trim())
        } else {
            message.trim().to_string()
        }
    })?;
    config.check_values()
}

/// Whether a key may hold a credential: a part of it (split at `.`, `_` and `-`) is a word
/// such as `key`, `token`, `secret`, `password` or `headers`. Whole words: `map.tokens`,
/// `llm.max_tokens` and `tokens_per_minute` hold counts (their values were hidden, and with
/// them what was wrong: `-c map.tokens=4096x`).
fn secret_key(key: &str) -> bool {
    const WORDS: [&str; 9] = [
        "header",
        "headers",
        "key",
        "token",
        "secret",
        "password",
        "passwd",
        "auth",
        "authorization",
    ];
    key.to_ascii_lowercase()
        .split(['.', '_', '-', '"'])
        .any(|w| WORDS.contains(&w))
}

/// A `-c KEY=VALUE` as errors show it: the value of a key that may hold a credential
/// ([`secret_key`]) is not repeated.
fn shown_flag(arg: &str) -> String {
    match arg.split_once('=') {
        Some((key, _)) if secret_key(key) => format!("{key}=<redacted>"),
        Some(_) => arg.to_string(),
        // No `=`: shown only if it reads as a key (`-c nonsense`), not as a value pasted in
        // its place (`-c api_key:sk-live-…`, `-c sk-live-…`).
        None => {
            let keyish = arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-\"".contains(c));
            if keyish && !secret_key(arg) && !arg.contains("sk-") {
                arg.to_string()
            } else {
                "<redacted>".into()
            }
        }
    }
}

/// serde's type errors quote the value (`invalid type: string "Bearer sk-…", expected a map`);
/// a value in the wrong place may be a credential, so it is not repeated.
fn redact_strings(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("string \"") {
        let start = i + "string \"".len();
        out.push_str(&rest[..start]);
        match rest[start..].find('"') {
            Some(end) => {
                out.push_str("<redacted>\"");
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Deep-merges `layer` into `base`: tables merge key by key, anything else replaces.
pub fn merge(base: &mut Table, layer: Table) {
    for (k, v) in layer {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(l)) => merge(b, l),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// `VIBE_MAP_TOKENS=4096` → `{map: {tokens: 4096}}`. Variables whose first word is not a config
/// section (`VIBE_HOME`, `VIBE_LOG`) are not config.
fn env_layer(defaults: &Table, var: &str, value: &str) -> Result<Option<Table>, Error> {
    let Some(rest) = var.strip_prefix("VIBE_") else {
        return Ok(None);
    };
    let rest = rest.to_ascii_lowercase();
    let Some((section, key)) = rest.split_once('_') else {
        return Ok(None);
    };
    if !matches!(defaults.get(section), Some(Value::Table(_))) {
        return Ok(None);
    }
    let mut inner = Table::new();
    inner.insert(key.to_string(), parse_value(value));
    let mut t = Table::new();
    t.insert(section.to_string(), Value::Table(inner));
    Ok(Some(t))
}

/// Checks the form of `-c` flags (`section.key=value`) without loading anything: commands that
/// read no configuration (`init`, `undo`, `completions`) still refuse a malformed one rather
/// than ignore it.
pub fn check_flags(overrides: &[String]) -> Result<(), Error> {
    for arg in overrides {
        flag_layer(arg).map_err(|message| Error::Flag {
            arg: shown_flag(arg),
            message,
        })?;
    }
    Ok(())
}

fn flag_layer(arg: &str) -> Result<Table, String> {
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| "missing `=`".to_string())?;
    let parts: Vec<&str> = key.trim().split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("bad key `{key}`"));
    }
    let mut v = parse_value(value.trim());
    for p in parts.iter().rev() {
        let mut t = Table::new();
        t.insert((*p).to_string(), v);
        v = Value::Table(t);
    }
    match v {
        Value::Table(t) => Ok(t),
        _ => Err(format!("bad key `{key}`")),
    }
}

/// A value as TOML (`4096`, `true`, `["a"]`), or else the raw string.
fn parse_value(s: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {s}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration with these `-c` overrides and nothing else.
    fn with_overrides(overrides: &[&str]) -> Result<Config, Error> {
        Config::load(&Sources {
            overrides: overrides.iter().map(|o| o.to_string()).collect(),
            ..Default::default()
        })
    }

    fn sources(dir: &Path) -> Sources {
        Sources {
            user_file: Some(dir.join("user.toml")),
            repo_root: Some(dir.to_path_buf()),
            env: vec![],
            overrides: vec![],
        }
    }

    #[test]
    fn defaults_parse() {
        let c = Config::defaults();
        assert_eq!(c.map.tokens, 2048);
        assert_eq!(c.map.max_file_size, 1 << 20);
    }

    #[test]
    fn layers_apply_in_order() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join("user.toml"),
            "[map]\ntokens = 100\nthreads = 3\n",
        )?;
        std::fs::create_dir_all(dir.path().join(".vibe"))?;
        std::fs::write(
            dir.path().join(".vibe/config.toml"),
            "[map]\ntokens = 200\n",
        )?;
        let mut s = sources(dir.path());
        let c = Config::load(&s)?;
        assert_eq!((c.map.tokens, c.map.threads), (200, 3));
        s.env = vec![
            ("VIBE_MAP_TOKENS".into(), "300".into()),
            ("VIBE_HOME".into(), "/x".into()),
        ];
        assert_eq!(Config::load(&s)?.map.tokens, 300);
        s.overrides = vec!["map.tokens=400".into()];
        assert_eq!(Config::load(&s)?.map.tokens, 400);
        Ok(())
    }

    #[test]
    fn bad_file_names_file_line_and_key() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join(".vibe"))?;
        std::fs::write(
            dir.path().join(".vibe/config.toml"),
            "[map]\n\ntokenz = 5\n",
        )?;
        let err = Config::load(&sources(dir.path()))
            .err()
            .ok_or("expected error")?;
        let msg = err.to_string();
        assert!(msg.contains(".vibe/config.toml"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("tokenz"), "{msg}");

        std::fs::write(dir.path().join(".vibe/config.toml"), "[map\n")?;
        let msg = Config::load(&sources(dir.path()))
            .err()
            .ok_or("expected error")?
            .to_string();
        assert!(msg.contains("line 1"), "{msg}");

        // The key of the table the error names, not the same key of another table.
        std::fs::write(
            dir.path().join(".vibe/config.toml"),
            "[llm]\nretries = 1\n\n[providers.work]\nidle_timeout = 30\n\n\
             [providers.\"home\"]\nkind = \"openai\"\nidle_timeout = \"thirty\"\n",
        )?;
        let msg = Config::load(&sources(dir.path()))
            .err()
            .ok_or("expected error")?
            .to_string();
        assert!(
            msg.contains("line 9") && msg.contains("idle_timeout"),
            "{msg}"
        );
        Ok(())
    }

    /// A flag's value is hidden when its key may hold a credential, and only then: a count
    /// such as map.tokens is shown, with what is wrong with it.
    #[test]
    fn flags_hide_credentials_not_counts() {
        let msg = |flag: &str| {
            with_overrides(&[flag])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let m = msg("map.tokens=4096x");
        assert!(
            m.contains("-c map.tokens=4096x") && m.contains("\"4096x\""),
            "{m}"
        );
        let m = msg("llm.max_tokens=99999999999999999999");
        assert!(m.contains("99999999999999999999"), "{m}");
        let m = msg("providers.p.headers=sk-planted-secret");
        assert!(
            !m.contains("sk-planted-secret") && m.contains("<redacted>"),
            "{m}"
        );
        // Without `=`, a value pasted in place of the flag is not repeated.
        for bad in ["api_key:sk-live-abc", "sk-live-abcdef123", "token sk"] {
            let m = msg(bad);
            assert!(
                !m.contains("sk-live") && m.contains("-c <redacted>: missing `=`"),
                "{m}"
            );
        }
        assert!(msg("nonsense").contains("-c nonsense: missing `=`"));
        for key in [
            "providers.p.api_key_cmd",
            "x.Authorization",
            "a.client-secret",
        ] {
            assert!(secret_key(key), "{key}");
        }
        for key in [
            "map.tokens",
            "llm.max_tokens",
            "providers.p.tokens_per_minute",
            "monkey",
        ] {
            assert!(!secret_key(key), "{key}");
        }
    }

    #[test]
    fn locates_dotted_keys_under_their_tables() {
        let text = "a = 1\n[x]\nk = 1\n[y.z]\nk = 2\n[y]\nz.k = 3\nw.k=4\n";
        assert_eq!(locate_key_line(text, "bad `x.k`"), Some(3));
        assert_eq!(locate_key_line(text, "bad `y.z.k`"), Some(5));
        assert_eq!(locate_key_line(text, "bad `y.w.k`"), Some(8));
        assert_eq!(locate_key_line(text, "unknown field `a`"), Some(1));
        // Not spelled out where it is looked for: the first line with the last part.
        assert_eq!(locate_key_line(text, "bad `q.k`"), Some(3));
        assert_eq!(locate_key_line(text, "bad `nothing`"), None);
        // A value's brackets on later lines are no table headers.
        let text =
            "[p.a]\nheaders = [\n  [\"X-A\", \"]b[\"],\n  [\"c\", \"d\"]\n]\nk = 1\n[p.b]\nk = 2\n";
        assert_eq!(locate_key_line(text, "bad `p.a.k`"), Some(6));
        assert_eq!(locate_key_line(text, "bad `p.b.k`"), Some(8));
        // Nor are lines of a multi-line string.
        let text = "[a]\ns = \"\"\"\n[note]\nx = [\n\"\"\"\nk = 1\n";
        assert_eq!(locate_key_line(text, "bad `a.k`"), Some(6));
    }

    #[test]
    fn budgets_are_checked() -> Result<(), Box<dyn std::error::Error>> {
        let c = Config::defaults();
        assert_eq!(
            (
                c.budget.daily,
                c.budget.monthly,
                c.budget.session,
                c.budget.soft
            ),
            (0.0, 0.0, 0.0, 0.8)
        );
        assert_eq!(with_overrides(&["budget.daily=2.5"])?.budget.daily, 2.5);
        for bad in [
            "budget.daily=-5",
            "budget.monthly=nan",
            "budget.soft=0",
            "budget.soft=1.5",
        ] {
            let msg = with_overrides(&[bad])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            let key = bad.split('=').next().unwrap_or_default();
            assert!(msg.contains(key), "{bad}: {msg}");
        }
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join(".vibe"))?;
        std::fs::write(
            dir.path().join("user.toml"),
            "[budget]\nmonthly = 10\n\nsession = -1\n",
        )?;
        let msg = Config::load(&sources(dir.path()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains("line 4") && msg.contains("budget.session"),
            "{msg}"
        );
        Ok(())
    }

    /// A timeout past the clock's range panicked in `Duration::from_secs_f64` or in
    /// `Instant + Duration` when a validator ran.
    #[test]
    fn heal_timeouts_are_checked() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(
            with_overrides(&["heal.test_timeout=86400"])?
                .heal
                .test_timeout,
            86400.0
        );
        for (bad, key) in [
            ("heal.test_timeout=1e30", "heal.test_timeout"),
            ("heal.lint_timeout=1e19", "heal.lint_timeout"),
            ("heal.compile_timeout=0", "heal.compile_timeout"),
            (
                "heal.validators.ruff.timeout=-1",
                "heal.validators.ruff.timeout",
            ),
            (
                "heal.validators.ruff.timeout=inf",
                "heal.validators.ruff.timeout",
            ),
        ] {
            let msg = with_overrides(&[bad])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                msg.contains(key) && msg.contains("at most 86400"),
                "{bad}: {msg}"
            );
        }
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join(".vibe"))?;
        std::fs::write(
            dir.path().join(".vibe/config.toml"),
            "[heal.custom.slow]\nstage = \"test\"\ncommand = \"true\"\n\ntimeout = 1e19\n",
        )?;
        let msg = Config::load(&sources(dir.path()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains("line 5")
                && msg.contains("`heal.custom.slow.timeout` is 10000000000000000000"),
            "{msg}"
        );
        Ok(())
    }

    #[test]
    fn bad_env_and_flag_are_named() {
        let s = Sources {
            env: vec![("VIBE_MAP_TOKENS".into(), "many".into())],
            ..Default::default()
        };
        let msg = Config::load(&s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("VIBE_MAP_TOKENS"), "{msg}");
        let s = Sources {
            overrides: vec!["map.nope=1".into()],
            ..Default::default()
        };
        let msg = Config::load(&s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("map.nope") && msg.contains("nope"), "{msg}");
    }

    #[test]
    fn values_of_the_wrong_type_are_not_repeated() {
        let s = Sources {
            overrides: vec!["providers.openai.headers=\"Bearer sk-planted-999\"".into()],
            ..Default::default()
        };
        let msg = Config::load(&s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains("headers") && !msg.contains("sk-planted"),
            "{msg}"
        );
    }

    #[test]
    fn a_repository_cannot_redirect_keys_or_run_commands() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join(".vibe"))?;
        let repo = dir.path().join(".vibe/config.toml");
        for (text, key) in [
            (
                "[providers.openai]\nbase_url = \"http://evil.example\"\n",
                "providers.openai.base_url",
            ),
            (
                "[providers.mine]\nkind = \"openai\"\nbase_url = \"http://x\"\napi_key_env = \"OPENAI_API_KEY\"\n",
                "providers.mine.api_key_env",
            ),
            (
                "[providers.ollama]\napi_key_cmd = \"touch /tmp/pwned\"\n",
                "providers.ollama.api_key_cmd",
            ),
        ] {
            std::fs::write(&repo, text)?;
            let msg = Config::load(&sources(dir.path()))
                .err()
                .ok_or("expected error")?
                .to_string();
            assert!(msg.contains(key) && msg.contains("user config"), "{msg}");
        }
        // A keyless local server, or a model choice, is fine.
        std::fs::write(
            &repo,
            "[llm]\nmodel = \"team/qwen\"\n[providers.team]\nkind = \"openai\"\nbase_url = \"http://10.0.0.5:8000/v1\"\nlocal = true\n[providers.ollama]\nbase_url = \"http://127.0.0.1:11435/v1\"\n",
        )?;
        let c = Config::load(&sources(dir.path()))?;
        assert_eq!(c.providers["team"].base_url, "http://10.0.0.5:8000/v1");
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_readable_user_file_with_headers_is_warned_about() -> Result<(), Box<dyn std::error::Error>>
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let user = dir.path().join("user.toml");
        std::fs::write(
            &user,
            "[providers.openai]\nheaders = { X-Key = \"secret\" }\n",
        )?;
        std::fs::set_permissions(&user, std::fs::Permissions::from_mode(0o644))?;
        let c = Config::load(&sources(dir.path()))?;
        assert!(
            c.warnings.iter().any(|w| w.contains("chmod 600")),
            "{:?}",
            c.warnings
        );
        assert!(!c.warnings.iter().any(|w| w.contains("secret")));
        std::fs::set_permissions(&user, std::fs::Permissions::from_mode(0o600))?;
        assert!(Config::load(&sources(dir.path()))?.warnings.is_empty());
        Ok(())
    }
}
