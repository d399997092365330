//! `sluice plan`: the readable schedule (order, levels, domains, real-time
//! versus I/O nodes, inserted conversions, edge types).

use super::source::{checked, GraphArgs};
use std::process::ExitCode;

/// Runs `sluice plan`.
pub fn main(args: GraphArgs) -> ExitCode {
    match checked(&args) {
        Some(plan) => {
            print!("{}", sluice_dsl::describe(&plan));
            ExitCode::SUCCESS
        }
        None => ExitCode::from(1),
    }
}
