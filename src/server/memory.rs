//! Keeping the process's memory near what is live (glibc malloc).
//!
//! glibc keeps freed memory inside its heaps for reuse. A mail server
//! allocates in bursts (a MULTIAPPEND of 500 messages, a FETCH of many
//! bodies, a flush of a large batch) and then idles with many sessions, so
//! without help its resident size settles at the highest burst seen rather
//! than at what it holds: measured on a 100,000-message fill, 265 MB
//! resident against 114 MB in use. Three settings close most of that gap:
//!
//! - two arenas instead of one per thread: buffers passed between worker
//!   threads are not stranded in per-thread heaps;
//! - a fixed mmap threshold: allocations of 256 KB and more (command
//!   buffers, literals, FETCH slices) get their own mappings, returned to
//!   the system on free; glibc's default threshold grows up to 32 MB after
//!   the first large free, moving those buffers into the heap for good;
//! - a trimmer thread that hands free heap pages back (`malloc_trim`) a
//!   few seconds after a burst.
//!
//! On other C libraries all of this is a no-op.

use std::time::Duration;

/// Allocations at least this large get their own mapping.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 256 * 1024;

/// How often the trimmer looks at the heap.
const TRIM_EVERY: Duration = Duration::from_secs(5);

/// Sets the allocator up; call first in `main`, before other threads exist.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; nothing else
    // allocates concurrently this early.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD);
    }
}

/// Starts the trimmer thread: every few seconds it reads the resident size
/// (one small read of `/proc/self/statm`), and when that has grown by
/// [`TRIM_SLACK`] since the last trim it hands free heap pages back.
pub fn start_trimmer() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let spawned = std::thread::Builder::new()
            .name("tokenmail-trim".into())
            .spawn(|| {
                let mut floor = resident_bytes().unwrap_or(0);
                loop {
                    std::thread::sleep(TRIM_EVERY);
                    let Some(now) = resident_bytes() else { return };
                    if now >= floor + TRIM_SLACK {
                        floor = trim().unwrap_or(now);
                    } else {
                        floor = floor.min(now);
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the memory trimmer; memory stays at its peak");
        }
    }
}

/// Growth of the resident size that is worth a trim. Small, so that what
/// a burst leaves behind once it ends is at most this much: a trim of a
/// 100 MB heap takes about a millisecond, and happens only while memory
/// grows.
pub const TRIM_SLACK: u64 = 2 * 1024 * 1024;

/// The process's resident size in bytes.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// Returns free heap pages to the system; the resident size after.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() -> Option<u64> {
    let started = std::time::Instant::now();
    let before = resident_bytes();
    // SAFETY: malloc_trim is a thread-safe glibc call with no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
    let after = resident_bytes();
    tracing::debug!(
        before_mb = before.unwrap_or(0) >> 20,
        after_mb = after.unwrap_or(0) >> 20,
        ms = started.elapsed().as_millis() as u64,
        "returned free heap memory to the system"
    );
    after
}
