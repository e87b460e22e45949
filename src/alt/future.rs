//! The async form of a select.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::{Alt, Begun, Event, Selected};
use crate::runtime::context::{self, Waiting};
use crate::time::TimerEntry;
use crate::wait::{Outcome, Signal};

/// Future of [`Alt::select_async`].
#[must_use = "futures do nothing unless polled"]
pub struct SelectFuture<'a> {
    /// Handed on to the [`Selected`] when the select completes.
    alt: Option<&'a mut Alt>,
    waiting: Option<Arc<Signal>>,
    /// The wake-up of the earliest timeout guard: one entry however often the future is
    /// polled, removed when the future completes or is dropped.
    timer: TimerEntry,
    /// The process's record of this wait, while pending.
    mark: Option<Waiting>,
}

impl<'a> SelectFuture<'a> {
    pub(super) fn new(alt: &'a mut Alt) -> Self {
        SelectFuture {
            alt: Some(alt),
            waiting: None,
            timer: TimerEntry::new(),
            mark: None,
        }
    }
}

impl<'a> Future for SelectFuture<'a> {
    type Output = Selected<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Selected<'a>> {
        let this = &mut *self;
        let alt = this
            .alt
            .as_deref_mut()
            .expect("SelectFuture polled after completion");
        let mut again = false;
        loop {
            let (sig, fired) = match &this.waiting {
                None => match if again {
                    alt.begin_again(Some(cx.waker()))
                } else {
                    alt.begin(Some(cx.waker()))
                } {
                    Begun::Done(index, event) => return Poll::Ready(this.complete(index, event)),
                    Begun::Waiting(sig) => {
                        this.waiting = Some(sig.clone());
                        this.mark = Some(context::pending_on(&alt.recorded_waits(), Some(&sig)));
                        let fired = sig.outcome();
                        (sig, fired)
                    }
                },
                Some(sig) => (sig.clone(), sig.poll_outcome(cx.waker())),
            };
            let outcome = match fired {
                Some(o) => Some(o),
                None => match alt.earliest {
                    Some((_, d)) if Instant::now() >= d => match sig.withdraw() {
                        Ok(()) => Some(Outcome::Withdrawn),
                        Err(Some(o)) => Some(o),
                        // Claimed by an extended rendezvous: too late to time out; the
                        // claimer's completion wakes this task.
                        Err(None) => None,
                    },
                    Some((_, d)) => {
                        this.timer.arm(d, cx.waker());
                        None
                    }
                    None => None,
                },
            };
            match outcome {
                None => return Poll::Pending,
                Some(Outcome::Retry(_)) => {
                    // Given back by a claimer (its remote reader left): enrol again, as if
                    // the claim had never happened; the timeouts still count from the start.
                    this.waiting = None;
                    this.mark = None;
                    this.timer.disarm();
                    alt.retry(&sig);
                    again = true;
                }
                Some(o) => {
                    this.waiting = None;
                    this.mark = None;
                    this.timer.disarm();
                    let (index, event) = alt.finish(&sig, o);
                    return Poll::Ready(this.complete(index, event));
                }
            }
        }
    }
}

impl<'a> SelectFuture<'a> {
    fn complete(&mut self, index: usize, event: Event) -> Selected<'a> {
        Selected {
            alt: self.alt.take().expect("a select completes once"),
            index,
            event,
        }
    }
}

impl Drop for SelectFuture<'_> {
    fn drop(&mut self) {
        if let (Some(sig), Some(alt)) = (self.waiting.take(), self.alt.as_deref_mut()) {
            alt.abandon(&sig);
        }
    }
}
