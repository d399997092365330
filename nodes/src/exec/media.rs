//! The bytes on the pipes: PCM samples and Y4M framing.

use sluice_dsl::VideoType;

/// PCM sample format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pcm {
    /// Signed 16-bit little-endian.
    S16le,
    /// 32-bit float little-endian.
    F32le,
}

impl Pcm {
    /// From the `format` argument.
    pub fn of(name: Option<&str>) -> Pcm {
        match name {
            Some("f32le") => Pcm::F32le,
            _ => Pcm::S16le,
        }
    }

    /// Bytes per sample.
    pub fn width(self) -> usize {
        match self {
            Pcm::S16le => 2,
            Pcm::F32le => 4,
        }
    }

    /// The name in SLUICE_FORMAT.
    pub fn name(self) -> &'static str {
        match self {
            Pcm::S16le => "s16le",
            Pcm::F32le => "f32le",
        }
    }

    /// Appends `samples` encoded to `out`.
    pub fn encode(self, samples: &[f32], out: &mut Vec<u8>) {
        match self {
            Pcm::S16le => {
                for s in samples {
                    let v = (s * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16;
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            Pcm::F32le => {
                for s in samples {
                    out.extend_from_slice(&s.to_le_bytes());
                }
            }
        }
    }

    /// Decodes whole samples of `bytes` into `out` (as many as both hold);
    /// returns how many.
    pub fn decode(self, bytes: &[u8], out: &mut [f32]) -> usize {
        let w = self.width();
        let mut n = 0;
        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(w)) {
            *o = match self {
                Pcm::S16le => i16::from_le_bytes([b[0], b[1]]) as f32 / 32_768.0,
                Pcm::F32le => {
                    let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    if v.is_finite() {
                        v.clamp(-4.0, 4.0)
                    } else {
                        0.0
                    }
                }
            };
            n += 1;
        }
        n
    }
}

/// Native-endian `f32` samples from a packet's bytes.
pub fn samples_of(bytes: &[u8], out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *o = f32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    }
}

/// A packet's bytes from `f32` samples.
pub fn bytes_of(samples: &[f32], out: &mut [u8]) {
    for (o, s) in out.chunks_exact_mut(4).zip(samples) {
        o.copy_from_slice(&s.to_ne_bytes());
    }
}

/// The Y4M stream header for `v` (i420, as `y4m_out` writes it).
pub fn y4m_header(v: VideoType) -> String {
    format!(
        "YUV4MPEG2 W{} H{} F{}:{} Ip A1:1 C420jpeg\n",
        v.width, v.height, v.fps.0, v.fps.1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_round_trips_within_its_precision() {
        let x = [0.0, 0.5, -0.5, 0.999, -1.0, 2.0];
        for (fmt, tol) in [(Pcm::S16le, 1.0 / 32_768.0), (Pcm::F32le, 0.0)] {
            let mut bytes = Vec::new();
            fmt.encode(&x, &mut bytes);
            assert_eq!(bytes.len(), x.len() * fmt.width());
            let mut back = [0.0; 6];
            assert_eq!(fmt.decode(&bytes, &mut back), 6);
            for (a, b) in x[..5].iter().zip(&back[..5]) {
                assert!((a - b).abs() <= tol, "{fmt:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn hostile_floats_from_a_program_are_made_safe() {
        let mut bytes = Vec::new();
        for v in [f32::NAN, f32::INFINITY, 1e30] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let mut out = [9.0; 3];
        Pcm::F32le.decode(&bytes, &mut out);
        assert_eq!(out, [0.0, 0.0, 4.0]);
    }
}
