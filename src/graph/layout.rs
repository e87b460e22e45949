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

use serde::Serialize;

use super::layered::flat_layout;
use super::view::ViewOptions;
use super::view::{channel_key, edge_lines, node_size, view, VEdge, VNode, LINE};
use super::{Edge, EdgeRole, Graph};

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
            let t = match (
                out_deg[a] > 1 && in_deg[b] == 1,
                in_deg[b] > 1 && out_deg[a] == 1,
            ) {
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
