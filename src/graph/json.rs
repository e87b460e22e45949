//! JSON output (schema `occamy-graph/1`, documented in the module docs).

use serde::Serialize;

use super::{EdgeRole, Graph};

#[derive(Serialize)]
struct JsonGraph<'a> {
    schema: &'static str,
    name: &'a str,
    /// Only when placed on several MPI ranks.
    #[serde(skip_serializing_if = "Option::is_none")]
    ranks: Option<u32>,
    notes: &'a [String],
    clusters: Vec<JsonCluster>,
    nodes: Vec<JsonNode<'a>>,
    edges: Vec<JsonEdge<'a>>,
}

#[derive(Serialize)]
struct JsonCluster {
    id: String,
    path: Vec<String>,
    label: String,
    parent: Option<String>,
}

#[derive(Serialize)]
struct JsonNode<'a> {
    id: &'a str,
    role: &'static str,
    name: &'a str,
    kind: Option<&'a str>,
    decl: Option<&'a str>,
    cluster: &'a [String],
    end: Option<String>,
    /// Only when set: `thread: true` in the file.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    own_thread: bool,
    /// Only when placed on several MPI ranks.
    #[serde(skip_serializing_if = "Option::is_none")]
    rank: Option<u32>,
    deadlocked: bool,
    in_cycle: bool,
}

#[derive(Serialize)]
struct JsonEdge<'a> {
    from: &'a str,
    to: &'a str,
    role: &'static str,
    channel: &'a str,
    decl: Option<&'a str>,
    #[serde(rename = "type")]
    ty: Option<&'a str>,
    buffer: Option<usize>,
    channel_id: Option<u64>,
    carried: Option<u64>,
    waited: bool,
    in_cycle: bool,
}

pub(super) fn to_json(graph: &Graph) -> String {
    let paths = graph.cluster_paths();
    let clusters = paths
        .iter()
        .enumerate()
        .map(|(i, p)| JsonCluster {
            id: format!("cluster_{i}"),
            path: p.clone(),
            label: p.last().cloned().unwrap_or_default(),
            parent: paths
                .iter()
                .position(|q| q.len() + 1 == p.len() && p.starts_with(q))
                .map(|j| format!("cluster_{j}")),
        })
        .collect();
    let nodes = graph
        .nodes()
        .map(|n| JsonNode {
            id: &n.id,
            role: n.role.as_str(),
            name: &n.name,
            kind: n.kind.as_deref(),
            decl: n.decl.as_deref(),
            cluster: &n.cluster,
            end: n.end.map(|e| e.to_string()),
            own_thread: n.own_thread,
            rank: n.rank,
            deadlocked: n.deadlocked,
            in_cycle: n.in_cycle,
        })
        .collect();
    let edges = graph
        .edges()
        .map(|(a, b, e)| JsonEdge {
            from: &a.id,
            to: &b.id,
            role: match e.role {
                EdgeRole::Channel => "channel",
                EdgeRole::Barrier => "barrier",
            },
            channel: &e.channel,
            decl: e.decl.as_deref(),
            ty: (e.role == EdgeRole::Channel).then_some(e.ty.as_str()),
            buffer: e.buffer,
            channel_id: e.channel_id,
            carried: e.carried,
            waited: e.waited,
            in_cycle: e.in_cycle,
        })
        .collect();
    let doc = JsonGraph {
        schema: "occamy-graph/1",
        name: &graph.name,
        ranks: (graph.ranks > 1).then_some(graph.ranks),
        notes: &graph.notes,
        clusters,
        nodes,
        edges,
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("a graph always serialises");
    s.push('\n');
    s
}
