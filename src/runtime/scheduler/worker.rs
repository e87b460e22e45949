//! Worker threads: the run loop over a [`Core`] (local queue + run-next slot), stealing,
//! parking, and the hand-off of a core in `block_in_place`.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{
    fence, AtomicPtr, Ordering::AcqRel, Ordering::Relaxed, Ordering::Release, Ordering::SeqCst,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_deque::{Steal, Worker};
use crossbeam_utils::sync::Parker;
use crossbeam_utils::Backoff;

use super::hook::{idle_hook, steady_pause, IdleHook, HOOK_LINGER, STEADY_ROUNDS};
use super::task::{self, Header, TaskRef};
use super::{lock, Shared};

/// Consecutive polls from the run-next slot before the local queue gets a turn.
const LIFO_CAP: u32 = 16;
/// Every this many polls the injector is looked at first (Go's `schedtick % 61`).
const GLOBAL_INTERVAL: u32 = 61;
/// Rounds of stealing, with a growing pause between them, before a searcher parks.
const SEARCH_ROUNDS: u32 = 8;
/// How long a thread that lost its core in `block_in_place` waits for one before exiting.
const SPARE_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// What makes a thread a worker: its queues. It moves between threads in
/// `block_in_place`, so everything per-worker lives here, not in the thread.
pub(super) struct Core {
    index: usize,
    lifo_streak: u32,
    local: Worker<TaskRef>,
    parker: Parker,
    tick: u32,
    rng: u32,
    searching: bool,
    /// When the idle hook last did work on this worker, as first seen by `lingering`.
    hook_worked: Option<Instant>,
    /// The hook did work and `lingering` has not looked at the clock since: the clock is
    /// read then, not on each call that did work, which a task the hook just woke waits
    /// for (two reads a cross-rank round trip, each a `clock_gettime`).
    hook_fresh: bool,
}

impl Core {
    pub(super) fn new(index: usize, local: Worker<TaskRef>, parker: Parker) -> Box<Core> {
        Box::new(Core {
            index,
            lifo_streak: 0,
            local,
            parker,
            tick: 0,
            rng: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
            searching: false,
            hook_worked: None,
            hook_fresh: false,
        })
    }

    fn next_task(&mut self, shared: &Shared) -> Option<TaskRef> {
        self.tick = self.tick.wrapping_add(1);
        if self.tick % GLOBAL_INTERVAL == 0 {
            if let Some(t) = shared.steal_injector(&self.local) {
                return Some(t);
            }
        }
        let lifo = &shared.lifos[self.index];
        if let Some(t) = lifo.take() {
            if self.lifo_streak < LIFO_CAP {
                self.lifo_streak += 1;
                return Some(t);
            }
            // Fairness: a pair of tasks waking each other would otherwise keep the slot
            // forever and starve the queue.
            self.local.push(t);
        }
        self.lifo_streak = 0;
        self.local
            .pop()
            .or_else(|| shared.steal_injector(&self.local))
    }

    fn next_rand(&mut self) -> u32 {
        // xorshift32: only to spread the victims of stealing.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    fn steal(&mut self, shared: &Shared) -> Option<TaskRef> {
        let n = shared.stealers.len();
        let start = self.next_rand() as usize % n;
        for k in 0..n {
            let i = (start + k) % n;
            if i == self.index {
                continue;
            }
            loop {
                match shared.stealers[i].steal_batch_and_pop(&self.local) {
                    Steal::Success(t) => return Some(t),
                    Steal::Empty => break,
                    Steal::Retry => {}
                }
            }
        }
        shared.steal_injector(&self.local)
    }

    fn stop_searching(&mut self, shared: &Shared) {
        if std::mem::take(&mut self.searching) && shared.idle.stop_searching() {
            shared.notify_parked();
        }
    }

    /// Looks for work elsewhere, then parks. `None` means "look again" (woken, or
    /// shutdown).
    fn search_or_park(&mut self, shared: &Shared) -> Option<TaskRef> {
        if !self.searching {
            self.searching = shared.idle.try_start_searching();
        }
        if self.searching {
            // Spinning a little before the futex sleep: in a CSP rendezvous the peer's
            // wake usually comes within a microsecond or two.
            let backoff = Backoff::new();
            for _ in 0..SEARCH_ROUNDS {
                if let Some(t) = self.steal(shared) {
                    self.stop_searching(shared);
                    return Some(t);
                }
                if shared.is_shutdown() {
                    return None;
                }
                backoff.snooze();
            }
        }
        self.park(shared);
        None
    }

    fn lingering(&mut self) -> bool {
        if std::mem::take(&mut self.hook_fresh) {
            self.hook_worked = Some(Instant::now());
            return true;
        }
        self.hook_worked.is_some_and(|t| t.elapsed() < HOOK_LINGER)
    }

    fn park(&mut self, shared: &Shared) {
        let was_searching = std::mem::take(&mut self.searching);
        if shared.idle.transition_to_parked(self.index, was_searching) && shared.has_work() {
            // The last searcher leaving: a wake that skipped the futex because we were
            // searching relied on us, so we look once more (see Idle::should_wake).
            shared.notify_parked();
        }
        loop {
            self.parker.park();
            if shared.is_shutdown() {
                return;
            }
            if !shared.idle.is_parked(self.index) {
                // The notifier counted us as unparked and searching.
                self.searching = true;
                return;
            }
        }
    }
}

/// A worker's run-next slot, where other threads can reach it: a task woken by the
/// running task waits here for that task's poll to end, and if the poll runs long (a
/// process computing between two channel operations), the pool's monitor moves it to
/// the injector, where an idle worker takes it (Go's scheduler lets a spinning M steal
/// `runnext` for the same reason).
pub(super) struct Lifo {
    /// A task (`task::into_thin`), or null.
    slot: AtomicPtr<Header>,
    /// Polls started by this worker: unchanged between two looks means one long poll.
    pub(super) polls: std::sync::atomic::AtomicU64,
}

impl Default for Lifo {
    fn default() -> Lifo {
        Lifo {
            slot: AtomicPtr::new(std::ptr::null_mut()),
            polls: Default::default(),
        }
    }
}

impl Lifo {
    /// Puts `t` in the slot; gives back the task it displaced.
    fn put(&self, t: TaskRef) -> Option<TaskRef> {
        let t = task::into_thin(t);
        if self.slot.load(Relaxed).is_null() {
            // Only the worker that holds this slot's core puts (the monitor only takes), so
            // an empty slot stays empty until this store: no RMW for the common case.
            // Release: whoever takes the task sees it whole.
            self.slot.store(t, Release);
            return None;
        }
        // AcqRel: whoever takes the task sees it whole, and we see the displaced one whole.
        let prev = self.slot.swap(t, AcqRel);
        // SAFETY: the slot holds only `into_thin` pointers, each swapped out once.
        unsafe { task::from_thin(prev) }
    }

    pub(super) fn take(&self) -> Option<TaskRef> {
        if self.slot.load(Relaxed).is_null() {
            return None; // no RMW for an empty slot
        }
        // SAFETY: as in `put`.
        unsafe { task::from_thin(self.slot.swap(std::ptr::null_mut(), AcqRel)) }
    }

    fn is_full(&self) -> bool {
        !self.slot.load(Relaxed).is_null()
    }
}

impl Drop for Lifo {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// How often the monitor looks for a task stuck in a run-next slot behind a long poll
/// while slots are in use; it backs off (doubling) to `MONITOR_IDLE_TICK` while they are
/// all empty, so that an idle pool costs next to nothing.
const MONITOR_TICK: Duration = Duration::from_micros(250);
const MONITOR_IDLE_TICK: Duration = Duration::from_millis(10);

/// The pool's monitor thread (Go's `sysmon`, for this one purpose): every tick, a task
/// that has sat in a worker's run-next slot since the last tick, while that worker ran
/// one poll throughout, goes to the injector. It holds only a weak reference, and ends
/// with the pool.
pub(super) fn monitor(shared: std::sync::Weak<Shared>) {
    let mut seen: Vec<(u64, bool)> = Vec::new();
    let mut tick = MONITOR_TICK;
    loop {
        std::thread::sleep(tick);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.is_shutdown() {
            return;
        }
        seen.resize(shared.lifos.len(), (u64::MAX, false));
        let mut any = false;
        for (i, lifo) in shared.lifos.iter().enumerate() {
            let polls = lifo.polls.load(Relaxed);
            let full = lifo.is_full();
            any |= full;
            if full && seen[i] == (polls, true) {
                let stuck = lifo.take();
                if let Some(t) = stuck {
                    shared.inject(t);
                }
            }
            seen[i] = (polls, full);
        }
        tick = if any {
            MONITOR_TICK
        } else {
            (tick * 2).min(MONITOR_IDLE_TICK)
        };
    }
}

/// The per-thread view of the pool a worker thread belongs to.
struct Context {
    shared: Arc<Shared>,
    /// `None` while the core is handed off (`block_in_place`) or when the thread is a spare.
    core: RefCell<Option<Box<Core>>>,
}

thread_local! {
    static CURRENT: Cell<*const Context> = const { Cell::new(std::ptr::null()) };
}

fn with_current<R>(f: impl FnOnce(Option<&Context>) -> R) -> R {
    let p = CURRENT.with(Cell::get);
    // SAFETY: CURRENT points at a Context on the stack of `thread_main` of this thread,
    // set for exactly the time that frame lives.
    f(unsafe { p.as_ref() })
}

/// The pool the calling thread works for, if any.
pub(super) fn current_shared() -> Option<Arc<Shared>> {
    with_current(|c| c.map(|c| c.shared.clone()))
}

pub(super) fn is_current(shared: &Arc<Shared>) -> bool {
    with_current(|c| c.is_some_and(|c| Arc::ptr_eq(&c.shared, shared)))
}

pub(super) fn holds_core() -> bool {
    with_current(|c| c.is_some_and(|c| matches!(c.core.try_borrow(), Ok(b) if b.is_some())))
}

/// Queues a task that is SCHEDULED. On a worker of the task's pool: into the run-next
/// slot (a wake) or the local queue (a yield or a spawn). Elsewhere: the injector.
pub(super) fn schedule(task: TaskRef, yielded: bool) {
    let task = match with_current(|c| match c {
        Some(c) if Arc::ptr_eq(&c.shared, &task.header().shared) => {
            let Ok(mut slot) = c.core.try_borrow_mut() else {
                return Err(task);
            };
            let Some(core) = slot.as_mut() else {
                return Err(task);
            };
            let stealable = if yielded {
                core.local.push(task);
                true
            } else if let Some(prev) = c.shared.lifos[core.index].put(task) {
                core.local.push(prev);
                true
            } else {
                false
            };
            drop(slot);
            if stealable {
                c.shared.notify_parked();
            }
            Ok(())
        }
        _ => Err(task),
    }) {
        Ok(()) => return,
        Err(t) => t,
    };
    let shared = task.header().shared.clone();
    shared.inject(task);
}

/// Like `schedule` for a new task: behind the local queue, never the run-next slot (the
/// spawner keeps running; Go puts it in runnext, tokio behind the queue).
pub(super) fn schedule_new(task: TaskRef) {
    schedule(task, true);
}

/// The body of every pool thread: `core` for the initial workers, `None` for a thread
/// started to take over a handed-off core.
pub(super) fn thread_main(shared: Arc<Shared>, core: Option<Box<Core>>) {
    let ctx = Context {
        shared,
        core: RefCell::new(core),
    };
    CURRENT.with(|c| c.set(&ctx));
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(std::ptr::null()));
        }
    }
    let reset = Reset;
    loop {
        if ctx.core.borrow().is_none() {
            match ctx.shared.acquire_core() {
                Some(core) => *ctx.core.borrow_mut() = Some(core),
                None => break,
            }
        }
        if run(&ctx) {
            break;
        }
    }
    if let Some(hook) = idle_hook() {
        // Leaving at shutdown, perhaps while driving: as good as parking for good.
        hook.parking();
    }
    // Drop the core (its queues hold only tasks the shutdown sweep cancels) before
    // leaving the thread count, so the pool's drop sees every queue gone.
    let core = ctx.core.borrow_mut().take();
    drop(core);
    drop(reset);
    ctx.shared.thread_exit();
}

/// Runs tasks until shutdown (true) or until the core was handed off (false).
fn run(ctx: &Context) -> bool {
    let shared = &*ctx.shared;
    loop {
        let task = {
            let mut slot = ctx.core.borrow_mut();
            let Some(core) = slot.as_mut() else {
                return false;
            };
            if shared.is_shutdown() {
                return true;
            }
            match core.next_task(shared) {
                Some(t) => {
                    core.stop_searching(shared);
                    t
                }
                None => {
                    let found = match idle_hook() {
                        None => core.search_or_park(shared),
                        Some(hook) => {
                            drop(slot);
                            search_or_park_hooked(ctx, hook)
                        }
                    };
                    match found {
                        Some(t) => t,
                        None => continue,
                    }
                }
            }
        };
        // No borrow of the core is held while the task runs: its wakes and spawns use it.
        if let Some(core) = ctx.core.borrow().as_ref() {
            // Only this worker counts its polls (the monitor only reads them): no RMW.
            let polls = &shared.lifos[core.index].polls;
            polls.store(polls.load(Relaxed).wrapping_add(1), Relaxed);
        }
        task.run();
    }
}

/// Calls the idle hook with no borrow of the core held (a task it wakes goes to this
/// worker's run-next slot, which `schedule` reaches through the core); whether it did work.
fn drive(ctx: &Context, hook: &dyn IdleHook) -> bool {
    if !hook.poll() {
        return false;
    }
    if let Some(core) = ctx.core.borrow_mut().as_mut() {
        core.hook_fresh = true;
    }
    true
}

/// `Core::search_or_park` with an idle hook: the hook is called before the search and
/// between its rounds; when it did work the worker looks at its own queues again (`None`:
/// the tasks it woke wait there), still searching, so the search starts over while work
/// flows; and it goes on past `SEARCH_ROUNDS` while the hook did work within
/// `HOOK_LINGER`. Before parking it tells the hook.
fn search_or_park_hooked(ctx: &Context, hook: &dyn IdleHook) -> Option<TaskRef> {
    let shared = &*ctx.shared;
    if drive(ctx, hook) {
        return None;
    }
    let searching = {
        let mut slot = ctx.core.borrow_mut();
        let core = slot.as_mut()?;
        if !core.searching {
            core.searching = shared.idle.try_start_searching();
        }
        core.searching
    };
    if searching {
        let backoff = Backoff::new();
        let mut rounds = 0;
        loop {
            let steady = {
                let mut slot = ctx.core.borrow_mut();
                let core = slot.as_mut()?;
                if let Some(t) = core.steal(shared) {
                    core.stop_searching(shared);
                    return Some(t);
                }
                if shared.is_shutdown() {
                    return None;
                }
                rounds += 1;
                // While steady, the clock is looked at every 16 rounds, not each (a
                // `clock_gettime` is longer than a round).
                let look = rounds == SEARCH_ROUNDS || rounds % 16 == 0 || rounds >= STEADY_ROUNDS;
                if rounds >= SEARCH_ROUNDS && look && !core.lingering() {
                    break;
                }
                // Once the hook has done work on this worker, it is polled at a steady
                // pace for a while (`STEADY_ROUNDS`); a worker it never did work for
                // searches as one without a hook does.
                core.hook_fresh || core.hook_worked.is_some()
            };
            if drive(ctx, hook) {
                return None;
            }
            if steady && rounds < STEADY_ROUNDS {
                steady_pause();
            } else {
                backoff.snooze();
            }
        }
    }
    hook.parking();
    let mut slot = ctx.core.borrow_mut();
    slot.as_mut()?.park(shared);
    None
}

/// See [`super::block_in_place`].
pub(super) fn hand_off_core() {
    with_current(|c| {
        let Some(c) = c else { return };
        let Ok(mut slot) = c.core.try_borrow_mut() else {
            return;
        };
        if let Some(core) = slot.take() {
            drop(slot);
            c.shared.hand_off(core);
        }
    });
}

/// How long spares wait for a core.
pub(super) fn spare_keep_alive() -> Duration {
    SPARE_KEEP_ALIVE
}

impl Shared {
    pub(super) fn notify_parked(&self) {
        if let Some(i) = self.idle.worker_to_notify() {
            self.unparkers[i].unpark();
        }
    }

    pub(super) fn steal_injector(&self, local: &Worker<TaskRef>) -> Option<TaskRef> {
        loop {
            match self.injector.steal_batch_and_pop(local) {
                Steal::Success(t) => return Some(t),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    pub(super) fn inject(&self, task: TaskRef) {
        self.injector.push(task);
        // Pairs with the shutdown's flag store + drain: a task pushed after the final
        // drain is drained here (a queue entry would otherwise keep the pool alive).
        fence(SeqCst);
        if self.is_shutdown() {
            self.drain_injector();
            return;
        }
        self.notify_parked();
    }

    pub(super) fn drain_injector(&self) {
        loop {
            match self.injector.steal() {
                Steal::Success(t) => drop(t),
                Steal::Empty => return,
                Steal::Retry => {}
            }
        }
    }

    fn hand_off(self: &Arc<Self>, core: Box<Core>) {
        let mut t = lock(&self.threads);
        t.spare_cores.push(core);
        if t.spare_cores.len() <= t.idle_spares {
            self.spare_cv.notify_one();
            return;
        }
        t.alive += 1;
        drop(t);
        let shared = self.clone();
        if let Err(e) = self
            .thread_builder()
            .spawn(move || thread_main(shared, None))
        {
            // The core waits in the list until the blocked thread takes it back.
            tracing::warn!("occamy scheduler: cannot start a replacement worker: {e}");
            lock(&self.threads).alive -= 1;
        }
    }

    fn acquire_core(&self) -> Option<Box<Core>> {
        let mut t = lock(&self.threads);
        loop {
            if self.is_shutdown() {
                return None;
            }
            if let Some(c) = t.spare_cores.pop() {
                return Some(c);
            }
            t.idle_spares += 1;
            let (g, res) = self
                .spare_cv
                .wait_timeout(t, spare_keep_alive())
                .unwrap_or_else(|e| e.into_inner());
            t = g;
            t.idle_spares -= 1;
            if res.timed_out() && t.spare_cores.is_empty() {
                return None;
            }
        }
    }

    fn thread_exit(&self) {
        if self.is_shutdown() {
            self.drain_injector();
        }
        let mut t = lock(&self.threads);
        t.alive -= 1;
        if t.alive == 0 {
            self.exited_cv.notify_all();
        }
    }
}
