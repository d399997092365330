//! Sluice: lock-free real-time media graphs for calls.
//!
//! The facade re-exports the three crates: [`dsl`] (graph language and
//! plan), [`runtime`] (frames, edges, engine) and [`nodes`] (the standard
//! node library).
//!
//! Running a graph from Rust is the path `sluice run` takes: check the
//! text against the node catalogue, build an engine from the plan, run it.
//!
//! ```
//! use sluice::{dsl, nodes, runtime};
//!
//! let registry = nodes::registry();
//! let file = dsl::SourceFile::new(
//!     "doc.sluice",
//!     "graph beep(duration: 100ms) { tone(freq: 1kHz) -> gain(db: -6dB) -> null }",
//! );
//! let checked = dsl::check(&file, &registry);
//! let plan = checked
//!     .plan
//!     .ok_or_else(|| checked.diagnostics.render(&file, false))?;
//! let engine = runtime::Engine::build(&plan, &registry)?;
//! let summary = engine.run()?;
//! // 100 ms of 10 ms ticks, unpaced, nothing dropped.
//! assert_eq!(summary.ticks, 10);
//! assert_eq!(summary.drops, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A graph error comes back as diagnostics that render like rustc's:
//!
//! ```
//! use sluice::{dsl, nodes};
//!
//! let registry = nodes::registry();
//! let file = dsl::SourceFile::new("typo.sluice", "tone -> gian(db: -6dB) -> null");
//! let checked = dsl::check(&file, &registry);
//! assert!(checked.plan.is_none());
//! let text = checked.diagnostics.render(&file, false);
//! assert!(text.contains("typo.sluice:1:9"), "{text}");
//! assert!(text.contains("gain"), "a suggestion: {text}");
//! ```

pub use sluice_dsl as dsl;
pub use sluice_nodes as nodes;
pub use sluice_runtime as runtime;

/// docs/custom-nodes.md, compiled as a doctest so the guide's code cannot
/// drift from the API (tests/custom_node.rs runs the same code).
#[cfg(doctest)]
#[doc = include_str!("../docs/custom-nodes.md")]
pub struct CustomNodesGuide;
