//! Helpers shared by the integration tests.
//!
//! Every test that can block runs under [`watchdog`], so that a bug that makes a
//! process network hang fails the test with a message instead of hanging CI.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

/// A generous limit for ordinary blocking tests (CI has two noisy cores).
pub const LIMIT: u64 = 30;

/// Runs `f` on its own thread and returns its result; panics with
/// "watchdog: {what} did not finish within {secs}s" if it has not finished by then.
/// A panic inside `f` is re-raised on the calling thread with its own message.
pub fn watchdog<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("watched: {what}"))
        .spawn(move || {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
        })
        .expect("cannot start the watched thread");
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => resume_unwind(panic),
        Err(_) => panic!("watchdog: {what} did not finish within {secs}s"),
    }
}

/// Joins a thread under a watchdog, re-raising its panic.
pub fn join<T: Send + 'static>(what: &str, h: std::thread::JoinHandle<T>) -> T {
    watchdog(LIMIT, what, move || match h.join() {
        Ok(v) => v,
        Err(p) => resume_unwind(p),
    })
}

/// Gives other threads a moment to run and block. Only ever used to make a scenario
/// *likely* (e.g. a reader blocked before the channel is poisoned); every test that uses
/// it is correct whichever way the race goes.
pub fn pause() {
    std::thread::sleep(Duration::from_millis(50));
}

/// Polls `fut` once with a waker that does nothing.
pub fn poll_once<F: std::future::Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    std::pin::Pin::new(fut).poll(&mut cx)
}
