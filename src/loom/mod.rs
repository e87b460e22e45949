//! Synchronisation primitives the core uses, switched to loom's models under `--cfg loom`
//! (the same shim tokio keeps in `src/loom/`). Code in `wait`, `channel` and `alt` imports
//! from here, never from `std::sync` directly, so that the loom tests check the real code.
//! (`Arc` stays std's: the core needs `Arc<dyn Trait>`, and reference counts are not what
//! the models check.)

#[cfg(not(loom))]
mod std_impl {
    pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
    pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

    /// `std::cell::UnsafeCell` with loom's access API, so that the models check every
    /// access to a cell the core guards by protocol rather than by a lock.
    #[derive(Debug, Default)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(v: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(v))
        }

        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// Spins briefly (with a growing backoff) while `ready` says no. Returns whether it
    /// became ready. Spinning first lets a rendezvous whose peer is already running complete
    /// without the cost of a futex sleep and wake-up; loom models skip it.
    #[inline]
    pub(crate) fn spin_until(mut ready: impl FnMut() -> bool) -> bool {
        let backoff = crossbeam_utils::Backoff::new();
        while !backoff.is_completed() {
            if ready() {
                return true;
            }
            backoff.snooze();
        }
        ready()
    }
}

#[cfg(loom)]
mod loom_impl {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
    pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

    pub(crate) fn spin_until(mut ready: impl FnMut() -> bool) -> bool {
        ready()
    }
}

/// The lock over a channel's state (`channel::Core`): a spin lock whose unlock is a plain
/// store, as crossbeam-channel's zero-capacity flavour locks its state. A rendezvous takes
/// two channel locks, and std's futex mutex spends an atomic read-modify-write on each
/// unlock (to learn whether a sleeper needs waking), about a tenth of a green hop's cost on
/// these machines. That is affordable here because nothing waits while holding a channel
/// lock: a critical section is a few queue operations and compare-exchanges, and never
/// runs user code but a value's `Debug` when recording. A contender spins with a growing
/// backoff, then yields its thread between tries, so a holder whose thread the OS
/// preempted gets the processor back (thread processes on 2 cores, at worst).
#[cfg(not(loom))]
mod spin {
    use std::cell::UnsafeCell;
    use std::ops::{Deref, DerefMut};
    use std::sync::atomic::{AtomicBool, Ordering};

    #[derive(Default)]
    pub(crate) struct SpinLock<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the flag gives the value to one thread at a time, as a mutex does.
    unsafe impl<T: Send> Sync for SpinLock<T> {}
    unsafe impl<T: Send> Send for SpinLock<T> {}

    impl<T> SpinLock<T> {
        pub(crate) const fn new(v: T) -> SpinLock<T> {
            SpinLock {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(v),
            }
        }

        #[inline]
        pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
            if !self.try_take() {
                self.lock_contended();
            }
            SpinGuard { lock: self }
        }

        /// One attempt. Acquire: the holder sees what the previous one wrote before its
        /// Release.
        #[inline]
        fn try_take(&self) -> bool {
            self.locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        }

        #[cold]
        fn lock_contended(&self) {
            let backoff = crossbeam_utils::Backoff::new();
            loop {
                // Reads while it is held, so the waiting does not bounce the line.
                if !self.locked.load(Ordering::Relaxed) && self.try_take() {
                    return;
                }
                if backoff.is_completed() {
                    std::thread::yield_now();
                } else {
                    backoff.snooze();
                }
            }
        }
    }

    /// Holds a [`SpinLock`] until dropped (on unwind too).
    pub(crate) struct SpinGuard<'a, T> {
        lock: &'a SpinLock<T>,
    }

    impl<T> Deref for SpinGuard<'_, T> {
        type Target = T;
        #[inline]
        fn deref(&self) -> &T {
            // SAFETY: the guard holds the lock.
            unsafe { &*self.lock.value.get() }
        }
    }

    impl<T> DerefMut for SpinGuard<'_, T> {
        #[inline]
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: the guard holds the lock, and `&mut self` makes this borrow unique.
            unsafe { &mut *self.lock.value.get() }
        }
    }

    impl<T> Drop for SpinGuard<'_, T> {
        #[inline]
        fn drop(&mut self) {
            self.lock.locked.store(false, Ordering::Release);
        }
    }
}

#[cfg(not(loom))]
pub(crate) use spin::{SpinGuard, SpinLock};

/// Under loom the channel lock is loom's mutex, so that the models check every critical
/// section (the spin lock's own protocol is two lines a model adds nothing to).
#[cfg(loom)]
pub(crate) type SpinLock<T> = loom_impl::Mutex<T>;
#[cfg(loom)]
pub(crate) type SpinGuard<'a, T> = loom_impl::MutexGuard<'a, T>;

#[cfg(not(loom))]
pub(crate) use std_impl::*;

#[cfg(loom)]
pub(crate) use loom_impl::*;

/// Locks a mutex, ignoring std's lock poisoning: the core never panics while holding one of
/// its locks (user code never runs under them), so a poisoned lock still guards
/// consistent data.
#[inline]
pub(crate) fn lock<L: Lock + ?Sized>(m: &L) -> L::Guard<'_> {
    m.acquire()
}

/// What [`lock`] takes: a mutex, or the channel lock.
pub(crate) trait Lock {
    type Guard<'a>
    where
        Self: 'a;
    fn acquire(&self) -> Self::Guard<'_>;
}

impl<T> Lock for Mutex<T> {
    type Guard<'a>
        = MutexGuard<'a, T>
    where
        T: 'a;
    #[inline]
    fn acquire(&self) -> MutexGuard<'_, T> {
        #[cfg(not(loom))]
        {
            self.lock().unwrap_or_else(|e| e.into_inner())
        }
        #[cfg(loom)]
        {
            self.lock().unwrap()
        }
    }
}

#[cfg(not(loom))]
impl<T> Lock for SpinLock<T> {
    type Guard<'a>
        = SpinGuard<'a, T>
    where
        T: 'a;
    #[inline]
    fn acquire(&self) -> SpinGuard<'_, T> {
        self.lock()
    }
}
