//! Cross-rank channels under `mpirun`: each test runs one scenario of
//! `examples/mpi_selftest.rs`, or the launcher on a network file, on 2 or 3 ranks (one
//! machine, `--oversubscribe`) under the watchdog, and checks that every rank passed
//! (barriers: `tests/mpi_barriers.rs`). Built only with the `mpi` feature; without it, or
//! without `mpirun` on the PATH, the tests say so and pass.

mod common;

#[cfg(feature = "mpi")]
use common::mpirun::{
    deadlock_reported, mandelbrot_draws_the_same, mpirun, mpirun_example, passes,
    primes_count_the_same, Launcher,
};

#[cfg(feature = "mpi")]
#[test]
fn a_cross_rank_send_completes_only_once_the_reader_took_the_value() {
    passes(2, "rendezvous");
}

#[cfg(feature = "mpi")]
#[test]
fn a_soft_cross_rank_send_completes_only_once_the_reader_took_the_value() {
    passes(2, "rendezvous_soft");
}

#[cfg(feature = "mpi")]
#[test]
fn an_output_guard_on_a_link_nobody_reads_times_out_and_its_value_is_not_taken() {
    passes(2, "guard_timeout");
}

#[cfg(feature = "mpi")]
#[test]
fn output_guards_to_two_ranks_of_which_one_reads_deliver_there_only() {
    passes(3, "guard_two");
}

#[cfg(feature = "mpi")]
#[test]
fn output_guards_racing_a_reader_that_times_out_deliver_exactly_what_was_chosen() {
    passes(2, "guard_stress");
}

#[cfg(feature = "mpi")]
#[test]
fn try_send_on_a_link_succeeds_only_while_a_remote_reader_waits() {
    passes(2, "try_send");
}

#[cfg(feature = "mpi")]
#[test]
fn a_buffered_link_keeps_its_capacity() {
    passes(2, "buffered");
}

#[cfg(feature = "mpi")]
#[test]
fn values_longer_than_one_mpi_message_cross_in_pieces_both_ways() {
    passes(2, "large");
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
fn messages_are_not_lost_while_the_engine_changes_hands() {
    passes(2, "handoff");
}

#[cfg(feature = "mpi")]
#[test]
fn thread_processes_drive_the_engine_while_blocked_and_lose_nothing_as_it_changes_hands() {
    passes(2, "handoff_threads");
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

#[cfg(feature = "mpi")]
#[test]
fn primes_counts_the_same_with_its_workers_on_two_ranks() {
    primes_count_the_same(Launcher::Mpirun);
}

#[cfg(feature = "mpi")]
#[test]
fn mandelbrot_on_two_ranks_writes_the_same_image_byte_for_byte() {
    mandelbrot_draws_the_same(Launcher::Mpirun);
}

#[cfg(feature = "mpi")]
#[test]
fn a_process_failing_on_one_rank_stops_every_rank_and_is_named_with_its_rank() {
    let Some(run) = mpirun_example(2, "occamy", &["run", "tests/networks/mpi_fail.ron"]) else {
        return;
    };
    assert_ne!(run.code, Some(0), "{}: exited 0", run.what);
    assert!(
        run.stderr
            .contains("error: process `src` on rank 1 failed: cannot open"),
        "{}\n--- stderr:\n{}",
        run.what,
        run.stderr
    );
}

#[cfg(feature = "mpi")]
#[test]
fn ranks_running_different_networks_are_refused_naming_the_rank() {
    // Rank 1 gets another param than rank 0: mpirun's MPMD form runs two command lines.
    if mpirun_example(1, "occamy", &["--version"]).is_none() {
        return;
    }
    let occamy = env!("CARGO_BIN_EXE_occamy");
    let child = std::process::Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe"])
        .args([
            "-n",
            "1",
            occamy,
            "run",
            "networks/pipeline.ron",
            "--mpi",
            "--set",
            "count=5",
            ":",
        ])
        .args([
            "-n",
            "1",
            occamy,
            "run",
            "networks/pipeline.ron",
            "--mpi",
            "--set",
            "count=6",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mpirun");
    let run = common::finish(child, "mpirun (two different networks)");
    assert_ne!(run.code, Some(0), "{}: exited 0\n{}", run.what, run.stderr);
    assert!(
        run.stderr
            .contains("rank 1 loaded a different network from rank 0's"),
        "{}\n--- stderr:\n{}",
        run.what,
        run.stderr
    );
}

#[cfg(feature = "mpi")]
#[test]
fn a_deadlock_within_one_rank_is_reported_naming_the_rank_and_its_processes() {
    let Some(run) = mpirun_example(2, "occamy", &["run", "tests/networks/mpi_deadlock.ron"]) else {
        return;
    };
    assert_eq!(run.code, Some(3), "{}\n{}", run.what, run.stderr);
    assert!(
        run.stderr.contains("error: on rank 1: deadlock: x waits to receive on a from y; y waits to receive on b from x"),
        "{}\n--- stderr:\n{}",
        run.what,
        run.stderr
    );
}

#[cfg(feature = "mpi")]
#[test]
fn a_deadlock_through_two_ranks_is_reported_with_both_ranks_processes() {
    deadlock_reported(
        2,
        "tests/networks/mpi_cross_deadlock.ron",
        "error: deadlock: x (rank 0) waits to receive on a from y (rank 1); y (rank 1) waits to receive on b from x (rank 0)",
    );
}

#[cfg(feature = "mpi")]
#[test]
fn a_deadlock_through_two_ranks_is_reported_while_a_third_rank_has_ended() {
    deadlock_reported(
        3,
        "tests/networks/mpi_cross_deadlock.ron",
        "error: deadlock: x (rank 0) waits to receive on a from y (rank 1); y (rank 1) waits to receive on b from x (rank 0)",
    );
}

#[cfg(feature = "mpi")]
#[test]
fn a_deadlock_off_rank_0_is_reported_after_rank_0_has_ended() {
    deadlock_reported(
        3,
        "tests/networks/mpi_deadlock_off_rank0.ron",
        "error: deadlock: y (rank 1) waits to receive on b from x (rank 2); x (rank 2) waits to receive on a from y (rank 1)",
    );
}

#[cfg(feature = "mpi")]
#[test]
fn a_network_only_slow_across_ranks_is_not_reported() {
    // Looks every 20 ms while each value waits 150 ms on rank 1.
    let file = "tests/networks/mpi_slow.ron";
    let Some(run) = mpirun_example(2, "occamy", &["run", file, "--deadlock-check-ms", "20"]) else {
        return;
    };
    assert_eq!(run.code, Some(0), "{}\n{}", run.what, run.stderr);
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), ["0", "1", "2", "3"]);
    assert!(!run.stderr.contains("deadlock"), "{}", run.stderr);
}

#[cfg(feature = "mpi")]
#[test]
fn open_ports_are_fed_and_read_on_rank_0() {
    // `inc` runs on rank 1: the fed values cross to it, and its results come back.
    let file = "tests/networks/mpi_open_ports.ron";
    let Some(run) = mpirun_example(2, "occamy", &["run", file, "--feed", "in=[1, 2, 3]"]) else {
        return;
    };
    assert_eq!(run.code, Some(0), "{}\n{}", run.what, run.stderr);
    assert_eq!(run.stdout, "out: 2\nout: 3\nout: 4\n", "{}", run.stderr);
    // Not fed: the input is retired at the start, and the network ends with nothing out.
    let Some(run) = mpirun_example(2, "occamy", &["run", file]) else {
        return;
    };
    assert_eq!(run.code, Some(0), "{}\n{}", run.what, run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr.matches("input port `in` is not fed").count(),
        1,
        "{}",
        run.stderr
    );
    // A bad feed is refused by every rank, said once.
    let Some(run) = mpirun_example(2, "occamy", &["run", file, "--feed", "in=[\"x\"]"]) else {
        return;
    };
    assert_eq!(run.code, Some(2), "{}\n{}", run.what, run.stderr);
    assert_eq!(
        run.stderr.matches("error[E0704]").count(),
        1,
        "{}",
        run.stderr
    );
}

#[cfg(feature = "mpi")]
#[test]
fn stats_cover_every_rank_in_one_report() {
    let file = "tests/networks/mpi_slow.ron";
    let Some(run) = mpirun_example(2, "occamy", &["run", file, "--stats"]) else {
        return;
    };
    assert_eq!(run.code, Some(0), "{}\n{}", run.what, run.stderr);
    // One report, by rank 0, with every channel and every process of both ranks.
    assert_eq!(run.stderr.matches("channels:").count(), 1, "{}", run.stderr);
    for line in ["out ", "slowed ", "nums ", "wait ", "show "] {
        assert!(
            run.stderr.lines().any(|l| l.trim_start().starts_with(line)),
            "no `{line}` line in\n{}",
            run.stderr
        );
    }
    let carried = |name: &str| {
        run.stderr
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.split_whitespace().nth(2))
            .and_then(|n| n.parse::<u64>().ok())
    };
    assert_eq!(carried("out "), Some(4), "{}", run.stderr);
    assert_eq!(carried("slowed "), Some(4), "{}", run.stderr);
}

/// `--dot` under MPI: rank 0 draws the whole network after the run, every rank's
/// processes coloured by rank, with the values each channel carried and how each
/// process ended, whichever rank it ran on.
#[cfg(feature = "mpi")]
#[test]
fn dot_after_a_run_draws_every_rank() {
    let dir = std::env::temp_dir().join(format!("occamy-mpi-dot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("slow.dot");
    let out_s = out.to_str().unwrap();
    let file = "tests/networks/mpi_slow.ron";
    let Some(run) = mpirun_example(2, "occamy", &["run", file, "--dot", out_s]) else {
        return;
    };
    assert_eq!(run.code, Some(0), "{}\n{}", run.what, run.stderr);
    let dot = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{out_s}: {e}"));
    common::golden("mpi_slow_run.dot", &dot);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A deadlock through two ranks, drawn: both processes and both waits, under their plan
/// names.
#[cfg(feature = "mpi")]
#[test]
fn dot_after_a_deadlock_across_ranks_draws_the_cycle() {
    let dir = std::env::temp_dir().join(format!("occamy-mpi-dl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("dl.dot");
    let out_s = out.to_str().unwrap();
    let file = "tests/networks/mpi_cross_deadlock.ron";
    let args = ["run", file, "--deadlock-check-ms", "50", "--dot", out_s];
    let Some(run) = mpirun_example(2, "occamy", &args) else {
        return;
    };
    assert_eq!(run.code, Some(3), "{}\n{}", run.what, run.stderr);
    let dot = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{out_s}: {e}"));
    // (The nodes say the ranks.)
    assert!(
        dot.contains("deadlock: x waits to receive on a from y; y waits to receive on b from x"),
        "{dot}"
    );
    assert_eq!(dot.matches("\\ndeadlocked\\n").count(), 2, "{dot}");
    assert_eq!(dot.matches("penwidth=3.5").count(), 2, "{dot}");
    // Each keeps its rank's colour, as a band under the fill of how it ended.
    assert!(dot.contains(":#8dd3c7\", gradientangle=270"), "{dot}");
    assert!(dot.contains(":#ffffb3\", gradientangle=270"), "{dot}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs tests/networks/mpi_forever.ron on 2 ranks, sends SIGINT to the pid `target`
/// picks (given mpirun's) once a tick has crossed ranks, and gives back mpirun's exit
/// status and stderr, both under the watchdog.
#[cfg(feature = "mpi")]
fn interrupted(target: fn(u32) -> u32) -> Option<(Option<i32>, String)> {
    use std::io::{BufRead, BufReader};
    mpirun_example(1, "occamy", &["--version"])?;
    let mut child = std::process::Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-n", "2"])
        .args([
            env!("CARGO_BIN_EXE_occamy"),
            "run",
            "tests/networks/mpi_forever.ron",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mpirun");
    // Once a tick has crossed from rank 0 to rank 1, both ranks are running.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let first = common::watchdog(common::LIMIT, "the first tick", move || {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        // Keep draining, so that rank 1's printing never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        line
    });
    assert_eq!(first.trim(), "0");
    let pid = target(child.id()).to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let mut err = child.stderr.take().unwrap();
    Some(common::watchdog(
        common::LIMIT,
        "mpirun after Ctrl-C",
        move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut err, &mut s).unwrap();
            (child.wait().unwrap().code(), s)
        },
    ))
}

#[cfg(feature = "mpi")]
#[test]
fn ctrl_c_on_mpirun_poisons_every_rank() {
    let Some((code, stderr)) = interrupted(|mpirun| mpirun) else {
        return;
    };
    // OpenMPI's mpirun exits 1 for a job it aborted on a signal, whatever the ranks say.
    assert_ne!(code, Some(0), "exited 0 after Ctrl-C");
    assert!(
        stderr.contains("interrupted: poisoning the network"),
        "after Ctrl-C:\n--- stderr:\n{stderr}"
    );
}

#[cfg(feature = "mpi")]
#[test]
fn an_interrupted_rank_poisons_every_rank_and_the_job_exits_130() {
    // One of mpirun's `occamy` children: a rank (either will do).
    let Some((code, stderr)) = interrupted(|mpirun| {
        let ranks: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // pid (comm) state ppid ...
                let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
                stat.contains("(occamy)")
                    && after.split(' ').nth(1) == Some(mpirun.to_string().as_str())
            })
            .collect();
        *ranks.iter().max().expect("mpirun's ranks are its children")
    }) else {
        return;
    };
    assert_eq!(code, Some(130), "--- stderr:\n{stderr}");
    assert!(
        stderr.contains("interrupted: poisoning the network"),
        "--- stderr:\n{stderr}"
    );
    // Both ranks' processes ended by poison, in rank 0's one report.
    for p in ["clock", "show"] {
        assert!(
            stderr
                .lines()
                .any(|l| l.trim_start().starts_with(p) && l.ends_with("poisoned")),
            "no `{p} ... poisoned` line in\n{stderr}"
        );
    }
}

/// The checker refuses, at check time, a channel whose ends are on two ranks and whose
/// type has no codec, naming the channel and the type.
#[cfg(feature = "network")]
#[test]
fn a_cross_rank_channel_of_a_type_without_a_codec_is_refused_at_check_time() {
    #[derive(Clone)]
    struct Frame;
    let mut reg = occamy::network::Registry::with_builtins();
    reg.register_opaque_type::<Frame>("Frame", |_| "frame".into());
    let dir = std::env::temp_dir().join(format!("occamy-mpi-codec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("frames.ron");
    let net = r#"Network(
    name: "frames",
    channels: { "frames": "Frame", "back": "Frame" },
    processes: {
        "a": (kind: "id", rank: 0, ports: { "in": "back", "out": "frames" }),
        "b": (kind: "id", rank: 1, ports: { "in": "frames", "out": "back" }),
    },
)"#;
    std::fs::write(&file, net).unwrap();
    let opts = |ranks| occamy::network::LoadOptions {
        sets: vec![],
        ranks,
    };
    // The same network of a type with a codec checks.
    let ok = dir.join("counts.ron");
    std::fs::write(&ok, net.replace("Frame", "u64")).unwrap();
    assert!(occamy::network::load_with(&ok, &opts(2), &reg).is_ok());
    let err = occamy::network::load_with(&file, &opts(2), &reg)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("channel `frames`") && err.contains("its type `Frame` has no codec"),
        "{err}"
    );
    assert!(err.contains("Registry::add_codec"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
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
