//! The runtime's seam: which process an end belongs to (and moves to), the run builder's
//! options, iteration that reports poison, the async barrier, and async processes as the
//! deadlock monitor sees them.

mod common;

use std::time::Duration;

use common::{watchdog, LIMIT};
use occamy::{
    buffered, channel, Barrier, Direction, Failure, Process, Receiver, RecvError, Result, Runtime,
    Sender,
};

fn fast() -> Runtime {
    Runtime::new().deadlock_check_interval(Duration::from_millis(20))
}

// ---- ends move between processes ----

/// A process uses an end, then hands it to another process over a channel and fails: the
/// failure poisons only what the failing process still holds, not the end it gave away.
#[test]
fn an_end_moved_to_another_process_is_no_longer_poisoned_by_its_first_user() {
    let out = watchdog(LIMIT, "moved end", || {
        let (data_tx, data_rx) = buffered::<u32>(4);
        let (hand_tx, hand_rx) = channel::<Sender<u32>>();
        let (go_tx, go_rx) = channel::<()>();
        Runtime::new().run([
            Process::with("first", (hand_tx, go_rx), move |(hand, go)| -> Result {
                data_tx.send(1)?; // registers data_tx with `first`
                hand.send(data_tx)?;
                go.recv()?; // `second` has used the end
                Err(occamy::Error::failed("first gives up"))
            }),
            Process::with("second", (hand_rx, go_tx), |(hand, go)| -> Result {
                let tx = hand.recv()?;
                tx.send(2)?; // registers it with `second`
                go.send(())?;
                // `first` fails now; its poison must not reach `tx`.
                tx.send(3)?;
                Ok(())
            }),
            Process::with("reader", data_rx, |rx| -> Result {
                let got: Vec<u32> = rx.values().collect::<std::result::Result<_, _>>()?;
                assert_eq!(got, [1, 2, 3], "the moved end stayed healthy");
                Ok(())
            }),
        ])
    });
    let err = out.result.unwrap_err();
    assert_eq!(err.process, "first");
    let ends = |name: &str| {
        out.processes
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .ends
            .iter()
            .filter(|e| e.ty == "u32" && e.dir == Direction::Send)
            .count()
    };
    assert_eq!(ends("first"), 0, "first let go of the end it handed over");
    assert_eq!(ends("second"), 1);
}

/// An end declared with `Process::with` belongs to that process even if another process
/// had used it before.
#[test]
fn declaring_an_end_takes_it_from_the_process_that_used_it() {
    let out = watchdog(LIMIT, "declared end", || {
        Runtime::new().run([Process::new("parent", || -> Result {
            let (tx, rx) = buffered::<u8>(1);
            tx.send(1)?; // registers tx with `parent`
            let child = Runtime::new().spawn(Process::with("child", tx, |tx| tx.send(2)));
            let info = occamy::processes();
            let parent = info.iter().find(|p| p.name == "parent").unwrap();
            assert!(
                !parent
                    .ends
                    .iter()
                    .any(|e| e.ty == "u8" && e.dir == Direction::Send),
                "{parent:?}"
            );
            assert_eq!(rx.recv(), Ok(1));
            child.join().map_err(|e| e.to_string())?;
            assert_eq!(rx.recv(), Ok(2));
            Ok(())
        })])
    });
    out.result.unwrap();
}

// ---- iteration that reports poison ----

fn stage_with_values(rx: Receiver<u32>, tx: Sender<u32>) -> Result {
    for v in rx.values() {
        tx.send(v? + 1)?;
    }
    Ok(())
}

fn stage_with_iter(rx: Receiver<u32>, tx: Sender<u32>) -> Result {
    for v in rx.iter() {
        tx.send(v + 1)?;
    }
    Ok(())
}

/// What the reader after a stage sees when the stage's input is poisoned.
fn downstream_of_poison(stage: fn(Receiver<u32>, Sender<u32>) -> Result) -> RecvError {
    watchdog(LIMIT, "stage", move || {
        let (in_tx, in_rx) = channel();
        let (out_tx, out_rx) = channel();
        let (seen_tx, seen_rx) = std::sync::mpsc::channel();
        Runtime::new()
            .par([
                Process::with("stage", (in_rx, out_tx), move |(rx, tx)| stage(rx, tx)),
                Process::with("source", in_tx, |tx| -> Result {
                    tx.send(1)?;
                    tx.poison();
                    Ok(())
                }),
                Process::with("sink", out_rx, move |rx| {
                    assert_eq!(rx.recv(), Ok(2));
                    seen_tx.send(rx.recv().unwrap_err()).unwrap();
                }),
            ])
            .unwrap();
        seen_rx.recv().unwrap()
    })
}

#[test]
fn values_passes_poison_on_where_iter_retires() {
    assert_eq!(downstream_of_poison(stage_with_values), RecvError::Poisoned);
    // The trap `values` exists for: `iter` ends quietly, so the stage retires its output.
    assert_eq!(downstream_of_poison(stage_with_iter), RecvError::Retired);
}

#[test]
fn values_ends_at_retirement_and_yields_poison_once() {
    let (tx, rx) = buffered::<u8>(2);
    tx.send(1).unwrap();
    drop(tx);
    assert_eq!(rx.values().collect::<Vec<_>>(), [Ok(1)]);
    let (tx, rx) = channel::<u8>();
    tx.poison();
    let mut it = rx.values();
    assert_eq!(it.next(), Some(Err(RecvError::Poisoned)));
    assert_eq!(it.next(), None);
}

// ---- the builder ----

#[test]
fn a_run_can_choose_its_stack_size() {
    watchdog(LIMIT, "stack size", || {
        fn depth(n: u64) -> u64 {
            let pad = [n; 64];
            if n == 0 {
                0
            } else {
                std::hint::black_box(pad)[0] + depth(n - 1) - n + 1
            }
        }
        // 64 KiB per level of 512 bytes: deeper than the default 2 MiB would allow.
        Runtime::new()
            .stack_size(64 << 20)
            .par([Process::new("deep", || assert_eq!(depth(20_000), 20_000))])
            .unwrap();
    });
}

/// A two-process deadlock run with `runtime`; it is ended from outside after a while
/// (through extra reading ends, which do not count as possible writers) if nobody else
/// ends it.
fn stoppable_deadlock(runtime: Runtime) -> occamy::ParOutcome {
    let (c1_tx, c1_rx) = channel::<u8>();
    let (c2_tx, c2_rx) = channel::<u8>();
    let (k1, k2) = (c1_rx.clone(), c2_rx.clone());
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let stopper = std::thread::spawn(move || {
        let _ = stop_rx.recv_timeout(Duration::from_millis(400));
        k1.poison();
        k2.poison();
    });
    let out = watchdog(LIMIT, "deadlock", move || {
        runtime.run([
            Process::with("a", (c1_rx, c2_tx), |(rx, tx)| -> Result {
                tx.send(rx.recv()?)?;
                Ok(())
            }),
            Process::with("b", (c2_rx, c1_tx), |(rx, tx)| -> Result {
                tx.send(rx.recv()?)?;
                Ok(())
            }),
        ])
    });
    drop(stop_tx);
    stopper.join().unwrap();
    out
}

#[test]
fn detection_can_be_turned_off_for_one_run() {
    let seen = stoppable_deadlock(fast());
    assert!(seen.deadlock.is_some(), "with detection on it is found");
    let unseen = stoppable_deadlock(fast().deadlock_detection(false));
    assert!(unseen.deadlock.is_none(), "{:?}", unseen.deadlock);
    unseen.result.unwrap();
}

// ---- the async barrier ----

#[test]
fn async_and_thread_parties_sync_on_one_barrier() {
    watchdog(LIMIT, "async barrier", || {
        let b = Barrier::new();
        let others: Vec<Barrier> = (0..3).map(|_| b.enroll()).collect();
        let mut procs: Vec<Process> = others
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                Process::with_async(format!("async {i}"), p, |p| async move {
                    for _ in 0..50 {
                        p.sync_async().await?;
                    }
                    Ok::<(), occamy::Error>(())
                })
            })
            .collect();
        procs.push(Process::with("thread", b, |b| -> Result {
            for _ in 0..50 {
                b.sync()?;
            }
            Ok(())
        }));
        Runtime::new().par(procs).unwrap();
    });
}

#[test]
fn a_dropped_sync_future_withdraws_its_arrival() {
    let b = Barrier::new();
    let other = b.enroll();
    {
        let mut fut = Box::pin(b.sync_async());
        assert!(common::poll_once(&mut fut).is_pending());
    } // dropped: `b` has not arrived
      // `other` alone cannot complete the phase, so it times out in an alt-free way: the
      // sync would block, so test it from a thread that `b` releases afterwards.
    let t = std::thread::spawn(move || other.sync());
    common::pause();
    assert!(!t.is_finished(), "the phase waited for `b`");
    b.sync().unwrap();
    common::join("other", t).unwrap();
}

#[test]
fn poison_reaches_an_async_barrier_party() {
    watchdog(LIMIT, "poisoned async barrier", || {
        let b = Barrier::new();
        let other = b.enroll();
        let t = std::thread::spawn(move || occamy::block_on(other.sync_async()));
        common::pause();
        b.poison();
        assert_eq!(t.join().unwrap(), Err(occamy::BarrierPoisoned));
    });
}

// ---- async processes and the deadlock monitor ----

#[test]
fn a_deadlock_of_async_processes_is_found() {
    let report = watchdog(LIMIT, "async deadlock", || {
        let (a_tx, a_rx) = channel::<u8>();
        let (b_tx, b_rx) = channel::<u8>();
        a_tx.set_name("a_to_b");
        b_tx.set_name("b_to_a");
        let out = fast().run([
            Process::with_async("a", (b_rx, a_tx), |(rx, tx)| async move {
                let v = rx.recv_async().await?;
                tx.send_async(v).await?;
                Ok::<(), occamy::Error>(())
            }),
            Process::with_async("b", (a_rx, b_tx), |(rx, tx)| async move {
                let v = rx.recv_async().await?;
                tx.send_async(v).await?;
                Ok::<(), occamy::Error>(())
            }),
        ]);
        assert!(matches!(
            out.result.as_ref().unwrap_err().failure,
            Failure::Deadlock(_)
        ));
        out.deadlock.expect("found").to_string()
    });
    assert_eq!(
        report,
        "deadlock: a waits to receive on b_to_a from b; b waits to receive on a_to_b from a"
    );
}

/// An async process that waits on an occamy channel *and* on something occamy cannot see
/// (here a futures oneshot, fired from outside after a while) is never reported: its
/// waker has a clone the monitor cannot account for. Without that rule the two processes
/// below would look deadlocked: each waits to receive from the other.
#[test]
fn an_async_process_also_waiting_on_a_foreign_future_is_not_deadlocked() {
    let out = watchdog(LIMIT, "foreign future", || {
        let (tx, rx) = channel::<u8>();
        let (back_tx, back_rx) = channel::<u8>();
        let (fire, fired) = futures::channel::oneshot::channel::<()>();
        let outside = std::thread::spawn(move || {
            // Long enough for several checks at 20 ms (the test holds whatever the timing).
            std::thread::sleep(Duration::from_millis(400));
            let _ = fire.send(());
        });
        let out = fast().run([
            Process::with("holder", (tx, back_rx), |(tx, back)| -> Result {
                let _tx = tx; // never writes
                back.recv()?; // retires when `reader` ends
                Ok(())
            }),
            Process::with_async("reader", (rx, back_tx), move |(rx, back)| async move {
                let _back = back; // never writes
                let recv = std::pin::pin!(rx.recv_async());
                match futures::future::select(recv, fired).await {
                    futures::future::Either::Left(_) => Err(occamy::Error::failed("value?")),
                    futures::future::Either::Right(_) => Ok(()),
                }
            }),
        ]);
        outside.join().unwrap();
        out
    });
    assert!(out.deadlock.is_none(), "{}", out.deadlock.unwrap());
    out.result.unwrap();
}
