//! `vibe map`: index the repository, then print the ranked map, its JSON, index figures, or a
//! file's dependencies.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::context::tokens::Encoding;
use crate::repomap::{self, render};

use super::{UsageError, print, print_json};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("deps_of").args(["deps", "rdeps"])))]
pub struct MapArgs {
    /// Token budget of the text map (o200k_base, exact) [default: map.tokens, 2048].
    #[arg(long, value_name = "N")]
    pub tokens: Option<usize>,

    /// Print the whole structured map as JSON (schema vibe.map/1, see docs/map.md).
    #[arg(long)]
    pub json: bool,

    /// Print index figures and the timings of this run instead of the map.
    #[arg(long, conflicts_with_all = ["deps", "rdeps"])]
    pub stats: bool,

    /// List the files FILE imports (add --depth N for transitive ones).
    #[arg(long, value_name = "FILE", conflicts_with = "rdeps")]
    pub deps: Option<String>,

    /// List the files that import FILE (add --depth N for transitive ones).
    #[arg(long, value_name = "FILE")]
    pub rdeps: Option<String>,

    /// How many import steps --deps / --rdeps follow.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "deps_of")]
    pub depth: usize,
}

#[derive(Serialize)]
struct DepsJson<'a> {
    schema: &'static str,
    file: &'a str,
    direction: &'static str,
    depth: usize,
    files: Vec<DepJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    externals: Vec<String>,
}

#[derive(Serialize)]
struct DepJson {
    path: String,
    depth: usize,
}

#[derive(Serialize)]
struct StatsJson<'a> {
    schema: &'static str,
    index: String,
    index_bytes: u64,
    stats: &'a render::Stats,
    run: &'a repomap::IndexReport,
}

pub fn run(args: &MapArgs, root: &Path, config: &Config) -> anyhow::Result<ExitCode> {
    if args.depth == 0 {
        return Err(UsageError {
            message: "--depth must be at least 1".into(),
        }
        .into());
    }

    let (store, report) = super::index(root, config)?;

    if let Some(file) = args.deps.as_deref().or(args.rdeps.as_deref()) {
        let file = relative_to_root(root, file);
        let reverse = args.rdeps.is_some();
        let Some(list) = render::deps(&store, &file, reverse, args.depth)? else {
            return Err(UsageError {
                message: format!(
                    "{file} is not in the index of {}\nhint: give a path relative to the repository root (see `vibe map --json` for the indexed files)",
                    root.display()
                ),
            }
            .into());
        };
        let externals = if reverse {
            vec![]
        } else {
            render::file_externals(&store, &file)?
        };
        if args.json {
            print_json(&DepsJson {
                schema: "vibe.deps/1",
                file: &file,
                direction: if reverse { "rdeps" } else { "deps" },
                depth: args.depth,
                files: list
                    .into_iter()
                    .map(|(path, depth)| DepJson { path, depth })
                    .collect(),
                externals,
            })?;
        } else {
            let mut out = String::new();
            for (path, depth) in list {
                out.push_str(&"  ".repeat(depth - 1));
                out.push_str(&crate::repomap::render::shown_path(&path));
                out.push('\n');
            }
            for x in externals {
                out.push_str(&format!("{x} (external)\n"));
            }
            print(&out)?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    if args.stats {
        let stats = render::index_stats(&store)?;
        // With its write-ahead log, which holds a fresh index's pages until a checkpoint.
        let size = |suffix: &str| {
            let mut p = store.path().as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
        };
        let index_bytes = if store.is_memory() {
            0
        } else {
            size("") + size("-wal")
        };
        if args.json {
            print_json(&StatsJson {
                schema: "vibe.map.stats/1",
                index: store.path().display().to_string(),
                index_bytes,
                stats: &stats,
                run: &report,
            })?;
        } else {
            let index = if store.is_memory() {
                "in memory, for this command only".to_string()
            } else {
                format!("{} ({})", store.path().display(), human_bytes(index_bytes))
            };
            print(&stats_text(&stats, &report, &index))?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    if args.json {
        let map = render::json_map(&store, &root.display().to_string())?;
        // Analyzer plugins add a `plugins` key; without any the map keeps its shape. Ctrl-C
        // while they run stops them and prints nothing.
        let Some((reports, warnings)) =
            super::unless_interrupted(|| crate::plugins::analyze(root, config))
        else {
            return Ok(ExitCode::from(130));
        };
        for w in &warnings {
            super::warning(w);
        }
        if reports.is_empty() {
            print_json(&map)?;
        } else {
            let mut value = serde_json::to_value(&map)?;
            value["plugins"] = serde_json::to_value(&reports)?;
            print_json(&value)?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    let budget = args.tokens.unwrap_or(config.map.tokens);
    let map = render::text_map(
        &store,
        budget,
        config.map.symbols_per_file,
        Encoding::O200kBase,
    )?;
    tracing::info!(
        "map: {} of {} tokens, {} files, {} definitions",
        map.tokens,
        map.budget,
        map.files_shown,
        map.symbols_shown
    );
    // `--tokens 0` asks for the index alone (it prints nothing); a budget that is not 0 and
    // holds nothing is a mistake.
    if budget > 0 && map.text.is_empty() && map.first_line > 0 {
        return Err(UsageError {
            message: format!(
                "a map of {budget} tokens (--tokens, or map.tokens in the config) holds nothing, \
                 not even its first line ({} tokens)\nhint: give --tokens {} or more (the \
                 default is 2048), or --tokens 0 to bring the index up to date and print \
                 nothing",
                map.first_line, map.first_line
            ),
        }
        .into());
    }
    print(&map.text)?;
    Ok(ExitCode::SUCCESS)
}

/// Accepts a path relative to the root, `./x`, or absolute under the root.
fn relative_to_root(root: &Path, file: &str) -> String {
    let p = Path::new(file);
    let rel = if p.is_absolute() {
        let canon = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        canon
            .strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or(canon)
    } else {
        p.to_path_buf()
    };
    let s = rel.to_string_lossy().replace('\\', "/");
    s.trim_start_matches("./").to_string()
}

fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// `index` says where the index is, and its size.
fn stats_text(s: &render::Stats, r: &repomap::IndexReport, index: &str) -> String {
    use render::thousands as t;
    let mut o = String::new();
    o.push_str(&format!("index: {index}\n"));
    let other: u64 = s.other_text.values().sum();
    let skipped: u64 = s.skipped.values().sum();
    o.push_str(&format!(
        "files: {} (source {}, other text {}, skipped {})\n",
        t(s.files),
        t(s.source_files),
        t(other),
        t(skipped)
    ));
    for (lang, l) in &s.languages {
        o.push_str(&format!(
            "  {lang:<11} {:>8} files {:>11} lines {:>11}\n",
            t(l.files),
            t(l.lines),
            human_bytes(l.bytes)
        ));
    }
    if !s.other_text.is_empty() {
        let v: Vec<String> = s
            .other_text
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        o.push_str(&format!("other text: {}\n", v.join(", ")));
    }
    if !s.skipped.is_empty() {
        let v: Vec<String> = s.skipped.iter().map(|(k, n)| format!("{k} {n}")).collect();
        o.push_str(&format!("skipped: {}\n", v.join(", ")));
    }
    o.push_str(&format!(
        "parse errors: {} files\nsymbols: {} · imports: {} · edges: {} · external packages: {}\n",
        t(s.files_with_parse_errors),
        t(s.symbols),
        t(s.imports),
        t(s.edges),
        t(s.externals)
    ));
    o.push_str(&format!(
        "this run: {} seen, {} unchanged, {} re-hashed, {} added, {} changed, {} deleted, {} parsed ({})\n",
        t(r.files_seen as u64),
        t(r.unchanged as u64),
        t(r.rehashed as u64),
        t(r.added as u64),
        t(r.changed as u64),
        t(r.deleted as u64),
        t(r.parsed as u64),
        human_bytes(r.parsed_bytes)
    ));
    let m = &r.timings_ms;
    o.push_str(&format!(
        "timings (ms): open {:.1}, walk {:.1}, parse {:.1}, write {:.1}, resolve {:.1}, rank {:.1}, commit {:.1}, total {:.1}\n",
        m.open, m.walk, m.parse, m.write, m.resolve, m.rank, m.commit, m.total
    ));
    o
}
