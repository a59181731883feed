//! `plugin.toml`: what a plugin is, what it may do, and how it is run.
//!
//! Invariant: a [`Manifest`] that parsed is complete and consistent (a valid name, at least one
//! kind, a non-empty command, a positive timeout, a validator section for a validator); every
//! problem is an error naming the file, and the caller turns it into a warning.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::heal::Stage;
use crate::heal::tools::MAX_TIMEOUT;

/// What a plugin adds to vibe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `vibe plugin run NAME [args]` (and `/NAME` in chat): prints the plugin's output.
    Command,
    /// An extra heal validator in its stage, producing diagnostics.
    Validator,
    /// Findings added to `vibe map --json` under `plugins`.
    Analyzer,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Command => "command",
            Kind::Validator => "validator",
            Kind::Analyzer => "analyzer",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `[permissions]`. Defaults: read the repository, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// The request lists the repository's files (advisory beyond that: the plugin runs in the
    /// repository root).
    #[serde(default = "yes")]
    pub read_repo: bool,
    /// Without it, files the plugin changed, created or deleted under the root are reported in
    /// a warning (detected after the run; not prevented).
    #[serde(default)]
    pub write_repo: bool,
    /// Advisory: documented, not enforced.
    #[serde(default)]
    pub network: bool,
    /// Names of environment variables the plugin sees (besides PATH, HOME and LANG).
    #[serde(default)]
    pub env: Vec<String>,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            read_repo: true,
            write_repo: false,
            network: false,
            env: vec![],
        }
    }
}

fn yes() -> bool {
    true
}

/// `[validator]`: where the validator runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSpec {
    pub stage: Stage,
    /// Gitignore-style patterns of the files it checks (`*.py`, `src/**`); empty = every file.
    #[serde(default)]
    pub files: Vec<String>,
}

/// `[analyzer]`: which files it is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AnalyzerSpec {
    /// Gitignore-style patterns of the indexed files it is given; empty = every indexed file.
    #[serde(default)]
    pub files: Vec<String>,
}

/// A parsed `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    pub kinds: Vec<Kind>,
    /// argv: the program (on PATH, or a path relative to the plugin folder) and its arguments;
    /// an argument naming a file in the plugin folder is passed as that file's absolute path.
    pub command: Vec<String>,
    /// Seconds; the process group is killed past it.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    #[serde(default)]
    pub permissions: Permissions,
    #[serde(default)]
    pub validator: Option<ValidatorSpec>,
    #[serde(default)]
    pub analyzer: Option<AnalyzerSpec>,
    /// Free-form settings passed to the plugin in every request as `settings`.
    #[serde(default)]
    pub settings: toml::Table,
}

fn default_timeout() -> f64 {
    30.0
}

/// A name usable as `vibe plugin run NAME` and `/NAME`: lowercase ASCII letters, digits, `-`
/// and `_`, starting with a letter or digit, at most 64 bytes.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

impl Manifest {
    /// Parses and checks the text of `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Manifest, String> {
        let where_ = path.display();
        let mut m: Manifest = toml::from_str(text)
            .map_err(|e| format!("{where_}: {}", crate::config::describe_toml_error(text, &e)))?;
        // `kinds = ["command", "command"]` is one kind, listed once.
        let mut seen = Vec::new();
        m.kinds.retain(|k| {
            let new = !seen.contains(k);
            seen.push(*k);
            new
        });
        let bad = |msg: String| Err(format!("{where_}: {msg}"));
        if !valid_name(&m.name) {
            return bad(format!(
                "`name` is {:?}{}: use at most 64 lowercase letters, digits, `-` and `_`, starting with a letter or digit (it becomes `vibe plugin run NAME` and `/NAME` in chat)",
                m.name,
                if m.name.len() > 64 {
                    format!(" ({} characters)", m.name.chars().count())
                } else {
                    String::new()
                }
            ));
        }
        if m.kinds.is_empty() {
            return bad(
                "`kinds` is empty: give one or more of command, validator, analyzer".into(),
            );
        }
        if m.command.first().is_none_or(|c| c.trim().is_empty()) {
            return bad(
                "`command` is empty: give the program and its arguments, e.g. [\"python3\", \"main.py\"]"
                    .into(),
            );
        }
        if !(m.timeout.is_finite() && m.timeout > 0.0 && m.timeout <= MAX_TIMEOUT) {
            return bad(format!(
                "`timeout` is {}: give a number of seconds above 0 and at most {MAX_TIMEOUT} (a day)",
                m.timeout
            ));
        }
        if m.kinds.contains(&Kind::Validator) && m.validator.is_none() {
            return bad(
                "kind `validator` needs a [validator] section with `stage` (syntax, compile, lint or test)"
                    .into(),
            );
        }
        if (m.kinds.contains(&Kind::Validator) || m.kinds.contains(&Kind::Analyzer))
            && !m.permissions.read_repo
        {
            return bad(
                "validators and analyzers read the repository: set `permissions.read_repo = true`"
                    .into(),
            );
        }
        for v in &m.permissions.env {
            if v.is_empty() || v.contains('=') || v.contains('\0') {
                return bad(format!(
                    "`permissions.env` holds {v:?}, which is not an environment variable name"
                ));
            }
        }
        Ok(m)
    }

    pub fn has(&self, kind: Kind) -> bool {
        self.kinds.contains(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, String> {
        Manifest::parse(Path::new("p/plugin.toml"), text)
    }

    #[test]
    fn a_full_manifest_parses_with_defaults() -> Result<(), String> {
        let m = parse(
            r#"
name = "todo-budget"
version = "1.0.0"
kinds = ["validator", "command"]
command = ["python3", "main.py"]
[validator]
stage = "lint"
files = ["*.py"]
[settings]
max = 3
"#,
        )?;
        assert_eq!(m.timeout, 30.0);
        assert_eq!(m.permissions, Permissions::default());
        assert_eq!(m.validator.as_ref().map(|v| v.stage), Some(Stage::Lint));
        assert!(m.has(Kind::Command) && !m.has(Kind::Analyzer));
        assert_eq!(m.settings.get("max").and_then(|v| v.as_integer()), Some(3));
        Ok(())
    }

    #[test]
    fn bad_manifests_name_the_file_and_the_problem() {
        let base = "version = \"1\"\ncommand = [\"x\"]\n";
        for (text, want) in [
            (
                format!("name = \"A b\"\nkinds = [\"command\"]\n{base}"),
                "`name`",
            ),
            (
                format!("name = \"a\"\nkinds = []\n{base}"),
                "`kinds` is empty",
            ),
            (
                format!("name = \"a\"\nkinds = [\"magic\"]\n{base}"),
                "line 2",
            ),
            (
                "name = \"a\"\nversion = \"1\"\nkinds = [\"command\"]\ncommand = []\n".into(),
                "`command` is empty",
            ),
            (
                format!("name = \"a\"\nkinds = [\"validator\"]\n{base}"),
                "[validator] section",
            ),
            (
                format!("name = \"a\"\nkinds = [\"command\"]\ntimeout = 0\n{base}"),
                "`timeout`",
            ),
            (
                format!("name = \"a\"\nkinds = [\"command\"]\ntimeout = 1e30\n{base}"),
                "at most 86400",
            ),
            (
                format!("name = \"a\"\nkinds = [\"command\"]\ntimeout = 86400.5\n{base}"),
                "at most 86400",
            ),
            (
                format!("name = \"a\"\nkinds = [\"command\"]\nextra = 1\n{base}"),
                "unknown field",
            ),
            ("name = \"a\"\n".into(), "missing field"),
        ] {
            let e = parse(&text).err().unwrap_or_default();
            assert!(e.starts_with("p/plugin.toml: "), "{e}");
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    /// A 65-character name was refused without a word about the limit; a kind listed twice
    /// was kept twice (and shown twice).
    #[test]
    fn long_names_and_repeated_kinds() -> Result<(), String> {
        let long = "a".repeat(65);
        let e = parse(&format!(
            "name = \"{long}\"\nversion = \"1\"\nkinds = [\"command\"]\ncommand = [\"x\"]\n"
        ))
        .err()
        .unwrap_or_default();
        assert!(e.contains("(65 characters): use at most 64"), "{e}");
        let m = parse(
            "name = \"a\"\nversion = \"1\"\nkinds = [\"command\", \"analyzer\", \"command\"]\ncommand = [\"x\"]\n",
        )?;
        assert_eq!(m.kinds, [Kind::Command, Kind::Analyzer]);
        Ok(())
    }

    #[test]
    fn names() {
        assert!(valid_name("secrets-scan") && valid_name("a1_b"));
        assert!(!valid_name("") && !valid_name("-x") && !valid_name("X") && !valid_name("a/b"));
    }
}
