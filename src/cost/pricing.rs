//! The pricing table: `config/pricing.toml` (embedded), overridden model by model by the user's
//! `pricing.toml` beside their `config.toml`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{Error, Prices};

/// The built-in prices, embedded in the binary.
pub const PRICING_TOML: &str = include_str!("../../config/pricing.toml");

/// Prices by model name (lower case).
#[derive(Debug, Clone)]
pub struct Pricing {
    models: BTreeMap<String, Prices>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PricingFile {
    #[serde(default)]
    models: BTreeMap<String, Prices>,
}

impl Pricing {
    /// The built-in table with the user's `pricing.toml` (in [`crate::config::user_config_dir`])
    /// over it, if that file exists.
    pub fn load() -> Result<Pricing, Error> {
        let user = crate::config::user_config_dir().join("pricing.toml");
        Self::from_sources(Some(&user))
    }

    /// The built-in table with `user_file` over it; a missing file is no override.
    pub fn from_sources(user_file: Option<&Path>) -> Result<Pricing, Error> {
        let mut models = parse(PRICING_TOML, Path::new("config/pricing.toml (built in)"))?;
        if let Some(path) = user_file {
            match std::fs::read_to_string(path) {
                Ok(text) => models.extend(parse(&text, path)?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(Error::Read {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
        }
        Ok(Pricing { models })
    }

    /// Prices for a model: the exact name first, then the longest known name that the model
    /// starts with followed by '-' or ':' (dated versions such as "gpt-4o-2024-08-06" or
    /// "claude-sonnet-4-5-20250929", tags such as "deepseek-chat:free"). A "provider/" prefix
    /// as OpenRouter spells models ("openai/gpt-4o") is ignored, and so are dots where the table
    /// has dashes ("anthropic/claude-sonnet-4.5"). Case does not matter.
    pub fn lookup(&self, model: &str) -> Option<Prices> {
        let full = model.trim().to_ascii_lowercase();
        let bare = full.rsplit('/').next().unwrap_or(&full).to_string();
        let dashed = bare.replace('.', "-");
        [full, bare, dashed].iter().find_map(|name| self.find(name))
    }

    fn find(&self, name: &str) -> Option<Prices> {
        let dashed_or_tagged = |rest: &str| rest.starts_with(['-', ':']);
        model_entry(&self.models, name, dashed_or_tagged).map(|(_, p)| *p)
    }
}

/// The entry for a model in a table keyed by model name, and the name it is under: the exact
/// name first, then the longest name that the model starts with where `rest` accepts what
/// follows (`-2024-08-06` of "gpt-4o-2024-08-06" under "gpt-4o", `:free` of
/// "deepseek-chat:free").
pub fn model_entry<'a, T>(
    table: &'a BTreeMap<String, T>,
    model: &str,
    rest: impl Fn(&str) -> bool,
) -> Option<(&'a str, &'a T)> {
    if let Some((known, entry)) = table.get_key_value(model) {
        return Some((known, entry));
    }
    table
        .iter()
        .filter(|(known, _)| model.strip_prefix(known.as_str()).is_some_and(&rest))
        .max_by_key(|(known, _)| known.len())
        .map(|(known, entry)| (known.as_str(), entry))
}

/// Parses one pricing file; errors carry its path, the line and the key.
fn parse(text: &str, path: &Path) -> Result<BTreeMap<String, Prices>, Error> {
    let bad = |message: String| Error::Pricing {
        path: path.to_path_buf(),
        message,
    };
    let file: PricingFile =
        toml::from_str(text).map_err(|e| bad(crate::config::describe_toml_error(text, &e)))?;
    let mut out = BTreeMap::new();
    for (model, p) in file.models {
        let fields = [
            ("input", Some(p.input)),
            ("output", Some(p.output)),
            ("cached_input", p.cached_input),
        ];
        for (key, v) in fields {
            if let Some(v) = v.filter(|v| !v.is_finite() || *v < 0.0) {
                let line = model_line(text, &model)
                    .map(|l| format!("line {l}: "))
                    .unwrap_or_default();
                return Err(bad(format!(
                    "{line}`models.\"{model}\".{key}` is {v}: prices are USD per million tokens, 0 or more"
                )));
            }
        }
        out.insert(model.to_ascii_lowercase(), p);
    }
    Ok(out)
}

/// The line that defines `model` (as `"model" = {...}`, `model = {...}` or `[models."model"]`).
fn model_line(text: &str, model: &str) -> Option<usize> {
    let quoted = format!("\"{model}\"");
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches("[models.");
            let rest = l
                .strip_prefix(quoted.as_str())
                .or_else(|| l.strip_prefix(model));
            rest.is_some_and(|r| {
                let r = r.trim_start();
                r.starts_with('=') || r.starts_with(']')
            })
        })
        .map(|i| i + 1)
}
