//! Running a checked plan: make its channels, build its processes, run them.

use std::any::Any;
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Diagnostic, NetworkError, Plan, PortBind};
use crate::barrier::Barrier;
use crate::channel::Core;
use crate::deadlock::DeadlockReport;
use crate::registry::{Bound, BuildCtx, PortDir, Registry};
use crate::runtime::held::Held;
use crate::runtime::record::lock_std;
use crate::runtime::{run_group, Group, ParError, ProcessEnd, Runtime};
use crate::wait::Direction;

/// How much one channel carried.
#[derive(Debug, Clone)]
pub struct ChannelStats {
    /// The channel's name.
    pub name: String,
    /// Its element type.
    pub ty: String,
    /// How many values it delivered.
    pub carried: u64,
}

/// How one process ran.
#[derive(Debug, Clone)]
pub struct ProcessStats {
    /// The process's name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// How long it ran.
    pub ran: Duration,
    /// How it ended.
    pub end: ProcessEnd,
}

/// What a run did.
#[derive(Debug)]
pub struct RunReport {
    /// `Ok` when every process ended normally (including by poison or retirement).
    pub result: Result<(), ParError>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Per channel, in plan order.
    pub channels: Vec<ChannelStats>,
    /// Per process that has ended, in plan order.
    pub processes: Vec<ProcessStats>,
    /// The deadlock found, if any.
    pub deadlock: Option<DeadlockReport>,
}

/// A network that is running.
pub struct Running {
    cores: Vec<(String, String, Arc<Core>)>,
    stats: Arc<Mutex<Vec<Option<ProcessStats>>>>,
    done: mpsc::Receiver<Result<(), ParError>>,
    finished: Option<Result<(), ParError>>,
    thread: Option<JoinHandle<()>>,
    started: Instant,
    group: Arc<Group>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Running({} channels)", self.cores.len())
    }
}

pub(crate) fn start(
    plan: &Plan,
    reg: &Registry,
    runtime: &Runtime,
) -> Result<Running, NetworkError> {
    let mut txs: Vec<Vec<Box<dyn Any + Send>>> = Vec::with_capacity(plan.channels.len());
    let mut rxs: Vec<Vec<Box<dyn Any + Send>>> = Vec::with_capacity(plan.channels.len());
    let mut cores = Vec::with_capacity(plan.channels.len());
    for c in &plan.channels {
        let info = reg
            .type_info(&c.ty)
            .expect("a checked plan names registered types");
        let ch = info.make(c.buffer);
        ch.core.set_name(c.name.clone());
        let mut t: Vec<Box<dyn Any + Send>> = (1..c.writers.len())
            .map(|_| (ch.clone_tx)(&*ch.tx))
            .collect();
        let mut r: Vec<Box<dyn Any + Send>> = (1..c.readers.len())
            .map(|_| (ch.clone_rx)(&*ch.rx))
            .collect();
        t.push(ch.tx);
        r.push(ch.rx);
        txs.push(t);
        rxs.push(r);
        cores.push((c.name.clone(), c.ty.clone(), ch.core));
    }
    // One enrolment per party: the barrier's first handle, then one more per party.
    let mut barrier_ends: HashMap<(usize, String), Barrier> = HashMap::new();
    for b in &plan.barriers {
        let first = Barrier::new();
        first.set_name(b.name.clone());
        let mut handles: Vec<Barrier> = (1..b.parties.len()).map(|_| first.enroll()).collect();
        handles.push(first);
        for (party, h) in b.parties.iter().zip(handles) {
            barrier_ends.insert(party.clone(), h);
        }
    }
    let stats: Arc<Mutex<Vec<Option<ProcessStats>>>> =
        Arc::new(Mutex::new(vec![None; plan.processes.len()]));
    let mut procs = Vec::with_capacity(plan.processes.len());
    let mut diags = Vec::new();
    for (i, p) in plan.processes.iter().enumerate() {
        let mut ports = HashMap::new();
        let mut held = Vec::new();
        for (name, (dir, bind)) in &p.ports {
            let d = match dir {
                PortDir::Out => Direction::Send,
                PortDir::In => Direction::Recv,
            };
            let ids = match bind {
                PortBind::One(id) => std::slice::from_ref(id),
                PortBind::Many(ids) => ids.as_slice(),
            };
            held.extend(ids.iter().map(|&id| Held::Chan(cores[id].2.clone(), d)));
            let ends = match dir {
                PortDir::Out => &mut txs,
                PortDir::In => &mut rxs,
            };
            let mut take = |id: usize| ends[id].pop().expect("one end per binding");
            let b = match bind {
                PortBind::One(id) => Bound::One(take(*id)),
                PortBind::Many(ids) => Bound::Many(ids.iter().map(|&id| take(id)).collect()),
            };
            ports.insert(name.clone(), b);
        }
        let mut barriers = HashMap::new();
        for port in p.barriers.keys() {
            let h = barrier_ends
                .remove(&(i, port.clone()))
                .expect("one enrolment per party");
            held.push(Held::Barrier(h.shared.clone()));
            barriers.insert(port.clone(), h);
        }
        let mut ctx = BuildCtx {
            name: p.name.clone(),
            ports,
            params: p.params.clone(),
            elem: p.elem.clone(),
            format: None,
            barriers,
        };
        let kind = reg
            .kind(&p.kind)
            .expect("a checked plan names registered kinds");
        match reg.build(kind, &mut ctx) {
            Ok(proc_) => {
                let proc_ = if p.own_thread {
                    proc_.on_own_thread()
                } else {
                    proc_
                };
                let stats = stats.clone();
                let (name, kind) = (p.name.clone(), p.kind.clone());
                procs.push(proc_.holding(held).observe(Box::new(move |end, ran| {
                    let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                    s[i] = Some(ProcessStats {
                        name,
                        kind,
                        ran,
                        end,
                    });
                })));
            }
            Err(e) => diags.push(Diagnostic {
                file: p.file.clone(),
                pos: p.pos,
                context: vec![format!("process `{}`", p.name)],
                message: format!("cannot build: {e}"),
                help: None,
            }),
        }
    }
    if !diags.is_empty() {
        return Err(NetworkError { diagnostics: diags });
    }
    let (tx, done) = mpsc::channel();
    let started = Instant::now();
    let group = Group::new(runtime);
    let g = group.clone();
    let thread = std::thread::Builder::new()
        .name(format!("network {}", plan.name))
        .spawn(move || {
            let _ = tx.send(run_group(&g, procs).result);
        })
        .map_err(|e| NetworkError {
            diagnostics: vec![Diagnostic {
                file: plan.file.clone(),
                pos: None,
                context: vec![],
                message: format!("cannot start the network: {e}"),
                help: None,
            }],
        })?;
    Ok(Running {
        cores,
        stats,
        done,
        finished: None,
        thread: Some(thread),
        started,
        group,
    })
}

impl Running {
    /// Poisons every channel of the network, so that every process stops at its next
    /// channel operation (or at once, if blocked on one).
    pub fn poison(&self) {
        for (_, _, c) in &self.cores {
            c.poison();
        }
    }

    /// The deadlock found so far, if any.
    pub fn deadlock(&self) -> Option<DeadlockReport> {
        lock_std(&self.group.deadlock).clone()
    }

    /// Waits up to `timeout` for the network to end; returns whether it has.
    ///
    /// # Blocking
    /// Blocks for at most `timeout`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> bool {
        if self.finished.is_some() {
            return true;
        }
        match self.done.recv_timeout(timeout) {
            Ok(r) => {
                self.finished = Some(r);
                true
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                unreachable!("the network thread always reports")
            }
        }
    }

    /// The statistics so far: channels' counts, and the processes that have ended.
    pub fn snapshot(&self) -> (Vec<ChannelStats>, Vec<ProcessStats>) {
        let channels = self
            .cores
            .iter()
            .map(|(name, ty, c)| ChannelStats {
                name: name.clone(),
                ty: ty.clone(),
                carried: c.carried(),
            })
            .collect();
        let processes = self
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .flatten()
            .cloned()
            .collect();
        (channels, processes)
    }

    /// Waits for the network to end and reports the run.
    ///
    /// # Blocking
    /// Blocks until every process has ended.
    pub fn wait(mut self) -> RunReport {
        let result = match self.finished.take() {
            Some(r) => r,
            None => self.done.recv().expect("the network thread always reports"),
        };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let elapsed = self.started.elapsed();
        let (channels, processes) = self.snapshot();
        let deadlock = self.deadlock();
        RunReport {
            result,
            elapsed,
            channels,
            processes,
            deadlock,
        }
    }
}
