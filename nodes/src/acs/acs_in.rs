//! `acs_in`: the call's participants as a bundle, from the WebSocket
//! connection `sluice serve` opened for this call.

use super::accelerate::{self, Pitch, REPEATS};
use super::call::CallSetup;
use super::inbound::{inbound, InboundConfig, InboundRings, SlotRx};
use super::stats::CallStats;
use crate::kernels::level::peak;
use crate::sig;
use sluice_dsl::{Args, Constraint, MediaType, OutType, Ports, Role, Signature, UnitKind};
use sluice_runtime::{
    BuildContext, BundleFrame, Event, EventData, Flow, Node, NodeError, PortIo, StreamId,
    StreamState,
};
use std::sync::atomic::Ordering;

/// The checker's view of `acs_in`.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "acs_in",
        "A call's incoming audio under `sluice serve`: one stream per participant \
         (id = the platform's participantRawID; `mixed` for a mixed call), resampled \
         from 16 or 24 kHz to the graph rate, reordered by timestamp and buffered \
         against network jitter; a queue that stays deeper than `jitter` for half a \
         second (a client that stalled, then caught up) is shortened by skipping \
         quiet frames and by taking whole pitch periods out of voiced sound (the \
         words come sooner, at the same pitch); no word is cut. A participant \
         silent for `leave_after` leaves; a participant beyond `capacity` is \
         dropped and counted. Output `events` carries DTMF tones, joins and leaves.",
        Role::AudioSource,
        ports,
    );
    s.endless = sig::always;
    s.params = vec![
        sig::param(
            "capacity",
            sig::int(1, 64),
            sluice_dsl::Arg::Num(32.0),
            "participants present at once (bundle slots)",
        ),
        sig::param(
            "jitter",
            sig::quantity(UnitKind::Time, 0.0, 0.5),
            sluice_dsl::Arg::Num(0.04),
            "audio buffered before a participant starts playing (absorbs network jitter)",
        ),
        sig::param(
            "max_delay",
            sig::quantity(UnitKind::Time, 0.02, 5.0),
            sluice_dsl::Arg::Num(0.2),
            "most audio queued per participant; older audio is dropped to catch up",
        ),
        sig::param(
            "leave_after",
            sig::quantity(UnitKind::Time, 0.1, 60.0),
            sluice_dsl::Arg::Num(1.0),
            "a participant with no audio this long has left",
        ),
    ];
    s
}

fn ports(args: &Args) -> Result<Ports, String> {
    let capacity = args.need_num("capacity")? as u32;
    Ok(Ports {
        inputs: Vec::new(),
        outputs: vec![
            sig::output("out", OutType::Fixed(MediaType::Bundle { capacity })),
            sig::output("events", OutType::Fixed(MediaType::Events)),
        ],
        // One connection per call: `build` refuses a second `acs_in`.
        constraints: vec![Constraint::OnePerGraph],
        ..Ports::default()
    })
}

/// Builds `acs_in` for the call `setup` describes: creates the call's
/// incoming rings and leaves the connection's end in `setup`.
pub fn build(ctx: &BuildContext, setup: &CallSetup) -> Result<Box<dyn Node>, NodeError> {
    let args = ctx.args;
    let rate = ctx.settings.rate;
    let samples = |name: &str| -> Result<usize, String> {
        Ok((args.need_num(name)? * f64::from(rate)).round() as usize)
    };
    let capacity = args.need_num("capacity")? as usize;
    let frame = ctx.settings.frame_samples as usize;
    let cfg = Timing {
        prebuffer: samples("jitter")?,
        max_delay: samples("max_delay")?.max(frame),
        leave_after: samples("leave_after")?.max(frame),
        drain_window: (DRAIN_WINDOW_S * f64::from(rate)) as usize,
        frame,
        pitch: Pitch::at(rate),
        compress_gap: (COMPRESS_GAP_S * f64::from(rate)) as usize,
    };
    let format = setup.format();
    // Room for a burst of twice `max_delay` before the ring itself drops
    // (newest first); `acs_in` trims to the jitter target past `max_delay`.
    let ring_samples = 2 * cfg.max_delay + cfg.prebuffer + 2 * frame + rate as usize / 25;
    let (assembler, rings) = inbound(
        InboundConfig {
            capacity,
            call_rate: format.rate,
            chunk_samples: format.chunk_samples,
            graph_rate: rate,
            ring_samples,
        },
        setup.stats().clone(),
    )
    .map_err(NodeError::new)?;
    setup.leave_inbound(assembler)?;
    Ok(Box::new(AcsIn::new(rings, cfg, ctx.index)))
}

/// How long a participant's queue must stay deeper than the jitter target
/// (by at least a frame) before quiet frames are skipped to shorten it,
/// in seconds: long enough that ordinary jitter is left alone.
const DRAIN_WINDOW_S: f64 = 0.5;

/// The least audio played between two looks for a pitch period to take
/// out, in seconds: voiced sound is sped up by a period (2.5-15 ms) per
/// 30 ms at most, as a jitter buffer's accelerate does, fast enough to
/// catch up within a second or two and gentle enough to sound like the
/// speaker; sound that does not repeat costs one search per 30 ms.
const COMPRESS_GAP_S: f64 = 0.03;

/// The loudest sample of a frame that may be skipped to shorten a queue:
/// -34 dBFS, below speech and above the quiet between words.
const QUIET: f32 = 0.02;

/// Durations in samples at the graph rate.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Buffered before a participant starts (and after an underrun).
    pub prebuffer: usize,
    /// Most samples queued before the oldest are dropped.
    pub max_delay: usize,
    /// Samples without audio after which a participant has left.
    pub leave_after: usize,
    /// Samples over which a queue's low point is watched (see
    /// [`DRAIN_WINDOW_S`]).
    pub drain_window: usize,
    /// Samples per tick.
    pub frame: usize,
    /// Where pitch periods are looked for when voiced sound is shortened.
    pub pitch: Pitch,
    /// The least audio played between two looks for a period (see
    /// [`COMPRESS_GAP_S`]).
    pub compress_gap: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No participant.
    Free,
    /// A participant joined the ring; waiting for `prebuffer` samples.
    Waiting,
    /// Playing; `rebuffer` after an underrun.
    Playing,
    /// The tick after `Left`: absent, then free.
    Gone,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    phase: Phase,
    id: StreamId,
    /// Samples of graph time since audio last arrived (or since joining).
    idle: usize,
    rebuffer: bool,
    first: bool,
    /// The fewest samples queued at any tick of the current drain window.
    low: usize,
    /// Samples of graph time in the current drain window.
    window: usize,
    /// Samples the last window found queued beyond the jitter target,
    /// still to be shed by skipping quiet frames or pitch periods.
    surplus: usize,
    /// Samples played since a pitch period was last looked for.
    since: usize,
}

impl Slot {
    /// A slot in `phase` for participant `id`, with nothing measured yet.
    fn new(phase: Phase, id: StreamId) -> Slot {
        Slot {
            phase,
            id,
            idle: 0,
            rebuffer: false,
            first: phase == Phase::Waiting,
            low: usize::MAX,
            window: 0,
            surplus: 0,
            since: 0,
        }
    }
}

/// The node: pops each slot's ring into the bundle.
pub struct AcsIn {
    rings: InboundRings,
    slots: Vec<Slot>,
    timing: Timing,
    index: u32,
    /// Joins and leaves decided this tick (at most one per slot).
    changes: Vec<(StreamId, EventData)>,
    /// The head of a queue being shortened, copied out of its ring.
    head: Vec<f32>,
}

/// Its place and size; the rings and slots hold audio.
impl std::fmt::Debug for AcsIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcsIn")
            .field("index", &self.index)
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl AcsIn {
    /// A node over these rings (tests build it directly).
    pub fn new(rings: InboundRings, timing: Timing, index: u32) -> AcsIn {
        let slot = Slot::new(Phase::Free, StreamId::default());
        AcsIn {
            slots: vec![slot; rings.slots.len()],
            changes: Vec::with_capacity(rings.slots.len()),
            head: vec![0.0; timing.pitch.needs(timing.frame)],
            rings,
            timing,
            index,
        }
    }
}

impl Node for AcsIn {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let time = io.clock().time;
        let closed = self.rings.closed.load(Ordering::Acquire);
        let AcsIn {
            rings,
            slots,
            timing,
            index,
            changes,
            head,
        } = self;
        changes.clear();
        let mut busy = false;
        let bundle = io.bundle_out(0);
        for (i, (slot, rx)) in slots.iter_mut().zip(&mut rings.slots).enumerate() {
            let ctx = Tick {
                t: *timing,
                closed,
                stats: &rings.stats,
                head: head.as_mut_slice(),
            };
            if let Some(data) = step(slot, rx, bundle, i, ctx) {
                changes.push((slot.id, data));
            }
            busy |= matches!(slot.phase, Phase::Waiting | Phase::Playing);
        }
        if io.output_count() > 1 {
            let events = io.events_out(1);
            let node = *index;
            for &(id, data) in changes.iter() {
                events.push(Event {
                    time,
                    node,
                    id,
                    data,
                });
            }
            while let Ok((id, tone)) = rings.dtmf.pop() {
                events.push(Event {
                    time,
                    node,
                    id,
                    data: EventData::Dtmf(tone),
                });
            }
        }
        if closed && !busy {
            Flow::Ended
        } else {
            Flow::Continue
        }
    }
}

/// What every slot's step of a tick shares.
struct Tick<'a> {
    t: Timing,
    /// The connection has ended: play out what is queued.
    closed: bool,
    stats: &'a CallStats,
    /// Room for a queue's head while it is shortened.
    head: &'a mut [f32],
}

/// Advances one slot by one tick; returns the join or leave it decided.
fn step(
    slot: &mut Slot,
    rx: &mut SlotRx,
    bundle: &mut BundleFrame,
    i: usize,
    ctx: Tick<'_>,
) -> Option<EventData> {
    let (t, closed) = (ctx.t, ctx.closed);
    let out = &mut bundle.slots_mut()[i];
    // An absent slot's samples are never read, so they are left as they
    // are: no per-tick work for participants who are not there.
    out.state = StreamState::Absent;
    match slot.phase {
        Phase::Gone => {
            slot.phase = Phase::Free;
            None
        }
        Phase::Free => match rx.joins.pop() {
            Ok(id) => {
                *slot = Slot::new(Phase::Waiting, id);
                step(slot, rx, bundle, i, ctx)
            }
            Err(_) => None,
        },
        Phase::Waiting => {
            let len = out.samples().len();
            let avail = rx.samples.slots();
            slot.idle += len;
            let ready = avail >= t.prebuffer.max(len)
                || (avail > 0 && (closed || slot.idle >= t.prebuffer.max(len)));
            if ready {
                slot.phase = Phase::Playing;
                slot.idle = 0;
                play(slot, rx, out, ctx)
            } else if closed || slot.idle >= t.leave_after {
                release(slot, rx);
                slot.phase = Phase::Free;
                None
            } else {
                None
            }
        }
        Phase::Playing => play(slot, rx, out, ctx),
    }
}

fn play(
    slot: &mut Slot,
    rx: &mut SlotRx,
    out: &mut sluice_runtime::Stream,
    ctx: Tick<'_>,
) -> Option<EventData> {
    let Tick {
        t,
        closed,
        stats,
        head,
    } = ctx;
    let len = out.samples().len();
    let mut avail = rx.samples.slots();
    if avail > t.max_delay {
        let drop = avail - t.prebuffer.max(len);
        if let Ok(c) = rx.samples.read_chunk(drop) {
            c.commit_all();
        }
        CallStats::add(&stats.dropped_in, drop as u64);
        avail -= drop;
    }
    let avail = drain_quiet(slot, rx, len, t, stats, avail);
    if slot.rebuffer && (avail >= t.prebuffer.max(len) || (closed && avail > 0)) {
        slot.rebuffer = false;
    }
    let got = if slot.rebuffer {
        0
    } else if compress_voiced(slot, rx, out.samples_mut(), t, head, stats) {
        len
    } else {
        let (filled, _) = rx.samples.pop_partial_slice(out.samples_mut());
        filled.len()
    };
    slot.since = slot.since.saturating_add(got);
    out.samples_mut()[got..].fill(0.0);
    if got < len && !slot.rebuffer {
        CallStats::add(&stats.underruns, 1);
        slot.rebuffer = got == 0;
    }
    slot.idle = if got > 0 { 0 } else { slot.idle + len };
    out.id = slot.id;
    let silent = out.samples().iter().all(|s| *s == 0.0);
    out.state = if slot.first {
        StreamState::Joined
    } else if silent {
        StreamState::Silent
    } else {
        StreamState::Active
    };
    if slot.first {
        slot.first = false;
        return Some(EventData::Joined);
    }
    if slot.idle >= t.leave_after || (closed && avail <= got) {
        out.state = StreamState::Left;
        release(slot, rx);
        slot.phase = Phase::Gone;
        return Some(EventData::Left);
    }
    None
}

/// Shortens a queue that stayed deeper than the jitter target for a whole
/// window (a client that stalled and then sent its late audio leaves the
/// participant that much behind for good, since a tick plays exactly one
/// frame): while the window found a surplus, a quiet frame at the head is
/// skipped rather than played, as a network jitter buffer does. Speech is
/// never cut; the skipped samples count as `dropped_in`. Returns what is
/// left queued.
fn drain_quiet(
    slot: &mut Slot,
    rx: &mut SlotRx,
    len: usize,
    t: Timing,
    stats: &CallStats,
    avail: usize,
) -> usize {
    if slot.rebuffer {
        (slot.low, slot.window, slot.surplus) = (usize::MAX, 0, 0);
        return avail;
    }
    slot.low = slot.low.min(avail);
    slot.window += len;
    if slot.window >= t.drain_window {
        slot.surplus = slot.low.saturating_sub(t.prebuffer.max(len) + len);
        (slot.low, slot.window) = (usize::MAX, 0);
    }
    if slot.surplus < len || avail < 2 * len {
        return avail;
    }
    let Ok(head) = rx.samples.read_chunk(len) else {
        return avail;
    };
    let (a, b) = head.as_slices();
    if peak(a).max(peak(b)) >= QUIET {
        return avail;
    }
    head.commit_all();
    slot.surplus -= len;
    CallStats::add(&stats.dropped_in, len as u64);
    avail - len
}

/// Shortens a queue that still has a surplus after [`drain_quiet`] and
/// starts with voiced sound: the tick plays its head with one pitch
/// period taken out ([`accelerate`]), so the queue loses a period with no
/// word cut. Sound that does not repeat is left to play as it is. The
/// period counts as `dropped_in`. Whether it played the tick.
fn compress_voiced(
    slot: &mut Slot,
    rx: &mut SlotRx,
    out: &mut [f32],
    t: Timing,
    head: &mut [f32],
    stats: &CallStats,
) -> bool {
    let need = t.pitch.needs(out.len());
    if slot.surplus < t.pitch.max
        || slot.since < t.compress_gap
        || rx.samples.slots() < need
        || head.len() < need
    {
        return false;
    }
    let Ok(chunk) = rx.samples.read_chunk(need) else {
        return false;
    };
    let (a, b) = chunk.as_slices();
    head[..a.len()].copy_from_slice(a);
    head[a.len()..need].copy_from_slice(b);
    let (lag, repeats) = t.pitch.best_period(&head[..need]);
    slot.since = 0;
    if repeats < REPEATS {
        return false;
    }
    accelerate::compress(head, lag, out);
    chunk.commit(out.len() + lag);
    slot.surplus -= lag;
    CallStats::add(&stats.dropped_in, lag as u64);
    true
}

/// Drains the slot's ring and hands the slot back to the connection.
fn release(slot: &mut Slot, rx: &mut SlotRx) {
    let n = rx.samples.slots();
    if let Ok(c) = rx.samples.read_chunk(n) {
        c.commit_all();
    }
    slot.rebuffer = false;
    rx.released.store(true, Ordering::Release);
}
