//! The extended rendezvous: a reader that *claims* a waiting sender, uses its value in
//! place, and completes the sender only later (occam-pi's `??`, JCSP's
//! `startRead`/`endRead`). A cross-rank channel's writer-side proxy (`crate::mpi`) claims
//! the local writer, ships the value, and completes it only when the remote reader has
//! taken it, so that a send across ranks completes when, and only when, a reader took the
//! value, as a local one does.
//!
//! The claim is the signal's `CLAIMED` state (`crate::wait`): the sender stays blocked and
//! can no longer be fired, withdrawn or timed out by anyone else; only the claimer settles
//! it. A claimed sender that was one guard of an alt has been *chosen*: its alt's other
//! guards are out of the race (their peers find the shared signal taken and skip it).

use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Poll, Waker};

use super::core::{
    recv_now, send_now, slot_of, with_claimed, Inner, RecvNow, SendNow, Slot, WaitQueue, Waiter,
};
use super::spare::Waiting;
use super::{Receiver, Sender};
use crate::error::RecvError;
use crate::loom::lock;
use crate::wait::{Outcome, Signal};

/// What an attempt to claim a waiting sender found.
enum ClaimNow {
    /// A sender, claimed (its signal is `CLAIMED`): its value stays in its slot until the
    /// claimer completes it.
    Claimed(Arc<dyn Waiter>),
    /// Nothing to claim; `soft` says whether soft senders wait (left alone: see
    /// `claim_now`).
    Block {
        soft: bool,
    },
    Poisoned,
    Retired,
}

/// Claims the first live waiting sender for an extended rendezvous (occam-pi's `??`, JCSP's
/// `startRead`): unlike `recv_now`, the sender is not completed. It stays blocked, its value
/// in its slot, until the claimer calls `Signal::complete` (`Ready` once the value was
/// used, `Poisoned`/`Retired` to hand it back, `Retry` to give a soft one back). Without
/// `soft`, soft senders (`Signal::soft`: an alt's output guard, a send with a deadline)
/// are passed over and stay queued in order: the claimer cannot yet promise that their
/// value will be taken, and claiming one would commit its alt. Only for a rendezvous
/// channel (its buffer, if it has one, is empty and stays so: values go straight from
/// slot to claimer).
fn claim_now(inner: &mut Inner, soft: bool) -> ClaimNow {
    if inner.poisoned {
        return ClaimNow::Poisoned;
    }
    debug_assert_eq!(
        inner.buf_len(),
        0,
        "claim on a channel with buffered values"
    );
    let mut passed = WaitQueue::Empty;
    let mut got = None;
    while let Some(w) = inner.sendq.pop_front() {
        let s = w.signal();
        if !soft && s.is_soft() {
            // Stale ones go, live ones stay (their order kept).
            if s.outcome().is_none() && !s.is_claimed() {
                passed.push_back(w);
            }
            continue;
        }
        if s.claim(w.guard()) {
            got = Some(w);
            break;
        }
    }
    let soft_waiting = !matches!(passed, WaitQueue::Empty);
    if soft_waiting {
        // The passed-over soft senders go back in front of those not yet looked at.
        for w in std::mem::take(&mut inner.sendq).take_all() {
            passed.push_back(w);
        }
        inner.sendq = passed;
    }
    if let Some(w) = got {
        inner.carried += 1;
        return ClaimNow::Claimed(w);
    }
    if inner.senders == 0 {
        return ClaimNow::Retired;
    }
    ClaimNow::Block { soft: soft_waiting }
}

/// Ends an extended rendezvous: `Ready` drops the sender's value (it was used), any other
/// outcome (`Retry` too: a give-back) leaves it in the slot for the sender to take back.
/// The completing CAS (AcqRel) is the hand-over: the claimer touches the value no more
/// after it, and the sender takes it only after seeing the outcome (Acquire).
fn complete_claimed<T: Send + 'static>(w: Arc<dyn Waiter>, outcome: Outcome) {
    let used = match outcome {
        // SAFETY: the claimer owns a claimed sender's value until it completes it.
        Outcome::Ready(_) => unsafe { slot_of::<T>(&w).take() },
        _ => None,
    };
    w.signal().complete(outcome);
    w.signal().wake();
    drop(used);
}

/// A claimed sender: its value, still in its slot, and the promise to settle it. Dropped
/// without [`Claim::complete`] or [`Claim::refuse`], it hands the value back with
/// `Poisoned` (the sender must not wait for ever on a claimer that went away).
pub(crate) struct Claim<T: Send + 'static> {
    waiter: Option<Arc<dyn Waiter>>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Send + 'static> Claim<T> {
    /// Reads the claimed value in place.
    pub(crate) fn with_value<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        with_claimed::<T, R>(self.waiter.as_ref().expect("a live claim"), f)
    }

    /// The value was taken: the sender's send (or alt) completes `Ok`, and the value drops.
    pub(crate) fn complete(mut self) {
        let w = self.waiter.take().expect("a live claim");
        let g = w.guard();
        complete_claimed::<T>(w, Outcome::Ready(g));
    }

    /// Whether the claimed sender is soft (an alt's output guard, a send with a deadline):
    /// it may be given back with [`Claim::retry`].
    pub(crate) fn is_soft(&self) -> bool {
        self.waiter
            .as_ref()
            .expect("a live claim")
            .signal()
            .is_soft()
    }

    /// The value was not taken, and the soft sender had something else it could do: it
    /// gets its value back with `Retry` and tries again from the start (its alt chooses
    /// anew, its deadline still holds), as if it had never been claimed.
    pub(crate) fn retry(mut self) {
        let w = self.waiter.take().expect("a live claim");
        debug_assert!(w.signal().is_soft(), "only a soft sender is given back");
        let g = w.guard();
        complete_claimed::<T>(w, Outcome::Retry(g));
    }

    /// The value was not taken: the sender gets it back with `Poisoned` or `Retired`.
    pub(crate) fn refuse(mut self, poisoned: bool) {
        let w = self.waiter.take().expect("a live claim");
        let g = w.guard();
        let o = if poisoned {
            Outcome::Poisoned(g)
        } else {
            Outcome::Retired(g)
        };
        complete_claimed::<T>(w, o);
    }
}

impl<T: Send + 'static> Drop for Claim<T> {
    fn drop(&mut self) {
        if let Some(w) = self.waiter.take() {
            let g = w.guard();
            complete_claimed::<T>(w, Outcome::Poisoned(g));
        }
    }
}

impl<T: Send + 'static> Receiver<T> {
    /// Claims the next waiting sender of this rendezvous channel, or registers `waker` to
    /// be woken when one queues. Meant for a channel whose only reader claims (a proxy):
    /// a plain `recv` on the same channel would complete senders at once.
    ///
    /// # Blocking
    /// Never blocks: `Pending` registers `waker` (it is woken with the channel locked, so
    /// it must be cheap and lock nothing of the channel's). Poison gives
    /// `Err(Poisoned)`; no writers left, `Err(Retired)`.
    pub(crate) fn poll_claim(&self, waker: &Waker) -> Poll<Result<Claim<T>, RecvError>> {
        match self.poll_claim_soft(waker, true) {
            (Poll::Ready(r), _) => Poll::Ready(r),
            (Poll::Pending, _) => Poll::Pending,
        }
    }

    /// As [`poll_claim`](Self::poll_claim), but soft senders (see `claim_now`) are claimed
    /// only with `soft`; the `bool` says whether soft senders were passed over (they stay
    /// queued; `waker` is woken when another sender queues, not for those), or a
    /// `try_send` found no reader since the last call (read under the same lock, so the
    /// firm path takes no second one).
    pub(crate) fn poll_claim_soft(
        &self,
        waker: &Waker,
        soft: bool,
    ) -> (Poll<Result<Claim<T>, RecvError>>, bool) {
        let mut inner = lock(&self.core.inner);
        let tried = inner.take_tried();
        let r = match claim_now(&mut inner, soft) {
            ClaimNow::Claimed(w) => Poll::Ready(Ok(Claim {
                waiter: Some(w),
                _t: PhantomData,
            })),
            ClaimNow::Poisoned => Poll::Ready(Err(RecvError::Poisoned)),
            ClaimNow::Retired => Poll::Ready(Err(RecvError::Retired)),
            ClaimNow::Block { soft } => {
                inner.set_claimer(waker.clone());
                return (Poll::Pending, soft || tried);
            }
        };
        (r, tried)
    }
}

/// A send started by [`Sender::offer`] that is still waiting for a reader. Its waiter is
/// the end's own, lent (`spare.rs`), so that a value received for a link costs no
/// allocation: give it back with [`Sender::release_offer`] once settled.
pub(crate) struct Offered<T: Send + 'static>(Waiting<T>);

/// How an offer stands: see [`Sender::offer`].
pub(crate) enum Offer<T: Send + 'static> {
    /// A reader took the value.
    Taken,
    /// Queued: poll it with [`Offered::poll`].
    Waiting(Offered<T>),
    /// The channel is poisoned, or has no readers left.
    Closed { poisoned: bool },
}

impl<T: Send + 'static> Sender<T> {
    /// Sends `v` without a future borrowing the end: the value is delivered now, or queued
    /// as a waiting sender whose completion wakes `waker` (a proxy's, which owns both the
    /// end and the waiting offer).
    ///
    /// # Blocking
    /// Never blocks. On poison or retirement the value is dropped.
    pub(crate) fn offer(&self, v: T, waker: &Waker) -> Offer<T> {
        let mut inner = lock(&self.core.inner);
        match send_now(&mut inner, v) {
            SendNow::Done(w) => {
                drop(inner);
                if let Some(w) = w {
                    w.signal().wake();
                }
                Offer::Taken
            }
            SendNow::Block(v) => {
                // Owned by no process (a proxy's): no process waits here.
                let (w, queued) = self.spare.waiter(Signal::task(waker, 0), Some(v));
                inner.push_sender(queued);
                Offer::Waiting(Offered(w))
            }
            SendNow::Poisoned(_) => Offer::Closed { poisoned: true },
            SendNow::Retired(_) => Offer::Closed { poisoned: false },
        }
    }
}

impl<T: Send + 'static> Receiver<T> {
    /// Takes a value (from the buffer or a waiting sender, completing it) without
    /// queueing as a reader, or registers `waker` to be woken when a sender queues or a
    /// value is buffered. For a proxy that takes values only when a remote reader asked.
    ///
    /// # Blocking
    /// Never blocks; poison gives `Err(Poisoned)`, no writers left `Err(Retired)`.
    pub(crate) fn poll_take(&self, waker: &Waker) -> Poll<Result<T, RecvError>> {
        let mut inner = lock(&self.core.inner);
        match recv_now::<T>(&mut inner) {
            RecvNow::Value(v, w) => {
                drop(inner);
                if let Some(w) = w {
                    w.signal().wake();
                }
                Poll::Ready(Ok(v))
            }
            RecvNow::Poisoned => Poll::Ready(Err(RecvError::Poisoned)),
            RecvNow::Retired => Poll::Ready(Err(RecvError::Retired)),
            RecvNow::Block => {
                inner.set_claimer(waker.clone());
                Poll::Pending
            }
        }
    }
}

impl<T: Send + 'static> Sender<T> {
    /// How many readers of this channel wait now; `waker` is woken when another queues
    /// (a proxy sending only on demand).
    pub(crate) fn waiting_readers(&self, waker: &Waker) -> usize {
        let mut inner = lock(&self.core.inner);
        inner.set_demander(waker.clone());
        inner.waiting_receivers()
    }

    /// Withdraws an offer nobody has taken: `true` if it was withdrawn (its value drops),
    /// `false` if a reader took it (or the channel closed) first.
    pub(crate) fn withdraw(&self, o: &Offered<T>) -> bool {
        let mut inner = lock(&self.core.inner);
        if o.0.sig.withdraw().is_ok() {
            inner.dequeue(&o.0.sig);
            true
        } else {
            false
        }
    }
}

impl<T: Send + 'static> Sender<T> {
    /// Gives back the waiter of an offer that is over: [`Offered::poll`] said how it
    /// ended, or [`Sender::withdraw`] withdrew it. `o` must come from this end's `offer`.
    /// (An offer dropped instead only keeps the end's waiter from being lent again.)
    pub(crate) fn release_offer(&self, o: Offered<T>) {
        self.spare.release(o.0);
    }
}

impl<T: Send + 'static> Offered<T> {
    /// `None` while no reader has taken the value (and `waker` is woken when one does, or
    /// the channel closes); else `Taken` or `Closed`.
    pub(crate) fn poll(&self, waker: &Waker) -> Option<Offer<T>> {
        self.0.sig.set_waker(waker);
        match self.0.sig.outcome()? {
            Outcome::Ready(_) => Some(Offer::Taken),
            Outcome::Poisoned(_) => Some(Offer::Closed { poisoned: true }),
            Outcome::Retired(_) => Some(Offer::Closed { poisoned: false }),
            Outcome::Withdrawn => unreachable!("nobody withdraws an offer"),
            Outcome::Retry(_) => unreachable!("nobody claims an offer"),
        }
    }
}

/// A writer proxy's stand-in receiver (see `Extra::stand_in`): `try_send` fills it while
/// a remote reader's demand is in hand.
pub(crate) struct StandIn<T: Send + 'static>(Arc<Slot<T>>);

impl<T: Send + 'static> Receiver<T> {
    /// Registers a stand-in receiver that only `try_send` delivers to; its filling wakes
    /// `waker`.
    pub(crate) fn stand_in(&self, waker: &Waker) -> StandIn<T> {
        let slot = Slot::<T>::owning(Signal::task(waker, 0), None);
        lock(&self.core.inner).set_stand_in(Some(slot.clone()));
        StandIn(slot)
    }

    /// Withdraws the stand-in: `Ok(None)` if withdrawn unfilled, `Ok(Some(v))` if a
    /// `try_send` filled it first.
    pub(crate) fn withdraw_stand_in(&self, s: StandIn<T>) -> Option<T> {
        let mut inner = lock(&self.core.inner);
        match s.0.sig.withdraw() {
            Ok(()) => {
                inner.set_stand_in(None);
                None
            }
            // SAFETY: a receiver's slot that fired `Ready`: the value is ours.
            Err(Some(Outcome::Ready(_))) => unsafe { s.0.take() },
            Err(_) => None,
        }
    }
}

impl<T: Send + 'static> StandIn<T> {
    /// The value a `try_send` delivered, once it did.
    pub(crate) fn filled(&self, waker: &Waker) -> Option<T> {
        match self.0.sig.poll_outcome(waker)? {
            // SAFETY: a receiver's slot that fired `Ready`: the value is ours.
            Outcome::Ready(_) => unsafe { self.0.take() },
            _ => None,
        }
    }
}

/// What [`Sender::offer_now`] found.
pub(crate) enum OfferNow<T> {
    /// A waiting reader took the value.
    Taken,
    /// No reader waits: the value back.
    NoReader(T),
    Closed {
        poisoned: bool,
    },
}

impl<T: Send + 'static> Sender<T> {
    /// Delivers `v` to a reader waiting now, or gives it back (a soft writer's value from
    /// another rank, which must not wait here: its writer may do something else).
    pub(crate) fn offer_now(&self, v: T) -> OfferNow<T> {
        let mut inner = lock(&self.core.inner);
        // Only waiting readers: a buffered link's values are not soft (see `WriterProxy`).
        match send_now(&mut inner, v) {
            SendNow::Done(w) => {
                drop(inner);
                if let Some(w) = w {
                    w.signal().wake();
                }
                OfferNow::Taken
            }
            SendNow::Block(v) => OfferNow::NoReader(v),
            SendNow::Poisoned(_) => OfferNow::Closed { poisoned: true },
            SendNow::Retired(_) => OfferNow::Closed { poisoned: false },
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn waiting<T: Send + 'static>(o: Offer<T>) -> Offered<T> {
        match o {
            Offer::Waiting(o) => o,
            _ => panic!("no reader waits: the offer must wait"),
        }
    }

    #[test]
    fn an_offer_borrows_the_ends_waiter_and_gives_it_back() {
        let (tx, rx) = crate::channel::<u64>();
        let w = Waker::noop();
        let a = waiting(tx.offer(1, w));
        let first: *const Slot<u64> = &*a.0;
        assert!(a.poll(w).is_none(), "not taken yet");
        // Lent already: a second offer has a waiter of its own.
        let b = waiting(tx.offer(2, w));
        assert_ne!(&*b.0 as *const Slot<u64>, first);
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert!(matches!(a.poll(w), Some(Offer::Taken)));
        assert!(matches!(b.poll(w), Some(Offer::Taken)));
        tx.release_offer(b);
        tx.release_offer(a);
        let c = waiting(tx.offer(3, w));
        assert_eq!(&*c.0 as *const Slot<u64>, first, "given back, lent again");
        assert!(c.poll(w).is_none(), "the waiter's outcome was reset");
        assert!(tx.withdraw(&c), "nobody took it");
        tx.release_offer(c);
        assert!(rx.try_recv().is_err(), "the withdrawn value is gone");
        let d = waiting(tx.offer(4, w));
        assert_eq!(&*d.0 as *const Slot<u64>, first, "withdrawn, lent again");
        assert_eq!(rx.try_recv(), Ok(4));
        assert!(matches!(d.poll(w), Some(Offer::Taken)));
        tx.release_offer(d);
    }
}
