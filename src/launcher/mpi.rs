//! `mpirun -n R occamy run FILE`: one network across R ranks (feature `mpi`).
//!
//! Every rank loads and checks the same file placed on R ranks; rank 0 compares a hash of
//! each rank's (file bytes, params, occamy version) with its own and refuses the run,
//! naming the rank, if one differs or does not answer. Each rank then starts only its own
//! processes (the cross-rank channels wired by `occamy::mpi`), and runs them; a rank whose
//! run fails, or that is interrupted or times out, tells the others, which poison their
//! part. At the end every rank sends rank 0 its report; rank 0 prints one report for the
//! whole network, as the single-machine launcher does, and sends every rank the worst
//! exit status, which each exits with, so that `mpirun` exits with it too.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{print_ran, print_stats, scheduler_for, too_many_threads, RunArgs, GRACE};

#[path = "mpi_look.rs"]
mod look;
use crate::deadlock::{DeadlockReport, OnDeadlock};
use crate::launcher::{EXIT_DEADLOCK, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK};
use crate::mpi::World;
use crate::network::{self, ChannelStats, ProcessStats};
use crate::registry::{PortDir, Registry};
use crate::runtime::{ProcessEnd, Runtime};

/// How long rank 0 waits for every rank to say which network it loaded.
const HELLO: Duration = Duration::from_secs(60);

/// Whether this process is one rank of a job of several (mpirun's, or Slurm's, environment).
pub(super) fn under_mpirun() -> bool {
    [
        "OMPI_COMM_WORLD_SIZE",
        "PMI_SIZE",
        "PMIX_SIZE",
        "SLURM_NTASKS",
    ]
    .iter()
    .filter_map(|v| std::env::var(v).ok())
    .filter_map(|v| v.parse::<u32>().ok())
    .any(|n| n > 1)
}

/// What ranks tell each other (postcard bytes in the engine's control messages).
#[derive(Serialize, Deserialize, Debug)]
enum Ctl {
    /// To rank 0: the hash of what this rank loaded, and whether it loaded.
    Hello { hash: u64, loaded: bool },
    /// From rank 0: go on, or refuse (why).
    Verdict { refuse: Option<String> },
    /// To rank 0 after the start: whether this rank's part started.
    Started { error: Option<String> },
    /// Stop: poison your part (why, for the report).
    Stop { why: String },
    /// To rank 0: how this rank's part ran.
    Report(Report),
    /// From rank 0: exit with this.
    Exit { code: u8 },
    /// From rank 0: send me your look at your processes (for a deadlock across ranks).
    LookReq,
    /// To rank 0: this rank's look.
    Look(look::Look),
}

#[derive(Serialize, Deserialize, Debug, Default)]
struct Report {
    code: u8,
    /// Error lines, each naming the process and its rank.
    errors: Vec<String>,
    /// Per channel, in plan order: values delivered on this rank.
    carried: Vec<u64>,
    /// This rank's processes that ended: name, kind, seconds run, how it ended.
    processes: Vec<(String, String, f64, u8)>,
    elapsed: f64,
    stopped: bool,
}

fn end_code(e: ProcessEnd) -> u8 {
    match e {
        ProcessEnd::Ok => 0,
        ProcessEnd::Poisoned => 1,
        ProcessEnd::Retired => 2,
        ProcessEnd::Failed => 3,
        ProcessEnd::Panicked => 4,
    }
}

fn end_of(c: u8) -> ProcessEnd {
    match c {
        0 => ProcessEnd::Ok,
        1 => ProcessEnd::Poisoned,
        2 => ProcessEnd::Retired,
        3 => ProcessEnd::Failed,
        _ => ProcessEnd::Panicked,
    }
}

fn send(w: &World, to: u32, c: &Ctl) {
    w.send_control(
        to,
        postcard::to_allocvec(c).expect("control messages encode"),
    );
}

fn decode(m: &[u8]) -> Option<Ctl> {
    postcard::from_bytes(m).ok()
}

/// Takes the next message from `from` (any rank: `None`) that `want` accepts.
fn take(
    w: &World,
    from: Option<u32>,
    timeout: Duration,
    want: fn(&Ctl) -> bool,
) -> Option<(u32, Ctl)> {
    let (r, m) = w.take_control(timeout, |r, m| {
        from.is_none_or(|f| f == r) && decode(m).is_some_and(|c| want(&c))
    })?;
    Some((r, decode(&m)?))
}

/// FNV-1a: the same on every rank and build (std's hasher promises neither).
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

pub(super) fn run(reg: &Registry, a: RunArgs) -> u8 {
    let w = match World::init() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    let code = run_on(reg, &a, w);
    let code = match w.finish() {
        Ok(()) => code,
        Err(e) => {
            eprintln!("error: rank {}: {e}", w.rank());
            code.max(EXIT_FAILURE)
        }
    };
    code
}

/// Rank 0 hears from every other rank (`want` picks the messages); `None` and a message
/// naming the first that did not answer in time.
fn hear_all(
    w: &World,
    timeout: Duration,
    want: fn(&Ctl) -> bool,
) -> Result<Vec<(u32, Ctl)>, String> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    for r in 1..w.size() {
        let left = deadline.saturating_duration_since(Instant::now());
        match take(w, Some(r), left, want) {
            Some(m) => got.push(m),
            None => {
                return Err(format!(
                    "rank {r} did not answer within {}s (is it running the same program and file?)",
                    timeout.as_secs()
                ))
            }
        }
    }
    Ok(got)
}

/// Every rank: rank 0 decides from what each says and tells them; `Err` (already
/// reported by rank 0) if the run is refused.
fn agree(
    w: &World,
    hello: Ctl,
    decide: impl FnOnce(Vec<(u32, Ctl)>) -> Option<String>,
) -> Result<(), ()> {
    if w.rank() == 0 {
        let refuse = match hear_all(w, HELLO, |c| {
            matches!(c, Ctl::Hello { .. } | Ctl::Started { .. })
        }) {
            Ok(all) => decide(all),
            Err(e) => Some(e),
        };
        for r in 1..w.size() {
            send(
                w,
                r,
                &Ctl::Verdict {
                    refuse: refuse.clone(),
                },
            );
        }
        match refuse {
            Some(e) => {
                eprintln!("error: mpi: {e}");
                Err(())
            }
            None => Ok(()),
        }
    } else {
        send(w, 0, &hello);
        match take(w, Some(0), HELLO * 2, |c| matches!(c, Ctl::Verdict { .. })) {
            Some((_, Ctl::Verdict { refuse: None })) => Ok(()),
            Some(_) => Err(()),
            None => {
                eprintln!(
                    "error: mpi: rank 0 did not answer within {}s",
                    (HELLO * 2).as_secs()
                );
                Err(())
            }
        }
    }
}

fn run_on(reg: &Registry, a: &RunArgs, w: &World) -> u8 {
    let (me, ranks) = (w.rank(), w.size());
    let loaded = network::load_with(&a.net.file, &a.net.options(ranks), reg);
    let bytes = std::fs::read(&a.net.file).unwrap_or_default();
    let sets: Vec<u8> = a
        .net
        .sets
        .iter()
        .flat_map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes(), b"\n"].concat())
        .collect();
    let hash = fnv(&[
        &bytes,
        &sets,
        env!("CARGO_PKG_VERSION").as_bytes(),
        &ranks.to_le_bytes(),
    ]);
    let hello = Ctl::Hello {
        hash,
        loaded: loaded.is_ok(),
    };
    let ok = agree(w, hello, |all| {
        all.into_iter().find_map(|(r, c)| match c {
            Ctl::Hello { hash: h, .. } if h != hash => Some(format!(
                "rank {r} loaded a different network from rank 0's: its file, `--set` params or occamy version differ (every rank must run the same file with the same params)"
            )),
            _ => None,
        })
    });
    if ok.is_err() {
        return EXIT_INVALID;
    }
    let plan = match loaded {
        Ok(p) => p,
        Err(e) => {
            // Every rank loaded the same file the same way: rank 0 says what is wrong.
            if me == 0 {
                eprintln!("{e}");
            }
            return EXIT_INVALID;
        }
    };
    if a.record.is_some() {
        if me == 0 {
            eprintln!("error: `--record` is not supported under MPI yet");
        }
        return EXIT_INVALID;
    }
    // The open ports are rank 0's: it feeds the inputs and prints what reaches the
    // outputs. Every rank reads `--feed` the same way, so that all refuse a bad one.
    let options = match super::feeds(&plan, reg, &a.feeds) {
        Ok(o) if me == 0 => o,
        Ok(_) => network::RunOptions::new(),
        Err(e) => {
            if me == 0 {
                eprintln!("{e}");
            }
            return EXIT_INVALID;
        }
    };
    let mut outputs = Vec::new();
    for port in &plan.ports {
        match port.dir {
            PortDir::In if me == 0 && !a.feeds.iter().any(|(p, _)| *p == port.name) => eprintln!(
                "note: input port `{}` is not fed (no `--feed {}=[...]`): it is retired at the start",
                port.name, port.name
            ),
            PortDir::In => {}
            PortDir::Out => outputs.push(port.name.clone()),
        }
    }
    #[cfg(feature = "viz")]
    if a.viz.viz.is_some() {
        if me == 0 {
            eprintln!("error: `--viz` is not supported under MPI yet");
        }
        return EXIT_INVALID;
    }
    if let Some(t) = a.timeout {
        if !(t.is_finite() && t > 0.0) {
            if me == 0 {
                eprintln!("error: --timeout must be a positive number of seconds, not {t}");
            }
            return EXIT_INVALID;
        }
    }
    if me == 0 {
        tracing::info!("{} on {ranks} ranks", plan.summary());
    }
    let scheduler = scheduler_for(a.scheduler.as_deref(), a.workers, plan.scheduler());
    if let Some(e) = too_many_threads(&plan, scheduler) {
        if me == 0 {
            eprintln!("{e}");
        }
        return EXIT_INVALID;
    }
    // Each rank's monitor judges its own processes. A proxy's end of a cross-rank channel
    // counts as held by someone it cannot see, so a wait on one never looks stuck: a
    // local verdict is a deadlock among this rank's processes alone, never a slow link
    // (and cycles through several ranks go undetected).
    let on_deadlock = if a.on_deadlock == "warn" {
        OnDeadlock::Warn
    } else {
        OnDeadlock::Poison
    };
    let runtime = Runtime::new()
        .scheduler(scheduler)
        .on_deadlock(on_deadlock)
        .deadlock_check_interval(Duration::from_millis(a.deadlock_check_ms));
    let declared = plan.processes.len();
    let order: Arc<std::collections::HashMap<String, usize>> = Arc::new(
        plan.processes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect(),
    );
    let chans: Vec<(String, String)> = plan
        .channels
        .iter()
        .map(|c| (c.name.clone(), c.ty.to_string()))
        .collect();
    let proxy_ends = proxy_ends(&plan, me);
    let mut barrier_names = Vec::with_capacity(plan.barriers.len());
    let mut gated = std::collections::HashSet::new();
    for (bi, b) in plan.barriers.iter().enumerate() {
        barrier_names.push(b.name.clone());
        let on = b.ranks(|p| plan.processes[p].rank);
        if on.len() > 1 && on.contains(&me) {
            gated.insert(look::BARRIER_IDS | bi as u64);
        }
    }
    // Before the start: once this rank's processes run, a peer rank may see them run
    // (a value crossed) and a Ctrl-C must find the handler in place.
    let (int_tx, interrupted) = mpsc::channel();
    let _ = ctrlc::set_handler(move || {
        let _ = int_tx.send(());
    });
    // Rank 0 keeps the plan to draw the run with --dot (every rank has the whole plan;
    // rank 0 draws what every rank reports). Without it the start consumes the plan.
    let (started, plan) = if me == 0 && a.dot.is_some() {
        let started = network::start_ranked(Cow::Borrowed(&plan), reg, &runtime, w, options);
        (started, Some(plan))
    } else {
        (
            network::start_ranked(Cow::Owned(plan), reg, &runtime, w, options),
            None,
        )
    };
    let error = started.as_ref().err().map(|e| format!("rank {me}: {e}"));
    let ok = agree(
        w,
        Ctl::Started {
            error: error.clone(),
        },
        |all| {
            error.or_else(|| {
                all.into_iter().find_map(|(_, c)| match c {
                    Ctl::Started { error } => error,
                    _ => None,
                })
            })
        },
    );
    let running = match (started, ok) {
        (Ok(r), Ok(())) => r,
        (Ok(r), Err(())) => {
            r.poison();
            let _ = r.wait();
            return EXIT_INVALID;
        }
        (Err(e), _) => {
            if me != 0 {
                eprintln!("error: rank {me}: {e}");
            }
            return EXIT_INVALID;
        }
    };
    let here = look::Here {
        rank: me,
        by_local: running
            .channel_ids()
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, i as u64))
            .collect(),
        proxy_ends,
        barriers: running
            .barrier_ids()
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, look::BARRIER_IDS | i as u64))
            .collect(),
        gated,
    };
    let names = Names {
        channels: chans.iter().map(|(n, _)| n.clone()).collect(),
        barriers: barrier_names,
    };
    let mut rounds = Rounds::new(Duration::from_millis(a.deadlock_check_ms.max(100)));
    let (report, mut deadlock, shown) = supervise(
        a,
        w,
        running,
        (&here, &names, &outputs),
        &interrupted,
        &mut rounds,
    );
    let mut look = || rounds.step(w, &here, &names);
    let whole = gather(w, report, &mut look, &mut deadlock);
    let (channels, processes) = merged(&whole, declared, &order, chans);
    // What reached the open outputs (rank 0's), before the report, as on one machine.
    crate::launcher::write_stdout(&shown);
    print_report(a, &whole, declared, (&channels, &processes));
    if let (Some(path), Some(plan)) = (&a.dot, &plan) {
        let stats = (channels.as_slice(), processes.as_slice());
        if let Err(e) = write_dot(plan, stats, &whole, deadlock.as_ref(), path) {
            eprintln!("{e}");
        }
    }
    whole.code
}

/// Runs this rank's part to its end (or stops it), and says how it went.
fn supervise(
    a: &RunArgs,
    w: &World,
    mut running: network::Running,
    (here, names, outputs): (&look::Here, &Names, &[String]),
    interrupted: &mpsc::Receiver<()>,
    rounds: &mut Rounds,
) -> (Report, Option<DeadlockReport>, String) {
    let me = w.rank();
    let deadline = a
        .timeout
        .map(|t| Instant::now() + Duration::from_secs_f64(t));
    let tell_all = |why: &str| {
        for r in (0..w.size()).filter(|r| *r != me) {
            send(
                w,
                r,
                &Ctl::Stop {
                    why: why.to_string(),
                },
            );
        }
    };
    let mut stop: Option<u8> = None;
    let mut errors = Vec::new();
    let mut cross = None;
    let mut failed = false;
    while !running.wait_timeout(Duration::from_millis(50)) {
        // A failure poisons what the failing process held; processes unconnected to it
        // would run on, and with them the whole job (the other ranks hear of a failure
        // when this rank's part ends). So the first failure poisons all of this rank's
        // part: it ends, and reports the failure as usual, stopping the other ranks.
        if !failed && running.failed() {
            failed = true;
            running.poison();
        }
        if interrupted.try_recv().is_ok() {
            eprintln!("interrupted: poisoning the network (rank {me})");
            tell_all(&format!("rank {me} was interrupted"));
            stop = Some(EXIT_INTERRUPTED);
        } else if deadline.is_some_and(|d| Instant::now() >= d) {
            if me == 0 {
                eprintln!(
                    "timeout: the network ran for more than {}s; poisoning it",
                    a.timeout.unwrap_or_default()
                );
            }
            stop = Some(EXIT_FAILURE);
        } else if let Some((r, Ctl::Stop { why })) =
            take(w, None, Duration::ZERO, |c| matches!(c, Ctl::Stop { .. }))
        {
            tracing::info!("rank {me}: stopped by rank {r}: {why}");
            stop = Some(EXIT_OK);
        } else if let Some(rep) = rounds.step(w, here, names) {
            eprintln!("error: {rep}");
            errors.push(String::new());
            tell_all(&format!("a deadlock across ranks: {rep}"));
            cross = Some(rep);
            stop = Some(EXIT_DEADLOCK);
        }
        if stop.is_some() {
            running.poison();
            break;
        }
    }
    if let Some(code) = stop {
        let ended = running.wait_timeout(GRACE);
        let (channels, processes) = running.snapshot();
        if !ended {
            let stuck = running.unfinished();
            errors.push(format!(
                "rank {me}: {} processes did not stop: {}",
                stuck.len(),
                stuck.join(", ")
            ));
        }
        // Stopped by another rank, this rank's part is not what went wrong: only an
        // interrupt or a timeout here lists what ended, as one machine does (a deadlock
        // is its report alone).
        let listed = code != EXIT_OK && code != EXIT_DEADLOCK;
        let report = report_of(code, errors, &channels, &processes, 0.0, listed);
        return (report, cross, String::new());
    }
    let report = running.wait();
    let mut shown = String::new();
    for name in outputs {
        for v in report.shown_values(name).unwrap_or_default() {
            shown += &format!("{name}: {v}\n");
        }
    }
    let mut code = EXIT_OK;
    if let Some(d) = &report.deadlock {
        code = EXIT_DEADLOCK;
        errors.push(format!("on rank {me}: {d}"));
    }
    // As on one machine, a deadlock is the report (the deadlocked processes' failures
    // only repeat it); other ranks are still told to stop.
    if let (Err(e), Some(_)) = (&report.result, &report.deadlock) {
        tell_all(&format!("process `{}` on rank {me} deadlocked", e.process));
    } else if let Err(e) = &report.result {
        code = code.max(EXIT_FAILURE);
        errors.push(format!(
            "process `{}` on rank {me} {}",
            e.process, e.failure
        ));
        for (p, f) in &e.others {
            errors.push(format!("process `{p}` on rank {me} {f}"));
        }
        tell_all(&format!("process `{}` on rank {me} failed", e.process));
    }
    let mine = report_of(
        code,
        errors,
        &report.channels,
        &report.processes,
        report.elapsed.as_secs_f64(),
        false,
    );
    (mine, report.deadlock, shown)
}

fn report_of(
    code: u8,
    errors: Vec<String>,
    channels: &[ChannelStats],
    processes: &[ProcessStats],
    elapsed: f64,
    stopped: bool,
) -> Report {
    Report {
        code,
        errors,
        carried: channels.iter().map(|c| c.carried).collect(),
        processes: processes
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.kind.to_string(),
                    p.ran.as_secs_f64(),
                    end_code(p.end),
                )
            })
            .collect(),
        elapsed,
        stopped,
    }
}

/// Every rank's report to rank 0; the worst exit status back to every rank. Rank 0 gets
/// every rank's report (its own first, then by rank) and the status; another rank an
/// empty list and the status rank 0 sent.
fn gather(
    w: &World,
    mine: Report,
    look: &mut dyn FnMut() -> Option<DeadlockReport>,
    cross: &mut Option<DeadlockReport>,
) -> Whole {
    // A rank whose part has ended still takes part in the rounds of looks (with a look
    // of nothing: `look` answers rank 0's requests, or on rank 0 runs the rounds), so
    // that a deadlock among the ranks still running is found: without it, a rank with
    // nothing to run (a third rank of a two-rank network) stalled every round for good.
    let every = Duration::from_millis(20);
    if w.rank() != 0 {
        send(w, 0, &Ctl::Report(mine));
        loop {
            if let Some((_, Ctl::Exit { code })) =
                take(w, Some(0), every, |c| matches!(c, Ctl::Exit { .. }))
            {
                return Whole {
                    code,
                    reports: Vec::new(),
                };
            }
            look();
        }
    }
    let mut reports = vec![(0, mine)];
    for r in 1..w.size() {
        loop {
            if let Some((_, Ctl::Report(rep))) =
                take(w, Some(r), every, |c| matches!(c, Ctl::Report(_)))
            {
                reports.push((r, rep));
                break;
            }
            if cross.is_some() {
                continue;
            }
            if let Some(rep) = look() {
                // As `supervise` reports one: the report is the error; the ranks still
                // running are stopped.
                eprintln!("error: {rep}");
                for q in 1..w.size() {
                    let why = format!("a deadlock across ranks: {rep}");
                    send(w, q, &Ctl::Stop { why });
                }
                reports[0].1.code = reports[0].1.code.max(EXIT_DEADLOCK);
                reports[0].1.errors.push(String::new());
                *cross = Some(rep);
            }
        }
    }
    let code = reports.iter().map(|(_, r)| r.code).max().unwrap_or(EXIT_OK);
    for r in 1..w.size() {
        send(w, r, &Ctl::Exit { code });
    }
    Whole { code, reports }
}

/// The network's run as rank 0 gathered it (other ranks: the status alone).
struct Whole {
    code: u8,
    reports: Vec<(u32, Report)>,
}

/// Every rank's processes in plan order, and every channel of the plan with the most
/// values any rank saw it carry (each side of a cross-rank channel counts the values it
/// passed).
fn merged(
    whole: &Whole,
    declared: usize,
    order: &HashMap<String, usize>,
    names: Vec<(String, String)>,
) -> (Vec<ChannelStats>, Vec<ProcessStats>) {
    let mut processes: Vec<(usize, ProcessStats)> = whole
        .reports
        .iter()
        .flat_map(|(_, r)| &r.processes)
        .map(|(name, kind, ran, end)| {
            (
                order.get(name).copied().unwrap_or(declared),
                ProcessStats {
                    name: name.clone(),
                    kind: kind.as_str().into(),
                    ran: Duration::from_secs_f64(*ran),
                    end: end_of(*end),
                },
            )
        })
        .collect();
    processes.sort_by_key(|(i, _)| *i);
    let carried = |i: usize| {
        whole
            .reports
            .iter()
            .filter_map(|(_, r)| r.carried.get(i))
            .max()
            .copied()
            .unwrap_or(0)
    };
    let channels = names
        .into_iter()
        .enumerate()
        .map(|(i, (name, ty))| ChannelStats {
            name,
            ty,
            carried: carried(i),
        })
        .collect();
    (channels, processes.into_iter().map(|(_, p)| p).collect())
}

/// Rank 0 prints one report for the network, as the single-machine launcher does.
fn print_report(
    a: &RunArgs,
    whole: &Whole,
    declared: usize,
    (channels, processes): (&[ChannelStats], &[ProcessStats]),
) {
    use std::io::Write;
    if whole.reports.is_empty() {
        return;
    }
    let _ = std::io::stdout().flush();
    if whole.reports.iter().any(|(_, r)| r.stopped) {
        print_ran(processes, declared);
    }
    if a.stats {
        print_stats(channels, processes);
        let elapsed = whole
            .reports
            .iter()
            .map(|(_, r)| r.elapsed)
            .fold(0.0, f64::max);
        eprintln!("run took {elapsed:.3}s");
    }
    for (_, r) in &whole.reports {
        // (An empty line stands for an error printed at once: a deadlock across ranks.)
        for e in r.errors.iter().filter(|e| !e.is_empty()) {
            eprintln!("error: {e}");
        }
    }
}

/// `--dot` under MPI: rank 0 draws the whole network, every rank's processes coloured by
/// rank, with what every rank reported: values per channel, how each process ended, the
/// errors, and a deadlock found on rank 0 or across ranks.
fn write_dot(
    plan: &network::Plan,
    stats: (&[ChannelStats], &[ProcessStats]),
    whole: &Whole,
    deadlock: Option<&DeadlockReport>,
    path: &std::path::Path,
) -> Result<(), String> {
    let mut graph = crate::graph::Graph::from_plan(plan);
    graph.annotate_stats(stats.0, stats.1);
    let shown = deadlock.map(ToString::to_string);
    match whole.code {
        EXIT_OK => graph.add_note("ended normally"),
        EXIT_INTERRUPTED => graph.add_note("interrupted"),
        _ => {}
    }
    for (_, r) in &whole.reports {
        // A deadlock drawn below brings its own note.
        for e in r.errors.iter().filter(|e| !e.is_empty()) {
            if !shown.as_ref().is_some_and(|d| e.contains(d.as_str())) {
                graph.add_note(format!("error: {e}"));
            }
        }
    }
    // The judgement across ranks names processes `x (rank 0)`; the graph's nodes are
    // the plan's names.
    if let Some(d) = deadlock {
        let strip = |n: &String| match n.rfind(" (rank ") {
            Some(i) if n.ends_with(')') => n[..i].to_string(),
            _ => n.clone(),
        };
        let mut d = d.clone();
        d.cycle = d.cycle.iter().map(strip).collect();
        for b in &mut d.blocked {
            b.name = strip(&b.name);
            for op in &mut b.ops {
                op.peers = op.peers.iter().map(strip).collect();
            }
        }
        graph.annotate_deadlock(&d);
    }
    crate::launcher::dot::write_graph(&graph, path)
}

/// Per plan channel that crosses ranks, the ends this rank's proxy holds (writing,
/// reading): what `World::link` gives it, by the same rules.
fn proxy_ends(plan: &network::Plan, me: u32) -> HashMap<u64, (usize, usize)> {
    let dedup = |mut r: Vec<u32>| {
        r.sort_unstable();
        r.dedup();
        r
    };
    let mut out = HashMap::new();
    for ci in plan.cross_rank_channels() {
        let (wr, rd) = plan.end_ranks(ci);
        let (wr, rd) = (dedup(wr), dedup(rd));
        let ends = match (wr.as_slice(), rd.as_slice()) {
            (_, [reader]) => (
                usize::from(me == *reader && wr.iter().any(|r| *r != me)),
                usize::from(me != *reader && wr.contains(&me)),
            ),
            ([writer], _) => (
                usize::from(me != *writer && rd.contains(&me)),
                usize::from(me == *writer),
            ),
            _ => (0, 0),
        };
        out.insert(ci as u64, ends);
    }
    out
}

/// The plan's channels' and barriers' names, by index, for the reports across ranks.
struct Names {
    channels: Vec<String>,
    barriers: Vec<String>,
}

/// The rounds of looks: every rank answers rank 0's requests; rank 0 asks every
/// `every`, gathers the answers as they come, and judges each full round.
struct Rounds {
    every: Duration,
    next: Instant,
    /// Rank 0, a round under way: the looks so far.
    pending: Option<Vec<(u32, look::Look)>>,
    judge: look::Judge,
}

impl Rounds {
    fn new(every: Duration) -> Rounds {
        Rounds {
            every,
            next: Instant::now() + every,
            pending: None,
            judge: look::Judge::default(),
        }
    }

    /// One step (never blocks): answer a request; on rank 0, ask, gather, judge.
    fn step(&mut self, w: &World, here: &look::Here, names: &Names) -> Option<DeadlockReport> {
        if w.rank() != 0 {
            if take(w, Some(0), Duration::ZERO, |c| matches!(c, Ctl::LookReq)).is_some() {
                send(w, 0, &Ctl::Look(here.look(w.traffic())));
            }
            return None;
        }
        if self.pending.is_none() && Instant::now() >= self.next {
            for r in 1..w.size() {
                send(w, r, &Ctl::LookReq);
            }
            self.pending = Some(vec![(0, here.look(w.traffic()))]);
        }
        let looks = self.pending.as_mut()?;
        while let Some((r, Ctl::Look(l))) =
            take(w, None, Duration::ZERO, |c| matches!(c, Ctl::Look(_)))
        {
            looks.push((r, l));
        }
        if looks.len() < w.size() as usize {
            return None;
        }
        let looks = self.pending.take()?;
        self.next = Instant::now() + self.every;
        let name = |id: u64| {
            let (list, i) = match id & look::BARRIER_IDS {
                0 => (&names.channels, id),
                _ => (&names.barriers, id & !look::BARRIER_IDS),
            };
            list.get(usize::try_from(i).ok()?).cloned()
        };
        self.judge.judge(&looks, &name)
    }
}
