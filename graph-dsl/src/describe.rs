//! Plans shown to people: `sluice plan` (a readable schedule) and
//! `sluice dot` (Graphviz).

use crate::plan::{Domain, Plan, PlanNode};
use crate::signature::Role;
use crate::value::show;
use crate::value::UnitKind;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::fmt::Write;

fn domain_text(d: Option<Domain>) -> String {
    match d {
        Some(Domain::Audio) => "audio".into(),
        Some(Domain::Video {
            fps_num,
            fps_den: 1,
        }) => format!("video {fps_num}fps"),
        Some(Domain::Video { fps_num, fps_den }) => format!("video {fps_num}/{fps_den}fps"),
        None => "none".into(),
    }
}

fn role_text(r: Role) -> &'static str {
    match r {
        Role::AudioSource => "audio source",
        Role::VideoSource => "video source",
        Role::Source => "source",
        Role::Process => "process",
        Role::Sink => "sink",
    }
}

fn call_text(n: &PlanNode) -> String {
    let args: Vec<String> = n
        .args
        .0
        .iter()
        .map(|(k, v)| format!("{k}: {}", v))
        .collect();
    format!("{}({})", n.kind, args.join(", "))
}

/// A readable schedule: settings, then every node in topological order with
/// its level, clock domain, thread class (real-time or I/O), arguments
/// (normalised: seconds, Hz, dB, degrees, px, ratios) and outgoing edges
/// with their types; inserted conversions are marked and listed at the end.
pub fn describe(plan: &Plan) -> String {
    let s = &plan.settings;
    let mut out = String::new();
    let _ = writeln!(out, "graph {}", plan.name);
    let _ = writeln!(
        out,
        "  rate {} Hz, frame {} samples ({}), {}{}",
        s.rate,
        s.frame_samples,
        show(
            f64::from(s.frame_samples) / f64::from(s.rate.max(1)),
            UnitKind::Time
        ),
        if s.realtime {
            "real-time (paced)"
        } else {
            "as fast as possible"
        },
        match s.duration {
            Some(d) => format!(", stops after {}", show(d, UnitKind::Time)),
            None => String::new(),
        }
    );
    let g = &plan.graph;
    let mut level_of = vec![0; g.node_count()];
    for (l, nodes) in plan.levels.iter().enumerate() {
        for n in nodes {
            level_of[n.index()] = l;
        }
    }
    let _ = writeln!(
        out,
        "\n{} nodes, {} edges, {} levels",
        g.node_count(),
        g.edge_count(),
        plan.levels.len()
    );
    let _ = writeln!(out, "\norder:");
    for (k, &i) in plan.order.iter().enumerate() {
        let n = &g[i];
        let _ = writeln!(
            out,
            "  {:>3}. {} = {}{}",
            k + 1,
            n.name,
            call_text(n),
            if n.inserted { "  [inserted]" } else { "" }
        );
        let _ = writeln!(
            out,
            "       level {}, {} domain, {}, {}{}",
            level_of[i.index()],
            domain_text(n.domain),
            role_text(n.role),
            if n.io { "I/O thread" } else { "real-time" },
            if n.endless { ", endless" } else { "" }
        );
        for e in g.edges_directed(i, Direction::Outgoing) {
            let t = &g[e.target()];
            let w = e.weight();
            let _ = writeln!(
                out,
                "       {} -> {}.{}: {}",
                n.outputs[w.from_port].name, t.name, t.inputs[w.to_port].name, w.ty
            );
        }
    }
    let _ = writeln!(out, "\nlevels (nodes of one level may run in parallel):");
    for (l, nodes) in plan.levels.iter().enumerate() {
        let names: Vec<&str> = nodes.iter().map(|&i| g[i].name.as_str()).collect();
        let _ = writeln!(out, "  {l}: {}", names.join(", "));
    }
    let inserted: Vec<&PlanNode> = g.node_weights().filter(|n| n.inserted).collect();
    let _ = writeln!(out, "\ninserted conversions: {}", inserted.len());
    for n in inserted {
        let _ = writeln!(
            out,
            "  {} = {}: {} -> {}",
            n.name,
            call_text(n),
            n.inputs[0].ty,
            n.outputs[0].ty
        );
    }
    let endless: Vec<&str> = plan.endless_sources().map(|n| n.name.as_str()).collect();
    if !endless.is_empty() {
        let _ = writeln!(
            out,
            "\nendless sources: {} (an unpaced run needs `duration`)",
            endless.join(", ")
        );
    }
    out
}

/// Escapes text for a Graphviz record label.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '{' | '}' | '|' | '<' | '>' | '"' | '\\' | ' ') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The plan as a Graphviz digraph: each node a record with its input ports
/// on the left and outputs on the right, edges from port to port labelled
/// with their types, inserted conversions dashed.
pub fn to_dot(plan: &Plan) -> String {
    let g = &plan.graph;
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", plan.name.replace('"', "\\\""));
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(out, "  node [shape=record, fontname=\"monospace\"];");
    let _ = writeln!(out, "  edge [fontname=\"monospace\", fontsize=10];");
    for i in g.node_indices() {
        let n = &g[i];
        let ports = |ps: &[crate::plan::PlanPort], p: char| {
            ps.iter()
                .enumerate()
                .map(|(k, port)| format!("<{p}{k}> {}", esc(&port.name)))
                .collect::<Vec<_>>()
                .join("|")
        };
        let mut fields = Vec::new();
        if !n.inputs.is_empty() {
            fields.push(format!("{{{}}}", ports(&n.inputs, 'i')));
        }
        fields.push(format!("{}\\n{}", esc(&n.name), esc(&n.kind)));
        if !n.outputs.is_empty() {
            fields.push(format!("{{{}}}", ports(&n.outputs, 'o')));
        }
        let style = if n.inserted { ", style=dashed" } else { "" };
        let _ = writeln!(
            out,
            "  n{} [label=\"{{{}}}\"{style}];",
            i.index(),
            fields.join("|")
        );
    }
    for e in g.edge_references() {
        let w = e.weight();
        let _ = writeln!(
            out,
            "  n{}:o{} -> n{}:i{} [label=\"{}\"];",
            e.source().index(),
            w.from_port,
            e.target().index(),
            w.to_port,
            w.ty.to_string().replace('"', "\\\"")
        );
    }
    out.push_str("}\n");
    out
}
