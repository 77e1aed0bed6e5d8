//! The process's allocator: mimalloc, with freed memory returned to the
//! system at once.
//!
//! By default mimalloc keeps freed pages for 10 ms (arenas 100 ms) before
//! giving them back, in case they are wanted again. A hunt frees memory on
//! one thread that another allocated (alerts, read buffers), and with two
//! threads the pages waiting to be returned made peak RSS grow with the
//! input: 47 MB over evtx-attack-samples, 50-52 MB over ten times it.
//! Returned at once: 44 and 45-46 MB. The cost is about 2,400 `madvise`
//! calls (13 ms of system time) over the x10 input and the page faults of
//! reusing what was returned: in runs taken in turns, within the noise
//! (bench/RESULTS.md).

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

/// Returns freed memory to the system as soon as it is freed. Called first
/// thing in `main`, before the threads start.
pub fn purge_at_once() {
    // SAFETY: the option calls take and return plain integers; they are
    // not thread-safe, and no other thread exists yet.
    unsafe {
        if libmimalloc_sys::mi_option_get(PURGE_DELAY) == PURGE_DELAY_DEFAULT {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        }
    }
}
