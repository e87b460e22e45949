//! Barriers with enrolment and resignation (occam-pi `BARRIER`, JCSP `Barrier`).

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::loom::{lock, Mutex};
use crate::runtime::context::{self, Waiting};
use crate::wait::{Outcome, Signal, WaitOn};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

struct State {
    enrolled: usize,
    arrived: Vec<Arc<Signal>>,
    poisoned: bool,
    /// Parties on other ranks too (`mpi::World::barrier`): a phase completes only when
    /// they have arrived as well.
    gate: Option<Gate>,
}

/// The cross-rank side of a barrier whose parties are on several ranks. When every local
/// party of a phase has arrived, the phase is *held*: the rank's proxy (woken by `waker`)
/// reports it to the other ranks, and the phase completes here when the proxy has heard
/// that every other rank's parties have arrived ([`release`]). A held phase cannot
/// be taken back (the other ranks may already count it): a party enrolled while it is
/// held, or a `SyncFuture` dropped and made again, arrives for the next phase (`next`).
struct Gate {
    waker: Waker,
    held: bool,
    next: Vec<Arc<Signal>>,
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
    let mut all = std::mem::take(&mut st.arrived);
    let proxy = st.gate.as_mut().map(|g| {
        all.append(&mut g.next);
        g.waker.clone()
    });
    fire(&all, Outcome::Poisoned(0));
    drop(st);
    wake(all);
    if let Some(w) = proxy {
        w.wake();
    }
}

/// The barrier's name, or `#id`.
pub(crate) fn label(s: &Shared) -> String {
    s.name
        .get()
        .cloned()
        .unwrap_or_else(|| format!("#{}", s.id))
}

/// How many parties are enrolled, for the deadlock monitor: a barrier with parties on
/// other ranks counts them as one more (they are not this rank's processes, and could
/// complete its phase), so that a rank's own monitor never judges a held phase stuck;
/// the cross-rank look takes that one off again and adds the ranks' counts.
pub(crate) fn enrolled(s: &Shared) -> usize {
    let st = lock(&s.state);
    st.enrolled + usize::from(st.gate.is_some())
}

/// Gives the barrier parties on other ranks: from now on a phase completes only once the
/// proxy behind `waker` calls [`release`]. Made before any party syncs; `false` (and
/// nothing changed) if the barrier has such parties already.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))] // its one user: `mpi::World::barrier`
pub(crate) fn gate(s: &Shared, waker: Waker) -> bool {
    let mut st = lock(&s.state);
    if st.gate.is_some() {
        return false;
    }
    st.gate = Some(Gate {
        waker,
        held: false,
        next: Vec::new(),
    });
    true
}

/// What a gated barrier's proxy needs to know: whether a phase is held, how many local
/// parties are enrolled, whether it is poisoned.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))] // its one user: `mpi::World::barrier`
pub(crate) fn gate_state(s: &Shared) -> (bool, usize, bool) {
    let st = lock(&s.state);
    (
        st.gate.as_ref().is_some_and(|g| g.held),
        st.enrolled,
        st.poisoned,
    )
}

/// Every rank's parties have arrived: completes the held phase's local parties. Those
/// that arrived for the next phase meanwhile make it, held at once if complete (the
/// proxy is woken to report it).
#[cfg_attr(not(feature = "mpi"), allow(dead_code))] // its one user: `mpi::World::barrier`
pub(crate) fn release(s: &Shared) {
    let mut guard = lock(&s.state);
    let st = &mut *guard;
    let Some(g) = st.gate.as_mut() else {
        return;
    };
    if !g.held || st.poisoned {
        return;
    }
    let all = std::mem::replace(&mut st.arrived, std::mem::take(&mut g.next));
    g.held = !st.arrived.is_empty() && st.arrived.len() >= st.enrolled;
    let proxy = g.held.then(|| g.waker.clone());
    fire(&all, Outcome::Ready(0));
    drop(guard);
    wake(all);
    if let Some(w) = proxy {
        w.wake();
    }
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
                    gate: None,
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

    /// How many parties are enrolled (on a barrier joined across ranks: on this rank).
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
        let (sig, remote) = match arrive(&self.shared, || Signal::thread(context::current_id()))? {
            None => return Ok(()),
            Some(sig) => sig,
        };
        let on = [WaitOn::Barrier { id: self.shared.id }];
        // With parties on other ranks, what completes the phase comes through the MPI
        // engine: no spin (the release is a round trip away), and the thread drives the
        // engine while it waits, as on a link.
        match sig.block(None, !remote, |sleep| {
            context::park(&on, Some(&sig), remote.then_some(None), sleep)
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
    /// has not synced, and the phase still waits for it. On a barrier joined across ranks
    /// (`mpi::World::barrier`, feature `mpi`) that holds until
    /// every party on this rank has arrived: the phase is then reported to the other
    /// ranks, and the arrival stands (a new sync is for the next phase).
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
/// (made by `make`) to wait on, and whether the barrier has parties on other ranks.
fn arrive(
    shared: &Shared,
    make: impl FnOnce() -> Signal,
) -> Result<Option<(Arc<Signal>, bool)>, BarrierPoisoned> {
    let mut guard = lock(&shared.state);
    let st = &mut *guard;
    if st.poisoned {
        return Err(BarrierPoisoned);
    }
    if let Some(g) = &mut st.gate {
        let sig = Arc::new(make());
        if g.held {
            g.next.push(sig.clone());
            return Ok(Some((sig, true)));
        }
        st.arrived.push(sig.clone());
        if st.arrived.len() >= st.enrolled {
            g.held = true;
            let proxy = g.waker.clone();
            drop(guard);
            proxy.wake();
        }
        return Ok(Some((sig, true)));
    }
    if st.arrived.len() + 1 >= st.enrolled {
        let all = std::mem::take(&mut st.arrived);
        fire(&all, Outcome::Ready(0));
        drop(guard);
        wake(all);
        return Ok(None);
    }
    let sig = Arc::new(make());
    st.arrived.push(sig.clone());
    Ok(Some((sig, false)))
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
                Ok(Some((sig, _))) => {
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
                // A held phase keeps its count (the other ranks may have it already):
                // taking the arrival out of it only spares the party a wake.
                st.arrived.retain(|s| !Arc::ptr_eq(s, &sig));
                if let Some(g) = &mut st.gate {
                    g.next.retain(|s| !Arc::ptr_eq(s, &sig));
                }
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
        let mut guard = lock(&self.shared.state);
        let st = &mut *guard;
        st.enrolled -= 1;
        if let Some(g) = &mut st.gate {
            // The phase may now be complete here, or this rank has no parties left: the
            // proxy tells the other ranks either.
            if !g.held && !st.arrived.is_empty() && st.arrived.len() >= st.enrolled {
                g.held = true;
            }
            let proxy = g.waker.clone();
            drop(guard);
            proxy.wake();
            return;
        }
        if st.enrolled > 0 && !st.arrived.is_empty() && st.arrived.len() >= st.enrolled {
            let all = std::mem::take(&mut st.arrived);
            fire(&all, Outcome::Ready(0));
            drop(guard);
            wake(all);
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Barrier#{}", self.shared.id)
    }
}

/// Loom models of a barrier joined across ranks (`RUSTFLAGS="--cfg loom" cargo test
/// --release --lib gate`): the phase is held exactly when every local party has arrived
/// or resigned, whichever comes last, the proxy is woken for it, and its release (or
/// poison) completes every party that waits, whoever races.
#[cfg(all(test, loom))]
mod gate_models {
    use super::*;
    use loom::sync::{Condvar, Mutex as LoomMutex};
    use loom::thread;

    /// The proxy's waker: sets a flag and wakes the proxy's thread.
    struct Flag(LoomMutex<bool>, Condvar);

    impl std::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            *self.0.lock().unwrap() = true;
            self.1.notify_one();
        }
    }

    /// A barrier of two local parties, gated, and its proxy's waker.
    fn gated() -> (Barrier, Barrier, Arc<Flag>) {
        let main = Barrier::new();
        let other = main.enroll();
        let flag = Arc::new(Flag(LoomMutex::new(false), Condvar::new()));
        assert!(gate(&main.shared, Waker::from(flag.clone())));
        (main, other, flag)
    }

    /// The proxy's side, as the engine runs it: polled only when woken, until the phase
    /// is held or the barrier poisoned; releases a held phase. Whether it was held. A
    /// held phase whose wake never came would leave it asleep (loom fails the model).
    fn proxy(s: &Shared, flag: &Flag) -> bool {
        loop {
            let mut woken = flag.0.lock().unwrap();
            while !*woken {
                woken = flag.1.wait(woken).unwrap();
            }
            *woken = false;
            drop(woken);
            let (held, _, poisoned) = gate_state(s);
            if held {
                release(s);
                return true;
            }
            if poisoned {
                return false;
            }
        }
    }

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(3);
        b.check(f);
    }

    #[test]
    fn gate_arrival_versus_resignation() {
        model(|| {
            let (main, other, flag) = gated();
            let s = main.shared.clone();
            let t = thread::spawn(move || other.sync());
            drop(main);
            assert!(proxy(&s, &flag));
            assert_eq!(t.join().unwrap(), Ok(()));
            assert!(
                !gate_state(&s).0,
                "released, and held again with nobody arrived"
            );
        });
    }

    #[test]
    fn gate_release_versus_poison() {
        model(|| {
            let (main, other, flag) = gated();
            let s = main.shared.clone();
            let t = thread::spawn(move || other.sync());
            let p = thread::spawn({
                let s = s.clone();
                move || poison_shared(&s)
            });
            let pr = thread::spawn({
                let s = s.clone();
                move || proxy(&s, &flag)
            });
            let r = main.sync();
            p.join().unwrap();
            let released = pr.join().unwrap();
            let o = t.join().unwrap();
            // Both parties see the same end of the phase, and only a release ends it well.
            assert_eq!(r, o);
            assert!(r.is_err() || released);
        });
    }
}
