//! The process's allocator: mimalloc, set up to give memory back at once.
//!
//! The binary installs mimalloc as its global allocator (`src/main.rs`).
//! Under imaptest's stress mix it served about 15 % more commands a second
//! than glibc malloc on the same build (docs/robustness.md, "Load"): most
//! of a session's allocations are small and short-lived (command lines,
//! parsed commands, response buffers), which mimalloc's per-thread free
//! lists serve without locks.
//!
//! Its costs are memory that is free but still mapped, and both are closed
//! here and in the runtime's set-up:
//!
//! - **purging at once** ([`PURGE_DELAY_MS`] 0): freed pages are returned
//!   to the system when they empty, not a second later in a batch; after a
//!   burst (a MULTIAPPEND of 500 messages, a FETCH of many bodies) the
//!   resident size falls back instead of staying at the peak;
//! - **no transparent huge pages** (the `no_thp` build option of
//!   libmimalloc-sys): with 2 MiB pages an idle session's few kilobytes
//!   pinned whole huge pages, and 10,000 idle sessions took 280 MB;
//! - **few threads**: each thread has its own heap, so every extra thread
//!   keeps its own free pages. The tokio runtime is built with at most
//!   [`MAX_BLOCKING_THREADS`] threads for blocking work (`src/main.rs`).

/// Blocking threads the runtime may start beside its workers: store calls
/// over many messages (`session::imap::blocking`), the group commit's flush,
/// DNS lookups. Each holds its thread for milliseconds (a write and an
/// fdatasync), so four keep two disks busy; with tokio's default of 512 a
/// burst of APPENDs started dozens of threads, each keeping a mimalloc
/// heap: 42 MB peak under imaptest instead of 23 MB.
pub const MAX_BLOCKING_THREADS: usize = 4;

/// mimalloc's `purge_delay` option, in milliseconds: 0 returns empty pages
/// to the system at once.
pub const PURGE_DELAY_MS: std::ffi::c_long = 0;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (mimalloc.h);
/// libmimalloc-sys names only the options whose index did not change
/// between mimalloc 2 and 3.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the allocator up; call first in `main`, before other threads exist.
pub fn tune_allocator() {
    // SAFETY: mi_option_set only stores an option value; it is called before
    // any other thread exists and takes no pointers.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_index_names_purge_delay() {
        // purge_delay defaults to 1000 ms in mimalloc 3; index 15 in mimalloc
        // 2 is use_numa_nodes, default 0. The only test touching options.
        // SAFETY: mi_option_get and mi_option_set read and store a value.
        unsafe {
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
                assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 1000);
            }
            tune_allocator();
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), PURGE_DELAY_MS);
        }
    }
}
