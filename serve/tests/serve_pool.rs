//! Calls share a fixed pool of real-time workers: six concurrent calls
//! add no thread to the server, every call's audio comes back, and the
//! workers' whole loop (taking calls, stepping every graph, handing ended
//! ones back, sleeping) neither allocates nor frees. Alone in its test
//! binary: it counts this process's threads and installs a counting
//! allocator.

mod common;

use common::*;
use sluice_runtime::counting::{self, CountingAlloc};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

const CALLS: usize = 6;
const CHUNKS: usize = 50;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn calls_share_a_fixed_pool_of_workers_that_never_allocate() {
    let mut cfg = quiet();
    cfg.workers = 2;
    cfg.worker_hook = Some(counting::thread_hook);
    let server = start(factory(SUM_GRAPH), cfg, false);
    let h = server.handle.clone();
    let probe = std::net::TcpStream::connect(server.addr).unwrap();
    assert!(wait_for(Duration::from_secs(5), || h.pending() == 1));
    drop(probe);
    assert!(wait_for(Duration::from_secs(5), || h.pending() == 0));
    counting::settle();
    let before_threads = threads();
    let before = counting::counts();
    let most = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CALLS)
        .map(|k| {
            let addr = server.addr;
            std::thread::spawn(move || {
                short_call(&addr, &format!("c{k}"), CHUNKS, Duration::from_millis(500))
            })
        })
        .collect();
    let watcher = {
        let (h, most) = (h.clone(), most.clone());
        std::thread::spawn(move || {
            let mut during = 0;
            while wait_for(Duration::from_secs(10), || h.calls_active() == CALLS) {
                during = during.max(threads());
                most.store(during, Ordering::Release);
                if h.calls_active() < CALLS {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    for c in clients {
        let (audio, closed) = c.join().unwrap();
        assert!(closed.is_none(), "a call was closed: {closed:?}");
        assert!(audio.len() >= CHUNKS / 2 * 320, "{}", audio.len());
    }
    watcher.join().unwrap();
    let during = most.load(Ordering::Acquire);
    assert!(during > 0, "the calls never ran all at once");
    // The test's own threads: one per client, and the watcher.
    assert!(
        during <= before_threads + CALLS + 1,
        "{before_threads} threads before, {during} during {CALLS} calls"
    );
    assert!(wait_for(Duration::from_secs(10), || h.calls_active() == 0));
    let counted = counting::counts().since(before);
    assert_eq!(
        (counted.allocs, counted.frees),
        (0, 0),
        "allocations/frees on the real-time workers"
    );
}
