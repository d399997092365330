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
