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
            _ => {}
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
            _ => {}
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

/// The writer-side proxy of a link read on several ranks (one writer rank): values leave
/// only on a reader rank's `Demand`, so each goes to a rank where a reader waits. A
/// rendezvous link claims a local writer per demand and completes it on the `Ack`; a
/// buffered one keeps its buffer here (the local channel's) and takes a value per demand.
/// A value bounced back (its reader left) goes to the next demand.
pub(crate) struct DemandWriter<T: Send + 'static> {
    pub(crate) link: u32,
    pub(crate) name: String,
    /// The remote reader ranks.
    pub(crate) readers: Vec<u32>,
    pub(crate) rx: Option<Receiver<T>>,
    pub(crate) rendezvous: bool,
    pub(crate) demands: VecDeque<u32>,
    /// Values bounced back, to send again: their bytes, and their writer if claimed.
    pub(crate) spare: VecDeque<(Vec<u8>, Option<Claim<T>>)>,
    /// Values sent and not yet acknowledged or bounced, with the rank they went to.
    pub(crate) in_flight: Vec<(u32, Vec<u8>, Option<Claim<T>>)>,
    pub(crate) retired_readers: Vec<u32>,
    /// Every local writer has gone.
    pub(crate) local_done: bool,
    pub(crate) error: Option<String>,
}

impl<T: Serialize + Send + 'static> DemandWriter<T> {
    fn poison_all(&mut self, except: Option<u32>, out: &mut Out) {
        for &r in self.readers.iter().filter(|r| Some(**r) != except) {
            out.push(r, Kind::Poison, self.link, &[]);
        }
        let claims = self
            .spare
            .drain(..)
            .map(|(_, c)| c)
            .chain(self.in_flight.drain(..).map(|(_, _, c)| c));
        for c in claims.flatten() {
            c.refuse(true);
        }
        if let Some(rx) = self.rx.take() {
            rx.poison();
        }
    }

    /// The next value to send: a bounced one, else a new one from the local writers.
    fn next(&mut self, waker: &Waker, out: &mut Out) -> Option<(Vec<u8>, Option<Claim<T>>)> {
        if let Some(it) = self.spare.pop_front() {
            return Some(it);
        }
        if self.local_done {
            return None;
        }
        let rx = self.rx.as_ref()?;
        let got = if self.rendezvous {
            match rx.poll_claim(waker) {
                Poll::Pending => return None,
                Poll::Ready(r) => r.map(|c| {
                    let b = c.with_value(|v| postcard::to_allocvec(v));
                    (b, Some(c))
                }),
            }
        } else {
            match rx.poll_take(waker) {
                Poll::Pending => return None,
                Poll::Ready(r) => r.map(|v| (postcard::to_allocvec(&v), None)),
            }
        };
        match got {
            Ok((Ok(b), c)) => Some((b, c)),
            Ok((Err(e), c)) => {
                drop(c);
                self.error = Some(format!(
                    "channel {}: a value of type {} would not encode: {e}",
                    self.name,
                    std::any::type_name::<T>()
                ));
                self.poison_all(None, out);
                None
            }
            Err(RecvError::Poisoned) => {
                self.poison_all(None, out);
                None
            }
            Err(RecvError::Retired) => {
                self.local_done = true;
                None
            }
        }
    }
}

impl<T: Serialize + Send + 'static> Proxy for DemandWriter<T> {
    fn on_message(&mut self, from: u32, kind: Kind, _p: &[u8], waker: &Waker, out: &mut Out) {
        if self.rx.is_none() {
            return;
        }
        match kind {
            Kind::Demand if !self.retired_readers.contains(&from) => {
                self.demands.push_back(from);
            }
            Kind::Ack => {
                if let Some(i) = self.in_flight.iter().position(|x| x.0 == from) {
                    if let (_, _, Some(c)) = self.in_flight.remove(i) {
                        c.complete();
                    }
                }
            }
            Kind::Bounce => {
                if let Some(i) = self.in_flight.iter().position(|x| x.0 == from) {
                    let (_, b, c) = self.in_flight.remove(i);
                    self.spare.push_front((b, c));
                }
            }
            Kind::Poison => {
                self.poison_all(Some(from), out);
                return;
            }
            Kind::Retired => {
                if !self.retired_readers.contains(&from) {
                    self.retired_readers.push(from);
                }
                self.demands.retain(|r| *r != from);
                while let Some(i) = self.in_flight.iter().position(|x| x.0 == from) {
                    let (_, b, c) = self.in_flight.remove(i);
                    self.spare.push_front((b, c));
                }
                if self
                    .readers
                    .iter()
                    .all(|r| self.retired_readers.contains(r))
                {
                    // No remote reader left: what was claimed for them goes back.
                    for c in self.spare.drain(..).filter_map(|(_, c)| c) {
                        c.refuse(false);
                    }
                    self.rx = None;
                    return;
                }
            }
            _ => {}
        }
        self.poll(waker, out);
    }

    fn poll(&mut self, waker: &Waker, out: &mut Out) {
        while let Some(&r) = self.demands.front() {
            let Some((b, c)) = self.next(waker, out) else {
                break;
            };
            self.demands.pop_front();
            out.push(r, Kind::Data, self.link, &b);
            self.in_flight.push((r, b, c));
        }
        let Some(rx) = &self.rx else { return };
        if self.local_done && self.in_flight.is_empty() && self.spare.is_empty() {
            for &r in self
                .readers
                .iter()
                .filter(|r| !self.retired_readers.contains(r))
            {
                out.push(r, Kind::Retired, self.link, &[]);
            }
            self.rx = None;
            return;
        }
        if rx.core.watch(u64::from(self.link), waker, |i| i.poisoned) {
            self.poison_all(None, out);
        }
    }

    fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }
}

/// The reader-side proxy of a link read on several ranks: asks the writer rank for one
/// value per local reader waiting, offers each value received, and bounces one back if
/// no reader waits for it any more.
pub(crate) struct DemandReader<T: Send + 'static> {
    pub(crate) link: u32,
    pub(crate) name: String,
    pub(crate) writer: u32,
    pub(crate) tx: Option<Sender<T>>,
    /// Demands sent whose value has not arrived.
    pub(crate) outstanding: usize,
    pub(crate) offered: Vec<Offered<T>>,
    pub(crate) writer_retired: bool,
    pub(crate) error: Option<String>,
}

impl<T: DeserializeOwned + Send + 'static> DemandReader<T> {
    fn close(&mut self, poisoned: bool, tell: bool, out: &mut Out) {
        // A retired writer rank has no claims left to refuse: it needs only poison.
        if tell && (poisoned || !self.writer_retired) {
            let kind = if poisoned {
                Kind::Poison
            } else {
                Kind::Retired
            };
            out.push(self.writer, kind, self.link, &[]);
        }
        self.offered.clear();
        if let Some(tx) = self.tx.take() {
            if poisoned {
                tx.poison();
            }
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> Proxy for DemandReader<T> {
    fn on_message(&mut self, _from: u32, kind: Kind, p: &[u8], waker: &Waker, out: &mut Out) {
        let Some(tx) = &self.tx else { return };
        match kind {
            Kind::Data => {
                self.outstanding = self.outstanding.saturating_sub(1);
                match postcard::from_bytes::<T>(p) {
                    Ok(v) => match tx.offer(v, waker) {
                        Offer::Taken => out.push(self.writer, Kind::Ack, self.link, &[]),
                        Offer::Waiting(o) => self.offered.push(o),
                        Offer::Closed { poisoned } => {
                            self.close(poisoned, true, out);
                            return;
                        }
                    },
                    Err(e) => {
                        self.error = Some(format!(
                            "channel {}: a value from rank {} would not decode as {}: {e}",
                            self.name,
                            self.writer,
                            std::any::type_name::<T>()
                        ));
                        self.close(true, true, out);
                        return;
                    }
                }
            }
            Kind::Poison => {
                self.close(true, false, out);
                return;
            }
            Kind::Retired => self.writer_retired = true,
            _ => {}
        }
        self.poll(waker, out);
    }

    fn poll(&mut self, waker: &Waker, out: &mut Out) {
        let mut i = 0;
        while i < self.offered.len() {
            match self.offered[i].poll(waker) {
                None => i += 1,
                Some(Offer::Closed { poisoned }) => {
                    self.close(poisoned, true, out);
                    return;
                }
                Some(_) => {
                    self.offered.swap_remove(i);
                    out.push(self.writer, Kind::Ack, self.link, &[]);
                }
            }
        }
        let Some(tx) = &self.tx else { return };
        if self.writer_retired && self.offered.is_empty() {
            self.tx = None;
            return;
        }
        if tx.core.watch(u64::from(self.link), waker, |i| {
            i.poisoned || i.receivers == 0
        }) {
            let poisoned = tx.is_poisoned();
            self.close(poisoned, true, out);
            return;
        }
        let waiting = tx.waiting_readers(waker);
        // An offer no reader waits for (its reader left): back to the writer rank, for a
        // rank where one does wait.
        while self.offered.len() > waiting {
            let o = self.offered.pop().expect("an offer");
            if tx.withdraw(&o) {
                out.push(self.writer, Kind::Bounce, self.link, &[]);
            } else {
                // Taken (or closed) meanwhile: settled on the next poll.
                self.offered.push(o);
                break;
            }
        }
        if !self.writer_retired {
            let want = waiting.saturating_sub(self.outstanding + self.offered.len());
            for _ in 0..want {
                out.push(self.writer, Kind::Demand, self.link, &[]);
            }
            self.outstanding += want;
        }
    }

    fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }
}
