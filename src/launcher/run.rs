//! `occamy run FILE`.

use std::borrow::Cow;
use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{NetworkArgs, EXIT_DEADLOCK, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK};
use crate::deadlock::OnDeadlock;
use crate::network::{self, ChannelStats, ProcessStats};
use crate::registry::{PortDir, Registry};
use crate::runtime::{Runtime, Scheduler};

#[cfg(feature = "mpi")]
#[path = "mpi.rs"]
mod mpi;

/// Arguments of `occamy run`.
#[derive(clap::Args, Debug)]
pub(super) struct RunArgs {
    #[command(flatten)]
    net: NetworkArgs,
    /// After the run, print per channel how many messages it carried and per process how
    /// long it ran (to stderr).
    #[arg(long)]
    stats: bool,
    /// Poison the network after SECS seconds and exit 1.
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// On deadlock: `poison` the network and exit 3, or `warn` (report it, keep the rest
    /// running; the exit status is 3 whenever the run ends).
    #[arg(long, value_name = "WHAT", default_value = "poison", value_parser = ["poison", "warn"])]
    on_deadlock: String,
    /// How often to look for deadlocks, in milliseconds (a deadlock is reported within
    /// two of these).
    #[arg(long, value_name = "MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    deadlock_check_ms: u64,
    /// After the run, write the network's graph as DOT to OUT.dot: messages per channel,
    /// how each process ended, the deadlock if any (a failure to write it is reported but
    /// does not change the exit status).
    #[arg(long, value_name = "OUT.dot")]
    dot: Option<std::path::PathBuf>,
    /// How processes run: `threads` (one OS thread each) or `green` (async kinds as tasks
    /// on a pool of worker threads; blocking kinds keep a thread each). Default: the
    /// file's `scheduler`, else green, or what the environment variable OCCAMY_SCHEDULER
    /// says.
    #[arg(long, value_name = "WHICH", value_parser = ["threads", "green"])]
    scheduler: Option<String>,
    /// Worker threads of the green scheduler, whichever chose it (0: one per core; the
    /// default is the file's `workers`, else one per core, or under mpirun the node's
    /// cores divided among its ranks). No effect under threads.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Run as one rank of an MPI job (`mpirun -n R occamy run FILE`): every rank loads the
    /// same file placed on R ranks and runs its own processes. Implied when the job has
    /// more than one rank (mpirun's environment says so).
    #[cfg(feature = "mpi")]
    #[arg(long)]
    mpi: bool,
    /// Record the run into the trace file T: every communication, alt choice, wait and
    /// wake-up, process end and the deadlock if any (docs/trace-format.md); `occamy
    /// replay T` shows it again.
    #[arg(long, value_name = "T")]
    record: Option<std::path::PathBuf>,
    /// With --record: record each value too, as `print` shows it, cut to 40 characters
    /// (it costs: every value is formatted).
    #[arg(long, requires = "record")]
    record_values: bool,
    /// Feed an input port of the file (a top-level `ports` entry with `dir: In`):
    /// PORT=VALUES, VALUES a RON list of the port's type (`in=[1, 2, 3]`, `words=["a",
    /// "b"]`), sent in order, then the port is retired. A port not fed is retired at the
    /// start.
    #[arg(long = "feed", value_name = "PORT=VALUES", value_parser = super::parse_set)]
    feeds: Vec<(String, String)>,
    #[cfg(feature = "viz")]
    #[command(flatten)]
    viz: super::viz::VizArgs,
    #[cfg(unix)]
    #[command(flatten)]
    top: super::top::TopArgs,
}

/// How long processes get to stop after the network is poisoned before the launcher
/// gives up on them (a process blocked reading stdin cannot be interrupted).
const GRACE: Duration = Duration::from_secs(5);

pub(super) fn run(reg: &Registry, a: RunArgs) -> u8 {
    #[cfg(unix)]
    if let Err(code) = super::top::check(&a.top) {
        return code;
    }
    #[cfg(feature = "mpi")]
    if a.mpi || mpi::under_mpirun() {
        return mpi::run(reg, a);
    }
    let plan = match network::load(&a.net.file, &a.net.sets, reg) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_INVALID;
        }
    };
    if let Some(t) = a.timeout {
        if !(t.is_finite() && t > 0.0) {
            eprintln!("error: --timeout must be a positive number of seconds, not {t}");
            return EXIT_INVALID;
        }
    }
    tracing::info!("{}", plan.summary());
    let on_deadlock = if a.on_deadlock == "warn" {
        OnDeadlock::Warn
    } else {
        OnDeadlock::Poison
    };
    let scheduler = scheduler_for(a.scheduler.as_deref(), a.workers, plan.scheduler());
    if let Some(e) = too_many_threads(&plan, scheduler) {
        eprintln!("{e}");
        return EXIT_INVALID;
    }
    let runtime = Runtime::new()
        .scheduler(scheduler)
        .on_deadlock(on_deadlock)
        .deadlock_check_interval(Duration::from_millis(a.deadlock_check_ms));
    // One watch for every view of the run (a runtime feeds one).
    let watch = crate::observe::Watch::new();
    #[cfg(feature = "viz")]
    let (runtime, viewer) = match super::viz::start(&a.viz, &plan, runtime, &watch) {
        Ok(v) => v,
        Err(code) => return code,
    };
    // A top-level file's open ports: the inputs get what `--feed` gives them (else they
    // are retired at the start); what arrives on the outputs is printed after the run.
    let options = match feeds(&plan, reg, &a.feeds) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_INVALID;
        }
    };
    let mut outputs = Vec::new();
    for port in &plan.ports {
        match port.dir {
            PortDir::In if !a.feeds.iter().any(|(p, _)| *p == port.name) => eprintln!(
                "note: input port `{}` is not fed (no `--feed {}=[...]`): it is retired at the start",
                port.name, port.name
            ),
            PortDir::In => {}
            PortDir::Out => outputs.push(port.name.clone()),
        }
    }
    #[cfg(unix)]
    let runtime = if a.top.on() {
        runtime.watch(&watch)
    } else {
        runtime
    };
    #[cfg(unix)]
    let info = super::top::Info {
        name: plan.name.clone(),
        declared: plan.processes.len(),
        scheduler: super::top::scheduler_text(scheduler),
        #[cfg(feature = "viz")]
        viz: viewer.as_ref().map(|v| v.url().to_string()),
        #[cfg(not(feature = "viz"))]
        viz: None,
    };
    let recorder = match &a.record {
        Some(path) => {
            match super::replay::record(path, &a.net, &plan, scheduler, a.record_values) {
                Ok(r) => Some(r),
                Err(code) => return code,
            }
        }
        None => None,
    };
    // The plan is needed after the start only to draw the run: without --dot it is
    // consumed by the start, so that a network of a million processes does not hold its
    // plan and its processes at once.
    let declared = plan.processes.len();
    let (started, plan) = if a.dot.is_some() {
        let started = network::start_with(Cow::Borrowed(&plan), reg, &runtime, options);
        (started, Some(plan))
    } else {
        (
            network::start_with(Cow::Owned(plan), reg, &runtime, options),
            None,
        )
    };
    let mut running = match started {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_INVALID;
        }
    };
    let (int_tx, interrupted) = mpsc::channel();
    // Only one handler can be set per program; a second launcher run in the same program
    // simply goes without Ctrl-C handling.
    let _ = ctrlc::set_handler(move || {
        let _ = int_tx.send(());
    });
    #[cfg(unix)]
    let top = if a.top.on() {
        match super::top::Top::start(&a.top, &watch, info) {
            Ok(t) => Some(t),
            Err(code) => {
                running.poison();
                let _ = running.wait_timeout(GRACE);
                return code;
            }
        }
    } else {
        None
    };
    #[cfg(not(unix))]
    let top: Option<Top> = None;
    let net = Declared {
        plan: plan.as_ref(),
        processes: declared,
        outputs: &outputs,
    };
    let code = supervise(&a, net, running, &interrupted, on_deadlock, top);
    if let (Some(r), Some(path)) = (recorder, &a.record) {
        // Like --dot: a trace that cannot be written is reported, but the run's status
        // stands.
        if let Err(e) = r.finish() {
            eprintln!("error: --record: cannot write {}: {e}", path.display());
        }
    }
    // With --top, q has ended both views.
    #[cfg(all(feature = "viz", unix))]
    let viewer = viewer.filter(|_| !a.top.on());
    #[cfg(feature = "viz")]
    super::viz::linger(&a.viz, viewer, &interrupted, code);
    code
}

#[cfg(unix)]
use super::top::Top;
/// No terminal table where descriptors cannot be redirected.
#[cfg(not(unix))]
enum Top {}
#[cfg(not(unix))]
impl Top {
    fn tick(&mut self) -> bool {
        match *self {}
    }
    fn linger(&mut self, _: &mpsc::Receiver<()>) {
        match *self {}
    }
    fn close(self) {
        match self {}
    }
}

/// What a run's report needs of the network as declared.
struct Declared<'a> {
    /// The plan, with `--dot`.
    plan: Option<&'a network::Plan>,
    /// How many processes it has.
    processes: usize,
    /// Its open output ports, whose values a run that ends prints (`PORT: VALUE`, a line
    /// each, on stdout).
    outputs: &'a [String],
}

/// Waits for the running network to end, or stops it (Ctrl-C, `--timeout`), reports the
/// run, and returns the exit status.
fn supervise(
    a: &RunArgs,
    net: Declared<'_>,
    mut running: network::Running,
    interrupted: &mpsc::Receiver<()>,
    on_deadlock: OnDeadlock,
    mut top: Option<Top>,
) -> u8 {
    let Declared {
        plan,
        processes: declared,
        outputs,
    } = net;
    let deadline = a
        .timeout
        .map(|t| Instant::now() + Duration::from_secs_f64(t));
    let mut stop: Option<(&str, u8)> = None;
    let mut deadlocked = false;
    // The table polls its keys for most of each round.
    let poll = Duration::from_millis(if top.is_some() { 5 } else { 50 });
    let mut failed = false;
    while !running.wait_timeout(poll) {
        // A failure poisons what the failing process held, and the run's status is 1
        // whatever else happens; processes it does not reach would keep the run going
        // (for ever, for a clock), with the failure unreported until the end. So the
        // first failure poisons the whole network, and the report names it as usual.
        if !failed && running.failed() {
            failed = true;
            running.poison();
        }
        if !deadlocked {
            if let Some(d) = running.deadlock() {
                deadlocked = true;
                let what = if on_deadlock == OnDeadlock::Warn {
                    "warning"
                } else {
                    "error"
                };
                eprintln!("{what}: {d}");
            }
        }
        let quit = top.as_mut().is_some_and(|t| t.tick());
        if interrupted.try_recv().is_ok() || quit {
            eprintln!("interrupted: poisoning the network");
            stop = Some(("interrupted", EXIT_INTERRUPTED));
        } else if deadline.is_some_and(|d| Instant::now() >= d) {
            eprintln!(
                "timeout: the network ran for more than {}s; poisoning it",
                a.timeout.unwrap_or_default()
            );
            stop = Some(("timed out", EXIT_FAILURE));
        }
        if stop.is_some() {
            running.poison();
            break;
        }
    }
    // The terminal is given back before the report, which goes to it; after the
    // processes have stopped, so that nothing they still print lands in the report.
    if let Some(mut t) = top {
        if stop.is_none() {
            t.linger(interrupted);
        } else {
            let until = Instant::now() + GRACE;
            while !running.wait_timeout(poll) && Instant::now() < until {
                t.tick();
            }
        }
        t.close();
    }
    if let Some((what, code)) = stop {
        let ended = running.wait_timeout(GRACE);
        let (channels, processes) = running.snapshot();
        if !ended {
            let stuck = running.unfinished();
            eprintln!(
                "{what}: {} processes did not stop: {}",
                stuck.len(),
                stuck.join(", ")
            );
        }
        if let (Some(path), Some(plan)) = (&a.dot, plan) {
            let d = running.deadlock();
            let stats = (channels.as_slice(), processes.as_slice());
            if let Err(e) = super::dot::write_stopped_dot(plan, stats, d.as_ref(), what, path) {
                eprintln!("{e}");
            }
        }
        print_ran(&processes, declared);
        if a.stats {
            print_stats(&channels, &processes);
        }
        return if deadlocked { EXIT_DEADLOCK } else { code };
    }
    let report = running.wait();
    if let (Some(path), Some(plan)) = (&a.dot, plan) {
        if let Err(e) = super::dot::write_run_dot(plan, &report, path) {
            eprintln!("{e}");
        }
    }
    let mut shown = String::new();
    for name in outputs {
        for v in report.shown_values(name).unwrap_or_default() {
            shown += &format!("{name}: {v}\n");
        }
    }
    super::write_stdout(&shown);
    let _ = std::io::stdout().flush();
    if a.stats {
        print_stats(&report.channels, &report.processes);
        eprintln!("run took {:.3}s", report.elapsed.as_secs_f64());
    }
    if let Some(d) = &report.deadlock {
        if !deadlocked {
            eprintln!("error: {d}");
        }
        return EXIT_DEADLOCK;
    }
    match report.result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            for (p, f) in &e.others {
                eprintln!("error: process `{p}` {f}");
            }
            EXIT_FAILURE
        }
    }
}

/// The options feeding `plan`'s input ports what `--feed PORT=VALUES` gives them.
pub(super) fn feeds(
    plan: &network::Plan,
    reg: &Registry,
    feeds: &[(String, String)],
) -> Result<network::RunOptions, network::NetworkError> {
    let mut options = network::RunOptions::new();
    let mut diags = Vec::new();
    for (name, values) in feeds {
        let port = match network::input_port(plan, name) {
            Ok(p) => p,
            Err(d) => {
                diags.push(*d);
                continue;
            }
        };
        let ty = &plan.channels[port.channel].ty;
        let fed = ron::from_str::<ron::Value>(values)
            .map_err(|e| format!("not RON: {e}"))
            .and_then(|list| match reg.type_info(ty).and_then(|t| t.feed_ron()) {
                Some(feed) => feed(std::mem::take(&mut options), name, &list),
                None => Err(format!(
                    "values of `{ty}` cannot be written on the command line (it is registered as opaque)"
                )),
            });
        match fed {
            Ok(o) => options = o,
            Err(e) => diags.push(network::Diagnostic {
                file: plan.file.clone(),
                pos: None,
                code: network::FEED_TYPE,
                context: vec![format!("`--feed {name}=...`")],
                message: e,
                help: Some(format!(
                    "give a RON list of `{ty}` values, e.g. `--feed {name}=[...]`"
                )),
            }),
        }
    }
    if diags.is_empty() {
        Ok(options)
    } else {
        Err(network::NetworkError { diagnostics: diags })
    }
}

/// The scheduler that applies: `--scheduler`, else the file's, else the default
/// ([`Scheduler::from_env`]); then `--workers` sets the worker count of a green one.
pub(super) fn scheduler_for(
    cli: Option<&str>,
    workers: Option<usize>,
    file: Option<Scheduler>,
) -> Scheduler {
    let s = match cli {
        Some("green") => Scheduler::green(),
        Some(_) => Scheduler::Threads,
        None => file.unwrap_or_else(Scheduler::from_env),
    };
    match (s, workers) {
        (Scheduler::Green { .. }, Some(workers)) => Scheduler::Green { workers },
        (s, _) => s,
    }
}

/// Why `plan` cannot run under `scheduler`, if it needs more OS threads than a machine
/// gives: past that, thread creation fails partway through the start, with half the
/// network running.
pub(super) fn too_many_threads(plan: &network::Plan, scheduler: Scheduler) -> Option<String> {
    let n = plan.threads_under(scheduler);
    if n <= network::MAX_THREADS {
        return None;
    }
    let max = network::MAX_THREADS;
    Some(match scheduler {
        Scheduler::Threads => format!(
            "error: network `{}` has {n} processes; under the thread scheduler each needs an OS thread, and at most {max} may (a thread per process stops near 16,000 on Linux)\n  help: run it with `--scheduler green`, or write `scheduler: Green()` in the file",
            plan.name
        ),
        Scheduler::Green { .. } => format!(
            "error: network `{}` has {n} processes declared `thread: true`; each needs an OS thread, and at most {max} may\n  help: declare fewer processes `thread: true`",
            plan.name
        ),
    })
}

/// The width of the widest of `items` (at least `min`), for aligned columns.
fn width<'a>(items: impl Iterator<Item = &'a str>, min: usize) -> usize {
    items.map(|s| s.chars().count()).max().unwrap_or(0).max(min)
}

/// `name` as a replica's base name and index: `node[12]` is (`node`, 12).
fn replica(name: &str) -> Option<(&str, u64)> {
    let open = name.strip_suffix(']')?.rfind('[')?;
    let i = name[open + 1..name.len() - 1].parse().ok()?;
    Some((&name[..open], i))
}

/// Runs of `items` that are replicas with consecutive indices of one declaration and that
/// `same` says are alike, each as its label (`node[0..497]`, or the one name) and its
/// range in `items`: a network of a million processes reports in a few lines.
fn runs<T>(
    items: &[T],
    name: impl Fn(&T) -> &str,
    same: impl Fn(&T, &T) -> bool,
) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let mut j = i + 1;
        if let Some((base, first)) = replica(name(&items[i])) {
            while j < items.len()
                && replica(name(&items[j])) == Some((base, first + (j - i) as u64))
                && same(&items[i], &items[j])
            {
                j += 1;
            }
            if j - i > 1 {
                let last = first + (j - i - 1) as u64;
                out.push((format!("{base}[{first}..{last}]"), i..j));
                i = j;
                continue;
            }
        }
        out.push((name(&items[i]).to_string(), i..j));
        i = j;
    }
    out
}

fn count(n: usize) -> String {
    if n > 1 {
        format!(" ×{n}")
    } else {
        String::new()
    }
}

/// The processes' runs of alike replicas (see [`runs`]), and the widths of the name and
/// kind columns.
type ProcessRuns = (Vec<(String, std::ops::Range<usize>)>, usize, usize);

fn process_runs(processes: &[ProcessStats]) -> ProcessRuns {
    let groups = runs(
        processes,
        |p| &p.name,
        |a, b| a.kind == b.kind && a.end == b.end,
    );
    let nw = width(groups.iter().map(|(l, _)| l.as_str()), 24);
    let kw = width(processes.iter().map(|p| &*p.kind), 10);
    (groups, nw, kw)
}

pub(super) fn print_ran(processes: &[ProcessStats], total: usize) {
    eprintln!("{} of {total} processes ended:", processes.len());
    let (groups, nw, kw) = process_runs(processes);
    for (label, r) in groups {
        let p = &processes[r.start];
        eprintln!("  {label:<nw$} {:<kw$} {}{}", p.kind, p.end, count(r.len()));
    }
}

pub(super) fn print_stats(channels: &[ChannelStats], processes: &[ProcessStats]) {
    eprint!("{}", stats(channels, processes));
}

/// What `--stats` prints: per channel the messages it carried, per process how long it
/// ran and how it ended (`occamy replay --summary` prints the same from a trace).
pub(super) fn stats(channels: &[ChannelStats], processes: &[ProcessStats]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut line = |s: std::fmt::Arguments<'_>| {
        let _ = out.write_fmt(s);
        out.push('\n');
    };
    line(format_args!("channels:"));
    let groups = runs(channels, |c| &c.name, |a, b| a.ty == b.ty);
    let nw = width(groups.iter().map(|(l, _)| l.as_str()), 24);
    let tw = width(channels.iter().map(|c| c.ty.as_str()), 8);
    for (label, r) in groups {
        let cs = &channels[r.clone()];
        let total: u64 = cs.iter().map(|c| c.carried).sum();
        let each = if cs.len() > 1 {
            let lo = cs.iter().map(|c| c.carried).min().unwrap_or(0);
            let hi = cs.iter().map(|c| c.carried).max().unwrap_or(0);
            format!(" ({lo}..{hi} each, ×{})", cs.len())
        } else {
            String::new()
        };
        line(format_args!(
            "  {label:<nw$} {:<tw$} {total:>12} messages{each}",
            cs[0].ty
        ));
    }
    line(format_args!("processes:"));
    let (groups, nw, kw) = process_runs(processes);
    for (label, r) in groups {
        let ps = &processes[r.clone()];
        // A group's time is its longest member's.
        let ran = ps.iter().map(|p| p.ran).max().unwrap_or_default();
        line(format_args!(
            "  {label:<nw$} {:<kw$} {:>10.3}s  {}{}",
            ps[0].kind,
            ran.as_secs_f64(),
            ps[0].end,
            count(ps.len())
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{runs, scheduler_for, Scheduler};

    #[test]
    fn replicas_in_a_row_collapse_into_one_line() {
        let names = [
            "start", "node[0]", "node[1]", "node[2]", "node[4]", "w[0].inc", "w[1].inc", "tap",
        ];
        let got: Vec<(String, usize)> = runs(&names, |n| n, |_, _| true)
            .into_iter()
            .map(|(l, r)| (l, r.len()))
            .collect();
        let want = [
            ("start", 1),
            ("node[0..2]", 3),
            ("node[4]", 1),
            ("w[0].inc", 1),
            ("w[1].inc", 1),
            ("tap", 1),
        ];
        assert_eq!(got, want.map(|(l, n)| (l.to_string(), n)));
        // Unlike members break a run.
        let ends = ["a[0]", "a[1]", "a[2]"];
        let split = runs(&ends, |n| n, |a, b| (*a == "a[2]") == (*b == "a[2]"));
        let labels: Vec<&str> = split.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["a[0..1]", "a[2]"]);
    }

    #[test]
    fn the_command_line_beats_the_file_which_beats_the_default() {
        let file = Some(Scheduler::Green { workers: 2 });
        assert_eq!(
            scheduler_for(Some("threads"), None, file),
            Scheduler::Threads
        );
        assert_eq!(
            scheduler_for(Some("green"), None, Some(Scheduler::Threads)),
            Scheduler::green()
        );
        assert_eq!(
            scheduler_for(None, None, file),
            Scheduler::Green { workers: 2 }
        );
        assert_eq!(
            scheduler_for(None, None, Some(Scheduler::Threads)),
            Scheduler::Threads
        );
        // --workers sets the count of whichever green scheduler applies.
        assert_eq!(
            scheduler_for(None, Some(3), file),
            Scheduler::Green { workers: 3 }
        );
        assert_eq!(
            scheduler_for(Some("green"), Some(1), None),
            Scheduler::Green { workers: 1 }
        );
        assert_eq!(
            scheduler_for(Some("threads"), Some(3), file),
            Scheduler::Threads
        );
    }
}
