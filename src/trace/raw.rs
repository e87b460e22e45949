//! The recorder's events encoded as they are, without making [`Event`](super::Event)s
//! first: the same bytes (a test below checks it), without the allocations (a `Block`'s
//! list, the names) that building an `Event` per recorded event would cost the writer.

use serde::ser::{SerializeSeq, SerializeStructVariant, SerializeTuple};
use serde::{Serialize, Serializer};

use super::convert;
use crate::runtime::recorder::{Ev, Stamped};
use crate::wait::{Direction, WaitOn};

/// An event frame of one thread's batch: `Frame::Events { base, events }`.
pub(super) struct Events<'a>(pub(super) &'a [Stamped]);

impl Serialize for Events<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let base = self.0.first().map_or(0, |e| e.t);
        // Variant 1 of `format::Frame`.
        let mut v = s.serialize_struct_variant("Frame", 1, "Events", 2)?;
        v.serialize_field("base", &base)?;
        v.serialize_field("events", &Batch(self.0, base))?;
        v.end()
    }
}

struct Batch<'a>(&'a [Stamped], u64);

impl Serialize for Batch<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        let mut prev = self.1;
        for e in self.0 {
            // One thread's events are in time order; a clock that went back would give 0.
            seq.serialize_element(&Timed(e.t.saturating_sub(prev), &e.ev))?;
            prev = prev.max(e.t);
        }
        seq.end()
    }
}

struct Timed<'a>(u64, &'a Ev);

impl Serialize for Timed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.0)?;
        t.serialize_element(&Raw(self.1))?;
        t.end()
    }
}

/// One event, with `Event`'s variant numbers and fields.
struct Raw<'a>(&'a Ev);

struct Waits<'a>(&'a [WaitOn]);

impl Serialize for Waits<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for &w in self.0 {
            seq.serialize_element(&convert::wait(w))?;
        }
        seq.end()
    }
}

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        macro_rules! variant {
            ($index:expr, $name:expr, $($field:expr => $value:expr),+) => {{
                let mut v = s.serialize_struct_variant("Event", $index, $name, [$($field),+].len())?;
                $(v.serialize_field($field, $value)?;)+
                v.end()
            }};
        }
        match self.0 {
            Ev::Process { id, name } => variant!(0, "Process", "id" => id, "name" => name),
            Ev::Channel { id, ty, cap } => {
                variant!(1, "Channel", "id" => id, "ty" => ty, "cap" => &(*cap as u64))
            }
            Ev::Named { id, name } => variant!(2, "Named", "id" => id, "name" => name),
            Ev::Holds {
                process,
                channel,
                dir,
            } => variant!(3, "Holds", "process" => process, "channel" => channel,
                "send" => &(*dir == Direction::Send)),
            Ev::Comm {
                channel,
                writer,
                reader,
            } => variant!(4, "Comm", "channel" => channel, "writer" => writer, "reader" => reader),
            Ev::Take { channel, reader } => {
                variant!(5, "Take", "channel" => channel, "reader" => reader)
            }
            Ev::Block { process, on } => {
                variant!(6, "Block", "process" => process, "on" => &Waits(on.as_slice()))
            }
            Ev::Wake { process } => variant!(7, "Wake", "process" => process),
            Ev::Alt {
                process,
                guard,
                channel,
                event,
            } => variant!(8, "Alt", "process" => process, "guard" => guard,
                "channel" => channel, "event" => &convert::alt_event(*event)),
            Ev::Poison { channel } => variant!(9, "Poison", "channel" => channel),
            Ev::End { process, end, ran } => variant!(10, "End", "process" => process,
                "end" => &convert::end(*end), "ran_ns" => &(ran.as_nanos() as u64)),
            Ev::Deadlock(d) => {
                s.serialize_newtype_variant("Event", 11, "Deadlock", &convert::deadlock(d))
            }
            Ev::Value { channel, text } => {
                variant!(12, "Value", "channel" => channel, "text" => text)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadlock::{BlockedOp, BlockedProcess, DeadlockReport};
    use crate::runtime::recorder::Waits as W;
    use crate::runtime::ProcessEnd;
    use std::time::Duration;

    #[test]
    fn raw_events_encode_as_the_events_they_stand_for() {
        let recv = WaitOn::Channel {
            id: 3,
            dir: Direction::Recv,
        };
        let evs = vec![
            Ev::Process {
                id: 1,
                name: "p".into(),
            },
            Ev::Channel {
                id: 2,
                ty: "u64",
                cap: 4,
            },
            Ev::Named {
                id: 2,
                name: "c".into(),
            },
            Ev::Holds {
                process: 1,
                channel: 2,
                dir: Direction::Send,
            },
            Ev::Comm {
                channel: 2,
                writer: 1,
                reader: 0,
            },
            Ev::Take {
                channel: 2,
                reader: 5,
            },
            Ev::Block {
                process: 1,
                on: W::new(&[recv]),
            },
            Ev::Block {
                process: 1,
                on: W::new(&[recv, WaitOn::Timer, WaitOn::Barrier { id: 9 }]),
            },
            Ev::Wake { process: 1 },
            Ev::Alt {
                process: 1,
                guard: 2,
                channel: 3,
                event: 5,
            },
            Ev::Poison { channel: 2 },
            Ev::End {
                process: 1,
                end: ProcessEnd::Failed,
                ran: Duration::from_nanos(12345),
            },
            Ev::Deadlock(Box::new(DeadlockReport {
                blocked: vec![BlockedProcess {
                    name: "p".into(),
                    alt: true,
                    ops: vec![BlockedOp {
                        on: recv,
                        label: "c".into(),
                        peers: vec!["q".into()],
                    }],
                }],
                cycle: vec!["p".into()],
                partial: false,
            })),
            Ev::Value {
                channel: 2,
                text: "(1, \"a\")".into(),
            },
        ];
        let stamped: Vec<Stamped> = evs
            .iter()
            .enumerate()
            .map(|(i, ev)| Stamped {
                t: 100 + 7 * i as u64,
                ev: ev.clone(),
            })
            .collect();
        let mut raw = Vec::new();
        let mut w = super::super::TraceWriter::new(&mut raw, &Default::default()).unwrap();
        w.write_raw(&stamped).unwrap();
        w.finish(1000).unwrap();
        let mut made = Vec::new();
        let mut w = super::super::TraceWriter::new(&mut made, &Default::default()).unwrap();
        let events: Vec<(u64, super::super::Event)> = stamped
            .iter()
            .map(|s| (s.t, convert::event(s.ev.clone())))
            .collect();
        w.write_events(&events).unwrap();
        w.finish(1000).unwrap();
        assert_eq!(raw, made);
        assert_eq!(super::super::read(&raw).unwrap().events, events);
    }
}
