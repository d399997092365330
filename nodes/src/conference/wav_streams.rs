//! Participant streams read from WAV files, a tick at a time.
//!
//! Files are opened and checked at build; each tick reads one frame's
//! samples through hound's buffered reader (no allocation), averaging
//! stereo to mono. A file at another rate is resampled to the graph's
//! with rubato ([`Resample`]), its length scaled accordingly.

use super::resample::Resample;
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
    /// Output frames (at the graph rate) still to come.
    remaining: u32,
    resample: Option<Resample>,
    started: bool,
    done: bool,
    /// The file ended within its first tick: leave on the next.
    leave_next: bool,
}

impl FileStream {
    /// Opens and checks `path` for a graph at `rate` with ticks of `tick`.
    pub fn open(path: &Path, rate: u32, tick: usize) -> Result<FileStream, NodeError> {
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
        if !(1_000..=384_000).contains(&spec.sample_rate) {
            return Err(NodeError::new(format!(
                "{name}: header says {} Hz; expected 1 kHz to 384 kHz",
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
        let resample = if spec.sample_rate == rate {
            None
        } else {
            Some(
                Resample::new(spec.sample_rate, rate, tick)
                    .map_err(|e| NodeError::new(format!("{name}: {e}")))?,
            )
        };
        let frames = resample.as_ref().map_or(frames, |r| r.output_len(frames));
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
            resample,
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
        let got = match self.resample.as_mut() {
            None => read(
                &mut self.reader,
                self.int_scale,
                self.channels,
                &mut out[..want],
            ),
            Some(rs) => {
                let (reader, scale, ch) = (&mut self.reader, self.int_scale, self.channels);
                if rs.produce(&mut out[..want], |buf| read(reader, scale, ch, buf)) {
                    want
                } else {
                    0
                }
            }
        };
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
}

/// Reads up to `out.len()` frames as mono; returns how many were read
/// (fewer at the end or at a truncated file, which then ends the stream).
fn read(
    reader: &mut WavReader<BufReader<File>>,
    int_scale: Option<f32>,
    ch: usize,
    out: &mut [f32],
) -> usize {
    match int_scale {
        Some(scale) => {
            let it = reader.samples::<i32>().map(|r| r.map(|v| v as f32 * scale));
            fill(it, out, ch)
        }
        None => fill(reader.samples::<f32>(), out, ch),
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
