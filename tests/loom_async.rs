//! Loom models of the async futures' races, through the public API: a future dropped
//! (cancelled) while a peer completes it, and what becomes of its value. Run with
//! `RUSTFLAGS="--cfg loom" cargo test --release --test loom --test loom_async --target-dir
//! target/loom`; the conventions (tokens in a ledger, preemption bounds) are tests/loom.rs's.
#![cfg(loom)]

#[path = "support/loom.rs"]
mod support;

use std::sync::Arc;
use std::task::Poll;

use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::thread;
use occamy::{channel, Alt, Sender, TryRecvError};
use support::*;

// ---------------------------------------------------------------------------------------
// 4. Cancellation against completion (async futures)
// ---------------------------------------------------------------------------------------

/// A receive future polled `polls` times then dropped, while a writer thread sends: the
/// value is either received by the future or put back into the channel, where another
/// reader gets it; the writer's `send` returns `Ok` either way. Never lost.
fn cancel_recv_versus_send(polls: usize) {
    model(EXHAUSTIVE, move || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let rx2 = rx.clone();
        let l = ledger.clone();
        let writer = thread::spawn(move || tx.send(l.token(4)).expect("someone takes it"));
        let (_flag, waker) = flag_waker();
        let mut got = None;
        {
            let mut fut = rx.recv_async();
            for _ in 0..polls {
                if let Poll::Ready(r) = poll_once(&mut fut, &waker) {
                    got = Some(r.expect("the value"));
                    break;
                }
            }
            // Dropped here: withdrawn, or the value that landed goes back to the channel.
        }
        let v = match got {
            Some(v) => v,
            None => rx2.recv().expect("the value given back or still offered"),
        };
        assert_eq!(v.accept(), 4);
        writer.join().unwrap();
        assert!(
            matches!(rx.try_recv(), Err(TryRecvError::Retired)),
            "a second value appeared"
        );
        ledger.check(1, 0);
    });
}

#[test]
fn cancel_recv_future_polled_once() {
    cancel_recv_versus_send(1);
}

#[test]
fn cancel_recv_future_polled_twice() {
    cancel_recv_versus_send(2);
}

/// A receive future polled once then dropped while two writers send on a rendezvous
/// channel, then a second reader takes both values. A value that had landed in the future
/// goes back to the channel (its writer's `Ok` stands: a reader took it, then cancelled),
/// but the *other* writer must not get `Ok` before some reader has taken its value: on a
/// rendezvous channel, `send` returns only once a reader has the value.
///
/// Fails (loom finds it with a preemption bound of 2): `give_back` puts the landed value in
/// the buffer of the capacity-0 channel; the next `recv_now` pops it and then, to "make
/// room" (`while let Some(w) = inner.sendq.pop_front()` in the buffered branch of
/// `recv_now`, src/channel/mod.rs), fires the other writer `Ready` and moves its value
/// into the buffer, beyond the capacity of 0. That writer's `send` returns `Ok` while its
/// value sits in the channel, taken by no reader (a later poison would discard it). The
/// refill should only happen while `buf.len() < cap`.
#[test]
fn cancel_recv_give_back_keeps_rendezvous() {
    fn writer(tx: Sender<Token>, token: Token, done: Arc<AtomicBool>) -> thread::JoinHandle<()> {
        thread::spawn(move || {
            tx.send(token).expect("a reader takes it");
            done.store(true, SeqCst);
        })
    }
    model(Some(3), || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let rx2 = rx.clone();
        let done = [
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        ];
        let w1 = writer(tx.clone(), ledger.token(1), done[0].clone());
        let w2 = writer(tx, ledger.token(2), done[1].clone());
        let (_flag, waker) = flag_waker();
        let mut fut = rx.recv_async();
        let polled = poll_once(&mut fut, &waker);
        drop(fut); // withdrawn, or the value that landed in it goes back to the channel
        let first = match polled {
            Poll::Ready(r) => r.expect("a value"),
            Poll::Pending => rx2.recv().expect("a value"),
        };
        let other = if first.id == 1 { 2 } else { 1 };
        assert!(
            !done[other as usize - 1].load(SeqCst),
            "writer {other} got Ok before any reader took its value (first received: {})",
            first.id
        );
        let second = rx2.recv().expect("the other value");
        assert_eq!(second.id, other);
        first.accept();
        second.accept();
        w1.join().unwrap();
        w2.join().unwrap();
        ledger.check(2, 0);
    });
}

/// A send future polled `polls` times then dropped, while a reader thread does one
/// `try_recv`: either the reader got the value, or the value was dropped undelivered with
/// the future. Exactly one of the two. A send future that completed `Ok` was received.
fn cancel_send_versus_try_recv(polls: usize) {
    model(EXHAUSTIVE, move || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        // The reader hands its end back, so that the channel does not retire meanwhile.
        let reader = thread::spawn(move || {
            let received = match rx.try_recv() {
                Ok(v) => {
                    assert_eq!(v.accept(), 6);
                    true
                }
                Err(TryRecvError::Empty) => false,
                Err(e) => panic!("{e:?}"),
            };
            (received, rx)
        });
        let (_flag, waker) = flag_waker();
        let mut completed = false;
        {
            let mut fut = tx.send_async(ledger.token(6));
            for _ in 0..polls {
                if let Poll::Ready(r) = poll_once(&mut fut, &waker) {
                    r.expect("sent");
                    completed = true;
                    break;
                }
            }
        }
        let (received, rx) = reader.join().unwrap();
        if completed {
            assert!(
                received,
                "the send future completed but nobody has the value"
            );
        }
        if received {
            ledger.check(1, 0);
        } else {
            ledger.check(0, 1);
        }
        drop((tx, rx));
    });
}

#[test]
fn cancel_send_future_polled_once() {
    cancel_send_versus_try_recv(1);
}

#[test]
fn cancel_send_future_polled_twice() {
    cancel_send_versus_try_recv(2);
}

/// A select future with one input guard, polled once then dropped, while a writer sends:
/// as with a receive future, the value is received or given back, never lost.
#[test]
fn cancel_select_versus_send() {
    model(EXHAUSTIVE, || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let l = ledger.clone();
        let writer = thread::spawn(move || tx.send(l.token(8)).expect("someone takes it"));
        let (_flag, waker) = flag_waker();
        let mut alt = Alt::priority();
        let input = alt.recv(&rx);
        let mut got = None;
        {
            let mut fut = alt.select_async();
            if let Poll::Ready(mut sel) = poll_once(&mut fut, &waker) {
                assert_eq!(sel.index(), input);
                got = Some(sel.recv(input).expect("the input").expect("the value"));
            }
        }
        let v = match got {
            Some(v) => v,
            None => rx.recv().expect("the value given back or still offered"),
        };
        assert_eq!(v.accept(), 8);
        writer.join().unwrap();
        ledger.check(1, 0);
    });
}

/// An async receiver driven by loom's `block_on` against a blocking sender: the task's
/// waker is never lost (loom reports a deadlock if it were).
#[test]
fn async_recv_versus_blocking_send() {
    model(EXHAUSTIVE, || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let l = ledger.clone();
        let writer = thread::spawn(move || tx.send(l.token(1)).expect("taken"));
        let v = loom::future::block_on(rx.recv_async()).expect("the value");
        assert_eq!(v.accept(), 1);
        writer.join().unwrap();
        ledger.check(1, 0);
    });
}

/// An async sender driven by `block_on` against a blocking receiver.
#[test]
fn async_send_versus_blocking_recv() {
    model(EXHAUSTIVE, || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let reader = thread::spawn(move || rx.recv().expect("the value").accept());
        loom::future::block_on(tx.send_async(ledger.token(2))).expect("taken");
        assert_eq!(reader.join().unwrap(), 2);
        ledger.check(1, 0);
    });
}

/// An async select (input guard) driven by `block_on` against a blocking sender.
#[test]
fn async_select_versus_blocking_send() {
    model(EXHAUSTIVE, || {
        let ledger = Ledger::new();
        let (tx, rx) = channel::<Token>();
        let l = ledger.clone();
        let writer = thread::spawn(move || tx.send(l.token(3)).expect("taken"));
        let mut alt = Alt::priority();
        let input = alt.recv(&rx);
        let mut sel = loom::future::block_on(alt.select_async());
        assert_eq!(
            sel.recv(input)
                .expect("the input")
                .expect("the value")
                .accept(),
            3
        );
        writer.join().unwrap();
        ledger.check(1, 0);
    });
}
