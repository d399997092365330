//! Sound devices: `mic` and `speaker` on cpal, behind the `live` cargo
//! feature.
//!
//! The device callback and the graph exchange interleaved f32 samples over
//! one wait-free rtrb ring per device; the callback only copies (and
//! converts i16 devices), counting underruns and overruns, and never
//! allocates, locks or does I/O. The cpal stream lives on a small thread
//! of its own (cpal streams are not `Send` on every platform), which parks
//! until the node is dropped.
//!
//! Without the feature both kinds are declared (they check, and have no
//! constructor): a graph that uses one says to rebuild with `--features live`.

#[cfg(feature = "live")]
pub mod device;
pub mod mic;
pub mod speaker;

use sluice_dsl::ParamType;
use sluice_runtime::Registry;

/// Registers `mic` and `speaker`.
#[cfg(feature = "live")]
pub fn register(r: &mut Registry) {
    r.register(mic::signature(), mic::build);
    r.register(speaker::signature(), speaker::build);
}

/// Declares `mic` and `speaker`: they check, and a graph that uses one
/// says how to get a build that can open devices.
#[cfg(not(feature = "live"))]
pub fn register(r: &mut Registry) {
    r.declare_unavailable(mic::signature(), not_built());
    r.declare_unavailable(speaker::signature(), not_built());
}

/// The `device` parameter shared by both kinds.
fn device_param() -> sluice_dsl::ParamSig {
    crate::sig::param(
        "device",
        ParamType::Str,
        sluice_dsl::Arg::Str("default".into()),
        "`default`, `null` (ALSA's null device, a smoke test), or an id or name from `sluice devices`",
    )
}

/// For both kinds' ports: a build without the `live` feature cannot run
/// them. A warning, not an error: the graph is right, this binary lacks
/// support (as a missing input file is a warning).
fn device_support(_: &sluice_dsl::RuleInput) -> Vec<sluice_dsl::Finding> {
    if cfg!(feature = "live") {
        return Vec::new();
    }
    vec![sluice_dsl::Finding::warning(
        None,
        "this sluice was built without sound device support: `sluice run` will refuse this node",
        "needs a sound device",
    )
    .with_help(REBUILD)]
}

/// How to get sound device support.
const REBUILD: &str = "rebuild with `cargo build --release --features live` (on Linux this \
                       needs libasound2-dev and pkg-config)";

/// Why `mic` and `speaker` cannot run in a build without the `live` feature.
#[cfg(not(feature = "live"))]
fn not_built() -> String {
    format!("it needs sound device support, which this sluice was built without: {REBUILD}")
}

/// Turns a device error into a node error.
#[cfg(feature = "live")]
fn device_error(e: String) -> sluice_runtime::NodeError {
    sluice_runtime::NodeError::new(e)
}

#[cfg(test)]
mod tests;
