//! `wav_in`: a WAV file (or standard input) as an audio source, resampled
//! to the graph rate when the file's rate differs.

use super::wav_read::probe;
use super::wav_stream::WavStream;
use crate::sig::{audio, output, param, required, signature as sig};
use sluice_dsl::{
    Arg, Args, Constraint, Finding, MediaType, ParamType, Ports, Role, RuleInput, Signature,
};
use sluice_runtime::{AudioFrame, BuildContext, Flow, Node, NodeError, PortIo};

/// The `wav_in` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "wav_in",
        "Reads a WAV file (8/16/24/32-bit integer or 32-bit float) as audio, \
         block by block. A file at another rate is resampled to the graph \
         rate (rubato's FFT resampler, delay compensated). \"-\" reads \
         standard input, including ffmpeg's open-ended pipe output (`ffmpeg \
         -i in.mp4 -f wav - |`); it cannot be probed before the run, so it is \
         typed mono (a stereo stream is averaged). With `loop` the file \
         starts over at its end and never ends.",
        Role::AudioSource,
        ports,
    );
    s.params = vec![
        required(
            "path",
            ParamType::Path,
            "WAV file, or \"-\" for standard input",
        ),
        param(
            "loop",
            ParamType::Bool,
            Arg::Bool(false),
            "start over at the end",
        ),
    ];
    s.io = true;
    s.endless = |a: &Args| a.need_bool("loop") == Ok(true);
    s
}

/// Probes the file's header for its channel count; a missing file is a
/// warning at check time (mono assumed) and an error at run time, an
/// unreadable one an error (from `readable`, at the path).
fn ports(args: &Args) -> Result<Ports, String> {
    let path = args.need_str("path")?;
    let mut warnings = Vec::new();
    let channels = if path == "-" {
        1
    } else if std::path::Path::new(path).exists() {
        probe(path).map_or(1, |f| f.channels)
    } else {
        warnings.push(format!("{path} does not exist (yet); assuming mono"));
        1
    };
    Ok(Ports {
        outputs: vec![output("out", audio(channels))],
        warnings,
        constraints: vec![Constraint::Rule(readable)],
        ..Ports::default()
    })
}

/// What `build` refuses: a file whose header it cannot read (with the
/// ffmpeg pipe that converts a file that is not WAV at all), and `loop`
/// on standard input, which cannot start over.
fn readable(r: &RuleInput) -> Vec<Finding> {
    let path = match crate::sig::file_to_probe(r) {
        Ok(path) => path,
        Err(findings) => return findings,
    };
    let Err(e) = probe(path) else {
        return Vec::new();
    };
    if !std::path::Path::new(path).exists() {
        return Vec::new();
    }
    let finding = Finding::error(Some("path"), e, "not a WAV file `wav_in` can read");
    if riff_wave(path) {
        return vec![finding];
    }
    vec![finding.with_help(format!(
        "ffmpeg converts other formats as they are read: \
         `ffmpeg -i {path} -f wav - | sluice run -e 'wav_in(path: \"-\") -> ...'`"
    ))]
}

/// Whether the file starts as a WAV file does (`RIFF`, size, `WAVE`).
fn riff_wave(path: &str) -> bool {
    use std::io::Read;
    let mut head = [0u8; 12];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head[..4] == b"RIFF" && &head[8..] == b"WAVE")
}

/// Opens the file and sizes every buffer (and the resampler) for the run.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let path = ctx.args.need_str("path")?;
    let looping = ctx.args.need_bool("loop")?;
    let n = ctx.settings.frame_samples as usize;
    let planned = match ctx.outputs.first().map(|p| p.ty) {
        Some(MediaType::Audio { channels }) => usize::from(channels),
        _ => 1,
    };
    let stream = WavStream::open(path, ctx.settings.rate, n, looping).map_err(NodeError::new)?;
    let file_ch = usize::from(stream.format().channels);
    if file_ch != planned && planned != 1 && file_ch != 1 {
        return Err(NodeError::new(format!(
            "{path} has {file_ch} channels, but the graph was checked for {planned}"
        )));
    }
    Ok(Box::new(WavIn {
        stream,
        scratch: vec![0.0; file_ch * n],
        failed: None,
    }))
}

struct WavIn {
    stream: WavStream,
    /// One tick of the file's channels, planar, when they need mapping to
    /// the output's channels.
    scratch: Vec<f32>,
    /// A read error that ended the stream early.
    failed: Option<String>,
}

/// Writes the file's channels to the output: same count copies, to mono
/// averages, from mono copies to every channel.
fn map_channels(scratch: &[f32], file_ch: usize, n: usize, out: &mut AudioFrame) {
    let ch = |c: usize| &scratch[c * n..(c + 1) * n];
    if file_ch == out.channels() || file_ch == 1 {
        for c in 0..out.channels() {
            out.channel_mut(c).copy_from_slice(ch(c.min(file_ch - 1)));
        }
    } else {
        let o = out.channel_mut(0);
        o.copy_from_slice(ch(0));
        for c in 1..file_ch {
            crate::kernels::mix::accumulate(o, ch(c));
        }
        crate::kernels::gain::gain(o, 1.0 / file_ch as f32);
    }
}

impl Node for WavIn {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let n = io.clock().frame_samples;
        let file_ch = usize::from(self.stream.format().channels);
        let out = io.audio_out(0);
        // Same channels: decode (or resample) straight into the output.
        let direct = out.channels() == file_ch;
        let block = if direct {
            out.data_mut()
        } else {
            &mut self.scratch[..]
        };
        let valid = self.stream.next(block, n).unwrap_or_else(|e| {
            // A read error ends the stream; the message (allocated only on
            // this failure path) is reported by `finish`.
            self.failed = Some(e);
            block.fill(0.0);
            0
        });
        if !direct {
            map_channels(&self.scratch, file_ch, n, out);
        }
        if self.stream.ended() || valid < n {
            Flow::Ended
        } else {
            Flow::Continue
        }
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        self.failed
            .take()
            .map_or(Ok(()), |e| Err(NodeError::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args, MONO};
    use sluice_runtime::testing::NodeHarness;
    use std::f64::consts::TAU;

    fn write_sine(path: &std::path::Path, rate: u32, channels: u16, freq: f64, frames: usize) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..frames {
            let v = (TAU * freq * i as f64 / f64::from(rate)).sin() * 0.5;
            for c in 0..channels {
                let s = if c == 0 { v } else { -v };
                w.write_sample((s * 32767.0).round() as i16).unwrap();
            }
        }
        w.finalize().unwrap();
    }

    fn read_all(path: &str, channels: u16, looping: bool, max_ticks: u64) -> (Vec<Vec<f32>>, u64) {
        let a = args(&[
            ("path", Arg::Str(path.into())),
            ("loop", Arg::Bool(looping)),
        ]);
        let ty = MediaType::Audio { channels };
        let h = NodeHarness::of(signature(), build).args(a).outputs(&[ty]);
        let mut node = h.build().unwrap();
        let mut all = vec![Vec::new(); usize::from(channels)];
        for t in 0..max_ticks {
            let flow = node.run_at(t, &[]);
            for (c, v) in all.iter_mut().enumerate() {
                v.extend_from_slice(node.audio(0).channel(c));
            }
            if flow == Flow::Ended {
                return (all, t + 1);
            }
        }
        (all, max_ticks)
    }

    #[test]
    fn same_rate_reads_samples_exactly_and_ends() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.wav");
        write_sine(&p, 48_000, 2, 1000.0, 1000);
        let probed = ports(&args(&[("path", Arg::Str(p.to_str().unwrap().into()))])).unwrap();
        assert!(matches!(
            probed.outputs[0].ty,
            sluice_dsl::OutType::Fixed(MediaType::Audio { channels: 2 })
        ));
        let (all, ticks) = read_all(p.to_str().unwrap(), 2, false, 10);
        assert_eq!(ticks, 3, "1000 frames end in the third tick");
        let mut r = hound::WavReader::open(&p).unwrap();
        let file: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
        for i in 0..1000 {
            assert_eq!(all[0][i], f32::from(file[2 * i]) / 32768.0);
            assert_eq!(all[1][i], f32::from(file[2 * i + 1]) / 32768.0);
        }
        assert!(all[0][1000..].iter().all(|&s| s == 0.0));
    }

    #[test]
    fn loops_forever_without_a_gap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.wav");
        write_sine(&p, 48_000, 1, 100.0, 700);
        let (all, ticks) = read_all(p.to_str().unwrap(), 1, true, 5);
        assert_eq!(ticks, 5);
        assert_eq!(all[0][..700], all[0][700..1400]);
    }

    #[test]
    fn resamples_44k1_to_48k_in_time_and_in_tune() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.wav");
        write_sine(&p, 44_100, 1, 1000.0, 44_100);
        let (all, ticks) = read_all(p.to_str().unwrap(), 1, false, 200);
        assert_eq!(ticks, 100, "1 s of audio is 100 ticks");
        let x = &all[0][..48_000];
        // The best fit over lags of -1..1 samples: the FFT resampler's
        // delay is compensated to within a sample (rubato rounds it to a
        // whole one; 0.55 samples remain at 44.1 kHz), and one lag fits
        // the whole second (a wrong rate would drift out of phase).
        let fit = |lag: f64| {
            let want = |i: usize| (TAU * 1000.0 * (i as f64 + lag) / 48_000.0).sin() as f32 * 0.5;
            (2000..46_000)
                .map(|i| (x[i] - want(i)).abs())
                .fold(0f32, f32::max)
        };
        let (lag, err) = (-20..=20)
            .map(|k| (f64::from(k) / 20.0, fit(f64::from(k) / 20.0)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert!(lag.abs() < 1.0, "output is {lag} samples off");
        assert!(err < 2e-3, "worst error {err} at lag {lag}");
    }

    #[test]
    fn stream_of_unknown_length_ends_where_its_data_does() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("piped.wav");
        write_sine(&p, 44_100, 1, 1000.0, 44_100);
        let mut bytes = std::fs::read(&p).unwrap();
        let data = bytes.windows(4).position(|w| w == b"data").unwrap();
        bytes[4..8].copy_from_slice(&[0xff; 4]);
        bytes[data + 4..data + 8].copy_from_slice(&[0xff; 4]);
        std::fs::write(&p, bytes).unwrap();
        let (all, ticks) = read_all(p.to_str().unwrap(), 1, false, 200);
        assert_eq!(ticks, 100, "1 s of audio is 100 ticks");
        assert!(all[0][47_000..47_100].iter().any(|s| s.abs() > 0.4));
    }

    #[test]
    fn stereo_file_into_mono_port_averages_and_missing_file_warns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("st.wav");
        write_sine(&p, 48_000, 2, 440.0, 480);
        let (all, _) = read_all(p.to_str().unwrap(), 1, false, 2);
        assert!(
            all[0].iter().all(|s| s.abs() < 1e-4),
            "L and -L average to silence"
        );

        let missing = dir.path().join("nope.wav");
        let ports = ports(&args(&[(
            "path",
            Arg::Str(missing.to_str().unwrap().into()),
        )]))
        .unwrap();
        assert!(ports.warnings[0].contains("nope.wav"));
        let h = NodeHarness::of(signature(), build)
            .args(args(&[(
                "path",
                Arg::Str(missing.to_str().unwrap().into()),
            )]))
            .outputs(&[MONO]);
        assert!(h.build().err().unwrap().0.contains("nope.wav"));
    }
}
