//! Node signatures: what the checker knows about a node kind (ports, types,
//! parameters), with no node code. `sluice-nodes` provides the catalogue.

use crate::constraint::Constraint;
use crate::media::{MediaType, PixelFormat};
use crate::value::{Arg, Args, UnitKind};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an input port accepts. When an edge's type differs only by pixel
/// format or by mono/stereo, the checker inserts a conversion node instead
/// of reporting an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepts {
    /// Audio; `Some(n)` requires exactly `n` channels (1 and 2 convert).
    Audio {
        /// Required channel count, or any.
        channels: Option<u16>,
    },
    /// A bundle of participant streams.
    Bundle,
    /// Audio of any channel count, or a bundle.
    AudioOrBundle,
    /// Video in one of these formats (empty: any); the first is the one a
    /// conversion produces.
    Video {
        /// Accepted pixel formats.
        formats: Vec<PixelFormat>,
    },
    /// Event records.
    Events,
    /// Anything (the `null` sink).
    Any,
}

impl fmt::Display for Accepts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Accepts::Audio { channels: None } => write!(f, "audio"),
            Accepts::Audio { channels: Some(1) } => write!(f, "audio(mono)"),
            Accepts::Audio { channels: Some(2) } => write!(f, "audio(stereo)"),
            Accepts::Audio { channels: Some(n) } => write!(f, "audio({n}ch)"),
            Accepts::Bundle => write!(f, "bundle"),
            Accepts::AudioOrBundle => write!(f, "audio or bundle"),
            Accepts::Video { formats } if formats.is_empty() => write!(f, "video"),
            Accepts::Video { formats } => {
                let names: Vec<_> = formats.iter().map(|p| p.name()).collect();
                write!(f, "video({})", names.join(" or "))
            }
            Accepts::Events => write!(f, "events"),
            Accepts::Any => write!(f, "any"),
        }
    }
}

/// An input port of a node kind.
#[derive(Debug, Clone)]
pub struct InPort {
    /// Name used in `node.port`.
    pub name: String,
    /// What may be connected.
    pub accepts: Accepts,
    /// Whether leaving it unconnected is an error.
    pub required: bool,
    /// A variadic port takes any number of connections (`mix`'s `audio*`):
    /// each connection becomes one input slot `name0`, `name1`, ...
    pub variadic: bool,
}

/// Computes an output's concrete type from the node's checked arguments and
/// the concrete types of its connected inputs (in input-slot order; `None`
/// for an unconnected optional input).
pub type DeriveType = fn(&Args, &[Option<MediaType>]) -> Result<MediaType, String>;

/// How an output port's type is known.
#[derive(Debug, Clone, Copy)]
pub enum OutType {
    /// Fixed by the arguments alone (sources).
    Fixed(MediaType),
    /// The same type as the given input slot (after any conversion).
    SameAs(usize),
    /// Computed from the arguments and the input types.
    Derived(DeriveType),
}

/// An output port of a node kind.
#[derive(Debug, Clone)]
pub struct OutPort {
    /// Name used in `node.port`; the first output is the default.
    pub name: String,
    /// Other names that refer to this port (`unmix`'s outputs are also
    /// named by participant id where the id is an identifier).
    pub aliases: Vec<String>,
    /// How its type is known.
    pub ty: OutType,
}

/// The ports of one node instance, computed from its arguments (so
/// `unmix(ids: [a, b])` has outputs `out0`, `out1`, and `wav_in` probes its
/// file for the channel count).
#[derive(Debug, Clone, Default)]
pub struct Ports {
    /// Input ports in slot order.
    pub inputs: Vec<InPort>,
    /// Output ports; the first is the default output.
    pub outputs: Vec<OutPort>,
    /// Warnings found while computing the ports (a missing input file),
    /// reported at the instance's span.
    pub warnings: Vec<String>,
    /// What the instance must meet beyond its own arguments (against the
    /// graph rate, its input types, ...), checked once edges are typed.
    pub constraints: Vec<Constraint>,
}

/// Computes an instance's ports from its checked arguments; an `Err` is
/// reported as an error at the instance (for example mutually exclusive
/// parameters, or an unreadable file header).
pub type PortsFn = fn(&Args) -> Result<Ports, String>;

/// The type of a parameter's value, with its allowed range.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamType {
    /// A number of some kind of quantity, normalised to its base unit,
    /// within `min..=max` (in base units).
    Quantity {
        /// Kind of quantity (decides accepted units).
        kind: UnitKind,
        /// Smallest allowed value, in base units.
        min: f64,
        /// Largest allowed value, in base units.
        max: f64,
    },
    /// A whole number within `min..=max`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A size `WxH`, each side within `1..=max`.
    Size {
        /// Largest side.
        max: u32,
    },
    /// A string.
    Str,
    /// A file path (a string; input paths are probed at check time).
    Path,
    /// `true` or `false`.
    Bool,
    /// One of these identifiers.
    Enum(Vec<&'static str>),
    /// A list whose items have this type.
    List(Box<ParamType>),
    /// A list of exactly these items, in order (`[45deg, 20deg, 2m]`).
    Tuple(Vec<ParamType>),
    /// Any one of these types, tried in order (`45deg` or `[45deg, 20deg]`).
    OneOf(Vec<ParamType>),
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamType::Quantity { kind, .. } => write!(f, "{}", kind.base_name()),
            ParamType::Int { .. } => write!(f, "integer"),
            ParamType::Size { .. } => write!(f, "size"),
            ParamType::Str => write!(f, "string"),
            ParamType::Path => write!(f, "path"),
            ParamType::Bool => write!(f, "bool"),
            ParamType::Enum(c) => write!(f, "{}", c.join(" | ")),
            ParamType::List(t) => write!(f, "[{t}]"),
            ParamType::Tuple(items) => {
                let items: Vec<String> = items.iter().map(|t| t.to_string()).collect();
                write!(f, "[{}]", items.join(", "))
            }
            ParamType::OneOf(alts) => {
                let alts: Vec<String> = alts.iter().map(|t| t.to_string()).collect();
                write!(f, "{}", alts.join(" | "))
            }
        }
    }
}

/// A parameter of a node kind.
#[derive(Debug, Clone)]
pub struct ParamSig {
    /// Name as written in `kind(name: value)`.
    pub name: String,
    /// One line for `sluice nodes`.
    pub doc: String,
    /// Type and range.
    pub ty: ParamType,
    /// Value used when the parameter is not given (normalised).
    pub default: Option<Arg>,
    /// Whether the parameter must be given.
    pub required: bool,
    /// Whether it can change while running (through the control ring).
    pub live: bool,
}

/// The clock domain a node kind runs in, as far as the kind decides it;
/// processing nodes take the domain of their inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Produces audio or bundles; ticks every graph frame.
    AudioSource,
    /// Produces video; ticks at its fps.
    VideoSource,
    /// Produces what its arguments say (a host endpoint declares audio
    /// or video); ticks in that type's domain: video at its fps,
    /// anything else every graph frame.
    Source,
    /// Transforms its inputs; runs in their domain.
    Process,
    /// Consumes its inputs and has no outputs.
    Sink,
}

/// Everything the checker knows about a node kind.
#[derive(Debug, Clone)]
pub struct Signature {
    /// Kind name as written in graph text.
    pub kind: String,
    /// A paragraph for `sluice nodes` and docs/nodes.md.
    pub doc: String,
    /// Parameters.
    pub params: Vec<ParamSig>,
    /// Port computation from checked arguments.
    pub ports: PortsFn,
    /// Source, processing node or sink.
    pub role: Role,
    /// Whether it does file or socket I/O (real-time executors run such
    /// nodes on a separate non-real-time thread joined by rings).
    pub io: bool,
    /// Whether a source of this kind never ends on its own with these
    /// arguments (`sluice run` then needs a duration or `realtime: true`).
    pub endless: fn(&Args) -> bool,
}

impl Signature {
    /// The parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&ParamSig> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Every parameter's default value, by name: the one home of the
    /// defaults. The checker starts each instance's arguments from these
    /// (so nodes read every defaulted argument with `Args::need_*`), and
    /// code that builds a node by hand must start from them too.
    pub fn default_args(&self) -> Args {
        let mut args = Args::default();
        for p in &self.params {
            if let Some(d) = &p.default {
                args.set(&p.name, d.clone());
            }
        }
        args
    }
}

/// A set of node signatures the checker resolves kinds against.
pub trait Catalogue {
    /// The signature of `kind`, if known.
    fn signature(&self, kind: &str) -> Option<&Signature>;
    /// Every known kind name, sorted (for "did you mean" and `sluice nodes`).
    fn kinds(&self) -> Vec<&str>;
}
