//! Deadlock detection: finding processes that wait on each other for ever, and saying
//! where.
//!
//! The runtime's monitor (`runtime/monitor.rs`) looks at the process records every check
//! interval (200 ms by default, [`Runtime::deadlock_check_interval`](crate::Runtime)) and
//! hands this module a [`Snapshot`](detect::Snapshot): plain data, so that the same
//! judgement serves one machine or many. A process is a *candidate* when it is parked on
//! channel operations or a barrier sync with no timeout pending, its signal has not fired,
//! and (for an async process) nothing but those operations holds its waker (the monitor
//! counts the clones of the process's waker; a channel wait that holds the task's own
//! waker instead, a *direct* one, is found in the channel's queue). A candidate
//! can still be woken if, for any one thing it waits on, some process at the other end is
//! not a candidate (it may yet act), or the other end is held by something the runtime
//! does not know of (an end no process has declared or used, a plain thread): such
//! candidates are removed, and their removal may free others, until none can be. What is
//! left can never be woken: every one of them waits only on others of them. Because a
//! snapshot is not atomic, the verdict counts only for processes that two checks in a row
//! found blocked in the same waits (same wait sequence numbers), and only if a third look
//! right after finds them there still, so a network that is merely busy, or a rendezvous in
//! progress, is never reported. The local monitor applies the first half as a filter: a
//! snapshot holds only the processes already in the wait the previous check saw them in,
//! and any other process counts as one that may act (the ends it holds keep the waits on
//! them open). Leaving a process out can delay a verdict, never make one; and a network
//! of a million processes that moves costs a pass over its records each check, not a
//! snapshot of every wait. A deadlock is reported within about two check intervals of
//! forming. (Across MPI ranks the snapshots are whole and confirmed over two checks.)
//!
//! This finds total deadlocks and partial ones (a cycle of blocked processes while others
//! keep running) alike. Ends are known to the runtime once a process has used them, or
//! from the start when it was declared with [`Process::with`](crate::Process::with) (the
//! launcher declares every process's ends); declare them so that processes that block
//! before using some of their ends are judged too.
//!
//! On a deadlock the report goes to the `par` that started the processes: with
//! [`OnDeadlock::Poison`] (the default) every channel its processes hold is poisoned, so
//! the whole network stops and `par` returns a [`Failure::Deadlock`](crate::Failure)
//! error; with [`OnDeadlock::Warn`] the report is logged and kept, and the rest runs on.

pub(crate) mod detect;

use std::fmt;

use crate::wait::{Direction, WaitOn};

/// What to do when a deadlock is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDeadlock {
    /// Poison the network so that everything stops; `par` returns the deadlock as its
    /// error.
    #[default]
    Poison,
    /// Only report it (to `tracing`, and in [`ParOutcome`](crate::ParOutcome)); the rest
    /// of the network runs on.
    Warn,
}

/// One operation a deadlocked process waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedOp {
    /// What it waits on.
    pub on: WaitOn,
    /// The channel's (or barrier's) name: its name, or `#id`.
    pub label: String,
    /// The processes at the other end.
    pub peers: Vec<String>,
}

/// A deadlocked process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedProcess {
    /// Its name.
    pub name: String,
    /// Whether it waits in an alt (several operations at once).
    pub alt: bool,
    /// What it waits on.
    pub ops: Vec<BlockedOp>,
}

/// A deadlock: the processes that wait on each other for ever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlockReport {
    /// Every deadlocked process.
    pub blocked: Vec<BlockedProcess>,
    /// A waits-for cycle among them, in order (the last waits for the first).
    pub cycle: Vec<String>,
    /// Whether other processes were still running (a partial deadlock).
    pub partial: bool,
}

impl BlockedProcess {
    fn describe(&self) -> String {
        let ops: Vec<String> = self.ops.iter().map(describe_op).collect();
        if self.alt {
            format!("{} waits in an alt to {}", self.name, ops.join(" or "))
        } else {
            format!("{} waits to {}", self.name, ops.join(", "))
        }
    }
}

fn describe_op(op: &BlockedOp) -> String {
    let peers = if op.peers.is_empty() {
        "nobody".to_string()
    } else {
        op.peers.join(", ")
    };
    match op.on {
        WaitOn::Channel {
            dir: Direction::Send,
            ..
        } => format!("send on {} to {peers}", op.label),
        WaitOn::Channel {
            dir: Direction::Recv,
            ..
        } => format!("receive on {} from {peers}", op.label),
        WaitOn::Barrier { .. } => format!("sync on barrier {} with {peers}", op.label),
        WaitOn::Timer => "wait for a timer".to_string(),
    }
}

impl fmt::Display for DeadlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}deadlock: ",
            if self.partial { "partial " } else { "" }
        )?;
        let in_cycle = |n: &str| self.cycle.iter().any(|c| c == n);
        let mut first = true;
        for name in &self.cycle {
            if let Some(b) = self.blocked.iter().find(|b| &b.name == name) {
                write!(f, "{}{}", if first { "" } else { "; " }, b.describe())?;
                first = false;
            }
        }
        for b in self.blocked.iter().filter(|b| !in_cycle(&b.name)) {
            write!(f, "{}{}", if first { "" } else { "; " }, b.describe())?;
            first = false;
        }
        Ok(())
    }
}
