//! The as-fast-as-possible executor: every domain's ticks interleaved by
//! media time on the calling thread; a level's nodes spread over rayon
//! when worth it, and nodes may split their own work (blur bands) over the
//! same pool.
//!
//! With parallelism on, the loop runs inside a rayon pool of its own
//! (built before the first tick, kept in the session across reloads) so a
//! level's fork-join pushes onto the loop thread's local deque: no global
//! injector queue, whose blocks would be allocated and freed as jobs pass
//! through it.

use crate::execution::graph::Graph;
use crate::execution::session::Session;
use crate::execution::threads::{Parallel, ThreadEvent, ThreadHook, ThreadRole};
use crate::execution::tick::Cursor;

/// Runs `graph` until it ends (false) or a reload is waiting (true; the
/// session's `resume_at` then says where to go on).
pub(crate) fn run(graph: &mut Graph, session: &mut Session) -> bool {
    // Made here, before any watched thread runs: it allocates.
    let at = session.resume_at;
    let mut cursor = Cursor::new(graph, |c| c.first_tick_at(at));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Even a graph whose levels are one node wide runs inside the pool:
    // nodes such as `blur` split big frames into bands on it. With no
    // threads to be had, it runs on this one.
    let pool = if session.parallel == Parallel::Off || cores < 2 {
        None
    } else {
        let hook = session.hook;
        session
            .pool
            .take()
            .or_else(|| worker_pool(hook, cores).ok())
    };
    let paused = match &pool {
        Some(pool) => pool.install(|| run_loop(graph, session, &mut cursor, false)),
        None => run_loop(graph, session, &mut cursor, true),
    };
    // Kept across a reload: its workers stay up (and watched), so no
    // thread is torn down or set up while the graph runs.
    if pool.is_some() {
        session.pool = pool;
    }
    cursor.park(graph);
    paused
}

/// The unpaced executor's own rayon pool, its workers marked for the
/// thread hook once they are ready to run jobs.
fn worker_pool(
    hook: Option<ThreadHook>,
    cores: usize,
) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cores)
        .thread_name(|i| format!("sluice-worker-{i}"))
        .exit_handler(move |_| {
            if let Some(h) = hook {
                h(ThreadEvent::Stopping(ThreadRole::Worker));
            }
        })
        .build()?;
    // Each worker sets up its work-stealing state (an epoch handle) the
    // first time it looks for work, before it can run any job: so by the
    // time it runs this one, that one-off allocation is behind it and the
    // hook can start watching.
    pool.broadcast(|_| {
        if let Some(h) = hook {
            h(ThreadEvent::Started(ThreadRole::Worker));
        }
    });
    Ok(pool)
}

/// The loop itself; `mark` tells the thread hook around it (the pool's
/// workers, this one included, were told when the pool started). True
/// when it stopped for a reload.
fn run_loop(graph: &mut Graph, session: &mut Session, cursor: &mut Cursor, mark: bool) -> bool {
    if mark {
        session.tell(ThreadEvent::Started(ThreadRole::Unpaced));
    }
    let mut paused = false;
    while let Some(d) = cursor.earliest(&graph.domains) {
        if session.mailbox.pending() {
            // Every tick before this one has run, in every domain.
            session.resume_at = graph.domains[d].time(cursor.next[d]);
            paused = true;
            break;
        }
        cursor.tick(graph, session, d, session.parallel);
    }
    if mark {
        session.tell(ThreadEvent::Stopping(ThreadRole::Unpaced));
    }
    paused
}
