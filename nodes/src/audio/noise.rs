//! `noise`: endless white noise from a small, fast, seeded generator.

use super::levels::db_to_gain;
use crate::sig::{always, audio, int, live, output, param, quantity, signature as sig};
use sluice_dsl::{Arg, Args, Ports, Role, Signature, UnitKind};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};

/// The `noise` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "noise",
        "Endless mono white noise, uniform between -amp and +amp (its RMS \
         level is 4.8 dB below `amp`). The same `seed` gives the same noise \
         on every run and machine (xoshiro128++).",
        Role::AudioSource,
        ports,
    );
    s.params = vec![
        live(param(
            "amp",
            quantity(UnitKind::Level, -120.0, 0.0),
            Arg::Num(-30.0),
            "peak level in dBFS",
        )),
        param(
            "seed",
            int(0, i64::from(u32::MAX)),
            Arg::Num(1.0),
            "generator seed",
        ),
    ];
    s.endless = always;
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        outputs: vec![output("out", audio(1))],
        ..Ports::default()
    })
}

/// Builds a `noise` source.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let seed = ctx.args.need_num("seed")? as u64;
    Ok(Box::new(Noise {
        rng: Xoshiro128::new(seed),
        amp: db_to_gain(ctx.args.need_num("amp")?),
    }))
}

struct Noise {
    rng: Xoshiro128,
    amp: f32,
}

impl Node for Noise {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        for s in io.audio_out(0).channel_mut(0) {
            *s = self.rng.next_bipolar() * self.amp;
        }
        Flow::Continue
    }

    fn set(&mut self, key: &str, value: &Arg) -> Result<(), NodeError> {
        match (key, value.as_num()) {
            ("amp", Some(db)) => {
                self.amp = db_to_gain(db);
                Ok(())
            }
            _ => Err(NodeError::new(format!(
                "`{key}` cannot change while running"
            ))),
        }
    }
}

/// xoshiro128++ (Blackman and Vigna): 128 bits of state, passes BigCrush,
/// a few instructions per number. Seeded through splitmix64 so nearby
/// seeds give unrelated streams.
#[derive(Debug)]
pub struct Xoshiro128 {
    s: [u32; 4],
}

impl Xoshiro128 {
    /// A generator whose stream is fixed by `seed`.
    pub fn new(seed: u64) -> Xoshiro128 {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let (a, b) = (next(), next());
        Xoshiro128 {
            s: [a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32],
        }
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(7).wrapping_add(s[0]);
        let t = s[1] << 9;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(11);
        result
    }

    /// A uniform sample in `[-1, 1)` from the top 24 bits.
    pub fn next_bipolar(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * (2.0 / 16_777_216.0) - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, MONO};
    use sluice_runtime::testing::NodeHarness;

    fn run(seed: f64, ticks: u64) -> Vec<f32> {
        let a = args_with_defaults(&signature(), &[("seed", Arg::Num(seed))]);
        let h = NodeHarness::of(signature(), build).args(a).outputs(&[MONO]);
        let mut node = h.build().unwrap();
        let mut all = Vec::new();
        for t in 0..ticks {
            assert_eq!(node.run_at(t, &[]), Flow::Continue);
            all.extend_from_slice(node.audio(0).channel(0));
        }
        all
    }

    #[test]
    fn level_flatness_and_seeding() {
        let x = run(1.0, 100);
        let amp = db_to_gain(-30.0);
        assert!(x.iter().all(|s| s.abs() <= amp));
        let mean = x.iter().map(|&s| f64::from(s)).sum::<f64>() / x.len() as f64;
        let rms = (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
        let rms_db = 20.0 * rms.log10();
        assert!(mean.abs() < f64::from(amp) * 0.01, "mean {mean}");
        assert!((rms_db - (-30.0 - 4.771)).abs() < 0.1, "rms {rms_db} dBFS");
        let lag1 = x.windows(2).map(|w| f64::from(w[0] * w[1])).sum::<f64>() / rms.powi(2);
        assert!(
            lag1.abs() / (x.len() as f64) < 0.02,
            "white: lag-1 correlation"
        );
        assert_eq!(run(1.0, 3), x[..1440].to_vec());
        assert_ne!(run(2.0, 3), x[..1440].to_vec());
    }

    #[test]
    fn xoshiro_reference_stream() {
        // The reference algorithm (Blackman and Vigna's C code) from state
        // {1, 2, 3, 4}; the first two values check by hand.
        let mut g = Xoshiro128 { s: [1, 2, 3, 4] };
        let got: Vec<u32> = (0..3).map(|_| g.next_u32()).collect();
        assert_eq!(got, [641, 1_573_767, 3_222_811_527]);
    }
}
