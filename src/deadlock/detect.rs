//! The judgement itself, a pure function of snapshots (see the module docs above): which
//! blocked processes nothing outside them can wake, confirmed across two looks, and the
//! report that names them.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{BlockedOp, BlockedProcess, DeadlockReport};
use crate::wait::{Direction, WaitOn};

/// A blocked process as one look saw it: what it waits on, and which wait it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Blocked {
    pub(crate) on: Vec<WaitOn>,
    pub(crate) seq: u64,
}

/// Something a process holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Res {
    Chan(u64, Direction),
    Barrier(u64),
}

/// One live process in a snapshot.
#[derive(Clone, Debug)]
pub(crate) struct ProcSnap {
    pub(crate) id: u64,
    pub(crate) held: Vec<Res>,
    /// Its wait, if it is a candidate (see the module docs).
    pub(crate) blocked: Option<Blocked>,
}

/// The live processes, and per channel its live ends and per barrier its parties.
#[derive(Clone, Debug, Default)]
pub(crate) struct Snapshot {
    /// In id order (lookups by id are binary searches).
    pub(crate) procs: Vec<ProcSnap>,
    /// Per channel id: (live writers, live readers).
    pub(crate) ends: HashMap<u64, (usize, usize)>,
    /// Per barrier id: enrolled parties.
    pub(crate) enrolled: HashMap<u64, usize>,
}

fn other(d: Direction) -> Direction {
    match d {
        Direction::Send => Direction::Recv,
        Direction::Recv => Direction::Send,
    }
}

/// What a wait needs from the other side: the resource whose holders could complete it.
fn target(w: &WaitOn) -> Option<Res> {
    match *w {
        WaitOn::Channel { id, dir } => Some(Res::Chan(id, other(dir))),
        WaitOn::Barrier { id } => Some(Res::Barrier(id)),
        WaitOn::Timer => None,
    }
}

/// Who holds what: per resource, the distinct processes holding it.
/// A resource as one sortable number (channel and barrier ids are counters, far below
/// 2^62).
fn key(r: Res) -> u64 {
    match r {
        Res::Chan(id, Direction::Send) => id << 2,
        Res::Chan(id, Direction::Recv) => (id << 2) | 1,
        Res::Barrier(id) => (id << 2) | 2,
    }
}

/// Processes per resource, as one sorted list of (resource, process) pairs rather than a
/// map of small vectors: a snapshot of a million blocked processes then costs two flat
/// arrays, not two million allocations.
struct ByRes {
    keys: Vec<u64>,
    ids: Vec<u64>,
}

impl ByRes {
    fn new(mut pairs: Vec<(u64, u64)>) -> ByRes {
        pairs.sort_unstable();
        pairs.dedup();
        let (keys, ids) = pairs.into_iter().unzip();
        ByRes { keys, ids }
    }

    /// The processes for `r`, sorted.
    fn get(&self, r: &Res) -> &[u64] {
        let k = key(*r);
        let lo = self.keys.partition_point(|x| *x < k);
        let hi = lo + self.keys[lo..].partition_point(|x| *x == k);
        &self.ids[lo..hi]
    }
}

fn holders(s: &Snapshot) -> ByRes {
    ByRes::new(
        s.procs
            .iter()
            .flat_map(|p| p.held.iter().map(|r| (key(*r), p.id)))
            .collect(),
    )
}

impl Snapshot {
    /// Process `id` (the processes are in id order).
    fn proc(&self, id: u64) -> Option<&ProcSnap> {
        let i = self.procs.partition_point(|p| p.id < id);
        self.procs.get(i).filter(|p| p.id == id)
    }

    /// The candidates' waits.
    pub(crate) fn blocked(&self) -> HashMap<u64, Blocked> {
        self.procs
            .iter()
            .filter_map(|p| Some((p.id, p.blocked.clone()?)))
            .collect()
    }

    /// Whether something the runtime cannot see (an end no live process holds, or a
    /// retirement, which fires every waiter) could complete a wait on `t`, whoever is stuck.
    fn open(&self, t: Res, holders: &[u64]) -> bool {
        match t {
            Res::Chan(id, dir) => {
                let (s, r) = self
                    .ends
                    .get(&id)
                    .copied()
                    .unwrap_or((usize::MAX, usize::MAX));
                let live = if dir == Direction::Send { s } else { r };
                live == 0 || holders.len() < live
            }
            Res::Barrier(id) => {
                holders.len() < self.enrolled.get(&id).copied().unwrap_or(usize::MAX)
            }
        }
    }
}

/// The members of `waits` that nothing outside them could wake: removes, with a work list,
/// every one that something outside the remaining set could wake (one pass over the
/// waits-for edges, so a ring of a million processes costs a million steps, not a million
/// squared).
pub(crate) fn eliminate(s: &Snapshot, waits: &HashMap<u64, Blocked>) -> HashSet<u64> {
    let mut stuck: HashSet<u64> = waits
        .iter()
        .filter(|(_, b)| !b.on.is_empty() && !b.on.contains(&WaitOn::Timer))
        .map(|(id, _)| *id)
        .collect();
    if stuck.is_empty() {
        return stuck;
    }
    let holders = holders(s);
    let held_by = |t: &Res| holders.get(t);
    // Per target: holders outside the stuck set; and who waits on it.
    let mut outside: HashMap<u64, usize> = HashMap::new();
    let mut waiting = Vec::new();
    for (id, b) in waits.iter().filter(|(id, _)| stuck.contains(id)) {
        for t in b.on.iter().filter_map(target) {
            waiting.push((key(t), *id));
            outside
                .entry(key(t))
                .or_insert_with(|| held_by(&t).iter().filter(|p| !stuck.contains(p)).count());
        }
    }
    let waiters = ByRes::new(waiting);
    let wakeable = |id: u64, outside: &HashMap<u64, usize>| {
        waits[&id]
            .on
            .iter()
            .filter_map(target)
            .any(|t| outside.get(&key(t)).copied().unwrap_or(0) > 0 || s.open(t, held_by(&t)))
    };
    let mut work: VecDeque<u64> = stuck
        .iter()
        .copied()
        .filter(|id| wakeable(*id, &outside))
        .collect();
    while let Some(id) = work.pop_front() {
        if !stuck.remove(&id) {
            continue;
        }
        // `id` may act: whoever waits on something it holds may be woken by it.
        for r in s.proc(id).map(|p| p.held.as_slice()).unwrap_or(&[]) {
            if let Some(n) = outside.get_mut(&key(*r)) {
                *n += 1;
                if *n == 1 {
                    for w in waiters.get(r) {
                        if stuck.contains(w) {
                            work.push_back(*w);
                        }
                    }
                }
            }
        }
    }
    stuck
}

/// The two-look confirmation: a verdict counts only for processes found stuck, in the
/// very same wait, at the previous check too.
#[derive(Default)]
pub(crate) struct Detector {
    previous: HashMap<u64, Blocked>,
    reported: HashSet<Vec<u64>>,
}

impl Detector {
    /// Looks at `s`; returns the deadlocked sets (each of sorted ids, with their waits),
    /// once confirmed, and never the same set twice. Independent deadlocks (no member of
    /// one waits on a member of another) are separate sets. The caller must then check
    /// with a fresh snapshot that every member is still in that wait
    /// ([`Detector::still`]).
    #[cfg_attr(not(all(feature = "mpi", feature = "launcher")), allow(dead_code))]
    pub(crate) fn check(&mut self, s: &Snapshot) -> Vec<(Vec<u64>, HashMap<u64, Blocked>)> {
        let now = s.blocked();
        let stuck = eliminate(s, &now);
        let confirmed: HashMap<u64, Blocked> = stuck
            .iter()
            .filter(|id| self.previous.get(id) == Some(&now[id]))
            .map(|id| (*id, now[id].clone()))
            .collect();
        self.previous = stuck.iter().map(|id| (*id, now[id].clone())).collect();
        self.verdicts(s, confirmed)
    }

    /// As [`Detector::check`], for a snapshot whose candidates are known to have been in
    /// the same wait at the previous look too (the local monitor's, which leaves out the
    /// processes that moved in between): that is the confirmation `check` waits a look
    /// for, so the stuck ones are confirmed at once.
    pub(crate) fn check_stable(&mut self, s: &Snapshot) -> Vec<(Vec<u64>, HashMap<u64, Blocked>)> {
        let now = s.blocked();
        let stuck = eliminate(s, &now);
        let confirmed: HashMap<u64, Blocked> =
            stuck.iter().map(|id| (*id, now[id].clone())).collect();
        self.verdicts(s, confirmed)
    }

    fn verdicts(
        &self,
        s: &Snapshot,
        confirmed: HashMap<u64, Blocked>,
    ) -> Vec<(Vec<u64>, HashMap<u64, Blocked>)> {
        if confirmed.is_empty() {
            return Vec::new();
        }
        // Re-run the elimination on the confirmed set alone: a process that was stuck
        // only because of one that has since moved is not part of the verdict.
        let set = eliminate(s, &confirmed);
        components(s, &set, &confirmed)
            .into_iter()
            .filter(|key| !self.reported.contains(key))
            .map(|key| {
                let waits = key.iter().map(|id| (*id, confirmed[id].clone())).collect();
                (key, waits)
            })
            .collect()
    }

    /// Whether every member of a verdict is still in the wait it was judged in; if so,
    /// the verdict is final and will not be given again.
    pub(crate) fn still(
        &mut self,
        again: &Snapshot,
        members: &[u64],
        waits: &HashMap<u64, Blocked>,
    ) -> bool {
        let again = again.blocked();
        let ok = members.iter().all(|id| again.get(id) == waits.get(id));
        if ok {
            self.reported.insert(members.to_vec());
        }
        ok
    }

    /// Forgets what it saw (detection was off for a while).
    pub(crate) fn clear(&mut self) {
        self.previous.clear();
    }
}

/// The weakly connected parts of the waits-for graph among `set`, each sorted.
fn components(s: &Snapshot, set: &HashSet<u64>, waits: &HashMap<u64, Blocked>) -> Vec<Vec<u64>> {
    let holders = holders(s);
    let mut parent: HashMap<u64, u64> = set.iter().map(|id| (*id, *id)).collect();
    fn root(parent: &mut HashMap<u64, u64>, mut x: u64) -> u64 {
        while parent[&x] != x {
            let up = parent[&parent[&x]];
            parent.insert(x, up);
            x = up;
        }
        x
    }
    for id in set {
        for t in waits[id].on.iter().filter_map(target) {
            for p in holders.get(&t) {
                if set.contains(p) {
                    let (a, b) = (root(&mut parent, *id), root(&mut parent, *p));
                    parent.insert(a.max(b), a.min(b));
                }
            }
        }
    }
    let mut parts: HashMap<u64, Vec<u64>> = HashMap::new();
    for id in set {
        let r = root(&mut parent, *id);
        parts.entry(r).or_default().push(*id);
    }
    let mut parts: Vec<Vec<u64>> = parts.into_values().collect();
    for p in &mut parts {
        p.sort_unstable();
    }
    parts.sort();
    parts
}

/// The report for the deadlocked `members` (ids in declaration order), naming processes
/// with `name_of` and channels and barriers with `label_of`; `partial` when other
/// processes of their networks still run.
pub(crate) fn report(
    s: &Snapshot,
    members: &[u64],
    waits: &HashMap<u64, Blocked>,
    name_of: &dyn Fn(u64) -> Option<String>,
    label_of: &dyn Fn(&WaitOn) -> String,
    partial: bool,
) -> DeadlockReport {
    let holders = holders(s);
    let set: HashSet<u64> = members.iter().copied().collect();
    let mut edges: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut blocked = Vec::new();
    for &id in members {
        let on = &waits[&id].on;
        let mut ops = Vec::new();
        for w in on {
            let peer_ids: Vec<u64> = match *w {
                WaitOn::Barrier { id: b } => {
                    // The parties it waits for: those not waiting on this barrier themselves.
                    let waiting_here = |p: &u64| {
                        waits
                            .get(p)
                            .is_some_and(|x| x.on.contains(&WaitOn::Barrier { id: b }))
                    };
                    holders
                        .get(&Res::Barrier(b))
                        .iter()
                        .copied()
                        .filter(|p| !waiting_here(p))
                        .collect()
                }
                _ => target(w)
                    .map(|t| holders.get(&t).to_vec())
                    .unwrap_or_default(),
            };
            let peer_ids: Vec<u64> = peer_ids.into_iter().filter(|p| *p != id).collect();
            edges
                .entry(id)
                .or_default()
                .extend(peer_ids.iter().filter(|p| set.contains(p)));
            ops.push(BlockedOp {
                on: *w,
                label: label_of(w),
                peers: peer_ids.iter().filter_map(|p| name_of(*p)).collect(),
            });
        }
        blocked.push(BlockedProcess {
            name: name_of(id).unwrap_or_default(),
            alt: on.len() > 1,
            ops,
        });
    }
    let cycle = find_cycle(members, &edges)
        .into_iter()
        .filter_map(name_of)
        .collect();
    DeadlockReport {
        blocked,
        cycle,
        partial,
    }
}

/// A cycle in the waits-for graph (every member of a deadlocked set waits on another
/// member, so one exists); empty if none is found.
fn find_cycle(nodes: &[u64], edges: &HashMap<u64, Vec<u64>>) -> Vec<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn chan(id: u64, dir: Direction) -> WaitOn {
        WaitOn::Channel { id, dir }
    }

    /// A ring of `n` processes, each waiting to receive from the one before; process
    /// `running` (if any) is not blocked.
    fn ring(n: u64, running: Option<u64>) -> Snapshot {
        let procs = (0..n)
            .map(|i| ProcSnap {
                id: i + 1,
                held: vec![
                    Res::Chan(i, Direction::Recv),
                    Res::Chan((i + 1) % n, Direction::Send),
                ],
                blocked: (running != Some(i + 1)).then(|| Blocked {
                    on: vec![chan(i, Direction::Recv)],
                    seq: 1,
                }),
            })
            .collect();
        Snapshot {
            procs,
            ends: (0..n).map(|i| (i, (1, 1))).collect(),
            enrolled: HashMap::new(),
        }
    }

    #[test]
    fn a_blocked_ring_is_stuck_and_one_running_member_frees_it_all() {
        let s = ring(1000, None);
        assert_eq!(eliminate(&s, &s.blocked()).len(), 1000);
        let s = ring(100_000, Some(50_000));
        assert!(eliminate(&s, &s.blocked()).is_empty());
    }

    #[test]
    fn a_verdict_needs_two_looks_and_comes_once() {
        let s = ring(3, None);
        let mut d = Detector::default();
        assert!(d.check(&s).is_empty());
        let (members, waits) = d.check(&s).pop().expect("confirmed");
        assert_eq!(members, [1, 2, 3]);
        assert!(d.still(&s, &members, &waits));
        assert!(d.check(&s).is_empty(), "reported once");
    }

    #[test]
    fn two_independent_deadlocks_are_two_verdicts() {
        let mut s = ring(2, None);
        let mut t = ring(3, None);
        for p in &mut t.procs {
            p.id += 10;
            for r in &mut p.held {
                if let Res::Chan(c, _) = r {
                    *c += 10;
                }
            }
            if let Some(b) = &mut p.blocked {
                for w in &mut b.on {
                    if let WaitOn::Channel { id, .. } = w {
                        *id += 10;
                    }
                }
            }
        }
        s.procs.extend(t.procs);
        s.ends.extend(t.ends.into_iter().map(|(c, e)| (c + 10, e)));
        let mut d = Detector::default();
        d.check(&s);
        let found: Vec<Vec<u64>> = d.check(&s).into_iter().map(|(m, _)| m).collect();
        assert_eq!(found, [vec![1, 2], vec![11, 12, 13]]);
    }

    #[test]
    fn an_unknown_holder_keeps_a_wait_open() {
        let mut s = ring(3, None);
        s.ends.insert(0, (2, 1)); // a second writer nobody is known to hold
        assert!(eliminate(&s, &s.blocked()).is_empty());
    }
}
