//! The live view's HTTP endpoints (`occamy::viz`, `occamy run --viz`): the page, the
//! graph in `occamy dot --json`'s schema, the drawing, the live state and its event
//! stream, the token and the loopback default. Requests go to 127.0.0.1 only.
#![cfg(feature = "viz")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use common::{watchdog, LIMIT};
use occamy::graph::Graph;
use occamy::network::Registry;
use occamy::observe::Watch;
use occamy::viz::Viewer;
use occamy::{Process, Runtime};
use serde_json::Value;

/// One GET, with this Host header (default: the address itself): status and body.
fn get_as(addr: std::net::SocketAddr, path: &str, host: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(LIMIT)))
        .unwrap();
    let host = host.map_or_else(|| addr.to_string(), str::to_string);
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("a whole response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    get_as(addr, path, None)
}

fn json(addr: std::net::SocketAddr, path: &str) -> Value {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// The event stream: calls `f` with each state until it returns true.
fn events(addr: std::net::SocketAddr, query: &str, mut f: impl FnMut(&Value) -> bool) {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(s, "GET /events{query} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    let mut event = String::new();
    loop {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0, "the stream ended");
        if line.starts_with("content-type") || line.starts_with("Content-Type") {
            assert!(line.contains("text/event-stream"), "{line}");
        }
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.trim().to_string();
        } else if let Some(data) = line.strip_prefix("data: ") {
            assert_eq!(event, "state");
            let v: Value = serde_json::from_str(data).expect("a JSON state");
            if f(&v) {
                return;
            }
        }
    }
}

/// networks/pipeline.ron with `print` swapped for `discard`, so the tests print nothing.
fn pipeline_plan(count: u64) -> occamy::network::Plan {
    let mut plan = occamy::network::load(
        Path::new("networks/pipeline.ron"),
        &[("count".into(), count.to_string())],
        &Registry::with_builtins(),
    )
    .expect("pipeline.ron loads");
    plan.processes[3].kind = "discard".into();
    plan.processes[3].params = Default::default();
    plan
}

#[test]
fn it_binds_loopback_by_default_and_serves_the_page_itself() {
    watchdog(LIMIT, "the page", || {
        let watch = Watch::new();
        let v = Viewer::options(&watch).bind("127.0.0.1").unwrap();
        assert!(v.addr().ip().is_loopback());
        assert_ne!(v.addr().port(), 0, "a free port was chosen");
        assert_eq!(v.url(), format!("http://{}/", v.addr()));
        assert_eq!(v.token(), None);
        let (status, page) = get(v.addr(), "/");
        assert_eq!(status, 200);
        assert!(page.contains("<title>occamy view</title>"));
        assert!(page.contains("new EventSource"), "the script is inline");
        // Nothing is loaded from anywhere else (SVG's namespace is a name, not a request).
        let page = page.replace("http://www.w3.org/2000/svg", "");
        for bad in ["https://", "http://", "src=\"//", "<link"] {
            assert!(!page.contains(bad), "the page refers to {bad}");
        }
        assert_eq!(get(v.addr(), "/nothing").0, 404);
    });
}

#[test]
fn other_addresses_need_public_and_then_a_token() {
    watchdog(LIMIT, "the token", || {
        let watch = Watch::new();
        let e = Viewer::options(&watch).bind("0.0.0.0").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("--viz-public"), "{e}");
        // Public (here on loopback, so that nothing but this machine can reach it).
        let v = Viewer::options(&watch)
            .public(true)
            .bind("127.0.0.1:0")
            .unwrap();
        let token = v.token().expect("a token").to_string();
        assert_eq!(token.len(), 32);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(v.url(), format!("http://{}/?token={token}", v.addr()));
        // The token with its first digit changed (to another digit: one in sixteen tokens
        // starts with 0).
        let wrong = format!(
            "{}{}",
            if token.starts_with('0') { '1' } else { '0' },
            &token[1..]
        );
        for path in ["/", "/graph.json", "/layout.json", "/state.json", "/events"] {
            assert_eq!(get(v.addr(), path).0, 403, "{path} without the token");
            assert_eq!(
                get(v.addr(), &format!("{path}?token={wrong}")).0,
                403,
                "{path} with a wrong token"
            );
        }
        assert_eq!(get(v.addr(), &format!("/state.json?token={token}")).0, 200);
        let other = Viewer::options(&watch)
            .public(true)
            .bind("127.0.0.1")
            .unwrap();
        assert_ne!(other.token(), v.token(), "each view has its own token");
    });
}

#[test]
fn a_name_that_is_not_this_machine_is_refused() {
    watchdog(LIMIT, "the host check", || {
        let watch = Watch::new();
        let v = Viewer::options(&watch).bind("127.0.0.1").unwrap();
        let port = v.addr().port();
        let evil = format!("rebound.example:{port}");
        assert_eq!(get_as(v.addr(), "/state.json", Some(&evil)).0, 403);
        let local = format!("localhost:{port}");
        assert_eq!(get_as(v.addr(), "/state.json", Some(&local)).0, 200);
    });
}

#[test]
fn graph_json_is_what_occamy_dot_json_writes() {
    watchdog(LIMIT, "graph.json", || {
        let plan = pipeline_plan(5);
        let watch = Watch::new();
        let v = Viewer::options(&watch)
            .graph(Graph::from_plan(&plan))
            .bind("127.0.0.1")
            .unwrap();
        let report = occamy::network::start(
            &plan,
            &Registry::with_builtins(),
            &Runtime::new().watch(&watch),
        )
        .unwrap()
        .wait();
        assert!(report.result.is_ok());
        let served = json(v.addr(), "/graph.json");
        let dot: Value = serde_json::from_str(&Graph::from_plan(&plan).to_json()).unwrap();
        assert_eq!(served["schema"], "occamy-graph/1");
        assert_eq!(served["name"], "pipeline");
        // The same nodes and edges, with the same fields, annotated with the run.
        let ids = |v: &Value, k: &str, f: &str| -> Vec<String> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x[f].to_string())
                .collect()
        };
        assert_eq!(ids(&served, "nodes", "id"), ids(&dot, "nodes", "id"));
        assert_eq!(
            ids(&served, "edges", "channel"),
            ids(&dot, "edges", "channel")
        );
        let keys = |x: &Value| -> Vec<String> { x.as_object().unwrap().keys().cloned().collect() };
        assert_eq!(keys(&served["nodes"][0]), keys(&dot["nodes"][0]));
        assert_eq!(keys(&served["edges"][0]), keys(&dot["edges"][0]));
        assert_eq!(served["edges"][0]["carried"], 5);
        assert_eq!(served["nodes"][0]["end"], "ok");
    });
}

#[test]
fn the_event_stream_moves_while_the_network_runs() {
    watchdog(LIMIT, "the event stream", || {
        let plan = pipeline_plan(1_000_000_000);
        let watch = Watch::new();
        let v = Viewer::options(&watch)
            .graph(Graph::from_plan(&plan))
            .bind("127.0.0.1")
            .unwrap();
        let reg = Registry::with_builtins();
        let running = occamy::network::start(&plan, &reg, &Runtime::new().watch(&watch)).unwrap();
        let mut first: Option<u64> = None;
        let mut seqs = Vec::new();
        events(v.addr(), "", |s| {
            assert_eq!(s["schema"], "occamy-state/1");
            assert_eq!(s["totals"]["processes"], 4);
            seqs.push(s["seq"].as_u64().unwrap());
            let carried = s["channels"]["nums"][0].as_u64().unwrap_or(0);
            let states: Vec<&str> = ["p0", "p1", "p2", "p3"]
                .iter()
                .filter_map(|p| s["processes"][p]["s"].as_str())
                .collect();
            assert!(
                states
                    .iter()
                    .all(|x| ["running", "send", "recv", "elsewhere"].contains(x)),
                "{states:?}"
            );
            match first {
                None => {
                    first = Some(carried);
                    false
                }
                Some(f) => carried > f && s["channels"]["nums"][1].as_f64().unwrap() > 0.0,
            }
        });
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        // Blocked processes say on what and for whom (the graph's node ids).
        let s = json(v.addr(), "/state.json");
        if s["processes"]["p0"]["s"] == "send" {
            assert_eq!(s["processes"]["p0"]["on"][0], "nums");
            assert_eq!(s["processes"]["p0"]["for"][0], "p1");
        }
        running.poison();
        let report = running.wait();
        assert!(report.result.is_ok());
        events(v.addr(), "", |s| s["finished"] == true);
    });
}

#[test]
fn a_deadlock_and_its_cycle_are_in_the_state_and_the_drawing() {
    watchdog(LIMIT, "deadlock", || {
        let watch = Watch::new();
        let v = Viewer::options(&watch)
            .name("stuck")
            .bind("127.0.0.1")
            .unwrap();
        let (a_tx, a_rx) = occamy::channel::<u8>();
        let (b_tx, b_rx) = occamy::channel::<u8>();
        a_tx.set_name("a_to_b");
        b_tx.set_name("b_to_a");
        let body = |(rx, tx): (occamy::Receiver<u8>, occamy::Sender<u8>)| -> occamy::Result {
            tx.send(rx.recv()?)?;
            Ok(())
        };
        let out = Runtime::new()
            .deadlock_check_interval(Duration::from_millis(20))
            .watch(&watch)
            .run([
                Process::with("a", (b_rx, a_tx), body),
                Process::with("b", (a_rx, b_tx), body),
            ]);
        assert!(out.deadlock.is_some());
        let s = json(v.addr(), "/state.json");
        assert_eq!(s["name"], "stuck");
        assert_eq!(s["finished"], true);
        let d = &s["deadlock"];
        assert!(d["text"]
            .as_str()
            .unwrap()
            .starts_with("deadlock: a waits to receive"));
        let mut cycle: Vec<&str> = d["cycle"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        cycle.sort();
        assert_eq!(cycle, ["p0", "p1"]);
        // A network built in code names its channels by runtime id.
        assert_eq!(d["cycle_channels"].as_array().unwrap().len(), 2);
        for k in d["cycle_channels"].as_array().unwrap() {
            assert!(k.as_str().unwrap().parse::<u64>().is_ok(), "{k}");
        }
        let layout = json(v.addr(), "/layout.json");
        let edges = layout["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 2);
        assert!(edges.iter().all(|e| e["in_cycle"] == true), "{edges:?}");
        assert!(layout["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["in_cycle"] == true));
    });
}

#[test]
fn layout_json_collapses_expands_and_folds_groups() {
    watchdog(LIMIT, "layout.json", || {
        let plan = occamy::network::load(
            Path::new("networks/ring.ron"),
            &[("n".into(), "100".into())],
            &Registry::with_builtins(),
        )
        .unwrap();
        let watch = Watch::new();
        let v = Viewer::options(&watch)
            .graph(Graph::from_plan(&plan))
            .bind("127.0.0.1")
            .unwrap();
        let ids = |l: &Value| -> Vec<String> {
            l["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_string())
                .collect()
        };
        let l = json(v.addr(), "/layout.json");
        assert_eq!(ids(&l), ["p0", "g:node", "p99", "p100"]);
        assert_eq!(l["groups"][0], serde_json::json!(["node", 98, true]));
        let group = &l["nodes"][1];
        assert_eq!(group["members"].as_array().unwrap().len(), 98);
        let l = json(v.addr(), "/layout.json?expand=node");
        let shown = ids(&l);
        assert_eq!(shown.len(), 3 + 16 + 1, "{shown:?}");
        assert!(shown.contains(&"r:node".to_string()));
        let rest = l["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == "r:node")
            .unwrap();
        assert_eq!(rest["members"].as_array().unwrap().len(), 98 - 16);
        // Every edge starts at its source's side and ends at its target's.
        for e in l["edges"].as_array().unwrap() {
            assert!(e["points"].as_array().unwrap().len() >= 2, "{e}");
        }
    });
}

#[test]
fn large_networks_are_sampled_and_say_so() {
    watchdog(LIMIT * 4, "a sampled state", || {
        let n = occamy::viz::MAX_DETAIL + 100;
        let plan = occamy::network::load(
            Path::new("networks/ring.ron"),
            &[("n".into(), n.to_string()), ("laps".into(), "1".into())],
            &Registry::with_builtins(),
        )
        .unwrap();
        let watch = Watch::new();
        let v = Viewer::options(&watch)
            .graph(Graph::from_plan(&plan))
            .bind("127.0.0.1")
            .unwrap();
        let reg = Registry::with_builtins();
        let mut plan = plan;
        // The stopwatch prints its figure: the test keeps quiet.
        let watch_proc = plan.processes.len() - 1;
        plan.processes[watch_proc].kind = "discard".into();
        plan.processes[watch_proc].params = Default::default();
        let rt = Runtime::new()
            .scheduler(occamy::Scheduler::green())
            .watch(&watch);
        let running = occamy::network::start(&plan, &reg, &rt).unwrap();
        let s = json(v.addr(), "/state.json");
        running.poison();
        running.wait();
        if s["totals"]["started"].as_u64().unwrap() as usize > occamy::viz::MAX_DETAIL {
            assert_eq!(s["sampled"], true);
        }
        let s = json(v.addr(), "/state.json");
        assert_eq!(s["sampled"], true);
        assert_eq!(s["totals"]["started"], n as u64 + 1);
        let detailed = s["totals"]["detailed_processes"].as_u64().unwrap();
        assert!(detailed < 100, "{detailed} processes in detail");
        // Counts per group still cover every member.
        let counted: u64 = s["groups"]["node"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(counted, n as u64 - 2);
    });
}

#[test]
fn occamy_run_viz_prints_where_and_exits_with_the_network() {
    let r = common::occamy(&["run", "networks/pipeline.ron", "--viz", "--viz-exit"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let first = r.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("viewing at http://127.0.0.1:"),
        "{}",
        r.stderr
    );
    assert!(first.ends_with('/'), "{first}");
    assert!(r.stdout.contains("sum: 55"), "{}", r.stdout);
    let r = common::occamy(&[
        "run",
        "tests/networks/deadlock_ring3.ron",
        "--viz=127.0.0.1:0",
        "--viz-exit",
    ]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(
        r.stderr.contains("viewing at http://127.0.0.1:"),
        "{}",
        r.stderr
    );
}

#[test]
fn occamy_run_viz_refuses_other_addresses_without_viz_public() {
    let r = common::occamy(&[
        "run",
        "networks/pipeline.ron",
        "--viz",
        "0.0.0.0",
        "--viz-exit",
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("--viz-public"), "{}", r.stderr);
    assert_eq!(r.stdout, "", "the network did not start");
    let r = common::occamy(&["run", "networks/pipeline.ron", "--viz-public"]);
    assert_eq!(r.code, Some(2), "--viz-public needs --viz: {}", r.stderr);
}
