//! `sluice fmt`.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `sluice fmt`.
#[derive(Args, Debug)]
pub struct FmtArgs {
    /// Graph file (`-` reads stdin).
    pub file: PathBuf,
    /// Exit 1 when the file is not in canonical form; print nothing.
    #[arg(long, conflicts_with = "write")]
    pub check: bool,
    /// Rewrite the file in place.
    #[arg(long)]
    pub write: bool,
}

/// Runs `sluice fmt`.
pub fn main(_args: FmtArgs) -> ExitCode {
    eprintln!("error: `sluice fmt` is not implemented yet");
    ExitCode::from(2)
}
