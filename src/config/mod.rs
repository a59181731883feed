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
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("environment variable {var}: {message}\nhint: unset it or give a valid value")]
    Env { var: String, message: String },
    #[error("-c {arg}: {message}\nhint: the form is -c section.key=value, e.g. -c map.tokens=4096")]
    Flag { arg: String, message: String },
}

/// The resolved configuration handed down to every part.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub map: MapConfig,
    pub context: ContextConfig,
    pub budget: BudgetConfig,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    pub budget: usize,
    pub encoding: String,
    pub model: String,
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
    /// The sources of a real run: the process environment and the user's directories.
    pub fn from_env(repo_root: Option<PathBuf>, overrides: Vec<String>) -> Self {
        Sources {
            user_file: Some(crate::config::user_config_dir().join("config.toml")),
            repo_root,
            env: std::env::vars()
                .filter(|(k, _)| k.starts_with("VIBE_"))
                .collect(),
            overrides,
        }
    }
}

/// The user's vibe home for config: `$VIBE_HOME` if set, else the OS config dir's `vibe/`.
pub fn user_config_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("VIBE_HOME") {
        return PathBuf::from(home);
    }
    directories::ProjectDirs::from("", "", "vibe")
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".vibe-home"))
}

/// The user's vibe home for data (the cost ledger): `$VIBE_HOME` if set, else the OS data dir's
/// `vibe/` (e.g. `~/.local/share/vibe`).
pub fn user_data_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("VIBE_HOME") {
        return PathBuf::from(home);
    }
    directories::ProjectDirs::from("", "", "vibe")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".vibe-home"))
}

impl Config {
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
        for path in files {
            if let Some(layer) = read_file_layer(&path)? {
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
            let layer = flag_layer(arg).map_err(|message| Error::Flag {
                arg: arg.clone(),
                message,
            })?;
            check(&merged, &layer).map_err(|message| Error::Flag {
                arg: arg.clone(),
                message,
            })?;
            merge(&mut merged, layer);
        }
        Config::deserialize(Value::Table(merged)).map_err(|e| Error::File {
            path: "merged configuration".into(),
            message: e.to_string(),
        })
    }
}

/// Reads and validates one file layer. A missing file is no layer; a bad one is an error with
/// its line (toml's spans) and key.
fn read_file_layer(path: &Path) -> Result<Option<Table>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
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
    // Validate this layer alone over the defaults, from the text, so errors carry a line.
    let defaults: Table = toml::from_str(DEFAULT_TOML).unwrap_or_default();
    if let Err(message) = check(&defaults, &table) {
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
/// like `map.tokens`, whose last part is what the file spells out).
fn locate_key_line(text: &str, message: &str) -> Option<usize> {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let key = quoted
        .iter()
        .find(|q| q.contains('.'))
        .or(quoted.first())?
        .rsplit('.')
        .next()?;
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(key) && l[key.len()..].trim_start().starts_with('=')
        })
        .map(|i| i + 1)
}

/// Checks that `layer` merged over `base` still deserializes into a [`Config`].
fn check(base: &Table, layer: &Table) -> Result<(), String> {
    let mut t = base.clone();
    merge(&mut t, layer.clone());
    Config::deserialize(Value::Table(t))
        .map(|_| ())
        .map_err(|e| e.to_string().trim().to_string())
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
        Ok(())
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
        let load = |overrides: &[&str]| {
            Config::load(&Sources {
                overrides: overrides.iter().map(|o| o.to_string()).collect(),
                ..Default::default()
            })
        };
        assert_eq!(load(&["budget.daily=2.5"])?.budget.daily, 2.5);
        for bad in [
            "budget.daily=-5",
            "budget.monthly=nan",
            "budget.soft=0",
            "budget.soft=1.5",
        ] {
            let msg = load(&[bad])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            let key = bad.split('=').next().unwrap_or_default();
            assert!(msg.contains(key), "{bad}: {msg}");
        }
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join(".vibe"))?;
        std::fs::write(
            dir.path().join(".vibe/config.toml"),
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
}
