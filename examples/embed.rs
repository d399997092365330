//! Embedding Sluice in an application (`cargo run --release --example
//! embed [FRAMES]`): a stand-in for a calling SDK's incoming-frame
//! callback pushes synthetic 720p camera frames at 30 fps into
//! `app_in -> background_blur -> app_out`; a second thread, standing in
//! for the SDK's outgoing virtual stream, pops the results, checks that
//! every frame came out blurred and in order, and the latency from push
//! to pop is printed (p50, p99).
//!
//! The blur uses `mask: portrait` (a fixed head-and-shoulders prior) so
//! the example measures the boundary and the blur, not the person
//! segmentation model (`mask: person`, tens of ms a frame on a laptop CPU).

use sluice_dsl::{Domain, SourceFile};
use sluice_runtime::{Driven, Engine, Input, Output, VideoFrame};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The graph: the host's camera in, blurred, out to the host.
const GRAPH: &str = r#"graph embed {
    app_in(name: "camera", type: video, size: 1280x720, format: i420, fps: 30)
        -> background_blur(mask: portrait, radius: 16px)
        -> app_out(name: "outgoing")
}"#;

const FPS: u64 = 30;
const WIDTH: usize = 1280;
const HEIGHT: usize = 720;

/// What the popping thread found.
struct Received {
    frames: u64,
    in_order: bool,
    blurred: bool,
    latencies_us: Vec<f64>,
}

fn main() -> Result<(), String> {
    let frames: u64 = match std::env::args().nth(1) {
        Some(n) => n
            .parse()
            .map_err(|_| format!("FRAMES must be a count, not `{n}`"))?,
        None => 150,
    };
    let (driven, camera, outgoing) = build(GRAPH)?;
    let start = Instant::now();
    let pushed_at: Arc<Vec<AtomicU64>> = Arc::new((0..frames).map(|_| AtomicU64::new(0)).collect());
    let times = pushed_at.clone();
    let consumer = std::thread::spawn(move || receive(outgoing, &times, start));
    let (driven, dropped) = sdk_callbacks(driven, camera, frames, &pushed_at, start);
    let summary = finish(driven)?;
    let got = consumer
        .join()
        .map_err(|_| "the receiving thread panicked")?;
    report(frames, dropped, &got);
    eprintln!("graph: {} ticks, {} drops", summary.ticks, summary.drops);
    if got.frames != frames || !got.in_order || !got.blurred {
        return Err(format!(
            "expected {frames} blurred frames in order, got {}",
            got.frames
        ));
    }
    Ok(())
}

/// Checks and builds the graph; takes the endpoints' handles; hands the
/// engine to the caller's thread (the pushes drive the clock).
fn build(text: &str) -> Result<(Driven, Input<VideoFrame>, Output), String> {
    let registry = sluice_nodes::registry();
    let file = SourceFile::new("embed.sluice", text);
    let checked = sluice_dsl::check(&file, &registry);
    let plan = checked
        .plan
        .ok_or_else(|| checked.diagnostics.render(&file, false))?;
    let mut engine = Engine::build(&plan, &registry).map_err(|e| e.to_string())?;
    let camera = engine
        .input::<VideoFrame>("camera")
        .map_err(|e| e.to_string())?;
    let outgoing = engine.output("outgoing").map_err(|e| e.to_string())?;
    Ok((engine.drive(), camera, outgoing))
}

/// The SDK's incoming-frame callback, at 30 fps: each frame the host owns
/// is pushed (copied into a pooled frame) and its domain stepped once.
/// Returns the engine and the pushes the full queue dropped.
fn sdk_callbacks(
    mut driven: Driven,
    mut camera: Input<VideoFrame>,
    frames: u64,
    pushed_at: &[AtomicU64],
    start: Instant,
) -> (Driven, u64) {
    let mut host = HostFrame::new();
    let period = Duration::from_nanos(1_000_000_000 / FPS);
    let domain: Domain = camera.domain();
    for k in 0..frames {
        sleep_until(start + period * k as u32);
        host.draw(k);
        pushed_at[k as usize].store(start.elapsed().as_nanos() as u64, Ordering::Release);
        let planes = [&host.y[..], &host.u[..], &host.v[..]];
        match camera.push_planes(&planes, &[host.stride, WIDTH / 2, WIDTH / 2]) {
            Ok(_) => {}
            Err(e) => eprintln!("push refused: {e}"),
        }
        driven.step(domain);
    }
    (driven, camera.dropped())
}

/// Stops the graph (the camera source ends at its next tick, the rest
/// drains), steps it out and finishes every node.
fn finish(mut driven: Driven) -> Result<sluice_runtime::Summary, String> {
    driven.stop_handle().stop();
    let domains = driven.domains();
    while !driven.is_ended() {
        domains.iter().for_each(|&d| {
            driven.step(d);
        });
    }
    driven.finish().map_err(|e| e.to_string())
}

/// The outgoing virtual stream: pops until the graph has ended, timing
/// each frame from its push and checking it was blurred.
fn receive(mut outgoing: Output, pushed_at: &[AtomicU64], start: Instant) -> Received {
    let mut got = Received {
        frames: 0,
        in_order: true,
        blurred: true,
        latencies_us: Vec::with_capacity(pushed_at.len()),
    };
    loop {
        let Some(frame) = outgoing.pop() else {
            // Ended: the graph is finished and dropped, every frame popped.
            if outgoing.is_ended() {
                return got;
            }
            std::thread::sleep(Duration::from_micros(100));
            continue;
        };
        let now = start.elapsed().as_nanos() as u64;
        let k = (frame.time() * FPS + 500_000_000) / 1_000_000_000;
        got.in_order &= k == got.frames;
        if let (Some(at), Some(video)) = (pushed_at.get(k as usize), frame.video()) {
            let pushed = at.load(Ordering::Acquire);
            got.latencies_us
                .push(now.saturating_sub(pushed) as f64 / 1000.0);
            got.blurred &= edge_energy(video) < HostFrame::EDGE_ENERGY / 2;
        }
        got.frames += 1;
    }
}

/// Sum of absolute differences between horizontal neighbours in the top
/// left corner (background under the portrait mask), a measure of detail.
fn edge_energy(frame: &VideoFrame) -> u64 {
    let y = frame.plane(0);
    let stride = frame.stride(0);
    (0..16)
        .flat_map(|r| y[r * stride..r * stride + 256].windows(2))
        .map(|w| u64::from(w[0].abs_diff(w[1])))
        .sum()
}

/// A camera frame the host owns, with padded rows as SDKs often give.
struct HostFrame {
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
    stride: usize,
}

impl HostFrame {
    /// The detail of a drawn frame's top left corner (16 rows of 256
    /// pixels, stripes 4 wide of luma 40 and 200: at least 63 edges of 160
    /// a row).
    const EDGE_ENERGY: u64 = 16 * 63 * 160;

    fn new() -> HostFrame {
        let stride = WIDTH + 64;
        HostFrame {
            y: vec![0; stride * HEIGHT],
            u: vec![128; WIDTH / 2 * HEIGHT / 2],
            v: vec![128; WIDTH / 2 * HEIGHT / 2],
            stride,
        }
    }

    /// Vertical stripes (a detailed background) moving with `k`.
    fn draw(&mut self, k: u64) {
        for row in self.y.chunks_exact_mut(self.stride) {
            for (x, px) in row[..WIDTH].iter_mut().enumerate() {
                *px = if ((x + k as usize * 4) / 4).is_multiple_of(2) {
                    40
                } else {
                    200
                };
            }
        }
    }
}

fn sleep_until(t: Instant) {
    if let Some(d) = t.checked_duration_since(Instant::now()) {
        std::thread::sleep(d);
    }
}

fn report(frames: u64, dropped: u64, got: &Received) {
    let mut l = got.latencies_us.clone();
    l.sort_by(f64::total_cmp);
    let at = |q: f64| {
        l.get(((l.len() as f64 - 1.0) * q).round() as usize)
            .copied()
    };
    println!(
        "pushed {frames} frames of {WIDTH}x{HEIGHT} i420 at {FPS} fps, {dropped} dropped; \
         popped {} (in order: {}, blurred: {})",
        got.frames, got.in_order, got.blurred
    );
    if let (Some(p50), Some(p99)) = (at(0.5), at(0.99)) {
        println!("push-to-pop latency (push, blur, pop): p50 {p50:.0} us, p99 {p99:.0} us");
    }
}
