//! Deadlock detection: networks that deadlock are found and reported by name, built in
//! code with `par` and declared in files run by the launcher.

mod common;

use std::time::Duration;

use common::{watchdog, LIMIT};
use occamy::{channel, Barrier, Failure, Process, Result, Runtime};

fn named<T: Send + 'static>(name: &str) -> (occamy::Sender<T>, occamy::Receiver<T>) {
    let (tx, rx) = channel();
    tx.set_name(name);
    (tx, rx)
}

/// Runs `procs` with default options under a watchdog; returns the deadlock report's text
/// and checks that `par`'s error is the deadlock.
fn deadlock_of(what: &'static str, procs: Vec<Process>) -> String {
    watchdog(LIMIT, what, move || {
        let out = Runtime::new().run(procs);
        let report = out.deadlock.expect("a deadlock is reported");
        let err = out.result.expect_err("par fails with the deadlock");
        assert!(matches!(err.failure, Failure::Deadlock(_)), "{err}");
        assert!(err.to_string().contains(&report.to_string()), "{err}");
        report.to_string()
    })
}

#[test]
fn two_process_cycle_without_a_prefix() {
    let (c1_tx, c1_rx) = named::<u64>("c1");
    let (c2_tx, c2_rx) = named::<u64>("c2");
    let id = |(rx, tx): (occamy::Receiver<u64>, occamy::Sender<u64>)| -> Result {
        loop {
            tx.send(rx.recv()?)?;
        }
    };
    let report = deadlock_of(
        "two-process cycle",
        vec![
            Process::with("a", (c2_rx, c1_tx), id),
            Process::with("b", (c1_rx, c2_tx), id),
        ],
    );
    assert_eq!(
        report,
        "deadlock: a waits to receive on c2 from b; b waits to receive on c1 from a"
    );
}

#[test]
fn two_processes_each_sending_first() {
    let (c1_tx, c1_rx) = named::<u64>("c1");
    let (c2_tx, c2_rx) = named::<u64>("c2");
    let send_first = |(tx, rx): (occamy::Sender<u64>, occamy::Receiver<u64>)| -> Result {
        tx.send(1)?;
        rx.recv()?;
        Ok(())
    };
    let report = deadlock_of(
        "both send first",
        vec![
            Process::with("a", (c1_tx, c2_rx), send_first),
            Process::with("b", (c2_tx, c1_rx), send_first),
        ],
    );
    assert_eq!(
        report,
        "deadlock: a waits to send on c1 to b; b waits to send on c2 to a"
    );
}

#[test]
fn three_process_ring_reading_first() {
    // node i reads r[i] and writes r[(i + 1) % 3]; every one reads first.
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|i| named::<u64>(&format!("r{i}"))).unzip();
    let mut txs: Vec<Option<_>> = txs.into_iter().map(Some).collect();
    let procs: Vec<Process> = rxs
        .into_iter()
        .enumerate()
        .map(|(i, rx)| {
            let tx = txs[(i + 1) % 3].take().unwrap();
            Process::with(format!("node{i}"), (rx, tx), |(rx, tx)| -> Result {
                loop {
                    tx.send(rx.recv()? + 1)?;
                }
            })
        })
        .collect();
    let report = deadlock_of("three-process ring", procs);
    assert_eq!(
        report,
        "deadlock: node0 waits to receive on r0 from node2; node2 waits to receive on r2 from node1; \
         node1 waits to receive on r1 from node0"
    );
}

#[test]
fn partial_deadlock_beside_a_running_pipeline() {
    let (c1_tx, c1_rx) = named::<u64>("c1");
    let (c2_tx, c2_rx) = named::<u64>("c2");
    let (t_tx, t_rx) = named::<u64>("ticks");
    let id = |(rx, tx): (occamy::Receiver<u64>, occamy::Sender<u64>)| -> Result {
        loop {
            tx.send(rx.recv()?)?;
        }
    };
    let report = deadlock_of(
        "partial deadlock",
        vec![
            Process::with("a", (c2_rx, c1_tx), id),
            Process::with("b", (c1_rx, c2_tx), id),
            // Keeps running (a timer and a channel) until the deadlock poisons the network.
            Process::with("clock", t_tx, |tx| -> Result {
                for i in 0.. {
                    occamy::sleep(Duration::from_millis(5));
                    tx.send(i)?;
                }
                Ok(())
            }),
            Process::with("sink", t_rx, |rx| -> Result {
                loop {
                    rx.recv()?;
                }
            }),
        ],
    );
    assert_eq!(
        report,
        "partial deadlock: a waits to receive on c2 from b; b waits to receive on c1 from a"
    );
}

#[test]
fn barrier_waiting_for_a_process_that_waits_on_the_syncer() {
    // `syncer` syncs on the barrier and would then send to `reader`; `reader` waits to
    // receive from `syncer` before it would sync.
    let b = Barrier::new();
    let b2 = b.enroll();
    let (tx, rx) = named::<u8>("data");
    let report = deadlock_of(
        "barrier deadlock",
        vec![
            Process::with("syncer", (b, tx), |(b, tx)| -> Result {
                b.sync()?;
                tx.send(1)?;
                Ok(())
            }),
            Process::with("reader", (b2, rx), |(b, rx)| -> Result {
                rx.recv()?;
                b.sync()?;
                Ok(())
            }),
        ],
    );
    assert!(
        report.starts_with("deadlock: syncer waits to sync on barrier #"),
        "{report}"
    );
    assert!(
        report.ends_with("with reader; reader waits to receive on data from syncer"),
        "{report}"
    );
}

// The rest runs the `occamy` binary: with the launcher only.

/// Runs the launcher under the watchdog; returns (exit code, stdout, stderr).
#[cfg(feature = "launcher")]
fn launch(args: &[&str]) -> (i32, String, String) {
    let r = common::occamy(args);
    (r.code.unwrap_or(-1), r.stdout, r.stderr)
}

#[test]
#[cfg(feature = "launcher")]
fn launcher_exits_3_on_a_two_process_cycle() {
    let (code, _, err) = launch(&["run", "tests/networks/deadlock_two.ron"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(
            "error: deadlock: a waits to receive on c2 from b; b waits to receive on c1 from a"
        ),
        "{err}"
    );
}

#[test]
#[cfg(feature = "launcher")]
fn launcher_exits_3_on_a_ring_reading_first() {
    let (code, _, err) = launch(&["run", "tests/networks/deadlock_ring3.ron"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(
            "error: deadlock: node[0] waits to receive on ring[0] from node[2]; \
             node[2] waits to receive on ring[2] from node[1]; node[1] waits to receive on ring[1] from node[0]"
        ),
        "{err}"
    );
}

#[test]
#[cfg(feature = "launcher")]
fn launcher_exits_3_on_a_partial_deadlock() {
    let (code, _, err) = launch(&["run", "tests/networks/deadlock_partial.ron", "--stats"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("error: partial deadlock: a waits to receive on c2 from b; b waits to receive on c1 from a"), "{err}");
    // The clock kept running until the deadlock poisoned the network.
    assert!(err.contains("clock") && err.contains("poisoned"), "{err}");
}

#[test]
#[cfg(feature = "launcher")]
fn launcher_warn_keeps_the_rest_running() {
    // With --on-deadlock warn the cycle is reported and left alone; the clock and sink run
    // on until --timeout ends the run. The exit status still says deadlock.
    let (code, _, err) = launch(&[
        "run",
        "tests/networks/deadlock_partial.ron",
        "--on-deadlock",
        "warn",
        "--deadlock-check-ms",
        "20",
        "--timeout",
        "2",
        "--stats",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("warning: partial deadlock: a waits to receive on c2 from b"),
        "{err}"
    );
    assert!(err.contains("timeout"), "{err}");
    let ticks = err
        .lines()
        .find(|l| l.trim_start().starts_with("ticks"))
        .expect("stats for ticks");
    let carried: u64 = ticks.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(carried > 0, "the pipeline ran on: {ticks}");
}

#[test]
#[cfg(feature = "launcher")]
fn launcher_exits_3_on_a_barrier_waiting_for_a_blocked_reader() {
    let (code, _, err) = launch(&["run", "tests/networks/deadlock_barrier.ron"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(
            "error: deadlock: clock waits to sync on barrier phase with gate; gate waits to receive on c from clock"
        ),
        "{err}"
    );
}

#[test]
#[cfg(feature = "launcher")]
fn a_barrier_network_runs_in_lock_step() {
    let (code, out, err) = launch(&["run", "networks/barrier.ron"]);
    assert_eq!(code, 0, "{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        ["phase 0", "phase 0", "phase 1", "phase 1", "phase 2", "phase 2", "phase 3", "phase 3"]
    );
}

/// `a` alts over two inputs whose only writer, `b`, waits to receive from `a`.
fn alt_cycle(async_alt: bool) -> String {
    let (c1_tx, c1_rx) = named::<u64>("c1");
    let (c2_tx, c2_rx) = named::<u64>("c2");
    let (c3_tx, c3_rx) = named::<u64>("c3");
    let ends = (c1_rx, c2_rx, c3_tx);
    let a = if async_alt {
        Process::with_async("a", ends, |(c1, c2, c3)| async move {
            let mut alt = occamy::Alt::new();
            alt.recv(&c1);
            alt.recv(&c2);
            let _ = alt.select_async().await;
            c3.send_async(0).await
        })
    } else {
        Process::with("a", ends, |(c1, c2, c3)| -> Result {
            let mut alt = occamy::Alt::new();
            alt.recv(&c1);
            alt.recv(&c2);
            let _ = alt.select();
            c3.send(0)?;
            Ok(())
        })
    };
    let b = Process::with("b", (c3_rx, c1_tx, c2_tx), |(c3, c1, c2)| -> Result {
        c3.recv()?;
        c1.send(1)?;
        c2.send(2)?;
        Ok(())
    });
    deadlock_of("alt cycle", vec![a, b])
}

#[test]
fn a_blocking_alt_over_two_inputs_in_a_cycle() {
    let report = alt_cycle(false);
    assert_eq!(
        report,
        "deadlock: a waits in an alt to receive on c1 from b or receive on c2 from b; \
         b waits to receive on c3 from a"
    );
}

#[test]
fn an_async_alt_over_two_inputs_in_a_cycle() {
    let report = alt_cycle(true);
    assert_eq!(
        report,
        "deadlock: a waits in an alt to receive on c1 from b or receive on c2 from b; \
         b waits to receive on c3 from a"
    );
}
