//! Gaussian accuracy against ffmpeg's gblur on the same picture: both are
//! compared with a precise floating-point Gaussian (sigma 8, edges
//! replicated), and Sluice's radius-16 blur must be at least as close.
//! Skips, saying so, when ffmpeg is not installed.

use sluice_nodes::kernels::blur::{blur_plane, BlurKind, Geometry, Passes, Scratch};
use sluice_runtime::testing::skip_unless_ci;
use std::process::Command;

const W: usize = 320;
const H: usize = 240;

fn scene() -> Vec<u8> {
    (0..W * H)
        .map(|i| {
            let (x, y) = (i % W, i / W);
            let checker = if (x / 9 + y / 7) % 2 == 0 { 60 } else { 0 };
            let (dx, dy) = (x as i64 - 160, y as i64 - 120);
            let disc = if dx * dx + dy * dy < 3600 { 100 } else { 0 };
            ((x + y) % 64 + checker + disc + (x * 7919 + y * 104_729) % 31) as u8
        })
        .collect()
}

fn reference(src: &[u8], sigma: f64) -> Vec<f64> {
    let taps = (5.0 * sigma).ceil() as i64;
    let k: Vec<f64> = (-taps..=taps)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let norm: f64 = k.iter().sum();
    let (w, h) = (W as i64, H as i64);
    let mut tmp = vec![0.0; W * H];
    for y in 0..h {
        for x in 0..w {
            let s: f64 = (-taps..=taps)
                .map(|i| {
                    k[(i + taps) as usize]
                        * f64::from(src[(y * w + (x + i).clamp(0, w - 1)) as usize])
                })
                .sum();
            tmp[(y * w + x) as usize] = s / norm;
        }
    }
    let mut out = vec![0.0; W * H];
    for y in 0..h {
        for x in 0..w {
            let s: f64 = (-taps..=taps)
                .map(|i| k[(i + taps) as usize] * tmp[((y + i).clamp(0, h - 1) * w + x) as usize])
                .sum();
            out[(y * w + x) as usize] = s / norm;
        }
    }
    out
}

fn psnr(a: &[u8], b: &[f64]) -> f64 {
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - y).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64.powi(2) / mse).log10()
}

#[test]
fn gaussian_is_at_least_as_accurate_as_ffmpeg_gblur() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip_unless_ci("ffmpeg not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (input, output) = (dir.path().join("in.gray"), dir.path().join("out.gray"));
    let src = scene();
    std::fs::write(&input, &src).expect("write input");
    let size = format!("{W}x{H}");
    let status = Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-s",
            &size,
            "-i",
        ])
        .arg(&input)
        .args(["-vf", "gblur=sigma=8", "-f", "rawvideo", "-pix_fmt", "gray"])
        .arg(&output)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg failed");
    let theirs = std::fs::read(&output).expect("ffmpeg output");
    assert_eq!(theirs.len(), W * H);
    let g = Geometry {
        width: W,
        height: H,
        stride: W,
        channels: 1,
    };
    let mut ours = vec![0u8; W * H];
    let passes = Passes::for_radius(BlurKind::Gaussian, 16.0);
    blur_plane(&src, &mut ours, g, passes, &mut [Scratch::new(W)]);
    let want = reference(&src, 8.0);
    let (p_ours, p_ffmpeg) = (psnr(&ours, &want), psnr(&theirs, &want));
    println!("PSNR against a precise Gaussian, sigma 8: sluice {p_ours:.1} dB, ffmpeg gblur {p_ffmpeg:.1} dB");
    assert!(
        p_ours >= 40.0 && p_ours >= p_ffmpeg,
        "sluice {p_ours:.1} dB, ffmpeg {p_ffmpeg:.1} dB"
    );
}
