//! Cross-rank scenarios for `tests/mpi.rs`, run under `mpirun -n 2` (or more):
//! `mpirun --allow-run-as-root --oversubscribe -n 2 target/debug/examples/mpi_selftest NAME`.
//! Each prints `ok NAME` on every rank that passed and exits 0, or panics (non-zero).
//!
//! Scenarios: `rendezvous` (a cross-rank send completes only once the reader took the
//! value), `buffered` (a buffered link keeps its capacity), `shared` (any-to-one from two
//! ranks, one-to-any among two readers), `alt_fair` (a fair alt over a local and a remote
//! input), `poison` (poison crosses both ways), `retire` (retirement crosses both ways),
//! `farm` and `farm_buffered` (one writer on rank 0, readers on every rank: values go on
//! demand, each to exactly one reader), `kill` (rank 1 kills itself with SIGKILL while rank 0 waits on it),
//! `handoff` (green ping-pong whose gaps make the engine's driver change hands, with a
//! thread process sending meanwhile), `handoff_threads` (the same with thread processes,
//! which drive the engine themselves while blocked on a link), `rendezvous_soft` (as `rendezvous`, the writer an
//! alt with an output guard and a timeout), `guard_timeout` (an output guard on a link
//! whose reader does not read: the timeout fires and the value is not taken), `guard_two`
//! (output guards to readers on two ranks, one reading: each value goes there, the other
//! guard is never committed), `guard_stress` (output guards racing a remote reader that
//! keeps timing out: every value the writer saw taken arrived, and no other),
//! `try_send` (succeeds only while a remote reader waits).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use occamy::mpi::{Link, World};
use occamy::{
    alt, buffered, par, Process, RecvError, RecvTimeoutError, SendError, SendTimeoutError,
    TrySendError,
};

const HANDOFF_N: u64 = 400;

fn main() {
    let name = std::env::args()
        .nth(1)
        .expect("usage: mpi_selftest SCENARIO");
    let w = World::init().expect("mpi init");
    assert!(w.size() >= 2, "run under mpirun -n 2 (or more)");
    match name.as_str() {
        "rendezvous" => rendezvous(w, false),
        "rendezvous_soft" => rendezvous(w, true),
        "guard_timeout" => guard_timeout(w),
        "guard_two" => guard_two(w),
        "guard_stress" => guard_stress(w),
        "try_send" => try_send(w),
        "buffered" => buffered_link(w),
        "large" => large(w),
        "shared" => shared(w),
        "alt_fair" => alt_fair(w),
        "farm" => farm(w, 0),
        "farm_buffered" => farm(w, 4),
        "poison" => poison(w),
        "retire" => retire(w),
        "kill" => kill(w),
        "handoff" => handoff(w),
        "handoff_threads" => handoff_threads(w),
        other => panic!("no scenario {other}"),
    }
    w.finish().expect("finish");
    println!("ok {name} rank {}", w.rank());
}

/// Rank 0's writer sends once on `a`; rank 0's observer reports, over `ctl`, whether that
/// send has returned. Rank 1 asks 50 times before it reads `a`: every answer must be
/// "not yet" (a send completing before its reader took the value would show within a
/// few: it was started before the first question). After the read, it asks until "yes".
/// With `soft`, the writer is an alt with the output guard and a long timeout (a soft
/// writer, claimed only against the remote reader's demand): the same must hold.
fn rendezvous(w: &World, soft: bool) {
    let a = w.link::<u64>(&Link::rendezvous(1, "a", [0], 1)).unwrap();
    let ask = w.link::<()>(&Link::rendezvous(2, "ask", [1], 0)).unwrap();
    let ctl = w.link::<bool>(&Link::rendezvous(3, "ctl", [0], 1)).unwrap();
    if w.rank() == 0 {
        let (tx, ask, ctl) = (
            a.sender.unwrap(),
            ask.receiver.unwrap(),
            ctl.sender.unwrap(),
        );
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        par([
            Process::new("writer", move || -> occamy::Result {
                if soft {
                    let sent = alt! {
                        send(tx, 42) -> r => { r.unwrap(); true }
                        after(Duration::from_secs(600)) => false,
                    };
                    assert!(sent, "the alt timed out");
                } else {
                    tx.send(42)?;
                }
                d.store(true, Ordering::SeqCst);
                Ok(())
            }),
            Process::new("observer", move || -> occamy::Result {
                while ask.recv().is_ok() {
                    ctl.send(done.load(Ordering::SeqCst))?;
                }
                Ok(())
            }),
        ])
        .unwrap();
    } else if w.rank() == 1 {
        let (rx, ask, ctl) = (
            a.receiver.unwrap(),
            ask.sender.unwrap(),
            ctl.receiver.unwrap(),
        );
        for i in 0..50 {
            ask.send(()).unwrap();
            assert!(
                !ctl.recv().unwrap(),
                "the writer's send returned before the read (question {i})"
            );
        }
        assert_eq!(rx.recv(), Ok(42));
        let mut asked = 0;
        loop {
            ask.send(()).unwrap();
            asked += 1;
            if ctl.recv().unwrap() {
                break;
            }
        }
        println!("rendezvous: writer seen done {asked} question(s) after the read");
    }
}

/// A link of capacity 3: three sends complete with nobody reading; a fourth waits (it
/// times out), and completes once the reader took one.
fn buffered_link(w: &World) {
    let b = w.link::<u32>(&Link::buffered(1, "b", [0], 1, 3)).unwrap();
    let go = w.link::<()>(&Link::rendezvous(2, "go", [0], 1)).unwrap();
    if w.rank() == 0 {
        let (tx, go) = (b.sender.unwrap(), go.sender.unwrap());
        for v in 0..3 {
            tx.send(v).unwrap();
        }
        match tx.send_timeout(3, Duration::from_millis(200)) {
            Err(SendTimeoutError::Timeout(3)) => {}
            other => panic!("a fourth value found room in a buffer of three: {other:?}"),
        }
        go.send(()).unwrap();
        tx.send(3).unwrap();
        tx.send(4).unwrap();
    } else if w.rank() == 1 {
        let (rx, go) = (b.receiver.unwrap(), go.receiver.unwrap());
        go.recv().unwrap();
        let got: Vec<u32> = rx.iter().collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
    }
}

/// Values longer than one MPI message (`wire::MAX_MESSAGE`, 64 KiB) cross in pieces and
/// are joined whole: rank 0 sends values of sizes about the limit and well past it on a
/// rendezvous link, and several at once on a buffered one (a batch past the limit); rank
/// 1 checks each and sends it back on a third link, so that pieces cross both ways among
/// the `Ack`s and small values of the other links.
fn large(w: &World) {
    let sizes = [0usize, 1, 65_000, 65_531, 65_536, 65_537, 200_000, 1 << 20];
    let value = |n: usize, salt: usize| -> Vec<u8> {
        (0..n).map(|i| ((i * 31 + salt) % 251) as u8).collect()
    };
    let a = w
        .link::<Vec<u8>>(&Link::rendezvous(1, "a", [0], 1))
        .unwrap();
    let b = w
        .link::<Vec<u8>>(&Link::buffered(2, "b", [0], 1, 4))
        .unwrap();
    let back = w
        .link::<Vec<u8>>(&Link::rendezvous(3, "back", [1], 0))
        .unwrap();
    if w.rank() == 0 {
        let (a, b, back) = (a.sender.unwrap(), b.sender.unwrap(), back.receiver.unwrap());
        for (k, &n) in sizes.iter().enumerate() {
            a.send(value(n, k)).unwrap();
            let echo = back.recv().unwrap();
            assert!(
                echo == value(n, k),
                "a value of {n} bytes came back changed"
            );
        }
        // Four values of 40,000 bytes fit the buffer at once: one step may batch them.
        for k in 0..8 {
            b.send(value(40_000, 100 + k)).unwrap();
        }
    } else if w.rank() == 1 {
        let (a, b, back) = (
            a.receiver.unwrap(),
            b.receiver.unwrap(),
            back.sender.unwrap(),
        );
        for (k, &n) in sizes.iter().enumerate() {
            let v = a.recv().unwrap();
            assert!(
                v == value(n, k),
                "a value of {n} bytes arrived changed ({} bytes)",
                v.len()
            );
            back.send(v).unwrap();
        }
        for k in 0..8 {
            let v = b.recv().unwrap();
            assert!(
                v == value(40_000, 100 + k),
                "buffered value {k} arrived changed"
            );
        }
    }
}

/// Any-to-one across ranks: ranks 0 and 2 (or 0 alone with two ranks) write 100 values
/// each into one channel read on rank 1 by two reader processes (one-to-any among them).
fn shared(w: &World) {
    let writers: Vec<u32> = if w.size() >= 3 { vec![0, 2] } else { vec![0] };
    let c = w
        .link::<u32>(&Link::rendezvous(1, "c", writers.clone(), 1))
        .unwrap();
    let per = 100u32;
    if let Some(tx) = c.sender {
        let base = w.rank() * 1000;
        let tx2 = tx.clone();
        par([
            Process::with("w1", tx, move |tx| {
                (0..per / 2).try_for_each(|i| tx.send(base + i))
            }),
            Process::with("w2", tx2, move |tx| {
                (per / 2..per).try_for_each(|i| tx.send(base + i))
            }),
        ])
        .unwrap();
    }
    if let Some(rx) = c.receiver {
        let (out, all) = buffered::<u32>(1000);
        let (rx2, out2) = (rx.clone(), out.clone());
        par([
            Process::with("r1", (rx, out), |(rx, out)| -> occamy::Result {
                for v in rx.iter() {
                    out.send(v)?;
                }
                Ok(())
            }),
            Process::with("r2", (rx2, out2), |(rx, out)| -> occamy::Result {
                for v in rx.iter() {
                    out.send(v)?;
                }
                Ok(())
            }),
        ])
        .unwrap();
        let mut got: Vec<u32> = std::iter::from_fn(|| all.try_recv().ok()).collect();
        got.sort_unstable();
        let mut want: Vec<u32> = writers
            .iter()
            .flat_map(|r| (0..per).map(move |i| r * 1000 + i))
            .collect();
        want.sort_unstable();
        assert_eq!(got, want);
    }
}

/// A fair alt over a local and a remote input, both always ready: each chosen close to
/// half the time (six standard deviations of the binomial).
fn alt_fair(w: &World) {
    const SELECTS: usize = 2000;
    const EACH: usize = 1500; // more than either guard can be chosen within the band
    let r = w
        .link::<u32>(&Link::buffered(1, "remote", [0], 1, EACH))
        .unwrap();
    let go = w.link::<()>(&Link::rendezvous(2, "go", [0], 1)).unwrap();
    if w.rank() == 0 {
        let tx = r.sender.unwrap();
        for _ in 0..EACH {
            tx.send(1).unwrap();
        }
        // MPI keeps rank 0's messages to rank 1 in order: when `go` arrives, every value
        // sent above is queued on rank 1's side of `remote`.
        go.sender.unwrap().send(()).unwrap();
        drop(tx);
    } else if w.rank() == 1 {
        let rx = r.receiver.unwrap();
        go.receiver.unwrap().recv().unwrap();
        let (ltx, lrx) = buffered::<u32>(EACH);
        for _ in 0..EACH {
            ltx.send(0).unwrap();
        }
        let mut counts = [0usize; 2];
        for _ in 0..SELECTS {
            let g = alt! {
                recv(lrx) -> v => v.unwrap(),
                recv(rx) -> v => v.unwrap(),
            };
            counts[g as usize] += 1;
        }
        let sd = (SELECTS as f64 * 0.25).sqrt();
        for c in counts {
            let dev = (c as f64 - SELECTS as f64 / 2.0).abs() / sd;
            assert!(
                dev < 6.0,
                "unfair: local {} remote {} ({dev:.1} sd)",
                counts[0],
                counts[1]
            );
        }
        println!("alt_fair: local {} remote {}", counts[0], counts[1]);
    }
}

/// Poison both ways: rank 0 poisons `a` while rank 1 waits to read it; rank 1 poisons `b`
/// while rank 0 waits to write it.
fn poison(w: &World) {
    let a = w.link::<u8>(&Link::rendezvous(1, "a", [0], 1)).unwrap();
    let b = w.link::<u8>(&Link::rendezvous(2, "b", [0], 1)).unwrap();
    if w.rank() == 0 {
        a.sender.unwrap().poison();
        let tx = b.sender.unwrap();
        assert_eq!(tx.send(1), Err(SendError::Poisoned(1)));
    } else if w.rank() == 1 {
        assert_eq!(a.receiver.unwrap().recv(), Err(RecvError::Poisoned));
        b.receiver.unwrap().poison();
    }
}

/// Retirement both ways: rank 0's writer of `a` goes after two values; rank 1's reader of
/// `b` goes, and rank 0's writer then gets `Retired` with its value back.
fn retire(w: &World) {
    let a = w.link::<u8>(&Link::rendezvous(1, "a", [0], 1)).unwrap();
    let b = w.link::<u8>(&Link::rendezvous(2, "b", [0], 1)).unwrap();
    if w.rank() == 0 {
        let tx = a.sender.unwrap();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        tx.retire();
        let tx = b.sender.unwrap();
        assert_eq!(tx.send(9), Err(SendError::Retired(9)));
    } else if w.rank() == 1 {
        let rx = a.receiver.unwrap();
        assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2]);
        b.receiver.unwrap().retire();
    }
}

/// Rank 1 kills itself (SIGKILL) while rank 0 waits to read from it: the job must end,
/// with an error, rather than hang.
fn kill(w: &World) {
    let a = w.link::<u8>(&Link::rendezvous(1, "a", [1], 0)).unwrap();
    if w.rank() == 1 {
        let me = std::process::id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-9", &me])
            .status();
        unreachable!("still alive after kill -9");
    } else if w.rank() == 0 {
        let r = a.receiver.unwrap().recv();
        panic!("rank 0 got {r:?} from a killed rank");
    }
}

/// A farm: rank 0 writes 300 jobs into one channel read by two worker processes on every
/// rank (rank 0's included); every job is done exactly once, and the results come back
/// to rank 0 over an any-to-one link.
fn farm(w: &World, capacity: usize) {
    const JOBS: u64 = 300;
    let every: Vec<u32> = (0..w.size()).collect();
    let jobs = w
        .link::<u64>(&Link::new(1, "jobs", [0], every.clone(), capacity))
        .unwrap();
    let done = w
        .link::<(u32, u64)>(&Link::new(2, "done", every, [0], 0))
        .unwrap();
    let me = w.rank();
    let mut procs = Vec::new();
    if let Some(tx) = jobs.sender {
        procs.push(Process::with("farmer", tx, |tx| -> occamy::Result {
            (0..JOBS).try_for_each(|j| tx.send(j))?;
            Ok(())
        }));
    }
    if let (Some(rx), Some(out)) = (jobs.receiver, done.sender) {
        for k in 0..2 {
            let (rx, out) = (rx.clone(), out.clone());
            procs.push(Process::with(
                format!("worker{k}"),
                (rx, out),
                move |(rx, out)| -> occamy::Result {
                    for j in rx.iter() {
                        out.send((me, j * j))?;
                    }
                    Ok(())
                },
            ));
        }
    }
    if let Some(rx) = done.receiver {
        let size = w.size();
        procs.push(Process::with(
            "collector",
            rx,
            move |rx| -> occamy::Result {
                let mut got: Vec<u64> = Vec::new();
                let mut by_rank = vec![0u32; size as usize];
                for (r, v) in rx.iter() {
                    got.push(v);
                    by_rank[r as usize] += 1;
                }
                got.sort_unstable();
                assert_eq!(got, (0..JOBS).map(|j| j * j).collect::<Vec<_>>());
                println!("farm: jobs done per rank {by_rank:?}");
                Ok(())
            },
        ));
    }
    par(procs).unwrap();
}

/// A pause of kind `i % 5` before a process's next message: none; a sleep longer than an
/// idle worker or a blocked thread lingers driving (it parks, handing the engine back to
/// its thread); a busy poll longer than the engine thread's back-off (a driver stops
/// stepping without parking: the engine thread must notice and take over); a longer
/// sleep; none. Pauses shape the timing only: every value is checked whatever they do.
/// `Some(d)`: sleep `d` (`gap` for green processes, `thread_gap` for thread processes).
fn pause(i: u64) -> Option<Duration> {
    match i % 5 {
        1 => Some(Duration::from_micros(400)),
        2 => {
            let until = std::time::Instant::now() + Duration::from_micros(1500);
            while std::time::Instant::now() < until {
                std::hint::spin_loop();
            }
            None
        }
        3 => Some(Duration::from_millis(3)),
        _ => None,
    }
}

async fn gap(i: u64) {
    if let Some(d) = pause(i) {
        occamy::sleep_async(d).await;
    }
}

fn thread_gap(i: u64) {
    if let Some(d) = pause(i) {
        std::thread::sleep(d);
    }
}

/// Rank 0's green `ping` sends 0..N on `a` and reads each answer on `b`; rank 1's green
/// `pong` answers v + 1; the gaps (`gap`) on both sides, out of step, make the engine's
/// driver change hands between messages, in every order (a worker parking, a worker
/// stuck in a long poll, the engine thread taking over, a worker driving again).
/// Meanwhile a thread process on rank 1 sends 0..N on `c` to a green `sink` on rank 0
/// (its wakes come from outside the pool). A message lost while the driver changes hangs
/// the run (the test's watchdog fails it).
fn handoff(w: &World) {
    let a = w.link::<u64>(&Link::rendezvous(1, "a", [0], 1)).unwrap();
    let b = w.link::<u64>(&Link::rendezvous(2, "b", [1], 0)).unwrap();
    let c = w.link::<u64>(&Link::rendezvous(3, "c", [1], 0)).unwrap();
    if w.rank() == 0 {
        let (tx, rx, sink) = (a.sender.unwrap(), b.receiver.unwrap(), c.receiver.unwrap());
        par([
            Process::with_async("ping", (tx, rx), |(tx, rx)| async move {
                for i in 0..HANDOFF_N {
                    gap(i).await;
                    tx.send_async(i).await?;
                    assert_eq!(rx.recv_async().await?, i + 1, "answer {i}");
                }
                Ok::<(), occamy::Error>(())
            }),
            Process::with_async("sink", sink, |sink| async move {
                for i in 0..HANDOFF_N {
                    assert_eq!(sink.recv_async().await?, i, "value {i} on c");
                }
                Ok::<(), occamy::Error>(())
            }),
        ])
        .unwrap();
    } else if w.rank() == 1 {
        let (rx, tx, src) = (a.receiver.unwrap(), b.sender.unwrap(), c.sender.unwrap());
        par([
            Process::with_async("pong", (rx, tx), |(rx, tx)| async move {
                for i in 0..HANDOFF_N {
                    let v = rx.recv_async().await?;
                    gap(i + 2).await;
                    tx.send_async(v + 1).await?;
                }
                Ok::<(), occamy::Error>(())
            }),
            source(src),
        ])
        .unwrap();
    }
}

/// Rank 1's thread process `source` of `handoff`: 0..N on `src`, pausing now and then.
fn source(src: occamy::Sender<u64>) -> Process {
    Process::with("source", src, |src| -> occamy::Result {
        for i in 0..HANDOFF_N {
            if i % 3 == 1 {
                std::thread::sleep(Duration::from_micros(700));
            }
            src.send(i)?;
        }
        Ok(())
    })
}

/// `handoff` with thread processes: rank 0's `ping` and rank 1's `pong` answer each other
/// across `a` and `b` with `thread_gap`s out of step, so that the driver changes hands
/// between a blocked thread, the engine thread and back, in every order; meanwhile
/// rank 1's `source` sends 0..N on `c` to rank 0's `sink`, and rank 0's `tick` and `tock`
/// talk over a local channel: two threads blocked on links at once on each rank (one
/// drives, the other sleeps until the driver completes it), and local waits beside them.
/// Every value is checked; a message lost while the driver changes hangs the run (the
/// test's watchdog fails it). Each rank checks that its blocked threads did drive.
fn handoff_threads(w: &World) {
    let a = w.link::<u64>(&Link::rendezvous(1, "a", [0], 1)).unwrap();
    let b = w.link::<u64>(&Link::rendezvous(2, "b", [1], 0)).unwrap();
    let c = w.link::<u64>(&Link::rendezvous(3, "c", [1], 0)).unwrap();
    if w.rank() == 0 {
        let (tx, rx, sink) = (a.sender.unwrap(), b.receiver.unwrap(), c.receiver.unwrap());
        let (tick, tock) = occamy::channel::<u64>();
        par([
            Process::with("ping", (tx, rx), |(tx, rx)| -> occamy::Result {
                for i in 0..HANDOFF_N {
                    thread_gap(i);
                    tx.send(i)?;
                    assert_eq!(rx.recv()?, i + 1, "answer {i}");
                }
                Ok(())
            }),
            Process::with("sink", sink, |sink| -> occamy::Result {
                for i in 0..HANDOFF_N {
                    assert_eq!(sink.recv()?, i, "value {i} on c");
                }
                Ok(())
            }),
            Process::with("tick", tick, |tick| -> occamy::Result {
                for i in 0..HANDOFF_N {
                    tick.send(i)?;
                }
                Ok(())
            }),
            Process::with("tock", tock, |tock| -> occamy::Result {
                for i in 0..HANDOFF_N {
                    assert_eq!(tock.recv()?, i, "value {i} on the local channel");
                }
                Ok(())
            }),
        ])
        .unwrap();
    } else if w.rank() == 1 {
        let (rx, tx, src) = (a.receiver.unwrap(), b.sender.unwrap(), c.sender.unwrap());
        par([
            Process::with("pong", (rx, tx), |(rx, tx)| -> occamy::Result {
                for i in 0..HANDOFF_N {
                    let v = rx.recv()?;
                    thread_gap(i + 2);
                    tx.send(v + 1)?;
                }
                Ok(())
            }),
            source(src),
        ])
        .unwrap();
    }
    assert!(
        w.blocked_thread_drives() > 0,
        "no thread blocked on a link drove the engine"
    );
}

/// Rank 0 offers a value on `a` in an alt with a timeout while rank 1 does not read: the
/// timeout must win, and rank 1, reading later with a deadline, sees nothing. Then a
/// `send_timeout` (soft too) meets a demand rank 1 left behind (its reader timed out):
/// its value is bounced back, and the send times out with its value.
fn guard_timeout(w: &World) {
    let a = w.link::<u64>(&Link::rendezvous(1, "a", [0], 1)).unwrap();
    let ctl = w.link::<()>(&Link::rendezvous(2, "ctl", [0], 1)).unwrap();
    let back = w.link::<()>(&Link::rendezvous(3, "back", [1], 0)).unwrap();
    if w.rank() == 0 {
        let (tx, ctl, back) = (
            a.sender.unwrap(),
            ctl.sender.unwrap(),
            back.receiver.unwrap(),
        );
        let sent = alt! {
            send(tx, 7) -> r => { r.unwrap(); true }
            after(Duration::from_millis(300)) => false,
        };
        assert!(!sent, "an output guard was chosen though nobody read");
        ctl.send(()).unwrap();
        back.recv().unwrap();
        match tx.send_timeout(8, Duration::from_millis(300)) {
            Err(SendTimeoutError::Timeout(8)) => {}
            other => panic!("a send nobody read: {other:?}"),
        }
        ctl.send(()).unwrap();
    } else if w.rank() == 1 {
        let (rx, ctl, back) = (
            a.receiver.unwrap(),
            ctl.receiver.unwrap(),
            back.sender.unwrap(),
        );
        ctl.recv().unwrap();
        let got = rx.recv_timeout(Duration::from_millis(300));
        assert!(nothing(&got), "{}: {got:?}", "the alt's value was taken");
        back.send(()).unwrap();
        ctl.recv().unwrap();
        let got = rx.recv_timeout(Duration::from_millis(300));
        assert!(nothing(&got), "{}: {got:?}", "the timed-out send's value");
    }
}

/// Rank 0 runs 20 alts, each with output guards on `a` (read on rank 1) and `b` (read on
/// rank 2, which does not read): each must choose `a` (a committed `b` guard would hang
/// the alt), and rank 2, reading `b` afterwards with a deadline, sees nothing.
fn guard_two(w: &World) {
    const N: u64 = 20;
    let a = w.link::<u64>(&Link::rendezvous(1, "a", [0], 1)).unwrap();
    let b = w.link::<u64>(&Link::rendezvous(2, "b", [0], 2)).unwrap();
    let d1 = w.link::<()>(&Link::rendezvous(3, "d1", [0], 1)).unwrap();
    let d2 = w.link::<()>(&Link::rendezvous(4, "d2", [0], 2)).unwrap();
    match w.rank() {
        0 => {
            let (ta, tb) = (a.sender.unwrap(), b.sender.unwrap());
            for i in 0..N {
                let g = alt! {
                    send(ta, i) -> r => { r.unwrap(); 0 }
                    send(tb, 100 + i) -> r => { r.unwrap(); 1 }
                };
                assert_eq!(g, 0, "alt {i} chose the guard nobody reads");
            }
            d1.sender.unwrap().send(()).unwrap();
            d2.sender.unwrap().send(()).unwrap();
        }
        1 => {
            let rx = a.receiver.unwrap();
            for i in 0..N {
                assert_eq!(rx.recv(), Ok(i));
            }
            d1.receiver.unwrap().recv().unwrap();
        }
        2 => {
            d2.receiver.unwrap().recv().unwrap();
            let got = b.receiver.unwrap().recv_timeout(Duration::from_millis(300));
            assert!(nothing(&got), "{}: {got:?}", "a value of b was taken");
        }
        _ => {}
    }
}

/// Rank 0 runs 300 alts {send on `a`, a 500 µs timeout}; rank 1 reads `a` in alts with a
/// 300 µs timeout, so that offers and demands keep crossing readers that left (bounces,
/// give-backs). Whatever the timing, the values rank 1 got are exactly those whose guard
/// rank 0 saw chosen, in order.
fn guard_stress(w: &World) {
    const N: u64 = 300;
    let a = w.link::<u64>(&Link::rendezvous(1, "a", [0], 1)).unwrap();
    let done = w
        .link::<Vec<u64>>(&Link::rendezvous(2, "done", [0], 1))
        .unwrap();
    if w.rank() == 0 {
        let tx = a.sender.unwrap();
        let mut sent = Vec::new();
        for i in 0..N {
            let took = alt! {
                send(tx, i) -> r => { r.unwrap(); true }
                after(Duration::from_micros(500)) => false,
            };
            if took {
                sent.push(i);
            }
        }
        println!("guard_stress: {} of {N} taken", sent.len());
        done.sender.unwrap().send(sent).unwrap();
    } else if w.rank() == 1 {
        let (rx, done) = (a.receiver.unwrap(), done.receiver.unwrap());
        let mut got = Vec::new();
        let sent = loop {
            let step = alt! {
                recv(rx) -> v => { got.push(v.unwrap()); None }
                recv(done) -> s => Some(s.unwrap()),
                after(Duration::from_micros(300)) => None,
            };
            if let Some(s) = step {
                break s;
            }
        };
        // A value whose guard was chosen may still be on its way: rank 0's `done` left
        // after it, and MPI keeps their order, so it is queued here by now.
        while let Ok(v) = rx.recv_timeout(Duration::from_millis(200)) {
            got.push(v);
        }
        assert_eq!(got, sent, "values taken and values seen taken differ");
    }
}

/// `try_send` on a link: `Full` while rank 1 does not read (50 tries), `Ok` once it waits
/// to read (tried until then), and the value arrives once; `Full` again after.
fn try_send(w: &World) {
    let a = w.link::<u64>(&Link::rendezvous(1, "a", [0], 1)).unwrap();
    let go = w.link::<()>(&Link::rendezvous(2, "go", [0], 1)).unwrap();
    let back = w.link::<()>(&Link::rendezvous(3, "back", [1], 0)).unwrap();
    if w.rank() == 0 {
        let (tx, go, back) = (
            a.sender.unwrap(),
            go.sender.unwrap(),
            back.receiver.unwrap(),
        );
        for i in 0..50 {
            match tx.try_send(1) {
                Err(TrySendError::Full(1)) => {}
                other => panic!("try {i} with no reader waiting: {other:?}"),
            }
        }
        go.send(()).unwrap();
        let mut tries = 0u64;
        loop {
            tries += 1;
            match tx.try_send(5) {
                Ok(()) => break,
                Err(TrySendError::Full(5)) => std::thread::yield_now(),
                Err(e) => panic!("try_send: {e:?}"),
            }
        }
        println!("try_send: succeeded after {tries} tries");
        back.recv().unwrap();
        for i in 0..50 {
            match tx.try_send(6) {
                Err(TrySendError::Full(6)) => {}
                other => panic!("try {i} after the read: {other:?}"),
            }
        }
        go.send(()).unwrap();
    } else if w.rank() == 1 {
        let (rx, go, back) = (
            a.receiver.unwrap(),
            go.receiver.unwrap(),
            back.sender.unwrap(),
        );
        go.recv().unwrap();
        assert_eq!(rx.recv(), Ok(5));
        back.send(()).unwrap();
        go.recv().unwrap();
        let got = rx.recv_timeout(Duration::from_millis(200));
        assert!(nothing(&got), "{}: {got:?}", "a second value arrived");
    }
}

/// Nothing came: the deadline passed, or the writer rank's end has gone (its writer is
/// done) with no value left.
fn nothing<T>(got: &Result<T, RecvTimeoutError>) -> bool {
    matches!(
        got,
        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Retired)
    )
}
