//! Fuzzes the decoder of the call audio streaming protocol (the messages a
//! client sends `sluice serve`): any bytes must give a message or a typed
//! error, never a panic or an absurd allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_nodes::acs::protocol::{decode, max_chunk_bytes};

fuzz_target!(|data: &[u8]| {
    let _ = decode(data, max_chunk_bytes(24_000));
});
