//! Helpers of the loader's error tests (tests/network_errors*.rs): load a small bad file
//! from tests/networks/ through the library and compare its diagnostics.

// Each test file uses its own subset.
#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use occamy::network::Registry;
use occamy::network::{self, Diagnostic, Plan};

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/networks")
}

pub fn path(name: &str) -> PathBuf {
    dir().join(name)
}

pub fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(not a string)".into())
}

/// Loads `file` with `sets`; a panic in the loader fails the test with a clear message.
pub fn load_path(file: &Path, sets: &[(&str, &str)]) -> Result<Plan, Vec<Diagnostic>> {
    let sets: Vec<(String, String)> = sets
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let reg = Registry::with_builtins();
    match catch_unwind(AssertUnwindSafe(|| network::load(file, &sets, &reg))) {
        Ok(r) => r.map_err(|e| e.diagnostics),
        Err(p) => panic!(
            "the loader panicked on {}: {}",
            file.display(),
            panic_text(&*p)
        ),
    }
}

pub fn load(name: &str, sets: &[(&str, &str)]) -> Result<Plan, Vec<Diagnostic>> {
    load_path(&path(name), sets)
}

pub fn ok(name: &str, sets: &[(&str, &str)]) -> Plan {
    load(name, sets).unwrap_or_else(|d| panic!("{name} should load:\n{}", show(&d)))
}

pub fn errors(name: &str, sets: &[(&str, &str)]) -> Vec<Diagnostic> {
    match load(name, sets) {
        Ok(plan) => panic!("{name} should not load, but did: {}", plan.summary()),
        Err(d) => d,
    }
}

pub fn show(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| format!("  {d:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Finds the diagnostic saying `message` (exactly; or, if `message` ends with `...`, one
/// starting with the rest) and checks that it names `file` (its last components), `pos`,
/// `context` and `help`. Returns it.
pub fn expect<'a>(
    diags: &'a [Diagnostic],
    file: &str,
    pos: Option<(usize, usize)>,
    context: &[&str],
    message: &str,
    help: Option<&str>,
) -> &'a Diagnostic {
    let matches = |d: &&Diagnostic| match message.strip_suffix("...") {
        Some(prefix) => d.message.starts_with(prefix),
        None => d.message == message,
    };
    let d = diags
        .iter()
        .find(matches)
        .unwrap_or_else(|| panic!("no diagnostic `{message}` among:\n{}", show(diags)));
    assert!(
        d.file.ends_with(file),
        "diagnostic `{message}`: file {} should be {file}",
        d.file.display()
    );
    assert_eq!(d.pos, pos, "diagnostic `{message}`: position");
    assert_eq!(d.context, context, "diagnostic `{message}`: context");
    assert_eq!(d.help.as_deref(), help, "diagnostic `{message}`: help");
    d
}

/// Checks there are exactly `n` diagnostics.
pub fn count(diags: &[Diagnostic], n: usize) {
    assert_eq!(
        diags.len(),
        n,
        "expected {n} diagnostics, got:\n{}",
        show(diags)
    );
}

pub const SEE_DOCS: Option<&str> = Some("see docs/network-format.md for the format");
pub const NO_WRITER: Option<&str> = Some("bind it to an output port of some process");
pub const NO_READER: Option<&str> = Some("bind it to an input port of some process");
