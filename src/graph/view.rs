//! The view a drawing shows: which replicated groups are collapsed (or expanded to a sample
//! of their members), the nodes and edges drawn, and their labels.

use std::collections::HashMap;
use std::fmt::Write;

use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use super::layout::{text_width, Shape};
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

pub(super) const LINE: f64 = 15.0;

/// One node of the view, before layout.
pub(super) struct VNode {
    pub(super) id: String,
    pub(super) shape: Shape,
    pub(super) lines: Vec<String>,
    pub(super) decl: Option<String>,
    pub(super) members: Vec<NodeIndex>,
    pub(super) cluster: Vec<String>,
    pub(super) group_size: usize,
}

/// One edge of the view, before layout.
pub(super) struct VEdge {
    pub(super) from: usize,
    pub(super) to: usize,
    pub(super) members: Vec<EdgeIndex>,
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
    if let Some(r) = n.rank {
        lines.push(format!("rank {r}"));
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
    if let Some(r) = super::dot::group_ranks(members.iter().filter_map(|&m| g.g[m].rank)) {
        lines.push(r);
    }
    lines
}

pub(super) fn edge_lines(ws: &[&Edge]) -> Vec<String> {
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

/// The nodes and edges drawn, and the groups (declaration, size, collapsed).
pub(super) type View = (Vec<VNode>, Vec<VEdge>, Vec<(String, usize, bool)>);

/// The view of `graph` that `opts` asks for.
pub(super) fn view(graph: &Graph, opts: &ViewOptions) -> View {
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

pub(super) fn node_size(v: &VNode) -> (f64, f64) {
    let tw = v.lines.iter().map(|l| text_width(l)).fold(0.0, f64::max);
    match v.shape {
        Shape::Junction => ((tw * 0.8 + 18.0).max(26.0), 22.0),
        Shape::Unknown => (24.0, 24.0),
        Shape::Group | Shape::Rest => (tw + 30.0, LINE * v.lines.len() as f64 + 22.0),
        _ => (tw + 24.0, LINE * v.lines.len() as f64 + 14.0),
    }
}
