//! A counting global allocator, for the tests that prove the real-time rule
//! (no allocation or free on the processing path after start).
//!
//! A test binary installs it with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc;` and then
//! counts only what watched threads do: the test's own thread inside
//! [`watch`], or the engine's processing threads through [`thread_hook`]
//! (pass it to the engine's thread hook). Everything else (test set-up,
//! the harness, other tests' threads) allocates freely and uncounted.

use crate::execution::threads::ThreadEvent;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Forwards to the system allocator and counts allocations and frees made
/// by watched threads.
#[derive(Debug)]
pub struct CountingAlloc;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static FREES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static WATCHED: Cell<bool> = const { Cell::new(false) };
}

fn watched() -> bool {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    WATCHED.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; counting touches only atomics and a const thread-local, which
// never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if watched() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if watched() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if watched() {
            FREES.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if watched() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations and frees counted on watched threads since the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Allocations and reallocations.
    pub allocs: u64,
    /// Frees.
    pub frees: u64,
}

impl Counts {
    /// Whether nothing was allocated or freed.
    pub fn is_zero(&self) -> bool {
        self.allocs == 0 && self.frees == 0
    }

    /// What was counted after `earlier`.
    pub fn since(&self, earlier: Counts) -> Counts {
        Counts {
            allocs: self.allocs - earlier.allocs,
            frees: self.frees - earlier.frees,
        }
    }
}

/// The counts so far (over every watched thread).
pub fn counts() -> Counts {
    Counts {
        allocs: ALLOCS.load(Ordering::SeqCst),
        frees: FREES.load(Ordering::SeqCst),
    }
}

/// Runs `f` with the calling thread watched and returns what it counted
/// (only meaningful while no other thread is watched at the same time).
pub fn watch<R>(f: impl FnOnce() -> R) -> (R, Counts) {
    settle();
    let before = counts();
    WATCHED.with(|w| w.set(true));
    let out = f();
    WATCHED.with(|w| w.set(false));
    (out, counts().since(before))
}

/// An engine thread hook that watches every processing thread from its
/// first tick to its last.
pub fn thread_hook(event: ThreadEvent) {
    let on = matches!(event, ThreadEvent::Started(_));
    WATCHED.with(|w| w.set(on));
}

/// Frees, on the calling (unwatched) thread, memory that other threads
/// handed to the process-wide epoch collector (rayon's work-stealing
/// deques retire their old buffers there). Without it a watched worker of
/// a later run may collect that garbage and count frees that were never
/// its own. Call before taking the [`counts`] a test compares against (and
/// on each worker of a pool the test watches: each keeps a local bag).
pub fn settle() {
    for _ in 0..64 {
        crossbeam_epoch::pin().flush();
    }
}
