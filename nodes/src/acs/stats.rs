//! The counters of one call, shared by its connection and its nodes.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one call (relaxed atomics: read for reports and metrics,
/// never for control).
#[derive(Debug, Default)]
pub struct CallStats {
    /// Chunks from participants beyond the bundle's capacity (dropped).
    pub refused_chunks: AtomicU64,
    /// Chunks that arrived after later ones had been played (dropped).
    pub late_chunks: AtomicU64,
    /// Missing chunks replaced by silence.
    pub concealed_chunks: AtomicU64,
    /// Incoming samples dropped because a participant's ring was full or
    /// held more than `max_delay`, or skipped as quiet frames or removed
    /// as pitch periods to shorten a queue left deep by a stall.
    pub dropped_in: AtomicU64,
    /// Ticks in which a participant had less audio than the tick needs.
    pub underruns: AtomicU64,
    /// Outgoing samples dropped because the outgoing ring was full.
    pub dropped_out: AtomicU64,
    /// `AudioData` messages sent back.
    pub sent_messages: AtomicU64,
    /// `StopAudio` messages sent.
    pub stops_sent: AtomicU64,
}

impl CallStats {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
