//! A small catalogue modelled on DESIGN.md's standard nodes, so the
//! checker, `fmt`, the benches and the fuzz target can be tested without
//! the node library (which depends on this crate, not the other way).

use crate::constraint::Constraint;
use crate::media::{MediaType, PixelFormat, VideoType};
use crate::signature::{
    Accepts, Catalogue, InPort, OutPort, OutType, ParamSig, ParamType, Ports, PortsFn, Role,
    Signature,
};
use crate::value::{Arg, Args, UnitKind};
use std::collections::HashMap;

/// Signatures by kind name.
#[derive(Debug, Clone)]
pub struct TestCatalogue {
    sigs: HashMap<String, Signature>,
    names: Vec<String>,
}

impl Catalogue for TestCatalogue {
    fn signature(&self, kind: &str) -> Option<&Signature> {
        self.sigs.get(kind)
    }

    fn kinds(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }
}

/// The test catalogue: tone, gain, mix, participants, dominant, unmix,
/// meter, wav_out, video_test, blur, background_blur, overlay, y4m_out,
/// convert, remix, null, events_out, pan, wav_in, app_out.
pub fn catalogue() -> TestCatalogue {
    let list = vec![
        tone(),
        gain(),
        mix(),
        participants(),
        dominant(),
        unmix(),
        meter(),
        wav_out(),
        video_test(),
        blur(),
        background_blur(),
        overlay(),
        y4m_out(),
        convert(),
        remix(),
        null(),
        events_out(),
        pan(),
        wav_in(),
        app_out(),
    ];
    let mut names: Vec<String> = list.iter().map(|s| s.kind.clone()).collect();
    names.sort();
    TestCatalogue {
        sigs: list.into_iter().map(|s| (s.kind.clone(), s)).collect(),
        names,
    }
}

fn sig(kind: &str, doc: &str, role: Role, ports: PortsFn, params: Vec<ParamSig>) -> Signature {
    Signature {
        kind: kind.into(),
        doc: doc.into(),
        params,
        ports,
        role,
        io: false,
        endless: |_| false,
    }
}

fn p(name: &str, ty: ParamType, default: Option<Arg>) -> ParamSig {
    ParamSig {
        name: name.into(),
        doc: format!("the {name}"),
        ty,
        default,
        required: false,
        live: false,
    }
}

fn req(name: &str, ty: ParamType) -> ParamSig {
    ParamSig {
        required: true,
        ..p(name, ty, None)
    }
}

fn q(kind: UnitKind, min: f64, max: f64) -> ParamType {
    ParamType::Quantity { kind, min, max }
}

fn input(name: &str, accepts: Accepts) -> InPort {
    InPort {
        name: name.into(),
        accepts,
        required: true,
        variadic: false,
    }
}

fn output(name: &str, ty: OutType) -> OutPort {
    OutPort {
        name: name.into(),
        aliases: Vec::new(),
        ty,
    }
}

fn en(s: &str) -> Option<Arg> {
    Some(Arg::Enum(s.into()))
}

fn video_in(formats: &[PixelFormat]) -> Accepts {
    Accepts::Video {
        formats: formats.to_vec(),
    }
}

fn tone() -> Signature {
    Signature {
        endless: |_| true,
        ..sig(
            "tone",
            "A sine tone.",
            Role::AudioSource,
            |_| {
                Ok(Ports {
                    outputs: vec![output(
                        "out",
                        OutType::Fixed(MediaType::Audio { channels: 1 }),
                    )],
                    constraints: vec![Constraint::BelowHalfRate("freq")],
                    ..Ports::default()
                })
            },
            vec![
                p(
                    "freq",
                    q(UnitKind::Frequency, 1.0, 24_000.0),
                    Some(Arg::Num(440.0)),
                ),
                p(
                    "amp",
                    q(UnitKind::Level, -120.0, 0.0),
                    Some(Arg::Num(-12.0)),
                ),
            ],
        )
    }
}

fn same_audio() -> PortsFn {
    |_| {
        Ok(Ports {
            inputs: vec![input("in", Accepts::Audio { channels: None })],
            outputs: vec![output("out", OutType::SameAs(0))],
            ..Ports::default()
        })
    }
}

fn gain() -> Signature {
    let mut db = p("db", q(UnitKind::Level, -120.0, 24.0), Some(Arg::Num(0.0)));
    db.live = true;
    sig(
        "gain",
        "Changes the level.",
        Role::Process,
        same_audio(),
        vec![db],
    )
}

fn mix_type(_: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    let channels = inputs
        .iter()
        .flatten()
        .map(|t| match t {
            MediaType::Audio { channels } => *channels,
            _ => 1,
        })
        .max()
        .unwrap_or(1);
    Ok(MediaType::Audio { channels })
}

fn mix() -> Signature {
    sig(
        "mix",
        "Mixes its inputs.",
        Role::Process,
        |_| {
            Ok(Ports {
                inputs: vec![InPort {
                    variadic: true,
                    ..input("in", Accepts::AudioOrBundle)
                }],
                outputs: vec![output("out", OutType::Derived(mix_type))],
                ..Ports::default()
            })
        },
        vec![
            p("normalize", ParamType::Bool, Some(Arg::Bool(false))),
            p("limit", ParamType::Bool, Some(Arg::Bool(true))),
        ],
    )
}

fn participants() -> Signature {
    Signature {
        io: true,
        ..sig(
            "participants",
            "Participant audio streams.",
            Role::AudioSource,
            |a| {
                let capacity = match (a.num("synth"), a.str("path")) {
                    (Some(n), None) => n as u32,
                    (None, Some(_)) => 8,
                    _ => return Err("give either `synth` or `path`".into()),
                };
                Ok(Ports {
                    outputs: vec![output(
                        "out",
                        OutType::Fixed(MediaType::Bundle { capacity }),
                    )],
                    ..Ports::default()
                })
            },
            vec![
                p("synth", ParamType::Int { min: 1, max: 64 }, None),
                p("path", ParamType::Path, None),
                p(
                    "seed",
                    ParamType::Int {
                        min: 0,
                        max: 1 << 31,
                    },
                    Some(Arg::Num(1.0)),
                ),
            ],
        )
    }
}

fn dominant_type(a: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    let top = a.num("top").unwrap_or(4.0) as u32;
    match inputs.first() {
        Some(Some(MediaType::Bundle { capacity })) => Ok(MediaType::Bundle {
            capacity: top.min(*capacity),
        }),
        _ => Err("dominant needs a bundle".into()),
    }
}

fn dominant() -> Signature {
    sig(
        "dominant",
        "The loudest speakers.",
        Role::Process,
        |_| {
            Ok(Ports {
                inputs: vec![input("in", Accepts::Bundle)],
                outputs: vec![output("out", OutType::Derived(dominant_type))],
                ..Ports::default()
            })
        },
        vec![
            p(
                "top",
                ParamType::Int { min: 1, max: 64 },
                Some(Arg::Num(4.0)),
            ),
            p("hold", q(UnitKind::Time, 0.0, 10.0), Some(Arg::Num(0.3))),
        ],
    )
}

fn unmix() -> Signature {
    sig(
        "unmix",
        "One output per participant id.",
        Role::Process,
        |a| {
            let ids = a.list("ids").unwrap_or(&[]);
            let outputs = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let mut o = output(
                        &format!("out{i}"),
                        OutType::Fixed(MediaType::Audio { channels: 1 }),
                    );
                    if let Some(s) = id.as_str() {
                        if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                            o.aliases.push(s.to_string());
                        }
                    }
                    o
                })
                .collect();
            Ok(Ports {
                inputs: vec![input("in", Accepts::Bundle)],
                outputs,
                ..Ports::default()
            })
        },
        vec![req("ids", ParamType::List(Box::new(ParamType::Str)))],
    )
}

fn meter() -> Signature {
    sig(
        "meter",
        "Levels as events.",
        Role::Process,
        |_| {
            Ok(Ports {
                inputs: vec![input("in", Accepts::AudioOrBundle)],
                outputs: vec![output("out", OutType::Fixed(MediaType::Events))],
                ..Ports::default()
            })
        },
        vec![p(
            "every",
            q(UnitKind::Time, 0.001, 60.0),
            Some(Arg::Num(0.1)),
        )],
    )
}

fn sink(kind: &str, accepts: Accepts, path: bool) -> Signature {
    let ports: PortsFn = match accepts {
        Accepts::AudioOrBundle => |_| Ok(one_input(Accepts::AudioOrBundle)),
        Accepts::Events => |_| Ok(one_input(Accepts::Events)),
        Accepts::Any => |_| Ok(one_input(Accepts::Any)),
        _ => |_| Ok(one_input(video_in(&[PixelFormat::I420]))),
    };
    let params = if path {
        vec![req("path", ParamType::Path)]
    } else {
        Vec::new()
    };
    Signature {
        io: path,
        ..sig(kind, "A sink.", Role::Sink, ports, params)
    }
}

fn one_input(accepts: Accepts) -> Ports {
    Ports {
        inputs: vec![input("in", accepts)],
        ..Ports::default()
    }
}

fn wav_out() -> Signature {
    sink("wav_out", Accepts::AudioOrBundle, true)
}

fn y4m_out() -> Signature {
    sink("y4m_out", video_in(&[PixelFormat::I420]), true)
}

fn events_out() -> Signature {
    sink("events_out", Accepts::Events, true)
}

fn null() -> Signature {
    sink("null", Accepts::Any, false)
}

/// A host endpoint: its `name` is unique among host endpoints.
fn app_out() -> Signature {
    let ports: PortsFn = |_| {
        Ok(Ports {
            constraints: vec![Constraint::Unique {
                param: "name",
                what: "host endpoint",
            }],
            ..one_input(Accepts::Any)
        })
    };
    let params = vec![req("name", ParamType::Str)];
    sig("app_out", "A host endpoint.", Role::Sink, ports, params)
}

fn video_test() -> Signature {
    Signature {
        endless: |a| a.num("frames").is_none(),
        ..sig(
            "video_test",
            "A test pattern.",
            Role::VideoSource,
            |a| {
                let (width, height) = a.size("size").unwrap_or((1280, 720));
                let fps = a.num("fps").unwrap_or(30.0);
                let format = PixelFormat::from_name(a.str("format").unwrap_or("i420"))
                    .unwrap_or(PixelFormat::I420);
                let ty = MediaType::Video(VideoType {
                    format,
                    width,
                    height,
                    fps: (fps.round() as u32, 1),
                });
                Ok(Ports {
                    outputs: vec![output("out", OutType::Fixed(ty))],
                    ..Ports::default()
                })
            },
            vec![
                p(
                    "size",
                    ParamType::Size { max: 8192 },
                    Some(Arg::Size(1280, 720)),
                ),
                p("fps", q(UnitKind::Fps, 1.0, 240.0), Some(Arg::Num(30.0))),
                p(
                    "frames",
                    ParamType::Int {
                        min: 1,
                        max: 1 << 40,
                    },
                    None,
                ),
                p(
                    "pattern",
                    ParamType::Enum(vec!["bars", "gradient", "moving", "checker"]),
                    en("bars"),
                ),
                p("format", ParamType::Enum(vec!["i420", "rgba"]), en("i420")),
            ],
        )
    }
}

fn blur() -> Signature {
    let mut radius = p(
        "radius",
        q(UnitKind::Pixels, 0.0, 256.0),
        Some(Arg::Num(8.0)),
    );
    radius.live = true;
    sig(
        "blur",
        "Blurs video.",
        Role::Process,
        |_| {
            Ok(Ports {
                inputs: vec![input(
                    "in",
                    video_in(&[PixelFormat::I420, PixelFormat::Rgba]),
                )],
                outputs: vec![output("out", OutType::SameAs(0))],
                ..Ports::default()
            })
        },
        vec![
            radius,
            p(
                "kind",
                ParamType::Enum(vec!["gaussian", "box"]),
                en("gaussian"),
            ),
        ],
    )
}

fn background_blur() -> Signature {
    sig(
        "background_blur",
        "Blurs the background.",
        Role::Process,
        |_| {
            Ok(Ports {
                inputs: vec![
                    input("in", video_in(&[PixelFormat::Rgba])),
                    InPort {
                        required: false,
                        ..input("mask", video_in(&[PixelFormat::I420]))
                    },
                ],
                outputs: vec![output("out", OutType::SameAs(0))],
                ..Ports::default()
            })
        },
        vec![
            p(
                "radius",
                q(UnitKind::Pixels, 0.0, 256.0),
                Some(Arg::Num(16.0)),
            ),
            p(
                "mask",
                ParamType::Enum(vec!["portrait", "motion", "port"]),
                en("portrait"),
            ),
            p(
                "feather",
                q(UnitKind::Pixels, 0.0, 256.0),
                Some(Arg::Num(8.0)),
            ),
        ],
    )
}

fn overlay() -> Signature {
    sig(
        "overlay",
        "Puts `top` over `base`.",
        Role::Process,
        |_| {
            Ok(Ports {
                inputs: vec![
                    input("base", video_in(&[PixelFormat::Rgba])),
                    input("top", video_in(&[PixelFormat::Rgba])),
                ],
                outputs: vec![output("out", OutType::SameAs(0))],
                ..Ports::default()
            })
        },
        vec![
            p(
                "x",
                q(UnitKind::Pixels, -8192.0, 8192.0),
                Some(Arg::Num(0.0)),
            ),
            p(
                "y",
                q(UnitKind::Pixels, -8192.0, 8192.0),
                Some(Arg::Num(0.0)),
            ),
            p("alpha", q(UnitKind::Ratio, 0.0, 1.0), Some(Arg::Num(1.0))),
        ],
    )
}

fn convert_type(a: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    let format = PixelFormat::from_name(a.str("format").unwrap_or("")).ok_or("no format")?;
    match inputs.first() {
        Some(Some(MediaType::Video(v))) => Ok(MediaType::Video(VideoType { format, ..*v })),
        _ => Err("convert needs video".into()),
    }
}

fn convert() -> Signature {
    sig(
        "convert",
        "Converts the pixel format.",
        Role::Process,
        |_| {
            Ok(Ports {
                inputs: vec![input("in", video_in(&[]))],
                outputs: vec![output("out", OutType::Derived(convert_type))],
                ..Ports::default()
            })
        },
        vec![
            req("format", ParamType::Enum(vec!["rgba", "i420", "nv12"])),
            p(
                "matrix",
                ParamType::Enum(vec!["bt601", "bt709"]),
                en("bt601"),
            ),
            p(
                "range",
                ParamType::Enum(vec!["limited", "full"]),
                en("limited"),
            ),
        ],
    )
}

fn remix_type(a: &Args, _: &[Option<MediaType>]) -> Result<MediaType, String> {
    Ok(MediaType::Audio {
        channels: a.num("channels").unwrap_or(1.0) as u16,
    })
}

fn remix() -> Signature {
    sig(
        "remix",
        "Changes the channel count.",
        Role::Process,
        |_| {
            Ok(Ports {
                inputs: vec![input("in", Accepts::Audio { channels: None })],
                outputs: vec![output("out", OutType::Derived(remix_type))],
                ..Ports::default()
            })
        },
        vec![req("channels", ParamType::Int { min: 1, max: 8 })],
    )
}

fn pan() -> Signature {
    sig(
        "pan",
        "Places a mono signal in stereo.",
        Role::Process,
        |_| {
            Ok(Ports {
                inputs: vec![input("in", Accepts::Audio { channels: Some(1) })],
                outputs: vec![output(
                    "out",
                    OutType::Fixed(MediaType::Audio { channels: 2 }),
                )],
                ..Ports::default()
            })
        },
        vec![p(
            "azimuth",
            q(UnitKind::Angle, -180.0, 180.0),
            Some(Arg::Num(0.0)),
        )],
    )
}

fn wav_in() -> Signature {
    Signature {
        io: true,
        ..sig(
            "wav_in",
            "Audio from a WAV file (a missing file is a warning at check time).",
            Role::AudioSource,
            |a| {
                let path = a.str("path").unwrap_or("");
                let mut warnings = Vec::new();
                if path != "-" && !std::path::Path::new(path).exists() {
                    warnings.push(format!("input file `{path}` does not exist (yet)"));
                }
                Ok(Ports {
                    outputs: vec![output(
                        "out",
                        OutType::Fixed(MediaType::Audio { channels: 1 }),
                    )],
                    warnings,
                    ..Ports::default()
                })
            },
            vec![req("path", ParamType::Path)],
        )
    }
}
