//! The real-time executor on a simulated clock: a stalled I/O sink drops on
//! its own edge while audio ticks stay on time; a slow tick counts an xrun;
//! a parameter change through the control ring lands on a tick boundary;
//! the per-domain jitter histogram sees the late tick.

mod common;

use common::*;
use sluice_dsl::{Arg, Settings};
use sluice_runtime::testing::PlanBuilder;
use sluice_runtime::{Engine, PaceClock, SimClock};

use std::sync::atomic::Ordering;
use std::sync::Arc;

fn realtime() -> Settings {
    Settings {
        realtime: true,
        ..Settings::default()
    }
}

/// Other tests in this binary must not see the stall: run these one by one.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn stalled_io_sink_drops_on_its_own_edge_and_audio_stays_on_time() {
    let _g = SERIAL.lock().unwrap();
    let r = registry();
    let ticks = 2_000u64;
    let mut b = PlanBuilder::new(&r);
    b.settings(realtime())
        .node(
            "r1_src",
            "counter",
            args(&[("id", 1.0), ("count", ticks as f64)]),
            &[],
            &[MONO],
        )
        .node("r1_gain", "gain", args(&[]), &[MONO], &[MONO])
        .node("r1_disk", "io_collect", args(&[]), &[MONO], &[])
        .node("r1_live", "collect", args(&[]), &[MONO], &[])
        .connect("r1_src", 0, "r1_gain", 0)
        .connect("r1_gain", 0, "r1_disk", 0)
        .connect("r1_gain", 0, "r1_live", 0);
    let mut e = Engine::build(&b.build(), &r).unwrap();
    let clock = Arc::new(SimClock::new());
    e.set_pace_clock(clock.clone());
    // A SCHED_FIFO thread on a simulated clock never sleeps: on a busy
    // two-core machine it could run every tick before the I/O thread is
    // first scheduled, and the stall this test stages would not happen.
    e.set_rt_priority(None);
    let stats = e.stats();
    STALL.store(true, Ordering::Release);
    let running = e.start();
    // The disk is stalled from its first frame on: the audio thread must
    // still run every tick on time, filling the disk's ring and then
    // dropping on that edge alone.
    while stats.ticks() < ticks {
        std::thread::yield_now();
    }
    // The simulated clock moves only when the audio thread waits for its
    // next deadline, which it does just after counting a tick: read here,
    // it is at the last counted tick's deadline or the next one's.
    let now = clock.now();
    assert!(
        ((ticks - 1) * 10_000_000..=ticks * 10_000_000).contains(&now),
        "every tick started on its deadline: {ticks} ticks by {now} ns"
    );
    STALL.store(false, Ordering::Release);
    let s = running.wait().unwrap();
    assert!(STALLED_CALLS.load(Ordering::Relaxed) >= 1);

    let want: Vec<f32> = (0..ticks).map(|k| value(1.0, k)).collect();
    assert_eq!(
        collected("r1_live").values,
        want,
        "the real-time sink lost nothing"
    );
    assert_eq!(s.xruns, 0);
    // The disk got its first frame (stalled in it) and then a full ring.
    let disk = collected("r1_disk").values;
    assert_eq!(s.edge_drops.len(), 1, "{:?}", s.edge_drops);
    let (label, drops) = &s.edge_drops[0];
    assert_eq!(label, "r1_gain.out0 -> r1_disk.in0");
    assert_eq!(disk.len() as u64 + drops, ticks);
    assert!(*drops >= ticks - 100, "the stalled edge dropped {drops}");
    assert!(disk.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn a_slow_tick_counts_one_xrun() {
    let _g = SERIAL.lock().unwrap();
    let r = registry();
    let clock = SIM.get_or_init(|| Arc::new(SimClock::new())).clone();
    let mut b = PlanBuilder::new(&r);
    // Tick 30 takes 25 ms of a 10 ms budget: it is late, and so is tick 31
    // (it starts 15 ms behind); tick 32 has caught up.
    b.settings(realtime())
        .node(
            "r2_src",
            "counter",
            args(&[("id", 2.0), ("count", 100.0)]),
            &[],
            &[MONO],
        )
        .node(
            "r2_slow",
            "sleepy",
            args(&[("ns", 25e6), ("at", 30.0)]),
            &[MONO],
            &[MONO],
        )
        .node("r2_sink", "collect", args(&[]), &[MONO], &[])
        .connect("r2_src", 0, "r2_slow", 0)
        .connect("r2_slow", 0, "r2_sink", 0);
    let mut e = Engine::build(&b.build(), &r).unwrap();
    e.set_pace_clock(clock.clone());
    let stats = e.stats();
    let s = e.run().unwrap();
    assert_eq!(s.xruns, 2);
    assert_eq!(collected("r2_sink").values.len(), 100);
    // The audio domain's histograms: 100 ticks, tick 31 started 15 ms
    // behind its schedule (the jitter maximum), the others on time.
    let audio = &stats.domains[0];
    assert_eq!(audio.name, "audio");
    assert_eq!(audio.xruns(), 2);
    assert_eq!(audio.tick.count(), 100);
    assert_eq!(audio.late.count(), 100);
    assert_eq!(audio.late.max(), 15_000_000);
    assert_eq!(audio.late.quantile(0.98), 0);
    let table = stats.table();
    assert!(
        table.contains("p99.9") && table.contains("audio"),
        "{table}"
    );
}

#[test]
fn control_change_lands_on_a_tick_boundary() {
    let _g = SERIAL.lock().unwrap();
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.settings(realtime())
        .node("r3_src", "counter", args(&[("id", 0.0)]), &[], &[MONO])
        .node("r3_gain", "gain", args(&[]), &[MONO], &[MONO])
        .node("r3_sink", "collect", args(&[]), &[MONO], &[])
        .connect("r3_src", 0, "r3_gain", 0)
        .connect("r3_gain", 0, "r3_sink", 0);
    let mut e = Engine::build(&b.build(), &r).unwrap();
    let clock = Arc::new(SimClock::new());
    e.set_pace_clock(clock.clone());
    let mut ctl = e.controller();
    assert!(ctl.set("r3_gain", "gain", Arg::Bool(true)).is_err());
    assert!(ctl.set("r3_src", "id", Arg::Num(1.0)).is_err(), "not live");
    let stats = e.stats();
    let running = e.start();
    while stats.ticks() < 200 {
        std::thread::yield_now();
    }
    ctl.set("r3_gain", "gain", Arg::Num(-1.0)).unwrap();
    while ctl.pending() > 0 {
        std::thread::yield_now();
    }
    while stats.ticks() < 400 {
        std::thread::yield_now();
    }
    running.stop();
    let s = running.wait().unwrap();
    assert!(s.stopped);
    assert!(ctl.failures().is_empty());
    // The graph is gone: a change says so instead of vanishing.
    assert_eq!(
        ctl.set("r3_gain", "gain", Arg::Num(1.0)),
        Err(sluice_runtime::ControlError::Detached)
    );

    // Every frame is uniform: all samples old gain or all new. Frames
    // before the switch are +k, after it -k, with one boundary.
    let v = collected("r3_sink").values;
    assert!(v.len() >= 400);
    assert!(
        v.iter().all(|x| !x.is_nan()),
        "a frame mixed old and new gain"
    );
    let switch = v.iter().position(|&x| x < 0.0).expect("the change arrived");
    assert!(switch >= 200, "applied before it was sent ({switch})");
    for (k, &x) in v.iter().enumerate() {
        let want = if k < switch { k as f32 } else { -(k as f32) };
        assert_eq!(x, want, "tick {k}");
    }
}

#[test]
fn change_sent_during_a_tick_applies_from_the_next_one_exactly() {
    let _g = SERIAL.lock().unwrap();
    for realtime in [false, true] {
        let r = registry();
        let mut b = PlanBuilder::new(&r);
        b.settings(Settings {
            realtime,
            ..Settings::default()
        })
        .node(
            "cmd_src",
            "counter",
            args(&[("id", 0.0), ("count", 60.0)]),
            &[],
            &[MONO],
        )
        .node(
            "cmd",
            "commander",
            args(&[("at", 37.0), ("gain", -1.0)]),
            &[MONO],
            &[MONO],
        )
        .node("cmd_gain", "gain", args(&[]), &[MONO], &[MONO])
        .node("cmd_sink", "collect", args(&[]), &[MONO], &[])
        .connect("cmd_src", 0, "cmd", 0)
        .connect("cmd", 0, "cmd_gain", 0)
        .connect("cmd_gain", 0, "cmd_sink", 0);
        let mut e = Engine::build(&b.build(), &r).unwrap();
        e.set_pace_clock(Arc::new(SimClock::new()));
        *CONTROLLER.lock().unwrap() = Some(e.controller());
        e.run().unwrap();
        // Sent while tick 37 ran (before `cmd_gain` processed it): tick 37
        // still has the old gain, tick 38 is the first with the new one.
        let want: Vec<f32> = (0..60)
            .map(|k| if k <= 37 { k as f32 } else { -(k as f32) })
            .collect();
        assert_eq!(collected("cmd_sink").values, want, "realtime: {realtime}");
    }
}

#[test]
fn io_source_reads_ahead_and_nothing_is_lost() {
    let _g = SERIAL.lock().unwrap();
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.settings(realtime())
        .node(
            "r5_file",
            "io_counter",
            args(&[("id", 5.0), ("count", 300.0)]),
            &[],
            &[MONO],
        )
        .node("r5_gain", "gain", args(&[]), &[MONO], &[MONO])
        .node("r5_sink", "collect", args(&[]), &[MONO], &[])
        .connect("r5_file", 0, "r5_gain", 0)
        .connect("r5_gain", 0, "r5_sink", 0);
    let mut e = Engine::build(&b.build(), &r).unwrap();
    e.set_pace_clock(Arc::new(SimClock::new()));
    let s = e.run().unwrap();
    // The reader waits for room instead of dropping; the real-time side
    // takes every frame, in order (late if the reader fell behind).
    let want: Vec<f32> = (0..300).map(|k| value(5.0, k)).collect();
    assert_eq!(collected("r5_sink").values, want);
    assert_eq!(s.drops, 0);
}
