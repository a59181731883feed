//! `vibe init`: a commented `.vibe/config.toml` for this repository, from what is detected:
//! its languages, the validators installed for them, its test command, and a provider that
//! answers (a local server, or a key in the environment).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::heal::tools::{install_hint, which};
use crate::repomap::lang::{self, Lang};

use super::{UsageError, print, print_json};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing .vibe/config.toml.
    #[arg(long)]
    pub force: bool,
    /// Do not probe 127.0.0.1 for local model servers (Ollama, llama.cpp, LM Studio, vLLM).
    #[arg(long)]
    pub no_probe: bool,
    /// Print what was detected and written as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Local servers vibe knows, by the provider names of config/default.toml (their `base_url`s
/// say where they listen).
pub const LOCAL_SERVERS: [&str; 4] = ["ollama", "llamacpp", "lmstudio", "vllm"];
/// Hosted providers and the variable their key is read from.
const KEYED: [(&str, &str); 3] = [
    ("anthropic", "ANTHROPIC_API_KEY"),
    ("openai", "OPENAI_API_KEY"),
    ("openrouter", "OPENROUTER_API_KEY"),
];

/// What `init` (and `doctor`) find in a repository.
#[derive(Debug, Clone, Serialize)]
pub struct Detected {
    /// Languages and their file counts, most files first.
    pub languages: Vec<(String, usize)>,
    /// Validator tools for those languages: name, where it is (None: not installed).
    pub tools: Vec<Tool>,
    pub test_command: Option<String>,
    /// The provider to use, and why.
    pub provider: String,
    pub provider_reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: String,
    pub path: Option<PathBuf>,
    pub install: String,
}

/// The tools that validate a language (see docs/heal.md).
fn tools_for(l: Lang) -> &'static [&'static str] {
    match l {
        Lang::Python => &["python3", "mypy", "ruff", "pytest"],
        Lang::JavaScript => &["node", "eslint", "npm"],
        Lang::TypeScript | Lang::Tsx => &["tsc", "eslint"],
        Lang::Rust => &["cargo"],
        Lang::Go => &["go"],
        Lang::Java => &["javac"],
        Lang::C => &["cc"],
        Lang::Cpp => &["c++"],
    }
}

/// Languages by file count, of the files the walk of `vibe map` reads (the same ignore files;
/// not `map.exclude`, which `vibe init` may be about to write), the first 50,000 in path order.
pub fn languages(root: &Path) -> Vec<(Lang, usize)> {
    let mut counts: Vec<(Lang, usize)> = Vec::new();
    let (entries, _) = crate::repomap::walk::walk(root, &[], rayon::current_num_threads());
    for entry in entries.iter().take(50_000) {
        if let Some(l) = lang::detect(&entry.path, b"") {
            match counts.iter_mut().find(|(x, _)| *x == l) {
                Some((_, n)) => *n += 1,
                None => counts.push((l, 1)),
            }
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.name().cmp(b.0.name())));
    counts
}

/// The test command a repository's layout suggests.
pub fn test_command(root: &Path, langs: &[(Lang, usize)]) -> Option<String> {
    let has = |l: Lang| langs.iter().any(|(x, _)| *x == l);
    if root.join("Cargo.toml").exists() {
        return Some("cargo test".into());
    }
    if root.join("go.mod").exists() {
        return Some("go test ./...".into());
    }
    if let Ok(text) = std::fs::read_to_string(root.join("package.json"))
        && serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["scripts"]["test"].as_str().map(str::to_string))
            .is_some_and(|s| !s.contains("no test specified"))
    {
        return Some("npm test".into());
    }
    let py_tests = ["tests", "test", "conftest.py", "pytest.ini"]
        .iter()
        .any(|n| root.join(n).exists());
    if has(Lang::Python) && py_tests {
        return Some("python3 -m pytest -q".into());
    }
    None
}

/// Where the local server `name` (a provider of the built-in config) answers with its list of
/// models, as `vibe doctor` asks (`llm::http::list_models`: a 200 with a JSON `data` list),
/// within about a second: its `base_url`. `None` for any other program on the port (a `python
/// -m http.server` on 8000, a web app's dev server on 8080), or nothing.
pub fn serving_models(name: &str) -> Option<String> {
    let ep = crate::llm::providers::endpoint(&crate::config::Config::defaults(), name).ok()?;
    let at = ep.base_url.clone();
    lists_models(ep).then_some(at)
}

/// Whether the server of `ep` lists its models within about a second.
fn lists_models(mut ep: crate::llm::providers::Endpoint) -> bool {
    ep.connect_timeout = Duration::from_millis(300);
    ep.first_byte_timeout = Duration::from_millis(800);
    ep.idle_timeout = Duration::from_millis(800);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match (runtime, crate::llm::http::client(&ep)) {
        (Ok(rt), Ok(http)) => rt
            .block_on(crate::llm::http::list_models(&http, &ep, None))
            .is_ok(),
        _ => false,
    }
}

pub fn detect(root: &Path, probe: bool) -> Detected {
    let langs = languages(root);
    let mut tools: Vec<Tool> = Vec::new();
    for (l, _) in &langs {
        for name in tools_for(*l) {
            if tools.iter().any(|t| t.name == *name) {
                continue;
            }
            tools.push(Tool {
                name: name.to_string(),
                path: which(name, &[root.join("node_modules/.bin")]),
                install: install_hint(name).to_string(),
            });
        }
    }
    let local = if probe {
        LOCAL_SERVERS
            .iter()
            .find_map(|name| serving_models(name).map(|at| (name, at)))
    } else {
        None
    };
    let keyed = KEYED
        .iter()
        .find(|(_, var)| std::env::var(var).is_ok_and(|v| !v.trim().is_empty()));
    let (provider, provider_reason) = match (local, keyed) {
        (Some((name, at)), _) => (
            name.to_string(),
            format!("a local model server answers at {at}"),
        ),
        (None, Some((name, var))) => (name.to_string(), format!("{var} is set")),
        (None, None) => (
            "ollama".to_string(),
            format!(
                "the default ({} and no API key is set: start Ollama with `ollama serve`, or set a key)",
                if probe {
                    "no local model server answered"
                } else {
                    "local servers not probed (--no-probe)"
                }
            ),
        ),
    };
    Detected {
        test_command: test_command(root, &langs),
        languages: langs
            .iter()
            .map(|(l, n)| (l.name().to_string(), *n))
            .collect(),
        tools,
        provider,
        provider_reason,
    }
}

/// The commented config file.
pub fn render(d: &Detected) -> String {
    let mut s = String::from(
        "# vibe settings for this repository (written by `vibe init`). Any key of vibe's built-in\n\
         # config/default.toml can be set here; this file overrides your user config, and\n\
         # VIBE_<SECTION>_<KEY> variables and -c section.key=value override it. API keys never go\n\
         # here: they come from the environment (see docs/llm.md).\n",
    );
    if d.languages.is_empty() {
        s.push_str("# No source files of a known language were found.\n");
    } else {
        let langs: Vec<String> = d
            .languages
            .iter()
            .map(|(l, n)| format!("{l} ({n} file{})", if *n == 1 { "" } else { "s" }))
            .collect();
        s.push_str(&format!("# Languages found: {}.\n", langs.join(", ")));
    }
    s.push_str(&format!(
        "\n[llm]\n# Chosen: {}.\nmodel = \"{}\"\n# Tried in order if it fails, e.g. [\"anthropic\", \"ollama\"].\n# fallback = []\n",
        d.provider_reason, d.provider
    ));
    s.push_str(
        "\n[context]\n# Tokens of context `vibe context` packs for a task.\nbudget = 8000\n",
    );
    s.push_str("\n[heal]\n");
    let found: Vec<&str> = d
        .tools
        .iter()
        .filter(|t| t.path.is_some())
        .map(|t| t.name.as_str())
        .collect();
    let missing: Vec<String> = d
        .tools
        .iter()
        .filter(|t| t.path.is_none())
        .map(|t| format!("#   {}: {}", t.name, t.install))
        .collect();
    if !found.is_empty() {
        s.push_str(&format!(
            "# Validators found on PATH: {}.\n",
            found.join(", ")
        ));
    }
    if !missing.is_empty() {
        s.push_str("# Not installed (vibe heal skips them):\n");
        s.push_str(&missing.join("\n"));
        s.push('\n');
    }
    let runner_installed = |c: &str| {
        let tool = match c.split_whitespace().collect::<Vec<_>>().as_slice() {
            [_, "-m", "pytest", ..] => "pytest",
            [first, ..] => first,
            [] => "",
        };
        which(tool, &[]).is_some()
    };
    match &d.test_command {
        Some(c) if runner_installed(c) => s.push_str(&format!(
            "# The test stage of `vibe heal` runs this (\"\" detects one each time).\ntest_command = \"{c}\"\n"
        )),
        Some(c) => s.push_str(&format!(
            "# Tests look like they run with `{c}`, but its runner is not installed; until it is,\n# the test stage is skipped.\ntest_command = \"\"\n"
        )),
        None => s.push_str(
            "# No test suite detected; set the command that runs your tests.\ntest_command = \"\"\n",
        ),
    }
    s.push_str(
        "\n# Spending limits ([budget] daily / monthly / session, in USD) are yours, not the\n# repository's: set them in your user config ($VIBE_HOME/config.toml); see docs/cost.md.\n",
    );
    s
}

#[derive(Serialize)]
struct Out<'a> {
    schema: &'static str,
    path: String,
    detected: &'a Detected,
}

pub fn run(args: &InitArgs, root: &Path) -> anyhow::Result<ExitCode> {
    let path = root.join(".vibe").join("config.toml");
    // A link counts as the file, even one to nothing (a dotfiles link not yet made): it is
    // the user's, replaced only with --force.
    if path.symlink_metadata().is_ok() && !args.force {
        return Err(UsageError {
            message: format!(
                "{} exists\nhint: edit it, or pass --force to write a new one (the old one is replaced)",
                path.display()
            ),
        }
        .into());
    }
    let d = detect(root, !args.no_probe);
    let text = render(&d);
    // The file must be a valid config layer before it is written.
    let table: toml::Table = toml::from_str(&text)?;
    let _ = table;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create {}: {e}\nhint: it must be a directory (move aside a file or a broken link of that name)",
                dir.display()
            )
        })?;
    }
    if path.is_dir() {
        return Err(anyhow::anyhow!(
            "{} is a directory\nhint: move it aside; vibe init writes the config file there",
            path.display()
        ));
    }
    crate::edit::atomic_write(&path, text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    if args.json {
        print_json(&Out {
            schema: "vibe.init/1",
            path: ".vibe/config.toml".into(),
            detected: &d,
        })?;
    } else {
        print(&format!(
            "wrote .vibe/config.toml: {}; provider {} ({}){}\n",
            if d.languages.is_empty() {
                "no known languages".to_string()
            } else {
                d.languages
                    .iter()
                    .map(|(l, n)| format!("{l} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            d.provider,
            d.provider_reason,
            d.test_command
                .as_ref()
                .map(|c| format!("; tests: {c}"))
                .unwrap_or_default()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on 127.0.0.1 that answers every request with `status` and `body` (and keeps
    /// each connection open after it), on its own thread; an endpoint of it.
    fn answering(status: &str, body: &str) -> crate::llm::providers::Endpoint {
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("its address").port();
        std::thread::spawn(move || {
            let mut open = Vec::new();
            for mut stream in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(answer.as_bytes());
                open.push(stream);
            }
        });
        let mut ep = crate::llm::providers::endpoint(&crate::config::Config::defaults(), "vllm")
            .expect("the built-in vllm provider");
        ep.base_url = format!("http://127.0.0.1:{port}/v1");
        ep
    }

    /// A program on a model server's port that is not one (a static file server, a web app)
    /// is not taken for one; a server that lists its models is, also when it keeps the
    /// connection open after its answer.
    #[test]
    fn only_a_server_that_lists_models_is_a_model_server() {
        assert!(lists_models(answering(
            "200 OK",
            "{\"object\":\"list\",\"data\":[]}"
        )));
        for (status, body) in [
            ("404 File not found", "<html>nope</html>"),
            ("200 OK", "<html>Directory listing</html>"),
            ("200 OK", "{\"status\":\"ok\"}"),
        ] {
            assert!(!lists_models(answering(status, body)), "{status} {body}");
        }
        // Nothing listening.
        let mut closed = answering("200 OK", "");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a port");
        closed.base_url = format!("http://127.0.0.1:{port}/v1");
        assert!(!lists_models(closed));
    }

    /// The languages are those of the files `vibe map` reads: not an ignored directory's, a
    /// hidden one's or a `.vibeignore`d file's.
    #[test]
    fn languages_count_the_files_the_map_reads() -> Result<(), Box<dyn std::error::Error>> {
        let t = crate::heal::tools::TempDir::new("vibe-init-test")?;
        let root = std::fs::canonicalize(t.path())?;
        for (f, text) in [
            (".gitignore", "vendor/\n"),
            (".vibeignore", "tool.rs\n"),
            ("a.py", ""),
            ("pkg/b.py", ""),
            ("tool.rs", ""),
            ("vendor/x.go", ""),
            (".hidden/y.go", ""),
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap_or(&root))?;
            std::fs::write(p, text)?;
        }
        assert_eq!(languages(&root), [(Lang::Python, 2)]);
        Ok(())
    }
}
