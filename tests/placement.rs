//! Placement of processes on MPI ranks (docs/network-format.md, "Placement"): the ranks
//! each policy and each `rank:` gives, what crosses ranks, ranks out of range with their
//! positions, the reserved `$ranks`, and `occamy check --ranks N`.

mod common;

use std::path::{Path, PathBuf};

use occamy::network::{self, Diagnostic, LoadOptions, Plan, Registry};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_at(path: &Path, ranks: u32, sets: &[(&str, &str)]) -> Result<Plan, Vec<Diagnostic>> {
    let opts = LoadOptions {
        sets: sets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ranks,
    };
    network::load_with(path, &opts, &Registry::with_builtins()).map_err(|e| e.diagnostics)
}

fn ok(name: &str, ranks: u32) -> Plan {
    load_at(&repo().join("tests/networks").join(name), ranks, &[])
        .unwrap_or_else(|d| panic!("{name} should load on {ranks} ranks: {d:#?}"))
}

fn errors(name: &str, ranks: u32) -> Vec<Diagnostic> {
    match load_at(&repo().join("tests/networks").join(name), ranks, &[]) {
        Ok(p) => panic!("{name} should not load on {ranks} ranks: {}", p.summary()),
        Err(d) => d,
    }
}

/// Each process's name and rank, in plan order.
fn ranks(plan: &Plan) -> Vec<(String, u32)> {
    plan.processes
        .iter()
        .map(|p| (p.name.clone(), p.rank))
        .collect()
}

fn expect(plan: &Plan, want: &[(&str, u32)]) {
    let want: Vec<(String, u32)> = want.iter().map(|(n, r)| (n.to_string(), *r)).collect();
    assert_eq!(ranks(plan), want, "ranks of `{}`", plan.name);
}

/// A sub-network of one `id` between its ports.
const SUB: &str = r#"Network(
    name: "sub",
    channels: { "a": "u64", "b": "u64" },
    processes: { "p": (kind: "id", ports: { "in": "a", "out": "b" }) },
    ports: { "in": (type: "u64", dir: In, channel: "a"), "out": (type: "u64", dir: Out, channel: "b") },
)"#;

/// A network file written to a fresh directory (for the cases a fixture would only
/// repeat), with its sub-network files.
fn temp(test: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("occamy-placement-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir.join(files[0].0)
}

#[test]
fn round_robin_places_replicas_and_keeps_a_replicated_sub_network_together() {
    let plan = ok("placement_round_robin.ron", 3);
    assert_eq!(plan.ranks(), 3);
    expect(
        &plan,
        &[
            ("src[0]", 0),
            ("src[1]", 1),
            // farm[0] on rank 0: all of it.
            ("farm[0].deal", 0),
            ("farm[0].worker[0]", 0),
            ("farm[0].worker[1]", 0),
            ("farm[0].gather", 0),
            // farm[1] on rank 1 (its outermost replica index, not the workers' own),
            // but for the `gather` that names rank 0 itself.
            ("farm[1].deal", 1),
            ("farm[1].worker[0]", 1),
            ("farm[1].worker[1]", 1),
            ("farm[1].gather", 0),
            // Their own `rank: "($i + 1) % $ranks"` wins over the policy.
            ("sink[0]", 1),
            ("sink[1]", 2),
        ],
    );
    // Between ranks: x[1] is local (src[1] and farm[1].deal on 1), farm[1]'s results
    // cross to its gather on 0, and the sinks are one rank further on.
    let cross: Vec<&str> = plan
        .cross_rank_channels()
        .map(|c| plan.channels[c].name.as_str())
        .collect();
    assert_eq!(
        cross,
        ["y[0]", "y[1]", "farm[1].from[0]", "farm[1].from[1]"]
    );
    assert_eq!(plan.processes_on(2).collect::<Vec<_>>(), [11]);
}

#[test]
fn with_one_rank_every_policy_puts_everything_on_rank_0() {
    for f in ["placement_round_robin.ron", "placement_by_subnetwork.ron"] {
        let plan = ok(f, 1);
        assert_eq!(plan.ranks(), 1);
        assert!(plan.processes.iter().all(|p| p.rank == 0), "{f}");
        assert_eq!(plan.cross_rank_channels().count(), 0, "{f}");
    }
    // And `network::load` is a load on one rank.
    let plan = network::load(
        &repo().join("tests/networks/placement_round_robin.ron"),
        &[],
        &Registry::with_builtins(),
    )
    .unwrap();
    assert_eq!(plan.ranks(), 1);
}

#[test]
fn by_subnetwork_gives_each_top_level_instance_the_next_rank() {
    let plan = ok("placement_by_subnetwork.ron", 3);
    let got = ranks(&plan);
    let rank_of = |name: &str| {
        got.iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no process `{name}` in {got:?}"))
            .1
    };
    // The top-level file's own processes: rank 0.
    for p in ["src", "sink", "srcs[0]", "srcs[1]", "sinks", "last"] {
        assert_eq!(rank_of(p), 0, "{p}");
    }
    // Instance 0 (`a`), 1 and 2 (`b[0]`, `b[1]`), 3 (`c`, which names its own rank):
    // `a` on 0, `b[0]` on 1, `b[1]` on 2, `c` on `$ranks - 1`; every `gather` names 0.
    for (inst, r) in [("a", 0), ("b[0]", 1), ("b[1]", 2), ("c", 2)] {
        assert_eq!(rank_of(&format!("{inst}.deal")), r, "{inst}");
        assert_eq!(rank_of(&format!("{inst}.worker[0]")), r, "{inst}");
        assert_eq!(rank_of(&format!("{inst}.gather")), 0, "{inst}");
    }
    // Four instances on two ranks: instance k on k % 2.
    let plan = ok("placement_by_subnetwork.ron", 2);
    let got = ranks(&plan);
    for (inst, r) in [("a", 0), ("b[0]", 1), ("b[1]", 0), ("c", 1)] {
        let name = format!("{inst}.deal");
        assert_eq!(
            got.iter().find(|(n, _)| *n == name).map(|x| x.1),
            Some(r),
            "{name}"
        );
    }
}

#[test]
fn without_a_policy_only_named_ranks_move() {
    let file = temp(
        "nopolicy",
        &[(
            "n.ron",
            r#"Network(
    name: "n",
    params: { "n": 4 },
    channels: { "c": (type: "u64", count: "$n") },
    processes: {
        "src":  (kind: "numbers", replicate: (count: "$n", index: "k"), params: { "count": 1 },
                 ports: { "out": "c[$k]" }),
        "sink": (kind: "discard", replicate: (count: "$n", index: "k"),
                 rank: "($k * 3 + 1) % $ranks", ports: { "in": "c[$k]" }),
    },
)"#,
        )],
    );
    let plan = load_at(&file, 4, &[]).unwrap();
    let got: Vec<u32> = plan.processes.iter().map(|p| p.rank).collect();
    assert_eq!(got, [0, 0, 0, 0, 1, 0, 3, 2]);
    // Params are in scope, and `$ranks` follows the run.
    let plan = load_at(&file, 5, &[("n", "2")]).unwrap();
    let got: Vec<u32> = plan.processes.iter().map(|p| p.rank).collect();
    assert_eq!(got, [0, 0, 1, 4]);
}

#[test]
fn an_instance_rank_places_everything_inside_that_names_none() {
    let sub = std::fs::read_to_string(repo().join("tests/networks/placement_sub.ron")).unwrap();
    let file = temp(
        "instance",
        &[
            (
                "main.ron",
                r#"Network(
    name: "main",
    placement: RoundRobin,
    channels: { "x": "u64", "y": "u64" },
    processes: {
        "src":  (kind: "numbers", params: { "count": 3 }, ports: { "out": "x" }),
        "farm": (network: "placement_sub.ron", rank: 2, params: { "workers": 3 },
                 ports: { "in": "x", "out": "y" }),
        "sink": (kind: "discard", ports: { "in": "y" }),
    },
)"#,
            ),
            ("placement_sub.ron", &sub),
        ],
    );
    let plan = load_at(&file, 3, &[]).unwrap();
    // The instance's rank beats the policy (the workers are replicas), and the
    // sub-network's own `rank: 0` beats the instance's.
    expect(
        &plan,
        &[
            ("src", 0),
            ("farm.deal", 2),
            ("farm.worker[0]", 2),
            ("farm.worker[1]", 2),
            ("farm.worker[2]", 2),
            ("farm.gather", 0),
            ("sink", 0),
        ],
    );
}

#[test]
fn a_rank_out_of_range_is_an_error_at_its_value_once_per_declaration() {
    let file = repo().join("tests/networks/placement_range.ron");
    let d = errors("placement_range.ron", 2);
    assert_eq!(d.len(), 2, "{d:#?}");
    // src[1] is the first replica out of range ($i + 1 = 2 on 2 ranks); src[2] and src[3]
    // are counted, not repeated.
    assert_eq!(d[0].file, file);
    assert_eq!(d[0].pos, Some((7, 24)));
    assert_eq!(d[0].context, ["process `src[1]`"]);
    assert_eq!(
        d[0].message,
        "rank 2 is out of range: this run has 2 ranks (0..=1); so are those of 2 more replicas"
    );
    assert!(d[0].help.as_deref().unwrap().contains("--ranks N"), "{d:?}");
    assert_eq!(d[1].pos, Some((10, 65)));
    assert_eq!(d[1].context, ["process `one`"]);
    assert_eq!(
        d[1].message,
        "rank -1 is out of range: this run has 2 ranks (0..=1)"
    );
    assert!(
        d[1].help.as_deref().unwrap().contains("count from 0"),
        "{d:?}"
    );
    // On one rank the first replica is already out: one rank, 0..=0.
    let d = errors("placement_range.ron", 1);
    assert_eq!(
        d[0].message,
        "rank 1 is out of range: this run has 1 rank (0..=0); so are those of 3 more replicas"
    );
    assert_eq!(d[0].context, ["process `src[0]`"]);
    // On five ranks only `one` is wrong; `last`, on its own thread, may be on any rank.
    let d = errors("placement_range.ron", 5);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].context, ["process `one`"]);
}

#[test]
fn an_instance_rank_out_of_range_names_the_instance() {
    let file = temp(
        "instance_range",
        &[
            (
                "main.ron",
                r#"Network(
    name: "main",
    channels: { "x": "u64", "y": "u64" },
    processes: {
        "src":  (kind: "numbers", params: { "count": 3 }, ports: { "out": "x" }),
        "farm": (network: "sub.ron", rank: "$ranks", ports: { "in": "x", "out": "y" }),
        "sink": (kind: "discard", ports: { "in": "y" }),
    },
)"#,
            ),
            ("sub.ron", SUB),
        ],
    );
    let d = load_at(&file, 2, &[]).unwrap_err();
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].pos, Some((6, 44)));
    assert_eq!(d[0].context, ["process `farm`"]);
    assert_eq!(
        d[0].message,
        "rank 2 is out of range: this run has 2 ranks (0..=1)"
    );
}

#[test]
fn mistakes_in_rank_and_placement_are_clear_errors() {
    let d = errors("placement_unknown.ron", 1);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].pos, Some((4, 16)));
    assert_eq!(
        d[0].message,
        "unknown placement `RoundRobbin` (did you mean `RoundRobin`?)"
    );
    assert!(d[0]
        .help
        .as_deref()
        .unwrap()
        .contains("placement: BySubnetwork"));

    let file = temp(
        "mistakes",
        &[
            (
                "main.ron",
                r#"Network(
    name: "main",
    params: { "ranks": 2 },
    channels: { "x": "u64", "y": "u64" },
    processes: {
        "src":  (kind: "numbers", params: { "count": 3 }, rank: "$rank", ports: { "out": "x" }),
        "farm": (network: "sub.ron", params: { "ranks": 4 }, ports: { "in": "x", "out": "y" }),
        "sink": (kind: "discard", rank: "zero", ports: { "in": "y" }),
    },
)"#,
            ),
            (
                "sub.ron",
                r#"Network(
    name: "sub",
    placement: RoundRobin,
    channels: { "a": "u64", "b": "u64" },
    processes: { "p": (kind: "id", ports: { "in": "a", "out": "b" }) },
    ports: { "in": (type: "u64", dir: In, channel: "a"), "out": (type: "u64", dir: Out, channel: "b") },
)"#,
            ),
        ],
    );
    let d = load_at(&file, 2, &[("ranks", "3")]).unwrap_err();
    let shown: Vec<String> = d.iter().map(|d| d.to_string()).collect();
    let has = |pos: Option<(usize, usize)>, m: &str| {
        assert!(
            d.iter().any(|d| d.pos == pos && d.message.contains(m)),
            "expected `{m}` at {pos:?} among:\n{}",
            shown.join("\n")
        )
    };
    has(Some((3, 15)), "`ranks` is reserved");
    has(None, "`ranks` cannot be set as a param");
    has(
        Some((6, 65)),
        "`rank`: in expression `$rank`: unknown name `$rank` (did you mean `ranks`?)",
    );
    has(Some((7, 9)), "`ranks` cannot be passed to a sub-network");
    has(
        Some((3, 5)),
        "a sub-network cannot choose the placement policy",
    );
    has(Some((8, 41)), "`rank`: in expression `zero`");
    assert_eq!(d.len(), 6, "{}", shown.join("\n"));
}

#[test]
fn the_checker_finds_a_rank_a_program_set_out_of_range() {
    let reg = Registry::with_builtins();
    let mut plan = ok("placement_round_robin.ron", 2);
    assert!(network::check(&plan, &reg).is_empty());
    // A program re-places the plan by hand: both `sink` replicas on a rank the plan lacks.
    let sinks: Vec<usize> = (0..plan.processes.len())
        .filter(|&i| plan.processes[i].name.starts_with("sink["))
        .collect();
    assert_eq!(sinks.len(), 2);
    for &i in &sinks {
        plan.processes[i].rank = 2;
    }
    let d = network::check(&plan, &reg);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].code, "E0801");
    assert_eq!(d[0].context, ["process `sink[0]`"]);
    assert_eq!(d[0].pos, plan.processes[sinks[0]].pos);
    assert_eq!(
        d[0].message,
        "rank 2 is out of range: this run has 2 ranks (0..=1); so is that of 1 more replica"
    );
}

#[test]
#[cfg(target_pointer_width = "64")]
fn a_million_processes_cost_no_more_for_their_ranks() {
    // A rank is a `u32` beside the `bool` that was already there: the process record
    // does not grow.
    assert!(
        std::mem::size_of::<occamy::network::PlanProcess>() <= 184,
        "PlanProcess is {} bytes",
        std::mem::size_of::<occamy::network::PlanProcess>()
    );
}

#[cfg(feature = "launcher")]
mod cli {
    use super::common::occamy;

    #[test]
    fn check_with_ranks_summarises_the_placement() {
        let r = occamy(&[
            "check",
            "tests/networks/placement_round_robin.ron",
            "--ranks",
            "3",
        ]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert_eq!(
            r.stdout,
            "ok: network `placement_round_robin`: 12 processes, 12 channels, 5 kinds \
             (discard, merge, numbers, round_robin, succ); placed on 3 ranks (6 + 5 + 1 \
             processes), 4 channels between ranks\n"
        );
        // On one rank the summary is as it always was.
        let r = occamy(&["check", "tests/networks/placement_round_robin.ron"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(!r.stdout.contains("placed"), "{}", r.stdout);
    }

    #[test]
    fn check_with_ranks_counts_the_barriers_whose_parties_are_on_several_ranks() {
        let r = occamy(&["check", "tests/networks/mpi_barrier.ron", "--ranks", "2"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(
            r.stdout.ends_with(
                "placed on 2 ranks (3 + 2 processes), 2 channels and 1 barrier between ranks\n"
            ),
            "{}",
            r.stdout
        );
    }

    #[test]
    fn check_with_too_few_ranks_exits_2_at_the_rank() {
        let r = occamy(&[
            "check",
            "tests/networks/placement_range.ron",
            "--ranks",
            "3",
        ]);
        assert_eq!(r.code, Some(2), "{}", r.stdout);
        assert!(
            r.stderr.starts_with(
                "tests/networks/placement_range.ron:7:24: error[E0801]: process `src[2]`: rank 3 is \
                 out of range: this run has 3 ranks (0..=2); so is that of 1 more replica\n"
            ),
            "{}",
            r.stderr
        );
        let r = occamy(&[
            "check",
            "tests/networks/placement_range.ron",
            "--ranks",
            "0",
        ]);
        assert_eq!(r.code, Some(2));
        assert!(r.stderr.contains("--ranks"), "{}", r.stderr);
    }

    #[test]
    fn check_json_with_ranks_gives_the_placement_and_its_errors() {
        let r = occamy(&[
            "check",
            "--json",
            "tests/networks/placement_round_robin.ron",
            "--ranks",
            "3",
        ]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["ok"], true);
        assert_eq!(v["ranks"], 3);
        let summary = v["summary"].as_str().unwrap();
        assert!(
            summary.ends_with("placed on 3 ranks (6 + 5 + 1 processes), 4 channels between ranks"),
            "{summary}"
        );
        let r = occamy(&[
            "check",
            "--json",
            "tests/networks/placement_range.ron",
            "--ranks",
            "3",
        ]);
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(
            v["diagnostics"][0],
            serde_json::json!({
                "file": "tests/networks/placement_range.ron",
                "line": 7, "column": 24, "code": "E0801",
                "context": ["process `src[2]`"],
                "message": "rank 3 is out of range: this run has 3 ranks (0..=2); so is that of 1 more replica",
                "help": "run on more ranks (`--ranks N`), or compute the rank modulo `$ranks` (`rank: \"$i % $ranks\"`)",
            })
        );
    }

    #[test]
    fn dot_json_gives_each_process_its_rank_when_there_are_several() {
        let file = "tests/networks/placement_round_robin.ron";
        let r = occamy(&["dot", file, "--ranks", "2", "--json"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["ranks"], 2);
        let ranks: Vec<(&str, u64)> = v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["role"] == "process")
            .map(|n| (n["name"].as_str().unwrap(), n["rank"].as_u64().unwrap()))
            .collect();
        assert_eq!(ranks.len(), 12);
        assert!(ranks.contains(&("farm[1].worker[0]", 1)), "{ranks:?}");
        assert!(ranks.contains(&("farm[1].gather", 0)), "{ranks:?}");
        // On one rank, the schema's output is as before: no `rank`, no `ranks`.
        let r = occamy(&["dot", file, "--json"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        assert!(!r.stdout.contains("\"rank"), "{}", r.stdout);
        // And the DOT is coloured by rank.
        let r = occamy(&["dot", file, "--ranks", "2"]);
        assert!(
            r.stdout.contains("subgraph cluster_ranks {"),
            "{}",
            r.stdout
        );
    }
}
