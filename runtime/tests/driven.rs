//! The driven executor: a caller's thread steps the graph tick by tick.
//! It must deliver what the other executors deliver, in media-time order
//! across domains, and stop, reload, fail and finish as they do.

mod common;

use common::*;
use sluice_dsl::{Arg, Domain, MediaType, PixelFormat, Settings, VideoType};
use sluice_runtime::testing::PlanBuilder;
use sluice_runtime::{Engine, Parallel};

fn chain(prefix: &str, count: Option<u64>, settings: Settings) -> sluice_dsl::Plan {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    let n = |s: &str| format!("{prefix}_{s}");
    let mut src = vec![("id", 2.0)];
    if let Some(c) = count {
        src.push(("count", c as f64));
    }
    b.settings(settings)
        .node(&n("src"), "counter", args(&src), &[], &[MONO])
        .node(&n("gain"), "gain", args(&[("gain", 1.0)]), &[MONO], &[MONO])
        .node(&n("sink"), "collect", args(&[]), &[MONO], &[])
        .node(&n("disk"), "io_collect", args(&[]), &[MONO], &[])
        .connect(&n("src"), 0, &n("gain"), 0)
        .connect(&n("gain"), 0, &n("sink"), 0)
        .connect(&n("gain"), 0, &n("disk"), 0);
    b.build()
}

#[test]
fn steps_deliver_what_a_run_delivers_and_end_with_the_sources() {
    // A real-time plan too: the caller paces, I/O nodes run inline.
    for realtime in [false, true] {
        let p = if realtime { "d1r" } else { "d1u" };
        let settings = Settings {
            realtime,
            ..Settings::default()
        };
        let r = registry();
        let mut d = Engine::build(&chain(p, Some(30), settings), &r)
            .unwrap()
            .drive();
        assert_eq!(d.domains(), [Domain::Audio]);
        let mut steps = 0;
        while !d.step(Domain::Audio) {
            steps += 1;
            assert!(steps < 100, "never ended");
        }
        // 30 ticks with frames, one more in which every node sees the end.
        assert_eq!(steps, 30);
        assert_eq!(d.next_tick(Domain::Audio), None);
        let s = d.finish().unwrap();
        assert_eq!(s.ticks, 30);
        assert!(!s.stopped);
        let want: Vec<f32> = (0..30).map(|k| value(2.0, k)).collect();
        for sink in ["sink", "disk"] {
            let c = collected(&format!("{p}_{sink}"));
            assert_eq!(c.values, want, "{p}_{sink}");
            assert!(c.finished);
        }
    }
}

#[test]
fn step_until_runs_every_domain_due_in_media_time_order() {
    let video = MediaType::Video(VideoType {
        format: PixelFormat::Rgba,
        width: 4,
        height: 2,
        fps: (25, 1),
    });
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.node(
        "dv_src",
        "vcounter",
        args(&[("count", 10.0)]),
        &[],
        &[video],
    )
    .node(
        "dv_audio",
        "counter",
        args(&[("id", 0.0), ("count", 40.0)]),
        &[],
        &[MONO],
    )
    .node("dv_probe", "vprobe", args(&[]), &[video, MONO], &[])
    .connect("dv_src", 0, "dv_probe", 0)
    .connect("dv_audio", 0, "dv_probe", 1);
    PROBED.lock().unwrap().clear();
    let mut d = Engine::build(&b.build(), &r).unwrap().drive();
    let v = Domain::Video {
        fps_num: 25,
        fps_den: 1,
    };
    assert_eq!(d.domains(), [Domain::Audio, v]);
    // Up to 30 ms: audio ticks 0..=3, video tick 0 (at 0 ms).
    assert!(!d.step_until(30_000_000));
    assert_eq!(d.next_tick(Domain::Audio), Some(40_000_000));
    assert_eq!(d.next_tick(v), Some(40_000_000));
    assert_eq!(PROBED.lock().unwrap().len(), 1);
    assert!(d.step_until(u64::MAX));
    d.finish().unwrap();
    let probed = PROBED.lock().unwrap().clone();
    assert_eq!(probed.len(), 10);
    for (k, &(byte, vt, a, at)) in probed.iter().enumerate() {
        assert_eq!((byte as usize, vt), (k, k as u64 * 40_000_000));
        // Audio before video at a tie, as in the unpaced executor.
        assert_eq!((a, at), (value(0.0, 4 * k as u64), vt));
    }
}

#[test]
fn a_stop_drains_within_a_step_and_finish_reports_it() {
    let r = registry();
    let mut d = Engine::build(&chain("d3", None, Settings::default()), &r)
        .unwrap()
        .drive();
    for _ in 0..7 {
        assert!(!d.step(Domain::Audio));
    }
    d.stop_handle().stop();
    assert!(d.step(Domain::Audio), "the source ends, the rest drain");
    let s = d.finish().unwrap();
    assert!(s.stopped);
    assert_eq!(collected("d3_sink").values.len(), 7);
    assert!(collected("d3_disk").finished);
}

#[test]
fn changes_queued_by_a_controller_apply_between_steps() {
    let r = registry();
    let mut e = Engine::build(&chain("d4", Some(6), Settings::default()), &r).unwrap();
    let mut ctl = e.controller();
    let mut d = e.drive();
    d.step(Domain::Audio);
    d.step(Domain::Audio);
    ctl.set("d4_gain", "gain", Arg::Num(-1.0)).unwrap();
    d.step_until(u64::MAX);
    d.finish().unwrap();
    let want: Vec<f32> = (0..6)
        .map(|k| value(2.0, k) * if k < 2 { 1.0 } else { -1.0 })
        .collect();
    assert_eq!(collected("d4_sink").values, want);
    assert_eq!(ctl.pending(), 0);
}

#[test]
fn a_reload_posted_between_steps_is_swapped_in_by_the_next() {
    let r = registry();
    let graph = |gain: f64| {
        let mut b = PlanBuilder::new(&r);
        b.node(
            "d5_src",
            "counter",
            args(&[("id", 3.0), ("count", 12.0)]),
            &[],
            &[MONO],
        )
        .node("d5_gain", "gain", args(&[("gain", gain)]), &[MONO], &[MONO])
        .node("d5_sink", "collect", args(&[]), &[MONO], &[])
        .connect("d5_src", 0, "d5_gain", 0)
        .connect("d5_gain", 0, "d5_sink", 0);
        b.build()
    };
    let e = Engine::build(&graph(1.0), &r).unwrap();
    let mut reloader = e.reloader();
    let mut d = e.drive();
    for _ in 0..4 {
        d.step(Domain::Audio);
    }
    let changes = reloader.prepare(&graph(2.0), &r).unwrap();
    assert_eq!(changes.faded, ["d5_gain"]);
    assert!(!reloader.applied());
    d.step_until(u64::MAX);
    assert!(reloader.applied());
    let s = d.finish().unwrap();
    assert_eq!(s.ticks, 12, "the run's ticks carry over the swap");
    let got = collected("d5_sink").values;
    assert_eq!(got.len(), 12);
    let before: Vec<f32> = (0..4).map(|k| value(3.0, k)).collect();
    assert_eq!(got[..4], before[..], "the kept source went on where it was");
    // Four ticks of crossfade (ramps: not uniform frames), then gain 2.
    assert!(got[4..8].iter().all(|v| v.is_nan()), "{got:?}");
    let after: Vec<f32> = (8..12).map(|k| 2.0 * value(3.0, k)).collect();
    assert_eq!(got[8..], after[..]);
}

/// A node's own counters ([`sluice_runtime::Node::report`]) are in the
/// stats table (what `--stats` prints), live, and still there after a
/// reload that keeps the node running.
#[test]
fn a_nodes_own_counters_are_in_the_stats_table_across_a_reload() {
    let r = registry();
    let graph = |gain: f64| {
        let mut b = PlanBuilder::new(&r);
        b.node(
            "d8_src",
            "counter",
            args(&[("id", 3.0), ("count", 12.0)]),
            &[],
            &[MONO],
        )
        .node("d8_tally", "tally", args(&[]), &[MONO], &[MONO])
        .node("d8_gain", "gain", args(&[("gain", gain)]), &[MONO], &[MONO])
        .node("d8_sink", "collect", args(&[]), &[MONO], &[])
        .connect("d8_src", 0, "d8_tally", 0)
        .connect("d8_tally", 0, "d8_gain", 0)
        .connect("d8_gain", 0, "d8_sink", 0);
        b.build()
    };
    let e = Engine::build(&graph(1.0), &r).unwrap();
    let mut reloader = e.reloader();
    let mut d = e.drive();
    for _ in 0..4 {
        d.step(Domain::Audio);
    }
    assert!(
        d.stats().table().contains("d8_tally: 4 frames tallied"),
        "{}",
        d.stats().table()
    );
    let changes = reloader.prepare(&graph(2.0), &r).unwrap();
    assert_eq!(changes.kept, ["d8_sink", "d8_src", "d8_tally"]);
    d.step_until(u64::MAX);
    assert!(reloader.applied());
    let table = reloader.stats().table();
    assert!(table.contains("d8_tally: 12 frames tallied"), "{table}");
    d.finish().unwrap();
}

#[test]
fn a_panicking_node_ends_the_run_and_every_sink_finishes() {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.node(
        "d6_src",
        "counter",
        args(&[("id", 1.0), ("count", 100.0)]),
        &[],
        &[MONO],
    )
    .node("d6_bad", "panicker", args(&[("at", 5.0)]), &[MONO], &[MONO])
    .node("d6_sink", "collect", args(&[]), &[MONO], &[])
    .connect("d6_src", 0, "d6_bad", 0)
    .connect("d6_bad", 0, "d6_sink", 0);
    let mut e = Engine::build(&b.build(), &r).unwrap();
    e.set_parallel(Parallel::Always);
    let mut d = e.drive();
    assert!(d.step_until(u64::MAX), "the panic ended the graph");
    let err = d.finish().unwrap_err();
    assert!(err.to_string().contains("panicked"), "{err}");
    assert!(collected("d6_sink").finished);
    assert_eq!(collected("d6_sink").values.len(), 5);
}
