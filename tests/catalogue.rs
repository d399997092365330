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
