//! The swap of a hot reload: a prepared [`Graph`] replaces the running one
//! between ticks, on the engine's own thread. Running instances move into
//! the new graph's vacant tasks, changed ones start a crossfade, queued
//! frames move to the new rings, and what was replaced is finished and
//! freed afterwards, while the new graph already runs.

use crate::execution::fade::Fade;
use crate::execution::graph::Graph;
use crate::execution::layout::{EdgeLink, Origin};
use crate::execution::reload::Prepared;
use crate::execution::task::{vacant, DomainClock, Task};
use crate::node::{BuildContext, Node};
use crate::registry::BuildFn;
use crate::transport::frame::Frame;
use sluice_dsl::Plan;
use std::collections::{HashMap, HashSet};

/// Nodes and graphs a swap replaced, to finish and free on the engine's
/// thread while the new graph runs.
#[derive(Default)]
pub(crate) struct Retired {
    nodes: Vec<(String, Box<dyn Node>)>,
    graphs: Vec<Graph>,
}

impl Retired {
    /// Finishes every retired node (errors named after the node) and frees
    /// everything.
    pub fn finish(&mut self, errors: &mut Vec<String>) {
        for (name, mut node) in self.nodes.drain(..) {
            if let Err(e) = node.finish() {
                errors.push(format!("node `{name}` (replaced): {e}"));
            }
        }
        self.graphs.clear();
    }
}

/// Swaps `next` in for `graph`, whose executor has stopped: frames still
/// queued on the old edges move to the new ones, running instances move
/// into the new tasks, and the old graph goes to the returned [`Retired`]
/// to be finished and freed. `first_tick` says where a domain resumes (a
/// tick index of the domain's clock), for nodes that did not run before.
pub(crate) fn swap(
    graph: &mut Graph,
    next: Box<Prepared>,
    first_tick: impl Fn(&DomainClock) -> u64,
    errors: &mut Vec<String>,
) -> Retired {
    let Prepared {
        graph: mut new,
        origins,
        plan,
    } = *next;
    let old = &mut graph.tasks;
    carry_frames(&graph.edges, old, &new.edges, &mut new.tasks);
    let mut retired = Retired::default();
    close_old_io(&origins, &new.tasks, old, errors);
    let by_name: HashMap<String, usize> = old
        .iter()
        .enumerate()
        .map(|(k, t)| (t.name.clone(), k))
        .collect();
    for (task, origin) in new.tasks.iter_mut().zip(&origins) {
        let prev = by_name.get(&task.name).map(|&i| &mut old[i]);
        let start = first_tick(&task.clock);
        let name = task.name.clone();
        adopt(task, *origin, prev, start, &mut retired, errors, |build| {
            build_deferred(&plan, &new.names, &name, build)
        });
    }
    let present: HashSet<&str> = new.tasks.iter().map(|t| t.name.as_str()).collect();
    for t in old
        .iter_mut()
        .filter(|t| !present.contains(t.name.as_str()))
    {
        retire(t, &mut retired);
    }
    new.stats.carry(&graph.stats);
    retired.graphs.push(std::mem::replace(graph, new));
    retired
}

/// Moves the running instance (or its state, or a crossfade from it) into
/// the new task `task`.
fn adopt(
    task: &mut Task,
    origin: Origin,
    mut prev: Option<&mut Task>,
    start: u64,
    retired: &mut Retired,
    errors: &mut Vec<String>,
    build: impl FnOnce(BuildFn) -> Result<Box<dyn Node>, String>,
) {
    task.calls = prev.as_ref().map_or(start, |p| p.calls);
    if let (Origin::Changed { .. }, Some(p)) = (origin, prev.as_deref_mut()) {
        if p.kind == task.kind && !p.ended {
            if let Some(state) = p.node.take_state() {
                task.node.restore_state(state);
            }
        }
    }
    match (origin, prev) {
        (Origin::Kept, Some(p)) => {
            std::mem::swap(&mut task.node, &mut p.node);
            task.fade = p.fade.take();
            task.cost_ns = p.cost_ns;
            if p.ended {
                task.end();
            }
        }
        (Origin::Changed { fade: true }, Some(p)) if !p.ended => {
            let old = std::mem::replace(&mut p.node, vacant());
            if let Some(f) = p.fade.take() {
                retired.nodes.push((p.name.clone(), f.into_old()));
            }
            task.fade = Some(Fade::new(old, task.output_frames()));
        }
        (Origin::Deferred(f), prev) => {
            if let Some(p) = prev {
                retire(p, retired);
            }
            match build(f) {
                Ok(node) => task.node = node,
                Err(e) => {
                    errors.push(format!(
                        "reload: node `{}`: {e}; it stays off until fixed",
                        task.name
                    ));
                    task.end();
                }
            }
        }
        (_, Some(p)) => retire(p, retired),
        (_, None) => {}
    }
}

/// Moves a replaced task's node (and any fading predecessor) to `retired`.
fn retire(t: &mut Task, retired: &mut Retired) {
    let node = std::mem::replace(&mut t.node, vacant());
    retired.nodes.push((t.name.clone(), node));
    if let Some(f) = t.fade.take() {
        retired.nodes.push((t.name.clone(), f.into_old()));
    }
}

/// Finishes, before anything is built at the swap, every old I/O node that
/// does not stay (removed, or replaced by a sink built at the swap), so a
/// sink has closed its file before its successor opens one.
fn close_old_io(origins: &[Origin], tasks: &[Task], old: &mut [Task], errors: &mut Vec<String>) {
    let staying: HashSet<&str> = tasks
        .iter()
        .zip(origins)
        .filter(|(_, o)| !matches!(o, Origin::Deferred(_)))
        .map(|(t, _)| t.name.as_str())
        .collect();
    for t in old
        .iter_mut()
        .filter(|t| t.io && !staying.contains(t.name.as_str()))
    {
        finish_now(t, errors);
    }
}

fn finish_now(t: &mut Task, errors: &mut Vec<String>) {
    if let Err(e) = t.node.finish() {
        errors.push(format!("node `{}` (kind `{}`): {e}", t.name, t.kind));
    }
    t.node = vacant();
}

/// Builds the deferred I/O node `name` of `plan`.
fn build_deferred(
    plan: &Plan,
    names: &[String],
    name: &str,
    build: BuildFn,
) -> Result<Box<dyn Node>, String> {
    let g = &plan.graph;
    let i = g
        .node_indices()
        .find(|&i| g[i].name == name)
        .ok_or("not in the plan")?;
    let ctx = BuildContext::of(&g[i], i.index() as u32, &plan.settings, names);
    build(&ctx).map_err(|e| e.to_string())
}

/// Copies every frame still queued on an old edge into the new edge with
/// the same ends and type, so nothing read ahead or written behind is lost.
fn carry_frames(
    old_links: &[EdgeLink],
    old: &mut [Task],
    new_links: &[EdgeLink],
    new: &mut [Task],
) {
    let olds: HashMap<_, &EdgeLink> = old_links.iter().map(|l| (l.key(), l)).collect();
    for l in new_links {
        let Some(o) = olds.get(&l.key()).filter(|o| o.ty == l.ty) else {
            continue;
        };
        let Some(input) = old[o.to_task]
            .inputs
            .get_mut(o.slot)
            .and_then(Option::as_mut)
        else {
            continue;
        };
        let out = &mut new[l.from_task].outputs[l.port_index];
        input.drain(|f: &Frame| {
            out.inject(l.edge, f);
        });
    }
}
