//! SIMD kernels: plain slice functions, each with a scalar reference and a
//! property test that they agree.

pub mod spectrum;
