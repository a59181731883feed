//! Import resolution: each import as written → the repository files it names, or else the
//! external package it names, normalised (`requests`, `react`, `@scope/pkg`, `serde`,
//! `github.com/x/y`).
//!
//! Resolution needs the whole file set (adding a file can make an external import resolve), so it
//! runs over every import whenever the set of files or any import changed. It reads the few
//! manifests it needs (go.mod, tsconfig.json, Cargo.toml) from disk.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;

use crate::store::ImportRow;

/// A file as resolution sees it.
pub struct FileInfo<'a> {
    pub id: i64,
    pub path: &'a str,
    pub language: Option<&'a str>,
    pub package: Option<&'a str>,
    /// Top-level type names defined in the file (Java classes, for `package.Class` lookups).
    pub types: Vec<&'a str>,
}

/// The outcome for one import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub targets: Vec<i64>,
    pub external: Option<String>,
}

pub struct Options<'a> {
    pub include_dirs: &'a [String],
    pub python_roots: &'a [String],
}

/// The outcome of resolving every import.
pub struct Resolution {
    /// Parallel to the imports given.
    pub resolved: Vec<Resolved>,
    /// Files the resolver read whose name does not say so (the configs a tsconfig.json or
    /// jsconfig.json extends), sorted: an edit to one of them, or to a file `configures`
    /// names, must have imports resolved again.
    pub extended_configs: Vec<String>,
    /// The `extends` entries that named no file (directory of the config, entry), sorted: a
    /// base installed later (`npm install` after the first index) must have imports resolved
    /// again, though no walked file changed.
    pub missing_extends: Vec<(String, String)>,
}

/// Resolves every import.
pub fn resolve_all(
    root: &Path,
    files: &[FileInfo],
    imports: &[ImportRow],
    opts: &Options,
) -> Resolution {
    let ctx = Ctx::new(root, files, imports, opts);
    let resolved = imports
        .iter()
        .map(|imp| {
            let Some(file) = ctx.by_id.get(&imp.file_id) else {
                return Resolved {
                    targets: vec![],
                    external: None,
                };
            };
            let mut r = match file.language {
                Some("python") => ctx.python(file, imp),
                Some("javascript" | "typescript" | "tsx") => ctx.js(file, imp),
                Some("rust") => ctx.rust(file, imp),
                Some("go") => ctx.go(imp),
                Some("java") => ctx.java(imp),
                Some("c" | "cpp") => ctx.c(file, imp),
                _ => Resolved {
                    targets: vec![],
                    external: None,
                },
            };
            r.targets.retain(|t| *t != imp.file_id);
            // By path, not id: ids follow the index's history, paths do not.
            r.targets
                .sort_unstable_by_key(|t| ctx.by_id.get(t).map(|f| f.path));
            r.targets.dedup();
            if !r.targets.is_empty() {
                r.external = None;
            }
            r
        })
        .collect();
    Resolution {
        resolved,
        extended_configs: ctx.extends.found.into_iter().collect(),
        missing_extends: ctx.extends.missing.into_iter().collect(),
    }
}

/// Whether an edit to this non-source file may change how imports resolve: the configs the
/// resolver reads by name (tsconfig.json, jsconfig.json, package.json, go.mod, Cargo.toml) and
/// the configs they were found to extend (`Resolution::extended_configs`). Anything else
/// (documentation, YAML, HTML, CSS, test data) cannot: a new or deleted file resolves again
/// anyway, and so does a config whose `extends` changed.
pub fn configures(path: &str, extended_configs: &HashSet<String>) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "tsconfig.json" | "jsconfig.json" | "package.json" | "go.mod" | "Cargo.toml"
    ) || extended_configs.contains(path)
}

struct Ctx<'a> {
    by_id: HashMap<i64, &'a FileInfo<'a>>,
    by_path: HashMap<&'a str, i64>,
    /// Directory → its files (direct children), for Go packages.
    dirs: HashMap<&'a str, Vec<&'a FileInfo<'a>>>,
    /// Python: the roots absolute imports are resolved against.
    py_roots: Vec<String>,
    /// Python: for each file, its `from X import …` imports, for `__init__` re-exports.
    py_from: HashMap<i64, Vec<&'a ImportRow>>,
    tsconfigs: Vec<TsConfig>,
    /// The configs the tsconfigs extend, and the entries that named none.
    extends: Extends,
    /// JS/TS packages of this repository (workspace members) by `package.json` name.
    js_packages: HashMap<String, JsPackage>,
    go_mods: Vec<(String, String)>,
    rust: RustModules,
    java_types: HashMap<String, Vec<i64>>,
    java_packages: HashMap<&'a str, Vec<i64>>,
    c_dirs: Vec<String>,
    /// File name → paths, for unique-suffix `#include` matching.
    by_name: HashMap<&'a str, Vec<&'a str>>,
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else if rel.is_empty() {
        dir.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// Normalises `a/./b/../c` → `a/c`; `None` if it climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

impl<'a> Ctx<'a> {
    fn new(
        root: &Path,
        files: &'a [FileInfo<'a>],
        imports: &'a [ImportRow],
        opts: &Options,
    ) -> Self {
        let by_id: HashMap<i64, &FileInfo> = files.iter().map(|f| (f.id, f)).collect();
        let by_path: HashMap<&str, i64> = files.iter().map(|f| (f.path, f.id)).collect();
        let mut dirs: HashMap<&str, Vec<&FileInfo>> = HashMap::new();
        let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
        for f in files {
            dirs.entry(dir_of(f.path)).or_default().push(f);
            by_name
                .entry(f.path.rsplit('/').next().unwrap_or(f.path))
                .or_default()
                .push(f.path);
        }

        // Python roots: the repository root, src/, configured ones, and every directory that
        // holds a top-level package (a dir with __init__.py whose parent has none).
        let mut roots: BTreeSet<String> = BTreeSet::new();
        roots.insert(String::new());
        roots.insert("src".into());
        for r in opts.python_roots {
            roots.insert(r.trim_matches('/').to_string());
        }
        for f in files {
            if let Some(pkg_dir) = f.path.strip_suffix("/__init__.py") {
                let parent = dir_of(pkg_dir);
                let parent_is_pkg = by_path.contains_key(join(parent, "__init__.py").as_str());
                if !parent_is_pkg && pkg_dir.contains('/') {
                    roots.insert(parent.to_string());
                }
            }
        }
        // Shallow roots first, so the repository root wins over nested ones.
        let mut py_roots: Vec<String> = roots.into_iter().collect();
        py_roots.sort_by_key(|r| {
            (
                r.matches('/').count() + usize::from(!r.is_empty()),
                r.clone(),
            )
        });

        let mut py_from: HashMap<i64, Vec<&ImportRow>> = HashMap::new();
        for imp in imports {
            if imp.kind == "from" {
                py_from.entry(imp.file_id).or_default().push(imp);
            }
        }

        let mut extends = Extends::default();
        let tsconfigs = files
            .iter()
            .filter(|f| {
                let name = f.path.rsplit('/').next().unwrap_or("");
                name == "tsconfig.json" || name == "jsconfig.json"
            })
            .filter_map(|f| TsConfig::load(root, f.path, &mut extends))
            .collect();

        // Sorted by path, so that of two packages with one name the shallower-sorting one wins.
        let mut js_packages: HashMap<String, JsPackage> = HashMap::new();
        let mut manifests: Vec<&str> = files
            .iter()
            .map(|f| f.path)
            .filter(|p| {
                (*p == "package.json" || p.ends_with("/package.json"))
                    && !p.split('/').any(|c| c == "node_modules")
            })
            .collect();
        manifests.sort_unstable();
        for path in manifests {
            if let Some((name, pkg)) = JsPackage::load(root, path) {
                js_packages.entry(name).or_insert(pkg);
            }
        }

        let mut go_mods: Vec<(String, String)> = files
            .iter()
            .filter(|f| f.path == "go.mod" || f.path.ends_with("/go.mod"))
            .filter_map(|f| {
                let text = std::fs::read_to_string(super::walk::on_disk(root, f.path)).ok()?;
                let module = text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("module "))?
                    .trim()
                    .trim_matches('"')
                    .to_string();
                Some((module, dir_of(f.path).to_string()))
            })
            .collect();
        // Longest module path first, so nested modules win.
        go_mods.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));

        let rust = RustModules::build(root, files, imports, &by_path);

        let mut java_types: HashMap<String, Vec<i64>> = HashMap::new();
        let mut java_packages: HashMap<&str, Vec<i64>> = HashMap::new();
        for f in files.iter().filter(|f| f.language == Some("java")) {
            let pkg = f.package.unwrap_or("");
            java_packages.entry(pkg).or_default().push(f.id);
            let stem = f
                .path
                .rsplit('/')
                .next()
                .and_then(|n| n.strip_suffix(".java"))
                .unwrap_or("");
            let mut names: Vec<&str> = f.types.clone();
            names.push(stem);
            names.sort_unstable();
            names.dedup();
            for n in names {
                let fqn = if pkg.is_empty() {
                    n.to_string()
                } else {
                    format!("{pkg}.{n}")
                };
                java_types.entry(fqn).or_default().push(f.id);
            }
        }

        let mut c_dirs: BTreeSet<String> = BTreeSet::new();
        for d in opts.include_dirs {
            c_dirs.insert(d.trim_matches('/').to_string());
        }
        for f in files {
            if matches!(f.language, Some("c" | "cpp")) {
                let mut d = dir_of(f.path);
                // Any ancestor directory named `include` is an include dir.
                while !d.is_empty() {
                    if d == "include" || d.ends_with("/include") {
                        c_dirs.insert(d.to_string());
                    }
                    d = dir_of(d);
                }
            }
        }
        for d in ["include", "src"] {
            c_dirs.insert(d.into());
        }
        c_dirs.insert(String::new());

        Ctx {
            by_id,
            by_path,
            dirs,
            py_roots,
            py_from,
            tsconfigs,
            extends,
            js_packages,
            go_mods,
            rust,
            java_types,
            java_packages,
            c_dirs: c_dirs.into_iter().collect(),
            by_name,
        }
    }

    fn file(&self, path: &str) -> Option<i64> {
        self.by_path.get(path).copied()
    }

    fn none(external: Option<String>) -> Resolved {
        Resolved {
            targets: vec![],
            external,
        }
    }

    // ---------------------------------------------------------------- Python

    /// The file of module `dotted` (a.b.c) under `base`: a/b/c.py or a/b/c/__init__.py.
    fn py_module(&self, base: &str, dotted: &str) -> Option<i64> {
        let rel = join(base, &dotted.replace('.', "/"));
        for cand in [
            format!("{rel}.py"),
            format!("{rel}.pyi"),
            format!("{rel}/__init__.py"),
            format!("{rel}/__init__.pyi"),
        ] {
            if let Some(id) = self.file(&cand) {
                return Some(id);
            }
        }
        None
    }

    /// Resolves an absolute dotted module against the roots and the file's own directory;
    /// tries shorter prefixes when the tail is an attribute (`import a.b.func` is not valid
    /// Python, but `from a.b import func` resolves `a.b`).
    fn py_absolute(&self, file: &FileInfo, dotted: &str) -> Option<i64> {
        let own = dir_of(file.path);
        let mut parts: Vec<&str> = dotted.split('.').collect();
        while !parts.is_empty() {
            let m = parts.join(".");
            for base in self.py_roots.iter().map(String::as_str).chain([own]) {
                if let Some(id) = self.py_module(base, &m) {
                    return Some(id);
                }
            }
            parts.pop();
        }
        None
    }

    fn python(&self, file: &FileInfo, imp: &ImportRow) -> Resolved {
        match imp.kind.as_str() {
            "import" => match self.py_absolute(file, &imp.module) {
                Some(id) => Resolved {
                    targets: vec![id],
                    external: None,
                },
                None => Self::none(Some(first_segment(&imp.module, '.'))),
            },
            "from" => self.python_from(file, imp, 0),
            _ => Self::none(None),
        }
    }

    /// `from M import a, b`: M's file, the submodules `M.a`, `M.b` that exist, and — when M is
    /// a package `__init__` that re-exports `a` from a submodule — the file defining `a`.
    fn python_from(&self, file: &FileInfo, imp: &ImportRow, depth: usize) -> Resolved {
        let module = imp.module.as_str();
        let dots = module.len() - module.trim_start_matches('.').len();
        let rest = &module[dots..];
        // A relative import's base: the file's package, one level up per extra dot.
        let base_dir: Option<String> = if dots > 0 {
            let mut dir = dir_of(file.path).to_string();
            for _ in 1..dots {
                if dir.is_empty() {
                    return Self::none(None);
                }
                dir = dir_of(&dir).to_string();
            }
            Some(dir)
        } else {
            None
        };
        let module_file = match &base_dir {
            Some(dir) => {
                if rest.is_empty() {
                    self.file(&join(dir, "__init__.py"))
                        .or_else(|| self.file(&join(dir, "__init__.pyi")))
                } else {
                    self.py_module(dir, rest)
                }
            }
            None => self.py_absolute(file, rest),
        };
        let mut targets = Vec::new();
        let mut any_submodule = false;
        // Where M's package lives, for `M.name` submodules.
        let pkg_dir: Option<String> = match (&base_dir, module_file) {
            (Some(dir), _) if rest.is_empty() => Some(dir.clone()),
            (_, Some(id)) => self.by_id.get(&id).and_then(|f| {
                f.path
                    .strip_suffix("/__init__.py")
                    .or_else(|| f.path.strip_suffix("/__init__.pyi"))
                    .map(str::to_string)
            }),
            // A namespace package (PEP 420: a directory without `__init__`): for an absolute
            // import the first root (or the file's own directory) where it holds one of the
            // imported submodules.
            (base, None) => {
                let rel = rest.replace('.', "/");
                let bases: Vec<&str> = match base {
                    Some(dir) => vec![dir.as_str()],
                    None => self
                        .py_roots
                        .iter()
                        .map(String::as_str)
                        .chain([dir_of(file.path)])
                        .collect(),
                };
                bases
                    .into_iter()
                    .map(|b| join(b, &rel))
                    .find(|dir| imp.names.iter().any(|n| self.py_module(dir, n).is_some()))
            }
        };
        for name in &imp.names {
            if name == "*" {
                continue;
            }
            if let Some(dir) = &pkg_dir
                && let Some(id) = self.py_module(dir, name)
            {
                targets.push(id);
                any_submodule = true;
                continue;
            }
            if let Some(m) = module_file
                && depth < 3
            {
                targets.extend(self.py_reexport(m, name, depth));
            }
        }
        if let Some(m) = module_file
            && (!any_submodule || targets.len() < imp.names.len())
        {
            targets.push(m);
        }
        if targets.is_empty() {
            return Self::none(if dots > 0 {
                None
            } else {
                Some(first_segment(rest, '.'))
            });
        }
        Resolved {
            targets,
            external: None,
        }
    }

    /// Files that package `__init__` file `init` takes `name` from.
    fn py_reexport(&self, init: i64, name: &str, depth: usize) -> Vec<i64> {
        let Some(file) = self.by_id.get(&init) else {
            return vec![];
        };
        if !file.path.ends_with("__init__.py") && !file.path.ends_with("__init__.pyi") {
            return vec![];
        }
        let mut out = Vec::new();
        for imp in self.py_from.get(&init).map(Vec::as_slice).unwrap_or(&[]) {
            if imp.names.iter().any(|n| n == name || n == "*") {
                let sub = ImportRow {
                    names: vec![name.to_string()],
                    ..(*imp).clone()
                };
                let r = self.python_from(file, &sub, depth + 1);
                out.extend(r.targets.into_iter().filter(|t| *t != init));
            }
        }
        out
    }

    // ---------------------------------------------------------------- JS / TS

    fn js_candidates(&self, base: &str) -> Option<i64> {
        const EXTS: [&str; 10] = [
            ".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".json",
        ];
        if let Some(id) = self.file(base)
            && !self.dirs.contains_key(base)
        {
            return Some(id);
        }
        // ESM TypeScript writes `./x.js` for `./x.ts`.
        for (js, ts) in [
            (".js", ".ts"),
            (".js", ".tsx"),
            (".jsx", ".tsx"),
            (".mjs", ".mts"),
            (".cjs", ".cts"),
        ] {
            if let Some(stem) = base.strip_suffix(js)
                && let Some(id) = self.file(&format!("{stem}{ts}"))
            {
                return Some(id);
            }
        }
        for ext in EXTS {
            if let Some(id) = self.file(&format!("{base}{ext}")) {
                return Some(id);
            }
        }
        for ext in EXTS {
            if let Some(id) = self.file(&format!("{base}/index{ext}")) {
                return Some(id);
            }
        }
        None
    }

    fn js(&self, file: &FileInfo, imp: &ImportRow) -> Resolved {
        // A query or fragment (`./x.svg?raw`) is not part of the path; a leading `#` is a
        // package.json subpath import (`#internal/x`), which tsconfig `paths` may map.
        let spec = imp.module.split('?').next().unwrap_or("");
        let spec = match spec.char_indices().skip(1).find(|(_, c)| *c == '#') {
            Some((i, _)) => &spec[..i],
            None => spec,
        };
        if spec.starts_with("./") || spec.starts_with("../") || spec == "." || spec == ".." {
            let target =
                normalize(&join(dir_of(file.path), spec)).and_then(|p| self.js_candidates(&p));
            return Resolved {
                targets: target.into_iter().collect(),
                external: None,
            };
        }
        if let Some(cfg) = self.tsconfig_for(file.path) {
            for cand in cfg.candidates(spec) {
                if let Some(p) = normalize(&cand)
                    && let Some(id) = self.js_candidates(&p)
                {
                    return Resolved {
                        targets: vec![id],
                        external: None,
                    };
                }
            }
        }
        // `#x` is the package's own subpath import and `/x` a root-relative path: neither
        // names another package.
        if spec.is_empty() || spec.starts_with(['#', '/']) {
            return Self::none(None);
        }
        let name = js_package(spec);
        if let Some(pkg) = self.js_packages.get(&name)
            && let Some(id) = spec
                .strip_prefix(name.as_str())
                .filter(|sub| sub.is_empty() || sub.starts_with('/'))
                .and_then(|sub| self.js_workspace(pkg, sub))
        {
            return Resolved {
                targets: vec![id],
                external: None,
            };
        }
        Self::none(Some(name))
    }

    /// A file of a workspace package for the subpath after its name (`""` or `/x/y`): the
    /// `exports` entry for it, then the manifest's entry fields (`source`, `types`, `module`,
    /// `main`), then the path itself; a built file (`dist/x.js`) stands for its source
    /// (`src/x.ts`) when only the source is indexed.
    fn js_workspace(&self, pkg: &JsPackage, sub: &str) -> Option<i64> {
        let sub = format!(".{sub}");
        let mut targets: Vec<String> = Vec::new();
        for (pattern, target) in &pkg.exports {
            let star = match pattern.split_once('*') {
                Some((pre, post)) => sub
                    .strip_prefix(pre)
                    .and_then(|r| r.strip_suffix(post))
                    .filter(|_| sub.len() >= pre.len() + post.len()),
                None => (*pattern == sub).then_some(""),
            };
            if let Some(star) = star {
                targets.push(target.replace('*', star));
            }
        }
        if sub == "." {
            targets.extend(pkg.entries.iter().cloned());
            targets.extend(["src/index".to_string(), "index".to_string()]);
        } else {
            targets.push(sub.clone());
            targets.push(format!("src/{}", &sub[2..]));
        }
        for t in &targets {
            let Some(path) = normalize(&join(&pkg.dir, t)) else {
                continue;
            };
            if let Some(id) = self.js_candidates(&path) {
                return Some(id);
            }
            let rel = t.trim_start_matches("./");
            if let Some((top, rest)) = rel.split_once('/')
                && matches!(top, "dist" | "lib" | "build" | "out" | "esm" | "cjs")
            {
                let stem = [".d.ts", ".js", ".mjs", ".cjs", ".jsx"]
                    .iter()
                    .find_map(|e| rest.strip_suffix(e))
                    .unwrap_or(rest);
                if let Some(src) = normalize(&join(&pkg.dir, &format!("src/{stem}")))
                    && let Some(id) = self.js_candidates(&src)
                {
                    return Some(id);
                }
            }
        }
        None
    }

    fn tsconfig_for(&self, path: &str) -> Option<&TsConfig> {
        // The nearest tsconfig in an ancestor directory.
        self.tsconfigs
            .iter()
            .filter(|c| c.dir.is_empty() || path.starts_with(&format!("{}/", c.dir)))
            .max_by_key(|c| c.dir.len())
    }

    // ---------------------------------------------------------------- Rust

    fn rust(&self, file: &FileInfo, imp: &ImportRow) -> Resolved {
        match imp.kind.as_str() {
            "mod" => Resolved {
                targets: self
                    .rust
                    .mod_targets
                    .get(&imp.id)
                    .copied()
                    .into_iter()
                    .collect(),
                external: None,
            },
            "extern_crate" => match self.rust.crates.get(imp.module.as_str()) {
                Some(root) => Resolved {
                    targets: vec![*root],
                    external: None,
                },
                None => Self::none(Some(imp.module.clone())),
            },
            "use" => self.rust.resolve_use(file.id, &imp.module, &imp.names),
            _ => Self::none(None),
        }
    }

    // ---------------------------------------------------------------- Go

    fn go(&self, imp: &ImportRow) -> Resolved {
        let path = imp.module.as_str();
        for (module, dir) in &self.go_mods {
            let sub = if path == module {
                Some("")
            } else {
                path.strip_prefix(module.as_str())
                    .and_then(|r| r.strip_prefix('/'))
            };
            if let Some(sub) = sub {
                let pkg_dir = join(dir, sub);
                let targets: Vec<i64> = self
                    .dirs
                    .get(pkg_dir.as_str())
                    .map(|fs| {
                        fs.iter()
                            .filter(|f| f.language == Some("go") && !f.path.ends_with("_test.go"))
                            .map(|f| f.id)
                            .collect()
                    })
                    .unwrap_or_default();
                return Resolved {
                    targets,
                    external: None,
                };
            }
        }
        Self::none(Some(go_package(path)))
    }

    // ---------------------------------------------------------------- Java

    fn java(&self, imp: &ImportRow) -> Resolved {
        let module = imp.module.as_str();
        if let Some(pkg) = module.strip_suffix(".*") {
            if let Some(ids) = self.java_packages.get(pkg) {
                return Resolved {
                    targets: ids.clone(),
                    external: None,
                };
            }
            // `import a.b.C.*` (nested types of a class).
            if let Some(ids) = self.java_types.get(pkg) {
                return Resolved {
                    targets: ids.clone(),
                    external: None,
                };
            }
            return Self::none(Some(java_package(pkg)));
        }
        let mut parts: Vec<&str> = module.split('.').collect();
        while parts.len() > 1 {
            if let Some(ids) = self.java_types.get(&parts.join(".")) {
                return Resolved {
                    targets: ids.clone(),
                    external: None,
                };
            }
            parts.pop();
        }
        Self::none(Some(java_package(module)))
    }

    // ---------------------------------------------------------------- C / C++

    fn c(&self, file: &FileInfo, imp: &ImportRow) -> Resolved {
        let spec = imp.module.as_str();
        let system = imp.kind == "include_system";
        if !system
            && let Some(p) = normalize(&join(dir_of(file.path), spec))
            && let Some(id) = self.file(&p)
        {
            return Resolved {
                targets: vec![id],
                external: None,
            };
        }
        for d in &self.c_dirs {
            if let Some(p) = normalize(&join(d, spec))
                && let Some(id) = self.file(&p)
            {
                return Resolved {
                    targets: vec![id],
                    external: None,
                };
            }
        }
        // A unique file in the repository whose path ends with the spec (`"…"` only: `<…>`
        // goes through include dirs, so `<sys/types.h>` never lands on some vendored copy).
        let name = spec.rsplit('/').next().unwrap_or(spec);
        if !system {
            let suffix = format!("/{spec}");
            let hits: Vec<&&str> = self
                .by_name
                .get(name)
                .map(|v| {
                    v.iter()
                        .filter(|p| **p == spec || p.ends_with(&suffix))
                        .collect()
                })
                .unwrap_or_default();
            if hits.len() == 1
                && let Some(id) = self.file(hits[0])
            {
                return Resolved {
                    targets: vec![id],
                    external: None,
                };
            }
        }
        // A relative path that names no file is not a package.
        if spec.starts_with("./") || spec.starts_with("../") {
            return Self::none(None);
        }
        Self::none(Some(match spec.split_once('/') {
            Some((first, _)) => first.to_string(),
            None => spec.to_string(),
        }))
    }
}

fn first_segment(s: &str, sep: char) -> String {
    s.split(sep).next().unwrap_or(s).to_string()
}

/// `@scope/pkg/sub` → `@scope/pkg`; `lodash/fp` → `lodash`; `node:fs` → `fs`; Deno's
/// `npm:react@18/jsx-runtime` → `react` and `https://deno.land/std@0.2/path/mod.ts` →
/// `deno.land/std`.
pub fn js_package(spec: &str) -> String {
    // A version (`pkg@1.2`, `@scope/pkg@^2`) is not part of the name.
    let unversioned = |name: &str| name.split('@').next().unwrap_or(name).to_string();
    if let Some(url) = spec
        .strip_prefix("https://")
        .or_else(|| spec.strip_prefix("http://"))
    {
        let mut parts = url.split('/');
        let host = parts.next().unwrap_or(url);
        return match parts.next().filter(|p| !p.is_empty()) {
            Some(first) => format!("{host}/{}", unversioned(first)),
            None => host.to_string(),
        };
    }
    let spec = ["node:", "npm:", "jsr:"]
        .iter()
        .find_map(|p| spec.strip_prefix(p))
        .unwrap_or(spec);
    let mut parts = spec.split('/');
    match parts.next() {
        Some(scope) if scope.starts_with('@') => match parts.next() {
            Some(name) => format!("{scope}/{}", unversioned(name)),
            None => scope.to_string(),
        },
        Some(name) => unversioned(name),
        None => spec.to_string(),
    }
}

/// `github.com/x/y/z` → `github.com/x/y`; `go.uber.org/zap/core` → `go.uber.org/zap`;
/// standard library paths (`net/http`) stay as they are.
pub fn go_package(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    if !parts[0].contains('.') {
        return path.to_string();
    }
    let n = match parts[0] {
        "github.com" | "gitlab.com" | "bitbucket.org" | "golang.org" => 3,
        _ => 2,
    };
    parts[..n.min(parts.len())].join("/")
}

/// `org.junit.jupiter.api.Test` → `org.junit.jupiter`; `java.util.List` → `java.util`.
pub fn java_package(module: &str) -> String {
    let parts: Vec<&str> = module
        .split('.')
        .take_while(|p| !p.starts_with(|c: char| c.is_ascii_uppercase()) && *p != "*")
        .collect();
    parts[..parts.len().min(3)].join(".")
}

// -------------------------------------------------------------------- workspace packages

/// A JS/TS package of this repository: `import … from "@acme/utils"` in a monorepo resolves to
/// the package's files, not to an external package.
struct JsPackage {
    /// Directory of its `package.json`.
    dir: String,
    /// Entry points from the manifest's fields, relative to `dir`, best first.
    entries: Vec<String>,
    /// `exports` subpath patterns (`"."`, `"./feature/*"`) with their targets, in order.
    exports: Vec<(String, String)>,
}

impl JsPackage {
    fn load(root: &Path, path: &str) -> Option<(String, JsPackage)> {
        let value = read_jsonc(&root.join(path))?;
        let name = value.get("name")?.as_str()?.trim().to_string();
        if name.is_empty() {
            return None;
        }
        let mut exports = Vec::new();
        match value.get("exports") {
            Some(serde_json::Value::Object(m)) if m.keys().any(|k| k.starts_with('.')) => {
                for (k, v) in m.iter().filter(|(k, _)| k.starts_with('.')) {
                    for t in export_targets(v) {
                        exports.push((k.clone(), t));
                    }
                }
            }
            Some(v) => {
                for t in export_targets(v) {
                    exports.push((".".to_string(), t));
                }
            }
            None => {}
        }
        let entries = ["source", "types", "typings", "module", "main", "browser"]
            .iter()
            .filter_map(|k| value.get(*k).and_then(|v| v.as_str()))
            .map(str::to_string)
            .collect();
        Some((
            name,
            JsPackage {
                dir: dir_of(path).to_string(),
                entries,
                exports,
            },
        ))
    }
}

/// The files an `exports` value points at, source-like conditions first: a string, an array of
/// alternatives, or conditions (`{"types": …, "import": …}`, nested).
fn export_targets(v: &serde_json::Value) -> Vec<String> {
    const PREFERRED: [&str; 8] = [
        "source",
        "types",
        "typescript",
        "import",
        "module",
        "default",
        "require",
        "node",
    ];
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().flat_map(export_targets).collect(),
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by_key(|k| {
                PREFERRED
                    .iter()
                    .position(|p| p == k)
                    .unwrap_or(PREFERRED.len())
            });
            keys.into_iter()
                .flat_map(|k| export_targets(&m[k]))
                .collect()
        }
        _ => Vec::new(),
    }
}

// -------------------------------------------------------------------- tsconfig

struct TsConfig {
    /// Directory of the tsconfig file.
    dir: String,
    /// `baseUrl`, relative to the repository root.
    base_url: Option<String>,
    /// `paths` patterns with their substitutions, relative to the repository root.
    paths: Vec<(String, Vec<String>)>,
}

/// How deep a chain of `extends` is followed (TypeScript itself has no limit; cycles stop here too).
const TSCONFIG_EXTENDS_DEPTH: usize = 8;

/// A config's `compilerOptions` with those of the configs it extends merged beneath, and the
/// directories that `baseUrl` and `paths` are relative to (the file that set each).
struct TsOptions {
    options: serde_json::Map<String, serde_json::Value>,
    base_dir: Option<String>,
    paths_dir: Option<String>,
}

/// What the tsconfigs' `extends` entries named: the configs found (repository paths), and the
/// entries that named no file (the config's directory, the entry).
#[derive(Default)]
struct Extends {
    found: BTreeSet<String>,
    missing: BTreeSet<(String, String)>,
}

impl TsOptions {
    /// Reads `path` (repository-relative) and everything it extends, depth first: an array
    /// of bases is applied in order, later entries over earlier ones, the file's own options last.
    fn read(root: &Path, path: &str, depth: usize, extended: &mut Extends) -> Option<TsOptions> {
        let value = read_jsonc(&root.join(path))?;
        let own_dir = dir_of(path).to_string();
        let mut merged = TsOptions {
            options: serde_json::Map::new(),
            base_dir: None,
            paths_dir: None,
        };
        let bases: Vec<&str> = match value.get("extends") {
            Some(serde_json::Value::String(s)) => vec![s.as_str()],
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        };
        if depth < TSCONFIG_EXTENDS_DEPTH {
            for base in bases {
                let Some(base_path) = tsconfig_extends_path(root, &own_dir, base) else {
                    extended.missing.insert((own_dir.clone(), base.to_string()));
                    continue;
                };
                extended.found.insert(base_path.clone());
                if let Some(parent) = TsOptions::read(root, &base_path, depth + 1, extended) {
                    merged.overlay(parent);
                }
            }
        }
        let options = value
            .get("compilerOptions")
            .and_then(|o| o.as_object())
            .cloned()
            .unwrap_or_default();
        merged.overlay(TsOptions {
            base_dir: options.contains_key("baseUrl").then(|| own_dir.clone()),
            paths_dir: options.contains_key("paths").then(|| own_dir.clone()),
            options,
        });
        Some(merged)
    }

    fn overlay(&mut self, top: TsOptions) {
        self.options.extend(top.options);
        if top.base_dir.is_some() {
            self.base_dir = top.base_dir;
        }
        if top.paths_dir.is_some() {
            self.paths_dir = top.paths_dir;
        }
    }
}

/// The repository-relative file an `extends` entry names: a relative path (`.json` optional), or
/// a package in a `node_modules` of the config's directory or an ancestor (`@tsconfig/node20`
/// → its `tsconfig.json`; `pkg/base` → `pkg/base.json`). `None` outside the repository or when
/// no such file exists.
pub fn tsconfig_extends_path(root: &Path, own_dir: &str, spec: &str) -> Option<String> {
    let is_file = |p: &str| root.join(p).is_file();
    let first_file = |stem: &str| {
        [
            stem.to_string(),
            format!("{stem}.json"),
            format!("{stem}/tsconfig.json"),
        ]
        .into_iter()
        .find(|p| is_file(p))
    };
    if spec.starts_with("./") || spec.starts_with("../") || spec == "." || spec == ".." {
        return first_file(&normalize(&join(own_dir, spec))?);
    }
    if spec.starts_with('/') || spec.is_empty() {
        return None;
    }
    let mut dir = Some(own_dir);
    while let Some(d) = dir {
        if let Some(found) = normalize(&join(&join(d, "node_modules"), spec))
            .as_deref()
            .and_then(first_file)
        {
            return Some(found);
        }
        dir = (!d.is_empty()).then(|| dir_of(d));
    }
    None
}

impl TsConfig {
    fn load(root: &Path, path: &str, extended: &mut Extends) -> Option<TsConfig> {
        let own_dir = dir_of(path).to_string();
        let TsOptions {
            options,
            base_dir,
            paths_dir,
        } = TsOptions::read(root, path, 0, extended)?;
        let opts = serde_json::Value::Object(options);
        let base_dir = base_dir.unwrap_or_else(|| own_dir.clone());
        let paths_dir = paths_dir.unwrap_or_else(|| own_dir.clone());
        let value = opts;
        let base_url = value
            .get("baseUrl")
            .and_then(|b| b.as_str())
            .and_then(|b| normalize(&join(&base_dir, b)));
        // `paths` are relative to `baseUrl` when there is one, else to their own file.
        let path_base = base_url.clone().unwrap_or(paths_dir);
        let mut paths: Vec<(String, Vec<String>)> = value
            .get("paths")
            .and_then(|p| p.as_object())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let subs = v
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|s| s.as_str())
                                    .map(|s| join(&path_base, s))
                                    .collect()
                            })
                            .unwrap_or_default();
                        (k.clone(), subs)
                    })
                    .collect()
            })
            .unwrap_or_default();
        // The longest prefix wins, as in TypeScript.
        paths.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        Some(TsConfig {
            dir: dir_of(path).to_string(),
            base_url,
            paths,
        })
    }

    fn candidates(&self, spec: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (pattern, subs) in &self.paths {
            let matched: Option<&str> = match pattern.split_once('*') {
                Some((pre, post)) => spec
                    .strip_prefix(pre)
                    .and_then(|r| r.strip_suffix(post))
                    .filter(|_| spec.len() >= pre.len() + post.len()),
                None => (spec == pattern).then_some(""),
            };
            if let Some(star) = matched {
                for s in subs {
                    out.push(s.replacen('*', star, 1));
                }
            }
        }
        if let Some(base) = &self.base_url {
            out.push(join(base, spec));
        }
        out
    }
}

/// Reads JSON with comments and trailing commas, as tsconfig allows.
fn read_jsonc(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&strip_jsonc(&text)).ok()
}

fn strip_jsonc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut in_str = false;
    while i < chars.len() {
        let c = chars[i];
        if in_str {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 1;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            continue;
        } else if c == ',' {
            // Drop a trailing comma before `}` or `]`.
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if !matches!(next, Some('}') | Some(']')) {
                out.push(c);
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

// -------------------------------------------------------------------- Rust modules

/// The module tree of every crate in the repository, from `mod` declarations.
#[derive(Default)]
struct RustModules {
    /// `mod` import id → the file it declares.
    mod_targets: HashMap<i64, i64>,
    /// File → (its crate root file, its module path from the root).
    module_of: HashMap<i64, (i64, Vec<String>)>,
    /// (crate root, module path) → file.
    file_of: HashMap<(i64, Vec<String>), i64>,
    /// Workspace crate names (`-` → `_`) → lib root file.
    crates: HashMap<String, i64>,
}

impl RustModules {
    fn build(
        root: &Path,
        files: &[FileInfo],
        imports: &[ImportRow],
        by_path: &HashMap<&str, i64>,
    ) -> RustModules {
        let mut m = RustModules::default();
        let path_of: HashMap<i64, &str> = files.iter().map(|f| (f.id, f.path)).collect();
        // Resolve every `mod x;` to its file. A `mod` import's module is its path from the
        // file's module through any inline modules (`util::text` for `mod util { mod text; }`).
        // Files loaded through `#[path]` own their directory as mod.rs files do, so those are
        // resolved first.
        let mut children: BTreeMap<i64, Vec<(Vec<String>, i64)>> = BTreeMap::new();
        let mut path_loaded: HashSet<i64> = HashSet::new();
        let mods: Vec<&ImportRow> = {
            let mut v: Vec<&ImportRow> = imports.iter().filter(|i| i.kind == "mod").collect();
            v.sort_by_key(|i| (i.names.is_empty(), i.id));
            v
        };
        for imp in mods {
            let Some(path) = path_of.get(&imp.file_id) else {
                continue;
            };
            let segs: Vec<String> = imp
                .module
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let Some((last, scope)) = segs.split_last() else {
                continue;
            };
            let dir = dir_of(path);
            let name = path.rsplit('/').next().unwrap_or(path);
            let stem = name.strip_suffix(".rs").unwrap_or(name);
            let mod_rs = matches!(name, "mod.rs" | "lib.rs" | "main.rs")
                || is_crate_root_path(path)
                || path_loaded.contains(&imp.file_id);
            // The directory the declaring (possibly inline) module owns.
            let mut owned = if mod_rs {
                dir.to_string()
            } else {
                join(dir, stem)
            };
            for s in scope {
                owned = join(&owned, s);
            }
            let cands: Vec<String> = match imp.names.first() {
                // `#[path]` is relative to the file's directory, or inside an inline module to
                // the directory that module owns.
                Some(p) if scope.is_empty() => vec![join(dir, p)],
                Some(p) => vec![join(&owned, p)],
                None => vec![
                    join(&owned, &format!("{last}.rs")),
                    join(&owned, &format!("{last}/mod.rs")),
                ],
            };
            if let Some(id) = cands
                .iter()
                .filter_map(|c| normalize(c))
                .find_map(|c| by_path.get(c.as_str()).copied())
            {
                m.mod_targets.insert(imp.id, id);
                if !imp.names.is_empty() {
                    path_loaded.insert(id);
                }
                children.entry(imp.file_id).or_default().push((segs, id));
            }
        }
        // A fixed order (not the index's ids), so a module reachable two ways is found the same
        // way whatever the index's history.
        for v in children.values_mut() {
            v.sort_by(|a, b| (&a.0, path_of.get(&a.1)).cmp(&(&b.0, path_of.get(&b.1))));
        }
        // Crate roots, and workspace crate names from Cargo.toml.
        let mut roots: Vec<i64> = files
            .iter()
            .filter(|f| f.language == Some("rust") && is_crate_root_path(f.path))
            .map(|f| f.id)
            .collect();
        for f in files
            .iter()
            .filter(|f| f.path == "Cargo.toml" || f.path.ends_with("/Cargo.toml"))
        {
            let Ok(text) = std::fs::read_to_string(super::walk::on_disk(root, f.path)) else {
                continue;
            };
            let Ok(doc) = text.parse::<toml::Table>() else {
                continue;
            };
            let dir = dir_of(f.path);
            let lib_path = doc
                .get("lib")
                .and_then(|l| l.get("path"))
                .and_then(|p| p.as_str())
                .unwrap_or("src/lib.rs");
            let lib =
                normalize(&join(dir, lib_path)).and_then(|p| by_path.get(p.as_str()).copied());
            if let Some(lib) = lib {
                roots.push(lib);
                let name = doc
                    .get("lib")
                    .and_then(|l| l.get("name"))
                    .or_else(|| doc.get("package").and_then(|p| p.get("name")))
                    .and_then(|n| n.as_str());
                if let Some(name) = name {
                    m.crates.insert(name.replace('-', "_"), lib);
                }
            }
            for bin in doc
                .get("bin")
                .and_then(|b| b.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(p) = bin.get("path").and_then(|p| p.as_str())
                    && let Some(id) =
                        normalize(&join(dir, p)).and_then(|p| by_path.get(p.as_str()).copied())
                {
                    roots.push(id);
                }
            }
        }
        // By path, not id: ids follow the index's history, paths do not.
        roots.sort_unstable_by_key(|r| (path_of.get(r).copied(), *r));
        roots.dedup();
        // Breadth-first from each root; a file reachable from two roots keeps the first.
        // Inline modules on the way (`util` of `util::text`) live in the declaring file.
        for &r in &roots {
            let mut queue = VecDeque::from([(r, Vec::<String>::new())]);
            let mut seen = HashSet::new();
            while let Some((f, path)) = queue.pop_front() {
                if !seen.insert(f) {
                    continue;
                }
                m.file_of.insert((r, path.clone()), f);
                m.module_of.entry(f).or_insert((r, path.clone()));
                for (segs, child) in children.get(&f).map(Vec::as_slice).unwrap_or(&[]) {
                    let mut p = path.clone();
                    for s in &segs[..segs.len() - 1] {
                        p.push(s.clone());
                        m.file_of.entry((r, p.clone())).or_insert(f);
                    }
                    p.push(segs[segs.len() - 1].clone());
                    queue.push_back((*child, p));
                }
            }
        }
        m
    }

    /// Resolves a `use` path to the deepest module file it names. `scope` is the inline
    /// module the `use` sits in (`tests` for `mod tests { use super::*; }`).
    fn resolve_use(&self, file: i64, path: &str, scope: &[String]) -> Resolved {
        let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let Some(&first) = segs.first() else {
            return Ctx::none(None);
        };
        // The module the `use` is written in: the file's module and the inline scope.
        let here = self.module_of.get(&file).map(|(root, m)| {
            let mut m = m.clone();
            m.extend(scope.iter().flat_map(|s| s.split("::")).map(str::to_string));
            (*root, m)
        });
        let (root, mut module, rest): (i64, Vec<String>, &[&str]) = match (first, &here) {
            ("crate", Some((root, _))) => (*root, vec![], &segs[1..]),
            ("self", Some((root, m))) => (*root, m.clone(), &segs[1..]),
            ("super", Some((root, m))) => {
                let mut m = m.clone();
                let mut rest = &segs[..];
                while rest.first() == Some(&"super") {
                    m.pop();
                    rest = &rest[1..];
                }
                (*root, m, rest)
            }
            (name, _) if self.crates.contains_key(name) => (self.crates[name], vec![], &segs[1..]),
            (name, Some((root, m))) => {
                // A path relative to the current module (`use sub::x` with `mod sub;`).
                let mut child = m.clone();
                child.push(name.to_string());
                if self.file_of.contains_key(&(*root, child.clone())) {
                    (*root, child, &segs[1..])
                } else if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                    // An item of the current module (`use Kind::*` for an enum defined here):
                    // crate names are lower case.
                    return Ctx::none(None);
                } else {
                    return Ctx::none(Some(name.to_string()));
                }
            }
            ("crate" | "self" | "super", None) => return Ctx::none(None),
            (name, None) => return Ctx::none(Some(name.to_string())),
        };
        for seg in rest {
            let mut next = module.clone();
            next.push((*seg).to_string());
            if self.file_of.contains_key(&(root, next.clone())) {
                module = next;
            } else {
                break;
            }
        }
        // An inline module the tree does not know (it declares no file modules) is part of
        // the nearest enclosing module that it does.
        while !module.is_empty() && !self.file_of.contains_key(&(root, module.clone())) {
            module.pop();
        }
        match self.file_of.get(&(root, module)) {
            Some(id) => Resolved {
                targets: vec![*id],
                external: None,
            },
            None => Ctx::none(None),
        }
    }
}

/// Conventional crate roots: src/lib.rs, src/main.rs, src/bin/*.rs, src/bin/*/main.rs, build.rs,
/// and the top-level files of tests/, examples/ and benches/ and their `*/main.rs`.
fn is_crate_root_path(path: &str) -> bool {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    if !name.ends_with(".rs") {
        return false;
    }
    let last_dir = dir.rsplit('/').next().unwrap_or(dir);
    let parent_dir = dir_of(dir).rsplit('/').next().unwrap_or("");
    (last_dir == "src" && (name == "lib.rs" || name == "main.rs"))
        || (dir.ends_with("src/bin") || dir == "src/bin")
        || (dir.contains("src/bin/") && name == "main.rs")
        || matches!(last_dir, "tests" | "examples" | "benches")
        || (matches!(parent_dir, "tests" | "examples" | "benches") && name == "main.rs")
        || name == "build.rs"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_names() {
        assert_eq!(js_package("@scope/pkg/sub"), "@scope/pkg");
        assert_eq!(js_package("lodash/fp"), "lodash");
        assert_eq!(js_package("node:fs"), "fs");
        assert_eq!(js_package("npm:react@18.2/jsx-runtime"), "react");
        assert_eq!(js_package("jsr:@std/path@1"), "@std/path");
        assert_eq!(
            js_package("https://deno.land/std@0.224.0/path/mod.ts"),
            "deno.land/std"
        );
        assert_eq!(js_package("https://esm.sh/react@18"), "esm.sh/react");
        assert_eq!(go_package("github.com/x/y/z"), "github.com/x/y");
        assert_eq!(go_package("golang.org/x/tools/go"), "golang.org/x/tools");
        assert_eq!(go_package("go.uber.org/zap/core"), "go.uber.org/zap");
        assert_eq!(go_package("net/http"), "net/http");
        assert_eq!(
            java_package("org.junit.jupiter.api.Test"),
            "org.junit.jupiter"
        );
        assert_eq!(java_package("java.util.List"), "java.util");
        assert_eq!(java_package("org.junit.*"), "org.junit");
    }

    #[test]
    fn jsonc() {
        let v: serde_json::Value = serde_json::from_str(&strip_jsonc(
            "{\n // c\n \"a\": \"x//y\", /* b */ \"b\": [1,],\n}",
        ))
        .unwrap_or_default();
        assert_eq!(v["a"], "x//y");
        assert_eq!(v["b"][0], 1);
    }

    #[test]
    fn crate_roots() {
        for p in [
            "src/lib.rs",
            "src/main.rs",
            "src/bin/tool.rs",
            "src/bin/tool/main.rs",
            "crates/a/src/lib.rs",
            "tests/it.rs",
            "examples/demo.rs",
            "examples/demo/main.rs",
            "build.rs",
        ] {
            assert!(is_crate_root_path(p), "{p}");
        }
        for p in [
            "src/util.rs",
            "src/bin/tool/args.rs",
            "examples/demo/args.rs",
            "tests/common/mod.rs",
        ] {
            assert!(!is_crate_root_path(p), "{p}");
        }
    }

    #[test]
    fn normalizes() {
        assert_eq!(normalize("a/./b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize("../x"), None);
    }
}
