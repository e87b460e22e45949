//! The primes example (examples/primes.rs), small: the sieve pipeline, the farm built in
//! code, and networks/primes.ron run with the example's registry. Every run is under a
//! watchdog; nothing here looks at timings.

mod common;
#[path = "../examples/primes.rs"]
#[allow(dead_code)]
mod primes;

use std::path::Path;

use common::watchdog;

fn sets(pairs: &[(&str, u64)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_first_1000_primes_end_with_7919() {
    let got = watchdog(180, "sieve(1000)", || primes::sieve(1000));
    assert_eq!(got.len(), 1000);
    assert_eq!(&got[..5], [2, 3, 5, 7, 11]);
    assert_eq!(got.last(), Some(&7919));
    assert_eq!(got, primes::sieve_serial(1000));
}

#[test]
fn the_sieve_works_for_the_shortest_pipelines() {
    for count in 1..=3 {
        let got = watchdog(30, "a short sieve", move || primes::sieve(count));
        assert_eq!(got, [2, 3, 5][..count]);
    }
}

#[test]
fn the_farm_in_code_counts_the_primes_below_n() {
    assert_eq!(
        watchdog(60, "farm, 3 workers", || primes::count_primes_farm(
            100_000, 3, 1_000
        )),
        9_592
    );
    // One worker; a range larger than n; a range that does not divide n.
    assert_eq!(
        watchdog(60, "farm, 1 worker", || primes::count_primes_farm(
            1_000, 1, 5_000
        )),
        168
    );
    assert_eq!(
        watchdog(60, "farm, odd ranges", || primes::count_primes_farm(
            10_000, 4, 7
        )),
        1_229
    );
}

#[test]
fn the_serial_count_agrees_with_the_known_values() {
    for n in [10, 100, 1_000, 10_000] {
        assert_eq!(Some(primes::count_primes_serial(n)), primes::known_pi(n));
    }
    assert!(primes::is_prime(7919) && !primes::is_prime(7917) && !primes::is_prime(1));
}

#[test]
fn the_network_file_counts_pi_of_a_million() {
    let got = watchdog(120, "networks/primes.ron", || {
        primes::run_file(Path::new(primes::NETWORK), &sets(&[("workers", 3)]))
    });
    assert_eq!(got, Ok(78_498));
}

#[test]
fn the_network_file_takes_its_params_from_sets() {
    let s = sets(&[("n", 20_000), ("workers", 5), ("chunk", 333)]);
    let got = watchdog(60, "networks/primes.ron, small", move || {
        primes::run_file(Path::new(primes::NETWORK), &s)
    });
    assert_eq!(got, Ok(2_262));
}

#[test]
fn the_network_file_needs_the_examples_kinds() {
    let plain = occamy::network::Registry::with_builtins();
    let err = occamy::network::load(Path::new(primes::NETWORK), &[], &plain).unwrap_err();
    assert!(err.to_string().contains("count_primes"), "{err}");
    let plan = occamy::network::load(Path::new(primes::NETWORK), &[], &primes::registry());
    assert_eq!(plan.expect("it checks").processes.len(), 5);
}

#[test]
fn the_network_file_spreads_its_workers_over_the_ranks() {
    let opts = occamy::network::LoadOptions {
        sets: sets(&[("workers", 3)]),
        ranks: 2,
    };
    let plan = occamy::network::load_with(Path::new(primes::NETWORK), &opts, &primes::registry())
        .expect("it checks on 2 ranks");
    let ranks: Vec<(&str, u32)> = plan
        .processes
        .iter()
        .map(|p| (p.name.as_str(), p.rank))
        .collect();
    assert_eq!(
        ranks,
        [
            ("ranges", 0),
            ("worker[0]", 0),
            ("worker[1]", 1),
            ("worker[2]", 0),
            ("merge", 0),
            ("sum", 0)
        ]
    );
}
