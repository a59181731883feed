//! `vibe plugin list|info|run`: the plugins found for this repository, one in detail, and
//! running a command plugin.

use super::{shown, shown_lines};
use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::config::Config;
use crate::plugins::{self, Kind, Plugin, Warning};

use super::{UsageError, print, print_json};

#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List the plugins found (the repository's plugins/, [plugins] dirs, the user's plugins/).
    List {
        /// Print JSON (schema vibe.plugin.list/1, see docs/plugins.md).
        #[arg(long)]
        json: bool,
    },
    /// Show one plugin: its manifest, where it is, what it may do.
    Info {
        name: String,
        /// Print JSON (schema vibe.plugin.info/1).
        #[arg(long)]
        json: bool,
    },
    /// Run a command plugin with ARGS and print its output.
    ///
    /// Everything after NAME goes to the plugin (`--json`, `--help`, `-v` too): vibe's own
    /// flags come before NAME.
    Run {
        /// Print JSON (schema vibe.plugin.run/1).
        #[arg(long)]
        json: bool,
        /// The plugin's name, then the arguments passed to it (in the request's `args`).
        // One positional: clap reads flags between two positionals as its own, and only the
        // values after the first of a trailing positional as values.
        #[arg(
            value_names = ["NAME", "ARGS"],
            required = true,
            num_args = 1..,
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        name_and_args: Vec<String>,
    },
}

/// A plugin as `list` and `info` print it.
#[derive(Serialize)]
struct PluginJson<'a> {
    name: &'a str,
    version: &'a str,
    description: &'a str,
    kinds: &'a [Kind],
    source: plugins::Source,
    dir: String,
    command: &'a [String],
    timeout: f64,
    permissions: &'a plugins::Permissions,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<crate::heal::Stage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<&'a [String]>,
    enabled: bool,
    problem: Option<&'a str>,
    withheld_env: &'a [String],
}

fn json_of(p: &Plugin) -> PluginJson<'_> {
    let m = &p.manifest;
    PluginJson {
        name: &m.name,
        version: &m.version,
        description: &m.description,
        kinds: &m.kinds,
        source: p.source,
        dir: p.dir.display().to_string(),
        command: &m.command,
        timeout: m.timeout,
        permissions: &m.permissions,
        stage: m.validator.as_ref().map(|v| v.stage),
        files: m
            .validator
            .as_ref()
            .map(|v| v.files.as_slice())
            .or(m.analyzer.as_ref().map(|a| a.files.as_slice())),
        enabled: p.enabled,
        problem: p.problem.as_deref(),
        withheld_env: &p.withheld_env,
    }
}

#[derive(Serialize)]
struct ListJson<'a> {
    schema: &'static str,
    dirs: Vec<String>,
    plugins: Vec<PluginJson<'a>>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct InfoJson<'a> {
    schema: &'static str,
    #[serde(flatten)]
    plugin: PluginJson<'a>,
    settings: &'a toml::Table,
}

#[derive(Serialize)]
struct RunJson<'a> {
    schema: &'static str,
    plugin: &'a str,
    title: Option<&'a str>,
    output: &'a str,
    warnings: Vec<String>,
}

fn warn(ws: &[Warning]) {
    for w in ws {
        super::warning(w);
    }
}

pub fn run(args: &PluginArgs, root: &Path, config: &Config) -> anyhow::Result<ExitCode> {
    let (found, warnings) = plugins::discover(root, config);
    match &args.command {
        PluginCommand::List { json } => {
            if *json {
                print_json(&ListJson {
                    schema: "vibe.plugin.list/1",
                    dirs: plugins::dirs(root, config)
                        .iter()
                        .map(|(d, _)| d.display().to_string())
                        .collect(),
                    plugins: found.iter().map(json_of).collect(),
                    warnings: warnings.iter().map(ToString::to_string).collect(),
                })?;
                return Ok(ExitCode::SUCCESS);
            }
            warn(&warnings);
            let mut out = String::new();
            if found.is_empty() {
                out.push_str("no plugins found; looked in:\n");
                for (d, _) in plugins::dirs(root, config) {
                    out.push_str(&format!("  {}\n", shown(&d.display().to_string())));
                }
            }
            for p in &found {
                let state = match state(p) {
                    State::Untrusted => "  (untrusted)",
                    State::Disabled => "  (disabled)",
                    State::Broken(_) => "  (broken)",
                    State::Ready => "",
                };
                out.push_str(&format!(
                    "{:<20} {:<8} {:<28} {}{state}\n",
                    shown(p.name()),
                    shown(&p.manifest.version),
                    plugins::kinds(&p.manifest),
                    shown(&p.manifest.description)
                ));
            }
            if found.iter().any(|p| state(p) == State::Untrusted) {
                out.push_str(&format!("\n{}\n", plugins::UNTRUSTED));
            }
            if !found.is_empty() {
                out.push_str("\nlooked in:\n");
                for (d, _) in plugins::dirs(root, config) {
                    out.push_str(&format!("  {}\n", shown(&d.display().to_string())));
                }
            }
            print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Info { name, json } => {
            let Some(p) = found.iter().find(|p| p.name() == name) else {
                // A folder of that name whose manifest did not parse: broken, as `plugin run`
                // says, not missing.
                if let Some(bad) = warnings
                    .iter()
                    .filter(|w| w.plugin.as_deref() == Some(name.as_str()))
                    .find_map(|w| w.message.strip_prefix(plugins::BAD_MANIFEST))
                {
                    return Err(anyhow::anyhow!(
                        "plugin `{name}`: its manifest is broken: {}",
                        shown_lines(bad)
                    ));
                }
                warn(&warnings);
                return Err(UsageError {
                    message: plugins::find(&found, name)
                        .err()
                        .unwrap_or_else(|| format!("no plugin named `{name}`")),
                }
                .into());
            };
            if *json {
                print_json(&InfoJson {
                    schema: "vibe.plugin.info/1",
                    plugin: json_of(p),
                    settings: &p.manifest.settings,
                })?;
            } else {
                warn(&warnings);
                print(&info_text(p))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Run {
            name_and_args,
            json,
        } => {
            let (name, args) = name_and_args.split_first().ok_or_else(|| UsageError {
                message: "no plugin name given\nhint: vibe plugin run NAME [ARGS...]".into(),
            })?;
            let mine: Vec<&Warning> = warnings
                .iter()
                .filter(|w| w.plugin.as_deref() == Some(name))
                .collect();
            // A folder of that name whose manifest did not parse: the plugin is broken (exit
            // 1, as for a missing program), not missing.
            if !found.iter().any(|p| p.name() == name)
                && let Some(bad) = mine
                    .iter()
                    .find_map(|w| w.message.strip_prefix(plugins::BAD_MANIFEST))
            {
                return Err(anyhow::anyhow!(
                    "plugin `{name}`: its manifest is broken: {}",
                    shown_lines(bad)
                ));
            }
            warn(
                &mine
                    .into_iter()
                    // A missing program is the error the run reports below.
                    .filter(|w| found.iter().all(|p| p.problem.as_ref() != Some(&w.message)))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            let p = plugins::find(&found, name).map_err(|message| UsageError { message })?;
            if !p.manifest.has(Kind::Command) {
                return Err(UsageError {
                    message: format!("plugin `{name}` {}", plugins::not_a_command(p)),
                }
                .into());
            }
            let Some(out) = super::unless_interrupted(|| plugins::run_command(p, args, root))
            else {
                return Ok(ExitCode::from(130));
            };
            let out = match out {
                Ok(o) => o,
                Err(e) => {
                    warn(&e.warnings);
                    return Err(anyhow::Error::new(e));
                }
            };
            if *json {
                print_json(&RunJson {
                    schema: "vibe.plugin.run/1",
                    plugin: p.name(),
                    title: out.title.as_deref(),
                    output: &out.output,
                    warnings: out.warnings.iter().map(ToString::to_string).collect(),
                })?;
            } else {
                warn(&out.warnings);
                let mut text = out.output.clone();
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                print(&text)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Why a plugin runs or not, as `list` and `info` show it.
#[derive(Debug, PartialEq, Eq)]
enum State<'a> {
    Ready,
    /// A repository's (or `[plugins] dirs`') plugin, without `plugins.trust_repo`.
    Untrusted,
    /// By `[plugins] enabled` or `disabled`.
    Disabled,
    /// Its program is missing.
    Broken(&'a str),
}

fn state(p: &Plugin) -> State<'_> {
    match (&p.problem, p.enabled) {
        (Some(e), _) if e == plugins::UNTRUSTED => State::Untrusted,
        (_, false) => State::Disabled,
        (Some(e), true) => State::Broken(e),
        (None, true) => State::Ready,
    }
}

fn info_text(p: &Plugin) -> String {
    let m = &p.manifest;
    let perm = &m.permissions;
    let mut o = format!("{} {}\n", shown(&m.name), shown(&m.version));
    if !m.description.is_empty() {
        o.push_str(&format!("  {}\n", shown(&m.description)));
    }
    o.push_str(&format!("kinds:       {}\n", plugins::kinds(m)));
    o.push_str(&format!(
        "folder:      {} ({})\n",
        shown(&p.dir.display().to_string()),
        match p.source {
            plugins::Source::Repo => "repository",
            plugins::Source::Config => "[plugins] dirs",
            plugins::Source::User => "user",
        }
    ));
    o.push_str(&format!("command:     {}\n", shown(&m.command.join(" "))));
    o.push_str(&format!("timeout:     {} s\n", m.timeout));
    if let Some(v) = &m.validator {
        o.push_str(&format!(
            "validator:   stage {}, files {}\n",
            v.stage,
            if v.files.is_empty() {
                "all".to_string()
            } else {
                shown(&v.files.join(" "))
            }
        ));
    }
    o.push_str(&format!(
        "permissions: read_repo {}, write_repo {}, network {} (advisory), env [{}]\n",
        perm.read_repo,
        perm.write_repo,
        perm.network,
        shown(&perm.env.join(", "))
    ));
    if !p.withheld_env.is_empty() {
        o.push_str(&format!(
            "withheld:    {} (secret-looking; allow in your user config's [plugins] allow_env)\n",
            shown(&p.withheld_env.join(", "))
        ));
    }
    o.push_str(&format!(
        "state:       {}\n",
        match state(p) {
            State::Untrusted => format!("untrusted: {}", plugins::UNTRUSTED),
            State::Disabled => "disabled in the config ([plugins] enabled / disabled)".to_string(),
            State::Broken(e) => format!("broken: {}", shown_lines(e)),
            State::Ready => "ready".to_string(),
        }
    ));
    o
}
