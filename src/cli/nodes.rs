//! `sluice nodes`: the catalogue, generated from the signatures.

use super::exit::Exit;
use super::source::fail;
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
pub fn main(args: NodesArgs) -> ExitCode {
    let registry = sluice_nodes::registry();
    if args.markdown {
        print!("{}", sluice_dsl::markdown(&registry));
        return Exit::Ok.into();
    }
    match &args.kind {
        None => {
            print!("{}", sluice_dsl::list_kinds(&registry));
            Exit::Ok.into()
        }
        Some(kind) => match sluice_dsl::describe_kind(&registry, kind) {
            Ok(text) => {
                print!("{text}");
                Exit::Ok.into()
            }
            Err(e) => {
                fail(&e);
                Exit::Usage.into()
            }
        },
    }
}
