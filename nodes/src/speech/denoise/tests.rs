use super::*;
use crate::audio::testing::{tick, Harness, MONO};
use crate::speech::testdata::{level, padded_speech, white};
use sluice_dsl::Args;
use sluice_runtime::StreamId;

/// Runs `input` through a mono `denoise` at `rate` with `frame` samples
/// a tick; the output, as long as the input (whole ticks).
fn run(input: &[f32], rate: u32, frame: usize) -> Vec<f32> {
    let mut h = Harness::new(Args::default(), &[MONO], &[MONO]);
    h.settings.rate = rate;
    h.settings.frame_samples = frame as u32;
    let mut node = h.build(build).unwrap();
    let mut out = h.output_frames();
    let mut result = Vec::with_capacity(input.len());
    for (t, chunk) in input.chunks_exact(frame).enumerate() {
        let frame_in = Frame::Audio({
            let mut a = sluice_runtime::AudioFrame::new(1, frame);
            a.data_mut().copy_from_slice(chunk);
            a
        });
        tick(node.as_mut(), &[&frame_in], &mut out, t as u64);
        let Frame::Audio(a) = &out[0] else { panic!() };
        result.extend_from_slice(a.data());
    }
    result
}

/// What the quality goal measures on speech plus white noise.
struct Quality {
    /// How much quieter the noise-only stretch became, dB.
    noise_drop: f32,
    /// Output level minus clean-speech level over the speech, dB.
    speech_change: f32,
}

/// 1.5 s of noise, then the sentence over the same noise (about 6 dB
/// below the speech's level), through `denoise` at `rate`.
fn quality(rate: u32, frame: usize) -> Quality {
    let r = rate as usize;
    let clean = padded_speech(rate, 1.5);
    let noise = white(clean.len(), 0.05, 11);
    let noisy: Vec<f32> = clean.iter().zip(&noise).map(|(s, n)| s + n).collect();
    let start = std::time::Instant::now();
    let out = run(&noisy, rate, frame);
    let per_10ms = start.elapsed().as_secs_f64() * 1e3 / (noisy.len() as f64 / r as f64 * 100.0);
    eprintln!("denoise {rate} Hz: {per_10ms:.3} ms per 10 ms of audio (this build)");
    // The noise-only stretch after RNNoise's first half second.
    let quiet = r / 2..(r * 3) / 2 - r / 10;
    let noise_drop = level(&noisy[quiet.clone()]) - level(&out[quiet]);
    // Speech: the 20 ms blocks where the clean speech is within 20 dB of
    // its loudest block (the sounded part of words).
    let block = r / 50;
    let loud = clean
        .chunks_exact(block)
        .map(level)
        .fold(f32::MIN, f32::max);
    let (mut clean_sq, mut out_sq) = (0.0f64, 0.0f64);
    for (i, c) in clean.chunks_exact(block).enumerate() {
        if level(c) > loud - 20.0 && (i + 1) * block <= out.len() {
            clean_sq += c.iter().map(|x| (*x as f64).powi(2)).sum::<f64>();
            let o = &out[i * block..(i + 1) * block];
            out_sq += o.iter().map(|x| (*x as f64).powi(2)).sum::<f64>();
        }
    }
    let speech_change = 10.0 * (out_sq / clean_sq).log10() as f32;
    Quality {
        noise_drop,
        speech_change,
    }
}

#[test]
fn noise_falls_at_least_8_db_and_speech_stays_within_4_db_at_48_khz() {
    let q = quality(48_000, 480);
    eprintln!(
        "denoise 48 kHz: noise -{:.1} dB, speech {:+.1} dB",
        q.noise_drop, q.speech_change
    );
    assert!(
        q.noise_drop >= 8.0,
        "noise only fell {:.1} dB",
        q.noise_drop
    );
    assert!(
        q.speech_change.abs() <= 4.0,
        "speech moved {:+.1} dB",
        q.speech_change
    );
}

#[test]
fn the_goal_holds_through_resampling_at_16_khz_and_odd_ticks() {
    for (rate, frame) in [(16_000, 160), (48_000, 240), (24_000, 480)] {
        let q = quality(rate, frame);
        eprintln!(
            "denoise {rate} Hz, {frame}-sample ticks: noise -{:.1} dB, speech {:+.1} dB",
            q.noise_drop, q.speech_change
        );
        assert!(
            q.noise_drop >= 8.0,
            "{rate} Hz: noise fell {:.1} dB",
            q.noise_drop
        );
        assert!(
            q.speech_change.abs() <= 4.0,
            "{rate} Hz: speech {:+.1} dB",
            q.speech_change
        );
    }
}

#[test]
fn at_48_khz_in_10_ms_ticks_the_output_is_not_delayed_by_a_queue() {
    // A click in silence comes out within RNNoise's own delay (one frame).
    let mut input = vec![0.0; 48_000];
    input.extend(white(4_800, 0.3, 5));
    input.extend(vec![0.0; 9_600]);
    let out = run(&input, 48_000, 480);
    let first = out.iter().position(|x| x.abs() > 1e-3).unwrap();
    assert!(
        (48_000..48_000 + 960).contains(&first),
        "first sound at {first}"
    );
}

#[test]
fn each_participant_is_cleaned_on_its_own_and_keeps_its_id() {
    let ty = MediaType::Bundle { capacity: 2 };
    let h = Harness::new(Args::default(), &[ty], &[ty]);
    let mut node = h.build(build).unwrap();
    let mut out = h.output_frames();
    let noise = white(48_000 * 2, 0.05, 3);
    let mut input = Frame::for_type(&ty, 480);
    let mut got = vec![Vec::new(), Vec::new()];
    for t in 0..200 {
        let Frame::Bundle(b) = &mut input else {
            panic!()
        };
        let slots = b.slots_mut();
        slots[0].id = StreamId::new("noisy");
        slots[0].state = if t == 0 {
            StreamState::Joined
        } else {
            StreamState::Active
        };
        slots[0]
            .samples_mut()
            .copy_from_slice(&noise[t * 480..(t + 1) * 480]);
        slots[1].state = StreamState::Absent;
        let expected = slots[0].state;
        tick(node.as_mut(), &[&input], &mut out, t as u64);
        let Frame::Bundle(o) = &out[0] else { panic!() };
        assert_eq!(o.slots()[0].id.as_str(), "noisy");
        assert_eq!(o.slots()[0].state, expected);
        assert_eq!(o.slots()[1].state, StreamState::Absent);
        for (g, s) in got.iter_mut().zip(o.slots()) {
            g.extend_from_slice(s.samples());
        }
    }
    let drop = level(&noise[48_000..96_000]) - level(&got[0][48_000..]);
    assert!(drop >= 8.0, "noise fell {drop:.1} dB");
    assert!(
        got[1].iter().all(|x| *x == 0.0),
        "an absent slot stays silent"
    );
}
