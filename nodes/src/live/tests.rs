//! `mic` and `speaker` against this machine's devices. CI machines have no
//! sound card, so the default device must fail with a plain message and
//! the null device must run.

#[cfg(feature = "live")]
use super::{mic, speaker};
#[cfg(feature = "live")]
use sluice_dsl::{Arg, MediaType, PlanPort, Settings, Signature};
#[cfg(feature = "live")]
use sluice_runtime::{BuildContext, Node, NodeError};

#[cfg(feature = "live")]
fn build(
    sig: Signature,
    f: fn(&BuildContext) -> Result<Box<dyn Node>, NodeError>,
    device: &str,
    inputs: &[PlanPort],
) -> Result<Box<dyn Node>, NodeError> {
    let mut args = sig.default_args();
    args.set("device", Arg::Str(device.into()));
    let settings = Settings::default();
    f(&BuildContext {
        name: "dev",
        index: 0,
        args: &args,
        inputs,
        outputs: &[],
        settings: &settings,
        node_names: &[],
    })
}

#[cfg(feature = "live")]
fn mono_in() -> [PlanPort; 1] {
    [PlanPort {
        name: "in".into(),
        ty: MediaType::Audio { channels: 1 },
        connected: true,
    }]
}

#[cfg(not(feature = "live"))]
#[test]
fn without_the_feature_the_kinds_are_declared_and_say_how_to_rebuild() {
    let reg = crate::registry();
    for kind in ["mic", "speaker"] {
        let k = reg.kind(kind).unwrap();
        assert!(k.build.is_none(), "{kind} has a constructor");
        let e = k.constructor(kind).err().unwrap().to_string();
        assert!(e.contains(kind) && e.contains("--features live"), "{e}");
    }
}

#[cfg(feature = "live")]
mod with_devices {
    use super::*;
    use crate::live::device::{report, NO_CARD};
    use sluice_runtime::{Clock, Flow, Frame, PortIo};

    #[test]
    fn the_default_device_needs_a_sound_card() {
        let r = report().unwrap();
        if r.has_sound_card() {
            assert!(build(speaker::signature(), speaker::build, "default", &mono_in()).is_ok());
        } else {
            let e = build(mic::signature(), mic::build, "default", &[])
                .err()
                .unwrap();
            assert_eq!(e.0, NO_CARD);
            let e = build(speaker::signature(), speaker::build, "default", &mono_in())
                .err()
                .unwrap();
            assert_eq!(e.0, NO_CARD);
        }
    }

    #[test]
    fn an_unknown_device_is_named_in_the_error() {
        let e = build(
            speaker::signature(),
            speaker::build,
            "no-such-card",
            &mono_in(),
        )
        .err()
        .unwrap();
        assert!(
            e.0.contains("\"no-such-card\"") && e.0.contains("sluice devices"),
            "{e}"
        );
    }

    #[test]
    fn the_null_device_runs_as_a_smoke_test() {
        assert!(report()
            .unwrap()
            .devices
            .iter()
            .any(|d| crate::live::device::is_null(&d.id)));
        let mut spk = build(speaker::signature(), speaker::build, "null", &mono_in()).unwrap();
        let mut m = build(mic::signature(), mic::build, "null", &[]).unwrap();
        let tone = Frame::for_type(&MediaType::Audio { channels: 1 }, 480);
        let mut out = Frame::for_type(&MediaType::Audio { channels: 1 }, 480);
        for tick in 0..50u64 {
            let clock = Clock {
                tick,
                time: tick * 10_000_000,
                rate: 48_000,
                frame_samples: 480,
            };
            let inputs = [Some(&tone)];
            assert_eq!(
                spk.process(&mut PortIo::new(&inputs, &mut [], clock)),
                Flow::Continue
            );
            let mut outs = [&mut out];
            assert_eq!(
                m.process(&mut PortIo::new(&[], &mut outs, clock)),
                Flow::Continue
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let Frame::Audio(a) = &out else {
            unreachable!()
        };
        // ALSA's null device captures silence.
        assert!(a.channel(0).iter().all(|s| *s == 0.0));
        // Its callback runs unpaced, so it offers no clock: a real-time
        // graph on it stays on the system clock.
        assert!(spk.pace_clock().is_none());
        assert!(m.pace_clock().is_none());
        drop(spk);
        drop(m);
    }

    #[test]
    fn the_callback_counts_the_frames_it_plays() {
        use crate::live::device::{open, Ring};
        let (_tx, rx) = rtrb::RingBuffer::<f32>::new(4_800);
        let stream = open("null", 48_000, 1, Ring::Playback(rx)).unwrap();
        assert!(stream.null);
        let t0 = std::time::Instant::now();
        while stream.counter.frames() == 0 {
            assert!(t0.elapsed().as_secs() < 10, "the callback never ran");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(stream.counter.burst() > 0);
        assert!(stream.counter.burst() <= stream.counter.frames());
    }
}
