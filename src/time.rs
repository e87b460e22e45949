//! Timers: sleeping, absolute deadlines (occam's `TIMER`), and the wake-ups behind async
//! timeouts.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::runtime::context;
use crate::wait::WaitOn;

/// The current time, for computing deadlines (occam's `tim ? t`).
///
/// # Examples
/// ```
/// let t0 = occamy::now();
/// occamy::sleep_until(t0 + std::time::Duration::from_millis(1));
/// assert!(occamy::now() >= t0 + std::time::Duration::from_millis(1));
/// ```
pub fn now() -> Instant {
    Instant::now()
}

/// Sleeps for `d`.
///
/// # Blocking
/// Blocks the calling thread for `d`; the process is recorded as waiting on a timer, so
/// it never counts as deadlocked. Poison does not interrupt a sleep: use an alt with a
/// timeout guard beside the channels to watch for poison while waiting.
///
/// # Examples
/// ```
/// occamy::sleep(std::time::Duration::from_millis(1));
/// ```
pub fn sleep(d: Duration) {
    sleep_until(Instant::now() + d)
}

/// Sleeps until `deadline` (occam's `tim ? AFTER t`); see [`sleep`].
pub fn sleep_until(deadline: Instant) {
    context::park(&[WaitOn::Timer], None, None, &mut || loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep(deadline - now);
    })
}

/// Sleeps for `d` in async code.
///
/// # Cancel safety
/// Dropping the future removes its wake-up: nothing of it stays behind.
///
/// # Examples
/// ```
/// futures::executor::block_on(occamy::sleep_async(std::time::Duration::from_millis(1)));
/// ```
pub fn sleep_async(d: Duration) -> Sleep {
    sleep_until_async(Instant::now() + d)
}

/// Sleeps until `deadline` in async code; see [`sleep_async`].
pub fn sleep_until_async(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        timer: TimerEntry::new(),
        mark: None,
    }
}

/// Future of [`sleep_async`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Instant,
    timer: TimerEntry,
    mark: Option<context::Waiting>,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if Instant::now() >= this.deadline {
            this.timer.disarm();
            this.mark = None;
            Poll::Ready(())
        } else {
            this.timer.arm(this.deadline, cx.waker());
            if this.mark.is_none() {
                this.mark = Some(context::pending_on::<crate::wait::Signal>(
                    &[WaitOn::Timer],
                    None,
                ));
            }
            Poll::Pending
        }
    }
}

type Key = (Instant, u64);

/// The timer thread's queue: wake-ups by deadline (and a sequence number, so that equal
/// deadlines stay distinct keys).
struct Wheel {
    entries: Mutex<(BTreeMap<Key, Waker>, u64)>,
    cv: Condvar,
}

fn lock_wheel(w: &Wheel) -> MutexGuard<'_, (BTreeMap<Key, Waker>, u64)> {
    w.entries.lock().unwrap_or_else(|e| e.into_inner())
}

fn wheel() -> &'static Wheel {
    static WHEEL: OnceLock<&'static Wheel> = OnceLock::new();
    WHEEL.get_or_init(|| {
        let w: &'static Wheel = Box::leak(Box::new(Wheel {
            entries: Mutex::new((BTreeMap::new(), 0)),
            cv: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("occamy-timer".into())
            .spawn(move || w.run())
            .expect("occamy: cannot start the timer thread");
        w
    })
}

impl Wheel {
    fn run(&self) {
        let mut g = lock_wheel(self);
        loop {
            let now = Instant::now();
            let mut due = Vec::new();
            while let Some(e) = g.0.first_entry() {
                if e.key().0 > now {
                    break;
                }
                due.push(e.remove());
            }
            if !due.is_empty() {
                // Wake without the lock: a woken task may re-arm at once.
                drop(g);
                due.into_iter().for_each(Waker::wake);
                g = lock_wheel(self);
                continue;
            }
            g = match g.0.first_key_value() {
                None => self.cv.wait(g).unwrap_or_else(|e| e.into_inner()),
                Some((k, _)) => {
                    let d = k.0 - now;
                    self.cv
                        .wait_timeout(g, d)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

/// One future's wake-up at a deadline: at most one entry in the timer's queue, whose
/// waker a later poll updates in place, and which goes when the future completes or is
/// dropped (an alt with a 10 s timeout polled a million times holds one entry, not a
/// million wakers).
#[derive(Debug, Default)]
pub(crate) struct TimerEntry {
    key: Option<Key>,
}

impl TimerEntry {
    pub(crate) fn new() -> TimerEntry {
        TimerEntry { key: None }
    }

    /// Wakes `waker` at `at` (replacing what this entry asked before).
    pub(crate) fn arm(&mut self, at: Instant, waker: &Waker) {
        let w = wheel();
        let mut g = lock_wheel(w);
        if let Some(key) = self.key {
            if key.0 == at {
                if let Some(old) = g.0.get_mut(&key) {
                    if !old.will_wake(waker) {
                        *old = waker.clone();
                    }
                    return;
                }
                // Fired already (the wake is on its way or came early): arm anew.
            } else {
                g.0.remove(&key);
            }
        }
        g.1 += 1;
        let key = (at, g.1);
        let earliest = g.0.first_key_value().is_none_or(|(k, _)| key < *k);
        g.0.insert(key, waker.clone());
        self.key = Some(key);
        drop(g);
        if earliest {
            w.cv.notify_one();
        }
    }

    /// Removes the wake-up, if any.
    pub(crate) fn disarm(&mut self) {
        if let Some(key) = self.key.take() {
            lock_wheel(wheel()).0.remove(&key);
        }
    }
}

impl Drop for TimerEntry {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// How many wake-ups the timer holds (for tests).
#[cfg(test)]
pub(crate) fn pending_timers() -> usize {
    lock_wheel(wheel()).0.len()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::alt::Alt;

    fn noop() -> Waker {
        struct Noop;
        impl std::task::Wake for Noop {
            fn wake(self: std::sync::Arc<Self>) {}
        }
        Waker::from(std::sync::Arc::new(Noop))
    }

    // Other tests of this binary may arm timers meanwhile, so count this test's own
    // entries against a generous bound rather than an exact total.
    #[test]
    fn a_pending_alt_with_a_timeout_holds_one_entry_however_often_polled() {
        let (_tx, rx) = crate::channel::channel::<u8>();
        let mut alt = Alt::new();
        alt.recv(&rx);
        alt.timeout(Duration::from_secs(10));
        let before = pending_timers();
        let waker = noop();
        let mut cx = Context::from_waker(&waker);
        {
            let mut fut = alt.select_async();
            for _ in 0..1_000_000 {
                assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
            }
            assert!(pending_timers() <= before + 1 + 64);
        }
        // Dropped: its entry is gone.
        assert!(pending_timers() <= before + 64);
    }

    #[test]
    fn a_dropped_sleep_leaves_no_entry() {
        let waker = noop();
        let mut cx = Context::from_waker(&waker);
        let before = pending_timers();
        let mut sleeps: Vec<Sleep> = (0..1000)
            .map(|_| sleep_async(Duration::from_secs(10)))
            .collect();
        for s in &mut sleeps {
            assert!(Pin::new(&mut *s).poll(&mut cx).is_pending());
            assert!(Pin::new(s).poll(&mut cx).is_pending());
        }
        assert!(pending_timers() >= before + 1000 - 64);
        drop(sleeps);
        assert!(pending_timers() <= before + 64);
    }
}
