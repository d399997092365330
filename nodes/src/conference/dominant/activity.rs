//! Speech activity of one stream on three time scales.
//!
//! After Volfin and Cohen's dominant speaker identification (used by
//! Jitsi): a speaker is judged on an immediate, a medium (about a word,
//! the decision scale) and a long (about a sentence) time scale, so a
//! click or a cough moves only the immediate score, and a speaker who
//! holds the floor keeps a long score through the pauses between phrases.
//! Each tick's input is the tick's voice activity (from [`Vad`], 0..1)
//! weighted by its loudness, so among several voices the louder ranks
//! higher (WebRTC's mixer: voice-active before passive, then by energy),
//! while loud stationary noise ranks nowhere.

use crate::conference::vad::{unit, Vad};
use crate::kernels::level::fast_power_dbfs;

/// Time constants of the three scales, in seconds.
const TAU_IMMEDIATE: f32 = 0.05;
const TAU_MEDIUM: f32 = 0.3;
const TAU_LONG: f32 = 2.0;
/// Loudness weight: 0 at -60 dBFS, 1 at -10 dBFS and above.
const LOUDNESS_ZERO_DB: f32 = -60.0;
const LOUDNESS_SPAN_DB: f32 = 50.0;

/// Per-tick smoothing factors of the three scales.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    immediate: f32,
    medium: f32,
    long: f32,
    tick_seconds: f32,
}

impl Rates {
    /// Factors for ticks of `tick_seconds`.
    pub fn new(tick_seconds: f32) -> Rates {
        let a = |tau: f32| 1.0 - (-tick_seconds / tau).exp();
        Rates {
            immediate: a(TAU_IMMEDIATE),
            medium: a(TAU_MEDIUM),
            long: a(TAU_LONG),
            tick_seconds,
        }
    }
}

/// One stream's scores.
#[derive(Debug, Clone, Copy)]
pub struct Activity {
    vad: Vad,
    /// Smoothed over about 50 ms.
    pub immediate: f32,
    /// Smoothed over about 300 ms: the ranking score.
    pub medium: f32,
    /// Smoothed over about 2 s: keeps the floor through pauses.
    pub long: f32,
}

impl Activity {
    /// A stream with no history.
    pub fn new(rates: &Rates) -> Activity {
        Activity {
            vad: Vad::new(rates.tick_seconds),
            immediate: 0.0,
            medium: 0.0,
            long: 0.0,
        }
    }

    /// Feeds one tick's mean square.
    pub fn update(&mut self, rates: &Rates, mean_square: f32) {
        let level = fast_power_dbfs(mean_square);
        let voice = self.vad.update_db(level);
        let loud = unit((level - LOUDNESS_ZERO_DB) * (1.0 / LOUDNESS_SPAN_DB));
        let x = voice * loud;
        self.immediate += rates.immediate * (x - self.immediate);
        self.medium += rates.medium * (x - self.medium);
        self.long += rates.long * (x - self.long);
    }
}
