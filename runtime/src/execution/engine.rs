//! The engine: a graph built from a [`Plan`] and the session that runs
//! it. [`Engine::run`] (or [`Engine::start`], on a thread of its own) runs
//! it on the executor its settings ask for and finishes every node when
//! it ends or is stopped; [`Engine::drive`] hands it to the caller's
//! thread instead.

use crate::clock::pace::PaceClock;
use crate::control::{ControlError, Controller};
use crate::execution::driven::Driven;
use crate::execution::error::{BuildError, RunError};
use crate::execution::graph::Graph;
use crate::execution::realtime;
use crate::execution::reload::Reloader;
use crate::execution::session::{Session, StopHandle};
use crate::execution::swap::{self, Retired};
use crate::execution::threads::{Mode, Parallel, ThreadHook};
use crate::execution::unpaced;
use crate::observation::stats::{Stats, Summary};
use crate::registry::Registry;
use crate::transport::host::{EndpointError, HostEnd, HostMedia, Input, Output};
use sluice_dsl::{Arg, Plan};
use std::fmt;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// A built graph and how to run it; see the crate docs for the flow.
pub struct Engine {
    graph: Graph,
    session: Session,
    /// Names of the endpoints whose handles were handed out.
    taken: Vec<String>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("nodes", &self.graph.tasks.len())
            .field("mode", &self.session.mode)
            .field("threads", &self.graph.threads)
            .finish()
    }
}

impl Engine {
    /// Builds every node (via its kind's constructor), every ring and every
    /// frame pool, to run the plan's order, levels and clock domains. All
    /// allocation happens here.
    pub fn build(plan: &Plan, registry: &Registry) -> Result<Engine, BuildError> {
        let (graph, _) = Graph::build(plan, registry, None)?;
        Ok(Engine {
            graph,
            session: Session::new(&plan.settings),
            taken: Vec::new(),
        })
    }

    /// Which executor will run the graph (`settings.realtime`).
    pub fn mode(&self) -> Mode {
        self.session.mode
    }

    /// Live statistics, readable from any thread while the graph runs.
    pub fn stats(&self) -> Arc<Stats> {
        self.graph.stats.clone()
    }

    /// A handle that stops the run from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.session.stop_handle()
    }

    /// A new controller for live parameter changes (each one gets its own
    /// rings; make them before `start`).
    pub fn controller(&mut self) -> Controller {
        self.graph.controller()
    }

    /// Sets a parameter before the run starts (`--set node.param=value`);
    /// checked like a live change, then applied at once.
    pub fn set(&mut self, node: &str, key: &str, value: Arg) -> Result<(), ControlError> {
        self.graph.set(node, key, value)
    }

    /// Paces the real-time executor with `clock` instead of the system
    /// clock (tests use [`crate::SimClock`]).
    pub fn set_pace_clock(&mut self, clock: Arc<dyn PaceClock>) {
        self.session.clock = clock;
    }

    /// Calls `hook` on every processing thread as it starts and stops.
    pub fn set_thread_hook(&mut self, hook: ThreadHook) {
        self.session.hook = Some(hook);
    }

    /// When the as-fast-as-possible executor spreads a level over rayon
    /// ([`Parallel::Auto`] by default).
    pub fn set_parallel(&mut self, parallel: Parallel) {
        self.session.parallel = parallel;
    }

    /// Whether node times are measured for the stats (on by default; off
    /// saves the counter reads, and `Parallel::Auto` then has no costs to
    /// go by and stays on one thread). Call counts are kept either way.
    pub fn set_timing(&mut self, on: bool) {
        self.session.timing.watch.enabled = on;
    }

    /// Times the nodes on every `ticks`th tick of each domain
    /// ([`crate::observation::DEFAULT_TIMING_EVERY`] by default; 1 times
    /// every tick, for the finest percentiles at about 35 ns more per node
    /// step).
    pub fn set_timing_every(&mut self, ticks: u32) {
        self.session.timing.set_every(ticks);
    }

    /// The `SCHED_FIFO` priority the real-time audio domain's thread asks
    /// for ([`crate::execution::DEFAULT_RT_PRIORITY`] by default; `None`:
    /// stay at normal priority). A refusal is not an error: the thread
    /// runs at normal priority and the stats say so.
    pub fn set_rt_priority(&mut self, priority: Option<u8>) {
        self.session.rt_priority = priority;
    }

    /// A handle that swaps in a new plan while the graph runs (`sluice run
    /// --watch`): nodes left unchanged keep their state, changed ones are
    /// crossfaded. See [`Reloader`].
    pub fn reloader(&self) -> Reloader {
        Reloader::new(
            self.graph.layout.clone(),
            self.session.mailbox.clone(),
            self.graph.stats.clone(),
        )
    }

    /// The typed, wait-free handle of the `app_in` named `name`: the host
    /// pushes `T`s ([`VideoFrame`](crate::VideoFrame) or
    /// [`AudioFrame`](crate::AudioFrame)) into it from any one thread.
    /// Each endpoint has one handle; ask before [`Engine::drive`] or
    /// [`Engine::start`].
    pub fn input<T: HostMedia + Clone>(&mut self, name: &str) -> Result<Input<T>, EndpointError> {
        let wrong = |carries| EndpointError::WrongMedia {
            name: name.to_string(),
            carries,
            asked: T::NAME,
        };
        match self.take_end(name, "app_in", Some(T::NAME))? {
            HostEnd::Input(end) => Input::typed(end).map_err(wrong),
            HostEnd::Output(_) => Err(wrong("frames out")),
        }
    }

    /// The wait-free handle of the `app_out` named `name`: the host pops
    /// processed frames from it on any one thread.
    pub fn output(&mut self, name: &str) -> Result<Output, EndpointError> {
        match self.take_end(name, "app_out", None)? {
            HostEnd::Output(out) => Ok(out),
            HostEnd::Input(_) => Err(EndpointError::Taken(name.to_string())),
        }
    }

    /// Takes the host end named `name` of `kind`'s direction (an input
    /// only if it carries `media`), telling the end its domain.
    fn take_end(
        &mut self,
        name: &str,
        kind: &'static str,
        media: Option<&'static str>,
    ) -> Result<HostEnd, EndpointError> {
        let input = kind == "app_in";
        let matches = |e: &HostEnd| matches!(e, HostEnd::Input(_)) == input;
        let ends = &self.graph.endpoints;
        let Some(at) = ends
            .iter()
            .position(|(e, _)| matches(e) && e.name() == name)
        else {
            return Err(self.missing(name, kind, input));
        };
        if let (HostEnd::Input(end), Some(asked)) = (&ends[at].0, media) {
            if end.media() != asked {
                return Err(EndpointError::WrongMedia {
                    name: name.to_string(),
                    carries: end.media(),
                    asked,
                });
            }
        }
        let (mut end, domain) = self.graph.endpoints.swap_remove(at);
        self.taken.push(name.to_string());
        match &mut end {
            HostEnd::Input(i) => i.set_domain(domain),
            HostEnd::Output(o) => o.set_domain(domain),
        }
        Ok(end)
    }

    /// The error for an endpoint not there: taken, or never declared.
    fn missing(&self, name: &str, kind: &'static str, input: bool) -> EndpointError {
        if self.taken.iter().any(|t| t == name) {
            return EndpointError::Taken(name.to_string());
        }
        let known = self.graph.endpoints.iter().map(|(e, _)| e);
        let known = known.filter(|e| matches!(e, HostEnd::Input(_)) == input);
        EndpointError::Unknown {
            name: name.to_string(),
            kind,
            known: known.map(|e| e.name().to_string()).collect(),
        }
    }

    /// Node names in plan order.
    pub fn node_names(&self) -> &[String] {
        &self.graph.names
    }

    /// Hands the engine to the calling thread: no thread is started, and
    /// each [`Driven::step`] runs one tick when the caller says (a server's
    /// worker pool, a host whose pushes drive the clock). The plan's
    /// `realtime` setting does not matter here: the caller paces.
    pub fn drive(self) -> Driven {
        Driven::new(self.graph, self.session)
    }

    /// Runs the graph to its end (every source ended, the duration reached,
    /// or a stop), drains it, finishes every node, and reports. A reload
    /// posted meanwhile is swapped in between two runs of the executor: a
    /// new graph, the queued frames carried over, the same session.
    pub fn run(self) -> Result<Summary, RunError> {
        let Engine {
            mut graph,
            mut session,
            ..
        } = self;
        let started = Instant::now();
        let mut errors = Vec::new();
        let mut retired = Retired::default();
        while run_until_paused(&mut graph, &mut session, &mut retired, &mut errors) {
            retired.finish(&mut errors);
            if let Some(next) = session.mailbox.take() {
                let at = session.resume_at;
                retired = swap::swap(&mut graph, next, |c| c.first_tick_at(at), &mut errors);
                session.mailbox.mark_swapped();
            }
        }
        let wall = started.elapsed();
        retired.finish(&mut errors);
        graph.finish_nodes(&mut errors);
        session.conclude(&graph.stats, wall, errors)
    }

    /// Runs the graph on a new thread; the handle stops it and waits.
    pub fn start(self) -> Running {
        let stop = self.stop_handle();
        let stats = self.stats();
        let thread = std::thread::Builder::new()
            .name("sluice-engine".into())
            .spawn(move || self.run())
            .expect("spawning the engine thread");
        Running {
            stop,
            stats,
            thread,
        }
    }
}

/// A graph running on its own thread.
#[derive(Debug)]
pub struct Running {
    stop: StopHandle,
    stats: Arc<Stats>,
    thread: JoinHandle<Result<Summary, RunError>>,
}

impl Running {
    /// Asks the run to stop (drain and finish); returns at once.
    pub fn stop(&self) {
        self.stop.stop();
    }

    /// A handle to stop it from elsewhere.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Live statistics.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Whether the run has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the end of the run.
    pub fn wait(self) -> Result<Summary, RunError> {
        self.thread.join().unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(RunError {
                errors: vec![format!("the engine panicked: {msg}")],
                summary: None,
            })
        })
    }
}

/// Runs `graph` on the session's executor until it ends (false) or pauses
/// for a reload (true). A node that panics cuts the run short; every node
/// is still finished afterwards, so files get valid headers for what was
/// written before it.
fn run_until_paused(
    graph: &mut Graph,
    session: &mut Session,
    retired: &mut Retired,
    errors: &mut Vec<String>,
) -> bool {
    match session.mode {
        Mode::AsFastAsPossible => {
            retired.finish(errors);
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                unpaced::run(graph, session)
            }));
            ran.unwrap_or_else(|_| {
                errors.push("a node panicked; the run was cut short".to_string());
                false
            })
        }
        Mode::RealTime => realtime::run(graph, session, retired, errors),
    }
}
