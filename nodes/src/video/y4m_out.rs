//! `y4m_out(path)`: writes i420 video as YUV4MPEG2 to a file or `-`
//! (standard output), which ffmpeg reads directly (`ffmpeg -i - out.mp4`).
//! The language converts other formats to i420 on the way in.

use super::{create_parent_dirs, formats, video_port};
use crate::sig::{input, required, signature as sig};
use sluice_dsl::{Args, ParamType, PixelFormat, Ports, Role, Signature};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::AsFd;

/// The `y4m_out` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "y4m_out",
        "Writes video as Y4M (C420jpeg, what ffmpeg writes for yuv420p) to a \
         file or `-` for standard output, so `sluice run ... | ffmpeg -i - \
         out.mp4` works. The file is complete after every frame.",
        Role::Sink,
        ports,
    );
    s.params = vec![required(
        "path",
        ParamType::Path,
        "Y4M file, or `-` for standard output",
    )];
    s.io = true;
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", formats(&[PixelFormat::I420]))],
        outputs: Vec::new(),
        ..Ports::default()
    })
}

/// Builds a `y4m_out` node: opens the output and writes the stream header.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let path = ctx.args.need_str("path")?.to_string();
    let ty = video_port(ctx.inputs, 0)?;
    if ty.format != PixelFormat::I420 {
        return Err(NodeError::new(format!(
            "{path}: y4m_out writes i420, got {}",
            ty.format
        )));
    }
    let file = if path == "-" {
        io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .map_err(|e| NodeError::new(format!("stdout: cannot open: {e}")))?
    } else {
        create_parent_dirs(&path)?;
        File::create(&path).map_err(|e| NodeError::new(format!("{path}: cannot create: {e}")))?
    };
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let rate = y4m::Ratio::new(ty.fps.0 as usize, ty.fps.1 as usize);
    y4m::encode(ty.width as usize, ty.height as usize, rate)
        .with_colorspace(y4m::Colorspace::C420jpeg)
        .write_header(&mut out)
        .map_err(|e| NodeError::new(format!("{path}: cannot write: {e}")))?;
    Ok(Box::new(Y4mOut {
        path,
        out,
        failed: None,
    }))
}

/// Writes `FRAME` and the three planes for each input frame.
struct Y4mOut {
    path: String,
    out: BufWriter<File>,
    failed: Option<io::ErrorKind>,
}

impl Node for Y4mOut {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        let Some(frame) = io.video_in(0) else {
            return Flow::Continue;
        };
        if self.failed.is_none() {
            let written = self
                .out
                .write_all(b"FRAME\n")
                .and_then(|_| self.out.write_all(frame.data()));
            if let Err(e) = written {
                self.failed = Some(e.kind());
            }
        }
        Flow::Continue
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        if let Some(kind) = self.failed {
            return Err(NodeError::new(format!(
                "{}: writing failed: {kind}",
                self.path
            )));
        }
        self.out
            .flush()
            .map_err(|e| NodeError::new(format!("{}: writing failed: {e}", self.path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, s, video, video_types, vt};
    use crate::video::y4m_in;
    use sluice_runtime::testing::NodeHarness;
    use sluice_runtime::VideoFrame;
    use std::process::Command;

    fn write_frames(path: &str, w: u32, h: u32, n: u8) {
        let a = args_with_defaults(&signature(), &[("path", s(path))]);
        let ty = vt(PixelFormat::I420, w, h);
        let mut node = NodeHarness::of(signature(), build)
            .args(a.clone())
            .inputs(&video_types(&[ty]))
            .build()
            .unwrap();
        let mut f = VideoFrame::new(ty);
        for k in 0..n {
            f.data_mut()
                .iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = (i as u8).wrapping_add(k));
            node.run(&[&video(&f)]);
        }
        node.finish().unwrap();
    }

    #[test]
    fn writes_a_stream_y4m_in_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir
            .path()
            .join("sub/out.y4m")
            .to_string_lossy()
            .into_owned();
        write_frames(&p, 7, 5, 3);
        let data = std::fs::read(&p).unwrap();
        assert!(data.starts_with(b"YUV4MPEG2 W7 H5 F30:1 C420jpeg\n"));
        let a = args_with_defaults(&y4m_in::signature(), &[("path", s(&p))]);
        let mut r = NodeHarness::of(y4m_in::signature(), y4m_in::build)
            .args(a.clone())
            .build()
            .unwrap();
        for k in 0..3u8 {
            r.run(&[]);
            assert_eq!(r.video(0).data()[10], 10u8.wrapping_add(k));
        }
    }

    fn have(tool: &str) -> bool {
        Command::new(tool).arg("-version").output().is_ok()
    }

    /// ffmpeg writes a Y4M, y4m_in reads it, y4m_out writes it, and ffmpeg
    /// reads the result back with the same frame count and size.
    #[test]
    fn ffmpeg_round_trip() {
        if !have("ffmpeg") || !have("ffprobe") {
            sluice_runtime::testing::skip_unless_ci("ffmpeg not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.y4m");
        let st = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=176x100:rate=25",
            ])
            .args(["-frames:v", "12", "-pix_fmt", "yuv420p"])
            .arg(&src)
            .status()
            .unwrap();
        assert!(st.success());
        let src = src.to_string_lossy().into_owned();
        let a = args_with_defaults(&y4m_in::signature(), &[("path", s(&src))]);
        let mut reader = NodeHarness::of(y4m_in::signature(), y4m_in::build)
            .args(a.clone())
            .build()
            .unwrap();
        let ty = match reader.output_types()[0] {
            sluice_dsl::MediaType::Video(v) => v,
            _ => unreachable!(),
        };
        assert_eq!((ty.width, ty.height, ty.fps), (176, 100, (25, 1)));
        let dst = dir.path().join("dst.y4m").to_string_lossy().into_owned();
        let wa = args_with_defaults(&signature(), &[("path", s(&dst))]);
        let mut writer = NodeHarness::of(signature(), build)
            .args(wa.clone())
            .inputs(&video_types(&[ty]))
            .build()
            .unwrap();
        let mut frames = 0;
        loop {
            let flow = reader.run(&[]);
            let f = reader.video(0).clone();
            writer.run(&[&video(&f)]);
            frames += 1;
            if flow == Flow::Ended {
                break;
            }
        }
        writer.finish().unwrap();
        assert_eq!(frames, 12);
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args([
                "-show_entries",
                "stream=nb_read_frames,width,height,pix_fmt",
            ])
            .args(["-of", "csv=p=0"])
            .arg(&dst)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.trim(),
            "176,100,yuv420p,12",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The pictures pass through unchanged: everything after the header
        // line (FRAME markers and planes) is byte-identical.
        let body = |p: &str| {
            let d = std::fs::read(p).unwrap();
            let at = d.iter().position(|&b| b == b'\n').unwrap();
            d[at..].to_vec()
        };
        assert!(body(&src) == body(&dst));
    }
}
