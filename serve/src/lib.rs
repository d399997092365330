//! `sluice serve`: a WebSocket server for a calling platform's audio
//! streaming (Azure Communication Services call automation), one graph
//! instance per call. The nodes it binds to each call (`acs_in`,
//! `acs_out`) and the message format live in `sluice-nodes`; this crate
//! is the server:
//!
//! - [`conn`]: the protocol core of one connection, without I/O;
//! - [`auth`]: the bearer token check on the upgrade;
//! - [`call`]: one call's graph and who ticks it; [`pool`]: the fixed
//!   pool of real-time workers that ticks every call; [`engine`]: graphs
//!   on the runtime's engine; [`ids`]: each call's file-safe id;
//! - [`server`]: the event-driven sockets (tokio) and draining;
//!   [`admin`]: `/healthz`, `/readyz`, `/metrics`; [`metrics`]; [`log`].

pub mod admin;
pub mod auth;
pub mod call;
pub mod conn;
pub mod engine;
pub mod ids;
pub mod log;
pub mod metrics;
pub mod pool;
pub mod server;

#[cfg(test)]
mod testkit;
