//! One module per subcommand; `source` reads graph text from a file, `-e`
//! or stdin.

pub mod check;
pub mod devices;
pub mod dot;
pub mod exit;
pub mod fmt;
pub mod nodes;
pub mod plan;
pub mod run;
pub mod serve;
pub mod source;
pub mod watch;
