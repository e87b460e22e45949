//! Values a declared network hands back to the program that ran it: `network::run_file`,
//! the built-in `collect` kind, `BuildCtx::values_out` for a program's own kinds, a
//! top-level network's open ports (fed and read with `run_file_with` and `RunOptions`),
//! and the errors (never panics) for a wrong name or type. Every run is under the
//! watchdog.

use std::path::{Path, PathBuf};

use occamy::network::{self, Kind, NetworkError, Registry, RunOptions, RunReport, ValuesError};

mod common;

use common::{watchdog, LIMIT};

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/networks")
        .join(name)
}

fn run(name: &'static str, reg: Registry) -> RunReport {
    watchdog(LIMIT, name, move || {
        network::run_file(path(name), &[], &reg)
            .unwrap_or_else(|e| panic!("{name} should run: {e}"))
    })
}

#[test]
fn collect_hands_back_every_value_by_process_name() {
    let report = run("collect_values.ron", Registry::with_builtins());
    report.result.as_ref().expect("the run ends well");
    assert_eq!(report.values::<u64>("out[0]").unwrap(), [1, 2, 3]);
    assert_eq!(report.values::<u64>("out[1]").unwrap(), [11, 12, 13]);
    assert_eq!(report.values::<String>("words").unwrap(), ["hi", "hi"]);
    // A sink that received nothing is known, with no values.
    assert_eq!(report.values::<i64>("nothing").unwrap(), Vec::<i64>::new());
    assert_eq!(
        report.value_names(),
        ["out[0]", "out[1]", "words", "nothing"]
    );
}

#[test]
fn a_wrong_name_or_type_is_an_error() {
    let mut report = run("collect_values.ron", Registry::with_builtins());
    let e = report.values::<u64>("word").unwrap_err();
    assert!(matches!(&e, ValuesError::Unknown { name, .. } if name == "word"));
    assert_eq!(
        e.to_string(),
        "no process or port `word` hands back values (did you mean `words`?); \
         those that do: `out[0]`, `out[1]`, `words`, `nothing`"
    );
    // `src[0]` is a process, but not one that keeps values.
    assert!(matches!(
        report.values::<u64>("src[0]"),
        Err(ValuesError::Unknown { .. })
    ));
    let e = report.values::<i64>("out[0]").unwrap_err();
    assert_eq!(
        e,
        ValuesError::WrongType {
            name: "out[0]".into(),
            port: false,
            kept: "u64".into(),
            asked: "i64".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "process `out[0]` hands back values of type `u64`, not `i64`"
    );
    assert_eq!(
        report.values::<Vec<u8>>("words").unwrap_err().to_string(),
        "process `words` hands back values of type `String`, not `Vec<u8>`"
    );
    // A failed take leaves the values where they were.
    assert!(report.take_values::<String>("out[0]").is_err());
    assert_eq!(report.take_values::<u64>("out[0]").unwrap(), [1, 2, 3]);
    assert_eq!(
        report.take_values::<u64>("out[0]").unwrap(),
        Vec::<u64>::new()
    );
}

#[test]
fn a_poisoned_collect_keeps_what_it_took() {
    let report = run("collect_poisoned.ron", Registry::with_builtins());
    let kept = report.values::<u64>("keep").unwrap();
    // `delta` sends each value to both outputs in parallel: `keep` took every value the
    // stopwatch timed, and perhaps the one in flight when the poison came.
    assert!(
        (5..=6).contains(&kept.len()),
        "kept {kept:?}, expected the 5 timed values (and perhaps one more)"
    );
    assert_eq!(kept[..5], [0, 1, 2, 3, 4]);
}

#[test]
fn a_programs_own_kind_hands_back_what_it_computes() {
    let mut reg = Registry::with_builtins();
    reg.register(
        Kind::new("sum", "adds up `in`; hands back the total")
            .input("in", "u64")
            .build(|ctx| {
                let rx = ctx.input::<u64>("in")?;
                let out = ctx.values_out::<u64>();
                Ok(ctx.process_async(async move {
                    let mut total = 0;
                    while let Ok(v) = rx.recv_async().await {
                        total += v;
                    }
                    out.push(total);
                    Ok(())
                }))
            }),
    );
    let dir = std::env::temp_dir().join(format!("occamy-values-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("sum.ron");
    std::fs::write(
        &file,
        r#"Network(
            name: "sum",
            channels: { "c": "u64" },
            processes: {
                "nums":  (kind: "numbers", params: { "start": 1, "count": "$n" }, ports: { "out": "c" }),
                "total": (kind: "sum", ports: { "in": "c" }),
            },
            params: { "n": 10 },
        )"#,
    )
    .expect("write sum.ron");
    let report = watchdog(LIMIT, "sum.ron", move || {
        network::run_file(&file, &[("n".into(), "100".into())], &reg).expect("sum.ron runs")
    });
    assert_eq!(report.values::<u64>("total").unwrap(), [5050]);
}

#[test]
fn run_file_reports_a_bad_file_as_load_does() {
    let reg = Registry::with_builtins();
    let e = network::run_file(path("unknown_kind.ron"), &[], &reg).unwrap_err();
    assert!(
        e.diagnostics
            .iter()
            .any(|d| d.message.starts_with("unknown kind")),
        "{e}"
    );
}

fn run_with(name: &'static str, options: RunOptions) -> Result<RunReport, NetworkError> {
    watchdog(LIMIT, name, move || {
        network::run_file_with(path(name), options, &Registry::with_builtins())
    })
}

#[test]
fn out_ports_hand_back_what_arrived_in_order_and_in_ports_are_fed() {
    let options = RunOptions::new().feed("in", 1..=5u64);
    let report = run_with("open_ports.ron", options).expect("open_ports.ron runs");
    report.result.as_ref().expect("the run ends well");
    assert_eq!(report.values::<u64>("out").unwrap(), [2, 3, 4, 5, 6]);
    assert_eq!(report.values::<String>("words").unwrap(), ["hi", "hi"]);
    assert_eq!(report.value_names(), ["out", "words"]);
    // The feeder and the collectors are processes of the run, named after their ports.
    let names: Vec<&str> = report.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["inc", "say", "in", "out", "words"]);

    // Fed from a Vec; a port not fed is retired at once, so `out` gets nothing.
    let report = run_with("open_ports.ron", RunOptions::new().feed("in", vec![7u64]))
        .expect("open_ports.ron runs");
    assert_eq!(report.values::<u64>("out").unwrap(), [8]);
    let report = run_with("open_ports.ron", RunOptions::new()).expect("open_ports.ron runs");
    report.result.as_ref().expect("the run ends well");
    assert_eq!(report.values::<u64>("out").unwrap(), Vec::<u64>::new());
}

#[test]
fn an_array_port_hands_back_each_element() {
    let report = run_with("open_array.ron", RunOptions::new()).expect("open_array.ron runs");
    assert_eq!(report.values::<i64>("out[0]").unwrap(), [0, 1, 2]);
    assert_eq!(report.values::<i64>("out[1]").unwrap(), [10, 11, 12]);
}

#[test]
fn a_port_read_as_another_type_is_an_error_naming_it_and_both_types() {
    let report = run_with("open_ports.ron", RunOptions::new()).expect("open_ports.ron runs");
    let e = report.values::<i64>("out").unwrap_err();
    assert_eq!(
        e,
        ValuesError::WrongType {
            name: "out".into(),
            port: true,
            kept: "u64".into(),
            asked: "i64".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "port `out` hands back values of type `u64`, not `i64`"
    );
    // An unknown name lists the ones that do hand back values.
    let e = report.values::<u64>("outt").unwrap_err();
    assert_eq!(
        e,
        ValuesError::Unknown {
            name: "outt".into(),
            known: vec!["out".into(), "words".into()]
        }
    );
    assert_eq!(
        e.to_string(),
        "no process or port `outt` hands back values (did you mean `out`?); \
         those that do: `out`, `words`"
    );
}

#[test]
fn feeding_another_type_or_an_unknown_port_fails_before_the_start() {
    let e = run_with("open_ports.ron", RunOptions::new().feed("in", vec![1i64]))
        .expect_err("i64 values on a u64 port");
    assert_eq!(e.diagnostics.len(), 1, "{e}");
    let d = &e.diagnostics[0];
    assert_eq!(d.code, "E0704");
    assert_eq!(
        (d.pos, &d.context[..]),
        (Some((11, 9)), &["port `in`".to_string()][..])
    );
    assert_eq!(
        d.message,
        "carries `u64`, but the values fed to it are `i64`"
    );

    let e = run_with("open_ports.ron", RunOptions::new().feed("inn", vec![1u64]))
        .expect_err("no port `inn`");
    let d = &e.diagnostics[0];
    assert_eq!(d.code, "E0703");
    assert_eq!(
        d.message,
        "network `open_ports` has no input port `inn` (did you mean `in`?)"
    );
    assert_eq!(d.help.as_deref(), Some("its input ports are `in`"));
    // An output port cannot be fed either.
    let e = run_with("open_ports.ron", RunOptions::new().feed("out", vec![1u64]))
        .expect_err("`out` is an output");
    assert_eq!(e.diagnostics[0].code, "E0703");
    // Nor can a network with no ports.
    let e = run_with(
        "collect_values.ron",
        RunOptions::new().feed("in", vec![1u64]),
    )
    .expect_err("no ports");
    assert_eq!(
        e.diagnostics[0].help.as_deref(),
        Some("the network has no input ports (top-level `ports` with `dir: In`)")
    );
}

#[test]
fn options_override_params_as_set_does() {
    let report = run_with("open_array.ron", RunOptions::new().set("n", "4"));
    // open_array.ron declares no `n`: the override is refused, as `--set n=4` would be.
    let e = report.expect_err("no param `n`");
    assert_eq!(e.diagnostics[0].code, "E0105");
    assert_eq!(
        e.diagnostics[0].message,
        "network `open_array` has no param `n`"
    );
}

#[cfg(feature = "launcher")]
#[test]
fn occamy_run_prints_what_arrived_on_the_output_ports() {
    let r = common::occamy(&["run", "tests/networks/open_ports.ron"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "words: hi\nwords: hi\n");
    assert!(
        r.stderr.contains(
            "note: input port `in` is not fed (no `--feed in=[...]`): it is retired at the start"
        ),
        "{}",
        r.stderr
    );

    // `--feed` gives an input port a RON list of its type.
    let r = common::occamy(&[
        "run",
        "tests/networks/open_ports.ron",
        "--feed",
        "in=[1, 2, 3]",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "out: 2\nout: 3\nout: 4\nwords: hi\nwords: hi\n");
    assert!(!r.stderr.contains("not fed"), "{}", r.stderr);

    // A name that is no input port, or values not of the port's type: exit 2, nothing runs.
    let r = common::occamy(&[
        "run",
        "tests/networks/open_ports.ron",
        "--feed",
        "out=[1]",
        "--feed",
        "in=[\"x\"]",
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert_eq!(
        r.stderr,
        "tests/networks/open_ports.ron: error[E0703]: network `open_ports` has no input port `out`\n  \
         help: its input ports are `in`\n\
         tests/networks/open_ports.ron: error[E0704]: `--feed in=...`: not a list of `u64`: expected u64 but found the string \"x\" instead\n  \
         help: give a RON list of `u64` values, e.g. `--feed in=[...]`\n\
         2 errors\n"
    );
}

#[test]
fn a_kind_whose_build_fails_is_a_coded_error_naming_the_process() {
    let mut reg = Registry::with_builtins();
    reg.register(
        Kind::new("picky", "refuses to be built")
            .input("in", "u64")
            .build(|_| Err("no, thank you".into())),
    );
    let dir = std::env::temp_dir().join(format!("occamy-build-fails-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("picky.ron");
    std::fs::write(
        &file,
        r#"Network(
            name: "picky",
            channels: { "c": "u64" },
            processes: {
                "nums": (kind: "numbers", params: { "count": 3 }, ports: { "out": "c" }),
                "p":    (kind: "picky", ports: { "in": "c" }),
            },
        )"#,
    )
    .expect("write picky.ron");
    let e = watchdog(LIMIT, "picky.ron", move || {
        network::run_file(&file, &[], &reg).expect_err("the build fails")
    });
    let d = &e.diagnostics[0];
    assert_eq!((d.code, d.pos), ("E0701", Some((6, 17))));
    assert_eq!(d.context, ["process `p`"]);
    assert_eq!(d.message, "cannot build: no, thank you");
}

#[test]
fn a_network_that_stops_reading_an_input_port_stops_its_feeder() {
    // An endless feed: only the network's retiring `in` ends it.
    let report = run_with("open_take.ron", RunOptions::new().feed("in", 1u64..))
        .expect("open_take.ron runs");
    report.result.as_ref().expect("the run ends well");
    assert_eq!(report.values::<u64>("out").unwrap(), [1, 2]);
    let feeder = report
        .processes
        .iter()
        .find(|p| p.name == "in")
        .expect("the feeder");
    assert_eq!(feeder.kind.as_ref(), "feed");
}

#[test]
fn output_ports_sharing_a_channel_each_get_some_of_its_values() {
    let report = run_with("open_shared.ron", RunOptions::new()).expect("open_shared.ron runs");
    report.result.as_ref().expect("the run ends well");
    let mut all = report.values::<u64>("a").unwrap();
    all.extend(report.values::<u64>("b").unwrap());
    all.sort();
    assert_eq!(all, [0, 1, 2, 3]);
}
