//! The reporting period of the nodes that write one event per stream per
//! `every` (`meter`, `vad`): whole ticks, so every period has the same
//! number of them and an event's time is its period's first tick.

use sluice_dsl::{Arg, ParamSig, UnitKind};
use sluice_runtime::{BuildContext, Clock, Nanos, NodeError};

/// The default period: ten events a second per stream.
pub const DEFAULT_EVERY: f64 = 0.1;

/// The `every` parameter, shortest period `min` seconds.
pub fn param(min: f64, doc: &str) -> ParamSig {
    crate::sig::param(
        "every",
        crate::sig::quantity(UnitKind::Time, min, 3600.0),
        Arg::Num(DEFAULT_EVERY),
        doc,
    )
}

/// Where the graph's clock is in the current period.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    ticks: u64,
    start: Nanos,
}

impl Period {
    /// The node's `every` in whole ticks of the graph (at least one).
    pub fn from_args(ctx: &BuildContext) -> Result<Period, NodeError> {
        let every = ctx.args.need_num("every")?;
        let tick = ctx.settings.tick_seconds();
        Ok(Period {
            ticks: ((every / tick).round() as u64).max(1),
            start: 0,
        })
    }

    /// Notes the tick `clock` is on (a period's first tick sets its
    /// start) and says whether it is the period's last.
    pub fn tick(&mut self, clock: &Clock) -> bool {
        let phase = clock.tick % self.ticks;
        if phase == 0 {
            self.start = clock.time;
        }
        phase + 1 == self.ticks
    }

    /// The media time of the current period's first tick: the time of
    /// its events.
    pub fn start(&self) -> Nanos {
        self.start
    }
}
