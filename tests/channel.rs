//! Channels: rendezvous, buffering, the `try_` / `_timeout` forms, retirement by dropping
//! ends, iterators, and many-to-many traffic.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{join, pause, watchdog, LIMIT};
use occamy::{
    buffered, channel, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySendError,
};

#[test]
fn send_without_a_reader_never_completes() {
    // Deterministic: nobody ever reads, so a rendezvous send can never complete.
    let (tx, _rx) = channel::<u32>();
    assert!(matches!(tx.try_send(1), Err(TrySendError::Full(1))));
    let err = tx.send_timeout(2, Duration::from_millis(20)).unwrap_err();
    assert!(matches!(err, SendTimeoutError::Timeout(2)));
}

#[test]
fn synchronous_send_waits_for_its_reader() {
    watchdog(LIMIT, "send waits for reader", || {
        let (tx, rx) = channel::<u32>();
        let sent = Arc::new(AtomicBool::new(false));
        let flag = sent.clone();
        let writer = thread::spawn(move || {
            tx.send(7).unwrap();
            flag.store(true, Ordering::SeqCst);
        });
        // If send returned without a reader, the writer would very likely have set the
        // flag during this pause; with a correct send it cannot have.
        pause();
        assert!(
            !sent.load(Ordering::SeqCst),
            "send returned before anyone received"
        );
        assert_eq!(rx.recv(), Ok(7));
        join("writer", writer);
        assert!(sent.load(Ordering::SeqCst));
    });
}

#[test]
fn rendezvous_orders_the_two_sides() {
    // The reader records the writer's progress counter right after each receive: the
    // writer bumps it only after `send` returned, so the reader must see exactly i.
    watchdog(LIMIT, "rendezvous ordering", || {
        let (tx, rx) = channel::<usize>();
        let progress = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p = progress.clone();
        let writer = thread::spawn(move || {
            for i in 0..2000 {
                tx.send(i).unwrap();
                p.store(i + 1, Ordering::SeqCst);
            }
        });
        for i in 0..2000 {
            // Before receiving value i the writer cannot have completed send(i).
            assert!(progress.load(Ordering::SeqCst) <= i);
            assert_eq!(rx.recv(), Ok(i));
        }
        join("writer", writer);
    });
}

#[test]
fn a_million_messages_four_writers_four_readers() {
    const WRITERS: usize = 4;
    const READERS: usize = 4;
    const TOTAL: usize = 1_000_000;
    const EACH: usize = TOTAL / WRITERS;
    let got = watchdog(60, "1,000,000 messages through one channel", || {
        let started = Instant::now();
        let (tx, rx) = channel::<u32>();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..EACH {
                        tx.send((w * EACH + i) as u32).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.iter().collect::<Vec<u32>>())
            })
            .collect();
        drop(rx);
        // Plain joins: the watchdog around the whole test guards them (a join's own 30 s
        // limit was too short for a million thread rendezvous on two loaded cores).
        for w in writers {
            w.join().expect("a writer panicked");
        }
        let mut all = Vec::with_capacity(TOTAL);
        for r in readers {
            all.extend(r.join().expect("a reader panicked"));
        }
        eprintln!(
            "1,000,000 messages, 4 writers, 4 readers: {:?}",
            started.elapsed()
        );
        all
    });
    assert_eq!(got.len(), TOTAL, "lost or duplicated messages");
    let mut got = got;
    got.sort_unstable();
    assert!(
        got.iter().enumerate().all(|(i, &v)| v as usize == i),
        "lost or duplicated messages"
    );
}

#[test]
fn any_to_any_delivers_each_value_once() {
    let mut got = watchdog(LIMIT, "any-to-any", || {
        let (tx, rx) = channel::<u32>();
        let writers: Vec<_> = (0..3u32)
            .map(|w| {
                let tx = tx.clone();
                thread::spawn(move || (0..1000).for_each(|i| tx.send(w * 1000 + i).unwrap()))
            })
            .collect();
        let readers: Vec<_> = (0..5)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.into_iter().collect::<Vec<_>>())
            })
            .collect();
        drop((tx, rx));
        writers.into_iter().for_each(|w| join("writer", w));
        readers
            .into_iter()
            .flat_map(|r| join("reader", r))
            .collect::<Vec<_>>()
    });
    got.sort_unstable();
    assert_eq!(got, (0..3000).collect::<Vec<_>>());
}

#[test]
fn try_send_and_try_recv_without_a_peer() {
    let (tx, rx) = channel::<String>();
    match tx.try_send("kept".to_string()) {
        Err(TrySendError::Full(v)) => assert_eq!(v, "kept"),
        other => panic!("{other:?}"),
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn try_send_meets_a_blocked_reader() {
    watchdog(LIMIT, "try_send to blocked reader", || {
        let (tx, rx) = channel::<u32>();
        let reader = thread::spawn(move || rx.recv());
        // try_send succeeds exactly when the reader is waiting: spin until it is.
        let mut v = 41;
        loop {
            match tx.try_send(v) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => v = back + 1,
                Err(e) => panic!("{e:?}"),
            }
            thread::yield_now();
        }
        let got = join("reader", reader).unwrap();
        assert_eq!(got, v);
    });
}

#[test]
fn try_recv_meets_a_blocked_writer() {
    watchdog(LIMIT, "try_recv from blocked writer", || {
        let (tx, rx) = channel::<u32>();
        let writer = thread::spawn(move || tx.send(5));
        let got = loop {
            match rx.try_recv() {
                Ok(v) => break v,
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(e) => panic!("{e:?}"),
            }
        };
        assert_eq!(got, 5);
        assert_eq!(join("writer", writer), Ok(()));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Retired));
    });
}

#[test]
fn try_forms_report_poison_and_retirement() {
    let (tx, rx) = channel::<u8>();
    drop(rx);
    assert!(matches!(tx.try_send(1), Err(TrySendError::Retired(1))));

    let (tx, rx) = channel::<u8>();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Retired));

    let (tx, rx) = channel::<u8>();
    tx.poison();
    assert!(matches!(tx.try_send(2), Err(TrySendError::Poisoned(2))));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Poisoned));
}

#[test]
fn timeouts_give_the_value_back() {
    let (tx, rx) = channel::<Vec<u8>>();
    match tx.send_timeout(vec![1, 2, 3], Duration::from_millis(10)) {
        Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, [1, 2, 3]),
        other => panic!("{other:?}"),
    }
    let err = tx.send_deadline(vec![4], Instant::now()).unwrap_err();
    assert_eq!(err.into_inner(), [4]);
    // The timed-out offers were withdrawn: no reader ever sees them.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(10)),
        Err(RecvTimeoutError::Timeout)
    );
    assert_eq!(
        rx.recv_deadline(Instant::now()),
        Err(RecvTimeoutError::Timeout)
    );
    // The timed-out reader left no waiter behind either.
    assert!(matches!(tx.try_send(vec![]), Err(TrySendError::Full(_))));
}

#[test]
fn timeouts_complete_when_a_peer_comes() {
    watchdog(LIMIT, "timed operations with a peer", || {
        let (tx, rx) = channel::<u32>();
        let writer = thread::spawn(move || tx.send_timeout(9, Duration::from_secs(60)));
        assert_eq!(rx.recv_timeout(Duration::from_secs(60)), Ok(9));
        assert!(join("writer", writer).is_ok());

        let (tx, rx) = channel::<u32>();
        let reader = thread::spawn(move || rx.recv_timeout(Duration::from_secs(60)));
        tx.send_timeout(10, Duration::from_secs(60)).unwrap();
        assert_eq!(join("reader", reader), Ok(10));
    });
}

#[test]
fn timed_operations_report_poison_and_retirement() {
    let (tx, rx) = channel::<u8>();
    drop(rx);
    assert!(matches!(
        tx.send_timeout(1, Duration::from_secs(60)),
        Err(SendTimeoutError::Retired(1))
    ));
    let (tx, rx) = channel::<u8>();
    drop(tx);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(60)),
        Err(RecvTimeoutError::Retired)
    );
    let (tx, rx) = channel::<u8>();
    rx.poison();
    assert!(matches!(
        tx.send_timeout(1, Duration::from_secs(60)),
        Err(SendTimeoutError::Poisoned(1))
    ));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(60)),
        Err(RecvTimeoutError::Poisoned)
    );
}

#[test]
fn iterators_end_at_retirement() {
    watchdog(LIMIT, "iterators", || {
        let (tx, rx) = channel::<u32>();
        let w = thread::spawn(move || (0..100).for_each(|i| tx.send(i).unwrap()));
        assert_eq!(rx.iter().collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
        join("writer", w);
        assert_eq!(rx.iter().next(), None);

        let (tx, rx) = channel::<u32>();
        let w = thread::spawn(move || (0..10).for_each(|i| tx.send(i).unwrap()));
        let mut sum = 0;
        for v in &rx {
            sum += v;
        }
        assert_eq!(sum, 45);
        join("writer", w);

        let (tx, rx) = buffered::<u32>(4);
        (0..4).for_each(|i| tx.send(i).unwrap());
        drop(tx);
        assert_eq!(rx.into_iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
    });
}

#[test]
fn channel_retires_only_when_every_writer_has_gone() {
    let (tx, rx) = buffered::<u8>(1);
    let tx2 = tx.clone();
    drop(tx);
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "one writer is still there"
    );
    tx2.send(1).unwrap();
    tx2.retire();
    assert_eq!(
        rx.try_recv(),
        Ok(1),
        "the buffer drains before retirement shows"
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Retired));
    assert_eq!(rx.recv(), Err(RecvError::Retired));
}

#[test]
fn channel_retires_only_when_every_reader_has_gone() {
    let (tx, rx) = channel::<u8>();
    let rx2 = rx.clone();
    rx.retire();
    assert!(
        matches!(tx.try_send(1), Err(TrySendError::Full(1))),
        "one reader is still there"
    );
    drop(rx2);
    assert!(matches!(tx.try_send(1), Err(TrySendError::Retired(1))));
    match tx.send(2) {
        Err(SendError::Retired(v)) => assert_eq!(v, 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn last_reader_going_wakes_a_blocked_writer_with_its_value() {
    watchdog(LIMIT, "blocked writer retired", || {
        let (tx, rx) = channel::<String>();
        let writer = thread::spawn(move || tx.send("back".to_string()));
        pause(); // likely blocked by now; the result is the same if not
        drop(rx);
        match join("writer", writer) {
            Err(SendError::Retired(v)) => assert_eq!(v, "back"),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn last_writer_going_wakes_a_blocked_reader() {
    watchdog(LIMIT, "blocked reader retired", || {
        let (tx, rx) = channel::<u8>();
        let tx2 = tx.clone();
        let reader = thread::spawn(move || rx.recv());
        pause();
        drop(tx);
        pause();
        drop(tx2);
        assert_eq!(join("reader", reader), Err(RecvError::Retired));
    });
}

#[test]
fn buffered_channel_is_fifo_and_bounded() {
    let (tx, rx) = buffered::<u32>(10);
    for i in 0..10 {
        tx.send(i).unwrap(); // never waits: there is room
    }
    assert!(matches!(tx.try_send(10), Err(TrySendError::Full(10))));
    assert!(matches!(
        tx.send_timeout(10, Duration::from_millis(5)),
        Err(SendTimeoutError::Timeout(10))
    ));
    for i in 0..10 {
        assert_eq!(rx.try_recv(), Ok(i));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn buffered_channel_keeps_fifo_order_with_blocked_writers() {
    watchdog(LIMIT, "buffered FIFO with blocked writers", || {
        let (tx, rx) = buffered::<(u32, u32)>(3);
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let tx = tx.clone();
                thread::spawn(move || (0..2000).for_each(|i| tx.send((w, i)).unwrap()))
            })
            .collect();
        drop(tx);
        let mut next = [0u32; 3];
        for (w, i) in rx.iter() {
            assert_eq!(i, next[w as usize], "writer {w}'s values out of order");
            next[w as usize] += 1;
        }
        assert_eq!(next, [2000; 3]);
        writers.into_iter().for_each(|w| join("writer", w));
    });
}

#[test]
fn single_writer_buffered_order_is_preserved_end_to_end() {
    watchdog(LIMIT, "buffered single writer", || {
        let (tx, rx) = buffered::<u32>(2);
        let w = thread::spawn(move || (0..10_000).for_each(|i| tx.send(i).unwrap()));
        assert!(rx.iter().eq(0..10_000));
        join("writer", w);
    });
}

#[test]
fn ends_know_their_channel() {
    let (tx, rx) = channel::<u8>();
    let (tx2, rx2) = channel::<u8>();
    assert_eq!(tx.id(), rx.id());
    assert_ne!(tx.id(), tx2.id());
    assert!(tx.same_channel(&tx.clone()));
    assert!(rx.same_channel(&rx.clone()));
    assert!(!rx.same_channel(&rx2));
    assert!(!tx.is_poisoned());
    let dbg = format!("{tx:?} {rx:?}");
    assert!(
        dbg.contains("Sender<u8>") && dbg.contains("Receiver<u8>"),
        "{dbg}"
    );
    drop((tx2, rx2));
}

#[test]
fn carried_counts_delivered_values() {
    watchdog(LIMIT, "carried", || {
        let (tx, rx) = buffered::<u8>(2);
        assert_eq!(tx.carried(), 0);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let _ = tx.try_send(3); // full: not carried
        assert_eq!(rx.carried(), 2);
        let w = thread::spawn(move || {
            tx.send(3).unwrap();
            tx
        });
        assert_eq!(rx.iter().take(3).collect::<Vec<_>>(), [1, 2, 3]);
        let tx = join("writer", w);
        assert_eq!(tx.carried(), 3);
    });
}

#[test]
fn errors_display_and_give_values_back() {
    let e = SendError::Poisoned("v");
    assert_eq!(e.to_string(), "sending on a poisoned channel");
    assert_eq!(format!("{e:?}"), "SendError::Poisoned(..)");
    assert_eq!(e.into_inner(), "v");
    assert_eq!(TrySendError::Full(1).into_inner(), 1);
    assert_eq!(SendTimeoutError::Timeout(2).into_inner(), 2);
    assert!(RecvError::Retired.to_string().contains("no writers"));
    assert!(TryRecvError::Empty.to_string().contains("no writer ready"));
    assert!(RecvTimeoutError::Timeout.to_string().contains("timed out"));
}

#[test]
fn channels_makes_n_separate_channels_in_order() {
    let (txs, rxs) = occamy::channels::<usize>(3);
    assert_eq!((txs.len(), rxs.len()), (3, 3));
    for (i, (tx, rx)) in txs.iter().zip(&rxs).enumerate() {
        assert_eq!(tx.id(), rx.id(), "txs[{i}] writes to rxs[{i}]");
    }
    let ids: std::collections::BTreeSet<u64> = txs.iter().map(|t| t.id()).collect();
    assert_eq!(ids.len(), 3, "three channels, not one");
    // Rendezvous: no buffer.
    assert!(matches!(txs[1].try_send(5), Err(TrySendError::Full(5))));
    let (txs, rxs) = occamy::buffered_channels::<usize>(2, 2);
    for (i, tx) in txs.iter().enumerate() {
        tx.send(i).unwrap();
        tx.send(i + 10).unwrap();
        assert!(matches!(tx.try_send(99), Err(TrySendError::Full(99))));
    }
    drop(txs);
    let got: Vec<Vec<usize>> = rxs.iter().map(|rx| rx.iter().collect()).collect();
    assert_eq!(got, [vec![0, 10], vec![1, 11]]);
    assert!(occamy::channels::<u8>(0).0.is_empty());
}

#[test]
fn clones_hands_out_n_ends_and_the_channel_retires_when_all_have_gone() {
    let (tx, rx) = channel::<u8>();
    let mut writers = tx.clones(3);
    assert_eq!(writers.len(), 3);
    assert!(writers.iter().all(|w| w.same_channel(&writers[0])));
    writers.pop();
    writers.pop();
    // One writer is left: the reader does not see the channel retire yet.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(writers);
    assert_eq!(rx.recv(), Err(RecvError::Retired));

    let (tx, rx) = channel::<u8>();
    let readers = rx.clones(2);
    drop(readers);
    assert!(matches!(tx.send(1), Err(SendError::Retired(1))));

    // None: the end itself retires.
    let (tx, rx) = channel::<u8>();
    assert!(tx.clones(0).is_empty());
    assert_eq!(rx.recv(), Err(RecvError::Retired));
    let (tx, rx) = channel::<u8>();
    assert!(rx.clones(0).is_empty());
    assert!(matches!(tx.send(2), Err(SendError::Retired(2))));
}
