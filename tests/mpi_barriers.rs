//! Barriers across ranks under `mpirun`: the scenarios of `examples/mpi_barriers.rs` and
//! the launcher on barrier networks, on 2 to 4 ranks (one machine, `--oversubscribe`),
//! each under the watchdog. Built only with the `mpi` feature; without it, or without
//! `mpirun` on the PATH, the tests say so and pass.

mod common;

#[cfg(feature = "mpi")]
use common::mpirun::{
    barrier_network_in_lock_step, deadlock_reported, mpirun_example, passes_in, Launcher,
};

#[cfg(feature = "mpi")]
#[test]
fn a_barrier_across_three_ranks_keeps_every_party_in_lock_step() {
    passes_in("mpi_barriers", 3, "phases");
}

#[cfg(feature = "mpi")]
#[test]
fn a_barrier_across_four_ranks_keeps_every_party_in_lock_step() {
    passes_in("mpi_barriers", 4, "phases");
}

#[cfg(feature = "mpi")]
#[test]
fn a_barrier_across_two_ranks_keeps_every_party_in_lock_step() {
    passes_in("mpi_barriers", 2, "phases");
}

#[cfg(feature = "mpi")]
#[test]
fn a_rank_whose_barrier_parties_all_resigned_is_no_longer_waited_for() {
    passes_in("mpi_barriers", 2, "resign");
}

#[cfg(feature = "mpi")]
#[test]
fn a_party_enrolled_while_its_ranks_phase_is_held_takes_part_from_the_next() {
    passes_in("mpi_barriers", 2, "held");
}

#[cfg(feature = "mpi")]
#[test]
fn poison_on_a_barrier_crosses_ranks_both_ways() {
    passes_in("mpi_barriers", 2, "poison");
}

#[cfg(feature = "mpi")]
#[test]
fn a_barrier_network_on_two_ranks_runs_in_lock_step() {
    barrier_network_in_lock_step(Launcher::Mpirun, 2);
}

#[cfg(feature = "mpi")]
#[test]
fn a_barrier_network_on_three_ranks_runs_in_lock_step() {
    barrier_network_in_lock_step(Launcher::Mpirun, 3);
}

/// Rank 2 has nothing to run: its part ends at once, and the others go on in lock-step.
#[cfg(feature = "mpi")]
#[test]
fn a_barrier_network_on_four_ranks_runs_in_lock_step() {
    barrier_network_in_lock_step(Launcher::Mpirun, 4);
}

#[cfg(feature = "mpi")]
#[test]
fn a_deadlock_through_a_barrier_across_two_ranks_is_reported_with_both_ranks_processes() {
    deadlock_reported(
        2,
        "tests/networks/mpi_barrier_deadlock.ron",
        "error: deadlock: clock (rank 0) waits to sync on barrier phase with gate (rank 1); gate (rank 1) waits to receive on c from clock (rank 0); sink (rank 1) waits to receive on out from gate (rank 1)",
    );
}

#[cfg(feature = "mpi")]
#[test]
fn a_deadlock_on_one_rank_through_a_barrier_whose_other_ranks_left_is_reported() {
    deadlock_reported(
        2,
        "tests/networks/mpi_barrier_left.ron",
        "error: deadlock: clock (rank 0) waits to sync on barrier phase with gate (rank 0); gate (rank 0) waits to receive on c from clock (rank 0); sink (rank 0) waits to receive on out from gate (rank 0)",
    );
}

#[cfg(feature = "mpi")]
#[test]
fn a_failure_stops_every_rank_while_unconnected_processes_on_its_rank_would_run_on() {
    let file = "tests/networks/mpi_fail_barrier.ron";
    let Some(run) = mpirun_example(2, "occamy", &["run", file]) else {
        return;
    };
    assert_eq!(run.code, Some(1), "{}\n{}", run.what, run.stderr);
    assert!(
        run.stderr.starts_with(
            "error: process `src` on rank 1 failed: cannot open `/nonexistent/occamy-mpi-test`"
        ),
        "{}\n--- stderr:\n{}",
        run.what,
        run.stderr
    );
}
