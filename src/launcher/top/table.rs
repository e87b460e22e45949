//! The rows of `occamy run --top`: the processes and channels of a snapshot, with what
//! follows from it (rates, the deadlock's marks, who waits on what), replicated groups
//! collapsed into one row each unless expanded, in the order asked for.
//!
//! Rows are cheap references into the snapshot; only the ones on screen are turned into
//! text (see `draw.rs`), so a ring of 10,000 processes costs one small vector per frame.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::graph::replicated_decl;
use crate::observe::{Op, Snapshot, State};
use crate::runtime::ProcessEnd;
use crate::viz::state::DeadlockMarks;
use crate::wait::{Direction, WaitOn};

/// What the rows are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SortKey {
    /// Declaration order (processes) or order of first holder (channels).
    Order,
    /// Name, numbers within names compared as numbers (`node[2]` before `node[10]`).
    Name,
    /// Trouble first: failed, deadlocked, running, blocked, ended.
    State,
    /// Messages carried, most first.
    Msgs,
    /// Messages per second, most first.
    Rate,
}

impl SortKey {
    pub(super) const ALL: [SortKey; 5] = [
        SortKey::Order,
        SortKey::Name,
        SortKey::State,
        SortKey::Msgs,
        SortKey::Rate,
    ];

    pub(super) fn label(self) -> &'static str {
        match self {
            SortKey::Order => "order",
            SortKey::Name => "name",
            SortKey::State => "state",
            SortKey::Msgs => "msgs",
            SortKey::Rate => "rate",
        }
    }

    pub(super) fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }
}

/// Per process: the messages on the channels it reads and writes, and their rate.
#[derive(Debug, Clone, Default)]
pub(super) struct ProcStat {
    pub(super) msgs_in: u64,
    pub(super) msgs_out: u64,
    pub(super) rate: f64,
}

/// Per channel: how many live processes are parked on it, by direction.
#[derive(Debug, Clone, Default)]
pub(super) struct ChanStat {
    pub(super) senders_waiting: usize,
    pub(super) receivers_waiting: usize,
}

/// One snapshot and what the table derives from it (a sample of the run).
pub(super) struct Sample {
    pub(super) snap: Snapshot,
    /// Messages per second per channel (in the order of `snap.channels`).
    pub(super) rates: Vec<f64>,
    pub(super) marks: DeadlockMarks,
    pub(super) deadlocked: HashSet<String>,
    pub(super) cycle_channels: HashSet<u64>,
    pub(super) procs: Vec<ProcStat>,
    pub(super) chans: Vec<ChanStat>,
    /// Process id to its index in `snap.processes`.
    index: HashMap<u64, usize>,
}

impl Sample {
    pub(super) fn new(snap: Snapshot, rates: Vec<f64>) -> Sample {
        let marks = DeadlockMarks::of(&snap);
        let deadlocked = marks.deadlocked.iter().cloned().collect();
        let cycle_channels = marks.cycle_channels.iter().map(|(id, _)| *id).collect();
        let index: HashMap<u64, usize> = snap
            .processes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect();
        let mut procs = vec![ProcStat::default(); snap.processes.len()];
        let chan_at: HashMap<u64, usize> = snap
            .channels
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        let mut chans = vec![ChanStat::default(); snap.channels.len()];
        for (c, &rate) in snap.channels.iter().zip(&rates) {
            for (ids, out) in [(&c.readers, false), (&c.writers, true)] {
                for id in ids {
                    if let Some(&i) = index.get(id) {
                        let s = &mut procs[i];
                        if out {
                            s.msgs_out += c.carried;
                        } else {
                            s.msgs_in += c.carried;
                        }
                        s.rate += rate;
                    }
                }
            }
        }
        for p in &snap.processes {
            if let State::Blocked { on, .. } = &p.state {
                for w in on {
                    if let WaitOn::Channel { id, dir } = w.on {
                        if let Some(&i) = chan_at.get(&id) {
                            match dir {
                                Direction::Send => chans[i].senders_waiting += 1,
                                Direction::Recv => chans[i].receivers_waiting += 1,
                            }
                        }
                    }
                }
            }
        }
        Sample {
            snap,
            rates,
            marks,
            deadlocked,
            cycle_channels,
            procs,
            chans,
            index,
        }
    }

    /// A process's name from its id.
    pub(super) fn name_of(&self, id: u64) -> Option<&str> {
        self.index
            .get(&id)
            .map(|&i| self.snap.processes[i].name.as_str())
    }

    /// How process `i` ranks when sorting by state (lower first).
    pub(super) fn proc_rank(&self, i: usize) -> u8 {
        let p = &self.snap.processes[i];
        match &p.state {
            State::Ended(ProcessEnd::Panicked) => 0,
            State::Ended(ProcessEnd::Failed) => 1,
            _ if self.deadlocked.contains(&p.name) => 2,
            State::Running => 3,
            State::Blocked { op, .. } => match op {
                Op::Send => 4,
                Op::Recv => 5,
                Op::Alt => 6,
                Op::Barrier => 7,
                Op::Sleep => 8,
            },
            State::Elsewhere => 9,
            State::Ended(ProcessEnd::Ok) => 10,
            State::Ended(ProcessEnd::Retired) => 11,
            State::Ended(ProcessEnd::Poisoned) => 12,
        }
    }

    /// How channel `i` ranks when sorting by state: on the deadlock's cycle, then with
    /// processes waiting on it, then idle.
    pub(super) fn chan_rank(&self, i: usize) -> u8 {
        let s = &self.chans[i];
        if self.cycle_channels.contains(&self.snap.channels[i].id) {
            0
        } else if s.senders_waiting > 0 {
            1
        } else if s.receivers_waiting > 0 {
            2
        } else {
            3
        }
    }

    /// What process `i` waits on and for whom, or how long it ran.
    pub(super) fn waiting_text(&self, i: usize) -> String {
        let p = &self.snap.processes[i];
        match &p.state {
            State::Running => String::new(),
            State::Elsewhere => "outside occamy (an offloaded call or foreign future)".into(),
            State::Ended(_) => match p.ran {
                Some(d) => format!("after {:.3}s", d.as_secs_f64()),
                None => String::new(),
            },
            State::Blocked { op, timeout, on } => {
                let mut parts: Vec<String> = on
                    .iter()
                    .map(|w| {
                        let peers = self.peers_text(&w.peers);
                        match w.on {
                            WaitOn::Channel {
                                dir: Direction::Send,
                                ..
                            } => format!("{} → {peers}", w.label),
                            WaitOn::Channel {
                                dir: Direction::Recv,
                                ..
                            } => format!("{} ← {peers}", w.label),
                            WaitOn::Barrier { .. } => format!("barrier {} with {peers}", w.label),
                            WaitOn::Timer => "a timer".into(),
                        }
                    })
                    .collect();
                if *timeout {
                    parts.push(if *op == Op::Sleep {
                        "a timer".into()
                    } else {
                        "or a timeout".into()
                    });
                }
                parts.join(if *op == Op::Alt { " | " } else { ", " })
            }
        }
    }

    fn peers_text(&self, peers: &[u64]) -> String {
        const SHOWN: usize = 3;
        if peers.is_empty() {
            return "nobody".into();
        }
        let mut names: Vec<&str> = peers
            .iter()
            .take(SHOWN)
            .map(|&id| self.name_of(id).unwrap_or("?"))
            .collect();
        let more = peers.len().saturating_sub(SHOWN);
        let more = if more > 0 {
            format!(" +{more}")
        } else {
            String::new()
        };
        names.dedup();
        format!("{}{more}", names.join(", "))
    }

    /// The messages on the channels some of `members` (processes) read and on those some
    /// write, and their rate: each channel once, though a farm's workers share theirs.
    pub(super) fn group_traffic(&self, members: &[usize]) -> (u64, u64, f64) {
        let ids: HashSet<u64> = members.iter().map(|&i| self.snap.processes[i].id).collect();
        let (mut msgs_in, mut msgs_out, mut rate) = (0, 0, 0.0);
        for (c, &r) in self.snap.channels.iter().zip(&self.rates) {
            if c.readers.iter().any(|p| ids.contains(p)) {
                msgs_in += c.carried;
                rate += r;
            }
            if c.writers.iter().any(|p| ids.contains(p)) {
                msgs_out += c.carried;
                rate += r;
            }
        }
        (msgs_in, msgs_out, rate)
    }

    /// The values rows of the processes tab sort by.
    pub(super) fn proc_keys(&self) -> Vec<Keys<'_>> {
        (0..self.snap.processes.len())
            .map(|i| Keys {
                name: &self.snap.processes[i].name,
                rank: self.proc_rank(i),
                msgs: self.procs[i].msgs_in + self.procs[i].msgs_out,
                rate: self.procs[i].rate,
            })
            .collect()
    }

    /// The values rows of the channels tab sort by.
    pub(super) fn chan_keys(&self) -> Vec<Keys<'_>> {
        (0..self.snap.channels.len())
            .map(|i| Keys {
                name: &self.snap.channels[i].label,
                rank: self.chan_rank(i),
                msgs: self.snap.channels[i].carried,
                rate: self.rates[i],
            })
            .collect()
    }
}

/// What one process or channel sorts by.
#[derive(Debug, Clone)]
pub(super) struct Keys<'a> {
    pub(super) name: &'a str,
    pub(super) rank: u8,
    pub(super) msgs: u64,
    pub(super) rate: f64,
}

/// Replicas of one declaration (`node[0]`, `node[1]`, ...): one row when collapsed.
#[derive(Debug, Clone)]
pub(super) struct Group {
    /// The declaration's name (`node`).
    pub(super) decl: String,
    /// Its label: `node[0..9997]`.
    pub(super) label: String,
    /// Its members, as indices into the items.
    pub(super) members: Vec<usize>,
    pub(super) expanded: bool,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Row {
    /// A process or channel that is no replica (or the only one of its declaration).
    Item(usize),
    /// A group's summary.
    Group(usize),
    /// A member of an expanded group: the group and the item.
    Member(usize, usize),
}

/// What a row stands for across frames, to keep the cursor on it as rows move.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum RowId {
    /// A process's or channel's id.
    Item(u64),
    /// A group's declaration.
    Group(String),
}

/// A table's rows, in order.
#[derive(Debug, Default)]
pub(super) struct Rows {
    pub(super) rows: Vec<Row>,
    pub(super) groups: Vec<Group>,
}

impl Rows {
    /// The rows of `items` whose names contain `filter` (in any case), replicas grouped
    /// (collapsed unless `expanded` names their declaration), ordered by `sort`
    /// (reversed if `reverse`).
    pub(super) fn build(
        items: &[Keys<'_>],
        filter: &str,
        expanded: &HashSet<String>,
        sort: SortKey,
        reverse: bool,
    ) -> Rows {
        let filter = filter.to_lowercase();
        let mut groups: Vec<Group> = Vec::new();
        let mut group_at: HashMap<&str, usize> = HashMap::new();
        // Top-level entries: Ok(item) or Err(group), in order of first appearance.
        let mut top: Vec<Result<usize, usize>> = Vec::new();
        for (i, k) in items.iter().enumerate() {
            if !filter.is_empty() && !k.name.to_lowercase().contains(&filter) {
                continue;
            }
            let Some(decl) = replicated_decl(k.name) else {
                top.push(Ok(i));
                continue;
            };
            let g = *group_at.entry(decl).or_insert_with(|| {
                groups.push(Group {
                    decl: decl.to_string(),
                    label: String::new(),
                    members: Vec::new(),
                    expanded: expanded.contains(decl),
                });
                top.push(Err(groups.len() - 1));
                groups.len() - 1
            });
            groups[g].members.push(i);
        }
        // A declaration with one replica is shown as itself.
        for e in &mut top {
            if let Err(g) = *e {
                if groups[g].members.len() == 1 {
                    *e = Ok(groups[g].members[0]);
                }
            }
        }
        for g in &mut groups {
            g.label = group_label(&g.decl, g.members.iter().map(|&i| items[i].name));
        }
        let summary: Vec<Keys<'_>> = groups
            .iter()
            .map(|g| Keys {
                name: &g.decl,
                rank: g.members.iter().map(|&i| items[i].rank).min().unwrap_or(0),
                msgs: g.members.iter().map(|&i| items[i].msgs).sum(),
                rate: g.members.iter().map(|&i| items[i].rate).sum(),
            })
            .collect();
        // Entries sort by their keys, ties (and `Order`) by their first item.
        let first = |e: &Result<usize, usize>| match *e {
            Ok(i) => i,
            Err(g) => groups[g].members[0],
        };
        let keys = |e: &Result<usize, usize>| match *e {
            Ok(i) => &items[i],
            Err(g) => &summary[g],
        };
        top.sort_by(|a, b| order(keys(a), keys(b), sort, reverse).then(first(a).cmp(&first(b))));
        let mut rows = Vec::with_capacity(top.len());
        for e in top {
            match e {
                Ok(i) => rows.push(Row::Item(i)),
                Err(g) => {
                    rows.push(Row::Group(g));
                    if groups[g].expanded {
                        let mut members = groups[g].members.clone();
                        members.sort_by(|&a, &b| {
                            order(&items[a], &items[b], sort, reverse).then(a.cmp(&b))
                        });
                        rows.extend(members.into_iter().map(|i| Row::Member(g, i)));
                    }
                }
            }
        }
        Rows { rows, groups }
    }

    /// The group a row belongs to, if any.
    pub(super) fn group_of(&self, row: Row) -> Option<&Group> {
        match row {
            Row::Item(_) => None,
            Row::Group(g) | Row::Member(g, _) => self.groups.get(g),
        }
    }

    /// How many groups are collapsed, and how many items they hide.
    pub(super) fn collapsed(&self) -> (usize, usize) {
        self.groups
            .iter()
            .filter(|g| !g.expanded && g.members.len() > 1)
            .fold((0, 0), |(n, k), g| (n + 1, k + g.members.len()))
    }
}

/// The order of two rows' keys for `sort` (without the tie-break).
fn order(a: &Keys<'_>, b: &Keys<'_>, sort: SortKey, reverse: bool) -> Ordering {
    let o = match sort {
        SortKey::Order => Ordering::Equal,
        SortKey::Name => natural(a.name, b.name),
        SortKey::State => a.rank.cmp(&b.rank),
        SortKey::Msgs => b.msgs.cmp(&a.msgs),
        SortKey::Rate => b.rate.total_cmp(&a.rate),
    };
    if reverse {
        o.reverse()
    } else {
        o
    }
}

/// Compares names with their runs of digits as numbers: `node[2]` < `node[10]`.
pub(super) fn natural(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    loop {
        match (x.chars().next(), y.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let n = x.find(|c: char| !c.is_ascii_digit()).unwrap_or(x.len());
                let m = y.find(|c: char| !c.is_ascii_digit()).unwrap_or(y.len());
                let (p, q) = (
                    x[..n].trim_start_matches('0'),
                    y[..m].trim_start_matches('0'),
                );
                let o = p.len().cmp(&q.len()).then_with(|| p.cmp(q));
                if o != Ordering::Equal {
                    return o;
                }
                (x, y) = (&x[n..], &y[m..]);
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(&d);
                }
                (x, y) = (&x[c.len_utf8()..], &y[d.len_utf8()..]);
            }
        }
    }
}

/// `node[0..9997]` for replicas `node[0]` to `node[9997]` of `node`.
fn group_label<'a>(decl: &str, names: impl Iterator<Item = &'a str>) -> String {
    let (mut lo, mut hi) = (u64::MAX, 0);
    for n in names {
        let i = n[decl.len() + 1..n.len() - 1].parse().unwrap_or(0);
        lo = lo.min(i);
        hi = hi.max(i);
    }
    format!("{decl}[{lo}..{hi}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<'a>(names: &[&'a str]) -> Vec<Keys<'a>> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| Keys {
                name: n,
                rank: (i % 3) as u8,
                msgs: i as u64 * 10,
                rate: i as f64,
            })
            .collect()
    }

    #[test]
    fn replicas_collapse_into_one_row_that_expands() {
        let names = ["start", "node[0]", "node[1]", "node[2]", "tap", "solo[4]"];
        let items = keys(&names);
        let rows = Rows::build(&items, "", &HashSet::new(), SortKey::Order, false);
        assert_eq!(
            rows.rows,
            [Row::Item(0), Row::Group(0), Row::Item(4), Row::Item(5)]
        );
        assert_eq!(rows.groups[0].label, "node[0..2]");
        assert_eq!(rows.collapsed(), (1, 3));
        let open = HashSet::from(["node".to_string()]);
        let rows = Rows::build(&items, "", &open, SortKey::Order, false);
        assert_eq!(rows.rows.len(), 7);
        assert_eq!(rows.rows[2], Row::Member(0, 1));
        assert_eq!(rows.collapsed(), (0, 0));
    }

    #[test]
    fn sorting_orders_entries_and_members() {
        let names = ["b", "a[10]", "a[2]", "c"];
        let items = keys(&names);
        let open = HashSet::from(["a".to_string()]);
        let by_name = Rows::build(&items, "", &open, SortKey::Name, false);
        assert_eq!(
            by_name.rows,
            [
                Row::Group(0),
                Row::Member(0, 2),
                Row::Member(0, 1),
                Row::Item(0),
                Row::Item(3)
            ]
        );
        // Most messages first: the group sums its members (10 + 20 = 30 against c's 30:
        // the tie goes to declaration order).
        let by_msgs = Rows::build(&items, "", &HashSet::new(), SortKey::Msgs, false);
        assert_eq!(by_msgs.rows, [Row::Group(0), Row::Item(3), Row::Item(0)]);
        let reversed = Rows::build(&items, "", &HashSet::new(), SortKey::Msgs, true);
        assert_eq!(reversed.rows, [Row::Item(0), Row::Group(0), Row::Item(3)]);
    }

    #[test]
    fn a_filter_keeps_the_rows_whose_names_match() {
        let names = ["start", "node[0]", "node[1]", "Tap", "node[12]"];
        let items = keys(&names);
        let rows = Rows::build(&items, "TAP", &HashSet::new(), SortKey::Order, false);
        assert_eq!(rows.rows, [Row::Item(3)]);
        // A group keeps its matching members only.
        let open = HashSet::from(["node".to_string()]);
        let rows = Rows::build(&items, "1", &open, SortKey::Order, false);
        assert_eq!(
            rows.rows,
            [Row::Group(0), Row::Member(0, 2), Row::Member(0, 4)]
        );
        assert_eq!(rows.groups[0].label, "node[1..12]");
    }

    #[test]
    fn names_compare_their_numbers_as_numbers() {
        assert_eq!(natural("node[2]", "node[10]"), Ordering::Less);
        assert_eq!(natural("node[10]", "node[10]"), Ordering::Equal);
        assert_eq!(natural("a", "b"), Ordering::Less);
        assert_eq!(natural("w[1].x", "w[1]"), Ordering::Greater);
        assert_eq!(natural("n007", "n7"), Ordering::Equal);
    }

    #[test]
    fn sort_keys_cycle() {
        let mut k = SortKey::Order;
        for want in ["name", "state", "msgs", "rate", "order"] {
            k = k.next();
            assert_eq!(k.label(), want);
        }
    }
}
