//! Running processes: a process's life (its record, its span, how it ended), and the
//! ways to run processes (`par`, `seq`, `spawn`) with a [`Runtime`]'s options.
//!
//! When a process fails (returns an error or panics) or ends by poison, the runtime
//! poisons every channel it held, so the rest of the network stops instead of hanging
//! (PyCSP's `@process` does the same). `par` keeps rayon `join`'s contract: every child
//! runs to its end, and a panic is caught at the process boundary and reported with the
//! process name.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::builder::{Runtime, Scheduler};
use super::error::{Error, Failure, ParError, ProcessEnd};
use super::green;
use super::group::Group;
use super::process::{Body, Process};
use super::record::{lock_std, ProcessInfo, Record};
use super::scheduler::Pool;
use super::thread;
use crate::deadlock::{DeadlockReport, OnDeadlock};

static FINISHED: AtomicU64 = AtomicU64::new(0);
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// How many processes are running now, in this program.
pub fn running_processes() -> usize {
    RUNNING.load(Ordering::Relaxed)
}

/// A failure with its finishing sequence number, or `None` for a normal end.
pub(crate) type Finished = Option<(u64, String, Failure)>;

/// A process that has begun: its record is live. [`Begun::end`] ends it.
pub(crate) struct Begun {
    pub(crate) rec: Arc<Record>,
    started: Instant,
}

/// Begins process `p` as a member of `group`; returns it and its body to run.
pub(crate) fn begin(p: Process, group: &Arc<Group>) -> (Begun, Body) {
    let Process {
        name,
        body,
        holds,
        id,
        own_thread: _,
    } = p;
    let rec = Record::new(id, name, group.clone(), holds);
    rec.go_live();
    RUNNING.fetch_add(1, Ordering::Relaxed);
    let begun = Begun {
        rec,
        started: Instant::now(),
    };
    (begun, body)
}

/// A process's span, entered around its body (or each poll of it).
pub(crate) fn span(name: &str) -> tracing::Span {
    tracing::info_span!("process", name = %name)
}

/// Runs `f` (a body, or one poll of one) catching a panic.
pub(crate) fn guarded<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    catch_unwind(AssertUnwindSafe(f))
}

impl Begun {
    /// Ends the process with `result` (a panic payload if its body panicked): poisons or
    /// retires what it held, records how it ended, and returns its failure, if any.
    pub(crate) fn end(self, result: std::thread::Result<Result<(), Error>>) -> Finished {
        let Begun { rec, started } = self;
        RUNNING.fetch_sub(1, Ordering::Relaxed);
        let (end, failure) = match result {
            Ok(Ok(())) => (ProcessEnd::Ok, None),
            Ok(Err(Error::Retired)) => (ProcessEnd::Retired, None),
            Ok(Err(Error::Poisoned)) => (ProcessEnd::Poisoned, None),
            Ok(Err(Error::Failed(e))) => (ProcessEnd::Failed, Some(Failure::Error(e))),
            Err(panic) => (
                ProcessEnd::Panicked,
                Some(Failure::Panic(panic_message(&*panic))),
            ),
        };
        // Poison first, then let go of the dropped ends: a neighbour must see the poison,
        // not a retirement that happened to come first.
        let poison = !matches!(end, ProcessEnd::Ok | ProcessEnd::Retired);
        if poison {
            rec.poison_held();
        }
        rec.flush(poison);
        let ran = started.elapsed();
        rec.set_end(end, ran);
        if super::recorder::on() {
            super::recorder::emit(super::recorder::Ev::End {
                process: rec.id,
                end,
                ran,
            });
        }
        rec.go_dead();
        let seq = FINISHED.fetch_add(1, Ordering::Relaxed);
        let failure = failure?;
        rec.group.failed.store(true, Ordering::Relaxed);
        tracing::info!(process = %rec.name, "{failure}");
        Some((seq, rec.name.to_string(), failure))
    }
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not a string)".to_string()
    }
}

/// A started process, to be joined.
#[derive(Debug)]
pub(crate) enum Handle {
    Thread(std::thread::JoinHandle<Finished>),
    Task(green::Task),
    /// It could not start (its body, and the ends it owns, were dropped unstarted, so
    /// its peers see retirement rather than wait for it).
    Failed(String, std::io::Error),
}

impl Handle {
    fn join(self) -> Finished {
        match self {
            Handle::Thread(h) => h.join().expect("a process's panics are caught"),
            Handle::Task(t) => t.join(),
            Handle::Failed(name, e) => Some((0, name, Failure::Spawn(e))),
        }
    }

    fn is_finished(&self) -> bool {
        match self {
            Handle::Thread(h) => h.is_finished(),
            Handle::Task(t) => t.is_finished(),
            Handle::Failed(..) => true,
        }
    }
}

/// Starts `p`: as a green task if the run's scheduler is green and `p` is async, else on
/// a thread of its own. `pool` is the pool the run's green processes share, started with
/// its first green process and stopped (after every process has been joined) when the
/// run ends.
fn start(p: Process, group: &Arc<Group>, pool: &mut Option<Pool>) -> Handle {
    let sched = group.config.scheduler;
    if matches!(sched, Scheduler::Green { .. }) && p.is_async() && !p.own_thread {
        if pool.is_none() {
            match Pool::with_stack_size(sched.workers(), group.config.stack_size) {
                Ok(started) => *pool = Some(started),
                Err(e) => return Handle::Failed(p.name.clone(), e),
            }
        }
        let pool = pool.as_ref().expect("started above");
        return Handle::Task(green::start(p, group, pool));
    }
    thread::start(p, group)
}

/// Runs processes in parallel and returns when all have ended (occam's `PAR`), with
/// [`Runtime::new`]'s options: each process on its own OS thread named after it.
///
/// # Blocking
/// Blocks until every process has ended, whatever happens to the others. A process that
/// ends by poison or retirement has ended normally. A process that fails or panics has
/// its channels poisoned, so the rest of the network stops too.
///
/// # Errors
/// The first real failure, naming the process, with any others in
/// [`ParError::others`].
///
/// # Examples
/// A panic in one process ends the whole network with an error naming it:
/// ```
/// use occamy::{par, Process};
/// let (tx, rx) = occamy::channel::<i32>();
/// let err = par([
///     Process::new("reader", move || -> occamy::Result { loop { rx.recv()?; } }),
///     Process::new("writer", move || -> occamy::Result {
///         tx.send(1)?;
///         panic!("out of ideas");
///     }),
/// ])
/// .unwrap_err();
/// assert_eq!(err.process, "writer");
/// assert!(err.to_string().contains("out of ideas"));
/// ```
pub fn par<I: IntoIterator<Item = Process>>(processes: I) -> Result<(), ParError> {
    Runtime::new().par(processes)
}

/// What a [`Runtime::run`] did.
#[derive(Debug)]
pub struct ParOutcome {
    /// As [`par`]'s result.
    pub result: Result<(), ParError>,
    /// Every process, as it ended: what it held, how it ended.
    pub processes: Vec<ProcessInfo>,
    /// The deadlock found, if any (with [`OnDeadlock::Warn`] too).
    pub deadlock: Option<DeadlockReport>,
}

impl Runtime {
    /// Runs the processes in parallel as [`par`] does, and says what ran.
    ///
    /// # Blocking
    /// Blocks until every process has ended.
    pub fn run<I: IntoIterator<Item = Process>>(&self, processes: I) -> ParOutcome {
        run_group(&Group::new(self), processes, Keep::Infos)
    }

    /// Runs the processes in parallel: [`par`] with these options.
    ///
    /// # Blocking
    /// Blocks until every process has ended.
    pub fn par<I: IntoIterator<Item = Process>>(&self, processes: I) -> Result<(), ParError> {
        self.run(processes).result
    }

    /// Runs processes one after another on the calling thread: [`seq`] with these options.
    ///
    /// # Blocking
    /// Blocks until the last process has ended, or the first has failed.
    pub fn seq<I: IntoIterator<Item = Process>>(&self, processes: I) -> Result<(), ParError> {
        let group = Group::new(self);
        let mut result = Ok(());
        for p in processes {
            if let Some(f) = thread::run_here(p, &group) {
                result = Err(ParError::from_failures(vec![f]).expect("one failure"));
                break;
            }
        }
        group.release();
        result
    }

    /// Starts a process in the background: [`spawn`] with these options.
    pub fn spawn(&self, process: Process) -> ProcessHandle {
        let name = process.name.clone();
        let group = Group::new(self);
        let mut pool = None;
        ProcessHandle {
            name,
            handle: start(process, &group, &mut pool),
            group,
            pool,
        }
    }
}

/// What a concluded run keeps of its processes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// A snapshot of each in [`ParOutcome::processes`]; the group lets go of its records.
    Infos,
    /// Nothing (a process joined alone).
    Nothing,
    /// The group keeps its records, for a caller that reads them itself and then calls
    /// `Group::release` (a declared network: a million snapshots at the end would be its
    /// largest allocation).
    Records,
}

/// Runs processes in parallel as members of `group`.
pub(crate) fn run_group<I: IntoIterator<Item = Process>>(
    group: &Arc<Group>,
    processes: I,
    keep: Keep,
) -> ParOutcome {
    let mut pool = None;
    let processes = processes.into_iter();
    // A loop, not `collect`: collecting a `Vec<Process>`'s iterator would reuse its (larger)
    // allocation for the handles, and keep it for the whole run.
    let mut handles: Vec<Handle> = Vec::with_capacity(processes.size_hint().0);
    for p in processes {
        handles.push(start(p, group, &mut pool));
    }
    let failures = handles.into_iter().filter_map(Handle::join).collect();
    drop(pool);
    conclude(group, failures, keep)
}

/// The outcome of a group whose processes have all ended.
pub(crate) fn conclude(
    group: &Group,
    mut failures: Vec<(u64, String, Failure)>,
    keep: Keep,
) -> ParOutcome {
    let deadlock = lock_std(&group.deadlock).clone();
    if let (Some(d), OnDeadlock::Poison) = (&deadlock, group.config.on_deadlock) {
        let first = d
            .cycle
            .first()
            .or(d.blocked.first().map(|b| &b.name))
            .cloned()
            .unwrap_or_default();
        failures.insert(0, (0, first, Failure::Deadlock(d.clone())));
    }
    // In declaration order (ids are handed out as processes are made), not thread-start
    // order.
    let processes: Vec<ProcessInfo> = if keep == Keep::Infos {
        group.records().iter().map(|r| r.info()).collect()
    } else {
        Vec::new()
    };
    if keep != Keep::Records {
        group.release();
    }
    let result = match failures.first() {
        Some((_, _, Failure::Deadlock(_))) => {
            let (_, process, failure) = failures.remove(0);
            let mut rest = ParError::from_failures(failures);
            let others = rest.take().map(|e| {
                let mut o = vec![(e.process, e.failure)];
                o.extend(e.others);
                o
            });
            Err(ParError {
                process,
                failure,
                others: others.unwrap_or_default(),
            })
        }
        _ => ParError::from_failures(failures).map_or(Ok(()), Err),
    };
    ParOutcome {
        result,
        processes,
        deadlock,
    }
}

/// Runs processes one after another on the current thread (occam's `SEQ`). Ending by
/// poison or retirement counts as ending normally; the first real failure stops the
/// sequence.
///
/// # Examples
/// ```
/// use occamy::{seq, Process};
/// let (tx, rx) = occamy::buffered(1);
/// seq([
///     Process::new("put", move || tx.send(5)),
///     Process::new("get", move || assert_eq!(rx.recv(), Ok(5))),
/// ])
/// .unwrap();
/// ```
pub fn seq<I: IntoIterator<Item = Process>>(processes: I) -> Result<(), ParError> {
    Runtime::new().seq(processes)
}

/// Starts a process in the background on its own thread.
///
/// # Examples
/// ```
/// let (tx, rx) = occamy::channel();
/// let h = occamy::spawn(occamy::Process::new("echo", move || tx.send(rx_value())));
/// # fn rx_value() -> i32 { 1 }
/// assert_eq!(rx.recv(), Ok(1));
/// h.join().unwrap();
/// ```
pub fn spawn(process: Process) -> ProcessHandle {
    Runtime::new().spawn(process)
}

/// A process started by [`spawn`].
#[derive(Debug)]
pub struct ProcessHandle {
    name: String,
    handle: Handle,
    group: Arc<Group>,
    /// Keeps a green process's pool running until it is joined.
    pool: Option<Pool>,
}

impl ProcessHandle {
    /// The process's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the process has ended.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the process to end.
    ///
    /// # Blocking
    /// Blocks until the process has ended.
    pub fn join(self) -> Result<(), ParError> {
        let failure = self.handle.join();
        drop(self.pool);
        conclude(&self.group, failure.into_iter().collect(), Keep::Nothing).result
    }
}

/// Runs a future to completion on the current thread (a minimal executor: the one async
/// processes run under with [`Scheduler::Threads`](crate::Scheduler)).
///
/// # Blocking
/// Blocks the thread until the future completes.
///
/// # Examples
/// ```
/// assert_eq!(occamy::block_on(async { 1 + 1 }), 2);
/// ```
pub fn block_on<F: Future>(fut: F) -> F::Output {
    thread::block_on(fut, None)
}
