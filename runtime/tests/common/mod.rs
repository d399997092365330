//! Test node kinds and helpers shared by the runtime's integration tests.
//!
//! Every sample a `counter` writes encodes (source id, tick) so a sink can
//! check that each frame arrived once and in order.

#![allow(dead_code)]

use sluice_dsl::{Arg, Args, MediaType, ParamSig, ParamType, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, Registry, Report};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const MONO: MediaType = MediaType::Audio { channels: 1 };

fn no_ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports::default())
}

fn never(_: &Args) -> bool {
    false
}

fn endless(a: &Args) -> bool {
    a.num("count").is_none()
}

fn sig(kind: &str, role: Role, io: bool, params: Vec<ParamSig>) -> Signature {
    Signature {
        kind: kind.into(),
        doc: format!("test node `{kind}`"),
        params,
        ports: no_ports,
        role,
        io,
        endless: if kind == "counter" { endless } else { never },
    }
}

fn param(name: &str, live: bool) -> ParamSig {
    ParamSig {
        name: name.into(),
        doc: String::new(),
        ty: ParamType::Quantity {
            kind: UnitKind::Count,
            min: -1e9,
            max: 1e9,
        },
        default: None,
        required: false,
        live,
    }
}

/// Arguments from (name, number) pairs.
pub fn args(pairs: &[(&str, f64)]) -> Args {
    let mut a = Args::default();
    for (k, v) in pairs {
        a.set(k, Arg::Num(*v));
    }
    a
}

/// `counter(id, count?)`: tick k writes `id * 1e6 + k` in every sample;
/// ends after `count` ticks (endless without it).
struct Counter {
    id: f32,
    count: Option<u64>,
}

impl Node for Counter {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let k = io.clock().tick;
        let v = self.id * 1e6 + k as f32;
        for o in 0..io.output_count() {
            io.audio_out(o).data_mut().fill(v);
        }
        match self.count {
            Some(n) if k + 1 >= n => Flow::Ended,
            _ => Flow::Continue,
        }
    }
}

fn build_counter(ctx: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(Counter {
        id: ctx.args.num("id").unwrap_or(0.0) as f32,
        count: ctx.args.num("count").map(|c| c as u64),
    }))
}

/// `pass`: copies input 0 to every output.
struct Pass;

impl Node for Pass {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        if let Some(a) = io.audio_in(0) {
            for o in 0..io.output_count() {
                io.audio_out(o).data_mut().copy_from_slice(a.data());
            }
        }
        Flow::Continue
    }
}

fn build_pass(_: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(Pass))
}

/// `noop`: touches nothing (measures the engine alone).
struct Noop;

impl Node for Noop {
    fn process(&mut self, _: &mut PortIo<'_, '_>) -> Flow {
        Flow::Continue
    }
}

fn build_noop(_: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(Noop))
}

/// `sum`: adds every present input.
struct Sum;

impl Node for Sum {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let n = io.input_count();
        let mut first = true;
        for i in 0..n {
            let Some(a) = io.audio_in(i) else { continue };
            let o = io.audio_out(0).data_mut();
            if first {
                o.copy_from_slice(a.data());
                first = false;
            } else {
                o.iter_mut().zip(a.data()).for_each(|(o, x)| *o += x);
            }
        }
        if first {
            io.audio_out(0).silence();
        }
        Flow::Continue
    }
}

fn build_sum(_: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(Sum))
}

/// `gain(gain)`: multiplies by a live `gain` (default 1).
struct Gain {
    gain: f32,
}

impl Node for Gain {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        if let Some(a) = io.audio_in(0) {
            let g = self.gain;
            io.audio_out(0)
                .data_mut()
                .iter_mut()
                .zip(a.data())
                .for_each(|(o, x)| *o = x * g);
        }
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        match (key, value) {
            ("gain", Arg::Num(g)) => {
                self.gain = *g as f32;
                Ok(())
            }
            _ => Err(NodeError::new(format!("no live parameter `{key}`"))),
        }
    }
}

fn build_gain(ctx: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(Gain {
        gain: ctx.args.num("gain").unwrap_or(1.0) as f32,
    }))
}

/// What collecting sinks saw, by node name, published at `finish`.
pub static COLLECTED: Mutex<Option<HashMap<String, Collected>>> = Mutex::new(None);

/// One sink's record: per frame, its time and every sample's value if the
/// frame was uniform (else NaN), and whether `finish` ran.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    pub times: Vec<u64>,
    pub values: Vec<f32>,
    pub finished: bool,
}

/// `collect(capacity)` / `io_collect(capacity)` (the same, `io: true`):
/// records into preallocated vectors; `io_collect` stalls while
/// [`STALL`] is set, like a disk that stopped answering.
struct Collect {
    name: String,
    times: Vec<u64>,
    values: Vec<f32>,
    stall: bool,
}

/// While set, `io_collect` sinks sleep in `process`.
pub static STALL: AtomicBool = AtomicBool::new(false);
/// Calls of `io_collect` that began while stalled.
pub static STALLED_CALLS: AtomicU64 = AtomicU64::new(0);

impl Node for Collect {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        if self.stall && STALL.load(Ordering::Acquire) {
            STALLED_CALLS.fetch_add(1, Ordering::Relaxed);
            while STALL.load(Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
        if let Some(a) = io.audio_in(0) {
            if self.times.len() < self.times.capacity() {
                let first = a.data()[0];
                let uniform = a.data().iter().all(|&x| x == first);
                self.times.push(a.time);
                self.values.push(if uniform { first } else { f32::NAN });
            }
        }
        Flow::Continue
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        let mut g = COLLECTED.lock().unwrap();
        g.get_or_insert_with(HashMap::new).insert(
            self.name.clone(),
            Collected {
                times: std::mem::take(&mut self.times),
                values: std::mem::take(&mut self.values),
                finished: true,
            },
        );
        Ok(())
    }
}

fn build_collect(ctx: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    let cap = ctx.args.num("capacity").unwrap_or(100_000.0) as usize;
    Ok(Box::new(Collect {
        name: ctx.name.to_string(),
        times: Vec::with_capacity(cap),
        values: Vec::with_capacity(cap),
        stall: false,
    }))
}

fn build_io_collect(ctx: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    let cap = ctx.args.num("capacity").unwrap_or(100_000.0) as usize;
    Ok(Box::new(Collect {
        name: ctx.name.to_string(),
        times: Vec::with_capacity(cap),
        values: Vec::with_capacity(cap),
        stall: true,
    }))
}

/// `sleepy(ns)`: passes audio through and advances the shared simulated
/// clock by `ns` on tick `at` (a staged slow tick).
pub static SIM: std::sync::OnceLock<std::sync::Arc<sluice_runtime::SimClock>> =
    std::sync::OnceLock::new();

struct Sleepy {
    ns: u64,
    at: u64,
}

impl Node for Sleepy {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        if io.clock().tick == self.at {
            if let Some(c) = SIM.get() {
                c.advance(self.ns);
            }
        }
        Pass.process(io)
    }
}

fn build_sleepy(ctx: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(Sleepy {
        ns: ctx.args.num("ns").unwrap_or(0.0) as u64,
        at: ctx.args.num("at").unwrap_or(0.0) as u64,
    }))
}

/// The controller a `commander` node takes when it is built.
pub static CONTROLLER: Mutex<Option<sluice_runtime::Controller>> = Mutex::new(None);

/// `commander(at, gain)`: passes audio through and, while processing tick
/// `at`, sets `cmd_gain.gain` through the control ring (from inside a tick,
/// so the change must land exactly at the next tick boundary).
struct Commander {
    at: u64,
    gain: f64,
    ctl: Option<sluice_runtime::Controller>,
}

impl Node for Commander {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        if self.ctl.is_none() {
            // Test plumbing only: the controller is made after the engine is
            // built, so the node picks it up on its first tick.
            self.ctl = CONTROLLER.lock().unwrap().take();
        }
        if io.clock().tick == self.at {
            if let Some(c) = self.ctl.as_mut() {
                c.set("cmd_gain", "gain", Arg::Num(self.gain))
                    .expect("queued");
            }
        }
        Pass.process(io)
    }
}

fn build_commander(ctx: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(Commander {
        at: ctx.args.num("at").unwrap_or(0.0) as u64,
        gain: ctx.args.num("gain").unwrap_or(0.0),
        ctl: None,
    }))
}

/// `vcounter(count)`: a video source writing its tick into every byte
/// (mod 256) of an RGBA frame.
struct VCounter {
    count: u64,
}

impl Node for VCounter {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let k = io.clock().tick;
        io.video_out(0).data_mut().fill(k as u8);
        if k + 1 >= self.count {
            Flow::Ended
        } else {
            Flow::Continue
        }
    }
}

fn build_vcounter(ctx: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(VCounter {
        count: ctx.args.num("count").unwrap_or(10.0) as u64,
    }))
}

/// What `vprobe` saw per call: (video tick byte, video time, audio value,
/// audio frame time).
pub static PROBED: Mutex<Vec<(u8, u64, f32, u64)>> = Mutex::new(Vec::new());

/// `vprobe`: a video-domain sink with a video input and an audio input
/// from the audio domain; records what it gets (test code: it locks).
struct VProbe;

impl Node for VProbe {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        // After the video source ends its input reads `None`; the audio
        // input may still deliver its last frame.
        let Some(v) = io.video_in(0) else {
            return Flow::Continue;
        };
        let a = io.audio_in(1);
        PROBED.lock().unwrap().push((
            v.data()[0],
            v.time,
            a.map_or(f32::NAN, |a| a.data()[0]),
            a.map_or(u64::MAX, |a| a.time),
        ));
        Flow::Continue
    }
}

fn build_vprobe(_: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(VProbe))
}

/// `panicker(at)`: passes audio through and panics on tick `at` (a node bug).
struct Panicker {
    at: u64,
}

impl Node for Panicker {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        assert!(io.clock().tick != self.at, "panicker: planned failure");
        Pass.process(io)
    }
}

fn build_panicker(ctx: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(Panicker {
        at: ctx.args.num("at").unwrap_or(0.0) as u64,
    }))
}

/// Node names in the order their `trace` nodes ran (test code: it locks).
pub static TRACE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// `trace(count)`: a source that records its name in [`TRACE`] each time
/// it runs and writes its tick like a `counter` of id 0; ends after
/// `count` ticks.
struct Trace {
    name: String,
    count: u64,
}

impl Node for Trace {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        TRACE.lock().unwrap().push(self.name.clone());
        let k = io.clock().tick;
        io.audio_out(0).data_mut().fill(k as f32);
        if k + 1 >= self.count {
            Flow::Ended
        } else {
            Flow::Continue
        }
    }
}

fn build_trace(ctx: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(Trace {
        name: ctx.name.to_string(),
        count: ctx.args.num("count").unwrap_or(1.0) as u64,
    }))
}

/// `tally`: a pass-through that counts its frames and reports the count
/// ([`Node::report`]) as `N frames tallied`.
struct Tally {
    frames: Arc<Frames>,
}

/// What a `tally` reports.
struct Frames(AtomicU64);

impl std::fmt::Display for Frames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} frames tallied", self.0.load(Ordering::Relaxed))
    }
}

impl Node for Tally {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        if let Some(a) = io.audio_in(0) {
            io.audio_out(0).data_mut().copy_from_slice(a.data());
        }
        self.frames.0.fetch_add(1, Ordering::Relaxed);
        Flow::Continue
    }

    fn report(&self) -> Option<Report> {
        Some(self.frames.clone())
    }
}

fn build_tally(_: &BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(Tally {
        frames: Arc::new(Frames(AtomicU64::new(0))),
    }))
}

/// The test kinds: counter, pass, sum, gain, collect, io_collect, sleepy,
/// trace, tally, and `planned` (declared, not runnable).
pub fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(
        sig(
            "counter",
            Role::AudioSource,
            false,
            vec![param("id", false), param("count", false)],
        ),
        build_counter,
    );
    r.register(sig("pass", Role::Process, false, vec![]), build_pass);
    r.register(sig("tally", Role::Process, false, vec![]), build_tally);
    let mut io_counter = sig(
        "io_counter",
        Role::AudioSource,
        true,
        vec![param("id", false), param("count", false)],
    );
    io_counter.endless = endless;
    r.register(io_counter, build_counter);
    r.register(sig("sum", Role::Process, false, vec![]), build_sum);
    r.register(sig("noop", Role::Process, false, vec![]), build_noop);
    r.register(
        sig("gain", Role::Process, false, vec![param("gain", true)]),
        build_gain,
    );
    r.register(
        sig("collect", Role::Sink, false, vec![param("capacity", false)]),
        build_collect,
    );
    r.register(
        sig(
            "io_collect",
            Role::Sink,
            true,
            vec![param("capacity", false)],
        ),
        build_io_collect,
    );
    r.register(
        sig(
            "sleepy",
            Role::Process,
            false,
            vec![param("ns", false), param("at", false)],
        ),
        build_sleepy,
    );
    r.register(
        sig(
            "commander",
            Role::Process,
            false,
            vec![param("at", false), param("gain", false)],
        ),
        build_commander,
    );
    r.register(
        sig(
            "vcounter",
            Role::VideoSource,
            false,
            vec![param("count", false)],
        ),
        build_vcounter,
    );
    r.register(sig("vprobe", Role::Sink, false, vec![]), build_vprobe);
    r.register(
        sig(
            "trace",
            Role::AudioSource,
            false,
            vec![param("count", false)],
        ),
        build_trace,
    );
    r.register(
        sig("panicker", Role::Process, false, vec![param("at", false)]),
        build_panicker,
    );
    r.declare(sig("planned", Role::Process, false, vec![]));
    r
}

/// What sink `name` collected (after the run finished).
pub fn collected(name: &str) -> Collected {
    COLLECTED
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|m| m.get(name).cloned())
        .unwrap_or_else(|| panic!("sink `{name}` did not finish"))
}

/// The value tick `k` of counter `id` carries.
pub fn value(id: f32, k: u64) -> f32 {
    id * 1e6 + k as f32
}
