//! What a connection counts, how it ended, and its inbound rate limit.

use sluice_nodes::acs::ids::echo;
use sluice_nodes::acs::protocol::ProtocolError;
use std::time::Instant;

/// Counters of one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Data messages received (including those dropped or skipped).
    pub messages_in: u64,
    /// Messages sent (audio and `StopAudio`).
    pub messages_out: u64,
    /// Messages of a live call that could not be used (malformed JSON,
    /// bad base64, a chunk over `length`, a bad DTMF tone): skipped.
    pub bad_messages: u64,
    /// Messages of a kind this server does not know: ignored.
    pub unknown_kinds: u64,
    /// Messages over the rate limit: dropped unread.
    pub rate_dropped: u64,
    /// Chunks whose timestamp could not be read (played in arrival order).
    pub bad_timestamps: u64,
}

impl Counts {
    /// Counts a skipped message.
    pub(super) fn skip(&mut self, _why: &ProtocolError) {
        self.bad_messages += 1;
    }

    /// What was counted since `earlier`.
    pub fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            messages_in: self.messages_in - earlier.messages_in,
            messages_out: self.messages_out - earlier.messages_out,
            bad_messages: self.bad_messages - earlier.bad_messages,
            unknown_kinds: self.unknown_kinds - earlier.unknown_kinds,
            rate_dropped: self.rate_dropped - earlier.rate_dropped,
            bad_timestamps: self.bad_timestamps - earlier.bad_timestamps,
        }
    }
}

/// How a connection ended, in classes the metrics count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndKind {
    /// The call's graph ended and the call was closed normally.
    Completed,
    /// The client closed the call (the normal end of a call).
    ClientClosed,
    /// The client stopped reading (no pong, or its queue filled): dropped.
    SlowClient,
    /// A protocol violation (framing, UTF-8, size, message order).
    ProtocolError,
    /// No upgrade or no `AudioMetadata` within the setup deadline.
    Timeout,
    /// The bearer token was missing or bad (HTTP 401).
    Unauthorized,
    /// Not a WebSocket upgrade, or a request too large (HTTP 4xx).
    BadRequest,
    /// The server did not take the call (at capacity, draining, or the
    /// graph could not be built).
    Refused,
    /// The server shut down while the call ran.
    Shutdown,
    /// The connection broke without a close.
    Lost,
}

impl EndKind {
    /// Every kind, for the metrics' labels.
    pub const ALL: [EndKind; 10] = [
        EndKind::Completed,
        EndKind::ClientClosed,
        EndKind::SlowClient,
        EndKind::ProtocolError,
        EndKind::Timeout,
        EndKind::Unauthorized,
        EndKind::BadRequest,
        EndKind::Refused,
        EndKind::Shutdown,
        EndKind::Lost,
    ];

    /// The label value in metrics and JSON logs.
    pub fn label(self) -> &'static str {
        match self {
            EndKind::Completed => "completed",
            EndKind::ClientClosed => "client_closed",
            EndKind::SlowClient => "slow_client",
            EndKind::ProtocolError => "protocol_error",
            EndKind::Timeout => "timeout",
            EndKind::Unauthorized => "unauthorized",
            EndKind::BadRequest => "bad_request",
            EndKind::Refused => "refused",
            EndKind::Shutdown => "shutdown",
            EndKind::Lost => "lost",
        }
    }
}

/// How a connection ended: its class, the close code sent (if any) and a
/// reason a person can read (client text in it is capped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The class.
    pub kind: EndKind,
    /// The WebSocket close code or HTTP status sent, if any.
    pub code: Option<u16>,
    /// Why, in words.
    pub reason: String,
}

impl Outcome {
    /// An outcome; `reason` is capped like any echoed client text.
    pub fn new(kind: EndKind, code: Option<u16>, reason: &str) -> Outcome {
        Outcome {
            kind,
            code,
            reason: echo(reason),
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(c) => write!(f, "{} ({c}): {}", self.kind.label(), self.reason),
            None => write!(f, "{}: {}", self.kind.label(), self.reason),
        }
    }
}

/// A token bucket over messages: `rate` per second, bursts of one
/// second's worth.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub fn new(rate: f64, now: Instant) -> Bucket {
        Bucket {
            rate,
            tokens: rate,
            last: now,
        }
    }

    /// Takes one message's token; `false` when over the rate.
    pub fn take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + dt * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_bucket_passes_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(100.0, t0);
        assert_eq!((0..150).filter(|_| b.take(t0)).count(), 100);
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!((0..150).filter(|_| b.take(t1)).count(), 50);
    }
}
