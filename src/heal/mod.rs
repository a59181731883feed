//! `vibe heal`: validators per language (syntax, compile / type check, lint, test, custom),
//! their output parsed into [`Diagnostic`]s, and an [`Overlay`] to validate candidate edits
//! without touching the user's files. See docs/heal.md.
//!
//! Invariant: validation never writes to the files it validates; every validator is either
//! tree-sitter (in process) or an external command with a timeout.

pub mod compdb;
pub mod cpp;
pub mod diagnostics;
pub mod fix;
pub mod memory;
pub mod overlay;
pub mod syntax;
pub mod tools;
pub mod validate;

pub use diagnostics::{Diagnostic, Severity, Stage};
pub use overlay::Overlay;
pub use validate::{
    Before, Interrupted, StageResult, Status, Validation, ValidatorRun, validate, validate_with,
};
