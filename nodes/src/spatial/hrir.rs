//! Head-related impulse responses on a grid of directions over the
//! sphere, computed or loaded at build so `process` only blends them: from
//! Brown and Duda's structural model (`builtin`: spherical head, shoulder
//! echo, pinna echoes) or from a measured SOFA set (resampled to the graph
//! rate by `sofar`).
//!
//! Directions lie on rings of equal elevation; a direction between them is
//! the bilinear blend of the two nearest measurements on each of the two
//! rings around it (see [`Grid::weights`]).
//!
//! Conventions everywhere in Sluice: azimuth 0 degrees straight ahead,
//! positive to the listener's right; elevation positive up. SOFA uses x
//! forward, y left, z up, so a Sluice direction `(a, e)` is the SOFA point
//! `(cos e cos a, -cos e sin a, sin e)`.

use super::equalizer;
use sluice_runtime::NodeError;
use std::f64::consts::PI;

/// Longest HRIR accepted, in taps at the graph rate: measured HRIRs are a
/// few hundred taps; anything far longer is a room response, which would
/// make the precomputed filter bank absurdly large.
pub const MAX_TAPS: usize = 4096;

/// Most directions accepted from a SOFA file (the filter bank holds every
/// one's spectra; dense research sets have a few thousand).
const MAX_DIRECTIONS: usize = 20_000;

/// Largest SOFA file read (bytes), checked before reading it whole.
const MAX_FILE_BYTES: u64 = 256 << 20;

/// Half-width of the windowed-sinc fractional delay, in samples.
const SINC_HALF: usize = 16;

/// Head radius of the spherical-head model (m): Brown and Duda's average.
pub const HEAD_RADIUS: f64 = 0.0875;

/// Speed of sound (m/s) at room temperature.
pub const SPEED_OF_SOUND: f64 = 343.0;

/// Head-shadow gain at Nyquist for a source opposite the ear (Brown and Duda).
const ALPHA_MIN: f64 = 0.1;

/// Angle from the ear where the shadow is deepest (Brown and Duda: 150 degrees).
const THETA_MIN: f64 = 150.0 * PI / 180.0;

/// Brown and Duda's pinna echoes (1998, table I): reflection coefficient,
/// then `A`, `B` (samples at 44.1 kHz) and `D` of the delay
/// `A cos(theta / 2) sin(D (90deg - phi)) + B`, theta the azimuth and phi
/// the elevation. The coefficients sum to zero: the pinna passes DC.
const PINNA: [(f64, f64, f64, f64); 5] = [
    (0.5, 1.0, 2.0, 1.0),
    (-1.0, 5.0, 4.0, 0.5),
    (0.5, 5.0, 7.0, 0.5),
    (-0.25, 5.0, 11.0, 0.5),
    (0.25, 5.0, 13.0, 0.5),
];

/// The rate the pinna delays are given at.
const PINNA_RATE: f64 = 44_100.0;

/// Shoulder reflection coefficient for sources above the horizon.
const SHOULDER_GAIN: f64 = 0.3;

/// Height of the ear over the shoulder (m): the shoulder echo is an image
/// source in a horizontal plane this far below the ear.
const SHOULDER_DROP: f64 = 0.2;

/// Elevation (degrees) below which the torso shadows rather than
/// reflects: the shoulder echo fades out between 0 and this.
const SHOULDER_FADE: f64 = -30.0;

/// Ring spacing of the builtin grid (degrees of elevation, -90..=90).
const BUILTIN_ELEVATION_STEP: f64 = 10.0;

/// Azimuth spacing on the builtin grid's rings (degrees).
const BUILTIN_AZIMUTH_STEP: f64 = 5.0;

/// Up to four directions of a set and their weights (unused ones weigh 0).
pub type Weights = [(usize, f32); 4];

/// Where a set's directions lie: rings of equal elevation, each sorted by
/// azimuth.
#[derive(Debug, Clone)]
pub struct Grid {
    rings: Vec<Ring>,
}

#[derive(Debug, Clone)]
struct Ring {
    elevation: f64,
    /// (azimuth in degrees within -180..180, direction index), sorted.
    points: Vec<(f64, usize)>,
}

impl Grid {
    /// Groups directions `(azimuth, elevation)` in degrees, index by
    /// index, into rings of equal elevation (within 0.05 degrees).
    pub fn new(points: &[(f64, f64)]) -> Grid {
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by(|&a, &b| points[a].1.total_cmp(&points[b].1));
        let mut rings: Vec<Ring> = Vec::new();
        for i in order {
            let (az, el) = points[i];
            let az = wrap(az);
            match rings.last_mut() {
                Some(r) if (el - r.elevation).abs() < 0.05 => r.points.push((az, i)),
                _ => rings.push(Ring {
                    elevation: el,
                    points: vec![(az, i)],
                }),
            }
        }
        for r in &mut rings {
            r.points.sort_by(|a, b| a.0.total_cmp(&b.0));
            r.points.dedup_by(|a, b| (a.0 - b.0).abs() < 1e-3);
            if r.elevation.abs() > 89.95 {
                // At a pole every azimuth is the same direction.
                r.points.truncate(1);
            }
        }
        Grid { rings }
    }

    /// A regular grid: rings every `el_step` degrees from -90 to 90, each
    /// with a direction every `az_step` degrees (one at each pole).
    fn regular(el_step: f64, az_step: f64) -> Vec<(f64, f64)> {
        let rings = (180.0 / el_step).round() as i64;
        let per_ring = (360.0 / az_step).round() as i64;
        let mut points = Vec::new();
        for k in 0..=rings {
            let el = -90.0 + 180.0 * k as f64 / rings as f64;
            if el.abs() > 89.95 {
                points.push((0.0, el));
                continue;
            }
            for j in 0..per_ring {
                points.push((wrap(360.0 * j as f64 / per_ring as f64), el));
            }
        }
        points
    }

    /// Whether the rings are dense enough to blend along and between:
    /// no azimuth gap over 45 degrees on a ring off the poles, no more
    /// than 30 degrees between neighbouring rings.
    fn dense(&self) -> bool {
        let rings_close = self
            .rings
            .windows(2)
            .all(|w| w[1].elevation - w[0].elevation <= 30.0);
        let rings_full = self.rings.iter().all(|r| {
            if r.elevation.abs() > 89.95 {
                return true;
            }
            let (Some(first), Some(last)) = (r.points.first(), r.points.last()) else {
                return false;
            };
            let widest = r
                .points
                .windows(2)
                .map(|w| w[1].0 - w[0].0)
                .fold(first.0 + 360.0 - last.0, f64::max);
            r.points.len() >= 8 && widest <= 45.0
        });
        !self.rings.is_empty() && rings_close && rings_full
    }

    /// The directions to blend for `(azimuth, elevation)` in degrees:
    /// linear between the two rings around the elevation (clamped to the
    /// lowest and highest ring) and, on each ring, linear between the two
    /// directions around the azimuth. Allocation-free.
    pub fn weights(&self, azimuth: f64, elevation: f64) -> Weights {
        let mut w = [(0, 0.0); 4];
        let n = self.rings.len();
        if n == 0 {
            return w;
        }
        let k = self.rings.partition_point(|r| r.elevation <= elevation);
        let (lo, hi, t) = if k == 0 {
            (0, 0, 0.0)
        } else if k == n {
            (n - 1, n - 1, 0.0)
        } else {
            let (a, b) = (self.rings[k - 1].elevation, self.rings[k].elevation);
            match (elevation - a) / (b - a) {
                0.0 => (k - 1, k - 1, 0.0),
                t => (k - 1, k, t),
            }
        };
        let az = wrap(azimuth);
        let (a, b) = self.rings[lo].around(az, 1.0 - t);
        let (c, d) = self.rings[hi].around(az, t);
        w[0] = a;
        w[1] = b;
        w[2] = c;
        w[3] = d;
        w
    }
}

impl Ring {
    /// The two directions of the ring around azimuth `az` with their
    /// weights, scaled by `scale`.
    fn around(&self, az: f64, scale: f64) -> ((usize, f32), (usize, f32)) {
        if self.points.len() == 1 {
            return ((self.points[0].1, scale as f32), (self.points[0].1, 0.0));
        }
        let ((a, b), t) = bracket(&self.points, az);
        ((a, ((1.0 - t) * scale) as f32), (b, (t * scale) as f32))
    }
}

/// An azimuth in degrees folded into -180..180.
fn wrap(az: f64) -> f64 {
    let a = (az + 180.0).rem_euclid(360.0) - 180.0;
    if a >= 180.0 {
        a - 360.0
    } else {
        a
    }
}

/// Left and right HRIRs for every direction of a grid, `len` taps each.
#[derive(Debug, Clone)]
pub struct HrirSet {
    len: usize,
    left: Vec<f32>,
    right: Vec<f32>,
    grid: Grid,
    /// Whether distance should bring the near-field level difference (the
    /// builtin model; measured sets carry their own).
    near_field: bool,
}

impl HrirSet {
    /// Taps per HRIR.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set has no taps (never true for a built set).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of directions.
    pub fn directions(&self) -> usize {
        self.left.len() / self.len.max(1)
    }

    /// Where the directions lie.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Whether distance adds the near-field level difference.
    pub fn near_field(&self) -> bool {
        self.near_field
    }

    /// The left ear's HRIR for direction `dir`.
    pub fn left(&self, dir: usize) -> &[f32] {
        &self.left[dir * self.len..(dir + 1) * self.len]
    }

    /// The right ear's HRIR for direction `dir`.
    pub fn right(&self, dir: usize) -> &[f32] {
        &self.right[dir * self.len..(dir + 1) * self.len]
    }

    /// The blended HRIR pair for `(azimuth, elevation)` in degrees, as the
    /// renderer hears it (for tests, plots and offline use).
    pub fn at(&self, azimuth: f64, elevation: f64) -> (Vec<f32>, Vec<f32>) {
        let mut l = vec![0.0; self.len];
        let mut r = vec![0.0; self.len];
        for (dir, w) in self.grid.weights(azimuth, elevation) {
            for (o, v) in l.iter_mut().zip(self.left(dir)) {
                *o += w * v;
            }
            for (o, v) in r.iter_mut().zip(self.right(dir)) {
                *o += w * v;
            }
        }
        (l, r)
    }

    /// Brown and Duda's structural model at `rate` Hz on a grid every 10
    /// degrees of elevation and 5 of azimuth. Each ear gets Woodworth's
    /// delay for its angle to the source, a shoulder echo (an image source
    /// below the ear, for sources above the horizon), the five pinna
    /// echoes, and the one-pole, one-zero head-shadow filter (unity at DC,
    /// `alpha` at high frequencies: +6 dB facing the ear, -20 dB behind).
    pub fn builtin(rate: u32) -> HrirSet {
        let fs = f64::from(rate);
        let a_c = HEAD_RADIUS / SPEED_OF_SOUND;
        let w0 = SPEED_OF_SOUND / HEAD_RADIUS;
        let pole = ((fs - w0) / (fs + w0)).abs();
        let tail = if pole < 1e-3 {
            1
        } else {
            (1e-5f64.ln() / pole.ln()).ceil() as usize
        };
        let max_delay = a_c * (1.0 + PI / 2.0)
            + 2.0 * SHOULDER_DROP / SPEED_OF_SOUND
            + PINNA.iter().map(|p| p.1 + p.2).fold(0.0, f64::max) / PINNA_RATE;
        let len = (2 * SINC_HALF + (max_delay * fs).ceil() as usize + tail + 1).next_multiple_of(8);
        let points = Grid::regular(BUILTIN_ELEVATION_STEP, BUILTIN_AZIMUTH_STEP);
        let mut set = HrirSet {
            len,
            left: vec![0.0; len * points.len()],
            right: vec![0.0; len * points.len()],
            grid: Grid::new(&points),
            near_field: true,
        };
        let mut impulse = vec![0.0f64; len];
        for (dir, &(az, el)) in points.iter().enumerate() {
            let u = unit_vector(az, el);
            let echoes = Echoes::new(u, fs);
            for (side, out) in [(-1.0, &mut set.left), (1.0, &mut set.right)] {
                // The angle between the source and the ear on the y axis.
                let theta = (side * u[1]).clamp(-1.0, 1.0).acos();
                let direct = (woodworth_delay(theta) + a_c) * fs + SINC_HALF as f64;
                impulse.fill(0.0);
                echoes.render(direct, &mut impulse);
                let taps = &mut out[dir * len..(dir + 1) * len];
                head_shadow(&impulse, shadow_alpha(theta), w0, fs, taps);
            }
        }
        // Equalised over the horizontal plane, where seats are: see
        // `equalizer` for why not the whole sphere.
        let horizontal: Vec<usize> = (0..points.len())
            .filter(|&d| points[d].1.abs() < 1e-9)
            .collect();
        set.equalized(&horizontal, rate)
    }

    /// The set convolved with the equaliser ([`equalizer`]) that makes
    /// its response averaged over `directions` (both ears) flat, so what
    /// is left is what differs between directions.
    fn equalized(self, directions: &[usize], rate: u32) -> HrirSet {
        let irs = directions
            .iter()
            .flat_map(|&d| [self.left(d), self.right(d)]);
        let eq = equalizer::equalizer(irs, equalizer::taps(rate));
        let len = (self.len + eq.len() - 1).next_multiple_of(8);
        let mut left = vec![0.0; len * self.directions()];
        let mut right = vec![0.0; len * self.directions()];
        for d in 0..self.directions() {
            convolve_into(self.left(d), &eq, &mut left[d * len..(d + 1) * len]);
            convolve_into(self.right(d), &eq, &mut right[d * len..(d + 1) * len]);
        }
        HrirSet {
            len,
            left,
            right,
            ..self
        }
    }

    /// Loads a SOFA file with `sofar`, resampled to `rate` and normalised
    /// (front direction at unit energy). When its measurements lie on
    /// rings of elevation dense enough to blend (MIT KEMAR: 5 degrees on
    /// the horizontal plane, rings every 10 degrees from -40 to 90) they
    /// are used as measured; otherwise the set is sampled with `sofar`'s
    /// own lookup on the builtin grid. Per-ear delays stored apart in the
    /// file are folded into the taps.
    pub fn from_sofa(path: &str, rate: u32) -> Result<HrirSet, NodeError> {
        let err = |what: String| NodeError::new(format!("HRTF file `{path}`: {what}"));
        let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read it: {e}")))?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(err(format!(
                "{} bytes is larger than the {MAX_FILE_BYTES} accepted for an HRTF set",
                meta.len()
            )));
        }
        let sofa = sofar::reader::OpenOptions::new()
            .sample_rate(rate as f32)
            .normalized(true)
            .open(path)
            .map_err(|e| err(format!("not a readable SOFA HRTF set ({e})")))?;
        let taps = sofa.filter_len();
        if taps == 0 || taps > MAX_TAPS {
            return Err(err(format!(
                "its impulse responses have {taps} taps at {rate} Hz; spatialize takes 1 to {MAX_TAPS} (an HRIR, not a room response)"
            )));
        }
        let max_delay = f64::from(sofa.max_delay());
        if !(0.0..=0.05).contains(&max_delay) {
            return Err(err(format!(
                "it stores a delay of {max_delay} s; HRIR delays are under 50 ms"
            )));
        }
        let delay_taps = if max_delay > 0.0 {
            2 * SINC_HALF + (max_delay * f64::from(rate)).ceil() as usize
        } else {
            0
        };
        let len = (taps + delay_taps).next_multiple_of(8);
        let h = sofa.hrtf();
        let dims = h.dimensions();
        let (m, r, c) = (dims.m as usize, dims.r as usize, dims.c as usize);
        if m > MAX_DIRECTIONS {
            return Err(err(format!(
                "it has {m} measurements; spatialize takes at most {MAX_DIRECTIONS}"
            )));
        }
        let measured_points = measured_directions(&h.source_position.values, c, m)
            .ok_or_else(|| err("its source positions are truncated".to_string()))?;
        let measured = Grid::new(&measured_points);
        let (points, grid, use_measured) = if measured.dense() {
            (measured_points, measured, true)
        } else {
            let points = Grid::regular(BUILTIN_ELEVATION_STEP, BUILTIN_AZIMUTH_STEP);
            let grid = Grid::new(&points);
            (points, grid, false)
        };
        let mut set = HrirSet {
            len,
            left: vec![0.0; len * points.len()],
            right: vec![0.0; len * points.len()],
            grid,
            near_field: false,
        };
        let mut filter = sofar::reader::Filter::new(taps);
        let mut shift = vec![0.0f64; delay_taps.max(1)];
        let rate_f = rate as f32;
        for (dir, &(az, el)) in points.iter().enumerate() {
            if use_measured {
                let ears = [(&mut filter.left, 0), (&mut filter.right, 1)];
                for (ir, ear) in ears {
                    let at = (dir * r + ear) * taps;
                    let Some(x) = h.data_ir.values.get(at..at + taps) else {
                        return Err(err("its impulse responses are truncated".to_string()));
                    };
                    ir.copy_from_slice(x);
                }
                let (l, r) = delays(&h.data_delay.values, m, r, dir);
                filter.ldelay = l / rate_f;
                filter.rdelay = r / rate_f;
            } else {
                let u = unit_vector(az, el);
                sofa.filter(u[0] as f32, -u[1] as f32, u[2] as f32, &mut filter);
            }
            let ears = [
                (&filter.left, filter.ldelay, &mut set.left),
                (&filter.right, filter.rdelay, &mut set.right),
            ];
            for (ir, delay, out) in ears {
                let dst = &mut out[dir * len..(dir + 1) * len];
                if delay_taps == 0 {
                    dst[..taps].copy_from_slice(ir);
                } else {
                    let d = f64::from(delay) * f64::from(rate) + SINC_HALF as f64;
                    shift.fill(0.0);
                    add_fractional_impulse(d, 1.0, &mut shift);
                    convolve_into(ir, &shift, dst);
                }
            }
        }
        let (l, r) = set.at(0.0, 0.0);
        let front: f32 = l.iter().chain(&r).map(|v| v * v).sum();
        if !(front.is_finite() && front > 1e-12) {
            return Err(err(
                "it has no usable measurement near the horizontal plane ahead".to_string(),
            ));
        }
        Ok(set)
    }
}

/// The unit vector of a direction in degrees: x ahead, y right, z up.
fn unit_vector(az: f64, el: f64) -> [f64; 3] {
    let (az, el) = (az.to_radians(), el.to_radians());
    [el.cos() * az.cos(), el.cos() * az.sin(), el.sin()]
}

/// The reflections a direction brings besides the direct sound, the same
/// for both ears (the pinna delays depend on the azimuth only through
/// `cos(theta / 2)`, which is even; the shoulder on elevation).
struct Echoes {
    /// Shoulder echo: delay in samples after the direct sound, coefficient.
    shoulder: (f64, f64),
    /// Pinna echoes: delay in samples, coefficient.
    pinna: [(f64, f64); 5],
}

impl Echoes {
    fn new(u: [f64; 3], fs: f64) -> Echoes {
        // Azimuth theta (-180..180) and elevation phi (-90..90): the
        // delays shrink towards `B` as the source rises overhead or goes
        // round behind, so the pinna notches climb in frequency.
        let theta = u[1].atan2(u[0]);
        let phi = u[2].clamp(-1.0, 1.0).asin();
        let pinna = PINNA.map(|(rho, a, b, d)| {
            let samples = a * (theta / 2.0).cos() * (d * (PI / 2.0 - phi)).sin() + b;
            (samples.max(0.0) * fs / PINNA_RATE, rho)
        });
        let el = phi.to_degrees();
        let fade = ((el - SHOULDER_FADE) / -SHOULDER_FADE).clamp(0.0, 1.0);
        let delay = (2.0 * SHOULDER_DROP * u[2].max(0.0) / SPEED_OF_SOUND) * fs;
        Echoes {
            shoulder: (delay, SHOULDER_GAIN * fade),
            pinna,
        }
    }

    /// Adds the direct sound at `direct` samples with every echo into
    /// `out`, scaled to unity gain at DC.
    fn render(&self, direct: f64, out: &mut [f64]) {
        let (sh_delay, sh_gain) = self.shoulder;
        let norm = 1.0 / (1.0 + sh_gain);
        for (torso, g_t) in [(0.0, 1.0), (sh_delay, sh_gain)] {
            if g_t == 0.0 {
                continue;
            }
            add_fractional_impulse(direct + torso, g_t * norm, out);
            for &(d, rho) in &self.pinna {
                add_fractional_impulse(direct + torso + d, g_t * rho * norm, out);
            }
        }
    }
}

/// Each measurement's direction as (Sluice azimuth, elevation) in degrees
/// from cartesian SOFA positions (x forward, y left, z up), `c` values per
/// measurement; `None` if the array is short.
fn measured_directions(positions: &[f32], c: usize, m: usize) -> Option<Vec<(f64, f64)>> {
    (0..m)
        .map(|idx| {
            let p = positions.get(idx * c..idx * c + 3)?;
            let (x, y, z) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
            let across = x.hypot(y);
            let az = if across > 1e-9 {
                -y.atan2(x).to_degrees()
            } else {
                0.0
            };
            Some((az, z.atan2(across).to_degrees()))
        })
        .collect()
}

/// The two ring measurements around azimuth `az` (degrees) and how far
/// `az` lies from the first towards the second (0..1), across -180/180.
fn bracket(ring: &[(f64, usize)], az: f64) -> ((usize, usize), f64) {
    let k = ring.partition_point(|p| p.0 <= az);
    let (a, b) = if k == 0 || k == ring.len() {
        (ring[ring.len() - 1], ring[0])
    } else {
        (ring[k - 1], ring[k])
    };
    let span = (b.0 - a.0).rem_euclid(360.0);
    let off = (az - a.0).rem_euclid(360.0);
    let t = if span > 0.0 {
        (off / span).min(1.0)
    } else {
        0.0
    };
    ((a.1, b.1), t)
}

/// A measurement's left and right delays in samples, as SOFA stores them:
/// one per measurement, one per measurement and ear, or one per ear for all.
fn delays(values: &[f32], m: usize, r: usize, idx: usize) -> (f32, f32) {
    let at = |i: usize| values.get(i).copied().unwrap_or(0.0);
    if values.len() == m {
        (at(idx), at(idx))
    } else if values.len() >= m * r {
        (at(idx * r), at(idx * r + 1))
    } else {
        (at(0), at(1))
    }
}

/// Woodworth's path-length delay (s) to an ear at angle `theta` from the
/// source, relative to the head's centre: negative on the near side, the
/// wrap around the sphere on the far side.
pub fn woodworth_delay(theta: f64) -> f64 {
    let a_c = HEAD_RADIUS / SPEED_OF_SOUND;
    if theta < PI / 2.0 {
        -a_c * theta.cos()
    } else {
        a_c * (theta - PI / 2.0)
    }
}

/// Brown and Duda's high-frequency gain for an ear at angle `theta` from
/// the source: 2 facing the ear, 0.1 at 150 degrees, a little brighter
/// straight behind (the bright spot of a sphere).
pub fn shadow_alpha(theta: f64) -> f64 {
    (1.0 + ALPHA_MIN / 2.0) + (1.0 - ALPHA_MIN / 2.0) * (theta / THETA_MIN * PI).cos()
}

/// Adds to `out` an impulse of `gain` delayed by `delay` samples
/// (fractional), as a Lanczos-windowed sinc normalised to `gain` at DC.
fn add_fractional_impulse(delay: f64, gain: f64, out: &mut [f64]) {
    let centre = delay.floor() as i64;
    let half = SINC_HALF as i64;
    let taps = |n: i64| {
        let t = n as f64 - delay;
        sinc(t) * sinc(t / SINC_HALF as f64)
    };
    let range = (centre - half + 1).max(0)..=(centre + half).min(out.len() as i64 - 1);
    let sum: f64 = range.clone().map(taps).sum();
    if sum.abs() < 1e-12 {
        return;
    }
    for n in range {
        out[n as usize] += gain * taps(n) / sum;
    }
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        (PI * x).sin() / (PI * x)
    }
}

/// Runs `x` through the head-shadow filter `(alpha s + 2 w0) / (s + 2 w0)`
/// (bilinear transform at `fs`) into `out`.
fn head_shadow(x: &[f64], alpha: f64, w0: f64, fs: f64, out: &mut [f32]) {
    let (b0, b1) = (w0 + alpha * fs, w0 - alpha * fs);
    let (a0, a1) = (w0 + fs, w0 - fs);
    let (mut x1, mut y1) = (0.0, 0.0);
    for (o, &xn) in out.iter_mut().zip(x) {
        let y = (b0 * xn + b1 * x1 - a1 * y1) / a0;
        *o = y as f32;
        x1 = xn;
        y1 = y;
    }
}

/// `out = (a * b)` truncated to `out`'s length (build-time only).
fn convolve_into(a: &[f32], b: &[f64], out: &mut [f32]) {
    out.fill(0.0);
    for (i, &av) in a.iter().enumerate() {
        for (j, &bv) in b.iter().enumerate() {
            if let Some(o) = out.get_mut(i + j) {
                *o += (f64::from(av) * bv) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn woodworth_itd_at_the_side_is_about_two_thirds_of_a_millisecond() {
        let itd = woodworth_delay(PI) - woodworth_delay(0.0);
        // (a / c)(pi / 2 + 1) with a = 8.75 cm.
        assert!((itd - 0.000_656).abs() < 2e-6, "{itd}");
    }

    #[test]
    fn shadow_gain_matches_brown_and_duda() {
        assert!((shadow_alpha(0.0) - 2.0).abs() < 1e-12);
        assert!((shadow_alpha(THETA_MIN) - ALPHA_MIN).abs() < 1e-12);
    }

    #[test]
    fn builtin_filters_pass_dc_at_unity() {
        let set = HrirSet::builtin(48_000);
        for (az, el) in [
            (0.0, 0.0),
            (45.0, 0.0),
            (90.0, 30.0),
            (180.0, -40.0),
            (-90.0, 60.0),
        ] {
            let (l, r) = set.at(az, el);
            for ir in [l, r] {
                let dc: f32 = ir.iter().sum();
                assert!((dc - 1.0).abs() < 1e-3, "{az}/{el}: DC gain {dc}");
            }
        }
    }

    #[test]
    fn builtin_is_mirror_symmetric() {
        let set = HrirSet::builtin(48_000);
        for (az, el) in [(10.0, 0.0), (60.0, 20.0), (90.0, -30.0), (150.0, 50.0)] {
            let (l, _) = set.at(az, el);
            let (_, r) = set.at(-az, el);
            for (a, b) in l.iter().zip(&r) {
                assert!((a - b).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn grid_weights_blend_rings_and_azimuths() {
        let points = Grid::regular(10.0, 5.0);
        let grid = Grid::new(&points);
        let find = |az: f64, el: f64| {
            points
                .iter()
                .position(|&(a, e)| (a - az).abs() < 1e-9 && (e - el).abs() < 1e-9)
                .unwrap()
        };
        let w = grid.weights(2.5, 5.0);
        let mut got: Vec<(usize, f32)> = w.into_iter().filter(|x| x.1 > 0.0).collect();
        got.sort_by_key(|x| x.0);
        let mut want = vec![
            (find(0.0, 0.0), 0.25),
            (find(5.0, 0.0), 0.25),
            (find(0.0, 10.0), 0.25),
            (find(5.0, 10.0), 0.25),
        ];
        want.sort_by_key(|x| x.0);
        assert_eq!(got, want);
        // Across the back, and a pole where azimuth does not matter.
        let w = grid.weights(-179.0, 0.0);
        assert_eq!((w[0].0, w[1].0), (find(-180.0, 0.0), find(-175.0, 0.0)));
        assert!((w[0].1 - 0.8).abs() < 1e-6, "{w:?}");
        assert_eq!(grid.weights(37.0, 90.0), grid.weights(-120.0, 90.0));
        let total: f32 = grid.weights(33.0, 47.0).iter().map(|x| x.1).sum();
        assert!((total - 1.0).abs() < 1e-6);
    }

    #[test]
    fn elevations_outside_the_measured_rings_clamp() {
        let points: Vec<(f64, f64)> = [-40.0, -20.0, 0.0, 20.0, 40.0]
            .iter()
            .flat_map(|&el| (0..24).map(move |i| (i as f64 * 15.0, el)))
            .collect();
        let grid = Grid::new(&points);
        assert!(grid.dense());
        assert_eq!(grid.weights(0.0, -80.0), grid.weights(0.0, -40.0));
        assert_eq!(grid.weights(30.0, 80.0)[0], (98, 1.0));
    }

    #[test]
    fn dir_wrap_folds_into_the_circle() {
        assert_eq!(wrap(180.0), -180.0);
        assert_eq!(wrap(-90.0), -90.0);
        assert_eq!(wrap(359.0), -1.0);
        assert_eq!(wrap(540.0), -180.0);
    }

    #[test]
    fn ring_brackets_across_the_back() {
        let ring: Vec<(f64, usize)> = (0..72).map(|i| (-175.0 + 5.0 * i as f64, i)).collect();
        assert_eq!(bracket(&ring, 2.5), ((35, 36), 0.5));
        assert_eq!(bracket(&ring, -175.0), ((0, 1), 0.0));
        // The last measurement is at 180, the first at -175.
        assert_eq!(bracket(&ring, 180.0), ((71, 0), 0.0));
        let ((a, b), t) = bracket(&ring, -177.0);
        assert_eq!((a, b), (71, 0));
        assert!((t - 0.6).abs() < 1e-9, "{t}");
    }

    #[test]
    fn sparse_or_scattered_sets_are_not_dense() {
        // Four points on the plane: gaps of 90 degrees are too wide.
        let sparse = [(0.0, 0.0), (90.0, 0.0), (180.0, 0.0), (-90.0, 0.0)];
        assert!(!Grid::new(&sparse).dense());
        // Every point at its own elevation: no rings to blend along.
        let scattered: Vec<(f64, f64)> = (0..50)
            .map(|i| (i as f64 * 37.0, i as f64 * 3.1 - 80.0))
            .collect();
        assert!(!Grid::new(&scattered).dense());
        // SOFA's y points left: its 90 degrees is Sluice's -90.
        let left = measured_directions(&[0.0, 1.0, 0.0], 3, 1).unwrap();
        assert!((left[0].0 + 90.0).abs() < 1e-9 && left[0].1.abs() < 1e-9);
    }

    #[test]
    fn missing_sofa_file_names_the_file() {
        let e = HrirSet::from_sofa("/nonexistent/x.sofa", 48_000).unwrap_err();
        assert!(e.0.contains("/nonexistent/x.sofa"), "{e}");
    }

    #[test]
    fn garbage_sofa_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.sofa");
        std::fs::write(&path, b"\x89HDF\r\n\x1a\nnot really hdf5 at all").unwrap();
        let p = path.to_str().unwrap();
        let e = HrirSet::from_sofa(p, 48_000).unwrap_err();
        assert!(e.0.contains(p) && e.0.contains("SOFA"), "{e}");
    }
}
