//! The context loader's shared pieces. For now: exact token counting (tiktoken-rs), which the map
//! renderer uses to fit its budget.

pub mod tokens;
