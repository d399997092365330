//! What survives a hot reload: the run's settings and clocks, the stop
//! flag, the reload mailbox, where the executors stopped, the real-time
//! domains' pacing origins and the unpaced executor's worker pool. A
//! reload replaces the [`Graph`](crate::execution::graph::Graph) and never
//! touches this, so a field added here cannot be reset by a reload.

use crate::clock::pace::{PaceClock, SystemClock};
use crate::execution::error::RunError;
use crate::execution::reload::Mailbox;
use crate::execution::threads::{Mode, Parallel, ThreadEvent, ThreadHook, ThreadRole};
use crate::observation::stats::{Stats, Summary};
use crate::observation::timing::Timing;
use sluice_dsl::{Domain, Settings};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The SCHED_FIFO priority the audio domain's thread asks for by default:
/// modest, like JACK's clients and PipeWire's data threads under rtkit (the
/// kernel's own threads and IRQ handlers sit at 50 and above).
pub const DEFAULT_RT_PRIORITY: u8 = 10;

/// Stops a running engine from any thread (Ctrl-C handlers, UIs).
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the engine to stop: sources end at the next tick, the graph
    /// drains, every node is finished.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Everything about a run that outlives the graph it runs.
pub(crate) struct Session {
    /// Which executor `run` uses (a reload may not change it).
    pub mode: Mode,
    /// Media time to stop at: the value the run started with.
    pub duration_ns: Option<u64>,
    /// What paces real-time domains that have no device clock.
    pub clock: Arc<dyn PaceClock>,
    pub hook: Option<ThreadHook>,
    pub parallel: Parallel,
    pub timing: Timing,
    /// SCHED_FIFO priority the audio domain's thread asks for.
    pub rt_priority: Option<u8>,
    pub stop: Arc<AtomicBool>,
    pub mailbox: Arc<Mailbox>,
    /// Media time the executors start (or resume, after a reload) from.
    pub resume_at: u64,
    /// Each real-time domain's pace clock and its origin on it, once
    /// started, so a reload does not shift the schedule.
    pub origins: Vec<(Domain, Arc<dyn PaceClock>, u64)>,
    /// The unpaced executor's worker pool, once started.
    pub pool: Option<rayon::ThreadPool>,
}

impl Session {
    /// A session for a run of a plan with `settings`.
    pub fn new(settings: &Settings) -> Session {
        Session {
            mode: if settings.realtime {
                Mode::RealTime
            } else {
                Mode::AsFastAsPossible
            },
            duration_ns: settings
                .duration
                .filter(|d| d.is_finite() && *d >= 0.0)
                .map(|d| (d * 1e9).round() as u64),
            clock: Arc::new(SystemClock::new()),
            hook: None,
            parallel: Parallel::Auto,
            timing: Timing::calibrate(),
            rt_priority: Some(DEFAULT_RT_PRIORITY),
            stop: Arc::new(AtomicBool::new(false)),
            mailbox: Arc::new(Mailbox::default()),
            resume_at: 0,
            origins: Vec::new(),
            pool: None,
        }
    }

    /// A handle on the stop flag.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.stop.clone())
    }

    /// Whether a tick at media time `t` should stop its sources instead:
    /// a stop was asked for, or the duration is reached.
    #[inline]
    pub fn stopping(&self, t: u64) -> bool {
        self.stop.load(Ordering::Acquire) || self.duration_ns.is_some_and(|d| t >= d)
    }

    /// Tells the thread hook, if any.
    #[inline]
    pub fn tell(&self, event: ThreadEvent) {
        if let Some(h) = self.hook {
            h(event);
        }
    }

    /// Ends the run: later reloads are refused, the unpaced executor's
    /// workers are told they stopped (before the pool goes, so whatever
    /// they free while winding down is not counted as processing), and
    /// the summary is made from `stats`.
    pub fn conclude(
        &mut self,
        stats: &Stats,
        wall: Duration,
        errors: Vec<String>,
    ) -> Result<Summary, RunError> {
        self.mailbox.close();
        if let (Some(pool), Some(hook)) = (self.pool.take(), self.hook) {
            pool.broadcast(|_| hook(ThreadEvent::Stopping(ThreadRole::Worker)));
        }
        let summary = Summary::from_stats(stats, wall, self.stop.load(Ordering::Acquire));
        if errors.is_empty() {
            Ok(summary)
        } else {
            Err(RunError {
                errors,
                summary: Some(Box::new(summary)),
            })
        }
    }
}
