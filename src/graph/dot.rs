//! Graphviz DOT output.

use std::collections::HashMap;
use std::fmt::Write;

use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use super::{replicated_decl, Edge, EdgeRole, Graph, Node, NodeRole};
use crate::runtime::ProcessEnd;

/// How [`Graph::to_dot`] draws a graph.
///
/// # Examples
/// ```
/// let opts = occamy::graph::DotOptions { collapse_replicated: true };
/// assert!(!occamy::graph::DotOptions::default().collapse_replicated);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DotOptions {
    /// Draw each group of replicated processes (the instances of one declaration,
    /// `node[0]` .. `node[255]`) as one node, `node[0..255] ×256 (succ)`, and the
    /// channels between such groups (or between a group and a process) as one edge
    /// labelled with their count.
    pub collapse_replicated: bool,
}

/// Quotes `s` as a DOT string (double quotes; `"` and `\` escaped, newlines as `\n`).
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A node as drawn: one node of the graph, or a collapsed group of replicas.
enum Shown {
    One(NodeIndex),
    Group { id: String, members: Vec<NodeIndex> },
}

/// An edge as drawn: one edge, or the parallel edges between collapsed nodes.
enum ShownEdge {
    One(EdgeIndex),
    Merged(usize, usize, Vec<EdgeIndex>),
}

pub(super) fn to_dot(graph: &Graph, opts: &DotOptions) -> String {
    let g = &graph.g;
    // The nodes as drawn, and which drawn node each graph node is part of.
    let mut shown: Vec<Shown> = Vec::new();
    let mut shown_of: HashMap<NodeIndex, usize> = HashMap::new();
    let mut group_of: HashMap<(&str, &[String]), usize> = HashMap::new();
    if opts.collapse_replicated {
        // Only declarations with several instances are collapsed.
        let mut sizes: HashMap<(&str, &[String]), usize> = HashMap::new();
        for n in g.node_weights() {
            if let Some(d) = replica_decl(n) {
                *sizes.entry((d, &n.cluster)).or_default() += 1;
            }
        }
        let mut groups = 0;
        for i in g.node_indices() {
            let n = &g[i];
            let key = replica_decl(n).map(|d| (d, n.cluster.as_slice()));
            match key.filter(|k| sizes[k] > 1) {
                Some(k) => match group_of.get(&k) {
                    Some(&s) => {
                        if let Shown::Group { members, .. } = &mut shown[s] {
                            members.push(i);
                        }
                        shown_of.insert(i, s);
                    }
                    None => {
                        group_of.insert(k, shown.len());
                        shown_of.insert(i, shown.len());
                        shown.push(Shown::Group {
                            id: format!("g{groups}"),
                            members: vec![i],
                        });
                        groups += 1;
                    }
                },
                None => {
                    shown_of.insert(i, shown.len());
                    shown.push(Shown::One(i));
                }
            }
        }
    } else {
        for i in g.node_indices() {
            shown_of.insert(i, shown.len());
            shown.push(Shown::One(i));
        }
    }
    let is_group = |s: usize| matches!(shown[s], Shown::Group { .. });
    let mut edges: Vec<ShownEdge> = Vec::new();
    let mut merged_at: HashMap<(usize, usize), usize> = HashMap::new();
    for e in g.edge_references() {
        let (a, b) = (shown_of[&e.source()], shown_of[&e.target()]);
        if !is_group(a) && !is_group(b) {
            edges.push(ShownEdge::One(e.id()));
            continue;
        }
        match merged_at.get(&(a, b)) {
            Some(&at) => {
                if let ShownEdge::Merged(_, _, es) = &mut edges[at] {
                    es.push(e.id());
                }
            }
            None => {
                merged_at.insert((a, b), edges.len());
                edges.push(ShownEdge::Merged(a, b, vec![e.id()]));
            }
        }
    }

    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&graph.name));
    let mut title = graph.name.clone();
    for n in &graph.notes {
        for line in wrap(n, 100) {
            title.push('\n');
            title.push_str(&line);
        }
    }
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, label={}];",
        quote(&title)
    );
    out.push_str(
        "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\", fontsize=11];\n",
    );
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");

    // Nodes, cluster by cluster.
    let clusters = graph.cluster_paths();
    let cluster_of = |s: &Shown| -> &[String] {
        match s {
            Shown::One(i) => &g[*i].cluster,
            Shown::Group { members, .. } => &g[members[0]].cluster,
        }
    };
    emit_nodes(graph, &shown, &cluster_of, &clusters, &[], 1, &mut out);
    if graph.ranks > 1 {
        emit_rank_legend(graph.ranks, &mut out);
    }

    // Edges.
    let junction = |s: &Shown| matches!(s, Shown::One(i) if g[*i].role == NodeRole::Junction);
    for e in &edges {
        let (a, b, ws): (&Shown, &Shown, Vec<&Edge>) = match e {
            ShownEdge::One(i) => {
                let (a, b) = g.edge_endpoints(*i).expect("an edge of the graph");
                (&shown[shown_of[&a]], &shown[shown_of[&b]], vec![&g[*i]])
            }
            ShownEdge::Merged(a, b, es) => {
                (&shown[*a], &shown[*b], es.iter().map(|&i| &g[i]).collect())
            }
        };
        let highlight = edge_style(&ws);
        let mut attrs = Vec::new();
        if ws[0].role == EdgeRole::Barrier {
            attrs.push("style=dashed, dir=none".into());
            if highlight.is_none() {
                attrs.push("color=gray40".into());
            }
        } else {
            // A junction carries its channel's label; its edges carry none.
            if ws.len() > 1 || !(junction(a) || junction(b)) {
                attrs.push(format!("label={}", quote(&merged_label(&ws))));
            }
            if junction(b) {
                attrs.push("arrowhead=none".into());
            }
            if highlight.is_none() && ws.len() > 1 {
                attrs.push("penwidth=2".into());
            }
        }
        attrs.extend(highlight);
        let _ = writeln!(
            out,
            "  {} -> {}{};",
            shown_id(g, a),
            shown_id(g, b),
            attr_list(&attrs)
        );
    }
    out.push_str("}\n");
    out
}

/// Splits a long note into lines at `; ` (a deadlock report's clauses), each at most
/// `width` characters where the clauses allow.
fn wrap(note: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in note.split_inclusive("; ") {
        match lines.last_mut() {
            Some(l) if l.chars().count() + part.chars().count() <= width => l.push_str(part),
            _ => lines.push(part.to_string()),
        }
    }
    lines
        .iter_mut()
        .for_each(|l| l.truncate(l.trim_end().len()));
    lines
}

/// The declaration `n` is a replica of, if it is a replicated process.
fn replica_decl(n: &Node) -> Option<&str> {
    let d = n.decl.as_deref()?;
    (n.role == NodeRole::Process && replicated_decl(&n.name) == Some(d)).then_some(d)
}

fn shown_id<'a>(g: &'a petgraph::graph::DiGraph<Node, Edge>, s: &'a Shown) -> &'a str {
    match s {
        Shown::One(i) => &g[*i].id,
        Shown::Group { id, .. } => id,
    }
}

fn attr_list(attrs: &[String]) -> String {
    if attrs.is_empty() {
        String::new()
    } else {
        format!(" [{}]", attrs.join(", "))
    }
}

/// Emits the drawn nodes that live exactly in `path`, then its sub-clusters.
fn emit_nodes<'a>(
    graph: &'a Graph,
    shown: &'a [Shown],
    cluster_of: &dyn Fn(&'a Shown) -> &'a [String],
    clusters: &[Vec<String>],
    path: &[String],
    depth: usize,
    out: &mut String,
) {
    let pad = "  ".repeat(depth);
    for s in shown.iter().filter(|s| cluster_of(s) == path) {
        let _ = writeln!(out, "{pad}{}", node_stmt(graph, s));
    }
    for (ci, c) in clusters.iter().enumerate() {
        if c.len() == path.len() + 1 && c.starts_with(path) {
            let _ = writeln!(out, "{pad}subgraph cluster_{ci} {{");
            let label = c.last().map(String::as_str).unwrap_or_default();
            let _ = writeln!(
                out,
                "{pad}  graph [label={}, style=\"rounded,dashed\", color=gray50, fontcolor=gray30];",
                quote(label)
            );
            emit_nodes(graph, shown, cluster_of, clusters, c, depth + 1, out);
            let _ = writeln!(out, "{pad}}}");
        }
    }
}

fn end_fill(end: ProcessEnd) -> &'static str {
    match end {
        ProcessEnd::Ok | ProcessEnd::Retired => "\"#e6f4ea\"",
        ProcessEnd::Poisoned => "\"#fff4d6\"",
        ProcessEnd::Failed | ProcessEnd::Panicked => "\"#ffd6d6\"",
    }
}

fn node_stmt(graph: &Graph, s: &Shown) -> String {
    let g = &graph.g;
    match s {
        Shown::One(i) => {
            let n = &g[*i];
            let mut attrs = Vec::new();
            match n.role {
                NodeRole::Process => {
                    let mut label = n.name.clone();
                    match (&n.kind, n.own_thread) {
                        (Some(k), false) => {
                            let _ = write!(label, "\n({k})");
                        }
                        (Some(k), true) => {
                            let _ = write!(label, "\n({k}, own thread)");
                        }
                        (None, true) => label.push_str("\n(own thread)"),
                        (None, false) => {}
                    }
                    if n.own_thread {
                        // A double border: the process is an OS thread, not a green task.
                        attrs.push("peripheries=2".into());
                    }
                    if let Some(end) = n.end {
                        let _ = write!(label, "\n{end}");
                    }
                    if n.deadlocked {
                        label.push_str("\ndeadlocked");
                    }
                    if let Some(r) = n.rank {
                        let _ = write!(label, "\nrank {r}");
                    }
                    let lines = label.lines().count();
                    attrs.push(format!("label={}", quote(&label)));
                    if let (Some(r), None) = (n.rank, n.end) {
                        attrs.push(format!("fillcolor={}", rank_fill(r)));
                    }
                    process_style(n.end.into_iter(), n.deadlocked, n.in_cycle, &mut attrs);
                    if let (Some(r), Some(_)) = (n.rank, n.end) {
                        rank_band(r, lines, &mut attrs);
                    }
                }
                NodeRole::Junction => {
                    let w = g
                        .edges_directed(*i, petgraph::Direction::Incoming)
                        .chain(g.edges_directed(*i, petgraph::Direction::Outgoing))
                        .map(|e| e.weight())
                        .min_by_key(|w| w.carried.is_none());
                    let label = w.map(edge_label).unwrap_or_else(|| n.name.clone());
                    attrs.push(format!(
                        "shape=ellipse, style=filled, fillcolor=gray88, color=gray45, fontsize=9, width=0.3, height=0.25, margin=\"0.04,0.02\", label={}",
                        quote(&label)
                    ));
                }
                NodeRole::Unknown => {
                    attrs.push("shape=circle, style=dashed, width=0.3, fixedsize=true, label=\"?\", tooltip=\"an end no known process holds\"".into());
                }
                NodeRole::Barrier => {
                    attrs.push(format!(
                        "shape=octagon, style=filled, fillcolor=gray90, label={}",
                        quote(&format!("barrier {}", n.name))
                    ));
                }
            }
            format!("{}{};", n.id, attr_list(&attrs))
        }
        Shown::Group { id, members } => {
            let first = &g[members[0]];
            let decl = first.decl.as_deref().unwrap_or(&first.name);
            let mut label = format!(
                "{decl}{} ×{}",
                index_range(members.iter().map(|&m| g[m].name.as_str()), decl),
                members.len()
            );
            let kind = first.kind.as_deref();
            if kind.is_some() && members.iter().all(|&m| g[m].kind.as_deref() == kind) {
                let _ = write!(label, "\n({})", kind.unwrap_or_default());
            }
            // How they ended, in the order of ProcessEnd's variants.
            let mut ends: Vec<(ProcessEnd, usize)> = Vec::new();
            for &m in members {
                if let Some(e) = g[m].end {
                    match ends.iter_mut().find(|(x, _)| *x == e) {
                        Some((_, c)) => *c += 1,
                        None => ends.push((e, 1)),
                    }
                }
            }
            ends.sort_by_key(|(e, _)| *e as u8);
            if !ends.is_empty() {
                let parts: Vec<String> = ends.iter().map(|(e, c)| format!("{e} ×{c}")).collect();
                let _ = write!(label, "\n{}", parts.join(", "));
            }
            let deadlocked = members.iter().filter(|&&m| g[m].deadlocked).count();
            if deadlocked > 0 {
                let _ = write!(label, "\ndeadlocked ×{deadlocked}");
            }
            let ranks = group_ranks(members.iter().filter_map(|&m| g[m].rank));
            if let Some(r) = &ranks {
                let _ = write!(label, "\n{r}");
            }
            let lines = label.lines().count();
            let mut attrs = vec![
                format!("label={}", quote(&label)),
                "shape=box3d, style=filled".into(),
            ];
            // One rank's colour when the whole group is on it.
            let first = g[members[0]].rank;
            let one_rank = first.filter(|_| members.iter().all(|&m| g[m].rank == first));
            let ended = members.iter().any(|&m| g[m].end.is_some());
            if let (Some(r), false) = (one_rank, ended) {
                attrs.push(format!("fillcolor={}", rank_fill(r)));
            }
            process_style(
                members.iter().filter_map(|&m| g[m].end),
                deadlocked > 0,
                members.iter().any(|&m| g[m].in_cycle),
                &mut attrs,
            );
            if let (Some(r), true) = (one_rank, ended) {
                rank_band(r, lines, &mut attrs);
            }
            format!("{id}{};", attr_list(&attrs))
        }
    }
}

/// The fill colours of ranks: ColorBrewer's Set3 (light enough for black text), repeating
/// after twelve ranks.
pub(super) const RANK_FILLS: [&str; 12] = [
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5",
    "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f",
];

fn rank_fill(rank: u32) -> String {
    quote(RANK_FILLS[rank as usize % RANK_FILLS.len()])
}

/// After a run the fill says how a process ended, which matters more than where it ran;
/// the rank keeps its colour in a band along the bottom, behind the label's last line
/// (`rank N`), so that the legend still finds every process. The band is the fill's
/// second colour from `lines - 1.1` lines of `lines` (a sharp gradient: Graphviz draws
/// a weighted two-colour list that way), a little over one line.
fn rank_band(rank: u32, lines: usize, attrs: &mut [String]) {
    let lines = lines.max(2) as f64;
    let top = 1.0 - 1.1 / lines;
    for a in attrs.iter_mut() {
        if let Some(fill) = a
            .strip_prefix("fillcolor=\"")
            .and_then(|f| f.strip_suffix('"'))
        {
            let band = RANK_FILLS[rank as usize % RANK_FILLS.len()];
            *a = format!("fillcolor=\"{fill};{top:.2}:{band}\", gradientangle=270");
        }
    }
}

/// `rank 1`, `ranks 0..3` (in a row), `ranks 0, 2`, or `ranks 0, 2, ...` (more than four
/// that are not in a row): where a collapsed group runs.
pub(super) fn group_ranks(ranks: impl Iterator<Item = u32>) -> Option<String> {
    let mut rs: Vec<u32> = ranks.collect();
    rs.sort_unstable();
    rs.dedup();
    match rs.as_slice() {
        [] => None,
        [r] => Some(format!("rank {r}")),
        [a, .., b] if (b - a) as usize + 1 == rs.len() => Some(format!("ranks {a}..{b}")),
        _ => {
            let shown: Vec<String> = rs.iter().take(4).map(u32::to_string).collect();
            let more = if rs.len() > 4 { ", ..." } else { "" };
            Some(format!("ranks {}{more}", shown.join(", ")))
        }
    }
}

/// A legend of the ranks' colours: one node per colour, in a cluster of its own (`rank
/// 0` .. `rank N-1`; `ranks 0, 12, ...` where colours repeat).
fn emit_rank_legend(ranks: u32, out: &mut String) {
    out.push_str("  subgraph cluster_ranks {\n");
    out.push_str(
        "    graph [label=\"ranks\", style=\"rounded,dashed\", color=gray50, fontcolor=gray30];\n",
    );
    let colours = (ranks as usize).min(RANK_FILLS.len());
    for c in 0..colours {
        let label = if (ranks as usize) <= RANK_FILLS.len() {
            format!("rank {c}")
        } else {
            let n = RANK_FILLS.len();
            let more = if c + 2 * n < ranks as usize {
                ", ..."
            } else {
                ""
            };
            format!("ranks {c}, {}{more}", c + n)
        };
        let _ = writeln!(
            out,
            "    rank{c} [label={}, fillcolor={}, fontsize=9];",
            quote(&label),
            rank_fill(c as u32)
        );
    }
    out.push_str("  }\n");
}

/// Fill by how the processes ended (the worst end wins); red outline when deadlocked.
fn process_style(
    ends: impl Iterator<Item = ProcessEnd>,
    deadlocked: bool,
    in_cycle: bool,
    attrs: &mut Vec<String>,
) {
    let worst = ends.max_by_key(|e| match e {
        ProcessEnd::Ok | ProcessEnd::Retired => 0,
        ProcessEnd::Poisoned => 1,
        ProcessEnd::Failed | ProcessEnd::Panicked => 2,
    });
    if let Some(end) = worst {
        attrs.push(format!("fillcolor={}", end_fill(end)));
        if matches!(end, ProcessEnd::Failed | ProcessEnd::Panicked) {
            attrs.push("color=red".into());
        }
    }
    if deadlocked {
        attrs.push(format!(
            "color=red, fontcolor=red, penwidth={}",
            if in_cycle { 3 } else { 2 }
        ));
    }
}

/// `[0..3]` for indices 0 to 3 in a row, else `[..]`.
pub(super) fn index_range<'a>(names: impl Iterator<Item = &'a str>, decl: &str) -> String {
    let mut ix: Vec<u64> = Vec::new();
    for n in names {
        match n
            .strip_prefix(decl)
            .and_then(|r| r.strip_prefix('['))
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|r| r.parse().ok())
        {
            Some(i) => ix.push(i),
            None => return "[..]".into(),
        }
    }
    ix.sort_unstable();
    ix.dedup();
    match (ix.first(), ix.last()) {
        (Some(&a), Some(&b)) if b - a + 1 == ix.len() as u64 => format!("[{a}..{b}]"),
        _ => "[..]".into(),
    }
}

fn msgs(n: u64) -> String {
    if n == 1 {
        "1 msg".into()
    } else {
        format!("{n} msgs")
    }
}

fn edge_label(w: &Edge) -> String {
    let mut label = if w.ty.is_empty() {
        w.channel.clone()
    } else {
        format!("{}: {}", w.channel, w.ty)
    };
    if let Some(b) = w.buffer.filter(|&b| b > 0) {
        let _ = write!(label, " (buffer {b})");
    }
    if let Some(c) = w.carried {
        let _ = write!(label, "\n{}", msgs(c));
    }
    label
}

fn merged_label(ws: &[&Edge]) -> String {
    if ws.len() == 1 {
        return edge_label(ws[0]);
    }
    let decl = ws[0].decl.as_deref();
    let mut label = if ws.iter().all(|w| w.channel == ws[0].channel) {
        // The writers (or readers) of one shared channel: its junction has the label.
        return format!("×{}", ws.len());
    } else if decl.is_some() && ws.iter().all(|w| w.decl.as_deref() == decl) {
        format!("{} ×{}", decl.unwrap_or_default(), ws.len())
    } else {
        format!("{} channels", ws.len())
    };
    if ws.iter().all(|w| w.ty == ws[0].ty) && !ws[0].ty.is_empty() {
        let _ = write!(label, ": {}", ws[0].ty);
    }
    if ws.iter().all(|w| w.carried.is_some()) {
        let total: u64 = ws.iter().filter_map(|w| w.carried).sum();
        let _ = write!(label, "\n{}", msgs(total));
    }
    label
}

/// Red and bold when a deadlocked process waits on it; thicker on the cycle. Barrier
/// enrollments stay dashed.
fn edge_style(ws: &[&Edge]) -> Option<String> {
    let style = if ws[0].role == EdgeRole::Barrier {
        ""
    } else {
        ", style=bold"
    };
    if ws.iter().any(|w| w.in_cycle) {
        Some(format!("color=red, fontcolor=red{style}, penwidth=3.5"))
    } else if ws.iter().any(|w| w.waited) {
        Some(format!("color=red, fontcolor=red{style}, penwidth=2"))
    } else {
        None
    }
}
