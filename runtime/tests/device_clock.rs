//! A sound device paces the audio domain: a fake device, stepped by this
//! test's thread at a chosen rate, drives a `DeviceClock`, and the audio
//! domain follows the device's rate (1% fast: 1% more ticks than the wall
//! clock gives; 1% slow: 1% fewer), with the speaker's ring never running
//! dry or overflowing over a simulated minute each way.
//!
//! The simulation is in lockstep so that it cannot depend on how busy the
//! machine is: before each device callback the test waits until the audio
//! thread is blocked in its clock's wait for a time the device has not
//! reached yet (it has done everything it may do), then the callback takes
//! its frames from the ring, counting an underflow if they are not there.
//! Paced by the wall clock instead, the graph never blocks on the device
//! and the test fails (after a timeout); paced by the device but without
//! the lead, the ring runs dry on the first callback larger than a tick.

mod common;

use common::*;
use sluice_dsl::{Args, Ports, Role, Settings, Signature};
use sluice_runtime::testing::PlanBuilder;
use sluice_runtime::{
    BuildContext, DeviceClock, DeviceCounter, Engine, Flow, Node, NodeError, PaceClock, PortIo,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RATE: u32 = 48_000;
const FRAME: u64 = 480;
/// Frames per device callback: not a multiple of the tick, like ALSA's
/// usual period sizes.
const BURST: u64 = 1_024;
/// The fake speaker's ring, eight ticks like the real one.
const CAPACITY: u64 = 8 * FRAME;
/// The lead's margin on top of the largest callback.
const MARGIN: u64 = FRAME;

/// The fake device and the fake speaker's ring, shared with the test.
#[derive(Default)]
struct Fake {
    counter: Arc<DeviceCounter>,
    /// Frames the graph pushed / the device took.
    produced: AtomicU64,
    consumed: AtomicU64,
    overflows: AtomicU64,
    /// The deadline the audio thread is waiting for, while `blocked`.
    waiting: AtomicU64,
    blocked: AtomicBool,
}

static FAKE: Mutex<Option<Arc<Fake>>> = Mutex::new(None);

/// The device clock, watched: records what the audio thread waits for.
struct Watched {
    inner: DeviceClock,
    fake: Arc<Fake>,
}

impl PaceClock for Watched {
    fn now(&self) -> u64 {
        self.inner.now()
    }

    fn wait_until(&self, deadline: u64) {
        self.fake.waiting.store(deadline, Ordering::SeqCst);
        self.fake.blocked.store(true, Ordering::SeqCst);
        self.inner.wait_until(deadline);
        self.fake.blocked.store(false, Ordering::SeqCst);
    }

    fn lead(&self) -> u64 {
        self.inner.lead()
    }
}

/// `fake_speaker`: pushes each tick into the fake ring (counting an
/// overflow when it is full) and offers the device's clock.
struct FakeSpeaker {
    fake: Arc<Fake>,
    clock: Arc<dyn PaceClock>,
}

impl Node for FakeSpeaker {
    fn process(&mut self, _: &mut PortIo<'_, '_>) -> Flow {
        let f = &self.fake;
        let fill = f.produced.load(Ordering::SeqCst) - f.consumed.load(Ordering::SeqCst);
        if fill + FRAME > CAPACITY {
            f.overflows.fetch_add(1, Ordering::SeqCst);
        } else {
            f.produced.fetch_add(FRAME, Ordering::SeqCst);
        }
        Flow::Continue
    }

    fn pace_clock(&self) -> Option<Arc<dyn PaceClock>> {
        Some(self.clock.clone())
    }
}

fn build_fake_speaker(_: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    let fake = FAKE.lock().unwrap().clone().expect("a fake device");
    let inner = DeviceClock::new(fake.counter.clone(), RATE, MARGIN)
        // The test thread steps the device; never let a wait give up on it.
        .with_stall(Duration::from_secs(60));
    Ok(Box::new(FakeSpeaker {
        clock: Arc::new(Watched {
            inner,
            fake: fake.clone(),
        }),
        fake,
    }))
}

fn no_ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports::default())
}

fn never(_: &Args) -> bool {
    false
}

/// What one simulated run saw.
struct Outcome {
    ticks: u64,
    consumed: u64,
    underflows: u64,
    overflows: u64,
    max_fill: u64,
    wall_s: f64,
}

/// Runs the audio domain against a device whose crystal runs `speed` times
/// the nominal rate, for `callbacks` device callbacks.
fn simulate(speed: f64, callbacks: u64) -> Outcome {
    let fake = Arc::new(Fake::default());
    *FAKE.lock().unwrap() = Some(fake.clone());
    let mut r = registry();
    r.register(
        Signature {
            kind: "fake_speaker".into(),
            doc: "test node `fake_speaker`".into(),
            params: vec![],
            ports: no_ports,
            role: Role::Sink,
            io: false,
            endless: never,
        },
        build_fake_speaker,
    );
    let mut b = PlanBuilder::new(&r);
    b.settings(Settings {
        realtime: true,
        ..Settings::default()
    })
    .node("src", "counter", args(&[("id", 1.0)]), &[], &[MONO])
    .node("spk", "fake_speaker", args(&[]), &[MONO], &[])
    .connect("src", 0, "spk", 0);
    let e = Engine::build(&b.build(), &r).unwrap();
    // A real device starts when the node is built and plays silence until
    // the graph runs; its first callback tells the clock how it groups
    // frames.
    fake.counter.advance(BURST);
    let stats = e.stats();
    let running = e.start();

    let (mut underflows, mut max_fill) = (0, 0);
    for n in 0..callbacks {
        // Let the graph do all it may before the device moves on.
        let since = Instant::now();
        loop {
            let now = u128::from(fake.counter.frames()) * 1_000_000_000 / u128::from(RATE);
            if fake.blocked.load(Ordering::SeqCst)
                && u128::from(fake.waiting.load(Ordering::SeqCst)) > now
            {
                break;
            }
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "callback {n}: the audio thread never waited for the device"
            );
            std::thread::yield_now();
        }
        let fill = fake.produced.load(Ordering::SeqCst) - fake.consumed.load(Ordering::SeqCst);
        max_fill = max_fill.max(fill);
        if fill < BURST {
            underflows += 1;
        }
        fake.consumed.fetch_add(fill.min(BURST), Ordering::SeqCst);
        fake.counter.advance(BURST);
    }
    let ticks = fake.produced.load(Ordering::SeqCst) / FRAME;
    let consumed = fake.consumed.load(Ordering::SeqCst);
    // Stop, and keep the device going (like the null device) until the
    // graph has drained.
    running.stop();
    while !running.is_finished() {
        fake.consumed
            .store(fake.produced.load(Ordering::SeqCst), Ordering::SeqCst);
        fake.counter.advance(BURST);
        std::thread::sleep(Duration::from_micros(200));
    }
    let summary = running.wait().unwrap();
    assert_eq!(summary.xruns, 0, "{summary}");
    assert!(stats.domains[0].tick.count() >= ticks);
    Outcome {
        ticks,
        consumed,
        underflows,
        overflows: fake.overflows.load(Ordering::SeqCst),
        max_fill,
        // The wall-clock time those frames took on a device `speed` fast.
        wall_s: consumed as f64 / (f64::from(RATE) * speed),
    }
}

#[test]
fn the_audio_domain_follows_the_device_not_the_wall_clock() {
    // A simulated minute each way.
    let callbacks = 60 * u64::from(RATE) / BURST;
    for speed in [1.01, 0.99] {
        let o = simulate(speed, callbacks);
        assert_eq!(o.underflows, 0, "speed {speed}: the ring ran dry");
        assert_eq!(o.overflows, 0, "speed {speed}: the ring overflowed");
        // The graph stays at most its lead (margin + one callback) plus
        // one tick ahead of the device, and at least one callback.
        assert!(
            o.max_fill <= MARGIN + BURST + FRAME,
            "speed {speed}: {} frames queued",
            o.max_fill
        );
        // Ticks are the device's frames over the tick length (plus the
        // lead), not the wall time over 10 ms.
        let device_ticks = o.consumed / FRAME;
        assert!(
            (device_ticks..=device_ticks + (MARGIN + BURST) / FRAME + 1).contains(&o.ticks),
            "speed {speed}: {} ticks for {device_ticks} ticks of device frames",
            o.ticks
        );
        let per_wall_tick = o.ticks as f64 / (o.wall_s * 100.0);
        assert!(
            (per_wall_tick - speed).abs() < 0.001,
            "speed {speed}: {per_wall_tick:.4} ticks per wall-clock tick"
        );
    }
}
