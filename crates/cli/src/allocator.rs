//! The process's allocator: mimalloc, with freed memory returned to the
//! system after 1 ms.
//!
//! By default mimalloc keeps freed pages for 10 ms (arenas 100 ms) before
//! giving them back, in case they are wanted again. A hunt frees memory on
//! one thread that another allocated (alerts, read buffers), and with two
//! threads the pages waiting to be returned made peak RSS grow with the
//! input: 43 MB over evtx-attack-samples, 52-54 MB over ten times it.
//! Returned at once (a delay of 0), it stayed flat (40 and 46 MB) but the
//! pages were faulted in again on reuse (20,000 page faults over x10
//! instead of 9,000), and two threads took 6% longer (739 against 699 ms,
//! medians of 10 runs taken in turns). After 1 ms: 700 ms and 47-49 MB.

/// mimalloc: hunts 15-20% faster than with the system allocator
/// (bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v2's `mi_option_t`: the Rust
/// bindings name no constant for it.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// Its documented default, checked before it is changed: a different
/// value means either that the user set `MIMALLOC_PURGE_DELAY` (theirs to
/// choose) or that the option moved in another mimalloc version.
const PURGE_DELAY_DEFAULT: std::ffi::c_long = 10;

/// How long freed memory waits before it is returned, in milliseconds.
const PURGE_AFTER_MS: std::ffi::c_long = 1;

/// Returns freed memory to the system soon after it is freed. Called first
/// thing in `main`, before the threads start.
pub fn purge_soon() {
    // SAFETY: the option calls take and return plain integers; they are
    // not thread-safe, and no other thread exists yet.
    unsafe {
        if libmimalloc_sys::mi_option_get(PURGE_DELAY) == PURGE_DELAY_DEFAULT {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, PURGE_AFTER_MS);
        }
    }
}
