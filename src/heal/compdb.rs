//! The compilation database: how the project's build compiles each C and C++ file.
//!
//! A C file rarely compiles on its own: it needs the build's `-I` directories, its `-D` macros,
//! its `-std`, and often a config header the build generated. Without them `cc -fsyntax-only`
//! fails on valid code, and tree-sitter's macro confusion (`CURL_EXTERN CURL *f(void);`) cannot
//! be told from a real syntax error. CMake (`CMAKE_EXPORT_COMPILE_COMMANDS`), Meson, Bear and
//! others write `compile_commands.json`; clangd reads it, and so does vibe, found the way clangd
//! finds it: in the file's directory or an ancestor, or in their `build/`. clangd's simpler
//! `compile_flags.txt` (one flag per line, for every file below it) counts too.
//!
//! Invariants: the command run is the entry's own compiler and flags, turned into a syntax-only
//! check of the file being validated (`-c`, `-o`, dependency-file flags and the entry's input
//! dropped, `-fsyntax-only` added), with every include path under the repository mapped into the
//! validated root, so an overlay's edited headers are the ones read. Only a program named like a
//! C or C++ compiler is run, without the flags that load or run other programs (`-B`,
//! `-wrapper`, `-fplugin`, `-specs`, response files): a repository's database must not choose
//! what runs on the user's machine.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::heal::diagnostics::normalize;

use serde::Deserialize;

/// The database's file names, in the order looked for in each directory.
const NAMES: &[&str] = &["compile_commands.json", "compile_flags.txt"];

/// A syntax-only compile of one file, as its build compiles it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compile {
    /// The compiler as the database names it (a name to look up on PATH, or a path).
    pub program: String,
    pub args: Vec<String>,
    /// Where the build runs it (the entry's `directory`).
    pub cwd: PathBuf,
    /// How the file is compiled.
    pub via: Via,
}

/// How a file is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// With its own entry (or `compile_flags.txt`).
    Own,
    /// A header, in a source file that includes it, which may not read it at all: an include
    /// found by name may be of a system header or of another directory's file of that name,
    /// or sit in an `#if` branch the build skips. `may_skip`: the chain has one, and the
    /// search saw every include that could read the header (no include computed by a macro,
    /// no `-include`, no file left unread), so that if the build does not read it there, it
    /// does not read it.
    Includer { may_skip: bool },
    /// A header, alone with a neighbour's flags (`-x c-header`).
    Alone,
}

/// A loaded database.
#[derive(Debug)]
pub struct Database {
    /// Where it was read from (for messages).
    pub path: PathBuf,
    entries: Vec<Entry>,
    /// `compile_flags.txt`: its directory, and the flags of every file under it.
    flags: Option<(PathBuf, Vec<String>)>,
}

#[derive(Debug)]
struct Entry {
    directory: PathBuf,
    /// Absolute and normalised.
    file: PathBuf,
    /// The command, the compiler first.
    args: Vec<String>,
}

#[derive(Deserialize)]
struct RawEntry {
    directory: String,
    file: String,
    #[serde(default)]
    arguments: Option<Vec<String>>,
    #[serde(default)]
    command: Option<String>,
}

/// The database for `file` (relative to `repo`): `configured` (relative to `repo`, a file or a
/// directory holding one) when set, else the nearest of the file's directory and its ancestors
/// up to `repo` that holds one, itself or in its `build/`.
pub fn find(repo: &Path, file: &str, configured: &str) -> Option<PathBuf> {
    if !configured.is_empty() {
        let p = repo.join(configured);
        if p.is_dir() {
            return NAMES.iter().map(|n| p.join(n)).find(|c| c.is_file());
        }
        return Some(p);
    }
    let mut dir = repo.join(file);
    while dir.pop() {
        for d in [dir.clone(), dir.join("build")] {
            if let Some(p) = NAMES.iter().map(|n| d.join(n)).find(|c| c.is_file()) {
                return Some(p);
            }
        }
        if dir == repo || !dir.starts_with(repo) {
            break;
        }
    }
    None
}

impl Database {
    /// Reads `path`; the error says what is wrong with it.
    pub fn load(path: &Path) -> Result<Database, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        if path.file_name().is_some_and(|n| n == "compile_flags.txt") {
            let flags = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            return Ok(Database {
                path: path.to_path_buf(),
                entries: vec![],
                flags: Some((normalize(&dir), flags)),
            });
        }
        let raw: Vec<RawEntry> = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a compilation database ({e}); it should be a JSON array of \
                 {{\"directory\", \"file\", \"arguments\" or \"command\"}}: regenerate it \
                 (cmake -DCMAKE_EXPORT_COMPILE_COMMANDS=ON, meson, bear)",
                path.display()
            )
        })?;
        let mut entries = Vec::with_capacity(raw.len());
        for r in raw {
            let directory = normalize(&dir.join(&r.directory));
            let args = match (r.arguments, r.command) {
                (Some(a), _) if !a.is_empty() => a,
                (_, Some(c)) => split_command(&c),
                _ => continue,
            };
            if args.is_empty() {
                continue;
            }
            let file = normalize(&directory.join(&r.file));
            entries.push(Entry {
                directory,
                file,
                args,
            });
        }
        Ok(Database {
            path: path.to_path_buf(),
            entries,
            flags: None,
        })
    }

    /// The ways to compile `target` syntax only, best first. `target` is the file to compile,
    /// which may be an overlay's copy, standing for `original` (the file's absolute path in the
    /// repository `repo`); the repository's include paths are moved into `validated` (the root
    /// being validated); `cpp`: the file is C++. Its own entry; for a header, which has none,
    /// the source files that include it (at most [`MAX_INCLUDERS`], see [`Via::Includer`]: the
    /// caller asks the preprocessor which one reads it), then the header alone with a
    /// neighbour's flags. Empty when the database has no usable entry near the file.
    pub fn compiles(
        &self,
        original: &Path,
        target: &Path,
        cpp: bool,
        repo: &Path,
        validated: &Path,
    ) -> Vec<Compile> {
        let original = normalize(original);
        if let Some((dir, flags)) = &self.flags {
            if !original.starts_with(dir) {
                return vec![];
            }
            let header = is_header(&original).then(|| header_lang(cpp));
            let compiler = if cpp { "c++" } else { "cc" };
            return syntax_only(compiler, flags, dir, target, header, repo, validated)
                .into_iter()
                .collect();
        }
        let of = |e: &Entry, target: &Path, header: Option<&str>, via: Via| {
            let (program, rest) = without_launcher(&e.args)?;
            let mut c = syntax_only(program, rest, &e.directory, target, header, repo, validated)?;
            c.via = via;
            Some(c)
        };
        if let Some(e) = self.entries.iter().find(|e| e.file == original) {
            return of(e, target, None, Via::Own).into_iter().collect();
        }
        if !is_header(&original) {
            return vec![];
        }
        // A header is read where the build reads it: in a source file that includes it (most
        // headers need what comes before them), else alone with a neighbour's flags.
        let mut out: Vec<Compile> = self
            .includers(&original, repo)
            .into_iter()
            .filter_map(|(e, rel, may_skip)| {
                of(e, &validated.join(rel), None, Via::Includer { may_skip })
            })
            .collect();
        out.extend(
            self.donor(&original)
                .and_then(|e| of(e, target, Some(header_lang(cpp)), Via::Alone)),
        );
        out
    }

    /// For a header: the entries of the source files in the repository that include it,
    /// directly or through other headers of the repository (curl's `asyn.h` comes in only
    /// through `hostip.h`), with the source's path in the repository, and whether the build may
    /// not read it at all (see [`Via::Includer`]). A chain of includes outside every `#if`
    /// (include guards aside) comes first, then the fewest hops, then the nearest source (its
    /// stem, the longest shared path); up to two entries of a source compiled several ways. An
    /// include matches by the path it writes (`"curl/easy.h"` is a file ending in
    /// curl/easy.h), which a system header or another directory's file of that name may write
    /// too: the caller checks. At most
    /// [`MAX_SOURCES`] sources and [`MAX_HEADERS`] headers (of the header's directory, its
    /// ancestors' and the sources' directories) are read.
    fn includers(&self, header: &Path, repo: &Path) -> Vec<(&Entry, PathBuf, bool)> {
        let mut seen = HashSet::new();
        let mut near: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.file.starts_with(repo) && seen.insert(&e.file))
            .collect();
        near.sort_by_key(|e| {
            (
                e.file.file_stem() != header.file_stem(),
                std::cmp::Reverse(shared_prefix(&e.file, header)),
            )
        });
        // Whether every include of every file that could include it is seen: else a header no
        // include seen reads may still be read, and is not called unread.
        let mut complete = near.len() <= MAX_SOURCES
            && !self.entries.iter().any(|e| {
                e.args
                    .iter()
                    .any(|a| a.starts_with("-include") || a.starts_with("-imacros"))
            });
        let (sources, whole) = scan_includes(
            near.iter()
                .take(MAX_SOURCES)
                .map(|e| e.file.as_path())
                .collect(),
        );
        complete &= whole;
        // Headers that may stand between: those of the header's directory and its ancestors,
        // then of the sources' directories.
        let mut dirs: Vec<&Path> = header
            .ancestors()
            .skip(1)
            .take_while(|d| d.starts_with(repo))
            .collect();
        for (f, _) in &sources {
            if let Some(d) = f.parent().filter(|d| !dirs.contains(d)) {
                dirs.push(d);
            }
        }
        let mut paths: Vec<PathBuf> = Vec::new();
        for d in dirs {
            let Ok(list) = std::fs::read_dir(d) else {
                continue;
            };
            let mut more: Vec<PathBuf> = list
                .filter_map(|f| Some(f.ok()?.path()))
                .filter(|p| is_header(p) && p.as_path() != header)
                .collect();
            more.sort();
            paths.extend(more);
        }
        if paths.len() > MAX_HEADERS {
            complete = false;
            paths.truncate(MAX_HEADERS);
        }
        let (headers, whole) = scan_includes(paths);
        complete &= whole;
        // Breadth first from the header, through unconditional includes only, then any.
        let mut found: Vec<(&Path, bool)> = Vec::new();
        for unconditional_only in [true, false] {
            if found.len() >= MAX_INCLUDERS {
                break;
            }
            // The files reached so far, by file name.
            let mut wanted: HashMap<&OsStr, Vec<&Path>> = HashMap::new();
            let mut reached: HashSet<&Path> = HashSet::new();
            let follows = |inc: &[Include], wanted: &HashMap<&OsStr, Vec<&Path>>| {
                inc.iter().any(|i| {
                    (i.unconditional || !unconditional_only)
                        && wanted
                            .get(OsStr::new(&i.name))
                            .is_some_and(|ps| ps.iter().any(|p| p.ends_with(&i.path)))
                })
            };
            if let Some(n) = header.file_name() {
                wanted.entry(n).or_default().push(header);
                reached.insert(header);
            }
            for _ in 0..=MAX_HOPS {
                for (f, inc) in &sources {
                    if found.len() == MAX_INCLUDERS {
                        break;
                    }
                    if !found.iter().any(|(g, _)| g == f) && follows(inc, &wanted) {
                        found.push((f, !unconditional_only));
                    }
                }
                if found.len() == MAX_INCLUDERS {
                    break;
                }
                let more: Vec<&Path> = headers
                    .iter()
                    .filter(|(p, inc)| !reached.contains(p.as_path()) && follows(inc, &wanted))
                    .map(|(p, _)| p.as_path())
                    .collect();
                if more.is_empty() {
                    break;
                }
                for p in more {
                    reached.insert(p);
                    if let Some(n) = p.file_name() {
                        wanted.entry(n).or_default().push(p);
                    }
                }
            }
        }
        found
            .into_iter()
            .flat_map(|(f, conditional)| {
                self.entries
                    .iter()
                    .filter(move |e| e.file == f)
                    .take(ENTRIES_PER_INCLUDER)
                    .filter_map(move |e| {
                        let rel = e.file.strip_prefix(repo).ok()?.to_path_buf();
                        Some((e, rel, conditional && complete))
                    })
            })
            .collect()
    }

    /// The path by which the database names the repository when it is not `canonical` (the
    /// repository's real path) itself: a symlink the build was run through (`/home` → `/data`,
    /// macOS `/tmp` → `/private/tmp`).
    pub fn alias_of(&self, canonical: &Path) -> Option<PathBuf> {
        self.entries
            .iter()
            .filter(|e| !e.file.starts_with(canonical))
            .take(16)
            .find_map(|e| {
                let real = std::fs::canonicalize(&e.file).ok()?;
                let rel = real.strip_prefix(canonical).ok()?;
                let up = rel.components().count();
                let mut alias = e.file.clone();
                for _ in 0..up {
                    alias.pop();
                }
                (std::fs::canonicalize(&alias).ok()? == canonical).then_some(alias)
            })
    }

    /// For a header, which has no entry of its own: the entry of the source file with its stem in
    /// its directory, else any source in its directory, else the one sharing the longest path.
    fn donor(&self, header: &Path) -> Option<&Entry> {
        let stem = header.file_stem();
        let dir = header.parent();
        self.entries
            .iter()
            .find(|e| e.file.parent() == dir && e.file.file_stem() == stem)
            .or_else(|| self.entries.iter().find(|e| e.file.parent() == dir))
            .or_else(|| {
                self.entries
                    .iter()
                    .max_by_key(|e| shared_prefix(&e.file, header))
            })
    }
}

fn header_lang(cpp: bool) -> &'static str {
    if cpp { "c++-header" } else { "c-header" }
}

fn is_header(p: &Path) -> bool {
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        ext.as_str(),
        "h" | "hh" | "hpp" | "hxx" | "h++" | "inl" | "ipp" | "tpp"
    )
}

/// Sources read to find a header's includer.
const MAX_SOURCES: usize = 1024;
/// Headers read to find the ones a header comes in through.
const MAX_HEADERS: usize = 512;
/// Headers that may stand between a header and the source that includes it.
const MAX_HOPS: usize = 4;
/// Source files offered as a header's includers.
pub const MAX_INCLUDERS: usize = 4;
/// Entries offered of each (a source compiled several ways, with other `-D`s).
const ENTRIES_PER_INCLUDER: usize = 2;
/// Larger files are not read to find includes (nor a device or a pipe).
const MAX_READ: u64 = 1 << 20;

/// An `#include` (or `#include_next`, `#import`) of a file.
#[derive(Debug, PartialEq, Eq)]
struct Include {
    /// As written between the quotes or brackets, without `.` and `..` (those that lead out of
    /// the directory it is written from dropped).
    path: String,
    /// Its file name.
    name: String,
    /// Outside every `#if` but include guards.
    unconditional: bool,
}

/// The includes of a C or C++ file's text (not those in comments), and whether it has one
/// vibe cannot follow (computed by a macro, `#include CONFIG_H`) outside every `#if`.
fn includes(text: &str) -> (Vec<Include>, bool) {
    let b = crate::heal::cpp::Branches::scan(text);
    // One in an `#if` branch (VMS's `#include descrip`) is taken as another platform's.
    let computed = b
        .includes()
        .iter()
        .any(|(line, w)| w.is_none() && b.unconditional(*line));
    let found = b
        .includes()
        .iter()
        .filter_map(|(line, written)| {
            // `sub/../h.h` is `h.h`, `a/./b.h` is `a/b.h`; a leading `..` leaves the directory
            // the include is written in, which is not known here.
            let path = normalize(Path::new(written.as_deref()?));
            let name = path.file_name()?.to_string_lossy().into_owned();
            Some(Include {
                path: path.to_string_lossy().into_owned(),
                name,
                unconditional: b.unconditional(*line),
            })
        })
        .collect();
    (found, computed)
}

/// The includes of the files that could be read, on all cores (a large build has hundreds of
/// sources), and whether all they include is known: every file was read (or does not exist
/// yet: a source the build has yet to generate includes nothing today) and none has an
/// include computed by a macro outside every `#if`.
fn scan_includes<P: AsRef<Path> + Send>(paths: Vec<P>) -> (Vec<(P, Vec<Include>)>, bool) {
    use rayon::prelude::*;
    let scanned: Vec<(P, Option<Vec<Include>>, bool)> = paths
        .into_par_iter()
        .map(|p| match read_small(p.as_ref()).map(|t| includes(&t)) {
            Some((found, computed)) => (p, Some(found), !computed),
            None => {
                let whole = !p.as_ref().exists();
                (p, None, whole)
            }
        })
        .collect();
    let whole = scanned.iter().all(|(_, _, w)| *w);
    let read = scanned
        .into_iter()
        .filter_map(|(p, found, _)| Some((p, found?)))
        .collect();
    (read, whole)
}

/// How many leading components two paths share.
fn shared_prefix(a: &Path, b: &Path) -> usize {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .count()
}

/// A regular file's text, when it is at most [`MAX_READ`] bytes.
fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_READ {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Compiler launchers that run the compiler named after them.
const LAUNCHERS: &[&str] = &["ccache", "sccache", "distcc", "icecc", "buildcache"];

/// The compiler and its arguments, past a launcher (`ccache gcc …` → `gcc …`); None when the
/// program is not a C or C++ compiler vibe will run.
fn without_launcher(args: &[String]) -> Option<(&str, &[String])> {
    let mut i = 0;
    while i + 1 < args.len() && LAUNCHERS.contains(&base(&args[i])) {
        i += 1;
    }
    let program = args.get(i)?;
    is_compiler(base(program)).then(|| (program.as_str(), &args[i + 1..]))
}

fn base(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// `cc`, `gcc`, `clang++-15`, `x86_64-linux-gnu-gcc-12`, `arm-none-eabi-g++`: a gcc- or
/// clang-style C or C++ compiler driver. Not MSVC's `cl` (another command line).
pub fn is_compiler(name: &str) -> bool {
    // Strip a version suffix (`-12`, `-15.0`).
    let mut n = name;
    if let Some((head, tail)) = n.rsplit_once('-')
        && !tail.is_empty()
        && tail.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        n = head;
    }
    let last = n.rsplit('-').next().unwrap_or(n);
    matches!(
        last,
        "cc" | "c++" | "gcc" | "g++" | "clang" | "clang++" | "icx" | "icpx" | "tcc"
    )
}

/// Flags whose value is a path (joined `-Ipath` or separate `-I path`); kept.
const PATH_FLAGS: &[&str] = &[
    "-I",
    "-iquote",
    "-isystem",
    "-idirafter",
    "-include",
    "-imacros",
    "-iprefix",
    "-isysroot",
    "--sysroot",
];
/// Other flags whose value is the next argument when not joined (`-D X`, `-x c`, `-o a.o`).
const WITH_VALUE: &[&str] = &[
    "-iwithprefix",
    "-iwithprefixbefore",
    "-D",
    "-U",
    "-x",
    "-target",
    "-o",
    "-MF",
    "-MT",
    "-MQ",
    "-MJ",
    "-Xclang",
    "-Xpreprocessor",
    "-Xassembler",
    "-Xlinker",
    "-B",
    "-wrapper",
    "-specs",
    "--specs",
    "--config",
    "--gcc-toolchain",
    "-aux-info",
    "-mllvm",
    "-arch",
    "-include-pch",
    "-L",
    "-l",
];
/// The other flags kept (by prefix): those that change how the file parses (macros, language
/// standard, target, warnings, the `-f` options that define macros or change the language).
/// Everything else is dropped: output files (`-o`, `-MF`, `-aux-info`, `-save-temps`), and what
/// loads or runs other programs (`-B`, `-wrapper`, `-fplugin`, `-fmodule-mapper`, `-specs`,
/// `-Wp,`, `-Xclang`, `--config`).
const KEEP: &[&str] = &[
    "-nostdinc",
    "-D",
    "-U",
    "-std=",
    "--std=",
    "-ansi",
    "-pedantic",
    "-x",
    "-target",
    "--target=",
    "-m",
    "-O",
    "-pthread",
    "-stdlib=",
    "-W",
    "-fno-",
    "-fPIC",
    "-fpic",
    "-fPIE",
    "-fpie",
    "-fvisibility",
    "-fopenmp",
    "-fexceptions",
    "-frtti",
    "-fms-",
    "-fgnu",
    "-fsigned-",
    "-funsigned-",
    "-fshort-",
    "-fchar8_t",
    "-fcoroutines",
    "-fconcepts",
    "-fpermissive",
    "-fcommon",
    "-fstrict-",
    "-fwrapv",
    "-fasm",
    "-fdollars-in-identifiers",
    "-fextended-identifiers",
    "-ffreestanding",
    "-fhosted",
    "-fbuiltin",
    "-fsanitize=",
    "-fstack-protector",
    "-fcf-protection",
    "-finput-charset=",
    "-fexec-charset=",
    "-fwide-exec-charset=",
    "-ftemplate-depth",
    "-fconstexpr-",
    "-fdeclspec",
    "-fblocks",
    "-fdelayed-template-parsing",
];
/// Kept prefixes that still carry something to drop: another program's options (`-Wp,`,
/// `-Wa,`, `-Wl,`, `-mllvm`), and colour (vibe asks for none).
const DROP_KEPT: &[&str] = &["-Wp,", "-Wa,", "-Wl,", "-mllvm", "-fno-color-diagnostics"];

/// The entry's command as a syntax-only check of `target`.
fn syntax_only(
    program: &str,
    rest: &[String],
    directory: &Path,
    target: &Path,
    header: Option<&str>,
    repo: &Path,
    validated: &Path,
) -> Option<Compile> {
    let mut args = Vec::new();
    let mut i = 0;
    // A path under the repository points into the validated tree. `-include` and `-imacros`
    // look in the working directory first and then along the include path, so a name that is
    // not there stays as written; `-I=dir` is relative to the sysroot.
    let resolve = |flag: &str, p: &str| -> String {
        if p.starts_with('=') {
            return p.to_string();
        }
        let abs = normalize(&directory.join(p));
        if matches!(flag, "-include" | "-imacros") && !Path::new(p).is_absolute() && !abs.exists() {
            return p.to_string();
        }
        match abs.strip_prefix(repo) {
            Ok(rel) => validated.join(rel).display().to_string(),
            Err(_) => abs.display().to_string(),
        }
    };
    while i < rest.len() {
        let a = &rest[i];
        i += 1;
        if !a.starts_with('-') || a == "-" {
            // An input: the entry's own file, or one we do not compile.
            continue;
        }
        let separate = PATH_FLAGS.contains(&a.as_str()) || WITH_VALUE.contains(&a.as_str());
        let value = if separate {
            let v = rest.get(i).cloned();
            i += 1;
            // A flag missing its value would take the next one vibe adds.
            if v.is_none() {
                continue;
            }
            v
        } else {
            None
        };
        let kept = a == "-w"
            || (PATH_FLAGS.iter().chain(KEEP).any(|k| a.starts_with(k))
                && !DROP_KEPT.iter().any(|d| a.starts_with(d)));
        if !kept {
            continue;
        }
        // Only the C and C++ languages: `-x assembler` has gcc run `as`, found on PATH.
        if let Some(joined) = a.strip_prefix("-x") {
            let lang = value.as_deref().unwrap_or(joined);
            if !matches!(lang, "c" | "c++" | "c-header" | "c++-header") {
                continue;
            }
        }
        if let Some(f) = PATH_FLAGS.iter().find(|f| a.starts_with(**f)) {
            if separate {
                if let Some(v) = value {
                    args.push(a.clone());
                    args.push(resolve(f, &v));
                }
            } else if let Some(v) = a.strip_prefix(*f) {
                let (eq, v) = match v.strip_prefix('=') {
                    Some(v) if *f == "--sysroot" => ("=", v),
                    _ => ("", v),
                };
                // `-include-pch`, `-isystem-after`, …: another flag that starts the same.
                if v.starts_with('-') || v.is_empty() {
                    args.push(a.clone());
                } else {
                    args.push(format!("{f}{eq}{}", resolve(f, v)));
                }
            }
            continue;
        }
        args.push(a.clone());
        args.extend(value);
    }
    args.push("-fsyntax-only".into());
    args.push("-fdiagnostics-color=never".into());
    if let Some(lang) = header {
        args.push("-x".into());
        args.push(lang.into());
    }
    args.push(target.display().to_string());
    Some(Compile {
        program: program.to_string(),
        args,
        cwd: directory.to_path_buf(),
        via: Via::Own,
    })
}

/// A `command` string split into arguments the way the build's shell would: whitespace
/// separates, single quotes are literal, double quotes allow `\"` and `\\`, a backslash outside
/// quotes escapes the next character.
pub fn split_command(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            cur.extend(chars.next());
                        }
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.extend(chars.next());
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn commands_split_as_the_shell_would() {
        assert_eq!(
            split_command(r#"cc -DNAME=\"x\" -D'A B' "-I/a b" -DQ="\"q\"" -c  a.c"#),
            strings(&[
                "cc",
                "-DNAME=\"x\"",
                "-DA B",
                "-I/a b",
                "-DQ=\"q\"",
                "-c",
                "a.c"
            ])
        );
        assert_eq!(split_command("  "), Vec::<String>::new());
        assert_eq!(split_command("cc ''"), strings(&["cc", ""]));
    }

    #[test]
    fn compiler_names() {
        for n in [
            "cc",
            "gcc",
            "g++",
            "c++",
            "clang",
            "clang++-15",
            "gcc-12",
            "x86_64-linux-gnu-gcc-12",
            "arm-none-eabi-g++",
            "clang-17.0",
        ] {
            assert!(is_compiler(n), "{n}");
        }
        for n in [
            "cl",
            "cl.exe",
            "sh",
            "rm",
            "python3",
            "clang-tidy",
            "gcc-ar",
            "evil-cc.sh",
        ] {
            assert!(!is_compiler(n), "{n}");
        }
    }

    type R = Result<(), Box<dyn std::error::Error>>;

    /// The C compile of `rel` (in `repo`) checked in `validated`.
    fn compile_of(d: &Database, repo: &Path, validated: &Path, rel: &str) -> Option<Compile> {
        d.compiles(
            &repo.join(rel),
            &validated.join(rel),
            false,
            repo,
            validated,
        )
        .into_iter()
        .next()
    }

    fn db(dir: &Path, json: &str) -> Result<Database, Box<dyn std::error::Error>> {
        let p = dir.join("compile_commands.json");
        std::fs::write(&p, json)?;
        Ok(Database::load(&p)?)
    }

    #[test]
    fn an_entry_becomes_a_syntax_only_check_of_the_validated_copy() -> R {
        let t = crate::heal::tools::TempDir::new("vibe-compdb-test")?;
        let repo = t.path().join("repo");
        std::fs::create_dir_all(repo.join("build"))?;
        let d = db(
            &repo.join("build"),
            r#"[{"directory": ".", "file": "../src/a.c",
                 "command": "ccache /usr/bin/gcc -I../inc -I /usr/include/x -isystem ../third -include ../build/config.h -include cfg.h --sysroot=../sys -DX=1 -B /tmp/evil -fplugin=p.so -wrapper gdb -Wp,-fplugin=./evil.so -Xpreprocessor -fplugin=x -aux-info /tmp/x --config cfg -save-temps=obj -fdump-tree-all -fmodule-mapper=|touch -mllvm -x -fno-common -xassembler -x assembler-with-cpp -MD -MF a.d -o a.o -Wall -std=c11 -c ../src/a.c @flags.rsp -iwithprefixbefore"}]"#,
        )?;
        std::fs::write(repo.join("build/config.h"), "")?;
        let over = t.path().join("overlay");
        let c = compile_of(&d, &repo, &over, "src/a.c").ok_or("no command")?;
        assert_eq!(c.program, "/usr/bin/gcc");
        assert_eq!(c.cwd, repo.join("build"));
        let o = over.display();
        assert_eq!(
            c.args,
            vec![
                format!("-I{o}/inc"),
                "-I".into(),
                "/usr/include/x".into(),
                "-isystem".into(),
                format!("{o}/third"),
                "-include".into(),
                format!("{o}/build/config.h"),
                "-include".into(),
                "cfg.h".into(),
                format!("--sysroot={o}/sys"),
                "-DX=1".into(),
                "-fno-common".into(),
                "-Wall".into(),
                "-std=c11".into(),
                "-fsyntax-only".into(),
                "-fdiagnostics-color=never".into(),
                format!("{o}/src/a.c"),
            ]
        );
        // A file with no entry: none. A header borrows its neighbour's flags.
        assert!(compile_of(&d, &repo, &repo, "src/b.c").is_none());
        let h = compile_of(&d, &repo, &repo, "src/a.h").ok_or("no command")?;
        // … unless a source file that includes it can be compiled instead.
        std::fs::create_dir_all(repo.join("src"))?;
        std::fs::write(
            repo.join("src/a.c"),
            "#include <stdio.h>\n#include \"a.h\"\n",
        )?;
        let via = compile_of(&d, &repo, &over, "src/a.h").ok_or("no command")?;
        assert_eq!(via.args.last(), Some(&format!("{o}/src/a.c")));
        assert!(!via.args.contains(&"c-header".to_string()));
        std::fs::remove_file(repo.join("src/a.c"))?;
        let n = h.args.len();
        assert_eq!(
            h.args[n - 3..],
            strings(&[
                "-x",
                "c-header",
                &repo.join("src/a.h").display().to_string()
            ])
        );
        Ok(())
    }

    #[test]
    fn a_program_that_is_no_compiler_is_not_run() -> R {
        let t = crate::heal::tools::TempDir::new("vibe-compdb-test")?;
        let repo = t.path().to_path_buf();
        let d = db(
            &repo,
            r#"[{"directory": ".", "file": "a.c", "arguments": ["sh", "-c", "rm -rf ~", "a.c"]},
                {"directory": ".", "file": "b.c", "arguments": ["ccache"]}]"#,
        )?;
        for f in ["a.c", "b.c"] {
            assert!(compile_of(&d, &repo, &repo, f).is_none());
        }
        Ok(())
    }

    #[test]
    fn compile_flags_txt_serves_every_file_below_it() -> R {
        let t = crate::heal::tools::TempDir::new("vibe-compdb-test")?;
        let repo = t.path().to_path_buf();
        std::fs::write(repo.join("compile_flags.txt"), "-Iinc\n-DX=1\n\n-std=c11\n")?;
        let d = Database::load(&repo.join("compile_flags.txt"))?;
        let c = compile_of(&d, &repo, &repo, "src/a.c").ok_or("no command")?;
        assert_eq!(c.program, "cc");
        assert_eq!(
            c.args,
            vec![
                format!("-I{}/inc", repo.display()),
                "-DX=1".into(),
                "-std=c11".into(),
                "-fsyntax-only".into(),
                "-fdiagnostics-color=never".into(),
                repo.join("src/a.c").display().to_string(),
            ]
        );
        Ok(())
    }

    #[test]
    fn the_nearest_database_is_found() -> R {
        let t = crate::heal::tools::TempDir::new("vibe-compdb-test")?;
        let repo = t.path().to_path_buf();
        std::fs::create_dir_all(repo.join("build"))?;
        std::fs::create_dir_all(repo.join("lib/sub"))?;
        std::fs::write(repo.join("build/compile_commands.json"), "[]")?;
        assert_eq!(
            find(&repo, "lib/sub/a.c", ""),
            Some(repo.join("build/compile_commands.json"))
        );
        std::fs::write(repo.join("lib/compile_flags.txt"), "")?;
        assert_eq!(
            find(&repo, "lib/sub/a.c", ""),
            Some(repo.join("lib/compile_flags.txt"))
        );
        assert_eq!(
            find(&repo, "lib/sub/a.c", "build"),
            Some(repo.join("build/compile_commands.json"))
        );
        assert_eq!(
            find(&repo, "a.c", "out/cc.json"),
            Some(repo.join("out/cc.json"))
        );
        let bad = repo.join("bad.json");
        std::fs::write(&bad, "{}")?;
        let e = Database::load(&bad).err().ok_or("loaded")?;
        assert!(e.contains("bad.json") && e.contains("regenerate"), "{e}");
        Ok(())
    }

    #[test]
    fn includes_are_read_with_their_branches() {
        assert!(!includes("#include <a.h>\n").1);
        let text = "#ifndef A_H\n#define A_H\n#include \"x.h\"\n#  include <sys/y.h>\n\
                    #ifdef _WIN32\n#include_next \"w.h\"\n#endif\n#include MACRO\n\
                    /* removed:\n#include \"old.h\"\n*/\n// #include \"gone.h\"\n\
                    #include \\\n  \"../inc/./z.h\"\n/* a */ # /* b */ include /* ours */ \"c.h\"\n\
                    #include \"sub/../h.h\"\n#include \"..\"\n#endif\n";
        let (found, computed) = includes(text);
        assert!(computed, "#include MACRO");
        let got: Vec<(String, String, bool)> = found
            .into_iter()
            .map(|i| (i.path, i.name, i.unconditional))
            .collect();
        let want = [
            ("x.h", "x.h", true),
            ("sys/y.h", "y.h", true),
            ("w.h", "w.h", false),
            ("inc/z.h", "z.h", true),
            ("c.h", "c.h", true),
            ("h.h", "h.h", true),
        ];
        assert_eq!(got, want.map(|(p, n, u)| (p.to_string(), n.to_string(), u)));
    }

    #[test]
    fn a_header_is_found_through_the_headers_that_include_it() -> R {
        let t = crate::heal::tools::TempDir::new("vibe-compdb-test")?;
        let repo = t.path().to_path_buf();
        for (path, text) in [
            ("inc/inner.h", "int inner(void);\n"),
            (
                "inc/outer.h",
                "#ifndef OUTER_H\n#define OUTER_H\n#include \"inner.h\"\n#endif\n",
            ),
            ("inc/maybe.h", "#ifdef X\n#include \"inner.h\"\n#endif\n"),
            // Nearest by its name, but the build may skip its way to the header.
            ("src/inner.c", "#include \"maybe.h\"\n"),
            ("src/z.c", "#include <outer.h>\n"),
        ] {
            std::fs::create_dir_all(repo.join(path).parent().ok_or("no parent")?)?;
            std::fs::write(repo.join(path), text)?;
        }
        let d = db(
            &repo,
            r#"[{"directory": ".", "file": "src/inner.c", "command": "cc -Iinc -c src/inner.c"},
                {"directory": ".", "file": "src/z.c", "command": "cc -Iinc -c src/z.c"},
                {"directory": ".", "file": "src/z.c", "command": "cc -Iinc -DZ -c src/z.c"}]"#,
        )?;
        // The source a header is compiled in, and how.
        let through = |d: &Database| {
            compile_of(d, &repo, &repo, "inc/inner.h")
                .map(|c| (c.args.last().cloned().unwrap_or_default(), c.via))
        };
        let source = |rel: &str| repo.join(rel).display().to_string();
        assert_eq!(
            through(&d),
            Some((source("src/z.c"), Via::Includer { may_skip: false }))
        );
        // Only through an #ifdef: compiled through it, but the build may not read it.
        std::fs::write(repo.join("src/z.c"), "int z;\n")?;
        assert_eq!(
            through(&d),
            Some((source("src/inner.c"), Via::Includer { may_skip: true }))
        );
        // An include of another directory's file of that name is not one of it.
        std::fs::write(repo.join("inc/maybe.h"), "#include \"other/inner.h\"\n")?;
        let c = compile_of(&d, &repo, &repo, "inc/inner.h").ok_or("no command")?;
        assert!(c.args.iter().any(|a| a == "c-header"), "{:?}", c.args);
        Ok(())
    }
}
