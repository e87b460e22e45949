//! Alt: waiting for the first of several guards (occam `ALT` / `PRI ALT`, JCSP
//! `Alternative`, PyCSP `AltSelect`).
//!
//! # How a select runs (the shape of Go's `selectgo`)
//! 1. Lock every channel the alt uses, in channel-id order (so two alts never deadlock on
//!    each other's locks).
//! 2. If any enabled guard's channel is poisoned, report that at once: poison wins (the
//!    first such guard in written order).
//! 3. Try the enabled guards in choice order (below); the first that can complete does so
//!    (value handed over, waiter woken) and is reported.
//! 4. Otherwise leave one waiter per channel guard in its channel's queue, enrolled in
//!    the same choice order, all sharing one signal, unlock, and wait (until the earliest
//!    timeout guard's deadline, if any). The first peer to fire the shared signal completes
//!    its guard; any other peer finds the signal fired and skips that waiter.
//! 5. Lock the channels again, remove the waiters that did not fire, and report the guard
//!    that did. Output guards that were not chosen get their value back.
//!
//! # Choice order
//! The choice order (see [`Alt`]'s docs, "Fair and priority choice", for what it
//! guarantees) is used twice: at step 3 it decides which ready guard wins, and at step 4
//! the order of enrolment decides which of the alt's guards a peer completes when it could
//! complete several (guards on one channel: a peer takes the first live waiter in its
//! channel's queue). Priority: written order. Fair, first select: a random permutation,
//! drawn lazily (`choice.rs`). Fair, later selects: round-robin from one past the last
//! choice.
//!
//! # Completion
//! [`Alt::recv`] and [`Alt::send`] return typed handles ([`RecvGuard`], [`SendGuard`]).
//! A received value waits in its guard's `RecvOp<T>` until [`Selected::recv`] takes it
//! with the handle (or [`Selected::recv_on`] with the channel's end): it is not boxed, and
//! its type comes from the handle, so it cannot be named wrong. A handle finds its guard by
//! index, checks the channel id and downcasts the op (one type-id compare); a handle of
//! another alt finds nothing rather than a value of another type.

mod choice;
mod engine;
mod future;
mod locks;
mod macros;
mod ops;
mod selected;

pub use future::SelectFuture;
#[doc(hidden)]
pub use selected::{__recv_of, __sent_of};
pub use selected::{Event, RecvGuard, Selected, SendGuard};

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::channel::{Core, Receiver, Sender};
use crate::runtime::context;
use crate::wait::{Outcome, Signal, WaitOn};
use ops::{ChanOp, RecvOp, SendOp};

enum Kind {
    Chan { lix: usize, op: Box<dyn ChanOp> },
    Timeout(Duration),
    Deadline(Instant),
    Skip,
}

struct Guard {
    enabled: bool,
    kind: Kind,
    /// An entry of the current select's random order (see `choice.rs`).
    order: usize,
}

impl Guard {
    /// Enabled, and (an output guard) has a value to offer.
    fn live(&self) -> bool {
        self.enabled
            && match &self.kind {
                Kind::Chan { op, .. } => op.armed(),
                _ => true,
            }
    }
}

/// A set of guards to choose among, reusable across selects.
///
/// Add guards with [`recv`](Alt::recv), [`send`](Alt::send), [`timeout`](Alt::timeout),
/// [`deadline`](Alt::deadline) and [`skip`](Alt::skip) (each has an `_if` form taking a
/// precondition, and [`set_enabled`](Alt::set_enabled) changes it later). Input and output
/// guards return typed handles, the others an index. [`select`](Alt::select) waits for
/// one guard and returns which and what happened; the handle then takes the received
/// value out ([`Selected::recv`]). [`Alt::new`] chooses fairly, [`Alt::priority`] in
/// written order (below). For a fixed set of guards, the [`alt!`](crate::alt!) macro is
/// shorter.
///
/// # Fair and priority choice
/// Which guard a select chooses when several could complete, precisely:
///
/// - **Priority** ([`Alt::priority`], [`pri_alt!`](crate::pri_alt!)): the first ready
///   guard in written order wins. When no guard is ready the alt enrols with its channels
///   in written order too, so a peer that can complete several of its guards (guards on
///   one channel) completes the first written.
/// - **Fair, fresh** (the first select of an [`Alt::new`], and every
///   [`alt!`](crate::alt!), which builds a fresh alt): the guards are tried in a uniformly
///   random order, drawn anew for the select (as Go's `select` does). Each guard that is
///   ready is chosen with probability 1/*r* (*r* guards ready), whatever their positions and
///   however many guards that are not ready lie between them. When none is ready the alt
///   enrols in that random order, so a peer that can complete several of its guards
///   completes each with equal probability.
/// - **Fair, reused** (every later select of the same [`Alt::new`]): round-robin. The
///   guards are tried starting one past the guard chosen last, wrapping round in written
///   order (JCSP's `fairSelect`), and enrolled in that order. Guards that are not ready do
///   not take anyone's turn: while a set of guards stays ready, each is chosen exactly once
///   in every run of that many selects, and a ready guard waits at most *n* − 1 selects
///   (*n* guards) for its turn. Guards on one channel take their turns when the alt blocks,
///   too.
///
/// Skip and timeout guards take part like any other. A poisoned channel wins over every
/// ready guard (the first poisoned guard in written order is reported). Among timeouts
/// with the same, earliest deadline, a blocked alt reports the first in its order.
/// Fairness is among the guards ready when the select looks: which of two peers that arrive
/// on different channels while the alt waits gets it is decided by their race. The random
/// order comes from a cheap per-thread generator (xorshift), not a cryptographic one.
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
/// let inputs = [alt.recv(&rx1), alt.recv(&rx2)];
/// let mut got = Vec::new();
/// loop {
///     let mut sel = alt.select();
///     match sel.event() {
///         Event::Received => {
///             let input = inputs[sel.index()];
///             got.push(sel.recv(input).unwrap().unwrap());
///         }
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
    /// A fair alt's next starting guard (one past its last choice); `None` until it has
    /// chosen, when its order is random.
    next: Option<usize>,
    /// The input guard holding a received value from the last select.
    holding: Option<usize>,
    /// Guards that left a waiter in the current select.
    enqueued: Vec<usize>,
    /// The timeout guard with the earliest deadline in the current select.
    earliest: Option<(usize, Instant)>,
    /// When the current select began: its relative timeouts count from then, also when
    /// it is tried again after a give-back (`Outcome::Retry`).
    started: Option<Instant>,
    /// Whether the current select waits on a cross-rank link's channel (`Inner::remote`).
    remote: bool,
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

thread_local! {
    /// The emptied lists of the last alt dropped on this thread, for the next one made
    /// here: an `alt!` builds a fresh alt each time it runs, and its two lists were two
    /// allocations and two frees of every select (callgrind, `alt3-fresh`).
    static SPARE: std::cell::Cell<Option<Lists>> = const { std::cell::Cell::new(None) };
}

/// An alt's guard list and its list of channels.
type Lists = (Vec<Guard>, Vec<Arc<Core>>);

impl Drop for Alt {
    fn drop(&mut self) {
        let (mut guards, mut cores) = (
            std::mem::take(&mut self.guards),
            std::mem::take(&mut self.cores),
        );
        // Dropped here, not while the cell is borrowed: a guard's drop may do anything
        // its value's drop does (an output guard's value), even make and drop an alt.
        guards.clear();
        cores.clear();
        if guards.capacity() <= 16 && cores.capacity() <= 16 {
            let _ = SPARE.try_with(|s| s.set(Some((guards, cores))));
        }
    }
}

pub(crate) enum Begun {
    Done(usize, Event),
    Waiting(Arc<Signal>),
}

impl Alt {
    /// An empty alt with fair choice: a random order for its first select, round-robin
    /// from one past its last choice after that (see the module docs).
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::buffered::<u8>(4);
    /// (0..4).for_each(|i| tx.send(i).unwrap());
    /// let mut alt = occamy::Alt::new();
    /// let input = alt.recv(&rx);
    /// let skip = alt.skip();
    /// // Both guards stay ready: a reused fair alt takes them in turn.
    /// let first = alt.select().index();
    /// let second = alt.select().index();
    /// assert_ne!(first, second);
    /// assert!([first, second].contains(&skip) && input == first.min(second));
    /// ```
    pub fn new() -> Alt {
        let (guards, cores) = SPARE.with(|s| s.take()).unwrap_or_default();
        Alt {
            guards,
            cores,
            fair: true,
            next: None,
            holding: None,
            enqueued: Vec::new(),
            earliest: None,
            started: None,
            remote: false,
        }
    }

    /// An empty alt with priority choice: the first ready guard in written order wins
    /// (occam's `PRI ALT`), and a blocked alt enrols its guards in written order too.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::buffered::<u8>(1);
    /// tx.send(1).unwrap();
    /// let mut alt = occamy::Alt::priority();
    /// let input = alt.recv(&rx);
    /// alt.skip();
    /// assert_eq!(alt.select().index(), input); // ready, and written first
    /// ```
    pub fn priority() -> Alt {
        let mut alt = Alt::new();
        alt.fair = false;
        alt
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
        self.guards.push(Guard {
            enabled,
            kind,
            order: 0,
        });
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

    /// The typed op of channel guard `index` on channel `chan`, if it is one of type `O`.
    fn op_mut<O: 'static>(&mut self, index: usize, chan: u64) -> Option<&mut O> {
        match &mut self.guards.get_mut(index)?.kind {
            Kind::Chan { op, .. } if op.core().id == chan => op.as_any_mut().downcast_mut(),
            _ => None,
        }
    }

    /// Adds an input guard on `rx`; returns its handle, with which [`Selected::recv`]
    /// takes the value received.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::buffered::<char>(1);
    /// tx.send('x').unwrap();
    /// let mut alt = occamy::Alt::new();
    /// let input = alt.recv(&rx);
    /// assert_eq!(alt.select().recv(input), Some(Ok('x')));
    /// ```
    pub fn recv<T: Send + 'static>(&mut self, rx: &Receiver<T>) -> RecvGuard<T> {
        self.recv_if(true, rx)
    }

    /// Adds an input guard on `rx` with a precondition: while `enabled` is false the guard
    /// is ignored.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::buffered::<u8>(1);
    /// tx.send(1).unwrap();
    /// let mut alt = occamy::Alt::new();
    /// alt.recv_if(false, &rx);
    /// let skip = alt.skip();
    /// assert_eq!(alt.select().index(), skip); // the input is ready, but disabled
    /// ```
    pub fn recv_if<T: Send + 'static>(&mut self, enabled: bool, rx: &Receiver<T>) -> RecvGuard<T> {
        rx.touch();
        let op = RecvOp::<T> {
            core: rx.core.clone(),
            waiting: None,
            got: None,
        };
        RecvGuard::new(self.push_chan(enabled, &rx.core, Box::new(op)), rx.core.id)
    }

    /// Adds an output guard offering `value` on `tx`; returns its handle. The value is
    /// taken only if this guard is chosen; until then it stays in the alt, and
    /// [`take_back`](Alt::take_back) returns it. Once sent, the guard is idle until
    /// [`offer`](Alt::offer) gives it a new value.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::buffered::<u8>(1);
    /// let mut alt = occamy::Alt::new();
    /// let out = alt.send(&tx, 7);
    /// assert_eq!(alt.select().sent(out), Some(Ok(())));
    /// assert_eq!(rx.recv(), Ok(7));
    /// ```
    pub fn send<T: Send + 'static>(&mut self, tx: &Sender<T>, value: T) -> SendGuard<T> {
        self.send_if(true, tx, value)
    }

    /// [`send`](Alt::send) with a precondition.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::buffered::<u8>(1);
    /// let mut alt = occamy::Alt::new();
    /// let out = alt.send_if(false, &tx, 7);
    /// assert_eq!(alt.select().event(), occamy::Event::Exhausted);
    /// assert_eq!(alt.take_back(out), Some(7)); // never offered
    /// ```
    pub fn send_if<T: Send + 'static>(
        &mut self,
        enabled: bool,
        tx: &Sender<T>,
        value: T,
    ) -> SendGuard<T> {
        self.send_opt(enabled, tx, Some(value))
    }

    /// An output guard, idle if `value` is `None` (for `alt!`'s `send_from` arms).
    #[doc(hidden)]
    pub fn __send_opt<T: Send + 'static>(
        &mut self,
        enabled: bool,
        tx: &Sender<T>,
        value: Option<T>,
    ) -> SendGuard<T> {
        self.send_opt(enabled, tx, value)
    }

    fn send_opt<T: Send + 'static>(
        &mut self,
        enabled: bool,
        tx: &Sender<T>,
        value: Option<T>,
    ) -> SendGuard<T> {
        tx.touch();
        let op = SendOp::<T> {
            core: tx.core.clone(),
            value,
            waiting: None,
        };
        SendGuard::new(self.push_chan(enabled, &tx.core, Box::new(op)), tx.core.id)
    }

    /// Adds a timeout guard, ready once `after` has passed since the select began; returns
    /// its index.
    ///
    /// # Examples
    /// ```
    /// let (_tx, rx) = occamy::channel::<u8>();
    /// let mut alt = occamy::Alt::new();
    /// alt.recv(&rx);
    /// let t = alt.timeout(std::time::Duration::from_millis(1));
    /// assert!(alt.select().index() == t);
    /// ```
    pub fn timeout(&mut self, after: Duration) -> usize {
        self.push(true, Kind::Timeout(after))
    }

    /// [`timeout`](Alt::timeout) with a precondition.
    ///
    /// # Examples
    /// ```
    /// let mut alt = occamy::Alt::new();
    /// alt.timeout_if(false, std::time::Duration::ZERO);
    /// assert_eq!(alt.select().event(), occamy::Event::Exhausted);
    /// ```
    pub fn timeout_if(&mut self, enabled: bool, after: Duration) -> usize {
        self.push(enabled, Kind::Timeout(after))
    }

    /// Adds a timeout guard ready at an absolute time (occam `tim ? AFTER t`); returns its
    /// index.
    ///
    /// # Examples
    /// ```
    /// let mut alt = occamy::Alt::new();
    /// let d = alt.deadline(std::time::Instant::now()); // already passed: ready at once
    /// assert!(alt.select().is_timeout());
    /// ```
    pub fn deadline(&mut self, at: Instant) -> usize {
        self.push(true, Kind::Deadline(at))
    }

    /// [`deadline`](Alt::deadline) with a precondition.
    ///
    /// # Examples
    /// ```
    /// let mut alt = occamy::Alt::new();
    /// alt.deadline_if(false, std::time::Instant::now());
    /// assert_eq!(alt.select().event(), occamy::Event::Exhausted);
    /// ```
    pub fn deadline_if(&mut self, enabled: bool, at: Instant) -> usize {
        self.push(enabled, Kind::Deadline(at))
    }

    /// Adds a skip guard: always ready (occam `SKIP` guard, JCSP `Skip`); returns its
    /// index.
    ///
    /// # Examples
    /// ```
    /// let mut alt = occamy::Alt::new();
    /// let s = alt.skip();
    /// assert_eq!(alt.select().event(), occamy::Event::Skip);
    /// ```
    pub fn skip(&mut self) -> usize {
        self.push(true, Kind::Skip)
    }

    /// [`skip`](Alt::skip) with a precondition.
    ///
    /// # Examples
    /// ```
    /// let mut alt = occamy::Alt::new();
    /// alt.skip_if(false);
    /// assert_eq!(alt.select().event(), occamy::Event::Exhausted);
    /// ```
    pub fn skip_if(&mut self, enabled: bool) -> usize {
        self.push(enabled, Kind::Skip)
    }

    /// Enables or disables guard `index` (its precondition) for later selects; an index
    /// this alt has no guard at is ignored.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::buffered::<u8>(1);
    /// tx.send(1).unwrap();
    /// let mut alt = occamy::Alt::priority();
    /// let input = alt.recv(&rx);
    /// let skip = alt.skip();
    /// alt.set_enabled(input.index(), false);
    /// assert_eq!(alt.select().index(), skip);
    /// ```
    pub fn set_enabled(&mut self, index: usize, enabled: bool) {
        if let Some(g) = self.guards.get_mut(index) {
            g.enabled = enabled;
        }
    }

    /// Gives output guard `guard` a value to offer again; returns the value back if the
    /// guard still holds one (or is not a guard of this alt).
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::buffered::<u8>(2);
    /// let mut alt = occamy::Alt::new();
    /// let out = alt.send(&tx, 1);
    /// assert_eq!(alt.offer(out, 2), Err(2)); // 1 is not sent yet
    /// alt.select();
    /// assert_eq!(alt.offer(out, 2), Ok(()));
    /// alt.select();
    /// assert_eq!(rx.iter().take(2).collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn offer<T: Send + 'static>(&mut self, guard: SendGuard<T>, value: T) -> Result<(), T> {
        match self.op_mut::<SendOp<T>>(guard.index, guard.chan) {
            Some(op) if op.value.is_none() => {
                op.value = Some(value);
                Ok(())
            }
            _ => Err(value),
        }
    }

    /// Takes back the value of output guard `guard` if it has not been sent (after a
    /// select that chose another guard, or found the channel poisoned or retired). The
    /// guard is idle until [`offer`](Alt::offer)ed a value again.
    ///
    /// # Examples
    /// ```
    /// let (tx, _rx) = occamy::channel::<String>();
    /// let mut alt = occamy::Alt::new();
    /// let out = alt.send(&tx, "kept".to_string());
    /// alt.skip();
    /// alt.select(); // no reader: the skip is chosen
    /// assert_eq!(alt.take_back(out).as_deref(), Some("kept"));
    /// ```
    pub fn take_back<T: Send + 'static>(&mut self, guard: SendGuard<T>) -> Option<T> {
        self.op_mut::<SendOp<T>>(guard.index, guard.chan)?
            .value
            .take()
    }

    /// Waits until one guard is ready, completes it, and says which and what happened. The
    /// guards are tried, and enrolled if none is ready, in the alt's choice order (see the
    /// module docs).
    ///
    /// # Blocking
    /// Blocks until an enabled guard can complete: a writer offers on an input guard's
    /// channel, a reader waits on an output guard's channel, a timeout guard's deadline
    /// passes; a ready skip guard or timeout never blocks. If any enabled guard's channel is
    /// or becomes poisoned, returns at once with [`Event::Poisoned`] for that guard; a
    /// channel that retires gives [`Event::Retired`] and disables its guard. With no guard
    /// enabled (none added, every precondition false, every output guard's value sent),
    /// returns [`Event::Exhausted`] at once instead of waiting for ever (occam's `ALT`
    /// would deadlock); [`alt!`](crate::alt!) runs its `exhausted` arm then.
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
    pub fn select(&mut self) -> Selected<'_> {
        let mut begun = self.begin(None);
        let (index, event) = loop {
            match begun {
                Begun::Done(index, event) => break (index, event),
                Begun::Waiting(sig) => {
                    let on = self.recorded_waits();
                    let deadline = self.earliest.map(|(_, d)| d);
                    let drive = self.remote.then_some(deadline);
                    let outcome = sig.block(deadline, drive.is_none(), |sleep| {
                        context::park(&on, Some(&sig), drive, sleep)
                    });
                    if let Outcome::Retry(_) = outcome {
                        self.retry(&sig);
                        begun = self.begin_again(None);
                        continue;
                    }
                    break self.finish(&sig, outcome);
                }
            }
        };
        Selected {
            alt: self,
            index,
            event,
        }
    }

    /// The async form of [`select`](Alt::select).
    ///
    /// # Cancel safety
    /// Dropping the future deregisters the alt from every channel; a value that had
    /// already landed in one of its input guards goes back to the front of that channel,
    /// and unsent output values stay in the alt.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::buffered::<u8>(1);
    /// tx.send(4).unwrap();
    /// let mut alt = occamy::Alt::new();
    /// let input = alt.recv(&rx);
    /// let mut sel = futures::executor::block_on(alt.select_async());
    /// assert_eq!(sel.recv(input), Some(Ok(4)));
    /// ```
    pub fn select_async(&mut self) -> SelectFuture<'_> {
        SelectFuture::new(self)
    }

    /// What a blocked select records with the process: its timeout, if it has one (its
    /// channel guards are found by the signal's owner in the channels' queues), and for a
    /// recording, its channel guards too.
    pub(crate) fn recorded_waits(&self) -> std::borrow::Cow<'static, [WaitOn]> {
        if !crate::runtime::recorder::on() {
            return std::borrow::Cow::Borrowed(if self.earliest.is_some() {
                &[WaitOn::Timer]
            } else {
                &[]
            });
        }
        let mut on: Vec<WaitOn> = self
            .enqueued
            .iter()
            .filter_map(|&i| match &self.guards[i].kind {
                Kind::Chan { op, .. } => Some(WaitOn::Channel {
                    id: op.core().id,
                    dir: op.dir(),
                }),
                _ => None,
            })
            .collect();
        if self.earliest.is_some() {
            on.push(WaitOn::Timer);
        }
        std::borrow::Cow::Owned(on)
    }
}
