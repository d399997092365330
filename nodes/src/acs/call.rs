//! How a call's connection and its graph instance find each other, with
//! nothing global: the host (`sluice serve`) makes a [`CallSetup`] for
//! the call's format and registers `acs_in` and `acs_out` constructors
//! bound to it ([`super::bind`]) in the registry it builds the call's graph
//! with. While the graph is built, those constructors create their rings
//! (sized from their own arguments and the graph settings) and leave the
//! connection's ends in the setup; the host then takes them
//! ([`CallSetup::take_side`]).

use super::inbound::Assembler;
use super::outbound::Outbound;
use super::protocol::AudioMetadata;
use super::stats::CallStats;
use sluice_runtime::NodeError;
use std::sync::{Arc, Mutex, PoisonError};

/// The call's format, as the nodes' constructors see it.
#[derive(Debug, Clone, Copy)]
pub struct CallFormat {
    /// The call's sample rate (16000 or 24000).
    pub rate: u32,
    /// Samples in one 20 ms chunk at that rate.
    pub chunk_samples: usize,
}

/// The connection's ends of a call's rings, left by the nodes' constructors.
#[derive(Debug)]
pub struct CallSide {
    /// Where incoming audio goes (`None` when the graph has no `acs_in`).
    pub inbound: Option<Assembler>,
    /// Where outgoing audio comes from (`None` without `acs_out`).
    pub outbound: Option<Outbound>,
    /// The call's counters.
    pub stats: Arc<CallStats>,
}

/// One call being set up: its format, its counters, and the connection's
/// ends as the constructors leave them. The lock is taken only while the
/// graph is built, never while it runs.
#[derive(Debug)]
pub struct CallSetup {
    format: CallFormat,
    stats: Arc<CallStats>,
    ends: Mutex<(Option<Assembler>, Option<Outbound>)>,
}

impl CallSetup {
    /// A setup for the call `meta` describes.
    pub fn new(meta: &AudioMetadata) -> Arc<CallSetup> {
        Arc::new(CallSetup {
            format: CallFormat {
                rate: meta.sample_rate,
                chunk_samples: meta.chunk_samples(),
            },
            stats: Arc::new(CallStats::default()),
            ends: Mutex::new((None, None)),
        })
    }

    /// The call's format.
    pub fn format(&self) -> CallFormat {
        self.format
    }

    /// The call's counters.
    pub fn stats(&self) -> &Arc<CallStats> {
        &self.stats
    }

    /// Takes the connection's ends the constructors left (after the build).
    pub fn take_side(&self) -> CallSide {
        let mut ends = self.ends.lock().unwrap_or_else(PoisonError::into_inner);
        CallSide {
            inbound: ends.0.take(),
            outbound: ends.1.take(),
            stats: self.stats.clone(),
        }
    }

    /// For `acs_in`'s constructor: leaves the connection's end, once.
    pub(crate) fn leave_inbound(&self, a: Assembler) -> Result<(), NodeError> {
        let mut ends = self.ends.lock().unwrap_or_else(PoisonError::into_inner);
        if ends.0.is_some() {
            return Err(NodeError::new("a call graph can have only one `acs_in`"));
        }
        ends.0 = Some(a);
        Ok(())
    }

    /// For `acs_out`'s constructor: leaves the connection's end, once.
    pub(crate) fn leave_outbound(&self, o: Outbound) -> Result<(), NodeError> {
        let mut ends = self.ends.lock().unwrap_or_else(PoisonError::into_inner);
        if ends.1.is_some() {
            return Err(NodeError::new("a call graph can have only one `acs_out`"));
        }
        ends.1 = Some(o);
        Ok(())
    }
}
