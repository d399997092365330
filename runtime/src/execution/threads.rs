//! Which executor runs a graph, how it may spread work over threads, and
//! what its threads tell the thread hook. A leaf: it names things the
//! engine, the executors and the counting allocator all speak of.

/// Which executor runs the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Unpaced, every node on the calling thread, levels spread over rayon
    /// when they are worth it. Never drops.
    AsFastAsPossible,
    /// One thread per clock domain paced by a [`crate::PaceClock`], I/O
    /// nodes on their own non-real-time thread.
    RealTime,
}

/// When the as-fast-as-possible executor runs a level's nodes in parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parallel {
    /// Never: every node on the calling thread.
    Off,
    /// When the level's nodes together took at least 50 µs last tick
    /// (below that, waking workers costs more than it saves).
    Auto,
    /// Whenever a level has two or more nodes of the ticking domain.
    Always,
}

/// What an engine thread tells the thread hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadEvent {
    /// The thread is about to run its first tick.
    Started(ThreadRole),
    /// The thread has run its last tick.
    Stopping(ThreadRole),
}

/// What an engine thread does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadRole {
    /// The as-fast-as-possible loop (the thread that called `run`).
    Unpaced,
    /// A real-time clock domain's thread (index into the domains).
    Domain(usize),
    /// The non-real-time I/O thread.
    Io,
    /// A rayon worker of the as-fast-as-possible executor's own pool.
    Worker,
    /// A caller's thread inside one step of a [`crate::Driven`] engine
    /// (told around every step: the thread does other work in between).
    Driven,
}

/// Called on each processing thread as it starts and stops ticking (tests
/// use it to mark the threads a counting allocator watches).
pub type ThreadHook = fn(ThreadEvent);
