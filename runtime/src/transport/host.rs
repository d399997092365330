//! Host endpoints: where a program that embeds the engine hands frames in
//! (`app_in`) and takes frames out (`app_out`), wait-free.
//!
//! Each endpoint owns a few frames, made at build, that travel between
//! the host and the node on two `rtrb` rings: `filled` carries frames
//! with media in them, `free` brings the empty ones back. Both rings can
//! hold every frame, so a push onto them never fails; what can run out is
//! free frames, and then the side that wanted one drops and counts
//! instead of waiting. Frames move as `Box`es (a pointer), so nothing is
//! allocated or freed after build.
//!
//! Copies: a host push copies its planes into a free frame (or writes it
//! in place through [`Input::push_with`]); `app_in` swaps that frame's
//! buffer with its output frame's (no copy); `app_out` copies its input
//! into a free frame (its input is shared read-only with other readers);
//! the host borrows it through [`Popped`] until dropped (no copy). Two
//! copies of each frame in all, the floor for a boundary where the host
//! keeps its own buffers.

use crate::transport::frame::{AudioFrame, Frame, Nanos, VideoFrame};
use rtrb::{Consumer, Producer, RingBuffer};
use sluice_dsl::{Domain, PixelFormat};
use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Frames each endpoint owns: one being written or read by each side
/// plus two queued, enough for a host that pushes and steps in turn and
/// for one that runs a frame or two ahead.
pub const HOST_FRAMES: usize = 4;

/// What an endpoint counts; shared by both ends.
#[derive(Debug, Default)]
struct Counters {
    /// Frames that entered the queue.
    queued: AtomicU64,
    /// Frames dropped because no free frame was left.
    dropped: AtomicU64,
    /// Ticks of an `app_in` that found nothing queued.
    underruns: AtomicU64,
    /// Frames an `app_in` on the graph's clock passed over unread: a newer
    /// video frame came in the same tick, or the host ran ahead with audio.
    replaced: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One endpoint's frames: both rings, `free` full at the start.
fn rings(template: &Frame) -> (Ring, Ring) {
    let (mut free_tx, free_rx) = RingBuffer::new(HOST_FRAMES);
    let (filled_tx, filled_rx) = RingBuffer::new(HOST_FRAMES);
    for _ in 0..HOST_FRAMES {
        // The ring holds exactly HOST_FRAMES: cannot fail.
        let _ = free_tx.push(Box::new(template.clone()));
    }
    (
        Ring {
            tx: filled_tx,
            rx: free_rx,
        },
        Ring {
            tx: free_tx,
            rx: filled_rx,
        },
    )
}

/// One side's ends: where it sends frames and where it gets them back.
struct Ring {
    tx: Producer<Box<Frame>>,
    rx: Consumer<Box<Frame>>,
}

/// Makes an input endpoint whose frames look like `template`: the host's
/// end (untyped until [`HostEnd`] hands it out) and the node's.
pub fn input_endpoint(name: &str, template: &Frame) -> (HostEnd, InputFeed) {
    let (host, node) = rings(template);
    let counters = Arc::new(Counters::default());
    let end = HostInput {
        name: name.to_string(),
        ring: host,
        counters: counters.clone(),
        domain: Domain::Audio,
        shape: template.clone(),
    };
    (
        HostEnd::Input(end),
        InputFeed {
            ring: node,
            counters,
            held: None,
        },
    )
}

/// Makes an output endpoint for frames like `template`: the node's end
/// and the host's.
pub fn output_endpoint(name: &str, template: &Frame) -> (HostEnd, OutputFeed) {
    let (node, host) = rings(template);
    let counters = Arc::new(Counters::default());
    let end = Output {
        name: name.to_string(),
        ring: host,
        counters: counters.clone(),
        domain: Domain::Audio,
    };
    (
        HostEnd::Output(end),
        OutputFeed {
            ring: node,
            counters,
        },
    )
}

/// The host's end of an endpoint, as its node hands it to the engine
/// (see [`crate::Node::endpoint`]).
pub enum HostEnd {
    /// An `app_in`: the host pushes.
    Input(HostInput),
    /// An `app_out`: the host pops.
    Output(Output),
}

impl HostEnd {
    /// The endpoint's name in the graph.
    pub fn name(&self) -> &str {
        match self {
            HostEnd::Input(i) => &i.name,
            HostEnd::Output(o) => &o.name,
        }
    }
}

impl fmt::Debug for HostEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostEnd::Input(i) => write!(f, "HostEnd::Input({:?})", i.name),
            HostEnd::Output(o) => write!(f, "HostEnd::Output({:?})", o.name),
        }
    }
}

/// The `app_in` node's end: takes what the host pushed.
pub struct InputFeed {
    ring: Ring,
    counters: Arc<Counters>,
    /// On the graph's clock, the newest video frame, repeated until a
    /// newer one comes.
    held: Option<Box<Frame>>,
}

/// Audio frames an `app_in` on the graph's clock lets queue before it
/// passes over the oldest: all but one, so a host whose clock runs ahead
/// of the graph's always finds room for its newest frame (the oldest is
/// passed over instead) and adds at most this many ticks of delay, while
/// a host that pushes in bursts of up to this many loses nothing.
pub const AHEAD_FRAMES: usize = HOST_FRAMES - 1;

impl InputFeed {
    /// Moves the oldest pushed frame into `out` by swapping their buffers
    /// (no copy; the frame is stamped with `time`, the tick's media time)
    /// and gives the old buffer back to the host. Returns false, counting
    /// an underrun, when nothing is queued.
    pub fn take_into(&mut self, out: &mut Frame, time: Nanos) -> bool {
        let Ok(mut frame) = self.ring.rx.pop() else {
            Counters::add(&self.counters.underruns);
            return false;
        };
        std::mem::swap(out, &mut *frame);
        out.set_time(time);
        // The free ring holds every frame: cannot fail.
        let _ = self.ring.tx.push(frame);
        true
    }

    /// Video on the graph's clock: the newest pushed frame wins. Frames
    /// queued behind a newer one go back unread (counted as replaced);
    /// the newest is kept and copied into `out`, so a tick with nothing
    /// new repeats it (counted as an underrun) rather than going black.
    /// False, with an underrun, before the first push.
    pub fn take_newest(&mut self, out: &mut Frame, time: Nanos) -> bool {
        let mut fresh = false;
        while let Ok(frame) = self.ring.rx.pop() {
            if let Some(old) = self.held.replace(frame) {
                if fresh {
                    Counters::add(&self.counters.replaced);
                }
                // The free ring holds every frame: cannot fail.
                let _ = self.ring.tx.push(old);
            }
            fresh = true;
        }
        if !fresh {
            Counters::add(&self.counters.underruns);
        }
        let Some(held) = &self.held else {
            return false;
        };
        out.copy_from(held);
        out.set_time(time);
        true
    }

    /// Audio on the graph's clock: the oldest frame, as on the host's
    /// clock, after passing over (and counting as replaced) the oldest
    /// while more than [`AHEAD_FRAMES`] are queued, so a host that runs
    /// ahead adds a bounded delay and no gap.
    pub fn take_bounded(&mut self, out: &mut Frame, time: Nanos) -> bool {
        while self.ring.rx.slots() > AHEAD_FRAMES {
            let Ok(frame) = self.ring.rx.pop() else { break };
            Counters::add(&self.counters.replaced);
            // The free ring holds every frame: cannot fail.
            let _ = self.ring.tx.push(frame);
        }
        self.take_into(out, time)
    }
}

/// The `app_out` node's end: hands frames to the host.
pub struct OutputFeed {
    ring: Ring,
    counters: Arc<Counters>,
}

impl OutputFeed {
    /// Copies `frame` into a free frame and queues it for the host.
    /// Returns false, counting a drop, when the host holds every frame
    /// (it has not popped for a while).
    pub fn offer(&mut self, frame: &Frame) -> bool {
        let Ok(mut free) = self.ring.rx.pop() else {
            Counters::add(&self.counters.dropped);
            return false;
        };
        free.copy_from(frame);
        // The filled ring holds every frame: cannot fail.
        let _ = self.ring.tx.push(free);
        Counters::add(&self.counters.queued);
        true
    }
}

/// Why a push was refused (bad input, not a full queue: that is a drop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// The frame's size or layout does not match the endpoint's type.
    Size(String),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Size(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for PushError {}

/// The host's end of an `app_in`, before it is typed.
pub struct HostInput {
    name: String,
    ring: Ring,
    counters: Arc<Counters>,
    domain: Domain,
    /// A frame of the endpoint's type, for typing and checking pushes.
    shape: Frame,
}

impl HostInput {
    /// Says which clock domain the endpoint's node ticks in (the engine
    /// sets it when it hands the input out).
    pub(crate) fn set_domain(&mut self, domain: Domain) {
        self.domain = domain;
    }

    /// The media the endpoint carries (`video`, `audio`), for errors.
    pub(crate) fn media(&self) -> &'static str {
        match self.shape {
            Frame::Video(_) => VideoFrame::NAME,
            _ => AudioFrame::NAME,
        }
    }
}

/// Media an endpoint can be typed with ([`crate::Engine::input`]).
pub trait HostMedia: Sized {
    /// The type's name, for errors (`video`, `audio`).
    const NAME: &'static str;
    /// The frame as this type, if it is one.
    fn of(frame: &Frame) -> Option<&Self>;
    /// The frame as this type, writable, if it is one.
    fn of_mut(frame: &mut Frame) -> Option<&mut Self>;
}

impl HostMedia for VideoFrame {
    const NAME: &'static str = "video";
    fn of(frame: &Frame) -> Option<&Self> {
        match frame {
            Frame::Video(v) => Some(v),
            _ => None,
        }
    }
    fn of_mut(frame: &mut Frame) -> Option<&mut Self> {
        match frame {
            Frame::Video(v) => Some(v),
            _ => None,
        }
    }
}

impl HostMedia for AudioFrame {
    const NAME: &'static str = "audio";
    fn of(frame: &Frame) -> Option<&Self> {
        match frame {
            Frame::Audio(a) => Some(a),
            _ => None,
        }
    }
    fn of_mut(frame: &mut Frame) -> Option<&mut Self> {
        match frame {
            Frame::Audio(a) => Some(a),
            _ => None,
        }
    }
}

/// A typed, wait-free handle to push frames into an `app_in`
/// ([`crate::Engine::input`]). `Send`: push from the SDK's callback
/// thread. A push never blocks: with no free frame left it drops and
/// counts.
pub struct Input<T: HostMedia> {
    end: HostInput,
    /// A frame of the endpoint's type and size.
    shape: T,
}

impl<T: HostMedia + Clone> Input<T> {
    /// Types `end` as `T`, if its frames are `T`s; else says what they are.
    pub(crate) fn typed(end: HostInput) -> Result<Input<T>, &'static str> {
        let Some(shape) = T::of(&end.shape).cloned() else {
            return Err(end.media());
        };
        Ok(Input { end, shape })
    }
}

impl<T: HostMedia> Input<T> {
    /// The endpoint's name in the graph.
    pub fn name(&self) -> &str {
        &self.end.name
    }

    /// The clock domain the endpoint ticks in: after a push, step this
    /// domain ([`crate::Driven::step`]) to run the graph on the frame.
    pub fn domain(&self) -> Domain {
        self.end.domain
    }

    /// A frame of the endpoint's type and size (what a push must fill).
    pub fn shape(&self) -> &T {
        &self.shape
    }

    /// Lends a free frame to `write`, which fills it in place, and queues
    /// it. Returns false, counting a drop and not calling `write`, when
    /// no free frame is left.
    pub fn push_with(&mut self, write: impl FnOnce(&mut T)) -> bool {
        let Ok(mut frame) = self.end.ring.rx.pop() else {
            Counters::add(&self.end.counters.dropped);
            return false;
        };
        if let Some(media) = T::of_mut(&mut frame) {
            write(media);
        }
        // The filled ring holds every frame: cannot fail.
        let _ = self.end.ring.tx.push(frame);
        Counters::add(&self.end.counters.queued);
        true
    }

    /// Frames pushed and queued so far.
    pub fn queued(&self) -> u64 {
        self.end.counters.queued.load(Ordering::Relaxed)
    }

    /// The endpoint's counters, readable from any thread while another
    /// pushes (a C host's statistics).
    pub fn counters(&self) -> HostCounters {
        HostCounters(self.end.counters.clone())
    }

    /// Frames dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.end.counters.dropped.load(Ordering::Relaxed)
    }

    /// Ticks of the endpoint that found no frame pushed (they give black
    /// video or silence; on the graph's clock, video repeats its last
    /// frame).
    pub fn underruns(&self) -> u64 {
        self.end.counters.underruns.load(Ordering::Relaxed)
    }

    /// On the graph's clock (`pacing: graph`), frames passed over unread:
    /// a newer video frame came in the same tick, or the host ran more
    /// than [`AHEAD_FRAMES`] audio frames ahead.
    pub fn replaced(&self) -> u64 {
        self.end.counters.replaced.load(Ordering::Relaxed)
    }
}

impl Input<VideoFrame> {
    /// Copies a frame the host owns into a free frame and queues it:
    /// `planes[p]` holds plane `p`'s rows, `strides[p]` bytes apart (so a
    /// padded buffer is fine). Ok(false): the queue was full, the frame
    /// is dropped and counted. An error: the planes do not match the
    /// endpoint's size and format.
    pub fn push_planes(&mut self, planes: &[&[u8]], strides: &[usize]) -> Result<bool, PushError> {
        check_planes(&self.shape, planes, strides)?;
        Ok(self.push_with(|f| copy_planes(f, planes, strides)))
    }
}

/// Checks that `planes` with `strides` hold a whole frame shaped like `shape`.
fn check_planes(shape: &VideoFrame, planes: &[&[u8]], strides: &[usize]) -> Result<(), PushError> {
    let n = shape.plane_count();
    if planes.len() != n || strides.len() != n {
        return Err(PushError::Size(format!(
            "{} needs {n} planes, got {} planes and {} strides",
            format_name(shape.format()),
            planes.len(),
            strides.len()
        )));
    }
    for p in 0..n {
        let (row, rows) = (shape.stride(p), shape.plane_height(p));
        let need = strides[p] * rows.saturating_sub(1) + row;
        if strides[p] < row || planes[p].len() < need {
            return Err(PushError::Size(format!(
                "plane {p} of a {}x{} {} frame needs rows of {row} bytes, {rows} rows: \
                 got a stride of {} and {} bytes",
                shape.width(),
                shape.height(),
                format_name(shape.format()),
                strides[p],
                planes[p].len()
            )));
        }
    }
    Ok(())
}

fn format_name(f: PixelFormat) -> &'static str {
    match f {
        PixelFormat::I420 => "i420",
        PixelFormat::Nv12 => "nv12",
        PixelFormat::Rgba => "rgba",
    }
}

/// Copies checked planes into `f`, row by row.
fn copy_planes(f: &mut VideoFrame, planes: &[&[u8]], strides: &[usize]) {
    for (p, (src, &stride)) in planes.iter().zip(strides).enumerate() {
        let row = f.stride(p);
        for (dst, src) in f.plane_mut(p).chunks_exact_mut(row).zip(src.chunks(stride)) {
            dst.copy_from_slice(&src[..row]);
        }
    }
}

impl Input<AudioFrame> {
    /// Copies one tick of interleaved samples (`channels` × the graph's
    /// frame) into a free frame and queues it. Ok(false): the queue was
    /// full, dropped and counted. An error: the wrong number of samples.
    pub fn push_interleaved(&mut self, samples: &[f32]) -> Result<bool, PushError> {
        self.check_len(samples.len())?;
        Ok(self.push_with(|f| deinterleave(f, samples.iter().copied())))
    }

    /// As [`Input::push_interleaved`], for 16-bit samples (full scale is
    /// ±1.0).
    pub fn push_interleaved_i16(&mut self, samples: &[i16]) -> Result<bool, PushError> {
        self.check_len(samples.len())?;
        let scaled = samples.iter().map(|&s| f32::from(s) / 32768.0);
        Ok(self.push_with(|f| deinterleave(f, scaled)))
    }

    fn check_len(&self, got: usize) -> Result<(), PushError> {
        let (c, n) = (self.shape.channels(), self.shape.len());
        if got == c * n {
            return Ok(());
        }
        Err(PushError::Size(format!(
            "a push is one tick: {n} samples of {c} channels interleaved ({} values), got {got}",
            c * n
        )))
    }
}

/// Writes interleaved `samples` into the planar frame `f`.
fn deinterleave(f: &mut AudioFrame, samples: impl Iterator<Item = f32>) {
    let (channels, len) = (f.channels(), f.len());
    let data = f.data_mut();
    for (i, s) in samples.enumerate() {
        data[(i % channels) * len + i / channels] = s;
    }
}

/// The host's wait-free handle to pop frames from an `app_out`
/// ([`crate::Engine::output`]). `Send`: pop on any one thread.
pub struct Output {
    name: String,
    ring: Ring,
    counters: Arc<Counters>,
    domain: Domain,
}

impl Output {
    /// The endpoint's name in the graph.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The clock domain the endpoint's node ticks in (the engine sets it
    /// when it hands the output out): its frames carry that domain's
    /// tick times.
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// Says which clock domain the endpoint's node ticks in.
    pub(crate) fn set_domain(&mut self, domain: Domain) {
        self.domain = domain;
    }

    /// The endpoint's counters, readable from any thread while another
    /// pops (a C host's statistics).
    pub fn counters(&self) -> HostCounters {
        HostCounters(self.counters.clone())
    }

    /// The oldest processed frame, held (not borrowed) until it is given
    /// back with [`Output::release`]: for a host that cannot keep a
    /// borrow, such as a C caller. `None` when nothing is waiting yet.
    /// A [`Held`] dropped without `release` frees its frame, and the
    /// endpoint has one frame fewer from then on.
    pub fn pop_owned(&mut self) -> Option<Held> {
        self.ring.rx.pop().ok().map(|frame| Held { frame })
    }

    /// The oldest processed frame, left in place: what the next pop
    /// returns (a C host checks its type and size before popping).
    pub fn peek(&self) -> Option<&Frame> {
        self.ring.rx.peek().ok().map(|frame| &**frame)
    }

    /// Gives a frame from [`Output::pop_owned`] back (no allocation).
    pub fn release(&mut self, held: Held) {
        // The free ring holds every frame: cannot fail.
        let _ = self.ring.tx.push(held.frame);
    }

    /// The oldest processed frame, borrowed until the [`Popped`] is
    /// dropped; `None` when nothing is waiting yet.
    pub fn pop(&mut self) -> Option<Popped<'_>> {
        let frame = self.ring.rx.pop().ok()?;
        Some(Popped {
            frame: Some(frame),
            free: &mut self.ring.tx,
        })
    }

    /// Frames the graph has handed out so far.
    pub fn queued(&self) -> u64 {
        self.counters.queued.load(Ordering::Relaxed)
    }

    /// Frames dropped because the host held every frame (pop faster, or
    /// drop each [`Popped`] sooner).
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Whether the graph has ended and every frame it handed out has been
    /// popped.
    pub fn is_ended(&self) -> bool {
        self.ring.rx.is_abandoned() && self.ring.rx.is_empty()
    }
}

/// A frame popped from an [`Output`] with [`Output::pop_owned`], held
/// until [`Output::release`] gives it back. Read it through `Deref`
/// ([`Frame`]).
pub struct Held {
    frame: Box<Frame>,
}

impl Deref for Held {
    type Target = Frame;
    fn deref(&self) -> &Frame {
        &self.frame
    }
}

/// The frame's time, not its samples or pixels.
impl fmt::Debug for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Held")
            .field("time", &self.frame.time())
            .finish()
    }
}

/// An endpoint's counters, shared with it: what [`Input::queued`] and
/// friends read, for a thread that does not hold the handle.
#[derive(Debug, Clone)]
pub struct HostCounters(Arc<Counters>);

impl HostCounters {
    /// Frames queued (input: pushed; output: handed out by the graph).
    pub fn queued(&self) -> u64 {
        self.0.queued.load(Ordering::Relaxed)
    }

    /// Frames dropped (input: pushed with no free frame; output: the
    /// host held every frame).
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }

    /// Ticks of an input that found nothing pushed (0 for an output).
    pub fn underruns(&self) -> u64 {
        self.0.underruns.load(Ordering::Relaxed)
    }
}

/// A frame popped from an [`Output`], borrowed: dropping it gives the
/// frame back to the endpoint. Read it through `Deref` ([`Frame`]) or
/// [`Popped::video`] / [`Popped::audio`].
pub struct Popped<'a> {
    frame: Option<Box<Frame>>,
    free: &'a mut Producer<Box<Frame>>,
}

impl Popped<'_> {
    /// The frame as video, if the endpoint carries video.
    pub fn video(&self) -> Option<&VideoFrame> {
        VideoFrame::of(self)
    }

    /// The frame as audio, if the endpoint carries audio.
    pub fn audio(&self) -> Option<&AudioFrame> {
        AudioFrame::of(self)
    }
}

impl Deref for Popped<'_> {
    type Target = Frame;
    fn deref(&self) -> &Frame {
        // Set at creation, taken only in `drop`.
        self.frame.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Popped<'_> {
    fn drop(&mut self) {
        if let Some(frame) = self.frame.take() {
            // The free ring holds every frame: cannot fail.
            let _ = self.free.push(frame);
        }
    }
}

impl fmt::Debug for InputFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputFeed")
            .field("queued", &self.ring.rx.slots())
            .field("counters", &self.counters)
            .finish()
    }
}

impl fmt::Debug for OutputFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputFeed")
            .field("free", &self.ring.rx.slots())
            .field("counters", &self.counters)
            .finish()
    }
}

impl fmt::Debug for HostInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostInput")
            .field("name", &self.name)
            .field("media", &self.media())
            .field("domain", &self.domain)
            .field("counters", &self.counters)
            .finish()
    }
}

/// The frame's time, not its samples or pixels.
impl fmt::Debug for Popped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time = self.frame.as_ref().map(|fr| fr.time());
        f.debug_struct("Popped").field("time", &time).finish()
    }
}

impl<T: HostMedia> fmt::Debug for Input<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.end.name)
            .field("media", &T::NAME)
            .finish()
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output").field("name", &self.name).finish()
    }
}

/// Why [`crate::Engine::input`] or [`crate::Engine::output`] gave no
/// handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointError {
    /// No endpoint of that direction has the name; the names there are.
    Unknown {
        /// The name asked for.
        name: String,
        /// `app_in` or `app_out`.
        kind: &'static str,
        /// The endpoints of that kind the graph has.
        known: Vec<String>,
    },
    /// The endpoint carries other media than the handle's type.
    WrongMedia {
        /// The endpoint.
        name: String,
        /// What it carries.
        carries: &'static str,
        /// What was asked for.
        asked: &'static str,
    },
    /// The endpoint's handle was handed out already (each has one).
    Taken(String),
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::Unknown { name, kind, known } if known.is_empty() => {
                write!(f, "no `{kind}` named `{name}`: the graph has no `{kind}`")
            }
            EndpointError::Unknown { name, kind, known } => write!(
                f,
                "no `{kind}` named `{name}`; the graph has {}",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            EndpointError::WrongMedia {
                name,
                carries,
                asked,
            } => write!(f, "`{name}` carries {carries}, not {asked}"),
            EndpointError::Taken(name) => {
                write!(f, "the handle of `{name}` was handed out already")
            }
        }
    }
}

impl std::error::Error for EndpointError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio_input() -> (Input<AudioFrame>, InputFeed, Frame) {
        let template = Frame::Audio(AudioFrame::new(1, 4));
        let (HostEnd::Input(end), feed) = input_endpoint("mic", &template) else {
            unreachable!("an input endpoint")
        };
        (Input::typed(end).unwrap(), feed, template)
    }

    fn video_input() -> (Input<VideoFrame>, InputFeed, Frame) {
        let template = Frame::Video(VideoFrame::new(sluice_dsl::VideoType {
            format: PixelFormat::I420,
            width: 4,
            height: 2,
            fps: (30, 1),
        }));
        let (HostEnd::Input(end), feed) = input_endpoint("camera", &template) else {
            unreachable!("an input endpoint")
        };
        (Input::typed(end).unwrap(), feed, template)
    }

    fn first(f: &Frame) -> f32 {
        match f {
            Frame::Audio(a) => a.data()[0],
            Frame::Video(v) => f32::from(v.plane(0)[0]),
            _ => f32::NAN,
        }
    }

    #[test]
    fn graph_paced_video_takes_the_newest_and_repeats_it() {
        let (mut camera, mut feed, mut out) = video_input();
        assert!(!feed.take_newest(&mut out, 0), "nothing pushed yet");
        for k in 1..=3u8 {
            assert!(camera.push_with(|v| v.plane_mut(0).fill(k)));
        }
        assert!(feed.take_newest(&mut out, 10));
        assert_eq!((first(&out), out.time()), (3.0, 10));
        assert_eq!(camera.replaced(), 2, "frames 1 and 2 were passed over");
        assert!(feed.take_newest(&mut out, 20));
        assert_eq!(first(&out), 3.0, "nothing new: the newest repeats");
        assert_eq!(camera.underruns(), 2);
        for k in 4..=6u8 {
            assert!(camera.push_with(|v| v.plane_mut(0).fill(k)), "frame {k}");
        }
        assert!(!camera.push_with(|_| {}), "one frame is held: three free");
        assert!(feed.take_newest(&mut out, 30));
        assert_eq!(first(&out), 6.0);
        assert_eq!(camera.replaced(), 4);
    }

    #[test]
    fn packed_and_padded_planes_arrive_the_same() {
        let (mut camera, mut feed, mut out) = video_input();
        let (y, u, v): (Vec<u8>, _, _) = ((0..8).collect(), [20, 21], [30, 31]);
        let padded: Vec<u8> = y.chunks(4).flat_map(|r| [r, &[99; 3]].concat()).collect();
        assert_eq!(camera.push_planes(&[&y, &u, &v], &[4, 2, 2]), Ok(true));
        assert_eq!(
            camera.push_planes(&[&padded[..11], &u, &v], &[7, 2, 2]),
            Ok(true),
            "the last row needs no padding"
        );
        for _ in 0..2 {
            assert!(feed.take_into(&mut out, 0));
            let f = VideoFrame::of(&out).expect("video");
            assert_eq!(
                (f.plane(0), f.plane(1), f.plane(2)),
                (&y[..], &u[..], &v[..])
            );
        }
    }

    #[test]
    fn graph_paced_audio_passes_over_the_oldest_only_when_full() {
        let (mut mic, mut feed, mut out) = audio_input();
        for k in 1..=3 {
            assert!(mic.push_interleaved(&[k as f32; 4]).unwrap());
        }
        assert!(feed.take_bounded(&mut out, 0));
        assert_eq!(
            (first(&out), mic.replaced()),
            (1.0, 0),
            "a burst of three is kept"
        );
        for k in 4..=5 {
            assert!(mic.push_interleaved(&[k as f32; 4]).unwrap());
        }
        assert!(feed.take_bounded(&mut out, 10));
        assert_eq!(
            (first(&out), mic.replaced()),
            (3.0, 1),
            "full: 2 passed over"
        );
        assert!(feed.take_bounded(&mut out, 20));
        assert!(feed.take_bounded(&mut out, 30));
        assert_eq!(first(&out), 5.0);
        assert!(!feed.take_bounded(&mut out, 40));
        assert_eq!(mic.underruns(), 1);
    }
}
