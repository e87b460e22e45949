//! A select's steps 1 to 5 (the module docs of `alt` list them): lock the alt's channels
//! in id order, try its guards in choice order, enrol on every channel or take the ready
//! guard, and once woken, leave every channel and settle the guards.

use std::sync::Arc;
use std::time::Instant;

use super::choice::Order;
use super::locks::Locks;
use super::ops::Now;
use super::{Alt, Begun, Event, Guard, Kind};
use crate::runtime::context;
use crate::wait::{Outcome, Signal};

impl Alt {
    fn chosen(&mut self, index: usize, event: Event) -> (usize, Event) {
        if self.fair {
            self.next = Some(index + 1);
        }
        match event {
            Event::Retired => self.guards[index].enabled = false,
            Event::Received => self.holding = Some(index),
            _ => {}
        }
        tracing::trace!(guard = index, event = ?event, "alt");
        if crate::runtime::recorder::on() {
            self.record_choice(index, event);
        }
        (index, event)
    }

    /// Records the choice (a recording is on).
    #[cold]
    fn record_choice(&self, index: usize, event: Event) {
        let channel = match self.guards.get(index).map(|g| &g.kind) {
            Some(Kind::Chan { lix, .. }) => self.cores[*lix].id,
            _ => 0,
        };
        crate::runtime::recorder::emit(crate::runtime::recorder::Ev::Alt {
            process: crate::runtime::context::current_id(),
            guard: index as u32,
            channel,
            event: event as u8,
        });
    }

    fn lock_all(&self) -> Locks<'_> {
        Locks::all(self.cores.iter().map(|c| &c.inner))
    }

    /// Steps 1 to 4 of a select (see the module docs). With `task`, the alt waits as an
    /// async task.
    pub(crate) fn begin(&mut self, task: Option<&std::task::Waker>) -> Begun {
        self.started = None;
        self.begin_again(task)
    }

    /// As `begin`, for a select given back (`Outcome::Retry`, after `retry`): its
    /// timeouts still count from its first beginning.
    pub(crate) fn begin_again(&mut self, task: Option<&std::task::Waker>) -> Begun {
        match self.try_all(task) {
            Begun::Done(i, e) if e != Event::Exhausted => {
                let (i, e) = self.chosen(i, e);
                Begun::Done(i, e)
            }
            begun => begun,
        }
    }

    /// Steps 1 to 4, up to the choice.
    fn try_all(&mut self, task: Option<&std::task::Waker>) -> Begun {
        let n = self.guards.len();
        self.enqueued.clear();
        self.earliest = None;
        if let Some(i) = self.holding.take() {
            if let Kind::Chan { op, .. } = &mut self.guards[i].kind {
                op.clear();
            }
        }
        if !self.guards.iter().any(Guard::live) {
            return Begun::Done(usize::MAX, Event::Exhausted);
        }
        let now = Instant::now();
        let started = *self.started.get_or_insert(now);
        let mut locks = Locks::all(self.cores.iter().map(|c| &c.inner));
        let poisoned = locks.each().any(|inner| inner.poisoned);
        if poisoned {
            for (i, g) in self.guards.iter().enumerate() {
                if let Kind::Chan { lix, .. } = g.kind {
                    if g.live() && locks[lix].poisoned {
                        drop(locks);
                        return Begun::Done(i, Event::Poisoned);
                    }
                }
            }
        }
        let order = match (self.fair, self.next) {
            (false, _) => Order::Written,
            (true, Some(next)) => Order::From { start: next % n, n },
            (true, None) => Order::random(&mut self.guards),
        };
        let mut earliest: Option<(usize, Instant)> = None;
        for k in 0..n {
            let i = order.draw(&mut self.guards, k);
            let g = &mut self.guards[i];
            if !g.live() {
                continue;
            }
            let deadline = match &mut g.kind {
                Kind::Chan { lix, op } => match op.try_now(&mut locks[*lix]) {
                    Now::Event(e, w) => {
                        drop(locks);
                        if let Some(w) = w {
                            w.signal().wake();
                        }
                        return Begun::Done(i, e);
                    }
                    Now::Block => continue,
                },
                Kind::Skip => {
                    drop(locks);
                    return Begun::Done(i, Event::Skip);
                }
                Kind::Timeout(d) => started + *d,
                Kind::Deadline(d) => *d,
            };
            if deadline <= now {
                drop(locks);
                return Begun::Done(i, Event::Timeout);
            }
            if earliest.is_none_or(|(_, e)| deadline < e) {
                earliest = Some((i, deadline));
            }
        }
        let sig = match task {
            None => Signal::thread(context::current_id()),
            Some(w) => Signal::task(w, context::current_id()),
        };
        // An alt with a choice (two guards that can wait, or a timeout) is soft: a claimer
        // that cannot promise its value will be taken (a cross-rank proxy with no remote
        // reader's demand) leaves its output guards alone rather than commit it.
        let choices = self
            .guards
            .iter()
            .filter(|g| g.live() && matches!(g.kind, Kind::Chan { .. }))
            .count();
        let sig = Arc::new(if choices > 1 || earliest.is_some() {
            sig.soft()
        } else {
            sig
        });
        // Enrolled in the order just tried (every position of a random order is drawn by
        // now): of several waiters a peer could complete, it completes the first.
        for k in 0..n {
            let i = order.at(&self.guards, k);
            let g = &mut self.guards[i];
            if !g.live() {
                continue;
            }
            if let Kind::Chan { lix, op } = &mut g.kind {
                op.enqueue(&mut locks[*lix], &sig, i);
                self.enqueued.push(i);
            }
        }
        self.remote = locks.each().any(|inner| inner.remote);
        drop(locks);
        self.earliest = earliest;
        Begun::Waiting(sig)
    }

    /// Removes this select's waiters from every channel.
    fn dequeue_all(&self, sig: &Arc<Signal>) {
        for inner in self.lock_all().each() {
            inner.dequeue(sig);
        }
    }

    /// Undoes an enrolment given back by a claimer (`Outcome::Retry`): every guard leaves
    /// its channel and an output guard takes its value back, for `begin_again`.
    pub(crate) fn retry(&mut self, sig: &Arc<Signal>) {
        self.dequeue_all(sig);
        for &i in &self.enqueued {
            if let Kind::Chan { op, .. } = &mut self.guards[i].kind {
                op.finish(None);
            }
        }
        self.enqueued.clear();
    }

    /// Step 5 of a select, once the signal fired or the deadline withdrew it.
    pub(crate) fn finish(&mut self, sig: &Arc<Signal>, outcome: Outcome) -> (usize, Event) {
        self.dequeue_all(sig);
        let fired = match outcome {
            Outcome::Ready(i) | Outcome::Retired(i) | Outcome::Poisoned(i) => i,
            Outcome::Withdrawn => self.earliest.expect("only a deadline withdraws a select").0,
            Outcome::Retry(_) => unreachable!("a select given back is tried again"),
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
        // A claimed select (`None` too) finishes as not fired: its claimer owns the value.
        let outcome = sig.withdraw().err().flatten();
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
