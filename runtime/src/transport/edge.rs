//! Edges: wait-free single-producer single-consumer rings of frame handles.
//!
//! An output port owns a [`Pool`] and one ring per edge leaving it. A tick
//! takes a free frame from the pool, lets the node write it, then pushes its
//! slot index (a `u32` handle, never the frame) to every edge with room: a
//! fan-out of `n` shares one frame among `n` readers. Each reader releases
//! its handle after use and the last release returns the frame to the pool.
//! Nothing here allocates after [`connect`].
//!
//! A full ring never blocks the producer: the frame is dropped for that edge
//! only and the edge's drop counter goes up (policy [`Policy::DropNewest`]).
//! Edges between clock domains use [`Policy::Latest`]: the reader takes the
//! newest frame available and keeps it until a newer one arrives (video
//! frames held across audio ticks, the latest levels for a video overlay).

use crate::transport::frame::Frame;
use crate::transport::pool::Pool;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// What an edge does with frames its reader has not taken yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Every frame is read once, in order; when the ring is full the new
    /// frame is dropped for this edge and counted.
    #[default]
    DropNewest,
    /// The reader takes the newest frame and holds it until a newer one
    /// arrives; older queued frames are skipped (counted as skipped).
    Latest,
}

/// How one edge is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeSpec {
    /// Frames the ring can queue.
    pub capacity: usize,
    /// What happens to frames the reader has not taken.
    pub policy: Policy,
}

/// State both ends of an edge see, readable by stats from any thread.
#[derive(Debug)]
pub struct EdgeShared {
    ended: AtomicBool,
    drops: AtomicU64,
    skipped: AtomicU64,
    capacity: usize,
}

impl EdgeShared {
    /// Frames dropped because the ring was full.
    pub fn drops(&self) -> u64 {
        self.drops.load(Ordering::Relaxed)
    }

    /// Frames a [`Policy::Latest`] reader skipped for a newer one.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Ring capacity in frames.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the producer has sent its last frame.
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }
}

struct Tx {
    ring: rtrb::Producer<u32>,
    shared: Arc<EdgeShared>,
}

/// The producer side of an output port: its pool and its outgoing edges.
pub struct Output {
    pool: Arc<Pool>,
    edges: Box<[Tx]>,
    cursor: usize,
    current: Option<u32>,
}

/// What an input holds after [`Input::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// A frame is held and can be read.
    Ready,
    /// No frame yet; the producer is still running.
    Empty,
    /// The producer has ended and every frame it sent has been read.
    Ended,
}

/// The consumer side of one edge.
pub struct Input {
    ring: rtrb::Consumer<u32>,
    pool: Arc<Pool>,
    shared: Arc<EdgeShared>,
    held: Option<u32>,
    ended: bool,
    policy: Policy,
}

/// Builds an output port feeding `edges`: a pool sized so a free frame is
/// always there (each edge holds at most its capacity plus the one its reader
/// holds, and the producer writes one more) and one ring per edge. Allocates:
/// build time only.
pub fn connect(proto: &Frame, edges: &[EdgeSpec]) -> (Output, Vec<Input>) {
    let pool_len = edges.iter().map(|e| e.capacity + 1).sum::<usize>() + 1;
    let pool = Arc::new(Pool::new(proto, pool_len));
    let mut txs = Vec::with_capacity(edges.len());
    let mut rxs = Vec::with_capacity(edges.len());
    for spec in edges {
        let (tx, rx) = rtrb::RingBuffer::new(spec.capacity.max(1));
        let shared = Arc::new(EdgeShared {
            ended: AtomicBool::new(false),
            drops: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            capacity: spec.capacity.max(1),
        });
        txs.push(Tx {
            ring: tx,
            shared: shared.clone(),
        });
        rxs.push(Input {
            ring: rx,
            pool: pool.clone(),
            shared,
            held: None,
            ended: false,
            policy: spec.policy,
        });
    }
    let out = Output {
        pool,
        edges: txs.into_boxed_slice(),
        cursor: 0,
        current: None,
    };
    (out, rxs)
}

impl Output {
    /// Takes a free frame to write this tick (the same one until
    /// [`Output::publish`] or [`Output::abandon`]). `None` only if every
    /// frame is still held, which the pool size rules out.
    #[inline]
    pub fn frame_mut(&mut self) -> Option<&mut Frame> {
        let ptr = self.frame_ptr()?;
        // SAFETY: `frame_ptr` returns the slot this producer has taken and
        // not shared; `&mut self` makes this the only access.
        Some(unsafe { &mut *ptr })
    }

    /// Raw form of [`Output::frame_mut`], for lending several outputs to one
    /// node call at once. The pointer stays valid and exclusive until
    /// `publish` or `abandon`.
    #[inline]
    pub(crate) fn frame_ptr(&mut self) -> Option<*mut Frame> {
        if self.current.is_none() {
            self.current = self.pool.take(&mut self.cursor);
        }
        let i = self.current?;
        // SAFETY: `i` was taken from the pool by this, its only producer, and
        // is not shared until `publish`.
        Some(unsafe { self.pool.frame_mut(i) })
    }

    /// Whether every edge can take one more frame (non-real-time nodes wait
    /// for room instead of dropping).
    #[inline]
    pub fn has_room(&self) -> bool {
        self.edges.iter().all(|e| !e.ring.is_full())
    }

    /// Sends the written frame to every edge with room, dropping it (and
    /// counting the drop) on full ones. Returns how many edges took it.
    #[inline]
    pub fn publish(&mut self) -> usize {
        let Some(i) = self.current.take() else {
            return 0;
        };
        if let [e] = &mut *self.edges {
            // One reader, the common case: one ring check instead of two.
            if e.ring.is_full() {
                let d = &e.shared.drops;
                d.store(d.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                return 0;
            }
            self.pool.share(i, 1);
            // Not full, and only this producer pushes: cannot fail.
            let _ = e.ring.push(i);
            return 1;
        }
        // The reader count must be set before the first reader can see the
        // handle, but which rings take it is only known by pushing (a full
        // ring may drain between a check and the push). So count every
        // edge first, then give back the counts of the pushes that failed:
        // until then the count stays above what the readers hold, so no
        // reader can see it reach zero early.
        let edges = self.edges.len() as u32;
        self.pool.share(i, edges);
        let mut dropped = 0;
        for e in self.edges.iter_mut() {
            if e.ring.push(i).is_err() {
                let d = &e.shared.drops;
                // Only this producer writes the counter.
                d.store(d.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                dropped += 1;
            }
        }
        if dropped > 0 {
            self.pool.unshare(i, dropped);
        }
        (edges - dropped) as usize
    }

    /// Gives back the frame taken this tick without sending it.
    pub fn abandon(&mut self) {
        self.current = None;
    }

    /// Marks every edge ended: readers see [`Poll::Ended`] once they have
    /// read the frames already sent.
    pub fn end(&mut self) {
        self.abandon();
        for e in self.edges.iter() {
            e.shared.ended.store(true, Ordering::Release);
        }
    }

    /// Queues a copy of `frame` on edge `edge` alone: a hot reload carries
    /// the frames an old ring still held into the new graph's ring. Off the
    /// real-time path only (the copy may allocate). False when the ring or
    /// the pool is full.
    pub(crate) fn inject(&mut self, edge: usize, frame: &Frame) -> bool {
        let Some(e) = self.edges.get_mut(edge) else {
            return false;
        };
        if e.ring.is_full() {
            return false;
        }
        let Some(i) = self.pool.take(&mut self.cursor) else {
            return false;
        };
        // SAFETY: `i` was just taken from the pool by this, its only
        // producer, and is not shared yet.
        unsafe { &mut *self.pool.frame_mut(i) }.clone_from(frame);
        self.pool.share(i, 1);
        // Not full, and only this producer pushes: cannot fail.
        let _ = e.ring.push(i);
        true
    }

    /// The pool behind this port.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    /// Number of edges leaving this port.
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }
}

impl Input {
    /// Takes a frame from the ring if none is held (the newest one for a
    /// [`Policy::Latest`] edge) and says whether one is held now.
    #[inline]
    pub fn poll(&mut self) -> Poll {
        if self.ended {
            return Poll::Ended;
        }
        match self.policy {
            Policy::DropNewest => {
                if self.held.is_some() {
                    return Poll::Ready;
                }
                if let Ok(i) = self.ring.pop() {
                    self.held = Some(i);
                    return Poll::Ready;
                }
                // Empty: read `ended`, then look again. If it was set, every
                // push happened before it, so a second empty pop really is
                // the end.
                let producer_ended = self.shared.ended.load(Ordering::Acquire);
                self.held = self.ring.pop().ok();
                match self.held {
                    Some(_) => Poll::Ready,
                    None if producer_ended => {
                        self.ended = true;
                        Poll::Ended
                    }
                    None => Poll::Empty,
                }
            }
            Policy::Latest => {
                // Read `ended` before popping: if it was set, every push
                // happened before, so an empty ring really is the end.
                let producer_ended = self.shared.ended.load(Ordering::Acquire);
                while let Ok(i) = self.ring.pop() {
                    if let Some(old) = self.held.replace(i) {
                        self.pool.release(old);
                        let s = &self.shared.skipped;
                        // Only this reader writes the counter.
                        s.store(s.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                    }
                }
                match self.held {
                    Some(_) => Poll::Ready,
                    None if producer_ended => {
                        self.ended = true;
                        Poll::Ended
                    }
                    None => Poll::Empty,
                }
            }
        }
    }

    /// The held frame, if any.
    #[inline]
    pub fn frame(&self) -> Option<&Frame> {
        // SAFETY: a held index carries one of the slot's reader counts until
        // `consumed`/`close` release it.
        self.held.map(|i| unsafe { self.pool.frame(i) })
    }

    /// Marks the held frame as read: released now, except on a
    /// [`Policy::Latest`] edge whose producer is live, which keeps it until
    /// a newer one arrives.
    #[inline]
    pub fn consumed(&mut self) {
        let keep = self.policy == Policy::Latest && !self.shared.ended.load(Ordering::Acquire);
        if !keep {
            if let Some(i) = self.held.take() {
                self.pool.release(i);
            }
        }
    }

    /// Hands `f` every frame not yet read, the held one first, releasing
    /// each: a hot reload copies them into the new graph's ring.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(&Frame)) {
        let held = self.held.take();
        for i in held
            .into_iter()
            .chain(std::iter::from_fn(|| self.ring.pop().ok()))
        {
            // SAFETY: a held or popped index carries one of the slot's reader
            // counts until the release just below.
            f(unsafe { self.pool.frame(i) });
            self.pool.release(i);
        }
    }

    /// Releases everything: the held frame and any frames still queued.
    pub fn close(&mut self) {
        if let Some(i) = self.held.take() {
            self.pool.release(i);
        }
        while let Ok(i) = self.ring.pop() {
            self.pool.release(i);
        }
        self.ended = true;
    }

    /// Counters shared with the producer.
    pub fn shared(&self) -> &Arc<EdgeShared> {
        &self.shared
    }

    /// The pool the frames come from.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("pool", &self.pool)
            .field("edges", &self.edges.len())
            .finish()
    }
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("shared", &self.shared)
            .field("held", &self.held)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_dsl::MediaType;

    fn mono(v: f32) -> Frame {
        let mut f = Frame::for_type(&MediaType::Audio { channels: 1 }, 4);
        if let Frame::Audio(a) = &mut f {
            a.data_mut().fill(v);
        }
        f
    }

    fn first(f: &Frame) -> f32 {
        match f {
            Frame::Audio(a) => a.data()[0],
            _ => f32::NAN,
        }
    }

    /// What a reload does with a ring's queue: the held frame and the
    /// queued ones move, in order, to one edge of another port.
    #[test]
    fn drained_frames_are_injected_in_order() {
        let spec = EdgeSpec {
            capacity: 4,
            policy: Policy::DropNewest,
        };
        let (mut out, mut ins) = connect(&mono(0.0), &[spec]);
        for v in 1..=3 {
            *out.frame_mut().unwrap() = mono(v as f32);
            out.publish();
        }
        assert_eq!(ins[0].poll(), Poll::Ready);
        let (mut out2, mut ins2) = connect(&mono(0.0), &[spec, spec]);
        ins[0].drain(|f| assert!(out2.inject(1, f)));
        assert_eq!(out.pool().free(), out.pool().len(), "all released");
        assert_eq!(ins2[0].poll(), Poll::Empty, "only the chosen edge");
        let mut got = Vec::new();
        while ins2[1].poll() == Poll::Ready {
            got.push(first(ins2[1].frame().unwrap()));
            ins2[1].consumed();
        }
        assert_eq!(got, [1.0, 2.0, 3.0]);
    }
}
