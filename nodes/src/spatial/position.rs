//! Where a participant is heard: azimuth, elevation and distance, as graph
//! text and live keys give them (`45deg` or `[45deg, 20deg, 2m]`), and the
//! distance gains each ear gets.
//!
//! Distance changes level only: the gain falls as `1 / distance` (1 m is
//! the reference, 0 dB), clamped at 0.25 m so a source cannot blow up in
//! the listener's ear. There is deliberately no propagation delay (moving
//! a talker must not shift its lip sync) and no air absorption (at the
//! distances of a call it is below what anyone hears). With the builtin
//! model a source nearer than 1 m also gets the near-field level difference
//! of a point source: each ear's gain follows its own distance to the
//! source, which raises the ILD of near lateral sources (about +5 dB at
//! 0.25 m to the side).

use super::hrir::HEAD_RADIUS;
use sluice_dsl::{Arg, ParamType, UnitKind};

/// Distance at which a source is heard at its HRTF's level (metres).
pub const REFERENCE_DISTANCE: f64 = 1.0;

/// Distances nearer than this are rendered at it (metres): the inverse-
/// distance law would otherwise grow without bound at the head.
pub const MIN_DISTANCE: f64 = 0.25;

/// Farthest distance accepted (metres): -40 dB, beyond any conference use.
pub const MAX_DISTANCE: f64 = 100.0;

/// A participant's place around the listener.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Degrees, 0 straight ahead, positive to the right.
    pub azimuth: f32,
    /// Degrees, 0 on the horizontal plane, positive up, -90..=90.
    pub elevation: f32,
    /// Metres from the centre of the head.
    pub distance: f32,
}

impl Position {
    /// Straight ahead at the reference distance.
    pub const AHEAD: Position = Position {
        azimuth: 0.0,
        elevation: 0.0,
        distance: REFERENCE_DISTANCE as f32,
    };

    /// On the horizontal plane at the reference distance.
    pub fn at(azimuth: f64) -> Position {
        Position {
            azimuth: azimuth as f32,
            ..Position::AHEAD
        }
    }

    /// Reads a checked argument: an azimuth, or a list `[azimuth,
    /// elevation]` or `[azimuth, elevation, distance]` (degrees, metres).
    /// Never allocates unless the value is wrong.
    pub fn from_arg(arg: &Arg) -> Result<Position, String> {
        let (az, el, d) = match arg {
            Arg::Num(az) => (*az, 0.0, REFERENCE_DISTANCE),
            Arg::List(items) => match items.as_slice() {
                [Arg::Num(az), Arg::Num(el)] => (*az, *el, REFERENCE_DISTANCE),
                [Arg::Num(az), Arg::Num(el), Arg::Num(d)] => (*az, *el, *d),
                _ => {
                    return Err(
                        "a position is an azimuth or [azimuth, elevation, distance]".to_string()
                    )
                }
            },
            _ => return Err("a position is an azimuth or [azimuth, elevation, distance]".into()),
        };
        if !az.is_finite() {
            return Err(format!("azimuth {az} is not an angle"));
        }
        if !(-90.0..=90.0).contains(&el) {
            return Err(format!("elevation {el} is outside -90..=90 degrees"));
        }
        if !(0.0..=MAX_DISTANCE).contains(&d) {
            return Err(format!("distance {d} is outside 0..={MAX_DISTANCE} m"));
        }
        Ok(Position {
            azimuth: az as f32,
            elevation: el as f32,
            distance: d as f32,
        })
    }

    /// The unit vector towards the source: x ahead, y to the right, z up.
    pub fn direction(&self) -> [f64; 3] {
        let (az, el) = (
            f64::from(self.azimuth).to_radians(),
            f64::from(self.elevation).to_radians(),
        );
        [el.cos() * az.cos(), el.cos() * az.sin(), el.sin()]
    }

    /// Left and right gains for the distance: `1 / distance` (clamped),
    /// times the near-field ear-distance ratio when `near_field` and the
    /// source is nearer than the reference.
    pub fn distance_gains(&self, near_field: bool) -> [f32; 2] {
        let r = f64::from(self.distance).max(MIN_DISTANCE);
        let g = REFERENCE_DISTANCE / r;
        if !near_field || r >= REFERENCE_DISTANCE {
            return [g as f32, g as f32];
        }
        let lateral = self.direction()[1];
        let ear = |side: f64| {
            // A point source heard at an ear `HEAD_RADIUS` off centre:
            // amplitude follows the ear's own distance, relative to how it
            // does at the reference distance.
            let q = |r: f64| {
                r / (r * r - 2.0 * r * HEAD_RADIUS * side * lateral + HEAD_RADIUS * HEAD_RADIUS)
                    .sqrt()
            };
            (g * q(r) / q(REFERENCE_DISTANCE)) as f32
        };
        [ear(-1.0), ear(1.0)]
    }
}

/// The type of a position in graph text: `45deg`, `[45deg, 20deg]` or
/// `[45deg, 20deg, 2m]`.
pub fn param_type() -> ParamType {
    let angle = |min, max| ParamType::Quantity {
        kind: UnitKind::Angle,
        min,
        max,
    };
    let distance = ParamType::Quantity {
        kind: UnitKind::Distance,
        min: 0.0,
        max: MAX_DISTANCE,
    };
    ParamType::OneOf(vec![
        angle(-360.0, 360.0),
        ParamType::Tuple(vec![angle(-360.0, 360.0), angle(-90.0, 90.0)]),
        ParamType::Tuple(vec![angle(-360.0, 360.0), angle(-90.0, 90.0), distance]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_azimuth_or_a_list() {
        assert_eq!(Position::from_arg(&Arg::Num(30.0)), Ok(Position::at(30.0)));
        let full = Arg::List(vec![Arg::Num(-45.0), Arg::Num(20.0), Arg::Num(2.0)]);
        let p = Position::from_arg(&full).unwrap();
        assert_eq!((p.azimuth, p.elevation, p.distance), (-45.0, 20.0, 2.0));
        let two = Arg::List(vec![Arg::Num(10.0), Arg::Num(-30.0)]);
        assert_eq!(Position::from_arg(&two).unwrap().distance, 1.0);
        for bad in [
            Arg::List(vec![Arg::Num(0.0), Arg::Num(95.0)]),
            Arg::List(vec![Arg::Num(0.0), Arg::Num(0.0), Arg::Num(-1.0)]),
            Arg::List(vec![Arg::Num(0.0)]),
            Arg::Bool(true),
            Arg::Num(f64::NAN),
        ] {
            assert!(Position::from_arg(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn gain_falls_with_distance_and_clamps_near() {
        let at = |d: f32| Position {
            distance: d,
            ..Position::AHEAD
        };
        assert_eq!(at(2.0).distance_gains(false), [0.5, 0.5]);
        assert_eq!(at(0.1).distance_gains(false), [4.0, 4.0]);
        assert_eq!(at(1.0).distance_gains(true), [1.0, 1.0]);
    }

    #[test]
    fn near_field_raises_the_level_difference_of_side_sources() {
        let side = Position {
            azimuth: 90.0,
            elevation: 0.0,
            distance: 0.25,
        };
        let [l, r] = side.distance_gains(true);
        let ild = 20.0 * (r / l).log10();
        assert!((4.0..6.0).contains(&ild), "{ild} dB");
        let [l, r] = Position {
            azimuth: 0.0,
            ..side
        }
        .distance_gains(true);
        assert!((l - r).abs() < 1e-6);
    }
}
