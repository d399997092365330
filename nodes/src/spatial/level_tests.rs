//! Levels per frequency through the real node: a sum of sines placed
//! around the listener, each ear's level at each sine's frequency measured
//! against the input's. The builtin set is equalised so its average over
//! the horizontal plane is flat: straight ahead stays near 0 dB, the ear
//! facing a source gets the head shadow's boost (a few dB at high
//! frequencies, about +6 dB at most) and no more, and the limiter keeps
//! a loud scene below full scale.

use super::spatialize::{self, Config, Hrtf};
use super::tests::{place, Rig, BLOCK, RATE};
use std::f64::consts::TAU;

/// Amplitude of each sine of the test signal (the sum stays far below the
/// limiter's knee, which the rig turns off anyway).
const AMP: f64 = 0.01;

/// Ticks before measuring (the filters' tails and the join fade).
const SETTLE: usize = 4;

/// Ticks measured: a whole number of cycles of every test frequency, so
/// the sines are exactly orthogonal over the window.
const MEASURE: usize = 40;

/// Test frequencies: every sixth of an octave from 250 Hz to 16 kHz, each
/// moved to the nearest multiple of the window's bin spacing.
fn freqs() -> Vec<f64> {
    let bin = f64::from(RATE) / (MEASURE * BLOCK) as f64;
    (0..=36)
        .map(|k| (250.0 * 2f64.powf(k as f64 / 6.0) / bin).round() * bin)
        .collect()
}

/// The amplitude of the `freq` component of `x`.
fn amplitude(x: &[f32], freq: f64) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for (i, v) in x.iter().enumerate() {
        let ph = TAU * freq * i as f64 / f64::from(RATE);
        s += f64::from(*v) * ph.sin();
        c += f64::from(*v) * ph.cos();
    }
    2.0 * (s * s + c * c).sqrt() / x.len() as f64
}

/// The test signal's sample `n`: every frequency at `AMP`, phases spread
/// so the sum has no big peaks.
fn multisine(freqs: &[f64], n: u64) -> f32 {
    let t = n as f64 / f64::from(RATE);
    freqs
        .iter()
        .enumerate()
        .map(|(k, f)| AMP * (TAU * f * t + (k * k) as f64 * 0.7).sin())
        .sum::<f64>() as f32
}

/// Gains in dB of (left, right) at each of `freqs` for a source at
/// `azimuth` on the horizontal plane, 1 m away.
fn response(hrtf: &Hrtf, azimuth: f32, freqs: &[f64]) -> Vec<(f64, f64)> {
    let mut rig = Rig::placed(hrtf.clone(), Some(vec![place(azimuth, 0.0, 1.0)]), 1, BLOCK);
    let mut n = 0u64;
    for _ in 0..SETTLE + MEASURE {
        rig.step(&[(0, "a")], &mut |_, s| {
            for v in s.iter_mut() {
                *v = multisine(freqs, n);
                n += 1;
            }
        });
    }
    let (l, r) = rig.settled(SETTLE);
    let db = |x: &[f32], f: f64| 20.0 * (amplitude(x, f) / AMP).log10();
    freqs.iter().map(|&f| (db(l, f), db(r, f))).collect()
}

/// Prints a response as the tests see it (run with `--nocapture`).
fn show(what: &str, freqs: &[f64], gains: &[(f64, f64)]) {
    let row: Vec<String> = freqs
        .iter()
        .zip(gains)
        .map(|(f, (l, r))| format!("{f:.0}:{l:+.1}/{r:+.1}"))
        .collect();
    println!("{what}, Hz:L/R dB: {}", row.join(" "));
}

#[test]
fn builtin_averaged_over_the_horizontal_plane_is_flat() {
    // Both ears' power averaged over sources every 15 degrees around the
    // listener: the equaliser's target, 0 dB at every frequency.
    let freqs = freqs();
    let azimuths: Vec<f32> = (0..24).map(|k| -180.0 + 15.0 * k as f32).collect();
    let mut power = vec![0.0; freqs.len()];
    for &az in &azimuths {
        for (p, (l, r)) in power.iter_mut().zip(response(&Hrtf::Builtin, az, &freqs)) {
            *p += (10f64.powf(l / 10.0) + 10f64.powf(r / 10.0)) / (2 * azimuths.len()) as f64;
        }
    }
    let mean: Vec<(f64, f64)> = power
        .iter()
        .map(|p| (10.0 * p.log10(), 10.0 * p.log10()))
        .collect();
    show("builtin, mean over the horizontal plane", &freqs, &mean);
    for (f, (db, _)) in freqs.iter().zip(&mean) {
        assert!(db.abs() < 1.5, "{f:.0} Hz: mean {db:+.2} dB");
    }
}

#[test]
fn builtin_ahead_is_near_0_db() {
    let freqs = freqs();
    let gains = response(&Hrtf::Builtin, 0.0, &freqs);
    show("builtin at 0deg", &freqs, &gains);
    for (f, &(l, r)) in freqs.iter().zip(&gains) {
        assert!((l - r).abs() < 0.1, "{f:.0} Hz: not symmetric ahead");
        // Never boosted; flat through the voice's fundamentals and first
        // formants, and down by no more than the head shadow at 90 degrees
        // from each ear (-2.4 dB) and a little of the pinna up to 4 kHz.
        // Above, the pinna notches cut (the elevation cues).
        assert!(l < 1.5, "{f:.0} Hz ahead: {l:+.1} dB");
        if *f <= 2000.0 {
            assert!(l.abs() < 1.5, "{f:.0} Hz ahead: {l:+.1} dB");
        } else if *f <= 4000.0 {
            assert!(l > -3.5, "{f:.0} Hz ahead: {l:+.1} dB");
        }
    }
}

#[test]
fn builtin_near_ear_gets_the_head_shadow_boost_and_no_more() {
    let freqs = freqs();
    for azimuth in [-120.0, -90.0, -60.0, -30.0, 30.0, 60.0, 90.0, 120.0] {
        let gains = response(&Hrtf::Builtin, azimuth, &freqs);
        show(&format!("builtin at {azimuth:+}deg"), &freqs, &gains);
        let near: Vec<f64> = gains
            .iter()
            .map(|&(l, r)| if azimuth < 0.0 { l } else { r })
            .collect();
        for (f, g) in freqs.iter().zip(&near) {
            // The head shadow gives +6.0 dB at most; the pinna comb adds
            // a ripple around it, up to 3 dB at its peaks above 10 kHz.
            let most = if *f <= 10_000.0 { 6.5 } else { 9.0 };
            assert!(*g <= most, "{azimuth}deg, {f:.0} Hz: near ear {g:+.1} dB");
        }
        assert!(
            near[0].abs() < 1.0,
            "{azimuth}deg: {:+.1} dB at 250 Hz",
            near[0]
        );
        let at_4k = near[freqs.iter().position(|&f| f >= 4000.0).unwrap()];
        if azimuth.abs() >= 60.0 {
            assert!(
                at_4k >= 3.0,
                "{azimuth}deg: no head-shadow boost ({at_4k:+.1} dB at 4 kHz)"
            );
        }
    }
}

/// The output's peak magnitude over `ticks` ticks, participants at
/// `azimuths` playing `signal(participant, sample index)`.
fn peak(limit: bool, azimuths: &[f32], ticks: usize, signal: impl Fn(usize, u64) -> f32) -> f32 {
    let config = Config {
        spread: 120.0,
        slots: 8,
        positions: Some(azimuths.iter().map(|&a| place(a, 0.0, 1.0)).collect()),
        hrtf: Hrtf::Builtin,
        limit,
    };
    let mut rig = Rig::configured(&config, azimuths.len(), BLOCK);
    let who: Vec<(usize, String)> = (0..azimuths.len()).map(|i| (i, format!("p{i}"))).collect();
    let who: Vec<(usize, &str)> = who.iter().map(|(i, id)| (*i, id.as_str())).collect();
    for t in 0..ticks {
        rig.step(&who, &mut |i, s| {
            for (k, v) in s.iter_mut().enumerate() {
                *v = signal(i, (t * BLOCK + k) as u64);
            }
        });
    }
    let (l, r) = rig.settled(0);
    l.iter().chain(r).fold(0.0, |m, v| m.max(v.abs()))
}

#[test]
fn a_half_scale_sine_at_the_side_stays_below_full_scale() {
    // The case: 0.5 at 4 kHz, 60 degrees left, reached exactly 1.0.
    let sine = |_: usize, n: u64| (0.5 * (TAU * 4000.0 * n as f64 / f64::from(RATE)).sin()) as f32;
    let raw = peak(false, &[-60.0], 20, sine);
    assert!(raw < 0.9, "unlimited peak {raw}");
    let limited = peak(spatialize::DEFAULT_LIMIT, &[-60.0], 20, sine);
    assert!(limited <= raw && limited < 0.85, "limited peak {limited}");
}

#[test]
fn the_limiter_keeps_loud_voices_below_full_scale_and_quiet_ones_exact() {
    // Four sources in phase at 0.4 each: far past full scale unlimited.
    let loud = |i: usize, n: u64| {
        (0.4 * (TAU * (300.0 + 100.0 * i as f64) * n as f64 / f64::from(RATE)).sin()) as f32
    };
    let seats = [-45.0, -15.0, 15.0, 45.0];
    let raw = peak(false, &seats, 30, loud);
    assert!(raw > 1.0, "the test needs a sum past full scale: {raw}");
    let limited = peak(true, &seats, 30, loud);
    assert!(limited < 1.0, "limited peak {limited}");
    // Quiet: the limiter does not touch anything below its knee.
    let quiet = |i: usize, n: u64| loud(i, n) * 0.25;
    assert_eq!(
        peak(true, &seats, 30, quiet),
        peak(false, &seats, 30, quiet)
    );
}
