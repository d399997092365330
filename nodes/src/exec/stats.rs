//! What an `exec` node counts, shared by its real-time side and its
//! threads as relaxed atomics, and the line it prints at the end.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Latency buckets: bucket `b` holds values below `2^b` microseconds.
const BUCKETS: usize = 32;

/// A lock-free histogram of durations in power-of-two microsecond buckets.
pub struct Latency {
    buckets: [AtomicU64; BUCKETS],
}

impl Latency {
    fn new() -> Latency {
        Latency {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Records one duration.
    pub fn record(&self, d: Duration) {
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        let b = (u64::BITS - us.leading_zeros()) as usize;
        self.buckets[b.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// The upper bound of the bucket holding quantile `q`, or None when
    /// nothing was recorded.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64 * q).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Duration::from_micros(1u64 << b));
            }
        }
        None
    }
}

/// Every counter of one `exec` node (all its children together).
pub struct Counters {
    /// Blocks (ticks or frames) handed to a program.
    pub sent: AtomicU64,
    /// Blocks dropped because the program fell behind (oldest first).
    pub dropped: AtomicU64,
    /// Programs restarted after they exited or crashed.
    pub restarts: AtomicU64,
    /// Programs that could not be started at all.
    pub spawn_failures: AtomicU64,
    /// Events read from the programs.
    pub events: AtomicU64,
    /// Events lost because the graph's side had no room.
    pub events_dropped: AtomicU64,
    /// Output lines that were not JSON objects.
    pub garbage: AtomicU64,
    /// Output lines longer than the limit (skipped unread).
    pub too_long: AtomicU64,
    /// Returned blocks used.
    pub returned: AtomicU64,
    /// Ticks where returned media was not back in time (input used).
    pub passthrough: AtomicU64,
    /// Returned blocks that came back after their time.
    pub late: AtomicU64,
    /// From a block entering the node to the program having it (events)
    /// or to it coming back (returns).
    pub latency: Latency,
    /// From the media a program had when it printed an event to the event
    /// being read (events mode).
    pub event_latency: Latency,
}

impl Counters {
    /// All zero.
    pub fn new() -> Counters {
        Counters {
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            spawn_failures: AtomicU64::new(0),
            events: AtomicU64::new(0),
            events_dropped: AtomicU64::new(0),
            garbage: AtomicU64::new(0),
            too_long: AtomicU64::new(0),
            returned: AtomicU64::new(0),
            passthrough: AtomicU64::new(0),
            late: AtomicU64::new(0),
            latency: Latency::new(),
            event_latency: Latency::new(),
        }
    }

    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
}

impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        write!(
            f,
            "{} blocks in, {} dropped (program behind), {} restarts, {} events ({} dropped), \
             {} garbage lines, {} too long",
            get(&self.sent),
            get(&self.dropped),
            get(&self.restarts),
            get(&self.events),
            get(&self.events_dropped),
            get(&self.garbage),
            get(&self.too_long),
        )?;
        if get(&self.returned) + get(&self.passthrough) > 0 {
            write!(
                f,
                ", {} returned, {} passed through (late or missing), {} late",
                get(&self.returned),
                get(&self.passthrough),
                get(&self.late)
            )?;
        }
        if get(&self.spawn_failures) > 0 {
            write!(f, ", {} failed starts", get(&self.spawn_failures))?;
        }
        write!(
            f,
            "; latency p50 {} p99 {}",
            ms(self.latency.quantile(0.5)),
            ms(self.latency.quantile(0.99))
        )?;
        if get(&self.events) > 0 {
            write!(
                f,
                "; media to event p50 {} p99 {}",
                ms(self.event_latency.quantile(0.5)),
                ms(self.event_latency.quantile(0.99))
            )?;
        }
        Ok(())
    }
}
