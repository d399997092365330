//! `sluice serve --listen ADDR FILE`: a WebSocket server for a calling
//! platform's audio streaming; every connection is one call with its own
//! instance of the graph (`acs_in` its participants, `acs_out` what goes
//! back). See docs/serve.md.

use super::exit::Exit;
use super::source::{checked, fail, GraphArgs};
use clap::Args;
use sluice_nodes::acs::engine::factory;
use sluice_nodes::acs::server::{Server, ServerConfig};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Arguments of `sluice serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:8080`, `0.0.0.0:443` behind a TLS proxy).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The graph every call runs.
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Calls served at once; more are refused (close code 1013).
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_calls: usize,
    /// Do not log each call's start and end.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `sluice serve` until Ctrl-C.
pub fn main(args: ServeArgs) -> ExitCode {
    let Some(valid) = checked(&args.graph) else {
        return Exit::Invalid.into();
    };
    let plan = valid.plan;
    let name = plan.name.clone();
    let calls = match factory(plan, sluice_nodes::registry()) {
        Ok(f) => f,
        Err(e) => {
            fail(&e);
            return Exit::Invalid.into();
        }
    };
    let config = ServerConfig {
        max_calls: args.max_calls,
        verbose: !args.quiet,
        ..ServerConfig::default()
    };
    let server = match Server::bind(&args.listen, calls, config) {
        Ok(s) => s,
        Err(e) => {
            fail(&format!("cannot listen on {}: {e}", args.listen));
            return Exit::Failed.into();
        }
    };
    let addr = server
        .local_addr()
        .map_or(args.listen.clone(), |a| a.to_string());
    let shutdown = server.shutdown_flag();
    let active = server.active_calls();
    if let Err(e) = ctrlc::set_handler(move || shutdown.store(true, Ordering::Release)) {
        fail(&format!("cannot install the Ctrl-C handler: {e}"));
        return Exit::Failed.into();
    }
    eprintln!("serve: listening on ws://{addr}, one `{name}` graph per call (Ctrl-C stops)");
    server.run();
    let open = active.load(Ordering::Acquire);
    if open > 0 {
        eprintln!("serve: stopped accepting; waiting up to 5 s for {open} open calls");
        let deadline = Instant::now() + Duration::from_secs(5);
        while active.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Exit::Ok.into()
}
