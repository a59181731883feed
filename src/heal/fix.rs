//! The fix loop: validate → ask the model with the diagnostics, the code around them, related
//! definitions, similar past fixes and the earlier failed attempts → apply its edits to a
//! scratch copy → validate again; keep an attempt only when the failing stage got better and no
//! earlier stage got worse; stop when everything passes or after `max_attempts`.
//!
//! Invariant: nothing here writes to the repository. Candidates live in memory and are
//! validated in an [`Overlay`]; the caller writes the final changes (with backups, atomically)
//! only after the user agreed.

use std::collections::{BTreeMap, HashMap};
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
    /// Why the answer ended: `end`, `max_tokens`, `repeating` (vibe stopped reading a loop).
    pub stop: llm::StopReason,
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
    /// SEARCH/REPLACE blocks were asked for (not whole files or parts).
    #[serde(skip)]
    pub asked_edits: bool,
}

/// The context of an error that stopped the loop at the model's provider (a budget refusal, a
/// provider that fails, a cancel): what was done before it. Shown as the error's own message.
#[derive(Debug)]
pub struct Stopped {
    message: String,
    pub before: Summary,
    pub after: Summary,
    pub attempts: Vec<Attempt>,
    pub remembered: usize,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
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
    /// Related definitions for a query (the context loader), within its budget, without the
    /// files given (already in the prompt).
    pub related: &'a mut dyn FnMut(&str, &[String]) -> anyhow::Result<String>,
    /// Sends a request to the model.
    pub ask: &'a mut dyn FnMut(&Request) -> Result<llm::Outcome, llm::Error>,
    /// Progress lines for the user.
    pub progress: &'a mut dyn FnMut(&str),
    pub past: &'a [Fix],
}

/// The accepted edits: relative path → (text on disk, `None` for a new file; current text).
type State = BTreeMap<String, (Option<String>, String)>;

/// Files a prompt showed as they were on disk: relative path → text.
type Shown = BTreeMap<String, String>;

/// A candidate state and the edits it was made of, or those edits and why they cannot be used.
type Candidate = Result<(Vec<EditOut>, State), (Vec<EditOut>, String)>;

/// What the model was asked to reply with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asked {
    /// SEARCH/REPLACE blocks.
    Edits,
    /// These files, each whole.
    Whole(Vec<String>),
    /// These line ranges, each whole: the parts of long files around the errors (and short
    /// files whole), for models that cannot write SEARCH/REPLACE blocks.
    Parts(Vec<Part>),
}

/// Lines `start..=end` (1-based) of a file, as the prompt showed them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    path: String,
    start: usize,
    end: usize,
}

impl Part {
    /// The line that heads the part in the prompt and in the answer.
    fn heading(&self) -> String {
        format!("{} lines {}-{}", self.path, self.start, self.end)
    }
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
        let mut state: State = BTreeMap::new();
        // Files the last prompt showed as they were on disk: edits apply to that text, and it
        // is what must still be on disk when they are written (an edit the user makes while the
        // model answers is not overwritten: the write is refused as changed since the plan).
        let mut shown: Shown = BTreeMap::new();
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
            let (prompt, asked) =
                self.prompt(files, &best, &state, &attempts, &past, &mut shown)?;
            let req = Request {
                model: opts.model.clone(),
                system: Some(match asked {
                    Asked::Edits => system_prompt(),
                    Asked::Whole(_) => whole_file_system_prompt(),
                    Asked::Parts(_) => parts_system_prompt(),
                }),
                messages: vec![Message::user(prompt)],
                tools: vec![],
                max_tokens: opts.max_tokens,
                temperature: Some(0.0),
                stream: true,
            };
            let answer = match (self.ask)(&req) {
                Ok(a) => a,
                // The attempts so far go with the error (a report can still show them); the
                // provider's error stays what callers downcast to.
                Err(e) => {
                    let stopped = Stopped {
                        message: e.to_string(),
                        before: Summary::of(&before),
                        after: Summary::of(&best),
                        attempts,
                        remembered,
                    };
                    return Err(anyhow::Error::from(e).context(stopped));
                }
            };
            for note in &answer.notes {
                (self.progress)(&format!("attempt {n}: {note}"));
            }
            let mut attempt = Attempt {
                n,
                provider: answer.provider.clone(),
                model: answer.model.clone(),
                usage: answer.usage,
                cost_usd: answer.paid_usd(),
                latency_ms: answer.latency_ms,
                stop: answer.stop.clone(),
                edits: vec![],
                outcome: "unusable",
                reason: String::new(),
                after: None,
                diff: String::new(),
                answer: String::new(),
                asked_edits: asked == Asked::Edits,
            };
            let cut = answer.stop.cut_short();
            let candidate = match self.candidate(files, &answer.text, cut, &state, &shown, &asked) {
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
    fn candidate(
        &mut self,
        files: &[String],
        answer: &str,
        cut: bool,
        state: &State,
        shown: &Shown,
        asked: &Asked,
    ) -> Candidate {
        let whole = match asked {
            Asked::Whole(w) => Some(w.as_slice()),
            _ => None,
        };
        let edits = match (edit::parse_answer(answer, cut), asked) {
            (Ok((e, dropped)), _) => {
                if let Some(line) = dropped {
                    (self.progress)(&edit::cut_off(line));
                }
                e
            }
            (Err(edit::ParseError::NoBlocks), Asked::Parts(parts)) => {
                return self.parts_candidate(answer, state, shown, parts);
            }
            (Err(edit::ParseError::NoBlocks), _) => {
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
            (Err(e), _) => return Err((vec![], format!("the answer has no usable edits: {e}"))),
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
            let (disk, current) = self
                .current(&rel, &next, shown)
                .map_err(|e| (outs.clone(), e))?;
            let new =
                edit::apply_to_text(&current, &es).map_err(|e| (outs.clone(), e.to_string()))?;
            let whole = es
                .iter()
                .any(|e| matches!(e.kind, EditKind::WholeFile { .. }));
            if whole && !keeps_most_of(&current, &new) {
                return Err((
                    outs.clone(),
                    format!(
                        "{rel}: the whole-file rewrite drops most of the file's lines (a partial file?); use SEARCH/REPLACE blocks"
                    ),
                ));
            }
            // Deleting the code is no fix, however it is asked for: an emptied `.py` passes
            // every stage. (Whole files and parts keep 70% of their lines; edits may change
            // every line, or delete a pasted log, but not leave next to nothing.)
            if !whole && leaves_next_to_nothing(&current, &new) {
                return Err((
                    outs.clone(),
                    format!(
                        "{rel}: the edits delete nearly all of the file's lines ({} of {} left); fix the code instead of removing it",
                        nonblank(&new).count(),
                        nonblank(&current).count()
                    ),
                ));
            }
            next.insert(rel, (disk, new));
        }
        settle(outs, next, state)
    }

    /// The parts of an answer to [`Asked::Parts`] put in place of the lines they stand for in
    /// the accepted state, or why they cannot be.
    fn parts_candidate(
        &self,
        answer: &str,
        state: &State,
        shown: &Shown,
        parts: &[Part],
    ) -> Candidate {
        let found = fenced_parts(answer, parts);
        if found.is_empty() {
            let example = parts.first().map(Part::heading).unwrap_or_default();
            return Err((
                vec![],
                format!(
                    "the answer has no usable edits: no part headed by its path and lines (`{example}`) and then its lines in a fenced block"
                ),
            ));
        }
        let outs: Vec<EditOut> = found
            .iter()
            .map(|(part, line, _)| EditOut {
                path: part.path.clone(),
                kind: "lines",
                line: *line,
            })
            .collect();
        let mut by_file: BTreeMap<&str, Vec<(&Part, &str)>> = BTreeMap::new();
        for (part, _, content) in &found {
            by_file
                .entry(part.path.as_str())
                .or_default()
                .push((part, content.as_str()));
        }
        let mut next = state.clone();
        for (path, ps) in by_file {
            // A file a diagnostic named may be outside the repository (a system header).
            let (rel, _) = edit::resolve(self.root, path)
                .map_err(|err| (outs.clone(), format!("refused: {err}")))?;
            let (disk, current) = self
                .current(&rel, &next, shown)
                .map_err(|e| (outs.clone(), e))?;
            let mut new = splice(&current, ps).map_err(|e| (outs.clone(), e))?;
            // A part of line 1 comes back without the file's byte-order mark.
            if current.starts_with(edit::BOM) {
                new = edit::with_bom(&new);
            }
            next.insert(rel, (disk, new));
        }
        settle(outs, next, state)
    }

    /// A file's text on disk (`None`: there is none) and as the accepted state has it. For a
    /// file the state does not hold, the text the prompt showed, else the disk's now.
    fn current(
        &self,
        rel: &str,
        state: &State,
        shown: &Shown,
    ) -> Result<(Option<String>, String), String> {
        if let Some((disk, cur)) = state.get(rel) {
            return Ok((disk.clone(), cur.clone()));
        }
        if let Some(text) = shown.get(rel) {
            return Ok((Some(text.clone()), text.clone()));
        }
        // As the edit layer reads it: a FIFO, a device or a directory is refused, not opened (a
        // model's edit naming a FIFO blocked the heal in open(2), past a Ctrl-C).
        match crate::edit::read_text(rel, &self.root.join(rel)) {
            Ok(Some(text)) => Ok((Some(text.clone()), text)),
            Ok(None) => Ok((None, String::new())),
            Err(crate::edit::Error::NotUtf8 { .. }) => {
                Err(format!("{rel} is not UTF-8 text; not edited"))
            }
            Err(crate::edit::Error::NotAFile { .. }) => {
                Err(format!("{rel} is not a regular file; not edited"))
            }
            Err(e) => Err(format!("cannot read {rel}: {e}")),
        }
    }

    fn prompt(
        &mut self,
        files: &[String],
        v: &Validation,
        state: &State,
        attempts: &[Attempt],
        past: &[Fix],
        from_disk: &mut Shown,
    ) -> anyhow::Result<(String, Asked)> {
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
        from_disk.clear();
        for (rel, text) in &texts {
            if !state.contains_key(*rel) {
                from_disk.insert((*rel).clone(), text.clone());
            }
        }
        let error_lines = |rel: &str| -> Vec<u32> {
            errors
                .iter()
                .filter(|d| d.file == rel)
                .map(|d| d.line)
                .collect()
        };
        // After an answer without usable edits (or when configured), whole files, or for long
        // files the parts shown: the model can rewrite only what it has seen.
        let rewrite = !texts.is_empty()
            && match self.config.heal.edit_format {
                EditFormat::SearchReplace => false,
                EditFormat::Whole => true,
                EditFormat::Auto => attempts.iter().any(|a| a.outcome == "unusable"),
            };
        let all_small = texts
            .iter()
            .all(|(_, t)| t.lines().count() <= WHOLE_FILE_LINES);
        let asked = if !rewrite {
            Asked::Edits
        } else if all_small {
            Asked::Whole(texts.iter().map(|(rel, _)| (*rel).clone()).collect())
        } else {
            let parts: Vec<Part> = texts
                .iter()
                .flat_map(|(rel, text)| {
                    windows(&text.lines().collect::<Vec<_>>(), &error_lines(rel))
                        .into_iter()
                        .map(|(start, end)| Part {
                            path: (*rel).clone(),
                            start,
                            end,
                        })
                })
                .collect();
            if parts.is_empty() {
                Asked::Edits
            } else {
                Asked::Parts(parts)
            }
        };
        match &asked {
            Asked::Edits => {
                s.push_str("\nThe code as it is now (excerpts of long files have line numbers added, `N | `; they are not part of the file: never copy them into SEARCH):\n");
                for (rel, text) in &texts {
                    s.push_str(&format!(
                        "\n{rel}\n```\n{}```\n",
                        numbered(text, &error_lines(rel))
                    ));
                }
            }
            Asked::Whole(_) => {
                s.push_str("\nThe code as it is now:\n");
                for (rel, text) in &texts {
                    s.push_str(&format!("\n{rel}\n```\n{}```\n", numbered(text, &[])));
                }
            }
            Asked::Parts(parts) => {
                s.push_str("\nThe code as it is now, in parts (the lines around the errors of a long file, a short file whole), each headed by its path and lines:\n");
                for part in parts {
                    let text = texts
                        .iter()
                        .find(|(rel, _)| **rel == part.path)
                        .map(|(_, t)| t.as_str())
                        .unwrap_or("");
                    // Without CRs: the answer's line endings are the file's again.
                    let lines: String = text
                        .lines()
                        .skip(part.start - 1)
                        .take(part.end + 1 - part.start)
                        .map(|l| format!("{l}\n"))
                        .collect();
                    s.push_str(&format!("\n{}\n```\n{lines}```\n", part.heading()));
                }
            }
        }
        let query: String = errors
            .iter()
            .take(MAX_DIAGNOSTICS)
            .map(|d| format!("{} {}\n", d.file, d.message))
            .collect();
        // Files shown whole are not shown again; the rest of a long file may say what its
        // excerpts call.
        let shown_whole: Vec<String> = texts
            .iter()
            .filter(|(_, t)| t.lines().count() <= WHOLE_FILE_LINES)
            .map(|(rel, _)| (*rel).clone())
            .collect();
        let related = (self.related)(&query, &shown_whole)?;
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
        // When whole files or parts are asked for, a SEARCH/REPLACE answer that could not be
        // used says only how that format went wrong (and small models then echo the code
        // unchanged).
        let failed: Vec<&Attempt> = attempts
            .iter()
            .filter(|a| a.outcome != "accepted")
            .filter(|a| asked == Asked::Edits || !(a.asked_edits && a.diff.is_empty()))
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
        match &asked {
            // No placeholder to copy: small models answer with it verbatim.
            Asked::Whole(_) if texts.len() == 1 => s.push_str(&format!(
                "\nReply with the complete corrected {example}: its path alone on a line, then the whole file in one fenced block, changing only what fixes the errors.\n"
            )),
            Asked::Whole(_) => s.push_str("\nReply with each file you change complete: its path alone on a line, then the whole corrected file in a fenced block, changing only what fixes the errors.\n"),
            Asked::Parts(parts) if parts.len() == 1 => s.push_str(&format!(
                "\nReply with the corrected part complete: the line `{}` alone, then every line of the part in one fenced block, changing only what fixes the errors.\n",
                parts[0].heading()
            )),
            Asked::Parts(parts) => s.push_str(&format!(
                "\nReply with each part you change complete: its heading alone on a line (such as `{}`), then every line of the part in one fenced block, changing only what fixes the errors.\n",
                parts.first().map(Part::heading).unwrap_or_default()
            )),
            Asked::Edits => s.push_str(&format!(
                "\nReply with SEARCH/REPLACE blocks only, changing as little as possible:\n\n{example}\n<<<<<<< SEARCH\n(the wrong line(s), copied exactly)\n=======\n(the corrected line(s))\n>>>>>>> REPLACE\n"
            )),
        }
        Ok((s, asked))
    }
}

/// A file's text with parts put in place of the lines they stand for, or why they cannot be.
/// Each part keeps the line endings of the lines it replaces (CRLF, none at the end).
fn splice(current: &str, mut parts: Vec<(&Part, &str)>) -> Result<String, String> {
    let mut lines: Vec<String> = current.split_inclusive('\n').map(String::from).collect();
    let crlf = current.matches("\r\n").count() * 2 > current.matches('\n').count();
    // From the bottom up, so that the line numbers of the parts above still hold.
    parts.sort_by_key(|(p, _)| std::cmp::Reverse(p.start));
    for (part, content) in parts {
        if part.start == 0 || part.end > lines.len() || part.start > part.end {
            return Err(format!(
                "{}: the file no longer has these lines",
                part.heading()
            ));
        }
        let old: String = lines[part.start - 1..part.end].concat();
        if !part_keeps(&old, content) {
            return Err(format!(
                "{}: the answer drops most of the part's lines (only the changed ones?); reply with every line of the part",
                part.heading()
            ));
        }
        let mut content = reindented(&old, &without_heading(part, &old, content));
        if crlf {
            content = content.replace("\r\n", "\n").replace('\n', "\r\n");
        }
        if !old.ends_with('\n') {
            // The part ends the file without a newline: so does its replacement.
            content.truncate(content.trim_end_matches(['\r', '\n']).len());
        }
        lines.splice(part.start - 1..part.end, [content]);
    }
    Ok(lines.concat())
}

/// A candidate state: the files whose text differs from the disk, unless that is where the
/// accepted state already was.
fn settle(outs: Vec<EditOut>, mut next: State, state: &State) -> Candidate {
    next.retain(|_, (disk, new)| disk.as_deref() != Some(new.as_str()));
    if next == *state {
        return Err((outs, "the edits change nothing".into()));
    }
    Ok((outs, next))
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
    let gap = format!("{:>width$} | ...\n", "");
    let mut out = String::new();
    let mut next = 1;
    for (start, end) in windows(&lines, at) {
        if start > next {
            out.push_str(&gap);
        }
        for (i, l) in lines.iter().enumerate().take(end).skip(start - 1) {
            out.push_str(&format!("{:>width$} | {l}\n", i + 1));
        }
        next = end + 1;
    }
    if next <= lines.len() {
        out.push_str(&gap);
    }
    out
}

/// The lines of a file that the model is shown (1-based, inclusive, in order, apart): all of
/// a short file; in a long one, those within [`AROUND`] of each line of `at`, widened to start a
/// paragraph (a line after a blank one, up to [`AROUND`] lines further up) and made to end one
/// (the last line before a blank one from the error line on, else up to [`AROUND`] lines
/// further), so that a part holds whole definitions where the code has them, as a model
/// rewriting it would write them.
fn windows(lines: &[&str], at: &[u32]) -> Vec<(usize, usize)> {
    let len = lines.len();
    if len == 0 {
        return vec![];
    }
    if len <= WHOLE_FILE_LINES {
        return vec![(1, len)];
    }
    let blank = |n: usize| lines[n - 1].trim().is_empty();
    // A paragraph starts on line n / ends on line n.
    let starts = |n: usize| n == 1 || (!blank(n) && blank(n - 1));
    let ends = |n: usize| n == len || (!blank(n) && blank(n + 1));
    let mut around: Vec<(usize, usize)> = Vec::new();
    for &l in at {
        let l = (l as usize).clamp(1, len + AROUND + 1);
        let (lo, hi) = (l.saturating_sub(AROUND).max(1), (l + AROUND).min(len));
        if lo > len {
            continue;
        }
        let l = l.min(len);
        // Never narrowed at the start: a compiler reports a missing `;` on the line after it.
        let start = (lo.saturating_sub(AROUND).max(1)..=lo)
            .rev()
            .find(|&n| starts(n))
            .unwrap_or(lo);
        let end = (l..=hi)
            .rev()
            .find(|&n| ends(n))
            .or_else(|| (hi + 1..=(hi + AROUND).min(len)).find(|&n| ends(n)))
            .unwrap_or(hi);
        around.push((start, end.max(start)));
    }
    crate::context::pack::merged(around)
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
        let name = heading(lines[i]);
        if known.iter().any(|k| k == name)
            && let Some((len, content)) = fence_after(&lines, i)
        {
            // A file named twice: the last version counts.
            out.retain(|e| e.path != name);
            out.push(Edit {
                path: name.to_string(),
                kind: EditKind::WholeFile { content },
                line: i + 1,
            });
            i += len;
        } else {
            i += 1;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A line that heads a fenced block, without the decoration models add (`**a.py**`, `### a.py:`,
/// `./a.py`, `/a.py`).
fn heading(line: &str) -> &str {
    line.trim()
        .trim_matches(|c| c == '`' || c == '*' || c == '#' || c == ':')
        .trim()
        // `./a.py` and `/a.py` (small models write both) for the repository's a.py.
        .trim_start_matches("./")
        .trim_start_matches('/')
}

/// The fenced block that opens on the line after `lines[at]`: how many lines from `at` to past
/// its closing fence, and its content (with line numbers copied from the prompt stripped, when
/// every line has one).
fn fence_after(lines: &[&str], at: usize) -> Option<(usize, String)> {
    if !lines.get(at + 1)?.trim_start().starts_with("```") {
        return None;
    }
    let start = at + 2;
    let len = lines[start..]
        .iter()
        .position(|l| l.trim_start().starts_with("```"))?;
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
    Some((len + 3, content))
}

/// An answer of fenced blocks only, all the same (small models repeat theirs, some until the
/// answer is cut off in the middle of one): the line of the first opening fence and the
/// content.
fn lone_fence(answer: &str) -> Option<(usize, String)> {
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
    let cut_off = |o: usize| content.starts_with(&lines[o + 1..].join("\n"));
    if open.is_some_and(|o| !cut_off(o)) || blocks.iter().any(|(_, c)| *c != content) {
        return None;
    }
    Some((line + 1, content))
}

/// The answer to a request for the whole of `path` (the only file in question) when it is
/// only a fenced block: the whole-file edit of it.
fn only_fence(answer: &str, path: &str) -> Option<Vec<Edit>> {
    let (line, content) = lone_fence(answer)?;
    Some(vec![Edit {
        path: path.to_string(),
        kind: EditKind::WholeFile { content },
        line,
    }])
}

/// The parts of an answer to a request for `parts`: each fenced block headed by a part's
/// heading (`a.c lines 10-26`, also written `a.c:10-26` or `a.c (lines 10–26)`; its path alone
/// for a file of one part), or a lone fenced block when one part was asked for. Each with the
/// answer line of its heading and its content; a part given twice counts as the last.
fn fenced_parts<'p>(answer: &str, parts: &'p [Part]) -> Vec<(&'p Part, usize, String)> {
    let lines: Vec<&str> = answer.lines().collect();
    let mut out: Vec<(&Part, usize, String)> = Vec::new();
    let mut i = 0;
    while i + 1 < lines.len() {
        let found = part_named(heading(lines[i]), parts).zip(fence_after(&lines, i));
        if let Some((part, (len, content))) = found {
            out.retain(|(p, _, _)| *p != part);
            out.push((part, i + 1, content));
            i += len;
        } else {
            i += 1;
        }
    }
    if out.is_empty()
        && let [part] = parts
        && let Some((line, content)) = lone_fence(answer)
    {
        out.push((part, line, content));
    }
    out
}

/// A part's new lines without its heading (or the path alone) copied in as their first line,
/// unless the old lines start with that very line (a comment naming the file).
fn without_heading(part: &Part, old: &str, new: &str) -> String {
    if let Some((first, rest)) = new.split_once('\n') {
        let name = heading(first);
        let named = name == part.path || part_named(name, std::slice::from_ref(part)).is_some();
        let was = old.lines().next().map(str::trim);
        if named && was != Some(first.trim()) {
            return rest.to_string();
        }
    }
    new.to_string()
}

/// A part's new lines indented as its old lines when the model dropped their common indentation
/// (a method's lines given at the left margin): Python would not parse them there. Dropped: the
/// new lines reach the margin, and more of those found among the old lines come back with the
/// old common indentation less than as they were (so an added `#if` at the margin is not).
fn reindented(old: &str, new: &str) -> String {
    let indent_of = |l: &str| l[..l.len() - l.trim_start().len()].to_string();
    let common = |text: &str| -> Option<String> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(indent_of)
            .min_by_key(String::len)
    };
    let (Some(was), Some(now)) = (common(old), common(new)) else {
        return new.to_string();
    };
    if was.is_empty() || !now.is_empty() {
        return new.to_string();
    }
    let old_indent: HashMap<&str, String> = old
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| (l.trim(), indent_of(l)))
        .collect();
    let (mut dropped, mut kept) = (0, 0);
    for l in new.lines().filter(|l| !l.trim().is_empty()) {
        match old_indent.get(l.trim()) {
            Some(o) if *o == format!("{was}{}", indent_of(l)) => dropped += 1,
            Some(o) if *o == indent_of(l) => kept += 1,
            _ => {}
        }
    }
    if dropped <= kept {
        return new.to_string();
    }
    new.split_inclusive('\n')
        .map(|l| {
            if l.trim().is_empty() {
                l.to_string()
            } else {
                format!("{was}{l}")
            }
        })
        .collect()
}

/// The part a heading names: its path and then its first and last line and no other number or
/// word but "lines", "line" or "to"; or its path alone when the file has one part.
fn part_named<'p>(heading: &str, parts: &'p [Part]) -> Option<&'p Part> {
    parts.iter().find(|p| {
        let Some(rest) = heading.strip_prefix(p.path.as_str()) else {
            return false;
        };
        if rest.trim().is_empty() {
            return parts.iter().filter(|q| q.path == p.path).count() == 1;
        }
        let words: Vec<&str> = rest
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let numbers: Vec<usize> = words.iter().filter_map(|w| w.parse().ok()).collect();
        (numbers == [p.start, p.end] || p.start == p.end && numbers == [p.start])
            && words.iter().all(|w| {
                w.parse::<usize>().is_ok() || matches!(*w, "lines" | "line" | "Lines" | "to")
            })
            // The path ends there (`a.c` is not the start of `a.cc`).
            && !rest.starts_with(|c: char| c.is_alphanumeric() || c == '.' || c == '_')
    })
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
    let old: Vec<&str> = nonblank(old).collect();
    let new: std::collections::HashSet<&str> = nonblank(new).collect();
    let kept = old.iter().filter(|l| new.contains(*l)).count();
    old.len() < 4 || kept * 10 >= old.len() * 7
}

/// The new text has fewer than a tenth as many non-blank lines as the old one (of 4 or more):
/// however the lines changed, the file was all but emptied.
fn leaves_next_to_nothing(old: &str, new: &str) -> bool {
    let old = nonblank(old).count();
    old >= 4 && nonblank(new).count() * 10 < old
}

/// A part's answer keeps most of its lines, as a whole file's does, and has about as many: an
/// answer of the fixed line alone is not taken for a short part either.
fn part_keeps(old: &str, new: &str) -> bool {
    keeps_most_of(old, new) && nonblank(new).count() * 10 >= nonblank(old).count() * 7
}

/// A text's non-blank lines, trimmed.
fn nonblank(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// Changes of a state against the disk.
fn changes_of(root: &Path, state: &State) -> Vec<FileChange> {
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
/// tokens, without the files of `exclude` ("" for none, or for a query the loader cannot use).
pub fn related(
    root: &Path,
    store: &crate::store::Store,
    budget: usize,
    encoding: crate::context::tokens::Encoding,
    query: &str,
    exclude: &[String],
) -> anyhow::Result<String> {
    use crate::context;
    if budget == 0 || query.trim().is_empty() {
        return Ok(String::new());
    }
    let req = context::Request {
        task: query,
        budget,
        encoding,
        exclude,
        // The query is a validator's errors, not a task worded like a commit.
        history: 0,
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

/// The instructions for the model when it is asked for parts of files.
pub fn parts_system_prompt() -> String {
    "You are vibe's code fixer. Validators (a parser, the compiler or type checker, linters, \
     tests) report errors in the user's code; you fix them with the smallest change that makes \
     them pass, keeping the code's style and everything else as it is. You are shown parts of \
     files, each headed by its path and lines. Do not explain: reply with each part you correct \
     whole, its heading alone on a line and then every line of the part in a fenced block."
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
        // Cut off while repeating the block: the block; after another text: none.
        assert_eq!(
            whole("```\nx = 1\ny = 2\n```\n```\nx = 1\ny").as_deref(),
            Some("x = 1\ny = 2\n")
        );
        assert_eq!(whole("```\nx = 1\n```\n```\nx = 3"), None);
        assert_eq!(whole("close the parenthesis"), None);
    }

    /// Edits may change every line or delete a pasted log, but not leave next to nothing.
    #[test]
    fn edits_must_not_empty_a_file() {
        let imports = "from .models import A\nfrom .models import B\nfrom .models import C\nfrom .models import D\n";
        assert!(!leaves_next_to_nothing(
            imports,
            &imports.replace("models", "model")
        ));
        let code = "def f():\n    return 1\n";
        let pasted = format!("{code}{}", "12:00:01 INFO request served\n".repeat(15));
        assert!(!leaves_next_to_nothing(&pasted, code));
        assert!(leaves_next_to_nothing(imports, ""));
        assert!(leaves_next_to_nothing(&pasted, "pass\n"));
        assert!(!leaves_next_to_nothing("a\nb\nc\n", ""));
    }

    #[test]
    fn a_rewrite_must_keep_most_lines() {
        let old = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n";
        assert!(keeps_most_of(old, "a = 1\nb = 2\nc = 3\nd = 4\ne = 6\n"));
        assert!(!keeps_most_of(old, "a = 1\n"));
        // A part: short ones too, with one line changed.
        let three = "x = 1\ny = 2\nz = 3\n";
        assert!(part_keeps(three, "x = 1\ny = 0\nz = 3\n"));
        assert!(part_keeps(three, "x = 1;\ny = 2;\nz = 3\n"));
        assert!(!part_keeps(three, "y = 0\n"));
        assert!(part_keeps("y = 2\n", "y = 0\n"));
    }

    #[test]
    fn parts_are_the_paragraphs_around_errors_merged() {
        let text: String = (1..=400).map(|i| format!("line {i}\n")).collect();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(windows(&[], &[1]), vec![]);
        assert_eq!(windows(&lines[..40], &[]), vec![(1, 40)]);
        assert_eq!(windows(&lines, &[]), vec![]);
        assert_eq!(windows(&lines, &[200]), vec![(192, 208)]);
        // Overlapping and touching windows are one part; a line past the end is none.
        assert_eq!(
            windows(&lines, &[300, 100, 110, 3, 127, 500]),
            vec![(1, 11), (92, 135), (292, 308)]
        );
        assert_eq!(windows(&lines, &[0, 398]), vec![(1, 9), (390, 400)]);
        // Blank lines: from the first paragraph start to the last paragraph end in reach,
        // looked for further out when there is none.
        let with_blanks = |at: &[usize]| {
            let mut p = lines.clone();
            for &n in at {
                p[n - 1] = "";
            }
            windows(&p, &[200])
        };
        assert_eq!(with_blanks(&[186, 195, 203, 212]), vec![(187, 202)]);
        assert_eq!(with_blanks(&[186, 212]), vec![(187, 211)]);
        assert_eq!(with_blanks(&[180, 220]), vec![(192, 208)]);
        // The lines above an error on the first line of a paragraph stay (the missing `;` the
        // compiler reports on the line after a blank one).
        assert_eq!(with_blanks(&[199]), vec![(192, 208)]);
    }

    #[test]
    fn parts_are_spliced_with_the_lines_endings() {
        let part = |start, end| Part {
            path: "a.c".into(),
            start,
            end,
        };
        let (one, two) = (part(2, 3), part(5, 5));
        let text = "a\r\nb\r\nc\r\nd\r\ne";
        assert_eq!(
            splice(text, vec![(&one, "B\nc\n"), (&two, "E\n")]).as_deref(),
            Ok("a\r\nB\r\nc\r\nd\r\nE")
        );
        // The file's line ending, even where the part's last line has none.
        assert_eq!(
            splice(text, vec![(&two, "E\nF\n")]).as_deref(),
            Ok("a\r\nb\r\nc\r\nd\r\nE\r\nF")
        );
        let lf = "a\nb\nc\n";
        assert_eq!(
            splice(lf, vec![(&one, "b\nC\n")]).as_deref(),
            Ok("a\nb\nC\n")
        );
        assert!(splice(lf, vec![(&part(3, 4), "c\n")]).is_err());
        assert!(splice(lf, vec![(&part(1, 3), "b\n")]).is_err());
    }

    #[test]
    fn a_part_keeps_its_indentation() {
        let old = "    def f(self):\n        return 1\n\n    def g(self):\n        pass\n";
        let flat = "def f(self):\n    return 2\n\ndef g(self):\n    pass\n";
        assert_eq!(
            reindented(old, flat),
            "    def f(self):\n        return 2\n\n    def g(self):\n        pass\n"
        );
        // Indented some other way, not indented before, or a line of its own at the margin:
        // as given.
        let other = "  def f(self):\n      return 2\n";
        assert_eq!(reindented(old, other), other);
        let added = "#if X\n    def f(self):\n        return 2\n";
        assert_eq!(reindented(old, added), added);
        // A part starting deeper than its least indented line, dedented as a block.
        let deep = "        x = 1\n        return x\n\n    def g(self):\n        pass\n";
        assert_eq!(
            reindented(deep, "    x = 1\n    return x\n\ndef g(self):\n    pass\n"),
            deep
        );
        assert_eq!(reindented(flat, flat), flat);
        assert_eq!(reindented(old, ""), "");
    }

    #[test]
    fn parts_are_read_by_their_headings() {
        let part = |path: &str, start, end| Part {
            path: path.into(),
            start,
            end,
        };
        let parts = [part("a.c", 10, 26), part("a.c", 80, 96), part("b.c", 1, 40)];
        let got = |answer: &str| -> Vec<(String, usize, String)> {
            fenced_parts(answer, &parts)
                .into_iter()
                .map(|(p, line, c)| (p.heading(), line, c))
                .collect()
        };
        let answer = "Fixed:\n\n**a.c lines 80-96**\n```c\n80 | int x;\n81 | int y;\n```\n\n`a.c:10–26`\n```\nint z;\n```\nb.c\n```\nint w;\n```\n";
        assert_eq!(
            got(answer),
            vec![
                ("a.c lines 80-96".into(), 3, "int x;\nint y;\n".into()),
                ("a.c lines 10-26".into(), 9, "int z;\n".into()),
                ("b.c lines 1-40".into(), 13, "int w;\n".into()),
            ]
        );
        // Other lines, another file's name, a path alone for a file of two parts, a lone
        // fence when several parts were asked for: none.
        for wrong in [
            "a.c lines 10-27\n```\nx\n```\n",
            "a.c lines 10-26 and 30\n```\nx\n```\n",
            "a.cc lines 10-26\n```\nx\n```\n",
            "a.c\n```\nx\n```\n",
            "```\nx\n```\n",
            "a.c lines 10-26\nx\n",
        ] {
            assert_eq!(got(wrong), vec![], "{wrong}");
        }
        // The same part twice: the last; one part asked for: a lone fence is that part.
        let twice = "a.c lines 10-26\n```\none\n```\na.c lines 10-26\n```\ntwo\n```\n";
        assert_eq!(
            got(twice),
            vec![("a.c lines 10-26".into(), 5, "two\n".into())]
        );
        let one = [part("a.c", 10, 26)];
        let lone = fenced_parts("```c\nint z;\n```\n", &one);
        assert_eq!(lone.len(), 1);
        assert_eq!((lone[0].1, lone[0].2.as_str()), (1, "int z;\n"));
        // A part of one line may be called `line N`.
        let line = [part("a.c", 7, 7)];
        assert_eq!(fenced_parts("a.c line 7\n```\nx\n```\n", &line).len(), 1);
        // The heading or the path copied into the fence is dropped, unless the part starts
        // with that line (a comment that names the file).
        for (was, new, kept) in [
            ("int z;\n", "a.c lines 10-26\nint z;\n", "int z;\n"),
            ("int z;\n", "**a.c**\nint z;\n", "int z;\n"),
            ("# a.c\nint z;\n", "# a.c\nint z;\n", "# a.c\nint z;\n"),
            ("int z;\n", "int y;\n", "int y;\n"),
        ] {
            assert_eq!(without_heading(&one[0], was, new), kept, "{new}");
        }
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
