//! Streaming WAV reading: hound parses the header, then the data chunk is
//! read in blocks into buffers sized at open time and decoded to planar
//! f32, so reading never allocates and never holds more than one block.

use crate::kernels::pcm::i16_to_f32;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::fd::AsFd;

/// Most channels a WAV file may declare before we call its header absurd.
pub const MAX_CHANNELS: u16 = 64;
/// Slowest and fastest sample rates we accept, in Hz.
pub const RATES: std::ops::RangeInclusive<u32> = 1_000..=768_000;

/// How samples are stored in the data chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Unsigned 8-bit integers, 128 is zero.
    U8,
    /// Signed 16-bit little-endian integers.
    I16,
    /// Signed 24-bit little-endian integers, packed in 3 bytes.
    I24,
    /// Signed 32-bit little-endian integers.
    I32,
    /// 32-bit IEEE floats.
    F32,
}

impl Encoding {
    /// Bytes per sample of one channel.
    pub fn bytes(self) -> usize {
        match self {
            Encoding::U8 => 1,
            Encoding::I16 => 2,
            Encoding::I24 => 3,
            Encoding::I32 | Encoding::F32 => 4,
        }
    }
}

/// What a WAV header says, checked against sane limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    /// Channel count.
    pub channels: u16,
    /// Sample rate in Hz.
    pub rate: u32,
    /// Sample encoding.
    pub encoding: Encoding,
    /// Frames (samples per channel) in the data chunk.
    pub frames: u64,
}

/// Reads and checks the header of the WAV file at `path`, leaving `reader`
/// at the first sample.
fn read_header<R: Read>(path: &str, reader: R) -> Result<WavFormat, String> {
    let wav = hound::WavReader::new(reader)
        .map_err(|e| format!("{path}: not a WAV file we can read: {e}"))?;
    let spec = wav.spec();
    if spec.channels == 0 || spec.channels > MAX_CHANNELS {
        return Err(format!(
            "{path}: header says {} channels (expected 1 to {MAX_CHANNELS})",
            spec.channels
        ));
    }
    if !RATES.contains(&spec.sample_rate) {
        return Err(format!(
            "{path}: header says a sample rate of {} Hz (expected {} to {} Hz)",
            spec.sample_rate,
            RATES.start(),
            RATES.end()
        ));
    }
    let encoding = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 8) => Encoding::U8,
        (hound::SampleFormat::Int, 16) => Encoding::I16,
        (hound::SampleFormat::Int, 24) => Encoding::I24,
        (hound::SampleFormat::Int, 32) => Encoding::I32,
        (hound::SampleFormat::Float, 32) => Encoding::F32,
        (f, b) => {
            return Err(format!(
            "{path}: {b}-bit {} samples are not supported (8/16/24/32-bit integer or 32-bit float)",
            if f == hound::SampleFormat::Float {
                "float"
            } else {
                "integer"
            }
        ))
        }
    };
    Ok(WavFormat {
        channels: spec.channels,
        rate: spec.sample_rate,
        encoding,
        frames: u64::from(wav.duration()),
    })
}

/// Reads just the header of the file at `path` (for checking a graph).
pub fn probe(path: &str) -> Result<WavFormat, String> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    read_header(path, BufReader::new(file))
}

/// An open WAV data chunk, read block by block.
pub struct WavSource {
    path: String,
    reader: BufReader<File>,
    format: WavFormat,
    /// Byte offset of the first sample (`None` for stdin: cannot rewind).
    data_start: Option<u64>,
    /// Frames left before the end of the data chunk.
    remaining: u64,
    bytes: Vec<u8>,
    ints: Vec<i16>,
}

impl WavSource {
    /// Opens `path` ("-" = standard input) for reading blocks of up to
    /// `max_frames` frames; allocates every buffer now.
    pub fn open(path: &str, max_frames: usize) -> Result<WavSource, String> {
        let (file, seekable) = if path == "-" {
            let fd = std::io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| format!("standard input: {e}"))?;
            (File::from(fd), false)
        } else {
            (File::open(path).map_err(|e| format!("{path}: {e}"))?, true)
        };
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let format = read_header(path, &mut reader)?;
        let data_start = if seekable {
            Some(
                reader
                    .stream_position()
                    .map_err(|e| format!("{path}: {e}"))?,
            )
        } else {
            None
        };
        let block = max_frames * usize::from(format.channels);
        Ok(WavSource {
            path: path.to_string(),
            reader,
            format,
            data_start,
            remaining: format.frames,
            bytes: vec![0; block * format.encoding.bytes()],
            ints: vec![0; max_frames],
        })
    }

    /// The header's format.
    pub fn format(&self) -> WavFormat {
        self.format
    }

    /// The path it was opened from, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether [`WavSource::rewind`] can work (not for stdin).
    pub fn can_rewind(&self) -> bool {
        self.data_start.is_some()
    }

    /// Goes back to the first sample.
    pub fn rewind(&mut self) -> std::io::Result<()> {
        if let Some(start) = self.data_start {
            self.reader.seek(SeekFrom::Start(start))?;
            self.remaining = self.format.frames;
        }
        Ok(())
    }

    /// Reads up to `count` frames (at most the `max_frames` given to open)
    /// and writes channel `c` to `dst[c * stride + offset..]`. Returns the
    /// frames read: fewer than `count` only at the end of the data (a
    /// truncated file ends early, at its last whole frame).
    pub fn read(
        &mut self,
        dst: &mut [f32],
        stride: usize,
        offset: usize,
        count: usize,
    ) -> std::io::Result<usize> {
        let channels = usize::from(self.format.channels);
        let frame_bytes = channels * self.format.encoding.bytes();
        let want = (count as u64).min(self.remaining) as usize * frame_bytes;
        let buf = &mut self.bytes[..want];
        let mut got = 0;
        while got < want {
            match self.reader.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let frames = got / frame_bytes;
        self.remaining = if got < want {
            0
        } else {
            self.remaining - frames as u64
        };
        for c in 0..channels {
            let out = &mut dst[c * stride + offset..][..frames];
            decode_channel(
                self.format.encoding,
                &self.bytes,
                channels,
                c,
                out,
                &mut self.ints,
            );
        }
        Ok(frames)
    }
}

/// Decodes channel `c` of interleaved samples in `bytes` into `out`.
fn decode_channel(
    enc: Encoding,
    bytes: &[u8],
    channels: usize,
    c: usize,
    out: &mut [f32],
    ints: &mut [i16],
) {
    let width = enc.bytes();
    let step = channels * width;
    let sample = |f: usize| &bytes[f * step + c * width..][..width];
    match enc {
        Encoding::I16 => {
            let ints = &mut ints[..out.len()];
            for (f, v) in ints.iter_mut().enumerate() {
                let b = sample(f);
                *v = i16::from_le_bytes([b[0], b[1]]);
            }
            i16_to_f32(out, ints);
        }
        Encoding::U8 => {
            for (f, o) in out.iter_mut().enumerate() {
                *o = (f32::from(sample(f)[0]) - 128.0) / 128.0;
            }
        }
        Encoding::I24 => {
            for (f, o) in out.iter_mut().enumerate() {
                let b = sample(f);
                *o = (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0;
            }
        }
        Encoding::I32 => {
            for (f, o) in out.iter_mut().enumerate() {
                let b = sample(f);
                *o = (f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) / 2_147_483_648.0)
                    as f32;
            }
        }
        Encoding::F32 => {
            for (f, o) in out.iter_mut().enumerate() {
                let b = sample(f);
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_wav(path: &std::path::Path, spec: hound::WavSpec, samples: &[f32]) {
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for &s in samples {
            match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Float, _) => w.write_sample(s).unwrap(),
                (_, 8) => w.write_sample((s * 128.0) as i8).unwrap(),
                (_, 16) => w.write_sample((s * 32768.0) as i16).unwrap(),
                (_, 24) => w.write_sample((s * 8_388_608.0) as i32).unwrap(),
                _ => w
                    .write_sample((f64::from(s) * 2_147_483_648.0) as i32)
                    .unwrap(),
            }
        }
        w.finalize().unwrap();
    }

    #[test]
    fn decodes_every_encoding_to_planar() {
        let dir = tempfile::tempdir().unwrap();
        let frames: Vec<f32> = (0..200)
            .flat_map(|i| [i as f32 / 256.0, -(i as f32) / 256.0])
            .collect();
        let cases = [
            (hound::SampleFormat::Int, 8, 1.0 / 128.0),
            (hound::SampleFormat::Int, 16, 1e-6),
            (hound::SampleFormat::Int, 24, 1e-6),
            (hound::SampleFormat::Int, 32, 1e-6),
            (hound::SampleFormat::Float, 32, 0.0),
        ];
        for (fmt, bits, tol) in cases {
            let path = dir.path().join(format!("{bits}{fmt:?}.wav"));
            let spec = hound::WavSpec {
                channels: 2,
                sample_rate: 44_100,
                bits_per_sample: bits,
                sample_format: fmt,
            };
            write_wav(&path, spec, &frames);
            let mut src = WavSource::open(path.to_str().unwrap(), 64).unwrap();
            assert_eq!(src.format().frames, 200);
            let mut planar = vec![0.0; 2 * 64];
            let mut total = 0;
            loop {
                let n = src.read(&mut planar, 64, 0, 64).unwrap();
                for f in 0..n {
                    let want = (total + f) as f32 / 256.0;
                    assert!(
                        (planar[f] - want).abs() <= tol,
                        "{bits} bit: {} vs {want}",
                        planar[f]
                    );
                    assert!((planar[64 + f] + want).abs() <= tol);
                }
                total += n;
                if n < 64 {
                    break;
                }
            }
            assert_eq!(total, 200);
            src.rewind().unwrap();
            assert_eq!(src.read(&mut planar, 64, 0, 64).unwrap(), 64);
        }
    }

    #[test]
    fn bad_headers_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.wav");
        std::fs::write(&junk, b"this is not a wav file at all").unwrap();
        let err = probe(junk.to_str().unwrap()).unwrap_err();
        assert!(
            err.contains("junk.wav") && err.contains("not a WAV"),
            "{err}"
        );

        let missing = dir.path().join("missing.wav");
        assert!(probe(missing.to_str().unwrap())
            .unwrap_err()
            .contains("missing.wav"));

        let header = |channels: u16, rate: u32, bits: u16| {
            let mut h = Vec::new();
            let block = channels * bits / 8;
            h.extend_from_slice(b"RIFF");
            h.extend_from_slice(&36u32.to_le_bytes());
            h.extend_from_slice(b"WAVEfmt ");
            h.extend_from_slice(&16u32.to_le_bytes());
            h.extend_from_slice(&1u16.to_le_bytes());
            h.extend_from_slice(&channels.to_le_bytes());
            h.extend_from_slice(&rate.to_le_bytes());
            h.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
            h.extend_from_slice(&block.to_le_bytes());
            h.extend_from_slice(&bits.to_le_bytes());
            h.extend_from_slice(b"data");
            h.extend_from_slice(&0u32.to_le_bytes());
            h
        };
        for (ch, rate, want) in [(1000u16, 48_000u32, "channels"), (1, 5, "sample rate")] {
            let p = dir.path().join("absurd.wav");
            std::fs::File::create(&p)
                .unwrap()
                .write_all(&header(ch, rate, 16))
                .unwrap();
            let err = probe(p.to_str().unwrap()).unwrap_err();
            assert!(err.contains(want) && err.contains("absurd.wav"), "{err}");
        }
    }

    #[test]
    fn truncated_data_ends_at_the_last_whole_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        write_wav(&path, spec, &[0.25; 200]);
        let len = std::fs::metadata(&path).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 41).unwrap();
        let mut src = WavSource::open(path.to_str().unwrap(), 128).unwrap();
        let mut planar = vec![0.0; 256];
        assert_eq!(src.read(&mut planar, 128, 0, 128).unwrap(), 89);
        assert_eq!(src.read(&mut planar, 128, 0, 128).unwrap(), 0);
    }
}
