//! Test data: scripted conversations where who speaks when is known (the
//! nodes are driven by `sluice_runtime::testing::NodeHarness`).

pub use super::rng::Rng;
use sluice_runtime::{BundleFrame, StreamId, StreamState};

/// Samples per tick in the tests (10 ms at 48 kHz).
pub const TICK: usize = 480;
/// Sample rate in the tests.
pub const RATE: u32 = 48_000;

/// Speech-like modulated noise: low-passed noise under a syllable envelope
/// (`syllable_hz` syllables a second, each a raised-cosine burst with a
/// short gap), with a pause of about 250 ms every second and a half.
/// `amp` is the peak envelope amplitude.
pub fn modulated_noise(
    rng: &mut Rng,
    rate: u32,
    seconds: f32,
    amp: f32,
    syllable_hz: f32,
) -> Vec<f32> {
    let n = (seconds * rate as f32) as usize;
    let mut out = Vec::with_capacity(n);
    let mut lp = 0.0f32;
    let a = 1.0 - (-2.0 * std::f32::consts::PI * 1500.0 / rate as f32).exp();
    let mut since_pause = 0.0f32;
    while out.len() < n {
        let dur = (rng.range(0.7, 1.3) / syllable_hz * rate as f32) as usize;
        let pause = since_pause > 1.5;
        let gain = if pause {
            0.0
        } else {
            rng.range(0.6, 1.0) * amp
        };
        since_pause = if pause {
            0.0
        } else {
            since_pause + dur as f32 / rate as f32
        };
        let voiced = dur * 8 / 10;
        for i in 0..dur {
            lp += a * (rng.gauss() - lp);
            let env = if i < voiced {
                (std::f32::consts::PI * i as f32 / voiced as f32)
                    .sin()
                    .powi(2)
            } else {
                0.0
            };
            out.push(2.5 * lp * env * gain);
        }
    }
    out.truncate(n);
    out
}

/// One participant's part in a scripted conversation.
pub struct Part {
    /// Their scripted samples for the whole script (empty while they have
    /// none: listeners cost no memory, so 200 of them fit).
    pub samples: Vec<f32>,
    /// RMS of stationary noise added as ticks are made.
    pub noise: f32,
    rng: Rng,
    /// Per tick: whether they hold the floor (the truth).
    pub speaking: Vec<bool>,
    /// Tick they join (present from here).
    pub join: usize,
    /// Tick after their last (absent from here).
    pub leave: usize,
}

/// A scripted conversation: who speaks when, at what level, over what noise.
pub struct Script {
    /// Participants.
    pub parts: Vec<Part>,
    /// Length in ticks.
    pub ticks: usize,
}

impl Script {
    /// `n` silent participants present for `seconds`.
    pub fn new(n: usize, seconds: f32) -> Script {
        let ticks = (seconds * 100.0) as usize;
        let parts = (0..n)
            .enumerate()
            .map(|(i, _)| Part {
                samples: Vec::new(),
                noise: 0.0,
                rng: Rng::new(1000 + i as u64),
                speaking: vec![false; ticks],
                join: 0,
                leave: ticks,
            })
            .collect();
        Script { parts, ticks }
    }

    /// Participant `who`'s scripted samples, writable.
    pub fn samples_mut(&mut self, who: usize) -> &mut [f32] {
        let n = self.ticks * TICK;
        let p = &mut self.parts[who];
        if p.samples.is_empty() {
            p.samples = vec![0.0; n];
        }
        &mut p.samples
    }

    /// Participant `who` speaks from `from` to `to` seconds at `amp` peak.
    pub fn speak(&mut self, rng: &mut Rng, who: usize, from: f32, to: f32, amp: f32) {
        let rate = rng.range(3.5, 5.5);
        let speech = modulated_noise(rng, RATE, to - from, amp, rate);
        let start = (from * RATE as f32) as usize;
        let samples = self.samples_mut(who);
        for (i, s) in speech.iter().enumerate() {
            if let Some(d) = samples.get_mut(start + i) {
                *d += s;
            }
        }
        let p = &mut self.parts[who];
        let (a, b) = (
            (from * 100.0) as usize,
            ((to * 100.0) as usize).min(self.ticks),
        );
        p.speaking[a..b].fill(true);
    }

    /// Adds stationary background noise of RMS `rms` to participant `who`.
    pub fn noise(&mut self, rng: &mut Rng, who: usize, rms: f32) {
        let p = &mut self.parts[who];
        p.noise = rms;
        p.rng = Rng::new(rng.next_u64());
    }

    /// Adds a 2 ms full-scale click to participant `who` at `at` seconds.
    pub fn click(&mut self, who: usize, at: f32) {
        let start = (at * RATE as f32) as usize;
        let samples = self.samples_mut(who);
        for i in 0..96 {
            samples[start + i] += if i % 2 == 0 { 0.9 } else { -0.9 };
        }
    }

    /// Participant `who` is present only from `join` to `leave` seconds.
    pub fn presence(&mut self, who: usize, join: f32, leave: f32) {
        let p = &mut self.parts[who];
        p.join = (join * 100.0) as usize;
        p.leave = ((leave * 100.0) as usize).min(self.ticks);
    }

    /// Fills bundle `b` with tick `t` of the script (slot = participant).
    pub fn fill(&mut self, b: &mut BundleFrame, t: usize) {
        for (i, (p, s)) in self.parts.iter_mut().zip(b.slots_mut()).enumerate() {
            s.state = if t < p.join || t >= p.leave {
                StreamState::Absent
            } else if t == p.join {
                StreamState::Joined
            } else if t + 1 == p.leave {
                StreamState::Left
            } else {
                StreamState::Active
            };
            if s.state == StreamState::Joined {
                s.id = StreamId::new(&format!("p{i}"));
            }
            let present = s.state.present();
            let out = s.samples_mut();
            if !present {
                out.fill(0.0);
                continue;
            }
            match p.samples.get(t * TICK..(t + 1) * TICK) {
                Some(x) => out.copy_from_slice(x),
                None => out.fill(0.0),
            }
            if p.noise > 0.0 {
                for x in out.iter_mut() {
                    *x += p.noise * p.rng.gauss();
                }
            }
        }
    }
}
