//! File and symbol importance: PageRank over the graph where a file that references a name points
//! at the files defining it, plus import edges.
//!
//! Weights: a reference says more when the name is long and compound (`parse_config`,
//! `HttpClient`), defined in few files, and public; it says little for `get`, `new`, `_x` or
//! `__init__`. Repeated references count with a square root, so one file calling a helper fifty
//! times does not drown everything else. Invariant: the result depends only on the index
//! contents (fixed iteration order, no hash-order sums), so the same tree gives the same map.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use crate::store::{GraphRow, decode_defs, decode_refs};

/// Names defined in more files than this carry no signal about which definition is meant.
const MAX_DEFINERS: usize = 25;
/// Weight of one resolved import edge, next to a reference weight of about 1.
const IMPORT_WEIGHT: f64 = 2.0;
const DAMPING: f64 = 0.85;

pub struct Input<'a> {
    /// File ids, in a stable order (by path): every sum follows it.
    pub files: &'a [i64],
    /// Each source file's references and definitions.
    pub graph: &'a [GraphRow],
    /// Import edges (src, dst).
    pub edges: &'a [(i64, i64)],
}

pub struct Ranks {
    /// Rank per file id; sums to 1 over files.
    pub files: HashMap<i64, f64>,
    /// Per file, the rank of each of its definitions, in symbol order.
    pub symbols: HashMap<i64, Vec<f32>>,
}

/// How much one reference to `name` says, given how many files define it.
pub fn name_weight(name: &str, definers: usize) -> f64 {
    let len = name.chars().count();
    let mut w = if len >= 8 && is_compound(name) {
        4.0
    } else if len >= 5 {
        1.5
    } else if len >= 3 {
        1.0
    } else {
        0.3
    };
    if name.starts_with("__") && name.ends_with("__") {
        w *= 0.05;
    } else if name.starts_with('_') {
        w *= 0.3;
    }
    if definers > 5 {
        w *= 0.2;
    }
    w
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

pub fn rank(input: &Input) -> Ranks {
    let t0 = std::time::Instant::now();
    let n = input.files.len();
    let index: HashMap<i64, usize> = input
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, i))
        .collect();

    // Intern defined names, and list each name's definer files (ascending, deduplicated).
    // `impl` blocks name a type defined elsewhere, so they do not make a file a definer.
    // Rows in `files` order (the caller's: by path), never by id: ids follow the history of the
    // index, and the float sums below must not.
    let mut rows: Vec<(usize, &GraphRow)> = input
        .graph
        .iter()
        .filter_map(|r| index.get(&r.file).map(|&i| (i, r)))
        .collect();
    rows.sort_by_key(|(i, _)| *i);
    let mut names: FxHashMap<&[u8], u32> = FxHashMap::default();
    let mut definers: Vec<Vec<u32>> = Vec::new();
    for &(i, row) in &rows {
        for (name, kind) in decode_defs(&row.defs) {
            if kind == b"impl" {
                continue;
            }
            let id = *names.entry(name).or_insert_with(|| {
                definers.push(Vec::new());
                (definers.len() - 1) as u32
            });
            let v = &mut definers[id as usize];
            if v.last() != Some(&(i as u32)) {
                v.push(i as u32);
            }
        }
    }
    let t_defs = t0.elapsed();
    let weights: Vec<f64> = {
        let mut w = vec![0.0; definers.len()];
        for (name, &id) in &names {
            let name = String::from_utf8_lossy(name);
            w[id as usize] = name_weight(&name, definers[id as usize].len());
        }
        w
    };

    // Reference edges, one entry per (source, name): the name's weight goes to its definers.
    // `flows` keeps them for symbol ranks; `edges` sums them per (source, target) for PageRank.
    let mut flows: Vec<(u32, u32, f64)> = Vec::new(); // (source, name, weight per definer)
    let mut flow_start = vec![0usize; n + 1];
    let mut edges: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    let mut next_row = rows.iter().peekable();
    for fi in 0..n {
        flow_start[fi] = flows.len();
        let Some((_, row)) = next_row.next_if(|(i, _)| *i == fi) else {
            continue;
        };
        let out = &mut edges[fi];
        for (name, count) in decode_refs(&row.refs) {
            let Some(&id) = names.get(name) else {
                continue;
            };
            let defs = &definers[id as usize];
            if defs.len() > MAX_DEFINERS {
                continue;
            }
            let others = defs.iter().filter(|&&g| g as usize != fi).count();
            if others == 0 {
                continue;
            }
            let w = weights[id as usize] * f64::from(count).sqrt() / others as f64;
            flows.push((fi as u32, id, w));
            for &g in defs.iter().filter(|&&g| g as usize != fi) {
                out.push((g, w));
            }
        }
    }
    flow_start[n] = flows.len();
    let t_refs = t0.elapsed();
    for (s, d) in input.edges {
        if let (Some(&si), Some(&di)) = (index.get(s), index.get(d))
            && si != di
        {
            edges[si].push((di as u32, IMPORT_WEIGHT));
        }
    }
    // Merge parallel edges: PageRank only needs one weight per (source, target).
    for out in &mut edges {
        out.sort_unstable_by_key(|e| e.0);
        let mut merged: Vec<(u32, f64)> = Vec::with_capacity(out.len());
        for &(g, w) in out.iter() {
            match merged.last_mut() {
                Some(last) if last.0 == g => last.1 += w,
                _ => merged.push((g, w)),
            }
        }
        *out = merged;
    }
    let out_sum: Vec<f64> = edges.iter().map(|e| e.iter().map(|x| x.1).sum()).collect();
    let t_edges = std::time::Instant::now();

    let mut r = vec![if n > 0 { 1.0 / n as f64 } else { 0.0 }; n];
    let mut next = vec![0.0; n];
    let mut iterations = 0;
    for _ in 0..100 {
        iterations += 1;
        let dangling: f64 = (0..n).filter(|&i| out_sum[i] == 0.0).map(|i| r[i]).sum();
        let base = (1.0 - DAMPING) / n as f64 + DAMPING * dangling / n as f64;
        next.iter_mut().for_each(|x| *x = base);
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

    tracing::debug!(
        "rank: defs {:?}, refs {:?}, merged {:?}; {} flows, {} edges, {} iterations in {:?}",
        t_defs,
        t_refs,
        t_edges - t0,
        flows.len(),
        edges.iter().map(Vec::len).sum::<usize>(),
        iterations,
        t_edges.elapsed()
    );
    // Symbol ranks: the rank that flowed into each (file, name) through references. Every
    // definer of a name gets the same inflow, except that a file's own references to a name it
    // also defines do not flow to itself; those few are subtracted afterwards.
    let mut inflow = vec![0.0f64; definers.len()];
    let mut own: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    for f in 0..n {
        if out_sum[f] == 0.0 {
            continue;
        }
        let share = r[f] / out_sum[f];
        for &(_, id, w) in &flows[flow_start[f]..flow_start[f + 1]] {
            inflow[id as usize] += share * w;
            if definers[id as usize].binary_search(&(f as u32)).is_ok() {
                *own.entry((f as u32, id)).or_insert(0.0) += share * w;
            }
        }
    }
    let flow_into =
        |g: u32, id: u32| inflow[id as usize] - own.get(&(g, id)).copied().unwrap_or(0.0);
    let mut symbols: HashMap<i64, Vec<f32>> = HashMap::new();
    for (fi, row) in &rows {
        let ranks = decode_defs(&row.defs)
            .map(|(name, kind)| match names.get(name) {
                Some(&id) if kind != b"impl" => flow_into(*fi as u32, id).max(0.0) as f32,
                _ => 0.0,
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

    #[test]
    fn weights_prefer_specific_names() {
        assert!(name_weight("parse_config", 1) > name_weight("get", 1));
        assert!(name_weight("HttpClient", 1) > name_weight("client", 1));
        assert!(name_weight("__init__", 1) < name_weight("init", 1));
        assert!(name_weight("process", 10) < name_weight("process", 1));
    }

    #[test]
    fn referenced_file_ranks_higher_and_is_stable() {
        let row = |file, refs: &[u8], defs: &[u8]| GraphRow {
            file,
            refs: refs.to_vec(),
            defs: defs.to_vec(),
        };
        let graph = vec![
            row(1, b"parse_config\t3\n", b"main\tfunction\n"),
            row(2, b"", b"parse_config\tfunction\n"),
            row(3, b"", b"unused_helper\tfunction\n"),
        ];
        let input = Input {
            files: &[1, 2, 3],
            graph: &graph,
            edges: &[],
        };
        let a = rank(&input);
        assert!(a.files[&2] > a.files[&3]);
        assert!(a.symbols[&2][0] > 0.0);
        let b = rank(&input);
        assert_eq!(a.files[&2].to_bits(), b.files[&2].to_bits());
    }
}
