//! `video_test(size, fps, frames, pattern)`: a synthetic camera. Frames are
//! i420 because that is what cameras and codecs deliver and what `y4m_out`
//! writes: a consumer that wants RGBA gets a conversion inserted, while an
//! i420 pipeline (blur, y4m_out) moves 1.5 bytes per pixel instead of 4.

use super::fps_fraction;
use super::patterns;
use super::sprite::Sprite;
use crate::kernels::color::{rgba_to_i420, YuvSpec};
use crate::sig::{choice, choice_arg, int, optional, output, param, quantity, signature as sig};
use sluice_dsl::{
    Arg, Args, MediaType, OutType, ParamType, PixelFormat, Ports, Role, Signature, UnitKind,
    VideoType,
};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, VideoFrame};

/// The `video_test` kind.
pub fn signature() -> Signature {
    let mut s = sig(
        "video_test",
        "A synthetic i420 camera. Patterns: `bars` (75% colour bars and a luma \
         ramp), `gradient`, `checker` (scrolling squares), `moving` (a \
         head-and-shoulders figure swaying in front of a still, textured room, \
         for background blur and motion masks). Endless unless `frames` is given.",
        Role::VideoSource,
        ports,
    );
    s.params = vec![
        param(
            "size",
            ParamType::Size {
                max: super::MAX_SIDE,
            },
            Arg::Size(1280, 720),
            "Frame size",
        ),
        param(
            "fps",
            quantity(UnitKind::Fps, 0.1, 1000.0),
            Arg::Num(30.0),
            "Frame rate",
        ),
        optional(
            "frames",
            int(1, i64::from(u32::MAX)),
            "Frames to produce (endless when absent)",
        ),
        param(
            "pattern",
            choice(&["bars", "gradient", "moving", "checker"]),
            choice_arg("bars"),
            "What to draw",
        ),
    ];
    s.endless = |a| a.get("frames").is_none();
    s
}

fn out_type(args: &Args) -> Result<VideoType, String> {
    let (width, height) = args.need_size("size")?;
    Ok(VideoType {
        format: PixelFormat::I420,
        width,
        height,
        fps: fps_fraction(args.need_num("fps")?),
    })
}

fn ports(args: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: Vec::new(),
        outputs: vec![output(
            "out",
            OutType::Fixed(MediaType::Video(out_type(args)?)),
        )],
        ..Ports::default()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    Bars,
    Gradient,
    Moving,
    Checker,
}

/// An RGBA picture converted once to an i420 frame.
fn still(ty: VideoType, rgba: &[u8]) -> VideoFrame {
    let mut f = VideoFrame::new(ty);
    let (w, h) = (ty.width as usize, ty.height as usize);
    let [y, u, v] = f.planes_mut();
    rgba_to_i420(rgba, w, h, y, u, v, YuvSpec::default());
    f
}

/// Builds a `video_test` node: draws every still picture now.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let ty = out_type(ctx.args)?;
    let (w, h) = (ty.width as usize, ty.height as usize);
    let pattern = match ctx.args.need_str("pattern")? {
        "gradient" => Pattern::Gradient,
        "moving" => Pattern::Moving,
        "checker" => Pattern::Checker,
        _ => Pattern::Bars,
    };
    let (background, sprite) = match pattern {
        Pattern::Bars => (Some(still(ty, &patterns::bars(w, h))), None),
        Pattern::Gradient => (Some(still(ty, &patterns::gradient(w, h))), None),
        Pattern::Moving => {
            let (sw, sh, rgba) = patterns::person(h);
            let mut s = Sprite::new(sw, sh);
            s.rgba_mut().copy_from_slice(&rgba);
            s.prepare(255, YuvSpec::default());
            (Some(still(ty, &patterns::room(w, h))), Some(s))
        }
        Pattern::Checker => (None, None),
    };
    let frames = ctx.args.num("frames").map(|n| n as u64);
    Ok(Box::new(VideoTest {
        pattern,
        frames,
        background,
        sprite,
        fps: f64::from(ty.fps.0) / f64::from(ty.fps.1),
        n: 0,
    }))
}

/// Draws frame after frame.
struct VideoTest {
    pattern: Pattern,
    frames: Option<u64>,
    background: Option<VideoFrame>,
    sprite: Option<Sprite>,
    fps: f64,
    n: u64,
}

impl VideoTest {
    /// Where the figure stands at time `t`: swaying across the middle half
    /// of the frame every 6 s, bobbing slightly.
    fn figure_at(&self, t: f64, w: usize, h: usize, sw: usize, sh: usize) -> (i64, i64) {
        let tau = std::f64::consts::TAU;
        let cx = w as f64 / 2.0 + 0.25 * w as f64 * (tau * t / 6.0).sin();
        let bob = 0.01 * h as f64 * (tau * t / 1.5).sin();
        (
            (cx - sw as f64 / 2.0) as i64,
            (h as f64 - sh as f64 + bob + 0.02 * h as f64) as i64,
        )
    }
}

impl Node for VideoTest {
    fn process(&mut self, io: &mut PortIo) -> Flow {
        let out = io.video_out(0);
        let (w, h) = (out.width(), out.height());
        match (&self.background, self.pattern) {
            (_, Pattern::Checker) => {
                let [y, u, v] = out.planes_mut();
                patterns::checker_i420(y, u, v, w, h, (self.n as usize * 2) % (2 * (h / 9).max(1)));
            }
            (Some(bg), _) => out.data_mut().copy_from_slice(bg.data()),
            (None, _) => out.fill_black(),
        }
        if let Some(sprite) = self.sprite.as_ref().map(|s| s.size()) {
            let (x, y) = self.figure_at(self.n as f64 / self.fps, w, h, sprite.0, sprite.1);
            if let Some(s) = self.sprite.as_mut() {
                s.draw(out, x, y);
            }
        }
        self.n += 1;
        match self.frames {
            Some(n) if self.n >= n => Flow::Ended,
            _ => Flow::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args_with_defaults, e};
    use sluice_runtime::testing::NodeHarness;

    fn make(pattern: &str, frames: Option<f64>) -> NodeHarness {
        let mut given = vec![("pattern", e(pattern)), ("size", Arg::Size(160, 90))];
        if let Some(n) = frames {
            given.push(("frames", Arg::Num(n)));
        }
        let a = args_with_defaults(&signature(), &given);
        NodeHarness::of(signature(), build)
            .args(a.clone())
            .build()
            .unwrap()
    }

    #[test]
    fn frames_bound_the_stream_and_absence_is_endless() {
        let mut n = make("bars", Some(3.0));
        assert_eq!(n.run(&[]), Flow::Continue);
        assert_eq!(n.run(&[]), Flow::Continue);
        assert_eq!(n.run(&[]), Flow::Ended);
        let sig = signature();
        assert!((sig.endless)(&args_with_defaults(&sig, &[])));
        assert!(!(sig.endless)(&args_with_defaults(
            &sig,
            &[("frames", Arg::Num(5.0))]
        )));
    }

    #[test]
    fn bars_have_the_standard_codes() {
        let mut n = make("bars", None);
        n.run(&[]);
        let f = n.video(0);
        // 75% white is Y 180 in BT.601 limited; 75% blue is Y 35, V 114.
        assert_eq!(f.plane(0)[5], 180);
        assert_eq!(f.plane(0)[155], 35);
        assert!(f.plane(2)[77].abs_diff(114) <= 1);
    }

    #[test]
    fn moving_has_a_still_background_and_a_moving_subject() {
        let mut n = make("moving", None);
        n.run(&[]);
        let a = n.video(0).plane(0).to_vec();
        for _ in 0..15 {
            n.run(&[]);
        }
        let b = n.video(0).plane(0).to_vec();
        let changed: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
        // Something moved, but most of the frame (the room) did not.
        assert!(changed.len() > a.len() / 50, "{}", changed.len());
        assert!(changed.len() < a.len() / 2, "{}", changed.len());
        // The top corners are background and never change.
        assert_eq!(a[0], b[0]);
        assert_eq!(a[159], b[159]);
        // The background is textured: neighbouring pixels differ.
        let distinct: std::collections::BTreeSet<u8> = a[..160].iter().copied().collect();
        assert!(distinct.len() > 10);
    }

    #[test]
    fn checker_scrolls() {
        let mut n = make("checker", None);
        n.run(&[]);
        let a = n.video(0).plane(0).to_vec();
        n.run(&[]);
        assert_ne!(a, n.video(0).plane(0));
        assert!(a.iter().all(|&v| v == 16 || v == 235));
    }

    #[test]
    fn gradient_runs_dark_to_bright() {
        let mut n = make("gradient", None);
        n.run(&[]);
        let y = n.video(0).plane(0);
        assert!(y[y.len() - 1] > y[0] + 100);
    }
}
