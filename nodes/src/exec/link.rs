//! The rings between an `exec` node's real-time side and one child's
//! threads. Everything is allocated here, at build: media travels in a
//! fixed set of packets that go round (free ring, full ring), and events
//! come back as length-prefixed records in a byte ring.

use rtrb::{Consumer, Producer, RingBuffer};
use sluice_runtime::{Nanos, StreamId};
use std::time::Instant;

/// One tick of audio (f32 at the graph rate) or one video frame.
pub struct Packet {
    /// The domain tick it belongs to.
    pub tick: u64,
    /// Its media time.
    pub time: Nanos,
    /// When the real-time side handed it over.
    pub sent: Instant,
    /// Audio: `f32` samples as native-endian bytes; video: the i420 planes.
    pub data: Vec<u8>,
}

/// A pool of packets going round between two sides.
pub struct PacketPool {
    /// Filled packets, to the other side.
    pub full: Producer<Packet>,
    /// Emptied packets, back from the other side.
    pub free: Consumer<Packet>,
}

/// The other side's ends of a [`PacketPool`].
pub struct PacketSink {
    /// Filled packets to take.
    pub full: Consumer<Packet>,
    /// Where emptied packets go back.
    pub free: Producer<Packet>,
}

/// `count` packets of `bytes` each.
pub fn packets(count: usize, bytes: usize) -> (PacketPool, PacketSink) {
    let (full_tx, full_rx) = RingBuffer::new(count);
    let (mut free_tx, free_rx) = RingBuffer::new(count);
    let now = Instant::now();
    for _ in 0..count {
        let _ = free_tx.push(Packet {
            tick: 0,
            time: 0,
            sent: now,
            data: vec![0; bytes],
        });
    }
    (
        PacketPool {
            full: full_tx,
            free: free_rx,
        },
        PacketSink {
            full: full_rx,
            free: free_tx,
        },
    )
}

/// Bytes of an event record's header: length (u32) and time (u64).
const RECORD_HEAD: usize = 12;

/// The reader's end of the events ring.
pub struct EventWriter {
    ring: Producer<u8>,
}

/// The real-time side's end of the events ring.
pub struct EventReader {
    ring: Consumer<u8>,
}

/// An events ring of `bytes`.
pub fn events(bytes: usize) -> (EventWriter, EventReader) {
    let (tx, rx) = RingBuffer::new(bytes);
    (EventWriter { ring: tx }, EventReader { ring: rx })
}

impl EventWriter {
    /// Queues one event line stamped `time`; false when it does not fit.
    pub fn push(&mut self, time: Nanos, line: &[u8]) -> bool {
        let n = RECORD_HEAD + line.len();
        let Ok(mut chunk) = self.ring.write_chunk_uninit(n) else {
            return false;
        };
        let head = (line.len() as u32)
            .to_le_bytes()
            .into_iter()
            .chain(time.to_le_bytes());
        let (a, b) = chunk.as_mut_slices();
        for (slot, byte) in a
            .iter_mut()
            .chain(b.iter_mut())
            .zip(head.chain(line.iter().copied()))
        {
            slot.write(byte);
        }
        // SAFETY: the loop above wrote all `n` slots: the chain of header
        // and line yields exactly `n` bytes, and the two slices hold `n`.
        unsafe { chunk.commit_all() };
        true
    }
}

impl EventReader {
    /// Whether no event is queued.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Takes the next event into `scratch`, if one is queued and `fits`
    /// says there is room for a line of its length; returns its time and
    /// length. Never allocates.
    pub fn pop(
        &mut self,
        scratch: &mut [u8],
        fits: impl Fn(usize) -> bool,
    ) -> Option<(Nanos, usize)> {
        let mut head = [0u8; RECORD_HEAD];
        {
            let chunk = self.ring.read_chunk(RECORD_HEAD).ok()?;
            let (a, b) = chunk.as_slices();
            head[..a.len()].copy_from_slice(a);
            head[a.len()..].copy_from_slice(b);
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let mut time = [0u8; 8];
        time.copy_from_slice(&head[4..]);
        if !fits(len) || len > scratch.len() {
            return None;
        }
        let chunk = self.ring.read_chunk(RECORD_HEAD + len).ok()?;
        let (a, b) = chunk.as_slices();
        let mut all = a.iter().chain(b.iter()).skip(RECORD_HEAD);
        for slot in scratch[..len].iter_mut() {
            *slot = *all.next()?;
        }
        chunk.commit_all();
        Some((Nanos::from_le_bytes(time), len))
    }
}

/// Which block a piece of returned media answers, and when it went in.
#[derive(Debug, Clone, Copy)]
pub struct Tag {
    /// The block's tick.
    pub tick: u64,
    /// When the real-time side handed it over.
    pub sent: Instant,
}

/// What the real-time side tells a child's supervisor.
#[derive(Debug, Clone, Copy)]
pub enum Control {
    /// A participant arrived in the slot: start its program.
    Start(StreamId),
    /// The participant left: close its program.
    Stop,
}
