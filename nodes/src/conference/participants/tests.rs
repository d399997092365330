use super::*;
use crate::conference::testkit::TICK;
use crate::test_support::{args, bundle, kind};
use hound::{SampleFormat, WavSpec, WavWriter};
use sluice_runtime::Frame;
use std::path::Path;

fn write_wav(path: &Path, channels: u16, rate: u32, bits: u16, float: bool, frames: usize) {
    let spec = WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            SampleFormat::Float
        } else {
            SampleFormat::Int
        },
    };
    let mut w = WavWriter::create(path, spec).unwrap();
    for n in 0..frames {
        for c in 0..channels {
            let v = 0.5 * ((n as f32 * 0.01) + c as f32).sin();
            if float {
                w.write_sample(v).unwrap();
            } else {
                let max = (1i64 << (bits - 1)) as f32;
                w.write_sample((v * max) as i32).unwrap();
            }
        }
    }
    w.finalize().unwrap();
}

/// The mono sample a test file holds at frame `n` (stereo averaged).
fn expected(n: usize, channels: u16) -> f32 {
    (0..channels)
        .map(|c| 0.5 * ((n as f32 * 0.01) + c as f32).sin())
        .sum::<f32>()
        / channels as f32
}

/// The bundle capacity of `a` over the signature's defaults.
fn cap(a: &Args) -> u32 {
    let mut all = signature().default_args();
    all.overlay(a);
    match ports(&all).unwrap().outputs[0].ty {
        OutType::Fixed(MediaType::Bundle { capacity }) => capacity,
        _ => panic!(),
    }
}

#[test]
fn exactly_one_source_is_required() {
    assert!(ports(&args(&[])).unwrap_err().contains("exactly one"));
    let both = args(&[("synth", Arg::Num(3.0)), ("path", Arg::Str("*.wav".into()))]);
    assert!(ports(&both).unwrap_err().contains("exactly one"));
    let synth = args(&[("synth", Arg::Num(3.0))]);
    assert_eq!(cap(&synth), 3);
    assert!((signature().endless)(&synth));
    let none = args(&[("path", Arg::Str("/nonexistent/dir/*.wav".into()))]);
    assert!(!(signature().endless)(&none));
    let p = ports(&none).unwrap();
    assert!(p.warnings[0].contains("no file matches"));
    assert!(kind("participants")
        .args(none.clone())
        .outputs(&[MediaType::Bundle { capacity: 1 }])
        .build()
        .is_err());
    assert!(ports(&args(&[("path", Arg::Str("[".into()))]))
        .unwrap_err()
        .contains("bad glob"));
}

#[test]
fn files_become_streams_that_leave_when_they_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_wav(&d.join("alice.wav"), 1, 48_000, 16, false, 48_000);
    write_wav(&d.join("bob.wav"), 2, 48_000, 32, true, 24_000 + 100);
    write_wav(&d.join("carol.wav"), 1, 48_000, 24, false, 200);
    let a = args(&[("path", Arg::Str(format!("{}/*.wav", d.display())))]);
    assert_eq!(cap(&a), 3);
    let ty = MediaType::Bundle { capacity: 3 };
    let mut node = kind("participants")
        .args(a.clone())
        .outputs(&[ty])
        .build()
        .unwrap();
    let lengths = [
        (48_000usize, 1u16, 1.0 / 32768.0),
        (24_100, 2, 1e-6),
        (200, 1, 1.0 / 8_388_608.0),
    ];
    for t in 0..100 {
        let flow = node.run_at(t as u64, &[]);
        let b = bundle(node.output(0));
        for (k, &(frames, ch, tol)) in lengths.iter().enumerate() {
            let s = &b.slots()[k];
            let last_tick = frames.div_ceil(TICK).max(2) - 1;
            let want = match t {
                0 => StreamState::Joined,
                t if t < last_tick => StreamState::Active,
                t if t == last_tick => StreamState::Left,
                _ => StreamState::Absent,
            };
            assert_eq!(s.state, want, "slot {k} tick {t}");
            assert_eq!(s.id.as_str(), ["alice", "bob", "carol"][k]);
            for (i, x) in s.samples().iter().enumerate() {
                let n = t * TICK + i;
                let e = if n < frames && s.state.present() {
                    expected(n, ch)
                } else {
                    0.0
                };
                assert!(
                    (x - e).abs() <= tol * 1.01,
                    "slot {k} sample {n}: {x} vs {e}"
                );
            }
        }
        assert_eq!(flow == Flow::Ended, t == 99, "tick {t}");
    }
}

#[test]
fn bad_files_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ty = [MediaType::Bundle { capacity: 1 }];
    let err = |p: &Path| {
        let a = args(&[("paths", Arg::List(vec![Arg::Str(p.display().to_string())]))]);
        kind("participants")
            .args(a.clone())
            .outputs(&ty)
            .build()
            .err()
            .unwrap()
            .0
    };
    write_wav(&d.join("crazy.wav"), 1, 999, 16, false, 10);
    let e = err(&d.join("crazy.wav"));
    assert!(e.contains("crazy.wav") && e.contains("999 Hz"), "{e}");
    write_wav(&d.join("six.wav"), 6, 48_000, 16, false, 10);
    assert!(err(&d.join("six.wav")).contains("6 channels"));
    std::fs::write(d.join("junk.wav"), b"not a wav file at all").unwrap();
    assert!(err(&d.join("junk.wav")).contains("junk.wav"));
    assert!(err(&d.join("missing.wav")).contains("missing.wav"));
    std::fs::create_dir(d.join("x")).unwrap();
    write_wav(&d.join("x/slow.wav"), 1, 48_000, 16, false, 10);
    write_wav(&d.join("fast.wav"), 1, 48_000, 16, false, 10);
    let two = args(&[(
        "paths",
        Arg::List(vec![
            Arg::Str(d.join("fast.wav").display().to_string()),
            Arg::Str(d.join("x/slow.wav").display().to_string()),
            Arg::Str(d.join("fast.wav").display().to_string()),
        ]),
    )]);
    let e = kind("participants")
        .args(two.clone())
        .outputs(&[MediaType::Bundle { capacity: 3 }])
        .build()
        .err()
        .unwrap()
        .0;
    assert!(e.contains("same stem `fast`"), "{e}");
}

#[test]
fn synthetic_voices_converse_join_and_leave() {
    let n = 6;
    let ty = MediaType::Bundle { capacity: n };
    let a = args(&[("synth", Arg::Num(n as f64)), ("seed", Arg::Num(7.0))]);
    let mut node = kind("participants")
        .args(a.clone())
        .outputs(&[ty])
        .build()
        .unwrap();
    let mut twin = kind("participants")
        .args(a.clone())
        .outputs(&[ty])
        .build()
        .unwrap();
    let mut prev = vec![StreamState::Absent; n as usize];
    let (mut joins, mut leaves, mut sounding) = (0, 0, [0usize; 7]);
    for t in 0..100 * 300 {
        assert_eq!(node.run_at(t, &[]), Flow::Continue);
        twin.run_at(t, &[]);
        let b = bundle(node.output(0));
        let mut active = 0;
        for (i, s) in b.slots().iter().enumerate() {
            assert_eq!(
                s.samples(),
                bundle(twin.output(0)).slots()[i].samples(),
                "same seed, same voices"
            );
            let p = prev[i];
            match s.state {
                StreamState::Joined => {
                    assert!(!p.present());
                    assert_eq!(s.id.as_str(), format!("voice{}", i + 1));
                    joins += 1;
                }
                StreamState::Active | StreamState::Silent | StreamState::Left => {
                    assert!(
                        p.present() && p != StreamState::Left,
                        "slot {i} tick {t}: {p:?} -> {:?}",
                        s.state
                    );
                }
                StreamState::Absent => {
                    assert!(!p.present() || p == StreamState::Left);
                    assert!(s.samples().iter().all(|x| *x == 0.0));
                }
            }
            if s.state == StreamState::Left {
                leaves += 1;
            }
            if s.state == StreamState::Silent {
                assert!(s.samples().iter().all(|x| *x == 0.0));
            }
            active += usize::from(s.state == StreamState::Active);
            prev[i] = s.state;
        }
        sounding[active] += 1;
    }
    assert!(
        joins > n as usize && leaves >= 2,
        "joins {joins} leaves {leaves}"
    );
    let talk: usize = sounding[1..].iter().sum();
    assert!(
        talk > 100 * 150,
        "speech in only {talk} of 30000 ticks: {sounding:?}"
    );
    assert!(
        (sounding[1] + sounding[2]) as f32 / talk as f32 > 0.95,
        "{sounding:?}"
    );
}

#[test]
fn files_at_another_rate_are_resampled_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cd.wav");
    let spec = WavSpec {
        channels: 1,
        sample_rate: 44_100,
        bits_per_sample: 32,
        sample_format: SampleFormat::Float,
    };
    let mut w = WavWriter::create(&path, spec).unwrap();
    for n in 0..44_100 {
        w.write_sample(0.5 * (2.0 * std::f32::consts::PI * 1000.0 * n as f32 / 44_100.0).sin())
            .unwrap();
    }
    w.finalize().unwrap();
    let a = args(&[(
        "paths",
        Arg::List(vec![Arg::Str(path.display().to_string())]),
    )]);
    let ty = MediaType::Bundle { capacity: 1 };
    let mut node = kind("participants")
        .args(a.clone())
        .outputs(&[ty])
        .build()
        .unwrap();
    let mut got = Vec::new();
    let mut states = Vec::new();
    for t in 0..101 {
        node.run_at(t, &[]);
        let s = &bundle(node.output(0)).slots()[0];
        states.push(s.state);
        got.extend_from_slice(s.samples());
    }
    // One second at 44.1 kHz is one second at 48 kHz: 100 ticks.
    assert_eq!(states[0], StreamState::Joined);
    assert_eq!(states[99], StreamState::Left);
    assert_eq!(states[100], StreamState::Absent);
    // Away from the ends the output is the same sine at 48 kHz: fit
    // a sin + b cos over 40,000 samples (whole periods), then check the
    // amplitude, the time offset (the resampler's delay is trimmed to
    // within a sample) and what is left.
    let w = 2.0 * std::f64::consts::PI * 1000.0 / 48_000.0;
    let win = &got[4_000..44_000];
    let (mut a, mut b) = (0.0f64, 0.0f64);
    for (k, x) in win.iter().enumerate() {
        let ph = w * (k + 4_000) as f64;
        a += *x as f64 * ph.sin();
        b += *x as f64 * ph.cos();
    }
    let (a, b) = (2.0 * a / win.len() as f64, 2.0 * b / win.len() as f64);
    let amp = (a * a + b * b).sqrt();
    let offset = b.atan2(a) / w;
    assert!((amp - 0.5).abs() < 0.005, "amplitude {amp}");
    assert!(offset.abs() < 1.0, "offset {offset} samples");
    let residual = win.iter().enumerate().fold(0.0f64, |m, (k, x)| {
        let ph = w * (k + 4_000) as f64;
        m.max((*x as f64 - a * ph.sin() - b * ph.cos()).abs())
    });
    assert!(residual < 2e-3, "residual {residual}");
}

/// `participants` reads files through `wav_in`'s reader: the same file
/// gives the same samples, mono or stereo (averaged), at the graph rate
/// or resampled, over many 64 KiB read blocks.
#[test]
fn a_file_reads_the_same_as_through_wav_in() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let frames = 100_000;
    write_wav(&d.join("mono.wav"), 1, 48_000, 16, false, frames);
    write_wav(&d.join("stereo.wav"), 2, 44_100, 24, false, frames);
    for name in ["mono.wav", "stereo.wav"] {
        let path = d.join(name).display().to_string();
        let a = args(&[("paths", Arg::List(vec![Arg::Str(path.clone())]))]);
        let ty = MediaType::Bundle { capacity: 1 };
        let mut people = kind("participants")
            .args(a.clone())
            .outputs(&[ty])
            .build()
            .unwrap();
        let mono = MediaType::Audio { channels: 1 };
        let w = args(&[("path", Arg::Str(path))]);
        let mut wav_in = kind("wav_in")
            .args(w.clone())
            .outputs(&[mono])
            .build()
            .unwrap();
        let mut ticks = 0;
        loop {
            people.run_at(ticks, &[]);
            let flow = wav_in.run_at(ticks, &[]);
            let Frame::Audio(a) = wav_in.output(0) else {
                panic!("not audio")
            };
            let s = &bundle(people.output(0)).slots()[0];
            assert_eq!(s.samples(), a.channel(0), "{name} tick {ticks}");
            ticks += 1;
            if flow == Flow::Ended {
                assert_eq!(s.state, StreamState::Left, "{name} ends with wav_in");
                break;
            }
        }
        assert!(ticks > 200, "{name}: {ticks} ticks");
    }
}
