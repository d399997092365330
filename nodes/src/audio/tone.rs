//! `tone`: an endless sine wave, the simplest test signal.

use super::levels::db_to_gain;
use crate::sig::{always, audio, live, output, param, quantity, signature as sig};
use sluice_dsl::{Arg, Args, Constraint, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};
use std::f64::consts::TAU;

/// The `tone` kind: `freq` and `amp` can change while running.
pub fn signature() -> Signature {
    let mut s = sig(
        "tone",
        "An endless mono sine wave. The phase runs on across ticks and \
         across changes of `freq`, so the wave never jumps.",
        Role::AudioSource,
        ports,
    );
    s.params = vec![
        live(param(
            "freq",
            quantity(UnitKind::Frequency, 0.0, 384_000.0),
            Arg::Num(440.0),
            "frequency; below half the graph rate",
        )),
        live(param(
            "amp",
            quantity(UnitKind::Level, -120.0, 0.0),
            Arg::Num(-12.0),
            "peak level in dBFS",
        )),
    ];
    s.endless = always;
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        outputs: vec![output("out", audio(1))],
        constraints: vec![Constraint::BelowHalfRate("freq")],
        ..Ports::default()
    })
}

/// Builds a `tone` for the graph's rate.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let rate = f64::from(ctx.settings.rate);
    let mut tone = Tone {
        rate,
        phase: 0.0,
        step: 0.0,
        amp: 0.0,
    };
    tone.set_freq(ctx.args.need_num("freq")?)?;
    tone.amp = db_to_gain(ctx.args.need_num("amp")?);
    Ok(Box::new(tone))
}

/// A phase accumulator in cycles (f64, so it stays exact over hours).
struct Tone {
    rate: f64,
    phase: f64,
    step: f64,
    amp: f32,
}

impl Tone {
    fn set_freq(&mut self, freq: f64) -> Result<(), NodeError> {
        if freq >= self.rate / 2.0 {
            return Err(NodeError::new(format!(
                "freq {freq} Hz is not below half the graph rate ({} Hz)",
                self.rate / 2.0
            )));
        }
        self.step = freq / self.rate;
        Ok(())
    }
}

impl Node for Tone {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let out = io.audio_out(0).channel_mut(0);
        for s in out {
            *s = (self.phase * TAU).sin() as f32 * self.amp;
            self.phase += self.step;
            if self.phase >= 1.0 {
                self.phase -= 1.0;
            }
        }
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        match (key, value.as_num()) {
            ("freq", Some(f)) => self.set_freq(f),
            ("amp", Some(db)) => {
                self.amp = db_to_gain(db);
                Ok(())
            }
            _ => Err(NodeError::new(format!(
                "tone has no live parameter `{key}`"
            ))),
        }
    }

    /// A reloaded tone with other arguments goes on from this one's phase,
    /// so the crossfade between them is between two aligned waves.
    fn take_state(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        Some(Box::new(self.phase))
    }

    fn restore_state(&mut self, state: Box<dyn std::any::Any + Send>) {
        if let Ok(phase) = state.downcast::<f64>() {
            self.phase = *phase;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, MONO};
    use sluice_runtime::testing::NodeHarness;

    #[test]
    fn phase_continuous_sine_at_the_requested_frequency_and_level() {
        let h = NodeHarness::of(signature(), build).outputs(&[MONO]);
        let mut node = h.build().unwrap();
        let mut all = Vec::new();
        for t in 0..100 {
            assert_eq!(node.run_at(t, &[]), Flow::Continue);
            all.extend_from_slice(node.audio(0).channel(0));
        }
        let peak = all.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!((peak - db_to_gain(-12.0)).abs() < 1e-3, "peak {peak}");
        for (i, s) in all.iter().enumerate() {
            let want = (TAU * 440.0 * i as f64 / 48_000.0).sin() as f32 * db_to_gain(-12.0);
            assert!((s - want).abs() < 1e-4, "sample {i}: {s} vs {want}");
        }
        let crossings = all.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        assert!(
            (439..=441).contains(&crossings),
            "{crossings} cycles in 1 s"
        );
    }

    #[test]
    fn frequency_change_keeps_the_phase() {
        let h = NodeHarness::of(signature(), build).outputs(&[MONO]);
        let mut node = h.build().unwrap();
        node.run_at(0, &[]);
        let last = *node.audio(0).channel(0).last().unwrap();
        node.set("freq", &Arg::Num(1000.0)).unwrap();
        node.run_at(1, &[]);
        let first = node.audio(0).channel(0)[0];
        let max_step = (TAU * 1000.0 / 48_000.0) as f32 * db_to_gain(-12.0);
        assert!((first - last).abs() <= max_step * 1.01);
    }

    #[test]
    fn rejects_frequencies_above_nyquist() {
        let a = args_with_defaults(&signature(), &[("freq", Arg::Num(30_000.0))]);
        let err = NodeHarness::of(signature(), build)
            .args(a)
            .outputs(&[MONO])
            .build()
            .err()
            .unwrap();
        assert!(err.0.contains("half the graph rate"), "{err}");
    }

    /// The defaults live in the signature only: a context built by hand
    /// without them is an error naming the argument, not a panic and not
    /// a second, silent default.
    #[test]
    fn arguments_without_the_signature_defaults_are_an_error() {
        let h = NodeHarness::of(signature(), build).outputs(&[MONO]);
        let err = h.exact_args(Args::default()).build().err().unwrap();
        assert!(err.0.contains("`freq` is missing"), "{err}");
    }
}
