//! The observation layer (`occamy::observe`): what a watch sees of a run while it runs and
//! after it ended, under both schedulers.

mod common;

use std::time::Duration;

use common::{watchdog, LIMIT};
use occamy::observe::{Op, ProcessState, Snapshot, State, Watch};
use occamy::{Alt, Barrier, Process, ProcessEnd, Runtime, Scheduler};

/// Takes snapshots until `pred` holds for one (the watchdog fails the test otherwise).
fn until(watch: &Watch, what: &str, pred: impl Fn(&Snapshot) -> bool) -> Snapshot {
    loop {
        let s = watch.snapshot();
        if pred(&s) {
            return s;
        }
        std::thread::yield_now();
        let _ = what;
    }
}

fn named<'a>(s: &'a Snapshot, name: &str) -> &'a ProcessState {
    s.processes
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no process {name} in {:?}", s.processes))
}

fn blocked(s: &Snapshot, name: &str, op: Op) -> bool {
    s.processes
        .iter()
        .any(|p| p.name == name && matches!(&p.state, State::Blocked { op: o, .. } if *o == op))
}

/// Blocked on send, on receive, in an alt, on a barrier and asleep, each with who is at
/// the other end; then how each ended.
fn states_under(scheduler: Scheduler) {
    let watch = Watch::new();
    let w = watch.clone();
    let (go_tx, go_rx) = occamy::channel::<()>();
    // The sleeper lets `b` go only when told: its retiring `b` must not end the picker's
    // alt before the picker has been seen in it (however long the start takes).
    let (done_tx, done_rx) = occamy::channel::<()>();
    let (a_tx, a_rx) = occamy::channel::<u32>();
    let (b_tx, b_rx) = occamy::channel::<u32>();
    a_tx.set_name("a");
    b_tx.set_name("b");
    let bar = Barrier::new();
    let bar2 = bar.enroll();
    let rt = Runtime::new().scheduler(scheduler).watch(&watch);
    let runner = std::thread::spawn(move || {
        rt.run([
            // Sends on `a` once told to; `picker` is not reading `a` until then.
            Process::with_async("sender", (go_rx, a_tx), |(go, tx)| async move {
                go.recv_async().await?;
                tx.send_async(1).await?;
                Ok::<(), occamy::Error>(())
            }),
            Process::with_async("picker", (a_rx, b_rx), |(a, b)| async move {
                let mut alt = Alt::new();
                alt.recv(&a);
                alt.recv(&b);
                let _ = alt.select_async().await;
                Ok::<(), occamy::Error>(())
            }),
            Process::with_async("party", bar2, |bar| async move {
                bar.sync_async().await.map_err(|_| occamy::Error::Poisoned)
            }),
            Process::with_async("sleeper", (b_tx, done_rx), |(tx, done)| async move {
                occamy::sleep_async(Duration::from_millis(50)).await;
                let _ = done.recv_async().await;
                drop(tx);
            }),
        ])
    });
    let s = until(&w, "every process begun, the picker in its alt", |s| {
        s.processes.len() == 4 && blocked(s, "picker", Op::Alt)
    });
    let State::Blocked { on, .. } = &named(&s, "picker").state else {
        unreachable!()
    };
    // A fair alt enrols its guards in a random order: find each by its channel.
    let mut on: Vec<_> = on.iter().collect();
    on.sort_by(|x, y| x.label.cmp(&y.label));
    let labels: Vec<&str> = on.iter().map(|w| w.label.as_str()).collect();
    assert_eq!(labels, ["a", "b"]);
    let sender = named(&s, "sender").id;
    let sleeper = named(&s, "sleeper").id;
    assert_eq!(on[0].peers, [sender]);
    assert_eq!(on[1].peers, [sleeper]);
    until(&w, "the sender waiting for its go", |s| {
        blocked(s, "sender", Op::Recv)
    });
    until(&w, "the party on its barrier", |s| {
        blocked(s, "party", Op::Barrier)
    });
    go_tx.send(()).unwrap();
    // The alt takes `a`; then the sleeper may let `b` go.
    until(&w, "the picker done with its alt", |s| {
        matches!(named(s, "picker").state, State::Ended(_))
    });
    drop(done_tx);
    // The barrier's other party is this thread: sync it.
    bar.sync().unwrap();
    let out = runner.join().unwrap();
    assert!(out.result.is_ok(), "{:?}", out.result);
    let s = watch.snapshot();
    assert!(s.finished);
    assert_eq!(s.processes.len(), 4);
    for p in &s.processes {
        assert_eq!(p.state, State::Ended(ProcessEnd::Ok), "{}", p.name);
    }
    let a = s
        .channels
        .iter()
        .find(|c| c.label == "a")
        .expect("channel a");
    assert_eq!(a.carried, 1);
    assert_eq!(a.ty, "u32");
    assert_eq!(a.writers, [sender]);
    assert_eq!(a.readers, [named(&s, "picker").id]);
}

#[test]
fn states_green() {
    watchdog(LIMIT, "states under green", || {
        states_under(Scheduler::green())
    });
}

#[test]
fn states_threads() {
    watchdog(LIMIT, "states under threads", || {
        states_under(Scheduler::Threads)
    });
}

#[test]
fn blocking_processes_are_seen_the_same() {
    watchdog(LIMIT, "blocking processes", || {
        let watch = Watch::new();
        let w = watch.clone();
        let (tx, rx) = occamy::channel::<u8>();
        tx.set_name("c");
        let (stop_tx, stop_rx) = occamy::channel::<()>();
        let rt = Runtime::new().watch(&watch);
        let runner = std::thread::spawn(move || {
            rt.run([
                Process::with("writer", (stop_rx, tx), |(stop, tx)| -> occamy::Result {
                    stop.recv()?;
                    tx.send(7)?;
                    Ok(())
                }),
                Process::with("reader", rx, |rx| rx.recv().map(drop)),
                Process::new("sleeper", || occamy::sleep(Duration::from_millis(30))),
            ])
        });
        let s = until(&w, "both blocked", |s| {
            blocked(s, "reader", Op::Recv) && blocked(s, "writer", Op::Recv)
        });
        let State::Blocked { on, timeout, .. } = &named(&s, "reader").state else {
            unreachable!()
        };
        assert!(!timeout);
        assert_eq!(on[0].peers, [named(&s, "writer").id]);
        stop_tx.send(()).unwrap();
        let out = runner.join().unwrap();
        assert!(out.result.is_ok());
        let s = until(&w, "the end", |s| s.finished);
        assert_eq!(
            s.channels.iter().find(|c| c.label == "c").unwrap().carried,
            1
        );
    });
}

#[test]
fn a_sleep_is_not_a_block_on_a_channel() {
    watchdog(LIMIT, "sleeping", || {
        let watch = Watch::new();
        let w = watch.clone();
        let (tx, rx) = occamy::channel::<()>();
        let rt = Runtime::new().watch(&watch);
        let runner = std::thread::spawn(move || {
            rt.run([Process::with_async("napper", rx, |rx| async move {
                // Sleeps in slices until told to stop: a wait on a timer, then a recv.
                loop {
                    occamy::sleep_async(Duration::from_millis(5)).await;
                    if rx.try_recv().is_ok() {
                        return;
                    }
                }
            })])
        });
        until(&w, "the napper asleep", |s| blocked(s, "napper", Op::Sleep));
        tx.send(()).unwrap();
        assert!(runner.join().unwrap().result.is_ok());
    });
}

#[test]
fn failures_and_poison_show_how_each_ended() {
    watchdog(LIMIT, "ends", || {
        let watch = Watch::new();
        let (tx, rx) = occamy::channel::<u8>();
        let out = Runtime::new().watch(&watch).run([
            Process::with("faulty", tx, |_tx| -> occamy::Result {
                Err(occamy::Error::failed("out of ideas"))
            }),
            Process::with("victim", rx, |rx| rx.recv().map(drop)),
        ]);
        assert!(out.result.is_err());
        let s = watch.snapshot();
        assert_eq!(named(&s, "faulty").state, State::Ended(ProcessEnd::Failed));
        assert_eq!(
            named(&s, "victim").state,
            State::Ended(ProcessEnd::Poisoned)
        );
        assert_eq!(State::Ended(ProcessEnd::Failed).name(), "failed");
    });
}

#[test]
fn a_deadlock_is_in_the_snapshot() {
    watchdog(LIMIT, "deadlock", || {
        let watch = Watch::new();
        let (a_tx, a_rx) = occamy::channel::<u8>();
        let (b_tx, b_rx) = occamy::channel::<u8>();
        let body = |(rx, tx): (occamy::Receiver<u8>, occamy::Sender<u8>)| -> occamy::Result {
            tx.send(rx.recv()?)?;
            Ok(())
        };
        let out = Runtime::new()
            .deadlock_check_interval(Duration::from_millis(20))
            .watch(&watch)
            .run([
                Process::with("x", (b_rx, a_tx), body),
                Process::with("y", (a_rx, b_tx), body),
            ]);
        assert!(out.deadlock.is_some());
        let s = watch.snapshot();
        assert_eq!(s.deadlocks.len(), 1);
        assert_eq!(s.deadlocks[0].cycle.len(), 2);
    });
}

#[test]
fn several_runs_and_rates() {
    watchdog(LIMIT, "two runs", || {
        let watch = Watch::new();
        assert!(!watch.finished(), "no run yet");
        assert!(watch.snapshot().processes.is_empty());
        let epoch = watch.epoch();
        for i in 0..2 {
            let (tx, rx) = occamy::channel::<u32>();
            let out = Runtime::new().watch(&watch).run([
                Process::with(format!("src{i}"), tx, |tx| -> occamy::Result {
                    for v in 0..10 {
                        tx.send(v)?;
                    }
                    Ok(())
                }),
                Process::with(format!("dst{i}"), rx, |rx| -> occamy::Result {
                    while rx.recv().is_ok() {}
                    Ok(())
                }),
            ]);
            assert!(out.result.is_ok());
        }
        assert!(watch.wait_for_change(epoch, Duration::ZERO));
        let s = watch.snapshot();
        assert!(s.finished);
        let names: Vec<&str> = s.processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["src0", "dst0", "src1", "dst1"]);
        assert_eq!(s.channels.len(), 2);
        let mut earlier = s.clone();
        earlier.at = Duration::ZERO;
        for c in &mut earlier.channels {
            c.carried = 0;
        }
        let mut later = s.clone();
        later.at = Duration::from_secs(2);
        assert_eq!(later.rates_since(&earlier), vec![5.0, 5.0]);
        // What Graph::from_processes takes, ends included.
        assert_eq!(watch.processes().len(), 4);
    });
}

#[test]
fn runs_started_inside_a_watched_run_are_watched_too() {
    watchdog(LIMIT, "nested runs", || {
        let watch = Watch::new();
        let out = Runtime::new().watch(&watch).run([Process::new("outer", || {
            let (tx, rx) = occamy::channel::<u8>();
            occamy::par([
                Process::with("inner-writer", tx, |tx| tx.send(1)),
                Process::with("inner-reader", rx, |rx| rx.recv().map(drop)),
            ])
            .map_err(|e| occamy::Error::failed(e.to_string()))
        })]);
        assert!(out.result.is_ok());
        let s = watch.snapshot();
        assert!(s.finished);
        let names: Vec<&str> = s.processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["outer", "inner-writer", "inner-reader"]);
        assert_eq!(s.channels[0].carried, 1);
    });
}
