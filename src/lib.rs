//! # occamy: CSP process networks for Rust
//!
//! occamy programs are networks of *processes* that share nothing and talk only over
//! typed, synchronous *channels*, in the tradition of occam, JCSP and PyCSP.
//!
//! ## A complete small network
//! occam's classic *commstime* loop with a consumer: `prefix` emits 0 then copies its input,
//! `delta` copies each value to two outputs, `succ` adds one. The consumer takes ten values
//! and poisons its input; the poison spreads through the loop and the network ends.
//! ```
//! use occamy::{channel, par, Process, Result};
//!
//! let (a_tx, a_rx) = channel::<u64>(); // prefix -> delta
//! let (b_tx, b_rx) = channel::<u64>(); // delta -> succ
//! let (c_tx, c_rx) = channel::<u64>(); // succ -> prefix
//! let (d_tx, d_rx) = channel::<u64>(); // delta -> consumer
//!
//! par([
//!     Process::new("prefix", move || -> Result {
//!         a_tx.send(0)?;
//!         loop { a_tx.send(c_rx.recv()?)?; }
//!     }),
//!     Process::new("delta", move || -> Result {
//!         loop {
//!             let v = a_rx.recv()?;
//!             d_tx.send(v)?; // occam's SEQ delta: one output after the other
//!             b_tx.send(v)?;
//!         }
//!     }),
//!     Process::new("succ", move || -> Result {
//!         loop { c_tx.send(b_rx.recv()? + 1)?; }
//!     }),
//!     Process::new("consumer", move || -> Result {
//!         let got: Vec<u64> = (0..10).map(|_| d_rx.recv()).collect::<std::result::Result<_, _>>()?;
//!         assert_eq!(got, (0..10).collect::<Vec<_>>());
//!         d_rx.poison(); // ends the network: poison spreads to every process
//!         Ok(())
//!     }),
//! ])
//! .expect("no process failed");
//! ```
//!
//! ## Channels
//! [`channel`] makes a rendezvous channel: [`Sender::send`] returns only once a reader has
//! taken the value. [`buffered`] adds a FIFO buffer. Ends clone for any-to-one,
//! one-to-any and any-to-any channels. Every operation has a blocking form, `try_`,
//! `_timeout` and async (`send_async`, `recv_async`) forms; a failed send gives its value
//! back in the error. [`channels`] makes `n` channels at once; [`Sender::clones`] and
//! [`Receiver::clones`] hand one end out to `n` processes (a farm's workers).
//! ```
//! let (tx, rx) = occamy::channel::<String>();
//! let rx2 = rx.clone(); // a second reader
//! std::thread::spawn(move || { tx.send("one".into()).unwrap(); tx.send("two".into()).unwrap(); });
//! let mut got = vec![rx.recv().unwrap(), rx2.recv().unwrap()];
//! got.sort();
//! assert_eq!(got, ["one", "two"]);
//! ```
//!
//! ## Alt
//! [`Alt`] (and the [`alt!`] / [`pri_alt!`] macros) waits for the first of several input,
//! output, timeout and skip guards, with fair or priority choice ([`Alt`] says precisely
//! what fair guarantees: a uniformly random ready guard for a fresh alt, whatever the
//! guards' positions; round-robin for a reused one). Input and output guards are typed
//! handles ([`RecvGuard`], [`SendGuard`]) that take the received value out of the
//! [`Selected`] with its type.
//! ```
//! use std::time::Duration;
//! let (tx, rx) = occamy::channel::<u32>();
//! std::thread::spawn(move || tx.send(3));
//! let got = occamy::alt! {
//!     recv(rx) -> v => v.unwrap(),
//!     after(Duration::from_secs(10)) => 0,
//! };
//! assert_eq!(got, 3);
//! ```
//!
//! ## Poison and retirement
//! A network ends in one of two ordinary ways. *Retirement*: when the last writer of a
//! channel goes (is dropped or [`retire`](Sender::retire)d), its readers get
//! [`RecvError::Retired`] once the buffer is empty, and the other way round.
//! *Poison*: [`poison`](Sender::poison) on any end stops the channel for everyone at once,
//! including parties blocked on it; a process that ends with [`Error::Poisoned`] (which `?`
//! gives it) poisons every other channel it used, so poison spreads through the network.
//! ```
//! let (tx, rx) = occamy::channel::<u8>();
//! let blocked = std::thread::spawn(move || rx.recv());
//! tx.poison();
//! assert_eq!(blocked.join().unwrap(), Err(occamy::RecvError::Poisoned));
//! ```
//!
//! ## Processes
//! [`par`] runs [`Process`]es in parallel; [`seq`] runs them in order; [`spawn`] starts
//! one in the background. A process is blocking code, on an OS thread of its own, or an
//! async block, a green task on a pool of worker threads ([`Scheduler`], cheap enough
//! for networks of hundreds of thousands of processes). Both kinds share the same
//! channels.
//! A failing or panicking process is reported by name and its channels are poisoned
//! ([`Error`] says how the four ways of saying how a process ended relate).
//! [`Runtime`] is one builder for a run's options (scheduler, stack size, deadlock
//! checks) with the same entry points: `Runtime::new().on_deadlock(OnDeadlock::Warn).run(..)`.
//! [`Barrier`] synchronises phases; [`sleep`], [`now`] and alt timeouts are the timers.
//! The async operations work under any executor, tokio's included, as well as in
//! occamy's own green processes.
//! ```
//! use occamy::{Process, Runtime};
//! let (tx, rx) = occamy::channel::<u32>();
//! let out = Runtime::new().stack_size(256 * 1024).run([
//!     Process::with("source", tx, |tx| tx.send(7)),
//!     Process::with_async("sink", rx, |rx| async move { assert_eq!(rx.recv_async().await, Ok(7)) }),
//! ]);
//! assert!(out.result.is_ok());
//! assert_eq!(out.processes.len(), 2);
//! ```
//!
//! ## Instrumentation
//! Every process runs inside a `tracing` span named `process` with its name; channel
//! operations emit `TRACE` events. With no subscriber they cost a relaxed load each.
//! A run can also be recorded into a trace file and replayed (`occamy run --record`,
//! `occamy replay`; the `trace` module, feature `trace`): the runtime's hooks for that
//! sit beside `tracing`'s, and cost one relaxed load each while nothing records.
//!
//! ## The crate's parts, and its cargo features
//! The crate root holds the CSP core: channels, alt, processes, barriers, timers and their
//! errors. The rest lives in modules, each behind a cargo feature:
//!
//! | module | feature | what |
//! |---|---|---|
//! | `occamy::network` | `network` | declared networks: the RON format, loading and checking it (`network::check`, diagnostics with codes, `network::CODES`), running a checked network and feeding and reading its open ports (`network::run_file_with`); the registry of kinds and types (`network::Registry`, `network::Kind`, `network::BuildCtx`) and the built-in kinds |
//! | `occamy::graph` | `graph` | the process graph, as Graphviz DOT or JSON |
//! | `occamy::launcher` | `launcher` | the `occamy` command (`check`, `run`, `kinds`, `dot`); needs `network` and `graph` |
//! | `occamy::viz` | `viz` | the live web view of a running network (`occamy run FILE --viz`, [`viz::Viewer`]); needs `network` and `graph` |
//! | `occamy::trace` | `trace` | recordings of runs (`occamy run --record`) and their replay (`occamy replay`): the trace format, its writer and reader |
//! | `occamy::bridge` | `bridge` | bridges from and to crossbeam-channel and flume channels, for threaded and async code around a network |
//! | `occamy::mpi` | `mpi` | one network across MPI ranks: cross-rank channels with local channels' meaning (needs an MPI library) |
//!
//! `network`, `graph`, `viz`, `trace` and `launcher` are on by default, `bridge` and `mpi` are not. With `default-features = false`
//! only the core is built, and it depends on `crossbeam-utils`, `crossbeam-deque` (the
//! green scheduler's work-stealing queues) and `tracing` alone.
//!
//! [`observe`] reads a run while it runs and after it ended (what each process waits on
//! and for whom, messages per channel, deadlocks) for viewers: `viz` (the `viz` feature)
//! serves it as a live web page, as `occamy run FILE --viz` does.

#![deny(missing_docs)]

mod alt;
mod barrier;
#[cfg(feature = "bridge")]
pub mod bridge;
mod channel;
mod deadlock;
mod error;
#[cfg(feature = "graph")]
pub mod graph;
#[cfg(feature = "network")]
mod kinds;
#[cfg(feature = "launcher")]
pub mod launcher;
mod loom;
#[cfg(feature = "mpi")]
pub mod mpi;
#[cfg(feature = "network")]
pub mod network;
#[cfg(feature = "network")]
mod registry;
mod runtime;
#[cfg(test)]
mod testing;
mod time;
#[cfg(feature = "trace")]
pub mod trace;
#[cfg(feature = "viz")]
pub mod viz;
mod wait;

pub use alt::{Alt, Event, RecvGuard, SelectFuture, Selected, SendGuard};
pub use barrier::{Barrier, BarrierPoisoned, SyncFuture};
pub use channel::{
    buffered, buffered_channels, channel, channels, IntoIter, Iter, Receiver, RecvFuture,
    SendFuture, Sender, Values,
};
pub use deadlock::{BlockedOp, BlockedProcess, DeadlockReport, OnDeadlock};
pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use runtime::{
    block_on, offload, par, processes, running_processes, seq, spawn, EndInfo, Error, Failure,
    HeldSet, Holds, Offload, ParError, ParOutcome, Process, ProcessEnd, ProcessHandle, ProcessInfo,
    ProcessResult, Runtime, Scheduler,
};
pub use time::{now, sleep, sleep_async, sleep_until, sleep_until_async, Sleep};
pub use wait::{Direction, WaitOn};

pub use runtime::observe;

#[doc(hidden)]
pub use alt::{__recv_of, __sent_of};
/// The green scheduler's executor, public for its benchmark (`benches/scheduler.rs`) and
/// doctests; programs choose it with [`Scheduler::Green`].
#[doc(hidden)]
pub use runtime::scheduler;

/// The result of a process body: `Ok(())`, or how it ended otherwise.
pub type Result<T = (), E = Error> = std::result::Result<T, E>;
