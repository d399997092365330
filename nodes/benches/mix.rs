//! The mix kernel: 32 streams of one 10 ms tick (in cache; SIMD against the
//! scalar reference) and 10,000 streams (out of cache; bytes per second
//! against the machine's memory bandwidth). And the job end to end without
//! the engine: 32 mono 60 s WAV files through `wav_in` -> `mix` ->
//! `wav_out`, one core, to compare with `sox -m` (benches/peers/audio.sh).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_dsl::{Arg, MediaType, PlanPort, Settings};
use sluice_nodes::kernels::mix::{accumulate, accumulate_scalar, mix_into, mix_into_scalar};
use sluice_runtime::{BuildContext, Clock, Flow, Frame, Node, PortIo};
use std::hint::black_box;
use std::path::Path;

const TICK: usize = 480;

fn streams(count: usize) -> Vec<Vec<f32>> {
    (0..count)
        .map(|k| {
            (0..TICK)
                .map(|i| ((i * 7 + k * 13) % 101) as f32 / 101.0 - 0.5)
                .collect()
        })
        .collect()
}

fn by_accumulate(out: &mut [f32], inputs: &[&[f32]]) {
    out.copy_from_slice(inputs[0]);
    for x in &inputs[1..] {
        accumulate(out, x);
    }
}

fn bench_mix(c: &mut Criterion) {
    for count in [32usize, 10_000] {
        let data = streams(count);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let mut out = vec![0.0f32; TICK];
        let mut g = c.benchmark_group(format!("mix_{count}x{TICK}"));
        g.throughput(Throughput::Bytes((count * TICK * 4) as u64));
        g.bench_function(BenchmarkId::new("simd", "mix_into"), |b| {
            b.iter(|| mix_into(black_box(&mut out), black_box(&refs)))
        });
        g.bench_function(BenchmarkId::new("simd", "accumulate"), |b| {
            b.iter(|| by_accumulate(black_box(&mut out), black_box(&refs)))
        });
        g.bench_function(BenchmarkId::new("scalar", "reference"), |b| {
            b.iter(|| mix_into_scalar(black_box(&mut out), black_box(&refs)))
        });
        g.bench_function(BenchmarkId::new("scalar", "accumulate"), |b| {
            b.iter(|| {
                out.copy_from_slice(refs[0]);
                for x in &refs[1..] {
                    accumulate_scalar(black_box(&mut out), black_box(x));
                }
            })
        });
        g.finish();
    }
}

/// Writes `count` mono 48 kHz 16-bit WAVs of `seconds` (a tone each).
fn write_media(dir: &Path, count: usize, seconds: usize) -> Vec<String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    (0..count)
        .map(|k| {
            let path = dir.join(format!("p{k:02}.wav"));
            let mut w = hound::WavWriter::create(&path, spec).unwrap();
            let step = (100 + 37 * k) as f32 / 48_000.0;
            let mut wr = w.get_i16_writer((seconds * 48_000) as u32);
            for i in 0..seconds * 48_000 {
                let v = (std::f32::consts::TAU * step * (i % 48_000) as f32).sin();
                wr.write_sample((v * 1000.0) as i16);
            }
            wr.flush().unwrap();
            w.finalize().unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect()
}

fn port(i: usize, ty: MediaType) -> PlanPort {
    PlanPort {
        name: format!("p{i}"),
        ty,
        connected: true,
    }
}

/// Builds `kind`'s node with these arguments over the signature's
/// defaults, and these port types.
fn node(
    kind: &str,
    args: &[(&str, Arg)],
    inputs: &[MediaType],
    outputs: &[MediaType],
) -> Box<dyn Node> {
    let registry = sluice_nodes::registry();
    let k = registry.kind(kind).expect("a standard kind");
    let mut a = k.signature.default_args();
    for (name, v) in args {
        a.set(name, v.clone());
    }
    let ins: Vec<PlanPort> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| port(i, *t))
        .collect();
    let outs: Vec<PlanPort> = outputs
        .iter()
        .enumerate()
        .map(|(i, t)| port(i, *t))
        .collect();
    let settings = Settings::default();
    (k.constructor(kind).expect("runnable"))(&BuildContext {
        name: "bench",
        index: 0,
        args: &a,
        inputs: &ins,
        outputs: &outs,
        settings: &settings,
        node_names: &[],
    })
    .unwrap()
}

/// `[wav_in x N] -> mix(limit: false) -> wav_out`, ticked by hand.
fn mix_files(files: &[String], out: &str) {
    let mono = MediaType::Audio { channels: 1 };
    let mut sources: Vec<(Box<dyn Node>, Frame)> = files
        .iter()
        .map(|f| {
            let n = node("wav_in", &[("path", Arg::Str(f.clone()))], &[], &[mono]);
            (n, Frame::for_type(&mono, TICK))
        })
        .collect();
    let types = vec![mono; files.len()];
    let mut mixer = node(
        "mix",
        &[("limit", Arg::Bool(false)), ("normalize", Arg::Bool(false))],
        &types,
        &[mono],
    );
    let mut mixed = [Frame::for_type(&mono, TICK)];
    let mut sink = node("wav_out", &[("path", Arg::Str(out.into()))], &[mono], &[]);
    for tick in 0.. {
        let clock = Clock {
            tick,
            time: tick * 10_000_000,
            rate: 48_000,
            frame_samples: TICK,
        };
        let mut ended = false;
        for (n, f) in &mut sources {
            let mut outs = [f];
            ended |= n.process(&mut PortIo::new(&[], &mut outs, clock)) == Flow::Ended;
        }
        let ins: Vec<Option<&Frame>> = sources.iter().map(|(_, f)| Some(f)).collect();
        let [m] = &mut mixed;
        mixer.process(&mut PortIo::new(&ins, &mut [m], clock));
        sink.process(&mut PortIo::new(&[Some(&mixed[0])], &mut [], clock));
        if ended {
            break;
        }
    }
    sink.finish().unwrap();
}

/// CPU time (user + system) this thread has used, in 10 ms clock ticks;
/// on a shared machine it says more than wall time.
fn thread_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn bench_files(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let files = write_media(dir.path(), 32, 60);
    let out = dir.path().join("mixed.wav");
    let out = out.to_str().unwrap();
    if let Some(t0) = thread_cpu_ticks() {
        let runs = 5;
        for _ in 0..runs {
            mix_files(&files, out);
        }
        let ms = (thread_cpu_ticks().unwrap_or(t0) - t0) * 10 / runs;
        eprintln!("mix_files_32x60s: {ms} ms of CPU time per run (compare `time sox -m`)");
    }
    let mut g = c.benchmark_group("mix_files_32x60s");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(33 * 60 * 48_000 * 2));
    g.bench_function("wav_in_mix_wav_out", |b| b.iter(|| mix_files(&files, out)));
    g.finish();
}

criterion_group!(benches, bench_mix, bench_files);
criterion_main!(benches);
