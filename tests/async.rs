//! Async channel operations, async alts, cancellation (dropped futures), and async
//! processes talking to blocking ones.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use common::{join, pause, poll_once, watchdog, LIMIT};
use futures::executor::block_on as fblock_on;
use occamy::{
    block_on, buffered, channel, par, Alt, Event, Failure, Process, RecvError, SendError,
    TryRecvError, TrySendError,
};

/// A waker that remembers whether it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn flag_waker() -> (Arc<Flag>, Waker) {
    let f = Arc::new(Flag(AtomicBool::new(false)));
    (f.clone(), Waker::from(f))
}

#[test]
fn async_send_to_a_blocking_reader_and_back_on_both_executors() {
    watchdog(LIMIT, "sync/async rendezvous", || {
        // async writer, blocking reader
        let (tx, rx) = channel::<u32>();
        let reader = thread::spawn(move || rx.iter().collect::<Vec<_>>());
        fblock_on(async {
            for i in 0..50 {
                tx.send_async(i).await.unwrap();
            }
        });
        block_on(async {
            for i in 50..100 {
                tx.send_async(i).await.unwrap();
            }
        });
        drop(tx);
        assert_eq!(join("reader", reader), (0..100).collect::<Vec<_>>());

        // blocking writer, async reader
        let (tx, rx) = channel::<u32>();
        let writer = thread::spawn(move || (0..100).for_each(|i| tx.send(i).unwrap()));
        let first: Vec<u32> = fblock_on(async {
            let mut v = Vec::new();
            for _ in 0..50 {
                v.push(rx.recv_async().await.unwrap());
            }
            v
        });
        let rest: Vec<u32> = block_on(async {
            let mut v = Vec::new();
            while let Ok(x) = rx.recv_async().await {
                v.push(x);
            }
            v
        });
        join("writer", writer);
        assert_eq!(first, (0..50).collect::<Vec<_>>());
        assert_eq!(rest, (50..100).collect::<Vec<_>>());
    });
}

#[test]
fn async_to_async_on_two_threads() {
    let got = watchdog(LIMIT, "async to async", || {
        let (tx, rx) = channel::<u32>();
        let writer = thread::spawn(move || {
            block_on(async move {
                for i in 0..1000 {
                    tx.send_async(i).await.unwrap();
                }
            })
        });
        let got = fblock_on(async move {
            let mut v = Vec::new();
            while let Ok(x) = rx.recv_async().await {
                v.push(x);
            }
            v
        });
        join("writer", writer);
        got
    });
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
}

#[test]
fn both_sides_in_one_task() {
    watchdog(LIMIT, "both sides in one task", || {
        let (tx, rx) = channel::<&str>();
        let (sent, got) = fblock_on(futures::future::join(
            tx.send_async("same task"),
            rx.recv_async(),
        ));
        assert_eq!(sent, Ok(()));
        assert_eq!(got, Ok("same task"));
        let (got, sent) = block_on(futures::future::join(
            rx.recv_async(),
            tx.send_async("other order"),
        ));
        assert_eq!(sent, Ok(()));
        assert_eq!(got, Ok("other order"));
    });
}

#[test]
fn a_pending_future_is_woken_when_its_peer_comes() {
    let (tx, rx) = channel::<u8>();
    let (flag, waker) = flag_waker();
    let mut cx = Context::from_waker(&waker);
    let mut fut = rx.recv_async();
    assert!(std::pin::Pin::new(&mut fut).poll(&mut cx).is_pending());
    assert!(!flag.0.load(Ordering::SeqCst));
    tx.try_send(3)
        .expect("the pending future is a waiting reader");
    assert!(
        flag.0.load(Ordering::SeqCst),
        "the future's waker was not woken"
    );
    assert_eq!(poll_once(&mut fut), Poll::Ready(Ok(3)));

    let (flag, waker) = flag_waker();
    let mut cx = Context::from_waker(&waker);
    let mut fut = tx.send_async(4);
    assert!(std::pin::Pin::new(&mut fut).poll(&mut cx).is_pending());
    assert_eq!(rx.try_recv(), Ok(4));
    assert!(flag.0.load(Ordering::SeqCst));
    assert!(matches!(poll_once(&mut fut), Poll::Ready(Ok(()))));
}

#[test]
fn a_dropped_pending_send_future_withdraws_its_offer() {
    let (tx, rx) = channel::<Arc<str>>();
    let value: Arc<str> = Arc::from("ghost");
    let mut fut = tx.send_async(value.clone());
    assert!(poll_once(&mut fut).is_pending());
    drop(fut);
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "a reader saw a withdrawn offer"
    );
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(10)),
        Err(occamy::RecvTimeoutError::Timeout)
    );
    assert_eq!(
        Arc::strong_count(&value),
        1,
        "the withdrawn value was not dropped"
    );
}

#[test]
fn a_dropped_recv_future_gives_back_a_value_that_landed() {
    watchdog(LIMIT, "recv future give-back", || {
        let (tx, rx) = channel::<u32>();
        let rx2 = rx.clone();
        let mut fut = rx.recv_async();
        assert!(poll_once(&mut fut).is_pending());
        // The future is a waiting reader: this send completes into it.
        let writer = thread::spawn(move || {
            tx.send(5).unwrap();
            tx
        });
        let tx = join("writer", writer);
        drop(fut); // never polled again: the value must go back to the channel
        assert_eq!(rx2.try_recv(), Ok(5), "the landed value was lost");
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Empty),
            "the value was duplicated"
        );
        drop(tx);
    });
}

#[test]
fn a_value_given_back_reaches_a_blocked_reader() {
    watchdog(LIMIT, "give-back to a blocked reader", || {
        let (tx, rx) = channel::<u32>();
        let rx2 = rx.clone();
        let mut fut = rx.recv_async();
        assert!(poll_once(&mut fut).is_pending());
        tx.send(6).unwrap(); // lands in the future at once
        let reader = thread::spawn(move || rx2.recv());
        pause(); // most likely blocked by now; if not, it finds the value in the channel
        drop(fut);
        assert_eq!(join("reader", reader), Ok(6));
    });
}

#[test]
fn a_dropped_empty_recv_future_leaves_no_reader_behind() {
    let (tx, rx) = channel::<u8>();
    let mut fut = rx.recv_async();
    assert!(poll_once(&mut fut).is_pending());
    drop(fut);
    assert!(
        matches!(tx.try_send(1), Err(TrySendError::Full(1))),
        "a dropped future still reads"
    );
}

#[test]
fn pending_futures_see_retirement_and_poison() {
    let (tx, rx) = channel::<u8>();
    let mut fut = rx.recv_async();
    assert!(poll_once(&mut fut).is_pending());
    drop(tx);
    assert_eq!(poll_once(&mut fut), Poll::Ready(Err(RecvError::Retired)));

    let (tx, rx) = channel::<u8>();
    let mut fut = rx.recv_async();
    assert!(poll_once(&mut fut).is_pending());
    tx.poison();
    assert_eq!(poll_once(&mut fut), Poll::Ready(Err(RecvError::Poisoned)));

    let (tx, rx) = channel::<String>();
    let mut fut = tx.send_async("back".to_string());
    assert!(poll_once(&mut fut).is_pending());
    rx.poison();
    match poll_once(&mut fut) {
        Poll::Ready(Err(SendError::Poisoned(v))) => assert_eq!(v, "back"),
        other => panic!("{other:?}"),
    }

    let (tx, rx) = channel::<u8>();
    let mut fut = tx.send_async(2);
    assert!(poll_once(&mut fut).is_pending());
    drop(rx);
    assert!(matches!(
        poll_once(&mut fut),
        Poll::Ready(Err(SendError::Retired(2)))
    ));
}

#[test]
fn select_async_on_both_executors() {
    watchdog(LIMIT, "select_async", || {
        let (tx, rx) = channel::<u32>();
        let (_idle_tx, idle) = channel::<u32>();
        let writer = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let mut alt = Alt::new();
        let r = alt.recv(&rx);
        alt.recv(&idle);
        let mut sel = fblock_on(alt.select_async());
        assert_eq!(sel.index(), r);
        assert_eq!(sel.recv(r), Some(Ok(1)));
        let mut sel = block_on(alt.select_async());
        assert_eq!(sel.index(), r);
        assert_eq!(sel.recv_on(&rx), Some(Ok(2)));
        join("writer", writer);
        let sel = block_on(alt.select_async());
        assert!(matches!(sel.event(), Event::Retired));
    });
}

#[test]
fn select_async_timeout_and_skip() {
    watchdog(LIMIT, "select_async timeout", || {
        let (_tx, rx) = channel::<u32>();
        let mut alt = Alt::new();
        alt.recv(&rx);
        let t = alt.timeout(Duration::from_millis(10));
        assert_eq!(fblock_on(alt.select_async()).index(), t);
        assert!(block_on(alt.select_async()).is_timeout());

        let mut alt = Alt::priority();
        alt.recv(&rx);
        let s = alt.skip();
        assert_eq!(
            poll_once(&mut alt.select_async()).map(|sel| sel.index()),
            Poll::Ready(s)
        );
    });
}

#[test]
fn select_async_with_an_output_guard() {
    watchdog(LIMIT, "select_async output", || {
        let (tx, rx) = channel::<&str>();
        let reader = thread::spawn(move || rx.recv());
        let mut alt = Alt::new();
        let o = alt.send(&tx, "from an async alt");
        let sel = block_on(alt.select_async());
        assert_eq!(sel.index(), o);
        assert!(matches!(sel.event(), Event::Sent));
        assert_eq!(join("reader", reader), Ok("from an async alt"));
    });
}

#[test]
fn a_dropped_select_future_deregisters() {
    let (tx, rx) = channel::<u8>();
    let (out_tx, out_rx) = channel::<String>();
    let mut alt = Alt::new();
    alt.recv(&rx);
    let o = alt.send(&out_tx, "unsent".to_string());
    let mut fut = alt.select_async();
    assert!(poll_once(&mut fut).is_pending());
    drop(fut);
    assert!(
        matches!(tx.try_send(1), Err(TrySendError::Full(1))),
        "a dropped select still reads"
    );
    assert_eq!(
        out_rx.try_recv(),
        Err(TryRecvError::Empty),
        "a dropped select still offers"
    );
    assert_eq!(alt.take_back(o).as_deref(), Some("unsent"));
}

#[test]
fn a_dropped_select_future_gives_back_a_value_that_landed() {
    let (tx, rx) = channel::<u32>();
    let (_idle_tx, idle) = channel::<u32>();
    let mut alt = Alt::new();
    alt.recv(&idle);
    alt.recv(&rx);
    let mut fut = alt.select_async();
    assert!(poll_once(&mut fut).is_pending());
    tx.try_send(9)
        .expect("the pending select is a waiting reader");
    drop(fut);
    drop(alt);
    assert_eq!(
        rx.try_recv(),
        Ok(9),
        "the value that landed in the select was lost"
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn async_processes_talk_to_blocking_ones_in_par() {
    let (sum, echoed) = watchdog(LIMIT, "async processes in par", || {
        let (a_tx, a_rx) = channel::<u64>();
        let (b_tx, b_rx) = channel::<u64>();
        let (c_tx, c_rx) = channel::<u64>();
        let (out_tx, out_rx) = buffered(2);
        let out2 = out_tx.clone();
        par([
            Process::new_async("async producer", async move {
                for i in 1..=100 {
                    a_tx.send_async(i).await?;
                }
                Ok::<(), occamy::Error>(())
            }),
            Process::new("blocking doubler", move || -> occamy::Result {
                for v in a_rx.iter() {
                    b_tx.send(v * 2)?;
                }
                Ok(())
            }),
            Process::new_async("async relay", async move {
                while let Ok(v) = b_rx.recv_async().await {
                    c_tx.send_async(v).await?;
                }
                Ok::<(), occamy::Error>(())
            }),
            Process::new("blocking sink", move || -> occamy::Result {
                out_tx.send(("sum", c_rx.iter().sum::<u64>()))?;
                Ok(())
            }),
            Process::new_async("async unit", async move {
                let _ = out2.send_async(("unit", 1)).await;
            }),
        ])
        .unwrap();
        let mut got: Vec<_> = out_rx.iter().collect();
        got.sort();
        (got[0].1, got[1].1)
    });
    assert_eq!(sum, 2 * (1..=100).sum::<u64>());
    assert_eq!(echoed, 1);
}

#[test]
fn async_process_failures_are_reported() {
    let err = watchdog(LIMIT, "async failure", || {
        let (tx, rx) = channel::<u8>();
        par([
            Process::new_async("async failer", async move {
                tx.send_async(1).await?;
                Err::<(), occamy::Error>("async trouble".into())
            }),
            Process::new("reader", move || -> occamy::Result {
                loop {
                    rx.recv()?;
                }
            }),
        ])
        .unwrap_err()
    });
    assert_eq!(err.process, "async failer");
    assert!(matches!(&err.failure, Failure::Error(e) if e.to_string() == "async trouble"));

    let err = watchdog(LIMIT, "async panic", || {
        let boom = async {
            panic!("async boom");
        };
        par([Process::new_async::<_, ()>("async panicker", boom)]).unwrap_err()
    });
    assert_eq!(err.process, "async panicker");
    assert!(matches!(&err.failure, Failure::Panic(m) if m == "async boom"));
}

#[test]
fn async_sleep() {
    watchdog(LIMIT, "sleep_async", || {
        let t0 = occamy::now();
        fblock_on(occamy::sleep_async(Duration::from_millis(2)));
        block_on(occamy::sleep_async(Duration::from_millis(2)));
        assert!(occamy::now() >= t0 + Duration::from_millis(4));
    });
}
