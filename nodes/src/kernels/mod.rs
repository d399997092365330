//! SIMD kernels: plain slice functions, each with a scalar reference it is
//! tested against.

pub mod blur;
pub mod byte_lanes;
pub mod byte_transpose;
pub mod color;
pub mod composite;
pub mod correlation;
pub mod gain;
pub mod guided;
pub mod lanes;
pub mod level;
pub mod limiter;
pub mod mask;
pub mod mix;
pub mod pcm;
pub mod scale;
pub mod spectrum;
pub mod word_lanes;
