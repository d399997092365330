//! A push-in, pull-out rate converter for streams that arrive a tick at a
//! time and leave in other block sizes (RNNoise's 480 samples at 48 kHz,
//! Silero's 512 at 16 kHz, a child program's pipe).
//!
//! rubato's FFT resampler with a fixed input chunk; its start-up delay is
//! dropped from the front so the output lines up with the input's time.
//! Every buffer is sized at build; `process_into_buffer` does not allocate,
//! so `push` and `pull` are safe on a real-time thread. Equal rates skip
//! the resampler and only queue.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use sluice_runtime::NodeError;

/// Mono samples in, at one rate; mono samples out, at another.
pub struct Rerate {
    rs: Option<Fft<f32>>,
    /// Input not yet resampled (only with a resampler).
    pending: Vec<f32>,
    pending_len: usize,
    chunk: Vec<f32>,
    /// Output not yet pulled.
    ready: Vec<f32>,
    ready_len: usize,
    /// Output frames of start-up delay still to drop.
    skip: usize,
}

impl std::fmt::Debug for Rerate {
    /// Whether it resamples and what it holds (rubato's state is not `Debug`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rerate")
            .field("resampling", &self.rs.is_some())
            .field("pending", &self.pending_len)
            .field("ready", &self.ready_len)
            .field("skip", &self.skip)
            .finish()
    }
}

impl Rerate {
    /// A converter from `from` Hz to `to` Hz taking at most `max_push`
    /// samples a call and holding up to `max_ready` converted samples.
    pub fn new(from: u32, to: u32, max_push: usize, max_ready: usize) -> Result<Rerate, NodeError> {
        let rs = if from == to {
            None
        } else {
            let chunk = max_push.clamp(64, 1024);
            Some(
                Fft::<f32>::new(from as usize, to as usize, chunk, 1, FixedSync::Input).map_err(
                    |e| NodeError::new(format!("cannot resample {from} Hz to {to} Hz: {e}")),
                )?,
            )
        };
        let (in_max, out_max, skip) = rs.as_ref().map_or((0, 0, 0), |r| {
            (
                r.input_frames_max(),
                r.output_frames_max(),
                r.output_delay(),
            )
        });
        Ok(Rerate {
            pending: vec![0.0; in_max + max_push],
            pending_len: 0,
            chunk: vec![0.0; out_max],
            ready: vec![0.0; max_ready + out_max + max_push],
            ready_len: 0,
            skip,
            rs,
        })
    }

    /// Converted samples waiting to be pulled.
    pub fn ready(&self) -> usize {
        self.ready_len
    }

    /// Adds input. Output beyond the queue's size is dropped (oldest first
    /// is kept: the caller pulls in order); returns how many were dropped.
    pub fn push(&mut self, input: &[f32]) -> usize {
        let Some(rs) = &mut self.rs else {
            return append(&mut self.ready, &mut self.ready_len, input);
        };
        let mut dropped = 0;
        let mut rest = input;
        while !rest.is_empty() {
            let room = self.pending.len() - self.pending_len;
            let n = room.min(rest.len());
            self.pending[self.pending_len..self.pending_len + n].copy_from_slice(&rest[..n]);
            self.pending_len += n;
            rest = &rest[n..];
            loop {
                let need = rs.input_frames_next();
                if self.pending_len < need {
                    break;
                }
                let made = convert(rs, &self.pending[..need], &mut self.chunk);
                let drop = self.skip.min(made);
                self.skip -= drop;
                dropped += append(
                    &mut self.ready,
                    &mut self.ready_len,
                    &self.chunk[drop..made],
                );
                self.pending.copy_within(need..self.pending_len, 0);
                self.pending_len -= need;
            }
        }
        dropped
    }

    /// Fills `out` from the queue if it holds enough; false (and nothing
    /// taken) otherwise.
    pub fn pull(&mut self, out: &mut [f32]) -> bool {
        if self.ready_len < out.len() {
            return false;
        }
        out.copy_from_slice(&self.ready[..out.len()]);
        self.ready.copy_within(out.len()..self.ready_len, 0);
        self.ready_len -= out.len();
        true
    }

    /// Empties the queues (a new participant in the slot). The resampler's
    /// filter memory is kept: it holds a few ms of the previous stream.
    pub fn clear(&mut self) {
        self.pending_len = 0;
        self.ready_len = 0;
    }
}

/// Appends what fits; returns how many samples did not.
fn append(buf: &mut [f32], len: &mut usize, data: &[f32]) -> usize {
    let n = (buf.len() - *len).min(data.len());
    buf[*len..*len + n].copy_from_slice(&data[..n]);
    *len += n;
    data.len() - n
}

/// One chunk through the resampler; the frames made (0 on an error, which
/// cannot happen with buffers sized from the resampler's own maxima).
fn convert(rs: &mut Fft<f32>, input: &[f32], out: &mut [f32]) -> usize {
    let cap = out.len();
    let (Ok(inp), Ok(mut outp)) = (
        InterleavedSlice::new(input, 1, input.len()),
        InterleavedSlice::new_mut(out, 1, cap),
    ) else {
        return 0;
    };
    rs.process_into_buffer(&inp, &mut outp, None)
        .map_or(0, |(_, made)| made)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn equal_rates_pass_samples_through_unchanged() {
        let mut r = Rerate::new(48_000, 48_000, 480, 2048).unwrap();
        let input = sine(48_000, 480);
        assert_eq!(r.push(&input), 0);
        let mut out = vec![0.0; 480];
        assert!(r.pull(&mut out));
        assert_eq!(out, input);
        assert!(!r.pull(&mut out), "nothing left");
    }

    #[test]
    fn a_sine_keeps_its_phase_across_a_rate_change() {
        let mut r = Rerate::new(48_000, 16_000, 480, 4096).unwrap();
        let input = sine(48_000, 48_000);
        let mut out = Vec::new();
        let mut block = [0.0; 160];
        for tick in input.chunks(480) {
            r.push(tick);
            while r.pull(&mut block) {
                out.extend_from_slice(&block);
            }
        }
        assert!(out.len() > 15_000, "{}", out.len());
        let expect = sine(16_000, out.len());
        let worst = out[1000..]
            .iter()
            .zip(&expect[1000..])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 0.01, "largest difference {worst}");
    }

    #[test]
    fn a_full_queue_counts_what_it_drops() {
        let mut r = Rerate::new(16_000, 16_000, 512, 512).unwrap();
        let cap = r.ready.len();
        let dropped: usize = (0..10).map(|_| r.push(&[0.5; 512])).sum();
        assert_eq!(dropped, 10 * 512 - cap);
    }
}
