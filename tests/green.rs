//! The green scheduler: async processes as tasks on a pool of worker threads, beside
//! thread processes on the same channels.

mod common;

use std::time::Duration;

use common::{watchdog, LIMIT};
use occamy::{channel, Alt, Event, Failure, Process, Result, Runtime, Scheduler};

fn green(workers: usize) -> Runtime {
    Runtime::new()
        .scheduler(Scheduler::Green { workers })
        .deadlock_check_interval(Duration::from_millis(20))
}

/// Commstime's loop as async processes: prefix, delta (SEQ), succ and a consumer.
fn commstime(n: u64) -> Vec<Process> {
    let (a_tx, a_rx) = channel::<u64>();
    let (b_tx, b_rx) = channel::<u64>();
    let (c_tx, c_rx) = channel::<u64>();
    let (d_tx, d_rx) = channel::<u64>();
    vec![
        Process::with_async("prefix", (a_tx, c_rx), |(tx, rx)| async move {
            tx.send_async(0).await?;
            loop {
                tx.send_async(rx.recv_async().await?).await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), occamy::Error>(())
        }),
        Process::with_async("delta", (a_rx, d_tx, b_tx), |(rx, d, b)| async move {
            loop {
                let v = rx.recv_async().await?;
                d.send_async(v).await?;
                b.send_async(v).await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), occamy::Error>(())
        }),
        Process::with_async("succ", (b_rx, c_tx), |(rx, tx)| async move {
            loop {
                tx.send_async(rx.recv_async().await? + 1).await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), occamy::Error>(())
        }),
        Process::with_async("consumer", d_rx, move |rx| async move {
            for want in 0..n {
                assert_eq!(rx.recv_async().await?, want);
            }
            rx.poison();
            Ok::<(), occamy::Error>(())
        }),
    ]
}

#[test]
fn commstime_runs_green_on_one_and_two_workers_and_ends_by_poison() {
    for workers in [1, 2] {
        let out = watchdog(LIMIT, "green commstime", move || {
            green(workers).run(commstime(20_000))
        });
        out.result.unwrap();
        assert!(out.deadlock.is_none());
        assert_eq!(out.processes.len(), 4);
    }
}

#[test]
fn a_thread_process_and_a_green_process_talk_both_ways() {
    watchdog(LIMIT, "mixed", || {
        let (to_green, from_thread) = channel::<u32>();
        let (to_thread, from_green) = channel::<u32>();
        green(2)
            .par([
                Process::with("thread", (to_green, from_green), |(tx, rx)| -> Result {
                    for i in 0..1000 {
                        tx.send(i)?;
                        assert_eq!(rx.recv()?, i * 2);
                    }
                    Ok(())
                }),
                Process::with_async("green", (from_thread, to_thread), |(rx, tx)| async move {
                    loop {
                        match rx.recv_async().await {
                            Ok(v) => tx.send_async(v * 2).await?,
                            Err(occamy::RecvError::Retired) => return Ok::<(), occamy::Error>(()),
                            Err(e) => return Err(e.into()),
                        }
                    }
                }),
            ])
            .unwrap();
    });
}

#[test]
fn a_panic_in_a_green_process_ends_the_network_with_its_name() {
    let err = watchdog(LIMIT, "green panic", || {
        let (tx, rx) = channel::<u8>();
        green(2)
            .par([
                Process::with_async("reader", rx, |rx| async move {
                    loop {
                        rx.recv_async().await?;
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), occamy::Error>(())
                }),
                Process::with_async("writer", tx, |tx| async move {
                    tx.send_async(1).await?;
                    panic!("green and out of ideas");
                    #[allow(unreachable_code)]
                    Ok::<(), occamy::Error>(())
                }),
            ])
            .unwrap_err()
    });
    assert_eq!(err.process, "writer");
    assert!(err.to_string().contains("green and out of ideas"), "{err}");
}

#[test]
fn a_deadlock_of_green_tasks_is_found() {
    let report = watchdog(LIMIT, "green deadlock", || {
        let (a_tx, a_rx) = channel::<u8>();
        let (b_tx, b_rx) = channel::<u8>();
        a_tx.set_name("a_to_b");
        b_tx.set_name("b_to_a");
        let out = green(2).run([
            Process::with_async("a", (b_rx, a_tx), |(rx, tx)| async move {
                tx.send_async(rx.recv_async().await?).await?;
                Ok::<(), occamy::Error>(())
            }),
            Process::with_async("b", (a_rx, b_tx), |(rx, tx)| async move {
                tx.send_async(rx.recv_async().await?).await?;
                Ok::<(), occamy::Error>(())
            }),
        ]);
        assert!(matches!(
            out.result.as_ref().unwrap_err().failure,
            Failure::Deadlock(_)
        ));
        out.deadlock.unwrap().to_string()
    });
    assert_eq!(
        report,
        "deadlock: a waits to receive on b_to_a from b; b waits to receive on a_to_b from a"
    );
}

/// A blocking call inside a green task, on a one-worker pool, waiting for another task
/// of the same pool: it completes (the worker's other tasks move to another thread).
#[test]
fn a_blocking_call_inside_a_green_task_does_not_freeze_its_worker() {
    watchdog(LIMIT, "blocking in a task", || {
        let (tx, rx) = channel::<u32>();
        green(1)
            .par([
                Process::with_async("blocks", rx, |rx| async move {
                    // The blocking form, by mistake: it works, with a warning.
                    assert_eq!(rx.recv(), Ok(5));
                    Ok::<(), occamy::Error>(())
                }),
                Process::with_async("feeds", tx, |tx| async move { tx.send_async(5).await }),
            ])
            .unwrap();
    });
}

#[test]
fn a_fair_alt_in_a_green_process_serves_every_writer() {
    let counts = watchdog(LIMIT, "green alt", || {
        const W: usize = 4;
        const EACH: usize = 500;
        let mut txs = Vec::new();
        let mut rxs = Vec::new();
        for _ in 0..W {
            let (tx, rx) = channel::<usize>();
            txs.push(tx);
            rxs.push(rx);
        }
        let (res_tx, res_rx) = std::sync::mpsc::channel();
        let mut procs: Vec<Process> = txs
            .into_iter()
            .enumerate()
            .map(|(i, tx)| {
                Process::with_async(format!("writer[{i}]"), tx, move |tx| async move {
                    for _ in 0..EACH {
                        tx.send_async(i).await?;
                    }
                    Ok::<(), occamy::Error>(())
                })
            })
            .collect();
        procs.push(Process::with_async("merge", rxs, move |rxs| async move {
            let mut alt = Alt::new();
            for rx in &rxs {
                alt.recv(rx);
            }
            let mut counts = [0usize; W];
            loop {
                let mut sel = alt.select_async().await;
                match sel.event() {
                    Event::Received => {
                        let rx = &rxs[sel.index()];
                        counts[sel.recv_on(rx).expect("the chosen input")?] += 1
                    }
                    Event::Retired => continue,
                    Event::Exhausted => break,
                    other => panic!("{other:?}"),
                }
            }
            res_tx.send(counts).unwrap();
            Ok::<(), occamy::Error>(())
        }));
        green(2).par(procs).unwrap();
        res_rx.recv().unwrap()
    });
    assert_eq!(counts, [500; 4]);
}

#[test]
fn a_ring_of_100000_green_processes_passes_a_token_round_twice() {
    watchdog(120, "green ring", || {
        const N: usize = 100_000;
        let mut txs = Vec::with_capacity(N);
        let mut rxs = Vec::with_capacity(N);
        for _ in 0..N {
            let (tx, rx) = channel::<u64>();
            txs.push(tx);
            rxs.push(rx);
        }
        rxs.rotate_right(1); // node i reads ring[i-1] and writes ring[i]
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let mut procs = Vec::with_capacity(N);
        for (i, (rx, tx)) in rxs.into_iter().zip(txs).enumerate() {
            let done = done_tx.clone();
            procs.push(Process::with_async(
                format!("node[{i}]"),
                (rx, tx),
                move |(rx, tx)| async move {
                    if i == 0 {
                        tx.send_async(0).await?;
                        let round1 = rx.recv_async().await?;
                        tx.send_async(round1).await?;
                        let round2 = rx.recv_async().await?;
                        done.send(round2).unwrap();
                        rx.poison();
                        return Ok::<(), occamy::Error>(());
                    }
                    loop {
                        let v = rx.recv_async().await?;
                        tx.send_async(v + 1).await?;
                    }
                },
            ));
        }
        drop(done_tx);
        green(2).par(procs).unwrap();
        assert_eq!(done_rx.recv().unwrap(), 2 * (N as u64 - 1));
    });
}
