//! The order in which a select tries and enrols its guards (the module docs say why), and
//! the per-thread random numbers behind a fair alt's random order.

use std::cell::Cell;

use super::Guard;

/// How one select orders its `n` guards: `draw(k)` is the guard tried `k`-th, for `k` in
/// `0..n` in turn; `at(k)` is the same guard again once drawn.
#[derive(Clone, Copy)]
pub(super) enum Order {
    /// Written order (priority).
    Written,
    /// Written order over `n` guards, starting at `start` (< `n`) and wrapping round (a
    /// reused fair alt).
    From { start: usize, n: usize },
    /// A uniformly random permutation (a fair alt's first select), drawn lazily by
    /// Fisher-Yates, so that a select whose first guard tried is ready costs one random
    /// number. Its `k`-th entry is kept in guard `k`'s `order` field, so that a fresh alt
    /// allocates nothing for it.
    Random,
}

impl Order {
    /// A random order over `guards`, to be drawn.
    pub(super) fn random(guards: &mut [Guard]) -> Order {
        for (k, g) in guards.iter_mut().enumerate() {
            g.order = k;
        }
        Order::Random
    }

    pub(super) fn draw(self, guards: &mut [Guard], k: usize) -> usize {
        if let Order::Random = self {
            let j = k + below(guards.len() - k);
            let picked = guards[j].order;
            guards[j].order = guards[k].order;
            guards[k].order = picked;
        }
        self.at(guards, k)
    }

    pub(super) fn at(self, guards: &[Guard], k: usize) -> usize {
        match self {
            Order::Written => k,
            Order::From { start, n } => {
                let i = start + k;
                if i >= n {
                    i - n
                } else {
                    i
                }
            }
            Order::Random => guards[k].order,
        }
    }
}

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// A uniform random number in `0..n` (`n` > 0): xorshift64, scaled by Lemire's
/// multiply-shift on its high half (the bias, n / 2^32, is far below what any test sees).
#[cfg(not(loom))]
pub(super) fn below(n: usize) -> usize {
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            x = seed(s as *const _ as u64);
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (((x >> 32) * n as u64) >> 32) as usize
    })
}

/// Under loom a fair alt's random order is the written one: loom replays each interleaving
/// and needs every run of the model to make the same choices.
#[cfg(loom)]
pub(super) fn below(_n: usize) -> usize {
    let _ = &STATE;
    0
}

/// A non-zero seed for one thread: its state's address and a counter, through SplitMix64
/// (so that threads, and runs, start far apart).
#[cfg(not(loom))]
fn seed(addr: u64) -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static THREADS: AtomicU64 = AtomicU64::new(0);
    let mut z = addr
        ^ THREADS
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z | 1
}
