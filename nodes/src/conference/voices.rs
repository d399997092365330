//! Synthetic speech-like voices for `participants(synth: N)`: demos, the
//! README's main command and tests get a conversation with no files.
//!
//! Each voice is a source-filter model: a glottal pulse train (the
//! derivative of a Rosenberg pulse, with a little aspiration noise) at the
//! voice's pitch, with vibrato and a falling intonation over each phrase,
//! through three formant resonators gliding between vowels. A syllable
//! envelope at the voice's syllable rate (3-6 Hz), sometimes with a
//! fricative onset, shapes it into syllables; phrases of a few syllables
//! are separated by pauses. A conversation controller passes the floor
//! between the present voices, lets others put in short backchannels (so
//! usually one or two speak at once) and makes voices leave and rejoin.
//! Everything is fixed-size state: making a tick never allocates.

use super::rng::Rng;
use std::f32::consts::PI;

/// Vowel formants (F1, F2, F3) in Hz for an average adult tract.
const VOWELS: [[f32; 3]; 5] = [
    [730.0, 1090.0, 2440.0],
    [270.0, 2290.0, 3010.0],
    [300.0, 870.0, 2240.0],
    [530.0, 1840.0, 2480.0],
    [570.0, 840.0, 2410.0],
];
/// Formant bandwidths in Hz and relative amplitudes.
const BANDWIDTHS: [f32; 3] = [90.0, 110.0, 170.0];
const FORMANT_GAINS: [f32; 3] = [1.0, 0.6, 0.3];
/// Scales the resonators' output to about -20 dBFS RMS on vowels at 0 dB
/// voice gain (measured by the tests).
const OUTPUT_SCALE: f32 = 0.8;

/// Where a voice is in its speech.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Talk {
    /// Not speaking.
    Idle,
    /// Saying `left` more syllables, this phrase `len` long.
    Phrase { left: u32, len: u32 },
}

/// A two-pole resonator.
#[derive(Debug, Clone, Copy, Default)]
struct Resonator {
    a1: f32,
    a2: f32,
    g: f32,
    y1: f32,
    y2: f32,
}

impl Resonator {
    fn tune(&mut self, freq: f32, bw: f32, rate: f32) {
        let r = (-PI * bw / rate).exp();
        let theta = 2.0 * PI * freq / rate;
        self.a1 = 2.0 * r * theta.cos();
        self.a2 = -r * r;
        // Unit gain at the centre frequency, roughly.
        self.g = (1.0 - r) * 2.0 * theta.sin().max(0.05);
    }

    fn run(&mut self, x: f32) -> f32 {
        let y = self.g * x + self.a1 * self.y1 + self.a2 * self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

/// One synthetic talker.
#[derive(Debug, Clone)]
pub struct Voice {
    rng: Rng,
    rate: f32,
    f0: f32,
    tract: f32,
    gain: f32,
    syllable_rate: f32,
    vib_rate: f32,
    vib_depth: f32,
    phase: f32,
    vib_phase: f32,
    prev_pulse: f32,
    formants: [f32; 3],
    target: [f32; 3],
    res: [Resonator; 3],
    talk: Talk,
    /// Samples into the current syllable and its length.
    pos: u32,
    syl_len: u32,
    accent: f32,
    fricative: bool,
    /// The phrase ended in the last tick (for the controller).
    pub finished: bool,
}

impl Voice {
    /// A voice with its own pitch, tract length, loudness and pace.
    pub fn new(rng: &mut Rng, rate: u32) -> Voice {
        let low = rng.unit() < 0.5;
        let f0 = if low {
            rng.range(90.0, 140.0)
        } else {
            rng.range(170.0, 250.0)
        };
        let tract = if low {
            rng.range(0.9, 1.0)
        } else {
            rng.range(1.05, 1.18)
        };
        let mut v = Voice {
            rng: Rng::new(rng.next_u64()),
            rate: rate as f32,
            f0,
            tract,
            gain: 10f32.powf(rng.range(-10.0, 6.0) / 20.0),
            syllable_rate: rng.range(3.0, 6.0),
            vib_rate: rng.range(4.5, 6.0),
            vib_depth: rng.range(0.005, 0.015),
            phase: 0.0,
            vib_phase: 0.0,
            prev_pulse: 0.0,
            formants: VOWELS[0],
            target: VOWELS[0],
            res: [Resonator::default(); 3],
            talk: Talk::Idle,
            pos: 0,
            syl_len: 1,
            accent: 1.0,
            fricative: false,
            finished: false,
        };
        v.retune();
        v
    }

    /// Whether the voice is in a phrase.
    pub fn speaking(&self) -> bool {
        self.talk != Talk::Idle
    }

    /// Starts a phrase of `syllables` syllables.
    pub fn say(&mut self, syllables: u32) {
        self.talk = Talk::Phrase {
            left: syllables.max(1),
            len: syllables.max(1),
        };
        self.next_syllable();
    }

    fn next_syllable(&mut self) {
        self.pos = 0;
        self.syl_len = (self.rate / self.syllable_rate * self.rng.range(0.7, 1.3)) as u32;
        let v = VOWELS[self.rng.below(VOWELS.len())];
        self.target = v.map(|f| f * self.tract);
        self.accent = self.rng.range(0.95, 1.08);
        self.fricative = self.rng.unit() < 0.4;
    }

    fn retune(&mut self) {
        for ((r, f), bw) in self.res.iter_mut().zip(self.formants).zip(BANDWIDTHS) {
            r.tune(f, bw, self.rate);
        }
    }

    /// Makes the next `out.len()` samples (zeros when idle). Formants glide
    /// once per call (per tick), which is smooth at 10 ms ticks.
    pub fn render(&mut self, out: &mut [f32]) {
        self.finished = false;
        let Talk::Phrase { mut left, len } = self.talk else {
            out.fill(0.0);
            return;
        };
        for (f, t) in self.formants.iter_mut().zip(self.target) {
            *f += 0.25 * (t - *f);
        }
        self.retune();
        let progress = 1.0 - left as f32 / len as f32;
        let f0 = self.f0 * self.accent * (1.08 - 0.16 * progress);
        let voiced_end = self.syl_len as f32 * 0.85;
        for o in out.iter_mut() {
            if left == 0 {
                *o = 0.0;
                continue;
            }
            let x = self.pos as f32 / voiced_end;
            let env = if x < 1.0 { (PI * x).sin().powi(2) } else { 0.0 };
            self.vib_phase = (self.vib_phase + self.vib_rate / self.rate).fract();
            let f = f0 * (1.0 + self.vib_depth * (2.0 * PI * self.vib_phase).sin());
            self.phase += f / self.rate;
            if self.phase >= 1.0 {
                self.phase -= 1.0;
            }
            let pulse = rosenberg(self.phase);
            let excitation = (pulse - self.prev_pulse) * 20.0 + 0.02 * pulse * self.rng.gauss();
            self.prev_pulse = pulse;
            let mut y = 0.0;
            for (r, g) in self.res.iter_mut().zip(FORMANT_GAINS) {
                y += g * r.run(excitation);
            }
            let mut s = y * env;
            if self.fricative && x < 0.15 {
                let burst = (PI * x / 0.15).sin();
                s += 0.15 * burst * self.rng.gauss();
            }
            *o = s * self.gain * OUTPUT_SCALE;
            self.pos += 1;
            if self.pos >= self.syl_len {
                left -= 1;
                if left > 0 {
                    self.next_syllable();
                }
            }
        }
        if left == 0 {
            self.talk = Talk::Idle;
            self.finished = true;
            self.res = self.res.map(|r| Resonator {
                y1: 0.0,
                y2: 0.0,
                ..r
            });
        } else {
            self.talk = Talk::Phrase { left, len };
        }
    }
}

/// The glottal flow of a Rosenberg pulse at `phase` (0..1): opening over
/// 40% of the period, closing over 20%, closed for the rest.
fn rosenberg(phase: f32) -> f32 {
    if phase < 0.4 {
        0.5 * (1.0 - (PI * phase / 0.4).cos())
    } else if phase < 0.6 {
        (PI * (phase - 0.4) / 0.4).cos()
    } else {
        0.0
    }
}

/// Presence and turn-taking among the voices.
#[derive(Debug, Clone)]
pub struct Conversation {
    rng: Rng,
    /// Voices, by slot.
    pub voices: Vec<Voice>,
    /// Whether each voice is in the call.
    pub present: Vec<bool>,
    /// Ticks until each voice's presence may change.
    until_toggle: Vec<u32>,
    holder: Option<usize>,
    /// Ticks of silence before the holder's next phrase.
    wait: u32,
    /// Phrases left in the holder's turn.
    turn_phrases: u32,
    ticks_per_second: f32,
}

impl Conversation {
    /// `n` voices at `rate` with ticks of `tick_samples`, from `seed`.
    pub fn new(n: usize, seed: u64, rate: u32, tick_samples: usize) -> Conversation {
        let mut rng = Rng::new(seed);
        let voices = (0..n).map(|_| Voice::new(&mut rng, rate)).collect();
        let tps = rate as f32 / tick_samples as f32;
        let present: Vec<bool> = (0..n).map(|i| i == 0 || rng.unit() < 0.75).collect();
        let until_toggle = (0..n)
            .map(|i| {
                let s = if present[i] {
                    rng.range(20.0, 90.0)
                } else {
                    rng.range(3.0, 30.0)
                };
                (s * tps) as u32
            })
            .collect();
        Conversation {
            rng,
            voices,
            present,
            until_toggle,
            holder: None,
            wait: (0.3 * tps) as u32,
            turn_phrases: 0,
            ticks_per_second: tps,
        }
    }

    fn seconds(&mut self, lo: f32, hi: f32) -> u32 {
        (self.rng.range(lo, hi) * self.ticks_per_second) as u32
    }

    /// A present voice other than `not` (or `not` itself if alone).
    fn someone_else(&mut self, not: Option<usize>) -> Option<usize> {
        let n = self.voices.len();
        let start = self.rng.below(n);
        let pick = (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.present[i] && Some(i) != not);
        pick.or(not.filter(|&h| self.present[h]))
    }

    /// Advances presence and turns by one tick (call before rendering).
    pub fn step(&mut self) {
        // Presence: voice 1 stays; the others leave (when quiet) and rejoin.
        for i in 1..self.voices.len() {
            if self.until_toggle[i] > 0 {
                self.until_toggle[i] -= 1;
            } else if !self.voices[i].speaking() && self.holder != Some(i) {
                self.present[i] = !self.present[i];
                self.until_toggle[i] = if self.present[i] {
                    self.seconds(20.0, 90.0)
                } else {
                    self.seconds(5.0, 30.0)
                };
            }
        }
        if self.holder.is_some_and(|h| !self.present[h]) {
            self.holder = None;
        }
        let holder_busy = self.holder.is_some_and(|h| self.voices[h].speaking());
        if !holder_busy {
            if self.wait > 0 {
                self.wait -= 1;
            } else if self.turn_phrases > 0 {
                self.turn_phrases -= 1;
                let syl = 2 + self.rng.below(8) as u32;
                if let Some(h) = self.holder {
                    self.voices[h].say(syl);
                }
                self.wait = self.seconds(0.25, 0.8);
            } else {
                self.holder = self.someone_else(self.holder);
                self.turn_phrases = 1 + self.rng.below(4) as u32;
                self.wait = self.seconds(0.15, 0.7);
            }
        } else if self.rng.unit() < 0.15 / self.ticks_per_second {
            // A backchannel or interruption over the holder.
            if let Some(i) = self.someone_else(self.holder) {
                if !self.voices[i].speaking() && Some(i) != self.holder {
                    let syl = 1 + self.rng.below(3) as u32;
                    self.voices[i].say(syl);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::level::{dbfs, peak, rms};

    #[test]
    fn a_voice_is_pitched_speech_at_a_sane_level() {
        let mut rng = Rng::new(5);
        let mut v = Voice::new(&mut rng, 48_000);
        v.gain = 1.0;
        v.say(8);
        let mut out = vec![0.0f32; 48_000 * 4];
        for tick in out.chunks_mut(480) {
            v.render(tick);
        }
        let voiced: Vec<f32> = out
            .chunks(480)
            .filter(|t| rms(t) > 0.01)
            .flatten()
            .copied()
            .collect();
        let level = dbfs(rms(&voiced));
        assert!((-30.0..-10.0).contains(&level), "level {level}");
        assert!(peak(&out) < 0.45, "peak {}", peak(&out));
        // The pitch shows as an autocorrelation peak at one period.
        let period = (48_000.0 / v.f0) as usize;
        let seg = &voiced[..4800];
        let ac = |lag: usize| seg.iter().zip(&seg[lag..]).map(|(a, b)| a * b).sum::<f32>();
        let best = (period * 8 / 10..period * 12 / 10)
            .map(ac)
            .fold(f32::MIN, f32::max);
        assert!(best > 0.3 * ac(0), "no pitch: {best} vs {}", ac(0));
        assert!(!v.speaking(), "eight syllables at 3-6 Hz end within 4 s");
    }

    #[test]
    fn usually_one_or_two_speak_and_people_come_and_go() {
        let mut c = Conversation::new(6, 1, 48_000, 480);
        let mut tick = vec![0.0f32; 480];
        let (mut counts, mut joins, mut leaves) = ([0usize; 7], 0, 0);
        let mut was = c.present.clone();
        for _ in 0..100 * 600 {
            c.step();
            for v in c.voices.iter_mut() {
                v.render(&mut tick);
            }
            counts[c.voices.iter().filter(|v| v.speaking()).count()] += 1;
            for (i, p) in c.present.iter().enumerate() {
                joins += usize::from(*p && !was[i]);
                leaves += usize::from(!*p && was[i]);
                assert!(*p || !c.voices[i].speaking(), "an absent voice speaks");
            }
            was = c.present.clone();
        }
        let total: usize = counts.iter().sum();
        let one_or_two = (counts[1] + counts[2]) as f32 / (total - counts[0]) as f32;
        assert!(one_or_two > 0.97, "{counts:?}");
        assert!(counts[1] > counts[2] * 4, "{counts:?}");
        assert!(counts[0] < total / 2, "too quiet: {counts:?}");
        assert!(joins >= 3 && leaves >= 3, "joins {joins} leaves {leaves}");
    }
}
