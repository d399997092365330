//! Seat assignment: where each participant sits around the listener.
//!
//! A participant takes a seat when it joins and keeps it until it leaves,
//! so nobody jumps around when others come and go. With evenly spaced
//! seats the newcomer takes the free seat farthest from everyone already
//! seated (voices spread out, which keeps them intelligible); with an
//! explicit `positions` list it takes the first free entry in list order.
//! When there are more participants than seats, seats are shared, the
//! least crowded first.

use super::position::Position;

/// How a joining participant picks its seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The free seat farthest from the occupied ones (ties: nearest ahead).
    Spread,
    /// The first free seat in list order.
    InOrder,
}

/// Seats at fixed positions with their occupant counts (no allocation
/// after construction).
#[derive(Debug, Clone)]
pub struct Seats {
    position: Vec<Position>,
    taken: Vec<u32>,
    pick: Pick,
}

impl Seats {
    /// `count` seats evenly spaced over `spread` degrees centred ahead
    /// (one seat: straight ahead). A full circle has no two ends, so 360
    /// degrees spaces seats by `360 / count` starting straight ahead.
    pub fn spread(count: usize, spread: f64) -> Seats {
        let full = spread >= 360.0 - 1e-6;
        let position = (0..count)
            .map(|i| {
                let az = if count == 1 {
                    0.0
                } else if full {
                    let a = 360.0 * i as f64 / count as f64;
                    if a > 180.0 {
                        a - 360.0
                    } else {
                        a
                    }
                } else {
                    -spread / 2.0 + spread * i as f64 / (count - 1) as f64
                };
                Position::at(az)
            })
            .collect();
        Seats {
            position,
            taken: vec![0; count],
            pick: Pick::Spread,
        }
    }

    /// Seats at the given positions, filled in list order.
    pub fn listed(positions: &[Position]) -> Seats {
        Seats {
            position: positions.to_vec(),
            taken: vec![0; positions.len()],
            pick: Pick::InOrder,
        }
    }

    /// The azimuth of seat `seat` in degrees.
    pub fn azimuth(&self, seat: usize) -> f32 {
        self.position[seat].azimuth
    }

    /// Where seat `seat` is.
    pub fn position(&self, seat: usize) -> Position {
        self.position[seat]
    }

    /// Seats a newcomer and returns its seat.
    pub fn take(&mut self) -> usize {
        let fewest = self.taken.iter().copied().min().unwrap_or(0);
        let seat = match self.pick {
            Pick::InOrder => self.taken.iter().position(|&t| t == fewest),
            Pick::Spread => (0..self.taken.len())
                .filter(|&s| self.taken[s] == fewest)
                .max_by(|&a, &b| {
                    let key = |s: usize| (self.distance_to_occupied(s), -self.azimuth(s).abs());
                    let (ka, kb) = (key(a), key(b));
                    // Prefer the earlier seat on a tie (max_by keeps the last).
                    ka.partial_cmp(&kb)
                        .unwrap_or(std::cmp::Ordering::Equal)
                        .then(b.cmp(&a))
                }),
        };
        let seat = seat.unwrap_or(0);
        self.taken[seat] += 1;
        seat
    }

    /// Frees a seat taken by [`Seats::take`].
    pub fn release(&mut self, seat: usize) {
        self.taken[seat] = self.taken[seat].saturating_sub(1);
    }

    /// Degrees from seat `s` to the nearest occupied seat (infinite if none).
    fn distance_to_occupied(&self, s: usize) -> f32 {
        let a = self.azimuth(s);
        self.position
            .iter()
            .zip(&self.taken)
            .filter(|(_, &t)| t > 0)
            .map(|(b, _)| (a - b.azimuth).abs())
            .fold(f32::INFINITY, f32::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_are_evenly_spread() {
        let s = Seats::spread(5, 120.0);
        let az: Vec<f32> = (0..5).map(|i| s.azimuth(i)).collect();
        assert_eq!(az, vec![-60.0, -30.0, 0.0, 30.0, 60.0]);
        assert_eq!(Seats::spread(1, 120.0).azimuth(0), 0.0);
        let ring = Seats::spread(4, 360.0);
        let az: Vec<f32> = (0..4).map(|i| ring.azimuth(i)).collect();
        assert_eq!(az, vec![0.0, 90.0, 180.0, -90.0], "no seat twice behind");
    }

    #[test]
    fn newcomers_spread_out_and_keep_seats() {
        let mut s = Seats::spread(5, 120.0);
        let a = s.take();
        let b = s.take();
        let c = s.take();
        assert_eq!(s.azimuth(a), 0.0, "first sits ahead");
        assert_eq!(s.azimuth(b), -60.0, "second goes to the far edge");
        assert_eq!(s.azimuth(c), 60.0, "third to the other edge");
        s.release(b);
        let d = s.take();
        assert_eq!(d, b, "the freed seat is the farthest again");
        let e = s.take();
        assert!(e != a && e != c && e != d);
    }

    #[test]
    fn more_participants_than_seats_share_evenly() {
        let mut s = Seats::spread(3, 90.0);
        let mut counts = [0; 3];
        for _ in 0..9 {
            counts[s.take()] += 1;
        }
        assert_eq!(counts, [3, 3, 3]);
    }

    #[test]
    fn listed_positions_fill_in_order() {
        let mut s = Seats::listed(&[-30.0, 30.0, 90.0].map(Position::at));
        assert_eq!(s.take(), 0);
        assert_eq!(s.take(), 1);
        s.release(0);
        assert_eq!(s.take(), 0);
        assert_eq!(s.take(), 2);
        assert_eq!(s.take(), 0, "all taken: wrap to the least crowded");
    }
}
