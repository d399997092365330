//! The custom-node example's own code path: a bit crusher registered next
//! to the standard kinds, checked and run from graph text.

#[allow(dead_code)] // the example's `main` is not called here
#[path = "../examples/custom_node.rs"]
mod example;

#[test]
fn custom_crush_node_quantises_a_tone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("crushed.wav");
    example::run(&example::graph(&out)).unwrap();
    let mut r = hound::WavReader::open(&out).unwrap();
    let x: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    assert_eq!(x.len(), 2 * 48_000);
    // 4 bits: every sample is a multiple of 2^-3, and a -6 dB sine reaches
    // the +-0.5 levels, so several levels but never more than 16 occur.
    let step = 0.125f32;
    assert!(x.iter().all(|v| (v / step).fract() == 0.0));
    let mut levels: Vec<i32> = x.iter().map(|v| (v / step) as i32).collect();
    levels.sort_unstable();
    levels.dedup();
    assert!((7..=16).contains(&levels.len()), "{levels:?}");
    // Unknown node names still fail the check with the example's registry.
    assert!(example::run("tone -> crusher -> null").is_err());
}

/// docs/custom-nodes.md shows the example's node code verbatim, so the
/// page's code is the code that compiles and runs above.
#[test]
fn the_docs_show_the_example_as_it_is() {
    let doc = include_str!("../docs/custom-nodes.md");
    let example = include_str!("../examples/custom_node.rs");
    let start = doc.find("## Declaring a kind").expect("section");
    let code = doc[start..]
        .split("```rust\n")
        .nth(1)
        .expect("a rust block");
    let code = code.split("```").next().expect("closed block");
    assert!(code.lines().count() > 30, "block too short:\n{code}");
    assert!(
        example.contains(code),
        "docs/custom-nodes.md's node code differs from examples/custom_node.rs:\n{code}"
    );
}
