//! Where in the graph text a thing was written: the one position type
//! the parser, the diagnostics and the plan share.

use serde::{Deserialize, Serialize};

/// A byte range in the source text, for pointing diagnostics at nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}
