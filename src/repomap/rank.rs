//! File and symbol importance: PageRank over the graph where a file that references a name points
//! at the files defining it, plus import edges.
//!
//! Weights: a reference says more when the name is long and compound (`parse_config`,
//! `HttpClient`), defined in few files, and public; it says little for `get`, `new`, `_x` or
//! `__init__`. Repeated references count with a square root, so one file calling a helper fifty
//! times does not drown everything else. Invariant: the result depends only on the index
//! contents (fixed iteration order, no hash-order sums), so the same tree gives the same map.

use std::collections::HashMap;

use crate::store::{GraphRow, decode_defs, decode_refs};

/// Names defined in more files than this carry no signal about which definition is meant.
const MAX_DEFINERS: usize = 40;
/// Weight of one resolved import edge, next to a reference weight of about 1.
const IMPORT_WEIGHT: f64 = 2.0;
const DAMPING: f64 = 0.85;

pub struct Input<'a> {
    /// File ids, ascending.
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
    let n = input.files.len();
    let index: HashMap<i64, usize> = input
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, i))
        .collect();

    // name → files defining it (ascending, deduplicated). `impl` blocks name a type defined
    // elsewhere, so they do not make a file a definer.
    let mut definers: HashMap<&str, Vec<usize>> = HashMap::new();
    for row in input.graph {
        let Some(&i) = index.get(&row.file) else {
            continue;
        };
        for (name, kind) in decode_defs(&row.defs) {
            if kind == "impl" {
                continue;
            }
            let v = definers.entry(name).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        }
    }

    // Weighted edges, and for symbol ranks, which (target, name) each edge's weight came from.
    // out[f] = list of (g, weight, name).
    let mut out: Vec<Vec<(usize, f64, &str)>> = vec![Vec::new(); n];
    for row in input.graph {
        let Some(&fi) = index.get(&row.file) else {
            continue;
        };
        for (name, count) in decode_refs(&row.refs) {
            let Some(defs) = definers.get(name) else {
                continue;
            };
            if defs.len() > MAX_DEFINERS {
                continue;
            }
            let others = defs.iter().filter(|&&g| g != fi).count();
            if others == 0 {
                continue;
            }
            // `name` borrows the blob; re-borrow the key from `definers` for a longer lifetime.
            let Some((key, _)) = definers.get_key_value(name) else {
                continue;
            };
            let w = name_weight(name, defs.len()) * f64::from(count).sqrt() / others as f64;
            for &g in defs.iter().filter(|&&g| g != fi) {
                out[fi].push((g, w, key));
            }
        }
    }
    for (s, d) in input.edges {
        if let (Some(&si), Some(&di)) = (index.get(s), index.get(d))
            && si != di
        {
            out[si].push((di, IMPORT_WEIGHT, ""));
        }
    }
    let out_sum: Vec<f64> = out.iter().map(|e| e.iter().map(|x| x.1).sum()).collect();

    let mut r = vec![if n > 0 { 1.0 / n as f64 } else { 0.0 }; n];
    let mut next = vec![0.0; n];
    for _ in 0..100 {
        let dangling: f64 = (0..n).filter(|&i| out_sum[i] == 0.0).map(|i| r[i]).sum();
        let base = (1.0 - DAMPING) / n as f64 + DAMPING * dangling / n as f64;
        next.iter_mut().for_each(|x| *x = base);
        for (f, edges) in out.iter().enumerate() {
            if out_sum[f] == 0.0 {
                continue;
            }
            let share = DAMPING * r[f] / out_sum[f];
            for &(g, w, _) in edges {
                next[g] += share * w;
            }
        }
        let delta: f64 = r.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut r, &mut next);
        if delta < 1e-12 {
            break;
        }
    }

    // Symbol ranks: the rank that flowed into a file through each name.
    let mut flow: HashMap<(usize, &str), f64> = HashMap::new();
    for (f, edges) in out.iter().enumerate() {
        if out_sum[f] == 0.0 {
            continue;
        }
        let share = r[f] / out_sum[f];
        for &(g, w, name) in edges {
            if !name.is_empty() {
                *flow.entry((g, name)).or_insert(0.0) += share * w;
            }
        }
    }
    let mut symbols: HashMap<i64, Vec<f32>> = HashMap::new();
    for row in input.graph {
        let Some(&fi) = index.get(&row.file) else {
            continue;
        };
        let ranks = decode_defs(&row.defs)
            .map(|(name, kind)| {
                if kind == "impl" {
                    0.0
                } else {
                    flow.get(&(fi, name)).copied().unwrap_or(0.0) as f32
                }
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
