//! The mix of files, read by `wav_in`, summed by `mix` (no normalize, no
//! limit) and written by `wav_out`, equals `sox -m -v 1 a.wav -v 1 b.wav
//! ... -D out.wav` to within one 16-bit LSB, overloads included (both
//! clip). Skipped, saying so, when sox is not installed.

use super::{mix, noise::Xoshiro128, wav_in, wav_out};
use crate::test_support::{args, MONO};
use sluice_dsl::Arg;
use sluice_runtime::testing::skip_unless_ci;
use sluice_runtime::testing::NodeHarness;
use sluice_runtime::{Flow, Frame};
use std::path::{Path, PathBuf};
use std::process::Command;

fn sox_installed() -> bool {
    Command::new("sox")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A speech-loud test file: a tone plus noise, different per seed, loud
/// enough that four of them overload the sum now and then.
fn write_input(path: &Path, seed: u64, frames: usize) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut rng = Xoshiro128::new(seed);
    let freq = 110.0 * (seed + 1) as f64;
    for i in 0..frames {
        let tone = (std::f64::consts::TAU * freq * i as f64 / 48_000.0).sin() * 0.3;
        let v = tone as f32 + rng.next_bipolar() * 0.1;
        w.write_sample((v * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// Runs `[wav_in...] -> mix(normalize: false, limit: false) -> wav_out`.
fn mix_with_nodes(inputs: &[PathBuf], out: &Path) {
    let mut sources: Vec<_> = inputs
        .iter()
        .map(|p| {
            let a = args(&[
                ("path", Arg::Str(p.to_str().unwrap().into())),
                ("loop", Arg::Bool(false)),
            ]);
            NodeHarness::of(wav_in::signature(), wav_in::build)
                .args(a)
                .outputs(&[MONO])
                .build()
                .unwrap()
        })
        .collect();
    let types = vec![MONO; inputs.len()];
    let mix_args = args(&[("normalize", Arg::Bool(false)), ("limit", Arg::Bool(false))]);
    let mut mixer = NodeHarness::of(mix::signature(), mix::build)
        .args(mix_args)
        .inputs(&types)
        .outputs(&[MONO])
        .build()
        .unwrap();
    let out_args = args(&[
        ("path", Arg::Str(out.to_str().unwrap().into())),
        ("format", Arg::Enum("s16".into())),
    ]);
    let mut sink = NodeHarness::of(wav_out::signature(), wav_out::build)
        .args(out_args)
        .inputs(&[MONO])
        .outputs(&[])
        .build()
        .unwrap();
    for t in 0.. {
        let mut ended = false;
        for node in &mut sources {
            ended |= node.run_at(t, &[]) == Flow::Ended;
        }
        let ins: Vec<&Frame> = sources.iter().map(|n| n.output(0)).collect();
        mixer.run_at(t, &ins);
        sink.run_at(t, &[mixer.output(0)]);
        if ended {
            break;
        }
    }
    sink.finish().unwrap();
}

fn samples(path: &Path) -> Vec<i16> {
    let mut r = hound::WavReader::open(path).unwrap();
    r.samples::<i16>().map(Result::unwrap).collect()
}

#[test]
fn mix_of_files_equals_sox_m_within_one_lsb() {
    if !sox_installed() {
        skip_unless_ci("sox not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let frames = 48_000 + 4_800;
    let inputs: Vec<PathBuf> = (0..4)
        .map(|k| {
            let p = dir.path().join(format!("in{k}.wav"));
            write_input(&p, k, frames);
            p
        })
        .collect();
    let ours = dir.path().join("ours.wav");
    mix_with_nodes(&inputs, &ours);

    let theirs = dir.path().join("sox.wav");
    let mut cmd = Command::new("sox");
    cmd.arg("-m");
    for p in &inputs {
        cmd.arg("-v").arg("1").arg(p);
    }
    let status = cmd.arg("-D").arg(&theirs).status().unwrap();
    assert!(status.success(), "sox -m failed");

    let (a, b) = (samples(&ours), samples(&theirs));
    assert_eq!(a.len(), b.len(), "same length");
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (i32::from(*x) - i32::from(*y)).abs())
        .max()
        .unwrap();
    let clipped = b
        .iter()
        .filter(|&&s| s == i16::MAX || s == i16::MIN)
        .count();
    assert!(clipped > 0, "the test signal overloads the sum somewhere");
    eprintln!("largest difference from sox -m: {worst} LSB, {clipped} samples clipped");
    assert!(worst <= 1, "largest difference from sox -m: {worst} LSB");
}
