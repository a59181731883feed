//! Benchmarks of `vibe map` on the Python standard library (see docs/benchmarks.md).
//!
//! The corpus is the stdlib of the machine's `python3` (without site-packages and __pycache__),
//! copied into a fresh git repository in a temporary directory. Without python3 (or if the copy
//! fails) the benchmarks are skipped with a message.
//!
//! Groups:
//! - `map/cold`: `.vibe` deleted (untimed), then index + text map at 2048 tokens.
//! - `map/warm`: nothing changed since the last run: index + text map.
//! - `map/edit_one`: a comment line appended to `json/decoder.py` (untimed), then index + map.
//! - `map/edit_def`: a new function appended to the same file, so that ranking runs again.
//! - `parse_only/single_thread`, `parse_only/rayon`: tree-sitter parse of every corpus `.py`
//!   file (held in memory), the floor under the cold figure.
//! - `parse_tag/rayon`: parse plus vibe's tags query (`extract::extract`), also in memory.
//! - `context/warm`: `vibe context` at 8000 tokens on the warm index: index check, lexicon
//!   check, ranking and packing, for a rotation of tasks (block counts cached after the first
//!   round, as in repeated use).
//! - `tokens/corpus_rayon`: exact o200k_base counts of every corpus `.py` file, in memory, on
//!   every core, each thread with its own pre-tokenizer (what `vibe tokens` does).
//!
//! Like the binary, the bench uses mimalloc for Rust and tree-sitter allocations.
//!
//! Run: `cargo bench --bench repomap` (or `cargo bench --bench repomap -- parse_only`).
//! Medians are in `target/criterion/<group>/<bench>/new/estimates.json`; `benches/stdlib.sh`
//! prints them beside the end-to-end CLI figures.

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use rayon::prelude::*;

use vibe::config::Config;
use vibe::context::tokens::Encoding;
use vibe::repomap::{self, extract, lang::Lang, render};

/// The same allocators as the `vibe` binary (src/main.rs), so that the figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The file edited by `edit_one` (relative to the corpus root).
const EDITED: &str = "json/decoder.py";
const BUDGET: usize = 2048;

/// The stdlib directory of the machine's python3, if there is one.
fn stdlib_dir() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    p.is_dir().then_some(p)
}

/// Copies `src` into `dst`, leaving out site-packages and __pycache__. Returns (files, bytes).
fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<(u64, u64)> {
    std::fs::create_dir_all(dst)?;
    let (mut files, mut bytes) = (0, 0);
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let name = e.file_name();
        if name == "site-packages" || name == "__pycache__" {
            continue;
        }
        let from = e.path();
        let to = dst.join(&name);
        let meta = std::fs::metadata(&from)?;
        if meta.is_dir() {
            let (f, b) = copy_tree(&from, &to)?;
            files += f;
            bytes += b;
        } else if meta.is_file() {
            std::fs::copy(&from, &to)?;
            files += 1;
            bytes += meta.len();
        }
    }
    Ok((files, bytes))
}

fn git(dir: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The corpus in a fresh temporary git repository.
struct Corpus {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    bytes: u64,
}

fn corpus() -> Option<Corpus> {
    let Some(stdlib) = stdlib_dir() else {
        eprintln!("repomap bench: python3 not found (or it has no stdlib dir); skipping");
        return None;
    };
    let tmp = match tempfile::Builder::new().prefix("vibe-bench-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("repomap bench: cannot create a temp dir: {e}; skipping");
            return None;
        }
    };
    let root = tmp.path().join("stdlib");
    let (files, bytes) = match copy_tree(&stdlib, &root) {
        Ok(x) => x,
        Err(e) => {
            eprintln!(
                "repomap bench: cannot copy {}: {e}; skipping",
                stdlib.display()
            );
            return None;
        }
    };
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let committed = git(&root, &["init", "-q"])
        && git(&root, &["config", "user.name", "vibe bench"])
        && git(&root, &["config", "user.email", "bench@localhost"])
        && git(&root, &["add", "-A"])
        && git(&root, &["commit", "-q", "-m", "corpus"]);
    if !committed {
        eprintln!("repomap bench: git unavailable or failed; the corpus is a plain directory");
    }
    eprintln!(
        "repomap bench: corpus {} ({files} files, {:.1} MB) from {}",
        root.display(),
        bytes as f64 / 1e6,
        stdlib.display()
    );
    Some(Corpus {
        _tmp: tmp,
        root,
        bytes,
    })
}

/// One `vibe map`: index, then the text map at the default budget. Returns the map's tokens.
fn index_and_map(root: &Path, cfg: &Config) -> usize {
    #[allow(clippy::expect_used)]
    let (store, _report) =
        repomap::index(root, cfg, &repomap::Options::default()).expect("index the corpus");
    #[allow(clippy::expect_used)]
    let map = render::text_map(
        &store,
        BUDGET,
        cfg.map.symbols_per_file,
        Encoding::O200kBase,
    )
    .expect("render the map");
    map.tokens
}

fn append_line(path: &Path, line: &str) {
    #[allow(clippy::expect_used)]
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open the edited file");
    #[allow(clippy::expect_used)]
    writeln!(f, "{line}").expect("append to the edited file");
}

fn bench_map(c: &mut Criterion, corpus: &Corpus) {
    let cfg = Config::defaults();
    let root = corpus.root.as_path();
    let vibe_dir = root.join(".vibe");
    let mut g = c.benchmark_group("map");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(1))
        .throughput(Throughput::Bytes(corpus.bytes));

    g.bench_function("cold", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_dir_all(&vibe_dir);
            },
            |()| black_box(index_and_map(root, &cfg)),
            BatchSize::PerIteration,
        )
    });

    let mut settled = false;
    g.bench_function("warm", |b| {
        if !settled {
            // Build the index if `cold` was filtered out, then settle it: files stored as
            // "racy" (modified within 50 ms of a run) are re-hashed once by the next run.
            index_and_map(root, &cfg);
            index_and_map(root, &cfg);
            settled = true;
        }
        b.iter(|| black_box(index_and_map(root, &cfg)))
    });

    let edited = root.join(EDITED);
    let mut n = 0u64;
    g.bench_function("edit_one", |b| {
        b.iter_batched(
            || {
                n += 1;
                append_line(&edited, &format!("# vibe bench edit {n}"));
            },
            |()| black_box(index_and_map(root, &cfg)),
            BatchSize::PerIteration,
        )
    });
    // The same, but the appended line defines a new function, so the file's definitions change
    // and ranking has to run again (a comment alone leaves the ranking graph as it was).
    g.bench_function("edit_def", |b| {
        b.iter_batched(
            || {
                n += 1;
                append_line(
                    &edited,
                    &format!("def vibe_bench_edit_{n}():\n    return {n}"),
                );
            },
            |()| black_box(index_and_map(root, &cfg)),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Every `.py` file of the corpus, read into memory.
fn python_sources(root: &Path) -> Vec<String> {
    fn visit(dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.file_name().is_some_and(|n| n == ".git" || n == ".vibe") {
                continue;
            }
            if p.is_dir() {
                visit(&p, out);
            } else if p.extension().is_some_and(|e| e == "py")
                && let Ok(d) = std::fs::read(&p)
            {
                out.push(String::from_utf8_lossy(&d).into_owned());
            }
        }
    }
    let mut out = Vec::new();
    visit(root, &mut out);
    out
}

fn parse_one(parser: &mut tree_sitter::Parser, src: &str) -> usize {
    parser
        .parse(src, None)
        .map(|t| t.root_node().child_count() as usize)
        .unwrap_or(0)
}

fn new_parser() -> tree_sitter::Parser {
    let mut p = tree_sitter::Parser::new();
    #[allow(clippy::expect_used)]
    p.set_language(&Lang::Python.grammar())
        .expect("the Python grammar loads");
    p
}

fn bench_parse(c: &mut Criterion, corpus: &Corpus) {
    let sources = python_sources(&corpus.root);
    let bytes: u64 = sources.iter().map(|s| s.len() as u64).sum();
    eprintln!(
        "repomap bench: parse corpus {} .py files, {:.1} MB; rayon threads {}",
        sources.len(),
        bytes as f64 / 1e6,
        rayon::current_num_threads()
    );

    let mut g = c.benchmark_group("parse_only");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(1))
        .throughput(Throughput::Bytes(bytes));
    g.bench_function("single_thread", |b| {
        let mut parser = new_parser();
        b.iter(|| {
            let n: usize = sources.iter().map(|s| parse_one(&mut parser, s)).sum();
            black_box(n)
        })
    });
    g.bench_function("rayon", |b| {
        b.iter(|| {
            let n: usize = sources
                .par_iter()
                .map_init(new_parser, |p, s| parse_one(p, s))
                .sum();
            black_box(n)
        })
    });
    g.finish();

    #[allow(clippy::expect_used)]
    let q = Lang::Python.query().expect("the Python query compiles");
    let mut g = c.benchmark_group("parse_tag");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(1))
        .throughput(Throughput::Bytes(bytes));
    g.bench_function("rayon", |b| {
        b.iter(|| {
            let n: usize = sources
                .par_iter()
                .map_init(
                    || (new_parser(), tree_sitter::QueryCursor::new()),
                    |(p, cursor), s| match extract::parse(p, Lang::Python, s) {
                        Some(tree) => {
                            let tags = extract::extract(Lang::Python, q, &tree, s, cursor);
                            black_box(&tags);
                            1
                        }
                        None => 0,
                    },
                )
                .sum();
            black_box(n)
        })
    });
    g.finish();
}

/// Tasks phrased like issue titles, for `context/warm`.
const TASKS: [&str; 4] = [
    "Fix json decoder error position for trailing commas",
    "http.client: handle chunked encoding with trailers",
    "argparse: mutually exclusive groups ignore required",
    "tarfile: extraction filter rejects absolute symlinks",
];

fn bench_context(c: &mut Criterion, corpus: &Corpus) {
    let cfg = Config::defaults();
    let root = corpus.root.as_path();
    // The first run builds the lexicon; the bench measures the warm path after it.
    index_and_map(root, &cfg);
    let mut g = c.benchmark_group("context");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let mut i = 0;
    g.bench_function("warm", |b| {
        b.iter(|| {
            #[allow(clippy::expect_used)]
            let (store, _) =
                repomap::index(root, &cfg, &repomap::Options::default()).expect("index");
            let task = TASKS[i % TASKS.len()];
            i += 1;
            #[allow(clippy::expect_used)]
            let packed = vibe::context::build(
                root,
                &store,
                &vibe::context::Request {
                    task,
                    budget: 8000,
                    encoding: Encoding::O200kBase,
                    exclude: &[],
                    // As the CLI's default (the corpus has no git history).
                    history: 2000,
                },
            )
            .expect("context");
            black_box(packed.used_tokens)
        })
    });
    g.finish();

    let sources = python_sources(root);
    let bytes: usize = sources.iter().map(String::len).sum();
    let mut g = c.benchmark_group("tokens");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(1))
        .throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("corpus_rayon", |b| {
        b.iter(|| {
            let n: usize = sources
                .par_iter()
                .map(|s| Encoding::O200kBase.count(s))
                .sum();
            black_box(n)
        })
    });
    g.finish();
}

fn main() {
    vibe::use_mimalloc_for_tree_sitter();
    let mut c = Criterion::default().configure_from_args();
    if let Some(corpus) = corpus() {
        bench_map(&mut c, &corpus);
        bench_parse(&mut c, &corpus);
        bench_context(&mut c, &corpus);
    }
    c.final_summary();
}
