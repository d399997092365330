//! SIMD kernels: plain slice functions over `wide` vectors, each with a
//! scalar reference and a proptest that the two agree.

pub mod level;
