//! The graph-wide settings of a `graph name(...)` header, which the
//! checker's constraints and the plan both read.

use serde::{Deserialize, Serialize};

/// Graph-wide settings from the `graph name(...)` header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Audio sample rate in Hz (default 48000).
    pub rate: u32,
    /// Samples per audio tick (rate x frame; default 480).
    pub frame_samples: u32,
    /// Whether sources are paced by a clock or device.
    pub realtime: bool,
    /// Stop after this many seconds of media time, if set.
    pub duration: Option<f64>,
    /// `rate: call`: under `sluice serve` the graph runs at each call's
    /// own rate (16 or 24 kHz), so nothing is resampled; `rate` then holds
    /// [`CALL_RATE_ELSEWHERE`], the rate used outside `serve`.
    #[serde(default)]
    pub call_rate: bool,
}

/// The rate a `rate: call` graph runs at outside `sluice serve` (the
/// platform's default call rate).
pub const CALL_RATE_ELSEWHERE: u32 = 16_000;

/// The rates a `rate: call` graph may run at: the frame must give a whole
/// number of samples at each.
pub const CALL_RATES: [u32; 2] = [16_000, 24_000];

impl Settings {
    /// The length of one audio tick in seconds (`frame_samples / rate`):
    /// what nodes turn their durations into ticks with.
    pub fn tick_seconds(&self) -> f64 {
        f64::from(self.frame_samples) / f64::from(self.rate)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rate: 48_000,
            frame_samples: 480,
            realtime: false,
            duration: None,
            call_rate: false,
        }
    }
}
