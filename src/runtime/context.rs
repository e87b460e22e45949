//! The running process: the one hook that channels, alt, barriers and timers call into
//! the runtime.
//!
//! Each OS thread has a current process, or none. A thread process sets it for its whole
//! life; an async process sets it around every poll (whichever thread polls it), so the
//! same calls work under both schedulers. The hooks are cheap when there is nothing to
//! do: an end already registered with the running process costs one thread-local read.
//!
//! This module imports only the record and the wait layer: the channel and barrier types
//! reach it through the `held` traits, so dependencies flow one way (channel -> context,
//! never back).

use std::cell::Cell;
use std::sync::Arc;
use std::task::Waker;

use super::held::{Endpoint, Enrolment, Held};
use super::record::{live_record, Record};
use super::recorder;
use super::scheduler;
use crate::wait::{Direction, Signal, Signalled, WaitOn};

thread_local! {
    /// The running process's record, borrowed from whoever entered it (see `Entered`): a
    /// pointer, not a count, so that entering a process around every poll of a green task
    /// costs no atomic read-modify-write.
    static CURRENT: Cell<*const Arc<Record>> = const { Cell::new(std::ptr::null()) };
    /// The current process's id (0: none), readable without touching the record.
    static CURRENT_ID: Cell<u64> = const { Cell::new(0) };
}

/// While alive, a record is the calling thread's running process. It borrows the record,
/// so `CURRENT` never outlives it; guards are dropped in the reverse order of entering
/// (they are locals of the two callers, never leaked), which restores the previous one.
pub(crate) struct Entered<'a> {
    prev: *const Arc<Record>,
    prev_id: u64,
    _rec: std::marker::PhantomData<&'a Arc<Record>>,
}

/// Makes `rec` the running process of the calling thread until the guard drops (for a
/// thread process, its whole life; for an async process, one poll).
pub(crate) fn enter(rec: &Arc<Record>) -> Entered<'_> {
    let prev = CURRENT.with(|c| c.replace(rec));
    let prev_id = CURRENT_ID.with(|c| c.replace(rec.id));
    Entered {
        prev,
        prev_id,
        _rec: std::marker::PhantomData,
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.prev));
        let _ = CURRENT_ID.try_with(|c| c.set(self.prev_id));
    }
}

/// The waker an async wait on a channel should leave in its signal, polled with `waker`,
/// and whether the signal is *direct* (see `Signal::task_direct`). When `waker` is the
/// running process's own (its driver's, see `ProcWaker`), it is the task waker inside
/// it: the deadlock monitor counts each clone of the process waker as something that may
/// wake the process, and a channel wait, which the monitor finds in the channel's queue
/// anyway, need not be one; its settler then moves the count the waker holds into the
/// run queue. And if the running task's queue entry still has its count, the waker takes
/// that one instead of a new one (`scheduler::take_run_count`). Otherwise a clone of
/// `waker`.
#[inline]
pub(crate) fn wait_waker(waker: &Waker) -> (Waker, bool) {
    let p = CURRENT.try_with(Cell::get).unwrap_or(std::ptr::null());
    // SAFETY: as in `with_current`.
    if let Some(pw) = unsafe { p.as_ref() }.and_then(|r| r.driver.get()) {
        // The process waker is crate-private and only ever made into a waker by
        // `ProcWaker::borrowed` or a clone of it, so its address identifies it.
        if std::ptr::eq(waker.data(), Arc::as_ptr(pw).cast()) {
            // Its wake will not pass through the process waker, which keeps the viewer's
            // "woken" flag: counted now. The flag is read only when the process is
            // parked and no wait of it is found, i.e. once this one has ended.
            pw.woken_direct();
            let task = pw.task_waker();
            if scheduler::take_run_count(task.data()) {
                // SAFETY: the count just taken is this waker's (see `take_run_count`);
                // the parts are those of a live waker of the same task.
                return (unsafe { Waker::new(task.data(), task.vtable()) }, true);
            }
            return (task.clone(), true);
        }
    }
    (waker.clone(), false)
}

/// The running process's id, or 0 outside processes.
#[inline]
pub(crate) fn current_id() -> u64 {
    CURRENT_ID.try_with(Cell::get).unwrap_or(0)
}

pub(crate) fn with_current<R>(f: impl FnOnce(&Arc<Record>) -> R) -> Option<R> {
    let p = CURRENT.try_with(Cell::get).ok()?;
    // SAFETY: a non-null CURRENT points at the record borrowed by the live `Entered` guard
    // that set it (see `Entered`).
    unsafe { p.as_ref() }.map(f)
}

pub(crate) fn current() -> Option<Arc<Record>> {
    with_current(Arc::clone)
}

/// Moves one end object on `h` from process `from` (0: none) to the running process.
fn claim(h: Held, from: u64) {
    if from != 0 {
        if let Some(prev) = live_record(from) {
            prev.unhold(&h);
        }
    }
    with_current(|r| r.hold(h));
}

/// An end object first used by the running process (or moved into it from process
/// `from`, which lets go of it): it is registered with the running process, whose failure
/// then poisons it and whose graph shows it.
pub(crate) fn register_end(end: Arc<dyn Endpoint>, dir: Direction, from: u64) {
    claim(Held::Chan(end, dir), from);
}

/// As [`register_end`], for a barrier enrolment.
pub(crate) fn register_barrier(b: Arc<dyn Enrolment>, from: u64) {
    claim(Held::Barrier(b), from);
}

/// A declared end (see `Process::with`) that process `from` had registered moves to the
/// process being declared, which is not running yet.
pub(crate) fn release_from(h: &Held, from: u64) {
    if let Some(prev) = live_record(from) {
        prev.unhold(h);
    }
}

/// Defers dropping an end held by the running process until it next waits or ends (see
/// `Record::defer_drop`); returns false (drop it now) outside processes.
pub(crate) fn defer_drop(end: &Arc<dyn Endpoint>, dir: Direction) -> bool {
    with_current(|r| r.defer_drop(end.clone(), dir)).is_some()
}

/// Drops what the running process has let go of (before it parks).
pub(crate) fn flush_current() {
    with_current(|r| r.flush_if_any());
}

/// The running process's wait on some channels, a barrier or a timer, recorded for the
/// deadlock monitor and the graph until dropped.
#[must_use]
pub(crate) struct Waiting {
    rec: Option<Arc<Record>>,
    token: u64,
    parks: bool,
}

/// Runs `sleep`, which blocks the thread until `sig` fires (or a timer, with no signal),
/// with the process recorded as parked, waiting on `on`. Inside a green task the sleep
/// first hands the worker's queue to another thread, so that the other tasks move on; the
/// process is warned about once (a blocking call in an async process). A thread waiting
/// on a cross-rank link's channel (`drive`: `Some` of the wait's deadline) first drives
/// the scheduler's idle hook (the MPI engine: `scheduler::drive_blocked`), as an idle
/// worker would, so that it receives what it waits for itself.
pub(crate) fn park<R>(
    on: &[WaitOn],
    sig: Option<&Arc<Signal>>,
    drive: Option<Option<std::time::Instant>>,
    sleep: &mut dyn FnMut() -> R,
) -> R {
    let _waiting = wait(on, sig.map(|s| s.clone() as Arc<dyn Signalled>), true);
    if scheduler::on_worker() {
        if let Some(r) = &_waiting.rec {
            r.warn_blocking();
        }
        scheduler::block_in_place(sleep)
    } else {
        let _asleep = match (sig, drive) {
            (Some(sig), Some(deadline)) => {
                // The hook runs other parties' code (the engine's proxies use channel
                // ends): as this process, an end they touch would register with it.
                let _outside = outside();
                scheduler::drive_blocked(&|| sig.outcome().is_some(), deadline)
            }
            _ => None,
        };
        sleep()
    }
}

/// A task took a value from the local channel of a cross-rank link: on a green worker,
/// steps the MPI engine at once (`scheduler::poke`), as no process, so that the
/// acknowledgement leaves before the task goes on.
pub(crate) fn link_taken() {
    if scheduler::on_worker() {
        let _outside = outside();
        scheduler::poke();
    }
}

/// Until the guard drops, the calling thread runs no process.
fn outside() -> Entered<'static> {
    Entered {
        prev: CURRENT.with(|c| c.replace(std::ptr::null())),
        prev_id: CURRENT_ID.with(|c| c.replace(0)),
        _rec: std::marker::PhantomData,
    }
}

/// An async operation that returned pending, waiting on `on`: the entries count once the
/// process's driver has parked it, and go when the guard drops (the operation completed
/// or its future was dropped).
pub(crate) fn pending_on<S: Signalled + 'static>(on: &[WaitOn], sig: Option<&Arc<S>>) -> Waiting {
    wait(on, sig.map(|s| s.clone() as Arc<dyn Signalled>), false)
}

fn wait(on: &[WaitOn], sig: Option<Arc<dyn Signalled>>, parks: bool) -> Waiting {
    if !parks && !recorder::on() && on.iter().all(|w| matches!(w, WaitOn::Channel { .. })) {
        // Nothing to record (an async wait on channels only: they are found in the
        // channels' queues), and the driver marks the process parked.
        return Waiting {
            rec: None,
            token: 0,
            parks,
        };
    }
    let rec = current();
    let token = rec.as_ref().map_or(0, |r| r.add_waits(on, sig, parks));
    Waiting { rec, token, parks }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(r) = &self.rec {
            r.remove_waits(self.token, self.parks);
        }
    }
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Waiting")
    }
}
