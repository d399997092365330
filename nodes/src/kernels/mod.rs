//! SIMD kernels: plain slice functions with scalar references, shared by
//! the node kinds.

pub mod blur;
pub mod lanes;
pub mod mask;
