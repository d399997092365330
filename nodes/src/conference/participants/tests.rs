use super::*;
use crate::conference::testkit::{args, build as build_node, bundle, tick, TICK};
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

fn cap(a: &Args) -> u32 {
    match ports(a).unwrap().outputs[0].ty {
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
    assert!(build_node(build, &none, &[], &[MediaType::Bundle { capacity: 1 }]).is_err());
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
    let mut node = build_node(build, &a, &[], &[ty]).unwrap();
    let mut out = [Frame::for_type(&ty, TICK)];
    let lengths = [
        (48_000usize, 1u16, 1.0 / 32768.0),
        (24_100, 2, 1e-6),
        (200, 1, 1.0 / 8_388_608.0),
    ];
    for t in 0..100 {
        let flow = tick(node.as_mut(), &[], &mut out, t as u64);
        let b = bundle(&out[0]);
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
        build_node(build, &a, &[], &ty).err().unwrap().0
    };
    write_wav(&d.join("slow.wav"), 1, 44_100, 16, false, 10);
    let e = err(&d.join("slow.wav"));
    assert!(
        e.contains("slow.wav") && e.contains("44100 Hz") && e.contains("48000"),
        "{e}"
    );
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
    let e = build_node(build, &two, &[], &[MediaType::Bundle { capacity: 3 }])
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
    let mut node = build_node(build, &a, &[], &[ty]).unwrap();
    let mut twin = build_node(build, &a, &[], &[ty]).unwrap();
    let mut out = [Frame::for_type(&ty, TICK)];
    let mut out2 = [Frame::for_type(&ty, TICK)];
    let mut prev = vec![StreamState::Absent; n as usize];
    let (mut joins, mut leaves, mut sounding) = (0, 0, [0usize; 7]);
    for t in 0..100 * 300 {
        assert_eq!(tick(node.as_mut(), &[], &mut out, t), Flow::Continue);
        tick(twin.as_mut(), &[], &mut out2, t);
        let b = bundle(&out[0]);
        let mut active = 0;
        for (i, s) in b.slots().iter().enumerate() {
            assert_eq!(
                s.samples(),
                bundle(&out2[0]).slots()[i].samples(),
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
