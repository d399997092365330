//! Head-related impulse responses, one left/right pair per degree of
//! azimuth on the horizontal plane, computed at build so `process` only
//! looks them up: from Brown and Duda's spherical-head model (`builtin`)
//! or from a measured SOFA set (interpolated between measured directions
//! and resampled to the graph rate by `sofar`).
//!
//! Azimuth convention everywhere in Sluice: 0 degrees straight ahead,
//! positive to the listener's right. SOFA uses x forward, y left, so a
//! Sluice azimuth `a` is the SOFA point `(cos a, -sin a, 0)`.

use sluice_runtime::NodeError;
use std::f64::consts::PI;

/// Directions in a set: one per degree, index `d` is azimuth `d` degrees
/// (indices above 180 are the left half, `d - 360`).
pub const DIRECTIONS: usize = 360;

/// Longest HRIR accepted, in taps at the graph rate: measured HRIRs are a
/// few hundred taps; anything far longer is a room response, which would
/// make the precomputed filter bank absurdly large.
pub const MAX_TAPS: usize = 4096;

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

/// Left and right HRIRs for every degree of azimuth, `len` taps each.
#[derive(Debug, Clone)]
pub struct HrirSet {
    len: usize,
    left: Vec<f32>,
    right: Vec<f32>,
}

/// The direction index nearest an azimuth in degrees (any value; wraps).
pub fn dir_index(azimuth_deg: f32) -> usize {
    (azimuth_deg.round() as i64).rem_euclid(DIRECTIONS as i64) as usize
}

/// The azimuth of a direction index, in degrees within -179..=180.
pub fn dir_azimuth(dir: usize) -> f64 {
    if dir > 180 {
        dir as f64 - DIRECTIONS as f64
    } else {
        dir as f64
    }
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

    /// The left ear's HRIR for direction `dir`.
    pub fn left(&self, dir: usize) -> &[f32] {
        &self.left[dir * self.len..(dir + 1) * self.len]
    }

    /// The right ear's HRIR for direction `dir`.
    pub fn right(&self, dir: usize) -> &[f32] {
        &self.right[dir * self.len..(dir + 1) * self.len]
    }

    /// Brown and Duda's spherical-head model at `rate` Hz: each ear gets
    /// Woodworth's delay for its angle to the source and a one-pole,
    /// one-zero head-shadow filter (unity at DC, `alpha` at high
    /// frequencies: +6 dB facing the ear, -20 dB behind the head).
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
        let max_delay = (a_c * (1.0 + PI / 2.0) * fs).ceil() as usize;
        let len = (2 * SINC_HALF + max_delay + tail + 1).next_multiple_of(8);
        let mut set = HrirSet {
            len,
            left: vec![0.0; len * DIRECTIONS],
            right: vec![0.0; len * DIRECTIONS],
        };
        let mut impulse = vec![0.0f64; len];
        for dir in 0..DIRECTIONS {
            let az = dir_azimuth(dir).to_radians();
            for (ear_az, out) in [(-PI / 2.0, &mut set.left), (PI / 2.0, &mut set.right)] {
                let theta = angle_between(az, ear_az);
                let delay = (woodworth_delay(theta) + a_c) * fs + SINC_HALF as f64;
                fractional_impulse(delay, &mut impulse);
                let taps = &mut out[dir * len..(dir + 1) * len];
                head_shadow(&impulse, shadow_alpha(theta), w0, fs, taps);
            }
        }
        set
    }

    /// Loads a SOFA file with `sofar`, resampled to `rate` and normalised
    /// (front direction at unit energy), and samples it once per degree
    /// on the horizontal plane with `sofar`'s neighbour interpolation.
    /// Per-ear delays stored apart in the file are folded into the taps.
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
        let mut set = HrirSet {
            len,
            left: vec![0.0; len * DIRECTIONS],
            right: vec![0.0; len * DIRECTIONS],
        };
        let mut filter = sofar::reader::Filter::new(taps);
        let mut shift = vec![0.0f64; delay_taps.max(1)];
        let h = sofa.hrtf();
        let dims = h.dimensions();
        let (m, r, c) = (dims.m as usize, dims.r as usize, dims.c as usize);
        let ring = horizontal_ring(&h.source_position.values, c, m);
        let measured = |idx: usize, ear: usize| {
            let at = (idx * r + ear) * taps;
            h.data_ir.values.get(at..at + taps)
        };
        let rate_f = rate as f32;
        for dir in 0..DIRECTIONS {
            match ring.as_deref().map(|ring| bracket(ring, dir_azimuth(dir))) {
                Some(((a, b), t)) => {
                    let t = t as f32;
                    let ears = [(&mut filter.left, 0), (&mut filter.right, 1)];
                    for (ir, ear) in ears {
                        let (Some(xa), Some(xb)) = (measured(a, ear), measured(b, ear)) else {
                            return Err(err("its impulse responses are truncated".to_string()));
                        };
                        for ((o, &va), &vb) in ir.iter_mut().zip(xa).zip(xb) {
                            *o = va + t * (vb - va);
                        }
                    }
                    let (la, ra) = delays(&h.data_delay.values, m, r, a);
                    let (lb, rb) = delays(&h.data_delay.values, m, r, b);
                    filter.ldelay = (la + t * (lb - la)) / rate_f;
                    filter.rdelay = (ra + t * (rb - ra)) / rate_f;
                }
                None => {
                    let az = dir_azimuth(dir).to_radians();
                    sofa.filter(az.cos() as f32, -az.sin() as f32, 0.0, &mut filter);
                }
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
                    fractional_impulse(d, &mut shift);
                    convolve_into(ir, &shift, dst);
                }
            }
        }
        let front: f32 = set.left(0).iter().chain(set.right(0)).map(|v| v * v).sum();
        if !(front.is_finite() && front > 1e-12) {
            return Err(err(
                "it has no usable measurement near the horizontal plane ahead".to_string(),
            ));
        }
        Ok(set)
    }
}

/// Measurements on the horizontal plane as (Sluice azimuth in degrees,
/// index), sorted, when they ring the head densely enough (at least 8, no
/// gap over 30 degrees) to interpolate along the ring; `positions` are
/// cartesian SOFA coordinates (x forward, y left, z up), `c` per measurement.
fn horizontal_ring(positions: &[f32], c: usize, m: usize) -> Option<Vec<(f64, usize)>> {
    let mut ring = Vec::new();
    for idx in 0..m {
        let p = positions.get(idx * c..idx * c + 3)?;
        let (x, y, z) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
        let across = x.hypot(y);
        if across > 0.0 && z.atan2(across).to_degrees().abs() <= 0.5 {
            ring.push((-y.atan2(x).to_degrees(), idx));
        }
    }
    ring.sort_by(|a, b| a.0.total_cmp(&b.0));
    ring.dedup_by(|a, b| (a.0 - b.0).abs() < 1e-3);
    let (first, last) = (ring.first()?.0, ring.last()?.0);
    let widest = ring
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .fold(first + 360.0 - last, f64::max);
    (ring.len() >= 8 && widest <= 30.0).then_some(ring)
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

/// The angle in radians between two azimuths on the horizontal plane, 0..=pi.
fn angle_between(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(2.0 * PI);
    if d > PI {
        2.0 * PI - d
    } else {
        d
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

/// Fills `out` with a unit impulse delayed by `delay` samples (fractional),
/// as a Lanczos-windowed sinc normalised to unity gain at DC.
fn fractional_impulse(delay: f64, out: &mut [f64]) {
    out.fill(0.0);
    let centre = delay.floor() as i64;
    let half = SINC_HALF as i64;
    let mut sum = 0.0;
    for n in (centre - half + 1)..=(centre + half) {
        if n < 0 || n as usize >= out.len() {
            continue;
        }
        let t = n as f64 - delay;
        let v = sinc(t) * sinc(t / SINC_HALF as f64);
        out[n as usize] = v;
        sum += v;
    }
    if sum.abs() > 1e-12 {
        out.iter_mut().for_each(|v| *v /= sum);
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
        for dir in [0, 45, 90, 180, 270] {
            for ir in [set.left(dir), set.right(dir)] {
                let dc: f32 = ir.iter().sum();
                assert!((dc - 1.0).abs() < 1e-3, "dir {dir}: DC gain {dc}");
            }
        }
    }

    #[test]
    fn builtin_is_mirror_symmetric() {
        let set = HrirSet::builtin(48_000);
        for dir in [10, 60, 90, 150] {
            let mirror = DIRECTIONS - dir;
            for (a, b) in set.left(dir).iter().zip(set.right(mirror)) {
                assert!((a - b).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn dir_index_wraps_and_rounds() {
        assert_eq!(dir_index(0.4), 0);
        assert_eq!(dir_index(-90.0), 270);
        assert_eq!(dir_index(359.6), 0);
        assert_eq!(dir_index(540.0), 180);
        assert_eq!(dir_azimuth(270), -90.0);
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
    fn sparse_or_missing_rings_fall_back() {
        // Four points on the plane: gaps of 90 degrees are too wide.
        let sparse = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0, 0.0];
        assert!(horizontal_ring(&sparse, 3, 4).is_none());
        let ring: Vec<f32> = (0..24)
            .flat_map(|i| {
                let a = (i as f32 * 15.0).to_radians();
                [a.cos(), a.sin(), 0.0]
            })
            .collect();
        let found = horizontal_ring(&ring, 3, 24).expect("a dense ring");
        // SOFA's 90 degrees (left) is Sluice's -90.
        assert!(found
            .iter()
            .any(|&(az, i)| i == 6 && (az + 90.0).abs() < 1e-3));
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
