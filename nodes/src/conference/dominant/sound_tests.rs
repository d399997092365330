//! `dominant` with sounds that are not speech: steady tones, music-like
//! chords with beats, the synthetic voices, and mixtures of them. Nothing
//! is dropped while there are seats for everyone; when there are not,
//! speech outranks the rest and the seats speech leaves free go by level,
//! so the output is never silent while some input is above the gate.

use super::tests::{agreement, converse, run, truth, Run};
use crate::conference::testkit::{Rng, Script, RATE, TICK};
use crate::conference::voices::Conversation;
use crate::kernels::level::energy;
use std::f64::consts::TAU;

/// Adds a sine of `amp` peak to participant `who`.
fn tone(s: &mut Script, who: usize, freq: f64, amp: f32) {
    for (n, x) in s.samples_mut(who).iter_mut().enumerate() {
        *x += amp * (TAU * freq * n as f64 / f64::from(RATE)).sin() as f32;
    }
}

/// Adds music-like sound to participant `who`: three chords in turn, two
/// seconds each, every note a pair of sines 2-5 Hz apart (so the chord
/// beats) with a short attack; `amp` is the peak of the sum.
fn chords(s: &mut Script, who: usize, amp: f32) {
    const CHORDS: [[f64; 3]; 3] = [
        [220.0, 277.18, 329.63],
        [196.0, 246.94, 293.66],
        [174.61, 220.0, 261.63],
    ];
    let per = 2 * RATE as usize;
    for (n, x) in s.samples_mut(who).iter_mut().enumerate() {
        let chord = CHORDS[(n / per) % CHORDS.len()];
        let t = n as f64 / f64::from(RATE);
        let attack = ((n % per) as f64 / 2400.0).min(1.0);
        let mut v = 0.0;
        for (k, f) in chord.iter().enumerate() {
            let beat = 2.0 + k as f64 * 1.5;
            v += (TAU * f * t).sin() + (TAU * (f + beat) * t).sin();
        }
        *x += amp * (attack * v / 6.0) as f32;
    }
}

/// The sum of every participant's input for tick `t`, as `run` fed it
/// (scripted samples only: no noise is added in these scripts).
fn input_sum(s: &Script, t: usize) -> Vec<f32> {
    let mut sum = vec![0.0f32; TICK];
    for p in &s.parts {
        if let Some(x) = p.samples.get(t * TICK..(t + 1) * TICK) {
            for (o, v) in sum.iter_mut().zip(x) {
                *o += v;
            }
        }
    }
    sum
}

/// The mix's RMS in tick `t`.
fn rms(r: &Run, t: usize) -> f32 {
    (energy(&r.mix[t * TICK..(t + 1) * TICK]) / TICK as f32).sqrt()
}

/// Checks that from the second tick on (the first ramps in) the output is
/// the sum of every input, at full level.
fn passes_everything(s: &Script, r: &Run) {
    // The last tick is the participants' Left tick (ramped out).
    for t in 1..s.ticks - 1 {
        let want = input_sum(s, t);
        let got = &r.mix[t * TICK..(t + 1) * TICK];
        let worst = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "tick {t}: output differs by {worst}");
    }
}

#[test]
fn two_steady_tones_pass_at_full_level() {
    // The graph: two WAVs of steady tones (440 and 880 Hz at 0.3).
    let mut s = Script::new(2, 5.0);
    tone(&mut s, 0, 440.0, 0.3);
    tone(&mut s, 1, 880.0, 0.3);
    let r = run(&mut s, 4, 0.3);
    passes_everything(&s, &r);
    assert_eq!(r.entries, 2);
}

#[test]
fn music_a_tone_a_voice_and_a_muted_participant_pass_while_there_are_seats() {
    let mut rng = Rng::new(5);
    let mut s = Script::new(4, 20.0);
    chords(&mut s, 0, 0.3);
    tone(&mut s, 1, 1000.0, 0.05);
    converse(&mut s, &mut rng, &[2], &[0.0, 0.0, 0.3], 0.0);
    // Participant 3 is present and silent.
    let r = run(&mut s, 4, 0.3);
    passes_everything(&s, &r);
    assert_eq!(r.entries, 4, "every participant seated once");
}

#[test]
fn more_steady_sounds_than_seats_keep_the_loudest_without_switching() {
    let mut s = Script::new(5, 20.0);
    let amps = [0.05, 0.4, 0.02, 0.2, 0.1];
    for (who, amp) in amps.iter().enumerate() {
        tone(&mut s, who, 300.0 + 170.0 * who as f64, *amp);
    }
    let r = run(&mut s, 2, 0.3);
    for (t, c) in r.chosen.iter().enumerate().take(s.ticks - 1).skip(1) {
        assert_eq!(
            c.iter().copied().collect::<Vec<_>>(),
            [1, 3],
            "tick {t}: not the two loudest"
        );
    }
    assert_eq!(r.entries, 2, "no switching between steady sounds");
}

/// Asserts the mix is never silent from tick `from` on.
fn never_silent(r: &Run, ticks: usize, from: usize, what: &str) {
    let silent: Vec<usize> = (from..ticks).filter(|&t| rms(r, t) < 1e-3).collect();
    assert!(
        silent.is_empty(),
        "{what}: {} silent ticks, first at {:?}",
        silent.len(),
        silent.first()
    );
}

#[test]
fn speech_outranks_steady_sounds_and_free_seats_go_by_level() {
    for seed in [3, 8, 21] {
        let mut rng = Rng::new(seed);
        let mut s = Script::new(5, 60.0);
        converse(&mut s, &mut rng, &[0, 1], &[0.25, 0.15], 0.3);
        tone(&mut s, 2, 523.25, 0.3);
        chords(&mut s, 3, 0.3);
        // A quiet fan: the steady sound that should lose to the others.
        for (n, x) in s.samples_mut(4).iter_mut().enumerate() {
            *x = 0.02 * ((n as f32 * 0.7).sin() + (n as f32 * 1.3).sin());
        }
        let r = run(&mut s, 3, 0.3);
        let agree = agreement(&s, &r, 30, false);
        assert!(agree >= 0.95, "seed {seed}: agreement {agree}");
        never_silent(&r, s.ticks, 2, "speakers, music and a tone");
        // The quietest steady sound gets a seat only when the tone and
        // the music have theirs (free seats go by level).
        let fan = r.chosen[50..]
            .iter()
            .filter(|c| c.contains(&4) && !(c.contains(&2) && c.contains(&3)))
            .count();
        assert!(
            fan * 100 < s.ticks,
            "seed {seed}: the quietest steady sound seated before a louder one in {fan} ticks"
        );
        // While one speaker talks the other two seats hold the tone and
        // the music (once the other speaker's pause is over).
        let truth = truth(&s);
        let (mut one, mut both_steady) = (0, 0);
        for t in 300..s.ticks {
            if truth[t - 300..=t]
                .iter()
                .all(|w| w.len() == 1 && *w == truth[t])
            {
                one += 1;
                both_steady += usize::from(r.chosen[t].contains(&2) && r.chosen[t].contains(&3));
            }
        }
        assert!(one > 500, "seed {seed}: only {one} ticks of a lone speaker");
        assert!(
            both_steady * 100 >= one * 95,
            "seed {seed}: tone and music seated in {both_steady} of {one} ticks"
        );
    }
}

#[test]
fn synthetic_voices_with_music_and_a_tone_in_four_seats() {
    let n = 4;
    let seconds = 90.0;
    let mut s = Script::new(n + 2, seconds);
    let mut conv = Conversation::new(n, 9, RATE, TICK);
    let mut block = vec![0.0f32; TICK];
    for t in 0..s.ticks {
        conv.step();
        for v in 0..n {
            conv.voices[v].render(&mut block);
            s.samples_mut(v)[t * TICK..(t + 1) * TICK].copy_from_slice(&block);
            s.parts[v].speaking[t] = conv.voices[v].speaking();
        }
    }
    chords(&mut s, n, 0.2);
    tone(&mut s, n + 1, 660.0, 0.1);
    let r = run(&mut s, 4, 0.3);
    let agree = agreement(&s, &r, 30, false);
    assert!(agree >= 0.95, "agreement {agree}");
    never_silent(&r, s.ticks, 2, "voices, music and a tone");
    // The steady sounds are heard whenever at most two voices speak.
    let truth = truth(&s);
    let quiet: Vec<usize> = (150..s.ticks)
        .filter(|&t| truth[t - 150..=t].iter().all(|w| w.len() <= 2))
        .collect();
    let music = quiet.iter().filter(|&&t| r.chosen[t].contains(&n)).count();
    assert!(
        music * 100 >= quiet.len() * 95,
        "music seated in {music} of {} ticks",
        quiet.len()
    );
}

/// Per tick, whether participant 0 holds the one seat of
/// `dominant(top: 1, vad: VAD)` over the script.
#[cfg(feature = "ml")]
fn seated_first(s: &mut Script, vad: &str) -> Vec<bool> {
    use crate::test_support::{args, bundle, kind};
    use sluice_dsl::{Arg, MediaType};
    use sluice_runtime::Frame;
    let ty = MediaType::Bundle { capacity: 2 };
    let mut node = kind("dominant")
        .args(args(&[
            ("top", Arg::Num(1.0)),
            ("vad", Arg::Enum(vad.into())),
        ]))
        .inputs(&[ty])
        .outputs(&[MediaType::Bundle { capacity: 1 }])
        .build()
        .unwrap();
    let mut input = Frame::for_type(&ty, TICK);
    let mut seated = Vec::with_capacity(s.ticks);
    for t in 0..s.ticks {
        if let Frame::Bundle(b) = &mut input {
            s.fill(b, t);
        }
        node.run_at(t as u64, &[&input]);
        let out = bundle(node.output(0));
        seated.push(
            out.slots()
                .iter()
                .any(|o| o.state.present() && o.id.as_str() == "p0"),
        );
    }
    node.finish().unwrap();
    seated
}

/// A real talker (the committed espeak-ng sentence) beside louder
/// syllable-rate bursts of noise, one seat: the energy detector takes the
/// bursts for a speaker and seats them for much of the sentence; with
/// `vad: silero` the talker keeps the seat.
#[cfg(feature = "ml")]
#[test]
fn the_speech_model_seats_the_talker_over_louder_bursts_of_noise() {
    let speech = crate::speech::testdata::padded_speech(RATE, 0.3);
    let seconds = speech.len() as f32 / RATE as f32;
    let mut s = Script::new(2, seconds);
    let n = s.samples_mut(0).len().min(speech.len());
    s.samples_mut(0)[..n].copy_from_slice(&speech[..n]);
    s.speak(&mut Rng::new(7), 1, 0.0, seconds, 0.5);
    // The sentence, after the first half second of it (the scores settle).
    let part = (80..s.ticks - 30).collect::<Vec<_>>();
    let share =
        |seated: &[bool]| part.iter().filter(|&&t| seated[t]).count() as f32 / part.len() as f32;
    let energy = share(&seated_first(&mut s, "energy"));
    let model = share(&seated_first(&mut s, "silero"));
    eprintln!("talker seated: energy {energy:.2}, silero {model:.2}");
    assert!(energy < 0.6, "energy seated the talker in {energy}");
    assert!(model > 0.85, "silero seated the talker in {model} only");
}
