//! `mix`: sums audio inputs, or every stream of a bundle, into one stream.

use crate::kernels::gain::ramp;
use crate::kernels::limiter::soft_limit;
use crate::kernels::mix::{accumulate, mix_by};
use crate::sig::{output, param, signature as sig, variadic_input};
use sluice_dsl::{Accepts, Arg, Args, MediaType, OutType, ParamType, Ports, Role, Signature};
use sluice_runtime::{AudioFrame, BuildContext, Flow, Node, NodeError, PortIo, StreamState};

/// The `mix` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "mix",
        "Sums audio inputs (any number, `[a, b] -> mix`) or the streams of \
         one bundle into one stream. The output has as many channels as the \
         widest input; a mono input goes to every channel. Without \
         `normalize` and `limit` the sum is exact (what `sox -m` computes). \
         `normalize` divides by the number of inputs present (ramped over \
         a tick when that number changes); `limit` bends peaks above -3 dBFS \
         smoothly so the sum never exceeds full scale.",
        Role::Process,
        ports,
    );
    s.params = vec![
        param(
            "normalize",
            ParamType::Bool,
            Arg::Bool(false),
            "divide by the number of present inputs",
        ),
        param(
            "limit",
            ParamType::Bool,
            Arg::Bool(true),
            "soft-limit the sum below full scale",
        ),
    ];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![variadic_input("in", Accepts::AudioOrBundle)],
        outputs: vec![output("out", OutType::Derived(out_type))],
        ..Ports::default()
    })
}

/// Mono for a bundle, else the widest input's channel count.
fn out_type(_: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    let bundles = inputs
        .iter()
        .filter(|t| matches!(t, Some(MediaType::Bundle { .. })))
        .count();
    if bundles > 0 && inputs.len() > 1 {
        return Err("mix takes audio inputs or one bundle, not several bundles or both".into());
    }
    let channels = inputs
        .iter()
        .map(|t| match t {
            Some(MediaType::Audio { channels }) => *channels,
            _ => 1,
        })
        .max()
        .unwrap_or(1);
    Ok(MediaType::Audio { channels })
}

/// Builds a `mix` for its planned inputs.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let types: Vec<Option<MediaType>> = ctx
        .inputs
        .iter()
        .map(|p| p.connected.then_some(p.ty))
        .collect();
    out_type(ctx.args, &types).map_err(NodeError::new)?;
    let slots = match types.first() {
        Some(Some(MediaType::Bundle { capacity })) => *capacity as usize,
        _ => types.len().min(DIRECT),
    };
    Ok(Box::new(Mix {
        picks: Vec::with_capacity(slots),
        bundle: matches!(types.first(), Some(Some(MediaType::Bundle { .. }))),
        normalize: ctx.args.need_bool("normalize")?,
        limit: ctx.args.need_bool("limit")?,
        gain: 1.0,
    }))
}

struct Mix {
    bundle: bool,
    normalize: bool,
    limit: bool,
    /// The normalising gain applied at the end of the last tick.
    gain: f32,
    /// Indices of the inputs or slots summed this tick (capacity fixed at
    /// build, so filling it never allocates).
    picks: Vec<usize>,
}

/// Audio inputs summed by the register-blocked kernel; inputs past these
/// (rare) are added one at a time.
const DIRECT: usize = 64;

impl Mix {
    /// Sums the audio inputs; returns how many were present.
    fn sum_audio(&mut self, io: &mut PortIo<'_, '_>) -> usize {
        let count = io.input_count();
        let mut frames: [Option<&AudioFrame>; DIRECT] = [None; DIRECT];
        for (i, f) in frames.iter_mut().enumerate().take(count) {
            *f = io.audio_in(i);
        }
        let present = (0..count).filter(|&i| io.input(i).is_some()).count();
        for c in 0..io.audio_out(0).channels() {
            // A mono input goes to every channel; a wider one only to its own.
            let feeds = |x: &AudioFrame| x.channels() == 1 || c < x.channels();
            let lane = |x: &'_ AudioFrame| if x.channels() == 1 { 0 } else { c };
            self.picks.clear();
            for (i, f) in frames.iter().enumerate() {
                if f.is_some_and(feeds) {
                    self.picks.push(i);
                }
            }
            let picks = &self.picks;
            mix_by(io.audio_out(0).channel_mut(c), picks.len(), |k| {
                let x = frames[picks[k]].expect("picked inputs are present");
                x.channel(lane(x))
            });
            for i in DIRECT..count {
                if let Some(x) = io.audio_in(i).filter(|x| feeds(x)) {
                    accumulate(io.audio_out(0).channel_mut(c), x.channel(lane(x)));
                }
            }
        }
        present
    }

    /// Sums the streams of the bundle; returns how many were present.
    fn sum_bundle(&mut self, io: &mut PortIo<'_, '_>) -> usize {
        let Some(b) = io.bundle_in(0) else {
            io.audio_out(0).silence();
            return 0;
        };
        self.picks.clear();
        let mut present = 0;
        for (i, s) in b.present() {
            present += 1;
            if s.state != StreamState::Silent {
                self.picks.push(i);
            }
        }
        let (slots, picks) = (b.slots(), &self.picks);
        mix_by(io.audio_out(0).channel_mut(0), picks.len(), |k| {
            slots[picks[k]].samples()
        });
        present
    }
}

impl Node for Mix {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let present = if self.bundle {
            self.sum_bundle(io)
        } else {
            self.sum_audio(io)
        };
        let out = io.audio_out(0);
        if self.normalize {
            let g = 1.0 / present.max(1) as f32;
            if g != 1.0 || self.gain != 1.0 {
                for c in 0..out.channels() {
                    ramp(out.channel_mut(c), self.gain, g);
                }
            }
            self.gain = g;
        }
        if self.limit {
            soft_limit(out.data_mut());
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::limiter::KNEE;
    use crate::test_support::{args, audio_frame, MONO, STEREO};
    use sluice_runtime::testing::NodeHarness;
    use sluice_runtime::{Frame, StreamId};

    fn mix_args(normalize: bool, limit: bool) -> Args {
        args(&[
            ("normalize", Arg::Bool(normalize)),
            ("limit", Arg::Bool(limit)),
        ])
    }

    #[test]
    fn output_type_is_the_widest_input_or_mono_for_a_bundle() {
        let a = Args::default();
        let six = MediaType::Audio { channels: 6 };
        assert_eq!(out_type(&a, &[Some(MONO), Some(six)]), Ok(six));
        let b = MediaType::Bundle { capacity: 8 };
        assert_eq!(out_type(&a, &[Some(b)]), Ok(MONO));
        assert!(out_type(&a, &[Some(b), Some(MONO)]).is_err());
    }

    #[test]
    fn exact_sum_with_mono_spread_to_every_channel() {
        let h = NodeHarness::of(signature(), build)
            .args(mix_args(false, false))
            .inputs(&[MONO, STEREO])
            .outputs(&[STEREO]);
        let mut node = h.build().unwrap();
        let m = audio_frame(&[&[0.25; 480]]);
        let s = audio_frame(&[&[0.5; 480], &[-1.5; 480]]);
        node.run_at(0, &[&m, &s]);
        assert!(node.audio(0).channel(0).iter().all(|&x| x == 0.75));
        assert!(node.audio(0).channel(1).iter().all(|&x| x == -1.25));
    }

    #[test]
    fn more_inputs_than_the_kernel_takes_at_once_all_count() {
        let types = vec![MONO; 70];
        let h = NodeHarness::of(signature(), build)
            .args(mix_args(false, false))
            .inputs(&types)
            .outputs(&[MONO]);
        let mut node = h.build().unwrap();
        let frames: Vec<Frame> = (0..70).map(|k| audio_frame(&[&[k as f32; 480]])).collect();
        let refs: Vec<&Frame> = frames.iter().collect();
        node.run_at(0, &refs);
        assert!(node.audio(0).channel(0).iter().all(|&x| x == 2415.0));
    }

    #[test]
    fn limit_keeps_quiet_sums_exact_and_loud_ones_below_full_scale() {
        let h = NodeHarness::of(signature(), build)
            .args(mix_args(false, true))
            .inputs(&[MONO, MONO])
            .outputs(&[MONO]);
        let mut node = h.build().unwrap();
        let quiet: Vec<f32> = (0..480).map(|i| (i as f32 / 480.0 - 0.5) * KNEE).collect();
        let zero = audio_frame(&[&[0.0; 480]]);
        node.run_at(0, &[&audio_frame(&[&quiet]), &zero]);
        assert_eq!(node.audio(0).channel(0), &quiet[..]);
        let loud = audio_frame(&[&[0.9; 480]]);
        node.run_at(1, &[&loud, &loud]);
        let y = node.audio(0).channel(0)[0];
        assert!(y < 1.0 && y > 0.9, "{y}");
    }

    #[test]
    fn bundle_mix_normalizes_by_present_streams_with_a_ramp() {
        let b = MediaType::Bundle { capacity: 4 };
        let h = NodeHarness::of(signature(), build)
            .args(mix_args(true, false))
            .inputs(&[b])
            .outputs(&[MONO]);
        let mut node = h.build().unwrap();
        let mut frame = Frame::for_type(&b, 480);
        let Frame::Bundle(bundle) = &mut frame else {
            unreachable!()
        };
        for (k, slot) in bundle.slots_mut().iter_mut().take(2).enumerate() {
            slot.id = StreamId::new(&format!("p{k}"));
            slot.state = StreamState::Active;
            slot.samples_mut().fill(0.5);
        }
        node.run_at(0, &[&frame]);
        let first = node.audio(0).channel(0);
        assert_eq!(first[0], 1.0, "starts from gain 1");
        assert!((first[479] - 0.5).abs() < 0.01, "ramps to 1/2");
        node.run_at(1, &[&frame]);
        assert!(node.audio(0).channel(0).iter().all(|&x| x == 0.5));
        let Frame::Bundle(bundle) = &mut frame else {
            unreachable!()
        };
        bundle.slots_mut()[2].state = StreamState::Silent;
        node.run_at(2, &[&frame]);
        let ch = node.audio(0).channel(0);
        assert!(
            (ch[479] - 1.0 / 3.0).abs() < 0.01,
            "silent streams count as present"
        );
    }
}
