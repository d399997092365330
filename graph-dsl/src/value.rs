//! Values as the user wrote them (with units) and as nodes receive them
//! (normalised to one base unit per kind of quantity).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A unit suffix that may follow a number in graph text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Unit {
    /// Hertz.
    Hz,
    /// Kilohertz.
    KHz,
    /// Seconds.
    S,
    /// Milliseconds.
    Ms,
    /// Microseconds.
    Us,
    /// Decibels (relative to full scale for levels, a gain otherwise).
    Db,
    /// Degrees of angle.
    Deg,
    /// Pixels.
    Px,
    /// Percent: a ratio, `50%` is 0.5.
    Percent,
    /// Frames per second.
    Fps,
    /// Metres (distance).
    M,
}

impl Unit {
    /// Every unit, in the order the grammar tries them.
    pub const ALL: [Unit; 11] = [
        Unit::KHz,
        Unit::Hz,
        Unit::Ms,
        Unit::Us,
        Unit::S,
        Unit::Db,
        Unit::Deg,
        Unit::Px,
        Unit::Percent,
        Unit::Fps,
        Unit::M,
    ];

    /// The suffix as written in graph text.
    pub fn suffix(self) -> &'static str {
        match self {
            Unit::Hz => "Hz",
            Unit::KHz => "kHz",
            Unit::S => "s",
            Unit::Ms => "ms",
            Unit::Us => "us",
            Unit::Db => "dB",
            Unit::Deg => "deg",
            Unit::Px => "px",
            Unit::Percent => "%",
            Unit::Fps => "fps",
            Unit::M => "m",
        }
    }

    /// Parses a suffix exactly as written (case-sensitive, as in the grammar).
    pub fn from_suffix(s: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.suffix() == s)
    }

    /// The kind of quantity this unit measures.
    pub fn kind(self) -> UnitKind {
        match self {
            Unit::Hz | Unit::KHz => UnitKind::Frequency,
            Unit::S | Unit::Ms | Unit::Us => UnitKind::Time,
            Unit::Db => UnitKind::Level,
            Unit::Deg => UnitKind::Angle,
            Unit::Px => UnitKind::Pixels,
            Unit::Percent => UnitKind::Ratio,
            Unit::Fps => UnitKind::Fps,
            Unit::M => UnitKind::Distance,
        }
    }

    /// Factor that converts a value in this unit to its kind's base unit
    /// (seconds, hertz, dB, degrees, pixels, ratio, fps, metres).
    pub fn to_base(self) -> f64 {
        match self {
            Unit::KHz => 1000.0,
            Unit::Ms => 1e-3,
            Unit::Us => 1e-6,
            Unit::Percent => 0.01,
            _ => 1.0,
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

/// The kind of quantity a parameter holds; decides which units it accepts
/// and whether a bare number is allowed (DESIGN.md: px, fps, ratio, count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnitKind {
    /// Seconds (s, ms, us); needs a unit.
    Time,
    /// Hertz (Hz, kHz); needs a unit.
    Frequency,
    /// Decibels; needs a unit.
    Level,
    /// Degrees; needs a unit.
    Angle,
    /// Pixels; a bare number is pixels.
    Pixels,
    /// Frames per second; a bare number is fps.
    Fps,
    /// A plain ratio (`0.5` or `50%`).
    Ratio,
    /// A plain count or number without unit.
    Count,
    /// Metres (m); needs a unit.
    Distance,
}

impl UnitKind {
    /// Whether a number without unit is accepted for this kind.
    pub fn bare_ok(self) -> bool {
        matches!(
            self,
            UnitKind::Pixels | UnitKind::Fps | UnitKind::Ratio | UnitKind::Count
        )
    }

    /// The unit to suggest when a number is written without one.
    pub fn suggested_unit(self) -> Option<Unit> {
        match self {
            UnitKind::Time => Some(Unit::Ms),
            UnitKind::Frequency => Some(Unit::Hz),
            UnitKind::Level => Some(Unit::Db),
            UnitKind::Angle => Some(Unit::Deg),
            UnitKind::Pixels => Some(Unit::Px),
            UnitKind::Fps => Some(Unit::Fps),
            UnitKind::Ratio => Some(Unit::Percent),
            UnitKind::Count => None,
            UnitKind::Distance => Some(Unit::M),
        }
    }

    /// The base unit values are normalised to, for messages.
    pub fn base_name(self) -> &'static str {
        match self {
            UnitKind::Time => "seconds",
            UnitKind::Frequency => "Hz",
            UnitKind::Level => "dB",
            UnitKind::Angle => "degrees",
            UnitKind::Pixels => "px",
            UnitKind::Fps => "fps",
            UnitKind::Ratio => "ratio",
            UnitKind::Count => "number",
            UnitKind::Distance => "metres",
        }
    }
}

/// A value as written in graph text (the AST's view; spans live beside it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// A number with an optional unit: `48kHz`, `-12dB`, `16`.
    Number {
        /// The number as written.
        value: f64,
        /// Its unit, if any.
        unit: Option<Unit>,
    },
    /// A size: `1280x720`.
    Size {
        /// Width in pixels.
        w: u32,
        /// Height in pixels.
        h: u32,
    },
    /// A string literal, escapes resolved.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// A bare identifier: an enum choice such as `gaussian`.
    Ident(String),
    /// A list: `[a, b, c]`.
    List(Vec<Value>),
}

/// A checked argument, normalised so nodes never see units: times in
/// seconds, frequencies in Hz, levels in dB, angles in degrees, pixels,
/// fps, ratios (0.5 for `50%`) and counts as plain numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Arg {
    /// A number in its kind's base unit.
    Num(f64),
    /// A size in pixels.
    Size(u32, u32),
    /// A string or path.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// One of an enum's choices.
    Enum(String),
    /// A list of arguments.
    List(Vec<Arg>),
}

/// Graph-text spelling of a normalised value (numbers in their base unit,
/// without a suffix): `sluice plan`, `sluice nodes` and messages all print
/// arguments through this one impl, so they never disagree.
impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Num(v) => f.write_str(&plain_number(*v)),
            Arg::Size(w, h) => write!(f, "{w}x{h}"),
            Arg::Str(s) => write!(f, "{s:?}"),
            Arg::Bool(b) => write!(f, "{b}"),
            Arg::Enum(s) => f.write_str(s),
            Arg::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A number with at most six decimals and no trailing zeros (`0.5`,
/// `48000`, `-6.0206`): normalised values such as 1/3 s or a dB conversion
/// would otherwise print seventeen digits.
pub(crate) fn plain_number(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

impl Arg {
    /// The number, if this is one.
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Arg::Num(v) => Some(*v),
            _ => None,
        }
    }

    /// The text of a string or enum choice.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Arg::Str(s) | Arg::Enum(s) => Some(s),
            _ => None,
        }
    }
}

/// The checked arguments of one node instance, defaults filled in.
///
/// The checker has validated every value against the signature and started
/// from [`Signature::default_args`](crate::Signature::default_args), so a
/// parameter with a default or marked required is always here: nodes read
/// it with the `need_*` accessors, which give an error naming the
/// parameter (never a panic) when code that built the arguments by hand
/// skipped the defaults. The `Option` accessors are for parameters that
/// are truly optional (no default, not required).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Args(pub BTreeMap<String, Arg>);

impl Args {
    /// The argument named `name`, if given or defaulted.
    pub fn get(&self, name: &str) -> Option<&Arg> {
        self.0.get(name)
    }

    /// A numeric argument in its base unit.
    pub fn num(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Arg::as_num)
    }

    /// A string, path or enum argument.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Arg::as_str)
    }

    /// A size argument.
    pub fn size(&self, name: &str) -> Option<(u32, u32)> {
        match self.get(name) {
            Some(Arg::Size(w, h)) => Some((*w, *h)),
            _ => None,
        }
    }

    /// A boolean argument.
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Arg::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// A list argument.
    pub fn list(&self, name: &str) -> Option<&[Arg]> {
        match self.get(name) {
            Some(Arg::List(v)) => Some(v),
            _ => None,
        }
    }

    /// Sets an argument (used by the checker and by tests that build nodes).
    pub fn set(&mut self, name: &str, arg: Arg) {
        self.0.insert(name.to_string(), arg);
    }

    /// Sets every argument of `given` over these (a signature's defaults),
    /// as the checker does with the arguments written in graph text.
    pub fn overlay(&mut self, given: &Args) {
        for (name, arg) in &given.0 {
            self.set(name, arg.clone());
        }
    }

    /// A numeric argument the checker guarantees (defaulted or required).
    pub fn need_num(&self, name: &str) -> Result<f64, String> {
        self.need(name, "a number", Arg::as_num)
    }

    /// A string, path or enum argument the checker guarantees.
    pub fn need_str(&self, name: &str) -> Result<&str, String> {
        self.need(name, "a string", Arg::as_str)
    }

    /// A size argument the checker guarantees.
    pub fn need_size(&self, name: &str) -> Result<(u32, u32), String> {
        self.need(name, "a size", |a| match a {
            Arg::Size(w, h) => Some((*w, *h)),
            _ => None,
        })
    }

    /// A boolean argument the checker guarantees.
    pub fn need_bool(&self, name: &str) -> Result<bool, String> {
        self.need(name, "true or false", |a| match a {
            Arg::Bool(b) => Some(*b),
            _ => None,
        })
    }

    /// A list argument the checker guarantees.
    pub fn need_list(&self, name: &str) -> Result<&[Arg], String> {
        self.need(name, "a list", |a| match a {
            Arg::List(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    /// The argument `name` through `pick`; an error naming the parameter
    /// when it is absent or of another type than `what`.
    fn need<'a, T>(
        &'a self,
        name: &str,
        what: &str,
        pick: impl FnOnce(&'a Arg) -> Option<T>,
    ) -> Result<T, String> {
        let arg = self.get(name).ok_or_else(|| {
            format!(
                "`{name}` is missing: contexts built by hand must start from \
                 Signature::default_args()"
            )
        })?;
        pick(arg).ok_or_else(|| format!("`{name}` should be {what}, not {arg}"))
    }
}

/// A normalised quantity in a readable unit (`0.01` seconds is `10ms`).
pub(crate) fn show(base: f64, kind: UnitKind) -> String {
    let r = plain_number;
    match kind {
        UnitKind::Time if base.abs() < 1.0 && base != 0.0 => format!("{}ms", r(base * 1e3)),
        UnitKind::Time => format!("{}s", r(base)),
        UnitKind::Frequency if base.abs() >= 1000.0 => format!("{}kHz", r(base / 1e3)),
        UnitKind::Frequency => format!("{}Hz", r(base)),
        UnitKind::Level => format!("{}dB", r(base)),
        UnitKind::Angle => format!("{}deg", r(base)),
        UnitKind::Pixels => format!("{}px", r(base)),
        UnitKind::Fps => format!("{}fps", r(base)),
        UnitKind::Ratio | UnitKind::Count => r(base),
        UnitKind::Distance => format!("{}m", r(base)),
    }
}

#[cfg(test)]
mod tests {
    use super::{Arg, Args};

    #[test]
    fn a_missing_guaranteed_argument_is_an_error_naming_it() {
        let e = Args::default().need_num("freq").unwrap_err();
        assert!(e.contains("`freq` is missing"), "{e}");
        assert!(e.contains("Signature::default_args()"), "{e}");
        assert!(Args::default().need_str("path").is_err());
        assert!(Args::default().need_size("size").is_err());
        assert!(Args::default().need_bool("loop").is_err());
        assert!(Args::default().need_list("ids").is_err());
    }

    #[test]
    fn an_argument_of_another_type_is_an_error_naming_it() {
        let mut a = Args::default();
        a.set("freq", Arg::Str("loud".into()));
        assert_eq!(
            a.need_num("freq"),
            Err("`freq` should be a number, not \"loud\"".to_string())
        );
    }

    #[test]
    fn present_arguments_come_back_and_overlay_replaces() {
        let mut defaults = Args::default();
        defaults.set("freq", Arg::Num(440.0));
        defaults.set("loop", Arg::Bool(false));
        let mut given = Args::default();
        given.set("freq", Arg::Num(1000.0));
        defaults.overlay(&given);
        assert_eq!(defaults.need_num("freq"), Ok(1000.0));
        assert_eq!(defaults.need_bool("loop"), Ok(false));
    }
}
