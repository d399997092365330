//! Sluice's standard node library: every node kind of DESIGN.md, each one
//! file declaring its signature and its constructor, and the SIMD kernels
//! they run on (`kernels`, plain slice functions with scalar references).

#![deny(missing_docs)]

pub mod acs;
pub mod live;
pub mod sig;

use sluice_runtime::Registry;

/// The registry of every standard node kind.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    acs::register(&mut r);
    live::register(&mut r);
    r
}
