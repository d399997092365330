//! Live parameter changes from the host: `sluice_set(graph,
//! "blur.radius", "24px")`, checked as strictly as graph text is, then
//! queued for the engine thread, which applies it before the node's next
//! tick.

use crate::endpoint::{handle, text_arg};
use crate::error::{guard, Fail};
use crate::graph::SluiceGraph;
use crate::{SluiceStatus, SLUICE_ERR_PARAM, SLUICE_OK};
use sluice_dsl::{Arg, ParamSig, ParamType};
use std::ffi::c_char;

/// Sets a live parameter: `key` is `node.param` (or `node.param.item`
/// for one item of a per-participant list, as `position.alice`), `value`
/// is written as in graph text (`-6dB`, `24px`, `true`, `"text"`). The
/// change is checked (the node and parameter exist, the parameter is
/// live, the value fits its type, unit and range) and applied before the
/// node's next tick; before `sluice_start` it holds from the first tick.
/// Returns `SLUICE_OK`, or `SLUICE_ERR_PARAM` saying what is wrong,
/// `SLUICE_ERR_NULL`, `SLUICE_ERR_ARG` (not UTF-8). Any thread (changes
/// from several threads are taken in turn).
///
/// # Safety
/// `graph` is NULL or an open graph; `key` and `value` are NULL or
/// NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn sluice_set(
    graph: *mut SluiceGraph,
    key: *const c_char,
    value: *const c_char,
) -> SluiceStatus {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let (graph, key, value) = unsafe {
            (
                handle(graph, "graph")?,
                text_arg(key, "key")?,
                text_arg(value, "value")?,
            )
        };
        let (node, param, arg) = parse(graph, key, value).map_err(|e| param_error(key, e))?;
        graph
            .state()
            .controller
            .set(node, param, arg)
            .map_err(|e| param_error(key, e.to_string()))?;
        Ok(SLUICE_OK)
    })
}

fn param_error(key: &str, why: String) -> Fail {
    Fail::new(SLUICE_ERR_PARAM, format!("cannot set `{key}`: {why}"))
}

/// Splits `node.param` and checks `value` against the parameter's
/// signature.
fn parse<'k>(
    graph: &SluiceGraph,
    key: &'k str,
    value: &str,
) -> Result<(&'k str, &'k str, Arg), String> {
    let (node, param) = key
        .split_once('.')
        .ok_or("expected `node.param` (the node's name, a dot, the parameter)")?;
    let index = graph
        .plan
        .node_by_name(node)
        .ok_or_else(|| format!("no node is named `{node}`"))?;
    let kind = &graph.plan.graph[index].kind;
    let sig = &graph
        .registry
        .kind(kind)
        .ok_or_else(|| format!("unknown kind `{kind}`"))?
        .signature;
    let (name, item) = match param.split_once('.') {
        Some((name, _)) => (name, true),
        None => (param, false),
    };
    let param_sig = settable(sig.param(name), item)
        .ok_or_else(|| format!("`{kind}` has no parameter `{name}`"))?;
    let parsed = sluice_dsl::parse_value(value.trim())?;
    let arg = sluice_dsl::check_value(&param_sig, &parsed)
        .map_err(|e| format!("{} ({})", e.message, e.label))?;
    Ok((node, param, arg))
}

/// The parameter as a value set for it must be: for one item of a list
/// (`position.alice`), the list's item type.
fn settable(param: Option<&ParamSig>, item: bool) -> Option<ParamSig> {
    let param = param?;
    Some(match (&param.ty, item) {
        (ParamType::List(t), true) => ParamSig {
            ty: (**t).clone(),
            ..param.clone()
        },
        _ => param.clone(),
    })
}
