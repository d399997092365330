//! Sluice's C ABI: an app written in C, C++, Swift, Kotlin or C# opens a
//! graph, pushes the frames its calling SDK hands it into the graph's
//! `app_in` endpoints and pops the processed frames from its `app_out`
//! endpoints.
//!
//! The header is `include/sluice.h`, generated from this crate by
//! cbindgen (with `capi/cbindgen.toml`) and committed. The test
//! `capi/tests/header.rs` regenerates it and fails if the committed one
//! differs; `SLUICE_BLESS=1 cargo test --workspace --test header` writes
//! the new one.
//!
//! Build the library with `cargo build --release -p sluice-capi`:
//! `target/release/libsluice_capi.so` (shared) and `libsluice_capi.a`
//! (static). docs/embedding.md shows the use.
//!
//! How it runs: [`sluice_start`] hands the engine to a thread of its own
//! that parks until a push arrives; a push copies the host's frame into a
//! pooled frame, queues it and unparks that thread, which runs one tick
//! of the input's clock domain per queued push. The caller's thread (the
//! SDK's callback) never runs the graph and never waits for it. Pushes,
//! pops and releases allocate nothing.
//!
//! Every function checks its pointers, catches any panic (returned as
//! [`SLUICE_ERR_PANIC`]) and may be called from any thread; a handle in
//! use on another thread at the same moment gives [`SLUICE_ERR_BUSY`]
//! instead of waiting.

mod endpoint;
mod engine_thread;
mod error;
mod exclusive;
mod graph;
mod set;
mod stats;

pub use endpoint::{
    sluice_frame_release, sluice_input, sluice_output, sluice_pop_audio, sluice_pop_audio_i16,
    sluice_pop_video, sluice_push_audio, sluice_push_audio_i16, sluice_push_video, SluiceAudioInfo,
    SluiceInput, SluiceOutput, SluiceVideoFrame,
};
pub use error::{sluice_error_message, sluice_last_error};
pub use graph::{sluice_close, sluice_graph_open, sluice_start, sluice_stop, SluiceGraph};
pub use set::sluice_set;
pub use stats::sluice_stats;

/// What a call returned: [`SLUICE_OK`], another outcome that is not an
/// error (zero or more), or an error (below zero) whose message
/// [`sluice_error_message`] gives.
pub type SluiceStatus = i32;

/// Done.
pub const SLUICE_OK: SluiceStatus = 0;
/// A pop found no frame waiting yet: try again later.
pub const SLUICE_NONE: SluiceStatus = 1;
/// A push found the input's queue full (the graph is behind): the frame
/// was dropped and counted, never waited for.
pub const SLUICE_DROPPED: SluiceStatus = 2;
/// A pop found the graph stopped and every frame popped: no more will come.
pub const SLUICE_ENDED: SluiceStatus = 3;
/// A pointer argument was NULL.
pub const SLUICE_ERR_NULL: SluiceStatus = -1;
/// An argument is not valid (text not UTF-8, an unknown format code, a
/// frame released twice or to another output).
pub const SLUICE_ERR_ARG: SluiceStatus = -2;
/// The graph text does not check or build; the message is the
/// diagnostic, with the line and a caret.
pub const SLUICE_ERR_GRAPH: SluiceStatus = -3;
/// No endpoint has that name, or it carries other media than the call.
pub const SLUICE_ERR_ENDPOINT: SluiceStatus = -4;
/// A frame's size, format, plane layout or sample count does not match
/// the endpoint.
pub const SLUICE_ERR_SIZE: SluiceStatus = -5;
/// The call does not fit the graph's state (a push before
/// [`sluice_start`] or after [`sluice_stop`], an endpoint asked for
/// after start).
pub const SLUICE_ERR_STATE: SluiceStatus = -6;
/// The handle is in use by another thread at this moment; nothing was
/// done. Use each input or output from one thread at a time.
pub const SLUICE_ERR_BUSY: SluiceStatus = -7;
/// A parameter change was refused (no such node or parameter, not live,
/// a bad value).
pub const SLUICE_ERR_PARAM: SluiceStatus = -8;
/// The run ended with errors (a node failed); [`sluice_stop`] says which.
pub const SLUICE_ERR_RUN: SluiceStatus = -9;
/// A bug in Sluice panicked inside the call; it was caught at the
/// boundary. The graph may be unusable: stop and close it.
pub const SLUICE_ERR_PANIC: SluiceStatus = -10;

/// Pixel format code of `sluice_push_video`: planar Y, U, V (U and V at
/// half width and height), 3 planes.
pub const SLUICE_FORMAT_I420: u32 = 0;
/// Pixel format code: planar Y, then interleaved U/V at half width and
/// height, 2 planes.
pub const SLUICE_FORMAT_NV12: u32 = 1;
/// Pixel format code: packed R, G, B, A bytes, 1 plane.
pub const SLUICE_FORMAT_RGBA: u32 = 2;

/// The handles cross threads as raw pointers, where the compiler checks
/// nothing: this fails to build if one could not be shared.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<SluiceGraph>();
    shareable::<SluiceInput>();
    shareable::<SluiceOutput>();
};
