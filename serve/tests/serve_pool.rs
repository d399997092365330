//! Calls run on the fixed pool of real-time workers: eight concurrent
//! calls all get their audio back, and while they run the server has its
//! workers and no thread per call (alone in its test binary: it reads the
//! names of this process's threads).

mod common;

use common::*;
use std::time::Duration;

/// The names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect()
}

#[test]
fn concurrent_calls_share_the_workers_with_no_thread_per_call() {
    let mut cfg = quiet();
    cfg.workers = 2;
    let server = start(factory(SUM_GRAPH), cfg, false);
    let addr = server.addr;
    let h = server.handle.clone();
    let calls: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                short_call(&addr, &format!("c{i}"), 100, Duration::from_millis(500))
            })
        })
        .collect();
    assert!(
        wait_for(Duration::from_secs(10), || h.calls_active() == 8),
        "{} calls active",
        h.calls_active()
    );
    let names = thread_names();
    let workers = names
        .iter()
        .filter(|n| n.starts_with("sluice-worker"))
        .count();
    let per_call = names
        .iter()
        .filter(|n| {
            n.starts_with("call-") || n.starts_with("sluice-rt") || n.starts_with("sluice-io")
        })
        .count();
    assert_eq!(workers, 2, "{names:?}");
    assert_eq!(per_call, 0, "{names:?}");
    for c in calls {
        let (audio, closed) = c.join().unwrap();
        assert!(closed.is_none(), "a call was closed: {closed:?}");
        assert!(audio.len() >= 80 * 320, "{} samples came back", audio.len());
    }
}
