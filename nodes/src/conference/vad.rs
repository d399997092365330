//! A per-stream voice-activity estimate from tick energies.
//!
//! Speech is modulated at the syllable rate (3-6 Hz), so its short-term
//! level keeps dipping to the stream's noise floor between syllables and
//! rising well above it on vowels; stationary noise (a fan, hiss) sits at
//! its floor. Tracking the floor as a running minimum that falls at once
//! and rises slowly (minimum statistics, as in speech enhancement) and
//! asking how far above it the tick is gives a cheap, robust activity
//! estimate that needs only the tick's energy, which the meters and the
//! dominant ranking compute anyway.

use crate::kernels::level::power_dbfs;

/// Ticks quieter than this are never voice (a muted or empty stream): the
/// noise gate.
pub const ABSOLUTE_GATE_DB: f32 = -60.0;
/// Level above the floor where activity starts.
const SNR_START_DB: f32 = 6.0;
/// Level above the floor where activity is certain.
const SNR_FULL_DB: f32 = 12.0;
/// How fast the floor may rise, in dB per second: slow enough that a
/// phrase with syllable dips keeps its floor, fast enough to follow a fan
/// being switched on within a few seconds.
const FLOOR_RISE_DB_PER_S: f32 = 6.0;

/// `x` limited to 0..=1 with plain comparisons (levels here are never NaN;
/// `f32::clamp` pays for NaN handling in the per-stream hot loop).
#[allow(clippy::manual_clamp)]
pub fn unit(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else if x > 1.0 {
        1.0
    } else {
        x
    }
}

/// One stream's voice-activity tracker.
#[derive(Debug, Clone, Copy)]
pub struct Vad {
    floor_db: f32,
    rise_per_tick: f32,
    started: bool,
}

impl Vad {
    /// A tracker for ticks of `tick_seconds`.
    pub fn new(tick_seconds: f32) -> Vad {
        Vad {
            floor_db: 0.0,
            rise_per_tick: FLOOR_RISE_DB_PER_S * tick_seconds,
            started: false,
        }
    }

    /// Forgets the stream (a new participant took the slot).
    pub fn reset(&mut self) {
        self.started = false;
    }

    /// Feeds one tick's mean square; returns the voice activity of the
    /// tick, 0 (noise or silence) to 1 (clearly voice).
    pub fn update(&mut self, mean_square: f32) -> f32 {
        self.update_db(power_dbfs(mean_square))
    }

    /// [`Vad::update`] for a tick whose level in dBFS is already known.
    pub fn update_db(&mut self, level: f32) -> f32 {
        if !self.started || level < self.floor_db {
            self.started = true;
            self.floor_db = level;
        } else {
            let risen = self.floor_db + self.rise_per_tick;
            self.floor_db = if risen < level { risen } else { level };
        }
        if level < ABSOLUTE_GATE_DB {
            return 0.0;
        }
        let snr = level - self.floor_db;
        unit((snr - SNR_START_DB) * (1.0 / (SNR_FULL_DB - SNR_START_DB)))
    }

    /// The current noise floor estimate in dBFS.
    pub fn floor_db(&self) -> f32 {
        self.floor_db
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conference::testkit::{modulated_noise, Rng};
    use crate::kernels::level::energy;

    fn activity(signal: &[f32]) -> Vec<f32> {
        let mut vad = Vad::new(0.01);
        signal
            .chunks(480)
            .map(|t| vad.update(energy(t) / t.len() as f32))
            .collect()
    }

    #[test]
    fn stationary_noise_is_not_voice() {
        let mut rng = Rng::new(3);
        let noise: Vec<f32> = (0..48_000 * 5).map(|_| 0.05 * rng.gauss()).collect();
        let a = activity(&noise);
        let active = a[20..].iter().filter(|v| **v > 0.5).count();
        assert_eq!(active, 0, "noise flagged as voice in {active} ticks");
    }

    #[test]
    fn syllabic_speech_over_noise_is_voice() {
        let mut rng = Rng::new(4);
        let speech = modulated_noise(&mut rng, 48_000, 5.0, 0.2, 4.0);
        let mut floor = Rng::new(5);
        let mixed: Vec<f32> = speech.iter().map(|s| s + 0.005 * floor.gauss()).collect();
        let a = activity(&mixed);
        let frac = a.iter().filter(|v| **v > 0.5).count() as f32 / a.len() as f32;
        // The syllable envelope is above half its peak about half the time.
        assert!(frac > 0.35 && frac < 0.9, "voice fraction {frac}");
    }
}
