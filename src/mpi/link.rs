//! The two halves of a cross-rank channel (a *link*): on each writer rank a proxy that
//! claims the local writers (an extended rendezvous) and ships their values, on the reader
//! rank a proxy that offers the values it received to the local readers and acknowledges
//! each one taken. The protocol is in `README.md` beside this file; both proxies run on
//! the engine's thread and never block.

use std::collections::VecDeque;
use std::task::{Poll, Waker};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::wire::Kind;
use crate::channel::{Claim, Offer, OfferNow, Offered, StandIn};
use crate::{Receiver, RecvError, Sender};

/// Messages the proxies want sent, per destination rank, written straight into the one
/// MPI message that carries them (`Kind::Batch`, `wire::begin_one`): a hop's `Ack` and
/// reply, values serialised in place, cost one buffer, with no copy between them.
#[derive(Default)]
pub(crate) struct Out {
    /// Per destination rank, the batch being written.
    pub(crate) batches: Vec<(u32, Vec<u8>)>,
    /// Links whose proxies want polling at the engine's next step (`poll_later`), which
    /// follows at once: a step that took a message says it was busy.
    pub(crate) later: Vec<u32>,
    /// Buffers of batches MPI has sent, to write the next ones in (`recycle`).
    spare: Vec<Vec<u8>>,
}

/// What a reader proxy reports of a value from rank `from` that would not decode as `T`.
fn undecodable<T>(channel: &str, from: u32, e: &postcard::Error) -> String {
    format!(
        "channel {channel}: a value from rank {from} would not decode as {}: {e}",
        std::any::type_name::<T>()
    )
}

/// Lets postcard append to a borrowed buffer (so a failed encode can be cut off it).
struct Append<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Append<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
        self.0.extend(bytes);
    }
}

impl Out {
    /// Asks for `link`'s proxy to be polled at the next step rather than now: what it
    /// would find is what the process just woken does once this step has returned.
    fn poll_later(&mut self, link: u32) {
        if !self.later.contains(&link) {
            self.later.push(link);
        }
    }

    /// Keeps the buffer of a batch MPI has sent for a later one, so that a hop does not
    /// allocate (a few are kept; a large one is freed).
    pub(crate) fn recycle(&mut self, mut b: Vec<u8>) {
        if self.spare.len() < 8 && b.capacity() <= super::wire::MAX_MESSAGE {
            b.clear();
            self.spare.push(b);
        }
    }

    fn buf(&mut self, to: u32) -> &mut Vec<u8> {
        let i = match self.batches.iter().position(|(r, _)| *r == to) {
            Some(i) => i,
            None => {
                let b = match self.spare.pop() {
                    Some(mut b) => {
                        super::wire::batch_start(&mut b);
                        b
                    }
                    None => super::wire::batch_begin(),
                };
                self.batches.push((to, b));
                self.batches.len() - 1
            }
        };
        &mut self.batches[i].1
    }

    pub(crate) fn push(&mut self, to: u32, kind: Kind, link: u32, payload: &[u8]) {
        let b = self.buf(to);
        let at = super::wire::begin_one(b, kind, link);
        b.extend_from_slice(payload);
        super::wire::end_one(b, at);
    }

    /// Queues a message whose payload is `v` in postcard; on an encoding error nothing is
    /// queued.
    fn push_value<T: Serialize>(
        &mut self,
        to: u32,
        kind: Kind,
        link: u32,
        v: &T,
    ) -> postcard::Result<()> {
        let b = self.buf(to);
        let at = super::wire::begin_one(b, kind, link);
        match postcard::to_extend(v, Append(b)) {
            Ok(_) => {
                super::wire::end_one(b, at);
                Ok(())
            }
            Err(e) => {
                b.truncate(at);
                Err(e)
            }
        }
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
///
/// A *firm* writer (a plain `send`: it has nothing else to do) is claimed as soon as a
/// credit allows, its value shipped as `Data`. A *soft* one (an alt's output guard, a send
/// with a deadline) is claimed on a rendezvous link only against a remote reader's
/// `Demand` (asked for with `Want`), shipped as `Offer`, and given back (`Claim::retry`)
/// if the reader rank bounces it: its alt goes on choosing as if never claimed. On a
/// buffered link a credit is room in the buffer, so a soft writer is claimed like a firm
/// one (a local buffered channel with room takes an output guard at once too).
pub(crate) struct WriterProxy<T: Send + 'static> {
    pub(crate) link: u32,
    pub(crate) name: String,
    pub(crate) reader: u32,
    pub(crate) rx: Option<Receiver<T>>,
    /// Values the reader rank may still take without an `Ack`: the channel's capacity
    /// (one for a rendezvous channel, whose one value in flight is a claimed writer).
    pub(crate) credits: usize,
    pub(crate) rendezvous: bool,
    /// Rendezvous only: the values in flight, oldest first, each settled by one `Ack` (or
    /// `Bounce`, for a soft writer's): the claimed writer, or none (a `try_send`'s value).
    pub(crate) claimed: VecDeque<Option<Claim<T>>>,
    /// Rendezvous only: demands in hand (remote readers that waited when they asked).
    pub(crate) demand: usize,
    /// A `Want` is on its way and no `Demand` has come since.
    pub(crate) want_sent: bool,
    /// While a demand is in hand: the receiver `try_send` may deliver to.
    pub(crate) stand_in: Option<StandIn<T>>,
    /// The proxy's waker is among the channel's watchers (`Core::watch`); it stays there
    /// until the channel closes.
    pub(crate) watching: bool,
    pub(crate) error: Option<String>,
}

impl<T: Serialize + Send + 'static> WriterProxy<T> {
    fn close(&mut self, poisoned: bool) {
        for c in self.claimed.drain(..).flatten() {
            c.refuse(poisoned);
        }
        if let Some(rx) = self.rx.take() {
            if let Some(s) = self.stand_in.take() {
                // A value a `try_send` left at the last moment is lost with the link.
                drop(rx.withdraw_stand_in(s));
            }
            if poisoned {
                rx.poison();
            }
            // Dropped outside any process: the local writers see `Retired` at once.
        }
    }

    fn encode(&mut self, v: &T) -> Option<Vec<u8>> {
        match postcard::to_allocvec(v) {
            Ok(b) => Some(b),
            Err(e) => {
                self.error = Some(format!(
                    "channel {}: a value of type {} would not encode: {e}",
                    self.name,
                    std::any::type_name::<T>()
                ));
                None
            }
        }
    }

    /// Ships a value a `try_send` left in the stand-in, against the demand it used.
    fn ship_tried(&mut self, v: T, out: &mut Out) -> bool {
        let Some(bytes) = self.encode(&v) else {
            out.push(self.reader, Kind::Poison, self.link, &[]);
            self.close(true);
            return false;
        };
        // The `try_send` has returned, so the value cannot go back: if its reader left, it
        // waits on the reader rank for the next, as a buffered value would.
        out.push(self.reader, Kind::Tried, self.link, &bytes);
        self.demand = self.demand.saturating_sub(1);
        self.credits = self.credits.saturating_sub(1);
        self.claimed.push_back(None);
        true
    }
}

impl<T: Serialize + Send + 'static> Proxy for WriterProxy<T> {
    fn on_message(&mut self, _from: u32, kind: Kind, _p: &[u8], waker: &Waker, out: &mut Out) {
        match kind {
            Kind::Ack => {
                self.credits += 1;
                if self.rendezvous {
                    if let Some(Some(c)) = self.claimed.pop_front() {
                        c.complete();
                    }
                }
                // The credit is for the next value, which the writer just completed
                // usually sends once it runs, after this step: polled now, the proxy
                // would find no writer, register as the claimer, and be woken through the
                // ready list when the writer comes (a lock and a poll more a hop). Polled
                // at the next step, it finds the writer there and claims it, or registers
                // then.
                out.poll_later(self.link);
            }
            Kind::Bounce => {
                // The remote reader left before the soft writer's value arrived: the
                // writer gets it back and chooses again.
                self.credits += 1;
                if let Some(Some(c)) = self.claimed.pop_front() {
                    c.retry();
                }
                self.poll(waker, out);
            }
            Kind::Demand => {
                self.demand += 1;
                self.want_sent = false;
                self.poll(waker, out);
            }
            Kind::Poison => self.close(true),
            Kind::Retired => self.close(false),
            _ => {}
        }
    }

    fn poll(&mut self, waker: &Waker, out: &mut Out) {
        if self.rx.is_none() {
            return;
        }
        if let Some(v) = self.stand_in.as_ref().and_then(|s| s.filled(waker)) {
            self.stand_in = None;
            if !self.ship_tried(v, out) {
                return;
            }
        }
        let Some(rx) = &self.rx else { return };
        let mut soft_waiting = false;
        let mut claimer = false;
        // A claim made in this poll saw the channel unpoisoned, under its lock.
        let mut saw_open = false;
        while self.credits > 0 {
            let soft_ok = !self.rendezvous || self.demand > 0;
            let (p, passed) = rx.poll_claim_soft(waker, soft_ok);
            soft_waiting |= passed;
            match p {
                Poll::Pending => {
                    claimer = true;
                    break;
                }
                Poll::Ready(Ok(c)) => {
                    let soft = self.rendezvous && c.is_soft();
                    let kind = if soft { Kind::Offer } else { Kind::Data };
                    match c.with_value(|v| out.push_value(self.reader, kind, self.link, v)) {
                        Ok(()) => {
                            saw_open = true;
                            if soft {
                                self.demand -= 1;
                            }
                            self.credits -= 1;
                            if self.rendezvous {
                                self.claimed.push_back(Some(c));
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
                    }
                }
                Poll::Ready(Err(RecvError::Poisoned)) => {
                    out.push(self.reader, Kind::Poison, self.link, &[]);
                    self.close(true);
                    return;
                }
                Poll::Ready(Err(RecvError::Retired)) => {
                    // The values in flight are still settled by their `Ack`s.
                    out.push(self.reader, Kind::Retired, self.link, &[]);
                    self.stand_in = None;
                    self.rx = None;
                    return;
                }
            }
        }
        let Some(rx) = &self.rx else { return };
        if self.rendezvous {
            // Soft writers wait (or a `try_send` failed) for a remote reader: ask for a
            // demand, once until one comes.
            if soft_waiting && self.demand == 0 && !self.want_sent {
                out.push(self.reader, Kind::Want, self.link, &[]);
                self.want_sent = true;
            }
            // A `try_send` may deliver while a demand is in hand and a credit free.
            let open = self.demand > 0 && self.credits > 0;
            match (open, self.stand_in.take()) {
                (true, None) => self.stand_in = Some(rx.stand_in(waker)),
                (true, Some(s)) => self.stand_in = Some(s),
                (false, Some(s)) => {
                    if let Some(v) = rx.withdraw_stand_in(s) {
                        if !self.ship_tried(v, out) {
                            return;
                        }
                    }
                }
                (false, None) => {}
            }
        }
        let Some(rx) = &self.rx else { return };
        // Out of credits: still hear of local poison at once. A claim that found nothing
        // left `waker` as the channel's claimer, which poison wakes too: no second lock.
        // Nor when this poll's claim just saw the channel unpoisoned and the waker is a
        // watcher already: poison from now on wakes it (a lock a hop fewer).
        if claimer || (saw_open && self.watching) {
            return;
        }
        if rx.core.watch(u64::from(self.link), waker, |i| i.poisoned) {
            out.push(self.reader, Kind::Poison, self.link, &[]);
            self.close(true);
        } else {
            self.watching = true;
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
    /// Per writer rank that has soft writers: (rank, it sent `Want` and awaits demands,
    /// demands sent whose `Offer` has not arrived).
    pub(crate) wants: Vec<(u32, bool, usize)>,
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
        if kind == Kind::Tried {
            // It answers a demand of ours, as an `Offer` would.
            if let Some(w) = self.wants.iter_mut().find(|w| w.0 == from) {
                w.2 = w.2.saturating_sub(1);
            }
        }
        match kind {
            Kind::Data | Kind::Tried => match postcard::from_bytes::<T>(p) {
                Ok(v) => match tx.offer(v, waker) {
                    Offer::Waiting(o) => self.offered.push((from, o)),
                    o => {
                        self.settle(from, o, out);
                    }
                },
                Err(e) => {
                    self.error = Some(undecodable::<T>(&self.name, from, &e));
                    self.close(true, None, out);
                }
            },
            Kind::Offer => {
                if let Some(w) = self.wants.iter_mut().find(|w| w.0 == from) {
                    w.2 = w.2.saturating_sub(1);
                }
                match postcard::from_bytes::<T>(p) {
                    // A soft writer's value: taken by a reader waiting now, or back at
                    // once (it must not wait here: its writer may choose otherwise).
                    Ok(v) => match tx.offer_now(v) {
                        OfferNow::Taken => out.push(from, Kind::Ack, self.link, &[]),
                        OfferNow::NoReader(_) => out.push(from, Kind::Bounce, self.link, &[]),
                        OfferNow::Closed { poisoned } => {
                            self.close(poisoned, None, out);
                            return;
                        }
                    },
                    Err(e) => {
                        self.error = Some(undecodable::<T>(&self.name, from, &e));
                        self.close(true, None, out);
                        return;
                    }
                }
                self.poll(waker, out);
            }
            Kind::Want => {
                match self.wants.iter_mut().find(|w| w.0 == from) {
                    Some(w) => w.1 = true,
                    None => self.wants.push((from, true, 0)),
                }
                self.poll(waker, out);
            }
            Kind::Poison => self.close(true, Some(from), out),
            Kind::Retired => {
                if !self.retired.contains(&from) {
                    self.retired.push(from);
                }
                self.wants.retain(|w| w.0 != from);
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
                    let (from, offered) = self.offered.swap_remove(i);
                    if let Some(tx) = &self.tx {
                        tx.release_offer(offered);
                    }
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
        if self.wants.iter().any(|w| w.1) {
            // A writer rank's soft writers wait: one demand per reader waiting here that
            // no value (offered, or asked of that rank) answers yet. Only then: a firm
            // link sends no demands, so its round trip carries no extra message.
            let waiting = tx.waiting_readers(waker);
            let have = self.offered.len();
            for w in self.wants.iter_mut().filter(|w| w.1) {
                let n = waiting.saturating_sub(have + w.2);
                for _ in 0..n {
                    out.push(w.0, Kind::Demand, self.link, &[]);
                }
                if n > 0 {
                    w.2 += n;
                    w.1 = false;
                }
            }
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

    /// A value that came back untaken: a soft writer's goes back to it (its alt chooses
    /// again, as if never claimed); any other goes to the next demand.
    fn bounced(&mut self, b: Vec<u8>, c: Option<Claim<T>>) {
        match c {
            Some(c) if c.is_soft() => c.retry(),
            c => self.spare.push_front((b, c)),
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
                    self.bounced(b, c);
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
                    self.bounced(b, c);
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
                        self.error = Some(undecodable::<T>(&self.name, self.writer, &e));
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
                    let o = self.offered.swap_remove(i);
                    if let Some(tx) = &self.tx {
                        tx.release_offer(o);
                    }
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
                tx.release_offer(o);
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
