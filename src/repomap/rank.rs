//! File and symbol importance: PageRank over the graph where a file that references a name points
//! at the files defining it, plus import edges.
//!
//! Weights: a reference says more when the name is long and compound (`parse_config`,
//! `HttpClient`), defined in few files, and public; it says little for `get`, `new`, `_x` or
//! `__init__`. Repeated references count with a square root, so one file calling a helper fifty
//! times does not drown everything else.
//!
//! Names arrive as interned ids (see `store`), so ranking never hashes or compares a string.
//! Invariant: the result depends only on the index contents, never on id values or hash order
//! (every sum runs in path order, then name order), so the same tree gives the same map.

use std::collections::{HashMap, VecDeque};

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::store::{GraphRow, decode_defs, decode_refs};

/// Names defined in more files than this carry no signal about which definition is meant.
const MAX_DEFINERS: usize = 25;
/// Weight of one resolved import edge, next to a reference weight of about 1.
const IMPORT_WEIGHT: f64 = 2.0;
pub const DAMPING: f64 = 0.85;

pub struct Input<'a> {
    /// File ids, in a stable order (by path): every sum follows it.
    pub files: &'a [i64],
    /// Each source file's references and definitions.
    pub graph: &'a [GraphRow],
    /// Import edges (src, dst).
    pub edges: &'a [(i64, i64)],
    /// The name ids of [`COMMON_METHODS`] (`store` `name_ids`), sorted.
    pub common: &'a [u32],
    /// Each file's [`family`], parallel to `files`; empty: all one family.
    pub families: &'a [u8],
}

impl Input<'_> {
    /// The [`family`] of the file at position `i` of `files` (0 for all without `families`).
    fn family_of(&self, i: usize) -> u8 {
        self.families.get(i).copied().unwrap_or(0)
    }
}

/// Languages whose files can name each other's definitions: C with C++ (headers), JavaScript
/// with TypeScript; every other language alone. A reference reaches only definitions of its own
/// family: by name alone a Rust `Status` pointed at a Go fixture's `Status`, a Python test's
/// `parse` at a C function.
pub fn family(language: Option<&str>) -> u8 {
    match language {
        Some("c" | "cpp") => 1,
        Some("javascript" | "typescript" | "tsx") => 2,
        Some("python") => 3,
        Some("rust") => 4,
        Some("go") => 5,
        Some("java") => 6,
        Some(_) => 7,
        None => 0,
    }
}

/// Methods the standard libraries define on their strings, collections, options and streams,
/// called all over any program in the language: `x.is_empty()` in a Rust file is a `Vec`'s or
/// a `str`'s far more often than the one type of the repository that defines `is_empty`, and
/// by name alone (references are not typed) every such call pointed at that type with the
/// weight of a long compound name. A reference to one of these names weighs
/// [`COMMON_WEIGHT`] of what its shape says.
pub const COMMON_METHODS: &[&str] = &[
    // Rust
    "as_bytes",
    "as_deref",
    "as_mut",
    "as_ref",
    "as_slice",
    "as_str",
    "and_then",
    "clear",
    "contains",
    "ends_with",
    "extend",
    "filter_map",
    "find_map",
    "flat_map",
    "for_each",
    "get_mut",
    "insert",
    "into_iter",
    "is_empty",
    "is_err",
    "is_none",
    "is_ok",
    "is_some",
    "iter_mut",
    "lines",
    "map_err",
    "ok_or",
    "ok_or_else",
    "or_default",
    "or_insert",
    "or_insert_with",
    "push_str",
    "read_to_string",
    "remove",
    "retain",
    "sort_by",
    "sort_by_key",
    "sort_unstable",
    "split_once",
    "starts_with",
    "strip_prefix",
    "strip_suffix",
    "to_lowercase",
    "to_owned",
    "to_string",
    "to_uppercase",
    "to_vec",
    "trim_end",
    "trim_start",
    "truncate",
    "unwrap_or",
    "unwrap_or_default",
    "unwrap_or_else",
    "with_capacity",
    "write_all",
    // Python
    "append",
    "endswith",
    "startswith",
    "items",
    "values",
    "split",
    "strip",
    "lower",
    "upper",
    "encode",
    "decode",
    "replace",
    // JavaScript / TypeScript
    "forEach",
    "indexOf",
    "includes",
    "slice",
    "splice",
    "concat",
    "toString",
    "toLowerCase",
    "toUpperCase",
    "startsWith",
    "endsWith",
    "hasOwnProperty",
    "addEventListener",
    "removeEventListener",
    "querySelector",
    "stringify",
    // Java
    "equals",
    "hashCode",
    "getClass",
    "isEmpty",
    "addAll",
    "containsKey",
    "iterator",
    "valueOf",
    "length",
    "charAt",
    "substring",
    "getMessage",
    // C++
    "push",
    "push_back",
    "emplace_back",
    "c_str",
    "empty",
    "begin",
];

/// See [`COMMON_METHODS`].
pub const COMMON_WEIGHT: f64 = 0.2;

pub struct Ranks {
    /// Rank per file id; sums to 1 over files.
    pub files: HashMap<i64, f64>,
    /// Per file, the rank of each of its definitions, in symbol order.
    pub symbols: HashMap<i64, Vec<f32>>,
}

/// The part of a name's weight that depends on the name alone, as a small code stored with each
/// definition: length class × 3 + underscore class.
pub fn shape_code(name: &str) -> u8 {
    let len = name.chars().count();
    let length = if len >= 8 && is_compound(name) {
        3
    } else if len >= 5 {
        2
    } else if len >= 3 {
        1
    } else {
        0
    };
    let underscore = if name.len() > 4 && name.starts_with("__") && name.ends_with("__") {
        2
    } else if name.starts_with('_') {
        1
    } else {
        0
    };
    length * 3 + underscore
}

/// How much one reference says, from the name's shape code and how many files define it.
pub fn weight(shape: u8, definers: usize) -> f64 {
    let mut w = match shape / 3 {
        3 => 4.0,
        2 => 1.5,
        1 => 1.0,
        _ => 0.3,
    };
    w *= match shape % 3 {
        2 => 0.05,
        1 => 0.3,
        _ => 1.0,
    };
    if definers > 5 {
        w *= 0.2;
    }
    w
}

/// How much one reference to `name` says, given how many files define it.
pub fn name_weight(name: &str, definers: usize) -> f64 {
    weight(shape_code(name), definers)
}

/// snake_case, kebab, or camelCase with at least two words.
fn is_compound(name: &str) -> bool {
    let trimmed = name.trim_matches('_');
    if trimmed.contains('_') {
        return true;
    }
    let mut humps = 0;
    let mut prev_lower = false;
    for c in trimmed.chars() {
        if c.is_uppercase() && prev_lower {
            humps += 1;
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    humps >= 1
}

/// The weighted file graph of an index: who references (or imports) whom, and how much.
pub struct Graph<'a> {
    /// File positions follow `Input::files`.
    n: usize,
    rows: Vec<(usize, &'a GraphRow)>,
    /// Per file, its out-edges (target position, weight), merged per target.
    pub edges: Edges,
    /// Per file, the sum of its out-edge weights.
    pub out_sum: Vec<f64>,
    flows: Vec<(u32, f64)>,
    flow_start: Vec<usize>,
    pairs: Vec<(u32, u32)>,
    start: Vec<u32>,
}

impl<'a> Graph<'a> {
    fn definers(&self, id: u32) -> &[(u32, u32)] {
        let id = id as usize;
        if id + 1 >= self.start.len() {
            return &[];
        }
        &self.pairs[self.start[id] as usize..self.start[id + 1] as usize]
    }

    pub fn build(input: &Input<'a>) -> Graph<'a> {
        let n = input.files.len();
        let index: FxHashMap<i64, usize> = input
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (*f, i))
            .collect();
        // Rows in `files` order (the caller's: by path), never by id.
        let mut rows: Vec<(usize, &GraphRow)> = input
            .graph
            .iter()
            .filter_map(|r| index.get(&r.file).map(|&i| (i, r)))
            .collect();
        rows.sort_by_key(|(i, _)| *i);

        // Definers of each name id, as one sorted list of (name, file) cut into per-name ranges.
        // `impl` blocks name a type defined elsewhere, so they do not make a file a definer.
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut shapes: Vec<u8> = Vec::new(); // by name id
        for &(i, row) in &rows {
            for (id, is_impl, shape) in decode_defs(&row.defs) {
                if !is_impl {
                    pairs.push((id, i as u32));
                    let id = id as usize;
                    if id >= shapes.len() {
                        shapes.resize(id + 1, 0);
                    }
                    shapes[id] = shape;
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let max_id = pairs.last().map(|p| p.0 as usize + 1).unwrap_or(0);
        let mut start = vec![0u32; max_id + 1];
        for &(id, _) in &pairs {
            start[id as usize + 1] += 1;
        }
        for k in 0..max_id {
            start[k + 1] += start[k];
        }
        let definers = |id: u32| -> &[(u32, u32)] {
            let id = id as usize;
            if id >= max_id {
                return &[];
            }
            &pairs[start[id] as usize..start[id + 1] as usize]
        };

        // Import edges per source, in the input's order.
        let mut imports: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (s, d) in input.edges {
            if let (Some(&si), Some(&di)) = (index.get(s), index.get(d))
                && si != di
            {
                imports[si].push(di as u32);
            }
        }
        let mut row_of: Vec<Option<&GraphRow>> = vec![None; n];
        for &(i, row) in &rows {
            row_of[i] = Some(row);
        }

        // Per file, in parallel (each file's part depends on nothing but its own row): its
        // reference flows, one per name, whose weight goes to the name's definers (kept for symbol
        // ranks), and its out-edges for PageRank, the reference weights summed per target plus the
        // import edges.
        type Weighted = Vec<(u32, f64)>;
        let per_file: Vec<(Weighted, Weighted)> = (0..n)
            .into_par_iter()
            .map_init(
                || Accumulator::new(n),
                |acc, fi| {
                    let mut flows: Vec<(u32, f64)> = Vec::new(); // (name, weight per definer)
                    if let Some(row) = row_of[fi] {
                        let fam = input.family_of(fi);
                        for (id, count) in decode_refs(&row.refs) {
                            let defs = definers(id);
                            let kin = |g: u32| input.family_of(g as usize) == fam;
                            let definers = defs.iter().filter(|&&(_, g)| kin(g)).count();
                            if definers == 0 || definers > MAX_DEFINERS {
                                continue;
                            }
                            let own = defs.iter().any(|&(_, g)| g as usize == fi);
                            let others = definers - usize::from(own);
                            if others == 0 {
                                continue;
                            }
                            let shape = shapes.get(id as usize).copied().unwrap_or(0);
                            let mut w =
                                weight(shape, definers) * f64::from(count).sqrt() / others as f64;
                            if input.common.binary_search(&id).is_ok() {
                                w *= COMMON_WEIGHT;
                            }
                            flows.push((id, w));
                            for &(_, g) in defs {
                                if g as usize != fi && kin(g) {
                                    acc.add(g, w);
                                }
                            }
                        }
                    }
                    for &d in &imports[fi] {
                        acc.add(d, IMPORT_WEIGHT);
                    }
                    (flows, acc.take())
                },
            )
            .collect();
        let mut flows: Vec<(u32, f64)> = Vec::new();
        let mut flow_start = vec![0usize; n + 1];
        let mut edges = Edges::with_files(0);
        for (fi, (f, e)) in per_file.into_iter().enumerate() {
            flow_start[fi] = flows.len();
            flows.extend(f);
            edges.push_file(e);
        }
        flow_start[n] = flows.len();
        let out_sum = edges.out_sums();

        Graph {
            n,
            rows,
            edges,
            out_sum,
            flows,
            flow_start,
            pairs,
            start,
        }
    }
}

/// One file's out-edges as they are found, parallel edges summed in the order they come (so
/// the same way every time), by target in a dense array: no sort of every reference, only of
/// the distinct targets.
struct Accumulator {
    weight: Vec<f64>,
    seen: Vec<bool>,
    targets: Vec<u32>,
}

impl Accumulator {
    /// For a graph of `n` files.
    fn new(n: usize) -> Self {
        Accumulator {
            weight: vec![0.0; n],
            seen: vec![false; n],
            targets: Vec::new(),
        }
    }

    fn add(&mut self, target: u32, w: f64) {
        let t = target as usize;
        if !self.seen[t] {
            self.seen[t] = true;
            self.targets.push(target);
        }
        self.weight[t] += w;
    }

    /// The edges by target, and the accumulator emptied for the next file.
    fn take(&mut self) -> Vec<(u32, f64)> {
        self.targets.sort_unstable();
        let out = self
            .targets
            .iter()
            .map(|&t| {
                let t_ = t as usize;
                let w = self.weight[t_];
                self.weight[t_] = 0.0;
                self.seen[t_] = false;
                (t, w)
            })
            .collect();
        self.targets.clear();
        out
    }
}

/// Per file, its weighted edges to other files as flat lists (compressed sparse rows): file
/// `f`'s are `targets[start[f]..start[f + 1]]` with the same range of `weights`. Targets and
/// weights apart, 12 bytes an edge to stream instead of a padded 16, and one allocation for
/// the whole graph instead of one per file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edges {
    start: Vec<usize>,
    targets: Vec<u32>,
    weights: Vec<f64>,
}

/// The version of how [`Graph::build`] weighs edges (`weight`, `shape_code`, `IMPORT_WEIGHT`,
/// `MAX_DEFINERS`, `COMMON_METHODS`): a graph kept by an index (see `context`) was built by this
/// version, and the index's ranks were computed by it (an index ranked by another version is
/// ranked again). Raise it with any change to those, so that no kept graph or rank of an older
/// build is used.
pub const GRAPH_VERSION: u32 = 2;

/// First bytes of [`Edges::to_bytes`]: the format and its version.
const EDGES_MAGIC: &[u8; 4] = b"VGE1";

impl Edges {
    /// `n` files without edges.
    pub fn with_files(n: usize) -> Edges {
        Edges {
            start: vec![0; n + 1],
            targets: Vec::new(),
            weights: Vec::new(),
        }
    }

    /// Appends `n` files without edges (files ranked with the graph's but outside it).
    pub fn add_files(&mut self, n: usize) {
        for _ in 0..n {
            self.push_file([]);
        }
    }

    /// Appends a file with these edges.
    fn push_file(&mut self, edges: impl IntoIterator<Item = (u32, f64)>) {
        for (t, w) in edges {
            self.targets.push(t);
            self.weights.push(w);
        }
        self.start.push(self.targets.len());
    }

    /// How many files the edges join.
    pub fn files(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// How many edges file `f` has.
    pub fn len(&self, f: usize) -> usize {
        self.start[f + 1] - self.start[f]
    }

    /// File `f`'s edges: (other file, weight), other files in order.
    pub fn of(&self, f: usize) -> impl Iterator<Item = (u32, f64)> + '_ {
        let (a, b) = (self.start[f], self.start[f + 1]);
        self.targets[a..b]
            .iter()
            .copied()
            .zip(self.weights[a..b].iter().copied())
    }

    /// Per file, the sum of its edges' weights (in target order).
    pub fn out_sums(&self) -> Vec<f64> {
        (0..self.files())
            .map(|f| self.weights[self.start[f]..self.start[f + 1]].iter().sum())
            .collect()
    }

    /// Every edge turned around, its weight × `scale`: each file's in-edges, sources in file
    /// order (a counting sort).
    pub fn reversed(&self, scale: f64) -> Edges {
        let n = self.files();
        let mut start = vec![0usize; n + 1];
        for &g in &self.targets {
            start[g as usize + 1] += 1;
        }
        for k in 0..n {
            start[k + 1] += start[k];
        }
        let mut targets: Vec<u32> = vec![0; self.targets.len()];
        let mut weights: Vec<f64> = vec![0.0; self.targets.len()];
        let mut fill = start.clone();
        for f in 0..n {
            for (g, w) in self.of(f) {
                let at = &mut fill[g as usize];
                targets[*at] = f as u32;
                weights[*at] = w * scale;
                *at += 1;
            }
        }
        Edges {
            start,
            targets,
            weights,
        }
    }

    /// The edges as bytes, for the index to keep: magic, file count, edge count, then each
    /// file's first edge, the targets and the weights, little-endian (u32, u32, f64). `None`
    /// past 2³² edges.
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        let n = u32::try_from(self.files()).ok()?;
        let m = u32::try_from(self.targets.len()).ok()?;
        let mut out = Vec::with_capacity(12 + 4 * self.start.len() + 12 * self.targets.len());
        out.extend_from_slice(EDGES_MAGIC);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&m.to_le_bytes());
        for &s in &self.start {
            out.extend_from_slice(&(s as u32).to_le_bytes());
        }
        for &t in &self.targets {
            out.extend_from_slice(&t.to_le_bytes());
        }
        for &w in &self.weights {
            out.extend_from_slice(&w.to_le_bytes());
        }
        Some(out)
    }

    /// Edges from [`Edges::to_bytes`] for `files` files; `None` unless the bytes are exactly
    /// such edges (another version's format, a different file count, a truncated or damaged
    /// value) and hold what [`Graph::build`] makes: each file's targets in increasing order,
    /// none the file itself, weights finite and not negative (with a negative weight the push
    /// of [`personalized_pagerank`] would never end).
    pub fn from_bytes(bytes: &[u8], files: usize) -> Option<Edges> {
        let u32_at = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let (magic, rest) = bytes.split_at_checked(4)?;
        let (head, rest) = rest.split_at_checked(8)?;
        if magic != EDGES_MAGIC || u32_at(head) as usize != files {
            return None;
        }
        let m = u32_at(&head[4..]) as usize;
        let (start, rest) = rest.split_at_checked(files.checked_add(1)?.checked_mul(4)?)?;
        let (targets, weights) = rest.split_at_checked(m.checked_mul(4)?)?;
        if weights.len() != m.checked_mul(8)? {
            return None;
        }
        let start: Vec<usize> = start.chunks_exact(4).map(|c| u32_at(c) as usize).collect();
        let ordered = start.first() == Some(&0)
            && start.last() == Some(&m)
            && start.windows(2).all(|w| w[0] <= w[1]);
        if !ordered {
            return None;
        }
        let targets: Vec<u32> = targets.chunks_exact(4).map(u32_at).collect();
        let weights: Vec<f64> = weights
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        let targets_valid = (0..files).all(|f| {
            let out = &targets[start[f]..start[f + 1]];
            out.windows(2).all(|w| w[0] < w[1]) && out.iter().all(|&t| t as usize != f)
        }) && targets.iter().all(|&t| (t as usize) < files);
        let weights_valid = weights.iter().all(|w| w.is_finite() && *w >= 0.0);
        (targets_valid && weights_valid).then_some(Edges {
            start,
            targets,
            weights,
        })
    }
}

/// PageRank over the graph. With `teleport` (one weight per file, summing to 1), it is
/// personalised: random jumps, and the rank of files without out-edges, go back to those
/// files in those proportions instead of to every file alike.
///
/// Each iteration gathers a file's new rank from its in-edges (sources in file order) on all
/// cores: every sum adds the same terms in the same order as spreading each file's rank along
/// its out-edges in file order would, so the result is the same bit for bit, whatever the
/// number of threads.
pub fn pagerank(graph: &Graph, teleport: Option<&[f64]>) -> Vec<f64> {
    let n = graph.n;
    let out_sum = &graph.out_sum;
    let uniform = if n > 0 { 1.0 / n as f64 } else { 0.0 };
    let jump = |i: usize| teleport.map_or(uniform, |t| t[i]);
    let incoming = graph.edges.reversed(1.0);
    let dangling_files: Vec<usize> = (0..n).filter(|&i| out_sum[i] == 0.0).collect();
    let mut r: Vec<f64> = (0..n).map(jump).collect();
    let mut next = vec![0.0; n];
    let mut share = vec![0.0; n];
    for _ in 0..100 {
        let dangling: f64 = dangling_files.iter().map(|&i| r[i]).sum();
        let base = (1.0 - DAMPING) + DAMPING * dangling;
        for f in 0..n {
            share[f] = if out_sum[f] == 0.0 {
                0.0
            } else {
                DAMPING * r[f] / out_sum[f]
            };
        }
        next.par_iter_mut()
            .with_min_len(512)
            .enumerate()
            .for_each(|(g, x)| {
                let mut v = base * jump(g);
                for (f, w) in incoming.of(g) {
                    v += share[f as usize] * w;
                }
                *x = v;
            });
        let delta: f64 = r.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut r, &mut next);
        if delta < 1e-10 {
            break;
        }
    }
    r
}

/// Personalised PageRank by forward push (Andersen, Chung and Lang) over the file graph `edges`
/// (a [`Graph`]'s, or the copy the index keeps for `vibe context`) with every
/// edge also followed backwards at `reverse` × its weight: the fixed point of [`pagerank`] with
/// `teleport` on that graph, to within `eps` × out-degree per file. Residual rank is pushed
/// from a file while it exceeds `eps` times its out-degree, so the work is bound by the seeds'
/// neighbourhood, not by the whole graph: on Node.js's 19,554 files and 1.7 M edges, ~45 ms
/// (backward edges included) at `eps` 3e-7 against ~670 ms for 100 power iterations. A file
/// without out-edges sends its rank back to the teleport files, as in [`pagerank`]: that rank
/// is dropped during the push and the result scaled up to make up for it. Files are pushed
/// first in, first out, starting from the teleport files in file order, so the result is the
/// same on every run.
pub fn personalized_pagerank(edges: &Edges, teleport: &[f64], reverse: f64, eps: f64) -> Vec<f64> {
    let n = edges.files();
    let backward = edges.reversed(reverse);
    let out_sum: Vec<f64> = edges
        .out_sums()
        .into_iter()
        .enumerate()
        .map(|(u, forward)| forward + backward.of(u).map(|x| x.1).sum::<f64>())
        .collect();
    let degree = |u: usize| (edges.len(u) + backward.len(u)).max(1) as f64;

    let seeds: Vec<(usize, f64)> = teleport
        .iter()
        .enumerate()
        .filter(|(_, t)| **t > 0.0)
        .map(|(i, t)| (i, *t))
        .collect();
    let mut rank = vec![0.0f64; n];
    let mut residual = vec![0.0f64; n];
    let mut queued = vec![false; n];
    let mut queue = VecDeque::new();
    for &(i, t) in &seeds {
        residual[i] = t;
        queued[i] = true;
        queue.push_back(i);
    }
    // The rank that files without edges would send back to the teleport files is dropped here
    // and made up for at the end: with it sent back, the fixed point is the one without it
    // times a constant, as the teleport is the only place it goes. Sent back as it comes, each
    // such file pushed to every seed, and a task naming thousands of files without edges took
    // seconds (quadratic in the seeds); pooled and sent back in rounds, every round pushed from
    // all the seeds again (+9 ms on an ordinary task over the standard library).
    let mut dropped = 0.0f64;
    while let Some(u) = queue.pop_front() {
        queued[u] = false;
        let r = residual[u];
        if r <= eps * degree(u) {
            continue;
        }
        residual[u] = 0.0;
        rank[u] += (1.0 - DAMPING) * r;
        if out_sum[u] == 0.0 {
            dropped += DAMPING * r;
            continue;
        }
        let share = DAMPING * r / out_sum[u];
        for (v, w) in edges.of(u).chain(backward.of(u)) {
            let v = v as usize;
            residual[v] += share * w;
            if !queued[v] && residual[v] > eps * degree(v) {
                queued[v] = true;
                queue.push_back(v);
            }
        }
    }
    // Without the dropped rank the ranks and residuals sum to `total - dropped`; with it sent
    // back they would sum to `total`, in the same proportions.
    let total: f64 = seeds.iter().map(|s| s.1).sum();
    if dropped > 0.0 && total > dropped {
        let scale = total / (total - dropped);
        rank.iter_mut().for_each(|r| *r *= scale);
    }
    rank
}

pub fn rank(input: &Input) -> Ranks {
    let graph = Graph::build(input);
    let r = pagerank(&graph, None);
    let n = graph.n;
    let (out_sum, flows, flow_start, rows) =
        (&graph.out_sum, &graph.flows, &graph.flow_start, &graph.rows);
    let definers = |id: u32| graph.definers(id);

    // Symbol ranks: the rank that flowed into each (file, name) through references. Every
    // definer of a name gets the same inflow, except that a file's own references to a name it
    // also defines do not flow to itself; those few are subtracted afterwards.
    let mut inflow: FxHashMap<(u32, u8), f64> = FxHashMap::default();
    let mut own: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    for f in 0..n {
        if out_sum[f] == 0.0 {
            continue;
        }
        let share = r[f] / out_sum[f];
        for &(id, w) in &flows[flow_start[f]..flow_start[f + 1]] {
            *inflow.entry((id, input.family_of(f))).or_insert(0.0) += share * w;
            if definers(id).iter().any(|&(_, g)| g as usize == f) {
                *own.entry((f as u32, id)).or_insert(0.0) += share * w;
            }
        }
    }
    let mut symbols: HashMap<i64, Vec<f32>> = HashMap::new();
    for (fi, row) in rows {
        let ranks = decode_defs(&row.defs)
            .map(|(id, is_impl, _)| {
                if is_impl {
                    return 0.0;
                }
                let total = inflow
                    .get(&(id, input.family_of(*fi)))
                    .copied()
                    .unwrap_or(0.0);
                let mine = own.get(&(*fi as u32, id)).copied().unwrap_or(0.0);
                (total - mine).max(0.0) as f32
            })
            .collect();
        symbols.insert(row.file, ranks);
    }
    Ranks {
        files: input.files.iter().zip(r).map(|(f, r)| (*f, r)).collect(),
        symbols,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{encode_varint, test_blob};

    /// Merges parallel edges: PageRank only needs one weight per (source, target). The sort is
    /// stable, so equal targets keep their push order and sum the same way every time.
    fn merge_parallel(out: &mut Vec<(u32, f64)>) {
        out.sort_by_key(|e| e.0);
        let mut merged: Vec<(u32, f64)> = Vec::with_capacity(out.len());
        for &(g, w) in out.iter() {
            match merged.last_mut() {
                Some(last) if last.0 == g => last.1 += w,
                _ => merged.push((g, w)),
            }
        }
        *out = merged;
    }

    /// The graph with every edge also backwards at `weight` × its forward weight, parallel edges
    /// summed: what `personalized_pagerank` follows, for `pagerank` to check it against.
    fn add_reverse_edges(graph: &mut Graph, weight: f64) {
        let n = graph.edges.files();
        let mut lists: Vec<Vec<(u32, f64)>> = (0..n).map(|f| graph.edges.of(f).collect()).collect();
        for f in 0..n {
            for (g, w) in graph.edges.of(f) {
                lists[g as usize].push((f as u32, w * weight));
            }
        }
        let mut edges = Edges::with_files(0);
        for mut out in lists {
            merge_parallel(&mut out);
            edges.push_file(out);
        }
        graph.out_sum = edges.out_sums();
        graph.edges = edges;
    }

    /// PageRank as it was computed before the gather: each file's rank spread along its
    /// out-edges in file order.
    fn pagerank_by_scatter(graph: &Graph, teleport: Option<&[f64]>) -> Vec<f64> {
        let n = graph.n;
        let (edges, out_sum) = (&graph.edges, &graph.out_sum);
        let edges: Vec<Vec<(u32, f64)>> = (0..n).map(|f| edges.of(f).collect()).collect();
        let uniform = 1.0 / n as f64;
        let jump = |i: usize| teleport.map_or(uniform, |t| t[i]);
        let mut r: Vec<f64> = (0..n).map(jump).collect();
        let mut next = vec![0.0; n];
        for _ in 0..100 {
            let dangling: f64 = (0..n).filter(|&i| out_sum[i] == 0.0).map(|i| r[i]).sum();
            let base = (1.0 - DAMPING) + DAMPING * dangling;
            next.iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = base * jump(i));
            for (f, out) in edges.iter().enumerate() {
                if out_sum[f] == 0.0 {
                    continue;
                }
                let share = DAMPING * r[f] / out_sum[f];
                for &(g, w) in out {
                    next[g as usize] += share * w;
                }
            }
            let delta: f64 = r.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
            std::mem::swap(&mut r, &mut next);
            if delta < 1e-10 {
                break;
            }
        }
        r
    }

    #[test]
    fn gather_gives_the_scatter_ranks_bit_for_bit() {
        // 9,000 files (more than one parallel chunk), each referencing a few others' names.
        let n = 9_000i64;
        let rows: Vec<GraphRow> = (1..=n)
            .map(|f| {
                let mut refs = Vec::new();
                for k in [7, 31, 1_009] {
                    let target = (f * k) % n + 1;
                    if target != f && f % 97 != 0 {
                        encode_varint(&mut refs, target as u32);
                        encode_varint(&mut refs, (f % 3 + 1) as u32);
                    }
                }
                GraphRow {
                    file: f,
                    refs,
                    defs: test_blob(f as u32, &format!("name_{f}")),
                }
            })
            .collect();
        let files: Vec<i64> = (1..=n).collect();
        let input = Input {
            files: &files,
            graph: &rows,
            edges: &[],
            common: &[],
            families: &[],
        };
        let graph = Graph::build(&input);
        assert_eq!(pagerank(&graph, None), pagerank_by_scatter(&graph, None));
        let mut teleport = vec![0.0; n as usize];
        teleport[10] = 0.5;
        teleport[4_321] = 0.5;
        assert_eq!(
            pagerank(&graph, Some(&teleport)),
            pagerank_by_scatter(&graph, Some(&teleport))
        );
    }

    #[test]
    fn parallel_edges_are_one_edge_with_their_weights_summed() {
        // File 1 references name 2 (defined by file 2) and name 3 (file 3) and imports file 2,
        // in that order; targets come out sorted, each once.
        let mut refs = Vec::new();
        for (id, count) in [(3u32, 4u32), (2, 1)] {
            encode_varint(&mut refs, id);
            encode_varint(&mut refs, count);
        }
        let rows = vec![
            GraphRow {
                file: 1,
                refs,
                defs: test_blob(1, "main"),
            },
            GraphRow {
                file: 2,
                refs: Vec::new(),
                defs: test_blob(2, "parse_config"),
            },
            GraphRow {
                file: 3,
                refs: Vec::new(),
                defs: test_blob(3, "load_settings"),
            },
        ];
        let input = Input {
            files: &[1, 2, 3],
            graph: &rows,
            edges: &[(1, 2)],
            common: &[],
            families: &[],
        };
        let graph = Graph::build(&input);
        let to_2 = name_weight("parse_config", 1) + IMPORT_WEIGHT;
        let to_3 = name_weight("load_settings", 1) * 2.0;
        assert_eq!(
            graph.edges.of(0).collect::<Vec<_>>(),
            [(1, to_2), (2, to_3)]
        );
        assert_eq!((graph.edges.len(1), graph.edges.len(2)), (0, 0));
        assert_eq!(graph.out_sum[0], to_2 + to_3);
    }

    #[test]
    fn references_reach_only_their_language_family_and_common_methods_weigh_less() {
        // Name 2 `Status` is defined by a Rust file (1) and a Go file (2); name 3 `is_empty`
        // by the Rust file. Files 3 (Rust) and 4 (Go) reference both.
        let refs = || {
            let mut refs = Vec::new();
            for id in [2u32, 3] {
                encode_varint(&mut refs, id);
                encode_varint(&mut refs, 1);
            }
            refs
        };
        let mut rust_defs = test_blob(2, "Status");
        rust_defs.extend(test_blob(3, "is_empty"));
        let rows = vec![
            GraphRow {
                file: 1,
                refs: Vec::new(),
                defs: rust_defs,
            },
            GraphRow {
                file: 2,
                refs: Vec::new(),
                defs: test_blob(2, "Status"),
            },
            GraphRow {
                file: 3,
                refs: refs(),
                defs: Vec::new(),
            },
            GraphRow {
                file: 4,
                refs: refs(),
                defs: Vec::new(),
            },
        ];
        let (rust, go) = (family(Some("rust")), family(Some("go")));
        let families = [rust, go, rust, go];
        let input = Input {
            files: &[1, 2, 3, 4],
            graph: &rows,
            edges: &[],
            common: &[3],
            families: &families,
        };
        let graph = Graph::build(&input);
        // Each `Status` goes to the one definer of its own language, whole; `is_empty` from
        // the Rust file at COMMON_WEIGHT, and not at all from the Go file.
        let status = name_weight("Status", 1);
        let is_empty = name_weight("is_empty", 1) * COMMON_WEIGHT;
        assert_eq!(
            graph.edges.of(2).collect::<Vec<_>>(),
            [(0, status + is_empty)]
        );
        assert_eq!(graph.edges.of(3).collect::<Vec<_>>(), [(1, status)]);
        // Symbol ranks follow the same flows: the Go `Status` gets only the Go file's rank.
        let ranks = rank(&input);
        let r = |f: i64| ranks.files[&f];
        let go_status = ranks.symbols[&2][0] as f64;
        assert!((go_status - r(4)).abs() < 1e-6, "{go_status} vs {}", r(4));
        assert_eq!(family(Some("c")), family(Some("cpp")));
        assert_eq!(family(Some("javascript")), family(Some("tsx")));
        assert_ne!(family(Some("python")), family(Some("rust")));
    }

    #[test]
    fn edges_are_kept_as_bytes_and_other_bytes_are_refused() {
        let mut edges = Edges::with_files(0);
        edges.push_file([(1, 0.5), (2, 1.25)]);
        edges.push_file([]);
        edges.push_file([(0, 3.0)]);
        assert_eq!(edges.files(), 3);
        assert_eq!(edges.out_sums(), [1.75, 0.0, 3.0]);
        assert_eq!(edges.reversed(1.0).reversed(1.0), edges);
        assert_eq!(
            edges.reversed(0.5).of(0).collect::<Vec<_>>(),
            [(2, 1.5)],
            "in-edges, weights scaled"
        );
        let bytes = edges.to_bytes().expect("few edges");
        assert_eq!(Edges::from_bytes(&bytes, 3).as_ref(), Some(&edges));
        assert_eq!(
            Edges::from_bytes(&Edges::with_files(2).to_bytes().unwrap_or_default(), 2),
            Some(Edges::with_files(2))
        );
        // Another file count, any truncation, trailing bytes, another format.
        assert_eq!(Edges::from_bytes(&bytes, 4), None);
        for cut in 0..bytes.len() {
            assert_eq!(Edges::from_bytes(&bytes[..cut], 3), None, "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Edges::from_bytes(&longer, 3), None);
        let mut other = bytes.clone();
        other[3] = b'2';
        assert_eq!(Edges::from_bytes(&other, 3), None);
        // Damaged values: a target past the last file, edge ranges out of order, a NaN weight.
        let targets = 12 + 4 * 4;
        let mut bad = bytes.clone();
        bad[targets..targets + 4].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(Edges::from_bytes(&bad, 3), None);
        let mut bad = bytes.clone();
        bad[16..20].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(Edges::from_bytes(&bad, 3), None);
        let weights = targets + 4 * 3;
        for w in [f64::NAN, f64::INFINITY, -0.5] {
            let mut bad = bytes.clone();
            bad[weights..weights + 8].copy_from_slice(&w.to_le_bytes());
            assert_eq!(Edges::from_bytes(&bad, 3), None, "weight {w}");
        }
        // What Graph::build never makes: a file's targets out of order or twice, an edge from
        // a file to itself.
        for (first, second) in [(2u32, 1u32), (1, 1), (0, 2)] {
            let mut bad = bytes.clone();
            bad[targets..targets + 4].copy_from_slice(&first.to_le_bytes());
            bad[targets + 4..targets + 8].copy_from_slice(&second.to_le_bytes());
            assert_eq!(Edges::from_bytes(&bad, 3), None, "{first}, {second}");
        }
    }

    #[test]
    fn push_matches_power_iteration() {
        // Nine files, each defining one name; the first eight reference up to three others,
        // file 9 is alone.
        let mut rows = Vec::new();
        for f in 1..=9i64 {
            let mut refs = Vec::new();
            for target in [(f % 8) + 1, (f * 3 % 8) + 1, 1] {
                if target != f && f != 5 && f != 9 {
                    encode_varint(&mut refs, target as u32);
                    encode_varint(&mut refs, 1);
                }
            }
            rows.push(GraphRow {
                file: f,
                refs,
                defs: test_blob(f as u32, &format!("name_number_{f}")),
            });
        }
        let files: Vec<i64> = (1..=9).collect();
        let input = Input {
            files: &files,
            graph: &rows,
            edges: &[],
            common: &[],
            families: &[],
        };
        let mut teleport = vec![0.0; 9];
        teleport[2] = 0.6;
        teleport[6] = 0.2;
        teleport[8] = 0.2;
        // Without reverse edges file 5 references nothing, and file 9 has no edges at all:
        // their rank goes back to the seeds.
        let graph = Graph::build(&input);
        assert_eq!(graph.out_sum[4], 0.0);
        assert_eq!(graph.out_sum[8], 0.0);
        for reverse in [0.0, 0.35] {
            let mut merged = Graph::build(&input);
            add_reverse_edges(&mut merged, reverse);
            let exact = pagerank(&merged, Some(&teleport));
            let pushed = personalized_pagerank(&graph.edges, &teleport, reverse, 1e-9);
            for (a, b) in exact.iter().zip(&pushed) {
                assert!((a - b).abs() < 1e-6, "{exact:?} vs {pushed:?}");
            }
            assert!((exact.iter().sum::<f64>() - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn weights_prefer_specific_names() {
        assert!(name_weight("parse_config", 1) > name_weight("get", 1));
        assert!(name_weight("HttpClient", 1) > name_weight("client", 1));
        assert!(name_weight("__init__", 1) < name_weight("init", 1));
        assert!(name_weight("process", 10) < name_weight("process", 1));
    }

    #[test]
    fn referenced_file_ranks_higher_and_is_stable() {
        // Names: 1 = main, 2 = parse_config, 3 = unused_helper.
        let mut refs = Vec::new();
        encode_varint(&mut refs, 2);
        encode_varint(&mut refs, 3);
        let row = |file, refs: Vec<u8>, def: (u32, &str)| GraphRow {
            file,
            refs,
            defs: test_blob(def.0, def.1),
        };
        let graph = vec![
            row(1, refs, (1, "main")),
            row(2, vec![], (2, "parse_config")),
            row(3, vec![], (3, "unused_helper")),
        ];
        let input = Input {
            files: &[1, 2, 3],
            graph: &graph,
            edges: &[],
            common: &[],
            families: &[],
        };
        let a = rank(&input);
        assert!(a.files[&2] > a.files[&3]);
        assert!(a.symbols[&2][0] > 0.0);
        let b = rank(&input);
        assert_eq!(a.files[&2].to_bits(), b.files[&2].to_bits());
    }
}
