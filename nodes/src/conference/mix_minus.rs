//! `mix_minus`: what each participant should hear, everyone but themself.
//!
//! As in Asterisk's softmix: mix everyone once, then subtract each
//! participant's own samples, so a call of N costs O(N) per tick rather
//! than N mixes of N - 1 streams.

use crate::sig;
use sluice_dsl::{Accepts, Args, MediaType, OutType, Ports, Role, Signature};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, StreamState};

/// The `mix_minus` signature.
pub fn signature() -> Signature {
    sig::signature(
        "mix_minus",
        "Each participant receives everyone but themself (for sending back to each \
         caller without their own echo): the sum of every present stream minus the \
         participant's own, in the participant's slot. O(N) per tick. A slot is Silent \
         when everyone else is.",
        Role::Process,
        ports,
    )
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::Bundle)],
        outputs: vec![sig::output("out", OutType::SameAs(0))],
        ..Ports::default()
    })
}

/// Builds a `mix_minus`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    match ctx.inputs.first().map(|p| p.ty) {
        Some(MediaType::Bundle { .. }) => Ok(Box::new(MixMinus {
            total: vec![0.0; ctx.settings.frame_samples as usize],
        })),
        other => Err(NodeError::new(format!(
            "mix_minus needs a bundle, got {other:?}"
        ))),
    }
}

struct MixMinus {
    total: Vec<f32>,
}

fn sounding(s: StreamState) -> bool {
    s.present() && s != StreamState::Silent
}

impl Node for MixMinus {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(input) = io.bundle_in(0) else {
            return Flow::Continue;
        };
        let total = &mut self.total;
        total.fill(0.0);
        let mut n_sounding = 0;
        for (_, s) in input.present() {
            n_sounding += usize::from(sounding(s.state));
            for (t, x) in total.iter_mut().zip(s.samples()) {
                *t += x;
            }
        }
        let out = io.bundle_out(0);
        for (o, s) in out.slots_mut().iter_mut().zip(input.slots()) {
            o.id = s.id;
            o.state = match s.state {
                StreamState::Active | StreamState::Silent => {
                    if n_sounding > usize::from(sounding(s.state)) {
                        StreamState::Active
                    } else {
                        StreamState::Silent
                    }
                }
                other => other,
            };
            if s.state.present() {
                for ((d, t), x) in o
                    .samples_mut()
                    .iter_mut()
                    .zip(total.iter())
                    .zip(s.samples())
                {
                    *d = t - x;
                }
            } else {
                o.samples_mut().fill(0.0);
            }
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conference::testkit::{Rng, TICK};
    use crate::test_support::{args, bundle, kind};
    use sluice_runtime::{Frame, StreamId};

    fn naive(input: &sluice_runtime::BundleFrame, me: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; TICK];
        for (j, s) in input.present() {
            if j != me {
                for (o, x) in out.iter_mut().zip(s.samples()) {
                    *o += x;
                }
            }
        }
        out
    }

    #[test]
    fn matches_naive_sum_of_others() {
        let mut rng = Rng::new(1);
        for n in [1usize, 2, 5, 200] {
            let ty = MediaType::Bundle { capacity: n as u32 };
            let mut node = kind("mix_minus")
                .args(args(&[]))
                .inputs(&[ty])
                .outputs(&[ty])
                .build()
                .unwrap();
            let mut input = Frame::for_type(&ty, TICK);
            for t in 0..5 {
                if let Frame::Bundle(b) = &mut input {
                    for (i, s) in b.slots_mut().iter_mut().enumerate() {
                        s.state = match rng.below(5) {
                            0 => StreamState::Absent,
                            1 => StreamState::Silent,
                            2 => StreamState::Joined,
                            3 => StreamState::Left,
                            _ => StreamState::Active,
                        };
                        s.id = StreamId::new(&format!("p{i}"));
                        let amp = if s.state.present() && s.state != StreamState::Silent {
                            0.5
                        } else {
                            0.0
                        };
                        for x in s.samples_mut() {
                            *x = amp * rng.range(-1.0, 1.0);
                        }
                    }
                }
                node.run_at(t, &[&input]);
                let (inp, o) = (bundle(&input), bundle(node.output(0)));
                for (i, s) in inp.slots().iter().enumerate() {
                    let got = &o.slots()[i];
                    assert_eq!(got.id, s.id);
                    if !s.state.present() {
                        assert_eq!(got.state, StreamState::Absent);
                        assert!(got.samples().iter().all(|x| *x == 0.0));
                        continue;
                    }
                    let want = naive(inp, i);
                    let tol = 1e-6 * n as f32;
                    for (a, b) in got.samples().iter().zip(&want) {
                        assert!((a - b).abs() <= tol, "n {n} slot {i}: {a} vs {b}");
                    }
                    if got.state == StreamState::Silent {
                        assert!(want.iter().all(|x| *x == 0.0));
                    }
                }
            }
        }
    }

    #[test]
    fn two_people_hear_each_other_exactly() {
        let ty = MediaType::Bundle { capacity: 2 };
        let mut node = kind("mix_minus")
            .args(args(&[]))
            .inputs(&[ty])
            .outputs(&[ty])
            .build()
            .unwrap();
        let mut input = Frame::for_type(&ty, TICK);
        if let Frame::Bundle(b) = &mut input {
            for (i, s) in b.slots_mut().iter_mut().enumerate() {
                s.state = StreamState::Active;
                for (k, x) in s.samples_mut().iter_mut().enumerate() {
                    *x = (k as f32 * (i + 1) as f32 * 0.01).sin();
                }
            }
        }
        node.run_at(0, &[&input]);
        let (i, o) = (bundle(&input), bundle(node.output(0)));
        // a + b - a is b up to one rounding of the sum.
        for (got, want) in o.slots()[0].samples().iter().zip(i.slots()[1].samples()) {
            assert!((got - want).abs() <= 2.0 * f32::EPSILON);
        }
        for (got, want) in o.slots()[1].samples().iter().zip(i.slots()[0].samples()) {
            assert!((got - want).abs() <= 2.0 * f32::EPSILON);
        }
    }
}
