//! The real-time side of `exec`: per tick, copy the input into a packet
//! for each program, take back returned media or event lines. Nothing
//! here waits in a real-time run; an unpaced run waits (bounded) for a
//! program to take its media, so files are processed whole.

use super::child::{spawn_supervisor, Ends, Input, Shared, Spec, GRACE};
use super::link::{events, packets, Control, EventReader, Packet, PacketPool, PacketSink};
use super::media::{bytes_of, samples_of, Pcm};
use super::reader::{ReadMode, ReaderEnds, Written, MAX_LINE};
use super::stats::Counters;
use super::{Returns, CALL_PLACEHOLDER};
use rtrb::{Producer, RingBuffer};
use sluice_dsl::MediaType;
use sluice_runtime::{
    BuildContext, Flow, Frame, Node, NodeError, PortIo, Report, StreamId, StreamState,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes of event records a slot holds for the graph.
const EVENT_RING: usize = 256 * 1024;
/// The longest an unpaced run waits for a program before dropping.
const STALL: Duration = Duration::from_secs(1);
/// Blocks an unpaced run queues for a program: it drops nothing, so a
/// longer queue would only let the graph run further ahead of the program
/// (and lose more of its last answers when the graph ends first).
const UNPACED_QUEUE: usize = 2;
/// The longest the programs get to finish once the graph ends: each its
/// grace period after its input closes, for input still being written and
/// then for the program itself, and a second for the readers.
const CLOSE_LIMIT: Duration = Duration::from_millis(2 * GRACE.as_millis() as u64 + 1000);
/// How long an unpaced tail waits between looks at the programs.
const TAIL_WAIT: Duration = Duration::from_millis(1);

/// Builds an `exec`: checks the program exists, starts a supervisor per
/// slot (and the program itself, unless it waits for a participant).
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let input = ctx
        .inputs
        .first()
        .map(|p| p.ty)
        .ok_or_else(|| NodeError::new("exec needs an input"))?;
    let returns = Returns::of(ctx.args);
    let spec = Arc::new(spec_of(ctx, input, returns)?);
    let slots = match input {
        MediaType::Bundle { capacity } => capacity as usize,
        _ => 1,
    };
    let delay = ctx.args.need_num("delay")?;
    let delay_ticks = (delay / tick_seconds(ctx, input)).round() as usize;
    let block = block_bytes(ctx, input);
    let shared = Arc::new(Shared {
        closing: Default::default(),
        counters: Arc::new(Counters::new()),
    });
    let mut lanes = Vec::with_capacity(slots);
    let mut supervisors = Vec::with_capacity(slots);
    for _ in 0..slots {
        let (lane, ends, written) = lane(
            &spec,
            returns,
            block,
            delay_ticks,
            slots > 1 || spec.per_participant,
        );
        let handle = spawn_supervisor(spec.clone(), ends, shared.clone(), written)
            .map_err(|e| NodeError::new(format!("cannot start a thread for `exec`: {e}")))?;
        lanes.push(lane);
        supervisors.push(handle);
    }
    Ok(Box::new(Exec {
        node: ctx.index,
        name: ctx.name.to_string(),
        lanes,
        returns,
        delay_ticks,
        realtime: ctx.settings.realtime,
        shared,
        supervisors,
        mono: vec![0.0; ctx.settings.frame_samples as usize],
        scratch: vec![0; MAX_LINE + 256],
        tail_until: None,
    }))
}

fn tick_seconds(ctx: &BuildContext, input: MediaType) -> f64 {
    match input {
        MediaType::Video(v) => v.fps.1 as f64 / v.fps.0.max(1) as f64,
        _ => ctx.settings.tick_seconds(),
    }
}

fn block_bytes(ctx: &BuildContext, input: MediaType) -> usize {
    match input {
        MediaType::Video(v) => sluice_runtime::VideoFrame::new(v).data().len(),
        _ => ctx.settings.frame_samples as usize * 4,
    }
}

/// The program, its environment and how its pipes are read and written.
fn spec_of(ctx: &BuildContext, input: MediaType, returns: Returns) -> Result<Spec, NodeError> {
    let cmd: Vec<String> = ctx
        .args
        .list("cmd")
        .unwrap_or(&[])
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let program = cmd
        .first()
        .ok_or_else(|| NodeError::new("`cmd` is empty"))?;
    find_program(program)?;
    let call = ctx.args.need_str("call")?;
    let call = if call == CALL_PLACEHOLDER { "" } else { call };
    let graph_rate = ctx.settings.rate;
    let rate = ctx
        .args
        .num("rate")
        .map_or(graph_rate, |r| r.round() as u32);
    let tick = ctx.settings.frame_samples as usize;
    let pcm = Pcm::of(ctx.args.str("format"));
    let (io, mode, format) = match input {
        MediaType::Video(v) => (
            Input::Video(v),
            match returns {
                Returns::Video => ReadMode::Video {
                    width: v.width,
                    height: v.height,
                },
                _ => ReadMode::Events,
            },
            "y4m",
        ),
        _ => {
            if returns == Returns::Audio
                && !(tick as u64 * rate as u64).is_multiple_of(graph_rate as u64)
            {
                return Err(NodeError::new(format!(
                    "`returns: audio` needs whole samples per tick at {rate} Hz; pick a rate that divides evenly"
                )));
            }
            (
                Input::Audio {
                    pcm,
                    graph_rate,
                    rate,
                    tick,
                },
                match returns {
                    Returns::Audio => ReadMode::Audio {
                        pcm,
                        child_rate: rate,
                        graph_rate,
                        tick,
                    },
                    _ => ReadMode::Events,
                },
                pcm.name(),
            )
        }
    };
    let queue_s = ctx.args.need_num("queue")?;
    Ok(Spec {
        env: vec![
            ("SLUICE_RATE".into(), rate.to_string()),
            ("SLUICE_CHANNELS".into(), "1".into()),
            ("SLUICE_FORMAT".into(), format.into()),
            ("SLUICE_CALL".into(), call.into()),
            ("SLUICE_NODE".into(), ctx.name.into()),
        ],
        cmd,
        node: ctx.name.to_string(),
        input: io,
        mode,
        queue: if ctx.settings.realtime {
            ((queue_s / tick_seconds(ctx, input)).ceil() as usize).max(2)
        } else {
            UNPACED_QUEUE
        },
        realtime: ctx.settings.realtime,
        per_participant: matches!(input, MediaType::Bundle { .. }),
    })
}

/// Fails early, with the reason, when `program` cannot be run.
fn find_program(program: &str) -> Result<(), NodeError> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &std::path::Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    let found = if program.contains('/') {
        runnable(std::path::Path::new(program))
    } else {
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| runnable(&dir.join(program)))
        })
    };
    if found {
        Ok(())
    } else {
        Err(NodeError::new(format!(
            "cannot run `{program}`: no such executable{}",
            if program.contains('/') {
                ""
            } else {
                " on PATH"
            }
        )))
    }
}

/// One slot's rings: the real-time ends and the supervisor's.
fn lane(
    spec: &Spec,
    returns: Returns,
    block: usize,
    delay_ticks: usize,
    participant: bool,
) -> (Lane, Ends, Arc<Written>) {
    let pool_size = spec.queue + 4;
    let (pool, sink) = packets(pool_size, block);
    let (ev_tx, ev_rx) = events(EVENT_RING);
    let (inflight_tx, inflight_rx) = RingBuffer::new(pool_size * 2);
    let (back, returns_ends) = if returns == Returns::None {
        (None, None)
    } else {
        let (pool_back, sink_back) = packets(pool_size + delay_ticks + 4, block);
        (Some(sink_back), Some((pool_back.full, pool_back.free)))
    };
    let (control_tx, control_rx) = if participant {
        let (tx, rx) = RingBuffer::new(16);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let lane = Lane {
        pool,
        control: control_tx,
        events: ev_rx,
        back,
        delay: vec![0; block * (delay_ticks + 1)],
        block,
        id: StreamId::default(),
        stalled: false,
    };
    let ends = Ends {
        media: sink,
        control: control_rx,
        inflight: inflight_tx,
        reader: Some(ReaderEnds {
            events: ev_tx,
            inflight: inflight_rx,
            returns: returns_ends,
        }),
    };
    let written = Arc::new(Written {
        end: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        base: Instant::now(),
    });
    (lane, ends, written)
}

/// One slot's real-time ends.
struct Lane {
    pool: PacketPool,
    control: Option<Producer<Control>>,
    events: EventReader,
    /// Returned media: filled packets in, emptied ones back.
    back: Option<PacketSink>,
    /// The last `delay + 1` input blocks (pass-through).
    delay: Vec<u8>,
    block: usize,
    id: StreamId,
    /// An unpaced run gave up waiting for this program (until it catches up).
    stalled: bool,
}

impl Lane {
    /// Hands one block to the program; counts a drop when no packet is
    /// free (an unpaced run waits for one first, up to `STALL`).
    fn send(
        &mut self,
        tick: u64,
        time: u64,
        realtime: bool,
        counters: &Counters,
        fill: impl FnOnce(&mut [u8]),
    ) {
        let mut packet = self.pool.free.pop().ok();
        if packet.is_none() && !realtime && !self.stalled {
            packet = wait_for(&mut self.pool.free);
            self.stalled = packet.is_none();
        }
        let Some(mut p) = packet else {
            Counters::bump(&counters.dropped);
            return;
        };
        self.stalled = false;
        fill(&mut p.data);
        let slot = (tick as usize % (self.delay.len() / self.block)) * self.block;
        self.delay[slot..slot + self.block].copy_from_slice(&p.data);
        p.tick = tick;
        p.time = time;
        p.sent = Instant::now();
        let _ = self.pool.full.push(p);
    }

    /// The returned block for `tick`, or the input `delay` ticks back,
    /// written by `put`; before the first delayed tick, nothing is written
    /// and false comes back.
    fn take(
        &mut self,
        tick: u64,
        delay: usize,
        wait: bool,
        counters: &Counters,
        put: impl FnOnce(&[u8]),
    ) -> bool {
        let Some(wanted) = tick.checked_sub(delay as u64) else {
            return false;
        };
        let Some(back) = &mut self.back else {
            return false;
        };
        let deadline = Instant::now() + STALL;
        loop {
            match back.full.peek() {
                Ok(p) if p.tick < wanted => {
                    if let Ok(p) = back.full.pop() {
                        Counters::bump(&counters.late);
                        let _ = back.free.push(p);
                    }
                }
                Ok(p) if p.tick == wanted => {
                    let Ok(p) = back.full.pop() else { break };
                    put(&p.data);
                    Counters::bump(&counters.returned);
                    let _ = back.free.push(p);
                    return true;
                }
                Err(_) if wait && !self.stalled && Instant::now() < deadline => {
                    std::thread::yield_now();
                }
                _ => break,
            }
        }
        Counters::bump(&counters.passthrough);
        let slot = (wanted as usize % (self.delay.len() / self.block)) * self.block;
        put(&self.delay[slot..slot + self.block]);
        true
    }
}

/// Waits up to `STALL` for a free packet (unpaced runs only).
fn wait_for(free: &mut rtrb::Consumer<Packet>) -> Option<Packet> {
    let deadline = Instant::now() + STALL;
    while Instant::now() < deadline {
        if let Ok(p) = free.pop() {
            return Some(p);
        }
        std::thread::yield_now();
    }
    None
}

struct Exec {
    node: u32,
    name: String,
    lanes: Vec<Lane>,
    returns: Returns,
    delay_ticks: usize,
    realtime: bool,
    shared: Arc<Shared>,
    supervisors: Vec<JoinHandle<()>>,
    /// One tick of mono audio.
    mono: Vec<f32>,
    /// One event line.
    scratch: Vec<u8>,
    /// When the tail gives up on the programs (set at its first tick).
    tail_until: Option<Instant>,
}

impl Exec {
    /// Moves queued event lines into the output frame. With `keep`, lines
    /// that no longer fit stay queued for the next tick (the tail, where
    /// nothing new arrives behind them); otherwise they are dropped and
    /// counted.
    fn events(&mut self, out: &mut sluice_runtime::EventFrame, keep: bool) {
        let counters = &self.shared.counters;
        for lane in &mut self.lanes {
            while let Some((time, len)) = lane
                .events
                .pop(&mut self.scratch, |len| !keep || out.fits_json(len))
            {
                let text = std::str::from_utf8(&self.scratch[..len]).unwrap_or("{}");
                if !out.push_json(time, self.node, lane.id, text) {
                    Counters::bump(&counters.events_dropped);
                }
            }
        }
    }

    fn audio(&mut self, io: &mut PortIo<'_, '_>, a: &sluice_runtime::AudioFrame) {
        let clock = io.clock();
        let scale = 1.0 / a.channels().max(1) as f32;
        self.mono.fill(0.0);
        for c in 0..a.channels() {
            for (m, s) in self.mono.iter_mut().zip(a.channel(c)) {
                *m += s * scale;
            }
        }
        let (mono, counters) = (&self.mono, &self.shared.counters);
        let lane = &mut self.lanes[0];
        lane.send(clock.tick, clock.time, self.realtime, counters, |d| {
            bytes_of(mono, d)
        });
        if self.returns == Returns::Audio {
            let out = io.audio_out(0);
            let wait = !self.realtime;
            if !lane.take(clock.tick, self.delay_ticks, wait, counters, |d| {
                samples_of(d, out.data_mut())
            }) {
                out.silence();
            }
        }
    }

    fn bundle(&mut self, io: &mut PortIo<'_, '_>, b: &sluice_runtime::BundleFrame) {
        let clock = io.clock();
        let counters = &self.shared.counters;
        for (lane, s) in self.lanes.iter_mut().zip(b.slots()) {
            match s.state {
                StreamState::Absent => continue,
                StreamState::Joined => {
                    lane.id = s.id;
                    if let Some(c) = &mut lane.control {
                        let _ = c.push(Control::Start(s.id));
                    }
                }
                _ => {}
            }
            lane.send(clock.tick, clock.time, self.realtime, counters, |d| {
                bytes_of(s.samples(), d)
            });
            if s.state == StreamState::Left {
                if let Some(c) = &mut lane.control {
                    let _ = c.push(Control::Stop);
                }
            }
        }
        if self.returns == Returns::Audio {
            let Frame::Bundle(out) = io.output(0) else {
                return;
            };
            for ((lane, s), o) in self.lanes.iter_mut().zip(b.slots()).zip(out.slots_mut()) {
                o.id = s.id;
                o.state = s.state;
                let samples = o.samples_mut();
                let wait = !self.realtime && s.state.present();
                if !s.state.present()
                    || !lane.take(clock.tick, self.delay_ticks, wait, counters, |d| {
                        samples_of(d, samples)
                    })
                {
                    samples.fill(0.0);
                }
            }
        }
    }

    fn video(&mut self, io: &mut PortIo<'_, '_>, v: &sluice_runtime::VideoFrame) {
        let clock = io.clock();
        let counters = &self.shared.counters;
        let lane = &mut self.lanes[0];
        lane.send(clock.tick, clock.time, self.realtime, counters, |d| {
            d.copy_from_slice(v.data())
        });
        if self.returns == Returns::Video {
            let out = io.video_out(0);
            let wait = !self.realtime;
            let data = out.data_mut();
            if !lane.take(clock.tick, self.delay_ticks, wait, counters, |d| {
                data.copy_from_slice(d)
            }) {
                data.copy_from_slice(v.data());
            }
        }
    }

    /// A tick after the input has ended (events only): the programs'
    /// input is closed once, then the lines they still print are handed
    /// on until every program has exited and its lines are out, or
    /// [`CLOSE_LIMIT`] has passed. An unpaced run waits a moment between
    /// looks; a real-time one looks once a tick.
    fn tail(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let shared = &self.shared;
        let until = *self.tail_until.get_or_insert_with(|| {
            shared.closing.store(true, Ordering::Release);
            Instant::now() + CLOSE_LIMIT
        });
        let exited = self.supervisors.iter().all(JoinHandle::is_finished);
        self.events(io.events_out(0), true);
        let empty = self.lanes.iter().all(|l| l.events.is_empty());
        if (exited && empty) || Instant::now() >= until {
            return Flow::Ended;
        }
        if !self.realtime {
            std::thread::sleep(TAIL_WAIT);
        }
        Flow::Continue
    }

    /// Closes every program (input closed, grace, kill) and joins the
    /// supervisors.
    fn close(&mut self) {
        self.shared.closing.store(true, Ordering::Release);
        let until = Instant::now() + CLOSE_LIMIT;
        for s in self.supervisors.drain(..) {
            while !s.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(2));
            }
            if s.is_finished() {
                let _ = s.join();
            }
        }
    }
}

impl Node for Exec {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        match io.input(0) {
            Some(Frame::Audio(a)) => self.audio(io, a),
            Some(Frame::Bundle(b)) => self.bundle(io, b),
            Some(Frame::Video(v)) => self.video(io, v),
            None => return self.tail(io),
            _ => {}
        }
        if self.returns == Returns::None {
            let out = io.events_out(0);
            self.events(out, false);
        }
        Flow::Continue
    }

    fn trails(&self) -> bool {
        self.returns == Returns::None
    }

    fn report(&self) -> Option<Report> {
        Some(self.shared.counters.clone())
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        self.close();
        eprintln!("{}: {}", self.name, self.shared.counters);
        Ok(())
    }
}

impl Drop for Exec {
    fn drop(&mut self) {
        if !self.supervisors.is_empty() {
            self.close();
        }
    }
}
