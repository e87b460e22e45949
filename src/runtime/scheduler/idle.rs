//! Which workers are parked and which are searching for work (tokio's `idle.rs` protocol;
//! Go's `nmspinning`). See README.md, "Parking".

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

use super::lock;

/// `state` packs the number of searching workers (low bits) and of unparked workers.
const UNPARKED_ONE: usize = 1 << 16;
const SEARCHING_MASK: usize = UNPARKED_ONE - 1;

pub(super) struct Idle {
    state: AtomicUsize,
    /// Indices of parked workers. Every change to the unparked count is made under this
    /// lock together with the change to the list, so the two agree under the lock.
    sleepers: Mutex<Vec<usize>>,
    workers: usize,
}

fn searching(s: usize) -> usize {
    s & SEARCHING_MASK
}

fn unparked(s: usize) -> usize {
    s / UNPARKED_ONE
}

impl Idle {
    pub(super) fn new(workers: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(workers * UNPARKED_ONE),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            workers,
        }
    }

    /// Becomes a searcher unless half the workers already are (more would only contend
    /// on the same queues).
    pub(super) fn try_start_searching(&self) -> bool {
        let s = self.state.load(SeqCst);
        if 2 * searching(s) >= self.workers.max(2) {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// Stops searching (found work); returns whether this was the last searcher, who must
    /// then wake another worker: there may be more work than it took.
    pub(super) fn stop_searching(&self) -> bool {
        searching(self.state.fetch_sub(1, SeqCst)) == 1
    }

    /// Whether a new task should wake a parked worker: only when none is searching (a
    /// searcher will find it, so the common wake costs one atomic read-modify-write and
    /// no futex call) and some worker is parked.
    ///
    /// A read-modify-write, not a load: it joins the total order of RMWs on `state`, so
    /// either the parking searcher's decrement comes after it (and that searcher's
    /// re-check of the queues sees the task pushed before it) or it sees the decrement.
    fn should_wake(&self) -> bool {
        let s = self.state.fetch_add(0, SeqCst);
        searching(s) == 0 && unparked(s) < self.workers
    }

    /// Picks a parked worker to wake, counting it as unparked and searching.
    pub(super) fn worker_to_notify(&self) -> Option<usize> {
        if !self.should_wake() {
            return None;
        }
        let mut sleepers = lock(&self.sleepers);
        if !self.should_wake() {
            return None;
        }
        let i = sleepers.pop()?;
        self.state.fetch_add(UNPARKED_ONE + 1, SeqCst);
        Some(i)
    }

    /// Records worker `index` as parked; returns whether it was the last searcher (who
    /// must then look at every queue once more before it sleeps).
    pub(super) fn transition_to_parked(&self, index: usize, was_searching: bool) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let dec = UNPARKED_ONE + usize::from(was_searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(index);
        was_searching && searching(prev) == 1
    }

    /// Whether worker `index` is still listed as parked (i.e. its wake-up was spurious).
    pub(super) fn is_parked(&self, index: usize) -> bool {
        lock(&self.sleepers).contains(&index)
    }
}
