//! Helpers of the graph tests (tests/graph.rs, tests/graph_ranks.rs): load a network file
//! of the repository, and the two ways of drawing it.

// Each test file uses its own subset.
#![allow(dead_code)]

use std::path::PathBuf;

use occamy::graph::DotOptions;
use occamy::network::{self, Plan, Registry};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn load(file: &str, sets: &[(&str, &str)]) -> Plan {
    let sets: Vec<(String, String)> = sets
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    network::load(&repo().join(file), &sets, &Registry::with_builtins())
        .unwrap_or_else(|e| panic!("{file} should load: {e}"))
}

pub fn plain() -> DotOptions {
    DotOptions::default()
}

pub fn collapsed() -> DotOptions {
    DotOptions {
        collapse_replicated: true,
    }
}
