//! What a channel type of a declared network must be: a type registered opaque (no serde,
//! no `Debug`) flows through the generic kinds that read no value from the file, and a
//! kind that does read one (`prefix`) is refused for it by the checker, naming the param.

use std::sync::{Arc, Mutex};

use occamy::network;
use occamy::network::{Kind, Registry};

mod common;

/// A type with neither serde nor `Debug`: it holds a shared buffer, as a frame might.
#[derive(Clone)]
struct Frame {
    pixels: Arc<Vec<u8>>,
}

/// The built-ins, `Frame` registered opaque, a source of three frames (sizes 1, 2, 3)
/// and a sink that records the size of each frame it gets.
fn registry(seen: Arc<Mutex<Vec<usize>>>) -> Registry {
    let mut reg = Registry::with_builtins();
    reg.register_opaque_type::<Frame>("Frame", |f| format!("frame of {}", f.pixels.len()));
    reg.register(
        Kind::new("frames", "sends three frames on `out`")
            .output("out", "Frame")
            .build(|ctx| {
                let tx = ctx.output::<Frame>("out")?;
                Ok(ctx.process_async(async move {
                    for n in 1..=3 {
                        let f = Frame {
                            pixels: Arc::new(vec![0; n]),
                        };
                        tx.send_async(f).await?;
                    }
                    Ok(())
                }))
            }),
    );
    reg.register(
        Kind::new("sizes", "records the size of each frame of `in`")
            .input("in", "Frame")
            .build(move |ctx| {
                let rx = ctx.input::<Frame>("in")?;
                let seen = seen.clone();
                Ok(ctx.process_async(async move {
                    while let Ok(f) = rx.recv_async().await {
                        seen.lock().unwrap().push(f.pixels.len());
                    }
                    Ok(())
                }))
            }),
    );
    reg
}

/// `text` written to a file of its own (`test` names it: tests run side by side).
fn file(test: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("occamy-network-types-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{test}.ron"));
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn an_opaque_type_flows_through_id_and_delta() {
    common::watchdog(common::LIMIT, "frames through id and delta", || {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reg = registry(seen.clone());
        let path = file(
            "flows",
            r#"Network(
                name: "frames",
                channels: { "a": "Frame", "b": "Frame", "c": (type: "Frame", count: 2) },
                processes: {
                    "src":  (kind: "frames", ports: { "out": "a" }),
                    "copy": (kind: "id", ports: { "in": "a", "out": "b" }),
                    "fan":  (kind: "delta", ports: { "in": "b", "out": "c" }),
                    "one":  (kind: "sizes", ports: { "in": "c[0]" }),
                    "two":  (kind: "sizes", ports: { "in": "c[1]" }),
                },
            )"#,
        );
        let plan = network::load(&path, &[], &reg).unwrap_or_else(|e| panic!("{e}"));
        let report = network::start(&plan, &reg, &occamy::Runtime::new())
            .unwrap()
            .wait();
        assert!(report.result.is_ok(), "{:?}", report.result);
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        assert_eq!(seen, [1, 1, 2, 2, 3, 3]);
    });
}

#[test]
fn a_kind_that_reads_a_value_from_the_file_is_refused_for_an_opaque_type() {
    let reg = registry(Arc::default());
    let path = file(
        "prefix",
        r#"Network(
            name: "prefix",
            channels: { "a": "Frame", "b": "Frame" },
            processes: {
                "src":  (kind: "frames", ports: { "out": "a" }),
                "head": (kind: "prefix", params: { "value": 5 }, ports: { "in": "a", "out": "b" }),
                "sink": (kind: "sizes", ports: { "in": "b" }),
            },
        )"#,
    );
    let err = network::load(&path, &[], &reg).expect_err("prefix cannot work on Frame");
    let text = err.to_string();
    assert!(
        text.contains("param `value` is not a `Frame`")
            && text.contains("cannot be written in a network file"),
        "{text}"
    );
    assert!(!reg.type_info("Frame").unwrap().is_readable());
    assert!(reg.type_info("u64").unwrap().is_readable());
}
