//! Stage 6b: each instance's constraints (see [`crate::constraint`]),
//! once every edge is typed: against the graph settings, the input types
//! and the other instances, at the span of the argument at fault.

use super::types::Typed;
use super::{Ctx, Inst};
use crate::constraint::{apply, Constraint, Finding, RuleInput};
use crate::diagnostic::{Diagnostic, Severity};
use crate::plan::Span;
use crate::signature::MediaType;
use std::collections::HashMap;

/// Applies every instance's constraints.
pub fn check(cx: &mut Ctx, typed: &Typed) {
    let inputs = input_types(cx, typed);
    let mut first_of_kind: HashMap<String, Span> = HashMap::new();
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

/// A finding as a diagnostic, under the value of the argument at fault
/// when it was written, else under the instance.
pub fn diagnostic(inst: &Inst, f: Finding) -> Diagnostic {
    let written = f.param.and_then(|p| {
        inst.arg_spans
            .iter()
            .find(|(name, _)| name == p)
            .map(|(_, s)| *s)
    });
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
