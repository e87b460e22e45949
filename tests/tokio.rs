//! occamy's async operations on tokio's runtime directly, current_thread and
//! multi_thread: `send_async` / `recv_async`, `Alt::select_async`, `Barrier::sync_async`,
//! `sleep_async`, poison and cancellation, and tokio tasks talking to occamy processes.
//! No occamy process is involved unless a test says so: these are plain tokio tasks.

// tokio switches to a loom build of its own under --cfg loom (see Cargo.toml).
#![cfg(not(loom))]

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{watchdog, LIMIT};
use occamy::{channel, par, Alt, Barrier, Process, RecvError};

/// Runs `test` (given which flavour it runs on) on a current_thread runtime and on a
/// multi_thread one with two workers, each under the watchdog.
fn on_both<F, Fut>(what: &'static str, test: F)
where
    F: Fn(&'static str) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let test = Arc::new(test);
    let t = test.clone();
    watchdog(LIMIT, what, move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(t("current_thread"))
    });
    watchdog(LIMIT, what, move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(test("multi_thread"))
    });
}

#[test]
fn ping_pong_between_tokio_tasks() {
    on_both("ping-pong", |flavour| async move {
        let (ping_tx, ping_rx) = channel::<u32>();
        let (pong_tx, pong_rx) = channel::<u32>();
        let echo = tokio::spawn(async move {
            while let Ok(v) = ping_rx.recv_async().await {
                pong_tx.send_async(v + 1).await.unwrap();
            }
        });
        for i in 0..200 {
            ping_tx.send_async(i).await.unwrap();
            assert_eq!(pong_rx.recv_async().await, Ok(i + 1), "{flavour}");
        }
        drop(ping_tx); // retires the echo's input: it ends
        echo.await.unwrap();
        assert_eq!(pong_rx.recv_async().await, Err(RecvError::Retired));
    });
}

#[test]
fn many_tokio_tasks_into_one_rendezvous_channel() {
    on_both("fan-in", |flavour| async move {
        let (tx, rx) = channel::<u64>();
        for (p, tx) in tx.clones(8).into_iter().enumerate() {
            tokio::spawn(async move {
                for i in 0..100u64 {
                    tx.send_async(p as u64 * 1000 + i).await.unwrap();
                }
            });
        }
        let mut sum = 0;
        let mut n = 0;
        // Ends when the eighth task has dropped its end.
        while let Ok(v) = rx.recv_async().await {
            sum += v;
            n += 1;
        }
        assert_eq!(n, 800, "{flavour}");
        assert_eq!(
            sum,
            (0..8).map(|p| p * 100_000 + 4950).sum::<u64>(),
            "{flavour}"
        );
    });
}

#[test]
fn select_async_chooses_among_tokio_readers_and_times_out() {
    on_both("select_async", |flavour| async move {
        let (a_tx, a_rx) = channel::<u32>();
        let (b_tx, b_rx) = channel::<u32>();
        let count = |rx: occamy::Receiver<u32>| {
            tokio::spawn(async move {
                let mut n = 0;
                while rx.recv_async().await.is_ok() {
                    n += 1;
                }
                n
            })
        };
        let (a, b) = (count(a_rx), count(b_rx));
        for i in 0..50 {
            let mut alt = Alt::new();
            let ga = alt.send(&a_tx, i);
            let gb = alt.send(&b_tx, i);
            let sel = alt.select_async().await;
            assert!(sel.index() == ga || sel.index() == gb, "{flavour}");
        }
        drop((a_tx, b_tx));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        assert_eq!(a + b, 50, "{flavour}: every value went to one reader");

        // No guard can be ready: the timeout is chosen.
        let (tx, _rx) = channel::<u32>();
        let mut alt = Alt::new();
        alt.send(&tx, 1);
        let t = alt.timeout(Duration::from_millis(5));
        let sel = alt.select_async().await;
        assert_eq!(sel.index(), t, "{flavour}");
        assert!(sel.is_timeout());
    });
}

#[test]
fn barrier_sync_async_holds_every_tokio_task_until_all_arrive() {
    on_both("sync_async", |flavour| async move {
        const PARTIES: usize = 4;
        const PHASES: usize = 10;
        let arrived: Arc<Vec<AtomicUsize>> =
            Arc::new((0..PHASES).map(|_| AtomicUsize::new(0)).collect());
        let first = Barrier::new();
        let mut parties: Vec<Barrier> = (1..PARTIES).map(|_| first.enroll()).collect();
        parties.push(first);
        let tasks: Vec<_> = parties
            .into_iter()
            .map(|b| {
                let arrived = arrived.clone();
                tokio::spawn(async move {
                    for (phase, count) in arrived.iter().enumerate() {
                        count.fetch_add(1, Ordering::SeqCst);
                        b.sync_async().await.unwrap();
                        // Nobody passes the barrier before everyone has arrived.
                        assert_eq!(count.load(Ordering::SeqCst), PARTIES, "phase {phase}");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("{flavour}: {e}"));
        }
    });
}

#[test]
fn sleep_async_wakes_tokio_tasks() {
    on_both("sleep_async", |flavour| async move {
        let start = Instant::now();
        let sleepers: Vec<_> = (1..=10u64)
            .map(|i| {
                tokio::spawn(async move {
                    let t = Instant::now();
                    occamy::sleep_async(Duration::from_millis(i)).await;
                    t.elapsed() >= Duration::from_millis(i)
                })
            })
            .collect();
        for s in sleepers {
            assert!(s.await.unwrap(), "{flavour}: woke early");
        }
        assert!(start.elapsed() >= Duration::from_millis(10));
    });
}

#[test]
fn poison_reaches_a_tokio_task_waiting_in_recv_async() {
    on_both("poison", |flavour| async move {
        let (tx, rx) = channel::<u32>();
        let waiting = tokio::spawn(async move { rx.recv_async().await });
        // Poisoned from a plain thread, whether or not the task is waiting yet.
        std::thread::spawn(move || tx.poison()).join().unwrap();
        assert_eq!(
            waiting.await.unwrap(),
            Err(RecvError::Poisoned),
            "{flavour}"
        );
    });
}

#[test]
fn a_recv_async_cancelled_by_a_tokio_timeout_leaves_the_channel_usable() {
    on_both("cancelled recv_async", |flavour| async move {
        let (tx, rx) = channel::<u32>();
        // Nobody sends yet: the timeout drops the pending receive.
        let r = tokio::time::timeout(Duration::from_millis(5), rx.recv_async()).await;
        assert!(r.is_err(), "{flavour}");
        let writer = std::thread::spawn(move || tx.send(5));
        assert_eq!(rx.recv_async().await, Ok(5), "{flavour}");
        writer.join().unwrap().unwrap();
    });
}

#[test]
fn tokio_tasks_and_occamy_processes_share_channels() {
    on_both("tokio and occamy", |flavour| async move {
        let (in_tx, in_rx) = channel::<u32>();
        let (out_tx, out_rx) = channel::<u32>();
        // An occamy network (green processes) on a thread of its own.
        let network = std::thread::spawn(move || {
            par([Process::with_async(
                "double",
                (in_rx, out_tx),
                |(rx, tx)| async move {
                    while let Ok(v) = rx.recv_async().await {
                        tx.send_async(v * 2).await?;
                    }
                    Ok::<(), occamy::Error>(())
                },
            )])
        });
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Ok(v) = out_rx.recv_async().await {
                got.push(v);
            }
            got
        });
        for v in 0..20 {
            in_tx.send_async(v).await.unwrap();
        }
        drop(in_tx);
        let got = reader.await.unwrap();
        assert_eq!(got, (0..20).map(|v| v * 2).collect::<Vec<_>>(), "{flavour}");
        network.join().unwrap().unwrap();
    });
}
