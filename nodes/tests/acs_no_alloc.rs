//! `acs_in` and `acs_out` never allocate or free in `process` or `set`:
//! a counting global allocator watches only those calls, over thousands
//! of ticks with participants joining, speaking, going silent, leaving,
//! one catching up after a stall (its queue shortened), a barge-in, and
//! the call closing.

use sluice_dsl::{Arg, MediaType, PlanPort, Settings};
use sluice_nodes::acs::call::CallSetup;
use sluice_nodes::acs::protocol::{AudioData, AudioMetadata, Dtmf};
use sluice_nodes::acs::stats::CallStats;
use sluice_nodes::acs::{acs_in, acs_out};
use sluice_runtime::counting::{self, CountingAlloc};
use sluice_runtime::{BuildContext, Clock, Flow, Frame, PortIo};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn watch<R>(f: impl FnOnce() -> R) -> R {
    counting::watch(f).0
}

#[test]
fn acs_nodes_do_not_allocate_while_running() {
    let meta = AudioMetadata {
        subscription_id: "s".into(),
        sample_rate: 24_000,
        channels: 1,
        length: 960,
    };
    let settings = Settings::default();
    let mut in_args = acs_in::signature().default_args();
    in_args.set("capacity", Arg::Num(4.0));
    in_args.set("leave_after", Arg::Num(0.2));
    let out_args = acs_out::signature().default_args();
    let ctx = BuildContext {
        name: "n",
        index: 0,
        args: &in_args,
        inputs: &[PlanPort {
            name: "in".into(),
            ty: MediaType::Audio { channels: 1 },
            connected: true,
        }],
        outputs: &[],
        settings: &settings,
        node_names: &[],
    };
    let setup = CallSetup::new(&meta);
    let mut input = acs_in::build(&ctx, &setup).unwrap();
    let out_ctx = BuildContext {
        args: &out_args,
        ..ctx
    };
    let mut output = acs_out::build(&out_ctx, &setup).unwrap();
    let mut side = setup.take_side();
    let mut bundle = Frame::for_type(&MediaType::Bundle { capacity: 4 }, 480);
    let mut events = Frame::for_type(&MediaType::Events, 480);
    let mut mixed = Frame::for_type(&MediaType::Audio { channels: 1 }, 480);
    let tone: Vec<i16> = (0..480).map(|i| ((i * 37) % 2000) as i16 - 1000).collect();
    let before = counting::counts();
    let mut flow = Flow::Continue;
    for tick in 0..3000u64 {
        // The connection's side (allowed to allocate): six participants
        // for capacity four, coming and going, one of them silent.
        // At tick 10, p1 sends 100 ms at once (a stalled client catching
        // up) and stays that far ahead: its queue is left deep.
        let inbound = side.inbound.as_mut().unwrap();
        if tick % 2 == 0 && tick < 2900 {
            for p in 0..6u64 {
                if (tick / 400 + p) % 3 == 0 {
                    continue;
                }
                let sent = match (p, tick) {
                    (1, 10) => 10..=20,
                    (1, 12..) => tick + 10..=tick + 10,
                    _ => tick..=tick,
                };
                for t in sent.step_by(2) {
                    inbound.audio(&AudioData {
                        timestamp: Some(1_700_000_000_000_000 + t as i64 * 10_000),
                        bad_timestamp: false,
                        participant: format!("p{p}"),
                        samples: tone.clone(),
                        silent: p == 5,
                    });
                }
            }
        }
        if tick % 500 == 7 {
            inbound.dtmf(&Dtmf {
                tone: '5',
                participant: "p1".into(),
            });
        }
        if tick == 2950 {
            inbound.close();
        }
        let clock = Clock {
            tick,
            time: tick * 10_000_000,
            rate: 48_000,
            frame_samples: 480,
        };
        if let Frame::Events(e) = &mut events {
            e.clear();
        }
        flow = watch(|| {
            let mut outs = [&mut bundle, &mut events];
            input.process(&mut PortIo::new(&[], &mut outs, clock))
        });
        let Frame::Bundle(b) = &bundle else {
            unreachable!()
        };
        if let Frame::Audio(a) = &mut mixed {
            a.silence();
            for (_, s) in b.present() {
                for (o, v) in a.channel_mut(0).iter_mut().zip(s.samples()) {
                    *o += v;
                }
            }
        }
        watch(|| {
            let inputs = [Some(&mixed)];
            output.process(&mut PortIo::new(&inputs, &mut [], clock));
            if tick % 1000 == 999 {
                output.set("stop", &Arg::Bool(true)).unwrap();
            }
        });
        let out = side.outbound.as_mut().unwrap();
        out.take_stop();
        out.pump().unwrap();
        while out.front().is_some() {
            out.sent();
        }
        if flow == Flow::Ended {
            break;
        }
    }
    assert_eq!(flow, Flow::Ended, "the call's close did not end acs_in");
    assert!(
        CallStats::get(&side.stats.dropped_in) > 0,
        "p1's head start was never shortened"
    );
    let counted = counting::counts().since(before);
    assert!(counted.is_zero(), "allocations in process/set: {counted:?}");
}
