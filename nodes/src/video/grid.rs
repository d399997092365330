//! `grid(columns, size)`: a gallery view of any number of i420 videos.
//! Each video fills its cell (cropped to the cell's shape, as calling
//! apps' galleries do) inside a thin black gap; an unfinished last row is
//! centred.

use super::scale::{Fit, FrameScaler, Rect};
use super::{formats, video_input, video_port};
use crate::sig::{int, optional, output, param, signature as sig, variadic_input};
use sluice_dsl::{
    Arg, Args, Constraint, Finding, MediaType, OutType, ParamType, PixelFormat, Ports, Role,
    RuleInput, Signature,
};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};

/// Gap between cells, in pixels (even, so chroma stays aligned).
const GAP: usize = 4;

/// The `grid` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "grid",
        "Gallery view: lays out every connected video in a grid of `columns` \
         (default: the smallest square that fits) on a `size` frame. Each video \
         fills its cell, cropped to the cell's shape; the last row is centred.",
        Role::Process,
        ports,
    );
    s.params = vec![
        optional("columns", int(1, 64), "Cells per row (default: square)"),
        param(
            "size",
            ParamType::Size {
                max: super::MAX_SIDE,
            },
            Arg::Size(1280, 720),
            "Output size",
        ),
    ];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![variadic_input("in", formats(&[PixelFormat::I420]))],
        outputs: vec![output("out", OutType::Derived(derive))],
        constraints: vec![Constraint::Rule(cells_fit)],
        ..Ports::default()
    })
}

/// A frame too small for its cells would make `build` place cells past
/// its edge: each needs the gap plus two pixels a side.
fn cells_fit(r: &RuleInput) -> Vec<Finding> {
    let n = r.inputs.len();
    let (w, h) = match r.args.need_size("size") {
        Ok(size) => size,
        Err(e) => return crate::sig::arg_error(e),
    };
    let columns = match r.args.num("columns") {
        Some(c) => c as usize,
        None => (n as f64).sqrt().ceil() as usize,
    };
    let (w, h) = (w as usize, h as usize);
    let fits = cells(n, columns, w, h)
        .iter()
        .all(|c| c.x + c.w <= w && c.y + c.h <= h);
    if fits {
        return Vec::new();
    }
    let cols = columns.clamp(1, n.max(1));
    let rows = n.div_ceil(cols);
    let side = GAP + 2;
    vec![Finding::error(
        Some("size"),
        format!("a {w}x{h} frame is too small for {n} videos in {cols} columns"),
        format!("each cell needs at least {side}x{side} px"),
    )
    .with_help(format!(
        "make `size` at least {}x{}",
        side * cols,
        side * rows
    ))]
}

fn derive(args: &Args, inputs: &[Option<MediaType>]) -> Result<MediaType, String> {
    let mut v = video_input(inputs, 0)?;
    let (w, h) = args.need_size("size")?;
    v.width = w;
    v.height = h;
    v.format = PixelFormat::I420;
    Ok(MediaType::Video(v))
}

/// The cell rectangles for `n` videos in `columns` on a `w x h` frame.
pub fn cells(n: usize, columns: usize, w: usize, h: usize) -> Vec<Rect> {
    let cols = columns.clamp(1, n.max(1));
    let rows = n.div_ceil(cols).max(1);
    let (cw, ch) = ((w / cols) & !1, (h / rows) & !1);
    let y0 = ((h - ch * rows) / 2) & !1;
    (0..n)
        .map(|i| {
            let (r, c) = (i / cols, i % cols);
            let in_row = if r == rows - 1 { n - r * cols } else { cols };
            let x0 = ((w - cw * in_row) / 2) & !1;
            Rect {
                x: x0 + c * cw + GAP / 2,
                y: y0 + r * ch + GAP / 2,
                w: cw.saturating_sub(GAP).max(2),
                h: ch.saturating_sub(GAP).max(2),
            }
        })
        .collect()
}

/// Builds a `grid` node: one scaler per input, into its cell.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let out = video_port(ctx.outputs, 0)?;
    let n = ctx.inputs.len();
    if n == 0 {
        return Err(NodeError::new("grid needs at least one video"));
    }
    let columns = match ctx.args.num("columns") {
        Some(c) => c as usize,
        None => (n as f64).sqrt().ceil() as usize,
    };
    let (w, h) = (out.width as usize, out.height as usize);
    let scalers = cells(n, columns, w, h)
        .into_iter()
        .enumerate()
        .map(|(i, rect)| FrameScaler::new(video_port(ctx.inputs, i)?, out, rect, Fit::Crop))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Box::new(Grid { scalers }))
}

/// Composes the gallery.
struct Grid {
    scalers: Vec<FrameScaler>,
}

impl Node for Grid {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        io.video_out(0).fill_black();
        for (i, scaler) in self.scalers.iter_mut().enumerate() {
            if let Some(src) = io.video_in(i) {
                scaler.run(src, io.video_out(0));
            }
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, video, video_types, vt};
    use sluice_runtime::testing::NodeHarness;
    use sluice_runtime::VideoFrame;

    #[test]
    fn cells_tile_without_overlap_and_centre_the_last_row() {
        let c = cells(5, 3, 1280, 720);
        assert_eq!(c.len(), 5);
        for (i, a) in c.iter().enumerate() {
            assert!(a.x + a.w <= 1280 && a.y + a.h <= 720);
            assert!(a.x % 2 == 0 && a.y % 2 == 0 && a.w % 2 == 0 && a.h % 2 == 0);
            for b in &c[i + 1..] {
                let apart =
                    a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
                assert!(apart, "{a:?} {b:?}");
            }
        }
        // Two videos in the last row of three columns sit centred.
        let mid = (c[3].x + c[4].x + c[4].w) / 2;
        assert!(mid.abs_diff(640) <= 4, "{mid}");
    }

    #[test]
    fn each_input_lands_in_its_cell() {
        let shades = [40u8, 120, 200];
        let inputs: Vec<VideoFrame> = shades
            .iter()
            .map(|&v| {
                let mut f = VideoFrame::new(vt(PixelFormat::I420, 64, 48));
                f.plane_mut(0).fill(v);
                f
            })
            .collect();
        let a = args_with_defaults(
            &signature(),
            &[("columns", Arg::Num(2.0)), ("size", Arg::Size(200, 100))],
        );
        let tys: Vec<_> = inputs.iter().map(|f| f.ty()).collect();
        let mut n = NodeHarness::of(signature(), build)
            .args(a.clone())
            .inputs(&video_types(&tys))
            .build()
            .unwrap();
        let frames: Vec<sluice_runtime::Frame> = inputs.iter().map(video).collect();
        let refs: Vec<&sluice_runtime::Frame> = frames.iter().collect();
        n.run(&refs);
        let out = n.video(0);
        for (rect, &v) in cells(3, 2, 200, 100).iter().zip(&shades) {
            let (cx, cy) = (rect.x + rect.w / 2, rect.y + rect.h / 2);
            assert_eq!(out.plane(0)[cy * 200 + cx], v);
        }
        // The gap stays black.
        assert_eq!(out.plane(0)[0], 16);
    }
}
