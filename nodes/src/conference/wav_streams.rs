//! Participant streams read from WAV files, a tick at a time.
//!
//! Files are read through the same stream as `wav_in`
//! ([`WavStream`]: the block reader with the SIMD 16-bit pass, rubato
//! when the file's rate differs), opened and checked at build. A mono
//! file is decoded straight into its bundle slot; a stereo one is
//! averaged to mono from a scratch tick. No allocation after build.

use crate::audio::wav_stream::WavStream;
use crate::kernels::{gain::gain, mix::accumulate};
use sluice_runtime::{NodeError, Stream, StreamId, StreamState};
use std::path::Path;

/// One participant file being played.
pub struct FileStream {
    id: StreamId,
    stream: WavStream,
    channels: usize,
    /// One tick of a stereo file's two channels, planar.
    scratch: Vec<f32>,
    started: bool,
    done: bool,
    /// The file ended within its first tick: leave on the next.
    leave_next: bool,
    /// A read error that ended the stream early.
    failed: Option<String>,
}

/// The stream and its state, not its scratch samples.
impl std::fmt::Debug for FileStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStream")
            .field("stream", &self.stream)
            .field("channels", &self.channels)
            .field("started", &self.started)
            .field("done", &self.done)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl FileStream {
    /// Opens and checks `path` for a graph at `rate` with ticks of `tick`.
    pub fn open(path: &Path, rate: u32, tick: usize) -> Result<FileStream, NodeError> {
        let name = path.display().to_string();
        let stream = WavStream::open(&name, rate, tick, false).map_err(NodeError::new)?;
        let channels = usize::from(stream.format().channels);
        if !(1..=2).contains(&channels) {
            return Err(NodeError::new(format!(
                "{name}: has {channels} channels; participants takes mono or stereo files"
            )));
        }
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default();
        Ok(FileStream {
            id: StreamId::new(&id),
            // An empty file never joins.
            done: stream.ended(),
            stream,
            channels,
            scratch: vec![0.0; if channels > 1 { channels * tick } else { 0 }],
            started: false,
            leave_next: false,
            failed: None,
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

    /// The read error that ended the stream early, once (for `finish`).
    pub fn take_error(&mut self) -> Option<String> {
        self.failed.take()
    }

    /// Reads this tick as mono into `out`; returns how many frames hold
    /// audio (the rest are zero).
    fn read(&mut self, out: &mut [f32]) -> usize {
        let n = out.len();
        let block = if self.channels == 1 {
            &mut out[..]
        } else {
            &mut self.scratch[..]
        };
        let valid = self.stream.next(block, n).unwrap_or_else(|e| {
            self.failed = Some(e);
            block.fill(0.0);
            0
        });
        if self.channels > 1 {
            let (first, rest) = self.scratch.split_at(n);
            out.copy_from_slice(first);
            for c in rest.chunks_exact(n) {
                accumulate(out, c);
            }
            gain(out, 1.0 / self.channels as f32);
        }
        valid
    }

    /// Writes this tick into `slot`: Joined on the first tick, Left on the
    /// tick holding the last samples (zero-padded), then Absent.
    pub fn tick(&mut self, slot: &mut Stream) {
        if self.done || self.leave_next {
            slot.samples_mut().fill(0.0);
            slot.state = if self.done {
                StreamState::Absent
            } else {
                StreamState::Left
            };
            self.done = true;
            return;
        }
        let n = slot.samples().len();
        let valid = self.read(slot.samples_mut());
        let last = valid < n || self.stream.ended();
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
