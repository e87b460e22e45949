//! Tests of the scheduler through its public API. Every test that can block runs under
//! [`watchdog`]; none sleeps to synchronise or asserts a timing.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::{block_in_place, on_worker, spawn, Handle, JoinHandle, Pool};

use crate::testing::watchdog;

/// A future that is pending until `n` wakes of its own have been delivered: it wakes
/// itself during its poll, so each wake arrives while the task is RUNNING.
struct SelfWaking {
    left: usize,
}

impl Future for SelfWaking {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Pending until `flag` is set; stores its waker for others to call.
struct Gate {
    flag: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Future for Gate {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.flag.load(SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn spawn_and_join_many() {
    watchdog("spawn_and_join_many", || {
        for workers in [1, 2, 3] {
            let pool = Pool::new(workers).unwrap();
            let count = Arc::new(AtomicUsize::new(0));
            let hs: Vec<JoinHandle> = (0..10_000)
                .map(|_| {
                    let c = count.clone();
                    pool.spawn(async move {
                        c.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(count.load(SeqCst), 10_000);
        }
    });
}

#[test]
fn wake_while_running_is_not_lost() {
    watchdog("wake_while_running_is_not_lost", || {
        let pool = Pool::new(2).unwrap();
        let hs: Vec<_> = (0..8)
            .map(|_| pool.spawn(SelfWaking { left: 10_000 }))
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
}

/// Two tasks waking each other 100,000 times over occamy rendezvous channels.
#[test]
fn ping_pong_over_occamy_channels() {
    watchdog("ping_pong_over_occamy_channels", || {
        for workers in [1, 2] {
            let pool = Pool::new(workers).unwrap();
            let (p_tx, p_rx) = crate::channel::<u64>();
            let (q_tx, q_rx) = crate::channel::<u64>();
            const N: u64 = 100_000;
            let pong = pool.spawn(async move {
                while let Ok(v) = p_rx.recv_async().await {
                    q_tx.send_async(v + 1).await.unwrap();
                }
            });
            let ping = pool.spawn(async move {
                let mut v = 0;
                for _ in 0..N {
                    p_tx.send_async(v).await.unwrap();
                    v = q_rx.recv_async().await.unwrap();
                }
                assert_eq!(v, N);
            });
            ping.join().unwrap();
            pong.join().unwrap(); // p_tx dropped: pong's recv fails and it ends
        }
    });
}

#[test]
fn wake_after_completion_is_harmless() {
    watchdog("wake_after_completion_is_harmless", || {
        let pool = Pool::new(2).unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let waker = Arc::new(Mutex::new(None));
        let h = pool.spawn(Gate {
            flag: flag.clone(),
            waker: waker.clone(),
        });
        // Wait until it has polled once (stored a waker).
        let w = loop {
            if let Some(w) = waker.lock().unwrap().clone() {
                break w;
            }
            std::thread::yield_now();
        };
        flag.store(true, SeqCst);
        w.wake_by_ref();
        h.join().unwrap();
        for _ in 0..1000 {
            w.wake_by_ref();
        }
        w.wake();
        assert!(pool.spawn(async {}).join().is_ok());
        // And after the pool is gone.
        let w = waker.lock().unwrap().take().unwrap();
        drop(pool);
        w.wake();
    });
}

#[test]
fn panic_is_reported_and_pool_keeps_working() {
    watchdog("panic_is_reported_and_pool_keeps_working", || {
        let pool = Pool::new(1).unwrap();
        for i in 0..10 {
            let h = pool.spawn(async move { panic!("task {i} fails") });
            let err = h.join().unwrap_err();
            assert_eq!(
                err.downcast_ref::<String>().map(String::as_str),
                Some(format!("task {i} fails").as_str())
            );
            assert!(pool.spawn(async {}).join().is_ok());
        }
    });
}

/// One worker; a task blocks (in block_in_place) on a std channel that another task of
/// the same pool must feed.
#[test]
fn block_in_place_lets_other_tasks_run() {
    watchdog("block_in_place_lets_other_tasks_run", || {
        let pool = Pool::new(1).unwrap();
        for round in 0..20 {
            let (tx, rx) = mpsc::channel::<u32>();
            let mut hs = Vec::new();
            hs.push(pool.spawn(async move {
                assert!(on_worker());
                let mut got: Vec<u32> =
                    block_in_place(|| (0..10).map(|_| rx.recv().unwrap()).collect());
                got.sort_unstable(); // the feeders may run on either thread, in any order
                assert_eq!(got, (0..10).collect::<Vec<_>>());
                // Nested: the core is gone already, it just runs.
                assert_eq!(block_in_place(|| 3), 3);
            }));
            // Queued behind the blocker on the same (only) worker.
            for i in 0..10 {
                let tx = tx.clone();
                hs.push(pool.spawn(async move { tx.send(i).unwrap() }));
            }
            if round % 2 == 0 {
                hs.reverse(); // join order does not matter
            }
            for h in hs {
                h.join().unwrap();
            }
        }
        assert!(!on_worker());
        assert_eq!(block_in_place(|| 1), 1);
    });
}

#[test]
fn join_inside_a_task_on_one_worker() {
    watchdog("join_inside_a_task_on_one_worker", || {
        let pool = Pool::new(1).unwrap();
        let outer = pool.spawn(async {
            let inner = spawn(async {});
            inner.join().unwrap(); // blocking join: block_in_place keeps the pool going
        });
        outer.join().unwrap();
    });
}

#[test]
fn work_is_spread_over_two_workers() {
    watchdog("work_is_spread_over_two_workers", || {
        let pool = Pool::new(2).unwrap();
        let threads = Arc::new(Mutex::new(std::collections::HashSet::new()));
        // One spawner task spawns everything onto its local queue; the other worker gets
        // any of it only by stealing. Each task spins a little so there is work to steal.
        let t = threads.clone();
        let spawner = pool.spawn(async move {
            let hs: Vec<_> = (0..2_000)
                .map(|_| {
                    let t = t.clone();
                    spawn(async move {
                        let mut x = 0u64;
                        for i in 0..20_000u64 {
                            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                        }
                        std::hint::black_box(x);
                        t.lock().unwrap().insert(std::thread::current().id());
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        spawner.join().unwrap();
        // All completed; on which threads is for information (asserting two would be a
        // timing assumption on a noisy machine).
        eprintln!("tasks ran on {} thread(s)", threads.lock().unwrap().len());
    });
}

#[test]
fn drop_with_pending_tasks_ends_cleanly() {
    watchdog("drop_with_pending_tasks_ends_cleanly", || {
        struct Canary(Arc<AtomicUsize>);
        impl Drop for Canary {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let dropped = Arc::new(AtomicUsize::new(0));
        let pool = Pool::new(2).unwrap();
        let mut hs = Vec::new();
        let mut keep = Vec::new();
        // Pairs of tasks each holding one end of a channel the other never uses: a cycle
        // of wakers that only the shutdown sweep can break.
        for _ in 0..100 {
            let (tx, rx) = crate::channel::<u32>();
            let (c1, c2) = (Canary(dropped.clone()), Canary(dropped.clone()));
            hs.push(pool.spawn(async move {
                let _c = c1;
                let _ = rx.recv_async().await;
                let _keep = &tx;
            }));
            let (tx2, rx2) = crate::channel::<u32>();
            keep.push(tx2); // held outside the pool: this one stays pending too
            hs.push(pool.spawn(async move {
                let _c = c2;
                let _ = rx2.recv_async().await;
            }));
        }
        let handle = pool.handle();
        drop(pool);
        assert_eq!(
            dropped.load(SeqCst),
            200,
            "every pending future was dropped"
        );
        for h in hs {
            assert!(h.is_finished());
            assert!(h.join().is_err());
        }
        drop(keep);
        // Spawning onto a pool that is gone: dropped at once, reported.
        assert!(handle.spawn(async {}).join().is_err());
    });
}

#[test]
fn nested_spawn_from_inside_tasks() {
    watchdog("nested_spawn_from_inside_tasks", || {
        let pool = Pool::new(2).unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        fn tree(depth: u32, count: Arc<AtomicUsize>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
            Box::pin(async move {
                count.fetch_add(1, SeqCst);
                if depth > 0 {
                    let a = spawn(tree(depth - 1, count.clone()));
                    let b = Handle::try_current().unwrap().spawn(tree(depth - 1, count));
                    a.await.unwrap();
                    b.await.unwrap();
                }
            })
        }
        pool.spawn(tree(10, count.clone())).join().unwrap();
        assert_eq!(count.load(SeqCst), (1 << 11) - 1);
    });
}

#[test]
fn drop_pool_from_inside_its_task() {
    watchdog("drop_pool_from_inside_its_task", || {
        let pool = Pool::new(2).unwrap();
        let (tx, rx) = mpsc::channel::<Pool>();
        let h = pool.spawn(async move {
            let pool = rx.recv().unwrap();
            drop(pool); // does not wait for its own thread
        });
        tx.send(pool).unwrap();
        // The task itself is cancelled-or-completed; either way the handle resolves.
        let _ = h.join();
    });
}

/// Memory: a million pending trivial tasks (each waiting on its own channel).
#[test]
fn a_million_pending_tasks_fit() {
    watchdog("a_million_pending_tasks_fit", || {
        let before = vm_hwm_kib();
        let pool = Pool::new(2).unwrap();
        let n = 1_000_000;
        let mut senders = Vec::with_capacity(n);
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let (tx, rx) = crate::channel::<u8>();
                senders.push(tx);
                pool.spawn(async move {
                    let _ = rx.recv_async().await;
                })
            })
            .collect();
        let after = vm_hwm_kib();
        drop(senders); // every task wakes (retired) and ends
        for h in hs {
            h.join().unwrap();
        }
        if let (Some(b), Some(a)) = (before, after) {
            eprintln!(
                "1,000,000 pending tasks: VmHWM {} MiB -> {} MiB ({} bytes per task with its channel)",
                b / 1024,
                a / 1024,
                (a - b) * 1024 / n as u64
            );
            assert!(a < 1024 * 1024, "peak RSS {a} KiB is not under 1 GiB");
        }
    });
}

fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Many tasks passing a token around a ring while a std thread also feeds it: wakes from
/// workers and from outside, on a 2-worker pool, none lost.
#[test]
fn ring_with_outside_wakes() {
    watchdog("ring_with_outside_wakes", || {
        let pool = Pool::new(2).unwrap();
        const PROCS: usize = 64;
        const HOPS: u64 = 20_000;
        let (first_tx, mut prev_rx) = crate::channel::<u64>();
        let mut hs = Vec::new();
        for _ in 1..PROCS {
            let (tx, rx) = crate::channel::<u64>();
            let input = std::mem::replace(&mut prev_rx, rx);
            hs.push(pool.spawn(async move {
                while let Ok(v) = input.recv_async().await {
                    if tx.send_async(v + 1).await.is_err() {
                        return;
                    }
                }
            }));
        }
        // Node 0 is a plain thread: every hop through it is a wake from outside the pool.
        let last_rx = prev_rx;
        first_tx.send(1).unwrap();
        loop {
            let v = last_rx.recv().unwrap();
            if v >= HOPS {
                break;
            }
            first_tx.send(v + 1).unwrap();
        }
        drop(first_tx);
        for h in hs {
            h.join().unwrap();
        }
    });
}

/// A task woken by a task that then computes for long (a farm's worker taking a job from
/// its farmer) sits in that worker's run-next slot; it must not wait for the long poll to
/// end: the pool's monitor hands it to the idle worker. Here the long poll ends only once
/// the woken task has run, so without that this would never finish.
#[test]
fn a_task_woken_behind_a_long_poll_runs_on_another_worker() {
    watchdog("run-next behind a long poll", || {
        let pool = Pool::new(2).unwrap();
        let (tx, rx) = crate::channel::<u32>();
        let ran = Arc::new(AtomicBool::new(false));
        let seen = ran.clone();
        let woken = pool.spawn(async move {
            assert_eq!(rx.recv_async().await, Ok(1));
            seen.store(true, SeqCst);
        });
        let long = pool.spawn(async move {
            // `try_send` succeeds only into a reader already waiting: so the reader is
            // woken by this task, onto this worker's run-next slot. Then this task
            // computes without yielding until the reader has run.
            let mut v = 1;
            while let Err(e) = tx.try_send(v) {
                v = e.into_inner();
                YieldOnce(false).await;
            }
            while !ran.load(SeqCst) {
                std::hint::spin_loop();
            }
        });
        long.join().unwrap();
        woken.join().unwrap();
    });
}

/// Pending once (waking itself), then ready: lets other tasks run.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
