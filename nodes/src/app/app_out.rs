//! `app_out(name)`: frames of any type handed to the host program, which
//! pops them from `Engine::output(name)`.

use super::UNIQUE_NAME;
use crate::sig;
use sluice_dsl::{Accepts, Args, ParamType, Ports, Role, Signature};
use sluice_runtime::transport::host::{output_endpoint, HostEnd, OutputFeed};
use sluice_runtime::{BuildContext, Flow, Frame, Node, NodeError, PortIo};

/// The checker's view of `app_out`.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "app_out",
        "Hands frames of any type to the program that embeds the graph, which \
         pops them wait-free from `engine.output(name)` (or `sluice_output` in C). \
         A host that holds every frame makes the next ones drop, counted; the \
         graph never waits for it. Endpoint names are unique in a graph.",
        Role::Sink,
        ports,
    );
    s.params = vec![sig::required(
        "name",
        ParamType::Str,
        "the name the host asks for",
    )];
    s
}

fn ports(_: &Args) -> Result<Ports, String> {
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::Any)],
        outputs: Vec::new(),
        constraints: vec![UNIQUE_NAME],
        ..Ports::default()
    })
}

/// Builds an `app_out`: its frames, sized from the input's type.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let name = ctx.args.need_str("name")?;
    let port = ctx
        .inputs
        .first()
        .ok_or_else(|| NodeError::new("`app_out` needs its input"))?;
    let template = Frame::for_type(&port.ty, ctx.settings.frame_samples as usize);
    let (end, feed) = output_endpoint(name, &template);
    Ok(Box::new(AppOut {
        feed,
        end: Some(end),
    }))
}

/// Copies each input frame onto the host's queue.
struct AppOut {
    feed: OutputFeed,
    end: Option<HostEnd>,
}

impl Node for AppOut {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        if let Some(frame) = io.input(0) {
            self.feed.offer(frame);
        }
        Flow::Continue
    }

    fn host_end(&mut self) -> Option<HostEnd> {
        self.end.take()
    }
}
