//! `sluice run`: check the graph, build the engine, apply `--set`, run with
//! a progress bar (when the length is known) and Ctrl-C draining, print a
//! summary (and `--stats`) to stderr.

use super::exit::{Exit, ABORTED};
use super::source::{build_failed, checked, fail, read_path, GraphArgs, Valid};
use super::watch::Watcher;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sluice_dsl::{Arg, ParamSig, ParamType, Plan, Severity};
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
    /// Print per-node timing, drops and xruns at the end (`--stats=live`:
    /// every second too). A value needs `=`, so `--stats FILE` is the file.
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "end",
        value_name = "WHEN"
    )]
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
            return Exit::Usage.into();
        }
    };
    let watched = match (&args.graph.file, args.watch) {
        (_, false) => None,
        (Some(path), true) if path.as_os_str() != "-" => Some(path.clone()),
        _ => {
            fail("--watch needs a graph file (not `-` or -e)");
            return Exit::Usage.into();
        }
    };
    let Some(Valid { file, mut plan }) = checked(&args.graph) else {
        return Exit::Invalid.into();
    };
    let registry = sluice_nodes::registry();
    let later = match apply_options(&args, &mut plan, &registry) {
        Ok(later) => later,
        Err(e) => {
            e.print();
            return Exit::Invalid.into();
        }
    };
    let mut engine = match Engine::build(&plan, &registry) {
        Ok(e) => e,
        Err(e) => {
            build_failed(&e, &plan, &file);
            return Exit::Failed.into();
        }
    };
    for s in later {
        if let Err(e) = engine.set(&s.node, &s.key, s.arg) {
            fail(&format!("--set {}.{}: {e}", s.node, s.key));
            return Exit::Invalid.into();
        }
    }
    let watcher = watched.map(|path| {
        let text = read_path(&path).map(|f| f.text).unwrap_or_default();
        Watcher::new(path, text, engine.reloader(), registry, args.realtime)
    });
    run(engine, &plan, stats_mode, watcher)
}

/// A problem with what the command line adds to the graph, with a fix.
struct OptionError {
    message: String,
    help: Option<String>,
}

impl OptionError {
    fn new(message: impl Into<String>) -> OptionError {
        OptionError {
            message: message.into(),
            help: None,
        }
    }

    /// "did you mean" the closest of `names` to `word`, else `otherwise`.
    fn suggest<'a>(
        message: String,
        word: &str,
        names: impl IntoIterator<Item = &'a str>,
        otherwise: String,
    ) -> OptionError {
        let help = sluice_dsl::did_you_mean(word, names)
            .map_or(otherwise, |n| format!("did you mean `{n}`?"));
        OptionError {
            message,
            help: Some(help),
        }
    }

    fn print(&self) {
        fail(&self.message);
        if let Some(h) = &self.help {
            eprintln!("help: {h}");
        }
    }
}

/// Applies `--realtime`, `--duration` and `--set` to the plan, checked as
/// the graph's own values are; returns the sets that must go through the
/// engine (per-participant keys).
fn apply_options(
    args: &RunArgs,
    plan: &mut Plan,
    registry: &Registry,
) -> Result<Vec<Set>, OptionError> {
    if args.realtime {
        plan.settings.realtime = true;
    }
    if let Some(text) = &args.duration {
        let d = parse_duration(text)
            .map_err(|e| OptionError::new(format!("--duration {text}: {e}")))?;
        plan.settings.duration = Some(d);
    }
    refuse_endless(plan).map_err(OptionError::new)?;
    let mut sets = Vec::with_capacity(args.set.len());
    for s in &args.set {
        let set = parse_set(plan, registry, s).map_err(|mut e| {
            e.message = format!("--set {s}: {}", e.message);
            e
        })?;
        sets.push(set);
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
    Ok(later)
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

/// Parses and checks one `node.param=value` (or `node.param.sub=value`)
/// as strictly as `check` checks the graph text: names with "did you
/// mean", the value's type, unit and range, and the node's constraints
/// with the new value.
fn parse_set(plan: &Plan, registry: &Registry, s: &str) -> Result<Set, OptionError> {
    let (lhs, text) = s
        .split_once('=')
        .ok_or_else(|| OptionError::new("expected `node.param=value`"))?;
    let (node, key) = lhs
        .split_once('.')
        .ok_or_else(|| OptionError::new("expected `node.param=value` (no `.` before `=`)"))?;
    let index = plan.node_by_name(node).ok_or_else(|| {
        let names = plan.graph.node_weights().map(|n| n.name.as_str());
        OptionError::suggest(
            format!("no node is named `{node}`"),
            node,
            names,
            "`sluice plan` shows every node's name".into(),
        )
    })?;
    let kind = &plan.graph[index].kind;
    let sig = &registry
        .kind(kind)
        .ok_or_else(|| OptionError::new(format!("unknown kind `{kind}`")))?
        .signature;
    let (param_name, sub) = match key.split_once('.') {
        Some((p, sub)) => (p, Some(sub)),
        None => (key, None),
    };
    let param = settable(sig, param_name, sub.is_some())?;
    let value = sluice_dsl::parse_value(text.trim()).map_err(OptionError::new)?;
    let arg = sluice_dsl::check_value(&param, &value).map_err(|e| OptionError {
        message: format!("{} ({})", e.message, e.label),
        help: e.help,
    })?;
    if sub.is_none() {
        constraints_hold(&plan.settings, &plan.graph[index], sig, key, &arg)?;
    }
    Ok(Set {
        node: node.to_string(),
        key: key.to_string(),
        arg,
        live: param.live,
    })
}

/// The parameter `name` of `sig` as a value set for it must be; for a
/// per-participant key (`position.alice`), one item of a list parameter.
fn settable(
    sig: &sluice_dsl::Signature,
    name: &str,
    per_participant: bool,
) -> Result<ParamSig, OptionError> {
    let kind = &sig.kind;
    let param = sig.param(name).ok_or_else(|| {
        let names = sig.params.iter().map(|p| p.name.as_str());
        let all: Vec<&str> = names.clone().collect();
        OptionError::suggest(
            format!("`{kind}` has no parameter `{name}`"),
            name,
            names,
            format!("`{kind}` takes: {}", all.join(", ")),
        )
    })?;
    Ok(match (&param.ty, per_participant) {
        (ParamType::List(t), true) => ParamSig {
            ty: (**t).clone(),
            ..param.clone()
        },
        _ => param.clone(),
    })
}

/// The node's constraints with `key` set to `arg` (a tone's `freq` below
/// half the graph rate, ...), as `check` applies them to the graph text.
fn constraints_hold(
    settings: &sluice_dsl::Settings,
    node: &sluice_dsl::PlanNode,
    sig: &sluice_dsl::Signature,
    key: &str,
    arg: &Arg,
) -> Result<(), OptionError> {
    let mut args = node.args.clone();
    args.set(key, arg.clone());
    let inputs: Vec<Option<sluice_dsl::MediaType>> = node
        .inputs
        .iter()
        .map(|p| p.connected.then_some(p.ty))
        .collect();
    let findings = sluice_dsl::check_instance(sig, &args, settings, &inputs);
    match findings.into_iter().find(|f| f.severity == Severity::Error) {
        Some(f) => Err(OptionError {
            message: format!("{} ({})", f.message, f.label),
            help: f.help,
        }),
        None => Ok(()),
    }
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
                std::process::exit(ABORTED);
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
    std::thread::spawn(move || {
        // The receiver is gone only if the loop below already returned.
        let _ = done_tx.send(running.wait());
    });
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
            Exit::Ok.into()
        }
        Err(e) => {
            for line in &e.errors {
                fail(line);
            }
            match &e.summary {
                Some(s) => eprintln!("{s}"),
                None => eprintln!("{} ticks before the failure", stats.ticks()),
            }
            Exit::Failed.into()
        }
    }
}
