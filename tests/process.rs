//! Processes: `par`, `seq`, `spawn`, how failures and panics are reported, and what a
//! process's end does to its channels.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use common::{pause, watchdog, LIMIT};
use occamy::{
    buffered, channel, par, seq, spawn, Error, Failure, Process, ProcessResult, RecvError,
    SendError, TrySendError,
};

/// Counts how many process bodies have been dropped (so have finished on their thread).
#[derive(Clone)]
struct Ended(Arc<AtomicUsize>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn par_runs_many_processes_at_once() {
    const N: usize = 64;
    let mut got = watchdog(LIMIT, "par of many", || {
        let (tx, rx) = channel::<usize>();
        let (out_tx, out_rx) = buffered(1);
        let mut ps: Vec<Process> = (0..N)
            .map(|i| {
                let tx = tx.clone();
                Process::new(format!("worker {i}"), move || tx.send(i))
            })
            .collect();
        drop(tx);
        ps.push(Process::new("collector", move || {
            out_tx.send(rx.iter().collect::<Vec<_>>())
        }));
        par(ps).unwrap();
        out_rx.recv().unwrap()
    });
    got.sort_unstable();
    assert_eq!(got, (0..N).collect::<Vec<_>>());
}

#[test]
fn par_runs_each_process_on_a_thread_named_after_it() {
    watchdog(LIMIT, "thread names", || {
        let (tx, rx) = buffered(2);
        let tx2 = tx.clone();
        let caller = thread::current().id();
        par([
            Process::new("alpha", move || {
                assert_ne!(thread::current().id(), caller);
                tx.send(thread::current().name().map(String::from))
            }),
            Process::new("beta", move || {
                tx2.send(thread::current().name().map(String::from))
            }),
        ])
        .unwrap();
        let mut names: Vec<_> = rx.iter().map(Option::unwrap).collect();
        names.sort();
        assert_eq!(names, ["alpha", "beta"]);
    });
}

#[test]
fn par_and_seq_of_nothing_succeed() {
    par(Vec::<Process>::new()).unwrap();
    seq(Vec::<Process>::new()).unwrap();
}

#[test]
fn seq_runs_in_order_on_the_calling_thread() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let caller = thread::current().id();
    let ps = (0..5).map(|i| {
        let log = log.clone();
        Process::new(format!("step {i}"), move || {
            assert_eq!(thread::current().id(), caller);
            log.lock().unwrap().push(i);
        })
    });
    seq(ps).unwrap();
    assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3, 4]);
}

#[test]
fn seq_stops_at_the_first_failure_but_not_at_poison_or_retirement() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (l0, l1, l2, l3) = (log.clone(), log.clone(), log.clone(), log.clone());
    let err = seq([
        Process::new("poisoned", move || -> occamy::Result {
            l0.lock().unwrap().push("poisoned");
            Err(Error::Poisoned)
        }),
        Process::new("retired", move || -> occamy::Result {
            l1.lock().unwrap().push("retired");
            Err(Error::Retired)
        }),
        Process::new("failing", move || -> occamy::Result {
            l2.lock().unwrap().push("failing");
            Err("stop here".into())
        }),
        Process::new("never", move || l3.lock().unwrap().push("never")),
    ])
    .unwrap_err();
    assert_eq!(err.process, "failing");
    assert_eq!(*log.lock().unwrap(), ["poisoned", "retired", "failing"]);
}

#[test]
fn spawn_and_join() {
    watchdog(LIMIT, "spawn", || {
        let (tx, rx) = channel::<u32>();
        let (back_tx, back_rx) = channel::<u32>();
        let h = spawn(Process::new("doubler", move || -> occamy::Result {
            for v in rx.iter() {
                back_tx.send(v * 2)?;
            }
            Ok(())
        }));
        assert_eq!(h.name(), "doubler");
        for i in 0..10 {
            tx.send(i).unwrap();
            assert_eq!(back_rx.recv(), Ok(i * 2));
        }
        drop(tx); // retires its input: the process ends
        while !h.is_finished() {
            thread::yield_now();
        }
        h.join().unwrap();
        assert_eq!(back_rx.recv(), Err(RecvError::Retired));
    });
}

#[test]
fn joining_a_spawned_process_reports_its_panic() {
    let err = watchdog(LIMIT, "spawned panic", || {
        spawn(Process::new("doomed", || -> () {
            panic!("spawned and doomed")
        }))
        .join()
        .unwrap_err()
    });
    assert_eq!(err.process, "doomed");
    assert!(
        matches!(&err.failure, Failure::Panic(m) if m == "spawned and doomed"),
        "{err:?}"
    );
}

#[test]
fn a_failing_process_is_reported_by_name() {
    let err = watchdog(LIMIT, "failing process", || {
        par([
            Process::new("fine", || ()),
            Process::new("bad", || -> occamy::Result {
                Err(Error::failed("disk on fire"))
            }),
        ])
        .unwrap_err()
    });
    assert_eq!(err.process, "bad");
    match &err.failure {
        Failure::Error(e) => assert_eq!(e.to_string(), "disk on fire"),
        other => panic!("{other:?}"),
    }
    assert!(err.others.is_empty());
    assert_eq!(err.to_string(), "process `bad` failed: disk on fire");
}

#[test]
fn errors_convert_into_process_failures() {
    let err = seq([Process::new("io", || -> occamy::Result {
        Err::<(), _>(std::io::Error::other("no such device"))?;
        Ok(())
    })])
    .unwrap_err();
    assert!(err.to_string().contains("no such device"), "{err}");
    let err = seq([Process::new("string", || -> Result<(), String> {
        Err("as a string".into())
    })])
    .unwrap_err();
    assert_eq!(err.to_string(), "process `string` failed: as a string");
    let err = seq([Process::new("full", || -> Result<(), TrySendError<u8>> {
        Err(TrySendError::Full(1))
    })])
    .unwrap_err();
    assert!(err.to_string().contains("no reader ready"), "{err}");
}

#[test]
fn process_results_of_every_shape() {
    assert!(().into_result().is_ok());
    assert!(Ok::<(), Error>(()).into_result().is_ok());
    assert!(matches!(
        Err::<(), _>(RecvError::Poisoned).into_result(),
        Err(Error::Poisoned)
    ));
    assert!(matches!(
        Err::<(), _>(RecvError::Retired).into_result(),
        Err(Error::Retired)
    ));
    assert!(matches!(
        Err::<(), _>(SendError::Poisoned(1)).into_result(),
        Err(Error::Poisoned)
    ));
    assert!(matches!(
        Err::<(), _>(SendError::Retired(1)).into_result(),
        Err(Error::Retired)
    ));
    assert!(matches!(
        Err::<(), _>(occamy::BarrierPoisoned).into_result(),
        Err(Error::Poisoned)
    ));
    assert!(matches!(
        Err::<(), _>("text").into_result(),
        Err(Error::Failed(_))
    ));
    assert_eq!(Error::Poisoned.to_string(), "poisoned");
    assert_eq!(Error::Retired.to_string(), "retired");

    // All of these end normally in a par.
    watchdog(LIMIT, "result shapes", || {
        let (tx, rx) = channel::<u8>();
        drop(rx);
        let (tx2, rx2) = channel::<u8>();
        drop(tx2);
        par([
            Process::new("unit", || ()),
            Process::new("ok", || -> occamy::Result { Ok(()) }),
            Process::new("send error", move || tx.send(1)), // Retired: no reader
            Process::new("recv error", move || rx2.recv().map(drop)), // Retired
            Process::new("poisoned", || -> occamy::Result { Err(Error::Poisoned) }),
        ])
        .unwrap();
    });
    let p = Process::new("named", || ());
    assert_eq!(p.name(), "named");
    assert_eq!(format!("{p:?}"), "Process(\"named\")");
}

#[test]
fn a_panic_in_a_pipeline_ends_the_whole_par_with_its_name() {
    // source -> stage 1 -> stage 2 (panics) -> stage 3 -> sink. Every other process only
    // ends by poison or retirement, so `par` can return only if the panic stops them all.
    let ended = Arc::new(AtomicUsize::new(0));
    let e = Ended(ended.clone());
    let err = watchdog(LIMIT, "panicking pipeline", move || {
        let (c0_tx, c0_rx) = channel::<u64>();
        let (c1_tx, c1_rx) = channel::<u64>();
        let (c2_tx, c2_rx) = channel::<u64>();
        let (c3_tx, c3_rx) = channel::<u64>();
        let (e0, e1, e2, e3, e4) = (e.clone(), e.clone(), e.clone(), e.clone(), e);
        par([
            Process::new("source", move || -> occamy::Result {
                let _e = e0;
                for i in 0.. {
                    c0_tx.send(i)?;
                }
                Ok(())
            }),
            Process::new("stage 1", move || -> occamy::Result {
                let _e = e1;
                loop {
                    c1_tx.send(c0_rx.recv()?)?;
                }
            }),
            Process::new("stage 2", move || -> occamy::Result {
                let _e = e2;
                loop {
                    let v = c1_rx.recv()?;
                    if v == 7 {
                        panic!("boom at {v}");
                    }
                    c2_tx.send(v)?;
                }
            }),
            Process::new("stage 3", move || -> occamy::Result {
                let _e = e3;
                loop {
                    c3_tx.send(c2_rx.recv()?)?;
                }
            }),
            Process::new("sink", move || -> occamy::Result {
                let _e = e4;
                loop {
                    c3_rx.recv()?;
                }
            }),
        ])
        .unwrap_err()
    });
    // `par` returned, so every process had ended and been joined.
    assert_eq!(ended.load(Ordering::SeqCst), 5, "a process was left behind");
    assert_eq!(err.process, "stage 2");
    assert!(
        matches!(&err.failure, Failure::Panic(m) if m == "boom at 7"),
        "{err:?}"
    );
    assert!(
        err.others.is_empty(),
        "poison and retirement are not failures: {err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("stage 2") && shown.contains("boom at 7"),
        "{shown}"
    );
    assert_eq!(shown, "process `stage 2` panicked: boom at 7");
}

#[test]
fn later_failures_are_kept_in_others() {
    // "second" fails only after it has seen the poison that "first"'s failure spreads, so
    // the order in which they happened is fixed.
    let err = watchdog(LIMIT, "two failures", || {
        let (tx, rx) = channel::<u8>();
        let keep = tx.clone(); // so that "first" ending does not retire the channel
        par([
            Process::new("first", move || -> occamy::Result {
                let _ = tx.try_send(0); // use the end: it is now this process's
                Err("first failure".into())
            }),
            Process::new("second", move || -> occamy::Result {
                let _keep = keep;
                while rx.recv().is_ok() {}
                Err("second failure".into())
            }),
        ])
        .unwrap_err()
    });
    assert_eq!(err.process, "first");
    assert_eq!(err.others.len(), 1, "{err:?}");
    assert_eq!(err.others[0].0, "second");
    assert!(matches!(&err.others[0].1, Failure::Error(e) if e.to_string() == "second failure"));
    assert_eq!(
        err.to_string(),
        "process `first` failed: first failure (and 1 more failed)"
    );
}

#[test]
fn a_process_ending_by_poison_poisons_its_other_channels() {
    // "middle" uses its output, then meets poison on its input and ends by `?`. Its
    // neighbour, blocked reading that output, must wake; afterwards the output channel is
    // poisoned (not merely retired).
    let (woke_with, out_end) = watchdog(LIMIT, "poison spreading to a neighbour", || {
        let (in_tx, in_rx) = channel::<u8>();
        let (mid_tx, mid_rx) = channel::<u8>();
        let (report_tx, report_rx) = buffered(1);
        par([
            Process::new("middle", move || -> occamy::Result {
                mid_tx.send(1)?;
                in_rx.recv()?; // poisoned by the controller
                unreachable!("the input only ever gets poison");
            }),
            Process::new("neighbour", move || -> occamy::Result {
                assert_eq!(mid_rx.recv(), Ok(1));
                let second = mid_rx.recv(); // blocked until "middle" ends
                report_tx.send((second, mid_rx))?;
                Ok(())
            }),
            Process::new("controller", move || {
                pause(); // let both block
                in_tx.poison();
            }),
        ])
        .unwrap();
        report_rx.recv().unwrap()
    });
    assert!(
        woke_with.is_err(),
        "the neighbour got a value: {woke_with:?}"
    );
    assert!(
        out_end.is_poisoned(),
        "the ended process's other channel was not poisoned"
    );
}

#[test]
fn a_failing_process_poisons_rather_than_retires_its_channels() {
    // The crate docs: "A failing or panicking process is reported by name and its channels
    // are poisoned, so the rest of the network stops too." A neighbour blocked reading from
    // the failing process must therefore see `Poisoned`, as it does when the process
    // panics; seeing `Retired` would tell it the network is ending normally.
    let seen = watchdog(LIMIT, "failure seen by a neighbour", || {
        let mut seen = Vec::new();
        for how in ["fails", "panics"] {
            let (tx, rx) = channel::<u8>();
            let (report_tx, report_rx) = buffered(1);
            let err = par([
                Process::new(how, move || -> occamy::Result {
                    tx.send(1)?;
                    pause(); // let the neighbour block on its next receive
                    if how == "panics" {
                        panic!("deliberate");
                    }
                    Err("deliberate".into())
                }),
                Process::new("neighbour", move || -> occamy::Result {
                    rx.recv()?;
                    report_tx.send(rx.recv())?;
                    Ok(())
                }),
            ])
            .unwrap_err();
            assert_eq!(err.process, how);
            seen.push((how, report_rx.recv().unwrap()));
        }
        seen
    });
    assert_eq!(
        seen,
        [
            ("fails", Err(RecvError::Poisoned)),
            ("panics", Err(RecvError::Poisoned))
        ],
        "what a neighbour blocked on a failing process sees"
    );
}

#[test]
fn a_failing_process_stops_its_neighbours() {
    // Whatever the neighbours see, a failure must not leave the network hanging.
    let err = watchdog(LIMIT, "failure stops the network", || {
        let (a_tx, a_rx) = channel::<u32>();
        let (b_tx, b_rx) = channel::<u32>();
        par([
            Process::new("producer", move || -> occamy::Result {
                for i in 0.. {
                    a_tx.send(i)?;
                }
                Ok(())
            }),
            Process::new("checker", move || -> occamy::Result {
                loop {
                    let v = a_rx.recv()?;
                    if v == 100 {
                        return Err(Error::failed(format!("bad value {v}")));
                    }
                    b_tx.send(v)?;
                }
            }),
            Process::new("consumer", move || -> occamy::Result {
                loop {
                    b_rx.recv()?;
                }
            }),
        ])
        .unwrap_err()
    });
    assert_eq!(err.process, "checker");
    assert_eq!(err.to_string(), "process `checker` failed: bad value 100");
}

#[test]
fn a_process_returning_poisoned_itself_spreads_the_poison() {
    // `Error::Poisoned` is a public variant: a process may notice poison without `?` (e.g.
    // an iterator that ended) and return it directly. The crate docs promise the same as
    // for `?`: "a process that ends with Error::Poisoned poisons every other channel it
    // used", so a neighbour blocked on its output must see `Poisoned`, not `Retired`.
    let seen = watchdog(LIMIT, "explicit poison spreading", || {
        let (in_tx, in_rx) = channel::<u8>();
        let (out_tx, out_rx) = channel::<u8>();
        let (report_tx, report_rx) = buffered(1);
        par([
            Process::new("forwarder", move || -> occamy::Result {
                for v in in_rx.iter() {
                    if out_tx.send(v).is_err() {
                        return Err(Error::Poisoned);
                    }
                }
                // `iter` ended: by retirement or poison?
                match in_rx.try_recv() {
                    Err(occamy::TryRecvError::Poisoned) => Err(Error::Poisoned),
                    _ => Ok(()),
                }
            }),
            Process::new("neighbour", move || -> occamy::Result {
                assert_eq!(out_rx.recv(), Ok(1));
                report_tx.send(out_rx.recv())?; // blocked until the forwarder ends
                Ok(())
            }),
            Process::new("controller", move || -> occamy::Result {
                in_tx.send(1)?;
                pause(); // let the others block
                in_tx.poison();
                Ok(())
            }),
        ])
        .unwrap();
        report_rx.recv().unwrap()
    });
    assert_eq!(
        seen,
        Err(RecvError::Poisoned),
        "the neighbour was told the network ended normally"
    );
}

#[test]
fn a_process_that_handled_an_error_still_retires_its_channels_when_it_ends() {
    // The producer makes a non-blocking offer on a side channel nobody reads, and ignores
    // its failure (converted by `?` inside a helper). It then sends three values and ends
    // normally: dropping its output must *retire* the channel, so the consumer sees the
    // ordinary end, not poison.
    let (got, end) = watchdog(LIMIT, "normal end after a handled error", || {
        let (side_tx, _side_rx) = channel::<u8>();
        let (out_tx, out_rx) = channel::<u8>();
        let (report_tx, report_rx) = buffered(1);
        par([
            Process::new("producer", move || -> occamy::Result {
                let offer = |v| -> occamy::Result {
                    side_tx.try_send(v)?; // no reader: fails with Full, handled below
                    Ok(())
                };
                assert!(offer(0).is_err());
                for i in 1..=3 {
                    out_tx.send(i)?;
                }
                Ok(())
            }),
            Process::new("consumer", move || -> occamy::Result {
                let got: Vec<u8> = out_rx.iter().collect();
                report_tx.send((got, out_rx.recv()))?;
                Ok(())
            }),
        ])
        .unwrap();
        report_rx.recv().unwrap()
    });
    assert_eq!(got, [1, 2, 3]);
    assert_eq!(
        end,
        Err(RecvError::Retired),
        "a normally ending process poisoned its output"
    );
}
