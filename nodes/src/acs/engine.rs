//! Runs each call's graph on the runtime's engine: the checked plan is
//! built once per call (inside [`build_call`], so `acs_in` and `acs_out`
//! find their connection), forced to real time, and paced by a sleeping
//! clock so many calls can share a few cores.

use super::call::build_call;
use super::server::{BuiltCall, CallFactory, CallGraph};
use sluice_dsl::{Arg, Plan};
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

/// The plan for one call: `{call}` in any string argument (an output
/// path) becomes the call's subscription id, with every character outside
/// `A-Za-z0-9._-` replaced by `_`, so calls do not write over each other.
pub fn for_call(plan: &Plan, subscription_id: &str) -> Plan {
    let id: String = if subscription_id.is_empty() {
        "call".into()
    } else {
        subscription_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let mut plan = plan.clone();
    for node in plan.graph.node_weights_mut() {
        for arg in node.args.0.values_mut() {
            substitute(arg, &id);
        }
    }
    plan
}

fn substitute(arg: &mut Arg, id: &str) {
    match arg {
        Arg::Str(s) if s.contains("{call}") => *s = s.replace("{call}", id),
        Arg::List(items) => items.iter_mut().for_each(|a| substitute(a, id)),
        _ => {}
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
        let plan = for_call(&plan, &meta.subscription_id);
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

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_dsl::SourceFile;

    #[test]
    fn call_placeholder_becomes_the_sanitised_subscription_id() {
        let mut reg = Registry::new();
        crate::live::register(&mut reg);
        let plan = sluice_dsl::check(
            &SourceFile::new("t", "mic(device: \"{call}/x\") -> speaker"),
            &reg,
        )
        .plan
        .unwrap();
        let p = for_call(&plan, "ab:c/1");
        let mic = p.graph.node_weights().find(|n| n.kind == "mic").unwrap();
        assert_eq!(mic.args.str("device"), Some("ab_c_1/x"));
        let p = for_call(&plan, "");
        let mic = p.graph.node_weights().find(|n| n.kind == "mic").unwrap();
        assert_eq!(mic.args.str("device"), Some("call/x"));
    }
}
