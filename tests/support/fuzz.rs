//! The harness of the loader's fuzz tests (tests/loader_fuzz.rs, tests/loader_fuzz_random.rs):
//! a seeded xorshift RNG, and a bench that runs the loader on one input, catches a panic
//! and, at the end, fails listing each distinct panic with its input.

// Each test file uses its own subset.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Instant;

use occamy::network;
use occamy::network::Registry;

// ---------------------------------------------------------------------------------------
// RNG

/// xorshift64*.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    pub fn pick<'a, T: ?Sized>(&mut self, xs: &[&'a T]) -> &'a T {
        xs[self.below(xs.len())]
    }
}

pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn seed() -> u64 {
    env_or("OCCAMY_FUZZ_SEED", 0x0cca_3b5e_ed00_2026)
}

// ---------------------------------------------------------------------------------------
// Running the loader on one input, catching panics

thread_local! {
    /// Set while the loader runs: the panic hook then records instead of printing.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let msg = info
                    .payload()
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = format!("{msg} (at {at})"));
            } else {
                default(info);
            }
        }));
    });
}

/// A panic found: what it said and the input (and any mutated sub-network) that caused it.
pub struct Found {
    generator: &'static str,
    case: u64,
    panic: String,
    input: String,
    extra: Option<(String, String)>,
    sets: Vec<(String, String)>,
}

/// The inputs of one generator: a temporary directory with copies of the real files.
pub struct Bench {
    name: &'static str,
    dir: PathBuf,
    pub reg: Registry,
    found: Vec<Found>,
    cases: u64,
    ok: u64,
    seen: BTreeMap<String, usize>,
}

impl Bench {
    pub fn new(name: &'static str) -> Bench {
        install_hook();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("loader_fuzz-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["networks", "tests"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for (sub, f) in seed_files() {
            std::fs::copy(&f, dir.join(sub).join(f.file_name().unwrap())).unwrap();
        }
        Bench {
            name,
            dir,
            reg: Registry::with_builtins(),
            found: vec![],
            cases: 0,
            ok: 0,
            seen: BTreeMap::new(),
        }
    }

    /// Writes `text` as `sub/case-N.ron` (and `extra` beside it), loads it, records a
    /// panic. Each case gets fresh file names (rewriting a file in place is slow on some
    /// file systems); `"case.ron"` and `"sub_mut.ron"` in the text name them.
    pub fn try_one(
        &mut self,
        sub: &str,
        text: &[u8],
        extra: Option<(&str, &[u8])>,
        sets: &[(String, String)],
    ) {
        self.cases += 1;
        let name = format!("case-{}.ron", self.cases);
        let file = self.dir.join(sub).join(&name);
        let mut text = replace(text, b"\"case.ron\"", format!("\"{name}\"").as_bytes());
        let mut extra_file = None;
        if let Some((_, t)) = extra {
            let sub_name = format!("sub_mut-{}.ron", self.cases);
            text = replace(
                &text,
                b"\"sub_mut.ron\"",
                format!("\"{sub_name}\"").as_bytes(),
            );
            let f = self.dir.join(sub).join(sub_name);
            std::fs::write(&f, t).unwrap();
            extra_file = Some(f);
        }
        std::fs::write(&file, &text).unwrap();
        QUIET.with(|q| q.set(true));
        let r = catch_unwind(AssertUnwindSafe(|| network::load(&file, sets, &self.reg)));
        QUIET.with(|q| q.set(false));
        let _ = std::fs::remove_file(&file);
        if let Some(f) = extra_file {
            let _ = std::fs::remove_file(f);
        }
        match r {
            Ok(Ok(_)) => self.ok += 1,
            Ok(Err(e)) => assert!(!e.diagnostics.is_empty(), "an Err with no diagnostics"),
            Err(_) => {
                let panic = LAST_PANIC.with(|p| p.borrow().clone());
                let n = self.seen.entry(panic.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
                        "loader_fuzz-panic-{}-{}.ron",
                        self.name, self.cases
                    ));
                    let _ = std::fs::write(&saved, &text);
                    self.found.push(Found {
                        generator: self.name,
                        case: self.cases,
                        panic,
                        input: String::from_utf8_lossy(&text).into_owned(),
                        extra: extra
                            .map(|(n, t)| (n.to_string(), String::from_utf8_lossy(t).into_owned())),
                        sets: sets.to_vec(),
                    });
                }
            }
        }
    }

    /// Fails listing every distinct panic, with its input; cleans up otherwise.
    pub fn finish(self, started: Instant) {
        eprintln!(
            "loader_fuzz {}: {} inputs ({} loaded, the rest rejected) in {:.1}s, {} distinct panics",
            self.name,
            self.cases,
            self.ok,
            started.elapsed().as_secs_f64(),
            self.found.len()
        );
        let _ = std::fs::remove_dir_all(&self.dir);
        if self.found.is_empty() {
            return;
        }
        let mut msg = format!(
            "the loader panicked on {} distinct inputs (generator `{}`, seed {:#x}):\n",
            self.found.len(),
            self.name,
            seed()
        );
        for f in &self.found {
            let times = self.seen[&f.panic];
            let _ = writeln!(
                msg,
                "\n=== {} case {}: panicked ({times} inputs in all): {}",
                f.generator, f.case, f.panic
            );
            if !f.sets.is_empty() {
                let _ = writeln!(msg, "--set {:?}", f.sets);
            }
            let _ = writeln!(msg, "--- the file:\n{}", f.input);
            if let Some((n, t)) = &f.extra {
                let _ = writeln!(msg, "--- {n} (beside it):\n{t}");
            }
        }
        panic!("{msg}");
    }
}

/// `text` with every `from` replaced by `to`.
pub fn replace(text: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// The real network files to start from: (subdirectory, path), all of them, including
/// the files that once made the loader panic (tests/networks/expr_overflow.ron,
/// sub_port_empty_list.ron; see tests/network_errors.rs).
pub fn seed_files() -> Vec<(&'static str, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    for (sub, dir) in [("networks", "networks"), ("tests", "tests/networks")] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "ron"))
            .collect();
        files.sort();
        v.extend(files.into_iter().map(|f| (sub, f)));
    }
    v
}

pub fn random_sets(rng: &mut Rng) -> Vec<(String, String)> {
    if !rng.chance(5) {
        return vec![];
    }
    (0..1 + rng.below(2))
        .map(|_| {
            let k = rng.pick(&["n", "count", "k", "workers", "laps", "zz", ""]);
            let v = rng.pick(&[
                "3", "0", "-1", "hello", "\"s\"", "(", "2.5", "true", "[1]", "", "$n", "99999",
            ]);
            (k.to_string(), v.to_string())
        })
        .collect()
}
