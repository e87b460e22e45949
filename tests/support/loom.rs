//! Helpers of the loom models (tests/loom.rs, tests/loom_async.rs): the model runner with
//! its preemption bounds, the ledger of tokens that checks no value is lost or duplicated,
//! a flag waker.

// Each model file uses its own subset.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

/// Explores every interleaving (the models with two threads are small enough).
pub const EXHAUSTIVE: Option<usize> = None;

/// Runs `f` under loom with the given preemption bound (`LOOM_MAX_PREEMPTIONS` overrides
/// it). Models with three threads get a bound that keeps each under ten seconds (the whole
/// file runs in well under a minute); deeper runs: `LOOM_MAX_PREEMPTIONS=6`. Prints the
/// number of executions explored (see them with `--nocapture`).
pub fn model(bound: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = bound;
    }
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    let started = std::time::Instant::now();
    b.check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f()
    });
    eprintln!(
        "{}: {} executions, preemption bound {:?}, {:.2?}",
        std::thread::current().name().unwrap_or("model"),
        runs.load(std::sync::atomic::Ordering::Relaxed),
        b.preemption_bound,
        started.elapsed()
    );
}

/// Where the tokens of one model execution ended up.
#[derive(Clone)]
pub struct Ledger {
    accepted: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger {
            accepted: Arc::new(AtomicUsize::new(0)),
            dropped: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn token(&self, id: u32) -> Token {
        Token {
            id,
            ledger: self.clone(),
            accepted: false,
        }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(SeqCst)
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(SeqCst)
    }

    #[track_caller]
    pub fn check(&self, accepted: usize, dropped: usize) {
        assert_eq!(
            (self.accepted(), self.dropped()),
            (accepted, dropped),
            "(accepted, dropped)"
        );
    }
}

/// A value that counts, on drop, whether it had been accepted by its final owner.
pub struct Token {
    pub id: u32,
    ledger: Ledger,
    accepted: bool,
}

impl Token {
    /// The final owner takes the value: it counts as delivered (or recovered) once.
    pub fn accept(mut self) -> u32 {
        self.accepted = true;
        self.id
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        if self.accepted {
            self.ledger.accepted.fetch_add(1, SeqCst);
        } else {
            self.ledger.dropped.fetch_add(1, SeqCst);
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({})", self.id)
    }
}

/// A waker that only records that it was woken.
pub struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

pub fn flag_waker() -> (Arc<Flag>, Waker) {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    (flag.clone(), Waker::from(flag))
}

pub fn poll_once<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}
