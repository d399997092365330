//! The server's counters, rendered in the Prometheus text format for
//! `/metrics`. Counters are relaxed atomics bumped by the I/O side; the
//! tick time histogram and the dropped samples are read from the running
//! calls' own statistics at scrape time and folded in when a call ends.

use crate::conn::{Counts, EndKind};
use sluice_nodes::acs::stats::CallStats;
use sluice_runtime::observation::stats::Histogram;
use sluice_runtime::Stats;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Upper bounds of the tick time histogram's buckets, in seconds.
pub const TICK_BUCKETS_S: [f64; 10] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1,
];

/// Why a connection was refused before it became a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// More calls than `--max-calls`.
    Capacity,
    /// More connections without metadata than `--max-pending`.
    Pending,
    /// The server is draining.
    Draining,
    /// The call's graph could not be built.
    Graph,
}

impl Refusal {
    const ALL: [Refusal; 4] = [
        Refusal::Capacity,
        Refusal::Pending,
        Refusal::Draining,
        Refusal::Graph,
    ];

    fn label(self) -> &'static str {
        match self {
            Refusal::Capacity => "capacity",
            Refusal::Pending => "pending",
            Refusal::Draining => "draining",
            Refusal::Graph => "graph",
        }
    }
}

#[derive(Default)]
struct Ticks {
    counts: [u64; TICK_BUCKETS_S.len()],
    total: u64,
    sum_ns: u64,
}

#[derive(Default)]
struct Folded {
    ticks: Ticks,
    dropped_in: u64,
    dropped_out: u64,
}

struct LiveCall {
    stats: Option<Arc<Stats>>,
    counters: Arc<CallStats>,
}

/// Every counter of the server.
#[derive(Default)]
pub struct Metrics {
    /// Calls running now (metadata arrived, graph started).
    pub calls_active: AtomicU64,
    /// Connections without metadata yet.
    pub pending: AtomicU64,
    calls_ended: [AtomicU64; EndKind::ALL.len()],
    refused: [AtomicU64; Refusal::ALL.len()],
    auth_failures: AtomicU64,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    bad_messages: AtomicU64,
    unknown_kinds: AtomicU64,
    rate_dropped: AtomicU64,
    live: Mutex<HashMap<u64, LiveCall>>,
    folded: Mutex<Folded>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("calls_active", &self.calls_active)
            .field("pending", &self.pending)
            .finish()
    }
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl Metrics {
    /// Counts a call that ended.
    pub fn call_ended(&self, kind: EndKind) {
        let i = EndKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        add(&self.calls_ended[i], 1);
    }

    /// Counts a refused connection or call.
    pub fn refused(&self, why: Refusal) {
        let i = Refusal::ALL.iter().position(|r| *r == why).unwrap_or(0);
        add(&self.refused[i], 1);
    }

    /// Counts a refused token.
    pub fn auth_failed(&self) {
        add(&self.auth_failures, 1);
    }

    /// Adds a connection's counts (a delta since its last report).
    pub fn add_counts(&self, c: &Counts) {
        add(&self.messages_in, c.messages_in);
        add(&self.messages_out, c.messages_out);
        add(&self.bad_messages, c.bad_messages);
        add(&self.unknown_kinds, c.unknown_kinds);
        add(&self.rate_dropped, c.rate_dropped);
    }

    /// Watches a running call's statistics until [`Metrics::call_done`].
    pub fn call_started(&self, id: u64, stats: Option<Arc<Stats>>, counters: Arc<CallStats>) {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, LiveCall { stats, counters });
    }

    /// Folds a finished call's statistics into the totals.
    pub fn call_done(&self, id: u64) {
        let call = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        if let Some(call) = call {
            let mut folded = self.folded.lock().unwrap_or_else(PoisonError::into_inner);
            fold(&mut folded, &call);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut now = Folded::default();
        {
            let folded = self.folded.lock().unwrap_or_else(PoisonError::into_inner);
            now.ticks.counts = folded.ticks.counts;
            now.ticks.total = folded.ticks.total;
            now.ticks.sum_ns = folded.ticks.sum_ns;
            now.dropped_in = folded.dropped_in;
            now.dropped_out = folded.dropped_out;
        }
        for call in self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            fold(&mut now, call);
        }
        let mut out = String::with_capacity(4096);
        self.render_counters(&mut out);
        render_samples(&mut out, &now);
        render_ticks(&mut out, &now.ticks);
        out
    }

    fn render_counters(&self, out: &mut String) {
        gauge(
            out,
            "sluice_calls_active",
            "Calls running now.",
            get(&self.calls_active),
        );
        gauge(
            out,
            "sluice_connections_pending",
            "Connections without AudioMetadata yet.",
            get(&self.pending),
        );
        header(
            out,
            "sluice_calls_total",
            "counter",
            "Calls ended, by outcome.",
        );
        for (k, c) in EndKind::ALL.iter().zip(&self.calls_ended) {
            let _ = writeln!(
                out,
                "sluice_calls_total{{outcome=\"{}\"}} {}",
                k.label(),
                get(c)
            );
        }
        header(
            out,
            "sluice_calls_refused_total",
            "counter",
            "Calls and connections refused, by reason.",
        );
        for (r, c) in Refusal::ALL.iter().zip(&self.refused) {
            let _ = writeln!(
                out,
                "sluice_calls_refused_total{{reason=\"{}\"}} {}",
                r.label(),
                get(c)
            );
        }
        counter(
            out,
            "sluice_auth_failures_total",
            "Upgrades refused for a bad or missing token.",
            get(&self.auth_failures),
        );
        counter(
            out,
            "sluice_messages_in_total",
            "WebSocket data messages received.",
            get(&self.messages_in),
        );
        counter(
            out,
            "sluice_messages_out_total",
            "WebSocket data messages sent.",
            get(&self.messages_out),
        );
        counter(
            out,
            "sluice_messages_skipped_total",
            "Messages of a live call that could not be used.",
            get(&self.bad_messages),
        );
        counter(
            out,
            "sluice_messages_unknown_total",
            "Messages of an unknown kind, ignored.",
            get(&self.unknown_kinds),
        );
        counter(
            out,
            "sluice_messages_rate_dropped_total",
            "Messages over the inbound rate limit, dropped.",
            get(&self.rate_dropped),
        );
    }
}

/// Adds one call's sample drops and tick times to `into`.
fn fold(into: &mut Folded, call: &LiveCall) {
    into.dropped_in += CallStats::get(&call.counters.dropped_in);
    into.dropped_out += CallStats::get(&call.counters.dropped_out);
    let Some(stats) = &call.stats else {
        return;
    };
    for d in &stats.domains {
        let total = d.tick.count();
        into.ticks.total += total;
        into.ticks.sum_ns += d.tick.sum();
        for (i, le) in TICK_BUCKETS_S.iter().enumerate() {
            into.ticks.counts[i] += count_at_most(&d.tick, (le * 1e9) as u64, total);
        }
    }
}

/// Samples of `h` at or below `le` ns (to the histogram's 12.5% bucket
/// precision), by bisecting its quantiles.
fn count_at_most(h: &Histogram, le: u64, total: u64) -> u64 {
    let (mut lo, mut hi) = (0u64, total);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let q = (mid as f64 - 0.5) / total as f64;
        if h.quantile(q) <= le {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, v: u64) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {v}");
}

fn counter(out: &mut String, name: &str, help: &str, v: u64) {
    header(out, name, "counter", help);
    let _ = writeln!(out, "{name} {v}");
}

fn render_samples(out: &mut String, f: &Folded) {
    header(
        out,
        "sluice_dropped_samples_total",
        "counter",
        "Audio samples dropped, by direction.",
    );
    let _ = writeln!(
        out,
        "sluice_dropped_samples_total{{direction=\"in\"}} {}",
        f.dropped_in
    );
    let _ = writeln!(
        out,
        "sluice_dropped_samples_total{{direction=\"out\"}} {}",
        f.dropped_out
    );
}

fn render_ticks(out: &mut String, t: &Ticks) {
    let name = "sluice_tick_seconds";
    header(
        out,
        name,
        "histogram",
        "Time to process one tick of a call's graph.",
    );
    for (le, c) in TICK_BUCKETS_S.iter().zip(&t.counts) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {c}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", t.total);
    let _ = writeln!(out, "{name}_sum {}", t.sum_ns as f64 / 1e9);
    let _ = writeln!(out, "{name}_count {}", t.total);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_below_a_bound_follow_the_histogram() {
        let h = Histogram::new();
        for ns in [10_000u64, 20_000, 40_000, 800_000, 3_000_000] {
            h.record(ns);
        }
        assert_eq!(count_at_most(&h, 50_000, 5), 3);
        assert_eq!(count_at_most(&h, 1_000_000, 5), 4);
        assert_eq!(count_at_most(&h, 1, 5), 0);
        assert_eq!(count_at_most(&h, u64::MAX, 5), 5);
    }

    #[test]
    fn the_exposition_names_every_metric_the_docs_promise() {
        let m = Metrics::default();
        m.call_ended(EndKind::ClientClosed);
        m.refused(Refusal::Capacity);
        m.auth_failed();
        let text = m.render();
        for needle in [
            "sluice_calls_active 0",
            "sluice_calls_total{outcome=\"client_closed\"} 1",
            "sluice_calls_refused_total{reason=\"capacity\"} 1",
            "sluice_auth_failures_total 1",
            "sluice_messages_in_total 0",
            "sluice_messages_out_total 0",
            "sluice_dropped_samples_total{direction=\"in\"} 0",
            "sluice_tick_seconds_bucket{le=\"+Inf\"} 0",
            "# TYPE sluice_tick_seconds histogram",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
    }
}
