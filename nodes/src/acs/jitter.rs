//! Puts one participant's 20 ms chunks back in capture order.
//!
//! Chunks are numbered from their timestamps (20 ms apart). A chunk that
//! arrives early waits in a small window for the ones before it; a hole
//! that is still open when the window is full is filled with silence (and
//! counted); a chunk older than what was already released is late and
//! dropped (counted). A jump beyond the window (the participant paused, or
//! the platform's clock moved) restarts the numbering there, so a pause is
//! not filled with silence. Chunks without a timestamp keep arrival order.

use super::timestamp::Micros;

/// Chunks held while waiting for a missing one: 3 x 20 ms.
pub const DEPTH: usize = 3;

const CHUNK_US: i64 = 20_000;

/// What [`Reorder::push`] did with a chunk, for the call's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Chunks released in order (including this one if it was released).
    pub released: u32,
    /// Missing chunks replaced by silence.
    pub concealed: u32,
    /// Whether this chunk came too late and was dropped.
    pub late: bool,
}

/// The reorder window of one participant. Holds at most [`DEPTH`] chunks
/// in buffers allocated once.
#[derive(Debug)]
pub struct Reorder {
    base: Option<Micros>,
    next: i64,
    held: [Vec<i16>; DEPTH],
    filled: [bool; DEPTH],
    chunk: usize,
}

impl Reorder {
    /// A window for chunks of up to `chunk` samples.
    pub fn new(chunk: usize) -> Reorder {
        Reorder {
            base: None,
            next: 0,
            held: std::array::from_fn(|_| Vec::with_capacity(chunk)),
            filled: [false; DEPTH],
            chunk,
        }
    }

    /// Forgets everything (the slot goes to a new participant).
    pub fn reset(&mut self) {
        self.base = None;
        self.next = 0;
        self.filled = [false; DEPTH];
    }

    /// Takes one chunk; `emit(samples)` receives every chunk that is now
    /// in order (silence of a full chunk for a concealed hole).
    pub fn push(
        &mut self,
        timestamp: Option<Micros>,
        samples: &[i16],
        mut emit: impl FnMut(&[i16]),
    ) -> Outcome {
        let mut out = Outcome::default();
        let seq = match (timestamp, self.base) {
            (None, _) => self.next + self.held_count() as i64,
            (Some(t), None) => {
                self.base = Some(t);
                self.next = 0;
                0
            }
            (Some(t), Some(b)) => (t - b + CHUNK_US / 2).div_euclid(CHUNK_US),
        };
        if seq < self.next {
            if self.next - seq > 50 {
                // A clock jump backwards by more than a second: restart.
                self.flush(&mut emit, &mut out);
                self.next = seq;
            } else {
                out.late = true;
                return out;
            }
        }
        if seq >= self.next + DEPTH as i64 {
            self.flush(&mut emit, &mut out);
            self.next = seq;
        }
        let i = seq.rem_euclid(DEPTH as i64) as usize;
        let n = samples.len().min(self.chunk);
        self.held[i].clear();
        self.held[i].extend_from_slice(&samples[..n]);
        self.filled[i] = true;
        self.release_ready(&mut emit, &mut out);
        out
    }

    fn held_count(&self) -> usize {
        self.filled.iter().filter(|f| **f).count()
    }

    fn release_ready(&mut self, emit: &mut impl FnMut(&[i16]), out: &mut Outcome) {
        loop {
            let i = self.next.rem_euclid(DEPTH as i64) as usize;
            if !self.filled[i] {
                return;
            }
            emit(&self.held[i]);
            self.filled[i] = false;
            self.next += 1;
            out.released += 1;
        }
    }

    /// Releases every held chunk in order, concealing holes between them.
    fn flush(&mut self, emit: &mut impl FnMut(&[i16]), out: &mut Outcome) {
        let silence = [0i16; 1024];
        let mut remaining = self.held_count();
        while remaining > 0 {
            let i = self.next.rem_euclid(DEPTH as i64) as usize;
            if self.filled[i] {
                emit(&self.held[i]);
                self.filled[i] = false;
                remaining -= 1;
                out.released += 1;
            } else {
                let mut left = self.chunk;
                while left > 0 {
                    let n = left.min(silence.len());
                    emit(&silence[..n]);
                    left -= n;
                }
                out.concealed += 1;
            }
            self.next += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Micros = 1_716_286_272_000_000;

    /// Feeds chunks `(index, timestamp offset in chunks)` whose samples all
    /// equal their index + 1, and returns the emitted chunk values (0 for
    /// a concealed hole).
    fn run(order: &[i64]) -> (Vec<i16>, Outcome) {
        let mut r = Reorder::new(4);
        let mut got = Vec::new();
        let mut total = Outcome::default();
        for &k in order {
            let samples = [k as i16 + 1; 4];
            let o = r.push(Some(T0 + k * CHUNK_US), &samples, |s| {
                assert_eq!(s.len(), 4);
                got.push(s[0]);
            });
            total.released += o.released;
            total.concealed += o.concealed;
            total.late |= o.late;
        }
        (got, total)
    }

    #[test]
    fn in_order_passes_straight_through() {
        let (got, o) = run(&[0, 1, 2, 3, 4]);
        assert_eq!(got, [1, 2, 3, 4, 5]);
        assert_eq!((o.released, o.concealed, o.late), (5, 0, false));
    }

    #[test]
    fn swapped_chunks_are_reordered() {
        let (got, o) = run(&[0, 2, 1, 4, 3, 5]);
        assert_eq!(got, [1, 2, 3, 4, 5, 6]);
        assert_eq!(o.concealed, 0);
    }

    #[test]
    fn a_lost_chunk_is_concealed_once_the_window_is_full() {
        let (got, o) = run(&[0, 2, 3, 4, 5]);
        assert_eq!(got, [1, 0, 3, 4, 5, 6]);
        assert_eq!(o.concealed, 1);
    }

    #[test]
    fn a_late_chunk_is_dropped() {
        let (got, o) = run(&[0, 2, 3, 4, 5, 1, 6]);
        assert_eq!(got, [1, 0, 3, 4, 5, 6, 7]);
        assert!(o.late);
    }

    #[test]
    fn a_pause_is_not_filled_with_silence() {
        let (got, o) = run(&[0, 1, 40, 41]);
        assert_eq!(got, [1, 2, 41, 42]);
        assert_eq!(o.concealed, 0);
    }

    #[test]
    fn a_clock_jump_backwards_restarts() {
        let (got, _) = run(&[100, 101, 10, 11]);
        assert_eq!(got, [101, 102, 11, 12]);
    }

    #[test]
    fn jittered_timestamps_round_to_the_nearest_chunk() {
        let mut r = Reorder::new(2);
        let mut got = Vec::new();
        for (k, jitter) in [(0i64, 0i64), (1, 4_000), (2, -6_000), (3, 9_000)] {
            r.push(Some(T0 + k * CHUNK_US + jitter), &[k as i16; 2], |s| {
                got.push(s[0])
            });
        }
        assert_eq!(got, [0, 1, 2, 3]);
    }

    #[test]
    fn no_timestamp_keeps_arrival_order() {
        let mut r = Reorder::new(2);
        let mut got = Vec::new();
        for k in 0..5i16 {
            r.push(None, &[k; 2], |s| got.push(s[0]));
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn reset_forgets_the_timeline() {
        let mut r = Reorder::new(2);
        let mut got = Vec::new();
        r.push(Some(T0), &[1; 2], |s| got.push(s[0]));
        r.reset();
        r.push(Some(T0 - 10 * CHUNK_US), &[2; 2], |s| got.push(s[0]));
        assert_eq!(got, [1, 2]);
    }
}
