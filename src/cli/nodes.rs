//! `sluice nodes`.

use clap::Args;
use std::process::ExitCode;

/// Arguments of `sluice nodes`.
#[derive(Args, Debug)]
pub struct NodesArgs {
    /// Describe only this kind.
    pub kind: Option<String>,
    /// Write the catalogue as Markdown (docs/nodes.md).
    #[arg(long)]
    pub markdown: bool,
}

/// Runs `sluice nodes`.
pub fn main(_args: NodesArgs) -> ExitCode {
    eprintln!("error: `sluice nodes` is not implemented yet");
    ExitCode::from(2)
}
