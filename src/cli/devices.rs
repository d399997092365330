//! `sluice devices`: the sound devices `mic` and `speaker` can open.

use super::exit::Exit;
use clap::Args;
use std::process::ExitCode;

/// Arguments of `sluice devices`.
#[derive(Args, Debug)]
pub struct DevicesArgs {}

/// Runs `sluice devices`: the list goes to stdout, and it says plainly
/// when there is no real sound card.
#[cfg(feature = "live")]
pub fn main(_args: DevicesArgs) -> ExitCode {
    use sluice_nodes::live::device::report;
    let report = match report() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failed.into();
        }
    };
    println!("host: {}", report.host);
    let width = report.devices.iter().map(|d| d.id.len()).max().unwrap_or(0);
    for d in &report.devices {
        let mut tags = Vec::new();
        if d.input {
            tags.push("input");
        }
        if d.output {
            tags.push("output");
        }
        if d.default_input {
            tags.push("default input");
        }
        if d.default_output {
            tags.push("default output");
        }
        println!("  {:width$}  {}  [{}]", d.id, d.name, tags.join(", "));
    }
    if report.devices.is_empty() {
        println!("no sound devices at all");
    }
    if !report.has_sound_card() {
        println!(
            "no sound card: only ALSA's null device is present (a server or CI machine). \
             Graphs using `mic` or `speaker` without `device:` will fail; \
             `device: \"null\"` runs against the null device as a smoke test."
        );
    }
    Exit::Ok.into()
}

/// Runs `sluice devices` in a build without device support.
#[cfg(not(feature = "live"))]
pub fn main(_args: DevicesArgs) -> ExitCode {
    eprintln!(
        "this sluice was built without sound device support: rebuild with \
         `cargo build --release --features live` (on Linux this needs libasound2-dev \
         and pkg-config)"
    );
    Exit::Failed.into()
}
