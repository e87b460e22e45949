//! Poison and retirement: how parties blocked on a channel are released, what later
//! operations see, and how both spread through a process network.

mod common;

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{join, pause, watchdog, LIMIT};
use occamy::{
    alt, buffered, channel, par, Alt, Error, Event, Process, Receiver, RecvError, RecvTimeoutError,
    SendError, SendTimeoutError, Sender, TryRecvError, TrySendError,
};

// Each test that poisons a blocked party pauses first so that the party is most likely
// blocked; if it is not, it meets the poison on arrival and the outcome is the same.

#[test]
fn poison_wakes_a_blocked_reader() {
    watchdog(LIMIT, "blocked reader poisoned", || {
        let (tx, rx) = channel::<u32>();
        let reader = thread::spawn(move || rx.recv());
        pause();
        tx.poison();
        assert_eq!(join("reader", reader), Err(RecvError::Poisoned));
        assert!(tx.is_poisoned());
    });
}

#[test]
fn poison_wakes_a_blocked_writer_and_gives_its_value_back() {
    watchdog(LIMIT, "blocked writer poisoned", || {
        let (tx, rx) = channel::<String>();
        let writer = thread::spawn(move || tx.send("mine".to_string()));
        pause();
        rx.poison();
        match join("writer", writer) {
            Err(SendError::Poisoned(v)) => assert_eq!(v, "mine"),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn poison_wakes_every_blocked_party() {
    watchdog(LIMIT, "many blocked parties poisoned", || {
        let (a_tx, a_rx) = channel::<u8>();
        let (b_tx, b_rx) = channel::<u8>();
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let rx = a_rx.clone();
                thread::spawn(move || rx.recv())
            })
            .collect();
        let writers: Vec<_> = (0..3)
            .map(|i| {
                let tx = b_tx.clone();
                thread::spawn(move || tx.send(i).map_err(|e| e.into_inner()))
            })
            .collect();
        pause();
        a_tx.poison();
        b_rx.poison();
        for r in readers {
            assert_eq!(join("reader", r), Err(RecvError::Poisoned));
        }
        let mut back: Vec<u8> = writers
            .into_iter()
            .map(|w| join("writer", w).unwrap_err())
            .collect();
        back.sort_unstable();
        assert_eq!(back, [0, 1, 2], "each writer gets its own value back");
    });
}

#[test]
fn poison_wakes_a_blocked_alt_with_the_right_index() {
    watchdog(LIMIT, "blocked alt poisoned", || {
        let (_a_tx, a_rx) = channel::<u8>();
        let (b_tx, _b_rx) = channel::<u8>();
        let (c_tx, c_rx) = channel::<String>();
        let alt_thread = thread::spawn(move || {
            let mut alt = Alt::new();
            alt.recv(&a_rx);
            alt.send(&b_tx, 1);
            let c = alt.recv(&c_rx);
            let mut sel = alt.select();
            assert_eq!(sel.index(), c, "poison reported on the wrong guard");
            assert!(sel.is_poisoned());
            sel.recv(c).expect("the chosen input")
        });
        pause();
        c_tx.poison();
        assert_eq!(join("alt", alt_thread), Err(RecvError::Poisoned));
    });
}

#[test]
fn poison_wakes_a_blocked_alt_macro() {
    watchdog(LIMIT, "blocked alt! poisoned", || {
        let (_a_tx, a_rx) = channel::<u8>();
        let (b_tx, b_rx) = channel::<u8>();
        let alt_thread = thread::spawn(move || {
            alt! {
                recv(a_rx) -> v => ("a", v),
                recv(b_rx) -> v => ("b", v),
            }
        });
        pause();
        b_tx.poison();
        assert_eq!(join("alt", alt_thread), ("b", Err(RecvError::Poisoned)));
    });
}

#[test]
fn alt_reports_a_channel_poisoned_before_it_started() {
    let (a_tx, a_rx) = buffered::<u8>(1);
    a_tx.send(1).unwrap();
    let (b_tx, b_rx) = channel::<u8>();
    b_tx.poison();
    let mut alt = Alt::priority();
    let a = alt.recv(&a_rx);
    let b = alt.recv(&b_rx);
    alt.skip();
    // Poison wins over a ready guard and a skip.
    let sel = alt.select();
    assert_eq!(sel.index(), b);
    assert!(matches!(sel.event(), Event::Poisoned));
    // A disabled guard's poison is not reported.
    alt.set_enabled(b.index(), false);
    assert_eq!(alt.select().recv(a), Some(Ok(1)));
}

#[test]
fn poison_on_an_output_guard_gives_the_value_back() {
    // Poisoned before the select.
    let (tx, rx) = channel::<Vec<u8>>();
    rx.poison();
    let mut alt = Alt::new();
    let o = alt.send(&tx, vec![1, 2]);
    let sel = alt.select();
    assert_eq!(sel.index(), o);
    assert!(sel.is_poisoned());
    assert_eq!(alt.take_back(o), Some(vec![1, 2]));

    // Poisoned while the alt waits with its offer queued.
    let got = watchdog(LIMIT, "output guard poisoned while waiting", || {
        let (tx, rx) = channel::<Vec<u8>>();
        let (_idle_tx, idle) = channel::<u8>();
        let alt_thread = thread::spawn(move || {
            let mut alt = Alt::new();
            let o = alt.send(&tx, vec![3, 4]);
            alt.recv(&idle);
            let sel = alt.select();
            assert_eq!(sel.index(), o);
            assert!(sel.is_poisoned());
            alt.take_back(o)
        });
        pause();
        rx.poison();
        join("alt", alt_thread)
    });
    assert_eq!(got, Some(vec![3, 4]));

    // The macro form hands the value back in the error.
    let (tx, rx) = channel::<&str>();
    rx.poison();
    let r = alt! { send(tx, "returned") -> r => r };
    assert!(matches!(r, Err(SendError::Poisoned("returned"))));
}

#[test]
fn poison_discards_the_buffer() {
    let (tx, rx) = buffered::<u32>(5);
    (0..3).for_each(|i| tx.send(i).unwrap());
    rx.poison();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Poisoned));
    assert_eq!(rx.recv(), Err(RecvError::Poisoned));
    assert_eq!(rx.iter().count(), 0);
    assert_eq!(
        tx.carried(),
        3,
        "the values had been delivered into the buffer"
    );
}

#[test]
fn every_operation_fails_after_poison() {
    let (tx, rx) = buffered::<u8>(2);
    let (tx2, rx2) = (tx.clone(), rx.clone());
    tx2.poison();
    tx2.poison(); // harmless
    for t in [&tx, &tx2] {
        assert!(t.is_poisoned());
        assert!(matches!(t.send(1), Err(SendError::Poisoned(1))));
        assert!(matches!(t.try_send(2), Err(TrySendError::Poisoned(2))));
        assert!(matches!(
            t.send_timeout(3, Duration::from_secs(60)),
            Err(SendTimeoutError::Poisoned(3))
        ));
        assert!(matches!(
            t.send_deadline(4, Instant::now() + Duration::from_secs(60)),
            Err(SendTimeoutError::Poisoned(4))
        ));
        assert!(matches!(
            occamy::block_on(t.send_async(5)),
            Err(SendError::Poisoned(5))
        ));
    }
    for r in [&rx, &rx2] {
        assert!(r.is_poisoned());
        assert_eq!(r.recv(), Err(RecvError::Poisoned));
        assert_eq!(r.try_recv(), Err(TryRecvError::Poisoned));
        assert_eq!(
            r.recv_timeout(Duration::from_secs(60)),
            Err(RecvTimeoutError::Poisoned)
        );
        assert_eq!(occamy::block_on(r.recv_async()), Err(RecvError::Poisoned));
        assert_eq!(r.iter().next(), None);
    }
    let r = alt! { recv(rx) -> v => v, after(Duration::from_secs(60)) => panic!("timed out") };
    assert_eq!(r, Err(RecvError::Poisoned));
    // Retirement afterwards does not hide the poison.
    drop((tx, tx2));
    assert_eq!(rx.recv(), Err(RecvError::Poisoned));
    drop(rx2);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Poisoned));
}

#[test]
fn poison_after_retirement_still_poisons() {
    let (tx, rx) = channel::<u8>();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Retired));
    rx.poison();
    assert_eq!(rx.recv(), Err(RecvError::Poisoned));
}

#[test]
fn a_thread_panicking_with_an_end_poisons_the_channel() {
    watchdog(LIMIT, "panicking holder", || {
        let (tx, rx) = channel::<u8>();
        let holder = thread::spawn(move || {
            let _tx = tx;
            panic!("deliberate panic while holding a sender");
        });
        assert!(holder.join().is_err());
        // Not an ordinary retirement: the channel is poisoned.
        assert_eq!(rx.recv(), Err(RecvError::Poisoned));
    });
}

#[test]
fn retirement_wakes_blocked_parties() {
    watchdog(LIMIT, "retirement wakes", || {
        let (tx, rx) = channel::<u8>();
        let reader = thread::spawn(move || rx.recv());
        pause();
        tx.retire();
        assert_eq!(join("reader", reader), Err(RecvError::Retired));

        let (tx, rx) = channel::<u8>();
        let writer = thread::spawn(move || tx.send(6));
        pause();
        rx.retire();
        assert!(matches!(join("writer", writer), Err(SendError::Retired(6))));

        // An alt waiting on a channel whose writers all go gets `Retired` for that guard.
        let (tx, rx) = channel::<u8>();
        let (_keep, idle) = channel::<u8>();
        let alt_thread = thread::spawn(move || {
            let mut alt = Alt::new();
            alt.recv(&idle);
            let r = alt.recv(&rx);
            let sel = alt.select();
            (sel.index() == r, matches!(sel.event(), Event::Retired))
        });
        pause();
        drop(tx);
        assert_eq!(join("alt", alt_thread), (true, true));
    });
}

#[test]
fn retired_output_guard_keeps_its_value() {
    let (tx, rx) = channel::<u8>();
    drop(rx);
    let mut alt = Alt::new();
    let o = alt.send(&tx, 42);
    let sel = alt.select();
    assert_eq!(sel.index(), o);
    assert!(matches!(sel.event(), Event::Retired));
    assert_eq!(alt.take_back(o), Some(42));
}

/// A pipeline stage that forwards values until its input retires.
fn forward(rx: Receiver<u32>, tx: Sender<u32>) -> occamy::Result {
    for v in rx.iter() {
        tx.send(v)?;
    }
    // `iter` ends on retirement or poison; tell them apart.
    match rx.recv() {
        Err(RecvError::Poisoned) => Err(Error::Poisoned),
        _ => Ok(()),
    }
}

#[test]
fn retirement_cascades_through_a_pipeline() {
    const N: u32 = 1000;
    let got = watchdog(LIMIT, "retiring pipeline", || {
        let (c0_tx, c0_rx) = channel();
        let (c1_tx, c1_rx) = channel();
        let (c2_tx, c2_rx) = channel();
        let (c3_tx, c3_rx) = channel();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink_got = got.clone();
        par([
            Process::new("producer", move || -> occamy::Result {
                for i in 0..N {
                    c0_tx.send(i)?;
                }
                Ok(()) // dropping c0_tx retires the first channel
            }),
            Process::new("stage 1", move || forward(c0_rx, c1_tx)),
            Process::new("stage 2", move || forward(c1_rx, c2_tx)),
            Process::new("stage 3", move || forward(c2_rx, c3_tx)),
            Process::new("sink", move || -> occamy::Result {
                loop {
                    match c3_rx.recv() {
                        Ok(v) => sink_got.lock().unwrap().push(v),
                        Err(RecvError::Retired) => return Ok(()),
                        Err(e) => return Err(e.into()),
                    }
                }
            }),
        ])
        .expect("a retiring pipeline ends cleanly");
        Arc::try_unwrap(got).unwrap().into_inner().unwrap()
    });
    assert_eq!(got, (0..N).collect::<Vec<_>>());
}

#[test]
fn retirement_cascades_backwards_when_the_sink_leaves() {
    let taken = watchdog(LIMIT, "retiring pipeline, backwards", || {
        let (c0_tx, c0_rx) = channel();
        let (c1_tx, c1_rx) = channel();
        let (c2_tx, c2_rx) = channel();
        let (done_tx, done_rx) = buffered(1);
        par([
            Process::new("endless producer", move || -> occamy::Result {
                for i in 0.. {
                    c0_tx.send(i)?; // ends with Retired once stage 1 has gone
                }
                Ok(())
            }),
            Process::new("stage 1", move || forward(c0_rx, c1_tx)),
            Process::new("stage 2", move || forward(c1_rx, c2_tx)),
            Process::new("sink", move || -> occamy::Result {
                let got: Vec<u32> = c2_rx.iter().take(10).collect();
                done_tx.send(got)?;
                Ok(()) // dropping c2_rx retires the last channel for its writer
            }),
        ])
        .expect("backward retirement ends the network cleanly");
        done_rx.recv().unwrap()
    });
    assert_eq!(taken, (0..10).collect::<Vec<_>>());
}

#[test]
fn poison_ends_a_network_cleanly() {
    // The commstime ring of the crate docs, with the consumer poisoning its input.
    watchdog(LIMIT, "poisoned ring", || {
        let (a_tx, a_rx) = channel::<u64>();
        let (b_tx, b_rx) = channel::<u64>();
        let (c_tx, c_rx) = channel::<u64>();
        let (d_tx, d_rx) = channel::<u64>();
        par([
            Process::new("prefix", move || -> occamy::Result {
                a_tx.send(0)?;
                loop {
                    a_tx.send(c_rx.recv()?)?;
                }
            }),
            Process::new("delta", move || -> occamy::Result {
                loop {
                    let v = a_rx.recv()?;
                    d_tx.send(v)?;
                    b_tx.send(v)?;
                }
            }),
            Process::new("succ", move || -> occamy::Result {
                loop {
                    c_tx.send(b_rx.recv()? + 1)?;
                }
            }),
            Process::new("consumer", move || -> occamy::Result {
                for i in 0..1000 {
                    assert_eq!(d_rx.recv()?, i);
                }
                d_rx.poison();
                Ok(())
            }),
        ])
        .expect("poison is an ordinary end");
    });
}

#[test]
fn poison_spreads_through_a_whole_pipeline() {
    // The sink poisons its input. Every other process ends by `?` on a channel operation:
    // the stage next to the sink meets the poison, and as it ends by poison the runtime
    // poisons the other channels it used, and so on up the pipeline: every process must
    // end having seen `Poisoned` (the crate docs: "poison spreads through the network").
    let seen = watchdog(LIMIT, "poison spreading", || {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = |name: &'static str, seen: &Arc<Mutex<Vec<_>>>, r: occamy::Result| {
            seen.lock()
                .unwrap()
                .push((name, matches!(r, Err(Error::Poisoned))));
            r
        };
        let (c0_tx, c0_rx) = channel::<u32>();
        let (c1_tx, c1_rx) = channel::<u32>();
        let (c2_tx, c2_rx) = channel::<u32>();
        let (c3_tx, c3_rx) = channel::<u32>();
        let (s0, s1, s2, s3) = (seen.clone(), seen.clone(), seen.clone(), seen.clone());
        let stage = |rx: Receiver<u32>, tx: Sender<u32>| -> occamy::Result {
            loop {
                tx.send(rx.recv()?)?;
            }
        };
        par([
            Process::new("producer", move || {
                let r = (|| -> occamy::Result {
                    for i in 0.. {
                        c0_tx.send(i)?;
                    }
                    Ok(())
                })();
                record("producer", &s0, r)
            }),
            Process::new("stage 1", move || {
                record("stage 1", &s1, stage(c0_rx, c1_tx))
            }),
            Process::new("stage 2", move || {
                record("stage 2", &s2, stage(c1_rx, c2_tx))
            }),
            Process::new("stage 3", move || {
                record("stage 3", &s3, stage(c2_rx, c3_tx))
            }),
            Process::new("sink", move || -> occamy::Result {
                for _ in 0..5 {
                    c3_rx.recv()?;
                }
                pause(); // let the pipeline fill up and block on its sends
                c3_rx.poison();
                Ok(())
            }),
        ])
        .expect("poison is an ordinary end");
        Arc::try_unwrap(seen).unwrap().into_inner().unwrap()
    });
    let mut seen = seen;
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            ("producer", true),
            ("stage 1", true),
            ("stage 2", true),
            ("stage 3", true)
        ],
        "poison did not spread: (process, ended by poison)"
    );
}

#[test]
fn poison_stops_a_network_that_retirement_alone_cannot() {
    // controller -> worker -> relay -> sink, and a keeper that also holds a writer of the
    // sink's channel (so that channel never retires) and waits on the sink. Only poison
    // spreading all the way (worker -> relay -> sink -> keeper) can end this network; if
    // the relay sees its input retire instead, it ends quietly and the sink and the keeper
    // wait for ever.
    watchdog(20, "network stopped by poison", || {
        let (c_tx, c_rx) = channel::<u32>();
        let (w_tx, w_rx) = channel::<u32>();
        let (out_tx, out_rx) = channel::<u32>();
        let keeper_out = out_tx.clone();
        let (k_tx, k_rx) = channel::<()>();
        par([
            Process::new("controller", move || -> occamy::Result {
                for i in 0..3 {
                    c_tx.send(i)?;
                }
                pause(); // let the others block on their inputs
                c_tx.poison();
                Ok(())
            }),
            Process::new("worker", move || -> occamy::Result {
                loop {
                    w_tx.send(c_rx.recv()?)?;
                }
            }),
            Process::new("relay", move || -> occamy::Result {
                loop {
                    out_tx.send(w_rx.recv()?)?;
                }
            }),
            Process::new("sink", move || -> occamy::Result {
                let _ = k_tx.try_send(()); // uses its end to the keeper
                loop {
                    out_rx.recv()?;
                }
            }),
            Process::new("keeper", move || -> occamy::Result {
                let _still_a_writer = keeper_out;
                loop {
                    k_rx.recv()?;
                }
            }),
        ])
        .expect("poison is an ordinary end");
    });
}
