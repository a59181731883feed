//! From configuration to endpoints: which provider and model a `--model` spec names, the
//! fallback chain, and where each endpoint's key comes from.

use std::time::Duration;

use crate::config::{Config, ProviderConfig};
use crate::cost::Prices;

use super::{Error, Secret};

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    OpenAi,
    Anthropic,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::OpenAi => "openai",
            Kind::Anthropic => "anthropic",
        }
    }
}

/// Where the key comes from. Resolved when a request is made, so a fallback provider whose key
/// is missing fails only if it is reached.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    None,
    Env(String),
    Command(String),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::None => f.write_str("None"),
            KeySource::Env(v) => write!(f, "Env({v})"),
            // The command line may embed a secret (`echo sk-...`).
            KeySource::Command(_) => f.write_str("Command(<redacted>)"),
        }
    }
}

/// One provider with one model: everything an attempt needs.
#[derive(Clone)]
pub struct Endpoint {
    pub provider: String,
    pub kind: Kind,
    pub base_url: String,
    pub model: String,
    pub key: KeySource,
    /// Extra headers; their values are treated as secrets.
    pub headers: Vec<(String, String)>,
    pub local: bool,
    pub context_window: u64,
    /// Prices set in the provider's config for this model (over `config/pricing.toml`).
    pub prices: Option<Prices>,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
    pub requests_per_minute: u32,
    pub tokens_per_minute: u64,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("provider", &self.provider)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("key", &self.key)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// `provider/model`, as shown to the user.
    pub fn label(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }

    /// The API key, if this provider uses one.
    pub fn api_key(&self) -> Result<Option<Secret>, Error> {
        match &self.key {
            KeySource::None => Ok(None),
            KeySource::Env(var) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim().to_string()))),
                _ => Err(Error::MissingKey {
                    provider: self.provider.clone(),
                    var: var.clone(),
                }),
            },
            KeySource::Command(cmd) => {
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .stdin(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .output()
                    .map_err(|e| Error::KeyCommand {
                        provider: self.provider.clone(),
                        detail: format!("cannot run it: {e}"),
                    })?;
                let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
                if !out.status.success() || key.is_empty() {
                    return Err(Error::KeyCommand {
                        provider: self.provider.clone(),
                        detail: format!(
                            "it exited with {} and printed {} bytes; check providers.{}.api_key_cmd",
                            out.status,
                            key.len(),
                            self.provider
                        ),
                    });
                }
                Ok(Some(Secret::new(key)))
            }
        }
    }

    /// OpenAI's own API takes `max_completion_tokens`; other OpenAI-compatible servers
    /// `max_tokens`.
    pub fn wants_max_completion_tokens(&self) -> bool {
        self.kind == Kind::OpenAi && self.base_url.contains("api.openai.com")
    }
}

fn config_error(msg: String) -> Error {
    Error::Config(msg)
}

/// The endpoint a model spec names: `PROVIDER/MODEL`, `PROVIDER`, an alias, or a model of the
/// first provider of `llm.model`.
pub fn endpoint(config: &Config, spec: &str) -> Result<Endpoint, Error> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(config_error(
            "the model is empty\nhint: --model PROVIDER/MODEL, or set llm.model".into(),
        ));
    }
    let (name, model) = if let Some(p) = config.providers.get(spec) {
        (spec.to_string(), p.default_model.clone())
    } else if let Some((name, model)) = spec
        .split_once('/')
        .filter(|(p, _)| config.providers.contains_key(*p))
    {
        (name.to_string(), model.to_string())
    } else if let Some((name, model)) = alias(config, spec) {
        (name, model)
    } else {
        // A bare model name belongs to the default provider.
        let default = default_provider(config)?;
        (default, spec.to_string())
    };
    let p = config.providers.get(&name).ok_or_else(|| {
        config_error(format!(
            "no provider `{name}` is configured\nhint: add [providers.{name}] to your config, or use one of: {}",
            config.providers.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let model = p.aliases.get(&model).cloned().unwrap_or(model);
    if model.is_empty() {
        return Err(config_error(format!(
            "provider `{name}` has no default_model\nhint: --model {name}/MODEL, or set providers.{name}.default_model"
        )));
    }
    build(&name, p, model)
}

/// The provider `llm.model` starts with.
fn default_provider(config: &Config) -> Result<String, Error> {
    let spec = config.llm.model.trim();
    if config.providers.contains_key(spec) {
        return Ok(spec.to_string());
    }
    if let Some((p, _)) = spec.split_once('/')
        && config.providers.contains_key(p)
    {
        return Ok(p.to_string());
    }
    if let Some((p, _)) = alias(config, spec) {
        return Ok(p);
    }
    Err(config_error(format!(
        "llm.model = \"{spec}\" names no configured provider\nhint: set llm.model to PROVIDER or PROVIDER/MODEL (providers: {})",
        config
            .providers
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// An alias defined by exactly one provider.
fn alias(config: &Config, name: &str) -> Option<(String, String)> {
    let mut found = config
        .providers
        .iter()
        .filter_map(|(p, c)| c.aliases.get(name).map(|m| (p.clone(), m.clone())));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn secs(provider: &str, key: &str, v: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            config_error(format!(
                "providers.{provider}.{key} = {v}: must be a positive number of seconds"
            ))
        })
}

fn build(name: &str, p: &ProviderConfig, model: String) -> Result<Endpoint, Error> {
    let kind = match p.kind.as_str() {
        "openai" => Kind::OpenAi,
        "anthropic" => Kind::Anthropic,
        other => {
            return Err(config_error(format!(
                "providers.{name}.kind = \"{other}\": unknown wire format\nhint: use \"openai\" (Chat Completions) or \"anthropic\" (Messages)"
            )));
        }
    };
    let url = p.base_url.trim_end_matches('/').to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(config_error(format!(
            "providers.{name}.base_url = \"{}\": not an http(s) URL\nhint: e.g. http://127.0.0.1:11434/v1",
            p.base_url
        )));
    }
    let key = if !p.api_key_cmd.trim().is_empty() {
        KeySource::Command(p.api_key_cmd.clone())
    } else if !p.api_key_env.trim().is_empty() {
        KeySource::Env(p.api_key_env.trim().to_string())
    } else {
        KeySource::None
    };
    // A dated version or tag of a model the provider prices has its prices
    // (`gpt-4o-2024-08-06` or `gpt-4o:free` under `models."gpt-4o"`); another model whose name
    // starts alike (`o3-pro` beside `o3`, `gpt-4o-mini` beside `gpt-4o`) is priced by
    // pricing.toml, which knows it, not by the provider's entry for a cheaper model.
    let entry = crate::cost::model_entry(&p.models, &model, is_version);
    let m = entry.map(|(_, m)| m);
    let prices = match entry {
        Some((model, mc)) => match (mc.input, mc.output) {
            (Some(input), Some(output)) => Some(Prices {
                input,
                output,
                cached_input: mc.cached_input,
            }),
            (None, None) => None,
            _ => {
                return Err(config_error(format!(
                    "providers.{name}.models.\"{model}\": give both input and output prices (USD per million tokens)"
                )));
            }
        },
        None => None,
    };
    Ok(Endpoint {
        provider: name.to_string(),
        kind,
        base_url: url,
        key,
        headers: p
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        local: p.local,
        context_window: m.and_then(|m| m.context_window).unwrap_or(p.context_window),
        prices,
        connect_timeout: secs(name, "connect_timeout", p.connect_timeout)?,
        first_byte_timeout: secs(name, "first_byte_timeout", p.first_byte_timeout)?,
        idle_timeout: secs(name, "idle_timeout", p.idle_timeout)?,
        requests_per_minute: p.requests_per_minute,
        tokens_per_minute: p.tokens_per_minute,
        model,
    })
}

/// The model spec (or `llm.model`) and then `llm.fallback`, in order, without repeats.
pub fn chain(config: &Config, spec: Option<&str>) -> Result<Vec<Endpoint>, Error> {
    let first = endpoint(config, spec.unwrap_or(&config.llm.model))?;
    let mut out = vec![first];
    for f in &config.llm.fallback {
        let e = endpoint(config, f)?;
        if !out.iter().any(|o| o.label() == e.label()) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Whether what follows a model's name makes a dated version or a tag of it: `:` and a tag, or
/// `-` and digits and dashes (`-2024-08-06`, `-20250929`, `-0613`).
fn is_version(rest: &str) -> bool {
    rest.starts_with(':')
        || rest.strip_prefix('-').is_some_and(|v| {
            v.starts_with(|c: char| c.is_ascii_digit())
                && v.chars().all(|c| c.is_ascii_digit() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &[&str]) -> Config {
        let s = crate::config::Sources {
            overrides: extra.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        Config::load(&s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn specs_resolve() -> Result<(), Error> {
        let c = config(&[]);
        let e = endpoint(&c, "ollama")?;
        assert_eq!(
            (e.provider.as_str(), e.model.as_str()),
            ("ollama", "qwen2.5-coder:7b")
        );
        assert!(e.local && e.key == KeySource::None);
        let e = endpoint(&c, "openrouter/anthropic/claude-sonnet-4.5")?;
        assert_eq!(e.model, "anthropic/claude-sonnet-4.5");
        let e = endpoint(&c, "sonnet")?;
        assert_eq!(
            (e.provider.as_str(), e.kind),
            ("anthropic", Kind::Anthropic)
        );
        let e = endpoint(&c, "llama3.2")?;
        assert_eq!(
            (e.provider.as_str(), e.model.as_str()),
            ("ollama", "llama3.2")
        );
        let e = endpoint(&c, "openai/fast")?;
        assert_eq!(e.model, "gpt-4.1-nano");
        assert!(e.wants_max_completion_tokens());
        Ok(())
    }

    #[test]
    fn a_dated_model_has_the_settings_of_the_model_it_versions() -> Result<(), Error> {
        let c = config(&[concat!(
            r#"providers.work={ kind = "openai", base_url = "http://127.0.0.1:9/v1", "#,
            r#"models = { "m" = { input = 1.0, output = 2.0, context_window = 1000 }, "#,
            r#""m-mini" = { input = 0.1, output = 0.2 }, "n" = { input = 5.0 } } }"#
        )]);
        let prices = |spec: &str| -> Result<Option<(f64, u64)>, Error> {
            let e = endpoint(&c, spec)?;
            Ok(e.prices.map(|p| (p.input, e.context_window)))
        };
        assert_eq!(prices("work/m")?, Some((1.0, 1000)));
        // A dated version and a tag; the longest name wins; a longer word is another model.
        assert_eq!(prices("work/m-2024-08-06")?, Some((1.0, 1000)));
        assert_eq!(prices("work/m:free")?, Some((1.0, 1000)));
        assert_eq!(prices("work/m-mini-2025-01-01")?, Some((0.1, 32768)));
        assert_eq!(prices("work/mx")?, None);
        // Another model whose name starts alike is not priced as the provider's entry: o3-pro
        // is not o3 (pricing.toml knows it, at ten times the price).
        assert_eq!(prices("work/m-pro")?, None);
        assert_eq!(prices("work/m-v2")?, None);
        // The error names the entry that lacks a price, under its own name.
        let msg = endpoint(&c, "work/n-2024")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains(r#"providers.work.models."n": give both"#),
            "{msg}"
        );
        Ok(())
    }

    #[test]
    fn chain_skips_repeats_and_bad_kinds_are_named() {
        let c = config(&["llm.fallback=[\"ollama\", \"openai\"]"]);
        let labels: Vec<String> = chain(&c, None)
            .unwrap_or_default()
            .iter()
            .map(Endpoint::label)
            .collect();
        assert_eq!(labels, ["ollama/qwen2.5-coder:7b", "openai/gpt-4.1-mini"]);
        let c = config(&["providers.ollama.kind=grpc"]);
        let msg = endpoint(&c, "ollama")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("providers.ollama.kind"), "{msg}");
    }

    #[test]
    fn debug_never_shows_key_commands_or_header_values() {
        let c = config(&[
            "providers.openai.api_key_cmd=echo sk-planted-123",
            "providers.openai.headers={ X-Token = \"tok-planted-456\" }",
        ]);
        let e = endpoint(&c, "openai").unwrap_or_else(|e| panic!("{e}"));
        let dbg = format!("{e:?}");
        assert!(!dbg.contains("planted"), "{dbg}");
        let key = e.api_key().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(key.as_ref().map(Secret::expose), Some("sk-planted-123"));
        assert!(!format!("{key:?}").contains("planted"));
    }
}
