//! Which ticks' per-node times are measured.
//!
//! Timing every `process` call cost more than the engine's own hand-off
//! work per node (two counter reads, a scaling, a histogram update: about
//! 35 of 81 ns per node step). So node times are sampled: every
//! [`DEFAULT_TIMING_EVERY`]th tick of a domain is timed, node by node, and
//! the others run with no counter read at all. Call counts stay exact; the
//! percentiles come from the sampled ticks, which at 100 ticks a second
//! still gives every node over 700 samples a minute. A real-time domain's
//! own tick time and lateness are measured on every tick.

use crate::observation::stopwatch::Stopwatch;

/// By default every eighth tick of a domain is timed.
pub const DEFAULT_TIMING_EVERY: u32 = 8;

/// The stopwatch and how often it is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub watch: Stopwatch,
    /// Time every `every`th tick (1: every tick).
    every: u64,
}

impl Timing {
    /// A calibrated stopwatch, sampling at the default rate.
    pub fn calibrate() -> Timing {
        Timing {
            watch: Stopwatch::calibrate(),
            every: DEFAULT_TIMING_EVERY as u64,
        }
    }

    /// Times every `every`th tick (0 or 1: every tick).
    pub fn set_every(&mut self, every: u32) {
        self.every = u64::from(every.max(1));
    }

    /// Whether tick `k`'s node times are measured.
    #[inline]
    pub fn samples(&self, k: u64) -> bool {
        self.watch.enabled && k.is_multiple_of(self.every)
    }
}
