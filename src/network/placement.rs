//! Placement of processes on MPI ranks: a process's `rank:`, a sub-network instance's
//! `rank:`, and the file's `placement:` policy (see "Placement" in docs/network-format.md).
//!
//! A process's rank is, in order of precedence:
//! 1. its own `rank:`;
//! 2. else the `rank:` of the nearest sub-network instance it is in that names one (the
//!    more specific statement wins: a sub-network may pin a process, say its printer, to
//!    rank 0 while the including file places the rest);
//! 3. else what the top-level file's `placement:` gives: `RoundRobin`, replica `i` of the
//!    outermost replicated declaration it belongs to (itself or an instance it is in) on
//!    rank `i % ranks`, so that a replicated sub-network's copies each stay on one rank;
//!    `BySubnetwork`, the `k`-th top-level sub-network instance (replicas counted, in
//!    declaration order) on rank `k % ranks`; with no policy, or outside any replicated
//!    declaration or instance, rank 0.

use std::sync::Arc;

use indexmap::IndexMap;
use ron::Value;

use super::check::{check_rank, rank_fault};
use super::codes;
use super::error::Site;
use super::expr::{eval_int_value, Scope};
use super::loader::Loader;
use super::model::{Locator, NetworkDecl, PlacementDecl};
use super::{Plan, PlanBarrier};
use crate::registry::PortDir;

/// The name under which every file sees the number of ranks: `$ranks`.
pub(super) const RANKS_PARAM: &str = "ranks";

/// What a process inherits from the sub-network instances it is in: a thread of its own,
/// and what its placement depends on. Copied into each instance's binding, so it costs
/// nothing per process.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Enclosing {
    /// Some instance it is in asked for `thread: true`.
    pub(super) thread: bool,
    /// The `rank:` of the nearest instance it is in that names one.
    pub(super) rank: Option<u32>,
    /// The replica index of the outermost replicated instance it is in.
    pub(super) replica: Option<i64>,
    /// The ordinal of the top-level sub-network instance it is in.
    pub(super) instance: Option<u64>,
}

/// The rank the policy gives a process that names none and whose instances name none.
/// `replica` is its outermost replica index (an instance's, else its own).
pub(super) fn policy_rank(
    policy: Option<PlacementDecl>,
    ranks: u32,
    replica: Option<i64>,
    instance: Option<u64>,
) -> u32 {
    let ranks = u64::from(ranks.max(1));
    let r = match policy {
        None => 0,
        // A replica index is never negative (counts are checked first).
        Some(PlacementDecl::RoundRobin) => replica.map_or(0, |i| i.unsigned_abs() % ranks),
        Some(PlacementDecl::BySubnetwork) => instance.map_or(0, |k| k % ranks),
    };
    r as u32
}

impl Loader<'_> {
    /// Reads the file's `placement`. As with the scheduler, only the top-level file may
    /// choose one: a sub-network's policy silently overruled would mislead.
    pub(super) fn placement_of(
        &mut self,
        decl: &NetworkDecl,
        loc: &Locator,
        here: &Site,
        sub: bool,
    ) {
        let Some(p) = decl.placement else {
            return;
        };
        if sub {
            let site = here.at(loc.find_top("placement")).with("placement".into());
            self.err(
                codes::SUB_PLACEMENT,
                &site,
                "a sub-network cannot choose the placement policy",
                Some("choose it in the top-level file, or give processes a `rank:`".into()),
            );
            return;
        }
        self.placement = Some(p);
    }

    /// Refuses a file's own `ranks` param: `$ranks` is the run's number of ranks, which
    /// the launcher alone sets.
    pub(super) fn reserved_declared(&mut self, site: &Site) {
        self.err(
            codes::RESERVED_RANKS,
            site,
            "`ranks` is reserved: it is the number of MPI ranks of the run",
            Some(
                "remove it: `$ranks` is always defined (1, or what `--ranks N` or MPI gives)"
                    .into(),
            ),
        );
    }

    /// Refuses an override of `ranks` (`--set`, or an including process's `params`, as
    /// `sub` says); returns whether `name` is `ranks`.
    pub(super) fn reserved_override(&mut self, name: &str, site: &Site, sub: bool) -> bool {
        if name != RANKS_PARAM {
            return false;
        }
        let (m, h) = if sub {
            (
                "`ranks` cannot be passed to a sub-network: it is the number of MPI ranks of the run",
                "remove it: the sub-network sees the same `$ranks`",
            )
        } else {
            (
                "`ranks` cannot be set as a param: it is the number of MPI ranks of the run",
                "use `occamy check --ranks N` (or `dot`); under MPI it is the world size",
            )
        };
        self.err(codes::RESERVED_RANKS, site, m, Some(h.into()));
        true
    }

    /// Evaluates a `rank:` (of a process or a sub-network instance) for one instance and
    /// checks it is in range. `None` when it is missing or wrong; a wrong one is returned
    /// as `Err` with the value, for the caller to report once per declaration.
    pub(super) fn eval_rank(
        &mut self,
        v: Option<&Value>,
        scope: &Scope,
        site: &Site,
    ) -> Result<Option<u32>, i64> {
        let Some(v) = v else {
            return Ok(None);
        };
        match eval_int_value(v, scope) {
            Ok(n) => match check_rank(n, self.ranks) {
                Ok(r) => Ok(Some(r)),
                Err(_) => Err(n),
            },
            Err(e) => {
                self.err(
                    e.code,
                    site,
                    format!("`rank`: {e}"),
                    Some("write `rank: N` or an expression such as `rank: \"$i % $ranks\"`".into()),
                );
                Ok(None)
            }
        }
    }

    /// Reports the ranks out of range of one declaration's instances once: the first
    /// (its context and value), and how many there are in all.
    pub(super) fn report_ranks(&mut self, faults: &(Option<(String, i64)>, usize), site: &Site) {
        let (Some((first, value)), count) = faults else {
            return;
        };
        let Some((m, help)) = rank_fault(*value, self.ranks, count - 1) else {
            return;
        };
        let mut s = site.clone();
        if let Some(last) = s.context.last_mut() {
            *last = first.clone();
        }
        self.err(codes::RANK_RANGE, &s, m, Some(help));
    }
}

/// The params every file sees besides its own: `$ranks`.
pub(super) fn add_builtin_params(params: &mut IndexMap<String, Value>, ranks: u32) {
    params.insert(
        RANKS_PARAM.into(),
        Value::Number(ron::value::Number::U64(ranks.into())),
    );
}

impl Plan {
    /// How many MPI ranks the plan was placed on: what [`LoadOptions::ranks`](super::LoadOptions::ranks)
    /// gave (1 by default, and without MPI). Every [`PlanProcess::rank`](super::PlanProcess::rank)
    /// is below it.
    ///
    /// # Examples
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("occamy-doc-ranks-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let file = dir.join("spread.ron");
    /// std::fs::write(&file, r#"Network(
    ///     name: "spread",
    ///     placement: RoundRobin,
    ///     channels: { "c": (type: "u64", count: 4) },
    ///     processes: {
    ///         "nums": (kind: "numbers", replicate: (count: 4), params: { "count": 3 }, ports: { "out": "c[$i]" }),
    ///         "sink": (kind: "discard", replicate: (count: 4), rank: 0, ports: { "in": "c[$i]" }),
    ///     },
    /// )"#).unwrap();
    /// let reg = occamy::network::Registry::with_builtins();
    /// let opts = occamy::network::LoadOptions { ranks: 2, ..Default::default() };
    /// let plan = occamy::network::load_with(&file, &opts, &reg).unwrap();
    /// assert_eq!(plan.ranks(), 2);
    /// let ranks: Vec<u32> = plan.processes.iter().map(|p| p.rank).collect();
    /// assert_eq!(ranks, [0, 1, 0, 1, 0, 0, 0, 0]);
    /// // nums[1] and nums[3] write to rank 0's sinks.
    /// let cross: Vec<&str> = plan.cross_rank_channels().map(|c| plan.channels[c].name.as_str()).collect();
    /// assert_eq!(cross, ["c[1]", "c[3]"]);
    /// ```
    pub fn ranks(&self) -> u32 {
        self.ranks
    }

    /// The channels (indices into [`Plan::channels`]) whose writers and readers are not
    /// all on one rank: those an MPI transport must carry between ranks. A shared channel
    /// is among them if any two of its ends are on different ranks.
    ///
    /// # Examples
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("occamy-doc-cross-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let file = dir.join("pair.ron");
    /// std::fs::write(&file, r#"Network(
    ///     name: "pair",
    ///     channels: { "c": "u64", "d": "u64" },
    ///     processes: {
    ///         "nums": (kind: "numbers", params: { "count": 3 }, ports: { "out": "c" }),
    ///         "inc":  (kind: "succ", ports: { "in": "c", "out": "d" }),
    ///         "sink": (kind: "discard", rank: 1, ports: { "in": "d" }),
    ///     },
    /// )"#).unwrap();
    /// let reg = occamy::network::Registry::with_builtins();
    /// let opts = occamy::network::LoadOptions { ranks: 2, ..Default::default() };
    /// let plan = occamy::network::load_with(&file, &opts, &reg).unwrap();
    /// let cross: Vec<&str> = plan.cross_rank_channels().map(|c| plan.channels[c].name.as_str()).collect();
    /// assert_eq!(cross, ["d"]);
    /// ```
    pub fn cross_rank_channels(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.channels.len()).filter(|&i| {
            let (w, r) = self.end_ranks(i);
            w.iter()
                .chain(&r)
                .any(|x| *x != w.first().or(r.first()).copied().unwrap_or(0))
        })
    }

    /// The ranks of channel `ci`'s writing ends and of its reading ends, one entry per
    /// end, in the plan's order. An open port's end is the program's, which runs on rank
    /// 0 (it feeds the inputs and prints the outputs): every rule about which ends are
    /// where (the checker's, the wiring's, the deadlock looks') reads them from here.
    pub(crate) fn end_ranks(&self, ci: usize) -> (Vec<u32>, Vec<u32>) {
        let c = &self.channels[ci];
        let rank = |v: &[(usize, Arc<str>)]| -> Vec<u32> {
            v.iter().map(|(p, _)| self.processes[*p].rank).collect()
        };
        let (mut w, mut r) = (rank(&c.writers), rank(&c.readers));
        for port in self.ports.iter().filter(|p| p.channel == ci) {
            match port.dir {
                PortDir::In => w.push(0),
                PortDir::Out => r.push(0),
            }
        }
        (w, r)
    }

    /// The processes (indices into [`Plan::processes`]) placed on `rank`.
    ///
    /// # Examples
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("occamy-doc-on-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let file = dir.join("pair.ron");
    /// std::fs::write(&file, r#"Network(
    ///     name: "pair",
    ///     channels: { "c": "u64", "d": "u64" },
    ///     processes: {
    ///         "nums": (kind: "numbers", params: { "count": 3 }, ports: { "out": "c" }),
    ///         "inc":  (kind: "succ", ports: { "in": "c", "out": "d" }),
    ///         "sink": (kind: "discard", rank: 1, ports: { "in": "d" }),
    ///     },
    /// )"#).unwrap();
    /// let reg = occamy::network::Registry::with_builtins();
    /// let opts = occamy::network::LoadOptions { ranks: 2, ..Default::default() };
    /// let plan = occamy::network::load_with(&file, &opts, &reg).unwrap();
    /// assert_eq!(plan.processes_on(0).collect::<Vec<_>>(), [0, 1]);
    /// assert_eq!(plan.processes_on(1).collect::<Vec<_>>(), [2]);
    /// ```
    pub fn processes_on(&self, rank: u32) -> impl Iterator<Item = usize> + '_ {
        self.processes
            .iter()
            .enumerate()
            .filter(move |(_, p)| p.rank == rank)
            .map(|(i, _)| i)
    }
}

impl PlanBarrier {
    /// The ranks its parties are on, sorted and without repeats, given each process's
    /// rank by index (the plan's, or what is left of it once taken apart): a barrier on
    /// more than one is joined across them (`mpi::World::barrier`).
    #[cfg_attr(not(any(feature = "launcher", feature = "mpi")), allow(dead_code))]
    pub(crate) fn ranks(&self, rank_of: impl Fn(usize) -> u32) -> Vec<u32> {
        let mut on: Vec<u32> = self.parties.iter().map(|(p, _)| rank_of(*p)).collect();
        on.sort_unstable();
        on.dedup();
        on
    }
}

#[cfg(test)]
mod tests {
    use super::super::check::check_rank;
    use super::policy_rank;
    use crate::network::model::PlacementDecl::{BySubnetwork, RoundRobin};

    #[test]
    fn ranks_are_checked_at_both_ends() {
        assert_eq!(check_rank(0, 1), Ok(0));
        assert_eq!(check_rank(2, 3), Ok(2));
        let (m, h) = check_rank(3, 3).unwrap_err();
        assert_eq!(m, "rank 3 is out of range: this run has 3 ranks (0..=2)");
        assert!(h.contains("--ranks N"), "{h}");
        let (m, h) = check_rank(-1, 1).unwrap_err();
        assert_eq!(m, "rank -1 is out of range: this run has 1 rank (0..=0)");
        assert!(h.contains("count from 0"), "{h}");
        // Past u32: an error, not a truncation.
        assert!(check_rank(i64::from(u32::MAX) + 1, u32::MAX).is_err());
        assert!(check_rank(i64::MAX, 2).is_err());
    }

    #[test]
    fn policies_place_what_names_no_rank() {
        assert_eq!(policy_rank(None, 4, Some(3), Some(2)), 0);
        assert_eq!(policy_rank(Some(RoundRobin), 3, Some(7), Some(5)), 1);
        assert_eq!(policy_rank(Some(RoundRobin), 3, None, Some(5)), 0);
        assert_eq!(policy_rank(Some(BySubnetwork), 3, Some(7), Some(5)), 2);
        assert_eq!(policy_rank(Some(BySubnetwork), 3, Some(7), None), 0);
        // One rank (or none given): rank 0 whatever the policy.
        assert_eq!(policy_rank(Some(RoundRobin), 1, Some(7), None), 0);
        assert_eq!(policy_rank(Some(BySubnetwork), 0, None, Some(9)), 0);
    }
}
