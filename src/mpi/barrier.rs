//! Barriers whose parties are on several ranks. Each rank keeps an ordinary local
//! [`Barrier`](crate::Barrier) for its own parties, *gated* (`crate::barrier::gate`): when
//! every local party of a phase has arrived, the phase is held instead of completing, and
//! this rank's proxy reports it (`Arrive`) to every other rank taking part. A rank
//! completes its held phase once every other rank still taking part has arrived at it:
//! one hop, where a coordinating rank (counting the arrivals, then sending each a
//! `Release`) cost the others two. A rank whose parties have all resigned says so
//! (`Retired`) and is no longer waited for. Poison goes from the rank that saw it to every
//! other rank at once.
//!
//! No phase numbers travel: each rank counts the `Arrive`s of every other. A rank's
//! `Arrive` for phase `p + 1` may come before a third rank's for `p` (it completed `p`
//! once it had them all; this rank may not have yet), so a count, not a flag: rank `r`
//! has arrived at this rank's phase `p` once `p + 1` of its `Arrive`s came. MPI keeps
//! one rank's messages to another in order, so every rank sees each other's `Arrive`s and
//! `Retired` in the same order, and all decide alike which phases a leaving rank took
//! part in. Each rank sends and receives R - 1 messages a phase, as a coordinator did
//! alone (R(R - 1) in all, against 2(R - 1)); a dissemination barrier (log R rounds) is
//! what many ranks would want, not built.

use std::sync::Arc;
use std::task::Waker;

use super::link::{Out, Proxy};
use super::wire::Kind;
use crate::barrier::{self, Shared};

/// Another rank with parties of the barrier, as this rank knows it.
struct Peer {
    rank: u32,
    /// How many `Arrive`s it has sent.
    arrived: u64,
    /// Its `Retired` came: it is no longer waited for, nor told.
    left: bool,
}

/// One rank's side of a barrier across ranks (see the module docs).
pub(crate) struct BarrierProxy {
    id: u32,
    peers: Vec<Peer>,
    shared: Arc<Shared>,
    /// The phases this rank has completed.
    phase: u64,
    /// This rank's held phase was reported; cleared by its completion.
    reported: bool,
    /// This rank's `Retired` was sent.
    left: bool,
    /// Poison was sent or received: nothing more to say.
    poisoned: bool,
}

impl BarrierProxy {
    pub(crate) fn new(id: u32, me: u32, ranks: Vec<u32>, shared: Arc<Shared>) -> BarrierProxy {
        let peers = ranks
            .into_iter()
            .filter(|r| *r != me)
            .map(|rank| Peer {
                rank,
                arrived: 0,
                left: false,
            })
            .collect();
        BarrierProxy {
            id,
            peers,
            shared,
            phase: 0,
            reported: false,
            left: false,
            poisoned: false,
        }
    }

    /// Completes this rank's held phase if every other rank still taking part has
    /// arrived at it.
    fn settle(&mut self) {
        if !self.reported {
            return;
        }
        let phase = self.phase;
        if self.peers.iter().all(|p| p.left || p.arrived > phase) {
            self.phase += 1;
            self.reported = false;
            // May hold the next phase at once (its parties arrived meanwhile): that wakes
            // this proxy, which reports it in its next poll.
            barrier::release(&self.shared);
        }
    }

    /// Sends `kind` to every other rank still taking part.
    fn tell(&self, kind: Kind, out: &mut Out) {
        for p in self.peers.iter().filter(|p| !p.left) {
            out.push(p.rank, kind, self.id, &[]);
        }
    }
}

impl Proxy for BarrierProxy {
    fn on_message(&mut self, from: u32, kind: Kind, _: &[u8], _: &Waker, _: &mut Out) {
        if self.poisoned {
            return;
        }
        match kind {
            Kind::Arrive | Kind::Retired => {
                if let Some(p) = self.peers.iter_mut().find(|p| p.rank == from) {
                    match kind {
                        Kind::Arrive => p.arrived += 1,
                        _ => p.left = true,
                    }
                }
                self.settle();
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
            for p in &self.peers {
                out.push(p.rank, Kind::Poison, self.id, &[]);
            }
            return;
        }
        if held && !self.reported {
            self.reported = true;
            self.tell(Kind::Arrive, out);
            self.settle();
        }
        if enrolled == 0 && !self.left {
            self.left = true;
            self.tell(Kind::Retired, out);
        }
    }

    fn take_error(&mut self) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire::{batch, decode};
    use super::*;
    use crate::Barrier;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll};

    fn arrive(p: &mut BarrierProxy, from: u32, out: &mut Out) {
        p.on_message(from, Kind::Arrive, &[], Waker::noop(), out);
    }

    /// What the proxy queued: (to, kind) per message.
    fn sent(out: &mut Out) -> Vec<(u32, Kind)> {
        let mut all = Vec::new();
        for (to, bytes) in std::mem::take(&mut out.batches) {
            let Some((Kind::Batch, _, payload)) = decode(&bytes) else {
                panic!("not a batch")
            };
            for one in batch(payload) {
                let (kind, link, _) = decode(one).expect("a message");
                assert_eq!(link, 7);
                all.push((to, kind));
            }
        }
        all
    }

    /// Rank 1 of 0, 1 and 2: rank 0's `Arrive` for phase 1 comes before rank 2's for
    /// phase 0 (rank 0 had them all and went on). Counted, it still stands for phase 1
    /// once rank 2 arrives at 0; taken for a flag ("rank 0 is here"), it would be lost and
    /// phase 1 would wait for ever.
    #[test]
    fn an_arrival_for_the_next_phase_before_a_third_ranks_for_this_one_counts_for_the_next() {
        let b = Barrier::new();
        assert!(barrier::gate(&b.shared, Waker::noop().clone()));
        let mut p = BarrierProxy::new(7, 1, vec![0, 1, 2], b.shared.clone());
        let mut out = Out::default();
        let mut cx = Context::from_waker(Waker::noop());

        let mut phase0 = pin!(b.sync_async());
        assert!(phase0.as_mut().poll(&mut cx).is_pending());
        p.poll(Waker::noop(), &mut out);
        assert_eq!(sent(&mut out), [(0, Kind::Arrive), (2, Kind::Arrive)]);
        arrive(&mut p, 0, &mut out);
        arrive(&mut p, 0, &mut out);
        assert!(
            phase0.as_mut().poll(&mut cx).is_pending(),
            "passed without rank 2"
        );
        arrive(&mut p, 2, &mut out);
        assert!(matches!(phase0.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));

        let mut phase1 = pin!(b.sync_async());
        assert!(phase1.as_mut().poll(&mut cx).is_pending());
        p.poll(Waker::noop(), &mut out);
        assert_eq!(sent(&mut out), [(0, Kind::Arrive), (2, Kind::Arrive)]);
        assert!(
            phase1.as_mut().poll(&mut cx).is_pending(),
            "passed without rank 2"
        );
        arrive(&mut p, 2, &mut out);
        assert!(
            matches!(phase1.as_mut().poll(&mut cx), Poll::Ready(Ok(()))),
            "rank 0's early arrival was not counted for phase 1"
        );
    }

    /// A rank that retires is no longer waited for, from the phase its `Retired` comes in.
    #[test]
    fn a_retired_rank_is_no_longer_waited_for() {
        let b = Barrier::new();
        assert!(barrier::gate(&b.shared, Waker::noop().clone()));
        let mut p = BarrierProxy::new(7, 0, vec![0, 1, 2], b.shared.clone());
        let mut out = Out::default();
        let mut cx = Context::from_waker(Waker::noop());
        let mut phase0 = pin!(b.sync_async());
        assert!(phase0.as_mut().poll(&mut cx).is_pending());
        p.poll(Waker::noop(), &mut out);
        arrive(&mut p, 1, &mut out);
        assert!(
            phase0.as_mut().poll(&mut cx).is_pending(),
            "passed without rank 2"
        );
        p.on_message(2, Kind::Retired, &[], Waker::noop(), &mut out);
        assert!(matches!(phase0.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
        sent(&mut out);
        let mut phase1 = pin!(b.sync_async());
        assert!(phase1.as_mut().poll(&mut cx).is_pending());
        p.poll(Waker::noop(), &mut out);
        // Told to rank 1 only: rank 2 has left.
        assert_eq!(sent(&mut out), [(1, Kind::Arrive)]);
        arrive(&mut p, 1, &mut out);
        assert!(matches!(phase1.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
    }
}
