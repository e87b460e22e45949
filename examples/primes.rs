//! Primes, CSP style, two ways.
//!
//! (a) The sieve of Eratosthenes as a growing pipeline (occam's and Go's classic): a
//!     generator sends 2, 3, 4, ...; each filter process holds one prime and passes on
//!     the numbers that are not its multiples. A number that gets past the last filter is
//!     prime: that filter spawns a new filter for it, so the pipeline grows by one process
//!     per prime. Built in code.
//! (b) A farm that counts the primes below n: `ranges` hands out ranges of numbers over
//!     one shared channel, whichever of K `count_primes` workers is free takes the next
//!     (so the farm balances itself), the built-in `merge` gathers the counts and `sum`
//!     adds them up. Declared in networks/primes.ron, and built the same way in code.
//!
//! ```text
//! cargo run --release --example primes                  # sieve, farm from the file, serial, speedups
//! cargo run --release --example primes -- --code        # the farm built in code instead
//! cargo run --release --example primes -- --n 1000000 --workers 4 --sieve 2000
//! cargo run --release --example primes -- run networks/primes.ron --set workers=4
//! cargo run --release --example primes -- kinds | check FILE | dot FILE
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use occamy::network::{Kind, ParamType, Registry};
use occamy::{channel, par, spawn, Alt, Error, Event, Process, Receiver, Sender};

/// The network file this example serves.
pub const NETWORK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/networks/primes.ron");

/// The farm's job: count the primes in `lo..hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Span {
    /// First number of the range.
    pub lo: u64,
    /// One past the last.
    pub hi: u64,
}

/// pi(10^k) for k = 1..=9: the number of primes below each power of ten.
const KNOWN_PI: [(u64, u64); 9] = [
    (10, 4),
    (100, 25),
    (1_000, 168),
    (10_000, 1_229),
    (100_000, 9_592),
    (1_000_000, 78_498),
    (10_000_000, 664_579),
    (100_000_000, 5_761_455),
    (1_000_000_000, 50_847_534),
];

/// The known number of primes below `n`, if `n` is a power of ten in the table.
pub fn known_pi(n: u64) -> Option<u64> {
    KNOWN_PI.iter().find(|(k, _)| *k == n).map(|(_, pi)| *pi)
}

/// Prints `LABEL: done of total` to stderr at most once a second, from the first second
/// on: runs shorter than that stay quiet.
struct Progress(&'static str, Instant);

impl Progress {
    fn new(label: &'static str) -> Progress {
        Progress(label, Instant::now())
    }
    fn tick(&mut self, done: u64, total: u64) {
        if self.1.elapsed() >= Duration::from_secs(1) {
            self.1 = Instant::now();
            eprintln!("  [{}: {done} of {total}]", self.0);
        }
    }
}

// ---------------------------------------------------------------------------------------
// (a) The sieve: a pipeline that grows by one filter per prime.

/// The first `count` primes, found by a growing pipeline of filter processes.
pub fn sieve(count: usize) -> Vec<u64> {
    assert!(count > 0, "sieve: count must be at least 1");
    let (nums_tx, nums_rx) = channel::<u64>();
    let (primes_tx, primes_rx) = channel::<u64>();
    nums_tx.set_name("numbers");
    primes_tx.set_name("primes");
    let found = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let out = found.clone();
    par([
        // Retired (not failed) once the pipeline stops reading: that is how it ends.
        Process::with("generate", nums_tx, |tx| -> occamy::Result {
            (2..).try_for_each(|k| tx.send(k))?;
            Ok(())
        }),
        Process::with("filter[0]", (nums_rx, primes_tx), move |(rx, primes)| {
            filter(0, count, rx, primes)
        }),
        // Ends when every filter has let go of its end of `primes`.
        Process::with("collect", primes_rx, move |rx| {
            let mut progress = Progress::new("sieve: primes found");
            for p in rx.iter() {
                let mut out = out.lock().unwrap();
                out.push(p);
                progress.tick(out.len() as u64, count as u64);
            }
        }),
    ])
    .expect("the sieve pipeline failed");
    let primes = std::mem::take(&mut *found.lock().unwrap());
    primes
}

/// Filter number `index`: the first number to reach it is prime; it reports it and then
/// passes on the non-multiples of it, spawning the next filter when the first one comes.
/// The filter of the `count`-th prime ends at once, and the pipeline retires behind it.
fn filter(index: usize, count: usize, rx: Receiver<u64>, primes: Sender<u64>) -> occamy::Result {
    let p = rx.recv()?;
    primes.send(p)?;
    if index + 1 == count {
        return Ok(());
    }
    let mut next = None;
    let ended = loop {
        let v = match rx.recv() {
            Ok(v) => v,
            Err(e) => break Error::from(e),
        };
        if v % p == 0 {
            continue;
        }
        let (tx, _) = next.get_or_insert_with(|| {
            let (tx, rx) = channel::<u64>();
            let name = format!("filter[{}]", index + 1);
            tx.set_name(format!("sieve[{}]", index + 1));
            let p = Process::with(name, (rx, primes.clone()), move |(rx, primes)| {
                filter(index + 1, count, rx, primes)
            });
            (tx, spawn(p))
        });
        if let Err(e) = tx.send(v) {
            break Error::from(e);
        }
    };
    // Pass on how we ended, then wait for the rest of the pipeline.
    if let Some((tx, handle)) = next {
        match ended {
            Error::Retired => tx.retire(),
            _ => tx.poison(),
        }
        handle.join().map_err(|e| Error::failed(e.to_string()))?;
    }
    Err(ended)
}

/// The same computation with no processes: test each number against the primes so far,
/// in order, as it would pass down the pipeline.
pub fn sieve_serial(count: usize) -> Vec<u64> {
    let mut primes: Vec<u64> = Vec::with_capacity(count);
    let mut k = 2;
    while primes.len() < count {
        if primes.iter().all(|p| k % p != 0) {
            primes.push(k);
        }
        k += 1;
    }
    primes
}

// ---------------------------------------------------------------------------------------
// (b) The farm: count the primes below n by ranges.

/// Whether `k` is prime, by trial division (deliberately plain: it is the work to share).
pub fn is_prime(k: u64) -> bool {
    if k < 4 {
        return k >= 2;
    }
    if k % 2 == 0 {
        return false;
    }
    let mut d = 3;
    while d * d <= k {
        if k % d == 0 {
            return false;
        }
        d += 2;
    }
    true
}

/// How many primes lie in `span`.
pub fn count_span(span: Span) -> u64 {
    (span.lo..span.hi).filter(|&k| is_prime(k)).count() as u64
}

/// The farmer: hands out `0..n` in ranges of `chunk` numbers, then retires `out`.
fn ranges(out: &Sender<Span>, n: u64, chunk: u64) -> occamy::Result {
    let total = n.div_ceil(chunk);
    let mut progress = Progress::new("farm: ranges handed out");
    for (i, lo) in (0..n).step_by(chunk as usize).enumerate() {
        out.send(Span {
            lo,
            hi: (lo + chunk).min(n),
        })?;
        progress.tick(i as u64 + 1, total);
    }
    Ok(())
}

/// A worker: counts the primes in each range it takes, sends the count.
fn count_primes(jobs: &Receiver<Span>, counts: &Sender<u64>) -> occamy::Result {
    for span in jobs.iter() {
        counts.send(count_span(span))?;
    }
    Ok(())
}

/// Adds up the counts until `rx` retires; checks pi(n) where it is known.
fn sum(rx: &Receiver<u64>, n: u64) -> occamy::Result<u64> {
    let total: u64 = rx.iter().sum();
    let check = match known_pi(n) {
        Some(pi) if pi != total => return Err(format!("pi({n}) is {pi}, not {total}").into()),
        Some(pi) => format!(" (check: pi({n}) = {pi}, ok)"),
        None => String::new(),
    };
    println!("primes below {n}: {total}{check}");
    Ok(total)
}

/// The farm's kinds (networks/primes.ron): `ranges`, `count_primes` and `sum`, with the
/// `Span` type. `sum` hands its total back to a program running the file
/// (`BuildCtx::values_out`): [`run_file`] takes it from the run's report.
pub fn registry() -> Registry {
    let mut reg = Registry::with_builtins();
    reg.register_debug_type::<Span>("Span");
    // Spans cross MPI ranks when the workers are placed on several.
    reg.add_codec::<Span>("Span").expect("Span is registered");
    reg.register(
        Kind::new(
            "ranges",
            "sends 0..n as ranges of `chunk` numbers, then retires",
        )
        .output("out", "Span")
        .required_param("n", ParamType::UInt, "count the primes below n")
        .param("chunk", ParamType::UInt, 100_000, "numbers per range")
        .build(|ctx| {
            let out = ctx.output::<Span>("out")?;
            let (n, chunk): (u64, u64) = (ctx.param("n")?, ctx.param("chunk")?);
            if chunk == 0 {
                return Err("param `chunk` must be at least 1".into());
            }
            Ok(ctx.process(move || ranges(&out, n, chunk)))
        }),
    );
    reg.register(
        Kind::new(
            "count_primes",
            "counts the primes in each range of `in` by trial division",
        )
        .input("in", "Span")
        .output("out", "u64")
        .build(|ctx| {
            let (jobs, counts) = (ctx.input::<Span>("in")?, ctx.output::<u64>("out")?);
            Ok(ctx.process(move || count_primes(&jobs, &counts)))
        }),
    );
    reg.register(
        Kind::new(
            "sum",
            "adds up `in`, prints the primes below n; checks pi(10^k)",
        )
        .input("in", "u64")
        .required_param("n", ParamType::UInt, "the n the counts are for")
        .build(|ctx| {
            let rx = ctx.input::<u64>("in")?;
            let n: u64 = ctx.param("n")?;
            let total = ctx.values_out::<u64>();
            Ok(ctx.process(move || -> occamy::Result {
                total.push(sum(&rx, n)?);
                Ok(())
            }))
        }),
    );
    reg
}

/// Runs networks/primes.ron (or another file with the same kinds) with `sets`; the total,
/// as the `sum` process hands it back.
pub fn run_file(path: &Path, sets: &[(String, String)]) -> Result<u64, String> {
    let report = occamy::network::run_file(path, sets, &registry()).map_err(|e| e.to_string())?;
    report.result.as_ref().map_err(|e| e.to_string())?;
    let total = report
        .values::<u64>("sum")
        .map_err(|e| e.to_string())?
        .pop();
    total.ok_or_else(|| "the network ended without a total".to_string())
}

/// The farm built in code: the same processes and channels as networks/primes.ron.
pub fn count_primes_farm(n: u64, workers: usize, chunk: u64) -> u64 {
    let (jobs_tx, jobs_rx) = channel::<Span>();
    let (counts_tx, counts_rx): (Vec<_>, Vec<_>) = (0..workers).map(|_| channel::<u64>()).unzip();
    let (total_tx, total_rx) = channel::<u64>();
    let result = Arc::new(Mutex::new(0));
    let out = result.clone();
    let mut procs = vec![Process::with("ranges", jobs_tx, move |tx| {
        ranges(&tx, n, chunk)
    })];
    for (w, tx) in counts_tx.into_iter().enumerate() {
        let ends = (jobs_rx.clone(), tx);
        procs.push(Process::with(format!("worker[{w}]"), ends, |(rx, tx)| {
            count_primes(&rx, &tx)
        }));
    }
    drop(jobs_rx);
    procs.push(Process::with(
        "merge",
        (counts_rx, total_tx),
        |(ins, out)| merge(&ins, &out),
    ));
    procs.push(Process::with(
        "sum",
        total_rx,
        move |rx| -> occamy::Result {
            *out.lock().unwrap() = sum(&rx, n)?;
            Ok(())
        },
    ));
    par(procs).expect("the farm failed");
    let total = *result.lock().unwrap();
    total
}

/// A fair merge (what the built-in `merge` kind does): forwards whatever input is ready;
/// ends when every input has retired.
fn merge(ins: &[Receiver<u64>], out: &Sender<u64>) -> occamy::Result {
    let mut alt = Alt::new();
    for rx in ins {
        alt.recv(rx);
    }
    loop {
        let mut sel = alt.select();
        match sel.event() {
            Event::Received => {
                if let Some(Ok(v)) = sel.recv_on(&ins[sel.index()]) {
                    out.send(v)?;
                }
            }
            Event::Retired => {} // that input is done; its guard is disabled from now on
            Event::Exhausted => return Ok(()),
            Event::Poisoned => return Err(Error::Poisoned),
            other => unreachable!("merge: {other:?}"),
        }
    }
}

/// The same count with no processes.
pub fn count_primes_serial(n: u64) -> u64 {
    count_span(Span { lo: 0, hi: n })
}

// ---------------------------------------------------------------------------------------

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{name} needs a number")),
        None => default,
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed().as_secs_f64())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some("run" | "check" | "kinds" | "dot") = args.get(1).map(String::as_str) {
        return occamy::launcher::main_from(registry(), args);
    }
    let count = arg(&args, "--sieve", 1000usize);
    let n = arg(&args, "--n", 10_000_000u64);
    let cores = std::thread::available_parallelism().map_or(2, |c| c.get());
    let workers = arg(&args, "--workers", cores);
    let chunk = arg(&args, "--chunk", 100_000u64);
    let in_code = args.iter().any(|a| a == "--code");
    println!("{cores} cores");

    println!(
        "\n(a) sieve: the first {count} primes through a pipeline of {count} filter processes"
    );
    let (primes, t_par) = timed(|| sieve(count));
    let (serial, t_ser) = timed(|| sieve_serial(count));
    for row in primes.chunks(20) {
        println!(
            "  {}",
            row.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
        );
    }
    let ok = primes == serial && (count != 1000 || primes.last() == Some(&7919));
    let check = if ok {
        "same as the serial sieve"
    } else {
        "MISMATCH"
    };
    println!(
        "check: {check} (prime number {count} is {})",
        primes[count - 1]
    );
    println!(
        "pipeline {t_par:.3}s, serial {t_ser:.6}s, speedup {:.4} \
         (one modulo per message: the pipeline measures communication, not arithmetic)",
        t_ser / t_par
    );

    let how = ["networks/primes.ron", "built in code"][in_code as usize];
    println!("\n(b) farm: the primes below {n}, {workers} workers, ranges of {chunk} ({how})");
    let (farm, t_par) = timed(|| {
        if in_code {
            Ok(count_primes_farm(n, workers, chunk))
        } else {
            let sets = [("n", n), ("workers", workers as u64), ("chunk", chunk)];
            let sets = sets.map(|(k, v)| (k.to_string(), v.to_string()));
            run_file(Path::new(NETWORK), &sets)
        }
    });
    let farm = match farm {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("  [serial count of the primes below {n} ...]");
    let (serial, t_ser) = timed(|| count_primes_serial(n));
    let ok_farm = farm == serial && known_pi(n).is_none_or(|pi| pi == farm);
    println!(
        "check: farm {farm}, serial {serial}: {}",
        if ok_farm { "ok" } else { "MISMATCH" }
    );
    println!(
        "farm {t_par:.3}s, serial {t_ser:.3}s, speedup {:.2} on {cores} cores",
        t_ser / t_par
    );
    if ok && ok_farm {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
