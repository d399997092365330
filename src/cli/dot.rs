//! `sluice dot`: the plan as Graphviz (`sluice dot g.sluice | dot -Tsvg`).

use super::source::{checked, GraphArgs};
use std::process::ExitCode;

/// Runs `sluice dot`.
pub fn main(args: GraphArgs) -> ExitCode {
    match checked(&args) {
        Some(plan) => {
            print!("{}", sluice_dsl::to_dot(&plan));
            ExitCode::SUCCESS
        }
        None => ExitCode::from(1),
    }
}
