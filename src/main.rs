use std::process::ExitCode;

/// mimalloc for Rust allocations and, below, for tree-sitter's C allocations too: parsing
/// allocates and frees millions of small nodes, and glibc's malloc was ~7% of a cold index.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    vibe::use_mimalloc_for_tree_sitter();
    vibe::cli::main()
}
