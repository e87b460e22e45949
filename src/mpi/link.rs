//! The two halves of a cross-rank channel (a *link*): on each writer rank a proxy that
//! claims the local writers (an extended rendezvous) and ships their values, on the reader
//! rank a proxy that offers the values it received to the local readers and acknowledges
//! each one taken. The protocol is in `README.md` beside this file; both proxies run on
//! the engine's thread and never block.

use std::collections::VecDeque;
use std::task::{Poll, Waker};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::wire::{encode, Kind};
use crate::channel::{Claim, Offer, Offered};
use crate::{Receiver, RecvError, Sender};

/// Messages a proxy wants sent: (destination rank, bytes).
#[derive(Default)]
pub(crate) struct Out(pub(crate) Vec<(u32, Vec<u8>)>);

impl Out {
    fn push(&mut self, to: u32, kind: Kind, link: u32, payload: &[u8]) {
        self.0.push((to, encode(kind, link, payload)));
    }
}

/// A link's proxy on one rank, type-erased for the engine.
pub(crate) trait Proxy: Send {
    /// A message about this link from rank `from`.
    fn on_message(&mut self, from: u32, kind: Kind, payload: &[u8], waker: &Waker, out: &mut Out);
    /// Something local may have changed (a writer queued, a reader took a value, poison).
    fn poll(&mut self, waker: &Waker, out: &mut Out);
    /// A failure to report (a value that would not decode or encode), once.
    fn take_error(&mut self) -> Option<String>;
}

/// The writer-side proxy: the only reader of a local rendezvous channel whose writers are
/// the local processes writing to the link.
pub(crate) struct WriterProxy<T: Send + 'static> {
    pub(crate) link: u32,
    pub(crate) name: String,
    pub(crate) reader: u32,
    pub(crate) rx: Option<Receiver<T>>,
    /// Values the reader rank may still take without an `Ack`: the channel's capacity
    /// (one for a rendezvous channel, whose one value in flight is a claimed writer).
    pub(crate) credits: usize,
    pub(crate) rendezvous: bool,
    /// Rendezvous only: the claimed writers, oldest first, each completed by one `Ack`.
    pub(crate) claimed: VecDeque<Claim<T>>,
    pub(crate) error: Option<String>,
}

impl<T: Serialize + Send + 'static> WriterProxy<T> {
    fn close(&mut self, poisoned: bool) {
        for c in self.claimed.drain(..) {
            c.refuse(poisoned);
        }
        if let Some(rx) = self.rx.take() {
            if poisoned {
                rx.poison();
            }
            // Dropped outside any process: the local writers see `Retired` at once.
        }
    }
}

impl<T: Serialize + Send + 'static> Proxy for WriterProxy<T> {
    fn on_message(&mut self, _from: u32, kind: Kind, _p: &[u8], waker: &Waker, out: &mut Out) {
        match kind {
            Kind::Ack => {
                self.credits += 1;
                if self.rendezvous {
                    if let Some(c) = self.claimed.pop_front() {
                        c.complete();
                    }
                }
                self.poll(waker, out);
            }
            Kind::Poison => self.close(true),
            Kind::Retired => self.close(false),
            Kind::Data | Kind::Control => {}
        }
    }

    fn poll(&mut self, waker: &Waker, out: &mut Out) {
        let Some(rx) = &self.rx else { return };
        while self.credits > 0 {
            match rx.poll_claim(waker) {
                Poll::Pending => break,
                Poll::Ready(Ok(c)) => match c.with_value(|v| postcard::to_allocvec(v)) {
                    Ok(bytes) => {
                        out.push(self.reader, Kind::Data, self.link, &bytes);
                        self.credits -= 1;
                        if self.rendezvous {
                            self.claimed.push_back(c);
                        } else {
                            // Buffered: the value is in flight, as if in the buffer.
                            c.complete();
                        }
                    }
                    Err(e) => {
                        self.error = Some(format!(
                            "channel {}: a value of type {} would not encode: {e}",
                            self.name,
                            std::any::type_name::<T>()
                        ));
                        drop(c);
                        out.push(self.reader, Kind::Poison, self.link, &[]);
                        self.close(true);
                        return;
                    }
                },
                Poll::Ready(Err(RecvError::Poisoned)) => {
                    out.push(self.reader, Kind::Poison, self.link, &[]);
                    self.close(true);
                    return;
                }
                Poll::Ready(Err(RecvError::Retired)) => {
                    out.push(self.reader, Kind::Retired, self.link, &[]);
                    self.rx = None;
                    return;
                }
            }
        }
        // Out of credits (or nothing to claim): still hear of local poison at once.
        if rx.core.watch(u64::from(self.link), waker, |i| i.poisoned) {
            out.push(self.reader, Kind::Poison, self.link, &[]);
            self.close(true);
        }
    }

    fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }
}

/// The reader-side proxy: a writer (beside any local ones) of a local rendezvous channel
/// whose readers are the local processes reading the link.
pub(crate) struct ReaderProxy<T: Send + 'static> {
    pub(crate) link: u32,
    pub(crate) name: String,
    /// The remote writer ranks.
    pub(crate) writers: Vec<u32>,
    pub(crate) tx: Option<Sender<T>>,
    /// Values received and offered to the local readers, with the rank each came from.
    pub(crate) offered: Vec<(u32, Offered<T>)>,
    /// Writer ranks that have retired.
    pub(crate) retired: Vec<u32>,
    pub(crate) error: Option<String>,
}

impl<T: DeserializeOwned + Send + 'static> ReaderProxy<T> {
    /// Tells the writer ranks (but `except`) and closes the local side.
    fn close(&mut self, poisoned: bool, except: Option<u32>, out: &mut Out) {
        let kind = if poisoned {
            Kind::Poison
        } else {
            Kind::Retired
        };
        for &w in self.writers.iter().filter(|w| Some(**w) != except) {
            if poisoned || !self.retired.contains(&w) {
                out.push(w, kind, self.link, &[]);
            }
        }
        self.offered.clear();
        if let Some(tx) = self.tx.take() {
            if poisoned {
                tx.poison();
            }
        }
    }

    fn settle(&mut self, from: u32, o: Offer<T>, out: &mut Out) -> bool {
        match o {
            Offer::Taken => {
                out.push(from, Kind::Ack, self.link, &[]);
                true
            }
            Offer::Closed { poisoned } => {
                self.close(poisoned, None, out);
                false
            }
            Offer::Waiting(_) => unreachable!("settled offers only"),
        }
    }

    fn maybe_retire(&mut self) {
        if self.offered.is_empty() && self.writers.iter().all(|w| self.retired.contains(w)) {
            self.tx = None;
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> Proxy for ReaderProxy<T> {
    fn on_message(&mut self, from: u32, kind: Kind, p: &[u8], waker: &Waker, out: &mut Out) {
        let Some(tx) = &self.tx else { return };
        match kind {
            Kind::Data => match postcard::from_bytes::<T>(p) {
                Ok(v) => match tx.offer(v, waker) {
                    Offer::Waiting(o) => self.offered.push((from, o)),
                    o => {
                        self.settle(from, o, out);
                    }
                },
                Err(e) => {
                    self.error = Some(format!(
                        "channel {}: a value from rank {from} would not decode as {}: {e}",
                        self.name,
                        std::any::type_name::<T>()
                    ));
                    self.close(true, None, out);
                }
            },
            Kind::Poison => self.close(true, Some(from), out),
            Kind::Retired => {
                if !self.retired.contains(&from) {
                    self.retired.push(from);
                }
                self.maybe_retire();
            }
            Kind::Ack | Kind::Control => {}
        }
    }

    fn poll(&mut self, waker: &Waker, out: &mut Out) {
        let mut i = 0;
        while i < self.offered.len() {
            match self.offered[i].1.poll(waker) {
                None => i += 1,
                Some(o) => {
                    let (from, _) = self.offered.swap_remove(i);
                    if !self.settle(from, o, out) {
                        return;
                    }
                }
            }
        }
        let Some(tx) = &self.tx else { return };
        if tx.core.watch(u64::from(self.link), waker, |i| {
            i.poisoned || i.receivers == 0
        }) {
            let poisoned = tx.is_poisoned();
            self.close(poisoned, None, out);
            return;
        }
        self.maybe_retire();
    }

    fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }
}
