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

#[cfg(not(loom))]
pub(crate) use std_impl::*;

#[cfg(loom)]
pub(crate) use loom_impl::*;

/// Locks a mutex, ignoring std's lock poisoning: the core never panics while holding one of
/// its locks (user code never runs under them), so a poisoned lock still guards
/// consistent data.
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(not(loom))]
    {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
    #[cfg(loom)]
    {
        m.lock().unwrap()
    }
}
