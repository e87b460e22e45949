//! The process graph: seeing a network.
//!
//! One model for a declared network ([`Graph::from_plan`]) and for a network built in
//! code ([`Graph::from_processes`], [`Graph::from_outcome`]), on a
//! [`petgraph`](https://docs.rs/petgraph/0.8) directed graph:
//!
//! - every process is a node, labelled with its name and kind;
//! - every channel is an edge from the process writing to it to the process reading from
//!   it, labelled with the channel's name and element type;
//! - a shared channel (several writers and/or readers) is a small *junction* node, with
//!   an edge in from each writer and an edge out to each reader;
//! - a channel end that no known process holds (code-built networks: an end kept by the
//!   main thread, or dropped) is a small `?` node, so that nothing silently disappears;
//! - a barrier is a node joined by dashed lines to the processes enrolled on it;
//! - sub-networks are clusters, nested as the processes' `cluster` paths are.
//!
//! A graph can then be annotated with what happened: [`Graph::annotate_run`] (messages
//! per channel, how each process ended) and [`Graph::annotate_deadlock`] (the deadlocked
//! processes and the channels they wait on, the waits-for cycle), and exported as
//! Graphviz DOT ([`Graph::to_dot`], optionally collapsing replicated processes) or JSON
//! ([`Graph::to_json`], schema below).
//!
//! # Examples
//! A network built in code, drawn after it ran:
//! ```
//! use occamy::{Runtime, Process};
//! use occamy::graph::{Graph, DotOptions};
//! let (tx, rx) = occamy::channel::<u32>();
//! tx.set_name("numbers");
//! let outcome = Runtime::new().run([
//!     Process::with("source", tx, |tx| tx.send(7)),
//!     Process::with("sink", rx, |rx| rx.recv().map(drop)),
//! ]);
//! let graph = Graph::from_outcome("example", &outcome);
//! let dot = graph.to_dot(&DotOptions::default());
//! assert!(dot.starts_with("digraph \"example\" {"));
//! assert!(dot.contains("label=\"numbers: u32\\n1 msg\""));
//! ```
//!
//! # JSON schema (`occamy-graph/1`)
//! ```text
//! {
//!   "schema": "occamy-graph/1",
//!   "name": "pipeline",                 // the network's name
//!                                       // "ranks": 2, only when placed on several
//!                                       // MPI ranks (each process has its "rank")
//!   "notes": ["deadlock: ..."],         // what the annotations said about the whole run
//!   "clusters": [                       // sub-networks, parents before children
//!     { "id": "cluster_0", "path": ["farm"], "label": "farm", "parent": null }
//!   ],
//!   "nodes": [
//!     { "id": "p0",                     // stable within one export: p (process),
//!                                       // j (junction), u (unknown), b (barrier) + index
//!       "role": "process",              // "process" | "junction" | "unknown" | "barrier"
//!       "name": "numbers",              // process name; a junction's channel name; "?"
//!       "kind": "numbers",              // process kind (declared networks), else null
//!       "decl": "numbers",              // the declaration a replicated instance comes from
//!       "cluster": [],                  // sub-network path
//!       "end": "retired",               // "ok" | "poisoned" | "retired" | "failed" |
//!                                       // "panicked" | null (not ended or not known)
//!                                       // "own_thread": true, only for a process
//!                                       // declared `thread: true` (an OS thread)
//!                                       // "rank": 1, only when the network is placed
//!                                       // on several MPI ranks (`--ranks N`)
//!       "deadlocked": false,
//!       "in_cycle": false }
//!   ],
//!   "edges": [
//!     { "from": "p0", "to": "p1",       // node ids
//!       "role": "channel",              // "channel" | "barrier"
//!       "channel": "nums",              // the channel's (or barrier's) name, or "#id"
//!       "decl": "nums",                 // its declaration (declared networks), else null
//!       "type": "i64",                  // element type; null for barriers
//!       "buffer": 0,                    // capacity (declared networks), else null
//!       "channel_id": null,             // runtime id (code-built networks), else null
//!       "carried": 10,                  // messages delivered, once known, else null
//!       "waited": false,                // a deadlocked process waits on it
//!       "in_cycle": false }             // part of the waits-for cycle
//!   ]
//! }
//! ```
//! Fields are only ever added to this schema; a change that removes or changes one
//! bumps the version in `schema`.

mod dot;
mod json;
mod layered;
mod layout;
mod svg;
mod view;

use std::collections::HashMap;

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction as PgDir;

use crate::deadlock::DeadlockReport;
#[cfg(feature = "network")]
use crate::network::{ChannelStats, Plan, ProcessStats, RunReport};
use crate::runtime::ProcessInfo;
use crate::runtime::{Failure, ParOutcome, ProcessEnd};
use crate::wait::{Direction, WaitOn};

pub use dot::DotOptions;
pub use layout::{Layout, PlacedCluster, PlacedEdge, PlacedNode, Shape};
pub use view::ViewOptions;

/// What a node of the graph stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeRole {
    /// A process.
    Process,
    /// Where the writers and readers of a shared channel meet.
    Junction,
    /// The unknown holder of a channel end (no known process holds it).
    Unknown,
    /// A barrier.
    Barrier,
}

impl NodeRole {
    fn as_str(self) -> &'static str {
        match self {
            NodeRole::Process => "process",
            NodeRole::Junction => "junction",
            NodeRole::Unknown => "unknown",
            NodeRole::Barrier => "barrier",
        }
    }
}

/// A node of the graph: a process, a junction, an unknown end or a barrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its id in DOT and JSON: `p`, `j`, `u` or `b` and a number, stable for a given
    /// network.
    pub id: String,
    /// What it stands for.
    pub role: NodeRole,
    /// The process's name; a junction's channel name; `?`; a barrier's name (`#id` for
    /// barriers built in code: the runtime does not report their names).
    pub name: String,
    /// The process's kind (declared networks only: the runtime does not know the kind of
    /// a process built in code).
    pub kind: Option<String>,
    /// The declaration a replicated process comes from (`node` for `node[3]`). For
    /// processes built in code it is guessed from the name: `worker[2]` gives `worker`.
    pub decl: Option<String>,
    /// The sub-network path it lives in (empty at top level).
    pub cluster: Vec<String>,
    /// How the process ended, once known.
    pub end: Option<ProcessEnd>,
    /// Whether the process runs on an OS thread of its own under any scheduler (declared
    /// `thread: true` in a network file).
    pub own_thread: bool,
    /// Whether the process is deadlocked.
    pub deadlocked: bool,
    /// Whether the process is on the waits-for cycle of a deadlock.
    pub in_cycle: bool,
    /// The MPI rank the process is placed on, when its network is placed on several
    /// ([`Graph::ranks`] > 1); `None` otherwise.
    pub rank: Option<u32>,
}

/// What an edge of the graph stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeRole {
    /// (A part of) a channel, from a writer to a reader (or to or from a junction).
    Channel,
    /// A process's enrollment on a barrier (drawn without an arrowhead).
    Barrier,
}

/// An edge of the graph: a channel (or the part of a shared channel between one of its
/// writers or readers and its junction), or a barrier enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// What it stands for.
    pub role: EdgeRole,
    /// The channel's name (`#id` for an unnamed channel built in code); a barrier's name
    /// (or `#id`).
    pub channel: String,
    /// The declared channel or channel array it belongs to (declared networks).
    pub decl: Option<String>,
    /// The element type (empty for barriers).
    pub ty: String,
    /// The buffer capacity (declared networks; the runtime does not report it for channels
    /// built in code).
    pub buffer: Option<usize>,
    /// The runtime's channel (or barrier) id (networks built in code).
    pub channel_id: Option<u64>,
    /// How many values the channel delivered, once known.
    pub carried: Option<u64>,
    /// Whether a deadlocked process waits on it.
    pub waited: bool,
    /// Whether it is on the waits-for cycle of a deadlock.
    pub in_cycle: bool,
}

/// The graph of a process network (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct Graph {
    name: String,
    g: DiGraph<Node, Edge>,
    notes: Vec<String>,
    counts: [usize; 4],
    ranks: u32,
}

/// One channel, before it becomes edges: writers and readers as node indices.
struct Wiring {
    edge: Edge,
    cluster: Vec<String>,
    writers: Vec<NodeIndex>,
    readers: Vec<NodeIndex>,
}

impl Graph {
    fn empty(name: &str) -> Graph {
        Graph {
            name: name.to_string(),
            g: DiGraph::new(),
            notes: Vec::new(),
            counts: [0; 4],
            ranks: 1,
        }
    }

    fn add_node(&mut self, role: NodeRole, name: String, cluster: Vec<String>) -> NodeIndex {
        let (prefix, slot) = match role {
            NodeRole::Process => ("p", 0),
            NodeRole::Junction => ("j", 1),
            NodeRole::Unknown => ("u", 2),
            NodeRole::Barrier => ("b", 3),
        };
        let id = format!("{prefix}{}", self.counts[slot]);
        self.counts[slot] += 1;
        self.g.add_node(Node {
            id,
            role,
            name,
            kind: None,
            decl: None,
            cluster,
            end: None,
            own_thread: false,
            deadlocked: false,
            in_cycle: false,
            rank: None,
        })
    }

    /// Adds a channel's edges: one edge when it has one writer and one reader, else a
    /// junction; a `?` node stands in for a missing side.
    fn wire(&mut self, w: Wiring) {
        let Wiring {
            edge,
            cluster,
            mut writers,
            mut readers,
        } = w;
        if writers.is_empty() {
            writers.push(self.add_node(NodeRole::Unknown, "?".into(), Vec::new()));
        }
        if readers.is_empty() {
            readers.push(self.add_node(NodeRole::Unknown, "?".into(), Vec::new()));
        }
        if writers.len() == 1 && readers.len() == 1 {
            self.g.add_edge(writers[0], readers[0], edge);
            return;
        }
        let j = self.add_node(NodeRole::Junction, edge.channel.clone(), cluster);
        for w in writers {
            self.g.add_edge(w, j, edge.clone());
        }
        for r in readers {
            self.g.add_edge(j, r, edge.clone());
        }
    }

    /// The graph of a loaded network: its processes, channels and sub-networks.
    ///
    /// # Examples
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("occamy-graph-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let file = dir.join("two.ron");
    /// std::fs::write(&file, r#"Network(
    ///     name: "two",
    ///     channels: { "c": "u64" },
    ///     processes: {
    ///         "nums": (kind: "numbers", params: { "count": 3 }, ports: { "out": "c" }),
    ///         "sink": (kind: "discard", ports: { "in": "c" }),
    ///     },
    /// )"#).unwrap();
    /// let reg = occamy::network::Registry::with_builtins();
    /// let plan = occamy::network::load(&file, &[], &reg).unwrap();
    /// let graph = occamy::graph::Graph::from_plan(&plan);
    /// assert_eq!(graph.nodes().count(), 2);
    /// let dot = graph.to_dot(&occamy::graph::DotOptions::default());
    /// assert!(dot.contains("p0 -> p1 [label=\"c: u64\"]"));
    /// ```
    #[cfg(feature = "network")]
    pub fn from_plan(plan: &Plan) -> Graph {
        let mut graph = Graph::empty(&plan.name);
        graph.ranks = plan.ranks();
        let placed = plan.ranks() > 1;
        let nodes: Vec<NodeIndex> = plan
            .processes
            .iter()
            .map(|p| {
                let n = graph.add_node(NodeRole::Process, p.name.clone(), p.cluster.to_vec());
                let node = &mut graph.g[n];
                node.kind = Some(p.kind.to_string());
                node.decl = Some(p.decl.to_string());
                node.own_thread = p.own_thread;
                node.rank = placed.then_some(p.rank);
                n
            })
            .collect();
        for c in &plan.channels {
            graph.wire(Wiring {
                edge: Edge {
                    role: EdgeRole::Channel,
                    channel: c.name.clone(),
                    decl: Some(c.decl.to_string()),
                    ty: c.ty.to_string(),
                    buffer: Some(c.buffer),
                    channel_id: None,
                    carried: None,
                    waited: false,
                    in_cycle: false,
                },
                cluster: c.cluster.to_vec(),
                writers: c.writers.iter().map(|(p, _)| nodes[*p]).collect(),
                readers: c.readers.iter().map(|(p, _)| nodes[*p]).collect(),
            });
        }
        for b in &plan.barriers {
            let parties: Vec<NodeIndex> = b.parties.iter().map(|(p, _)| nodes[*p]).collect();
            graph.add_barrier(b.name.clone(), None, b.cluster.to_vec(), parties);
        }
        graph
    }

    /// Adds a barrier node with an edge from each party to it.
    fn add_barrier(
        &mut self,
        name: String,
        id: Option<u64>,
        cluster: Vec<String>,
        parties: Vec<NodeIndex>,
    ) {
        let b = self.add_node(NodeRole::Barrier, name.clone(), cluster);
        for p in parties {
            self.g.add_edge(
                p,
                b,
                Edge {
                    role: EdgeRole::Barrier,
                    channel: name.clone(),
                    decl: None,
                    ty: String::new(),
                    buffer: None,
                    channel_id: id,
                    carried: None,
                    waited: false,
                    in_cycle: false,
                },
            );
        }
    }

    /// The graph of a network built in code, from the runtime's records of its processes
    /// ([`ParOutcome::processes`], or [`processes()`](crate::processes) for the running
    /// ones): an edge from the process holding the sending end of each channel to the
    /// process holding its receiving end, labelled with the channel's name
    /// ([`Sender::set_name`](crate::Sender::set_name), else `#id`) and element type, and
    /// messages carried so far. Each process shows how it ended, if it has.
    ///
    /// The runtime knows the ends a process declared ([`Process::with`](crate::Process::with))
    /// or has used; a channel whose other end no listed process is known to hold gets an
    /// edge to (or from) a `?` node.
    ///
    /// # Examples
    /// ```
    /// use occamy::{Process, Runtime};
    /// use occamy::graph::Graph;
    /// let (tx, rx) = occamy::channel::<u8>();
    /// let outcome = Runtime::new().run([
    ///     Process::with("worker[0]", tx, |tx| tx.send(1)),
    ///     Process::with("worker[1]", rx, |rx| rx.recv().map(drop)),
    /// ]);
    /// let graph = Graph::from_processes("pair", &outcome.processes);
    /// let names: Vec<&str> = graph.nodes().map(|n| n.name.as_str()).collect();
    /// assert_eq!(names, ["worker[0]", "worker[1]"]);
    /// assert_eq!(graph.edges().count(), 1);
    /// ```
    pub fn from_processes(name: &str, processes: &[ProcessInfo]) -> Graph {
        let mut graph = Graph::empty(name);
        let mut chans: Vec<Wiring> = Vec::new();
        let mut chan_at: HashMap<u64, usize> = HashMap::new();
        let mut barriers: Vec<(u64, Vec<NodeIndex>)> = Vec::new();
        // In the order they were declared (ids follow it), whatever order they started in.
        let mut processes: Vec<&ProcessInfo> = processes.iter().collect();
        processes.sort_by_key(|p| p.id);
        for p in processes {
            let n = graph.add_node(NodeRole::Process, p.name.clone(), Vec::new());
            graph.g[n].decl = replicated_decl(&p.name).map(str::to_string);
            graph.g[n].end = p.end;
            for e in &p.ends {
                let i = *chan_at.entry(e.channel).or_insert_with(|| {
                    chans.push(Wiring {
                        edge: Edge {
                            role: EdgeRole::Channel,
                            channel: e.label(),
                            decl: None,
                            ty: e.ty.to_string(),
                            buffer: None,
                            channel_id: Some(e.channel),
                            carried: Some(e.carried),
                            waited: false,
                            in_cycle: false,
                        },
                        cluster: Vec::new(),
                        writers: Vec::new(),
                        readers: Vec::new(),
                    });
                    chans.len() - 1
                });
                let w = &mut chans[i];
                w.edge.carried = w.edge.carried.max(Some(e.carried));
                if w.edge.channel.starts_with('#') && e.name.is_some() {
                    w.edge.channel = e.label();
                }
                let side = match e.dir {
                    Direction::Send => &mut w.writers,
                    Direction::Recv => &mut w.readers,
                };
                if !side.contains(&n) {
                    side.push(n);
                }
            }
            for &b in &p.barriers {
                match barriers.iter_mut().find(|(id, _)| *id == b) {
                    Some((_, ps)) => ps.push(n),
                    None => barriers.push((b, vec![n])),
                }
            }
        }
        for w in chans {
            graph.wire(w);
        }
        for (id, ps) in barriers {
            graph.add_barrier(format!("#{id}"), Some(id), Vec::new(), ps);
        }
        graph
    }

    /// The graph of what a [`Runtime::run`](crate::Runtime::run) did: [`Graph::from_processes`]
    /// on its processes, annotated with its deadlock if it found one, and with a note
    /// saying how it ended.
    ///
    /// # Examples
    /// ```
    /// use occamy::{Process, Runtime};
    /// use occamy::graph::Graph;
    /// let (a_tx, a_rx) = occamy::channel::<u8>();
    /// let (b_tx, b_rx) = occamy::channel::<u8>();
    /// // Each waits for the other first: a deadlock.
    /// let outcome = Runtime::new().run([
    ///     Process::with("a", (b_rx, a_tx), |(rx, tx)| -> occamy::Result { tx.send(rx.recv()?)?; Ok(()) }),
    ///     Process::with("b", (a_rx, b_tx), |(rx, tx)| -> occamy::Result { tx.send(rx.recv()?)?; Ok(()) }),
    /// ]);
    /// let graph = Graph::from_outcome("stuck", &outcome);
    /// assert!(graph.nodes().all(|n| n.deadlocked));
    /// assert!(graph.edges().all(|(_, _, e)| e.in_cycle));
    /// ```
    pub fn from_outcome(name: &str, outcome: &ParOutcome) -> Graph {
        let mut graph = Graph::from_processes(name, &outcome.processes);
        match &outcome.result {
            Ok(()) => graph.notes.push("ended normally".into()),
            Err(e) if matches!(e.failure, Failure::Deadlock(_)) => {}
            Err(e) => graph.notes.push(format!("error: {e}")),
        }
        if let Some(d) = &outcome.deadlock {
            graph.annotate_deadlock(d);
        }
        graph
    }

    /// Annotates the graph with a run of its network: messages carried per channel, how
    /// each process ended, and the deadlock, if the run ended in one.
    #[cfg(feature = "network")]
    pub fn annotate_run(&mut self, report: &RunReport) {
        self.annotate_stats(&report.channels, &report.processes);
        let mut deadlock = report.deadlock.as_ref();
        match &report.result {
            Ok(()) if deadlock.is_none() => self.notes.push("ended normally".into()),
            Ok(()) => {}
            Err(e) => match &e.failure {
                Failure::Deadlock(d) => deadlock = deadlock.or(Some(d)),
                _ => self.notes.push(format!("error: {e}")),
            },
        }
        if let Some(d) = deadlock {
            self.annotate_deadlock(d);
        }
    }

    /// Annotates the graph with statistics, as [`Running::snapshot`](crate::network::Running::snapshot)
    /// gives them while a network runs: messages carried per channel (matched by name)
    /// and how each process that has ended ended.
    #[cfg(feature = "network")]
    pub fn annotate_stats(&mut self, channels: &[ChannelStats], processes: &[ProcessStats]) {
        let carried: HashMap<&str, u64> = channels
            .iter()
            .map(|c| (c.name.as_str(), c.carried))
            .collect();
        for e in self.g.edge_weights_mut() {
            if e.role == EdgeRole::Channel {
                if let Some(&n) = carried.get(e.channel.as_str()) {
                    e.carried = Some(n);
                }
            }
        }
        let ends: HashMap<&str, ProcessEnd> =
            processes.iter().map(|p| (p.name.as_str(), p.end)).collect();
        for n in self.g.node_weights_mut() {
            if n.role == NodeRole::Process {
                if let Some(&end) = ends.get(n.name.as_str()) {
                    n.end = Some(end);
                }
            }
        }
    }

    /// Annotates the graph with a deadlock: the deadlocked processes, the channels (and
    /// barriers) they wait on, and the waits-for cycle. Processes are matched by name;
    /// channels by runtime id where the graph has them (networks built in code), else by
    /// name.
    pub fn annotate_deadlock(&mut self, report: &DeadlockReport) {
        self.notes.push(report.to_string());
        for b in &report.blocked {
            for n in self.processes_named(&b.name) {
                self.g[n].deadlocked = true;
                for op in &b.ops {
                    for e in self.op_edges(n, &op.on, &op.label) {
                        self.g[e].waited = true;
                    }
                }
            }
        }
        let len = report.cycle.len();
        for (i, x) in report.cycle.iter().enumerate() {
            let y = &report.cycle[(i + 1) % len];
            let Some(b) = report.blocked.iter().find(|b| &b.name == x) else {
                continue;
            };
            for n in self.processes_named(x) {
                self.g[n].in_cycle = true;
            }
            for op in b.ops.iter().filter(|op| op.peers.contains(y)) {
                let mut edges = Vec::new();
                for n in self.processes_named(x) {
                    edges.extend(self.op_edges(n, &op.on, &op.label));
                }
                // The peer's side of the same channel (through a junction).
                let peer_on = match op.on {
                    WaitOn::Channel { id, dir } => WaitOn::Channel {
                        id,
                        dir: match dir {
                            Direction::Send => Direction::Recv,
                            Direction::Recv => Direction::Send,
                        },
                    },
                    other => other,
                };
                for n in self.processes_named(y) {
                    edges.extend(self.op_edges(n, &peer_on, &op.label));
                }
                for e in edges {
                    self.g[e].in_cycle = true;
                }
            }
        }
    }

    fn processes_named(&self, name: &str) -> Vec<NodeIndex> {
        self.g
            .node_indices()
            .filter(|&n| self.g[n].role == NodeRole::Process && self.g[n].name == name)
            .collect()
    }

    /// The edges by which process `n` takes part in the wait `on` (on the channel or
    /// barrier called `label`): its outgoing edge for a send, incoming for a receive.
    fn op_edges(&self, n: NodeIndex, on: &WaitOn, label: &str) -> Vec<EdgeIndex> {
        let (dir, role, id) = match *on {
            WaitOn::Channel { id, dir } => (
                match dir {
                    Direction::Send => PgDir::Outgoing,
                    Direction::Recv => PgDir::Incoming,
                },
                EdgeRole::Channel,
                id,
            ),
            WaitOn::Barrier { id } => (PgDir::Outgoing, EdgeRole::Barrier, id),
            WaitOn::Timer => return Vec::new(),
        };
        let mut out: Vec<EdgeIndex> = self
            .g
            .edges_directed(n, dir)
            .filter(|e| {
                let w = e.weight();
                w.role == role
                    && match w.channel_id {
                        Some(cid) => cid == id,
                        None => w.channel == label,
                    }
            })
            .map(|e| e.id())
            .collect();
        out.sort();
        out
    }

    /// Every sub-network path (and each of its prefixes), in the order of first
    /// appearance: parents before children.
    fn cluster_paths(&self) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        for n in self.g.node_weights() {
            for k in 1..=n.cluster.len() {
                let p = &n.cluster[..k];
                if !out.iter().any(|c| c == p) {
                    out.push(p.to_vec());
                }
            }
        }
        out
    }

    /// Adds a note about the whole network (shown under its name in DOT, in `notes` in
    /// JSON).
    pub fn add_note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The network's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many MPI ranks the network is placed on: its plan's
    /// [`Plan::ranks`](crate::network::Plan::ranks), 1 for a network built in code. With
    /// more than one, DOT fills each process with its rank's colour (and a legend), and
    /// JSON gives each its `"rank"`.
    ///
    /// # Examples
    /// ```
    /// let outcome = occamy::Runtime::new().run([occamy::Process::new("p", || -> occamy::Result { Ok(()) })]);
    /// assert_eq!(occamy::graph::Graph::from_outcome("one", &outcome).ranks(), 1);
    /// ```
    pub fn ranks(&self) -> u32 {
        self.ranks
    }

    /// What the annotations said about the whole network (how the run ended, the
    /// deadlock), in the order they were made.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The nodes, in a stable order: processes in the order they were declared (or
    /// listed), the other nodes where their channels come.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> + '_ {
        self.g.node_weights()
    }

    /// The edges with their ends (from, to, edge), in a stable order: by channel, in the
    /// order channels were declared (or first seen).
    pub fn edges(&self) -> impl Iterator<Item = (&Node, &Node, &Edge)> + '_ {
        self.g
            .edge_references()
            .map(|e| (&self.g[e.source()], &self.g[e.target()], e.weight()))
    }

    /// The underlying petgraph graph (petgraph 0.8), for graph algorithms.
    pub fn petgraph(&self) -> &DiGraph<Node, Edge> {
        &self.g
    }

    /// The graph as Graphviz DOT (see [`DotOptions`]); deterministic for a given graph.
    pub fn to_dot(&self, options: &DotOptions) -> String {
        dot::to_dot(self, options)
    }

    /// The graph as JSON, pretty-printed, in the schema `occamy-graph/1` (see the
    /// [module docs](self)).
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::channel::<u8>();
    /// let outcome = occamy::Runtime::new().run([
    ///     occamy::Process::with("a", tx, |tx| tx.send(1)),
    ///     occamy::Process::with("b", rx, |rx| rx.recv().map(drop)),
    /// ]);
    /// let json = occamy::graph::Graph::from_outcome("ab", &outcome).to_json();
    /// assert!(json.contains("\"schema\": \"occamy-graph/1\""));
    /// ```
    pub fn to_json(&self) -> String {
        json::to_json(self)
    }

    /// Lays the graph out without Graphviz: the view `opts` asks for (replicated groups
    /// collapsed or a sample of them expanded), from left to right, sub-networks as
    /// boxes. The live viewer draws this; [`Graph::to_svg`] renders it.
    ///
    /// # Examples
    /// ```
    /// use occamy::graph::{Graph, ViewOptions};
    /// let (tx, rx) = occamy::channel::<u8>();
    /// let outcome = occamy::Runtime::new().run([
    ///     occamy::Process::with("a", tx, |tx| tx.send(1)),
    ///     occamy::Process::with("b", rx, |rx| rx.recv().map(drop)),
    /// ]);
    /// let layout = Graph::from_outcome("ab", &outcome).layout(&ViewOptions::default());
    /// let (a, b) = (&layout.nodes[0], &layout.nodes[1]);
    /// assert!(a.x + a.w / 2.0 < b.x - b.w / 2.0, "a is left of b");
    /// ```
    pub fn layout(&self, opts: &ViewOptions) -> Layout {
        layout::layout(self, opts)
    }

    /// The graph as SVG, laid out by occamy itself ([`Graph::layout`]; no Graphviz needed),
    /// with the same annotations as [`Graph::to_dot`]: how processes ended, messages per
    /// channel, a deadlock in red. With `collapse_replicated`, each group of replicated
    /// processes is one node.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::channel::<u8>();
    /// tx.set_name("numbers");
    /// let outcome = occamy::Runtime::new().run([
    ///     occamy::Process::with("a", tx, |tx| tx.send(1)),
    ///     occamy::Process::with("b", rx, |rx| rx.recv().map(drop)),
    /// ]);
    /// let svg = occamy::graph::Graph::from_outcome("ab", &outcome).to_svg(&occamy::graph::DotOptions::default());
    /// assert!(svg.starts_with("<svg"));
    /// assert!(svg.contains(">numbers: u8</text>"));
    /// ```
    pub fn to_svg(&self, opts: &DotOptions) -> String {
        let view = ViewOptions {
            collapse: opts.collapse_replicated,
            collapse_over: 1,
            sample: usize::MAX,
            ..ViewOptions::default()
        };
        svg::to_svg(self, &self.layout(&view))
    }
}

/// The declaration a replicated name comes from: `worker` for `worker[2]`.
pub(crate) fn replicated_decl(name: &str) -> Option<&str> {
    let open = name.rfind('[')?;
    let inner = name[open + 1..].strip_suffix(']')?;
    (open > 0 && !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit()))
        .then(|| &name[..open])
}

#[cfg(test)]
mod tests {
    use super::replicated_decl;

    #[test]
    fn replicated_names() {
        assert_eq!(replicated_decl("worker[2]"), Some("worker"));
        assert_eq!(replicated_decl("farm.worker[12]"), Some("farm.worker"));
        assert_eq!(replicated_decl("w[0].inc"), None);
        assert_eq!(replicated_decl("[3]"), None);
        assert_eq!(replicated_decl("x[]"), None);
        assert_eq!(replicated_decl("plain"), None);
    }
}
