//! What `sluice plan`, `sluice dot` and `sluice nodes` print, on the test
//! catalogue (the CLI passes the node library's registry to the same
//! functions).

use sluice_dsl::{
    check, describe, describe_kind, list_kinds, markdown, testing, to_dot, SourceFile,
};

fn plan(text: &str) -> sluice_dsl::Plan {
    check(&SourceFile::new("show.sluice", text), &testing::catalogue())
        .plan
        .expect("valid")
}

#[test]
fn describe_lists_order_levels_domains_threads_and_conversions() {
    let p = plan("graph demo(duration: 2s) {\n    cam = video_test(frames: 5)\n    cam -> background_blur -> y4m_out(path: \"o.y4m\")\n    tone -> wav_out(path: \"t.wav\")\n}\n");
    let d = describe(&p);
    for want in [
        "graph demo",
        "rate 48000 Hz, frame 480 samples (10ms), as fast as possible, stops after 2s",
        "level 0, video 30fps domain, video source, real-time",
        "convert = convert(format: rgba, matrix: bt601, range: limited)  [inserted]",
        "sink, I/O thread",
        "out -> background_blur.in: video(rgba 1280x720 30fps)",
        "inserted conversions: 2",
        "endless sources: tone",
    ] {
        assert!(d.contains(want), "missing {want:?} in\n{d}");
    }
}

#[test]
fn dot_has_records_typed_edges_and_dashed_conversions() {
    let p = plan("video_test(frames: 1) -> background_blur -> null\n");
    let d = to_dot(&p);
    assert!(d.starts_with("digraph \"show\" {"));
    assert!(
        d.contains(
            "n1 [label=\"{{<i0> in|<i1> mask}|background_blur\\nbackground_blur|{<o0> out}}\"];"
        ),
        "{d}"
    );
    assert!(d.contains("style=dashed"));
    assert!(
        d.contains("n0:o0 -> n3:i0 [label=\"video(i420 1280x720 30fps)\"];"),
        "{d}"
    );
    assert!(d.trim_end().ends_with('}'));
}

#[test]
fn the_catalogue_is_generated_from_signatures() {
    let cat = testing::catalogue();
    let list = list_kinds(&cat);
    assert_eq!(list.lines().count(), 20);
    assert!(list
        .lines()
        .any(|l| l.starts_with("background_blur") && l.contains("process")));
    let blur = describe_kind(&cat, "blur").expect("known");
    assert!(
        blur.contains("radius: a length in px [8px] 0px .. 256px live"),
        "{blur}"
    );
    assert!(blur.contains("in  `in`: video(i420 or rgba)"), "{blur}");
    assert_eq!(
        describe_kind(&cat, "blurr").unwrap_err(),
        "unknown node kind `blurr`; did you mean `blur`?"
    );
    assert!(describe_kind(&cat, "unmix")
        .expect("known")
        .contains("ports depend on the arguments"));
    let md = markdown(&cat);
    assert!(md.starts_with("# Node catalogue"));
    assert!(md.contains("| [`tone`](#tone) | audio source |"));
    assert!(
        md.contains("| `freq` | a frequency | 440Hz | 1Hz .. 24kHz |"),
        "{md}"
    );
}

#[test]
fn colour_only_when_asked() {
    let file = SourceFile::new("c.sluice", "tone -> blurr -> null\n");
    let c = check(&file, &testing::catalogue());
    assert!(!c.diagnostics.render(&file, false).contains('\u{1b}'));
    assert!(c.diagnostics.render(&file, true).contains('\u{1b}'));
    assert!(c
        .diagnostics
        .render(&file, false)
        .starts_with("error: unknown name `blurr`\n"));
}
