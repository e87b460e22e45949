//! The commstime example (examples/commstime.rs), small: the loop built in code with
//! both deltas, and networks/commstime.ron. Every run is under a watchdog; the figures it
//! measures are not asserted on.

mod common;
#[path = "../examples/commstime.rs"]
#[allow(dead_code)]
mod commstime;

use std::path::Path;

use common::watchdog;
use commstime::Delta;

#[test]
fn commstime_in_code_delivers_every_value_in_order() {
    for delta in [Delta::Seq, Delta::Par] {
        let t = watchdog(60, "commstime in code", move || {
            commstime::commstime_code(1_000, delta)
        });
        assert_eq!(t.values, 1_000, "{delta:?}");
        assert!(t.in_order, "{delta:?}");
        // a, b, c and d carried about a thousand values each
        assert!(
            (4_000..=4_004).contains(&t.communications),
            "{delta:?}: {t:?}"
        );
        assert!(t.ns_per_comm_timed().is_some());
    }
}

#[test]
fn commstime_in_code_with_one_value() {
    let t = watchdog(30, "commstime, n = 1", || {
        commstime::commstime_code(1, Delta::Par)
    });
    assert_eq!((t.values, t.in_order), (1, true));
}

#[test]
fn commstime_from_the_network_file() {
    let t = watchdog(60, "networks/commstime.ron", || {
        commstime::commstime_file(Path::new(commstime::NETWORK), 1_000)
    })
    .expect("the network runs");
    assert_eq!(t.values, 1_000);
    assert!((4_000..=4_004).contains(&t.communications), "{t:?}");
}
