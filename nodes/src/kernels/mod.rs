//! SIMD kernels: plain slice functions, each with a scalar reference that
//! its proptests compare against.

pub mod color;
pub mod composite;
pub mod scale;
