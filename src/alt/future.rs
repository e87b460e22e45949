//! The async form of a select.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::{Alt, Begun, Selected};
use crate::runtime::context::{self, Waiting};
use crate::time::TimerEntry;
use crate::wait::{Outcome, Signal};

/// Future of [`Alt::select_async`].
#[must_use = "futures do nothing unless polled"]
pub struct SelectFuture<'a> {
    alt: &'a mut Alt,
    waiting: Option<Arc<Signal>>,
    done: bool,
    /// The wake-up of the earliest timeout guard: one entry however often the future is
    /// polled, removed when the future completes or is dropped.
    timer: TimerEntry,
    /// The process's record of this wait, while pending.
    mark: Option<Waiting>,
}

impl<'a> SelectFuture<'a> {
    pub(super) fn new(alt: &'a mut Alt) -> Self {
        SelectFuture {
            alt,
            waiting: None,
            done: false,
            timer: TimerEntry::new(),
            mark: None,
        }
    }
}

impl Future for SelectFuture<'_> {
    type Output = Selected;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Selected> {
        let this = &mut *self;
        assert!(!this.done, "SelectFuture polled after completion");
        let sig = match &this.waiting {
            None => match this.alt.begin(Some(cx.waker())) {
                Begun::Done(sel) => {
                    this.done = true;
                    return Poll::Ready(sel);
                }
                Begun::Waiting(sig) => {
                    this.waiting = Some(sig.clone());
                    this.mark = Some(context::pending_on(&this.alt.waiting_on(), Some(&sig)));
                    sig
                }
            },
            Some(sig) => {
                sig.set_waker(cx.waker());
                sig.clone()
            }
        };
        let outcome = match sig.outcome() {
            Some(o) => Some(o),
            None => match this.alt.earliest {
                Some((_, d)) if Instant::now() >= d => Some(match sig.withdraw() {
                    Ok(()) => Outcome::Withdrawn,
                    Err(o) => o,
                }),
                Some((_, d)) => {
                    this.timer.arm(d, cx.waker());
                    None
                }
                None => None,
            },
        };
        match outcome {
            None => Poll::Pending,
            Some(o) => {
                this.waiting = None;
                this.mark = None;
                this.timer.disarm();
                this.done = true;
                Poll::Ready(this.alt.finish(&sig, o))
            }
        }
    }
}

impl Drop for SelectFuture<'_> {
    fn drop(&mut self) {
        if let Some(sig) = self.waiting.take() {
            self.alt.abandon(&sig);
        }
    }
}
