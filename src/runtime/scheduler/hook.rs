//! The idle hook: work a worker does when it has no task to run, before it parks (the
//! seam through which an I/O driver, here the MPI engine of `src/mpi/`, is driven by idle
//! workers, as tokio's workers drive its I/O and timer drivers, without the scheduler
//! knowing of it). See README.md, "The idle hook".

use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crossbeam_utils::Backoff;

/// How long whoever drives the hook goes on calling it after it last did work before it
/// sleeps: a peer's reply over MPI comes within a few microseconds to tens of them, and a
/// thread asleep by then costs an OS wake-up per message. Workers (`worker.rs`) and
/// blocked threads (`drive_blocked`) alike.
pub(super) const HOOK_LINGER: Duration = Duration::from_micros(200);

/// Rounds for which whoever drives the hook, once it has done work, calls it at a steady
/// pace (`steady_pause` between two), about 30 microseconds, before backing off as a
/// searcher does (`Backoff::snooze`: pauses that double, then `sched_yield`s). The peer's
/// answer is on its way: with the doubling, the rounds were 0.4 to 1.7 microseconds apart
/// by the time it came, a microsecond or two after the question, and each `sched_yield`
/// on a loaded machine gave the core away for a time slice (figures: `README.md`, "The
/// idle hook").
pub(super) const STEADY_ROUNDS: u32 = 512;

/// The same for a thread process blocked on a link (`drive_blocked`): far fewer, about 2
/// microseconds (a round trip between two ranks of one node), because the rank's other
/// thread processes may want the core meanwhile, and the backing off `sched_yield`s give
/// it to them. Commstime of thread processes with `succ` on another rank took 16-17 µs a
/// communication with 512 steady rounds here, 8.0-9.2 µs with 32, 7.4-8.7 µs with none.
const THREAD_STEADY_ROUNDS: u32 = 32;

/// The pause between two steady rounds: a few spin-loop hints, so that a round, an idle
/// engine step (tens of nanoseconds), comes about as often as MPI can deliver.
pub(super) fn steady_pause() {
    for _ in 0..4 {
        std::hint::spin_loop();
    }
}

/// What an idle worker calls, and a thread about to sleep on a signal (`drive_blocked`).
/// Both methods run with no process's record current and no scheduler lock held; on a
/// worker, between two polls, a task they wake goes to that worker's run-next slot, so a
/// reply that the hook receives runs at once on the thread that received it.
pub(crate) trait IdleHook: Send + Sync {
    /// Does what is ready now and never blocks; whether it did anything (the worker then
    /// looks at its queues again, and keeps searching a while longer before it parks).
    fn poll(&self) -> bool;
    /// A blocked thread is about to drive (`drive_blocked`): whoever drives now should give
    /// way to its `poll`s, as to a worker's. False: it may not drive (it sleeps at once).
    fn claim(&self) -> bool;
    /// The caller is about to park (or sleep): whatever it drove must now be driven by
    /// someone else.
    fn parking(&self);
}

static HOOK: OnceLock<Box<dyn IdleHook>> = OnceLock::new();

/// Registers the process's idle hook, for every pool, present and future. One per
/// process: a second is refused (given back).
#[cfg_attr(not(feature = "mpi"), allow(dead_code))] // its one user is the mpi engine
pub(crate) fn set_idle_hook(hook: Box<dyn IdleHook>) -> Result<(), Box<dyn IdleHook>> {
    HOOK.set(hook)
}

/// The idle hook, if one was registered: without one, a worker pays this one load and
/// branch per idle spell.
pub(super) fn idle_hook() -> Option<&'static dyn IdleHook> {
    HOOK.get().map(|h| &**h)
}

/// Steps the hook once, now, for a task on a worker that just took a value from a
/// cross-rank link's channel (`context::link_taken`): the proxy's `Ack` goes out before
/// the task runs on to its next operation, so the remote writer's send completes, and its
/// process moves on, while this one works. Never waits (the hook `try_lock`s).
pub(crate) fn poke() {
    if let Some(h) = idle_hook() {
        h.poll();
    }
}

/// Whether a blocked thread drives the hook now (`drive_blocked`): one at a time, so that
/// threads blocked in their hundreds do not all spin.
static THREAD_DRIVES: AtomicBool = AtomicBool::new(false);
/// Threads asleep on a wait the hook's driver completes (`Asleep`): a driving thread whose
/// own wait completed hands back if there are any, so that someone goes on driving for
/// them (else the driver it displaced would notice only when the steps stop coming).
static SLEEPERS: AtomicUsize = AtomicUsize::new(0);

/// A thread counted among `SLEEPERS` until this drops.
pub(crate) struct Asleep(());

impl Asleep {
    fn count() -> Asleep {
        SLEEPERS.fetch_add(1, SeqCst);
        Asleep(())
    }
}

impl Drop for Asleep {
    fn drop(&mut self) {
        SLEEPERS.fetch_sub(1, SeqCst);
    }
}

/// A thread that is about to sleep until `done`, waiting on something the hook's driver
/// completes (a thread process blocked on a cross-rank channel), drives the hook
/// meanwhile, as an idle worker does: it claims the driving (`IdleHook::claim`: the driver
/// it displaces gives way), then calls `poll` until `done`, or until `HOOK_LINGER` has
/// passed since it last did work, or `deadline`; then it hands back (`parking`) and the
/// caller sleeps, holding the `Asleep` returned. What the thread waits for from another
/// rank is then received by the thread itself, which finds its signal fired and never
/// sleeps: no OS wake-up on the way, as for a task on an idle worker. When `done`, it
/// returns still driving, as a worker that found a task does (it steps again when it next
/// blocks, and the driver it displaced takes over if it stops stepping), unless other
/// threads sleep on such waits: then it hands back, so that their messages are not left
/// for the displaced driver to notice late. One thread drives this way at a time; the
/// others sleep at once. The caller makes sure no process's record is current.
pub(crate) fn drive_blocked(done: &dyn Fn() -> bool, deadline: Option<Instant>) -> Option<Asleep> {
    let hook = idle_hook()?;
    // Counted before looking at the flag, and a driver looks at the count after clearing
    // it (both SeqCst): either this thread finds the flag clear and drives, or the driver
    // that holds it sees this thread counted when it leaves.
    let asleep = Asleep::count();
    if THREAD_DRIVES.swap(true, SeqCst) {
        return Some(asleep);
    }
    drop(asleep);
    if !hook.claim() {
        THREAD_DRIVES.store(false, SeqCst);
        return None; // the engine's own thread drives: nobody to hand back to
    }
    // Lingering from the first round that finds nothing (what the thread waits for is on
    // its way), again after each that did work: the clock is read then, not after the
    // work, which the woken thread would wait for.
    let mut worked: Option<Instant> = None;
    let backoff = Backoff::new();
    let mut idle = 0u32;
    loop {
        if done() {
            THREAD_DRIVES.store(false, SeqCst);
            if SLEEPERS.load(SeqCst) > 0 {
                hook.parking();
            }
            return None;
        }
        if hook.poll() {
            idle = 0;
            worked = None;
            backoff.reset();
            continue;
        }
        let since = *worked.get_or_insert_with(Instant::now);
        idle += 1;
        // While steady, the clock is looked at every 16 rounds (a microsecond or so), not
        // each (a `clock_gettime` longer than the round itself).
        if idle >= THREAD_STEADY_ROUNDS || idle % 16 == 0 {
            let now = Instant::now();
            if now.duration_since(since) >= HOOK_LINGER || deadline.is_some_and(|d| now >= d) {
                break;
            }
        }
        if idle < THREAD_STEADY_ROUNDS {
            steady_pause();
        } else {
            backoff.snooze();
        }
    }
    hook.parking();
    let asleep = Asleep::count();
    THREAD_DRIVES.store(false, SeqCst);
    Some(asleep)
}
