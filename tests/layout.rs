//! occamy's own graph layout (`Graph::layout`, `Graph::to_svg`): for every network in
//! networks/, nodes do not overlap, sub-network boxes hold their nodes and nest, edges run
//! from their source's side to their target's, and the same graph gives the same drawing.

use std::path::Path;

use occamy::graph::{DotOptions, Graph};
use occamy::graph::{Layout, PlacedNode, Shape, ViewOptions};
use occamy::network::Registry;

fn plans() -> Vec<occamy::network::Plan> {
    let reg = Registry::with_builtins();
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir("networks")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    for f in files {
        // The million-process ring at a size a test can draw.
        let sets: Vec<(String, String)> = if f.ends_with("ring_green.ron") {
            vec![("n".into(), "2000".into())]
        } else {
            Vec::new()
        };
        match occamy::network::load(&f, &sets, &reg) {
            Ok(p) => out.push(p),
            // Networks of the examples' own kinds load only in their launchers.
            Err(e) if e.to_string().contains("unknown kind") => {}
            // A sub-network on its own (farm.ron) is checked where it is included.
            Err(e) if e.to_string().contains("meant to be included") => {}
            Err(e) => panic!("{e}"),
        }
    }
    // And the test networks that are valid (most of them are there for their errors).
    let mut tests: Vec<_> = std::fs::read_dir("tests/networks")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    tests.sort();
    out.extend(
        tests
            .iter()
            .filter_map(|f| occamy::network::load(f, &[], &reg).ok()),
    );
    assert!(out.len() >= 15, "only {} networks to draw", out.len());
    out
}

fn overlap(a: &PlacedNode, b: &PlacedNode) -> bool {
    (a.x - b.x).abs() * 2.0 < a.w + b.w - 0.01 && (a.y - b.y).abs() * 2.0 < a.h + b.h - 0.01
}

fn check(name: &str, l: &Layout) {
    for (i, a) in l.nodes.iter().enumerate() {
        assert!(
            a.x - a.w / 2.0 >= 0.0 && a.y - a.h / 2.0 >= 0.0,
            "{name}: {} off the page",
            a.id
        );
        assert!(
            a.x + a.w / 2.0 <= l.width + 0.01 && a.y + a.h / 2.0 <= l.height + 0.01,
            "{name}: {} off the page",
            a.id
        );
        for b in &l.nodes[i + 1..] {
            assert!(!overlap(a, b), "{name}: {} overlaps {}", a.id, b.id);
        }
    }
    for c in &l.clusters {
        for parent in l
            .clusters
            .iter()
            .filter(|p| p.path.len() + 1 == c.path.len() && c.path.starts_with(&p.path))
        {
            assert!(
                c.x >= parent.x
                    && c.y >= parent.y
                    && c.x + c.w <= parent.x + parent.w + 0.01
                    && c.y + c.h <= parent.y + parent.h + 0.01,
                "{name}: box {:?} outside {:?}",
                c.path,
                parent.path
            );
        }
    }
    for e in &l.edges {
        let from = l.nodes.iter().find(|n| n.id == e.from).unwrap();
        let to = l.nodes.iter().find(|n| n.id == e.to).unwrap();
        let (p, q) = (e.points[0], *e.points.last().unwrap());
        let on_side = |n: &PlacedNode, (x, y): (f64, f64)| {
            (x - n.x).abs() <= n.w / 2.0 + 0.01 && (y - n.y).abs() <= n.h / 2.0 + 0.01
        };
        assert!(
            on_side(from, p),
            "{name}: edge {} starts off {}",
            e.id,
            from.id
        );
        assert!(on_side(to, q), "{name}: edge {} ends off {}", e.id, to.id);
    }
}

#[test]
fn every_network_lays_out_cleanly() {
    for plan in plans() {
        let g = Graph::from_plan(&plan);
        for opts in [
            ViewOptions::default(),
            ViewOptions {
                collapse: false,
                ..ViewOptions::default()
            },
            ViewOptions {
                live: true,
                ..ViewOptions::default()
            },
        ] {
            let l = g.layout(&opts);
            check(&plan.name, &l);
            // Every process is drawn, or stands in a group that is.
            let members: usize = l
                .nodes
                .iter()
                .filter(|n| {
                    n.shape != Shape::Junction
                        && n.shape != Shape::Unknown
                        && n.shape != Shape::Barrier
                })
                .map(|n| n.members.len())
                .sum();
            assert_eq!(members, plan.processes.len(), "{}", plan.name);
        }
        // Sub-networks are boxes, holding their processes.
        let l = g.layout(&ViewOptions {
            collapse: false,
            ..ViewOptions::default()
        });
        for p in plan.processes.iter().filter(|p| !p.cluster.is_empty()) {
            let n = l.nodes.iter().find(|n| n.lines[0] == p.name).unwrap();
            let c = l
                .clusters
                .iter()
                .find(|c| c.path[..] == p.cluster[..])
                .unwrap();
            assert!(
                n.x - n.w / 2.0 >= c.x && n.x + n.w / 2.0 <= c.x + c.w,
                "{} outside {:?}",
                p.name,
                c.path
            );
            assert!(
                n.y - n.h / 2.0 >= c.y && n.y + n.h / 2.0 <= c.y + c.h,
                "{} outside {:?}",
                p.name,
                c.path
            );
        }
        assert_eq!(
            serde_json::to_string(&g.layout(&ViewOptions::default())).unwrap(),
            serde_json::to_string(&g.layout(&ViewOptions::default())).unwrap(),
            "{}: the same drawing twice",
            plan.name
        );
    }
}

#[test]
fn a_pipeline_runs_left_to_right() {
    let plan = occamy::network::load(
        Path::new("networks/pipeline.ron"),
        &[],
        &Registry::with_builtins(),
    )
    .unwrap();
    let l = Graph::from_plan(&plan).layout(&ViewOptions::default());
    let xs: Vec<f64> = l.nodes.iter().map(|n| n.x).collect();
    assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
    let ys: Vec<f64> = l.nodes.iter().map(|n| n.y).collect();
    assert!(
        ys.iter().all(|&y| (y - ys[0]).abs() < 0.01),
        "one row: {ys:?}"
    );
}

#[test]
fn the_svg_shows_every_process_and_the_run() {
    let reg = Registry::with_builtins();
    let plan = occamy::network::load(
        Path::new("networks/farm_main.ron"),
        &[("n".into(), "20".into())],
        &reg,
    )
    .unwrap();
    let report = occamy::network::start(&plan, &reg, &occamy::Runtime::new())
        .unwrap()
        .wait();
    let mut g = Graph::from_plan(&plan);
    g.annotate_run(&report);
    let svg = g.to_svg(&DotOptions::default());
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    for p in &plan.processes {
        assert!(
            svg.contains(&format!(">{}</text>", p.name)),
            "{} missing",
            p.name
        );
    }
    assert!(svg.contains(">20 msgs</text>"), "messages carried on x");
    assert!(svg.contains(">ended normally</text>"), "the note");
    let collapsed = g.to_svg(&DotOptions {
        collapse_replicated: true,
    });
    assert!(collapsed.contains(">farm.worker[0..3] ×4</text>"));
}
