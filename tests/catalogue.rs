//! The real catalogue against the checker: every example graph checks,
//! every standard node kind rejects at least one wrong parameter with a
//! located, explained error, and conversions are inserted where formats
//! differ.

use sluice::dsl::{check, Catalogue, SourceFile};
use sluice::nodes::registry;
use std::collections::BTreeSet;

/// One wrong graph per kind: (kind, graph text, a fragment of the message).
const NEGATIVE: &[(&str, &str, &str)] = &[
    ("tone", "tone(freq: 440) -> null", "`freq` needs a unit"),
    (
        "noise",
        "noise(seed: 1.5) -> null",
        "`seed` expects a whole number",
    ),
    (
        "wav_in",
        "wav_in(path: 5) -> null",
        "`path` expects a path string",
    ),
    ("gain", "tone -> gain(db: 3px) -> null", "`db`"),
    (
        "mix",
        "tone -> mix(normalize: 2) -> null",
        "`normalize` expects true or false",
    ),
    (
        "participants",
        "participants(synth: 0) -> null",
        "`synth` is out of range",
    ),
    (
        "dominant",
        "participants(synth: 3) -> dominant(top: 0) -> null",
        "`top` is out of range",
    ),
    (
        "mix_minus",
        "participants(synth: 3) -> mix_minus(foo: 1) -> null",
        "unknown parameter `foo`",
    ),
    (
        "unmix",
        "participants(synth: 3) -> unmix(ids: 5)",
        "`ids` expects a list",
    ),
    (
        "meter",
        "tone -> meter(every: 5) -> null",
        "`every` needs a unit",
    ),
    (
        "pan",
        "tone -> pan(azimuth: 200deg) -> null",
        "`azimuth` is out of range",
    ),
    (
        "delay",
        "tone -> delay(time: 60s) -> null",
        "`time` is out of range",
    ),
    (
        "remix",
        "tone -> remix(channels: 7) -> null",
        "`channels` is out of range",
    ),
    (
        "spatialize",
        "participants(synth: 2) -> spatialize(spread: 1000deg) -> null",
        "`spread` is out of range",
    ),
    (
        "video_test",
        "video_test(pattern: stripes, frames: 1) -> null",
        "`stripes` is not a choice of `pattern`",
    ),
    (
        "y4m_in",
        "y4m_in(path: \"a.y4m\", loop: 1) -> null",
        "`loop` expects true or false",
    ),
    (
        "image_in",
        "image_in(path: \"a.png\", fps: 0) -> null",
        "`fps` is out of range",
    ),
    (
        "blur",
        "video_test(frames: 1) -> blur(radius: 500) -> null",
        "`radius` is out of range",
    ),
    (
        "background_blur",
        "video_test(frames: 1) -> background_blur(mask: magic) -> null",
        "`magic` is not a choice of `mask`",
    ),
    (
        "filter",
        "video_test(frames: 1) -> filter(kind: blur) -> null",
        "`blur` is not a choice of `kind`",
    ),
    (
        "adjust",
        "video_test(frames: 1) -> adjust(contrast: 9) -> null",
        "`contrast` is out of range",
    ),
    (
        "convert",
        "video_test(frames: 1) -> convert(format: yuy2) -> null",
        "`yuy2` is not a choice of `format`",
    ),
    (
        "scale",
        "video_test(frames: 1) -> scale(size: 100000x2) -> null",
        "`size` is out of range",
    ),
    (
        "grid",
        "video_test(frames: 1) -> grid(columns: 0) -> null",
        "`columns` is out of range",
    ),
    (
        "overlay",
        "v = video_test(frames: 1); o = overlay(alpha: 3); v -> o.base; v -> o.top; o -> null",
        "`alpha` is out of range",
    ),
    (
        "wav_out",
        "tone -> wav_out(path: \"a.wav\", format: s24)",
        "`s24` is not a choice of `format`",
    ),
    (
        "y4m_out",
        "video_test(frames: 1) -> y4m_out(path: true)",
        "`path` expects a path string",
    ),
    (
        "png_out",
        "video_test(frames: 1) -> png_out(path: \"a.png\", every: 0)",
        "`every` is out of range",
    ),
    (
        "events_out",
        "tone -> meter -> events_out(path: 1)",
        "`path` expects a path string",
    ),
    (
        "exec",
        "tone -> exec(cmd: 5) -> null",
        "`cmd` expects a list",
    ),
    (
        "denoise",
        "tone -> denoise(x: 1) -> null",
        "unknown parameter `x` for `denoise`",
    ),
    (
        "vad",
        "tone -> vad(every: 5) -> null",
        "`every` needs a unit",
    ),
    (
        "null",
        "tone -> null(x: 1)",
        "unknown parameter `x` for `null`",
    ),
    ("mic", "mic(device: 3) -> null", "`device` expects a string"),
    (
        "speaker",
        "tone -> speaker(device: 1)",
        "`device` expects a string",
    ),
    (
        "acs_in",
        "acs_in(x: 1) -> null",
        "unknown parameter `x` for `acs_in`",
    ),
    (
        "acs_out",
        "tone -> acs_out(y: 2)",
        "unknown parameter `y` for `acs_out`",
    ),
    (
        "segment",
        "video_test -> segment(x: 1) -> null",
        "unknown parameter `x` for `segment`",
    ),
    (
        "background_replace",
        "video_test -> background_replace(image: 3) -> null",
        "`image` expects a path string",
    ),
    (
        "app_in",
        "app_in(name: \"mic\", type: audio, rate: 16kHz) -> null",
        "an audio `app_in` must push at the graph's rate",
    ),
    (
        "app_out",
        "app_in(name: \"a\", type: video) -> app_out(name: \"a\")",
        "two host endpoints are named `a`",
    ),
];

fn rendered_errors(text: &str) -> String {
    let file = SourceFile::new("bad.sluice", text);
    let checked = check(&file, &registry());
    assert!(checked.plan.is_none(), "`{text}` should not check");
    checked.diagnostics.render(&file, false)
}

#[test]
fn every_kind_rejects_a_wrong_parameter_with_a_located_error() {
    for (kind, text, fragment) in NEGATIVE {
        let out = rendered_errors(text);
        assert!(
            out.contains(fragment),
            "{kind}: expected {fragment:?} in\n{out}"
        );
        assert!(
            out.contains("bad.sluice:1:"),
            "{kind}: no file:line:col in\n{out}"
        );
        assert!(
            out.contains('^') || out.contains('|'),
            "{kind}: no caret in\n{out}"
        );
    }
}

#[test]
fn every_standard_kind_has_a_negative_case() {
    let reg = registry();
    let covered: BTreeSet<&str> = NEGATIVE.iter().map(|(k, _, _)| *k).collect();
    let missing: Vec<&str> = reg
        .kinds()
        .into_iter()
        .filter(|k| !covered.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "kinds without a negative case: {missing:?}"
    );
}

#[test]
fn every_example_graph_checks() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/graphs");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sluice") {
            let file = SourceFile::new(
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            );
            let checked = check(&file, &registry());
            assert!(
                checked.plan.is_some(),
                "{}",
                checked.diagnostics.render(&file, false)
            );
            count += 1;
        }
    }
    assert!(count >= 12, "only {count} example graphs");
}

fn inserted(text: &str) -> Vec<(String, String)> {
    let file = SourceFile::new("conv.sluice", text);
    let checked = check(&file, &registry());
    let plan = checked.plan.expect("checks");
    plan.graph
        .node_weights()
        .filter(|n| n.inserted)
        .map(|n| {
            (
                n.kind.clone(),
                format!("{:?}", n.args.0.values().collect::<Vec<_>>()),
            )
        })
        .collect()
}

#[test]
fn pixel_format_conversion_is_inserted_for_rgba_only_inputs() {
    let text = "v = video_test(frames: 1); o = overlay; v -> o.base; video_test(frames: 1) -> o.top; o -> null";
    let conv = inserted(text);
    assert_eq!(conv.len(), 1, "{conv:?}");
    assert_eq!(conv[0].0, "convert");
    assert!(conv[0].1.contains("rgba"), "{conv:?}");
}

#[test]
fn stereo_to_mono_conversion_is_inserted_for_mono_inputs() {
    let conv = inserted("tone -> pan -> acs_out");
    assert_eq!(conv.len(), 1, "{conv:?}");
    assert_eq!(conv[0].0, "remix");
}

/// Files the constraint cases read, in a temporary folder.
struct Media {
    dir: tempfile::TempDir,
}

impl Media {
    fn new() -> Media {
        let dir = tempfile::tempdir().unwrap();
        let wav = |name: &str, channels: u16| {
            let spec = hound::WavSpec {
                channels,
                sample_rate: 48_000,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let mut w = hound::WavWriter::create(path, spec).unwrap();
            for _ in 0..480 * channels {
                w.write_sample(0i16).unwrap();
            }
            w.finalize().unwrap();
        };
        wav("three.wav", 3);
        wav("a/x.wav", 1);
        wav("b/x.wav", 1);
        let write =
            |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
        write("notes.txt", b"not audio, not an HRTF set");
        write(
            "song.mp3",
            b"ID3\x04\0\0\0\0\0\x23TSSE\0\0\0\x0f\0\0\x03Lavf",
        );
        write("header_only.y4m", b"YUV4MPEG2 W8 H8 F30:1 C420jpeg\n");
        Media { dir }
    }

    /// The path of `name` in the folder, as graph text writes it.
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// Graphs `check` accepted and `run` then refused in the node's
/// constructor: (what, graph text, a fragment of the message, the text
/// the caret must start under).
fn refused_at_run(m: &Media) -> Vec<(&'static str, String, &'static str, String)> {
    let p = |n: &str| m.path(n);
    vec![
        (
            "tone freq",
            "tone(freq: 30kHz) -> null".into(),
            "below half the graph rate",
            "30kHz".into(),
        ),
        (
            "wav_in loop on stdin",
            r#"wav_in(path: "-", loop: true) -> null"#.into(),
            "`loop` needs a file",
            "true".into(),
        ),
        (
            "wav_in of an MP3",
            format!(r#"wav_in(path: "{}") -> null"#, p("song.mp3")),
            "it holds MP3 audio",
            format!("\"{}", p("song.mp3")),
        ),
        (
            "wav_out of a bundle without {id}",
            r#"participants(synth: 2) -> wav_out(path: "o.wav")"#.into(),
            "the path needs `{id}`",
            "\"o.wav\"".into(),
        ),
        (
            "participants with a 3-channel file",
            format!(r#"participants(paths: ["{}"]) -> null"#, p("three.wav")),
            "participants takes mono or stereo files",
            "[".into(),
        ),
        (
            "participants with a file that is not WAV",
            format!(r#"participants(path: "{}") -> null"#, p("notes.txt")),
            "not a WAV file we can read",
            "\"".into(),
        ),
        (
            "participants with one stem twice",
            format!(
                r#"participants(paths: ["{}", "{}"]) -> null"#,
                p("a/x.wav"),
                p("b/x.wav")
            ),
            "have the same stem `x`",
            "[".into(),
        ),
        (
            "spatialize with a tick over its block",
            "graph g(rate: 384kHz, frame: 1s) { participants(synth: 2) -> spatialize -> null }"
                .into(),
            "at most 65536 samples per tick",
            "spatialize".into(),
        ),
        (
            "spatialize with an HRTF file that is not SOFA",
            format!(
                r#"participants(synth: 2) -> spatialize(hrtf: "{}") -> null"#,
                p("notes.txt")
            ),
            "not a readable SOFA HRTF set",
            "\"".into(),
        ),
        (
            "remix to stereo from three channels",
            format!(
                r#"wav_in(path: "{}") -> remix(channels: 2) -> null"#,
                p("three.wav")
            ),
            "not 3 channels",
            "2)".into(),
        ),
        (
            "y4m_in of a file with no whole frame",
            format!(r#"y4m_in(path: "{}") -> null"#, p("header_only.y4m")),
            "holds no complete frame",
            "\"".into(),
        ),
        (
            "two acs_in",
            "a = acs_in; b = acs_in; a -> null; b -> null".into(),
            "only one `acs_in`",
            "b = acs_in".into(),
        ),
        (
            "two acs_out",
            "tone -> [acs_out, acs_out]".into(),
            "only one `acs_out`",
            "acs_out]".into(),
        ),
        (
            "grid too small for its cells",
            "v = video_test(frames: 1); [v, v] -> grid(size: 2x2) -> null".into(),
            "too small for 2 videos",
            "2x2".into(),
        ),
        (
            "app_in on the graph's clock in a graph that is not real time",
            r#"app_in(name: "c", type: video, pacing: graph) -> null"#.into(),
            "`pacing: graph` runs the graph on its own real-time clock",
            "graph)".into(),
        ),
    ]
}

#[test]
fn check_rejects_what_the_constructors_refuse_at_the_argument() {
    let media = Media::new();
    for (what, text, fragment, at) in refused_at_run(&media) {
        let out = rendered_errors(&text);
        let col = if at == "\"" {
            // The first string argument that names a file of the folder.
            text.find(&format!("\"{}", media.path(""))).unwrap() + 1
        } else if at == "[" {
            text.find('[').unwrap() + 1
        } else {
            text.rfind(at.as_str())
                .unwrap_or_else(|| panic!("{what}: no {at:?}"))
                + 1
        };
        assert!(
            out.contains(fragment),
            "{what}: expected {fragment:?} in\n{out}"
        );
        assert!(
            out.contains(&format!("--> bad.sluice:1:{col}\n")),
            "{what}: expected the caret at column {col} in\n{out}"
        );
        // The line under the source line marks the span (`^^|^`, or `|`
        // for one character).
        let marks = out
            .lines()
            .skip_while(|l| !l.starts_with(" 1 | "))
            .nth(1)
            .and_then(|l| l.strip_prefix("   |"))
            .unwrap_or("");
        assert!(
            marks.contains('^') || marks.contains('|'),
            "{what}: no caret in\n{out}"
        );
    }
}

#[test]
fn constraints_accept_what_the_constructors_accept() {
    let media = Media::new();
    for text in [
        "tone(freq: 23kHz) -> null".to_string(),
        "graph g(rate: 96kHz) { tone(freq: 30kHz) -> null }".to_string(),
        format!(
            r#"wav_in(path: "{}", loop: true) -> null"#,
            media.path("a/x.wav")
        ),
        r#"participants(synth: 2) -> wav_out(path: "out/{id}.wav")"#.to_string(),
        format!(
            r#"participants(paths: ["{}"]) -> mix -> null"#,
            media.path("a/x.wav")
        ),
        format!(
            r#"wav_in(path: "{}") -> remix(channels: 1) -> null"#,
            media.path("three.wav")
        ),
        "v = video_test(frames: 1); [v, v] -> grid(size: 12x6) -> null".to_string(),
        "people = acs_in; people -> mix -> acs_out".to_string(),
    ] {
        let file = SourceFile::new("ok.sluice", text.as_str());
        let checked = check(&file, &registry());
        assert!(
            checked.plan.is_some(),
            "{text}\n{}",
            checked.diagnostics.render(&file, false)
        );
    }
}

#[test]
fn devices_without_support_are_a_warning_at_check() {
    let file = SourceFile::new(
        "live.sluice",
        "mic(device: \"null\") -> speaker(device: \"null\")",
    );
    let checked = check(&file, &registry());
    assert!(checked.plan.is_some());
    let out = checked.diagnostics.render(&file, false);
    if cfg!(feature = "live") {
        assert!(!out.contains("without sound device support"), "{out}");
    } else {
        assert_eq!(checked.diagnostics.warning_count(), 2, "{out}");
        assert!(
            out.contains("built without sound device support") && out.contains("--features live"),
            "{out}"
        );
    }
}

#[test]
fn docs_nodes_md_is_what_sluice_nodes_markdown_prints() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/nodes.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = sluice::dsl::markdown(&registry());
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or(
                committed.lines().count().min(generated.lines().count()),
                |i| i,
            )
            + 1;
        panic!(
            "docs/nodes.md is out of date (first difference at line {line}); regenerate it:\n\n    \
             cargo run -- nodes --markdown > docs/nodes.md\n"
        );
    }
}

/// Every output path (a sink's `path`) of every example graph.
fn example_outputs() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/graphs");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "sluice") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let file = SourceFile::new(name.as_str(), std::fs::read_to_string(&path).unwrap());
        let plan = check(&file, &registry()).plan.expect("examples check");
        for n in plan.graph.node_weights() {
            match n.args.str("path") {
                Some(p) if n.role == sluice::dsl::Role::Sink && p != "-" => {
                    out.push((name.clone(), p.to_string()));
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn every_example_writes_its_own_outputs() {
    let outputs = example_outputs();
    assert!(outputs.len() >= 10, "{outputs:?}");
    for (i, (graph, path)) in outputs.iter().enumerate() {
        for (other, p) in &outputs[i + 1..] {
            assert!(p != path, "{graph} and {other} both write {path}");
        }
    }
}

#[test]
fn the_conversions_docs_language_md_names_are_inserted() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/language.md")).unwrap();
    // "`GRAPH` inserts `KIND(param: VALUE)`", possibly across a line break;
    // GRAPH is a whole graph.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut claims = 0;
    for part in flat
        .split(" inserts `")
        .skip(1)
        .zip(flat.split(" inserts `"))
    {
        let (after, before) = part;
        let Some(graph) = before.strip_suffix('`').and_then(|b| b.rsplit('`').next()) else {
            continue;
        };
        let node = after.split('`').next().unwrap_or("");
        let conv = inserted(graph);
        let kinds: Vec<String> = conv.iter().map(|(k, a)| format!("{k} {a}")).collect();
        let (kind, arg) = node.split_once('(').unwrap_or((node, ""));
        let value = arg.trim_end_matches(')').rsplit(": ").next().unwrap_or("");
        assert!(
            conv.iter().any(|(k, a)| k == kind && a.contains(value)),
            "docs/language.md says `{graph}` inserts `{node}`; the plan inserts {kinds:?}"
        );
        claims += 1;
    }
    assert!(claims >= 1, "docs/language.md names no inserted conversion");
}
