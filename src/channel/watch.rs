//! Waiting for a channel to close while waiting on something else: what a bridge to
//! another channel library does (`bridge`), so that poison or the last reader going
//! reaches it while it waits on the other library, not only at its next value.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use super::core::{Core, Inner};
use super::{Receiver, Sender};

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// Completes when its channel is closed in the sense of `closed` (checked by each poll);
/// until then its waker is registered with the channel, and dropping it unregisters.
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Closed<'a> {
    core: &'a Core,
    token: u64,
    closed: fn(&Inner) -> bool,
    watching: bool,
}

impl<'a> Closed<'a> {
    fn new(core: &'a Core, closed: fn(&Inner) -> bool) -> Self {
        Closed {
            core,
            token: NEXT_TOKEN.fetch_add(1, Ordering::Relaxed),
            closed,
            watching: false,
        }
    }
}

impl Future for Closed<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.core.watch(self.token, cx.waker(), self.closed) {
            self.watching = false;
            Poll::Ready(())
        } else {
            self.watching = true;
            Poll::Pending
        }
    }
}

impl Drop for Closed<'_> {
    fn drop(&mut self) {
        if self.watching {
            self.core.unwatch(self.token);
        }
    }
}

impl<T: Send + 'static> Sender<T> {
    /// Completes when no send can succeed any more: the channel is poisoned or every
    /// reader has gone.
    pub(crate) fn until_closed(&self) -> Closed<'_> {
        Closed::new(&self.core, |i| i.poisoned || i.receivers == 0)
    }
}

impl<T: Send + 'static> Receiver<T> {
    /// Completes when the channel is poisoned.
    pub(crate) fn until_poisoned(&self) -> Closed<'_> {
        Closed::new(&self.core, |i| i.poisoned)
    }

    /// For the only reader, about to go: the values the buffer holds, with no more let in
    /// (see `Core::drain_last_reader`); none if other readers remain, who may take them.
    pub(crate) fn drain_if_last(&self) -> Vec<T> {
        self.core.drain_last_reader().unwrap_or_default()
    }
}
