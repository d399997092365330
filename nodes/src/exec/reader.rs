//! A child's standard output and standard error, each read by a thread of
//! its own: JSON lines become event records, returned media becomes
//! packets for the real-time side, error lines go to the log. Every
//! buffer is bounded: a program that floods its output with garbage or
//! with one endless line costs counted lines, not memory.

use super::link::{EventWriter, Packet, Tag};
use super::media::{bytes_of, Pcm};
use super::stats::Counters;
use crate::speech::rerate::Rerate;
use crate::video::y4m_header::read_header;
use rtrb::{Consumer, Producer};
use serde_json::{Map, Value};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Longest output line read as an event (longer ones are skipped).
pub const MAX_LINE: usize = 16 * 1024;
/// Longest error line passed to the log (the rest is cut).
const MAX_LOG_LINE: usize = 4 * 1024;

/// What the media written so far says, for stamping events.
pub struct Written {
    /// Media time where the audio or video written so far ends.
    pub end: AtomicU64,
    /// Nanoseconds after `base` when that media entered the node.
    pub sent: AtomicU64,
    /// The origin of `sent`.
    pub base: Instant,
}

/// The rings a reader thread fills; handed back when it ends, for the
/// next program in the slot.
pub struct ReaderEnds {
    /// Event records to the real-time side.
    pub events: EventWriter,
    /// Tags of the blocks written, oldest first.
    pub inflight: Consumer<Tag>,
    /// Returned media to the real-time side, and its emptied packets.
    pub returns: Option<(Producer<Packet>, Consumer<Packet>)>,
}

/// What the stdout reader needs to know.
pub struct ReadSpec {
    /// The node's name, for `node` and the log.
    pub node: String,
    /// The participant, for `id` (empty for a plain stream).
    pub id: String,
    /// What comes back.
    pub mode: ReadMode,
}

/// How standard output is read.
#[derive(Clone, Copy)]
pub enum ReadMode {
    /// JSON lines.
    Events,
    /// PCM at `child_rate`, turned into `tick`-sample blocks at `graph_rate`.
    Audio {
        pcm: Pcm,
        child_rate: u32,
        graph_rate: u32,
        tick: usize,
    },
    /// Y4M frames of this size.
    Video { width: u32, height: u32 },
}

/// Reads standard output until the program closes it.
pub fn read_stdout(
    mut out: impl Read,
    spec: &ReadSpec,
    ends: &mut ReaderEnds,
    written: &Written,
    counters: &Counters,
) {
    match spec.mode {
        ReadMode::Events => read_lines(&mut out, MAX_LINE, |line, too_long| {
            if too_long {
                Counters::bump(&counters.too_long);
            } else {
                event_line(line, spec, ends, written, counters);
            }
        }),
        ReadMode::Audio {
            pcm,
            child_rate,
            graph_rate,
            tick,
        } => read_audio(&mut out, pcm, child_rate, graph_rate, tick, ends, counters),
        ReadMode::Video { width, height } => {
            read_video(&mut out, spec, width, height, ends, counters)
        }
    }
}

/// Splits `r` into lines of at most `max` bytes, calling `each(line,
/// false)`; a longer line is skipped to its end and reported once as
/// `each(&[], true)`.
pub fn read_lines(r: &mut impl Read, max: usize, mut each: impl FnMut(&[u8], bool)) {
    let mut buf = vec![0u8; max];
    let (mut len, mut skipping) = (0, false);
    loop {
        let n = match r.read(&mut buf[len..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        len += n;
        let mut start = 0;
        while let Some(i) = buf[start..len].iter().position(|b| *b == b'\n') {
            if skipping {
                skipping = false;
            } else {
                each(&buf[start..start + i], false);
            }
            start += i + 1;
        }
        buf.copy_within(start..len, 0);
        len -= start;
        if len == max {
            if !skipping {
                each(&[], true);
            }
            skipping = true;
            len = 0;
        }
    }
}

/// One output line: an event if it is a JSON object, else garbage.
fn event_line(
    line: &[u8],
    spec: &ReadSpec,
    ends: &mut ReaderEnds,
    written: &Written,
    counters: &Counters,
) {
    let line = line.trim_ascii();
    if line.is_empty() {
        return;
    }
    let parsed = if line.first() == Some(&b'{') {
        serde_json::from_slice::<Map<String, Value>>(line).ok()
    } else {
        None
    };
    let Some(object) = parsed else {
        Counters::bump(&counters.garbage);
        return;
    };
    let time = written.end.load(Ordering::Relaxed);
    let text = shape(object, time, spec);
    Counters::bump(&counters.events);
    let since = written.base.elapsed().as_nanos() as u64;
    let sent = written.sent.load(Ordering::Relaxed);
    counters
        .event_latency
        .record(std::time::Duration::from_nanos(since.saturating_sub(sent)));
    if !ends.events.push(time, text.as_bytes()) {
        Counters::bump(&counters.events_dropped);
    }
}

/// The event's line: `t`, `node` and `id` first where the program left
/// them out, then the program's own members.
pub fn shape(object: Map<String, Value>, time: u64, spec: &ReadSpec) -> String {
    let mut parts = Vec::new();
    if !object.contains_key("t") {
        parts.push(format!("\"t\": {:.3}", time as f64 * 1e-9));
    }
    if !object.contains_key("node") {
        parts.push(format!("\"node\": {}", Value::from(spec.node.as_str())));
    }
    if !spec.id.is_empty() && !object.contains_key("id") {
        parts.push(format!("\"id\": {}", Value::from(spec.id.as_str())));
    }
    let body = Value::Object(object).to_string();
    let inner = &body[1..body.len() - 1];
    if !inner.is_empty() {
        parts.push(inner.to_string());
    }
    format!("{{{}}}", parts.join(", "))
}

/// Returned PCM, resampled to the graph rate and cut into tick blocks,
/// each matched with the oldest block written.
fn read_audio(
    r: &mut impl Read,
    pcm: Pcm,
    child_rate: u32,
    graph_rate: u32,
    tick: usize,
    ends: &mut ReaderEnds,
    counters: &Counters,
) {
    let child_tick = (tick as u64 * child_rate as u64 / graph_rate as u64) as usize;
    let Ok(mut back) = Rerate::new(child_rate, graph_rate, child_tick.max(1), 8 * tick) else {
        return;
    };
    let mut raw = vec![0u8; 8 * child_tick.max(64) * pcm.width()];
    let mut decoded = vec![0.0f32; raw.len() / pcm.width()];
    let mut block = vec![0.0f32; tick];
    let mut have = 0;
    loop {
        let n = match r.read(&mut raw[have..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        have += n;
        let whole = have / pcm.width() * pcm.width();
        let count = pcm.decode(&raw[..whole], &mut decoded);
        raw.copy_within(whole..have, 0);
        have -= whole;
        back.push(&decoded[..count]);
        while back.pull(&mut block) {
            deliver(ends, counters, |data| bytes_of(&block, data));
        }
    }
}

/// Returned Y4M frames of the input's size.
fn read_video(
    r: &mut impl Read,
    spec: &ReadSpec,
    width: u32,
    height: u32,
    ends: &mut ReaderEnds,
    counters: &Counters,
) {
    let header = match read_header(r, &spec.node) {
        Ok(h) if h.width == width && h.height == height && !h.mono => h,
        Ok(h) => {
            eprintln!(
                "[{}] returned video is {}x{}, expected {width}x{height} i420: ignored",
                spec.node, h.width, h.height
            );
            Counters::bump(&counters.garbage);
            return;
        }
        Err(e) => {
            eprintln!("[{}] returned video: {e}", spec.node);
            Counters::bump(&counters.garbage);
            return;
        }
    };
    let mut frame = vec![0u8; header.frame_bytes()];
    loop {
        if !frame_marker(r) || r.read_exact(&mut frame).is_err() {
            if !frame.is_empty() {
                Counters::bump(&counters.garbage);
            }
            return;
        }
        deliver(ends, counters, |data| data.copy_from_slice(&frame));
    }
}

/// Reads a `FRAME` line (parameters allowed); false at the end or on
/// anything else.
fn frame_marker(r: &mut impl Read) -> bool {
    let mut line = [0u8; 256];
    let mut byte = [0u8; 1];
    for i in 0..line.len() {
        if r.read_exact(&mut byte).is_err() {
            return false;
        }
        if byte[0] == b'\n' {
            return line[..i].starts_with(b"FRAME");
        }
        line[i] = byte[0];
    }
    false
}

/// Hands one returned block to the real-time side, tagged with the
/// oldest block written.
fn deliver(ends: &mut ReaderEnds, counters: &Counters, fill: impl FnOnce(&mut [u8])) {
    let Ok(tag) = ends.inflight.pop() else {
        Counters::bump(&counters.garbage);
        return;
    };
    counters.latency.record(tag.sent.elapsed());
    let Some((full, free)) = &mut ends.returns else {
        return;
    };
    let Ok(mut p) = free.pop() else {
        Counters::bump(&counters.late);
        return;
    };
    fill(&mut p.data);
    p.tick = tag.tick;
    p.sent = tag.sent;
    let _ = full.push(p);
}

/// Passes the program's error lines to the log as `[label] line`.
pub fn forward_stderr(r: impl Read, label: &str) {
    let mut r = r;
    read_lines(&mut r, MAX_LOG_LINE, |line, cut| {
        if !cut {
            eprintln!("[{label}] {}", String::from_utf8_lossy(line).trim_end());
        }
    });
}
