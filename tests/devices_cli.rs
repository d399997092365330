//! `sluice devices` answers plainly: without the `live` feature it says how
//! to rebuild (exit 1); with it, it lists devices and says when there is no
//! real sound card.

use std::process::Command;

fn devices() -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("devices")
        .output()
        .expect("running sluice");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(not(feature = "live"))]
#[test]
fn without_the_feature_it_says_how_to_rebuild() {
    let (ok, _, err) = devices();
    assert!(!ok);
    assert!(err.contains("--features live"), "{err}");
}

#[cfg(feature = "live")]
#[test]
fn it_lists_devices_and_names_a_missing_sound_card() {
    let (ok, out, err) = devices();
    assert!(ok, "{err}");
    assert!(out.starts_with("host: "), "{out}");
    let report = sluice::nodes::live::device::report().unwrap();
    for d in &report.devices {
        assert!(out.contains(&d.id), "{} missing from {out}", d.id);
    }
    assert_eq!(
        !report.has_sound_card(),
        out.contains("no sound card"),
        "{out}"
    );
}
