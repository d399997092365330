//! The segmentation model's own thread. Inference takes longer than a
//! video frame may (13-16 ms for the landscape model on one core here, and
//! it allocates), so it never runs on the video path: the node hands the
//! worker a small RGB picture over a wait-free ring when the worker is
//! idle, and takes the finished mask back over another. One job circulates,
//! so the worker always works on the newest frame it could take, and the
//! newest mask wins.

use super::person::ModelChoice;
use rtrb::{Consumer, Producer, RingBuffer};
use sluice_ml::{ModelError, Segmenter, SelfieModel};
use sluice_runtime::NodeError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the idle worker sleeps between looks at its ring: well under a
/// frame, and no wake-up call is needed from the video thread.
const POLL: Duration = Duration::from_micros(500);

/// The buffers that travel between the node and the worker.
#[derive(Debug)]
pub struct Job {
    /// The picture at the model's size, RGBA.
    pub rgba: Vec<u8>,
    /// The model's mask for it, 0..=255.
    pub mask: Vec<u8>,
}

/// A running model thread (spawned at build, stopped and joined on drop).
pub struct MaskWorker {
    size: (usize, usize),
    idle: Option<Job>,
    jobs: Producer<Job>,
    done: Consumer<Job>,
    stop: Arc<AtomicBool>,
    failed: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The model's input size and health; the rings carry jobs.
impl std::fmt::Debug for MaskWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaskWorker")
            .field("size", &self.size)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl MaskWorker {
    /// Loads a vendored model (hash and output shape checked) and starts
    /// its thread: every way a model can be bad fails here, at build.
    pub fn load(model: ModelChoice, name: &str) -> Result<MaskWorker, NodeError> {
        let model = match model {
            ModelChoice::Landscape => SelfieModel::Landscape,
            ModelChoice::Square => SelfieModel::Square,
        };
        let seg = Segmenter::new(model).map_err(|e| model_error(name, &e))?;
        MaskWorker::spawn(seg, name)
    }

    /// Starts a worker for a loaded model after one trial run, so that a
    /// model that cannot run is an error now rather than a frozen mask.
    pub fn spawn(mut seg: Segmenter, name: &str) -> Result<MaskWorker, NodeError> {
        let (w, h) = seg.size();
        let mut job = Job {
            rgba: vec![0; w * h * 4],
            mask: vec![0; w * h],
        };
        seg.run_rgb(&job.rgba, 4, &mut job.mask)
            .map_err(|e| model_error(name, &e))?;
        let (jobs, mut todo) = RingBuffer::<Job>::new(1);
        let (mut finished, done) = RingBuffer::<Job>::new(1);
        let stop = Arc::new(AtomicBool::new(false));
        let failed = Arc::new(AtomicBool::new(false));
        let (s, f) = (Arc::clone(&stop), Arc::clone(&failed));
        let thread = std::thread::Builder::new()
            .name(format!("sluice-{name}"))
            .spawn(move || {
                while !s.load(Ordering::Acquire) {
                    let Ok(mut job) = todo.pop() else {
                        std::thread::park_timeout(POLL);
                        continue;
                    };
                    if seg.run_rgb(&job.rgba, 4, &mut job.mask).is_err() {
                        // Keep the last mask rather than publish garbage.
                        f.store(true, Ordering::Release);
                        break;
                    }
                    // The ring holds the only job there is: never full.
                    let _ = finished.push(job);
                }
            })
            .map_err(|e| NodeError::new(format!("{name}: cannot start the model thread: {e}")))?;
        Ok(MaskWorker {
            size: (w, h),
            idle: Some(job),
            jobs,
            done,
            stop,
            failed,
            thread: Some(thread),
        })
    }

    /// The model's input size, `(width, height)`.
    pub fn size(&self) -> (usize, usize) {
        self.size
    }

    /// The picture buffer to fill when the worker is idle (`None` while it
    /// works or after it failed).
    pub fn idle(&mut self) -> Option<&mut [u8]> {
        if self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.idle.as_mut().map(|j| j.rgba.as_mut_slice())
    }

    /// Hands the filled idle picture to the worker.
    pub fn submit(&mut self) {
        if let Some(job) = self.idle.take() {
            if let Err(rtrb::PushError::Full(job)) = self.jobs.push(job) {
                self.idle = Some(job);
            }
        }
    }

    /// The newest finished mask, if one arrived since the last call; the
    /// worker is idle again afterwards. Never waits.
    pub fn finished(&mut self) -> Option<&[u8]> {
        let job = self.done.pop().ok()?;
        self.idle = Some(job);
        self.idle.as_ref().map(|j| j.mask.as_slice())
    }

    /// Waits (sleeping) until the job in flight has finished. For tests and
    /// offline tools only: the video path never waits.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let start = std::time::Instant::now();
        while self.done.is_empty() && self.idle.is_none() {
            if start.elapsed() > timeout || self.failed.load(Ordering::Acquire) {
                return false;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        true
    }
}

impl Drop for MaskWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// A model error as a node error that names the node.
pub fn model_error(name: &str, e: &ModelError) -> NodeError {
    NodeError::new(format!("{name}: {e}"))
}
