//! Why an engine could not be built, and why a run did not end cleanly.

use crate::node::NodeError;
use crate::observation::stats::Summary;
use std::fmt;

/// Why an engine could not be built.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildError {
    /// The plan names a kind the registry does not know.
    UnknownKind {
        /// Node name.
        node: String,
        /// Kind name.
        kind: String,
    },
    /// The kind checks but has no constructor yet.
    NotImplemented {
        /// Node name.
        node: String,
        /// Kind name.
        kind: String,
    },
    /// The node's constructor failed (a missing file, a bad header).
    Node {
        /// Node name.
        node: String,
        /// Kind name.
        kind: String,
        /// What went wrong.
        error: NodeError,
    },
    /// The plan itself is inconsistent (a cycle, an edge to a missing
    /// port, an order that disagrees with its levels).
    Plan(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::UnknownKind { node, kind } => {
                write!(f, "node `{node}`: unknown kind `{kind}`")
            }
            BuildError::NotImplemented { node, kind } => {
                write!(f, "node `{node}` (kind `{kind}`) is not implemented yet")
            }
            BuildError::Node { node, kind, error } => {
                write!(f, "node `{node}` (kind `{kind}`): {error}")
            }
            BuildError::Plan(msg) => write!(f, "invalid plan: {msg}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Why a run did not end cleanly. The run still finished every node it could.
#[derive(Debug, Clone)]
pub struct RunError {
    /// One line per problem (`node `x`: could not write header: ...`).
    pub errors: Vec<String>,
    /// What the run did before the errors, if it got that far.
    pub summary: Option<Box<Summary>>,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.errors.join("\n"))
    }
}

impl std::error::Error for RunError {}
