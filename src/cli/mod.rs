//! The command line: clap definitions, logging, exit codes, and one module per subcommand.
//!
//! Exit codes: 0 success; 1 failure; 2 bad usage or a bad path (clap's usage errors are 2 too);
//! 3 a request refused by a budget.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};

use crate::config::{Config, Sources};

pub mod ask;
pub mod chat;
pub mod completions;
pub mod context;
pub mod cost;
pub mod doctor;
pub mod heal;
pub mod heal_fix;
pub mod init;
pub mod map;
pub mod plugin;
pub mod tokens;
pub mod undo;
pub mod watch;

/// A local-first terminal coding agent: an exact repo map, token-budgeted context, and edits
/// that land only when validated.
#[derive(Debug, Parser)]
#[command(name = "vibe", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Run as if started in DIR (the repository root).
    #[arg(short = 'C', long = "directory", value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// More logging on stderr (-v info with timings, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Override a config value for this run, e.g. -c map.tokens=4096 (repeatable).
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE", global = true)]
    pub config: Vec<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index the repository and print its ranked map (symbols, signatures, dependencies).
    Map(map::MapArgs),
    /// Print the most relevant files for a task, packed into an exact token budget.
    Context(context::ContextArgs),
    /// Count the tokens of files (or stdin) exactly.
    Tokens(tokens::TokensArgs),
    /// Ask the model one question about the repository, with context packed for it.
    Ask(ask::AskArgs),
    /// A conversation about the repository: context, streamed answers, edits proposed as diffs,
    /// validated and healed; `-m` runs one turn for scripts, `--resume` continues a session.
    Chat(chat::ChatArgs),
    /// Show where the money went: spend by model, provider, operation, project and day, and
    /// budgets.
    Cost(cost::CostArgs),
    /// Put back the files of the last edit run (or --run ID); --list shows the runs.
    Undo(undo::UndoArgs),
    /// Write a commented .vibe/config.toml from what this repository has (languages,
    /// validators, test command, a provider that answers).
    Init(init::InitArgs),
    /// Check the configuration, the providers, the validators, the index and the ledger.
    Doctor(doctor::DoctorArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff).
    Man,
    /// Keep the index fresh as files change (one line per update).
    Watch(watch::WatchArgs),
    /// Validate files stage by stage (syntax, compile, lint, test); `--check` validates only,
    /// without a model, and exits 1 if anything fails.
    Heal(heal::HealArgs),
    /// List, inspect and run plugins (folders with a plugin.toml; see docs/plugins.md).
    Plugin(plugin::PluginArgs),
}

/// An error with the exit code it should produce.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
}

/// Parses the process arguments, runs, prints errors, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(e) => report(&e),
    }
}

/// Prints an error the way every command does and picks its exit code.
pub fn report(e: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(e) {
        return ExitCode::SUCCESS;
    }
    let _ = writeln!(
        std::io::stderr(),
        "error: {}",
        shown_lines(&crate::error_chain(e.as_ref()))
    );
    if is_over_budget(e) {
        ExitCode::from(3)
    } else if e.downcast_ref::<UsageError>().is_some()
        || matches!(
            e.downcast_ref::<crate::repomap::Error>(),
            Some(
                crate::repomap::Error::NotADirectory(_)
                    | crate::repomap::Error::NotFound(_)
                    | crate::repomap::Error::Unreachable(..)
            )
        )
        // A bad model spec or provider setting is the user's to fix, like a bad flag.
        || matches!(
            e.downcast_ref::<crate::llm::Error>(),
            Some(crate::llm::Error::Config(_))
        )
        // So is a bad setting in a config file, the environment or a -c flag.
        || matches!(
            e.downcast_ref::<crate::config::Error>(),
            Some(
                crate::config::Error::File { .. }
                    | crate::config::Error::Read { .. }
                    | crate::config::Error::NoHome
                    | crate::config::Error::NotUtf8 { .. }
                    | crate::config::Error::Env { .. }
                    | crate::config::Error::Flag { .. }
                    | crate::config::Error::FlagValue { .. }
            )
        )
        // And a bad pricing.toml, the user's prices.
        || e.chain().any(|c| {
            matches!(
                c.downcast_ref::<crate::cost::Error>(),
                Some(crate::cost::Error::Pricing { .. })
            )
        })
    {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

/// A request refused by a budget, however deeply it is wrapped (exit code 3): along the error
/// chain, and inside the provider layer's `Refused` (which holds the meter's error).
fn is_over_budget(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<crate::cost::OverBudget>()
            || matches!(
                c.downcast_ref::<crate::cost::Error>(),
                Some(crate::cost::Error::OverBudget(_))
            )
            || matches!(
                c.downcast_ref::<crate::llm::Error>(),
                Some(crate::llm::Error::Refused(inner)) if is_over_budget(inner)
            )
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let (dir, overrides) = (cli.directory.as_deref(), &cli.config);
    crate::config::check_flags(overrides)?;
    // The repository and its configuration, for commands that work on one.
    let repo = || -> anyhow::Result<(PathBuf, Config)> {
        let root = resolve_root(dir)?;
        let config = load_config(Some(root.clone()), overrides)?;
        Ok((root, config))
    };
    // For commands that need no repository: paths are relative to -C or the current directory,
    // and a repository's config applies only if there is one.
    let anywhere = || -> anyhow::Result<(PathBuf, Option<PathBuf>, Config)> {
        let cwd = match dir {
            // A -C that is no directory is an error here too, not a quiet fallback.
            Some(d) => crate::repomap::check_root(d).map_err(|e| UsageError {
                message: format!(
                    "-C {}: {}\nhint: give -C a directory that exists",
                    d.display(),
                    match e {
                        crate::repomap::Error::NotADirectory(_) => "not a directory".to_string(),
                        crate::repomap::Error::Unreachable(_, why) => why,
                        _ => "no such directory".to_string(),
                    }
                ),
            })?,
            None => current_dir()?,
        };
        let root = resolve_root(dir).ok();
        let config = load_config(root.clone(), overrides)?;
        Ok((cwd, root, config))
    };
    match &cli.command {
        Command::Map(args) => {
            let (root, config) = repo()?;
            rebuilding_once(&root, || map::run(args, &root, &config))
        }
        Command::Context(args) => {
            let (root, config) = repo()?;
            let task = context::read_task(args)?;
            rebuilding_once(&root, || context::run(args, &task, &root, &config))
        }
        Command::Tokens(args) => {
            let (cwd, root, config) = anywhere()?;
            tokens::run(args, &cwd, root.as_deref(), &config)
        }
        Command::Cost(args) => {
            let (cwd, root, config) = anywhere()?;
            cost::run(args, &cwd, root.as_deref(), &config)
        }
        Command::Ask(args) => {
            let (root, config) = repo()?;
            ask::run(args, &root, &config)
        }
        Command::Chat(args) => {
            let (root, config) = repo()?;
            chat::run(args, &root, &config)
        }
        // No config: undo must work even when a bad config file stops everything else.
        Command::Undo(args) => undo::run(args, &resolve_root(dir)?),
        Command::Init(args) => init::run(args, &resolve_root(dir)?),
        // Doctor loads the config itself: a bad config is one of the things it reports.
        Command::Doctor(args) => doctor::run(args, &resolve_root(dir)?, overrides),
        Command::Completions(args) => completions::completions(args),
        Command::Man => completions::man(),
        Command::Watch(args) => {
            let (root, config) = repo()?;
            let reload = || load_config(Some(root.clone()), overrides);
            watch::run(args, &root, &config, &reload)
        }
        Command::Heal(args) => {
            // FILE arguments are relative to -C DIR, else to the current directory.
            let cwd = match dir {
                Some(d) => d.to_path_buf(),
                None => current_dir()?,
            };
            let (root, config) = repo()?;
            heal::run(args, &cwd, &root, &config)
        }
        Command::Plugin(args) => {
            let (root, config) = repo()?;
            plugin::run(args, &root, &config)
        }
    }
}

/// Loads the configuration and prints its warnings.
/// Text from outside vibe (a cloned repository's `plugin.toml`, a file name, a tool's output)
/// as printed for a terminal: control characters (escape sequences, carriage returns, newlines)
/// and bidirectional overrides as Rust escapes (`\u{1b}`, `\u{202e}`), so that it cannot move
/// the cursor, recolour or retitle the terminal, or reorder a line.
pub(crate) fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if crate::repomap::render::unsafe_to_show(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// [`shown`] for a message of several lines (a warning, a problem with its hint): its
/// newlines stay.
pub(crate) fn shown_lines(text: &str) -> String {
    text.split('\n').map(shown).collect::<Vec<_>>().join("\n")
}

/// A warning on stderr, control characters escaped ([`shown_lines`]): warnings carry file
/// names and plugins' words.
pub(crate) fn warning(w: impl std::fmt::Display) {
    crate::to_stderr!("warning: {}", shown_lines(&w.to_string()));
}

fn load_config(root: Option<PathBuf>, overrides: &[String]) -> anyhow::Result<Config> {
    let config = Config::load(&Sources::from_env(root, overrides.to_vec())?)?;
    for w in &config.warnings {
        warning(w);
    }
    Ok(config)
}

/// The repository root: `-C DIR` as given, else the nearest ancestor of the current directory
/// holding `.git` or a `.vibe/` that marks a root ([`crate::store::is_a_chosen_root`]: not
/// one vibe made for an index run), else the nearest holding a `.vibe/` vibe made (a tree
/// without git, indexed from its top before; not the home or temp directory, nor `/`), else
/// the current directory. A repository found by its `.git` alone gives way to a project of
/// its own that it leaves out ([`crate::repomap::walk::own_project`]): one unpacked in a home
/// directory kept in git
/// (whose `.gitignore` says `*`), or in an ignored vendor directory, whose files the
/// repository's walk would not read. A repository at the user's home directory is not the
/// root of a directory below it that holds none of its files (a home kept in git for its
/// dotfiles, its other files untracked but not ignored): the project around the current
/// directory is ([`crate::repomap::walk::project_around`]).
fn resolve_root(dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    use crate::repomap::walk;
    if let Some(d) = dir {
        return Ok(crate::repomap::check_root(d)?);
    }
    let cwd = current_dir()?;
    let chosen = crate::store::is_a_chosen_root;
    let home = directories::BaseDirs::new().and_then(|b| std::fs::canonicalize(b.home_dir()).ok());
    // Where an index vibe made marks no root for the directories below: the home directory,
    // the temp directory, `/` (one run there must not make every tree below one project).
    let shared = |a: &Path| {
        home.as_deref() == Some(a)
            || a.parent().is_none()
            || a == Path::new("/tmp")
            || std::fs::canonicalize(std::env::temp_dir()).is_ok_and(|t| t == a)
    };
    let found = match cwd
        .ancestors()
        .find(|a| a.join(".git").exists() || chosen(a))
    {
        Some(found) if found != cwd && !chosen(found) => {
            // The home's repository is still the root of the files it tracks (a container's
            // HOME=/app with the repository cloned there).
            if home.as_deref() == Some(found) && !walk::tracks_files(&cwd) {
                walk::project_around(found, &cwd).unwrap_or_else(|| cwd.clone())
            } else {
                walk::own_project(found, &cwd).unwrap_or_else(|| found.to_path_buf())
            }
        }
        Some(found) => found.to_path_buf(),
        None => cwd
            .ancestors()
            .find(|a| a.join(".vibe").is_dir() && (*a == cwd || !shared(a)))
            .map_or_else(|| cwd.clone(), Path::to_path_buf),
    };
    Ok(crate::repomap::check_root(&found)?)
}

/// The current directory, or an error that says what to do (one deleted under the shell).
fn current_dir() -> anyhow::Result<PathBuf> {
    std::env::current_dir().map_err(|e| {
        anyhow::anyhow!(
            "cannot read the current directory: {e}\nhint: it may have been deleted; cd to an \
             existing directory, or pass -C DIR"
        )
    })
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    // notify logs its own bookkeeping as warnings (a watch it already dropped with its deleted
    // directory, once per directory of an `rm -rf`).
    let default = match verbose {
        0 => "warn,notify=error",
        1 => "vibe=info,warn,notify=error",
        2 => "vibe=debug,info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .try_init();
}

/// Brings the repository's index up to date (a progress bar on a terminal), prints its warnings,
/// and logs what the run did with `-v`.
pub fn index(
    root: &Path,
    config: &Config,
) -> anyhow::Result<(crate::store::Store, crate::repomap::IndexReport)> {
    use anyhow::Context as _;
    use std::io::IsTerminal;
    let opts = crate::repomap::Options {
        progress: std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
        memory: true,
    };
    let (store, report) = crate::repomap::index(root, config, &opts)
        .with_context(|| format!("indexing {}", root.display()))?;
    for w in &report.warnings {
        warning(w);
    }
    tracing::info!(
        "index: {} files seen, {} unchanged, {} re-hashed, {} parsed, {} added, {} changed, {} deleted in {:.1} ms (walk {:.1}, parse {:.1}, write {:.1}, resolve {:.1}, rank {:.1})",
        report.files_seen,
        report.unchanged,
        report.rehashed,
        report.parsed,
        report.added,
        report.changed,
        report.deleted,
        report.timings_ms.total,
        report.timings_ms.walk,
        report.timings_ms.parse,
        report.timings_ms.write,
        report.timings_ms.resolve,
        report.timings_ms.rank,
    );
    Ok((store, report))
}

/// Runs a command that reads the tree and writes nothing but the index (map, context); when it
/// fails because the index is damaged where only a query finds it (a page of a table that the
/// opening does not read, a table without a column its schema version has), the index is set
/// aside and rebuilt, as an index found unusable when opened is, and the command runs once
/// more. Its output is written at the end, so a failed first run has printed nothing.
fn rebuilding_once(
    root: &Path,
    run: impl Fn() -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    let failed = match run() {
        Err(e) => e,
        done => return done,
    };
    let Some(damage) = failed
        .chain()
        .find_map(|c| c.downcast_ref::<crate::store::Error>())
        .filter(|e| e.needs_rebuild())
    else {
        return Err(failed);
    };
    crate::store::Store::rebuild_damaged(root, &mut |w| warning(&w), damage)
        .with_context(|| format!("rebuilding the index of {}", root.display()))?;
    run()
}

/// The text a command works on: its words joined, or stdin when the words are `-`, or when
/// there are none and stdin is not a terminal (UTF-8, invalid bytes replaced, or UTF-16 with a
/// byte-order mark). `what` names it in errors ("task", "question", "message"); `example` is a
/// command line to show.
pub fn words_or_stdin(words: &[String], what: &str, example: &str) -> anyhow::Result<String> {
    use anyhow::Context as _;
    use std::io::IsTerminal;
    if !words.is_empty() && words != ["-"] {
        return Ok(words.join(" "));
    }
    if words.is_empty() && std::io::stdin().is_terminal() {
        return Err(UsageError {
            message: format!("no {what} given\nhint: {example}, or the {what} on stdin"),
        }
        .into());
    }
    let b = read_stdin().with_context(|| format!("reading the {what} from stdin"))?;
    Ok(crate::context::tokens::decode_text(&b).into_owned())
}

/// All of stdin; a directory given as stdin is bad usage. (A closed stdin reads as empty: the
/// Rust runtime opens /dev/null in its place.)
pub fn read_stdin() -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut b = Vec::new();
    match std::io::stdin().read_to_end(&mut b) {
        Ok(_) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Err(UsageError {
            message: "stdin (-) is a directory\nhint: pipe or redirect the text into vibe".into(),
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// A usage error when the text is blank.
pub fn not_blank(text: String, what: &str, example: &str) -> anyhow::Result<String> {
    if text.trim().is_empty() {
        return Err(UsageError {
            message: format!("the {what} is empty\nhint: {example}"),
        }
        .into());
    }
    Ok(text)
}

/// A current-thread async runtime for one command's model calls, and the [`Cancel`] that
/// Ctrl-C triggers (see [`on_ctrl_c`]).
///
/// [`Cancel`]: crate::llm::client::Cancel
pub fn runtime_with_ctrl_c() -> anyhow::Result<(tokio::runtime::Runtime, crate::llm::client::Cancel)>
{
    use anyhow::Context as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    Ok((runtime, on_ctrl_c()))
}

/// Watches for Ctrl-C on a thread of its own, so that it is seen whatever the command is
/// doing: the first cancels (the returned [`Cancel`]: a model request is dropped and recorded
/// as cancelled) and stops the running validators and plugins, whose process groups the
/// terminal's signal does not reach ([`heal::tools::interrupt`]); a second exits at once
/// (130). SIGTERM and SIGHUP exit at once (143, 129). Each exit kills the running validators'
/// and plugins' groups first: without a watcher, the signal would end vibe and leave them
/// running.
///
/// [`Cancel`]: crate::llm::client::Cancel
/// [`heal::tools::interrupt`]: crate::heal::tools::interrupt
pub fn on_ctrl_c() -> crate::llm::client::Cancel {
    let cancel = crate::llm::client::Cancel::default();
    let on_signal = cancel.clone();
    on_signals(move || {
        if AT_PROMPT.load(std::sync::atomic::Ordering::SeqCst) {
            // Waiting for a yes or no: nothing runs and nothing is being written; a cancel
            // would only be seen once the user answered (and `y` then wrote).
            crate::to_stderr!("\ncancelled; nothing was written");
            abandon_and_exit(130);
        }
        on_signal.cancel();
        crate::heal::tools::interrupt();
    });
    cancel
}

/// How long a signal's exit waits for the model requests in flight to be recorded.
pub const ABANDON_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Ends vibe for a signal: lets a run being written finish, kills the running validators' and
/// plugins' groups, records the
/// model requests in flight as cancelled (for at most 2 s: a ledger another process holds must
/// not keep vibe from ending), then exits with `code`.
pub fn abandon_and_exit(code: i32) -> ! {
    // A run being written is finished first (its files all written, or rolled back), at most
    // for a minute; held to the exit, so that no other starts.
    let _writes = crate::edit::hold_writes(std::time::Duration::from_secs(60));
    // Held to the exit: no validator or plugin starts meanwhile.
    let _held = crate::heal::tools::kill_running();
    crate::llm::client::record_abandoned_within(ABANDON_WAIT);
    std::process::exit(code)
}

/// A question on the terminal is waiting for its answer (see [`confirm`]).
static AT_PROMPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks `question` on stderr and reads the answer from stdin: true for y or yes. Ctrl-C while it
/// waits (with [`on_ctrl_c`] watching) exits 130 at once, saying nothing was written.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    // Set before the question shows: a Ctrl-C as it appears is a cancel too.
    AT_PROMPT.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut err = std::io::stderr();
    let asked = write!(err, "{question} [y/N] ").and_then(|()| err.flush());
    if let Err(e) = asked {
        AT_PROMPT.store(false, std::sync::atomic::Ordering::SeqCst);
        return Err(e.into());
    }
    let mut line = String::new();
    let read = std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut line);
    AT_PROMPT.store(false, std::sync::atomic::Ordering::SeqCst);
    read?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Watches SIGINT, SIGTERM and SIGHUP from a thread of its own, registered before this
/// returns: the first Ctrl-C calls `first_interrupt`, a second exits (130); SIGTERM and SIGHUP
/// exit at once (143, 129). Each exit is [`abandon_and_exit`]: it kills the running validators'
/// and plugins' process groups, which the signal's default action would leave running, and
/// records the model requests still in flight as cancelled (they were sent, and may be
/// billed).
pub fn on_signals(first_interrupt: impl FnOnce() + Send + 'static) {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let watcher = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                let _ = ready_tx.send(());
                return;
            };
            rt.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                // Registered before the command goes on, so that no signal is missed.
                let sigint = signal(SignalKind::interrupt());
                let sigterm = signal(SignalKind::terminate());
                let sighup = signal(SignalKind::hangup());
                let _ = ready_tx.send(());
                let (Ok(mut sigint), Ok(mut sigterm), Ok(mut sighup)) = (sigint, sigterm, sighup)
                else {
                    return;
                };
                let mut first = Some(first_interrupt);
                loop {
                    tokio::select! {
                        got = sigint.recv() => {
                            if got.is_none() {
                                return;
                            }
                            match first.take() {
                                Some(f) => f(),
                                None => {
                                    crate::to_stderr!("interrupted");
                                    abandon_and_exit(130);
                                }
                            }
                        }
                        Some(()) = sigterm.recv() => {
                            crate::to_stderr!("terminated");
                            abandon_and_exit(128 + 15);
                        }
                        Some(()) = sighup.recv() => {
                            crate::to_stderr!("hung up");
                            abandon_and_exit(128 + 1);
                        }
                    }
                }
            });
        });
    if watcher.is_ok() {
        let _ = ready_rx.recv_timeout(std::time::Duration::from_secs(1));
    }
}

/// Runs `f` with Ctrl-C watched ([`on_ctrl_c`]): `None`, after saying "cancelled", when
/// Ctrl-C stopped the validators or plugins it ran (their result is partial), for the caller
/// to exit 130.
pub fn unless_interrupted<T>(f: impl FnOnce() -> T) -> Option<T> {
    on_ctrl_c();
    let before = crate::heal::tools::interrupts();
    let out = f();
    if crate::heal::tools::interrupts() != before {
        crate::to_stderr!("cancelled");
        return None;
    }
    Some(out)
}

/// Writes to stdout, turning a closed pipe into a quiet exit upstream.
pub fn print(text: &str) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")?;
    Ok(())
}

/// Pretty JSON plus a newline.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    print(&s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shown_escapes_controls_and_bidi_overrides_only() {
        assert_eq!(super::shown("caf\u{e9} ok"), "caf\u{e9} ok");
        assert_eq!(super::shown("a\u{1b}[31m"), "a\\u{1b}[31m");
        assert_eq!(super::shown("x\u{202e}y\u{2066}"), "x\\u{202e}y\\u{2066}");
        assert_eq!(super::shown_lines("one\ntwo\r"), "one\ntwo\\r");
    }
}
