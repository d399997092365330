//! `delay`: shifts audio later in time by a fixed amount.

use crate::sig::{any_audio, input, output, quantity, required, signature as sig};
use sluice_dsl::{Args, OutType, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};

/// Longest delay, in seconds: a ring of 10 s of 8 channels at 192 kHz is
/// 60 MB, the most a delay line should ever reserve.
pub const MAX_SECONDS: f64 = 10.0;

/// The `delay` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "delay",
        "Delays audio by `time` (rounded to whole samples, at most 10 s); \
         the first `time` of output is silence.",
        Role::Process,
        ports,
    );
    s.params = vec![required(
        "time",
        quantity(UnitKind::Time, 0.0, MAX_SECONDS),
        "how much later the audio comes out",
    )];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", any_audio())],
        outputs: vec![output("out", OutType::SameAs(0))],
        ..Ports::default()
    })
}

/// Builds a `delay` with its ring preallocated.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let time = ctx.args.need_num("time")?;
    if !(0.0..=MAX_SECONDS).contains(&time) {
        return Err(NodeError::new(format!(
            "time {time} s is outside 0..{MAX_SECONDS} s"
        )));
    }
    let channels = match ctx.inputs.first().map(|p| p.ty) {
        Some(sluice_dsl::MediaType::Audio { channels }) => usize::from(channels),
        _ => 1,
    };
    let len = (time * f64::from(ctx.settings.rate)).round() as usize;
    Ok(Box::new(Delay {
        len,
        pos: 0,
        ring: vec![0.0; len * channels],
    }))
}

/// One ring of `len` samples per channel, channel after channel; `pos` is
/// where the oldest sample (the next one out) sits.
struct Delay {
    len: usize,
    pos: usize,
    ring: Vec<f32>,
}

/// Pushes `x` through one channel's ring of `ring.len()` samples whose
/// oldest sample is at `pos`: each output sample is the input from
/// `ring.len()` samples ago; afterwards the oldest is at `pos + x.len()`.
fn delay_channel(ring: &mut [f32], pos: usize, x: &[f32], out: &mut [f32]) {
    let len = ring.len();
    let n = x.len();
    if n >= len {
        let (old, new) = out.split_at_mut(len);
        old[..len - pos].copy_from_slice(&ring[pos..]);
        old[len - pos..].copy_from_slice(&ring[..pos]);
        new.copy_from_slice(&x[..n - len]);
        let next = (pos + n) % len;
        ring[next..].copy_from_slice(&x[n - len..n - next]);
        ring[..next].copy_from_slice(&x[n - next..]);
        return;
    }
    let first = n.min(len - pos);
    out[..first].copy_from_slice(&ring[pos..pos + first]);
    ring[pos..pos + first].copy_from_slice(&x[..first]);
    let rest = n - first;
    out[first..].copy_from_slice(&ring[..rest]);
    ring[..rest].copy_from_slice(&x[first..]);
}

impl Node for Delay {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(x) = io.audio_in(0) else {
            return Flow::Continue;
        };
        let out = io.audio_out(0);
        if self.len == 0 {
            out.data_mut().copy_from_slice(x.data());
            return Flow::Continue;
        }
        for c in 0..x.channels() {
            let ring = &mut self.ring[c * self.len..(c + 1) * self.len];
            delay_channel(ring, self.pos, x.channel(c), out.channel_mut(c));
        }
        self.pos = (self.pos + x.len()) % self.len;
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args, audio_frame, STEREO};
    use proptest::prelude::*;
    use sluice_dsl::Arg;
    use sluice_runtime::testing::NodeHarness;

    fn run(delay_samples: usize, ticks: usize) -> (Vec<f32>, Vec<f32>) {
        let secs = delay_samples as f64 / 48_000.0;
        let h = NodeHarness::of(signature(), build)
            .args(args(&[("time", Arg::Num(secs))]))
            .inputs(&[STEREO])
            .outputs(&[STEREO]);
        let mut node = h.build().unwrap();
        let (mut input, mut output) = (Vec::new(), Vec::new());
        for t in 0..ticks {
            let l: Vec<f32> = (0..480).map(|i| (t * 480 + i) as f32 + 1.0).collect();
            let r: Vec<f32> = l.iter().map(|s| -s).collect();
            let f = audio_frame(&[&l, &r]);
            node.run_at(t as u64, &[&f]);
            let a = node.audio(0);
            assert!(a
                .channel(0)
                .iter()
                .zip(a.channel(1))
                .all(|(l, r)| *l == -*r));
            input.extend(l);
            output.extend_from_slice(a.channel(0));
        }
        (input, output)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]
        #[test]
        fn output_is_input_shifted(d in 0usize..2000) {
            let (input, output) = run(d, 6);
            for (i, o) in output.iter().enumerate() {
                let want = if i < d { 0.0 } else { input[i - d] };
                prop_assert_eq!(*o, want, "sample {}", i);
            }
        }
    }

    #[test]
    fn ten_ms_and_exact_tick_multiples() {
        for d in [480, 960, 1] {
            let (input, output) = run(d, 4);
            assert_eq!(&output[d..], &input[..input.len() - d]);
        }
    }
}
