//! Bridges to crossbeam-channel: blocking processes, each on an OS thread of its own.
//!
//! A crossbeam wait cannot include an occamy channel, so the bridge waits on one more
//! crossbeam channel, `stop`, with the crossbeam operation: a watcher registered with
//! the occamy channel (`channel/watch.rs`) puts a token on `stop` when that channel may
//! have closed, and the bridge looks again.

use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use crossbeam_channel as cb;

use super::{send_end, Undelivered};
use crate::channel::{Receiver, Sender};
use crate::error::RecvError;
use crate::runtime::{Error, Process};

/// Puts a token on the bridge's `stop` channel.
struct Stop(cb::Sender<()>);

impl Wake for Stop {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Full: a token is already there, which is all the bridge needs.
        let _ = self.0.try_send(());
    }
}

/// A thread's watch on an occamy channel closing: `closed` is the condition's future,
/// polled with a waker that puts a token on the `stop` channel that `new` returns.
struct Watch<F> {
    closed: F,
    waker: Waker,
}

impl<F: std::future::Future<Output = ()> + Unpin> Watch<F> {
    fn new(closed: F) -> (Self, cb::Receiver<()>) {
        let (tx, stop) = cb::bounded(1);
        let watch = Watch {
            closed,
            waker: Waker::from(Arc::new(Stop(tx))),
        };
        (watch, stop)
    }

    /// Whether the channel has closed; if not, a closing from now on signals `stop`.
    fn is_closed(&mut self) -> bool {
        let mut cx = Context::from_waker(&self.waker);
        std::pin::Pin::new(&mut self.closed)
            .poll(&mut cx)
            .is_ready()
    }
}

/// A bridge from a crossbeam channel into an occamy one: it receives each value from
/// `from` and sends it on `to`. It ends normally when `from` is disconnected (every
/// crossbeam sender has gone), which retires `to`; it ends when `to` is poisoned or its
/// readers have all gone, dropping `from` so that crossbeam senders see the channel
/// disconnected. A value it took from `from` and could not send on `to`, and the values
/// left in `from`'s buffer then, go to the returned [`Undelivered`] (see the
/// [module docs](super)). The process, named `name`, blocks in crossbeam's calls: it
/// keeps an OS thread of its own.
///
/// # Examples
/// Existing threaded code sends into a network over crossbeam:
/// ```
/// use occamy::{bridge, par, Process};
/// let (cb_tx, cb_rx) = crossbeam_channel::unbounded::<String>();
/// let (tx, rx) = occamy::channel::<String>();
/// let (bridge, _back) = bridge::from_crossbeam("lines", cb_rx, tx);
/// let producer = std::thread::spawn(move || {
///     for line in ["one", "two"] {
///         cb_tx.send(line.to_string()).unwrap();
///     }
///     // dropping cb_tx disconnects the channel: the network's input retires
/// });
/// par([
///     bridge,
///     Process::with("print", rx, |rx| -> occamy::Result {
///         for line in rx.values() {
///             println!("{}", line?);
///         }
///         Ok(())
///     }),
/// ])
/// .unwrap();
/// producer.join().unwrap();
/// ```
pub fn from_crossbeam<T: Send + 'static>(
    name: impl Into<String>,
    from: cb::Receiver<T>,
    to: Sender<T>,
) -> (Process, Undelivered<T>) {
    let back = Undelivered::new();
    let undelivered = back.clone();
    let process = Process::with(name, to, move |to| -> crate::Result {
        let (mut watch, stop) = Watch::new(to.until_closed());
        let mut why = Error::Retired;
        while !watch.is_closed() {
            cb::select! {
                recv(from) -> got => match got {
                    Ok(v) => {
                        if let Err(e) = to.send(v) {
                            why = send_end(&e);
                            back.put(e.into_inner());
                            break;
                        }
                    }
                    Err(cb::RecvError) => return Ok(()),
                },
                recv(stop) -> _ => {}
            }
        }
        if to.is_poisoned() {
            why = Error::Poisoned;
        }
        drop(watch);
        // What `from` holds now would go with it: give it back instead. Only so many:
        // senders still sending would keep this going for ever.
        for _ in 0..from.len() {
            match from.try_recv() {
                Ok(v) => back.put(v),
                Err(_) => break,
            }
        }
        Err(why)
    });
    (process, undelivered)
}

/// A bridge from an occamy channel out to a crossbeam one: it receives each value from
/// `from` and sends it on `to`. It ends normally when `from` retires (every occamy writer
/// has gone), dropping `to` so that crossbeam receivers see the channel disconnected once
/// they have taken what was sent; it ends with [`Error::Poisoned`] when `from` is poisoned
/// (even while it waits for a crossbeam receiver to take a value), and with
/// [`Error::Retired`] when `to` is disconnected (every crossbeam receiver has gone), which
/// retires its occamy reader. A value it took from `from` and could not send on `to`, and
/// then the values left in `from`'s buffer if it was `from`'s only reader, go to the
/// returned [`Undelivered`] (see the [module docs](super)). The process, named `name`,
/// blocks in crossbeam's calls: it keeps an OS thread of its own.
///
/// # Examples
/// A network's results read by plain threads over crossbeam:
/// ```
/// use occamy::{bridge, par, Process};
/// let (cb_tx, cb_rx) = crossbeam_channel::bounded::<u64>(16);
/// let (tx, rx) = occamy::channel::<u64>();
/// let (bridge, _back) = bridge::to_crossbeam("squares", rx, cb_tx);
/// par([
///     Process::with("squares", tx, |tx| -> occamy::Result {
///         for i in 1..=4 {
///             tx.send(i * i)?;
///         }
///         Ok(())
///     }),
///     bridge,
/// ])
/// .unwrap();
/// assert_eq!(cb_rx.iter().collect::<Vec<_>>(), [1, 4, 9, 16]);
/// ```
pub fn to_crossbeam<T: Send + 'static>(
    name: impl Into<String>,
    from: Receiver<T>,
    to: cb::Sender<T>,
) -> (Process, Undelivered<T>) {
    let back = Undelivered::new();
    let undelivered = back.clone();
    let process = Process::with(name, from, move |from| -> crate::Result {
        let (mut watch, stop) = Watch::new(from.until_poisoned());
        'values: loop {
            let v = match from.recv() {
                Ok(v) => v,
                Err(RecvError::Retired) => return Ok(()),
                Err(RecvError::Poisoned) => return Err(Error::Poisoned),
            };
            let v = match to.try_send(v) {
                Ok(()) => continue,
                Err(cb::TrySendError::Disconnected(v)) => {
                    back.put(v);
                    break;
                }
                Err(cb::TrySendError::Full(v)) => v,
            };
            // No receiver ready: wait for one, or for poison. `v` is handed over only to
            // a send that is selected, so it is never lost in between.
            let mut sel = cb::Select::new();
            let send = sel.send(&to);
            sel.recv(&stop);
            loop {
                if watch.is_closed() {
                    back.put(v);
                    return Err(Error::Poisoned);
                }
                let op = sel.select();
                if op.index() == send {
                    match op.send(&to, v) {
                        Ok(()) => continue 'values,
                        Err(cb::SendError(v)) => {
                            back.put(v);
                            break 'values;
                        }
                    }
                }
                let _ = op.recv(&stop);
            }
        }
        // Every crossbeam receiver has gone. What `from`'s buffer holds would go with
        // the channel once this reader goes: give it back, unless another reader may
        // take it.
        for v in from.drain_if_last() {
            back.put(v);
        }
        Err(Error::Retired)
    });
    (process, undelivered)
}
