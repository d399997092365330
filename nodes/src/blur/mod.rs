//! Blur node kinds: `blur` and `background_blur`.

use sluice_runtime::Registry;

/// Registers the blur node kinds.
pub fn register(r: &mut Registry) {
    let _ = r;
}
