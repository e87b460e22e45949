//! One builder for everything about a run: the scheduler, thread stacks, deadlock
//! detection. It replaces process-wide settings: two runs in one program can use
//! different options side by side.

use std::time::Duration;

use super::observe::Watch;
use crate::deadlock::OnDeadlock;

/// How processes are run. The default is green (see [`Scheduler::from_env`]): it runs
/// declared networks (whose kinds are async) more than ten times faster than a thread per
/// process on commstime, and changes nothing for blocking processes, which keep a thread
/// each under both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    /// Every process on its own OS thread (an async process under
    /// [`block_on`](crate::block_on) on its thread).
    Threads,
    /// Async processes ([`Process::new_async`](crate::Process::new_async), kinds written
    /// async) as green tasks multiplexed on a pool of `workers` OS threads (0: one per
    /// core, or under an MPI launcher the node's cores divided among its ranks), started for the run and stopped when it ends; blocking processes still get
    /// their own OS thread, on the same channels. See the scheduler's design notes in
    /// `src/runtime/scheduler/README.md`.
    Green {
        /// Worker threads (0: one per core; under `mpirun`, cores / ranks on this node,
        /// at least one).
        workers: usize,
    },
}

impl Scheduler {
    /// The green scheduler with one worker per core.
    pub fn green() -> Scheduler {
        Scheduler::Green { workers: 0 }
    }

    /// The default: green with one worker per core, unless the environment variable
    /// `OCCAMY_SCHEDULER` says `threads` (or `green:N` for N workers), which lets a whole
    /// test suite run under either scheduler unchanged.
    pub fn from_env() -> Scheduler {
        match std::env::var("OCCAMY_SCHEDULER").as_deref() {
            Ok("threads") => Scheduler::Threads,
            Ok(s) => match s.strip_prefix("green:").map(str::parse) {
                Some(Ok(workers)) => Scheduler::Green { workers },
                _ => Scheduler::green(),
            },
            Err(_) => Scheduler::green(),
        }
    }

    /// The worker count a green pool gets: `workers`, or for 0 one per core, shared among
    /// the ranks of an MPI job on this node (see [`local_ranks`]), at least one.
    pub(crate) fn workers(self) -> usize {
        match self {
            Scheduler::Green { workers: 0 } | Scheduler::Threads => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                (cores / local_ranks()).max(1)
            }
            Scheduler::Green { workers } => workers,
        }
    }
}

/// How many processes of an MPI job (or a Slurm step) share this node, from the launcher's
/// environment (OpenMPI's `OMPI_COMM_WORLD_LOCAL_SIZE`, MPICH's `MPI_LOCALNRANKS`,
/// Slurm's `SLURM_NTASKS_PER_NODE`); 1 outside one. Ranks on one node share its cores: a
/// pool per rank of one worker per core would put several spinning workers on each.
pub(crate) fn local_ranks() -> usize {
    local_ranks_from(|k| std::env::var(k).ok())
}

fn local_ranks_from(var: impl Fn(&str) -> Option<String>) -> usize {
    [
        "OMPI_COMM_WORLD_LOCAL_SIZE",
        "MPI_LOCALNRANKS",
        "SLURM_NTASKS_PER_NODE",
    ]
    .iter()
    .find_map(|k| {
        let v = var(k)?;
        let digits: String = v.trim().chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<usize>().ok().filter(|n| *n > 0)
    })
    .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::local_ranks_from;

    #[test]
    fn local_ranks_come_from_the_first_launcher_variable_set() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(local_ranks_from(env(&[])), 1);
        assert_eq!(
            local_ranks_from(env(&[("OMPI_COMM_WORLD_LOCAL_SIZE", "2")])),
            2
        );
        assert_eq!(local_ranks_from(env(&[("MPI_LOCALNRANKS", "4")])), 4);
        // Slurm's form may carry a repeat count: "2(x3)".
        assert_eq!(
            local_ranks_from(env(&[("SLURM_NTASKS_PER_NODE", "2(x3)")])),
            2
        );
        assert_eq!(
            local_ranks_from(env(&[
                ("OMPI_COMM_WORLD_LOCAL_SIZE", "3"),
                ("SLURM_NTASKS_PER_NODE", "8")
            ])),
            3
        );
        assert_eq!(
            local_ranks_from(env(&[("OMPI_COMM_WORLD_LOCAL_SIZE", "0")])),
            1
        );
        assert_eq!(
            local_ranks_from(env(&[("OMPI_COMM_WORLD_LOCAL_SIZE", "x")])),
            1
        );
    }
}

/// The options of a run, and the entry points that run processes with them
/// ([`run`](Runtime::run), [`par`](Runtime::par), [`seq`](Runtime::seq),
/// [`spawn`](Runtime::spawn)). `Runtime::new()` is what [`par`](crate::par) uses.
///
/// # Examples
/// Two processes each waiting to receive from the other are found and reported by name,
/// here checked every 20 ms:
/// ```
/// use occamy::{Process, Runtime};
/// use std::time::Duration;
/// let (a_tx, a_rx) = occamy::channel::<u8>();
/// let (b_tx, b_rx) = occamy::channel::<u8>();
/// a_tx.set_name("a_to_b");
/// b_tx.set_name("b_to_a");
/// let out = Runtime::new()
///     .deadlock_check_interval(Duration::from_millis(20))
///     .run([
///         Process::with("a", (b_rx, a_tx), |(rx, tx)| -> occamy::Result { tx.send(rx.recv()?)?; Ok(()) }),
///         Process::with("b", (a_rx, b_tx), |(rx, tx)| -> occamy::Result { tx.send(rx.recv()?)?; Ok(()) }),
///     ]);
/// let report = out.deadlock.expect("a deadlock");
/// assert_eq!(report.to_string(), "deadlock: a waits to receive on b_to_a from b; b waits to receive on a_to_b from a");
/// assert!(out.result.is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Runtime {
    pub(crate) scheduler: Scheduler,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_deadlock: OnDeadlock,
    pub(crate) detect: bool,
    pub(crate) check_every: Duration,
    /// The watch its runs join, if any (see [`Runtime::watch`]).
    pub(crate) watch: Option<Watch>,
}

impl Default for Runtime {
    fn default() -> Runtime {
        Runtime {
            scheduler: Scheduler::from_env(),
            stack_size: None,
            on_deadlock: OnDeadlock::Poison,
            detect: true,
            check_every: Duration::from_millis(200),
            watch: None,
        }
    }
}

impl Runtime {
    /// The defaults: green (see [`Scheduler::from_env`]), the platform's stack size, deadlocks found within two
    /// checks 200 ms apart and ended by poisoning the network.
    pub fn new() -> Runtime {
        Runtime::default()
    }

    /// How processes are run.
    pub fn scheduler(mut self, s: Scheduler) -> Runtime {
        self.scheduler = s;
        self
    }

    /// The stack size of each process's thread, in bytes (default: the platform's, as
    /// `std::thread` chooses).
    pub fn stack_size(mut self, bytes: usize) -> Runtime {
        self.stack_size = Some(bytes);
        self
    }

    /// What to do when a deadlock is found (default: poison the network, and the run
    /// ends with the deadlock as its error).
    pub fn on_deadlock(mut self, on: OnDeadlock) -> Runtime {
        self.on_deadlock = on;
        self
    }

    /// Turns deadlock detection off (or on again) for the processes of this run; they
    /// then never count as deadlocked.
    pub fn deadlock_detection(mut self, on: bool) -> Runtime {
        self.detect = on;
        self
    }

    /// How often to look for deadlocks (default 200 ms): a deadlock is reported between
    /// one and two intervals after it happens (later in networks so large that one look
    /// takes more than a fiftieth of the interval: the monitor spaces its looks so that
    /// it never takes more than about 2% of one core).
    pub fn deadlock_check_interval(mut self, every: Duration) -> Runtime {
        self.check_every = every.max(Duration::from_millis(1));
        self
    }

    /// Lets `watch` observe the processes of this runtime's runs, while they run and
    /// after they end (see [`observe`](crate::observe)). Only reading happens: a watch
    /// nobody takes snapshots from costs nothing.
    ///
    /// # Examples
    /// ```
    /// let watch = occamy::observe::Watch::new();
    /// let rt = occamy::Runtime::new().watch(&watch);
    /// rt.par([occamy::Process::new("quiet", || {})]).unwrap();
    /// assert_eq!(watch.snapshot().processes[0].name, "quiet");
    /// ```
    pub fn watch(mut self, watch: &Watch) -> Runtime {
        self.watch = Some(watch.clone());
        self
    }
}
