//! Run statistics: per-node processing time, ticks, drops and xruns, kept in
//! preallocated atomics so another thread can read them while the graph runs
//! (`sluice run --stats=live`) and the processing threads never allocate.

use crate::execution::priority::Scheduling;
use crate::transport::edge::EdgeShared;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Sub-buckets per power of two: values are kept within 1/8 (12.5%).
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
/// Enough buckets for any `u64` nanosecond count.
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// A log-bucketed histogram of nanosecond durations with one writer.
///
/// Buckets are powers of two split in eight, so a percentile is exact to
/// within 12.5%. The writer uses plain loads and stores (no read-modify-write
/// instructions: only one thread records a given node); readers on other
/// threads see counts that are at most one sample behind.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    max: AtomicU64,
    sum: AtomicU64,
}

fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let mantissa = (v >> (exp - SUB_BITS)) & (SUB - 1);
    ((exp - SUB_BITS + 1) as u64 * SUB + mantissa) as usize
}

/// The largest value that falls in bucket `b`.
fn bucket_high(b: usize) -> u64 {
    let b = b as u64;
    if b < SUB {
        return b;
    }
    let exp = b / SUB + SUB_BITS as u64 - 1;
    let mantissa = b % SUB;
    let low = (1u64 << exp) | (mantissa << (exp - SUB_BITS as u64));
    low.saturating_add((1u64 << (exp - SUB_BITS as u64)) - 1)
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    /// An empty histogram (allocates: build time only).
    pub fn new() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            max: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }

    /// Records one duration in nanoseconds. Single writer only.
    pub fn record(&self, ns: u64) {
        let b = &self.buckets[bucket_of(ns)];
        b.store(b.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        self.sum
            .store(self.sum.load(Ordering::Relaxed) + ns, Ordering::Relaxed);
        if ns > self.max.load(Ordering::Relaxed) {
            self.max.store(ns, Ordering::Relaxed);
        }
        self.count
            .store(self.count.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }

    /// Largest sample.
    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    /// Sum of all samples (for the mean).
    pub fn sum(&self) -> u64 {
        self.sum.load(Ordering::Relaxed)
    }

    /// The `q`-quantile (0..=1): the upper edge of the bucket holding it,
    /// capped at the maximum seen.
    pub fn quantile(&self, q: f64) -> u64 {
        let total: u64 = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum();
        if total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return bucket_high(i).min(self.max());
            }
        }
        self.max()
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count())
            .field("p50", &self.quantile(0.5))
            .field("max", &self.max())
            .finish()
    }
}

/// A node's own counters as text ([`crate::Node::report`]): formatted
/// from the thread that prints the stats while the node runs.
pub type Report = Arc<dyn fmt::Display + Send + Sync>;

/// Live counters of one node.
pub struct NodeStats {
    /// Instance name.
    pub name: String,
    /// Node kind.
    pub kind: String,
    /// Time spent per `process` call (including its ports' hand-off), on
    /// the sampled ticks (see [`crate::observation::timing`]).
    pub time: Histogram,
    calls: AtomicU64,
    /// The node's own counters, set once its instance is known.
    report: OnceLock<Report>,
}

impl fmt::Debug for NodeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeStats")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("time", &self.time)
            .field("calls", &self.calls())
            .field("report", &self.report().map(|r| r.to_string()))
            .finish()
    }
}

impl NodeStats {
    /// Empty counters for node `name` of `kind` (allocates: build time).
    pub fn new(name: &str, kind: &str) -> NodeStats {
        NodeStats {
            name: name.to_string(),
            kind: kind.to_string(),
            time: Histogram::new(),
            calls: AtomicU64::new(0),
            report: OnceLock::new(),
        }
    }

    /// Attaches the node's own counters (once; later calls are ignored).
    pub fn set_report(&self, report: Report) {
        let _ = self.report.set(report);
    }

    /// The node's own counters, if it keeps any.
    pub fn report(&self) -> Option<&Report> {
        self.report.get()
    }

    /// `process` calls so far, timed or not.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Counts one call. Single writer (the node's thread): a plain load
    /// and store, no read-modify-write instruction.
    #[inline]
    pub(crate) fn count_call(&self) {
        self.calls
            .store(self.calls.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}

/// Live counters of one edge.
#[derive(Debug)]
pub struct EdgeStats {
    /// `from.port -> to.slot`, for tables.
    pub label: String,
    /// Counters shared with the edge's two ends.
    pub shared: Arc<EdgeShared>,
}

/// Live counters of one real-time clock domain's thread: how long its
/// ticks take and how late they start, the figures that say whether a
/// machine keeps up (a tick must end before the next one is due).
#[derive(Debug)]
pub struct DomainStats {
    /// `audio`, `video 30 fps`.
    pub name: String,
    /// Time from a tick's start to its last node's end.
    pub tick: Histogram,
    /// Jitter: how long after its scheduled start a tick began (the pace
    /// clock's wake-up lateness plus any backlog from late ticks).
    pub late: Histogram,
    xruns: AtomicU64,
    /// The thread's [`Scheduling`], packed.
    scheduling: AtomicU64,
}

impl DomainStats {
    /// Counters for domain `name` (allocates: build time only).
    pub fn new(name: impl Into<String>) -> DomainStats {
        DomainStats {
            name: name.into(),
            tick: Histogram::new(),
            late: Histogram::new(),
            xruns: AtomicU64::new(0),
            scheduling: AtomicU64::new(0),
        }
    }

    /// Ticks of this domain that ended after the next one was due.
    pub fn xruns(&self) -> u64 {
        self.xruns.load(Ordering::Relaxed)
    }

    /// What scheduling the domain's thread got (real time; `Normal` for
    /// a thread that asked for none, or before it started).
    pub fn scheduling(&self) -> Scheduling {
        Scheduling::unpack(self.scheduling.load(Ordering::Acquire))
    }

    /// Records what the domain's thread got, as it starts.
    pub(crate) fn set_scheduling(&self, s: Scheduling) {
        self.scheduling.store(s.pack(), Ordering::Release);
    }
}

/// Everything a run counts, shared between the engine's threads and readers.
#[derive(Debug)]
pub struct Stats {
    /// Per node, in execution order.
    pub nodes: Vec<NodeStats>,
    /// Per edge.
    pub edges: Vec<EdgeStats>,
    /// Per clock domain, filled by the real-time executor's domain threads.
    pub domains: Vec<DomainStats>,
    ticks: AtomicU64,
    media_time: AtomicU64,
    xruns: AtomicU64,
    /// Drops on the edges of the graphs a hot reload replaced.
    carried_drops: AtomicU64,
}

impl Stats {
    pub(crate) fn new(nodes: Vec<NodeStats>, edges: Vec<EdgeStats>) -> Stats {
        Stats {
            nodes,
            edges,
            domains: Vec::new(),
            ticks: AtomicU64::new(0),
            media_time: AtomicU64::new(0),
            xruns: AtomicU64::new(0),
            carried_drops: AtomicU64::new(0),
        }
    }

    /// Takes over the run-wide counters (ticks, media time, xruns, drops)
    /// of the graph this one replaces at a hot reload; per-node and
    /// per-edge figures start afresh with the new graph.
    pub(crate) fn carry(&self, old: &Stats) {
        for (new, old) in [
            (&self.ticks, old.ticks()),
            (&self.media_time, old.media_time()),
            (&self.xruns, old.xruns()),
            (&self.carried_drops, old.drops()),
        ] {
            new.fetch_max(old, Ordering::Relaxed);
        }
    }

    /// Gives each node that a reload keeps running the counters its
    /// instance reported when it was built (the instance moves into the
    /// new graph; its report stays valid). Off the real-time path.
    pub(crate) fn carry_reports(&self, old: &Stats) {
        for n in self.nodes.iter().filter(|n| n.report().is_none()) {
            let same = old
                .nodes
                .iter()
                .find(|o| o.name == n.name && o.kind == n.kind);
            if let Some(r) = same.and_then(NodeStats::report) {
                n.set_report(r.clone());
            }
        }
    }

    /// Ticks run so far (every clock domain together).
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// Media time reached, in nanoseconds (the furthest domain).
    pub fn media_time(&self) -> u64 {
        self.media_time.load(Ordering::Relaxed)
    }

    /// Ticks that finished after their deadline (real-time executor).
    pub fn xruns(&self) -> u64 {
        self.xruns.load(Ordering::Relaxed)
    }

    /// Frames dropped on full rings, over every edge.
    pub fn drops(&self) -> u64 {
        self.carried_drops.load(Ordering::Relaxed)
            + self.edges.iter().map(|e| e.shared.drops()).sum::<u64>()
    }

    pub(crate) fn tick(&self, end_time: u64) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
        self.media_time.fetch_max(end_time, Ordering::Relaxed);
    }

    pub(crate) fn xrun(&self) {
        self.xruns.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds a counter set per clock domain (build time).
    pub(crate) fn with_domains(mut self, domains: Vec<DomainStats>) -> Stats {
        self.domains = domains;
        self
    }

    /// Records one real-time tick of domain `d`: its start lateness, its
    /// duration, and whether it overran. One writer per domain.
    pub(crate) fn domain_tick(&self, d: usize, late_ns: u64, tick_ns: u64, xrun: bool) {
        if xrun {
            self.xrun();
        }
        if let Some(s) = self.domains.get(d) {
            s.late.record(late_ns);
            s.tick.record(tick_ns);
            if xrun {
                s.xruns.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Per-domain tick time and start jitter (p50, p99, p99.9, max) and
    /// xruns, for the real-time harness; empty when no domain thread ran.
    pub fn domain_table(&self) -> String {
        use fmt::Write;
        let mut s = String::new();
        let ran: Vec<&DomainStats> = self.domains.iter().filter(|d| d.tick.count() > 0).collect();
        if ran.is_empty() {
            return s;
        }
        let w = ran.iter().map(|d| d.name.len()).max().unwrap_or(6).max(6);
        let _ = writeln!(
            s,
            "{:<w$}  {:<6} {:>8} {:>10} {:>10} {:>10} {:>10} {:>6}",
            "domain", "", "ticks", "p50", "p99", "p99.9", "max", "xruns"
        );
        for d in ran {
            for (what, h) in [("tick", &d.tick), ("late", &d.late)] {
                let _ = writeln!(
                    s,
                    "{:<w$}  {:<6} {:>8} {:>10} {:>10} {:>10} {:>10} {:>6}",
                    d.name,
                    what,
                    h.count(),
                    fmt_ns(h.quantile(0.5)),
                    fmt_ns(h.quantile(0.99)),
                    fmt_ns(h.quantile(0.999)),
                    fmt_ns(h.max()),
                    d.xruns(),
                );
            }
        }
        for d in self
            .domains
            .iter()
            .filter(|d| d.scheduling() != Scheduling::Normal)
        {
            let _ = writeln!(s, "{} thread: {}", d.name, d.scheduling());
        }
        s
    }

    /// Each real-time domain thread's scheduling, for those that asked
    /// for more than normal priority (by domain name).
    pub fn scheduling(&self) -> Vec<(String, Scheduling)> {
        self.domains
            .iter()
            .map(|d| (d.name.clone(), d.scheduling()))
            .filter(|(_, s)| *s != Scheduling::Normal)
            .collect()
    }

    /// A table of per-node times, drops and xruns, for `--stats`.
    pub fn table(&self) -> String {
        use fmt::Write;
        let mut s = String::new();
        let w = self
            .nodes
            .iter()
            .map(|n| n.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            s,
            "{:<w$}  {:<10} {:>9} {:>10} {:>10} {:>10}",
            "node", "kind", "calls", "p50", "p99", "max"
        );
        for n in &self.nodes {
            let _ = writeln!(
                s,
                "{:<w$}  {:<10} {:>9} {:>10} {:>10} {:>10}",
                n.name,
                n.kind,
                n.calls(),
                fmt_ns(n.time.quantile(0.5)),
                fmt_ns(n.time.quantile(0.99)),
                fmt_ns(n.time.max()),
            );
        }
        for n in &self.nodes {
            if let Some(r) = n.report() {
                let _ = writeln!(s, "{}: {r}", n.name);
            }
        }
        for e in self.edges.iter().filter(|e| e.shared.drops() > 0) {
            let _ = writeln!(s, "drops on {}: {}", e.label, e.shared.drops());
        }
        s.push_str(&self.domain_table());
        let _ = writeln!(
            s,
            "ticks {}, drops {}, xruns {}",
            self.ticks(),
            self.drops(),
            self.xruns()
        );
        s
    }
}

/// A duration in ns, µs or ms, whichever reads best.
pub fn fmt_ns(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{ns} ns"),
        10_000..=999_999 => format!("{:.1} µs", ns as f64 / 1e3),
        _ => format!("{:.2} ms", ns as f64 / 1e6),
    }
}

/// Per-node figures at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSummary {
    /// Instance name.
    pub name: String,
    /// Node kind.
    pub kind: String,
    /// `process` calls.
    pub calls: u64,
    /// Median time per call, ns.
    pub p50_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// Slowest call, ns.
    pub max_ns: u64,
}

/// What a finished run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Ticks run (every clock domain together).
    pub ticks: u64,
    /// Media time covered.
    pub media_time: Duration,
    /// Wall-clock time the run took.
    pub wall_time: Duration,
    /// Media time per wall time (above 1: faster than real time).
    pub realtime_factor: f64,
    /// Frames dropped on full rings.
    pub drops: u64,
    /// Late ticks.
    pub xruns: u64,
    /// Whether the run was stopped (Ctrl-C, `stop()`) rather than ending.
    pub stopped: bool,
    /// Per node, in execution order.
    pub nodes: Vec<NodeSummary>,
    /// Drops per edge label, for edges that dropped.
    pub edge_drops: Vec<(String, u64)>,
    /// What each real-time domain thread that asked for real-time
    /// scheduling got, by domain name (empty when none asked).
    pub scheduling: Vec<(String, Scheduling)>,
}

impl Summary {
    pub(crate) fn from_stats(stats: &Stats, wall: Duration, stopped: bool) -> Summary {
        let media = Duration::from_nanos(stats.media_time());
        let wall_s = wall.as_secs_f64();
        Summary {
            ticks: stats.ticks(),
            media_time: media,
            wall_time: wall,
            realtime_factor: if wall_s > 0.0 {
                media.as_secs_f64() / wall_s
            } else {
                f64::INFINITY
            },
            drops: stats.drops(),
            xruns: stats.xruns(),
            stopped,
            nodes: stats
                .nodes
                .iter()
                .map(|n| NodeSummary {
                    name: n.name.clone(),
                    kind: n.kind.clone(),
                    calls: n.calls(),
                    p50_ns: n.time.quantile(0.5),
                    p99_ns: n.time.quantile(0.99),
                    max_ns: n.time.max(),
                })
                .collect(),
            edge_drops: stats
                .edges
                .iter()
                .filter(|e| e.shared.drops() > 0)
                .map(|e| (e.label.clone(), e.shared.drops()))
                .collect(),
            scheduling: stats.scheduling(),
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ticks, {:.3} s of media in {:.3} s ({:.1}x real time), {} drops, {} xruns{}",
            self.ticks,
            self.media_time.as_secs_f64(),
            self.wall_time.as_secs_f64(),
            self.realtime_factor,
            self.drops,
            self.xruns,
            if self.stopped { " (stopped)" } else { "" }
        )?;
        for (domain, s) in &self.scheduling {
            write!(f, "; {domain} thread: {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        let n = if cfg!(miri) { 2_000 } else { 100_000u64 };
        for v in (0..n).chain([u64::MAX / 3, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= last, "bucket of {v} went backwards");
            assert!(b < BUCKETS);
            last = b;
            let hi = bucket_high(b);
            assert!(hi >= v, "bucket {b} high {hi} below {v}");
            assert!(
                hi as f64 <= v as f64 * 1.125 + 1.0,
                "bucket too wide at {v}"
            );
        }
    }

    #[test]
    fn quantiles_within_an_eighth() {
        let h = Histogram::new();
        for v in 1..=1000u64 {
            h.record(v * 100);
        }
        let p50 = h.quantile(0.5) as f64;
        assert!((50_000.0..=50_000.0 * 1.125).contains(&p50), "p50 {p50}");
        let p99 = h.quantile(0.99) as f64;
        assert!((99_000.0..=99_000.0 * 1.125).contains(&p99), "p99 {p99}");
        assert_eq!(h.max(), 100_000);
        assert_eq!(h.count(), 1000);
    }
}
