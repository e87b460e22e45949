//! commstime (Roscoe and Welch's occam benchmark), built in code and run from
//! networks/commstime.ron, side by side.
//!
//! ```text
//!        +--------+   a   +-------+   d   +----------+
//!   +--> | prefix | ----> | delta | ----> | consumer |
//!   |    +--------+       +-------+       +----------+
//! c |                         | b
//!   |    +--------+           |
//!   +----|  succ  | <---------+
//!        +--------+
//! ```
//! `prefix` sends 0 and then copies c to a; `delta` copies each value to d and b; `succ`
//! adds one. Each value the consumer sees costs four communications (a, b, c, d), so the
//! time per value over four is the cost of one communication: a context switch, a lock
//! and a wake-up on OS threads. The consumer checks it sees 0, 1, 2, ..., times `n`
//! values, then poisons its input, and the poison ends the loop.
//!
//! There is no serial version: commstime does no computation, it *is* the communication
//! (a serial "version" would be a loop that adds one). Nothing here is a speedup.
//!
//! ```text
//! cargo run --release --example commstime                  # in code (two deltas) and from the file
//! cargo run --release --example commstime -- --n 1000000
//! cargo run --release --example commstime -- --code        # in code only
//! cargo run --release --example commstime -- run networks/commstime.ron --set n=1000000
//! cargo run --release --example commstime -- kinds | check FILE | dot FILE
//! ```

use std::path::Path;

use occamy::network::ChannelStats;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use occamy::network::Registry;
use occamy::{channel, Alt, Direction, Error, Event, Process, Receiver, Runtime, Sender};

/// The network file this example serves.
pub const NETWORK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/networks/commstime.ron");

/// How `delta` sends each value to its two outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delta {
    /// occam's `SEQ`: d, then b (the form in the crate docs).
    Seq,
    /// occam's `PAR`: both at once, whichever reader comes first (an alt of two output
    /// guards; what the built-in `delta` kind does).
    Par,
}

/// What one run measured.
#[derive(Clone, Debug)]
pub struct Timing {
    /// Values the consumer took.
    pub values: u64,
    /// Whether they were 0, 1, 2, ... in order.
    pub in_order: bool,
    /// Communications on all four channels.
    pub communications: u64,
    /// Wall-clock time of the whole run, start-up and shutdown included.
    pub elapsed: Duration,
    /// The consumer's own clock, from the first value to the last (as `stopwatch` times).
    pub timed: Option<Duration>,
}

impl Timing {
    /// ns per communication over the whole run.
    pub fn ns_per_comm(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.communications.max(1) as f64
    }

    /// ns per communication by the consumer's clock (`stopwatch`'s figure).
    pub fn ns_per_comm_timed(&self) -> Option<f64> {
        let per_value = self.timed?.as_nanos() as f64 / self.values.saturating_sub(1).max(1) as f64;
        Some(per_value / 4.0)
    }
}

/// The registry for networks/commstime.ron: the built-ins are enough.
pub fn registry() -> Registry {
    Registry::with_builtins()
}

/// `delta` with a PAR output: one alt with an output guard per reader, re-armed per value.
fn delta_par(rx: &Receiver<u64>, outs: &[Sender<u64>; 2]) -> occamy::Result {
    let mut alt = Alt::new();
    let mut guards = Vec::new();
    loop {
        let v = rx.recv()?;
        if guards.is_empty() {
            guards = outs.iter().map(|tx| alt.send(tx, v)).collect();
        } else {
            for &g in &guards {
                assert!(alt.offer(g, v).is_ok(), "guard {g:?} still armed");
            }
        }
        loop {
            match alt.select().event() {
                Event::Sent => {}
                Event::Exhausted => break, // both copies taken
                Event::Poisoned => return Err(Error::Poisoned),
                Event::Retired => return Err(Error::Retired),
                other => unreachable!("delta: {other:?}"),
            }
        }
    }
}

/// The consumer: takes `n` values, checks their order, then poisons `d`. Returns
/// (values, in order, first-to-last time).
fn consume(d: &Receiver<u64>, n: u64) -> occamy::Result<(u64, bool, Option<Duration>)> {
    let (mut first, mut last_line) = (None, Instant::now());
    let mut in_order = true;
    for want in 0..n {
        let v = d.recv()?;
        in_order &= v == want;
        let start = *first.get_or_insert_with(Instant::now);
        if last_line.elapsed() >= Duration::from_secs(1) {
            last_line = Instant::now();
            eprintln!("  [commstime: {} of {n} values]", want + 1);
        }
        if want + 1 == n {
            let timed = start.elapsed();
            d.poison(); // ends the loop: the poison spreads to every process
            return Ok((n, in_order, Some(timed)));
        }
    }
    d.poison();
    Ok((0, true, None))
}

/// commstime built in code with `n` values.
pub fn commstime_code(n: u64, delta: Delta) -> Timing {
    let (a_tx, a_rx) = channel::<u64>();
    let (b_tx, b_rx) = channel::<u64>();
    let (c_tx, c_rx) = channel::<u64>();
    let (d_tx, d_rx) = channel::<u64>();
    for (tx, name) in [(&a_tx, "a"), (&b_tx, "b"), (&c_tx, "c"), (&d_tx, "d")] {
        tx.set_name(name);
    }
    let result = std::sync::Arc::new(std::sync::Mutex::new(None));
    let out = result.clone();
    let started = Instant::now();
    let outcome = Runtime::new().run([
        Process::with("prefix", (c_rx, a_tx), |(c, a)| -> occamy::Result {
            a.send(0)?;
            loop {
                a.send(c.recv()?)?;
            }
        }),
        Process::with(
            "delta",
            (a_rx, d_tx, b_tx),
            move |(a, d, b)| -> occamy::Result {
                match delta {
                    Delta::Par => delta_par(&a, &[d, b]),
                    Delta::Seq => loop {
                        let v = a.recv()?;
                        d.send(v)?;
                        b.send(v)?;
                    },
                }
            },
        ),
        Process::with("succ", (b_rx, c_tx), |(b, c)| -> occamy::Result {
            loop {
                c.send(b.recv()? + 1)?;
            }
        }),
        Process::with("consumer", d_rx, move |d| -> occamy::Result {
            *out.lock().unwrap() = Some(consume(&d, n)?);
            Ok(())
        }),
    ]);
    let elapsed = started.elapsed();
    outcome.result.expect("commstime failed");
    let (values, in_order, timed) = result.lock().unwrap().take().unwrap_or((0, false, None));
    Timing {
        values,
        in_order,
        // Every channel has one reader: count what the readers took.
        communications: (outcome.processes.iter().flat_map(|p| &p.ends))
            .filter(|e| e.dir == Direction::Recv)
            .map(|e| e.carried)
            .sum(),
        elapsed,
        timed,
    }
}

/// networks/commstime.ron (or another file) with `n` values, through `occamy::network`
/// (what the launcher's `run` does). Its `stopwatch` prints its own line to stdout.
pub fn commstime_file(path: &Path, n: u64) -> Result<Timing, String> {
    let reg = registry();
    let plan = occamy::network::load(path, &[("n".into(), n.to_string())], &reg)
        .map_err(|e| e.to_string())?;
    let mut running =
        occamy::network::start(&plan, &reg, &occamy::Runtime::new()).map_err(|e| e.to_string())?;
    let carried = |channels: &[ChannelStats], name: &str| {
        channels
            .iter()
            .find(|c| c.name == name)
            .map_or(0, |c| c.carried)
    };
    // Progress from outside the network: what channel d has carried so far.
    while !running.wait_timeout(Duration::from_secs(1)) {
        let done = carried(&running.snapshot().0, "d");
        eprintln!("  [commstime.ron: {done} of {n} values]");
    }
    let report = running.wait();
    report.result.map_err(|e| e.to_string())?;
    Ok(Timing {
        values: carried(&report.channels, "d"),
        in_order: true, // the stopwatch does not look at the values
        communications: report.channels.iter().map(|c| c.carried).sum(),
        elapsed: report.elapsed,
        timed: None,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some("run" | "check" | "kinds" | "dot") = args.get(1).map(String::as_str) {
        return occamy::launcher::main_from(registry(), args);
    }
    let n = match args.iter().position(|a| a == "--n") {
        Some(i) => match args
            .get(i + 1)
            .and_then(|v| v.replace('_', "").parse().ok())
        {
            Some(n) if n > 0 => n,
            _ => {
                eprintln!("error: --n needs a positive number");
                return ExitCode::from(2);
            }
        },
        None => 200_000u64,
    };
    let cores = std::thread::available_parallelism().map_or(2, |c| c.get());
    println!("commstime: {n} values, 4 communications each, {cores} cores");
    let mut ok = true;
    let mut show = |what: &str, t: &Timing| {
        ok &= t.values == n && t.in_order;
        let timed = t.ns_per_comm_timed().map_or(String::new(), |ns| {
            format!(", {ns:.0} by the consumer's clock")
        });
        println!(
            "  {what:<38} {:>6.0} ns/communication ({} communications in {:.3}s{timed}){}",
            t.ns_per_comm(),
            t.communications,
            t.elapsed.as_secs_f64(),
            if t.values == n && t.in_order {
                ""
            } else {
                "  CHECK FAILED"
            },
        );
    };
    show("in code, SEQ delta", &commstime_code(n, Delta::Seq));
    show("in code, PAR delta (alt)", &commstime_code(n, Delta::Par));
    if !args.iter().any(|a| a == "--code") {
        match commstime_file(Path::new(NETWORK), n) {
            Ok(t) => show("networks/commstime.ron (PAR delta)", &t),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "  no serial version: commstime does no computation, it measures communication itself"
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
