//! Test harness: builds a node the way the engine would and runs ticks on
//! frames the test owns.

use sluice_dsl::{Args, MediaType, PlanPort, Settings, Signature};
use sluice_runtime::{BuildContext, BuildFn, Clock, Flow, Frame, Node, NodeError, PortIo};

/// A node instance's plan-side description for tests.
pub struct Harness {
    /// Checked arguments.
    pub args: Args,
    /// Input slots.
    pub inputs: Vec<PlanPort>,
    /// Output ports.
    pub outputs: Vec<PlanPort>,
    /// Graph settings (48 kHz, 480 samples a tick).
    pub settings: Settings,
    /// Node names by plan index.
    pub names: Vec<String>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("args", &self.args)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

fn ports(prefix: &str, types: &[MediaType]) -> Vec<PlanPort> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| PlanPort {
            name: format!("{prefix}{i}"),
            ty: *ty,
            connected: true,
        })
        .collect()
}

impl Harness {
    /// A node of kind `sig` with `given` over the signature's defaults (as
    /// the checker fills them) and these port types, at 48 kHz, 10 ms ticks.
    pub fn new(
        sig: &Signature,
        given: Args,
        inputs: &[MediaType],
        outputs: &[MediaType],
    ) -> Harness {
        let mut args = sig.default_args();
        args.overlay(&given);
        Harness {
            args,
            inputs: ports("in", inputs),
            outputs: ports("out", outputs),
            settings: Settings::default(),
            names: vec!["source".into(), "node".into()],
        }
    }

    /// Builds the node with `build`, as plan index 1.
    pub fn build(&self, build: BuildFn) -> Result<Box<dyn Node>, NodeError> {
        build(&BuildContext {
            name: "node",
            index: 1,
            args: &self.args,
            inputs: &self.inputs,
            outputs: &self.outputs,
            settings: &self.settings,
            node_names: &self.names,
        })
    }

    /// Blank output frames for every output port.
    pub fn output_frames(&self) -> Vec<Frame> {
        let n = self.settings.frame_samples as usize;
        self.outputs
            .iter()
            .map(|p| Frame::for_type(&p.ty, n))
            .collect()
    }
}

/// Runs tick `tick` of `node` on these frames, stamping outputs with the
/// tick's media time as the engine does.
pub fn tick(node: &mut dyn Node, inputs: &[&Frame], outputs: &mut [Frame], tick: u64) -> Flow {
    let clock = clock(tick);
    for f in outputs.iter_mut() {
        f.set_time(clock.time);
        if let Frame::Events(e) = f {
            e.clear();
        }
    }
    let ins: Vec<Option<&Frame>> = inputs.iter().map(|f| Some(*f)).collect();
    let mut outs: Vec<&mut Frame> = outputs.iter_mut().collect();
    node.process(&mut PortIo::new(&ins, &mut outs, clock))
}

/// The clock of tick `tick` at 48 kHz, 480 samples a tick.
pub fn clock(tick: u64) -> Clock {
    Clock {
        tick,
        time: tick * 10_000_000,
        rate: 48_000,
        frame_samples: 480,
    }
}

/// An audio frame holding these channels.
pub fn audio_frame(channels: &[&[f32]]) -> Frame {
    let len = channels[0].len();
    let mut f = sluice_runtime::AudioFrame::new(channels.len(), len);
    for (c, s) in channels.iter().enumerate() {
        f.channel_mut(c).copy_from_slice(s);
    }
    Frame::Audio(f)
}

/// Audio output `i` of a frame list.
pub fn out_audio(frames: &[Frame], i: usize) -> &sluice_runtime::AudioFrame {
    match &frames[i] {
        Frame::Audio(a) => a,
        _ => panic!("output {i} is not audio"),
    }
}

/// Arguments from `(name, value)` pairs.
pub fn args(pairs: &[(&str, sluice_dsl::Arg)]) -> Args {
    let mut a = Args::default();
    for (k, v) in pairs {
        a.set(k, v.clone());
    }
    a
}

/// Arguments with every default of `sig` filled in, then `pairs` applied.
pub fn args_with_defaults(sig: &Signature, pairs: &[(&str, sluice_dsl::Arg)]) -> Args {
    let mut a = sig.default_args();
    a.overlay(&args(pairs));
    a
}

/// The mono audio type.
pub const MONO: MediaType = MediaType::Audio { channels: 1 };
/// The stereo audio type.
pub const STEREO: MediaType = MediaType::Audio { channels: 2 };

/// Says why a test or bench skips its peer comparison on a user's machine;
/// under `CI=true` (where .ci/run installs every tool) it fails instead,
/// so a missing tool can never pass silently.
pub fn skip_unless_ci(why: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}, and CI=true"
    );
    println!("skipped: {why}");
}
