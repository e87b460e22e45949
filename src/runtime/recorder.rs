//! The core side of run recording (`occamy run FILE --record T`): the cold flag every
//! hook checks, the events the hooks emit, and the per-thread buffers they land in. The
//! file format, its writer and its reader live in `occamy::trace` (feature `trace`): this
//! module has no dependencies, so the slim core carries the hooks but not the encoder.
//!
//! # Cost
//! With nobody recording, a hook is one relaxed load of [`ON`] and a branch the CPU
//! predicts (the flag never changes during a run that does not record); the emitting
//! code sits in a `#[cold]`, never-inlined function, so the hot paths stay as they were.
//!
//! # Buffers
//! While recording, each thread pushes its events into a buffer of its own (a mutex that
//! only it and the drainer ever take, so never contended on the event path: no global
//! lock per event). Buffers register once per thread with the session; the trace writer
//! drains them all every few milliseconds and encodes what it took, and once more when
//! the recording stops. Each event carries its time (nanoseconds since the recording
//! started, from the clock the recording was started with): events of one thread are in
//! time order, and the reader merges the threads' batches by time.
//!
//! The clock is the starter's (`trace` reads the CPU's time-stamp counter through
//! `quanta`, about 10 ns a read here, where `Instant::now` took about 30: three events a
//! communication made the clock the largest part of recording's cost).

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::context::current_id;
use super::record::lock_std;
use super::ProcessEnd;
use crate::deadlock::DeadlockReport;
use crate::wait::{Direction, WaitOn};

/// Whether a recording is on: the one flag every hook reads. A cache line of its own: a
/// static written often that shared its line would make every hook's load a miss.
static ON: CachePadded<AtomicBool> = CachePadded::new(AtomicBool::new(false));

/// Whether the recording also records values (`--record-values`): read only when [`ON`]
/// is set.
static VALUES: AtomicBool = AtomicBool::new(false);

/// Shows a value of a channel's type (`None` for a value of another type).
pub(crate) type Show = Box<dyn Fn(&dyn Any) -> Option<String> + Send>;

/// How to show the values of each channel whose values are recorded, by channel id
/// (the declared networks' types register theirs: `network::run`).
static SHOW: Mutex<Option<HashMap<u64, Show>>> = Mutex::new(None);

/// A recorded value is cut to this many characters (and an ellipsis).
pub(crate) const VALUE_CHARS: usize = 40;

/// Bumped by every start, so that a thread's buffer of an earlier recording is replaced.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The recording in progress, if any.
static SESSION: Mutex<Option<Arc<Session>>> = Mutex::new(None);

/// Whether a recording is on (one relaxed load).
#[inline(always)]
pub(crate) fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// One thing that happened in a run. Ids, not names: the definitions (`Process`,
/// `Channel`, `Named`) map ids to names once each.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "trace"), allow(dead_code))]
pub(crate) enum Ev {
    /// A process was declared (its record made).
    Process { id: u64, name: String },
    /// A channel was made, with its element type and buffer size.
    Channel {
        id: u64,
        ty: &'static str,
        cap: usize,
    },
    /// A channel (or barrier) was given its name.
    Named { id: u64, name: String },
    /// A process holds an end of a channel.
    Holds {
        process: u64,
        channel: u64,
        dir: Direction,
    },
    /// A value entered a channel: delivered to `reader`, or buffered (`reader` 0).
    /// 0 for a writer means the sending party was not a process (or not known).
    Comm {
        channel: u64,
        writer: u64,
        reader: u64,
    },
    /// A reader took a buffered value.
    Take { channel: u64, reader: u64 },
    /// A process started to wait on these (a channel operation, an alt, a barrier, a
    /// timer).
    Block { process: u64, on: Waits },
    /// A process stopped waiting.
    Wake { process: u64 },
    /// An alt chose guard `guard` (on `channel`, 0 for a timeout or skip guard); `event`
    /// as `trace::AltEvent` numbers it.
    Alt {
        process: u64,
        guard: u32,
        channel: u64,
        event: u8,
    },
    /// A channel was poisoned.
    Poison { channel: u64 },
    /// A process ended, how, and after how long.
    End {
        process: u64,
        end: ProcessEnd,
        ran: Duration,
    },
    /// A deadlock was found.
    Deadlock(Box<DeadlockReport>),
    /// The value of the `Comm` just before on this channel, shown (and cut short).
    Value { channel: u64, text: String },
}

/// What a `Block` waits on: one thing (a send or a receive, most waits) is kept inline,
/// so that recording a wait allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "trace"), allow(dead_code))]
pub(crate) enum Waits {
    One(WaitOn),
    Many(Box<[WaitOn]>),
}

impl Waits {
    pub(crate) fn new(on: &[WaitOn]) -> Waits {
        match on {
            [one] => Waits::One(*one),
            _ => Waits::Many(on.into()),
        }
    }

    #[cfg_attr(not(feature = "trace"), allow(dead_code))]
    pub(crate) fn as_slice(&self) -> &[WaitOn] {
        match self {
            Waits::One(w) => std::slice::from_ref(w),
            Waits::Many(ws) => ws,
        }
    }
}

/// An event and when it happened (nanoseconds since the recording started).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "trace"), allow(dead_code))]
pub(crate) struct Stamped {
    pub(crate) t: u64,
    pub(crate) ev: Ev,
}

/// One thread's buffer.
struct Local {
    buf: Mutex<Vec<Stamped>>,
}

/// A clock for the events' times: nanoseconds from an origin of its own, the same on
/// every thread.
pub(crate) type Clock = fn() -> u64;

struct Session {
    clock: Clock,
    /// The clock's reading when the recording started.
    origin: u64,
    locals: Mutex<Vec<Arc<Local>>>,
}

/// A thread's view of the recording it last emitted into.
struct Mine {
    generation: u64,
    clock: Clock,
    origin: u64,
    local: Arc<Local>,
}

thread_local! {
    /// This thread's buffer in the current recording, with the recording's generation,
    /// clock and origin.
    static LOCAL: RefCell<Option<Mine>> = const { RefCell::new(None) };
}

/// Starts a recording (of values too, with `values`), its events timed by `clock` from
/// `origin`; returns false if one is already on (there is one per program).
#[cfg_attr(not(feature = "trace"), allow(dead_code))]
pub(crate) fn start(values: bool, clock: Clock, origin: u64) -> bool {
    let mut s = lock_std(&SESSION);
    if s.is_some() {
        return false;
    }
    *s = Some(Arc::new(Session {
        clock,
        origin,
        locals: Mutex::new(Vec::new()),
    }));
    GENERATION.fetch_add(1, Ordering::AcqRel);
    VALUES.store(values, Ordering::Release);
    ON.store(true, Ordering::Release);
    true
}

/// Takes every event buffered so far, one batch per thread (each in time order).
#[cfg_attr(not(feature = "trace"), allow(dead_code))]
pub(crate) fn drain() -> Vec<Vec<Stamped>> {
    let Some(s) = lock_std(&SESSION).clone() else {
        return Vec::new();
    };
    let locals = lock_std(&s.locals).clone();
    locals
        .iter()
        .map(|l| {
            // A buffer as large as the last one, made here rather than grown by the
            // thread that records.
            let mut b = lock_std(&l.buf);
            let room = b.len();
            std::mem::replace(&mut *b, Vec::with_capacity(room))
        })
        .filter(|b| !b.is_empty())
        .collect()
}

/// Stops the recording and returns what was still buffered. An event emitted by a
/// thread that saw the flag on just before is lost unless it is ordered before this call
/// (as everything a run did is, once the run has been joined).
#[cfg_attr(not(feature = "trace"), allow(dead_code))]
pub(crate) fn stop() -> Vec<Vec<Stamped>> {
    ON.store(false, Ordering::Release);
    VALUES.store(false, Ordering::Release);
    let rest = drain();
    *lock_std(&SESSION) = None;
    *lock_std(&SHOW) = None;
    rest
}

/// Records `ev` now. Called by the hooks only when [`on`] said so.
#[cold]
#[inline(never)]
pub(crate) fn emit(ev: Ev) {
    let generation = GENERATION.load(Ordering::Acquire);
    let _ = LOCAL.try_with(|l| {
        let mut l = l.borrow_mut();
        if l.as_ref().is_none_or(|m| m.generation != generation) {
            let Some(s) = lock_std(&SESSION).clone() else {
                return; // stopped meanwhile
            };
            let local = Arc::new(Local {
                buf: Mutex::new(Vec::with_capacity(1024)),
            });
            lock_std(&s.locals).push(local.clone());
            *l = Some(Mine {
                generation,
                clock: s.clock,
                origin: s.origin,
                local,
            });
        }
        let m = l.as_ref().expect("set above");
        let t = (m.clock)().saturating_sub(m.origin);
        lock_std(&m.local.buf).push(Stamped { t, ev });
    });
}

// The hooks of the hot paths (a communication, a wait, a wake-up): each caller inlines
// only `if on() { hook(a, b) }`, a load, a branch and a call with plain arguments, so
// that the code around it (a channel operation, inlined into its callers) does not grow.

/// A value entered `channel` from the running process, for `reader` (0: buffered).
#[cold]
#[inline(never)]
pub(crate) fn comm_from_current(channel: u64, reader: u64) {
    emit(Ev::Comm {
        channel,
        writer: current_id(),
        reader,
    });
}

/// A value entered `channel` from `writer`, for the running process (0: buffered, and
/// the running process only made room for it).
#[cold]
#[inline(never)]
pub(crate) fn comm_to_current(channel: u64, writer: u64, buffered: bool) {
    emit(Ev::Comm {
        channel,
        writer,
        reader: if buffered { 0 } else { current_id() },
    });
}

/// The running process took a buffered value from `channel`.
#[cold]
#[inline(never)]
pub(crate) fn take(channel: u64) {
    emit(Ev::Take {
        channel,
        reader: current_id(),
    });
}

/// Process `process` waits on `on`.
#[cold]
#[inline(never)]
pub(crate) fn block(process: u64, on: &[WaitOn]) {
    emit(Ev::Block {
        process,
        on: Waits::new(on),
    });
}

/// Process `process` stopped waiting.
#[cold]
#[inline(never)]
pub(crate) fn wake(process: u64) {
    emit(Ev::Wake { process });
}

/// Whether values are recorded (read only while [`on`]).
#[inline(always)]
pub(crate) fn values() -> bool {
    VALUES.load(Ordering::Relaxed)
}

/// Values on `channel` are shown with `show` (which says `None` for a value of another
/// type), while values are recorded.
#[cfg_attr(not(feature = "network"), allow(dead_code))]
pub(crate) fn show_values(channel: u64, show: Show) {
    lock_std(&SHOW)
        .get_or_insert_with(HashMap::new)
        .insert(channel, show);
}

/// Records the value that just entered `channel`, shown, if its channel's values are
/// shown.
#[cold]
#[inline(never)]
pub(crate) fn value(channel: u64, v: &dyn Any) {
    emit_value(channel, value_text(channel, v));
}

/// How `v` shows on `channel`, if values are recorded and that channel's are shown (for a
/// value about to move where the recorder can no longer read it).
#[cold]
#[inline(never)]
pub(crate) fn value_text(channel: u64, v: &dyn Any) -> Option<String> {
    if !values() {
        return None;
    }
    lock_std(&SHOW).as_ref()?.get(&channel)?(v)
}

/// Records a value shown with [`value_text`] (nothing for `None`).
#[cold]
#[inline(never)]
pub(crate) fn emit_value(channel: u64, text: Option<String>) {
    if let Some(text) = text {
        emit(Ev::Value {
            channel,
            text: cut(text),
        });
    }
}

/// `text` cut to [`VALUE_CHARS`] characters, with an ellipsis if it was longer.
fn cut(mut text: String) -> String {
    if let Some((at, _)) = text.char_indices().nth(VALUE_CHARS) {
        text.truncate(at);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_values_are_cut_at_a_character() {
        assert_eq!(super::cut("short".into()), "short");
        let exact = "é".repeat(super::VALUE_CHARS);
        assert_eq!(super::cut(exact.clone()), exact);
        let long = "é".repeat(super::VALUE_CHARS + 5);
        assert_eq!(super::cut(long), format!("{exact}…"));
    }
}
