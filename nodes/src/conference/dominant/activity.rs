//! Speech activity of one stream on three time scales.
//!
//! After Volfin and Cohen's dominant speaker identification (used by
//! Jitsi): a speaker is judged on an immediate, a medium (about a word,
//! the decision scale) and a long (about a sentence) time scale, so a
//! click or a cough moves only the immediate score, and a speaker who
//! holds the floor keeps a long score through the pauses between phrases.
//! Each tick's input is the tick's voice activity (from [`Vad`], or the
//! speech model's probability with `vad: silero`; 0..1)
//! weighted by its loudness, so among several voices the louder ranks
//! higher (WebRTC's mixer: voice-active before passive, then by energy),
//! while loud stationary noise ranks nowhere. Beside the speech scores a
//! stream keeps its level on the medium scale, speech or not: what ranks
//! streams that are not speaking (music, a tone, noise) for the seats
//! speech leaves free, as WebRTC's mixer ranks by energy.

use crate::conference::vad::{unit, Vad, ABSOLUTE_GATE_DB};
use crate::kernels::level::fast_power_dbfs;

/// Time constants of the three scales, in seconds.
const TAU_IMMEDIATE: f32 = 0.05;
const TAU_MEDIUM: f32 = 0.3;
const TAU_LONG: f32 = 2.0;
/// Loudness weight: 0 at -60 dBFS (the voice-activity gate), 1 at -10 dBFS
/// and above.
const LOUDNESS_ZERO_DB: f32 = ABSOLUTE_GATE_DB;
const LOUDNESS_SPAN_DB: f32 = 50.0;
/// Each tick's level is floored here (20 dB under the gate) before it is
/// averaged in dB: a pause or digital silence pulls a stream's level down
/// only so far, and a click among quiet ticks barely moves it.
const LEVEL_FLOOR_DB: f32 = LOUDNESS_ZERO_DB - 20.0;

/// The loudness weight of a level in dBFS: 0 at the gate, 1 at -10 dBFS.
fn loudness(db: f32) -> f32 {
    unit((db - LOUDNESS_ZERO_DB) * (1.0 / LOUDNESS_SPAN_DB))
}

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
    /// Level in dBFS averaged over about 300 ms (in dB, each tick floored
    /// at -80 dBFS), speech or not; `None` before the first tick.
    level_db: Option<f32>,
}

impl Activity {
    /// A stream with no history.
    pub fn new(rates: &Rates) -> Activity {
        Activity {
            vad: Vad::new(rates.tick_seconds),
            immediate: 0.0,
            medium: 0.0,
            long: 0.0,
            level_db: None,
        }
    }

    /// The stream's loudness whether or not it speaks (0 at or below the
    /// -60 dBFS gate, 1 at -10 dBFS and above), from its level averaged in
    /// dB: steady sounds (music, a tone, a fan) rank by it, clicks do not
    /// raise it.
    pub fn level(&self) -> f32 {
        self.level_db.map_or(0.0, loudness)
    }

    /// Feeds one tick's mean square, with the speech model's probability
    /// for the tick when `vad: silero` runs it (`None`: the energy
    /// detector decides).
    pub fn update(&mut self, rates: &Rates, mean_square: f32, model: Option<f32>) {
        let level = fast_power_dbfs(mean_square);
        let voice = match model {
            Some(p) => p,
            None => self.vad.update_db(level),
        };
        let x = voice * loudness(level);
        self.immediate += rates.immediate * (x - self.immediate);
        self.medium += rates.medium * (x - self.medium);
        self.long += rates.long * (x - self.long);
        let floored = level.max(LEVEL_FLOOR_DB);
        self.level_db = Some(match self.level_db {
            Some(db) => db + rates.medium * (floored - db),
            None => floored,
        });
    }
}
