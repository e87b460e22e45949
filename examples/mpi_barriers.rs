//! Barriers across ranks, for `tests/mpi.rs`, under `mpirun -n 2` (or more):
//! `mpirun --allow-run-as-root --oversubscribe -n 3 target/debug/examples/mpi_barriers NAME`.
//! Each prints `ok NAME` on every rank that passed and exits 0, or panics (non-zero).
//!
//! Scenarios: `phases` (two parties on every rank, a thread and a task, in lock-step for
//! many phases with pauses out of step: no party is ever a phase ahead), `resign` (a rank
//! whose parties all resign is no longer waited for, the coordinating rank among them),
//! `poison` (poison on a barrier crosses ranks both ways, to a thread and to a task),
//! `held` (a party enrolled while its rank's phase is held takes part from the next).

use std::time::Duration;

use occamy::mpi::{Link, World};
use occamy::{par, Barrier, BarrierPoisoned, Process};

const PHASES: u64 = 150;

fn main() {
    let name = std::env::args()
        .nth(1)
        .expect("usage: mpi_barriers SCENARIO");
    let w = World::init().expect("mpi init");
    assert!(w.size() >= 2, "run under mpirun -n 2 (or more)");
    match name.as_str() {
        "phases" => phases(w),
        "resign" => resign(w),
        "poison" => poison(w),
        "held" => held(w),
        other => panic!("no scenario {other}"),
    }
    w.finish().expect("finish");
    println!("ok {name} rank {}", w.rank());
}

/// A pause for party `who` before phase `k`, out of step between parties and ranks, so
/// that a party that could pass a phase early would.
fn pause(who: u64, k: u64) {
    match (who * 7 + k) % 11 {
        0 => std::thread::sleep(Duration::from_millis(2)),
        3 => std::thread::sleep(Duration::from_micros(300)),
        _ => {}
    }
}

/// Barrier 100 has a thread party and a task party on every rank. After each sync every
/// party sends its phase number to rank 0's `log` over a rendezvous link (any-to-one from
/// every rank): a send completes only once `log` took it, and a party syncs again only
/// after its send, so every party's phase k reaches `log` before any party's phase k + 1
/// could be sent, if and only if no party passes a phase before every party on every rank
/// has arrived. `log` checks exactly that: the phases it receives never go down, each
/// comes once per party.
fn phases(w: &World) {
    let ranks: Vec<u32> = (0..w.size()).collect();
    let log = w
        .link::<(u32, u64)>(&Link::rendezvous(1, "log", ranks.clone(), 0))
        .unwrap();
    let b = Barrier::new();
    let task_party = b.enroll();
    w.barrier(100, "step", ranks, &b).unwrap();
    let tx = log.sender.unwrap();
    let me = w.rank();
    let who = move |i: u64| u64::from(me) * 2 + i;
    let mut procs = vec![
        Process::with(
            "thread party",
            (b, tx.clone()),
            move |(b, tx)| -> occamy::Result {
                for k in 0..PHASES {
                    pause(who(0), k);
                    b.sync()?;
                    tx.send((me, k))?;
                }
                Ok(())
            },
        ),
        Process::with_async("task party", (task_party, tx), move |(b, tx)| async move {
            for k in 0..PHASES {
                pause(who(1), k);
                b.sync_async().await?;
                tx.send_async((me, k)).await?;
            }
            Ok::<(), occamy::Error>(())
        }),
    ];
    if let Some(rx) = log.receiver {
        let parties = 2 * u64::from(w.size());
        procs.push(Process::with("log", rx, move |rx| -> occamy::Result {
            let mut seen = vec![0u64; PHASES as usize];
            let mut last = 0;
            for _ in 0..parties * PHASES {
                let (from, k) = rx.recv()?;
                assert!(
                    k >= last,
                    "phase {k} from rank {from} after phase {last}: a party passed the barrier early"
                );
                last = k;
                seen[k as usize] += 1;
            }
            assert!(seen.iter().all(|n| *n == parties), "phases seen: {seen:?}");
            Ok(())
        }));
    }
    par(procs).unwrap();
}

/// Barrier 100: one party on rank 0 (the coordinating rank), which resigns after 3
/// phases, and one on rank 1, which syncs 20 times: the 17 after go on alone. Barrier 101:
/// two parties on rank 0 for 20 phases (one resigns after 10), and one on rank 1 for 5:
/// rank 1 leaves, and rank 0's go on without it. A rank still waited for after it left
/// would hang here (the test's watchdog fails it).
fn resign(w: &World) {
    let ranks = [0, 1];
    let (x, y) = (Barrier::new(), Barrier::new());
    let y2 = (w.rank() == 0).then(|| y.enroll());
    if w.rank() > 1 {
        return;
    }
    w.barrier(100, "x", ranks, &x).unwrap();
    w.barrier(101, "y", ranks, &y).unwrap();
    let (xs, ys) = if w.rank() == 0 { (3, 20) } else { (20, 5) };
    let mut procs = vec![
        Process::with("x party", x, move |x| -> Result<(), BarrierPoisoned> {
            for _ in 0..xs {
                x.sync()?;
            }
            Ok(())
        }),
        Process::with("y party", y, move |y| -> Result<(), BarrierPoisoned> {
            for _ in 0..ys {
                y.sync()?;
            }
            Ok(())
        }),
    ];
    if let Some(y2) = y2 {
        procs.push(Process::with_async("y party 2", y2, |y| async move {
            for _ in 0..10 {
                y.sync_async().await?;
            }
            Ok::<(), BarrierPoisoned>(())
        }));
    }
    par(procs).unwrap();
}

/// Barrier 100: rank 1's thread party waits while rank 0's party poisons it; barrier
/// 101: rank 0's task party waits while rank 1's poisons it (and neither can be joined
/// again, nor its id reused). Every party's sync fails
/// (whether it was waiting when the poison came or synced after), and a second sync
/// fails at once.
fn poison(w: &World) {
    if w.rank() > 1 {
        return;
    }
    let (p, q) = (Barrier::new(), Barrier::new());
    w.barrier(100, "p", [0, 1], &p).unwrap();
    w.barrier(101, "q", [0, 1], &q).unwrap();
    // Joined once only, and ids are never shared.
    assert!(w.barrier(102, "p again", [0, 1], &p).is_err());
    assert!(w.barrier(101, "q's id", [0, 1], &Barrier::new()).is_err());
    let fails = |r: Result<(), BarrierPoisoned>| assert_eq!(r, Err(BarrierPoisoned));
    if w.rank() == 0 {
        p.poison();
        futures::executor::block_on(async {
            fails(q.sync_async().await);
            fails(q.sync_async().await);
        });
    } else {
        fails(p.sync());
        fails(p.sync());
        q.poison();
    }
}

/// Barrier 100: `a` on rank 0, `b` on rank 1. Rank 0 arrives (one poll of `a`'s sync:
/// every party of rank 0 has arrived, so the phase is held and reported), then enrols
/// `c`, and only then lets rank 1 sync. The held phase must complete without `c` (it
/// syncs only after), and the next must wait for `c` too: `c`'s one sync completes it
/// with `a`'s and `b`'s second. Counted wrong either way, a sync waits for ever (the
/// test's watchdog fails it).
fn held(w: &World) {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let go = w.link::<()>(&Link::rendezvous(1, "go", [0], 1)).unwrap();
    if w.rank() > 1 {
        return;
    }
    let a = Barrier::new();
    w.barrier(100, "h", [0, 1], &a).unwrap();
    if w.rank() == 0 {
        let mut first = std::pin::pin!(a.sync_async());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(first.as_mut().poll(&mut cx), Poll::Pending));
        let c = a.enroll();
        go.sender.unwrap().send(()).unwrap();
        futures::executor::block_on(first).unwrap();
        let t = std::thread::spawn(move || c.sync());
        a.sync().unwrap();
        t.join().unwrap().unwrap();
    } else {
        go.receiver.unwrap().recv().unwrap();
        a.sync().unwrap();
        a.sync().unwrap();
    }
}
