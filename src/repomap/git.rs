//! Running git on the repository: its history (`context::history`) and the files it tracks
//! though ignore patterns match them ([`walk`](super::walk)).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// How long one git call may take before it is killed and what it was for skipped: a
/// repository's config can point git at a FIFO (`diff.orderFile`, `mailmap.file`) or a slow
/// program.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs git in `root`; its standard output when it succeeds within [`TIMEOUT`], else why not
/// (`None` when git is missing or says no: not a repository, no commits).
pub fn run(root: &Path, args: &[&str]) -> Result<Option<String>, String> {
    run_within(root, args, TIMEOUT)
}

/// [`run`] with another time limit.
pub fn run_within(root: &Path, args: &[&str], timeout: Duration) -> Result<Option<String>, String> {
    let mut cmd = Command::new("git");
    // A repository's own config must not make reading its log run anything or wait: no
    // signature checks (`log.showSignature` runs `gpg.program`), no fsmonitor hook, no mailmap,
    // order or user attributes file (a FIFO there blocks the rename search), no fetch of missing
    // objects in a partial clone (`core.sshCommand`, remote helpers), no prompts. The
    // environment's GIT_DIR and the like are not the root's.
    cmd.arg("-C")
        .arg(root)
        .args([
            "-c",
            "log.showSignature=false",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "log.mailmap=false",
            "-c",
            "diff.orderFile=/dev/null",
            "-c",
            "core.attributesFile=/dev/null",
            "-c",
            "protocol.allow=never",
        ])
        .args(args)
        // Messages in English: a refusal is recognised by its text (`refusal`).
        .env("LC_ALL", "C")
        .env("LANGUAGE", "C")
        .env("GIT_NO_LAZY_FETCH", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        // Paths given are paths: `:(glob)*` or `*.py` is a file's name, not a pattern.
        .env("GIT_LITERAL_PATHSPECS", "1")
        // The history as committed: a `git replace` would change it under the same HEAD,
        // which is what the stored history is keyed by.
        .env("GIT_NO_REPLACE_OBJECTS", "1");
    for var in [
        "GIT_DIR",
        "GIT_COMMON_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CEILING_DIRECTORIES",
        "GIT_NAMESPACE",
        // Incompatible with the literal pathspecs set above: git would refuse every path.
        "GIT_GLOB_PATHSPECS",
        "GIT_NOGLOB_PATHSPECS",
        "GIT_ICASE_PATHSPECS",
    ] {
        cmd.env_remove(var);
    }
    match crate::heal::tools::run(cmd, timeout) {
        Ok(ran) if ran.timed_out => Err(format!(
            "git {} took longer than {} s and was stopped",
            args.first().unwrap_or(&""),
            timeout.as_secs()
        )),
        Ok(ran) if ran.code == Some(0) => Ok(Some(ran.stdout)),
        Ok(ran) => match refusal(&ran.stderr) {
            Some(why) => Err(why),
            None => Ok(None),
        },
        Err(_) => Ok(None),
    }
}

/// Why git refuses the repository, when the user should hear of it: it belongs to another user
/// (a mounted volume, a container's checkout) and is not a `safe.directory`. Other failures
/// (no commits yet, git missing) only mean there is no history to read.
fn refusal(stderr: &str) -> Option<String> {
    if !stderr.contains("dubious ownership") {
        return None;
    }
    let fix = stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("git config") && l.contains("safe.directory"))
        .map_or(String::new(), |l| format!(" (`{l}` trusts it)"));
    Some(format!(
        "git does not read the repository: it belongs to another user{fix}"
    ))
}
