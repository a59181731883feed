//! One conversation: history, turns, edit proposals, heal, events out. The TUI (`src/tui/`) and
//! the script modes of `vibe chat` consume the same [`Event`]s. See docs/chat.md.

pub mod events;

pub use events::{ContextFile, Event, Level, Op};
