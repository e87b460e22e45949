//! Fair choice whatever the guards' positions: the shapes of Go's select fairness tests
//! (`runtime/chan_test.go`), run through occamy's fair `alt!`, a fresh `Alt::new()` per
//! select, and a reused `Alt::new()`, with priority alts as the controls.
//!
//! Two shapes, each with guards that are never ready in between:
//! - **ready guards among never-ready ones** (`[never, r1, r2]`): every select finds the
//!   same guards ready, so it never blocks. Readiness is deterministic: each ready input
//!   is a buffered channel filled beforehand with more values than it can be chosen.
//! - **several guards on one channel** (`send(tx, 1)` and `send(tx, 0)`, or two receives):
//!   the alt must block and enrol both, and the peer then completes one of them. The peer
//!   uses `try_recv` / `try_send`, which complete only with a waiter already enrolled (the
//!   channel is a rendezvous): the alt can never complete in its first pass, so every
//!   round measures the enrolment order, with no timing involved.
//!
//! Fresh fair alts must choose uniformly: each count is checked against its binomial
//! distribution with a band of six standard deviations, which a fair alt leaves with
//! probability about 2e-9 per guard, whatever the random seed. The biased orders these
//! tests were written against land dozens of standard deviations out: `[never, r1, r2]`
//! with a random start then written order gives r1 about 2/3, 47 standard deviations off
//! over 20,000 selects; enrolment in written order gives every value to the first guard,
//! 32 standard deviations off over 1,000 rounds. A reused fair alt goes round-robin, which
//! is checked exactly.

mod common;

use std::thread;

use common::{join, watchdog, LIMIT};
use occamy::{alt, buffered, channel, pri_alt, Alt, Event, Receiver, Sender};

/// Selects per test of the never-blocking shape.
const READY_SELECTS: usize = 20_000;
/// Rounds per run of the same-channel shape (each blocks and wakes the alt once).
const ROUNDS: usize = 1_000;
/// The watchdog of one same-channel run: each round needs the alt's thread to run and
/// enrol while the peer spins, which on a loaded 2-core machine can take a time slice.
const ROUND_LIMIT: u64 = 120;

/// Fails unless every `counts[i]` lies within six standard deviations of `n * p[i]`, its
/// mean if each select chose guard `i` with probability `p[i]` independently (`p[i]` = 0:
/// never).
fn assert_binomial(what: &str, counts: &[usize], p: &[f64]) {
    let n: usize = counts.iter().sum();
    for (i, (&c, &p)) in counts.iter().zip(p).enumerate() {
        let mean = n as f64 * p;
        let band = 6.0 * (n as f64 * p * (1.0 - p)).sqrt();
        assert!(
            (c as f64 - mean).abs() <= band,
            "{what}: guard {i} chosen {c} times of {n}, expected {mean:.0} ± {band:.0} \
             (six standard deviations): {counts:?}"
        );
    }
}

/// A guard of a shape: an input that is never ready, or one that always is.
#[derive(Clone, Copy, PartialEq)]
enum G {
    Never,
    Ready,
    Skip,
}
use G::*;

/// The channels for a shape: for `Ready`, a buffered channel holding `depth` values
/// (its guard's index); for `Never`, a channel nobody writes; none for `Skip`.
fn inputs(shape: &[G], depth: usize) -> (Vec<Sender<usize>>, Vec<Option<Receiver<usize>>>) {
    shape
        .iter()
        .enumerate()
        .map(|(i, g)| match g {
            Skip => {
                let (tx, _) = channel();
                (tx, None)
            }
            Never => {
                let (tx, rx) = channel();
                (tx, Some(rx))
            }
            Ready => {
                let (tx, rx) = buffered(depth);
                (0..depth).for_each(|_| tx.try_send(i).unwrap());
                (tx, Some(rx))
            }
        })
        .unzip()
}

/// Builds the shape's guards into `alt`.
fn add_guards(alt: &mut Alt, rxs: &[Option<Receiver<usize>>]) {
    for rx in rxs {
        match rx {
            Some(rx) => _ = alt.recv(rx),
            None => _ = alt.skip(),
        }
    }
}

/// Checks the outcome of one select over a shape; returns the chosen index.
fn chosen(mut sel: occamy::Selected<'_>, rxs: &[Option<Receiver<usize>>]) -> usize {
    let i = sel.index();
    match &rxs[i] {
        Some(rx) => assert_eq!(sel.recv_on(rx), Some(Ok(i)), "value from another guard"),
        None => assert_eq!(sel.event(), Event::Skip),
    }
    i
}

/// The probabilities of a uniform choice among the shape's ready guards.
fn uniform(shape: &[G]) -> Vec<f64> {
    let ready = shape.iter().filter(|g| **g != Never).count() as f64;
    shape
        .iter()
        .map(|g| if *g == Never { 0.0 } else { 1.0 / ready })
        .collect()
}

const SHAPES: &[&[G]] = &[
    &[Never, Ready, Ready],
    &[Ready, Never, Never, Never, Ready],
    &[Never, Never, Ready, Never, Ready, Ready, Never],
    &[Never, Skip, Ready],
    &[Ready, Ready, Ready, Ready],
];

#[test]
fn a_fresh_fair_alt_chooses_uniformly_whatever_the_positions() {
    watchdog(LIMIT, "fresh fair alts over never-ready guards", || {
        for shape in SHAPES {
            let (_txs, rxs) = inputs(shape, READY_SELECTS);
            let mut counts = vec![0; shape.len()];
            for _ in 0..READY_SELECTS {
                let mut alt = Alt::new();
                add_guards(&mut alt, &rxs);
                counts[chosen(alt.select(), &rxs)] += 1;
            }
            assert_binomial("fresh Alt::new()", &counts, &uniform(shape));
        }
    });
}

#[test]
fn alt_macro_chooses_uniformly_past_never_ready_guards() {
    watchdog(LIMIT, "alt! over never-ready guards", || {
        let (_txs, rxs) = inputs(&[Never, Ready, Ready], READY_SELECTS);
        let [Some(never), Some(r1), Some(r2)] = &rxs[..] else {
            unreachable!()
        };
        let mut counts = [0; 3];
        for _ in 0..READY_SELECTS {
            let i = alt! {
                recv(never) -> v => v.unwrap(),
                recv(r1) -> v => v.unwrap(),
                recv(r2) -> v => v.unwrap(),
            };
            counts[i] += 1;
        }
        assert_binomial("alt! [never, r1, r2]", &counts, &[0.0, 0.5, 0.5]);

        // Never-ready guards of every kind in between: a false precondition, an input nobody
        // writes, a timeout far off.
        let mut counts = [0; 2];
        let off = false;
        for _ in 0..READY_SELECTS {
            let i = alt! {
                recv(r1) -> v => { assert_eq!(v, Ok(1)); 0 }
                skip if off => unreachable!(),
                recv(never) -> _ => unreachable!(),
                after(std::time::Duration::from_secs(3600)) => unreachable!(),
                recv(r2) -> v => { assert_eq!(v, Ok(2)); 1 }
            };
            counts[i] += 1;
        }
        assert_binomial("alt! [r1, off, never, later, r2]", &counts, &[0.5, 0.5]);
    });
}

#[test]
fn a_reused_fair_alt_goes_round_robin_past_never_ready_guards() {
    watchdog(LIMIT, "reused fair alt over never-ready guards", || {
        for shape in SHAPES {
            let ready: Vec<usize> = (0..shape.len()).filter(|&i| shape[i] != Never).collect();
            let (_txs, rxs) = inputs(shape, 3 * ready.len() + 1);
            let mut alt = Alt::new();
            add_guards(&mut alt, &rxs);
            // The first choice is random; from then on each ready guard in turn, cyclically.
            let first = chosen(alt.select(), &rxs);
            let at = ready
                .iter()
                .position(|&i| i == first)
                .expect("a ready guard");
            for k in 1..=3 * ready.len() {
                let want = ready[(at + k) % ready.len()];
                assert_eq!(chosen(alt.select(), &rxs), want, "select {k} of {shape:?}");
            }
        }
    });
}

impl std::fmt::Debug for G {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Never => "never",
            Ready => "ready",
            Skip => "skip",
        })
    }
}

/// How the alt of a same-channel round is made.
#[derive(Clone, Copy, Debug)]
enum Make {
    Macro,
    PriMacro,
    Fresh,
    Reused,
    Priority,
}

/// `ROUNDS` rounds of an alt with two output guards on one rendezvous channel (offering
/// 0 and 1), with a never-ready input between them, against a reader that can only take a
/// value from a waiter the alt has enrolled. Returns how often each value was taken.
fn two_outputs_on_one_channel(make: Make) -> [usize; 2] {
    watchdog(ROUND_LIMIT, "two output guards on one channel", move || {
        let (tx, rx) = channel::<usize>();
        let (_idle_tx, idle) = channel::<usize>();
        let reader = thread::spawn(move || {
            let mut counts = [0; 2];
            for _ in 0..ROUNDS {
                let v = loop {
                    match rx.try_recv() {
                        Ok(v) => break v,
                        Err(occamy::TryRecvError::Empty) => thread::yield_now(),
                        Err(e) => panic!("{e}"),
                    }
                };
                counts[v] += 1;
            }
            counts
        });
        let mut reused = Alt::new();
        let guards = [reused.send(&tx, 0), reused.send(&tx, 1)];
        reused.recv(&idle);
        for _ in 0..ROUNDS {
            let sent = match make {
                Make::Macro => alt! {
                    send(tx, 0) -> r => { r.unwrap(); 0 }
                    recv(idle) -> _ => unreachable!(),
                    send(tx, 1) -> r => { r.unwrap(); 1 }
                },
                Make::PriMacro => pri_alt! {
                    send(tx, 0) -> r => { r.unwrap(); 0 }
                    recv(idle) -> _ => unreachable!(),
                    send(tx, 1) -> r => { r.unwrap(); 1 }
                },
                Make::Fresh | Make::Priority => {
                    let mut alt = match make {
                        Make::Fresh => Alt::new(),
                        _ => Alt::priority(),
                    };
                    let g0 = alt.send(&tx, 0);
                    alt.recv(&idle);
                    let g1 = alt.send(&tx, 1);
                    let mut sel = alt.select();
                    if sel.index() == g0 {
                        assert_eq!(sel.sent(g0), Some(Ok(())));
                        assert_eq!(alt.take_back(g1), Some(1), "the unsent value stays");
                        0
                    } else {
                        assert_eq!(sel.sent(g1), Some(Ok(())));
                        assert_eq!(alt.take_back(g0), Some(0), "the unsent value stays");
                        1
                    }
                }
                Make::Reused => {
                    let sel = reused.select();
                    let i = sel.index();
                    assert_eq!(sel.event(), Event::Sent);
                    let v = guards.iter().position(|g| *g == i).expect("an output");
                    assert!(reused.offer(guards[v], v).is_ok());
                    v
                }
            };
            assert!(sent < 2);
        }
        join("reader", reader)
    })
}

/// As [`two_outputs_on_one_channel`], with two input guards on one channel (arms 0 and 1)
/// against a writer that can only hand a value to an enrolled waiter. Returns how often
/// each arm received.
fn two_inputs_on_one_channel(make: Make) -> [usize; 2] {
    watchdog(ROUND_LIMIT, "two input guards on one channel", move || {
        let (tx, rx) = channel::<usize>();
        let (_idle_tx, idle) = channel::<usize>();
        let writer = thread::spawn(move || {
            for round in 0..ROUNDS {
                let mut v = round;
                loop {
                    match tx.try_send(v) {
                        Ok(()) => break,
                        Err(occamy::TrySendError::Full(back)) => {
                            v = back;
                            thread::yield_now()
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        });
        let mut reused = Alt::new();
        let first = reused.recv(&rx);
        reused.recv(&idle);
        let second = reused.recv(&rx);
        let mut counts = [0; 2];
        for round in 0..ROUNDS {
            let (arm, v) = match make {
                Make::Macro => alt! {
                    recv(rx) -> v => (0, v),
                    recv(idle) -> _ => unreachable!(),
                    recv(rx) -> v => (1, v),
                },
                Make::PriMacro => pri_alt! {
                    recv(rx) -> v => (0, v),
                    recv(idle) -> _ => unreachable!(),
                    recv(rx) -> v => (1, v),
                },
                Make::Fresh | Make::Priority => {
                    let mut alt = match make {
                        Make::Fresh => Alt::new(),
                        _ => Alt::priority(),
                    };
                    let g0 = alt.recv(&rx);
                    alt.recv(&idle);
                    let g1 = alt.recv(&rx);
                    let mut sel = alt.select();
                    let arm = usize::from(sel.index() == g1);
                    let v = sel.recv([g0, g1][arm]).expect("the chosen input");
                    (arm, v)
                }
                Make::Reused => {
                    let mut sel = reused.select();
                    let arm = usize::from(sel.index() == second);
                    let v = sel.recv([first, second][arm]).expect("the chosen input");
                    (arm, v)
                }
            };
            assert_eq!(v, Ok(round), "values arrive once, in order");
            counts[arm] += 1;
        }
        join("writer", writer);
        counts
    })
}

#[test]
fn fresh_fair_alts_enrol_guards_on_one_channel_in_random_order() {
    for make in [Make::Macro, Make::Fresh] {
        let what = format!("{make:?}, two outputs");
        assert_binomial(&what, &two_outputs_on_one_channel(make), &[0.5, 0.5]);
        let what = format!("{make:?}, two inputs");
        assert_binomial(&what, &two_inputs_on_one_channel(make), &[0.5, 0.5]);
    }
}

// Round-robin: the turns alternate exactly, so the counts differ by at most one.
#[test]
fn a_reused_fair_alt_takes_turns_among_guards_on_one_channel() {
    for counts in [
        two_outputs_on_one_channel(Make::Reused),
        two_inputs_on_one_channel(Make::Reused),
    ] {
        assert_eq!(counts.iter().sum::<usize>(), ROUNDS);
        assert!(counts[0].abs_diff(counts[1]) <= 1, "{counts:?}");
    }
}

// The controls: with priority, a peer completes the first written guard every time. This
// is what the fair alts above did before enrolment followed the choice order.
#[test]
fn priority_alts_enrol_guards_on_one_channel_in_written_order() {
    for make in [Make::PriMacro, Make::Priority] {
        assert_eq!(two_outputs_on_one_channel(make), [ROUNDS, 0], "{make:?}");
        assert_eq!(two_inputs_on_one_channel(make), [ROUNDS, 0], "{make:?}");
    }
}

// And with every input ready, a priority alt takes the first written, whatever else is
// ready: the harness of the never-blocking shape can see a biased order.
#[test]
fn priority_alts_take_the_first_ready_guard_past_never_ready_ones() {
    let (_txs, rxs) = inputs(&[Never, Ready, Ready], 100);
    let mut reused = Alt::priority();
    add_guards(&mut reused, &rxs);
    for _ in 0..50 {
        let mut fresh = Alt::priority();
        add_guards(&mut fresh, &rxs);
        assert_eq!(chosen(fresh.select(), &rxs), 1);
        assert_eq!(chosen(reused.select(), &rxs), 1);
    }
}
