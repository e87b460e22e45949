//! Core benchmarks: each CSP benchmark written twice, once as an occamy network (`par` of
//! `Process`es over `occamy::channel`s) and once as the same program on plain std threads
//! with crossbeam-channel `bounded(0)` rendezvous channels, run in alternation in the same
//! process. Prints the median of each and the ratio occamy / crossbeam (below 1: occamy is
//! faster).
//!
//! The figures are defined exactly as in the peers harness of the shared workspace
//! (`peers/run.sh`, its Rust `cspbench` and Go programs), so they can be put side by side:
//! - `commstime N`: Prefix -> Delta -> Succ -> Prefix loop, Delta (SEQ: consumer first, then
//!   succ) also feeds the Consumer; after a warm-up of max(N/20, 1000) values, the consumer
//!   times N receives; ns per communication = time / N / 4.
//! - `pingpong N`: two processes; ns per round trip (a send and a receive), same warm-up.
//! - `ring P H`: P processes in a ring (node 0 is the one that measures) pass a token for H
//!   hops; ns per hop. Start-up and tear-down are not timed.
//! - `farm`: the Mandelbrot farm (a farmer, 4 green workers, a collector; bands of 4 rows)
//!   against the serial render of the same image (default 3200x2400, 1024 iterations, the
//!   bar of issue 8: a speedup of at least 0.9 x cores); ms per image, and the speedup.
//!   The image's sum of iteration counts must be the same both ways.
//!
//! After them, `detection` runs occamy's commstime with the deadlock monitor on and off
//! (alternating) and prints the ratio: the monitor's overhead. `watch` does the same with
//! and without an `occamy::observe::Watch` attached (what `occamy run --viz` attaches),
//! nobody reading it, and once more with a reader taking a snapshot every 250 ms (as the
//! viewer does while a page is open). `record` runs commstime recorded into a trace file
//! (`occamy run --record`) and not recorded, alternating, and prints the ratio: the cost
//! of recording every communication, wait and wake-up (the bar is 2).
//!
//! Usage: `cargo bench --bench core [-- [--quick] [commstime|pingpong|ring|spawn|alt|farm|detection|watch|record]...]`
//! (a name also runs its green variants);
//! `--occamy-only` or `--crossbeam-only` runs one side alone (for profiling).
//!
//! Environment (all optional):
//! - `OCCAMY_BENCH_QUICK=1`: a short smoke run (the same as `--quick`);
//! - `OCCAMY_BENCH_ROUNDS`: rounds per benchmark (default 5, quick 1);
//! - `OCCAMY_BENCH_N`: commstime loop iterations (default 40000, quick 2000);
//! - `OCCAMY_BENCH_PINGPONG_N`: ping-pong round trips (default 40000, quick 2000);
//! - `OCCAMY_BENCH_RING_PROCS`: processes in the ring (default 256, quick too);
//! - `OCCAMY_BENCH_RING_HOPS`: ring hops (default 150000, quick 5000);
//! - `OCCAMY_BENCH_SPAWN_N`: processes started and joined (default 100000, quick 2000);
//! - `OCCAMY_BENCH_ALT_N`: messages into the 32-writer alt (default 320000, quick 6400);
//! - `OCCAMY_BENCH_SELECT_N`: selects of the never-blocking `alt3` benchmarks (default
//!   1000000, quick 20000);
//! - `OCCAMY_BENCH_FARM`: the farm's image, `WIDTHxHEIGHTxITERS` (default 3200x2400x1024,
//!   quick 400x300x256).
//!
//! Run without `--bench` (as `cargo test --benches` does), it does the quick run.

use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use occamy::{Process, Result, Runtime};

#[path = "support/farm.rs"]
mod farm;
#[path = "support/green.rs"]
mod green;
#[path = "support/select.rs"]
mod select;
#[path = "support/stats.rs"]
mod stats;

use stats::{env_num, median, ns_since, show, spread};

fn warm_up(n: u64) -> u64 {
    (n / 20).max(1000)
}

/// Runs an occamy network and returns the figure its measuring process reported.
fn run_network(rt: &Runtime, processes: Vec<Process>, result: mpsc::Receiver<f64>) -> f64 {
    rt.par(processes)
        .unwrap_or_else(|e| panic!("benchmark network failed: {e}"));
    result
        .recv()
        .expect("the measuring process reports its figure")
}

// ------------------------------------------------------------------------------ commstime

fn commstime_occamy(rt: &Runtime, n: u64) -> f64 {
    let (a_tx, a_rx) = occamy::channel::<u64>(); // prefix -> delta
    let (b_tx, b_rx) = occamy::channel::<u64>(); // delta -> succ
    let (c_tx, c_rx) = occamy::channel::<u64>(); // succ -> prefix
    let (d_tx, d_rx) = occamy::channel::<u64>(); // delta -> consumer
    let (res_tx, res_rx) = mpsc::channel();
    let net = vec![
        Process::new("prefix", move || -> Result {
            a_tx.send(0)?;
            loop {
                a_tx.send(c_rx.recv()?)?;
            }
        }),
        Process::new("delta", move || -> Result {
            loop {
                let v = a_rx.recv()?;
                d_tx.send(v)?;
                b_tx.send(v)?;
            }
        }),
        Process::new("succ", move || -> Result {
            loop {
                c_tx.send(b_rx.recv()? + 1)?;
            }
        }),
        Process::new("consumer", move || -> Result {
            let warm = warm_up(n);
            for _ in 0..warm {
                d_rx.recv()?;
            }
            let t0 = Instant::now();
            let mut last = 0;
            for _ in 0..n {
                last = d_rx.recv()?;
            }
            let dt = ns_since(t0);
            assert_eq!(last, warm + n - 1);
            d_rx.poison(); // ends the network
            res_tx.send(dt / n as f64 / 4.0).expect("result channel");
            Ok(())
        }),
    ];
    run_network(rt, net, res_rx)
}

fn commstime_crossbeam(n: u64) -> f64 {
    use crossbeam_channel::bounded;
    let (a_tx, a_rx) = bounded::<u64>(0);
    let (b_tx, b_rx) = bounded::<u64>(0);
    let (c_tx, c_rx) = bounded::<u64>(0);
    let (d_tx, d_rx) = bounded::<u64>(0);
    let prefix = thread::spawn(move || {
        if a_tx.send(0).is_err() {
            return;
        }
        while let Ok(v) = c_rx.recv() {
            if a_tx.send(v).is_err() {
                return;
            }
        }
    });
    let delta = thread::spawn(move || {
        while let Ok(v) = a_rx.recv() {
            if d_tx.send(v).is_err() || b_tx.send(v).is_err() {
                return;
            }
        }
    });
    let succ = thread::spawn(move || {
        while let Ok(v) = b_rx.recv() {
            if c_tx.send(v + 1).is_err() {
                return;
            }
        }
    });
    let warm = warm_up(n);
    for _ in 0..warm {
        d_rx.recv().unwrap();
    }
    let t0 = Instant::now();
    let mut last = 0;
    for _ in 0..n {
        last = d_rx.recv().unwrap();
    }
    let dt = ns_since(t0);
    assert_eq!(last, warm + n - 1);
    drop(d_rx);
    for h in [prefix, delta, succ] {
        h.join().unwrap();
    }
    dt / n as f64 / 4.0
}

// ------------------------------------------------------------------------------ ping-pong

fn pingpong_occamy(n: u64) -> f64 {
    let (p_tx, p_rx) = occamy::channel::<u64>();
    let (q_tx, q_rx) = occamy::channel::<u64>();
    let (res_tx, res_rx) = mpsc::channel();
    let net = vec![
        Process::new("pong", move || -> Result {
            loop {
                q_tx.send(p_rx.recv()?)?;
            }
        }),
        Process::new("ping", move || -> Result {
            for i in 0..warm_up(n) {
                p_tx.send(i)?;
                q_rx.recv()?;
            }
            let t0 = Instant::now();
            for i in 0..n {
                p_tx.send(i)?;
                q_rx.recv()?;
            }
            let dt = ns_since(t0);
            p_tx.poison();
            res_tx.send(dt / n as f64).expect("result channel");
            Ok(())
        }),
    ];
    run_network(&Runtime::new(), net, res_rx)
}

fn pingpong_crossbeam(n: u64) -> f64 {
    let (p_tx, p_rx) = crossbeam_channel::bounded::<u64>(0);
    let (q_tx, q_rx) = crossbeam_channel::bounded::<u64>(0);
    let h = thread::spawn(move || {
        while let Ok(v) = p_rx.recv() {
            if q_tx.send(v).is_err() {
                return;
            }
        }
    });
    for i in 0..warm_up(n) {
        p_tx.send(i).unwrap();
        q_rx.recv().unwrap();
    }
    let t0 = Instant::now();
    for i in 0..n {
        p_tx.send(i).unwrap();
        q_rx.recv().unwrap();
    }
    let dt = ns_since(t0);
    drop(p_tx);
    h.join().unwrap();
    dt / n as f64
}

// ------------------------------------------------------------------------------ ring

/// Node i reads channel i-1 and writes channel i; node 0 injects the token, counts the hops
/// (each node adds one to the token) and measures.
fn ring_occamy(nproc: usize, hops: u64) -> f64 {
    let (mut txs, mut rxs): (Vec<_>, Vec<_>) = (0..nproc)
        .map(|_| occamy::channel::<u64>())
        .map(|(t, r)| (Some(t), Some(r)))
        .unzip();
    let (res_tx, res_rx) = mpsc::channel();
    let mut net = Vec::with_capacity(nproc);
    for i in 1..nproc {
        let rx = rxs[i - 1].take().unwrap();
        let tx = txs[i].take().unwrap();
        net.push(Process::new(format!("node{i}"), move || -> Result {
            loop {
                tx.send(rx.recv()? + 1)?;
            }
        }));
    }
    let rx0 = rxs[nproc - 1].take().unwrap();
    let tx0 = txs[0].take().unwrap();
    net.push(Process::new("node0", move || -> Result {
        let t0 = Instant::now();
        tx0.send(1)?;
        let mut v;
        loop {
            v = rx0.recv()?;
            if v >= hops {
                break;
            }
            tx0.send(v + 1)?;
        }
        let dt = ns_since(t0);
        tx0.poison(); // poison spreads round the ring
        res_tx.send(dt / v as f64).expect("result channel");
        Ok(())
    }));
    run_network(&Runtime::new(), net, res_rx)
}

fn ring_crossbeam(nproc: usize, hops: u64) -> f64 {
    const STOP: u64 = u64::MAX;
    let (mut txs, mut rxs): (Vec<_>, Vec<_>) = (0..nproc)
        .map(|_| crossbeam_channel::bounded::<u64>(0))
        .map(|(t, r)| (Some(t), Some(r)))
        .unzip();
    let mut hs = Vec::with_capacity(nproc);
    for i in 1..nproc {
        let rx = rxs[i - 1].take().unwrap();
        let tx = txs[i].take().unwrap();
        hs.push(thread::spawn(move || {
            while let Ok(v) = rx.recv() {
                if v == STOP {
                    let _ = tx.send(STOP);
                    return;
                }
                if tx.send(v + 1).is_err() {
                    return;
                }
            }
        }));
    }
    let rx0 = rxs[nproc - 1].take().unwrap();
    let tx0 = txs[0].take().unwrap();
    let t0 = Instant::now();
    tx0.send(1).unwrap();
    let mut v;
    loop {
        v = rx0.recv().unwrap();
        if v >= hops {
            break;
        }
        tx0.send(v + 1).unwrap();
    }
    let dt = ns_since(t0);
    tx0.send(STOP).unwrap();
    assert_eq!(rx0.recv().unwrap(), STOP);
    for h in hs {
        h.join().unwrap();
    }
    dt / v as f64
}

// ------------------------------------------------------------------------------ harness

struct Config {
    quick: bool,
    rounds: usize,
    commstime_n: u64,
    pingpong_n: u64,
    ring_procs: usize,
    ring_hops: u64,
    spawn_n: usize,
    alt_n: u64,
    select_n: u64,
    farm: farm::Frame,
    /// Benchmarks named on the command line (none: all).
    only: Vec<String>,
    /// Which systems to run (both, unless `--occamy-only` / `--crossbeam-only`, for profiling).
    occamy: bool,
    crossbeam: bool,
}

impl Config {
    fn from_env_and_args() -> std::result::Result<Config, String> {
        let mut quick =
            std::env::var("OCCAMY_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let mut bench_mode = false;
        let (mut occamy, mut crossbeam) = (true, true);
        let mut only = Vec::new();
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--bench" => bench_mode = true,
                "--quick" => quick = true,
                "--occamy-only" => crossbeam = false,
                "--crossbeam-only" => occamy = false,
                "commstime" | "pingpong" | "ring" | "spawn" | "alt" | "farm" | "detection" | "watch"
                | "record" => only.push(arg),
                a if a.starts_with('-') => eprintln!("core bench: ignoring option {a}"),
                a => {
                    return Err(format!(
                        "unknown benchmark {a:?} (commstime, pingpong, ring, spawn, alt, farm, detection, watch, record)"
                    ))
                }
            }
        }
        // Not run by `cargo bench` (e.g. `cargo test --benches`): only check that it works.
        quick |= !bench_mode;
        let q = |full: u64, short: u64| if quick { short } else { full };
        let cfg = Config {
            quick,
            rounds: env_num("OCCAMY_BENCH_ROUNDS", q(5, 1) as usize)?,
            commstime_n: env_num("OCCAMY_BENCH_N", q(40_000, 2_000))?,
            pingpong_n: env_num("OCCAMY_BENCH_PINGPONG_N", q(40_000, 2_000))?,
            ring_procs: env_num("OCCAMY_BENCH_RING_PROCS", 256)?,
            ring_hops: env_num("OCCAMY_BENCH_RING_HOPS", q(150_000, 5_000))?,
            spawn_n: env_num("OCCAMY_BENCH_SPAWN_N", q(100_000, 2_000) as usize)?,
            alt_n: env_num("OCCAMY_BENCH_ALT_N", q(320_000, 6_400))?,
            select_n: env_num("OCCAMY_BENCH_SELECT_N", q(1_000_000, 20_000))?,
            farm: frame(if quick {
                "400x300x256"
            } else {
                "3200x2400x1024"
            })?,
            only,
            occamy,
            crossbeam,
        };
        if cfg.rounds == 0
            || cfg.commstime_n == 0
            || cfg.pingpong_n == 0
            || cfg.ring_hops == 0
            || cfg.select_n == 0
            || cfg.farm.width == 0
            || cfg.farm.height == 0
        {
            return Err("rounds and sizes must be at least 1".into());
        }
        if cfg.ring_procs < 2 {
            return Err("OCCAMY_BENCH_RING_PROCS must be at least 2".into());
        }
        if !cfg.occamy && !cfg.crossbeam {
            return Err("--occamy-only and --crossbeam-only exclude each other".into());
        }
        Ok(cfg)
    }

    fn wants(&self, name: &str) -> bool {
        // `ring` also names `ring-green2`, and so on.
        self.only.is_empty() || self.only.iter().any(|o| name.starts_with(o.as_str()))
    }
}

/// `OCCAMY_BENCH_FARM=WIDTHxHEIGHTxITERS`, or `default`.
fn frame(default: &str) -> std::result::Result<farm::Frame, String> {
    let v = std::env::var("OCCAMY_BENCH_FARM").unwrap_or_else(|_| default.into());
    let bad = || format!("OCCAMY_BENCH_FARM={v}: expected WIDTHxHEIGHTxITERS, e.g. 3200x2400x1024");
    let n: Vec<u32> = v
        .split('x')
        .map(|p| p.trim().parse().map_err(|_| bad()))
        .collect::<std::result::Result<_, _>>()?;
    match n[..] {
        [width, height, iters] if iters <= u32::from(u16::MAX) => Ok(farm::Frame {
            width,
            height,
            iters,
        }),
        _ => Err(bad()),
    }
}

struct Bench {
    name: &'static str,
    unit: &'static str,
    occamy: Box<dyn Fn() -> f64>,
    crossbeam: Box<dyn Fn() -> f64>,
    /// What the baseline is ("crossbeam": the same network on threads and
    /// crossbeam-channel rendezvous channels).
    baseline: &'static str,
}

struct Summary {
    name: &'static str,
    unit: &'static str,
    baseline: &'static str,
    occamy: Vec<f64>,
    crossbeam: Vec<f64>,
}

/// Runs each benchmark `rounds` times, alternating which system goes first.
fn run(cfg: &Config, benches: Vec<Bench>) -> Vec<Summary> {
    let mut out = Vec::new();
    for b in benches {
        let mut s = Summary {
            name: b.name,
            unit: b.unit,
            baseline: b.baseline,
            occamy: Vec::new(),
            crossbeam: Vec::new(),
        };
        for round in 0..cfg.rounds {
            let run_o = || cfg.occamy.then(|| (b.occamy)());
            let run_c = || cfg.crossbeam.then(|| (b.crossbeam)());
            let (o, c) = if round % 2 == 0 {
                let o = run_o();
                (o, run_c())
            } else {
                let c = run_c();
                (run_o(), c)
            };
            println!(
                "  {:<10} round {}/{}  occamy {:>8}  {} {:>8}  {}",
                b.name,
                round + 1,
                cfg.rounds,
                show(o),
                b.baseline,
                show(c),
                b.unit
            );
            s.occamy.extend(o);
            s.crossbeam.extend(c);
        }
        out.push(s);
    }
    out
}

fn main() -> ExitCode {
    let cfg = match Config::from_env_and_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("core bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "occamy core benchmarks{}: {} round(s), {} core(s); commstime n={}, pingpong n={}, ring {} procs x {} hops",
        if cfg.quick { " (quick)" } else { "" },
        cfg.rounds,
        cores,
        cfg.commstime_n,
        cfg.pingpong_n,
        cfg.ring_procs,
        cfg.ring_hops
    );
    let (cn, pn, rp, rh) = (
        cfg.commstime_n,
        cfg.pingpong_n,
        cfg.ring_procs,
        cfg.ring_hops,
    );
    let (sn, an, seln, frame) = (cfg.spawn_n, cfg.alt_n, cfg.select_n, cfg.farm);
    // Whichever side of the farm runs first sets the image's sum; the other must match it.
    let sum = std::sync::Arc::new(std::sync::OnceLock::<u64>::new());
    let checked = move |(ms, s): (f64, u64)| {
        let want = *sum.get_or_init(|| s);
        assert_eq!(s, want, "the farm's image differs from the serial render");
        ms
    };
    let checked2 = checked.clone();
    let all = vec![
        Bench {
            name: "commstime",
            unit: "ns/comm",
            occamy: Box::new(move || commstime_occamy(&Runtime::new(), cn)),
            baseline: "crossbeam",
            crossbeam: Box::new(move || commstime_crossbeam(cn)),
        },
        Bench {
            name: "pingpong",
            unit: "ns/round-trip",
            occamy: Box::new(move || pingpong_occamy(pn)),
            baseline: "crossbeam",
            crossbeam: Box::new(move || pingpong_crossbeam(pn)),
        },
        Bench {
            name: "ring",
            unit: "ns/hop",
            occamy: Box::new(move || ring_occamy(rp, rh)),
            baseline: "crossbeam",
            crossbeam: Box::new(move || ring_crossbeam(rp, rh)),
        },
        // The same networks written async, as green tasks on a pool of 1 and of 2 workers.
        Bench {
            name: "commstime-green1",
            unit: "ns/comm",
            occamy: Box::new(move || green::commstime(1, cn)),
            baseline: "crossbeam",
            crossbeam: Box::new(move || commstime_crossbeam(cn)),
        },
        Bench {
            name: "commstime-green2",
            unit: "ns/comm",
            occamy: Box::new(move || green::commstime(2, cn)),
            baseline: "crossbeam",
            crossbeam: Box::new(move || commstime_crossbeam(cn)),
        },
        Bench {
            name: "pingpong-green2",
            unit: "ns/round-trip",
            occamy: Box::new(move || green::pingpong(2, pn)),
            baseline: "crossbeam",
            crossbeam: Box::new(move || pingpong_crossbeam(pn)),
        },
        Bench {
            name: "ring-green2",
            unit: "ns/hop",
            occamy: Box::new(move || green::ring(2, rp, rh)),
            baseline: "crossbeam",
            crossbeam: Box::new(move || ring_crossbeam(rp, rh)),
        },
        Bench {
            name: "spawn-green2",
            unit: "ns/process",
            occamy: Box::new(move || green::spawn(2, sn)),
            baseline: "std threads",
            crossbeam: Box::new(move || green::spawn_threads(sn)),
        },
        Bench {
            name: "alt32-green2",
            unit: "ns/message",
            occamy: Box::new(move || green::alt(2, 32, an)),
            baseline: "crossbeam",
            crossbeam: Box::new(move || green::alt_crossbeam(32, an)),
        },
        // Issue 8's bar: speedup over serial at least 0.9 x cores (4 worker processes).
        Bench {
            name: "farm-green2",
            unit: "ms/image",
            occamy: Box::new(move || checked(farm::green(2, 4, frame))),
            baseline: "serial",
            crossbeam: Box::new(move || checked2(farm::serial(frame))),
        },
        // One thread, never blocking: the cost of choosing among ready guards.
        Bench {
            name: "alt3-fresh",
            unit: "ns/select",
            occamy: Box::new(move || select::fresh(seln)),
            baseline: "crossbeam",
            crossbeam: Box::new(move || select::crossbeam(seln)),
        },
        Bench {
            name: "alt3-reused",
            unit: "ns/select",
            occamy: Box::new(move || select::reused(seln)),
            baseline: "crossbeam",
            crossbeam: Box::new(move || select::crossbeam(seln)),
        },
    ];
    let t0 = Instant::now();
    let results = run(
        &cfg,
        all.into_iter().filter(|b| cfg.wants(b.name)).collect(),
    );
    println!();
    println!(
        "median of {} round(s) [min..max]; ratio = occamy / crossbeam median (< 1: occamy faster)",
        cfg.rounds
    );
    for s in &results {
        let (o, c) = (median(&s.occamy), median(&s.crossbeam));
        let ratio = o
            .zip(c)
            .map_or_else(|| "-".into(), |(o, c)| format!("{:.2}", o / c));
        println!(
            "{:<16} occamy {:>7} {:<13} {:<15} {:<11} {:>7} {:<13} {:<15} ratio {}",
            s.name,
            show(o),
            s.unit,
            spread(&s.occamy),
            s.baseline,
            show(c),
            s.unit,
            spread(&s.crossbeam),
            ratio
        );
    }
    if let Some(s) = results.iter().find(|s| s.name == "farm-green2") {
        if let (Some(o), Some(c)) = (median(&s.occamy), median(&s.crossbeam)) {
            println!(
                "farm-green2      speedup over serial {:.2}x on {cores} core(s) ({}x{}, {} iterations; bar: {:.2}x)",
                c / o,
                frame.width,
                frame.height,
                frame.iters,
                0.9 * cores as f64
            );
        }
    }
    if cfg.occamy && cfg.wants("detection") {
        detection_overhead(&cfg);
    }
    if cfg.occamy && cfg.wants("watch") {
        watch_overhead(&cfg);
    }
    #[cfg(feature = "trace")]
    if cfg.occamy && cfg.wants("record") {
        record_overhead(&cfg);
    }
    println!("total {:.1} s", t0.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}

/// The deadlock monitor's cost on commstime: occamy's commstime with detection on (the
/// default, checking every 200 ms) and off, alternating, in the same run.
fn detection_overhead(cfg: &Config) {
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for round in 0..cfg.rounds {
        for detect in if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        } {
            let rt = Runtime::new().deadlock_detection(detect);
            let x = commstime_occamy(&rt, cfg.commstime_n);
            if detect {
                on.push(x)
            } else {
                off.push(x)
            }
        }
    }
    let (m_on, m_off) = (median(&on), median(&off));
    let ratio = m_on
        .zip(m_off)
        .map_or_else(|| "-".into(), |(a, b)| format!("{:.3}", a / b));
    println!(
        "detection commstime with deadlock detection {:>7} ns/comm {:<15} without {:>7} ns/comm {:<15} ratio {ratio}",
        show(m_on),
        spread(&on),
        show(m_off),
        spread(&off)
    );
}

/// The observation layer's cost on commstime, in the same run, rotating the order: with
/// a watch attached that nobody reads (what must cost nothing), without one, and with a
/// reader taking a snapshot every 250 ms, as the viewer's page makes it do.
fn watch_overhead(cfg: &Config) {
    use occamy::observe::Watch;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let mut runs: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..cfg.rounds {
        for k in 0..3 {
            let which = (round + k) % 3;
            let watch = Watch::new();
            let rt = if which == 1 {
                Runtime::new()
            } else {
                Runtime::new().watch(&watch)
            };
            let stop = Arc::new(AtomicBool::new(false));
            let reader = (which == 2).then(|| {
                let (watch, stop) = (watch.clone(), stop.clone());
                thread::spawn(move || {
                    let mut prev = watch.snapshot();
                    while !stop.load(Ordering::Relaxed) {
                        thread::sleep(std::time::Duration::from_millis(250));
                        let now = watch.snapshot();
                        std::hint::black_box(now.rates_since(&prev));
                        prev = now;
                    }
                })
            });
            runs[which].push(commstime_occamy(&rt, cfg.commstime_n));
            stop.store(true, Ordering::Relaxed);
            if let Some(r) = reader {
                r.join().expect("the reader thread");
            }
        }
    }
    let m: Vec<Option<f64>> = runs.iter().map(|r| median(r)).collect();
    let ratio = |a: Option<f64>, b: Option<f64>| {
        a.zip(b)
            .map_or_else(|| "-".into(), |(a, b)| format!("{:.3}", a / b))
    };
    println!(
        "watch commstime with a watch nobody reads {:>7} ns/comm {:<15} without {:>7} ns/comm {:<15} ratio {}",
        show(m[0]),
        spread(&runs[0]),
        show(m[1]),
        spread(&runs[1]),
        ratio(m[0], m[1])
    );
    println!(
        "watch commstime read every 250 ms         {:>7} ns/comm {:<15} without {:>7} ns/comm {:<15} ratio {}",
        show(m[2]),
        spread(&runs[2]),
        show(m[1]),
        spread(&runs[1]),
        ratio(m[2], m[1])
    );
}

/// Recording's cost on commstime: recorded into a trace file (every communication, wait
/// and wake-up, as `occamy run --record` does) and not, alternating, in the same run; on
/// threads, and as green tasks on two workers (where every communication parks a task,
/// so a wait and a wake-up are recorded with it). Without a recording the hooks are one
/// relaxed load each: the "not" rounds run the very code a program that never records
/// runs.
#[cfg(feature = "trace")]
fn record_overhead(cfg: &Config) {
    use occamy::trace::{Header, Recorder};
    let path = std::env::temp_dir().join(format!("occamy-bench-{}.trace", std::process::id()));
    let n = cfg.commstime_n;
    type Variant = (&'static str, Box<dyn Fn() -> f64>);
    let variants: [Variant; 2] = [
        (
            "commstime",
            Box::new(move || commstime_occamy(&Runtime::new(), n)),
        ),
        ("commstime-green2", Box::new(move || green::commstime(2, n))),
    ];
    for (name, bench) in &variants {
        let (mut on, mut off) = (Vec::new(), Vec::new());
        let (mut bytes, mut events) = (0, 0);
        for round in 0..cfg.rounds {
            for record in if round % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            } {
                if record {
                    let rec = Recorder::start(&path, Header::default()).expect("a trace file");
                    on.push(bench());
                    rec.finish().expect("the trace written");
                    bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
                    events = occamy::trace::open(&path).map_or(0, |t| t.events.len());
                } else {
                    off.push(bench());
                }
            }
        }
        let (m_on, m_off) = (median(&on), median(&off));
        let ratio = m_on
            .zip(m_off)
            .map_or_else(|| "-".into(), |(a, b)| format!("{:.3}", a / b));
        println!(
            "record {name:<16} recorded {:>7} ns/comm {:<15} not recorded {:>7} ns/comm {:<15} ratio {ratio} (bar: 2); last trace {events} events, {bytes} bytes",
            show(m_on),
            spread(&on),
            show(m_off),
            spread(&off)
        );
    }
    let _ = std::fs::remove_file(&path);
}
