//! `png_out(path, every)`: writes RGBA frames as numbered PNG snapshots
//! (`shot_%05d.png`, numbered by frame index). The language converts other
//! formats to RGBA on the way in.
//!
//! The path buffer and file handle cost nothing per frame, but the `png`
//! crate's encoder allocates its compression state for every image it
//! writes: use `every` to keep snapshots occasional on a live graph.

use super::{create_parent_dirs, formats, path_arg, video_port};
use crate::sig::{input, int, param, required, signature as sig};
use sluice_dsl::{Arg, Args, ParamType, PixelFormat, Ports, Role, Signature};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, VideoFrame};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter};

/// The `png_out` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "png_out",
        "Writes frames as PNG images. A `%05d` (or `%d`) in the path is \
         replaced by the frame index; without one each write replaces the \
         file. `every: N` keeps one frame in N.",
        Role::Sink,
        ports,
    );
    s.params = vec![
        required(
            "path",
            ParamType::Path,
            "PNG path, with %05d for the frame index",
        ),
        param(
            "every",
            int(1, 1_000_000),
            Arg::Num(1.0),
            "Write one frame in this many",
        ),
    ];
    s.io = true;
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", formats(&[PixelFormat::Rgba]))],
        outputs: Vec::new(),
        ..Ports::default()
    })
}

/// A path with one `%d` / `%0Nd` placeholder, split around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbered {
    prefix: String,
    suffix: String,
    width: usize,
    numbered: bool,
}

impl Numbered {
    /// Splits `path` at its first `%d` or `%0Nd`.
    pub fn new(path: &str) -> Numbered {
        if let Some(at) = path.find('%') {
            let rest = &path[at + 1..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if rest[digits.len()..].starts_with('d') {
                return Numbered {
                    prefix: path[..at].to_string(),
                    suffix: rest[digits.len() + 1..].to_string(),
                    width: digits.parse().unwrap_or(0),
                    numbered: true,
                };
            }
        }
        Numbered {
            prefix: path.to_string(),
            suffix: String::new(),
            width: 0,
            numbered: false,
        }
    }

    /// Writes the path for frame `n` into `out` (reusing its capacity).
    pub fn format(&self, n: u64, out: &mut String) {
        out.clear();
        out.push_str(&self.prefix);
        if self.numbered {
            let _ = write!(out, "{n:0w$}", w = self.width);
        }
        out.push_str(&self.suffix);
    }
}

/// Encodes one RGBA frame to a PNG file.
pub fn write_png(path: &str, frame: &VideoFrame) -> io::Result<()> {
    let f = File::create(path)?;
    let (w, h) = (frame.width() as u32, frame.height() as u32);
    let mut e = png::Encoder::new(BufWriter::new(f), w, h);
    e.set_color(png::ColorType::Rgba);
    e.set_depth(png::BitDepth::Eight);
    e.set_compression(png::Compression::High);
    let mut writer = e.write_header().map_err(io::Error::other)?;
    writer
        .write_image_data(frame.plane(0))
        .map_err(io::Error::other)?;
    writer.finish().map_err(io::Error::other)
}

/// Builds a `png_out` node.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let path = path_arg(ctx.args)?;
    let ty = video_port(ctx.inputs, 0)?;
    if ty.format != PixelFormat::Rgba {
        return Err(NodeError::new(format!(
            "{path}: png_out writes rgba, got {}",
            ty.format
        )));
    }
    create_parent_dirs(path)?;
    Ok(Box::new(PngOut {
        pattern: Numbered::new(path),
        name: String::with_capacity(path.len() + 32),
        every: ctx.args.num("every").unwrap_or(1.0).max(1.0) as u64,
        n: 0,
        failed: None,
    }))
}

/// Writes every `every`-th frame.
struct PngOut {
    pattern: Numbered,
    name: String,
    every: u64,
    n: u64,
    failed: Option<(u64, io::ErrorKind)>,
}

impl Node for PngOut {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        if let Some(frame) = io.video_in(0) {
            if self.n.is_multiple_of(self.every) && self.failed.is_none() {
                self.pattern.format(self.n, &mut self.name);
                if let Err(e) = write_png(&self.name, frame) {
                    self.failed = Some((self.n, e.kind()));
                }
            }
            self.n += 1;
        }
        Flow::Continue
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        match self.failed {
            Some((n, kind)) => {
                self.pattern.format(n, &mut self.name);
                Err(NodeError::new(format!(
                    "{}: writing failed: {kind}",
                    self.name
                )))
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::image_in;
    use crate::video::testing::{args, build as harness, rgba_frame, s};

    #[test]
    fn numbered_paths() {
        let mut out = String::new();
        Numbered::new("a/shot_%05d.png").format(42, &mut out);
        assert_eq!(out, "a/shot_00042.png");
        Numbered::new("x%dy").format(7, &mut out);
        assert_eq!(out, "x7y");
        Numbered::new("still.png").format(7, &mut out);
        assert_eq!(out, "still.png");
    }

    #[test]
    fn writes_every_nth_frame_that_image_in_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = dir
            .path()
            .join("out/f_%03d.png")
            .to_string_lossy()
            .into_owned();
        let a = args(
            &signature(),
            &[("path", s(&pattern)), ("every", Arg::Num(2.0))],
        );
        let f = rgba_frame(5, 3, |x, y| [(x * 50) as u8, (y * 80) as u8, 7, 200]);
        let mut n = harness(&signature(), build, &a, &[f.ty()]).unwrap();
        for _ in 0..5 {
            n.run(&[&f]);
        }
        n.node.finish().unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["f_000.png", "f_002.png", "f_004.png"]);
        let (w, h, rgba) = image_in::decode_png(&pattern.replace("%03d", "002")).unwrap();
        assert_eq!((w, h), (5, 3));
        assert_eq!(rgba, f.plane(0));
    }
}
