//! What the runtime knows of every running process: its name, the channel ends and
//! barriers it holds, what it waits on while blocked, and how it ended. The graph
//! exporter, the deadlock monitor and [`processes`] read these records; channel operations
//! write them only on the slow path (around a wait) and on an end's first use in a process.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock};
use std::task::{Wake, Waker};

use super::error::{Failure, ProcessEnd};
use super::group::Group;
use super::held::{Endpoint, Enrolment, Held};
use super::recorder::{self, Ev};
use crate::wait::{Direction, Signal, Signalled, WaitOn};

pub(crate) fn lock_std<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One thing a process holds, and how many of its end objects stand for it. A process
/// is declared with a list of these and its record keeps that list (no copy: a copy made
/// at start-up by another thread than the one that built the process left the first
/// list's freed memory in the builder's heap, about 128 bytes a process at the peak of a
/// million-process start).
///
/// An enum of its own rather than a `Held` and a count: the count then sits in the
/// padding beside the direction, 24 bytes an entry instead of 32, so a process's usual
/// two ends take the allocator's 48-byte class instead of 64 (16 MB at a million
/// processes; a test checks the size).
pub(crate) enum HeldEntry {
    /// A channel end, and the end objects of this process registered on it. Declared but
    /// not yet used ends count 0; an entry whose last end object moved to another
    /// process goes.
    Chan(Arc<dyn Endpoint>, Direction, u32),
    /// A barrier enrolment, and its count (as for a channel end).
    Barrier(Arc<dyn Enrolment>, u32),
}

impl HeldEntry {
    pub(crate) fn new(held: Held, refs: u32) -> HeldEntry {
        match held {
            Held::Chan(c, d) => HeldEntry::Chan(c, d, refs),
            Held::Barrier(b) => HeldEntry::Barrier(b, refs),
        }
    }

    fn held(&self) -> Held {
        match self {
            HeldEntry::Chan(c, d, _) => Held::Chan(c.clone(), *d),
            HeldEntry::Barrier(b, _) => Held::Barrier(b.clone()),
        }
    }

    /// Whether it stands for the same channel end (direction) or barrier as `h`.
    fn same(&self, h: &Held) -> bool {
        self.key() == h.key()
    }

    fn key(&self) -> (*const (), Option<Direction>) {
        match self {
            HeldEntry::Chan(c, d, _) => (Arc::as_ptr(c).cast(), Some(*d)),
            HeldEntry::Barrier(b, _) => (Arc::as_ptr(b).cast(), None),
        }
    }

    fn refs(&mut self) -> &mut u32 {
        match self {
            HeldEntry::Chan(_, _, n) | HeldEntry::Barrier(_, n) => n,
        }
    }
}

/// One thing a waiting process waits on.
pub(crate) struct WaitEntry {
    token: u64,
    pub(crate) on: WaitOn,
    /// The signal that ends the wait: fired means the process is about to wake.
    pub(crate) sig: Option<Arc<dyn Signalled>>,
}

/// What a process waits on.
#[derive(Default)]
pub(crate) struct Wait {
    pub(crate) on: Vec<WaitEntry>,
    next_token: u64,
}

/// The record's mutable parts, under one lock: three locks took 24 bytes more a record,
/// and no path holds one part while it takes another of the same record.
#[derive(Default)]
struct Parts {
    held: Vec<HeldEntry>,
    /// What most processes never need, made on first use: with it inline a record took
    /// the allocator's 192-byte class, without it the 128-byte one (64 MB less at a
    /// million processes).
    rare: Option<Box<Rare>>,
    /// How long it ran, in nanoseconds (a `Duration` would take twice the room), once
    /// it has ended ([`Record::how`] says how).
    ran_ns: u64,
}

impl Parts {
    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }
}

#[derive(Default)]
struct Rare {
    /// Its waits on barriers and timers (its channel waits are in the channels' queues).
    wait: Wait,
    /// Ends dropped but not yet let go of (see [`Record::defer_drop`]).
    pending: Vec<(Arc<dyn Endpoint>, Direction)>,
    /// A green process's failure, left here by its task for whoever joins it.
    failure: Option<Box<(u64, Failure)>>,
}

/// [`Record::how`] as a byte: 0 while it runs, else one more than the `ProcessEnd`.
fn end_code(how: ProcessEnd) -> u8 {
    1 + match how {
        ProcessEnd::Ok => 0,
        ProcessEnd::Poisoned => 1,
        ProcessEnd::Retired => 2,
        ProcessEnd::Failed => 3,
        ProcessEnd::Panicked => 4,
    }
}

fn end_of(code: u8) -> Option<ProcessEnd> {
    Some(match code {
        1 => ProcessEnd::Ok,
        2 => ProcessEnd::Poisoned,
        3 => ProcessEnd::Retired,
        4 => ProcessEnd::Failed,
        5 => ProcessEnd::Panicked,
        _ => return None,
    })
}

/// The waker an async process is polled with, one per process, kept by its record so
/// that the deadlock monitor can count its clones: when every clone is held by a signal
/// the process waits on, nothing else (a foreign future, a timer) can wake it.
pub(crate) struct ProcWaker {
    waker: Waker,
    /// Woken since its last poll began: a parked process whose wait has ended (its signal
    /// fired and left the channel's queue) is about to run, not waiting elsewhere. A
    /// direct channel wait (`task_waker`) sets it when it begins: it ends woken.
    woken: AtomicBool,
}

impl ProcWaker {
    pub(crate) fn new(waker: Waker) -> ProcWaker {
        ProcWaker {
            waker,
            woken: AtomicBool::new(false),
        }
    }

    /// A waker over `this` that borrows the count `this` holds instead of taking one of
    /// its own: the record's `driver` is then the only count besides the clones that
    /// wait somewhere (the deadlock monitor counts on that), and a driver keeps no
    /// second copy of the waker (16 bytes a task). Never drop the inner waker: it would
    /// give back a count it did not take (clones take their own).
    pub(crate) fn borrowed(this: &Arc<ProcWaker>) -> std::mem::ManuallyDrop<Waker> {
        // SAFETY: `this` keeps the count alive for as long as the caller holds it, and the
        // `ManuallyDrop` never releases the count that `from_raw` did not take.
        std::mem::ManuallyDrop::new(Waker::from(unsafe { Arc::from_raw(Arc::as_ptr(this)) }))
    }

    /// Whether the process was woken through it since its last poll began.
    pub(crate) fn woken(&self) -> bool {
        self.woken.load(Ordering::Relaxed)
    }

    /// Counts as woken a wait that will be woken without this waker (a direct one: see
    /// `task_waker`), once it ends.
    pub(crate) fn woken_direct(&self) {
        self.woken.store(true, Ordering::Relaxed);
    }

    /// The waker of the task or thread that runs the process, which this one wraps:
    /// what a direct channel wait holds (`context::with_wait_waker`).
    pub(crate) fn task_waker(&self) -> &Waker {
        &self.waker
    }
}

impl Wake for ProcWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Relaxed);
        self.waker.wake_by_ref();
    }
}

/// One running (or finished) process. Kept small (128 bytes with its `Arc`, an allocator
/// size class; a test checks it): a network of a million processes has a million records.
pub(crate) struct Record {
    pub(crate) id: u64,
    pub(crate) name: Box<str>,
    pub(crate) group: Arc<Group>,
    /// What it holds, waits on, has dropped, and how it ended. Taken before a channel's
    /// lock (see [`Record::each_wait`]), never while one is held.
    parts: Mutex<Parts>,
    /// Whether the process is parked: a thread asleep in a wait, or an async process
    /// whose last poll returned pending. Its wait entries count only while it is. An
    /// atomic, not under `wait`'s lock: a green process sets it around every poll.
    pub(crate) parked: AtomicBool,
    /// Bumped at every park, so a checker can tell "still blocked" from "blocked again"
    /// (and, read before and after the entries, that it read one wait). 32 bits: a
    /// checker compares two reads a few microseconds apart, and 2^32 parks between them
    /// cannot happen.
    pub(crate) seq: AtomicU32,
    /// The `seq` of the wait the deadlock monitor found it parked in at its last look
    /// (`NOT_SEEN`: not parked, or not a candidate): a process still in that very wait at
    /// the next look has been blocked for the whole interval between (see `monitor.rs`).
    pub(crate) looked: AtomicU32,
    /// Whether the pending drops may be non-empty: checked without the lock on every park.
    has_pending: AtomicBool,
    /// For async processes: the waker their driver polls them with.
    pub(crate) driver: OnceLock<Arc<ProcWaker>>,
    /// Whether it was warned of a blocking call inside a green task.
    warned: AtomicBool,
    /// How it ended (`end_code`; 0: it has not). Written under the parts' lock, beside
    /// `ran_ns`.
    how: AtomicU8,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// [`Record::looked`] when the monitor did not see the process parked. A wait whose `seq`
/// happens to be this value is never taken as seen (a lost look, not a wrong one).
pub(crate) const NOT_SEEN: u32 = u32::MAX;

/// Records that process `id` holds `h` (a channel end; barriers are not recorded).
fn record_hold(id: u64, h: &Held) {
    if let Held::Chan(c, dir) = h {
        recorder::emit(Ev::Holds {
            process: id,
            channel: c.id(),
            dir: *dir,
        });
    }
}

/// A new process id: ids follow the order in which processes are declared, which is the
/// order reports list them in. 0 is never an id (it means "no process").
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

const SHARDS: usize = 16;

/// Ids per chunk of the live table.
const CHUNK: usize = 256;

/// The live records of `CHUNK` consecutive ids, in id order. Ids are handed out densely
/// as processes are made, so a slot per id costs 8 bytes a process where a hash map's
/// entry, with its control byte and spare capacity, took about 40 (and doubled, for a
/// moment, at every resize of a million-entry map).
struct Chunk {
    slots: Box<[Option<Arc<Record>>]>,
    live: usize,
}

/// The live records by id: chunks of consecutive ids, sharded so that a million
/// processes starting and ending do not queue on one lock; adding and removing are O(1).
/// A chunk goes when its last record does.
static LIVE: LazyLock<[Shard; SHARDS]> =
    LazyLock::new(|| std::array::from_fn(|_| Mutex::new(HashMap::new())));

type Shard = Mutex<HashMap<u64, Chunk>>;

/// The shard, chunk number and slot of `id`.
fn place(id: u64) -> (&'static Shard, u64, usize) {
    let chunk = id / CHUNK as u64;
    let shard = &LIVE[(chunk % SHARDS as u64) as usize];
    (shard, chunk, (id % CHUNK as u64) as usize)
}

/// The live records, in id order.
pub(crate) fn live() -> Vec<Arc<Record>> {
    let mut chunks: Vec<(u64, Vec<Arc<Record>>)> = LIVE
        .iter()
        .flat_map(|s| {
            lock_std(s)
                .iter()
                .map(|(&k, c)| (k, c.slots.iter().flatten().cloned().collect()))
                .collect::<Vec<_>>()
        })
        .collect();
    chunks.sort_unstable_by_key(|c| c.0);
    chunks.into_iter().flat_map(|c| c.1).collect()
}

/// Calls `f` on each live record, in id order, holding at most one chunk's records at a
/// time (`live` holds them all: two vectors of a million pointers, for a monitor that
/// looks at each record once).
pub(crate) fn each_live(mut f: impl FnMut(&Arc<Record>)) {
    let mut keys: Vec<u64> = LIVE
        .iter()
        .flat_map(|s| lock_std(s).keys().copied().collect::<Vec<_>>())
        .collect();
    keys.sort_unstable();
    let mut batch: Vec<Arc<Record>> = Vec::with_capacity(CHUNK);
    for k in keys {
        let shard = &LIVE[(k % SHARDS as u64) as usize];
        if let Some(c) = lock_std(shard).get(&k) {
            batch.extend(c.slots.iter().flatten().cloned());
        }
        // Called without the shard's lock: `f` may look at channels and records.
        for r in batch.drain(..) {
            f(&r);
        }
    }
}

/// The live record with this id.
pub(crate) fn live_record(id: u64) -> Option<Arc<Record>> {
    let (shard, chunk, slot) = place(id);
    lock_std(shard).get(&chunk)?.slots[slot].clone()
}

impl Record {
    /// A record for process `id`, declared to hold `declared` (each with the number of its
    /// end objects that stand for it).
    pub(crate) fn new(
        id: u64,
        name: String,
        group: Arc<Group>,
        declared: Vec<HeldEntry>,
    ) -> Arc<Record> {
        if recorder::on() {
            recorder::emit(Ev::Process {
                id,
                name: name.clone(),
            });
            for e in &declared {
                record_hold(id, &e.held());
            }
        }
        // Merged in place: a declared list seldom names one thing twice.
        let mut held = declared;
        let mut i = 1;
        while i < held.len() {
            match held[..i].iter().position(|e| e.key() == held[i].key()) {
                Some(j) => {
                    let mut dup = held.remove(i);
                    let n = *dup.refs();
                    let r = held[j].refs();
                    *r = r.saturating_add(n);
                }
                None => i += 1,
            }
        }
        let r = Arc::new(Record {
            id,
            name: name.into_boxed_str(),
            group: group.clone(),
            parts: Mutex::new(Parts {
                held,
                ..Parts::default()
            }),
            parked: AtomicBool::new(false),
            seq: AtomicU32::new(0),
            looked: AtomicU32::new(NOT_SEEN),
            has_pending: AtomicBool::new(false),
            driver: OnceLock::new(),
            warned: AtomicBool::new(false),
            how: AtomicU8::new(0),
        });
        group.add(r.clone());
        r
    }

    /// How the process ended and how long it ran, once it has.
    pub(crate) fn end(&self) -> Option<(ProcessEnd, std::time::Duration)> {
        let p = lock_std(&self.parts);
        let how = end_of(self.how.load(Ordering::Relaxed))?;
        Some((how, std::time::Duration::from_nanos(p.ran_ns)))
    }

    /// Records how the process ended, after running for `ran`.
    pub(crate) fn set_end(&self, how: ProcessEnd, ran: std::time::Duration) {
        let mut p = lock_std(&self.parts);
        p.ran_ns = u64::try_from(ran.as_nanos()).unwrap_or(u64::MAX);
        self.how.store(end_code(how), Ordering::Relaxed);
    }

    /// Leaves a green process's failure (with its sequence number) for whoever joins it.
    pub(crate) fn set_failure(&self, seq: u64, failure: Failure) {
        lock_std(&self.parts).rare().failure = Some(Box::new((seq, failure)));
    }

    /// Takes the failure a green process left, if any.
    pub(crate) fn take_failure(&self) -> Option<Box<(u64, Failure)>> {
        lock_std(&self.parts).rare.as_mut()?.failure.take()
    }

    /// Adds the record to the live set (the process has started).
    pub(crate) fn go_live(self: &Arc<Self>) {
        let (shard, chunk, slot) = place(self.id);
        let mut s = lock_std(shard);
        let c = s.entry(chunk).or_insert_with(|| Chunk {
            slots: (0..CHUNK).map(|_| None).collect(),
            live: 0,
        });
        if c.slots[slot].replace(self.clone()).is_none() {
            c.live += 1;
        }
    }

    /// Removes it (the process has ended).
    pub(crate) fn go_dead(&self) {
        let (shard, chunk, slot) = place(self.id);
        let mut s = lock_std(shard);
        let Some(c) = s.get_mut(&chunk) else { return };
        let taken = c.slots[slot].take();
        if taken.is_some() {
            c.live -= 1;
            if c.live == 0 {
                s.remove(&chunk);
            }
        }
        drop(s);
        drop(taken); // outside the lock: it may be the record's last count
    }

    /// Records one more end object (or a barrier enrolment) of this process on `h`.
    pub(crate) fn hold(&self, h: Held) {
        if recorder::on() {
            record_hold(self.id, &h);
        }
        let mut p = lock_std(&self.parts);
        let held = &mut p.held;
        match held.iter_mut().find(|e| e.same(&h)) {
            Some(e) => {
                let r = e.refs();
                *r = r.saturating_add(1);
            }
            None => held.push(HeldEntry::new(h, 1)),
        }
    }

    /// One end object of this process on `h` moved to another process.
    pub(crate) fn unhold(&self, h: &Held) {
        let mut p = lock_std(&self.parts);
        let held = &mut p.held;
        if let Some(i) = held.iter().position(|e| e.same(h)) {
            let r = held[i].refs();
            *r = r.saturating_sub(1);
            if *r == 0 {
                held.remove(i);
            }
        }
    }

    pub(crate) fn held(&self) -> Vec<Held> {
        lock_std(&self.parts)
            .held
            .iter()
            .map(HeldEntry::held)
            .collect()
    }

    pub(crate) fn poison_held(&self) {
        for h in self.held() {
            h.poison();
        }
    }

    /// Defers dropping an end until the process next waits or ends.
    ///
    /// Why: a process body's channel ends are dropped when the body returns, before the
    /// runtime sees its result. Dropping them at once would *retire* every channel of a
    /// process that is ending by poison or failure, and a neighbour blocked on one of them
    /// would end quietly instead of passing the poison on. Deferred, they are poisoned or
    /// retired according to how the process ended. A process that drops an end and then
    /// waits (on a channel, a barrier, a timer) releases it first, so deferral never holds
    /// back a retirement that someone is waiting for. `retire()` is never deferred.
    pub(crate) fn defer_drop(&self, end: Arc<dyn Endpoint>, dir: Direction) {
        lock_std(&self.parts).rare().pending.push((end, dir));
        self.has_pending.store(true, Ordering::Release);
    }

    /// Drops the ends the process has let go of: poisoning their channels if the process
    /// ended by poison or failure, retiring them otherwise.
    pub(crate) fn flush(&self, poison: bool) {
        self.has_pending.store(false, Ordering::Relaxed);
        let pending = lock_std(&self.parts)
            .rare
            .as_mut()
            .map(|r| std::mem::take(&mut r.pending))
            .unwrap_or_default();
        for (end, dir) in pending {
            end.drop_end(dir, poison);
        }
    }

    /// Drops what the process has let go of, if anything (before it waits).
    pub(crate) fn flush_if_any(&self) {
        // Only the process itself defers drops, so a clear flag cannot miss its own
        // pushes.
        if self.has_pending.load(Ordering::Acquire) {
            self.flush(false);
        }
    }

    /// Adds wait entries; returns their token.
    pub(crate) fn add_waits(
        &self,
        on: &[WaitOn],
        sig: Option<Arc<dyn Signalled>>,
        park: bool,
    ) -> u64 {
        self.flush_if_any();
        if recorder::on() {
            recorder::block(self.id, on);
        }
        // Channel waits are found in the channels' queues: only the rest is kept here.
        let kept = |w: &&WaitOn| !matches!(w, WaitOn::Channel { .. });
        if !on.iter().any(|w| kept(&w)) {
            if park {
                self.set_parked(true);
            }
            return 0;
        }
        let mut p = lock_std(&self.parts);
        let w = &mut p.rare().wait;
        w.next_token += 1;
        let token = w.next_token;
        // Exactly what the first wait needs (one entry, mostly), not Vec's minimum of
        // four: the entries' room is kept for the process's life.
        if w.on.capacity() == 0 {
            w.on.reserve_exact(on.len());
        }
        for &on in on.iter().filter(kept) {
            w.on.push(WaitEntry {
                token,
                on,
                sig: sig.clone(),
            });
        }
        drop(p);
        if park {
            self.set_parked(true);
        }
        token
    }

    /// Removes the wait entries of `token`.
    pub(crate) fn remove_waits(&self, token: u64, unpark: bool) {
        if unpark {
            self.set_parked(false);
        }
        if recorder::on() {
            recorder::wake(self.id);
        }
        if token != 0 {
            if let Some(r) = lock_std(&self.parts).rare.as_mut() {
                r.wait.on.retain(|e| e.token != token);
            }
        }
    }

    /// Calls `f` with each thing the process waits on, and the signal that ends that wait
    /// (none for a bare timer): the waits recorded here (barriers, timers) and the waiters
    /// it left in the queues of the channels it holds (found by their signals' owner).
    /// Meaningful while the process is parked; read its `seq` before and after to know
    /// that all were one wait.
    pub(crate) fn each_wait(&self, mut f: impl FnMut(WaitOn, Option<&Signal>)) {
        if let Some(r) = lock_std(&self.parts).rare.as_ref() {
            for e in r.wait.on.iter() {
                f(e.on, e.sig.as_deref().map(Signalled::as_signal));
            }
        }
        // Not under the record's locks: a channel's lock is taken after them elsewhere
        // (a process flushing its dropped ends before it waits).
        for h in self.held() {
            if let Held::Chan(c, dir) = h {
                let id = c.id();
                c.waits_of(dir, self.id, &mut |s| {
                    f(WaitOn::Channel { id, dir }, Some(s))
                });
            }
        }
    }

    /// What the process waits on (see [`Record::each_wait`]).
    pub(crate) fn waits(&self) -> Vec<WaitOn> {
        let mut on = Vec::new();
        self.each_wait(|w, _| on.push(w));
        on
    }

    /// Warns, once per process, of a blocking call made inside a green task.
    pub(crate) fn warn_blocking(&self) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                process = %self.name,
                "process `{}` made a blocking call inside a green task: it runs, but its \
                 worker's other tasks moved to another thread; use the async form",
                self.name
            );
        }
    }

    /// An async process's last poll returned pending (`true`), or it is polled again.
    pub(crate) fn set_parked(&self, parked: bool) {
        if parked {
            // Only the process itself parks, so no read-modify-write is needed.
            self.seq
                .store(self.seq.load(Ordering::Relaxed) + 1, Ordering::Release);
        } else if let Some(d) = self.driver.get() {
            // Before the poll: a wake during it counts for the next park.
            d.woken.store(false, Ordering::Relaxed);
        }
        self.parked.store(parked, Ordering::Release);
    }

    pub(crate) fn info(&self) -> ProcessInfo {
        let mut ends = Vec::new();
        let mut barriers = Vec::new();
        for e in lock_std(&self.parts).held.iter() {
            match e {
                HeldEntry::Chan(c, d, _) => ends.push(EndInfo {
                    channel: c.id(),
                    name: c.name().map(str::to_string),
                    ty: c.type_name(),
                    dir: *d,
                    carried: c.carried(),
                }),
                HeldEntry::Barrier(b, _) => barriers.push(b.id()),
            }
        }
        ProcessInfo {
            id: self.id,
            name: self.name.to_string(),
            ends,
            barriers,
            waiting: if self.parked.load(Ordering::Acquire) {
                self.waits()
            } else {
                Vec::new()
            },
            end: self.end().map(|e| e.0),
        }
    }
}

/// One channel end a process holds, as [`ProcessInfo`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndInfo {
    /// The channel's id.
    pub channel: u64,
    /// The channel's name, if it has one ([`Sender::set_name`](crate::Sender::set_name)).
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

/// Snapshots of every process running now, in this program, in the order they were
/// declared.
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

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Record({})", self.name)
    }
}

#[cfg(all(test, not(loom), target_pointer_width = "64"))]
mod size {
    #[test]
    fn a_record_and_its_counts_fit_in_128_bytes() {
        // A network of a million processes has a million records. An `Arc`'s allocation
        // is its two counts, then the record: 128 bytes is one of the allocator's size
        // classes, the next is 160.
        let size = std::mem::size_of::<super::Record>() + 2 * std::mem::size_of::<usize>();
        assert!(size <= 128, "a record and its counts take {size} bytes");
    }

    #[test]
    fn a_held_entry_takes_24_bytes() {
        let n = std::mem::size_of::<super::HeldEntry>();
        assert!(n <= 24, "a held entry takes {n} bytes");
    }
}
