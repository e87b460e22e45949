//! Alt: waiting for the first of several guards (occam `ALT` / `PRI ALT`, JCSP
//! `Alternative`, PyCSP `AltSelect`).
//!
//! # How a select runs (the shape of Go's `selectgo`)
//! 1. Lock every channel the alt uses, in channel-id order (so two alts never deadlock on
//!    each other's locks).
//! 2. If any enabled guard's channel is poisoned, report that at once: poison wins.
//! 3. Try the enabled guards in choice order; the first that can complete does so (value
//!    handed over, waiter woken) and is reported.
//! 4. Otherwise leave one waiter per channel guard in its channel's queue, all sharing one
//!    signal, unlock, and wait (until the earliest timeout guard's deadline, if any).
//!    The first peer to fire the shared signal completes its guard; any other peer finds
//!    the signal fired and skips that waiter.
//! 5. Lock the channels again, remove the waiters that did not fire, and report the guard
//!    that did. Output guards that were not chosen get their value back.
//!
//! # Choice order (fairness)
//! [`Alt::priority`] tries guards in declared order (`PRI ALT`). [`Alt::new`] (fair) tries
//! them starting one past the guard chosen last time, wrapping round, as JCSP's
//! `fairSelect` does: among guards that stay ready, each is chosen at least once in every
//! `n` selects, so none starves. A fresh fair alt starts at a random guard, so even an alt
//! built anew for every select (as [`alt!`](crate::alt!) does) chooses uniformly among
//! ready guards on average. Skip and timeout guards take part in the order like any other.

mod future;
mod macros;
mod ops;

pub use future::SelectFuture;

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::channel::{Core, Inner, Receiver, Sender};
use crate::error::{RecvError, SendError};
use crate::loom::{lock, MutexGuard};
use crate::runtime::context;
use crate::wait::{Direction, Outcome, Signal, WaitOn};
use ops::{ChanOp, Now, RecvOp, SendOp};

/// What happened to the guard an alt chose.
pub enum Event {
    /// An input guard received this value (see [`Selected::recv`]).
    Received(Box<dyn Any + Send>),
    /// An output guard's value was taken by a reader.
    Sent,
    /// A timeout guard's deadline passed first.
    Timeout,
    /// A skip guard was chosen (nothing else was ready before it in choice order).
    Skip,
    /// The guard's channel is poisoned.
    Poisoned,
    /// The guard's channel retired (no writers left for an input, no readers for an
    /// output). The guard is disabled from then on, so a merge can drop it.
    Retired,
    /// No guard is enabled: nothing could ever be chosen. The index is `usize::MAX`.
    Exhausted,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Event::Received(_) => "Received(..)",
            Event::Sent => "Sent",
            Event::Timeout => "Timeout",
            Event::Skip => "Skip",
            Event::Poisoned => "Poisoned",
            Event::Retired => "Retired",
            Event::Exhausted => "Exhausted",
        })
    }
}

/// The result of a select: which guard was chosen, and what happened.
#[derive(Debug)]
pub struct Selected {
    index: usize,
    event: Event,
}

impl Selected {
    /// The index of the chosen guard, as returned when it was added.
    pub fn index(&self) -> usize {
        self.index
    }

    /// What happened.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// What happened, by value.
    pub fn into_event(self) -> Event {
        self.event
    }

    /// The outcome of the chosen input guard: the value, or why the channel ended.
    ///
    /// # Panics
    /// If the chosen guard is not an input guard or its channel carries another type
    /// (a programming error: compare [`index`](Self::index) first).
    pub fn recv<T: 'static>(self) -> Result<T, RecvError> {
        match self.event {
            Event::Received(v) => Ok(*v.downcast::<T>().unwrap_or_else(|_| {
                panic!(
                    "occamy: guard {} carries another type than {}",
                    self.index,
                    std::any::type_name::<T>()
                )
            })),
            Event::Poisoned => Err(RecvError::Poisoned),
            Event::Retired => Err(RecvError::Retired),
            other => panic!(
                "occamy: guard {} is not an input guard ({other:?})",
                self.index
            ),
        }
    }

    /// Whether a timeout guard was chosen.
    pub fn is_timeout(&self) -> bool {
        matches!(self.event, Event::Timeout)
    }

    /// Whether the chosen guard's channel is poisoned.
    pub fn is_poisoned(&self) -> bool {
        matches!(self.event, Event::Poisoned)
    }
}

enum Kind {
    Chan { lix: usize, op: Box<dyn ChanOp> },
    Timeout(Duration),
    Deadline(Instant),
    Skip,
}

struct Guard {
    enabled: bool,
    kind: Kind,
}

/// A set of guards to choose among, reusable across selects.
///
/// Add guards with [`recv`](Alt::recv), [`send`](Alt::send), [`timeout`](Alt::timeout),
/// [`deadline`](Alt::deadline) and [`skip`](Alt::skip) (each has an `_if` form taking a
/// precondition, and [`set_enabled`](Alt::set_enabled) changes it later); each returns the
/// guard's index. [`select`](Alt::select) waits for one guard and returns its index and
/// what happened. For a fixed set of guards, the [`alt!`](crate::alt!) macro is shorter.
///
/// # Examples
/// A merge of any number of inputs that ends when all of them have retired:
/// ```
/// use occamy::{Alt, Event};
/// let (tx1, rx1) = occamy::channel();
/// let (tx2, rx2) = occamy::channel();
/// std::thread::spawn(move || for i in 0..3 { tx1.send(i).unwrap() });
/// std::thread::spawn(move || for i in 10..13 { tx2.send(i).unwrap() });
///
/// let mut alt = Alt::new(); // fair
/// for rx in [&rx1, &rx2] {
///     alt.recv(rx);
/// }
/// let mut got = Vec::new();
/// loop {
///     let sel = alt.select();
///     match sel.event() {
///         Event::Received(_) => got.push(sel.recv::<i32>().unwrap()),
///         Event::Retired => continue, // that input is disabled from now on
///         Event::Exhausted => break,  // every input has retired
///         other => panic!("{other:?}"),
///     }
/// }
/// got.sort();
/// assert_eq!(got, [0, 1, 2, 10, 11, 12]);
/// ```
pub struct Alt {
    guards: Vec<Guard>,
    /// The distinct channels of the guards, sorted by id: the lock order.
    cores: Vec<Arc<Core>>,
    fair: bool,
    next: usize,
    /// Guards that left a waiter in the current select.
    enqueued: Vec<usize>,
    /// The timeout guard with the earliest deadline in the current select.
    earliest: Option<(usize, Instant)>,
}

impl Default for Alt {
    fn default() -> Self {
        Alt::new()
    }
}

impl fmt::Debug for Alt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alt")
            .field("guards", &self.guards.len())
            .field("fair", &self.fair)
            .finish()
    }
}

pub(crate) enum Begun {
    Done(Selected),
    Waiting(Arc<Signal>),
}

thread_local! {
    static SEED: Cell<u64> = const { Cell::new(0) };
}

/// A cheap per-thread random number (xorshift), for the starting guard of a fresh fair alt.
fn random() -> usize {
    SEED.with(|s| {
        let mut x = s.get();
        if x == 0 {
            x = (s as *const _ as u64) ^ 0x9E37_79B9_7F4A_7C15;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        x as usize
    })
}

impl Alt {
    /// An empty alt with fair choice (see the module docs).
    pub fn new() -> Alt {
        Alt {
            guards: Vec::new(),
            cores: Vec::new(),
            fair: true,
            next: random(),
            enqueued: Vec::new(),
            earliest: None,
        }
    }

    /// An empty alt with priority choice: the first ready guard in declared order wins
    /// (occam's `PRI ALT`).
    pub fn priority() -> Alt {
        Alt {
            fair: false,
            next: 0,
            ..Alt::new()
        }
    }

    /// The number of guards.
    pub fn len(&self) -> usize {
        self.guards.len()
    }

    /// Whether the alt has no guards.
    pub fn is_empty(&self) -> bool {
        self.guards.is_empty()
    }

    fn push(&mut self, enabled: bool, kind: Kind) -> usize {
        self.guards.push(Guard { enabled, kind });
        self.guards.len() - 1
    }

    fn push_chan(&mut self, enabled: bool, core: &Arc<Core>, op: Box<dyn ChanOp>) -> usize {
        let lix = match self.cores.binary_search_by_key(&core.id, |c| c.id) {
            Ok(i) => i,
            Err(i) => {
                self.cores.insert(i, core.clone());
                for g in &mut self.guards {
                    if let Kind::Chan { lix, .. } = &mut g.kind {
                        if *lix >= i {
                            *lix += 1;
                        }
                    }
                }
                i
            }
        };
        self.push(enabled, Kind::Chan { lix, op })
    }

    /// Adds an input guard on `rx`; returns its index.
    pub fn recv<T: Send + 'static>(&mut self, rx: &Receiver<T>) -> usize {
        self.recv_if(true, rx)
    }

    /// Adds an input guard on `rx` with a precondition: while `enabled` is false the guard
    /// is ignored.
    pub fn recv_if<T: Send + 'static>(&mut self, enabled: bool, rx: &Receiver<T>) -> usize {
        rx.touch();
        let op = RecvOp::<T> {
            core: rx.core.clone(),
            waiting: None,
        };
        self.push_chan(enabled, &rx.core, Box::new(op))
    }

    /// Adds an output guard offering `value` on `tx`; returns its index. The value is taken
    /// only if this guard is chosen; until then it stays in the alt, and
    /// [`take_back`](Alt::take_back) returns it. Once sent, the guard is idle until
    /// [`offer`](Alt::offer) gives it a new value.
    pub fn send<T: Send + 'static>(&mut self, tx: &Sender<T>, value: T) -> usize {
        self.send_if(true, tx, value)
    }

    /// [`send`](Alt::send) with a precondition.
    pub fn send_if<T: Send + 'static>(&mut self, enabled: bool, tx: &Sender<T>, value: T) -> usize {
        tx.touch();
        let op = SendOp::<T> {
            core: tx.core.clone(),
            value: Some(value),
            waiting: None,
        };
        self.push_chan(enabled, &tx.core, Box::new(op))
    }

    /// Adds a timeout guard, ready once `after` has passed since the select began.
    pub fn timeout(&mut self, after: Duration) -> usize {
        self.push(true, Kind::Timeout(after))
    }

    /// [`timeout`](Alt::timeout) with a precondition.
    pub fn timeout_if(&mut self, enabled: bool, after: Duration) -> usize {
        self.push(enabled, Kind::Timeout(after))
    }

    /// Adds a timeout guard ready at an absolute time (occam `tim ? AFTER t`).
    pub fn deadline(&mut self, at: Instant) -> usize {
        self.push(true, Kind::Deadline(at))
    }

    /// Adds a skip guard: always ready (occam `SKIP` guard, JCSP `Skip`).
    pub fn skip(&mut self) -> usize {
        self.push(true, Kind::Skip)
    }

    /// [`skip`](Alt::skip) with a precondition.
    pub fn skip_if(&mut self, enabled: bool) -> usize {
        self.push(enabled, Kind::Skip)
    }

    /// Enables or disables guard `index` (its precondition) for later selects.
    pub fn set_enabled(&mut self, index: usize, enabled: bool) {
        self.guards[index].enabled = enabled;
    }

    /// Gives output guard `index` a value to offer again; returns the value back if the
    /// guard is not an output guard of that type.
    pub fn offer<T: Send + 'static>(&mut self, index: usize, value: T) -> Result<(), T> {
        match &mut self.guards.get_mut(index).map(|g| &mut g.kind) {
            Some(Kind::Chan { op, .. }) if op.dir() == Direction::Send && !op.armed() => op
                .put_value(Box::new(value))
                .map_err(|b| *b.downcast::<T>().unwrap()),
            _ => Err(value),
        }
    }

    /// Takes back the value of output guard `index` if it has not been sent (after a
    /// select that chose another guard, or found the channel poisoned or retired).
    pub fn take_back<T: 'static>(&mut self, index: usize) -> Option<T> {
        match &mut self.guards.get_mut(index)?.kind {
            Kind::Chan { op, .. } => op
                .take_value()
                .and_then(|b| b.downcast::<T>().ok())
                .map(|b| *b),
            _ => None,
        }
    }

    /// Waits until one guard is ready, completes it, and says which and what happened.
    ///
    /// # Blocking
    /// Blocks until an enabled guard can complete: a writer offers on an input guard's
    /// channel, a reader waits on an output guard's channel, a timeout guard's deadline
    /// passes; a ready skip guard or timeout never blocks. If any enabled guard's channel is
    /// or becomes poisoned, returns at once with [`Event::Poisoned`] for that guard; a
    /// channel that retires gives [`Event::Retired`] and disables its guard. With no guard
    /// enabled, returns [`Event::Exhausted`] at once instead of waiting for ever.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = occamy::channel::<i32>();
    /// let mut alt = occamy::Alt::priority();
    /// let input = alt.recv(&rx);
    /// let timeout = alt.timeout(Duration::from_millis(5));
    /// let sel = alt.select();
    /// assert_eq!(sel.index(), timeout);
    /// assert_ne!(sel.index(), input);
    /// ```
    pub fn select(&mut self) -> Selected {
        match self.begin(None) {
            Begun::Done(sel) => sel,
            Begun::Waiting(sig) => {
                let on = self.waiting_on();
                let outcome = sig.block(self.earliest.map(|(_, d)| d), |sleep| {
                    context::park(&on, Some(&sig), sleep)
                });
                self.finish(&sig, outcome)
            }
        }
    }

    /// The async form of [`select`](Alt::select).
    ///
    /// # Cancel safety
    /// Dropping the future deregisters the alt from every channel; a value that had
    /// already landed in one of its input guards goes back to the front of that channel,
    /// and unsent output values stay in the alt.
    pub fn select_async(&mut self) -> SelectFuture<'_> {
        SelectFuture::new(self)
    }

    pub(crate) fn waiting_on(&self) -> Vec<WaitOn> {
        let mut on: Vec<WaitOn> = self
            .enqueued
            .iter()
            .map(|&i| match &self.guards[i].kind {
                Kind::Chan { op, .. } => WaitOn::Channel {
                    id: op.core().id,
                    dir: op.dir(),
                },
                _ => unreachable!(),
            })
            .collect();
        if self.earliest.is_some() {
            on.push(WaitOn::Timer);
        }
        on
    }

    fn chosen(&mut self, index: usize, event: Event) -> Selected {
        if self.fair {
            self.next = index + 1;
        }
        if matches!(event, Event::Retired) {
            self.guards[index].enabled = false;
        }
        tracing::trace!(guard = index, event = ?event, "alt");
        Selected { index, event }
    }

    fn lock_all(&self) -> Vec<MutexGuard<'_, Inner>> {
        self.cores.iter().map(|c| lock(&c.inner)).collect()
    }

    /// Steps 1 to 4 of a select (see the module docs). With `task`, the alt waits as an
    /// async task.
    pub(crate) fn begin(&mut self, task: Option<&std::task::Waker>) -> Begun {
        let n = self.guards.len();
        self.enqueued.clear();
        self.earliest = None;
        let live = |g: &Guard| {
            g.enabled
                && match &g.kind {
                    Kind::Chan { op, .. } => op.armed(),
                    _ => true,
                }
        };
        if !self.guards.iter().any(live) {
            return Begun::Done(Selected {
                index: usize::MAX,
                event: Event::Exhausted,
            });
        }
        let now = Instant::now();
        let mut locks = self
            .cores
            .iter()
            .map(|c| lock(&c.inner))
            .collect::<Vec<_>>();
        for (i, g) in self.guards.iter().enumerate() {
            if let Kind::Chan { lix, .. } = g.kind {
                if live(g) && locks[lix].poisoned {
                    drop(locks);
                    return Begun::Done(self.chosen(i, Event::Poisoned));
                }
            }
        }
        let start = if self.fair { self.next % n } else { 0 };
        let mut earliest: Option<(usize, Instant)> = None;
        for k in 0..n {
            let i = (start + k) % n;
            let g = &mut self.guards[i];
            if !live(g) {
                continue;
            }
            let deadline = match &mut g.kind {
                Kind::Chan { lix, op } => match op.try_now(&mut locks[*lix]) {
                    Now::Event(e, w) => {
                        drop(locks);
                        if let Some(w) = w {
                            w.signal().wake();
                        }
                        return Begun::Done(self.chosen(i, e));
                    }
                    Now::Block => continue,
                },
                Kind::Skip => {
                    drop(locks);
                    return Begun::Done(self.chosen(i, Event::Skip));
                }
                Kind::Timeout(d) => now + *d,
                Kind::Deadline(d) => *d,
            };
            if deadline <= now {
                drop(locks);
                return Begun::Done(self.chosen(i, Event::Timeout));
            }
            if earliest.is_none_or(|(_, e)| deadline < e) {
                earliest = Some((i, deadline));
            }
        }
        let sig = Arc::new(match task {
            None => Signal::thread(),
            Some(w) => Signal::task(w),
        });
        for (i, g) in self.guards.iter_mut().enumerate() {
            if !live(g) {
                continue;
            }
            if let Kind::Chan { lix, op } = &mut g.kind {
                op.enqueue(&mut locks[*lix], &sig, i);
                self.enqueued.push(i);
            }
        }
        drop(locks);
        self.earliest = earliest;
        Begun::Waiting(sig)
    }

    /// Removes this select's waiters from every channel.
    fn dequeue_all(&self, sig: &Arc<Signal>) {
        for mut inner in self.lock_all() {
            inner.dequeue(sig);
        }
    }

    /// Step 5 of a select, once the signal fired or the deadline withdrew it.
    pub(crate) fn finish(&mut self, sig: &Arc<Signal>, outcome: Outcome) -> Selected {
        self.dequeue_all(sig);
        let fired = match outcome {
            Outcome::Ready(i) | Outcome::Retired(i) | Outcome::Poisoned(i) => i,
            Outcome::Withdrawn => self.earliest.expect("only a deadline withdraws a select").0,
        };
        let mut event = None;
        for &i in &self.enqueued {
            if let Kind::Chan { op, .. } = &mut self.guards[i].kind {
                let e = op.finish((i == fired).then_some(outcome));
                if i == fired {
                    event = e;
                }
            }
        }
        self.enqueued.clear();
        let event = event.unwrap_or(Event::Timeout);
        self.chosen(fired, event)
    }

    /// Abandons a select whose future was dropped while waiting.
    pub(crate) fn abandon(&mut self, sig: &Arc<Signal>) {
        let outcome = sig.withdraw().err();
        self.dequeue_all(sig);
        let fired = match outcome {
            Some(Outcome::Ready(i) | Outcome::Retired(i) | Outcome::Poisoned(i)) => {
                Some((i, outcome.unwrap()))
            }
            _ => None,
        };
        for &i in &self.enqueued {
            if let Kind::Chan { op, .. } = &mut self.guards[i].kind {
                op.abandon(fired.filter(|(f, _)| *f == i).map(|(_, o)| o));
            }
        }
        self.enqueued.clear();
    }
}

/// What [`Selected::recv`] returns, typed by `rx` (the chosen guard's channel); used
/// by [`alt!`](crate::alt!) to name the type of an input guard.
#[doc(hidden)]
pub fn __recv_of<T: 'static>(_rx: &Receiver<T>, sel: Selected) -> Result<T, RecvError> {
    sel.recv::<T>()
}

/// The outcome of output guard `index` in the shape of [`Sender::send`]'s result; used by
/// [`alt!`](crate::alt!).
#[doc(hidden)]
pub fn __send_of<T: Send + 'static>(
    _tx: &Sender<T>,
    alt: &mut Alt,
    sel: Selected,
) -> Result<(), SendError<T>> {
    let index = sel.index;
    match sel.event {
        Event::Sent => Ok(()),
        Event::Poisoned => Err(SendError::Poisoned(
            alt.take_back(index).expect("unsent value"),
        )),
        Event::Retired => Err(SendError::Retired(
            alt.take_back(index).expect("unsent value"),
        )),
        other => panic!("occamy: guard {index} is not an output guard ({other:?})"),
    }
}
