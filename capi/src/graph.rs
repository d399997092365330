//! A graph's life at the boundary: open (check and build), start (the
//! engine thread), stop (drain and finish), close (free).
//!
//! The graph's own state sits behind a mutex: the calls that change it
//! (open, endpoints, start, set, stats, stop, close) may wait for each
//! other, never for the media path, which goes through the handles.

use crate::endpoint::{handle, SluiceInput, SluiceOutput};
use crate::engine_thread::{EngineThread, Feed};
use crate::error::{guard, guard_ptr, Fail};
use crate::{
    SluiceStatus, SLUICE_ERR_ARG, SLUICE_ERR_GRAPH, SLUICE_ERR_RUN, SLUICE_ERR_STATE, SLUICE_OK,
};
use sluice_dsl::{Plan, SourceFile};
use sluice_runtime::{Controller, Engine, Registry, Stats, ThreadHook};
use std::ffi::c_char;
use std::sync::{Arc, Mutex, MutexGuard};

/// An open graph (`sluice_graph_open`), closed by `sluice_close`.
#[derive(Debug)]
pub struct SluiceGraph {
    state: Mutex<State>,
    /// The run's live counters (for `sluice_stats`).
    pub(crate) stats: Arc<Stats>,
    /// The checked graph and the node kinds, for `sluice_set`.
    pub(crate) plan: Plan,
    pub(crate) registry: Registry,
}

/// Where a graph is in its life.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Built, not started: endpoints can be taken.
    Built(Box<Engine>),
    /// Running on its engine thread.
    Running(EngineThread),
    /// Stopped (or never started and stopped): outputs can be drained.
    Stopped,
}

impl Phase {
    /// `built`, `running` or `stopped`, for the statistics.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Phase::Built(_) => "built",
            Phase::Running(_) => "running",
            Phase::Stopped => "stopped",
        }
    }
}

/// The graph's mutable state.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) phase: Phase,
    pub(crate) controller: Controller,
    /// The engine thread's ends of the inputs taken so far.
    pub(crate) feeds: Vec<Feed>,
    pub(crate) inputs: Vec<Arc<SluiceInput>>,
    pub(crate) outputs: Vec<Arc<SluiceOutput>>,
}

impl SluiceGraph {
    /// The state, locked (a panic in another call does not poison it for
    /// good: the state stays consistent between calls).
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// For Rust hosts and tests: `hook` is called on the engine thread at
    /// each tick's start and end (the counting-allocator test watches the
    /// engine thread with it). Before `sluice_start` only; returns
    /// whether it was set.
    pub fn set_thread_hook(&self, hook: ThreadHook) -> bool {
        match &mut self.state().phase {
            Phase::Built(engine) => {
                engine.set_thread_hook(hook);
                true
            }
            _ => false,
        }
    }

    /// Checks and builds `text`.
    fn open(text: &str) -> Result<SluiceGraph, Fail> {
        let registry = sluice_nodes::registry();
        let file = SourceFile::new("graph.sluice", text);
        let checked = sluice_dsl::check(&file, &registry);
        let plan = checked
            .plan
            .ok_or_else(|| Fail::new(SLUICE_ERR_GRAPH, checked.diagnostics.render(&file, false)))?;
        let mut engine = Engine::build(&plan, &registry)
            .map_err(|e| Fail::new(SLUICE_ERR_GRAPH, e.to_string()))?;
        let stats = engine.stats();
        let state = State {
            controller: engine.controller(),
            phase: Phase::Built(Box::new(engine)),
            feeds: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        };
        Ok(SluiceGraph {
            state: Mutex::new(state),
            stats,
            plan,
            registry,
        })
    }
}

/// Checks and builds a graph from `len` bytes of graph-language text
/// (UTF-8, no NUL needed). Returns the graph, or NULL with `*err` set (if
/// `err` is not NULL) to `SLUICE_ERR_GRAPH` (the text does not check or
/// build; `sluice_error_message` gives the diagnostic with its line and
/// caret), `SLUICE_ERR_ARG` (not UTF-8) or `SLUICE_ERR_NULL`; `*err` is
/// `SLUICE_OK` on success. Everything the run needs is allocated here.
/// Any thread.
///
/// # Safety
/// `text` is NULL or points at `len` readable bytes; `err` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sluice_graph_open(
    text: *const c_char,
    len: usize,
    err: *mut SluiceStatus,
) -> *mut SluiceGraph {
    guard_ptr(err, || {
        if text.is_null() {
            return Err(Fail::null("text"));
        }
        if len > isize::MAX as usize {
            return Err(Fail::new(SLUICE_ERR_ARG, "`len` is larger than memory"));
        }
        // SAFETY: not NULL, and `len` readable bytes per the caller's
        // contract (`len` fits in `isize`, checked above).
        let bytes = unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len) };
        let text = std::str::from_utf8(bytes)
            .map_err(|e| Fail::new(SLUICE_ERR_ARG, format!("the graph text is not UTF-8: {e}")))?;
        Ok(Box::into_raw(Box::new(SluiceGraph::open(text)?)))
    })
}

/// Starts the graph: hands the engine to a thread of its own, which runs
/// one tick of an input's domain per frame pushed into it. Take every
/// input and output (`sluice_input`, `sluice_output`) first. Returns
/// `SLUICE_OK`, or `SLUICE_ERR_STATE` (started already, or stopped),
/// `SLUICE_ERR_NULL`. Any thread.
///
/// # Safety
/// `graph` is NULL or an open graph.
#[no_mangle]
pub unsafe extern "C" fn sluice_start(graph: *mut SluiceGraph) -> SluiceStatus {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let graph = unsafe { handle(graph, "graph")? };
        let mut state = graph.state();
        let engine = match std::mem::replace(&mut state.phase, Phase::Stopped) {
            Phase::Built(engine) => engine,
            other => {
                let was = other.name();
                state.phase = other;
                return Err(Fail::new(
                    SLUICE_ERR_STATE,
                    format!("the graph is {was}: it starts once"),
                ));
            }
        };
        let feeds = std::mem::take(&mut state.feeds);
        let thread = EngineThread::spawn(engine.drive(), feeds).map_err(|e| {
            Fail::new(
                SLUICE_ERR_STATE,
                format!("could not start the engine thread: {e}"),
            )
        })?;
        state.inputs.iter().for_each(|i| i.start(thread.link()));
        state.outputs.iter().for_each(|o| o.start(thread.link()));
        state.phase = Phase::Running(thread);
        Ok(SLUICE_OK)
    })
}

/// Stops the graph: pushes are refused from now on, the frames already
/// pushed are processed, every node is finished, and the engine thread
/// is joined (so this waits for the graph to drain). Outputs keep their
/// last frames for popping until `SLUICE_ENDED`. Stopping a graph never
/// started, or stopped, is `SLUICE_OK`. Returns `SLUICE_ERR_RUN` when the
/// run had errors (the message lists them). Any thread.
///
/// # Safety
/// `graph` is NULL or an open graph.
#[no_mangle]
pub unsafe extern "C" fn sluice_stop(graph: *mut SluiceGraph) -> SluiceStatus {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let graph = unsafe { handle(graph, "graph")? };
        stop(&mut graph.state())
    })
}

fn stop(state: &mut State) -> Result<SluiceStatus, Fail> {
    match std::mem::replace(&mut state.phase, Phase::Stopped) {
        Phase::Running(thread) => thread
            .stop()
            .map(|_| SLUICE_OK)
            .map_err(|e| Fail::new(SLUICE_ERR_RUN, e)),
        Phase::Built(_) | Phase::Stopped => Ok(SLUICE_OK),
    }
}

/// Stops the graph if it runs and frees it with its handles: every
/// `SluiceInput`, `SluiceOutput` and popped frame of it is invalid
/// afterwards. Call it last, once no other thread uses the graph or its
/// handles. NULL is `SLUICE_ERR_NULL`; a run that had errors is
/// `SLUICE_ERR_RUN` (the graph is freed all the same).
///
/// # Safety
/// `graph` is NULL or an open graph, not used by any thread during or
/// after this call.
#[no_mangle]
pub unsafe extern "C" fn sluice_close(graph: *mut SluiceGraph) -> SluiceStatus {
    guard(|| {
        if graph.is_null() {
            return Err(Fail::null("graph"));
        }
        // SAFETY: made by `Box::into_raw` in `sluice_graph_open`, and not
        // used by anyone else from now on, per the caller's contract.
        let graph = unsafe { Box::from_raw(graph) };
        let stopped = stop(&mut graph.state());
        drop(graph);
        stopped
    })
}
