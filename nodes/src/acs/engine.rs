//! Runs each call's graph on the runtime's engine: the checked plan is
//! built once per call (inside [`build_call`], so `acs_in` and `acs_out`
//! find their connection), forced to real time, and paced by a sleeping
//! clock so many calls can share a few cores.

use super::call::build_call;
use super::server::{BuiltCall, CallFactory, CallGraph};
use sluice_dsl::Plan;
use sluice_runtime::{Engine, PaceClock, Registry, StopHandle};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A pacing clock that only sleeps. The runtime's system clock spins the
/// last 200 µs of every tick for precision; a call's audio crosses a
/// jitter buffer of tens of milliseconds, so that precision buys nothing
/// and fifty calls spinning would take a core.
#[derive(Debug, Clone, Copy)]
pub struct SleepClock {
    origin: Instant,
}

impl SleepClock {
    /// A clock whose origin is now.
    pub fn new() -> SleepClock {
        SleepClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SleepClock {
    fn default() -> Self {
        SleepClock::new()
    }
}

impl PaceClock for SleepClock {
    fn now(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    fn wait_until(&self, deadline: u64) {
        let now = self.now();
        if deadline > now {
            std::thread::sleep(Duration::from_nanos(deadline - now));
        }
    }
}

/// A built engine for one call.
struct EngineCall {
    engine: Engine,
    stop: StopHandle,
}

impl CallGraph for EngineCall {
    fn stopper(&self) -> Box<dyn Fn() + Send> {
        let stop = self.stop.clone();
        Box::new(move || stop.stop())
    }

    fn run(self: Box<Self>) -> Result<String, String> {
        match self.engine.run() {
            Ok(s) => Ok(format!(
                "{:.1} s of media, {} xruns, {} drops",
                s.media_time.as_secs_f64(),
                s.xruns,
                s.drops
            )),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// A factory that builds `plan` for every call. The plan must contain
/// `acs_in` or `acs_out` (else the calls would hear and say nothing).
pub fn factory(mut plan: Plan, registry: Registry) -> Result<Arc<CallFactory>, String> {
    let kinds: Vec<&str> = plan.graph.node_weights().map(|n| n.kind.as_str()).collect();
    if !kinds.iter().any(|k| matches!(*k, "acs_in" | "acs_out")) {
        return Err(format!(
            "graph `{}` has neither `acs_in` nor `acs_out`: under `sluice serve` a graph \
             takes the call's audio from `acs_in` and streams back through `acs_out`",
            plan.name
        ));
    }
    plan.settings.realtime = true;
    Ok(Arc::new(move |meta| {
        let (engine, side) = build_call(meta, || Engine::build(&plan, &registry));
        let mut engine = engine.map_err(|e| e.to_string())?;
        engine.set_pace_clock(Arc::new(SleepClock::new()));
        let stop = engine.stop_handle();
        Ok(BuiltCall {
            graph: Box::new(EngineCall { engine, stop }),
            side,
        })
    }))
}
