//! A WAV file writer that never allocates after it is made.
//!
//! hound's writer owns its output stream and its buffers, so a writer for a
//! participant who joins mid-run would have to be allocated then. This one
//! keeps its byte buffer for life and can close one file and open another
//! (or reopen one to append), which lets `wav_out` preallocate a pool of
//! writers and hand them to participants as they come and go. The header
//! has a fixed length for a given format and channel count, so a reopened
//! file's data length is its size minus the header; `finalize` rewrites
//! the header in place with the final sizes (PCM or IEEE float, with
//! WAVE_FORMAT_EXTENSIBLE above two channels, as players expect).

use crate::kernels::pcm::f32_to_i16;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

/// How samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// 16-bit signed integers (rounded and clipped, never wrapped).
    S16,
    /// 32-bit IEEE floats, unclipped.
    F32,
}

impl SampleFormat {
    /// Bytes per sample of one channel.
    pub fn bytes(self) -> usize {
        match self {
            SampleFormat::S16 => 2,
            SampleFormat::F32 => 4,
        }
    }
}

/// Longest header we write: RIFF + extensible fmt + fact + data.
const MAX_HEADER: usize = 12 + 8 + 40 + 12 + 8;

/// A reusable writer for one WAV file at a time.
pub struct WavWriter {
    file: Option<File>,
    buf: Vec<u8>,
    ints: Vec<i16>,
    channels: u16,
    rate: u32,
    format: SampleFormat,
    frames: u64,
    /// Frames not written because the file reached the 4 GiB RIFF limit.
    overflow: u64,
}

/// The file's shape and progress, not its buffers.
impl std::fmt::Debug for WavWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavWriter")
            .field("open", &self.file.is_some())
            .field("channels", &self.channels)
            .field("rate", &self.rate)
            .field("frames", &self.frames)
            .field("overflow", &self.overflow)
            .finish_non_exhaustive()
    }
}

impl WavWriter {
    /// A writer for `channels` at `rate` whose writes hold at most
    /// `max_frames` frames; allocates its buffers now and opens nothing.
    pub fn new(channels: u16, rate: u32, format: SampleFormat, max_frames: usize) -> WavWriter {
        let block = usize::from(channels) * format.bytes();
        WavWriter {
            file: None,
            buf: Vec::with_capacity((max_frames * block * 4).max(1 << 16)),
            ints: vec![0; max_frames],
            channels,
            rate,
            format,
            frames: 0,
            overflow: 0,
        }
    }

    /// Whether a file is open.
    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// Frames written to the current file so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Frames dropped at the 4 GiB limit since this writer was made.
    pub fn overflow(&self) -> u64 {
        self.overflow
    }

    fn block(&self) -> usize {
        usize::from(self.channels) * self.format.bytes()
    }

    fn extensible(&self) -> bool {
        self.channels > 2
    }

    /// The fmt chunk's size: PCM 16 bytes; other formats add a 2-byte
    /// extension size (0 for float, 22 for the extensible layout).
    fn fmt_len(&self) -> usize {
        match (self.extensible(), self.format) {
            (true, _) => 40,
            (false, SampleFormat::F32) => 18,
            (false, SampleFormat::S16) => 16,
        }
    }

    fn header_len(&self) -> usize {
        let fact = if self.format == SampleFormat::F32 {
            12
        } else {
            0
        };
        12 + 8 + self.fmt_len() + fact + 8
    }

    /// Most frames one file can hold (the RIFF size field is 32 bits).
    fn max_frames(&self) -> u64 {
        (u64::from(u32::MAX) - self.header_len() as u64) / self.block() as u64
    }

    /// Creates (or truncates) `path` and writes a header for an empty file.
    pub fn create(&mut self, path: &str) -> io::Result<()> {
        let file = File::create(path)?;
        self.file = Some(file);
        self.frames = 0;
        self.buf.clear();
        let (h, len) = self.header();
        self.buf.extend_from_slice(&h[..len]);
        Ok(())
    }

    /// Opens `path`, written earlier in this run by a writer of the same
    /// format, to append to it.
    pub fn reopen(&mut self, path: &str) -> io::Result<()> {
        let mut file = OpenOptions::new().read(true).write(true).open(path)?;
        let end = file.seek(SeekFrom::End(0))?;
        let data = end.saturating_sub(self.header_len() as u64);
        self.frames = data / self.block() as u64;
        file.seek(SeekFrom::Start(
            self.header_len() as u64 + self.frames * self.block() as u64,
        ))?;
        self.file = Some(file);
        self.buf.clear();
        Ok(())
    }

    /// Appends one frame's worth of planar channels (`channel(c)` gives
    /// channel `c`, each `len` samples, at most `max_frames`).
    pub fn write<'a>(
        &mut self,
        len: usize,
        channel: impl Fn(usize) -> &'a [f32],
    ) -> io::Result<()> {
        let len = self.room(len);
        self.reserve(len * self.block())?;
        let channels = usize::from(self.channels);
        match self.format {
            SampleFormat::S16 => {
                let start = self.buf.len();
                self.buf.resize(start + len * channels * 2, 0);
                for c in 0..channels {
                    let ints = &mut self.ints[..len];
                    f32_to_i16(ints, channel(c));
                    let out = &mut self.buf[start..];
                    for (f, v) in ints.iter().enumerate() {
                        out[(f * channels + c) * 2..][..2].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
            SampleFormat::F32 => {
                for f in 0..len {
                    for c in 0..channels {
                        self.buf.extend_from_slice(&channel(c)[f].to_le_bytes());
                    }
                }
            }
        }
        self.frames += len as u64;
        Ok(())
    }

    /// Appends `frames` frames of silence.
    pub fn write_silence(&mut self, frames: u64) -> io::Result<()> {
        let mut left = self.room(frames.min(usize::MAX as u64) as usize) as u64;
        let chunk = (self.buf.capacity() / self.block()).max(1) as u64;
        while left > 0 {
            let n = left.min(chunk) as usize;
            self.reserve(n * self.block())?;
            let start = self.buf.len();
            self.buf.resize(start + n * self.block(), 0);
            self.frames += n as u64;
            left -= n as u64;
        }
        Ok(())
    }

    /// How many of `len` frames fit under the size limit; counts the rest.
    fn room(&mut self, len: usize) -> usize {
        let fit = (self.max_frames() - self.frames).min(len as u64) as usize;
        self.overflow += (len - fit) as u64;
        fit
    }

    /// Makes room for `bytes` more in the buffer, writing it out if needed.
    fn reserve(&mut self, bytes: usize) -> io::Result<()> {
        if self.buf.len() + bytes > self.buf.capacity() {
            self.flush_buffer()?;
        }
        Ok(())
    }

    fn flush_buffer(&mut self) -> io::Result<()> {
        if let Some(f) = &mut self.file {
            f.write_all(&self.buf)?;
        }
        self.buf.clear();
        Ok(())
    }

    /// Writes out what is buffered and the final header, and closes the
    /// file; the writer can then open another.
    pub fn finalize(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        self.flush_buffer()?;
        let (h, len) = self.header();
        if let Some(f) = self.file.take() {
            f.write_all_at(&h[..len], 0)?;
            f.sync_data()?;
        }
        Ok(())
    }

    /// The header for the frames written so far.
    fn header(&self) -> ([u8; MAX_HEADER], usize) {
        let mut h = [0u8; MAX_HEADER];
        let len = self.header_len();
        let data = (self.frames * self.block() as u64) as u32;
        let bits = (self.format.bytes() * 8) as u16;
        let tag: u16 = match (self.extensible(), self.format) {
            (true, _) => 0xFFFE,
            (false, SampleFormat::S16) => 1,
            (false, SampleFormat::F32) => 3,
        };
        let mut w = Cursor { h: &mut h, at: 0 };
        w.bytes(b"RIFF");
        w.u32(len as u32 - 8 + data);
        w.bytes(b"WAVEfmt ");
        w.u32(self.fmt_len() as u32);
        w.u16(tag);
        w.u16(self.channels);
        w.u32(self.rate);
        w.u32(self.rate * self.block() as u32);
        w.u16(self.block() as u16);
        w.u16(bits);
        if self.extensible() {
            let mask = if self.channels <= 18 {
                (1u32 << self.channels) - 1
            } else {
                0
            };
            let sub: u16 = if self.format == SampleFormat::F32 {
                3
            } else {
                1
            };
            w.u16(22);
            w.u16(bits);
            w.u32(mask);
            w.u16(sub);
            w.bytes(&[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
        } else if self.format == SampleFormat::F32 {
            w.u16(0);
        }
        if self.format == SampleFormat::F32 {
            w.bytes(b"fact");
            w.u32(4);
            w.u32(self.frames as u32);
        }
        w.bytes(b"data");
        w.u32(data);
        debug_assert_eq!(w.at, len);
        (h, len)
    }
}

/// Little-endian writes into a header array.
struct Cursor<'a> {
    h: &'a mut [u8; MAX_HEADER],
    at: usize,
}

impl Cursor<'_> {
    fn bytes(&mut self, b: &[u8]) {
        self.h[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(format: SampleFormat, channels: u16) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wav");
        let p = path.to_str().unwrap();
        let mut w = WavWriter::new(channels, 44_100, format, 100);
        w.create(p).unwrap();
        let data: Vec<Vec<f32>> = (0..channels)
            .map(|c| {
                (0..100)
                    .map(|i| (i as f32 - 50.0) / 64.0 * (c as f32 + 1.0) / 8.0)
                    .collect()
            })
            .collect();
        w.write(100, |c| &data[c]).unwrap();
        w.write_silence(10).unwrap();
        w.finalize().unwrap();
        w.reopen(p).unwrap();
        w.write(100, |c| &data[c]).unwrap();
        w.finalize().unwrap();

        let mut r = hound::WavReader::open(&path).unwrap();
        let spec = r.spec();
        assert_eq!((spec.channels, spec.sample_rate), (channels, 44_100));
        assert_eq!(r.duration(), 210);
        let got: Vec<f32> = match format {
            SampleFormat::S16 => r
                .samples::<i16>()
                .map(|s| f32::from(s.unwrap()) / 32768.0)
                .collect(),
            SampleFormat::F32 => r.samples::<f32>().map(Result::unwrap).collect(),
        };
        let c = usize::from(channels);
        for f in 0..210 {
            for ch in 0..c {
                let want = match f {
                    0..100 => data[ch][f],
                    100..110 => 0.0,
                    _ => data[ch][f - 110],
                };
                assert!(
                    (got[f * c + ch] - want).abs() <= 0.5 / 32768.0,
                    "frame {f} ch {ch}"
                );
            }
        }
    }

    #[test]
    fn writes_files_hound_reads_back_in_every_layout() {
        roundtrip(SampleFormat::S16, 1);
        roundtrip(SampleFormat::S16, 2);
        roundtrip(SampleFormat::S16, 6);
        roundtrip(SampleFormat::F32, 1);
        roundtrip(SampleFormat::F32, 4);
    }

    #[test]
    fn ffprobe_and_sox_read_every_layout() {
        let has = |tool: &str| {
            std::process::Command::new(tool)
                .arg("--help")
                .output()
                .is_ok()
        };
        if !has("ffprobe") || !has("sox") {
            sluice_runtime::testing::skip_unless_ci("ffmpeg or sox not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        for (format, channels) in [
            (SampleFormat::S16, 6),
            (SampleFormat::F32, 2),
            (SampleFormat::F32, 8),
        ] {
            let path = dir.path().join(format!("{format:?}{channels}.wav"));
            let p = path.to_str().unwrap();
            let mut w = WavWriter::new(channels, 48_000, format, 480);
            w.create(p).unwrap();
            let tone: Vec<f32> = (0..480).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
            for _ in 0..100 {
                w.write(480, |_| &tone).unwrap();
            }
            w.finalize().unwrap();
            let probe = std::process::Command::new("ffprobe")
                .args([
                    "-v",
                    "error",
                    "-show_entries",
                    "stream=channels,sample_rate,duration",
                    "-of",
                    "csv=p=0",
                    p,
                ])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&probe.stdout);
            assert!(probe.status.success(), "ffprobe failed on {p}");
            assert_eq!(
                text.trim(),
                format!("48000,{channels},1.000000"),
                "ffprobe on {p}"
            );
            let stat = std::process::Command::new("sox")
                .args([p, "-n", "stat"])
                .output()
                .unwrap();
            let report = String::from_utf8_lossy(&stat.stderr);
            assert!(stat.status.success(), "sox failed on {p}: {report}");
            let seconds = report
                .lines()
                .find_map(|l| l.strip_prefix("Length (seconds):"))
                .map(str::trim);
            assert_eq!(
                seconds,
                Some("1.000000"),
                "sox reads 1 s from {p}: {report}"
            );
            // sox prints this for ffmpeg's extensible float files as well.
            let quirk = "missing extended part of fmt chunk";
            let complaints = report
                .lines()
                .filter(|l| l.contains("WARN") && !l.contains(quirk));
            assert_eq!(complaints.count(), 0, "sox complains about {p}: {report}");
        }
    }

    #[test]
    fn an_empty_file_is_a_valid_wav() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.wav");
        let mut w = WavWriter::new(1, 48_000, SampleFormat::S16, 480);
        w.create(path.to_str().unwrap()).unwrap();
        w.finalize().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 44);
        assert_eq!(hound::WavReader::open(&path).unwrap().duration(), 0);
    }
}
