//! `y4m_in(path, loop)`: reads a YUV4MPEG2 file or standard input (`-`),
//! the format ffmpeg pipes (`ffmpeg -i in.mp4 -f yuv4mpegpipe -`). 8-bit
//! 4:2:0 is read as i420; mono (`Cmono`, e.g. a mask) as i420 with
//! neutral chroma; other colour spaces are an error that names them.

use super::video_port;
use super::y4m_header::{self, Header, MAX_HEADER};
use crate::sig::{output, param, required, signature as sig};
use sluice_dsl::{
    Arg, Args, Constraint, Finding, MediaType, OutType, ParamType, PixelFormat, Ports, Role,
    RuleInput, Signature, VideoType,
};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

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
    s.endless = |a| a.need_bool("loop") == Ok(true);
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
    let path = args.need_str("path")?;
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
    let path = match crate::sig::file_to_probe(r) {
        Ok(path) => path,
        Err(findings) => return findings,
    };
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

/// What ended a stream early, kept without allocating and reported by
/// `finish`.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Truncated(u64),
    Malformed(u64),
    Io(u64, io::ErrorKind),
}

/// Bytes buffered for the `FRAME` lines. Picture bytes bypass the buffer:
/// a read at least this long goes straight from the file into the frame.
const LINE_BUFFER: usize = 16 << 10;

/// The frames of a Y4M stream after its header, read straight into the
/// caller's buffer (one copy, by the kernel). A regular file is checked
/// against its length before each picture, so a frame cut short is found
/// before any of it is read.
struct Frames {
    inner: BufReader<File>,
    /// Where the first frame starts, for `loop` (files only).
    data_start: Option<u64>,
    /// Stream position, when the input is a regular file.
    pos: Option<u64>,
    line: Vec<u8>,
    picture: u64,
}

impl Frames {
    fn new(mut file: File, data_start: Option<u64>, picture: usize) -> Frames {
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        let pos = if regular {
            file.stream_position().ok()
        } else {
            None
        };
        Frames {
            inner: BufReader::with_capacity(LINE_BUFFER, file),
            data_start,
            pos,
            line: Vec::with_capacity(MAX_HEADER),
            picture: picture as u64,
        }
    }

    /// Reads frame `n`'s `FRAME` line: true when its picture follows, false
    /// at a clean end of the stream (a looping file starts over instead).
    fn next(&mut self, n: u64) -> Result<bool, Failure> {
        if self.read_line(n)? {
            return self.check_length(n).map(|()| true);
        }
        let Some(start) = self.data_start else {
            return Ok(false);
        };
        self.inner
            .seek(SeekFrom::Start(start))
            .map_err(|e| Failure::Io(n, e.kind()))?;
        self.pos = self.pos.map(|_| start);
        let more = self.read_line(n)?;
        if more {
            self.check_length(n)?;
        }
        Ok(more)
    }

    /// One `FRAME` line (parameters allowed, as in the format), at most
    /// [`MAX_HEADER`] bytes; false when the stream ends before it.
    fn read_line(&mut self, n: u64) -> Result<bool, Failure> {
        self.line.clear();
        let got = (&mut self.inner)
            .take(MAX_HEADER as u64)
            .read_until(b'\n', &mut self.line)
            .map_err(|e| Failure::Io(n, e.kind()))?;
        if got == 0 {
            return Ok(false);
        }
        self.pos = self.pos.map(|p| p + got as u64);
        if !self.line.ends_with(b"\n") {
            return Err(if got < MAX_HEADER {
                Failure::Truncated(n)
            } else {
                Failure::Malformed(n)
            });
        }
        match self.line.strip_prefix(b"FRAME") {
            Some([b' ' | b'\n', ..]) => Ok(true),
            _ => Err(Failure::Malformed(n)),
        }
    }

    /// A regular file must still hold frame `n`'s whole picture.
    fn check_length(&mut self, n: u64) -> Result<(), Failure> {
        let Some(pos) = self.pos else {
            return Ok(());
        };
        let len = self
            .inner
            .get_ref()
            .metadata()
            .map_err(|e| Failure::Io(n, e.kind()))?
            .len();
        if len.saturating_sub(pos) < self.picture {
            return Err(Failure::Truncated(n));
        }
        Ok(())
    }

    /// Frame `n`'s picture bytes into `buf` (whose length is the picture's).
    fn read_picture(&mut self, buf: &mut [u8], n: u64) -> Result<(), Failure> {
        self.inner.read_exact(buf).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => Failure::Truncated(n),
            kind => Failure::Io(n, kind),
        })?;
        self.pos = self.pos.map(|p| p + buf.len() as u64);
        Ok(())
    }
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
    let path = ctx.args.need_str("path")?.to_string();
    let looping = ctx.args.need_bool("loop")?;
    let (header, file, data_start) = open(&path, looping)?;
    let ty = header_type(&header);
    let planned = video_port(ctx.outputs, 0)?;
    if (planned.width, planned.height) != (ty.width, ty.height) {
        return Err(NodeError::new(format!(
            "{path}: is {}x{} now but was {}x{} when the graph was checked",
            ty.width, ty.height, planned.width, planned.height
        )));
    }
    let mut node = Y4mIn {
        path,
        frames: Frames::new(file, data_start, header.frame_bytes()),
        mono: header.mono,
        first: vec![0; header.frame_bytes()],
        first_pending: true,
        more: true,
        n: 0,
        failure: None,
    };
    node.read_first()?;
    Ok(Box::new(node))
}

/// Streams frames, each `FRAME` line read one ahead so the last frame can
/// say `Ended`. The first picture is read at build (into `first`, kept so
/// nothing is freed while running); later ones go straight into the frame.
struct Y4mIn {
    path: String,
    frames: Frames,
    mono: bool,
    first: Vec<u8>,
    first_pending: bool,
    /// Frame `n`'s line has been read and its picture follows.
    more: bool,
    /// Index of the next frame.
    n: u64,
    failure: Option<Failure>,
}

impl Y4mIn {
    /// Reads frame 0 into `first` and the line of frame 1.
    fn read_first(&mut self) -> Result<(), NodeError> {
        let read = match self.frames.next(0) {
            Ok(true) => self.frames.read_picture(&mut self.first, 0),
            Ok(false) => return Err(NodeError::new(format!("{}: has no frames", self.path))),
            Err(f) => Err(f),
        };
        if let Err(f) = read {
            self.failure = Some(f);
            return Err(self.failure_error().expect("a failure"));
        }
        self.n = 1;
        self.more = self.lookahead();
        Ok(())
    }

    /// Reads the line of frame `n`; false at the end or on a failure
    /// (recorded for `finish`).
    fn lookahead(&mut self) -> bool {
        match self.frames.next(self.n) {
            Ok(more) => more,
            Err(f) => {
                self.failure = Some(f);
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
        let picture = if self.mono {
            let [y, u, v] = out.planes_mut();
            u.fill(128);
            v.fill(128);
            y
        } else {
            out.data_mut()
        };
        if self.first_pending {
            picture.copy_from_slice(&self.first);
            self.first_pending = false;
        } else if let Err(f) = self.frames.read_picture(picture, self.n) {
            // Only a pipe gets here (a file's length is checked with its
            // line): the frame goes out as far as it was read.
            self.failure = Some(f);
            return Flow::Ended;
        } else {
            self.n += 1;
            self.more = self.lookahead();
        }
        if self.more {
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
    use crate::test_support::{args_with_defaults, s};
    use sluice_runtime::testing::NodeHarness;

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

    fn open_node(path: &str, looping: bool) -> Result<NodeHarness, NodeError> {
        let a = args_with_defaults(
            &signature(),
            &[("path", s(path)), ("loop", Arg::Bool(looping))],
        );
        NodeHarness::of(signature(), build).args(a.clone()).build()
    }

    #[test]
    fn reads_every_frame_and_ends_on_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "a.y4m", &y4m_bytes(6, 3, 3, "C420jpeg"));
        let mut n = open_node(&p, false).unwrap();
        assert_eq!(n.output_types()[0].to_string(), "video(i420 6x3 25fps)");
        for k in 0..3u8 {
            let flow = n.run(&[]);
            assert_eq!(flow, if k == 2 { Flow::Ended } else { Flow::Continue });
            let f = n.video(0);
            assert!(f.plane(0).iter().all(|&v| v == k * 10));
            assert!(f.plane(1).iter().all(|&v| v == k * 10 + 1));
            assert!(f.plane(2).iter().all(|&v| v == k * 10 + 2));
        }
        assert!(n.finish().is_ok());
    }

    #[test]
    fn mono_reads_as_i420_with_neutral_chroma() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "m.y4m", &y4m_bytes(5, 3, 2, "Cmono"));
        let mut n = open_node(&p, false).unwrap();
        n.run(&[]);
        assert_eq!(n.run(&[]), Flow::Ended);
        let f = n.video(0);
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
            assert_eq!(n.video(0).plane(0)[0], (k % 2) * 10);
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
        let err = n.finish().unwrap_err().to_string();
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
        let a = args_with_defaults(&signature(), &[("path", s(&p))]);
        let ports = (signature().ports)(&a).unwrap();
        assert!(ports.warnings.is_empty());
        let a = args_with_defaults(&signature(), &[("path", s("/nonexistent/x.y4m"))]);
        let ports = (signature().ports)(&a).unwrap();
        assert!(ports.warnings[0].contains("does not exist"));
        let p = write(&dir, "c444.y4m", b"YUV4MPEG2 W4 H4 F25:1 C444\n");
        let a = args_with_defaults(&signature(), &[("path", s(&p))]);
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
                    if let Err(e) = n.finish() {
                        assert!(e.to_string().starts_with(&p), "{e}");
                    }
                }
                Err(e) => assert!(e.to_string().starts_with(&p), "{e}"),
            }
        }
    }
}
