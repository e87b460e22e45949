//! The `alt!` macro's own rules: each guard expression is evaluated once, in written order;
//! `send_from` gives an unsent value back; `exhausted` is what `Alt::select` calls
//! `Event::Exhausted`. (Fairness of `alt!` is in `alt_fair.rs` and `alt_choice.rs`.)

mod common;

use std::cell::RefCell;
use std::thread;
use std::time::{Duration, Instant};

use common::{join, watchdog, LIMIT};
use occamy::{alt, buffered, channel, pri_alt, Alt, Event, SendError};

#[test]
fn each_guard_expression_is_evaluated_once_in_written_order() {
    let (tx, rx) = buffered::<u8>(1);
    tx.send(1).unwrap();
    let (out, sink) = buffered::<u8>(1);
    // The channels are taken from arrays by an index with a side effect.
    let (rxs, outs) = ([rx], [out]);
    let log = RefCell::new(Vec::new());
    let note = |what: &'static str| log.borrow_mut().push(what);
    for round in 0..20 {
        log.borrow_mut().clear();
        let got = alt! {
            recv(rxs[{ note("rx"); 0 }]) -> v if { note("rx if"); true } => { v.unwrap(); "input" }
            send(outs[{ note("out"); 0 }], { note("value"); 2 }) -> r => { r.unwrap(); "output" }
            after({ note("after"); Duration::from_secs(3600) }) => "timeout",
        };
        // Whichever arm ran, every expression was evaluated exactly once, before the alt.
        assert_eq!(
            *log.borrow(),
            ["rx if", "rx", "out", "value", "after"],
            "round {round} chose {got}"
        );
        // Refill whatever the chosen guard used up.
        match got {
            "input" => tx.send(1).unwrap(),
            "output" => assert_eq!(sink.try_recv(), Ok(2)),
            other => panic!("{other}"),
        }
    }
}

#[test]
fn exhausted_arm_runs_when_no_guard_is_enabled_as_select_reports_exhausted() {
    let (tx, rx) = buffered::<u8>(1);
    tx.send(1).unwrap();
    let off = false;
    let mut empty: Option<u8> = None;
    // The same guards through the builder and through the macro.
    let mut alt = Alt::new();
    alt.recv_if(off, &rx);
    alt.skip_if(off);
    alt.timeout_if(off, Duration::ZERO);
    alt.deadline_if(off, Instant::now());
    let sel = alt.select();
    assert_eq!((sel.index(), sel.event()), (usize::MAX, Event::Exhausted));
    let got = alt! {
        recv(rx) -> _ if off => "input",
        skip if off => "skip",
        after(Duration::ZERO) if off => "after",
        at(Instant::now()) if off => "at",
        send_from(tx, &mut empty) -> _ => "send_from",
        exhausted => "exhausted",
    };
    assert_eq!(got, "exhausted");
    let got = pri_alt! { recv(rx) -> _ if off => 1, exhausted => 0 };
    assert_eq!(got, 0);
    assert_eq!(alt! { exhausted => 7 }, 7, "no guards at all");
    assert_eq!(rx.try_recv(), Ok(1), "a disabled guard took the value");

    // With a guard enabled, the arm does not run.
    let got = alt! {
        recv(rx) -> _ if off => "input",
        skip => "skip",
        exhausted => "exhausted",
    };
    assert_eq!(got, "skip");
}

#[test]
fn exhausted_arm_can_end_a_loop() {
    // A loop that drains two inputs, each only while it has something left to give: when
    // both are done, no guard is enabled and the `exhausted` arm breaks out.
    let (a_tx, a_rx) = buffered::<u32>(3);
    let (b_tx, b_rx) = buffered::<u32>(3);
    (0..3).for_each(|i| a_tx.send(i).unwrap());
    (10..13).for_each(|i| b_tx.send(i).unwrap());
    let (mut a_left, mut b_left) = (3, 3);
    let mut got = Vec::new();
    loop {
        alt! {
            recv(a_rx) -> v if a_left > 0 => { a_left -= 1; got.push(v.unwrap()) }
            recv(b_rx) -> v if b_left > 0 => { b_left -= 1; got.push(v.unwrap()) }
            exhausted => break,
        }
    }
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2, 10, 11, 12]);
}

#[test]
fn send_from_keeps_an_unsent_value_in_its_slot() {
    let (in_tx, in_rx) = buffered::<u8>(1);
    let (out_tx, out_rx) = channel::<String>();
    // Not chosen (no reader; the input is ready): the value is back in the slot.
    in_tx.send(1).unwrap();
    let mut slot = Some("kept".to_string());
    let got = alt! {
        send_from(out_tx, &mut slot) -> _ => panic!("nobody reads"),
        recv(in_rx) -> v => v.unwrap(),
    };
    assert_eq!(got, 1);
    assert_eq!(slot.as_deref(), Some("kept"));
    // Disabled by its precondition: the value stays.
    let got = alt! {
        send_from(out_tx, &mut slot) -> _ if false => 0,
        skip => 1,
    };
    assert_eq!(got, 1);
    assert_eq!(slot.as_deref(), Some("kept"));
    // Chosen: the value leaves the slot, into the channel.
    let reader = thread::spawn(move || out_rx.recv());
    let r = watchdog(LIMIT, "send_from to a reader", move || {
        let r = alt! {
            send_from(out_tx, &mut slot) -> r => r,
            exhausted => panic!("the slot holds a value"),
        };
        (r, slot, out_tx)
    });
    let (r, slot, out_tx) = r;
    assert_eq!(r, Ok(()));
    assert_eq!(slot, None);
    assert_eq!(join("reader", reader).as_deref(), Ok("kept"));
    // Chosen on a retired channel: the value comes back in the error, as `send` does.
    let mut slot = Some("back".to_string());
    let r = alt! {
        send_from(out_tx, &mut slot) -> r => r,
        exhausted => panic!("the slot holds a value"),
    };
    assert_eq!(r, Err(SendError::Retired("back".to_string())));
    assert_eq!(slot, None);
}

#[test]
fn send_from_offers_only_while_its_slot_holds_a_value() {
    // A producer that hands out queued items one at a time, in between taking requests:
    // the item on offer stays in `next` until a reader takes it, without a clone.
    let got = watchdog(LIMIT, "send_from producer", || {
        let (tx, rx) = channel::<String>();
        let (more_tx, more_rx) = channel::<String>();
        let reader = thread::spawn(move || rx.iter().collect::<Vec<_>>());
        let feeder = thread::spawn(move || {
            for w in ["c", "d"] {
                more_tx.send(w.to_string()).unwrap();
            }
        });
        let mut queue: Vec<String> = vec!["b".into(), "a".into()];
        let mut next: Option<String> = None;
        let mut feeding = true;
        loop {
            if next.is_none() {
                next = queue.pop();
            }
            alt! {
                send_from(tx, &mut next) -> r => r.unwrap(),
                recv(more_rx) -> v if feeding => match v {
                    Ok(v) => queue.insert(0, v),
                    Err(_) => feeding = false,
                },
                exhausted => break,
            }
        }
        drop(tx);
        join("feeder", feeder);
        join("reader", reader)
    });
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(sorted, ["a", "b", "c", "d"], "each item sent once: {got:?}");
}

#[test]
fn a_send_arm_value_that_is_not_chosen_is_dropped_with_the_alt() {
    // The documented difference from `send_from`: nothing comes back, and nothing leaks
    // into the channel.
    let (tx, rx) = channel::<std::sync::Arc<()>>();
    let value = std::sync::Arc::new(());
    let got = alt! {
        send(tx, value.clone()) -> _ => 0,
        skip => 1,
    };
    assert_eq!(got, 1);
    assert_eq!(
        std::sync::Arc::strong_count(&value),
        1,
        "the copy was dropped"
    );
    assert!(rx.try_recv().is_err());
}
