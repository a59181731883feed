//! Plugins through the real binary: `vibe plugin list|info|run`, the three example plugins of
//! the repository's `plugins/` end to end (changelog, todo-budget in `vibe heal --check`,
//! secrets-scan in `vibe map --json`), and broken plugins as warnings, never crashes.

#[allow(clippy::duplicate_mod)]
#[path = "util/mod.rs"]
#[macro_use]
mod util;

use std::path::Path;

use serde_json::Value;

use util::{Run, Test, copy_tree, git};

/// The repository's example plugins, copied into the test repository's `plugins/`.
fn with_examples(t: &Test) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins");
    copy_tree(&src, &t.root().join("plugins"));
}

fn have_python() -> bool {
    let found = vibe::heal::tools::which("python3", &[]).is_some();
    if !found {
        eprintln!("skipped: python3 not installed");
    }
    found
}

/// A plugin written into `dir` (relative to the test repository, or absolute) as `sh run.sh`.
fn sh_plugin(dir: &Path, name: &str, kinds: &str, script: &str, extra: &str) {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    std::fs::write(d.join("run.sh"), script).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        d.join("plugin.toml"),
        format!(
            "name = \"{name}\"\nversion = \"0.1.0\"\ndescription = \"test\"\nkinds = [{kinds}]\ncommand = [\"sh\", \"run.sh\"]\n{}{extra}",
            if extra.contains("timeout") { "" } else { "timeout = 5\n" }
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// Trusts the repository's plugins, as a user would in their config (`plugins.trust_repo`).
fn trust(t: &Test) {
    std::fs::write(
        t.home.path().join("config.toml"),
        "[plugins]\ntrust_repo = true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn list_json_shape() {
    let t = Test::new();
    trust(&t);
    with_examples(&t);
    // A user plugin overriding a repository one, and a broken one beside them.
    let user = t.home.path().join("plugins");
    sh_plugin(
        &user,
        "changelog",
        "\"command\"",
        "echo '{\"output\": \"mine\"}'\n",
        "",
    );
    t.write(
        "plugins/broken/plugin.toml",
        "name = \"broken\"\nkinds = 3\n",
    );
    let v = t.run(&["plugin", "list", "--json"]).json();
    assert_eq!(v["schema"], "vibe.plugin.list/1");
    let names: Vec<&str> = v["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["changelog", "secrets-scan", "todo-budget"]);
    let p = &v["plugins"][2];
    for key in [
        "name",
        "version",
        "description",
        "kinds",
        "source",
        "dir",
        "command",
        "timeout",
        "permissions",
        "stage",
        "files",
        "enabled",
        "problem",
        "withheld_env",
    ] {
        assert!(p.get(key).is_some(), "no {key} in {p:#}");
    }
    assert_eq!(p["kinds"], serde_json::json!(["validator"]));
    assert_eq!(p["stage"], "lint");
    assert_eq!(p["source"], "repo");
    assert_eq!(
        p["permissions"],
        serde_json::json!({"read_repo": true, "write_repo": false, "network": false, "env": []})
    );
    assert_eq!(p["enabled"], true);
    assert_eq!(v["plugins"][0]["source"], "user");
    let dirs = v["dirs"].as_array().map(Vec::len);
    assert_eq!(dirs, Some(2));
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("plugin `broken`: bad manifest, plugin not loaded: ")
            && warnings[0].contains("plugin.toml: line 2"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with("plugin `changelog`: ")
            && warnings[1].contains("overrides the plugin of the same name"),
        "{warnings:?}"
    );
    // The user's wins.
    assert_eq!(t.run(&["plugin", "run", "changelog"]).ok(), "mine\n");
    // Text forms.
    let text = t.run(&["plugin", "list"]);
    assert!(text.ok().contains("todo-budget"));
    assert!(text.stderr().contains("warning: plugin `broken`"));
    let info = t.run(&["plugin", "info", "secrets-scan"]).ok();
    assert!(info.contains("kinds:       analyzer"), "{info}");
    let info = t.run(&["plugin", "info", "--json", "todo-budget"]).json();
    assert_eq!(info["schema"], "vibe.plugin.info/1");
    assert_eq!(info["settings"]["max_per_file"], 10);
    let r = t.run(&["plugin", "info", "nope"]);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr().contains("no plugin named `nope`"),
        "{}",
        r.stderr()
    );
    // Disabled by config.
    let v = t
        .run(&[
            "-c",
            "plugins.disabled=[\"todo-budget\"]",
            "plugin",
            "list",
            "--json",
        ])
        .json();
    assert_eq!(v["plugins"][2]["enabled"], false);
}

#[test]
fn changelog_drafts_from_git_log() {
    if !have_python() || vibe::heal::tools::which("git", &[]).is_none() {
        return;
    }
    let t = Test::new();
    trust(&t);
    with_examples(&t);
    git(t.root(), &["init", "-q"]);
    t.write("a.txt", "1\n");
    git(t.root(), &["add", "a.txt"]);
    git(t.root(), &["commit", "-qm", "initial import"]);
    git(t.root(), &["tag", "v0.1.0"]);
    for (i, msg) in [
        "feat(map): rank by PageRank",
        "fix: handle empty files",
        "docs: a README",
        "feat!: drop the old format",
        "tidy up",
    ]
    .iter()
    .enumerate()
    {
        t.write("a.txt", format!("{i}\n"));
        git(t.root(), &["commit", "-qam", msg]);
    }
    let out = t.run(&["plugin", "run", "changelog"]).ok();
    let hashless: String = out
        .lines()
        .map(|l| match l.rfind(" (") {
            Some(i) if l.starts_with("- ") => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        hashless,
        "## Changes since v0.1.0\n\n### Breaking changes\n\n- drop the old format\n\n### Features\n\n- drop the old format\n- **map:** rank by PageRank\n\n### Fixes\n\n- handle empty files\n\n### Documentation\n\n- a README\n\n### Other\n\n- tidy up"
    );
    // Arguments reach the plugin; --json carries the title.
    let v = t
        .run(&["plugin", "run", "--json", "changelog", "HEAD~1"])
        .json();
    assert_eq!(v["schema"], "vibe.plugin.run/1");
    assert_eq!(v["title"], "Changes since HEAD~1");
    assert!(
        v["output"]
            .as_str()
            .is_some_and(|o| o.contains("- tidy up"))
    );
    // A plugin's own error is an error of the run, exit 1, naming the plugin.
    let r = t.run(&["plugin", "run", "changelog", "--until", "no-such-ref"]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr().contains("error: plugin `changelog`: reported an error: not a git repository with commits, or no ref 'no-such-ref'"),
        "{}",
        r.stderr()
    );
}

#[test]
fn todo_budget_validator_in_heal_check() {
    if !have_python() {
        return;
    }
    let t = Test::new();
    trust(&t);
    with_examples(&t);
    let marks: String = (1..=12).map(|i| format!("x{i} = {i}  # TODO\n")).collect();
    t.write("many.py", &marks);
    t.write("few.py", "y = 1  # TODO: later\n");
    t.write("notes.md", &marks);
    let r = t.run(&[
        "heal", "--check", "--json", "--stage", "lint", "many.py", "few.py", "notes.md",
    ]);
    assert_eq!(r.code(), 1, "{}\n{}", r.stdout(), r.stderr());
    let v: Value = serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["failed_stage"], "lint");
    let lint = v["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["stage"] == "lint"))
        .unwrap_or_else(|| panic!("no lint stage: {v:#}"));
    let run = lint["validators"]
        .as_array()
        .and_then(|vs| vs.iter().find(|r| r["name"] == "plugin:todo-budget"))
        .unwrap_or_else(|| panic!("plugin did not run: {lint:#}"));
    assert_eq!(run["status"], "failed");
    let ds = run["diagnostics"].as_array().cloned().unwrap_or_default();
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0]["file"], "many.py");
    assert_eq!(ds[0]["line"], 11);
    assert_eq!(ds[0]["code"], "todo-budget");
    assert_eq!(ds[0]["stage"], "lint");
    assert!(
        ds[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("12 TODO/FIXME/XXX/HACK markers")),
        "{ds:?}"
    );
    // The text report names the plugin.
    let r = t.run(&["heal", "--check", "--stage", "lint", "many.py"]);
    assert!(
        r.stdout()
            .contains("many.py:11:13: error[todo-budget]: 12 TODO"),
        "{}",
        r.stdout()
    );
    assert!(
        r.stdout().contains("(plugin:todo-budget)"),
        "{}",
        r.stdout()
    );
    // Within budget: the stage passes.
    let r = t.run(&["heal", "--check", "--json", "--stage", "lint", "few.py"]);
    assert_eq!(r.code(), 0, "{}\n{}", r.stdout(), r.stderr());
}

#[test]
fn secrets_scan_analyzer_in_map_json() {
    if !have_python() {
        return;
    }
    let t = Test::new();
    trust(&t);
    t.write("app.py", "def f():\n    return 1\n");
    // Keys are assembled here so that this file holds none.
    let aws = format!("{}{}", "AKIA", "Q3EXAMPLEKEY7XYZ");
    let sk = format!("sk-{}", "abcdefghijklmnopqrstuvwx123456");
    // Without an analyzer the map has no `plugins` key.
    let v = t.run(&["map", "--json"]).json();
    assert!(v.get("plugins").is_none());
    with_examples(&t);
    t.write(
        "config.py",
        format!("AWS = \"{aws}\"\nKEY = \"{sk}\"\nTEST = \"{sk}\"  # vibe:allow-secret\n"),
    );
    t.write(
        "deploy/id_rsa.txt",
        format!("-----BEGIN RSA {}-----\nMIIE\n", "PRIVATE KEY"),
    );
    let v = t.run(&["map", "--json"]).json();
    let plugins = v["plugins"].as_array().cloned().unwrap_or_default();
    assert_eq!(plugins.len(), 1, "{v:#}");
    assert_eq!(plugins[0]["name"], "secrets-scan");
    let found: Vec<String> = plugins[0]["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            format!(
                "{}:{} {} {}",
                f["file"].as_str().unwrap_or("?"),
                f["line"],
                f["rule"].as_str().unwrap_or("?"),
                f["severity"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            "config.py:1 aws-access-key error",
            "config.py:2 openai-key error",
            "deploy/id_rsa.txt:1 private-key error"
        ]
    );
    // The secret itself is not repeated in full.
    assert!(
        !serde_json::to_string(&v["plugins"])
            .unwrap_or_default()
            .contains(&aws)
    );
}

#[test]
fn broken_plugins_are_warnings_never_crashes() {
    let t = Test::new();
    trust(&t);
    t.write("app.py", "x = 1\n");
    let plugins = t.root().join("plugins");
    // A crashing analyzer, a malformed validator, a missing command, a timing-out command.
    sh_plugin(&plugins, "crashy", "\"analyzer\"", "exit 3\n", "");
    sh_plugin(
        &plugins,
        "garbled",
        "\"validator\"",
        "echo '{\"diagnostics\": {}}'\n",
        "[validator]\nstage = \"syntax\"\n",
    );
    t.write(
        "plugins/ghost/plugin.toml",
        "name = \"ghost\"\nversion = \"1\"\nkinds = [\"command\"]\ncommand = [\"surely-not-a-tool-xyz\"]\n",
    );
    sh_plugin(
        &plugins,
        "sleepy",
        "\"command\"",
        "sleep 30 & sleep 30\n",
        "timeout = 0.5\n",
    );
    let r = t.run(&["map", "--json"]);
    let v = r.json();
    assert_eq!(v["plugins"][0]["name"], "crashy");
    assert_eq!(
        v["plugins"][0]["error"],
        "exited with status 3 and no error output"
    );
    assert!(
        r.stderr()
            .contains("warning: plugin `crashy`: exited with status 3"),
        "{}",
        r.stderr()
    );
    assert!(
        r.stderr().contains(
            "warning: plugin `ghost`: its command `surely-not-a-tool-xyz` is not on PATH"
        ),
        "{}",
        r.stderr()
    );
    // The malformed validator is skipped with a warning; the syntax stage still passes.
    let r = t.run(&["heal", "--check", "--json", "--stage", "syntax", "app.py"]);
    assert_eq!(r.code(), 0, "{}\n{}", r.stdout(), r.stderr());
    let v: Value = serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("{e}"));
    let ws = serde_json::to_string(&v["config_warnings"]).unwrap_or_default();
    assert!(
        ws.contains("plugin `garbled`: malformed response: invalid type: map, expected a sequence"),
        "{ws}"
    );
    // Running a missing or timing-out command is an error (exit 1), not a crash.
    let r = t.run(&["plugin", "run", "ghost"]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr().contains("error: plugin `ghost`: its command"),
        "{}",
        r.stderr()
    );
    let start = std::time::Instant::now();
    let r = t.run(&["plugin", "run", "sleepy"]);
    assert_eq!(r.code(), 1);
    assert!(start.elapsed().as_secs() < 10);
    assert!(
        r.stderr().contains(
            "error: plugin `sleepy`: did not answer within 0.5 s; its process group was killed"
        ),
        "{}",
        r.stderr()
    );
    // Not a command plugin: bad usage (it was exit 1).
    let r = t.run(&["plugin", "run", "crashy"]);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr()
            .contains("error: plugin `crashy` is not a command plugin (its kinds: analyzer)"),
        "{}",
        r.stderr()
    );
    // A folder whose manifest does not parse: broken (exit 1), naming the file and the
    // problem (it was "no plugin named `halfdone`", exit 2).
    t.write(
        "plugins/halfdone/plugin.toml",
        "name = \"halfdone\"\nversion = \"1\"\nkinds = [\"command\"]\n",
    );
    let r = t.run(&["plugin", "run", "halfdone"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let file = t.root().join("plugins/halfdone/plugin.toml");
    assert_eq!(
        r.stderr(),
        format!(
            "error: plugin `halfdone`: its manifest is broken: {}: line 1: missing field `command`\n",
            file.display()
        )
    );
    // `plugin info` says the same (it said "no plugin named", exit 2).
    let r = t.run(&["plugin", "info", "halfdone"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(
        r.stderr().contains("its manifest is broken"),
        "{}",
        r.stderr()
    );
    // A manifest that is a link in a loop is a broken manifest too, not skipped without a word.
    #[cfg(unix)]
    {
        std::fs::create_dir_all(t.root().join("plugins/looped")).expect("dir");
        std::os::unix::fs::symlink("plugin.toml", t.root().join("plugins/looped/plugin.toml"))
            .expect("link");
        let r = t.run(&["plugin", "list"]);
        assert!(
            r.stderr().contains("looped") && r.stderr().contains("bad manifest"),
            "{}",
            r.stderr()
        );
    }
}

#[test]
fn forbidden_variables_are_not_visible_and_writes_are_reported() {
    let t = Test::new();
    trust(&t);
    t.write("a.txt", "1\n");
    let plugins = t.root().join("plugins");
    sh_plugin(
        &plugins,
        "envy",
        "\"command\"",
        "printf '{\"output\": \"%s|%s|%s\"}' \"${VISIBLE_VAR-unset}\" \"${FORBIDDEN_VAR-unset}\" \"${MY_API_KEY-unset}\"\n",
        "[permissions]\nenv = [\"VISIBLE_VAR\", \"MY_API_KEY\"]\n",
    );
    sh_plugin(
        &plugins,
        "scribbler",
        "\"command\"",
        "echo 2 >> a.txt; echo '{\"output\": \"ok\"}'\n",
        "",
    );
    let run = |args: &[&str]| {
        let out = t
            .cmd()
            .env("VISIBLE_VAR", "seen")
            .env("FORBIDDEN_VAR", "leaked")
            .env("MY_API_KEY", "key")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        Run { output: out }
    };
    // A repository plugin asking for a secret-looking variable does not get it.
    assert_eq!(run(&["plugin", "run", "envy"]).ok(), "seen|unset|unset\n");
    // Unless the user's config allows it.
    std::fs::write(
        t.home.path().join("config.toml"),
        "[plugins]\ntrust_repo = true\nallow_env = [\"MY_API_KEY\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run(&["plugin", "run", "envy"]).ok(), "seen|unset|key\n");
    // A repository's config may not allow it.
    t.write(
        ".vibe/config.toml",
        "[plugins]\nallow_env = [\"MY_API_KEY\"]\n",
    );
    let r = run(&["plugin", "run", "envy"]);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr()
            .contains("`plugins.allow_env` may not be set in a repository's config"),
        "{}",
        r.stderr()
    );
    t.remove(".vibe/config.toml");
    // A write without write_repo is reported (not prevented).
    let r = run(&["plugin", "run", "scribbler"]);
    assert_eq!(r.ok(), "ok\n");
    assert!(
        r.stderr().contains("warning: plugin `scribbler`: wrote to the repository without `write_repo` permission: a.txt (changed)"),
        "{}",
        r.stderr()
    );
}

#[test]
fn repository_plugins_do_not_run_until_trusted() {
    let t = Test::new();
    t.write("app.py", "x = 1\n");
    t.write(
        "plugins/sneaky/plugin.toml",
        "name = \"sneaky\"\nversion = \"1\"\ndescription = \"d\"\nkinds = [\"analyzer\", \"command\"]\ncommand = [\"sh\", \"-c\", \"touch ran.txt; echo '{\\\"findings\\\": [], \\\"output\\\": \\\"x\\\"}'\"]\n",
    );
    let v = t.run(&["map", "--json"]).json();
    assert!(v.get("plugins").is_none(), "{}", v["plugins"]);
    let r = t.run(&["plugin", "run", "sneaky"]);
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("trust_repo"), "{}", r.stderr());
    assert!(
        !t.root().join("ran.txt").exists(),
        "an untrusted plugin ran"
    );
    // A repository's config cannot trust itself.
    t.write(".vibe/config.toml", "[plugins]\ntrust_repo = true\n");
    let r = t.run(&["plugin", "run", "sneaky"]);
    assert_ne!(r.code(), 0);
    assert!(
        r.stderr().contains("may not be set in a repository"),
        "{}",
        r.stderr()
    );
    assert!(!t.root().join("ran.txt").exists());
    t.remove(".vibe/config.toml");
    trust(&t);
    t.run(&["plugin", "run", "sneaky"]).ok();
    assert!(t.root().join("ran.txt").exists());
}

/// Ctrl-C (SIGINT to vibe only, as from a terminal: plugins run in process groups of their
/// own) stops a running plugin at once, in `vibe plugin run` and in `vibe map --json`'s
/// analyzers, and vibe exits 130.
#[test]
fn ctrl_c_stops_a_running_plugin() {
    for args in [&["plugin", "run", "slow"][..], &["map", "--json"][..]] {
        let t = Test::new();
        t.write("app.py", "x = 1\n");
        trust(&t);
        let pid_file = t.root().join("slow.pid");
        sh_plugin(
            &t.root().join("plugins"),
            "slow",
            "\"command\", \"analyzer\"",
            &format!("{}\n", util::pid_then_sleep(&pid_file)),
            "timeout = 120\n",
        );
        util::ctrl_c_once_started(&t, args, &pid_file);
    }
}

/// A huge `timeout` in a manifest panicked: `1e30` in `Duration::from_secs_f64`, `1e19` in
/// `Instant + Duration`, on every command that runs plugins (a user plugin always runs).
#[test]
fn a_huge_timeout_is_a_manifest_error_not_a_crash() {
    for timeout in ["1e30", "1e19"] {
        let t = Test::new();
        t.write("app.py", "x = 1\n");
        sh_plugin(
            &t.home.path().join("plugins"),
            "forever",
            "\"analyzer\", \"command\"",
            "echo '{\"findings\": [], \"output\": \"x\"}'\n",
            &format!("timeout = {timeout}\n"),
        );
        let r = t.run(&["map", "--json"]);
        let v = r.json();
        assert!(v.get("plugins").is_none(), "{}", v["plugins"]);
        let file = t.home.path().join("plugins/forever/plugin.toml");
        assert!(
            r.stderr().contains(&format!(
                "warning: plugin `forever`: bad manifest, plugin not loaded: {}: `timeout` is",
                file.display()
            )) && r.stderr().contains("at most 86400 (a day)"),
            "{}",
            r.stderr()
        );
    }
}

/// SIGTERM and SIGHUP to `vibe plugin run` left the plugin's process group running (only
/// SIGINT was handled): vibe kills it and exits 143 / 129.
#[test]
fn term_and_hup_stop_a_running_plugin() {
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let t = Test::new();
        trust(&t);
        let pid_file = t.root().join("slow.pid");
        sh_plugin(
            &t.root().join("plugins"),
            "slow",
            "\"command\"",
            &format!("{}\n", util::pid_then_sleep(&pid_file)),
            "timeout = 120\n",
        );
        util::signal_once_started(&t, &["plugin", "run", "slow"], &pid_file, signal, code);
    }
}

/// Flags right after NAME were vibe's (`vibe plugin run echoargs --json` printed vibe's JSON);
/// the docs say everything after NAME goes to the plugin.
#[test]
fn everything_after_the_name_goes_to_the_plugin() {
    let t = Test::new();
    trust(&t);
    // Answers with the request's `args`, as JSON text.
    sh_plugin(
        &t.root().join("plugins"),
        "echoargs",
        "\"command\"",
        "args=$(cat | sed 's/.*\"args\":\\(\\[[^]]*\\]\\).*/\\1/' | sed 's/\\\\/\\\\\\\\/g; s/\"/\\\\\"/g')\nprintf '{\"output\": \"%s\"}' \"$args\"\n",
        "",
    );
    let out = t
        .run(&[
            "plugin", "run", "echoargs", "--json", "--help", "-C", "/tmp", "-v", "-c", "x=y", "--",
            "last",
        ])
        .ok();
    assert_eq!(
        out,
        "[\"--json\",\"--help\",\"-C\",\"/tmp\",\"-v\",\"-c\",\"x=y\",\"--\",\"last\"]\n"
    );
    // vibe's own flags come before NAME.
    let v = t.run(&["plugin", "run", "--json", "echoargs", "-v"]).json();
    assert_eq!(v["output"], "[\"-v\"]");
    let r = t.run(&["plugin", "run"]);
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("<NAME> [ARGS]..."), "{}", r.stderr());
}

/// `plugin list` and `info` printed a manifest's strings raw: a cloned repository's
/// plugin.toml could send escape sequences to the terminal.
#[test]
fn manifest_text_is_printed_without_control_characters() {
    let t = Test::new();
    t.write(
        "plugins/evil/plugin.toml",
        "name = \"evil\"\nversion = \"1\\u001b[31m\"\ndescription = \"a\\u001b]0;pwned\\u0007b\\rc\\nd\"\nkinds = [\"command\"]\ncommand = [\"sh\", \"-c\", \"echo\\u001b[2J\"]\n",
    );
    for args in [&["plugin", "list"][..], &["plugin", "info", "evil"][..]] {
        let out = t.run(args).ok();
        assert!(
            !out.chars().any(|c| c.is_control() && c != '\n'),
            "{args:?}: {out:?}"
        );
        assert!(
            out.contains("1\\u{1b}[31m") && out.contains("a\\u{1b}]0;pwned\\u{7}b\\rc\\nd"),
            "{args:?}: {out}"
        );
    }
    // JSON keeps the strings as they are (escaped as JSON).
    let v = t.run(&["plugin", "list", "--json"]).json();
    assert_eq!(v["plugins"][0]["version"], "1\u{1b}[31m");
}

/// An untrusted repository plugin was shown as "(disabled)" / "disabled in the config"; and
/// `plugin list` showed the directories searched only when it found nothing.
#[test]
fn untrusted_plugins_say_how_to_trust_them() {
    let t = Test::new();
    sh_plugin(
        &t.root().join("plugins"),
        "repo-one",
        "\"command\"",
        "echo '{\"output\": \"x\"}'\n",
        "",
    );
    let out = t.run(&["plugin", "list"]).ok();
    assert!(out.contains("(untrusted)"), "{out}");
    assert!(out.contains("hint: set plugins.trust_repo = true"), "{out}");
    assert!(
        out.contains(&format!(
            "looked in:\n  {}\n  {}\n",
            t.root().join("plugins").display(),
            t.home.path().join("plugins").display()
        )),
        "{out}"
    );
    let info = t.run(&["plugin", "info", "repo-one"]).ok();
    assert!(
        info.contains("state:       untrusted: the repository's plugins run only when you trust them\nhint: set plugins.trust_repo = true"),
        "{info}"
    );
    // Trusted but disabled by the config: disabled.
    trust(&t);
    let args = ["-c", "plugins.disabled=[\"repo-one\"]", "plugin"];
    let out = t.run(&[&args[..], &["list"]].concat()).ok();
    assert!(
        out.contains("(disabled)") && !out.contains("trust_repo"),
        "{out}"
    );
    let info = t.run(&[&args[..], &["info", "repo-one"]].concat()).ok();
    assert!(
        info.contains("state:       disabled in the config"),
        "{info}"
    );
}

/// A `plugin.toml` that is a directory made its folder be skipped without a word.
#[test]
fn a_manifest_that_is_a_directory_is_warned_about() {
    let t = Test::new();
    std::fs::create_dir_all(t.root().join("plugins/odd/plugin.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let r = t.run(&["plugin", "list"]);
    let file = t.root().join("plugins/odd/plugin.toml");
    assert!(
        r.stderr().contains(&format!(
            "warning: plugin `odd`: bad manifest, plugin not loaded: {}: is not a file",
            file.display()
        )),
        "{}",
        r.stderr()
    );
    let r = t.run(&["plugin", "run", "odd"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(
        r.stderr().contains("its manifest is broken"),
        "{}",
        r.stderr()
    );
}
