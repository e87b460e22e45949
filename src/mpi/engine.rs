//! The progress engine: one thread per rank that makes every MPI call (MPI is initialised
//! `Funneled`, by this thread), drives non-blocking sends and probes for incoming
//! messages, and runs the links' proxies. Processes never call MPI: one waiting on a
//! cross-rank channel waits on a local channel (the wait layer's signals), and the proxy
//! here completes it. Why one thread and not `MPI_THREAD_MULTIPLE`: see `README.md`.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::request::{Request, StaticScope};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::CommunicatorCollectives;

use super::link::{Out, Proxy};
use super::wire::{decode, Kind, TAG};

/// What other threads ask of the engine.
pub(crate) enum Command {
    /// Start serving a link.
    Link(u32, Box<dyn Proxy>),
    /// Send a control message to `to`.
    #[cfg_attr(not(feature = "launcher"), allow(dead_code))] // the launcher's exchanges
    Control { to: u32, payload: Vec<u8> },
    /// Run this on the engine's thread with the world communicator (benchmarks' raw MPI).
    Raw(Box<dyn FnOnce(&SimpleCommunicator) + Send>),
    /// Everything local is over: finish the outstanding sends, meet every rank in a
    /// barrier (serving messages meanwhile), finalise MPI, then reply.
    Finish(mpsc::Sender<()>),
}

/// What the engine shares with the threads that use it.
pub(crate) struct Shared {
    commands: Mutex<Vec<Command>>,
    /// Links whose proxies were woken, to poll.
    ready: Mutex<Vec<u32>>,
    thread: std::sync::OnceLock<Thread>,
    /// Control messages received, by the rank they came from, for whoever waits on them.
    pub(crate) control: Mutex<Vec<(u32, Vec<u8>)>>,
    pub(crate) control_cv: std::sync::Condvar,
    /// Failures the proxies reported (a value that would not decode...).
    pub(crate) errors: Mutex<Vec<String>>,
    /// Link messages sent and received so far: a deadlock judged across ranks counts
    /// only if none moved between two looks and none was in flight.
    pub(crate) sent: std::sync::atomic::AtomicU64,
    pub(crate) received: std::sync::atomic::AtomicU64,
}

impl Shared {
    pub(crate) fn new() -> Arc<Shared> {
        Arc::new(Shared {
            commands: Mutex::new(Vec::new()),
            ready: Mutex::new(Vec::new()),
            thread: std::sync::OnceLock::new(),
            control: Mutex::new(Vec::new()),
            control_cv: std::sync::Condvar::new(),
            errors: Mutex::new(Vec::new()),
            sent: std::sync::atomic::AtomicU64::new(0),
            received: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub(crate) fn command(&self, c: Command) {
        self.commands.lock().unwrap().push(c);
        self.unpark();
    }

    fn unpark(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }
}

/// A link's waker: marks the link ready and wakes the engine. Cheap, and takes no channel
/// lock (channels wake it with their lock held).
struct LinkWaker {
    link: u32,
    shared: Arc<Shared>,
}

impl Wake for LinkWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.ready.lock().unwrap().push(self.link);
        self.shared.unpark();
    }
}

struct LinkState {
    proxy: Box<dyn Proxy>,
    waker: Waker,
}

/// A send under way: the request and the buffer it reads, freed when it completes.
struct Sending {
    req: Request<'static, [u8], StaticScope>,
    buf: *mut [u8],
}

/// The engine, living on its thread (it holds raw buffers, so it is not `Send`).
pub(crate) struct Engine {
    world: SimpleCommunicator,
    shared: Arc<Shared>,
    links: HashMap<u32, LinkState>,
    /// Messages for links not registered yet (a peer rank got there first).
    early: HashMap<u32, Vec<(u32, Vec<u8>)>>,
    sending: Vec<Sending>,
    out: Out,
}

/// When idle, the engine spins for `SPIN`, then yields its core (`sched_yield`: the
/// processes it would wake get to run) until `YIELD` has passed since it last had work,
/// then sleeps in `park_timeout`, doubling from 20 us up to `MAX_SLEEP` (what a quiet link
/// adds to its next message's latency at worst). MPI can only be polled, so an engine that
/// slept while a peer rank answered would add its sleep to every round trip.
const SPIN: Duration = Duration::from_micros(50);
const YIELD: Duration = Duration::from_millis(20);
const MAX_SLEEP: Duration = Duration::from_millis(1);

impl Engine {
    pub(crate) fn new(world: SimpleCommunicator, shared: Arc<Shared>) -> Engine {
        let _ = shared.thread.set(std::thread::current());
        Engine {
            world,
            shared,
            links: HashMap::new(),
            early: HashMap::new(),
            sending: Vec::new(),
            out: Out::default(),
        }
    }

    /// Serves until a `Finish` command has been carried out.
    pub(crate) fn run(mut self) {
        let mut last_busy = Instant::now();
        let mut sleeps = 0u32;
        let mut finishing: Option<mpsc::Sender<()>> = None;
        let mut barrier: Option<Request<'static, ()>> = None;
        loop {
            let mut busy = false;
            let commands = std::mem::take(&mut *self.shared.commands.lock().unwrap());
            for c in commands {
                busy = true;
                match c {
                    Command::Link(id, proxy) => self.add_link(id, proxy),
                    Command::Control { to, payload } => {
                        self.post(to, super::wire::encode(Kind::Control, 0, &payload))
                    }
                    Command::Raw(f) => f(&self.world),
                    Command::Finish(reply) => finishing = Some(reply),
                }
            }
            let ready = std::mem::take(&mut *self.shared.ready.lock().unwrap());
            for id in ready {
                busy = true;
                if let Some(l) = self.links.get_mut(&id) {
                    l.proxy.poll(&l.waker, &mut self.out);
                }
            }
            busy |= self.receive();
            busy |= self.flush();
            if finishing.is_some() && self.sending.is_empty() && barrier.is_none() {
                barrier = Some(self.world.immediate_barrier());
            }
            if let Some(b) = barrier.take() {
                match b.test() {
                    Ok(_) => break,
                    Err(b) => barrier = Some(b),
                }
            }
            if busy {
                last_busy = Instant::now();
                sleeps = 0;
                continue;
            }
            let idle = last_busy.elapsed();
            if idle < SPIN {
                std::hint::spin_loop();
            } else if idle < YIELD {
                std::thread::yield_now();
            } else {
                let n = sleeps.min(10);
                sleeps += 1;
                std::thread::park_timeout((Duration::from_micros(20) * (1 << n)).min(MAX_SLEEP));
            }
        }
        self.collect_errors();
        if let Some(reply) = finishing {
            let _ = reply.send(());
        }
    }

    fn add_link(&mut self, id: u32, proxy: Box<dyn Proxy>) {
        let waker = Waker::from(Arc::new(LinkWaker {
            link: id,
            shared: self.shared.clone(),
        }));
        let mut l = LinkState { proxy, waker };
        for (from, m) in self.early.remove(&id).unwrap_or_default() {
            if let Some((kind, _, payload)) = decode(&m) {
                l.proxy
                    .on_message(from, kind, payload, &l.waker, &mut self.out);
            }
        }
        l.proxy.poll(&l.waker, &mut self.out);
        self.links.insert(id, l);
    }

    /// Takes every message that has arrived; whether there was one.
    fn receive(&mut self) -> bool {
        let mut any = false;
        while let Some((msg, status)) = self
            .world
            .any_process()
            .immediate_matched_probe_with_tag(TAG)
        {
            any = true;
            let from = status.source_rank() as u32;
            let (m, _) = (msg, status).matched_receive_vec::<u8>();
            let Some((kind, link, payload)) = decode(&m) else {
                tracing::warn!(from, "mpi: a message that is not occamy's; dropped");
                continue;
            };
            if kind == Kind::Control {
                self.shared
                    .control
                    .lock()
                    .unwrap()
                    .push((from, payload.to_vec()));
                self.shared.control_cv.notify_all();
                continue;
            }
            match self.links.get_mut(&link) {
                Some(l) => l
                    .proxy
                    .on_message(from, kind, payload, &l.waker, &mut self.out),
                None => self.early.entry(link).or_default().push((from, m)),
            }
        }
        if any {
            self.collect_errors();
        }
        any
    }

    fn collect_errors(&mut self) {
        for l in self.links.values_mut() {
            if let Some(e) = l.proxy.take_error() {
                tracing::error!("{e}");
                self.shared.errors.lock().unwrap().push(e);
            }
        }
    }

    /// Posts what the proxies queued and completes finished sends; whether any was posted.
    fn flush(&mut self) -> bool {
        let out = std::mem::take(&mut self.out.0);
        let posted = !out.is_empty();
        self.shared
            .sent
            .fetch_add(out.len() as u64, std::sync::atomic::Ordering::Relaxed);
        for (to, m) in out {
            self.post(to, m);
        }
        let mut still = Vec::with_capacity(self.sending.len());
        for s in self.sending.drain(..) {
            match s.req.test() {
                // SAFETY: `buf` came from `Box::into_raw` in `post`, and MPI is done with it.
                Ok(_) => drop(unsafe { Box::from_raw(s.buf) }),
                Err(req) => still.push(Sending { req, buf: s.buf }),
            }
        }
        self.sending = still;
        posted
    }

    fn post(&mut self, to: u32, m: Vec<u8>) {
        let buf = Box::into_raw(m.into_boxed_slice());
        // SAFETY: the buffer lives until the request completes (`flush` frees it then), and
        // nothing else touches it meanwhile.
        let view: &'static [u8] = unsafe { &*buf };
        let req = self
            .world
            .process_at_rank(to as i32)
            .immediate_send_with_tag(StaticScope, view, TAG);
        self.sending.push(Sending { req, buf });
    }
}

/// Waits (up to `deadline`; `None`: for as long as it takes) for a control message that
/// `want` accepts, and takes it.
#[cfg_attr(not(feature = "launcher"), allow(dead_code))] // the launcher's exchanges
pub(crate) fn wait_control(
    shared: &Shared,
    deadline: Option<Instant>,
    want: impl Fn(u32, &[u8]) -> bool,
) -> Option<(u32, Vec<u8>)> {
    let mut q = shared.control.lock().unwrap();
    loop {
        if let Some(i) = q.iter().position(|(f, m)| want(*f, m)) {
            return Some(q.remove(i));
        }
        q = match deadline {
            None => shared.control_cv.wait(q).unwrap(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return None;
                }
                shared.control_cv.wait_timeout(q, d - now).unwrap().0
            }
        };
    }
}
