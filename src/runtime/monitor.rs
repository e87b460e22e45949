//! The deadlock monitor: a thread that takes snapshots of the live processes and hands
//! them to the judgement in `deadlock::detect`, then acts on a verdict (records it with
//! each group involved, which poisons its network if it was asked to).
//!
//! It looks every check interval (the shortest asked for by any live run), and never more
//! often than fifty times the time one look took, so that in a network of a million
//! processes it spends at most about 2% of one core.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

use super::builder::Runtime;
use super::held::{Endpoint, Enrolment, Held};
use super::record::{each_live, live, lock_std, Record, NOT_SEEN};
use crate::deadlock::detect::{report, Blocked, Detector, ProcSnap, Res, Snapshot};
use crate::wait::{Signal, WaitOn};

struct Monitor {
    /// The interval asked for most recently by a starting run, if shorter than the one
    /// the monitor sleeps with: a condvar wakes it to start sooner.
    asked: Mutex<Option<Duration>>,
    cv: Condvar,
}

static MONITOR: Monitor = Monitor {
    asked: Mutex::new(None),
    cv: Condvar::new(),
};

/// Makes sure the monitor runs and looks at least as often as `config` asks.
pub(crate) fn ensure(config: &Runtime) {
    static START: Once = Once::new();
    START.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("occamy-deadlock".into())
            .spawn(run);
    });
    if config.detect {
        let mut a = lock_std(&MONITOR.asked);
        if a.is_none_or(|d| config.check_every < d) {
            *a = Some(config.check_every);
            MONITOR.cv.notify_one();
        }
    }
}

const DEFAULT: Duration = Duration::from_millis(200);

fn run() {
    let mut detector = Detector::default();
    let mut tick = DEFAULT;
    let mut took = Duration::ZERO;
    loop {
        let wait = tick.max(took * 50);
        let asked = {
            let g = lock_std(&MONITOR.asked);
            let (mut g, _) = MONITOR
                .cv
                .wait_timeout_while(g, wait, |a| a.is_none_or(|d| d >= tick))
                .unwrap_or_else(|e| e.into_inner());
            g.take()
        };
        let t0 = Instant::now();
        // The shortest interval any live run asks for (or the one a starting run asked
        // for, or the default), found in the same pass as the snapshot.
        let mut shortest: Option<Duration> = None;
        let mut snap = Snapshot::default();
        each_live(|r| {
            if r.group.config.detect {
                let every = r.group.config.check_every;
                shortest = Some(shortest.map_or(every, |d| d.min(every)));
            }
            consider(&mut snap, r);
        });
        tick = shortest.or(asked).unwrap_or(DEFAULT);
        if shortest.is_none() {
            detector.clear();
            took = t0.elapsed();
            continue;
        }
        let verdicts = detector.check_stable(&snap);
        if !verdicts.is_empty() {
            // And look once more: every member must still be in the very wait it was in.
            let records = live();
            let mut again = Snapshot::default();
            for r in &records {
                consider(&mut again, r);
            }
            for (members, waits) in verdicts {
                if detector.still(&again, &members, &waits) {
                    act(&records, &snap, &members, &waits);
                }
            }
        }
        took = t0.elapsed();
    }
}

/// Whether `r` is parked on operations that only its peers can complete, and in which
/// wait (see the module docs of `deadlock`).
fn candidate(r: &Record) -> Option<Blocked> {
    if !r.group.config.detect {
        return None;
    }
    let seq = u64::from(r.seq.load(Ordering::Acquire));
    if !r.parked.load(Ordering::Acquire) {
        return None;
    }
    let mut on = Vec::new();
    let mut timer = false;
    let mut fired = false;
    // The signals waited on, each once: an alt's guards share one.
    let mut sigs: Vec<(*const Signal, bool)> = Vec::new();
    r.each_wait(|w, s| {
        timer |= w == WaitOn::Timer;
        on.push(w);
        if let Some(s) = s {
            fired |= s.outcome().is_some();
            if !sigs.iter().any(|&(p, _)| std::ptr::eq(p, s)) {
                sigs.push((s, s.holds_waker()));
            }
        }
    });
    if on.is_empty() || timer || fired {
        return None;
    }
    if let Some(d) = r.driver.get() {
        // The record's count (its driver polls with a waker borrowing it), plus one per
        // waiting signal: any other clone is held by something else that may wake the
        // process.
        let wakers = sigs.iter().filter(|&&(_, w)| w).count();
        if Arc::strong_count(d) != 1 + wakers {
            return None;
        }
    }
    // Parked before and after reading the entries, with no park between: one wait.
    if !r.parked.load(Ordering::Acquire) || u64::from(r.seq.load(Ordering::Acquire)) != seq {
        return None;
    }
    Some(Blocked { on, seq })
}

/// A look at every live process of this program, and their names: one rank's part of a
/// judgement made over every rank (the MPI launcher gathers them).
#[cfg(all(feature = "mpi", feature = "launcher"))]
pub(crate) fn local_snapshot() -> (Snapshot, Vec<(u64, String)>) {
    let records = live();
    let names = records.iter().map(|r| (r.id, r.name.to_string())).collect();
    (snapshot(&records), names)
}

#[cfg_attr(not(all(feature = "mpi", feature = "launcher")), allow(dead_code))]
fn snapshot(records: &[Arc<Record>]) -> Snapshot {
    let mut s = Snapshot::default();
    for r in records {
        let blocked = candidate(r);
        add(&mut s, r, blocked);
    }
    s
}

/// Adds `r` to `s` if it has been in one wait since the monitor's last look (at least the
/// whole interval), with what it holds; the others are left out, as if they could act.
/// Every member of a deadlock is one of them from the second look after it formed; a
/// process left out only makes the waits on what it holds open (the judgement counts the
/// ends it holds as held by something it cannot see), so leaving out can delay a verdict
/// but never make one. What it saves: in a large network that moves (a ring of a million
/// processes passing a token) next to nothing is stuck for a whole interval, and a look
/// costs a pass over the records instead of a snapshot of every wait (a third of a
/// gigabyte at a million processes).
fn consider(s: &mut Snapshot, r: &Record) {
    let blocked = candidate(r);
    if seen_twice(&r.looked, blocked.as_ref()) {
        add(s, r, blocked);
    }
}

/// Whether `blocked` is the wait `looked` says the last look saw; `looked` then says this
/// look's.
fn seen_twice(looked: &AtomicU32, blocked: Option<&Blocked>) -> bool {
    // The wait's `seq` is the record's 32-bit park count (see `Record::seq`).
    let seen = blocked.map_or(NOT_SEEN, |b| b.seq as u32);
    let before = looked.swap(seen, Ordering::Relaxed);
    seen != NOT_SEEN && before == seen
}

/// Adds `r`, blocked in `blocked` (if a candidate), and what it holds.
fn add(s: &mut Snapshot, r: &Record, blocked: Option<Blocked>) {
    let mut held = Vec::new();
    for h in r.held() {
        match h {
            Held::Chan(c, d) => {
                held.push(Res::Chan(c.id(), d));
                s.ends.entry(c.id()).or_insert_with(|| c.ends());
            }
            Held::Barrier(b) => {
                held.push(Res::Barrier(b.id()));
                s.enrolled.entry(b.id()).or_insert_with(|| b.enrolled());
            }
        }
    }
    s.procs.push(ProcSnap {
        id: r.id,
        held,
        blocked,
    });
}

fn act(records: &[Arc<Record>], snap: &Snapshot, members: &[u64], waits: &HashMap<u64, Blocked>) {
    let by_id: HashMap<u64, &Arc<Record>> = records.iter().map(|r| (r.id, r)).collect();
    let mut chans: HashMap<u64, Arc<dyn Endpoint>> = HashMap::new();
    let mut barriers: HashMap<u64, Arc<dyn Enrolment>> = HashMap::new();
    for r in records {
        for h in r.held() {
            match h {
                Held::Chan(c, _) => {
                    chans.entry(c.id()).or_insert(c);
                }
                Held::Barrier(b) => {
                    barriers.entry(b.id()).or_insert(b);
                }
            }
        }
    }
    let name_of = |id: u64| by_id.get(&id).map(|r| r.name.to_string());
    let label_of = |w: &WaitOn| match *w {
        WaitOn::Channel { id, .. } => chans
            .get(&id)
            .and_then(|c| c.name().map(str::to_string))
            .unwrap_or_else(|| format!("#{id}")),
        WaitOn::Barrier { id } => barriers
            .get(&id)
            .map_or_else(|| format!("#{id}"), |b| b.label()),
        WaitOn::Timer => String::new(),
    };
    let mut groups: Vec<Arc<super::group::Group>> = Vec::new();
    for id in members {
        if let Some(r) = by_id.get(id) {
            if !groups.iter().any(|g| Arc::ptr_eq(g, &r.group)) {
                groups.push(r.group.clone());
            }
        }
    }
    let in_groups = records
        .iter()
        .filter(|r| groups.iter().any(|g| Arc::ptr_eq(g, &r.group)))
        .count();
    let rep = report(
        snap,
        members,
        waits,
        &name_of,
        &label_of,
        in_groups > members.len(),
    );
    tracing::info!("{rep}");
    for g in &groups {
        g.deadlocked(&rep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(seq: u64) -> Blocked {
        Blocked {
            on: vec![WaitOn::Timer],
            seq,
        }
    }

    #[test]
    fn a_wait_counts_once_two_looks_in_a_row_saw_it() {
        let looked = AtomicU32::new(NOT_SEEN);
        assert!(!seen_twice(&looked, Some(&wait(3))), "first seen");
        assert!(seen_twice(&looked, Some(&wait(3))), "the same wait, again");
        assert!(seen_twice(&looked, Some(&wait(3))), "and again");
        assert!(
            !seen_twice(&looked, Some(&wait(4))),
            "parked again in between"
        );
        assert!(!seen_twice(&looked, None), "running");
        assert!(
            !seen_twice(&looked, Some(&wait(4))),
            "not seen at the look before"
        );
        assert!(seen_twice(&looked, Some(&wait(4))));
        // A count equal to the marker is never taken as seen.
        let max = u64::from(NOT_SEEN);
        assert!(!seen_twice(&looked, Some(&wait(max))));
        assert!(!seen_twice(&looked, Some(&wait(max))));
    }
}
