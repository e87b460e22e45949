//! Channels: the typed ends and their operations, blocking and async. The state they
//! share and its invariants are in `core.rs`.

mod core;
#[cfg(feature = "mpi")]
mod extended;
mod futures;
mod spare;
#[cfg(feature = "bridge")]
mod watch;

pub(crate) use self::core::{
    give_back, recv_now, send_now, Core, Inner, RecvNow, SendNow, Slot, Waiter,
};
#[cfg(feature = "mpi")]
pub(crate) use extended::{Claim, Offer, OfferNow, Offered, StandIn};
pub use futures::{RecvFuture, SendFuture};

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::loom::lock;
use crate::runtime::context;
use crate::wait::{Direction, Outcome, Signal, WaitOn};

/// Creates a synchronous (rendezvous) channel, occam's `CHAN OF T`: a [`Sender::send`]
/// completes only when a reader has taken the value.
///
/// Both ends clone: each clone is one more writer or reader (any-to-one, one-to-any,
/// any-to-any). When every writer has gone the channel *retires* for its readers, and the
/// other way round; [`poison`](Sender::poison) on any end stops it for everyone at once.
///
/// # Examples
/// ```
/// let (tx, rx) = occamy::channel();
/// let writer = std::thread::spawn(move || tx.send(42).unwrap());
/// assert_eq!(rx.recv(), Ok(42));
/// writer.join().unwrap();
/// ```
pub fn channel<T: Send + 'static>() -> (Sender<T>, Receiver<T>) {
    buffered(0)
}

/// Creates a channel with a FIFO buffer of `capacity` values: a send completes as soon as
/// the value is in the buffer. `buffered(0)` is [`channel`].
///
/// # Examples
/// ```
/// let (tx, rx) = occamy::buffered(2);
/// tx.send(1).unwrap();
/// tx.send(2).unwrap(); // neither send waits: the buffer holds both
/// drop(tx);
/// assert_eq!(rx.iter().collect::<Vec<_>>(), vec![1, 2]);
/// ```
pub fn buffered<T: Send + 'static>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let core = Core::new::<T>(capacity);
    (Sender::from_core(core.clone()), Receiver::from_core(core))
}

/// Creates `n` synchronous channels, occam's `[n]CHAN OF T`: their writing ends and
/// their reading ends, in the same order (`txs[i]` writes to `rxs[i]`).
///
/// # Examples
/// A ring of three processes, each passing the token on to the next:
/// ```
/// use occamy::{par, Process};
/// let n = 3;
/// let (txs, mut rxs) = occamy::channels::<u32>(n);
/// rxs.rotate_left(1); // node i reads from channel i and writes to channel i + 1
/// let start = txs[0].clone();
/// let nodes = txs.into_iter().zip(rxs).enumerate().map(|(i, (tx, rx))| {
///     Process::with(format!("node[{i}]"), (rx, tx), |(rx, tx)| -> occamy::Result {
///         let hops = rx.recv()?;
///         if hops < 9 { tx.send(hops + 1)?; }
///         Ok(())
///     })
/// });
/// par(nodes.chain([Process::with("start", start, |tx| tx.send(0))])).unwrap();
/// ```
pub fn channels<T: Send + 'static>(n: usize) -> (Vec<Sender<T>>, Vec<Receiver<T>>) {
    buffered_channels(n, 0)
}

/// Creates `n` channels with a FIFO buffer of `capacity` values each; see [`channels`]
/// and [`buffered`].
///
/// # Examples
/// ```
/// let (txs, rxs) = occamy::buffered_channels::<u8>(4, 1);
/// for (i, tx) in txs.iter().enumerate() {
///     tx.send(i as u8).unwrap(); // each buffer takes one value without a reader
/// }
/// let got: Vec<u8> = rxs.iter().map(|rx| rx.recv().unwrap()).collect();
/// assert_eq!(got, [0, 1, 2, 3]);
/// ```
pub fn buffered_channels<T: Send + 'static>(
    n: usize,
    capacity: usize,
) -> (Vec<Sender<T>>, Vec<Receiver<T>>) {
    (0..n).map(|_| buffered(capacity)).unzip()
}

/// An end's `owner` bit saying it is being retired (`retire`), not merely dropped. A bit
/// of the owner rather than a field: an end is then three words, its spare waiter
/// included, and a million-process network holds two million ends. Process ids never
/// come near it.
const RETIRE_NOW: u64 = 1 << 63;

/// The writing end of a channel. Clone it for more writers.
pub struct Sender<T> {
    pub(crate) core: Arc<Core>,
    /// The process this end is registered with (0: none yet), and `RETIRE_NOW`.
    owner: AtomicU64,
    /// The waiter its last async wait left, for the next one (`spare.rs`).
    pub(crate) spare: spare::Spare<T>,
    _t: PhantomData<fn(T) -> T>,
}

/// The reading end of a channel. Clone it for more readers.
pub struct Receiver<T> {
    pub(crate) core: Arc<Core>,
    /// The process this end is registered with (0: none yet), and `RETIRE_NOW`.
    owner: AtomicU64,
    /// The waiter its last async wait left, for the next one (`spare.rs`).
    pub(crate) spare: spare::Spare<T>,
    _t: PhantomData<fn(T) -> T>,
}

macro_rules! common_end_methods {
    ($dir:expr) => {
        fn from_core(core: Arc<Core>) -> Self {
            Self {
                core,
                owner: AtomicU64::new(0),
                spare: spare::Spare::new(),
                _t: PhantomData,
            }
        }

        /// Registers this end with the running process the first time that process uses
        /// it, so that the process's failure poisons it and the graph knows who holds it.
        /// An end moved into another process is registered with that one when it first
        /// uses it, and its previous process lets go of it.
        #[inline]
        pub(crate) fn touch(&self) {
            // Outside a process nothing registers, so an end first used by a plain
            // thread is still registered by the process it is later moved into.
            let cur = context::current_id();
            if cur != 0 && self.owner.load(std::sync::atomic::Ordering::Relaxed) != cur {
                self.register(cur);
            }
        }

        #[cold]
        fn register(&self, cur: u64) {
            let from = self.claim(cur);
            if from != cur {
                context::register_end(self.core.clone(), $dir, from);
            }
        }

        /// Makes process `owner` this end's owner; returns the previous one (0: none).
        pub(crate) fn claim(&self, owner: u64) -> u64 {
            self.owner.swap(owner, std::sync::atomic::Ordering::Relaxed)
        }

        /// Poisons the channel: every operation waiting on it, on any end (including alts
        /// that have it as a guard), fails with `Poisoned` at once, and so does every later
        /// one. Buffered values are discarded. Poisoning twice is harmless.
        ///
        /// # Examples
        /// ```
        /// let (tx, rx) = occamy::channel::<i32>();
        /// rx.poison();
        /// assert!(matches!(tx.send(1), Err(occamy::SendError::Poisoned(1))));
        /// ```
        pub fn poison(&self) {
            self.core.poison();
        }

        /// Names the channel, for deadlock reports and graphs (the first name given wins).
        ///
        /// # Examples
        /// ```
        /// let (tx, rx) = occamy::channel::<u8>();
        /// tx.set_name("requests");
        /// assert_eq!(rx.name().as_deref(), Some("requests"));
        /// ```
        pub fn set_name(&self, name: impl Into<String>) {
            self.core.set_name(name.into());
        }

        /// The channel's name, if it has one.
        pub fn name(&self) -> Option<String> {
            self.core.name().map(str::to_string)
        }

        /// Whether the channel is poisoned.
        pub fn is_poisoned(&self) -> bool {
            self.core.is_poisoned()
        }

        /// A number naming the channel, unique in this process.
        pub fn id(&self) -> u64 {
            self.core.id
        }

        /// How many values the channel has delivered so far.
        pub fn carried(&self) -> u64 {
            self.core.carried()
        }

        /// Whether two ends belong to the same channel.
        pub fn same_channel(&self, other: &Self) -> bool {
            Arc::ptr_eq(&self.core, &other.core)
        }
    };
}

impl<T: Send + 'static> Sender<T> {
    common_end_methods!(Direction::Send);

    /// This writer and `n - 1` clones of it: `n` writing ends in all, for `n` processes
    /// that share the channel (a farm's workers sending their results). It takes `self`
    /// so that no extra end is left behind: the readers see the channel retire once all
    /// `n` have gone. With `n == 0` the end retires and the vector is empty.
    ///
    /// # Examples
    /// ```
    /// use occamy::{par, Process};
    /// let (tx, rx) = occamy::channel::<usize>();
    /// let workers = tx.clones(3).into_iter().enumerate().map(|(i, tx)| {
    ///     Process::with(format!("worker[{i}]"), tx, move |tx| tx.send(i * 10))
    /// });
    /// let sink = Process::new("sink", move || {
    ///     let mut got: Vec<usize> = rx.iter().collect(); // ends when all three retire
    ///     got.sort();
    ///     assert_eq!(got, [0, 10, 20]);
    /// });
    /// par(workers.chain([sink])).unwrap();
    /// ```
    pub fn clones(self, n: usize) -> Vec<Sender<T>> {
        clones(self, n)
    }

    /// Sends `value`, waiting until a reader has taken it (or, on a buffered channel, until
    /// it is in the buffer).
    ///
    /// # Blocking
    /// Blocks until a reader takes the value or buffer room frees up. If the channel is
    /// poisoned meanwhile, or its last reader goes, the call returns at once with
    /// `Err(SendError::Poisoned(value))` or `Err(SendError::Retired(value))`: the value
    /// comes back and was not delivered.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::channel();
    /// let reader = std::thread::spawn(move || rx.recv());
    /// tx.send("ping").unwrap(); // returns once the reader has it
    /// assert_eq!(reader.join().unwrap(), Ok("ping"));
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.send_until(value, None) {
            Ok(()) => Ok(()),
            Err(SendTimeoutError::Poisoned(v)) => Err(SendError::Poisoned(v)),
            Err(SendTimeoutError::Retired(v)) => Err(SendError::Retired(v)),
            Err(SendTimeoutError::Timeout(_)) => unreachable!("no deadline"),
        }
    }

    /// Sends `value` only if a reader is waiting for it (or the buffer has room).
    ///
    /// # Examples
    /// ```
    /// let (tx, _rx) = occamy::channel();
    /// assert!(matches!(tx.try_send(5), Err(occamy::TrySendError::Full(5))));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.touch();
        let mut inner = lock(&self.core.inner);
        let r = send_now(&mut inner, value);
        // A cross-rank link: no reader waits here, but a remote one may (its proxy's
        // stand-in). Off the local paths: only a `try_send` that found no reader looks.
        #[cfg(feature = "mpi")]
        let r = match r {
            SendNow::Block(v) => match core::send_stand_in(&mut inner, v) {
                Ok(w) => SendNow::Done(Some(w)),
                Err(v) => SendNow::Block(v),
            },
            r => r,
        };
        drop(inner);
        tracing::trace!(channel = self.core.id, "try_send");
        match r {
            SendNow::Done(w) => {
                if let Some(w) = w {
                    w.signal().wake();
                }
                Ok(())
            }
            SendNow::Block(v) => Err(TrySendError::Full(v)),
            SendNow::Poisoned(v) => Err(TrySendError::Poisoned(v)),
            SendNow::Retired(v) => Err(TrySendError::Retired(v)),
        }
    }

    /// Sends `value`, waiting at most `timeout` for a reader to take it.
    ///
    /// # Blocking
    /// As [`send`](Self::send), but gives up after `timeout` with
    /// `Err(SendTimeoutError::Timeout(value))`; a value not taken by then is withdrawn and
    /// no reader will see it.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = occamy::channel();
    /// let err = tx.send_timeout(9, Duration::from_millis(1)).unwrap_err();
    /// assert!(matches!(err, occamy::SendTimeoutError::Timeout(9)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, Some(Instant::now() + timeout))
    }

    /// Sends `value`, waiting at most until `deadline`; see [`send_timeout`](Self::send_timeout).
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, Some(deadline))
    }

    fn send_until(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        self.touch();
        tracing::trace!(channel = self.core.id, "send");
        let mut value = value;
        loop {
            match self.send_once(value, deadline) {
                Err(Retry(v)) => value = v,
                Ok(r) => return r,
            }
        }
    }

    /// One attempt of `send_until`; `Err(Retry)` gives the value back for another (a
    /// cross-rank claimer gave this soft send back: its remote reader left).
    fn send_once(
        &self,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<Result<(), SendTimeoutError<T>>, Retry<T>> {
        let mut inner = lock(&self.core.inner);
        let value = match send_now(&mut inner, value) {
            SendNow::Done(w) => {
                drop(inner);
                if let Some(w) = w {
                    w.signal().wake();
                }
                return Ok(Ok(()));
            }
            SendNow::Block(v) => v,
            SendNow::Poisoned(v) => return Ok(Err(SendTimeoutError::Poisoned(v))),
            SendNow::Retired(v) => return Ok(Err(SendTimeoutError::Retired(v))),
        };
        let sig = Signal::thread(context::current_id());
        // A send with a deadline has something else to do (time out): a claimer that cannot
        // promise the value will be taken leaves it alone (`claim_now`).
        let sig = Arc::new(if deadline.is_some() { sig.soft() } else { sig });
        let slot = Slot::new(sig.clone(), 0, Some(value));
        inner.push_sender(slot.clone());
        let drive = inner.remote.then_some(deadline);
        drop(inner);
        // For a recording: the monitor finds the wait in the queue (see `wait`).
        let on = [WaitOn::Channel {
            id: self.core.id,
            dir: Direction::Send,
        }];
        let outcome = sig.block(deadline, drive.is_none(), |sleep| {
            context::park(&on, Some(&sig), drive, sleep)
        });
        // SAFETY: called only for outcomes other than `Ready`, or after withdrawing: nobody
        // took the value, and nobody will.
        let back = || unsafe { slot.take() }.expect("an unsent value stays in its slot");
        Ok(match outcome {
            Outcome::Ready(_) => Ok(()),
            Outcome::Poisoned(_) => Err(SendTimeoutError::Poisoned(back())),
            Outcome::Retired(_) => Err(SendTimeoutError::Retired(back())),
            Outcome::Withdrawn => {
                lock(&self.core.inner).dequeue(&sig);
                Err(SendTimeoutError::Timeout(back()))
            }
            // The claimer popped the slot: nothing to dequeue.
            Outcome::Retry(_) => return Err(Retry(back())),
        })
    }

    /// Sends `value` from async code: the future completes when a reader has taken it.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes withdraws the offer: the value is dropped
    /// with the future and no reader will ever see it. A thread blocked in
    /// [`Receiver::recv`] and an async task rendezvous directly.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::channel();
    /// let reader = std::thread::spawn(move || rx.recv());
    /// futures::executor::block_on(tx.send_async(3)).unwrap();
    /// assert_eq!(reader.join().unwrap(), Ok(3));
    /// ```
    pub fn send_async(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(self, value)
    }

    /// Retires this writer (the same as dropping it): when the last writer has gone,
    /// readers get `Retired` once the buffer is drained.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::channel::<u8>();
    /// tx.retire();
    /// assert_eq!(rx.recv(), Err(occamy::RecvError::Retired));
    /// ```
    pub fn retire(self) {
        self.owner
            .fetch_or(RETIRE_NOW, std::sync::atomic::Ordering::Relaxed);
        drop(self)
    }
}

impl<T: Send + 'static> Receiver<T> {
    common_end_methods!(Direction::Recv);

    /// This reader and `n - 1` clones of it: `n` reading ends in all, for `n` processes
    /// that share the channel (a farm's workers taking jobs from one queue: each value
    /// goes to one of them). It takes `self` so that no extra end is left behind: the
    /// writers see the channel retire once all `n` have gone. With `n == 0` the end
    /// retires and the vector is empty.
    ///
    /// # Examples
    /// ```
    /// use occamy::{par, Process};
    /// let (jobs, jobs_rx) = occamy::channel::<u64>();
    /// let (results_tx, results) = occamy::channel::<u64>();
    /// let workers = jobs_rx
    ///     .clones(4)
    ///     .into_iter()
    ///     .zip(results_tx.clones(4))
    ///     .enumerate()
    ///     .map(|(i, ends)| {
    ///         Process::with(format!("worker[{i}]"), ends, |(rx, tx)| -> occamy::Result {
    ///             for job in rx.values() {
    ///                 let j = job?;
    ///                 tx.send(j * j)?;
    ///             }
    ///             Ok(())
    ///         })
    ///     });
    /// let feed = Process::with("feed", jobs, |tx| -> occamy::Result {
    ///     for j in 1..=10 { tx.send(j)?; }
    ///     Ok(())
    /// });
    /// let sum = Process::with("sum", results, |rx| assert_eq!(rx.iter().sum::<u64>(), 385));
    /// par(workers.chain([feed, sum])).unwrap();
    /// ```
    pub fn clones(self, n: usize) -> Vec<Receiver<T>> {
        clones(self, n)
    }

    /// Receives a value, waiting for a writer.
    ///
    /// # Blocking
    /// Blocks until a writer offers a value. Returns `Err(RecvError::Poisoned)` at once if
    /// the channel is (or becomes) poisoned, and `Err(RecvError::Retired)` once every writer
    /// has gone and the buffer is empty.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::channel();
    /// std::thread::spawn(move || tx.send(1u8));
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert_eq!(rx.recv(), Err(occamy::RecvError::Retired)); // the writer has gone
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        match self.recv_until(None) {
            Ok(v) => Ok(v),
            Err(RecvTimeoutError::Poisoned) => Err(RecvError::Poisoned),
            Err(RecvTimeoutError::Retired) => Err(RecvError::Retired),
            Err(RecvTimeoutError::Timeout) => unreachable!("no deadline"),
        }
    }

    /// Receives a value only if a writer is waiting (or the buffer holds one).
    ///
    /// # Examples
    /// ```
    /// let (_tx, rx) = occamy::channel::<i32>();
    /// assert_eq!(rx.try_recv(), Err(occamy::TryRecvError::Empty));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.touch();
        let mut inner = lock(&self.core.inner);
        let r = recv_now::<T>(&mut inner);
        drop(inner);
        tracing::trace!(channel = self.core.id, "try_recv");
        match r {
            RecvNow::Value(v, w) => {
                if let Some(w) = w {
                    w.signal().wake();
                }
                Ok(v)
            }
            RecvNow::Block => Err(TryRecvError::Empty),
            RecvNow::Poisoned => Err(TryRecvError::Poisoned),
            RecvNow::Retired => Err(TryRecvError::Retired),
        }
    }

    /// Receives a value, waiting at most `timeout`.
    ///
    /// # Blocking
    /// As [`recv`](Self::recv), but gives up after `timeout` with
    /// `Err(RecvTimeoutError::Timeout)`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = occamy::channel::<i32>();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(occamy::RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(Instant::now() + timeout))
    }

    /// Receives a value, waiting at most until `deadline`; see [`recv_timeout`](Self::recv_timeout).
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        self.touch();
        tracing::trace!(channel = self.core.id, "recv");
        let mut inner = lock(&self.core.inner);
        match recv_now::<T>(&mut inner) {
            RecvNow::Value(v, w) => {
                drop(inner);
                if let Some(w) = w {
                    w.signal().wake();
                }
                return Ok(v);
            }
            RecvNow::Block => {}
            RecvNow::Poisoned => return Err(RecvTimeoutError::Poisoned),
            RecvNow::Retired => return Err(RecvTimeoutError::Retired),
        }
        let sig = Arc::new(Signal::thread(context::current_id()));
        let slot = Slot::<T>::new(sig.clone(), 0, None);
        inner.push_receiver(slot.clone());
        let drive = inner.remote.then_some(deadline);
        drop(inner);
        // For a recording: the monitor finds the wait in the queue (see `wait`).
        let on = [WaitOn::Channel {
            id: self.core.id,
            dir: Direction::Recv,
        }];
        match sig.block(deadline, drive.is_none(), |sleep| {
            context::park(&on, Some(&sig), drive, sleep)
        }) {
            // SAFETY: fired `Ready`: the peer put the value and is done with it.
            Outcome::Ready(_) => Ok(unsafe { slot.take() }.expect("a fired receiver's value")),
            Outcome::Poisoned(_) => Err(RecvTimeoutError::Poisoned),
            Outcome::Retired(_) => Err(RecvTimeoutError::Retired),
            Outcome::Retry(_) => unreachable!("only a sender is given back"),
            Outcome::Withdrawn => {
                lock(&self.core.inner).dequeue(&sig);
                Err(RecvTimeoutError::Timeout)
            }
        }
    }

    /// Receives a value from async code.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes withdraws it; a value that had already
    /// landed in it is put back at the front of the channel for the next reader, never lost.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::channel();
    /// std::thread::spawn(move || tx.send(8));
    /// assert_eq!(futures::executor::block_on(rx.recv_async()), Ok(8));
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(self)
    }

    /// An iterator over received values; it ends when the channel retires **or is
    /// poisoned**, and cannot tell which. Inside a process, prefer
    /// [`values`](Self::values), which reports poison: a process that loops over `iter()`
    /// and then returns `Ok(())` ends normally on poison, so its outputs retire instead of
    /// passing the poison on.
    ///
    /// # Blocking
    /// Each `next` blocks as [`recv`](Self::recv) does.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::channel();
    /// std::thread::spawn(move || for i in 0..3 { tx.send(i).unwrap() });
    /// assert_eq!(rx.iter().sum::<i32>(), 3);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over received values that reports poison: it yields `Ok(value)` for
    /// each value, ends when the channel retires, and yields one `Err(RecvError::Poisoned)`
    /// (then ends) if the channel is poisoned. With `?` in the loop, a process passes
    /// poison on and ends by retirement otherwise.
    ///
    /// # Blocking
    /// Each `next` blocks as [`recv`](Self::recv) does.
    ///
    /// # Examples
    /// A doubler that passes poison on:
    /// ```
    /// use occamy::{par, Process, Receiver, Sender};
    /// fn double(rx: Receiver<u32>, tx: Sender<u32>) -> occamy::Result {
    ///     for v in rx.values() {
    ///         tx.send(v? * 2)?;
    ///     }
    ///     Ok(()) // the input retired: retire the output too (by dropping it)
    /// }
    /// let (in_tx, in_rx) = occamy::channel();
    /// let (out_tx, out_rx) = occamy::channel();
    /// par([
    ///     Process::with("double", (in_rx, out_tx), |(rx, tx)| double(rx, tx)),
    ///     Process::new("source", move || -> occamy::Result { in_tx.send(21)?; in_tx.poison(); Ok(()) }),
    ///     Process::new("sink", move || {
    ///         assert_eq!(out_rx.recv(), Ok(42));
    ///         // the poison came through `double`, not a retirement
    ///         assert_eq!(out_rx.recv(), Err(occamy::RecvError::Poisoned));
    ///     }),
    /// ])
    /// .unwrap();
    /// ```
    pub fn values(&self) -> Values<'_, T> {
        Values {
            rx: self,
            done: false,
        }
    }

    /// Retires this reader (the same as dropping it): when the last reader has gone,
    /// writers get `Retired`.
    pub fn retire(self) {
        self.owner
            .fetch_or(RETIRE_NOW, std::sync::atomic::Ordering::Relaxed);
        drop(self)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.core.add_end(Direction::Send);
        Sender {
            core: self.core.clone(),
            owner: AtomicU64::new(0),
            spare: spare::Spare::new(),
            _t: PhantomData,
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.core.add_end(Direction::Recv);
        Receiver {
            core: self.core.clone(),
            owner: AtomicU64::new(0),
            spare: spare::Spare::new(),
            _t: PhantomData,
        }
    }
}

/// `end` and `n - 1` clones of it (none, and `end` dropped, for `n == 0`).
fn clones<E: Clone>(end: E, n: usize) -> Vec<E> {
    let mut v = Vec::with_capacity(n);
    if n > 0 {
        v.extend(std::iter::repeat_n(&end, n - 1).cloned());
        v.push(end);
    }
    v
}

/// Dropping an end: inside a process, an end dropped without [`retire`](Sender::retire)
/// goes away when the process next waits or ends (see `Record::defer_drop` for why);
/// elsewhere at once. An end dropped by a panicking thread poisons its channel.
fn drop_end(core: &Arc<Core>, dir: Direction, retire_now: bool) {
    let panicking = std::thread::panicking();
    if retire_now || panicking || !context::defer_drop(&(core.clone() as _), dir) {
        core.drop_end(dir, panicking);
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        drop_end(
            &self.core,
            Direction::Send,
            *self.owner.get_mut() & RETIRE_NOW != 0,
        );
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        drop_end(
            &self.core,
            Direction::Recv,
            *self.owner.get_mut() & RETIRE_NOW != 0,
        );
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sender<{}>#{}", self.core.type_name, self.core.id)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Receiver<{}>#{}", self.core.type_name, self.core.id)
    }
}

/// Iterator over received values, from [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T: Send + 'static> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// Iterator over received values that reports poison, from [`Receiver::values`].
#[derive(Debug)]
pub struct Values<'a, T> {
    rx: &'a Receiver<T>,
    done: bool,
}

impl<T: Send + 'static> Iterator for Values<'_, T> {
    type Item = Result<T, RecvError>;
    fn next(&mut self) -> Option<Result<T, RecvError>> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(v) => Some(Ok(v)),
            Err(RecvError::Retired) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Owning iterator over received values, from `Receiver::into_iter`.
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T: Send + 'static> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T: Send + 'static> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T: Send + 'static> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

/// A value given back to a soft sender for another attempt (`Outcome::Retry`).
struct Retry<T>(T);
