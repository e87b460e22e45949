//! The matmul example (examples/matmul.rs), small: the row farm and the systolic array
//! against the serial product, for i64 (exactly) and f64, and networks/matmul.ron run
//! with the example's registry. Every run is under a watchdog; nothing looks at timings.

mod common;
#[path = "../examples/matmul.rs"]
#[allow(dead_code)]
mod matmul;

use std::path::Path;
use std::sync::Arc;

use common::watchdog;
use matmul::{inputs, matmul_farm, matmul_serial, matmul_systolic, Matrix};

#[test]
fn the_generator_is_seeded() {
    let (a1, b1) = inputs::<i64>(5, 42);
    let (a2, b2) = inputs::<i64>(5, 42);
    assert_eq!((&a1, &b1), (&a2, &b2));
    assert_ne!(a1, b1);
    assert_ne!(a1, inputs::<i64>(5, 43).0);
    assert!(a1.data.iter().all(|x| (-9..=9).contains(x)));
    let (f, _) = inputs::<f64>(20, 1);
    assert!(f.data.iter().all(|x| (-1.0..1.0).contains(x)));
}

#[test]
fn the_serial_product_is_right() {
    // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]]
    let a = Matrix {
        n: 2,
        data: vec![1i64, 2, 3, 4],
    };
    let b = Matrix {
        n: 2,
        data: vec![5i64, 6, 7, 8],
    };
    assert_eq!(matmul_serial(&a, &b).data, [19, 22, 43, 50]);
}

#[test]
fn the_row_farm_equals_the_serial_product() {
    // 300: several jobs of BLOCK rows and a partial tile of columns; 2 < BLOCK rows.
    for (n, workers) in [(300, 3), (37, 2), (1, 1), (2, 5)] {
        let (a, b) = inputs::<i64>(n, 7);
        let want = matmul_serial(&a, &b);
        let got = watchdog(60, "row farm, i64", move || {
            matmul_farm(Arc::new(a), Arc::new(b), workers)
        });
        assert_eq!(got, want, "n = {n}, {workers} workers");
    }
    let (a, b) = inputs::<f64>(40, 8);
    let want = matmul_serial(&a, &b);
    let got = watchdog(60, "row farm, f64", move || {
        matmul_farm(Arc::new(a), Arc::new(b), 2)
    });
    assert!(got.matches(&want));
}

#[test]
fn the_systolic_array_equals_the_serial_product() {
    for n in [1, 2, 3, 8, 12] {
        let (a, b) = inputs::<i64>(n, n as u64);
        let want = matmul_serial(&a, &b);
        let got = watchdog(120, "systolic array, i64", move || matmul_systolic(&a, &b));
        assert_eq!(got, want, "n = {n}");
    }
    let (a, b) = inputs::<f64>(10, 3);
    let want = matmul_serial(&a, &b);
    let got = watchdog(120, "systolic array, f64", move || matmul_systolic(&a, &b));
    assert!(got.matches(&want));
}

#[test]
fn the_network_file_equals_the_serial_product() {
    let sets: Vec<(String, String)> = [("n", "40"), ("workers", "3"), ("seed", "5")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let got = watchdog(60, "networks/matmul.ron", move || {
        matmul::run_file(Path::new(matmul::NETWORK), &sets)
    })
    .expect("the network runs and verifies C");
    let (a, b) = inputs::<f64>(40, 5);
    assert!(got.matches(&matmul_serial(&a, &b)));
}

#[test]
fn the_network_file_needs_the_examples_kinds() {
    let plain = occamy::network::Registry::with_builtins();
    assert!(occamy::network::load(Path::new(matmul::NETWORK), &[], &plain).is_err());
    let plan = occamy::network::load(Path::new(matmul::NETWORK), &[], &matmul::registry());
    assert_eq!(plan.expect("it checks").processes.len(), 4);
}
