//! `running_processes()` counts every process in the program, so this check lives in a
//! test binary of its own, with a single test: no other test's processes run beside it.

mod common;

use common::{watchdog, LIMIT};
use occamy::{channel, par, running_processes, spawn, Process};

#[test]
fn no_process_is_left_running_after_par_or_join() {
    assert_eq!(running_processes(), 0);
    watchdog(LIMIT, "panicking pipeline", || {
        let (c0_tx, c0_rx) = channel::<u32>();
        let (c1_tx, c1_rx) = channel::<u32>();
        let (c2_tx, c2_rx) = channel::<u32>();
        let (c3_tx, c3_rx) = channel::<u32>();
        let err = par([
            Process::new("source", move || -> occamy::Result {
                for i in 0.. {
                    c0_tx.send(i)?;
                }
                Ok(())
            }),
            Process::new("stage 1", move || -> occamy::Result {
                loop {
                    c1_tx.send(c0_rx.recv()?)?;
                }
            }),
            Process::new("stage 2", move || -> occamy::Result {
                loop {
                    let v = c1_rx.recv()?;
                    assert!(running_processes() >= 1);
                    if v == 3 {
                        panic!("stage 2 gives up");
                    }
                    c2_tx.send(v)?;
                }
            }),
            Process::new("stage 3", move || -> occamy::Result {
                loop {
                    c3_tx.send(c2_rx.recv()?)?;
                }
            }),
            Process::new("sink", move || -> occamy::Result {
                loop {
                    c3_rx.recv()?;
                }
            }),
        ])
        .unwrap_err();
        assert_eq!(err.process, "stage 2");
    });
    assert_eq!(
        running_processes(),
        0,
        "par returned with processes still running"
    );

    watchdog(LIMIT, "spawned process", || {
        let (tx, rx) = channel::<u8>();
        let h = spawn(Process::new("background", move || tx.send(1)));
        assert_eq!(rx.recv(), Ok(1));
        h.join().unwrap();
    });
    assert_eq!(
        running_processes(),
        0,
        "a joined process still counts as running"
    );
}
