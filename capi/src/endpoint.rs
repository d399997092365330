//! The host's handles on a graph's endpoints: push into an `app_in`, pop
//! from an `app_out`. Each handle sits behind a try-lock
//! ([`Exclusive`]): two threads using one handle at once get
//! [`SLUICE_ERR_BUSY`] rather than a data race. Pushes, pops and
//! releases allocate nothing.

use crate::engine_thread::{Feed, Link, PTS_RING};
use crate::error::{guard, guard_ptr, Fail};
use crate::exclusive::Exclusive;
use crate::graph::{Phase, SluiceGraph};
use crate::{
    SluiceStatus, SLUICE_DROPPED, SLUICE_ENDED, SLUICE_ERR_ARG, SLUICE_ERR_ENDPOINT,
    SLUICE_ERR_SIZE, SLUICE_ERR_STATE, SLUICE_FORMAT_I420, SLUICE_FORMAT_NV12, SLUICE_FORMAT_RGBA,
    SLUICE_NONE, SLUICE_OK,
};
use sluice_dsl::{Domain, PixelFormat};
use sluice_runtime::transport::host::HOST_FRAMES;
use sluice_runtime::{
    AudioFrame, EndpointError, Frame, Held, HostCounters, Input, Output, PushError, VideoFrame,
};
use std::ffi::{c_char, CStr};
use std::sync::{Arc, OnceLock};

/// A handle to push frames into one `app_in` of a graph
/// (`sluice_input`). Valid until `sluice_close`; use it from one thread
/// at a time (a second thread at the same moment gets
/// `SLUICE_ERR_BUSY`).
#[derive(Debug)]
pub struct SluiceInput {
    pub(crate) name: String,
    pub(crate) counters: HostCounters,
    link: OnceLock<Link>,
    end: Exclusive<InputEnd>,
}

/// An input's typed handle and the ring its pushes' timestamps go on.
#[derive(Debug)]
struct InputEnd {
    media: Media,
    pts: rtrb::Producer<u64>,
}

/// What an input carries.
#[derive(Debug)]
enum Media {
    Video(Input<VideoFrame>),
    Audio(Input<AudioFrame>),
}

/// A handle to pop frames from one `app_out` of a graph
/// (`sluice_output`). Valid until `sluice_close`; use it from one thread
/// at a time (a second thread at the same moment gets
/// `SLUICE_ERR_BUSY`).
#[derive(Debug)]
pub struct SluiceOutput {
    pub(crate) name: String,
    pub(crate) counters: HostCounters,
    domain: Domain,
    link: OnceLock<Link>,
    end: Exclusive<OutputEnd>,
}

/// An output's handle and the frames the host holds, each with the
/// ticket its release must show.
#[derive(Debug)]
struct OutputEnd {
    output: Output,
    held: [Option<(u64, Held)>; HOST_FRAMES],
    pops: u64,
}

/// A video frame popped by `sluice_pop_video`: its planes stay valid, and
/// the frame is the caller's, until `sluice_frame_release` gives it back.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SluiceVideoFrame {
    /// The planes' first bytes (`plane_count` of them; the rest NULL).
    pub planes: [*const u8; 3],
    /// Bytes from one row of each plane to the next.
    pub strides: [usize; 3],
    /// 3 for i420, 2 for nv12, 1 for rgba.
    pub plane_count: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `SLUICE_FORMAT_I420`, `_NV12` or `_RGBA`.
    pub format: u32,
    /// The timestamp the host gave the push this frame came from (the
    /// frame's media time if that push is no longer remembered).
    pub pts_ns: u64,
    /// The graph's media time of the frame: the k-th push of a domain is
    /// tick k, at k frame periods.
    pub media_time_ns: u64,
    /// Private: the output the frame came from.
    pub output: *const SluiceOutput,
    /// Private: what `sluice_frame_release` checks.
    pub ticket: u64,
}

/// What `sluice_pop_audio` popped besides the samples.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SluiceAudioInfo {
    /// Channels (interleaved in the samples).
    pub channels: u32,
    /// Samples per channel (one graph frame, 10 ms by default).
    pub samples: u32,
    /// The timestamp the host gave the push this audio came from (the
    /// media time if that push is no longer remembered).
    pub pts_ns: u64,
    /// The graph's media time of the frame.
    pub media_time_ns: u64,
}

impl SluiceInput {
    /// Links the handle to the running engine thread (at start).
    pub(crate) fn start(&self, link: &Link) {
        let _ = self.link.set(link.clone());
    }
}

impl SluiceOutput {
    /// Links the handle to the running engine thread (at start).
    pub(crate) fn start(&self, link: &Link) {
        let _ = self.link.set(link.clone());
    }
}

/// Reads a C string argument as UTF-8.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string valid for the call.
pub(crate) unsafe fn text_arg<'a>(text: *const c_char, what: &str) -> Result<&'a str, Fail> {
    if text.is_null() {
        return Err(Fail::null(what));
    }
    // SAFETY: not NULL, and NUL-terminated per the caller's contract.
    let c = unsafe { CStr::from_ptr(text) };
    c.to_str()
        .map_err(|_| Fail::new(SLUICE_ERR_ARG, format!("`{what}` is not UTF-8")))
}

/// Reads a handle argument.
///
/// # Safety
/// `ptr` is NULL or a handle this library returned and not yet closed.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Fail> {
    // SAFETY: NULL or a live handle, per the caller's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| Fail::null(what))
}

/// The handle of the graph's `app_in` named `name`, for
/// `sluice_push_video` or `sluice_push_audio`. Ask for every input before
/// `sluice_start`; asking again for the same name returns the same handle
/// (also after start). NULL on failure: `SLUICE_ERR_ENDPOINT` (no such
/// input; the message lists the graph's), `SLUICE_ERR_STATE` (after
/// start), `SLUICE_ERR_NULL`; see `sluice_last_error` and
/// `sluice_error_message`. Any thread.
///
/// # Safety
/// `graph` is NULL or an open graph; `name` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn sluice_input(
    graph: *mut SluiceGraph,
    name: *const c_char,
) -> *mut SluiceInput {
    guard_ptr(std::ptr::null_mut(), || {
        // SAFETY: forwarded from this function's contract.
        let (graph, name) = unsafe { (handle(graph, "graph")?, text_arg(name, "name")?) };
        let mut state = graph.state();
        if let Some(found) = state.inputs.iter().find(|i| i.name == name) {
            return Ok(Arc::as_ptr(found).cast_mut());
        }
        let Phase::Built(engine) = &mut state.phase else {
            return Err(after_start("sluice_input", name));
        };
        let media = match engine.input::<VideoFrame>(name) {
            Ok(video) => Media::Video(video),
            Err(EndpointError::WrongMedia { .. }) => {
                Media::Audio(engine.input::<AudioFrame>(name).map_err(endpoint_error)?)
            }
            Err(e) => return Err(endpoint_error(e)),
        };
        let (domain, counters) = match &media {
            Media::Video(v) => (v.domain(), v.counters()),
            Media::Audio(a) => (a.domain(), a.counters()),
        };
        let (tx, rx) = rtrb::RingBuffer::new(PTS_RING);
        state.feeds.push(Feed { domain, pts: rx });
        let input = Arc::new(SluiceInput {
            name: name.to_string(),
            counters,
            link: OnceLock::new(),
            end: Exclusive::new(InputEnd { media, pts: tx }),
        });
        let ptr = Arc::as_ptr(&input).cast_mut();
        state.inputs.push(input);
        Ok(ptr)
    })
}

/// The handle of the graph's `app_out` named `name`, for
/// `sluice_pop_video` or `sluice_pop_audio`. As `sluice_input`: before
/// `sluice_start`, the same handle for the same name, NULL on failure.
/// Any thread.
///
/// # Safety
/// `graph` is NULL or an open graph; `name` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn sluice_output(
    graph: *mut SluiceGraph,
    name: *const c_char,
) -> *mut SluiceOutput {
    guard_ptr(std::ptr::null_mut(), || {
        // SAFETY: forwarded from this function's contract.
        let (graph, name) = unsafe { (handle(graph, "graph")?, text_arg(name, "name")?) };
        let mut state = graph.state();
        if let Some(found) = state.outputs.iter().find(|o| o.name == name) {
            return Ok(Arc::as_ptr(found).cast_mut());
        }
        let Phase::Built(engine) = &mut state.phase else {
            return Err(after_start("sluice_output", name));
        };
        let output = engine.output(name).map_err(endpoint_error)?;
        let output = Arc::new(SluiceOutput {
            name: name.to_string(),
            counters: output.counters(),
            domain: output.domain(),
            link: OnceLock::new(),
            end: Exclusive::new(OutputEnd {
                output,
                held: Default::default(),
                pops: 0,
            }),
        });
        let ptr = Arc::as_ptr(&output).cast_mut();
        state.outputs.push(output);
        Ok(ptr)
    })
}

fn endpoint_error(e: EndpointError) -> Fail {
    Fail::new(SLUICE_ERR_ENDPOINT, e.to_string())
}

fn after_start(call: &str, name: &str) -> Fail {
    Fail::new(
        SLUICE_ERR_STATE,
        format!("{call}(\"{name}\") after sluice_start: ask for every endpoint before starting"),
    )
}

/// Copies one video frame the host owns into the input's queue and wakes
/// the engine thread, which runs one tick of the graph on it; returns at
/// once (the graph runs on the engine's thread, never on the caller's).
/// `planes[p]` points at plane `p`'s first row, `strides[p]` bytes
/// between rows (padding is fine); as many planes as the format has.
/// `width`, `height` and `format` must be the endpoint's (its `size:` and
/// `format:`); `pts_ns` is the host's timestamp, handed back with the
/// processed frame. Returns `SLUICE_OK`, `SLUICE_DROPPED` (the queue was
/// full: dropped and counted), or an error: `SLUICE_ERR_SIZE` (size,
/// format or a stride does not match), `SLUICE_ERR_STATE` (not started,
/// or stopped), `SLUICE_ERR_ENDPOINT` (an audio input),
/// `SLUICE_ERR_NULL`, `SLUICE_ERR_BUSY`. Allocates nothing.
///
/// # Safety
/// `input` is NULL or a handle of an open graph; `planes` and `strides`
/// are NULL or point at as many entries as the format has planes; each
/// plane holds its rows (`height`, or half of it for chroma) `strides[p]`
/// bytes apart, the last row at least a row of pixels long.
#[no_mangle]
pub unsafe extern "C" fn sluice_push_video(
    input: *mut SluiceInput,
    planes: *const *const u8,
    strides: *const usize,
    width: u32,
    height: u32,
    format: u32,
    pts_ns: u64,
) -> SluiceStatus {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let input = unsafe { handle(input, "input")? };
        if planes.is_null() {
            return Err(Fail::null("planes"));
        }
        if strides.is_null() {
            return Err(Fail::null("strides"));
        }
        input.end.try_with(|end| {
            let link = live(input)?;
            let Media::Video(video) = &mut end.media else {
                return Err(wrong_media(&input.name, "audio", "sluice_push_audio"));
            };
            check_shape(&input.name, video.shape(), width, height, format)?;
            // SAFETY: forwarded from this function's contract; the shape
            // (so the plane count and sizes) matches the caller's.
            let (slices, steps) = unsafe { plane_slices(video.shape(), planes, strides)? };
            let n = video.shape().plane_count();
            let pushed = video.push_planes(&slices[..n], &steps[..n]);
            queued(end, link, pushed, pts_ns)
        })?
    })
}

/// The running engine's link, or why a push cannot be taken now.
fn live(input: &SluiceInput) -> Result<&Link, Fail> {
    let link = input.link.get().ok_or(Fail::fixed(
        SLUICE_ERR_STATE,
        c"the graph is not started: call sluice_start before pushing",
    ))?;
    if !link.shared.is_live() {
        return Err(Fail::fixed(
            SLUICE_ERR_STATE,
            c"the graph is stopped: pushes are no longer taken",
        ));
    }
    Ok(link)
}

/// After a push: sends its timestamp to the engine thread and wakes it.
fn queued(
    end: &mut InputEnd,
    link: &Link,
    pushed: Result<bool, PushError>,
    pts_ns: u64,
) -> Result<SluiceStatus, Fail> {
    match pushed {
        Ok(true) => {
            // Holds more than the input's frames: cannot be full while a
            // frame was just queued.
            let _ = end.pts.push(pts_ns);
            link.wake();
            Ok(SLUICE_OK)
        }
        Ok(false) => Ok(SLUICE_DROPPED),
        Err(e) => Err(Fail::new(SLUICE_ERR_SIZE, e.to_string())),
    }
}

fn wrong_media(name: &str, carries: &str, use_instead: &str) -> Fail {
    Fail::new(
        SLUICE_ERR_ENDPOINT,
        format!("`{name}` carries {carries}: use {use_instead}"),
    )
}

/// Checks that a frame of `width`×`height` in `format` is what the
/// endpoint takes.
fn check_shape(
    name: &str,
    shape: &VideoFrame,
    width: u32,
    height: u32,
    format: u32,
) -> Result<(), Fail> {
    let got = pixel_format(format).ok_or_else(|| {
        Fail::new(
            SLUICE_ERR_ARG,
            format!("unknown format code {format}: use SLUICE_FORMAT_I420, _NV12 or _RGBA"),
        )
    })?;
    let (w, h) = (shape.width(), shape.height());
    if (width as usize, height as usize, got) == (w, h, shape.format()) {
        return Ok(());
    }
    Err(Fail::new(
        SLUICE_ERR_SIZE,
        format!(
            "`{name}` takes {w}x{h} {} frames, got {width}x{height} {}",
            format_name(shape.format()),
            format_name(got)
        ),
    ))
}

fn pixel_format(code: u32) -> Option<PixelFormat> {
    match code {
        SLUICE_FORMAT_I420 => Some(PixelFormat::I420),
        SLUICE_FORMAT_NV12 => Some(PixelFormat::Nv12),
        SLUICE_FORMAT_RGBA => Some(PixelFormat::Rgba),
        _ => None,
    }
}

fn format_code(format: PixelFormat) -> u32 {
    match format {
        PixelFormat::I420 => SLUICE_FORMAT_I420,
        PixelFormat::Nv12 => SLUICE_FORMAT_NV12,
        PixelFormat::Rgba => SLUICE_FORMAT_RGBA,
    }
}

fn format_name(format: PixelFormat) -> &'static str {
    match format {
        PixelFormat::I420 => "i420",
        PixelFormat::Nv12 => "nv12",
        PixelFormat::Rgba => "rgba",
    }
}

/// The caller's planes as slices, each as long as `shape`'s rows at the
/// caller's strides need; a stride shorter than a row is an error.
///
/// # Safety
/// `planes` and `strides` point at `shape.plane_count()` entries; each
/// plane pointer, if not NULL, holds that many bytes.
unsafe fn plane_slices<'a>(
    shape: &VideoFrame,
    planes: *const *const u8,
    strides: *const usize,
) -> Result<([&'a [u8]; 3], [usize; 3]), Fail> {
    let mut slices: [&[u8]; 3] = [&[]; 3];
    let mut steps = [0usize; 3];
    for p in 0..shape.plane_count() {
        // SAFETY: `p` is below the plane count the caller's arrays hold.
        let (ptr, stride) = unsafe { (*planes.add(p), *strides.add(p)) };
        let (row, rows) = (shape.stride(p), shape.plane_height(p));
        if ptr.is_null() {
            return Err(Fail::null(&format!("planes[{p}]")));
        }
        if stride < row {
            return Err(Fail::new(
                SLUICE_ERR_SIZE,
                format!("strides[{p}] is {stride}: a row of plane {p} is {row} bytes"),
            ));
        }
        let len = stride * rows.saturating_sub(1) + row;
        // SAFETY: not NULL, and the caller's plane holds `rows` rows
        // `stride` apart, the last at least `row` long: `len` bytes.
        slices[p] = unsafe { std::slice::from_raw_parts(ptr, len) };
        steps[p] = stride;
    }
    Ok((slices, steps))
}

/// Copies one tick of interleaved float samples (the endpoint's channels
/// × the graph's frame, e.g. 480 × 2 at 48 kHz, 10 ms, stereo; full scale
/// ±1.0) into the input's queue and wakes the engine thread, as
/// `sluice_push_video` does. `count` is the number of floats; a wrong
/// count is `SLUICE_ERR_SIZE`, saying the right one. Returns as
/// `sluice_push_video`. Allocates nothing.
///
/// # Safety
/// `input` is NULL or a handle of an open graph; `samples` is NULL or
/// points at `count` floats.
#[no_mangle]
pub unsafe extern "C" fn sluice_push_audio(
    input: *mut SluiceInput,
    samples: *const f32,
    count: usize,
    pts_ns: u64,
) -> SluiceStatus {
    // SAFETY: forwarded from this function's contract.
    unsafe { push_audio(input, samples, count, pts_ns, Input::push_interleaved) }
}

/// As `sluice_push_audio`, for 16-bit samples (full scale ±32768).
///
/// # Safety
/// `input` is NULL or a handle of an open graph; `samples` is NULL or
/// points at `count` samples.
#[no_mangle]
pub unsafe extern "C" fn sluice_push_audio_i16(
    input: *mut SluiceInput,
    samples: *const i16,
    count: usize,
    pts_ns: u64,
) -> SluiceStatus {
    // SAFETY: forwarded from this function's contract.
    unsafe { push_audio(input, samples, count, pts_ns, Input::push_interleaved_i16) }
}

/// An audio push of samples of type `S`.
///
/// # Safety
/// As `sluice_push_audio`.
unsafe fn push_audio<S>(
    input: *mut SluiceInput,
    samples: *const S,
    count: usize,
    pts_ns: u64,
    push: fn(&mut Input<AudioFrame>, &[S]) -> Result<bool, PushError>,
) -> SluiceStatus {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let input = unsafe { handle(input, "input")? };
        if samples.is_null() {
            return Err(Fail::null("samples"));
        }
        input.end.try_with(|end| {
            let link = live(input)?;
            let Media::Audio(audio) = &mut end.media else {
                return Err(wrong_media(&input.name, "video", "sluice_push_video"));
            };
            let (c, n) = (audio.shape().channels(), audio.shape().len());
            if count != c * n {
                return Err(Fail::new(
                    SLUICE_ERR_SIZE,
                    format!(
                        "`{}` takes one tick a push: {n} samples of {c} channels \
                         interleaved ({} values), got {count}",
                        input.name,
                        c * n
                    ),
                ));
            }
            // SAFETY: not NULL, and the caller's buffer holds `count`
            // samples (checked above to be the endpoint's, so the size
            // fits in memory).
            let samples = unsafe { std::slice::from_raw_parts(samples, count) };
            let pushed = push(audio, samples);
            queued(end, link, pushed, pts_ns)
        })?
    })
}

/// Pops the oldest processed video frame into `*frame`: its planes are
/// read in place (no copy) and stay valid until `sluice_frame_release`,
/// which every popped frame needs (the output owns 4 frames; while the
/// host holds them all, the graph drops and counts the next ones).
/// Returns `SLUICE_OK`, `SLUICE_NONE` (nothing yet), `SLUICE_ENDED`
/// (stopped and every frame popped), or an error: `SLUICE_ERR_ENDPOINT`
/// (the output carries other media), `SLUICE_ERR_NULL`,
/// `SLUICE_ERR_BUSY`. Allocates nothing.
///
/// # Safety
/// `output` is NULL or a handle of an open graph; `frame` is NULL or
/// points at a writable `SluiceVideoFrame`.
#[no_mangle]
pub unsafe extern "C" fn sluice_pop_video(
    output: *mut SluiceOutput,
    frame: *mut SluiceVideoFrame,
) -> SluiceStatus {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { handle(output, "output")? };
        if frame.is_null() {
            return Err(Fail::null("frame"));
        }
        out.end.try_with(|end| {
            match end.output.peek() {
                None => return Ok(nothing(&end.output)),
                Some(Frame::Video(_)) => {}
                Some(f) => return Err(wrong_media(&out.name, kind(f), "sluice_pop_audio")),
            }
            let slot = end
                .held
                .iter()
                .position(Option::is_none)
                .ok_or(Fail::fixed(
                    SLUICE_ERR_STATE,
                    c"every frame of the output is held: release some",
                ))?;
            let Some(held) = end.output.pop_owned() else {
                return Ok(SLUICE_NONE);
            };
            end.pops += 1;
            let ticket = (end.pops << 8) | slot as u64;
            let popped = describe(out, &held, ticket);
            end.held[slot] = Some((ticket, held));
            // SAFETY: not NULL, and writable per the caller's contract.
            unsafe { frame.write(popped) };
            Ok(SLUICE_OK)
        })?
    })
}

/// `SLUICE_ENDED` once the graph is done and drained, else `SLUICE_NONE`.
fn nothing(output: &Output) -> SluiceStatus {
    if output.is_ended() {
        SLUICE_ENDED
    } else {
        SLUICE_NONE
    }
}

fn kind(frame: &Frame) -> &'static str {
    match frame {
        Frame::Video(_) => "video",
        Frame::Audio(_) => "audio",
        _ => "neither video nor audio",
    }
}

/// The C view of a held video frame.
fn describe(out: &SluiceOutput, held: &Held, ticket: u64) -> SluiceVideoFrame {
    let mut frame = SluiceVideoFrame {
        planes: [std::ptr::null(); 3],
        strides: [0; 3],
        plane_count: 0,
        width: 0,
        height: 0,
        format: 0,
        pts_ns: host_pts(out, held.time()),
        media_time_ns: held.time(),
        output: out,
        ticket,
    };
    if let Frame::Video(v) = &**held {
        for p in 0..v.plane_count() {
            frame.planes[p] = v.plane(p).as_ptr();
            frame.strides[p] = v.stride(p);
        }
        frame.plane_count = v.plane_count() as u32;
        frame.width = v.width() as u32;
        frame.height = v.height() as u32;
        frame.format = format_code(v.format());
    }
    frame
}

/// The host timestamp of the push that made the frame at media time
/// `time` (the media time itself once forgotten).
fn host_pts(out: &SluiceOutput, time: u64) -> u64 {
    out.link
        .get()
        .and_then(|link| link.shared.stamps(out.domain))
        .and_then(|stamps| stamps.find(time))
        .unwrap_or(time)
}

/// Gives a frame from `sluice_pop_video` back to its output; its planes
/// are invalid afterwards and the struct is cleared. Call it on the
/// thread that pops that output (or while no other thread pops it:
/// else `SLUICE_ERR_BUSY`, and the frame is still the caller's). A frame
/// released twice, or not popped, is `SLUICE_ERR_ARG`. Allocates nothing.
///
/// # Safety
/// `frame` is NULL or points at a `SluiceVideoFrame` that
/// `sluice_pop_video` filled (or that is zeroed), whose graph is open.
#[no_mangle]
pub unsafe extern "C" fn sluice_frame_release(frame: *mut SluiceVideoFrame) -> SluiceStatus {
    guard(|| {
        // SAFETY: NULL or a valid frame, per the caller's contract.
        let popped = unsafe { frame.as_mut() }.ok_or_else(|| Fail::null("frame"))?;
        // SAFETY: NULL, or the output that filled the frame (still open).
        let out = unsafe { popped.output.as_ref() }.ok_or(Fail::fixed(
            SLUICE_ERR_ARG,
            c"the frame was not popped, or was released already",
        ))?;
        let ticket = popped.ticket;
        out.end.try_with(|end| {
            let slot = end.held.get_mut((ticket & 0xff) as usize);
            let Some(held) = slot.filter(|s| s.as_ref().is_some_and(|(t, _)| *t == ticket)) else {
                return Err(Fail::fixed(
                    SLUICE_ERR_ARG,
                    c"the frame is not held by its output (released already?)",
                ));
            };
            if let Some((_, frame)) = held.take() {
                end.output.release(frame);
            }
            Ok(())
        })??;
        *popped = SluiceVideoFrame {
            planes: [std::ptr::null(); 3],
            strides: [0; 3],
            plane_count: 0,
            width: 0,
            height: 0,
            format: 0,
            pts_ns: 0,
            media_time_ns: 0,
            output: std::ptr::null(),
            ticket: 0,
        };
        Ok(SLUICE_OK)
    })
}

/// Pops the oldest processed audio frame, copied into `samples`
/// interleaved (`count` floats: channels × samples per channel, the same
/// count a push takes; a wrong count is `SLUICE_ERR_SIZE`, saying the
/// right one, and pops nothing). The frame goes straight back to the
/// output: no release. `info`, if not NULL, receives its channels, length
/// and timestamps. Returns as `sluice_pop_video`. Allocates nothing.
///
/// # Safety
/// `output` is NULL or a handle of an open graph; `samples` is NULL or
/// points at `count` writable floats; `info` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sluice_pop_audio(
    output: *mut SluiceOutput,
    samples: *mut f32,
    count: usize,
    info: *mut SluiceAudioInfo,
) -> SluiceStatus {
    // SAFETY: forwarded from this function's contract.
    unsafe { pop_audio(output, samples, count, info, |s| s) }
}

/// As `sluice_pop_audio`, into 16-bit samples (±1.0 is ±32767, louder
/// clipped).
///
/// # Safety
/// As `sluice_pop_audio`, with `count` writable `int16_t`s.
#[no_mangle]
pub unsafe extern "C" fn sluice_pop_audio_i16(
    output: *mut SluiceOutput,
    samples: *mut i16,
    count: usize,
    info: *mut SluiceAudioInfo,
) -> SluiceStatus {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        pop_audio(output, samples, count, info, |s| {
            (s.clamp(-1.0, 1.0) * 32767.0).round() as i16
        })
    }
}

/// An audio pop into samples of type `S`.
///
/// # Safety
/// As `sluice_pop_audio`.
unsafe fn pop_audio<S>(
    output: *mut SluiceOutput,
    samples: *mut S,
    count: usize,
    info: *mut SluiceAudioInfo,
    convert: fn(f32) -> S,
) -> SluiceStatus {
    guard(|| {
        // SAFETY: forwarded from this function's contract.
        let out = unsafe { handle(output, "output")? };
        if samples.is_null() {
            return Err(Fail::null("samples"));
        }
        out.end.try_with(|end| {
            let (c, n) = match end.output.peek() {
                None => return Ok(nothing(&end.output)),
                Some(Frame::Audio(a)) => (a.channels(), a.len()),
                Some(f) => return Err(wrong_media(&out.name, kind(f), "sluice_pop_video")),
            };
            if count != c * n {
                return Err(Fail::new(
                    SLUICE_ERR_SIZE,
                    format!(
                        "`{}` gives {n} samples of {c} channels a frame ({} values), \
                         the buffer holds {count}",
                        out.name,
                        c * n
                    ),
                ));
            }
            let Some(held) = end.output.pop_owned() else {
                return Ok(SLUICE_NONE);
            };
            // SAFETY: not NULL, and `count` writable samples per the
            // caller's contract (`count` is the frame's size, checked).
            let dst = unsafe { std::slice::from_raw_parts_mut(samples, count) };
            let popped = interleave(out, &held, dst, convert);
            end.output.release(held);
            // SAFETY: NULL or writable per the caller's contract.
            if let Some(info) = unsafe { info.as_mut() } {
                *info = popped;
            }
            Ok(SLUICE_OK)
        })?
    })
}

/// Copies a held audio frame into `dst` interleaved.
fn interleave<S>(
    out: &SluiceOutput,
    held: &Held,
    dst: &mut [S],
    convert: fn(f32) -> S,
) -> SluiceAudioInfo {
    let Frame::Audio(a) = &**held else {
        return SluiceAudioInfo::default();
    };
    let channels = a.channels();
    for (c, channel) in (0..channels).map(|c| (c, a.channel(c))) {
        for (i, &s) in channel.iter().enumerate() {
            dst[i * channels + c] = convert(s);
        }
    }
    SluiceAudioInfo {
        channels: channels as u32,
        samples: a.len() as u32,
        pts_ns: host_pts(out, held.time()),
        media_time_ns: held.time(),
    }
}
