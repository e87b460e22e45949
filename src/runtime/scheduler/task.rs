//! A task: one allocation holding the state word, the join slot and the future, plus the
//! registry of live tasks that lets a pool drop pending futures when it shuts down.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::state::{AfterPoll, State};
use super::{lock, worker, Shared};

/// How a task ended, as [`JoinHandle::join`](super::JoinHandle::join) reports it.
pub(super) type Outcome = Result<(), Box<dyn Any + Send>>;

/// The payload of the `Err` a task cancelled by its pool's shutdown reports.
pub(super) const CANCELLED: &str = "occamy scheduler: task cancelled (its pool shut down)";

pub(super) struct Header {
    state: State,
    /// Turns a pointer to this header back into the task's `TaskRef` (see `into_thin`).
    rebuild: unsafe fn(*const Header) -> TaskRef,
    /// Slot in the registry; written once, before the task is first queued.
    key: Cell<usize>,
    pub(super) shared: Arc<Shared>,
    join: Mutex<JoinSlot>,
}

// SAFETY: `key` is written only by the spawning thread before the task is published (the
// queue push and the registry lock order that write before every read).
unsafe impl Sync for Header {}

#[derive(Default)]
struct JoinSlot {
    outcome: Option<Outcome>,
    taken: bool,
    waker: Option<Waker>,
}

thread_local! {
    /// The task being polled on this thread whose queue entry's count may be *donated*
    /// (its address; null: none, or already taken). See [`take_run_count`].
    static RUN: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// Takes the count the running task's queue entry holds, for a waker of that task to be
/// stored somewhere (a channel wait: `runtime::context::wait_waker`), if `data` is the
/// running task's waker data and no one took it yet during this poll. `true`: the caller
/// owns one count of the task without incrementing it (`Waker::new` over the task's raw
/// parts), and the run, which would have dropped that count when the poll went idle,
/// keeps its hands off it. A task that waits once per poll (a process blocked on one
/// channel) so costs no reference-count traffic at all: the wait's waker carries the
/// count into the wake, the wake into the run queue, the run into the next wait.
pub(crate) fn take_run_count(data: *const ()) -> bool {
    RUN.with(|r| {
        let mine = !data.is_null() && std::ptr::eq(r.get(), data);
        if mine {
            r.set(std::ptr::null());
        }
        mine
    })
}

/// The type-erased face of a task, as run queues and join handles hold it.
pub(super) trait Runnable: Send + Sync + 'static {
    fn header(&self) -> &Header;
    /// Polls the task once. Called only by the holder of its (single) queue entry.
    fn run(self: Arc<Self>);
    /// Drops the future if no one is running it (pool shutdown); a running task is
    /// cancelled by its runner when the poll returns (see `run`).
    fn cancel(self: Arc<Self>);
}

pub(super) type TaskRef = Arc<dyn Runnable>;

/// A `TaskRef` as one thin pointer (its header's address), for a slot that must be a
/// single atomic word (the run-next slot: a swap instead of a lock and an unlock on every
/// wake and every pick). The count the `TaskRef` held moves into the pointer.
pub(super) fn into_thin(t: TaskRef) -> *mut Header {
    // The header is the first field of a `#[repr(C)]` task: the data pointer is its address.
    Arc::into_raw(t) as *const Header as *mut Header
}

/// Takes back the count that [`into_thin`] put in `p` (null: none).
///
/// # Safety
/// `p` is null or came from `into_thin`, and its count is taken back only once.
pub(super) unsafe fn from_thin(p: *mut Header) -> Option<TaskRef> {
    // SAFETY: a live task's header (the pointer's count keeps it alive).
    (!p.is_null()).then(|| unsafe { ((*p).rebuild)(p) })
}

#[repr(C)]
pub(super) struct Task<F> {
    header: Header,
    future: UnsafeCell<Option<F>>,
}

// SAFETY: the future is touched only by the thread that holds RUNNING (a CAS grants it to
// one thread at a time); everything else in the task is Sync.
unsafe impl<F: Send> Sync for Task<F> {}

impl<F: Future<Output = ()> + Send + 'static> Task<F> {
    const VTABLE: RawWakerVTable = RawWakerVTable::new(
        Self::waker_clone,
        Self::waker_wake,
        Self::waker_wake_by_ref,
        Self::waker_drop,
    );

    /// A new task, counted as SCHEDULED: the spawner queues it.
    pub(super) fn new(shared: Arc<Shared>, future: F) -> Arc<Self> {
        Arc::new(Task {
            header: Header {
                state: State::new_scheduled(),
                rebuild: Self::rebuild,
                key: Cell::new(usize::MAX),
                shared,
                join: Mutex::new(JoinSlot::default()),
            },
            future: UnsafeCell::new(Some(future)),
        })
    }

    /// See `from_thin`.
    unsafe fn rebuild(p: *const Header) -> TaskRef {
        // SAFETY: `p` is the address of a `Task<F>` (its header is at offset 0) whose count
        // `into_thin` kept.
        unsafe { Arc::from_raw(p.cast::<Self>()) }
    }

    unsafe fn waker_clone(p: *const ()) -> RawWaker {
        // SAFETY: `p` came from `Arc::as_ptr` of a live task (the waker holds a count).
        unsafe { Arc::increment_strong_count(p.cast::<Self>()) };
        RawWaker::new(p, &Self::VTABLE)
    }

    unsafe fn waker_wake(p: *const ()) {
        // SAFETY: as above; this consumes the waker's count.
        let task = unsafe { Arc::from_raw(p.cast::<Self>()) };
        if task.header.state.wake() {
            // The waker's count becomes the queue entry's: no clone, and no drop.
            worker::schedule(task, false);
        }
    }

    unsafe fn waker_wake_by_ref(p: *const ()) {
        // SAFETY: as above; the waker keeps its count.
        let task = ManuallyDrop::new(unsafe { Arc::from_raw(p.cast::<Self>()) });
        Self::wake_by_ref(&task);
    }

    unsafe fn waker_drop(p: *const ()) {
        // SAFETY: as above; releases the waker's count.
        unsafe { Arc::decrement_strong_count(p.cast::<Self>()) };
    }

    fn wake_by_ref(this: &Arc<Self>) {
        if this.header.state.wake() {
            worker::schedule(this.clone(), false);
        }
    }

    /// Stores the outcome, wakes the joiner, leaves the registry. Called by the holder of
    /// RUNNING, after the future has been dropped.
    fn complete(&self, outcome: Outcome) {
        let waker = {
            let mut j = lock(&self.header.join);
            j.outcome = Some(outcome);
            j.waker.take()
        };
        self.header.state.complete();
        if let Some(w) = waker {
            w.wake();
        }
        self.header.shared.registry.remove(self.header.key.get());
    }

    /// Drops the future (catching a panic in its destructor). Caller holds RUNNING.
    fn drop_future(&self) -> Result<(), Box<dyn Any + Send>> {
        // SAFETY: RUNNING is ours, so no other thread touches the future.
        catch_unwind(AssertUnwindSafe(|| unsafe { *self.future.get() = None }))
    }
}

impl<F: Future<Output = ()> + Send + 'static> Runnable for Task<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn run(self: Arc<Self>) {
        if !self.header.state.start_run() {
            return; // claimed by the shutdown sweep while queued
        }
        // A borrowed waker: no reference-count traffic unless the future clones it.
        let waker = ManuallyDrop::new(unsafe {
            // SAFETY: `self` outlives the poll, and the vtable treats the pointer as an Arc.
            Waker::from_raw(RawWaker::new(Arc::as_ptr(&self).cast(), &Self::VTABLE))
        });
        let mut cx = Context::from_waker(&waker);
        let me = Arc::as_ptr(&self).cast::<()>();
        let outer = RUN.with(|r| r.replace(me));
        let polled = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: RUNNING is ours; the future is never moved (it lives in the Arc).
            match unsafe { &mut *self.future.get() } {
                Some(f) => unsafe { Pin::new_unchecked(f) }.poll(&mut cx),
                None => Poll::Ready(()),
            }
        }));
        let donated = RUN.with(|r| r.replace(outer)).is_null();
        if donated {
            // The queue entry's count went to a waker (`take_run_count`), which another
            // thread may wake, and so drop, at any moment. `self` stays valid all the
            // same: only a process's channel wait takes the count, and that process's
            // record holds a counted waker of this task (its driver's) for as long as
            // the future lives, which only this runner can end while it runs. The paths
            // below that need a count of their own (a re-queue, a completion) take a
            // fresh one; the idle path, the common one, none.
            if !matches!(polled, Ok(Poll::Pending)) {
                // SAFETY: the task is alive (see above); this is the count `self` drops.
                unsafe { Arc::increment_strong_count(Arc::as_ptr(&self)) };
            }
        }
        match polled {
            Ok(Poll::Pending) => match self.header.state.end_poll() {
                AfterPoll::Idle => {
                    if donated {
                        std::mem::forget(self);
                    }
                }
                AfterPoll::Requeue if donated => {
                    // SAFETY: as above: a count for the queue entry.
                    unsafe { Arc::increment_strong_count(Arc::as_ptr(&self)) };
                    worker::schedule(self, true)
                }
                AfterPoll::Cancel if donated => {
                    // SAFETY: as above: the count `self` drops after completing.
                    unsafe { Arc::increment_strong_count(Arc::as_ptr(&self)) };
                    let _ = self.drop_future();
                    self.complete(Err(Box::new(CANCELLED)));
                }
                // Woken while it ran (by itself, i.e. a yield, or by another thread):
                // behind the queue, not into the run-next slot, which a self-waking task
                // would otherwise monopolise.
                AfterPoll::Requeue => worker::schedule(self, true),
                AfterPoll::Cancel => {
                    let _ = self.drop_future();
                    self.complete(Err(Box::new(CANCELLED)));
                }
            },
            Ok(Poll::Ready(())) => {
                let dropped = self.drop_future();
                self.complete(dropped);
            }
            Err(panic) => {
                let _ = self.drop_future();
                self.complete(Err(panic));
            }
        }
    }

    fn cancel(self: Arc<Self>) {
        if !self.header.state.claim() {
            return;
        }
        let _ = self.drop_future();
        self.complete(Err(Box::new(CANCELLED)));
    }
}

impl Header {
    pub(super) fn is_complete(&self) -> bool {
        self.state.is_complete()
    }

    /// The join handle's poll: the outcome once, or registers `waker`.
    pub(super) fn poll_join(&self, waker: &Waker) -> Poll<Outcome> {
        let mut j = lock(&self.join);
        if let Some(o) = j.outcome.take() {
            j.taken = true;
            return Poll::Ready(o);
        }
        assert!(!j.taken, "JoinHandle polled after it returned its outcome");
        // Under the lock that `complete` takes to store the outcome: no lost wake-up.
        match &mut j.waker {
            Some(w) if w.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
        Poll::Pending
    }
}

// ------------------------------------------------------------------------------ registry

const SHARDS: usize = 16;

/// Every live task, so that shutdown can drop futures that will never be woken (their
/// wakers may sit in channels that only other pending tasks hold: a cycle of Arcs that
/// would otherwise leak). Sharded to keep spawn and completion off a single lock.
pub(super) struct Registry {
    shards: Box<[Mutex<Shard>]>,
}

#[derive(Default)]
struct Shard {
    slots: Vec<Option<TaskRef>>,
    free: Vec<usize>,
    closed: bool,
}

thread_local! {
    static NEXT_SHARD: Cell<usize> = const { Cell::new(0) };
}

impl Registry {
    pub(super) fn new() -> Registry {
        Registry {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// Adds a task; gives it back if the pool has shut down (the closed flag is read under
    /// the shard lock that the shutdown sweep takes, so no task slips past the sweep).
    pub(super) fn insert(&self, task: TaskRef) -> Result<(), TaskRef> {
        let shard = NEXT_SHARD.with(|n| {
            let s = n.get();
            n.set(s.wrapping_add(1));
            s % SHARDS
        });
        let mut sh = lock(&self.shards[shard]);
        if sh.closed {
            return Err(task);
        }
        let idx = match sh.free.pop() {
            Some(i) => i,
            None => {
                sh.slots.push(None);
                sh.slots.len() - 1
            }
        };
        task.header().key.set(idx * SHARDS + shard);
        sh.slots[idx] = Some(task);
        Ok(())
    }

    fn remove(&self, key: usize) {
        let taken = {
            let mut sh = lock(&self.shards[key % SHARDS]);
            let idx = key / SHARDS;
            let t = sh.slots.get_mut(idx).and_then(Option::take);
            // After the sweep the slot is already empty and is never reused.
            if t.is_some() {
                sh.free.push(idx);
            }
            t
        };
        drop(taken); // outside the lock: this may be the last count of the task
    }

    /// Closes the registry and takes every task out of it.
    pub(super) fn close(&self) -> Vec<TaskRef> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let mut sh = lock(shard);
            sh.closed = true;
            all.extend(sh.slots.drain(..).flatten());
            sh.free.clear();
        }
        all
    }
}
