//! `sluice_stats`: the run's counters as JSON in the caller's buffer.

use crate::endpoint::handle;
use crate::error::{guard, Fail};
use crate::graph::SluiceGraph;
use crate::{SluiceStatus, SLUICE_ERR_NULL, SLUICE_OK};
use serde_json::{json, Value};
use std::ffi::c_char;

/// Writes the run's statistics as one line of JSON into `buf`, as
/// `snprintf` does: at most `cap - 1` bytes and a NUL, and the whole
/// length (without the NUL) in `*len`, so a `len` of `cap` or more means
/// the text was cut (call again with a bigger buffer; `buf` may be NULL
/// when `cap` is 0). The fields: `state` (`built`, `running`,
/// `stopped`), `ticks`, `media_time_ns`, `drops` (on the graph's edges),
/// `inputs` and `outputs` (each `name`, `queued`, `dropped`, and for
/// inputs `underruns`), and `nodes` (each `name`, `kind`, `calls`,
/// `p50_ns`, `p99_ns` of its processing time). Returns `SLUICE_OK` or
/// `SLUICE_ERR_NULL`. Any thread; allocates (not for the media path).
///
/// # Safety
/// `graph` is NULL or an open graph; `buf` is NULL or points at `cap`
/// writable bytes; `len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sluice_stats(
    graph: *mut SluiceGraph,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> SluiceStatus {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let graph = unsafe { handle(graph, "graph")? };
        if len.is_null() {
            return Err(Fail::null("len"));
        }
        if buf.is_null() && cap > 0 {
            return Err(Fail::new(
                SLUICE_ERR_NULL,
                "`buf` is NULL and `cap` is not 0",
            ));
        }
        let text = report(graph).to_string();
        let bytes = text.as_bytes();
        if cap > 0 {
            let n = bytes.len().min(cap - 1);
            // SAFETY: `buf` holds `cap` writable bytes per the caller's
            // contract; `n + 1 <= cap`, and `text` is ours (no overlap).
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
                buf.add(n).write(0);
            }
        }
        // SAFETY: not NULL, writable per the caller's contract.
        unsafe { len.write(bytes.len()) };
        Ok(SLUICE_OK)
    })
}

/// The statistics as JSON.
fn report(graph: &SluiceGraph) -> Value {
    let state = graph.state();
    let stats = &graph.stats;
    let inputs: Vec<Value> = state
        .inputs
        .iter()
        .map(|i| {
            json!({
                "name": i.name,
                "queued": i.counters.queued(),
                "dropped": i.counters.dropped(),
                "underruns": i.counters.underruns(),
            })
        })
        .collect();
    let outputs: Vec<Value> = state
        .outputs
        .iter()
        .map(|o| json!({"name": o.name, "queued": o.counters.queued(), "dropped": o.counters.dropped()}))
        .collect();
    let nodes: Vec<Value> = stats
        .nodes
        .iter()
        .map(|n| {
            json!({
                "name": n.name,
                "kind": n.kind,
                "calls": n.calls(),
                "p50_ns": n.time.quantile(0.5),
                "p99_ns": n.time.quantile(0.99),
            })
        })
        .collect();
    json!({
        "state": state.phase.name(),
        "ticks": stats.ticks(),
        "media_time_ns": stats.media_time(),
        "drops": stats.drops(),
        "inputs": inputs,
        "outputs": outputs,
        "nodes": nodes,
    })
}
