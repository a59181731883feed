//! vibe: a local-first terminal coding agent.
//!
//! The library holds every capability; `src/main.rs` only calls [`cli::main`], so that
//! tests and benches reach everything. See `../shared/ARCHITECTURE.md` for the parts.

pub mod cli;
pub mod config;
pub mod context;
pub mod repomap;
pub mod store;
