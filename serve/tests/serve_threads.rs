//! A thousand idle sockets cost no threads, and a real call gets through
//! while they are open (alone in its test binary: it counts the threads
//! of this process).

mod common;

use common::*;
use std::net::TcpStream;
use std::time::Duration;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn sec_3_a_thousand_idle_sockets_cost_no_threads() {
    let mut cfg = quiet();
    cfg.limits.setup_deadline = Duration::from_secs(60);
    cfg.max_pending = 2000;
    let server = start(factory(SUM_GRAPH), cfg, false);
    let h = server.handle.clone();
    // The runtime is up once it answers.
    let probe = TcpStream::connect(server.addr).unwrap();
    assert!(wait_for(Duration::from_secs(5), || h.pending() == 1));
    drop(probe);
    assert!(wait_for(Duration::from_secs(5), || h.pending() == 0));
    let before = threads();
    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    assert!(
        wait_for(Duration::from_secs(20), || h.pending() == 1000),
        "{} pending",
        h.pending()
    );
    let after = threads();
    eprintln!("threads: {before} before, {after} with 1000 idle sockets");
    assert!(
        after <= before + 1,
        "{before} threads before, {after} after"
    );
    let (audio, closed) = short_call(&server.addr, "real", 25, Duration::from_millis(500));
    assert!(closed.is_none(), "the real call was refused: {closed:?}");
    assert!(audio.len() >= 15 * 320, "{}", audio.len());
    drop(idle);
    assert!(wait_for(Duration::from_secs(10), || h.pending() == 0));
}
