//! The thread that runs Silero for a node's streams, and the real-time
//! side's handle on it.
//!
//! The real-time side pushes each tick's samples (present streams in slot
//! order) onto one sample ring and a `Tick` message after them; joins and
//! leaves travel as messages too. The worker resamples each stream to
//! 16 kHz, runs the model on every 512 new samples and publishes, per
//! slot, the highest probability and whether speech was heard since the
//! real-time side last asked, as atomics. Nothing on the real-time side
//! waits in a real-time run: when the rings are full the tick is dropped
//! and counted. An unpaced run waits for the worker instead (bounded), so
//! its results are complete and the same every time.

use crate::speech::rerate::Rerate;
use rtrb::{Consumer, Producer, RingBuffer};
use sluice_ml::{silero_model, SileroVad, SILERO_FRAME, SILERO_RATE};
use sluice_runtime::{BundleFrame, NodeError, StreamId, StreamState};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Ticks of audio the rings hold before a real-time run drops.
const SLACK_TICKS: usize = 16;
/// Below `threshold - HYSTERESIS` a frame counts as silence.
const HYSTERESIS: f32 = 0.15;
/// Silent frames (32 ms each) before speech is over: about 100 ms.
const HANG_FRAMES: u32 = 3;
/// The longest an unpaced run waits for the worker.
const STALL: Duration = Duration::from_secs(2);

/// One slot's latest results.
#[derive(Default)]
struct Slot {
    /// Highest probability since last asked (f32 bits; non-negative floats
    /// order like their bits, so `fetch_max` works).
    max: AtomicU32,
    /// The latest frame's probability (f32 bits).
    last: AtomicU32,
    /// Frames since last asked.
    frames: AtomicU32,
    /// Speech heard since last asked.
    spoke: AtomicBool,
    /// Speech now (after hysteresis).
    speaking: AtomicBool,
}

struct Shared {
    slots: Vec<Slot>,
    /// One past the last tick the worker finished.
    done: AtomicU64,
    closing: AtomicBool,
    /// Ticks dropped because the worker was behind.
    dropped: AtomicU64,
    failure: Mutex<Option<String>>,
}

enum Msg {
    Join(u32),
    Leave(u32),
    Tick(u64),
}

/// The real-time side's handle on a Silero worker.
pub struct VadLink {
    samples: Producer<f32>,
    msgs: Producer<Msg>,
    shared: Arc<Shared>,
    /// Who the worker believes is in each slot.
    known: Vec<Option<StreamId>>,
    realtime: bool,
    tick_len: usize,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for VadLink {
    /// The slots it tracks and its mode, not the rings' contents.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VadLink")
            .field("known", &self.known)
            .field("realtime", &self.realtime)
            .field("tick_len", &self.tick_len)
            .finish_non_exhaustive()
    }
}

impl VadLink {
    /// Loads the model (once per process) and starts a worker for `streams`
    /// slots of `tick` samples at `rate`; `threshold` is the probability
    /// where speech starts.
    pub fn start(
        name: &str,
        streams: usize,
        rate: u32,
        tick: usize,
        threshold: f32,
        realtime: bool,
    ) -> Result<VadLink, NodeError> {
        let model = silero_model().map_err(|e| NodeError::new(e.to_string()))?;
        let (samples_tx, samples_rx) = RingBuffer::new(SLACK_TICKS * streams.max(1) * tick);
        let (msgs_tx, msgs_rx) = RingBuffer::new(SLACK_TICKS * (2 * streams + 1));
        let shared = Arc::new(Shared {
            slots: (0..streams).map(|_| Slot::default()).collect(),
            done: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            failure: Mutex::new(None),
        });
        let lanes = (0..streams)
            .map(|_| Lane::new(SileroVad::new(model.clone()), rate, tick))
            .collect::<Result<Vec<_>, _>>()?;
        let worker = Worker {
            samples: samples_rx,
            msgs: msgs_rx,
            shared: shared.clone(),
            lanes,
            present: vec![false; streams],
            block: vec![0.0; tick],
            threshold,
        };
        let thread = std::thread::Builder::new()
            .name(format!("sluice-vad-{name}"))
            .spawn(move || worker.run())
            .map_err(|e| NodeError::new(format!("cannot start the vad thread: {e}")))?;
        Ok(VadLink {
            samples: samples_tx,
            msgs: msgs_tx,
            shared,
            known: vec![None; streams],
            realtime,
            tick_len: tick,
            thread: Some(thread),
        })
    }

    /// Hands one tick of one plain stream (slot 0) to the worker.
    pub fn push_mono(&mut self, tick: u64, samples: &[f32]) {
        if self.known[0].is_none() && self.room(samples.len(), 2) {
            let _ = self.msgs.push(Msg::Join(0));
            self.known[0] = Some(StreamId::default());
        }
        if !self.room(samples.len(), 1) {
            return;
        }
        push_all(&mut self.samples, samples);
        let _ = self.msgs.push(Msg::Tick(tick));
    }

    /// Hands one tick of a bundle to the worker.
    pub fn push_bundle(&mut self, tick: u64, b: &BundleFrame) {
        let present = b.present().count();
        if !self.room(present * self.tick_len, 2 * b.capacity() + 1) {
            return;
        }
        for (i, s) in b.slots().iter().enumerate() {
            let now = s.state.present().then_some(s.id);
            if self.known[i].is_some() && self.known[i] != now {
                let _ = self.msgs.push(Msg::Leave(i as u32));
                self.known[i] = None;
            }
            if now.is_some() && self.known[i].is_none() {
                let _ = self.msgs.push(Msg::Join(i as u32));
                self.known[i] = now;
            }
        }
        for (_, s) in b.present() {
            push_all(&mut self.samples, s.samples());
        }
        let _ = self.msgs.push(Msg::Tick(tick));
        for (i, s) in b.slots().iter().enumerate() {
            if s.state == StreamState::Left {
                let _ = self.msgs.push(Msg::Leave(i as u32));
                self.known[i] = None;
            }
        }
    }

    /// Whether the rings take `samples` and `msgs` now; an unpaced run
    /// waits for room (bounded), a real-time one counts a drop.
    fn room(&mut self, samples: usize, msgs: usize) -> bool {
        let fits = |l: &Self| l.samples.slots() >= samples && l.msgs.slots() >= msgs;
        if !self.realtime {
            let deadline = Instant::now() + STALL;
            while !fits(self) && Instant::now() < deadline {
                std::thread::yield_now();
            }
        }
        let ok = fits(self);
        if !ok {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// In an unpaced run, waits (bounded) until the worker has finished
    /// `tick`; a real-time run never waits.
    pub fn settle(&self, tick: u64) {
        if self.realtime {
            return;
        }
        let deadline = Instant::now() + STALL;
        while self.shared.done.load(Ordering::Acquire) <= tick && Instant::now() < deadline {
            std::thread::yield_now();
        }
    }

    /// Slot `slot`'s speech probability (the highest since last asked, or
    /// the latest if no frame finished since) and whether speech was heard.
    pub fn take(&self, slot: usize) -> (f32, bool) {
        let s = &self.shared.slots[slot];
        let frames = s.frames.swap(0, Ordering::AcqRel);
        let max = f32::from_bits(s.max.swap(0, Ordering::AcqRel));
        let spoke = s.spoke.swap(false, Ordering::AcqRel);
        if frames == 0 {
            let last = f32::from_bits(s.last.load(Ordering::Acquire));
            (last, s.speaking.load(Ordering::Acquire))
        } else {
            (max, spoke)
        }
    }

    /// Stops the worker; returns what went wrong, if anything.
    pub fn close(&mut self) -> Result<(), NodeError> {
        self.shared.closing.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let dropped = self.shared.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            eprintln!("warning: vad: {dropped} ticks dropped (the model fell behind)");
        }
        match self.shared.failure.lock().ok().and_then(|f| f.clone()) {
            Some(e) => Err(NodeError::new(e)),
            None => Ok(()),
        }
    }
}

impl Drop for VadLink {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.close();
        }
    }
}

fn push_all(ring: &mut Producer<f32>, samples: &[f32]) {
    if let Ok(chunk) = ring.write_chunk_uninit(samples.len()) {
        chunk.fill_from_iter(samples.iter().copied());
    }
}

/// One stream on the worker: to 16 kHz, Silero, hysteresis.
struct Lane {
    vad: SileroVad,
    rerate: Rerate,
    frame: [f32; SILERO_FRAME],
    speaking: bool,
    quiet: u32,
}

impl Lane {
    fn new(vad: SileroVad, rate: u32, tick: usize) -> Result<Lane, NodeError> {
        Ok(Lane {
            vad,
            rerate: Rerate::new(rate, SILERO_RATE, tick, 4 * SILERO_FRAME + tick)?,
            frame: [0.0; SILERO_FRAME],
            speaking: false,
            quiet: 0,
        })
    }

    /// The frame just pulled through the model; publishes the result.
    fn step(&mut self, slot: &Slot, failure: &Mutex<Option<String>>, threshold: f32) {
        let p = match self.vad.process(&self.frame) {
            Ok(p) => p.clamp(0.0, 1.0),
            Err(e) => {
                if let Ok(mut f) = failure.lock() {
                    f.get_or_insert_with(|| e.to_string());
                }
                0.0
            }
        };
        if p >= threshold {
            self.speaking = true;
            self.quiet = 0;
        } else if p < threshold - HYSTERESIS {
            self.quiet += 1;
            if self.quiet >= HANG_FRAMES {
                self.speaking = false;
            }
        }
        slot.max.fetch_max(p.to_bits(), Ordering::AcqRel);
        slot.last.store(p.to_bits(), Ordering::Release);
        slot.frames.fetch_add(1, Ordering::AcqRel);
        slot.speaking.store(self.speaking, Ordering::Release);
        if self.speaking {
            slot.spoke.store(true, Ordering::Release);
        }
    }

    fn reset(&mut self) {
        self.vad.reset();
        self.rerate.clear();
        self.speaking = false;
        self.quiet = 0;
    }
}

struct Worker {
    samples: Consumer<f32>,
    msgs: Consumer<Msg>,
    shared: Arc<Shared>,
    lanes: Vec<Lane>,
    present: Vec<bool>,
    block: Vec<f32>,
    threshold: f32,
}

impl Worker {
    fn run(mut self) {
        loop {
            match self.msgs.pop() {
                Ok(Msg::Join(i)) => self.join(i as usize),
                Ok(Msg::Leave(i)) => self.present[i as usize] = false,
                Ok(Msg::Tick(t)) => {
                    self.tick();
                    self.shared.done.store(t + 1, Ordering::Release);
                }
                Err(_) if self.shared.closing.load(Ordering::Acquire) => return,
                Err(_) => std::thread::sleep(Duration::from_micros(500)),
            }
        }
    }

    fn join(&mut self, i: usize) {
        self.present[i] = true;
        self.lanes[i].reset();
        let s = &self.shared.slots[i];
        for a in [&s.max, &s.last, &s.frames] {
            a.store(0, Ordering::Release);
        }
        s.spoke.store(false, Ordering::Release);
        s.speaking.store(false, Ordering::Release);
    }

    /// Runs every present stream's share of one tick.
    fn tick(&mut self) {
        for i in 0..self.lanes.len() {
            if !self.present[i] {
                continue;
            }
            let n = self.block.len();
            if let Ok(chunk) = self.samples.read_chunk(n) {
                let (a, b) = chunk.as_slices();
                self.block[..a.len()].copy_from_slice(a);
                self.block[a.len()..].copy_from_slice(b);
                chunk.commit_all();
            }
            let lane = &mut self.lanes[i];
            lane.rerate.push(&self.block);
            while lane.rerate.pull(&mut lane.frame) {
                lane.step(&self.shared.slots[i], &self.shared.failure, self.threshold);
            }
        }
    }
}
