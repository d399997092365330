//! `y4m_in(path, loop)`: reads a YUV4MPEG2 file or standard input (`-`),
//! the format ffmpeg pipes (`ffmpeg -i in.mp4 -f yuv4mpegpipe -`). 8-bit
//! 4:2:0 is read as i420; mono (`Cmono`, e.g. a mask) as i420 with
//! neutral chroma; other colour spaces are an error that names them.

use super::y4m_header::{self, Header};
use super::{path_arg, video_port};
use crate::sig::{output, param, required, signature as sig};
use sluice_dsl::{
    Arg, Args, Constraint, Finding, MediaType, OutType, ParamType, PixelFormat, Ports, Role,
    RuleInput, Signature, VideoType,
};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The `y4m_in` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "y4m_in",
        "Reads Y4M video from a file or `-` (standard input, e.g. from ffmpeg \
         -f yuv4mpegpipe). 8-bit 4:2:0 becomes i420, mono becomes i420 with \
         neutral chroma (masks); other colour spaces are refused with the \
         ffmpeg option that converts them. `loop` restarts a file at its end.",
        Role::VideoSource,
        ports,
    );
    s.params = vec![
        required(
            "path",
            ParamType::Path,
            "Y4M file, or `-` for standard input",
        ),
        param(
            "loop",
            ParamType::Bool,
            Arg::Bool(false),
            "Restart at the end (files only)",
        ),
    ];
    s.io = true;
    s.endless = |a| a.bool("loop").unwrap_or(false);
    s
}

/// The type a header declares.
pub fn header_type(h: &Header) -> VideoType {
    VideoType {
        format: PixelFormat::I420,
        width: h.width,
        height: h.height,
        fps: h.fps,
    }
}

fn ports(args: &Args) -> Result<Ports, String> {
    let path = args.str("path").unwrap_or("");
    let (ty, warnings) = match y4m_header::probe(path)? {
        Some(h) => (header_type(&h), Vec::new()),
        None => (
            VideoType {
                format: PixelFormat::I420,
                width: 1280,
                height: 720,
                fps: (30, 1),
            },
            vec![format!(
                "{path} does not exist yet; its size and rate are unknown"
            )],
        ),
    };
    Ok(Ports {
        inputs: Vec::new(),
        outputs: vec![output("out", OutType::Fixed(MediaType::Video(ty)))],
        warnings,
        constraints: vec![Constraint::Rule(openable)],
    })
}

/// What `build` refuses and a look can tell: `loop` on a pipe, and a file
/// too short to hold its first frame (`FRAME\n` and the picture).
fn openable(r: &RuleInput) -> Vec<Finding> {
    let path = r.args.str("path").unwrap_or("");
    if path == "-" {
        if r.args.bool("loop") == Some(true) {
            return vec![Finding::error(
                Some("loop"),
                "`loop` needs a file: standard input cannot start over",
                "with `path: \"-\"`",
            )
            .with_help("save the stream to a file first, or drop `loop`")];
        }
        return Vec::new();
    }
    let (Ok(Some(h)), Ok(meta)) = (y4m_header::probe(path), std::fs::metadata(path)) else {
        return Vec::new();
    };
    let first = (h.bytes.len() + b"FRAME\n".len() + h.frame_bytes()) as u64;
    if meta.len() >= first {
        return Vec::new();
    }
    vec![Finding::error(
        Some("path"),
        format!("{path} holds no complete frame"),
        format!(
            "{} bytes; its first {}x{} frame ends at byte {first}",
            meta.len(),
            h.width,
            h.height
        ),
    )]
}

/// The byte source under the decoder: a file that can rewind to its first
/// frame (for `loop`) or a pipe, counting bytes delivered so a frame cut
/// short can be told from a clean end.
struct Input {
    inner: BufReader<File>,
    data_start: Option<u64>,
    fresh: bool,
    delivered: Arc<AtomicU64>,
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && !self.fresh {
            if let Some(start) = self.data_start {
                self.inner.seek(SeekFrom::Start(start))?;
                self.fresh = true;
                n = self.inner.read(buf)?;
            }
        }
        if n > 0 {
            self.fresh = false;
        }
        self.delivered.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

type Decoder = y4m::Decoder<io::Chain<Cursor<Vec<u8>>, Input>>;

/// What ended a stream early, kept without allocating and reported by
/// `finish`.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Truncated(u64),
    Malformed(u64),
    Io(u64, io::ErrorKind),
}

/// Opens `path` and returns its header and a reader positioned after it.
fn open(path: &str, looping: bool) -> Result<(Header, File, Option<u64>), NodeError> {
    if path == "-" {
        if looping {
            return Err(NodeError::new("stdin: `loop` needs a file, not a pipe"));
        }
        let h = y4m_header::stdin_header().map_err(NodeError::new)?;
        return Ok((h, y4m_header::stdin_file().map_err(NodeError::new)?, None));
    }
    let mut f =
        File::open(path).map_err(|e| NodeError::new(format!("{path}: cannot open: {e}")))?;
    let h = y4m_header::read_header(&mut f, path).map_err(NodeError::new)?;
    let start = h.bytes.len() as u64;
    Ok((h, f, looping.then_some(start)))
}

/// Builds a `y4m_in` node: opens the input and reads the first frame, so
/// an empty or cut-short file is an error here rather than mid-run.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let path = path_arg(ctx.args)?.to_string();
    let looping = ctx.args.bool("loop").unwrap_or(false);
    let (header, file, data_start) = open(&path, looping)?;
    let ty = header_type(&header);
    let planned = video_port(ctx.outputs, 0)?;
    if (planned.width, planned.height) != (ty.width, ty.height) {
        return Err(NodeError::new(format!(
            "{path}: is {}x{} now but was {}x{} when the graph was checked",
            ty.width, ty.height, planned.width, planned.height
        )));
    }
    let delivered = Arc::new(AtomicU64::new(0));
    let input = Input {
        inner: BufReader::with_capacity(1 << 20, file),
        data_start,
        fresh: true,
        delivered: delivered.clone(),
    };
    let replay = Cursor::new(header.bytes.clone());
    let limits = y4m::Limits {
        bytes: header.frame_bytes(),
    };
    let decoder = y4m::Decoder::new_with_limits(replay.chain(input), limits)
        .map_err(|e| NodeError::new(format!("{path}: bad Y4M header: {e}")))?;
    let mut node = Y4mIn {
        path,
        decoder,
        mono: header.mono,
        pending: vec![0; header.frame_bytes()],
        delivered,
        frames: 0,
        failure: None,
    };
    if !node.read_next() {
        return Err(node
            .failure_error()
            .unwrap_or_else(|| NodeError::new(format!("{}: has no frames", node.path))));
    }
    Ok(Box::new(node))
}

/// Streams frames, one read ahead so the last one can say `Ended`.
struct Y4mIn {
    path: String,
    decoder: Decoder,
    mono: bool,
    pending: Vec<u8>,
    delivered: Arc<AtomicU64>,
    frames: u64,
    failure: Option<Failure>,
}

impl Y4mIn {
    /// Reads the next frame into `pending`; false at the end or on a
    /// failure (recorded for `finish`).
    fn read_next(&mut self) -> bool {
        let before = self.delivered.load(Ordering::Relaxed);
        let n = self.frames;
        match self.decoder.read_frame() {
            Ok(f) => {
                let y = f.get_y_plane();
                self.pending[..y.len()].copy_from_slice(y);
                if !self.mono {
                    let (u, v) = (f.get_u_plane(), f.get_v_plane());
                    let rest = &mut self.pending[y.len()..];
                    rest[..u.len()].copy_from_slice(u);
                    rest[u.len()..u.len() + v.len()].copy_from_slice(v);
                }
                self.frames += 1;
                true
            }
            Err(y4m::Error::EOF) => {
                if self.delivered.load(Ordering::Relaxed) != before {
                    self.failure = Some(Failure::Truncated(n));
                }
                false
            }
            Err(y4m::Error::IoError(e)) => {
                self.failure = Some(Failure::Io(n, e.kind()));
                false
            }
            Err(_) => {
                self.failure = Some(Failure::Malformed(n));
                false
            }
        }
    }

    fn failure_error(&self) -> Option<NodeError> {
        let p = &self.path;
        self.failure.map(|f| {
            NodeError::new(match f {
                Failure::Truncated(n) => format!("{p}: frame {n} is cut short (truncated file)"),
                Failure::Malformed(n) => format!("{p}: frame {n} does not start with FRAME"),
                Failure::Io(n, kind) => format!("{p}: reading frame {n} failed: {kind}"),
            })
        })
    }
}

impl Node for Y4mIn {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        let out = io.video_out(0);
        if self.mono {
            let [y, u, v] = out.planes_mut();
            y.copy_from_slice(&self.pending);
            u.fill(128);
            v.fill(128);
        } else {
            out.data_mut().copy_from_slice(&self.pending);
        }
        if self.read_next() {
            Flow::Continue
        } else {
            Flow::Ended
        }
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        self.failure_error().map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::testing::{args, build as harness, s};

    /// A Y4M stream of `frames` frames where every sample of frame `n`
    /// plane `p` is `n * 10 + p`.
    pub(crate) fn y4m_bytes(w: usize, h: usize, frames: usize, cs: &str) -> Vec<u8> {
        let mut out = format!("YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 {cs}\n").into_bytes();
        let c = w.div_ceil(2) * h.div_ceil(2);
        for n in 0..frames {
            out.extend_from_slice(b"FRAME\n");
            out.extend(std::iter::repeat_n((n * 10) as u8, w * h));
            if cs != "Cmono" {
                out.extend(std::iter::repeat_n((n * 10 + 1) as u8, c));
                out.extend(std::iter::repeat_n((n * 10 + 2) as u8, c));
            }
        }
        out
    }

    fn write(dir: &tempfile::TempDir, name: &str, data: &[u8]) -> String {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn open_node(path: &str, looping: bool) -> Result<crate::video::testing::Built, NodeError> {
        let a = args(
            &signature(),
            &[("path", s(path)), ("loop", Arg::Bool(looping))],
        );
        harness(&signature(), build, &a, &[])
    }

    #[test]
    fn reads_every_frame_and_ends_on_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "a.y4m", &y4m_bytes(6, 3, 3, "C420jpeg"));
        let mut n = open_node(&p, false).unwrap();
        assert_eq!(n.out_types[0].to_string(), "video(i420 6x3 25fps)");
        for k in 0..3u8 {
            let flow = n.run(&[]);
            assert_eq!(flow, if k == 2 { Flow::Ended } else { Flow::Continue });
            let f = n.out(0);
            assert!(f.plane(0).iter().all(|&v| v == k * 10));
            assert!(f.plane(1).iter().all(|&v| v == k * 10 + 1));
            assert!(f.plane(2).iter().all(|&v| v == k * 10 + 2));
        }
        assert!(n.node.finish().is_ok());
    }

    #[test]
    fn mono_reads_as_i420_with_neutral_chroma() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "m.y4m", &y4m_bytes(5, 3, 2, "Cmono"));
        let mut n = open_node(&p, false).unwrap();
        n.run(&[]);
        assert_eq!(n.run(&[]), Flow::Ended);
        let f = n.out(0);
        assert!(f.plane(0).iter().all(|&v| v == 10));
        assert!(f.plane(1).iter().chain(f.plane(2)).all(|&v| v == 128));
    }

    #[test]
    fn loop_restarts_at_the_first_frame() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "l.y4m", &y4m_bytes(4, 2, 2, "C420"));
        let mut n = open_node(&p, true).unwrap();
        for k in 0..7u8 {
            assert_eq!(n.run(&[]), Flow::Continue);
            assert_eq!(n.out(0).plane(0)[0], (k % 2) * 10);
        }
    }

    #[test]
    fn a_truncated_frame_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = y4m_bytes(8, 4, 2, "C420jpeg");
        data.truncate(data.len() - 5);
        let p = write(&dir, "t.y4m", &data);
        let mut n = open_node(&p, false).unwrap();
        assert_eq!(n.run(&[]), Flow::Ended);
        let err = n.node.finish().unwrap_err().to_string();
        assert!(err.contains("frame 1 is cut short"), "{err}");
        // A file whose only frame is cut short fails at build.
        let mut data = y4m_bytes(8, 4, 1, "C420jpeg");
        data.truncate(data.len() - 1);
        let p = write(&dir, "t1.y4m", &data);
        let err = open_node(&p, false).err().unwrap().to_string();
        assert!(err.contains("frame 0 is cut short"), "{err}");
    }

    #[test]
    fn check_time_probe_types_the_output_or_warns() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "p.y4m", &y4m_bytes(10, 6, 1, "C420mpeg2"));
        let a = args(&signature(), &[("path", s(&p))]);
        let ports = (signature().ports)(&a).unwrap();
        assert!(ports.warnings.is_empty());
        let a = args(&signature(), &[("path", s("/nonexistent/x.y4m"))]);
        let ports = (signature().ports)(&a).unwrap();
        assert!(ports.warnings[0].contains("does not exist"));
        let p = write(&dir, "c444.y4m", b"YUV4MPEG2 W4 H4 F25:1 C444\n");
        let a = args(&signature(), &[("path", s(&p))]);
        assert!((signature().ports)(&a)
            .unwrap_err()
            .contains("C444 is not supported"));
    }

    /// Fuzz-style: random mutations and truncations of a valid stream never
    /// panic or allocate absurdly; they read, or fail with the path named.
    #[test]
    fn random_headers_and_frames_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let base = y4m_bytes(6, 4, 3, "C420jpeg");
        let mut seed = 0x9E3779B97F4A7C15u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let tokens: [&[u8]; 8] = [
            b"W",
            b"H",
            b"99999999",
            b"0",
            b" C444",
            b"\n",
            b"F0:0",
            b"FRAME",
        ];
        for i in 0..300 {
            let mut data = base.clone();
            match rand() % 4 {
                0 => data.truncate((rand() as usize) % data.len()),
                1 => {
                    for _ in 0..1 + rand() % 4 {
                        let at = (rand() as usize) % data.len();
                        data[at] = rand() as u8;
                    }
                }
                2 => {
                    let at = (rand() as usize) % 40;
                    let t = tokens[(rand() as usize) % tokens.len()];
                    data.splice(at..at, t.iter().copied());
                }
                _ => data = (0..(rand() % 64)).map(|_| rand() as u8).collect(),
            }
            let p = write(&dir, &format!("f{i}.y4m"), &data);
            match open_node(&p, false) {
                Ok(mut n) => {
                    let mut ticks = 0;
                    while n.run(&[]) == Flow::Continue {
                        ticks += 1;
                        assert!(ticks < 10);
                    }
                    if let Err(e) = n.node.finish() {
                        assert!(e.to_string().starts_with(&p), "{e}");
                    }
                }
                Err(e) => assert!(e.to_string().starts_with(&p), "{e}"),
            }
        }
    }
}
