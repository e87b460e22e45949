//! The `occamy` binary: `check`, `run`, `kinds`, exit codes and what it prints.
//!
//! Every run of the binary is watched: the child is polled with `try_wait` and killed
//! (failing the test) if it has not ended within `common::BINARY_LIMIT`. Nothing here asserts on how
//! long anything took.

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::{finish, occamy, occamy_command, Run};

impl Run {
    /// Asserts the exit code, showing everything the run printed if it differs.
    fn code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "`occamy {}` exit code\n--- stdout:\n{}\n--- stderr:\n{}",
            self.what,
            self.stdout,
            self.stderr
        );
        self
    }

    fn stdout_has(&self, s: &str) -> &Run {
        assert!(
            self.stdout.contains(s),
            "`occamy {}`: stdout should contain {s:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.what,
            self.stdout,
            self.stderr
        );
        self
    }

    fn stderr_has(&self, s: &str) -> &Run {
        assert!(
            self.stderr.contains(s),
            "`occamy {}`: stderr should contain {s:?}\n--- stderr:\n{}",
            self.what,
            self.stderr
        );
        self
    }

    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

// ---------------------------------------------------------------------------------------
// check

#[test]
fn check_prints_a_one_line_summary() {
    let r = occamy(&["check", "networks/ring.ron"]);
    r.code(0);
    assert_eq!(
        r.stdout,
        "ok: network `ring`: 257 processes, 257 channels, 4 kinds (delta, prefix, stopwatch, succ)\n"
    );
    assert_eq!(r.stderr, "");
    let r = occamy(&["check", "networks/ring.ron", "--set", "n=10"]);
    r.code(0)
        .stdout_has("ok: network `ring`: 11 processes, 11 channels");
}

#[test]
fn check_the_example_networks() {
    for f in [
        "commstime.ron",
        "farm_main.ron",
        "merge.ron",
        "pipeline.ron",
        "ring.ron",
    ] {
        occamy(&["check", &format!("networks/{f}")])
            .code(0)
            .stdout_has("ok: network `");
    }
    // A sub-network checked alone: its ports are left open, for the program to feed and
    // read.
    occamy(&["check", "networks/farm.ron"])
        .code(0)
        .stdout_has("ok: network `farm`");
}

#[test]
fn check_of_a_bad_file_exits_2_naming_file_line_and_column() {
    let r = occamy(&["check", "tests/networks/syntax_error.ron"]);
    r.code(2)
        .stderr_has("tests/networks/syntax_error.ron:7:31: error[E0002]: expected comma\n")
        .stderr_has("  help: see docs/network-format.md for the format\n1 error");
    assert_eq!(r.stdout, "");

    let r = occamy(&["check", "tests/networks/several_errors.ron"]);
    r.code(2)
        .stderr_has("several_errors.ron:13:9: error[E0101]: process `copy`: unknown kind `idd` (did you mean `id`?)")
        .stderr_has("\n5 errors");

    let r = occamy(&["run", "tests/networks/unknown_kind.ron"]);
    r.code(2).stderr_has(
        "unknown_kind.ron:7:9: error[E0101]: process `pre`: unknown kind `prefx` (did you mean `prefix`?)",
    );
}

#[test]
fn check_of_a_missing_file_exits_2() {
    occamy(&["check", "tests/networks/no_such_file.ron"])
        .code(2)
        .stderr_has("error[E0001]: cannot read network file `tests/networks/no_such_file.ron`");
}

// ---------------------------------------------------------------------------------------
// run: the example networks

#[test]
fn run_commstime() {
    let r = occamy(&["run", "networks/commstime.ron", "--set", "n=2000"]);
    r.code(0);
    let lines = r.lines();
    assert_eq!(lines.len(), 1, "{}", r.stdout);
    assert!(
        lines[0].starts_with("commstime: 2000 values in ")
            && lines[0].ends_with(" ns/communication"),
        "{}",
        lines[0]
    );
}

#[test]
fn a_failure_stops_the_run_while_processes_it_does_not_reach_would_run_on() {
    occamy(&["run", "tests/networks/fail_unconnected.ron"])
        .code(1)
        .stderr_has("error: process `src` failed: cannot open `/nonexistent/occamy-test`");
}

#[test]
fn run_ring() {
    let r = occamy(&[
        "run",
        "networks/ring.ron",
        "--set",
        "n=20",
        "--set",
        "laps=5",
    ]);
    r.code(0);
    let lines = r.lines();
    assert_eq!(lines.len(), 1, "{}", r.stdout);
    assert!(lines[0].starts_with("ring: 5 values in "), "{}", lines[0]);
    assert!(lines[0].ends_with(" ns/communication"), "{}", lines[0]);
}

#[test]
fn run_ring_of_a_thousand_processes() {
    let r = occamy(&[
        "run",
        "networks/ring.ron",
        "--set",
        "n=1000",
        "--set",
        "laps=3",
    ]);
    r.code(0).stdout_has("ring: 3 values in ");
}

#[test]
fn run_pipeline() {
    let r = occamy(&["run", "networks/pipeline.ron"]);
    r.code(0);
    let lines = r.lines();
    assert_eq!(lines.len(), 10, "{}", r.stdout);
    assert_eq!(lines[0], "sum: 1");
    assert_eq!(*lines.last().unwrap(), "sum: 55");
}

#[test]
fn run_pipeline_and_ring_under_the_green_scheduler() {
    for workers in ["1", "2"] {
        let r = occamy(&[
            "run",
            "networks/pipeline.ron",
            "--scheduler",
            "green",
            "--workers",
            workers,
        ]);
        r.code(0);
        assert_eq!(r.lines().last().copied(), Some("sum: 55"), "{}", r.stdout);
    }
    let r = occamy(&[
        "run",
        "networks/ring.ron",
        "--scheduler",
        "green",
        "--set",
        "laps=3",
    ]);
    r.code(0).stdout_has("ring: 3 values in ");
}

#[test]
fn a_ring_too_big_for_threads_is_refused_before_it_starts_and_runs_green() {
    let big = ["networks/ring.ron", "--set", "n=20000", "--set", "laps=2"];
    let r = occamy(&[&["run"], &big[..], &["--scheduler", "threads"]].concat());
    r.code(2)
        .stderr_has("error: network `ring` has 20001 processes; under the thread scheduler each needs an OS thread, and at most 10000 may")
        .stderr_has("help: run it with `--scheduler green`, or write `scheduler: Green()` in the file");
    assert_eq!(r.stdout, "", "nothing ran");
    let r = occamy(
        &[
            &["run"],
            &big[..],
            &["--scheduler", "green", "--workers", "2"],
        ]
        .concat(),
    );
    r.code(0).stdout_has("ring: 2 values in ");
}

#[test]
fn the_command_line_scheduler_beats_the_file_which_beats_the_default() {
    let small = ["--set", "n=20000", "--set", "laps=2"];
    // The file says green: it runs with no --scheduler, even past the thread cap.
    let r = occamy(&[&["run", "networks/ring_green.ron"], &small[..]].concat());
    r.code(0).stdout_has("ring_green: 2 values in ");
    let r = occamy(
        &[
            &["run", "networks/ring_green.ron", "--workers", "1"],
            &small[..],
        ]
        .concat(),
    );
    r.code(0).stdout_has("ring_green: 2 values in ");
    // --scheduler threads overrules it, and so the network is too big.
    let r = occamy(
        &[
            &["run", "networks/ring_green.ron", "--scheduler", "threads"],
            &small[..],
        ]
        .concat(),
    );
    r.code(2)
        .stderr_has("error: network `ring_green` has 20001 processes; under the thread scheduler");
    // A file saying threads is overruled by --scheduler green.
    let r = occamy(&[
        "run",
        "tests/networks/scheduler_threads.ron",
        "--scheduler",
        "green",
    ]);
    r.code(0).stdout_has("sum: 6");
    let r = occamy(&["run", "tests/networks/scheduler_threads.ron"]);
    r.code(0).stdout_has("sum: 6");
}

#[test]
fn a_million_process_ring_checks() {
    let r = occamy(&["check", "networks/ring_green.ron", "--set", "n=1000000"]);
    r.code(0).stdout_has(
        "ok: network `ring_green`: 1000001 processes, 1000001 channels, 4 kinds (delta, prefix, stopwatch, succ)",
    );
}

#[test]
fn check_accepts_schedulers_and_own_threads() {
    occamy(&["check", "tests/networks/scheduler_green.ron"])
        .code(0)
        .stdout_has("ok: network `scheduler_green`: 6 processes");
    let r = occamy(&["run", "tests/networks/scheduler_unknown.ron"]);
    r.code(2).stderr_has(
        "scheduler_unknown.ron:4:16: error[E0108]: unknown scheduler `Gren` (did you mean `Green`?)",
    );
}

#[test]
fn an_unknown_scheduler_exits_2() {
    occamy(&["run", "networks/pipeline.ron", "--scheduler", "fibres"]).code(2);
}

#[test]
fn run_merge() {
    let r = occamy(&["run", "networks/merge.ron"]);
    r.code(0);
    let mut got: Vec<u64> = r.lines().iter().map(|l| l.parse().unwrap()).collect();
    assert_eq!(got.len(), 15, "{}", r.stdout);
    got.sort();
    let want: Vec<u64> = [0, 100, 200]
        .iter()
        .flat_map(|s| (0..5).map(move |k| s + k))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn run_farm_main() {
    let r = occamy(&["run", "networks/farm_main.ron"]);
    r.code(0);
    assert_eq!(r.stdout, "results: 1000 values\n");
}

// ---------------------------------------------------------------------------------------
// run: options

#[test]
fn set_overrides_params() {
    let r = occamy(&["run", "networks/pipeline.ron", "--set", "count=3"]);
    r.code(0);
    assert_eq!(r.lines(), ["sum: 1", "sum: 3", "sum: 6"]);
    let r = occamy(&[
        "run",
        "networks/merge.ron",
        "--set",
        "k=2",
        "--set",
        "count=4",
    ]);
    r.code(0);
    assert_eq!(r.lines().len(), 8, "{}", r.stdout);
    // A quoted string, and a value that is not RON (taken as a bare string).
    let r = occamy(&["run", "tests/networks/params.ron", "--set", "label=\"v=\""]);
    r.code(0);
    assert_eq!(r.lines(), ["v=0", "v=1", "v=2"]);
    let r = occamy(&["run", "tests/networks/params.ron", "--set", "label=a b "]);
    r.code(0);
    assert_eq!(r.lines(), ["a b 0", "a b 1", "a b 2"]);
}

#[test]
fn set_of_an_unknown_param_exits_2() {
    let r = occamy(&["run", "networks/pipeline.ron", "--set", "cuont=3"]);
    r.code(2)
        .stderr_has("networks/pipeline.ron: error[E0105]: network `pipeline` has no param `cuont` (did you mean `count`?)");
    assert_eq!(r.stdout, "");
}

#[test]
fn stats_print_channel_counts_to_stderr() {
    let r = occamy(&["run", "networks/pipeline.ron", "--stats"]);
    r.code(0)
        .stderr_has("channels:\n")
        .stderr_has("processes:\n")
        .stderr_has("run took ");
    for c in ["nums", "plus1", "sums"] {
        let line = r
            .stderr
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{c} ")))
            .unwrap_or_else(|| panic!("no stats line for {c}:\n{}", r.stderr));
        assert!(line.ends_with(" 10 messages"), "{line}");
    }
    assert!(!r.stdout.contains("messages"), "stats go to stderr");
}

#[test]
fn stats_name_sub_network_processes() {
    let r = occamy(&["run", "networks/farm_main.ron", "--stats"]);
    r.code(0);
    // Replicas in a row that ended alike are one line.
    for p in [
        "farm.deal",
        "farm.worker[0..3]",
        "farm.gather",
        "farm.to[0..3]",
        "farm.from[0..3]",
    ] {
        r.stderr_has(&format!("  {p} "));
    }
}

#[test]
fn stats_collapse_a_ring_into_a_few_lines() {
    let r = occamy(&[
        "run",
        "networks/ring.ron",
        "--set",
        "n=50",
        "--set",
        "laps=2",
        "--stats",
    ]);
    r.code(0);
    let node = r
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("node[0..47] "))
        .unwrap_or_else(|| panic!("no line for the nodes:\n{}", r.stderr));
    assert!(node.contains(" succ ") && node.ends_with(" ×48"), "{node}");
    let ring = r
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("ring[0..49] "))
        .unwrap_or_else(|| panic!("no line for the ring's channels:\n{}", r.stderr));
    assert!(ring.ends_with("each, ×50)"), "{ring}");
    assert!(r.stderr.lines().count() < 20, "{}", r.stderr);
}

#[test]
fn timeout_poisons_a_network_that_never_ends() {
    let r = occamy(&["run", "tests/networks/forever.ron", "--timeout", "0.5"]);
    r.code(1)
        .stderr_has("timeout: the network ran for more than 0.5s; poisoning it")
        .stderr_has("2 of 2 processes ended:")
        .stderr_has("gen")
        .stderr_has("poisoned");
}

#[test]
fn timeout_must_be_positive() {
    occamy(&["run", "tests/networks/forever.ron", "--timeout", "0"])
        .code(2)
        .stderr_has("error: --timeout must be a positive number of seconds, not 0");
    occamy(&["run", "tests/networks/forever.ron", "--timeout", "soon"]).code(2);
}

#[test]
fn a_failing_process_exits_1_naming_it() {
    let r = occamy(&["run", "tests/networks/read_missing.ron"]);
    r.code(1)
        .stderr_has("error: process `read` failed: cannot open `/nonexistent/occamy/input.txt`");
}

/// SIGINT (Ctrl-C) while forever.ron runs: the launcher poisons the network, says what
/// ran and exits 130.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_stops_the_network_and_exits_130() {
    let child = occamy_command(&["run", "tests/networks/forever.ron"])
        .spawn()
        .expect("cannot start the occamy binary");
    let pid = child.id();
    // Wait (under the watchdog) until the launcher catches SIGINT (its Ctrl-C handler is
    // set once the network runs): bit 1 of SigCgt in /proc/PID/status.
    let start = Instant::now();
    let status = format!("/proc/{pid}/status");
    loop {
        let caught = std::fs::read_to_string(&status)
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("SigCgt:"))
                    .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
            })
            .is_some_and(|mask| mask & (1 << (2 - 1)) != 0);
        if caught {
            break;
        }
        if start.elapsed() > common::BINARY_LIMIT {
            let r = finish(child, "run forever.ron (waiting for the Ctrl-C handler)");
            panic!("the launcher never set a SIGINT handler: {}", r.stderr);
        }
        thread::sleep(Duration::from_millis(10));
    }
    let kill = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("cannot run kill");
    assert!(kill.success());
    let r = finish(child, "run tests/networks/forever.ron, then SIGINT");
    r.code(130)
        .stderr_has("interrupted: poisoning the network")
        .stderr_has("2 of 2 processes ended:")
        .stderr_has("gen")
        .stderr_has("sink");
}

// ---------------------------------------------------------------------------------------
// kinds

#[test]
fn kinds_lists_every_kind_and_the_types() {
    let r = occamy(&["kinds"]);
    r.code(0)
        .stdout_has("\ntypes: bool, i64, u64, f64, String, Vec<u8>\n");
    for k in [
        "numbers",
        "generate",
        "succ",
        "prefix",
        "delta",
        "merge",
        "print",
        "discard",
        "count",
        "stopwatch",
        "lines_in",
        "lines_out",
    ] {
        assert!(
            r.stdout.lines().any(|l| l.starts_with(&format!("{k} "))),
            "`occamy kinds` lists {k}:\n{}",
            r.stdout
        );
    }
}

#[test]
fn kinds_name_shows_ports_and_params() {
    let r = occamy(&["kinds", "delta"]);
    r.code(0)
        .stdout_has("delta: ")
        .stdout_has("element type T: taken from the channels bound to it");
    let ports: Vec<&str> = r
        .lines()
        .into_iter()
        .filter(|l| l.trim_start().starts_with("port "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|l| Box::leak(l.into_boxed_str()) as &str)
        .collect();
    assert_eq!(ports, ["port in in T", "port out out T[]"]);

    let r = occamy(&["kinds", "take"]);
    r.code(0).stdout_has("param count").stdout_has("(required)");
    let r = occamy(&["kinds", "numbers"]);
    r.code(0)
        .stdout_has("element type T: i64, u64 or f64")
        .stdout_has("param start")
        .stdout_has("default 0");
}

#[test]
fn kinds_of_an_unknown_name_exits_2_with_a_suggestion() {
    let r = occamy(&["kinds", "delt"]);
    r.code(2)
        .stderr_has("error: unknown kind `delt` (did you mean `delta`?)")
        .stderr_has("help: `occamy kinds` lists the kinds");
    assert_eq!(r.stdout, "");
}

// ---------------------------------------------------------------------------------------
// help, version, usage

#[test]
fn help_exits_0() {
    occamy(&["--help"])
        .code(0)
        .stdout_has("Usage: occamy")
        .stdout_has("run")
        .stdout_has("check")
        .stdout_has("kinds");
    occamy(&["run", "--help"])
        .code(0)
        .stdout_has("--set <NAME=VALUE>")
        .stdout_has("--stats")
        .stdout_has("--timeout <SECS>");
}

#[test]
fn version_prints_the_version() {
    let r = occamy(&["--version"]);
    r.code(0);
    assert_eq!(r.stdout, format!("occamy {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["run"],
        &["check", "networks/ring.ron", "--bogus"],
        &["run", "networks/pipeline.ron", "--set", "count"],
        &["run", "networks/pipeline.ron", "--set", "=3"],
    ] {
        let r = occamy(args);
        r.code(2);
        assert!(!r.stderr.is_empty(), "`occamy {}` says why", args.join(" "));
    }
}

// ---------------------------------------------------------------------------------------
// A launcher of one's own: examples/custom_kind.rs

#[test]
fn the_plain_binary_rejects_the_custom_kind_network() {
    occamy(&["check", "examples/custom_kind.ron"])
        .code(2)
        .stderr_has("error[E0107]: channel `points`: unknown type `Point`")
        .stderr_has("error[E0101]: process `scale`: unknown kind `scale`");
}

/// `cargo test` builds the examples (into target/debug/examples); a run filtered to this
/// test file (`cargo test --test launcher`) may not, and then this test says so and
/// passes without running it.
#[test]
fn the_custom_kind_example_runs_its_network() {
    let exe = std::env::current_exe().expect("the test's path");
    let ex = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/debug")
        .join("examples")
        .join(format!("custom_kind{}", std::env::consts::EXE_SUFFIX));
    if !ex.exists() {
        eprintln!(
            "not run: {} is not built (`cargo build --examples`)",
            ex.display()
        );
        return;
    }
    let run = |args: &[&str]| {
        let child = Command::new(&ex)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start the custom_kind example");
        finish(child, &format!("(custom_kind) {}", args.join(" ")))
    };
    let r = run(&["run", "examples/custom_kind.ron"]);
    r.code(0);
    let mut lines = r.lines();
    lines.sort();
    assert_eq!(
        lines,
        [
            "points: 3 values",
            "scaled length: 50",
            "scaled length: 50",
            "scaled length: 50"
        ]
    );
    let r = run(&[
        "run",
        "examples/custom_kind.ron",
        "--set",
        "factor=0.5",
        "--set",
        "count=1",
    ]);
    r.code(0).stdout_has("scaled length: 2.5\n");
    run(&["kinds", "scale"])
        .code(0)
        .stdout_has("param factor")
        .stdout_has("default 2.0");
    run(&["kinds"])
        .code(0)
        .stdout_has("types: bool, i64, u64, f64, String, Vec<u8>, Point");
}

// ---------------------------------------------------------------------------------------
// Former bugs: what the launcher once got wrong, and does right now.

/// As the launcher's own help says ("VALUE in RON syntax; a bare word is a string"),
/// `--set label=hello` gives the string `hello` (it once gave `()`: RON reads `hello` as
/// a unit struct name).
#[test]
fn set_bare_word_is_a_string() {
    let r = occamy(&["run", "tests/networks/params.ron", "--set", "label=hello"]);
    r.code(0);
    assert_eq!(r.lines(), ["hello0", "hello1", "hello2"]);
}

/// Files that once made the loader panic (exit 101, a Rust panic message) give a
/// diagnostic and exit 2.
#[test]
fn former_loader_panics_are_diagnostics_not_crashes() {
    for f in [
        "tests/networks/expr_overflow.ron",
        "tests/networks/sub_port_empty_list.ron",
    ] {
        let r = occamy(&["check", f]);
        r.code(2);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
}

/// A process failure is reported once on stderr, by the launcher ("error: process `read`
/// failed: ..."), with no terminal colour escapes (stderr is not a terminal here). An
/// earlier launcher also logged it as a coloured tracing ERROR line.
#[test]
fn failure_is_reported_once_without_terminal_escapes() {
    let r = occamy(&["run", "tests/networks/read_missing.ron"]);
    r.code(1);
    assert!(
        !r.stderr.contains('\u{1b}'),
        "escapes on stderr:\n{:?}",
        r.stderr
    );
    assert_eq!(
        r.stderr
            .matches("cannot open `/nonexistent/occamy/input.txt`")
            .count(),
        1,
        "{}",
        r.stderr
    );
}
