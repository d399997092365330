//! Pacing clocks for the real-time executor: the system clock for real runs
//! and a simulated clock that lets tests run hours of ticks in milliseconds
//! and stage late ticks deterministically.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What paces a real-time domain thread. Nanoseconds since the clock's
/// origin; implementations must not allocate or lock.
pub trait PaceClock: Send + Sync {
    /// Now.
    fn now(&self) -> u64;
    /// Returns at or after `deadline` (at once if it has passed).
    fn wait_until(&self, deadline: u64);

    /// How far ahead of this clock a domain runs, in nanoseconds: tick `k`
    /// starts at `time(k) - lead`. A sound device's clock leads by its
    /// ring's latency so the ring is full before the device asks; time
    /// itself is not shifted, so a tick still counts an xrun only when it
    /// ends after the clock reaches its end.
    fn lead(&self) -> u64 {
        0
    }
}

/// Wall-clock pacing: sleeps until shortly before the deadline, then spins
/// the last stretch, because OS sleeps overshoot by tens of microseconds.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// The last stretch before a deadline is spun, not slept.
    const SPIN: u64 = 200_000;

    /// A clock whose origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl PaceClock for SystemClock {
    fn now(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    fn wait_until(&self, deadline: u64) {
        let now = self.now();
        if deadline > now + Self::SPIN {
            std::thread::sleep(Duration::from_nanos(deadline - now - Self::SPIN));
        }
        while self.now() < deadline {
            std::hint::spin_loop();
        }
    }
}

/// Simulated time: waiting jumps straight to the deadline, and a test (or a
/// test node) can [`SimClock::advance`] time to stage a slow tick. Threads
/// sharing it see one timeline, but nothing keeps two domain threads in step:
/// with audio and video both real-time, the faster thread pulls time ahead
/// and the other sees late ticks. Use it for one real-time domain (plus the
/// I/O thread).
#[derive(Debug, Default)]
pub struct SimClock {
    now: AtomicU64,
}

impl SimClock {
    /// A clock at time zero.
    pub fn new() -> SimClock {
        SimClock::default()
    }

    /// Moves time forward by `ns` (as if the caller had worked that long).
    pub fn advance(&self, ns: u64) {
        self.now.fetch_add(ns, Ordering::AcqRel);
    }
}

impl PaceClock for SimClock {
    fn now(&self) -> u64 {
        self.now.load(Ordering::Acquire)
    }

    fn wait_until(&self, deadline: u64) {
        self.now.fetch_max(deadline, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_clock_jumps_and_never_goes_back() {
        let c = SimClock::new();
        c.wait_until(1_000);
        assert_eq!(c.now(), 1_000);
        c.wait_until(500);
        assert_eq!(c.now(), 1_000);
        c.advance(250);
        assert_eq!(c.now(), 1_250);
    }

    #[test]
    #[cfg_attr(miri, ignore = "wall-clock timing")]
    fn system_clock_waits_at_least_until_the_deadline() {
        let c = SystemClock::new();
        let d = c.now() + 2_000_000;
        c.wait_until(d);
        assert!(c.now() >= d);
    }
}
