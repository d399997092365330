//! A node at run time: the node, its ports' edge ends, and the one step the
//! executors call per tick. Nothing here allocates after build.

use crate::execution::fade::Fade;
use crate::node::{Clock, Flow, Node, PortIo};
use crate::transport::edge::{Input, Output, Poll};
use crate::transport::frame::Frame;
use sluice_dsl::Domain;

/// A clock domain's tick arithmetic, exact in integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DomainClock {
    pub domain: Domain,
    /// Tick `k` starts at `k * num / den` nanoseconds.
    num: u128,
    den: u128,
}

impl DomainClock {
    pub fn new(domain: Domain, rate: u32, frame_samples: u32) -> DomainClock {
        let (num, den) = match domain {
            Domain::Audio => (frame_samples as u128 * 1_000_000_000, rate.max(1) as u128),
            Domain::Video { fps_num, fps_den } => {
                (fps_den as u128 * 1_000_000_000, fps_num.max(1) as u128)
            }
        };
        DomainClock { domain, num, den }
    }

    /// Start of tick `k`, in nanoseconds of media time.
    pub fn time(&self, k: u64) -> u64 {
        (k as u128 * self.num / self.den) as u64
    }

    /// The first tick that starts at or after `t` nanoseconds.
    pub fn first_tick_at(&self, t: u64) -> u64 {
        (t as u128 * self.den).div_ceil(self.num) as u64
    }

    /// Empty real-time counters named for this domain (`audio`,
    /// `video 30 fps`).
    pub fn stats(&self) -> crate::observation::stats::DomainStats {
        crate::observation::stats::DomainStats::new(match self.domain {
            Domain::Audio => "audio".to_string(),
            Domain::Video {
                fps_num,
                fps_den: 1,
            } => format!("video {fps_num} fps"),
            Domain::Video { fps_num, fps_den } => format!("video {fps_num}/{fps_den} fps"),
        })
    }

    /// Length of one tick in nanoseconds (rounded down).
    pub fn period(&self) -> u64 {
        (self.num / self.den) as u64
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// `process` ran.
    Ran,
    /// An input had no frame yet (or, with back-pressure, an output ring was
    /// full): nothing happened.
    Idle,
    /// The node has ended (now or before).
    Ended,
}

/// One node with the ends of its edges.
pub(crate) struct Task {
    pub name: String,
    pub kind: String,
    /// Index into the stats' node table.
    pub stat: usize,
    /// Clock domain index and its arithmetic.
    pub domain: usize,
    pub clock: DomainClock,
    /// Processing thread (0 unless real-time).
    pub thread: usize,
    /// Whether the node does file or socket I/O.
    pub io: bool,
    pub node: Box<dyn Node>,
    pub inputs: Box<[Option<Input>]>,
    pub outputs: Box<[Output]>,
    in_ptrs: Box<[*const Frame]>,
    out_ptrs: Box<[*mut Frame]>,
    source: bool,
    pub ended: bool,
    /// Calls to `process` so far.
    pub calls: u64,
    /// Smoothed nanoseconds per call (decides whether a level is worth
    /// spreading over threads).
    pub cost_ns: u64,
    rate: u32,
    frame_samples: usize,
    /// The instance this one replaced at a hot reload, fading out.
    pub fade: Option<Fade>,
}

// SAFETY: the raw pointers are scratch space filled and used within one
// `step` call; they point into pools kept alive by this task's own `Input`
// and `Output` handles, which are `Send`. Nothing else in a task is tied to a
// thread.
unsafe impl Send for Task {}

/// The parts a task is built from.
pub(crate) struct TaskParts {
    pub name: String,
    pub kind: String,
    pub stat: usize,
    pub domain: usize,
    pub clock: DomainClock,
    pub thread: usize,
    pub io: bool,
    pub node: Box<dyn Node>,
    pub inputs: Vec<Option<Input>>,
    pub outputs: Vec<Output>,
    pub rate: u32,
    pub frame_samples: usize,
}

impl Task {
    pub fn new(p: TaskParts) -> Task {
        let n_in = p.inputs.len();
        let n_out = p.outputs.len();
        let source = p.inputs.iter().all(Option::is_none);
        Task {
            name: p.name,
            kind: p.kind,
            stat: p.stat,
            domain: p.domain,
            clock: p.clock,
            thread: p.thread,
            io: p.io,
            node: p.node,
            inputs: p.inputs.into_boxed_slice(),
            outputs: p.outputs.into_boxed_slice(),
            in_ptrs: vec![std::ptr::null(); n_in].into_boxed_slice(),
            out_ptrs: vec![std::ptr::null_mut(); n_out].into_boxed_slice(),
            source,
            ended: false,
            calls: 0,
            cost_ns: 0,
            rate: p.rate,
            frame_samples: p.frame_samples,
            fade: None,
        }
    }

    /// A copy of a frame of each output, shaped as the node writes them
    /// (a crossfade's scratch frames). Allocates: reload swaps only.
    pub fn output_frames(&mut self) -> Vec<Frame> {
        self.outputs
            .iter_mut()
            .filter_map(|o| o.frame_mut().map(|f| f.clone()))
            .collect()
    }

    /// Whether the node has no connected inputs (it runs every tick).
    pub fn is_source(&self) -> bool {
        self.source
    }

    /// Ends the node: its readers see the end after the frames already sent;
    /// frames it still holds go back to their pools.
    pub fn end(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        for o in self.outputs.iter_mut() {
            o.end();
        }
        for i in self.inputs.iter_mut().flatten() {
            i.close();
        }
    }

    /// Runs one tick if the inputs are there. `tick` is the domain's tick
    /// (index, time) for nodes on a domain thread; `None` on the I/O thread,
    /// where a node's time comes from its input frames. `stopping` ends a
    /// source instead of calling it; `backpressure` waits for room on every
    /// output ring instead of dropping (non-real-time nodes only).
    #[inline]
    pub fn step(&mut self, tick: Option<(u64, u64)>, stopping: bool, backpressure: bool) -> Step {
        if self.ended {
            return Step::Ended;
        }
        let first_time = if self.source {
            if stopping {
                self.end();
                return Step::Ended;
            }
            None
        } else {
            match self.poll_inputs() {
                Ok(t) => t,
                Err(Step::Ended) if self.node.trails() => None,
                Err(Step::Ended) => {
                    self.end();
                    return Step::Ended;
                }
                Err(step) => return step,
            }
        };
        if backpressure && !self.outputs.iter().all(Output::has_room) {
            return Step::Idle;
        }
        let clock = match (tick, self.source) {
            (_, true) => (self.calls, self.clock.time(self.calls)),
            (Some(t), false) => t,
            (None, false) => (self.calls, first_time.unwrap_or(0)),
        };
        if !self.take_outputs(clock.1) {
            return Step::Idle;
        }
        let flow = self.call(clock);
        for o in self.outputs.iter_mut() {
            o.publish();
        }
        for i in self.inputs.iter_mut().flatten() {
            i.consumed();
        }
        self.calls += 1;
        if flow == Flow::Ended {
            self.end();
        }
        Step::Ran
    }

    /// Polls every connected input, pointing `in_ptrs` at the frames held:
    /// the first frame's time, or why the node does not run (an input is
    /// still empty: `Idle`; every input has ended: `Ended`, and every
    /// pointer is null, so a node that trails runs with no inputs).
    #[inline]
    fn poll_inputs(&mut self) -> Result<Option<u64>, Step> {
        let mut first_time = None;
        let mut live = false;
        let mut ready = true;
        for (slot, input) in self.inputs.iter_mut().enumerate() {
            self.in_ptrs[slot] = std::ptr::null();
            let Some(input) = input else { continue };
            match input.poll() {
                Poll::Ready => {
                    live = true;
                    if let Some(f) = input.frame() {
                        first_time.get_or_insert(f.time());
                        self.in_ptrs[slot] = f as *const Frame;
                    }
                }
                Poll::Empty => {
                    live = true;
                    ready = false;
                }
                Poll::Ended => {}
            }
        }
        if !live {
            return Err(Step::Ended);
        }
        if ready {
            Ok(first_time)
        } else {
            Err(Step::Idle)
        }
    }

    /// Takes a free frame from each output's pool, stamped with `time`
    /// (event frames cleared), into `out_ptrs`. The pools are sized so a
    /// frame is always free; were that ever wrong, the tick is skipped
    /// (false) rather than writing a shared frame.
    #[inline]
    fn take_outputs(&mut self, time: u64) -> bool {
        for (o, ptr) in self.outputs.iter_mut().zip(self.out_ptrs.iter_mut()) {
            let Some(p) = o.frame_ptr() else {
                self.outputs.iter_mut().for_each(Output::abandon);
                return false;
            };
            // SAFETY: `p` is this output's taken, unshared frame.
            let frame = unsafe { &mut *p };
            frame.set_time(time);
            if let Frame::Events(e) = frame {
                e.clear();
            }
            *ptr = p;
        }
        true
    }

    /// Lends the node its ports and calls it (and the instance fading out
    /// beside it, if any).
    #[inline]
    fn call(&mut self, (tick, time): (u64, u64)) -> Flow {
        // SAFETY: `Option<&Frame>` has the layout of `*const Frame` with
        // null as `None` (guaranteed by the null-pointer optimisation);
        // every non-null pointer is a frame this task's inputs hold a
        // reader count on, so it stays valid and unwritten for the call.
        let ins: &[Option<&Frame>] = unsafe {
            std::slice::from_raw_parts(
                self.in_ptrs.as_ptr() as *const Option<&Frame>,
                self.in_ptrs.len(),
            )
        };
        // SAFETY: every pointer was just set by `take_outputs` from
        // `frame_ptr`: non-null, each into a different output's pool (so
        // no two alias, and none aliases an input, which comes from other
        // nodes' pools), and exclusively ours until `publish`. `&mut Frame`
        // has the layout of `*mut Frame`.
        let outs: &mut [&mut Frame] = unsafe {
            std::slice::from_raw_parts_mut(
                self.out_ptrs.as_mut_ptr() as *mut &mut Frame,
                self.out_ptrs.len(),
            )
        };
        let clock = Clock {
            tick,
            time,
            rate: self.rate,
            frame_samples: self.frame_samples,
        };
        let flow = self.node.process(&mut PortIo::new(ins, outs, clock));
        if let Some(fade) = &mut self.fade {
            fade.run(ins, outs, clock);
        }
        flow
    }
}

/// A placeholder for a node that moves in at the swap. It never runs: the
/// swap replaces every one.
struct Vacant;

impl Node for Vacant {
    fn process(&mut self, _: &mut PortIo<'_, '_>) -> Flow {
        Flow::Ended
    }
}

/// A vacant node (zero-sized: boxing it does not allocate).
pub(crate) fn vacant() -> Box<dyn Node> {
    Box::new(Vacant)
}
