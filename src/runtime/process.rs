//! The [`Process`] builder: a name, a body (blocking or async), and what it is declared to
//! hold.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use super::context;
use super::error::{Error, ProcessResult};
use super::held::Held;
use super::record::{next_id, HeldEntry};
use crate::barrier::Barrier;
use crate::channel::{Receiver, Sender};
use crate::wait::Direction;

pub(crate) type AsyncBody = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// A body's future with its output made a `Result<(), Error>`. A struct, not an async
/// block: an async block that awaits a captured future stores it twice (as the capture and
/// as the awaited future), doubling every async process's allocation.
struct IntoResult<F>(F);

impl<F: Future> Future for IntoResult<F>
where
    F::Output: ProcessResult,
{
    type Output = Result<(), Error>;

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        // SAFETY: a structural pin projection: `IntoResult` never moves its field, has no
        // Drop and no Unpin impl of its own.
        let f = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        f.poll(cx).map(ProcessResult::into_result)
    }
}

pub(crate) enum Body {
    Sync(Box<dyn FnOnce() -> Result<(), Error> + Send>),
    Async(AsyncBody),
}

/// A named process, ready to run with [`par`](crate::par), [`seq`](crate::seq),
/// [`spawn`](crate::spawn) or a [`Runtime`](crate::Runtime).
///
/// # Examples
/// ```
/// use occamy::{par, Process};
/// let (tx, rx) = occamy::channel();
/// par([
///     Process::new("producer", move || -> occamy::Result {
///         for i in 0..10 { tx.send(i)?; }
///         Ok(())
///     }),
///     Process::new("consumer", move || assert_eq!(rx.iter().sum::<i32>(), 45)),
/// ])
/// .unwrap();
/// ```
pub struct Process {
    pub(crate) name: String,
    pub(crate) body: Body,
    /// What it is declared to hold, and how many of its end objects stand for each.
    pub(crate) holds: Vec<HeldEntry>,
    pub(crate) id: u64,
    /// Run on a thread of its own even under the green scheduler.
    pub(crate) own_thread: bool,
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Process({:?})", self.name)
    }
}

impl Process {
    /// A process running the blocking code `body`.
    pub fn new<F, R>(name: impl Into<String>, body: F) -> Process
    where
        F: FnOnce() -> R + Send + 'static,
        R: ProcessResult,
    {
        Process {
            name: name.into(),
            body: Body::Sync(Box::new(move || body().into_result())),
            holds: Vec::new(),
            id: next_id(),
            own_thread: false,
        }
    }

    /// A process running the async code `body`. Under the thread scheduler it runs on its
    /// own thread under [`block_on`](crate::block_on); it talks to blocking processes over
    /// the same channels.
    ///
    /// # Examples
    /// ```
    /// use occamy::{par, Process};
    /// let (tx, rx) = occamy::channel();
    /// par([
    ///     Process::new_async("async writer", async move { tx.send_async(1).await }),
    ///     Process::new("reader", move || assert_eq!(rx.recv(), Ok(1))),
    /// ])
    /// .unwrap();
    /// ```
    pub fn new_async<F, R>(name: impl Into<String>, body: F) -> Process
    where
        F: Future<Output = R> + Send + 'static,
        R: ProcessResult,
    {
        Process {
            name: name.into(),
            body: Body::Async(Box::pin(IntoResult(body))),
            holds: Vec::new(),
            id: next_id(),
            own_thread: false,
        }
    }

    /// A process declared with what it holds (PyCSP style: the channel ends are the
    /// process's arguments): `ends` (a channel end, a barrier, or a tuple, array or `Vec` of
    /// them) is handed to `body`. Declaring the ends lets the runtime know, before the
    /// process first uses them, who is at the other end of every channel: the graph of
    /// what ran shows them, and the deadlock detector can name the waits-for cycle even
    /// among processes blocked before they ever used some of their ends. An end that
    /// another process had used moves to this one.
    ///
    /// # Examples
    /// ```
    /// use occamy::{par, Process};
    /// let (tx, rx) = occamy::channel::<u32>();
    /// par([
    ///     Process::with("source", tx, |tx| tx.send(7)),
    ///     Process::with("sink", rx, |rx| assert_eq!(rx.recv(), Ok(7))),
    /// ])
    /// .unwrap();
    /// ```
    pub fn with<H, F, R>(name: impl Into<String>, ends: H, body: F) -> Process
    where
        H: Holds + 'static,
        F: FnOnce(H) -> R + Send + 'static,
        R: ProcessResult,
    {
        let id = next_id();
        let holds = declare(id, &ends);
        Process {
            holds,
            id,
            ..Process::new(name, move || body(ends))
        }
    }

    /// The async form of [`with`](Process::with): `body` gets the ends and returns the
    /// process's future.
    ///
    /// # Examples
    /// ```
    /// use occamy::{par, Process};
    /// let (tx, rx) = occamy::channel::<u32>();
    /// par([
    ///     Process::with_async("source", tx, |tx| async move { tx.send_async(7).await }),
    ///     Process::with("sink", rx, |rx| assert_eq!(rx.recv(), Ok(7))),
    /// ])
    /// .unwrap();
    /// ```
    pub fn with_async<H, F, Fut, R>(name: impl Into<String>, ends: H, body: F) -> Process
    where
        H: Holds + 'static,
        F: FnOnce(H) -> Fut + Send + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: ProcessResult,
    {
        let id = next_id();
        let holds = declare(id, &ends);
        Process {
            holds,
            id,
            ..Process::new_async(name, async move { body(ends).await })
        }
    }

    /// The process's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the body is async (it can run as a green task).
    pub fn is_async(&self) -> bool {
        matches!(self.body, Body::Async(_))
    }

    /// Runs the process on an OS thread of its own under every scheduler (an async body
    /// under [`block_on`](crate::block_on) there): for a process that blocks in the OS, or
    /// that must not share a worker with others.
    ///
    /// # Examples
    /// ```
    /// use occamy::{Process, Runtime, Scheduler};
    /// let (tx, rx) = occamy::channel::<u8>();
    /// Runtime::new()
    ///     .scheduler(Scheduler::green())
    ///     .par([
    ///         Process::new_async("task", async move { tx.send_async(1).await }),
    ///         Process::new_async("own thread", async move { rx.recv_async().await.map(drop) })
    ///             .on_own_thread(),
    ///     ])
    ///     .unwrap();
    /// ```
    pub fn on_own_thread(mut self) -> Process {
        self.own_thread = true;
        self
    }

    /// Whether it runs on a thread of its own (see [`on_own_thread`](Process::on_own_thread)).
    pub fn has_own_thread(&self) -> bool {
        self.own_thread
    }

    /// Declares more things the process holds, by no end object yet (the process's first
    /// use of each registers it).
    #[cfg(feature = "network")]
    pub(crate) fn holding(mut self, h: Vec<Held>) -> Process {
        // Exactly sized: the record keeps this list for the process's life (`Vec::extend`
        // into an empty list would make room for four).
        self.holds.reserve_exact(h.len());
        self.holds
            .extend(h.into_iter().map(|h| HeldEntry::new(h, 0)));
        self
    }
}

/// What `ends` holds, claimed for process `id`: each end object now belongs to it, and a
/// process that had used one lets go of it.
fn declare<H: Holds>(id: u64, ends: &H) -> Vec<HeldEntry> {
    let mut set = HeldSet {
        owner: id,
        held: Vec::new(),
    };
    ends.held(&mut set);
    // A new list, exactly sized: collected from `set.held` (entries of the same size) it
    // would reuse that list and its room for four.
    let mut out = Vec::with_capacity(set.held.len());
    out.extend(set.held.into_iter().map(|h| HeldEntry::new(h, 1)));
    out
}

/// Things a process can be declared to hold, so that the runtime knows its ends before it
/// uses them: channel ends, barriers, and tuples, arrays and vectors of them.
pub trait Holds: Send {
    /// Appends what `self` holds.
    #[doc(hidden)]
    fn held(&self, out: &mut HeldSet);
}

/// What a process is declared to hold (opaque; see [`Holds`]).
#[doc(hidden)]
pub struct HeldSet {
    owner: u64,
    held: Vec<Held>,
}

impl HeldSet {
    /// `h`, whose end object's previous owner was `from`.
    fn push(&mut self, h: Held, from: u64) {
        if from != 0 && from != self.owner {
            context::release_from(&h, from);
        }
        self.held.push(h);
    }
}

impl<T: Send + 'static> Holds for Sender<T> {
    fn held(&self, out: &mut HeldSet) {
        let from = self.claim(out.owner);
        out.push(Held::Chan(self.core.clone(), Direction::Send), from);
    }
}

impl<T: Send + 'static> Holds for Receiver<T> {
    fn held(&self, out: &mut HeldSet) {
        let from = self.claim(out.owner);
        out.push(Held::Chan(self.core.clone(), Direction::Recv), from);
    }
}

impl Holds for Barrier {
    fn held(&self, out: &mut HeldSet) {
        let from = self.claim(out.owner);
        out.push(Held::Barrier(self.shared.clone()), from);
    }
}

impl<H: Holds> Holds for Vec<H> {
    fn held(&self, out: &mut HeldSet) {
        self.iter().for_each(|h| h.held(out));
    }
}

impl<H: Holds, const N: usize> Holds for [H; N] {
    fn held(&self, out: &mut HeldSet) {
        self.iter().for_each(|h| h.held(out));
    }
}

impl<H: Holds> Holds for Option<H> {
    fn held(&self, out: &mut HeldSet) {
        if let Some(h) = self {
            h.held(out)
        }
    }
}

impl Holds for () {
    fn held(&self, _: &mut HeldSet) {}
}

macro_rules! holds_tuple {
    ($($t:ident $i:tt),*) => {
        impl<$($t: Holds),*> Holds for ($($t,)*) {
            fn held(&self, out: &mut HeldSet) {
                $(self.$i.held(out);)*
            }
        }
    };
}
holds_tuple!(A 0);
holds_tuple!(A 0, B 1);
holds_tuple!(A 0, B 1, C 2);
holds_tuple!(A 0, B 1, C 2, D 3);
holds_tuple!(A 0, B 1, C 2, D 3, E 4);
holds_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
holds_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
holds_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
