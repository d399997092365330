//! `sluice dot`: the plan as Graphviz (`sluice dot g.sluice | dot -Tsvg`).

use super::exit::Exit;
use super::source::{checked, GraphArgs};
use std::process::ExitCode;

/// Runs `sluice dot`.
pub fn main(args: GraphArgs) -> ExitCode {
    match checked(&args) {
        Some(valid) => {
            print!("{}", sluice_dsl::to_dot(&valid.plan));
            Exit::Ok.into()
        }
        None => Exit::Invalid.into(),
    }
}
