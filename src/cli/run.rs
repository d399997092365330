//! `sluice run`.

use super::source::GraphArgs;
use clap::Args;
use std::process::ExitCode;

/// Arguments of `sluice run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The graph.
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Set a parameter before starting: `node.param=value` (repeatable).
    #[arg(long = "set", value_name = "NODE.PARAM=VALUE")]
    pub set: Vec<String>,
    /// Stop after this much media time (`10s`, `500ms`); overrides the graph's.
    #[arg(long)]
    pub duration: Option<String>,
    /// Print per-node timing, drops and xruns (`--stats=live`: every second).
    #[arg(long, num_args = 0..=1, default_missing_value = "end", value_name = "WHEN")]
    pub stats: Option<String>,
}

/// Runs `sluice run`.
pub fn main(_args: RunArgs) -> ExitCode {
    eprintln!("error: `sluice run` is not implemented yet");
    ExitCode::from(2)
}
