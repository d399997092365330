//! The models Sluice runs in-process.
//!
//! Each model ships inside this crate as an ONNX file under `models/`, with
//! its licence and a NOTICE saying where it came from and how it was
//! converted. A model is checked against its recorded SHA-256 before it is
//! parsed, so a corrupt or swapped file is a clear error at build time of
//! the graph, never a wrong answer at run time. Models run on `tract`
//! (pure Rust, nothing downloaded at build time).
//!
//! Running a model allocates, so no model runs on a real-time thread: the
//! nodes that use one hand frames to a worker over rings.

mod onnx;
mod segment;
mod vad;

pub use onnx::{load_onnx, sha256_hex, Model, ModelError};
pub use segment::{Segmenter, SelfieModel};
pub use vad::{silero_model, SileroVad, SILERO_CONTEXT, SILERO_FRAME, SILERO_RATE};
