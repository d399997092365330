//! `sluice run`: check the graph, build the engine, apply `--set`, run with
//! a progress bar (when the length is known) and Ctrl-C draining, print a
//! summary (and `--stats`) to stderr.

use super::source::{checked, fail, read_path, GraphArgs};
use super::watch::Watcher;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sluice_dsl::{Arg, ParamSig, ParamType, Plan};
use sluice_runtime::{Engine, Registry, RunError, Stats};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `sluice run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The graph.
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Set a parameter before starting: `node.param=value` (repeatable).
    #[arg(long = "set", value_name = "NODE.PARAM=VALUE")]
    pub set: Vec<String>,
    /// Stop after this much media time (`10s`, `500ms`); overrides the graph's.
    #[arg(long)]
    pub duration: Option<String>,
    /// Print per-node timing, drops and xruns (`--stats=live`: every second).
    #[arg(long, num_args = 0..=1, default_missing_value = "end", value_name = "WHEN")]
    pub stats: Option<String>,
    /// Reload the graph when the file changes: unchanged nodes keep their
    /// state, changed ones are crossfaded, a bad edit is reported and the
    /// running graph goes on.
    #[arg(long)]
    pub watch: bool,
    /// Run in real time (as the header's `realtime: true`): sources paced
    /// by the clock, one thread per clock domain.
    #[arg(long)]
    pub realtime: bool,
}

/// When to print the stats table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatsMode {
    Off,
    End,
    Live,
}

/// Runs `sluice run`.
pub fn main(args: RunArgs) -> ExitCode {
    let stats_mode = match args.stats.as_deref() {
        None => StatsMode::Off,
        Some("end") => StatsMode::End,
        Some("live") => StatsMode::Live,
        Some(other) => {
            fail(&format!("--stats takes `end` or `live`, not `{other}`"));
            return ExitCode::from(2);
        }
    };
    let watched = match (&args.graph.file, args.watch) {
        (_, false) => None,
        (Some(path), true) if path.as_os_str() != "-" => Some(path.clone()),
        _ => {
            fail("--watch needs a graph file (not `-` or -e)");
            return ExitCode::from(2);
        }
    };
    let Some(mut plan) = checked(&args.graph) else {
        return ExitCode::from(1);
    };
    if args.realtime {
        plan.settings.realtime = true;
    }
    if let Some(text) = &args.duration {
        match parse_duration(text) {
            Ok(d) => plan.settings.duration = Some(d),
            Err(e) => {
                fail(&format!("--duration {text}: {e}"));
                return ExitCode::from(2);
            }
        }
    }
    if let Err(e) = refuse_endless(&plan) {
        fail(&e);
        return ExitCode::from(2);
    }
    let registry = sluice_nodes::registry();
    let mut sets = Vec::with_capacity(args.set.len());
    for s in &args.set {
        match parse_set(&plan, &registry, s) {
            Ok(set) => sets.push(set),
            Err(e) => {
                fail(&format!("--set {s}: {e}"));
                return ExitCode::from(2);
            }
        }
    }
    // A live parameter set at start is built in, so it holds from the
    // first sample (through the control ring it would ramp in over a tick).
    let (built_in, later): (Vec<Set>, Vec<Set>) = sets
        .into_iter()
        .partition(|s| s.live && !s.key.contains('.'));
    for s in built_in {
        if let Some(index) = plan.node_by_name(&s.node) {
            plan.graph[index].args.set(&s.key, s.arg);
        }
    }
    let mut engine = match Engine::build(&plan, &registry) {
        Ok(e) => e,
        Err(e) => {
            fail(&e.to_string());
            return ExitCode::from(1);
        }
    };
    for s in later {
        if let Err(e) = engine.set(&s.node, &s.key, s.arg) {
            fail(&format!("--set {}.{}: {e}", s.node, s.key));
            return ExitCode::from(2);
        }
    }
    let watcher = match watched {
        Some(path) => {
            let text = read_path(&path).map(|f| f.text).unwrap_or_default();
            Some(Watcher::new(
                path,
                text,
                engine.reloader(),
                registry,
                args.realtime,
            ))
        }
        None => None,
    };
    run(engine, &plan, stats_mode, watcher)
}

/// Parses `--duration` like the graph header's `duration:`.
fn parse_duration(text: &str) -> Result<f64, String> {
    let param = sluice_dsl::graph_settings()
        .into_iter()
        .find(|p| p.name == "duration")
        .ok_or("the graph language has no `duration` setting")?;
    let value = sluice_dsl::parse_value(text)?;
    match sluice_dsl::normalize_value(&param, &value)? {
        Arg::Num(s) => Ok(s),
        other => Err(format!("expected a time, got {other:?}")),
    }
}

/// An unpaced run of a source that never ends would never end either.
fn refuse_endless(plan: &Plan) -> Result<(), String> {
    if plan.settings.realtime || plan.settings.duration.is_some() {
        return Ok(());
    }
    let endless: Vec<String> = plan
        .endless_sources()
        .map(|n| format!("`{}`", n.name))
        .collect();
    if endless.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} never end{} and the graph runs as fast as possible, so it would never finish: \
         give `--duration 10s`, `duration: 10s` in the graph header, or `realtime: true`",
        endless.join(", "),
        if endless.len() == 1 { "s" } else { "" }
    ))
}

/// One checked `--set`: the node, the key after its name, the value.
struct Set {
    node: String,
    key: String,
    arg: Arg,
    live: bool,
}

/// Parses and checks one `node.param=value` (or `node.param.sub=value`).
fn parse_set(plan: &Plan, registry: &Registry, s: &str) -> Result<Set, String> {
    let (lhs, text) = s.split_once('=').ok_or("expected `node.param=value`")?;
    let (node, key) = lhs
        .split_once('.')
        .ok_or("expected `node.param=value` (no `.` before `=`)")?;
    let index = plan
        .node_by_name(node)
        .ok_or_else(|| format!("no node is named `{node}`"))?;
    let kind = &plan.graph[index].kind;
    let (param_name, sub) = match key.split_once('.') {
        Some((p, sub)) => (p, Some(sub)),
        None => (key, None),
    };
    let param = registry
        .kind(kind)
        .and_then(|k| k.signature.param(param_name))
        .ok_or_else(|| format!("`{kind}` has no parameter `{param_name}`"))?;
    // A per-participant key sets one item of a list parameter.
    let item;
    let param: &ParamSig = match (&param.ty, sub) {
        (ParamType::List(t), Some(_)) => {
            item = ParamSig {
                ty: (**t).clone(),
                ..param.clone()
            };
            &item
        }
        _ => param,
    };
    let value = sluice_dsl::parse_value(text.trim())?;
    let arg = sluice_dsl::normalize_value(param, &value)?;
    Ok(Set {
        node: node.to_string(),
        key: key.to_string(),
        arg,
        live: param.live,
    })
}

/// Starts the engine, shows progress, handles Ctrl-C, prints the summary.
fn run(
    engine: Engine,
    plan: &Plan,
    stats_mode: StatsMode,
    mut watcher: Option<Watcher>,
) -> ExitCode {
    let mut stats = engine.stats();
    let stop = engine.stop_handle();
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let interrupted = interrupted.clone();
        // First Ctrl-C drains and finalises; a second one gives up at once.
        let installed = ctrlc::set_handler(move || {
            if interrupted.swap(true, Ordering::AcqRel) {
                eprintln!("\ninterrupted twice: exiting without finishing files");
                std::process::exit(130);
            }
            eprintln!("\nstopping: draining the graph and finishing files (Ctrl-C again to abort)");
            stop.stop();
        });
        if let Err(e) = installed {
            eprintln!("warning: Ctrl-C will not drain the graph: {e}");
        }
    }
    let bar = plan.settings.duration.map(progress_bar);
    let running = engine.start();
    // A waiter thread hands the result over the moment the run ends, so
    // the loop below never sleeps past it (polling `is_finished` every
    // 50 ms added up to 50 ms to every run, a third of a 32-file mix).
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || done_tx.send(running.wait()));
    let mut last_live = Instant::now();
    let say = |f: &dyn Fn()| match &bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    };
    let result = loop {
        match done_rx.recv_timeout(Duration::from_millis(50)) {
            Ok(result) => break result,
            Err(RecvTimeoutError::Disconnected) => {
                break Err(RunError {
                    errors: vec!["the engine's waiter thread died".into()],
                    summary: None,
                })
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        if let Some(new) = watcher.as_mut().and_then(|w| w.poll(&say)) {
            stats = new;
        }
        if let Some(bar) = &bar {
            bar.set_position(stats.media_time() / 1_000_000);
        }
        if stats_mode == StatsMode::Live && last_live.elapsed() >= Duration::from_secs(1) {
            last_live = Instant::now();
            let table = stats.table();
            say(&|| eprint!("{table}"));
        }
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if stats_mode != StatsMode::Off {
        eprint!("{}", stats.table());
    }
    print_outcome(result, &stats)
}

fn progress_bar(seconds: f64) -> ProgressBar {
    let bar = ProgressBar::new((seconds * 1e3) as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} ms of media  {elapsed} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

fn print_outcome(
    result: Result<sluice_runtime::Summary, sluice_runtime::RunError>,
    stats: &Stats,
) -> ExitCode {
    match result {
        Ok(summary) => {
            eprintln!("{summary}");
            for (edge, drops) in &summary.edge_drops {
                eprintln!("warning: {drops} frames dropped on {edge}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            for line in &e.errors {
                fail(line);
            }
            match &e.summary {
                Some(s) => eprintln!("{s}"),
                None => eprintln!("{} ticks before the failure", stats.ticks()),
            }
            ExitCode::from(1)
        }
    }
}
