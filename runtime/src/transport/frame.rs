//! Frames: the units of media that travel along edges.
//!
//! Every frame is allocated when the engine is built (sized from the plan's
//! edge types) and reused for the whole run: nodes write into output frames
//! the engine lends them and read input frames shared read-only. Nothing in
//! this module allocates after construction.

use sluice_dsl::{MediaType, PixelFormat, VideoType};

/// Media time in nanoseconds since the graph's time zero.
pub type Nanos = u64;

/// A participant or stream id stored inline, so bundles and events carry
/// ids without heap allocation. Longer ids are truncated at a char boundary.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId {
    len: u8,
    bytes: [u8; StreamId::CAPACITY],
}

impl StreamId {
    /// Longest id kept, in bytes (platform raw ids are around 90 bytes).
    pub const CAPACITY: usize = 127;

    /// An id from text (truncated to [`StreamId::CAPACITY`] bytes).
    pub fn new(s: &str) -> StreamId {
        let mut end = s.len().min(Self::CAPACITY);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; Self::CAPACITY];
        bytes[..end].copy_from_slice(&s.as_bytes()[..end]);
        StreamId {
            len: end as u8,
            bytes,
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Constructed only from a `&str` cut at a char boundary.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl Default for StreamId {
    fn default() -> Self {
        StreamId::new("")
    }
}

impl std::fmt::Debug for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Planar f32 audio: `channels` runs of `len` samples.
#[derive(Debug, Clone)]
pub struct AudioFrame {
    channels: usize,
    len: usize,
    data: Vec<f32>,
    /// Media time of the first sample.
    pub time: Nanos,
}

impl AudioFrame {
    /// A silent frame (allocates: build time only).
    pub fn new(channels: usize, len: usize) -> AudioFrame {
        AudioFrame {
            channels,
            len,
            data: vec![0.0; channels * len],
            time: 0,
        }
    }

    /// Channel count.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Samples per channel.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the frame holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One channel's samples.
    pub fn channel(&self, c: usize) -> &[f32] {
        &self.data[c * self.len..(c + 1) * self.len]
    }

    /// One channel's samples, writable.
    pub fn channel_mut(&mut self, c: usize) -> &mut [f32] {
        &mut self.data[c * self.len..(c + 1) * self.len]
    }

    /// Every channel, writable at once (for stereo writers).
    pub fn channels_mut(&mut self) -> std::slice::ChunksExactMut<'_, f32> {
        self.data.chunks_exact_mut(self.len.max(1))
    }

    /// All samples, channel after channel.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// All samples, writable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Sets every sample to zero.
    pub fn silence(&mut self) {
        self.data.fill(0.0);
    }
}

/// Where a participant stream is in its life, as seen in one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamState {
    /// The slot is empty.
    #[default]
    Absent,
    /// The participant joined in this tick (its samples are valid).
    Joined,
    /// Present, with valid samples.
    Active,
    /// Present but sending silence (muted or not speaking); samples are zero.
    Silent,
    /// The participant left; this is the slot's last tick before `Absent`
    /// (its samples are valid and should fade out).
    Left,
}

impl StreamState {
    /// Whether the slot holds a participant in this tick.
    pub fn present(self) -> bool {
        !matches!(self, StreamState::Absent)
    }
}

/// One participant's slot in a bundle: a stable id and a mono frame.
#[derive(Debug, Clone)]
pub struct Stream {
    /// The participant's id (file stem, `voiceN`, or the platform's raw id).
    pub id: StreamId,
    /// Its state in this tick.
    pub state: StreamState,
    samples: Vec<f32>,
}

impl Stream {
    /// Mono samples for this tick.
    pub fn samples(&self) -> &[f32] {
        &self.samples
    }

    /// Mono samples, writable.
    pub fn samples_mut(&mut self) -> &mut [f32] {
        &mut self.samples
    }
}

/// Up to `capacity` participant streams. A participant keeps its slot index
/// for as long as it is present, so per-participant state (a seat, a gain
/// ramp) can be kept by slot.
#[derive(Debug, Clone)]
pub struct BundleFrame {
    streams: Vec<Stream>,
    len: usize,
    /// Media time of the first sample.
    pub time: Nanos,
}

impl BundleFrame {
    /// An empty bundle (allocates: build time only).
    pub fn new(capacity: usize, len: usize) -> BundleFrame {
        let streams = (0..capacity)
            .map(|_| Stream {
                id: StreamId::default(),
                state: StreamState::Absent,
                samples: vec![0.0; len],
            })
            .collect();
        BundleFrame {
            streams,
            len,
            time: 0,
        }
    }

    /// Slot count.
    pub fn capacity(&self) -> usize {
        self.streams.len()
    }

    /// Samples per stream.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether streams hold no samples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every slot, present or not.
    pub fn slots(&self) -> &[Stream] {
        &self.streams
    }

    /// Every slot, writable.
    pub fn slots_mut(&mut self) -> &mut [Stream] {
        &mut self.streams
    }

    /// Slots that hold a participant in this tick, with their index.
    pub fn present(&self) -> impl Iterator<Item = (usize, &Stream)> {
        self.streams
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state.present())
    }

    /// Marks every slot absent and silent.
    pub fn clear(&mut self) {
        for s in &mut self.streams {
            s.state = StreamState::Absent;
            s.samples.fill(0.0);
        }
    }
}

/// A video frame: one buffer holding every plane.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    ty: VideoType,
    data: Vec<u8>,
    offsets: [usize; 3],
    strides: [usize; 3],
    heights: [usize; 3],
    planes: usize,
    /// Media time of the frame.
    pub time: Nanos,
}

impl VideoFrame {
    /// A black frame of this type (allocates: build time only). Rows are
    /// tightly packed (stride = width in bytes of the plane).
    pub fn new(ty: VideoType) -> VideoFrame {
        let (w, h) = (ty.width as usize, ty.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let (planes, strides, heights) = match ty.format {
            PixelFormat::Rgba => (1, [w * 4, 0, 0], [h, 0, 0]),
            PixelFormat::I420 => (3, [w, cw, cw], [h, ch, ch]),
            PixelFormat::Nv12 => (2, [w, cw * 2, 0], [h, ch, 0]),
        };
        let mut offsets = [0; 3];
        let mut total = 0;
        for p in 0..planes {
            offsets[p] = total;
            total += strides[p] * heights[p];
        }
        let mut frame = VideoFrame {
            ty,
            data: vec![0; total],
            offsets,
            strides,
            heights,
            planes,
            time: 0,
        };
        frame.fill_black();
        frame
    }

    /// Type: format, size, fps.
    pub fn ty(&self) -> VideoType {
        self.ty
    }

    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        self.ty.format
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.ty.width as usize
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.ty.height as usize
    }

    /// Number of planes (1 rgba, 3 i420, 2 nv12).
    pub fn plane_count(&self) -> usize {
        self.planes
    }

    /// Bytes per row of plane `p`.
    pub fn stride(&self, p: usize) -> usize {
        self.strides[p]
    }

    /// Rows of plane `p`.
    pub fn plane_height(&self, p: usize) -> usize {
        self.heights[p]
    }

    /// Plane `p`'s bytes.
    pub fn plane(&self, p: usize) -> &[u8] {
        let start = self.offsets[p];
        &self.data[start..start + self.strides[p] * self.heights[p]]
    }

    /// Plane `p`'s bytes, writable.
    pub fn plane_mut(&mut self, p: usize) -> &mut [u8] {
        let start = self.offsets[p];
        let len = self.strides[p] * self.heights[p];
        &mut self.data[start..start + len]
    }

    /// Every plane, writable at once (unused planes are empty).
    pub fn planes_mut(&mut self) -> [&mut [u8]; 3] {
        let total = self.data.len();
        let first = if self.planes > 1 {
            self.offsets[1]
        } else {
            total
        };
        let second = if self.planes > 2 {
            self.offsets[2]
        } else {
            total
        };
        let (a, rest) = self.data.split_at_mut(first);
        let (b, c) = rest.split_at_mut(second - first);
        [a, b, c]
    }

    /// The whole buffer (planes back to back).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The whole buffer, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Paints the frame black (limited-range black for YUV, opaque for RGBA).
    pub fn fill_black(&mut self) {
        match self.ty.format {
            PixelFormat::Rgba => {
                for px in self.data.chunks_exact_mut(4) {
                    px.copy_from_slice(&[0, 0, 0, 255]);
                }
            }
            PixelFormat::I420 | PixelFormat::Nv12 => {
                let y_len = self.strides[0] * self.heights[0];
                self.data[..y_len].fill(16);
                self.data[y_len..].fill(128);
            }
        }
    }
}

/// What an event says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventData {
    /// Levels of one stream over one metering period.
    Level {
        /// RMS level in dBFS (floored at -120).
        rms_dbfs: f32,
        /// Peak level in dBFS (floored at -120).
        peak_dbfs: f32,
        /// Whether the stream carried speech.
        speaking: bool,
    },
    /// A DTMF tone from the call (`0`-`9`, `*`, `#`, `A`-`D`).
    Dtmf(char),
    /// A participant joined the bundle.
    Joined,
    /// A participant left the bundle.
    Left,
    /// A whole JSON object (one line, already carrying `t`, `node` and
    /// `id`), written as is: an external program's result, a speech
    /// probability. The text lives in the frame that holds the event
    /// ([`EventFrame::json`]), so events stay small and `Copy`.
    Json(JsonText),
}

/// Where a [`EventData::Json`] event's text is in its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonText {
    start: u32,
    len: u32,
}

/// One timestamped record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// Media time the event describes.
    pub time: Nanos,
    /// Plan index of the node that emitted it (names come from the plan).
    pub node: u32,
    /// The stream or participant it is about (empty for a plain stream).
    pub id: StreamId,
    /// The payload.
    pub data: EventData,
}

/// The events of one tick, in a buffer whose capacity is fixed at build.
#[derive(Debug)]
pub struct EventFrame {
    events: Vec<Event>,
    /// The text of the frame's JSON events; never grows past its capacity.
    text: Vec<u8>,
    dropped: u64,
    /// Media time of the tick.
    pub time: Nanos,
}

/// A clone keeps the capacity (a derived clone of a `Vec` would shrink it
/// to the length, and pools make their frames by cloning an empty one).
impl Clone for EventFrame {
    fn clone(&self) -> Self {
        let mut events = Vec::with_capacity(self.events.capacity());
        events.extend_from_slice(&self.events);
        let mut text = Vec::with_capacity(self.text.capacity());
        text.extend_from_slice(&self.text);
        EventFrame {
            events,
            text,
            dropped: self.dropped,
            time: self.time,
        }
    }
}

impl EventFrame {
    /// Bytes of JSON text a frame holds per event it can hold.
    pub const TEXT_PER_EVENT: usize = 64;

    /// An empty frame that holds up to `capacity` events and
    /// `capacity * TEXT_PER_EVENT` bytes of JSON text (allocates: build
    /// time only).
    pub fn new(capacity: usize) -> EventFrame {
        EventFrame {
            events: Vec::with_capacity(capacity),
            text: Vec::with_capacity(capacity * Self::TEXT_PER_EVENT),
            dropped: 0,
            time: 0,
        }
    }

    /// Appends an event; when full, the event is counted as dropped instead
    /// (never reallocates).
    pub fn push(&mut self, e: Event) -> bool {
        if self.events.len() < self.events.capacity() {
            self.events.push(e);
            true
        } else {
            self.dropped += 1;
            false
        }
    }

    /// Appends a JSON event whose text is `json` (one object, no newline);
    /// when the events or the text are full it is counted as dropped
    /// instead (never reallocates).
    pub fn push_json(&mut self, time: Nanos, node: u32, id: StreamId, json: &str) -> bool {
        let start = self.text.len();
        if self.events.len() == self.events.capacity() || json.len() > self.text.capacity() - start
        {
            self.dropped += 1;
            return false;
        }
        self.text.extend_from_slice(json.as_bytes());
        self.events.push(Event {
            time,
            node,
            id,
            data: EventData::Json(JsonText {
                start: start as u32,
                len: json.len() as u32,
            }),
        });
        true
    }

    /// Whether one more JSON event of `len` bytes fits: a producer that
    /// can wait for the next frame leaves it queued instead of dropping it.
    pub fn fits_json(&self, len: usize) -> bool {
        self.events.len() < self.events.capacity() && len <= self.text.capacity() - self.text.len()
    }

    /// The text of a JSON event of this frame (empty for a reference
    /// that is not this frame's).
    pub fn json(&self, text: JsonText) -> &str {
        let (start, end) = (text.start as usize, (text.start + text.len) as usize);
        self.text
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Copies `e` from `from` into this frame (a JSON event's text too);
    /// false, and counted as dropped, when it does not fit.
    pub fn push_from(&mut self, from: &EventFrame, e: &Event) -> bool {
        match e.data {
            EventData::Json(t) => self.push_json(e.time, e.node, e.id, from.json(t)),
            _ => self.push(*e),
        }
    }

    /// The events of this tick.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Events that did not fit since the last `clear`.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Empties the frame for reuse.
    pub fn clear(&mut self) {
        self.events.clear();
        self.text.clear();
        self.dropped = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cloned_event_frame_keeps_its_capacity() {
        let event = Event {
            time: 0,
            node: 0,
            id: StreamId::new("a"),
            data: EventData::Joined,
        };
        let mut frame = EventFrame::new(4).clone();
        for _ in 0..4 {
            assert!(frame.push(event));
        }
        assert!(!frame.push(event));
        assert_eq!(frame.dropped(), 1);
    }

    #[test]
    fn json_events_keep_their_text_until_the_frame_is_full() {
        let mut frame = EventFrame::new(2).clone();
        let id = StreamId::new("a");
        assert!(frame.push_json(5, 1, id, "{\"x\": 1}"));
        let big = "x".repeat(2 * EventFrame::TEXT_PER_EVENT);
        assert!(
            !frame.push_json(5, 1, id, &big),
            "more text than the frame holds"
        );
        assert!(frame.push_json(6, 1, id, "{}"));
        assert!(
            !frame.push_json(7, 1, id, "{}"),
            "more events than the frame holds"
        );
        assert_eq!(frame.dropped(), 2);
        let texts: Vec<&str> = frame
            .events()
            .iter()
            .map(|e| match e.data {
                EventData::Json(t) => frame.json(t),
                _ => panic!("not json"),
            })
            .collect();
        assert_eq!(texts, ["{\"x\": 1}", "{}"]);
        let mut copy = EventFrame::new(2);
        assert!(copy.push_from(&frame, &frame.events()[0]));
        let EventData::Json(t) = copy.events()[0].data else {
            panic!()
        };
        assert_eq!(copy.json(t), "{\"x\": 1}");
        frame.clear();
        assert_eq!(frame.json(t), "", "cleared text is gone");
    }
}

/// Any frame an edge can carry.
#[derive(Debug, Clone)]
pub enum Frame {
    /// Audio.
    Audio(AudioFrame),
    /// Participant streams.
    Bundle(BundleFrame),
    /// Video.
    Video(VideoFrame),
    /// Events.
    Events(EventFrame),
}

impl Frame {
    /// Default events per tick an events edge holds.
    pub const EVENT_CAPACITY: usize = 1024;

    /// A blank frame for an edge of type `ty` with `samples` audio samples
    /// per tick (allocates: build time only).
    pub fn for_type(ty: &MediaType, samples: usize) -> Frame {
        match *ty {
            MediaType::Audio { channels } => {
                Frame::Audio(AudioFrame::new(channels as usize, samples))
            }
            MediaType::Bundle { capacity } => {
                Frame::Bundle(BundleFrame::new(capacity as usize, samples))
            }
            MediaType::Video(v) => Frame::Video(VideoFrame::new(v)),
            MediaType::Events => Frame::Events(EventFrame::new(Self::EVENT_CAPACITY)),
        }
    }

    /// Media time of the frame.
    pub fn time(&self) -> Nanos {
        match self {
            Frame::Audio(f) => f.time,
            Frame::Bundle(f) => f.time,
            Frame::Video(f) => f.time,
            Frame::Events(f) => f.time,
        }
    }

    /// Sets the media time of the frame.
    pub fn set_time(&mut self, t: Nanos) {
        match self {
            Frame::Audio(f) => f.time = t,
            Frame::Bundle(f) => f.time = t,
            Frame::Video(f) => f.time = t,
            Frame::Events(f) => f.time = t,
        }
    }

    /// Copies `src` into this frame in place, without allocating (a
    /// derived `clone_from` would allocate a new buffer); returns false,
    /// copying nothing, when the two are not the same type and size.
    /// Events past this frame's capacity are counted as dropped.
    pub fn copy_from(&mut self, src: &Frame) -> bool {
        match (self, src) {
            (Frame::Audio(d), Frame::Audio(s)) if d.channels == s.channels && d.len == s.len => {
                d.data.copy_from_slice(&s.data);
                d.time = s.time;
            }
            (Frame::Video(d), Frame::Video(s)) if d.ty == s.ty => {
                d.data.copy_from_slice(&s.data);
                d.time = s.time;
            }
            (Frame::Bundle(d), Frame::Bundle(s))
                if d.len == s.len && d.streams.len() == s.streams.len() =>
            {
                for (d, s) in d.streams.iter_mut().zip(&s.streams) {
                    d.id = s.id;
                    d.state = s.state;
                    d.samples.copy_from_slice(&s.samples);
                }
                d.time = s.time;
            }
            (Frame::Events(d), Frame::Events(s)) => {
                d.clear();
                s.events.iter().for_each(|&e| {
                    d.push(e);
                });
                d.dropped += s.dropped;
                d.time = s.time;
            }
            _ => return false,
        }
        true
    }
}
