//! The plugin host on small `sh` plugins: timeouts that kill the process group, crashes,
//! malformed responses, the environment a plugin sees, writes without `write_repo`, missing
//! commands and bad manifests.

use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::heal::Status;
use crate::heal::tools::TempDir;

type R = Result<(), Box<dyn std::error::Error>>;

/// A repository dir and a plugin folder outside it (so its own files are not the repo's).
struct Fx {
    tmp: TempDir,
}

impl Fx {
    fn new() -> Result<Fx, std::io::Error> {
        let tmp = TempDir::new("vibe-plugin-test")?;
        std::fs::create_dir_all(tmp.path().join("repo"))?;
        std::fs::write(tmp.path().join("repo/a.txt"), "hello\n")?;
        Ok(Fx { tmp })
    }

    fn root(&self) -> std::path::PathBuf {
        self.tmp.path().join("repo")
    }

    /// A plugin whose command is `sh run.sh` with `script`; `extra` is more manifest TOML.
    fn plugin(
        &self,
        kinds: &str,
        script: &str,
        extra: &str,
    ) -> Result<Plugin, Box<dyn std::error::Error>> {
        let dir = self.tmp.path().join("plugins/p");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("run.sh"), script)?;
        let text = format!(
            "name = \"p\"\nversion = \"1\"\nkinds = [{kinds}]\ncommand = [\"sh\", \"run.sh\"]\ntimeout = 5\n{extra}"
        );
        let m = Manifest::parse(&dir.join("plugin.toml"), &text)?;
        Ok(load(m, dir, Source::Repo, &trusted()))
    }
}

fn command_err(p: &Plugin, root: &Path) -> String {
    match run_command(p, &[], root) {
        Ok(o) => format!("unexpected success: {o:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_command_gets_its_request_and_answers() -> R {
    let fx = Fx::new()?;
    // The request arrives on stdin; the working directory is the repository root.
    let p = fx.plugin(
        "\"command\"",
        "cat > \"$VIBE_PLUGIN_DIR/req.json\"; pwd > \"$VIBE_PLUGIN_DIR/cwd\"; echo '{\"title\": \"t\", \"output\": \"ok\"}'\n",
        "[settings]\nmax = 3\n",
    )?;
    let out = run_command(&p, &["x y".to_string()], &fx.root())?;
    assert_eq!(
        (out.title.as_deref(), out.output.as_str()),
        (Some("t"), "ok")
    );
    let req: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.dir.join("req.json"))?)?;
    assert_eq!(req["schema"], "vibe.plugin/1");
    assert_eq!(req["kind"], "command");
    assert_eq!(req["plugin"], "p");
    assert_eq!(req["args"], serde_json::json!(["x y"]));
    assert_eq!(req["settings"]["max"], 3);
    assert_eq!(req["root"], fx.root().display().to_string());
    let cwd = std::fs::read_to_string(p.dir.join("cwd"))?;
    assert_eq!(
        std::fs::canonicalize(cwd.trim())?,
        std::fs::canonicalize(fx.root())?
    );
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    Ok(())
}

#[test]
fn a_timeout_kills_the_process_group() -> R {
    let fx = Fx::new()?;
    let pidfile = fx.tmp.path().join("child.pid");
    let p = fx.plugin(
        "\"command\"",
        &format!("sleep 30 & echo $! > '{}'; sleep 30\n", pidfile.display()),
        "",
    )?;
    let mut p = p;
    p.manifest.timeout = 0.5;
    let start = Instant::now();
    let e = command_err(&p, &fx.root());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(e.contains("plugin `p`: did not answer within 0.5 s"), "{e}");
    assert!(e.contains("process group was killed"), "{e}");
    // The child the plugin started is gone too.
    assert_gone(&pidfile)?;
    Ok(())
}

/// Asserts that the process whose PID is in `pidfile` is gone (or a zombie waiting for init).
fn assert_gone(pidfile: &std::path::Path) -> R {
    let pid = std::fs::read_to_string(pidfile)?.trim().to_string();
    std::thread::sleep(Duration::from_millis(100));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit(')').next().unwrap_or("").trim().chars().next();
    assert!(
        matches!(state, None | Some('Z') | Some('X')),
        "child {pid} alive: {stat}"
    );
    Ok(())
}

/// A plugin that answered at once but left a child holding its stdout was reported "did not
/// answer within N s" after the whole timeout.
#[test]
fn an_answer_is_not_held_up_by_a_child_left_behind() -> R {
    let fx = Fx::new()?;
    let pidfile = fx.tmp.path().join("child.pid");
    let p = fx.plugin(
        "\"command\"",
        &format!(
            "sleep 60 & echo $! > '{}'; echo '{{\"output\":\"answered\"}}'\n",
            pidfile.display()
        ),
        "",
    )?;
    let mut p = p;
    p.manifest.timeout = 30.0;
    let start = Instant::now();
    let out = run_command(&p, &[], &fx.root())?;
    assert_eq!(out.output, "answered");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    // The child was killed with the group.
    assert_gone(&pidfile)?;
    Ok(())
}

/// A plugin's output was read whole: a 100 MB stderr line ended up in the error message, and
/// 200 MB of stdout was accepted.
#[test]
fn output_is_bounded() -> R {
    let fx = Fx::new()?;
    // 2 MB of stderr in one line, then a few short ones, then a crash.
    let p = fx.plugin(
        "\"command\"",
        "head -c 2000000 /dev/zero | tr '\\0' x >&2; echo >&2; echo last-but-one >&2; head -c 3000 /dev/zero | tr '\\0' y >&2; echo >&2; exit 1\n",
        "",
    )?;
    let e = command_err(&p, &fx.root());
    assert!(
        e.len() < 3000,
        "{} bytes: {}",
        e.len(),
        &e[..300.min(e.len())]
    );
    assert!(e.starts_with("plugin `p`: exited with status 1: "), "{e}");
    assert!(
        e.contains("[earlier output dropped]\nlast-but-one\n"),
        "{e}"
    );
    assert!(
        e.ends_with(&format!("{}… [2500 more bytes]", "y".repeat(500))),
        "{e}"
    );
    // More stdout than any response: refused, naming the limit.
    let p = fx.plugin(
        "\"command\"",
        "printf '{\"output\": \"'; head -c 20000000 /dev/zero | tr '\\0' x; echo '\"}'\n",
        "",
    )?;
    let e = command_err(&p, &fx.root());
    assert!(
        e.starts_with("plugin `p`: wrote more than 16 MiB to stdout; vibe stopped reading it"),
        "{}",
        &e[..300.min(e.len())]
    );
    Ok(())
}

#[test]
fn a_crash_is_an_error_naming_the_plugin() -> R {
    let fx = Fx::new()?;
    let p = fx.plugin("\"command\"", "exit 3\n", "")?;
    assert_eq!(
        command_err(&p, &fx.root()),
        "plugin `p`: exited with status 3 and no error output"
    );
    let p = fx.plugin(
        "\"command\"",
        "echo '{\"output\": \"x\"}'; echo 'Traceback: boom' >&2; exit 1\n",
        "",
    )?;
    assert_eq!(
        command_err(&p, &fx.root()),
        "plugin `p`: exited with status 1: Traceback: boom"
    );
    let p = fx.plugin("\"command\"", "kill -9 $$\n", "")?;
    assert!(command_err(&p, &fx.root()).contains("exited with a signal"));
    Ok(())
}

#[test]
fn malformed_responses_are_rejected_with_a_clear_message() -> R {
    let fx = Fx::new()?;
    for (out, want) in [
        ("", "malformed response: nothing on stdout"),
        ("not json", "malformed response: not JSON"),
        ("[1, 2]", "malformed response: expected a JSON object"),
        (
            "{\"output\": 5}",
            "malformed response: invalid type: integer `5`, expected a string",
        ),
        (
            "{\"title\": \"t\"}",
            "malformed response: missing field `output`",
        ),
        (
            "{\"output\": \"x\"} trailing",
            "malformed response: not JSON",
        ),
        (
            "{\"error\": 3}",
            "malformed response: `error` must be a string",
        ),
        (
            "{\"error\": \"no repo here\"}",
            "reported an error: no repo here",
        ),
    ] {
        let p = fx.plugin("\"command\"", &format!("cat <<'EOF'\n{out}\nEOF\n"), "")?;
        let e = command_err(&p, &fx.root());
        assert!(e.starts_with("plugin `p`: "), "{e}");
        assert!(e.contains(want), "{out}: {e}");
    }
    // Kind-specific shapes.
    let p = fx.plugin(
        "\"analyzer\"",
        "echo '{\"findings\": [{\"line\": 1, \"message\": \"m\"}]}'\n",
        "",
    )?;
    let e = host::analyzer(&p, &fx.root(), &[])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("malformed response: missing field `file`"),
        "{e}"
    );
    Ok(())
}

#[test]
fn only_allowed_variables_are_passed() -> R {
    let fx = Fx::new()?;
    // CARGO_MANIFEST_DIR and CARGO_PKG_NAME are in the test process's environment (cargo sets
    // them); only the allowed one gets through.
    assert!(
        std::env::var_os("CARGO_PKG_NAME").is_some()
            && std::env::var_os("CARGO_MANIFEST_DIR").is_some()
    );
    let p = fx.plugin(
        "\"command\"",
        "printf '{\"output\": \"%s\"}' \"$(env | cut -d= -f1 | sort | tr '\\n' ' ')\"\n",
        "[permissions]\nenv = [\"CARGO_PKG_NAME\", \"CARGO_SECRET_TOKEN_NOT_SET\"]\n",
    )?;
    let out = run_command(&p, &[], &fx.root())?;
    let names: Vec<&str> = out.output.split_whitespace().collect();
    assert!(names.contains(&"CARGO_PKG_NAME"), "{names:?}");
    assert!(!names.contains(&"CARGO_MANIFEST_DIR"), "{names:?}");
    // What remains is the documented base set (and what sh itself adds).
    for n in &names {
        assert!(
            [
                "CARGO_PKG_NAME",
                "PATH",
                "HOME",
                "LANG",
                "VIBE_PLUGIN_DIR",
                "PYTHONDONTWRITEBYTECODE",
                "NO_COLOR",
                "PWD",
                "OLDPWD",
                "SHLVL",
                "_"
            ]
            .contains(n),
            "unexpected variable {n}: {names:?}"
        );
    }
    Ok(())
}

#[test]
fn secret_looking_variables_are_withheld_from_repository_plugins() -> R {
    let fx = Fx::new()?;
    let p = fx.plugin(
        "\"command\"",
        "echo '{\"output\": \"\"}'\n",
        "[permissions]\nenv = [\"OPENAI_API_KEY\", \"GH_TOKEN\", \"EDITOR\"]\n",
    )?;
    assert_eq!(p.withheld_env, ["OPENAI_API_KEY", "GH_TOKEN"]);
    let mut config = trusted();
    config.plugins.allow_env = vec!["GH_TOKEN".into()];
    let user = load(p.manifest.clone(), p.dir.clone(), Source::User, &config);
    assert!(user.withheld_env.is_empty());
    let allowed = load(p.manifest.clone(), p.dir.clone(), Source::Repo, &config);
    assert_eq!(allowed.withheld_env, ["OPENAI_API_KEY"]);
    Ok(())
}

#[test]
fn writes_without_write_repo_are_detected_and_warned() -> R {
    let fx = Fx::new()?;
    let script = "echo changed >> a.txt; echo new > b.txt; echo '{\"output\": \"done\"}'\n";
    let p = fx.plugin("\"command\"", script, "")?;
    let out = run_command(&p, &[], &fx.root())?;
    assert_eq!(out.output, "done");
    let w: Vec<String> = out.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("plugin `p`: wrote to the repository without `write_repo` permission: a.txt (changed), b.txt (created)"),
        "{w:?}"
    );
    // Detected even when the plugin then fails.
    let p = fx.plugin("\"command\"", "rm b.txt; exit 2\n", "")?;
    let e = run_command(&p, &[], &fx.root()).err().ok_or("no error")?;
    assert!(
        e.warnings
            .iter()
            .any(|w| w.message.contains("b.txt (deleted)")),
        "{e:?}"
    );
    // With the permission, no warning.
    let p = fx.plugin("\"command\"", script, "[permissions]\nwrite_repo = true\n")?;
    assert!(run_command(&p, &[], &fx.root())?.warnings.is_empty());
    Ok(())
}

#[test]
fn a_missing_command_is_a_problem_not_a_crash() -> R {
    let fx = Fx::new()?;
    let dir = fx.tmp.path().join("plugins/q");
    std::fs::create_dir_all(&dir)?;
    for (command, want) in [
        (
            "[\"surely-not-a-tool-xyz\", \"main.py\"]",
            "its command `surely-not-a-tool-xyz` is not on PATH",
        ),
        ("[\"./bin/run\"]", "its command `./bin/run` does not exist"),
    ] {
        let text =
            format!("name = \"q\"\nversion = \"1\"\nkinds = [\"command\"]\ncommand = {command}\n");
        let m = Manifest::parse(&dir.join("plugin.toml"), &text)?;
        let p = load(m, dir.clone(), Source::Repo, &trusted());
        assert!(
            p.problem.as_deref().is_some_and(|e| e.contains(want)),
            "{:?}",
            p.problem
        );
        assert!(!p.usable_as(Kind::Command));
        assert!(command_err(&p, &fx.root()).contains(want));
    }
    Ok(())
}

#[test]
fn arguments_naming_plugin_files_are_made_absolute() -> R {
    let fx = Fx::new()?;
    let p = fx.plugin("\"command\"", "", "")?;
    let (exe, args) = host::resolve_command(
        &p.dir,
        &["sh".into(), "run.sh".into(), "-x".into(), "other".into()],
    )?;
    assert!(exe.ends_with("sh"));
    assert_eq!(
        args,
        [
            p.dir.join("run.sh").display().to_string(),
            "-x".into(),
            "other".into()
        ]
    );
    Ok(())
}

#[test]
fn validator_runs_map_to_heal_statuses() -> R {
    let fx = Fx::new()?;
    let extra = "[validator]\nstage = \"lint\"\nfiles = [\"*.txt\"]\n";
    let root = fx.root();
    let files = vec!["a.txt".to_string(), "b.py".to_string()];
    let run = |p: &Plugin| -> Result<(crate::heal::ValidatorRun, Vec<String>), String> {
        validator_runs(std::slice::from_ref(p), Stage::Lint, &root, &root, &files)
            .pop()
            .ok_or_else(|| "no run".to_string())
    };
    // Diagnostics: an error fails the run; files are given relative to the root.
    let p = fx.plugin(
        "\"validator\"",
        &format!(
            "cat > /dev/null; echo '{{\"diagnostics\": [{{\"file\": \"{}/a.txt\", \"line\": 1, \"message\": \"bad\"}}, {{\"file\": \"a.txt\", \"severity\": \"warning\", \"message\": \"meh\"}}]}}'\n",
            root.display()
        ),
        extra,
    )?;
    let (r, w) = run(&p)?;
    assert_eq!(r.name, "plugin:p");
    assert_eq!(r.status, Status::Failed);
    assert!(w.is_empty(), "{w:?}");
    let shown: Vec<String> = r.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "a.txt:1: error: bad  (plugin:p)",
            "a.txt: warning: meh  (plugin:p)"
        ]
    );
    assert!(r.diagnostics.iter().all(|d| d.stage == Stage::Lint));
    // Only warnings: passed.
    let p = fx.plugin("\"validator\"", "echo '{\"diagnostics\": [{\"file\": \"a.txt\", \"severity\": \"note\", \"message\": \"m\"}]}'\n", extra)?;
    assert_eq!(run(&p)?.0.status, Status::Passed);
    // A broken validator is skipped with a warning, not a failed stage.
    let p = fx.plugin("\"validator\"", "echo nope\n", extra)?;
    let (r, w) = run(&p)?;
    assert!(
        matches!(&r.status, Status::Skipped { reason } if reason.contains("malformed response")),
        "{r:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.starts_with("plugin `p`: malformed response")),
        "{w:?}"
    );
    // Other stages do not run it; no matching file skips it.
    assert!(
        validator_runs(
            std::slice::from_ref(&p),
            Stage::Compile,
            &root,
            &root,
            &files
        )
        .is_empty()
    );
    let none = validator_runs(
        std::slice::from_ref(&p),
        Stage::Lint,
        &root,
        &root,
        &["b.py".to_string()],
    );
    assert!(
        matches!(&none[0].0.status, Status::Skipped { reason } if reason.contains("no file matches"))
    );
    Ok(())
}

#[test]
fn file_patterns_match_like_gitignore() -> R {
    let files: Vec<String> = ["a.py", "src/b.py", "src/c.rs", "docs/x.md"]
        .map(String::from)
        .to_vec();
    let root = Path::new("/r");
    assert_eq!(
        matching(root, &files, &["*.py".into()])?,
        ["a.py", "src/b.py"]
    );
    assert_eq!(
        matching(root, &files, &["src/**".into()])?,
        ["src/b.py", "src/c.rs"]
    );
    assert_eq!(matching(root, &files, &[])?.len(), 4);
    Ok(())
}

/// The defaults, with the repository's plugins trusted (as `plugins.trust_repo = true`).
fn trusted() -> Config {
    let mut c = Config::defaults();
    c.plugins.trust_repo = true;
    c
}
