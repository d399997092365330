//! Stands in for the model thread when Sluice is built without the `ml`
//! feature: loading fails with a message that names the feature.

use super::person::ModelChoice;
use sluice_runtime::NodeError;
use std::time::Duration;

/// A model thread that cannot exist (no value of this type can be made).
#[derive(Debug)]
pub enum MaskWorker {}

impl MaskWorker {
    /// Always an error: the models are not in this build.
    pub fn load(_: ModelChoice, name: &str) -> Result<MaskWorker, NodeError> {
        Err(NodeError::new(format!(
            "{name}: person segmentation needs the `ml` cargo feature (on by default; \
             this build used --no-default-features)"
        )))
    }

    /// Never called.
    pub fn size(&self) -> (usize, usize) {
        match *self {}
    }

    /// Never called.
    pub fn idle(&mut self) -> Option<&mut [u8]> {
        match *self {}
    }

    /// Never called.
    pub fn submit(&mut self) {
        match *self {}
    }

    /// Never called.
    pub fn finished(&mut self) -> Option<&[u8]> {
        match *self {}
    }

    /// Never called.
    pub fn wait(&mut self, _: Duration) -> bool {
        match *self {}
    }
}
