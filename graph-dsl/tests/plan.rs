//! What the checker builds: names, fans, conversions, settings, domains,
//! levels and order, checked on small graphs against the test catalogue.

use sluice_dsl::{check, testing, Arg, Catalogue, Domain, MediaType, Plan, PlanNode, SourceFile};

fn plan(text: &str) -> Plan {
    let file = SourceFile::new("test.sluice", text);
    let c = check(&file, &testing::catalogue());
    assert!(
        !c.diagnostics.has_errors(),
        "{}",
        c.diagnostics.render(&file, false)
    );
    c.plan.expect("no errors, so a plan")
}

fn node<'a>(p: &'a Plan, name: &str) -> &'a PlanNode {
    &p.graph[p
        .node_by_name(name)
        .unwrap_or_else(|| panic!("no node {name}"))]
}

fn names(p: &Plan) -> Vec<&str> {
    p.graph.node_weights().map(|n| n.name.as_str()).collect()
}

/// Edges as `from.port -> to.port: type`, sorted.
fn edges(p: &Plan) -> Vec<String> {
    let mut v: Vec<String> = p
        .graph
        .edge_indices()
        .map(|e| {
            let (a, b) = p.graph.edge_endpoints(e).expect("edge");
            let w = p.graph[e];
            format!(
                "{}.{} -> {}.{}: {}",
                p.graph[a].name,
                p.graph[a].outputs[w.from_port].name,
                p.graph[b].name,
                p.graph[b].inputs[w.to_port].name,
                w.ty
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn anonymous_instances_are_named_after_their_kind() {
    let p = plan(
        "blur_2 = blur()\nvideo_test(frames: 1) -> blur -> blur(radius: 2) -> blur_2 -> null\n",
    );
    assert_eq!(
        names(&p),
        ["blur_2", "video_test", "blur", "blur_3", "null"]
    );
}

#[test]
fn a_declared_name_shadows_a_kind() {
    let p = plan("tone = tone(freq: 1kHz)\ntone -> null\n");
    assert_eq!(names(&p), ["tone", "null"]);
    assert_eq!(node(&p, "tone").args.num("freq"), Some(1000.0));
}

#[test]
fn fan_in_takes_variadic_slots_in_order() {
    let p = plan("a = tone()\nb = tone(freq: 1kHz)\nc = tone(freq: 2kHz)\n[a, b] -> mix -> null\nm = mix()\n[a, b, c] -> m -> null\n");
    let m = node(&p, "m");
    let slots: Vec<&str> = m.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(slots, ["in0", "in1", "in2"]);
    assert!(edges(&p).contains(&"c.out -> m.in2: audio(mono)".to_string()));
    assert!(edges(&p).contains(&"b.out -> mix.in1: audio(mono)".to_string()));
}

#[test]
fn fan_out_and_pairs() {
    let p = plan("a = tone()\nb = tone()\ng = gain()\nm = meter()\na -> [g, m]\n[a, b] -> [null, null]\ng -> null\nm -> events_out(path: \"e\")\nb -> null\n");
    let e = edges(&p);
    assert!(e.contains(&"a.out -> g.in: audio(mono)".to_string()));
    assert!(e.contains(&"a.out -> m.in: audio(mono)".to_string()));
    assert!(e.contains(&"a.out -> null.in: audio(mono)".to_string()));
    assert!(e.contains(&"b.out -> null_2.in: audio(mono)".to_string()));
    assert!(e.contains(&"b.out -> null_4.in: audio(mono)".to_string()));
    assert!(e.contains(&"g.out -> null_3.in: audio(mono)".to_string()));
}

#[test]
fn a_group_in_the_middle_fans_out_then_in() {
    let p = plan("tone -> [gain(db: -3dB), gain(db: -6dB)] -> mix -> null\n");
    assert_eq!(
        edges(&p),
        [
            "gain.out -> mix.in0: audio(mono)",
            "gain_2.out -> mix.in1: audio(mono)",
            "mix.out -> null.in: audio(mono)",
            "tone.out -> gain.in: audio(mono)",
            "tone.out -> gain_2.in: audio(mono)",
        ]
    );
}

#[test]
fn pixel_format_conversion_is_inserted_and_visible() {
    let p =
        plan("cam = video_test(frames: 10)\ncam -> background_blur -> y4m_out(path: \"o.y4m\")\n");
    let conv: Vec<&PlanNode> = p.graph.node_weights().filter(|n| n.inserted).collect();
    assert_eq!(conv.len(), 2);
    assert_eq!(conv[0].kind, "convert");
    assert_eq!(conv[0].args.str("format"), Some("rgba"));
    assert_eq!(
        conv[0].args.str("matrix"),
        Some("bt601"),
        "defaults filled from the signature"
    );
    assert_eq!(conv[1].args.str("format"), Some("i420"));
    let e = edges(&p);
    assert!(e.contains(&"cam.out -> convert.in: video(i420 1280x720 30fps)".to_string()));
    assert!(
        e.contains(&"convert.out -> background_blur.in: video(rgba 1280x720 30fps)".to_string())
    );
    assert!(e.contains(&"convert_2.out -> y4m_out.in: video(i420 1280x720 30fps)".to_string()));
    assert!(!e
        .iter()
        .any(|s| s.starts_with("cam.out -> background_blur")));
    assert!(sluice_dsl::describe(&p).contains("inserted conversions: 2"));
}

#[test]
fn no_conversion_when_the_format_is_accepted() {
    let p = plan("video_test(frames: 10) -> blur -> y4m_out(path: \"o.y4m\")\n");
    assert!(p.graph.node_weights().all(|n| !n.inserted));
}

#[test]
fn mono_stereo_conversion_is_inserted() {
    let p = plan("tone -> pan(azimuth: 30deg) -> pan -> null\n");
    let r = node(&p, "remix");
    assert!(r.inserted);
    assert_eq!(r.args.num("channels"), Some(1.0));
    let e = edges(&p);
    assert!(e.contains(&"pan.out -> remix.in: audio(stereo)".to_string()));
    assert!(e.contains(&"remix.out -> pan_2.in: audio(mono)".to_string()));
    assert_eq!(node(&p, "pan").args.num("azimuth"), Some(30.0));
}

#[test]
fn inserted_names_avoid_declared_ones() {
    let p = plan("remix = gain()\ntone -> pan -> remix -> pan -> null\n");
    assert!(node(&p, "remix_2").inserted);
}

#[test]
fn output_aliases_and_derived_types() {
    let p = plan("u = unmix(ids: [alice, \"bob smith\"])\nparticipants(synth: 6) -> dominant(top: 2) -> u\nu.alice -> wav_out(path: \"a.wav\")\nu.out1 -> null\n");
    let e = edges(&p);
    assert!(
        e.contains(&"dominant.out -> u.in: bundle(2)".to_string()),
        "{e:?}"
    );
    assert!(e.contains(&"u.out0 -> wav_out.in: audio(mono)".to_string()));
    assert!(e.contains(&"u.out1 -> null.in: audio(mono)".to_string()));
}

#[test]
fn settings_from_the_header() {
    let p = plan("graph call(rate: 16kHz, frame: 20ms, realtime: true, duration: 2.5s) {\n    tone -> null\n}\n");
    assert_eq!(p.name, "call");
    assert_eq!(p.settings.rate, 16_000);
    assert_eq!(p.settings.frame_samples, 320);
    assert!(p.settings.realtime);
    assert_eq!(p.settings.duration, Some(2.5));
}

#[test]
fn rate_call_follows_the_call_and_checks_the_frame_at_both_call_rates() {
    let p = plan("graph g(rate: call, frame: 10ms) {\n    tone -> null\n}\n");
    assert!(p.settings.call_rate);
    assert_eq!(p.settings.rate, sluice_dsl::CALL_RATE_ELSEWHERE);
    assert_eq!(p.settings.frame_samples, 160);
    // 1.0625 ms is 17 samples at 16 kHz but 25.5 at 24 kHz.
    let file = SourceFile::new(
        "t.sluice",
        "graph g(rate: call, frame: 1.0625ms) {\n    tone -> null\n}\n",
    );
    let c = check(&file, &testing::catalogue());
    let text = c.diagnostics.render(&file, false);
    assert!(text.contains("16 kHz and 24 kHz"), "{text}");
    assert!(text.contains("t.sluice:1:"), "{text}");
    let file = SourceFile::new("t.sluice", "graph g(rate: cal) {\n    tone -> null\n}\n");
    assert!(check(&file, &testing::catalogue()).diagnostics.has_errors());
}

#[test]
fn default_settings_and_the_file_stem_as_name() {
    let p = plan("tone -> null\n");
    assert_eq!(p.name, "test");
    assert_eq!(p.settings, sluice_dsl::Settings::default());
    assert_eq!(p.settings.frame_samples, 480);
}

#[test]
fn domains_levels_order_io_and_endless() {
    let p = plan("cam = video_test(fps: 25, frames: 5)\ncam -> blur -> y4m_out(path: \"v.y4m\")\ntone -> gain -> wav_out(path: \"a.wav\")\nx = tone()\n");
    assert_eq!(
        node(&p, "blur").domain,
        Some(Domain::Video {
            fps_num: 25,
            fps_den: 1
        })
    );
    assert_eq!(node(&p, "wav_out").domain, Some(Domain::Audio));
    assert_eq!(
        node(&p, "x").domain,
        Some(Domain::Audio),
        "a source defines its domain"
    );
    assert!(node(&p, "wav_out").io && !node(&p, "gain").io);
    assert!(node(&p, "tone").endless && !node(&p, "cam").endless);
    let pos = |n: &str| {
        p.order
            .iter()
            .position(|&i| p.graph[i].name == n)
            .expect("in order")
    };
    assert!(pos("cam") < pos("blur") && pos("blur") < pos("y4m_out"));
    assert!(pos("tone") < pos("gain") && pos("gain") < pos("wav_out"));
    assert_eq!(p.order.len(), p.graph.node_count());
    let level = |n: &str| {
        p.levels
            .iter()
            .position(|l| l.iter().any(|&i| p.graph[i].name == n))
            .expect("in a level")
    };
    assert_eq!((level("cam"), level("blur"), level("y4m_out")), (0, 1, 2));
    assert_eq!(level("x"), 0);
    let names: Vec<_> = p.endless_sources().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["x", "tone"]);
}

#[test]
fn an_unconnected_optional_input_is_planned_empty() {
    let p = plan("video_test(frames: 2, format: rgba) -> background_blur -> null\n");
    let bb = node(&p, "background_blur");
    assert_eq!(bb.inputs.len(), 2);
    assert!(bb.inputs[0].connected && !bb.inputs[1].connected);
    assert_eq!(bb.inputs[1].name, "mask");
}

#[test]
fn args_are_normalised_with_defaults_filled() {
    let p = plan("tone(freq: 1.5kHz) -> gain(db: -6dB) -> null\nvideo_test(frames: 1) -> blur(radius: 50) -> null\n");
    assert_eq!(node(&p, "tone").args.num("freq"), Some(1500.0));
    assert_eq!(node(&p, "tone").args.num("amp"), Some(-12.0));
    assert_eq!(
        node(&p, "blur").args.get("kind"),
        Some(&Arg::Enum("gaussian".into()))
    );
    let _ = MediaType::Events;
}

#[test]
fn the_plan_serialises_and_comes_back() {
    let p = plan("people = participants(synth: 4)\npeople -> dominant -> mix -> pan -> wav_out(path: \"o.wav\")\n");
    let json = serde_json::to_string(&p).expect("serialise");
    let back: Plan = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(serde_json::to_string(&back).expect("again"), json);
    assert_eq!(back.order, p.order);
}

#[test]
fn statements_on_one_line_and_split_chains() {
    let p = plan("a = tone(); b = gain()\na ->\n  b\n  -> null\n");
    assert_eq!(
        edges(&p),
        [
            "a.out -> b.in: audio(mono)",
            "b.out -> null.in: audio(mono)"
        ]
    );
}

#[test]
fn parse_value_and_normalize_value_agree_with_the_checker() {
    use sluice_dsl::{normalize_value, parse_value, ParamSig, ParamType, UnitKind, Value};
    let p = ParamSig {
        name: "radius".into(),
        doc: String::new(),
        ty: ParamType::Quantity {
            kind: UnitKind::Pixels,
            min: 0.0,
            max: 100.0,
        },
        default: None,
        required: false,
        live: true,
    };
    assert_eq!(
        parse_value("12px"),
        Ok(Value::Number {
            value: 12.0,
            unit: Some(sluice_dsl::Unit::Px)
        })
    );
    assert_eq!(
        normalize_value(&p, &parse_value("12").expect("value")),
        Ok(Arg::Num(12.0))
    );
    assert!(normalize_value(&p, &parse_value("120").expect("value"))
        .unwrap_err()
        .contains("out of range"));
    assert!(normalize_value(&p, &parse_value("3dB").expect("value")).is_err());
    assert_eq!(parse_value("\"a\\tb\""), Ok(Value::Str("a\tb".into())));
    assert_eq!(
        parse_value("[a, 2s]").map(|v| matches!(v, Value::List(_))),
        Ok(true)
    );
    assert!(parse_value("12 dB").is_err());
    assert!(parse_value("10s").is_ok());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let text = format!(
        "tone -> {}null{} -> null\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let c = check(&SourceFile::new("deep.sluice", text), &testing::catalogue());
    let d = c.diagnostics.iter().next().expect("an error");
    assert_eq!(d.message, "brackets nested more than 64 deep");
    assert!(sluice_dsl::parse_value(&"[".repeat(100_000)).is_err());
}

/// Every instance's arguments, written or inserted, are its signature's
/// `default_args()` with the written ones on top: the defaults have one
/// home, and nodes may rely on every defaulted argument being there.
#[test]
fn instances_start_from_the_signatures_default_args() {
    let cat = testing::catalogue();
    let p = plan(
        "cam = video_test(frames: 10)\ncam -> background_blur(radius: 4px) -> null\n\
         tone -> gain(db: -6dB) -> null\n",
    );
    for n in p.graph.node_weights() {
        let sig = cat.signature(&n.kind).expect("a catalogue kind");
        let mut want = sig.default_args();
        match n.name.as_str() {
            "cam" => want.set("frames", Arg::Num(10.0)),
            "background_blur" => want.set("radius", Arg::Num(4.0)),
            "gain" => want.set("db", Arg::Num(-6.0)),
            "convert" => want.set("format", Arg::Enum("rgba".into())),
            _ => {}
        }
        assert_eq!(n.args, want, "arguments of {}", n.name);
    }
    assert!(!cat.signature("tone").unwrap().default_args().0.is_empty());
}
