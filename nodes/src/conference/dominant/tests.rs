//! Dominant-speaker tests on scripted conversations: who speaks when is
//! known, so the chosen set can be scored against the truth.

use super::*;
use crate::conference::testkit::{Rng, Script, TICK};
use crate::test_support::{args, bundle, kind};
use sluice_runtime::Frame;
use std::collections::BTreeSet;

/// What a run of `dominant` over a script produced.
pub(super) struct Run {
    /// Per tick: input indices in the set (seated, not leaving).
    pub chosen: Vec<BTreeSet<usize>>,
    /// Per tick and output slot: (state, input index).
    pub slots: Vec<Vec<(StreamState, usize)>>,
    /// The sum of all output slots (what `mix` would make).
    pub mix: Vec<f32>,
    /// Entries into the set.
    pub entries: usize,
    /// Entries into the set of a plain ranking by tick energy.
    energy_entries: usize,
    /// Per tick: the set a plain ranking by tick energy would choose.
    ranked: Vec<BTreeSet<usize>>,
}

pub(super) fn run(script: &mut Script, top: u32, hold: f64) -> Run {
    let n = script.parts.len() as u32;
    let ty = MediaType::Bundle { capacity: n };
    let out_ty = MediaType::Bundle {
        capacity: n.min(top),
    };
    let a = args(&[("top", Arg::Num(top as f64)), ("hold", Arg::Num(hold))]);
    let mut node = kind("dominant")
        .args(a.clone())
        .inputs(&[ty])
        .outputs(&[out_ty])
        .build()
        .unwrap();
    let mut input = Frame::for_type(&ty, TICK);
    let mut r = Run {
        chosen: Vec::new(),
        slots: Vec::new(),
        mix: Vec::new(),
        entries: 0,
        energy_entries: 0,
        ranked: Vec::new(),
    };
    let mut ranked: BTreeSet<usize> = BTreeSet::new();
    for t in 0..script.ticks {
        if let Frame::Bundle(b) = &mut input {
            script.fill(b, t);
        }
        node.run_at(t as u64, &[&input]);
        let now = energy_ranking(bundle(&input), top as usize);
        r.energy_entries += now.difference(&ranked).count();
        r.ranked.push(now.clone());
        ranked = now;
        let o = bundle(node.output(0));
        let mut set = BTreeSet::new();
        let mut slots = Vec::new();
        let mut mix = vec![0.0f32; TICK];
        for s in o.slots() {
            let who =
                s.id.as_str()
                    .trim_start_matches('p')
                    .parse()
                    .unwrap_or(usize::MAX);
            slots.push((s.state, who));
            if s.state.present() {
                for (m, x) in mix.iter_mut().zip(s.samples()) {
                    *m += x;
                }
            }
            match s.state {
                StreamState::Joined => {
                    r.entries += 1;
                    set.insert(who);
                }
                StreamState::Active | StreamState::Silent => {
                    set.insert(who);
                }
                _ => {}
            }
        }
        r.chosen.push(set);
        r.slots.push(slots);
        r.mix.extend(mix);
    }
    r
}

/// The true speakers per tick.
pub(super) fn truth(script: &Script) -> Vec<BTreeSet<usize>> {
    (0..script.ticks)
        .map(|t| {
            (0..script.parts.len())
                .filter(|&i| script.parts[i].speaking[t])
                .collect()
        })
        .collect()
}

/// Fraction of ticks, from `hold` after each change of the true set, where
/// every true speaker is chosen (and, with `exact`, nobody else).
pub(super) fn agreement(script: &Script, r: &Run, hold_ticks: usize, exact: bool) -> f32 {
    let truth = truth(script);
    let mut last_change = 0;
    let (mut scored, mut agreed) = (0, 0);
    for t in 0..script.ticks {
        if t > 0 && truth[t] != truth[t - 1] {
            last_change = t;
        }
        if t < last_change + hold_ticks || truth[t].is_empty() {
            continue;
        }
        scored += 1;
        let ok = if exact {
            truth[t] == r.chosen[t]
        } else {
            truth[t].is_subset(&r.chosen[t])
        };
        agreed += usize::from(ok);
    }
    assert!(
        scored > script.ticks / 3,
        "too little speech scored: {scored}"
    );
    agreed as f32 / scored as f32
}

/// A plain ranking by tick energy (top `k` of the present streams with
/// any energy): the baseline hysteresis must beat.
fn energy_ranking(b: &sluice_runtime::BundleFrame, k: usize) -> BTreeSet<usize> {
    let mut e: Vec<(f32, usize)> = b
        .present()
        .map(|(i, s)| (energy(s.samples()), i))
        .filter(|(e, _)| *e > 0.0)
        .collect();
    e.sort_by(|a, b| b.0.total_cmp(&a.0));
    e.iter().take(k).map(|x| x.1).collect()
}

/// A conversation: turns of 2-6 s among the present participants, gaps of
/// up to a second, and with probability `overlap` the next speaker starts
/// up to 1.5 s before the current one ends (crosstalk).
pub(super) fn converse(
    script: &mut Script,
    rng: &mut Rng,
    speakers: &[usize],
    amps: &[f32],
    overlap: f32,
) {
    let end = script.ticks as f32 / 100.0;
    let mut t = 0.5;
    let mut who = speakers[0];
    while t < end - 1.0 {
        let len = rng.range(2.0, 6.0);
        let to = (t + len).min(end);
        script.speak(rng, who, t, to, amps[who]);
        let mut next = speakers[rng.below(speakers.len())];
        while next == who && speakers.len() > 1 {
            next = speakers[rng.below(speakers.len())];
        }
        t = if rng.unit() < overlap {
            to - rng.range(0.5, 1.5)
        } else {
            to + rng.range(0.2, 1.0)
        };
        who = next;
    }
}

#[test]
fn one_seat_follows_turn_taking_over_background_noise() {
    for seed in [11, 31, 47] {
        one_seat(seed);
    }
}

fn one_seat(seed: u64) {
    let mut rng = Rng::new(seed);
    let mut s = Script::new(5, 60.0);
    let amps = [0.3, 0.15, 0.4, 0.1, 0.25];
    converse(&mut s, &mut rng, &[0, 1, 2, 3], &amps, 0.0);
    for who in 0..5 {
        s.noise(&mut rng, who, 0.0005);
    }
    // Participant 4 never speaks but has a loud fan: louder than speaker 3.
    s.noise(&mut rng, 4, 0.05);
    let r = run(&mut s, 1, 0.3);
    let agree = agreement(&s, &r, 30, true);
    eprintln!(
        "one seat, seed {seed}: agreement {agree}, {} entries (energy ranking {})",
        r.entries, r.energy_entries
    );
    assert!(agree >= 0.95, "agreement {agree}");
    // The fan fills the seat while nobody speaks (before the first word),
    // and never holds it against a speaker beyond the hold and the switch.
    assert!(
        r.chosen[10..45].iter().all(|c| c.contains(&4)),
        "the seat stayed empty before the first word"
    );
    let truth = truth(&s);
    let mut changed = 0;
    for t in 1..s.ticks {
        if truth[t] != truth[t - 1] {
            changed = t;
        }
        assert!(
            !(r.chosen[t].contains(&4) && !truth[t].is_empty() && t - changed > 40),
            "seed {seed} tick {t}: the fan holds the seat against {:?}",
            truth[t]
        );
    }
    // The test has teeth: a plain energy ranking picks the fan often.
    let fan = r.ranked.iter().filter(|c| c.contains(&4)).count();
    assert!(
        fan > s.ticks / 10,
        "energy ranking chose the fan in {fan} ticks"
    );
}

#[test]
fn top_four_holds_every_speaker_through_crosstalk_and_switches_less_than_energy() {
    let mut rng = Rng::new(12);
    let mut s = Script::new(8, 120.0);
    let amps: Vec<f32> = (0..8).map(|_| rng.range(0.08, 0.5)).collect();
    converse(&mut s, &mut rng, &[0, 1, 2, 3, 4, 5, 6], &amps, 0.5);
    for who in 0..8 {
        let rms = rng.range(0.0003, 0.003);
        s.noise(&mut rng, who, rms);
    }
    s.noise(&mut rng, 7, 0.08);
    let r = run(&mut s, 4, 0.3);
    let agree = agreement(&s, &r, 30, false);
    assert!(agree >= 0.95, "agreement {agree}");
    let baseline = r.energy_entries;
    eprintln!(
        "top four: agreement {agree}, {} entries (energy ranking {baseline})",
        r.entries
    );
    assert!(
        r.entries * 4 < baseline,
        "{} entries against {baseline} for a plain energy ranking",
        r.entries
    );
}

#[test]
fn clicks_from_a_quiet_participant_do_not_take_a_seat() {
    let mut rng = Rng::new(13);
    let mut s = Script::new(3, 30.0);
    converse(&mut s, &mut rng, &[0, 1], &[0.2, 0.2, 0.0], 0.2);
    s.noise(&mut rng, 2, 0.0003);
    let mut at = 0.3;
    while at < 29.5 {
        s.click(2, at);
        at += rng.range(0.3, 1.2);
    }
    let r = run(&mut s, 2, 0.3);
    assert!(
        r.chosen.iter().all(|c| !c.contains(&2)),
        "a click took a seat"
    );
    let clicked = r.ranked.iter().filter(|c| c.contains(&2)).count();
    assert!(
        clicked >= 20,
        "energy ranking chose the clicks in {clicked} ticks"
    );
    let agree = agreement(&s, &r, 30, false);
    assert!(agree >= 0.95, "agreement {agree}");
}

#[test]
fn switches_are_ramped_without_clicks() {
    // Tonal "voices" (a low sine under a syllable envelope) so the natural
    // sample-to-sample step is small and any hard switch would show.
    let mut s = Script::new(3, 20.0);
    let freqs = [150.0f32, 190.0, 230.0];
    for (turn, from) in (0..19).map(|k| (k % 3, k as f32)) {
        let start = (from * 48_000.0) as usize;
        let samples = s.samples_mut(turn);
        for i in 0..48_000 {
            let t = i as f32 / 48_000.0;
            let env = (std::f32::consts::PI * 4.0 * t).sin().powi(2);
            samples[start + i] = 0.5 * env * (2.0 * std::f32::consts::PI * freqs[turn] * t).sin();
        }
        s.parts[turn].speaking[(from * 100.0) as usize..((from + 1.0) * 100.0) as usize].fill(true);
    }
    let r = run(&mut s, 1, 0.3);
    assert!(r.entries >= 10, "only {} switches", r.entries);
    let natural = 0.5 * 2.0 * std::f32::consts::PI * 230.0 / 48_000.0;
    let max_step = r
        .mix
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max);
    // A ramp over one tick adds at most amplitude / 480 per sample.
    assert!(
        max_step <= natural + 0.5 / TICK as f32 + 1e-4,
        "step {max_step} (natural {natural})"
    );
    // Without the ramp, switching mid-syllable would jump by up to 0.5.
    let agree = agreement(&s, &r, 30, true);
    assert!(agree >= 0.95, "agreement {agree}");
}

/// Checks every output slot's life cycle and the hold rule.
fn check_invariants(s: &Script, r: &Run, top: usize, hold_ticks: usize) {
    let n = s.parts.len();
    let mut last_change: Vec<Option<usize>> = vec![None; n];
    for t in 0..s.ticks {
        let slots = &r.slots[t];
        assert!(slots.len() <= top);
        let mut seen = BTreeSet::new();
        for (k, &(state, who)) in slots.iter().enumerate() {
            if !state.present() {
                continue;
            }
            assert!(seen.insert(who), "tick {t}: {who} in two seats");
            let p = &s.parts[who];
            assert!(t >= p.join && t < p.leave, "tick {t}: absent {who} chosen");
            let prev = if t > 0 {
                r.slots[t - 1][k]
            } else {
                (StreamState::Absent, 0)
            };
            match state {
                StreamState::Joined => assert_eq!(prev.0, StreamState::Absent, "tick {t} seat {k}"),
                _ => {
                    assert!(matches!(
                        prev.0,
                        StreamState::Joined | StreamState::Active | StreamState::Silent
                    ));
                    assert_eq!(prev.1, who, "tick {t}: seat {k} changed hands");
                }
            }
        }
        for (who, last) in last_change.iter_mut().enumerate() {
            let was = t > 0 && r.chosen[t - 1].contains(&who);
            let is = r.chosen[t].contains(&who);
            if was != is {
                let leaving_call = t + 1 >= s.parts[who].leave;
                if let Some(at) = *last {
                    assert!(
                        leaving_call || t - at >= hold_ticks,
                        "tick {t}: {who} switched after {} ticks",
                        t - at
                    );
                }
                *last = Some(t);
            }
        }
    }
}

#[test]
fn handles_1_4_5_and_200_participants_joining_and_leaving() {
    for (n, seconds) in [(1usize, 20.0f32), (4, 40.0), (5, 40.0), (200, 15.0)] {
        let mut rng = Rng::new(100 + n as u64);
        let mut s = Script::new(n, seconds);
        let amps: Vec<f32> = (0..n).map(|_| rng.range(0.1, 0.5)).collect();
        let speakers: Vec<usize> = (0..n.min(6)).collect();
        converse(&mut s, &mut rng, &speakers, &amps, 0.3);
        for who in 0..n {
            s.noise(&mut rng, who, 0.001);
            if who >= speakers.len() || who % 2 == 1 {
                // Listeners and every other speaker come and go around
                // their speech (joining before it, leaving after it).
                let speech: Vec<usize> =
                    (0..s.ticks).filter(|&t| s.parts[who].speaking[t]).collect();
                let (first, last) = match (speech.first(), speech.last()) {
                    (Some(f), Some(l)) => (*f as f32 / 100.0, *l as f32 / 100.0),
                    _ => (
                        rng.range(0.0, seconds / 2.0),
                        rng.range(seconds / 2.0, seconds),
                    ),
                };
                s.presence(who, (first - 0.5).max(0.0), (last + 0.5).min(seconds));
            }
        }
        let top = 4;
        let r = run(&mut s, top as u32, 0.3);
        check_invariants(&s, &r, top.min(n), 30);
        let agree = agreement(&s, &r, 30, false);
        eprintln!(
            "{n} participants: agreement {agree}, {} entries (energy ranking {})",
            r.entries, r.energy_entries
        );
        assert!(agree >= 0.95, "{n} participants: agreement {agree}");
    }
}

#[test]
fn output_capacity_is_min_of_top_and_input() {
    let a = args(&[("top", Arg::Num(4.0))]);
    assert_eq!(
        out_type(&a, &[Some(MediaType::Bundle { capacity: 200 })]),
        Ok(MediaType::Bundle { capacity: 4 })
    );
    assert_eq!(
        out_type(&a, &[Some(MediaType::Bundle { capacity: 3 })]),
        Ok(MediaType::Bundle { capacity: 3 })
    );
    assert!(out_type(&a, &[None]).is_err());
}

#[test]
fn a_reloaded_instance_keeps_the_set() {
    let mut rng = Rng::new(21);
    let mut s = Script::new(6, 20.0);
    let amps = [0.3; 6];
    converse(&mut s, &mut rng, &[0, 1, 2, 3, 4, 5], &amps, 0.5);
    let ty = MediaType::Bundle { capacity: 6 };
    let out_ty = MediaType::Bundle { capacity: 2 };
    let a = args(&[("top", Arg::Num(2.0))]);
    let mut old = kind("dominant")
        .args(a.clone())
        .inputs(&[ty])
        .outputs(&[out_ty])
        .build()
        .unwrap();
    let mut input = Frame::for_type(&ty, TICK);
    let seated = |f: &Frame| -> Vec<(StreamState, String)> {
        bundle(f)
            .slots()
            .iter()
            .map(|s| (s.state, s.id.to_string()))
            .collect()
    };
    for t in 0..1000 {
        if let Frame::Bundle(b) = &mut input {
            s.fill(b, t);
        }
        old.run_at(t as u64, &[&input]);
    }
    let before = seated(old.output(0));
    assert!(before.iter().any(|x| x.0.present()));
    let mut new = kind("dominant")
        .args(a.clone())
        .inputs(&[ty])
        .outputs(&[out_ty])
        .build()
        .unwrap();
    new.node_mut()
        .restore_state(old.node_mut().take_state().unwrap());
    if let Frame::Bundle(b) = &mut input {
        s.fill(b, 1000);
    }
    new.run_at(1000, &[&input]);
    let after = seated(new.output(0));
    for (b, a) in before.iter().zip(&after) {
        if matches!(b.0, StreamState::Active | StreamState::Silent) {
            assert_eq!(b.1, a.1, "a seat changed hands on reload");
            assert!(
                matches!(a.0, StreamState::Active | StreamState::Silent),
                "{a:?}"
            );
        }
    }
}
