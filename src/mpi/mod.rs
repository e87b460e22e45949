//! One network across MPI ranks: cross-rank channels with local channels' meaning.
//!
//! A *link* is a channel whose ends live on different ranks. [`World::link`] gives each
//! rank the ends it holds as ordinary [`Sender`]s and [`Receiver`]s, so that everything
//! that works on a local channel (blocking, async, `alt`, timeouts, poison, retirement,
//! clones) works on a link: a rendezvous send completes only once a reader on the other
//! rank has taken the value, a buffered link keeps its capacity, poison and retirement
//! cross in both directions. Values cross as postcard bytes (`serde`).
//!
//! MPI is polled by a per-rank *engine* (non-blocking requests, the links' proxies), under
//! one lock: idle green workers step it (through the scheduler's idle hook), so a reply
//! wakes its task on the worker that received it; an engine thread steps it when no
//! worker does. Processes and tasks waiting on a link wait on local channels, so a green
//! worker is never blocked by MPI. `src/mpi/README.md` has the protocol, the reasons and
//! the figures.
//!
//! Run a program using it under `mpirun -n R` (as root, with `--allow-run-as-root`; more
//! ranks than cores, with `--oversubscribe`).
//!
//! # Examples
//! ```no_run
//! use occamy::mpi::{Link, World};
//! let world = World::init().expect("mpi");
//! // Channel 1: written on rank 0, read on rank 1 (every rank makes the same call).
//! let ends = world.link::<String>(&Link::rendezvous(1, "greeting", [0], 1)).unwrap();
//! if let Some(tx) = ends.sender {
//!     tx.send("hello".into()).unwrap(); // returns once rank 1 has taken it
//! }
//! if let Some(rx) = ends.receiver {
//!     assert_eq!(rx.recv().unwrap(), "hello");
//! }
//! world.finish().unwrap();
//! ```

mod barrier;
mod drive;
mod engine;
mod link;
mod wire;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mpi::collective::CommunicatorCollectives;
use mpi::topology::{Communicator, SimpleCommunicator};
use serde::de::DeserializeOwned;
use serde::Serialize;

use engine::{Command, Shared};
use link::{DemandReader, DemandWriter, ReaderProxy, WriterProxy};

use crate::{Receiver, Sender};

/// What can go wrong setting up or finishing the MPI side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MpiError {
    /// MPI would not initialise (or was initialised already, outside occamy).
    Init(String),
    /// A link that this version cannot wire, and why.
    Unsupported(String),
    /// A rank disagreed with rank 0, or did not answer.
    Mismatch(String),
    /// A failure the links reported during the run.
    Run(String),
}

impl fmt::Display for MpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MpiError::Init(m) => write!(f, "mpi: could not initialise: {m}"),
            MpiError::Unsupported(m) => write!(f, "mpi: {m}"),
            MpiError::Mismatch(m) => write!(f, "mpi: {m}"),
            MpiError::Run(m) => write!(f, "mpi: {m}"),
        }
    }
}

impl std::error::Error for MpiError {}

/// A cross-rank channel as every rank sees it: its id (the same on every rank, unique
/// among the run's links), a name for messages, the ranks that write it, the ranks that
/// read it, and its capacity (0: rendezvous).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Unique among the run's links, the same on every rank.
    pub id: u32,
    /// The channel's name, for error messages.
    pub name: String,
    /// The ranks holding writing ends (sorted, without repeats).
    pub writers: Vec<u32>,
    /// The ranks holding reading ends (sorted, without repeats). With more than one,
    /// the writers must all be on one rank (a farm's shared job channel).
    pub readers: Vec<u32>,
    /// 0 for a rendezvous channel, else its buffer's size.
    pub capacity: usize,
}

fn ranks(r: impl IntoIterator<Item = u32>) -> Vec<u32> {
    let mut r: Vec<u32> = r.into_iter().collect();
    r.sort_unstable();
    r.dedup();
    r
}

impl Link {
    /// A rendezvous link read on one rank.
    ///
    /// # Examples
    /// ```
    /// let l = occamy::mpi::Link::rendezvous(7, "jobs", [0, 2], 1);
    /// assert_eq!((l.capacity, l.readers), (0, vec![1]));
    /// ```
    pub fn rendezvous(
        id: u32,
        name: impl Into<String>,
        writers: impl IntoIterator<Item = u32>,
        reader: u32,
    ) -> Link {
        Link::new(id, name, writers, [reader], 0)
    }

    /// A buffered link of `capacity` values read on one rank.
    ///
    /// # Examples
    /// ```
    /// let l = occamy::mpi::Link::buffered(7, "jobs", [0], 1, 4);
    /// assert_eq!(l.capacity, 4);
    /// ```
    pub fn buffered(
        id: u32,
        name: impl Into<String>,
        writers: impl IntoIterator<Item = u32>,
        reader: u32,
        capacity: usize,
    ) -> Link {
        Link::new(id, name, writers, [reader], capacity)
    }

    /// A link with its writer and reader ranks and its capacity (0: rendezvous).
    ///
    /// # Examples
    /// ```
    /// // A farm: jobs written on rank 0, read by workers on ranks 0, 1 and 2.
    /// let l = occamy::mpi::Link::new(1, "jobs", [0], [2, 0, 1], 0);
    /// assert_eq!(l.readers, [0, 1, 2]);
    /// ```
    pub fn new(
        id: u32,
        name: impl Into<String>,
        writers: impl IntoIterator<Item = u32>,
        readers: impl IntoIterator<Item = u32>,
        capacity: usize,
    ) -> Link {
        Link {
            id,
            name: name.into(),
            writers: ranks(writers),
            readers: ranks(readers),
            capacity,
        }
    }
}

/// The ends of a link that this rank holds: a writing end if this rank is one of its
/// writers, a reading end if it is its reader. Clone them for more local writers or
/// readers.
pub struct Ends<T> {
    /// This rank's writing end, if it writes the link.
    pub sender: Option<Sender<T>>,
    /// This rank's reading end, if it reads the link.
    pub receiver: Option<Receiver<T>>,
}

/// This process's place in the MPI job, and its engine. One per process: MPI initialises
/// once.
pub struct World {
    rank: u32,
    size: u32,
    /// MPI gave `MPI_THREAD_SERIALIZED` or more: workers may drive the engine.
    serialized: bool,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    links: Mutex<Vec<u32>>,
    /// The ranks a link's reader acknowledges values to at once (`Core::set_early_ack`):
    /// those on this node (`OCCAMY_MPI_EARLY_ACK=always` or `never` overrides).
    near: Vec<u32>,
}

static WORLD: OnceLock<Result<World, MpiError>> = OnceLock::new();

impl World {
    /// Initialises MPI (once: later calls return the same world, `MPI_THREAD_SERIALIZED`)
    /// and starts this rank's engine thread; from then on, MPI calls are made under the
    /// engine's lock, by that thread or by idle green workers (see `src/mpi/README.md`).
    /// `OCCAMY_MPI_DRIVE=engine` leaves every call to the engine thread.
    /// `OCCAMY_MPI_EARLY_ACK=always` or `never` overrides which writer ranks a link's
    /// reader acknowledges at once, before its process runs on (by default those on its
    /// node; others get the `Ack` with the reply).
    ///
    /// # Blocking
    /// Blocks while MPI initialises (under `mpirun` it meets the other ranks).
    ///
    /// # Examples
    /// ```no_run
    /// let w = occamy::mpi::World::init().unwrap();
    /// println!("rank {} of {}", w.rank(), w.size());
    /// ```
    pub fn init() -> Result<&'static World, MpiError> {
        WORLD.get_or_init(start).as_ref().map_err(Clone::clone)
    }

    /// This process's rank, from 0.
    ///
    /// # Examples
    /// ```no_run
    /// assert!(occamy::mpi::World::init().unwrap().rank() < 64);
    /// ```
    pub fn rank(&self) -> u32 {
        self.rank
    }

    /// How many ranks the job has.
    ///
    /// # Examples
    /// ```no_run
    /// assert!(occamy::mpi::World::init().unwrap().size() >= 1);
    /// ```
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Wires link `l` on this rank: every rank must call it with the same `l` and `T`
    /// (ranks that hold neither end get `Ends` of two `None`s). A writing end here is
    /// the only writer of a local rendezvous channel read by a proxy that claims each
    /// value, ships it, and completes the send only when the reader rank acknowledges it
    /// (rendezvous), or at once while fewer than `capacity` values are unacknowledged
    /// (buffered). A reading end is a local channel into which a proxy offers each value
    /// received, acknowledging it when a reader took it. Writers on the reader's own rank
    /// write straight into the reading side's channel.
    ///
    /// With writers on several ranks, each writer rank may have up to `capacity` values
    /// unacknowledged (a buffered link's capacity is per writer rank). A link read on
    /// several ranks (written on one) sends each value only when a reader rank asks for
    /// one, as a reader there waits (see `src/mpi/README.md`).
    ///
    /// # Errors
    /// `Unsupported` for a rank out of range, an id used twice, or readers on several
    /// ranks with writers on several.
    ///
    /// # Examples
    /// ```no_run
    /// use occamy::mpi::{Link, World};
    /// let w = World::init().unwrap();
    /// let ends = w.link::<u64>(&Link::buffered(1, "counts", [0], 1, 8)).unwrap();
    /// assert_eq!(ends.sender.is_some(), w.rank() == 0);
    /// ```
    pub fn link<T>(&self, l: &Link) -> Result<Ends<T>, MpiError>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        if let Some(bad) = l
            .writers
            .iter()
            .chain(&l.readers)
            .find(|r| **r >= self.size)
        {
            return Err(MpiError::Unsupported(format!(
                "channel {}: rank {bad} is out of range (the job has {} ranks)",
                l.name, self.size
            )));
        }
        if l.writers.is_empty() || l.readers.is_empty() {
            return Err(MpiError::Unsupported(format!(
                "channel {}: a link needs a writer rank and a reader rank",
                l.name
            )));
        }
        if l.readers.len() > 1 && l.writers.len() > 1 {
            return Err(MpiError::Unsupported(format!(
                "channel {}: written on ranks {:?} and read on ranks {:?}: a channel read on several ranks must be written on one",
                l.name, l.writers, l.readers
            )));
        }
        {
            let mut ids = self.links.lock().unwrap();
            if ids.contains(&l.id) {
                return Err(MpiError::Unsupported(format!(
                    "channel {}: link id {} is used twice",
                    l.name, l.id
                )));
            }
            ids.push(l.id);
        }
        let me = self.rank;
        let writes = l.writers.contains(&me);
        let reads = l.readers.contains(&me);
        if l.readers.len() > 1 {
            return Ok(self.demand_link(l, writes, reads));
        }
        let reader = l.readers[0];
        if me == reader {
            let (tx, rx) = crate::channel::<T>();
            let sender = writes.then(|| tx.clone());
            let writers: Vec<u32> = l.writers.iter().copied().filter(|w| *w != me).collect();
            if !writers.is_empty() {
                tx.core.set_remote();
                if writers.iter().all(|w| self.near.contains(w)) {
                    tx.core.set_early_ack();
                }
                let proxy = ReaderProxy {
                    link: l.id,
                    name: l.name.clone(),
                    writers,
                    tx: Some(tx),
                    offered: Vec::new(),
                    retired: Vec::new(),
                    wants: Vec::new(),
                    error: None,
                };
                self.shared.command(Command::Link(l.id, Box::new(proxy)));
            }
            return Ok(Ends {
                sender,
                receiver: Some(rx),
            });
        }
        if writes {
            let (tx, rx) = crate::channel::<T>();
            tx.core.set_remote();
            let proxy = WriterProxy {
                link: l.id,
                name: l.name.clone(),
                reader,
                rx: Some(rx),
                credits: l.capacity.max(1),
                rendezvous: l.capacity == 0,
                claimed: VecDeque::new(),
                demand: 0,
                want_sent: false,
                stand_in: None,
                watching: false,
                error: None,
            };
            self.shared.command(Command::Link(l.id, Box::new(proxy)));
            return Ok(Ends {
                sender: Some(tx),
                receiver: None,
            });
        }
        Ok(Ends {
            sender: None,
            receiver: None,
        })
    }

    /// Joins this rank's `local` barrier, whose enrolled parties are this rank's, with
    /// the barriers of the same `id` on the other `ranks` (those with parties, this one
    /// among them), into one barrier: from now on a phase completes only when every
    /// party on every one of those ranks has synced (or resigned), and poison on any rank
    /// reaches every rank. Every rank in `ranks` calls it, with the same `id`, before its
    /// parties first sync. Ids share one space with links' ids.
    ///
    /// A rank whose parties all resign is no longer waited for. A party that enrols on a
    /// rank whose parties have all arrived at the current phase (the phase is then
    /// reported to the other ranks, and cannot be taken back) takes part from the next
    /// phase; so does a [`SyncFuture`](crate::barrier::SyncFuture) dropped then.
    ///
    /// # Errors
    /// `Unsupported` for a rank out of range, an id used twice, this rank not among
    /// `ranks`, or a barrier joined already.
    ///
    /// # Examples
    /// ```no_run
    /// use occamy::mpi::World;
    /// let w = World::init().unwrap();
    /// // Barrier 100: one party on each of ranks 0 and 1.
    /// let b = occamy::Barrier::new();
    /// w.barrier(100, "step", [0, 1], &b).unwrap();
    /// b.sync().unwrap(); // returns once the other rank's party has synced too
    /// ```
    pub fn barrier(
        &self,
        id: u32,
        name: &str,
        ranks: impl IntoIterator<Item = u32>,
        local: &crate::Barrier,
    ) -> Result<(), MpiError> {
        let ranks = self::ranks(ranks);
        if let Some(bad) = ranks.iter().find(|r| **r >= self.size) {
            return Err(MpiError::Unsupported(format!(
                "barrier {name}: rank {bad} is out of range (the job has {} ranks)",
                self.size
            )));
        }
        if !ranks.contains(&self.rank) {
            return Err(MpiError::Unsupported(format!(
                "barrier {name}: joined on rank {}, which is not among its ranks {ranks:?}",
                self.rank
            )));
        }
        let mut ids = self.links.lock().unwrap();
        if ids.contains(&id) {
            return Err(MpiError::Unsupported(format!(
                "barrier {name}: link id {id} is used twice"
            )));
        }
        if ranks.len() < 2 {
            ids.push(id);
            return Ok(());
        }
        // Gated here, before any party here syncs: the proxy hears of every arrival.
        if !crate::barrier::gate(&local.shared, engine::link_waker(&self.shared, id)) {
            return Err(MpiError::Unsupported(format!(
                "barrier {name}: this barrier is joined across ranks already"
            )));
        }
        ids.push(id);
        drop(ids);
        let proxy = barrier::BarrierProxy::new(id, self.rank, ranks, local.shared.clone());
        self.shared.command(Command::Link(id, Box::new(proxy)));
        Ok(())
    }

    /// A link read on several ranks, written on one (`l.writers[0]`): values go on demand.
    fn demand_link<T>(&self, l: &Link, writes: bool, reads: bool) -> Ends<T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        let me = self.rank;
        let writer = l.writers[0];
        if writes {
            // The channel lives here, with its buffer; local readers read it directly.
            let (tx, rx) = crate::buffered::<T>(l.capacity);
            tx.core.set_remote();
            let receiver = reads.then(|| rx.clone());
            let proxy = DemandWriter {
                link: l.id,
                name: l.name.clone(),
                readers: l.readers.iter().copied().filter(|r| *r != me).collect(),
                rx: Some(rx),
                rendezvous: l.capacity == 0,
                demands: VecDeque::new(),
                spare: VecDeque::new(),
                in_flight: Vec::new(),
                retired_readers: Vec::new(),
                local_done: false,
                error: None,
            };
            self.shared.command(Command::Link(l.id, Box::new(proxy)));
            return Ends {
                sender: Some(tx),
                receiver,
            };
        }
        if reads {
            let (tx, rx) = crate::channel::<T>();
            tx.core.set_remote();
            if self.near.contains(&writer) {
                tx.core.set_early_ack();
            }
            let proxy = DemandReader {
                link: l.id,
                name: l.name.clone(),
                writer,
                tx: Some(tx),
                outstanding: 0,
                offered: Vec::new(),
                writer_retired: false,
                error: None,
            };
            self.shared.command(Command::Link(l.id, Box::new(proxy)));
            return Ends {
                sender: None,
                receiver: Some(rx),
            };
        }
        Ends {
            sender: None,
            receiver: None,
        }
    }

    /// Ends this rank's part: waits for its outstanding messages to be sent, meets every
    /// other rank (which must call `finish` too), and finalises MPI. Returns the failures
    /// the links reported during the run (a value that would not decode...), if any.
    ///
    /// # Blocking
    /// Blocks until every rank has called `finish`; the engine goes on serving the links
    /// meanwhile, so a rank still running is not held up.
    ///
    /// # Examples
    /// ```no_run
    /// occamy::mpi::World::init().unwrap().finish().unwrap();
    /// ```
    pub fn finish(&self) -> Result<(), MpiError> {
        let Some(t) = self.thread.lock().unwrap().take() else {
            return Ok(());
        };
        let (reply, done) = std::sync::mpsc::channel();
        self.shared.command(Command::Finish(reply));
        let _ = done.recv();
        let _ = t.join();
        let errors = std::mem::take(&mut *self.shared.errors.lock().unwrap());
        if errors.is_empty() {
            Ok(())
        } else {
            Err(MpiError::Run(errors.join("; ")))
        }
    }

    /// How many link messages this rank has sent, and received, so far.
    #[cfg_attr(not(feature = "launcher"), allow(dead_code))]
    pub(crate) fn traffic(&self) -> (u64, u64) {
        let o = std::sync::atomic::Ordering::Relaxed;
        (self.shared.sent.load(o), self.shared.received.load(o))
    }

    /// Runs `f` on the engine's thread with the world communicator, and returns what it
    /// returns: for a benchmark's raw MPI yardstick (`examples/mpi_bench.rs`), in the same
    /// run as occamy's links. The engine serves nothing else meanwhile.
    #[doc(hidden)]
    pub fn with_raw<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mpi::topology::SimpleCommunicator) -> R + Send + 'static,
    ) -> R {
        let (tx, rx) = std::sync::mpsc::channel();
        self.shared.command(Command::Raw(Box::new(move |w| {
            let _ = tx.send(f(w));
        })));
        rx.recv().expect("the engine thread ended")
    }

    /// Runs `f` with the world communicator on the calling thread if the engine's lock is
    /// free (and MPI lets threads other than the engine's call it), else `None`: for a
    /// benchmark's floor, a task making its own MPI calls (`examples/mpi_bench.rs`,
    /// `floor`). `f` must not block: the engine is not stepped meanwhile.
    #[doc(hidden)]
    pub fn try_with_comm<R>(
        &self,
        f: impl FnOnce(&mpi::topology::SimpleCommunicator) -> R,
    ) -> Option<R> {
        if !self.serialized {
            return None;
        }
        let g = self.shared.engine.try_lock().ok()?;
        g.as_ref().map(|e| f(&e.world))
    }

    /// Whether idle green workers may step the engine (the default when MPI gave
    /// `MPI_THREAD_SERIALIZED` or more); off, the engine thread alone does. For a
    /// benchmark comparing the two in one run (`examples/mpi_bench.rs`).
    #[doc(hidden)]
    pub fn set_worker_driving(&self, on: bool) {
        let o = std::sync::atomic::Ordering::SeqCst;
        self.shared.workers_may.store(on && self.serialized, o);
        if !on && self.shared.workers_drive.swap(false, o) {
            self.shared.unpark();
        }
    }

    /// How many times a thread blocked on a link took over driving the engine while it
    /// waited (see `src/mpi/README.md`, "Who drives the engine"). For tests.
    #[doc(hidden)]
    pub fn blocked_thread_drives(&self) -> u64 {
        self.shared
            .thread_claims
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends `payload` to rank `to` as a control message (for the launcher's own
    /// exchanges: checks, reports, stops).
    #[cfg_attr(not(feature = "launcher"), allow(dead_code))] // the launcher's exchanges
    pub(crate) fn send_control(&self, to: u32, payload: Vec<u8>) {
        self.shared.command(Command::Control { to, payload });
    }

    /// Takes the first control message received that `want` accepts (given its rank and
    /// bytes), waiting up to `timeout` for one.
    #[cfg_attr(not(feature = "launcher"), allow(dead_code))] // the launcher's exchanges
    pub(crate) fn take_control(
        &self,
        timeout: Duration,
        want: impl Fn(u32, &[u8]) -> bool,
    ) -> Option<(u32, Vec<u8>)> {
        engine::wait_control(&self.shared, Instant::now().checked_add(timeout), want)
    }
}

fn start() -> Result<World, MpiError> {
    let shared = Shared::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let sh = shared.clone();
    let thread = std::thread::Builder::new()
        .name("occamy-mpi".into())
        .spawn(move || {
            // Serialized: MPI calls come from several threads, one at a time (the
            // engine's lock); initialisation and finalisation from this one.
            let Some((universe, level)) =
                mpi::initialize_with_threading(mpi::Threading::Serialized)
            else {
                let _ = tx.send(Err(MpiError::Init("MPI was initialised already".into())));
                return;
            };
            let world = universe.world();
            let serialized = matches!(level, mpi::Threading::Serialized | mpi::Threading::Multiple);
            let near = node_mates(&world);
            let _ = tx.send(Ok((
                world.rank() as u32,
                world.size() as u32,
                serialized,
                near,
            )));
            drive::run(sh, world);
            drop(universe); // MPI_Finalize, on the thread that initialised it
        })
        .map_err(|e| MpiError::Init(e.to_string()))?;
    let (rank, size, serialized, near) = rx
        .recv()
        .map_err(|_| MpiError::Init("the engine thread ended".into()))??;
    let near = match std::env::var("OCCAMY_MPI_EARLY_ACK").as_deref() {
        Ok("always") => (0..size).collect(),
        Ok("never") => Vec::new(),
        _ => near,
    };
    let drive = std::env::var("OCCAMY_MPI_DRIVE").map_or(true, |v| v != "engine");
    shared
        .workers_may
        .store(serialized && drive, std::sync::atomic::Ordering::SeqCst);
    // One world per process, so this is the only registration.
    let _ = crate::runtime::scheduler::set_idle_hook(Box::new(drive::Hook(shared.clone())));
    Ok(World {
        rank,
        size,
        serialized,
        shared,
        thread: Mutex::new(Some(thread)),
        links: Mutex::new(Vec::new()),
        near,
    })
}

/// The world ranks on this rank's node, which share its memory (`MPI_Comm_split_type`):
/// a message to one of them costs a copy, to another rank a trip on the interconnect.
fn node_mates(world: &SimpleCommunicator) -> Vec<u32> {
    let node = world.split_shared(world.rank());
    let mut ranks = vec![0i32; node.size() as usize];
    node.all_gather_into(&world.rank(), &mut ranks[..]);
    ranks.into_iter().map(|r| r as u32).collect()
}
