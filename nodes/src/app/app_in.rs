//! `app_in(name, type, ...)`: frames the host program pushes through
//! `Engine::input(name)`, one per tick of the endpoint's domain.

use super::UNIQUE_NAME;
use crate::sig;
use crate::video::{fps_fraction, MAX_SIDE};
use sluice_dsl::{
    Arg, Args, Constraint, Finding, MediaType, OutType, ParamType, PixelFormat, Ports, Role,
    RuleInput, Signature, UnitKind, VideoType,
};
use sluice_runtime::transport::host::{input_endpoint, HostEnd, InputFeed};
use sluice_runtime::{BuildContext, Flow, Frame, Nanos, Node, NodeError, PortIo};

/// The checker's view of `app_in`.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "app_in",
        "Frames the program that embeds the graph pushes, wait-free, through \
         `engine.input(name)` (or `sluice_push_video`/`sluice_push_audio` in C): \
         `type: video` with `size`, `format` and `fps`, or `type: audio` with \
         `rate` (the graph's) and `channels`. With `pacing: host` (the default) \
         the host's pushes drive the clock (it steps the graph after each) and \
         each tick takes the oldest frame pushed. With `pacing: graph` a real-time \
         graph runs on its own clock: video takes the newest frame (older ones \
         are passed over and counted) and repeats it until a newer one comes; \
         audio takes the oldest, passing over the oldest while the host runs more \
         than two frames ahead. A tick with nothing gives black or silence \
         (counted), a push with the queue full is dropped (counted). Endless: the \
         host stops the graph. Endpoint names are unique in a graph.",
        Role::Source,
        ports,
    );
    s.params = params();
    s.endless = sig::always;
    s
}

fn params() -> Vec<sluice_dsl::ParamSig> {
    let size = ParamType::Size { max: MAX_SIDE };
    let fps = sig::quantity(UnitKind::Fps, 0.1, 1000.0);
    let rate = sig::quantity(UnitKind::Frequency, 8000.0, 384_000.0);
    vec![
        sig::required("name", ParamType::Str, "the name the host pushes to"),
        sig::required(
            "type",
            sig::choice(&["video", "audio"]),
            "what the host pushes",
        ),
        sig::param("size", size, Arg::Size(1280, 720), "video: frame size"),
        sig::param(
            "format",
            sig::choice(&["i420", "nv12", "rgba"]),
            sig::choice_arg("i420"),
            "video: pixel format",
        ),
        sig::param("fps", fps, Arg::Num(30.0), "video: frame rate"),
        sig::param(
            "rate",
            rate,
            Arg::Num(48_000.0),
            "audio: sample rate (the graph's)",
        ),
        sig::param("channels", sig::int(1, 8), Arg::Num(1.0), "audio: channels"),
        sig::param(
            "pacing",
            sig::choice(PACINGS),
            sig::choice_arg(PACINGS[0]),
            "whose clock runs the graph: the host's pushes, or the graph's own \
             (`realtime: true`)",
        ),
    ]
}

/// Whose clock runs the graph; the first is the default.
const PACINGS: &[&str] = &["host", "graph"];

/// What the endpoint carries, from its arguments.
fn media(args: &Args) -> Result<MediaType, String> {
    if args.need_str("type")? == "audio" {
        let channels = args.need_num("channels")? as u16;
        return Ok(MediaType::Audio { channels });
    }
    let (width, height) = args.need_size("size")?;
    let format = args.need_str("format")?;
    Ok(MediaType::Video(VideoType {
        format: PixelFormat::from_name(format)
            .ok_or_else(|| format!("unknown pixel format `{format}`"))?,
        width,
        height,
        fps: fps_fraction(args.need_num("fps")?),
    }))
}

fn ports(args: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: Vec::new(),
        outputs: vec![sig::output("out", OutType::Fixed(media(args)?))],
        constraints: vec![
            UNIQUE_NAME,
            Constraint::Rule(rate_is_the_graphs),
            Constraint::Rule(graph_pacing_is_real_time),
        ],
        ..Ports::default()
    })
}

/// Audio comes in at the graph's rate: the endpoint does not resample.
fn rate_is_the_graphs(input: &RuleInput) -> Vec<Finding> {
    let rate = match input.args.need_num("rate") {
        Ok(rate) => rate,
        Err(e) => return crate::sig::arg_error(e),
    };
    let graph = input.settings.rate;
    if input.args.need_str("type") != Ok("audio") || rate.round() as u32 == graph {
        return Vec::new();
    }
    let message = "an audio `app_in` must push at the graph's rate";
    let label = format!("{rate} Hz here, {graph} Hz in the graph");
    let khz = rate / 1000.0;
    let help = format!("set the graph's rate: `graph NAME(rate: {khz}kHz) {{ ... }}`");
    vec![Finding::error(Some("rate"), message, label).with_help(help)]
}

/// The graph's own clock paces only a real-time graph: unpaced, it would
/// run as fast as it can on frames the host has not pushed yet.
fn graph_pacing_is_real_time(input: &RuleInput) -> Vec<Finding> {
    if input.args.need_str("pacing") != Ok("graph") || input.settings.realtime {
        return Vec::new();
    }
    let message = "`pacing: graph` runs the graph on its own real-time clock";
    let label = "this graph is not real time";
    let help = "set `graph NAME(realtime: true) { ... }`, or leave `pacing` to the host";
    vec![Finding::error(Some("pacing"), message, label).with_help(help)]
}

/// Builds an `app_in`: its frames, sized from its output's type.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let name = ctx.args.need_str("name")?;
    let port = ctx
        .outputs
        .first()
        .ok_or_else(|| NodeError::new("`app_in` has one output"))?;
    let template = Frame::for_type(&port.ty, ctx.settings.frame_samples as usize);
    let (end, feed) = input_endpoint(name, &template);
    let take = match (ctx.args.need_str("pacing")?, &template) {
        ("graph", Frame::Video(_)) => InputFeed::take_newest,
        ("graph", _) => InputFeed::take_bounded,
        _ => InputFeed::take_into,
    };
    Ok(Box::new(AppIn {
        feed,
        end: Some(end),
        take,
    }))
}

/// How a tick takes a pushed frame into the output (by pacing and media).
type Take = fn(&mut InputFeed, &mut Frame, Nanos) -> bool;

/// Moves each pushed frame into its output.
struct AppIn {
    feed: InputFeed,
    end: Option<HostEnd>,
    take: Take,
}

impl Node for AppIn {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let time = io.clock().time;
        let out = io.output(0);
        if (self.take)(&mut self.feed, out, time) {
            return Flow::Continue;
        }
        blank(out);
        Flow::Continue
    }

    fn host_end(&mut self) -> Option<HostEnd> {
        self.end.take()
    }
}

/// Black video or silence, for a tick with nothing pushed.
fn blank(frame: &mut Frame) {
    match frame {
        Frame::Video(v) => v.fill_black(),
        Frame::Audio(a) => a.silence(),
        _ => {}
    }
}
