//! `remix`: mono <-> stereo, the conversion the language inserts when a
//! port wants the other one.

use crate::kernels::gain::gain;
use crate::kernels::mix::accumulate;
use crate::sig::{any_audio, input, int, output, param, signature as sig};
use sluice_dsl::{
    Arg, Args, Constraint, Finding, MediaType, OutType, Ports, Role, RuleInput, Signature,
};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};

/// The `remix` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "remix",
        "Changes the channel count: mono to stereo copies the channel to \
         both sides; to mono averages the channels (so a signal present in \
         both comes out at its own level). Inserted automatically between \
         mono and stereo ports.",
        Role::Process,
        ports,
    );
    s.params = vec![param("channels", int(1, 2), Arg::Num(2.0), "1 or 2")];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", any_audio())],
        outputs: vec![output("out", OutType::Derived(out_type))],
        constraints: vec![Constraint::Rule(down_to_stereo)],
        ..Ports::default()
    })
}

/// What `build` refuses: stereo from more than two channels (there is no
/// one way to fold 5.1 into two).
fn down_to_stereo(r: &RuleInput) -> Vec<Finding> {
    match r.inputs.first() {
        Some(Some(MediaType::Audio { channels }))
            if *channels > 2 && r.args.need_num("channels") == Ok(2.0) =>
        {
            vec![Finding::error(
                Some("channels"),
                format!("remix to stereo takes mono or stereo, not {channels} channels"),
                "stereo from more than two channels",
            )
            .with_help("`remix(channels: 1)` averages any number of channels to mono")]
        }
        _ => Vec::new(),
    }
}

fn out_type(args: &Args, _: &[Option<MediaType>]) -> Result<MediaType, String> {
    match args.need_num("channels")? as u16 {
        c @ (1 | 2) => Ok(MediaType::Audio { channels: c }),
        c => Err(format!("remix makes 1 or 2 channels, not {c}")),
    }
}

/// Builds a `remix`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let to = ctx.args.need_num("channels")? as usize;
    let from = match ctx.inputs.first().map(|p| p.ty) {
        Some(MediaType::Audio { channels }) => usize::from(channels),
        _ => 1,
    };
    if to == 2 && from > 2 {
        return Err(NodeError::new(format!(
            "remix to stereo takes mono or stereo, not {from} channels"
        )));
    }
    Ok(Box::new(Remix))
}

struct Remix;

impl Node for Remix {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(x) = io.audio_in(0) else {
            return Flow::Continue;
        };
        let out = io.audio_out(0);
        if out.channels() == 1 {
            let o = out.channel_mut(0);
            o.copy_from_slice(x.channel(0));
            for c in 1..x.channels() {
                accumulate(o, x.channel(c));
            }
            if x.channels() > 1 {
                gain(o, 1.0 / x.channels() as f32);
            }
        } else {
            for c in 0..out.channels() {
                out.channel_mut(c)
                    .copy_from_slice(x.channel(c.min(x.channels() - 1)));
            }
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args, audio_frame, MONO, STEREO};
    use sluice_runtime::testing::NodeHarness;

    #[test]
    fn mono_to_stereo_copies_and_stereo_to_mono_averages() {
        let h = NodeHarness::of(signature(), build)
            .args(args(&[("channels", Arg::Num(2.0))]))
            .inputs(&[MONO])
            .outputs(&[STEREO]);
        let mut node = h.build().unwrap();
        let ramp: Vec<f32> = (0..480).map(|i| i as f32 / 480.0).collect();
        node.run_at(0, &[&audio_frame(&[&ramp])]);
        assert_eq!(node.audio(0).channel(0), &ramp[..]);
        assert_eq!(node.audio(0).channel(1), &ramp[..]);

        let h = NodeHarness::of(signature(), build)
            .args(args(&[("channels", Arg::Num(1.0))]))
            .inputs(&[STEREO])
            .outputs(&[MONO]);
        let mut node = h.build().unwrap();
        let neg: Vec<f32> = ramp.iter().map(|s| 0.5 - s).collect();
        node.run_at(0, &[&audio_frame(&[&ramp, &neg])]);
        assert!(node
            .audio(0)
            .channel(0)
            .iter()
            .all(|s| (s - 0.25).abs() < 1e-6));
    }

    #[test]
    fn refuses_surround_to_stereo() {
        let six = MediaType::Audio { channels: 6 };
        let h = NodeHarness::of(signature(), build)
            .args(args(&[("channels", Arg::Num(2.0))]))
            .inputs(&[six])
            .outputs(&[STEREO]);
        assert!(h.build().is_err());
    }
}
