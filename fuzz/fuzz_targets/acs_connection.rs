//! Fuzzes the connection loop of `sluice serve` (the sans-IO state machine
//! behind each socket) with a sequence of operations: an upgrade, raw
//! bytes, WebSocket frames and messages a client could send, time
//! passing, the call starting and its graph ending. `script::run` checks
//! what must always hold: no panic, a bounded output per step, one end
//! per connection, the setup deadline and the close grace.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_serve::conn::script;

fuzz_target!(|data: &[u8]| {
    script::run(data);
});
