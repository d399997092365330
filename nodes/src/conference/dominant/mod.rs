//! `dominant`: the top speakers of a bundle, as a smaller bundle: what a
//! calling SDK mixes as "mixed incoming audio" (`people -> dominant -> mix`).
//!
//! Each stream is scored on three time scales ([`activity`]). Output slots
//! are seats: a participant keeps its seat while it stays in the set. A
//! free seat goes to the most active stream above a threshold; a seated
//! stream is replaced only when a candidate's medium score clearly beats
//! the seated one's strength (the larger of its medium score and a share of
//! its long score), and only after both have stayed where they are for at
//! least `hold`. Entering and leaving are gain ramps over one tick; a seat
//! stays empty for one tick between participants, so every output slot
//! goes Joined -> Active/Silent -> Left -> Absent like any bundle.

pub mod activity;

#[cfg(test)]
mod tests;

use crate::kernels::level::energy;
use crate::sig;
use activity::{Activity, Rates};
use sluice_dsl::{Accepts, Arg, Args, MediaType, OutType, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, Stream, StreamState};
use std::any::Any;

/// A free seat goes to a stream whose medium score exceeds this.
const JOIN_SCORE: f32 = 0.1;
/// A candidate replaces a seated stream when its medium score exceeds
/// `RATIO * strength + MARGIN`.
const REPLACE_RATIO: f32 = 1.25;
const REPLACE_MARGIN: f32 = 0.05;
/// Share of the long score that counts towards a seated stream's strength.
const LONG_WEIGHT: f32 = 0.35;

/// The `dominant` signature.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "dominant",
        "The `top` most dominant speakers of a bundle, as a bundle of at most `top` \
         streams. Ranked by speech activity (voice activity over the stream's own noise \
         floor, weighted by loudness) on three time scales, so clicks and steady noise \
         do not count; a stream stays in (or out of) the set at least `hold` before it \
         switches; entering and leaving are ramped over one tick (no clicks). Output \
         slots are stable per participant.",
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
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::Bundle)],
        outputs: vec![sig::output("out", OutType::Derived(out_type))],
        ..Ports::default()
    })
}

fn top(args: &Args) -> u32 {
    args.num("top").unwrap_or(4.0).max(1.0) as u32
}

fn out_type(args: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    match inputs.first().copied().flatten() {
        Some(MediaType::Bundle { capacity }) => Ok(MediaType::Bundle {
            capacity: capacity.min(top(args)),
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
    let tick = ctx.settings.frame_samples as f32 / ctx.settings.rate as f32;
    let rates = Rates::new(tick);
    let hold = ctx.args.num("hold").unwrap_or(0.3) as f32;
    Ok(Box::new(Dominant {
        tracks: vec![Track::new(&rates); capacity as usize],
        mean_squares: vec![0.0; capacity as usize],
        seats: vec![Seat::Empty; seats],
        rates,
        hold_ticks: (hold / tick).round() as u64,
        now: 0,
    }))
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

    /// How hard a seated stream is to replace.
    fn strength(&self) -> f32 {
        self.act.medium.max(LONG_WEIGHT * self.act.long)
    }
}

/// Whether `t` has stayed in (or out of) the set for at least `hold` ticks.
fn held(t: &Track, now: u64, hold: u64) -> bool {
    t.changed.is_none_or(|c| now - c >= hold)
}

/// Whether `t` may take a seat and beats the best so far.
fn better_candidate(t: &Track, best: Option<(usize, f32)>, now: u64, hold: u64) -> bool {
    t.present && t.seat.is_none() && held(t, now, hold) && best.is_none_or(|b| t.act.medium > b.1)
}

struct Dominant {
    tracks: Vec<Track>,
    /// This tick's mean square per input slot.
    mean_squares: Vec<f32>,
    seats: Vec<Seat>,
    rates: Rates,
    hold_ticks: u64,
    now: u64,
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
        let mut best: Option<(usize, f32)> = None;
        let (now, hold) = (self.now, self.hold_ticks);
        let tracks = self.tracks.iter_mut().zip(slots).zip(&self.mean_squares);
        for (i, ((t, s), &ms)) in tracks.enumerate() {
            if s.state == StreamState::Joined {
                *t = Track::new(&self.rates);
            }
            t.present = s.state.present() && s.state != StreamState::Left;
            if !s.state.present() {
                continue;
            }
            t.act.update(&self.rates, ms);
            if better_candidate(t, best, now, hold) {
                best = Some((i, t.act.medium));
            }
        }
        best.map(|b| b.0)
    }

    /// The most active present stream without a seat, eligible by hold.
    fn best_candidate(&self) -> Option<usize> {
        let mut best: Option<(usize, f32)> = None;
        for (i, t) in self.tracks.iter().enumerate() {
            if better_candidate(t, best, self.now, self.hold_ticks) {
                best = Some((i, t.act.medium));
            }
        }
        best.map(|b| b.0)
    }

    /// The weakest seated stream eligible by hold: (seat, input slot).
    fn weakest_member(&self) -> Option<(usize, usize)> {
        let mut weakest: Option<(usize, usize, f32)> = None;
        for (k, seat) in self.seats.iter().enumerate() {
            if let Seat::In(i) = *seat {
                let t = &self.tracks[i];
                if self.held(t) && weakest.is_none_or(|w| t.strength() < w.2) {
                    weakest = Some((k, i, t.strength()));
                }
            }
        }
        weakest.map(|w| (w.0, w.1))
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
                Some(c) if self.tracks[c].act.medium > JOIN_SCORE => {
                    self.seats[k] = Seat::Entering(c);
                    self.tracks[c].seat = Some(k);
                    self.tracks[c].changed = Some(self.now);
                    best = self.best_candidate();
                }
                _ => break,
            }
        }
        if let (Some(c), Some((k, i))) = (best, self.weakest_member()) {
            let cand = self.tracks[c].act.medium;
            if cand > JOIN_SCORE
                && cand > REPLACE_RATIO * self.tracks[i].strength() + REPLACE_MARGIN
            {
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
