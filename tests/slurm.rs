//! The same networks under Slurm's `srun` as under `mpirun`: a cluster's users start
//! their ranks with `srun -n R occamy run net.ron` (Slurm's PMIx plugin, which Debian's
//! OpenMPI speaks), and the run must mean what it means under `mpirun`: the same
//! results, one report, failures and deadlocks named with their ranks, a killed rank
//! ending the job, `scancel` (and a job's time limit, which signals the same way)
//! poisoning every rank. Needs the `mpi` feature and a Slurm node up (`.ci/slurm-up`
//! starts one on this machine; CI does, and sets `OCCAMY_REQUIRE_SLURM` so that these
//! tests cannot skip there). Every run is under the watchdog.

mod common;

#[cfg(feature = "mpi")]
use common::mpirun::{
    barrier_network_in_lock_step, mandelbrot_draws_the_same, passes_under, primes_count_the_same,
    srun_command, srun_example, Launcher,
};

#[cfg(feature = "mpi")]
#[test]
fn srun_runs_primes_over_two_ranks_with_one_machines_count() {
    primes_count_the_same(Launcher::Srun);
}

#[cfg(feature = "mpi")]
#[test]
fn srun_mandelbrot_on_two_ranks_writes_one_ranks_image_byte_for_byte() {
    mandelbrot_draws_the_same(Launcher::Srun);
}

#[cfg(feature = "mpi")]
#[test]
fn srun_cross_rank_channels_keep_rendezvous_alt_fairness_and_poison() {
    for scenario in ["rendezvous", "alt_fair", "poison"] {
        passes_under(Launcher::Srun, "mpi_selftest", 2, scenario);
    }
}

#[cfg(feature = "mpi")]
#[test]
fn srun_keeps_a_barrier_across_three_ranks_in_lock_step() {
    barrier_network_in_lock_step(Launcher::Srun, 3);
}

#[cfg(feature = "mpi")]
#[test]
fn srun_reports_a_failure_on_rank_1_naming_the_process_and_exits_1() {
    let Some(run) = srun_example(2, "occamy", &["run", "tests/networks/mpi_fail.ron"]) else {
        return;
    };
    // srun exits with the highest of its tasks' codes: every rank exits with the run's.
    assert_eq!(run.code, Some(1), "{}\n{}", run.what, run.stderr);
    assert!(
        run.stderr.contains(
            "error: process `src` on rank 1 failed: cannot open `/nonexistent/occamy-mpi-test`"
        ),
        "{}: the failure not named\n{}",
        run.what,
        run.stderr
    );
}

#[cfg(feature = "mpi")]
#[test]
fn srun_reports_a_deadlock_across_ranks_and_exits_3() {
    let args = [
        "run",
        "tests/networks/mpi_cross_deadlock.ron",
        "--deadlock-check-ms",
        "50",
    ];
    let Some(run) = srun_example(2, "occamy", &args) else {
        return;
    };
    assert_eq!(run.code, Some(3), "{}\n{}", run.what, run.stderr);
    assert_eq!(
        run.stderr.lines().next(),
        Some("error: deadlock: x (rank 0) waits to receive on a from y (rank 1); y (rank 1) waits to receive on b from x (rank 0)"),
        "{}\n{}",
        run.what,
        run.stderr
    );
}

#[cfg(feature = "mpi")]
#[test]
fn srun_ends_the_job_when_a_rank_is_killed_naming_it() {
    let Some(run) = srun_example(2, "mpi_selftest", &["kill"]) else {
        return;
    };
    assert_ne!(
        run.code,
        Some(0),
        "{}: exited 0 after a rank was killed",
        run.what
    );
    // Slurm's words: "srun: error: vm: task 1: Killed".
    assert!(
        run.stderr.contains("task 1: Killed"),
        "{}: the killed rank not named\n--- stdout:\n{}\n--- stderr:\n{}",
        run.what,
        run.stdout,
        run.stderr
    );
}

/// `tests/networks/mpi_forever.ron` under `srun` until a tick crossed ranks, then
/// `scancel` with `signal` (`None`: scancel's own, SIGTERM, as at a job's time limit):
/// the exit status and stderr, under the watchdog.
#[cfg(feature = "mpi")]
fn cancelled(signal: Option<&str>) -> Option<(Option<i32>, String)> {
    use std::io::{BufRead, BufReader, Read};
    let job = format!(
        "occamy-cancel-{}-{}",
        std::process::id(),
        signal.unwrap_or("term")
    );
    let mut child = srun_command(
        2,
        &job,
        "occamy",
        &["run", "tests/networks/mpi_forever.ron"],
    )?
    .spawn()
    .expect("cannot start srun");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let first = common::watchdog(common::LIMIT, "the first tick", move || {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        // Keep draining, so that rank 0's printing never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        line
    });
    assert_eq!(first.trim(), "0");
    let mut scancel = std::process::Command::new("scancel");
    if let Some(s) = signal {
        scancel.args(["--signal", s]);
    }
    let sent = scancel.args(["--name", &job]).status().unwrap();
    assert!(sent.success(), "scancel failed");
    let mut err = child.stderr.take().unwrap();
    Some(common::watchdog(
        common::LIMIT,
        "srun after scancel",
        move || {
            let mut s = String::new();
            err.read_to_string(&mut s).unwrap();
            (child.wait().unwrap().code(), s)
        },
    ))
}

/// Every rank poisoned its part and exited 130, and rank 0 reported both processes (one
/// on each rank) poisoned. A rank says "interrupted" when the signal reaches it before
/// the other rank's `Stop` does (either may come first), so at least one says it.
#[cfg(feature = "mpi")]
fn poisoned_every_rank(code: Option<i32>, stderr: &str) {
    assert_eq!(code, Some(130), "after scancel:\n{stderr}");
    assert!(
        stderr.contains("interrupted: poisoning the network (rank "),
        "no rank interrupted:\n{stderr}"
    );
    let report: Vec<&str> = stderr
        .lines()
        .skip_while(|l| *l != "2 of 2 processes ended:")
        .collect();
    assert!(
        report.len() >= 3
            && report[1].split_whitespace().collect::<Vec<_>>() == ["clock", "tick", "poisoned"]
            && report[2].split_whitespace().collect::<Vec<_>>() == ["show", "print", "poisoned"],
        "no report of both ranks' processes poisoned after scancel:\n{stderr}"
    );
    // Slurm's words for every task's exit status.
    assert!(
        stderr.contains("tasks 0-1: Exited with exit code 130"),
        "not every rank exited 130:\n{stderr}"
    );
}

#[cfg(feature = "mpi")]
#[test]
fn scancel_with_sigint_poisons_every_rank_reports_and_exits_130() {
    if let Some((code, stderr)) = cancelled(Some("INT")) {
        poisoned_every_rank(code, &stderr);
    }
}

#[cfg(feature = "mpi")]
#[test]
fn scancel_and_a_time_limit_poison_every_rank_report_and_exit_130() {
    if let Some((code, stderr)) = cancelled(None) {
        poisoned_every_rank(code, &stderr);
    }
}

#[cfg(not(feature = "mpi"))]
#[test]
fn slurm_tests_need_the_mpi_feature() {
    eprintln!("skipped: tests/slurm.rs needs --features mpi");
}
