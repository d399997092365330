//! The graph an engine runs: its tasks in the plan's order, the plan's
//! levels and clock domains, the edges by name, the statistics and the
//! controllers' rings. A hot reload builds a whole new `Graph` and swaps it
//! in; nothing is copied back into it by hand (what outlives a reload is
//! the [`crate::execution::session::Session`]).

use crate::clock::PaceClock;
use crate::control::{self, CommandRx, ControlError, Controller, Routes};
use crate::execution::layout::EdgeLink;
use crate::execution::layout::Layout;
use crate::execution::task::{DomainClock, Task};
use crate::observation::stats::Stats;
use sluice_dsl::Arg;
use std::ops::Range;
use std::sync::Arc;

/// Everything a reload replaces. Built by [`Graph::build`].
pub(crate) struct Graph {
    /// Every node, in the plan's order (level by level).
    pub tasks: Vec<Task>,
    /// Task ranges of the plan's levels: a level's inputs all come from
    /// earlier levels, so its nodes may run in parallel.
    pub levels: Vec<Range<usize>>,
    /// The plan's clock domains, in order of first appearance.
    pub domains: Vec<DomainClock>,
    /// Processing threads: one unpaced, or one per domain plus the I/O
    /// thread in real time.
    pub threads: usize,
    pub stats: Arc<Stats>,
    /// Each processing thread's ends of the controllers' rings.
    pub commands: Vec<Vec<CommandRx>>,
    pub routes: Arc<Routes>,
    /// Node names by plan index.
    pub names: Arc<Vec<String>>,
    /// What runs, for matching a reloaded plan against it.
    pub layout: Layout,
    /// Every edge by name, for carrying queued frames across a reload.
    pub edges: Vec<EdgeLink>,
}

impl Graph {
    /// A new controller whose rings end on this graph's threads.
    pub fn controller(&mut self) -> Controller {
        let (c, rxs) = control::channel(self.routes.clone(), self.names.clone(), self.threads);
        for (t, rx) in rxs.into_iter().enumerate() {
            self.commands[t].push(rx);
        }
        c
    }

    /// Checks `node.key = value` like a live change and applies it now.
    pub fn set(&mut self, node: &str, key: &str, value: Arg) -> Result<(), ControlError> {
        let route = control::validate(&self.routes, node, key, &value)?;
        let (thread, local) = (route.thread, route.local as usize);
        let task = self
            .tasks
            .iter_mut()
            .filter(|t| t.thread == thread)
            .nth(local)
            .ok_or_else(|| ControlError::UnknownNode(node.to_string()))?;
        task.node.set(key, &value).map_err(|e| ControlError::Node {
            node: node.to_string(),
            key: key.to_string(),
            error: e.0,
        })
    }

    /// The pace clock each domain's nodes offer (a sound device), if any.
    /// Asked at each real-time start: a kept speaker moves into a
    /// reloaded graph after it was built.
    pub fn device_clocks(&self) -> Vec<Option<Arc<dyn PaceClock>>> {
        crate::clock::device_clock::per_domain(
            self.tasks.iter().map(|t| (t.domain, &*t.node)),
            self.domains.len(),
        )
    }

    /// Takes the tasks apart by processing thread (each thread's in plan
    /// order, as the routes number them).
    pub fn split_by_thread(&mut self) -> Vec<Vec<Task>> {
        let mut groups: Vec<Vec<Task>> = (0..self.threads).map(|_| Vec::new()).collect();
        for t in self.tasks.drain(..) {
            let th = t.thread;
            groups[th].push(t);
        }
        groups
    }

    /// Puts tasks taken apart by [`Graph::split_by_thread`] back in the
    /// plan's order.
    pub fn rejoin(&mut self, groups: impl IntoIterator<Item = Vec<Task>>) {
        self.tasks.extend(groups.into_iter().flatten());
        self.tasks.sort_by_key(|t| t.stat);
    }

    /// Finishes every node (and any instance still fading out); errors
    /// named after the node.
    pub fn finish_nodes(&mut self, errors: &mut Vec<String>) {
        for t in self.tasks.iter_mut() {
            if let Err(e) = t.node.finish() {
                errors.push(format!("node `{}` (kind `{}`): {e}", t.name, t.kind));
            }
            if let Some(fade) = t.fade.take() {
                if let Err(e) = fade.into_old().finish() {
                    errors.push(format!("node `{}` (replaced): {e}", t.name));
                }
            }
        }
    }
}
