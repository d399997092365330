//! cpal device selection, listing, and streams that exchange interleaved
//! f32 samples with the graph over rtrb rings.

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, StreamConfig};
use rtrb::{Consumer, Producer};
use sluice_runtime::DeviceCounter;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

/// What a graph using the default device is told on a machine without a
/// sound card.
pub const NO_CARD: &str = "no sound card: this machine has only ALSA's null device \
    (a server or CI machine); name a device from `sluice devices`, or use \
    `device: \"null\"` to run against the null device as a smoke test";

/// One device as `sluice devices` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// cpal's id (`alsa:null`, `alsa:hw:CARD=PCH,DEV=0`): what `device:` takes.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Whether it can capture.
    pub input: bool,
    /// Whether it can play.
    pub output: bool,
    /// Whether it is the host's default input.
    pub default_input: bool,
    /// Whether it is the host's default output.
    pub default_output: bool,
}

/// The devices of the default host.
#[derive(Debug, Clone)]
pub struct Report {
    /// Host name (ALSA on Linux).
    pub host: String,
    /// Every device.
    pub devices: Vec<DeviceInfo>,
}

impl Report {
    /// Whether any device other than the null device exists.
    pub fn has_sound_card(&self) -> bool {
        self.devices.iter().any(|d| !is_null(&d.id))
    }
}

/// Whether a device id names ALSA's null device.
pub fn is_null(id: &str) -> bool {
    id == "null" || id.ends_with(":null")
}

/// Lists the default host's devices.
pub fn report() -> Result<Report, String> {
    let host = cpal::default_host();
    let id_of = |d: &cpal::Device| d.id().map(|i| i.to_string()).unwrap_or_default();
    let default_in = host.default_input_device().map(|d| id_of(&d));
    let default_out = host.default_output_device().map(|d| id_of(&d));
    let devices = host
        .devices()
        .map_err(|e| format!("cannot list sound devices: {e}"))?
        .map(|d| {
            let id = id_of(&d);
            DeviceInfo {
                name: d
                    .description()
                    .map(|x| x.name().to_string())
                    .unwrap_or_else(|_| id.clone()),
                input: d.supports_input(),
                output: d.supports_output(),
                default_input: default_in.as_deref() == Some(id.as_str()),
                default_output: default_out.as_deref() == Some(id.as_str()),
                id,
            }
        })
        .collect();
    Ok(Report {
        host: host.id().name().to_string(),
        devices,
    })
}

/// Capture or playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A microphone.
    Input,
    /// A speaker.
    Output,
}

/// Finds the device `spec` names: `default`, `null`, a full id, or a
/// device name.
fn select(host: &cpal::Host, spec: &str, dir: Direction) -> Result<cpal::Device, String> {
    let devices: Vec<cpal::Device> = host
        .devices()
        .map_err(|e| format!("cannot list sound devices: {e}"))?
        .collect();
    let id_of = |d: &cpal::Device| d.id().map(|i| i.to_string()).unwrap_or_default();
    if spec == "default" {
        if devices.iter().all(|d| is_null(&id_of(d))) {
            return Err(NO_CARD.to_string());
        }
        let found = match dir {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        };
        return found.ok_or_else(|| {
            let what = if dir == Direction::Input {
                "input"
            } else {
                "output"
            };
            format!("there is no default {what} device; name one from `sluice devices`")
        });
    }
    devices
        .into_iter()
        .find(|d| {
            let id = id_of(d);
            let name = d.description().map(|x| x.name().to_string());
            id == spec
                || id.split_once(':').map(|(_, rest)| rest) == Some(spec)
                || name.as_deref() == Ok(spec)
        })
        .ok_or_else(|| format!("no sound device {spec:?}; `sluice devices` lists them"))
}

/// Picks a stream config at `rate` with `channels` if the device has one,
/// else the fewest channels it offers at that rate; f32 or i16 samples.
fn choose(
    device: &cpal::Device,
    dir: Direction,
    rate: u32,
    channels: u16,
) -> Result<(StreamConfig, SampleFormat), String> {
    let ranges: Vec<cpal::SupportedStreamConfigRange> = match dir {
        Direction::Input => device.supported_input_configs().map(|c| c.collect()),
        Direction::Output => device.supported_output_configs().map(|c| c.collect()),
    }
    .map_err(|e| format!("cannot read the device's formats: {e}"))?;
    let usable = |r: &&cpal::SupportedStreamConfigRange| {
        matches!(r.sample_format(), SampleFormat::F32 | SampleFormat::I16)
            && r.min_sample_rate() <= rate
            && rate <= r.max_sample_rate()
    };
    let best = ranges
        .iter()
        .filter(usable)
        .min_by_key(|r| {
            (
                r.channels() != channels,
                r.channels(),
                r.sample_format() != SampleFormat::F32,
            )
        })
        .ok_or_else(|| {
            let offered: Vec<String> = ranges
                .iter()
                .map(|r| {
                    format!(
                        "{}ch {} {}-{} Hz",
                        r.channels(),
                        r.sample_format(),
                        r.min_sample_rate(),
                        r.max_sample_rate()
                    )
                })
                .collect();
            format!(
                "the device cannot run at {rate} Hz with f32 or i16 samples (it offers: {}); \
                 set the graph's rate to one it supports",
                offered.join(", ")
            )
        })?;
    let config = StreamConfig {
        channels: best.channels(),
        sample_rate: rate,
        buffer_size: cpal::BufferSize::Default,
    };
    Ok((config, best.sample_format()))
}

/// Counters of one device stream (relaxed atomics, read for reports).
#[derive(Debug, Default)]
pub struct DeviceStats {
    /// Callbacks that found fewer samples than the device wanted (speaker)
    /// or no room for what it captured (mic).
    pub xruns: AtomicU64,
    /// Errors the device reported.
    pub errors: AtomicU64,
    /// Samples the graph produced that found the speaker's ring full (the
    /// device runs slower than the graph's clock).
    pub dropped: AtomicU64,
}

/// A running device stream, owned by its own thread; dropping it stops
/// the stream.
#[derive(Debug)]
pub struct DeviceStream {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Counters.
    pub stats: Arc<DeviceStats>,
    /// Frames the callback has handled: the device's clock.
    pub counter: Arc<DeviceCounter>,
    /// The device's channel count (may differ from the graph's).
    pub device_channels: u16,
    /// Whether it is ALSA's null device, whose callback runs unpaced (tens
    /// of millions of frames a second), so its count is no clock.
    pub null: bool,
}

impl Drop for DeviceStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// The graph's end of a device ring.
pub enum Ring {
    /// Samples the mic captured (the callback produces).
    Capture(Producer<f32>),
    /// Samples for the speaker (the callback consumes).
    Playback(Consumer<f32>),
}

/// Which way it runs; the samples are opaque.
impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ring::Capture(_) => "Ring::Capture",
            Ring::Playback(_) => "Ring::Playback",
        })
    }
}

/// Opens device `spec` at `rate` with `channels` channels on the graph's
/// side and starts it. The ring carries frames of `channels` samples.
pub fn open(spec: &str, rate: u32, channels: u16, ring: Ring) -> Result<DeviceStream, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(DeviceStats::default());
    let counter = Arc::new(DeviceCounter::new());
    let (tx, rx) = mpsc::channel();
    let (spec, s) = (spec.to_string(), stop.clone());
    let counts = Counts {
        stats: stats.clone(),
        counter: counter.clone(),
    };
    let thread = thread::Builder::new()
        .name("sound-device".into())
        .spawn(move || run_device(&spec, rate, channels, ring, &s, counts, tx))
        .map_err(|e| format!("cannot start the device thread: {e}"))?;
    match rx.recv() {
        Ok(Ok((device_channels, null))) => Ok(DeviceStream {
            stop,
            thread: Some(thread),
            stats,
            counter,
            device_channels,
            null,
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => Err("the device thread stopped before the stream started".into()),
    }
}

/// What a callback counts into.
#[derive(Clone)]
struct Counts {
    stats: Arc<DeviceStats>,
    counter: Arc<DeviceCounter>,
}

fn run_device(
    spec: &str,
    rate: u32,
    channels: u16,
    ring: Ring,
    stop: &AtomicBool,
    counts: Counts,
    started: mpsc::Sender<Result<(u16, bool), String>>,
) {
    let stream = start(spec, rate, channels, ring, counts);
    let stream = match stream {
        Ok((s, device_channels, null)) => {
            let _ = started.send(Ok((device_channels, null)));
            s
        }
        Err(e) => {
            let _ = started.send(Err(e));
            return;
        }
    };
    while !stop.load(Ordering::Acquire) {
        thread::park();
    }
    drop(stream);
}

fn start(
    spec: &str,
    rate: u32,
    channels: u16,
    ring: Ring,
    counts: Counts,
) -> Result<(cpal::Stream, u16, bool), String> {
    let host = cpal::default_host();
    let dir = match ring {
        Ring::Capture(_) => Direction::Input,
        Ring::Playback(_) => Direction::Output,
    };
    let device = select(&host, spec, dir)?;
    let null = is_null(&device.id().map(|i| i.to_string()).unwrap_or_default());
    let (config, format) = choose(&device, dir, rate, channels)?;
    let device_channels = config.channels;
    let map = Map {
        graph: usize::from(channels),
        device: usize::from(device_channels),
    };
    let stream = match (ring, format) {
        (Ring::Playback(c), SampleFormat::F32) => playback::<f32>(&device, config, c, map, counts),
        (Ring::Playback(c), _) => playback::<i16>(&device, config, c, map, counts),
        (Ring::Capture(p), SampleFormat::F32) => capture::<f32>(&device, config, p, map, counts),
        (Ring::Capture(p), _) => capture::<i16>(&device, config, p, map, counts),
    }
    .map_err(|e| format!("cannot open the sound device: {e}"))?;
    stream
        .play()
        .map_err(|e| format!("cannot start the sound device: {e}"))?;
    Ok((stream, device_channels, null))
}

/// Channel counts on the graph's and the device's side.
#[derive(Debug, Clone, Copy)]
struct Map {
    graph: usize,
    device: usize,
}

impl Map {
    /// Device channel `d`'s sample from a graph frame: mono is copied to
    /// every channel, missing channels are silent.
    fn to_device(self, frame: &[f32], d: usize) -> f32 {
        if self.graph == 1 {
            frame[0]
        } else {
            frame.get(d).copied().unwrap_or(0.0)
        }
    }

    /// Graph channel `g`'s sample from a device frame: a mono graph takes
    /// the mean of the device's channels.
    fn to_graph(self, frame: &[f32], g: usize) -> f32 {
        if self.graph == 1 && self.device > 1 {
            frame.iter().sum::<f32>() / self.device as f32
        } else {
            frame.get(g).copied().unwrap_or(0.0)
        }
    }
}

fn error_counter(stats: &Arc<DeviceStats>) -> impl FnMut(cpal::Error) + Send + 'static {
    let stats = stats.clone();
    move |_| {
        stats.errors.fetch_add(1, Ordering::Relaxed);
    }
}

fn playback<T>(
    device: &cpal::Device,
    config: StreamConfig,
    mut ring: Consumer<f32>,
    map: Map,
    counts: Counts,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let on_error = error_counter(&counts.stats);
    let Counts { stats, counter } = counts;
    device.build_output_stream(
        config,
        move |data: &mut [T], _: &cpal::OutputCallbackInfo| {
            let mut frame = [0.0f32; 8];
            let g = map.graph.min(frame.len());
            let mut short = false;
            for out in data.chunks_mut(map.device) {
                if ring.slots() >= g {
                    for s in frame.iter_mut().take(g) {
                        *s = ring.pop().unwrap_or(0.0);
                    }
                } else {
                    frame = [0.0; 8];
                    short = true;
                }
                for (d, o) in out.iter_mut().enumerate() {
                    *o = T::from_sample(map.to_device(&frame[..g], d));
                }
            }
            if short {
                stats.xruns.fetch_add(1, Ordering::Relaxed);
            }
            counter.advance((data.len() / map.device.max(1)) as u64);
        },
        on_error,
        None,
    )
}

fn capture<T>(
    device: &cpal::Device,
    config: StreamConfig,
    mut ring: Producer<f32>,
    map: Map,
    counts: Counts,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let on_error = error_counter(&counts.stats);
    let Counts { stats, counter } = counts;
    device.build_input_stream(
        config,
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            let mut frame = [0.0f32; 8];
            let dch = map.device.min(frame.len());
            let mut full = false;
            for inp in data.chunks(map.device) {
                for (f, s) in frame.iter_mut().zip(inp).take(dch) {
                    *f = s.to_sample::<f32>();
                }
                if ring.slots() < map.graph {
                    full = true;
                    continue;
                }
                for g in 0..map.graph {
                    let _ = ring.push(map.to_graph(&frame[..dch], g));
                }
            }
            if full {
                stats.xruns.fetch_add(1, Ordering::Relaxed);
            }
            counter.advance((data.len() / map.device.max(1)) as u64);
        },
        on_error,
        None,
    )
}
