//! The outgoing half of a call: `acs_out` pushes graph-rate samples into a
//! wait-free ring ([`OutRing`]); the connection's [`Outbound`] pops them,
//! resamples to the call's rate, cuts 20 ms chunks and encodes each as an
//! `AudioData` message into a bounded queue, all off the real-time path.
//! A barge-in (`acs_out.stop`) is a counter the connection watches: it then
//! drops the queued audio and sends `StopAudio`.

use super::protocol::{encode_audio, STOP_AUDIO};
use super::resample::StreamResampler;
use super::stats::CallStats;
use rtrb::{Consumer, Producer, RingBuffer};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// `acs_out`'s end.
#[derive(Debug)]
pub struct OutRing {
    /// Samples at the graph rate.
    pub samples: Producer<f32>,
    /// Barge-in requests so far.
    pub stop: Arc<AtomicU64>,
    /// The call's counters.
    pub stats: Arc<CallStats>,
}

/// The queue of encoded messages is full: the client is not reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTooSlow {
    /// Messages that were waiting.
    pub queued: usize,
}

/// The connection's end.
#[derive(Debug)]
pub struct Outbound {
    samples: Consumer<f32>,
    stop: Arc<AtomicU64>,
    stops_seen: u64,
    resampler: StreamResampler,
    pcm: Vec<i16>,
    fill: usize,
    scratch: Vec<f32>,
    bytes: Vec<u8>,
    queue: VecDeque<String>,
    spare: Vec<String>,
    max_queue: usize,
    stats: Arc<CallStats>,
}

/// Creates the rings of a call's outgoing audio (allocates: build time).
/// `queue_ms` bounds both the sample ring and the message queue.
pub fn outbound(
    graph_rate: u32,
    call_rate: u32,
    queue_ms: u32,
    stats: Arc<CallStats>,
) -> Result<(OutRing, Outbound), String> {
    let ring = (graph_rate as usize * queue_ms as usize / 1000).max(1);
    let (p, c) = RingBuffer::new(ring);
    let stop = Arc::new(AtomicU64::new(0));
    let chunk = call_rate as usize / 50;
    let max_queue = (queue_ms as usize / 20).max(2);
    let msg_len = chunk * 2 * 4 / 3 + 64;
    Ok((
        OutRing {
            samples: p,
            stop: stop.clone(),
            stats: stats.clone(),
        },
        Outbound {
            samples: c,
            stop,
            stops_seen: 0,
            resampler: StreamResampler::new(graph_rate, call_rate)?,
            pcm: vec![0; chunk],
            fill: 0,
            scratch: vec![0.0; graph_rate as usize / 50],
            bytes: Vec::with_capacity(chunk * 2),
            queue: VecDeque::with_capacity(max_queue),
            spare: (0..max_queue)
                .map(|_| String::with_capacity(msg_len))
                .collect(),
            max_queue,
            stats,
        },
    ))
}

impl Outbound {
    /// Whether a barge-in was asked for since the last call. If so, the
    /// queued audio is dropped and the caller sends [`STOP_AUDIO`] first.
    pub fn take_stop(&mut self) -> bool {
        let n = self.stop.load(Ordering::Acquire);
        if n == self.stops_seen {
            return false;
        }
        self.stops_seen = n;
        self.clear();
        CallStats::add(&self.stats.stops_sent, 1);
        true
    }

    /// Drops every queued message and sample not yet sent.
    pub fn clear(&mut self) {
        while let Some(m) = self.queue.pop_front() {
            self.spare.push(m);
        }
        let n = self.samples.slots();
        if let Ok(chunk) = self.samples.read_chunk(n) {
            chunk.commit_all();
        }
        self.fill = 0;
    }

    /// Moves the samples `acs_out` produced into encoded messages.
    pub fn pump(&mut self) -> Result<(), ClientTooSlow> {
        loop {
            let n = self.samples.slots().min(self.scratch.len());
            if n == 0 {
                return Ok(());
            }
            let Ok(chunk) = self.samples.read_chunk(n) else {
                return Ok(());
            };
            let (a, b) = chunk.as_slices();
            self.scratch[..a.len()].copy_from_slice(a);
            self.scratch[a.len()..n].copy_from_slice(b);
            chunk.commit_all();
            let Outbound {
                resampler,
                scratch,
                pcm,
                fill,
                bytes,
                queue,
                spare,
                max_queue,
                ..
            } = self;
            let mut overflow = false;
            resampler.push(&scratch[..n], |out| {
                for &s in out {
                    pcm[*fill] = (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                    *fill += 1;
                    if *fill == pcm.len() {
                        *fill = 0;
                        if queue.len() >= *max_queue {
                            overflow = true;
                            continue;
                        }
                        let mut text = spare.pop().unwrap_or_default();
                        encode_audio(pcm, bytes, &mut text);
                        queue.push_back(text);
                    }
                }
            });
            if overflow {
                return Err(ClientTooSlow {
                    queued: self.queue.len(),
                });
            }
        }
    }

    /// The next message to send, if any.
    pub fn front(&self) -> Option<&str> {
        self.queue.front().map(String::as_str)
    }

    /// Marks the front message as sent.
    pub fn sent(&mut self) {
        if let Some(m) = self.queue.pop_front() {
            self.spare.push(m);
            CallStats::add(&self.stats.sent_messages, 1);
        }
    }

    /// Messages waiting to be sent.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

/// The `StopAudio` text, for the connection.
pub fn stop_message() -> &'static str {
    STOP_AUDIO
}
