//! Loom models of the core's races, through the public API: rendezvous, alt, poison,
//! retirement, buffered channels, barriers (the async futures' cancellation races are in
//! tests/loom_async.rs; the shared helpers in tests/support/loom.rs).
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom --test loom_async --target-dir target/loom`.
//! Under `--cfg loom` the core's `Mutex`, `Condvar` and atomics are loom's (see
//! `src/loom/mod.rs`), so every interleaving of the channel, wait and alt code up to the
//! preemption bound is explored. Models use no deadlines (loom has no clock). Under loom a
//! fair alt's random order is its written order (loom replays each execution and needs the
//! same choices every time), so a fair alt is deterministic there: written order for its
//! first select, round-robin after. Values are [`Token`]s that record, in a [`Ledger`],
//! whether they ended up accepted by someone or dropped undelivered, so that each model can
//! check that a value is neither lost nor duplicated.
//!
#![cfg(loom)]

#[path = "support/loom.rs"]
mod support;

use loom::thread;
use occamy::{
    buffered, channel, Alt, Barrier, BarrierPoisoned, Event, RecvError, SendError, TryRecvError,
};
use support::*;

// ---------------------------------------------------------------------------------------
// 1. Rendezvous
// ---------------------------------------------------------------------------------------

/// One sender, one receiver: the value arrives exactly once, and `send` returns `Ok` only
/// once the value was handed over (the hand-over is counted under the channel lock).
#[test]
fn rendezvous_delivers_once() {
    model(EXHAUSTIVE, || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let l = ledger.clone();
        let sender = thread::spawn(move || {
            tx.send(l.token(7)).expect("a reader is there");
            assert_eq!(tx.carried(), 1, "send returned before the value was taken");
        });
        let v = rx.recv().expect("the value");
        assert_eq!(rx.carried(), 1);
        assert_eq!(v.accept(), 7);
        sender.join().unwrap();
        // The sender's end went with its thread: the channel retires, nothing is left in it.
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Retired)));
        ledger.check(1, 0);
    });
}

/// Two values in a row over one rendezvous channel (stale waiters of the first rendezvous
/// must not disturb the second): both arrive, in order, each once.
#[test]
fn rendezvous_two_in_order() {
    model(Some(6), || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let l = ledger.clone();
        let sender = thread::spawn(move || {
            tx.send(l.token(1)).unwrap();
            tx.send(l.token(2)).unwrap();
        });
        assert_eq!(rx.recv().unwrap().accept(), 1);
        assert_eq!(rx.recv().unwrap().accept(), 2);
        assert!(matches!(rx.recv(), Err(RecvError::Retired)));
        sender.join().unwrap();
        ledger.check(2, 0);
    });
}

// ---------------------------------------------------------------------------------------
// 2. Alt against alt, and alt against plain operations
// ---------------------------------------------------------------------------------------

/// Which guard of a two-guard alt on channels c1 and c2 completed.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Chose {
    C1,
    C2,
}

/// Side A: `send c1 ! 1` / `recv c2 ?`; side B: `recv c1 ?` / `send c2 ! 2`; each side a
/// priority alt with the given guard first. Exactly one communication happens, on the
/// same channel for both sides, and the unsent value stays with its alt.
fn alt_versus_alt(a_send_first: bool, b_recv_first: bool) {
    model(EXHAUSTIVE, move || {
        let ledger = Ledger::new();
        let (tx1, rx1) = channel::<Token>();
        let (tx2, rx2) = channel::<Token>();
        let l = ledger.clone();
        let b = thread::spawn(move || {
            let mut alt = Alt::priority();
            let (recv1, send2) = if b_recv_first {
                let r = alt.recv(&rx1);
                (r, alt.send(&tx2, l.token(2)))
            } else {
                let s = alt.send(&tx2, l.token(2));
                (alt.recv(&rx1), s)
            };
            let mut sel = alt.select();
            let i = sel.index();
            if i == recv1 {
                assert_eq!(sel.recv(recv1).unwrap().unwrap().accept(), 1);
                let back = alt.take_back(send2).expect("unsent value stays in the alt");
                assert_eq!(back.id, 2);
                Chose::C1
            } else {
                assert_eq!(i, send2);
                assert!(matches!(sel.event(), Event::Sent), "{:?}", sel.event());
                assert!(alt.take_back(send2).is_none(), "a sent value came back");
                Chose::C2
            }
        });
        let mut alt = Alt::priority();
        let (send1, recv2) = if a_send_first {
            let s = alt.send(&tx1, ledger.token(1));
            (s, alt.recv(&rx2))
        } else {
            let r = alt.recv(&rx2);
            (alt.send(&tx1, ledger.token(1)), r)
        };
        let mut sel = alt.select();
        let i = sel.index();
        let a = if i == recv2 {
            assert_eq!(sel.recv(recv2).unwrap().unwrap().accept(), 2);
            let back = alt.take_back(send1).expect("unsent value stays in the alt");
            assert_eq!(back.id, 1);
            Chose::C2
        } else {
            assert_eq!(i, send1);
            assert!(matches!(sel.event(), Event::Sent), "{:?}", sel.event());
            assert!(alt.take_back(send1).is_none(), "a sent value came back");
            Chose::C1
        };
        let b = b.join().unwrap();
        assert_eq!(a, b, "the two alts completed different communications");
        // One value delivered, the other taken back (and dropped) by its alt.
        ledger.check(1, 1);
    });
}

#[test]
fn alt_versus_alt_send_first_recv_first() {
    alt_versus_alt(true, true);
}

#[test]
fn alt_versus_alt_send_first_send_first() {
    alt_versus_alt(true, false);
}

#[test]
fn alt_versus_alt_recv_first_recv_first() {
    alt_versus_alt(false, true);
}

#[test]
fn alt_versus_alt_recv_first_send_first() {
    alt_versus_alt(false, false);
}

/// An alt (`send c1 ! 1` / `recv c2 ?`) against a plain reader of c1 and a plain writer of
/// c2 in two other threads. The alt completes one of them; it then does the other plainly,
/// so that nobody is left blocked. Both values arrive once.
#[test]
fn alt_versus_plain_send_and_recv() {
    model(Some(4), || {
        let ledger = Ledger::new();
        let (tx1, rx1) = channel::<Token>();
        let (tx2, rx2) = channel::<Token>();
        let reader = thread::spawn(move || rx1.recv().expect("value 1").accept());
        let l = ledger.clone();
        let writer = thread::spawn(move || tx2.send(l.token(2)).expect("value 2 taken"));
        let mut alt = Alt::priority();
        let send1 = alt.send(&tx1, ledger.token(1));
        let recv2 = alt.recv(&rx2);
        let mut sel = alt.select();
        if sel.index() == send1 {
            assert!(matches!(sel.event(), Event::Sent), "{:?}", sel.event());
            assert!(alt.take_back(send1).is_none());
            assert_eq!(rx2.recv().unwrap().accept(), 2);
        } else {
            assert_eq!(sel.index(), recv2);
            assert_eq!(sel.recv(recv2).unwrap().unwrap().accept(), 2);
            let v = alt.take_back(send1).expect("unsent value stays in the alt");
            tx1.send(v).expect("the reader takes it");
        }
        assert_eq!(reader.join().unwrap(), 1);
        writer.join().unwrap();
        ledger.check(2, 0);
    });
}

/// A reused alt with two input guards on one channel selects twice while a writer sends two
/// values. Both arrive once, in order. A fair alt chooses guard 0 and then guard 1 (its
/// turn, whether the value was already offered or the alt enrolled first and the writer
/// came to it); a priority alt chooses guard 0 both times. The second select may find the
/// first's other waiter still queued (fired, so stale) until the alt removes it.
fn two_guards_on_one_channel(fair: bool) {
    model(EXHAUSTIVE, move || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let l = ledger.clone();
        let writer = thread::spawn(move || {
            tx.send(l.token(1)).expect("taken");
            tx.send(l.token(2)).expect("taken");
        });
        let mut alt = if fair { Alt::new() } else { Alt::priority() };
        let guards = [alt.recv(&rx), alt.recv(&rx)];
        let mut chose = [0; 2];
        for (k, want) in [1, 2].into_iter().enumerate() {
            let mut sel = alt.select();
            chose[k] = sel.index();
            let input = guards[sel.index()];
            assert_eq!(sel.recv(input).unwrap().unwrap().accept(), want);
        }
        assert_eq!(chose, if fair { [0, 1] } else { [0, 0] });
        writer.join().unwrap();
        ledger.check(2, 0);
    });
}

#[test]
fn fair_alt_takes_turns_between_two_guards_on_one_channel() {
    two_guards_on_one_channel(true);
}

#[test]
fn priority_alt_keeps_to_the_first_of_two_guards_on_one_channel() {
    two_guards_on_one_channel(false);
}

// ---------------------------------------------------------------------------------------
// 3. Poison against waiting parties
// ---------------------------------------------------------------------------------------

/// A receiver (blocked or about to block) racing poison from the sender's side.
#[test]
fn poison_versus_blocked_recv() {
    model(EXHAUSTIVE, || {
        let (tx, rx) = channel::<Token>();
        let reader = thread::spawn(move || rx.recv());
        tx.poison();
        assert!(matches!(reader.join().unwrap(), Err(RecvError::Poisoned)));
        assert!(tx.is_poisoned());
    });
}

/// A sender racing poison from the receiver's side: it always returns, with its value.
#[test]
fn poison_versus_blocked_send() {
    model(EXHAUSTIVE, || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let l = ledger.clone();
        let writer = thread::spawn(move || match tx.send(l.token(5)) {
            Err(SendError::Poisoned(v)) => assert_eq!(v.accept(), 5),
            other => panic!("send on a poisoned channel: {other:?}"),
        });
        rx.poison();
        writer.join().unwrap();
        ledger.check(1, 0);
    });
}

/// A sender and a receiver racing poison from a third thread: either the rendezvous
/// happened (the receiver has the value, the sender `Ok`), or both see poison and the
/// sender has its value back. Never one without the other.
#[test]
fn poison_versus_rendezvous() {
    model(Some(6), || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let poisoner = tx.clone();
        let l = ledger.clone();
        let writer = thread::spawn(move || match tx.send(l.token(9)) {
            Ok(()) => true,
            Err(SendError::Poisoned(v)) => {
                assert_eq!(v.accept(), 9);
                false
            }
            Err(e) => panic!("{e:?}"),
        });
        let reader = thread::spawn(move || match rx.recv() {
            Ok(v) => {
                assert_eq!(v.accept(), 9);
                true
            }
            Err(RecvError::Poisoned) => false,
            Err(e) => panic!("{e:?}"),
        });
        poisoner.poison();
        let sent = writer.join().unwrap();
        let received = reader.join().unwrap();
        assert_eq!(sent, received, "sent {sent}, received {received}");
        ledger.check(1, 0);
    });
}

/// A priority alt (`recv c1 ?` / `send c2 ! 3`) racing poison of one of its channels: it
/// reports poison on that guard, and its unsent value stays with it.
fn poison_versus_alt(poison_c1: bool) {
    model(EXHAUSTIVE, move || {
        let ledger = Ledger::new();
        let (tx1, rx1) = channel::<Token>();
        let (tx2, rx2) = channel::<Token>();
        let l = ledger.clone();
        let alter = thread::spawn(move || {
            let mut alt = Alt::priority();
            let recv1 = alt.recv(&rx1);
            let send2 = alt.send(&tx2, l.token(3));
            let sel = alt.select();
            assert!(sel.is_poisoned(), "{:?}", sel.event());
            assert_eq!(
                sel.index(),
                if poison_c1 {
                    recv1.index()
                } else {
                    send2.index()
                }
            );
            let back = alt.take_back(send2).expect("unsent value stays in the alt");
            assert_eq!(back.accept(), 3);
        });
        if poison_c1 {
            tx1.poison();
        } else {
            rx2.poison();
        }
        alter.join().unwrap();
        ledger.check(1, 0);
        drop((tx1, rx2));
    });
}

#[test]
fn poison_versus_alt_input() {
    poison_versus_alt(true);
}

#[test]
fn poison_versus_alt_output() {
    poison_versus_alt(false);
}

/// An alt (`recv c1 ?` / `send c2 ! 3`) with a writer on c1 in another thread, racing
/// poison of c2: either the alt takes the writer's value (the shared signal fired `Ready`
/// first) or it reports poison on c2, then poisons c1 as a process ending with poison
/// would, and the writer gets its value back. Nothing is lost either way.
#[test]
fn poison_versus_alt_with_peer() {
    model(Some(5), || {
        let ledger = Ledger::new();
        let (tx1, rx1) = channel::<Token>();
        let (tx2, rx2) = channel::<Token>();
        let l = ledger.clone();
        let writer = thread::spawn(move || match tx1.send(l.token(1)) {
            Ok(()) => true,
            Err(SendError::Poisoned(v)) => {
                assert_eq!(v.accept(), 1);
                false
            }
            Err(e) => panic!("{e:?}"),
        });
        let l = ledger.clone();
        let alter = thread::spawn(move || {
            let mut alt = Alt::priority();
            let recv1 = alt.recv(&rx1);
            let send2 = alt.send(&tx2, l.token(3));
            let mut sel = alt.select();
            let got = if sel.index() == recv1 {
                assert_eq!(sel.recv(recv1).unwrap().unwrap().accept(), 1);
                true
            } else {
                assert_eq!(sel.index(), send2);
                assert!(sel.is_poisoned(), "{:?}", sel.event());
                rx1.poison();
                false
            };
            assert_eq!(alt.take_back(send2).expect("unsent").accept(), 3);
            got
        });
        rx2.poison();
        let sent = writer.join().unwrap();
        let got = alter.join().unwrap();
        assert_eq!(sent, got);
        ledger.check(2, 0);
    });
}

// ---------------------------------------------------------------------------------------
// 5. Retirement against waiting parties
// ---------------------------------------------------------------------------------------

/// The last writer goes while a reader blocks (or is about to): the reader sees `Retired`.
#[test]
fn retire_versus_blocked_recv() {
    model(EXHAUSTIVE, || {
        let (tx, rx) = channel::<Token>();
        let reader = thread::spawn(move || rx.recv());
        drop(tx);
        assert!(matches!(reader.join().unwrap(), Err(RecvError::Retired)));
    });
}

/// A writer sends once and goes: the reader gets the value, then `Retired`.
#[test]
fn retire_after_send_versus_recv() {
    model(EXHAUSTIVE, || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let l = ledger.clone();
        let writer = thread::spawn(move || {
            tx.send(l.token(1)).expect("taken");
            drop(tx);
        });
        assert_eq!(rx.recv().expect("the value").accept(), 1);
        assert!(matches!(rx.recv(), Err(RecvError::Retired)));
        writer.join().unwrap();
        ledger.check(1, 0);
    });
}

/// The last reader goes while a writer blocks: the writer sees `Retired` with its value.
#[test]
fn retire_versus_blocked_send() {
    model(EXHAUSTIVE, || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let l = ledger.clone();
        let writer = thread::spawn(move || match tx.send(l.token(2)) {
            Err(SendError::Retired(v)) => assert_eq!(v.accept(), 2),
            other => panic!("{other:?}"),
        });
        drop(rx);
        writer.join().unwrap();
        ledger.check(1, 0);
    });
}

/// One of two writers goes while a reader blocks: no retirement; the other writer's value
/// arrives, then `Retired` once it has gone too.
#[test]
fn retire_one_of_two_writers_versus_recv() {
    model(Some(6), || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let tx2 = tx.clone();
        let l = ledger.clone();
        let writer = thread::spawn(move || tx2.send(l.token(3)).expect("taken"));
        let reader = thread::spawn(move || {
            let v = rx.recv().expect("the other writer's value").accept();
            assert!(matches!(rx.recv(), Err(RecvError::Retired)));
            v
        });
        drop(tx);
        writer.join().unwrap();
        assert_eq!(reader.join().unwrap(), 3);
        ledger.check(1, 0);
    });
}

// ---------------------------------------------------------------------------------------
// 6. Buffered channel
// ---------------------------------------------------------------------------------------

/// Two writers on a channel with capacity 1, one reader: every value arrives once, and
/// each writer's values arrive in the order it sent them.
#[test]
fn buffered_two_writers_fifo() {
    model(Some(4), || {
        let ledger = Ledger::new();
        let (tx, rx) = buffered::<Token>(1);
        let tx2 = tx.clone();
        let l = ledger.clone();
        let w1 = thread::spawn(move || {
            tx.send(l.token(10)).unwrap();
            tx.send(l.token(11)).unwrap();
        });
        let l = ledger.clone();
        let w2 = thread::spawn(move || tx2.send(l.token(20)).unwrap());
        let mut got = Vec::new();
        loop {
            match rx.recv() {
                Ok(v) => got.push(v.accept()),
                Err(RecvError::Retired) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        w1.join().unwrap();
        w2.join().unwrap();
        let from1: Vec<u32> = got.iter().copied().filter(|&v| v < 20).collect();
        let from2: Vec<u32> = got.iter().copied().filter(|&v| v >= 20).collect();
        assert_eq!(from1, [10, 11], "{got:?}");
        assert_eq!(from2, [20], "{got:?}");
        ledger.check(3, 0);
    });
}

// ---------------------------------------------------------------------------------------
// 7. Barrier
// ---------------------------------------------------------------------------------------

/// Three parties, two phases; one party resigns after the first phase instead of syncing
/// again: every sync returns `Ok` and nobody is left waiting.
#[test]
fn barrier_phases_with_resignation() {
    model(Some(3), || {
        let main = Barrier::new();
        let a = main.enroll();
        let b = main.enroll();
        let ta = thread::spawn(move || {
            a.sync().unwrap();
            a.sync().unwrap();
        });
        let tb = thread::spawn(move || {
            b.sync().unwrap();
            drop(b);
        });
        main.sync().unwrap();
        main.sync().unwrap();
        ta.join().unwrap();
        tb.join().unwrap();
        assert_eq!(main.enrolled(), 1);
    });
}

/// A party syncing (and waiting for the other) racing poison: it returns `Err`.
#[test]
fn barrier_poison_versus_sync() {
    model(EXHAUSTIVE, || {
        let main = Barrier::new();
        let a = main.enroll();
        let ta = thread::spawn(move || a.sync());
        main.poison();
        assert_eq!(ta.join().unwrap(), Err(BarrierPoisoned));
        assert_eq!(main.sync(), Err(BarrierPoisoned));
    });
}
