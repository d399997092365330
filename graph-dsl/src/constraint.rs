//! Constraints an instance must meet that its own arguments cannot show:
//! against the graph's settings, the types arriving at its inputs, the
//! other instances, or the files it will open. A kind's ports fn lists
//! them ([`Ports::constraints`](crate::Ports)); the checker applies them
//! once every edge is typed, so `sluice check` rejects what the node's
//! constructor would reject at `sluice run`, at the argument at fault.

use crate::diagnostic::Severity;
use crate::media::MediaType;
use crate::settings::Settings;
use crate::value::show;
use crate::value::{Args, UnitKind};

/// One constraint on an instance.
#[derive(Debug, Clone, Copy)]
pub enum Constraint {
    /// The named frequency parameter must be below half the graph's
    /// sample rate, the highest frequency that rate can carry.
    BelowHalfRate(&'static str),
    /// At most one instance of the kind in a graph (it claims something a
    /// graph has once, such as the call's connection).
    OnePerGraph,
    /// The named text parameter's value is unique in the graph among
    /// every instance that declares a `Unique` with the same `what` (a
    /// host program finds `app_in` and `app_out` endpoints by name, so
    /// two with one name would be ambiguous).
    Unique {
        /// The parameter whose value must be unique.
        param: &'static str,
        /// What the value names, for the message (`host endpoint`).
        what: &'static str,
    },
    /// Any other rule, given the arguments, the settings and the input
    /// types. It may read files (a header, a glob), as ports fns do.
    Rule(RuleFn),
}

/// What a [`Constraint::Rule`] sees.
#[derive(Debug, Clone, Copy)]
pub struct RuleInput<'a> {
    /// The instance's checked arguments, defaults filled in.
    pub args: &'a Args,
    /// The graph's settings.
    pub settings: &'a Settings,
    /// The type arriving at each input slot, in slot order; `None` for an
    /// open slot or one whose type an earlier error left unknown.
    pub inputs: &'a [Option<MediaType>],
}

/// A rule: every problem it finds with one instance.
pub type RuleFn = fn(&RuleInput) -> Vec<Finding>;

/// One problem a constraint found, reported like any other diagnostic.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Error (the graph is rejected) or warning.
    pub severity: Severity,
    /// The parameter at fault: the caret goes under its value, or under
    /// the instance when it was left to its default (or for `None`).
    pub param: Option<&'static str>,
    /// The headline.
    pub message: String,
    /// What the caret says.
    pub label: String,
    /// A fix to try.
    pub help: Option<String>,
}

impl Finding {
    /// An error about `param` (or the whole instance).
    pub fn error(
        param: Option<&'static str>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Finding {
        Finding {
            severity: Severity::Error,
            param,
            message: message.into(),
            label: label.into(),
            help: None,
        }
    }

    /// A warning about `param` (or the whole instance).
    pub fn warning(
        param: Option<&'static str>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(param, message, label)
        }
    }

    /// Adds a fix to try.
    pub fn with_help(mut self, help: impl Into<String>) -> Finding {
        self.help = Some(help.into());
        self
    }
}

/// Sample rates a graph header commonly takes, for suggestions.
const COMMON_RATES: [f64; 7] = [
    44_100.0, 48_000.0, 88_200.0, 96_000.0, 176_400.0, 192_000.0, 384_000.0,
];

/// Applies one constraint to one instance. `OnePerGraph` and `Unique`
/// look at the whole graph, so the checker applies them itself; here they
/// find nothing.
pub fn apply(constraint: &Constraint, input: &RuleInput) -> Vec<Finding> {
    match constraint {
        Constraint::BelowHalfRate(param) => below_half_rate(param, input),
        Constraint::OnePerGraph | Constraint::Unique { .. } => Vec::new(),
        Constraint::Rule(rule) => rule(input),
    }
}

fn below_half_rate(param: &'static str, input: &RuleInput) -> Vec<Finding> {
    let Some(freq) = input.args.num(param) else {
        return Vec::new();
    };
    let rate = f64::from(input.settings.rate);
    if freq < rate / 2.0 {
        return Vec::new();
    }
    let hz = |v: f64| show(v, UnitKind::Frequency);
    let finding = Finding::error(
        Some(param),
        format!("`{param}` must be below half the graph rate"),
        format!(
            "{} is not below {}, half of the graph's {} rate",
            hz(freq),
            hz(rate / 2.0),
            hz(rate)
        ),
    );
    let help = match COMMON_RATES.iter().find(|&&r| freq < r / 2.0) {
        Some(&r) => format!(
            "lower `{param}`, or raise the rate in the graph header: `graph NAME(rate: {}) {{ ... }}`",
            hz(r)
        ),
        None => format!("lower `{param}` below {}", hz(rate / 2.0)),
    };
    vec![finding.with_help(help)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Arg;

    fn at(freq: f64, rate: u32) -> Vec<Finding> {
        let mut args = Args::default();
        args.set("freq", Arg::Num(freq));
        let settings = Settings {
            rate,
            ..Settings::default()
        };
        let input = RuleInput {
            args: &args,
            settings: &settings,
            inputs: &[],
        };
        apply(&Constraint::BelowHalfRate("freq"), &input)
    }

    #[test]
    fn below_half_rate_rejects_the_half_rate_itself_and_suggests_a_rate() {
        assert!(at(23_999.0, 48_000).is_empty());
        let f = at(24_000.0, 48_000);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].param, Some("freq"));
        assert!(f[0].label.contains("24kHz is not below 24kHz"), "{f:?}");
        let help = f[0].help.as_deref().unwrap_or_default();
        assert!(help.contains("rate: 88.2kHz"), "{help}");
        let f = at(30_000.0, 384_000);
        assert!(f.is_empty());
        let f = at(250_000.0, 384_000);
        assert!(f[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .starts_with("lower `freq` below 192kHz"));
    }
}
