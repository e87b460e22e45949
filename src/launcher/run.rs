//! `occamy run FILE`.

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{NetworkArgs, EXIT_DEADLOCK, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK};
use crate::deadlock::OnDeadlock;
use crate::network::{self, ChannelStats, ProcessStats};
use crate::registry::Registry;
use crate::runtime::{Runtime, Scheduler};

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
    /// default is the file's `workers`, else one per core). No effect under threads.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    #[cfg(feature = "viz")]
    #[command(flatten)]
    viz: super::viz::VizArgs,
}

/// How long processes get to stop after the network is poisoned before the launcher
/// gives up on them (a process blocked reading stdin cannot be interrupted).
const GRACE: Duration = Duration::from_secs(5);

pub(super) fn run(reg: &Registry, a: RunArgs) -> u8 {
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
    #[cfg(feature = "viz")]
    let (runtime, viewer) = match super::viz::start(&a.viz, &plan, runtime) {
        Ok(v) => v,
        Err(code) => return code,
    };
    // The plan is needed after the start only to draw the run: without --dot it is
    // consumed by the start, so that a network of a million processes does not hold its
    // plan and its processes at once.
    let declared = plan.processes.len();
    let (started, plan) = if a.dot.is_some() {
        (network::start(&plan, reg, &runtime), Some(plan))
    } else {
        (plan.into_running(reg, &runtime), None)
    };
    let running = match started {
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
    let code = supervise(
        &a,
        plan.as_ref(),
        declared,
        running,
        &interrupted,
        on_deadlock,
    );
    #[cfg(feature = "viz")]
    super::viz::linger(&a.viz, viewer, &interrupted, code);
    code
}

/// Waits for the running network to end, or stops it (Ctrl-C, `--timeout`), reports the
/// run, and returns the exit status. `plan` is there with `--dot`; `declared` is how many
/// processes it has.
fn supervise(
    a: &RunArgs,
    plan: Option<&network::Plan>,
    declared: usize,
    mut running: network::Running,
    interrupted: &mpsc::Receiver<()>,
    on_deadlock: OnDeadlock,
) -> u8 {
    let deadline = a
        .timeout
        .map(|t| Instant::now() + Duration::from_secs_f64(t));
    let mut stop: Option<(&str, u8)> = None;
    let mut deadlocked = false;
    while !running.wait_timeout(Duration::from_millis(50)) {
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
        if interrupted.try_recv().is_ok() {
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

/// The scheduler that applies: `--scheduler`, else the file's, else the default
/// ([`Scheduler::from_env`]); then `--workers` sets the worker count of a green one.
fn scheduler_for(cli: Option<&str>, workers: Option<usize>, file: Option<Scheduler>) -> Scheduler {
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
fn too_many_threads(plan: &network::Plan, scheduler: Scheduler) -> Option<String> {
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

fn print_ran(processes: &[ProcessStats], total: usize) {
    eprintln!("{} of {total} processes ended:", processes.len());
    let nw = width(processes.iter().map(|p| p.name.as_str()), 24);
    let kw = width(processes.iter().map(|p| &*p.kind), 10);
    for p in processes {
        eprintln!("  {:<nw$} {:<kw$} {}", p.name, p.kind, p.end);
    }
}

fn print_stats(channels: &[ChannelStats], processes: &[ProcessStats]) {
    eprintln!("channels:");
    let nw = width(channels.iter().map(|c| c.name.as_str()), 24);
    let tw = width(channels.iter().map(|c| c.ty.as_str()), 8);
    for c in channels {
        eprintln!("  {:<nw$} {:<tw$} {:>12} messages", c.name, c.ty, c.carried);
    }
    eprintln!("processes:");
    let nw = width(processes.iter().map(|p| p.name.as_str()), 24);
    let kw = width(processes.iter().map(|p| &*p.kind), 10);
    for p in processes {
        eprintln!(
            "  {:<nw$} {:<kw$} {:>10.3}s  {}",
            p.name,
            p.kind,
            p.ran.as_secs_f64(),
            p.end
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{scheduler_for, Scheduler};

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
