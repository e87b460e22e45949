//! Barriers with enrolment and resignation (occam-pi `BARRIER`, JCSP `Barrier`).

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::loom::{lock, Mutex};
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
    drop(st);
    release(all, Outcome::Poisoned(0));
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
    _not_sync: PhantomData<std::cell::Cell<()>>,
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
            _not_sync: PhantomData,
        }
    }

    /// Enrolls one more party and returns its handle. The new party takes part from the
    /// current phase on.
    pub fn enroll(&self) -> Barrier {
        lock(&self.shared.state).enrolled += 1;
        Barrier {
            shared: self.shared.clone(),
            _not_sync: PhantomData,
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
        crate::record::register_barrier(&self.shared);
        let mut st = lock(&self.shared.state);
        if st.poisoned {
            return Err(BarrierPoisoned);
        }
        if st.arrived.len() + 1 >= st.enrolled {
            let all = std::mem::take(&mut st.arrived);
            drop(st);
            release(all, Outcome::Ready(0));
            return Ok(());
        }
        let sig = Arc::new(Signal::thread());
        st.arrived.push(sig.clone());
        drop(st);
        match sig.block(None, &[WaitOn::Barrier { id: self.shared.id }]) {
            Outcome::Ready(_) => Ok(()),
            _ => Err(BarrierPoisoned),
        }
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

fn release(all: Vec<Arc<Signal>>, o: Outcome) {
    for s in &all {
        s.fire(o);
    }
    for s in &all {
        s.wake();
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
            drop(st);
            release(all, Outcome::Ready(0));
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Barrier#{}", self.shared.id)
    }
}
