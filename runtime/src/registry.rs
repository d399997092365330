//! The registry: node kinds by name, each a signature (for the checker) and
//! a constructor (for the engine).

use crate::node::{BuildContext, Node, NodeError};
use sluice_dsl::{Catalogue, Signature};
use std::collections::BTreeMap;

/// Builds a node from its checked arguments; may allocate and open files.
pub type BuildFn = fn(&BuildContext<'_>) -> Result<Box<dyn Node>, NodeError>;

/// One node kind.
#[derive(Debug, Clone)]
pub struct Kind {
    /// What the checker knows.
    pub signature: Signature,
    /// How to build it; `None` for a kind that checks but cannot run yet.
    pub build: Option<BuildFn>,
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

    /// Adds (or replaces) a runnable kind.
    pub fn register(&mut self, signature: Signature, build: BuildFn) {
        self.insert(signature, Some(build));
    }

    /// Adds (or replaces) a kind known to the checker that cannot run yet;
    /// `sluice run` says so plainly.
    pub fn declare(&mut self, signature: Signature) {
        self.insert(signature, None);
    }

    fn insert(&mut self, signature: Signature, build: Option<BuildFn>) {
        self.kinds
            .insert(signature.kind.clone(), Kind { signature, build });
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
