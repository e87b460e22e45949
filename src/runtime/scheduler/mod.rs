//! A work-stealing M:N executor for occamy's async processes ("green threads").
//!
//! A [`Pool`] runs tasks (`Future<Output = ()> + Send + 'static`) on a fixed number of OS
//! worker threads, in the shape of Go's and tokio's schedulers: a local run queue and a
//! run-next slot per worker, a global injector, work stealing, and a small number of
//! searching workers so that a wake seldom costs a futex call. The design, and why each
//! race is benign, is in `README.md` beside this file.
//!
//! # Examples
//! ```
//! use occamy::scheduler::Pool;
//!
//! let pool = Pool::new(2).unwrap();
//! let (tx, rx) = occamy::channel::<u32>();
//! let reader = pool.spawn(async move { assert_eq!(rx.recv_async().await, Ok(7)) });
//! let writer = pool.spawn(async move { tx.send_async(7).await.unwrap() });
//! writer.join().unwrap();
//! reader.join().unwrap();
//! ```

mod hook;
mod idle;
mod state;
mod task;
#[cfg(all(test, not(loom)))]
mod tests;
mod worker;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{fence, AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use crossbeam_deque::{Injector, Stealer};
use crossbeam_utils::sync::{Parker, Unparker};

#[cfg_attr(not(feature = "mpi"), allow(unused_imports))]
pub(crate) use hook::{drive_blocked, poke, set_idle_hook, IdleHook};
pub(crate) use task::take_run_count;
use task::{Registry, Task, TaskRef};
use worker::Core;

/// A pool of OS worker threads running tasks. Dropping it shuts it down: see
/// [`Pool::shutdown`].
pub struct Pool {
    handle: Handle,
}

/// A cheap, clonable reference to a [`Pool`] for spawning onto it (from inside its tasks,
/// say). It does not keep the pool running: once the pool is dropped, spawned tasks are
/// cancelled at once.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

/// What the pool's threads share.
struct Shared {
    injector: Injector<TaskRef>,
    stealers: Box<[Stealer<TaskRef>]>,
    /// Per worker (by core index), its run-next slot.
    lifos: Box<[worker::Lifo]>,
    unparkers: Box<[Unparker]>,
    idle: idle::Idle,
    registry: Registry,
    shutdown: AtomicBool,
    threads: Mutex<Threads>,
    /// Spares wait here for a handed-off core.
    spare_cv: Condvar,
    /// The pool's drop waits here for the threads to end.
    exited_cv: Condvar,
    stack_size: Option<usize>,
}

struct Threads {
    alive: usize,
    // Boxed: a core moves between threads and in and out of this list; a pointer moves.
    #[allow(clippy::vec_box)]
    spare_cores: Vec<Box<Core>>,
    idle_spares: usize,
}

/// Locks a mutex, ignoring poisoning: no user code runs under the scheduler's locks.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn is_shutdown(&self) -> bool {
        self.shutdown.load(SeqCst)
    }

    fn thread_builder(&self) -> std::thread::Builder {
        let b = std::thread::Builder::new().name("occamy-worker".into());
        match self.stack_size {
            Some(s) => b.stack_size(s),
            None => b,
        }
    }
}

impl Pool {
    /// Starts a pool of `workers` threads (at least one).
    ///
    /// # Examples
    /// ```
    /// let pool = occamy::scheduler::Pool::new(1).unwrap();
    /// assert_eq!(pool.workers(), 1);
    /// ```
    pub fn new(workers: usize) -> std::io::Result<Pool> {
        Pool::with_stack_size(workers, None)
    }

    /// Like [`Pool::new`], with the stack size of the worker threads (the platform's
    /// default if `None`).
    pub fn with_stack_size(workers: usize, stack_size: Option<usize>) -> std::io::Result<Pool> {
        let workers = workers.max(1);
        let locals: Vec<_> = (0..workers)
            .map(|_| crossbeam_deque::Worker::new_fifo())
            .collect();
        let parkers: Vec<_> = (0..workers).map(|_| Parker::new()).collect();
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            stealers: locals.iter().map(|w| w.stealer()).collect(),
            lifos: (0..workers).map(|_| worker::Lifo::default()).collect(),
            unparkers: parkers.iter().map(|p| p.unparker().clone()).collect(),
            idle: idle::Idle::new(workers),
            registry: Registry::new(),
            shutdown: AtomicBool::new(false),
            threads: Mutex::new(Threads {
                alive: 0,
                spare_cores: Vec::new(),
                idle_spares: 0,
            }),
            spare_cv: Condvar::new(),
            exited_cv: Condvar::new(),
            stack_size,
        });
        let pool = Pool {
            handle: Handle {
                shared: shared.clone(),
            },
        };
        for (i, (local, parker)) in locals.into_iter().zip(parkers).enumerate() {
            let core = Core::new(i, local, parker);
            lock(&shared.threads).alive += 1;
            let s = shared.clone();
            if let Err(e) = shared
                .thread_builder()
                .spawn(move || worker::thread_main(s, Some(core)))
            {
                lock(&shared.threads).alive -= 1;
                return Err(e); // `pool` drops: the started workers stop
            }
        }
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("occamy-scheduler-monitor".into())
            .spawn(move || worker::monitor(weak))?;
        tracing::debug!(workers, "occamy scheduler: pool started");
        Ok(pool)
    }

    /// Spawns a task onto the pool. It starts at once; the handle need not be kept.
    ///
    /// # Examples
    /// ```
    /// let pool = occamy::scheduler::Pool::new(2).unwrap();
    /// let h = pool.spawn(async { panic!("boom") });
    /// assert!(h.join().is_err()); // the panic, reported; the worker lives on
    /// assert!(pool.spawn(async {}).join().is_ok());
    /// ```
    pub fn spawn<F: Future<Output = ()> + Send + 'static>(&self, fut: F) -> JoinHandle {
        self.handle.spawn(fut)
    }

    /// The number of worker threads (cores of the pool).
    pub fn workers(&self) -> usize {
        self.handle.shared.stealers.len()
    }

    /// A handle for spawning onto this pool.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Stops the pool: tasks not yet finished are cancelled (their futures dropped, their
    /// join handles report an error), and, unless called from one of the pool's own
    /// threads, waits for the worker threads to end. A task blocked in
    /// [`block_in_place`] is waited for (dropping the other futures usually unblocks
    /// it). Dropping the pool does this.
    pub fn shutdown(&self) {
        let shared = &self.handle.shared;
        if shared.shutdown.swap(true, SeqCst) {
            return;
        }
        // Pairs with the fence in Shared::inject: a push that missed the flag is seen by
        // the final drain below. (Tasks running now are marked CANCELLED by the sweep's
        // claim and cancelled by their runners: state.rs.)
        fence(SeqCst);
        for u in shared.unparkers.iter() {
            u.unpark();
        }
        {
            let _t = lock(&shared.threads);
            shared.spare_cv.notify_all();
        }
        for task in shared.registry.close() {
            task.cancel();
        }
        if !worker::is_current(shared) {
            let mut t = lock(&shared.threads);
            while t.alive > 0 {
                t = shared.exited_cv.wait(t).unwrap_or_else(|e| e.into_inner());
            }
        }
        let cores = std::mem::take(&mut lock(&shared.threads).spare_cores);
        drop(cores);
        // A task left in a run-next slot refers to the pool: drop it, or neither goes.
        for l in shared.lifos.iter() {
            let left = l.take();
            drop(left);
        }
        shared.drain_injector();
        tracing::debug!("occamy scheduler: pool stopped");
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.workers())
            .finish()
    }
}

impl Handle {
    /// The pool whose task is running on the calling thread, if any.
    ///
    /// # Examples
    /// ```
    /// use occamy::scheduler::{Handle, Pool};
    /// assert!(Handle::try_current().is_none());
    /// let pool = Pool::new(1).unwrap();
    /// pool.spawn(async {
    ///     let inner = Handle::try_current().unwrap().spawn(async {});
    ///     inner.await.unwrap();
    /// })
    /// .join()
    /// .unwrap();
    /// ```
    pub fn try_current() -> Option<Handle> {
        worker::current_shared().map(|shared| Handle { shared })
    }

    /// Spawns a task onto the pool (see [`Pool::spawn`]). If the pool has shut down, the
    /// future is dropped and the handle reports an error.
    pub fn spawn<F: Future<Output = ()> + Send + 'static>(&self, fut: F) -> JoinHandle {
        let task: TaskRef = Task::new(self.shared.clone(), fut);
        match self.shared.registry.insert(task.clone()) {
            Ok(()) => worker::schedule_new(task.clone()),
            Err(t) => t.cancel(),
        }
        JoinHandle { task }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

/// Spawns a task onto the pool the calling task runs on.
///
/// # Panics
/// If the calling thread is not one of a pool's threads.
pub fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) -> JoinHandle {
    Handle::try_current()
        .expect("occamy::scheduler::spawn called outside a pool's task")
        .spawn(fut)
}

/// Waits for a task. Dropping it detaches the task.
///
/// As a future (a task awaiting another) it yields the same as [`JoinHandle::join`].
pub struct JoinHandle {
    task: TaskRef,
}

impl JoinHandle {
    /// Blocks the calling thread until the task has finished: `Ok(())`, or `Err` with the
    /// panic payload if it panicked, or with a `&'static str` if its pool shut down first.
    /// On a pool's worker thread, it blocks via [`block_in_place`].
    pub fn join(self) -> Result<(), Box<dyn Any + Send>> {
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
            fn wake_by_ref(self: &Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let header = self.task.header();
        if let Poll::Ready(o) = header.poll_join(&waker) {
            return o;
        }
        block_in_place(|| loop {
            if let Poll::Ready(o) = header.poll_join(&waker) {
                return o;
            }
            std::thread::park();
        })
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.header().is_complete()
    }
}

impl Future for JoinHandle {
    type Output = Result<(), Box<dyn Any + Send>>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.task.header().poll_join(cx.waker())
    }
}

impl fmt::Debug for JoinHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Whether the calling thread is currently a pool's worker (holds one of its cores), so
/// that blocking it would stall the tasks queued behind it.
pub fn on_worker() -> bool {
    worker::holds_core()
}

/// Runs `f`, which may block the OS thread, from inside a task. On a worker thread the
/// worker's queues (local queue and run-next slot) are first handed to another thread
/// (a spare, or a new one) so that the pool's other tasks keep running; when the task's
/// current poll returns, this thread takes a free core back if there is one, and
/// otherwise stays a spare for a while and then exits. Elsewhere it just runs `f`.
///
/// # Examples
/// ```
/// use occamy::scheduler::{block_in_place, Pool};
///
/// let pool = Pool::new(1).unwrap();
/// let (tx, rx) = std::sync::mpsc::channel();
/// let blocked = pool.spawn(async move { assert_eq!(block_in_place(|| rx.recv()), Ok(5)) });
/// // The only worker is blocked, yet this task still runs:
/// pool.spawn(async move { tx.send(5).unwrap() }).join().unwrap();
/// blocked.join().unwrap();
/// ```
pub fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
    worker::hand_off_core();
    f()
}

/// The bytes one task running `F` takes with its `Arc`'s two counts (for size tests).
#[cfg(all(test, not(loom)))]
pub(crate) fn task_bytes<F: Future<Output = ()> + Send + 'static>() -> usize {
    std::mem::size_of::<Task<F>>() + 2 * std::mem::size_of::<usize>()
}
