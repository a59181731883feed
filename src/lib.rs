//! vibe: a local-first terminal coding agent.
//!
//! The library holds every capability; `src/main.rs` only calls [`cli::main`], so that
//! tests and benches reach everything. See `../shared/ARCHITECTURE.md` for the parts.

pub mod cli;
pub mod config;
pub mod context;
pub mod cost;
pub mod edit;
pub mod heal;
pub mod llm;
pub mod plugins;
pub mod repomap;
pub mod session;
pub mod store;
pub mod tui;
pub mod watch;

/// Routes tree-sitter's C allocations through mimalloc. Call it first thing in `main`, before
/// any tree-sitter object exists: memory allocated by one allocator must not be freed by the
/// other, which is also why the library never calls it on its own.
pub fn use_mimalloc_for_tree_sitter() {
    use libmimalloc_sys as mi;
    unsafe extern "C" fn malloc(size: usize) -> *mut std::ffi::c_void {
        // SAFETY: plain allocation through mimalloc's C API.
        unsafe { mi::mi_malloc(size) }
    }
    unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut std::ffi::c_void {
        // Zeroed, with calloc's overflow check.
        match n.checked_mul(size) {
            // SAFETY: as above.
            Some(total) => unsafe { mi::mi_zalloc(total) },
            None => std::ptr::null_mut(),
        }
    }
    unsafe extern "C" fn realloc(p: *mut std::ffi::c_void, size: usize) -> *mut std::ffi::c_void {
        // SAFETY: `p` was allocated by these functions (the allocator is installed before
        // tree-sitter allocates anything).
        unsafe { mi::mi_realloc(p, size) }
    }
    unsafe extern "C" fn free(p: *mut std::ffi::c_void) {
        // SAFETY: as for `realloc`.
        unsafe { mi::mi_free(p) }
    }
    // SAFETY: called once at start-up, before any tree-sitter allocation.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc,
            calloc,
            realloc,
            free,
        }))
    };
}
