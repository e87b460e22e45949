//! Barriers whose parties are on several ranks. Each rank keeps an ordinary local
//! [`Barrier`](crate::Barrier) for its own parties, *gated* (`crate::barrier::gate`): when
//! every local party of a phase has arrived, the phase is held instead of completing, and
//! this rank's proxy reports it (`Arrive`) to the barrier's coordinating rank, the lowest
//! of its ranks. The coordinator counts the ranks arrived; when every rank still taking
//! part has, it sends each a `Release`, and each completes its held phase. A rank whose
//! parties have all resigned says so (`Retired`) and is no longer waited for. Poison goes
//! from the rank that saw it to every other rank at once.
//!
//! No phase numbers travel: a rank reports its next phase only after the `Release` of the
//! one before, which the coordinator sends only once every rank arrived, so what the
//! coordinator counts is always the current phase. MPI keeps one rank's messages to
//! another in order, so a `Retired` never overtakes the `Arrive` before it.

use std::sync::Arc;
use std::task::Waker;

use super::link::{Out, Proxy};
use super::wire::Kind;
use crate::barrier::{self, Shared};

/// One rank's side of a barrier across ranks (see the module docs).
pub(crate) struct BarrierProxy {
    id: u32,
    me: u32,
    /// The ranks with parties, sorted; the first coordinates.
    ranks: Vec<u32>,
    shared: Arc<Shared>,
    /// This rank's held phase was reported; cleared by its release.
    reported: bool,
    /// This rank's `Retired` was sent (or counted, on the coordinator).
    left: bool,
    /// Poison was sent or received: nothing more to say.
    poisoned: bool,
    /// Coordinator only: the ranks still taking part, and those arrived at this phase.
    members: Vec<u32>,
    arrived: Vec<u32>,
}

impl BarrierProxy {
    pub(crate) fn new(id: u32, me: u32, ranks: Vec<u32>, shared: Arc<Shared>) -> BarrierProxy {
        BarrierProxy {
            id,
            me,
            members: ranks.clone(),
            ranks,
            shared,
            reported: false,
            left: false,
            poisoned: false,
            arrived: Vec::new(),
        }
    }

    fn coordinator(&self) -> u32 {
        self.ranks[0]
    }

    /// Coordinator: rank `r`'s parties have all arrived.
    fn count(&mut self, r: u32, out: &mut Out) {
        if self.members.contains(&r) && !self.arrived.contains(&r) {
            self.arrived.push(r);
        }
        self.settle(out);
    }

    /// Coordinator: rank `r` has no parties left.
    fn leave(&mut self, r: u32, out: &mut Out) {
        self.members.retain(|m| *m != r);
        self.arrived.retain(|m| *m != r);
        self.settle(out);
    }

    /// Coordinator: releases the phase if every rank still taking part has arrived.
    fn settle(&mut self, out: &mut Out) {
        if self.members.is_empty() || self.arrived.len() < self.members.len() {
            return;
        }
        self.arrived.clear();
        for &r in self.members.iter().filter(|r| **r != self.me) {
            out.push(r, Kind::Release, self.id, &[]);
        }
        if self.members.contains(&self.me) {
            self.reported = false;
            // May hold the next phase at once (its parties arrived meanwhile): that wakes
            // this proxy, which reports it in its next poll.
            barrier::release(&self.shared);
        }
    }
}

impl Proxy for BarrierProxy {
    fn on_message(&mut self, from: u32, kind: Kind, _: &[u8], _: &Waker, out: &mut Out) {
        if self.poisoned {
            return;
        }
        match kind {
            Kind::Arrive if self.me == self.coordinator() => self.count(from, out),
            Kind::Retired if self.me == self.coordinator() => self.leave(from, out),
            Kind::Release => {
                self.reported = false;
                barrier::release(&self.shared);
            }
            Kind::Poison => {
                // Set first: the poisoning wakes this proxy, which must not send it back.
                self.poisoned = true;
                barrier::poison_shared(&self.shared);
            }
            _ => tracing::warn!(from, ?kind, barrier = self.id, "mpi: unexpected message"),
        }
    }

    fn poll(&mut self, _: &Waker, out: &mut Out) {
        if self.poisoned {
            return;
        }
        let (held, enrolled, poisoned) = barrier::gate_state(&self.shared);
        if poisoned {
            self.poisoned = true;
            for &r in self.ranks.iter().filter(|r| **r != self.me) {
                out.push(r, Kind::Poison, self.id, &[]);
            }
            return;
        }
        let coordinator = self.coordinator();
        if held && !self.reported {
            self.reported = true;
            if self.me == coordinator {
                self.count(self.me, out);
            } else {
                out.push(coordinator, Kind::Arrive, self.id, &[]);
            }
        }
        if enrolled == 0 && !self.left {
            self.left = true;
            if self.me == coordinator {
                self.leave(self.me, out);
            } else {
                out.push(coordinator, Kind::Retired, self.id, &[]);
            }
        }
    }

    fn take_error(&mut self) -> Option<String> {
        None
    }
}
