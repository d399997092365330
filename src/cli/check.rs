//! `sluice check`.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `sluice check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Graph files (`-` reads stdin).
    pub files: Vec<PathBuf>,
    /// Graph text on the command line instead of files.
    #[arg(short = 'e', long = "expr")]
    pub expr: Option<String>,
}

/// Runs `sluice check`.
pub fn main(_args: CheckArgs) -> ExitCode {
    eprintln!("error: `sluice check` is not implemented yet");
    ExitCode::from(2)
}
