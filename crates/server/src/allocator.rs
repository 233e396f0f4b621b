//! Settings of the global allocator (mimalloc, installed in `main.rs`).

/// mimalloc v3's option `purge_delay` (`mi_option_purge_delay` in its `mimalloc.h`; the Rust
/// bindings name no constant for it): how many milliseconds freed memory stays committed
/// before it goes back to the OS.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the OS at once (`purge_delay` 0; mimalloc v3 waits a second).
/// mimalloc keeps a heap per thread (tokio's workers, each SQLite connection's worker thread),
/// and each kept its freed pages for that second: at 64 connections on SQLite that held the
/// peak RSS over 64 MB, while CPU per request moved within the bench's noise
/// (docs/benchmarks.md, "Fourth pass"). An operator's `MIMALLOC_PURGE_DELAY` wins (mimalloc read
/// it when the process started). Call it first thing in `main`, before any other thread exists.
pub fn purge_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: mimalloc's option setters are plain stores into its option table, not
    // synchronised with readers on other threads; `main` calls this before the runtime or any
    // other thread exists. The test below checks the index against mimalloc's default.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::MI_OPTION_PURGE_DELAY;

    /// The index is mimalloc v3's purge delay: the option there holds that option's default,
    /// 1000 ms, when nothing has set it (another index, or mimalloc v2's 10 ms, fails here).
    #[test]
    fn the_purge_delay_index_is_mimallocs() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            eprintln!("skipped: MIMALLOC_PURGE_DELAY is set, so the option holds that value");
            return;
        }
        // SAFETY: a read of mimalloc's option table, which nothing in this test binary writes.
        #[allow(unsafe_code)]
        let delay = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 1000);
    }
}
