//! `thread: true` in a network file: the process it marks is wired with
//! `Process::on_own_thread`, so under the green scheduler it runs on a thread of its own
//! (named after the process) while the others share the workers; and
//! `network::runtime_of` runs a plan under the scheduler its file chose.

use std::sync::{Arc, Mutex};

use occamy::network;
use occamy::network::{Kind, ParamType, Registry};
use occamy::{Runtime, Scheduler};

mod common;

/// A kind that receives one value and records the name of the thread it ran on.
fn registry(seen: Arc<Mutex<Vec<(String, String)>>>) -> Registry {
    let mut reg = Registry::with_builtins();
    reg.register(
        Kind::new("where", "records the thread it runs on")
            .input("in", "u64")
            .required_param("label", ParamType::Str, "what to record it as")
            .build(move |ctx| {
                let rx = ctx.input::<u64>("in")?;
                let name: String = ctx.param("label")?;
                let seen = seen.clone();
                Ok(ctx.process_async(async move {
                    rx.recv_async().await?;
                    let thread = std::thread::current().name().unwrap_or("").to_string();
                    seen.lock().unwrap().push((name, thread));
                    Ok(())
                }))
            }),
    );
    reg
}

const FILE: &str = r#"Network(
    name: "threads",
    scheduler: Green(workers: 1),
    channels: { "a": "u64", "b": (type: "u64", count: 2) },
    processes: {
        "src":    (kind: "numbers", params: { "count": 1 }, ports: { "out": "a" }),
        "fan":    (kind: "delta", ports: { "in": "a", "out": "b" }),
        "pinned": (kind: "where", thread: true, params: { "label": "pinned" }, ports: { "in": "b[0]" }),
        "pooled": (kind: "where", params: { "label": "pooled" }, ports: { "in": "b[1]" }),
    },
)"#;

/// The network, loaded from a file of its own for each test (`test`), since tests run
/// side by side.
fn plan(reg: &Registry, test: &str) -> network::Plan {
    let dir = std::env::temp_dir().join(format!("occamy-network-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{test}.ron"));
    std::fs::write(&file, FILE).unwrap();
    network::load(&file, &[], reg).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_process_declared_thread_true_runs_on_its_own_thread_under_green() {
    common::watchdog(common::LIMIT, "the threads network", || {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reg = registry(seen.clone());
        let plan = plan(&reg, "green");
        assert_eq!(plan.scheduler(), Some(Scheduler::Green { workers: 1 }));
        let runtime = network::runtime_of(&plan);
        let report = network::start(&plan, &reg, &runtime).unwrap().wait();
        assert!(report.result.is_ok(), "{:?}", report.result);
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("pinned".to_string(), "pinned".to_string()),
                ("pooled".to_string(), "occamy-worker".to_string()),
            ]
        );
    });
}

#[test]
fn the_runtime_passed_to_start_wins_over_the_file() {
    common::watchdog(common::LIMIT, "the threads network on threads", || {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reg = registry(seen.clone());
        let plan = plan(&reg, "threads");
        let runtime = Runtime::new().scheduler(Scheduler::Threads);
        let report = network::start(&plan, &reg, &runtime).unwrap().wait();
        assert!(report.result.is_ok(), "{:?}", report.result);
        // Under threads every process has a thread named after it.
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("pinned".to_string(), "pinned".to_string()),
                ("pooled".to_string(), "pooled".to_string()),
            ]
        );
    });
}
