//! `spatialize`: places each participant of a bundle around the listener
//! and renders binaural stereo for headphones (or equal-power stereo with
//! `hrtf: "none"`).

use super::convolver::{Convolver, FilterBank, Ramp, SourceConv};
use super::hrir::{Grid, HrirSet};
use super::position::{self, Position};
use super::seats::Seats;
use crate::kernels::limiter::soft_limit;
use crate::sig::{self, input, live, optional, output, param, quantity};
use sluice_dsl::{
    Accepts, Arg, Args, Constraint, Finding, MediaType, ParamType, Ports, Role, RuleInput,
    Signature, UnitKind,
};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, Stream, StreamId, StreamState};

/// Position overrides kept for participants not (yet) present, beyond the
/// bundle's capacity: `position.ID` may name anyone who might join.
const MIN_OVERRIDES: usize = 64;

/// Whether the output is soft-limited below full scale unless told
/// otherwise: several voices, each up to +6 dB louder at the ear facing
/// it, add up past full scale in an ordinary call (as `mix` does by
/// default, for the same reason).
pub const DEFAULT_LIMIT: bool = true;

/// Most samples per tick the renderer's blocks are sized for.
const MAX_BLOCK: usize = 1 << 16;

/// The kind's signature.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "spatialize",
        "Places each participant of a bundle around the listener and renders \
         binaural stereo for headphones. Participants take `slots` seats evenly \
         spaced over `spread` (a lone participant sits straight ahead) and keep \
         them while others come and go, or take `positions` in join order. \
         `hrtf` is \"builtin\" (a spherical-head model with shoulder and pinna \
         echoes), \"none\" (equal-power panning) or the path of a measured .sofa \
         set. A position is an azimuth (`45deg`: 0deg ahead, positive to the \
         right) or `[azimuth, elevation, distance]` (`[45deg, 20deg, 2m]`: \
         elevation positive up, default 0deg; distance default 1m, the level \
         falls 6 dB per doubling, no delay). Live: `position.ID` moves \
         participant ID (valid before it joins); moves are crossfaded within \
         one tick. `limit` bends peaks above -3 dBFS smoothly so the sum of \
         voices never reaches full scale (as `mix` does).",
        Role::Process,
        ports,
    );
    s.params = vec![
        param(
            "spread",
            quantity(UnitKind::Angle, 0.0, 360.0),
            Arg::Num(120.0),
            "arc the seats span, centred straight ahead",
        ),
        param(
            "slots",
            sig::int(1, 256),
            Arg::Num(8.0),
            "number of evenly spaced seats",
        ),
        optional(
            "positions",
            ParamType::List(Box::new(position::param_type())),
            "positions (azimuth or [azimuth, elevation, distance]) given to participants in join order, instead of seats",
        ),
        param(
            "hrtf",
            ParamType::Str,
            Arg::Str("builtin".to_string()),
            "\"builtin\", \"none\" or a .sofa file",
        ),
        param(
            "limit",
            ParamType::Bool,
            Arg::Bool(DEFAULT_LIMIT),
            "soft-limit the output below full scale",
        ),
        live(optional(
            "position",
            position::param_type(),
            "live only, as `position.ID`: where participant ID is heard (azimuth or [azimuth, elevation, distance])",
        )),
    ];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", Accepts::Bundle)],
        outputs: vec![output("out", sig::audio(2))],
        constraints: vec![Constraint::Rule(renderable)],
        ..Ports::default()
    })
}

/// What `build` refuses: a tick longer than the renderer's block, and an
/// HRTF file it cannot load (loaded exactly as `build` loads it; a file
/// that is not there yet is a warning, like any missing input).
fn renderable(r: &RuleInput) -> Vec<Finding> {
    let mut found = Vec::new();
    let block = r.settings.frame_samples as usize;
    if block > MAX_BLOCK {
        found.push(
            Finding::error(
                None,
                format!("spatialize renders at most {MAX_BLOCK} samples per tick; this graph's frame is {block} samples"),
                "in this graph",
            )
            .with_help("shorten `frame` in the graph header"),
        );
    }
    let hrtf = match r.args.need_str("hrtf") {
        Ok(h) => h,
        Err(e) => return crate::sig::arg_error(e),
    };
    if matches!(hrtf, "builtin" | "none") {
        return found;
    }
    if !std::path::Path::new(hrtf).exists() {
        let help = sluice_dsl::did_you_mean(hrtf, ["builtin", "none"]).map_or_else(
            || "give the path of a .sofa file, or \"builtin\" or \"none\"".to_string(),
            |s| format!("did you mean \"{s}\"?"),
        );
        found.push(
            Finding::warning(
                Some("hrtf"),
                format!("HRTF file `{hrtf}` does not exist (yet)"),
                "no such file",
            )
            .with_help(help),
        );
    } else if let Err(e) = HrirSet::from_sofa(hrtf, r.settings.rate) {
        found.push(Finding::error(
            Some("hrtf"),
            e.to_string(),
            "cannot be loaded",
        ));
    }
    found
}

/// Builds the node: loads or computes the HRIRs and preallocates every
/// source's state for the bundle's capacity.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let capacity = match ctx.inputs.first().map(|p| p.ty) {
        Some(MediaType::Bundle { capacity }) => capacity as usize,
        other => {
            return Err(NodeError::new(format!(
                "spatialize takes a bundle, got {other:?}"
            )))
        }
    };
    let hrtf = ctx.args.need_str("hrtf")?;
    let positions = match ctx.args.list("positions") {
        Some(l) => Some(
            l.iter()
                .map(Position::from_arg)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| NodeError::new(format!("spatialize `positions`: {e}")))?,
        ),
        None => None,
    };
    let config = Config {
        spread: ctx.args.need_num("spread")?,
        slots: ctx.args.need_num("slots")? as usize,
        positions,
        hrtf: match hrtf {
            "builtin" => Hrtf::Builtin,
            "none" => Hrtf::Pan,
            path => Hrtf::Sofa(path.to_string()),
        },
        limit: ctx.args.need_bool("limit")?,
    };
    let s = ctx.settings;
    Ok(Box::new(Spatialize::new(
        &config,
        capacity,
        s.rate,
        s.frame_samples as usize,
    )?))
}

/// Where the HRIRs come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Hrtf {
    /// Brown and Duda's spherical-head model.
    Builtin,
    /// Equal-power panning, no HRIRs.
    Pan,
    /// A measured SOFA set at this path.
    Sofa(String),
}

/// The node's settings, as a test or an embedding program gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Arc the seats span (degrees).
    pub spread: f64,
    /// Seat count.
    pub slots: usize,
    /// Positions in join order, instead of seats.
    pub positions: Option<Vec<Position>>,
    /// HRIR source.
    pub hrtf: Hrtf,
    /// Whether the output is soft-limited below full scale.
    pub limit: bool,
}

/// Per-slot state: who sits there and how it is rendered.
struct Slot {
    id: StreamId,
    occupied: bool,
    seat: usize,
    /// Position rendered in the last tick (`None`: a newcomer, or never
    /// rendered).
    pos: Option<Position>,
    /// Equal-power gains rendered in the last tick (panning mode).
    gains: (f32, f32),
    /// Position set with `position.ID` for this participant, if any
    /// (copied from the override table on join and on every set).
    pinned: Option<Position>,
    conv: Option<SourceConv>,
}

/// How sources are rendered.
enum Renderer {
    Convolve {
        bank: Box<FilterBank>,
        conv: Box<Convolver>,
        grid: Box<Grid>,
        near_field: bool,
    },
    Pan,
}

/// The `spatialize` node.
pub struct Spatialize {
    seats: Seats,
    lone_ahead: bool,
    slots: Vec<Slot>,
    overrides: Vec<(StreamId, Position)>,
    targets: Vec<Option<Position>>,
    renderer: Renderer,
    block: usize,
    limit: bool,
}

/// Its size and settings, not the renderer's state.
impl std::fmt::Debug for Spatialize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spatialize")
            .field("slots", &self.slots.len())
            .field("block", &self.block)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Spatialize {
    /// A node for bundles of `capacity` streams at `rate` Hz, `block`
    /// samples per tick (allocates everything it will ever use).
    pub fn new(
        config: &Config,
        capacity: usize,
        rate: u32,
        block: usize,
    ) -> Result<Spatialize, NodeError> {
        if block == 0 || block > MAX_BLOCK {
            return Err(NodeError::new(format!(
                "spatialize: {block} samples per tick is outside 1..={MAX_BLOCK}"
            )));
        }
        let set = match &config.hrtf {
            Hrtf::Builtin => Some(HrirSet::builtin(rate)),
            Hrtf::Sofa(path) => Some(HrirSet::from_sofa(path, rate)?),
            Hrtf::Pan => None,
        };
        Ok(Spatialize::with_hrirs(
            config,
            set.as_ref(),
            capacity,
            block,
        ))
    }

    /// A node rendering with HRIRs already at the graph rate (`None`:
    /// equal-power panning; `config.hrtf` is ignored), so a program that
    /// runs many rooms computes or loads a set once.
    pub fn with_hrirs(
        config: &Config,
        set: Option<&HrirSet>,
        capacity: usize,
        block: usize,
    ) -> Spatialize {
        let block = block.max(1);
        let (seats, lone_ahead) = match &config.positions {
            Some(p) if !p.is_empty() => (Seats::listed(p), false),
            _ => (Seats::spread(config.slots.max(1), config.spread), true),
        };
        let renderer = match set {
            Some(set) => {
                let bank = FilterBank::new(set, block);
                let conv = Convolver::new(&bank, block);
                Renderer::Convolve {
                    bank: Box::new(bank),
                    conv: Box::new(conv),
                    grid: Box::new(set.grid().clone()),
                    near_field: set.near_field(),
                }
            }
            None => Renderer::Pan,
        };
        let slots = (0..capacity)
            .map(|_| Slot {
                id: StreamId::default(),
                occupied: false,
                seat: 0,
                pos: None,
                gains: pan_gains(&Position::AHEAD),
                pinned: None,
                conv: match &renderer {
                    Renderer::Convolve { bank, .. } => Some(SourceConv::new(bank, block)),
                    Renderer::Pan => None,
                },
            })
            .collect();
        Spatialize {
            seats,
            lone_ahead,
            slots,
            overrides: Vec::with_capacity(capacity.max(MIN_OVERRIDES)),
            targets: vec![None; capacity],
            renderer,
            block,
            limit: config.limit,
        }
    }

    /// Where participant `id` is heard, if present.
    pub fn position_of(&self, id: &str) -> Option<Position> {
        let id = StreamId::new(id);
        let present = self.slots.iter().filter(|s| s.occupied).count();
        self.slots
            .iter()
            .find(|s| s.occupied && s.id == id)
            .map(|s| self.target(s, present))
    }

    /// The azimuth (degrees) participant `id` is heard at, if present.
    pub fn azimuth_of(&self, id: &str) -> Option<f32> {
        self.position_of(id).map(|p| p.azimuth)
    }

    /// Where a slot's participant should be heard this tick.
    fn target(&self, slot: &Slot, present: usize) -> Position {
        if let Some(p) = slot.pinned {
            p
        } else if self.lone_ahead && present == 1 {
            Position::AHEAD
        } else {
            self.seats.position(slot.seat)
        }
    }

    /// Seats newcomers and frees the seats of those gone.
    fn update_membership(&mut self, streams: &[Stream]) {
        for (slot, s) in self.slots.iter_mut().zip(streams) {
            let present = s.state.present();
            if slot.occupied && (!present || s.id != slot.id) {
                self.seats.release(slot.seat);
                slot.occupied = false;
            }
            if present && !slot.occupied {
                slot.id = s.id;
                slot.occupied = true;
                slot.seat = self.seats.take();
                slot.pinned = self
                    .overrides
                    .iter()
                    .find(|(id, _)| *id == s.id)
                    .map(|&(_, p)| p);
                if let Some(c) = slot.conv.as_mut() {
                    c.reset();
                }
                slot.pos = None;
            }
        }
    }

    /// Renders every present (or still ringing) participant into `left`
    /// and `right`.
    fn render(&mut self, streams: &[Stream], left: &mut [f32], right: &mut [f32]) {
        let present = self.slots.iter().filter(|s| s.occupied).count();
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            self.targets[i] = if slot.occupied {
                Some(self.target(slot, present))
            } else {
                slot.pos
            };
        }
        let targets = &self.targets;
        let live = self.slots.iter_mut().zip(streams).zip(targets);
        match &mut self.renderer {
            Renderer::Convolve {
                bank,
                conv,
                grid,
                near_field,
            } => {
                conv.begin();
                for ((slot, s), &to) in live {
                    let (Some(c), Some(to)) = (slot.conv.as_mut(), to) else {
                        continue;
                    };
                    if !slot.occupied && !c.ringing(bank) {
                        continue;
                    }
                    if slot.pos != Some(to) {
                        let weights = grid.weights(f64::from(to.azimuth), f64::from(to.elevation));
                        let gains = to.distance_gains(*near_field);
                        c.aim(bank, &weights, gains, slot.pos.is_some());
                        slot.pos = Some(to);
                    }
                    let input = s.state.present().then(|| s.samples());
                    conv.add(bank, c, input, ramp_for(s.state));
                }
                conv.finish(left, right);
            }
            Renderer::Pan => {
                left.fill(0.0);
                right.fill(0.0);
                for ((slot, s), &to) in live {
                    let (true, Some(to)) = (slot.occupied, to) else {
                        continue;
                    };
                    let new = pan_gains(&to);
                    let old = if slot.pos.is_none() { new } else { slot.gains };
                    pan_into(s.samples(), ramp_for(s.state), old, new, left, right);
                    slot.pos = Some(to);
                    slot.gains = new;
                }
            }
        }
    }
}

/// Adds `x` panned into `left`/`right`, the gains moving linearly from
/// `old` to `new` over the block and scaled by `ramp`.
fn pan_into(
    x: &[f32],
    ramp: Ramp,
    old: (f32, f32),
    new: (f32, f32),
    left: &mut [f32],
    right: &mut [f32],
) {
    let n = x.len().max(1) as f32;
    let fade = (ramp.to - ramp.from) / (n - 1.0).max(1.0);
    for (i, ((&v, l), r)) in x
        .iter()
        .zip(left.iter_mut())
        .zip(right.iter_mut())
        .enumerate()
    {
        let t = (i + 1) as f32 / n;
        let v = v * (ramp.from + fade * i as f32);
        *l += v * (old.0 + (new.0 - old.0) * t);
        *r += v * (old.1 + (new.1 - old.1) * t);
    }
}

/// Equal-power gains for a position, times its distance gain: the pan
/// position follows the lateral component of the direction (the sine of
/// the azimuth on the horizontal plane), so sources behind fold to the
/// front half and sources overhead sit in the middle.
fn pan_gains(p: &Position) -> (f32, f32) {
    let pan = (p.direction()[1] + 1.0) * std::f64::consts::FRAC_PI_4;
    let [g, _] = p.distance_gains(false);
    (pan.cos() as f32 * g, pan.sin() as f32 * g)
}

/// The input ramp for a slot in a given state: fade in on join, out on leave.
fn ramp_for(state: StreamState) -> Ramp {
    match state {
        StreamState::Joined => Ramp { from: 0.0, to: 1.0 },
        StreamState::Left => Ramp { from: 1.0, to: 0.0 },
        _ => Ramp::FLAT,
    }
}

impl Node for Spatialize {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(bundle) = io.bundle_in(0) else {
            io.audio_out(0).silence();
            return Flow::Continue;
        };
        let out = io.audio_out(0);
        if bundle.len() != self.block || out.len() != self.block {
            // Frames are sized from the plan; a mismatch is an engine bug,
            // answered with silence rather than a panic on the audio thread.
            out.silence();
            return Flow::Continue;
        }
        self.update_membership(bundle.slots());
        let mut ch = out.channels_mut();
        let (Some(left), Some(right)) = (ch.next(), ch.next()) else {
            return Flow::Continue;
        };
        self.render(bundle.slots(), left, right);
        if self.limit {
            soft_limit(left);
            soft_limit(right);
        }
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        let Some(id) = key.strip_prefix("position.") else {
            return Err(NodeError::new(format!(
                "`{key}` cannot change while running (only `position.ID`)"
            )));
        };
        let pos = Position::from_arg(value).map_err(|e| NodeError::new(format!("`{key}`: {e}")))?;
        let id = StreamId::new(id);
        if let Some(entry) = self.overrides.iter_mut().find(|(i, _)| *i == id) {
            entry.1 = pos;
        } else if self.overrides.len() < self.overrides.capacity() {
            self.overrides.push((id, pos));
        } else {
            return Err(NodeError::new(format!(
                "too many participants with positions set (at most {})",
                self.overrides.capacity()
            )));
        }
        for slot in self.slots.iter_mut().filter(|s| s.occupied && s.id == id) {
            slot.pinned = Some(pos);
        }
        Ok(())
    }
}
