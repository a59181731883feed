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
    /// Files to count ("-": stdin). UTF-16 with a byte-order mark is decoded; otherwise invalid
    /// UTF-8 is replaced, as a model would receive it; text that spells a special token
    /// (<|endoftext|>) counts as ordinary text.
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
}

pub fn run(args: &TokensArgs, cwd: &Path, config: &Config) -> anyhow::Result<ExitCode> {
    let encoding = super::context::encoding(args.encoding.as_deref(), config)?;
    if args.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(UsageError {
            message: "stdin (-) can be given only once".into(),
        }
        .into());
    }
    // Read everything first, so a missing file fails before any counting.
    let mut texts: Vec<(String, Vec<u8>)> = Vec::with_capacity(args.files.len());
    for f in &args.files {
        if f.as_os_str() == "-" {
            texts.push(("-".into(), super::read_stdin()?));
        } else {
            let path = if f.is_absolute() {
                f.clone()
            } else {
                cwd.join(f)
            };
            let name = f.display().to_string();
            let shown = shown_path(&name);
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
            texts.push((f.display().to_string(), b));
        }
    }
    // Files are cut at line ends where the pre-tokenizer also splits (`split_for_counting`),
    // so that the pieces of one large file are counted in parallel too. Starting rayon's pool
    // (each thread then clones the pre-tokenizer) is worth it from about a megabyte (~30 ms
    // of counting on one thread).
    let total_bytes: usize = texts.iter().map(|(_, b)| b.len()).sum();
    let parallel = total_bytes > 1 << 20 && rayon::current_num_threads() > 1;
    let one = |(path, bytes): &(String, Vec<u8>)| {
        let text = crate::context::tokens::decode_text(bytes);
        let pieces = crate::context::tokens::split_for_counting(&text);
        let tokens = if parallel {
            pieces.par_iter().map(|piece| encoding.count(piece)).sum()
        } else {
            pieces.iter().map(|piece| encoding.count(piece)).sum()
        };
        Counted {
            path: path.clone(),
            tokens,
            bytes: bytes.len(),
        }
    };
    let counted: Vec<Counted> = if parallel {
        texts.par_iter().map(one).collect()
    } else {
        texts.iter().map(one).collect()
    };
    let total = counted.iter().map(|c| c.tokens).sum();
    if args.json {
        print_json(&TokensJson {
            schema: "vibe.tokens/1",
            encoding: encoding.name(),
            files: counted,
            total,
        })?;
    } else {
        let width = total.to_string().len().max(6);
        let mut s = String::new();
        for c in &counted {
            s.push_str(&format!("{:>width$}  {}\n", c.tokens, shown_path(&c.path)));
        }
        if counted.len() > 1 {
            s.push_str(&format!("{total:>width$}  total ({})\n", encoding.name()));
        }
        print(&s)?;
    }
    Ok(ExitCode::SUCCESS)
}
