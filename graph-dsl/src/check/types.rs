//! Stages 5 and 6: cycles, then edge types in topological order, with
//! automatic conversions (pixel format, mono/stereo) where they fit.

use super::{Conversion, Ctx};
use crate::diagnostic::Diagnostic;
use crate::media::{MediaType, PixelFormat, VideoType};
use crate::signature::{Accepts, OutType};
use crate::value::Arg;
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

/// What type checking found: per instance its input-slot types and output
/// types, and the conversions to insert.
pub struct Typed {
    /// Per instance, per output port: its type if known.
    pub outputs: Vec<Vec<Option<MediaType>>>,
    /// Per connection: the type it carries into its input (after any
    /// conversion).
    pub conn_types: Vec<Option<MediaType>>,
    /// Conversions to insert.
    pub conversions: Vec<Conversion>,
    /// Per instance, per input port, how many slots it has.
    pub slot_counts: Vec<Vec<usize>>,
}

/// Runs cycle detection and type derivation.
pub fn check(cx: &mut Ctx) -> Typed {
    let n = cx.insts.len();
    let mut g: DiGraph<(), usize> = DiGraph::with_capacity(n, cx.conns.len());
    for _ in 0..n {
        g.add_node(());
    }
    for (k, c) in cx.conns.iter().enumerate() {
        g.add_edge(NodeIndex::new(c.from), NodeIndex::new(c.to), k);
    }
    // Cycles are rare: look for them only when Kahn's order misses nodes.
    let mut topo = order(&g, &HashSet::new());
    if topo.len() < n {
        let in_cycle = cycles(cx, &g);
        topo = order(&g, &in_cycle);
    }
    let slot_counts = slot_counts(cx);
    let mut typed = Typed {
        outputs: cx
            .insts
            .iter()
            .map(|i| vec![None; i.ports.as_ref().map_or(0, |p| p.outputs.len())])
            .collect(),
        conn_types: vec![None; cx.conns.len()],
        conversions: Vec::new(),
        slot_counts,
    };
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, c) in cx.conns.iter().enumerate() {
        incoming[c.to].push(k);
    }
    for i in topo {
        derive(cx, i, &incoming[i], &mut typed);
    }
    typed
}

/// Reports each cycle (one per strongly connected component; Kosaraju's
/// algorithm, which is iterative, so deep graphs cannot overflow the stack)
/// and returns the instances on cycles.
fn cycles(cx: &mut Ctx, g: &DiGraph<(), usize>) -> HashSet<usize> {
    let mut on_cycle = HashSet::new();
    let mut sccs = kosaraju_scc(g);
    sccs.sort_by_key(|c| c.iter().min().copied());
    for scc in sccs {
        let self_loop = scc.len() == 1 && g.find_edge(scc[0], scc[0]).is_some();
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let members: HashSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc.iter().min().expect("non-empty");
        // Walk inside the component until a node repeats: that is a cycle.
        let mut path = vec![start];
        let mut edges = Vec::new();
        let mut seen = std::collections::HashMap::from([(start, 0usize)]);
        let mut at = start;
        let (cycle_nodes, cycle_edges) = loop {
            let e = g
                .edges(at)
                .filter(|e| members.contains(&petgraph::visit::EdgeRef::target(e)))
                .min_by_key(petgraph::visit::EdgeRef::target)
                .expect("every node of a cycle has an edge inside it");
            let next = petgraph::visit::EdgeRef::target(&e);
            edges.push(*e.weight());
            if let Some(&k) = seen.get(&next) {
                let mut nodes = path[k..].to_vec();
                nodes.push(next);
                break (nodes, edges[k..].to_vec());
            }
            seen.insert(next, path.len());
            path.push(next);
            at = next;
        };
        let names: Vec<&str> = cycle_nodes
            .iter()
            .map(|i| cx.insts[i.index()].name.as_str())
            .collect();
        let text = names.join(" -> ");
        let last = *cycle_edges.last().expect("a cycle has an edge");
        let mut d = Diagnostic::error(
            format!("cycle: {text}"),
            cx.conns[last].span(),
            "this connection closes the cycle",
        )
        .with_help("media must flow one way; remove one of these connections");
        for &e in &cycle_edges[..cycle_edges.len() - 1] {
            d = d.with_note_at(cx.conns[e].span(), "part of the cycle");
        }
        cx.diags.push(d);
        on_cycle.extend(scc.iter().map(|i| i.index()));
    }
    on_cycle
}

/// Kahn's algorithm, smallest index first among the ready, skipping
/// instances on cycles and everything downstream of them.
fn order(g: &DiGraph<(), usize>, skip: &HashSet<usize>) -> Vec<usize> {
    let n = g.node_count();
    let mut indeg = vec![0usize; n];
    for e in g.edge_indices() {
        let (_, b) = g.edge_endpoints(e).expect("edge exists");
        indeg[b.index()] += 1;
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| indeg[i] == 0).map(Reverse).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        if skip.contains(&i) {
            continue;
        }
        out.push(i);
        for b in g.neighbors(NodeIndex::new(i)) {
            indeg[b.index()] -= 1;
            if indeg[b.index()] == 0 {
                ready.push(Reverse(b.index()));
            }
        }
    }
    out
}

fn slot_counts(cx: &Ctx) -> Vec<Vec<usize>> {
    let mut counts: Vec<Vec<usize>> = cx
        .insts
        .iter()
        .map(|i| match &i.ports {
            Some(p) => p.inputs.iter().map(|p| usize::from(!p.variadic)).collect(),
            None => Vec::new(),
        })
        .collect();
    for c in &cx.conns {
        let slot = &mut counts[c.to][c.input];
        *slot = (*slot).max(c.sub + 1);
    }
    counts
}

/// What to do with a type arriving at an input.
enum Fit {
    Yes,
    Convert(&'static str, Arg, MediaType),
    No,
}

fn fit(accepts: &Accepts, ty: &MediaType) -> Fit {
    match (accepts, ty) {
        (Accepts::Any, _) => Fit::Yes,
        (Accepts::Audio { channels: None }, MediaType::Audio { .. }) => Fit::Yes,
        (Accepts::Audio { channels: Some(n) }, MediaType::Audio { channels }) => {
            if n == channels {
                Fit::Yes
            } else if matches!((*n, *channels), (1, 2) | (2, 1)) {
                Fit::Convert(
                    "remix",
                    Arg::Num(f64::from(*n)),
                    MediaType::Audio { channels: *n },
                )
            } else {
                Fit::No
            }
        }
        (Accepts::Bundle, MediaType::Bundle { .. }) => Fit::Yes,
        (Accepts::AudioOrBundle, MediaType::Audio { .. } | MediaType::Bundle { .. }) => Fit::Yes,
        (Accepts::Video { formats }, MediaType::Video(v)) => {
            if formats.is_empty() || formats.contains(&v.format) {
                Fit::Yes
            } else {
                let f = formats[0];
                Fit::Convert(
                    "convert",
                    Arg::Enum(f.name().into()),
                    MediaType::Video(VideoType { format: f, ..*v }),
                )
            }
        }
        (Accepts::Events, MediaType::Events) => Fit::Yes,
        _ => Fit::No,
    }
}

/// Types one instance: checks each connected input, plans conversions,
/// then derives its outputs.
fn derive(cx: &mut Ctx, i: usize, incoming: &[usize], typed: &mut Typed) {
    let Some(ports) = cx.insts[i].ports.take() else {
        return;
    };
    derive_with(cx, i, &ports, incoming, typed);
    cx.insts[i].ports = Some(ports);
}

fn derive_with(
    cx: &mut Ctx,
    i: usize,
    ports: &crate::signature::Ports,
    incoming: &[usize],
    typed: &mut Typed,
) {
    let counts = typed.slot_counts[i].clone();
    let base: Vec<usize> = counts
        .iter()
        .scan(0, |acc, &c| {
            let b = *acc;
            *acc += c;
            Some(b)
        })
        .collect();
    let nslots: usize = counts.iter().sum();
    let mut slots: Vec<Option<MediaType>> = vec![None; nslots];
    let mut complete = true;
    for &k in incoming {
        let c = cx.conns[k].clone();
        let Some(ty) = typed.outputs[c.from][c.out] else {
            complete = false;
            continue;
        };
        let port = &ports.inputs[c.input];
        let got = match fit(&port.accepts, &ty) {
            Fit::Yes => Some(ty),
            Fit::Convert(kind, arg, out) => convert(cx, k, kind, arg, out, typed),
            Fit::No => {
                mismatch(cx, k, &ty, &port.accepts, &port.name);
                None
            }
        };
        complete &= got.is_some();
        typed.conn_types[k] = got;
        slots[base[c.input] + c.sub] = got;
    }
    let open_required = ports
        .inputs
        .iter()
        .zip(&counts)
        .any(|(p, &c)| p.required && c == 0)
        || ports
            .inputs
            .iter()
            .enumerate()
            .any(|(k, p)| p.required && !p.variadic && slots[base[k]].is_none());
    if !complete || open_required {
        return;
    }
    for (o, out) in ports.outputs.iter().enumerate() {
        let ty = match out.ty {
            OutType::Fixed(t) => Ok(t),
            OutType::SameAs(s) => slots.get(s).copied().flatten().ok_or_else(|| {
                format!(
                    "output `{}` takes the type of input slot {s}, which is not connected",
                    out.name
                )
            }),
            OutType::Derived(f) => f(&cx.insts[i].args, &slots),
        };
        match ty {
            Ok(t) => typed.outputs[i][o] = Some(t),
            Err(msg) if cx.insts[i].used => {
                let inst = &cx.insts[i];
                cx.diags.push(Diagnostic::error(
                    format!(
                        "cannot type the output `{}` of `{}`: {msg}",
                        out.name, inst.name
                    ),
                    inst.span,
                    "here",
                ));
            }
            Err(_) => {}
        }
    }
}

fn convert(
    cx: &mut Ctx,
    k: usize,
    kind: &'static str,
    arg: Arg,
    out: MediaType,
    typed: &mut Typed,
) -> Option<MediaType> {
    let c = &cx.conns[k];
    let Some(sig) = cx.cat.signature(kind) else {
        cx.diags.push(Diagnostic::error(
            format!("a `{kind}` node is needed here, but the catalogue has none"),
            c.span(),
            "this connection needs a conversion",
        ));
        return None;
    };
    let mut args = sig.default_args();
    let key = if kind == "remix" {
        "channels"
    } else {
        "format"
    };
    args.set(key, arg);
    typed.conversions.push(Conversion {
        conn: k,
        kind,
        args,
        out_ty: out,
    });
    Some(out)
}

fn mismatch(cx: &mut Ctx, k: usize, ty: &MediaType, accepts: &Accepts, port: &str) {
    let c = &cx.conns[k];
    let (from, to) = (&cx.insts[c.from].name, &cx.insts[c.to].name);
    let help = match (ty, accepts) {
        (MediaType::Bundle { .. }, Accepts::Audio { .. }) => {
            Some(format!("mix the bundle down first: `{from} -> mix -> {to}`"))
        }
        (MediaType::Audio { channels }, Accepts::Audio { channels: Some(n) }) => Some(format!(
            "only mono and stereo convert automatically; put `remix(channels: {n})` before `{to}` (from {channels} channels)"
        )),
        (MediaType::Audio { .. }, Accepts::Bundle) => Some(format!(
            "`{to}` works on participant streams; give it a bundle (`participants`, `acs_in`)"
        )),
        _ => None,
    };
    cx.diags.push(
        Diagnostic::error(
            format!("type mismatch: `{from}` gives {ty}, but `{to}.{port}` takes {accepts}"),
            c.to_span,
            format!("takes {accepts}"),
        )
        .with_note_at(c.from_span, format!("gives {ty}"))
        .with_help_opt(help),
    );
}

/// The narrowest type an input accepts, for unconnected optional inputs
/// and untyped outputs of nodes connected to nothing.
pub fn placeholder(accepts: &Accepts) -> MediaType {
    match accepts {
        Accepts::Audio { channels } => MediaType::Audio {
            channels: channels.unwrap_or(1),
        },
        Accepts::AudioOrBundle => MediaType::Audio { channels: 1 },
        Accepts::Bundle => MediaType::Bundle { capacity: 0 },
        Accepts::Video { formats } => MediaType::Video(VideoType {
            format: formats.first().copied().unwrap_or(PixelFormat::I420),
            width: 0,
            height: 0,
            fps: (0, 1),
        }),
        Accepts::Events | Accepts::Any => MediaType::Events,
    }
}
