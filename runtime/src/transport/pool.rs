//! Frame pools: every frame an output port will ever write, allocated at
//! build and recycled by reader count.
//!
//! # Invariant
//!
//! Each slot holds one frame and an atomic reader count. The count is the
//! number of edges that still hold the slot (queued in a ring or held by a
//! consumer). Only the pool's single producer (the output port that owns it)
//! may take a slot, and only one whose count it has read as zero with
//! `Acquire` ordering: every reader released it with `Release`, so all
//! their reads happened before the producer writes again. While the count is
//! non-zero the frame is read-only; readers never write. A slot the producer
//! has taken but not yet published still reads zero, so the producer holds at
//! most one unpublished slot at a time and never scans while holding one.
//!
//! This is the "Arc with a pool that hands out only frames whose count is
//! back to zero" design: readers return a frame with one atomic decrement,
//! fan-out costs one store, and there is no multi-producer return ring (the
//! last of several readers on different threads would otherwise need one).

use crate::transport::frame::Frame;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, Ordering};

/// One pooled frame and the number of readers that still hold it.
struct Slot {
    readers: AtomicU32,
    frame: UnsafeCell<Frame>,
}

/// A fixed set of frames of one type, shared by one producer and its readers.
pub struct Pool {
    slots: Box<[Slot]>,
}

// SAFETY: a slot's frame is written only by the single producer while its
// reader count is zero (see the module invariant), and only read while the
// count is non-zero; the count's Release/Acquire pairs order those accesses
// across threads. `Frame` itself is `Send + Sync` (plain owned buffers).
unsafe impl Sync for Pool {}
// SAFETY: as above; the pool owns its frames outright.
unsafe impl Send for Pool {}

impl Pool {
    /// A pool of `len` copies of `proto` (allocates: build time only).
    pub fn new(proto: &Frame, len: usize) -> Pool {
        let slots = (0..len.max(1))
            .map(|_| Slot {
                readers: AtomicU32::new(0),
                frame: UnsafeCell::new(proto.clone()),
            })
            .collect();
        Pool { slots }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the pool has no frames (never: a pool holds at least one).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Frames no reader holds (for tests and stats: every frame is back in
    /// the pool when this equals [`Pool::len`]).
    pub fn free(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.readers.load(Ordering::Acquire) == 0)
            .count()
    }

    /// Finds a slot no reader holds, scanning round-robin from `*cursor`
    /// (so slots are reused in order and caches stay warm). Producer only.
    #[inline]
    pub(crate) fn take(&self, cursor: &mut usize) -> Option<u32> {
        let n = self.slots.len();
        let mut i = *cursor;
        for _ in 0..n {
            if i >= n {
                i = 0;
            }
            if self.slots[i].readers.load(Ordering::Acquire) == 0 {
                *cursor = i + 1;
                return Some(i as u32);
            }
            i += 1;
        }
        None
    }

    /// The frame of a slot the producer has taken.
    ///
    /// # Safety
    /// `i` must come from [`Pool::take`] by this pool's single producer and
    /// not yet be shared: no reader may hold it.
    #[inline]
    pub(crate) unsafe fn frame_mut(&self, i: u32) -> *mut Frame {
        self.slots[i as usize].frame.get()
    }

    /// The frame of a slot a reader holds.
    ///
    /// # Safety
    /// The caller must hold one of the slot's reader counts (it popped the
    /// index from an edge and has not released it).
    #[inline]
    pub(crate) unsafe fn frame(&self, i: u32) -> &Frame {
        // SAFETY: the caller holds a reader count, so the producer does not
        // write the frame until it is released (module invariant).
        unsafe { &*self.slots[i as usize].frame.get() }
    }

    /// Gives a slot `readers` reader counts before its index is pushed to
    /// that many edges. Producer only. The store may be relaxed: the ring
    /// push that follows is a Release that orders it (and the frame's
    /// contents) before any reader's pop.
    #[inline]
    pub(crate) fn share(&self, i: u32, readers: u32) {
        self.slots[i as usize]
            .readers
            .store(readers, Ordering::Relaxed);
    }

    /// Takes back `n` of the reader counts the producer set with `share`
    /// for readers that never got the handle (their rings were full).
    pub(crate) fn unshare(&self, i: u32, n: u32) {
        let prev = self.slots[i as usize]
            .readers
            .fetch_sub(n, Ordering::Release);
        debug_assert!(prev >= n, "pool slot {i} unshared below zero");
    }

    /// Drops one reader count; the last one returns the frame to the pool.
    ///
    /// A reader that sees a count of one is the last: no other reader holds
    /// the slot, and the producer lowers a count only by the shares it
    /// still owes back (`unshare`), which keep the count above one until
    /// they are gone; so a plain store does (saving the locked
    /// read-modify-write of the common one-reader edge).
    #[inline]
    pub(crate) fn release(&self, i: u32) {
        let readers = &self.slots[i as usize].readers;
        if readers.load(Ordering::Relaxed) == 1 {
            readers.store(0, Ordering::Release);
        } else {
            let prev = readers.fetch_sub(1, Ordering::Release);
            debug_assert!(prev > 0, "pool slot {i} released more often than shared");
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("len", &self.len())
            .field("free", &self.free())
            .finish()
    }
}
