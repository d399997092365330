//! Where graph text comes from: a file, `-` (stdin) or `-e 'text'`.

use clap::Args;
use std::path::PathBuf;

/// A graph given as a file, `-` for stdin, or inline with `-e`.
#[derive(Args, Debug, Clone)]
pub struct GraphArgs {
    /// Graph file (`-` reads stdin).
    #[arg(required_unless_present = "expr")]
    pub file: Option<PathBuf>,
    /// Graph text on the command line instead of a file.
    #[arg(short = 'e', long = "expr", conflicts_with = "file")]
    pub expr: Option<String>,
}
