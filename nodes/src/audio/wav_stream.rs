//! A WAV file as a stream at the graph rate, a tick at a time: the block
//! reader ([`WavSource`]), rubato's FFT resampler when the file's rate
//! differs, looping, and where the stream ends. `wav_in` and
//! `participants` both read files through this, so there is one WAV path
//! to make fast and correct.
//!
//! Every buffer is sized at open; [`WavStream::next`] does not allocate.

use super::wav_read::{WavFormat, WavSource};
use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// An open WAV file producing ticks of `n` frames at the graph rate,
/// planar (channel `c` at `dst[c * n..(c + 1) * n]`).
pub struct WavStream {
    src: WavSource,
    looping: bool,
    resampler: Option<Resampling>,
    graph_rate: u32,
    /// Frames produced so far.
    emitted: u64,
    /// Frames the whole file makes at the graph rate (`u64::MAX`: looping,
    /// or not known until the data runs out).
    expected: u64,
}

/// The file and progress, not the resampler state.
impl std::fmt::Debug for WavStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavStream")
            .field("src", &self.src)
            .field("looping", &self.looping)
            .field("graph_rate", &self.graph_rate)
            .field("emitted", &self.emitted)
            .field("resampled", &self.resampler.is_some())
            .finish_non_exhaustive()
    }
}

impl WavStream {
    /// Opens `path` ("-" = standard input) for a graph at `rate` Hz with
    /// ticks of `n` frames.
    pub fn open(path: &str, rate: u32, n: usize, looping: bool) -> Result<WavStream, String> {
        let mut src = WavSource::open(path, n)?;
        let format = src.format();
        let channels = usize::from(format.channels);
        let resampler = if format.rate == rate {
            None
        } else {
            let fft = Fft::<f32>::new(
                format.rate as usize,
                rate as usize,
                n,
                channels,
                FixedSync::Output,
            )
            .map_err(|e| {
                format!(
                    "{path}: cannot resample {} Hz to {rate} Hz: {e}",
                    format.rate
                )
            })?;
            Some(Resampling::new(fft, channels, n))
        };
        if let Some(r) = &resampler {
            src.set_max_frames(r.in_max);
        }
        if looping && !src.can_rewind() {
            return Err("loop needs a file: standard input cannot start over".into());
        }
        let expected = if looping || format.frames == u64::MAX {
            u64::MAX
        } else {
            (format.frames * u64::from(rate)).div_ceil(u64::from(format.rate))
        };
        Ok(WavStream {
            src,
            looping,
            resampler,
            graph_rate: rate,
            emitted: 0,
            expected,
        })
    }

    /// The header's format (channels, the file's own rate).
    pub fn format(&self) -> WavFormat {
        self.src.format()
    }

    /// The path it was opened from, for messages.
    pub fn path(&self) -> &str {
        self.src.path()
    }

    /// Writes the next `n` frames of the file's channels to `dst` (planar,
    /// stride `n`, at least `channels * n` long); frames past the end are
    /// zero. Returns how many frames hold audio: fewer than `n` once the
    /// stream has ended. A read error is returned as a message; the
    /// caller ends the stream.
    pub fn next(&mut self, dst: &mut [f32], n: usize) -> Result<usize, String> {
        let got = match &mut self.resampler {
            Some(r) => {
                r.fill(&mut self.src, self.looping, n)?;
                r.take(dst, n);
                n
            }
            None => read_looping(&mut self.src, self.looping, dst, n, n)?,
        };
        if self.expected == u64::MAX && !self.looping {
            if let Some(total) = self.src.ended_after() {
                let (to, from) = (u64::from(self.graph_rate), u64::from(self.format().rate));
                self.expected = (total * to).div_ceil(from);
            }
        }
        let valid = (got as u64).min(self.expected.saturating_sub(self.emitted)) as usize;
        for c in 0..usize::from(self.format().channels) {
            dst[c * n + valid..(c + 1) * n].fill(0.0);
        }
        self.emitted += valid as u64;
        Ok(valid)
    }

    /// Whether the stream has produced everything it will (never true
    /// when looping).
    pub fn ended(&self) -> bool {
        self.emitted >= self.expected
    }
}

/// The resampler with its input block and an output FIFO (planar, one run
/// of `cap` frames per channel); the first `skip` frames out are the
/// resampler's delay and are dropped, so the output lines up with the file.
struct Resampling {
    fft: Fft<f32>,
    channels: usize,
    input: Vec<f32>,
    in_max: usize,
    fifo: Vec<f32>,
    cap: usize,
    fill: usize,
    skip: usize,
    indexing: Indexing,
}

impl Resampling {
    fn new(fft: Fft<f32>, channels: usize, n: usize) -> Resampling {
        let in_max = fft.input_frames_max();
        let cap = n + fft.output_frames_max();
        Resampling {
            skip: fft.output_delay(),
            fft,
            channels,
            input: vec![0.0; channels * in_max],
            in_max,
            fifo: vec![0.0; channels * cap],
            cap,
            fill: 0,
            indexing: Indexing::new(),
        }
    }

    /// Resamples until the FIFO holds at least `n` frames.
    fn fill(&mut self, src: &mut WavSource, looping: bool, n: usize) -> Result<(), String> {
        while self.fill < n {
            let need = self.fft.input_frames_next();
            let got = read_looping(src, looping, &mut self.input, self.in_max, need)?;
            self.indexing.output_offset = self.fill;
            self.indexing.partial_len = (got < need).then_some(got);
            let input = SequentialSlice::new(&self.input[..], self.channels, self.in_max)
                .map_err(|e| e.to_string())?;
            let mut out = SequentialSlice::new_mut(&mut self.fifo[..], self.channels, self.cap)
                .map_err(|e| e.to_string())?;
            let (_, produced) = self
                .fft
                .process_into_buffer(&input, &mut out, Some(&self.indexing))
                .map_err(|e| format!("{}: resampling failed: {e}", src.path()))?;
            let drop = produced.min(self.skip);
            if drop > 0 {
                for c in 0..self.channels {
                    let ch = &mut self.fifo[c * self.cap..(c + 1) * self.cap];
                    ch.copy_within(self.fill + drop..self.fill + produced, self.fill);
                }
                self.skip -= drop;
            }
            self.fill += produced - drop;
        }
        Ok(())
    }

    /// Moves the oldest `n` frames of the FIFO to `dst` (planar, stride `n`).
    fn take(&mut self, dst: &mut [f32], n: usize) {
        for c in 0..self.channels {
            let ch = &mut self.fifo[c * self.cap..(c + 1) * self.cap];
            dst[c * n..(c + 1) * n].copy_from_slice(&ch[..n]);
            ch.copy_within(n..self.fill, 0);
        }
        self.fill -= n;
    }
}

/// Reads `count` frames, starting the file over at its end when looping;
/// returns the frames read (fewer only at the end of a file not looped).
fn read_looping(
    src: &mut WavSource,
    looping: bool,
    dst: &mut [f32],
    stride: usize,
    count: usize,
) -> Result<usize, String> {
    let mut got = 0;
    while got < count {
        let n = src
            .read(dst, stride, got, count - got)
            .map_err(|e| format!("{}: {e}", src.path()))?;
        got += n;
        if n == 0 {
            if !looping || src.format().frames == 0 {
                break;
            }
            src.rewind().map_err(|e| format!("{}: {e}", src.path()))?;
        }
    }
    Ok(got)
}
