//! A mono stream resampler for fixed rate pairs (call rate <-> graph rate),
//! fed any number of samples at a time. All buffers are allocated at
//! construction; [`StreamResampler::push`] does not allocate.

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Resamples one mono stream from `from` Hz to `to` Hz (a plain copy when
/// they are equal), in chunks of 20 ms of input.
pub struct StreamResampler {
    fft: Option<Fft<f32>>,
    input: Vec<f32>,
    fill: usize,
    output: Vec<f32>,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("resampling", &self.fft.is_some())
            .field("chunk", &self.input.len())
            .finish()
    }
}

impl StreamResampler {
    /// A resampler from `from` to `to` Hz.
    pub fn new(from: u32, to: u32) -> Result<StreamResampler, String> {
        let chunk = (from as usize / 50).max(1);
        if from == to {
            return Ok(StreamResampler {
                fft: None,
                input: Vec::new(),
                fill: 0,
                output: Vec::new(),
            });
        }
        let fft = Fft::<f32>::new(from as usize, to as usize, chunk, 1, FixedSync::Input)
            .map_err(|e| format!("cannot resample {from} Hz to {to} Hz: {e}"))?;
        let out_max = fft.output_frames_max();
        Ok(StreamResampler {
            fft: Some(fft),
            input: vec![0.0; chunk],
            fill: 0,
            output: vec![0.0; out_max],
        })
    }

    /// Forgets buffered input (a new stream starts).
    pub fn reset(&mut self) {
        self.fill = 0;
        if let Some(fft) = &mut self.fft {
            fft.reset();
        }
    }

    /// Feeds samples; `emit` receives resampled output as it becomes
    /// available (in pieces of up to 20 ms).
    pub fn push(&mut self, mut samples: &[f32], mut emit: impl FnMut(&[f32])) {
        let Some(fft) = &mut self.fft else {
            emit(samples);
            return;
        };
        let chunk = self.input.len();
        while !samples.is_empty() {
            let n = (chunk - self.fill).min(samples.len());
            self.input[self.fill..self.fill + n].copy_from_slice(&samples[..n]);
            self.fill += n;
            samples = &samples[n..];
            if self.fill < chunk {
                return;
            }
            self.fill = 0;
            let out_len = self.output.len();
            let (Ok(inp), Ok(mut out)) = (
                SequentialSlice::new(&self.input[..], 1, chunk),
                SequentialSlice::new_mut(&mut self.output[..], 1, out_len),
            ) else {
                return;
            };
            // The buffers are sized from the resampler itself, so this
            // cannot fail; on any error the chunk is skipped, never a panic.
            if let Ok((_, written)) = fft.process_into_buffer(&inp, &mut out, None) {
                emit(&self.output[..written]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, freq: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| 0.5 * (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    /// Amplitude of `freq` in `x` by correlation with a sine and a cosine.
    fn amplitude(x: &[f32], rate: u32, freq: f32) -> f32 {
        let (mut s, mut c) = (0.0f64, 0.0f64);
        for (i, v) in x.iter().enumerate() {
            let ph = std::f64::consts::TAU * freq as f64 * i as f64 / rate as f64;
            s += *v as f64 * ph.sin();
            c += *v as f64 * ph.cos();
        }
        (2.0 * (s * s + c * c).sqrt() / x.len() as f64) as f32
    }

    fn resample_all(from: u32, to: u32, x: &[f32], piece: usize) -> Vec<f32> {
        let mut r = StreamResampler::new(from, to).unwrap();
        let mut out = Vec::new();
        for p in x.chunks(piece) {
            r.push(p, |o| out.extend_from_slice(o));
        }
        out
    }

    #[test]
    fn upsamples_16k_and_24k_keeping_pitch_and_level() {
        for from in [16_000u32, 24_000] {
            let x = sine(from, 1000.0, from as usize);
            let y = resample_all(from, 48_000, &x, 320);
            // One second in gives one second out, less the part still buffered.
            assert!(
                y.len() >= 48_000 - 2 * 960 && y.len() <= 48_000,
                "{}",
                y.len()
            );
            let steady = &y[4800..y.len() - 960];
            let a = amplitude(steady, 48_000, 1000.0);
            assert!((a - 0.5).abs() < 0.01, "{from}: amplitude {a}");
            assert!(amplitude(steady, 48_000, 3000.0) < 0.005);
        }
    }

    #[test]
    fn downsamples_to_the_call_rate() {
        let x = sine(48_000, 440.0, 48_000);
        let y = resample_all(48_000, 16_000, &x, 480);
        let steady = &y[1600..y.len() - 320];
        assert!((amplitude(steady, 16_000, 440.0) - 0.5).abs() < 0.01);
    }

    #[test]
    fn equal_rates_copy() {
        let x = sine(16_000, 300.0, 1000);
        assert_eq!(resample_all(16_000, 16_000, &x, 77), x);
    }

    #[test]
    fn piece_size_does_not_change_the_output() {
        let x = sine(24_000, 700.0, 24_000);
        assert_eq!(
            resample_all(24_000, 48_000, &x, 480),
            resample_all(24_000, 48_000, &x, 37)
        );
    }
}
