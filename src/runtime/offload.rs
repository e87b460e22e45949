//! The offload threads: where an async process runs the OS calls that may block (writing
//! to a pipe, reading stdin or a file), so that a green worker never waits on the OS.
//!
//! A small pool of threads, started on demand and ended after a while idle (as tokio's
//! `spawn_blocking` pool): a job never waits for a thread busy with another job, so a job
//! that blocks for long (a read of stdin) holds up nothing but itself.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::record::lock_std;
use super::scheduler;

type Job = Box<dyn FnOnce() + Send>;

/// An idle offload thread: a job handed to it, and its wake-up.
#[derive(Default)]
struct Slot {
    job: Mutex<Option<Job>>,
    cv: Condvar,
}

/// The idle threads. A job goes to one of them, or to a new thread: never into a queue
/// behind a busy one.
static IDLE: Mutex<Vec<Arc<Slot>>> = Mutex::new(Vec::new());

/// How long an offload thread waits for more work before it ends.
const KEEP: Duration = Duration::from_secs(10);

fn submit(job: Job) -> std::io::Result<()> {
    let idle = lock_std(&IDLE).pop();
    match idle {
        Some(slot) => {
            *lock_std(&slot.job) = Some(job);
            slot.cv.notify_one();
            Ok(())
        }
        None => std::thread::Builder::new()
            .name("occamy-offload".into())
            .spawn(move || run(job))
            .map(drop),
    }
}

fn run(first: Job) {
    let slot = Arc::new(Slot::default());
    let mut job = Some(first);
    while let Some(j) = job.take() {
        j();
        lock_std(&IDLE).push(slot.clone());
        {
            let g = lock_std(&slot.job);
            let (mut g, _) = slot
                .cv
                .wait_timeout_while(g, KEEP, |j| j.is_none())
                .unwrap_or_else(|e| e.into_inner());
            job = g.take();
        }
        if job.is_some() {
            continue;
        }
        // Idle for long: leave, unless a submitter has just taken this thread off the
        // idle list, in which case its job is on the way.
        let mut idle = lock_std(&IDLE);
        if let Some(i) = idle.iter().position(|s| Arc::ptr_eq(s, &slot)) {
            idle.remove(i);
            return;
        }
        drop(idle);
        let g = lock_std(&slot.job);
        let mut g = slot
            .cv
            .wait_while(g, |j| j.is_none())
            .unwrap_or_else(|e| e.into_inner());
        job = g.take();
    }
}

struct Shared<R> {
    result: Option<std::thread::Result<R>>,
    waker: Option<Waker>,
}

/// Future of [`offload`].
#[must_use = "futures do nothing unless polled"]
pub struct Offload<R> {
    shared: Option<Arc<Mutex<Shared<R>>>>,
    /// The job, until first polled.
    job: Option<Box<dyn FnOnce() -> R + Send>>,
}

impl<R> std::fmt::Debug for Offload<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Offload")
    }
}

impl<R> Unpin for Offload<R> {}

/// Runs `f`, which may block in the OS, where it holds up no other process: on an
/// offload thread when called from a green task, or right away otherwise (a thread
/// process may block its own thread). A panic in `f` is re-raised in the caller.
///
/// # Cancel safety
/// Dropping the future once `f` has started does not stop `f`; its result is dropped.
///
/// # Examples
/// ```
/// use occamy::{offload, Process, Runtime, Scheduler};
/// Runtime::new()
///     .scheduler(Scheduler::green())
///     .par([Process::new_async("writer", async {
///         offload(|| println!("written from an offload thread")).await;
///     })])
///     .unwrap();
/// ```
pub fn offload<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Offload<R> {
    Offload {
        shared: None,
        job: Some(Box::new(f)),
    }
}

impl<R: Send + 'static> Future for Offload<R> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let this = &mut *self;
        if let Some(job) = this.job.take() {
            if !scheduler::on_worker() {
                return Poll::Ready(job());
            }
            let shared = Arc::new(Mutex::new(Shared {
                result: None,
                waker: Some(cx.waker().clone()),
            }));
            let s = shared.clone();
            let submitted = submit(Box::new(move || {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                let w = {
                    let mut g = lock_std(&s);
                    g.result = Some(r);
                    g.waker.take()
                };
                if let Some(w) = w {
                    w.wake();
                }
            }));
            if let Err(e) = submitted {
                panic!("occamy: cannot start an offload thread: {e}");
            }
            this.shared = Some(shared);
            return Poll::Pending;
        }
        let shared = this
            .shared
            .as_ref()
            .expect("Offload polled after completion");
        let mut g = lock_std(shared);
        match g.result.take() {
            Some(Ok(r)) => {
                drop(g);
                this.shared = None;
                Poll::Ready(r)
            }
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => {
                g.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
