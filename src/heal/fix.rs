//! The fix loop: validate → ask the model with the diagnostics, the code around them, related
//! definitions, similar past fixes and the earlier failed attempts → apply its edits to a
//! scratch copy → validate again; keep an attempt only when the failing stage got better and no
//! earlier stage got worse; stop when everything passes or after `max_attempts`.
//!
//! Invariant: nothing here writes to the repository. Candidates live in memory and are
//! validated in an [`Overlay`]; the caller writes the final changes (with backups, atomically)
//! only after the user agreed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::config::EditFormat;
use crate::edit::{self, Edit, EditKind, FileChange};
use crate::llm::{self, Message, Request};
use crate::store::memory::Fix;

use super::memory;
use super::overlay::Overlay;
use super::{Diagnostic, Stage, Status, Validation};

/// At most this many diagnostics are shown to the model per attempt.
const MAX_DIAGNOSTICS: usize = 25;
/// Lines of code shown around each diagnostic.
const AROUND: usize = 8;
/// A file up to this many lines is shown whole.
const WHOLE_FILE_LINES: usize = 150;

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub max_attempts: u32,
    pub up_to: Option<Stage>,
    pub max_tokens: u32,
    pub model: String,
    /// The files' text before edits written just now that this heal is to fix (chat's
    /// auto-heal; `None`: created by them): what a candidate is compared with for the errors vibe
    /// cannot check. Empty: the files as they are on disk are the user's.
    pub before: std::collections::HashMap<String, Option<String>>,
}

/// One file edit as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EditOut {
    pub path: String,
    pub kind: &'static str,
    /// Line of the block in the model's answer.
    pub line: usize,
}

/// What a validation came to, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The first stage that failed; `None`: everything that ran passed.
    pub failed_stage: Option<Stage>,
    /// Errors in that stage.
    pub errors: usize,
    pub diagnostics: Vec<Diagnostic>,
}

impl Summary {
    pub fn of(v: &Validation) -> Summary {
        Summary {
            failed_stage: v.failed_stage,
            errors: v.failed_stage.map(|s| v.error_count(s)).unwrap_or(0),
            diagnostics: v.errors().into_iter().cloned().collect(),
        }
    }
}

/// One round with the model.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub n: u32,
    pub provider: String,
    pub model: String,
    pub usage: llm::Usage,
    pub cost_usd: f64,
    pub latency_ms: u64,
    pub edits: Vec<EditOut>,
    /// `accepted`, `rejected` (validated, not better), or `unusable` (no edits could be
    /// applied: unparsable, no match, outside the repository).
    pub outcome: &'static str,
    pub reason: String,
    /// The validation of the candidate, when it got that far.
    pub after: Option<Summary>,
    /// The candidate's changes against the originals.
    pub diff: String,
    /// The start of the model's answer, when no edits could be taken from it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub answer: String,
}

/// What the loop came to.
pub struct Outcome {
    pub before: Validation,
    pub after: Validation,
    pub attempts: Vec<Attempt>,
    /// The accepted changes against the files on disk (empty if none were accepted).
    pub changes: Vec<FileChange>,
    /// Every stage that ran passes with the changes.
    pub healed: bool,
    /// Past fixes shown to the model.
    pub remembered: usize,
}

/// The repository, its configuration and the things the loop calls.
pub struct Loop<'a> {
    pub root: &'a Path,
    pub config: &'a crate::config::Config,
    /// Related definitions for a query (the context loader), within its budget.
    pub related: &'a mut dyn FnMut(&str) -> anyhow::Result<String>,
    /// Sends a request to the model.
    pub ask: &'a mut dyn FnMut(&Request) -> Result<llm::Outcome, llm::Error>,
    /// Progress lines for the user.
    pub progress: &'a mut dyn FnMut(&str),
    pub past: &'a [Fix],
}

/// How good a validation is: the later the first failing stage the better, then the fewer
/// errors in it.
fn goodness(v: &Validation) -> (usize, std::cmp::Reverse<usize>) {
    match v.failed_stage {
        None => (usize::MAX, std::cmp::Reverse(0)),
        Some(s) => (s as usize, std::cmp::Reverse(v.error_count(s))),
    }
}

/// Why a candidate is not kept, or `None` if it is better.
fn verdict(best: &Validation, new: &Validation) -> Option<String> {
    if goodness(new) > goodness(best) {
        return None;
    }
    Some(match (best.failed_stage, new.failed_stage) {
        (Some(b), Some(n)) if (n as usize) < (b as usize) => format!(
            "the {} stage, which passed before, now fails with {} error(s)",
            n.name(),
            new.error_count(n)
        ),
        (Some(b), Some(_)) => format!(
            "the {} stage still fails with {} error(s) (was {})",
            b.name(),
            new.error_count(b),
            best.error_count(b)
        ),
        _ => "no better than before".into(),
    })
}

impl Loop<'_> {
    /// Heals `files`. `before` is their validation when the caller has just run it (with the
    /// same `up_to`), so that it is not run again.
    pub fn run(
        &mut self,
        files: &[String],
        opts: &Options,
        before: Option<Validation>,
    ) -> anyhow::Result<Outcome> {
        let before = match before {
            Some(v) => v,
            None => super::validate_with(
                self.root,
                files,
                self.config,
                opts.up_to,
                &super::Before::Texts(&opts.before),
            )?,
        };
        let mut best = before.clone();
        let mut attempts: Vec<Attempt> = Vec::new();
        // The accepted state: relative path → (text on disk, None for a new file; current text).
        let mut state: BTreeMap<String, (Option<String>, String)> = BTreeMap::new();
        let mut remembered = 0;
        let mut n = 0;
        while best.failed_stage.is_some() && n < opts.max_attempts {
            n += 1;
            let failing = best.failed_stage.unwrap_or(Stage::Syntax);
            (self.progress)(&format!(
                "attempt {n}/{}: {} error(s) in the {} stage; asking {}",
                opts.max_attempts,
                best.error_count(failing),
                failing.name(),
                opts.model
            ));
            let past = self.similar(&best, failing);
            if n == 1 {
                remembered = past.len();
            }
            // `whole`: the files the model was asked to give whole, if it was.
            let (prompt, whole) = self.prompt(files, &best, &state, &attempts, &past)?;
            let req = Request {
                model: opts.model.clone(),
                system: Some(if whole.is_some() {
                    whole_file_system_prompt()
                } else {
                    system_prompt()
                }),
                messages: vec![Message::user(prompt)],
                tools: vec![],
                max_tokens: opts.max_tokens,
                temperature: Some(0.0),
                stream: true,
            };
            let answer = (self.ask)(&req)?;
            let mut attempt = Attempt {
                n,
                provider: answer.provider.clone(),
                model: answer.model.clone(),
                usage: answer.usage,
                cost_usd: answer.cost_usd,
                latency_ms: answer.latency_ms,
                edits: vec![],
                outcome: "unusable",
                reason: String::new(),
                after: None,
                diff: String::new(),
                answer: String::new(),
            };
            let candidate = match self.candidate(files, &answer.text, &state, whole.as_deref()) {
                Ok((edits, c)) => {
                    attempt.edits = edits;
                    c
                }
                Err((edits, reason)) => {
                    attempt.edits = edits;
                    attempt.answer = truncate(&answer.text, 2000);
                    (self.progress)(&format!("attempt {n}: {reason}"));
                    attempt.reason = reason;
                    attempts.push(attempt);
                    continue;
                }
            };
            let changes = changes_of(self.root, &candidate);
            attempt.diff = changes.iter().map(edit::unified_diff).collect();
            let replaced: Vec<(String, String)> = candidate
                .iter()
                .map(|(rel, (_, new))| (rel.clone(), new.clone()))
                .collect();
            let overlay = Overlay::new(self.root, &replaced)?;
            let mut targets: Vec<String> = files.to_vec();
            for rel in candidate.keys() {
                if !targets.contains(rel) {
                    targets.push(rel.clone());
                }
            }
            let validation = super::validate_with(
                overlay.root(),
                &targets,
                self.config,
                opts.up_to,
                &super::Before::Texts(&opts.before),
            )?;
            drop(overlay);
            attempt.after = Some(Summary::of(&validation));
            match verdict(&best, &validation) {
                None => {
                    attempt.outcome = "accepted";
                    attempt.reason = match validation.failed_stage {
                        None => "every stage passes".into(),
                        Some(s) => format!(
                            "better: the {} stage fails with {} error(s)",
                            s.name(),
                            validation.error_count(s)
                        ),
                    };
                    state = candidate;
                    best = validation;
                }
                Some(reason) => {
                    attempt.outcome = "rejected";
                    attempt.reason = reason;
                }
            }
            (self.progress)(&format!(
                "attempt {n}: {}: {}",
                attempt.outcome, attempt.reason
            ));
            attempts.push(attempt);
        }
        let healed = best.failed_stage.is_none();
        Ok(Outcome {
            changes: changes_of(self.root, &state),
            before,
            after: best,
            attempts,
            healed,
            remembered,
        })
    }

    fn similar(&self, v: &Validation, stage: Stage) -> Vec<Fix> {
        let mut out: Vec<Fix> = Vec::new();
        for d in v.errors().into_iter().filter(|d| d.stage == stage) {
            for f in memory::similar(
                self.past,
                stage.name(),
                d.code.as_deref().unwrap_or(""),
                &d.message,
            ) {
                if out.len() < memory::IN_PROMPT && !out.iter().any(|o| o.diff == f.diff) {
                    out.push(f.clone());
                }
            }
        }
        out
    }

    /// The edits of an answer applied over the accepted state, or why they cannot be.
    #[allow(clippy::type_complexity)]
    fn candidate(
        &self,
        files: &[String],
        answer: &str,
        state: &BTreeMap<String, (Option<String>, String)>,
        whole: Option<&[String]>,
    ) -> Result<(Vec<EditOut>, BTreeMap<String, (Option<String>, String)>), (Vec<EditOut>, String)>
    {
        let edits = match edit::parse(answer) {
            Ok(e) => e,
            Err(edit::ParseError::NoBlocks) => {
                // A bare code block may stand for a file being healed, one already edited, or
                // one the model was asked to give whole; a lone one for the only such file.
                let mut known: Vec<String> = files.to_vec();
                for k in state.keys().chain(whole.into_iter().flatten()) {
                    if !known.contains(k) {
                        known.push(k.clone());
                    }
                }
                let only = whole.filter(|w| w.len() == 1).map(|w| w[0].as_str());
                match fenced_whole_files(answer, &known).or_else(|| only_fence(answer, only?)) {
                    Some(e) => e,
                    None => {
                        return Err((
                            vec![],
                            format!(
                                "the answer has no usable edits: {}",
                                edit::ParseError::NoBlocks
                            ),
                        ));
                    }
                }
            }
            Err(e) => return Err((vec![], format!("the answer has no usable edits: {e}"))),
        };
        let outs: Vec<EditOut> = edits
            .iter()
            .map(|e| EditOut {
                path: e.path.clone(),
                kind: match e.kind {
                    EditKind::Replace { .. } => "replace",
                    EditKind::WholeFile { .. } => "whole_file",
                },
                line: e.line,
            })
            .collect();
        let mut by_file: BTreeMap<String, Vec<&Edit>> = BTreeMap::new();
        for e in &edits {
            let (rel, _) = edit::resolve(self.root, &e.path)
                .map_err(|err| (outs.clone(), format!("refused: {err}")))?;
            by_file.entry(rel).or_default().push(e);
        }
        let mut next = state.clone();
        for (rel, es) in by_file {
            let (disk, current) = match next.get(&rel) {
                Some((disk, cur)) => (disk.clone(), cur.clone()),
                None => match std::fs::read(self.root.join(&rel)) {
                    Ok(bytes) => {
                        let text = String::from_utf8(bytes).map_err(|_| {
                            (outs.clone(), format!("{rel} is not UTF-8 text; not edited"))
                        })?;
                        (Some(text.clone()), text)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, String::new()),
                    Err(e) => return Err((outs.clone(), format!("cannot read {rel}: {e}"))),
                },
            };
            let new =
                edit::apply_to_text(&current, &es).map_err(|e| (outs.clone(), e.to_string()))?;
            if es
                .iter()
                .any(|e| matches!(e.kind, EditKind::WholeFile { .. }))
                && !keeps_most_of(&current, &new)
            {
                return Err((
                    outs.clone(),
                    format!(
                        "{rel}: the whole-file rewrite drops most of the file's lines (a partial file?); use SEARCH/REPLACE blocks"
                    ),
                ));
            }
            next.insert(rel, (disk, new));
        }
        // Keep only files whose text differs from the disk.
        next.retain(|_, (disk, new)| disk.as_deref() != Some(new.as_str()));
        if next == *state {
            return Err((outs, "the edits change nothing".into()));
        }
        Ok((outs, next))
    }

    fn prompt(
        &mut self,
        files: &[String],
        v: &Validation,
        state: &BTreeMap<String, (Option<String>, String)>,
        attempts: &[Attempt],
        past: &[Fix],
    ) -> anyhow::Result<(String, Option<Vec<String>>)> {
        let stage = v.failed_stage.unwrap_or(Stage::Syntax);
        let errors: Vec<&Diagnostic> = v
            .errors()
            .into_iter()
            .filter(|d| d.stage == stage)
            .collect();
        let mut s = format!(
            "The {} stage of validation fails ({}). Fix these errors:\n\n",
            stage.name(),
            validators_of(v, stage)
        );
        for d in errors.iter().take(MAX_DIAGNOSTICS) {
            s.push_str(&format!("- {}\n", d));
        }
        if errors.len() > MAX_DIAGNOSTICS {
            s.push_str(&format!(
                "- ... and {} more\n",
                errors.len() - MAX_DIAGNOSTICS
            ));
        }
        // The code: the files with errors and the files being healed, as they are now.
        let mut shown: Vec<String> = files.to_vec();
        for d in &errors {
            if !shown.contains(&d.file) && !d.file.is_empty() {
                shown.push(d.file.clone());
            }
        }
        let texts: Vec<(&String, String)> = shown
            .iter()
            .filter_map(|rel| {
                let text = match state.get(rel) {
                    Some((_, t)) => t.clone(),
                    None => std::fs::read_to_string(self.root.join(rel)).ok()?,
                };
                Some((rel, text))
            })
            .collect();
        // Whole files only where every file shown is shown whole: the model can rewrite only
        // what it has seen.
        let all_small = !texts.is_empty()
            && texts
                .iter()
                .all(|(_, t)| t.lines().count() <= WHOLE_FILE_LINES);
        let whole = all_small
            && match self.config.heal.edit_format {
                EditFormat::SearchReplace => false,
                EditFormat::Whole => true,
                EditFormat::Auto => attempts.iter().any(|a| a.outcome == "unusable"),
            };
        s.push_str(if whole {
            "\nThe code as it is now:\n"
        } else {
            "\nThe code as it is now (excerpts of long files have line numbers added, `N | `; they are not part of the file: never copy them into SEARCH):\n"
        });
        for (rel, text) in &texts {
            let lines: Vec<u32> = errors
                .iter()
                .filter(|d| &d.file == *rel)
                .map(|d| d.line)
                .collect();
            s.push_str(&format!("\n{rel}\n```\n{}```\n", numbered(text, &lines)));
        }
        let query: String = errors
            .iter()
            .take(MAX_DIAGNOSTICS)
            .map(|d| format!("{} {}\n", d.file, d.message))
            .collect();
        let related = (self.related)(&query)?;
        if !related.trim().is_empty() {
            s.push_str("\nRelated code from the repository (for reference):\n");
            s.push_str(&related);
            if !related.ends_with('\n') {
                s.push('\n');
            }
        }
        if !past.is_empty() {
            s.push_str("\nThese fixes solved similar errors in this repository before:\n");
            for f in past {
                s.push_str(&format!(
                    "\n{}[{}] {}\n```diff\n{}```\n",
                    f.path,
                    f.code,
                    f.message,
                    truncate(&f.diff, 1500)
                ));
            }
        }
        let failed: Vec<&Attempt> = attempts
            .iter()
            .filter(|a| a.outcome != "accepted")
            .collect();
        if !failed.is_empty() {
            s.push_str("\nEarlier attempts that did not work (do not repeat them):\n");
            for a in failed {
                s.push_str(&format!("\nAttempt {}: {}\n", a.n, a.reason));
                if !a.diff.is_empty() {
                    s.push_str(&format!("```diff\n{}```\n", truncate(&a.diff, 1500)));
                }
            }
        }
        let example = errors
            .first()
            .map(|d| d.file.as_str())
            .filter(|f| !f.is_empty())
            .unwrap_or(files.first().map(String::as_str).unwrap_or("path/to/file"));
        if whole {
            // No placeholder to copy: small models answer with it verbatim.
            s.push_str(&if texts.len() == 1 {
                format!(
                    "\nReply with the complete corrected {example}: its path alone on a line, then the whole file in one fenced block, changing only what fixes the errors.\n"
                )
            } else {
                "\nReply with each file you change complete: its path alone on a line, then the whole corrected file in a fenced block, changing only what fixes the errors.\n".to_string()
            });
        } else {
            s.push_str(&format!(
                "\nReply with SEARCH/REPLACE blocks only, changing as little as possible:\n\n{example}\n<<<<<<< SEARCH\n(the wrong line(s), copied exactly)\n=======\n(the corrected line(s))\n>>>>>>> REPLACE\n"
            ));
        }
        Ok((
            s,
            whole.then(|| texts.iter().map(|(rel, _)| (*rel).clone()).collect()),
        ))
    }
}

fn validators_of(v: &Validation, stage: Stage) -> String {
    v.stages
        .iter()
        .filter(|r| r.stage == stage)
        .flat_map(|r| {
            r.validators
                .iter()
                .filter(|x| matches!(x.status, Status::Failed | Status::TimedOut))
                .map(|x| x.name.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n... (cut)\n", &s[..end])
}

/// Whether [`Loop::run`] failed because it was cancelled: a model call (Ctrl-C, chat's Cancel)
/// or a validation ([`super::tools::interrupt`], a session's interrupt scope). Nothing was
/// written then.
pub fn is_cancelled(e: &anyhow::Error) -> bool {
    e.is::<super::Interrupted>()
        || matches!(e.downcast_ref::<llm::Error>(), Some(llm::Error::Cancelled))
}

/// The code to show: a small file whole and as it is (so that SEARCH lines can be copied
/// exactly), a large one as the lines around `at`, numbered.
pub fn numbered(text: &str, at: &[u32]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= WHOLE_FILE_LINES {
        let mut t = text.to_string();
        if !t.ends_with('\n') {
            t.push('\n');
        }
        return t;
    }
    let width = lines.len().to_string().len();
    let keep = |i: usize| {
        lines.len() <= WHOLE_FILE_LINES
            || at.iter().any(|&l| (i + 1).abs_diff(l as usize) <= AROUND)
    };
    let mut out = String::new();
    let mut gap = false;
    for (i, l) in lines.iter().enumerate() {
        if keep(i) {
            out.push_str(&format!("{:>width$} | {l}\n", i + 1));
            gap = false;
        } else if !gap {
            out.push_str(&format!("{:>width$} | ...\n", ""));
            gap = true;
        }
    }
    out
}

/// Small models often answer with the whole fixed file in a fence after its path instead of
/// SEARCH/REPLACE blocks (some with the line numbers of the prompt copied in). Such an answer
/// is taken as whole-file edits of `known` files only; the numbers are stripped when every
/// line has one.
pub fn fenced_whole_files(answer: &str, known: &[String]) -> Option<Vec<Edit>> {
    let lines: Vec<&str> = answer.lines().collect();
    let mut out: Vec<Edit> = Vec::new();
    let mut i = 0;
    while i + 1 < lines.len() {
        let name = lines[i]
            .trim()
            .trim_matches(|c| c == '`' || c == '*' || c == '#' || c == ':')
            .trim()
            // `./a.py` and `/a.py` (small models write both) for the repository's a.py.
            .trim_start_matches("./")
            .trim_start_matches('/');
        let opens = lines[i + 1].trim_start().starts_with("```");
        if opens && known.iter().any(|k| k == name) {
            let start = i + 2;
            let Some(len) = lines[start..]
                .iter()
                .position(|l| l.trim_start().starts_with("```"))
            else {
                break;
            };
            let body = &lines[start..start + len];
            let numbered = !body.is_empty()
                && body.iter().all(|l| {
                    l.split_once('|').is_some_and(|(n, _)| {
                        !n.trim().is_empty() && n.trim().chars().all(|c| c.is_ascii_digit())
                    })
                });
            let mut content: String = body
                .iter()
                .map(|l| {
                    if numbered {
                        let rest = l.split_once('|').map(|(_, r)| r).unwrap_or(l);
                        rest.strip_prefix(' ').unwrap_or(rest)
                    } else {
                        l
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            content.push('\n');
            // A file named twice: the last version counts.
            out.retain(|e| e.path != name);
            out.push(Edit {
                path: name.to_string(),
                kind: EditKind::WholeFile { content },
                line: i + 1,
            });
            i = start + len + 1;
        } else {
            i += 1;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// An answer of fenced blocks only, all the same (small models repeat theirs), in reply to a
/// request for the whole of `path` (the only file in question): the whole-file edit of it.
fn only_fence(answer: &str, path: &str) -> Option<Vec<Edit>> {
    let lines: Vec<&str> = answer.lines().collect();
    let mut blocks: Vec<(usize, String)> = Vec::new(); // (line of the opening fence, content)
    let mut open: Option<usize> = None;
    for (i, l) in lines.iter().enumerate() {
        if l.trim_start().starts_with("```") {
            match open.take() {
                None => open = Some(i),
                Some(o) => blocks.push((o, lines[o + 1..i].join("\n") + "\n")),
            }
        }
    }
    let (line, content) = blocks.first()?.clone();
    if open.is_some() || blocks.iter().any(|(_, c)| *c != content) {
        return None;
    }
    Some(vec![Edit {
        path: path.to_string(),
        kind: EditKind::WholeFile { content },
        line: line + 1,
    }])
}

/// Whole-file rewrites of `known` files in an answer with no edit blocks (see
/// [`fenced_whole_files`]), each kept only when it changes the file on disk and keeps most of
/// it: a fenced snippet after a file's name is not a rewrite of that file.
pub fn fenced_rewrites(root: &Path, answer: &str, known: &[String]) -> Vec<Edit> {
    fenced_whole_files(answer, known)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| match &e.kind {
            EditKind::WholeFile { content } => std::fs::read_to_string(root.join(&e.path))
                .is_ok_and(|old| old != *content && keeps_most_of(&old, content)),
            EditKind::Replace { .. } => false,
        })
        .collect()
}

/// A rewrite keeps most of the file: at least 70% of its non-blank lines are still there.
fn keeps_most_of(old: &str, new: &str) -> bool {
    let old_lines: Vec<&str> = old
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if old_lines.len() < 4 {
        return true;
    }
    let new_lines: std::collections::HashSet<&str> = new
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let kept = old_lines.iter().filter(|l| new_lines.contains(*l)).count();
    kept * 10 >= old_lines.len() * 7
}

/// Changes of a state against the disk.
fn changes_of(root: &Path, state: &BTreeMap<String, (Option<String>, String)>) -> Vec<FileChange> {
    state
        .iter()
        .map(|(rel, (old, new))| FileChange {
            rel: rel.clone(),
            abs: root.join(rel),
            old: old.clone(),
            new: new.clone(),
        })
        .collect()
}

/// Related definitions for a fix prompt: the context loader's pack for `query` within `budget`
/// tokens ("" for none, or for a query the loader cannot use).
pub fn related(
    root: &Path,
    store: &crate::store::Store,
    budget: usize,
    encoding: crate::context::tokens::Encoding,
    query: &str,
) -> anyhow::Result<String> {
    use crate::context;
    if budget == 0 || query.trim().is_empty() {
        return Ok(String::new());
    }
    let req = context::Request {
        task: query,
        budget,
        encoding,
        exclude: &[],
    };
    match context::build(root, store, &req) {
        Ok(p) => Ok(p.context),
        // A query the loader cannot use (no terms) just means no related code.
        Err(e) if e.downcast_ref::<context::Error>().is_some() => Ok(String::new()),
        Err(e) => Err(e),
    }
}

/// The instructions for the model, with the edit format.
pub fn system_prompt() -> String {
    format!(
        "You are vibe's code fixer. Validators (a parser, the compiler or type checker, linters, \
         tests) report errors in the user's code; you fix them with the smallest change that \
         makes them pass, keeping the code's style and everything else as it is. Do not explain \
         at length: reply with edits.\n\n{}",
        edit::FORMAT_PROMPT
    )
}

/// The instructions for the model when it is asked for whole files.
pub fn whole_file_system_prompt() -> String {
    "You are vibe's code fixer. Validators (a parser, the compiler or type checker, linters, \
     tests) report errors in the user's code; you fix them with the smallest change that makes \
     them pass, keeping the code's style and everything else as it is. Do not explain: reply \
     with each corrected file whole, its path alone on a line and then every line of it in a \
     fenced block."
        .to_string()
}

/// Writes a healed outcome's changes (backups first, atomically; `vibe undo` restores them) and
/// remembers the fixes in the bug memory; returns the backup run id.
pub fn write(
    root: &Path,
    store: &mut crate::store::Store,
    outcome: &Outcome,
) -> anyhow::Result<String> {
    let id = edit::commit(root, &outcome.changes, "heal")?;
    let now = crate::store::unix_ms(std::time::SystemTime::now());
    if let Err(e) = store.remember_fixes(&fixes_to_remember(outcome, now)) {
        tracing::warn!("the fix was not remembered: {e}");
    }
    Ok(id)
}

/// Fixes to remember after a successful heal: one per error of the stage that failed first.
pub fn fixes_to_remember(outcome: &Outcome, now_ms: i64) -> Vec<Fix> {
    let Some(stage) = outcome.before.failed_stage else {
        return vec![];
    };
    if !outcome.healed {
        return vec![];
    }
    let diff: String = outcome.changes.iter().map(edit::unified_diff).collect();
    let before = memory::before_pattern(&diff);
    let mut out: Vec<Fix> = Vec::new();
    for d in outcome
        .before
        .errors()
        .into_iter()
        .filter(|d| d.stage == stage)
    {
        let sig = memory::signature(&d.message);
        if out.iter().any(|f| f.signature == sig && f.path == d.file) {
            continue;
        }
        out.push(Fix {
            time_ms: now_ms,
            path: d.file.clone(),
            stage: stage.name().to_string(),
            code: d.code.clone().unwrap_or_default(),
            signature: sig,
            message: d.message.clone(),
            before: before.clone(),
            diff: truncate(&diff, 4000),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_fenced_files_are_whole_file_edits_with_copied_numbers_stripped() {
        let answer = "SEARCH/REPLACE\n\nhello.py\n```\n1 | def f():\n2 |     return 1\n```\n";
        let e = fenced_whole_files(answer, &["hello.py".into()]).expect("an edit");
        assert_eq!(e.len(), 1);
        assert!(
            matches!(&e[0].kind, EditKind::WholeFile { content } if content == "def f():\n    return 1\n")
        );
        assert!(fenced_whole_files(answer, &["other.py".into()]).is_none());
        let plain = "`a.py`:\n```python\nx = 1\n```\n";
        let e = fenced_whole_files(plain, &["a.py".into()]).expect("an edit");
        assert!(matches!(&e[0].kind, EditKind::WholeFile { content } if content == "x = 1\n"));
        for written in ["/a.py", "./a.py"] {
            let answer = format!("{written}\n```\nx = 1\n```\n");
            let e = fenced_whole_files(&answer, &["a.py".into()]).expect("an edit");
            assert_eq!(e[0].path, "a.py");
        }
    }

    #[test]
    fn a_bare_fence_is_the_only_file_asked_for_whole() {
        let whole = |answer: &str| match only_fence(answer, "a.py").as_deref() {
            Some(
                [
                    Edit {
                        path,
                        kind: EditKind::WholeFile { content },
                        ..
                    },
                ],
            ) if path == "a.py" => Some(content.clone()),
            _ => None,
        };
        assert_eq!(whole("```python\nx = 1\n```\n").as_deref(), Some("x = 1\n"));
        // Repeated the same: still the file.
        assert_eq!(
            whole("```\nx = 1\n```\n\n```\nx = 1\n```").as_deref(),
            Some("x = 1\n")
        );
        // Two different files, an unclosed fence, or no fence: not a file.
        assert_eq!(whole("```\nx = 1\n```\n```\nx = 2\n```\n"), None);
        assert_eq!(whole("```\nx = 1\n"), None);
        assert_eq!(whole("close the parenthesis"), None);
    }

    #[test]
    fn a_rewrite_must_keep_most_lines() {
        let old = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n";
        assert!(keeps_most_of(old, "a = 1\nb = 2\nc = 3\nd = 4\ne = 6\n"));
        assert!(!keeps_most_of(old, "a = 1\n"));
    }

    #[test]
    fn small_files_are_shown_as_they_are_large_ones_around_errors() {
        let small = "a\nb";
        assert_eq!(numbered(small, &[2]), "a\nb\n");
        let big: String = (1..=400).map(|i| format!("line {i}\n")).collect();
        let out = numbered(&big, &[200]);
        assert!(out.contains("200 | line 200") && out.contains("192 | line 192"));
        assert!(!out.contains("191 | line 191") && !out.contains("209 | line 209"));
        assert!(out.starts_with("    | ...\n"));
    }
}
