//! `events_out`: events as JSON lines, one object per event, for whatever
//! consumes levels and speaker activity (dashboards, captions, tests): to
//! a file, standard output, or posted in batches to an HTTP endpoint.

mod post;

use crate::sig::{input, optional, signature as sig};
use post::{Poster, Url};
use sluice_dsl::{Accepts, Args, ParamType, Ports, Role, Signature};
use sluice_runtime::{
    BuildContext, Event, EventData, EventFrame, Flow, Frame, Node, NodeError, PortIo,
};
use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// The `events_out` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "events_out",
        "Writes events as JSON lines to a file, to standard output with \"-\", or \
         (`url`) posts them in batches to an HTTP endpoint (`Content-Type: \
         application/x-ndjson`, a batch every 200 ms or 64 KiB, whichever comes \
         first). Level events: {\"t\": seconds, \"node\", \"id\", \
         \"rms_dbfs\", \"peak_dbfs\", \"speaking\"}; joins and leaves: \
         {\"t\", \"node\", \"id\", \"event\": \"joined\" | \"left\"}; DTMF: \
         {\"t\", \"node\", \"id\", \"dtmf\": \"5\"}; speech and `exec` \
         results are their own objects. Standard output is flushed every tick, a \
         file in large blocks. Posting happens on a thread of its own through a \
         bounded queue: a slow or absent server loses batches (counted and \
         reported at the end), never time.",
        Role::Sink,
        ports,
    );
    s.params = vec![
        optional(
            "path",
            ParamType::Path,
            "JSON-lines file, or \"-\" for standard output",
        ),
        optional(
            "url",
            ParamType::Str,
            "http://host:port/path to post batches of JSON lines to (instead of `path`)",
        ),
    ];
    s.io = true;
    s
}

fn ports(args: &Args) -> Result<Ports, String> {
    match (args.str("path"), args.str("url")) {
        (Some(_), Some(_)) => return Err("give `path` or `url`, not both".into()),
        (None, None) => {
            return Err("events_out needs `path` (a file, or \"-\") or `url` (http://...)".into())
        }
        (None, Some(url)) => {
            Url::parse(url)?;
        }
        (Some(_), None) => {}
    }
    Ok(Ports {
        inputs: vec![input("in", Accepts::Events)],
        ..Ports::default()
    })
}

/// Bytes buffered before a file write or an HTTP post.
const BLOCK: usize = 1 << 16;
/// The longest a batch waits before it is posted.
const BATCH_WAIT: Duration = Duration::from_millis(200);
/// Batches waiting for the poster before new ones are dropped.
const POST_QUEUE: usize = 16;
/// How long `finish` waits for queued batches to be posted.
const POST_GRACE: Duration = Duration::from_secs(2);

/// Where the lines go.
enum Target {
    File {
        file: File,
        stdout: bool,
    },
    Http {
        poster: Poster,
        since: Option<Instant>,
    },
}

/// Opens the output and escapes every node name once.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let names: Vec<Vec<u8>> = ctx
        .node_names
        .iter()
        .map(|n| {
            let mut v = Vec::new();
            escape_into(&mut v, n);
            v
        })
        .collect();
    let longest = names.iter().map(Vec::len).max().unwrap_or(0);
    let max_line = 160 + longest + 6 * sluice_runtime::StreamId::CAPACITY;
    let (label, target) = match ctx.args.str("url") {
        Some(url) => (url.to_string(), http_target(url, max_line)?),
        None => {
            let path = ctx.args.need_str("path")?.to_string();
            let target = file_target(&path)?;
            (path, target)
        }
    };
    Ok(Box::new(EventsOut {
        label,
        target,
        names,
        buf: Vec::with_capacity(BLOCK + max_line + json_capacity()),
        max_line,
        failure: None,
    }))
}

/// The most JSON text one event frame holds (a single event's bound).
fn json_capacity() -> usize {
    Frame::EVENT_CAPACITY * EventFrame::TEXT_PER_EVENT
}

fn file_target(path: &str) -> Result<Target, NodeError> {
    let stdout = path == "-";
    let file = if stdout {
        let fd = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| NodeError::new(format!("standard output: {e}")))?;
        File::from(fd)
    } else {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| NodeError::new(format!("{path}: {e}")))?;
            }
        }
        File::create(path).map_err(|e| NodeError::new(format!("{path}: {e}")))?
    };
    Ok(Target::File { file, stdout })
}

fn http_target(url: &str, max_line: usize) -> Result<Target, NodeError> {
    let url = Url::parse(url).map_err(NodeError::new)?;
    let batch = BLOCK + max_line + json_capacity();
    Ok(Target::Http {
        poster: Poster::start(url, POST_QUEUE, batch)?,
        since: None,
    })
}

/// Writes `s` as the inside of a JSON string (shared with the nodes that
/// write their own JSON events).
pub(crate) fn escape_into(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
            _ => out.push(b),
        }
    }
}

/// A level JSON can hold: floored at -120 dB (NaN too), capped at +200.
fn json_level(db: f32) -> f32 {
    if db.is_nan() {
        -120.0
    } else {
        db.clamp(-120.0, 200.0)
    }
}

struct EventsOut {
    /// The path or URL, for messages.
    label: String,
    target: Target,
    names: Vec<Vec<u8>>,
    /// Lines not yet written; never grows past its capacity.
    buf: Vec<u8>,
    max_line: usize,
    failure: Option<std::io::Error>,
}

impl EventsOut {
    /// Appends one event's line to the buffer (capacity is ensured).
    fn line(&mut self, frame: &EventFrame, e: &Event) -> std::io::Result<()> {
        let b = &mut self.buf;
        if let EventData::Json(text) = e.data {
            b.extend_from_slice(frame.json(text).as_bytes());
            b.push(b'\n');
            return Ok(());
        }
        write!(b, "{{\"t\": {:.3}, \"node\": \"", e.time as f64 * 1e-9)?;
        if let Some(name) = self.names.get(e.node as usize) {
            b.extend_from_slice(name);
        }
        b.extend_from_slice(b"\", \"id\": \"");
        escape_into(b, e.id.as_str());
        b.extend_from_slice(b"\", ");
        match e.data {
            EventData::Level {
                rms_dbfs,
                peak_dbfs,
                speaking,
            } => write!(
                b,
                "\"rms_dbfs\": {:.2}, \"peak_dbfs\": {:.2}, \"speaking\": {speaking}}}",
                json_level(rms_dbfs),
                json_level(peak_dbfs)
            )?,
            EventData::Dtmf(d) => {
                b.extend_from_slice(b"\"dtmf\": \"");
                let mut tmp = [0u8; 4];
                escape_into(b, d.encode_utf8(&mut tmp));
                b.extend_from_slice(b"\"}");
            }
            EventData::Joined => b.extend_from_slice(b"\"event\": \"joined\"}"),
            EventData::Left => b.extend_from_slice(b"\"event\": \"left\"}"),
            EventData::Json(_) => {}
        }
        b.push(b'\n');
        Ok(())
    }

    /// The most bytes `e`'s line can take.
    fn bound(&self, frame: &EventFrame, e: &Event) -> usize {
        match e.data {
            EventData::Json(text) => frame.json(text).len() + 1,
            _ => self.max_line,
        }
    }

    /// Writes or hands on what is buffered (a post that finds the queue
    /// full is dropped and counted by the poster).
    fn flush(&mut self) -> std::io::Result<()> {
        let result = match &mut self.target {
            Target::File { file, .. } => file.write_all(&self.buf),
            Target::Http { poster, since } => {
                if !self.buf.is_empty() {
                    poster.send(&self.buf);
                }
                *since = None;
                Ok(())
            }
        };
        self.buf.clear();
        result
    }

    fn write_events(&mut self, frame: &EventFrame) -> std::io::Result<()> {
        for e in frame.events() {
            if self.buf.len() + self.bound(frame, e) > self.buf.capacity() {
                self.flush()?;
            }
            self.line(frame, e)?;
        }
        let due = match &mut self.target {
            Target::File { stdout, .. } => *stdout,
            Target::Http { since, .. } => {
                let first = *since.get_or_insert_with(Instant::now);
                first.elapsed() >= BATCH_WAIT
            }
        };
        if due && !self.buf.is_empty() {
            self.flush()?;
        }
        Ok(())
    }
}

impl Node for EventsOut {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(frame) = io.events_in(0) else {
            return Flow::Continue;
        };
        if self.failure.is_none() {
            if let Err(e) = self.write_events(frame) {
                self.failure = Some(e);
            }
        }
        Flow::Continue
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        let flushed = self.flush();
        let closed = match &mut self.target {
            Target::File { file, .. } => file.flush(),
            Target::Http { poster, .. } => {
                if let Some(report) = poster.finish(POST_GRACE) {
                    eprintln!("warning: events_out {}: {report}", self.label);
                }
                Ok(())
            }
        };
        match self.failure.take().map_or(flushed.and(closed), Err) {
            Ok(()) => Ok(()),
            Err(e) => Err(NodeError::new(format!("{}: {e}", self.label))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args, args_with_defaults};
    use sluice_dsl::{Arg, MediaType};
    use sluice_runtime::testing::NodeHarness;
    use sluice_runtime::{Frame, StreamId};

    #[test]
    fn writes_one_parseable_json_object_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/levels.jsonl");
        let h = NodeHarness::of(signature(), build)
            .args(args(&[("path", Arg::Str(path.to_str().unwrap().into()))]))
            .inputs(&[MediaType::Events])
            .outputs(&[]);
        let mut node = h.named(1, &["people", "me\"ter"]).build().unwrap();
        let mut frame = Frame::for_type(&MediaType::Events, 480);
        let Frame::Events(ev) = &mut frame else {
            unreachable!()
        };
        let level = |rms, peak, speaking| EventData::Level {
            rms_dbfs: rms,
            peak_dbfs: peak,
            speaking,
        };
        let event = |time, id: &str, data| Event {
            time,
            node: 1,
            id: StreamId::new(id),
            data,
        };
        ev.push(event(100_000_000, "alice", level(-20.5, -6.25, true)));
        ev.push(event(
            100_000_000,
            "b\"o\nb",
            level(-200.0, f32::NEG_INFINITY, false),
        ));
        ev.push(event(1_500_000_000, "carol", EventData::Joined));
        ev.push(event(
            1_500_000_000,
            "dan",
            level(f32::NAN, f32::INFINITY, false),
        ));
        ev.push(event(1_510_000_000, "carol", EventData::Dtmf('#')));
        for t in 0..300 {
            node.run_at(t, &[&frame]);
        }
        node.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines.len(),
            1500,
            "every event of every tick, across buffer flushes"
        );
        let a = &lines[0];
        assert_eq!(a["t"], 0.1);
        assert_eq!(a["node"], "me\"ter");
        assert_eq!(a["id"], "alice");
        assert_eq!(a["rms_dbfs"], -20.5);
        assert_eq!(a["peak_dbfs"], -6.25);
        assert_eq!(a["speaking"], true);
        assert_eq!(lines[1]["id"], "b\"o\nb");
        assert_eq!(lines[1]["rms_dbfs"], -120.0, "floored at -120");
        assert_eq!(lines[1]["peak_dbfs"], -120.0);
        assert_eq!(lines[2]["event"], "joined");
        assert_eq!(lines[3]["rms_dbfs"], -120.0);
        assert_eq!(lines[3]["peak_dbfs"], 200.0);
        assert_eq!(lines[4]["dtmf"], "#");
    }

    #[test]
    fn json_events_are_written_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.jsonl");
        let h = NodeHarness::of(signature(), build)
            .args(args(&[("path", Arg::Str(path.to_str().unwrap().into()))]))
            .inputs(&[MediaType::Events])
            .outputs(&[]);
        let mut node = h.build().unwrap();
        let mut frame = Frame::for_type(&MediaType::Events, 480);
        let Frame::Events(ev) = &mut frame else {
            unreachable!()
        };
        let big = format!("{{\"t\": 1, \"text\": \"{}\"}}", "y".repeat(60_000));
        ev.push_json(
            0,
            1,
            StreamId::new("a"),
            "{\"t\": 0.5, \"word\": \"hello\"}",
        );
        ev.push_json(0, 1, StreamId::new("a"), &big);
        for t in 0..5 {
            node.run_at(t, &[&frame]);
        }
        node.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10);
        assert_eq!(lines[0], "{\"t\": 0.5, \"word\": \"hello\"}");
        assert_eq!(lines[1], big, "a line longer than the block survives whole");
    }

    #[test]
    fn path_or_url_but_not_both_nor_neither() {
        let s = signature();
        let both = args_with_defaults(
            &s,
            &[
                ("path", Arg::Str("a".into())),
                ("url", Arg::Str("http://127.0.0.1:1/".into())),
            ],
        );
        assert!((s.ports)(&both).unwrap_err().contains("not both"));
        let neither = args_with_defaults(&s, &[]);
        assert!((s.ports)(&neither).unwrap_err().contains("needs `path`"));
        let https = args_with_defaults(&s, &[("url", Arg::Str("https://x/".into()))]);
        assert!((s.ports)(&https).unwrap_err().contains("http://"));
    }
}
