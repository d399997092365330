//! Person segmentation: MediaPipe's selfie segmentation models, converted
//! to ONNX by `tools/models/convert_selfie.py` (see `models/NOTICE`).
//!
//! A model takes an RGB picture at its own small size (256x144 for the
//! landscape model, 256x256 for the square one), values 0..1, and gives the
//! probability that each pixel shows a person. [`Segmenter`] wraps one
//! loaded model with a reusable state, so a worker thread can run it frame
//! after frame; it checks the file's hash and the tensor shapes when it is
//! made, so a bad file is an error when a graph starts, not at its first
//! frame.

use crate::onnx::{load_onnx, Model, ModelError};
use tract_onnx::prelude::*;

/// The two vendored selfie segmentation models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfieModel {
    /// 256x144, for 16:9 camera pictures (the faster one: MediaPipe's
    /// default for video calls).
    Landscape,
    /// 256x256, for square or portrait pictures.
    Square,
}

impl SelfieModel {
    /// The model's file stem (and its name in errors).
    pub fn name(self) -> &'static str {
        match self {
            SelfieModel::Landscape => "selfie_segmentation_landscape",
            SelfieModel::Square => "selfie_segmentation",
        }
    }

    /// Input (and output) size, `(width, height)`.
    pub fn size(self) -> (usize, usize) {
        match self {
            SelfieModel::Landscape => (256, 144),
            SelfieModel::Square => (256, 256),
        }
    }

    /// The vendored ONNX file, embedded so a binary needs no model files.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            SelfieModel::Landscape => {
                include_bytes!("../models/selfie_segmentation_landscape.onnx")
            }
            SelfieModel::Square => include_bytes!("../models/selfie_segmentation.onnx"),
        }
    }

    /// The SHA-256 recorded when the file was converted (models/NOTICE).
    pub fn sha256(self) -> &'static str {
        match self {
            SelfieModel::Landscape => {
                "3e776232a93bb2abe2e063cbce1b91aea8a5b121c0e3343e63190cdc1e72d545"
            }
            SelfieModel::Square => {
                "bc141b993dd094d92abe7628834d70c4e3bce3bf67c8c75662b4bc439b82e565"
            }
        }
    }
}

/// One loaded segmentation model and the state to run it again and again.
/// Running allocates (tract's tensors), so it belongs on a worker thread.
#[derive(Debug)]
pub struct Segmenter {
    name: String,
    state: TypedSimpleState,
    width: usize,
    height: usize,
    input: Vec<f32>,
    prob: Vec<f32>,
}

impl Segmenter {
    /// Loads a vendored model (hash check, parse, optimise, shape check).
    pub fn new(model: SelfieModel) -> Result<Segmenter, ModelError> {
        let (w, h) = model.size();
        Segmenter::from_onnx(model.name(), model.bytes(), model.sha256(), w, h)
    }

    /// Loads ONNX `bytes` that must hash to `sha256` and map an input
    /// `[1, 3, height, width]` to an output `[1, 1, height, width]`.
    pub fn from_onnx(
        name: &str,
        bytes: &[u8],
        sha256: &str,
        width: usize,
        height: usize,
    ) -> Result<Segmenter, ModelError> {
        let plan = load_onnx(name, bytes, sha256, &[&[1, 3, height, width]])?;
        let tract = |e: TractError| ModelError::Tract {
            name: name.to_string(),
            message: format!("{e:#}"),
        };
        check_output(name, &plan, [1, 1, height, width])?;
        Ok(Segmenter {
            name: name.to_string(),
            state: TypedSimpleState::new(&plan).map_err(tract)?,
            width,
            height,
            input: vec![0.0; 3 * width * height],
            prob: vec![0.0; width * height],
        })
    }

    /// Input size, `(width, height)`.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// Runs the model on an input tensor (NCHW, RGB 0..1) and writes the
    /// person probability of each pixel (row-major) to `out`.
    pub fn run_tensor(&mut self, input: &[f32], out: &mut [f32]) -> Result<(), ModelError> {
        let (w, h) = (self.width, self.height);
        let tract = |e: TractError| ModelError::Tract {
            name: self.name.clone(),
            message: format!("{e:#}"),
        };
        let x = Tensor::from_shape(&[1, 3, h, w], input).map_err(tract)?;
        let result = self.state.run(tvec!(x.into())).map_err(tract)?;
        let view = result[0].try_as_plain_ram().map_err(tract)?;
        let y = view.as_slice::<f32>().map_err(tract)?;
        out.copy_from_slice(&y[..w * h]);
        Ok(())
    }

    /// Runs the model on a picture of the model's size, interleaved with
    /// `channels` bytes per pixel (3: RGB, 4: RGBA, alpha ignored), and
    /// writes the mask, 0..=255 (255 = person), to `mask`.
    pub fn run_rgb(
        &mut self,
        rgb: &[u8],
        channels: usize,
        mask: &mut [u8],
    ) -> Result<(), ModelError> {
        let n = self.width * self.height;
        let (mut input, mut prob) = (
            std::mem::take(&mut self.input),
            std::mem::take(&mut self.prob),
        );
        for (c, plane) in input.chunks_exact_mut(n).enumerate() {
            for (v, px) in plane.iter_mut().zip(rgb.chunks_exact(channels)) {
                *v = f32::from(px[c]) * (1.0 / 255.0);
            }
        }
        let result = self.run_tensor(&input, &mut prob);
        (self.input, self.prob) = (input, prob);
        result?;
        for (m, p) in mask.iter_mut().zip(&self.prob) {
            *m = (p.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
        Ok(())
    }
}

/// Checks that the model's output is `want` (a model converted for another
/// size, or another model altogether, is refused when it is loaded).
fn check_output(name: &str, plan: &Model, want: [usize; 4]) -> Result<(), ModelError> {
    let shape = plan
        .model()
        .output_fact(0)
        .ok()
        .and_then(|f| f.shape.as_concrete().map(<[usize]>::to_vec));
    match shape {
        Some(s) if s == want => Ok(()),
        other => Err(ModelError::Tract {
            name: name.to_string(),
            message: format!("output shape is {other:?}, expected {want:?} (not a selfie segmentation model for this size)"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_files_match_their_recorded_hashes() {
        for m in [SelfieModel::Landscape, SelfieModel::Square] {
            assert_eq!(crate::sha256_hex(m.bytes()), m.sha256(), "{}", m.name());
        }
    }

    #[test]
    fn a_corrupt_file_is_refused_by_its_hash() {
        let mut bytes = SelfieModel::Landscape.bytes().to_vec();
        bytes[1000] ^= 1;
        let m = SelfieModel::Landscape;
        let err = Segmenter::from_onnx(m.name(), &bytes, m.sha256(), 256, 144).unwrap_err();
        assert!(matches!(err, ModelError::Hash { .. }), "{err}");
    }

    #[test]
    fn the_wrong_size_is_a_clear_error() {
        let m = SelfieModel::Square;
        let err = Segmenter::from_onnx(m.name(), m.bytes(), m.sha256(), 256, 144).unwrap_err();
        assert!(err.to_string().contains(m.name()), "{err}");
    }
}
