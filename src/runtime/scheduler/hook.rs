//! The idle hook: work a worker does when it has no task to run, before it parks (the
//! seam through which an I/O driver, here the MPI engine of `src/mpi/`, is driven by idle
//! workers, as tokio's workers drive its I/O and timer drivers, without the scheduler
//! knowing of it). See README.md, "The idle hook".

use std::sync::OnceLock;

/// What an idle worker calls. Both methods run on a worker thread between two polls, with
/// no task's record current and no scheduler lock held; a task they wake goes to that
/// worker's run-next slot, so a reply that the hook receives runs at once on the thread
/// that received it.
pub(crate) trait IdleHook: Send + Sync {
    /// Does what is ready now and never blocks; whether it did anything (the worker then
    /// looks at its queues again, and keeps searching a while longer before it parks).
    fn poll(&self) -> bool;
    /// The worker is about to park: whatever it drove must now be driven by someone else.
    fn parking(&self);
}

static HOOK: OnceLock<Box<dyn IdleHook>> = OnceLock::new();

/// Registers the process's idle hook, for every pool, present and future. One per
/// process: a second is refused (given back).
#[cfg_attr(not(feature = "mpi"), allow(dead_code))] // its one user is the mpi engine
pub(crate) fn set_idle_hook(hook: Box<dyn IdleHook>) -> Result<(), Box<dyn IdleHook>> {
    HOOK.set(hook)
}

/// The idle hook, if one was registered: without one, a worker pays this one load and
/// branch per idle spell.
pub(super) fn idle_hook() -> Option<&'static dyn IdleHook> {
    HOOK.get().map(|h| &**h)
}
