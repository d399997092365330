//! Y4M stream headers: read and validated by hand before the `y4m` crate
//! sees them, so a hostile header (a 100000x100000 frame, sizes that
//! overflow, an unsupported colour space) is a clear error before anything
//! is allocated. Standard input's header is read once per process and
//! cached, so `check` and `build` agree and frames follow on the same pipe.

use super::{MAX_PIXELS, MAX_SIDE};
use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::sync::OnceLock;

/// Longest header line accepted (the `y4m` crate's own limit).
pub const MAX_HEADER: usize = 1024;

/// A validated Y4M stream header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames per second as `num/den`.
    pub fps: (u32, u32),
    /// Luma only (`Cmono`): read as i420 with neutral chroma.
    pub mono: bool,
    /// The header line as read, newline included (replayed to the decoder).
    pub bytes: Vec<u8>,
}

impl Header {
    /// Bytes of one frame's picture data in the file.
    pub fn frame_bytes(&self) -> usize {
        let (w, h) = (self.width as usize, self.height as usize);
        if self.mono {
            w * h
        } else {
            w * h + 2 * w.div_ceil(2) * h.div_ceil(2)
        }
    }
}

/// Reads a header line from `r` one byte at a time (so nothing after the
/// line is consumed) and validates it; `name` labels errors.
pub fn read_header(r: &mut impl Read, name: &str) -> Result<Header, String> {
    let mut line = Vec::with_capacity(64);
    let mut byte = [0u8; 1];
    loop {
        let n = r
            .read(&mut byte)
            .map_err(|e| format!("{name}: cannot read: {e}"))?;
        if n == 0 {
            return Err(if line.is_empty() {
                format!("{name}: empty input, not a Y4M stream")
            } else {
                format!("{name}: Y4M header is cut short (no end of line)")
            });
        }
        line.push(byte[0]);
        if byte[0] == b'\n' {
            return parse_header(line, name);
        }
        if line.len() >= MAX_HEADER {
            return Err(format!(
                "{name}: Y4M header line is longer than {MAX_HEADER} bytes"
            ));
        }
        if line.len() == 10 && &line[..] != b"YUV4MPEG2 " {
            return Err(not_y4m(name));
        }
    }
}

fn not_y4m(name: &str) -> String {
    format!("{name}: not a Y4M file (it does not start with `YUV4MPEG2 `)")
}

fn parse_num(field: &[u8], name: &str) -> Result<u32, String> {
    std::str::from_utf8(&field[1..])
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .ok_or_else(|| {
            format!(
                "{name}: bad Y4M header field `{}`",
                String::from_utf8_lossy(field)
            )
        })
}

fn parse_ratio(field: &[u8], name: &str) -> Result<(u32, u32), String> {
    let text = std::str::from_utf8(&field[1..]).unwrap_or("");
    let bad = || {
        format!(
            "{name}: bad Y4M frame rate `{}`",
            String::from_utf8_lossy(field)
        )
    };
    let (n, d) = text.split_once(':').ok_or_else(bad)?;
    let (n, d) = (
        n.parse::<u32>().map_err(|_| bad())?,
        d.parse::<u32>().map_err(|_| bad())?,
    );
    if n == 0 || d == 0 {
        return Err(bad());
    }
    Ok((n, d))
}

/// Validates a header line (newline included).
pub fn parse_header(line: Vec<u8>, name: &str) -> Result<Header, String> {
    let body = line
        .strip_prefix(b"YUV4MPEG2 ")
        .ok_or_else(|| not_y4m(name))?;
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    let (mut w, mut h, mut fps, mut mono) = (None, None, (25, 1), false);
    for field in body.split(|&b| b == b' ').filter(|f| !f.is_empty()) {
        match field[0] {
            b'W' => w = Some(parse_num(field, name)?),
            b'H' => h = Some(parse_num(field, name)?),
            b'F' => fps = parse_ratio(field, name)?,
            b'C' => {
                mono = match &field[1..] {
                    b"420" | b"420jpeg" | b"420paldv" | b"420mpeg2" => false,
                    b"mono" => true,
                    other => {
                        return Err(format!(
                            "{name}: colour space C{} is not supported (8-bit 4:2:0 or mono \
                             only); convert with ffmpeg -pix_fmt yuv420p",
                            String::from_utf8_lossy(other)
                        ))
                    }
                }
            }
            _ => {}
        }
    }
    let (Some(width), Some(height)) = (w, h) else {
        return Err(format!("{name}: Y4M header has no frame size (W and H)"));
    };
    if width == 0 || height == 0 {
        return Err(format!("{name}: Y4M frame size {width}x{height} is empty"));
    }
    if width > MAX_SIDE || height > MAX_SIDE || width as usize * height as usize > MAX_PIXELS {
        return Err(format!(
            "{name}: Y4M frame size {width}x{height} is over the limit ({MAX_SIDE} a side, {} Mpx)",
            MAX_PIXELS >> 20
        ));
    }
    Ok(Header {
        width,
        height,
        fps,
        mono,
        bytes: line,
    })
}

/// A fresh handle on standard input that reads the raw pipe (no buffer
/// shared with `std::io::stdin`, so no bytes go missing between readers).
pub fn stdin_file() -> Result<File, String> {
    std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|e| format!("stdin: cannot open: {e}"))
}

/// Standard input's header, read on first use and cached for the process.
pub fn stdin_header() -> Result<Header, String> {
    static HEADER: OnceLock<Result<Header, String>> = OnceLock::new();
    HEADER
        .get_or_init(|| read_header(&mut stdin_file()?, "stdin"))
        .clone()
}

/// Probes a path's header at check time: `Ok(None)` when the file does not
/// exist (a warning then), an error when it exists but is not usable.
pub fn probe(path: &str) -> Result<Option<Header>, String> {
    if path == "-" {
        return stdin_header().map(Some);
    }
    match File::open(path) {
        Ok(f) => read_header(&mut std::io::BufReader::new(f), path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{path}: cannot open: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Header, String> {
        read_header(&mut s.as_bytes(), "t.y4m")
    }

    #[test]
    fn reads_ffmpeg_headers() {
        let h = parse("YUV4MPEG2 W320 H180 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG\nFRAME")
            .unwrap();
        assert_eq!(
            (h.width, h.height, h.fps, h.mono),
            (320, 180, (30000, 1001), false)
        );
        assert!(h.bytes.ends_with(b"420JPEG\n"));
        assert!(parse("YUV4MPEG2 W4 H2 F25:1 Cmono\n").unwrap().mono);
        assert_eq!(
            parse("YUV4MPEG2 W5 H3\n").unwrap().frame_bytes(),
            15 + 2 * 3 * 2
        );
    }

    #[test]
    fn refuses_bad_headers_with_clear_words() {
        let cases = [
            ("", "empty input"),
            ("RIFF....WAVE", "not a Y4M file"),
            (
                "YUV4MPEG2 W100000 H100000 F30:1\n",
                "100000x100000 is over the limit",
            ),
            ("YUV4MPEG2 W0 H10 F30:1\n", "is empty"),
            ("YUV4MPEG2 H10 F30:1\n", "no frame size"),
            (
                "YUV4MPEG2 W99999999999 H10\n",
                "bad Y4M header field `W99999999999`",
            ),
            ("YUV4MPEG2 W10 H10 F30:0\n", "bad Y4M frame rate"),
            ("YUV4MPEG2 W10 H10 C444\n", "C444 is not supported"),
            ("YUV4MPEG2 W10 H10 C420p10\n", "ffmpeg -pix_fmt yuv420p"),
            ("YUV4MPEG2 W10 H10", "cut short"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(err.starts_with("t.y4m: "), "{err}");
        }
        let long = format!("YUV4MPEG2 W10 H10 X{}\n", "a".repeat(2000));
        assert!(parse(&long).unwrap_err().contains("longer than 1024"));
    }
}
