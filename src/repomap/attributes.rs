//! What a repository's `.gitattributes` files say of its files for GitHub's Linguist:
//! `linguist-generated` and `linguist-vendored`, the marks projects set on code a tool wrote or
//! that came from elsewhere (`dist/** linguist-generated`, `third_party/** linguist-vendored`),
//! and unset on code of theirs that looks otherwise (`deps/** -linguist-vendored`).
//!
//! Read as git reads attributes: a `.gitattributes` in a directory speaks for the files below
//! it, a deeper one before a shallower one; within a file the last line that matches decides.
//! For a root below the top of its repository (`vibe -C packages/app` in a monorepo), the
//! files from the top down count too, as the walk reads the top's ignore files there.
//! Patterns are gitignore's, except that none is negative and a pattern that matches a
//! directory does not reach the files in it (`vendor/** …` does, `vendor …` does not). Macro
//! definitions (`[attr]…`), quoted patterns, patterns with braces (literal to git, where
//! the glob here would read alternatives) and `!attr` (back to unspecified) are not read;
//! neither are `.git/info/attributes` and the user's global attributes, which GitHub does not
//! see either, a `.gitattributes` that is a link (git does not follow one) or one larger
//! than 1 MiB.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// A `.gitattributes` larger than this is not read (a generated list of thousands of paths
/// would cost more to match than it could tell).
const MAX_BYTES: u64 = 1 << 20;

/// What the attributes say of one file: `Some(true)` set, `Some(false)` unset
/// (`-linguist-generated`, `linguist-generated=false`), `None` unspecified.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    pub generated: Option<bool>,
    pub vendored: Option<bool>,
}

impl Marks {
    /// Set on either: the file is a tool's or another project's.
    pub fn marked(self) -> bool {
        self.generated == Some(true) || self.vendored == Some(true)
    }

    /// Unset on either and set on neither: the project says the file is its own.
    pub fn unmarked(self) -> bool {
        !self.marked() && (self.generated == Some(false) || self.vendored == Some(false))
    }
}

/// The Linguist lines of one `.gitattributes`, one matcher per attribute: a line that sets
/// it is a gitignore pattern that matches ("ignored"), one that unsets it a negated pattern
/// ("whitelisted"), so that the last line that matches decides, as with attributes.
struct File {
    generated: Option<Gitignore>,
    vendored: Option<Gitignore>,
}

/// The `.gitattributes` files of a tree that say anything of Linguist's marks, by directory
/// (relative to the root, `""` for the root).
#[derive(Default)]
pub struct Linguist {
    /// Where the files are read from: the repository's top when the root is a directory of
    /// it ([`super::walk::walk_base`]), else the root.
    base: PathBuf,
    /// The root's path under `base` (`packages/app/`), or empty.
    prefix: String,
    /// By directory under `base`, `""` for `base`.
    files: HashMap<String, File>,
}

impl Linguist {
    /// Reads the `.gitattributes` of every directory on the way to `paths` (relative to
    /// `root`, `/`-separated), from the repository's top when `root` is below it. A file that
    /// cannot be read is left out.
    pub fn load<'a>(root: &Path, paths: impl Iterator<Item = &'a str>) -> Linguist {
        let base = super::walk::walk_base(root);
        let prefix = root
            .strip_prefix(&base)
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .filter(|p| !p.is_empty())
            .map(|p| format!("{p}/"))
            .unwrap_or_default();
        let mut dirs: BTreeSet<String> = BTreeSet::new();
        // The root's own directories, and those above it up to the base.
        let mut above = prefix.trim_end_matches('/');
        dirs.insert(String::new());
        while !above.is_empty() {
            dirs.insert(above.to_string());
            above = above.rsplit_once('/').map_or("", |(d, _)| d);
        }
        for path in paths {
            let mut dir = path;
            while let Some((parent, _)) = dir.rsplit_once('/') {
                if !dirs.insert(format!("{prefix}{parent}")) {
                    break;
                }
                dir = parent;
            }
        }
        let mut files = HashMap::new();
        for dir in dirs {
            if let Some(f) = read(&base.join(&dir)) {
                files.insert(dir, f);
            }
        }
        Linguist {
            base,
            prefix,
            files,
        }
    }

    /// Whether any `.gitattributes` read says anything of Linguist's marks.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// What the attributes say of `path` (relative to the root, `/`-separated): for each mark,
    /// the deepest `.gitattributes` with a line that matches it decides.
    pub fn marks(&self, path: &str) -> Marks {
        let mut out = Marks::default();
        if self.files.is_empty() {
            return out;
        }
        let under = format!("{}{path}", self.prefix);
        let full = self.base.join(&under);
        let mut dir = under.as_str();
        loop {
            dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
            if let Some(f) = self.files.get(dir) {
                let decide = |m: &Option<Gitignore>, slot: &mut Option<bool>| {
                    if slot.is_none()
                        && let Some(m) = m
                    {
                        match m.matched(&full, false) {
                            Match::Ignore(_) => *slot = Some(true),
                            Match::Whitelist(_) => *slot = Some(false),
                            Match::None => {}
                        }
                    }
                };
                decide(&f.generated, &mut out.generated);
                decide(&f.vendored, &mut out.vendored);
            }
            if dir.is_empty() || (out.generated.is_some() && out.vendored.is_some()) {
                return out;
            }
        }
    }
}

/// The Linguist lines of `dir/.gitattributes`, if it has any.
fn read(dir: &Path) -> Option<File> {
    let path = dir.join(".gitattributes");
    // Not through a link: git (2.32 and later) does not read a `.gitattributes` that is one.
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > MAX_BYTES {
        return None;
    }
    let bytes = std::fs::read(&path).ok()?;
    // Git strips a byte-order mark, and reads bytes: a Latin-1 comment loses no line.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let text = String::from_utf8_lossy(bytes);
    if !text.contains("linguist-generated") && !text.contains("linguist-vendored") {
        return None;
    }
    let mut generated = GitignoreBuilder::new(dir);
    let mut vendored = GitignoreBuilder::new(dir);
    let (mut any_generated, mut any_vendored) = (false, false);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("[attr]") {
            continue;
        }
        let mut words = line.split_whitespace();
        let Some(pattern) = words.next() else {
            continue;
        };
        // Negative patterns are not allowed in attributes; quoted ones are C strings; braces
        // are literal to git (`*.{js,css}` matches no file), alternatives to the glob here.
        if pattern.starts_with('!') || pattern.starts_with('"') || pattern.contains('{') {
            continue;
        }
        for attr in words {
            let (builder, any) = match name(attr) {
                "linguist-generated" => (&mut generated, &mut any_generated),
                "linguist-vendored" => (&mut vendored, &mut any_vendored),
                _ => continue,
            };
            let Some(set) = state(attr) else {
                continue;
            };
            let glob = if set {
                pattern.to_string()
            } else {
                format!("!{pattern}")
            };
            if builder.add_line(None, &glob).is_ok() {
                *any = true;
            }
        }
    }
    let build = |b: GitignoreBuilder, any: bool| any.then(|| b.build().ok()).flatten();
    let file = File {
        generated: build(generated, any_generated),
        vendored: build(vendored, any_vendored),
    };
    (file.generated.is_some() || file.vendored.is_some()).then_some(file)
}

/// The attribute's name in `name`, `-name`, `!name` or `name=value`.
fn name(attr: &str) -> &str {
    let attr = attr.trim_start_matches(['-', '!']);
    attr.split_once('=').map_or(attr, |(n, _)| n)
}

/// Set (`name`, `name=true`, any value but `false`, as Linguist reads them: `=0` too), unset
/// (`-name`, `name=false`), or `None` for `!name` (unspecified: not read).
fn state(attr: &str) -> Option<bool> {
    if attr.starts_with('!') {
        return None;
    }
    if attr.starts_with('-') {
        return Some(false);
    }
    Some(attr.split_once('=').is_none_or(|(_, v)| v != "false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temp dir");
        for (path, text) in files {
            let p = dir.path().join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("dirs");
            }
            std::fs::write(p, text).expect("a file");
        }
        dir
    }

    #[test]
    fn marks_follow_git_attribute_rules() {
        let t = tree(&[
            (
                ".gitattributes",
                "# Linguist\n\
                 * text=auto\n\
                 dist/** linguist-generated\n\
                 *.pb.ts linguist-generated=true\n\
                 api/gen.ts linguist-generated -diff\n\
                 third_party/** linguist-vendored\n\
                 third_party/ours/** -linguist-vendored\n\
                 deps/** linguist-vendored=false\n\
                 vendor linguist-vendored\n\
                 docs/** !linguist-generated\n\
                 [attr]gen linguist-generated\n\
                 \"quoted name\" linguist-generated\n",
            ),
            (
                "lib/.gitattributes",
                "*.js linguist-generated\nkeep.js -linguist-generated\n",
            ),
            ("lib/sub/.gitattributes", "a.js linguist-vendored\n"),
            ("other/.gitattributes", "* text eol=lf\n"),
            ("braces/.gitattributes", "*.{js,css} linguist-vendored\n"),
            ("bom/.gitattributes", "\u{feff}*.js linguist-generated\n"),
        ]);
        std::fs::create_dir_all(t.path().join("latin")).expect("dir");
        std::fs::write(
            t.path().join("latin/.gitattributes"),
            b"# caf\xe9\n*.js linguist-generated\n",
        )
        .expect("a file");
        std::fs::create_dir_all(t.path().join("linked")).expect("dir");
        std::os::unix::fs::symlink(
            t.path().join("lib/.gitattributes"),
            t.path().join("linked/.gitattributes"),
        )
        .expect("a link");
        let paths = [
            "dist/app.js",
            "src/x.pb.ts",
            "api/gen.ts",
            "third_party/z/z.c",
            "third_party/ours/o.c",
            "deps/uv/uv.c",
            "vendor/v.go",
            "lib/a.js",
            "lib/keep.js",
            "lib/sub/a.js",
            "other/o.py",
            "src/main.rs",
            "braces/a.js",
            "bom/a.js",
            "latin/a.js",
            "linked/a.js",
        ];
        let l = Linguist::load(t.path(), paths.iter().copied());
        let m = |p: &str| l.marks(p);
        let set = |g, v| Marks {
            generated: g,
            vendored: v,
        };
        assert_eq!(m("dist/app.js"), set(Some(true), None));
        assert!(m("dist/app.js").marked());
        assert_eq!(m("src/x.pb.ts"), set(Some(true), None));
        assert_eq!(m("api/gen.ts"), set(Some(true), None));
        assert_eq!(m("third_party/z/z.c"), set(None, Some(true)));
        // The later line unsets it for the project's own part.
        assert_eq!(m("third_party/ours/o.c"), set(None, Some(false)));
        assert!(m("third_party/ours/o.c").unmarked());
        assert_eq!(m("deps/uv/uv.c"), set(None, Some(false)));
        // A pattern that matches a directory does not reach its files.
        assert_eq!(m("vendor/v.go"), Marks::default());
        // The deeper file decides; the root's decides what it leaves open.
        assert_eq!(m("lib/a.js"), set(Some(true), None));
        assert_eq!(m("lib/keep.js"), set(Some(false), None));
        assert_eq!(m("lib/sub/a.js"), set(Some(true), Some(true)));
        assert_eq!(m("other/o.py"), Marks::default());
        assert_eq!(m("src/main.rs"), Marks::default());
        assert!(!m("src/main.rs").marked() && !m("src/main.rs").unmarked());
        // Git reads braces literally, strips a byte-order mark, reads any bytes, and does not
        // follow a link.
        assert_eq!(m("braces/a.js"), Marks::default());
        assert_eq!(m("bom/a.js"), set(Some(true), None));
        assert_eq!(m("latin/a.js"), set(Some(true), None));
        assert_eq!(m("linked/a.js"), Marks::default());
        // Only the files that say something of Linguist are kept.
        assert_eq!(l.files.len(), 5, "{:?}", l.files.keys().collect::<Vec<_>>());
    }

    /// A root below the top of its repository reads the files from the top down; a tree the
    /// repository leaves out (ignored there) reads its own only.
    #[test]
    fn a_directory_of_a_repository_reads_the_files_from_its_top() {
        let t = tree(&[
            (".git/HEAD", "ref: refs/heads/main\n"),
            (".gitattributes", "packages/app/gen.js linguist-generated\n"),
            (
                "packages/.gitattributes",
                "app/src/a.js linguist-vendored\n",
            ),
            ("packages/app/gen.js", "x\n"),
            ("packages/app/src/a.js", "x\n"),
            ("packages/app/src/b.js", "x\n"),
            (".gitignore", "scratch/\n"),
            ("scratch/.gitattributes", "own.js linguist-generated\n"),
            ("scratch/own.js", "x\n"),
            ("scratch/gen.js", "x\n"),
        ]);
        let root = t.path().join("packages/app");
        let l = Linguist::load(&root, ["gen.js", "src/a.js", "src/b.js"].into_iter());
        assert!(l.marks("gen.js").generated == Some(true));
        assert!(l.marks("src/a.js").vendored == Some(true));
        assert_eq!(l.marks("src/b.js"), Marks::default());
        let root = t.path().join("scratch");
        let l = Linguist::load(&root, ["own.js", "gen.js"].into_iter());
        assert!(l.marks("own.js").generated == Some(true));
        assert_eq!(l.marks("gen.js"), Marks::default());
    }

    #[test]
    fn no_attributes_no_marks() {
        let t = tree(&[("src/a.py", "x = 1\n")]);
        let l = Linguist::load(t.path(), ["src/a.py"].into_iter());
        assert!(l.is_empty());
        assert_eq!(l.marks("src/a.py"), Marks::default());
        assert_eq!(state("linguist-generated=false"), Some(false));
        assert_eq!(state("linguist-generated=0"), Some(true));
        assert_eq!(state("linguist-generated=FALSE"), Some(true));
        assert_eq!(state("!linguist-generated"), None);
        assert_eq!(name("-linguist-vendored"), "linguist-vendored");
    }
}
