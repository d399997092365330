//! Whole graphs through the engine, as fast as possible: 32 WAV files mixed
//! to one (files made at bench start), and the audio part of the README's
//! conference graph. Criterion times one whole run (check, build, run,
//! finish); the media length over that time is the real-time factor,
//! printed once per graph.

use criterion::{criterion_group, criterion_main, Criterion};
use sluice_dsl::{Plan, SourceFile};
use sluice_runtime::Engine;
use std::path::Path;
use std::time::Instant;

const SECONDS: u32 = 10;

fn plan(text: &str) -> Plan {
    let file = SourceFile::new("<bench>", text);
    let checked = sluice_dsl::check(&file, &sluice_nodes::registry());
    checked
        .plan
        .unwrap_or_else(|| panic!("{}", checked.diagnostics.render(&file, false)))
}

/// Runs `plan` once; its real-time factor as measured around the whole run.
fn run(plan: &Plan) -> f64 {
    let start = Instant::now();
    let engine = Engine::build(plan, &sluice_nodes::registry()).expect("build");
    let summary = engine.run().expect("run");
    summary.media_time.as_secs_f64() / start.elapsed().as_secs_f64()
}

/// 32 mono 48 kHz 16-bit files of `SECONDS`, each a different tone.
fn make_wavs(dir: &Path) -> Vec<String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    (0..32)
        .map(|i| {
            let path = dir.join(format!("p{i:02}.wav"));
            let mut w = hound::WavWriter::create(&path, spec).unwrap();
            let freq = 100.0 + 37.0 * i as f32;
            for n in 0..SECONDS * 48_000 {
                let x = (n as f32 * freq * std::f32::consts::TAU / 48_000.0).sin();
                w.write_sample((x * 1000.0) as i16).unwrap();
            }
            w.finalize().unwrap();
            path.display().to_string()
        })
        .collect()
}

fn graphs(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let inputs: Vec<String> = make_wavs(dir.path())
        .iter()
        .map(|p| format!("wav_in(path: {p:?})"))
        .collect();
    let mix32 = plan(&format!(
        "[{}] -> mix(limit: false) -> wav_out(path: \"{out}/mix32.wav\")",
        inputs.join(", ")
    ));
    let conference = plan(&format!(
        r#"graph conference(duration: {SECONDS}s) {{
    people = participants(synth: 6)
    people -> dominant(top: 4) -> spatialize(spread: 120deg) -> wav_out(path: "{out}/heard.wav")
    people -> meter -> events_out(path: "{out}/levels.jsonl")
}}"#
    ));
    let mut g = c.benchmark_group("graphs");
    g.sample_size(10);
    for (name, p) in [
        ("mix32_wav_10s", &mix32),
        ("conference_audio_10s", &conference),
    ] {
        println!("{name}: {:.0}x real time", run(p));
        g.bench_function(name, |b| b.iter(|| run(p)));
    }
    g.finish();
}

criterion_group!(benches, graphs);
criterion_main!(benches);
