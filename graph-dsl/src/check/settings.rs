//! Graph settings from the header: `rate` (a frequency, or `call`),
//! `frame`, `realtime`, `duration`.

use crate::ast::ArgNode;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::normalize::check_value;
use crate::settings::{Settings, CALL_RATES, CALL_RATE_ELSEWHERE};
use crate::signature::{ParamSig, ParamType};
use crate::suggest;
use crate::value::show;
use crate::value::Value;
use crate::value::{Arg, UnitKind};

/// The settings a header may give, as parameters (so their values are
/// checked exactly like node parameters).
pub fn params() -> Vec<ParamSig> {
    let p = |name: &str, doc: &str, ty: ParamType, default: Option<Arg>| ParamSig {
        name: name.into(),
        doc: doc.into(),
        ty,
        default,
        required: false,
        live: false,
    };
    let q = |kind, min, max| ParamType::Quantity { kind, min, max };
    vec![
        p(
            "rate",
            "audio sample rate, or `call`: under `sluice serve`, each call's own rate",
            q(UnitKind::Frequency, 8_000.0, 384_000.0),
            Some(Arg::Num(48_000.0)),
        ),
        p(
            "frame",
            "audio tick length; a whole number of samples",
            q(UnitKind::Time, 1e-4, 1.0),
            Some(Arg::Num(0.01)),
        ),
        p(
            "realtime",
            "pace sources by the clock or device",
            ParamType::Bool,
            Some(Arg::Bool(false)),
        ),
        p(
            "duration",
            "stop after this much media time",
            q(UnitKind::Time, 0.0, 1e9),
            None,
        ),
    ]
}

/// Checks the header's arguments.
pub fn check(args: &[ArgNode], diags: &mut Diagnostics) -> Settings {
    let params = params();
    let mut rate = 48_000.0;
    let mut frame = 0.01;
    let mut frame_span = None;
    let mut out = Settings::default();
    let mut seen: Vec<&ArgNode> = Vec::new();
    for a in args {
        let Some(p) = params.iter().find(|p| p.name == a.name.name) else {
            let d = Diagnostic::error(
                format!("unknown graph setting `{}`", a.name.name),
                a.name.span,
                "not a setting",
            )
            .with_help(
                suggest::help(&a.name.name, params.iter().map(|p| p.name.as_str()))
                    .unwrap_or_else(|| "settings are rate, frame, realtime and duration".into()),
            );
            diags.push(d);
            continue;
        };
        if let Some(first) = seen.iter().find(|s| s.name.name == a.name.name) {
            diags.push(
                Diagnostic::error(
                    format!("setting `{}` is given twice", a.name.name),
                    a.span,
                    "given again here",
                )
                .with_note_at(first.span, "first given here"),
            );
            continue;
        }
        seen.push(a);
        if p.name == "rate" && a.value == Value::Ident("call".into()) {
            out.call_rate = true;
            rate = f64::from(CALL_RATE_ELSEWHERE);
            frame_span = frame_span.or(Some(a.value_span));
            continue;
        }
        match check_value(p, &a.value) {
            Ok(v) => match (p.name.as_str(), v) {
                ("rate", Arg::Num(r)) => rate = r,
                ("frame", Arg::Num(f)) => {
                    frame = f;
                    frame_span = Some(a.value_span);
                }
                ("realtime", Arg::Bool(b)) => out.realtime = b,
                ("duration", Arg::Num(d)) => out.duration = Some(d),
                _ => {}
            },
            Err(e) => diags
                .push(Diagnostic::error(e.message, a.value_span, e.label).with_help_opt(e.help)),
        }
    }
    if rate.fract() != 0.0 {
        let span = args
            .iter()
            .find(|a| a.name.name == "rate")
            .map(|a| a.value_span)
            .unwrap_or_default();
        diags.push(Diagnostic::error(
            "the sample rate must be a whole number of Hz",
            span,
            format!("{rate} Hz"),
        ));
        return out;
    }
    if out.call_rate {
        if let Some(&bad) = CALL_RATES
            .iter()
            .find(|&&r| ((f64::from(r) * frame) - (f64::from(r) * frame).round()).abs() > 1e-6)
        {
            diags.push(
                Diagnostic::error(
                    "with `rate: call` the frame must be a whole number of samples at 16 kHz and 24 kHz",
                    frame_span.unwrap_or_default(),
                    format!(
                        "{} at {} is {:.3} samples",
                        show(frame, UnitKind::Time),
                        show(f64::from(bad), UnitKind::Frequency),
                        f64::from(bad) * frame
                    ),
                )
                .with_help("try `frame: 10ms` or `frame: 20ms`"),
            );
            return out;
        }
    }
    let samples = rate * frame;
    if (samples - samples.round()).abs() > 1e-6 {
        // The whole number of milliseconds nearest the frame that gives
        // whole samples, else the nearest whole sample count.
        let whole_ms = (1..=1000u32)
            .map(|k| f64::from(k) / 1e3)
            .filter(|&f| (rate * f).fract() == 0.0)
            .min_by(|a, b| (a - frame).abs().total_cmp(&(b - frame).abs()));
        let (good, n) = match whole_ms {
            Some(f) => (f, rate * f),
            None => {
                let n = samples.round().max(1.0);
                (n / rate, n)
            }
        };
        diags.push(
            Diagnostic::error(
                "the frame must be a whole number of samples",
                frame_span.unwrap_or_default(),
                format!(
                    "{} at {} is {samples:.3} samples",
                    show(frame, UnitKind::Time),
                    show(rate, UnitKind::Frequency)
                ),
            )
            .with_help(format!(
                "try `frame: {}` ({n} samples)",
                show(good, UnitKind::Time)
            )),
        );
        return out;
    }
    out.rate = rate as u32;
    out.frame_samples = samples.round() as u32;
    out
}
