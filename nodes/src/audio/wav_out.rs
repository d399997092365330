//! `wav_out`: writes audio to a WAV file, or every participant of a bundle
//! to a file of its own.
//!
//! Per-participant files: ids are not known when the graph is built (they
//! arrive with the bundle), so `wav_out` preallocates a pool of writers,
//! twice the bundle's capacity, each with its buffers and room for its
//! path, and opens a participant's file when the participant first
//! appears. Every file starts at the graph's time zero (silence before the
//! participant joined). A participant who leaves keeps its writer, so a
//! return continues the same file after a gap of silence; when every writer
//! is taken, the one whose participant left longest ago is finalised and
//! reused (its id is remembered, so a later return reopens the file and
//! appends). Files are opened with paths under 384 bytes, which the
//! standard library converts on the stack, so none of this allocates.

use super::wav_write::{SampleFormat, WavWriter};
use crate::sig::{choice, choice_arg, input, param, required, signature as sig};
use sluice_dsl::{
    Accepts, Args, Constraint, Finding, MediaType, ParamType, Ports, Role, RuleInput, Signature,
};
use sluice_runtime::{
    BuildContext, BundleFrame, Flow, Node, NodeError, PortIo, StreamId, StreamState,
};

/// The `wav_out` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "wav_out",
        "Writes audio to a WAV file (16-bit PCM, or `format: f32`), creating \
         its folders. A bundle writes one mono file per participant: `{id}` \
         in the path becomes the participant's id, with every character \
         outside A-Za-z0-9._- replaced by `_`; every file starts at the \
         graph's time zero. Files are complete and valid when the graph \
         stops.",
        Role::Sink,
        ports,
    );
    s.params = vec![
        required("path", ParamType::Path, "output file; `{id}` for a bundle"),
        param(
            "format",
            choice(&["s16", "f32"]),
            choice_arg("s16"),
            "sample format",
        ),
    ];
    s.io = true;
    s
}

fn ports(args: &Args) -> Result<Ports, String> {
    let path = args.need_str("path")?;
    if path.is_empty() {
        return Err("path is empty".into());
    }
    Ok(Ports {
        inputs: vec![input("in", Accepts::AudioOrBundle)],
        constraints: vec![Constraint::Rule(id_for_bundles)],
        ..Ports::default()
    })
}

/// What `build` refuses: a bundle's participants each need a file, so the
/// path must say where the id goes.
fn id_for_bundles(r: &RuleInput) -> Vec<Finding> {
    let path = match r.args.need_str("path") {
        Ok(p) => p,
        Err(e) => return crate::sig::arg_error(e),
    };
    if !matches!(r.inputs.first(), Some(Some(MediaType::Bundle { .. }))) || path.contains("{id}") {
        return Vec::new();
    }
    let with_id = match path.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') => format!("{stem}_{{id}}.{ext}"),
        _ => format!("{path}_{{id}}"),
    };
    vec![Finding::error(
        Some("path"),
        "a bundle writes one file per participant: the path needs `{id}`",
        "no `{id}` in this path",
    )
    .with_help(format!(
        "write `path: \"{with_id}\"`, or mix the bundle down first (`-> mix ->`)"
    ))]
}

/// `id` as it goes into a path: every char outside `A-Za-z0-9._-` is `_`.
pub fn sanitize_into(out: &mut String, id: &str) {
    for ch in id.chars() {
        let keep = ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-');
        out.push(if keep { ch } else { '_' });
    }
}

/// Creates the folder that will hold `path`, if it has one.
fn create_parent(path: &str) -> std::io::Result<()> {
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

/// Opens the file (or the first participant file's folder) and
/// preallocates every writer.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let path = ctx.args.need_str("path")?.to_string();
    let format = match ctx.args.need_str("format")? {
        "f32" => SampleFormat::F32,
        _ => SampleFormat::S16,
    };
    let n = ctx.settings.frame_samples as usize;
    let rate = ctx.settings.rate;
    match ctx.inputs.first().map(|p| p.ty) {
        Some(MediaType::Bundle { capacity }) => {
            if !path.contains("{id}") {
                return Err(NodeError::new(format!(
                    "a bundle writes one file per participant: put {{id}} in the path ({path})"
                )));
            }
            let static_dir = path.split("{id}").next().unwrap_or("");
            let static_dir = &static_dir[..static_dir.rfind('/').map_or(0, |i| i + 1)];
            if !static_dir.is_empty() {
                std::fs::create_dir_all(static_dir)
                    .map_err(|e| NodeError::new(format!("{static_dir}: {e}")))?;
            }
            let pool = (capacity as usize * 2).max(2);
            let path_room = path.len() + path.matches("{id}").count() * StreamId::CAPACITY;
            Ok(Box::new(BundleOut {
                template: path,
                writers: (0..pool)
                    .map(|_| Seat {
                        writer: WavWriter::new(1, rate, format, n),
                        id: None,
                        gone_since: Some(0),
                        path: String::with_capacity(path_room),
                    })
                    .collect(),
                slots: vec![None; capacity as usize],
                recycled: Vec::with_capacity(RECYCLED_IDS),
                failure: None,
                lost: 0,
            }))
        }
        Some(MediaType::Audio { channels }) => {
            create_parent(&path).map_err(|e| NodeError::new(format!("{path}: {e}")))?;
            let mut writer = WavWriter::new(channels, rate, format, n);
            writer
                .create(&path)
                .map_err(|e| NodeError::new(format!("{path}: {e}")))?;
            Ok(Box::new(AudioOut {
                path,
                writer,
                failure: None,
            }))
        }
        other => Err(NodeError::new(format!(
            "wav_out takes audio or a bundle, not {other:?}"
        ))),
    }
}

/// Ids of recycled writers remembered so their files are appended to.
const RECYCLED_IDS: usize = 4096;

struct AudioOut {
    path: String,
    writer: WavWriter,
    failure: Option<std::io::Error>,
}

impl Node for AudioOut {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(x) = io.audio_in(0) else {
            return Flow::Continue;
        };
        if self.failure.is_none() {
            if let Err(e) = self.writer.write(x.len(), |c| x.channel(c)) {
                self.failure = Some(e);
            }
        }
        Flow::Continue
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        let done = self.writer.finalize();
        report(
            &self.path,
            self.failure.take().map_or(done, Err),
            self.writer.overflow(),
        )
    }
}

/// A clear message for a write failure or frames lost to the size limit.
fn report(path: &str, result: std::io::Result<()>, overflow: u64) -> Result<(), NodeError> {
    result.map_err(|e| NodeError::new(format!("{path}: {e}")))?;
    if overflow > 0 {
        return Err(NodeError::new(format!(
            "{path}: reached the 4 GiB WAV limit; the last {overflow} frames were not written"
        )));
    }
    Ok(())
}

/// One pooled writer and whose file it holds.
struct Seat {
    writer: WavWriter,
    id: Option<StreamId>,
    /// Tick the participant left (`Some(0)` for a never-used seat).
    gone_since: Option<u64>,
    path: String,
}

struct BundleOut {
    template: String,
    writers: Vec<Seat>,
    /// The seat of each bundle slot's participant.
    slots: Vec<Option<usize>>,
    recycled: Vec<StreamId>,
    failure: Option<std::io::Error>,
    /// Participants not written (too many recycled ids to track, or a
    /// file that could not be opened).
    lost: u64,
}

impl BundleOut {
    /// The seat for `id`, opening its file if needed.
    fn seat_for(&mut self, id: StreamId) -> Option<usize> {
        if let Some(i) = self.writers.iter().position(|s| s.id == Some(id)) {
            self.writers[i].gone_since = None;
            return Some(i);
        }
        let i = self
            .writers
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.gone_since.map(|t| (t, s.id.is_some(), i)))
            .min()
            .map(|(_, _, i)| i)?;
        if let Some(old) = self.writers[i].id.take() {
            if let Err(e) = self.writers[i].writer.finalize() {
                self.failure.get_or_insert(e);
            }
            if self.recycled.len() < self.recycled.capacity() {
                self.recycled.push(old);
            }
        }
        let seat = &mut self.writers[i];
        seat.path.clear();
        let mut parts = self.template.split("{id}");
        if let Some(first) = parts.next() {
            seat.path.push_str(first);
        }
        for rest in parts {
            sanitize_into(&mut seat.path, id.as_str());
            seat.path.push_str(rest);
        }
        let opened = create_parent(&seat.path).and_then(|()| {
            if self.recycled.contains(&id) {
                seat.writer.reopen(&seat.path)
            } else {
                seat.writer.create(&seat.path)
            }
        });
        if let Err(e) = opened {
            self.failure.get_or_insert(e);
            self.lost += 1;
            return None;
        }
        seat.id = Some(id);
        seat.gone_since = None;
        Some(i)
    }

    fn write_bundle(&mut self, b: &BundleFrame, tick: u64, start: u64) {
        for (slot, s) in b.slots().iter().enumerate() {
            if !s.state.present() {
                self.leave(slot, tick);
                continue;
            }
            let mapped = self.slots[slot].filter(|&w| self.writers[w].id == Some(s.id));
            let seat = match mapped {
                Some(w) => w,
                None => {
                    self.leave(slot, tick);
                    let Some(w) = self.seat_for(s.id) else {
                        continue;
                    };
                    self.slots[slot] = Some(w);
                    w
                }
            };
            let w = &mut self.writers[seat].writer;
            let gap = start.saturating_sub(w.frames());
            let result = w
                .write_silence(gap)
                .and_then(|()| w.write(s.samples().len(), |_| s.samples()));
            if let Err(e) = result {
                self.failure.get_or_insert(e);
            }
            if s.state == StreamState::Left {
                self.leave(slot, tick);
            }
        }
    }

    /// Marks the participant of `slot` as gone (its file stays open).
    fn leave(&mut self, slot: usize, tick: u64) {
        if let Some(w) = self.slots[slot].take() {
            self.writers[w].gone_since = Some(tick + 1);
        }
    }
}

impl Node for BundleOut {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let clock = io.clock();
        let Some(b) = io.bundle_in(0) else {
            return Flow::Continue;
        };
        self.write_bundle(b, clock.tick, clock.tick * clock.frame_samples as u64);
        Flow::Continue
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        let mut first: Result<(), NodeError> = Ok(());
        for seat in &mut self.writers {
            let done = report(&seat.path, seat.writer.finalize(), seat.writer.overflow());
            if first.is_ok() {
                first = done;
            }
        }
        if let Some(e) = self.failure.take() {
            return Err(NodeError::new(format!(
                "{}: {e} ({} participants not written)",
                self.template, self.lost
            )));
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args, audio_frame, STEREO};
    use sluice_dsl::Arg;
    use sluice_runtime::testing::NodeHarness;
    use sluice_runtime::Frame;

    fn read(path: &std::path::Path) -> (hound::WavSpec, Vec<i16>) {
        let mut r = hound::WavReader::open(path).unwrap();
        let spec = r.spec();
        (spec, r.samples::<i16>().map(Result::unwrap).collect())
    }

    #[test]
    fn audio_input_writes_one_interleaved_file_in_new_folders() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/out.wav");
        let a = args(&[
            ("path", Arg::Str(path.to_str().unwrap().into())),
            ("format", Arg::Enum("s16".into())),
        ]);
        let h = NodeHarness::of(signature(), build)
            .args(a)
            .inputs(&[STEREO])
            .outputs(&[]);
        let mut node = h.build().unwrap();
        let left: Vec<f32> = (0..480).map(|i| i as f32 / 480.0).collect();
        let right: Vec<f32> = left.iter().map(|s| -s * 2.0).collect();
        let f = audio_frame(&[&left, &right]);
        for t in 0..3 {
            node.run_at(t, &[&f]);
        }
        node.finish().unwrap();
        let (spec, s) = read(&path);
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 48_000, 16)
        );
        assert_eq!(s.len(), 2 * 1440);
        for i in 0..1440 {
            let want = (left[i % 480] * 32768.0).round_ties_even().min(32767.0) as i16;
            assert_eq!(s[2 * i], want);
            let want = (right[i % 480] * 32768.0).round_ties_even().max(-32768.0) as i16;
            assert_eq!(s[2 * i + 1], want, "clipped, not wrapped");
        }
    }

    /// Runs a bundle of `capacity` through `wav_out`; `script[t]` lists
    /// (slot, id, state, value) for tick t.
    fn run_bundle(
        template: &str,
        capacity: u32,
        script: &[&[(usize, &str, StreamState, f32)]],
    ) -> NodeHarness {
        let ty = MediaType::Bundle { capacity };
        let a = args(&[
            ("path", Arg::Str(template.into())),
            ("format", Arg::Enum("s16".into())),
        ]);
        let h = NodeHarness::of(signature(), build)
            .args(a)
            .inputs(&[ty])
            .outputs(&[]);
        let mut node = h.build().unwrap();
        let mut frame = Frame::for_type(&ty, 480);
        for (t, events) in script.iter().enumerate() {
            let Frame::Bundle(b) = &mut frame else {
                unreachable!()
            };
            b.clear();
            for &(slot, id, state, v) in events.iter() {
                let s = &mut b.slots_mut()[slot];
                s.id = StreamId::new(id);
                s.state = state;
                s.samples_mut().fill(v);
            }
            node.run_at(t as u64, &[&frame]);
        }
        node.finish().unwrap();
        node
    }

    fn levels(path: &std::path::Path) -> Vec<i16> {
        read(path).1.chunks(480).map(|c| c[0]).collect()
    }

    #[test]
    fn one_file_per_participant_from_time_zero_with_gaps_silent() {
        use StreamState::*;
        let dir = tempfile::tempdir().unwrap();
        let template = format!("{}/calls/{{id}}/voice.wav", dir.path().display());
        run_bundle(
            &template,
            2,
            &[
                &[(0, "alice", Joined, 0.5)],
                &[(0, "alice", Active, 0.5), (1, "bob/x y", Joined, 0.25)],
                &[(0, "alice", Left, 0.5), (1, "bob/x y", Active, 0.25)],
                &[(1, "bob/x y", Silent, 0.0)],
                &[(0, "alice", Joined, 0.125), (1, "bob/x y", Active, 0.25)],
            ],
        );
        let alice = dir.path().join("calls/alice/voice.wav");
        assert_eq!(levels(&alice), [16384, 16384, 16384, 0, 4096]);
        let bob = dir.path().join("calls/bob_x_y/voice.wav");
        assert_eq!(levels(&bob), [0, 8192, 8192, 0, 8192]);
    }

    #[test]
    fn recycled_writers_reopen_and_append_when_a_participant_returns() {
        use StreamState::*;
        let dir = tempfile::tempdir().unwrap();
        let template = format!("{}/{{id}}.wav", dir.path().display());
        run_bundle(
            &template,
            1,
            &[
                &[(0, "a", Joined, 0.5)],
                &[(0, "b", Joined, 0.25)],
                &[(0, "c", Joined, 0.125)],
                &[(0, "a", Joined, 0.5)],
            ],
        );
        let level = |id: &str| levels(&dir.path().join(format!("{id}.wav")));
        assert_eq!(level("a"), [16384, 0, 0, 16384]);
        assert_eq!(level("b"), [0, 8192]);
        assert_eq!(level("c"), [0, 0, 4096]);
    }

    #[test]
    fn bundle_without_id_in_the_path_is_an_error() {
        let ty = MediaType::Bundle { capacity: 4 };
        let h = NodeHarness::of(signature(), build)
            .args(args(&[("path", Arg::Str("out.wav".into()))]))
            .inputs(&[ty])
            .outputs(&[]);
        assert!(h.build().err().unwrap().0.contains("{id}"));
    }

    #[test]
    fn sanitizes_ids() {
        let mut s = String::new();
        sanitize_into(&mut s, "8:acs:é/..x-Y_z");
        assert_eq!(s, "8_acs___..x-Y_z", "one `_` per char, even multibyte");
    }
}
