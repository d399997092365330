//! A cheap cycle counter for per-node timing.
//!
//! The engine times every `process` call; the OS clock (`clock_gettime`
//! through the vDSO) costs 20-40 ns a read under virtualisation, more than
//! the engine's own work per node. On x86-64 the time-stamp counter is read
//! instead (a few ns; invariant on every CPU of the last decade, and the
//! clock source Linux itself uses there) and scaled to nanoseconds with a
//! factor measured once when the engine is built. Elsewhere the OS clock.

use std::time::Instant;

/// Reads "now" in counter units and converts spans to nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stopwatch {
    /// Nanoseconds per counter unit.
    ns_per_unit: f64,
    /// When off, nothing is read and nothing recorded.
    pub enabled: bool,
    #[cfg(any(not(target_arch = "x86_64"), miri))]
    origin: Instant,
}

impl Stopwatch {
    /// Calibrates the counter against the OS clock over about a millisecond
    /// (build time only).
    pub fn calibrate() -> Stopwatch {
        let probe = Stopwatch {
            ns_per_unit: 1.0,
            enabled: true,
            #[cfg(any(not(target_arch = "x86_64"), miri))]
            origin: Instant::now(),
        };
        let (t0, c0) = (Instant::now(), probe.now());
        while t0.elapsed().as_micros() < 1_000 {
            std::hint::spin_loop();
        }
        let (ns, c1) = (t0.elapsed().as_nanos() as f64, probe.now());
        let units = c1.wrapping_sub(c0) as f64;
        Stopwatch {
            ns_per_unit: if units > 0.0 { ns / units } else { 1.0 },
            enabled: true,
            #[cfg(any(not(target_arch = "x86_64"), miri))]
            origin: probe.origin,
        }
    }

    /// Now, in counter units (0 when disabled).
    #[inline]
    pub fn now(&self) -> u64 {
        if !self.enabled {
            return 0;
        }
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        {
            // SAFETY: `rdtsc` exists on every x86-64 CPU and has no
            // preconditions; it only reads the time-stamp counter.
            unsafe { core::arch::x86_64::_rdtsc() }
        }
        #[cfg(any(not(target_arch = "x86_64"), miri))]
        {
            self.origin.elapsed().as_nanos() as u64
        }
    }

    /// Nanoseconds between two readings.
    #[inline]
    pub fn ns(&self, from: u64, to: u64) -> u64 {
        (to.saturating_sub(from) as f64 * self.ns_per_unit) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "wall-clock timing")]
    fn measures_a_sleep_within_a_quarter() {
        let w = Stopwatch::calibrate();
        let a = w.now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let ns = w.ns(a, w.now());
        assert!((15_000_000..60_000_000).contains(&ns), "{ns} ns for 20 ms");
    }
}
