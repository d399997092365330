//! Stage 6b: each instance's constraints (see [`crate::constraint`]),
//! once every edge is typed: against the graph settings, the input types
//! and the other instances, at the span of the argument at fault.

use super::types::Typed;
use super::{Ctx, Inst};
use crate::constraint::{apply, Constraint, Finding, RuleInput};
use crate::diagnostic::{Diagnostic, Severity};
use crate::media::MediaType;
use crate::settings::Settings;
use crate::signature::Signature;
use crate::span::Span;
use crate::value::Args;
use std::collections::HashMap;

/// Applies every instance's constraints.
pub fn check(cx: &mut Ctx, typed: &Typed) {
    let inputs = input_types(cx, typed);
    let mut first_of_kind: HashMap<String, Span> = HashMap::new();
    let mut first_named: HashMap<(&'static str, String), Span> = HashMap::new();
    let mut found = Vec::new();
    for (i, inst) in cx.insts.iter().enumerate() {
        let Some(ports) = &inst.ports else { continue };
        let input = RuleInput {
            args: &inst.args,
            settings: &cx.settings,
            inputs: &inputs[i],
        };
        for c in &ports.constraints {
            if let Constraint::OnePerGraph = c {
                if let Some(d) = one_per_graph(inst, &mut first_of_kind) {
                    found.push(d);
                }
                continue;
            }
            if let Constraint::Unique { param, what } = *c {
                found.extend(unique(inst, param, what, &mut first_named));
                continue;
            }
            found.extend(apply(c, &input).into_iter().map(|f| diagnostic(inst, f)));
        }
    }
    for d in found {
        cx.diags.push(d);
    }
}

/// Per instance, the type arriving at each input slot.
fn input_types(cx: &Ctx, typed: &Typed) -> Vec<Vec<Option<MediaType>>> {
    let mut inputs: Vec<Vec<Option<MediaType>>> = typed
        .slot_counts
        .iter()
        .map(|counts| vec![None; counts.iter().sum()])
        .collect();
    for (k, c) in cx.conns.iter().enumerate() {
        let slot = typed.slot_counts[c.to][..c.input].iter().sum::<usize>() + c.sub;
        if let Some(s) = inputs[c.to].get_mut(slot) {
            *s = typed.conn_types[k];
        }
    }
    inputs
}

fn one_per_graph(inst: &Inst, first: &mut HashMap<String, Span>) -> Option<Diagnostic> {
    let Some(&at) = first.get(&inst.kind) else {
        first.insert(inst.kind.clone(), inst.span);
        return None;
    };
    Some(
        Diagnostic::error(
            format!("a graph can have only one `{}`", inst.kind),
            inst.span,
            "a second one",
        )
        .with_note_at(at, "the first one")
        .with_help(format!(
            "connect everything to the first `{}` (fan out with `[a, b]`)",
            inst.kind
        )),
    )
}

/// A second instance whose `param` repeats a value another instance with
/// the same `what` already took: an error under the repeated value.
fn unique(
    inst: &Inst,
    param: &'static str,
    what: &'static str,
    first: &mut HashMap<(&'static str, String), Span>,
) -> Option<Diagnostic> {
    let value = inst.args.str(param)?;
    let at = arg_span(inst, param).unwrap_or(inst.span);
    let Some(&before) = first.get(&(what, value.to_string())) else {
        first.insert((what, value.to_string()), at);
        return None;
    };
    Some(
        Diagnostic::error(
            format!("two {what}s are named `{value}`"),
            at,
            "named again here",
        )
        .with_note_at(before, "first named here")
        .with_help(format!("give each {what} its own `{param}`")),
    )
}

/// Where the value of the written argument `param` is.
fn arg_span(inst: &Inst, param: &str) -> Option<Span> {
    inst.arg_spans
        .iter()
        .find(|(name, _)| name == param)
        .map(|(_, s)| *s)
}

/// A finding as a diagnostic, under the value of the argument at fault
/// when it was written, else under the instance.
pub fn diagnostic(inst: &Inst, f: Finding) -> Diagnostic {
    let written = f.param.and_then(|p| arg_span(inst, p));
    let (span, label) = match (written, f.param) {
        (Some(s), _) => (s, f.label),
        (None, Some(p)) => (inst.span, format!("`{p}` left to its default: {}", f.label)),
        (None, None) => (inst.span, f.label),
    };
    let d = match f.severity {
        Severity::Error => Diagnostic::error(f.message, span, label),
        Severity::Warning => Diagnostic::warning(f.message, span, label),
    };
    d.with_help_opt(f.help)
}

/// Every finding for one instance of `sig` with `args`, in a graph with
/// `settings`, whose inputs carry `inputs`: an error from its ports fn,
/// its port warnings, then its constraints (all but `OnePerGraph` and
/// `Unique`, which need the whole graph). For values that come from outside the graph
/// text, such as `sluice run --set`.
pub fn check_instance(
    sig: &Signature,
    args: &Args,
    settings: &Settings,
    inputs: &[Option<MediaType>],
) -> Vec<Finding> {
    let ports = match (sig.ports)(args) {
        Ok(p) => p,
        Err(msg) => {
            return vec![Finding::error(
                None,
                format!("invalid arguments for `{}`: {msg}", sig.kind),
                "these arguments",
            )]
        }
    };
    let input = RuleInput {
        args,
        settings,
        inputs,
    };
    let mut found: Vec<Finding> = ports
        .warnings
        .iter()
        .map(|w| Finding::warning(None, w.clone(), format!("reported by `{}`", sig.kind)))
        .collect();
    for c in &ports.constraints {
        found.extend(apply(c, &input));
    }
    found
}
