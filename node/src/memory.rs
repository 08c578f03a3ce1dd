//! The bytes the process has allocated, counted as the allocator hands them out: INFO
//! `used_memory` and the figure `maxmemory` is enforced against, as Redis counts zmalloc's.
//!
//! The `tandem` binary installs [`CountingAllocator`] (mimalloc underneath). Each block
//! counts its mimalloc size class rather than the size asked for, since that is what the
//! allocator sets aside for it (Redis likewise counts jemalloc's usable size).
//!
//! Each thread keeps its own running count and adds it to the shared total once it is 32
//! KiB either way, so an allocation costs a thread-local add, not an atomic one (which
//! measured 2-3% of the server's CPU at -P 16); the total is that much approximate per
//! thread. Threads add what is left as they end (tokio's `on_thread_stop`, [`counted`]).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

/// How far a thread's own count may run ahead of [`ALLOCATED`] before it is added there.
const PENDING_LIMIT: isize = 32 * 1024;

thread_local! {
    /// This thread's allocations not yet added to [`ALLOCATED`]. (Const-initialised and
    /// without a destructor: safe to use inside the allocator.)
    static PENDING: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    PENDING.with(|p| {
        let pending = p.get() + delta;
        if pending.abs() >= PENDING_LIMIT {
            ALLOCATED.fetch_add(pending, Ordering::Relaxed);
            p.set(0);
        } else {
            p.set(pending);
        }
    });
}

/// Bytes allocated through [`CountingAllocator`] and not yet freed; 0 in a process that
/// uses another allocator (the library's unit tests).
pub fn used_memory() -> usize {
    ALLOCATED.load(Ordering::Relaxed).max(0) as usize
}

/// mimalloc, counting what it holds for live allocations.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator;

/// mimalloc 2's largest size class; larger blocks are whole OS pages.
const MEDIUM_OBJ_SIZE_MAX: usize = 64 * 1024;

/// The size of the block mimalloc uses for `size` bytes (its `mi_good_size`, computed
/// here because the call into C cost 1-2% of the server's CPU at -P 16): one word, then
/// pairs of words up to 8, then four classes per power of two.
fn block_size(size: usize) -> usize {
    const WORD: usize = 8;
    if size > MEDIUM_OBJ_SIZE_MAX {
        return size.next_multiple_of(4096);
    }
    let words = size.div_ceil(WORD).max(1);
    if words == 1 {
        return WORD;
    }
    if words <= 8 {
        return words.next_multiple_of(2) * WORD;
    }
    let w = words - 1;
    let step = 1 << (w.ilog2() - 2);
    ((w / step) + 1) * step * WORD
}

// SAFETY: every method forwards to mimalloc's GlobalAlloc with the same arguments and
// returns its result unchanged; the counter is bookkeeping only.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc(layout);
        if !p.is_null() {
            count(block_size(layout.size()) as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc_zeroed(layout);
        if !p.is_null() {
            count(block_size(layout.size()) as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(block_size(layout.size()) as isize));
        mimalloc::MiMalloc.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = mimalloc::MiMalloc.realloc(ptr, layout, new_size);
        if !p.is_null() {
            count(block_size(new_size) as isize - block_size(layout.size()) as isize);
        }
        p
    }
}

static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The most [`used_memory`] seen by a call of this function (`used_memory_peak`: sampled
/// after every command, by the cron and by INFO, as Redis samples it).
pub fn sample_peak() -> usize {
    let used = used_memory();
    let peak = PEAK.load(Ordering::Relaxed);
    if used <= peak {
        // The common case reads and writes nothing shared.
        return peak;
    }
    PEAK.fetch_max(used, Ordering::Relaxed).max(used)
}

/// Adds this thread's pending count to the total: as a thread ends (its pending bytes
/// would otherwise stay uncounted), and before the total decides something (eviction,
/// INFO).
pub fn flush_thread() {
    PENDING.with(|p| {
        ALLOCATED.fetch_add(p.replace(0), Ordering::Relaxed);
    });
}

/// `f`, followed by [`flush_thread`]: the body for a thread the server spawns.
pub fn counted<T>(f: impl FnOnce() -> T) -> impl FnOnce() -> T {
    move || {
        let result = f();
        flush_thread();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)]
    fn block_sizes_are_mimallocs() {
        for size in (0..70_000).chain((70_000..600_000).step_by(61)) {
            // SAFETY: mi_good_size is a pure size-class computation.
            let mimalloc = unsafe { libmimalloc_sys::mi_good_size(size) };
            assert_eq!(block_size(size), mimalloc, "size {size}");
        }
    }
}
