//! The channel locks a select holds while it looks at its guards. An alt has a handful of
//! channels, mostly: up to `INLINE` locks sit in an array, so a select that finds a guard
//! ready allocates nothing (a vector of guards was one allocation and one free a select,
//! a fifth of a reused alt's cost in callgrind); more go in a vector. Dropping it unlocks
//! them all.

use std::ops::{Index, IndexMut};

use crate::channel::Inner;
use crate::loom::{lock, SpinGuard, SpinLock};

const INLINE: usize = 4;

pub(super) enum Locks<'a> {
    Few([Option<SpinGuard<'a, Inner>>; INLINE]),
    Many(Vec<SpinGuard<'a, Inner>>),
}

impl<'a> Locks<'a> {
    /// Locks `cores`' channels in their order (the alt keeps them sorted by id, the one
    /// lock order every alt and peer follows).
    pub(super) fn all(cores: impl ExactSizeIterator<Item = &'a SpinLock<Inner>>) -> Locks<'a> {
        if cores.len() <= INLINE {
            let mut few: [Option<SpinGuard<'a, Inner>>; INLINE] = Default::default();
            for (slot, c) in few.iter_mut().zip(cores) {
                *slot = Some(lock(c));
            }
            Locks::Few(few)
        } else {
            Locks::Many(cores.map(lock).collect())
        }
    }

    /// Each lock, in order.
    pub(super) fn each(&mut self) -> impl Iterator<Item = &mut SpinGuard<'a, Inner>> {
        let (few, many) = match self {
            Locks::Few(few) => (Some(few.iter_mut().flatten()), None),
            Locks::Many(v) => (None, Some(v.iter_mut())),
        };
        few.into_iter().flatten().chain(many.into_iter().flatten())
    }
}

impl<'a> Index<usize> for Locks<'a> {
    type Output = SpinGuard<'a, Inner>;
    fn index(&self, i: usize) -> &Self::Output {
        match self {
            Locks::Few(few) => few[i].as_ref().expect("a channel of the alt, locked"),
            Locks::Many(v) => &v[i],
        }
    }
}

impl IndexMut<usize> for Locks<'_> {
    fn index_mut(&mut self, i: usize) -> &mut Self::Output {
        match self {
            Locks::Few(few) => few[i].as_mut().expect("a channel of the alt, locked"),
            Locks::Many(v) => &mut v[i],
        }
    }
}
