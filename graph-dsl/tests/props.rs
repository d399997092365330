//! Property tests: random valid graphs survive `fmt` with the same plan,
//! and random byte edits of valid files never panic and give diagnostics
//! whose spans lie inside the text on character boundaries.

mod common;

use common::{fingerprint, SEEDS};
use proptest::prelude::*;
use sluice_dsl::{check, format, testing, SourceFile};

/// What a stream is while generating, so every generated graph is valid.
#[derive(Clone, Copy, PartialEq)]
enum Ty {
    Mono,
    Stereo,
    Bundle,
    Events,
    Video,
}

/// A generated graph: statements and the formatting noise between them.
#[derive(Debug, Clone)]
struct Gen {
    text: String,
}

fn arrow(noise: u8) -> &'static str {
    match noise % 5 {
        0 => " -> ",
        1 => "->",
        2 => "  ->   ",
        3 => " ->\n    ",
        _ => "\n  -> ",
    }
}

/// Builds one chain from a source of type `ty` named `src`; `choices` drive
/// the steps.
fn chain(src: &str, mut ty: Ty, choices: &[u8], k: usize, out: &mut String) {
    out.push_str(src);
    for (j, &c) in choices.iter().enumerate() {
        let step = match (ty, c % 6) {
            (Ty::Mono, 0) => format!("gain(db: -{}dB)", c % 40),
            (Ty::Mono, 1) => {
                ty = Ty::Stereo;
                format!("pan(azimuth: {}deg)", i32::from(c % 180) - 90)
            }
            (Ty::Stereo, 0 | 1) => {
                ty = Ty::Mono;
                "pan".into()
            }
            (Ty::Mono | Ty::Stereo, 2) => "mix".into(),
            (Ty::Mono | Ty::Stereo | Ty::Bundle, 3) => {
                ty = Ty::Events;
                format!("meter(every: {}ms)", 10 + u32::from(c))
            }
            (Ty::Bundle, 0 | 1) => format!("dominant(top: {})", 1 + c % 8),
            (Ty::Bundle, 2) => {
                ty = Ty::Mono;
                "mix(limit: false)".into()
            }
            (Ty::Video, 0 | 1) => format!("blur(radius: {}px)", c % 64),
            (Ty::Video, 2) => "background_blur(feather: 4)".into(),
            _ => continue,
        };
        out.push_str(arrow(c.wrapping_add(j as u8)));
        out.push_str(&step);
    }
    let sink = match ty {
        Ty::Events => format!("events_out(path: \"e{k}.jsonl\")"),
        Ty::Video if choices.len().is_multiple_of(2) => format!("y4m_out(path: \"v{k}.y4m\")"),
        Ty::Video => "null".into(),
        _ if choices.len().is_multiple_of(3) => "null".into(),
        _ => format!("wav_out(path: \"out/{k}\\t{{id}}.wav\")"),
    };
    out.push_str(" -> ");
    out.push_str(&sink);
}

fn gen_graph(header: Option<(u8, u8)>, sources: Vec<(u8, Vec<u8>, u8)>) -> Gen {
    let mut body = Vec::new();
    for (k, (kind, steps, noise)) in sources.iter().enumerate() {
        let (decl, ty) = match kind % 4 {
            0 => (
                format!(
                    "tone(freq: {}Hz, amp: -{}dB)",
                    100 + u32::from(*kind) * 7,
                    kind % 60
                ),
                Ty::Mono,
            ),
            1 => (format!("participants(synth: {})", 1 + kind % 8), Ty::Bundle),
            2 => (
                format!(
                    "video_test(frames: {}, pattern: checker)",
                    1 + u32::from(*kind)
                ),
                Ty::Video,
            ),
            // At most 3kHz: below half the lowest rate generated (8kHz).
            _ => (format!("tone(freq: {}kHz)", 1 + kind % 3), Ty::Mono),
        };
        let name = format!("s{k}");
        let sep = if noise % 3 == 0 { "=" } else { " = " };
        let mut stmt = format!("{name}{sep}{decl}");
        if noise % 4 == 1 {
            stmt.push_str(&format!("   # source {k}"));
        }
        body.push(stmt);
        if noise % 5 == 2 {
            body.push(String::new());
            body.push(format!("# chain {k}"));
        }
        let mut c = String::new();
        chain(&name, ty, steps, k, &mut c);
        body.push(c);
        if ty == Ty::Mono && noise % 2 == 0 {
            body.push(format!(
                "[{name}, tone(freq: 2kHz)] -> mix(normalize: true) -> null"
            ));
        }
    }
    let joined = body.join("\n");
    let text = match header {
        Some((rate, frame)) => {
            let rate = [8, 16, 24, 32, 44.1f32 as u8, 48][usize::from(rate % 6)];
            let frame = [10, 20, 40][usize::from(frame % 3)];
            let rate = if rate == 44 {
                "44.1kHz".to_string()
            } else {
                format!("{rate}kHz")
            };
            format!("graph g(rate: {rate}, frame: {frame}ms) {{\n{joined}\n}}\n")
        }
        None => format!("{joined}\n"),
    };
    Gen { text }
}

fn graphs() -> impl Strategy<Value = Gen> {
    (
        proptest::option::of((any::<u8>(), any::<u8>())),
        proptest::collection::vec(
            (
                any::<u8>(),
                proptest::collection::vec(any::<u8>(), 0..6),
                any::<u8>(),
            ),
            1..6,
        ),
    )
        .prop_map(|(h, s)| gen_graph(h, s))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn valid_graphs_keep_their_plan_through_fmt(g in graphs()) {
        let cat = testing::catalogue();
        let file = SourceFile::new("g.sluice", g.text.as_str());
        let before = check(&file, &cat);
        prop_assert!(before.plan.is_some(), "generated graph invalid:\n{}\n{}", g.text, before.diagnostics.render(&file, false));
        let plan = before.plan.as_ref().expect("checked above");
        let n = plan.graph.node_count();
        let mut pos = vec![usize::MAX; n];
        for (k, i) in plan.order.iter().enumerate() {
            pos[i.index()] = k;
        }
        let mut level = vec![usize::MAX; n];
        for (l, nodes) in plan.levels.iter().enumerate() {
            for i in nodes {
                level[i.index()] = l;
            }
        }
        prop_assert!(pos.iter().all(|&p| p < n), "order holds every node once");
        prop_assert!(level.iter().all(|&l| l < plan.levels.len()), "every node has a level");
        for e in plan.graph.edge_indices() {
            let (a, b) = plan.graph.edge_endpoints(e).expect("edge");
            prop_assert!(pos[a.index()] < pos[b.index()], "order is topological");
            prop_assert!(level[a.index()] < level[b.index()], "levels respect edges");
            prop_assert_eq!(plan.graph[a].domain, plan.graph[b].domain, "one domain along an edge");
            let w = plan.graph[e];
            prop_assert_eq!(plan.graph[a].outputs[w.from_port].ty, w.ty);
            prop_assert_eq!(plan.graph[b].inputs[w.to_port].ty, w.ty);
        }
        let formatted = format(&file).expect("valid text formats");
        let again = SourceFile::new("g.sluice", formatted.as_str());
        let after = check(&again, &cat);
        prop_assert_eq!(
            before.plan.as_ref().map(fingerprint),
            after.plan.as_ref().map(fingerprint),
            "plan changed by fmt:\n{}\n---\n{}", g.text, formatted
        );
        prop_assert_eq!(format(&again).expect("formats"), formatted.clone(), "fmt not idempotent");
    }

    #[test]
    fn byte_edits_never_panic_and_spans_stay_inside(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<u16>(), 0u8..4, any::<u8>()), 1..8),
    ) {
        let mut bytes = SEEDS[seed].as_bytes().to_vec();
        for (at, op, b) in edits {
            let at = usize::from(at) % (bytes.len() + 1);
            match op {
                0 => bytes.insert(at, b),
                1 if at < bytes.len() => { bytes.remove(at); }
                2 if at < bytes.len() => bytes[at] = b,
                _ => {
                    let tokens: [&[u8]; 8] = [b"->", b"[", b"]", b"(", b")", b"\"", b"\n", b"#"];
                    for (k, t) in tokens[usize::from(b) % 8].iter().enumerate() {
                        bytes.insert(at + k, *t);
                    }
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let file = SourceFile::new("edit.sluice", text.as_str());
        let checked = check(&file, &testing::catalogue());
        prop_assert_eq!(checked.plan.is_some(), !checked.diagnostics.has_errors());
        for d in checked.diagnostics.iter() {
            for s in std::iter::once(d.span).chain(d.secondary.iter().map(|(s, _)| *s)) {
                prop_assert!(s.start <= s.end && s.end <= text.len(), "span {:?} outside {} bytes: {}", s, text.len(), d.message);
                prop_assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end), "span {:?} splits a character", s);
            }
        }
        let _ = checked.diagnostics.render(&file, false);
        let _ = checked.diagnostics.render(&file, true);
        if let Ok(f) = format(&file) {
            let again = format(&SourceFile::new("edit.sluice", f.as_str())).expect("formatted text parses");
            prop_assert_eq!(again, f);
        }
    }
}
