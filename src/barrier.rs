//! Barriers with enrolment and resignation (occam-pi `BARRIER`, JCSP `Barrier`).

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::loom::{lock, Mutex};
use crate::runtime::context::{self, Waiting};
use crate::wait::{Outcome, Signal, WaitOn};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

struct State {
    enrolled: usize,
    arrived: Vec<Arc<Signal>>,
    poisoned: bool,
}

pub(crate) struct Shared {
    pub(crate) id: u64,
    name: std::sync::OnceLock<String>,
    state: Mutex<State>,
}

/// Poisons a barrier (for a failing process that holds it).
pub(crate) fn poison_shared(s: &Shared) {
    let mut st = lock(&s.state);
    st.poisoned = true;
    let all = std::mem::take(&mut st.arrived);
    fire(&all, Outcome::Poisoned(0));
    drop(st);
    wake(all);
}

/// The barrier's name, or `#id`.
pub(crate) fn label(s: &Shared) -> String {
    s.name
        .get()
        .cloned()
        .unwrap_or_else(|| format!("#{}", s.id))
}

/// How many parties are enrolled.
pub(crate) fn enrolled(s: &Shared) -> usize {
    lock(&s.state).enrolled
}

/// One enrolled party of a barrier. [`sync`](Barrier::sync) waits until every enrolled
/// party has synced in this phase; then all go on together into the next phase.
///
/// [`enroll`](Barrier::enroll) (or `clone`) makes another party; dropping a handle (or
/// [`resign`](Barrier::resign)) resigns it, and a phase waiting only for resigned parties
/// completes. A handle is one party, so it is `Send` (move it into the process that syncs)
/// but not `Sync`.
///
/// # Examples
/// ```
/// let b = occamy::Barrier::new();
/// let others: Vec<_> = (0..3).map(|_| b.enroll()).collect();
/// let threads: Vec<_> = others
///     .into_iter()
///     .map(|p| std::thread::spawn(move || { p.sync().unwrap(); p.sync().unwrap(); }))
///     .collect();
/// b.sync().unwrap(); // phase 1: all four arrive
/// b.sync().unwrap(); // phase 2
/// for t in threads { t.join().unwrap(); }
/// ```
pub struct Barrier {
    pub(crate) shared: Arc<Shared>,
    /// The process this enrolment is registered with (0: none yet). A `Cell` also makes
    /// the handle `!Sync`: it is one party.
    owner: Cell<u64>,
}

/// A sync on a poisoned barrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierPoisoned;

impl fmt::Display for BarrierPoisoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("syncing on a poisoned barrier")
    }
}

impl std::error::Error for BarrierPoisoned {}

impl Default for Barrier {
    fn default() -> Self {
        Barrier::new()
    }
}

impl Barrier {
    /// A barrier with one party enrolled: this handle.
    pub fn new() -> Barrier {
        Barrier {
            shared: Arc::new(Shared {
                id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                name: std::sync::OnceLock::new(),
                state: Mutex::new(State {
                    enrolled: 1,
                    arrived: Vec::new(),
                    poisoned: false,
                }),
            }),
            owner: Cell::new(0),
        }
    }

    /// Enrolls one more party and returns its handle. The new party takes part from the
    /// current phase on.
    pub fn enroll(&self) -> Barrier {
        lock(&self.shared.state).enrolled += 1;
        Barrier {
            shared: self.shared.clone(),
            owner: Cell::new(0),
        }
    }

    /// Resigns this party (the same as dropping the handle).
    pub fn resign(self) {
        drop(self)
    }

    /// How many parties are enrolled.
    pub fn enrolled(&self) -> usize {
        lock(&self.shared.state).enrolled
    }

    /// Waits until every enrolled party has synced.
    ///
    /// # Blocking
    /// Blocks until the last enrolled party of this phase syncs (or resigns). Returns
    /// `Err(BarrierPoisoned)` at once if the barrier is or becomes poisoned.
    pub fn sync(&self) -> Result<(), BarrierPoisoned> {
        self.register();
        let sig = match arrive(&self.shared, || Signal::thread(context::current_id()))? {
            None => return Ok(()),
            Some(sig) => sig,
        };
        let on = [WaitOn::Barrier { id: self.shared.id }];
        match sig.block(None, true, |sleep| {
            context::park(&on, Some(&sig), None, sleep)
        }) {
            Outcome::Ready(_) => Ok(()),
            _ => Err(BarrierPoisoned),
        }
    }

    /// The async form of [`sync`](Barrier::sync): completes when every enrolled party has
    /// synced.
    ///
    /// # Cancel safety
    /// Dropping the future before the phase completes withdraws this party's arrival: it
    /// has not synced, and the phase still waits for it.
    ///
    /// # Examples
    /// ```
    /// let b = occamy::Barrier::new();
    /// let other = b.enroll();
    /// let t = std::thread::spawn(move || other.sync());
    /// futures::executor::block_on(b.sync_async()).unwrap();
    /// t.join().unwrap().unwrap();
    /// ```
    pub fn sync_async(&self) -> SyncFuture<'_> {
        self.register();
        SyncFuture {
            shared: self.shared.clone(),
            sig: None,
            done: false,
            mark: None,
            _party: PhantomData,
        }
    }

    /// Registers the party with the running process, the first time it syncs there.
    fn register(&self) {
        let cur = context::current_id();
        if cur != 0 && self.owner.get() != cur {
            let from = self.owner.replace(cur);
            context::register_barrier(self.shared.clone(), from);
        }
    }

    /// Makes process `owner` this enrolment's owner; returns the previous one.
    pub(crate) fn claim(&self, owner: u64) -> u64 {
        self.owner.replace(owner)
    }

    /// Poisons the barrier: every waiting and every later sync fails.
    pub fn poison(&self) {
        poison_shared(&self.shared);
    }

    /// Names the barrier, for deadlock reports and graphs (the first name given wins).
    pub fn set_name(&self, name: impl Into<String>) {
        let _ = self.shared.name.set(name.into());
    }

    /// The barrier's name, or `#id`.
    pub fn label(&self) -> String {
        label(&self.shared)
    }

    /// A number naming the barrier, unique in this program.
    pub fn id(&self) -> u64 {
        self.shared.id
    }
}

/// Completes the parties of a phase. Called with the state locked, so that a dropped
/// `SyncFuture`, which withdraws under the same lock, either withdraws before the phase
/// is counted or finds that it has completed.
fn fire(all: &[Arc<Signal>], o: Outcome) {
    for s in all {
        s.fire(o);
    }
}

fn wake(all: Vec<Arc<Signal>>) {
    for s in &all {
        s.wake();
    }
}

/// Arrives at the current phase: `None` if this arrival completed it, or the signal
/// (made by `make`) to wait on.
fn arrive(
    shared: &Shared,
    make: impl FnOnce() -> Signal,
) -> Result<Option<Arc<Signal>>, BarrierPoisoned> {
    let mut st = lock(&shared.state);
    if st.poisoned {
        return Err(BarrierPoisoned);
    }
    if st.arrived.len() + 1 >= st.enrolled {
        let all = std::mem::take(&mut st.arrived);
        fire(&all, Outcome::Ready(0));
        drop(st);
        wake(all);
        return Ok(None);
    }
    let sig = Arc::new(make());
    st.arrived.push(sig.clone());
    Ok(Some(sig))
}

/// Future of [`Barrier::sync_async`].
#[must_use = "futures do nothing unless polled"]
pub struct SyncFuture<'a> {
    // The shared state rather than the handle: a handle is `!Sync`, and the future must
    // be `Send` to run in a task. It still borrows the handle, so that the party cannot
    // resign while it waits.
    shared: Arc<Shared>,
    sig: Option<Arc<Signal>>,
    done: bool,
    mark: Option<Waiting>,
    _party: PhantomData<&'a ()>,
}

impl fmt::Debug for SyncFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SyncFuture(Barrier#{})", self.shared.id)
    }
}

impl Future for SyncFuture<'_> {
    type Output = Result<(), BarrierPoisoned>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        assert!(!this.done, "SyncFuture polled after completion");
        let sig = match &this.sig {
            Some(sig) => {
                sig.set_waker(cx.waker());
                sig.clone()
            }
            None => match arrive(&this.shared, || {
                Signal::task(cx.waker(), context::current_id())
            }) {
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Err(e));
                }
                Ok(None) => {
                    this.done = true;
                    return Poll::Ready(Ok(()));
                }
                Ok(Some(sig)) => {
                    let on = [WaitOn::Barrier { id: this.shared.id }];
                    this.mark = Some(context::pending_on(&on, Some(&sig)));
                    this.sig = Some(sig.clone());
                    sig
                }
            },
        };
        match sig.outcome() {
            None => Poll::Pending,
            Some(o) => {
                this.done = true;
                this.mark = None;
                Poll::Ready(match o {
                    Outcome::Ready(_) => Ok(()),
                    _ => Err(BarrierPoisoned),
                })
            }
        }
    }
}

impl Drop for SyncFuture<'_> {
    fn drop(&mut self) {
        if let (Some(sig), false) = (self.sig.take(), self.done) {
            let mut st = lock(&self.shared.state);
            if sig.withdraw().is_ok() {
                st.arrived.retain(|s| !Arc::ptr_eq(s, &sig));
            }
        }
    }
}

impl crate::runtime::held::Enrolment for Shared {
    fn id(&self) -> u64 {
        self.id
    }
    fn label(&self) -> String {
        label(self)
    }
    fn enrolled(&self) -> usize {
        enrolled(self)
    }
    fn poison(&self) {
        poison_shared(self)
    }
}

impl Clone for Barrier {
    /// Enrolls another party, as [`Barrier::enroll`].
    fn clone(&self) -> Self {
        self.enroll()
    }
}

impl Drop for Barrier {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.poison();
            return;
        }
        let mut st = lock(&self.shared.state);
        st.enrolled -= 1;
        if st.enrolled > 0 && !st.arrived.is_empty() && st.arrived.len() >= st.enrolled {
            let all = std::mem::take(&mut st.arrived);
            fire(&all, Outcome::Ready(0));
            drop(st);
            wake(all);
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Barrier#{}", self.shared.id)
    }
}
