//! Helpers shared by the integration tests.
//!
//! Every test that can block runs under [`watchdog`], so that a bug that makes a
//! process network hang fails the test with a message instead of hanging CI.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

#[cfg(feature = "mpi")]
pub mod mpirun;

use std::io::Read;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::process::Child;
#[cfg(feature = "launcher")]
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

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

/// How long one run of the `occamy` binary may take before the watchdog kills it.
pub const BINARY_LIMIT: Duration = Duration::from_secs(60);

/// What one run of a binary did.
pub struct Run {
    /// The command line, for messages.
    pub what: String,
    /// Its exit code (`None` if a signal ended it).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// The `occamy` binary with `args`, run from the crate's directory, with piped output, no
/// input, and none of the environment that changes what it prints.
#[cfg(feature = "launcher")]
pub fn occamy_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_occamy"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("OCCAMY_DOT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Reads a child's pipe to the end on its own thread (so a child that prints a lot never
/// blocks on a full pipe while we wait for it).
fn drain(r: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    let mut r = r.expect("piped");
    thread::spawn(move || {
        let mut b = Vec::new();
        let _ = r.read_to_end(&mut b);
        String::from_utf8_lossy(&b).into_owned()
    })
}

/// Waits for `child` under the watchdog (killing it and failing after [`BINARY_LIMIT`])
/// and collects what it printed.
pub fn finish(mut child: Child, what: &str) -> Run {
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if start.elapsed() > BINARY_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "watchdog: `{what}` did not end within {}s; killed it\n--- stdout:\n{}\n--- stderr:\n{}",
                BINARY_LIMIT.as_secs(),
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    Run {
        what: what.to_string(),
        code: status.code(),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// Runs the `occamy` binary with `args` under the watchdog.
#[cfg(feature = "launcher")]
pub fn occamy(args: &[&str]) -> Run {
    let child = occamy_command(args)
        .spawn()
        .expect("cannot start the occamy binary");
    finish(child, &format!("occamy {}", args.join(" ")))
}

pub fn blessing() -> bool {
    std::env::var("OCCAMY_BLESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Compares `actual` with tests/golden/NAME, or rewrites it under OCCAMY_BLESS=1.
pub fn golden(name: &str, actual: &str) {
    let bless = concat!(
        "`OCCAMY_BLESS=1 cargo test --test ",
        env!("CARGO_CRATE_NAME"),
        "`"
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if blessing() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        eprintln!("blessed {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| {
            panic!(
                "cannot read the golden file {}: {e}\n  help: {bless} writes it",
                path.display()
            )
        })
        .replace("\r\n", "\n");
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the golden file at line {}:\n  expected: {:?}\n  actual:   {:?}\n\
             --- actual output:\n{actual}\n  help: if the change is intended, \
             {bless} rewrites the golden files",
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>"),
        );
    }
}
