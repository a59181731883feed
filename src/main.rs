use std::process::ExitCode;

fn main() -> ExitCode {
    vibe::cli::main()
}
