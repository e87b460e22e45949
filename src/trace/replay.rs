//! A recorded run, replayed: its state after any number of its events, as the
//! [`Snapshot`] a live watch would have given then, and its summary.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::{convert, End, Event, Trace, Wait};
use crate::deadlock::DeadlockReport;
use crate::observe::{ChannelState, Op, ProcessState, Snapshot, State, Waiting};
use crate::runtime::record::lock_std;
use crate::runtime::ProcessEnd;
use crate::wait::{Direction, WaitOn};

/// At most this many positions on the slider: a trace of fewer events has one per event.
const MAX_FRAMES: usize = 2000;
/// At most this many copies of the state are kept (`Replay::at` replays from the nearest
/// one before the position asked for)...
const CHECKPOINTS: usize = 64;
/// ... and at most about this many process and channel entries in all of them (a trace
/// of a million processes keeps 20, not 64 copies of its million entries).
const CHECKPOINT_ENTRIES: usize = 20_000_000;

/// How much one declared channel carried, as the replay counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSummary {
    /// Its name.
    pub name: String,
    /// Its declared type.
    pub ty: String,
    /// Values delivered (`Comm` events on it).
    pub carried: u64,
}

/// How one process ended, as the trace recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSummary {
    /// Its name.
    pub name: String,
    /// Its kind (empty for a process the header does not declare).
    pub kind: String,
    /// How long it ran.
    pub ran: Duration,
    /// How it ended.
    pub end: ProcessEnd,
}

struct ProcMeta {
    id: u64,
    name: String,
    /// The index of the event that declared it.
    from: usize,
}

struct ChanMeta {
    id: u64,
    name: Option<String>,
    ty: &'static str,
}

/// What changes from event to event.
#[derive(Clone)]
struct Live {
    /// How many events it has applied.
    n: usize,
    blocked: Vec<Option<Vec<Wait>>>,
    end: Vec<Option<(End, u64)>>,
    carried: Vec<u64>,
}

/// A trace, ready to be shown at any point of the run.
///
/// # Examples
/// ```
/// use occamy::trace::{Event, Header, Replay, TraceWriter};
/// let mut w = TraceWriter::new(Vec::new(), &Header::default()).unwrap();
/// w.write_events(&[
///     (0, Event::Process { id: 1, name: "a".into() }),
///     (5, Event::End { process: 1, end: occamy::trace::End::Ok, ran_ns: 5 }),
/// ]).unwrap();
/// let t = occamy::trace::read(&w.finish(9).unwrap()).unwrap();
/// let r = Replay::new(t);
/// assert_eq!(r.frames(), 3);
/// assert_eq!(r.at(1).processes[0].state, occamy::observe::State::Running);
/// assert!(r.at(2).finished);
/// ```
pub struct Replay {
    trace: Trace,
    procs: Vec<ProcMeta>,
    proc_at: HashMap<u64, usize>,
    chans: Vec<ChanMeta>,
    chan_at: HashMap<u64, usize>,
    /// (event index, process, channel, writing end) for every `Holds`.
    holds: Vec<(usize, usize, usize, bool)>,
    /// (event index, report) for every deadlock.
    deadlocks: Vec<(usize, DeadlockReport)>,
    frames: Vec<usize>,
    checkpoints: Vec<Live>,
    last: Mutex<Option<Live>>,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Replay({} events, {} processes)",
            self.trace.events.len(),
            self.procs.len()
        )
    }
}

impl Replay {
    /// Indexes `trace` for replay.
    pub fn new(trace: Trace) -> Replay {
        let mut procs = Vec::new();
        let mut proc_at = HashMap::new();
        let mut chans: Vec<ChanMeta> = Vec::new();
        let mut chan_at = HashMap::new();
        let mut holds = Vec::new();
        let mut deadlocks = Vec::new();
        let mut types: HashMap<String, &'static str> = HashMap::new();
        let mut chan = |id: u64, chans: &mut Vec<ChanMeta>| -> usize {
            *chan_at.entry(id).or_insert_with(|| {
                chans.push(ChanMeta {
                    id,
                    name: None,
                    ty: "?",
                });
                chans.len() - 1
            })
        };
        for (i, (_, e)) in trace.events.iter().enumerate() {
            match e {
                Event::Process { id, name } => {
                    proc_at.entry(*id).or_insert_with(|| {
                        procs.push(ProcMeta {
                            id: *id,
                            name: name.clone(),
                            from: i,
                        });
                        procs.len() - 1
                    });
                }
                Event::Channel { id, ty, .. } => {
                    let c = chan(*id, &mut chans);
                    // The snapshot's type is a `&'static str`: each distinct type name
                    // of a trace is leaked once.
                    chans[c].ty = types
                        .entry(ty.clone())
                        .or_insert_with(|| Box::leak(ty.clone().into_boxed_str()));
                }
                Event::Named { id, name } => {
                    let c = chan(*id, &mut chans);
                    chans[c].name.get_or_insert_with(|| name.clone());
                }
                Event::Holds {
                    process,
                    channel,
                    send,
                } => {
                    let c = chan(*channel, &mut chans);
                    if let Some(&p) = proc_at.get(process) {
                        holds.push((i, p, c, *send));
                    }
                }
                Event::Deadlock(d) => deadlocks.push((i, convert::report(d))),
                _ => {}
            }
        }
        let total = trace.events.len();
        let k = total.min(MAX_FRAMES);
        let frames = (0..=k).map(|f| f * total / k.max(1)).collect();
        let mut r = Replay {
            trace,
            procs,
            proc_at,
            chans,
            chan_at,
            holds,
            deadlocks,
            frames,
            checkpoints: Vec::new(),
            last: Mutex::new(None),
        };
        let entries = r.procs.len() + r.chans.len() + 1;
        let copies = (CHECKPOINT_ENTRIES / entries).clamp(1, CHECKPOINTS);
        let every = (total / copies).max(1024);
        let mut live = r.start();
        r.checkpoints.push(live.clone());
        while live.n < total {
            let to = (live.n + every).min(total);
            r.advance(&mut live, to);
            r.checkpoints.push(live.clone());
        }
        r
    }

    /// The trace it replays.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    fn start(&self) -> Live {
        Live {
            n: 0,
            blocked: vec![None; self.procs.len()],
            end: vec![None; self.procs.len()],
            carried: vec![0; self.chans.len()],
        }
    }

    fn advance(&self, live: &mut Live, to: usize) {
        for (_, e) in &self.trace.events[live.n..to] {
            match e {
                Event::Comm { channel, .. } => {
                    if let Some(&c) = self.chan_at.get(channel) {
                        live.carried[c] += 1;
                    }
                }
                Event::Block { process, on } => {
                    if let Some(&p) = self.proc_at.get(process) {
                        live.blocked[p] = Some(on.clone());
                    }
                }
                Event::Wake { process } => {
                    if let Some(&p) = self.proc_at.get(process) {
                        live.blocked[p] = None;
                    }
                }
                Event::End {
                    process,
                    end,
                    ran_ns,
                } => {
                    if let Some(&p) = self.proc_at.get(process) {
                        live.end[p] = Some((*end, *ran_ns));
                        live.blocked[p] = None;
                    }
                }
                _ => {}
            }
        }
        live.n = to;
    }

    /// The state after the first `n` events (at most all of them).
    fn live_after(&self, n: usize) -> Live {
        let n = n.min(self.trace.events.len());
        let mut cache = lock_std(&self.last);
        let mut live = match cache.take() {
            // Playing forwards: go on from where the last call stopped.
            Some(l) if l.n <= n && n - l.n < 4096 => l,
            _ => {
                let i = self.checkpoints.partition_point(|c| c.n <= n) - 1;
                self.checkpoints[i].clone()
            }
        };
        self.advance(&mut live, n);
        *cache = Some(live.clone());
        live
    }

    /// How many positions the slider has (at least 1; one per event and one for the
    /// start, for traces of up to 2,000 events).
    pub fn frames(&self) -> usize {
        self.frames.len()
    }

    /// How many events position `frame` has applied.
    pub fn events_at(&self, frame: usize) -> usize {
        self.frames[frame.min(self.frames.len() - 1)]
    }

    /// The time of position `frame`: that of its last event (the recording's end for
    /// the last position).
    pub fn time_of(&self, frame: usize) -> Duration {
        let n = self.events_at(frame);
        if frame + 1 >= self.frames.len() {
            return Duration::from_nanos(self.trace.end);
        }
        Duration::from_nanos(n.checked_sub(1).map_or(0, |i| self.trace.events[i].0))
    }

    /// The state of the run at position `frame`, as a live watch would have shown it.
    pub fn at(&self, frame: usize) -> Snapshot {
        let n = self.events_at(frame);
        let live = self.live_after(n);
        let at = self.time_of(frame);
        self.snapshot_of(&live, at)
    }

    fn snapshot_of(&self, live: &Live, at: Duration) -> Snapshot {
        let n = live.n;
        let declared = self.procs.partition_point(|p| p.from < n);
        // Channels in order of their first holder (processes in declaration order).
        let mut held: Vec<&(usize, usize, usize, bool)> =
            self.holds.iter().filter(|h| h.0 < n).collect();
        held.sort_by_key(|h| (self.procs[h.1].id, h.0));
        let mut channels: Vec<ChannelState> = Vec::new();
        let mut slot: HashMap<usize, usize> = HashMap::new();
        let mut holders: HashMap<(u64, Direction), Vec<u64>> = HashMap::new();
        for &&(_, p, c, send) in &held {
            let meta = &self.chans[c];
            let i = *slot.entry(c).or_insert_with(|| {
                let label = meta.name.clone().unwrap_or_else(|| format!("#{}", meta.id));
                channels.push(ChannelState {
                    id: meta.id,
                    name: meta.name.clone(),
                    label,
                    ty: meta.ty,
                    carried: live.carried[c],
                    writers: Vec::new(),
                    readers: Vec::new(),
                });
                channels.len() - 1
            });
            let pid = self.procs[p].id;
            let side = if send {
                &mut channels[i].writers
            } else {
                &mut channels[i].readers
            };
            if !side.contains(&pid) {
                side.push(pid);
            }
            if live.end[p].is_none() {
                let dir = if send {
                    Direction::Send
                } else {
                    Direction::Recv
                };
                let h = holders.entry((meta.id, dir)).or_default();
                if !h.contains(&pid) {
                    h.push(pid);
                }
            }
        }
        let label = |id: u64| {
            match self.chan_at.get(&id) {
                Some(&c) => self.chans[c].name.clone(),
                None => None,
            }
            .unwrap_or_else(|| format!("#{id}"))
        };
        let processes = (0..declared)
            .map(|p| {
                let meta = &self.procs[p];
                let state = match (&live.end[p], &live.blocked[p]) {
                    (Some((e, _)), _) => State::Ended(convert::process_end(*e)),
                    (None, Some(on)) => blocked(meta.id, on, &holders, &label),
                    (None, None) => State::Running,
                };
                ProcessState {
                    id: meta.id,
                    name: meta.name.clone(),
                    state,
                    ran: live.end[p].map(|(_, ns)| Duration::from_nanos(ns)),
                }
            })
            .collect();
        let all = n == self.trace.events.len();
        Snapshot {
            at,
            processes,
            channels,
            deadlocks: self
                .deadlocks
                .iter()
                .filter(|(i, _)| *i < n)
                .map(|(_, d)| d.clone())
                .collect(),
            finished: all && live.end.iter().all(Option::is_some),
        }
    }

    /// Per declared channel (in the header's order) the messages it carried, and per
    /// process that ended (in declaration order) how: what `occamy run --stats` printed
    /// for the run.
    pub fn summary(&self) -> (Vec<ChannelSummary>, Vec<ProcessSummary>) {
        let live = self.live_after(self.trace.events.len());
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        for (i, c) in self.chans.iter().enumerate() {
            if let Some(n) = &c.name {
                by_name.entry(n.as_str()).or_insert(i);
            }
        }
        let channels = self
            .trace
            .header
            .channels
            .iter()
            .map(|c| ChannelSummary {
                name: c.name.clone(),
                ty: c.ty.clone(),
                carried: by_name.get(c.name.as_str()).map_or(0, |&i| live.carried[i]),
            })
            .collect();
        let kinds: HashMap<&str, &str> = self
            .trace
            .header
            .processes
            .iter()
            .map(|p| (p.name.as_str(), p.kind.as_str()))
            .collect();
        let declared_only = !kinds.is_empty();
        let mut ended: Vec<(u64, ProcessSummary)> = Vec::new();
        for (p, meta) in self.procs.iter().enumerate() {
            let Some((end, ns)) = live.end[p] else {
                continue;
            };
            let kind = kinds.get(meta.name.as_str());
            if declared_only && kind.is_none() {
                continue; // a process of a nested run, not of the network
            }
            ended.push((
                meta.id,
                ProcessSummary {
                    name: meta.name.clone(),
                    kind: kind.unwrap_or(&"").to_string(),
                    ran: Duration::from_nanos(ns),
                    end: convert::process_end(end),
                },
            ));
        }
        ended.sort_by_key(|(id, _)| *id);
        (channels, ended.into_iter().map(|(_, p)| p).collect())
    }
}

/// A blocked process's state, as `observe` makes it from its wait entries.
fn blocked(
    me: u64,
    on: &[Wait],
    holders: &HashMap<(u64, Direction), Vec<u64>>,
    label: &dyn Fn(u64) -> String,
) -> State {
    let timeout = on.contains(&Wait::Timer);
    let waits: Vec<Waiting> = on
        .iter()
        .filter(|w| **w != Wait::Timer)
        .map(|&w| {
            let on = convert::wait_on(w);
            let (id, peers) = match on {
                WaitOn::Channel { id, dir } => {
                    let other = match dir {
                        Direction::Send => Direction::Recv,
                        Direction::Recv => Direction::Send,
                    };
                    let peers = holders
                        .get(&(id, other))
                        .map(|v| v.iter().copied().filter(|&p| p != me).collect())
                        .unwrap_or_default();
                    (id, peers)
                }
                WaitOn::Barrier { id } => (id, Vec::new()),
                WaitOn::Timer => (0, Vec::new()),
            };
            Waiting {
                on,
                label: label(id),
                peers,
            }
        })
        .collect();
    let op = Op::of(&waits);
    State::Blocked {
        op,
        timeout,
        on: waits,
    }
}

#[cfg(feature = "viz")]
impl crate::viz::Timeline for Replay {
    fn frames(&self) -> usize {
        Replay::frames(self)
    }
    fn time_of(&self, frame: usize) -> Duration {
        Replay::time_of(self, frame)
    }
    fn at(&self, frame: usize) -> Snapshot {
        Replay::at(self, frame)
    }
}
