//! `null`: a sink that discards what it gets (ends a branch; benchmarks).

use crate::sig::{input, signature as sig};
use sluice_dsl::{Accepts, Args, Ports, Role, Signature};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo};

/// The `null` kind.
pub fn signature() -> Signature {
    sig(
        "null",
        "Discards its input: ends a branch whose output is not needed.",
        Role::Sink,
        ports,
    )
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![input("in", Accepts::Any)],
        ..Ports::default()
    })
}

/// Builds a `null`.
pub fn build(_: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    Ok(Box::new(Null))
}

struct Null;

impl Node for Null {
    fn process(&mut self, _: &mut PortIo<'_, '_>) -> Flow {
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::audio_frame;
    use sluice_dsl::MediaType;
    use sluice_runtime::testing::NodeHarness;
    use sluice_runtime::Frame;

    #[test]
    fn accepts_any_frame() {
        let h = NodeHarness::of(signature(), build)
            .inputs(&[MediaType::Events])
            .outputs(&[]);
        let mut node = h.build().unwrap();
        let events = Frame::for_type(&MediaType::Events, 480);
        assert_eq!(node.run_at(0, &[&events]), Flow::Continue);
        let a = audio_frame(&[&[0.0; 480]]);
        assert_eq!(node.run_at(1, &[&a]), Flow::Continue);
    }
}
