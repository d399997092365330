//! `sluice run --watch`: re-reads the graph file when it changes, checks
//! it, and hands the new plan to the running engine (see
//! `sluice_runtime::reload`). A bad edit is reported like `sluice check`
//! would and the running graph goes on.
//!
//! The file is polled (four times a second) rather than watched through
//! the OS: it works the same on every platform and through editors that
//! replace the file instead of writing it. A change is taken once the text
//! has stayed the same for one more poll, so a save caught half-written is
//! not reported as an error.

use super::source::{build_failed, read_path, report, summary};
use sluice_runtime::{Registry, ReloadError, Reloader, Stats};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the file is read.
const POLL: Duration = Duration::from_millis(250);

/// Follows one graph file for a running engine.
pub struct Watcher {
    path: PathBuf,
    reloader: Reloader,
    registry: Registry,
    /// The text the running graph came from.
    running: String,
    /// A new text seen at the last poll, waiting to be seen again.
    settling: Option<String>,
    last_poll: Instant,
    /// `--realtime` was given: it holds for every reloaded version too.
    realtime: bool,
}

impl Watcher {
    /// Follows `path`, whose current text `running` is what runs
    /// (`realtime`: forced on, as `--realtime` did for the first version).
    pub fn new(
        path: PathBuf,
        running: String,
        reloader: Reloader,
        registry: Registry,
        realtime: bool,
    ) -> Watcher {
        Watcher {
            realtime,
            path,
            reloader,
            registry,
            running,
            settling: None,
            last_poll: Instant::now(),
        }
    }

    /// Reads the file if it is time to; on a settled change, checks and
    /// hands it over, printing what happened through `say` (so a progress
    /// bar can step aside). Returns the new plan's statistics when one was
    /// handed over.
    pub fn poll(&mut self, say: &dyn Fn(&dyn Fn())) -> Option<Arc<Stats>> {
        if self.last_poll.elapsed() < POLL {
            return None;
        }
        self.last_poll = Instant::now();
        let file = read_path(&self.path).ok()?;
        if file.text == self.running {
            self.settling = None;
            return None;
        }
        if self.settling.as_deref() != Some(file.text.as_str()) {
            self.settling = Some(file.text.clone());
            return None;
        }
        self.settling = None;
        self.running = file.text.clone();
        let checked = sluice_dsl::check(&file, &self.registry);
        let Some(mut plan) = checked.plan else {
            say(&|| {
                report(&checked.diagnostics, &file);
                summary(&file, &checked.diagnostics);
                eprintln!("note: the running graph goes on; save a fixed file to reload");
            });
            return None;
        };
        say(&|| report(&checked.diagnostics, &file));
        plan.settings.realtime |= self.realtime;
        match self.reloader.prepare(&plan, &self.registry) {
            Ok(changes) => {
                say(&|| eprintln!("reloaded `{}`: {changes}", self.path.display()));
                Some(self.reloader.stats())
            }
            Err(ReloadError::Build(e)) => {
                say(&|| {
                    build_failed(&e, &plan, &file);
                    eprintln!("note: the running graph goes on; save a fixed file to reload");
                });
                None
            }
            Err(e) => {
                say(&|| {
                    eprintln!(
                        "error: reload of `{}`: {e}; the running graph goes on",
                        self.path.display()
                    )
                });
                None
            }
        }
    }
}
