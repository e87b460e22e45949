//! Timers: sleeping, absolute deadlines (occam's `TIMER`), and the wake-ups behind async
//! timeouts.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

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
    let _w = crate::record::WaitingGuard::enter(&[WaitOn::Timer], None);
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep(deadline - now);
    }
}

/// Sleeps for `d` in async code.
///
/// # Examples
/// ```
/// futures::executor::block_on(occamy::sleep_async(std::time::Duration::from_millis(1)));
/// ```
pub fn sleep_async(d: Duration) -> Sleep {
    Sleep {
        deadline: Instant::now() + d,
    }
}

/// Future of [`sleep_async`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Instant,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            Poll::Ready(())
        } else {
            wake_at(self.deadline, cx.waker().clone());
            Poll::Pending
        }
    }
}

struct Entry {
    at: Instant,
    seq: u64,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

struct Wheel {
    heap: Mutex<(BinaryHeap<Reverse<Entry>>, u64)>,
    cv: Condvar,
}

fn wheel() -> &'static Wheel {
    static WHEEL: OnceLock<&'static Wheel> = OnceLock::new();
    WHEEL.get_or_init(|| {
        let w: &'static Wheel = Box::leak(Box::new(Wheel {
            heap: Mutex::new((BinaryHeap::new(), 0)),
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
        let mut g = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            while g.0.peek().is_some_and(|e| e.0.at <= now) {
                let Reverse(e) = g.0.pop().expect("peeked");
                e.waker.wake();
            }
            g = match g.0.peek() {
                None => self.cv.wait(g).unwrap_or_else(|e| e.into_inner()),
                Some(e) => {
                    let d = e.0.at - now;
                    self.cv
                        .wait_timeout(g, d)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

/// Wakes `waker` at `at` (used by async timeouts). A waker woken for nothing is harmless,
/// so nothing is ever deregistered.
pub(crate) fn wake_at(at: Instant, waker: Waker) {
    let w = wheel();
    let mut g = w.heap.lock().unwrap_or_else(|e| e.into_inner());
    g.1 += 1;
    let seq = g.1;
    let earliest = g.0.peek().is_none_or(|e| at < e.0.at);
    g.0.push(Reverse(Entry { at, seq, waker }));
    drop(g);
    if earliest {
        w.cv.notify_one();
    }
}
