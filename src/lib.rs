//! Sluice: lock-free real-time media graphs for calls.
//!
//! The facade re-exports the three crates: [`dsl`] (graph language and
//! plan), [`runtime`] (frames, edges, engine) and [`nodes`] (the standard
//! node library).

pub use sluice_dsl as dsl;
pub use sluice_nodes as nodes;
pub use sluice_runtime as runtime;
