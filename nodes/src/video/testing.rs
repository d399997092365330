//! Test harness: builds a node the way the engine would (arguments with
//! defaults from its signature, port types from its ports function) and
//! runs it on hand-made frames.

use sluice_dsl::{
    Arg, Args, MediaType, OutType, PixelFormat, PlanPort, Settings, Signature, VideoType,
};
use sluice_runtime::{
    BuildContext, BuildFn, Clock, Flow, Frame, Node, NodeError, PortIo, VideoFrame,
};

/// A video type at 30 fps.
pub fn vt(format: PixelFormat, width: u32, height: u32) -> VideoType {
    VideoType {
        format,
        width,
        height,
        fps: (30, 1),
    }
}

/// The signature's defaults overlaid with `given`.
pub fn args(sig: &Signature, given: &[(&str, Arg)]) -> Args {
    let mut a = sig.default_args();
    for (k, v) in given {
        assert!(sig.param(k).is_some(), "{} has no param {k}", sig.kind);
        a.set(k, v.clone());
    }
    a
}

/// A string argument.
pub fn s(v: &str) -> Arg {
    Arg::Str(v.to_string())
}

/// An enum argument.
pub fn e(v: &str) -> Arg {
    Arg::Enum(v.to_string())
}

/// A built node with its output frames.
pub struct Built {
    /// The node.
    pub node: Box<dyn Node>,
    /// One frame per output port, sized from the derived types.
    pub outputs: Vec<Frame>,
    /// Output types.
    pub out_types: Vec<MediaType>,
    tick: u64,
}

/// Output types as the checker derives them.
pub fn derive_outputs(
    sig: &Signature,
    args: &Args,
    inputs: &[MediaType],
) -> Result<Vec<MediaType>, String> {
    let ports = (sig.ports)(args)?;
    let ins: Vec<Option<MediaType>> = inputs.iter().copied().map(Some).collect();
    ports
        .outputs
        .iter()
        .map(|o| match o.ty {
            OutType::Fixed(t) => Ok(t),
            OutType::SameAs(i) => Ok(inputs[i]),
            OutType::Derived(f) => f(args, &ins),
        })
        .collect()
}

/// Builds `build` for `sig` with `given` over the signature's defaults and
/// video inputs of these types.
pub fn build(
    sig: &Signature,
    build: BuildFn,
    given: &Args,
    inputs: &[VideoType],
) -> Result<Built, NodeError> {
    let mut args = sig.default_args();
    args.overlay(given);
    let in_types: Vec<MediaType> = inputs.iter().map(|&v| MediaType::Video(v)).collect();
    let out_types = derive_outputs(sig, &args, &in_types).map_err(NodeError::new)?;
    let port = |i: usize, ty: MediaType| PlanPort {
        name: format!("p{i}"),
        ty,
        connected: true,
    };
    let in_ports: Vec<PlanPort> = in_types
        .iter()
        .enumerate()
        .map(|(i, &t)| port(i, t))
        .collect();
    let out_ports: Vec<PlanPort> = out_types
        .iter()
        .enumerate()
        .map(|(i, &t)| port(i, t))
        .collect();
    let settings = Settings::default();
    let names = vec![sig.kind.clone()];
    let ctx = BuildContext {
        name: &sig.kind,
        index: 0,
        args: &args,
        inputs: &in_ports,
        outputs: &out_ports,
        settings: &settings,
        node_names: &names,
    };
    let node = build(&ctx)?;
    let outputs = out_types.iter().map(|t| Frame::for_type(t, 480)).collect();
    Ok(Built {
        node,
        outputs,
        out_types,
        tick: 0,
    })
}

impl Built {
    /// Runs one tick over these input frames.
    pub fn run(&mut self, inputs: &[&VideoFrame]) -> Flow {
        let frames: Vec<Frame> = inputs.iter().map(|f| Frame::Video((*f).clone())).collect();
        let ins: Vec<Option<&Frame>> = frames.iter().map(Some).collect();
        let mut outs: Vec<&mut Frame> = self.outputs.iter_mut().collect();
        let clock = Clock {
            tick: self.tick,
            time: self.tick * 33_333_333,
            rate: 48_000,
            frame_samples: 480,
        };
        self.tick += 1;
        let mut io = PortIo::new(&ins, &mut outs, clock);
        self.node.process(&mut io)
    }

    /// Output video frame `i`.
    pub fn out(&self, i: usize) -> &VideoFrame {
        match &self.outputs[i] {
            Frame::Video(v) => v,
            _ => panic!("output {i} is not video"),
        }
    }
}

/// An RGBA frame filled by `f(x, y) -> [r, g, b, a]`.
pub fn rgba_frame(w: u32, h: u32, f: impl Fn(usize, usize) -> [u8; 4]) -> VideoFrame {
    let mut fr = VideoFrame::new(vt(PixelFormat::Rgba, w, h));
    let wu = w as usize;
    for (i, p) in fr.plane_mut(0).chunks_exact_mut(4).enumerate() {
        p.copy_from_slice(&f(i % wu, i / wu));
    }
    fr
}
