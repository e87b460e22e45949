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
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};

use crate::channel::Core;
use crate::error::{RecvError, SendError, SendTimeoutError, TrySendError};
use crate::wait::{Direction, WaitOn};

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
        mark_doomed();
        Error::Failed(e.into())
    }

    /// `Poisoned`, marking the running process as ending by poison (see [`mark_doomed`]).
    fn poisoned() -> Error {
        mark_doomed();
        Error::Poisoned
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
            RecvError::Poisoned => Error::poisoned(),
            RecvError::Retired => Error::Retired,
        }
    }
}

impl<T> From<SendError<T>> for Error {
    fn from(e: SendError<T>) -> Error {
        match e {
            SendError::Poisoned(_) => Error::poisoned(),
            SendError::Retired(_) => Error::Retired,
        }
    }
}

impl<T> From<SendTimeoutError<T>> for Error {
    fn from(e: SendTimeoutError<T>) -> Error {
        match e {
            SendTimeoutError::Poisoned(_) => Error::poisoned(),
            SendTimeoutError::Retired(_) => Error::Retired,
            SendTimeoutError::Timeout(_) => Error::failed("timed out sending"),
        }
    }
}

impl<T> From<TrySendError<T>> for Error {
    fn from(e: TrySendError<T>) -> Error {
        match e {
            TrySendError::Poisoned(_) => Error::poisoned(),
            TrySendError::Retired(_) => Error::Retired,
            TrySendError::Full(_) => Error::failed("no reader ready"),
        }
    }
}

impl From<crate::barrier::BarrierPoisoned> for Error {
    fn from(_: crate::barrier::BarrierPoisoned) -> Error {
        Error::poisoned()
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
        }
    }

    /// The process's name.
    pub fn name(&self) -> &str {
        &self.name
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
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => write!(f, "failed: {e}"),
            Failure::Panic(m) => write!(f, "panicked: {m}"),
            Failure::Spawn(e) => write!(f, "could not start: {e}"),
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

/// What the runtime knows of a running process.
pub(crate) struct Record {
    #[allow(dead_code)] // read by the graph exporter and deadlock detector
    pub(crate) name: String,
    pub(crate) held: Mutex<Vec<(Arc<Core>, Direction)>>,
    pub(crate) waiting: Mutex<Vec<WaitOn>>,
    /// Set once the process is on its way out by poison or failure (see [`mark_doomed`]).
    pub(crate) doomed: AtomicBool,
}

/// Marks the running process as ending by poison or failure: from now on, channel ends
/// it drops poison their channels instead of retiring them.
///
/// Why: a process body's channel ends are dropped when the body returns, before the
/// runtime sees its result. Without this, a process that ends by poison (`?` on a
/// poisoned channel) would first *retire* its other channels, and a neighbour blocked on
/// one of them would end quietly instead of passing the poison on. The conversions into
/// [`Error::Poisoned`] and [`Error::Failed`] that `?` performs call this.
fn mark_doomed() {
    let _ = CURRENT.try_with(|c| {
        if let Some(r) = &*c.borrow() {
            r.doomed.store(true, Ordering::Relaxed);
        }
    });
}

/// Whether the running process is ending by poison or failure (see [`mark_doomed`]).
pub(crate) fn doomed() -> bool {
    CURRENT
        .try_with(|c| c.borrow().as_ref().is_some_and(|r| r.doomed.load(Ordering::Relaxed)))
        .unwrap_or(false)
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Record>>> = const { RefCell::new(None) };
}

/// Records that the running process uses `core` (called on an end's first use).
pub(crate) fn register_end(core: &Arc<Core>, dir: Direction) {
    let _ = CURRENT.try_with(|c| {
        if let Some(r) = &*c.borrow() {
            lock_std(&r.held).push((core.clone(), dir));
        }
    });
}

fn lock_std<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Marks the running process as waiting on `on` while alive.
pub(crate) struct WaitingGuard(Option<Arc<Record>>);

impl WaitingGuard {
    pub(crate) fn enter(on: &[WaitOn]) -> WaitingGuard {
        let rec = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten();
        if let Some(r) = &rec {
            *lock_std(&r.waiting) = on.to_vec();
        }
        WaitingGuard(rec)
    }
}

impl Drop for WaitingGuard {
    fn drop(&mut self) {
        if let Some(r) = &self.0 {
            lock_std(&r.waiting).clear();
        }
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
fn run(p: Process) -> Finished {
    let Process {
        name,
        body,
        observer,
    } = p;
    let started = std::time::Instant::now();
    let rec = Arc::new(Record {
        name: name.clone(),
        held: Mutex::new(Vec::new()),
        waiting: Mutex::new(Vec::new()),
        doomed: AtomicBool::new(false),
    });
    let prev = CURRENT.with(|c| c.replace(Some(rec.clone())));
    RUNNING.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("process", name = %name);
    let result = span.in_scope(|| {
        catch_unwind(AssertUnwindSafe(|| match body {
            Body::Sync(f) => f(),
            Body::Async(fut) => block_on(fut),
        }))
    });
    RUNNING.fetch_sub(1, Ordering::Relaxed);
    CURRENT.with(|c| *c.borrow_mut() = prev);
    let (end, failure) = match result {
        Ok(Ok(())) => (ProcessEnd::Ok, None),
        Ok(Err(Error::Retired)) => (ProcessEnd::Retired, None),
        Ok(Err(Error::Poisoned)) => {
            poison_held(&rec);
            (ProcessEnd::Poisoned, None)
        }
        Ok(Err(Error::Failed(e))) => (ProcessEnd::Failed, Some(Failure::Error(e))),
        Err(panic) => (
            ProcessEnd::Panicked,
            Some(Failure::Panic(panic_message(&*panic))),
        ),
    };
    if let Some(f) = observer {
        f(end, started.elapsed());
    }
    let seq = FINISHED.fetch_add(1, Ordering::Relaxed);
    let failure = failure?;
    poison_held(&rec);
    tracing::error!(process = %name, "{failure}");
    Some((seq, name, failure))
}

fn poison_held(rec: &Record) {
    let held = std::mem::take(&mut *lock_std(&rec.held));
    for (core, _) in held {
        core.poison();
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

/// A failure with its finishing sequence number, or `None` for a normal end.
type Finished = Option<(u64, String, Failure)>;
/// A started process's thread, or its name and why it could not start.
type Started = std::result::Result<JoinHandle<Finished>, (String, std::io::Error)>;

fn start(p: Process) -> Started {
    let name = p.name.clone();
    thread::Builder::new()
        .name(name.clone())
        .spawn(move || run(p))
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
    let mut handles = Vec::new();
    let mut failures = Vec::new();
    for p in processes {
        match start(p) {
            Ok(h) => handles.push(h),
            // The process's body (and the channel ends it owns) is dropped unstarted, so its
            // peers see retirement rather than wait for it.
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
    ParError::from_failures(failures).map_or(Ok(()), Err)
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
    for p in processes {
        if let Some(f) = run(p) {
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
    ProcessHandle {
        name,
        handle: start(process),
    }
}

/// A process started by [`spawn`].
#[derive(Debug)]
pub struct ProcessHandle {
    name: String,
    handle: Started,
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
        ParError::from_failures(failure.into_iter().collect()).map_or(Ok(()), Err)
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
        thread::park();
    }
}
