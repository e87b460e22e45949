//! Processes: named units of sequential code that own their channel ends, and the ways to
//! run them (`par`, `seq`, `spawn`).
//!
//! Each running process has a record: its name, the channel ends it has used (an end
//! belongs to the process that first uses it), and what it waits on while blocked. When a
//! process fails (returns an error or panics) or ends by poison, the runtime poisons every
//! channel it held, so the rest of the network stops instead of hanging (PyCSP's
//! `@process` does the same). `par` keeps rayon `join`'s contract: every child runs to its
//! end, and a panic is caught at the thread boundary and reported with the process name.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};

use crate::deadlock::{DeadlockReport, OnDeadlock};
use crate::error::{RecvError, SendError, SendTimeoutError, TrySendError};
use crate::record::{lock_std, Group, Held, HeldSet, Holds, ProcessInfo, Record};

/// How a process ends other than normally.
///
/// `Poisoned` and `Retired` are the ordinary ways a network shuts down; `par` treats them
/// as success. `Failed` is a real failure. The `?` operator converts channel errors (the
/// value of a failed send is dropped), [`BarrierPoisoned`](crate::BarrierPoisoned), I/O
/// errors and strings; wrap any other error with [`Error::failed`].
#[derive(Debug)]
pub enum Error {
    /// A channel or barrier the process used was poisoned.
    Poisoned,
    /// A channel the process used retired.
    Retired,
    /// The process failed.
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// A failure carrying `e`.
    pub fn failed(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::Failed(e.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Poisoned => f.write_str("poisoned"),
            Error::Retired => f.write_str("retired"),
            Error::Failed(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for Error {}

impl From<RecvError> for Error {
    fn from(e: RecvError) -> Error {
        match e {
            RecvError::Poisoned => Error::Poisoned,
            RecvError::Retired => Error::Retired,
        }
    }
}

impl<T> From<SendError<T>> for Error {
    fn from(e: SendError<T>) -> Error {
        match e {
            SendError::Poisoned(_) => Error::Poisoned,
            SendError::Retired(_) => Error::Retired,
        }
    }
}

impl<T> From<SendTimeoutError<T>> for Error {
    fn from(e: SendTimeoutError<T>) -> Error {
        match e {
            SendTimeoutError::Poisoned(_) => Error::Poisoned,
            SendTimeoutError::Retired(_) => Error::Retired,
            SendTimeoutError::Timeout(_) => Error::failed("timed out sending"),
        }
    }
}

impl<T> From<TrySendError<T>> for Error {
    fn from(e: TrySendError<T>) -> Error {
        match e {
            TrySendError::Poisoned(_) => Error::Poisoned,
            TrySendError::Retired(_) => Error::Retired,
            TrySendError::Full(_) => Error::failed("no reader ready"),
        }
    }
}

impl From<crate::error::RecvTimeoutError> for Error {
    fn from(e: crate::error::RecvTimeoutError) -> Error {
        use crate::error::RecvTimeoutError as E;
        match e {
            E::Poisoned => Error::Poisoned,
            E::Retired => Error::Retired,
            E::Timeout => Error::failed("timed out receiving"),
        }
    }
}

impl From<crate::error::TryRecvError> for Error {
    fn from(e: crate::error::TryRecvError) -> Error {
        use crate::error::TryRecvError as E;
        match e {
            E::Poisoned => Error::Poisoned,
            E::Retired => Error::Retired,
            E::Empty => Error::failed("no writer ready"),
        }
    }
}

impl From<crate::barrier::BarrierPoisoned> for Error {
    fn from(_: crate::barrier::BarrierPoisoned) -> Error {
        Error::Poisoned
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::failed(e)
    }
}

impl From<String> for Error {
    fn from(e: String) -> Error {
        Error::failed(e)
    }
}

impl From<&str> for Error {
    fn from(e: &str) -> Error {
        Error::failed(e)
    }
}

/// What a process body may return: `()` or `Result<(), E>` with `E: Into<Error>`.
pub trait ProcessResult {
    /// The result as occamy sees it.
    fn into_result(self) -> Result<(), Error>;
}

impl ProcessResult for () {
    fn into_result(self) -> Result<(), Error> {
        Ok(())
    }
}

impl<E: Into<Error>> ProcessResult for Result<(), E> {
    fn into_result(self) -> Result<(), Error> {
        self.map_err(Into::into)
    }
}

type AsyncBody = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

enum Body {
    Sync(Box<dyn FnOnce() -> Result<(), Error> + Send>),
    Async(AsyncBody),
}

/// A named process, ready to run with [`par`], [`seq`] or [`spawn`].
///
/// # Examples
/// ```
/// use occamy::{par, Process};
/// let (tx, rx) = occamy::channel();
/// par([
///     Process::new("producer", move || -> occamy::Result {
///         for i in 0..10 { tx.send(i)?; }
///         Ok(())
///     }),
///     Process::new("consumer", move || assert_eq!(rx.iter().sum::<i32>(), 45)),
/// ])
/// .unwrap();
/// ```
pub struct Process {
    name: String,
    body: Body,
    observer: Option<Observer>,
    holds: Vec<Held>,
    id: u64,
}

/// Called when a process ends, with how it ended and how long it ran.
pub(crate) type Observer = Box<dyn FnOnce(ProcessEnd, std::time::Duration) + Send>;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcessEnd {
    /// It returned normally.
    Ok,
    /// It ended by poison.
    Poisoned,
    /// It ended by retirement.
    Retired,
    /// It returned a failure.
    Failed,
    /// It panicked.
    Panicked,
}

impl fmt::Display for ProcessEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProcessEnd::Ok => "ok",
            ProcessEnd::Poisoned => "poisoned",
            ProcessEnd::Retired => "retired",
            ProcessEnd::Failed => "failed",
            ProcessEnd::Panicked => "panicked",
        })
    }
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Process({:?})", self.name)
    }
}

impl Process {
    /// A process running the blocking code `body`.
    pub fn new<F, R>(name: impl Into<String>, body: F) -> Process
    where
        F: FnOnce() -> R + Send + 'static,
        R: ProcessResult,
    {
        Process {
            name: name.into(),
            body: Body::Sync(Box::new(move || body().into_result())),
            observer: None,
            holds: Vec::new(),
            id: crate::record::next_id(),
        }
    }

    /// A process running the async code `body`. Until occamy has its own scheduler, it runs
    /// on its own thread under [`block_on`]; it talks to blocking processes over the same
    /// channels.
    ///
    /// # Examples
    /// ```
    /// use occamy::{par, Process};
    /// let (tx, rx) = occamy::channel();
    /// par([
    ///     Process::new_async("async writer", async move { tx.send_async(1).await }),
    ///     Process::new("reader", move || assert_eq!(rx.recv(), Ok(1))),
    /// ])
    /// .unwrap();
    /// ```
    pub fn new_async<F, R>(name: impl Into<String>, body: F) -> Process
    where
        F: Future<Output = R> + Send + 'static,
        R: ProcessResult,
    {
        Process {
            name: name.into(),
            body: Body::Async(Box::pin(async move { body.await.into_result() })),
            observer: None,
            holds: Vec::new(),
            id: crate::record::next_id(),
        }
    }

    /// A process declared with what it holds (PyCSP style: the channel ends are the
    /// process's arguments): `ends` (a channel end, a barrier, or a tuple, array or `Vec` of
    /// them) is handed to `body`. Declaring the ends lets the runtime know, before the
    /// process first uses them, who is at the other end of every channel: the graph of
    /// what ran shows them, and the deadlock detector can name the waits-for cycle even
    /// among processes blocked before they ever used some of their ends.
    ///
    /// # Examples
    /// ```
    /// use occamy::{par, Process};
    /// let (tx, rx) = occamy::channel::<u32>();
    /// par([
    ///     Process::with("source", tx, |tx| tx.send(7)),
    ///     Process::with("sink", rx, |rx| assert_eq!(rx.recv(), Ok(7))),
    /// ])
    /// .unwrap();
    /// ```
    pub fn with<H, F, R>(name: impl Into<String>, ends: H, body: F) -> Process
    where
        H: Holds + 'static,
        F: FnOnce(H) -> R + Send + 'static,
        R: ProcessResult,
    {
        let mut holds = HeldSet::default();
        ends.held(&mut holds);
        Process {
            holds: holds.0,
            ..Process::new(name, move || body(ends))
        }
    }

    /// The process's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Declares more things the process holds (see [`Process::with`]).
    pub(crate) fn holding(mut self, h: Vec<Held>) -> Process {
        self.holds.extend(h);
        self
    }

    /// Calls `f` when the process ends (for run-time statistics).
    pub(crate) fn observe(mut self, f: Observer) -> Process {
        self.observer = Some(f);
        self
    }
}

/// A process that did not end normally.
#[derive(Debug)]
pub enum Failure {
    /// It returned [`Error::Failed`].
    Error(Box<dyn std::error::Error + Send + Sync>),
    /// It panicked, with this message.
    Panic(String),
    /// Its thread could not be started.
    Spawn(std::io::Error),
    /// It was part of a deadlock (the report says who waited on whom).
    Deadlock(DeadlockReport),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => write!(f, "failed: {e}"),
            Failure::Panic(m) => write!(f, "panicked: {m}"),
            Failure::Spawn(e) => write!(f, "could not start: {e}"),
            Failure::Deadlock(d) => write!(f, "is deadlocked: {d}"),
        }
    }
}

/// The failures of a [`par`], [`seq`] or joined [`spawn`]: the first (in the order they
/// happened) is the one reported; the others are kept.
#[derive(Debug)]
pub struct ParError {
    /// The process that failed first.
    pub process: String,
    /// How it failed.
    pub failure: Failure,
    /// Any further failures, in the order they happened.
    pub others: Vec<(String, Failure)>,
}

impl fmt::Display for ParError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process `{}` {}", self.process, self.failure)?;
        if !self.others.is_empty() {
            write!(f, " (and {} more failed)", self.others.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ParError {}

impl ParError {
    fn from_failures(mut all: Vec<(u64, String, Failure)>) -> Option<ParError> {
        all.sort_by_key(|f| f.0);
        let mut it = all.into_iter();
        let (_, process, failure) = it.next()?;
        Some(ParError {
            process,
            failure,
            others: it.map(|(_, p, f)| (p, f)).collect(),
        })
    }
}

static FINISHED: AtomicU64 = AtomicU64::new(0);
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// How many processes are running now, in this program.
pub fn running_processes() -> usize {
    RUNNING.load(Ordering::Relaxed)
}

/// Runs one process on the current thread: its span, its record, its failure handling.
/// Returns the failure (with its finishing sequence number), if any.
fn run(p: Process, group: Arc<Group>) -> Finished {
    let Process {
        name,
        body,
        observer,
        holds,
        id,
    } = p;
    let started = std::time::Instant::now();
    let rec = Record::new(id, name.clone(), group, holds);
    let entered = rec.enter();
    RUNNING.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("process", name = %name);
    let result = span.in_scope(|| {
        catch_unwind(AssertUnwindSafe(|| match body {
            Body::Sync(f) => f(),
            Body::Async(fut) => block_on(fut),
        }))
    });
    RUNNING.fetch_sub(1, Ordering::Relaxed);
    drop(entered);
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
    // Poison first, then let go of the dropped ends: a neighbour must see the poison, not
    // a retirement that happened to come first.
    let poison = !matches!(end, ProcessEnd::Ok | ProcessEnd::Retired);
    if poison {
        rec.poison_held();
    }
    rec.flush(poison);
    *crate::record::lock_std(&rec.end) = Some(end);
    if let Some(f) = observer {
        f(end, started.elapsed());
    }
    let seq = FINISHED.fetch_add(1, Ordering::Relaxed);
    let failure = failure?;
    tracing::info!(process = %name, "{failure}");
    Some((seq, name, failure))
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

/// A failure with its finishing sequence number, or `None` for a normal end.
type Finished = Option<(u64, String, Failure)>;
/// A started process's thread, or its name and why it could not start.
type Started = std::result::Result<JoinHandle<Finished>, (String, std::io::Error)>;

fn start(p: Process, group: &Arc<Group>) -> Started {
    let name = p.name.clone();
    let group = group.clone();
    thread::Builder::new()
        .name(name.clone())
        .spawn(move || run(p, group))
        .map_err(|e| (name, e))
}

/// Runs processes in parallel, each on its own OS thread named after it, and returns
/// when all have ended (occam's `PAR`).
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
    Par::new().run(processes).result
}

/// `par` with options: what to do on deadlock; and what ran, for graphs.
///
/// # Examples
/// A deadlock (two processes each waiting to receive from the other) is found and
/// reported by name:
/// ```
/// use occamy::{Par, Process};
/// let (a_tx, a_rx) = occamy::channel::<u8>();
/// let (b_tx, b_rx) = occamy::channel::<u8>();
/// a_tx.set_name("a_to_b");
/// b_tx.set_name("b_to_a");
/// let out = Par::new().run([
///     Process::with("a", (b_rx, a_tx), |(rx, tx)| -> occamy::Result { tx.send(rx.recv()?)?; Ok(()) }),
///     Process::with("b", (a_rx, b_tx), |(rx, tx)| -> occamy::Result { tx.send(rx.recv()?)?; Ok(()) }),
/// ]);
/// let report = out.deadlock.expect("a deadlock");
/// assert_eq!(report.to_string(), "deadlock: a waits to receive on b_to_a from b; b waits to receive on a_to_b from a");
/// assert!(out.result.is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Par {
    on_deadlock: OnDeadlock,
}

/// What a [`Par::run`] did.
#[derive(Debug)]
pub struct ParOutcome {
    /// As [`par`]'s result.
    pub result: Result<(), ParError>,
    /// Every process, as it ended: what it held, how it ended.
    pub processes: Vec<ProcessInfo>,
    /// The deadlock found, if any (with [`OnDeadlock::Warn`] too).
    pub deadlock: Option<DeadlockReport>,
}

impl Par {
    /// Default options: a deadlock poisons the network and is the error.
    pub fn new() -> Par {
        Par::default()
    }

    /// What to do when a deadlock is found.
    pub fn on_deadlock(mut self, on: OnDeadlock) -> Par {
        self.on_deadlock = on;
        self
    }

    /// Runs the processes as [`par`] does.
    ///
    /// # Blocking
    /// Blocks until every process has ended.
    pub fn run<I: IntoIterator<Item = Process>>(self, processes: I) -> ParOutcome {
        run_group(&Group::new(self.on_deadlock), processes)
    }
}

/// Runs processes in parallel as members of `group`.
pub(crate) fn run_group<I: IntoIterator<Item = Process>>(
    group: &Arc<Group>,
    processes: I,
) -> ParOutcome {
    {
        let mut handles = Vec::new();
        let mut failures = Vec::new();
        for p in processes {
            match start(p, group) {
                Ok(h) => handles.push(h),
                // The process's body (and the channel ends it owns) is dropped unstarted, so
                // its peers see retirement rather than wait for it.
                Err((name, e)) => failures.push((0, name, Failure::Spawn(e))),
            }
        }
        for h in handles {
            match h.join() {
                Ok(Some(f)) => failures.push(f),
                Ok(None) => {}
                Err(_) => unreachable!("run() catches panics"),
            }
        }
        conclude(group, failures)
    }
}

/// The outcome of a group whose processes have all ended.
fn conclude(group: &Group, mut failures: Vec<(u64, String, Failure)>) -> ParOutcome {
    let deadlock = lock_std(&group.deadlock).clone();
    if let (Some(d), OnDeadlock::Poison) = (&deadlock, group.on_deadlock) {
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
    let mut processes: Vec<ProcessInfo> =
        lock_std(&group.records).iter().map(|r| r.info()).collect();
    processes.sort_by_key(|p| p.id);
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
    let group = Group::new(OnDeadlock::Poison);
    for p in processes {
        if let Some(f) = run(p, group.clone()) {
            return Err(ParError::from_failures(vec![f]).expect("one failure"));
        }
    }
    Ok(())
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
    let name = process.name.clone();
    let group = Group::new(OnDeadlock::Poison);
    ProcessHandle {
        name,
        handle: start(process, &group),
        group,
    }
}

/// A process started by [`spawn`].
#[derive(Debug)]
pub struct ProcessHandle {
    name: String,
    handle: Started,
    group: Arc<Group>,
}

impl ProcessHandle {
    /// The process's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the process has ended.
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().map_or(true, |h| h.is_finished())
    }

    /// Waits for the process to end.
    ///
    /// # Blocking
    /// Blocks until the process has ended.
    pub fn join(self) -> Result<(), ParError> {
        let failure = match self.handle {
            Ok(h) => h.join().expect("run() catches panics"),
            Err((name, e)) => Some((0, name, Failure::Spawn(e))),
        };
        conclude(&self.group, failure.into_iter().collect()).result
    }
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on the current thread (a minimal executor, used for async
/// processes until occamy has its own scheduler).
///
/// # Blocking
/// Blocks the thread until the future completes.
///
/// # Examples
/// ```
/// assert_eq!(occamy::block_on(async { 1 + 1 }), 2);
/// ```
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        crate::record::flush_current();
        thread::park();
    }
}
