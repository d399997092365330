//! `image_in(path, fps)`: a still PNG as an endless RGBA video (slides for
//! a screen share). Any PNG colour type and bit depth is decoded to 8-bit
//! RGBA; the size is checked before anything is allocated.

use super::{fps_fraction, video_port, MAX_PIXELS, MAX_SIDE};
use crate::sig::{always, output, param, quantity, required, signature as sig};
use sluice_dsl::{
    Arg, Args, MediaType, OutType, ParamType, PixelFormat, Ports, Role, Signature, UnitKind,
    VideoType,
};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};
use std::fs::File;
use std::io::BufReader;

/// The `image_in` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "image_in",
        "Shows a PNG image as RGBA video at `fps`, the same picture every \
         frame, without end (screen sharing of slides). Any PNG colour type and \
         bit depth is accepted.",
        Role::VideoSource,
        ports,
    );
    s.params = vec![
        required("path", ParamType::Path, "PNG file"),
        param(
            "fps",
            quantity(UnitKind::Fps, 0.1, 1000.0),
            Arg::Num(30.0),
            "Frame rate",
        ),
    ];
    s.io = true;
    s.endless = always;
    s
}

fn decoder(path: &str) -> Result<png::Decoder<BufReader<File>>, std::io::Error> {
    let f = File::open(path)?;
    let mut d = png::Decoder::new_with_limits(
        BufReader::new(f),
        png::Limits {
            bytes: MAX_PIXELS * 8,
        },
    );
    d.set_transformations(png::Transformations::normalize_to_color8());
    Ok(d)
}

/// The size a PNG declares, checked against the limits.
fn probe_size(path: &str) -> Result<Option<(u32, u32)>, String> {
    let mut d = match decoder(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{path}: cannot open: {e}")),
    };
    let info = d
        .read_header_info()
        .map_err(|e| format!("{path}: not a readable PNG: {e}"))?;
    check_size(path, info.width, info.height).map(Some)
}

fn check_size(path: &str, w: u32, h: u32) -> Result<(u32, u32), String> {
    if w == 0 || h == 0 {
        return Err(format!("{path}: PNG size {w}x{h} is empty"));
    }
    if w > MAX_SIDE || h > MAX_SIDE || w as usize * h as usize > MAX_PIXELS {
        return Err(format!(
            "{path}: PNG size {w}x{h} is over the limit ({MAX_SIDE} a side, {} Mpx)",
            MAX_PIXELS >> 20
        ));
    }
    Ok((w, h))
}

fn ports(args: &Args) -> Result<Ports, String> {
    let path = args.need_str("path")?;
    let fps = fps_fraction(args.need_num("fps")?);
    let (size, warnings) = match probe_size(path)? {
        Some(s) => (s, Vec::new()),
        None => (
            (1280, 720),
            vec![format!("{path} does not exist yet; its size is unknown")],
        ),
    };
    let ty = VideoType {
        format: PixelFormat::Rgba,
        width: size.0,
        height: size.1,
        fps,
    };
    Ok(Ports {
        inputs: Vec::new(),
        outputs: vec![output("out", OutType::Fixed(MediaType::Video(ty)))],
        warnings,
        ..Ports::default()
    })
}

/// Decodes a PNG file to RGBA: `(width, height, pixels)`.
pub fn decode_png(path: &str) -> Result<(u32, u32, Vec<u8>), String> {
    let d = decoder(path).map_err(|e| format!("{path}: cannot open: {e}"))?;
    let bad = |e: png::DecodingError| format!("{path}: not a readable PNG: {e}");
    let mut reader = d.read_info().map_err(bad)?;
    let (w, h) = {
        let i = reader.info();
        check_size(path, i.width, i.height)?
    };
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| format!("{path}: PNG too large"))?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(bad)?;
    let px = w as usize * h as usize;
    let mut rgba = vec![255u8; px * 4];
    let line = info.line_size;
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(format!("{path}: palette was not expanded")),
    };
    for y in 0..h as usize {
        let row = &buf[y * line..y * line + w as usize * channels];
        for (x, s) in row.chunks_exact(channels).enumerate() {
            let d = &mut rgba[(y * w as usize + x) * 4..][..4];
            match channels {
                1 => d[..3].fill(s[0]),
                2 => {
                    d[..3].fill(s[0]);
                    d[3] = s[1];
                }
                3 => d[..3].copy_from_slice(s),
                _ => d.copy_from_slice(s),
            }
        }
    }
    Ok((w, h, rgba))
}

/// Builds an `image_in` node: decodes the picture once.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let path = ctx.args.need_str("path")?;
    let (w, h, rgba) = decode_png(path).map_err(NodeError::new)?;
    let planned = video_port(ctx.outputs, 0)?;
    if (planned.width, planned.height) != (w, h) {
        return Err(NodeError::new(format!(
            "{path}: is {w}x{h} now but was {}x{} when the graph was checked",
            planned.width, planned.height
        )));
    }
    Ok(Box::new(ImageIn { rgba }))
}

/// Repeats the decoded picture.
struct ImageIn {
    rgba: Vec<u8>,
}

impl Node for ImageIn {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        io.video_out(0).data_mut().copy_from_slice(&self.rgba);
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, s};
    use sluice_runtime::testing::NodeHarness;

    fn write_png(
        path: &std::path::Path,
        w: u32,
        h: u32,
        ct: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
    ) {
        let f = File::create(path).unwrap();
        let mut e = png::Encoder::new(std::io::BufWriter::new(f), w, h);
        e.set_color(ct);
        e.set_depth(depth);
        if ct == png::ColorType::Indexed {
            e.set_palette(vec![255, 0, 0, 0, 0, 255]);
        }
        e.write_header().unwrap().write_image_data(data).unwrap();
    }

    fn first_pixel(path: &str) -> [u8; 4] {
        let a = args_with_defaults(&signature(), &[("path", s(path))]);
        let mut n = NodeHarness::of(signature(), build)
            .args(a.clone())
            .build()
            .unwrap();
        assert_eq!(n.run(&[]), Flow::Continue);
        n.video(0).plane(0)[..4].try_into().unwrap()
    }

    #[test]
    fn decodes_every_colour_type_and_depth_to_rgba() {
        use png::{BitDepth::*, ColorType::*};
        let dir = tempfile::tempdir().unwrap();
        let cases: Vec<(png::ColorType, png::BitDepth, Vec<u8>, [u8; 4])> = vec![
            (Grayscale, Eight, vec![77; 4], [77, 77, 77, 255]),
            (Grayscale, One, vec![0b1000_0000; 2], [255, 255, 255, 255]),
            (
                Grayscale,
                Sixteen,
                [0x80, 0x01].repeat(4),
                [128, 128, 128, 255],
            ),
            (GrayscaleAlpha, Eight, [10, 20].repeat(4), [10, 10, 10, 20]),
            (Rgb, Eight, [1, 2, 3].repeat(4), [1, 2, 3, 255]),
            (
                Rgb,
                Sixteen,
                [0xFF, 0, 0, 0, 0x10, 0].repeat(4),
                [255, 0, 16, 255],
            ),
            (Rgba, Eight, [9, 8, 7, 6].repeat(4), [9, 8, 7, 6]),
            (Indexed, Eight, vec![1, 0, 0, 1], [0, 0, 255, 255]),
        ];
        for (i, (ct, depth, data, want)) in cases.into_iter().enumerate() {
            let p = dir.path().join(format!("{i}.png"));
            write_png(&p, 2, 2, ct, depth, &data);
            assert_eq!(first_pixel(&p.to_string_lossy()), want, "{ct:?} {depth:?}");
        }
    }

    #[test]
    fn absurd_and_broken_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        // A valid signature and IHDR claiming 100000 x 100000.
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        let crc = crc32(&ihdr);
        let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
        data.extend_from_slice(&13u32.to_be_bytes());
        data.extend_from_slice(&ihdr);
        data.extend_from_slice(&crc.to_be_bytes());
        let p = dir.path().join("huge.png");
        std::fs::write(&p, &data).unwrap();
        let ps = p.to_string_lossy().into_owned();
        let err = (signature().ports)(&args_with_defaults(&signature(), &[("path", s(&ps))]))
            .unwrap_err();
        assert!(err.contains("100000x100000 is over the limit"), "{err}");
        let p = dir.path().join("junk.png");
        std::fs::write(&p, b"not a png at all").unwrap();
        let ps = p.to_string_lossy().into_owned();
        let err = (signature().ports)(&args_with_defaults(&signature(), &[("path", s(&ps))]))
            .unwrap_err();
        assert!(
            err.starts_with(&ps) && err.contains("not a readable PNG"),
            "{err}"
        );
        // Truncated image data fails at build with the path named.
        let p = dir.path().join("cut.png");
        write_png(
            &p,
            64,
            64,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            &vec![7; 64 * 64 * 3],
        );
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.truncate(bytes.len() - 40);
        std::fs::write(&p, &bytes).unwrap();
        let err = decode_png(&p.to_string_lossy()).unwrap_err();
        assert!(err.contains("cut.png"), "{err}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn is_endless_and_warns_when_missing() {
        let sig = signature();
        assert!((sig.endless)(&args_with_defaults(
            &sig,
            &[("path", s("x.png"))]
        )));
        let ports = (sig.ports)(&args_with_defaults(
            &sig,
            &[("path", s("/nonexistent.png"))],
        ))
        .unwrap();
        assert!(ports.warnings[0].contains("does not exist"));
    }
}
