//! Writes the token tables of the two encodings vibe counts in (o200k_base, cl100k_base) to
//! OUT_DIR, in the layout of `src/context/tokens/table.rs`, from tiktoken-rs's own tables (the
//! files OpenAI publishes). The binary embeds them; counting then needs no load at run time.

#[path = "src/context/tokens/table.rs"]
#[allow(dead_code)]
mod table;

use std::collections::HashSet;
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/context/tokens/table.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for name in ["o200k_base", "cl100k_base"] {
        let bpe = match name {
            "o200k_base" => tiktoken_rs::o200k_base(),
            _ => tiktoken_rs::cl100k_base(),
        }
        .expect("tiktoken-rs builds its embedded encodings");
        // Ordinary tokens only: special tokens are counted as the text they are made of.
        let special: HashSet<u32> = bpe
            .special_tokens()
            .into_iter()
            .flat_map(|s| bpe.encode_with_special_tokens(s))
            .collect();
        let last = special.iter().copied().max().unwrap_or(0);
        let mut tokens: Vec<(u32, Vec<u8>)> = Vec::new();
        for rank in 0..=last {
            if special.contains(&rank) {
                continue;
            }
            if let Ok(bytes) = bpe.decode_bytes(&[rank]) {
                tokens.push((rank, bytes));
            }
        }
        assert!(
            (last + 1..last + 1000).all(|r| bpe.decode_bytes(&[r]).is_err()),
            "{name}: ranks past the last special token"
        );
        let data = table::build(&tokens).unwrap_or_else(|e| panic!("{name}: {e}"));
        std::fs::write(out.join(format!("{name}.table")), data)
            .unwrap_or_else(|e| panic!("writing the {name} table: {e}"));
    }
}
