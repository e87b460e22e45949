//! The channel core: the state every end of one channel shares, and the operations on it
//! with the channel locked. The typed ends (`mod.rs`) and the alt (`alt/ops.rs`) are built
//! on `send_now`, `recv_now` and the waiter queues here.
//!
//! # Design
//! A channel is one `Core`: a lock over its `Inner` state (the buffer, the queue of
//! waiting senders, the queue of waiting receivers, the party counts, the poison flag).
//! The lock is a spin lock whose unlock is a plain store (`loom::SpinLock`, which says
//! why that is safe here): nothing ever waits, or runs user code but a recorded value's
//! `Debug`, while holding it.
//! `Inner` is not generic: the buffer is a boxed `VecDeque<T>` and the queues hold
//! `Arc<dyn Waiter>`, so that an alt can hold the locks of channels of different element
//! types at once (in channel-id order, as Go's `select` does) and the deadlock detector can
//! read any channel's queues. The typed code downcasts, which costs one type-id compare.
//!
//! A party that cannot complete leaves a waiter (Go's `sudog`) in the queue: a [`Slot`]
//! holding the value offered (sender) or receiving the value (receiver), the index of its
//! guard, and the [`Signal`] it shares with the other guards of its alt. A peer completes
//! it by firing the signal (one CAS) and moving the value; a waiter whose signal already
//! fired is stale and is dropped from the queue by whoever finds it.
//!
//! # Invariants
//! 1. A value is delivered to exactly one receiver or returned to its sender. A slot's value
//!    has no lock: the signal says who may touch it. Besides its owner, only the one party
//!    that removes the slot from its queue (under the channel lock: a slot is queued once,
//!    on one channel) may, and only while it holds that lock. A peer writes a receiver's
//!    value *before* its CAS (and takes it back if the CAS fails), so the receiver, seeing
//!    `Ready` (Acquire), finds it; it takes a sender's value only *after* winning the CAS,
//!    so a sender that saw `Poisoned`, `Retired` or its own withdrawal takes its value back
//!    alone. An extended rendezvous's claimer owns the claimed sender's value until it
//!    completes it. The owner touches the value before queuing the slot, and afterwards
//!    only as those outcomes allow (`Slot::take`'s contract). A claimer that gives a soft
//!    sender back (`Outcome::Retry`: a remote reader left before taking the value) hands
//!    the value back with the same completing CAS as `Poisoned` or `Retired` do: it read
//!    the value in place and never touches it after that CAS; the sender takes it back
//!    only once it sees `Retry` (Acquire), and offers it again as a fresh attempt (a new
//!    waiter, a new signal). A claimed sender is out of every queue (the claimer popped
//!    it; its alt's other guards are stale once claimed and may have been dropped from
//!    theirs), which is why a give-back cannot just put the signal back to `WAITING`: the
//!    party must enrol again. Its own timeout cannot race the give-back: a claimed party
//!    cannot withdraw, it waits for the claimer's outcome and finds its deadline passed
//!    on the retry. A local reader cannot race it either: it skips a claimed sender, and
//!    meets the retried one as any new waiter.
//! 2. A signal fires at most once (CAS from `Waiting`); withdrawal (timeout, a dropped
//!    future) is the same CAS, so it either wins or takes the result that won.
//! 3. Poison and retirement fire every queued waiter under the channel lock and set a flag
//!    that every later operation checks first: a rendezvous racing them either completed
//!    before (under the lock) or sees the error.
//! 4. No lost wake-up: a waiter is enqueued under the channel lock before its owner waits,
//!    and the waker fires the signal before waking it (see `wait`).
//! 5. A watcher (a bridge waiting for the channel to close while it waits on something
//!    else) checks its condition and registers under the lock, and every event that can
//!    close the channel (poison, the last end of a side going) wakes all watchers after
//!    it: none misses a closing.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::Waker;

use crate::loom::{lock, SpinLock, UnsafeCell};
use crate::runtime::recorder::{self, Ev};
use crate::wait::{Direction, Outcome, Signal, Signalled};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The buffer behind the type-erased `Inner`.
pub(crate) trait Buf: Send {
    fn len(&self) -> usize;
    fn clear(&mut self);
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Send + 'static> Buf for VecDeque<T> {
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
    fn clear(&mut self) {
        VecDeque::clear(self)
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Queues a waiter.
pub(crate) fn enqueue(q: &mut WaitQueue, w: Arc<dyn Waiter>) {
    q.push_back(w);
}

/// A queue of the parties waiting on one side of a channel, in arrival order. Most
/// queues of a network of a million channels hold at most one party at a time, so the
/// first waiter lives inline and only a second one moves them to a `VecDeque` (kept from
/// then on): a `VecDeque` alone would allocate on its first push, once per channel side.
#[derive(Default)]
pub(crate) enum WaitQueue {
    #[default]
    Empty,
    One(Arc<dyn Waiter>),
    // Boxed, so that the queue takes 24 bytes, not the 32 of a `VecDeque`: the box is
    // made once per queue that ever holds two parties.
    #[allow(clippy::box_collection)]
    Many(Box<VecDeque<Arc<dyn Waiter>>>),
}

impl WaitQueue {
    pub(crate) fn push_back(&mut self, w: Arc<dyn Waiter>) {
        match self {
            WaitQueue::Empty => *self = WaitQueue::One(w),
            WaitQueue::One(_) => {
                let WaitQueue::One(first) = std::mem::take(self) else {
                    unreachable!()
                };
                let mut q = VecDeque::with_capacity(2);
                q.push_back(first);
                q.push_back(w);
                *self = WaitQueue::Many(Box::new(q));
            }
            WaitQueue::Many(q) => q.push_back(w),
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<Arc<dyn Waiter>> {
        match self {
            WaitQueue::Empty => None,
            WaitQueue::One(_) => match std::mem::take(self) {
                WaitQueue::One(w) => Some(w),
                _ => unreachable!(),
            },
            WaitQueue::Many(q) => q.pop_front(),
        }
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Arc<dyn Waiter>) -> bool) {
        match self {
            WaitQueue::Empty => {}
            WaitQueue::One(w) => {
                if !keep(w) {
                    *self = WaitQueue::Empty;
                }
            }
            WaitQueue::Many(q) => q.retain(keep),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<dyn Waiter>> {
        let (one, many) = match self {
            WaitQueue::Empty => (None, None),
            WaitQueue::One(w) => (Some(w), None),
            WaitQueue::Many(q) => (None, Some(q.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    /// Empties the queue, giving its waiters in order.
    pub(crate) fn take_all(&mut self) -> impl Iterator<Item = Arc<dyn Waiter>> {
        let (one, many) = match std::mem::take(self) {
            WaitQueue::Empty => (None, None),
            WaitQueue::One(w) => (Some(w), None),
            WaitQueue::Many(q) => (None, Some(q.into_iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

/// A party waiting in a channel queue.
pub(crate) trait Waiter: Send + Sync {
    fn signal(&self) -> &Signal;
    fn guard(&self) -> usize;
    fn as_any(&self) -> &dyn Any;
    /// The process that left it (0: none).
    fn owner(&self) -> u64;
}

/// A waiter's signal: its own (a single send or receive), or one shared by the guards of
/// an alt or by a thread's successive waits.
pub(crate) enum SigRef {
    Own(Signal),
    Shared(Arc<Signal>),
}

impl std::ops::Deref for SigRef {
    type Target = Signal;
    #[inline]
    fn deref(&self) -> &Signal {
        match self {
            SigRef::Own(s) => s,
            SigRef::Shared(s) => s,
        }
    }
}

/// The typed waiter: its signal, its guard index, and the value slot.
pub(crate) struct Slot<T> {
    pub(crate) sig: SigRef,
    pub(crate) guard: usize,
    /// Guarded by the protocol of invariant 1, not a lock: a lock here cost four atomic
    /// read-modify-writes per rendezvous.
    pub(super) value: UnsafeCell<Option<T>>,
}

// SAFETY: the value is touched by one party at a time (invariant 1); the signal's CAS and
// the channel lock order those accesses.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T: Send + 'static> Slot<T> {
    pub(crate) fn new(sig: Arc<Signal>, guard: usize, value: Option<T>) -> Arc<Slot<T>> {
        Arc::new(Slot {
            sig: SigRef::Shared(sig),
            guard,
            value: UnsafeCell::new(value),
        })
    }

    /// A waiter with a signal of its own, in the same allocation (an async send or receive).
    pub(crate) fn owning(sig: Signal, value: Option<T>) -> Arc<Slot<T>> {
        Arc::new(Slot {
            sig: SigRef::Own(sig),
            guard: 0,
            value: UnsafeCell::new(value),
        })
    }

    /// Takes the value out.
    ///
    /// # Safety
    /// The caller is the party invariant 1 (module docs) gives the value to: the owner
    /// before queuing the slot, a receiver's owner once its guard fired `Ready`, a sender's
    /// owner once its guard fired otherwise or it withdrew, the peer that removed the slot
    /// from its queue while it holds the channel lock (a sender's: once its CAS won), or
    /// the claimer of a claimed sender.
    pub(crate) unsafe fn take(&self) -> Option<T> {
        // SAFETY: exclusive access, by the caller's contract.
        self.value.with_mut(|p| unsafe { (*p).take() })
    }

    /// Puts a value in a receiver's slot, for [`Slot::take`]'s peer.
    ///
    /// # Safety
    /// As for `take`: the caller removed the slot from its queue and holds the lock.
    unsafe fn put(&self, v: T) {
        // SAFETY: exclusive access, by the caller's contract.
        self.value.with_mut(|p| unsafe { *p = Some(v) })
    }
}

impl<T: Send + 'static> Signalled for Slot<T> {
    fn as_signal(&self) -> &Signal {
        &self.sig
    }
}

impl<T: Send + 'static> Waiter for Slot<T> {
    fn signal(&self) -> &Signal {
        &self.sig
    }
    fn guard(&self) -> usize {
        self.guard
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn owner(&self) -> u64 {
        self.sig.owner()
    }
}

pub(super) fn slot_of<T: Send + 'static>(w: &Arc<dyn Waiter>) -> &Slot<T> {
    w.as_any()
        .downcast_ref::<Slot<T>>()
        .expect("occamy: waiter of another type in a channel queue")
}

/// One channel, shared by all its ends. Kept small (160 bytes with its `Arc`, from 224):
/// a network of a million processes has about as many channels.
pub(crate) struct Core {
    pub(crate) id: u64,
    name: std::sync::OnceLock<Box<str>>,
    pub(crate) inner: SpinLock<Inner>,
    pub(crate) type_name: &'static str,
}

/// A channel's state; see the module docs.
pub(crate) struct Inner {
    /// The channel's id (the core's), for a recording's events.
    pub(crate) id: u64,
    pub(crate) sendq: WaitQueue,
    pub(crate) recvq: WaitQueue,
    /// Values delivered so far (run-time statistics).
    pub(crate) carried: u64,
    /// The buffer and the watchers, which a rendezvous channel mostly never needs.
    extra: Option<Box<Extra>>,
    pub(crate) senders: u32,
    pub(crate) receivers: u32,
    pub(crate) poisoned: bool,
    /// Set on the local channel of a cross-rank link (`src/mpi/`): a thread blocked on it
    /// waits for the MPI engine, and drives it meanwhile (`context::park`).
    pub(crate) remote: bool,
    /// Set on a link's reader-side channel whose writer ranks share this node: a task
    /// that takes a value from it steps the engine at once (`context::link_taken`), so
    /// that the `Ack` leaves before the task goes on (an MPI message more a hop, cheap
    /// between ranks of one node; between nodes the `Ack` waits to go with the reply).
    pub(crate) early_ack: bool,
}

/// The rarely needed part of a channel's state.
#[derive(Default)]
struct Extra {
    cap: usize,
    buf: Option<Box<dyn Buf>>,
    /// Who waits for the channel to close (a bridge: see `watch`), by token. Woken on
    /// poison and when the last end of either side goes; each checks its own condition.
    watchers: Vec<(u64, Waker)>,
    /// A reader waiting to *claim* the next sender (an extended rendezvous, see
    /// `claim_now`) or to take the next value: woken, and forgotten, when a sender queues
    /// or a value is buffered. Its waker must be cheap and take no channel lock: it is
    /// woken with this channel locked.
    claimer: Option<Waker>,
    /// A writer waiting to hear that a reader queued (a cross-rank proxy that sends
    /// values only on demand): woken, and forgotten, when a receiver queues. As for
    /// `claimer`, it is woken with this channel locked.
    demander: Option<Waker>,
    /// A cross-rank writer proxy's stand-in for a remote reader that waits (the proxy holds
    /// its demand): only `try_send` delivers to it (`send_stand_in`), so that a `try_send`
    /// succeeds while a remote reader waits. Other senders never see it: a rendezvous send
    /// must still wait until the remote reader took its value, which the proxy's claim
    /// gives.
    #[cfg(feature = "mpi")]
    stand_in: Option<Arc<dyn Waiter>>,
    /// A `try_send` found no reader (nor stand-in): the proxy, woken as `claimer`, asks the
    /// reader rank for a demand.
    #[cfg(feature = "mpi")]
    tried: bool,
}

impl Inner {
    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Default::default)
    }

    /// The buffer's capacity (0: a rendezvous channel).
    #[inline]
    pub(crate) fn cap(&self) -> usize {
        self.extra.as_ref().map_or(0, |e| e.cap)
    }

    fn buf<T: Send + 'static>(&mut self) -> &mut VecDeque<T> {
        self.extra()
            .buf
            .get_or_insert_with(|| Box::new(VecDeque::<T>::new()))
            .as_any_mut()
            .downcast_mut()
            .expect("occamy: buffer of another type")
    }

    /// Queues a waiting sender, and wakes a reader waiting to claim one.
    pub(crate) fn push_sender(&mut self, w: Arc<dyn Waiter>) {
        enqueue(&mut self.sendq, w);
        self.wake_claimer();
    }

    /// Wakes (and forgets) a reader waiting to claim a sender or take a value.
    #[inline]
    fn wake_claimer(&mut self) {
        if let Some(k) = self.extra.as_mut().and_then(|e| e.claimer.take()) {
            k.wake();
        }
    }

    /// Takes the claimer's waker, to wake it (the channel closed).
    fn take_claimer(&mut self) -> Option<Waker> {
        self.extra.as_mut().and_then(|e| e.claimer.take())
    }

    /// Registers the waker of a reader waiting to claim a sender or take a value.
    #[cfg(feature = "mpi")]
    pub(crate) fn set_claimer(&mut self, w: Waker) {
        self.extra().claimer = Some(w);
    }

    /// Registers the waker of a writer waiting for a reader to queue.
    #[cfg(feature = "mpi")]
    pub(crate) fn set_demander(&mut self, w: Waker) {
        self.extra().demander = Some(w);
    }

    /// Queues a waiting receiver, and wakes a writer waiting for demand.
    pub(crate) fn push_receiver(&mut self, w: Arc<dyn Waiter>) {
        enqueue(&mut self.recvq, w);
        if let Some(k) = self.extra.as_mut().and_then(|e| e.demander.take()) {
            k.wake();
        }
    }

    /// Registers (or with `None`, removes) a writer proxy's stand-in receiver.
    #[cfg(feature = "mpi")]
    pub(crate) fn set_stand_in(&mut self, w: Option<Arc<dyn Waiter>>) {
        self.extra().stand_in = w;
    }

    /// Whether a `try_send` failed since the last call (see `Extra::tried`).
    #[cfg(feature = "mpi")]
    pub(crate) fn take_tried(&mut self) -> bool {
        self.extra
            .as_mut()
            .is_some_and(|e| std::mem::take(&mut e.tried))
    }

    /// How many queued receivers still wait (their signal has not fired).
    #[cfg(feature = "mpi")]
    pub(crate) fn waiting_receivers(&self) -> usize {
        self.recvq
            .iter()
            .filter(|w| w.signal().outcome().is_none())
            .count()
    }

    #[inline]
    pub(super) fn buf_len(&self) -> usize {
        self.extra
            .as_ref()
            .and_then(|e| e.buf.as_ref())
            .map_or(0, |b| b.len())
    }

    /// Takes the watchers, to wake them (the channel closed).
    fn take_watchers(&mut self) -> Vec<(u64, Waker)> {
        self.extra
            .as_mut()
            .map(|e| std::mem::take(&mut e.watchers))
            .unwrap_or_default()
    }

    /// Sets the poison flag and fires every queued waiter; returns them to be woken.
    pub(crate) fn poison(&mut self) -> Vec<Arc<dyn Waiter>> {
        self.poisoned = true;
        if let Some(b) = self.extra.as_mut().and_then(|e| e.buf.as_mut()) {
            b.clear();
        }
        let mut woken: Vec<Arc<dyn Waiter>> = Vec::new();
        let recvq = self.recvq.take_all();
        for w in self.sendq.take_all().chain(recvq) {
            if w.signal().fire(Outcome::Poisoned(w.guard())) {
                woken.push(w);
            }
        }
        woken
    }

    fn retire_queue(q: &mut WaitQueue) -> Vec<Arc<dyn Waiter>> {
        q.take_all()
            .filter(|w| w.signal().fire(Outcome::Retired(w.guard())))
            .collect()
    }

    /// Removes the waiters whose signal is `sig` (an alt or a timed-out party cleaning up).
    pub(crate) fn dequeue(&mut self, sig: &Signal) {
        let mine = |w: &Arc<dyn Waiter>| std::ptr::eq(w.signal(), sig);
        self.sendq.retain(|w| !mine(w));
        self.recvq.retain(|w| !mine(w));
    }
}

fn wake_all(ws: Vec<Arc<dyn Waiter>>) {
    for w in ws {
        w.signal().wake();
    }
}

/// What an attempt to send without waiting found.
pub(crate) enum SendNow<T> {
    /// Delivered (to the waiter returned, which must be woken) or buffered.
    Done(Option<Arc<dyn Waiter>>),
    Block(T),
    Poisoned(T),
    Retired(T),
}

/// What an attempt to receive without waiting found.
pub(crate) enum RecvNow<T> {
    /// A value, and the sender waiter to wake (if the value came from one).
    Value(T, Option<Arc<dyn Waiter>>),
    Block,
    Poisoned,
    Retired,
}

/// Tries to send `v` with the channel locked.
pub(crate) fn send_now<T: Send + 'static>(inner: &mut Inner, v: T) -> SendNow<T> {
    if inner.poisoned {
        return SendNow::Poisoned(v);
    }
    if inner.receivers == 0 {
        return SendNow::Retired(v);
    }
    // Stale waiters (alts completed elsewhere, withdrawn parties) are dropped as found.
    let mut v = v;
    while let Some(w) = inner.recvq.pop_front() {
        let slot = slot_of::<T>(&w);
        // Shown before it moves: once the CAS below wins, the receiver may take it.
        let shown = recorder::on()
            .then(|| recorder::value_text(inner.id, &v))
            .flatten();
        // SAFETY: we removed the slot from its queue and hold the channel lock; the value
        // goes in before the CAS so that the receiver, seeing `Ready`, finds it.
        unsafe { slot.put(v) };
        if slot.sig.fire(Outcome::Ready(slot.guard)) {
            if recorder::on() {
                recorder::comm_from_current(inner.id, slot.sig.owner());
                recorder::emit_value(inner.id, shown);
            }
            inner.carried += 1;
            return SendNow::Done(Some(w));
        }
        // SAFETY: as above; the CAS lost, so the receiver will never look.
        v = unsafe { slot.take() }.expect("the value just put");
    }
    if inner.buf_len() < inner.cap() {
        if recorder::on() {
            recorder::comm_from_current(inner.id, 0);
            if recorder::values() {
                recorder::value(inner.id, &v);
            }
        }
        inner.buf::<T>().push_back(v);
        inner.carried += 1;
        inner.wake_claimer();
        return SendNow::Done(None);
    }
    SendNow::Block(v)
}

/// For `try_send` that found no reader: delivers `v` to a cross-rank proxy's stand-in
/// (a remote reader waits), returning it to wake; else `Err(v)`, and the proxy (if any) is
/// told that a `try_send` failed, so that it asks for a demand.
#[cfg(feature = "mpi")]
pub(crate) fn send_stand_in<T: Send + 'static>(
    inner: &mut Inner,
    v: T,
) -> Result<Arc<dyn Waiter>, T> {
    let Some(e) = inner.extra.as_mut() else {
        return Err(v);
    };
    let Some(w) = e.stand_in.take() else {
        if let Some(k) = &e.claimer {
            e.tried = true;
            k.wake_by_ref();
        }
        return Err(v);
    };
    let slot = slot_of::<T>(&w);
    // SAFETY: we removed the stand-in from its place and hold the lock (a receiver's
    // protocol, as in `send_now`): the value goes in before the CAS.
    unsafe { slot.put(v) };
    if slot.sig.fire(Outcome::Ready(slot.guard)) {
        inner.carried += 1;
        return Ok(w);
    }
    // SAFETY: as above; the CAS lost (the proxy withdrew it), so it will never look.
    Err(unsafe { slot.take() }.expect("the value just put"))
}

/// Tries to receive with the channel locked.
pub(crate) fn recv_now<T: Send + 'static>(inner: &mut Inner) -> RecvNow<T> {
    if inner.poisoned {
        return RecvNow::Poisoned;
    }
    if inner.buf_len() > 0 {
        let v = inner.buf::<T>().pop_front().expect("non-empty buffer");
        if recorder::on() {
            recorder::take(inner.id);
        }
        // Making room lets one waiting sender in, keeping FIFO order (Go's recv does this).
        // Only if there is room: a value given back by a dropped receive future can fill a
        // buffer beyond its capacity (even a rendezvous channel's), and a sender let in
        // then would be told its value was taken while it still sits in the channel.
        while inner.buf_len() < inner.cap() {
            let Some(w) = inner.sendq.pop_front() else {
                break;
            };
            if w.signal().fire(Outcome::Ready(w.guard())) {
                // SAFETY: we removed the sender from its queue, hold the lock, won the CAS.
                let moved = unsafe { slot_of::<T>(&w).take() }.expect("a fired sender's value");
                inner.buf::<T>().push_back(moved);
                inner.carried += 1;
                if recorder::on() {
                    recorder::comm_to_current(inner.id, w.owner(), true);
                    if recorder::values() {
                        let id = inner.id;
                        if let Some(moved) = inner.buf::<T>().back() {
                            recorder::value(id, moved);
                        }
                    }
                }
                return RecvNow::Value(v, Some(w));
            }
        }
        return RecvNow::Value(v, None);
    }
    while let Some(w) = inner.sendq.pop_front() {
        if w.signal().fire(Outcome::Ready(w.guard())) {
            // SAFETY: we removed the sender from its queue, hold the lock, won the CAS.
            let v = unsafe { slot_of::<T>(&w).take() }.expect("a fired sender's value");
            inner.carried += 1;
            if recorder::on() {
                recorder::comm_to_current(inner.id, w.owner(), false);
                if recorder::values() {
                    recorder::value(inner.id, &v);
                }
            }
            return RecvNow::Value(v, Some(w));
        }
    }
    if inner.senders == 0 {
        return RecvNow::Retired;
    }
    RecvNow::Block
}

#[cfg(feature = "mpi")]
/// Reads the value a claimed sender offers, without taking it.
pub(super) fn with_claimed<T: Send + 'static, R>(
    w: &Arc<dyn Waiter>,
    f: impl FnOnce(&T) -> R,
) -> R {
    let slot = slot_of::<T>(w);
    // SAFETY: the claimer owns a claimed sender's value until it completes it.
    slot.value.with_mut(|p| {
        f(unsafe { &*p }
            .as_ref()
            .expect("a claimed sender's value stays in its slot"))
    })
}

/// Puts back a value that landed in a receiver which then went away (a dropped future):
/// to a waiting receiver if there is one, else at the front of the buffer, beyond its
/// capacity if need be. The value is never lost (unless the channel is poisoned).
pub(crate) fn give_back<T: Send + 'static>(inner: &mut Inner, v: T) -> Option<Arc<dyn Waiter>> {
    if inner.poisoned {
        return None;
    }
    let mut v = v;
    while let Some(w) = inner.recvq.pop_front() {
        let slot = slot_of::<T>(&w);
        // SAFETY: as in `send_now`.
        unsafe { slot.put(v) };
        if slot.sig.fire(Outcome::Ready(slot.guard)) {
            return Some(w);
        }
        // SAFETY: as in `send_now`.
        v = unsafe { slot.take() }.expect("the value just put");
    }
    inner.buf::<T>().push_front(v);
    None
}

impl Core {
    pub(crate) fn new<T: Send + 'static>(cap: usize) -> Arc<Core> {
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if recorder::on() {
            recorder::emit(Ev::Channel {
                id,
                ty: std::any::type_name::<T>(),
                cap,
            });
        }
        Arc::new(Core {
            id,
            name: std::sync::OnceLock::new(),
            type_name: std::any::type_name::<T>(),
            inner: SpinLock::new(Inner {
                id,
                // A large buffer grows as it fills rather than being allocated up front;
                // a rendezvous channel's, used only to give a value back, is made when
                // first needed (a network of a million channels saves one allocation
                // each).
                extra: (cap > 0).then(|| {
                    Box::new(Extra {
                        cap,
                        buf: Some(Box::new(VecDeque::<T>::with_capacity(cap.min(64)))),
                        ..Extra::default()
                    })
                }),
                sendq: WaitQueue::Empty,
                recvq: WaitQueue::Empty,
                senders: 1,
                receivers: 1,
                poisoned: false,
                remote: false,
                early_ack: false,
                carried: 0,
            }),
        })
    }

    pub(crate) fn poison(&self) {
        let mut inner = lock(&self.inner);
        let woken = inner.poison();
        let watchers = inner.take_watchers();
        let claimer = inner.take_claimer();
        drop(inner);
        claimer.into_iter().for_each(Waker::wake);
        if recorder::on() {
            recorder::emit(Ev::Poison { channel: self.id });
        }
        tracing::trace!(channel = self.id, "poison");
        wake_all(woken);
        watchers.into_iter().for_each(|(_, w)| w.wake());
    }

    /// Whether `closed` holds of the channel now; if not, `waker` (under `token`, replacing
    /// what that token had) is woken when the channel is poisoned or the last end of a
    /// side goes, so that its owner can look again. Checked and registered under the
    /// lock, so no closing is missed between the two.
    #[cfg(any(feature = "bridge", feature = "mpi"))]
    pub(crate) fn watch(&self, token: u64, waker: &Waker, closed: fn(&Inner) -> bool) -> bool {
        let mut inner = lock(&self.inner);
        if closed(&inner) {
            if let Some(e) = &mut inner.extra {
                e.watchers.retain(|(t, _)| *t != token);
            }
            return true;
        }
        let watchers = &mut inner.extra().watchers;
        match watchers.iter_mut().find(|(t, _)| *t == token) {
            Some((_, w)) => {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
            }
            None => watchers.push((token, waker.clone())),
        }
        false
    }

    /// Forgets the watcher `token` (its owner stopped watching): a waker left behind would
    /// keep an async process from ever looking deadlocked.
    #[cfg(feature = "bridge")]
    pub(crate) fn unwatch(&self, token: u64) {
        if let Some(e) = &mut lock(&self.inner).extra {
            e.watchers.retain(|(t, _)| *t != token);
        }
    }

    /// For the channel's only reader, about to go: takes every buffered value and makes
    /// the channel a rendezvous one, in one step, so that no writer can buffer a value
    /// from then on that no one would read (a writer waits, and gets its value back when
    /// the reader goes). `None`, with nothing done, if other readers remain.
    #[cfg(feature = "bridge")]
    pub(crate) fn drain_last_reader<T: Send + 'static>(&self) -> Option<Vec<T>> {
        let mut inner = lock(&self.inner);
        if inner.receivers != 1 {
            return None;
        }
        inner.extra().cap = 0;
        Some(inner.buf::<T>().drain(..).collect())
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.name.get().map(|n| &**n)
    }

    /// Marks this the local channel of a cross-rank link (see `Inner::remote`).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // its one user is the mpi engine
    pub(crate) fn set_remote(&self) {
        lock(&self.inner).remote = true;
    }

    /// Marks this a link's reader-side channel whose `Ack`s leave at once (see
    /// `Inner::early_ack`).
    #[cfg(feature = "mpi")]
    pub(crate) fn set_early_ack(&self) {
        lock(&self.inner).early_ack = true;
    }

    pub(crate) fn set_name(&self, name: String) {
        if recorder::on() && self.name.get().is_none() {
            recorder::emit(Ev::Named {
                id: self.id,
                name: name.clone(),
            });
        }
        let _ = self.name.set(name.into_boxed_str());
    }

    /// Live ends: (writers, readers).
    pub(crate) fn ends(&self) -> (usize, usize) {
        let inner = lock(&self.inner);
        (inner.senders as usize, inner.receivers as usize)
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        lock(&self.inner).poisoned
    }

    pub(crate) fn carried(&self) -> u64 {
        lock(&self.inner).carried
    }

    /// One end of `dir` goes away: the last one retires the channel for the other side.
    /// With `poison` (the end's process failed, panicked or ended by poison) it poisons the
    /// channel instead, so that the network stops rather than sees an ordinary end.
    pub(crate) fn drop_end(&self, dir: Direction, poison: bool) {
        let mut inner = lock(&self.inner);
        let (woken, closed) = if poison && !inner.poisoned {
            if recorder::on() {
                recorder::emit(Ev::Poison { channel: self.id });
            }
            (inner.poison(), true)
        } else {
            match dir {
                Direction::Send => {
                    inner.senders -= 1;
                    if inner.senders == 0 {
                        (Inner::retire_queue(&mut inner.recvq), true)
                    } else {
                        (Vec::new(), false)
                    }
                }
                Direction::Recv => {
                    inner.receivers -= 1;
                    if inner.receivers == 0 {
                        (Inner::retire_queue(&mut inner.sendq), true)
                    } else {
                        (Vec::new(), false)
                    }
                }
            }
        };
        let (watchers, claimer) = if closed {
            (inner.take_watchers(), inner.take_claimer())
        } else {
            (Vec::new(), None)
        };
        drop(inner);
        claimer.into_iter().for_each(Waker::wake);
        wake_all(woken);
        watchers.into_iter().for_each(|(_, w)| w.wake());
    }

    pub(crate) fn add_end(&self, dir: Direction) {
        let mut inner = lock(&self.inner);
        match dir {
            Direction::Send => inner.senders += 1,
            Direction::Recv => inner.receivers += 1,
        }
    }
}

impl crate::runtime::held::Endpoint for Core {
    fn id(&self) -> u64 {
        self.id
    }
    fn name(&self) -> Option<&str> {
        Core::name(self)
    }
    fn type_name(&self) -> &'static str {
        self.type_name
    }
    fn ends(&self) -> (usize, usize) {
        Core::ends(self)
    }
    fn carried(&self) -> u64 {
        Core::carried(self)
    }
    fn poison(&self) {
        Core::poison(self)
    }
    fn drop_end(&self, dir: Direction, poison: bool) {
        Core::drop_end(self, dir, poison)
    }
    fn waits_of(&self, dir: Direction, owner: u64, f: &mut dyn FnMut(&Signal)) {
        let inner = lock(&self.inner);
        let q = match dir {
            Direction::Send => &inner.sendq,
            Direction::Recv => &inner.recvq,
        };
        for w in q.iter() {
            let s = w.signal();
            if s.owner() == owner {
                f(s);
            }
        }
    }
}

#[cfg(all(test, not(loom), target_pointer_width = "64"))]
mod size {
    /// A network of a million processes has about as many channels: with its `Arc`'s two
    /// counts, a core must fit the allocator's 160-byte class.
    #[test]
    fn a_channel_core_fits_its_budget() {
        assert_eq!(std::mem::size_of::<super::WaitQueue>(), 24);
        let n = std::mem::size_of::<super::Core>();
        assert!(n <= 144, "a channel core takes {n} bytes");
    }
}
