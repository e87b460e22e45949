//! Who steps the engine. An idle green worker does, through the scheduler's idle hook
//! (`Hook`): it `try_lock`s the engine and steps it, so a message that arrives wakes its
//! task on that worker, which runs it at once, with no OS thread woken on the way. The
//! engine thread (`run`) initialises and finalises MPI, carries out commands, and steps
//! the engine whenever no worker does: it backs off while workers step it, takes over
//! when a worker about to park hands driving back, and also when workers stop stepping
//! without parking (all busy in long polls). A thread process blocked on a link drives
//! through the same hook (`claim`, then `poll`s, then `parking`), as a worker would. Why:
//! `README.md`, "Who drives the engine".

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use mpi::request::Request;
use mpi::topology::SimpleCommunicator;
use mpi::traits::CommunicatorCollectives;

use super::engine::{Engine, Shared};
use crate::runtime::scheduler::IdleHook;

/// When idle, the engine thread spins for `SPIN`, then yields its core (`sched_yield`: the
/// processes it would wake get to run) until `YIELD` has passed since it last had work,
/// then sleeps in `park_timeout`, doubling from 20 us up to `MAX_SLEEP` (what a quiet link
/// adds to its next message's latency at worst). MPI can only be polled, so an engine that
/// slept while a peer rank answered would add its sleep to every round trip.
const SPIN: Duration = Duration::from_micros(50);
const YIELD: Duration = Duration::from_millis(20);
const MAX_SLEEP: Duration = Duration::from_millis(1);
/// While workers drive, the engine thread sleeps this long between looks at whether they
/// still do (a worker parking wakes it at once; workers all busy in long polls are noticed
/// within two of these).
const BACKOFF: Duration = Duration::from_micros(500);

fn engine(sh: &Shared) -> MutexGuard<'_, Option<Engine>> {
    sh.engine.lock().unwrap_or_else(|e| e.into_inner())
}

/// The engine thread's loop, from MPI's initialisation until a `Finish` command has been
/// carried out; then the engine is dropped (before `MPI_Finalize`, on this thread).
pub(crate) fn run(sh: Arc<Shared>, world: SimpleCommunicator) {
    *engine(&sh) = Some(Engine::new(world));
    let mut last_busy = Instant::now();
    let mut sleeps = 0u32;
    let mut finishing: Option<mpsc::Sender<()>> = None;
    let mut barrier: Option<Request<'static, ()>> = None;
    let mut seen_steps = u64::MAX;
    loop {
        let commands = std::mem::take(&mut *sh.commands.lock().unwrap());
        let mut busy = !commands.is_empty();
        if busy {
            let mut g = engine(&sh);
            let e = g.as_mut().expect("the engine lives until this loop ends");
            // First what was woken before the commands were given: a command may block
            // the engine (a raw benchmark) or end it, and a peer may wait for an `Ack`
            // that a worker, now gone, left to post.
            e.step(&sh);
            for c in commands {
                if let Some(reply) = e.command(&sh, c) {
                    finishing = Some(reply);
                }
            }
        }
        if finishing.is_none() && sh.workers_drive.load(SeqCst) {
            let steps = sh.worker_steps.load(Relaxed);
            if steps != seen_steps {
                seen_steps = steps;
                std::thread::park_timeout(BACKOFF);
                continue;
            }
            // Workers stopped stepping without handing back (all in long polls): drive.
            sh.workers_drive.store(false, SeqCst);
            seen_steps = u64::MAX;
            last_busy = Instant::now();
            sleeps = 0;
        } else if seen_steps != u64::MAX {
            // Handed back by a worker about to park: start idle from now.
            seen_steps = u64::MAX;
            last_busy = Instant::now();
            sleeps = 0;
        }
        {
            let mut g = engine(&sh);
            let e = g.as_mut().expect("the engine lives until this loop ends");
            busy |= e.step(&sh);
            if finishing.is_some() && e.sending.is_empty() && barrier.is_none() {
                barrier = Some(e.world.immediate_barrier());
            }
            if let Some(b) = barrier.take() {
                match b.test() {
                    Ok(_) => break,
                    Err(b) => barrier = Some(b),
                }
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
    let e = engine(&sh).take();
    if let Some(mut e) = e {
        e.collect_errors(&sh);
    }
    if let Some(reply) = finishing {
        let _ = reply.send(());
    }
}

/// The idle hook through which green workers, and threads blocked on links, drive the
/// engine.
pub(crate) struct Hook(pub(crate) Arc<Shared>);

impl IdleHook for Hook {
    fn poll(&self) -> bool {
        let sh = &*self.0;
        if !sh.workers_may.load(Relaxed) {
            return false;
        }
        // Whoever holds the lock drives; a worker never waits for it.
        let Ok(mut g) = sh.engine.try_lock() else {
            return false;
        };
        let Some(e) = g.as_mut() else {
            return false; // not started, or finalised
        };
        sh.worker_steps.fetch_add(1, Relaxed);
        if !sh.workers_drive.load(Relaxed) {
            sh.workers_drive.store(true, SeqCst);
        }
        e.step(sh)
    }

    fn claim(&self) -> bool {
        let sh = &*self.0;
        if !sh.workers_may.load(Relaxed) {
            return false;
        }
        // Counted as a step, so the engine thread, seeing the count move, backs off (it
        // takes its lock only between its own steps) and the thread's `poll`s get it.
        sh.worker_steps.fetch_add(1, Relaxed);
        sh.workers_drive.store(true, SeqCst);
        sh.thread_claims.fetch_add(1, Relaxed);
        true
    }

    fn parking(&self) {
        let sh = &*self.0;
        if sh.workers_drive.swap(false, SeqCst) {
            sh.unpark();
        }
    }
}
