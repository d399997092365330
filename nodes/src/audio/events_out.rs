//! `events_out`: events as JSON lines, one object per event, for whatever
//! consumes levels and speaker activity (dashboards, captions, tests).

use crate::sig::{input, required, signature as sig};
use sluice_dsl::{Accepts, Args, ParamType, Ports, Role, Signature};
use sluice_runtime::{BuildContext, Event, EventData, Flow, Node, NodeError, PortIo};
use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;

/// The `events_out` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "events_out",
        "Writes events as JSON lines to a file, or to standard output with \
         \"-\". Level events: {\"t\": seconds, \"node\", \"id\", \
         \"rms_dbfs\", \"peak_dbfs\", \"speaking\"}; joins and leaves: \
         {\"t\", \"node\", \"id\", \"event\": \"joined\" | \"left\"}; DTMF: \
         {\"t\", \"node\", \"id\", \"dtmf\": \"5\"}. Standard output is \
         flushed every tick, a file in large blocks.",
        Role::Sink,
        ports,
    );
    s.params = vec![required(
        "path",
        ParamType::Path,
        "JSON-lines file, or \"-\" for standard output",
    )];
    s.io = true;
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", Accepts::Events)],
        ..Ports::default()
    })
}

/// Bytes buffered before a file write.
const BLOCK: usize = 1 << 16;

/// Opens the output and escapes every node name once.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let path = ctx.args.need_str("path")?.to_string();
    let stdout = path == "-";
    let file = if stdout {
        let fd = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| NodeError::new(format!("standard output: {e}")))?;
        File::from(fd)
    } else {
        if let Some(dir) = std::path::Path::new(&path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| NodeError::new(format!("{path}: {e}")))?;
            }
        }
        File::create(&path).map_err(|e| NodeError::new(format!("{path}: {e}")))?
    };
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
    Ok(Box::new(EventsOut {
        path,
        file,
        stdout,
        names,
        buf: Vec::with_capacity(BLOCK + max_line),
        max_line,
        failure: None,
    }))
}

/// Writes `s` as the inside of a JSON string.
fn escape_into(out: &mut Vec<u8>, s: &str) {
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
    path: String,
    file: File,
    stdout: bool,
    names: Vec<Vec<u8>>,
    /// Lines not yet written; never grows past its capacity.
    buf: Vec<u8>,
    max_line: usize,
    failure: Option<std::io::Error>,
}

impl EventsOut {
    /// Appends one event's line to the buffer (capacity is ensured).
    fn line(&mut self, e: &Event) -> std::io::Result<()> {
        let b = &mut self.buf;
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
        }
        b.push(b'\n');
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.file.write_all(&self.buf);
        self.buf.clear();
        result
    }

    fn write_events(&mut self, events: &[Event]) -> std::io::Result<()> {
        for e in events {
            if self.buf.len() + self.max_line > self.buf.capacity() {
                self.flush()?;
            }
            self.line(e)?;
        }
        if self.stdout && !self.buf.is_empty() {
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
            if let Err(e) = self.write_events(frame.events()) {
                self.failure = Some(e);
            }
        }
        Flow::Continue
    }

    fn finish(&mut self) -> Result<(), NodeError> {
        let flushed = self.flush().and_then(|()| self.file.flush());
        match self.failure.take().map_or(flushed, Err) {
            Ok(()) => Ok(()),
            Err(e) => Err(NodeError::new(format!("{}: {e}", self.path))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::args;
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
}
