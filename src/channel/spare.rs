//! One waiter kept by each end for its next wait.
//!
//! An async send or receive that must wait allocates a waiter (`Slot`, about 80 bytes)
//! and frees it when the wait ends. In a network of a million processes each blocked on a
//! channel, those allocations come and go a million at a time, on whichever worker runs
//! the process at that moment: an allocator gives a block freed on another thread back
//! only later, so the churn alone left a million-process ring's resident set about a
//! fifth above what it held live. Keeping the waiter with the end for the next wait makes
//! a process's waiter one allocation for its whole life, and a wait one allocation
//! cheaper.
//!
//! A waiter is kept only when nothing else refers to it (its count is 1): a channel's
//! queue or a peer that still holds a clone keeps it, and the end simply allocates again. A kept
//! waiter holds no waker (a no-op one instead), so the deadlock monitor, which counts a
//! process's waker clones, is not misled by it.

use std::ptr;
use std::sync::atomic::{fence, AtomicPtr, Ordering};
use std::sync::Arc;
use std::task::Waker;

use super::core::{SigRef, Slot};
use crate::loom::UnsafeCell;
use crate::wait::Signal;

/// At most one idle waiter (an `Arc<Slot<T>>` turned into a raw pointer; null: none). An
/// atomic rather than a `Cell`: an end is `Sync`, and two threads may wait on one end.
pub(crate) struct Spare<T>(AtomicPtr<Slot<T>>);

impl<T> Spare<T> {
    pub(crate) const fn new() -> Spare<T> {
        Spare(AtomicPtr::new(ptr::null_mut()))
    }
}

impl<T: Send + 'static> Spare<T> {
    /// A waiter with signal `sig` and value `value`: the kept one if there is one, else a
    /// new one.
    #[inline]
    pub(crate) fn waiter(&self, sig: Signal, value: Option<T>) -> Arc<Slot<T>> {
        let p = self.0.swap(ptr::null_mut(), Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: `p` came from `Arc::into_raw` in `keep`, which stored it only while it
            // was the one reference (there are no weak ones: a slot is never downgraded),
            // and the swap took it out: a pointer held only here cannot have been cloned,
            // so this is still the only reference, and the write is ordered after `keep`'s
            // by the swap's Acquire (the store's Release). `get_mut` would check that again
            // with a compare-exchange on every wait.
            unsafe {
                let s = &mut *p;
                s.sig = SigRef::Own(sig);
                s.guard = 0;
                s.value = UnsafeCell::new(value);
                return Arc::from_raw(p);
            }
        }
        Slot::owning(sig, value)
    }

    /// Keeps `slot` for the next wait if nothing else holds it, emptied of its waker and
    /// value; else drops it.
    #[inline]
    pub(crate) fn keep(&self, slot: Arc<Slot<T>>) {
        // Unique if its count is 1: there are no weak references to a slot, so nothing can
        // make a new one. A load instead of `get_mut`'s compare-exchange; the fence orders
        // the writes below after the other holders' drops (their Release decrements).
        if Arc::strong_count(&slot) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        let p = Arc::into_raw(slot).cast_mut();
        // SAFETY: the only reference (above); `into_raw` keeps its count for `p`.
        unsafe {
            (*p).sig = SigRef::Own(Signal::task(Waker::noop(), 0));
            (*p).value = UnsafeCell::new(None);
        }
        if self
            .0
            .compare_exchange(ptr::null_mut(), p, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // SAFETY: `p` is the count `into_raw` just gave up, not stored anywhere.
            drop(unsafe { Arc::from_raw(p) });
        }
    }
}

impl<T> Drop for Spare<T> {
    fn drop(&mut self) {
        let p = *self.0.get_mut();
        if !p.is_null() {
            // SAFETY: as in `waiter`: the count `keep` stored, owned by this spare alone.
            drop(unsafe { Arc::from_raw(p) });
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Nothing;
    impl Wake for Nothing {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn a_waiter_is_kept_only_when_unshared_and_without_its_waker() {
        let count = Arc::new(Nothing);
        let waker = Waker::from(count.clone());
        let spare = Spare::<u8>::new();
        let a = spare.waiter(Signal::task(&waker, 7), Some(1));
        let first = Arc::as_ptr(&a);
        let queued = a.clone();
        spare.keep(a);
        assert!(
            spare.0.load(Ordering::Relaxed).is_null(),
            "a shared waiter is not kept"
        );
        spare.keep(queued);
        assert!(
            !spare.0.load(Ordering::Relaxed).is_null(),
            "the last one is"
        );
        drop(waker);
        assert_eq!(Arc::strong_count(&count), 1, "a kept waiter holds no waker");
        let b = spare.waiter(Signal::task(Waker::noop(), 9), None);
        assert_eq!(Arc::as_ptr(&b), first, "the next wait reuses it");
        assert_eq!(b.sig.owner(), 9);
        // SAFETY: the only owner, not queued anywhere.
        assert_eq!(unsafe { b.take() }, None, "emptied of its value");
        assert!(spare.0.load(Ordering::Relaxed).is_null());
        let c = spare.waiter(Signal::task(Waker::noop(), 9), None);
        assert_ne!(Arc::as_ptr(&c), first, "none kept: a new one");
    }
}
