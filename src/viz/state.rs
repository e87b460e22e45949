//! What the viewer serves, made from the graph and the watch: the annotated graph
//! (`/graph.json`), its drawing (`/layout.json`) and the live state (`/state.json`, each
//! event of `/events`), schema `occamy-state/1` (docs/viewer.md).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::graph::{replicated_decl, Graph, NodeRole, ViewOptions};
use crate::network::{ChannelStats, ProcessStats};
use crate::observe::{Snapshot, State, Watch};
use crate::runtime::ProcessEnd;
use crate::wait::WaitOn;

/// Above this many processes the live state carries a sample of them (every process not
/// replicated, the first members of each replicated group, the ones in trouble), and
/// says so (`"sampled": true`); counts per group still cover every process.
pub const MAX_DETAIL: usize = 20_000;
/// Members of a group kept in a sample (the first ones: those an expanded group shows).
const SAMPLE: usize = 32;

/// The graph the viewer shows, and how the runtime's processes and channels map onto it.
pub(crate) struct Model {
    name: String,
    /// The graph of a declared network (fixed), with its process names mapped to nodes.
    plan: Option<(Graph, HashMap<String, String>)>,
}

/// The graph now, annotated, and how to find processes in it.
struct Annotated {
    graph: Graph,
}

impl Model {
    pub(crate) fn new(name: &str, plan: Option<Graph>) -> Model {
        let plan = plan.map(|g| {
            let names = g
                .nodes()
                .filter(|n| n.role == NodeRole::Process)
                .map(|n| (n.name.clone(), n.id.clone()))
                .collect();
            (g, names)
        });
        Model {
            name: name.to_string(),
            plan,
        }
    }

    /// Whether the graph comes from a declared network (channels keyed by name) rather
    /// than from the records (keyed by id).
    fn declared(&self) -> bool {
        self.plan.is_some()
    }

    /// The graph annotated with `snap`: messages carried, how processes ended, the
    /// deadlock.
    fn annotated(&self, watch: &Watch, snap: &Snapshot) -> Annotated {
        let mut graph = match &self.plan {
            Some((g, _)) => {
                let mut g = g.clone();
                let channels: Vec<ChannelStats> = snap
                    .channels
                    .iter()
                    .map(|c| ChannelStats {
                        name: c.label.clone(),
                        ty: c.ty.to_string(),
                        carried: c.carried,
                    })
                    .collect();
                let processes: Vec<ProcessStats> = snap
                    .processes
                    .iter()
                    .filter_map(|p| match p.state {
                        State::Ended(end) => Some(ProcessStats {
                            name: p.name.clone(),
                            kind: "".into(),
                            ran: p.ran.unwrap_or_default(),
                            end,
                        }),
                        _ => None,
                    })
                    .collect();
                g.annotate_stats(&channels, &processes);
                g
            }
            None => Graph::from_processes(&self.name, &watch.processes()),
        };
        for d in &snap.deadlocks {
            graph.annotate_deadlock(d);
        }
        if snap.finished && snap.deadlocks.is_empty() {
            graph.add_note("ended");
        }
        Annotated { graph }
    }

    /// `/graph.json`: the graph in the schema `occamy dot --json` writes, annotated.
    pub(crate) fn graph_json(&self, watch: &Watch, snap: &Snapshot) -> String {
        self.annotated(watch, snap).graph.to_json()
    }

    /// `/layout.json`: the drawing of the view asked for.
    pub(crate) fn layout_json(&self, watch: &Watch, snap: &Snapshot, opts: &ViewOptions) -> String {
        let layout = self.annotated(watch, snap).graph.layout(opts);
        serde_json::to_string(&layout).expect("a layout always serialises")
    }

    /// Which node each process is: by name in a declared network, by position (ids in
    /// order) in one built in code, as `Graph::from_processes` numbers them.
    fn node_ids(&self, snap: &Snapshot) -> Vec<Option<String>> {
        match &self.plan {
            Some((_, names)) => snap
                .processes
                .iter()
                .map(|p| names.get(&p.name).cloned())
                .collect(),
            None => (0..snap.processes.len())
                .map(|k| Some(format!("p{k}")))
                .collect(),
        }
    }

    fn total_processes(&self, snap: &Snapshot) -> usize {
        match &self.plan {
            Some((_, names)) => names.len(),
            None => snap.processes.len(),
        }
    }

    /// The live state: `snap`, with rates since `prev`, as one JSON object; a replay's
    /// says which of how many positions it is (`replay`).
    pub(crate) fn state_json(
        &self,
        seq: u64,
        snap: &Snapshot,
        prev: Option<&Snapshot>,
        replay: Option<(usize, usize)>,
    ) -> String {
        let ids = self.node_ids(snap);
        let node_of: HashMap<u64, &str> = snap
            .processes
            .iter()
            .zip(&ids)
            .filter_map(|(p, id)| Some((p.id, id.as_deref()?)))
            .collect();
        let key_of = |id: u64, label: &str| {
            if self.declared() {
                label.to_string()
            } else {
                id.to_string()
            }
        };
        // Deadlocked processes and the channels on the cycle.
        let by_name: HashMap<&str, &str> = snap
            .processes
            .iter()
            .zip(&ids)
            .filter_map(|(p, id)| Some((p.name.as_str(), id.as_deref()?)))
            .collect();
        let marks = DeadlockMarks::of(snap);
        let node = |n: &String| by_name.get(n.as_str()).map(|s| s.to_string());
        let dl_nodes: Vec<String> = marks.deadlocked.iter().filter_map(node).collect();
        let cycle_nodes: Vec<String> = marks.cycle.iter().filter_map(node).collect();
        let key = |(id, label): &(u64, String)| key_of(*id, label);
        let cycle_channels: Vec<String> = marks.cycle_channels.iter().map(key).collect();
        let waited: Vec<String> = marks.waited.iter().map(key).collect();
        let texts = marks.texts;
        // Which processes to detail.
        let sampled = snap.processes.len() > MAX_DETAIL;
        let mut seen_in: HashMap<&str, usize> = HashMap::new();
        let detail: Vec<bool> = snap
            .processes
            .iter()
            .zip(&ids)
            .map(|(p, id)| {
                if !sampled {
                    return true;
                }
                let trouble = matches!(
                    p.state,
                    State::Ended(ProcessEnd::Failed | ProcessEnd::Panicked)
                ) || id.as_ref().is_some_and(|i| dl_nodes.contains(i));
                match replicated_decl(&p.name) {
                    None => true,
                    Some(d) => {
                        let k = seen_in.entry(d).or_default();
                        *k += 1;
                        *k <= SAMPLE || trouble
                    }
                }
            })
            .collect();
        let mut processes: BTreeMap<&str, Proc> = BTreeMap::new();
        let mut groups: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
        let mut shown: Vec<u64> = Vec::new();
        for ((p, id), &d) in snap.processes.iter().zip(&ids).zip(&detail) {
            let Some(id) = id else { continue };
            let s = p.state.name();
            if let Some(decl) = replicated_decl(&p.name) {
                *groups
                    .entry(decl)
                    .or_default()
                    .entry(s.clone())
                    .or_default() += 1;
            }
            if !d {
                continue;
            }
            shown.push(p.id);
            let (on, peers, timeout) = match &p.state {
                State::Blocked { on, timeout, .. } => (
                    on.iter()
                        .map(|w| match w.on {
                            WaitOn::Channel { id, .. } => key_of(id, &w.label),
                            _ => w.label.clone(),
                        })
                        .collect(),
                    on.iter()
                        .flat_map(|w| w.peers.iter())
                        .filter_map(|peer| node_of.get(peer).map(|s| s.to_string()))
                        .collect(),
                    *timeout,
                ),
                _ => (Vec::new(), Vec::new(), false),
            };
            processes.insert(
                id,
                Proc {
                    s,
                    on,
                    peers,
                    timeout,
                },
            );
        }
        let rates = prev.map(|p| snap.rates_since(p));
        let mut channels: BTreeMap<String, (u64, f64)> = BTreeMap::new();
        for (i, c) in snap.channels.iter().enumerate() {
            if sampled
                && !c
                    .writers
                    .iter()
                    .chain(&c.readers)
                    .any(|p| shown.binary_search(p).is_ok())
            {
                continue;
            }
            let rate = rates.as_ref().map_or(0.0, |r| r[i]);
            channels.insert(
                key_of(c.id, &c.label),
                (c.carried, (rate * 10.0).round() / 10.0),
            );
        }
        let started = snap.processes.len();
        let state = StateDoc {
            replay: replay.is_some(),
            frame: replay.map(|r| r.0),
            frames: replay.map(|r| r.1),
            schema: "occamy-state/1",
            name: &self.name,
            seq,
            t: (snap.at.as_secs_f64() * 1000.0).round() / 1000.0,
            finished: snap.finished,
            graph: if self.declared() {
                snap.deadlocks.len() as u64
            } else {
                shape_of(snap) * 4 + snap.deadlocks.len() as u64
            },
            totals: Totals {
                processes: self.total_processes(snap),
                started,
                channels: snap.channels.len(),
                detailed_processes: processes.len(),
                detailed_channels: channels.len(),
            },
            sampled,
            processes,
            groups,
            channels,
            deadlock: (!texts.is_empty()).then(|| Deadlock {
                text: texts.join("\n"),
                deadlocked: dl_nodes,
                cycle: cycle_nodes,
                cycle_channels,
                waited,
            }),
        };
        serde_json::to_string(&state).expect("the state always serialises")
    }
}

/// The deadlocks of a snapshot as the views mark them (the web view's state, the
/// terminal table): processes by name, channels by id and label.
#[derive(Debug, Default)]
pub(crate) struct DeadlockMarks {
    /// Each deadlock's report, as the launcher prints it.
    pub(crate) texts: Vec<String>,
    /// Every deadlocked process.
    pub(crate) deadlocked: Vec<String>,
    /// The processes of each waits-for cycle, in order (the last waits for the first).
    pub(crate) cycle: Vec<String>,
    /// The channels along the cycles.
    pub(crate) cycle_channels: Vec<(u64, String)>,
    /// Every channel a deadlocked process waits on.
    pub(crate) waited: Vec<(u64, String)>,
}

impl DeadlockMarks {
    pub(crate) fn of(snap: &Snapshot) -> DeadlockMarks {
        let mut m = DeadlockMarks::default();
        for d in &snap.deadlocks {
            m.texts.push(d.to_string());
            for b in &d.blocked {
                m.deadlocked.push(b.name.clone());
                for op in &b.ops {
                    if let WaitOn::Channel { id, .. } = op.on {
                        m.waited.push((id, op.label.clone()));
                    }
                }
            }
            let len = d.cycle.len();
            for (i, x) in d.cycle.iter().enumerate() {
                let y = &d.cycle[(i + 1) % len];
                m.cycle.push(x.clone());
                if let Some(b) = d.blocked.iter().find(|b| &b.name == x) {
                    for op in b.ops.iter().filter(|op| op.peers.contains(y)) {
                        if let WaitOn::Channel { id, .. } = op.on {
                            m.cycle_channels.push((id, op.label.clone()));
                        }
                    }
                }
            }
        }
        m
    }
}

/// A number that changes when processes start or take up channels (the graph of a
/// network built in code grows then).
fn shape_of(snap: &Snapshot) -> u64 {
    let ends: usize = snap
        .channels
        .iter()
        .map(|c| c.writers.len() + c.readers.len())
        .sum();
    (snap.processes.len() as u64) << 32 | ends as u64
}

#[derive(Serialize)]
struct Proc {
    s: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    on: Vec<String>,
    #[serde(rename = "for", skip_serializing_if = "Vec::is_empty")]
    peers: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    timeout: bool,
}

#[derive(Serialize)]
struct Totals {
    processes: usize,
    started: usize,
    channels: usize,
    detailed_processes: usize,
    detailed_channels: usize,
}

#[derive(Serialize)]
struct Deadlock {
    text: String,
    deadlocked: Vec<String>,
    cycle: Vec<String>,
    cycle_channels: Vec<String>,
    waited: Vec<String>,
}

#[derive(Serialize)]
struct StateDoc<'a> {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    replay: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    frame: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frames: Option<usize>,
    schema: &'static str,
    name: &'a str,
    seq: u64,
    t: f64,
    finished: bool,
    graph: u64,
    totals: Totals,
    sampled: bool,
    processes: BTreeMap<&'a str, Proc>,
    groups: BTreeMap<&'a str, BTreeMap<String, usize>>,
    channels: BTreeMap<String, (u64, f64)>,
    deadlock: Option<Deadlock>,
}
