//! The task state machine, in one atomic word (README.md, "Task state"). Its atomics come
//! from `crate::loom`, so the loom models at the bottom check these very transitions:
//! `RUSTFLAGS="--cfg loom" cargo test --release --lib scheduler --target-dir target/loom`.

use crate::loom::{AtomicUsize, Ordering::*};

/// In a run queue (or being pushed to one); only the IDLE -> SCHEDULED transition queues
/// a task, so a task is in at most one queue slot at a time.
const SCHEDULED: usize = 1;
/// Being polled (or cancelled) by the one thread that made this transition.
const RUNNING: usize = 2;
/// Woken while RUNNING: the runner re-queues it after the poll returns.
const NOTIFIED: usize = 4;
/// Finished, panicked or cancelled; the future has been dropped. Terminal.
const COMPLETE: usize = 8;
/// Shutdown asked for the task while it was RUNNING: its runner cancels it after the poll.
const CANCELLED: usize = 16;

/// What the runner does after a poll that returned `Pending`.
#[derive(Debug, PartialEq)]
pub(super) enum AfterPoll {
    /// Nothing: it waits for a wake.
    Idle,
    /// Queue it again: it was woken during the poll.
    Requeue,
    /// Cancel it (the runner still holds RUNNING): the pool shut down during the poll.
    Cancel,
}

pub(super) struct State(AtomicUsize);

impl State {
    /// A new task is SCHEDULED: its spawner queues it.
    pub(super) fn new_scheduled() -> State {
        State(AtomicUsize::new(SCHEDULED))
    }

    /// SCHEDULED -> RUNNING, by the holder of the task's queue entry. False if the shutdown
    /// sweep claimed the task while it was queued (the entry is then just spent).
    pub(super) fn start_run(&self) -> bool {
        let mut s = self.0.load(Acquire);
        loop {
            if s & (RUNNING | COMPLETE) != 0 {
                return false;
            }
            debug_assert_eq!(s, SCHEDULED);
            // Acquire: the poll sees what every waker did before its (Release) wake.
            match self.0.compare_exchange_weak(s, RUNNING, AcqRel, Acquire) {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// After a poll that returned `Pending`: RUNNING -> IDLE, or -> SCHEDULED if woken
    /// meanwhile (the wake was not lost), or stays RUNNING to be cancelled if the
    /// shutdown sweep came by meanwhile. Both races are RMWs on this one word, so one of
    /// each pair is first and the second sees it.
    pub(super) fn end_poll(&self) -> AfterPoll {
        let mut s = self.0.load(Acquire);
        loop {
            debug_assert!(s & RUNNING != 0 && s & (SCHEDULED | COMPLETE) == 0);
            let (next, what) = if s & CANCELLED != 0 {
                return AfterPoll::Cancel;
            } else if s & NOTIFIED != 0 {
                (SCHEDULED, AfterPoll::Requeue)
            } else {
                (0, AfterPoll::Idle)
            };
            match self.0.compare_exchange_weak(s, next, AcqRel, Acquire) {
                Ok(_) => return what,
                Err(actual) => s = actual,
            }
        }
    }

    /// A wake. True: the task was IDLE and is now SCHEDULED, and the caller must queue it.
    /// If it is RUNNING it becomes NOTIFIED (the runner re-queues it); if already
    /// SCHEDULED or NOTIFIED the wake is absorbed; if COMPLETE it is harmless.
    pub(super) fn wake(&self) -> bool {
        let mut s = self.0.load(Acquire);
        loop {
            if s & COMPLETE != 0 {
                return false;
            }
            let next = if s & (SCHEDULED | NOTIFIED) != 0 {
                // Absorbed, but still a Release RMW: the poll that will follow starts
                // with an Acquire RMW later in this word's modification order, so it sees
                // what this waker wrote before waking (without it, only the waker's own
                // synchronisation, e.g. a channel's lock, would promise that).
                s
            } else if s & RUNNING != 0 {
                s | NOTIFIED
            } else {
                SCHEDULED
            };
            match self.0.compare_exchange_weak(s, next, AcqRel, Acquire) {
                Ok(_) => return s & (SCHEDULED | NOTIFIED | RUNNING) == 0,
                Err(actual) => s = actual,
            }
        }
    }

    /// For the shutdown sweep: IDLE or SCHEDULED -> RUNNING (true: the caller cancels
    /// the task now). If it is RUNNING, marks it CANCELLED for its runner (`end_poll`) and
    /// returns false; if COMPLETE, false.
    pub(super) fn claim(&self) -> bool {
        let mut s = self.0.load(Acquire);
        loop {
            let next = if s & (COMPLETE | CANCELLED) != 0 {
                return false;
            } else if s & RUNNING != 0 {
                s | CANCELLED
            } else {
                RUNNING
            };
            match self.0.compare_exchange_weak(s, next, AcqRel, Acquire) {
                Ok(_) => return next == RUNNING,
                Err(actual) => s = actual,
            }
        }
    }

    /// RUNNING -> COMPLETE (a pending NOTIFIED bit is dropped: nobody polls it again).
    pub(super) fn complete(&self) {
        let prev = self.0.swap(COMPLETE, AcqRel);
        debug_assert!(prev & RUNNING != 0);
    }

    pub(super) fn is_complete(&self) -> bool {
        self.0.load(Acquire) & COMPLETE != 0
    }
}

#[cfg(all(test, loom))]
mod models {
    use super::{AfterPoll, State};
    use loom::sync::atomic::{AtomicUsize, Ordering::*};
    use loom::sync::Arc;
    use loom::thread;

    /// A poll that ran, and whether it saw the waker's write.
    fn poll(st: &State, data: &AtomicUsize, seen: &mut usize) -> bool {
        *seen = (*seen).max(data.load(Relaxed));
        st.end_poll() == AfterPoll::Requeue
    }

    /// A wake from another thread while the task is queued, running or idle is never
    /// lost: some poll after it sees what the waker wrote before waking, and the task
    /// never has two queue entries.
    #[test]
    fn wake_is_not_lost() {
        loom::model(|| {
            let st = Arc::new(State::new_scheduled());
            let data = Arc::new(AtomicUsize::new(0));
            let queued = Arc::new(AtomicUsize::new(0));
            let waker = {
                let (st, data, queued) = (st.clone(), data.clone(), queued.clone());
                thread::spawn(move || {
                    data.store(1, Relaxed);
                    if st.wake() {
                        queued.fetch_add(1, Relaxed);
                    }
                })
            };
            let mut seen = 0;
            assert!(st.start_run());
            let again = poll(&st, &data, &mut seen);
            waker.join().unwrap();
            let entries = usize::from(again) + queued.load(Relaxed);
            assert!(entries <= 1, "two queue entries for one task");
            if entries == 1 {
                assert!(st.start_run());
                assert!(!poll(&st, &data, &mut seen));
            }
            assert_eq!(seen, 1, "no poll after the wake saw the waker's write");
        });
    }

    /// Two wakers racing a running task: at most one queue entry at any time, and a poll
    /// after both wakes.
    #[test]
    fn two_wakers_one_entry() {
        // Three threads: bounded preemptions keep it to seconds (LOOM_MAX_PREEMPTIONS
        // overrides the bound).
        let mut b = loom::model::Builder::new();
        b.preemption_bound = b.preemption_bound.or(Some(2));
        b.check(|| {
            let st = Arc::new(State::new_scheduled());
            let data = Arc::new(AtomicUsize::new(0));
            let entries = Arc::new(AtomicUsize::new(1)); // the spawn's
            let wakers: Vec<_> = (1..=2)
                .map(|i| {
                    let (st, data, entries) = (st.clone(), data.clone(), entries.clone());
                    thread::spawn(move || {
                        data.fetch_add(i, Relaxed);
                        if st.wake() {
                            assert_eq!(entries.fetch_add(1, AcqRel), 0, "two queue entries");
                        }
                    })
                })
                .collect();
            let mut seen = 0;
            // One poll racing both wakes, then whatever they left queued (one entry at
            // most, checked at every push).
            entries.fetch_sub(1, AcqRel);
            assert!(st.start_run());
            if poll(&st, &data, &mut seen) {
                assert_eq!(entries.fetch_add(1, AcqRel), 0, "two queue entries");
            }
            for w in wakers {
                w.join().unwrap();
            }
            if entries.swap(0, AcqRel) == 1 {
                assert!(st.start_run());
                assert!(!poll(&st, &data, &mut seen));
            }
            assert_eq!(seen, 3, "a wake was lost");
        });
    }

    /// The shutdown sweep racing a poll (and a wake): the task is cancelled exactly once,
    /// by the sweep (claim) or by its runner (end_poll), and never queued after it.
    #[test]
    fn shutdown_sweep_meets_a_poll() {
        loom::model(|| {
            let st = Arc::new(State::new_scheduled());
            let cancels = Arc::new(AtomicUsize::new(0));
            let sweep = {
                let (st, cancels) = (st.clone(), cancels.clone());
                thread::spawn(move || {
                    if st.claim() {
                        cancels.fetch_add(1, Relaxed);
                        st.complete();
                    }
                })
            };
            let waker = {
                let st = st.clone();
                thread::spawn(move || st.wake())
            };
            let mut queued = true; // the spawn's entry
            while std::mem::take(&mut queued) {
                if st.start_run() {
                    match st.end_poll() {
                        AfterPoll::Idle => {}
                        AfterPoll::Requeue => queued = true,
                        AfterPoll::Cancel => {
                            cancels.fetch_add(1, Relaxed);
                            st.complete();
                        }
                    }
                }
            }
            sweep.join().unwrap();
            if waker.join().unwrap() {
                // The waker queued it: that entry runs (or is spent, if claimed).
                if st.start_run() {
                    let after = st.end_poll();
                    assert_ne!(after, AfterPoll::Requeue);
                    if after == AfterPoll::Cancel {
                        cancels.fetch_add(1, Relaxed);
                        st.complete();
                    }
                }
            }
            assert_eq!(
                cancels.load(Relaxed),
                1,
                "cancelled {} times",
                cancels.load(Relaxed)
            );
            assert!(st.is_complete());
        });
    }
}
