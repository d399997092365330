//! Small builders for node signatures, so each node file declares its
//! parameters and ports in a few readable lines.

use sluice_dsl::{
    Accepts, Arg, Args, Finding, InPort, MediaType, OutPort, OutType, ParamSig, ParamType, PortsFn,
    Role, RuleInput, Signature, UnitKind,
};

/// Starts a signature for `kind` with its documentation paragraph.
pub fn signature(kind: &str, doc: &str, role: Role, ports: PortsFn) -> Signature {
    Signature {
        kind: kind.to_string(),
        doc: doc.to_string(),
        params: Vec::new(),
        ports,
        role,
        io: false,
        endless: never,
    }
}

/// For `Signature::endless`: the source always ends on its own.
pub fn never(_: &Args) -> bool {
    false
}

/// For `Signature::endless`: the source never ends on its own.
pub fn always(_: &Args) -> bool {
    true
}

/// A rule's one finding when an argument the checker guarantees is missing
/// or mistyped: arguments built by hand without the signature's defaults
/// (`Signature::default_args`), reported rather than panicking.
pub fn arg_error(e: String) -> Vec<Finding> {
    vec![Finding::error(None, e, "in these arguments")]
}

/// The file a reader's rule should look at: `Ok(path)` for a file;
/// `Err` with what to report for an argument error, and for standard
/// input (`path: "-"`), which cannot be looked at ahead and cannot
/// `loop`.
pub fn file_to_probe<'a>(r: &RuleInput<'a>) -> Result<&'a str, Vec<Finding>> {
    let path = r.args.need_str("path").map_err(arg_error)?;
    if path != "-" {
        return Ok(path);
    }
    if r.args.need_bool("loop") != Ok(true) {
        return Err(Vec::new());
    }
    Err(vec![Finding::error(
        Some("loop"),
        "`loop` needs a file: standard input cannot start over",
        "with `path: \"-\"`",
    )
    .with_help("save the stream to a file first, or drop `loop`")])
}

/// A parameter with a default.
pub fn param(name: &str, ty: ParamType, default: Arg, doc: &str) -> ParamSig {
    ParamSig {
        name: name.to_string(),
        doc: doc.to_string(),
        ty,
        default: Some(default),
        required: false,
        live: false,
    }
}

/// A parameter without a default that may be left out.
pub fn optional(name: &str, ty: ParamType, doc: &str) -> ParamSig {
    ParamSig {
        default: None,
        ..param(name, ty, Arg::Bool(false), doc)
    }
}

/// A parameter that must be given.
pub fn required(name: &str, ty: ParamType, doc: &str) -> ParamSig {
    ParamSig {
        required: true,
        ..optional(name, ty, doc)
    }
}

/// Marks a parameter as changeable while running.
pub fn live(mut p: ParamSig) -> ParamSig {
    p.live = true;
    p
}

/// A quantity of `kind` within `min..=max` (base units).
pub fn quantity(kind: UnitKind, min: f64, max: f64) -> ParamType {
    ParamType::Quantity { kind, min, max }
}

/// One of these identifiers.
pub fn choice(options: &[&'static str]) -> ParamType {
    ParamType::Enum(options.to_vec())
}

/// An enum default.
pub fn choice_arg(s: &str) -> Arg {
    Arg::Enum(s.to_string())
}

/// A required input port.
pub fn input(name: &str, accepts: Accepts) -> InPort {
    InPort {
        name: name.to_string(),
        accepts,
        required: true,
        variadic: false,
    }
}

/// An optional input port.
pub fn optional_input(name: &str, accepts: Accepts) -> InPort {
    InPort {
        required: false,
        ..input(name, accepts)
    }
}

/// A variadic input port (each connection gets its own slot).
pub fn variadic_input(name: &str, accepts: Accepts) -> InPort {
    InPort {
        variadic: true,
        ..input(name, accepts)
    }
}

/// An output port.
pub fn output(name: &str, ty: OutType) -> OutPort {
    OutPort {
        name: name.to_string(),
        aliases: Vec::new(),
        ty,
    }
}

/// Audio of any channel count.
pub fn any_audio() -> Accepts {
    Accepts::Audio { channels: None }
}

/// Video of any pixel format.
pub fn any_video() -> Accepts {
    Accepts::Video {
        formats: Vec::new(),
    }
}

/// A fixed audio output type.
pub fn audio(channels: u16) -> OutType {
    OutType::Fixed(MediaType::Audio { channels })
}

/// A whole number within `min..=max`.
pub fn int(min: i64, max: i64) -> ParamType {
    ParamType::Int { min, max }
}
