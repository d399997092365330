//! The equaliser that makes an HRIR set's average response flat, as
//! measured sets are equalised before use (the "diffuse-field equalised"
//! sets of SADIE and LISTEN average over every measured direction). What
//! remains after it is what differs between directions: the head shadow,
//! the pinna notches that move with elevation, the delays. What goes is
//! the colour every direction shares; for Brown and Duda's model that is
//! chiefly the pinna echoes' comb, which lifts 3-9 kHz by about 4 dB in
//! every direction, on top of the head shadow's +6 dB facing the ear
//! (together +11 dB at the near ear at 4 and 8 kHz before equalising).
//!
//! The builtin set is equalised over the horizontal plane, where seats
//! are, rather than over the whole sphere: the pinna comb of sources far
//! above or below differs from the horizontal one, so a sphere average
//! leaves the near ear of a seat at the side up to +7.6 dB (8 kHz, 60
//! degrees) and the ears' summed power at a side seat 3 dB over a seat
//! ahead; over the horizontal plane the near ear stays within +6.1 dB up
//! to 10 kHz and the front seats within about 1.5 dB of each other.
//!
//! The filter is minimum phase (no delay added, so latency and the
//! interaural time difference are unchanged), unity at DC, computed from
//! the averaged power spectra smoothed over a third of an octave (it
//! follows the broad colour, not each direction's notches), its gain
//! bounded to +-`MAX_GAIN_DB`.

use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

/// Transform length for the spectra and the cepstrum (bins 11.7 Hz apart
/// at 48 kHz; long enough that the cepstrum of the smoothed inverse does
/// not alias).
const FFT_LEN: usize = 4096;

/// Largest boost or cut of the equaliser (dB): regularisation, so a
/// near-empty band is not blown up.
const MAX_GAIN_DB: f64 = 15.0;

/// Smoothing width, in octaves.
const SMOOTHING_OCTAVES: f64 = 1.0 / 3.0;

/// Length of the equaliser at 48 kHz (2.7 ms); scaled with the rate.
const TAPS_AT_48K: usize = 128;

/// The equaliser's length in taps at `rate` Hz.
pub fn taps(rate: u32) -> usize {
    (TAPS_AT_48K * rate as usize)
        .div_ceil(48_000)
        .clamp(32, FFT_LEN / 4)
}

/// The power response of `irs` averaged, one value per bin of a
/// `FFT_LEN` transform.
fn mean_power<'a>(irs: impl Iterator<Item = &'a [f32]>) -> Vec<f64> {
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(FFT_LEN);
    let mut time = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    let mut power = vec![0.0; spec.len()];
    let mut count = 0usize;
    for ir in irs {
        time.fill(0.0);
        for (t, &v) in time.iter_mut().zip(ir) {
            *t = f64::from(v);
        }
        fft.process(&mut time, &mut spec)
            .expect("buffers from the plan");
        for (p, c) in power.iter_mut().zip(&spec) {
            *p += c.norm_sqr();
        }
        count += 1;
    }
    for p in &mut power {
        *p /= count.max(1) as f64;
    }
    power
}

/// `power` averaged over `SMOOTHING_OCTAVES` around each bin (DC kept).
fn smooth(power: &[f64]) -> Vec<f64> {
    let half = 2f64.powf(SMOOTHING_OCTAVES / 2.0);
    let mut prefix = vec![0.0; power.len() + 1];
    for (k, p) in power.iter().enumerate() {
        prefix[k + 1] = prefix[k] + p;
    }
    (0..power.len())
        .map(|k| {
            if k == 0 {
                return power[0];
            }
            let lo = ((k as f64 / half).floor() as usize).max(1);
            let hi = ((k as f64 * half).ceil() as usize).min(power.len() - 1);
            (prefix[hi + 1] - prefix[lo]) / (hi + 1 - lo) as f64
        })
        .collect()
}

/// The minimum-phase impulse response (`len` taps) whose magnitude is
/// `exp(log_mag)` (one value per bin of a `FFT_LEN` transform), by the
/// real cepstrum: fold the cepstrum of the log magnitude onto positive
/// quefrencies, exponentiate its transform.
fn minimum_phase(log_mag: &[f64], len: usize) -> Vec<f64> {
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(FFT_LEN);
    let inverse = planner.plan_fft_inverse(FFT_LEN);
    let mut spec: Vec<Complex<f64>> = log_mag.iter().map(|&m| Complex::new(m, 0.0)).collect();
    let mut cep = inverse.make_output_vec();
    inverse
        .process(&mut spec, &mut cep)
        .expect("buffers from the plan");
    let n = FFT_LEN as f64;
    for (q, c) in cep.iter_mut().enumerate() {
        let fold = match q {
            0 => 1.0,
            q if q < FFT_LEN / 2 => 2.0,
            q if q == FFT_LEN / 2 => 1.0,
            _ => 0.0,
        };
        *c *= fold / n;
    }
    forward
        .process(&mut cep, &mut spec)
        .expect("buffers from the plan");
    for c in &mut spec {
        *c = c.exp();
    }
    // The inverse real transform needs real DC and Nyquist bins; the
    // minimum-phase spectrum's are real up to rounding.
    let last = spec.len() - 1;
    spec[0].im = 0.0;
    spec[last].im = 0.0;
    let mut ir = inverse.make_output_vec();
    inverse
        .process(&mut spec, &mut ir)
        .expect("buffers from the plan");
    ir.truncate(len);
    for v in &mut ir {
        *v /= n;
    }
    ir
}

/// The equaliser of `irs` (each ear of each direction averaged):
/// `taps` taps, minimum phase, exactly unity at DC.
pub fn equalizer<'a>(irs: impl Iterator<Item = &'a [f32]>, taps: usize) -> Vec<f64> {
    let power = smooth(&mean_power(irs));
    let limit = MAX_GAIN_DB / 20.0 * std::f64::consts::LN_10;
    let dc = power[0].max(1e-30).sqrt().ln();
    let log_mag: Vec<f64> = power
        .iter()
        .map(|p| (dc - p.max(1e-30).sqrt().ln()).clamp(-limit, limit))
        .collect();
    let mut ir = minimum_phase(&log_mag, taps);
    // A short fade to zero at the end, then exact unity at DC.
    let fade = (taps / 8).max(1);
    for (i, v) in ir[taps - fade..].iter_mut().enumerate() {
        let x = (i + 1) as f64 / (fade + 1) as f64;
        *v *= 0.5 + 0.5 * (std::f64::consts::PI * x).cos();
    }
    let sum: f64 = ir.iter().sum();
    for v in &mut ir {
        *v /= sum;
    }
    ir
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The magnitude (dB) of `ir` at `hz` for a `rate` Hz signal.
    fn gain_db(ir: &[f64], hz: f64, rate: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * hz / rate;
        let (re, im) = ir.iter().enumerate().fold((0.0, 0.0), |(re, im), (n, v)| {
            (re + v * (w * n as f64).cos(), im - v * (w * n as f64).sin())
        });
        10.0 * (re * re + im * im).log10()
    }

    #[test]
    fn the_equalizer_inverts_a_shared_colour_and_adds_no_delay() {
        // Every "direction" shares a one-pole high-shelf boost of about
        // +9.5 dB (y = x + 2 (x - x[-1]) smoothed): the equaliser must cut
        // the top by as much, pass DC at unity and be minimum phase
        // (its energy at the front).
        let colour: Vec<f32> = vec![3.0, -2.0];
        let irs = (0..10).map(|_| &colour[..]);
        let eq = equalizer(irs, 128);
        assert!((eq.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let flat = |hz: f64| gain_db(&eq, hz, 48_000.0) + gain_db(&[3.0, -2.0], hz, 48_000.0);
        for hz in [1000.0, 4000.0, 12_000.0, 20_000.0] {
            assert!(flat(hz).abs() < 1.0, "{hz} Hz: {:.2} dB left", flat(hz));
        }
        let energy: f64 = eq.iter().map(|v| v * v).sum();
        let front: f64 = eq[..8].iter().map(|v| v * v).sum();
        assert!(
            front > 0.9 * energy,
            "not minimum phase: {front} of {energy}"
        );
    }
}
