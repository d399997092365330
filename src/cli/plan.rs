//! `sluice plan`.

use super::source::GraphArgs;
use std::process::ExitCode;

/// Runs `sluice plan`.
pub fn main(_args: GraphArgs) -> ExitCode {
    eprintln!("error: `sluice plan` is not implemented yet");
    ExitCode::from(2)
}
