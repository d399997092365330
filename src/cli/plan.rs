//! `sluice plan`: the readable schedule (order, levels, domains, real-time
//! versus I/O nodes, inserted conversions, edge types).

use super::exit::Exit;
use super::source::{checked, GraphArgs};
use std::process::ExitCode;

/// Runs `sluice plan`.
pub fn main(args: GraphArgs) -> ExitCode {
    match checked(&args) {
        Some(valid) => {
            print!("{}", sluice_dsl::describe(&valid.plan));
            Exit::Ok.into()
        }
        None => Exit::Invalid.into(),
    }
}
