use super::*;
use crate::speech::testdata::{level, padded_speech, speech, white};
use crate::test_support::MONO;
use sluice_runtime::testing::NodeHarness;
use sluice_runtime::StreamId;

/// Runs `input` through a mono `denoise` at `rate` with `frame` samples
/// a tick; the output, as long as the input (whole ticks).
fn run(input: &[f32], rate: u32, frame: usize) -> Vec<f32> {
    let settings = sluice_dsl::Settings {
        rate,
        frame_samples: frame as u32,
        ..Default::default()
    };
    let mut node = NodeHarness::of(signature(), build)
        .inputs(&[MONO])
        .outputs(&[MONO])
        .settings(settings)
        .build()
        .unwrap();
    let mut result = Vec::with_capacity(input.len());
    for (t, chunk) in input.chunks_exact(frame).enumerate() {
        let frame_in = Frame::Audio({
            let mut a = sluice_runtime::AudioFrame::new(1, frame);
            a.data_mut().copy_from_slice(chunk);
            a
        });
        node.run_at(t as u64, &[&frame_in]);
        let Frame::Audio(a) = node.output(0) else {
            panic!()
        };
        result.extend_from_slice(a.data());
    }
    result
}

/// What the quality goal measures on speech plus white noise.
struct Quality {
    /// How much quieter the noise-only audio became once the speaker had
    /// been heard (the pauses between words and the stretch after the
    /// sentence), dB.
    noise_drop: f32,
    /// The same for the noise before the first word, dB (reported, not a
    /// goal: RNNoise's recurrent state has not heard a voice yet and takes
    /// steady white noise for one; see docs/speech.md).
    lead_drop: f32,
    /// Output level minus clean-speech level over the speech, dB.
    speech_change: f32,
    /// How far the output lags the input, seconds.
    delay: f32,
}

/// The lag (samples, up to `max`) at which `out` best matches `clean`
/// over `span`.
fn lag(clean: &[f32], out: &[f32], span: std::ops::Range<usize>, max: usize) -> usize {
    let score = |k: usize| -> f64 {
        clean[span.clone()]
            .iter()
            .zip(&out[span.start + k..span.end + k])
            .map(|(c, o)| (*c as f64) * (*o as f64))
            .sum()
    };
    (0..=max)
        .max_by(|a, b| score(*a).total_cmp(&score(*b)))
        .unwrap()
}

/// Sums of squares over the 20 ms blocks `pick` selects, of `clean`'s
/// block index and level: (clean, noisy, out).
fn block_energy(
    clean: &[f32],
    noisy: &[f32],
    out: &[f32],
    block: usize,
    pick: impl Fn(usize, f32) -> bool,
) -> (f64, f64, f64) {
    let sq = |x: &[f32]| x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
    let mut sums = (0.0, 0.0, 0.0);
    for (i, c) in clean.chunks_exact(block).enumerate() {
        let r = i * block..(i + 1) * block;
        if r.end <= out.len() && pick(i, level(c)) {
            sums.0 += sq(c);
            sums.1 += sq(&noisy[r.clone()]);
            sums.2 += sq(&out[r]);
        }
    }
    sums
}

/// 1.5 s of noise, the sentence over the same noise (about 6 dB below the
/// speech's level), 1.5 s of noise, through `denoise` at `rate`.
fn quality(rate: u32, frame: usize) -> Quality {
    let r = rate as usize;
    let clean = padded_speech(rate, 1.5);
    let noise = white(clean.len(), 0.05, 11);
    let noisy: Vec<f32> = clean.iter().zip(&noise).map(|(s, n)| s + n).collect();
    let start = std::time::Instant::now();
    let out = run(&noisy, rate, frame);
    let gaps = out[r / 2..]
        .chunks_exact(frame)
        .filter(|t| t.iter().all(|x| *x == 0.0))
        .count();
    assert_eq!(gaps, 0, "{rate} Hz: ticks left silent once started");
    // Line the output up with the input (RNNoise's frame, the resampling
    // queue) before comparing blocks.
    let delay = lag(&clean, &out, (r * 3) / 2..(r * 5) / 2, r / 10);
    let out = &out[delay..];
    let per_10ms = start.elapsed().as_secs_f64() * 1e3 / (noisy.len() as f64 / r as f64 * 100.0);
    eprintln!("denoise {rate} Hz: {per_10ms:.3} ms per 10 ms of audio (this build)");
    // The noise before the first word, after RNNoise's first half second.
    let lead = r / 2..(r * 3) / 2 - r / 10;
    let lead_drop = level(&noisy[lead.clone()]) - level(&out[lead]);
    // 20 ms blocks: speech where the clean sentence is within 20 dB of its
    // loudest block; noise only where it is 50 dB or more below it, from
    // the first word on.
    let block = r / 50;
    let levels: Vec<f32> = clean.chunks_exact(block).map(level).collect();
    let loud = levels.iter().copied().fold(f32::MIN, f32::max);
    let first = levels.iter().position(|l| *l > loud - 20.0).unwrap();
    let (clean_sq, _, out_sq) = block_energy(&clean, &noisy, out, block, |_, l| l > loud - 20.0);
    let (_, noisy_quiet, out_quiet) = block_energy(&clean, &noisy, out, block, |i, l| {
        i > first && l < loud - 50.0
    });
    assert!(
        noisy_quiet > 0.0 && clean_sq > 0.0,
        "the sentence has pauses and speech"
    );
    Quality {
        noise_drop: 10.0 * (noisy_quiet / out_quiet).log10() as f32,
        lead_drop,
        speech_change: 10.0 * (out_sq / clean_sq).log10() as f32,
        delay: delay as f32 / r as f32,
    }
}

#[test]
fn noise_falls_at_least_8_db_and_speech_stays_within_4_db_at_48_khz() {
    let q = quality(48_000, 480);
    eprintln!(
        "denoise 48 kHz: noise -{:.1} dB (before the first word -{:.1} dB), speech {:+.1} dB, delay {:.1} ms",
        q.noise_drop, q.lead_drop, q.speech_change, q.delay * 1e3
    );
    assert!(
        q.noise_drop >= 8.0,
        "noise only fell {:.1} dB",
        q.noise_drop
    );
    assert!(q.delay <= 0.011, "delayed {:.3} s", q.delay);
    assert!(
        q.speech_change.abs() <= 4.0,
        "speech moved {:+.1} dB",
        q.speech_change
    );
}

#[test]
fn the_goal_holds_through_resampling_at_16_khz_and_odd_ticks() {
    for (rate, frame) in [(16_000, 160), (48_000, 240), (24_000, 480), (44_100, 441)] {
        let q = quality(rate, frame);
        eprintln!(
            "denoise {rate} Hz, {frame}-sample ticks: noise -{:.1} dB (before the first word -{:.1} dB), speech {:+.1} dB, delay {:.1} ms",
            q.noise_drop, q.lead_drop, q.speech_change, q.delay * 1e3
        );
        assert!(
            q.noise_drop >= 8.0,
            "{rate} Hz: noise fell {:.1} dB",
            q.noise_drop
        );
        // RNNoise's frame, a frame of queue and the ticks the resamplers
        // fill (5 ms to spare).
        let most = 0.035 + 2.0 * frame as f32 / rate as f32;
        assert!(q.delay <= most, "{rate} Hz: delayed {:.3} s", q.delay);
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
    let mut node = NodeHarness::of(signature(), build)
        .inputs(&[ty])
        .outputs(&[ty])
        .build()
        .unwrap();
    // The sentence, then a second of nothing, over white noise.
    let mut clean = speech(48_000);
    let spoken = clean.len();
    clean.resize(spoken + 48_000, 0.0);
    let noisy: Vec<f32> = clean
        .iter()
        .zip(white(clean.len(), 0.05, 3))
        .map(|(s, n)| s + n)
        .collect();
    let mut input = Frame::for_type(&ty, 480);
    let mut got = [Vec::new(), Vec::new()];
    for (t, chunk) in noisy.chunks_exact(480).enumerate() {
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
        slots[0].samples_mut().copy_from_slice(chunk);
        slots[1].state = StreamState::Absent;
        let expected = slots[0].state;
        node.run_at(t as u64, &[&input]);
        let Frame::Bundle(o) = node.output(0) else {
            panic!()
        };
        assert_eq!(o.slots()[0].id.as_str(), "noisy");
        assert_eq!(o.slots()[0].state, expected);
        assert_eq!(o.slots()[1].state, StreamState::Absent);
        for (g, s) in got.iter_mut().zip(o.slots()) {
            g.extend_from_slice(s.samples());
        }
    }
    let after = spoken + 4_800..spoken + 43_200;
    let drop = level(&noisy[after.clone()]) - level(&got[0][after]);
    assert!(drop >= 8.0, "noise after the speech fell {drop:.1} dB");
    assert!(
        got[1].iter().all(|x| *x == 0.0),
        "an absent slot stays silent"
    );
}
