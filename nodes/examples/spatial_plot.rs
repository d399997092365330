//! Draws docs/images/spatial_itd_ild.png: interaural time and level
//! differences against azimuth, measured from the HRIRs `spatialize` uses
//! (the builtin spherical-head model, and MIT KEMAR when installed), so the
//! docs show what the renderer actually does rather than the formulas; and
//! docs/images/spatial_elevation.png: the builtin model's right-ear
//! response straight ahead at several elevations.
//!
//! Usage: spatial_plot [ITD_ILD.png [ELEVATION.png]]

use sluice_nodes::spatial::hrir::HrirSet;
use std::fs::File;
use std::io::BufWriter;

const RATE: u32 = 48_000;
const KEMAR: &str = "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa";
const W: usize = 900;
const H: usize = 640;
const BLUE: [u8; 3] = [31, 96, 180];
const ORANGE: [u8; 3] = [230, 120, 20];
const GREY: [u8; 3] = [215, 215, 215];
const BLACK: [u8; 3] = [30, 30, 30];

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "docs/images/spatial_itd_ild.png".to_string());
    let out_el = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "docs/images/spatial_elevation.png".to_string());
    let mut sets = vec![("BUILTIN", BLUE, HrirSet::builtin(RATE))];
    match HrirSet::from_sofa(KEMAR, RATE) {
        Ok(k) => sets.push(("MIT KEMAR", ORANGE, k)),
        Err(e) => eprintln!("KEMAR left out: {e}"),
    }
    let mut img = Canvas::new();
    let itd = Panel {
        top: 40,
        bottom: 290,
        lo: -1.0,
        hi: 1.0,
        step: 0.5,
        log_x: None,
    };
    let ild = Panel {
        top: 350,
        bottom: 600,
        lo: -30.0,
        hi: 30.0,
        step: 10.0,
        log_x: None,
    };
    img.panel(&itd, "ITD (MS)");
    img.panel(&ild, "ILD (DB)");
    img.text(W / 2 - 60, H - 16, "AZIMUTH (DEG)", BLACK);
    for (k, (name, color, set)) in sets.iter().enumerate() {
        let cues: Vec<(f64, f64, f64)> = (-180..=180)
            .map(|az| {
                let (l, r) = set.at(f64::from(az), 0.0);
                (f64::from(az), itd_ms(&l, &r), ild_db(&l, &r))
            })
            .collect();
        for w in cues.windows(2) {
            img.line(&itd, (w[0].0, w[0].1), (w[1].0, w[1].1), *color);
            img.line(&ild, (w[0].0, w[0].2), (w[1].0, w[1].2), *color);
        }
        let y = 52 + 14 * k;
        img.fill(X0 + 12, y, 18, 6, *color);
        img.text(X0 + 36, y - 1, name, BLACK);
    }
    if let Err(e) = img.save(&out) {
        eprintln!("spatial_plot: {out}: {e}");
        std::process::exit(1);
    }
    println!("wrote {out}");
    for (name, _, set) in &sets {
        println!(
            "{name}: {} directions, {} taps",
            set.directions(),
            set.len()
        );
    }
    let img = elevation_plot(&sets[0].2);
    if let Err(e) = img.save(&out_el) {
        eprintln!("spatial_plot: {out_el}: {e}");
        std::process::exit(1);
    }
    println!("wrote {out_el}");
}

/// The builtin right-ear response straight ahead at -40, 0, 40 and 80
/// degrees of elevation, 200 Hz to 20 kHz, 1/3-octave smoothed.
fn elevation_plot(set: &HrirSet) -> Canvas {
    let mut img = Canvas::new();
    let panel = Panel {
        top: 40,
        bottom: 580,
        lo: -15.0,
        hi: 10.0,
        step: 5.0,
        log_x: Some((200.0, 20_000.0)),
    };
    img.panel(&panel, "RIGHT EAR (DB), AHEAD");
    img.text(W / 2 - 60, H - 16, "FREQUENCY (HZ)", BLACK);
    let colors = [[120, 120, 120], BLUE, [40, 160, 60], ORANGE];
    for (k, (el, color)) in [-40.0, 0.0, 40.0, 80.0].into_iter().zip(colors).enumerate() {
        let (_, r) = set.at(0.0, el);
        let curve: Vec<(f64, f64)> = (0..=120)
            .map(|i| {
                let f = 200.0 * 100f64.powf(i as f64 / 120.0);
                (f, smoothed_db(&r, f))
            })
            .collect();
        for w in curve.windows(2) {
            img.line(&panel, w[0], w[1], color);
        }
        let y = 52 + 14 * k;
        img.fill(X0 + 12, y, 18, 6, color);
        img.text(X0 + 36, y - 1, &format!("{el:.0} DEG"), BLACK);
    }
    img
}

/// Power response of `h` in dB averaged over a third of an octave around `f`.
fn smoothed_db(h: &[f32], f: f64) -> f64 {
    let (lo, hi) = (f * 2f64.powf(-1.0 / 6.0), f * 2f64.powf(1.0 / 6.0));
    let n = 24;
    let p: f64 = (0..n)
        .map(|i| {
            let fr = lo * (hi / lo).powf(i as f64 / (n - 1) as f64);
            let w = 2.0 * std::f64::consts::PI * fr / f64::from(RATE);
            let (re, im) = h.iter().enumerate().fold((0.0, 0.0), |(re, im), (k, &v)| {
                let a = w * k as f64;
                (re + f64::from(v) * a.cos(), im - f64::from(v) * a.sin())
            });
            re * re + im * im
        })
        .sum::<f64>()
        / n as f64;
    10.0 * p.max(1e-12).log10()
}

/// How much later the left ear hears than the right, in ms (peak of the
/// cross-correlation, refined by a parabola).
fn itd_ms(left: &[f32], right: &[f32]) -> f64 {
    let corr = |lag: i64| -> f64 {
        (0..right.len() as i64)
            .filter_map(|i| {
                let j = i + lag;
                (0..left.len() as i64)
                    .contains(&j)
                    .then(|| f64::from(right[i as usize]) * f64::from(left[j as usize]))
            })
            .sum()
    };
    let max = 48;
    let best = (-max..=max)
        .max_by(|&a, &b| corr(a).total_cmp(&corr(b)))
        .unwrap_or(0);
    let (a, b, c) = (corr(best - 1), corr(best), corr(best + 1));
    let denom = a - 2.0 * b + c;
    let shift = if denom.abs() > 1e-12 {
        0.5 * (a - c) / denom
    } else {
        0.0
    };
    (best as f64 + shift) * 1e3 / f64::from(RATE)
}

/// Broadband (white-noise) level of the right ear over the left, in dB.
fn ild_db(left: &[f32], right: &[f32]) -> f64 {
    let e = |x: &[f32]| x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>();
    10.0 * (e(right) / e(left)).log10()
}

const X0: usize = 70;
const X1: usize = W - 30;

/// A plot area: pixel rows and the value range it shows; x is azimuth
/// (-180..180) or, with `log_x`, a logarithmic frequency range.
struct Panel {
    top: usize,
    bottom: usize,
    lo: f64,
    hi: f64,
    step: f64,
    log_x: Option<(f64, f64)>,
}

impl Panel {
    fn x(&self, v: f64) -> f64 {
        let t = match self.log_x {
            Some((a, b)) => (v / a).ln() / (b / a).ln(),
            None => (v + 180.0) / 360.0,
        };
        X0 as f64 + t * (X1 - X0) as f64
    }

    /// Where vertical grid lines go, with their labels.
    fn x_ticks(&self) -> Vec<(f64, String)> {
        match self.log_x {
            Some(_) => [200, 500, 1000, 2000, 5000, 10_000, 20_000]
                .map(|f| (f64::from(f), f.to_string()))
                .to_vec(),
            None => (-180..=180)
                .step_by(30)
                .map(|az| (f64::from(az), az.to_string()))
                .collect(),
        }
    }

    fn y(&self, v: f64) -> f64 {
        let v = v.clamp(self.lo, self.hi);
        self.bottom as f64 - (v - self.lo) / (self.hi - self.lo) * (self.bottom - self.top) as f64
    }
}

/// An RGB image with just enough drawing for a line plot.
struct Canvas(Vec<u8>);

impl Canvas {
    fn new() -> Canvas {
        Canvas(vec![255; W * H * 3])
    }

    fn put(&mut self, x: usize, y: usize, c: [u8; 3]) {
        if x < W && y < H {
            let i = (y * W + x) * 3;
            self.0[i..i + 3].copy_from_slice(&c);
        }
    }

    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, c: [u8; 3]) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.put(xx, yy, c);
            }
        }
    }

    /// Axes, grid lines (every 30 degrees or at round frequencies, and
    /// every `step`), and labels.
    fn panel(&mut self, p: &Panel, title: &str) {
        for (v, label) in p.x_ticks() {
            let x = p.x(v).round() as usize;
            self.fill(x, p.top, 1, p.bottom - p.top, GREY);
            self.text(x - label.len() * 3, p.bottom + 6, &label, BLACK);
        }
        let mut v = p.lo;
        while v <= p.hi + 1e-9 {
            let y = p.y(v).round() as usize;
            self.fill(X0, y, X1 - X0, 1, if v == 0.0 { BLACK } else { GREY });
            let label = if p.step < 1.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.0}")
            };
            self.text(X0 - 8 - label.len() * 6, y - 3, &label, BLACK);
            v += p.step;
        }
        self.fill(X0, p.top, 1, p.bottom - p.top, BLACK);
        self.fill(X0, p.bottom, X1 - X0, 1, BLACK);
        self.text(X0, p.top - 14, title, BLACK);
    }

    /// A line two pixels thick between two (azimuth, value) points.
    fn line(&mut self, p: &Panel, a: (f64, f64), b: (f64, f64), c: [u8; 3]) {
        let (x0, y0, x1, y1) = (p.x(a.0), p.y(a.1), p.x(b.0), p.y(b.1));
        let n = ((x1 - x0).abs().max((y1 - y0).abs()) * 2.0).ceil().max(1.0) as usize;
        for i in 0..=n {
            let t = i as f64 / n as f64;
            let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            self.fill(x.round() as usize, y.round() as usize, 2, 2, c);
        }
    }

    /// Text in a 5x7 pixel font (upper case, digits, a few signs).
    fn text(&mut self, x: usize, y: usize, s: &str, c: [u8; 3]) {
        for (k, ch) in s.chars().enumerate() {
            let rows = glyph(ch);
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0b10000 >> col) != 0 {
                        self.put(x + k * 6 + col, y + r, c);
                    }
                }
            }
        }
    }

    fn save(&self, path: &str) -> Result<(), Box<dyn std::error::Error>> {
        let mut enc = png::Encoder::new(BufWriter::new(File::create(path)?), W as u32, H as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()?.write_image_data(&self.0)?;
        Ok(())
    }
}

/// Rows of a 5x7 glyph, high bit leftmost.
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        '(' => [2, 4, 8, 8, 8, 4, 2],
        ')' => [8, 4, 2, 2, 2, 4, 8],
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'B' => [30, 17, 17, 30, 17, 17, 30],
        'D' => [28, 18, 17, 17, 17, 18, 28],
        'E' => [31, 16, 16, 30, 16, 16, 31],
        'F' => [31, 16, 16, 30, 16, 16, 16],
        ',' => [0, 0, 0, 0, 12, 4, 8],
        'O' => [14, 17, 17, 17, 17, 17, 14],
        'Q' => [14, 17, 17, 17, 21, 18, 13],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'Y' => [17, 17, 10, 4, 4, 4, 4],
        'G' => [14, 17, 16, 23, 17, 17, 15],
        'H' => [17, 17, 17, 31, 17, 17, 17],
        'I' => [14, 4, 4, 4, 4, 4, 14],
        'K' => [17, 18, 20, 24, 20, 18, 17],
        'L' => [16, 16, 16, 16, 16, 16, 31],
        'M' => [17, 27, 21, 21, 17, 17, 17],
        'N' => [17, 17, 25, 21, 19, 17, 17],
        'R' => [30, 17, 17, 30, 20, 18, 17],
        'S' => [15, 16, 16, 14, 1, 1, 30],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        'U' => [17, 17, 17, 17, 17, 17, 14],
        'Z' => [31, 1, 2, 4, 8, 16, 31],
        _ => [0; 7],
    }
}
