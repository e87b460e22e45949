//! The green variants of `core.rs`'s networks: the same processes written async, run
//! as tasks by `Scheduler::Green`. Included by `core.rs` (`mod green;`).

use std::sync::mpsc;
use std::time::Instant;

use occamy::{Process, Runtime, Scheduler};

use super::{ns_since, run_network, warm_up};

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
