//! Pacing a clock domain by a sound device instead of the system clock.
//!
//! A sound card's crystal is not the CPU's: a device nominally at 48 kHz
//! plays 47 990 or 48 010 frames a second. A domain paced by the system
//! clock then fills the speaker's ring faster or slower than the device
//! empties it, and sooner or later the ring overflows (dropped audio) or
//! runs dry (an audible gap). So the device's own callback is the clock:
//! it counts the frames it consumes in a [`DeviceCounter`] (two relaxed
//! atomic operations, no allocation, no lock), and a [`DeviceClock`] turns
//! that count into nanoseconds of device time for the domain's thread.
//!
//! The domain runs [`PaceClock::lead`] ahead of the device: a margin plus
//! the largest callback seen, so the ring holds enough for the device's
//! next request however the device groups its callbacks. Time itself is
//! not shifted, so the executor's xrun check ("the tick ended after the
//! device reached its end") means exactly "the speaker's ring ran dry".

use crate::clock::pace::PaceClock;
use crate::node::Node;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a device callback counts: frames consumed (or produced) so far and
/// the largest single callback. One writer (the callback), any readers.
#[derive(Debug, Default)]
pub struct DeviceCounter {
    frames: AtomicU64,
    burst: AtomicU64,
}

impl DeviceCounter {
    /// A counter at zero (allocate it at build time, share it with the
    /// callback).
    pub fn new() -> DeviceCounter {
        DeviceCounter::default()
    }

    /// Called by the device callback with the frames it just handled:
    /// no allocation, no lock, two atomic operations.
    #[inline]
    pub fn advance(&self, frames: u64) {
        self.frames.fetch_add(frames, Ordering::Release);
        self.burst.fetch_max(frames, Ordering::Relaxed);
    }

    /// Frames handled since the stream started.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Acquire)
    }

    /// The largest single callback so far, in frames.
    pub fn burst(&self) -> u64 {
        self.burst.load(Ordering::Relaxed)
    }
}

/// A [`PaceClock`] that follows a device's frame count (see the module
/// docs). Its `now` is the device's position in nanoseconds at the graph
/// rate; its lead is a margin plus the device's largest callback.
#[derive(Debug, Clone)]
pub struct DeviceClock {
    counter: Arc<DeviceCounter>,
    rate: u64,
    margin: u64,
    stall: Duration,
}

impl DeviceClock {
    /// How long a wait may see the device stand still before it gives up
    /// and lets the tick run: a device that stopped (unplugged, suspended)
    /// slows the graph to one tick per stall instead of hanging it, so a
    /// stop still drains.
    pub const STALL: Duration = Duration::from_millis(250);

    /// A clock for a device running at `rate` Hz whose callback advances
    /// `counter`; the domain runs `margin` frames plus one callback ahead
    /// of the device.
    pub fn new(counter: Arc<DeviceCounter>, rate: u32, margin: u64) -> DeviceClock {
        DeviceClock {
            counter,
            rate: u64::from(rate.max(1)),
            margin,
            stall: Self::STALL,
        }
    }

    /// Changes how long a wait tolerates a device that does not move
    /// (simulations that step the device slower than real time).
    pub fn with_stall(mut self, stall: Duration) -> DeviceClock {
        self.stall = stall;
        self
    }

    fn frames_to_ns(&self, frames: u64) -> u64 {
        (u128::from(frames) * 1_000_000_000 / u128::from(self.rate)) as u64
    }
}

impl PaceClock for DeviceClock {
    fn now(&self) -> u64 {
        self.frames_to_ns(self.counter.frames())
    }

    /// Naps in short steps (a quarter of what is left, 50 µs to 1 ms):
    /// the device moves in callback-sized jumps, so there is nothing to
    /// spin for, and the callback never has to wake anyone.
    fn wait_until(&self, deadline: u64) {
        let mut seen = self.counter.frames();
        let mut still = Instant::now();
        loop {
            let now = self.frames_to_ns(seen);
            if now >= deadline {
                return;
            }
            let nap = ((deadline - now) / 4).clamp(50_000, 1_000_000);
            std::thread::sleep(Duration::from_nanos(nap));
            let frames = self.counter.frames();
            if frames != seen {
                seen = frames;
                still = Instant::now();
            } else if still.elapsed() >= self.stall {
                return;
            }
        }
    }

    fn lead(&self) -> u64 {
        self.frames_to_ns(self.margin + self.counter.burst())
    }
}

/// The pace clock of each of `domains` clock domains: the one offered by
/// the last node of that domain (in execution order) that offers one, so a
/// graph with both a `mic` and a `speaker` is paced by the speaker, whose
/// running dry is what a listener hears. `None`: the engine's own clock.
pub(crate) fn per_domain<'a>(
    nodes: impl Iterator<Item = (usize, &'a dyn Node)>,
    domains: usize,
) -> Vec<Option<Arc<dyn PaceClock>>> {
    let mut clocks = vec![None; domains];
    for (d, node) in nodes {
        if let (Some(c), Some(slot)) = (node.pace_clock(), clocks.get_mut(d)) {
            *slot = Some(c);
        }
    }
    clocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_follows_the_count_and_lead_follows_the_largest_callback() {
        let c = Arc::new(DeviceCounter::new());
        let clock = DeviceClock::new(c.clone(), 48_000, 480);
        assert_eq!(clock.now(), 0);
        assert_eq!(clock.lead(), 10_000_000);
        c.advance(960);
        c.advance(240);
        assert_eq!(clock.now(), 25_000_000);
        assert_eq!(clock.lead(), 30_000_000, "480 margin + 960 burst");
    }

    #[test]
    fn a_wait_returns_once_the_device_gets_there() {
        let c = Arc::new(DeviceCounter::new());
        let clock = DeviceClock::new(c.clone(), 48_000, 0);
        let device = {
            let c = c.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    std::thread::sleep(Duration::from_millis(1));
                    c.advance(480);
                }
            })
        };
        clock.wait_until(50_000_000);
        assert!(c.frames() >= 2_400);
        device.join().unwrap();
    }

    #[test]
    fn a_stalled_device_does_not_hang_the_wait() {
        let c = Arc::new(DeviceCounter::new());
        let clock = DeviceClock::new(c.clone(), 48_000, 0).with_stall(Duration::from_millis(5));
        clock.wait_until(u64::MAX / 2);
        assert_eq!(clock.now(), 0);
    }
}
