//! What a process can hold: channel ends and barrier enrolments, seen through two small
//! traits so that the runtime's records need not know the channel and barrier types (which
//! call into the runtime's context: the traits are the seam that keeps the dependencies
//! one way).

use std::sync::Arc;

use crate::wait::{Direction, Signal};

/// A channel, as the runtime sees it through the ends processes hold.
pub(crate) trait Endpoint: Send + Sync {
    /// The channel's id.
    fn id(&self) -> u64;
    /// The channel's name, if it has one.
    fn name(&self) -> Option<&str>;
    /// Rust's name for the element type.
    fn type_name(&self) -> &'static str;
    /// Live ends: (writers, readers).
    fn ends(&self) -> (usize, usize);
    /// Values delivered so far.
    fn carried(&self) -> u64;
    /// Poisons the channel.
    fn poison(&self);
    /// Lets go of one end of `dir`: retiring it, or poisoning the channel with `poison`.
    fn drop_end(&self, dir: Direction, poison: bool);
    /// Calls `f` (with the channel locked) with the signal of each waiter that process
    /// `owner` left in the queue of side `dir`: the process's waits on this channel.
    fn waits_of(&self, dir: Direction, owner: u64, f: &mut dyn FnMut(&Signal));
}

/// A barrier, as the runtime sees it through the enrolments processes hold.
pub(crate) trait Enrolment: Send + Sync {
    /// The barrier's id.
    fn id(&self) -> u64;
    /// Its name, or `#id`.
    fn label(&self) -> String;
    /// How many parties are enrolled.
    fn enrolled(&self) -> usize;
    /// Poisons the barrier.
    fn poison(&self);
}

/// Something a process holds.
#[derive(Clone)]
pub(crate) enum Held {
    Chan(Arc<dyn Endpoint>, Direction),
    Barrier(Arc<dyn Enrolment>),
}

impl Held {
    /// What tells one held thing from another: the object's data pointer (two `Arc<dyn _>`
    /// to one object may carry different vtables) and, for a channel, the direction.
    pub(crate) fn key(&self) -> (*const (), Option<Direction>) {
        match self {
            Held::Chan(c, d) => (Arc::as_ptr(c).cast(), Some(*d)),
            Held::Barrier(b) => (Arc::as_ptr(b).cast(), None),
        }
    }

    pub(crate) fn poison(&self) {
        match self {
            Held::Chan(c, _) => c.poison(),
            Held::Barrier(b) => b.poison(),
        }
    }
}
