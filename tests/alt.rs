//! Alt: output guards, timeouts, skips, preconditions, retirement of guards, input and
//! output guards together, and alts racing each other (alt against alt, many alts on
//! shared channels). Fairness and priority order are in `alt_choice.rs`.

mod common;

use std::collections::VecDeque;
use std::thread;
use std::time::{Duration, Instant};

use common::{join, watchdog, LIMIT};
use occamy::{alt, buffered, channel, Alt, Event, TryRecvError};

#[test]
fn unchosen_output_guard_keeps_its_value() {
    let (in_tx, in_rx) = buffered::<u32>(1);
    in_tx.send(1).unwrap();
    let (out_tx, out_rx) = channel::<String>();
    let mut alt = Alt::priority();
    let i = alt.recv(&in_rx);
    let o = alt.send(&out_tx, "keep me".to_string());
    let mut sel = alt.select();
    assert_eq!(sel.index(), i);
    assert_eq!(sel.recv(i), Some(Ok(1)));
    assert_eq!(
        out_rx.try_recv(),
        Err(TryRecvError::Empty),
        "the value leaked"
    );
    assert_eq!(alt.take_back(o).as_deref(), Some("keep me"));
    assert_eq!(alt.take_back(o), None);
}

#[test]
fn output_guard_offered_while_waiting_comes_back_when_input_wins() {
    watchdog(LIMIT, "output offer withdrawn", || {
        let (in_tx, in_rx) = channel::<u32>();
        let (out_tx, out_rx) = channel::<Vec<u8>>();
        let mut alt = Alt::new();
        let i = alt.recv(&in_rx);
        let o = alt.send(&out_tx, vec![9, 9]);
        // The alt blocks with its offer queued on `out`; the input then wins.
        let writer = thread::spawn(move || in_tx.send(3));
        let mut sel = alt.select();
        assert_eq!(sel.index(), i);
        assert_eq!(sel.recv(i), Some(Ok(3)));
        join("writer", writer).unwrap();
        assert_eq!(
            out_rx.try_recv(),
            Err(TryRecvError::Empty),
            "the offer was left queued"
        );
        assert_eq!(alt.take_back(o), Some(vec![9, 9]));
    });
}

#[test]
fn sent_output_guard_is_idle_until_offered_again() {
    let (tx, rx) = buffered::<u8>(4);
    let mut alt = Alt::new();
    let o = alt.send(&tx, 1);
    let sel = alt.select();
    assert_eq!(sel.index(), o);
    assert_eq!(sel.event(), Event::Sent);
    assert_eq!(alt.take_back(o), None);
    // Nothing armed: nothing can be chosen.
    assert_eq!(alt.select().event(), Event::Exhausted);
    assert_eq!(alt.offer(o, 2u8), Ok(()));
    assert_eq!(alt.offer(o, 3u8), Err(3), "guard already armed");
    assert_eq!(alt.select().event(), Event::Sent);
    assert_eq!(rx.iter().take(2).collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn timeout_guards() {
    let (_tx, rx) = channel::<u8>();
    let mut alt = Alt::new();
    alt.recv(&rx);
    let t = alt.timeout(Duration::from_millis(10));
    let sel = alt.select();
    assert_eq!(sel.index(), t);
    assert!(sel.is_timeout());

    // The earliest of several deadlines is the one chosen.
    let mut alt = Alt::priority();
    alt.recv(&rx);
    alt.timeout(Duration::from_secs(3600));
    let soon = alt.timeout(Duration::from_millis(5));
    assert_eq!(alt.select().index(), soon);

    let mut alt = Alt::new();
    alt.recv(&rx);
    let d = alt.deadline(Instant::now());
    assert_eq!(alt.select().index(), d, "a past deadline is ready at once");

    let got = alt! {
        recv(rx) -> _ => "input",
        after(Duration::from_millis(5)) => "timeout",
    };
    assert_eq!(got, "timeout");
    let got = alt! {
        recv(rx) -> _ => "input",
        at(Instant::now()) => "deadline",
    };
    assert_eq!(got, "deadline");
}

#[test]
fn ready_input_beats_a_timeout() {
    watchdog(LIMIT, "input before timeout", || {
        let (tx, rx) = channel::<u8>();
        let w = thread::spawn(move || tx.send(4));
        let got = alt! {
            recv(rx) -> v => v.unwrap(),
            after(Duration::from_secs(3600)) => panic!("timed out"),
        };
        assert_eq!(got, 4);
        join("writer", w).unwrap();
    });
}

#[test]
fn skip_guards() {
    let (_tx, rx) = channel::<u8>();
    let mut alt = Alt::new();
    alt.recv(&rx);
    let s = alt.skip();
    let sel = alt.select();
    assert_eq!(sel.index(), s);
    assert!(matches!(sel.event(), Event::Skip));
    let got = alt! { recv(rx) -> _ => 1, skip => 2 };
    assert_eq!(got, 2);
}

#[test]
fn preconditions_disable_guards() {
    let (tx, rx) = buffered::<u8>(2);
    tx.send(1).unwrap();
    let mut alt = Alt::priority();
    let i = alt.recv_if(false, &rx);
    let s = alt.skip();
    assert_eq!(alt.select().index(), s, "a disabled ready input was chosen");
    alt.set_enabled(i.index(), true);
    assert_eq!(alt.select().recv(i), Some(Ok(1)));
    alt.set_enabled(i.index(), false);
    alt.set_enabled(s, false);
    let sel = alt.select();
    assert!(matches!(sel.event(), Event::Exhausted));
    assert_eq!(sel.index(), usize::MAX);

    let mut alt = Alt::new();
    alt.skip_if(false);
    alt.timeout_if(false, Duration::ZERO);
    let (otx, _orx) = buffered::<u8>(1);
    alt.send_if(false, &otx, 3);
    alt.deadline_if(false, Instant::now());
    assert!(matches!(alt.select().event(), Event::Exhausted));
    assert_eq!(otx.try_send(0), Ok(()), "a disabled output guard sent");

    tx.send(2).unwrap();
    let allow = false;
    let got = alt! {
        recv(rx) -> v if allow => v.unwrap(),
        skip => 0,
    };
    assert_eq!(got, 0);
    let got = alt! {
        recv(rx) -> v if !allow => v.unwrap(),
        skip if allow => 0,
        exhausted => panic!("the input is enabled"),
    };
    assert_eq!(got, 2);
}

#[test]
fn retired_input_is_reported_once_then_disabled() {
    let (tx, rx) = buffered::<u8>(2);
    tx.send(1).unwrap();
    drop(tx);
    let (_tx2, idle) = channel::<u8>();
    let mut alt = Alt::priority();
    let r = alt.recv(&rx);
    let s = alt.skip();
    alt.recv(&idle);
    assert_eq!(
        alt.select().recv(r),
        Some(Ok(1)),
        "buffered values come before retirement"
    );
    let sel = alt.select();
    assert_eq!(sel.index(), r);
    assert!(matches!(sel.event(), Event::Retired));
    for _ in 0..3 {
        assert_eq!(alt.select().index(), s, "a retired guard was chosen again");
    }
}

#[test]
fn merge_ends_with_exhausted_when_every_input_retired() {
    let (mut got, retired) = watchdog(LIMIT, "merge of retiring inputs", || {
        let mut rxs = Vec::new();
        let mut writers = Vec::new();
        for w in 0..4u32 {
            let (tx, rx) = channel::<u32>();
            rxs.push(rx);
            writers.push(thread::spawn(move || {
                (0..250).for_each(|i| tx.send(w * 1000 + i).unwrap())
            }));
        }
        let mut alt = Alt::new();
        let inputs: Vec<_> = rxs.iter().map(|rx| alt.recv(rx)).collect();
        let mut got = Vec::new();
        let mut retired = Vec::new();
        loop {
            let mut sel = alt.select();
            match sel.event() {
                Event::Received => got.push(sel.recv(inputs[sel.index()]).unwrap().unwrap()),
                Event::Retired => retired.push(sel.index()),
                Event::Exhausted => break,
                other => panic!("{other:?}"),
            }
        }
        writers.into_iter().for_each(|w| join("writer", w));
        (got, retired)
    });
    let mut retired = retired;
    retired.sort_unstable();
    assert_eq!(retired, [0, 1, 2, 3], "each input retires exactly once");
    got.sort_unstable();
    let expected: Vec<u32> = (0..4)
        .flat_map(|w| (0..250).map(move |i| w * 1000 + i))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn alt_with_input_and_output_guards_runs_a_buffer_process() {
    // A FIFO buffer of capacity 4 written as one alt loop: input while there is room,
    // output while there is something to give (occam's classic buffer process).
    let got = watchdog(LIMIT, "buffer process", || {
        let (in_tx, in_rx) = channel::<u32>();
        let (out_tx, out_rx) = channel::<u32>();
        let producer = thread::spawn(move || (0..500).for_each(|i| in_tx.send(i).unwrap()));
        let consumer = thread::spawn(move || out_rx.iter().collect::<Vec<_>>());
        let mut q = VecDeque::new();
        let mut in_done = false;
        while !(in_done && q.is_empty()) {
            let front = q.front().copied().unwrap_or(0);
            alt! {
                recv(in_rx) -> v if !in_done && q.len() < 4 => match v {
                    Ok(v) => q.push_back(v),
                    Err(_) => in_done = true,
                },
                send(out_tx, front) -> r if !q.is_empty() => {
                    r.unwrap();
                    q.pop_front();
                }
                exhausted => unreachable!("the loop's condition keeps a guard enabled"),
            }
        }
        drop(out_tx);
        join("producer", producer);
        join("consumer", consumer)
    });
    assert_eq!(got, (0..500).collect::<Vec<_>>());
}

#[test]
fn alt_against_alt_always_pairs_up() {
    // A offers on c1 and listens on c2; B listens on c1 and offers on c2. Each round the two
    // alts must complete exactly one communication with each other, whichever it is;
    // if both enqueued without seeing the other, the watchdog fires.
    const ROUNDS: u32 = 5000;
    let (a_log, b_log) = watchdog(60, "alt against alt", || {
        let (c1_tx, c1_rx) = channel::<u32>();
        let (c2_tx, c2_rx) = channel::<u32>();
        let a = thread::spawn(move || {
            (0..ROUNDS)
                .map(|round| {
                    alt! {
                        send(c1_tx, round) -> r => { r.unwrap(); 1 }
                        recv(c2_rx) -> v => { assert_eq!(v, Ok(round)); 2 }
                    }
                })
                .collect::<Vec<u8>>()
        });
        let b = thread::spawn(move || {
            (0..ROUNDS)
                .map(|round| {
                    alt! {
                        recv(c1_rx) -> v => { assert_eq!(v, Ok(round)); 1 }
                        send(c2_tx, round) -> r => { r.unwrap(); 2 }
                    }
                })
                .collect::<Vec<u8>>()
        });
        (join("A", a), join("B", b))
    });
    assert_eq!(a_log, b_log, "the two alts disagree on what they did");
}

#[test]
fn output_guard_meets_a_blocked_plain_receiver() {
    watchdog(LIMIT, "output guard to blocked receiver", || {
        let (tx, rx) = channel::<&'static str>();
        let reader = thread::spawn(move || rx.recv());
        // Skip until the reader is waiting: the output guard then completes at once.
        let mut alt = Alt::priority();
        let o = alt.send(&tx, "hello");
        alt.skip();
        loop {
            let sel = alt.select();
            if sel.index() == o {
                assert!(matches!(sel.event(), Event::Sent));
                break;
            }
            thread::yield_now();
        }
        assert_eq!(join("reader", reader), Ok("hello"));

        // And blocking: the alt waits with its offer until the reader comes.
        let (tx, rx) = channel::<&'static str>();
        let reader = thread::spawn(move || rx.recv());
        let r = alt! { send(tx, "again") -> r => r };
        assert_eq!(r, Ok(()));
        assert_eq!(join("reader", reader), Ok("again"));
    });
}

#[test]
fn many_alts_racing_on_shared_inputs_lose_nothing() {
    // Five alt readers, each with input guards on both shared channels; two writers.
    const PER: u32 = 10_000;
    let mut got = watchdog(60, "alts racing on shared inputs", || {
        let (tx1, rx1) = channel::<u32>();
        let (tx2, rx2) = channel::<u32>();
        let w1 = thread::spawn(move || (0..PER).for_each(|i| tx1.send(i).unwrap()));
        let w2 = thread::spawn(move || (PER..2 * PER).for_each(|i| tx2.send(i).unwrap()));
        let readers: Vec<_> = (0..5)
            .map(|_| {
                let (rx1, rx2) = (rx1.clone(), rx2.clone());
                thread::spawn(move || {
                    let mut alt = Alt::new();
                    alt.recv(&rx1);
                    alt.recv(&rx2);
                    let mut got = Vec::new();
                    loop {
                        let mut sel = alt.select();
                        match sel.event() {
                            Event::Received => {
                                let rx = [&rx1, &rx2][sel.index()];
                                got.push(sel.recv_on(rx).unwrap().unwrap())
                            }
                            Event::Retired => {}
                            Event::Exhausted => return got,
                            other => panic!("{other:?}"),
                        }
                    }
                })
            })
            .collect();
        drop((rx1, rx2));
        join("w1", w1);
        join("w2", w2);
        readers
            .into_iter()
            .flat_map(|r| join("reader", r))
            .collect::<Vec<_>>()
    });
    got.sort_unstable();
    assert!(
        got.iter().copied().eq(0..2 * PER),
        "values lost or duplicated"
    );
}

#[test]
fn many_alts_racing_with_output_guards_lose_nothing() {
    // Four alt writers offer on one shared channel (each alongside a guard that never
    // fires); three plain readers take from it.
    const PER: u32 = 5_000;
    let mut got = watchdog(60, "alts racing on a shared output", || {
        let (tx, rx) = channel::<u32>();
        let writers: Vec<_> = (0..4u32)
            .map(|w| {
                let tx = tx.clone();
                thread::spawn(move || {
                    let (_idle_tx, idle) = channel::<u32>();
                    let mut alt = Alt::new();
                    let o = alt.send(&tx, w * PER);
                    alt.recv(&idle);
                    for i in 1..=PER {
                        let sel = alt.select();
                        assert_eq!(sel.index(), o);
                        assert!(matches!(sel.event(), Event::Sent));
                        if i < PER {
                            alt.offer(o, w * PER + i).unwrap();
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.iter().collect::<Vec<_>>())
            })
            .collect();
        drop(rx);
        writers.into_iter().for_each(|w| join("writer", w));
        readers
            .into_iter()
            .flat_map(|r| join("reader", r))
            .collect::<Vec<_>>()
    });
    got.sort_unstable();
    assert!(
        got.iter().copied().eq(0..4 * PER),
        "values lost or duplicated"
    );
}

#[test]
fn alt_macro_output_guard_reports_retirement_with_the_value() {
    let (tx, rx) = channel::<String>();
    drop(rx);
    let r = alt! { send(tx, "unsent".to_string()) -> r => r };
    match r {
        Err(occamy::SendError::Retired(v)) => assert_eq!(v, "unsent"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn selected_accessors() {
    let (tx, rx) = buffered::<u8>(1);
    tx.send(8).unwrap();
    let mut alt = Alt::new();
    assert!(alt.is_empty());
    let input = alt.recv(&rx);
    assert_eq!(alt.len(), 1);
    let mut sel = alt.select();
    assert_eq!(sel.index(), 0);
    assert_eq!(sel.index(), input);
    assert_eq!(input, 0);
    assert!(!sel.is_timeout() && !sel.is_poisoned());
    assert_eq!(format!("{:?}", sel.event()), "Received");
    assert_eq!(format!("{sel:?}"), "Selected { index: 0, event: Received }");
    assert_eq!(format!("{input:?}"), "RecvGuard(0)");
    assert_eq!(sel.recv(input), Some(Ok(8)));
    assert!(format!("{alt:?}").contains("fair: true"));
    assert!(format!("{:?}", Alt::priority()).contains("fair: false"));
}

#[test]
fn typed_completion_gives_the_value_only_to_the_chosen_guard() {
    let (tx_a, rx_a) = buffered::<u8>(2);
    let (_tx_b, rx_b) = channel::<String>();
    tx_a.send(1).unwrap();
    tx_a.send(2).unwrap();
    let mut alt = Alt::priority();
    let a = alt.recv(&rx_a);
    let b = alt.recv(&rx_b);
    let s = alt.skip();
    let mut sel = alt.select();
    assert_eq!(sel.index(), a);
    assert_eq!(sel.recv(b), None, "another guard was chosen");
    assert_eq!(
        sel.recv_on(&rx_b),
        None,
        "another channel's guard was chosen"
    );
    assert_eq!(sel.recv_on(&rx_a), Some(Ok(1)));
    assert_eq!(sel.recv(a), None, "the value is handed out once");

    // A value nobody took is dropped at the next select, not handed out again.
    let _ = alt.select();
    alt.set_enabled(a.index(), false);
    let mut sel = alt.select();
    assert_eq!(sel.index(), s);
    assert_eq!(sel.recv(a), None);
    assert_eq!(
        rx_a.try_recv(),
        Err(TryRecvError::Empty),
        "value 2 was taken"
    );

    // A handle of another alt finds no guard of its type and channel here.
    let (_tx_c, rx_c) = buffered::<String>(1);
    let mut other = Alt::new();
    let foreign = other.recv(&rx_c);
    assert_eq!(foreign.index(), a.index());
    tx_a.send(3).unwrap();
    alt.set_enabled(a.index(), true);
    let mut sel = alt.select();
    assert_eq!(sel.index(), foreign.index());
    assert_eq!(sel.recv(foreign), None, "a foreign handle took a value");
    assert_eq!(sel.recv(a), Some(Ok(3)));
}

#[test]
fn output_handles_of_another_alt_or_kind_find_nothing() {
    let (tx, rx) = buffered::<u8>(1);
    let (other_tx, _other_rx) = buffered::<u8>(1);
    let mut alt = Alt::new();
    let o = alt.send(&tx, 5);
    let mut other = Alt::new();
    let foreign = other.send(&other_tx, 6);
    assert_eq!(foreign.index(), o.index());
    assert_eq!(alt.take_back(foreign), None);
    assert_eq!(alt.offer(foreign, 7), Err(7));
    let mut sel = alt.select();
    assert_eq!(sel.sent(foreign), None);
    assert_eq!(sel.sent(o), Some(Ok(())));
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(other.take_back(foreign), Some(6));
    // An index this alt has no guard at is ignored.
    alt.set_enabled(99, false);
}
