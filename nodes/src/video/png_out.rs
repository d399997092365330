//! `png_out(path, every, compression)`: writes frames as numbered PNG
//! snapshots (`shot_%05d.png`, numbered by frame index). RGBA frames are
//! written with their alpha; i420 and nv12 frames are converted by the
//! SIMD colour kernels (BT.601 limited, as `convert` does by default) and
//! written as RGB, as ffmpeg writes video frames.
//!
//! Compression is the `png` crate's: `fast` (the default) is its fdeflate
//! encoder with the `Up` row filter, an order of magnitude faster than
//! zlib; `default` is zlib level 6 with adaptive filters, `best` level 9.
//! The conversion buffers and the path are allocated at build; the encoder
//! allocates its compressed image per write. The kind does file I/O, so a
//! real-time graph runs it on the I/O thread: a slow encode fills its ring
//! and drops frames there (counted), never stalling the clocked threads.

use super::{create_parent_dirs, formats, video_port};
use crate::kernels::color::{self, YuvSpec};
use crate::sig::{choice, choice_arg, input, int, param, required, signature as sig};
use sluice_dsl::{Arg, Args, ParamType, PixelFormat, Ports, Role, Signature, VideoType};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, VideoFrame};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter};

/// The `compression` levels, fastest first.
pub const COMPRESSIONS: [&str; 3] = ["fast", "default", "best"];

/// Compression unless the graph says otherwise: snapshots of a running
/// graph should cost little.
pub const DEFAULT_COMPRESSION: &str = "fast";

/// The `png_out` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "png_out",
        "Writes frames as PNG images. A `%05d` (or `%d`) in the path is \
         replaced by the frame index; without one each write replaces the \
         file. `every: N` keeps one frame in N. rgba is written with alpha, \
         i420 and nv12 as RGB. `compression`: fast (fdeflate), default \
         (zlib 6), best (zlib 9).",
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
        param(
            "compression",
            choice(&COMPRESSIONS),
            choice_arg(DEFAULT_COMPRESSION),
            "Speed against size: fast, default or best",
        ),
    ];
    s.io = true;
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input(
            "in",
            formats(&[PixelFormat::Rgba, PixelFormat::I420, PixelFormat::Nv12]),
        )],
        outputs: Vec::new(),
        ..Ports::default()
    })
}

/// The encoder settings a `compression` name stands for.
fn settings(name: &str) -> (png::Compression, png::Filter) {
    match name {
        "best" => (png::Compression::High, png::Filter::Adaptive),
        "default" => (png::Compression::Balanced, png::Filter::Adaptive),
        _ => (png::Compression::Fast, png::Filter::Up),
    }
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

/// Pixels ready for the encoder: RGBA frames as they are, YUV frames
/// converted to RGB in buffers sized at build.
struct Pixels {
    ty: VideoType,
    rgba: Vec<u8>,
    rgb: Vec<u8>,
}

impl Pixels {
    fn new(ty: VideoType) -> Pixels {
        let n = ty.width as usize * ty.height as usize;
        let yuv = ty.format != PixelFormat::Rgba;
        Pixels {
            ty,
            rgba: vec![0; if yuv { 4 * n } else { 0 }],
            rgb: vec![0; if yuv { 3 * n } else { 0 }],
        }
    }

    /// The frame's bytes in the PNG colour type it is written with.
    fn of<'a>(&'a mut self, frame: &'a VideoFrame) -> (&'a [u8], png::ColorType) {
        let (w, h) = (frame.width(), frame.height());
        let spec = YuvSpec::default();
        match frame.format() {
            PixelFormat::Rgba => return (frame.plane(0), png::ColorType::Rgba),
            PixelFormat::I420 => {
                let (y, u, v) = (frame.plane(0), frame.plane(1), frame.plane(2));
                color::i420_to_rgba(y, u, v, w, h, &mut self.rgba, spec);
            }
            PixelFormat::Nv12 => {
                color::nv12_to_rgba(frame.plane(0), frame.plane(1), w, h, &mut self.rgba, spec);
            }
        }
        for (d, s) in self.rgb.chunks_exact_mut(3).zip(self.rgba.chunks_exact(4)) {
            d.copy_from_slice(&s[..3]);
        }
        (&self.rgb, png::ColorType::Rgb)
    }
}

/// Encodes one frame's pixels to a PNG file.
fn write_png(
    path: &str,
    (w, h): (u32, u32),
    (data, colour): (&[u8], png::ColorType),
    (compression, filter): (png::Compression, png::Filter),
) -> io::Result<()> {
    let f = File::create(path)?;
    let mut e = png::Encoder::new(BufWriter::new(f), w, h);
    e.set_color(colour);
    e.set_depth(png::BitDepth::Eight);
    e.set_compression(compression);
    e.set_filter(filter);
    let mut writer = e.write_header().map_err(io::Error::other)?;
    writer.write_image_data(data).map_err(io::Error::other)?;
    writer.finish().map_err(io::Error::other)
}

/// Builds a `png_out` node.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let path = ctx.args.need_str("path")?;
    let ty = video_port(ctx.inputs, 0)?;
    create_parent_dirs(path)?;
    let compression = ctx.args.need_str("compression")?;
    Ok(Box::new(PngOut {
        pattern: Numbered::new(path),
        name: String::with_capacity(path.len() + 32),
        every: ctx.args.need_num("every")?.max(1.0) as u64,
        settings: settings(compression),
        pixels: Pixels::new(ty),
        n: 0,
        failed: None,
    }))
}

/// Writes every `every`-th frame.
struct PngOut {
    pattern: Numbered,
    name: String,
    every: u64,
    settings: (png::Compression, png::Filter),
    pixels: Pixels,
    n: u64,
    failed: Option<(u64, io::ErrorKind)>,
}

impl Node for PngOut {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        if let Some(frame) = io.video_in(0) {
            if self.n.is_multiple_of(self.every) && self.failed.is_none() {
                self.pattern.format(self.n, &mut self.name);
                let size = (self.pixels.ty.width, self.pixels.ty.height);
                let pixels = self.pixels.of(frame);
                if let Err(e) = write_png(&self.name, size, pixels, self.settings) {
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
    use crate::test_support::{args_with_defaults, e, rgba_frame, s, video, video_types, vt};
    use crate::video::image_in;
    use sluice_runtime::testing::NodeHarness;

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
        let a = args_with_defaults(
            &signature(),
            &[("path", s(&pattern)), ("every", Arg::Num(2.0))],
        );
        let f = rgba_frame(5, 3, |x, y| [(x * 50) as u8, (y * 80) as u8, 7, 200]);
        let mut n = NodeHarness::of(signature(), build)
            .args(a.clone())
            .inputs(&video_types(&[f.ty()]))
            .build()
            .unwrap();
        for _ in 0..5 {
            n.run(&[&video(&f)]);
        }
        n.finish().unwrap();
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

    /// i420 frames (refused before: png_out took rgba only) are written as
    /// RGB, pixel for pixel what the SIMD conversion gives, at every
    /// compression level; the smaller levels make smaller files.
    #[test]
    fn writes_i420_as_rgb_at_every_compression() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = VideoFrame::new(vt(PixelFormat::I420, 64, 36));
        for (i, v) in f.data_mut().iter_mut().enumerate() {
            *v = ((i * 7) % 200 + (i / 64) % 40) as u8;
        }
        let mut want = vec![0; 64 * 36 * 4];
        let (y, u, v) = (f.plane(0), f.plane(1), f.plane(2));
        color::i420_to_rgba(y, u, v, 64, 36, &mut want, YuvSpec::default());
        let mut sizes = Vec::new();
        for level in COMPRESSIONS {
            let path = dir.path().join(format!("{level}.png"));
            let path = path.to_string_lossy().into_owned();
            let a = args_with_defaults(
                &signature(),
                &[("path", s(&path)), ("compression", e(level))],
            );
            let mut n = NodeHarness::of(signature(), build)
                .args(a.clone())
                .inputs(&video_types(&[f.ty()]))
                .build()
                .unwrap();
            n.run(&[&video(&f)]);
            n.finish().unwrap();
            let (w, h, rgba) = image_in::decode_png(&path).unwrap();
            assert_eq!((w, h), (64, 36));
            assert_eq!(rgba, want, "{level}");
            let head = std::fs::read(&path).unwrap();
            assert_eq!(head[25], 2, "{level}: colour type RGB");
            sizes.push(head.len());
        }
        assert!(
            sizes[2] <= sizes[0],
            "best {} > fast {}",
            sizes[2],
            sizes[0]
        );
    }

    #[test]
    fn the_default_compression_is_fast() {
        let a = args_with_defaults(&signature(), &[("path", s("x.png"))]);
        assert_eq!(a.str("compression"), Some(DEFAULT_COMPRESSION));
        assert!(matches!(
            settings(DEFAULT_COMPRESSION),
            (png::Compression::Fast, png::Filter::Up)
        ));
    }
}
