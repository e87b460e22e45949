//! The wait layer: the only code in occamy that blocks.
//!
//! A party that cannot complete a channel operation, an alt or a barrier sync leaves a
//! [`Signal`] behind and waits on it. Whoever completes the party (a peer on a channel,
//! poison, retirement, a barrier's last arrival) first *fires* the signal with one CAS
//! (`Waiting -> outcome`) and then *wakes* it. The CAS is the arbiter of every race in the
//! core: an alt enrolled on several channels shares one signal among all its guards, so the
//! first peer to win the CAS completes it and every other peer skips it; a timeout or a
//! cancelled future *withdraws* with the same CAS, so it either wins (nobody will complete
//! the party any more) or loses (the party was completed and must take that result).
//!
//! A waiter is either an OS thread (blocked on a condition variable after a short spin) or
//! an async task (its `Waker`); both sit in the same channel queues, so a thread process and
//! an async process rendezvous directly.
//!
//! A signal names the process that waits on it: the graph exporter and the deadlock
//! detector find a process's channel waits in the queues of the channels it holds, so
//! nothing on a channel's paths, fast or slow, writes the process's record (barrier and
//! timer waits are recorded there). The caller says how
//! to record the wait, and where to sleep (`block`'s `park` argument), so this layer knows
//! nothing of processes or schedulers.

use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

use crate::loom::{lock, spin_until, AtomicUsize, Condvar, Mutex, Ordering, UnsafeCell};

const WAITING: usize = 0;
const WITHDRAWN: usize = 4;
/// Set (from `WAITING` only) by a thread about to sleep on its condition variable, and
/// kept by the CAS that fires the signal: the waker notifies only if it is set, so a
/// rendezvous whose peer is still spinning costs no system call. Both facts live in one
/// word, so its read-modify-writes order them (no SeqCst fences, which loom cannot model).
const PARKED: usize = 1 << (usize::BITS - 1);
/// Set (from `WAITING`, keeping `PARKED`) by a reader that has *claimed* a waiting sender
/// for an extended rendezvous (`Signal::claim`): the party is still waiting (`outcome` is
/// `None`), but nobody else can fire or withdraw it any more; only the claimer settles it,
/// with `Signal::complete`. The guard index claimed sits in the usual place.
const CLAIMED: usize = 1 << (usize::BITS - 2);
/// Set (while unsettled) by an async waiter replacing its waker (`Signal::set_waker`),
/// kept by the CAS that settles the signal: a waker that finds it set leaves the waker
/// alone (the waiter looks at the state again once it has cleared it), so that the common
/// path, a wake, reads the waker with no lock.
const REGISTERING: usize = 1 << (usize::BITS - 3);
/// Set at creation on the signal of a *soft* party: one that could do something else than
/// complete this operation (an alt, a send with a deadline). An extended rendezvous's
/// claimer that cannot yet know whether the value will be taken (a cross-rank proxy with
/// no remote reader's demand in hand) leaves a soft party alone, and may give a claimed
/// one back (`Outcome::Retry`). Never changed after creation, so it costs the local paths
/// nothing: the CAS that settles a signal keeps it like the other flags.
const SOFT: usize = 1 << (usize::BITS - 4);
/// The outcome `Retry(guard)`: a claimed party given back by its claimer (with the guard
/// index in the usual place). Only `Signal::complete` sets it, from `CLAIMED`.
const RETRY: usize = 1 << (usize::BITS - 5);
/// Set on a task signal whose waker is its process's *task* waker itself, not the counted
/// process waker that futures see (`Signal::task_direct`): its settler, the one party
/// that won the settling CAS, moves the waker out and wakes it by value, so that the
/// count the waker holds becomes the run queue's entry (no clone and no drop per wake).
/// The deadlock monitor, which counts the clones of a process waker, leaves it out. Set at
/// creation, and changed only by the holder of `REGISTERING`.
const DIRECT: usize = 1 << (usize::BITS - 6);
/// The bits that are not the state proper.
const FLAGS: usize = PARKED | REGISTERING | SOFT | DIRECT;
const READY: usize = 1;
const RETIRED: usize = 2;
const POISONED: usize = 3;

/// How a waiting party was completed. The `usize` is the index of the guard that fired
/// (always 0 for a plain send or receive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The operation of that guard completed: a value was taken from or put into its slot.
    Ready(usize),
    /// The channel of that guard retired (no parties left on the other side).
    Retired(usize),
    /// The channel of that guard was poisoned.
    Poisoned(usize),
    /// The party withdrew itself (a deadline passed, or its future was dropped).
    Withdrawn,
    /// The claimer of that guard (an extended rendezvous) gave the party back without
    /// using its value: nothing happened, and the party (an alt, a send with a deadline)
    /// tries again from the start, its value its own again. Only soft parties get it.
    Retry(usize),
}

impl Outcome {
    fn encode(self) -> usize {
        match self {
            Outcome::Ready(g) => (g << 2) | READY,
            Outcome::Retired(g) => (g << 2) | RETIRED,
            Outcome::Poisoned(g) => (g << 2) | POISONED,
            Outcome::Withdrawn => WITHDRAWN,
            Outcome::Retry(g) => RETRY | (g << 2),
        }
    }

    fn decode(s: usize) -> Option<Outcome> {
        let s = s & !FLAGS;
        if s & CLAIMED != 0 {
            return None;
        }
        if s & RETRY != 0 {
            return Some(Outcome::Retry((s & !RETRY) >> 2));
        }
        let g = s >> 2;
        match s & 3 {
            READY => Some(Outcome::Ready(g)),
            RETIRED => Some(Outcome::Retired(g)),
            POISONED => Some(Outcome::Poisoned(g)),
            _ if s == WAITING => None,
            _ => Some(Outcome::Withdrawn),
        }
    }
}

enum Target {
    /// `sleeping` says the thread may be in (or about to enter) `cv.wait`: a waker that
    /// finds it false skips the notify and its system call (the thread is still spinning,
    /// or has not started waiting, and will see the fired state itself).
    Thread { lock: Mutex<()>, cv: Condvar },
    /// Written only at creation and by the waiter holding `REGISTERING`.
    Task(UnsafeCell<Waker>),
}

/// What a record of a wait keeps to tell whether the wait has ended: a signal, or a waiter
/// that holds its signal inline (one allocation per blocked operation, not two).
pub(crate) trait Signalled: Send + Sync {
    fn as_signal(&self) -> &Signal;
}

impl Signalled for Signal {
    fn as_signal(&self) -> &Signal {
        self
    }
}

/// A one-shot completion cell shared by every waiter a blocked party left behind.
pub(crate) struct Signal {
    state: AtomicUsize,
    target: Target,
    /// The id of the process that waits on it (0: none). The deadlock monitor and the
    /// observers find a process's channel waits by this id in the queues of the channels
    /// it holds, so that a wait on a channel writes nothing to the process's record.
    owner: u64,
}

// SAFETY: the only unsynchronised field is a task's waker, which only the holder of
// REGISTERING writes and only a waker that saw it clear (after the signal settled) reads.
unsafe impl Sync for Signal {}

impl Signal {
    /// A signal for the calling thread (running process `owner`, or 0) to wait on with
    /// [`Signal::block`].
    pub(crate) fn thread(owner: u64) -> Signal {
        Signal {
            state: AtomicUsize::new(WAITING),
            target: Target::Thread {
                lock: Mutex::new(()),
                cv: Condvar::new(),
            },
            owner,
        }
    }

    /// A signal for an async task (running process `owner`, or 0): firing it wakes
    /// `waker` (or the one set last).
    pub(crate) fn task(waker: &Waker, owner: u64) -> Signal {
        Signal {
            state: AtomicUsize::new(WAITING),
            target: Target::Task(UnsafeCell::new(waker.clone())),
            owner,
        }
    }

    /// A task signal holding `waker`; `direct` says that it is the waiting process's task
    /// waker itself (see `DIRECT`; `runtime::context::wait_waker` tells). A direct signal
    /// must be woken only by the party that settled it: its wake moves the waker out.
    pub(crate) fn task_direct(waker: Waker, direct: bool, owner: u64) -> Signal {
        Signal {
            state: AtomicUsize::new(if direct { DIRECT } else { WAITING }),
            target: Target::Task(UnsafeCell::new(waker)),
            owner,
        }
    }

    /// Marks a new signal *soft* (see `SOFT`): its party has something else it could do.
    /// Only before anyone else sees the signal.
    pub(crate) fn soft(self) -> Signal {
        let s = self.state.load(Ordering::Relaxed);
        self.state.store(s | SOFT, Ordering::Relaxed);
        self
    }

    /// Whether the party is soft (see [`Signal::soft`]).
    #[inline]
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // its claimers are mpi's proxies
    pub(crate) fn is_soft(&self) -> bool {
        self.state.load(Ordering::Relaxed) & SOFT != 0
    }

    /// The process waiting on it (0: none).
    #[inline]
    pub(crate) fn owner(&self) -> u64 {
        self.owner
    }

    /// The outcome, once the signal has fired or been withdrawn.
    #[inline]
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        Outcome::decode(self.state.load(Ordering::Acquire))
    }

    /// Completes the party with `outcome` if nobody has yet. The caller must then call
    /// [`Signal::wake`] (preferably after releasing its channel locks).
    #[inline]
    pub(crate) fn fire(&self, outcome: Outcome) -> bool {
        self.settle(outcome.encode()).is_ok()
    }

    /// Withdraws the party. `Err` carries the outcome that got there first, or `None` if
    /// the party was claimed (an extended rendezvous is under way: it cannot withdraw any
    /// more, and must go on waiting for the claimer's outcome).
    pub(crate) fn withdraw(&self) -> Result<(), Option<Outcome>> {
        self.settle(WITHDRAWN)
    }

    /// Claims a waiting party (a sender) for an extended rendezvous, as its guard `guard`:
    /// from now on only [`Signal::complete`] settles it, and the party goes on waiting.
    /// `false` if it was already fired, withdrawn or claimed.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn claim(&self, guard: usize) -> bool {
        self.settle(CLAIMED | (guard << 2)).is_ok()
    }

    /// Whether an extended rendezvous's claimer holds the party (until it completes it).
    #[inline]
    pub(crate) fn is_claimed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLAIMED != 0
    }

    /// Ends a claimed party's wait with `outcome` (its guard is the one claimed). The caller
    /// must then call [`Signal::wake`].
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn complete(&self, outcome: Outcome) {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            debug_assert!(cur & CLAIMED != 0, "complete() on an unclaimed signal");
            match self.state.compare_exchange_weak(
                cur,
                outcome.encode() | (cur & FLAGS),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }

    /// Moves the state from waiting (parked or not) to `to`, keeping the flags; `Err`
    /// carries the outcome that got there first (`None`: a claim).
    fn settle(&self, to: usize) -> Result<(), Option<Outcome>> {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur & !FLAGS != WAITING {
                return Err(Outcome::decode(cur));
            }
            match self.state.compare_exchange_weak(
                cur,
                to | (cur & FLAGS),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => cur = now,
            }
        }
    }

    /// Wakes the party after [`Signal::fire`].
    pub(crate) fn wake(&self) {
        match &self.target {
            Target::Thread { lock: m, cv } => {
                // The waiter sets PARKED (from WAITING) before it sleeps, and the firing CAS
                // keeps it: if it is clear, the waiter will find the state fired itself.
                if self.state.load(Ordering::Acquire) & PARKED != 0 {
                    // Taking the lock orders this notify after the waiter's check of the
                    // state: a waiter that saw WAITING is inside `cv.wait` by the time we
                    // get the lock. Notifying after releasing it spares the woken thread
                    // from blocking at once on the lock we would still hold.
                    drop(lock(m));
                    cv.notify_one();
                }
            }
            Target::Task(w) => {
                // The signal has settled, so nobody can start replacing the waker any
                // more; one replacing it now has REGISTERING set and will find the outcome
                // itself. Without it, the replacement (if any) is complete: its Release
                // clear and this Acquire load order it before our read.
                let s = self.state.load(Ordering::Acquire);
                if s & REGISTERING != 0 {
                    return;
                }
                if s & DIRECT != 0 && Outcome::decode(s).is_some() {
                    // SAFETY: as below; and only the settler wakes a direct signal (its
                    // contract), so no other waker reads the cell while we replace it.
                    // The owner leaves a settled signal's waker alone until the settler
                    // has let go of its waiter (a spare is kept only at count 1).
                    let w = w
                        .with_mut(|w| unsafe { std::mem::replace(&mut *w, Waker::noop().clone()) });
                    w.wake();
                } else {
                    // SAFETY: as just said, nobody writes the waker while we read it.
                    // Woken by reference: no clone (two atomic counts) per wake.
                    w.with(|w| unsafe { &*w }.wake_by_ref());
                }
            }
        }
    }

    /// For async waiters: the waker to use from now on. Call before checking
    /// [`Signal::outcome`] on a later poll, so that a fire between the two is not missed
    /// (a fire during the call may skip the wake: the check after it sees the outcome).
    pub(crate) fn set_waker(&self, waker: &Waker) {
        self.set_waker_inner(waker, false)
    }

    fn set_waker_inner(&self, waker: &Waker, direct: bool) {
        let Target::Task(w) = &self.target else {
            return;
        };
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if Outcome::decode(cur).is_some() {
                return; // settled: the caller's check sees it, no waker needed
            }
            // Unsettled (waiting, or claimed: a claimer will complete and wake it).
            match self.state.compare_exchange_weak(
                cur,
                cur | REGISTERING,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        // SAFETY: REGISTERING is ours, and only its holder writes the waker; a waker that
        // sees it does not read it (see `wake`).
        let was_direct = cur & DIRECT != 0;
        w.with_mut(|w| {
            let w = unsafe { &mut *w };
            if was_direct != direct || !w.will_wake(waker) {
                *w = waker.clone();
            }
        });
        if was_direct == direct {
            self.state.fetch_and(!REGISTERING, Ordering::Release);
        } else {
            // Peers' CASes keep the flags, so the flag changes with the clear, in one RMW.
            let mut cur = self.state.load(Ordering::Relaxed);
            loop {
                let next = (cur & !(REGISTERING | DIRECT)) | if direct { DIRECT } else { 0 };
                match self.state.compare_exchange_weak(
                    cur,
                    next,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(now) => cur = now,
                }
            }
        }
    }

    /// For async waiters, on a later poll: the outcome if the signal has fired (no lock
    /// taken: the common case, a task polled because its signal woke it); otherwise it
    /// registers `waker` and looks once more, so that a fire between the two is not missed.
    #[inline]
    pub(crate) fn poll_outcome(&self, waker: &Waker) -> Option<Outcome> {
        self.outcome().or_else(|| {
            self.set_waker(waker);
            self.outcome()
        })
    }

    /// `poll_outcome` for a waiter whose waker may be direct: `waker` gives the waker to
    /// register and whether it is the waiting process's task waker itself (see `DIRECT`),
    /// and is called only if the signal has not settled.
    #[inline]
    pub(crate) fn poll_outcome_as(&self, waker: impl FnOnce() -> (Waker, bool)) -> Option<Outcome> {
        self.outcome().or_else(|| {
            let (w, direct) = waker();
            self.set_waker_inner(&w, direct);
            self.outcome()
        })
    }

    /// Whether firing the signal wakes an async task through a clone of the waker its
    /// future was polled with (not a direct signal: see `DIRECT`).
    pub(crate) fn holds_waker(&self) -> bool {
        matches!(&self.target, Target::Task(_)) && self.state.load(Ordering::Relaxed) & DIRECT == 0
    }

    /// Blocks the calling thread until the signal fires, or until `deadline`, when the party
    /// withdraws itself (unless a peer got there first, whose outcome is then returned).
    /// After a short spin (if `spin`), it hands the sleep to `park`, which must call it
    /// once: the caller records there what the party waits on, and may move the sleep off
    /// a scheduler's worker, or do work before it (`spin` false: a thread that drives the
    /// MPI engine while it waits, which the spin's yields would only delay).
    pub(crate) fn block(
        self: &Arc<Self>,
        deadline: Option<Instant>,
        spin: bool,
        park: impl FnOnce(&mut dyn FnMut() -> Outcome) -> Outcome,
    ) -> Outcome {
        if spin && spin_until(|| self.outcome().is_some()) {
            return self.outcome().unwrap();
        }
        park(&mut || self.sleep(deadline))
    }

    fn sleep(&self, mut deadline: Option<Instant>) -> Outcome {
        let Target::Thread { lock: m, cv } = &self.target else {
            unreachable!("block() on a task signal")
        };
        let mut g = lock(m);
        // Announced under the lock, so a waker that sees PARKED takes the lock only once we
        // are inside `cv.wait`. A claimed party sleeps too (its claimer completes it).
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if let Some(o) = Outcome::decode(cur) {
                return o;
            }
            match self.state.compare_exchange_weak(
                cur,
                cur | PARKED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        loop {
            if let Some(o) = self.outcome() {
                return o;
            }
            match deadline {
                None => g = cv.wait(g).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        match self.withdraw() {
                            Ok(()) => return Outcome::Withdrawn,
                            Err(Some(o)) => return o,
                            // Claimed: too late to withdraw; wait for the claimer.
                            Err(None) => deadline = None,
                        }
                        continue;
                    }
                    g = wait_timeout(cv, g, d - now);
                }
            }
        }
    }
}

#[cfg(not(loom))]
fn wait_timeout<'a>(
    cv: &Condvar,
    g: crate::loom::MutexGuard<'a, ()>,
    d: std::time::Duration,
) -> crate::loom::MutexGuard<'a, ()> {
    cv.wait_timeout(g, d).unwrap_or_else(|e| e.into_inner()).0
}

#[cfg(loom)]
fn wait_timeout<'a>(
    _cv: &Condvar,
    _g: crate::loom::MutexGuard<'a, ()>,
    _d: std::time::Duration,
) -> crate::loom::MutexGuard<'a, ()> {
    unreachable!("loom models use no deadlines")
}

/// Which way a party uses a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Writing (`!` in occam).
    Send,
    /// Reading (`?` in occam).
    Recv,
}

/// One thing a blocked process waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitOn {
    /// A channel operation (a plain send or receive, or one guard of an alt).
    Channel {
        /// The channel's id ([`crate::Sender::id`]).
        id: u64,
        /// Which end the process is using.
        dir: Direction,
    },
    /// A barrier sync.
    Barrier {
        /// The barrier's id.
        id: u64,
    },
    /// A timer deadline (an alt's timeout guard).
    Timer,
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn outcome_round_trips() {
        for o in [
            Outcome::Ready(0),
            Outcome::Ready(7),
            Outcome::Retired(3),
            Outcome::Poisoned(1 << 20),
            Outcome::Withdrawn,
            Outcome::Retry(0),
            Outcome::Retry(5),
        ] {
            assert_eq!(Outcome::decode(o.encode()), Some(o));
            assert_eq!(Outcome::decode(o.encode() | SOFT | PARKED), Some(o));
        }
        assert_eq!(Outcome::decode(WAITING), None);
    }

    #[test]
    fn fire_happens_once() {
        let s = Arc::new(Signal::thread(0));
        assert!(s.fire(Outcome::Ready(2)));
        assert!(!s.fire(Outcome::Poisoned(0)));
        assert_eq!(s.withdraw(), Err(Some(Outcome::Ready(2))));
        assert_eq!(s.block(None, true, |sleep| sleep()), Outcome::Ready(2));
    }

    #[test]
    fn a_claimed_party_waits_past_its_deadline_for_the_claimer() {
        let s = Arc::new(Signal::thread(0));
        assert!(s.claim(3));
        assert_eq!(s.outcome(), None);
        assert!(!s.fire(Outcome::Ready(0)));
        assert!(!s.claim(0));
        assert_eq!(s.withdraw(), Err(None));
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.block(Some(Instant::now()), true, |sleep| sleep()));
        // Whether the thread has parked yet or not, completing wakes it.
        s.complete(Outcome::Ready(3));
        s.wake();
        assert_eq!(t.join().unwrap(), Outcome::Ready(3));
    }

    #[test]
    fn deadline_withdraws() {
        let s = Arc::new(Signal::thread(0));
        let o = s.block(Some(Instant::now()), true, |sleep| sleep());
        assert_eq!(o, Outcome::Withdrawn);
        assert!(!s.fire(Outcome::Ready(0)));
    }
}

/// Loom models of the claim (`RUSTFLAGS="--cfg loom" cargo test --release --lib claim`):
/// a claimed party is settled exactly once, by its claimer, and a sleeping party is never
/// left asleep, whoever races to fire, withdraw or park; a task replacing its waker misses
/// no fire.
#[cfg(all(test, loom))]
mod claim_models {
    use super::*;
    use loom::thread;

    #[test]
    fn claim_versus_fire_versus_park() {
        loom::model(|| {
            let s = Arc::new(Signal::thread(0));
            let s1 = s.clone();
            let claimer = thread::spawn(move || {
                let won = s1.claim(0);
                if won {
                    s1.complete(Outcome::Ready(0));
                    s1.wake();
                }
                won
            });
            let s2 = s.clone();
            let poisoner = thread::spawn(move || {
                let won = s2.fire(Outcome::Poisoned(0));
                if won {
                    s2.wake();
                }
                won
            });
            let o = s.block(None, true, |sleep| sleep());
            let (claimed, fired) = (claimer.join().unwrap(), poisoner.join().unwrap());
            assert!(claimed != fired, "exactly one of them settles the party");
            let want = if claimed {
                Outcome::Ready(0)
            } else {
                Outcome::Poisoned(0)
            };
            assert_eq!(o, want);
        });
    }

    struct Flag(loom::sync::atomic::AtomicBool);

    impl std::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn flag() -> (Arc<Flag>, Waker) {
        let f = Arc::new(Flag(loom::sync::atomic::AtomicBool::new(false)));
        (f.clone(), Waker::from(f))
    }

    /// A task polled again with a new waker while its signal fires (or is claimed and
    /// completed): it sees the outcome or one of its wakers is woken, and the waker is
    /// never read while it is replaced (loom's cell checks that).
    fn set_waker_versus(claim: bool) {
        loom::model(move || {
            let ((old, w1), (new, w2)) = (flag(), flag());
            let s = Arc::new(Signal::task(&w1, 0));
            let s1 = s.clone();
            let firer = thread::spawn(move || {
                let won = if claim {
                    let c = s1.claim(0);
                    if c {
                        s1.complete(Outcome::Ready(0));
                    }
                    c
                } else {
                    s1.fire(Outcome::Ready(0))
                };
                if won {
                    s1.wake();
                }
            });
            let seen = s.poll_outcome(&w2);
            firer.join().unwrap();
            let woken = old.0.load(Ordering::SeqCst) || new.0.load(Ordering::SeqCst);
            assert!(seen.is_some() || woken, "the fire was lost");
            assert_eq!(s.outcome(), Some(Outcome::Ready(0)));
        });
    }

    #[test]
    fn set_waker_versus_fire() {
        set_waker_versus(false);
    }

    /// A direct signal (its settler moves the waker out and wakes it by value) fired
    /// while its task, polled again, registers a waker, direct or not: the outcome is
    /// seen or a waker woken, the cell is never written by both (loom checks), and the
    /// waker is not lost: it is woken, or still in the signal.
    fn direct_fire_versus_set_waker(direct_again: bool) {
        loom::model(move || {
            let ((old, w1), (new, w2)) = (flag(), flag());
            let s = Arc::new(Signal::task_direct(w1, true, 0));
            let s1 = s.clone();
            let firer = thread::spawn(move || {
                if s1.fire(Outcome::Ready(0)) {
                    s1.wake();
                }
            });
            let seen = s.poll_outcome_as(|| (w2, direct_again));
            firer.join().unwrap();
            let woken = old.0.load(Ordering::SeqCst) || new.0.load(Ordering::SeqCst);
            assert!(seen.is_some() || woken, "the fire was lost");
            assert_eq!(s.outcome(), Some(Outcome::Ready(0)));
            // Nothing to count: the monitor leaves direct signals out, others in.
            assert_eq!(
                s.holds_waker(),
                s.state.load(Ordering::SeqCst) & DIRECT == 0
            );
        });
    }

    #[test]
    fn wait_direct_fire_versus_direct_set_waker() {
        direct_fire_versus_set_waker(true);
    }

    #[test]
    fn wait_direct_fire_versus_counted_set_waker() {
        direct_fire_versus_set_waker(false);
    }

    #[test]
    fn set_waker_versus_claim_and_complete() {
        set_waker_versus(true);
    }

    /// A give-back (`Retry`) racing the party's own timeout: the party either withdrew
    /// before the claim (the claimer got nothing) or is given back exactly once and sees
    /// `Retry`, never left asleep.
    #[test]
    fn give_back_versus_withdraw_versus_park() {
        loom::model(|| {
            let s = Arc::new(Signal::thread(0).soft());
            let s1 = s.clone();
            let claimer = thread::spawn(move || {
                let won = s1.claim(1);
                if won {
                    s1.complete(Outcome::Retry(1));
                    s1.wake();
                }
                won
            });
            let o = match s.withdraw() {
                Ok(()) => Outcome::Withdrawn,
                Err(Some(o)) => o,
                Err(None) => s.block(None, true, |sleep| sleep()),
            };
            let claimed = claimer.join().unwrap();
            assert!(s.is_soft(), "the soft flag survives every transition");
            if claimed {
                assert_eq!(o, Outcome::Retry(1));
            } else {
                assert_eq!(o, Outcome::Withdrawn);
            }
        });
    }

    /// A party given back and enrolled again (a fresh signal, as `retry` does) races a
    /// local peer firing it: the peer never fires the given-back signal, and the new one
    /// is settled once.
    #[test]
    fn give_back_then_a_local_peer() {
        loom::model(|| {
            let old = Arc::new(Signal::thread(0).soft());
            assert!(old.claim(0));
            let o1 = old.clone();
            let peer = thread::spawn(move || o1.fire(Outcome::Ready(0)));
            old.complete(Outcome::Retry(0));
            old.wake();
            assert!(!peer.join().unwrap(), "a peer fired a claimed party");
            assert_eq!(old.outcome(), Some(Outcome::Retry(0)));
            let new = Arc::new(Signal::thread(0).soft());
            let n1 = new.clone();
            let peer = thread::spawn(move || {
                let won = n1.fire(Outcome::Ready(0));
                if won {
                    n1.wake();
                }
                won
            });
            let o = new.block(None, true, |sleep| sleep());
            assert!(peer.join().unwrap());
            assert_eq!(o, Outcome::Ready(0));
        });
    }

    #[test]
    fn claim_versus_withdraw() {
        loom::model(|| {
            let s = Arc::new(Signal::thread(0));
            let s1 = s.clone();
            let claimer = thread::spawn(move || {
                let won = s1.claim(2);
                if won {
                    s1.complete(Outcome::Retired(2));
                    s1.wake();
                }
                won
            });
            let withdrew = s.withdraw();
            let claimed = claimer.join().unwrap();
            match withdrew {
                Ok(()) => assert!(!claimed),
                // Too late: the claimer owns the party and settles it.
                Err(None) => {
                    assert!(claimed);
                    assert_eq!(s.block(None, true, |sleep| sleep()), Outcome::Retired(2));
                }
                Err(Some(o)) => {
                    assert!(claimed);
                    assert_eq!(o, Outcome::Retired(2));
                }
            }
        });
    }
}
