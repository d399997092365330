//! `participants`: a bundle of call participants, from WAV files (ids =
//! file stems) or synthetic speech-like voices (`voice1`..`voiceN`).

use super::voices::Conversation;
use super::wav_streams::FileStream;
use crate::kernels::level::peak;
use crate::sig;
use sluice_dsl::{
    Arg, Args, Constraint, Finding, MediaType, OutType, ParamType, Ports, Role, RuleInput,
    Signature,
};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, StreamId, StreamState};
use std::path::PathBuf;

/// The most synthetic voices (a bundle's slots are allocated at build).
const MAX_SYNTH: i64 = 10_000;

/// The `participants` signature.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "participants",
        "A bundle of call participants. `path` (a glob, matched at check time to size \
         the bundle) or `paths` (a list): one participant per WAV file (mono, or stereo \
         averaged; resampled to the graph rate), id = file stem, joining at \
         the start and leaving when its file ends. Or `synth: N` [`seed`]: N synthetic \
         speech-like voices `voice1`..`voiceN` (pitch with vibrato and intonation, \
         formants, syllables at 3-6 Hz, pauses, different loudness, turn-taking so \
         usually one or two speak at once, joining and leaving over time); endless.",
        Role::AudioSource,
        ports,
    );
    s.io = true;
    s.endless = |a| a.get("synth").is_some();
    s.params = vec![
        sig::optional(
            "path",
            ParamType::Path,
            "glob of WAV files, one per participant",
        ),
        sig::optional(
            "paths",
            ParamType::List(Box::new(ParamType::Path)),
            "WAV files",
        ),
        sig::optional(
            "synth",
            sig::int(1, MAX_SYNTH),
            "number of synthetic voices",
        ),
        sig::param(
            "seed",
            sig::int(0, i64::from(u32::MAX)),
            Arg::Num(1.0),
            "seed of the synthetic voices",
        ),
    ];
    s
}

/// Where the participants come from.
enum Source {
    Files(Vec<PathBuf>, Vec<String>),
    Synth(usize, u64),
}

fn source(args: &Args) -> Result<Source, String> {
    let given = ["path", "paths", "synth"].map(|k| args.get(k).is_some());
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(
            "participants needs exactly one of `path` (a glob), `paths` (a list) or `synth: N`"
                .into(),
        );
    }
    if let Some(n) = args.num("synth") {
        return Ok(Source::Synth(n as usize, args.need_num("seed")? as u64));
    }
    if let Some(pattern) = args.str("path") {
        let found = glob::glob(pattern).map_err(|e| format!("bad glob `{pattern}`: {e}"))?;
        let files: Vec<PathBuf> = found
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        let warnings = if files.is_empty() {
            vec![format!("no file matches `{pattern}`")]
        } else {
            Vec::new()
        };
        return Ok(Source::Files(files, warnings));
    }
    let list = args.list("paths").unwrap_or_default();
    let mut files = Vec::with_capacity(list.len());
    let mut warnings = Vec::new();
    for a in list {
        let p = PathBuf::from(a.as_str().ok_or("`paths` must be a list of paths")?);
        if !p.is_file() {
            warnings.push(format!("{} does not exist yet", p.display()));
        }
        files.push(p);
    }
    if files.is_empty() {
        return Err("`paths` is empty".into());
    }
    Ok(Source::Files(files, warnings))
}

fn ports(args: &Args) -> Result<Ports, String> {
    let (capacity, warnings) = match source(args)? {
        Source::Synth(n, _) => (n, Vec::new()),
        Source::Files(f, w) => (f.len().max(1), w),
    };
    Ok(Ports {
        inputs: Vec::new(),
        outputs: vec![sig::output(
            "out",
            OutType::Fixed(MediaType::Bundle {
                capacity: capacity as u32,
            }),
        )],
        warnings,
        constraints: vec![Constraint::Rule(playable)],
    })
}

/// What `build` refuses among the files there now: one it cannot play
/// (opened exactly as `build` opens it, for this rate and tick), and two
/// files with one stem (ids must differ).
fn playable(r: &RuleInput) -> Vec<Finding> {
    let Ok(Source::Files(paths, _)) = source(r.args) else {
        return Vec::new();
    };
    let param = if r.args.get("path").is_some() {
        "path"
    } else {
        "paths"
    };
    let (rate, tick) = (r.settings.rate, r.settings.frame_samples as usize);
    let mut found = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        if p.is_file() {
            if let Err(e) = FileStream::open(p, rate, tick) {
                found.push(Finding::error(
                    Some(param),
                    e.to_string(),
                    "a file that cannot be played",
                ));
            }
        }
        if let Some(q) = paths[..i].iter().find(|q| q.file_stem() == p.file_stem()) {
            let stem = p.file_stem().unwrap_or_default().to_string_lossy();
            found.push(
                Finding::error(
                    Some(param),
                    format!(
                        "{} and {} have the same stem `{stem}`: participant ids must differ",
                        q.display(),
                        p.display()
                    ),
                    "two participants with one id",
                )
                .with_help("rename one of the files (ids are file stems)"),
            );
        }
    }
    found
}

/// Builds a `participants`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let rate = ctx.settings.rate;
    let tick = ctx.settings.frame_samples as usize;
    match source(ctx.args).map_err(NodeError::new)? {
        Source::Synth(n, seed) => Ok(Box::new(Synth {
            conv: Conversation::new(n, seed, rate, tick),
            ids: (1..=n)
                .map(|i| StreamId::new(&format!("voice{i}")))
                .collect(),
            was: vec![false; n],
        })),
        Source::Files(paths, _) => {
            if paths.is_empty() {
                let pattern = ctx.args.str("path").unwrap_or_default();
                return Err(NodeError::new(format!("no file matches `{pattern}`")));
            }
            let files = paths
                .iter()
                .map(|p| FileStream::open(p, rate, tick))
                .collect::<Result<Vec<_>, _>>()?;
            for (i, f) in files.iter().enumerate() {
                if let Some(j) = files[..i].iter().position(|g| g.id() == f.id()) {
                    return Err(NodeError::new(format!(
                        "{} and {} have the same stem `{}`: participant ids must differ",
                        paths[j].display(),
                        paths[i].display(),
                        f.id()
                    )));
                }
            }
            Ok(Box::new(Files { files }))
        }
    }
}

struct Files {
    files: Vec<FileStream>,
}

impl Node for Files {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let out = io.bundle_out(0);
        for (f, slot) in self.files.iter_mut().zip(out.slots_mut()) {
            f.tick(slot);
        }
        if self.files.iter().all(FileStream::done) {
            Flow::Ended
        } else {
            Flow::Continue
        }
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        match self.files.iter_mut().find_map(FileStream::take_error) {
            Some(e) => Err(NodeError::new(e)),
            None => Ok(()),
        }
    }
}

struct Synth {
    conv: Conversation,
    ids: Vec<StreamId>,
    was: Vec<bool>,
}

impl Node for Synth {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        self.conv.step();
        let out = io.bundle_out(0);
        for (i, slot) in out.slots_mut().iter_mut().enumerate() {
            let (now, was) = (self.conv.present[i], self.was[i]);
            self.was[i] = now;
            self.conv.voices[i].render(slot.samples_mut());
            slot.id = self.ids[i];
            slot.state = match (was, now) {
                (false, true) => StreamState::Joined,
                (true, false) => StreamState::Left,
                (false, false) => StreamState::Absent,
                (true, true) if peak(slot.samples()) == 0.0 => StreamState::Silent,
                (true, true) => StreamState::Active,
            };
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests;
