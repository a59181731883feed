//! Integration tests: the real `vibe` binary, run in temp dirs. One module per area.

mod util;
