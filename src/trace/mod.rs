//! Recordings of runs (`occamy run FILE --record T`) and their replay (`occamy replay T`):
//! every communication (time, channel, writer, reader), alt choice, wait and wake-up,
//! process end and deadlock of a run, in a compact file that `docs/trace-format.md`
//! documents.
//!
//! - [`Recorder`] records the runs of this program into a file while it runs;
//! - [`TraceWriter`] and [`read`] / [`open`] write and read the format itself;
//! - [`Replay`] rebuilds the state of the recorded run at any moment (the
//!   [`Snapshot`](crate::observe::Snapshot) a live [`Watch`](crate::observe::Watch) would
//!   have given) and its summary (messages per channel, how each process ended).
//!
//! The runtime's hooks are in the core; with no recording on, each is one relaxed load
//! of a flag that never changes (see `benches/core.rs`, which measures both).
//!
//! # Examples
//! Write a trace by hand and read it back:
//! ```
//! use occamy::trace::{self, Event, Header, TraceWriter};
//! let header = Header { network: "pair".into(), ..Header::default() };
//! let mut w = TraceWriter::new(Vec::new(), &header).unwrap();
//! w.write_events(&[
//!     (10, Event::Comm { channel: 1, writer: 2, reader: 3 }),
//!     (25, Event::Wake { process: 2 }),
//! ]).unwrap();
//! let bytes = w.finish(30).unwrap();
//! let t = trace::read(&bytes).unwrap();
//! assert_eq!(t.header, header);
//! assert_eq!(t.events.len(), 2);
//! assert_eq!(t.events[1], (25, Event::Wake { process: 2 }));
//! assert_eq!(t.end, 30);
//! ```

mod format;
mod raw;
mod record;
mod replay;

pub use format::{open, read, Trace, TraceError, TraceWriter, MAGIC, VERSION};
pub use record::Recorder;
pub use replay::{ChannelSummary, ProcessSummary, Replay};

use serde::{Deserialize, Serialize};

/// What a trace says of the run before its events: the network, and its declared
/// channels and processes (the tables the summary is made from).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Header {
    /// The network's name.
    pub network: String,
    /// The network file it was loaded from (as given, made absolute), if any.
    pub file: Option<String>,
    /// The `--set NAME=VALUE` overrides of the run.
    pub sets: Vec<(String, String)>,
    /// The scheduler it ran under (`threads`, `green`).
    pub scheduler: String,
    /// The declared channels, in the network's order.
    pub channels: Vec<DeclaredChannel>,
    /// The declared processes, in the network's order.
    pub processes: Vec<DeclaredProcess>,
    /// The process graph as `occamy dot --json` writes it, if known.
    pub graph: Option<String>,
}

/// A channel of the network file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredChannel {
    /// Its name (the runtime channel of that name is this one).
    pub name: String,
    /// Its declared element type.
    pub ty: String,
}

/// A process of the network file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredProcess {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
}

/// One thing that happened in a run. Processes and channels are named by their runtime
/// ids; the `Process`, `Channel` and `Named` events define them, once each, before any
/// other event uses them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A process was declared.
    Process {
        /// Its id.
        id: u64,
        /// Its name.
        name: String,
    },
    /// A channel was made.
    Channel {
        /// Its id.
        id: u64,
        /// Its element type (Rust's name for it).
        ty: String,
        /// Its buffer size (0: rendezvous).
        cap: u64,
    },
    /// A channel or barrier got its name.
    Named {
        /// Its id.
        id: u64,
        /// Its name.
        name: String,
    },
    /// A process holds an end of a channel.
    Holds {
        /// The process.
        process: u64,
        /// The channel.
        channel: u64,
        /// Whether it is the writing end.
        send: bool,
    },
    /// A value entered a channel: delivered to `reader`, or buffered (`reader` 0). A
    /// writer 0 was not a process.
    Comm {
        /// The channel.
        channel: u64,
        /// The writing process.
        writer: u64,
        /// The reading process, or 0.
        reader: u64,
    },
    /// A reader took a buffered value.
    Take {
        /// The channel.
        channel: u64,
        /// The reading process.
        reader: u64,
    },
    /// A process started to wait.
    Block {
        /// The process.
        process: u64,
        /// What it waits on (several for an alt).
        on: Vec<Wait>,
    },
    /// A process stopped waiting.
    Wake {
        /// The process.
        process: u64,
    },
    /// An alt chose a guard.
    Alt {
        /// The process.
        process: u64,
        /// The guard's index.
        guard: u32,
        /// Its channel (0 for a timeout or skip guard).
        channel: u64,
        /// What happened to it.
        event: AltEvent,
    },
    /// A channel was poisoned.
    Poison {
        /// The channel.
        channel: u64,
    },
    /// A process ended.
    End {
        /// The process.
        process: u64,
        /// How.
        end: End,
        /// How long it ran, in nanoseconds.
        ran_ns: u64,
    },
    /// A deadlock was found.
    Deadlock(DeadlockRec),
    /// The value of the `Comm` just before on this channel, as the network's `print`
    /// would show it, cut to 40 characters (recorded with `--record-values` only).
    Value {
        /// The channel.
        channel: u64,
        /// The value, shown.
        text: String,
    },
}

/// One thing a process waits on (a [`WaitOn`](crate::WaitOn)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wait {
    /// To send on this channel.
    Send(u64),
    /// To receive from this channel.
    Recv(u64),
    /// On this barrier.
    Barrier(u64),
    /// A timer.
    Timer,
}

/// What happened to the guard an alt chose (an [`Event`](crate::Event)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AltEvent {
    /// Received a value.
    Received,
    /// Its value was taken.
    Sent,
    /// The timeout passed.
    Timeout,
    /// A skip guard.
    Skip,
    /// Its channel is poisoned.
    Poisoned,
    /// Its channel retired.
    Retired,
    /// No guard was enabled.
    Exhausted,
}

/// How a process ended (a [`ProcessEnd`](crate::ProcessEnd)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum End {
    /// Normally.
    Ok,
    /// By poison.
    Poisoned,
    /// By retirement.
    Retired,
    /// It failed.
    Failed,
    /// It panicked.
    Panicked,
}

/// A deadlock as recorded (a [`DeadlockReport`](crate::DeadlockReport)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlockRec {
    /// The deadlocked processes.
    pub blocked: Vec<BlockedRec>,
    /// The waits-for cycle.
    pub cycle: Vec<String>,
    /// Whether other processes were still running.
    pub partial: bool,
}

/// A deadlocked process, as recorded (a [`BlockedProcess`](crate::BlockedProcess)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedRec {
    /// Its name.
    pub name: String,
    /// Whether it waits in an alt.
    pub alt: bool,
    /// What it waits on.
    pub ops: Vec<OpRec>,
}

/// One thing a deadlocked process waits on (a [`BlockedOp`](crate::BlockedOp)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpRec {
    /// What.
    pub on: Wait,
    /// The channel's or barrier's label.
    pub label: String,
    /// The processes at the other end (names).
    pub peers: Vec<String>,
}

mod convert {
    //! Between the runtime's types and the trace's.
    #[cfg(test)]
    use super::Event;
    use super::{AltEvent, BlockedRec, DeadlockRec, End, OpRec, Wait};
    use crate::deadlock::{BlockedOp, BlockedProcess, DeadlockReport};
    #[cfg(test)]
    use crate::runtime::recorder::Ev;
    use crate::runtime::ProcessEnd;
    use crate::wait::{Direction, WaitOn};

    pub(super) fn wait(w: WaitOn) -> Wait {
        match w {
            WaitOn::Channel {
                id,
                dir: Direction::Send,
            } => Wait::Send(id),
            WaitOn::Channel {
                id,
                dir: Direction::Recv,
            } => Wait::Recv(id),
            WaitOn::Barrier { id } => Wait::Barrier(id),
            WaitOn::Timer => Wait::Timer,
        }
    }

    pub(super) fn wait_on(w: Wait) -> WaitOn {
        match w {
            Wait::Send(id) => WaitOn::Channel {
                id,
                dir: Direction::Send,
            },
            Wait::Recv(id) => WaitOn::Channel {
                id,
                dir: Direction::Recv,
            },
            Wait::Barrier(id) => WaitOn::Barrier { id },
            Wait::Timer => WaitOn::Timer,
        }
    }

    pub(super) fn end(e: ProcessEnd) -> End {
        match e {
            ProcessEnd::Ok => End::Ok,
            ProcessEnd::Poisoned => End::Poisoned,
            ProcessEnd::Retired => End::Retired,
            ProcessEnd::Failed => End::Failed,
            ProcessEnd::Panicked => End::Panicked,
        }
    }

    pub(super) fn process_end(e: End) -> ProcessEnd {
        match e {
            End::Ok => ProcessEnd::Ok,
            End::Poisoned => ProcessEnd::Poisoned,
            End::Retired => ProcessEnd::Retired,
            End::Failed => ProcessEnd::Failed,
            End::Panicked => ProcessEnd::Panicked,
        }
    }

    pub(super) fn alt_event(e: u8) -> AltEvent {
        // The order of `crate::Event`'s variants (`Ev::Alt` carries `event as u8`).
        match e {
            0 => AltEvent::Received,
            1 => AltEvent::Sent,
            2 => AltEvent::Timeout,
            3 => AltEvent::Skip,
            4 => AltEvent::Poisoned,
            5 => AltEvent::Retired,
            _ => AltEvent::Exhausted,
        }
    }

    pub(super) fn deadlock(d: &DeadlockReport) -> DeadlockRec {
        DeadlockRec {
            blocked: d
                .blocked
                .iter()
                .map(|b| BlockedRec {
                    name: b.name.clone(),
                    alt: b.alt,
                    ops: b
                        .ops
                        .iter()
                        .map(|o| OpRec {
                            on: wait(o.on),
                            label: o.label.clone(),
                            peers: o.peers.clone(),
                        })
                        .collect(),
                })
                .collect(),
            cycle: d.cycle.clone(),
            partial: d.partial,
        }
    }

    pub(super) fn report(d: &DeadlockRec) -> DeadlockReport {
        DeadlockReport {
            blocked: d
                .blocked
                .iter()
                .map(|b| BlockedProcess {
                    name: b.name.clone(),
                    alt: b.alt,
                    ops: b
                        .ops
                        .iter()
                        .map(|o| BlockedOp {
                            on: wait_on(o.on),
                            label: o.label.clone(),
                            peers: o.peers.clone(),
                        })
                        .collect(),
                })
                .collect(),
            cycle: d.cycle.clone(),
            partial: d.partial,
        }
    }

    /// The event a recorded one stands for (the writer encodes them as they are, in
    /// `raw`; its test checks that the bytes are this event's).
    #[cfg(test)]
    pub(super) fn event(ev: Ev) -> Event {
        match ev {
            Ev::Process { id, name } => Event::Process { id, name },
            Ev::Channel { id, ty, cap } => Event::Channel {
                id,
                ty: ty.to_string(),
                cap: cap as u64,
            },
            Ev::Named { id, name } => Event::Named { id, name },
            Ev::Holds {
                process,
                channel,
                dir,
            } => Event::Holds {
                process,
                channel,
                send: dir == Direction::Send,
            },
            Ev::Comm {
                channel,
                writer,
                reader,
            } => Event::Comm {
                channel,
                writer,
                reader,
            },
            Ev::Take { channel, reader } => Event::Take { channel, reader },
            Ev::Block { process, on } => Event::Block {
                process,
                on: on.as_slice().iter().map(|&w| wait(w)).collect(),
            },
            Ev::Wake { process } => Event::Wake { process },
            Ev::Alt {
                process,
                guard,
                channel,
                event,
            } => Event::Alt {
                process,
                guard,
                channel,
                event: alt_event(event),
            },
            Ev::Poison { channel } => Event::Poison { channel },
            Ev::End { process, end, ran } => Event::End {
                process,
                end: self::end(end),
                ran_ns: ran.as_nanos() as u64,
            },
            Ev::Deadlock(d) => Event::Deadlock(deadlock(&d)),
            Ev::Value { channel, text } => Event::Value { channel, text },
        }
    }
}
