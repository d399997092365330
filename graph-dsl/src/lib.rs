//! Sluice's graph language: text → AST (with spans) → checked, typed graph →
//! [`Plan`] (a petgraph schedule the runtime consumes).
//!
//! This crate knows node *signatures* ([`Signature`], via a [`Catalogue`])
//! but no node code.

#![deny(missing_docs)]

pub mod plan;
pub mod signature;
pub mod value;

pub use plan::{Domain, Plan, PlanEdge, PlanNode, PlanPort, Settings, Span};
pub use signature::{
    Accepts, Catalogue, DeriveType, InPort, MediaType, OutPort, OutType, ParamSig, ParamType,
    PixelFormat, Ports, PortsFn, Role, Signature, VideoType,
};
pub use value::{Arg, Args, Unit, UnitKind, Value};
