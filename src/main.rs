//! The `sluice` command line. Media may go to stdout, so progress, warnings
//! and summaries always go to stderr.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Lock-free real-time media graphs for calls.
#[derive(Parser)]
#[command(name = "sluice", version, about, after_help = cli::exit::TABLE)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a graph.
    #[command(after_help = cli::exit::TABLE)]
    Run(cli::run::RunArgs),
    /// Check graphs; exit 0 when valid, 1 on errors.
    #[command(after_help = cli::exit::TABLE)]
    Check(cli::check::CheckArgs),
    /// Print a graph in canonical form (comments kept).
    Fmt(cli::fmt::FmtArgs),
    /// Show the schedule: order, levels, domains, threads, conversions.
    Plan(cli::source::GraphArgs),
    /// Print the graph as Graphviz dot.
    Dot(cli::source::GraphArgs),
    /// List node kinds, or describe one.
    Nodes(cli::nodes::NodesArgs),
    /// List sound devices (for `mic` and `speaker`).
    Devices(cli::devices::DevicesArgs),
    /// Serve calls over WebSocket: each connection runs its own graph.
    Serve(cli::serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(a) => cli::run::main(a),
        Command::Check(a) => cli::check::main(a),
        Command::Fmt(a) => cli::fmt::main(a),
        Command::Plan(a) => cli::plan::main(a),
        Command::Dot(a) => cli::dot::main(a),
        Command::Nodes(a) => cli::nodes::main(a),
        Command::Devices(a) => cli::devices::main(a),
        Command::Serve(a) => cli::serve::main(a),
    }
}
