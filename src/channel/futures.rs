//! The async forms of send and receive. They run the same fast path as the blocking forms
//! and, when they must wait, leave a waiter holding the task's `Waker` in the same queue a
//! blocked thread would use.
//!
//! Cancellation rule: a future is withdrawn on drop with the signal's CAS. A send future
//! that loses that race was completed (its value was taken: nothing to do). A receive
//! future that loses it had a value land in its slot; the value goes back to the front of
//! the channel (`give_back`), so it is never lost.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::spare::Waiting;
use super::{give_back, recv_now, send_now, Receiver, RecvNow, SendNow, Sender};
use crate::error::{RecvError, SendError};
use crate::loom::lock;
use crate::runtime::{context, recorder};
use crate::wait::{Direction, Outcome, Signal, WaitOn};

/// The signal of a future about to wait, polled with `waker`.
#[inline]
fn wait_signal(waker: &std::task::Waker) -> Signal {
    let (w, direct) = context::wait_waker(waker);
    Signal::task_direct(w, direct, context::current_id())
}

/// A recording's record of a future's wait on one channel (the deadlock monitor finds it
/// in the channel's queue instead).
#[inline]
fn record_block(id: u64, dir: Direction) {
    if recorder::on() {
        recorder::block(context::current_id(), &[WaitOn::Channel { id, dir }]);
    }
}

/// The wait ended (completed, or the future dropped).
#[inline]
fn record_wake() {
    if recorder::on() {
        recorder::wake(context::current_id());
    }
}

/// Future of [`Sender::send_async`].
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T: Send + 'static> {
    tx: &'a Sender<T>,
    value: Option<T>,
    waiting: Option<Waiting<T>>,
}

// Nothing in the future is pinned in place: the waiter lives on the heap.
impl<T: Send + 'static> Unpin for SendFuture<'_, T> {}

impl<'a, T: Send + 'static> SendFuture<'a, T> {
    pub(super) fn new(tx: &'a Sender<T>, value: T) -> Self {
        SendFuture {
            tx,
            value: Some(value),
            waiting: None,
        }
    }
}

impl<T: Send + 'static> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(slot) = &this.waiting {
            let r = match slot.sig.poll_outcome_as(|| context::wait_waker(cx.waker())) {
                // An async send is firm (never marked soft), so no claimer gives it
                // back; were one to, the value is the sender's again and it sends anew.
                Some(Outcome::Retry(_)) => {
                    // SAFETY: given back by its claimer: the value is the sender's again.
                    this.value = unsafe { slot.take() };
                    if let Some(s) = this.waiting.take() {
                        this.tx.spare.release(s);
                    }
                    return Pin::new(this).poll(cx);
                }
                None => return Poll::Pending,
                Some(Outcome::Ready(_)) => Ok(()),
                // SAFETY (both): not taken, so the value is the sender's again.
                Some(Outcome::Poisoned(_)) => {
                    Err(SendError::Poisoned(unsafe { slot.take() }.unwrap()))
                }
                Some(Outcome::Retired(_)) => {
                    Err(SendError::Retired(unsafe { slot.take() }.unwrap()))
                }
                Some(Outcome::Withdrawn) => unreachable!("only drop withdraws a future"),
            };
            if let Some(s) = this.waiting.take() {
                this.tx.spare.release(s);
            }
            record_wake();
            return Poll::Ready(r);
        }
        let value = this
            .value
            .take()
            .expect("SendFuture polled after completion");
        this.tx.touch();
        tracing::trace!(channel = this.tx.core.id, "send_async");
        let mut inner = lock(&this.tx.core.inner);
        match send_now(&mut inner, value) {
            SendNow::Done(w) => {
                drop(inner);
                if let Some(w) = w {
                    w.signal().wake();
                }
                Poll::Ready(Ok(()))
            }
            SendNow::Poisoned(v) => Poll::Ready(Err(SendError::Poisoned(v))),
            SendNow::Retired(v) => Poll::Ready(Err(SendError::Retired(v))),
            SendNow::Block(v) => {
                let (slot, queued) = (this.tx.spare).waiter(wait_signal(cx.waker()), Some(v));
                // The wait is found by its signal's owner in this queue (see `wait`):
                // nothing to record.
                inner.push_sender(queued);
                drop(inner);
                record_block(this.tx.core.id, Direction::Send);
                this.waiting = Some(slot);
                Poll::Pending
            }
        }
    }
}

impl<T: Send + 'static> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(slot) = self.waiting.take() {
            record_wake();
            let mut inner = lock(&self.tx.core.inner);
            if slot.sig.withdraw().is_ok() {
                inner.dequeue(&slot.sig);
            }
            drop(inner);
            // Either withdrawn (the value drops with the release, undelivered, outside
            // the lock) or completed.
            self.tx.spare.release(slot);
        }
    }
}

/// Future of [`Receiver::recv_async`].
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T: Send + 'static> {
    rx: &'a Receiver<T>,
    waiting: Option<Waiting<T>>,
    done: bool,
}

impl<T: Send + 'static> Unpin for RecvFuture<'_, T> {}

impl<'a, T: Send + 'static> RecvFuture<'a, T> {
    pub(super) fn new(rx: &'a Receiver<T>) -> Self {
        RecvFuture {
            rx,
            waiting: None,
            done: false,
        }
    }
}

impl<T: Send + 'static> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        assert!(!this.done, "RecvFuture polled after completion");
        if let Some(slot) = &this.waiting {
            let r = match slot.sig.poll_outcome_as(|| context::wait_waker(cx.waker())) {
                None => return Poll::Pending,
                // SAFETY: fired `Ready`: the peer put the value and is done with it.
                Some(Outcome::Ready(_)) => {
                    Ok(unsafe { slot.take() }.expect("a fired receiver's value"))
                }
                Some(Outcome::Poisoned(_)) => Err(RecvError::Poisoned),
                Some(Outcome::Retired(_)) => Err(RecvError::Retired),
                Some(Outcome::Withdrawn) => unreachable!("only drop withdraws a future"),
                Some(Outcome::Retry(_)) => unreachable!("only a sender is given back"),
            };
            if let Some(s) = this.waiting.take() {
                this.rx.spare.release(s);
            }
            this.done = true;
            record_wake();
            return Poll::Ready(r);
        }
        this.rx.touch();
        tracing::trace!(channel = this.rx.core.id, "recv_async");
        let mut inner = lock(&this.rx.core.inner);
        let r = match recv_now::<T>(&mut inner) {
            RecvNow::Value(v, w) => {
                let early_ack = inner.early_ack;
                drop(inner);
                if let Some(w) = w {
                    w.signal().wake();
                }
                // A value from a writer on another rank of this node: its `Ack` leaves
                // now, before this task runs on (about 8% a ping-pong round trip, measured
                // in turns; over TCP the extra message made it twice as slow, so not
                // between nodes). Not on a send: stepping there, before the task parks,
                // measured no better.
                if early_ack {
                    context::link_taken();
                }
                Ok(v)
            }
            RecvNow::Poisoned => Err(RecvError::Poisoned),
            RecvNow::Retired => Err(RecvError::Retired),
            RecvNow::Block => {
                let (slot, queued) = (this.rx.spare).waiter(wait_signal(cx.waker()), None);
                inner.push_receiver(queued);
                drop(inner);
                record_block(this.rx.core.id, Direction::Recv);
                this.waiting = Some(slot);
                return Poll::Pending;
            }
        };
        this.done = true;
        Poll::Ready(r)
    }
}

impl<T: Send + 'static> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(slot) = self.waiting.take() {
            record_wake();
            let mut inner = lock(&self.rx.core.inner);
            match slot.sig.withdraw() {
                Ok(()) => inner.dequeue(&slot.sig),
                Err(Some(Outcome::Ready(_))) => {
                    // SAFETY: fired `Ready`: the peer put the value and is done with it.
                    if let Some(v) = unsafe { slot.take() } {
                        let w = give_back(&mut inner, v);
                        drop(inner);
                        if let Some(w) = w {
                            w.signal().wake();
                        }
                        return self.rx.spare.release(slot);
                    }
                }
                Err(_) => {}
            }
            drop(inner);
            self.rx.spare.release(slot);
        }
    }
}
