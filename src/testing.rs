//! What the crate's unit tests share: the watchdog every test that can block runs under.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

/// How long a test may take before the watchdog fails it.
pub(crate) const LIMIT: u64 = 30;

/// Runs `f` on its own thread and returns its result; fails with a message naming
/// `what` if it has not finished within [`LIMIT`] seconds. A panic in `f` is re-raised.
pub(crate) fn watchdog<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("watched: {what}"))
        .spawn(move || {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
        })
        .expect("cannot start the watched thread");
    match rx.recv_timeout(Duration::from_secs(LIMIT)) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => resume_unwind(panic),
        Err(_) => panic!("watchdog: {what} did not finish within {LIMIT}s"),
    }
}
