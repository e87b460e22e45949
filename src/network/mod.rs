//! Declared networks: the RON network format (docs/network-format.md), its loader and
//! checker, and running a checked network.
//!
//! Loading runs in passes. The model (model.rs) reads a file's RON; elaboration
//! (loader.rs, processes.rs, channels.rs, with expr.rs for `$` expressions) turns the file
//! and the sub-network files it includes into a flat [`Plan`]: every replicated process
//! and every element of a channel array becomes one instance, sub-network processes get
//! qualified names (`farm.worker[2]`), and every port is bound to channel instances. The
//! checker ([`check`], a pure function of the plan and the registry) then looks at the
//! network as a whole; wiring (run.rs) makes the channels and processes through the
//! runtime. Every problem found is reported, each a [`Diagnostic`] with a stable code
//! ([`CODES`]), naming file:line:column and the process, port or channel at fault, with a
//! suggestion where it can make one. Nothing starts unless the whole network checks.
//!
//! A top-level network may leave channels open as ports (`ports:`, as sub-networks
//! export them): the program that runs it feeds its `In` ports and gets back what
//! arrived on its `Out` ports ([`run_file_with`], [`RunOptions`]).
//!
//! A file may choose its scheduler ([`Plan::scheduler`], applied by [`runtime_of`]) and
//! give processes a thread of their own (`thread: true`, [`PlanProcess::own_thread`]).
//!
//! The kinds and types a file may name live in a [`Registry`]: the built-in kinds, and a
//! program's own, each a [`Kind`] (ports, params, and a closure that builds its process
//! from a [`BuildCtx`]). This module needs the cargo feature `network` (on by default).

mod channels;
mod check;
mod codes;
mod error;
mod expr;
mod loader;
mod model;
mod placement;
mod ports;
mod processes;
mod run;
pub(crate) mod values;

pub use crate::kinds::Num;
pub use crate::registry::{
    BuildCtx, BuildError, BuildFn, Kind, Msg, ParamSpec, ParamType, PortDir, PortSpec, Registry,
    TypeInfo,
};
pub use check::check;
#[cfg(feature = "launcher")] // the launcher's `--feed` is its one user
pub(crate) use codes::FEED_TYPE;
pub use codes::{CodeInfo, CODES};
pub use error::{Diagnostic, NetworkError};
pub use loader::MAX_THREADS;
#[cfg(feature = "launcher")]
pub(crate) use ports::input_port;
pub use ports::RunOptions;
pub(crate) use ports::{feed_from_ron, FeedRonFn};
pub use run::{ChannelStats, ProcessStats, RunReport, Running};
pub use values::{ValuesError, ValuesOut};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use ron::Value;

use crate::runtime::{Runtime, Scheduler};

/// A channel instance of a loaded network.
///
/// What the instances of one declaration share (its declaration's name, type, cluster)
/// is one allocation shared by all of them (`Arc`): a plan of a million-element array
/// holds each once.
#[derive(Debug, Clone)]
pub struct PlanChannel {
    /// Its qualified name: `ring[3]`, `farm.jobs`.
    pub name: String,
    /// The declared channel (or array) it belongs to, qualified: `ring`, `farm.jobs`.
    pub decl: Arc<str>,
    /// Its element type's name.
    pub ty: Arc<str>,
    /// Its buffer capacity (0: synchronous).
    pub buffer: usize,
    /// Whether several writers and/or readers are allowed.
    pub shared: bool,
    /// The sub-network path it lives in (empty at top level).
    pub cluster: Arc<[String]>,
    /// The processes and ports writing to it.
    pub writers: Vec<(usize, Arc<str>)>,
    /// The processes and ports reading from it.
    pub readers: Vec<(usize, Arc<str>)>,
}

/// What a port of a process instance is bound to: indices into [`Plan::channels`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortBind {
    /// A single port.
    One(usize),
    /// An array port.
    Many(Vec<usize>),
}

impl PortBind {
    /// The channels bound, in order (one for a single port).
    pub fn ids(&self) -> &[usize] {
        match self {
            PortBind::One(id) => std::slice::from_ref(id),
            PortBind::Many(ids) => ids,
        }
    }
}

/// A bound port of a process instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPort {
    /// The port's name, as its kind declares it.
    pub name: Arc<str>,
    /// Whether the process writes or reads.
    pub dir: PortDir,
    /// The channels it is bound to.
    pub bind: PortBind,
}

/// A process instance of a loaded network.
///
/// As for channels, what the instances of one declaration share (declaration, kind,
/// file, cluster, port names, and params when they are equal) is held once.
#[derive(Debug, Clone)]
pub struct PlanProcess {
    /// Its qualified name: `node[3]`, `farm.worker[2]`.
    pub name: String,
    /// The declaration it comes from, qualified (`node` for `node[3]`).
    pub decl: Arc<str>,
    /// Its kind.
    pub kind: Arc<str>,
    /// Its params, evaluated, defaults included.
    pub params: Arc<IndexMap<String, Value>>,
    /// Its ports, in the kind's order.
    pub ports: Box<[PlanPort]>,
    /// Its element type, for generic kinds.
    pub elem: Option<Arc<str>>,
    /// Its barrier ports, each with its index into [`Plan::barriers`].
    pub barriers: Vec<(Arc<str>, usize)>,
    /// The sub-network path it lives in (empty at top level).
    pub cluster: Arc<[String]>,
    /// Where it is declared.
    pub file: Arc<Path>,
    /// Line and column of its declaration.
    pub pos: Option<(usize, usize)>,
    /// Declared `thread: true` (itself, or the sub-network instance it is in): it runs on
    /// an OS thread of its own under any scheduler ([`Process::on_own_thread`](crate::Process::on_own_thread)).
    pub own_thread: bool,
    /// The MPI rank it runs on, below [`Plan::ranks`]: its own `rank:`, else its
    /// sub-network instance's, else what the file's `placement:` gives (0 by default;
    /// see "Placement" in docs/network-format.md).
    pub rank: u32,
}

impl PlanProcess {
    /// Its port `name`, if the process has one bound.
    pub fn port(&self, name: &str) -> Option<&PlanPort> {
        self.ports.iter().find(|p| &*p.name == name)
    }
}

/// A loaded and checked network, flat.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The network's name.
    pub name: String,
    /// Its doc line.
    pub doc: Option<String>,
    /// The file it was loaded from.
    pub file: PathBuf,
    /// Every channel instance.
    pub channels: Vec<PlanChannel>,
    /// Every process instance.
    pub processes: Vec<PlanProcess>,
    /// Every barrier.
    pub barriers: Vec<PlanBarrier>,
    /// The channels the top-level file leaves open as ports (`ports:`), which the program
    /// that runs it feeds (`In`) or reads (`Out`).
    pub ports: Vec<OpenPort>,
    pub(crate) scheduler: Option<Scheduler>,
    /// How many MPI ranks it is placed on ([`Plan::ranks`]).
    pub(crate) ranks: u32,
    /// Where its parts are declared, for the checker.
    pub(crate) sites: Arc<check::Sites>,
}

/// A channel a top-level network leaves open as a port: written by the program that runs
/// the network (`In`: the values it feeds, [`RunOptions::feed`]) or read by it (`Out`: the
/// values that arrive, [`RunReport::values`]).
///
/// # Examples
/// ```
/// # let dir = std::env::temp_dir().join(format!("occamy-doc-open-port-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join("inc.ron");
/// std::fs::write(&file, r#"Network(
///     name: "inc",
///     channels: { "in": "u64", "out": "u64" },
///     processes: { "inc": (kind: "succ", ports: { "in": "in", "out": "out" }) },
///     ports: {
///         "in":  (type: "u64", dir: In, channel: "in"),
///         "out": (type: "u64", dir: Out, channel: "out"),
///     },
/// )"#).unwrap();
/// let plan = occamy::network::load(&file, &[], &occamy::network::Registry::with_builtins()).unwrap();
/// let names: Vec<&str> = plan.ports.iter().map(|p| p.name.as_str()).collect();
/// assert_eq!(names, ["in", "out"]);
/// assert_eq!(plan.channels[plan.ports[1].channel].name, "out");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPort {
    /// The port's name; an array's elements are `name[0]`, `name[1]`, ...
    pub name: String,
    /// Which way values go, as the network sees them: `In` comes into the network.
    pub dir: PortDir,
    /// The channel: an index into [`Plan::channels`].
    pub channel: usize,
}

/// A barrier of a loaded network.
#[derive(Debug, Clone)]
pub struct PlanBarrier {
    /// Its qualified name.
    pub name: String,
    /// The sub-network path it lives in (empty at top level).
    pub cluster: Arc<[String]>,
    /// The processes enrolled on it, and their barrier ports.
    pub parties: Vec<(usize, Arc<str>)>,
}

impl Plan {
    /// The scheduler the file chose with its top-level `scheduler` field, if it chose one.
    ///
    /// # Examples
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("occamy-doc-sched-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let file = dir.join("green.ron");
    /// std::fs::write(&file, r#"Network(
    ///     name: "green",
    ///     scheduler: Green(workers: 2),
    ///     channels: { "c": "u64" },
    ///     processes: {
    ///         "nums": (kind: "numbers", params: { "count": 3 }, ports: { "out": "c" }),
    ///         "sink": (kind: "discard", ports: { "in": "c" }),
    ///     },
    /// )"#).unwrap();
    /// let plan = occamy::network::load(&file, &[], &occamy::network::Registry::with_builtins()).unwrap();
    /// assert_eq!(plan.scheduler(), Some(occamy::Scheduler::Green { workers: 2 }));
    /// ```
    pub fn scheduler(&self) -> Option<Scheduler> {
        self.scheduler
    }

    /// How many of its processes keep an OS thread each when run under `scheduler`:
    /// every process under [`Scheduler::Threads`]; under [`Scheduler::Green`], those
    /// declared `thread: true` (blocking kinds, such as `print`, take one too, but which
    /// kinds block is known only once they are built).
    pub fn threads_under(&self, scheduler: Scheduler) -> usize {
        match scheduler {
            Scheduler::Threads => self.processes.len(),
            Scheduler::Green { .. } => self.processes.iter().filter(|p| p.own_thread).count(),
        }
    }

    /// Starts the plan as [`start`] does, consuming it: each process's part of the plan is
    /// freed once the process is built, so that a network of millions of processes does
    /// not hold its plan and its processes at once. `occamy run` starts a network this
    /// way unless it is to draw the run afterwards (`--dot`).
    ///
    /// # Errors
    /// A kind whose build failed (a message naming the process).
    ///
    /// # Examples
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("occamy-doc-owned-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let file = dir.join("two.ron");
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
    /// let runtime = occamy::network::runtime_of(&plan);
    /// let report = plan.into_running(&reg, &runtime).unwrap().wait();
    /// assert_eq!(report.channels[0].carried, 3);
    /// ```
    pub fn into_running(
        self,
        registry: &Registry,
        runtime: &Runtime,
    ) -> Result<Running, NetworkError> {
        run::start(std::borrow::Cow::Owned(self), registry, runtime, vec![])
    }

    /// A one-line summary: processes, channels and kinds.
    pub fn summary(&self) -> String {
        let mut kinds: Vec<&str> = self.processes.iter().map(|p| &*p.kind).collect();
        kinds.sort();
        kinds.dedup();
        format!(
            "network `{}`: {} processes, {} channels, {} kinds ({})",
            self.name,
            self.processes.len(),
            self.channels.len(),
            kinds.len(),
            kinds.join(", ")
        )
    }
}

/// Loads and checks the network in `path` with param overrides `sets` (as `--set` gives
/// them: values in RON syntax, or bare strings).
///
/// # Errors
/// Every problem found, each naming its file, line and column and the process, port or
/// channel at fault.
///
/// # Examples
/// ```
/// let dir = std::env::temp_dir().join(format!("occamy-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join("count.ron");
/// std::fs::write(&file, r#"Network(
///     name: "count",
///     params: { "n": 5 },
///     channels: { "c": "u64" },
///     processes: {
///         "nums": (kind: "numbers", params: { "count": "$n" }, ports: { "out": "c" }),
///         "sink": (kind: "discard", ports: { "in": "c" }),
///     },
/// )"#).unwrap();
/// let reg = occamy::network::Registry::with_builtins();
/// let plan = occamy::network::load(&file, &[("n".into(), "3".into())], &reg).unwrap();
/// assert_eq!(plan.processes.len(), 2);
/// let report = occamy::network::start(&plan, &reg, &occamy::Runtime::new()).unwrap().wait();
/// assert!(report.result.is_ok());
/// assert_eq!(report.channels[0].carried, 3);
/// ```
pub fn load(
    path: &Path,
    sets: &[(String, String)],
    registry: &Registry,
) -> Result<Plan, NetworkError> {
    loader::load(path, sets, 1, registry)
}

/// Starts this rank's share of `plan` under MPI (the launcher's `mpirun` runs): only its
/// processes, with the channels that cross ranks wired through `world`. The open ports
/// are rank 0's (the program that feeds and reads them runs there): `options`' feeds
/// apply on rank 0, and are refused elsewhere.
#[cfg(feature = "mpi")]
pub(crate) fn start_ranked(
    plan: std::borrow::Cow<'_, Plan>,
    registry: &Registry,
    runtime: &Runtime,
    world: &crate::mpi::World,
    options: RunOptions,
) -> Result<Running, NetworkError> {
    run::start_ranked(plan, registry, runtime, world, options.feeds)
}

/// What [`load_with`] takes besides the file: param overrides and the number of ranks.
///
/// # Examples
/// ```
/// let opts = occamy::network::LoadOptions {
///     sets: vec![("n".into(), "10".into())],
///     ranks: 4,
/// };
/// // Without MPI there is one rank.
/// assert_eq!(occamy::network::LoadOptions::default().ranks, 1);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Param overrides, as `--set` gives them (values in RON syntax, or bare strings).
    pub sets: Vec<(String, String)>,
    /// How many MPI ranks the network is placed on (`$ranks` in the file; 0 counts as 1).
    /// 1 without MPI; `occamy check --ranks N` and `occamy dot --ranks N` set it, and
    /// under MPI the launcher sets it to the world size.
    pub ranks: u32,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            sets: Vec::new(),
            ranks: 1,
        }
    }
}

/// Loads and checks the network in `path` as [`load`] does, placed on `options.ranks`
/// MPI ranks: each process's [`PlanProcess::rank`] is computed and checked (a rank out
/// of range is an error at its `rank:`), and [`Plan::ranks`] is `options.ranks`.
///
/// # Errors
/// Every problem found, as for [`load`].
///
/// # Examples
/// ```
/// # let dir = std::env::temp_dir().join(format!("occamy-doc-load-with-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join("placed.ron");
/// std::fs::write(&file, r#"Network(
///     name: "placed",
///     channels: { "c": "u64" },
///     processes: {
///         "nums": (kind: "numbers", params: { "count": 3 }, ports: { "out": "c" }),
///         "sink": (kind: "discard", rank: "$ranks - 1", ports: { "in": "c" }),
///     },
/// )"#).unwrap();
/// let reg = occamy::network::Registry::with_builtins();
/// let opts = occamy::network::LoadOptions { ranks: 3, ..Default::default() };
/// let plan = occamy::network::load_with(&file, &opts, &reg).unwrap();
/// assert_eq!((plan.processes[0].rank, plan.processes[1].rank), (0, 2));
/// // Without ranks given there is one: both on rank 0.
/// let plan = occamy::network::load(&file, &[], &reg).unwrap();
/// assert_eq!((plan.ranks(), plan.processes[1].rank), (1, 0));
/// ```
pub fn load_with(
    path: &Path,
    options: &LoadOptions,
    registry: &Registry,
) -> Result<Plan, NetworkError> {
    loader::load(path, &options.sets, options.ranks, registry)
}

/// A [`Runtime`] for `plan`: [`Runtime::new`] (the default scheduler,
/// [`Scheduler::from_env`]) with the scheduler the file chose, if it chose one. Start it
/// with [`start`]; to change other options, chain them on
/// (`runtime_of(&plan).on_deadlock(..)`).
///
/// # Examples
/// ```
/// # let dir = std::env::temp_dir().join(format!("occamy-doc-rt-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join("ring.ron");
/// std::fs::write(&file, r#"Network(
///     name: "count",
///     scheduler: Green(),
///     channels: { "c": "u64" },
///     processes: {
///         "nums": (kind: "numbers", params: { "count": 3 }, ports: { "out": "c" }),
///         "sink": (kind: "discard", ports: { "in": "c" }),
///     },
/// )"#).unwrap();
/// let reg = occamy::network::Registry::with_builtins();
/// let plan = occamy::network::load(&file, &[], &reg).unwrap();
/// let runtime = occamy::network::runtime_of(&plan); // green, one worker per core
/// let report = occamy::network::start(&plan, &reg, &runtime).unwrap().wait();
/// assert!(report.result.is_ok());
/// ```
pub fn runtime_of(plan: &Plan) -> Runtime {
    match plan.scheduler {
        Some(s) => Runtime::new().scheduler(s),
        None => Runtime::new(),
    }
}

/// Wires a checked plan and starts it with `runtime`'s options (its scheduler, what a
/// deadlock does, ...). The scheduler is `runtime`'s: a `scheduler` chosen by the file
/// ([`Plan::scheduler`]) is not applied here; to run the plan under the file's choice,
/// pass [`runtime_of(&plan)`](runtime_of). Processes declared `thread: true` get a
/// thread of their own under either scheduler. The plan's open input ports
/// ([`Plan::ports`]) are retired at once (to feed them, use [`run_file_with`]); what
/// arrives on its output ports is kept under their names ([`RunReport::values`]).
///
/// # Errors
/// A kind whose build failed (a message naming the process).
pub fn start(plan: &Plan, registry: &Registry, runtime: &Runtime) -> Result<Running, NetworkError> {
    run::start(std::borrow::Cow::Borrowed(plan), registry, runtime, vec![])
}

/// Loads the network in `path` with param overrides `sets` (as [`load`] does), runs it
/// under the scheduler the file chose (as [`runtime_of`] gives it) and waits for it to
/// end. The report says how each process ended ([`RunReport::result`]) and gives back the
/// values its sink processes kept, by process name ([`RunReport::values`]): those of
/// every process of kind `collect`, and of a program's own kinds that keep values
/// ([`BuildCtx::values_out`]).
///
/// # Errors
/// The file's problems, as [`load`] reports them, or a kind whose build failed. A process
/// that fails while running does not make this an error: see [`RunReport::result`].
///
/// # Blocking
/// Blocks until every process of the network has ended.
///
/// # Examples
/// ```
/// # let dir = std::env::temp_dir().join(format!("occamy-doc-run-file-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join("squares.ron");
/// std::fs::write(&file, r#"Network(
///     name: "squares",
///     params: { "n": 3 },
///     channels: { "c": "u64", "d": "u64" },
///     processes: {
///         "nums":  (kind: "numbers", params: { "start": 1, "count": "$n" }, ports: { "out": "c" }),
///         "inc":   (kind: "succ", ports: { "in": "c", "out": "d" }),
///         "count": (kind: "collect", ports: { "in": "d" }),
///     },
/// )"#).unwrap();
/// let reg = occamy::network::Registry::with_builtins();
/// let report = occamy::network::run_file(&file, &[("n".into(), "4".into())], &reg).unwrap();
/// assert!(report.result.is_ok());
/// assert_eq!(report.values::<u64>("count").unwrap(), [2, 3, 4, 5]);
/// // A wrong type or name is an error, not a panic.
/// assert!(report.values::<i64>("count").is_err());
/// assert!(report.values::<u64>("cuont").is_err());
/// ```
pub fn run_file(
    path: impl AsRef<Path>,
    sets: &[(String, String)],
    registry: &Registry,
) -> Result<RunReport, NetworkError> {
    let plan = load(path.as_ref(), sets, registry)?;
    let runtime = runtime_of(&plan);
    Ok(plan.into_running(registry, &runtime)?.wait())
}

/// Loads the network in `path` as `options` says ([`RunOptions::load`]: its param
/// overrides and number of ranks, as [`load_with`] takes them) and runs it as
/// [`run_file`] does, feeding its open input ports the values `options` gives them
/// ([`RunOptions::feed`]; a port not fed is retired at once). What arrives on its open
/// output ports is kept under the ports' names, as [`RunReport::values`] gives it back.
///
/// # Errors
/// As for [`run_file`]; also, before anything starts, a fed name that is no input port of
/// the network (`E0703`, listing those it has) or values of another type than the port's
/// (`E0704`, naming both).
///
/// # Blocking
/// Blocks until every process of the network has ended (the feeders included: an input
/// port no process reads to the end keeps the run going until the network ends by
/// poison, failure or deadlock).
///
/// # Examples
/// See [`RunOptions`].
pub fn run_file_with(
    path: impl AsRef<Path>,
    options: RunOptions,
    registry: &Registry,
) -> Result<RunReport, NetworkError> {
    let plan = load_with(path.as_ref(), &options.load, registry)?;
    let runtime = runtime_of(&plan);
    let running = start_with(std::borrow::Cow::Owned(plan), registry, &runtime, options)?;
    Ok(running.wait())
}

/// Starts `plan` as [`start`] does, feeding its input ports as `options` says (its
/// load options are not used: the plan is loaded).
pub(crate) fn start_with(
    plan: std::borrow::Cow<'_, Plan>,
    registry: &Registry,
    runtime: &Runtime,
    options: RunOptions,
) -> Result<Running, NetworkError> {
    run::start(plan, registry, runtime, options.feeds)
}

/// The names among `candidates` closest to `name`, as a suggestion (`, did you mean ...?`).
pub(crate) fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let lower = name.to_lowercase();
    let mut best: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let cl = c.to_lowercase();
            let d = distance(&lower, &cl);
            // Close in spelling (but not a wholesale replacement of a short name), or one
            // a prefix of the other (`output` for `out`).
            let close = d <= (name.len().max(c.len()) / 3).max(2) && d < name.len().max(1);
            let prefix = cl.len() >= 2
                && lower.len() >= 2
                && (cl.starts_with(&lower) || lower.starts_with(&cl));
            (close || prefix).then_some((d, c))
        })
        .collect();
    best.sort();
    match best.first() {
        Some((_, c)) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}

fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_near_names() {
        assert_eq!(
            super::suggest("prefx", ["prefix", "print", "id"]),
            " (did you mean `prefix`?)"
        );
        assert_eq!(super::suggest("zzzzzz", ["prefix", "id"]), "");
        assert_eq!(
            super::suggest("output", ["in", "out"]),
            " (did you mean `out`?)"
        );
        assert_eq!(super::suggest("m", ["i", "n"]), "");
    }
}
