//! `vibe doctor`: is everything vibe needs in order here? The configuration, each provider of
//! the chain (key present, server reachable, model known), the validators for the repository's
//! languages, the index and the cost ledger — one line each, `ok` or a problem with a hint.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::config::{Config, Sources};
use crate::llm;

use super::{print, print_json};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Do not contact the providers (no network).
    #[arg(long)]
    pub offline: bool,
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Note,
    Problem,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub area: &'static str,
    pub status: Status,
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

fn check(area: &'static str, status: Status, what: String, hint: Option<String>) -> Check {
    Check {
        area,
        status,
        what,
        hint,
    }
}

/// The providers of the chain: key, reachability, model.
fn providers(config: &Config, offline: bool, out: &mut Vec<Check>) {
    let chain = match llm::providers::chain(config, None) {
        Ok(c) => c,
        Err(e) => {
            let e = e.to_string();
            out.push(check(
                "provider",
                Status::Problem,
                first_line(&e),
                hint_of(&e),
            ));
            return;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    for ep in &chain {
        let label = ep.label();
        let key = match ep.api_key() {
            Ok(k) => k,
            Err(e) => {
                out.push(check(
                    "provider",
                    Status::Problem,
                    format!("{label}: {}", first_line(&e.to_string())),
                    hint_of(&e.to_string()),
                ));
                continue;
            }
        };
        if offline {
            out.push(check(
                "provider",
                Status::Note,
                format!("{label}: not contacted (--offline)"),
                None,
            ));
            continue;
        }
        let mut quick = ep.clone();
        quick.connect_timeout = Duration::from_secs(3);
        quick.first_byte_timeout = Duration::from_secs(5);
        let listed = match (&runtime, llm::http::client(&quick)) {
            (Ok(rt), Ok(http)) => rt.block_on(llm::http::list_models(&http, &quick, key.as_ref())),
            (Err(e), _) => Err(llm::Error::Config(e.to_string())),
            (_, Err(e)) => Err(e),
        };
        match listed {
            Ok(models) if models.iter().any(|m| m == &ep.model) => out.push(check(
                "provider",
                Status::Ok,
                format!("{label}: reachable at {}, model known", ep.base_url),
                None,
            )),
            Ok(models) => out.push(check(
                "provider",
                Status::Problem,
                format!(
                    "{label}: reachable at {}, but it does not list model `{}` ({} model(s) listed{})",
                    ep.base_url,
                    ep.model,
                    models.len(),
                    if models.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ": {}",
                            models.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                        )
                    }
                ),
                Some(if ep.provider == "ollama" {
                    format!("ollama pull {}, or pick a listed model with llm.model", ep.model)
                } else {
                    "pick a listed model with llm.model or --model PROVIDER/MODEL".into()
                }),
            )),
            Err(llm::Error::Http { status: 404, .. }) => out.push(check(
                "provider",
                Status::Note,
                format!("{label}: reachable, but it has no model list to check `{}` against", ep.model),
                None,
            )),
            Err(e) => out.push(check(
                "provider",
                Status::Problem,
                format!("{label}: {}", first_line(&e.to_string())),
                hint_of(&e.to_string()),
            )),
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

fn hint_of(s: &str) -> Option<String> {
    s.lines()
        .find_map(|l| l.strip_prefix("hint: "))
        .map(str::to_string)
}

pub fn run(args: &DoctorArgs, root: &Path, overrides: &[String]) -> anyhow::Result<ExitCode> {
    let mut out: Vec<Check> = Vec::new();
    let config = match Sources::from_env(Some(root.to_path_buf()), overrides.to_vec())
        .and_then(|sources| Config::load(&sources))
    {
        Ok(c) => {
            out.push(check(
                "config",
                Status::Ok,
                "configuration loads (built-in, user, repository, environment, flags)".into(),
                None,
            ));
            for w in &c.warnings {
                out.push(check("config", Status::Problem, first_line(w), hint_of(w)));
            }
            Some(c)
        }
        Err(e) => {
            out.push(check(
                "config",
                Status::Problem,
                first_line(&e.to_string()),
                hint_of(&e.to_string()),
            ));
            None
        }
    };
    if let Some(config) = &config {
        providers(config, args.offline, &mut out);
    }
    let d = super::init::detect(root, false);
    for t in &d.tools {
        out.push(match &t.path {
            Some(p) => check(
                "validator",
                Status::Ok,
                format!("{} ({})", t.name, p.display()),
                None,
            ),
            None => check(
                "validator",
                Status::Note,
                format!("{} not installed: vibe heal skips it", t.name),
                Some(t.install.clone()),
            ),
        });
    }
    let db = crate::store::Store::path_for(root);
    if db.exists() {
        // Opening rebuilds an unusable index, as any command would: said, not hidden.
        let mut rebuilt: Vec<String> = Vec::new();
        let unreadable = |e: &crate::store::Error| {
            check(
                "index",
                Status::Problem,
                first_line(&e.to_string()),
                Some("vibe map rebuilds it".into()),
            )
        };
        match crate::store::Store::open(root, &mut |w| rebuilt.push(w)) {
            Ok(_) if !rebuilt.is_empty() => {
                for w in &rebuilt {
                    out.push(check(
                        "index",
                        Status::Problem,
                        first_line(w),
                        Some("it was rebuilt empty: vibe map indexes the tree again".into()),
                    ));
                }
            }
            Ok(store) => match store.damage() {
                // Damage in a page that opening does not read: rebuilt here, as the first
                // command to read that page would rebuild it.
                Ok(Some(damage)) => {
                    let reason = crate::store::Error::Unusable {
                        path: store.path().to_path_buf(),
                        reason: format!("is damaged ({damage})"),
                    };
                    let (said, hint) = match store.rebuild(&mut |w| rebuilt.push(w), &reason) {
                        Ok(_) => match rebuilt.first() {
                            Some(w) => (
                                first_line(w),
                                "it was rebuilt empty: vibe map indexes the tree again",
                            ),
                            // Another process had set it aside and made a fresh one.
                            None => (
                                format!("{reason}; another vibe process has rebuilt it"),
                                "the fresh index fills at the next vibe map",
                            ),
                        },
                        Err(e) => (first_line(&e.to_string()), "vibe map rebuilds it"),
                    };
                    out.push(check("index", Status::Problem, said, Some(hint.into())));
                }
                Ok(None) => match store.read().and_then(|r| r.files()) {
                    Ok(files) => out.push(check(
                        "index",
                        Status::Ok,
                        format!(
                            "{}: {} files indexed",
                            // Where it is: `.vibe/index.db`, or the user data dir when the tree's
                            // own `.vibe` cannot hold it.
                            store
                                .path()
                                .strip_prefix(root)
                                .unwrap_or(store.path())
                                .display(),
                            files.len()
                        ),
                        None,
                    )),
                    Err(e) => out.push(unreadable(&e)),
                },
                Err(e) => out.push(unreadable(&e)),
            },
            Err(e) => out.push(unreadable(&e)),
        }
    } else if let Some(why) = crate::store::nowhere_to_keep(root) {
        out.push(check(
            "index",
            Status::Problem,
            format!("no index, and none can be kept: {why}; every command indexes the tree again, in memory"),
            Some("make the tree writable, or set VIBE_HOME to a writable directory".into()),
        ));
    } else {
        out.push(check(
            "index",
            Status::Note,
            "no index yet".into(),
            Some("vibe map builds it (any command that needs it does too)".into()),
        ));
    }
    match crate::cost::Ledger::open_existing(&crate::cost::Ledger::default_path()) {
        Ok(Some(_)) => out.push(check(
            "ledger",
            Status::Ok,
            format!(
                "cost ledger {}",
                crate::cost::Ledger::default_path().display()
            ),
            None,
        )),
        Ok(None) => out.push(check(
            "ledger",
            Status::Note,
            "no cost ledger yet (the first request creates it)".into(),
            None,
        )),
        Err(e) => out.push(check(
            "ledger",
            Status::Problem,
            first_line(&e.to_string()),
            hint_of(&e.to_string()),
        )),
    }
    let problems = out.iter().filter(|c| c.status == Status::Problem).count();
    if args.json {
        print_json(&serde_json::json!({
            "schema": "vibe.doctor/1",
            "problems": problems,
            "checks": out,
        }))?;
    } else {
        let mut s = String::new();
        for c in &out {
            let mark = match c.status {
                Status::Ok => "ok     ",
                Status::Note => "note   ",
                Status::Problem => "PROBLEM",
            };
            // What a check says quotes the configuration (a repository's model name) and
            // tools' output: escaped, as every text from outside vibe is.
            s.push_str(&format!("{mark} {:<9} {}\n", c.area, super::shown(&c.what)));
            if let Some(h) = &c.hint {
                s.push_str(&format!("{:<17} hint: {}\n", "", super::shown(h)));
            }
        }
        s.push_str(&match problems {
            0 => "no problems found\n".to_string(),
            n => format!("{n} problem(s) found\n"),
        });
        print(&s)?;
    }
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
