//! What a select hands back: the chosen guard's [`Event`], and the typed outcome of an input
//! or output guard, taken with the guard's handle ([`RecvGuard`], [`SendGuard`]) or by its
//! channel end. The types come from the handles and ends, so they cannot be got wrong.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use super::ops::{RecvOp, SendOp};
use super::Alt;
use crate::channel::Receiver;
use crate::error::{RecvError, SendError};

/// What happened to the guard an alt chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// An input guard received a value: take it with [`Selected::recv`] or
    /// [`Selected::recv_on`].
    Received,
    /// An output guard's value was taken by a reader.
    Sent,
    /// A timeout guard's deadline passed first.
    Timeout,
    /// A skip guard was chosen.
    Skip,
    /// The guard's channel is poisoned.
    Poisoned,
    /// The guard's channel retired (no writers left for an input, no readers for an
    /// output). The guard is disabled from then on, so a merge can drop it.
    Retired,
    /// No guard is enabled: nothing could ever be chosen. The index is `usize::MAX`.
    Exhausted,
}

/// The handle of an input guard, returned by [`Alt::recv`]: its index, and the type of the
/// values it receives, with which [`Selected::recv`] hands them out.
///
/// # Examples
/// ```
/// let (tx, rx) = occamy::buffered::<u32>(1);
/// tx.send(5).unwrap();
/// let mut alt = occamy::Alt::new();
/// let input = alt.recv(&rx);
/// let mut sel = alt.select();
/// assert_eq!(sel.index(), input); // an index compares with a handle
/// assert_eq!(sel.recv(input), Some(Ok(5)));
/// ```
pub struct RecvGuard<T> {
    pub(super) index: usize,
    /// The channel's id: a handle of another alt finds no guard of its own here.
    pub(super) chan: u64,
    _t: PhantomData<fn() -> T>,
}

/// The handle of an output guard, returned by [`Alt::send`]: its index, and the type of the
/// value it offers, with which [`Alt::offer`], [`Alt::take_back`] and [`Selected::sent`]
/// handle it.
///
/// # Examples
/// ```
/// let (tx, rx) = occamy::buffered::<&str>(1);
/// let mut alt = occamy::Alt::new();
/// let out = alt.send(&tx, "hi");
/// let mut sel = alt.select();
/// assert_eq!(sel.index(), out);
/// assert_eq!(sel.sent(out), Some(Ok(())));
/// assert_eq!(rx.recv(), Ok("hi"));
/// ```
pub struct SendGuard<T> {
    pub(super) index: usize,
    pub(super) chan: u64,
    _t: PhantomData<fn(T)>,
}

macro_rules! guard_handle {
    ($name:ident) => {
        impl<T> $name<T> {
            pub(super) fn new(index: usize, chan: u64) -> Self {
                $name {
                    index,
                    chan,
                    _t: PhantomData,
                }
            }

            /// The guard's index in its alt (what [`Selected::index`] returns when it is
            /// chosen, and what [`Alt::set_enabled`] takes).
            pub fn index(&self) -> usize {
                self.index
            }
        }

        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<T> Copy for $name<T> {}

        impl<T> PartialEq for $name<T> {
            fn eq(&self, other: &Self) -> bool {
                (self.index, self.chan) == (other.index, other.chan)
            }
        }

        impl<T> Eq for $name<T> {}

        impl<T> Hash for $name<T> {
            fn hash<H: Hasher>(&self, state: &mut H) {
                (self.index, self.chan).hash(state)
            }
        }

        impl<T> PartialEq<usize> for $name<T> {
            fn eq(&self, index: &usize) -> bool {
                self.index == *index
            }
        }

        impl<T> PartialEq<$name<T>> for usize {
            fn eq(&self, guard: &$name<T>) -> bool {
                *self == guard.index
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.index)
            }
        }
    };
}

guard_handle!(RecvGuard);
guard_handle!(SendGuard);

/// The result of a select: which guard was chosen, what happened, and (for an input guard)
/// the value, taken with [`recv`](Selected::recv) or [`recv_on`](Selected::recv_on).
///
/// It borrows its alt, which holds the received value until it is taken. A value not
/// taken is dropped at the alt's next select, or with the alt.
pub struct Selected<'a> {
    pub(super) alt: &'a mut Alt,
    pub(super) index: usize,
    pub(super) event: Event,
}

impl fmt::Debug for Selected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selected")
            .field("index", &self.index)
            .field("event", &self.event)
            .finish()
    }
}

impl Selected<'_> {
    /// The index of the chosen guard, as returned when it was added (`usize::MAX` with
    /// [`Event::Exhausted`]). It compares equal to the guard's handle.
    pub fn index(&self) -> usize {
        self.index
    }

    /// What happened.
    pub fn event(&self) -> Event {
        self.event
    }

    /// The outcome of input guard `guard` if it is the chosen one: the value received (once:
    /// a second call gives `None`), or why its channel ended. `None` if another guard was
    /// chosen (or `guard` belongs to another alt).
    ///
    /// # Examples
    /// ```
    /// let (tx1, rx1) = occamy::buffered::<u8>(1);
    /// let (_tx2, rx2) = occamy::channel::<String>();
    /// tx1.send(3).unwrap();
    /// let mut alt = occamy::Alt::new();
    /// let (small, text) = (alt.recv(&rx1), alt.recv(&rx2));
    /// let mut sel = alt.select();
    /// if let Some(s) = sel.recv(text) {
    ///     panic!("nothing was sent on rx2: {s:?}");
    /// } else if let Some(v) = sel.recv(small) {
    ///     assert_eq!(v, Ok(3u8));
    /// }
    /// ```
    pub fn recv<T: Send + 'static>(&mut self, guard: RecvGuard<T>) -> Option<Result<T, RecvError>> {
        if guard.index != self.index {
            return None;
        }
        let op = self.alt.op_mut::<RecvOp<T>>(guard.index, guard.chan)?;
        match self.event {
            Event::Received => op.got.take().map(Ok),
            Event::Poisoned => Some(Err(RecvError::Poisoned)),
            Event::Retired => Some(Err(RecvError::Retired)),
            _ => None,
        }
    }

    /// As [`recv`](Selected::recv), naming the guard by its channel: the outcome if the
    /// chosen guard is an input on `rx`'s channel.
    ///
    /// # Examples
    /// A merge of inputs that ends when all of them have retired:
    /// ```
    /// let (tx, rx) = occamy::buffered::<i32>(2);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// let rxs = [rx];
    /// let mut alt = occamy::Alt::new();
    /// rxs.iter().for_each(|rx| _ = alt.recv(rx));
    /// let mut got = Vec::new();
    /// loop {
    ///     let mut sel = alt.select();
    ///     match sel.event() {
    ///         occamy::Event::Exhausted => break,
    ///         occamy::Event::Received => got.push(sel.recv_on(&rxs[sel.index()])),
    ///         _ => {} // retired: that input's guard is disabled from now on
    ///     }
    /// }
    /// assert_eq!(got, [Some(Ok(1))]);
    /// ```
    pub fn recv_on<T: Send + 'static>(&mut self, rx: &Receiver<T>) -> Option<Result<T, RecvError>> {
        self.recv(RecvGuard::new(self.index, rx.core.id))
    }

    /// The outcome of output guard `guard` if it is the chosen one, in the shape of
    /// [`Sender::send`](crate::Sender::send)'s result: `Ok` once sent; if its channel is
    /// poisoned or retired, the error with the unsent value (once: a second call gives
    /// `None`). `None` if another guard was chosen.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::channel::<String>();
    /// drop(rx);
    /// let mut alt = occamy::Alt::new();
    /// let out = alt.send(&tx, "unsent".to_string());
    /// let mut sel = alt.select();
    /// match sel.sent(out) {
    ///     Some(Err(occamy::SendError::Retired(v))) => assert_eq!(v, "unsent"),
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn sent<T: Send + 'static>(
        &mut self,
        guard: SendGuard<T>,
    ) -> Option<Result<(), SendError<T>>> {
        if guard.index != self.index {
            return None;
        }
        let op = self.alt.op_mut::<SendOp<T>>(guard.index, guard.chan)?;
        match self.event {
            Event::Sent => Some(Ok(())),
            Event::Poisoned => op.value.take().map(|v| Err(SendError::Poisoned(v))),
            Event::Retired => op.value.take().map(|v| Err(SendError::Retired(v))),
            _ => None,
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

/// The chosen input arm's outcome, for [`alt!`](crate::alt!).
#[doc(hidden)]
pub fn __recv_of<T: Send + 'static>(
    sel: &mut Selected<'_>,
    g: RecvGuard<T>,
) -> Result<T, RecvError> {
    sel.recv(g).unwrap_or_else(|| {
        unreachable!(
            "occamy: alt! chose input guard {} but has no outcome",
            g.index
        )
    })
}

/// The chosen output arm's outcome, for [`alt!`](crate::alt!).
#[doc(hidden)]
pub fn __sent_of<T: Send + 'static>(
    sel: &mut Selected<'_>,
    g: SendGuard<T>,
) -> Result<(), SendError<T>> {
    sel.sent(g).unwrap_or_else(|| {
        unreachable!(
            "occamy: alt! chose output guard {} but has no outcome",
            g.index
        )
    })
}
