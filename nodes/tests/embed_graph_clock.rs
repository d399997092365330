//! `app_in(pacing: graph)`: a real-time graph runs on its own clock while
//! the host pushes whenever it likes. The newest video frame wins and is
//! repeated, not blacked out, until a newer one comes.

use sluice_dsl::SourceFile;
use sluice_runtime::{Engine, VideoFrame};
use std::time::Duration;

const GRAPH: &str = r#"graph host(realtime: true) {
    app_in(name: "camera", type: video, size: 32x16, format: i420, fps: 100, pacing: graph)
        -> app_out(name: "outgoing")
}"#;

#[test]
fn the_graph_clock_takes_the_newest_frame_and_repeats_it() {
    let registry = sluice_nodes::registry();
    let file = SourceFile::new("host.sluice", GRAPH);
    let checked = sluice_dsl::check(&file, &registry);
    let plan = checked
        .plan
        .unwrap_or_else(|| panic!("{}", checked.diagnostics.render(&file, false)));
    let mut engine = Engine::build(&plan, &registry).expect("builds");
    let mut camera = engine.input::<VideoFrame>("camera").expect("camera");
    let mut outgoing = engine.output("outgoing").expect("outgoing");
    for k in 1..=3u8 {
        assert!(camera.push_with(|v| v.plane_mut(0).fill(k)));
    }
    let running = engine.start();
    let mut seen = Vec::new();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(10));
        while let Some(f) = outgoing.pop() {
            seen.push(f.video().expect("video").plane(0)[0]);
        }
    }
    running.stop();
    running.wait().expect("runs");
    assert!(seen.len() >= 5, "{seen:?}");
    assert_eq!(seen[0], 3, "frames 1 and 2 were passed over: {seen:?}");
    assert!(
        seen.iter().all(|&y| y == 3),
        "repeated, never black: {seen:?}"
    );
    assert_eq!(camera.replaced(), 2);
    assert!(camera.underruns() >= 4, "{}", camera.underruns());
}
