//! Cross-rank figures, run by `benches/mpi.sh` under `mpirun -n 2`:
//! - ping-pong between ranks 0 and 1 through occamy links (rendezvous both ways), against
//!   raw MPI `Ssend`/`Recv` ping-pong on the engine thread, in the same run, taking turns
//!   for `ROUNDS` rounds: ns per round trip, medians, and the ratio occamy / raw. The
//!   occamy side three ways: async processes on the green scheduler with its idle workers
//!   driving the engine (what a user writes, and the default), the same with the engine
//!   thread alone driving, and blocking processes (a thread each), which drive the engine
//!   themselves while blocked, and the same with the engine thread alone driving; and two
//!   pairs of blocking processes ping-ponging at once (one thread drives while the other
//!   sleeps: ns per round trip of each pair); and a second yardstick, raw MPI's standard
//!   (eager) `Send`/`Recv` ping-pong: one MPI message a hop, as occamy's protocol sends
//!   (a value with the previous value's `Ack`), where `Ssend` costs two, so the gap
//!   between it and occamy is occamy's own work; and the floor of any design in which a
//!   green task waits for MPI: one async process per rank making its own MPI calls
//!   (eager `Send`, then probing for the answer and yielding between probes), with no
//!   channel, no proxy and no engine step between;
//! - a barrier joined across the two ranks (`World::barrier`), one party on each, async
//!   or a thread, against raw `MPI_Barrier` in the same run: ns per phase;
//! - commstime (prefix -> delta -> succ -> prefix, delta -> consumer) with `succ` on rank 1
//!   and the rest on rank 0 (two of its four communications cross), against all four on
//!   rank 0: ns per communication; as async processes on the green scheduler, and as
//!   thread processes.
//!
//! Environment: `OCCAMY_BENCH_ROUNDS` (default 5), `OCCAMY_BENCH_PINGPONG_N` (default
//! 20000), `OCCAMY_BENCH_N` (commstime loops, default 20000), `OCCAMY_BENCH_ONLY` (a
//! comma-separated subset of `raw,raw_send,floor,green,green_engine,threads,threads_engine,threads2,barrier,commstime`, to profile one).

use std::time::Instant;

use mpi::collective::CommunicatorCollectives;
use mpi::point_to_point::{Destination, Source};
use mpi::topology::Communicator;
use occamy::mpi::{Link, World};
use occamy::{channel, par, Process, Receiver, Runtime, Scheduler, Sender};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let w = World::init().expect("mpi");
    assert_eq!(w.size(), 2, "run under mpirun -n 2");
    let rounds = env("OCCAMY_BENCH_ROUNDS", 5) as usize;
    let n = env("OCCAMY_BENCH_PINGPONG_N", 20_000);
    let loops = env("OCCAMY_BENCH_N", 20_000);
    let me = w.rank();

    let only = std::env::var("OCCAMY_BENCH_ONLY").ok();
    let run = |what: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|x| x == what))
    };
    let (mut raw_send, mut floor) = (Vec::new(), Vec::new());
    let (mut raw, mut green, mut green_engine, mut threads, mut threads_engine, mut threads2) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for round in 0..rounds {
        let id = 1000 + 12 * round as u32;
        if run("raw") {
            raw.push(raw_pingpong(w, n));
        }
        if run("raw_send") {
            raw_send.push(raw_pingpong_with(w, n, false));
        }
        if run("floor") {
            floor.push(floor_pingpong(w, n));
        }
        if run("green") {
            green.push(green_pingpong(w, n, id));
        }
        if run("green_engine") {
            w.set_worker_driving(false);
            green_engine.push(green_pingpong(w, n, id + 2));
            w.set_worker_driving(true);
        }
        if run("threads") {
            threads.push(occamy_pingpong(w, n, id + 4));
        }
        if run("threads_engine") {
            w.set_worker_driving(false);
            threads_engine.push(occamy_pingpong(w, n, id + 6));
            w.set_worker_driving(true);
        }
        if run("threads2") {
            let pairs =
                [id + 8, id + 10].map(|id| std::thread::spawn(move || occamy_pingpong(w, n, id)));
            let t: Vec<f64> = pairs.into_iter().map(|p| p.join().unwrap()).collect();
            threads2.push(t.iter().sum::<f64>() / t.len() as f64);
        }
    }
    let pingpong = [
        &raw,
        &raw_send,
        &floor,
        &green,
        &green_engine,
        &threads,
        &threads_engine,
        &threads2,
    ];
    if me == 0 && pingpong.iter().any(|v| !v.is_empty()) {
        println!("ping-pong across ranks (ns per round trip, median of {rounds}, n = {n}):");
        let r = (!raw.is_empty()).then(|| median(raw));
        if let Some(r) = r {
            println!("  raw MPI Ssend/Recv                      {r:>9.0}");
        }
        let eager = (!raw_send.is_empty()).then(|| median(raw_send));
        if let Some(e) = eager {
            println!("  raw MPI Send/Recv (eager)               {e:>9.0}");
        }
        for (what, v) in [
            ("floor: a task's own MPI calls, no chan", floor),
            ("occamy green, workers drive the engine", green),
            ("occamy green, engine thread drives    ", green_engine),
            ("occamy threads, blocked threads drive ", threads),
            ("occamy threads, engine thread drives  ", threads_engine),
            ("occamy threads, two pairs at once     ", threads2),
        ] {
            if v.is_empty() {
                continue;
            }
            let o = median(v);
            let mut ratios = Vec::new();
            if let Some(r) = r {
                ratios.push(format!("{:.2}x raw", o / r));
            }
            if let Some(e) = eager {
                ratios.push(format!("{:.2}x eager", o / e));
            }
            if ratios.is_empty() {
                println!("  {what}  {o:>9.0}");
            } else {
                println!("  {what}  {o:>9.0}  ({})", ratios.join(", "));
            }
        }
    }
    if run("barrier") {
        let (mut raw, mut green, mut threads) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let id = 5000 + 2 * round as u32;
            raw.push(raw_barrier(w, n));
            green.push(occamy_barrier(w, n, id, true));
            threads.push(occamy_barrier(w, n, id + 1, false));
        }
        if me == 0 {
            println!(
                "a barrier of one party on each rank (ns per phase, median of {rounds}, n = {n}):"
            );
            let r = median(raw);
            println!("  raw MPI_Barrier                        {r:>9.0}");
            for (what, v) in [
                ("occamy, async parties (green)         ", green),
                ("occamy, thread parties                ", threads),
            ] {
                let o = median(v);
                println!("  {what}  {o:>9.0}  ({:.2}x raw)", o / r);
            }
        }
    }
    if !run("commstime") {
        w.finish().expect("finish");
        return;
    }

    for green in [true, false] {
        let (mut split, mut local) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let id = 100 + 6 * round as u32 + if green { 0 } else { 3 };
            split.push(commstime_split(w, loops, id, green));
            if me == 0 {
                local.push(commstime_local(loops, green));
            }
        }
        if me == 0 {
            let (s, l) = (median(split), median(local));
            let how = if green {
                "async processes, green"
            } else {
                "thread processes"
            };
            println!("commstime, {how} (ns per communication, median of {rounds}, {loops} loops):");
            println!("  all on rank 0                 {l:>9.0}");
            println!("  succ on rank 1 (2 of 4 cross) {s:>9.0}");
            println!("  ratio 2 ranks / 1             {:>9.2}", s / l);
        }
    }
    w.finish().expect("finish");
}

/// `n` phases of raw `MPI_Barrier` on the engine's thread: ns per phase (rank 0's clock).
fn raw_barrier(w: &World, n: u64) -> f64 {
    w.with_raw(move |world| {
        let warm = (n / 20).max(100);
        let mut start = Instant::now();
        for i in 0..n + warm {
            if i == warm {
                start = Instant::now();
            }
            world.barrier();
        }
        start.elapsed().as_nanos() as f64 / n as f64
    })
}

/// `n` phases of an occamy barrier joined across both ranks (`World::barrier`), one
/// party on each: an async process on the green scheduler, or a thread process. ns per
/// phase (rank 0's clock; 0 on rank 1).
fn occamy_barrier(w: &World, n: u64, id: u32, green: bool) -> f64 {
    let b = occamy::Barrier::new();
    w.barrier(id, "bench", [0, 1], &b).unwrap();
    let warm = (n / 20).max(100);
    let (out, result) = channel::<f64>();
    let h = std::thread::spawn(move || result.recv().unwrap_or(0.0));
    let p = if green {
        Process::with_async("party", (b, out), move |(b, out)| async move {
            let mut start = Instant::now();
            for i in 0..n + warm {
                if i == warm {
                    start = Instant::now();
                }
                b.sync_async().await?;
            }
            out.send_async(start.elapsed().as_nanos() as f64 / n as f64)
                .await?;
            Ok::<(), occamy::Error>(())
        })
    } else {
        Process::with("party", (b, out), move |(b, out)| -> occamy::Result {
            let mut start = Instant::now();
            for i in 0..n + warm {
                if i == warm {
                    start = Instant::now();
                }
                b.sync()?;
            }
            out.send(start.elapsed().as_nanos() as f64 / n as f64)?;
            Ok(())
        })
    };
    Runtime::new()
        .scheduler(Scheduler::green())
        .par([p])
        .unwrap();
    let t = h.join().unwrap();
    if w.rank() == 0 {
        t
    } else {
        0.0
    }
}

/// Not occamy's tag: a link message posted just before (a last `Ack`) must not be taken
/// for a ping.
const RAW_TAG: i32 = 7;

/// Raw rsmpi ping-pong on the engine's thread: rank 0 `Ssend`s and receives, rank 1
/// receives and `Ssend`s back. Returns ns per round trip (rank 0's clock).
fn raw_pingpong(w: &World, n: u64) -> f64 {
    raw_pingpong_with(w, n, true)
}

fn raw_pingpong_with(w: &World, n: u64, sync: bool) -> f64 {
    w.with_raw(move |world| {
        let other = world.process_at_rank(1 - world.rank());
        let mut v = 0u64;
        let warm = (n / 20).max(100);
        let mut start = Instant::now();
        for i in 0..n + warm {
            if i == warm {
                start = Instant::now();
            }
            let send = |v: u64| {
                if sync {
                    other.synchronous_send_with_tag(&v, RAW_TAG)
                } else {
                    other.send_with_tag(&v, RAW_TAG)
                }
            };
            if world.rank() == 0 {
                send(v);
                v = other.receive_with_tag::<u64>(RAW_TAG).0;
            } else {
                v = other.receive_with_tag::<u64>(RAW_TAG).0;
                send(v + 1);
            }
        }
        start.elapsed().as_nanos() as f64 / n as f64
    })
}

/// Yields to the scheduler once (wakes itself, so it runs again soon).
struct Yield(bool);

impl std::future::Future for Yield {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// The floor (see the module docs): an async process on each rank's green scheduler
/// calls MPI itself, under the engine's lock (`World::try_with_comm`, yielding while
/// another holds it): an eager `Send` of the value, then a matched probe for the answer,
/// yielding between probes. No channel, no proxy: what is left of a hop is MPI's and a
/// task's poll. ns per round trip (rank 0's clock).
fn floor_pingpong(w: &'static World, n: u64) -> f64 {
    let warm = (n / 20).max(100);
    let me = w.rank();
    let other = 1 - me as i32;
    let send = move |v: u64| async move {
        while w
            .try_with_comm(|c| c.process_at_rank(other).send_with_tag(&v, RAW_TAG))
            .is_none()
        {
            Yield(false).await;
        }
    };
    let recv = move || async move {
        loop {
            let got = w.try_with_comm(|c| {
                c.process_at_rank(other)
                    .immediate_matched_probe_with_tag(RAW_TAG)
                    .map(|(msg, _)| msg.matched_receive::<u64>().0)
            });
            if let Some(Some(v)) = got {
                return v;
            }
            Yield(false).await;
        }
    };
    let rt = Runtime::new().scheduler(Scheduler::green());
    let (out, result) = channel::<f64>();
    let h = std::thread::spawn(move || result.recv().unwrap());
    rt.par([Process::with_async("floor", out, move |out| async move {
        let mut v = 0;
        let mut start = Instant::now();
        for i in 0..n + warm {
            if i == warm {
                start = Instant::now();
            }
            if me == 0 {
                send(v).await;
                v = recv().await;
            } else {
                v = recv().await;
                send(v + 1).await;
            }
        }
        out.send_async(start.elapsed().as_nanos() as f64 / n as f64)
            .await?;
        Ok::<(), occamy::Error>(())
    })])
    .unwrap();
    h.join().unwrap()
}

/// The two links of a ping-pong between ranks 0 and 1: `ping` from 0 to 1, `pong` back.
fn pingpong_links(w: &World, id: u32) -> (occamy::mpi::Ends<u64>, occamy::mpi::Ends<u64>) {
    let link = |id, name, from, to| {
        w.link::<u64>(&Link::rendezvous(id, name, [from], to))
            .unwrap()
    };
    (link(id, "ping", 0, 1), link(id + 1, "pong", 1, 0))
}

/// The same through two rendezvous links, by two async occamy processes on the green
/// scheduler (what a user writes).
fn green_pingpong(w: &World, n: u64, id: u32) -> f64 {
    let (there, back) = pingpong_links(w, id);
    let warm = (n / 20).max(100);
    let rt = Runtime::new().scheduler(Scheduler::green());
    if w.rank() == 0 {
        let (tx, rx) = (there.sender.unwrap(), back.receiver.unwrap());
        let (out, result) = channel::<f64>();
        let h = std::thread::spawn(move || result.recv().unwrap());
        rt.par([Process::with_async(
            "ping",
            (tx, rx, out),
            move |(tx, rx, out)| async move {
                let mut v = 0;
                let mut start = Instant::now();
                for i in 0..n + warm {
                    if i == warm {
                        start = Instant::now();
                    }
                    tx.send_async(v).await?;
                    v = rx.recv_async().await?;
                }
                out.send_async(start.elapsed().as_nanos() as f64 / n as f64)
                    .await?;
                Ok::<(), occamy::Error>(())
            },
        )])
        .unwrap();
        h.join().unwrap()
    } else {
        let (rx, tx) = (there.receiver.unwrap(), back.sender.unwrap());
        rt.par([Process::with_async(
            "pong",
            (rx, tx),
            move |(rx, tx)| async move {
                for _ in 0..n + warm {
                    tx.send_async(rx.recv_async().await? + 1).await?;
                }
                Ok::<(), occamy::Error>(())
            },
        )])
        .unwrap();
        0.0
    }
}

/// The same through two rendezvous links, by two blocking occamy processes (a thread
/// each).
fn occamy_pingpong(w: &World, n: u64, id: u32) -> f64 {
    let (there, back) = pingpong_links(w, id);
    let warm = (n / 20).max(100);
    if w.rank() == 0 {
        let (tx, rx) = (there.sender.unwrap(), back.receiver.unwrap());
        let (out, result) = channel::<f64>();
        let h = std::thread::spawn(move || result.recv().unwrap());
        par([Process::with(
            "ping",
            (tx, rx, out),
            move |(tx, rx, out)| -> occamy::Result {
                let mut v = 0;
                let mut start = Instant::now();
                for i in 0..n + warm {
                    if i == warm {
                        start = Instant::now();
                    }
                    tx.send(v)?;
                    v = rx.recv()?;
                }
                out.send(start.elapsed().as_nanos() as f64 / n as f64)?;
                Ok(())
            },
        )])
        .unwrap();
        h.join().unwrap()
    } else {
        let (rx, tx) = (there.receiver.unwrap(), back.sender.unwrap());
        par([Process::with(
            "pong",
            (rx, tx),
            move |(rx, tx)| -> occamy::Result {
                for _ in 0..n + warm {
                    tx.send(rx.recv()? + 1)?;
                }
                Ok(())
            },
        )])
        .unwrap();
        0.0
    }
}

fn prefix(inp: Receiver<u64>, out: Sender<u64>) -> Process {
    Process::with("prefix", (inp, out), |(inp, out)| -> occamy::Result {
        out.send(0)?;
        loop {
            out.send(inp.recv()?)?;
        }
    })
}

fn delta(inp: Receiver<u64>, a: Sender<u64>, b: Sender<u64>) -> Process {
    Process::with("delta", (inp, a, b), |(inp, a, b)| -> occamy::Result {
        loop {
            let v = inp.recv()?;
            a.send(v)?;
            b.send(v)?;
        }
    })
}

fn succ(inp: Receiver<u64>, out: Sender<u64>) -> Process {
    Process::with("succ", (inp, out), |(inp, out)| -> occamy::Result {
        loop {
            out.send(inp.recv()? + 1)?;
        }
    })
}

/// The consumer: times `loops` values after a warm-up, reports ns per communication
/// (four per loop), and poisons its input, which ends the network.
fn consumer(inp: Receiver<u64>, report: Sender<f64>, loops: u64) -> Process {
    Process::with(
        "consumer",
        (inp, report),
        move |(inp, report)| -> occamy::Result {
            let warm = (loops / 20).max(100);
            for _ in 0..warm {
                inp.recv()?;
            }
            let start = Instant::now();
            for _ in 0..loops {
                inp.recv()?;
            }
            report.send(start.elapsed().as_nanos() as f64 / loops as f64 / 4.0)?;
            inp.poison();
            Ok(())
        },
    )
}

// The same four as async processes, for the green scheduler.

fn prefix_green(inp: Receiver<u64>, out: Sender<u64>) -> Process {
    Process::with_async("prefix", (inp, out), |(inp, out)| async move {
        out.send_async(0).await?;
        loop {
            out.send_async(inp.recv_async().await?).await?;
        }
        #[allow(unreachable_code)]
        Ok::<(), occamy::Error>(())
    })
}

fn delta_green(inp: Receiver<u64>, a: Sender<u64>, b: Sender<u64>) -> Process {
    Process::with_async("delta", (inp, a, b), |(inp, a, b)| async move {
        loop {
            let v = inp.recv_async().await?;
            a.send_async(v).await?;
            b.send_async(v).await?;
        }
        #[allow(unreachable_code)]
        Ok::<(), occamy::Error>(())
    })
}

fn succ_green(inp: Receiver<u64>, out: Sender<u64>) -> Process {
    Process::with_async("succ", (inp, out), |(inp, out)| async move {
        loop {
            out.send_async(inp.recv_async().await? + 1).await?;
        }
        #[allow(unreachable_code)]
        Ok::<(), occamy::Error>(())
    })
}

fn consumer_green(inp: Receiver<u64>, report: Sender<f64>, loops: u64) -> Process {
    Process::with_async("consumer", (inp, report), move |(inp, report)| async move {
        let warm = (loops / 20).max(100);
        for _ in 0..warm {
            inp.recv_async().await?;
        }
        let start = Instant::now();
        for _ in 0..loops {
            inp.recv_async().await?;
        }
        report
            .send_async(start.elapsed().as_nanos() as f64 / loops as f64 / 4.0)
            .await?;
        inp.poison();
        Ok::<(), occamy::Error>(())
    })
}

fn commstime_local(loops: u64, green: bool) -> f64 {
    let (a_tx, a_rx) = channel();
    let (b_tx, b_rx) = channel();
    let (c_tx, c_rx) = channel();
    let (d_tx, d_rx) = channel();
    let (r_tx, r_rx) = channel();
    let h = std::thread::spawn(move || r_rx.recv().unwrap());
    let _ = if green {
        par([
            prefix_green(c_rx, a_tx),
            delta_green(a_rx, d_tx, b_tx),
            succ_green(b_rx, c_tx),
            consumer_green(d_rx, r_tx, loops),
        ])
    } else {
        par([
            prefix(c_rx, a_tx),
            delta(a_rx, d_tx, b_tx),
            succ(b_rx, c_tx),
            consumer(d_rx, r_tx, loops),
        ])
    };
    h.join().unwrap()
}

/// `b` (delta -> succ) and `c` (succ -> prefix) cross from rank 0 to 1 and back.
fn commstime_split(w: &World, loops: u64, id: u32, green: bool) -> f64 {
    let b = w.link::<u64>(&Link::rendezvous(id, "b", [0], 1)).unwrap();
    let c = w
        .link::<u64>(&Link::rendezvous(id + 1, "c", [1], 0))
        .unwrap();
    if w.rank() == 0 {
        let (a_tx, a_rx) = channel();
        let (d_tx, d_rx) = channel();
        let (r_tx, r_rx) = channel();
        let h = std::thread::spawn(move || r_rx.recv().unwrap());
        let (c_rx, b_tx) = (c.receiver.unwrap(), b.sender.unwrap());
        let _ = if green {
            par([
                prefix_green(c_rx, a_tx),
                delta_green(a_rx, d_tx, b_tx),
                consumer_green(d_rx, r_tx, loops),
            ])
        } else {
            par([
                prefix(c_rx, a_tx),
                delta(a_rx, d_tx, b_tx),
                consumer(d_rx, r_tx, loops),
            ])
        };
        h.join().unwrap()
    } else {
        let (b_rx, c_tx) = (b.receiver.unwrap(), c.sender.unwrap());
        let _ = if green {
            par([succ_green(b_rx, c_tx)])
        } else {
            par([succ(b_rx, c_tx)])
        };
        0.0
    }
}
