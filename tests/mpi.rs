//! Cross-rank channels under `mpirun`: each test runs one scenario of
//! `examples/mpi_selftest.rs` on 2 or 3 ranks (one machine, `--oversubscribe`) under the
//! watchdog, and checks that every rank passed. Built only with the `mpi` feature; without
//! it, or without `mpirun` on the PATH, the tests say so and pass.

mod common;

#[cfg(feature = "mpi")]
mod under_mpirun {
    use std::path::PathBuf;
    use std::process::{Command, Stdio};

    use super::common::{finish, Run};

    /// The example binary `cargo test` built beside this test's binary.
    fn selftest() -> PathBuf {
        let exe = std::env::current_exe().expect("current_exe");
        let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
        dir.join("examples").join("mpi_selftest")
    }

    fn mpirun_found() -> bool {
        let found = Command::new("mpirun")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            eprintln!("skipped: no mpirun on the PATH (Debian: apt-get install openmpi-bin libopenmpi-dev)");
        }
        found
    }

    /// `mpirun -n ranks mpi_selftest scenario`, watched.
    pub(super) fn mpirun(ranks: u32, scenario: &str) -> Option<Run> {
        if !mpirun_found() {
            return None;
        }
        let bin = selftest();
        assert!(
            bin.exists(),
            "{} not built (cargo test builds the examples)",
            bin.display()
        );
        let child = Command::new("mpirun")
            .args([
                "--allow-run-as-root",
                "--oversubscribe",
                "-n",
                &ranks.to_string(),
            ])
            .arg(&bin)
            .arg(scenario)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start mpirun");
        Some(finish(
            child,
            &format!("mpirun -n {ranks} mpi_selftest {scenario}"),
        ))
    }

    /// Runs a scenario that must pass on every rank.
    pub(super) fn passes(ranks: u32, scenario: &str) -> Option<Run> {
        let run = mpirun(ranks, scenario)?;
        let oks = run
            .stdout
            .lines()
            .filter(|l| l.starts_with(&format!("ok {scenario} ")))
            .count();
        assert!(
            run.code == Some(0) && oks == ranks as usize,
            "{}: exit {:?}, {oks} of {ranks} ranks passed\n--- stdout:\n{}\n--- stderr:\n{}",
            run.what,
            run.code,
            run.stdout,
            run.stderr
        );
        Some(run)
    }
}

#[cfg(feature = "mpi")]
use under_mpirun::{mpirun, passes};

#[cfg(feature = "mpi")]
#[test]
fn a_cross_rank_send_completes_only_once_the_reader_took_the_value() {
    passes(2, "rendezvous");
}

#[cfg(feature = "mpi")]
#[test]
fn a_buffered_link_keeps_its_capacity() {
    passes(2, "buffered");
}

#[cfg(feature = "mpi")]
#[test]
fn any_to_one_from_two_ranks_and_one_to_any_among_two_readers() {
    passes(3, "shared");
}

#[cfg(feature = "mpi")]
#[test]
fn a_fair_alt_over_a_local_and_a_remote_input_chooses_each_about_half_the_time() {
    passes(2, "alt_fair");
}

#[cfg(feature = "mpi")]
#[test]
fn poison_crosses_ranks_both_ways() {
    passes(2, "poison");
}

#[cfg(feature = "mpi")]
#[test]
fn retirement_crosses_ranks_both_ways() {
    passes(2, "retire");
}

#[cfg(feature = "mpi")]
#[test]
fn a_killed_rank_ends_the_run_with_an_error_naming_it() {
    let Some(run) = mpirun(2, "kill") else { return };
    assert_ne!(
        run.code,
        Some(0),
        "{}: exited 0 after a rank was killed",
        run.what
    );
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("rank 1") && all.contains("signal 9"),
        "{}: no message naming the killed rank\n--- stdout:\n{}\n--- stderr:\n{}",
        run.what,
        run.stdout,
        run.stderr
    );
}

#[cfg(not(feature = "mpi"))]
#[test]
fn cross_rank_tests_need_the_mpi_feature() {
    eprintln!("skipped: built without the `mpi` feature (cargo test --features mpi runs these)");
}

#[cfg(feature = "mpi")]
#[test]
fn a_farm_read_on_every_rank_does_each_job_exactly_once() {
    passes(3, "farm");
    passes(2, "farm_buffered");
}
