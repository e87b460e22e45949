//! Scheduler benchmarks: the same async CSP programs over occamy's channels
//! (`send_async` / `recv_async`) run on occamy's own executor (`occamy::scheduler::Pool`)
//! with 1 and with 2 workers, and on tokio's multi-thread runtime with 2 workers, in
//! alternation in the same process. Prints the median of each and the ratios pool / tokio
//! (below 1: the pool is faster).
//!
//! Figures are defined as in the peers harness (`peers/run.sh`; see benches/core.rs):
//! - `commstime N`: Prefix -> Delta -> Succ loop, SEQ Delta also feeding the Consumer, which
//!   times N receives after a warm-up of max(N/20, 1000); ns per communication = time/N/4.
//! - `pingpong N`: ns per round trip.
//! - `ring P H`: P processes pass a token H hops; ns per hop (set-up not timed).
//! - `spawn N`: a task spawns N trivial tasks and awaits them all; ns per task.
//! - `million P H`: a ring of P (default 1,000,000) processes, H (2,000,000) hops: set-up
//!   time, ns per hop, and peak RSS (VmHWM). Each system runs it in a child process of its
//!   own, so that each peak is its own.
//!
//! Usage: `cargo bench --bench scheduler [-- [--quick] [commstime|pingpong|ring|spawn|million]...]`.
//!
//! Environment (all optional): `OCCAMY_BENCH_QUICK=1` (as `--quick`), `OCCAMY_BENCH_ROUNDS`
//! (default 5, quick 1), `OCCAMY_BENCH_N` (commstime, 40000 / 2000),
//! `OCCAMY_BENCH_PINGPONG_N` (40000 / 2000), `OCCAMY_BENCH_RING_PROCS` (256),
//! `OCCAMY_BENCH_RING_HOPS` (150000 / 5000), `OCCAMY_BENCH_SPAWN_N` (100000 / 5000),
//! `OCCAMY_BENCH_MILLION_PROCS` (1000000 / 10000), `OCCAMY_BENCH_MILLION_HOPS`
//! (2000000 / 20000).
//!
//! Run without `--bench` (as `cargo test --benches` does), it does the quick run.

#[path = "support/stats.rs"]
mod stats;

use stats::{env_num, median, ns_since, show};
use std::future::Future;
use std::process::{Command, ExitCode};
use std::sync::mpsc;
use std::time::Instant;

use occamy::scheduler::{self, Pool};

fn warm_up(n: u64) -> u64 {
    (n / 20).max(1000)
}

// ------------------------------------------------------------------------------ executors

#[derive(Clone, Copy, PartialEq, Debug)]
enum Sys {
    Pool1,
    Pool2,
    Tokio2,
}

const SYSTEMS: [Sys; 3] = [Sys::Pool1, Sys::Pool2, Sys::Tokio2];

impl Sys {
    fn name(self) -> &'static str {
        match self {
            Sys::Pool1 => "pool-1",
            Sys::Pool2 => "pool-2",
            Sys::Tokio2 => "tokio-2",
        }
    }

    fn parse(s: &str) -> Option<Sys> {
        SYSTEMS.into_iter().find(|x| x.name() == s)
    }
}

enum Exec {
    Pool(Pool),
    Tokio(tokio::runtime::Runtime),
}

enum Task {
    Pool(scheduler::JoinHandle),
    Tokio(tokio::task::JoinHandle<()>),
}

impl Exec {
    fn new(sys: Sys) -> Exec {
        match sys {
            Sys::Pool1 => Exec::Pool(Pool::new(1).expect("pool")),
            Sys::Pool2 => Exec::Pool(Pool::new(2).expect("pool")),
            Sys::Tokio2 => Exec::Tokio(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .build()
                    .expect("tokio runtime"),
            ),
        }
    }

    fn is_tokio(&self) -> bool {
        matches!(self, Exec::Tokio(_))
    }

    fn spawn(&self, f: impl Future<Output = ()> + Send + 'static) -> Task {
        match self {
            Exec::Pool(p) => Task::Pool(p.spawn(f)),
            Exec::Tokio(rt) => Task::Tokio(rt.spawn(f)),
        }
    }

    fn join(&self, t: Task) {
        match (self, t) {
            (_, Task::Pool(h)) => h.join().expect("task failed"),
            (Exec::Tokio(rt), Task::Tokio(h)) => rt.block_on(h).expect("task failed"),
            _ => unreachable!(),
        }
    }

    /// Spawns the tasks, joins them all, returns the figure the measuring one reported.
    fn run(
        &self,
        tasks: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
        res: mpsc::Receiver<f64>,
    ) -> f64 {
        let hs: Vec<Task> = tasks.into_iter().map(|t| self.spawn(t)).collect();
        for h in hs {
            self.join(h);
        }
        res.recv().expect("the measuring task reports its figure")
    }
}

type Boxed = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

// ------------------------------------------------------------------------------ programs

fn commstime(ex: &Exec, n: u64) -> f64 {
    let (a_tx, a_rx) = occamy::channel::<u64>(); // prefix -> delta
    let (b_tx, b_rx) = occamy::channel::<u64>(); // delta -> succ
    let (c_tx, c_rx) = occamy::channel::<u64>(); // succ -> prefix
    let (d_tx, d_rx) = occamy::channel::<u64>(); // delta -> consumer
    let (res_tx, res_rx) = mpsc::channel();
    let tasks: Vec<Boxed> = vec![
        Box::pin(async move {
            if a_tx.send_async(0).await.is_err() {
                return;
            }
            while let Ok(v) = c_rx.recv_async().await {
                if a_tx.send_async(v).await.is_err() {
                    return;
                }
            }
        }),
        Box::pin(async move {
            while let Ok(v) = a_rx.recv_async().await {
                // SEQ delta: the consumer first, then succ.
                if d_tx.send_async(v).await.is_err() || b_tx.send_async(v).await.is_err() {
                    return;
                }
            }
        }),
        Box::pin(async move {
            while let Ok(v) = b_rx.recv_async().await {
                if c_tx.send_async(v + 1).await.is_err() {
                    return;
                }
            }
        }),
        Box::pin(async move {
            let warm = warm_up(n);
            for _ in 0..warm {
                d_rx.recv_async().await.unwrap();
            }
            let t0 = Instant::now();
            let mut last = 0;
            for _ in 0..n {
                last = d_rx.recv_async().await.unwrap();
            }
            let dt = ns_since(t0);
            assert_eq!(last, warm + n - 1);
            d_rx.poison(); // ends the loop
            res_tx.send(dt / n as f64 / 4.0).unwrap();
        }),
    ];
    ex.run(tasks, res_rx)
}

fn pingpong(ex: &Exec, n: u64) -> f64 {
    let (p_tx, p_rx) = occamy::channel::<u64>();
    let (q_tx, q_rx) = occamy::channel::<u64>();
    let (res_tx, res_rx) = mpsc::channel();
    let tasks: Vec<Boxed> = vec![
        Box::pin(async move {
            while let Ok(v) = p_rx.recv_async().await {
                if q_tx.send_async(v).await.is_err() {
                    return;
                }
            }
        }),
        Box::pin(async move {
            for i in 0..warm_up(n) {
                p_tx.send_async(i).await.unwrap();
                q_rx.recv_async().await.unwrap();
            }
            let t0 = Instant::now();
            for i in 0..n {
                p_tx.send_async(i).await.unwrap();
                q_rx.recv_async().await.unwrap();
            }
            let dt = ns_since(t0);
            drop(p_tx); // pong's recv fails: it ends
            res_tx.send(dt / n as f64).unwrap();
        }),
    ];
    ex.run(tasks, res_rx)
}

/// A ring of `procs` tasks: node 0 measures; the others forward `v + 1`. Returns
/// (ns per hop, set-up ns).
fn ring(ex: &Exec, procs: usize, hops: u64) -> (f64, f64) {
    let ts = Instant::now();
    let (res_tx, res_rx) = mpsc::channel();
    let (first_tx, mut prev_rx) = occamy::channel::<u64>();
    let mut hs = Vec::with_capacity(procs);
    for _ in 1..procs {
        let (tx, rx) = occamy::channel::<u64>();
        let input = std::mem::replace(&mut prev_rx, rx);
        hs.push(ex.spawn(async move {
            while let Ok(v) = input.recv_async().await {
                if tx.send_async(v + 1).await.is_err() {
                    return;
                }
            }
        }));
    }
    let last_rx = prev_rx;
    let setup = ns_since(ts);
    hs.push(ex.spawn(async move {
        let t0 = Instant::now();
        first_tx.send_async(1).await.unwrap();
        loop {
            let v = last_rx.recv_async().await.unwrap();
            if v >= hops {
                break;
            }
            first_tx.send_async(v + 1).await.unwrap();
        }
        let dt = ns_since(t0);
        drop(first_tx); // the ring retires node by node
        res_tx.send(dt / hops as f64).unwrap();
    }));
    for h in hs {
        ex.join(h);
    }
    (res_rx.recv().unwrap(), setup)
}

fn spawn_many(ex: &Exec, n: u64) -> f64 {
    let (res_tx, res_rx) = mpsc::channel();
    let tokio = ex.is_tokio();
    let driver: Boxed = Box::pin(async move {
        let t0 = Instant::now();
        if tokio {
            let hs: Vec<_> = (0..n).map(|_| tokio::spawn(async {})).collect();
            for h in hs {
                h.await.unwrap();
            }
        } else {
            let hs: Vec<_> = (0..n).map(|_| scheduler::spawn(async {})).collect();
            for h in hs {
                h.await.unwrap();
            }
        }
        res_tx.send(ns_since(t0) / n as f64).unwrap();
    });
    ex.run(vec![driver], res_rx)
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// The child process of `million`: one system, one run, one line on stdout.
fn million_child(sys: Sys, procs: usize, hops: u64) {
    let ex = Exec::new(sys);
    let (ns_hop, setup) = ring(&ex, procs, hops);
    let hwm = vm_hwm_kib();
    drop(ex);
    println!(
        "MILLION ns_per_hop={ns_hop} setup_ms={} hwm_kib={hwm}",
        setup / 1e6
    );
}

fn million(sys: Sys, procs: usize, hops: u64) -> Option<(f64, f64, f64)> {
    let out = Command::new(std::env::current_exe().ok()?)
        .args([
            "--million-child",
            sys.name(),
            &procs.to_string(),
            &hops.to_string(),
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("MILLION "))?;
    let get = |k: &str| -> Option<f64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('=')?.parse().ok())
    };
    Some((
        get("ns_per_hop")?,
        get("setup_ms")?,
        get("hwm_kib")? / 1024.0,
    ))
}

// ------------------------------------------------------------------------------ driver

struct Config {
    quick: bool,
    rounds: usize,
    commstime_n: u64,
    pingpong_n: u64,
    ring_procs: usize,
    ring_hops: u64,
    spawn_n: u64,
    million_procs: usize,
    million_hops: u64,
    only: Vec<String>,
}

const BENCHES: [&str; 5] = ["commstime", "pingpong", "ring", "spawn", "million"];

impl Config {
    fn from_env_and_args(args: &[String]) -> Result<Config, String> {
        let mut quick =
            std::env::var("OCCAMY_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let mut bench_mode = false;
        let mut only = Vec::new();
        for arg in args {
            match arg.as_str() {
                "--bench" => bench_mode = true,
                "--quick" => quick = true,
                a if BENCHES.contains(&a) => only.push(arg.clone()),
                a if a.starts_with('-') => eprintln!("scheduler bench: ignoring option {a}"),
                a => return Err(format!("unknown benchmark {a:?} ({})", BENCHES.join(", "))),
            }
        }
        quick |= !bench_mode;
        let q = |full: u64, short: u64| if quick { short } else { full };
        let cfg = Config {
            quick,
            rounds: env_num("OCCAMY_BENCH_ROUNDS", q(5, 1) as usize)?,
            commstime_n: env_num("OCCAMY_BENCH_N", q(40_000, 2_000))?,
            pingpong_n: env_num("OCCAMY_BENCH_PINGPONG_N", q(40_000, 2_000))?,
            ring_procs: env_num("OCCAMY_BENCH_RING_PROCS", 256)?,
            ring_hops: env_num("OCCAMY_BENCH_RING_HOPS", q(150_000, 5_000))?,
            spawn_n: env_num("OCCAMY_BENCH_SPAWN_N", q(100_000, 5_000))?,
            million_procs: env_num("OCCAMY_BENCH_MILLION_PROCS", q(1_000_000, 10_000) as usize)?,
            million_hops: env_num("OCCAMY_BENCH_MILLION_HOPS", q(2_000_000, 20_000))?,
            only,
        };
        if cfg.rounds == 0
            || cfg.commstime_n == 0
            || cfg.pingpong_n == 0
            || cfg.ring_hops == 0
            || cfg.spawn_n == 0
            || cfg.million_hops == 0
        {
            return Err("rounds and sizes must be at least 1".into());
        }
        if cfg.ring_procs < 2 || cfg.million_procs < 2 {
            return Err("rings need at least 2 processes".into());
        }
        Ok(cfg)
    }

    fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--million-child") {
        let sys = args.get(1).and_then(|s| Sys::parse(s)).expect("system");
        let procs = args[2].parse().expect("procs");
        let hops = args[3].parse().expect("hops");
        million_child(sys, procs, hops);
        return ExitCode::SUCCESS;
    }
    let cfg = match Config::from_env_and_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("scheduler bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "occamy scheduler benchmarks{}: {} round(s), {} core(s); commstime n={}, pingpong n={}, ring {} x {} hops, spawn n={}, million ring {} x {} hops",
        if cfg.quick { " (quick)" } else { "" },
        cfg.rounds,
        cores,
        cfg.commstime_n,
        cfg.pingpong_n,
        cfg.ring_procs,
        cfg.ring_hops,
        cfg.spawn_n,
        cfg.million_procs,
        cfg.million_hops,
    );
    let t0 = Instant::now();
    let execs: Vec<Exec> = SYSTEMS.iter().map(|&s| Exec::new(s)).collect();
    type Prog<'a> = Box<dyn Fn(&Exec) -> f64 + 'a>;
    let progs: Vec<(&str, &str, Prog)> = vec![
        (
            "commstime",
            "ns/comm",
            Box::new(|ex| commstime(ex, cfg.commstime_n)),
        ),
        (
            "pingpong",
            "ns/rtt",
            Box::new(|ex| pingpong(ex, cfg.pingpong_n)),
        ),
        (
            "ring",
            "ns/hop",
            Box::new(|ex| ring(ex, cfg.ring_procs, cfg.ring_hops).0),
        ),
        (
            "spawn",
            "ns/task",
            Box::new(|ex| spawn_many(ex, cfg.spawn_n)),
        ),
    ];
    let mut summary = Vec::new();
    for (name, unit, prog) in progs.iter().filter(|p| cfg.wants(p.0)) {
        let mut got: Vec<Vec<f64>> = vec![Vec::new(); SYSTEMS.len()];
        for round in 0..cfg.rounds {
            // Rotate which system goes first.
            let mut line = format!("  {name:<10} round {}/{}", round + 1, cfg.rounds);
            let mut row = [0.0; 3];
            for k in 0..SYSTEMS.len() {
                let i = (k + round) % SYSTEMS.len();
                row[i] = prog(&execs[i]);
                got[i].push(row[i]);
            }
            for (i, s) in SYSTEMS.iter().enumerate() {
                line += &format!("  {} {:>8.0}", s.name(), row[i]);
            }
            println!("{line}  {unit}");
        }
        summary.push((*name, *unit, got));
    }
    drop(execs);
    println!();
    println!(
        "median of {} round(s); ratio = pool / tokio-2 median (< 1: the pool is faster)",
        cfg.rounds
    );
    for (name, unit, got) in &summary {
        let m: Vec<Option<f64>> = got.iter().map(|v| median(v)).collect();
        let ratio = |i: usize| {
            m[i].zip(m[2])
                .map_or_else(|| "-".into(), |(a, b)| format!("{:.2}", a / b))
        };
        println!(
            "{name:<10} pool-1 {:>7} {unit:<8} pool-2 {:>7} {unit:<8} tokio-2 {:>7} {unit:<8} ratio pool-1 {}  pool-2 {}",
            show(m[0]),
            show(m[1]),
            show(m[2]),
            ratio(0),
            ratio(1)
        );
    }
    if cfg.wants("million") {
        println!(
            "million    ring of {} processes, {} hops, each system in a child process:",
            cfg.million_procs, cfg.million_hops
        );
        for sys in SYSTEMS {
            match million(sys, cfg.million_procs, cfg.million_hops) {
                Some((ns, setup, mib)) => println!(
                    "  {:<8} {:>6.0} ns/hop  set-up {:>6.0} ms  peak RSS (VmHWM) {:>6.0} MiB",
                    sys.name(),
                    ns,
                    setup,
                    mib
                ),
                None => println!("  {:<8} failed", sys.name()),
            }
        }
    }
    println!("total {:.1} s", t0.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
