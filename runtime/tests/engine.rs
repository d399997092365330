//! The engine end to end on test kinds: order, fan-out, fan-in, ends,
//! durations, stop, errors, both executors.

mod common;

use common::*;
use sluice_dsl::{Arg, Settings};
use sluice_runtime::testing::{run_graph, PlanBuilder};
use sluice_runtime::{BuildError, Engine, SimClock};
use std::sync::Arc;

#[test]
fn chain_delivers_every_frame_in_order_with_tick_times() {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.node(
        "e1_src",
        "counter",
        args(&[("id", 1.0), ("count", 50.0)]),
        &[],
        &[MONO],
    )
    .node("e1_pass", "pass", args(&[]), &[MONO], &[MONO])
    .node("e1_sink", "collect", args(&[]), &[MONO], &[])
    .connect("e1_src", 0, "e1_pass", 0)
    .connect("e1_pass", 0, "e1_sink", 0);
    let s = run_graph(&b.build(), &r).unwrap();
    let c = collected("e1_sink");
    assert!(c.finished);
    let want: Vec<f32> = (0..50).map(|k| value(1.0, k)).collect();
    assert_eq!(c.values, want);
    let times: Vec<u64> = (0..50).map(|k| k * 10_000_000).collect();
    assert_eq!(c.times, times, "frames carry their tick's media time");
    assert_eq!(s.ticks, 50);
    assert_eq!(s.media_time.as_millis(), 500);
    assert_eq!(s.drops, 0);
    assert_eq!(
        s.nodes.iter().find(|n| n.name == "e1_pass").unwrap().calls,
        50
    );
}

#[test]
fn fan_out_and_fan_in_see_the_same_frames() {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.node(
        "e2_a",
        "counter",
        args(&[("id", 1.0), ("count", 30.0)]),
        &[],
        &[MONO],
    )
    .node(
        "e2_b",
        "counter",
        args(&[("id", 2.0), ("count", 20.0)]),
        &[],
        &[MONO],
    )
    .node("e2_p1", "pass", args(&[]), &[MONO], &[MONO])
    .node("e2_p2", "pass", args(&[]), &[MONO], &[MONO])
    .node("e2_sum", "sum", args(&[]), &[MONO, MONO, MONO], &[MONO])
    .node("e2_sink", "collect", args(&[]), &[MONO], &[])
    .node("e2_tap", "collect", args(&[]), &[MONO], &[])
    .connect("e2_a", 0, "e2_p1", 0)
    .connect("e2_a", 0, "e2_p2", 0)
    .connect("e2_a", 0, "e2_tap", 0)
    .connect("e2_p1", 0, "e2_sum", 0)
    .connect("e2_p2", 0, "e2_sum", 1)
    .connect("e2_b", 0, "e2_sum", 2)
    .connect("e2_sum", 0, "e2_sink", 0);
    run_graph(&b.build(), &r).unwrap();
    let tap = collected("e2_tap");
    assert_eq!(tap.values.len(), 30);
    let sink = collected("e2_sink");
    // b ends after 20 ticks; from then on the sum runs without it.
    let want: Vec<f32> = (0..30)
        .map(|k| 2.0 * value(1.0, k) + if k < 20 { value(2.0, k) } else { 0.0 })
        .collect();
    assert_eq!(sink.values, want);
}

#[test]
fn duration_stops_endless_sources_and_sinks_finish() {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.settings(Settings {
        duration: Some(0.25),
        ..Settings::default()
    })
    .node("e3_src", "counter", args(&[("id", 3.0)]), &[], &[MONO])
    .node("e3_sink", "collect", args(&[]), &[MONO], &[])
    .connect("e3_src", 0, "e3_sink", 0);
    let s = run_graph(&b.build(), &r).unwrap();
    assert_eq!(collected("e3_sink").values.len(), 25);
    assert_eq!(s.ticks, 25);
    assert!(!s.stopped);
}

#[test]
fn stop_from_another_thread_drains_and_finishes() {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.node("e4_src", "counter", args(&[("id", 4.0)]), &[], &[MONO])
        .node(
            "e4_sink",
            "collect",
            args(&[("capacity", 1e7)]),
            &[MONO],
            &[],
        )
        .connect("e4_src", 0, "e4_sink", 0);
    let engine = Engine::build(&b.build(), &r).unwrap();
    let running = engine.start();
    std::thread::sleep(std::time::Duration::from_millis(50));
    running.stop();
    let s = running.wait().unwrap();
    assert!(s.stopped);
    let c = collected("e4_sink");
    assert!(c.finished);
    assert!(!c.values.is_empty());
    let want: Vec<f32> = (0..c.values.len() as u64).map(|k| value(4.0, k)).collect();
    assert_eq!(c.values, want, "nothing lost or reordered up to the stop");
}

#[test]
fn unimplemented_and_unknown_kinds_are_plain_errors() {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.node("e5_src", "counter", args(&[("count", 1.0)]), &[], &[MONO])
        .node("fancy", "planned", args(&[]), &[MONO], &[MONO])
        .connect("e5_src", 0, "fancy", 0);
    let e = Engine::build(&b.build(), &r).unwrap_err();
    assert_eq!(
        e.to_string(),
        "node `fancy` (kind `planned`) is not implemented yet"
    );

    let mut b = PlanBuilder::new(&r);
    b.node("x", "nope", args(&[]), &[], &[MONO]);
    let e = Engine::build(&b.build(), &r).unwrap_err();
    assert!(matches!(e, BuildError::UnknownKind { .. }));
}

#[test]
fn set_before_start_is_checked_and_applied() {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.node(
        "e6_src",
        "counter",
        args(&[("id", 0.0), ("count", 3.0)]),
        &[],
        &[MONO],
    )
    .node("e6_gain", "gain", args(&[]), &[MONO], &[MONO])
    .node("e6_sink", "collect", args(&[]), &[MONO], &[])
    .connect("e6_src", 0, "e6_gain", 0)
    .connect("e6_gain", 0, "e6_sink", 0);
    let mut e = Engine::build(&b.build(), &r).unwrap();
    e.set("e6_gain", "gain", Arg::Num(2.0)).unwrap();
    assert!(e.set("e6_gain", "gain", Arg::Str("x".into())).is_err());
    assert!(e.set("e6_src", "count", Arg::Num(2.0)).is_err(), "not live");
    assert!(e.set("nobody", "gain", Arg::Num(2.0)).is_err());
    assert!(e.set("e6_gain", "volume", Arg::Num(2.0)).is_err());
    e.run().unwrap();
    assert_eq!(collected("e6_sink").values, vec![0.0, 2.0, 4.0]);
}

#[test]
fn parallel_levels_give_the_same_result() {
    // Wide levels of 16 chains; parallel when the level is worth it, so
    // force the work estimate up by running long enough for it to matter.
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    for i in 0..16 {
        let (s, p, k) = (format!("e7_s{i}"), format!("e7_p{i}"), format!("e7_k{i}"));
        b.node(
            &s,
            "counter",
            args(&[("id", i as f64), ("count", 200.0)]),
            &[],
            &[MONO],
        )
        .node(&p, "pass", args(&[]), &[MONO], &[MONO])
        .node(&k, "collect", args(&[]), &[MONO], &[])
        .connect(&s, 0, &p, 0)
        .connect(&p, 0, &k, 0);
    }
    run_graph(&b.build(), &r).unwrap();
    for i in 0..16 {
        let c = collected(&format!("e7_k{i}"));
        let want: Vec<f32> = (0..200).map(|k| value(i as f32, k)).collect();
        assert_eq!(c.values, want);
    }
}

#[test]
fn realtime_run_on_a_sim_clock_matches_the_unpaced_one() {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.settings(Settings {
        realtime: true,
        ..Settings::default()
    })
    .node(
        "e8_src",
        "counter",
        args(&[("id", 8.0), ("count", 500.0)]),
        &[],
        &[MONO],
    )
    .node("e8_pass", "pass", args(&[]), &[MONO], &[MONO])
    .node("e8_sink", "io_collect", args(&[]), &[MONO], &[])
    .node("e8_rt", "collect", args(&[]), &[MONO], &[])
    .connect("e8_src", 0, "e8_pass", 0)
    .connect("e8_pass", 0, "e8_sink", 0)
    .connect("e8_pass", 0, "e8_rt", 0);
    let mut e = Engine::build(&b.build(), &r).unwrap();
    let clock = Arc::new(SimClock::new());
    e.set_pace_clock(clock.clone());
    let s = e.run().unwrap();
    let want: Vec<f32> = (0..500).map(|k| value(8.0, k)).collect();
    assert_eq!(collected("e8_rt").values, want);
    // Simulated time runs as fast as the CPU: the I/O sink may fall behind
    // and lose frames on its own edge, but what it gets is in order, once,
    // and every loss is counted.
    let io = collected("e8_sink").values;
    assert!(io.windows(2).all(|w| w[0] < w[1]), "in order, no repeats");
    assert!(io.iter().all(|v| want.contains(v)));
    assert_eq!(io.len() as u64 + s.drops, 500);
    assert_eq!(s.xruns, 0);
    assert_eq!(
        clock_ms(&clock),
        5_000,
        "500 ticks of 10 ms of simulated time"
    );
}

#[test]
fn realtime_run_on_the_system_clock_keeps_up() {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.settings(Settings {
        realtime: true,
        ..Settings::default()
    })
    .node(
        "e9_src",
        "counter",
        args(&[("id", 9.0), ("count", 20.0)]),
        &[],
        &[MONO],
    )
    .node("e9_sink", "io_collect", args(&[]), &[MONO], &[])
    .connect("e9_src", 0, "e9_sink", 0);
    let t = std::time::Instant::now();
    let s = Engine::build(&b.build(), &r).unwrap().run().unwrap();
    assert!(
        t.elapsed() >= std::time::Duration::from_millis(190),
        "paced"
    );
    let want: Vec<f32> = (0..20).map(|k| value(9.0, k)).collect();
    assert_eq!(collected("e9_sink").values, want);
    assert_eq!(s.drops, 0);
}

fn clock_ms(c: &SimClock) -> u64 {
    use sluice_runtime::PaceClock;
    c.now() / 1_000_000
}

#[test]
fn video_and_audio_domains_interleave_by_media_time() {
    use sluice_dsl::{MediaType, PixelFormat, VideoType};
    let video = MediaType::Video(VideoType {
        format: PixelFormat::Rgba,
        width: 4,
        height: 2,
        fps: (25, 1),
    });
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.node("v_src", "vcounter", args(&[("count", 10.0)]), &[], &[video])
        .node(
            "v_audio",
            "counter",
            args(&[("id", 0.0), ("count", 40.0)]),
            &[],
            &[MONO],
        )
        .node("v_probe", "vprobe", args(&[]), &[video, MONO], &[])
        .connect("v_src", 0, "v_probe", 0)
        .connect("v_audio", 0, "v_probe", 1);
    let plan = b.build();
    let s = run_graph(&plan, &r).unwrap();
    let probed = PROBED.lock().unwrap().clone();
    assert_eq!(probed.len(), 10, "one call per video frame");
    for (k, &(byte, vt, a, at)) in probed.iter().enumerate() {
        assert_eq!(byte as usize, k);
        assert_eq!(vt, k as u64 * 40_000_000, "video tick {k} at 40 ms steps");
        // Audio ticks at or before the video frame's time have run (audio
        // first on a tie); the cross-domain edge gives the newest.
        assert_eq!(at, vt, "audio frame time at video tick {k}");
        assert_eq!(a, value(0.0, 4 * k as u64));
    }
    assert_eq!(s.drops, 0);
}

#[test]
fn node_harness_drives_one_node_like_the_engine() {
    use sluice_runtime::testing::NodeHarness;
    use sluice_runtime::{AudioFrame, Frame};
    let r = registry();
    let mut h = NodeHarness::build(
        &r,
        "gain",
        args(&[("gain", 0.5)]),
        &[MONO],
        &[MONO],
        Settings::default(),
    )
    .unwrap();
    let mut input = AudioFrame::new(1, 480);
    input.data_mut().fill(2.0);
    let input = Frame::Audio(input);
    h.process(&[Some(&input)]);
    h.set("gain", &Arg::Num(3.0)).unwrap();
    h.process(&[Some(&input)]);
    match h.output(0) {
        Frame::Audio(a) => {
            assert!(a.data().iter().all(|&x| x == 6.0));
            assert_eq!(a.time, 10_000_000, "second tick stamped at 10 ms");
        }
        other => panic!("not audio: {other:?}"),
    }
    assert!(NodeHarness::build(
        &r,
        "planned",
        args(&[]),
        &[MONO],
        &[MONO],
        Settings::default()
    )
    .is_err());
}

#[test]
fn a_panicking_node_still_lets_every_sink_finish() {
    for realtime in [false, true] {
        let r = registry();
        let p = if realtime { "pr" } else { "pu" };
        let n = |s: &str| format!("{p}_{s}");
        let mut b = PlanBuilder::new(&r);
        b.settings(Settings {
            realtime,
            ..Settings::default()
        })
        .node(
            &n("src"),
            "counter",
            args(&[("id", 1.0), ("count", 100.0)]),
            &[],
            &[MONO],
        )
        .node(
            &n("bad"),
            "panicker",
            args(&[("at", 10.0)]),
            &[MONO],
            &[MONO],
        )
        .node(&n("bad_sink"), "collect", args(&[]), &[MONO], &[])
        .node(&n("disk"), "io_collect", args(&[]), &[MONO], &[])
        .connect(&n("src"), 0, &n("bad"), 0)
        .connect(&n("bad"), 0, &n("bad_sink"), 0)
        .connect(&n("src"), 0, &n("disk"), 0);
        let mut e = Engine::build(&b.build(), &r).unwrap();
        e.set_pace_clock(Arc::new(SimClock::new()));
        let err = e.run().unwrap_err();
        assert!(err.to_string().contains("panicked"), "{err}");
        assert!(collected(&n("bad_sink")).finished, "realtime {realtime}");
        assert!(collected(&n("disk")).finished, "realtime {realtime}");
    }
}

#[test]
fn a_sink_with_nothing_connected_does_not_keep_the_graph_running() {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.node(
        "lone_src",
        "counter",
        args(&[("id", 1.0), ("count", 5.0)]),
        &[],
        &[MONO],
    )
    .node("lone_sink", "collect", args(&[]), &[MONO], &[])
    .node("lone_tap", "collect", args(&[]), &[MONO], &[])
    .connect("lone_src", 0, "lone_tap", 0);
    let mut plan = b.build();
    let i = plan.node_by_name("lone_sink").unwrap();
    plan.graph[i].inputs[0].connected = false;
    let s = run_graph(&plan, &r).unwrap();
    assert_eq!(s.ticks, 5);
    assert!(collected("lone_sink").values.is_empty());
    assert!(collected("lone_sink").finished);
    assert_eq!(collected("lone_tap").values.len(), 5);
}
