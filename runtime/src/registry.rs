//! The registry: node kinds by name, each a signature (for the checker) and
//! a constructor (for the engine).

use crate::execution::BuildError;
use crate::node::{BuildContext, Node, NodeError};
use sluice_dsl::{Catalogue, Signature};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A node constructor: builds a node from its checked arguments; may
/// allocate and open files. A closure may capture what its nodes need
/// from their host (under `sluice serve`, the call's rings), so nothing
/// has to travel through globals.
pub trait Constructor:
    Fn(&BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> + Send + Sync
{
}

impl<F> Constructor for F where
    F: Fn(&BuildContext<'_>) -> Result<Box<dyn Node>, NodeError> + Send + Sync
{
}

impl fmt::Debug for dyn Constructor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Constructor")
    }
}

/// A plain constructor function, what most kinds register.
pub type BuildFn = fn(&BuildContext<'_>) -> Result<Box<dyn Node>, NodeError>;

/// A constructor as the registry keeps it (a function or a capturing
/// closure), shared and cheap to clone: an engine keeps one per node.
pub type SharedBuild = Arc<dyn Constructor>;

/// One node kind.
#[derive(Debug, Clone)]
pub struct Kind {
    /// What the checker knows.
    pub signature: Signature,
    /// How to build it; `None` for a kind that checks but cannot run.
    pub build: Option<SharedBuild>,
    /// Why a kind without a constructor cannot run (shown when a graph
    /// uses it), e.g. "rebuild with `--features live`".
    pub unavailable: Option<String>,
}

impl Kind {
    /// The constructor, for node `node` of this kind; a kind without one
    /// is an error that says why (the reason it was declared with).
    pub fn constructor(&self, node: &str) -> Result<SharedBuild, BuildError> {
        self.build
            .clone()
            .ok_or_else(|| BuildError::NotImplemented {
                node: node.to_string(),
                kind: self.signature.kind.clone(),
                reason: self.unavailable.clone(),
            })
    }
}

/// Node kinds by name. Implements [`Catalogue`] so the same registry checks
/// graphs and builds engines.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    kinds: BTreeMap<String, Kind>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds (or replaces) a runnable kind. `build` is a function or a
    /// closure that captures what its nodes need.
    pub fn register(&mut self, signature: Signature, build: impl Constructor + 'static) {
        self.insert(signature, Some(Arc::new(build)), None);
    }

    /// Adds (or replaces) a kind known to the checker that cannot run yet;
    /// `sluice run` says so plainly.
    pub fn declare(&mut self, signature: Signature) {
        self.insert(signature, None, None);
    }

    /// Adds (or replaces) a kind that checks but cannot run in this build,
    /// with the reason a user sees when a graph uses it (a missing cargo
    /// feature, a host that must provide it).
    pub fn declare_unavailable(&mut self, signature: Signature, reason: impl Into<String>) {
        self.insert(signature, None, Some(reason.into()));
    }

    fn insert(
        &mut self,
        signature: Signature,
        build: Option<SharedBuild>,
        unavailable: Option<String>,
    ) {
        self.kinds.insert(
            signature.kind.clone(),
            Kind {
                signature,
                build,
                unavailable,
            },
        );
    }

    /// The kind named `kind`.
    pub fn kind(&self, kind: &str) -> Option<&Kind> {
        self.kinds.get(kind)
    }

    /// Every kind, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Kind> {
        self.kinds.values()
    }
}

impl Catalogue for Registry {
    fn signature(&self, kind: &str) -> Option<&Signature> {
        self.kinds.get(kind).map(|k| &k.signature)
    }

    fn kinds(&self) -> Vec<&str> {
        self.kinds.keys().map(String::as_str).collect()
    }
}
