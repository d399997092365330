//! A custom node: a bit crusher registered next to the standard kinds and
//! run from graph text (`cargo run --example custom_node` writes out/crushed.wav).

use sluice_dsl::{Arg, Args, OutType, Ports, Role, Signature, SourceFile};
use sluice_nodes::sig;
use sluice_runtime::{BuildContext, Engine, Flow, Node, NodeError, PortIo};
use std::path::Path;

/// `crush(bits)`: quantises every sample to `bits` bits of resolution.
pub fn signature() -> Signature {
    let doc = "Bit crusher: quantises samples to `bits` bits.";
    let mut s = sig::signature("crush", doc, Role::Process, ports);
    let bits = sig::param("bits", sig::int(1, 24), Arg::Num(8.0), "bits kept");
    s.params = vec![sig::live(bits)];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![sig::input("in", sig::any_audio())],
        outputs: vec![sig::output("out", OutType::SameAs(0))],
        ..Ports::default()
    })
}

/// Builds a `crush`: everything it needs is sized here, not in `process`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let step = 2f32.powi(1 - ctx.args.need_num("bits")? as i32);
    Ok(Box::new(Crush { step }))
}

/// Quantises to steps of `step` (2^(1-bits): `bits` bits over -1..1).
struct Crush {
    step: f32,
}

impl Node for Crush {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(input) = io.audio_in(0) else {
            return Flow::Continue;
        };
        let step = self.step;
        for (o, x) in io.audio_out(0).data_mut().iter_mut().zip(input.data()) {
            *o = (x / step).round() * step;
        }
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        let bits = value.as_num().filter(|_| key == "bits");
        let bits = bits.ok_or_else(|| NodeError::new(format!("no live `{key}`")))?;
        self.step = 2f32.powi(1 - bits as i32);
        Ok(())
    }
}

/// Checks `text` against the standard kinds plus `crush` and runs it.
pub fn run(text: &str) -> Result<(), String> {
    let mut registry = sluice_nodes::registry();
    registry.register(signature(), build);
    let file = SourceFile::new("<custom>", text);
    let checked = sluice_dsl::check(&file, &registry);
    let plan = checked
        .plan
        .ok_or_else(|| checked.diagnostics.render(&file, false))?;
    let engine = Engine::build(&plan, &registry).map_err(|e| e.to_string())?;
    engine.run().map(|_| ()).map_err(|e| e.to_string())
}

/// The graph: a tone crushed to 4 bits, written as a WAV.
pub fn graph(out: &Path) -> String {
    let out = out.display().to_string();
    let chain = format!("tone(amp: -6dB) -> crush(bits: 4) -> wav_out(path: {out:?}, format: f32)");
    format!("graph crushed(duration: 2s) {{ {chain} }}")
}

fn main() -> Result<(), String> {
    run(&graph(Path::new("out/crushed.wav")))
}
