//! `meter`: RMS and peak levels in dBFS and a speaking flag, one event per
//! stream per period, for dashboards and "who is talking" indicators.

use super::speech_model::{self, VadLink};
use super::vad::Vad;
use crate::kernels::level::{dbfs, energy, peak};
use crate::period::{self, Period};
use crate::sig;
use sluice_dsl::{Accepts, Args, MediaType, OutType, Ports, Role, Signature};
use sluice_runtime::{
    BuildContext, Event, EventData, EventFrame, Flow, Frame, Nanos, Node, NodeError, PortIo,
    StreamId, StreamState,
};

/// The `meter` signature.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "meter",
        "Measures levels: one event per stream per period (`every`) with the RMS and \
         peak in dBFS (floored at -120) and whether the stream carried speech (at least \
         a fifth of the period's ticks voice-active: well above the stream's own noise \
         floor). Periods are whole ticks; an event's time is its period's start and its \
         id the participant (empty for plain audio; all channels of plain audio are \
         measured together). A participant leaving mid-period gets its partial period.",
        Role::Process,
        ports,
    );
    s.params.push(period::param(0.001, "metering period"));
    s.params.push(speech_model::param());
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::AudioOrBundle)],
        outputs: vec![sig::output("out", OutType::Fixed(MediaType::Events))],
        ..Ports::default()
    })
}

/// Builds a `meter`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let tick = ctx.settings.tick_seconds() as f32;
    let streams = match ctx.inputs.first().map(|p| p.ty) {
        Some(MediaType::Audio { .. }) => 1,
        Some(MediaType::Bundle { capacity }) => capacity as usize,
        other => {
            return Err(NodeError::new(format!(
                "meter needs audio or a bundle, got {other:?}"
            )))
        }
    };
    Ok(Box::new(Meter {
        node: ctx.index,
        period: Period::from_args(ctx)?,
        acc: vec![Acc::new(tick); streams],
        silero: speech_model::start(ctx, streams)?,
    }))
}

/// One stream's sums over the current period.
#[derive(Clone, Copy)]
struct Acc {
    id: StreamId,
    energy: f64,
    samples: u64,
    peak: f32,
    ticks: u32,
    voiced: u32,
    vad: Vad,
}

impl Acc {
    fn new(tick_seconds: f32) -> Acc {
        Acc {
            id: StreamId::default(),
            energy: 0.0,
            samples: 0,
            peak: 0.0,
            ticks: 0,
            voiced: 0,
            vad: Vad::new(tick_seconds),
        }
    }

    fn add(&mut self, e: f32, n: usize, p: f32) {
        self.energy += e as f64;
        self.samples += n as u64;
        self.peak = self.peak.max(p);
        self.ticks += 1;
        if self.vad.update(e / n.max(1) as f32) > 0.5 {
            self.voiced += 1;
        }
    }

    /// Emits the period's event (if the stream was present) and restarts;
    /// `speaking` overrides the energy decision (the speech model's).
    fn flush(&mut self, out: &mut EventFrame, time: Nanos, node: u32, speaking: Option<bool>) {
        if self.ticks == 0 {
            return;
        }
        let rms = (self.energy / self.samples.max(1) as f64).sqrt() as f32;
        out.push(Event {
            time,
            node,
            id: self.id,
            data: EventData::Level {
                rms_dbfs: dbfs(rms),
                peak_dbfs: dbfs(self.peak),
                speaking: speaking.unwrap_or(self.voiced > 0 && self.voiced * 5 >= self.ticks),
            },
        });
        self.energy = 0.0;
        self.samples = 0;
        self.peak = 0.0;
        self.ticks = 0;
        self.voiced = 0;
    }
}

struct Meter {
    node: u32,
    period: Period,
    acc: Vec<Acc>,
    silero: Option<VadLink>,
}

impl Meter {
    /// Stream `i`'s period event, with the model's `speaking` if it runs.
    fn flush(&mut self, i: usize, out: &mut EventFrame, tick: u64) {
        let speaking = self.silero.as_ref().map(|l| {
            l.settle(tick);
            l.take(i).1
        });
        self.acc[i].flush(out, self.period.start(), self.node, speaking);
    }
}

impl Node for Meter {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let clock = io.clock();
        let last = self.period.tick(&clock);
        let input = io.input(0);
        let out = io.events_out(0);
        match input {
            Some(Frame::Audio(a)) => {
                let e = (0..a.channels()).map(|c| energy(a.channel(c))).sum();
                let p = (0..a.channels()).fold(0.0f32, |m, c| m.max(peak(a.channel(c))));
                self.acc[0].add(e, a.data().len(), p);
                if let Some(l) = &mut self.silero {
                    l.push_mono(clock.tick, a.channel(0));
                }
            }
            Some(Frame::Bundle(b)) => {
                if let Some(l) = &mut self.silero {
                    l.push_bundle(clock.tick, b);
                }
                for (i, s) in b.slots().iter().enumerate() {
                    match s.state {
                        StreamState::Absent => continue,
                        StreamState::Joined => {
                            self.flush(i, out, clock.tick);
                            self.acc[i].vad.reset();
                            self.acc[i].id = s.id;
                        }
                        _ => {}
                    }
                    let samples = s.samples();
                    self.acc[i].add(energy(samples), samples.len(), peak(samples));
                    if s.state == StreamState::Left {
                        self.flush(i, out, clock.tick);
                    }
                }
            }
            _ => {}
        }
        if last {
            for i in 0..self.acc.len() {
                self.flush(i, out, clock.tick);
            }
        }
        Flow::Continue
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        self.silero.as_mut().map_or(Ok(()), VadLink::close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conference::testkit::{Rng, Script, TICK};
    use crate::test_support::{args, kind};
    use sluice_dsl::Arg;

    fn levels(f: &Frame) -> Vec<(Nanos, String, f32, f32, bool)> {
        let Frame::Events(e) = f else { panic!() };
        e.events()
            .iter()
            .map(|e| match e.data {
                EventData::Level {
                    rms_dbfs,
                    peak_dbfs,
                    speaking,
                } => (e.time, e.id.to_string(), rms_dbfs, peak_dbfs, speaking),
                _ => panic!("not a level"),
            })
            .collect()
    }

    #[test]
    fn sine_levels_every_100ms_with_period_start_times() {
        let a = args(&[("every", Arg::Num(0.1))]);
        let ty = MediaType::Audio { channels: 2 };
        let mut m = kind("meter")
            .args(a.clone())
            .inputs(&[ty])
            .outputs(&[MediaType::Events])
            .build()
            .unwrap();
        let mut input = Frame::for_type(&ty, TICK);
        let mut got = Vec::new();
        let mut n = 0u64;
        for t in 0..30u64 {
            if let Frame::Audio(f) = &mut input {
                for c in 0..2 {
                    for (i, s) in f.channel_mut(c).iter_mut().enumerate() {
                        let k = t as f32 * TICK as f32 + i as f32;
                        *s = 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * k / 48_000.0).sin();
                    }
                }
            }
            m.run_at(t, &[&input]);
            got.extend(levels(m.output(0)));
            n += 1;
        }
        assert_eq!(n, 30);
        assert_eq!(got.len(), 3);
        for (k, (time, id, rms, peak, _)) in got.iter().enumerate() {
            assert_eq!(*time, k as u64 * 100_000_000);
            assert_eq!(id, "");
            // 0.5 amplitude sine: RMS -9.03 dBFS, peak -6.02 dBFS.
            assert!((rms + 9.031).abs() < 0.01, "{rms}");
            assert!((peak + 6.021).abs() < 0.01, "{peak}");
        }
    }

    #[test]
    fn bundle_gives_one_event_per_present_stream_and_flags_speech() {
        let mut rng = Rng::new(9);
        let mut s = Script::new(3, 3.0);
        s.speak(&mut rng, 0, 0.0, 3.0, 0.3);
        s.noise(&mut rng, 1, 0.02);
        s.presence(2, 1.0, 1.55);
        s.noise(&mut rng, 2, 0.001);
        let ty = MediaType::Bundle { capacity: 3 };
        let a = args(&[("every", Arg::Num(0.1))]);
        let mut m = kind("meter")
            .args(a.clone())
            .inputs(&[ty])
            .outputs(&[MediaType::Events])
            .build()
            .unwrap();
        let mut input = Frame::for_type(&ty, TICK);
        let mut all = Vec::new();
        for t in 0..s.ticks {
            if let Frame::Bundle(b) = &mut input {
                s.fill(b, t);
            }
            m.run_at(t as u64, &[&input]);
            all.extend(levels(m.output(0)));
        }
        let of = |id: &str| all.iter().filter(|e| e.1 == id).collect::<Vec<_>>();
        assert_eq!(of("p0").len(), 30);
        assert_eq!(of("p1").len(), 30);
        // p2 is present 1.00 s to 1.55 s: five whole periods and a partial
        // one flushed when it leaves, stamped with its period's start.
        let p2 = of("p2");
        assert_eq!(p2.len(), 6);
        assert_eq!(p2[5].0, 1_500_000_000);
        // Speech is flagged in most periods of the speaker, never for the
        // steady noise of p1 (after its floor settles in the first period).
        let spoke = of("p0").iter().filter(|e| e.4).count();
        assert!(spoke >= 18, "p0 speaking in {spoke} of 30 periods");
        assert_eq!(of("p1").iter().skip(1).filter(|e| e.4).count(), 0);
        // p1's noise: RMS 0.02 = -34 dBFS.
        for e in of("p1") {
            assert!((e.2 + 34.0).abs() < 1.0, "{}", e.2);
        }
    }

    /// Speech-like modulated noise (syllable-rate bursts) fools the
    /// energy flag; the speech model is not fooled, and still hears the
    /// committed espeak-ng sentence.
    #[cfg(feature = "ml")]
    #[test]
    fn the_speech_model_tells_speech_from_bursts_of_noise() {
        let speech = crate::speech::testdata::padded_speech(48_000, 0.3);
        let mut rng = Rng::new(7);
        let seconds = speech.len() as f32 / 48_000.0;
        let mut s = Script::new(2, seconds);
        s.speak(&mut rng, 1, 0.0, seconds, 0.3);
        let ty = MediaType::Bundle { capacity: 2 };
        let mut spoke = |vad: &str| {
            let mut m = kind("meter")
                .args(args(&[("vad", Arg::Enum(vad.into()))]))
                .inputs(&[ty])
                .outputs(&[MediaType::Events])
                .build()
                .unwrap();
            let mut input = Frame::for_type(&ty, TICK);
            let mut all = Vec::new();
            for t in 0..s.ticks.min(speech.len() / TICK) {
                if let Frame::Bundle(b) = &mut input {
                    s.fill(b, t);
                    let slot = &mut b.slots_mut()[0];
                    slot.id = StreamId::new("talker");
                    slot.samples_mut()
                        .copy_from_slice(&speech[t * TICK..(t + 1) * TICK]);
                }
                m.run_at(t as u64, &[&input]);
                all.extend(levels(m.output(0)));
            }
            m.finish().unwrap();
            let share = |id: &str| {
                let of: Vec<_> = all.iter().filter(|e| e.1 == id).collect();
                of.iter().filter(|e| e.4).count() as f32 / of.len() as f32
            };
            (share("talker"), share("p1"))
        };
        let (talker, bursts) = spoke("energy");
        assert!(bursts > 0.3, "energy flags the bursts in {bursts}");
        let (talker_m, bursts_m) = spoke("silero");
        eprintln!("meter speaking: energy talker {talker:.2} bursts {bursts:.2}; silero talker {talker_m:.2} bursts {bursts_m:.2}");
        assert!(talker_m > 0.5, "silero heard the talker in {talker_m}");
        assert!(bursts_m < 0.1, "silero flagged the bursts in {bursts_m}");
    }
}
