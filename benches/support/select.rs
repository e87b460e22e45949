//! Alts that never block: one thread selecting over `[never, r1, r2]`, where `never`
//! has no writer and `r1`, `r2` always hold a value (each select's winner is refilled).
//! This is the path a fair alt's choice order lies on (a fresh alt draws a random order of
//! its guards; a reused one goes round-robin); crossbeam's `select!` over the same three
//! channels is the baseline.

use std::time::Instant;

use crate::stats::ns_since;

/// `alt!` built anew for each of `n` selects; ns per select.
pub fn fresh(n: u64) -> f64 {
    let (_never_tx, never) = occamy::channel::<usize>();
    let (t1, r1) = occamy::buffered::<usize>(1);
    let (t2, r2) = occamy::buffered::<usize>(1);
    t1.send(1).unwrap();
    t2.send(2).unwrap();
    let t0 = Instant::now();
    let mut sum = 0;
    for _ in 0..n {
        let i = occamy::alt! {
            recv(never) -> v => v.unwrap(),
            recv(r1) -> v => v.unwrap(),
            recv(r2) -> v => v.unwrap(),
        };
        sum += i;
        let _ = if i == 1 {
            t1.try_send(1)
        } else {
            t2.try_send(2)
        };
    }
    let dt = ns_since(t0);
    assert!(sum >= n as usize);
    dt / n as f64
}

/// One `Alt` reused for `n` selects; ns per select.
pub fn reused(n: u64) -> f64 {
    let (_never_tx, never) = occamy::channel::<usize>();
    let (t1, r1) = occamy::buffered::<usize>(1);
    let (t2, r2) = occamy::buffered::<usize>(1);
    t1.send(1).unwrap();
    t2.send(2).unwrap();
    let mut alt = occamy::Alt::new();
    let guards = [alt.recv(&never), alt.recv(&r1), alt.recv(&r2)];
    let t0 = Instant::now();
    let mut sum = 0;
    for _ in 0..n {
        let mut sel = alt.select();
        let i = sel.recv(guards[sel.index()]).unwrap().unwrap();
        sum += i;
        let _ = if i == 1 {
            t1.try_send(1)
        } else {
            t2.try_send(2)
        };
    }
    let dt = ns_since(t0);
    assert!(sum >= n as usize);
    dt / n as f64
}

/// The baseline: crossbeam's `select!` over the same three channels.
pub fn crossbeam(n: u64) -> f64 {
    let (_never_tx, never) = crossbeam_channel::bounded::<usize>(0);
    let (t1, r1) = crossbeam_channel::bounded::<usize>(1);
    let (t2, r2) = crossbeam_channel::bounded::<usize>(1);
    t1.send(1).unwrap();
    t2.send(2).unwrap();
    let t0 = Instant::now();
    let mut sum = 0;
    for _ in 0..n {
        let i = crossbeam_channel::select! {
            recv(never) -> v => v.unwrap(),
            recv(r1) -> v => v.unwrap(),
            recv(r2) -> v => v.unwrap(),
        };
        sum += i;
        let _ = if i == 1 {
            t1.try_send(1)
        } else {
            t2.try_send(2)
        };
    }
    let dt = ns_since(t0);
    assert!(sum >= n as usize);
    dt / n as f64
}
