//! Laying a graph out without Graphviz: the view that is drawn (replicated groups
//! collapsed, or expanded to a sample of their members), and a layered drawing of it from
//! left to right, sub-networks as boxes. The live viewer draws it in the page and
//! `occamy dot --svg` renders it where Graphviz is missing ([`Graph::to_svg`]).
//!
//! The drawing is a Sugiyama-style layered layout: cycles broken by reversing the edges a
//! depth-first search finds going back, layers by longest path, long edges split by dummy
//! points, the order within each layer from barycentre sweeps, and the positions within a
//! layer as the least-squares fit to their neighbours' that keeps the order and the
//! spacing (isotonic regression, pool-adjacent-violators). A sub-network is laid out on
//! its own first and then placed as one box in its parent's layout.

use std::collections::HashMap;
use std::fmt::Write;

use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use super::{replicated_decl, Edge, EdgeRole, Graph, Node, NodeRole};

/// Which replicated groups a drawing shows collapsed.
///
/// # Examples
/// ```
/// let v = occamy::graph::ViewOptions::default();
/// assert!(v.collapse);
/// assert_eq!(v.sample, 32);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewOptions {
    /// Collapse each group of replicated processes (the instances of one declaration)
    /// with more than `collapse_over` members into one node.
    pub collapse: bool,
    /// Groups of at most this many members stay expanded.
    pub collapse_over: usize,
    /// Declarations (`node`, `farm.worker`) to show expanded whatever their size.
    pub expand: Vec<String>,
    /// Declarations to show collapsed whatever their size.
    pub fold: Vec<String>,
    /// An expanded group shows at most this many members, the first ones; the others
    /// stay together as one node.
    pub sample: usize,
    /// Leave room for a live status line in each process and group, and for rates on
    /// the edges (the viewer's page fills them in).
    pub live: bool,
}

impl Default for ViewOptions {
    fn default() -> ViewOptions {
        ViewOptions {
            collapse: true,
            collapse_over: 8,
            expand: Vec::new(),
            fold: Vec::new(),
            sample: 32,
            live: false,
        }
    }
}

/// What a node of a drawing stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// One process.
    Process,
    /// A collapsed group of replicated processes.
    Group,
    /// The members of an expanded group beyond its sample.
    Rest,
    /// Where a shared channel's writers and readers meet.
    Junction,
    /// An end no known process holds.
    Unknown,
    /// A barrier.
    Barrier,
}

/// A node as drawn, with its position (centre) and size.
#[derive(Debug, Clone, Serialize)]
pub struct PlacedNode {
    /// Its id: the graph node's id for one node, `g:DECL` for a collapsed group,
    /// `r:DECL` for the rest of an expanded one.
    pub id: String,
    /// What it stands for.
    pub shape: Shape,
    /// The label's lines.
    pub lines: Vec<String>,
    /// The declaration of a group (or of a replicated process).
    pub decl: Option<String>,
    /// The graph node ids it stands for (one, or a group's members).
    pub members: Vec<String>,
    /// Centre.
    pub x: f64,
    /// Centre.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
    /// How many members its group has in all (groups, and the members of expanded
    /// ones), else 1.
    pub group_size: usize,
    /// A deadlocked process (or group with one).
    pub deadlocked: bool,
    /// On the waits-for cycle of a deadlock.
    pub in_cycle: bool,
}

/// An edge as drawn: one channel (part), or the channels between two drawn nodes one of
/// which is a group.
#[derive(Debug, Clone, Serialize)]
pub struct PlacedEdge {
    /// `e` and a number.
    pub id: String,
    /// The drawn node it leaves.
    pub from: String,
    /// The drawn node it enters.
    pub to: String,
    /// `channel` or `barrier`.
    pub role: &'static str,
    /// The label's lines.
    pub lines: Vec<String>,
    /// The channels it stands for, by key: the runtime id (as a string) where the graph
    /// has one (networks built in code), else the name.
    pub channels: Vec<String>,
    /// The points of its route, first at `from`, last at `to`.
    pub points: Vec<(f64, f64)>,
    /// Where its label goes (centre).
    pub label_at: (f64, f64),
    /// Whether it enters a junction (drawn without an arrowhead).
    pub into_junction: bool,
    /// A deadlocked process waits on it.
    pub waited: bool,
    /// On the waits-for cycle.
    pub in_cycle: bool,
}

/// A sub-network's box.
#[derive(Debug, Clone, Serialize)]
pub struct PlacedCluster {
    /// `cluster_` and a number.
    pub id: String,
    /// Its path.
    pub path: Vec<String>,
    /// Its label (the last part of its path).
    pub label: String,
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// A drawing of a graph: nodes, edges and boxes with their coordinates (pixels, origin
/// top left), as [`Graph::layout`] makes it.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    /// The network's name.
    pub name: String,
    /// Width of the whole drawing.
    pub width: f64,
    /// Height of the whole drawing.
    pub height: f64,
    /// Sub-network boxes, parents before children.
    pub clusters: Vec<PlacedCluster>,
    /// Nodes.
    pub nodes: Vec<PlacedNode>,
    /// Edges.
    pub edges: Vec<PlacedEdge>,
    /// The groups that could be expanded or collapsed: declaration, members, and whether
    /// it is collapsed in this drawing.
    pub groups: Vec<(String, usize, bool)>,
}

/// The width of `s` in pixels at the drawing's 12 px sans-serif, estimated (the page and
/// an SVG viewer measure nothing for us).
pub(crate) fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '.' | ',' | ':' | ';' | '|' | '!' | '\'' | '[' | ']' | '(' | ')' => {
                3.6
            }
            'm' | 'w' | 'M' | 'W' | '×' => 10.5,
            c if c.is_ascii_uppercase() => 8.2,
            c if c.is_ascii_digit() => 7.0,
            _ => 6.9,
        })
        .sum()
}

const LINE: f64 = 15.0;

/// One node of the view, before layout.
struct VNode {
    id: String,
    shape: Shape,
    lines: Vec<String>,
    decl: Option<String>,
    members: Vec<NodeIndex>,
    cluster: Vec<String>,
    group_size: usize,
}

/// One edge of the view, before layout.
struct VEdge {
    from: usize,
    to: usize,
    members: Vec<EdgeIndex>,
}

/// The declaration `n` is a replica of, if it is a replicated process.
fn replica_decl(n: &Node) -> Option<&str> {
    let d = n.decl.as_deref()?;
    (n.role == NodeRole::Process && replicated_decl(&n.name) == Some(d)).then_some(d)
}

fn msgs(n: u64) -> String {
    if n == 1 {
        "1 msg".into()
    } else {
        format!("{n} msgs")
    }
}

/// The key a drawing and the viewer's events name a channel by.
pub(crate) fn channel_key(e: &Edge) -> String {
    match e.channel_id {
        Some(id) => id.to_string(),
        None => e.channel.clone(),
    }
}

fn process_lines(n: &Node) -> Vec<String> {
    let mut lines = vec![n.name.clone()];
    if let Some(k) = &n.kind {
        lines.push(format!("({k})"));
    }
    if let Some(e) = n.end {
        lines.push(e.to_string());
    }
    if n.deadlocked {
        lines.push("deadlocked".into());
    }
    lines
}

fn group_lines(
    g: &Graph,
    decl: &str,
    members: &[NodeIndex],
    total: usize,
    rest: bool,
) -> Vec<String> {
    let names = members.iter().map(|&m| g.g[m].name.as_str());
    let range = super::dot::index_range(names, decl);
    let mut lines = vec![if rest {
        format!("{decl}{range} ({} more)", members.len())
    } else {
        format!("{decl}{range} ×{total}")
    }];
    let kind = g.g[members[0]].kind.as_deref();
    if let Some(k) = kind.filter(|_| members.iter().all(|&m| g.g[m].kind.as_deref() == kind)) {
        lines.push(format!("({k})"));
    }
    let ended = members.iter().filter(|&&m| g.g[m].end.is_some()).count();
    if ended > 0 {
        lines.push(format!("{ended} ended"));
    }
    let dl = members.iter().filter(|&&m| g.g[m].deadlocked).count();
    if dl > 0 {
        lines.push(format!("deadlocked ×{dl}"));
    }
    lines
}

fn edge_lines(ws: &[&Edge]) -> Vec<String> {
    let w = ws[0];
    if w.role == EdgeRole::Barrier {
        return Vec::new();
    }
    let mut first = if ws.len() == 1 || ws.iter().all(|x| x.channel == w.channel) {
        w.channel.clone()
    } else if w.decl.is_some() && ws.iter().all(|x| x.decl == w.decl) {
        format!("{} ×{}", w.decl.as_deref().unwrap_or_default(), ws.len())
    } else {
        format!("{} channels", ws.len())
    };
    if !w.ty.is_empty() && ws.iter().all(|x| x.ty == w.ty) {
        let _ = write!(first, ": {}", w.ty);
    }
    if let Some(b) = w.buffer.filter(|&b| b > 0 && ws.len() == 1) {
        let _ = write!(first, " (buffer {b})");
    }
    let mut lines = vec![first];
    if ws.iter().all(|x| x.carried.is_some()) {
        let mut seen = Vec::new();
        let total: u64 = ws
            .iter()
            .filter(|x| {
                let k = channel_key(x);
                let new = !seen.contains(&k);
                seen.push(k);
                new
            })
            .filter_map(|x| x.carried)
            .sum();
        lines.push(msgs(total));
    }
    lines
}

/// The view of `graph` that `opts` asks for.
/// The nodes and edges drawn, and the groups (declaration, size, collapsed).
type View = (Vec<VNode>, Vec<VEdge>, Vec<(String, usize, bool)>);

fn view(graph: &Graph, opts: &ViewOptions) -> View {
    let g = &graph.g;
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for n in g.node_weights() {
        if let Some(d) = replica_decl(n) {
            *sizes.entry(d).or_default() += 1;
        }
    }
    let mut groups: Vec<(String, usize, bool)> = Vec::new();
    let collapsed = |d: &str| -> bool {
        if opts.fold.iter().any(|x| x == d) {
            true
        } else if opts.expand.iter().any(|x| x == d) {
            false
        } else {
            opts.collapse && sizes[d] > opts.collapse_over
        }
    };
    let mut nodes: Vec<VNode> = Vec::new();
    let mut node_of: HashMap<NodeIndex, usize> = HashMap::new();
    // Per group: the drawn node of its collapsed form or of its rest, and members seen.
    let mut group_at: HashMap<&str, (usize, usize)> = HashMap::new();
    for i in g.node_indices() {
        let n = &g[i];
        let decl = replica_decl(n).filter(|d| sizes[d] > 1);
        let Some(d) = decl else {
            node_of.insert(i, nodes.len());
            nodes.push(VNode {
                id: n.id.clone(),
                shape: match n.role {
                    NodeRole::Process => Shape::Process,
                    NodeRole::Junction => Shape::Junction,
                    NodeRole::Unknown => Shape::Unknown,
                    NodeRole::Barrier => Shape::Barrier,
                },
                lines: match n.role {
                    NodeRole::Process => process_lines(n),
                    NodeRole::Junction => vec![n.name.clone()],
                    NodeRole::Unknown => vec!["?".into()],
                    NodeRole::Barrier => vec![format!("barrier {}", n.name)],
                },
                decl: None,
                members: vec![i],
                cluster: n.cluster.clone(),
                group_size: 1,
            });
            continue;
        };
        let fold = collapsed(d);
        let seen = group_at.get(d).map_or(0, |&(_, s)| s);
        if !groups.iter().any(|(x, _, _)| x == d) {
            groups.push((d.to_string(), sizes[d], fold));
        }
        if !fold && seen < opts.sample.max(1) {
            group_at.entry(d).or_insert((usize::MAX, 0)).1 += 1;
            node_of.insert(i, nodes.len());
            nodes.push(VNode {
                id: n.id.clone(),
                shape: Shape::Process,
                lines: process_lines(n),
                decl: Some(d.to_string()),
                members: vec![i],
                cluster: n.cluster.clone(),
                group_size: sizes[d],
            });
            continue;
        }
        let entry = group_at.entry(d).or_insert((usize::MAX, 0));
        entry.1 += 1;
        if entry.0 == usize::MAX {
            entry.0 = nodes.len();
            nodes.push(VNode {
                id: format!("{}:{d}", if fold { "g" } else { "r" }),
                shape: if fold { Shape::Group } else { Shape::Rest },
                lines: Vec::new(),
                decl: Some(d.to_string()),
                members: Vec::new(),
                cluster: n.cluster.clone(),
                group_size: sizes[d],
            });
        }
        let at = entry.0;
        nodes[at].members.push(i);
        node_of.insert(i, at);
    }
    for v in nodes.iter_mut() {
        if matches!(v.shape, Shape::Group | Shape::Rest) {
            let d = v.decl.clone().unwrap_or_default();
            v.lines = group_lines(graph, &d, &v.members, v.group_size, v.shape == Shape::Rest);
        }
    }
    let grouped = |v: &VNode| matches!(v.shape, Shape::Group | Shape::Rest);
    let mut edges: Vec<VEdge> = Vec::new();
    let mut merged: HashMap<(usize, usize), usize> = HashMap::new();
    for e in g.edge_references() {
        let (a, b) = (node_of[&e.source()], node_of[&e.target()]);
        if !grouped(&nodes[a]) && !grouped(&nodes[b]) {
            edges.push(VEdge {
                from: a,
                to: b,
                members: vec![e.id()],
            });
            continue;
        }
        match merged.get(&(a, b)) {
            Some(&k) => edges[k].members.push(e.id()),
            None => {
                merged.insert((a, b), edges.len());
                edges.push(VEdge {
                    from: a,
                    to: b,
                    members: vec![e.id()],
                });
            }
        }
    }
    (nodes, edges, groups)
}

fn node_size(v: &VNode) -> (f64, f64) {
    let tw = v.lines.iter().map(|l| text_width(l)).fold(0.0, f64::max);
    match v.shape {
        Shape::Junction => ((tw * 0.8 + 18.0).max(26.0), 22.0),
        Shape::Unknown => (24.0, 24.0),
        Shape::Group | Shape::Rest => (tw + 30.0, LINE * v.lines.len() as f64 + 22.0),
        _ => (tw + 24.0, LINE * v.lines.len() as f64 + 14.0),
    }
}

/// A layered layout of a flat graph: `sizes` (width, height) per node, `edges` between
/// them, `gaps` the width wanted between layers for each edge's label. Returns node
/// centres, each edge's route (through its dummy points) and the bounding size.
struct Flat {
    pos: Vec<(f64, f64)>,
    routes: Vec<Vec<(f64, f64)>>,
    size: (f64, f64),
}

const NODE_GAP: f64 = 22.0;

fn flat_layout(sizes: &[(f64, f64)], edges: &[(usize, usize)], label_w: &[f64]) -> Flat {
    let n = sizes.len();
    if n == 0 {
        return Flat {
            pos: Vec::new(),
            routes: vec![Vec::new(); edges.len()],
            size: (0.0, 0.0),
        };
    }
    // 1. Break cycles: a DFS in declaration order; an edge to a node on the stack goes back.
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, &(a, b)) in edges.iter().enumerate() {
        if a != b {
            out[a].push(k);
        }
    }
    let mut reversed = vec![false; edges.len()];
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (v, ref mut i)) = stack.last_mut() {
            if *i < out[v].len() {
                let k = out[v][*i];
                *i += 1;
                let w = edges[k].1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => reversed[k] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    let dag: Vec<(usize, usize)> = edges
        .iter()
        .zip(&reversed)
        .map(|(&(a, b), &r)| if r { (b, a) } else { (a, b) })
        .collect();
    // 2. Layers by longest path (Kahn's order).
    let mut indeg = vec![0usize; n];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &dag {
        if a != b {
            indeg[b] += 1;
            succ[a].push(b);
        }
    }
    let mut layer = vec![0usize; n];
    let mut queue: std::collections::VecDeque<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    while let Some(v) = queue.pop_front() {
        for &w in &succ[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                queue.push_back(w);
            }
        }
    }
    // Sources that feed only later layers move up next to their first successor.
    for v in 0..n {
        if !dag.iter().any(|&(_, b)| b == v) {
            if let Some(m) = succ[v].iter().map(|&w| layer[w]).min() {
                layer[v] = m.saturating_sub(1).max(layer[v]);
            }
        }
    }
    let layers = layer.iter().max().map_or(1, |m| m + 1);
    // 3. Dummy points for edges across several layers.
    let mut sz: Vec<(f64, f64)> = sizes.to_vec();
    let mut lay = layer.clone();
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    for &(a, b) in &dag {
        let mut chain = vec![a];
        if a != b {
            for l in layer[a] + 1..layer[b] {
                sz.push((0.0, 12.0));
                lay.push(l);
                chain.push(sz.len() - 1);
            }
        }
        chain.push(b);
        chains.push(chain);
    }
    let total = sz.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); total];
    for c in &chains {
        for w in c.windows(2) {
            if w[0] != w[1] && lay[w[0]] + 1 == lay[w[1]] {
                down[w[0]].push(w[1]);
                up[w[1]].push(w[0]);
            }
        }
    }
    // 4. Order within layers: first seen in a DFS, then barycentre sweeps.
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    let mut placed = vec![false; total];
    for v in 0..total {
        if v < n && !placed[v] {
            let mut stack = vec![v];
            while let Some(x) = stack.pop() {
                if placed[x] {
                    continue;
                }
                placed[x] = true;
                rows[lay[x]].push(x);
                for &y in down[x].iter().rev() {
                    stack.push(y);
                }
            }
        }
    }
    for v in 0..total {
        if !placed[v] {
            rows[lay[v]].push(v);
        }
    }
    let mut rank = vec![0f64; total];
    let set_rank = |rows: &Vec<Vec<usize>>, rank: &mut Vec<f64>| {
        for r in rows {
            for (i, &v) in r.iter().enumerate() {
                rank[v] = i as f64;
            }
        }
    };
    set_rank(&rows, &mut rank);
    for sweep in 0..8 {
        let forward = sweep % 2 == 0;
        let order: Vec<usize> = if forward {
            (1..layers).collect()
        } else {
            (0..layers.saturating_sub(1)).rev().collect()
        };
        for l in order {
            let nb = if forward { &up } else { &down };
            let mut keyed: Vec<(f64, usize)> = rows[l]
                .iter()
                .map(|&v| {
                    let ns = &nb[v];
                    let b = if ns.is_empty() {
                        rank[v]
                    } else {
                        ns.iter().map(|&u| rank[u]).sum::<f64>() / ns.len() as f64
                    };
                    (b, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(rank[a.1].total_cmp(&rank[b.1])));
            rows[l] = keyed.into_iter().map(|(_, v)| v).collect();
            for (i, &v) in rows[l].iter().enumerate() {
                rank[v] = i as f64;
            }
        }
    }
    // 5. Positions within layers: stacked, then pulled towards their neighbours.
    let mut y = vec![0f64; total];
    for r in &rows {
        let mut at = 0.0;
        for &v in r {
            y[v] = at + sz[v].1 / 2.0;
            at += sz[v].1 + NODE_GAP;
        }
    }
    for round in 0..12 {
        let ls: Vec<usize> = if round % 2 == 0 {
            (0..layers).collect()
        } else {
            (0..layers).rev().collect()
        };
        for l in ls {
            let r = &rows[l];
            if r.is_empty() {
                continue;
            }
            let want: Vec<f64> = r
                .iter()
                .map(|&v| {
                    let ns: Vec<usize> = up[v].iter().chain(&down[v]).copied().collect();
                    if ns.is_empty() {
                        y[v]
                    } else {
                        ns.iter().map(|&u| y[u]).sum::<f64>() / ns.len() as f64
                    }
                })
                .collect();
            let seps: Vec<f64> = r
                .windows(2)
                .map(|w| (sz[w[0]].1 + sz[w[1]].1) / 2.0 + NODE_GAP)
                .collect();
            let ys = fit_in_order(&want, &seps);
            for (&v, yy) in r.iter().zip(ys) {
                y[v] = yy;
            }
        }
    }
    // 6. Layers left to right, each as wide as its widest node, with room for labels.
    let mut lw = vec![0f64; layers];
    for v in 0..total {
        lw[lay[v]] = lw[lay[v]].max(sz[v].0);
    }
    let mut gap = vec![70f64; layers];
    let (mut outs, mut ins) = (vec![0usize; n], vec![0usize; n]);
    for &(a, b) in dag.iter().filter(|(a, b)| a != b) {
        outs[a] += 1;
        ins[b] += 1;
    }
    for (k, &(a, b)) in dag.iter().enumerate() {
        if a != b {
            let l = layer[a].min(layer[b]);
            // Labels of edges that fan out or in sit off centre (see `layout`): wider.
            let fan = if outs[a] > 1 || ins[b] > 1 { 1.5 } else { 1.0 };
            gap[l] = gap[l].max(label_w[k] * fan + 36.0);
        }
    }
    let mut xs = vec![0f64; layers];
    let mut at = 0.0;
    for l in 0..layers {
        xs[l] = at + lw[l] / 2.0;
        at += lw[l] + gap[l];
    }
    let width = at - gap[layers - 1];
    let ymin = (0..total)
        .map(|v| y[v] - sz[v].1 / 2.0)
        .fold(f64::INFINITY, f64::min);
    let ymax = (0..total)
        .map(|v| y[v] + sz[v].1 / 2.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let pos: Vec<(f64, f64)> = (0..total).map(|v| (xs[lay[v]], y[v] - ymin)).collect();
    // 7. Routes: out of the right side, through the dummies, into the left side; an edge
    // that goes back is drawn from its own source, below its nodes when it has no dummies.
    let routes = chains
        .iter()
        .zip(edges)
        .zip(&reversed)
        .map(|((chain, &(a, b)), &rev)| {
            if a == b {
                let (x, y) = pos[a];
                let (w, h) = (sz[a].0, sz[a].1 - 64.0);
                return vec![
                    (x + w / 4.0, y - h / 2.0),
                    (x, y - h / 2.0 - 26.0),
                    (x - w / 4.0, y - h / 2.0),
                ];
            }
            let mut pts: Vec<(f64, f64)> = Vec::new();
            let (s, t) = (chain[0], chain[chain.len() - 1]);
            pts.push((pos[s].0 + sz[s].0 / 2.0, pos[s].1));
            for &d in &chain[1..chain.len() - 1] {
                pts.push(pos[d]);
            }
            pts.push((pos[t].0 - sz[t].0 / 2.0, pos[t].1));
            if rev {
                pts.reverse();
                if chain.len() == 2 {
                    let (p, q) = (pts[0], pts[1]);
                    let below = sz[s].1.max(sz[t].1) / 2.0 + 18.0;
                    pts.insert(1, ((p.0 + q.0) / 2.0, p.1.max(q.1) + below));
                }
            }
            pts
        })
        .collect();
    Flat {
        pos: pos[..n].to_vec(),
        routes,
        size: (width, (ymax - ymin).max(0.0)),
    }
}

/// The positions closest (least squares) to `want` that keep their order with at least
/// `seps[i]` between position i and i+1: pool adjacent violators on the shifted problem.
fn fit_in_order(want: &[f64], seps: &[f64]) -> Vec<f64> {
    let mut off = vec![0.0; want.len()];
    for i in 1..want.len() {
        off[i] = off[i - 1] + seps[i - 1];
    }
    // Blocks of (sum, count), each at its mean.
    let mut blocks: Vec<(f64, usize)> = Vec::new();
    for (w, o) in want.iter().zip(&off) {
        blocks.push((w - o, 1));
        while blocks.len() > 1 {
            let (s2, c2) = blocks[blocks.len() - 1];
            let (s1, c1) = blocks[blocks.len() - 2];
            if s1 / c1 as f64 > s2 / c2 as f64 {
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (s1 + s2, c1 + c2);
            } else {
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(want.len());
    for (s, c) in blocks {
        for _ in 0..c {
            out.push(s / c as f64);
        }
    }
    out.iter().zip(&off).map(|(v, o)| v + o).collect()
}

const PAD: f64 = 14.0;
const TITLE: f64 = 20.0;

/// Lays out the nodes of cluster `path` (and, recursively, its sub-clusters); returns the
/// size, and fills `pos` (node centres relative to the cluster's inner top left), `boxes`
/// (sub-cluster boxes, relative) and `routes` of the edges laid out at this level.
struct Level<'a> {
    nodes: &'a [VNode],
    sizes: &'a [(f64, f64)],
    edges: &'a [VEdge],
    label_w: &'a [f64],
}

struct Placed {
    pos: Vec<Option<(f64, f64)>>,
    boxes: Vec<(Vec<String>, f64, f64, f64, f64)>,
    routes: Vec<Option<Vec<(f64, f64)>>>,
}

impl Level<'_> {
    fn place(&self, path: &[String], out: &mut Placed) -> (f64, f64) {
        // The items at this level: nodes directly in it, and its child clusters.
        let mut children: Vec<Vec<String>> = Vec::new();
        for v in self.nodes {
            if v.cluster.len() > path.len() && v.cluster.starts_with(path) {
                let c = v.cluster[..=path.len()].to_vec();
                if !children.contains(&c) {
                    children.push(c);
                }
            }
        }
        let mut item_of: HashMap<usize, usize> = HashMap::new();
        let mut sizes: Vec<(f64, f64)> = Vec::new();
        let mut items: Vec<Result<usize, usize>> = Vec::new(); // Ok(node) or Err(child)
        let mut order: Vec<(usize, usize)> = Vec::new(); // (first node index, item)
        for (i, v) in self.nodes.iter().enumerate() {
            if v.cluster.as_slice() == path {
                item_of.insert(i, items.len());
                order.push((i, items.len()));
                items.push(Ok(i));
                sizes.push(self.sizes[i]);
            }
        }
        let mut inner: Vec<Placed> = Vec::new();
        for (ci, c) in children.iter().enumerate() {
            let mut sub = Placed {
                pos: vec![None; self.nodes.len()],
                boxes: Vec::new(),
                routes: vec![None; self.edges.len()],
            };
            let (w, h) = self.place(c, &mut sub);
            let item = items.len();
            let first = self
                .nodes
                .iter()
                .position(|v| v.cluster.starts_with(c))
                .unwrap_or(0);
            for (i, v) in self.nodes.iter().enumerate() {
                if v.cluster.starts_with(c) {
                    item_of.insert(i, item);
                }
            }
            order.push((first, item));
            items.push(Err(ci));
            sizes.push((w + 2.0 * PAD, h + 2.0 * PAD + TITLE));
            inner.push(sub);
        }
        // Items in declaration order (of their first node), so that layouts are stable.
        order.sort();
        let rank: HashMap<usize, usize> = order
            .iter()
            .enumerate()
            .map(|(r, &(_, it))| (it, r))
            .collect();
        let by_rank: Vec<usize> = order.iter().map(|&(_, it)| it).collect();
        let sizes_r: Vec<(f64, f64)> = by_rank.iter().map(|&it| sizes[it]).collect();
        let mut here: Vec<usize> = Vec::new();
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        let mut lw: Vec<f64> = Vec::new();
        for (k, e) in self.edges.iter().enumerate() {
            let (Some(&a), Some(&b)) = (item_of.get(&e.from), item_of.get(&e.to)) else {
                continue;
            };
            if a == b && items[a].is_err() {
                continue; // inside a child cluster
            }
            here.push(k);
            pairs.push((rank[&a], rank[&b]));
            lw.push(self.label_w[k]);
        }
        let flat = flat_layout(&sizes_r, &pairs, &lw);
        for (r, &it) in by_rank.iter().enumerate() {
            let (cx, cy) = flat.pos[r];
            match items[it] {
                Ok(i) => out.pos[i] = Some((cx, cy)),
                Err(ci) => {
                    let (w, h) = sizes[it];
                    let (x0, y0) = (cx - w / 2.0, cy - h / 2.0);
                    let sub = &inner[ci];
                    let (dx, dy) = (x0 + PAD, y0 + PAD + TITLE);
                    for (i, p) in sub.pos.iter().enumerate() {
                        if let Some((x, y)) = p {
                            out.pos[i] = Some((x + dx, y + dy));
                        }
                    }
                    out.boxes.push((children[ci].clone(), x0, y0, w, h));
                    for (p, x, y, w, h) in &sub.boxes {
                        out.boxes.push((p.clone(), x + dx, y + dy, *w, *h));
                    }
                    for (k, r) in sub.routes.iter().enumerate() {
                        if let Some(r) = r {
                            out.routes[k] = Some(r.iter().map(|(x, y)| (x + dx, y + dy)).collect());
                        }
                    }
                }
            }
        }
        for (j, &k) in here.iter().enumerate() {
            out.routes[k] = Some(flat.routes[j].clone());
        }
        flat.size
    }
}

/// Lays out the view of `graph` that `opts` asks for (see [`Graph::layout`]).
pub(super) fn layout(graph: &Graph, opts: &ViewOptions) -> Layout {
    let (nodes, edges, groups) = view(graph, opts);
    let g = &graph.g;
    let sizes: Vec<(f64, f64)> = nodes
        .iter()
        .map(|v| {
            let (w, h) = node_size(v);
            if opts.live && matches!(v.shape, Shape::Process | Shape::Group | Shape::Rest) {
                (w.max(150.0), h + LINE)
            } else {
                (w, h)
            }
        })
        .collect();
    let labels: Vec<Vec<String>> = edges
        .iter()
        .map(|e| {
            let ws: Vec<&Edge> = e.members.iter().map(|&m| &g[m]).collect();
            let into_junction = nodes[e.to].shape == Shape::Junction;
            let from_junction = nodes[e.from].shape == Shape::Junction;
            // A junction carries its channel's label; its own edges carry none, unless
            // they stand for several.
            if (into_junction || from_junction) && ws.iter().all(|w| w.channel == ws[0].channel) {
                if ws.len() > 1 {
                    vec![format!("×{}", ws.len())]
                } else {
                    Vec::new()
                }
            } else {
                edge_lines(&ws)
            }
        })
        .collect();
    // Room for the live labels too (carried and rate), which are wider than the static ones.
    let label_w: Vec<f64> = labels
        .iter()
        .map(|ls| {
            let w = ls.iter().map(|l| text_width(l) * 0.85).fold(0.0, f64::max);
            if ls.is_empty() {
                0.0
            } else if opts.live {
                w.max(130.0)
            } else {
                w
            }
        })
        .collect();
    // A node with a loop needs room above it for the loop (and below, to stay centred).
    let mut room = sizes.clone();
    for e in edges.iter().filter(|e| e.from == e.to) {
        room[e.from].1 = sizes[e.from].1 + 64.0;
    }
    let level = Level {
        nodes: &nodes,
        sizes: &room,
        edges: &edges,
        label_w: &label_w,
    };
    let mut placed = Placed {
        pos: vec![None; nodes.len()],
        boxes: Vec::new(),
        routes: vec![None; edges.len()],
    };
    let (w, h) = level.place(&[], &mut placed);
    const MARGIN: f64 = 24.0;
    let shift = |(x, y): (f64, f64)| (x + MARGIN, y + MARGIN);
    let pos: Vec<(f64, f64)> = placed
        .pos
        .iter()
        .map(|p| shift(p.unwrap_or((0.0, 0.0))))
        .collect();
    let mut boxes = placed.boxes;
    boxes.sort_by_key(|b| b.0.len());
    let clusters = boxes
        .iter()
        .enumerate()
        .map(|(i, (p, x, y, w, h))| PlacedCluster {
            id: format!("cluster_{i}"),
            path: p.clone(),
            label: p.last().cloned().unwrap_or_default(),
            x: x + MARGIN,
            y: y + MARGIN,
            w: *w,
            h: *h,
        })
        .collect();
    let placed_nodes = nodes
        .iter()
        .zip(&sizes)
        .zip(&pos)
        .map(|((v, &(w, h)), &(x, y))| PlacedNode {
            id: v.id.clone(),
            shape: v.shape,
            lines: v.lines.clone(),
            decl: v.decl.clone(),
            members: v.members.iter().map(|&m| g[m].id.clone()).collect(),
            x,
            y,
            w,
            h,
            group_size: v.group_size,
            deadlocked: v.members.iter().any(|&m| g[m].deadlocked),
            in_cycle: v.members.iter().any(|&m| g[m].in_cycle),
        })
        .collect();
    let (mut out_deg, mut in_deg) = (vec![0usize; nodes.len()], vec![0usize; nodes.len()]);
    for e in edges.iter().filter(|e| e.from != e.to) {
        out_deg[e.from] += 1;
        in_deg[e.to] += 1;
    }
    let placed_edges = edges
        .iter()
        .enumerate()
        .map(|(k, e)| {
            let ws: Vec<&Edge> = e.members.iter().map(|&m| &g[m]).collect();
            let mut pts: Vec<(f64, f64)> = placed.routes[k]
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(shift)
                .collect();
            // An edge laid out between clusters starts and ends at its nodes' sides.
            let (a, b) = (e.from, e.to);
            if pts.len() >= 2 && a != b {
                let out_side = |i: usize, toward: f64| {
                    let (x, y) = pos[i];
                    let w = sizes[i].0 / 2.0;
                    (if toward >= x { x + w } else { x - w }, y)
                };
                let next = pts[1].0;
                let prev = pts[pts.len() - 2].0;
                pts[0] = out_side(a, next);
                let last = pts.len() - 1;
                pts[last] = out_side(b, prev);
            }
            // Where edges fan out (or in), labels at the middle would pile up near the
            // shared end: move them towards the other end, where the edges are apart.
            let t = match (out_deg[a] > 1 && in_deg[b] == 1, in_deg[b] > 1 && out_deg[a] == 1) {
                (true, false) => 0.62,
                (false, true) => 0.38,
                _ => 0.5,
            };
            let label_at = label_point(&pts, t);
            PlacedEdge {
                id: format!("e{k}"),
                from: nodes[a].id.clone(),
                to: nodes[b].id.clone(),
                role: if ws[0].role == EdgeRole::Barrier {
                    "barrier"
                } else {
                    "channel"
                },
                lines: labels[k].clone(),
                channels: {
                    let mut ks: Vec<String> = Vec::new();
                    for w in &ws {
                        let key = channel_key(w);
                        if !ks.contains(&key) {
                            ks.push(key);
                        }
                    }
                    ks
                },
                points: pts,
                label_at,
                into_junction: nodes[b].shape == Shape::Junction,
                waited: ws.iter().any(|w| w.waited),
                in_cycle: ws.iter().any(|w| w.in_cycle),
            }
        })
        .collect();
    Layout {
        name: graph.name.clone(),
        width: w + 2.0 * MARGIN,
        height: h + 2.0 * MARGIN,
        clusters,
        nodes: placed_nodes,
        edges: placed_edges,
        groups,
    }
}

/// The point a fraction `t` along a route, by length, for its label (just above the
/// line).
fn label_point(pts: &[(f64, f64)], t: f64) -> (f64, f64) {
    if pts.is_empty() {
        return (0.0, 0.0);
    }
    if pts.len() == 3 && (pts[0].1 - pts[2].1).abs() < 1e-9 && pts[1].1 < pts[0].1 {
        // A loop over its node: label above it.
        return (pts[1].0, pts[1].1 - 6.0);
    }
    let seg = |a: (f64, f64), b: (f64, f64)| ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    let total: f64 = pts.windows(2).map(|w| seg(w[0], w[1])).sum();
    let mut left = total * t;
    for w in pts.windows(2) {
        let l = seg(w[0], w[1]);
        if l >= left && l > 0.0 {
            let t = left / l;
            return (
                w[0].0 + t * (w[1].0 - w[0].0),
                w[0].1 + t * (w[1].1 - w[0].1) - 5.0,
            );
        }
        left -= l;
    }
    pts[0]
}

#[cfg(test)]
mod tests {
    use super::fit_in_order;

    #[test]
    fn positions_keep_order_and_spacing() {
        let ys = fit_in_order(&[10.0, 10.0, 10.0], &[20.0, 20.0]);
        assert_eq!(ys, vec![-10.0, 10.0, 30.0]);
        let ys = fit_in_order(&[0.0, 100.0], &[20.0]);
        assert_eq!(ys, vec![0.0, 100.0]);
        let ys = fit_in_order(&[50.0, 0.0], &[10.0]);
        assert_eq!(ys, vec![20.0, 30.0]);
    }
}
