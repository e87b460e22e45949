//! Async processes as green tasks: each runs on the run's pool of worker threads
//! (`scheduler`), with the process's record made current around every poll.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::context;
use super::error::Error;
use super::group::Group;
use super::par::{begin, guarded, span, Begun, Finished};
use super::process::{AsyncBody, Body, Process};
use super::record::ProcWaker;
use super::record::Record;
use super::scheduler::{JoinHandle, Pool};

/// A green process, to be joined: the pool's handle, and its record, where the task
/// leaves how the process ended (`Record::failure`). Kept small: a run holds one per
/// process.
pub(crate) struct Task {
    join: JoinHandle,
    rec: Arc<Record>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Task({})", self.rec.name)
    }
}

impl Task {
    pub(crate) fn join(self) -> Finished {
        // The task catches its body's panics itself; an error here means the pool shut
        // down before the task ended, which `conclude` reports below.
        let joined = self.join.join();
        if let Some(f) = self.rec.take_failure() {
            let (seq, failure) = *f;
            return Some((seq, self.rec.name.to_string(), failure));
        }
        match self.rec.end() {
            Some(_) => None,
            None => Some((
                0,
                self.rec.name.to_string(),
                super::error::Failure::Panic(match joined {
                    Err(_) => "its scheduler stopped before it ended".into(),
                    Ok(()) => "it ended without a result".into(),
                }),
            )),
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}

/// Starts the async process `p` as a task on `pool`.
pub(crate) fn start(p: Process, group: &Arc<Group>, pool: &Pool) -> Task {
    let (begun, body) = begin(p, group);
    let Body::Async(fut) = body else {
        unreachable!("only async processes run as tasks")
    };
    let rec = begun.rec.clone();
    let span = Some(span(&rec.name))
        .filter(|s| !s.is_disabled())
        .map(Box::new);
    let join = pool.spawn(ProcessTask {
        begun: Some(begun),
        fut,
        span,
    });
    Task { join, rec }
}

struct ProcessTask {
    begun: Option<Begun>,
    fut: AsyncBody,
    /// Boxed, and only when a subscriber wants it: a span is 40 bytes, and a run holds a
    /// task per process.
    span: Option<Box<tracing::Span>>,
}

impl Future for ProcessTask {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let Some(begun) = &this.begun else {
            return Poll::Ready(());
        };
        let rec = &begun.rec;
        // The process's own waker, wrapping the pool's (see `ProcWaker`), kept by the
        // record alone.
        let pw = rec
            .driver
            .get_or_init(|| Arc::new(ProcWaker::new(cx.waker().clone())));
        let waker = ProcWaker::borrowed(pw);
        let mut inner = Context::from_waker(&waker);
        rec.set_parked(false);
        let result: std::thread::Result<Poll<Result<(), Error>>> = {
            let _entered = context::enter(rec);
            let _span = this.span.as_ref().map(|s| s.enter());
            guarded(|| this.fut.as_mut().poll(&mut inner))
        };
        let result = match result {
            Ok(Poll::Pending) => {
                // Let go of dropped ends before the process counts as parked.
                rec.flush_if_any();
                rec.set_parked(true);
                return Poll::Pending;
            }
            Ok(Poll::Ready(r)) => Ok(r),
            Err(panic) => Err(panic),
        };
        let begun = this.begun.take().expect("polled once more after its end");
        let rec = begun.rec.clone();
        if let Some((seq, _, failure)) = begun.end(result) {
            rec.set_failure(seq, failure);
        }
        Poll::Ready(())
    }
}

#[cfg(all(test, not(loom), target_pointer_width = "64"))]
mod size {
    /// A network of a million processes has a million tasks: with its `Arc`'s counts, a
    /// process's task must fit the allocator's 160-byte class (it took 168 bytes, the
    /// 192-byte class, while the driver kept a second copy of the process's waker).
    #[test]
    fn a_process_task_fits_its_budget() {
        let n = crate::runtime::scheduler::task_bytes::<super::ProcessTask>();
        assert!(n <= 160, "a process's task takes {n} bytes");
    }
}
