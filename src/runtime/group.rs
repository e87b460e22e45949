//! The processes started by one run (a `par`, `seq` or `spawn`), and what happened to
//! them as a whole.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use super::builder::Runtime;
use super::record::{lock_std, Record};
use crate::deadlock::DeadlockReport;

pub(crate) struct Group {
    records: Mutex<Vec<Arc<Record>>>,
    pub(crate) deadlock: Mutex<Option<DeadlockReport>>,
    /// Some process of the group failed or panicked (`Begun::end`).
    pub(crate) failed: std::sync::atomic::AtomicBool,
    /// The options it runs with (without the watch: see `watch`).
    pub(crate) config: Runtime,
    /// The watch observing it, weakly: the watch keeps the group (and, once it ended, its
    /// records) for as long as someone looks.
    watch: Option<Weak<super::observe::Inner>>,
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Group({} processes)", lock_std(&self.records).len())
    }
}

impl Group {
    pub(crate) fn new(config: &Runtime) -> Arc<Group> {
        super::monitor::ensure(config);
        let mut config = config.clone();
        // A run started inside a watched one (a process's own `par` or `spawn`) is
        // watched too, so that the processes it adds are seen with the rest.
        let watch = config
            .watch
            .take()
            .map(|w| w.downgrade())
            .or_else(|| super::context::with_current(|r| r.group.watch.clone()).flatten());
        let group = Arc::new(Group {
            records: Mutex::new(Vec::new()),
            deadlock: Mutex::new(None),
            failed: std::sync::atomic::AtomicBool::new(false),
            config,
            watch,
        });
        if let Some(w) = &group.watch {
            super::observe::attach(w, &group);
        }
        group
    }

    pub(crate) fn add(&self, r: Arc<Record>) {
        lock_std(&self.records).push(r);
    }

    /// Every process of the group, started or ended, in declaration order.
    pub(crate) fn records(&self) -> Vec<Arc<Record>> {
        let mut all = lock_std(&self.records).clone();
        all.sort_by_key(|r| r.id);
        all
    }

    /// Takes the records, in declaration order, to let go of them one by one, unless
    /// someone watches the group (it keeps them: `release`).
    #[cfg(feature = "network")]
    pub(crate) fn take_records(&self) -> Option<Vec<Arc<Record>>> {
        if self.watch.is_some() {
            return None;
        }
        let mut all = std::mem::take(&mut *lock_std(&self.records));
        all.sort_by_key(|r| r.id);
        Some(all)
    }

    /// Lets go of the records once the run has been concluded: they refer to the group,
    /// so keeping them would keep both alive for ever.
    pub(crate) fn release(&self) {
        let records = std::mem::take(&mut *lock_std(&self.records));
        if let Some(w) = &self.watch {
            super::observe::detach(w, self, records);
        }
    }

    /// Records the deadlock (the first found) and, if the group poisons on deadlock,
    /// poisons everything its processes hold.
    pub(crate) fn deadlocked(&self, report: &DeadlockReport) {
        {
            let mut d = lock_std(&self.deadlock);
            if d.is_none() {
                *d = Some(report.clone());
                if super::recorder::on() {
                    super::recorder::emit(super::recorder::Ev::Deadlock(Box::new(report.clone())));
                }
            }
        }
        if self.config.on_deadlock == crate::deadlock::OnDeadlock::Poison {
            for r in lock_std(&self.records).clone() {
                r.poison_held();
            }
        }
    }
}
