//! Stage 7: the plan. Instances in source order, then inserted
//! conversions; a topological order (smallest index first among the
//! ready), parallel levels and clock domains.

use super::types::{placeholder, Typed};
use super::Ctx;
use crate::plan::{Domain, Plan, PlanEdge, PlanNode, PlanPort};
use crate::signature::{MediaType, OutType, Role};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Builds the plan from a graph with no errors.
pub fn plan(cx: &mut Ctx, name: String, typed: Typed) -> Plan {
    let mut g: DiGraph<PlanNode, PlanEdge> = DiGraph::with_capacity(
        cx.insts.len() + typed.conversions.len(),
        cx.conns.len() + typed.conversions.len(),
    );
    for (i, inst) in cx.insts.iter().enumerate() {
        let ports = inst
            .ports
            .as_ref()
            .expect("no errors, so every instance has ports");
        let mut inputs = Vec::new();
        for (k, p) in ports.inputs.iter().enumerate() {
            let count = typed.slot_counts[i][k];
            for s in 0..count {
                inputs.push(PlanPort {
                    name: if p.variadic {
                        format!("{}{s}", p.name)
                    } else {
                        p.name.clone()
                    },
                    ty: placeholder(&p.accepts),
                    connected: false,
                });
            }
        }
        let outputs = ports
            .outputs
            .iter()
            .enumerate()
            .map(|(o, p)| PlanPort {
                name: p.name.clone(),
                ty: typed.outputs[i][o].unwrap_or_else(|| untyped(&p.ty, ports)),
                connected: true,
            })
            .collect();
        g.add_node(PlanNode {
            name: inst.name.clone(),
            kind: inst.kind.clone(),
            args: inst.args.clone(),
            inputs,
            outputs,
            role: inst.sig.role,
            io: inst.sig.io,
            domain: None,
            inserted: false,
            endless: (inst.sig.endless)(&inst.args),
            span: inst.span,
        });
    }
    // Slot index of each connection's input.
    let slot_of = |to: usize, input: usize, sub: usize| -> usize {
        typed.slot_counts[to][..input].iter().sum::<usize>() + sub
    };
    let mut conv_of = vec![None; cx.conns.len()];
    for (k, c) in typed.conversions.iter().enumerate() {
        conv_of[c.conn] = Some(k);
    }
    for (k, c) in cx.conns.iter().enumerate() {
        let from = NodeIndex::new(c.from);
        let to = NodeIndex::new(c.to);
        let slot = slot_of(c.to, c.input, c.sub);
        let src_ty = g[from].outputs[c.out].ty;
        let ty = typed.conn_types[k].expect("no errors, so every edge is typed");
        g[to].inputs[slot].ty = ty;
        g[to].inputs[slot].connected = true;
        let Some(v) = conv_of[k] else {
            g.add_edge(
                from,
                to,
                PlanEdge {
                    from_port: c.out,
                    to_port: slot,
                    ty,
                },
            );
            continue;
        };
        let conv = &typed.conversions[v];
        let sig = cx.cat.signature(conv.kind).expect("checked when planned");
        let node = PlanNode {
            name: cx.names.anonymous(conv.kind),
            kind: conv.kind.to_string(),
            args: conv.args.clone(),
            inputs: vec![PlanPort {
                name: "in".into(),
                ty: src_ty,
                connected: true,
            }],
            outputs: vec![PlanPort {
                name: "out".into(),
                ty: conv.out_ty,
                connected: true,
            }],
            role: sig.role,
            io: sig.io,
            domain: None,
            inserted: true,
            endless: false,
            span: c.span(),
        };
        let x = g.add_node(node);
        g.add_edge(
            from,
            x,
            PlanEdge {
                from_port: c.out,
                to_port: 0,
                ty: src_ty,
            },
        );
        g.add_edge(
            x,
            to,
            PlanEdge {
                from_port: 0,
                to_port: slot,
                ty: conv.out_ty,
            },
        );
    }
    let order = topo(&g);
    let levels = levels(&g, &order);
    domains(&mut g, &order);
    Plan {
        name,
        settings: cx.settings.clone(),
        graph: g,
        order,
        levels,
    }
}

/// The type shown for an output that could not be derived (its node is
/// connected to nothing).
fn untyped(ty: &OutType, ports: &crate::signature::Ports) -> MediaType {
    match ty {
        OutType::Fixed(t) => *t,
        OutType::SameAs(s) => ports
            .inputs
            .get(*s)
            .map_or(MediaType::Events, |p| placeholder(&p.accepts)),
        OutType::Derived(_) => MediaType::Events,
    }
}

fn topo(g: &DiGraph<PlanNode, PlanEdge>) -> Vec<NodeIndex> {
    let mut indeg: Vec<usize> = g
        .node_indices()
        .map(|i| g.neighbors_directed(i, Direction::Incoming).count())
        .collect();
    let mut ready: BinaryHeap<Reverse<usize>> = (0..g.node_count())
        .filter(|&i| indeg[i] == 0)
        .map(Reverse)
        .collect();
    let mut out = Vec::with_capacity(g.node_count());
    while let Some(Reverse(i)) = ready.pop() {
        out.push(NodeIndex::new(i));
        for b in g.neighbors(NodeIndex::new(i)) {
            indeg[b.index()] -= 1;
            if indeg[b.index()] == 0 {
                ready.push(Reverse(b.index()));
            }
        }
    }
    out
}

fn levels(g: &DiGraph<PlanNode, PlanEdge>, order: &[NodeIndex]) -> Vec<Vec<NodeIndex>> {
    let mut level = vec![0usize; g.node_count()];
    let mut out: Vec<Vec<NodeIndex>> = Vec::new();
    for &i in order {
        let l = g
            .neighbors_directed(i, Direction::Incoming)
            .map(|p| level[p.index()] + 1)
            .max()
            .unwrap_or(0);
        level[i.index()] = l;
        if out.len() <= l {
            out.resize_with(l + 1, Vec::new);
        }
        out[l].push(i);
    }
    out
}

/// Sources define a domain; every other node takes the domain of its
/// first connected input (in slot order).
fn domains(g: &mut DiGraph<PlanNode, PlanEdge>, order: &[NodeIndex]) {
    for &i in order {
        let d = match g[i].role {
            Role::AudioSource => Some(Domain::Audio),
            Role::VideoSource => Some(match g[i].outputs.first().map(|p| p.ty) {
                Some(MediaType::Video(v)) => Domain::Video {
                    fps_num: v.fps.0,
                    fps_den: v.fps.1,
                },
                _ => Domain::Video {
                    fps_num: 30,
                    fps_den: 1,
                },
            }),
            Role::Process | Role::Sink => g
                .edges_directed(i, Direction::Incoming)
                .min_by_key(|e| petgraph::visit::EdgeRef::weight(e).to_port)
                .and_then(|e| g[petgraph::visit::EdgeRef::source(&e)].domain),
        };
        g[i].domain = d;
    }
}
