//! Bridges between occamy channels and the channels of
//! [crossbeam-channel](https://docs.rs/crossbeam-channel/0.5) and
//! [flume](https://docs.rs/flume/0.12), in either direction, so that threaded code
//! (crossbeam) and async code (flume's async side, under tokio or any other executor) can
//! feed a process network and drain it. Needs the cargo feature `bridge` (off by default:
//! only a program that already has such channels wants these crates).
//!
//! | function | from | to | the bridge is |
//! |---|---|---|---|
//! | [`from_crossbeam`] | `crossbeam_channel::Receiver<T>` | [`Sender<T>`] | a blocking process (an OS thread) |
//! | [`to_crossbeam`] | [`Receiver<T>`] | `crossbeam_channel::Sender<T>` | a blocking process (an OS thread) |
//! | [`from_flume`] | `flume::Receiver<T>` | [`Sender<T>`] | an async process (a green task) |
//! | [`to_flume`] | [`Receiver<T>`] | `flume::Sender<T>` | an async process (a green task) |
//!
//! # A bridge is a process
//! Each function returns a [`Process`] that moves values from one channel to the other,
//! and an [`Undelivered`] handle. Run the process with the rest of the network (`par`,
//! [`Runtime::run`](crate::Runtime::run), [`spawn`](crate::spawn)): it is listed by
//! [`processes()`](crate::processes) under the name given, it holds its occamy end (the
//! graph of what ran shows it), and it ends like any process. The crossbeam bridges block
//! in crossbeam's calls, so they keep an OS thread of their own under either scheduler;
//! the flume bridges await flume's futures and run as green tasks.
//!
//! The deadlock monitor sees a bridge as running while it waits on the other library: a
//! thread or task outside occamy may send or receive at any moment. So a network that
//! waits for input from a bridge whose other side is idle is never reported. While a
//! bridge waits on its occamy channel, it is judged like any other process: a bridge
//! stuck sending to a reader that is itself deadlocked is part of the deadlock.
//!
//! # How the two sides end
//! - The other library's *disconnection* (every sender gone, for `from_`; every
//!   receiver gone, for `to_`) is occamy's *retirement*: `from_` bridges end normally and
//!   so retire their occamy writer (readers get [`RecvError::Retired`](crate::RecvError)
//!   once the values before it are taken); `to_` bridges end with [`Error::Retired`] and
//!   so retire their occamy reader (writers get `SendError::Retired(value)`, their value
//!   back).
//! - occamy's *poison*, and the retirement of the occamy side, *disconnect* the other
//!   library's channel: the bridge ends (with [`Error::Poisoned`] or [`Error::Retired`])
//!   and drops its crossbeam or flume end, so the other side's senders get
//!   `SendError(value)` back, or its receivers see `Disconnected` once they have taken
//!   what was sent before. A bridge notices this while it waits on the other library,
//!   not only at its next value.
//!
//! # No value is lost at shutdown
//! A value a bridge took from one side is delivered to the other or given back: it goes
//! to the bridge's [`Undelivered`], in order. So do the values left in the buffer of the
//! channel the bridge reads from, when it ends because the other side went away and no
//! one else can read them:
//! - for a `to_` bridge, what the occamy channel holds, when the bridge is its only
//!   reader. It takes them and closes the buffer in one step, so every value is accounted
//!   for: a writer still sending waits, and gets its value back in `SendError::Retired`
//!   when the bridge has gone;
//! - for a `from_` bridge, what the crossbeam channel holds (always: crossbeam cannot say
//!   whether other receivers share it) or the flume channel holds (when the bridge is its
//!   only receiver), as many as it held at that moment. A crossbeam or flume sender that
//!   puts a value in the buffer after that moment, before the bridge has let go of the
//!   channel, loses it with the channel, as happens to the buffer of any crossbeam or
//!   flume channel whose last receiver goes; senders blocked on a full buffer get theirs
//!   back in the send's error.
//!
//! One exception, flume's: when a `to_flume` bridge is waiting to send on a full (or
//! rendezvous) flume channel and its occamy channel is poisoned, the value it offered is
//! dropped, because a pending flume send cannot be taken back (flume's
//! `SendFut` has no way to return its value); a crossbeam bridge gives it back, and an
//! unbounded flume channel never leaves a send pending.
//!
//! # Examples
//! A thread with crossbeam channels feeds a network that doubles each value, and reads
//! the results back:
//! ```
//! use occamy::{bridge, par, Process};
//! let (cb_in_tx, cb_in_rx) = crossbeam_channel::bounded::<u32>(0);
//! let (cb_out_tx, cb_out_rx) = crossbeam_channel::bounded::<u32>(0);
//! let (in_tx, in_rx) = occamy::channel::<u32>();
//! let (out_tx, out_rx) = occamy::channel::<u32>();
//! let (bridge_in, back_in) = bridge::from_crossbeam("requests", cb_in_rx, in_tx);
//! let (bridge_out, back_out) = bridge::to_crossbeam("answers", out_rx, cb_out_tx);
//! let network = std::thread::spawn(move || {
//!     par([
//!         bridge_in,
//!         Process::with("double", (in_rx, out_tx), |(rx, tx)| -> occamy::Result {
//!             for v in rx.values() {
//!                 tx.send(v? * 2)?;
//!             }
//!             Ok(())
//!         }),
//!         bridge_out,
//!     ])
//! });
//! for v in 1..=3 {
//!     cb_in_tx.send(v).unwrap();
//!     assert_eq!(cb_out_rx.recv(), Ok(v * 2));
//! }
//! drop(cb_in_tx); // disconnection: the network retires, and so does `answers`
//! assert!(cb_out_rx.recv().is_err());
//! network.join().unwrap().unwrap();
//! assert!(back_in.is_empty() && back_out.is_empty());
//! ```

mod crossbeam;
mod flume;

pub use self::crossbeam::{from_crossbeam, to_crossbeam};
pub use self::flume::{from_flume, to_flume};

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::SendError;
use crate::runtime::Error;
#[cfg(doc)]
use crate::{Process, Receiver, Sender};

/// How a bridge ends after its occamy send failed with `e`.
fn send_end<T>(e: &SendError<T>) -> Error {
    match e {
        SendError::Poisoned(_) => Error::Poisoned,
        SendError::Retired(_) => Error::Retired,
    }
}

/// The values a bridge took from one side and could not deliver to the other, and those
/// left in its input's buffer when it ended because the other side went away (see the
/// [module docs](self)). The bridge puts them here before its process ends, so once the
/// `par` (or join) that ran it has returned, [`take`](Undelivered::take) has them all.
///
/// # Examples
/// A network that takes one value and retires: the two values still in the crossbeam
/// channel's buffer are given back.
/// ```
/// use occamy::{bridge, par, Process};
/// let (cb_tx, cb_rx) = crossbeam_channel::bounded::<u8>(3);
/// for v in 1..=3 {
///     cb_tx.send(v).unwrap();
/// }
/// let (tx, rx) = occamy::channel::<u8>();
/// let (bridge, back) = bridge::from_crossbeam("in", cb_rx, tx);
/// par([bridge, Process::with("one", rx, |rx| assert_eq!(rx.recv(), Ok(1)))]).unwrap();
/// assert_eq!(back.take(), [2, 3]);
/// assert!(cb_tx.send(4).is_err()); // the bridge has gone: disconnected
/// ```
pub struct Undelivered<T> {
    values: Arc<Mutex<Vec<T>>>,
}

impl<T> Undelivered<T> {
    fn new() -> Undelivered<T> {
        Undelivered {
            values: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn put(&self, v: T) {
        self.values
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(v);
    }

    /// Takes the values given back so far, oldest first.
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.values.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// How many values it holds.
    pub fn len(&self) -> usize {
        self.values
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Clone for Undelivered<T> {
    fn clone(&self) -> Self {
        Undelivered {
            values: self.values.clone(),
        }
    }
}

impl<T> fmt::Debug for Undelivered<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Undelivered({} values)", self.len())
    }
}
