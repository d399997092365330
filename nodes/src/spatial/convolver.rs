//! Uniformly partitioned FFT convolution (overlap-save) of many mono
//! sources with per-direction stereo HRIRs, summed in the frequency domain.
//!
//! The partition length is the tick length `n`; transforms are `2n` real
//! points. Each source keeps a frequency-domain delay line of its last `p`
//! input spectra; per tick it costs one forward FFT plus `2p` complex
//! multiply-accumulates into a shared stereo spectrum. Only the mix is
//! transformed back (two inverse FFTs per tick, whatever the source count).
//!
//! Each source renders with its own filter pair, blended from the bank's
//! grid directions (and scaled for distance) only when it moves, so the
//! per-tick cost does not depend on where the source is. A source that
//! moves in a tick is accumulated twice, with the old filters into a
//! fade-out spectrum and the new ones into a fade-in spectrum; the output
//! crossfades linearly between the two over the tick. Both are exact
//! static-filter outputs, so the move is as smooth as the crossfade and
//! costs extra only in ticks where something moves.

use super::hrir::{HrirSet, Weights};
use crate::kernels::spectrum::cmac;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Every grid direction's HRIR pair as partition spectra, split re/im,
/// with the inverse FFT's `1 / 2n` folded in.
pub struct FilterBank {
    directions: usize,
    parts: usize,
    stride: usize,
    re: Vec<f32>,
    im: Vec<f32>,
}

/// The bank's shape, not its spectra.
impl std::fmt::Debug for FilterBank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterBank")
            .field("directions", &self.directions)
            .field("parts", &self.parts)
            .field("stride", &self.stride)
            .finish_non_exhaustive()
    }
}

impl FilterBank {
    /// Transforms `set` for partitions of `block` taps (build time).
    pub fn new(set: &HrirSet, block: usize) -> FilterBank {
        let parts = set.len().div_ceil(block).max(1);
        let stride = (block + 1).next_multiple_of(8);
        let directions = set.directions();
        let size = directions * 2 * parts * stride;
        let mut bank = FilterBank {
            directions,
            parts,
            stride,
            re: vec![0.0; size],
            im: vec![0.0; size],
        };
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(2 * block);
        let mut time = fft.make_input_vec();
        let mut spec = fft.make_output_vec();
        let scale = 1.0 / (2 * block) as f32;
        for dir in 0..directions {
            for (ear, ir) in [set.left(dir), set.right(dir)].into_iter().enumerate() {
                for p in 0..parts {
                    time.fill(0.0);
                    let taps = &ir[(p * block).min(ir.len())..((p + 1) * block).min(ir.len())];
                    time[..taps.len()].copy_from_slice(taps);
                    fft.process(&mut time, &mut spec)
                        .expect("buffers made by the plan");
                    let at = bank.offset(dir, ear, p);
                    for (k, c) in spec.iter().enumerate() {
                        bank.re[at + k] = c.re * scale;
                        bank.im[at + k] = c.im * scale;
                    }
                }
            }
        }
        bank
    }

    /// Partitions per HRIR.
    pub fn parts(&self) -> usize {
        self.parts
    }

    fn offset(&self, dir: usize, ear: usize, part: usize) -> usize {
        ((dir * 2 + ear) * self.parts + part) * self.stride
    }
}

/// One source's convolution state: its last input block, the spectra of
/// its last `parts` blocks, and its current and previous filter pairs.
pub struct SourceConv {
    prev: Vec<f32>,
    fdl_re: Vec<f32>,
    fdl_im: Vec<f32>,
    head: usize,
    quiet: usize,
    /// Two filter pairs (current and the one it moved from), each two
    /// ears of `parts` spectra of `stride` bins.
    filt_re: Vec<f32>,
    filt_im: Vec<f32>,
    cur: usize,
    moving: bool,
}

/// Where the source is in its delay line, not the spectra.
impl std::fmt::Debug for SourceConv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceConv")
            .field("head", &self.head)
            .field("quiet", &self.quiet)
            .field("moving", &self.moving)
            .finish_non_exhaustive()
    }
}

impl SourceConv {
    /// State for a source (build time).
    pub fn new(bank: &FilterBank, block: usize) -> SourceConv {
        let spectra = bank.parts * bank.stride;
        SourceConv {
            prev: vec![0.0; block],
            fdl_re: vec![0.0; spectra],
            fdl_im: vec![0.0; spectra],
            head: 0,
            quiet: usize::MAX,
            filt_re: vec![0.0; 4 * spectra],
            filt_im: vec![0.0; 4 * spectra],
            cur: 0,
            moving: false,
        }
    }

    /// Forgets all past input (a new participant in this slot).
    pub fn reset(&mut self) {
        self.prev.fill(0.0);
        self.fdl_re.fill(0.0);
        self.fdl_im.fill(0.0);
        self.quiet = usize::MAX;
        self.moving = false;
    }

    /// Whether the source still has sound in its filters (a tail to play).
    pub fn ringing(&self, bank: &FilterBank) -> bool {
        self.quiet <= bank.parts
    }

    /// Points the source at a new place: its filter pair becomes the
    /// bank's directions blended by `weights`, each ear scaled by
    /// `gains`. With `glide`, the next [`Convolver::add`] crossfades from
    /// the previous pair; without, the change is immediate (a newcomer).
    pub fn aim(&mut self, bank: &FilterBank, weights: &Weights, gains: [f32; 2], glide: bool) {
        if glide {
            self.cur ^= 1;
            self.moving = true;
        }
        let spectra = bank.parts * bank.stride;
        for (ear, &gain) in gains.iter().enumerate() {
            let at = (self.cur * 2 + ear) * spectra;
            let dst_re = &mut self.filt_re[at..at + spectra];
            let dst_im = &mut self.filt_im[at..at + spectra];
            dst_re.fill(0.0);
            dst_im.fill(0.0);
            for &(dir, w) in weights.iter().filter(|x| x.1 != 0.0) {
                let g = w * gain;
                let from = bank.offset(dir.min(bank.directions - 1), ear, 0);
                let src_re = &bank.re[from..from + spectra];
                let src_im = &bank.im[from..from + spectra];
                for (d, s) in dst_re.iter_mut().zip(src_re) {
                    *d += g * s;
                }
                for (d, s) in dst_im.iter_mut().zip(src_im) {
                    *d += g * s;
                }
            }
        }
    }

    /// Partition `part` of one ear of filter pair `which` (0 or 1).
    fn filter(
        &self,
        which: usize,
        ear: usize,
        part: usize,
        stride: usize,
        parts: usize,
    ) -> (&[f32], &[f32]) {
        let at = ((which * 2 + ear) * parts + part) * stride;
        (
            &self.filt_re[at..at + stride],
            &self.filt_im[at..at + stride],
        )
    }
}

/// A stereo spectrum accumulator (split re/im per ear).
struct Accum {
    re: [Vec<f32>; 2],
    im: [Vec<f32>; 2],
}

impl Accum {
    fn new(stride: usize) -> Accum {
        Accum {
            re: [vec![0.0; stride], vec![0.0; stride]],
            im: [vec![0.0; stride], vec![0.0; stride]],
        }
    }

    fn clear(&mut self) {
        for v in self.re.iter_mut().chain(self.im.iter_mut()) {
            v.fill(0.0);
        }
    }
}

/// The per-node renderer: FFT plans, scratch and the three accumulators
/// (steady, fading out, fading in), all allocated at build.
pub struct Convolver {
    block: usize,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
    time: Vec<f32>,
    spec: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    steady: Accum,
    fade_out: Accum,
    fade_in: Accum,
    moved: bool,
    ear_out: Vec<f32>,
}

/// The block size; the FFT plans and accumulators are opaque.
impl std::fmt::Debug for Convolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Convolver")
            .field("block", &self.block)
            .field("moved", &self.moved)
            .finish_non_exhaustive()
    }
}

/// A linear gain ramp over one block's input: `from` at the first sample
/// to `to` at the last (1 -> 1 is no ramp).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    /// Gain at the first sample.
    pub from: f32,
    /// Gain at the last sample.
    pub to: f32,
}

impl Ramp {
    /// No change.
    pub const FLAT: Ramp = Ramp { from: 1.0, to: 1.0 };
}

impl Convolver {
    /// A renderer for ticks of `block` samples with `bank`'s partitions.
    pub fn new(bank: &FilterBank, block: usize) -> Convolver {
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(2 * block);
        let inv = planner.plan_fft_inverse(2 * block);
        let scratch_len = fwd.get_scratch_len().max(inv.get_scratch_len());
        Convolver {
            block,
            time: fwd.make_input_vec(),
            spec: fwd.make_output_vec(),
            scratch: vec![Complex::default(); scratch_len],
            fwd,
            inv,
            steady: Accum::new(bank.stride),
            fade_out: Accum::new(bank.stride),
            fade_in: Accum::new(bank.stride),
            moved: false,
            ear_out: vec![0.0; 4 * block],
        }
    }

    /// Starts a tick: clears the accumulators.
    pub fn begin(&mut self) {
        self.steady.clear();
        if self.moved {
            self.fade_out.clear();
            self.fade_in.clear();
            self.moved = false;
        }
    }

    /// Adds one source's block (`None`: silence) through its filter pair,
    /// crossfading from the previous pair if it was aimed with a glide.
    pub fn add(
        &mut self,
        bank: &FilterBank,
        src: &mut SourceConv,
        input: Option<&[f32]>,
        ramp: Ramp,
    ) {
        let moving = std::mem::take(&mut src.moving);
        let n = self.block;
        let mut loud = false;
        let (old, new) = self.time.split_at_mut(n);
        old.copy_from_slice(&src.prev);
        match input {
            Some(x) if ramp == Ramp::FLAT => {
                new.copy_from_slice(x);
                loud = x.iter().any(|&v| v != 0.0);
            }
            Some(x) => {
                let step = (ramp.to - ramp.from) / (n.max(2) - 1) as f32;
                for (i, (d, &s)) in new.iter_mut().zip(x).enumerate() {
                    *d = s * (ramp.from + step * i as f32);
                    loud |= *d != 0.0;
                }
            }
            None => new.fill(0.0),
        }
        src.prev.copy_from_slice(new);
        src.quiet = if loud { 0 } else { src.quiet.saturating_add(1) };
        if src.quiet > bank.parts {
            if src.quiet == bank.parts + 1 {
                src.fdl_re.fill(0.0);
                src.fdl_im.fill(0.0);
            }
            return;
        }
        self.fwd
            .process_with_scratch(&mut self.time, &mut self.spec, &mut self.scratch)
            .expect("buffers made by the plan");
        src.head = (src.head + 1) % bank.parts;
        let at = src.head * bank.stride;
        let bins = self.spec.len();
        let re = &mut src.fdl_re[at..at + bins];
        let im = &mut src.fdl_im[at..at + bins];
        for ((c, r), i) in self.spec.iter().zip(re).zip(im) {
            *r = c.re;
            *i = c.im;
        }
        if moving {
            accumulate(bank, src, src.cur ^ 1, &mut self.fade_out);
            accumulate(bank, src, src.cur, &mut self.fade_in);
            self.moved = true;
        } else {
            accumulate(bank, src, src.cur, &mut self.steady);
        }
    }

    /// Ends a tick: transforms the mix back and writes it to `left` and
    /// `right` (each `block` samples, overwritten).
    pub fn finish(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = self.block;
        for (ear, out) in [left, right].into_iter().enumerate() {
            self.inverse(ear, Which::Steady, 0);
            out.copy_from_slice(&self.ear_out[n..2 * n]);
            if self.moved {
                self.inverse(ear, Which::FadeOut, 0);
                self.inverse(ear, Which::FadeIn, 1);
                let (old, new) = self.ear_out.split_at(2 * n);
                let (old, new) = (&old[n..], &new[n..]);
                let step = 1.0 / n as f32;
                for (i, o) in out.iter_mut().enumerate() {
                    let r = (i + 1) as f32 * step;
                    *o += old[i] + r * (new[i] - old[i]);
                }
            }
        }
    }

    /// Inverse-transforms one ear of an accumulator into half `half` of
    /// `ear_out` (each half is `2n` samples; the last `n` are valid).
    fn inverse(&mut self, ear: usize, which: Which, half: usize) {
        let acc = match which {
            Which::Steady => &self.steady,
            Which::FadeOut => &self.fade_out,
            Which::FadeIn => &self.fade_in,
        };
        let (re, im) = (&acc.re[ear], &acc.im[ear]);
        for (k, c) in self.spec.iter_mut().enumerate() {
            *c = Complex::new(re[k], im[k]);
        }
        let last = self.spec.len() - 1;
        self.spec[0].im = 0.0;
        self.spec[last].im = 0.0;
        let m = 2 * self.block;
        self.inv
            .process_with_scratch(
                &mut self.spec,
                &mut self.ear_out[half * m..(half + 1) * m],
                &mut self.scratch,
            )
            .expect("buffers made by the plan");
    }
}

/// Which accumulator to transform back.
#[derive(Clone, Copy)]
enum Which {
    Steady,
    FadeOut,
    FadeIn,
}

/// Multiplies the source's delay line by its filter pair `which` into `acc`.
fn accumulate(bank: &FilterBank, src: &SourceConv, which: usize, acc: &mut Accum) {
    let (parts, stride) = (bank.parts, bank.stride);
    for p in 0..parts {
        let slot = (src.head + parts - p) % parts;
        let x_re = &src.fdl_re[slot * stride..(slot + 1) * stride];
        let x_im = &src.fdl_im[slot * stride..(slot + 1) * stride];
        for ear in 0..2 {
            let (h_re, h_im) = src.filter(which, ear, p, stride, parts);
            cmac(&mut acc.re[ear], &mut acc.im[ear], x_re, x_im, h_re, h_im);
        }
    }
}
