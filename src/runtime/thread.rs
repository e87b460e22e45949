//! Thread-per-process: each process on its own OS thread, an async one under a minimal
//! executor on it.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use super::context;
use super::group::Group;
use super::par::{begin, guarded, span, Finished, Handle};
use super::process::{Body, Process};
use super::record::{ProcWaker, Record};

/// Starts `p` on a thread of its own.
pub(crate) fn start(p: Process, group: &Arc<Group>) -> Handle {
    let name = p.name.clone();
    let mut b = std::thread::Builder::new().name(name.clone());
    if let Some(s) = group.config.stack_size {
        b = b.stack_size(s);
    }
    let group = group.clone();
    match b.spawn(move || run_here(p, &group)) {
        Ok(h) => Handle::Thread(h),
        Err(e) => Handle::Failed(name, e),
    }
}

/// Runs `p` to its end on the calling thread.
pub(crate) fn run_here(p: Process, group: &Arc<Group>) -> Finished {
    let (begun, body) = begin(p, group);
    let entered = context::enter(&begun.rec);
    let span = span(&begun.rec.name);
    let result = span.in_scope(|| {
        guarded(|| match body {
            Body::Sync(f) => f(),
            Body::Async(fut) => block_on(fut, Some(&begun.rec)),
        })
    });
    drop(entered);
    begun.end(result)
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

/// Polls `fut` to completion on this thread, parking between polls. For a process's body
/// (`rec`), the record learns when it is parked, and its waker is the process's own (see
/// `ProcWaker`), so that the deadlock monitor can judge it.
pub(crate) fn block_on<F: Future>(fut: F, rec: Option<&Arc<Record>>) -> F::Output {
    if rec.is_none() && super::scheduler::on_worker() {
        // A blocking wait inside a green task: the worker's other tasks move on first.
        return super::scheduler::block_in_place(|| block_on(fut, None));
    }
    let thread = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let own = rec.map(|r| {
        let pw = r
            .driver
            .get_or_init(|| Arc::new(ProcWaker::new(thread.clone())));
        ProcWaker::borrowed(pw)
    });
    let mut cx = Context::from_waker(own.as_deref().unwrap_or(&thread));
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Some(r) = rec {
            r.set_parked(false);
        }
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        context::flush_current();
        if let Some(r) = rec {
            r.set_parked(true);
        }
        std::thread::park();
    }
}
