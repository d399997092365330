//! Tests that measure what a listener would hear: interaural time and
//! level differences, symmetry, energy across azimuths, clicks on moves,
//! seats kept across joins and leaves, and exactness of the partitioned
//! convolution against a direct one.

use super::hrir::HrirSet;
use super::position::Position;
use super::spatialize::{self, Config, Hrtf, Spatialize};
use sluice_dsl::{Arg, MediaType, PlanPort, Settings};
use sluice_runtime::{
    AudioFrame, BuildContext, BundleFrame, Clock, Frame, Node, PortIo, StreamId, StreamState,
};
use std::sync::OnceLock;

pub(super) const RATE: u32 = 48_000;
pub(super) const BLOCK: usize = 480;
const KEMAR: &str = "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa";

/// The KEMAR set if installed; otherwise says plainly that the test is skipped.
pub(super) fn kemar() -> Option<Hrtf> {
    if std::path::Path::new(KEMAR).exists() {
        Some(Hrtf::Sofa(KEMAR.to_string()))
    } else {
        sluice_runtime::testing::skip_unless_ci(&format!(
            "libmysofa1 not installed ({KEMAR} missing)"
        ));
        None
    }
}

/// The HRIR sets the tests use, computed or loaded once per test run
/// (loading KEMAR takes seconds in a debug build).
fn hrirs(hrtf: &Hrtf) -> Option<&'static HrirSet> {
    static BUILTIN: OnceLock<HrirSet> = OnceLock::new();
    static SOFA: OnceLock<HrirSet> = OnceLock::new();
    match hrtf {
        Hrtf::Builtin => Some(BUILTIN.get_or_init(|| HrirSet::builtin(RATE))),
        Hrtf::Sofa(path) => {
            Some(SOFA.get_or_init(|| HrirSet::from_sofa(path, RATE).expect("KEMAR loads")))
        }
        Hrtf::Pan => None,
    }
}

/// Deterministic white noise in -0.5..0.5 (xorshift).
struct Noise(u64);

impl Noise {
    fn fill(&mut self, out: &mut [f32]) {
        for v in out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *v = (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        }
    }
}

/// A node with its input bundle and output frame, recording the output.
pub(super) struct Rig<N: Node + ?Sized = Spatialize> {
    node: Box<N>,
    input: Frame,
    output: Frame,
    block: usize,
    tick: u64,
    was: Vec<Option<StreamId>>,
    left: Vec<f32>,
    right: Vec<f32>,
}

impl Rig {
    fn new(hrtf: Hrtf, positions: Option<Vec<f64>>, capacity: usize) -> Rig {
        Rig::with(hrtf, positions, capacity, BLOCK)
    }

    fn with(hrtf: Hrtf, positions: Option<Vec<f64>>, capacity: usize, block: usize) -> Rig {
        let positions = positions.map(|p| p.into_iter().map(Position::at).collect());
        Rig::placed(hrtf, positions, capacity, block)
    }

    pub(super) fn placed(
        hrtf: Hrtf,
        positions: Option<Vec<Position>>,
        capacity: usize,
        block: usize,
    ) -> Rig {
        let config = Config {
            spread: 120.0,
            slots: 8,
            positions,
            hrtf,
            // The filters' physics, unbent: no test signal here comes near
            // the limiter's knee except where a test says so.
            limit: false,
        };
        Rig::configured(&config, capacity, block)
    }

    /// A rig around a node with `config` (its HRIRs computed or loaded
    /// once per test run).
    pub(super) fn configured(config: &Config, capacity: usize, block: usize) -> Rig {
        let node = Spatialize::with_hrirs(config, hrirs(&config.hrtf), capacity, block);
        Rig::around(Box::new(node), capacity, block)
    }
}

impl<N: Node + ?Sized> Rig<N> {
    fn around(node: Box<N>, capacity: usize, block: usize) -> Rig<N> {
        Rig {
            node,
            input: Frame::Bundle(BundleFrame::new(capacity, block)),
            output: Frame::Audio(AudioFrame::new(2, block)),
            block,
            tick: 0,
            was: vec![None; capacity],
            left: Vec::new(),
            right: Vec::new(),
        }
    }

    /// One tick with participants `who` (slot, id) present; anyone present
    /// in the last tick and missing now gets a `Left` tick. `signal` fills
    /// each present slot's samples.
    pub(super) fn step(
        &mut self,
        who: &[(usize, &str)],
        signal: &mut dyn FnMut(usize, &mut [f32]),
    ) {
        let Frame::Bundle(b) = &mut self.input else {
            unreachable!()
        };
        for (slot, s) in b.slots_mut().iter_mut().enumerate() {
            let now = who
                .iter()
                .find(|(i, _)| *i == slot)
                .map(|(_, id)| StreamId::new(id));
            s.state = match (self.was[slot], now) {
                (Some(b), Some(n)) if b == n => StreamState::Active,
                (_, Some(_)) => StreamState::Joined,
                (Some(_), None) => StreamState::Left,
                (None, None) => StreamState::Absent,
            };
            if let Some(id) = now {
                s.id = id;
            }
            if s.state.present() {
                signal(slot, s.samples_mut());
            } else {
                s.samples_mut().fill(0.0);
            }
            self.was[slot] = now;
        }
        let clock = Clock {
            tick: self.tick,
            time: self.tick * 10_000_000,
            rate: RATE,
            frame_samples: self.block,
        };
        let inputs = [Some(&self.input)];
        let mut outputs = [&mut self.output];
        let mut io = PortIo::new(&inputs, &mut outputs, clock);
        self.node.process(&mut io);
        let Frame::Audio(a) = &self.output else {
            unreachable!()
        };
        self.left.extend_from_slice(a.channel(0));
        self.right.extend_from_slice(a.channel(1));
        self.tick += 1;
    }

    /// Runs `ticks` ticks of white noise from participant `id` in slot 0.
    fn noise(&mut self, id: &str, ticks: usize, seed: u64) {
        let mut n = Noise(seed);
        for _ in 0..ticks {
            self.step(&[(0, id)], &mut |_, s| n.fill(s));
        }
    }

    /// Output after the first `skip` ticks (past joins and fades).
    pub(super) fn settled(&self, skip: usize) -> (&[f32], &[f32]) {
        let from = skip * self.block;
        (&self.left[from..], &self.right[from..])
    }
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

fn db(ratio: f64) -> f64 {
    10.0 * ratio.log10()
}

/// Level difference right minus left, in dB.
fn ild(left: &[f32], right: &[f32]) -> f64 {
    db(energy(right) / energy(left))
}

/// How much later the left ear hears the signal than the right, in
/// seconds, from the peak of the cross-correlation (parabolic refinement).
fn itd(left: &[f32], right: &[f32]) -> f64 {
    let max_lag = (0.0015 * f64::from(RATE)) as i64;
    let n = left.len() as i64;
    let corr = |lag: i64| -> f64 {
        (max_lag..n - max_lag)
            .map(|i| f64::from(right[i as usize]) * f64::from(left[(i + lag) as usize]))
            .sum()
    };
    let (best, _) = (-max_lag..=max_lag)
        .map(|l| (l, corr(l)))
        .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
    let (a, b, c) = (corr(best - 1), corr(best), corr(best + 1));
    let shift = 0.5 * (a - c) / (a - 2.0 * b + c);
    (best as f64 + shift) / f64::from(RATE)
}

/// Low-passed noise (one pole at about 1.5 kHz), where ITD is the cue.
fn low_noise(seed: u64) -> impl FnMut(usize, &mut [f32]) {
    let mut n = Noise(seed);
    let mut y = 0.0f32;
    let k = 1.0 - (-2.0 * std::f32::consts::PI * 1500.0 / RATE as f32).exp();
    move |_, s: &mut [f32]| {
        n.fill(s);
        for v in s.iter_mut() {
            y += k * (*v - y);
            *v = y;
        }
    }
}

fn side_cues(hrtf: Hrtf, azimuth: f64) -> (f64, f64) {
    let mut rig = Rig::new(hrtf.clone(), Some(vec![azimuth]), 1);
    rig.noise("a", 60, 7);
    let (l, r) = rig.settled(5);
    let level = ild(l, r);
    let mut rig = Rig::new(hrtf, Some(vec![azimuth]), 1);
    let mut sig = low_noise(11);
    for _ in 0..60 {
        rig.step(&[(0, "a")], &mut sig);
    }
    let (l, r) = rig.settled(5);
    (level, itd(l, r))
}

fn assert_right_side_physics(hrtf: Hrtf) {
    let (level, time) = side_cues(hrtf.clone(), 90.0);
    println!(
        "{hrtf:?} at +90deg: ILD {level:.1} dB, ITD {:.3} ms",
        time * 1e3
    );
    assert!(level > 6.0, "{hrtf:?}: ILD at +90deg is {level:.1} dB");
    assert!(
        (0.0005..=0.0008).contains(&time),
        "{hrtf:?}: ITD at +90deg is {:.3} ms",
        time * 1e3
    );
    let (level, time) = side_cues(hrtf.clone(), -90.0);
    assert!(level < -6.0, "{hrtf:?}: ILD at -90deg is {level:.1} dB");
    assert!(
        (-0.0008..=-0.0005).contains(&time),
        "{hrtf:?}: ITD at -90deg is {:.3} ms",
        time * 1e3
    );
}

fn assert_ahead_symmetric(hrtf: Hrtf) {
    let (level, time) = side_cues(hrtf.clone(), 0.0);
    assert!(level.abs() < 0.5, "{hrtf:?}: ILD ahead is {level:.2} dB");
    assert!(
        time.abs() < 1.0 / f64::from(RATE),
        "{hrtf:?}: ITD ahead is {:.3} ms",
        time * 1e3
    );
}

/// Total energy of both ears per azimuth stays within `spread_db` of the
/// mean: no direction vanishes or blasts.
fn assert_energy_sane(hrtf: Hrtf, spread_db: f64) {
    // One node; the participant is moved with `position.a` and measured
    // once the move and the filter tail are over.
    let mut rig = Rig::new(hrtf.clone(), None, 1);
    let mut n = Noise(3);
    let levels: Vec<(i32, f64)> = (-180..180)
        .step_by(15)
        .map(|az| {
            rig.node
                .set("position.a", &Arg::Num(f64::from(az)))
                .expect("settable");
            let start = rig.left.len() + 3 * BLOCK;
            for _ in 0..12 {
                rig.step(&[(0, "a")], &mut |_, s| n.fill(s));
            }
            let (l, r) = (&rig.left[start..], &rig.right[start..]);
            (az, db(energy(l) + energy(r)))
        })
        .collect();
    println!("{hrtf:?}: level by azimuth {levels:?}");
    let mean = levels.iter().map(|l| l.1).sum::<f64>() / levels.len() as f64;
    for (az, level) in &levels {
        assert!(
            (level - mean).abs() < spread_db,
            "{hrtf:?}: {az}deg is {:.1} dB from the mean ({levels:?})",
            level - mean
        );
    }
}

#[test]
fn builtin_right_source_is_louder_and_earlier_on_the_right() {
    assert_right_side_physics(Hrtf::Builtin);
}

#[test]
fn sofa_right_source_is_louder_and_earlier_on_the_right() {
    if let Some(h) = kemar() {
        assert_right_side_physics(h);
    }
}

#[test]
fn builtin_ahead_is_symmetric() {
    assert_ahead_symmetric(Hrtf::Builtin);
}

#[test]
fn sofa_ahead_is_symmetric() {
    if let Some(h) = kemar() {
        assert_ahead_symmetric(h);
    }
}

#[test]
fn builtin_energy_is_sane_across_azimuths() {
    assert_energy_sane(Hrtf::Builtin, 4.0);
}

#[test]
fn sofa_energy_is_sane_across_azimuths() {
    if let Some(h) = kemar() {
        assert_energy_sane(h, 6.0);
    }
}

#[test]
fn pan_mode_is_equal_power() {
    for az in [-90.0, -45.0, 0.0, 30.0, 90.0] {
        let mut rig = Rig::new(Hrtf::Pan, Some(vec![az]), 1);
        rig.noise("a", 10, 5);
        let mut input = vec![0.0; 8 * BLOCK];
        let mut n = Noise(5);
        n.fill(&mut vec![0.0; 2 * BLOCK]);
        n.fill(&mut input);
        let (l, r) = rig.settled(2);
        let ratio = (energy(l) + energy(r)) / energy(&input);
        assert!((ratio - 1.0).abs() < 1e-4, "{az}deg: power ratio {ratio}");
        let expect = (f64::to_radians(az).sin() + 1.0) * std::f64::consts::FRAC_PI_4;
        let g = (energy(r) / energy(&input)).sqrt();
        assert!((g - expect.sin()).abs() < 1e-3, "{az}deg: right gain {g}");
    }
}

/// Renders a 440 Hz tone while `mover` changes its position every tick;
/// returns the largest sample-to-sample step after the join.
fn max_step(hrtf: Hrtf, mut mover: impl FnMut(u64) -> Option<f64>) -> f32 {
    let mut rig = Rig::new(hrtf, Some(vec![0.0]), 1);
    let mut phase = 0.0f64;
    let step = 2.0 * std::f64::consts::PI * 440.0 / f64::from(RATE);
    for t in 0..40 {
        if let Some(az) = mover(t) {
            rig.node.set("position.a", &Arg::Num(az)).expect("settable");
        }
        rig.step(&[(0, "a")], &mut |_, s| {
            for v in s.iter_mut() {
                *v = 0.5 * phase.sin() as f32;
                phase += step;
            }
        });
    }
    let (l, r) = rig.settled(2);
    [l, r]
        .iter()
        .flat_map(|x| x.windows(2).map(|w| (w[1] - w[0]).abs()))
        .fold(0.0, f32::max)
}

fn assert_moves_do_not_click(hrtf: Hrtf) {
    let still = [-90.0, -45.0, 0.0, 45.0, 90.0]
        .into_iter()
        .map(|az| max_step(hrtf.clone(), |t| (t == 0).then_some(az)))
        .fold(0.0, f32::max);
    // The worst case: jumping from one side to the other every tick.
    let moving = max_step(hrtf.clone(), |t| {
        Some(if t % 2 == 0 { -90.0 } else { 90.0 })
    });
    println!("{hrtf:?}: largest step still {still:.4}, jumping -90/+90 every tick {moving:.4}");
    assert!(
        moving <= 1.25 * still,
        "{hrtf:?}: moving step {moving} vs still {still}"
    );
    // And the bound would catch a hard switch: splice two still renders.
    let mut a = Rig::new(hrtf.clone(), Some(vec![-90.0]), 1);
    let mut b = Rig::new(hrtf.clone(), Some(vec![90.0]), 1);
    for rig in [&mut a, &mut b] {
        let mut phase = 0.0f32;
        for _ in 0..4 {
            rig.step(&[(0, "a")], &mut |_, s| {
                for v in s.iter_mut() {
                    *v = 0.5 * phase.sin();
                    phase += 0.0576;
                }
            });
        }
    }
    let jump = (3 * BLOCK..4 * BLOCK)
        .map(|cut| (b.left[cut] - a.left[cut - 1]).abs())
        .fold(0.0, f32::max);
    println!("{hrtf:?}: a hard switch would step {jump:.4}");
    assert!(
        jump > 1.25 * still,
        "{hrtf:?}: a hard switch steps {jump}, bound {still}"
    );
}

#[test]
fn builtin_moves_do_not_click() {
    assert_moves_do_not_click(Hrtf::Builtin);
}

#[test]
fn sofa_moves_do_not_click() {
    if let Some(h) = kemar() {
        assert_moves_do_not_click(h);
    }
}

#[test]
fn pan_moves_do_not_click() {
    assert_moves_do_not_click(Hrtf::Pan);
}

/// Compares the node's output for a still source with a direct
/// convolution of the input and the HRIRs.
fn assert_matches_direct_convolution(block: usize, azimuth: f64) {
    let set = hrirs(&Hrtf::Builtin).expect("builtin");
    let mut rig = Rig::with(Hrtf::Builtin, Some(vec![azimuth]), 1, block);
    let ticks = 4 * set.len().div_ceil(block) + 4;
    let mut input = Vec::new();
    let mut n = Noise(9);
    for _ in 0..ticks {
        rig.step(&[(0, "a")], &mut |_, s| {
            n.fill(s);
            input.extend_from_slice(s);
        });
    }
    // The join tick fades in.
    for (i, v) in input[..block].iter_mut().enumerate() {
        *v *= i as f32 / (block.max(2) - 1) as f32;
    }
    let (l, r) = set.at(azimuth, 0.0);
    for (ir, got) in [(&l, &rig.left), (&r, &rig.right)] {
        for (i, &g) in got.iter().enumerate() {
            let want: f32 = (0..ir.len().min(i + 1)).map(|k| ir[k] * input[i - k]).sum();
            assert!(
                (g - want).abs() < 2e-5,
                "block {block}, sample {i}: {g} vs {want}"
            );
        }
    }
}

#[test]
fn one_partition_matches_direct_convolution() {
    assert_matches_direct_convolution(BLOCK, 30.0);
}

#[test]
fn many_partitions_match_direct_convolution() {
    assert_matches_direct_convolution(32, -70.0);
}

#[test]
fn no_participants_is_silence() {
    let mut rig = Rig::new(Hrtf::Builtin, None, 4);
    for _ in 0..5 {
        rig.step(&[], &mut |_, _| {});
    }
    assert!(rig.left.iter().chain(&rig.right).all(|&v| v == 0.0));
}

#[test]
fn a_lone_participant_sits_ahead() {
    let mut rig = Rig::new(Hrtf::Builtin, None, 4);
    let mut n = Noise(1);
    for _ in 0..30 {
        rig.step(&[(2, "solo")], &mut |_, s| n.fill(s));
    }
    let az = rig.node.azimuth_of("solo");
    assert_eq!(az, Some(0.0));
    let (l, r) = rig.settled(3);
    assert!(ild(l, r).abs() < 0.1);
}

#[test]
fn four_participants_get_distinct_seats_on_their_sides() {
    let ids = ["a", "b", "c", "d"];
    let who: Vec<(usize, &str)> = ids.iter().copied().enumerate().collect();
    let mut rig = Rig::new(Hrtf::Builtin, None, 4);
    let mut n = Noise(2);
    // Only "b" speaks; the others are present but quiet.
    for _ in 0..30 {
        rig.step(&who, &mut |slot, s| {
            if slot == 1 {
                n.fill(s)
            } else {
                s.fill(0.0)
            }
        });
    }
    let node = &rig.node;
    let mut az: Vec<f32> = ids.iter().map(|id| node.azimuth_of(id).unwrap()).collect();
    let b = az[1];
    assert!(b.abs() > 10.0, "b sits off centre at {b}");
    let (l, r) = rig.settled(3);
    assert_eq!(ild(l, r) > 0.0, b > 0.0, "b at {b}deg heard on that side");
    az.sort_by(f32::total_cmp);
    az.dedup();
    assert_eq!(az.len(), 4, "distinct seats {az:?}");
}

#[test]
fn sixty_four_participants_render() {
    let ids: Vec<String> = (0..64).map(|i| format!("p{i}")).collect();
    let who: Vec<(usize, &str)> = ids
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.as_str()))
        .collect();
    let mut one = Rig::new(Hrtf::Builtin, None, 64);
    let mut all = Rig::new(Hrtf::Builtin, None, 64);
    let mut seeds: Vec<Noise> = (0..64).map(|i| Noise(100 + i)).collect();
    let mut first = Noise(100);
    for _ in 0..20 {
        all.step(&who, &mut |slot, s| seeds[slot].fill(s));
        one.step(&who[..1], &mut |_, s| first.fill(s));
    }
    let (l, r) = all.settled(3);
    assert!(l.iter().chain(r).all(|v| v.is_finite()));
    let (l1, r1) = one.settled(3);
    // 64 independent voices: about 64x the energy of one (18 dB), give or
    // take how the seats colour them.
    let gain = db((energy(l) + energy(r)) / (energy(l1) + energy(r1)));
    assert!(
        (12.0..24.0).contains(&gain),
        "64 voices are {gain:.1} dB over one"
    );
    // 64 participants over 8 seats: 8 to a seat.
    let node = &all.node;
    for seat_az in ids.iter().map(|id| node.azimuth_of(id).unwrap()) {
        let n = ids
            .iter()
            .filter(|id| node.azimuth_of(id) == Some(seat_az))
            .count();
        assert_eq!(n, 8, "{seat_az}deg");
    }
}

#[test]
fn seats_survive_joins_and_leaves() {
    let mut rig = Rig::new(Hrtf::Builtin, None, 4);
    let mut n = Noise(4);
    let mut run = |rig: &mut Rig, who: &[(usize, &str)]| {
        for _ in 0..3 {
            rig.step(who, &mut |_, s| n.fill(s));
        }
    };
    run(&mut rig, &[(0, "a"), (1, "b"), (2, "c")]);
    let seat = |rig: &Rig, id: &str| rig.node.azimuth_of(id);
    let (a, b, c) = (seat(&rig, "a"), seat(&rig, "b"), seat(&rig, "c"));
    run(&mut rig, &[(0, "a"), (2, "c")]);
    assert_eq!(seat(&rig, "b"), None);
    assert_eq!((seat(&rig, "a"), seat(&rig, "c")), (a, c));
    run(&mut rig, &[(0, "a"), (1, "d"), (2, "c"), (3, "e")]);
    assert_eq!((seat(&rig, "a"), seat(&rig, "c")), (a, c));
    assert_eq!(seat(&rig, "d"), b, "the newcomer takes the freed seat");
    assert!(seat(&rig, "e").is_some());
}

#[test]
fn leaving_fades_out_then_goes_silent() {
    let mut rig = Rig::new(Hrtf::Builtin, Some(vec![45.0]), 2);
    let mut n = Noise(8);
    for t in 0..9 {
        let who: &[(usize, &str)] = if t < 5 { &[(0, "a")] } else { &[] };
        rig.step(who, &mut |_, s| n.fill(s));
    }
    // Tick 5 is the `Left` tick: its samples fade to zero.
    let last = &rig.right[5 * BLOCK..6 * BLOCK];
    let tail = energy(&last[BLOCK - 20..]) / 20.0;
    let head = energy(&last[..100]) / 100.0;
    assert!(tail < 0.05 * head, "faded out: {tail} vs {head}");
    assert!(rig.right[7 * BLOCK..].iter().all(|&v| v == 0.0));
}

#[test]
fn position_set_before_joining_applies_on_join() {
    let mut rig = Rig::new(Hrtf::Builtin, None, 2);
    rig.node
        .set("position.zed", &Arg::Num(-80.0))
        .expect("settable before join");
    let mut n = Noise(6);
    for _ in 0..20 {
        rig.step(&[(0, "amy"), (1, "zed")], &mut |slot, s| {
            if slot == 1 {
                n.fill(s)
            } else {
                s.fill(0.0)
            }
        });
    }
    assert_eq!(rig.node.azimuth_of("zed"), Some(-80.0));
    let (l, r) = rig.settled(3);
    assert!(ild(l, r) < -6.0);
}

#[test]
fn bad_live_keys_are_errors() {
    let mut rig = Rig::new(Hrtf::Builtin, None, 2);
    assert!(rig.node.set("spread", &Arg::Num(10.0)).is_err());
    assert!(rig.node.set("position.a", &Arg::Bool(true)).is_err());
}

fn build_with(hrtf: &str) -> Result<Box<dyn Node>, sluice_runtime::NodeError> {
    let mut args = spatialize::signature().default_args();
    args.set("hrtf", Arg::Str(hrtf.to_string()));
    args.set("positions", Arg::List(vec![Arg::Num(60.0)]));
    let inputs = [PlanPort {
        name: "in".to_string(),
        ty: MediaType::Bundle { capacity: 3 },
        connected: true,
    }];
    let outputs = [PlanPort {
        name: "out".to_string(),
        ty: MediaType::Audio { channels: 2 },
        connected: true,
    }];
    let settings = Settings::default();
    let ctx = BuildContext {
        name: "room",
        index: 0,
        args: &args,
        inputs: &inputs,
        outputs: &outputs,
        settings: &settings,
        node_names: &[],
    };
    spatialize::build(&ctx)
}

#[test]
fn builds_from_checked_arguments() {
    for hrtf in ["builtin", "none"] {
        let node = build_with(hrtf).expect("builds");
        let mut rig = Rig::around(node, 3, BLOCK);
        rig.noise("a", 10, 1);
        let (l, r) = rig.settled(2);
        assert!(ild(l, r) > 3.0, "{hrtf}: positions [60deg] is on the right");
    }
}

#[test]
fn a_missing_sofa_file_is_a_clear_error() {
    let err = build_with("/no/such/set.sofa").err().expect("an error");
    assert!(err.0.contains("/no/such/set.sofa"), "{err}");
}

#[test]
fn sofa_loads_at_another_graph_rate() {
    if kemar().is_none() {
        return;
    }
    let set = HrirSet::from_sofa(KEMAR, 44_100).expect("loads");
    let at48 = hrirs(&Hrtf::Sofa(KEMAR.to_string())).expect("loads");
    // 512 taps at 44.1 kHz; resampling scales the length with the rate.
    assert!(set.len() < at48.len(), "{} vs {}", set.len(), at48.len());
    let (l, r) = set.at(90.0, 0.0);
    let e: f32 = r.iter().map(|v| v * v).sum();
    let f: f32 = l.iter().map(|v| v * v).sum();
    assert!(e > 4.0 * f, "right ear louder for +90deg");
}

#[test]
fn mismatched_frames_give_silence_not_a_panic() {
    let mut node = Spatialize::with_hrirs(
        &Config {
            spread: 120.0,
            slots: 8,
            positions: None,
            hrtf: Hrtf::Builtin,
            limit: true,
        },
        hrirs(&Hrtf::Builtin),
        2,
        BLOCK,
    );
    let mut b = BundleFrame::new(2, 100);
    b.slots_mut()[0].state = StreamState::Joined;
    b.slots_mut()[0].samples_mut().fill(0.5);
    let input = Frame::Bundle(b);
    let mut output = Frame::Audio(AudioFrame::new(2, 100));
    let inputs = [Some(&input)];
    let mut outputs = [&mut output];
    node.process(&mut PortIo::new(&inputs, &mut outputs, Clock::default()));
    let Frame::Audio(a) = &output else {
        unreachable!()
    };
    assert!(a.data().iter().all(|&v| v == 0.0));
}

/// Renders white noise from participant "a" fixed at `pos` (after 5 ticks
/// of settling, 60 ticks in all) and returns both ears.
fn render_at(hrtf: &Hrtf, pos: Position) -> (Vec<f32>, Vec<f32>) {
    let mut rig = Rig::placed(hrtf.clone(), Some(vec![pos]), 1, BLOCK);
    rig.noise("a", 60, 21);
    let (l, r) = rig.settled(5);
    (l.to_vec(), r.to_vec())
}

pub(super) fn place(azimuth: f32, elevation: f32, distance: f32) -> Position {
    Position {
        azimuth,
        elevation,
        distance,
    }
}

/// Power spectrum averaged over 1024-point Hann frames, one value per bin
/// (47 Hz apart at 48 kHz).
fn spectrum(x: &[f32]) -> Vec<f64> {
    use realfft::RealFftPlanner;
    const N: usize = 1024;
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(N);
    let mut time = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    let mut power = vec![0.0; spec.len()];
    for frame in x.chunks_exact(N) {
        for (i, (t, &v)) in time.iter_mut().zip(frame).enumerate() {
            let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N as f64).cos();
            *t = f64::from(v) * w;
        }
        fft.process(&mut time, &mut spec).unwrap();
        for (p, c) in power.iter_mut().zip(&spec) {
            *p += c.norm_sqr();
        }
    }
    power
}

/// Level in dB of both ears between `lo` and `hi` Hz.
fn band_db(l: &[f32], r: &[f32], lo: f64, hi: f64) -> f64 {
    let hz = f64::from(RATE) / 1024.0;
    let (sl, sr) = (spectrum(l), spectrum(r));
    let sum: f64 = (0..sl.len())
        .filter(|&k| (lo..hi).contains(&(k as f64 * hz)))
        .map(|k| sl[k] + sr[k])
        .sum();
    10.0 * sum.log10()
}

/// The frequency of the deepest dip of one ear's spectrum between `lo`
/// and `hi` Hz (smoothed over five bins).
fn notch_hz(x: &[f32], lo: f64, hi: f64) -> f64 {
    let hz = f64::from(RATE) / 1024.0;
    let s = spectrum(x);
    let db: Vec<f64> = s.iter().map(|p| 10.0 * p.max(1e-30).log10()).collect();
    (2..db.len() - 2)
        .filter(|&k| (lo..hi).contains(&(k as f64 * hz)))
        .map(|k| (k, db[k - 2..=k + 2].iter().sum::<f64>() / 5.0))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k as f64 * hz)
        .unwrap_or(0.0)
}

/// What raising a source from 0 to +60 degrees straight ahead must do:
/// change the level in `band` (Hz) by at least `min_db`, move the deepest
/// dip within `notch_range` (Hz, the pinna notch) up by at least 1.5 kHz,
/// and stay left/right symmetric.
struct Raise {
    band: (f64, f64),
    min_db: f64,
    notch_range: (f64, f64),
}

fn assert_elevation_changes_spectrum(hrtf: Hrtf, want: Raise) {
    let (l0, r0) = render_at(&hrtf, place(0.0, 0.0, 1.0));
    let (l60, r60) = render_at(&hrtf, place(0.0, 60.0, 1.0));
    let (lo, hi) = want.band;
    let change = band_db(&l60, &r60, lo, hi) - band_db(&l0, &r0, lo, hi);
    let wide = band_db(&l60, &r60, 4000.0, 10_000.0) - band_db(&l0, &r0, 4000.0, 10_000.0);
    let (nlo, nhi) = want.notch_range;
    let (n0, n60) = (notch_hz(&r0, nlo, nhi), notch_hz(&r60, nlo, nhi));
    println!(
        "{hrtf:?}: +60deg vs 0deg elevation ahead: {lo:.0}-{hi:.0} Hz band {change:+.1} dB \
         (4-10 kHz {wide:+.1} dB); pinna notch {n0:.0} Hz -> {n60:.0} Hz; ILD at +60deg {:.2} dB",
        ild(&l60, &r60)
    );
    assert!(
        change.abs() >= want.min_db,
        "{hrtf:?}: +60deg changes the {lo}-{hi} Hz band by only {change:.2} dB"
    );
    assert!(
        n60 > n0 + 1500.0,
        "{hrtf:?}: the pinna notch should rise with elevation: {n0:.0} Hz -> {n60:.0} Hz"
    );
    assert!(
        ild(&l60, &r60).abs() < 0.5,
        "{hrtf:?}: ahead at +60deg is not symmetric: ILD {:.2} dB",
        ild(&l60, &r60)
    );
}

#[test]
fn builtin_elevation_moves_the_pinna_notch() {
    // Brown and Duda's echoes put the deepest notch near 11 kHz ahead and
    // near 14 kHz at +60 degrees, where 10.5-12 kHz fills in.
    assert_elevation_changes_spectrum(
        Hrtf::Builtin,
        Raise {
            band: (10_500.0, 12_000.0),
            min_db: 3.0,
            notch_range: (9_000.0, 16_000.0),
        },
    );
}

#[test]
fn sofa_elevation_moves_the_pinna_notch() {
    if let Some(h) = kemar() {
        // KEMAR's first pinna notch (N1) sits near 8 kHz ahead and rises
        // with elevation; the 4-10 kHz band gains as it leaves.
        assert_elevation_changes_spectrum(
            h,
            Raise {
                band: (4_000.0, 10_000.0),
                min_db: 3.0,
                notch_range: (5_000.0, 13_000.0),
            },
        );
    }
}

/// Overhead, left and right ears hear the same, whatever the azimuth.
fn assert_overhead_symmetric(hrtf: Hrtf) {
    let (l, r) = render_at(&hrtf, place(0.0, 90.0, 1.0));
    let (level, time) = (ild(&l, &r), itd(&l, &r));
    println!(
        "{hrtf:?} overhead: ILD {level:.2} dB, ITD {:.3} ms",
        time * 1e3
    );
    assert!(level.abs() < 1.0, "{hrtf:?}: ILD overhead {level:.2} dB");
    assert!(
        time.abs() < 1.0 / f64::from(RATE),
        "{hrtf:?}: ITD overhead {:.3} ms",
        time * 1e3
    );
    let (l2, r2) = render_at(&hrtf, place(70.0, 90.0, 1.0));
    assert!(
        l.iter()
            .zip(&l2)
            .chain(r.iter().zip(&r2))
            .all(|(a, b)| (a - b).abs() < 1e-6),
        "{hrtf:?}: overhead depends on the azimuth"
    );
}

#[test]
fn builtin_overhead_is_symmetric() {
    assert_overhead_symmetric(Hrtf::Builtin);
}

#[test]
fn sofa_overhead_is_symmetric() {
    if let Some(h) = kemar() {
        assert_overhead_symmetric(h);
    }
}

/// Twice as far is 6 dB quieter, in every mode and direction tried.
fn assert_inverse_distance(hrtf: Hrtf) {
    for (az, el) in [(0.0, 0.0), (60.0, 20.0), (-120.0, -10.0)] {
        let (l1, r1) = render_at(&hrtf, place(az, el, 1.0));
        let (l2, r2) = render_at(&hrtf, place(az, el, 2.0));
        let drop = db((energy(&l1) + energy(&r1)) / (energy(&l2) + energy(&r2)));
        println!("{hrtf:?} at {az}/{el}deg: 2 m is {drop:.2} dB below 1 m");
        assert!(
            (drop - 6.02).abs() < 0.5,
            "{hrtf:?} at {az}/{el}deg: 2 m is {drop:.2} dB below 1 m"
        );
    }
}

#[test]
fn builtin_distance_follows_the_inverse_law() {
    assert_inverse_distance(Hrtf::Builtin);
}

#[test]
fn sofa_distance_follows_the_inverse_law() {
    if let Some(h) = kemar() {
        assert_inverse_distance(h);
    }
}

#[test]
fn pan_distance_follows_the_inverse_law() {
    assert_inverse_distance(Hrtf::Pan);
}

#[test]
fn builtin_near_side_source_has_a_larger_ild() {
    let (l1, r1) = render_at(&Hrtf::Builtin, place(90.0, 0.0, 1.0));
    let (ln, rn) = render_at(&Hrtf::Builtin, place(90.0, 0.0, 0.25));
    let (far, near) = (ild(&l1, &r1), ild(&ln, &rn));
    println!("builtin ILD at +90deg: {far:.1} dB at 1 m, {near:.1} dB at 0.25 m");
    assert!(
        near > far + 3.0,
        "{far:.1} dB at 1 m vs {near:.1} dB at 0.25 m"
    );
    // Closer than 0.25 m is clamped: no blow-up at the head.
    let (lc, rc) = render_at(&Hrtf::Builtin, place(90.0, 0.0, 0.0));
    assert!((energy(&rc) / energy(&rn) - 1.0).abs() < 1e-3 && energy(&lc) > 0.0);
}

#[test]
fn sofa_between_measured_elevations_is_their_blend() {
    let Some(h) = kemar() else {
        return;
    };
    // KEMAR measures rings at 0 and 10 degrees; 5 degrees is half of each.
    let (l0, r0) = render_at(&h, place(30.0, 0.0, 1.0));
    let (l10, r10) = render_at(&h, place(30.0, 10.0, 1.0));
    let (l5, r5) = render_at(&h, place(30.0, 5.0, 1.0));
    for (mid, (a, b)) in [(&l5, (&l0, &l10)), (&r5, (&r0, &r10))] {
        for ((m, a), b) in mid.iter().zip(a).zip(b) {
            assert!((m - 0.5 * (a + b)).abs() < 1e-5, "{m} vs {a} and {b}");
        }
    }
    let band = |l: &[f32], r: &[f32]| band_db(l, r, 4000.0, 10_000.0);
    let (b0, b5, b10) = (band(&l0, &r0), band(&l5, &r5), band(&l10, &r10));
    println!("KEMAR 4-10 kHz at 30deg azimuth: el 0 {b0:.2} dB, 5 {b5:.2} dB, 10 {b10:.2} dB");
    assert!(
        b5 > b0.min(b10) - 0.5 && b5 < b0.max(b10) + 0.5,
        "{b5:.2} dB not between {b0:.2} and {b10:.2}"
    );
}

#[test]
fn positions_in_elevation_and_distance_are_set_live() {
    let mut rig = Rig::new(Hrtf::Builtin, None, 1);
    let up = Arg::List(vec![Arg::Num(-30.0), Arg::Num(40.0), Arg::Num(3.0)]);
    rig.node.set("position.a", &up).expect("settable");
    rig.noise("a", 3, 1);
    assert_eq!(rig.node.position_of("a"), Some(place(-30.0, 40.0, 3.0)));
    let bad = Arg::List(vec![Arg::Num(0.0), Arg::Num(120.0)]);
    assert!(rig.node.set("position.a", &bad).is_err());
}

/// A 440 Hz tone moved every tick between `a` and `b` (given as live
/// values) steps no more than the louder of the two still renders.
fn assert_jumps_do_not_click(hrtf: Hrtf, a: &Arg, b: &Arg) {
    let run = |mover: &mut dyn FnMut(u64) -> Option<Arg>| {
        let mut rig = Rig::new(hrtf.clone(), Some(vec![0.0]), 1);
        let mut phase = 0.0f64;
        let step = 2.0 * std::f64::consts::PI * 440.0 / f64::from(RATE);
        for t in 0..40 {
            if let Some(p) = mover(t) {
                rig.node.set("position.a", &p).expect("settable");
            }
            rig.step(&[(0, "a")], &mut |_, s| {
                for v in s.iter_mut() {
                    *v = 0.5 * phase.sin() as f32;
                    phase += step;
                }
            });
        }
        let (l, r) = rig.settled(2);
        [l, r]
            .iter()
            .flat_map(|x| x.windows(2).map(|w| (w[1] - w[0]).abs()))
            .fold(0.0, f32::max)
    };
    let still = [a, b]
        .into_iter()
        .map(|p| run(&mut |t| (t == 0).then(|| p.clone())))
        .fold(0.0, f32::max);
    let moving = run(&mut |t| Some(if t % 2 == 0 { a.clone() } else { b.clone() }));
    println!("{hrtf:?}: {a:?} <-> {b:?} every tick steps {moving:.4}, still {still:.4}");
    assert!(
        moving <= 1.25 * still,
        "{hrtf:?}: moving {moving} vs still {still}"
    );
}

fn pos_arg(az: f64, el: f64, d: f64) -> Arg {
    Arg::List(vec![Arg::Num(az), Arg::Num(el), Arg::Num(d)])
}

#[test]
fn elevation_and_distance_moves_do_not_click() {
    let mut sets = vec![Hrtf::Builtin, Hrtf::Pan];
    sets.extend(kemar());
    for hrtf in sets {
        let (low, high) = (pos_arg(30.0, -40.0, 1.0), pos_arg(30.0, 80.0, 1.0));
        assert_jumps_do_not_click(hrtf.clone(), &low, &high);
        let (near, far) = (pos_arg(-60.0, 10.0, 0.5), pos_arg(-60.0, 10.0, 1.0));
        assert_jumps_do_not_click(hrtf, &near, &far);
    }
}
