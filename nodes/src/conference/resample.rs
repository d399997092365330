//! Rate conversion for participant files, a tick at a time.
//!
//! rubato's synchronous FFT resampler with a fixed output chunk of one
//! tick: each tick asks the file for exactly the input frames the next
//! chunk needs. Its start-up delay is dropped from the front (through a
//! small FIFO), so the resampled stream lines up with the file's time.
//! Every buffer is sized at build; `process_into_buffer` does not allocate.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use sluice_runtime::NodeError;

/// A mono resampler from a file's rate to the graph's.
pub struct Resample {
    rs: Fft<f32>,
    input: Vec<f32>,
    chunk: Vec<f32>,
    fifo: Vec<f32>,
    fifo_len: usize,
    /// Output frames of start-up delay still to drop.
    skip: usize,
}

impl Resample {
    /// A resampler from `from` Hz to `to` Hz making `tick` frames a call.
    pub fn new(from: u32, to: u32, tick: usize) -> Result<Resample, NodeError> {
        let rs = Fft::<f32>::new(from as usize, to as usize, tick, 1, FixedSync::Output)
            .map_err(|e| NodeError::new(format!("cannot resample {from} Hz to {to} Hz: {e}")))?;
        let out_max = rs.output_frames_max();
        Ok(Resample {
            input: vec![0.0; rs.input_frames_max()],
            chunk: vec![0.0; out_max],
            fifo: vec![0.0; tick + out_max],
            fifo_len: 0,
            skip: rs.output_delay(),
            rs,
        })
    }

    /// Output frames for `frames` input frames.
    pub fn output_len(&self, frames: u32) -> u32 {
        (frames as f64 * self.rs.resample_ratio()).round() as u32
    }

    /// Fills `out` with resampled frames, pulling input from `read` (which
    /// fills a slice and returns how many frames it read; the rest is
    /// zero). Returns false if the resampler failed (the stream then ends).
    pub fn produce(&mut self, out: &mut [f32], mut read: impl FnMut(&mut [f32]) -> usize) -> bool {
        while self.fifo_len < out.len() {
            let need = self.rs.input_frames_next();
            let got = read(&mut self.input[..need]);
            self.input[got..need].fill(0.0);
            let Ok(inp) = InterleavedSlice::new(&self.input[..need], 1, need) else {
                return false;
            };
            let cap = self.chunk.len();
            let Ok(mut outp) = InterleavedSlice::new_mut(&mut self.chunk[..], 1, cap) else {
                return false;
            };
            let Ok((_, made)) = self.rs.process_into_buffer(&inp, &mut outp, None) else {
                return false;
            };
            let drop = self.skip.min(made);
            self.skip -= drop;
            let fresh = &self.chunk[drop..made];
            self.fifo[self.fifo_len..self.fifo_len + fresh.len()].copy_from_slice(fresh);
            self.fifo_len += fresh.len();
        }
        out.copy_from_slice(&self.fifo[..out.len()]);
        self.fifo.copy_within(out.len()..self.fifo_len, 0);
        self.fifo_len -= out.len();
        true
    }
}
