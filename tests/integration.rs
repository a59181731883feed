//! Integration tests: the real `vibe` binary, run in temp dirs. One module per area.

mod ask_cli;
mod bad_input;
mod chat_cli;
mod chat_pty;
mod context_cli;
mod cost_cli;
mod edit_cli;
mod heal_check;
mod heal_fix;
mod incremental;
mod lang_c;
mod lang_go;
mod lang_java;
mod lang_javascript;
mod lang_python;
mod lang_rust;
mod lang_typescript;
mod llm_client;
mod map_cli;
mod plugins_cli;
mod setup_cli;
mod tui;
mod util;
mod watch_cli;
