//! Values a declared network hands back to the program that ran it: `network::run_file`,
//! the built-in `collect` kind, `BuildCtx::values_out` for a program's own kinds, and the
//! errors (never panics) for a wrong name or type. Every run is under the watchdog.

use std::path::{Path, PathBuf};

use occamy::network::{self, Kind, Registry, RunReport, ValuesError};

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
        "no process `word` hands back values (did you mean `words`?)"
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
