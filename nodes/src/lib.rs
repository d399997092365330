//! Sluice's standard node library: every node kind of DESIGN.md, each one
//! file declaring its signature and its constructor, and the SIMD kernels
//! they run on (`kernels`, plain slice functions with scalar references).

pub mod acs;
pub mod app;
pub mod audio;
pub mod blur;
pub mod conference;
pub mod exec;
pub mod kernels;
pub mod live;
pub mod period;
pub mod segment;
pub mod sig;
pub mod spatial;
pub mod speech;
pub mod video;

#[cfg(test)]
mod test_support;

use sluice_runtime::Registry;

/// The registry of every standard node kind.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    audio::register(&mut r);
    conference::register(&mut r);
    video::register(&mut r);
    blur::register(&mut r);
    segment::register(&mut r);
    spatial::register(&mut r);
    acs::register(&mut r);
    live::register(&mut r);
    app::register(&mut r);
    speech::register(&mut r);
    exec::register(&mut r);
    r
}
