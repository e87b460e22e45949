//! The progress engine: the state behind every MPI call of a rank (MPI is initialised
//! `Serialized`: one call at a time, from whichever thread holds the engine's lock). It
//! drives non-blocking sends, probes for incoming messages and runs the links' proxies,
//! in `Engine::step`, which idle green workers call through the scheduler's idle hook (and
//! threads blocked on a link, through the same hook) and the engine thread calls when no
//! one else does (`drive.rs`). Processes never call MPI:
//! one waiting on a cross-rank channel waits on a local channel (the wait layer's
//! signals), and a proxy here completes it. Why this shape: see `README.md`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::thread::Thread;
use std::time::Instant;

use mpi::datatype::Equivalence;
use mpi::point_to_point::{Destination, Source};
use mpi::request::{Request, StaticScope};
use mpi::topology::{Communicator, SimpleCommunicator};

use super::link::{Out, Proxy};
use super::wire::{decode, Arrived, Joiner, Kind, MAX_MESSAGE, TAG};

/// How many sends may wait untested before a step that received a message (and so woke a
/// process, which it lets run first) tests them anyway.
const MAX_UNTESTED: usize = 64;

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
    pub(crate) commands: Mutex<Vec<Command>>,
    /// Links whose proxies were woken, to poll.
    ready: Mutex<Vec<u32>>,
    /// Set after each push onto `ready`: an idle step looks at this, not at the lock.
    pub(crate) ready_any: AtomicBool,
    thread: std::sync::OnceLock<Thread>,
    /// Control messages received, by the rank they came from, for whoever waits on them.
    pub(crate) control: Mutex<Vec<(u32, Vec<u8>)>>,
    pub(crate) control_cv: std::sync::Condvar,
    /// Failures the proxies reported (a value that would not decode...).
    pub(crate) errors: Mutex<Vec<String>>,
    /// Link messages sent and received so far: a deadlock judged across ranks counts
    /// only if none moved between two looks and none was in flight.
    pub(crate) sent: AtomicU64,
    pub(crate) received: AtomicU64,
    /// The engine, from the engine thread's start until MPI is finalised. Whoever holds
    /// the lock may make MPI calls: the engine thread, or an idle worker (`try_lock`).
    pub(crate) engine: Mutex<Option<Engine>>,
    /// Whether idle workers may drive the engine (MPI gave `Serialized` or more, and it
    /// was not turned off).
    pub(crate) workers_may: AtomicBool,
    /// Whether a worker drives now: the engine thread backs off and wakers leave it be.
    pub(crate) workers_drive: AtomicBool,
    /// Steps made by workers: the engine thread takes over when they stop coming.
    pub(crate) worker_steps: AtomicU64,
    /// Times a thread blocked on a link claimed the driving (`Hook::claim`).
    pub(crate) thread_claims: AtomicU64,
}

impl Shared {
    pub(crate) fn new() -> Arc<Shared> {
        Arc::new(Shared {
            commands: Mutex::new(Vec::new()),
            ready: Mutex::new(Vec::new()),
            ready_any: AtomicBool::new(false),
            thread: std::sync::OnceLock::new(),
            control: Mutex::new(Vec::new()),
            control_cv: std::sync::Condvar::new(),
            errors: Mutex::new(Vec::new()),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            engine: Mutex::new(None),
            workers_may: AtomicBool::new(false),
            workers_drive: AtomicBool::new(false),
            worker_steps: AtomicU64::new(0),
            thread_claims: AtomicU64::new(0),
        })
    }

    pub(crate) fn command(&self, c: Command) {
        self.commands.lock().unwrap().push(c);
        self.unpark();
    }

    pub(crate) fn unpark(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }
}

/// A link's waker: marks the link ready and wakes the engine thread, unless a worker
/// drives the engine (it steps again before it parks, and hands back to the engine thread
/// when it does). Cheap, and takes no channel lock (channels wake it with their lock held).
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
        // After the push: a flush that clears the flag before taking the list finds the
        // link, or leaves the flag set for the next.
        self.shared.ready_any.store(true, SeqCst);
        // SeqCst, after the push: a worker handing back clears the flag and then unparks,
        // so either this sees it cleared, or the engine thread, unparked after it, sees
        // the push.
        if !self.shared.workers_drive.load(SeqCst) {
            self.shared.unpark();
        }
    }
}

/// The waker that makes link `id`'s proxy run (its local channel, or barrier, wakes it).
pub(crate) fn link_waker(sh: &Arc<Shared>, id: u32) -> Waker {
    Waker::from(Arc::new(LinkWaker {
        link: id,
        shared: sh.clone(),
    }))
}

struct LinkState {
    proxy: Box<dyn Proxy>,
    waker: Waker,
}

/// A vector lent to MPI for a request: its pointer, length and capacity, taken apart so
/// that MPI may use its bytes until the request completes.
struct Lent(*mut u8, usize, usize);

impl Lent {
    /// Lends `v`'s bytes; they are MPI's until `take_back`.
    ///
    /// # Safety
    /// The slice is given to one MPI request and to nothing else, and the `Lent` is taken
    /// back only once that request is over: the slice lives exactly as long as that.
    unsafe fn lend(v: Vec<u8>) -> (Lent, &'static mut [u8]) {
        let mut v = std::mem::ManuallyDrop::new(v);
        let lent = Lent(v.as_mut_ptr(), v.len(), v.capacity());
        // SAFETY: the vector's buffer lives until `take_back` rebuilds the vector, which
        // the caller does only once the request using the slice is over.
        let bytes = unsafe { std::slice::from_raw_parts_mut(lent.0, lent.1) };
        (lent, bytes)
    }

    /// The vector again.
    ///
    /// # Safety
    /// The request it was lent to has completed (or was cancelled and waited for).
    unsafe fn take_back(self) -> Vec<u8> {
        // SAFETY: the parts of a vector (`lend`), which MPI no longer uses.
        unsafe { Vec::from_raw_parts(self.0, self.1, self.2) }
    }
}

/// A send under way: the request and the buffer it reads, taken back when it completes.
pub(crate) struct Sending {
    req: Request<'static, [u8], StaticScope>,
    buf: Lent,
}

/// The receive kept posted for the next message (`Engine::receive`), into a buffer of
/// `MAX_MESSAGE` bytes.
struct Posted {
    req: Request<'static, [u8], StaticScope>,
    buf: Lent,
}

/// Hashes a link id as itself: ids are small and distinct, and a link is looked up for
/// every message and every wake (SipHash was ~450 instructions a round trip).
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = u64::from(i);
    }
}

type ById<V> = HashMap<u32, V, std::hash::BuildHasherDefault<IdHasher>>;

/// The engine: the world communicator, the links' proxies, the sends under way.
pub(crate) struct Engine {
    pub(crate) world: SimpleCommunicator,
    links: ById<LinkState>,
    /// Messages for links not registered yet (a peer rank got there first).
    early: HashMap<u32, Vec<(u32, Vec<u8>)>>,
    pub(crate) sending: Vec<Sending>,
    /// `complete_sends`' spare vector.
    still: Vec<Sending>,
    out: Out,
    /// The buffer messages are received into, while no receive is posted.
    inbox: Vec<u8>,
    /// The receive posted for the next message, if any.
    posted: Option<Posted>,
    /// Long messages arriving in pieces.
    joiner: Joiner,
    /// The ready list's spare vector (`flush`).
    ready: Vec<u32>,
}

// SAFETY: the engine holds MPI handles and the raw buffers of sends under way, which MPI
// lets any thread use when initialised `Serialized` (or `Multiple`) as long as no two
// calls overlap: the engine lives in `Shared::engine`, and every MPI call is made by the
// thread holding that lock. Under a lesser level only the engine thread locks it
// (`workers_may` stays false). The buffers lent to MPI (`Lent`) are touched only by MPI
// until taken back.
unsafe impl Send for Engine {}

impl Engine {
    pub(crate) fn new(world: SimpleCommunicator) -> Engine {
        Engine {
            world,
            links: ById::default(),
            early: HashMap::new(),
            sending: Vec::new(),
            still: Vec::new(),
            out: Out::default(),
            inbox: Vec::new(),
            posted: None,
            joiner: Joiner::default(),
            ready: Vec::new(),
        }
    }

    /// Carries out a command (on the engine thread). Returns the reply channel of a
    /// `Finish`.
    pub(crate) fn command(&mut self, sh: &Arc<Shared>, c: Command) -> Option<mpsc::Sender<()>> {
        match c {
            Command::Link(id, proxy) => self.add_link(sh, id, proxy),
            Command::Control { to, payload } => {
                self.post(to, super::wire::encode(Kind::Control, 0, &payload))
            }
            Command::Raw(f) => f(&self.world),
            Command::Finish(reply) => return Some(reply),
        }
        None
    }

    /// One round: polls the proxies woken, takes every message arrived, posts what the
    /// proxies queued and completes finished sends. Never blocks; whether it did work.
    pub(crate) fn step(&mut self, sh: &Shared) -> bool {
        // What the polls queued (a reader's `Ack` and the reply its process sent) goes
        // out before the probes: a probe that finds nothing still costs MPI's progress,
        // twice (`receive`), and the peer waits for this message meanwhile.
        let mut busy = self.flush(sh);
        let received = self.receive(sh);
        busy |= self.post_out(sh);
        busy |= received;
        // Finished sends are tested (MPI's progress again) only in a step that woke no
        // process by a message, so as not to delay the one it woke; but never left for
        // long, so that a rank always busy does not pile up requests.
        if !received || self.sending.len() >= MAX_UNTESTED {
            self.complete_sends();
        }
        busy
    }

    /// Polls the proxies woken and posts what they queued; no probe, no test.
    pub(crate) fn flush(&mut self, sh: &Shared) -> bool {
        let mut busy = false;
        // Cleared before the list is taken: a push it misses sets it again after. The
        // list's vector and this one trade places, so neither is reallocated.
        if sh.ready_any.load(Relaxed) && sh.ready_any.swap(false, SeqCst) {
            let mut ready = std::mem::take(&mut self.ready);
            std::mem::swap(&mut *sh.ready.lock().unwrap(), &mut ready);
            for &id in &ready {
                busy = true;
                self.poll_link(sh, id);
            }
            ready.clear();
            self.ready = ready;
        }
        if !self.out.later.is_empty() {
            busy = true;
            let mut later = std::mem::take(&mut self.out.later);
            for &id in &later {
                self.poll_link(sh, id);
            }
            later.clear();
            // Back, to keep its allocation, unless a poll asked again meanwhile.
            if self.out.later.is_empty() {
                self.out.later = later;
            }
        }
        busy | self.post_out(sh)
    }

    fn poll_link(&mut self, sh: &Shared, id: u32) {
        if let Some(l) = self.links.get_mut(&id) {
            l.proxy.poll(&l.waker, &mut self.out);
            report(sh, &mut *l.proxy);
        }
    }

    fn add_link(&mut self, sh: &Arc<Shared>, id: u32, proxy: Box<dyn Proxy>) {
        let waker = link_waker(sh, id);
        let mut l = LinkState { proxy, waker };
        for (from, m) in self.early.remove(&id).unwrap_or_default() {
            if let Some((kind, _, payload)) = decode(&m) {
                l.proxy
                    .on_message(from, kind, payload, &l.waker, &mut self.out);
            }
        }
        l.proxy.poll(&l.waker, &mut self.out);
        report(sh, &mut *l.proxy);
        self.links.insert(id, l);
    }

    /// Takes one message if one has arrived; whether there was one.
    ///
    /// A receive (`MPI_Irecv`, any source, occamy's tag) is kept posted and tested: a test
    /// that finds it unfinished runs MPI's progress and looks again (OpenMPI's does), so
    /// one call sees what that progress brought, and a message that arrives is matched
    /// to the posted receive as it comes in, not queued as unexpected, then probed and
    /// copied. (Before, a matched probe: one that found nothing ran progress only after
    /// looking, so every idle round probed twice, about 1,000 instructions, and a hit
    /// cost a probe and a matched receive, about 1,200.)
    ///
    /// One message, not all: the process a message wakes runs only once this step has
    /// returned. The next step, which an idle worker or the engine thread makes at once,
    /// posts the next receive (off the woken process's path) and takes the next message.
    fn receive(&mut self, sh: &Shared) -> bool {
        let posted = match self.posted.take() {
            Some(p) => p,
            None => self.post_receive(),
        };
        let status = match posted.req.test() {
            Ok(status) => status,
            Err(req) => {
                self.posted = Some(Posted {
                    req,
                    buf: posted.buf,
                });
                return false;
            }
        };
        let from = status.source_rank() as u32;
        // SAFETY: the receive has completed.
        let m = unsafe { posted.buf.take_back() };
        let n = (status.count(u8::equivalent_datatype()).max(0) as usize).min(m.len());
        match self.joiner.arrive(from, &m[..n]) {
            Arrived::Whole(one) => self.take_message(sh, from, one),
            Arrived::Joined(whole) => self.take_message(sh, from, &whole),
            Arrived::Partial => {}
        }
        self.inbox = m;
        true
    }

    /// Posts the receive for the next message, into the engine's buffer.
    fn post_receive(&mut self) -> Posted {
        let mut b = std::mem::take(&mut self.inbox);
        b.resize(MAX_MESSAGE, 0);
        // SAFETY: for this receive alone, taken back by `receive` once it completes, or
        // by `drop` once cancelled.
        let (buf, view) = unsafe { Lent::lend(b) };
        let req = self
            .world
            .any_process()
            .immediate_receive_into_with_tag(StaticScope, view, TAG);
        Posted { req, buf }
    }

    /// Takes a whole message: a batch's messages one by one, or one.
    fn take_message(&mut self, sh: &Shared, from: u32, m: &[u8]) {
        match decode(m) {
            Some((Kind::Batch, _, payload)) => {
                for one in super::wire::batch(payload) {
                    self.deliver(sh, from, one);
                }
            }
            Some(_) => self.deliver(sh, from, m),
            None => tracing::warn!(from, "mpi: a message that is not occamy's; dropped"),
        }
    }

    /// Hands one received message to its link's proxy (or keeps it for a link not
    /// registered yet), or a control message to whoever waits for it.
    fn deliver(&mut self, sh: &Shared, from: u32, m: &[u8]) {
        let Some((kind, link, payload)) = decode(m) else {
            tracing::warn!(from, "mpi: a message that is not occamy's; dropped");
            return;
        };
        if kind == Kind::Control {
            sh.control.lock().unwrap().push((from, payload.to_vec()));
            sh.control_cv.notify_all();
            return;
        }
        sh.received
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.links.get_mut(&link) {
            Some(l) => {
                l.proxy
                    .on_message(from, kind, payload, &l.waker, &mut self.out);
                report(sh, &mut *l.proxy);
            }
            None => self.early.entry(link).or_default().push((from, m.to_vec())),
        }
    }

    pub(crate) fn collect_errors(&mut self, sh: &Shared) {
        for l in self.links.values_mut() {
            report(sh, &mut *l.proxy);
        }
    }

    /// Posts what the proxies queued; whether anything was.
    fn post_out(&mut self, sh: &Shared) -> bool {
        if self.out.batches.is_empty() {
            return false;
        }
        // What one step queued for one rank goes as one MPI message (a `Batch`, written
        // in place by `Out`): a reader's `Ack` and the reply its process sent next are
        // queued by the same step (the process ran between two steps), so a ping-pong hop
        // costs one MPI message, not two. The order of the messages for each rank is
        // kept, as MPI keeps it between messages.
        let mut out = std::mem::take(&mut self.out.batches);
        for (to, m) in out.drain(..) {
            let n = super::wire::batch(&m[5..]).count();
            sh.sent
                .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            self.post(to, m);
        }
        self.out.batches = out;
        true
    }

    /// Takes back the buffers of the sends MPI is done with (`Out::recycle`).
    fn complete_sends(&mut self) {
        if self.sending.is_empty() {
            return;
        }
        // The two vectors trade places, so neither is reallocated.
        let mut still = std::mem::take(&mut self.still);
        let mut sending = std::mem::take(&mut self.sending);
        for s in sending.drain(..) {
            match s.req.test() {
                // SAFETY: the send has completed.
                Ok(_) => self.out.recycle(unsafe { s.buf.take_back() }),
                Err(req) => still.push(Sending { req, buf: s.buf }),
            }
        }
        self.sending = still;
        self.still = sending;
    }

    fn post(&mut self, to: u32, m: Vec<u8>) {
        if m.len() > MAX_MESSAGE {
            // Longer than the receive posted for it: in pieces, joined on arrival.
            for piece in super::wire::split(&m, MAX_MESSAGE) {
                self.post_one(to, piece);
            }
            return self.out.recycle(m);
        }
        self.post_one(to, m);
    }

    fn post_one(&mut self, to: u32, m: Vec<u8>) {
        // SAFETY: for this send alone, taken back by `complete_sends` once it completes.
        let (buf, view) = unsafe { Lent::lend(m) };
        let view: &'static [u8] = view;
        let req = self
            .world
            .process_at_rank(to as i32)
            .immediate_send_with_tag(StaticScope, view, TAG);
        self.sending.push(Sending { req, buf });
    }
}

impl Drop for Engine {
    /// Cancels the receive left posted (before `MPI_Finalize`, which follows on the
    /// engine thread): a message it took meanwhile came after the run's end, and is lost
    /// as it would have been unread.
    fn drop(&mut self) {
        if let Some(p) = self.posted.take() {
            p.req.cancel();
            p.req.wait_without_status();
            // SAFETY: cancelled and waited for.
            drop(unsafe { p.buf.take_back() });
        }
    }
}

/// Reports a failure the proxy just met. Asked of the one proxy that ran, not of every
/// link after each message (a rank with thousands of links paid a call per link).
fn report(sh: &Shared, p: &mut dyn Proxy) {
    if let Some(e) = p.take_error() {
        tracing::error!("{e}");
        sh.errors.lock().unwrap().push(e);
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
