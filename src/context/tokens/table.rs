//! The token table of a BPE encoding (token bytes → rank) laid out so that it needs no
//! building at run time: `build.rs` writes it (from tiktoken-rs's tables) and the binary embeds
//! it; a lookup reads the embedded bytes in place. Loading tiktoken-rs's own encoder costs
//! ~0.1 s per process (parsing 200,000 base64 lines into hash maps); this costs nothing.
//!
//! Layout, all integers u32 little-endian:
//! - header: `MAGIC`, `VERSION`, ranks (n), slot bits (b), arena length;
//! - `n + 1` offsets into the arena: rank r's bytes are `arena[off[r]..off[r + 1]]` (empty for
//!   a rank that is not an ordinary token, such as a special token's);
//! - `2^b` slots of an open-addressing hash table (linear probing), each `(rank + 1) << FP_BITS
//!   | fingerprint`, 0 when empty: the fingerprint (bits of the hash the slot index does not
//!   use) settles almost every miss without reading the arena;
//! - the arena: every token's bytes, in rank order.
//!
//! This file is also compiled into `build.rs` (`#[path]`), so it uses nothing of the crate.

pub const MAGIC: u32 = u32::from_le_bytes(*b"VBPE");
pub const VERSION: u32 = 1;
const HEADER: usize = 5;
/// Low bits of a slot that hold the fingerprint; the rest hold `rank + 1` (< 2^18).
pub const FP_BITS: u32 = 14;
const FP_MASK: u32 = (1 << FP_BITS) - 1;

/// The hash of a token's bytes (8 bytes at a time, then murmur3's 64-bit finaliser).
#[inline]
pub fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[inline]
fn fingerprint(h: u64) -> u32 {
    ((h >> 40) as u32) & FP_MASK
}

/// The table of `tokens` (rank, bytes), serialised. Ranks must fit in 18 bits and every token's
/// bytes must be distinct and non-empty.
pub fn build(tokens: &[(u32, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let n = tokens
        .iter()
        .map(|(r, _)| *r as usize + 1)
        .max()
        .unwrap_or(0);
    if n >= 1 << (32 - FP_BITS) {
        return Err(format!("{n} ranks do not fit in a slot"));
    }
    let mut by_rank: Vec<Option<&[u8]>> = vec![None; n];
    for (r, b) in tokens {
        if b.is_empty() {
            return Err(format!("rank {r} has no bytes"));
        }
        if by_rank[*r as usize].replace(b).is_some() {
            return Err(format!("rank {r} appears twice"));
        }
    }
    // A load factor at most 0.4: misses (most lookups while merging) end after ~1.8 probes.
    let mut bits = 8;
    while (1usize << bits) * 2 < tokens.len() * 5 {
        bits += 1;
    }
    let mask = (1usize << bits) - 1;
    let mut slots = vec![0u32; 1 << bits];
    let mut offsets = Vec::with_capacity(n + 1);
    let mut arena: Vec<u8> = Vec::new();
    for (r, b) in by_rank.iter().enumerate() {
        offsets.push(arena.len() as u32);
        let Some(b) = b else { continue };
        let h = hash(b);
        let mut i = h as usize & mask;
        while slots[i] != 0 {
            let other = (slots[i] >> FP_BITS) as usize - 1;
            let (s, e) = (offsets[other] as usize, offsets[other + 1] as usize);
            if &arena[s..e] == *b {
                return Err(format!("ranks {other} and {r} have the same bytes"));
            }
            i = (i + 1) & mask;
        }
        slots[i] = ((r as u32 + 1) << FP_BITS) | fingerprint(h);
        arena.extend_from_slice(b);
    }
    offsets.push(arena.len() as u32);
    let mut out = Vec::with_capacity(4 * (HEADER + offsets.len() + slots.len()) + arena.len());
    for w in [MAGIC, VERSION, n as u32, bits, arena.len() as u32]
        .iter()
        .chain(&offsets)
        .chain(&slots)
    {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(&arena);
    Ok(out)
}

/// A serialised table, read in place.
#[derive(Clone, Copy)]
pub struct Table<'a> {
    offsets: &'a [u8],
    slots: &'a [u8],
    arena: &'a [u8],
    mask: usize,
}

#[inline]
fn word(bytes: &[u8], i: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&bytes[4 * i..4 * i + 4]);
    u32::from_le_bytes(w)
}

impl<'a> Table<'a> {
    /// The table in `data`, checked for shape (not for content).
    pub fn new(data: &'a [u8]) -> Result<Table<'a>, String> {
        if data.len() < 4 * HEADER || word(data, 0) != MAGIC || word(data, 1) != VERSION {
            return Err("not a token table of this version".into());
        }
        let n = word(data, 2) as usize;
        let bits = word(data, 3);
        let arena_len = word(data, 4) as usize;
        if bits > 30 {
            return Err(format!("{bits} slot bits"));
        }
        let offsets_at = 4 * HEADER;
        let slots_at = offsets_at + 4 * (n + 1);
        let arena_at = slots_at + 4 * (1usize << bits);
        if data.len() != arena_at + arena_len {
            return Err("token table truncated".into());
        }
        Ok(Table {
            offsets: &data[offsets_at..slots_at],
            slots: &data[slots_at..arena_at],
            arena: &data[arena_at..],
            mask: (1usize << bits) - 1,
        })
    }

    /// How many ranks the table spans (ordinary tokens and gaps).
    pub fn ranks(&self) -> usize {
        self.offsets.len() / 4 - 1
    }

    /// The bytes of rank `r` (empty when `r` is not an ordinary token).
    pub fn bytes(&self, r: usize) -> &'a [u8] {
        let (s, e) = (
            word(self.offsets, r) as usize,
            word(self.offsets, r + 1) as usize,
        );
        &self.arena[s..e]
    }

    /// The rank of the token made of exactly `bytes`, if there is one.
    #[inline]
    pub fn rank(&self, bytes: &[u8]) -> Option<u32> {
        let h = hash(bytes);
        let fp = fingerprint(h);
        let mut i = h as usize & self.mask;
        loop {
            let slot = word(self.slots, i);
            if slot == 0 {
                return None;
            }
            if slot & FP_MASK == fp {
                let r = (slot >> FP_BITS) - 1;
                if self.bytes(r as usize) == bytes {
                    return Some(r);
                }
            }
            i = (i + 1) & self.mask;
        }
    }
}
