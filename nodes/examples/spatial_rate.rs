//! Renders N sources through `spatialize` for a given length of audio and
//! prints source-seconds rendered per second of wall time, for comparison
//! with ffmpeg's sofalizer (benches/peers/spatial.sh).
//!
//! Usage: spatial_rate [--hrtf builtin|none|FILE.sofa] [--sources N]
//!                     [--seconds S] [WAV ...]
//! With WAV files (mono, 48 kHz) each file is one source and its samples
//! are loaded before timing starts; without, each source is white noise.

use sluice_nodes::spatial::spatialize::{Config, Hrtf, Spatialize, DEFAULT_LIMIT};
use sluice_runtime::{AudioFrame, BundleFrame, Clock, Frame, Node, PortIo, StreamId, StreamState};
use std::time::Instant;

const RATE: u32 = 48_000;
const BLOCK: usize = 480;
/// Samples of generated noise per source, played in a loop (one second:
/// enough to be uncorrelated with the filters, small enough to stay in cache
/// for a few sources, as live call audio does).
const LOOP: usize = 48_000;

fn main() {
    if let Err(e) = run() {
        eprintln!("spatial_rate: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut hrtf = Hrtf::Builtin;
    let mut sources = 4usize;
    let mut seconds = 60.0f64;
    let mut wavs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--hrtf" => {
                hrtf = match value()?.as_str() {
                    "builtin" => Hrtf::Builtin,
                    "none" => Hrtf::Pan,
                    path => Hrtf::Sofa(path.to_string()),
                }
            }
            "--sources" => sources = value()?.parse().map_err(|e| format!("--sources: {e}"))?,
            "--seconds" => seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            _ => wavs.push(a),
        }
    }
    let ticks = (seconds * f64::from(RATE) / BLOCK as f64).round() as usize;
    if ticks == 0 {
        return Err("--seconds must cover at least one 10 ms tick".to_string());
    }
    let signals = if wavs.is_empty() {
        (0..sources).map(|i| noise(i as u64 + 1, LOOP)).collect()
    } else {
        wavs.iter()
            .map(|p| read_mono(p, ticks * BLOCK))
            .collect::<Result<Vec<_>, _>>()?
    };
    let sources = signals.len();
    let config = Config {
        spread: 120.0,
        slots: sources.max(1),
        positions: None,
        hrtf,
        limit: DEFAULT_LIMIT,
    };
    let start = Instant::now();
    let build_cpu_start = thread_cpu_seconds();
    let mut node = Spatialize::new(&config, sources, RATE, BLOCK).map_err(|e| e.to_string())?;
    let built = start.elapsed().as_secs_f64();
    let build_cpu = thread_cpu_seconds()
        .zip(build_cpu_start)
        .map(|(b, a)| b - a);
    let mut input = Frame::Bundle(BundleFrame::new(sources, BLOCK));
    let mut output = Frame::Audio(AudioFrame::new(2, BLOCK));
    let mut peak = 0.0f32;
    let start = Instant::now();
    let cpu_start = thread_cpu_seconds();
    for t in 0..ticks {
        let Frame::Bundle(b) = &mut input else {
            unreachable!()
        };
        for (i, s) in b.slots_mut().iter_mut().enumerate() {
            if t == 0 {
                s.id = StreamId::new(&format!("s{i}"));
            }
            s.state = if t == 0 {
                StreamState::Joined
            } else {
                StreamState::Active
            };
            let sig = &signals[i];
            let at = (t * BLOCK) % sig.len();
            s.samples_mut().copy_from_slice(&sig[at..at + BLOCK]);
        }
        let clock = Clock {
            tick: t as u64,
            time: t as u64 * 10_000_000,
            rate: RATE,
            frame_samples: BLOCK,
        };
        let inputs = [Some(&input)];
        let mut outputs = [&mut output];
        node.process(&mut PortIo::new(&inputs, &mut outputs, clock));
        if let Frame::Audio(a) = &output {
            peak = a.data().iter().fold(peak, |m, v| m.max(v.abs()));
        }
    }
    let rendered = start.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds().zip(cpu_start).map(|(b, a)| b - a);
    let media = ticks as f64 * BLOCK as f64 / f64::from(RATE);
    let ss = sources as f64 * media;
    let per_cpu = |c: Option<f64>| c.map_or("n/a".to_string(), |c| format!("{:.0}", ss / c));
    let cpu_rate = per_cpu(cpu);
    let cpu_all = per_cpu(cpu.zip(build_cpu).map(|(a, b)| a + b));
    println!(
        "{sources} sources x {media:.0} s: build {built:.3} s, render {rendered:.3} s wall, \
         {:.0} source-seconds/s wall, {:.0} including build; per CPU-second {cpu_rate}, \
         {cpu_all} including build (peak {peak:.2})",
        ss / rendered,
        ss / (rendered + built)
    );
    Ok(())
}

/// CPU time this thread has run, in seconds (Linux; `None` elsewhere):
/// the machine may be shared, and wall time then counts other programs.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// White noise at about -15 dBFS RMS (xorshift), `len` samples.
fn noise(seed: u64, len: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            0.6 * ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
        })
        .collect()
}

/// A mono 48 kHz WAV's first `len` samples (zero-padded).
fn read_mono(path: &str, len: usize) -> Result<Vec<f32>, String> {
    let mut r = hound::WavReader::open(path).map_err(|e| format!("{path}: {e}"))?;
    let spec = r.spec();
    if spec.channels != 1 || spec.sample_rate != RATE {
        return Err(format!(
            "{path}: need mono {RATE} Hz, got {} channels at {} Hz",
            spec.channels, spec.sample_rate
        ));
    }
    let mut out: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().take(len).collect::<Result<_, _>>(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1i64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .take(len)
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
        }
    }
    .map_err(|e| format!("{path}: {e}"))?;
    out.resize(len, 0.0);
    Ok(out)
}
