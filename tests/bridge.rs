//! Bridges to crossbeam-channel and flume (`occamy::bridge`): values cross in order in
//! both directions; disconnection of the other library's channel is retirement, poison
//! and retirement on the occamy side disconnect it, even while the bridge waits on the
//! other library; a value taken from one side is delivered or given back; and the
//! deadlock monitor neither reports a network waiting on an idle other side nor misses a
//! bridge stuck in a real deadlock.

mod common;

use std::time::Duration;

use common::{pause, watchdog, LIMIT};
use occamy::bridge::{self, Undelivered};
use occamy::{
    buffered, channel, Failure, OnDeadlock, ParOutcome, Process, ProcessEnd, RecvError, Runtime,
    SendError,
};

/// How the process `name` of `out` ended.
fn end_of(out: &ParOutcome, name: &str) -> Option<ProcessEnd> {
    out.processes
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no process `{name}`"))
        .end
}

/// A process that receives every value of `rx` until it retires, then checks them.
fn expect_values(rx: occamy::Receiver<u32>, want: Vec<u32>) -> Process {
    Process::with("sink", rx, move |rx| -> occamy::Result {
        let mut got = Vec::new();
        for v in rx.values() {
            got.push(v?);
        }
        assert_eq!(got, want);
        Ok(())
    })
}

/// A process that writes `values` on `tx` and ends.
fn feed(tx: occamy::Sender<u32>, values: Vec<u32>) -> Process {
    Process::with("feed", tx, move |tx| -> occamy::Result {
        for v in values {
            tx.send(v)?;
        }
        Ok(())
    })
}

/// Runs `processes` under the watchdog.
fn run(what: &'static str, processes: Vec<Process>) -> ParOutcome {
    watchdog(LIMIT, what, move || Runtime::new().run(processes))
}

fn assert_empty<T>(back: &Undelivered<T>) {
    assert!(back.is_empty(), "{back:?}");
}

// --- into a network -------------------------------------------------------------------

#[test]
fn from_crossbeam_delivers_in_order_and_retires_on_disconnection() {
    let (cb_tx, cb_rx) = crossbeam_channel::bounded::<u32>(0);
    let (tx, rx) = channel();
    let (bridge, back) = bridge::from_crossbeam("in", cb_rx, tx);
    let producer = std::thread::spawn(move || (0..100).for_each(|v| cb_tx.send(v).unwrap()));
    let out = run(
        "from_crossbeam",
        vec![bridge, expect_values(rx, (0..100).collect())],
    );
    assert!(out.result.is_ok(), "{:?}", out.result);
    assert_eq!(end_of(&out, "in"), Some(ProcessEnd::Ok));
    common::join("the producer", producer);
    assert_empty(&back);
}

#[test]
fn from_flume_delivers_in_order_and_retires_on_disconnection() {
    let (fl_tx, fl_rx) = flume::bounded::<u32>(0);
    let (tx, rx) = channel();
    let (bridge, back) = bridge::from_flume("in", fl_rx, tx);
    let producer = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            for v in 0..100 {
                fl_tx.send_async(v).await.unwrap();
            }
        })
    });
    let out = run(
        "from_flume",
        vec![bridge, expect_values(rx, (0..100).collect())],
    );
    assert!(out.result.is_ok(), "{:?}", out.result);
    assert_eq!(end_of(&out, "in"), Some(ProcessEnd::Ok));
    common::join("the producer", producer);
    assert_empty(&back);
}

/// A process that poisons `rx` at once.
fn poisoner(rx: occamy::Receiver<u32>) -> Process {
    Process::with("poisoner", rx, |rx| rx.poison())
}

#[test]
fn poison_disconnects_a_from_bridge_waiting_on_an_idle_sender() {
    // The other side's sender stays, idle: only the watch on the occamy channel can end
    // the bridge.
    let (cb_tx, cb_rx) = crossbeam_channel::bounded::<u32>(0);
    let (tx, rx) = channel();
    let (bridge, back) = bridge::from_crossbeam("in", cb_rx, tx);
    let out = run("from_crossbeam, poisoned", vec![bridge, poisoner(rx)]);
    assert_eq!(end_of(&out, "in"), Some(ProcessEnd::Poisoned));
    assert_eq!(cb_tx.send(5), Err(crossbeam_channel::SendError(5)));
    assert_empty(&back);

    let (fl_tx, fl_rx) = flume::bounded::<u32>(0);
    let (tx, rx) = channel();
    let (bridge, back) = bridge::from_flume("in", fl_rx, tx);
    let out = run("from_flume, poisoned", vec![bridge, poisoner(rx)]);
    assert_eq!(end_of(&out, "in"), Some(ProcessEnd::Poisoned));
    assert_eq!(fl_tx.send(5), Err(flume::SendError(5)));
    assert_empty(&back);
}

/// A process that takes one value (1) from `rx` and retires.
fn take_one(rx: occamy::Receiver<u32>) -> Process {
    Process::with("one", rx, |rx| assert_eq!(rx.recv(), Ok(1)))
}

#[test]
fn a_from_bridge_whose_readers_retire_gives_back_what_it_took_and_what_was_buffered() {
    // Whether the bridge had taken 2 (its send then fails) or not (it is still in the
    // buffer), 2 and 3 come back, in order.
    let (cb_tx, cb_rx) = crossbeam_channel::bounded::<u32>(4);
    (1..=3).for_each(|v| cb_tx.send(v).unwrap());
    let (tx, rx) = channel();
    let (bridge, back) = bridge::from_crossbeam("in", cb_rx, tx);
    let out = run("from_crossbeam, reader retires", vec![bridge, take_one(rx)]);
    assert!(out.result.is_ok(), "{:?}", out.result);
    assert_eq!(end_of(&out, "in"), Some(ProcessEnd::Retired));
    assert_eq!(back.take(), [2, 3]);
    assert!(cb_tx.send(4).is_err(), "disconnected");

    let (fl_tx, fl_rx) = flume::bounded::<u32>(4);
    (1..=3).for_each(|v| fl_tx.send(v).unwrap());
    let (tx, rx) = channel();
    let (bridge, back) = bridge::from_flume("in", fl_rx, tx);
    let out = run("from_flume, reader retires", vec![bridge, take_one(rx)]);
    assert!(out.result.is_ok(), "{:?}", out.result);
    assert_eq!(end_of(&out, "in"), Some(ProcessEnd::Retired));
    assert_eq!(back.take(), [2, 3]);
    assert!(fl_tx.send(4).is_err(), "disconnected");
}

#[test]
fn a_from_bridge_ends_when_its_readers_retire_while_it_waits_on_an_idle_sender() {
    let (cb_tx, cb_rx) = crossbeam_channel::unbounded::<u32>();
    let (tx, rx) = channel();
    let (bridge, back) = bridge::from_crossbeam("in", cb_rx, tx);
    let out = run(
        "from_crossbeam, reader gone",
        vec![bridge, Process::with("gone", rx, drop)],
    );
    assert_eq!(end_of(&out, "in"), Some(ProcessEnd::Retired));
    assert!(cb_tx.send(1).is_err());
    assert_empty(&back);

    let (fl_tx, fl_rx) = flume::unbounded::<u32>();
    let (tx, rx) = channel();
    let (bridge, back) = bridge::from_flume("in", fl_rx, tx);
    let out = run(
        "from_flume, reader gone",
        vec![bridge, Process::with("gone", rx, drop)],
    );
    assert_eq!(end_of(&out, "in"), Some(ProcessEnd::Retired));
    assert!(fl_tx.send(1).is_err());
    assert_empty(&back);
}

// --- out of a network -----------------------------------------------------------------

#[test]
fn to_crossbeam_delivers_in_order_and_disconnects_on_retirement() {
    let (cb_tx, cb_rx) = crossbeam_channel::bounded::<u32>(0);
    let (tx, rx) = channel();
    let (bridge, back) = bridge::to_crossbeam("out", rx, cb_tx);
    let consumer = std::thread::spawn(move || cb_rx.iter().collect::<Vec<_>>());
    let out = run("to_crossbeam", vec![feed(tx, (0..100).collect()), bridge]);
    assert!(out.result.is_ok(), "{:?}", out.result);
    assert_eq!(end_of(&out, "out"), Some(ProcessEnd::Ok));
    assert_eq!(
        common::join("the consumer", consumer),
        (0..100).collect::<Vec<_>>()
    );
    assert_empty(&back);
}

#[test]
fn to_flume_delivers_in_order_and_disconnects_on_retirement() {
    let (fl_tx, fl_rx) = flume::bounded::<u32>(0);
    let (tx, rx) = channel();
    let (bridge, back) = bridge::to_flume("out", rx, fl_tx);
    let consumer = std::thread::spawn(move || {
        futures::executor::block_on(async move {
            let mut got = Vec::new();
            while let Ok(v) = fl_rx.recv_async().await {
                got.push(v);
            }
            got
        })
    });
    let out = run("to_flume", vec![feed(tx, (0..100).collect()), bridge]);
    assert!(out.result.is_ok(), "{:?}", out.result);
    assert_eq!(end_of(&out, "out"), Some(ProcessEnd::Ok));
    assert_eq!(
        common::join("the consumer", consumer),
        (0..100).collect::<Vec<_>>()
    );
    assert_empty(&back);
}

/// A process that sends 7 (which the bridge takes), then finds the channel retired on
/// its next send, and gets 8 back.
fn sender_finding_retirement(tx: occamy::Sender<u32>) -> Process {
    Process::with("writer", tx, |tx| -> occamy::Result {
        tx.send(7)?;
        assert!(matches!(tx.send(8), Err(SendError::Retired(8))));
        Ok(())
    })
}

#[test]
fn a_to_bridge_whose_receivers_have_gone_retires_and_gives_the_value_back() {
    let (cb_tx, cb_rx) = crossbeam_channel::bounded::<u32>(0);
    drop(cb_rx);
    let (tx, rx) = channel();
    let (bridge, back) = bridge::to_crossbeam("out", rx, cb_tx);
    let out = run(
        "to_crossbeam, no receiver",
        vec![sender_finding_retirement(tx), bridge],
    );
    assert!(out.result.is_ok(), "{:?}", out.result);
    assert_eq!(end_of(&out, "out"), Some(ProcessEnd::Retired));
    assert_eq!(back.take(), [7]);

    let (fl_tx, fl_rx) = flume::bounded::<u32>(0);
    drop(fl_rx);
    let (tx, rx) = channel();
    let (bridge, back) = bridge::to_flume("out", rx, fl_tx);
    let out = run(
        "to_flume, no receiver",
        vec![sender_finding_retirement(tx), bridge],
    );
    assert!(out.result.is_ok(), "{:?}", out.result);
    assert_eq!(end_of(&out, "out"), Some(ProcessEnd::Retired));
    assert_eq!(back.take(), [7]);
}

#[test]
fn a_to_bridge_whose_receivers_have_gone_gives_back_the_occamy_buffer() {
    let (cb_tx, cb_rx) = crossbeam_channel::bounded::<u32>(0);
    drop(cb_rx);
    let (tx, rx) = buffered(3);
    (1..=3).for_each(|v| tx.send(v).unwrap());
    drop(tx);
    let (bridge, back) = bridge::to_crossbeam("out", rx, cb_tx);
    let out = run("to_crossbeam, buffered", vec![bridge]);
    assert_eq!(end_of(&out, "out"), Some(ProcessEnd::Retired));
    assert_eq!(back.take(), [1, 2, 3]);

    let (fl_tx, fl_rx) = flume::bounded::<u32>(0);
    drop(fl_rx);
    let (tx, rx) = buffered(3);
    (1..=3).for_each(|v| tx.send(v).unwrap());
    drop(tx);
    let (bridge, back) = bridge::to_flume("out", rx, fl_tx);
    let out = run("to_flume, buffered", vec![bridge]);
    assert_eq!(end_of(&out, "out"), Some(ProcessEnd::Retired));
    assert_eq!(back.take(), [1, 2, 3]);
}

/// A writer that sends 0, 1, 2, ... until the channel retires, and records the value it
/// got back then.
fn send_until_retired(tx: occamy::Sender<u32>, back: std::sync::mpsc::Sender<u32>) -> Process {
    Process::with("writer", tx, move |tx| -> occamy::Result {
        for v in 0.. {
            if let Err(e) = tx.send(v) {
                assert!(matches!(e, SendError::Retired(_)), "{e}");
                back.send(e.into_inner()).unwrap();
                break;
            }
        }
        Ok(())
    })
}

#[test]
fn a_to_bridge_accounts_for_every_value_a_busy_writer_sent() {
    // Every send that succeeded put its value in the bridge or the buffer: all of them
    // come back, in order, up to the one the writer got back itself.
    type Bridge = fn(occamy::Receiver<u32>) -> (Process, Undelivered<u32>);
    let cases: [(&str, Bridge); 2] = [
        ("to_crossbeam", |rx| {
            let (cb_tx, _) = crossbeam_channel::bounded::<u32>(0);
            bridge::to_crossbeam("out", rx, cb_tx)
        }),
        ("to_flume", |rx| {
            let (fl_tx, _) = flume::bounded::<u32>(0);
            bridge::to_flume("out", rx, fl_tx)
        }),
    ];
    for (what, make) in cases {
        for _ in 0..20 {
            let (tx, rx) = buffered(4);
            let (bridge, back) = make(rx);
            let (returned_tx, returned) = std::sync::mpsc::channel();
            let out = run(what, vec![send_until_retired(tx, returned_tx), bridge]);
            assert_eq!(end_of(&out, "out"), Some(ProcessEnd::Retired), "{what}");
            let last = returned.recv().unwrap();
            assert_eq!(back.take(), (0..last).collect::<Vec<_>>(), "{what}");
        }
    }
}

/// A process that sends 9 (which the bridge takes) and then poisons the channel.
fn send_then_poison(tx: occamy::Sender<u32>) -> Process {
    Process::with("writer", tx, |tx| -> occamy::Result {
        tx.send(9)?;
        tx.poison();
        Ok(())
    })
}

#[test]
fn poison_ends_a_to_bridge_waiting_for_a_receiver_that_never_reads() {
    // The receiver stays and never reads: only the watch on the occamy channel can end
    // the bridge.
    let (cb_tx, cb_rx) = crossbeam_channel::bounded::<u32>(0);
    let (tx, rx) = channel();
    let (bridge, back) = bridge::to_crossbeam("out", rx, cb_tx);
    let out = run("to_crossbeam, poisoned", vec![send_then_poison(tx), bridge]);
    assert_eq!(end_of(&out, "out"), Some(ProcessEnd::Poisoned));
    assert_eq!(back.take(), [9], "the value it was offering comes back");
    assert_eq!(
        cb_rx.try_recv(),
        Err(crossbeam_channel::TryRecvError::Disconnected)
    );

    let (fl_tx, fl_rx) = flume::bounded::<u32>(0);
    let (tx, rx) = channel();
    let (bridge, back) = bridge::to_flume("out", rx, fl_tx);
    let out = run("to_flume, poisoned", vec![send_then_poison(tx), bridge]);
    assert_eq!(end_of(&out, "out"), Some(ProcessEnd::Poisoned));
    // flume's exception (documented): a pending flume send cannot be taken back.
    assert_empty(&back);
    assert_eq!(fl_rx.try_recv(), Err(flume::TryRecvError::Disconnected));
}

// --- deadlock detection, and processes() ----------------------------------------------

/// A reader of `a` that, once `gate` retires, waits for ever on a channel only it holds:
/// deadlocked. Until then it waits on the test's thread, which may yet act: not a
/// deadlock, so that the bridge can block on `a` first.
fn stuck(a: occamy::Receiver<u32>, gate: occamy::Receiver<()>) -> Process {
    let (b_tx, b_rx) = channel::<u32>();
    Process::with("stuck", (a, gate, b_tx, b_rx), |(_a, gate, _b_tx, b_rx)| {
        assert_eq!(gate.recv(), Err(RecvError::Retired));
        b_rx.recv().map(drop)
    })
}

/// Waits until the process `name` waits to send on a channel.
fn wait_until_sending(name: &str) {
    let sending = |p: &occamy::ProcessInfo| {
        p.name == name
            && p.waiting.iter().any(|w| {
                matches!(
                    w,
                    occamy::WaitOn::Channel {
                        dir: occamy::Direction::Send,
                        ..
                    }
                )
            })
    };
    while !occamy::processes().iter().any(sending) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `bridge` (named `name`) into `stuck` under a monitor that poisons on deadlock;
/// once the bridge waits to send, lets `stuck` deadlock.
fn run_into_deadlock(name: &'static str, bridge: Process, rx: occamy::Receiver<u32>) -> ParOutcome {
    let (gate_tx, gate_rx) = channel::<()>();
    let network = std::thread::spawn(move || {
        Runtime::new()
            .on_deadlock(OnDeadlock::Poison)
            .deadlock_check_interval(Duration::from_millis(20))
            .run([bridge, stuck(rx, gate_rx)])
    });
    watchdog(LIMIT, "the bridge blocks", move || wait_until_sending(name));
    drop(gate_tx);
    common::join("the deadlocked network", network)
}

/// The deadlock `out` ended in; panics if it did not.
fn deadlocked(out: &ParOutcome) -> Vec<String> {
    match &out.result {
        Err(e) => match &e.failure {
            Failure::Deadlock(d) => {
                let mut names: Vec<String> = d.blocked.iter().map(|b| b.name.clone()).collect();
                names.sort();
                names
            }
            f => panic!("not a deadlock: {f}"),
        },
        Ok(()) => panic!("no deadlock reported"),
    }
}

#[test]
fn a_bridge_stuck_sending_to_a_deadlocked_reader_is_part_of_the_deadlock() {
    let (cb_tx, cb_rx) = crossbeam_channel::bounded::<u32>(1);
    cb_tx.send(3).unwrap();
    let (tx, rx) = channel();
    let name = "deadlocked crossbeam bridge";
    let (bridge, back) = bridge::from_crossbeam(name, cb_rx, tx);
    let out = run_into_deadlock(name, bridge, rx);
    assert_eq!(deadlocked(&out), [name, "stuck"]);
    // The poison that ended the deadlock reached the bridge in its send: 3 comes back.
    assert_eq!(end_of(&out, name), Some(ProcessEnd::Poisoned));
    assert_eq!(back.take(), [3]);
    drop(cb_tx);

    let (fl_tx, fl_rx) = flume::bounded::<u32>(1);
    fl_tx.send(3).unwrap();
    let (tx, rx) = channel();
    let name = "deadlocked flume bridge";
    let (bridge, back) = bridge::from_flume(name, fl_rx, tx);
    let out = run_into_deadlock(name, bridge, rx);
    assert_eq!(deadlocked(&out), [name, "stuck"]);
    assert_eq!(end_of(&out, name), Some(ProcessEnd::Poisoned));
    assert_eq!(back.take(), [3]);
    drop(fl_tx);
}

/// Waits until `processes()` lists a process named `name` (it has started).
fn wait_until_listed(name: &str) {
    while !occamy::processes().iter().any(|p| p.name == name) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_network_waiting_on_an_idle_other_side_is_not_a_deadlock() {
    // The sink waits on the bridge, which waits on the idle crossbeam (or flume) side for
    // many check intervals: not a deadlock, since a thread outside may still send. Then
    // it does, and the network ends normally.
    let (cb_tx, cb_rx) = crossbeam_channel::bounded::<u32>(0);
    let (tx, rx) = channel();
    let (bridge, _) = bridge::from_crossbeam("idle crossbeam bridge", cb_rx, tx);
    let sink = Process::with("sink", rx, |rx| assert_eq!(rx.recv(), Ok(1)));
    let network = std::thread::spawn(move || {
        Runtime::new()
            .deadlock_check_interval(Duration::from_millis(5))
            .run([bridge, sink])
    });
    watchdog(LIMIT, "the bridge starts", || {
        wait_until_listed("idle crossbeam bridge")
    });
    (0..4).for_each(|_| pause());
    cb_tx.send(1).unwrap();
    drop(cb_tx);
    let out = common::join("the crossbeam network", network);
    assert!(
        out.result.is_ok() && out.deadlock.is_none(),
        "{:?}",
        out.result
    );

    let (fl_tx, fl_rx) = flume::bounded::<u32>(0);
    let (tx, rx) = channel();
    let (bridge, _) = bridge::from_flume("idle flume bridge", fl_rx, tx);
    let sink = Process::with("sink", rx, |rx| -> occamy::Result {
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Err(RecvError::Retired));
        Ok(())
    });
    let network = std::thread::spawn(move || {
        Runtime::new()
            .deadlock_check_interval(Duration::from_millis(5))
            .run([bridge, sink])
    });
    watchdog(LIMIT, "the bridge starts", || {
        wait_until_listed("idle flume bridge")
    });
    (0..4).for_each(|_| pause());
    fl_tx.send(1).unwrap();
    drop(fl_tx);
    let out = common::join("the flume network", network);
    assert!(
        out.result.is_ok() && out.deadlock.is_none(),
        "{:?}",
        out.result
    );
}
