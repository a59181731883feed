//! Running the validators stage by stage: syntax (tree-sitter), compile, lint, test.
//!
//! Invariant: stages run in order and stop at the first that fails; within a stage every
//! validator runs. A validator fails on an error diagnostic, a timeout, or a non-zero exit with
//! nothing parsed (then one diagnostic carries the tail of its output). Which diagnostics count:
//! compile keeps everything in the validated files plus errors anywhere (an edit can break a
//! caller), lint keeps only the validated files, test and custom validators keep everything.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::{Config, CustomParser};
use crate::heal::diagnostics::{self, Diagnostic, Parser, Paths, Severity, Stage};
use crate::heal::tools::{self, which};
use crate::heal::{compdb, cpp};
use crate::repomap::lang::{self, Lang};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    /// Not run: tool not installed, disabled in config, nothing to check, an earlier step failed.
    Skipped {
        reason: String,
    },
    TimedOut,
}

/// One validator's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidatorRun {
    pub name: String,
    #[serde(flatten)]
    pub status: Status,
    pub duration_ms: u64,
    /// The command as run (for a shell command, the shell text); none for tree-sitter.
    pub command: Option<String>,
    /// The working directory, relative to the root ("" = the root).
    pub cwd: Option<String>,
    pub exit_code: Option<i32>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageResult {
    pub stage: Stage,
    pub validators: Vec<ValidatorRun>,
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Validation {
    /// The stages that ran, in order; the last one is the failed stage when there is one.
    pub stages: Vec<StageResult>,
    /// Validators (and stages) that did not run, with why and what would install the tool.
    pub skipped: Vec<String>,
    pub failed_stage: Option<Stage>,
    /// Configuration problems (an unknown validator name in `[heal.validators]`) and broken
    /// plugins.
    pub warnings: Vec<String>,
}

impl Validation {
    pub fn passed(&self) -> bool {
        self.failed_stage.is_none()
    }

    /// Every error diagnostic, in stage order.
    pub fn errors(&self) -> Vec<&Diagnostic> {
        self.diagnostics()
            .filter(|d| d.severity == Severity::Error)
            .collect()
    }

    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.stages
            .iter()
            .flat_map(|s| &s.validators)
            .flat_map(|v| &v.diagnostics)
    }

    pub fn error_count(&self, stage: Stage) -> usize {
        self.stages
            .iter()
            .filter(|s| s.stage == stage)
            .flat_map(|s| &s.validators)
            .flat_map(|v| &v.diagnostics)
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

/// The built-in validators, for `[heal.validators."NAME"]`.
pub const BUILTIN: &[&str] = &[
    "tree-sitter",
    "py_compile",
    "mypy",
    "pyright",
    "node --check",
    "tsc",
    "cargo check",
    "go build",
    "go vet",
    "javac",
    "cc",
    "c++",
    "ruff",
    "flake8",
    "eslint",
    "clippy",
    "pytest",
    "npm test",
    "cargo test",
    "go test",
    "test command",
];

/// Which diagnostics of a run count (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Files,
    ErrorsAnywhere,
    All,
}

/// One validator run to make.
struct Job {
    name: String,
    files: Vec<String>,
    what: What,
}

enum What {
    TreeSitter,
    Run {
        program: PathBuf,
        args: Vec<String>,
        cwd: PathBuf,
        parser: Parser,
        scope: Scope,
        env: Vec<(&'static str, String)>,
        /// Skip if the job just before it failed (go vet after go build).
        after_pass: bool,
        /// A scratch dir the command writes into (javac -d), kept until it ends.
        scratch: Option<tools::TempDir>,
    },
    Shell {
        script: String,
        cwd: PathBuf,
        parser: Parser,
        /// Diagnostics are errors only if the command failed.
        by_status: bool,
    },
    Skip(String),
}

/// Validates `files` (relative to `root`) stage by stage up to `up_to` (inclusive; None = all),
/// stopping at the first stage that fails.
pub fn validate(
    root: &Path,
    files: &[String],
    config: &Config,
    up_to: Option<Stage>,
) -> anyhow::Result<Validation> {
    validate_with(root, files, config, up_to, &Before::Unchanged)
}

/// [`validate`] of files edits were written to, with what they were `before`: a syntax error
/// vibe cannot check (in an `#if` branch the build skips) is a warning only where the edits
/// left the user's text as it was.
pub fn validate_with(
    root: &Path,
    files: &[String],
    config: &Config,
    up_to: Option<Stage>,
    before: &Before,
) -> anyhow::Result<Validation> {
    let heal = &config.heal;
    let mut v = Validation::default();
    let mut dbs = Databases::default();
    for name in heal.validators.keys() {
        if !BUILTIN.contains(&name.as_str()) {
            v.warnings.push(format!(
                "heal.validators.\"{name}\": no built-in validator of that name (known: {}); for a validator of your own use [heal.custom.{name}]",
                BUILTIN.join(", ")
            ));
        }
    }
    let interrupts = tools::interrupts();
    let langs: Vec<Option<Lang>> = files.iter().map(|f| detect(root, f)).collect();
    // Validator plugins are those of the repository (the original one when `root` is an
    // overlay); they run after the custom validators of their stage.
    let repo_root = crate::heal::overlay::original_of(root).unwrap_or_else(|| root.to_path_buf());
    let (plugins, plugin_warnings) = crate::plugins::validators(&repo_root, config);
    v.warnings.extend(plugin_warnings);
    for stage in Stage::ALL {
        if up_to.is_some_and(|u| stage > u) {
            break;
        }
        if !heal.stages.contains(&stage) {
            v.skipped.push(format!("stage {stage}: not in heal.stages"));
            continue;
        }
        let mut jobs = builtin_jobs(
            stage,
            root,
            files,
            &langs,
            config,
            &mut dbs,
            &mut v.warnings,
        );
        jobs.extend(custom_jobs(stage, root, files, config));
        let mut runs: Vec<ValidatorRun> = Vec::new();
        for job in jobs {
            if tools::interrupts() != interrupts {
                return Err(Interrupted.into());
            }
            let prev_failed = runs
                .last()
                .is_some_and(|r| matches!(r.status, Status::Failed | Status::TimedOut));
            let run = run_job(job, stage, root, config, prev_failed);
            if let Status::Skipped { reason } = &run.status {
                v.skipped.push(format!("{} ({stage}): {reason}", run.name));
            }
            runs.push(run);
        }
        for (run, warnings) in
            crate::plugins::validator_runs(&plugins, stage, root, &repo_root, files)
        {
            if let Status::Skipped { reason } = &run.status {
                v.skipped.push(format!("{} ({stage}): {reason}", run.name));
            }
            v.warnings.extend(warnings);
            runs.push(run);
        }
        if stage == Stage::Syntax && heal.stages.contains(&Stage::Compile) {
            overrule_grammar_gaps(root, &mut runs, config, before, &mut dbs, &mut v.warnings);
        }
        if tools::interrupts() != interrupts {
            return Err(Interrupted.into());
        }
        let passed = !runs
            .iter()
            .any(|r| matches!(r.status, Status::Failed | Status::TimedOut));
        v.stages.push(StageResult {
            stage,
            validators: runs,
            passed,
        });
        if !passed {
            v.failed_stage = Some(stage);
            break;
        }
    }
    Ok(v)
}

/// Compilers that parse exactly the files they are given: when one accepts a file, tree-sitter's
/// syntax errors in it are the grammar's gaps (C23 `_BitInt`, C++23 `if consteval`, Java 25
/// `import module`, …), not the file's. `tsc -p`, `cargo check` and `go build` are left out:
/// they may not compile a file at all (not in the project, not in the module tree, another
/// platform's build tag), so their passing proves nothing about it.
const PARSES_WHAT_IT_IS_GIVEN: &[&str] =
    &["py_compile", "node --check", "javac", "cc", "c++", "tsc"];

/// Syntax errors in a file that a compiler given that very file reads become warnings, and the
/// tree-sitter run passes when no error is left: heal must not "fix" valid code the grammar
/// cannot read. The compile stage itself still runs later as usual.
///
/// In C and C++ the compiler reads only the `#if` branches this build takes (see [`cpp`]): an
/// error on lines it compiled is the grammar's; one in a branch it skipped cannot be checked,
/// and is a warning only where the user's text is as they wrote it (`before`: what an edit
/// changed), never where an edit wrote. That holds too when the compiler rejected the file for
/// how it is written (its errors join the syntax stage's): the errors in skipped branches are
/// judged the same way, those in compiled code all stay errors, so that heal shows the model
/// the real error and not the grammar's confusion in a branch nobody compiles.
fn overrule_grammar_gaps(
    root: &Path,
    runs: &mut [ValidatorRun],
    config: &Config,
    before: &Before,
    dbs: &mut Databases,
    warnings: &mut Vec<String>,
) {
    let mut flagged: Vec<String> = runs
        .iter()
        .filter(|r| r.name == "tree-sitter")
        .flat_map(|r| &r.diagnostics)
        .filter(|d| d.severity == Severity::Error && d.line > 0)
        .map(|d| d.file.clone())
        .collect();
    flagged.sort();
    flagged.dedup();
    if flagged.is_empty() {
        return;
    }
    let langs: Vec<Option<Lang>> = flagged.iter().map(|f| detect(root, f)).collect();
    // The files a compiler read (and, for C/C++, rejected for how they are written).
    let mut accepted: Vec<String> = Vec::new();
    // Of those, the files a C/C++ compiler read to the end but rejected for what they mean (an
    // undeclared name), not for how they are written.
    let mut parsed_only: Vec<String> = Vec::new();
    // And the C/C++ files the compiler rejected for how they are written: nothing of them is
    // proven, but what is in the branches their build skips is still not checked by anyone.
    let mut rejected: Vec<String> = Vec::new();
    // Of those, the line of the compiler's first error in each, when it reported none elsewhere.
    let mut clean_until: HashMap<String, u32> = HashMap::new();
    // Per C/C++ file, the preprocessor of its compile job and the files that job compiles.
    let mut pre: HashMap<String, (Preprocessor, Vec<String>)> = HashMap::new();
    // What a C/C++ compiler that rejected a file said about how it is written.
    let mut compiler_says: Vec<Diagnostic> = Vec::new();
    // Per C/C++ file, its branches and those this build takes (None: not known).
    let mut branches: HashMap<String, CFile> = HashMap::new();
    for job in builtin_jobs(
        Stage::Compile,
        root,
        &flagged,
        &langs,
        config,
        dbs,
        warnings,
    ) {
        // A command of your own counts when it is given the files (`c++ -std=c++23
        // -fsyntax-only {files}`).
        let own = config
            .heal
            .validators
            .get(&job.name)
            .and_then(|o| o.command.as_deref());
        let given = match own {
            None => true,
            Some(cmd) => {
                cmd.contains("{files}") || (cmd.contains("{file}") && job.files.len() == 1)
            }
        };
        let certain = PARSES_WHAT_IT_IS_GIVEN.contains(&job.name.as_str())
            && given
            && matches!(&job.what, What::Run { args, .. } if !args.iter().any(|a| a == "-p"));
        if !certain {
            continue;
        }
        let files = job.files.clone();
        let gcc_like = matches!(job.name.as_str(), "cc" | "c++");
        let preprocessor: Option<Preprocessor> = match (&job.what, own) {
            (
                What::Run {
                    program,
                    args,
                    cwd,
                    env,
                    ..
                },
                None,
            ) if gcc_like => Some((program.clone(), args.clone(), cwd.clone(), env.clone())),
            _ => None,
        };
        // Passed: no error diagnostic (see `run_job`).
        let run = run_job(job, Stage::Compile, root, config, false);
        let read_whole = run.status == Status::Passed
            || (gcc_like && run.status == Status::Failed && only_semantic_errors(&run));
        if !read_whole {
            // The compiler's own word on how the file is written (`expected ';' before '}'`,
            // at the line) says more than tree-sitter's guess near a macro.
            if gcc_like {
                compiler_says.extend(
                    run.diagnostics
                        .iter()
                        .filter(|d| {
                            d.severity == Severity::Error
                                && d.line > 0
                                && files.contains(&d.file)
                                && is_parse_error(&d.message)
                        })
                        .map(|d| Diagnostic {
                            stage: Stage::Syntax,
                            ..d.clone()
                        }),
                );
                // Up to its first error, the compiler read the file as this build compiles it
                // and found nothing wrong: an error cannot change how the lines before it
                // parse. Unless it reported an error in another file first (a header).
                let errors = run
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error);
                if errors
                    .clone()
                    .all(|d| files.contains(&d.file) && d.line > 0)
                {
                    for d in errors {
                        let line = clean_until.entry(d.file.clone()).or_insert(d.line);
                        *line = (*line).min(d.line);
                    }
                }
                rejected.extend(files.iter().cloned());
            } else {
                continue;
            }
        }
        for f in files.iter().filter(|_| gcc_like) {
            let text = String::from_utf8_lossy(&std::fs::read(root.join(f)).unwrap_or_default())
                .into_owned();
            let b = cpp::Branches::scan(&text);
            if let Some(p) = &preprocessor {
                pre.insert(f.clone(), (p.clone(), files.clone()));
            }
            let taken = match pre.get(f) {
                Some(p) if b.has_branches() => taken_branches(p, root, root, f, &b, &text, config),
                _ => None,
            };
            branches.insert(
                f.clone(),
                CFile {
                    branches: b,
                    taken,
                    text,
                },
            );
        }
        if run.status != Status::Passed && read_whole {
            parsed_only.extend(files.iter().cloned());
        }
        accepted.extend(files);
    }
    // In a file the compiler rejected, the lines proven: those before the last code line ahead
    // of its first error (1-based, exclusive). gcc reports a missing `;` at the token after it,
    // maybe lines later: the code line before its error is not proven. Nothing when the file
    // renumbers its lines (`#line`) or the error is past its end.
    let proven_until: HashMap<&String, usize> = clean_until
        .iter()
        .filter_map(|(f, &line)| {
            let file = branches.get(f)?;
            if file.branches.renumbers() || line as usize > file.text.lines().count() {
                return None;
            }
            Some((f, code_line_before(&file.branches, line as usize)?))
        })
        .collect();
    // Every error of those files (the syntax stage shows at most 20 per file), with the last
    // line of its node.
    let all = crate::heal::syntax::spans(root, &accepted, usize::MAX);
    let key = |d: &Diagnostic| (d.file.clone(), d.line, d.column);
    let mut ends: HashMap<(String, u32, Option<u32>), u32> = HashMap::new();
    for f in &all {
        ends.insert(key(&f.diagnostic), f.end_line);
    }
    // What an error in a branch is about: the branch lines its node covers (see
    // `cpp::Branches::branch_text`).
    let about = |b: &cpp::Branches, text: &str, line: u32, end: u32| {
        b.branch_text(
            text,
            (line as usize).saturating_sub(1),
            (end as usize).saturating_sub(1),
        )
    };
    let verdict = |d: &Diagnostic| -> Verdict {
        if !accepted.contains(&d.file) {
            return Verdict::Unknown;
        }
        let Some(CFile {
            branches: b, taken, ..
        }) = branches.get(&d.file)
        else {
            return Verdict::Proven;
        };
        let first = (d.line as usize).saturating_sub(1);
        let last = ends
            .get(&(d.file.clone(), d.line, d.column))
            .map_or(first, |e| (*e as usize).saturating_sub(1));
        // In a rejected file only what the compiler read before its first error is proven,
        // and never that a token is missing (gcc may report it where the next one starts).
        let unproven = rejected.contains(&d.file)
            && (d.code.as_deref() == Some("missing")
                || proven_until
                    .get(&d.file)
                    .is_none_or(|&until| last + 1 >= until));
        match b.span_compiled(first, last, taken.as_ref()) {
            Some(true) if unproven => Verdict::Unknown,
            // Not even next to a skipped branch.
            Some(false) if unproven && b.has_compiled_code(first, last, taken.as_ref()) => {
                Verdict::Unknown
            }
            Some(true) => Verdict::Proven,
            Some(false) => Verdict::Skipped,
            None => Verdict::Unknown,
        }
    };
    // The errors in skipped branches that are the user's own: where no edit wrote on a skipped
    // line, those whose node (its whole text) the file had before the edit. An edit next to a
    // branch can change how it parses (`x = { 1,` before an `#ifdef` holding `2, 3,`).
    let mut own: HashMap<String, Option<Vec<String>>> = HashMap::new();
    // The lines (0-based) each edited file's edit wrote.
    let mut wrote: HashMap<String, Vec<usize>> = HashMap::new();
    let base = crate::heal::overlay::original_of(root).unwrap_or_else(|| root.to_path_buf());
    for (f, file) in &branches {
        let (b, taken) = (&file.branches, &file.taken);
        let was = match before.text(root, f) {
            Was::AsWritten => None,
            Was::Created => Some(vec![]),
            Was::Text(old) => {
                let changed = cpp::changed_lines(&old, &file.text);
                let wrote_skipped = changed
                    .iter()
                    .any(|l| b.compiled(*l, taken.as_ref()) != Some(true));
                wrote.insert(f.clone(), changed);
                // The old file's errors that were in branches its build skipped: an edit must
                // not make an error of compiled code "not checked" by switching its branch off.
                let was = cpp::Branches::scan(&old);
                let was_taken = pre
                    .get(f)
                    .and_then(|p| taken_branches(p, root, &base, f, &was, &old, config));
                Some(match was_taken {
                    Some(t) if !wrote_skipped => {
                        crate::heal::syntax::errors_in(f, &old, usize::MAX)
                            .into_iter()
                            .filter(|e| {
                                let first = (e.diagnostic.line as usize).saturating_sub(1);
                                let last = (e.end_line as usize).saturating_sub(1);
                                was.span_compiled(first, last, Some(&t)) == Some(false)
                            })
                            .map(|e| about(&was, &old, e.diagnostic.line, e.end_line))
                            .filter(|t| !t.is_empty())
                            .collect()
                    }
                    _ => vec![],
                })
            }
        };
        own.insert(f.clone(), was);
    }
    let mut users = |d: &Diagnostic| -> bool {
        match own.get_mut(&d.file) {
            None | Some(None) => true,
            Some(Some(was)) => {
                let Some(CFile {
                    branches: b,
                    taken,
                    text,
                }) = branches.get(&d.file)
                else {
                    return false;
                };
                let end = ends.get(&key(d)).copied().unwrap_or(d.line);
                // An edit that wrote inside the error's node a line that does not end a
                // statement or a definition may have changed how the branch parses (`1,` made
                // `1` before an `#ifdef` holding `2,`).
                let (first, last) = (
                    (d.line as usize).saturating_sub(1),
                    (end as usize).saturating_sub(1),
                );
                let lines: Vec<&str> = text.lines().collect();
                let open = |l: &usize| {
                    let line = lines.get(*l).copied().unwrap_or("");
                    let code = line.split("//").next().unwrap_or("").trim_end();
                    !code.trim().is_empty() && !code.ends_with(';') && !code.ends_with('}')
                };
                // Nor one that a skipped line of the node continues, or that continues it
                // (`x = y +` in an `#ifdef`, `1;` after its `#endif`).
                let (above, below) = b.around_skipped(first, last, taken.as_ref());
                if wrote.get(&d.file).is_some_and(|w| {
                    w.iter().any(|l| {
                        ((first..=last).contains(l) || above.contains(l)) && open(l)
                            || below.contains(l)
                    })
                }) {
                    return false;
                }
                let text = about(b, text, d.line, end);
                match was.iter().position(|t| *t == text) {
                    Some(i) => {
                        was.swap_remove(i);
                        true
                    }
                    None => false,
                }
            }
        }
    };
    // The note that makes an error a warning; None: it stays an error.
    let mut overruled = |d: &Diagnostic| -> Option<&'static str> {
        match verdict(d) {
            Verdict::Unknown => None,
            Verdict::Proven if rejected.contains(&d.file) => Some(
                " (the compiler reads it without an error, before its first: a construct vibe's grammar does not parse)",
            ),
            Verdict::Proven if parsed_only.contains(&d.file) => {
                Some(" (the compiler parses the file: a construct vibe's grammar does not parse)")
            }
            Verdict::Proven => {
                Some(" (the compiler accepts the file: a construct vibe's grammar does not parse)")
            }
            Verdict::Skipped if users(d) => {
                Some(" (in an `#if` branch this build does not compile: not checked)")
            }
            Verdict::Skipped => None,
        }
    };
    // Every error is judged once, in the file's order, so that each of the user's own is
    // matched once.
    let judged: HashMap<(String, u32, Option<u32>), Option<&'static str>> = all
        .iter()
        .filter(|f| f.diagnostic.severity == Severity::Error)
        .map(|f| (key(&f.diagnostic), overruled(&f.diagnostic)))
        .collect();
    for run in runs.iter_mut().filter(|r| r.name == "tree-sitter") {
        let shown: HashSet<(String, u32, Option<u32>)> = run.diagnostics.iter().map(key).collect();
        for d in &mut run.diagnostics {
            if d.severity != Severity::Error {
                continue;
            }
            if let Some(Some(note)) = judged.get(&key(d)) {
                d.severity = Severity::Warning;
                d.message.push_str(note);
            }
        }
        for d in compiler_says.drain(..) {
            if !run.diagnostics.contains(&d) {
                run.diagnostics.push(d);
            }
        }
        // An error past the ones shown that stays an error must be shown.
        for f in &all {
            let k = key(&f.diagnostic);
            if !shown.contains(&k) && judged.get(&k) == Some(&None) {
                run.diagnostics.push(f.diagnostic.clone());
            }
        }
        if run.status == Status::Failed
            && !run
                .diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error)
        {
            run.status = Status::Passed;
        }
    }
}

/// What the validated files were before, for the errors vibe cannot check: those the user's
/// own text has are warnings, those an edit wrote stay errors.
pub enum Before<'a> {
    /// The files as the user wrote them, or, when the root is an overlay, the original tree's.
    Unchanged,
    /// The files' text before edits that were written (`None`: created by them); a file not
    /// named is as [`Before::Unchanged`] has it.
    Texts(&'a HashMap<String, Option<String>>),
}

enum Was {
    AsWritten,
    Created,
    Text(String),
}

impl Before<'_> {
    fn text(&self, root: &Path, file: &str) -> Was {
        match self {
            Before::Texts(m) if m.contains_key(file) => match m.get(file) {
                Some(Some(t)) => Was::Text(t.clone()),
                _ => Was::Created,
            },
            // Not named: as on disk, the original tree's when the root is an overlay.
            _ => match crate::heal::overlay::original_of(root) {
                None => Was::AsWritten,
                Some(orig) => match std::fs::read(orig.join(file)) {
                    Ok(b) => Was::Text(String::from_utf8_lossy(&b).into_owned()),
                    Err(_) => Was::Created,
                },
            },
        }
    }
}

/// A compile job's program, arguments, working directory and environment.
type Preprocessor = (PathBuf, Vec<String>, PathBuf, Vec<(&'static str, String)>);

/// The branches of `file` the build takes: its preprocessor (the compile job's program and
/// flags, `-E -P` instead of `-fsyntax-only`, which name paths in `root`) run in an overlay of
/// `base` (`root`, or the tree before an edit) where the file has a
/// marker after each branch's directive, so that includes resolve as in the build and a header
/// compiled through the source file that includes it is read in that file's context. None when
/// it fails.
fn taken_branches(
    ((program, args, cwd, env), files): &(Preprocessor, Vec<String>),
    root: &Path,
    base: &Path,
    file: &str,
    b: &cpp::Branches,
    text: &str,
    config: &Config,
) -> Option<HashSet<usize>> {
    let marked = b.marked(text);
    let overlay = crate::heal::Overlay::new(base, &[(file.to_string(), marked)]).ok()?;
    let from = root.display().to_string();
    let to = overlay.root().display().to_string();
    // The other files of a job that compiles several: their markers would mix with this one's.
    let others: Vec<String> = files
        .iter()
        .filter(|f| *f != file)
        .flat_map(|f| [f.clone(), root.join(f).display().to_string()])
        .collect();
    let mut c = Command::new(program);
    for a in args {
        if a == "-fsyntax-only" {
            c.args(["-E", "-P"]);
        } else if !others.contains(a) {
            // Paths in the validated root, in the overlay instead (`-I<root>/inc`, the file).
            let moved = match a.find(&from) {
                Some(i)
                    if a[i + from.len()..].is_empty() || a[i + from.len()..].starts_with('/') =>
                {
                    format!("{}{to}{}", &a[..i], &a[i + from.len()..])
                }
                _ => a.clone(),
            };
            c.arg(moved);
        }
    }
    c.current_dir(if cwd == root { overlay.root() } else { cwd });
    for (k, v) in env {
        c.env(k, v);
    }
    // The overlay lives until the run is done.
    let ran = tools::run(c, timeout_for(Stage::Compile, "cc", config)).ok()?;
    drop(overlay);
    (ran.code == Some(0)).then(|| cpp::taken(&ran.stdout))
}

/// The compiler a database's compile runs, found on the machine; Err: why
/// it is not run (inside the repository, not installed).
fn compiler_of(
    c: &compdb::Compile,
    name: &str,
    shown: &str,
    repo: &Path,
    canonical_repo: &Path,
) -> Result<PathBuf, String> {
    // A compiler inside the repository is the repository's program, not the user's.
    let program = if c.program.contains('/') {
        let p = diagnostics::normalize(&c.cwd.join(&c.program));
        let real = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
        let inside = [repo, canonical_repo]
            .iter()
            .any(|r| p.starts_with(r) || real.starts_with(r));
        if inside {
            return Err(format!(
                "{}: the compiler {} is inside the repository; vibe runs only compilers \
                 installed on the machine (set [heal.validators.\"{name}\"] command to run it)",
                shown, c.program
            ));
        }
        // Run as named: `clang++` is a link to `clang`, which compiles C++ only by that name.
        p
    } else {
        match which(&c.program, &[]) {
            // PATH may hold `.` or a directory of the repository.
            Some(p) if p.starts_with(repo) || p.starts_with(canonical_repo) => {
                return Err(format!(
                    "{shown}: the compiler {} found on PATH is {}, inside the repository; \
                     vibe runs only compilers installed on the machine",
                    c.program,
                    p.display()
                ));
            }
            Some(p) => p,
            None => return Err(not_installed_reason(&c.program)),
        }
    };
    if !program.is_file() {
        return Err(not_installed_reason(&c.program));
    }
    Ok(program)
}

/// Whether the syntax-only compile `args` reads `header`: a line marker of its preprocessor's
/// output (`-E` instead of `-fsyntax-only`) names it, by its path or, through a symlink, as the
/// same file. None when that fails.
fn reads_header(
    program: &Path,
    args: &[String],
    cwd: &Path,
    header: &Path,
    config: &Config,
) -> Option<bool> {
    let mut c = Command::new(program);
    for a in args {
        c.arg(if a == "-fsyntax-only" { "-E" } else { a });
    }
    c.current_dir(cwd).env("LC_ALL", "C");
    let ran = tools::run(c, timeout_for(Stage::Compile, "cc", config)).ok()?;
    if ran.code != Some(0) {
        return None;
    }
    let want = diagnostics::normalize(header);
    let real = std::fs::canonicalize(header).ok();
    let mut seen = HashSet::new();
    Some(
        ran.stdout
            .lines()
            .filter_map(marker_path)
            .filter(|(_, entered)| *entered)
            .map(|(p, _)| p)
            .filter(|p| seen.insert(p.clone()))
            .any(|p| {
                let p = cwd.join(p);
                diagnostics::normalize(&p) == want
                    || real.is_some() && std::fs::canonicalize(&p).ok() == real
            }),
    )
}

/// The file a line marker of gcc's or clang's preprocessor output names (`# 12 "a/b.h" 2`),
/// unescaped (`\"`, `\\`, octal `\NNN`), and whether the marker enters it (flag 1: an
/// include or `-include`, not a `#line` the source wrote).
fn marker_path(line: &str) -> Option<(PathBuf, bool)> {
    use std::os::unix::ffi::OsStrExt;
    let rest = line.strip_prefix("# ")?;
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let quoted = rest.strip_prefix(" \"")?.as_bytes();
    let mut out = Vec::with_capacity(quoted.len());
    let mut i = 0;
    while i < quoted.len() {
        match quoted[i] {
            b'"' => {
                let flags = std::str::from_utf8(&quoted[i + 1..]).unwrap_or("");
                let entered = flags.split_whitespace().any(|f| f == "1");
                return Some((PathBuf::from(std::ffi::OsStr::from_bytes(&out)), entered));
            }
            b'\\' => {
                let digits = quoted[i + 1..]
                    .iter()
                    .take(3)
                    .take_while(|b| (b'0'..=b'7').contains(*b))
                    .count();
                if digits > 0 {
                    let n = quoted[i + 1..i + 1 + digits]
                        .iter()
                        .fold(0u32, |n, d| n * 8 + u32::from(d - b'0'));
                    out.push(n as u8);
                    i += 1 + digits;
                } else {
                    out.extend(quoted.get(i + 1));
                    i += 2;
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// Whether a failed gcc or clang run read the whole file: it has errors, all at a line, and
/// none of them says the parse went wrong or stopped (`expected ';' before`, `stray '\\'`, a
/// missing header, `#error`): an undeclared name or a type mismatch is found only after the
/// file was parsed.
fn only_semantic_errors(run: &ValidatorRun) -> bool {
    let mut errors = run
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .peekable();
    errors.peek().is_some()
        && errors.all(|d| d.line > 0 && !is_parse_error(&d.message) && !stops(&d.message))
}

/// A gcc or clang error about how the code is written (the parse went wrong).
fn is_parse_error(message: &str) -> bool {
    mentions(
        message,
        &[
            "expected",
            "stray ",
            "missing terminating",
            "unterminated",
            "without #if",
            "unbalanced",
            "extraneous",
            "invalid preprocessing directive",
            "unknown type name",
            "parse error",
            "syntax error",
        ],
    )
}

/// A gcc or clang error after which it reads no further (a missing header, `#error`).
fn stops(message: &str) -> bool {
    mentions(
        message,
        &[
            "no such file or directory",
            "#error",
            "too many errors",
            "compilation terminated",
        ],
    )
}

/// Whether `message` contains one of `phrases` (lower case), whatever its case.
fn mentions(message: &str, phrases: &[&str]) -> bool {
    let m = message.to_ascii_lowercase();
    phrases.iter().any(|p| m.contains(p))
}

/// A flagged C or C++ file a compiler read: its `#if` structure, the branches this build takes
/// (None: not known), and its text.
struct CFile {
    branches: cpp::Branches,
    taken: Option<HashSet<usize>>,
    text: String,
}

/// The last line (1-based) before `line` that holds code: not blank, not only a comment, not
/// a directive nor one of its continuation lines.
fn code_line_before(b: &cpp::Branches, line: usize) -> Option<usize> {
    (1..line).rev().find(|&n| b.is_code(n - 1))
}

/// What a compiler's reading says about a syntax error tree-sitter found.
enum Verdict {
    /// The compiler read every line of the error: it is the grammar's.
    Proven,
    /// Some of its lines are in an `#if` branch this build skips.
    Skipped,
    /// Nothing (the compiler rejected the file, or could not be asked which lines it read).
    Unknown,
}

/// Validation stopped by [`tools::interrupt`] (Ctrl-C) or by its thread's
/// [`tools::InterruptScope`] (Cancel in chat): its result would be partial, so there is none.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: the validators were stopped")]
pub struct Interrupted;

fn detect(root: &Path, file: &str) -> Option<Lang> {
    use std::io::Read;
    let mut head = [0u8; 512];
    let n = std::fs::File::open(root.join(file))
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    lang::detect(file, &head[..n])
}

/// The files of the given languages.
fn of(files: &[String], langs: &[Option<Lang>], want: &[Lang]) -> Vec<String> {
    files
        .iter()
        .zip(langs)
        .filter(|(_, l)| l.is_some_and(|l| want.contains(&l)))
        .map(|(f, _)| f.clone())
        .collect()
}

/// Where `python3 -m py_compile` writes byte code for files under `root`: the user's cache, or,
/// for an overlay (a candidate edit being validated), the overlay's own scratch dir.
fn pycache_prefix(root: &Path) -> PathBuf {
    match (crate::heal::overlay::original_of(root), root.parent()) {
        (Some(_), Some(scratch)) => scratch.join("pycache"),
        _ => crate::config::user_cache_dir().join("pycache"),
    }
}

/// Files grouped by the directory that owns them (nearest of `markers`), in first-seen order.
fn by_project(
    root: &Path,
    files: &[String],
    markers: &[&str],
) -> Vec<(Option<PathBuf>, Vec<String>)> {
    let mut out: Vec<(Option<PathBuf>, Vec<String>)> = Vec::new();
    for f in files {
        let dir = tools::find_up(root, f, markers);
        match out.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, fs)) => fs.push(f.clone()),
            None => out.push((dir, vec![f.clone()])),
        }
    }
    out
}

fn skip(name: &str, files: &[String], reason: String) -> Job {
    Job {
        name: name.to_string(),
        files: files.to_vec(),
        what: What::Skip(reason),
    }
}

fn not_installed(name: &str, tool: &str, files: &[String]) -> Job {
    skip(name, files, not_installed_reason(tool))
}

fn not_installed_reason(tool: &str) -> String {
    format!("{tool} not installed ({})", tools::install_hint(tool))
}

struct Spec<'a> {
    name: &'a str,
    program: PathBuf,
    args: Vec<String>,
    cwd: PathBuf,
    parser: Parser,
    scope: Scope,
}

fn job(spec: Spec, files: &[String]) -> Job {
    Job {
        name: spec.name.to_string(),
        files: files.to_vec(),
        what: What::Run {
            program: spec.program,
            args: spec.args,
            cwd: spec.cwd,
            parser: spec.parser,
            scope: spec.scope,
            env: vec![],
            after_pass: false,
            scratch: None,
        },
    }
}

fn with_env(mut j: Job, k: &'static str, val: &str) -> Job {
    if let What::Run { env, .. } = &mut j.what {
        env.push((k, val.to_string()));
    }
    j
}

fn strs(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// `files` (relative to the root) relative to `dir`.
fn rel_to(root: &Path, dir: &Path, files: &[String]) -> Vec<String> {
    files
        .iter()
        .map(|f| {
            let abs = root.join(f);
            abs.strip_prefix(dir)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| abs.display().to_string())
        })
        .collect()
}

/// The compile job of a C or C++ file its project's compilation database knows (see
/// [`compdb`]): the build's own compiler and flags, syntax only. None when there is no database
/// or no entry for the file (a broken database is a warning, once per validation).
fn from_database(
    name: &str,
    root: &Path,
    file: &str,
    cpp: bool,
    config: &Config,
    dbs: &mut Databases,
    warnings: &mut Vec<String>,
) -> Option<Job> {
    let decided = match dbs.decided.get(file) {
        Some(d) => d.clone(),
        None => {
            let d = decide(name, root, file, cpp, config, &mut dbs.loaded, warnings);
            dbs.decided.insert(file.to_string(), d.clone());
            d
        }
    };
    let files = [file.to_string()];
    Some(match decided? {
        Err(reason) => skip(name, &files, reason),
        Ok((program, c)) => with_env(
            job(
                Spec {
                    name,
                    program,
                    args: c.args,
                    cwd: c.cwd,
                    parser: Parser::Gcc,
                    scope: Scope::ErrorsAnywhere,
                },
                &files,
            ),
            "LC_ALL",
            "C",
        ),
    })
}

/// What the compilation databases say in one validation: each read once, and each file's
/// compile decided once (the overrule and the compile stage both ask; for a header that is a
/// search of the sources and a preprocessor run per includer tried).
#[derive(Default)]
struct Databases {
    loaded: HashMap<PathBuf, Result<compdb::Database, String>>,
    decided: HashMap<String, Option<Decided>>,
}

/// A database's compile of a file: the compiler and the compile, or why it is not run.
type Decided = Result<(PathBuf, compdb::Compile), String>;

/// The compile the database of `file` gives it (see [`from_database`]); None: no database or
/// no entry near the file, so the plain compiler is used.
fn decide(
    name: &str,
    root: &Path,
    file: &str,
    cpp: bool,
    config: &Config,
    databases: &mut HashMap<PathBuf, Result<compdb::Database, String>>,
    warnings: &mut Vec<String>,
) -> Option<Decided> {
    let repo = crate::heal::overlay::original_of(root).unwrap_or_else(|| root.to_path_buf());
    let path = compdb::find(&repo, file, &config.heal.compile_commands)?;
    let shown = path
        .strip_prefix(&repo)
        .unwrap_or(&path)
        .display()
        .to_string();
    let loaded = databases
        .entry(path.clone())
        .or_insert_with(|| compdb::Database::load(&path));
    let db = match loaded {
        Ok(db) => &*db,
        Err(e) => {
            let e = e.replace(&path.display().to_string(), &shown);
            let w = format!(
                "{e}; C and C++ files are checked with cc/c++ and map.include_dirs instead"
            );
            if !warnings.contains(&w) {
                warnings.push(w);
            }
            return None;
        }
    };
    // The database names files by the paths the build saw: the repository's real path, or the
    // one it was reached by.
    let canonical_repo = std::fs::canonicalize(&repo).unwrap_or_else(|_| repo.clone());
    let target = root.join(file);
    let alias = db.alias_of(&canonical_repo);
    let (options, repo) = [canonical_repo.clone(), repo]
        .into_iter()
        .chain(alias)
        .map(|r| (db.compiles(&r.join(file), &target, cpp, &r, root), r))
        .find(|(o, _)| !o.is_empty())?;
    // A header compiled through a source file must be read there: its preprocessor says so.
    let mut skipped_branch = false;
    let mut chosen = None;
    // An includer whose preprocessor failed (a missing header): used if none is known to read.
    let mut unknown = None;
    for c in options {
        if c.via == compdb::Via::Alone && (skipped_branch || unknown.is_some()) {
            break;
        }
        if !c.cwd.is_dir() {
            let w = format!(
                "{}: the build directory {} does not exist (a database from another checkout?): \
                 regenerate it; {file} is checked with cc/c++ and map.include_dirs instead",
                shown,
                c.cwd.display()
            );
            if !warnings.contains(&w) {
                warnings.push(w);
            }
            continue;
        }
        let program = match compiler_of(&c, name, &shown, &repo, &canonical_repo) {
            Ok(p) => p,
            Err(reason) => return Some(Err(reason)),
        };
        if let compdb::Via::Includer { may_skip } = c.via {
            match reads_header(&program, &c.args, &c.cwd, &target, config) {
                Some(true) => {}
                Some(false) => {
                    skipped_branch |= may_skip;
                    continue;
                }
                None => {
                    if unknown.is_none() {
                        unknown = Some((c, program));
                    }
                    continue;
                }
            }
        }
        chosen = Some((c, program));
        break;
    }
    let chosen = chosen.or(unknown);
    let Some((c, program)) = chosen else {
        return skipped_branch.then(|| {
            Err(format!(
                "this build does not read {file}: the source files of {shown} include it only \
                 inside #if branches the build skips, so the compiler cannot check it"
            ))
        });
    };
    Some(Ok((program, c)))
}

fn builtin_jobs(
    stage: Stage,
    root: &Path,
    files: &[String],
    langs: &[Option<Lang>],
    config: &Config,
    dbs: &mut Databases,
    warnings: &mut Vec<String>,
) -> Vec<Job> {
    let py = of(files, langs, &[Lang::Python]);
    let js = of(files, langs, &[Lang::JavaScript]);
    let ts = of(files, langs, &[Lang::TypeScript, Lang::Tsx]);
    let rs = of(files, langs, &[Lang::Rust]);
    let go = of(files, langs, &[Lang::Go]);
    let java = of(files, langs, &[Lang::Java]);
    let c = of(files, langs, &[Lang::C]);
    let cpp = of(files, langs, &[Lang::Cpp]);
    let mut jobs = Vec::new();
    match stage {
        Stage::Syntax => {
            let known: Vec<String> = files
                .iter()
                .zip(langs)
                .filter(|(_, l)| l.is_some())
                .map(|(f, _)| f.clone())
                .collect();
            jobs.push(if known.is_empty() {
                skip("tree-sitter", files, "no grammar for these files".into())
            } else {
                Job {
                    name: "tree-sitter".into(),
                    files: known,
                    what: What::TreeSitter,
                }
            });
        }
        Stage::Compile => {
            if !py.is_empty() {
                jobs.push(match which("python3", &[]) {
                    Some(p) => with_env(
                        job(
                            Spec {
                                name: "py_compile",
                                program: p,
                                args: [strs(&["-m", "py_compile"]), py.clone()].concat(),
                                cwd: root.to_path_buf(),
                                parser: Parser::PyCompile,
                                scope: Scope::All,
                            },
                            &py,
                        ),
                        // Byte code goes to the user's cache, never next to the user's files
                        // (nor to a fixed path in the shared temp dir, which another user may
                        // own: every compile would fail there); a candidate's, validated in an
                        // overlay, into the overlay's scratch dir, removed with it (under the
                        // cache, each attempt left a copy of its files' byte code for good).
                        "PYTHONPYCACHEPREFIX",
                        &pycache_prefix(root).display().to_string(),
                    ),
                    None => not_installed("py_compile", "python3", &py),
                });
                if let Some(p) = which("mypy", &[]) {
                    let args = [
                        strs(&[
                            "--no-error-summary",
                            "--show-column-numbers",
                            "--no-color-output",
                            "--hide-error-context",
                            "--show-error-codes",
                            "--ignore-missing-imports",
                            "--follow-imports=silent",
                            "--no-incremental",
                        ]),
                        py.clone(),
                    ]
                    .concat();
                    jobs.push(job(
                        Spec {
                            name: "mypy",
                            program: p,
                            args,
                            cwd: root.to_path_buf(),
                            parser: Parser::Mypy,
                            scope: Scope::Files,
                        },
                        &py,
                    ));
                } else if let Some(p) = which("pyright", &tools::node_bins(root, root)) {
                    jobs.push(job(
                        Spec {
                            name: "pyright",
                            program: p,
                            args: [strs(&["--outputjson"]), py.clone()].concat(),
                            cwd: root.to_path_buf(),
                            parser: Parser::Pyright,
                            scope: Scope::Files,
                        },
                        &py,
                    ));
                } else {
                    jobs.push(not_installed("mypy", "mypy", &py));
                }
            }
            // node --check cannot read JSX; tree-sitter's syntax stage covers those files.
            let plain_js: Vec<String> = js
                .iter()
                .filter(|f| !f.to_ascii_lowercase().ends_with(".jsx"))
                .cloned()
                .collect();
            for f in &plain_js {
                jobs.push(match which("node", &[]) {
                    Some(p) => job(
                        Spec {
                            name: "node --check",
                            program: p,
                            args: vec!["--check".into(), f.clone()],
                            cwd: root.to_path_buf(),
                            parser: Parser::NodeCheck,
                            scope: Scope::All,
                        },
                        std::slice::from_ref(f),
                    ),
                    None => not_installed("node --check", "node", std::slice::from_ref(f)),
                });
            }
            for (dir, group) in by_project(root, &ts, &["tsconfig.json"]) {
                let cwd = dir.clone().unwrap_or_else(|| root.to_path_buf());
                let bins = tools::node_bins(root, &cwd);
                let Some(p) = which("tsc", &bins) else {
                    jobs.push(not_installed("tsc", "tsc", &group));
                    continue;
                };
                let args = match &dir {
                    // The project's own settings; files it does not include are not checked.
                    Some(_) => strs(&["--noEmit", "--pretty", "false", "-p", "."]),
                    None => [
                        strs(&[
                            "--noEmit",
                            "--pretty",
                            "false",
                            "--skipLibCheck",
                            "--target",
                            "es2022",
                            "--module",
                            "esnext",
                            "--moduleResolution",
                            "bundler",
                            "--jsx",
                            "preserve",
                            "--esModuleInterop",
                        ]),
                        group.clone(),
                    ]
                    .concat(),
                };
                jobs.push(job(
                    Spec {
                        name: "tsc",
                        program: p,
                        args,
                        cwd,
                        parser: Parser::Tsc,
                        scope: Scope::ErrorsAnywhere,
                    },
                    &group,
                ));
            }
            jobs.extend(cargo_jobs(root, &rs, "cargo check"));
            jobs.extend(go_jobs(root, &go));
            if !java.is_empty() {
                jobs.push(javac_job(root, &java));
            }
            for (name, tool, files) in [("cc", "cc", &c), ("c++", "c++", &cpp)] {
                // Files the project's compilation database knows are compiled as its build
                // compiles them, one by one; the rest together, with `map.include_dirs`.
                let mut group = Vec::new();
                for f in files {
                    match from_database(name, root, f, tool == "c++", config, dbs, warnings) {
                        Some(j) => jobs.push(j),
                        None => group.push(f.clone()),
                    }
                }
                if group.is_empty() {
                    continue;
                }
                let Some(p) = which(tool, &[]) else {
                    jobs.push(not_installed(name, tool, &group));
                    continue;
                };
                let mut args = strs(&["-fsyntax-only", "-fdiagnostics-color=never"]);
                for inc in &config.map.include_dirs {
                    args.push(format!("-I{}", root.join(inc).display()));
                }
                args.extend(group.iter().cloned());
                jobs.push(with_env(
                    job(
                        Spec {
                            name,
                            program: p,
                            args,
                            cwd: root.to_path_buf(),
                            parser: Parser::Gcc,
                            scope: Scope::ErrorsAnywhere,
                        },
                        &group,
                    ),
                    "LC_ALL",
                    "C",
                ));
            }
        }
        Stage::Lint => {
            if !py.is_empty() {
                if let Some(p) = which("ruff", &[]) {
                    jobs.push(job(
                        Spec {
                            name: "ruff",
                            program: p,
                            args: [
                                strs(&["check", "--output-format=json", "--no-cache"]),
                                ruff_defaults(root),
                                py.clone(),
                            ]
                            .concat(),
                            cwd: root.to_path_buf(),
                            parser: Parser::Ruff,
                            scope: Scope::Files,
                        },
                        &py,
                    ));
                } else if let Some(p) = which("flake8", &[]) {
                    jobs.push(job(
                        Spec {
                            name: "flake8",
                            program: p,
                            args: py.clone(),
                            cwd: root.to_path_buf(),
                            parser: Parser::Flake8,
                            scope: Scope::Files,
                        },
                        &py,
                    ));
                } else {
                    jobs.push(not_installed("ruff", "ruff", &py));
                }
            }
            let web = [js.clone(), ts.clone()].concat();
            if !web.is_empty() {
                let bins = tools::node_bins(root, root);
                let configured = [
                    "eslint.config.js",
                    "eslint.config.mjs",
                    "eslint.config.cjs",
                    "eslint.config.ts",
                    ".eslintrc.js",
                    ".eslintrc.cjs",
                    ".eslintrc.json",
                    ".eslintrc.yml",
                    ".eslintrc.yaml",
                    ".eslintrc",
                ]
                .iter()
                .any(|n| root.join(n).exists());
                jobs.push(match which("eslint", &bins) {
                    None => not_installed("eslint", "eslint", &web),
                    Some(_) if !configured => {
                        skip("eslint", &web, "no eslint config in the root".into())
                    }
                    Some(p) => job(
                        Spec {
                            name: "eslint",
                            program: p,
                            args: [strs(&["--format", "json"]), web.clone()].concat(),
                            cwd: root.to_path_buf(),
                            parser: Parser::Eslint,
                            scope: Scope::Files,
                        },
                        &web,
                    ),
                });
            }
            jobs.extend(cargo_jobs(root, &rs, "clippy"));
        }
        Stage::Test => jobs.extend(test_jobs(root, files, langs, config)),
    }
    jobs
}

/// `cargo check` / `cargo clippy` / `cargo test` in each crate that owns one of `rs`.
fn cargo_jobs(root: &Path, rs: &[String], name: &str) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (dir, group) in by_project(root, rs, &["Cargo.toml"]) {
        let Some(dir) = dir else {
            jobs.push(skip(name, &group, "no Cargo.toml above the file".into()));
            continue;
        };
        let Some(cargo) = which("cargo", &[]) else {
            jobs.push(not_installed(name, "cargo", &group));
            continue;
        };
        let (args, parser, scope) = match name {
            "clippy" => {
                if which("cargo-clippy", &[]).is_none() {
                    jobs.push(not_installed(name, "clippy", &group));
                    continue;
                }
                (
                    strs(&[
                        "clippy",
                        "--all-targets",
                        "--message-format=json",
                        "--quiet",
                    ]),
                    Parser::Cargo,
                    Scope::Files,
                )
            }
            "cargo test" => (strs(&["test", "--quiet"]), Parser::CargoTest, Scope::All),
            _ => (
                strs(&["check", "--all-targets", "--message-format=json", "--quiet"]),
                Parser::Cargo,
                Scope::ErrorsAnywhere,
            ),
        };
        let j = job(
            Spec {
                name,
                program: cargo,
                args,
                cwd: dir,
                parser,
                scope,
            },
            &group,
        );
        jobs.push(with_env(
            with_env(j, "CARGO_TERM_COLOR", "never"),
            "RUST_BACKTRACE",
            "0",
        ));
    }
    jobs
}

/// `go build` then `go vet` for each package that owns one of `go`.
fn go_jobs(root: &Path, go: &[String]) -> Vec<Job> {
    let mut jobs = Vec::new();
    if go.is_empty() {
        return jobs;
    }
    let Some(bin) = which("go", &[]) else {
        jobs.push(not_installed("go build", "go", go));
        jobs.push(not_installed("go vet", "go", go));
        return jobs;
    };
    // Packages are directories.
    let mut pkgs: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for f in go {
        let dir = root
            .join(f)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        match pkgs.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, fs)) => fs.push(f.clone()),
            None => pkgs.push((dir, vec![f.clone()])),
        }
    }
    for (dir, group) in pkgs {
        let module = group
            .first()
            .and_then(|f| tools::find_up(root, f, &["go.mod"]));
        let (cwd, target) = match &module {
            Some(m) => {
                let rel = dir.strip_prefix(m).unwrap_or(Path::new(""));
                (
                    m.clone(),
                    vec![
                        format!("./{}", rel.display())
                            .trim_end_matches('/')
                            .to_string(),
                    ],
                )
            }
            // No module: the files themselves, as a command-line package.
            None => (dir.clone(), rel_to(root, &dir, &group)),
        };
        let target = if target == ["."] || target == ["./"] {
            vec![".".to_string()]
        } else {
            target
        };
        jobs.push(job(
            Spec {
                name: "go build",
                program: bin.clone(),
                args: [strs(&["build", "-o", "/dev/null"]), target.clone()].concat(),
                cwd: cwd.clone(),
                parser: Parser::Go,
                scope: Scope::ErrorsAnywhere,
            },
            &group,
        ));
        let mut vet = job(
            Spec {
                name: "go vet",
                program: bin.clone(),
                args: [strs(&["vet"]), target].concat(),
                cwd,
                parser: Parser::Go,
                scope: Scope::Files,
            },
            &group,
        );
        if let What::Run { after_pass, .. } = &mut vet.what {
            *after_pass = true;
        }
        jobs.push(vet);
    }
    jobs
}

/// `javac -d <scratch>`, with the source root on `-sourcepath` when the package declaration
/// says where it is.
fn javac_job(root: &Path, java: &[String]) -> Job {
    let Some(p) = which("javac", &[]) else {
        return not_installed("javac", "javac", java);
    };
    let scratch = match tools::TempDir::new("vibe-javac") {
        Ok(d) => d,
        Err(e) => return skip("javac", java, format!("no scratch dir: {e}")),
    };
    let mut args = vec![
        "-d".to_string(),
        scratch.path().display().to_string(),
        "-proc:none".into(),
        "-implicit:none".into(),
        "-Xmaxerrs".into(),
        "100".into(),
    ];
    if let Some(src_root) = java.first().and_then(|f| java_source_root(root, f)) {
        args.push("-sourcepath".into());
        args.push(src_root);
    }
    args.extend(java.iter().cloned());
    let mut j = job(
        Spec {
            name: "javac",
            program: p,
            args,
            cwd: root.to_path_buf(),
            parser: Parser::Javac,
            scope: Scope::ErrorsAnywhere,
        },
        java,
    );
    if let What::Run { scratch: s, .. } = &mut j.what {
        *s = Some(scratch);
    }
    j
}

/// `src/main/java` for `src/main/java/com/x/A.java` declaring `package com.x;`.
fn java_source_root(root: &Path, file: &str) -> Option<String> {
    let text = std::fs::read_to_string(root.join(file)).ok()?;
    let pkg = text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("package "))?
        .trim_end_matches(';')
        .trim()
        .replace('.', "/");
    let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
    let base = if pkg.is_empty() {
        dir
    } else {
        dir.strip_suffix(&pkg)?.trim_end_matches('/')
    };
    Some(if base.is_empty() {
        ".".into()
    } else {
        base.into()
    })
}

/// Without a ruff configuration of the project's own, the rules that find errors (pyflakes and
/// pycodestyle's E4/E7/E9, ruff's classic defaults): newer ruff releases also enforce import
/// order by default, which is style, not something `vibe heal` should fail a file for.
fn ruff_defaults(root: &Path) -> Vec<String> {
    let configured = root.join("ruff.toml").exists()
        || root.join(".ruff.toml").exists()
        || std::fs::read_to_string(root.join("pyproject.toml"))
            .is_ok_and(|t| t.contains("[tool.ruff"));
    if configured {
        vec![]
    } else {
        strs(&["--select", "E4,E7,E9,F"])
    }
}

fn test_jobs(root: &Path, files: &[String], langs: &[Option<Lang>], config: &Config) -> Vec<Job> {
    let cmd = config.heal.test_command.trim();
    if !cmd.is_empty() {
        let first = cmd.split_whitespace().collect::<Vec<_>>();
        let parser = match first.as_slice() {
            ["pytest", ..] | ["python" | "python3", "-m", "pytest", ..] => Parser::Pytest,
            ["cargo", "test", ..] => Parser::CargoTest,
            ["go", "test", ..] => Parser::GoTest,
            _ => Parser::Generic,
        };
        return vec![Job {
            name: "test command".into(),
            files: files.to_vec(),
            what: What::Shell {
                script: cmd.to_string(),
                cwd: root.to_path_buf(),
                parser,
                by_status: false,
            },
        }];
    }
    let mut jobs = Vec::new();
    let py = of(files, langs, &[Lang::Python]);
    if !py.is_empty() {
        // A Django app's `tests.py` is a test file, but not one pytest collects (`test_*.py`,
        // `*_test.py`): with nothing else, pytest would run, find no test and fail (exit 5).
        let has_tests = ["tests", "test", "conftest.py", "pytest.ini"]
            .iter()
            .any(|n| root.join(n).exists())
            || py.iter().any(|f| {
                use crate::repomap::project::{is_test_path, is_tests_module};
                is_test_path(f) && !is_tests_module(f)
            });
        match which("pytest", &[]) {
            _ if !has_tests => {}
            None => jobs.push(not_installed("pytest", "pytest", &py)),
            Some(p) => jobs.push(with_env(
                job(
                    Spec {
                        name: "pytest",
                        program: p,
                        args: strs(&["-q", "-p", "no:cacheprovider"]),
                        cwd: root.to_path_buf(),
                        parser: Parser::Pytest,
                        scope: Scope::All,
                    },
                    &py,
                ),
                "PYTHONDONTWRITEBYTECODE",
                "1",
            )),
        }
    }
    let web = of(
        files,
        langs,
        &[Lang::JavaScript, Lang::TypeScript, Lang::Tsx],
    );
    for (dir, group) in by_project(root, &web, &["package.json"]) {
        let Some(dir) = dir else { continue };
        let script = std::fs::read_to_string(dir.join("package.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["scripts"]["test"].as_str().map(str::to_string));
        // npm init's placeholder is not a test suite.
        let Some(_) = script.filter(|s| !s.contains("no test specified")) else {
            continue;
        };
        jobs.push(match which("npm", &[]) {
            None => not_installed("npm test", "npm", &group),
            Some(p) => job(
                Spec {
                    name: "npm test",
                    program: p,
                    args: strs(&["test", "--silent"]),
                    cwd: dir,
                    parser: Parser::Generic,
                    scope: Scope::All,
                },
                &group,
            ),
        });
    }
    jobs.extend(cargo_jobs(
        root,
        &of(files, langs, &[Lang::Rust]),
        "cargo test",
    ));
    let go = of(files, langs, &[Lang::Go]);
    for (dir, group) in by_project(root, &go, &["go.mod"]) {
        let Some(dir) = dir else { continue };
        jobs.push(match which("go", &[]) {
            None => not_installed("go test", "go", &group),
            Some(p) => job(
                Spec {
                    name: "go test",
                    program: p,
                    args: strs(&["test", "./..."]),
                    cwd: dir,
                    parser: Parser::GoTest,
                    scope: Scope::All,
                },
                &group,
            ),
        });
    }
    jobs
}

fn custom_jobs(stage: Stage, root: &Path, files: &[String], config: &Config) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (name, c) in &config.heal.custom {
        if c.stage != stage {
            continue;
        }
        if !c.enabled {
            jobs.push(skip(name, files, "disabled in config".into()));
            continue;
        }
        let matching = match crate::plugins::matching(root, files, &c.files) {
            Ok(m) => m,
            Err(e) => {
                jobs.push(skip(name, files, e));
                continue;
            }
        };
        if matching.is_empty() {
            jobs.push(skip(
                name,
                files,
                "no file matches its `files` patterns".into(),
            ));
            continue;
        }
        let parser = match c.parser {
            CustomParser::Generic => Parser::Generic,
            CustomParser::None => Parser::None,
        };
        let scripts: Vec<(String, Vec<String>)> = if c.command.contains("{file}") {
            matching
                .iter()
                .map(|f| {
                    (
                        substitute(&c.command, std::slice::from_ref(f)),
                        vec![f.clone()],
                    )
                })
                .collect()
        } else {
            vec![(substitute(&c.command, &matching), matching.clone())]
        };
        for (script, fs) in scripts {
            jobs.push(Job {
                name: name.clone(),
                files: fs,
                what: What::Shell {
                    script,
                    cwd: root.to_path_buf(),
                    parser,
                    by_status: true,
                },
            });
        }
    }
    jobs
}

/// `{files}` → all the files, `{file}` → the first, each quoted for `sh`.
fn substitute(cmd: &str, files: &[String]) -> String {
    let quoted: Vec<String> = files.iter().map(|f| tools::shell_quote(f)).collect();
    cmd.replace("{files}", &quoted.join(" ")).replace(
        "{file}",
        quoted.first().map(String::as_str).unwrap_or_default(),
    )
}

fn timeout_for(stage: Stage, name: &str, config: &Config) -> Duration {
    let h = &config.heal;
    let per = h
        .validators
        .get(name)
        .and_then(|o| o.timeout)
        .or_else(|| h.custom.get(name).and_then(|c| c.timeout));
    let secs = per.unwrap_or(match stage {
        Stage::Syntax | Stage::Compile => h.compile_timeout,
        Stage::Lint => h.lint_timeout,
        Stage::Test => h.test_timeout,
    });
    tools::timeout_secs(secs)
}

fn run_job(
    job: Job,
    stage: Stage,
    root: &Path,
    config: &Config,
    prev_failed: bool,
) -> ValidatorRun {
    let mut run = ValidatorRun {
        name: job.name.clone(),
        status: Status::Passed,
        duration_ms: 0,
        command: None,
        cwd: None,
        exit_code: None,
        diagnostics: vec![],
    };
    let over = config.heal.validators.get(&job.name);
    if over.and_then(|o| o.enabled) == Some(false) {
        run.status = Status::Skipped {
            reason: "disabled in config".into(),
        };
        return run;
    }
    let start = Instant::now();
    let timeout = timeout_for(stage, &job.name, config);
    // A command override turns a built-in into a shell command with the built-in's parser.
    let what = match (job.what, over.and_then(|o| o.command.as_deref())) {
        (What::Run { cwd, parser, .. }, Some(cmd)) => What::Shell {
            script: substitute(cmd, &rel_to(root, &cwd, &job.files)),
            cwd,
            parser,
            by_status: false,
        },
        (what, _) => what,
    };
    let (mut cmd, cwd, parser, scope, by_status, _scratch) = match what {
        What::Skip(reason) => {
            run.status = Status::Skipped { reason };
            return run;
        }
        What::TreeSitter => {
            run.diagnostics = crate::heal::syntax::check(root, &job.files);
            run.status = if run.diagnostics.is_empty() {
                Status::Passed
            } else {
                Status::Failed
            };
            run.duration_ms = start.elapsed().as_millis() as u64;
            return run;
        }
        What::Run {
            after_pass: true, ..
        } if prev_failed => {
            run.status = Status::Skipped {
                reason: "the validator before it failed".into(),
            };
            return run;
        }
        What::Run {
            program,
            args,
            cwd,
            parser,
            scope,
            env,
            scratch,
            ..
        } => {
            let mut c = Command::new(&program);
            c.args(&args).current_dir(&cwd);
            for (k, v) in env {
                c.env(k, v);
            }
            let name = program
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let shown: Vec<String> = std::iter::once(name)
                .chain(args.iter().map(|a| match &scratch {
                    Some(s) if a == &s.path().display().to_string() => "<scratch>".to_string(),
                    _ => tools::shell_quote(a),
                }))
                .collect();
            run.command = Some(shown.join(" "));
            // The scratch dir lives until the command is done.
            (c, cwd, parser, scope, false, scratch)
        }
        What::Shell {
            script,
            cwd,
            parser,
            by_status,
        } => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(&script).current_dir(&cwd);
            run.command = Some(script);
            (c, cwd, parser, Scope::All, by_status, None)
        }
    };
    cmd.env("NO_COLOR", "1");
    run.cwd = Some(
        cwd.strip_prefix(root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| cwd.display().to_string()),
    );
    let ran = match tools::run(cmd, timeout) {
        Ok(r) => r,
        Err(e) => {
            run.status = Status::Skipped {
                reason: format!("cannot run: {e}"),
            };
            return run;
        }
    };
    run.duration_ms = ran.duration.as_millis() as u64;
    run.exit_code = ran.code;
    let paths = Paths::new(root, &cwd, &job.files);
    let out = diagnostics::Output {
        stdout: &ran.stdout,
        stderr: &ran.stderr,
        stage,
        source: &job.name,
    };
    let parsed = diagnostics::parse(parser, &out, &paths);
    let parsed_any = !parsed.is_empty();
    let mut ds: Vec<Diagnostic> = parsed
        .into_iter()
        .filter(|d| match scope {
            Scope::All => true,
            Scope::Files => job.files.contains(&d.file),
            Scope::ErrorsAnywhere => job.files.contains(&d.file) || d.severity == Severity::Error,
        })
        .collect();
    let failed_exit = ran.code != Some(0);
    if by_status && !failed_exit {
        for d in &mut ds {
            if d.severity == Severity::Error {
                d.severity = Severity::Warning;
            }
        }
    }
    if ran.timed_out {
        run.status = Status::TimedOut;
        ds.push(Diagnostic {
            file: job.files.first().cloned().unwrap_or_default(),
            line: 0,
            column: None,
            severity: Severity::Error,
            code: Some("timeout".into()),
            message: format!(
                "{} did not finish within {:.0} s (killed); raise heal.{}.\"{}\".timeout",
                job.name,
                timeout.as_secs_f64(),
                // A validator of the user's own is set under [heal.custom.NAME].
                if config.heal.custom.contains_key(&job.name) {
                    "custom"
                } else {
                    "validators"
                },
                job.name
            ),
            stage,
            source: job.name.clone(),
        });
    } else if ds.iter().any(|d| d.severity == Severity::Error) {
        run.status = Status::Failed;
    } else if failed_exit && (!parsed_any || parser == Parser::None || by_status) {
        run.status = Status::Failed;
        ds.push(Diagnostic {
            file: job.files.first().cloned().unwrap_or_default(),
            line: 0,
            column: None,
            severity: Severity::Error,
            code: None,
            message: format!(
                "{} exited with {}: {}",
                job.name,
                ran.code
                    .map_or("a signal".to_string(), |c| format!("status {c}")),
                tail(&ran.stdout, &ran.stderr)
            ),
            stage,
            source: job.name.clone(),
        });
    }
    run.diagnostics = ds;
    run
}

/// The last lines of a command's output, for a failure nothing parsed.
fn tail(stdout: &str, stderr: &str) -> String {
    let text = format!("{}\n{}", stdout.trim_end(), stderr.trim_end());
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let from = lines.len().saturating_sub(12);
    let t = lines[from..].join("\n");
    if t.is_empty() {
        "(no output)".into()
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_source_roots() -> Result<(), Box<dyn std::error::Error>> {
        let d = tools::TempDir::new("vibe-test")?;
        std::fs::create_dir_all(d.path().join("src/main/java/com/x"))?;
        std::fs::write(
            d.path().join("src/main/java/com/x/A.java"),
            "package com.x;\nclass A {}\n",
        )?;
        std::fs::write(d.path().join("B.java"), "class B {}\n")?;
        assert_eq!(
            java_source_root(d.path(), "src/main/java/com/x/A.java").as_deref(),
            Some("src/main/java")
        );
        assert_eq!(java_source_root(d.path(), "B.java"), None);
        Ok(())
    }

    /// A Django app's `tests.py` alone starts no pytest run (pytest would collect nothing in
    /// it and fail with exit 5); a `test_*.py` does.
    #[test]
    fn pytest_runs_for_the_files_it_collects() -> Result<(), Box<dyn std::error::Error>> {
        let d = tools::TempDir::new("vibe-test")?;
        std::fs::create_dir_all(d.path().join("polls"))?;
        let config = Config::defaults();
        let names = |files: &[&str]| {
            let files: Vec<String> = files.iter().map(|f| f.to_string()).collect();
            let langs = vec![Some(Lang::Python); files.len()];
            test_jobs(d.path(), &files, &langs, &config)
                .into_iter()
                .map(|j| j.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&["polls/tests.py"]), Vec::<String>::new());
        assert_eq!(names(&["polls/test_models.py"]), ["pytest"]);
        Ok(())
    }

    #[test]
    fn placeholders_are_quoted() {
        let fs = vec!["a b.py".to_string(), "c.py".to_string()];
        assert_eq!(substitute("lint {files}", &fs), "lint 'a b.py' c.py");
        assert_eq!(substitute("lint {file}", &fs), "lint 'a b.py'");
    }

    #[test]
    fn the_code_line_before_an_error_skips_comments_and_directives() {
        let text = "int a = 1\n/* note\n   more */\n#define Y \\\n  2\n\nint b;\n";
        let b = cpp::Branches::scan(text);
        assert_eq!(code_line_before(&b, 7), Some(1));
        assert_eq!(code_line_before(&b, 2), Some(1));
        assert_eq!(code_line_before(&b, 1), None);
        assert_eq!(code_line_before(&b, 99), Some(7));
        // Line markers and `#line` are known to the scan.
        assert!(!b.renumbers());
        for marked in [
            "#line 10\nint a;\n",
            "# 12 \"a.c\"\nint a;\n",
            "  #  line 3\n",
        ] {
            assert!(cpp::Branches::scan(marked).renumbers(), "{marked}");
        }
        assert!(!cpp::Branches::scan("/* #line 3 */\n#lines\n").renumbers());
    }

    #[test]
    fn line_markers_name_their_files() {
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(
            marker_path("# 1 \"/r/inc/a.h\" 1 3"),
            Some((PathBuf::from("/r/inc/a.h"), true))
        );
        assert_eq!(
            marker_path(r#"# 12 "../in\"c/b\\x.h" 1"#),
            Some((PathBuf::from(r#"../in"c/b\x.h"#), true))
        );
        assert_eq!(
            marker_path(r#"# 3 "caf\351.h" 2"#),
            Some((
                PathBuf::from(std::ffi::OsStr::from_bytes(b"caf\xe9.h")),
                false
            ))
        );
        // A `#line 1 "h.h"` the source wrote: no flag, not an include.
        assert_eq!(
            marker_path("# 1 \"../inc/h.h\""),
            Some((PathBuf::from("../inc/h.h"), false))
        );
        assert_eq!(
            marker_path("# 10 \"a.h\" 12"),
            Some((PathBuf::from("a.h"), false))
        );
        assert_eq!(marker_path("# 3 \"open"), None);
        assert_eq!(marker_path("#pragma once"), None);
        assert_eq!(marker_path("int x = 1;"), None);
    }
}
