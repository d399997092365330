//! Stages 1-3: names and kinds, values, ports.

use super::{Ctx, Inst, Term};
use crate::ast::{self, ArgNode, Endpoint, Stmt};
use crate::diagnostic::Diagnostic;
use crate::normalize::check_value;
use crate::signature::Signature;
use crate::span::Span;
use crate::suggest;
use crate::value::Args;
use std::collections::HashMap;

/// Instance names: declared ones (with where they were declared), and the
/// counters that number anonymous instances per kind.
#[derive(Default)]
pub struct Names {
    /// Declared name -> instance (`None` when the declaration had errors,
    /// so uses of it stay quiet).
    pub declared: HashMap<String, (Option<usize>, Span)>,
    /// Every name in use.
    pub taken: std::collections::HashSet<String>,
    /// Per kind, how many anonymous names were tried.
    pub counters: HashMap<String, usize>,
}

impl Names {
    /// The next free name for an anonymous instance of `kind`: `kind`, then
    /// `kind_2`, `kind_3`, ... skipping names declared by the user.
    pub fn anonymous(&mut self, kind: &str) -> String {
        loop {
            let n = self.counters.entry(kind.to_string()).or_insert(0);
            *n += 1;
            let cand = if *n == 1 {
                kind.to_string()
            } else {
                format!("{kind}_{n}")
            };
            if self.taken.insert(cand.clone()) {
                return cand;
            }
        }
    }
}

/// The signature of `kind`, or an "unknown node kind" error.
fn lookup<'c>(cx: &mut Ctx<'c>, kind: &ast::Ident) -> Option<&'c Signature> {
    let cat = cx.cat;
    match cat.signature(&kind.name) {
        Some(s) => Some(s),
        None => {
            let kinds = cat.kinds();
            let help = suggest::help(&kind.name, kinds.iter().copied())
                .unwrap_or_else(|| "`sluice nodes` lists every kind".into());
            cx.diags.push(
                Diagnostic::error(
                    format!("unknown node kind `{}`", kind.name),
                    kind.span,
                    "not a node kind",
                )
                .with_help(help),
            );
            None
        }
    }
}

fn new_inst<'c>(
    cx: &mut Ctx<'c>,
    name: String,
    sig: &'c Signature,
    span: Span,
    args: &'c [ArgNode],
) -> usize {
    cx.insts.push(Inst {
        name,
        kind: sig.kind.clone(),
        sig,
        span,
        args: Args::default(),
        arg_spans: args
            .iter()
            .map(|a| (a.name.name.clone(), a.value_span))
            .collect(),
        ports: None,
        used: false,
    });
    cx.pending_args.push(args);
    cx.insts.len() - 1
}

/// Stage 1a: every `name = kind(...)`.
pub fn declarations<'c>(cx: &mut Ctx<'c>, file: &'c ast::File) {
    for stmt in &file.stmts {
        let Stmt::Decl(d) = stmt else { continue };
        if let Some((_, first)) = cx.names.declared.get(&d.name.name) {
            let first = *first;
            cx.diags.push(
                Diagnostic::error(
                    format!("the name `{}` is declared twice", d.name.name),
                    d.name.span,
                    "declared again here",
                )
                .with_note_at(first, "first declared here")
                .with_help("give each node instance its own name"),
            );
            continue;
        }
        let inst = lookup(cx, &d.call.kind)
            .map(|sig| new_inst(cx, d.name.name.clone(), sig, d.span, &d.call.args));
        cx.names
            .declared
            .insert(d.name.name.clone(), (inst, d.name.span));
        cx.names.taken.insert(d.name.name.clone());
    }
}

/// Stage 1b: every chain's endpoints, creating anonymous instances.
pub fn chains<'c>(cx: &mut Ctx<'c>, file: &'c ast::File) {
    for stmt in &file.stmts {
        let Stmt::Chain(c) = stmt else { continue };
        let items = c
            .items
            .iter()
            .map(|e| {
                let mut terms = Vec::new();
                endpoint(cx, e, &mut terms);
                terms
            })
            .collect();
        cx.chains.push(items);
    }
}

fn endpoint<'c>(cx: &mut Ctx<'c>, e: &'c Endpoint, out: &mut Vec<Term<'c>>) {
    match e {
        Endpoint::Group(g) => {
            for item in &g.items {
                endpoint(cx, item, out);
            }
        }
        Endpoint::Call(c) => {
            let inst = lookup(cx, &c.kind).map(|sig| {
                let name = cx.names.anonymous(&sig.kind);
                new_inst(cx, name, sig, c.span, &c.args)
            });
            out.push(Term {
                inst,
                port: None,
                span: c.span,
            });
        }
        Endpoint::Port(p) => {
            let inst = port_node(cx, &p.node);
            out.push(Term {
                inst,
                port: p.port.as_ref(),
                span: p.span,
            });
        }
    }
}

/// A name in a chain: a declared instance, or a kind (a new anonymous
/// instance with default parameters).
fn port_node<'c>(cx: &mut Ctx<'c>, node: &ast::Ident) -> Option<usize> {
    if let Some((inst, _)) = cx.names.declared.get(&node.name) {
        return *inst;
    }
    let cat = cx.cat;
    if let Some(sig) = cat.signature(&node.name) {
        let name = cx.names.anonymous(&sig.kind);
        return Some(new_inst(cx, name, sig, node.span, &[]));
    }
    let mut candidates: Vec<&str> = cx.names.declared.keys().map(String::as_str).collect();
    candidates.sort_unstable();
    let kinds = cat.kinds();
    let help = suggest::help(
        &node.name,
        candidates.iter().copied().chain(kinds.iter().copied()),
    )
    .unwrap_or_else(|| "declare it first: `name = kind(...)`".into());
    cx.diags.push(
        Diagnostic::error(
            format!("unknown name `{}`", node.name),
            node.span,
            "not a declared node or a node kind",
        )
        .with_help(help),
    );
    None
}

/// Stages 2 and 3: each instance's values, then its ports.
pub fn values_and_ports(cx: &mut Ctx) {
    let pending = std::mem::take(&mut cx.pending_args);
    for (i, written) in pending.iter().enumerate() {
        let sig = cx.insts[i].sig;
        let span = cx.insts[i].span;
        let Some(args) = values(cx, sig, span, written) else {
            continue;
        };
        match (sig.ports)(&args) {
            Ok(ports) => {
                for w in &ports.warnings {
                    cx.diags.push(Diagnostic::warning(
                        w.clone(),
                        span,
                        format!("reported by `{}` ({})", cx.insts[i].name, sig.kind),
                    ));
                }
                cx.insts[i].ports = Some(ports);
            }
            Err(msg) => cx.diags.push(Diagnostic::error(
                format!("invalid arguments for `{}`: {msg}", sig.kind),
                span,
                "these arguments",
            )),
        }
        cx.insts[i].args = args;
    }
}

/// Checks written arguments against the signature; `None` on any error.
fn values(cx: &mut Ctx, sig: &Signature, span: Span, written: &[ArgNode]) -> Option<Args> {
    let mut args = sig.default_args();
    let mut ok = true;
    let mut given: HashMap<&str, Span> = HashMap::new();
    for a in written {
        if let Some(first) = given.get(a.name.name.as_str()) {
            cx.diags.push(
                Diagnostic::error(
                    format!("parameter `{}` is given twice", a.name.name),
                    a.span,
                    "given again here",
                )
                .with_note_at(*first, "first given here"),
            );
            ok = false;
            continue;
        }
        given.insert(&a.name.name, a.span);
        let Some(p) = sig.param(&a.name.name) else {
            let names = sig.params.iter().map(|p| p.name.as_str());
            let help = suggest::help(&a.name.name, names.clone()).unwrap_or_else(|| {
                let all: Vec<&str> = names.collect();
                if all.is_empty() {
                    format!("`{}` takes no parameters", sig.kind)
                } else {
                    format!("`{}` takes: {}", sig.kind, all.join(", "))
                }
            });
            cx.diags.push(
                Diagnostic::error(
                    format!("unknown parameter `{}` for `{}`", a.name.name, sig.kind),
                    a.name.span,
                    "not a parameter of this kind",
                )
                .with_help(help),
            );
            ok = false;
            continue;
        };
        match check_value(p, &a.value) {
            Ok(v) => args.set(&p.name, v),
            Err(e) => {
                cx.diags.push(
                    Diagnostic::error(e.message, a.value_span, e.label).with_help_opt(e.help),
                );
                ok = false;
            }
        }
    }
    for p in &sig.params {
        if p.required && !given.contains_key(p.name.as_str()) {
            cx.diags.push(
                Diagnostic::error(
                    format!("`{}` needs the parameter `{}`", sig.kind, p.name),
                    span,
                    format!("`{}` missing", p.name),
                )
                .with_help(format!(
                    "add `{}: <{}>` ({})",
                    p.name,
                    crate::normalize::expected(&p.ty),
                    p.doc
                )),
            );
            ok = false;
        }
    }
    ok.then_some(args)
}
