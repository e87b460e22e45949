//! No false positives: busy, slow and sleeping networks are never reported as deadlocked,
//! even with the monitor looking every 5 ms. `cargo test --release --test deadlock_load`
//! runs commstime at the full 10,000,000 communications (CI does); debug builds run a
//! smaller count.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::watchdog;
use occamy::{channel, Process, Receiver, Result, Runtime, Sender};

/// A runtime that looks for deadlocks every 5 ms: forty times as often as by default,
/// to give a false report every chance.
fn aggressive() -> Runtime {
    Runtime::new().deadlock_check_interval(Duration::from_millis(5))
}

fn assert_clean(what: &str, out: occamy::ParOutcome) {
    assert!(
        out.deadlock.is_none(),
        "{what}: false deadlock: {}",
        out.deadlock.unwrap()
    );
    out.result.unwrap_or_else(|e| panic!("{what}: {e}"));
}

#[test]
fn commstime_under_load() {
    let comms: u64 = if cfg!(debug_assertions) {
        400_000
    } else {
        10_000_000
    };
    let loops = comms / 4;
    watchdog(600, "commstime under the deadlock monitor", move || {
        let (a_tx, a_rx) = channel::<u64>();
        let (b_tx, b_rx) = channel::<u64>();
        let (c_tx, c_rx) = channel::<u64>();
        let (d_tx, d_rx) = channel::<u64>();
        let out = aggressive().run([
            Process::with("prefix", (c_rx, a_tx), |(rx, tx)| -> Result {
                tx.send(0)?;
                loop {
                    tx.send(rx.recv()?)?;
                }
            }),
            Process::with("delta", (a_rx, b_tx, d_tx), |(rx, b, d)| -> Result {
                loop {
                    let v = rx.recv()?;
                    d.send(v)?;
                    b.send(v)?;
                }
            }),
            Process::with("succ", (b_rx, c_tx), |(rx, tx)| -> Result {
                loop {
                    tx.send(rx.recv()? + 1)?;
                }
            }),
            Process::with("consumer", d_rx, move |rx| -> Result {
                for i in 0..loops {
                    assert_eq!(rx.recv()?, i);
                }
                rx.poison();
                Ok(())
            }),
        ]);
        assert_clean("commstime", out);
    });
}

#[test]
fn a_thousand_process_ring() {
    watchdog(120, "1,000-process ring", || {
        let n = 1000;
        let (txs, rxs): (Vec<Sender<u64>>, Vec<Receiver<u64>>) = (0..n).map(|_| channel()).unzip();
        let mut txs: Vec<Option<Sender<u64>>> = txs.into_iter().map(Some).collect();
        let mut procs = Vec::new();
        for (i, rx) in rxs.into_iter().enumerate() {
            let tx = txs[(i + 1) % n].take().unwrap();
            if i == 0 {
                procs.push(Process::with("start", (rx, tx), |(rx, tx)| -> Result {
                    for lap in 0..5u64 {
                        tx.send(lap)?;
                        rx.recv()?;
                    }
                    rx.poison();
                    Ok(())
                }));
            } else {
                procs.push(Process::with(
                    format!("node[{i}]"),
                    (rx, tx),
                    |(rx, tx)| -> Result {
                        loop {
                            tx.send(rx.recv()?)?;
                        }
                    },
                ));
            }
        }
        assert_clean("ring", aggressive().run(procs));
    });
}

#[test]
fn a_farm_of_slow_workers() {
    watchdog(120, "farm of slow workers", || {
        let (jobs_tx, jobs_rx) = channel::<u32>();
        let (res_tx, res_rx) = channel::<u32>();
        let mut procs = vec![
            Process::with("farmer", jobs_tx, |tx| -> Result {
                for j in 0..40 {
                    tx.send(j)?;
                }
                Ok(())
            }),
            Process::with("collector", res_rx, |rx| -> Result {
                let mut got: Vec<u32> = rx.iter().collect();
                got.sort();
                assert_eq!(got, (1..=40).collect::<Vec<_>>());
                Ok(())
            }),
        ];
        for w in 0..4 {
            procs.push(Process::with(
                format!("worker[{w}]"),
                (jobs_rx.clone(), res_tx.clone()),
                |(rx, tx)| -> Result {
                    for j in rx.iter() {
                        occamy::sleep(Duration::from_millis(25)); // slow work
                        tx.send(j + 1)?;
                    }
                    Ok(())
                },
            ));
        }
        drop((jobs_rx, res_tx));
        assert_clean("farm", aggressive().run(procs));
    });
}

#[test]
fn a_process_sleeping_in_a_timer() {
    watchdog(60, "sleeping process", || {
        let (tx, rx) = channel::<u8>();
        let out = aggressive().run([
            Process::with("sleeper", tx, |tx| -> Result {
                occamy::sleep(Duration::from_millis(300));
                tx.send(1)?;
                Ok(())
            }),
            Process::with("waiter", rx, |rx| -> Result {
                assert_eq!(rx.recv()?, 1);
                Ok(())
            }),
        ]);
        assert_clean("sleeper", out);
    });
}

#[test]
fn a_process_blocked_reading_stdin() {
    // lines_in blocks in a read the runtime cannot see; the printer waiting on it must not
    // be reported while stdin stays open.
    let dir = std::env::temp_dir().join(format!("occamy-stdin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("echo.ron");
    std::fs::write(
        &file,
        r#"Network(name: "echo", channels: { "l": "String" }, processes: {
            "in": (kind: "lines_in", params: { "path": "-" }, ports: { "out": "l" }),
            "out": (kind: "print", ports: { "in": "l" }),
        })"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_occamy"))
        .args(["run", file.to_str().unwrap(), "--deadlock-check-ms", "5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "hello").unwrap();
    // Keep stdin open, idle, for many monitor intervals: a scenario, not a synchronisation.
    std::thread::sleep(Duration::from_millis(500));
    writeln!(stdin, "world").unwrap();
    drop(stdin);
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("watchdog: echo network did not finish within 60s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\nworld\n");
    assert!(!err.contains("deadlock"), "{err}");
}
