//! The read-only observation layer: what a viewer, a terminal table or a recorder can
//! learn about a run while it runs and after it ended, read from the records the runtime
//! keeps anyway (what each process holds and waits on, how it ended), the channels'
//! counters and the deadlock monitor's verdicts.
//!
//! Nothing here writes to a record or a channel, and nothing on a channel's or a
//! scheduler's path calls into it: a [`Watch`] that nobody asks for a
//! [`Snapshot`] costs nothing but the pointer a run keeps to it. A snapshot takes
//! each process's record locks and each channel's lock once, briefly, the same
//! locks the deadlock monitor takes every check; it reads records, not threads or
//! tasks, so it is the same under both schedulers.
//!
//! A run joins a watch through [`Runtime::watch`](crate::Runtime::watch), and so does
//! every run started inside one of its processes (a nested `par` or `spawn`). When a run
//! ends, its records stay with the watch (the runtime would otherwise let them go), so
//! that the final state can still be shown; dropping the last clone of the watch lets
//! them go.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use super::group::Group;
use super::held::Held;
use super::record::{lock_std, ProcessInfo, Record};
use super::ProcessEnd;
use crate::deadlock::DeadlockReport;
use crate::wait::{Direction, WaitOn};

/// A handle through which runs can be observed while they run and after they end; clones
/// share the same runs. Attach it to a run with [`Runtime::watch`](crate::Runtime::watch),
/// then take [`snapshot`](Watch::snapshot)s from any thread.
///
/// # Examples
/// ```
/// use occamy::observe::{State, Watch};
/// use occamy::{Process, ProcessEnd, Runtime};
/// let watch = Watch::new();
/// let (tx, rx) = occamy::channel::<u32>();
/// tx.set_name("numbers");
/// let out = Runtime::new().watch(&watch).run([
///     Process::with("source", tx, |tx| -> occamy::Result { for i in 0..3 { tx.send(i)?; } Ok(()) }),
///     Process::with("sink", rx, |rx| -> occamy::Result { while rx.recv().is_ok() {} Ok(()) }),
/// ]);
/// assert!(out.result.is_ok());
/// // After the run, the watch still shows how it ended.
/// let snap = watch.snapshot();
/// assert!(snap.finished);
/// assert!(snap.processes.iter().all(|p| p.state == State::Ended(ProcessEnd::Ok)));
/// assert_eq!(snap.channels[0].label, "numbers");
/// assert_eq!(snap.channels[0].carried, 3);
/// ```
#[derive(Clone)]
pub struct Watch {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    runs: Mutex<Vec<Run>>,
    /// Bumped whenever a run starts or ends: [`Watch::wait_for_change`] waits on it.
    epoch: AtomicU64,
    changed: Condvar,
    created: Instant,
}

/// One run attached to a watch.
struct Run {
    group: Arc<Group>,
    /// The records the group let go of (it does once the run is concluded, and a
    /// declared network's may do so more than once).
    kept: Vec<Arc<Record>>,
    /// Whether the group has let go of its records at least once.
    released: bool,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let runs = lock_std(&self.inner.runs);
        let ended = runs.iter().filter(|r| r.released).count();
        write!(f, "Watch({} runs, {ended} ended)", runs.len())
    }
}

impl Default for Watch {
    fn default() -> Watch {
        Watch::new()
    }
}

impl Watch {
    /// A watch with no runs yet.
    pub fn new() -> Watch {
        Watch {
            inner: Arc::new(Inner {
                runs: Mutex::new(Vec::new()),
                epoch: AtomicU64::new(0),
                changed: Condvar::new(),
                created: Instant::now(),
            }),
        }
    }

    /// The weak form a run's group keeps (a strong one would keep the group alive through
    /// the watch, and the watch through the group).
    pub(crate) fn downgrade(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    /// Whether two handles are clones of one watch.
    pub fn same(&self, other: &Watch) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    fn bump(&self) {
        let _g = lock_std(&self.inner.runs);
        self.inner.epoch.fetch_add(1, Ordering::AcqRel);
        self.inner.changed.notify_all();
    }

    /// Whether a run has been attached and every attached run has ended.
    pub fn finished(&self) -> bool {
        self.records().2
    }

    /// Waits until a run starts or ends, or `timeout` passes; returns whether one did.
    ///
    /// # Blocking
    /// Blocks for at most `timeout`.
    pub fn wait_for_change(&self, since: u64, timeout: Duration) -> bool {
        let runs = lock_std(&self.inner.runs);
        let (_runs, _) = self
            .inner
            .changed
            .wait_timeout_while(runs, timeout, |_| {
                self.inner.epoch.load(Ordering::Acquire) == since
            })
            .unwrap_or_else(|e| e.into_inner());
        self.inner.epoch.load(Ordering::Acquire) != since
    }

    /// A counter that moves whenever a run starts or ends (for [`Watch::wait_for_change`]).
    pub fn epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::Acquire)
    }

    /// The records of every attached run, in declaration order, and the deadlocks found.
    fn records(&self) -> (Vec<Arc<Record>>, Vec<DeadlockReport>, bool) {
        let runs = lock_std(&self.inner.runs);
        let mut all = Vec::new();
        let mut deadlocks = Vec::new();
        let mut released = !runs.is_empty();
        for r in runs.iter() {
            all.extend(r.kept.iter().cloned());
            all.extend(r.group.records());
            released &= r.released;
            if let Some(d) = lock_std(&r.group.deadlock).clone() {
                deadlocks.push(d);
            }
        }
        drop(runs);
        // Concluded, and no process still running (a group may let go of its records
        // early, when the handle on a declared network is dropped while it runs).
        let finished = released && all.iter().all(|r| r.end().is_some());
        all.sort_by_key(|r| r.id);
        (all, deadlocks, finished)
    }

    /// What every process of the attached runs holds, waits on and how it ended, as
    /// [`processes()`](crate::processes) gives it (and as
    /// `occamy::graph::Graph::from_processes` takes it), including the
    /// processes that have ended.
    pub fn processes(&self) -> Vec<ProcessInfo> {
        self.records().0.iter().map(|r| r.info()).collect()
    }

    /// The state of every process and channel of the attached runs now.
    pub fn snapshot(&self) -> Snapshot {
        let (records, deadlocks, finished) = self.records();
        let at = self.inner.created.elapsed();
        snapshot_of(&records, deadlocks, finished, at)
    }
}

/// Called by a group as it is made for a run that asked to be watched.
pub(crate) fn attach(watch: &Weak<Inner>, group: &Arc<Group>) {
    if let Some(inner) = watch.upgrade() {
        lock_std(&inner.runs).push(Run {
            group: group.clone(),
            kept: Vec::new(),
            released: false,
        });
        Watch { inner }.bump();
    }
}

/// Called by a group as it lets go of its records (as its run ends), with them.
pub(crate) fn detach(watch: &Weak<Inner>, group: &Group, records: Vec<Arc<Record>>) {
    if let Some(inner) = watch.upgrade() {
        if let Some(r) = lock_std(&inner.runs)
            .iter_mut()
            .find(|r| std::ptr::eq(Arc::as_ptr(&r.group), group))
        {
            r.kept.extend(records);
            r.released = true;
        }
        Watch { inner }.bump();
    }
}

/// What a blocked process waits to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Send on a channel.
    Send,
    /// Receive from a channel.
    Recv,
    /// The first of several operations (an alt).
    Alt,
    /// Synchronise on a barrier.
    Barrier,
    /// Only a timer (a sleep).
    Sleep,
}

impl Op {
    /// The operation a blocked process is in, from what it waits on (its timer aside): one
    /// channel end is a send or a receive, one barrier a barrier sync, several an alt,
    /// none a sleep. The live view and a replay both judge it this way.
    pub(crate) fn of(waits: &[Waiting]) -> Op {
        match waits {
            [] => Op::Sleep,
            [one] => match one.on {
                WaitOn::Channel {
                    dir: Direction::Send,
                    ..
                } => Op::Send,
                WaitOn::Channel {
                    dir: Direction::Recv,
                    ..
                } => Op::Recv,
                _ => Op::Barrier,
            },
            _ => Op::Alt,
        }
    }

    /// Its name in the viewer's events: `send`, `recv`, `alt`, `barrier`, `sleep`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Send => "send",
            Op::Recv => "recv",
            Op::Alt => "alt",
            Op::Barrier => "barrier",
            Op::Sleep => "sleep",
        }
    }
}

/// One thing a blocked process waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// What it waits on.
    pub on: WaitOn,
    /// The channel's or barrier's name (or `#id`); empty for a timer.
    pub label: String,
    /// The live processes at the other end (their ids): who it waits for.
    pub peers: Vec<u64>,
}

/// How a process is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Running, or ready to run.
    Running,
    /// Parked on channel operations, a barrier or a timer.
    Blocked {
        /// What it waits to do.
        op: Op,
        /// Whether a timeout may end the wait too.
        timeout: bool,
        /// What it waits on (timers left out), with who is at the other end.
        on: Vec<Waiting>,
    },
    /// Parked on something outside occamy (an offloaded call, a foreign future).
    Elsewhere,
    /// Ended, and how.
    Ended(ProcessEnd),
}

impl State {
    /// A short name: `running`, `send`, `recv`, `alt`, `barrier`, `sleep`, `elsewhere`,
    /// or how it ended (`ok`, `poisoned`, `retired`, `failed`, `panicked`).
    pub fn name(&self) -> String {
        match self {
            State::Running => "running".into(),
            State::Blocked { op, .. } => op.as_str().into(),
            State::Elsewhere => "elsewhere".into(),
            State::Ended(e) => e.to_string(),
        }
    }
}

/// One process in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessState {
    /// Its id ([`ProcessInfo::id`]).
    pub id: u64,
    /// Its name.
    pub name: String,
    /// How it is doing.
    pub state: State,
    /// How long it ran, once it has ended.
    pub ran: Option<Duration>,
}

/// One channel in a [`Snapshot`]: every channel some process of the runs holds an end of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelState {
    /// The channel's runtime id.
    pub id: u64,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// Its name, or `#id`.
    pub label: String,
    /// Its element type (Rust's name for it).
    pub ty: &'static str,
    /// Values delivered so far.
    pub carried: u64,
    /// The processes holding its writing end (ids).
    pub writers: Vec<u64>,
    /// The processes holding its reading end (ids).
    pub readers: Vec<u64>,
}

/// The state of the observed runs at one moment (each process and channel read in turn,
/// not all at one instant: a process may be seen blocked on a channel whose counter was
/// read a moment later).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// When it was taken, from the watch's creation.
    pub at: Duration,
    /// Every process that has started, in declaration order.
    pub processes: Vec<ProcessState>,
    /// Every channel held by one of them, in order of first holder.
    pub channels: Vec<ChannelState>,
    /// The deadlocks found so far (one per run at most).
    pub deadlocks: Vec<DeadlockReport>,
    /// Whether every attached run has ended.
    pub finished: bool,
}

impl Snapshot {
    /// Messages per second on each channel between `earlier` and this snapshot, in the
    /// order of [`Snapshot::channels`] (0 for a channel `earlier` did not have).
    ///
    /// # Examples
    /// ```
    /// let s = occamy::observe::Snapshot::default();
    /// assert!(s.rates_since(&s).is_empty());
    /// ```
    pub fn rates_since(&self, earlier: &Snapshot) -> Vec<f64> {
        let dt = self.at.saturating_sub(earlier.at).as_secs_f64();
        let before: HashMap<u64, u64> =
            earlier.channels.iter().map(|c| (c.id, c.carried)).collect();
        self.channels
            .iter()
            .map(|c| match before.get(&c.id) {
                Some(&b) if dt > 0.0 => c.carried.saturating_sub(b) as f64 / dt,
                _ => 0.0,
            })
            .collect()
    }
}

fn snapshot_of(
    records: &[Arc<Record>],
    deadlocks: Vec<DeadlockReport>,
    finished: bool,
    at: Duration,
) -> Snapshot {
    // Who holds what, and each channel once.
    let mut holders: HashMap<(u64, Option<Direction>), Vec<u64>> = HashMap::new();
    let mut channels: Vec<ChannelState> = Vec::new();
    let mut chan_at: HashMap<u64, usize> = HashMap::new();
    // Keyed by (id, is a barrier): channels and barriers number their ids apart, so a
    // channel and a barrier may share one.
    let mut labels: HashMap<(u64, bool), String> = HashMap::new();
    let mut ended: Vec<Option<(ProcessEnd, Duration)>> = Vec::with_capacity(records.len());
    for r in records {
        let finish = r.end();
        ended.push(finish);
        let end = finish.map(|e| e.0);
        for h in r.held() {
            match h {
                Held::Chan(c, d) => {
                    let i = *chan_at.entry(c.id()).or_insert_with(|| {
                        let name = c.name().map(str::to_string);
                        let label = name.clone().unwrap_or_else(|| format!("#{}", c.id()));
                        channels.push(ChannelState {
                            id: c.id(),
                            name,
                            label,
                            ty: c.type_name(),
                            carried: c.carried(),
                            writers: Vec::new(),
                            readers: Vec::new(),
                        });
                        channels.len() - 1
                    });
                    let side = match d {
                        Direction::Send => &mut channels[i].writers,
                        Direction::Recv => &mut channels[i].readers,
                    };
                    if !side.contains(&r.id) {
                        side.push(r.id);
                    }
                    if end.is_none() {
                        holders.entry((c.id(), Some(d))).or_default().push(r.id);
                    }
                }
                Held::Barrier(b) => {
                    labels.entry((b.id(), true)).or_insert_with(|| b.label());
                    if end.is_none() {
                        holders.entry((b.id(), None)).or_default().push(r.id);
                    }
                }
            }
        }
    }
    for c in &channels {
        labels.insert((c.id, false), c.label.clone());
    }
    let processes = records
        .iter()
        .zip(ended)
        .map(|(r, end)| ProcessState {
            id: r.id,
            name: r.name.to_string(),
            state: match end {
                Some((e, _)) => State::Ended(e),
                None => state_of(r, &holders, &labels),
            },
            ran: end.map(|(_, ran)| ran),
        })
        .collect();
    Snapshot {
        at,
        processes,
        channels,
        deadlocks,
        finished,
    }
}

/// The state of a live process, from its park flag and wait entries.
fn state_of(
    r: &Record,
    holders: &HashMap<(u64, Option<Direction>), Vec<u64>>,
    labels: &HashMap<(u64, bool), String>,
) -> State {
    if !r.parked.load(Ordering::Acquire) {
        return State::Running;
    }
    let on: Vec<WaitOn> = r.waits();
    if on.is_empty() {
        // Its wait ended (the signal fired and left the queue) and it is about to run; or
        // it waits on something outside occamy.
        return if r.driver.get().is_some_and(|d| d.woken()) {
            State::Running
        } else {
            State::Elsewhere
        };
    }
    let timeout = on.contains(&WaitOn::Timer);
    let ops: Vec<Waiting> = on
        .iter()
        .filter(|w| **w != WaitOn::Timer)
        .map(|&w| {
            let (id, key) = match w {
                WaitOn::Channel { id, dir } => (
                    id,
                    Some(match dir {
                        Direction::Send => Direction::Recv,
                        Direction::Recv => Direction::Send,
                    }),
                ),
                WaitOn::Barrier { id } => (id, None),
                WaitOn::Timer => unreachable!("timers are filtered out"),
            };
            let peers = holders
                .get(&(id, key))
                .map(|v| v.iter().copied().filter(|&p| p != r.id).collect())
                .unwrap_or_default();
            Waiting {
                on: w,
                label: labels
                    .get(&(id, key.is_none()))
                    .cloned()
                    .unwrap_or_else(|| format!("#{id}")),
                peers,
            }
        })
        .collect();
    let op = Op::of(&ops);
    State::Blocked {
        op,
        timeout,
        on: ops,
    }
}
