//! Bridges to flume: async processes (green tasks) on flume's async side, so that no
//! worker thread blocks in flume. Each wait on flume is raced against the occamy channel
//! closing (`channel/watch.rs`), so that poison reaches a bridge waiting on flume.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use super::{send_end, Undelivered};
use crate::channel::{Receiver, Sender};
use crate::error::RecvError;
use crate::runtime::{Error, Process};

/// A bridge from a flume channel into an occamy one: it receives each value from `from`
/// and sends it on `to`. It ends normally when `from` is disconnected (every flume sender
/// has gone), which retires `to`; it ends when `to` is poisoned or its readers have all
/// gone, dropping `from` so that flume senders see the channel disconnected. A value it
/// took from `from` and could not send on `to`, and then the values left in `from`'s
/// buffer if it was `from`'s only receiver, go to the returned [`Undelivered`] (see the
/// [module docs](super)). The process, named `name`, is async: a green task.
///
/// # Examples
/// Async code (here a plain executor; tokio works the same) sends into a network:
/// ```
/// use occamy::{bridge, par, Process};
/// let (fl_tx, fl_rx) = flume::bounded::<u32>(0);
/// let (tx, rx) = occamy::channel::<u32>();
/// let (bridge, _back) = bridge::from_flume("requests", fl_rx, tx);
/// let client = std::thread::spawn(move || {
///     futures::executor::block_on(async move {
///         for v in 1..=3 {
///             fl_tx.send_async(v).await.unwrap();
///         }
///     })
/// });
/// par([
///     bridge,
///     Process::with("sum", rx, |rx| assert_eq!(rx.iter().sum::<u32>(), 6)),
/// ])
/// .unwrap();
/// client.join().unwrap();
/// ```
pub fn from_flume<T: Send + 'static>(
    name: impl Into<String>,
    from: flume::Receiver<T>,
    to: Sender<T>,
) -> (Process, Undelivered<T>) {
    let back = Undelivered::new();
    let undelivered = back.clone();
    let process = Process::with_async(name, to, move |to| async move {
        let mut why = Error::Retired;
        loop {
            let got = {
                let mut closed = to.until_closed();
                let mut recv = from.recv_async();
                poll_fn(|cx| {
                    // Closing first: a value that is there too stays in `from` and is
                    // given back below.
                    if Pin::new(&mut closed).poll(cx).is_ready() {
                        return Poll::Ready(None);
                    }
                    Pin::new(&mut recv).poll(cx).map(Some)
                })
                .await
            };
            match got {
                None => break,
                Some(Err(flume::RecvError::Disconnected)) => return Ok(()),
                Some(Ok(v)) => {
                    if let Err(e) = to.send_async(v).await {
                        why = send_end(&e);
                        back.put(e.into_inner());
                        break;
                    }
                }
            }
        }
        if to.is_poisoned() {
            why = Error::Poisoned;
        }
        // What `from` holds now would go with it: give it back, unless another receiver
        // may take it. Only so many: senders still sending would keep this going.
        if from.receiver_count() == 1 {
            for _ in 0..from.len() {
                match from.try_recv() {
                    Ok(v) => back.put(v),
                    Err(_) => break,
                }
            }
        }
        Err(why)
    });
    (process, undelivered)
}

/// A bridge from an occamy channel out to a flume one: it receives each value from
/// `from` and sends it on `to`. It ends normally when `from` retires (every occamy writer
/// has gone), dropping `to` so that flume receivers see the channel disconnected once they
/// have taken what was sent; it ends with [`Error::Poisoned`] when `from` is poisoned
/// (even while it waits for room in `to`), and with [`Error::Retired`] when `to` is
/// disconnected (every flume receiver has gone), which retires its occamy reader. A value
/// it took from `from` and could not send on `to`, and then the values left in `from`'s
/// buffer if it was `from`'s only reader, go to the returned [`Undelivered`], with one
/// exception: a value it was waiting to send when `from` was poisoned is dropped, as a
/// pending flume send cannot be taken back (see the [module docs](super); with an
/// unbounded `to` no send waits). The process, named `name`, is async: a green task.
///
/// # Examples
/// A network's results, awaited by async code:
/// ```
/// use occamy::{bridge, par, Process};
/// let (fl_tx, fl_rx) = flume::unbounded::<u64>();
/// let (tx, rx) = occamy::channel::<u64>();
/// let (bridge, _back) = bridge::to_flume("results", rx, fl_tx);
/// let network = std::thread::spawn(move || {
///     par([
///         Process::with("numbers", tx, |tx| -> occamy::Result {
///             for i in 0..3 {
///                 tx.send(i)?;
///             }
///             Ok(())
///         }),
///         bridge,
///     ])
/// });
/// let got = futures::executor::block_on(async move {
///     let mut got = Vec::new();
///     while let Ok(v) = fl_rx.recv_async().await {
///         got.push(v);
///     }
///     got
/// });
/// assert_eq!(got, [0, 1, 2]);
/// network.join().unwrap().unwrap();
/// ```
pub fn to_flume<T: Send + 'static>(
    name: impl Into<String>,
    from: Receiver<T>,
    to: flume::Sender<T>,
) -> (Process, Undelivered<T>) {
    let back = Undelivered::new();
    let undelivered = back.clone();
    let process = Process::with_async(name, from, move |from| async move {
        loop {
            let v = match from.recv_async().await {
                Ok(v) => v,
                Err(RecvError::Retired) => return Ok(()),
                Err(RecvError::Poisoned) => return Err(Error::Poisoned),
            };
            let v = match to.try_send(v) {
                Ok(()) => continue,
                Err(flume::TrySendError::Disconnected(v)) => {
                    back.put(v);
                    break;
                }
                Err(flume::TrySendError::Full(v)) => v,
            };
            let sent = {
                let mut send = to.send_async(v);
                let mut poisoned = from.until_poisoned();
                poll_fn(|cx| {
                    // Delivery first: a value taken by a receiver counts as sent.
                    if let Poll::Ready(r) = Pin::new(&mut send).poll(cx) {
                        return Poll::Ready(Some(r));
                    }
                    if Pin::new(&mut poisoned).poll(cx).is_ready() {
                        return Poll::Ready(None);
                    }
                    Poll::Pending
                })
                .await
            };
            match sent {
                Some(Ok(())) => {}
                Some(Err(flume::SendError(v))) => {
                    back.put(v);
                    break;
                }
                // The offer went with the dropped send: flume cannot hand it back.
                None => return Err(Error::Poisoned),
            }
        }
        // Every flume receiver has gone. What `from`'s buffer holds would go with the
        // channel once this reader goes: give it back, unless another reader may take it.
        for v in from.drain_if_last() {
            back.put(v);
        }
        Err(Error::Retired)
    });
    (process, undelivered)
}
