//! One waiter kept by each end for its waits, lent to each in turn.
//!
//! An async send or receive that must wait needs a waiter (`Slot`, about 80 bytes). In a
//! network of a million processes each blocked on a channel, allocating one per wait
//! made waiters come and go a million at a time, on whichever worker ran the process at
//! that moment: an allocator gives a block freed on another thread back only later, so
//! the churn alone left a million-process ring's resident set about a fifth above what it
//! held live. So each end keeps one waiter for its whole life and *lends* it to each wait:
//! a process's waiter is one allocation, and a wait costs none.
//!
//! The spare is one word: the waiter's pointer (it holds one count of it), with its low
//! bit set while the waiter is lent. Two rules make it a load and a store each way, with
//! no read-modify-write:
//! - only a party holding the end's channel lock lends (`waiter`), so no two lend at once;
//! - only the borrower gives back (`release`), and it alone writes the word while the
//!   waiter is lent.
//!
//! A waiter is lent only when nothing else refers to it (a peer that took it from the
//! queue lets go of it just after waking its owner): a borrower that finds a count besides
//! the spare's when giving it back lets the spare forget it, and the next wait makes a new
//! one. A second wait on the same end while the waiter is lent (two threads sharing an
//! end) gets a waiter of its own. A waiter at rest holds no waker (a no-op one instead) and
//! no value, so the deadlock monitor, which counts a process's waker clones, is not misled
//! by it, and a finished task is not kept alive by an end that outlives it.

use std::ops::Deref;
use std::ptr::{self, NonNull};
use std::sync::atomic::{fence, AtomicPtr, Ordering};
use std::sync::Arc;
use std::task::Waker;

use super::core::{SigRef, Slot};
use crate::loom::UnsafeCell;
use crate::wait::Signal;

/// The tag of a lent waiter's pointer (a `Slot` is word-aligned, so the bit is free).
const LENT: usize = 1;

/// An end's waiter, or null; tagged `LENT` while a wait has it. The word holds one count
/// of the waiter (`Arc::into_raw`).
pub(crate) struct Spare<T>(AtomicPtr<Slot<T>>);

impl<T> Spare<T> {
    pub(crate) const fn new() -> Spare<T> {
        Spare(AtomicPtr::new(ptr::null_mut()))
    }
}

/// The waiter a wait uses: the end's, lent (its count stays with the spare), or one of its
/// own (the end's was lent already). Dereferences to the waiter.
pub(crate) enum Waiting<T> {
    Lent(NonNull<Slot<T>>),
    Own(Arc<Slot<T>>),
}

// SAFETY: a lent waiter is used exactly as an `Arc<Slot<T>>` would be (the spare's count
// keeps it alive until `release`), and `Slot<T>` is `Send + Sync` for `T: Send`.
unsafe impl<T: Send> Send for Waiting<T> {}
unsafe impl<T: Send> Sync for Waiting<T> {}

impl<T> Deref for Waiting<T> {
    type Target = Slot<T>;
    #[inline]
    fn deref(&self) -> &Slot<T> {
        match self {
            // SAFETY: the spare's count keeps a lent waiter alive until it is released,
            // which consumes this.
            Waiting::Lent(p) => unsafe { p.as_ref() },
            Waiting::Own(a) => a,
        }
    }
}

impl<T: Send + 'static> Spare<T> {
    /// A waiter with signal `sig` and value `value`, for a wait, and a count of it for
    /// the channel's queue. Called only with the end's channel locked.
    #[inline]
    pub(crate) fn waiter(&self, sig: Signal, value: Option<T>) -> (Waiting<T>, Arc<Slot<T>>) {
        // Only lock holders write a word that is not tagged, so what we read stays until
        // we write; Acquire: the last borrower's reset (its Release) is seen.
        let p = self.0.load(Ordering::Acquire);
        if p.addr() & LENT != 0 {
            let own = Slot::owning(sig, value);
            let queued = own.clone();
            return (Waiting::Own(own), queued);
        }
        let p = if p.is_null() {
            Arc::into_raw(Slot::owning(sig, value)).cast_mut()
        } else {
            // SAFETY: at rest, so the spare's count is the only one (`release` leaves it
            // only then, and only lending clones it): no one else touches the waiter.
            unsafe {
                let s = &mut *p;
                s.sig = SigRef::Own(sig);
                s.guard = 0;
                s.value = UnsafeCell::new(value);
            }
            p
        };
        self.0.store(p.map_addr(|a| a | LENT), Ordering::Relaxed);
        // SAFETY: `p` holds the spare's count; this adds the queue's.
        let queued = unsafe {
            Arc::increment_strong_count(p);
            Arc::from_raw(p)
        };
        // SAFETY: not null (a live waiter's address).
        (Waiting::Lent(unsafe { NonNull::new_unchecked(p) }), queued)
    }

    /// Gives back a waiter whose wait is over: its outcome taken (and its value, if it
    /// was the owner's to take), or withdrawn, so that its owner touches it no more. A
    /// value still in it is dropped.
    #[inline]
    pub(crate) fn release(&self, w: Waiting<T>) {
        let p = match w {
            Waiting::Own(a) => return drop(a),
            Waiting::Lent(p) => p.as_ptr(),
        };
        // SAFETY: the spare's count keeps it alive (`ManuallyDrop`: not ours to drop).
        let alone =
            Arc::strong_count(&std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(p) })) == 1;
        if alone {
            // A load instead of `get_mut`'s compare-exchange: there are no weak
            // references to a waiter and only lending clones it, so a count of 1 stays
            // 1; the fence orders what follows after the other holders' drops.
            fence(Ordering::Acquire);
            // SAFETY: the only reference, as just said.
            unsafe {
                (*p).sig = SigRef::Own(Signal::task(Waker::noop(), 0));
                (*p).value = UnsafeCell::new(None);
            }
            // Release: the next borrower sees the reset.
            self.0.store(p, Ordering::Release);
        } else {
            // A peer still holds it: the spare forgets it, and the peer frees it.
            self.0.store(ptr::null_mut(), Ordering::Release);
            // SAFETY: the spare's count, which the word no longer holds.
            drop(unsafe { Arc::from_raw(p) });
        }
    }
}

impl<T> Drop for Spare<T> {
    fn drop(&mut self) {
        let p = *self.0.get_mut();
        if !p.is_null() {
            // SAFETY: the spare's count. Lent only if a future borrowing the end was
            // leaked, which touches it no more; the queue's count keeps it while queued.
            drop(unsafe { Arc::from_raw(p.map_addr(|a| a & !LENT)) });
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
    fn a_waiter_is_lent_again_only_when_unshared_and_without_its_waker() {
        let count = Arc::new(Nothing);
        let waker = Waker::from(count.clone());
        let spare = Spare::<u8>::new();
        let (a, queued) = spare.waiter(Signal::task(&waker, 7), Some(1));
        assert!(
            matches!(a, Waiting::Lent(_)),
            "the first wait makes the end's"
        );
        let first: *const Slot<u8> = &*a;
        let (b, b_queued) = spare.waiter(Signal::task(Waker::noop(), 8), None);
        assert!(matches!(b, Waiting::Own(_)), "lent already: a second one");
        drop(b_queued);
        spare.release(b);
        // SAFETY: the test is the owner: nothing else takes the value.
        assert_eq!(unsafe { a.take() }, Some(1));
        drop(queued);
        spare.release(a);
        drop(waker);
        assert_eq!(
            Arc::strong_count(&count),
            1,
            "a waiter at rest holds no waker"
        );
        let (c, c_queued) = spare.waiter(Signal::task(Waker::noop(), 9), None);
        assert_eq!(&*c as *const Slot<u8>, first, "the next wait reuses it");
        assert_eq!(c.sig.owner(), 9);
        // SAFETY: as above.
        assert_eq!(unsafe { c.take() }, None, "emptied of its value");
        // Given back while the queue (a peer) still holds it: forgotten, not reused.
        spare.release(c);
        let (d, d_queued) = spare.waiter(Signal::task(Waker::noop(), 9), None);
        assert_ne!(
            &*d as *const Slot<u8>, first,
            "shared at release: a new one"
        );
        assert!(matches!(d, Waiting::Lent(_)));
        drop(c_queued);
        drop(d_queued);
        spare.release(d);
    }
}
