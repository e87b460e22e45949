//! Running examples and the launcher under `mpirun` (feature `mpi`), for `tests/mpi.rs`
//! and `tests/mpi_barriers.rs`, and under Slurm's `srun`, for `tests/slurm.rs`: every
//! run under the watchdog.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{finish, Run};

/// An example binary `cargo test` built beside this test's binary.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join("examples").join(name)
}

fn mpirun_found() -> bool {
    let found = Command::new("mpirun")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!(
            "skipped: no mpirun on the PATH (Debian: apt-get install openmpi-bin libopenmpi-dev)"
        );
    }
    found
}

/// Whether a Slurm controller answers with a node up (`.ci/slurm-up` starts one on this
/// machine). Without one the Slurm tests skip, unless `OCCAMY_REQUIRE_SLURM` is set (CI
/// sets it once it started Slurm): then they fail, so that a Slurm CI could not start is
/// never read as a pass.
pub fn slurm_found() -> bool {
    // A node running or just ending jobs (other tests' `srun`s and `scancel`s) is up.
    const UP: [&str; 4] = ["idle", "mixed", "allocated", "completing"];
    let up = Command::new("timeout")
        .args(["10", "sinfo", "-h", "-o", "%T"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| UP.iter().any(|s| l.trim().starts_with(s)))
        });
    if !up {
        assert!(
            std::env::var_os("OCCAMY_REQUIRE_SLURM").is_none(),
            "OCCAMY_REQUIRE_SLURM is set but no Slurm node is up (`sinfo`); .ci/slurm-up starts one"
        );
        eprintln!("skipped: no Slurm node up (`sinfo`); `sudo .ci/slurm-up` starts one here");
    }
    up
}

/// The `srun` command line for `ranks` ranks of `EXAMPLE args...` (`occamy`: the
/// launcher) as job `job`, from the crate's directory: what a user types but
/// `--overcommit` (more ranks than the node's cores) and `--oversubscribe` (tests run
/// side by side). `None` when no Slurm node is up.
pub fn srun_command(ranks: u32, job: &str, name: &str, args: &[&str]) -> Option<Command> {
    if !slurm_found() {
        return None;
    }
    let mut cmd = Command::new("srun");
    cmd.args(["--overcommit", "--oversubscribe", "-J", job, "-n"])
        .arg(ranks.to_string())
        .arg(binary(name))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Some(cmd)
}

/// `srun -n ranks EXAMPLE args...`, watched (see [`srun_command`]).
pub fn srun_example(ranks: u32, name: &str, args: &[&str]) -> Option<Run> {
    let job = format!("occamy-test-{}", std::process::id());
    let child = srun_command(ranks, &job, name, args)?
        .spawn()
        .expect("cannot start srun");
    Some(finish(
        child,
        &format!("srun -n {ranks} {name} {}", args.join(" ")),
    ))
}

/// The binary of example `name`, or the launcher for `occamy`, built.
fn binary(name: &str) -> PathBuf {
    let bin = if name == "occamy" {
        PathBuf::from(env!("CARGO_BIN_EXE_occamy"))
    } else {
        example(name)
    };
    assert!(
        bin.exists(),
        "{} not built (cargo test builds the examples)",
        bin.display()
    );
    bin
}

/// `mpirun -n ranks mpi_selftest scenario`, watched.
pub fn mpirun(ranks: u32, scenario: &str) -> Option<Run> {
    mpirun_example(ranks, "mpi_selftest", &[scenario])
}

/// `mpirun -n ranks EXAMPLE args...` (`occamy`: the launcher), from the crate's
/// directory, watched.
pub fn mpirun_example(ranks: u32, name: &str, args: &[&str]) -> Option<Run> {
    if !mpirun_found() {
        return None;
    }
    let bin = binary(name);
    let child = Command::new("mpirun")
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-n",
            &ranks.to_string(),
        ])
        .arg(&bin)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start mpirun");
    Some(finish(
        child,
        &format!("mpirun -n {ranks} {name} {}", args.join(" ")),
    ))
}

/// What starts the ranks: the tests of one behaviour run under either.
#[derive(Clone, Copy)]
pub enum Launcher {
    Mpirun,
    Srun,
}

/// `ranks` ranks of `EXAMPLE args...` under `l`, watched.
pub fn launch(l: Launcher, ranks: u32, name: &str, args: &[&str]) -> Option<Run> {
    match l {
        Launcher::Mpirun => mpirun_example(ranks, name, args),
        Launcher::Srun => srun_example(ranks, name, args),
    }
}

/// Runs a scenario of `mpi_selftest` that must pass on every rank.
pub fn passes(ranks: u32, scenario: &str) -> Option<Run> {
    passes_in("mpi_selftest", ranks, scenario)
}

/// Runs a scenario of example `name` that must pass on every rank.
pub fn passes_in(name: &str, ranks: u32, scenario: &str) -> Option<Run> {
    passes_under(Launcher::Mpirun, name, ranks, scenario)
}

/// Runs a scenario of example `name` under `l` that must pass on every rank.
pub fn passes_under(l: Launcher, name: &str, ranks: u32, scenario: &str) -> Option<Run> {
    let run = launch(l, ranks, name, &[scenario])?;
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

/// `occamy run FILE` on `ranks` ranks must end in a deadlock whose report's first line
/// is `want`.
pub fn deadlock_reported(ranks: u32, file: &str, want: &str) {
    let args = ["run", file, "--deadlock-check-ms", "50"];
    let Some(run) = mpirun_example(ranks, "occamy", &args) else {
        return;
    };
    assert_eq!(run.code, Some(3), "{}\n{}", run.what, run.stderr);
    assert_eq!(
        run.stderr.lines().next(),
        Some(want),
        "{}\n--- stderr:\n{}",
        run.what,
        run.stderr
    );
}

/// `run` exited 0 (else its output is the message).
pub fn succeeded(run: &Run) {
    assert_eq!(
        run.code,
        Some(0),
        "{}\n--- stdout:\n{}\n--- stderr:\n{}",
        run.what,
        run.stdout,
        run.stderr
    );
}

/// `networks/primes.ron` with its workers on two ranks counts what one machine does.
pub fn primes_count_the_same(l: Launcher) {
    let args = [
        "run",
        "networks/primes.ron",
        "--set",
        "workers=3",
        "--set",
        "n=200000",
    ];
    let Some(run) = launch(l, 2, "primes", &args) else {
        return;
    };
    succeeded(&run);
    // pi(200000) = 17984, printed once, by `sum` on rank 0.
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("primes below"))
        .collect();
    assert_eq!(lines, ["primes below 200000: 17984"], "{}", run.stdout);
}

/// `networks/mandelbrot.ron` on two ranks writes one rank's image byte for byte.
pub fn mandelbrot_draws_the_same(l: Launcher) {
    let dir = std::env::temp_dir().join(format!(
        "occamy-mpi-mandel-{}-{}",
        std::process::id(),
        l as u8
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (one, two) = (dir.join("one.png"), dir.join("two.png"));
    let args = |out: &std::path::Path| {
        [
            "run".to_string(),
            "networks/mandelbrot.ron".into(),
            "--set".into(),
            "workers=4".into(),
            "--set".into(),
            "width=240".into(),
            "--set".into(),
            "height=160".into(),
            "--set".into(),
            format!("out={}", out.display()),
        ]
    };
    let a2 = args(&two);
    let a2: Vec<&str> = a2.iter().map(String::as_str).collect();
    let Some(run) = launch(l, 2, "mandelbrot", &a2) else {
        return;
    };
    succeeded(&run);
    let a1 = args(&one);
    let a1: Vec<&str> = a1.iter().map(String::as_str).collect();
    let run1 = launch(l, 1, "mandelbrot", &a1).expect("found above");
    succeeded(&run1);
    let (b1, b2) = (std::fs::read(&one).unwrap(), std::fs::read(&two).unwrap());
    assert!(
        !b1.is_empty() && b1 == b2,
        "the image on two ranks differs from the one on one"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tests/networks/mpi_barrier.ron` on `ranks` ranks: the phases print in order, each
/// once per clock (three clocks: on ranks 0, 1 and the last; on two ranks two share
/// rank 1).
pub fn barrier_network_in_lock_step(l: Launcher, ranks: u32) {
    let file = "tests/networks/mpi_barrier.ron";
    let Some(run) = launch(l, ranks, "occamy", &["run", file]) else {
        return;
    };
    assert_eq!(run.code, Some(0), "{}\n{}", run.what, run.stderr);
    let got: Vec<u64> = run
        .stdout
        .lines()
        .map(|l| {
            l.parse()
                .unwrap_or_else(|_| panic!("{}: line {l:?}", run.what))
        })
        .collect();
    let want: Vec<u64> = (0..30).flat_map(|k| [k; 3]).collect();
    assert_eq!(got, want, "{}: the phases out of step", run.what);
}
