//! `vibe completions SHELL` and `vibe man`: shell completions and the man page, generated from
//! the clap definitions so they never drift from the real flags.

use std::process::ExitCode;

use clap::{Args, CommandFactory};

use super::Cli;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Completions on stdout, e.g. `vibe completions bash > ~/.local/share/bash-completion/completions/vibe`.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "vibe", &mut out);
    super::print(&String::from_utf8_lossy(&out))?;
    Ok(ExitCode::SUCCESS)
}

/// The man page (roff) on stdout, e.g. `vibe man > ~/.local/share/man/man1/vibe.1`.
pub fn man() -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    subcommand_sections(&cmd, "vibe", &mut out)?;
    super::print(&String::from_utf8_lossy(&out))?;
    Ok(ExitCode::SUCCESS)
}

/// One section per subcommand of `cmd`, at every level (`VIBE-PLUGIN-RUN` after
/// `VIBE-PLUGIN`), so that `man vibe` documents every flag.
fn subcommand_sections(cmd: &clap::Command, prefix: &str, out: &mut Vec<u8>) -> anyhow::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{prefix}-{}", sub.get_name());
        let page = clap_mangen::Man::new(sub.clone());
        out.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        page.render_description_section(out)?;
        page.render_options_section(out)?;
        subcommand_sections(sub, &name, out)?;
    }
    Ok(())
}
