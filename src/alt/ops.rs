//! The typed half of an alt guard on a channel, behind the object-safe `ChanOp` so that one
//! alt can hold guards of any element types. A received value stays in its guard's
//! `RecvOp` until it is taken with the guard's typed handle: no boxing, no type to name.

use std::any::Any;
use std::sync::Arc;

use super::Event;
use crate::channel::{give_back, recv_now, send_now, Core, Inner, RecvNow, SendNow, Slot, Waiter};
use crate::loom::lock;
use crate::wait::{Direction, Outcome, Signal};

/// What trying a guard with its channel locked found.
pub(crate) enum Now {
    /// The guard completed (or found its channel poisoned or retired); wake the waiter.
    Event(Event, Option<Arc<dyn Waiter>>),
    Block,
}

pub(crate) trait ChanOp: Send {
    fn core(&self) -> &Arc<Core>;
    fn dir(&self) -> Direction;
    /// False for an output guard whose value has already been sent.
    fn armed(&self) -> bool;
    fn try_now(&mut self, inner: &mut Inner) -> Now;
    fn enqueue(&mut self, inner: &mut Inner, sig: &Arc<Signal>, index: usize);
    /// After the select's signal fired or was withdrawn: `fired` is the outcome if this
    /// guard is the one that fired. No peer touches the slot any more (their CAS fails).
    fn finish(&mut self, fired: Option<Outcome>) -> Option<Event>;
    /// As `finish` for a select that is abandoned (a dropped future): a value that landed
    /// goes back to the channel.
    fn abandon(&mut self, fired: Option<Outcome>);
    /// Drops a received value that nobody took.
    fn clear(&mut self);
    /// For the typed handles: `RecvOp<T>` or `SendOp<T>`.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

pub(crate) struct RecvOp<T> {
    pub(crate) core: Arc<Core>,
    pub(crate) waiting: Option<Arc<Slot<T>>>,
    /// The value this guard received in the last select, until taken.
    pub(crate) got: Option<T>,
}

pub(crate) struct SendOp<T> {
    pub(crate) core: Arc<Core>,
    pub(crate) value: Option<T>,
    pub(crate) waiting: Option<Arc<Slot<T>>>,
}

impl<T: Send + 'static> ChanOp for RecvOp<T> {
    fn core(&self) -> &Arc<Core> {
        &self.core
    }
    fn dir(&self) -> Direction {
        Direction::Recv
    }
    fn armed(&self) -> bool {
        true
    }
    fn try_now(&mut self, inner: &mut Inner) -> Now {
        match recv_now::<T>(inner) {
            RecvNow::Value(v, w) => {
                self.got = Some(v);
                Now::Event(Event::Received, w)
            }
            RecvNow::Block => Now::Block,
            RecvNow::Poisoned => Now::Event(Event::Poisoned, None),
            RecvNow::Retired => Now::Event(Event::Retired, None),
        }
    }
    fn enqueue(&mut self, inner: &mut Inner, sig: &Arc<Signal>, index: usize) {
        let slot = Slot::<T>::new(sig.clone(), index, None);
        inner.push_receiver(slot.clone());
        self.waiting = Some(slot);
    }
    fn finish(&mut self, fired: Option<Outcome>) -> Option<Event> {
        let slot = self.waiting.take()?;
        Some(match fired? {
            Outcome::Ready(_) => {
                // SAFETY: this receiver's guard fired `Ready`.
                self.got = Some(unsafe { slot.take() }.expect("a fired receiver's value"));
                Event::Received
            }
            Outcome::Poisoned(_) => Event::Poisoned,
            Outcome::Retired(_) => Event::Retired,
            Outcome::Withdrawn => unreachable!("withdrawal fires no guard"),
            Outcome::Retry(_) => unreachable!("a select given back is tried again"),
        })
    }
    fn abandon(&mut self, fired: Option<Outcome>) {
        let Some(slot) = self.waiting.take() else {
            return;
        };
        if let Some(Outcome::Ready(_)) = fired {
            // SAFETY: this receiver's guard fired `Ready`.
            if let Some(v) = unsafe { slot.take() } {
                let w = give_back(&mut lock(&self.core.inner), v);
                if let Some(w) = w {
                    w.signal().wake();
                }
            }
        }
    }
    fn clear(&mut self) {
        self.got = None;
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl<T: Send + 'static> ChanOp for SendOp<T> {
    fn core(&self) -> &Arc<Core> {
        &self.core
    }
    fn dir(&self) -> Direction {
        Direction::Send
    }
    fn armed(&self) -> bool {
        self.value.is_some()
    }
    fn try_now(&mut self, inner: &mut Inner) -> Now {
        let v = self
            .value
            .take()
            .expect("an armed output guard has a value");
        match send_now(inner, v) {
            SendNow::Done(w) => Now::Event(Event::Sent, w),
            SendNow::Block(v) => {
                self.value = Some(v);
                Now::Block
            }
            SendNow::Poisoned(v) => {
                self.value = Some(v);
                Now::Event(Event::Poisoned, None)
            }
            SendNow::Retired(v) => {
                self.value = Some(v);
                Now::Event(Event::Retired, None)
            }
        }
    }
    fn enqueue(&mut self, inner: &mut Inner, sig: &Arc<Signal>, index: usize) {
        let slot = Slot::new(sig.clone(), index, self.value.take());
        inner.push_sender(slot.clone());
        self.waiting = Some(slot);
    }
    fn finish(&mut self, fired: Option<Outcome>) -> Option<Event> {
        let slot = self.waiting.take()?;
        if slot.sig.is_claimed() {
            // An alt abandoned while an extended rendezvous holds this guard: the value is
            // the claimer's until it completes the (now unwatched) signal.
            return None;
        }
        if !matches!(fired, Some(Outcome::Ready(_))) {
            // Not taken: the offered value comes back to the guard.
            // SAFETY: this sender's guard did not fire `Ready` (another did, or it was
            // poisoned, retired or withdrawn) and is not claimed: nobody else takes it.
            self.value = unsafe { slot.take() };
        }
        Some(match fired? {
            Outcome::Ready(_) => Event::Sent,
            Outcome::Poisoned(_) => Event::Poisoned,
            Outcome::Retired(_) => Event::Retired,
            Outcome::Withdrawn => unreachable!("withdrawal fires no guard"),
            Outcome::Retry(_) => unreachable!("a select given back is tried again"),
        })
    }
    fn abandon(&mut self, fired: Option<Outcome>) {
        self.finish(fired);
    }
    fn clear(&mut self) {}
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
