//! Stage 7: the plan. Instances in source order, then inserted
//! conversions, then the schedule ([`Plan::scheduled`]: order, levels and
//! clock domains).

use super::types::{placeholder, Typed};
use super::Ctx;
use crate::media::MediaType;
use crate::plan::{Plan, PlanEdge, PlanNode, PlanPort};
use crate::signature::OutType;
use petgraph::graph::{DiGraph, NodeIndex};

/// Builds the plan from a graph with no errors.
pub fn plan(cx: &mut Ctx, name: String, typed: Typed) -> Plan {
    let mut g: DiGraph<PlanNode, PlanEdge> = DiGraph::with_capacity(
        cx.insts.len() + typed.conversions.len(),
        cx.conns.len() + typed.conversions.len(),
    );
    for (i, inst) in cx.insts.iter_mut().enumerate() {
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
        let endless = (inst.sig.endless)(&inst.args);
        g.add_node(PlanNode {
            name: std::mem::take(&mut inst.name),
            kind: std::mem::take(&mut inst.kind),
            args: std::mem::take(&mut inst.args),
            inputs,
            outputs,
            role: inst.sig.role,
            io: inst.sig.io,
            domain: None,
            inserted: false,
            endless,
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
    Plan::scheduled(name, cx.settings.clone(), g)
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
