//! Time compression of voiced audio, for shortening a participant's queue
//! without cutting words (as a network jitter buffer's "accelerate" does).
//!
//! Voiced speech repeats itself every pitch period. When a stretch of it
//! repeats closely enough, one whole period can be taken out: the frame
//! played is the queue's head with one period removed, the two sides
//! cross-faded over the period so nothing clicks. The words come out a
//! period sooner, at the same pitch. Audio that does not repeat (noise,
//! consonants, music with several voices) is left alone.

use crate::kernels::correlation::dot_energy;
use crate::kernels::level::energy;

/// Where a period is looked for, in samples at the graph rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pitch {
    /// The shortest period (2.5 ms: a 400 Hz voice).
    pub min: usize,
    /// The longest period (15 ms: a 67 Hz voice).
    pub max: usize,
    /// Samples compared at each lag (15 ms: a whole longest period).
    pub window: usize,
    /// The coarse search's step between lags (about 0.125 ms), after
    /// which the best coarse lag is refined lag by lag.
    pub step: usize,
}

/// How closely a stretch must repeat itself (normalized correlation of a
/// window with the window one period later) before a period is removed.
pub const REPEATS: f32 = 0.9;

impl Pitch {
    /// The search at `rate` Hz.
    pub fn at(rate: u32) -> Pitch {
        let ms = |m: f64| (f64::from(rate) * m / 1000.0).round() as usize;
        Pitch {
            min: ms(2.5).max(1),
            max: ms(15.0).max(2),
            window: ms(15.0).max(2),
            step: (rate as usize / 8000).max(1),
        }
    }

    /// Samples a compression reads to play a tick of `len`: the frame and
    /// a longest period after it, and a whole window at each lag.
    pub fn needs(&self, len: usize) -> usize {
        len.max(self.window) + self.max
    }

    /// The period `x` repeats with best, and how well (`REPEATS` and
    /// above is voiced). `x` holds at least [`Pitch::needs`] samples.
    pub fn best_period(&self, x: &[f32]) -> (usize, f32) {
        let own = energy(&x[..self.window]);
        let coarse = self.search(x, own, (self.min..=self.max).step_by(self.step));
        let lo = coarse.0.saturating_sub(self.step).max(self.min);
        let hi = (coarse.0 + self.step).min(self.max);
        self.search(x, own, lo..=hi)
    }

    /// The best of `lags`; `own` is the first window's energy.
    fn search(&self, x: &[f32], own: f32, lags: impl Iterator<Item = usize>) -> (usize, f32) {
        let mut best = (self.min, f32::MIN);
        for lag in lags {
            let c = correlation(x, own, lag, self.window);
            if c > best.1 {
                best = (lag, c);
            }
        }
        best
    }
}

/// Normalized correlation of `x[..window]` (of energy `own`) with
/// `x[lag..lag + window]`; 0 when either is silent.
fn correlation(x: &[f32], own: f32, lag: usize, window: usize) -> f32 {
    let (ab, bb) = dot_energy(&x[..window], &x[lag..lag + window]);
    let norm = (own * bb).sqrt();
    if norm > 0.0 {
        ab / norm
    } else {
        0.0
    }
}

/// Fills `out` from `x` with the period `lag` taken out: `x[n]` fading
/// into `x[n + lag]` over the first `lag` samples (or all of `out` when
/// it is shorter), `x[n + lag]` after. Reads `out.len() + lag` samples;
/// the next tick goes on from `x[out.len() + lag]`, where the last
/// sample played left off.
pub fn compress(x: &[f32], lag: usize, out: &mut [f32]) {
    let fade = lag.min(out.len());
    let step = 1.0 / (fade + 1) as f32;
    for (n, o) in out.iter_mut().enumerate() {
        *o = if n < fade {
            let w = (n + 1) as f32 * step;
            x[n] * (1.0 - w) + x[n + lag] * w
        } else {
            x[n + lag]
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::TAU;

    /// A voiced sound: a 125 Hz fundamental and two harmonics.
    fn voice(rate: u32, n: usize) -> Vec<f32> {
        let f0 = 125.0 / rate as f32;
        (0..n)
            .map(|i| {
                let p = TAU * f0 * i as f32;
                0.5 * p.sin() + 0.25 * (2.0 * p).sin() + 0.12 * (3.0 * p + 1.0).sin()
            })
            .collect()
    }

    #[test]
    fn finds_the_period_of_a_voice_at_each_call_rate() {
        for rate in [16_000, 24_000, 48_000] {
            let p = Pitch::at(rate);
            let x = voice(rate, p.needs(rate as usize / 50));
            let (lag, c) = p.best_period(&x);
            let period = rate as usize / 125;
            assert!(
                lag.abs_diff(period) <= 1,
                "{rate} Hz: lag {lag}, period {period}"
            );
            assert!(c > 0.99, "{rate} Hz: {c}");
        }
    }

    #[test]
    fn the_same_shape_at_any_level_repeats_fully() {
        let a: Vec<f32> = (0..100).map(|i| (i as f32 * 0.3).sin()).collect();
        let with = |b: Vec<f32>| [a.clone(), b].concat();
        let own = energy(&a);
        let quieter = with(a.iter().map(|v| v * 0.01).collect());
        assert!((correlation(&quieter, own, 100, 100) - 1.0).abs() < 1e-5);
        let inverted = with(a.iter().map(|v| -v).collect());
        assert!((correlation(&inverted, own, 100, 100) + 1.0).abs() < 1e-5);
        assert_eq!(correlation(&with(vec![0.0; 100]), own, 100, 100), 0.0);
    }

    #[test]
    fn noise_does_not_repeat() {
        let mut seed = 1u32;
        let x: Vec<f32> = (0..2000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1 << 23) as f32 - 1.0
            })
            .collect();
        let (_, c) = Pitch::at(16_000).best_period(&x);
        assert!(c < REPEATS, "{c}");
        assert_eq!(correlation(&[0.0; 64], 0.0, 8, 32), 0.0, "silence");
    }

    #[test]
    fn a_removed_period_leaves_the_voice_as_it_was() {
        let (rate, len) = (16_000, 320);
        let p = Pitch::at(rate);
        let x = voice(rate, p.needs(len));
        let (lag, _) = p.best_period(&x);
        let mut out = vec![0.0; len];
        compress(&x, lag, &mut out);
        let worst = out
            .iter()
            .zip(&x)
            .map(|(o, v)| (o - v).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 0.02, "a whole period out: the same wave, {worst}");
        assert!(
            (out[len - 1] - x[len - 1 + lag]).abs() < 1e-6,
            "ends where x goes on"
        );
    }

    #[test]
    fn the_fade_is_as_long_as_the_shorter_of_period_and_frame() {
        let x: Vec<f32> = (0..40).map(|i| if i < 20 { 0.0 } else { 1.0 }).collect();
        let mut out = [0.0; 10];
        compress(&x, 20, &mut out);
        assert!(out.windows(2).all(|w| w[1] > w[0]), "{out:?}");
        assert!(out[9] < 1.0 && out[0] > 0.0, "{out:?}");
    }
}
