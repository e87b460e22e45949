//! `occamy run FILE --record T` and `occamy replay T`: the replay's summary is, byte for
//! byte, the `--stats` part of what the recorded run printed, for networks that end
//! normally, fail and deadlock, under both schedulers; bad traces exit 2 with a clear
//! message.

mod common;

use std::path::PathBuf;

use common::{occamy, Run};

/// A fresh path for a trace of this test binary.
fn trace_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("replay");
    std::fs::create_dir_all(&dir).expect("a directory for traces");
    dir.join(format!("{name}.trace"))
}

/// The `--stats` tables of a run's stderr: from `channels:` up to `run took`.
fn stats_part(r: &Run) -> String {
    let from = r
        .stderr
        .find("channels:\n")
        .unwrap_or_else(|| panic!("{}: no `channels:` in stderr:\n{}", r.what, r.stderr));
    let rest = &r.stderr[from..];
    let to = rest.find("run took").unwrap_or(rest.len());
    rest[..to].to_string()
}

/// Records `file` (with `extra` arguments) under `scheduler`, checks its exit status,
/// then checks that `occamy replay --summary` prints what `--stats` did.
fn summary_equals_stats(name: &str, file: &str, extra: &[&str], code: i32) {
    for scheduler in ["threads", "green"] {
        let t = trace_path(&format!("{name}-{scheduler}"));
        let t = t.to_str().expect("a UTF-8 path");
        let mut args = vec![
            "run",
            file,
            "--stats",
            "--scheduler",
            scheduler,
            "--record",
            t,
        ];
        args.extend_from_slice(extra);
        let run = occamy(&args);
        assert_eq!(run.code, Some(code), "{}:\n{}", run.what, run.stderr);
        let want = stats_part(&run);
        let replay = occamy(&["replay", t, "--summary"]);
        assert_eq!(replay.code, Some(0), "{}:\n{}", replay.what, replay.stderr);
        assert_eq!(
            replay.stdout, want,
            "{scheduler}: the replay's summary differs from the run's --stats"
        );
    }
}

#[test]
fn pipeline_summary_equals_its_stats() {
    summary_equals_stats(
        "pipeline",
        "networks/pipeline.ron",
        &["--set", "count=500"],
        0,
    );
}

#[test]
fn farm_summary_equals_its_stats() {
    summary_equals_stats(
        "farm",
        "networks/farm_main.ron",
        &["--set", "n=2000", "--set", "workers=3"],
        0,
    );
}

#[test]
fn a_failing_run_summary_equals_its_stats() {
    summary_equals_stats("failing", "tests/networks/read_missing.ron", &[], 1);
}

#[test]
fn a_deadlocked_run_summary_equals_its_stats() {
    summary_equals_stats(
        "deadlock",
        "tests/networks/deadlock_ring3.ron",
        &["--deadlock-check-ms", "20"],
        3,
    );
}

#[test]
fn a_deadlocked_run_records_the_deadlock_and_its_blocked_processes() {
    let t = trace_path("deadlock-events");
    let t = t.to_str().expect("a UTF-8 path");
    let run = occamy(&["run", "tests/networks/deadlock_ring3.ron", "--record", t]);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let trace = occamy::trace::open(std::path::Path::new(t)).expect("the trace reads back");
    use occamy::trace::Event;
    let deadlock = trace
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::Deadlock(d) => Some(d),
            _ => None,
        })
        .expect("a deadlock event");
    assert_eq!(deadlock.cycle.len(), 3, "{deadlock:?}");
    // Just before the deadlock, the replay shows every node blocked receiving.
    let replay = occamy::trace::Replay::new(trace.clone());
    let at = trace
        .events
        .iter()
        .position(|(_, e)| matches!(e, Event::Deadlock(_)))
        .unwrap();
    let frame = (0..replay.frames())
        .find(|&f| replay.events_at(f) > at)
        .expect("a position after the deadlock");
    let snap = replay.at(frame);
    assert_eq!(snap.deadlocks.len(), 1);
    let states: Vec<String> = snap.processes.iter().map(|p| p.state.name()).collect();
    assert_eq!(states, ["recv", "recv", "recv"], "{snap:?}");
}

#[test]
fn replay_of_a_missing_trace_exits_2() {
    let r = occamy(&["replay", "/nonexistent/occamy/run.trace", "--summary"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("error: cannot read /nonexistent/occamy/run.trace"),
        "{}",
        r.stderr
    );
}

#[test]
fn replay_of_a_truncated_trace_exits_2_naming_the_offset() {
    let t = trace_path("truncated");
    let run = occamy(&[
        "run",
        "networks/pipeline.ron",
        "--record",
        t.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let bytes = std::fs::read(&t).expect("the trace");
    let cut = trace_path("truncated-cut");
    std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
    let r = occamy(&["replay", cut.to_str().unwrap(), "--summary"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("at byte "), "{}", r.stderr);
    assert!(r.stderr.contains("truncated"), "{}", r.stderr);
    // Not a trace at all.
    let r = occamy(&["replay", "networks/pipeline.ron", "--summary"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("not an occamy trace"), "{}", r.stderr);
}

#[test]
fn replay_needs_summary_or_viz() {
    let r = occamy(&["replay", "some.trace"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("--summary"), "{}", r.stderr);
}

#[test]
fn record_to_a_path_that_cannot_be_made_exits_2_before_running() {
    let r = occamy(&[
        "run",
        "networks/pipeline.ron",
        "--record",
        "/nonexistent/occamy/run.trace",
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("error: --record: cannot create /nonexistent/occamy/run.trace"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("sum:"), "the network ran: {}", r.stdout);
}

#[test]
fn record_values_records_each_value_as_print_shows_it() {
    let t = trace_path("values");
    let t = t.to_str().expect("a UTF-8 path");
    let run = occamy(&[
        "run",
        "networks/pipeline.ron",
        "--record",
        t,
        "--record-values",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let trace = occamy::trace::open(std::path::Path::new(t)).expect("the trace reads back");
    use occamy::trace::Event;
    let sums = trace
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::Named { id, name } if name == "sums" => Some(*id),
            _ => None,
        })
        .expect("the channel `sums`");
    let values: Vec<&str> = trace
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Value { channel, text } if *channel == sums => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        values,
        ["1", "3", "6", "10", "15", "21", "28", "36", "45", "55"]
    );
    // Without the flag, no values.
    let plain = trace_path("no-values");
    let plain = plain.to_str().unwrap();
    let run = occamy(&["run", "networks/pipeline.ron", "--record", plain]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let trace = occamy::trace::open(std::path::Path::new(plain)).unwrap();
    assert!(!trace
        .events
        .iter()
        .any(|(_, e)| matches!(e, Event::Value { .. })));
    // --record-values needs --record.
    let r = occamy(&["run", "networks/pipeline.ron", "--record-values"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
}
