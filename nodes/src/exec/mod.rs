//! `exec`: hands a stream's media to any program and takes its answers
//! back, so models written in any language (Python, mostly) run in the
//! graph without a line of Rust.
//!
//! The program is started directly (no shell) with raw PCM or Y4M on its
//! standard input. Each line it writes that is a JSON object becomes an
//! event; with `returns` its standard output carries processed media
//! instead. Its standard error goes to the log, prefixed with the node's
//! name. The real-time side only copies frames into preallocated packets
//! and takes results off rings: the pipes are written and read by threads
//! of each child's own (`child.rs`, `reader.rs`), so a slow, stuck or
//! crashing program never stalls the clock. What that costs is counted
//! (`stats.rs`) and reported at the end of the run.

mod child;
mod link;
mod media;
mod node;
mod reader;
mod stats;

use crate::sig;
use sluice_dsl::{
    Accepts, Arg, Args, MediaType, OutType, ParamType, PixelFormat, Ports, Role, Signature,
    UnitKind,
};
use sluice_runtime::Registry;

pub use node::build;

/// How long returned media may take by default (the output's delay).
pub const DEFAULT_DELAY: f64 = 0.1;
/// Media waiting for a program by default before the oldest is dropped.
pub const DEFAULT_QUEUE: f64 = 0.5;
/// The `call` placeholder `sluice serve` replaces with the call's id.
pub const CALL_PLACEHOLDER: &str = "{call}";

/// Registers `exec`.
pub fn register(r: &mut Registry) {
    r.register(signature(), build);
}

/// The `exec` signature.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "exec",
        "Runs a program (`cmd`, started directly, no shell) and hands it the input on \
         its standard input: raw mono PCM (`format` s16le or f32le at `rate`) for audio, \
         one program per participant for a bundle, Y4M for video. Every line it prints \
         that is a JSON object becomes an event (`t`, `node` and `id` added where \
         absent); with `returns: audio` or `returns: video` it prints processed media \
         instead (same format), which comes out `delay` later; media not back in time \
         is replaced by the input and counted. A program that falls behind loses the \
         oldest media; one that exits is restarted with backoff; at the end its input \
         is closed and it is killed after a grace period. Environment: SLUICE_RATE, \
         SLUICE_CHANNELS, SLUICE_FORMAT, SLUICE_ID (participant), SLUICE_CALL. The \
         command comes only from the graph file.",
        Role::Process,
        ports,
    );
    s.params = vec![
        sig::required(
            "cmd",
            ParamType::List(Box::new(ParamType::Str)),
            "program and arguments, e.g. [\"python3\", \"model.py\"] (`{call}` works under serve)",
        ),
        sig::param(
            "format",
            sig::choice(&["s16le", "f32le"]),
            sig::choice_arg("s16le"),
            "PCM sample format on the pipes (audio)",
        ),
        sig::optional(
            "rate",
            sig::quantity(UnitKind::Frequency, 8_000.0, 192_000.0),
            "sample rate on the pipes (default: the graph's; resampled otherwise)",
        ),
        sig::param(
            "returns",
            sig::choice(&["none", "audio", "video"]),
            sig::choice_arg("none"),
            "none: stdout is JSON-line events; audio or video: processed media on port `out`",
        ),
        sig::param(
            "delay",
            sig::quantity(UnitKind::Time, 0.0, 10.0),
            Arg::Num(DEFAULT_DELAY),
            "with `returns`: how long media may take to come back (the output's delay)",
        ),
        sig::param(
            "queue",
            sig::quantity(UnitKind::Time, 0.01, 60.0),
            Arg::Num(DEFAULT_QUEUE),
            "media waiting for the program beyond this is dropped, oldest first",
        ),
        sig::param(
            "call",
            ParamType::Str,
            Arg::Str(CALL_PLACEHOLDER.into()),
            "the call's id for SLUICE_CALL (under serve it becomes the call's id by itself)",
        ),
    ];
    s
}

/// What the program gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Returns {
    None,
    Audio,
    Video,
}

impl Returns {
    pub(crate) fn of(args: &Args) -> Returns {
        match args.str("returns") {
            Some("audio") => Returns::Audio,
            Some("video") => Returns::Video,
            _ => Returns::None,
        }
    }
}

fn ports(args: &Args) -> Result<Ports, String> {
    let cmd = args.need_list("cmd")?;
    if cmd.is_empty() || cmd[0].as_str().is_none_or(str::is_empty) {
        return Err(
            "`cmd` needs at least the program to run: cmd: [\"python3\", \"model.py\"]".into(),
        );
    }
    let (name, ty) = match Returns::of(args) {
        Returns::None => ("events", OutType::Derived(events_type)),
        Returns::Audio | Returns::Video => ("out", OutType::Derived(media_type)),
    };
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::Any)],
        outputs: vec![sig::output(name, ty)],
        ..Ports::default()
    })
}

/// Checks the input is media a program can read.
fn media_in(inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    match inputs.first().copied().flatten() {
        Some(MediaType::Events) => Err("exec reads audio, a bundle or video, not events".into()),
        Some(MediaType::Video(v)) if v.format != PixelFormat::I420 => Err(format!(
            "exec hands video over as Y4M (i420), got {}: put `convert(format: i420)` before it",
            v.format
        )),
        Some(t) => Ok(t),
        None => Err("exec needs an input".into()),
    }
}

fn events_type(_: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    media_in(inputs).map(|_| MediaType::Events)
}

fn media_type(args: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    let input = media_in(inputs)?;
    match (Returns::of(args), input) {
        (Returns::Audio, MediaType::Audio { .. }) => Ok(MediaType::Audio { channels: 1 }),
        (Returns::Audio, MediaType::Bundle { .. }) => Ok(input),
        (Returns::Video, MediaType::Video(_)) => Ok(input),
        (Returns::Audio, _) => Err("`returns: audio` needs audio or a bundle in".into()),
        _ => Err("`returns: video` needs video in".into()),
    }
}
