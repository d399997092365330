//! Silero VAD v6: the probability that a 32 ms frame of 16 kHz audio is
//! speech.
//!
//! The model is the OpenVINO export that PyPI `silero-vad` 6.2.3 ships
//! (`silero_vad/data/silero_vad_openvino_16k.onnx`, MIT, unmodified): the
//! main `silero_vad.onnx` has `If` nodes tract cannot analyse, this one has
//! none. `tools/models/fetch_silero.sh` vendors it. Each call takes 64
//! samples of context (the end of the previous frame) and 512 new ones and
//! carries a recurrent state of 2x1x128 floats from frame to frame, as the
//! Python package does.

use crate::onnx::{load_onnx, Model, ModelError};
use std::sync::OnceLock;
use tract_onnx::prelude::*;

/// The rate the model runs at.
pub const SILERO_RATE: u32 = 16_000;
/// New samples per frame (32 ms at 16 kHz).
pub const SILERO_FRAME: usize = 512;
/// Samples of the previous frame the model sees again.
pub const SILERO_CONTEXT: usize = 64;
/// Floats in the recurrent state (`state`, shape 2x1x128).
const STATE: usize = 2 * 128;

const BYTES: &[u8] = include_bytes!("../models/silero_vad_openvino_16k.onnx");
const SHA256: &str = "7776b81ad1b0350c15d7f1555943b9232eb53e9ca5d989c6d0cea9ebc8664d87";

/// The parsed, optimised model, loaded once per process: every stream and
/// every call shares it (a parse and optimisation takes tens of ms).
pub fn silero_model() -> Result<Model, ModelError> {
    static MODEL: OnceLock<Result<Model, ModelError>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            load_onnx(
                "silero_vad_openvino_16k",
                BYTES,
                SHA256,
                &[&[1, SILERO_CONTEXT + SILERO_FRAME], &[2, 1, 128]],
            )
        })
        .clone()
}

/// One stream's voice-activity state: the context and the recurrent state.
/// Running it allocates (tract), so it belongs on a worker thread.
pub struct SileroVad {
    model: Model,
    input: Vec<f32>,
    state: Vec<f32>,
}

impl std::fmt::Debug for SileroVad {
    /// The stream's buffers, not the model's graph (thousands of lines).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SileroVad")
            .field("input", &self.input.len())
            .field("state", &self.state.len())
            .finish_non_exhaustive()
    }
}

impl SileroVad {
    /// A fresh stream on the shared model.
    pub fn new(model: Model) -> SileroVad {
        SileroVad {
            model,
            input: vec![0.0; SILERO_CONTEXT + SILERO_FRAME],
            state: vec![0.0; STATE],
        }
    }

    /// Forgets the stream (a new participant in the slot).
    pub fn reset(&mut self) {
        self.input.fill(0.0);
        self.state.fill(0.0);
    }

    /// The speech probability (0..1) of the next 512 samples at 16 kHz,
    /// in -1..1 full scale.
    pub fn process(&mut self, frame: &[f32; SILERO_FRAME]) -> Result<f32, ModelError> {
        self.input[SILERO_CONTEXT..].copy_from_slice(frame);
        let result = self.run();
        self.input.copy_within(SILERO_FRAME.., 0);
        result.map_err(|e| ModelError::Tract {
            name: "silero_vad_openvino_16k".into(),
            message: format!("{e:#}"),
        })
    }

    fn run(&mut self) -> TractResult<f32> {
        let input = Tensor::from_shape(&[1, SILERO_CONTEXT + SILERO_FRAME], &self.input)?;
        let state = Tensor::from_shape(&[2, 1, 128], &self.state)?;
        let out = self.model.run(tvec![input.into(), state.into()])?;
        let p = *out[0]
            .try_as_plain_ram()?
            .as_slice::<f32>()?
            .first()
            .ok_or_else(|| TractError::msg("the model gave no probability"))?;
        self.state
            .copy_from_slice(out[1].try_as_plain_ram()?.as_slice::<f32>()?);
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic white noise in -amp..amp.
    fn noise(n: usize, amp: f32, mut seed: u32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                amp * (seed as f32 / u32::MAX as f32 * 2.0 - 1.0)
            })
            .collect()
    }

    fn probabilities(audio: &[f32]) -> Vec<f32> {
        let mut vad = SileroVad::new(silero_model().unwrap());
        audio
            .chunks_exact(SILERO_FRAME)
            .map(|c| vad.process(c.try_into().unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn the_vendored_model_loads_and_silence_is_not_speech() {
        let p = probabilities(&vec![0.0; SILERO_FRAME * 20]);
        assert!(p.iter().all(|p| (0.0..0.05).contains(p)), "{p:?}");
    }

    #[test]
    fn white_noise_is_not_speech() {
        let p = probabilities(&noise(SILERO_FRAME * 60, 0.3, 7));
        let high = p.iter().filter(|p| **p > 0.5).count();
        assert!(high <= 3, "{high} of {} noise frames above 0.5", p.len());
    }

    #[test]
    fn reset_gives_the_same_answer_as_a_fresh_stream() {
        let audio = noise(SILERO_FRAME * 4, 0.1, 3);
        let fresh = probabilities(&audio);
        let mut vad = SileroVad::new(silero_model().unwrap());
        for c in audio.chunks_exact(SILERO_FRAME) {
            vad.process(c.try_into().unwrap()).unwrap();
        }
        vad.reset();
        let again: Vec<f32> = audio
            .chunks_exact(SILERO_FRAME)
            .map(|c| vad.process(c.try_into().unwrap()).unwrap())
            .collect();
        assert_eq!(fresh, again);
    }
}
