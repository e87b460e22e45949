//! Deadlock detection across ranks: rank 0 gathers every rank's look at its processes
//! (what each holds and waits on, with channels named by their index in the plan, which
//! every rank shares), joins them into one snapshot and hands it to the same judgement as
//! one machine (`deadlock::detect`: the elimination and the two-look confirmation). A
//! verdict counts only if no link message moved on any rank between the two looks, so a
//! network that is only slow across ranks is never reported. Deadlocks within one rank
//! are left to that rank's own monitor; this reports those that span ranks, and those
//! through a barrier joined across ranks (which a rank's monitor cannot judge).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::deadlock::detect::{report, Blocked, Detector, ProcSnap, Res, Snapshot};
use crate::deadlock::DeadlockReport;
use crate::wait::{Direction, WaitOn};

/// Ids of things that are not plan channels (barriers, channels outside the plan) are
/// made global by putting the rank above this bit; processes likewise.
const RANK_SHIFT: u32 = 40;

/// A plan barrier's global id is its index with this bit (below the rank-shifted ids,
/// above every plan channel's index).
pub(super) const BARRIER_IDS: u64 = 1 << 39;

/// One rank's look, as it travels.
#[derive(Serialize, Deserialize, Debug, Default)]
pub(super) struct Look {
    /// Link messages this rank had sent, and received, when it looked.
    traffic: (u64, u64),
    procs: Vec<LookProc>,
    /// Per channel held here: global id, and its ends held by processes of this rank.
    ends: Vec<(u64, usize, usize)>,
    /// Per barrier held here: global id, parties.
    enrolled: Vec<(u64, usize)>,
    /// The barriers (global ids) joined across ranks here (`Here::gated`).
    gated: Vec<u64>,
}

/// A channel end (id, 0 send / 1 receive), a barrier (id, 2) or a timer (0, 3).
type Thing = (u64, u8);

/// A process in a look: global id, name, what it holds, and its wait (what on, its
/// sequence number) if it is blocked.
type LookProc = (u64, String, Vec<Thing>, Option<(Vec<Thing>, u64)>);

fn dir_code(d: Direction) -> u8 {
    match d {
        Direction::Send => 0,
        Direction::Recv => 1,
    }
}

fn dir_of(c: u8) -> Direction {
    if c == 0 {
        Direction::Send
    } else {
        Direction::Recv
    }
}

/// What one rank knows to make its look: its rank, its channels' and barriers' global
/// ids by local id, and per plan channel the ends its proxies hold (to leave out: they stand for
/// the other ranks' processes, whose own looks count them).
pub(super) struct Here {
    pub(super) rank: u32,
    pub(super) by_local: HashMap<u64, u64>,
    pub(super) proxy_ends: HashMap<u64, (usize, usize)>,
    /// Its barriers' global ids (`BARRIER_IDS` and the plan index) by local id.
    pub(super) barriers: HashMap<u64, u64>,
    /// The plan barriers (global ids) whose side here is joined with other ranks': their
    /// local count has one party more for the other ranks (`barrier::enrolled`), which
    /// the other ranks' own counts replace.
    pub(super) gated: std::collections::HashSet<u64>,
}

impl Here {
    fn global(&self, local: u64) -> u64 {
        self.by_local
            .get(&local)
            .copied()
            .unwrap_or((u64::from(self.rank) + 1) << RANK_SHIFT | local)
    }

    /// As `global`, for a barrier (whose ids are counted apart from channels').
    fn global_barrier(&self, local: u64) -> u64 {
        self.barriers
            .get(&local)
            .copied()
            .unwrap_or((u64::from(self.rank) + 1) << RANK_SHIFT | BARRIER_IDS | local)
    }

    /// This rank's look now.
    pub(super) fn look(&self, traffic: (u64, u64)) -> Look {
        let (snap, names) = crate::runtime::monitor::local_snapshot();
        let names: HashMap<u64, String> = names.into_iter().collect();
        let pid = |id: u64| u64::from(self.rank) << RANK_SHIFT | id;
        let thing = |w: &WaitOn| match *w {
            WaitOn::Channel { id, dir } => (self.global(id), dir_code(dir)),
            WaitOn::Barrier { id } => (self.global_barrier(id), 2),
            WaitOn::Timer => (0, 3),
        };
        let procs = snap
            .procs
            .iter()
            .map(|p| {
                let held = p
                    .held
                    .iter()
                    .map(|r| match *r {
                        Res::Chan(id, d) => (self.global(id), dir_code(d)),
                        Res::Barrier(id) => (self.global_barrier(id), 2),
                    })
                    .collect();
                let blocked = p
                    .blocked
                    .as_ref()
                    .map(|b| (b.on.iter().map(thing).collect(), b.seq));
                (
                    pid(p.id),
                    names.get(&p.id).cloned().unwrap_or_default(),
                    held,
                    blocked,
                )
            })
            .collect();
        let ends = snap
            .ends
            .iter()
            .map(|(id, (w, r))| {
                let g = self.global(*id);
                let (pw, pr) = self.proxy_ends.get(&g).copied().unwrap_or((0, 0));
                (g, w.saturating_sub(pw), r.saturating_sub(pr))
            })
            .collect();
        let enrolled = snap
            .enrolled
            .iter()
            .map(|(id, n)| {
                let g = self.global_barrier(*id);
                (g, n - usize::from(self.gated.contains(&g)))
            })
            .collect();
        Look {
            traffic,
            procs,
            ends,
            enrolled,
            gated: self.gated.iter().copied().collect(),
        }
    }
}

/// Rank 0's judge: joins the looks of one round and judges them.
#[derive(Default)]
pub(super) struct Judge {
    detector: Detector,
    last_traffic: Option<(u64, u64)>,
}

impl Judge {
    /// Judges one round of looks (every rank's, by rank): the deadlock found, spanning
    /// ranks, if any, named with `channel` for plan channels and barriers (global ids).
    pub(super) fn judge(
        &mut self,
        looks: &[(u32, Look)],
        channel: &dyn Fn(u64) -> Option<String>,
    ) -> Option<DeadlockReport> {
        let traffic = looks
            .iter()
            .fold((0, 0), |(s, r), (_, l)| (s + l.traffic.0, r + l.traffic.1));
        // Nothing moved since the last round, and nothing is in flight.
        let quiet = self.last_traffic == Some(traffic) && traffic.0 == traffic.1;
        self.last_traffic = Some(traffic);
        let mut s = Snapshot::default();
        let mut names: HashMap<u64, String> = HashMap::new();
        let mut rank_of: HashMap<u64, u32> = HashMap::new();
        let res = |(id, k): Thing| match k {
            2 => Res::Barrier(id),
            _ => Res::Chan(id, dir_of(k)),
        };
        let wait = |(id, k): Thing| match k {
            2 => WaitOn::Barrier { id },
            3 => WaitOn::Timer,
            _ => WaitOn::Channel { id, dir: dir_of(k) },
        };
        for (rank, l) in looks {
            for (id, name, held, blocked) in &l.procs {
                names.insert(*id, format!("{name} (rank {rank})"));
                rank_of.insert(*id, *rank);
                s.procs.push(ProcSnap {
                    id: *id,
                    held: held.iter().copied().map(res).collect(),
                    blocked: blocked.as_ref().map(|(on, seq)| Blocked {
                        on: on.iter().copied().map(wait).collect(),
                        seq: *seq,
                    }),
                });
            }
            for (id, w, r) in &l.ends {
                let e = s.ends.entry(*id).or_insert((0, 0));
                e.0 += w;
                e.1 += r;
            }
            for (id, n) in &l.enrolled {
                *s.enrolled.entry(*id).or_insert(0) += n;
            }
        }
        s.procs.sort_by_key(|p| p.id);
        let gated: std::collections::HashSet<u64> = looks
            .iter()
            .flat_map(|(_, l)| l.gated.iter().copied())
            .collect();
        // A rank's own monitor counts a barrier joined across ranks as open (one party
        // more, for the other ranks'), so a deadlock through one, even with every member
        // on one rank (the other ranks' parties resigned), is judged here.
        let through_gate = |members: &[u64], waits: &HashMap<u64, Blocked>| {
            members.iter().any(|m| {
                waits[m]
                    .on
                    .iter()
                    .any(|w| matches!(w, WaitOn::Barrier { id } if gated.contains(id)))
            })
        };
        let verdicts = self.detector.check(&s);
        if !quiet {
            return None;
        }
        for (members, waits) in verdicts {
            let mut ranks: Vec<u32> = members
                .iter()
                .filter_map(|m| rank_of.get(m).copied())
                .collect();
            ranks.sort_unstable();
            ranks.dedup();
            if (ranks.len() < 2 && !through_gate(&members, &waits))
                || !self.detector.still(&s, &members, &waits)
            {
                continue;
            }
            let name_of = |id: u64| names.get(&id).cloned();
            let label_of = |w: &WaitOn| match *w {
                WaitOn::Channel { id, .. } | WaitOn::Barrier { id } => {
                    channel(id).unwrap_or_else(|| format!("#{id}"))
                }
                WaitOn::Timer => String::new(),
            };
            return Some(report(&s, &members, &waits, &name_of, &label_of, false));
        }
        None
    }
}
