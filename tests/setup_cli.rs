//! `vibe init`, `vibe doctor`, `vibe completions` and `vibe man` on the real binary.

#[allow(clippy::duplicate_mod)]
#[path = "util/mod.rs"]
#[macro_use]
mod util;

use util::llm_server::Server;
use util::{Run, Test};

/// A command whose PATH holds nothing: what init and doctor report does not depend on the
/// tools of the machine running the tests.
fn bare(t: &Test, args: &[&str]) -> Run {
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut c = t.cmd();
    c.env("PATH", empty.path())
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENROUTER_API_KEY")
        .args(args);
    Run {
        output: c.output().unwrap_or_else(|e| panic!("run vibe: {e}")),
    }
}

#[test]
fn init_writes_a_commented_config_that_loads() {
    let t = Test::new();
    t.write("src/app.py", "def main():\n    pass\n");
    t.write("src/util.py", "X = 1\n");
    t.write("tests/test_app.py", "def test_main():\n    pass\n");
    t.write("web/index.js", "console.log(1)\n");
    let run = bare(&t, &["init", "--no-probe"]);
    let out = run.ok();
    assert!(
        out.contains("wrote .vibe/config.toml: python 3, javascript 1"),
        "{out}"
    );
    let config = std::fs::read_to_string(t.root().join(".vibe/config.toml")).expect("written");
    snapshot!("init_config", config);
    // It is a valid layer: commands that load the config accept it.
    bare(&t, &["doctor", "--offline"]).ok();
    // It is not overwritten without --force.
    let again = bare(&t, &["init", "--no-probe"]);
    assert_eq!(again.code(), 2);
    assert!(again.stderr().contains("--force"), "{}", again.stderr());
    let forced = bare(&t, &["init", "--no-probe", "--force", "--json"]);
    let j = forced.json();
    assert_eq!(j["schema"], "vibe.init/1");
    assert_eq!(j["detected"]["test_command"], "python3 -m pytest -q");
}

#[test]
fn init_names_the_path_it_cannot_write() {
    let t = Test::new();
    t.write(".vibe", "not a directory\n");
    let run = bare(&t, &["init", "--no-probe"]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr().contains(".vibe: File exists") && run.stderr().contains("hint:"),
        "{}",
        run.stderr()
    );
    let u = Test::new();
    std::fs::create_dir_all(u.root().join(".vibe/config.toml")).expect("mkdir");
    let run = bare(&u, &["init", "--no-probe", "--force"]);
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr().contains("config.toml is a directory"),
        "{}",
        run.stderr()
    );
}

#[test]
fn doctor_checks_the_provider_the_model_and_the_key() {
    let t = Test::new();
    t.write("a.py", "x = 1\n");
    let s = Server::start();
    let config = |model: &str, key: &str| {
        format!(
            "[llm]\nmodel = \"scripted/{model}\"\n[providers.scripted]\nkind = \"openai\"\nbase_url = \"{}/v1\"\n{key}",
            s.url()
        )
    };
    std::fs::write(t.home.path().join("config.toml"), config("test-model", "")).expect("config");
    let run = bare(&t, &["doctor"]);
    let out = run.ok();
    let port = s.url().rsplit(':').next().unwrap_or("").to_string();
    snapshot!("doctor_ok", out.replace(&port, "PORT"));

    std::fs::write(
        t.home.path().join("config.toml"),
        config("no-such-model", ""),
    )
    .expect("config");
    let run = bare(&t, &["doctor"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stdout().contains("does not list model `no-such-model`")
            && run.stdout().contains("test-model"),
        "{}",
        run.stdout()
    );

    std::fs::write(
        t.home.path().join("config.toml"),
        config(
            "test-model",
            "api_key_env = \"VIBE_DOCTOR_TEST_KEY_UNSET\"\n",
        ),
    )
    .expect("config");
    let run = bare(&t, &["doctor", "--json"]);
    assert_eq!(run.code(), 1);
    let j: serde_json::Value = serde_json::from_str(&run.stdout()).expect("json");
    assert_eq!(j["schema"], "vibe.doctor/1");
    assert!(
        j["checks"]
            .to_string()
            .contains("VIBE_DOCTOR_TEST_KEY_UNSET is not set"),
        "{j:#}"
    );

    // A broken config is reported, not a crash.
    std::fs::write(t.home.path().join("config.toml"), "[llm\n").expect("config");
    let run = bare(&t, &["doctor", "--offline"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stdout().contains("PROBLEM config") && run.stdout().contains("line 1"),
        "{}",
        run.stdout()
    );
}

#[test]
fn doctor_reports_what_would_break_context_and_an_index_it_had_to_rebuild() {
    let t = Test::new();
    t.write("a.py", "def f():\n    return 1\n");
    bare(&t, &["map"]).ok();
    let run = bare(&t, &["doctor", "--offline"]);
    assert!(
        run.stdout()
            .contains("ok      index     .vibe/index.db: 1 files indexed"),
        "{}",
        run.stdout()
    );
    // Settings vibe context would refuse (every command refuses them when it reads them).
    for (text, says) in [
        (
            "[context]\nencoding = \"p50k\"\n",
            "line 2: `context.encoding`: unknown encoding `p50k`",
        ),
        ("[context]\nbudget = 0\n", "line 2: `context.budget` is 0"),
    ] {
        t.write(".vibe/config.toml", text);
        let run = bare(&t, &["doctor", "--offline"]);
        assert_eq!(run.code(), 1, "{}", run.stdout());
        let out = run.stdout();
        assert!(
            out.contains("PROBLEM config") && out.contains(says),
            "{out}"
        );
    }
    std::fs::remove_file(t.root().join(".vibe/config.toml")).expect("remove");
    // An index missing a table is rebuilt by any command; doctor says it was.
    let db = t.root().join(".vibe/index.db");
    rusqlite::Connection::open(&db)
        .and_then(|c| c.execute_batch("DROP TABLE symbols;"))
        .expect("damage");
    let run = bare(&t, &["doctor", "--offline"]);
    assert_eq!(run.code(), 1, "{}", run.stdout());
    assert!(
        run.stdout().contains("table `symbols` is missing"),
        "{}",
        run.stdout()
    );
    // Damage in a page only a query of its table reads: doctor reads every page, says so and
    // rebuilds it, as that query would.
    bare(&t, &["map"]).ok();
    util::smash_table_page(&db, "symbols");
    let run = bare(&t, &["doctor", "--offline"]);
    assert_eq!(run.code(), 1, "{}", run.stdout());
    assert!(
        run.stdout().contains("is damaged (") && run.stdout().contains("rebuilding the index"),
        "{}",
        run.stdout()
    );
    bare(&t, &["map"]).ok();
    let run = bare(&t, &["doctor", "--offline"]);
    assert!(run.stdout().contains("1 files indexed"), "{}", run.stdout());
}

#[test]
fn completions_and_man_page_come_from_the_real_flags() {
    let t = Test::new();
    let fish = t.run(&["completions", "fish"]).ok();
    snapshot!("completions_fish", fish);
    for shell in ["bash", "zsh"] {
        let out = t.run(&["completions", shell]).ok();
        for needle in ["heal", "context", "--max-attempts", "undo"] {
            assert!(out.contains(needle), "{shell} lacks {needle}");
        }
    }
    let bad = t.run(&["completions", "tcsh"]);
    assert_eq!(bad.code(), 2);
    let man = t.run(&["man"]).ok();
    assert!(
        man.starts_with(".ie") && man.contains(".TH vibe 1"),
        "{}",
        &man[..200.min(man.len())]
    );
    assert!(
        man.contains("VIBE\\-HEAL") || man.contains("VIBE-HEAL"),
        "per-command sections"
    );
    // Nested subcommands too (only the first level was rendered).
    let man = man.replace("\\-", "-");
    for section in ["VIBE-PLUGIN-LIST", "VIBE-PLUGIN-INFO", "VIBE-PLUGIN-RUN"] {
        assert!(man.contains(&format!(".SH \"{section}\"")), "no {section}");
    }
    let run = &man[man.find("VIBE-PLUGIN-RUN").unwrap_or(0)..];
    assert!(
        run.contains("--json") && run.contains("Everything after NAME goes to the plugin"),
        "{run}"
    );
}

/// The user's vibe home is never the current directory: a relative VIBE_HOME, or no home at
/// all, made a cloned repository's config.toml (with api_key_cmd) and plugins/ the user's own.
/// An empty VIBE_HOME is unset.
#[cfg(unix)]
#[test]
fn a_home_that_would_be_the_current_directory_is_refused() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let t = Test::new();
    t.write("config.toml", "[llm]\nmodel = \"repo/evil\"\n");
    // vibe with these variables set (or, with None, removed).
    let run = |vars: &[(&str, Option<&OsStr>)], args: &[&str]| {
        let mut c = t.cmd();
        for (k, v) in vars {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        Run {
            output: c.args(args).output().unwrap_or_else(|e| panic!("{e}")),
        }
    };
    let cost = ["cost", "--json"];
    for (home, says) in [
        (
            ".",
            "environment variable VIBE_HOME: . is not an absolute path",
        ),
        ("sub/dir", "VIBE_HOME: sub/dir is not an absolute path"),
    ] {
        let r = run(&[("VIBE_HOME", Some(OsStr::new(home)))], &cost);
        assert_eq!(r.code(), 2, "{home}: {}", r.stderr());
        assert!(r.stderr().contains(says), "{}", r.stderr());
    }
    let no_xdg = [
        ("XDG_CONFIG_HOME", None),
        ("XDG_DATA_HOME", None),
        ("XDG_CACHE_HOME", None),
    ];
    // No home directory at all. Whether `directories` finds one without HOME depends on the
    // passwd entry of the user running the tests: when it does not, vibe refuses.
    let r = run(
        &[&[("VIBE_HOME", None), ("HOME", None)][..], &no_xdg].concat(),
        &cost,
    );
    if r.code() != 0 {
        assert_eq!(r.code(), 2, "{}", r.stderr());
        assert!(
            r.stderr()
                .contains("set VIBE_HOME to an absolute directory"),
            "{}",
            r.stderr()
        );
    }
    // An empty VIBE_HOME is unset: the home is under HOME, not here.
    let fake_home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let vars = [
        ("VIBE_HOME", Some(OsStr::new(""))),
        ("HOME", Some(fake_home.path().as_os_str())),
    ];
    let r = run(
        &[&vars[..], &no_xdg].concat(),
        &["doctor", "--offline", "--json"],
    );
    assert!(!r.stdout().contains("repo/evil"), "{}", r.stdout());
    // Another program's variable that is not UTF-8 is none of vibe's business; a VIBE_ one is
    // an error naming it (both made every command panic).
    let bad = Some(OsStr::from_bytes(b"\xff"));
    let r = run(&[("SOME_OTHER_VAR", bad)], &cost);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let r = run(&[("VIBE_MAP_TOKENS", bad)], &cost);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(
        r.stderr()
            .contains("environment variable VIBE_MAP_TOKENS: not UTF-8"),
        "{}",
        r.stderr()
    );
}

/// A config file that cannot be read (a directory there, a link loop) is the user's to fix,
/// like one that does not parse: exit 2 and what to do (it was exit 1, no hint).
#[test]
fn a_config_that_cannot_be_read_is_a_usage_error() {
    let t = Test::new();
    std::fs::create_dir_all(t.root().join(".vibe/config.toml")).unwrap_or_else(|e| panic!("{e}"));
    let run = t.run(&["cost", "--json"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains(".vibe/config.toml")
            && run.stderr().contains("hint: make it a readable file"),
        "{}",
        run.stderr()
    );
}

/// Text a repository controls (its config's model name, a backup manifest, its plugin dirs) is
/// printed escaped, as everywhere else: an OSC title or a colour reached the terminal raw.
#[test]
fn repository_text_is_escaped_in_doctor_undo_and_plugin_list() {
    let t = Test::new();
    t.write(
        ".vibe/config.toml",
        "[llm]\nmodel = \"ollama/x\\u001b]0;PWNED\\u0007\"\n[plugins]\ndirs = [\"x\\u001b[31my\"]\n",
    );
    t.write(
        ".vibe/backups/20260101T000000Z-abcd/manifest.json",
        r#"{"schema":"vibe.backup/1","id":"20260101T000000Z-abcd","created":"2026-01-01T00:00:00Z","created_ns":1,"operation":"heal\u001b]0;OWNED\u0007","files":[{"path":"x\u001b[31m.txt","existed":false,"mode":null,"readonly":false,"old_hash":null,"new_hash":"00"}],"created_dirs":[],"undone":null}"#,
    );
    for args in [
        &["doctor", "--offline"][..],
        &["undo", "--list"][..],
        &["plugin", "list"][..],
    ] {
        let run = bare(&t, args);
        let out = format!("{}{}", run.stdout(), run.stderr());
        assert!(!out.contains('\u{1b}'), "{args:?}: {out:?}");
        assert!(out.contains("\\u{1b}"), "{args:?}: {out}");
    }
}

/// `init` keeps a config that is a link (even to nothing) unless --force; a malformed -c is
/// refused by every command, those that read no config too; a -C path in a link loop says so.
#[cfg(unix)]
#[test]
fn init_links_flags_and_loops() {
    let t = Test::new();
    std::fs::create_dir_all(t.root().join(".vibe")).expect("dir");
    let link = t.root().join(".vibe/config.toml");
    std::os::unix::fs::symlink("/nonexistent/dotfiles/config.toml", &link).expect("link");
    let r = bare(&t, &["init", "--no-probe"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("exists"), "{}", r.stderr());
    assert!(
        link.symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
    );
    for args in [
        &["init", "--no-probe", "--force"][..],
        &["undo", "--list"][..],
    ] {
        let r = bare(&t, &[&["-c", "nonsense"][..], args].concat());
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
        assert!(
            r.stderr().contains("-c nonsense: missing `=`"),
            "{}",
            r.stderr()
        );
    }
    assert!(
        link.symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
    );
    let a = t.root().join("loop-a");
    std::os::unix::fs::symlink(t.root().join("loop-b"), &a).expect("link");
    std::os::unix::fs::symlink(&a, t.root().join("loop-b")).expect("link");
    let r = Run {
        output: std::process::Command::new(env!("CARGO_BIN_EXE_vibe"))
            .env("VIBE_HOME", t.home.path())
            .arg("-C")
            .arg(&a)
            .arg("map")
            .output()
            .expect("run"),
    };
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(
        !r.stderr().contains("does not exist")
            && r.stderr().to_lowercase().contains("symbolic links"),
        "{}",
        r.stderr()
    );
}
