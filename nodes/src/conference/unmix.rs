//! `unmix`: one mono output per named participant, for per-person
//! processing or recording (a calling SDK's "unmixed" incoming audio).

use crate::sig;
use sluice_dsl::{Accepts, Args, OutPort, ParamType, Ports, Role, Signature};
use sluice_runtime::{BuildContext, Flow, Node, NodeError, PortIo, StreamId, StreamState};

/// The `unmix` signature.
pub fn signature() -> Signature {
    let mut s = sig::signature(
        "unmix",
        "One mono output per participant id, in the order given: ports `out0`, `out1`, \
         ... also named by the id where it is an identifier (`u.alice`). An output is \
         silent while its participant is absent.",
        Role::Process,
        ports,
    );
    s.params.push(sig::required(
        "ids",
        ParamType::List(Box::new(ParamType::Str)),
        "participant ids, one output each",
    ));
    s
}

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// The ids from the arguments, checked: at least one, no duplicates.
fn ids(args: &Args) -> Result<Vec<String>, String> {
    let list = args.need_list("ids")?;
    if list.is_empty() {
        return Err("unmix needs at least one id in `ids`".into());
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for a in list {
        let id = a.as_str().ok_or("unmix `ids` must be a list of strings")?;
        if out.iter().any(|o| o == id) {
            return Err(format!("unmix `ids` lists `{id}` twice"));
        }
        out.push(id.to_string());
    }
    Ok(out)
}

fn ports(args: &Args) -> Result<Ports, String> {
    let outputs = ids(args)?
        .into_iter()
        .enumerate()
        .map(|(i, id)| OutPort {
            aliases: if is_identifier(&id) {
                vec![id]
            } else {
                Vec::new()
            },
            ..sig::output(&format!("out{i}"), sig::audio(1))
        })
        .collect();
    Ok(Ports {
        inputs: vec![sig::input("in", Accepts::Bundle)],
        outputs,
        ..Ports::default()
    })
}

/// Builds an `unmix`.
pub fn build(ctx: &BuildContext) -> Result<Box<dyn Node>, NodeError> {
    let ids: Vec<StreamId> = ids(ctx.args)
        .map_err(NodeError::new)?
        .iter()
        .map(|s| StreamId::new(s))
        .collect();
    Ok(Box::new(Unmix {
        slot: vec![None; ids.len()],
        ids,
        started: false,
    }))
}

struct Unmix {
    ids: Vec<StreamId>,
    /// The bundle slot each output's participant occupies, if present.
    slot: Vec<Option<usize>>,
    started: bool,
}

impl Node for Unmix {
    fn process(&mut self, io: &mut PortIo<'_, '_>) -> Flow {
        let Some(input) = io.bundle_in(0) else {
            return Flow::Continue;
        };
        // A participant is found when it joins (or, on the first tick,
        // wherever it already is); slots are stable while it stays.
        for (i, s) in input.present() {
            if s.state == StreamState::Joined || !self.started {
                if let Some(k) = self.ids.iter().position(|id| *id == s.id) {
                    self.slot[k] = Some(i);
                }
            }
        }
        self.started = true;
        for k in 0..self.ids.len() {
            let out = io.audio_out(k);
            let stream = self.slot[k]
                .map(|i| &input.slots()[i])
                .filter(|s| s.state.present() && s.id == self.ids[k]);
            match stream {
                Some(s) => out.channel_mut(0).copy_from_slice(s.samples()),
                None => {
                    self.slot[k] = None;
                    out.silence();
                }
            }
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conference::testkit::{Rng, Script, TICK};
    use crate::test_support::{args, bundle, kind};
    use sluice_dsl::{Arg, MediaType};
    use sluice_runtime::Frame;

    fn id_args(ids: &[&str]) -> Args {
        args(&[(
            "ids",
            Arg::List(ids.iter().map(|s| Arg::Str(s.to_string())).collect()),
        )])
    }

    #[test]
    fn ports_are_numbered_and_aliased_by_identifier_ids() {
        let p = ports(&id_args(&["alice", "8:acs:1234", "_b2"])).unwrap();
        let names: Vec<_> = p
            .outputs
            .iter()
            .map(|o| (o.name.as_str(), o.aliases.clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("out0", vec!["alice".to_string()]),
                ("out1", vec![]),
                ("out2", vec!["_b2".to_string()]),
            ]
        );
        assert!(ports(&id_args(&[])).unwrap_err().contains("at least one"));
        assert!(ports(&id_args(&["a", "a"])).unwrap_err().contains("twice"));
        assert!(ports(&args(&[])).is_err());
    }

    #[test]
    fn each_output_follows_its_participant_and_is_silent_while_absent() {
        let mut rng = Rng::new(2);
        let mut s = Script::new(3, 1.0);
        for who in 0..3 {
            s.noise(&mut rng, who, 0.1 * (who + 1) as f32);
        }
        s.presence(1, 0.2, 0.6);
        let ty = MediaType::Bundle { capacity: 3 };
        let mono = MediaType::Audio { channels: 1 };
        let a = id_args(&["p1", "nobody", "p2"]);
        let mut node = kind("unmix")
            .args(a.clone())
            .inputs(&[ty])
            .outputs(&[mono, mono, mono])
            .build()
            .unwrap();
        let mut input = Frame::for_type(&ty, TICK);
        for t in 0..s.ticks {
            if let Frame::Bundle(b) = &mut input {
                s.fill(b, t);
            }
            node.run_at(t as u64, &[&input]);
            let samples = |k: usize| match node.output(k) {
                Frame::Audio(a) => a.channel(0).to_vec(),
                _ => panic!(),
            };
            let inp = bundle(&input);
            let p1 = inp.slots()[1].samples();
            if (20..60).contains(&t) {
                assert_eq!(samples(0), p1, "tick {t}");
            } else {
                assert!(samples(0).iter().all(|x| *x == 0.0), "tick {t}");
            }
            assert!(samples(1).iter().all(|x| *x == 0.0));
            assert_eq!(samples(2), inp.slots()[2].samples());
        }
    }
}
