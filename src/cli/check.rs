//! `sluice check`: exit 0 when every graph is valid, 1 on errors; warnings
//! and errors go to stderr.

use super::exit::Exit;
use super::source::{fail, read_path, report, summary};
use clap::Args;
use sluice_dsl::SourceFile;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `sluice check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Graph files (`-` reads stdin).
    #[arg(required_unless_present = "expr")]
    pub files: Vec<PathBuf>,
    /// Graph text on the command line instead of files.
    #[arg(short = 'e', long = "expr")]
    pub expr: Option<String>,
}

/// Runs `sluice check`.
pub fn main(args: CheckArgs) -> ExitCode {
    let registry = sluice_nodes::registry();
    let mut sources = Vec::new();
    if let Some(text) = &args.expr {
        sources.push(Ok(SourceFile::new("<expr>", text.as_str())));
    }
    sources.extend(args.files.iter().map(|p| read_path(p)));
    let mut ok = true;
    for source in sources {
        let file = match source {
            Ok(f) => f,
            Err(e) => {
                fail(&e);
                ok = false;
                continue;
            }
        };
        let checked = sluice_dsl::check(&file, &registry);
        report(&checked.diagnostics, &file);
        summary(&file, &checked.diagnostics);
        match &checked.plan {
            Some(plan) => eprintln!(
                "ok: `{}` ({} nodes, {} edges)",
                file.name,
                plan.graph.node_count(),
                plan.graph.edge_count()
            ),
            None => ok = false,
        }
    }
    if ok {
        Exit::Ok.into()
    } else {
        Exit::Invalid.into()
    }
}
