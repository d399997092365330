//! `sluice dot`.

use super::source::GraphArgs;
use std::process::ExitCode;

/// Runs `sluice dot`.
pub fn main(_args: GraphArgs) -> ExitCode {
    eprintln!("error: `sluice dot` is not implemented yet");
    ExitCode::from(2)
}
