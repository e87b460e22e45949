//! Networks placed on several MPI ranks, drawn: each process in its rank's colour with a
//! legend before a run; after one, the fill says how it ended and the rank keeps a band of
//! its colour (DOT and our own SVG alike). Golden files in tests/golden/
//! (`OCCAMY_BLESS=1 cargo test --test graph_ranks` rewrites them).

mod common;
#[path = "support/graph.rs"]
mod graph_support;

use std::time::Duration;

use common::golden;
use graph_support::{collapsed, load, plain, repo};
use occamy::graph::Graph;
use occamy::network::{self, Plan, ProcessStats, Registry};
use occamy::ProcessEnd;

fn placed(ranks: u32) -> Plan {
    let opts = network::LoadOptions {
        ranks,
        ..Default::default()
    };
    let file = repo().join("tests/networks/placement_round_robin.ron");
    network::load_with(&file, &opts, &Registry::with_builtins()).unwrap()
}

#[test]
fn golden_placed_on_two_ranks() {
    let graph = Graph::from_plan(&placed(2));
    assert_eq!(graph.ranks(), 2);
    let dot = graph.to_dot(&plain());
    // Each process filled with its rank's colour and labelled with it; a legend.
    assert!(
        dot.contains(
            "p6 [label=\"farm[1].deal\\n(round_robin)\\nrank 1\", fillcolor=\"#ffffb3\"];"
        ),
        "{dot}"
    );
    assert!(dot.contains("subgraph cluster_ranks {"), "{dot}");
    golden("placement_round_robin_ranks2.dot", &dot);
    let dot = graph.to_dot(&collapsed());
    assert!(
        dot.contains("src[0..1] ×2\\n(numbers)\\nranks 0..1\""),
        "{dot}"
    );
    golden("placement_round_robin_ranks2_collapsed.dot", &dot);
    // On one rank the same file draws as any other: no colours, no legend.
    let dot =
        Graph::from_plan(&load("tests/networks/placement_round_robin.ron", &[])).to_dot(&plain());
    assert!(
        !dot.contains("cluster_ranks") && !dot.contains("\\nrank ") && !dot.contains("#8dd3c7"),
        "{dot}"
    );
}

#[test]
fn after_a_run_the_fill_says_how_it_ended_and_a_band_the_rank() {
    let plan = placed(2);
    let mut graph = Graph::from_plan(&plan);
    let stats: Vec<ProcessStats> = plan
        .processes
        .iter()
        .map(|p| ProcessStats {
            name: p.name.clone(),
            kind: p.kind.clone(),
            ran: Duration::ZERO,
            end: if p.name == "farm[1].worker[0]" {
                ProcessEnd::Failed
            } else {
                ProcessEnd::Ok
            },
        })
        .collect();
    graph.annotate_stats(&[], &stats);
    let dot = graph.to_dot(&plain());
    // The end's fill down to the last line, then the rank's colour behind `rank N`.
    assert!(
        dot.contains(
            "p0 [label=\"src[0]\\n(numbers)\\nok\\nrank 0\", fillcolor=\"#e6f4ea;0.72:#8dd3c7\", gradientangle=270];"
        ),
        "{dot}"
    );
    assert!(
        dot.contains("p7 [label=\"farm[1].worker[0]\\n(succ)\\nfailed\\nrank 1\", fillcolor=\"#ffd6d6;0.72:#ffffb3\", gradientangle=270, color=red];"),
        "{dot}"
    );
    assert_eq!(dot.matches("gradientangle=270").count(), 12, "{dot}");
    // The legend keeps its colours, and they are on the nodes.
    assert!(
        dot.contains("rank1 [label=\"rank 1\", fillcolor=\"#ffffb3\""),
        "{dot}"
    );
    // A group wholly on one rank gets the band; one across ranks names them, no band.
    let dot = graph.to_dot(&collapsed());
    assert!(
        dot.contains("g1 [label=\"farm[0].worker[0..1] ×2\\n(succ)\\nok ×2\\nrank 0\", shape=box3d, style=filled, fillcolor=\"#e6f4ea;0.72:#8dd3c7\", gradientangle=270];"),
        "{dot}"
    );
    assert!(
        dot.contains("g0 [label=\"src[0..1] ×2\\n(numbers)\\nok ×2\\nranks 0..1\", shape=box3d, style=filled, fillcolor=\"#e6f4ea\"];"),
        "{dot}"
    );
    // Our own SVG: the rank named on its line, its colour as a band behind it.
    let svg = graph.to_svg(&plain());
    assert!(svg.contains(">rank 1</text>"), "{svg}");
    assert_eq!(svg.matches("fill=\"#ffffb3\"/>").count(), 5, "{svg}");
    assert_eq!(svg.matches("fill=\"#8dd3c7\"/>").count(), 7, "{svg}");
}

#[test]
fn before_a_run_the_svg_fills_by_rank() {
    let svg = Graph::from_plan(&placed(2)).to_svg(&plain());
    assert!(svg.contains(">rank 0</text>"), "{svg}");
    assert!(svg.contains("fill=\"#8dd3c7\" stroke="), "{svg}");
    assert!(
        !svg.contains("fill=\"#8dd3c7\"/>"),
        "no band before a run: {svg}"
    );
}
