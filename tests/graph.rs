//! The process graph: DOT and JSON of declared networks (golden files), of networks
//! built in code, annotated with runs and deadlocks; Graphviz accepts what we write; the
//! `occamy dot` and `occamy run --dot` commands.
//!
//! Golden files live in tests/golden/; `OCCAMY_BLESS=1 cargo test --test graph`
//! rewrites them from the current output (review the diff before committing it).

mod common;
#[path = "support/graph.rs"]
mod graph_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use common::{blessing, golden, watchdog, LIMIT};
use graph_support::{collapsed, load, plain, repo};
use occamy::graph::{DotOptions, Graph};
use occamy::graph::{EdgeRole, NodeRole};
use occamy::network;
use occamy::network::Registry;
use occamy::{channel, Process, ProcessEnd, Result, Runtime};

/// Whether Graphviz's `dot` is installed; says so once per test when it is not.
fn have_dot() -> bool {
    let ok = Command::new("dot")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "note: Graphviz `dot` is not installed; skipping the rendering check (CI installs it)"
        );
    }
    ok
}

/// Feeds `dot_text` to `dot -Tsvg` (under the watchdog) and asserts that it renders.
fn assert_renders(what: &str, dot_text: &str) {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dot runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = dot_text.to_string();
    let writer = thread::spawn(move || stdin.write_all(input.as_bytes()));
    let run = common::finish(child, &format!("dot -Tsvg ({what})"));
    writer.join().unwrap().expect("dot reads its input");
    assert_eq!(
        run.code,
        Some(0),
        "Graphviz rejected the DOT of {what}:\n{}\n--- DOT:\n{dot_text}",
        run.stderr
    );
    assert!(run.stdout.contains("<svg"), "no SVG for {what}");
}

// ---- Declared networks: golden DOT ----

#[test]
fn golden_pipeline() {
    let dot = Graph::from_plan(&load("networks/pipeline.ron", &[])).to_dot(&plain());
    golden("pipeline.dot", &dot);
}

#[test]
fn golden_merge() {
    let dot = Graph::from_plan(&load("networks/merge.ron", &[])).to_dot(&plain());
    golden("merge.dot", &dot);
}

#[test]
fn golden_farm_main_has_a_cluster() {
    let dot = Graph::from_plan(&load("networks/farm_main.ron", &[])).to_dot(&plain());
    assert!(dot.contains("subgraph cluster_0 {"), "{dot}");
    assert!(dot.contains("graph [label=\"farm\""), "{dot}");
    golden("farm_main.dot", &dot);
}

#[test]
fn golden_farm_main_collapsed() {
    let dot = Graph::from_plan(&load("networks/farm_main.ron", &[])).to_dot(&collapsed());
    assert!(dot.contains("farm.worker[0..3] ×4\\n(succ)"), "{dot}");
    golden("farm_main_collapsed.dot", &dot);
}

#[test]
fn golden_ring_collapsed() {
    let plan = load("networks/ring.ron", &[("n", "8"), ("laps", "1")]);
    let dot = Graph::from_plan(&plan).to_dot(&collapsed());
    assert!(dot.contains("node[0..5] ×6\\n(succ)"), "{dot}");
    // ring[1] .. ring[5] run from one node to the next: one self-loop with a count.
    assert!(dot.contains("g0 -> g0 [label=\"ring ×5: u64\""), "{dot}");
    golden("ring_collapsed.dot", &dot);
}

#[test]
fn golden_barrier() {
    let dot = Graph::from_plan(&load("networks/barrier.ron", &[])).to_dot(&plain());
    assert!(dot.contains("label=\"barrier step\""), "{dot}");
    golden("barrier.dot", &dot);
}

#[test]
fn dot_is_deterministic() {
    for (file, sets) in network_files() {
        let a = Graph::from_plan(&load(&file, &refs(&sets)));
        let b = Graph::from_plan(&load(&file, &refs(&sets)));
        for opts in [plain(), collapsed()] {
            assert_eq!(a.to_dot(&opts), b.to_dot(&opts), "{file}");
        }
        assert_eq!(a.to_json(), b.to_json(), "{file}");
    }
}

#[test]
fn names_are_quoted_and_escaped() {
    let (tx, rx) = channel::<u8>();
    tx.set_name("a \"quoted\" [0].x\\y");
    let out = watchdog(LIMIT, "two processes", move || {
        Runtime::new().run([
            Process::with("sender of \"things\"", tx, |tx| tx.send(1)),
            Process::with("line\nbreak", rx, |rx| rx.recv().map(drop)),
        ])
    });
    let dot = Graph::from_outcome("name with spaces", &out).to_dot(&plain());
    assert!(dot.starts_with("digraph \"name with spaces\" {"), "{dot}");
    assert!(
        dot.contains("label=\"sender of \\\"things\\\"\\nok\""),
        "{dot}"
    );
    assert!(dot.contains("label=\"line\\nbreak\\nok\""), "{dot}");
    assert!(dot.contains("a \\\"quoted\\\" [0].x\\\\y: u8"), "{dot}");
    if have_dot() {
        assert_renders("awkward names", &dot);
    }
}

// ---- Networks built in code ----

/// source -> double -> sink, over named channels, and a tally channel shared by two
/// writers; each process declares its ends.
fn code_network() -> occamy::ParOutcome {
    watchdog(LIMIT, "code network", || {
        let (a_tx, a_rx) = channel::<u64>();
        let (b_tx, b_rx) = channel::<u64>();
        let (t_tx, t_rx) = channel::<&'static str>();
        a_tx.set_name("numbers");
        b_tx.set_name("doubled");
        t_tx.set_name("tally");
        let t_tx2 = t_tx.clone();
        Runtime::new().run([
            Process::with("source", (a_tx, t_tx), |(tx, t)| -> Result {
                for i in 0..3 {
                    tx.send(i)?;
                }
                t.send("source")?;
                Ok(())
            }),
            Process::with("double", (a_rx, b_tx, t_tx2), |(rx, tx, t)| -> Result {
                for v in rx {
                    tx.send(v * 2)?;
                }
                t.send("double")?;
                Ok(())
            }),
            Process::with("sink", b_rx, |rx| -> Result {
                assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 2, 4]);
                Ok(())
            }),
            Process::with("tally", t_rx, |rx| -> Result {
                assert_eq!(rx.iter().count(), 2);
                Ok(())
            }),
        ])
    })
}

#[test]
fn code_network_nodes_and_edges() {
    let out = code_network();
    assert!(out.result.is_ok(), "{:?}", out.result);
    let graph = Graph::from_outcome("code", &out);
    let procs: Vec<&str> = graph
        .nodes()
        .filter(|n| n.role == NodeRole::Process)
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(procs, ["source", "double", "sink", "tally"]);
    assert!(graph
        .nodes()
        .filter(|n| n.role == NodeRole::Process)
        .all(|n| n.end.is_some()));
    let edge = |from: &str, to: &str, ch: &str| {
        graph
            .edges()
            .any(|(a, b, e)| a.name == from && b.name == to && e.channel == ch)
    };
    assert!(edge("source", "double", "numbers"));
    assert!(edge("double", "sink", "doubled"));
    // Two writers: a junction.
    let junctions: Vec<_> = graph
        .nodes()
        .filter(|n| n.role == NodeRole::Junction)
        .collect();
    assert_eq!(junctions.len(), 1);
    assert_eq!(junctions[0].name, "tally");
    assert!(edge("source", "tally", "tally"));
    assert!(edge("double", "tally", "tally"));
    assert!(edge("tally", "tally", "tally"), "junction -> tally process");
    let carried = |ch: &str| {
        graph
            .edges()
            .find(|(_, _, e)| e.channel == ch)
            .and_then(|(_, _, e)| e.carried)
    };
    assert_eq!(carried("numbers"), Some(3));
    assert_eq!(carried("doubled"), Some(3));
    assert_eq!(carried("tally"), Some(2));

    let dot = graph.to_dot(&plain());
    assert!(dot.contains("label=\"source\\nok\""), "{dot}");
    assert!(dot.contains("label=\"numbers: u64\\n3 msgs\""), "{dot}");
    assert!(dot.contains("label=\"tally: &str\\n2 msgs\""), "{dot}");
    assert!(dot.contains("ended normally"), "{dot}");
    if have_dot() {
        assert_renders("a code network", &dot);
    }
}

#[test]
fn an_end_nobody_is_known_to_hold_goes_to_a_question_mark() {
    let (tx, rx) = channel::<u32>();
    let (out_tx, _kept) = channel::<u32>();
    out_tx.set_name("nowhere");
    let feeder = thread::spawn(move || tx.send(5));
    let out = watchdog(LIMIT, "reader of a plain thread", move || {
        Runtime::new().run([Process::with(
            "reader",
            (rx, out_tx),
            |(rx, tx)| -> Result {
                let v = rx.recv()?;
                // Nobody reads `nowhere`: a try_send fails, which is fine.
                let _ = tx.try_send(v);
                Ok(())
            },
        )])
    });
    common::join("feeder", feeder).unwrap();
    assert!(out.result.is_ok(), "{:?}", out.result);
    let graph = Graph::from_processes("half", &out.processes);
    let unknown: Vec<_> = graph
        .nodes()
        .filter(|n| n.role == NodeRole::Unknown)
        .collect();
    assert_eq!(unknown.len(), 2, "one ? per dangling end");
    assert!(graph
        .edges()
        .any(|(a, b, _)| a.role == NodeRole::Unknown && b.name == "reader"));
    assert!(graph.edges().any(|(a, b, e)| a.name == "reader"
        && b.role == NodeRole::Unknown
        && e.channel == "nowhere"));
    let dot = graph.to_dot(&plain());
    assert!(dot.contains("label=\"?\""), "{dot}");
    if have_dot() {
        assert_renders("? nodes", &dot);
    }
}

#[test]
fn replicated_processes_in_code_collapse() {
    let (tx, rx) = channel::<u64>();
    let out = watchdog(LIMIT, "replicated writers", move || {
        let mut ps: Vec<Process> = (0..4)
            .map(|i| {
                let tx = tx.clone();
                Process::with(format!("worker[{i}]"), tx, move |tx| tx.send(i))
            })
            .collect();
        drop(tx);
        ps.push(Process::with("collect", rx, |rx| {
            assert_eq!(rx.iter().count(), 4);
        }));
        Runtime::new().run(ps)
    });
    assert!(out.result.is_ok(), "{:?}", out.result);
    let graph = Graph::from_outcome("workers", &out);
    let dot = graph.to_dot(&collapsed());
    assert!(dot.contains("label=\"worker[0..3] ×4\\nok ×4\""), "{dot}");
    // Four edges into one junction become one.
    assert!(dot.contains("g0 -> j0 [label=\""), "{dot}");
    assert_eq!(dot.matches(" -> ").count(), 2, "{dot}");
    if have_dot() {
        assert_renders("collapsed code network", &dot);
    }
}

#[test]
fn code_deadlock_is_highlighted() {
    let out = watchdog(LIMIT, "a deadlock", || {
        let (a_tx, a_rx) = channel::<u8>();
        let (b_tx, b_rx) = channel::<u8>();
        let (c_tx, c_rx) = channel::<u8>();
        a_tx.set_name("a_to_b");
        b_tx.set_name("b_to_a");
        c_tx.set_name("side");
        Runtime::new().run([
            Process::with("a", (b_rx, a_tx), |(rx, tx)| -> Result {
                tx.send(rx.recv()?)?;
                Ok(())
            }),
            Process::with("b", (a_rx, b_tx, c_tx), |(rx, tx, c)| -> Result {
                tx.send(rx.recv()?)?;
                c.send(0)?;
                Ok(())
            }),
            Process::with("c", c_rx, |rx| -> Result {
                rx.recv()?;
                Ok(())
            }),
        ])
    });
    let report = out.deadlock.clone().expect("a deadlock");
    let graph = Graph::from_outcome("stuck", &out);
    let deadlocked: Vec<&str> = graph
        .nodes()
        .filter(|n| n.deadlocked)
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(deadlocked, ["a", "b", "c"], "{report}");
    let cycle: Vec<&str> = graph
        .edges()
        .filter(|(_, _, e)| e.in_cycle)
        .map(|(_, _, e)| e.channel.as_str())
        .collect();
    assert_eq!(cycle, ["b_to_a", "a_to_b"]);
    let (_, _, side) = graph.edges().find(|(_, _, e)| e.channel == "side").unwrap();
    assert!(
        side.waited && !side.in_cycle,
        "c waits on side, off the cycle"
    );
    assert_eq!(graph.notes(), [report.to_string()]);
    let dot = graph.to_dot(&plain());
    assert!(dot.contains("deadlocked"), "{dot}");
    assert!(dot.contains("penwidth=3.5"), "{dot}");
    assert!(
        dot.contains("color=red, fontcolor=red, style=bold, penwidth=2"),
        "{dot}"
    );
    if have_dot() {
        assert_renders("a deadlock", &dot);
    }
}

#[test]
fn barriers_in_code_are_drawn() {
    let out = watchdog(LIMIT, "barrier", || {
        let b = occamy::Barrier::new();
        let b2 = b.enroll();
        Runtime::new().run([
            Process::with("one", b, |b| b.sync()),
            Process::with("two", b2, |b| b.sync()),
        ])
    });
    assert!(out.result.is_ok(), "{:?}", out.result);
    let graph = Graph::from_outcome("phased", &out);
    assert_eq!(
        graph
            .nodes()
            .filter(|n| n.role == NodeRole::Barrier)
            .count(),
        1
    );
    assert_eq!(
        graph
            .edges()
            .filter(|(_, _, e)| e.role == EdgeRole::Barrier)
            .count(),
        2
    );
}

// ---- Runs of declared networks ----

#[test]
fn a_run_annotates_counts_and_ends() {
    let plan = load("networks/merge.ron", &[("k", "2"), ("count", "4")]);
    let p2 = plan.clone();
    let report = watchdog(LIMIT, "merge.ron", move || {
        network::start(&p2, &Registry::with_builtins(), &occamy::Runtime::new())
            .expect("starts")
            .wait()
    });
    assert!(report.result.is_ok(), "{:?}", report.result);
    let mut graph = Graph::from_plan(&plan);
    graph.annotate_run(&report);
    for (_, _, e) in graph.edges() {
        let want = if e.channel == "out" { 8 } else { 4 };
        assert_eq!(e.carried, Some(want), "{}", e.channel);
    }
    assert!(graph.nodes().all(|n| n.end.is_some()));
    let dot = graph.to_dot(&plain());
    assert!(dot.contains("label=\"out: u64\\n8 msgs\""), "{dot}");
    assert!(dot.contains("fillcolor=\"#e6f4ea\""), "{dot}");
    let dot = graph.to_dot(&collapsed());
    assert!(dot.contains("source[0..1] ×2\\n(numbers)\\nok ×2"), "{dot}");
    assert!(dot.contains("src ×2: u64\\n8 msgs"), "{dot}");
    if have_dot() {
        assert_renders("annotated merge", &dot);
    }
}

#[test]
fn failed_processes_are_red() {
    let plan = load("networks/pipeline.ron", &[]);
    let mut graph = Graph::from_plan(&plan);
    let stats = |name: &str, end| occamy::network::ProcessStats {
        name: name.into(),
        kind: "succ".into(),
        ran: Duration::ZERO,
        end,
    };
    graph.annotate_stats(
        &[],
        &[
            stats("succ", ProcessEnd::Failed),
            stats("print", ProcessEnd::Poisoned),
        ],
    );
    let dot = graph.to_dot(&plain());
    assert!(
        dot.contains("p1 [label=\"succ\\n(succ)\\nfailed\", fillcolor=\"#ffd6d6\", color=red];"),
        "{dot}"
    );
    assert!(
        dot.contains("p3 [label=\"print\\n(print)\\npoisoned\", fillcolor=\"#fff4d6\"];"),
        "{dot}"
    );
}

// ---- JSON ----

#[test]
fn json_has_nodes_edges_and_clusters() {
    let graph = Graph::from_plan(&load("networks/farm_main.ron", &[("workers", "2")]));
    let v: serde_json::Value = serde_json::from_str(&graph.to_json()).expect("valid JSON");
    assert_eq!(v["schema"], "occamy-graph/1");
    assert_eq!(v["name"], "farm_main");
    let nodes = v["nodes"].as_array().unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "numbers",
            "farm.deal",
            "farm.worker[0]",
            "farm.worker[1]",
            "farm.gather",
            "count"
        ]
    );
    let worker = &nodes[2];
    assert_eq!(worker["kind"], "succ");
    assert_eq!(worker["decl"], "farm.worker");
    assert_eq!(worker["role"], "process");
    assert_eq!(worker["cluster"], serde_json::json!(["farm"]));
    assert!(worker["end"].is_null());
    let clusters = v["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0]["label"], "farm");
    assert!(clusters[0]["parent"].is_null());
    let edges = v["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 6);
    let id_of = |name: &str| {
        nodes
            .iter()
            .find(|n| n["name"] == name)
            .map(|n| n["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let x = edges.iter().find(|e| e["channel"] == "x").expect("edge x");
    assert_eq!(x["from"].as_str().unwrap(), id_of("numbers"));
    assert_eq!(x["to"].as_str().unwrap(), id_of("farm.deal"));
    assert_eq!(x["type"], "u64");
    assert_eq!(x["buffer"], 0);
    assert_eq!(x["decl"], "x");
    assert!(x["carried"].is_null());
    assert_eq!(x["waited"], false);
}

#[test]
fn json_of_a_code_deadlock() {
    let out = watchdog(LIMIT, "a deadlock", || {
        let (a_tx, a_rx) = channel::<u8>();
        let (b_tx, b_rx) = channel::<u8>();
        Runtime::new().run([
            Process::with("a", (b_rx, a_tx), |(rx, tx)| -> Result {
                tx.send(rx.recv()?)?;
                Ok(())
            }),
            Process::with("b", (a_rx, b_tx), |(rx, tx)| -> Result {
                tx.send(rx.recv()?)?;
                Ok(())
            }),
        ])
    });
    let v: serde_json::Value =
        serde_json::from_str(&Graph::from_outcome("ab", &out).to_json()).expect("valid JSON");
    let notes = v["notes"].as_array().unwrap();
    assert!(
        notes[0].as_str().unwrap().starts_with("deadlock: "),
        "{notes:?}"
    );
    for n in v["nodes"].as_array().unwrap() {
        assert_eq!(n["deadlocked"], true);
        assert_eq!(n["in_cycle"], true);
        assert!(n["kind"].is_null());
    }
    for e in v["edges"].as_array().unwrap() {
        assert_eq!(e["in_cycle"], true);
        assert!(e["channel_id"].is_u64());
        assert!(e["channel"].as_str().unwrap().starts_with('#'));
        assert_eq!(e["carried"], 0);
    }
}

// ---- Graphviz accepts every network ----

/// The `--set NAME=VALUE`s of a file's `// render-all: ARGS` line, with which
/// visualize/render-all.sh draws it (a smaller instance of a million-process network).
fn render_sets(text: &str) -> Vec<(String, String)> {
    let Some(line) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("// render-all:"))
    else {
        return vec![];
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "--set")
        .filter_map(|w| w[1].split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn refs(sets: &[(String, String)]) -> Vec<(&str, &str)> {
    sets.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The files in networks/ that the built-in kinds can load on their own, with the params
/// they are drawn with: not those that name an example binary with custom kinds
/// (`--example NAME` in their comments), nor sub-networks (files with `ports`, drawn
/// inside the networks that include them).
fn network_files() -> Vec<(String, Vec<(String, String)>)> {
    let mut files: Vec<(String, Vec<(String, String)>)> =
        std::fs::read_dir(repo().join("networks"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".ron"))
            .map(|n| format!("networks/{n}"))
            .filter_map(|f| {
                let text = std::fs::read_to_string(repo().join(&f)).unwrap();
                if text.contains("--example ") {
                    return None;
                }
                let sets = render_sets(&text);
                match network::load(&repo().join(&f), &sets, &Registry::with_builtins()) {
                    Ok(_) => Some((f, sets)),
                    Err(e) => {
                        let all_sub = e.diagnostics.iter().all(|d| {
                            d.help.as_deref().is_some_and(|h| {
                                h.contains("meant to be included as a sub-network")
                            })
                        });
                        assert!(all_sub, "{f} should load: {e}");
                        None
                    }
                }
            })
            .collect();
    files.sort();
    files
}

#[test]
fn a_render_all_line_gives_the_params_to_draw_with() {
    assert_eq!(
        render_sets("// a ring\n// render-all: --set n=16 --set laps=1\nNetwork()"),
        [
            ("n".to_string(), "16".to_string()),
            ("laps".into(), "1".into())
        ]
    );
    assert!(render_sets("Network()").is_empty());
    // ring_green's million processes are drawn as 16 (what CI's Graphviz is given).
    let (_, sets) = network_files()
        .into_iter()
        .find(|(f, _)| f == "networks/ring_green.ron")
        .expect("ring_green.ron is drawn");
    assert_eq!(
        load("networks/ring_green.ron", &refs(&sets))
            .processes
            .len(),
        17
    );
}

#[test]
fn graphviz_renders_every_network() {
    if !have_dot() {
        return;
    }
    for (file, sets) in network_files() {
        let graph = Graph::from_plan(&load(&file, &refs(&sets)));
        assert_renders(&file, &graph.to_dot(&plain()));
        assert_renders(&format!("{file} --collapse"), &graph.to_dot(&collapsed()));
    }
}

// ---- The launcher ----

fn occamy(args: &[&str], env: &[(&str, &str)]) -> common::Run {
    let mut cmd = common::occamy_command(args);
    cmd.current_dir(repo());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("cannot start the occamy binary");
    common::finish(child, &format!("occamy {}", args.join(" ")))
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("occamy-graph-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

#[test]
fn occamy_dot_prints_the_golden_dot() {
    let r = occamy(&["dot", "networks/pipeline.ron"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let expected = Graph::from_plan(&load("networks/pipeline.ron", &[])).to_dot(&plain());
    assert_eq!(r.stdout, expected);
    if !blessing() {
        golden("pipeline.dot", &r.stdout);
    }
}

#[test]
fn occamy_dot_writes_files() {
    let dir = scratch("files");
    let out = dir.join("ring.dot");
    let r = occamy(
        &[
            "dot",
            "networks/ring.ron",
            "--set",
            "n=8",
            "--collapse",
            "-o",
            s(&out),
        ],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    let dot = std::fs::read_to_string(&out).unwrap();
    assert!(dot.contains("node[0..5] ×6"), "{dot}");

    let json = dir.join("ring.json");
    let r = occamy(&["dot", "networks/ring.ron", "--json", "-o", s(&json)], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["nodes"].as_array().unwrap().len(), 257);

    if have_dot() {
        let svg = dir.join("ring.svg");
        let r = occamy(
            &["dot", "networks/ring.ron", "--collapse", "--svg", s(&svg)],
            &[],
        );
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert_eq!(r.stdout, "", "no DOT on stdout with --svg and no -o");
        assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn occamy_dot_without_graphviz_lays_the_graph_out_itself() {
    let dir = scratch("nodot");
    let svg = dir.join("x.svg");
    let r = occamy(
        &["dot", "networks/farm_main.ron", "--svg", s(&svg)],
        &[("OCCAMY_DOT", "occamy-no-such-graphviz-program")],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "{text}");
    // Every process is drawn, and the sub-network is a box.
    let plan = occamy::network::load(
        std::path::Path::new("networks/farm_main.ron"),
        &[],
        &occamy::network::Registry::with_builtins(),
    )
    .unwrap();
    for p in &plan.processes {
        assert!(
            text.contains(&format!(">{}</text>", p.name)),
            "{} missing",
            p.name
        );
    }
    assert!(text.contains("class=\"cluster\""), "{text}");
    // The same with OCCAMY_LAYOUT=builtin, whether or not Graphviz is installed.
    let again = dir.join("y.svg");
    let r = occamy(
        &["dot", "networks/farm_main.ron", "--svg", s(&again)],
        &[("OCCAMY_LAYOUT", "builtin")],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), text);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn occamy_dot_on_a_bad_file_exits_2() {
    let r = occamy(&["dot", "tests/networks/unknown_kind.ron"], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(r.stdout, "");
}

#[test]
fn occamy_run_dot_has_message_counts() {
    let dir = scratch("run");
    let out = dir.join("out.dot");
    let r = occamy(&["run", "networks/pipeline.ron", "--dot", s(&out)], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let dot = std::fs::read_to_string(&out).unwrap();
    assert!(dot.contains("label=\"nums: i64\\n10 msgs\""), "{dot}");
    assert!(dot.contains("label=\"sums: i64\\n10 msgs\""), "{dot}");
    assert!(dot.contains("ended normally"), "{dot}");
    assert!(dot.contains("\\nretired\""), "{dot}");
    if have_dot() {
        assert_renders("occamy run --dot", &dot);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn occamy_run_dot_shows_a_deadlock() {
    let dir = scratch("deadlock");
    let out = dir.join("out.dot");
    let r = occamy(
        &[
            "run",
            "tests/networks/deadlock_two.ron",
            "--deadlock-check-ms",
            "20",
            "--dot",
            s(&out),
        ],
        &[],
    );
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    let dot = std::fs::read_to_string(&out).unwrap();
    assert!(
        dot.contains("deadlock: a waits to receive on c2 from b"),
        "{dot}"
    );
    assert!(dot.contains("\\ndeadlocked\""), "{dot}");
    assert!(dot.contains("penwidth=3.5"), "{dot}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_process_with_a_thread_of_its_own_is_drawn_so() {
    let reg = Registry::with_builtins();
    let plan = network::load(Path::new("tests/networks/scheduler_threads.ron"), &[], &reg)
        .expect("the network checks");
    let graph = Graph::from_plan(&plan);
    let dot = graph.to_dot(&DotOptions::default());
    assert!(dot.contains("succ\\n(succ, own thread)"), "{dot}");
    assert_eq!(dot.matches("peripheries=2").count(), 1, "{dot}");
    let json = graph.to_json();
    assert_eq!(json.matches("\"own_thread\": true").count(), 1, "{json}");
}
