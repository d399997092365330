//! Runs each call's graph on the runtime's engine. The checked plan is
//! specialised per call (its `{call}` placeholders, and its rate under
//! `rate: call`), built with `acs_in` and `acs_out` bound to the call,
//! and driven ([`Driven::run_due`]) by a pool worker on the call's own
//! clock, so many calls share a few cores.

use crate::call::{BuiltCall, CallFactory, CallGraph};
use crate::ids::{CallIds, Claim};
use sluice_dsl::{Arg, Plan, CALL_RATE_ELSEWHERE};
use sluice_nodes::acs::bind;
use sluice_nodes::acs::call::CallSetup;
use sluice_nodes::acs::protocol::AudioMetadata;
use sluice_runtime::{Driven, Engine, PaceClock, Registry, Stats, StopHandle};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A call's clock: nanoseconds since the call's graph started. It only
/// sleeps, never spins: a call's audio crosses a jitter buffer of tens of
/// milliseconds, so sub-millisecond precision buys nothing, and the pool's
/// workers sleep between calls' ticks anyway.
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

/// A built engine for one call, driven by a pool worker; it holds the
/// call's id claim while the graph runs, so no other call takes its file
/// names.
struct EngineCall {
    driven: Driven,
    clock: SleepClock,
    stop: StopHandle,
    _claim: Claim,
}

impl CallGraph for EngineCall {
    fn stopper(&self) -> Box<dyn Fn() + Send + Sync> {
        let stop = self.stop.clone();
        Box::new(move || stop.stop())
    }

    fn advance(&mut self) -> Option<Instant> {
        if self.driven.run_due(&self.clock) {
            return None;
        }
        let next = self.driven.next_due()?;
        Some(self.clock.origin + Duration::from_nanos(next))
    }

    fn finish(self: Box<Self>) -> Result<String, String> {
        match self.driven.finish() {
            Ok(s) => Ok(format!(
                "{:.1} s of media, {} xruns, {} drops",
                s.media_time.as_secs_f64(),
                s.xruns,
                s.drops
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    fn stats(&self) -> Option<Arc<Stats>> {
        Some(self.driven.stats())
    }
}

/// The plan of one call: `{call}` in any string argument (an output path)
/// becomes `call_id`, and a `rate: call` graph runs at `call_rate`.
pub fn for_call(plan: &Plan, call_id: &str, call_rate: u32) -> Plan {
    let mut plan = plan.clone();
    for node in plan.graph.node_weights_mut() {
        for arg in node.args.0.values_mut() {
            substitute(arg, call_id);
        }
    }
    let s = &mut plan.settings;
    if s.call_rate && s.rate != call_rate {
        s.frame_samples = (u64::from(s.frame_samples) * u64::from(call_rate)
            / u64::from(CALL_RATE_ELSEWHERE)) as u32;
        s.rate = call_rate;
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

/// Every string argument of `plan` that holds `{call}` (the paths a call
/// writes).
pub fn call_templates(plan: &Plan) -> Vec<String> {
    fn collect(arg: &Arg, out: &mut Vec<String>) {
        match arg {
            Arg::Str(s) if s.contains("{call}") => out.push(s.clone()),
            Arg::List(items) => items.iter().for_each(|a| collect(a, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for node in plan.graph.node_weights() {
        node.args.0.values().for_each(|a| collect(a, &mut out));
    }
    out
}

/// Builds `plan` for every call with the nodes of `registry`.
pub struct EngineFactory {
    plan: Plan,
    registry: Registry,
    templates: Vec<String>,
    ids: Arc<CallIds>,
}

/// The plan's size and path templates, not the registry.
impl std::fmt::Debug for EngineFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineFactory")
            .field("nodes", &self.plan.graph.node_count())
            .field("templates", &self.templates)
            .finish_non_exhaustive()
    }
}

impl EngineFactory {
    /// A factory for `plan`. The plan must contain `acs_in` or `acs_out`
    /// (else the calls would hear and say nothing).
    pub fn new(mut plan: Plan, registry: Registry) -> Result<EngineFactory, String> {
        let has_call_nodes = plan
            .graph
            .node_weights()
            .any(|n| matches!(n.kind.as_str(), "acs_in" | "acs_out"));
        if !has_call_nodes {
            return Err(format!(
                "graph `{}` has neither `acs_in` nor `acs_out`: under `sluice serve` a graph \
                 takes the call's audio from `acs_in` and streams back through `acs_out`",
                plan.name
            ));
        }
        plan.settings.realtime = true;
        Ok(EngineFactory {
            templates: call_templates(&plan),
            plan,
            registry,
            ids: Arc::new(CallIds::default()),
        })
    }
}

impl CallFactory for EngineFactory {
    fn build(&self, meta: &AudioMetadata) -> Result<BuiltCall, String> {
        let claim = self.ids.claim(&meta.subscription_id, &self.templates);
        let plan = for_call(&self.plan, claim.id(), meta.sample_rate);
        let setup = CallSetup::new(meta);
        let mut registry = self.registry.clone();
        bind(&mut registry, &setup);
        let built = Engine::build(&plan, &registry);
        let side = setup.take_side();
        let engine = built.map_err(|e| e.to_string())?;
        let stop = engine.stop_handle();
        Ok(BuiltCall {
            graph: Box::new(EngineCall {
                driven: engine.drive(),
                clock: SleepClock::new(),
                stop,
                _claim: claim,
            }),
            side,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_dsl::SourceFile;

    fn plan(text: &str) -> Plan {
        let reg = sluice_nodes::registry();
        let c = sluice_dsl::check(&SourceFile::new("t", text), &reg);
        c.plan.unwrap()
    }

    #[test]
    fn call_placeholder_becomes_the_call_id() {
        let p = plan("acs_in -> meter -> events_out(path: \"out/{call}/x.jsonl\")");
        let q = for_call(&p, "ab_c", 16_000);
        let sink = q
            .graph
            .node_weights()
            .find(|n| n.kind == "events_out")
            .unwrap();
        assert_eq!(sink.args.str("path"), Some("out/ab_c/x.jsonl"));
        assert_eq!(call_templates(&p), ["out/{call}/x.jsonl"]);
    }

    #[test]
    fn rate_call_runs_at_the_calls_rate() {
        let p = plan("graph g(rate: call, frame: 10ms) {\n acs_in -> mix -> acs_out\n}");
        for (rate, frame) in [(16_000, 160), (24_000, 240)] {
            let q = for_call(&p, "c", rate);
            assert_eq!((q.settings.rate, q.settings.frame_samples), (rate, frame));
        }
        let fixed = plan("graph g(rate: 48kHz) {\n acs_in -> mix -> acs_out\n}");
        assert_eq!(for_call(&fixed, "c", 24_000).settings.rate, 48_000);
    }

    #[test]
    fn a_graph_without_call_nodes_is_refused() {
        let e = EngineFactory::new(plan("tone -> null"), sluice_nodes::registry())
            .err()
            .unwrap();
        assert!(e.contains("neither `acs_in` nor `acs_out`"), "{e}");
    }
}
