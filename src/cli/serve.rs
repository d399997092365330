//! `sluice serve --listen ADDR FILE`: a WebSocket server for a calling
//! platform's audio streaming; every connection is one call with its own
//! instance of the graph (`acs_in` its participants, `acs_out` what goes
//! back). See docs/serve.md.

use super::exit::Exit;
use super::source::{checked, fail, GraphArgs};
use clap::{Args, ValueEnum};
use sluice_serve::auth::{Auth, AuthConfig, DEFAULT_LEEWAY_S, PLATFORM_ISSUER};
use sluice_serve::conn::{Limits, DEFAULT_SETUP_DEADLINE};
use sluice_serve::engine::EngineFactory;
use sluice_serve::log::{Field, Log, LogFormat};
use sluice_serve::server::{ServeConfig, Server, DEFAULT_DRAIN_TIMEOUT};
use sluice_serve::server::{DEFAULT_MAX_CALLS, DEFAULT_MAX_PENDING};
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `sluice serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:8080`; `0.0.0.0:8080` behind a TLS proxy).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The graph every call runs.
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Calls served at once, counted from their AudioMetadata; more are
    /// refused (close code 1013).
    #[arg(long, default_value_t = DEFAULT_MAX_CALLS, value_name = "N")]
    pub max_calls: usize,
    /// Connections still without AudioMetadata; more get HTTP 503.
    #[arg(long, default_value_t = DEFAULT_MAX_PENDING, value_name = "N")]
    pub max_pending: usize,
    /// Time from the accept for the WebSocket upgrade and the AudioMetadata.
    #[arg(long, default_value_t = Secs(DEFAULT_SETUP_DEADLINE), value_name = "TIME")]
    pub setup_timeout: Secs,
    /// JWKS file with the platform's token signing keys (read again when it
    /// changes). With it, every upgrade needs a valid bearer token.
    #[arg(long, value_name = "FILE", requires = "auth_audience")]
    pub auth_jwks: Option<PathBuf>,
    /// The audience tokens must carry (the resource's id).
    #[arg(long, value_name = "ID", requires = "auth_jwks")]
    pub auth_audience: Option<String>,
    /// The issuer tokens must carry.
    #[arg(long, value_name = "URL", default_value = PLATFORM_ISSUER)]
    pub auth_issuer: String,
    /// Address for /healthz, /readyz and /metrics (e.g. `0.0.0.0:9090`).
    #[arg(long, value_name = "ADDR")]
    pub admin: Option<String>,
    /// On SIGTERM, how long running calls may go on before they are closed.
    #[arg(long, default_value_t = Secs(DEFAULT_DRAIN_TIMEOUT), value_name = "TIME")]
    pub drain_timeout: Secs,
    /// Log lines as text or as one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogArg::Text)]
    pub log: LogArg,
    /// I/O threads (default: the number of cores, at most 4).
    #[arg(long, value_name = "N")]
    pub io_threads: Option<usize>,
    /// Real-time workers that tick every call's graph (default: the
    /// number of cores).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Do not log each call's start and end.
    #[arg(long)]
    pub quiet: bool,
}

/// `--log`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogArg {
    /// `serve: ...` lines for people.
    Text,
    /// One JSON object per line.
    Json,
}

/// A duration on the command line: `5s`, `500ms`, `2m` (a bare number is
/// seconds).
#[derive(Debug, Clone, Copy)]
pub struct Secs(pub Duration);

impl FromStr for Secs {
    type Err = String;

    fn from_str(s: &str) -> Result<Secs, String> {
        let s = s.trim();
        let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
            (n, 1e-3)
        } else if let Some(n) = s.strip_suffix('s') {
            (n, 1.0)
        } else if let Some(n) = s.strip_suffix('m') {
            (n, 60.0)
        } else {
            (s, 1.0)
        };
        let v: f64 = num
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not a duration (try `5s` or `500ms`)"))?;
        if !(0.0..=86_400.0).contains(&(v * scale)) {
            return Err(format!("`{s}` is out of range (0 to 24 h)"));
        }
        Ok(Secs(Duration::from_secs_f64(v * scale)))
    }
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0.as_secs_f64())
    }
}

/// Runs `sluice serve` until it is drained (SIGTERM, Ctrl-C).
pub fn main(args: ServeArgs) -> ExitCode {
    let Some(valid) = checked(&args.graph) else {
        return Exit::Invalid.into();
    };
    let plan = valid.plan;
    let name = plan.name.clone();
    let log = Log {
        format: match args.log {
            LogArg::Text => LogFormat::Text,
            LogArg::Json => LogFormat::Json,
        },
        quiet: args.quiet,
    };
    match start(&args, plan, log) {
        Ok(server) => serve(server, &args, &name, log),
        Err((e, code)) => {
            fail(&e);
            code.into()
        }
    }
}

/// The server, bound; an error says why and with which exit code (a graph
/// whose nodes cannot be built is invalid, a port taken is a failure).
fn start(args: &ServeArgs, plan: sluice_dsl::Plan, log: Log) -> Result<Server, (String, Exit)> {
    let factory =
        EngineFactory::new(plan, sluice_nodes::registry()).map_err(|e| (e, Exit::Invalid))?;
    let failed = |e: String| (e, Exit::Failed);
    let auth = match (&args.auth_jwks, &args.auth_audience) {
        (Some(jwks), Some(aud)) => {
            let cfg = AuthConfig {
                jwks: jwks.clone(),
                audience: aud.clone(),
                issuer: args.auth_issuer.clone(),
                leeway_s: DEFAULT_LEEWAY_S,
            };
            Some(Arc::new(Auth::load(cfg).map_err(failed)?))
        }
        _ => None,
    };
    let mut config = ServeConfig {
        limits: Limits {
            setup_deadline: args.setup_timeout.0,
            ..Limits::default()
        },
        max_calls: args.max_calls,
        max_pending: args.max_pending,
        drain_timeout: args.drain_timeout.0,
        auth,
        log,
        handle_signals: true,
        ..ServeConfig::default()
    };
    if let Some(n) = args.io_threads {
        config.io_threads = n.max(1);
    }
    if let Some(n) = args.workers {
        config.workers = n.max(1);
    }
    let mut server = Server::bind(&args.listen, Arc::new(factory), config)
        .map_err(|e| failed(format!("cannot listen on {}: {e}", args.listen)))?;
    if let Some(admin) = &args.admin {
        server
            .bind_admin(admin)
            .map_err(|e| failed(format!("cannot serve the admin endpoints on {admin}: {e}")))?;
    }
    Ok(server)
}

fn serve(server: Server, args: &ServeArgs, name: &str, log: Log) -> ExitCode {
    let addr = server
        .local_addr()
        .map_or(args.listen.clone(), |a| a.to_string());
    let loopback = server.local_addr().is_ok_and(|a| a.ip().is_loopback());
    if args.auth_jwks.is_none() && !loopback {
        log.warn(
            "no_auth",
            &format!(
                "NO AUTHENTICATION: anyone who can reach {addr} can open calls and run \
                 graphs. Give --auth-jwks FILE and --auth-audience ID, or listen on 127.0.0.1 \
                 behind a proxy that checks tokens."
            ),
            &[("listen", Field::Str(&addr))],
        );
    }
    let listening = || {
        log.info(
            "listening",
            &format!(
                "listening on ws://{addr}, one `{name}` graph per call (SIGTERM or Ctrl-C drains)"
            ),
            &[("listen", Field::Str(&addr)), ("graph", Field::Str(name))],
        );
    };
    match server.run_when_ready(listening) {
        Ok(()) => Exit::Ok.into(),
        Err(e) => {
            fail(&format!("serve: {e}"));
            Exit::Failed.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(Secs::from_str("5s").unwrap().0, Duration::from_secs(5));
        assert_eq!(
            Secs::from_str("250ms").unwrap().0,
            Duration::from_millis(250)
        );
        assert_eq!(Secs::from_str("2m").unwrap().0, Duration::from_secs(120));
        assert_eq!(
            Secs::from_str("1.5").unwrap().0,
            Duration::from_millis(1500)
        );
        assert!(Secs::from_str("soon").is_err());
        assert!(Secs::from_str("-1s").is_err());
        let d = Secs(DEFAULT_SETUP_DEADLINE).to_string();
        assert_eq!(Secs::from_str(&d).unwrap().0, DEFAULT_SETUP_DEADLINE);
    }
}
