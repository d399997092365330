//! Blur node kinds: `blur` (Gaussian or box) and `background_blur`
//! (mask-weighted blur of everything but the subject).

pub mod background_blur;
pub mod blur_node;
pub mod planes;

use sluice_dsl::{MediaType, VideoType};
use sluice_runtime::{BuildContext, NodeError, Registry};

/// Registers the blur node kinds.
pub fn register(r: &mut Registry) {
    r.register(blur_node::signature(), blur_node::build);
    r.register(background_blur::signature(), background_blur::build);
}

/// The video type of input `i`, or a clear error.
fn video_type(ctx: &BuildContext, i: usize) -> Result<VideoType, NodeError> {
    match ctx.inputs.get(i).map(|p| &p.ty) {
        Some(MediaType::Video(v)) => Ok(*v),
        Some(other) => Err(NodeError::new(format!(
            "input {i} carries {other}, not video"
        ))),
        None => Err(NodeError::new(format!("input {i} is missing"))),
    }
}

#[cfg(test)]
mod tests;
