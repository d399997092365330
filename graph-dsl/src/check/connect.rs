//! Stage 4: connecting ports. A bare name on the left of `->` is the
//! node's default (first) output; on the right, its first free input
//! (a variadic input takes its next slot). Groups fan in, fan out or pair.

use super::{Conn, Ctx, Term};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::suggest;

/// Connects every chain, arrow by arrow.
pub fn connect(cx: &mut Ctx) {
    // Connections already made into each (instance, input port), for
    // "connected twice" and for variadic slot numbers.
    let mut into: Vec<Vec<Vec<Span>>> = cx
        .insts
        .iter()
        .map(|i| match &i.ports {
            Some(p) => vec![Vec::new(); p.inputs.len()],
            None => Vec::new(),
        })
        .collect();
    cx.failed_in = vec![false; cx.insts.len()];
    let chains = std::mem::take(&mut cx.chains);
    for chain in &chains {
        for w in chain.windows(2) {
            arrow(cx, &w[0], &w[1], &mut into);
        }
    }
    cx.chains = chains;
}

fn arrow(cx: &mut Ctx, left: &[Term], right: &[Term], into: &mut [Vec<Vec<Span>>]) {
    let (m, n) = (left.len(), right.len());
    for t in left.iter().chain(right) {
        if let Some(i) = t.inst {
            cx.insts[i].used = true;
        }
    }
    let pairs: Vec<(&Term, &Term)> = if m == 1 {
        right.iter().map(|r| (&left[0], r)).collect()
    } else if n == 1 {
        left.iter().map(|l| (l, &right[0])).collect()
    } else if m == n {
        left.iter().zip(right).collect()
    } else {
        let span = |t: &[Term]| Span {
            start: t[0].span.start,
            end: t[t.len() - 1].span.end,
        };
        cx.diags.push(
            Diagnostic::error(
                format!("cannot pair {m} outputs with {n} inputs"),
                span(right),
                format!("{n} inputs"),
            )
            .with_note_at(span(left), format!("{m} outputs"))
            .with_help("`[a, b] -> [x, y]` pairs groups of equal length; one side may also be a single node (fan-in or fan-out)"),
        );
        for t in right {
            if let Some(i) = t.inst {
                cx.failed_in[i] = true;
            }
        }
        return;
    };
    for (l, r) in pairs {
        let from = output(cx, l);
        let to = input(cx, r, into);
        if let (Some((from, out)), Some((to, input, sub))) = (from, to) {
            into[to][input].push(Span {
                start: l.span.start,
                end: r.span.end,
            });
            cx.conns.push(Conn {
                from,
                out,
                to,
                input,
                sub,
                from_span: l.span,
                to_span: r.span,
            });
        } else if let Some(i) = r.inst {
            cx.failed_in[i] = true;
        }
    }
}

/// The output a term names: (instance, output port).
fn output(cx: &mut Ctx, t: &Term) -> Option<(usize, usize)> {
    let i = t.inst?;
    let inst = &cx.insts[i];
    let ports = inst.ports.as_ref()?;
    let Some(port) = &t.port else {
        if ports.outputs.is_empty() {
            cx.diags.push(
                Diagnostic::error(
                    format!("`{}` has no outputs", inst.name),
                    t.span,
                    format!("a `{}` only consumes", inst.kind),
                )
                .with_help("a sink can only be on the right of `->`"),
            );
            return None;
        }
        return Some((i, 0));
    };
    if let Some(k) = ports
        .outputs
        .iter()
        .position(|o| o.name == port.name || o.aliases.contains(&port.name))
    {
        return Some((i, k));
    }
    let is_input = ports.inputs.iter().any(|p| p.name == port.name);
    let names: Vec<&str> = ports
        .outputs
        .iter()
        .flat_map(|o| std::iter::once(o.name.as_str()).chain(o.aliases.iter().map(String::as_str)))
        .collect();
    let list = if names.is_empty() {
        format!("`{}` has no outputs", inst.name)
    } else {
        format!("outputs of `{}`: {}", inst.name, names.join(", "))
    };
    let d = if is_input {
        Diagnostic::error(
            format!("`{}.{}` is an input, not an output", inst.name, port.name),
            port.span,
            "an input on the left of `->`",
        )
        .with_help(list)
    } else {
        Diagnostic::error(
            format!(
                "unknown output `{}` on `{}` ({})",
                port.name, inst.name, inst.kind
            ),
            port.span,
            "no such output",
        )
        .with_help(suggest::help(&port.name, names.iter().copied()).unwrap_or(list))
    };
    cx.diags.push(d);
    None
}

/// The input slot a term names: (instance, input port, variadic slot).
fn input(cx: &mut Ctx, t: &Term, into: &[Vec<Vec<Span>>]) -> Option<(usize, usize, usize)> {
    let i = t.inst?;
    let inst = &cx.insts[i];
    let ports = inst.ports.as_ref()?;
    let made = &into[i];
    match &t.port {
        None => {
            if ports.inputs.is_empty() {
                cx.diags.push(
                    Diagnostic::error(
                        format!("`{}` has no inputs", inst.name),
                        t.span,
                        format!("a `{}` is a source", inst.kind),
                    )
                    .with_help("a source can only be on the left of `->`"),
                );
                return None;
            }
            if let Some(k) = ports
                .inputs
                .iter()
                .enumerate()
                .position(|(k, p)| p.variadic || made[k].is_empty())
            {
                return Some((i, k, made[k].len()));
            }
            let mut d = Diagnostic::error(
                format!("`{}` has no free input", inst.name),
                t.span,
                "every input is already connected",
            );
            for spans in made {
                if let Some(s) = spans.first() {
                    d = d.with_note_at(*s, "connected here");
                }
            }
            let names: Vec<&str> = ports.inputs.iter().map(|p| p.name.as_str()).collect();
            cx.diags
                .push(d.with_help(format!("inputs of `{}`: {}", inst.name, names.join(", "))));
            None
        }
        Some(port) => {
            let Some(k) = ports.inputs.iter().position(|p| p.name == port.name) else {
                let names: Vec<&str> = ports.inputs.iter().map(|p| p.name.as_str()).collect();
                let is_output = ports
                    .outputs
                    .iter()
                    .any(|o| o.name == port.name || o.aliases.contains(&port.name));
                let list = if names.is_empty() {
                    format!("`{}` has no inputs", inst.name)
                } else {
                    format!("inputs of `{}`: {}", inst.name, names.join(", "))
                };
                let d = if is_output {
                    Diagnostic::error(
                        format!("`{}.{}` is an output, not an input", inst.name, port.name),
                        port.span,
                        "an output on the right of `->`",
                    )
                    .with_help(list)
                } else {
                    Diagnostic::error(
                        format!(
                            "unknown input `{}` on `{}` ({})",
                            port.name, inst.name, inst.kind
                        ),
                        port.span,
                        "no such input",
                    )
                    .with_help(suggest::help(&port.name, names.iter().copied()).unwrap_or(list))
                };
                cx.diags.push(d);
                return None;
            };
            if !ports.inputs[k].variadic {
                if let Some(first) = made[k].first() {
                    cx.diags.push(
                        Diagnostic::error(
                            format!("input `{}.{}` is connected twice", inst.name, port.name),
                            t.span,
                            "second connection",
                        )
                        .with_note_at(*first, "first connection")
                        .with_help(format!(
                            "an input takes one stream; to combine several, put a `mix` (audio) or `overlay` (video) before `{}`",
                            inst.name
                        )),
                    );
                    return None;
                }
            }
            Some((i, k, made[k].len()))
        }
    }
}

/// Stage 4b: required inputs left open, and nodes connected to nothing.
pub fn open_inputs(cx: &mut Ctx) {
    let mut connected: Vec<Vec<bool>> = cx
        .insts
        .iter()
        .map(|i| vec![false; i.ports.as_ref().map_or(0, |p| p.inputs.len())])
        .collect();
    for c in &cx.conns {
        connected[c.to][c.input] = true;
    }
    for (i, inst) in cx.insts.iter().enumerate() {
        let Some(ports) = &inst.ports else { continue };
        if cx.failed_in[i] {
            continue;
        }
        if !inst.used {
            cx.diags.push(
                Diagnostic::warning(
                    format!("`{}` is connected to nothing", inst.name),
                    inst.span,
                    "never used in a `->` chain",
                )
                .with_help(format!(
                    "connect it, as in `{} -> ...`, or remove it",
                    inst.name
                )),
            );
            continue;
        }
        for (k, p) in ports.inputs.iter().enumerate() {
            if p.required && !connected[i][k] {
                cx.diags.push(
                    Diagnostic::error(
                        format!("required input `{}.{}` is not connected", inst.name, p.name),
                        inst.span,
                        format!("`{}` needs {} on `{}`", inst.name, p.accepts, p.name),
                    )
                    .with_help(format!("connect it: `... -> {}.{}`", inst.name, p.name)),
                );
            }
        }
    }
}
