//! Loading a vendored ONNX file: hash check, parse, optimise.

use sha2::{Digest, Sha256};
use std::fmt;
use tract_onnx::prelude::*;

/// A model ready to run: parsed, typed for fixed input shapes, optimised.
pub type Model = Arc<TypedRunnableModel>;

/// Why a model could not be loaded or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// The bytes are not the file that was vendored.
    Hash {
        /// Which model.
        name: String,
        /// The recorded SHA-256.
        expected: String,
        /// The SHA-256 of the bytes given.
        found: String,
    },
    /// tract could not parse, type or optimise the model, or run it.
    Tract {
        /// Which model.
        name: String,
        /// tract's message.
        message: String,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Hash {
                name,
                expected,
                found,
            } => write!(
                f,
                "model `{name}`: sha256 is {found}, expected {expected} (the file is corrupt or not the vendored one)"
            ),
            ModelError::Tract { name, message } => write!(f, "model `{name}`: {message}"),
        }
    }
}

impl std::error::Error for ModelError {}

/// The SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks `bytes` against `sha256`, then parses them as ONNX with the given
/// input shapes (all f32) and optimises the result for running.
pub fn load_onnx(
    name: &str,
    bytes: &[u8],
    sha256: &str,
    inputs: &[&[usize]],
) -> Result<Model, ModelError> {
    let found = sha256_hex(bytes);
    if found != sha256 {
        return Err(ModelError::Hash {
            name: name.to_string(),
            expected: sha256.to_string(),
            found,
        });
    }
    build(bytes, inputs).map_err(|e| ModelError::Tract {
        name: name.to_string(),
        message: format!("{e:#}"),
    })
}

fn build(bytes: &[u8], inputs: &[&[usize]]) -> TractResult<Model> {
    let mut model = tract_onnx::onnx().model_for_read(&mut std::io::Cursor::new(bytes))?;
    unique_names(&mut model);
    for (i, shape) in inputs.iter().enumerate() {
        model.set_input_fact(i, f32::fact(shape.to_vec()).into())?;
    }
    model.into_optimized()?.into_runnable()
}

/// Gives nodes that share a name (exporters leave some unnamed, and the
/// parser calls them all `F0::anon`: Silero's OpenVINO export has 15)
/// a suffix, since tract's graph compaction refuses duplicate names.
fn unique_names(model: &mut InferenceModel) {
    let mut seen = std::collections::HashSet::new();
    for i in 0..model.nodes().len() {
        let node = model.node_mut(i);
        if !seen.insert(node.name.clone()) {
            node.name = format!("{}#{i}", node.name);
            seen.insert(node.name.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_hash_is_refused_before_parsing() {
        let err = load_onnx("x", b"not a model", &"0".repeat(64), &[]).unwrap_err();
        assert!(matches!(err, ModelError::Hash { .. }), "{err}");
        assert!(err.to_string().contains("corrupt"));
    }

    #[test]
    fn garbage_with_the_right_hash_is_a_tract_error_not_a_panic() {
        let bytes = b"not a model";
        let err = load_onnx("x", bytes, &sha256_hex(bytes), &[]).unwrap_err();
        assert!(matches!(err, ModelError::Tract { .. }), "{err}");
    }
}
