//! `dominant`: the top speakers of a bundle, as a smaller bundle: what a
//! calling SDK mixes as "mixed incoming audio" (`people -> dominant -> mix`).
//!
//! Each stream is scored on three time scales ([`activity`]). Output slots
//! are seats: a participant keeps its seat while it stays in the set.
//!
//! - While the bundle holds no more streams than seats, every stream has
//!   a seat: nothing is dropped, whatever it sounds like.
//! - Otherwise streams rank as WebRTC's mixer ranks them: speaking streams
//!   first (by their medium score), then the rest by level, so a free
//!   seat goes to music, a tone or noise above the -60 dBFS gate rather
//!   than staying silent, and speech always outranks them.
//! - A seated stream is replaced only when a candidate clearly beats it
//!   (a speaker: by its medium score against the seated speaker's
//!   strength, the larger of its medium score and a share of its long
//!   score, so a speaker keeps the seat through the pauses between
//!   phrases; a stream not speaking: 5 dB louder), only after both have
//!   stayed where they are for at least `hold`, and one seat at a time.
//!
//! Entering and leaving are gain ramps over one tick; a seat stays empty
//! for one tick between participants, so every output slot goes Joined ->
//! Active/Silent -> Left -> Absent like any bundle.

pub mod activity;

#[cfg(test)]
mod sound_tests;
#[cfg(test)]
mod tests;

use crate::conference::speech_model::{self, VadLink};
use crate::kernels::level::energy;
use crate::sig;
use activity::{Activity, Rates};
use sluice_dsl::{Accepts, Arg, Args, MediaType, OutType, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, Stream, StreamState};
use std::any::Any;

/// A stream speaks while its medium score exceeds this (a seated one,
/// while its strength does).
const SPEECH_SCORE: f32 = 0.1;
/// A speaking candidate replaces a seated speaker when its medium score
/// exceeds `RATIO * strength + MARGIN`.
const REPLACE_RATIO: f32 = 1.25;
const REPLACE_MARGIN: f32 = 0.05;
/// Share of the long score that counts towards a seated stream's strength.
const LONG_WEIGHT: f32 = 0.35;
/// A stream not speaking is audible when its smoothed loudness exceeds
/// this (1 dB above the -60 dBFS gate).
const LEVEL_GATE: f32 = 0.02;
/// Among streams not speaking, a candidate replaces a seated one when its
/// loudness exceeds the seated one's by this (5 dB).
const LEVEL_MARGIN: f32 = 0.1;

/// The `dominant` signature.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "dominant",
        "The `top` most dominant speakers of a bundle, as a bundle of at most `top` \
         streams. While the bundle has no more than `top` streams, every one passes \
         (music, a tone, silence alike). Beyond that, speakers rank first, by speech \
         activity (voice activity over the stream's own noise floor, weighted by \
         loudness) on three time scales, so clicks and steady noise do not count as \
         speech; seats no speaker needs go to the loudest other streams above the \
         -60 dBFS gate, so the output is not silent while anyone is heard. A stream \
         stays in (or out of) the set at least `hold` before it switches (a stream \
         that is not speaking yields its seat to a speaker at once); entering and \
         leaving are ramped over one tick (no clicks). Output slots are stable per \
         participant. With `vad: silero` the speech model decides what is speech, \
         so loud bursts of noise (typing, a door) rank as noise, not as a speaker.",
        Role::Process,
        ports,
    );
    s.params.push(sig::param(
        "top",
        sig::int(1, 1024),
        Arg::Num(4.0),
        "how many speakers to keep",
    ));
    s.params.push(sig::param(
        "hold",
        sig::quantity(UnitKind::Time, 0.0, 60.0),
        Arg::Num(0.3),
        "least time in (or out of) the set before a switch",
    ));
    s.params.push(speech_model::param());
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::Bundle)],
        outputs: vec![sig::output("out", OutType::Derived(out_type))],
        ..Ports::default()
    })
}

fn top(args: &Args) -> Result<u32, String> {
    Ok(args.need_num("top")?.max(1.0) as u32)
}

fn out_type(args: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    match inputs.first().copied().flatten() {
        Some(MediaType::Bundle { capacity }) => Ok(MediaType::Bundle {
            capacity: capacity.min(top(args)?),
        }),
        other => Err(format!("dominant needs a bundle, got {other:?}")),
    }
}

/// Builds a `dominant`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let Some(MediaType::Bundle { capacity }) = ctx.inputs.first().map(|p| p.ty) else {
        return Err(NodeError::new("dominant needs a bundle input"));
    };
    let seats = match ctx.outputs.first().map(|p| p.ty) {
        Some(MediaType::Bundle { capacity }) => capacity as usize,
        _ => return Err(NodeError::new("dominant's output must be a bundle")),
    };
    let tick = ctx.settings.tick_seconds() as f32;
    let rates = Rates::new(tick);
    let hold = ctx.args.need_num("hold")? as f32;
    Ok(Box::new(Dominant {
        tracks: vec![Track::new(&rates); capacity as usize],
        mean_squares: vec![0.0; capacity as usize],
        seats: vec![Seat::Empty; seats],
        present: 0,
        rates,
        hold_ticks: (hold / tick).round() as u64,
        now: 0,
        silero: speech_model::start(ctx, capacity as usize)?,
    }))
}

/// How a stream ranks for a seat. Variants are ordered: any speaker ranks
/// above any stream that is not speaking.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Rank {
    /// Not speaking: ranked by loudness (0..1).
    Level(f32),
    /// Speaking: ranked by speech score.
    Speech(f32),
}

impl Rank {
    /// Whether a candidate of this rank should replace a seated stream of
    /// rank `seated` (both eligible by hold).
    fn beats(self, seated: Rank) -> bool {
        match (self, seated) {
            (Rank::Speech(c), Rank::Speech(s)) => c > REPLACE_RATIO * s + REPLACE_MARGIN,
            (Rank::Speech(_), Rank::Level(_)) => true,
            (Rank::Level(_), Rank::Speech(_)) => false,
            (Rank::Level(c), Rank::Level(s)) => c > LEVEL_GATE && c > s + LEVEL_MARGIN,
        }
    }

    /// Whether a stream of this rank is worth a free seat when not every
    /// stream can have one: speaking, or above the gate.
    fn audible(self) -> bool {
        match self {
            Rank::Speech(_) => true,
            Rank::Level(l) => l > LEVEL_GATE,
        }
    }
}

/// Where a seat (an output slot) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seat {
    /// Free.
    Empty,
    /// Emptied last tick; free from the next (one Absent tick between
    /// participants in a slot).
    Vacated,
    /// Input slot `.0` enters this tick (ramp up).
    Entering(usize),
    /// Input slot `.0` holds the seat.
    In(usize),
    /// Input slot `.0` leaves this tick (ramp down).
    Leaving(usize),
}

/// What the node knows about one input slot.
#[derive(Debug, Clone, Copy)]
struct Track {
    act: Activity,
    present: bool,
    seat: Option<usize>,
    /// Tick of the last move in or out of the set (`None`: never in).
    changed: Option<u64>,
}

impl Track {
    fn new(rates: &Rates) -> Track {
        Track {
            act: Activity::new(rates),
            present: false,
            seat: None,
            changed: None,
        }
    }

    /// How a stream without a seat ranks: speaking now, or by level.
    fn candidate_rank(&self) -> Rank {
        if self.act.medium > SPEECH_SCORE {
            Rank::Speech(self.act.medium)
        } else {
            Rank::Level(self.act.level())
        }
    }

    /// How hard a seated stream is to replace: a speaker keeps ranking as
    /// one through its pauses (a share of its long score).
    fn seated_rank(&self) -> Rank {
        let strength = self.act.medium.max(LONG_WEIGHT * self.act.long);
        if strength > SPEECH_SCORE {
            Rank::Speech(strength)
        } else {
            Rank::Level(self.act.level())
        }
    }
}

/// Whether `t` has stayed in (or out of) the set for at least `hold` ticks.
fn held(t: &Track, now: u64, hold: u64) -> bool {
    t.changed.is_none_or(|c| now - c >= hold)
}

/// Whether `t` may take a seat and beats the best so far.
fn better_candidate(t: &Track, best: Option<(usize, Rank)>, now: u64, hold: u64) -> bool {
    t.present
        && t.seat.is_none()
        && held(t, now, hold)
        && best.is_none_or(|b| t.candidate_rank() > b.1)
}

struct Dominant {
    tracks: Vec<Track>,
    /// This tick's mean square per input slot.
    mean_squares: Vec<f32>,
    seats: Vec<Seat>,
    /// Streams present this tick (not leaving).
    present: usize,
    rates: Rates,
    hold_ticks: u64,
    now: u64,
    /// The speech model's worker, with `vad: silero`.
    silero: Option<VadLink>,
}

impl Dominant {
    fn held(&self, t: &Track) -> bool {
        held(t, self.now, self.hold_ticks)
    }

    /// Updates every track from this tick's input; returns the best
    /// candidate for a seat. Two sweeps: the energies first (the SIMD
    /// kernel over every stream), then the scores over a dense array, where
    /// the out-of-order core overlaps many streams' short dependency chains.
    fn observe(&mut self, slots: &[Stream]) -> Option<usize> {
        for (m, s) in self.mean_squares.iter_mut().zip(slots) {
            *m = match s.state {
                StreamState::Absent | StreamState::Silent => 0.0,
                _ => energy(s.samples()) / s.samples().len().max(1) as f32,
            };
        }
        let mut best: Option<(usize, Rank)> = None;
        let (now, hold) = (self.now, self.hold_ticks);
        self.present = 0;
        let tracks = self.tracks.iter_mut().zip(slots).zip(&self.mean_squares);
        for (i, ((t, s), &ms)) in tracks.enumerate() {
            if s.state == StreamState::Joined {
                *t = Track::new(&self.rates);
            }
            t.present = s.state.present() && s.state != StreamState::Left;
            self.present += usize::from(t.present);
            if !s.state.present() {
                continue;
            }
            let model = self.silero.as_ref().map(|l| l.take(i).0);
            t.act.update(&self.rates, ms, model);
            if better_candidate(t, best, now, hold) {
                best = Some((i, t.candidate_rank()));
            }
        }
        best.map(|b| b.0)
    }

    /// The most active present stream without a seat, eligible by hold.
    fn best_candidate(&self) -> Option<usize> {
        let mut best: Option<(usize, Rank)> = None;
        for (i, t) in self.tracks.iter().enumerate() {
            if better_candidate(t, best, self.now, self.hold_ticks) {
                best = Some((i, t.candidate_rank()));
            }
        }
        best.map(|b| b.0)
    }

    /// The weakest seated stream a candidate of rank `by` may replace:
    /// (seat, input slot). A seated stream must have held its seat for
    /// `hold`, except that a speaker displaces a stream that is not
    /// speaking at once (background fills a seat only until speech needs
    /// it).
    fn weakest_member(&self, by: Rank) -> Option<(usize, usize)> {
        let mut weakest: Option<(usize, usize, Rank)> = None;
        let speaker = matches!(by, Rank::Speech(_));
        for (k, seat) in self.seats.iter().enumerate() {
            if let Seat::In(i) = *seat {
                let t = &self.tracks[i];
                let rank = t.seated_rank();
                let movable = self.held(t) || (speaker && matches!(rank, Rank::Level(_)));
                if movable && weakest.is_none_or(|w| rank < w.2) {
                    weakest = Some((k, i, rank));
                }
            }
        }
        weakest.map(|w| (w.0, w.1))
    }

    /// Whether a stream without a seat that ranks above `rank` is only
    /// waiting out its hold: a weaker candidate should not take a seat it
    /// would soon have to give up (a fan between two turns of a tone).
    fn better_waiting(&self, rank: Rank) -> bool {
        self.tracks
            .iter()
            .any(|t| t.present && t.seat.is_none() && !self.held(t) && t.candidate_rank() > rank)
    }

    /// Whether candidate `c` may take a free seat: any stream may while
    /// there are seats for everyone; otherwise only an audible one.
    fn may_sit(&self, c: usize) -> bool {
        self.present <= self.seats.len() || self.tracks[c].candidate_rank().audible()
    }

    fn unseat(&mut self, k: usize, i: usize) {
        self.seats[k] = Seat::Leaving(i);
        self.tracks[i].seat = None;
        self.tracks[i].changed = Some(self.now);
    }

    /// Moves participants in and out of seats for this tick, given the
    /// best candidate found while observing.
    fn decide(&mut self, mut best: Option<usize>) {
        for k in 0..self.seats.len() {
            self.seats[k] = match self.seats[k] {
                Seat::Vacated => Seat::Empty,
                Seat::Leaving(_) => Seat::Vacated,
                Seat::Entering(i) => Seat::In(i),
                s => s,
            };
            if let Seat::In(i) = self.seats[k] {
                if !self.tracks[i].present || self.tracks[i].seat != Some(k) {
                    self.unseat(k, i);
                }
            }
        }
        while let Some(k) = self.seats.iter().position(|s| *s == Seat::Empty) {
            match best {
                Some(c) if self.may_sit(c) => {
                    self.seats[k] = Seat::Entering(c);
                    self.tracks[c].seat = Some(k);
                    self.tracks[c].changed = Some(self.now);
                    best = self.best_candidate();
                }
                _ => break,
            }
        }
        // One switch at a time: not while a seat is already being freed.
        if self
            .seats
            .iter()
            .any(|s| matches!(s, Seat::Empty | Seat::Vacated | Seat::Leaving(_)))
        {
            return;
        }
        let Some(c) = best else {
            return;
        };
        let rank = self.tracks[c].candidate_rank();
        if let Some((k, i)) = self.weakest_member(rank) {
            if rank.beats(self.tracks[i].seated_rank()) && !self.better_waiting(rank) {
                self.unseat(k, i);
            }
        }
    }
}

/// Writes `src` times a gain ramp from `from` towards `to` over the tick
/// (reaching `to` on the last sample).
fn ramp(dst: &mut [f32], src: &[f32], from: f32, to: f32) {
    let step = (to - from) / dst.len().max(1) as f32;
    for (n, (d, s)) in dst.iter_mut().zip(src).enumerate() {
        *d = s * (from + step * (n + 1) as f32);
    }
}

/// What a reloaded `dominant` inherits: every stream's history and, when
/// the seat count is unchanged, the seats (so a reload does not reshuffle
/// who is heard).
struct Saved {
    tracks: Vec<Track>,
    seats: Vec<Seat>,
}

impl Node for Dominant {
    fn finish(&mut self) -> Result<(), NodeError> {
        self.silero.as_mut().map_or(Ok(()), VadLink::close)
    }

    fn take_state(&mut self) -> Option<Box<dyn Any + Send>> {
        Some(Box::new(Saved {
            tracks: self.tracks.clone(),
            seats: self.seats.clone(),
        }))
    }

    fn restore_state(&mut self, state: Box<dyn Any + Send>) {
        let Ok(saved) = state.downcast::<Saved>() else {
            return;
        };
        if saved.tracks.len() != self.tracks.len() {
            return;
        }
        self.tracks = saved.tracks;
        if saved.seats.len() == self.seats.len() {
            self.seats = saved.seats;
        } else {
            for t in &mut self.tracks {
                if t.seat.take().is_some() {
                    t.changed = None;
                }
            }
        }
    }

    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(input) = io.bundle_in(0) else {
            return Flow::Continue;
        };
        self.now = io.clock().tick;
        if let Some(l) = &mut self.silero {
            l.push_bundle(self.now, input);
            l.settle(self.now);
        }
        let best = self.observe(input.slots());
        self.decide(best);
        let out = io.bundle_out(0);
        for (o, seat) in out.slots_mut().iter_mut().zip(&self.seats) {
            match *seat {
                Seat::Empty | Seat::Vacated => {
                    if o.state.present() {
                        o.samples_mut().fill(0.0);
                    }
                    o.state = StreamState::Absent;
                }
                Seat::Entering(i) | Seat::In(i) | Seat::Leaving(i) => {
                    let s = &input.slots()[i];
                    o.id = s.id;
                    match *seat {
                        Seat::Entering(_) => {
                            o.state = StreamState::Joined;
                            ramp(o.samples_mut(), s.samples(), 0.0, 1.0);
                        }
                        Seat::Leaving(_) => {
                            o.state = StreamState::Left;
                            if s.state.present() {
                                ramp(o.samples_mut(), s.samples(), 1.0, 0.0);
                            } else {
                                o.samples_mut().fill(0.0);
                            }
                        }
                        _ => {
                            o.state = if s.state == StreamState::Silent {
                                StreamState::Silent
                            } else {
                                StreamState::Active
                            };
                            o.samples_mut().copy_from_slice(s.samples());
                        }
                    }
                }
            }
        }
        Flow::Continue
    }
}
