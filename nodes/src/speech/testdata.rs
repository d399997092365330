//! Test media for the speech nodes: the committed espeak-ng sentence
//! (tests/data/speech_16k.wav, see the README there) at any rate, seeded
//! white noise, and levels over stretches of a signal.

use super::rerate::Rerate;
use crate::conference::rng::Rng;
use crate::kernels::level::{dbfs, energy};

/// The committed speech, mono, at `rate`.
pub fn speech(rate: u32) -> Vec<f32> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/speech_16k.wav");
    let mut r = hound::WavReader::open(path).expect("tests/data/speech_16k.wav");
    let pcm: Vec<f32> = r
        .samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32_768.0)
        .collect();
    if rate == 16_000 {
        return pcm;
    }
    let mut rs = Rerate::new(16_000, rate, 160, rate as usize * 10).unwrap();
    let mut out = vec![0.0; pcm.len() * rate as usize / 16_000];
    let mut filled = 0;
    for block in pcm
        .chunks(160)
        .chain(std::iter::repeat_n(&[0.0; 160][..], 20))
    {
        rs.push(block);
        let n = rs.ready().min(out.len() - filled);
        if n > 0 && rs.pull(&mut out[filled..filled + n]) {
            filled += n;
        }
    }
    out
}

/// Gaussian white noise at `rms` (linear), seeded.
pub fn white(n: usize, rms: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rms * rng.gauss()).collect()
}

/// RMS level in dBFS of `x`.
pub fn level(x: &[f32]) -> f32 {
    dbfs((energy(x) / x.len().max(1) as f32).sqrt())
}

/// `pad` seconds of nothing, the speech, `pad` seconds of nothing, at `rate`.
pub fn padded_speech(rate: u32, pad: f32) -> Vec<f32> {
    let gap = vec![0.0; (pad * rate as f32) as usize];
    [gap.clone(), speech(rate), gap].concat()
}
