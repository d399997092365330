//! SIMD kernels: plain slice functions, each with a scalar reference it is
//! tested against.

pub mod gain;
pub mod lanes;
pub mod limiter;
pub mod mix;
pub mod pcm;
pub mod level;
pub mod color;
pub mod composite;
pub mod scale;
pub mod blur;
pub mod lanes;
pub mod mask;
pub mod spectrum;
