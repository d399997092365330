//! Participant streams read from WAV files, a tick at a time.
//!
//! Files are opened and checked at build; each tick reads one frame's
//! samples through hound's buffered reader (no allocation), averaging
//! stereo to mono. Files must already be at the graph rate: rather than
//! resample silently, a mismatch is a build error that says how to
//! convert (this keeps `participants` exact and cheap; `wav_in` resamples).

use hound::{SampleFormat, WavReader};
use sluice_runtime::{NodeError, Stream, StreamId, StreamState};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// The longest file accepted, in frames (about 12 hours at 48 kHz).
const MAX_FRAMES: u32 = 48_000 * 3600 * 12;

/// One participant file being played.
pub struct FileStream {
    id: StreamId,
    reader: WavReader<BufReader<File>>,
    channels: usize,
    /// Scale from integer samples to [-1, 1); `None` for float files.
    int_scale: Option<f32>,
    remaining: u32,
    started: bool,
    done: bool,
    /// The file ended within its first tick: leave on the next.
    leave_next: bool,
}

impl FileStream {
    /// Opens and checks `path` for a graph at `rate`.
    pub fn open(path: &Path, rate: u32) -> Result<FileStream, NodeError> {
        let name = path.display();
        let reader = WavReader::open(path)
            .map_err(|e| NodeError::new(format!("{name}: cannot read as WAV: {e}")))?;
        let spec = reader.spec();
        if !(1..=2).contains(&spec.channels) {
            return Err(NodeError::new(format!(
                "{name}: has {} channels; participants takes mono or stereo files",
                spec.channels
            )));
        }
        if spec.sample_rate != rate {
            return Err(NodeError::new(format!(
                "{name}: is {} Hz but the graph runs at {rate} Hz; convert it first \
                 (sox in.wav -r {rate} out.wav) or set the graph's rate",
                spec.sample_rate
            )));
        }
        let int_scale = match (spec.sample_format, spec.bits_per_sample) {
            (SampleFormat::Float, 32) => None,
            (SampleFormat::Int, b @ (8 | 16 | 24 | 32)) => Some(1.0 / (1u64 << (b - 1)) as f32),
            (f, b) => {
                return Err(NodeError::new(format!(
                    "{name}: {b}-bit {f:?} samples are not supported (8, 16, 24, 32-bit \
                     integer or 32-bit float)"
                )))
            }
        };
        let frames = reader.duration();
        if frames > MAX_FRAMES {
            return Err(NodeError::new(format!(
                "{name}: header says {frames} frames, more than 12 hours; refusing"
            )));
        }
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default();
        Ok(FileStream {
            id: StreamId::new(&id),
            reader,
            channels: spec.channels as usize,
            int_scale,
            remaining: frames,
            started: false,
            done: frames == 0,
            leave_next: false,
        })
    }

    /// The participant id (the file stem).
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// Whether the stream has left.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Writes this tick into `slot`: Joined on the first tick, Left on the
    /// tick holding the last samples (zero-padded), then Absent.
    pub fn tick(&mut self, slot: &mut Stream) {
        let out = slot.samples_mut();
        if self.done {
            out.fill(0.0);
            slot.state = StreamState::Absent;
            return;
        }
        if self.leave_next {
            out.fill(0.0);
            self.done = true;
            slot.state = StreamState::Left;
            return;
        }
        let want = (self.remaining as usize).min(out.len());
        let got = self.read(&mut out[..want]);
        out[got..].fill(0.0);
        self.remaining = if got < want {
            0
        } else {
            self.remaining - got as u32
        };
        let last = self.remaining == 0;
        slot.id = self.id;
        slot.state = if !self.started {
            self.leave_next = last;
            StreamState::Joined
        } else if last {
            self.done = true;
            StreamState::Left
        } else {
            StreamState::Active
        };
        self.started = true;
    }

    /// Reads up to `out.len()` frames as mono; returns how many were read
    /// (fewer at a truncated file, which then ends the stream).
    fn read(&mut self, out: &mut [f32]) -> usize {
        let ch = self.channels;
        match self.int_scale {
            Some(scale) => {
                let it = self
                    .reader
                    .samples::<i32>()
                    .map(|r| r.map(|v| v as f32 * scale));
                fill(it, out, ch)
            }
            None => fill(self.reader.samples::<f32>(), out, ch),
        }
    }
}

fn fill<I: Iterator<Item = hound::Result<f32>>>(mut it: I, out: &mut [f32], ch: usize) -> usize {
    for (n, o) in out.iter_mut().enumerate() {
        let mut sum = 0.0;
        for _ in 0..ch {
            match it.next() {
                Some(Ok(v)) => sum += v,
                _ => return n,
            }
        }
        *o = sum / ch as f32;
    }
    out.len()
}
