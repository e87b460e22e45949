//! Running a checked plan: make its channels, build its processes, run them.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::ports::{self, Feed};
use super::values::{Collected, ValuesError};
use super::{Diagnostic, NetworkError, Plan, PlanBarrier, PlanChannel, PlanProcess, PortBind};
use crate::barrier::Barrier;
use crate::channel::Core;
use crate::deadlock::DeadlockReport;
use crate::registry::{Bound, BuildCtx, PortDir, Registry};
use crate::runtime::held::Held;
use crate::runtime::record::{lock_std, Record};
use crate::runtime::{run_group, Group, Keep, ParError, ProcessEnd, Runtime};
use crate::wait::Direction;

/// How much one channel carried.
#[derive(Debug, Clone)]
pub struct ChannelStats {
    /// The channel's name.
    pub name: String,
    /// Its element type.
    pub ty: String,
    /// How many values it delivered.
    pub carried: u64,
}

/// How one process ran.
#[derive(Debug, Clone)]
pub struct ProcessStats {
    /// The process's name.
    pub name: String,
    /// Its kind.
    pub kind: Arc<str>,
    /// How long it ran.
    pub ran: Duration,
    /// How it ended.
    pub end: ProcessEnd,
}

/// What a run did.
#[derive(Debug)]
pub struct RunReport {
    /// `Ok` when every process ended normally (including by poison or retirement).
    pub result: Result<(), ParError>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Per channel, in plan order.
    pub channels: Vec<ChannelStats>,
    /// Per process that has ended, in plan order.
    pub processes: Vec<ProcessStats>,
    /// The deadlock found, if any.
    pub deadlock: Option<DeadlockReport>,
    /// What its sink processes kept for the program, by process name.
    collected: Arc<Collected>,
}

impl RunReport {
    /// The values process or open output port `name` kept, copied out: a `collect`
    /// process's, every value of its input in the order received; a program's own kind's,
    /// what it pushed to its [`ValuesOut`](super::ValuesOut); a top-level `dir: Out`
    /// port's, every value that arrived on it, in order (an array port's elements are
    /// `name[0]`, ...). A process that ended early (by poison, or failing) leaves those it
    /// kept until then.
    ///
    /// # Errors
    /// [`ValuesError::Unknown`] if no process or port of that name keeps values (its
    /// message suggests a near name and lists those that do), [`ValuesError::WrongType`]
    /// if its values are not `T` (naming it and both types).
    ///
    /// # Examples
    /// See [`run_file`](super::run_file), and [`RunOptions`](super::RunOptions) for ports.
    pub fn values<T: Clone + 'static>(&self, name: &str) -> Result<Vec<T>, ValuesError> {
        self.collected.values(name)
    }

    /// As [`values`](RunReport::values), but moves them out: a second call gives an
    /// empty list. For values that are large, or not `Clone`.
    ///
    /// # Errors
    /// As for [`values`](RunReport::values).
    ///
    /// # Examples
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("occamy-doc-take-values-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let file = dir.join("words.ron");
    /// std::fs::write(&file, r#"Network(
    ///     name: "words",
    ///     channels: { "c": "String" },
    ///     processes: {
    ///         "say":  (kind: "generate", params: { "value": "hi", "count": 2 }, ports: { "out": "c" }),
    ///         "keep": (kind: "collect", ports: { "in": "c" }),
    ///     },
    /// )"#).unwrap();
    /// let reg = occamy::network::Registry::with_builtins();
    /// let mut report = occamy::network::run_file(&file, &[], &reg).unwrap();
    /// assert_eq!(report.take_values::<String>("keep").unwrap(), ["hi", "hi"]);
    /// assert!(report.take_values::<String>("keep").unwrap().is_empty());
    /// ```
    pub fn take_values<T: 'static>(&mut self, name: &str) -> Result<Vec<T>, ValuesError> {
        self.collected.take(name)
    }

    /// The names of the processes and output ports that keep values, in the order they
    /// were built (ports last).
    pub fn value_names(&self) -> Vec<String> {
        self.collected.names()
    }

    /// The values `name` kept as the `print` kind shows them, if it knows how (`collect`
    /// processes and output ports).
    #[cfg_attr(not(feature = "launcher"), allow(dead_code))] // its one user: the launcher
    pub(crate) fn shown_values(&self, name: &str) -> Option<Vec<String>> {
        self.collected.shown(name)
    }
}

/// A network that is running.
pub struct Running {
    /// Per channel, its core (which knows its name).
    cores: Vec<Arc<Core>>,
    /// Per barrier, its state here (under MPI: this rank's side of it).
    barriers: Vec<Arc<crate::barrier::Shared>>,
    /// The channels' declared types, as runs: see [`TypeRuns`].
    types: TypeRuns,
    /// The kinds of its processes, by process id: each entry names the kind of the
    /// processes from its id up to the next entry's (ids follow plan order).
    kinds: Vec<(u64, Arc<str>)>,
    done: mpsc::Receiver<Result<(), ParError>>,
    finished: Option<Result<(), ParError>>,
    thread: Option<JoinHandle<()>>,
    started: Instant,
    group: Arc<Group>,
    /// Set when this is dropped (see `Drop`).
    dropped: Arc<AtomicBool>,
    /// What its sink processes keep for the program.
    collected: Arc<Collected>,
}

impl Running {
    /// Per channel, in plan order, the id of its local channel here (under MPI: this
    /// rank's side of it).
    #[cfg(all(feature = "mpi", feature = "launcher"))]
    pub(crate) fn channel_ids(&self) -> Vec<u64> {
        self.cores.iter().map(|c| c.id).collect()
    }

    /// Whether one of its processes has failed or panicked (it may still run).
    #[cfg(feature = "launcher")]
    pub(crate) fn failed(&self) -> bool {
        self.group.failed.load(Ordering::Relaxed)
    }

    /// Per barrier, in plan order, the id of its barrier here.
    #[cfg(all(feature = "mpi", feature = "launcher"))]
    pub(crate) fn barrier_ids(&self) -> Vec<u64> {
        self.barriers.iter().map(|b| b.id).collect()
    }
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Running({} channels)", self.cores.len())
    }
}

/// The channel ends of one channel not yet handed to a process: most channels have one
/// writer and one reader, so the first end needs no allocation of its own.
struct Ends {
    first: Option<Box<dyn Any + Send>>,
    rest: Vec<Box<dyn Any + Send>>,
}

impl Ends {
    fn take(&mut self) -> Box<dyn Any + Send> {
        self.rest
            .pop()
            .or_else(|| self.first.take())
            .expect("one end per binding")
    }
}

/// This rank's ends of channel `ci` under MPI: `None` if all its ends are here (an
/// ordinary local channel); else the ends this rank's processes take (none, for a
/// channel wholly on other ranks) and the local channel behind them.
#[cfg(feature = "mpi")]
fn wire_on_rank(
    w: &crate::mpi::World,
    ranks: &[u32],
    (ci, c, file): (usize, &PlanChannel, &std::path::Path),
    (open_w, open_r): (usize, usize),
    info: &crate::registry::TypeInfo,
    diags: &mut Vec<Diagnostic>,
) -> Option<(Ends, Ends, Arc<Core>)> {
    let me = w.rank();
    // An open port's end is the program's, on rank 0 (as `Plan::end_ranks` has it; the
    // plan is being taken apart here, so the ranks come in as `ranks`).
    let wr: Vec<u32> = c
        .writers
        .iter()
        .map(|(p, _)| ranks[*p])
        .chain(std::iter::repeat_n(0, open_w))
        .collect();
    let rd: Vec<u32> = c
        .readers
        .iter()
        .map(|(p, _)| ranks[*p])
        .chain(std::iter::repeat_n(0, open_r))
        .collect();
    let none = || Ends {
        first: None,
        rest: Vec::new(),
    };
    let all_here = wr.iter().chain(&rd).all(|r| *r == me);
    if all_here {
        return None;
    }
    let everywhere: Vec<u32> = wr.iter().chain(&rd).copied().collect();
    let named = || {
        let core = Core::new::<()>(0);
        core.set_name(c.name.clone());
        core
    };
    if everywhere.iter().all(|r| *r == everywhere[0]) {
        // Wholly on another rank: nothing here touches it (its name, for the report).
        return Some((none(), none(), named()));
    }
    let link = crate::mpi::Link::new(ci as u32 + 1, &c.name, wr.clone(), rd.clone(), c.buffer);
    let ends = match info.link(w, &link) {
        Some(Ok(e)) => e,
        Some(Err(e)) => {
            diags.push(link_diag(
                c,
                file,
                super::codes::BUILD_FAILED,
                e.to_string(),
            ));
            return Some((none(), none(), named()));
        }
        None => {
            diags.push(link_diag(
                c,
                file,
                super::codes::NO_CODEC,
                format!("its type `{}` has no codec to cross ranks with", c.ty),
            ));
            return Some((none(), none(), named()));
        }
    };
    let spread = |first: Option<Box<dyn Any + Send>>,
                  n: usize,
                  clone: fn(&(dyn Any + Send)) -> Box<dyn Any + Send>| {
        let rest = match (&first, n) {
            (Some(f), n) if n > 1 => (1..n).map(|_| clone(&**f)).collect(),
            _ => Vec::new(),
        };
        Ends {
            first: first.filter(|_| n > 0),
            rest,
        }
    };
    let here = |v: &[u32]| v.iter().filter(|r| **r == me).count();
    let core = ends.core.clone().unwrap_or_else(named);
    core.set_name(c.name.clone());
    Some((
        spread(ends.tx, here(&wr), ends.clone_tx),
        spread(ends.rx, here(&rd), ends.clone_rx),
        core,
    ))
}

/// The id of barrier `bi`'s MPI link: above every channel's (a channel's is its index +
/// 1), the same on every rank.
#[cfg(feature = "mpi")]
pub(crate) const BARRIER_LINKS: u32 = 1 << 31;

/// Joins this rank's side of barrier `bi` (`first`, holding every party's enrolment for
/// now) with the other ranks' sides, if its parties are on several ranks, this one among
/// them.
#[cfg(feature = "mpi")]
fn wire_barrier(
    w: &crate::mpi::World,
    ranks: &[u32],
    (bi, b, file): (usize, &PlanBarrier, &std::path::Path),
    first: &Barrier,
    diags: &mut Vec<Diagnostic>,
) {
    let on = b.ranks(|p| ranks[p]);
    if on.len() < 2 || !on.contains(&w.rank()) {
        return;
    }
    if let Err(e) = w.barrier(BARRIER_LINKS | bi as u32, &b.name, on, first) {
        diags.push(Diagnostic {
            file: file.to_path_buf(),
            pos: None,
            code: super::codes::BUILD_FAILED,
            context: vec![format!("barrier `{}`", b.name)],
            message: format!("cannot cross ranks: {e}"),
            help: None,
        });
    }
}

#[cfg(feature = "mpi")]
fn link_diag(
    c: &PlanChannel,
    file: &std::path::Path,
    code: &'static str,
    message: String,
) -> Diagnostic {
    Diagnostic {
        file: file.to_path_buf(),
        pos: None,
        code,
        context: vec![format!("channel `{}`", c.name)],
        message: format!("cannot cross ranks: {message}"),
        help: None,
    }
}

/// Starts `plan`, feeding its open input ports from `feeds` (a port not fed is retired
/// at once) and collecting what arrives on its output ports. An owned plan is freed as it
/// is used: each process's part once the process is built, the channels' once the
/// channels are made.
pub(crate) fn start(
    plan: Cow<'_, Plan>,
    reg: &Registry,
    runtime: &Runtime,
    feeds: Vec<Feed>,
) -> Result<Running, NetworkError> {
    start_on(
        plan,
        reg,
        runtime,
        feeds,
        #[cfg(feature = "mpi")]
        None,
    )
}

/// Starts this rank's share of `plan` (feature `mpi`): only the processes placed on
/// `world`'s rank, with the channels that cross ranks wired through MPI links (link id:
/// the channel's index + 1, the same on every rank). The program's side of the open
/// ports (feeders, collectors) is on rank 0, which alone takes `feeds`.
#[cfg(feature = "mpi")]
pub(crate) fn start_ranked(
    plan: Cow<'_, Plan>,
    reg: &Registry,
    runtime: &Runtime,
    world: &crate::mpi::World,
    feeds: Vec<Feed>,
) -> Result<Running, NetworkError> {
    assert!(
        feeds.is_empty() || world.rank() == 0,
        "the open ports are rank 0's"
    );
    start_on(plan, reg, runtime, feeds, Some(world))
}

fn start_on(
    plan: Cow<'_, Plan>,
    reg: &Registry,
    runtime: &Runtime,
    mut feeds: Vec<Feed>,
    #[cfg(feature = "mpi")] world: Option<&crate::mpi::World>,
) -> Result<Running, NetworkError> {
    let open = plan.ports.clone();
    // Checked before anything is made, against the ends the port's channels will have.
    let feed_diags = ports::check_feeds(&plan, &feeds, |ch| {
        let info = reg.type_info(&plan.channels.get(ch)?.ty)?;
        Some(info.sender_type())
    });
    if !feed_diags.is_empty() {
        return Err(NetworkError {
            diagnostics: feed_diags,
        });
    }
    type Procs<'p> = Box<dyn Iterator<Item = Cow<'p, PlanProcess>> + 'p>;
    // Each process's rank, before the plan is taken apart (4 bytes a process).
    #[cfg(feature = "mpi")]
    let ranks: Vec<u32> = match world {
        Some(_) => plan.processes.iter().map(|p| p.rank).collect(),
        None => Vec::new(),
    };
    #[cfg(feature = "mpi")]
    let mut diags = Vec::new();
    let (name, file, channels, barriers, processes): (
        String,
        PathBuf,
        Cow<'_, [PlanChannel]>,
        Cow<'_, [PlanBarrier]>,
        Procs<'_>,
    ) = match plan {
        Cow::Borrowed(p) => (
            p.name.clone(),
            p.file.clone(),
            Cow::Borrowed(&p.channels[..]),
            Cow::Borrowed(&p.barriers[..]),
            Box::new(p.processes.iter().map(Cow::Borrowed)),
        ),
        Cow::Owned(p) => (
            p.name,
            p.file,
            Cow::Owned(p.channels),
            Cow::Owned(p.barriers),
            Box::new(p.processes.into_iter().map(Cow::Owned)),
        ),
    };
    let n_procs = processes.size_hint().0;
    let mut txs: Vec<Ends> = Vec::with_capacity(channels.len());
    let mut rxs: Vec<Ends> = Vec::with_capacity(channels.len());
    let mut cores = Vec::with_capacity(channels.len());
    let mut types = TypeRuns::default();
    // The ends the program holds: one per open port, beside the processes' ones.
    let mut open_ends: HashMap<usize, (usize, usize)> = HashMap::new();
    for port in &open {
        let e = open_ends.entry(port.channel).or_default();
        match port.dir {
            PortDir::In => e.0 += 1,
            PortDir::Out => e.1 += 1,
        }
    }
    let mut channels = channels;
    for id in 0..channels.len() {
        let c = &channels[id];
        let info = reg
            .type_info(&c.ty)
            .expect("a checked plan names registered types");
        #[cfg(feature = "mpi")]
        if let Some(w) = world {
            let open = open_ends.get(&id).copied().unwrap_or_default();
            if let Some((t, r, core)) =
                wire_on_rank(w, &ranks, (id, c, &file), open, info, &mut diags)
            {
                txs.push(t);
                rxs.push(r);
                types.push(id, &c.ty);
                cores.push(core);
                continue;
            }
        }
        let ch = info.make(c.buffer);
        let (writers, readers) = (c.writers.len(), c.readers.len());
        types.push(id, &c.ty);
        // An owned plan gives its channels' names to the channels: a copy would be freed
        // with the plan, among blocks nothing of that size comes to reuse.
        let name = match &mut channels {
            Cow::Owned(v) => std::mem::take(&mut v[id].name),
            Cow::Borrowed(v) => v[id].name.clone(),
        };
        ch.core.set_name(name);
        if crate::runtime::recorder::on() && crate::runtime::recorder::values() {
            crate::runtime::recorder::show_values(ch.core.id, info.shower());
        }
        let (open_w, open_r) = open_ends.get(&id).copied().unwrap_or_default();
        let t = (1..writers + open_w)
            .map(|_| (ch.clone_tx)(&*ch.tx))
            .collect();
        let r = (1..readers + open_r)
            .map(|_| (ch.clone_rx)(&*ch.rx))
            .collect();
        txs.push(Ends {
            first: Some(ch.tx),
            rest: t,
        });
        rxs.push(Ends {
            first: Some(ch.rx),
            rest: r,
        });
        cores.push(ch.core);
    }
    drop(channels);
    // One enrolment per party: the barrier's first handle, then one more per party.
    let mut barrier_ends: HashMap<(usize, Arc<str>), Barrier> = HashMap::new();
    let mut barrier_shared = Vec::with_capacity(barriers.len());
    for (bi, b) in barriers.iter().enumerate() {
        let first = Barrier::new();
        first.set_name(b.name.clone());
        barrier_shared.push(first.shared.clone());
        #[cfg(feature = "mpi")]
        if let Some(w) = world {
            wire_barrier(w, &ranks, (bi, b, &file), &first, &mut diags);
        }
        #[cfg(not(feature = "mpi"))]
        let _ = bi;
        let mut handles: Vec<Barrier> = (1..b.parties.len()).map(|_| first.enroll()).collect();
        handles.push(first);
        for (party, h) in b.parties.iter().zip(handles) {
            barrier_ends.insert(party.clone(), h);
        }
    }
    let mut kinds: Vec<(u64, Arc<str>)> = Vec::new();
    let collected = Arc::new(Collected::default());
    let mut procs = Vec::with_capacity(n_procs);
    #[cfg(not(feature = "mpi"))]
    let mut diags = Vec::new();
    for (i, mut p) in processes.enumerate() {
        #[cfg(feature = "mpi")]
        if let Some(w) = world {
            if ranks[i] != w.rank() {
                continue;
            }
        }
        let mut ports = HashMap::with_capacity(p.ports.len());
        let mut held = Vec::with_capacity(p.ports.len() + p.barriers.len());
        for port in p.ports.iter() {
            let d = match port.dir {
                PortDir::Out => Direction::Send,
                PortDir::In => Direction::Recv,
            };
            let ids = port.bind.ids();
            held.extend(ids.iter().map(|&id| Held::Chan(cores[id].clone(), d)));
            let ends = match port.dir {
                PortDir::Out => &mut txs,
                PortDir::In => &mut rxs,
            };
            let mut take = |id: usize| ends[id].take();
            let b = match &port.bind {
                PortBind::One(id) => Bound::One(take(*id)),
                PortBind::Many(ids) => Bound::Many(ids.iter().map(|&id| take(id)).collect()),
            };
            ports.insert(port.name.to_string(), b);
        }
        let mut barriers = HashMap::new();
        for (port, _) in &p.barriers {
            let h = barrier_ends
                .remove(&(i, port.clone()))
                .expect("one enrolment per party");
            held.push(Held::Barrier(h.shared.clone()));
            barriers.insert(port.to_string(), h);
        }
        // As for the channels' names: the process's is moved out of an owned plan.
        let name = match &mut p {
            Cow::Owned(pp) => std::mem::take(&mut pp.name),
            Cow::Borrowed(pp) => pp.name.clone(),
        };
        let mut ctx = BuildCtx {
            name,
            ports,
            params: p.params.clone(),
            elem: p.elem.clone(),
            format: None,
            barriers,
            collected: collected.clone(),
        };
        let kind = reg
            .kind(&p.kind)
            .expect("a checked plan names registered kinds");
        match reg.build(kind, &mut ctx) {
            Ok(proc_) => {
                let proc_ = if p.own_thread {
                    proc_.on_own_thread()
                } else {
                    proc_
                };
                if kinds.last().is_none_or(|(_, k)| *k != p.kind) {
                    kinds.push((proc_.id, p.kind.clone()));
                }
                procs.push(proc_.holding(held));
            }
            Err(e) => diags.push(Diagnostic {
                file: p.file.to_path_buf(),
                pos: p.pos,
                code: super::codes::BUILD_FAILED,
                context: vec![format!("process `{}`", ctx.name)],
                message: format!("cannot build: {e}"),
                help: None,
            }),
        }
    }
    // The program's side of the open ports: a feeder for each input port fed, a
    // collector for each output port; under MPI, on rank 0.
    #[cfg(feature = "mpi")]
    let open = if world.is_some_and(|w| w.rank() != 0) {
        Vec::new()
    } else {
        open
    };
    for port in &open {
        let (core, dir) = (cores[port.channel].clone(), port.dir);
        let (end, d) = match dir {
            PortDir::In => (txs[port.channel].take(), Direction::Send),
            PortDir::Out => (rxs[port.channel].take(), Direction::Recv),
        };
        let built = match dir {
            // Not fed: its end goes now, which retires the channel.
            PortDir::In => ports::feeder(&mut feeds, &port.name, end).map(Ok),
            PortDir::Out => {
                let ty = types.get(port.channel).clone();
                Some(ports::collector(reg, &port.name, &ty, end, &collected))
            }
        };
        match built {
            None => {}
            Some(Ok(proc_)) => {
                let kind: Arc<str> = match dir {
                    PortDir::In => "feed".into(),
                    PortDir::Out => "collect".into(),
                };
                if kinds.last().is_none_or(|(_, k)| *k != kind) {
                    kinds.push((proc_.id, kind));
                }
                procs.push(proc_.holding(vec![Held::Chan(core, d)]));
            }
            Some(Err(e)) => diags.push(Diagnostic {
                file: file.clone(),
                pos: None,
                code: super::codes::BUILD_FAILED,
                context: vec![format!("port `{}`", port.name)],
                message: format!("cannot collect its values: {e}"),
                help: None,
            }),
        }
    }
    // The parties placed on other ranks resign here, before anything runs.
    drop(barrier_ends);
    if !diags.is_empty() {
        return Err(NetworkError { diagnostics: diags });
    }
    let (tx, done) = mpsc::channel();
    let started = Instant::now();
    let group = Group::new(runtime);
    let g = group.clone();
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    let thread = std::thread::Builder::new()
        .name(format!("network {name}"))
        .spawn(move || {
            let _ = tx.send(run_group(&g, Draining::from(procs), Keep::Records).result);
            // A `Running` dropped before the end released only the records it saw (it
            // sets the flag first, so one of the two releases comes after the last one).
            if d.load(Ordering::SeqCst) {
                g.release();
            }
        })
        .map_err(|e| NetworkError {
            diagnostics: vec![Diagnostic {
                file,
                pos: None,
                code: super::codes::START_FAILED,
                context: vec![],
                message: format!("cannot start the network: {e}"),
                help: None,
            }],
        })?;
    Ok(Running {
        cores,
        barriers: barrier_shared,
        types,
        kinds,
        done,
        finished: None,
        thread: Some(thread),
        started,
        group,
        dropped,
        collected,
    })
}

impl Drop for Running {
    fn drop(&mut self) {
        // The run keeps its records for the statistics (`Keep::Records`); they refer to
        // the group, so it must let go of them. If the network still runs, its thread
        // releases them again when it ends.
        self.dropped.store(true, Ordering::SeqCst);
        self.group.release();
    }
}

impl Running {
    /// Poisons every channel and barrier of the network, so that every process stops at
    /// its next channel operation or sync (or at once, if blocked on one).
    pub fn poison(&self) {
        for c in &self.cores {
            c.poison();
        }
        for b in &self.barriers {
            crate::barrier::poison_shared(b);
        }
    }

    /// The names of the processes that have started and not yet ended, in declaration
    /// order.
    pub fn unfinished(&self) -> Vec<String> {
        self.group
            .records()
            .iter()
            .filter(|r| r.end().is_none())
            .map(|r| r.name.to_string())
            .collect()
    }

    /// The deadlock found so far, if any.
    pub fn deadlock(&self) -> Option<DeadlockReport> {
        lock_std(&self.group.deadlock).clone()
    }

    /// Waits up to `timeout` for the network to end; returns whether it has.
    ///
    /// # Blocking
    /// Blocks for at most `timeout`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> bool {
        if self.finished.is_some() {
            return true;
        }
        match self.done.recv_timeout(timeout) {
            Ok(r) => {
                self.finished = Some(r);
                true
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                unreachable!("the network thread always reports")
            }
        }
    }

    /// The statistics so far: channels' counts, and the processes that have ended.
    pub fn snapshot(&self) -> (Vec<ChannelStats>, Vec<ProcessStats>) {
        let channels = self
            .cores
            .iter()
            .enumerate()
            .map(|(i, c)| self.channel_stats(i, c))
            .collect();
        let processes = self
            .group
            .records()
            .iter()
            .filter_map(|r| self.process_stats(r))
            .collect();
        (channels, processes)
    }

    fn channel_stats(&self, i: usize, c: &Core) -> ChannelStats {
        ChannelStats {
            name: c.name().unwrap_or_default().to_string(),
            ty: self.types.get(i).to_string(),
            carried: c.carried(),
        }
    }

    fn process_stats(&self, r: &Record) -> Option<ProcessStats> {
        let (end, ran) = r.end()?;
        let k = self.kinds.partition_point(|(id, _)| *id <= r.id);
        Some(ProcessStats {
            name: r.name.to_string(),
            kind: self.kinds[k.checked_sub(1)?].1.clone(),
            ran,
            end,
        })
    }

    /// The statistics of a run that has ended, letting go of each record and channel as
    /// its line is made: a record holds its process's task (through its waker) and a
    /// channel its core, about 500 bytes a process together, and a million-process run
    /// peaked at its report while holding both and the report's million lines at once.
    fn final_stats(&mut self) -> (Vec<ChannelStats>, Vec<ProcessStats>) {
        let Some(records) = self.group.take_records() else {
            let stats = self.snapshot();
            self.group.release();
            return stats;
        };
        let processes = records
            .into_iter()
            .filter_map(|r| self.process_stats(&r))
            .collect();
        let channels = std::mem::take(&mut self.cores)
            .into_iter()
            .enumerate()
            .map(|(i, c)| self.channel_stats(i, &c))
            .collect();
        (channels, processes)
    }

    /// Waits for the network to end and reports the run.
    ///
    /// # Blocking
    /// Blocks until every process has ended.
    pub fn wait(mut self) -> RunReport {
        let result = match self.finished.take() {
            Some(r) => r,
            None => self.done.recv().expect("the network thread always reports"),
        };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let elapsed = self.started.elapsed();
        let deadlock = self.deadlock();
        let (channels, processes) = self.final_stats();
        RunReport {
            result,
            elapsed,
            channels,
            processes,
            deadlock,
            collected: self.collected.clone(),
        }
    }
}

/// Hands out a vector's items in order and gives its memory back as it goes: the built
/// processes of a million-process network take about 90 MB, which would otherwise stay
/// allocated until the last one has started, when the running processes' memory peaks.
/// The declared types of a network's channels, as runs of consecutive channels of one
/// type (a replicated channel's copies are consecutive): a million channels of one type
/// take one entry, where a type per channel took 16 bytes each.
#[derive(Default)]
struct TypeRuns(Vec<(usize, Arc<str>)>);

impl TypeRuns {
    /// Channel `i` (the next one) has type `ty`.
    fn push(&mut self, i: usize, ty: &Arc<str>) {
        if self.0.last().is_none_or(|(_, last)| last != ty) {
            self.0.push((i, ty.clone()));
        }
    }

    /// The type of channel `i`.
    fn get(&self, i: usize) -> &Arc<str> {
        let k = self.0.partition_point(|(first, _)| *first <= i);
        &self.0[k - 1].1
    }
}

struct Draining<T>(std::collections::VecDeque<T>);

impl<T> From<Vec<T>> for Draining<T> {
    fn from(v: Vec<T>) -> Self {
        Draining(v.into())
    }
}

impl<T> Iterator for Draining<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let item = self.0.pop_front();
        // Shrinking copies what is left: at a quarter full, the copies add up to a third of
        // the items, once.
        if self.0.capacity() > 4096 && self.0.len() < self.0.capacity() / 4 {
            self.0.shrink_to_fit();
        }
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.len(), Some(self.0.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::Draining;

    #[test]
    fn draining_gives_every_item_in_order_and_shrinks() {
        let mut d = Draining::from((0..100_000u32).collect::<Vec<_>>());
        let mut next = 0;
        while let Some(i) = d.next() {
            assert_eq!(i, next);
            next += 1;
            assert!(d.0.capacity() <= 4096 || d.0.len() >= d.0.capacity() / 4);
        }
        assert_eq!(next, 100_000);
    }
}
