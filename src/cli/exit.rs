//! Exit codes: one per kind of failure, the same for every subcommand, and
//! listed by `sluice --help` so scripts can tell them apart.

use std::process::ExitCode;

/// Why `sluice` stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It did what it was asked.
    Ok,
    /// The graph is not valid (text, `--set`, `--duration`, a run that
    /// could never end), or not formatted (`fmt --check`).
    Invalid,
    /// The command line is wrong. clap exits with the same code.
    Usage,
    /// The graph is valid but the work failed: a node could not start or
    /// failed while running, an output could not be written.
    Failed,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(match e {
            Exit::Ok => 0,
            Exit::Invalid => 1,
            Exit::Usage => 2,
            Exit::Failed => 3,
        })
    }
}

/// Exit code of a second Ctrl-C, which gives up without finishing files
/// (128 + SIGINT, as shells report it).
pub const ABORTED: i32 = 130;

/// The table `sluice --help` shows.
pub const TABLE: &str = "\
Exit codes:
  0    success (a run stopped by one Ctrl-C still finishes its files: 0)
  1    the graph is not valid: errors in the graph text or file, in a --set or
       --duration value, or an unpaced endless graph without a stop;
       `fmt --check`: the file is not formatted
  2    the command line is wrong (unknown option, missing argument, a bad
       --stats value, --watch without a file, an unknown KIND for `nodes`)
  3    the graph is valid but the work failed: a node could not start (an
       input that vanished, an output that cannot be created, no such device)
       or failed while running
  130  a second Ctrl-C: stopped without finishing files";
