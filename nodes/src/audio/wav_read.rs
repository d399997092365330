//! Streaming WAV reading: the header is parsed by hand, then the data
//! chunk is read in 64 KiB blocks into a buffer sized at open time and
//! decoded from there to planar f32, so reading never allocates.

use crate::kernels::pcm::{i16_to_f32, i16le_to_f32};
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
    /// Frames (samples per channel) in the data chunk; `u64::MAX` when
    /// the header leaves it open (a stream written to a pipe).
    pub frames: u64,
}

/// Most chunks skipped before `data` before a header is called absurd.
const MAX_CHUNKS: usize = 64;
/// Data length a streaming writer (ffmpeg to a pipe) puts in the header.
const UNKNOWN_LEN: u32 = u32::MAX;

/// Reads and checks the header of the WAV file at `path`, leaving `reader`
/// at the first sample.
///
/// Parsed by hand rather than with hound: hound refuses the header ffmpeg
/// writes to a pipe (data length 0xFFFFFFFF, "until the end"), and
/// `ffmpeg ... -f wav - | sluice` is a pipe users want. Such a stream's
/// length is unknown (`frames` is `u64::MAX`) and it ends at end of input.
fn read_header<R: Read>(path: &str, mut reader: R) -> Result<WavFormat, String> {
    let bad = |what: &str| format!("{path}: not a WAV file we can read: {what}");
    let mut riff = [0u8; 12];
    reader
        .read_exact(&mut riff)
        .map_err(|_| bad("shorter than a RIFF header"))?;
    if &riff[..4] != b"RIFF" || &riff[8..] != b"WAVE" {
        return Err(match super::sniff::sniff(&riff) {
            Some(what) => bad(&format!("it holds {what}")),
            None => bad("no RIFF/WAVE signature"),
        });
    }
    let mut fmt: Option<(u16, u16, u32, u16, u16)> = None;
    for _ in 0..MAX_CHUNKS {
        let mut head = [0u8; 8];
        reader
            .read_exact(&mut head)
            .map_err(|_| bad("no data chunk"))?;
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        match &head[..4] {
            b"fmt " => {
                if !(16..=1024).contains(&size) {
                    return Err(bad(&format!("fmt chunk of {size} bytes")));
                }
                let mut f = [0u8; 1024];
                let f = &mut f[..(size + (size & 1)) as usize];
                reader
                    .read_exact(f)
                    .map_err(|_| bad("truncated fmt chunk"))?;
                let u16_at = |i: usize| u16::from_le_bytes([f[i], f[i + 1]]);
                let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
                let mut tag = u16_at(0);
                if tag == 0xFFFE && size >= 26 {
                    tag = u16_at(24);
                }
                fmt = Some((tag, u16_at(2), rate, u16_at(12), u16_at(14)));
            }
            b"data" => {
                let (tag, channels, rate, align, bits) =
                    fmt.ok_or_else(|| bad("data before fmt"))?;
                return check_format(path, tag, channels, rate, align, bits, size);
            }
            _ => {
                let skip = u64::from(size) + u64::from(size & 1);
                let skipped = std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink())
                    .map_err(|e| format!("{path}: {e}"))?;
                if skipped < skip {
                    return Err(bad("truncated chunk"));
                }
            }
        }
    }
    Err(bad(&format!(
        "no data chunk in the first {MAX_CHUNKS} chunks"
    )))
}

/// Checks a header's fields against sane limits.
fn check_format(
    path: &str,
    tag: u16,
    channels: u16,
    rate: u32,
    align: u16,
    bits: u16,
    data_len: u32,
) -> Result<WavFormat, String> {
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(format!(
            "{path}: header says {channels} channels (expected 1 to {MAX_CHANNELS})"
        ));
    }
    if !RATES.contains(&rate) {
        return Err(format!(
            "{path}: header says a sample rate of {rate} Hz (expected {} to {} Hz)",
            RATES.start(),
            RATES.end()
        ));
    }
    let encoding = match (tag, bits) {
        (1, 8) => Encoding::U8,
        (1, 16) => Encoding::I16,
        (1, 24) => Encoding::I24,
        (1, 32) => Encoding::I32,
        (3, 32) => Encoding::F32,
        (1, b) | (3, b) => {
            return Err(format!(
            "{path}: {b}-bit {} samples are not supported (8/16/24/32-bit integer or 32-bit float)",
            if tag == 3 { "float" } else { "integer" }
        ))
        }
        (t, _) => {
            return Err(format!(
                "{path}: compressed WAV (format tag {t:#x}) is not supported; \
                 convert it to PCM first (ffmpeg -i in.wav -c:a pcm_s16le out.wav)"
            ))
        }
    };
    let block = usize::from(channels) * encoding.bytes();
    if usize::from(align) != block {
        return Err(format!(
            "{path}: header says {align} bytes per frame, but {channels} channels of {bits} bits take {block}"
        ));
    }
    let frames = if data_len == UNKNOWN_LEN {
        u64::MAX
    } else {
        u64::from(data_len) / block as u64
    };
    Ok(WavFormat {
        channels,
        rate,
        encoding,
        frames,
    })
}

/// Reads just the header of the file at `path` (for checking a graph).
pub fn probe(path: &str) -> Result<WavFormat, String> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    read_header(path, BufReader::new(file))
}

/// Bytes asked of the kernel per read. Reading the data chunk in big
/// blocks straight into the source's own buffer (no `BufReader` copy in
/// between) makes reading one kernel copy plus one decode pass; 64 KiB
/// keeps the system calls rare (one per 0.7 s of 48 kHz mono) while 32
/// sources' buffers still fit the L2 and L3 caches.
const READ_BYTES: usize = 1 << 16;
/// Buffer for reading the header; what it read past the header is kept.
const HEADER_BYTES: usize = 4096;

/// An open WAV data chunk, read block by block.
pub struct WavSource {
    path: String,
    file: File,
    format: WavFormat,
    /// Byte offset of the first sample (`None` for stdin: cannot rewind).
    data_start: Option<u64>,
    /// Frames left before the end of the data chunk.
    remaining: u64,
    /// Frames read since the start (or the last rewind).
    consumed: u64,
    /// Bytes read ahead; `buf[head..tail]` are not decoded yet.
    buf: Vec<u8>,
    head: usize,
    tail: usize,
    /// One channel of a multichannel 16-bit block, deinterleaved.
    ints: Vec<i16>,
}

/// Where in which file, not the buffered bytes.
impl std::fmt::Debug for WavSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource")
            .field("path", &self.path)
            .field("remaining", &self.remaining)
            .field("consumed", &self.consumed)
            .finish_non_exhaustive()
    }
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
        let mut reader = BufReader::with_capacity(HEADER_BYTES, &file);
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
        let mut buf = vec![0; READ_BYTES];
        let ahead = reader.buffer();
        buf[..ahead.len()].copy_from_slice(ahead);
        let tail = ahead.len();
        let mut src = WavSource {
            path: path.to_string(),
            file,
            format,
            data_start,
            remaining: format.frames,
            consumed: 0,
            buf,
            head: 0,
            tail,
            ints: Vec::new(),
        };
        src.set_max_frames(max_frames);
        Ok(src)
    }

    /// Sizes the buffers for reads of up to `max_frames` frames (at build
    /// time, when a resampler turns out to need bigger blocks than a tick).
    pub fn set_max_frames(&mut self, max_frames: usize) {
        let block = max_frames * self.frame_bytes();
        if self.buf.len() < block {
            self.buf.resize(block, 0);
        }
        if self.format.channels > 1 && self.ints.len() < max_frames {
            self.ints.resize(max_frames, 0);
        }
    }

    fn frame_bytes(&self) -> usize {
        usize::from(self.format.channels) * self.format.encoding.bytes()
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
            self.file.seek(SeekFrom::Start(start))?;
            self.remaining = self.format.frames;
            self.consumed = 0;
            self.head = 0;
            self.tail = 0;
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
        let frame_bytes = self.frame_bytes();
        let want = (count as u64).min(self.remaining) as usize * frame_bytes;
        if self.tail - self.head < want {
            self.refill(want)?;
        }
        let got = want.min(self.tail - self.head);
        let frames = got / frame_bytes;
        self.remaining = if got < want {
            0
        } else {
            self.remaining - frames as u64
        };
        let bytes = &self.buf[self.head..self.head + frames * frame_bytes];
        for c in 0..channels {
            let out = &mut dst[c * stride + offset..][..frames];
            decode_channel(
                self.format.encoding,
                bytes,
                channels,
                c,
                out,
                &mut self.ints,
            );
        }
        self.head += frames * frame_bytes;
        self.consumed += frames as u64;
        Ok(frames)
    }

    /// Moves the bytes not decoded yet to the front of the buffer and reads
    /// until at least `want` are there or the input ends; each read asks
    /// for all the room left, so it is usually one call per 64 KiB.
    fn refill(&mut self, want: usize) -> std::io::Result<()> {
        self.buf.copy_within(self.head..self.tail, 0);
        self.tail -= self.head;
        self.head = 0;
        while self.tail < want {
            match self.file.read(&mut self.buf[self.tail..]) {
                Ok(0) => break,
                Ok(n) => self.tail += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Once the data has run out: how many frames it held (what a stream of
    /// unknown length turned out to be).
    pub fn ended_after(&self) -> Option<u64> {
        (self.remaining == 0).then_some(self.consumed)
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
    if out.is_empty() {
        return;
    }
    let width = enc.bytes();
    let step = channels * width;
    let sample = |f: usize| &bytes[f * step + c * width..][..width];
    match enc {
        // The common case: one SIMD pass from the file's bytes to floats.
        Encoding::I16 if channels == 1 => i16le_to_f32(out, bytes),
        Encoding::I16 => {
            let ints = &mut ints[..out.len()];
            for (v, b) in ints.iter_mut().zip(bytes[c * 2..].chunks(step)) {
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

    /// Files many read blocks long, read a tick at a time: every sample
    /// must come out where hound puts it, across each 64 KiB refill (whose
    /// boundaries fall mid-tick and, for 24-bit stereo, mid-frame).
    #[test]
    fn long_files_read_exactly_across_block_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        for (channels, bits, frames) in [(1u16, 16u16, 100_003usize), (2, 24, 50_001)] {
            let path = dir.path().join(format!("long{channels}.wav"));
            let spec = hound::WavSpec {
                channels,
                sample_rate: 48_000,
                bits_per_sample: bits,
                sample_format: hound::SampleFormat::Int,
            };
            let samples: Vec<f32> = (0..frames * usize::from(channels))
                .map(|i| ((i * 7919) % 65_536) as f32 / 32_768.0 - 1.0)
                .collect();
            write_wav(&path, spec, &samples);
            let full = if bits == 16 { 32_768.0 } else { 8_388_608.0 };
            let want: Vec<f32> = hound::WavReader::open(&path)
                .unwrap()
                .samples::<i32>()
                .map(|v| v.unwrap() as f32 / full)
                .collect();
            let ch = usize::from(channels);
            let mut src = WavSource::open(path.to_str().unwrap(), 480).unwrap();
            let mut planar = vec![0.0; ch * 480];
            let mut total = 0;
            loop {
                let n = src.read(&mut planar, 480, 0, 480).unwrap();
                for f in 0..n {
                    for c in 0..ch {
                        assert_eq!(
                            planar[c * 480 + f],
                            want[(total + f) * ch + c],
                            "frame {}",
                            total + f
                        );
                    }
                }
                total += n;
                if n < 480 {
                    break;
                }
            }
            assert_eq!(total, frames);
            assert_eq!(src.ended_after(), Some(frames as u64));
            src.rewind().unwrap();
            assert_eq!(src.read(&mut planar, 480, 0, 480).unwrap(), 480);
            assert_eq!(planar[0], want[0]);
            assert_eq!(planar[479], want[479 * ch]);
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
        for (ch, rate, want) in [
            (1000u16, 48_000u32, "channels"),
            (1, 5, "sample rate"),
            (0, 48_000, "channels"),
        ] {
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
    fn reads_the_open_ended_header_ffmpeg_writes_to_pipes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("piped.wav");
        let mut h = Vec::new();
        h.extend_from_slice(b"RIFF\xff\xff\xff\xffWAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        for v in [1u16, 1] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&44_100u32.to_le_bytes());
        h.extend_from_slice(&88_200u32.to_le_bytes());
        for v in [2u16, 16] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(b"LIST\x05\0\0\0INFOx\0");
        h.extend_from_slice(b"data\xff\xff\xff\xff");
        for i in 0..300i16 {
            h.extend_from_slice(&(i * 100).to_le_bytes());
        }
        std::fs::write(&path, &h).unwrap();
        let mut src = WavSource::open(path.to_str().unwrap(), 256).unwrap();
        assert_eq!(src.format().frames, u64::MAX);
        assert_eq!(src.format().rate, 44_100);
        let mut out = vec![0.0; 256];
        assert_eq!(src.read(&mut out, 256, 0, 256).unwrap(), 256);
        assert_eq!(out[255], 25_500.0 / 32768.0);
        assert_eq!(src.ended_after(), None);
        assert_eq!(src.read(&mut out, 256, 0, 256).unwrap(), 44);
        assert_eq!(src.ended_after(), Some(300));
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
