//! Integration tests: the real `vibe` binary, run in temp dirs. One module per area.

mod bad_input;
mod incremental;
mod lang_python;
mod map_cli;
mod util;
