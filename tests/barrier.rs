//! Barriers: phases, enrolment and resignation, poison.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use common::{join, pause, watchdog, LIMIT};
use occamy::{par, Barrier, BarrierPoisoned, Failure, Process};

#[test]
fn nobody_gets_ahead_of_a_phase() {
    const PARTIES: usize = 5;
    const PHASES: usize = 300;
    watchdog(LIMIT, "barrier phases", || {
        let arrived: Arc<Vec<AtomicUsize>> =
            Arc::new((0..=PHASES).map(|_| AtomicUsize::new(0)).collect());
        let b = Barrier::new();
        let mut parties: Vec<Barrier> = (1..PARTIES).map(|_| b.enroll()).collect();
        parties.push(b);
        assert_eq!(parties[0].enrolled(), PARTIES);
        let ps = parties.into_iter().enumerate().map(|(p, b)| {
            let arrived = arrived.clone();
            Process::new(format!("party {p}"), move || -> occamy::Result {
                for phase in 0..PHASES {
                    // Everyone has finished the previous phase, and nobody can be in the
                    // next one while I have not arrived at this one.
                    if phase > 0 {
                        assert_eq!(arrived[phase - 1].load(Ordering::SeqCst), PARTIES);
                    }
                    assert_eq!(
                        arrived[phase + 1].load(Ordering::SeqCst),
                        0,
                        "someone is a phase ahead"
                    );
                    arrived[phase].fetch_add(1, Ordering::SeqCst);
                    b.sync()?;
                    assert_eq!(
                        arrived[phase].load(Ordering::SeqCst),
                        PARTIES,
                        "left phase {phase} before everyone arrived"
                    );
                }
                Ok(())
            })
        });
        par(ps).unwrap();
        assert!(arrived[..PHASES]
            .iter()
            .all(|a| a.load(Ordering::SeqCst) == PARTIES));
    });
}

#[test]
fn a_single_party_never_waits() {
    let b = Barrier::default();
    assert_eq!(b.enrolled(), 1);
    for _ in 0..10 {
        b.sync().unwrap();
    }
}

#[test]
fn enrolment_counts() {
    let b = Barrier::new();
    let c = b.enroll();
    let d = c.clone(); // clone enrolls too
    assert_eq!(b.enrolled(), 3);
    drop(d);
    assert_eq!(b.enrolled(), 2);
    c.resign();
    assert_eq!(b.enrolled(), 1);
    b.sync().unwrap();
    assert!(format!("{b:?}").starts_with("Barrier#"));
}

#[test]
fn a_resigned_party_no_longer_holds_the_others() {
    watchdog(LIMIT, "resignation releases", || {
        let a = Barrier::new();
        let b = a.enroll();
        let c = a.enroll();
        // a and b wait for c; c resigns instead of syncing, which completes the phase.
        let ta = thread::spawn(move || {
            a.sync()?;
            a.sync()?; // and later phases no longer wait for c
            a.sync().map(|_| a)
        });
        let tb = thread::spawn(move || {
            b.sync()?;
            b.sync()?;
            b.sync().map(|_| b)
        });
        pause(); // most likely both are waiting by now; the result is the same if not
        c.resign();
        let a = join("a", ta).unwrap();
        let b = join("b", tb).unwrap();
        assert_eq!(a.enrolled(), 2, "c resigned; a and b remain");
        drop(b);
        assert_eq!(a.enrolled(), 1);
    });
}

#[test]
fn parties_resigning_at_different_phases() {
    // Worker i takes part in phases 0..=i and then resigns by ending; each phase must be
    // completed by exactly the workers still enrolled.
    const WORKERS: usize = 6;
    watchdog(LIMIT, "staggered resignation", || {
        let arrived: Arc<Vec<AtomicUsize>> =
            Arc::new((0..WORKERS).map(|_| AtomicUsize::new(0)).collect());
        let b = Barrier::new();
        let handles: Vec<Barrier> = (0..WORKERS).map(|_| b.enroll()).collect();
        drop(b);
        let ps = handles.into_iter().enumerate().map(|(i, b)| {
            let arrived = arrived.clone();
            Process::new(format!("worker {i}"), move || -> occamy::Result {
                for phase in 0..=i {
                    arrived[phase].fetch_add(1, Ordering::SeqCst);
                    b.sync()?;
                    assert_eq!(arrived[phase].load(Ordering::SeqCst), WORKERS - phase);
                }
                Ok(()) // dropping `b` resigns
            })
        });
        par(ps).unwrap();
    });
}

#[test]
fn a_party_enrolled_mid_phase_takes_part_in_it() {
    watchdog(LIMIT, "enrolment mid-phase", || {
        let a = Barrier::new();
        let b = a.enroll();
        let ta = thread::spawn(move || a.sync());
        let c = b.enroll(); // from now on the phase needs c too
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let tb = thread::spawn(move || {
            let r = b.sync();
            d.store(true, Ordering::SeqCst);
            r
        });
        pause(); // a wrongly completed phase would most likely show by now
        assert!(
            !done.load(Ordering::SeqCst),
            "the phase completed without the new party"
        );
        c.sync().unwrap();
        join("a", ta).unwrap();
        join("b", tb).unwrap();
    });
}

#[test]
fn poison_releases_waiting_parties_and_fails_later_syncs() {
    watchdog(LIMIT, "barrier poison", || {
        let b = Barrier::new();
        let waiting: Vec<_> = (0..3)
            .map(|_| {
                let p = b.enroll();
                thread::spawn(move || p.sync())
            })
            .collect();
        pause();
        b.poison();
        for w in waiting {
            assert_eq!(join("party", w), Err(BarrierPoisoned));
        }
        assert_eq!(b.sync(), Err(BarrierPoisoned));
        let late = b.enroll();
        assert_eq!(late.sync(), Err(BarrierPoisoned));
        b.poison(); // harmless
        assert_eq!(BarrierPoisoned.to_string(), "syncing on a poisoned barrier");
    });
}

#[test]
fn barrier_poison_ends_processes_normally() {
    watchdog(LIMIT, "barrier poison in par", || {
        let b = Barrier::new();
        let others: Vec<Barrier> = (0..3).map(|_| b.enroll()).collect();
        let mut ps: Vec<Process> = others
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                Process::new(format!("syncer {i}"), move || -> occamy::Result {
                    loop {
                        p.sync()?; // ends with Error::Poisoned
                    }
                })
            })
            .collect();
        ps.push(Process::new("poisoner", move || -> occamy::Result {
            for _ in 0..10 {
                b.sync()?;
            }
            b.poison();
            Ok(())
        }));
        par(ps).expect("poison is an ordinary end");
    });
}

#[test]
fn a_panicking_party_poisons_the_barrier() {
    let err = watchdog(LIMIT, "panicking party", || {
        let b = Barrier::new();
        let p = b.enroll();
        par([
            Process::new("steady", move || -> occamy::Result {
                loop {
                    b.sync()?;
                }
            }),
            Process::new("erratic", move || -> occamy::Result {
                p.sync()?;
                p.sync()?;
                panic!("lost my place");
            }),
        ])
        .unwrap_err()
    });
    assert_eq!(err.process, "erratic");
    assert!(matches!(&err.failure, Failure::Panic(m) if m == "lost my place"));
}
