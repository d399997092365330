//! `pan`: places a mono source between the left and right speakers.

use crate::kernels::gain::{gain_into, ramp_into};
use crate::sig::{audio, input, live, output, param, quantity, signature as sig};
use sluice_dsl::{Accepts, Arg, Args, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};

/// The `pan` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "pan",
        "Equal-power panning of mono to stereo: -90deg is hard left, 0deg \
         ahead (both channels at -3 dB), 90deg hard right; the total power \
         is the same at every angle. A change while running ramps over one \
         tick.",
        Role::Process,
        ports,
    );
    s.params = vec![live(param(
        "azimuth",
        quantity(UnitKind::Angle, -90.0, 90.0),
        Arg::Num(0.0),
        "direction; positive is to the right",
    ))];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", Accepts::Audio { channels: Some(1) })],
        outputs: vec![output("out", audio(2))],
        ..Ports::default()
    })
}

/// Left and right gains for an azimuth in degrees (sin/cos law).
pub fn pan_gains(azimuth: f64) -> [f32; 2] {
    let theta = (azimuth.clamp(-90.0, 90.0) + 90.0) / 180.0 * std::f64::consts::FRAC_PI_2;
    [theta.cos() as f32, theta.sin() as f32]
}

/// Builds a `pan`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let g = pan_gains(ctx.args.need_num("azimuth")?);
    Ok(Box::new(Pan {
        current: g,
        target: g,
    }))
}

struct Pan {
    current: [f32; 2],
    target: [f32; 2],
}

impl Node for Pan {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(x) = io.audio_in(0) else {
            return Flow::Continue;
        };
        let out = io.audio_out(0);
        for c in 0..2 {
            let (from, to) = (self.current[c], self.target[c]);
            if from == to {
                gain_into(out.channel_mut(c), x.channel(0), to);
            } else {
                ramp_into(out.channel_mut(c), x.channel(0), from, to);
            }
        }
        self.current = self.target;
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        match (key, value.as_num()) {
            ("azimuth", Some(a)) => {
                self.target = pan_gains(a);
                Ok(())
            }
            _ => Err(NodeError::new(format!("pan has no live parameter `{key}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, audio_frame, MONO, STEREO};
    use sluice_runtime::testing::NodeHarness;

    #[test]
    fn equal_power_at_every_angle() {
        for az in [-90.0, -45.0, 0.0, 30.0, 90.0] {
            let [l, r] = pan_gains(az);
            assert!((l * l + r * r - 1.0).abs() < 1e-6, "{az}");
        }
        assert!(pan_gains(-90.0)[1].abs() < 1e-7);
        assert!(pan_gains(90.0)[0].abs() < 1e-7);
        let [l, r] = pan_gains(0.0);
        assert!((l - r).abs() < 1e-7 && (l - 0.70710677).abs() < 1e-6);
        let [l, r] = pan_gains(30.0);
        assert!(r > l, "positive azimuth is to the right");
    }

    #[test]
    fn pans_mono_to_stereo_and_ramps() {
        let a = args_with_defaults(&signature(), &[("azimuth", Arg::Num(90.0))]);
        let h = NodeHarness::of(signature(), build)
            .args(a)
            .inputs(&[MONO])
            .outputs(&[STEREO]);
        let mut node = h.build().unwrap();
        let x = audio_frame(&[&[0.5; 480]]);
        node.run_at(0, &[&x]);
        assert!(node.audio(0).channel(0).iter().all(|s| s.abs() < 1e-7));
        assert!(node.audio(0).channel(1).iter().all(|&s| s == 0.5));
        node.set("azimuth", &Arg::Num(-90.0)).unwrap();
        node.run_at(1, &[&x]);
        let right = node.audio(0).channel(1);
        assert_eq!(right[0], 0.5);
        assert!(right[479] < 0.01 && right.windows(2).all(|w| w[1] <= w[0]));
    }
}
