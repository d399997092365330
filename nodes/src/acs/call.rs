//! How a call's connection and its graph instance find each other.
//!
//! `sluice serve` builds one graph per connection. It calls [`build_call`]
//! with the call's `AudioMetadata` and a closure that builds the engine;
//! while that closure runs (on the same thread), `acs_in`'s and `acs_out`'s
//! constructors create their rings (sized from their own arguments and the
//! graph settings) and leave the connection's ends here. When the closure
//! returns, the connection gets a [`CallSide`] holding those ends. Building
//! an `acs_in` anywhere else (`sluice run`) is a clear error.

use super::inbound::Assembler;
use super::outbound::Outbound;
use super::protocol::AudioMetadata;
use sluice_runtime::NodeError;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counters of one call, shared by its connection and its nodes (relaxed
/// atomics: read for reports, never for control).
#[derive(Debug, Default)]
pub struct CallStats {
    /// Chunks from participants beyond the bundle's capacity (dropped).
    pub refused_chunks: AtomicU64,
    /// Chunks that arrived after later ones had been played (dropped).
    pub late_chunks: AtomicU64,
    /// Missing chunks replaced by silence.
    pub concealed_chunks: AtomicU64,
    /// Incoming samples dropped because a participant's ring was full or
    /// held more than `max_delay`.
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

/// The call's format, as the nodes' constructors see it.
#[derive(Debug, Clone, Copy)]
pub struct CallFormat {
    /// The call's sample rate (16000 or 24000).
    pub rate: u32,
    /// Samples in one 20 ms chunk at that rate.
    pub chunk_samples: usize,
}

/// The connection's ends of a call's rings, left by the nodes' constructors.
#[derive(Debug)]
pub struct CallSide {
    /// Where incoming audio goes (`None` when the graph has no `acs_in`).
    pub inbound: Option<Assembler>,
    /// Where outgoing audio comes from (`None` without `acs_out`).
    pub outbound: Option<Outbound>,
    /// The call's counters.
    pub stats: Arc<CallStats>,
}

struct Building {
    format: CallFormat,
    side: CallSide,
}

thread_local! {
    static BUILDING: RefCell<Option<Building>> = const { RefCell::new(None) };
}

/// Clears the thread's pending call even if the build panics.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        BUILDING.with(|b| b.borrow_mut().take());
    }
}

/// Runs `build` (which builds the call's graph on this thread) with the
/// call's format available to `acs_in` and `acs_out`, and returns what it
/// built with the connection's ends of the rings.
pub fn build_call<R>(meta: &AudioMetadata, build: impl FnOnce() -> R) -> (R, CallSide) {
    let stats = Arc::new(CallStats::default());
    BUILDING.with(|b| {
        *b.borrow_mut() = Some(Building {
            format: CallFormat {
                rate: meta.sample_rate,
                chunk_samples: meta.chunk_samples(),
            },
            side: CallSide {
                inbound: None,
                outbound: None,
                stats,
            },
        })
    });
    let guard = Guard;
    let built = build();
    let side = BUILDING.with(|b| b.borrow_mut().take()).map(|b| b.side);
    drop(guard);
    let side = side.unwrap_or_else(|| CallSide {
        inbound: None,
        outbound: None,
        stats: Arc::new(CallStats::default()),
    });
    (built, side)
}

/// For the nodes' constructors: the call being built on this thread.
pub(crate) fn with_call<R>(
    kind: &str,
    f: impl FnOnce(CallFormat, &mut CallSide) -> Result<R, NodeError>,
) -> Result<R, NodeError> {
    BUILDING.with(|b| match b.borrow_mut().as_mut() {
        Some(building) => f(building.format, &mut building.side),
        None => Err(NodeError::new(format!(
            "`{kind}` exchanges a call's audio over a WebSocket and runs only under \
             `sluice serve --listen ADDR FILE` (one graph per call)"
        ))),
    })
}
