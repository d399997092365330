//! Transport: how frames travel between nodes. Frames live in pools
//! ([`pool`]), one per output port, and never move; wait-free rings of
//! handles ([`edge`]) carry them to their readers, shared read-only on a
//! fan-out, returned to the pool when the last reader lets go.

pub mod edge;
pub mod frame;
pub mod pool;
