//! `gain`: a volume control that can change while running without clicks.

use super::levels::db_to_gain;
use crate::kernels::gain::{gain_into, ramp_into};
use crate::sig::{any_audio, input, live, output, param, quantity, signature as sig};
use sluice_dsl::{Arg, Args, OutType, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};

/// The `gain` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "gain",
        "Multiplies audio by `db`. A change while running ramps linearly \
         over one tick, so it never clicks.",
        Role::Process,
        ports,
    );
    s.params = vec![live(param(
        "db",
        quantity(UnitKind::Level, -120.0, 60.0),
        Arg::Num(0.0),
        "gain in dB",
    ))];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", any_audio())],
        outputs: vec![output("out", OutType::SameAs(0))],
        ..Ports::default()
    })
}

/// Builds a `gain`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let g = db_to_gain(ctx.args.need_num("db")?);
    Ok(Box::new(Gain {
        current: g,
        target: g,
    }))
}

struct Gain {
    current: f32,
    target: f32,
}

impl Node for Gain {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(x) = io.audio_in(0) else {
            return Flow::Continue;
        };
        let out = io.audio_out(0);
        for c in 0..x.channels() {
            if self.current == self.target {
                gain_into(out.channel_mut(c), x.channel(c), self.target);
            } else {
                ramp_into(out.channel_mut(c), x.channel(c), self.current, self.target);
            }
        }
        self.current = self.target;
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        match (key, value.as_num()) {
            ("db", Some(db)) => {
                self.target = db_to_gain(db);
                Ok(())
            }
            _ => Err(NodeError::new(format!(
                "gain has no live parameter `{key}`"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, audio_frame, STEREO};
    use sluice_runtime::testing::NodeHarness;

    #[test]
    fn scales_every_channel_and_ramps_live_changes() {
        let a = args_with_defaults(&signature(), &[("db", Arg::Num(-6.0206))]);
        let h = NodeHarness::of(signature(), build)
            .args(a)
            .inputs(&[STEREO])
            .outputs(&[STEREO]);
        let mut node = h.build().unwrap();
        let input = audio_frame(&[&[1.0; 480], &[-0.5; 480]]);
        node.run_at(0, &[&input]);
        assert!(node
            .audio(0)
            .channel(0)
            .iter()
            .all(|s| (s - 0.5).abs() < 1e-5));
        assert!(node
            .audio(0)
            .channel(1)
            .iter()
            .all(|s| (s + 0.25).abs() < 1e-5));

        node.set("db", &Arg::Num(0.0)).unwrap();
        node.run_at(1, &[&input]);
        let ch = node.audio(0).channel(0);
        assert!((ch[0] - 0.5).abs() < 1e-5);
        let worst = ch
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0f32, f32::max);
        assert!(worst < 0.5 / 480.0 * 1.01, "ramp step {worst}");
        node.run_at(2, &[&input]);
        assert!(node.audio(0).channel(0).iter().all(|&s| s == 1.0));
        assert!(node.set("nope", &Arg::Num(0.0)).is_err());
    }
}
