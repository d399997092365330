//! The plan is the single source of the schedule: the engine runs the
//! plan's order, levels and domains as given, and refuses a plan whose
//! order disagrees with its levels. Also what the run reports of itself:
//! sampled node times with exact call counts, and the real-time audio
//! thread's scheduling.

mod common;

use common::*;
use sluice_dsl::{Plan, Settings};
use sluice_runtime::testing::{skip_unless_ci, PlanBuilder};
use sluice_runtime::{BuildError, Engine, Parallel, Scheduling, SimClock};
use std::sync::{Arc, Mutex};

/// `TRACE` is global: the tests that read it run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Two independent traced sources (one level) into one sum.
fn two_sources() -> Plan {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    b.node("s_a", "trace", args(&[("count", 3.0)]), &[], &[MONO])
        .node("s_b", "trace", args(&[("count", 3.0)]), &[], &[MONO])
        .node("s_sum", "sum", args(&[]), &[MONO, MONO], &[MONO])
        .node("s_sink", "collect", args(&[]), &[MONO], &[])
        .connect("s_a", 0, "s_sum", 0)
        .connect("s_b", 0, "s_sum", 1)
        .connect("s_sum", 0, "s_sink", 0);
    b.build()
}

fn names(p: &Plan) -> Vec<&str> {
    p.order.iter().map(|&i| p.graph[i].name.as_str()).collect()
}

fn traced(plan: &Plan) -> Vec<String> {
    TRACE.lock().unwrap().clear();
    let mut e = Engine::build(plan, &registry()).unwrap();
    e.set_parallel(Parallel::Off);
    e.run().unwrap();
    std::mem::take(&mut *TRACE.lock().unwrap())
}

#[test]
fn the_engine_runs_the_plans_order() {
    let _g = SERIAL.lock().unwrap();
    let plan = two_sources();
    assert_eq!(names(&plan), ["s_a", "s_b", "s_sum", "s_sink"]);
    assert_eq!(traced(&plan), ["s_a", "s_b", "s_a", "s_b", "s_a", "s_b"]);
    // The same graph, its first level listed the other way round: the
    // engine follows the plan, not a schedule of its own.
    let mut swapped = plan.clone();
    swapped.levels[0].reverse();
    swapped.order = swapped.levels.concat();
    assert_eq!(names(&swapped), ["s_b", "s_a", "s_sum", "s_sink"]);
    assert_eq!(traced(&swapped), ["s_b", "s_a", "s_b", "s_a", "s_b", "s_a"]);
}

#[test]
fn a_plan_whose_order_is_not_its_levels_is_refused() {
    let r = registry();
    let mut plan = two_sources();
    plan.order.swap(0, 1);
    match Engine::build(&plan, &r) {
        Err(BuildError::Plan(msg)) => assert!(msg.contains("order"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let mut plan = two_sources();
    let sink = plan.levels.pop().unwrap();
    plan.levels[0].extend(sink);
    plan.order = plan.levels.concat();
    match Engine::build(&plan, &r) {
        Err(BuildError::Plan(msg)) => assert!(msg.contains("later level"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let mut plan = two_sources();
    plan.levels.pop();
    plan.order = plan.levels.concat();
    match Engine::build(&plan, &r) {
        Err(BuildError::Plan(msg)) => assert!(msg.contains("`s_sink` is in no level"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

fn chain(prefix: &str, ticks: u64, settings: Settings) -> Plan {
    let r = registry();
    let mut b = PlanBuilder::new(&r);
    let n = |s: &str| format!("{prefix}_{s}");
    b.settings(settings)
        .node(
            &n("src"),
            "counter",
            args(&[("id", 1.0), ("count", ticks as f64)]),
            &[],
            &[MONO],
        )
        .node(&n("pass"), "pass", args(&[]), &[MONO], &[MONO])
        .node(&n("sink"), "collect", args(&[]), &[MONO], &[])
        .connect(&n("src"), 0, &n("pass"), 0)
        .connect(&n("pass"), 0, &n("sink"), 0);
    b.build()
}

#[test]
fn node_times_are_sampled_and_call_counts_stay_exact() {
    let r = registry();
    for (every, timed) in [(8, 100), (1, 800), (5, 160)] {
        let mut e =
            Engine::build(&chain(&format!("t{every}"), 800, Settings::default()), &r).unwrap();
        e.set_timing_every(every);
        let stats = e.stats();
        let s = e.run().unwrap();
        for (n, summary) in stats.nodes.iter().zip(&s.nodes) {
            assert_eq!(summary.calls, 800, "{}", n.name);
            assert_eq!(n.time.count(), timed, "{} every {every}", n.name);
            assert!(summary.max_ns >= summary.p50_ns && summary.p50_ns > 0);
        }
        assert!(stats.table().contains("800"), "{}", stats.table());
    }
}

fn realtime_summary(prefix: &str, priority: Option<u8>) -> sluice_runtime::Summary {
    let realtime = Settings {
        realtime: true,
        ..Settings::default()
    };
    let mut e = Engine::build(&chain(prefix, 50, realtime), &registry()).unwrap();
    e.set_pace_clock(Arc::new(SimClock::new()));
    e.set_rt_priority(priority);
    e.run().unwrap()
}

#[test]
fn the_audio_thread_reports_the_scheduling_it_got() {
    let s = realtime_summary("rt_none", None);
    assert!(s.scheduling.is_empty(), "{:?}", s.scheduling);
    // Priorities end at 99, for root too: the kernel refuses, the run
    // goes on at normal priority and says why.
    let s = realtime_summary("rt_bad", Some(200));
    assert_eq!(
        s.scheduling,
        [(
            "audio".to_string(),
            Scheduling::Refused {
                priority: 200,
                errno: 22
            }
        )]
    );
    assert_eq!(s.ticks, 50);
    assert!(
        s.to_string()
            .ends_with("audio thread: normal priority (SCHED_FIFO 200 refused: Invalid argument (os error 22))"),
        "{s}"
    );
    // Granted to root (and to users whose RLIMIT_RTPRIO allows it); CI
    // runs as root, so there the grant itself must be seen.
    let s = realtime_summary("rt_ok", Some(10));
    match &s.scheduling[..] {
        [(d, Scheduling::Fifo(10))] => assert_eq!(d, "audio"),
        [(_, Scheduling::Refused { errno: 1, .. })] => {
            skip_unless_ci("SCHED_FIFO is not allowed to this user")
        }
        other => panic!("{other:?}"),
    }
}
