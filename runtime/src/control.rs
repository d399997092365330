//! Live parameter changes: a lock-free command ring per processing thread,
//! applied between ticks.
//!
//! A [`Controller`] (any thread) checks a change against the node's signature
//! (the parameter exists, is `live`, and the value fits its type and range),
//! then pushes a [`Command`] into the ring of the thread that runs the node.
//! That thread applies every queued command before its next tick, then sends
//! each command back on a return ring so whatever it owns (a string, a list)
//! is freed on the controller's thread, never on the real-time one. The
//! controller keeps at most the ring's capacity in flight, so the return ring
//! can never be full.

use crate::node::NodeError;
use sluice_dsl::{Arg, ParamSig, ParamType};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Commands a controller may have in flight per processing thread.
pub const COMMAND_CAPACITY: usize = 256;

/// Longest key (`position.alice`) a command carries, in bytes.
pub const KEY_CAPACITY: usize = 96;

/// Why a parameter change was refused or failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlError {
    /// No node has this name.
    UnknownNode(String),
    /// The node has no parameter by this name.
    UnknownParam {
        /// Node name.
        node: String,
        /// Parameter name.
        param: String,
    },
    /// The parameter is fixed once the graph runs.
    NotLive {
        /// Node name.
        node: String,
        /// Parameter name.
        param: String,
    },
    /// The value does not fit the parameter.
    BadValue {
        /// Node name.
        node: String,
        /// Parameter name.
        param: String,
        /// What is wrong.
        reason: String,
    },
    /// The key is longer than [`KEY_CAPACITY`].
    KeyTooLong(String),
    /// [`COMMAND_CAPACITY`] changes are already waiting for their thread.
    Busy,
    /// The graph this controller was taken from no longer runs: it ended,
    /// or a hot reload replaced it (take a new controller from the engine
    /// that runs now).
    Detached,
    /// The node refused the change.
    Node {
        /// Node name.
        node: String,
        /// The key.
        key: String,
        /// The node's reason.
        error: String,
    },
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::UnknownNode(n) => write!(f, "no node is named `{n}`"),
            ControlError::UnknownParam { node, param } => {
                write!(f, "node `{node}` has no parameter `{param}`")
            }
            ControlError::NotLive { node, param } => {
                write!(f, "`{node}.{param}` cannot change while running")
            }
            ControlError::BadValue {
                node,
                param,
                reason,
            } => write!(f, "bad value for `{node}.{param}`: {reason}"),
            ControlError::KeyTooLong(k) => {
                write!(f, "key `{k}` is longer than {KEY_CAPACITY} bytes")
            }
            ControlError::Busy => write!(
                f,
                "{COMMAND_CAPACITY} changes are already waiting to be applied"
            ),
            ControlError::Detached => {
                f.write_str("the graph this controller was made for is no longer running")
            }
            ControlError::Node { node, key, error } => write!(f, "`{node}.{key}`: {error}"),
        }
    }
}

impl std::error::Error for ControlError {}

/// A key stored inline so a command owns no heap memory for it.
#[derive(Clone, Copy)]
pub(crate) struct Key {
    len: u8,
    bytes: [u8; KEY_CAPACITY],
}

impl Key {
    fn new(s: &str) -> Option<Key> {
        if s.len() > KEY_CAPACITY {
            return None;
        }
        let mut bytes = [0; KEY_CAPACITY];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Some(Key {
            len: s.len() as u8,
            bytes,
        })
    }

    fn as_str(&self) -> &str {
        // Built from a whole `&str`, so always valid UTF-8.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

/// One parameter change on its way to a processing thread (and back).
pub struct Command {
    local: u32,
    key: Key,
    value: Arg,
    failure: Option<NodeError>,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("node", &self.local)
            .field("key", &self.key.as_str())
            .field("value", &self.value)
            .field("failure", &self.failure)
            .finish()
    }
}

/// Where a node lives and what it accepts: the controller's lookup table.
#[derive(Debug)]
pub(crate) struct Route {
    pub thread: usize,
    pub local: u32,
    pub params: Vec<ParamSig>,
}

/// Every node's route by name, built with the engine.
pub(crate) type Routes = HashMap<String, Route>;

/// Checks `node.key = value` against the routes; returns the route.
pub(crate) fn validate<'r>(
    routes: &'r Routes,
    node: &str,
    key: &str,
    value: &Arg,
) -> Result<&'r Route, ControlError> {
    let route = routes
        .get(node)
        .ok_or_else(|| ControlError::UnknownNode(node.to_string()))?;
    let param = key.split('.').next().unwrap_or(key);
    let sig = route
        .params
        .iter()
        .find(|p| p.name == param)
        .ok_or_else(|| ControlError::UnknownParam {
            node: node.to_string(),
            param: param.to_string(),
        })?;
    if !sig.live {
        return Err(ControlError::NotLive {
            node: node.to_string(),
            param: param.to_string(),
        });
    }
    check_value(&sig.ty, value).map_err(|reason| ControlError::BadValue {
        node: node.to_string(),
        param: param.to_string(),
        reason,
    })?;
    if key.len() > KEY_CAPACITY {
        return Err(ControlError::KeyTooLong(key.to_string()));
    }
    Ok(route)
}

fn check_value(ty: &ParamType, v: &Arg) -> Result<(), String> {
    match (ty, v) {
        (ParamType::Quantity { min, max, .. }, Arg::Num(x)) => in_range(*x, *min, *max),
        (ParamType::Int { min, max }, Arg::Num(x)) => {
            if x.fract() != 0.0 {
                return Err(format!("{x} is not a whole number"));
            }
            in_range(*x, *min as f64, *max as f64)
        }
        (ParamType::Size { max }, Arg::Size(w, h)) => {
            if *w == 0 || *h == 0 || w > max || h > max {
                Err(format!("{w}x{h} is outside 1..={max} per side"))
            } else {
                Ok(())
            }
        }
        (ParamType::Str | ParamType::Path, Arg::Str(_)) | (ParamType::Bool, Arg::Bool(_)) => Ok(()),
        (ParamType::Enum(choices), Arg::Enum(s) | Arg::Str(s)) => {
            if choices.contains(&s.as_str()) {
                Ok(())
            } else {
                Err(format!("`{s}` is not one of {}", choices.join(", ")))
            }
        }
        (ParamType::List(item), Arg::List(items)) => {
            items.iter().try_for_each(|i| check_value(item, i))
        }
        (ParamType::Tuple(types), Arg::List(items)) if types.len() == items.len() => types
            .iter()
            .zip(items)
            .try_for_each(|(t, i)| check_value(t, i)),
        (ParamType::OneOf(alts), v) => {
            if alts.iter().any(|t| check_value(t, v).is_ok()) {
                Ok(())
            } else {
                Err(format!("expected {ty}, got {v:?}"))
            }
        }
        // A per-participant key may set one item of a list parameter.
        (ParamType::List(item), other) => check_value(item, other),
        (ty, v) => Err(format!("expected {ty}, got {v:?}")),
    }
}

fn in_range(x: f64, min: f64, max: f64) -> Result<(), String> {
    if x.is_finite() && x >= min && x <= max {
        Ok(())
    } else {
        Err(format!("{x} is outside {min}..={max}"))
    }
}

/// The processing thread's end of one controller's rings.
pub(crate) struct CommandRx {
    rx: rtrb::Consumer<Command>,
    back: rtrb::Producer<Command>,
}

impl CommandRx {
    /// Applies every queued command through `set` (local node index, key,
    /// value) and sends each back to be freed. Never allocates (unless a
    /// node's `set` fails, which validation makes a node bug).
    pub fn apply(&mut self, mut set: impl FnMut(u32, &str, &Arg) -> Result<(), NodeError>) {
        while let Ok(mut cmd) = self.rx.pop() {
            cmd.failure = set(cmd.local, cmd.key.as_str(), &cmd.value).err();
            // Cannot fail: the controller keeps at most the return ring's
            // capacity in flight. If it somehow did, dropping the command here
            // would only free its value on this thread.
            let _ = self.back.push(cmd);
        }
    }
}

struct CommandTx {
    tx: rtrb::Producer<Command>,
    back: rtrb::Consumer<Command>,
    in_flight: usize,
}

/// Sends live parameter changes to a running (or not yet started) engine.
/// `Send`: move it to a UI, a socket handler or a signal thread.
pub struct Controller {
    routes: Arc<Routes>,
    names: Arc<Vec<String>>,
    threads: Vec<CommandTx>,
    failures: Vec<ControlError>,
}

/// Builds a controller and the receiving ends, one per processing thread.
pub(crate) fn channel(
    routes: Arc<Routes>,
    names: Arc<Vec<String>>,
    threads: usize,
) -> (Controller, Vec<CommandRx>) {
    let mut txs = Vec::with_capacity(threads);
    let mut rxs = Vec::with_capacity(threads);
    for _ in 0..threads {
        let (tx, rx) = rtrb::RingBuffer::new(COMMAND_CAPACITY);
        let (back_tx, back_rx) = rtrb::RingBuffer::new(COMMAND_CAPACITY);
        txs.push(CommandTx {
            tx,
            back: back_rx,
            in_flight: 0,
        });
        rxs.push(CommandRx { rx, back: back_tx });
    }
    let c = Controller {
        routes,
        names,
        threads: txs,
        failures: Vec::new(),
    };
    (c, rxs)
}

impl Controller {
    /// Queues `node.key = value` (value normalised, as `sluice_dsl` gives
    /// it); it takes effect at the start of the node's next tick.
    pub fn set(&mut self, node: &str, key: &str, value: Arg) -> Result<(), ControlError> {
        self.collect();
        let route = validate(&self.routes, node, key, &value)?;
        let key = Key::new(key).ok_or_else(|| ControlError::KeyTooLong(key.to_string()))?;
        let t = &mut self.threads[route.thread];
        if t.tx.is_abandoned() {
            return Err(ControlError::Detached);
        }
        if t.in_flight >= COMMAND_CAPACITY {
            return Err(ControlError::Busy);
        }
        let cmd = Command {
            local: route.local,
            key,
            value,
            failure: None,
        };
        t.tx.push(cmd).map_err(|_| ControlError::Busy)?;
        t.in_flight += 1;
        Ok(())
    }

    /// Changes nodes refused after they were queued (drained by this call).
    pub fn failures(&mut self) -> Vec<ControlError> {
        self.collect();
        std::mem::take(&mut self.failures)
    }

    /// Changes queued but not yet applied and returned.
    pub fn pending(&mut self) -> usize {
        self.collect();
        self.threads.iter().map(|t| t.in_flight).sum()
    }

    fn collect(&mut self) {
        for (th, t) in self.threads.iter_mut().enumerate() {
            while let Ok(cmd) = t.back.pop() {
                t.in_flight -= 1;
                if let Some(e) = cmd.failure {
                    let node = self
                        .routes
                        .iter()
                        .find(|(_, r)| r.thread == th && r.local == cmd.local)
                        .map(|(n, _)| n.clone())
                        .unwrap_or_default();
                    self.failures.push(ControlError::Node {
                        node,
                        key: cmd.key.as_str().to_string(),
                        error: e.0,
                    });
                }
            }
        }
    }

    /// Every node name, in plan order.
    pub fn node_names(&self) -> &[String] {
        &self.names
    }
}

impl fmt::Debug for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controller")
            .field("threads", &self.threads.len())
            .finish()
    }
}
