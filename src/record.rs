//! What the runtime knows of every running process: its name, the channel ends and
//! barriers it holds, what it waits on while blocked, and how it ended. The graph
//! exporter and the deadlock detector read these records; channel operations write them
//! only on the slow path (around a wait) and on an end's first use.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::barrier::Barrier;
use crate::channel::{Core, Receiver, Sender};
use crate::deadlock::{DeadlockReport, OnDeadlock};
use crate::process::ProcessEnd;
use crate::wait::{Direction, Signal, WaitOn};

pub(crate) fn lock_std<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Something a process holds.
#[derive(Clone)]
pub(crate) enum Held {
    Chan(Arc<Core>, Direction),
    Barrier(Arc<crate::barrier::Shared>),
}

impl Held {
    fn same(&self, other: &Held) -> bool {
        match (self, other) {
            (Held::Chan(a, d), Held::Chan(b, e)) => Arc::ptr_eq(a, b) && d == e,
            (Held::Barrier(a), Held::Barrier(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// What a blocked process waits on, and since when.
#[derive(Default)]
pub(crate) struct Wait {
    pub(crate) on: Vec<WaitOn>,
    /// The signal it waits on: fired means it is about to wake.
    pub(crate) sig: Option<Arc<Signal>>,
    /// Bumped at every wait, so a checker can tell "still blocked" from "blocked again".
    pub(crate) seq: u64,
}

/// The processes started by one `par` (or `spawn`), and what happened to them as a whole.
pub(crate) struct Group {
    pub(crate) records: Mutex<Vec<Arc<Record>>>,
    pub(crate) deadlock: Mutex<Option<DeadlockReport>>,
    pub(crate) on_deadlock: OnDeadlock,
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Group({} processes)", lock_std(&self.records).len())
    }
}

impl Group {
    pub(crate) fn new(on_deadlock: OnDeadlock) -> Arc<Group> {
        Arc::new(Group {
            records: Mutex::new(Vec::new()),
            deadlock: Mutex::new(None),
            on_deadlock,
        })
    }
}

/// One running (or finished) process.
pub(crate) struct Record {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) group: Arc<Group>,
    pub(crate) held: Mutex<Vec<Held>>,
    pub(crate) wait: Mutex<Wait>,
    /// Ends dropped but not yet let go of (see [`defer_drop`]).
    pub(crate) pending: Mutex<Vec<(Arc<Core>, Direction)>>,
    pub(crate) end: Mutex<Option<ProcessEnd>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new process id: ids follow the order in which processes are declared, which is the
/// order reports list them in.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}
static LIVE: Mutex<Vec<Arc<Record>>> = Mutex::new(Vec::new());

thread_local! {
    static CURRENT: RefCell<Option<Arc<Record>>> = const { RefCell::new(None) };
}

impl Record {
    pub(crate) fn new(id: u64, name: String, group: Arc<Group>, held: Vec<Held>) -> Arc<Record> {
        let r = Arc::new(Record {
            id,
            name,
            group: group.clone(),
            held: Mutex::new(held),
            wait: Mutex::new(Wait::default()),
            pending: Mutex::new(Vec::new()),
            end: Mutex::new(None),
        });
        lock_std(&group.records).push(r.clone());
        r
    }

    /// Makes this the running process of the calling thread until the guard drops.
    pub(crate) fn enter(self: &Arc<Self>) -> Entered {
        lock_std(&LIVE).push(self.clone());
        crate::deadlock::ensure_monitor();
        let prev = CURRENT.with(|c| c.replace(Some(self.clone())));
        Entered {
            rec: self.clone(),
            prev,
        }
    }

    pub(crate) fn hold(&self, h: Held) {
        let mut held = lock_std(&self.held);
        if !held.iter().any(|x| x.same(&h)) {
            held.push(h);
        }
    }

    pub(crate) fn poison_held(&self) {
        let held = lock_std(&self.held).clone();
        for h in held {
            match h {
                Held::Chan(core, _) => core.poison(),
                Held::Barrier(b) => crate::barrier::poison_shared(&b),
            }
        }
    }
}

/// While alive, a record is the calling thread's running process.
pub(crate) struct Entered {
    rec: Arc<Record>,
    prev: Option<Arc<Record>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = self.prev.take());
        lock_std(&LIVE).retain(|r| !Arc::ptr_eq(r, &self.rec));
    }
}

/// The live records, for the deadlock detector.
pub(crate) fn live() -> Vec<Arc<Record>> {
    lock_std(&LIVE).clone()
}

fn with_current<R>(f: impl FnOnce(&Arc<Record>) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(f))
        .ok()
        .flatten()
}

/// Records that the running process holds `core` (called on an end's first use).
/// Returns whether a process was running to record it.
pub(crate) fn register_end(core: &Arc<Core>, dir: Direction) -> bool {
    with_current(|r| r.hold(Held::Chan(core.clone(), dir))).is_some()
}

/// Records that the running process holds a barrier.
pub(crate) fn register_barrier(b: &Arc<crate::barrier::Shared>) {
    with_current(|r| r.hold(Held::Barrier(b.clone())));
}

/// Defers dropping an end held by the running process until it next waits or ends;
/// returns false (drop it now) outside processes.
///
/// Why: a process body's channel ends are dropped when the body returns, before the
/// runtime sees its result. Dropping them at once would *retire* every channel of a
/// process that is ending by poison or failure, and a neighbour blocked on one of them
/// would end quietly instead of passing the poison on. Deferred, they are poisoned or
/// retired according to how the process ended. A process that drops an end and then
/// waits (on a channel, a barrier, a timer) releases it first, so deferral never holds
/// back a retirement that someone is waiting for. `retire()` is never deferred.
pub(crate) fn defer_drop(core: &Arc<Core>, dir: Direction) -> bool {
    with_current(|r| lock_std(&r.pending).push((core.clone(), dir))).is_some()
}

impl Record {
    /// Drops the ends the process has let go of: poisoning their channels if the process
    /// ended by poison or failure, retiring them otherwise.
    pub(crate) fn flush(&self, poison: bool) {
        let pending = std::mem::take(&mut *lock_std(&self.pending));
        for (core, dir) in pending {
            core.drop_end(dir, poison);
        }
    }
}

/// Drops what the running process has let go of (before it waits).
pub(crate) fn flush_current() {
    with_current(|r| {
        if !lock_std(&r.pending).is_empty() {
            r.flush(false)
        }
    });
}

/// Marks the running process as waiting on `on` (for `sig`) while alive.
pub(crate) struct WaitingGuard(Option<Arc<Record>>);

impl WaitingGuard {
    pub(crate) fn enter(on: &[WaitOn], sig: Option<&Arc<Signal>>) -> WaitingGuard {
        let rec = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten();
        if let Some(r) = &rec {
            if !lock_std(&r.pending).is_empty() {
                r.flush(false);
            }
            let mut w = lock_std(&r.wait);
            w.on.clear();
            w.on.extend_from_slice(on);
            w.sig = sig.cloned();
            w.seq += 1;
        }
        WaitingGuard(rec)
    }
}

impl Drop for WaitingGuard {
    fn drop(&mut self) {
        if let Some(r) = &self.0 {
            let mut w = lock_std(&r.wait);
            w.on.clear();
            w.sig = None;
        }
    }
}

/// One channel end a process holds, as [`ProcessInfo`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndInfo {
    /// The channel's id.
    pub channel: u64,
    /// The channel's name, if it has one ([`Sender::set_name`]).
    pub name: Option<String>,
    /// Its element type (Rust's name for it).
    pub ty: &'static str,
    /// Which end: writing or reading.
    pub dir: Direction,
    /// How many values the channel has delivered so far.
    pub carried: u64,
}

impl EndInfo {
    /// The channel's name, or `#id`.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("#{}", self.channel))
    }
}

/// A snapshot of a process: what it holds, what it waits on, how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// A number naming the process, unique in this program.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// The channel ends it holds (declared with [`Process::with`](crate::Process::with),
    /// or used).
    pub ends: Vec<EndInfo>,
    /// The barriers it is enrolled on (their ids).
    pub barriers: Vec<u64>,
    /// What it waits on now (empty while running).
    pub waiting: Vec<WaitOn>,
    /// How it ended, once it has.
    pub end: Option<ProcessEnd>,
}

impl Record {
    pub(crate) fn info(&self) -> ProcessInfo {
        let mut ends = Vec::new();
        let mut barriers = Vec::new();
        for h in lock_std(&self.held).iter() {
            match h {
                Held::Chan(c, d) => ends.push(EndInfo {
                    channel: c.id,
                    name: c.name().map(str::to_string),
                    ty: c.type_name,
                    dir: *d,
                    carried: c.carried(),
                }),
                Held::Barrier(b) => barriers.push(b.id),
            }
        }
        ProcessInfo {
            id: self.id,
            name: self.name.clone(),
            ends,
            barriers,
            waiting: lock_std(&self.wait).on.clone(),
            end: *lock_std(&self.end),
        }
    }
}

/// Snapshots of every process running now, in this program.
///
/// # Examples
/// ```
/// let (tx, rx) = occamy::channel::<u8>();
/// let h = occamy::spawn(occamy::Process::with("waiter", rx, |rx| rx.recv().map(drop)));
/// // ... the process is running (or about to):
/// let _ = occamy::processes();
/// tx.send(1).unwrap();
/// h.join().unwrap();
/// ```
pub fn processes() -> Vec<ProcessInfo> {
    live().iter().map(|r| r.info()).collect()
}

/// Things a process can be declared to hold, so that the runtime knows its ends before it
/// uses them: channel ends, barriers, and tuples, arrays and vectors of them.
pub trait Holds: Send {
    /// Appends what `self` holds.
    #[doc(hidden)]
    fn held(&self, out: &mut HeldSet);
}

/// What a process is declared to hold (opaque; see [`Holds`]).
#[doc(hidden)]
#[derive(Default)]
pub struct HeldSet(pub(crate) Vec<Held>);

impl HeldSet {
    fn push(&mut self, h: Held) {
        self.0.push(h);
    }
}

impl<T: Send + 'static> Holds for Sender<T> {
    fn held(&self, out: &mut HeldSet) {
        self.mark_registered();
        out.push(Held::Chan(self.core.clone(), Direction::Send));
    }
}

impl<T: Send + 'static> Holds for Receiver<T> {
    fn held(&self, out: &mut HeldSet) {
        self.mark_registered();
        out.push(Held::Chan(self.core.clone(), Direction::Recv));
    }
}

impl Holds for Barrier {
    fn held(&self, out: &mut HeldSet) {
        out.push(Held::Barrier(self.shared.clone()));
    }
}

impl<H: Holds> Holds for Vec<H> {
    fn held(&self, out: &mut HeldSet) {
        self.iter().for_each(|h| h.held(out));
    }
}

impl<H: Holds, const N: usize> Holds for [H; N] {
    fn held(&self, out: &mut HeldSet) {
        self.iter().for_each(|h| h.held(out));
    }
}

impl<H: Holds> Holds for Option<H> {
    fn held(&self, out: &mut HeldSet) {
        if let Some(h) = self {
            h.held(out)
        }
    }
}

impl Holds for () {
    fn held(&self, _: &mut HeldSet) {}
}

macro_rules! holds_tuple {
    ($($t:ident $i:tt),*) => {
        impl<$($t: Holds),*> Holds for ($($t,)*) {
            fn held(&self, out: &mut HeldSet) {
                $(self.$i.held(out);)*
            }
        }
    };
}
holds_tuple!(A 0);
holds_tuple!(A 0, B 1);
holds_tuple!(A 0, B 1, C 2);
holds_tuple!(A 0, B 1, C 2, D 3);
holds_tuple!(A 0, B 1, C 2, D 3, E 4);
holds_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
holds_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
holds_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Record({})", self.name)
    }
}
