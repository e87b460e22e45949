//! The running process, and everything that knows of it.
//!
//! - `context`: the current process of each thread (set for a thread process's life, or
//!   around each poll of an async one): the one hook that channels, alt, barriers and
//!   timers call. `held` is the seam under it: channels and barriers reach the records
//!   as trait objects, so this module imports them and they import only `context`.
//! - `record`: what the runtime knows of each process (held ends, waits, end), and the
//!   live set; `group`: the processes of one run.
//! - `process`: the [`Process`] builder; `error`: how a process ends.
//! - `builder`: [`Runtime`], the options of a run; `par`: `par`, `seq`, `spawn`;
//!   `thread`: thread-per-process and `block_on`.
//! - `monitor`: the deadlock monitor's thread, judging snapshots with `deadlock::detect`.
//! - `observe`: the read-only observation layer ([`Watch`](observe::Watch)) that viewers
//!   read runs through.
//!
//! Dependencies flow one way: sync shim -> wait -> (deadlock's judgement) -> channel,
//! barrier, time -> alt -> runtime -> network, graph, launcher; inside, `context` and
//! `held` are leaves the layers below call.

mod builder;
pub(crate) mod context;
mod error;
mod green;
mod group;
pub(crate) mod held;
pub(crate) mod monitor;
pub mod observe;
mod offload;
mod par;
mod process;
pub(crate) mod record;
pub(crate) mod recorder;
pub mod scheduler;
mod thread;

pub use builder::{Runtime, Scheduler};
pub use error::{Error, Failure, ParError, ProcessEnd, ProcessResult};
pub use offload::{offload, Offload};
pub use par::{block_on, par, running_processes, seq, spawn, ParOutcome, ProcessHandle};
pub use process::{HeldSet, Holds, Process};
pub use record::{processes, EndInfo, ProcessInfo};

// What declared networks (`network::run`) build their runs from.
#[cfg(feature = "network")]
pub(crate) use group::Group;
#[cfg(feature = "network")]
pub(crate) use par::{run_group, Keep};
