//! The green variants of `core.rs`'s networks: the same processes written async, run
//! as tasks by `Scheduler::Green`. Included by `core.rs` (`mod green;`).

use std::sync::mpsc;
use std::time::Instant;

use occamy::{Process, Runtime, Scheduler};

use super::stats::ns_since;
use super::{run_network, warm_up};

type R = Result<(), occamy::Error>;

pub fn runtime(workers: usize) -> Runtime {
    Runtime::new().scheduler(Scheduler::Green { workers })
}

pub fn commstime(workers: usize, n: u64) -> f64 {
    let (a_tx, a_rx) = occamy::channel::<u64>();
    let (b_tx, b_rx) = occamy::channel::<u64>();
    let (c_tx, c_rx) = occamy::channel::<u64>();
    let (d_tx, d_rx) = occamy::channel::<u64>();
    let (res_tx, res_rx) = mpsc::channel();
    let net = vec![
        Process::new_async("prefix", async move {
            a_tx.send_async(0).await?;
            loop {
                a_tx.send_async(c_rx.recv_async().await?).await?;
            }
            #[allow(unreachable_code)]
            R::Ok(())
        }),
        Process::new_async("delta", async move {
            loop {
                let v = a_rx.recv_async().await?;
                d_tx.send_async(v).await?;
                b_tx.send_async(v).await?;
            }
            #[allow(unreachable_code)]
            R::Ok(())
        }),
        Process::new_async("succ", async move {
            loop {
                c_tx.send_async(b_rx.recv_async().await? + 1).await?;
            }
            #[allow(unreachable_code)]
            R::Ok(())
        }),
        Process::new_async("consumer", async move {
            for _ in 0..warm_up(n) {
                d_rx.recv_async().await?;
            }
            let t0 = Instant::now();
            for _ in 0..n {
                d_rx.recv_async().await?;
            }
            let dt = ns_since(t0);
            d_rx.poison();
            res_tx.send(dt / (4 * n) as f64).expect("result channel");
            R::Ok(())
        }),
    ];
    run_network(&runtime(workers), net, res_rx)
}

pub fn pingpong(workers: usize, n: u64) -> f64 {
    let (p_tx, p_rx) = occamy::channel::<u64>();
    let (q_tx, q_rx) = occamy::channel::<u64>();
    let (res_tx, res_rx) = mpsc::channel();
    let net = vec![
        Process::new_async("pong", async move {
            loop {
                q_tx.send_async(p_rx.recv_async().await?).await?;
            }
            #[allow(unreachable_code)]
            R::Ok(())
        }),
        Process::new_async("ping", async move {
            for i in 0..warm_up(n) {
                p_tx.send_async(i).await?;
                q_rx.recv_async().await?;
            }
            let t0 = Instant::now();
            for i in 0..n {
                p_tx.send_async(i).await?;
                q_rx.recv_async().await?;
            }
            let dt = ns_since(t0);
            p_tx.poison();
            res_tx.send(dt / n as f64).expect("result channel");
            R::Ok(())
        }),
    ];
    run_network(&runtime(workers), net, res_rx)
}

pub fn ring(workers: usize, nproc: usize, hops: u64) -> f64 {
    let (mut txs, mut rxs): (Vec<_>, Vec<_>) = (0..nproc)
        .map(|_| occamy::channel::<u64>())
        .map(|(t, r)| (Some(t), Some(r)))
        .unzip();
    let (res_tx, res_rx) = mpsc::channel();
    let mut net = Vec::with_capacity(nproc);
    for i in 1..nproc {
        let rx = rxs[i - 1].take().unwrap();
        let tx = txs[i].take().unwrap();
        net.push(Process::new_async(format!("node{i}"), async move {
            loop {
                tx.send_async(rx.recv_async().await? + 1).await?;
            }
            #[allow(unreachable_code)]
            R::Ok(())
        }));
    }
    let rx0 = rxs[nproc - 1].take().unwrap();
    let tx0 = txs[0].take().unwrap();
    net.push(Process::new_async("node0", async move {
        let t0 = Instant::now();
        tx0.send_async(1).await?;
        let mut v;
        loop {
            v = rx0.recv_async().await?;
            if v >= hops {
                break;
            }
            tx0.send_async(v + 1).await?;
        }
        let dt = ns_since(t0);
        tx0.poison();
        res_tx.send(dt / v as f64).expect("result channel");
        R::Ok(())
    }));
    run_network(&runtime(workers), net, res_rx)
}

/// Starts `n` trivial green processes in one run and waits for them all: ns per process.
pub fn spawn(workers: usize, n: usize) -> f64 {
    let rt = runtime(workers);
    let procs: Vec<Process> = (0..n)
        .map(|i| Process::new_async(format!("p{i}"), async {}))
        .collect();
    let t0 = Instant::now();
    rt.par(procs).expect("trivial processes end normally");
    ns_since(t0) / n as f64
}

/// The baseline for `spawn`: `n` OS threads started and joined, 1000 alive at a time (a
/// Linux process cannot hold 100,000 threads at once).
pub fn spawn_threads(n: usize) -> f64 {
    let t0 = Instant::now();
    let mut left = n;
    while left > 0 {
        let batch = left.min(1000);
        let hs: Vec<_> = (0..batch).map(|_| std::thread::spawn(|| {})).collect();
        for h in hs {
            h.join().unwrap();
        }
        left -= batch;
    }
    ns_since(t0) / n as f64
}

/// `writers` green writers, each sending `msgs / writers` values on its own rendezvous
/// channel, into one fair alt: ns per message; prints each writer's share of the first
/// `msgs / 2` messages taken (while every writer still has values to send).
pub fn alt(workers: usize, writers: usize, msgs: u64) -> f64 {
    let each = msgs / writers as u64;
    let (res_tx, res_rx) = mpsc::channel();
    let mut txs = Vec::with_capacity(writers);
    let mut rxs = Vec::with_capacity(writers);
    for _ in 0..writers {
        let (tx, rx) = occamy::channel::<usize>();
        txs.push(tx);
        rxs.push(rx);
    }
    let mut net: Vec<Process> = txs
        .into_iter()
        .enumerate()
        .map(|(i, tx)| {
            Process::new_async(format!("writer{i}"), async move {
                for _ in 0..each {
                    tx.send_async(i).await?;
                }
                R::Ok(())
            })
        })
        .collect();
    net.push(Process::new_async("alt", async move {
        let mut alt = occamy::Alt::new();
        let guards: Vec<_> = rxs.iter().map(|rx| alt.recv(rx)).collect();
        let total = each * writers as u64;
        let mut shares = vec![0u64; writers];
        let t0 = Instant::now();
        let mut got = 0u64;
        while got < total {
            let mut sel = alt.select_async().await;
            if let occamy::Event::Received = sel.event() {
                let i = sel.recv(guards[sel.index()]).expect("the chosen input")?;
                if got < total / 2 {
                    shares[i] += 1;
                }
                got += 1;
            }
        }
        let dt = ns_since(t0);
        let mean = (total / 2) as f64 / writers as f64;
        let lo = *shares.iter().min().unwrap() as f64 / mean;
        let hi = *shares.iter().max().unwrap() as f64 / mean;
        println!(
            "    alt: {:.0} msgs/s, writer shares {:.3}..{:.3} of the mean",
            total as f64 / (dt / 1e9),
            lo,
            hi
        );
        res_tx.send(dt / total as f64).expect("result channel");
        R::Ok(())
    }));
    run_network(&runtime(workers), net, res_rx)
}

/// The baseline for `alt`: the same on threads, with crossbeam-channel's `Select`.
pub fn alt_crossbeam(writers: usize, msgs: u64) -> f64 {
    let each = msgs / writers as u64;
    let mut rxs = Vec::new();
    let mut hs = Vec::new();
    for i in 0..writers {
        let (tx, rx) = crossbeam_channel::bounded::<usize>(0);
        rxs.push(rx);
        hs.push(std::thread::spawn(move || {
            for _ in 0..each {
                tx.send(i).unwrap();
            }
        }));
    }
    let total = each * writers as u64;
    let t0 = Instant::now();
    let mut live: Vec<bool> = vec![true; writers];
    let mut got = 0;
    while got < total {
        let mut sel = crossbeam_channel::Select::new();
        let idx: Vec<usize> = (0..writers).filter(|i| live[*i]).collect();
        for &i in &idx {
            sel.recv(&rxs[i]);
        }
        let op = sel.select();
        let k = idx[op.index()];
        match op.recv(&rxs[k]) {
            Ok(_) => got += 1,
            Err(_) => live[k] = false,
        }
    }
    let dt = ns_since(t0);
    for h in hs {
        h.join().unwrap();
    }
    dt / total as f64
}
