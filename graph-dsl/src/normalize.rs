//! Checking one value against a parameter's type, unit and range, and
//! normalising it to the base unit nodes receive.

use crate::signature::{ParamSig, ParamType};
use crate::suggest::did_you_mean;
use crate::value::{show, Arg, Unit, UnitKind, Value};

/// A value check failure: the headline, and a fix to try.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueError {
    /// What is wrong, naming the parameter.
    pub message: String,
    /// What the caret says.
    pub label: String,
    /// A fix to try.
    pub help: Option<String>,
}

impl ValueError {
    fn new(message: String, label: impl Into<String>, help: Option<String>) -> Self {
        ValueError {
            message,
            label: label.into(),
            help,
        }
    }

    /// Headline and help in one line (for the command line's `--set`).
    pub fn one_line(&self) -> String {
        match &self.help {
            Some(h) => format!("{} ({}; {h})", self.message, self.label),
            None => format!("{} ({})", self.message, self.label),
        }
    }
}

/// Checks `value` against `param` and normalises it.
pub fn check_value(param: &ParamSig, value: &Value) -> Result<Arg, ValueError> {
    check_typed(&param.name, &param.ty, value)
}

fn check_typed(name: &str, ty: &ParamType, value: &Value) -> Result<Arg, ValueError> {
    match (ty, value) {
        (ParamType::Quantity { kind, min, max }, Value::Number { value, unit }) => {
            quantity(name, *kind, *min, *max, *value, *unit)
        }
        (ParamType::Int { min, max }, Value::Number { value, unit }) => {
            integer(name, *min, *max, *value, *unit)
        }
        (ParamType::Size { max }, Value::Size { w, h }) => {
            if *w == 0 || *h == 0 || *w > *max || *h > *max {
                Err(ValueError::new(
                    format!("`{name}` is out of range"),
                    format!("{w}x{h} is not between 1x1 and {max}x{max}"),
                    None,
                ))
            } else {
                Ok(Arg::Size(*w, *h))
            }
        }
        (ParamType::Str, Value::Str(s)) | (ParamType::Path, Value::Str(s)) => {
            Ok(Arg::Str(s.clone()))
        }
        (ParamType::Str, Value::Ident(s)) => Ok(Arg::Str(s.clone())),
        (ParamType::Path, Value::Ident(s)) => Err(ValueError::new(
            format!("`{name}` takes a path in quotes"),
            "a bare name",
            Some(format!("write `\"{s}\"`")),
        )),
        (ParamType::Bool, Value::Bool(b)) => Ok(Arg::Bool(*b)),
        (ParamType::Enum(choices), Value::Ident(s)) => {
            if choices.iter().any(|c| c == s) {
                Ok(Arg::Enum(s.clone()))
            } else {
                let help = did_you_mean(s, choices.iter().copied())
                    .map(|c| format!("did you mean `{c}`?"))
                    .unwrap_or_else(|| format!("choose one of: {}", choices.join(", ")));
                Err(ValueError::new(
                    format!("`{s}` is not a choice of `{name}`"),
                    format!("expected {}", choices.join(" | ")),
                    Some(help),
                ))
            }
        }
        (ParamType::Enum(choices), Value::Str(s)) if choices.iter().any(|c| c == s) => {
            Err(ValueError::new(
                format!("`{name}` takes a name, not a string"),
                "a string",
                Some(format!("write `{s}` without quotes")),
            ))
        }
        (ParamType::Tuple(types), Value::List(items)) if types.len() == items.len() => types
            .iter()
            .zip(items)
            .enumerate()
            .map(|(i, (t, v))| {
                check_typed(name, t, v).map_err(|mut e| {
                    e.label = format!("item {}: {}", i + 1, e.label);
                    e
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Arg::List),
        (ParamType::OneOf(alts), v) => one_of(name, ty, alts, v),
        (ParamType::List(item), Value::List(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                check_typed(name, item, v).map_err(|mut e| {
                    e.label = format!("item {}: {}", i + 1, e.label);
                    e
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Arg::List),
        (ty, v) => Err(wrong_type(name, ty, v)),
    }
}

/// The first alternative that accepts `v`; failing all, the error of the
/// alternative shaped like `v` (a list of the same length for a list, a
/// single value otherwise), so the message names what is wrong in it.
fn one_of(name: &str, ty: &ParamType, alts: &[ParamType], v: &Value) -> Result<Arg, ValueError> {
    let mut best = None;
    for alt in alts {
        match check_typed(name, alt, v) {
            Ok(arg) => return Ok(arg),
            Err(e) => {
                let shaped = match (alt, v) {
                    (ParamType::Tuple(t), Value::List(items)) => t.len() == items.len(),
                    (ParamType::Tuple(_) | ParamType::List(_), _) => false,
                    (_, Value::List(_)) => false,
                    _ => true,
                };
                if shaped && best.is_none() {
                    best = Some(e);
                }
            }
        }
    }
    Err(best.unwrap_or_else(|| wrong_type(name, ty, v)))
}

fn wrong_type(name: &str, ty: &ParamType, v: &Value) -> ValueError {
    let help = match (ty, v) {
        (ParamType::Str, Value::Number { .. }) | (ParamType::Path, Value::Number { .. }) => {
            Some("put text in double quotes".to_string())
        }
        (ParamType::List(_), _) => Some("write a list in brackets: `[a, b]`".to_string()),
        (ParamType::Tuple(t), _) => Some(format!("write a list of {} items in brackets", t.len())),
        (ParamType::Enum(c), _) => Some(format!("choose one of: {}", c.join(", "))),
        (_, Value::Str(s)) => match crate::parse::parse_one_value(s) {
            Ok(inner) if !matches!(inner, Value::Ident(_)) => {
                Some(format!("write it without quotes: `{}`", s.trim()))
            }
            _ => None,
        },
        _ => None,
    };
    ValueError::new(
        format!(
            "`{name}` expects {}, found {}",
            expected(ty),
            describe_value(v)
        ),
        format!("expected {}", expected(ty)),
        help,
    )
}

/// The kind of value a parameter type expects, in words.
pub fn expected(ty: &ParamType) -> String {
    match ty {
        ParamType::Quantity { kind, .. } => match kind {
            UnitKind::Time => "a time".into(),
            UnitKind::Frequency => "a frequency".into(),
            UnitKind::Level => "a level in dB".into(),
            UnitKind::Angle => "an angle".into(),
            UnitKind::Pixels => "a length in px".into(),
            UnitKind::Fps => "a frame rate".into(),
            UnitKind::Ratio => "a ratio".into(),
            UnitKind::Count => "a number".into(),
            UnitKind::Distance => "a distance".into(),
        },
        ParamType::Int { .. } => "a whole number".into(),
        ParamType::Size { .. } => "a size like 1280x720".into(),
        ParamType::Str => "a string".into(),
        ParamType::Path => "a path string".into(),
        ParamType::Bool => "true or false".into(),
        ParamType::Enum(c) => format!("one of {}", c.join(", ")),
        ParamType::List(t) => format!("a list of {}", plural(t)),
        ParamType::Tuple(t) => format!(
            "a list [{}]",
            t.iter().map(expected).collect::<Vec<_>>().join(", ")
        ),
        ParamType::OneOf(alts) => alts.iter().map(expected).collect::<Vec<_>>().join(" or "),
    }
}

fn plural(t: &ParamType) -> String {
    match t {
        ParamType::Str => "strings".into(),
        ParamType::Quantity { .. } | ParamType::Int { .. } => "numbers".into(),
        other => format!("({})", expected(other)),
    }
}

/// A value's kind in words, for "found ..." messages.
pub fn describe_value(v: &Value) -> String {
    match v {
        Value::Number { unit: None, value } => format!("the number `{value}`"),
        Value::Number {
            unit: Some(u),
            value,
        } => {
            let what = match u.kind() {
                UnitKind::Time => "a time",
                UnitKind::Frequency => "a frequency",
                UnitKind::Level => "a level",
                UnitKind::Angle => "an angle",
                UnitKind::Pixels => "a length",
                UnitKind::Fps => "a frame rate",
                UnitKind::Ratio => "a ratio",
                UnitKind::Count => "a number",
                UnitKind::Distance => "a distance",
            };
            format!("{what} `{value}{u}`")
        }
        Value::Size { w, h } => format!("the size `{w}x{h}`"),
        Value::Str(s) => format!("the string {s:?}"),
        Value::Bool(b) => format!("`{b}`"),
        Value::Ident(s) => format!("the name `{s}`"),
        Value::List(_) => "a list".into(),
    }
}

fn quantity(
    name: &str,
    kind: UnitKind,
    min: f64,
    max: f64,
    value: f64,
    unit: Option<Unit>,
) -> Result<Arg, ValueError> {
    let base = match unit {
        Some(u) if u.kind() == kind => value * u.to_base(),
        Some(u) => {
            let help = kind.suggested_unit().map(|s| {
                format!(
                    "`{name}` takes {}: write it like `{}`",
                    expected_quantity(kind),
                    example(kind, s)
                )
            });
            return Err(ValueError::new(
                format!(
                    "`{name}` expects {}, found {}",
                    expected_quantity(kind),
                    describe_value(&Value::Number {
                        value,
                        unit: Some(u)
                    })
                ),
                format!("`{u}` is not a unit of {}", expected_quantity(kind)),
                help,
            ));
        }
        None if kind.bare_ok() => value,
        None => {
            let help = match kind {
                UnitKind::Level => level_help(value, min, max),
                _ => {
                    let s = kind
                        .suggested_unit()
                        .expect("kinds that need a unit suggest one");
                    format!("write `{value}{s}`")
                }
            };
            return Err(ValueError::new(
                format!("`{name}` needs a unit"),
                format!("{} without a unit", expected_quantity(kind)),
                Some(help),
            ));
        }
    };
    if !(min..=max).contains(&base) {
        return Err(ValueError::new(
            format!("`{name}` is out of range"),
            format!(
                "{} is not between {} and {}",
                show(base, kind),
                show(min, kind),
                show(max, kind)
            ),
            None,
        ));
    }
    Ok(Arg::Num(base))
}

/// The fix for a level written without `dB`. A number in (0, 1] reads
/// like a linear amplitude or factor (`amp: 0.5`), so its dB value is
/// offered (`-6.02dB`); the same number in dB only where that is in
/// range too (`db: 0.5` on a gain may mean either).
fn level_help(value: f64, min: f64, max: f64) -> String {
    let in_range = |db: f64| (min..=max).contains(&db);
    let as_db = format!("`{value}dB`");
    let linear = (value > 0.0 && value <= 1.0).then(|| 20.0 * value.log10());
    match linear.filter(|&db| in_range(db)) {
        Some(db) => {
            let db = format!("`{}dB`", round2(db));
            if in_range(value) {
                format!("write {as_db}, or {db} if {value} is a linear factor")
            } else {
                format!("write {db} ({value} as a linear amplitude)")
            }
        }
        None if in_range(value) => format!("write {as_db}"),
        None => format!(
            "write it in dB, between {} and {}",
            show(min, UnitKind::Level),
            show(max, UnitKind::Level)
        ),
    }
}

/// Rounds to two decimals, dropping trailing zeros (`-6.0206` is `-6.02`).
fn round2(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

fn expected_quantity(kind: UnitKind) -> String {
    expected(&ParamType::Quantity {
        kind,
        min: 0.0,
        max: 0.0,
    })
}

fn example(kind: UnitKind, unit: Unit) -> String {
    let n = match kind {
        UnitKind::Time => "10",
        UnitKind::Frequency => "440",
        UnitKind::Level => "-6",
        UnitKind::Angle => "30",
        UnitKind::Pixels => "16",
        UnitKind::Fps => "30",
        UnitKind::Ratio => "50",
        UnitKind::Count => "1",
        UnitKind::Distance => "2",
    };
    format!("{n}{unit}")
}

fn integer(
    name: &str,
    min: i64,
    max: i64,
    value: f64,
    unit: Option<Unit>,
) -> Result<Arg, ValueError> {
    if let Some(u) = unit {
        return Err(ValueError::new(
            format!("`{name}` is a count and takes no unit"),
            format!("remove `{u}`"),
            Some(format!("write `{value}`")),
        ));
    }
    if value.fract() != 0.0 {
        return Err(ValueError::new(
            format!("`{name}` expects a whole number, found `{value}`"),
            "not a whole number",
            None,
        ));
    }
    if value < min as f64 || value > max as f64 {
        return Err(ValueError::new(
            format!("`{name}` is out of range"),
            format!("{value} is not between {min} and {max}"),
            None,
        ));
    }
    Ok(Arg::Num(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_one_value;

    fn position() -> ParamType {
        let angle = ParamType::Quantity {
            kind: UnitKind::Angle,
            min: -90.0,
            max: 90.0,
        };
        let metres = ParamType::Quantity {
            kind: UnitKind::Distance,
            min: 0.0,
            max: 100.0,
        };
        ParamType::OneOf(vec![
            angle.clone(),
            ParamType::Tuple(vec![angle.clone(), angle, metres]),
        ])
    }

    /// The help for a bare level on a parameter ranging -120dB..max.
    fn level(text: &str, max: f64) -> String {
        let ty = ParamType::Quantity {
            kind: UnitKind::Level,
            min: -120.0,
            max,
        };
        let e = check_typed("amp", &ty, &parse_one_value(text).unwrap()).unwrap_err();
        e.help.unwrap_or_default()
    }

    fn check(text: &str) -> Result<Arg, ValueError> {
        check_typed("p", &position(), &parse_one_value(text).unwrap())
    }

    #[test]
    fn one_of_takes_the_first_shape_that_fits() {
        assert_eq!(check("45deg"), Ok(Arg::Num(45.0)));
        let full = Arg::List(vec![Arg::Num(10.0), Arg::Num(-5.0), Arg::Num(2.5)]);
        let far = check("[10deg, -5deg, 250m]").unwrap_err();
        assert!(far.label.contains("item 3"), "{far:?}");
        assert_eq!(check("[10deg, -5deg, 2.5m]"), Ok(full));
    }

    #[test]
    fn one_of_reports_the_shape_the_value_has() {
        let e = check("[10deg, 2m, 2m]").unwrap_err();
        assert!(
            e.label.contains("item 2") && e.message.contains("angle"),
            "{e:?}"
        );
        let e = check("45").unwrap_err();
        assert_eq!(e.help.as_deref(), Some("write `45deg`"));
        assert_eq!(
            level("0.5", 0.0),
            "write `-6.02dB` (0.5 as a linear amplitude)"
        );
        assert_eq!(
            level("0.5", 60.0),
            "write `0.5dB`, or `-6.02dB` if 0.5 is a linear factor"
        );
        assert_eq!(level("-6", 0.0), "write `-6dB`");
        assert_eq!(level("1", 0.0), "write `0dB` (1 as a linear amplitude)");
        assert_eq!(level("2", 0.0), "write it in dB, between -120dB and 0dB");
        let e = check("[1deg, 2deg]").unwrap_err();
        assert!(
            e.message
                .contains("an angle or a list [an angle, an angle, a distance]"),
            "{e:?}"
        );
        assert_eq!(show(2.5, UnitKind::Distance), "2.5m");
    }
}
