//! Deadlock detection: finding processes that wait on each other for ever, and saying
//! where.
//!
//! A monitor thread looks at the process records every check interval (200 ms by
//! default, [`set_deadlock_check_interval`]). A process is a *candidate* when it is
//! blocked on channel operations or a barrier sync with no timeout pending and its signal
//! has not fired. A candidate can still be woken if, for any one thing it waits on, some
//! process at the other end is not a candidate (it may yet act), or the other end is held
//! by something the runtime does not know of (an end no process has declared or used, a
//! plain thread): such candidates are removed, repeatedly, until none can be. What is
//! left can never be woken: every one of them waits only on others of them. Because a
//! snapshot is not atomic, the verdict counts only when a later check finds the same
//! processes still blocked in the same waits (same wait sequence numbers), so a network
//! that is merely busy, or a rendezvous in progress, is never reported.
//!
//! This finds total deadlocks and partial ones (a cycle of blocked processes while others
//! keep running) alike. Ends are known to the runtime once a process has used them, or
//! from the start when it was declared with [`Process::with`](crate::Process::with) (the
//! launcher declares every process's ends); declare them so that processes that block
//! before using some of their ends are judged too.
//!
//! On a deadlock the report goes to the `par` that started the processes: with
//! [`OnDeadlock::Poison`] (the default) every channel its processes hold is poisoned, so
//! the whole network stops and `par` returns a [`Failure::Deadlock`](crate::Failure)
//! error; with [`OnDeadlock::Warn`] the report is logged and kept, and the rest runs on.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use crate::record::{live, lock_std, Held, Record};
use crate::wait::{Direction, WaitOn};

/// What to do when a deadlock is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDeadlock {
    /// Poison the network so that everything stops; `par` returns the deadlock as its
    /// error.
    #[default]
    Poison,
    /// Only report it (to `tracing`, and in [`ParOutcome`](crate::ParOutcome)); the rest
    /// of the network runs on.
    Warn,
}

/// One operation a deadlocked process waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedOp {
    /// What it waits on.
    pub on: WaitOn,
    /// The channel's (or barrier's) name: its name, or `#id`.
    pub label: String,
    /// The processes at the other end.
    pub peers: Vec<String>,
}

/// A deadlocked process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedProcess {
    /// Its name.
    pub name: String,
    /// Whether it waits in an alt (several operations at once).
    pub alt: bool,
    /// What it waits on.
    pub ops: Vec<BlockedOp>,
}

/// A deadlock: the processes that wait on each other for ever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlockReport {
    /// Every deadlocked process.
    pub blocked: Vec<BlockedProcess>,
    /// A waits-for cycle among them, in order (the last waits for the first).
    pub cycle: Vec<String>,
    /// Whether other processes were still running (a partial deadlock).
    pub partial: bool,
}

impl BlockedProcess {
    fn describe(&self) -> String {
        let ops: Vec<String> = self.ops.iter().map(describe_op).collect();
        if self.alt {
            format!("{} waits in an alt to {}", self.name, ops.join(" or "))
        } else {
            format!("{} waits to {}", self.name, ops.join(", "))
        }
    }
}

fn describe_op(op: &BlockedOp) -> String {
    let peers = if op.peers.is_empty() {
        "nobody".to_string()
    } else {
        op.peers.join(", ")
    };
    match op.on {
        WaitOn::Channel {
            dir: Direction::Send,
            ..
        } => format!("send on {} to {peers}", op.label),
        WaitOn::Channel {
            dir: Direction::Recv,
            ..
        } => format!("receive on {} from {peers}", op.label),
        WaitOn::Barrier { .. } => format!("sync on barrier {} with {peers}", op.label),
        WaitOn::Timer => "wait for a timer".to_string(),
    }
}

impl fmt::Display for DeadlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}deadlock: ",
            if self.partial { "partial " } else { "" }
        )?;
        let in_cycle = |n: &str| self.cycle.iter().any(|c| c == n);
        let mut first = true;
        for name in &self.cycle {
            if let Some(b) = self.blocked.iter().find(|b| &b.name == name) {
                write!(f, "{}{}", if first { "" } else { "; " }, b.describe())?;
                first = false;
            }
        }
        for b in self.blocked.iter().filter(|b| !in_cycle(&b.name)) {
            write!(f, "{}{}", if first { "" } else { "; " }, b.describe())?;
            first = false;
        }
        Ok(())
    }
}

static INTERVAL_MS: AtomicU64 = AtomicU64::new(200);
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Sets how often the deadlock monitor looks (default 200 ms). A deadlock is reported
/// between one and two intervals after it happens.
pub fn set_deadlock_check_interval(every: Duration) {
    INTERVAL_MS.store(
        every.as_millis().clamp(1, u64::MAX as u128) as u64,
        Ordering::Relaxed,
    );
}

/// Turns deadlock detection on or off for the whole program (on by default).
pub fn set_deadlock_detection(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Starts the monitor thread, once.
pub(crate) fn ensure_monitor() {
    static START: Once = Once::new();
    START.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("occamy-deadlock".into())
            .spawn(monitor);
    });
}

fn monitor() {
    let mut previous: HashMap<u64, Blocked> = HashMap::new();
    let mut reported: HashSet<Vec<u64>> = HashSet::new();
    loop {
        std::thread::sleep(Duration::from_millis(INTERVAL_MS.load(Ordering::Relaxed)));
        if !ENABLED.load(Ordering::Relaxed) {
            previous.clear();
            continue;
        }
        let records = live();
        let now = blocked(&records);
        let stuck = eliminate(&records, &now);
        // Only what was already stuck, in the very same wait, at the previous check.
        let confirmed: HashMap<u64, Blocked> = stuck
            .iter()
            .filter(|id| previous.get(id) == Some(&now[id]))
            .map(|id| (*id, now[id].clone()))
            .collect();
        previous = stuck.iter().map(|id| (*id, now[id].clone())).collect();
        if confirmed.is_empty() {
            continue;
        }
        // Re-run the elimination on the confirmed set alone: a process that was stuck
        // only because of one that has since moved is not part of the verdict.
        let set = eliminate(&records, &confirmed);
        // And look once more: every member must still be in the very wait it was in.
        let again = blocked(&records);
        if set.is_empty() || set.iter().any(|id| again.get(id) != confirmed.get(id)) {
            continue;
        }
        let mut key: Vec<u64> = set.iter().copied().collect();
        key.sort();
        if !reported.insert(key) {
            continue;
        }
        let mut members: Vec<&Arc<Record>> =
            records.iter().filter(|r| set.contains(&r.id)).collect();
        members.sort_by_key(|r| r.id);
        let report = build_report(&records, &members, &confirmed);
        act(&records, &members, report);
    }
}

/// A blocked process as one look saw it: what it waits on, and which wait it is.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Blocked {
    on: Vec<WaitOn>,
    seq: u64,
}

/// The processes blocked now on channels or barriers (no timer), whose signal has not
/// fired.
fn blocked(records: &[Arc<Record>]) -> HashMap<u64, Blocked> {
    let mut out = HashMap::new();
    for r in records {
        let w = lock_std(&r.wait);
        let fired = w.sig.as_ref().is_some_and(|s| s.outcome().is_some());
        if !w.on.is_empty() && !w.on.contains(&WaitOn::Timer) && !fired {
            out.insert(
                r.id,
                Blocked {
                    on: w.on.clone(),
                    seq: w.seq,
                },
            );
        }
    }
    out
}

/// Who holds what: per channel and direction, and per barrier, the live records.
struct Holders {
    chans: HashMap<(u64, Direction), Vec<u64>>,
    barriers: HashMap<u64, Vec<u64>>,
    /// Live ends per channel: (senders, receivers).
    ends: HashMap<u64, (usize, usize)>,
    /// Enrolled parties per barrier.
    enrolled: HashMap<u64, usize>,
}

fn holders(records: &[Arc<Record>]) -> Holders {
    let mut h = Holders {
        chans: HashMap::new(),
        barriers: HashMap::new(),
        ends: HashMap::new(),
        enrolled: HashMap::new(),
    };
    for r in records {
        for held in lock_std(&r.held).iter() {
            match held {
                Held::Chan(c, d) => {
                    h.chans.entry((c.id, *d)).or_default().push(r.id);
                    h.ends.entry(c.id).or_insert_with(|| c.ends());
                }
                Held::Barrier(b) => {
                    h.barriers.entry(b.id).or_default().push(r.id);
                    h.enrolled
                        .entry(b.id)
                        .or_insert_with(|| crate::barrier::enrolled(b));
                }
            }
        }
    }
    h
}

/// The members of `waits` that nothing outside them could wake: repeatedly removes every
/// one that something outside the remaining set could.
fn eliminate(records: &[Arc<Record>], waits: &HashMap<u64, Blocked>) -> HashSet<u64> {
    let mut set: HashSet<u64> = waits.keys().copied().collect();
    if set.is_empty() {
        return set;
    }
    let h = holders(records);
    loop {
        let before = set.len();
        let current = set.clone();
        set.retain(|id| {
            let on = &waits[id].on;
            !on.is_empty() && !on.iter().any(|w| could_wake(w, &h, &current))
        });
        if set.len() == before {
            return set;
        }
    }
}

/// Whether something outside `stuck` could complete the wait `w`.
fn could_wake(w: &WaitOn, h: &Holders, stuck: &HashSet<u64>) -> bool {
    match *w {
        WaitOn::Channel { id, dir } => {
            let other = match dir {
                Direction::Send => Direction::Recv,
                Direction::Recv => Direction::Send,
            };
            let peers = h.chans.get(&(id, other)).map(Vec::as_slice).unwrap_or(&[]);
            let (s, r) = h.ends.get(&id).copied().unwrap_or((usize::MAX, usize::MAX));
            let live_ends = if other == Direction::Send { s } else { r };
            let mut distinct: Vec<u64> = peers.to_vec();
            distinct.sort();
            distinct.dedup();
            // No ends left: the channel has retired, which fires every waiter. An end
            // that no live process is known to hold may be used by anyone.
            live_ends == 0
                || distinct.len() < live_ends
                || distinct.iter().any(|p| !stuck.contains(p))
        }
        WaitOn::Barrier { id } => {
            let parties = h.barriers.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            let enrolled = h.enrolled.get(&id).copied().unwrap_or(usize::MAX);
            let mut distinct: Vec<u64> = parties.to_vec();
            distinct.sort();
            distinct.dedup();
            distinct.len() < enrolled || distinct.iter().any(|p| !stuck.contains(p))
        }
        WaitOn::Timer => true,
    }
}

fn build_report(
    records: &[Arc<Record>],
    members: &[&Arc<Record>],
    waits: &HashMap<u64, Blocked>,
) -> DeadlockReport {
    let h = holders(records);
    let name_of: HashMap<u64, &str> = records.iter().map(|r| (r.id, r.name.as_str())).collect();
    let set: HashSet<u64> = members.iter().map(|r| r.id).collect();
    // Channel ids count up from 1 and barrier ids are stored as `u64::MAX - id`: one map
    // for both, without collisions in any program that makes fewer than 2^63 of them.
    let mut labels: HashMap<u64, String> = HashMap::new();
    for r in records {
        for held in lock_std(&r.held).iter() {
            match held {
                Held::Chan(c, _) => {
                    labels.entry(c.id).or_insert_with(|| {
                        c.name()
                            .map_or_else(|| format!("#{}", c.id), str::to_string)
                    });
                }
                Held::Barrier(b) => {
                    labels
                        .entry(u64::MAX - b.id)
                        .or_insert_with(|| crate::barrier::label(b));
                }
            }
        }
    }
    let mut edges: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut blocked = Vec::new();
    for r in members {
        let on = waits[&r.id].on.clone();
        let mut ops = Vec::new();
        for w in &on {
            let (label, peer_ids): (String, Vec<u64>) = match *w {
                WaitOn::Channel { id, dir } => {
                    let other = if dir == Direction::Send {
                        Direction::Recv
                    } else {
                        Direction::Send
                    };
                    let peers = h.chans.get(&(id, other)).cloned().unwrap_or_default();
                    (
                        labels.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
                        peers,
                    )
                }
                WaitOn::Barrier { id } => {
                    // The parties it waits for: those not waiting on this barrier themselves.
                    let parties = h.barriers.get(&id).cloned().unwrap_or_default();
                    let waiting_here = |p: &u64| {
                        waits
                            .get(p)
                            .is_some_and(|b| b.on.contains(&WaitOn::Barrier { id }))
                    };
                    let missing = parties
                        .into_iter()
                        .filter(|p| *p != r.id && !waiting_here(p))
                        .collect();
                    let label = labels
                        .get(&(u64::MAX - id))
                        .cloned()
                        .unwrap_or_else(|| format!("#{id}"));
                    (label, missing)
                }
                WaitOn::Timer => (String::new(), vec![]),
            };
            let mut peer_ids: Vec<u64> = peer_ids.into_iter().filter(|p| *p != r.id).collect();
            peer_ids.sort();
            peer_ids.dedup();
            edges
                .entry(r.id)
                .or_default()
                .extend(peer_ids.iter().filter(|p| set.contains(p)));
            ops.push(BlockedOp {
                on: *w,
                label,
                peers: peer_ids
                    .iter()
                    .filter_map(|p| name_of.get(p).map(|s| s.to_string()))
                    .collect(),
            });
        }
        blocked.push(BlockedProcess {
            name: r.name.clone(),
            alt: on.len() > 1,
            ops,
        });
    }
    let mut ids: Vec<u64> = members.iter().map(|r| r.id).collect();
    ids.sort();
    let cycle = find_cycle(ids, &edges)
        .into_iter()
        .filter_map(|id| name_of.get(&id).map(|s| s.to_string()))
        .collect();
    let partial = records.len() > members.len();
    DeadlockReport {
        blocked,
        cycle,
        partial,
    }
}

/// A cycle in the waits-for graph (every member of a deadlocked set waits on another
/// member, so one exists); empty if none is found.
fn find_cycle(nodes: Vec<u64>, edges: &HashMap<u64, Vec<u64>>) -> Vec<u64> {
    let Some(&start) = nodes.first() else {
        return vec![];
    };
    // Walk successors until a node repeats: with every node having a successor in the
    // set, the walk must loop.
    let mut path: Vec<u64> = vec![start];
    let mut at = start;
    loop {
        let Some(&next) = edges.get(&at).and_then(|e| e.first()) else {
            return vec![];
        };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            // Start the cycle at its first-declared process, so reports read the same
            // every time.
            let mut cycle = path[pos..].to_vec();
            let min = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, id)| **id)
                .map_or(0, |(i, _)| i);
            cycle.rotate_left(min);
            return cycle;
        }
        path.push(next);
        at = next;
    }
}

fn act(records: &[Arc<Record>], members: &[&Arc<Record>], report: DeadlockReport) {
    tracing::info!("{report}");
    let mut groups = Vec::new();
    for m in members {
        if !groups.iter().any(|g| Arc::ptr_eq(g, &m.group)) {
            groups.push(m.group.clone());
        }
    }
    for g in &groups {
        let mut d = lock_std(&g.deadlock);
        if d.is_none() {
            *d = Some(report.clone());
        }
    }
    for g in groups
        .iter()
        .filter(|g| g.on_deadlock == OnDeadlock::Poison)
    {
        for r in records.iter().filter(|r| Arc::ptr_eq(&r.group, g)) {
            r.poison_held();
        }
    }
}
