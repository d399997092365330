//! The incoming half of a call: the connection's [`Assembler`] turns
//! decoded `AudioData` into per-participant streams at the graph rate, and
//! `acs_in` pops them from [`InboundRings`] without allocating.
//!
//! Each participant holds one slot of a fixed number (the bundle's
//! capacity) while present. A slot is a wait-free SPSC sample ring plus a
//! tiny ring announcing who joined it. `acs_in` decides when a participant
//! has left (no audio for `leave_after`), drains the ring and raises the
//! slot's `released` flag; the connection then frees the slot for reuse.

use super::jitter::Reorder;
use super::protocol::{AudioData, Dtmf};
use super::resample::StreamResampler;
use super::stats::CallStats;
use rtrb::{Consumer, Producer, RingBuffer};
use sluice_runtime::StreamId;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The id given to the stream of a mixed call (no participant id).
pub const MIXED_ID: &str = "mixed";

/// DTMF tones queued between the connection and `acs_in`.
const DTMF_RING: usize = 64;

/// The connection's end of one slot.
struct SlotTx {
    samples: Producer<f32>,
    joins: Producer<StreamId>,
    released: Arc<AtomicBool>,
    owner: Option<String>,
    reorder: Reorder,
    resampler: StreamResampler,
}

impl std::fmt::Debug for SlotTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotTx")
            .field("owner", &self.owner)
            .finish()
    }
}

/// `acs_in`'s end of one slot.
#[derive(Debug)]
pub struct SlotRx {
    /// Samples at the graph rate.
    pub samples: Consumer<f32>,
    /// Who takes the slot (pushed before their first sample).
    pub joins: Consumer<StreamId>,
    /// Set by `acs_in` once the participant has left and the ring is drained.
    pub released: Arc<AtomicBool>,
}

/// `acs_in`'s ends of a call's rings.
#[derive(Debug)]
pub struct InboundRings {
    /// One per bundle slot.
    pub slots: Vec<SlotRx>,
    /// DTMF tones with the participant who pressed them.
    pub dtmf: Consumer<(StreamId, char)>,
    /// Set by the connection when the call has ended.
    pub closed: Arc<AtomicBool>,
    /// The call's counters.
    pub stats: Arc<CallStats>,
}

/// The connection's end: the jitter and assembly stage.
#[derive(Debug)]
pub struct Assembler {
    slots: Vec<SlotTx>,
    dtmf: Producer<(StreamId, char)>,
    closed: Arc<AtomicBool>,
    stats: Arc<CallStats>,
    scratch: Vec<f32>,
    zeros: Vec<i16>,
}

/// Sizes of a call's incoming rings.
#[derive(Debug, Clone, Copy)]
pub struct InboundConfig {
    /// Bundle slots (participants present at once).
    pub capacity: usize,
    /// The call's rate and 20 ms chunk.
    pub call_rate: u32,
    /// Samples per call chunk.
    pub chunk_samples: usize,
    /// The graph's rate.
    pub graph_rate: u32,
    /// Samples each participant's ring holds at the graph rate.
    pub ring_samples: usize,
}

/// Creates the rings of a call's incoming audio (allocates: build time).
pub fn inbound(
    cfg: InboundConfig,
    stats: Arc<CallStats>,
) -> Result<(Assembler, InboundRings), String> {
    let mut tx = Vec::with_capacity(cfg.capacity);
    let mut rx = Vec::with_capacity(cfg.capacity);
    for _ in 0..cfg.capacity {
        let (sp, sc) = RingBuffer::new(cfg.ring_samples);
        let (jp, jc) = RingBuffer::new(2);
        let released = Arc::new(AtomicBool::new(false));
        tx.push(SlotTx {
            samples: sp,
            joins: jp,
            released: released.clone(),
            owner: None,
            reorder: Reorder::new(cfg.chunk_samples),
            resampler: StreamResampler::new(cfg.call_rate, cfg.graph_rate)?,
        });
        rx.push(SlotRx {
            samples: sc,
            joins: jc,
            released,
        });
    }
    let (dp, dc) = RingBuffer::new(DTMF_RING);
    let closed = Arc::new(AtomicBool::new(false));
    Ok((
        Assembler {
            slots: tx,
            dtmf: dp,
            closed: closed.clone(),
            stats: stats.clone(),
            scratch: vec![0.0; cfg.chunk_samples],
            zeros: vec![0; cfg.chunk_samples],
        },
        InboundRings {
            slots: rx,
            dtmf: dc,
            closed,
            stats,
        },
    ))
}

impl Assembler {
    /// Takes one decoded chunk: finds or assigns the participant's slot,
    /// reorders, converts, resamples and queues it for `acs_in`.
    pub fn audio(&mut self, d: &AudioData) {
        let id = if d.participant.is_empty() {
            MIXED_ID
        } else {
            d.participant.as_str()
        };
        let Some(i) = self.slot_for(id) else {
            CallStats::add(&self.stats.refused_chunks, 1);
            return;
        };
        let Assembler {
            slots,
            stats,
            scratch,
            zeros,
            ..
        } = self;
        let pcm: &[i16] = match (d.silent, d.samples.len()) {
            (true, 0) => zeros,
            (true, n) => &zeros[..n.min(zeros.len())],
            (false, _) => &d.samples,
        };
        let SlotTx {
            samples: ring,
            reorder,
            resampler,
            ..
        } = &mut slots[i];
        let outcome = reorder.push(d.timestamp, pcm, |chunk| {
            let out = &mut scratch[..chunk.len()];
            for (o, s) in out.iter_mut().zip(chunk) {
                *o = f32::from(*s) / 32768.0;
            }
            resampler.push(out, |graph_rate| {
                let (_, rest) = ring.push_partial_slice(graph_rate);
                CallStats::add(&stats.dropped_in, rest.len() as u64);
            });
        });
        CallStats::add(&stats.concealed_chunks, u64::from(outcome.concealed));
        CallStats::add(&stats.late_chunks, u64::from(outcome.late));
    }

    /// Queues a DTMF tone (dropped when `acs_in` is not keeping up).
    pub fn dtmf(&mut self, d: &Dtmf) {
        let _ = self.dtmf.push((StreamId::new(&d.participant), d.tone));
    }

    /// Tells `acs_in` the call is over: it plays what is queued, then ends.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Participants currently holding a slot.
    pub fn present(&self) -> usize {
        self.slots.iter().filter(|s| s.owner.is_some()).count()
    }

    fn slot_for(&mut self, id: &str) -> Option<usize> {
        self.reclaim_released();
        if let Some(i) = self
            .slots
            .iter()
            .position(|s| s.owner.as_deref() == Some(id))
        {
            return Some(i);
        }
        let i = self.slots.iter().position(|s| s.owner.is_none())?;
        let slot = &mut self.slots[i];
        slot.joins.push(StreamId::new(id)).ok()?;
        slot.owner = Some(id.to_string());
        Some(i)
    }

    fn reclaim_released(&mut self) {
        for s in &mut self.slots {
            if s.owner.is_some() && s.released.load(Ordering::Acquire) {
                s.owner = None;
                s.reorder.reset();
                s.resampler.reset();
                s.released.store(false, Ordering::Release);
            }
        }
    }
}
