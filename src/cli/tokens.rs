//! `vibe tokens`: exact token counts of files or stdin.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use rayon::prelude::*;
use serde::Serialize;

use crate::config::Config;
use crate::repomap::render::shown_path;

use super::{UsageError, print, print_json};

#[derive(Debug, Args)]
pub struct TokensArgs {
    /// Files to count ("-": stdin); a directory counts the files under it (.gitignore and
    /// .vibeignore respected; hidden, binary and files over map.max_file_size skipped). UTF-16
    /// with a byte-order mark is decoded; otherwise invalid UTF-8 is replaced, as a model would
    /// receive it; text that spells a special token (<|endoftext|>) counts as ordinary text.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Tokenizer: o200k_base or cl100k_base [default: follows context.model].
    #[arg(long, value_name = "NAME")]
    pub encoding: Option<String>,

    /// Print {schema, encoding, files: [{path, tokens, bytes}], total} as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Counted {
    path: String,
    tokens: usize,
    bytes: usize,
}

#[derive(Serialize)]
struct TokensJson {
    schema: &'static str,
    encoding: &'static str,
    files: Vec<Counted>,
    total: usize,
    /// Files under a directory that were not counted, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<Skipped>,
}

#[derive(Serialize)]
struct Skipped {
    path: String,
    /// `binary`, `too_large` (over map.max_file_size) or `unreadable`, as `vibe map` says.
    reason: &'static str,
    /// What went wrong, for an unreadable file.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// What is counted: a file or stdin read before any counting (a missing file given by name
/// fails first), or a file found under a directory, read when it is counted (a directory may
/// hold more than memory: each is read, counted and dropped).
enum Input {
    Read(String, Vec<u8>),
    Found {
        path: String,
        abs: PathBuf,
        size: u64,
    },
}

/// A file found under a directory, read unless it is larger than `max` bytes or binary (judged
/// on its first bytes, before the rest is read), as `vibe map` reads files.
fn read_found(abs: &Path, max: u64) -> Result<Vec<u8>, (&'static str, Option<String>)> {
    use std::io::Read as _;
    let unreadable = |e: std::io::Error| ("unreadable", Some(e.to_string()));
    let mut file = std::fs::File::open(abs).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    if size > max {
        return Err(("too_large", None));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    (&mut file)
        .take(crate::repomap::BINARY_HEAD as u64)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if crate::repomap::is_binary(&bytes) {
        return Err(("binary", None));
    }
    // No more than the limit, should the file have grown since.
    file.take(max.saturating_sub(bytes.len() as u64))
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    Ok(bytes)
}

pub fn run(
    args: &TokensArgs,
    cwd: &Path,
    root: Option<&Path>,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let encoding = super::context::encoding(args.encoding.as_deref(), config)?;
    if args.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(UsageError {
            message: "stdin (-) can be given only once".into(),
        }
        .into());
    }
    // Read everything named first, so a missing file fails before any counting.
    let mut texts: Vec<Input> = Vec::with_capacity(args.files.len());
    let mut skipped: Vec<Skipped> = Vec::new();
    for f in &args.files {
        if f.as_os_str() == "-" {
            texts.push(Input::Read("-".into(), super::read_stdin()?));
        } else {
            let path = if f.is_absolute() {
                f.clone()
            } else if f.as_os_str() == "." {
                cwd.to_path_buf()
            } else {
                cwd.join(f)
            };
            let name = f.display().to_string();
            let shown = shown_path(&name);
            if path.is_dir() {
                let threads = rayon::current_num_threads();
                // Inside the repository, its `map.exclude` applies as it does to `vibe map`.
                let inside = root.and_then(|root| {
                    let (dir, root) = (path.canonicalize().ok()?, root.canonicalize().ok()?);
                    dir.starts_with(&root).then_some((dir, root))
                });
                let (entries, warnings) = match inside {
                    Some((dir, root)) => {
                        crate::repomap::walk::walk_under(&dir, &root, &config.map.exclude, threads)
                    }
                    None => crate::repomap::walk::walk(&path, &[], threads),
                };
                for w in warnings {
                    super::warning(w);
                }
                if entries.is_empty() && holds_a_file(&path) {
                    crate::to_stderr!(
                        "note: {shown}: no file counted: the files there are left out by ignore \
                         files (.gitignore, .ignore, .vibeignore), map.exclude or hidden names, \
                         as vibe map leaves them out; name a file to count it"
                    );
                }
                // `src/` and `src` list `src/a.py`, `.` lists `a.py`, `/` lists `/etc/…`.
                let dir = match name.trim_end_matches('/') {
                    "" => "/",
                    "." => "",
                    d => d,
                };
                for e in entries {
                    texts.push(Input::Found {
                        path: match dir {
                            "" => e.path,
                            "/" => format!("/{}", e.path),
                            _ => format!("{dir}/{}", e.path),
                        },
                        abs: e.abs,
                        size: e.size,
                    });
                }
                continue;
            }
            let b = std::fs::read(&path).map_err(|e| -> anyhow::Error {
                // Out of memory (an endless /dev/zero) is not bad usage: as for stdin, exit 1.
                if e.kind() == std::io::ErrorKind::OutOfMemory {
                    anyhow::anyhow!("{shown}: {e}\nhint: the file is larger than memory allows")
                } else {
                    UsageError {
                        message: format!(
                            "{shown}: {e}\nhint: give files that exist and can be read"
                        ),
                    }
                    .into()
                }
            })?;
            texts.push(Input::Read(f.display().to_string(), b));
        }
    }
    // Files are cut at line ends where the pre-tokenizer also splits (`split_for_counting`),
    // so that the pieces of one large file are counted in parallel too. Starting rayon's pool
    // (each thread then clones the pre-tokenizer) is worth it from about a megabyte (~30 ms
    // of counting on one thread).
    let total_bytes: u64 = texts
        .iter()
        .map(|t| match t {
            Input::Read(_, b) => b.len() as u64,
            Input::Found { size, .. } => *size,
        })
        .sum();
    let parallel = total_bytes > 1 << 20 && rayon::current_num_threads() > 1;
    let count = |path: &str, bytes: &[u8]| {
        let text = crate::context::tokens::decode_text(bytes);
        let pieces = crate::context::tokens::split_for_counting(&text);
        let tokens = if parallel {
            pieces.par_iter().map(|piece| encoding.count(piece)).sum()
        } else {
            pieces.iter().map(|piece| encoding.count(piece)).sum()
        };
        Counted {
            path: path.to_string(),
            tokens,
            bytes: bytes.len(),
        }
    };
    let one = |input: &Input| -> Result<Counted, Skipped> {
        match input {
            Input::Read(path, bytes) => Ok(count(path, bytes)),
            Input::Found { path, abs, .. } => read_found(abs, config.map.max_file_size)
                .map(|bytes| count(path, &bytes))
                .map_err(|(reason, error)| Skipped {
                    path: path.clone(),
                    reason,
                    error,
                }),
        }
    };
    let results: Vec<Result<Counted, Skipped>> = if parallel {
        texts.par_iter().map(one).collect()
    } else {
        texts.iter().map(one).collect()
    };
    let mut counted: Vec<Counted> = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(c) => counted.push(c),
            Err(s) => skipped.push(s),
        }
    }
    let total = counted.iter().map(|c| c.tokens).sum();
    if args.json {
        print_json(&TokensJson {
            schema: "vibe.tokens/1",
            encoding: encoding.name(),
            files: counted,
            total,
            skipped,
        })?;
    } else {
        // Once, before the counts: the files a directory held that were not counted.
        if !skipped.is_empty() {
            let binary: Vec<&Skipped> = skipped.iter().filter(|s| s.reason == "binary").collect();
            if let Some(first) = binary.first() {
                crate::to_stderr!(
                    "note: {} binary file{} not counted ({}{})",
                    binary.len(),
                    if binary.len() == 1 { "" } else { "s" },
                    shown_path(&first.path),
                    if binary.len() > 1 { ", …" } else { "" }
                );
            }
            for s in skipped.iter().filter(|s| s.reason != "binary") {
                super::warning(match &s.error {
                    Some(e) => format!("{}: cannot read: {e}", shown_path(&s.path)),
                    None => format!(
                        "{}: not counted, larger than map.max_file_size",
                        shown_path(&s.path)
                    ),
                });
            }
        }
        let width = total.to_string().len().max(6);
        let mut s = String::new();
        for c in &counted {
            s.push_str(&format!("{:>width$}  {}\n", c.tokens, shown_path(&c.path)));
        }
        if counted.len() != 1 {
            s.push_str(&format!("{total:>width$}  total ({})\n", encoding.name()));
        }
        print(&s)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether `dir` holds a regular file anywhere below it (links not followed), looking at 10,000
/// entries at most: a directory whose every file the walk leaves out is said to be one.
fn holds_a_file(dir: &Path) -> bool {
    let mut pending = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > 10_000 {
                return false;
            }
            match e.file_type() {
                Ok(t) if t.is_file() => return true,
                Ok(t) if t.is_dir() => pending.push(e.path()),
                _ => {}
            }
        }
    }
    false
}
