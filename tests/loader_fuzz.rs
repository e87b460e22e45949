//! No input makes the network loader panic: `occamy::network::load` returns `Ok` or `Err`
//! for every file. Three generators, all driven by one seeded xorshift RNG (so a failure
//! is reproducible):
//!
//! - mutations of the real network files (networks/*.ron and tests/networks/*.ron):
//!   bytes and tokens deleted, duplicated, replaced and swapped, also inside the
//!   sub-network files that others include;
//! - soups of RON tokens, with and without the `Network(` wrapper;
//! - random networks that are valid RON but anything else: random kinds, ports, params,
//!   channel declarations, replicators, sub-network includes (of real files, of missing
//!   ones, of the file itself), and integer expressions at the edges of `i64`.
//!
//! Every panic is caught; the test fails at the end listing each distinct panic with the
//! input that caused it (saved under the test's temporary directory too).
//!
//! What this test leaves out: channel or replicate counts in the millions (the loader
//! builds up to 10,000,000 processes, about 1.5 KB each, before its cap stops it: seconds
//! and gigabytes per case), and expressions nested thousands deep (the expression parser
//! recurses: a stack overflow would abort the test process rather than panic).
//! So mutated inputs with integer literals of more than five digits, or more `*` than the
//! original, are skipped, and generated counts stay small.
//!
//! `OCCAMY_FUZZ_SEED` and `OCCAMY_FUZZ_CASES` (per generator) override the defaults.

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
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T: ?Sized>(&mut self, xs: &[&'a T]) -> &'a T {
        xs[self.below(xs.len())]
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed() -> u64 {
    env_or("OCCAMY_FUZZ_SEED", 0x0cca_3b5e_ed00_2026)
}

// ---------------------------------------------------------------------------------------
// Running the loader on one input, catching panics

thread_local! {
    /// Set while the loader runs: the panic hook then records instead of printing.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

fn install_hook() {
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
struct Found {
    generator: &'static str,
    case: u64,
    panic: String,
    input: String,
    extra: Option<(String, String)>,
    sets: Vec<(String, String)>,
}

/// The inputs of one generator: a temporary directory with copies of the real files.
struct Bench {
    name: &'static str,
    dir: PathBuf,
    reg: Registry,
    found: Vec<Found>,
    cases: u64,
    ok: u64,
    seen: BTreeMap<String, usize>,
}

impl Bench {
    fn new(name: &'static str) -> Bench {
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
    fn try_one(
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
    fn finish(self, started: Instant) {
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
fn replace(text: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
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
fn seed_files() -> Vec<(&'static str, PathBuf)> {
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

// ---------------------------------------------------------------------------------------
// Mutations

/// Tokens of network files, and of RON, to splice in.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "()",
    "[]",
    "{}",
    "Network",
    "name",
    "doc",
    "params",
    "channels",
    "processes",
    "ports",
    "barriers",
    "kind",
    "network",
    "replicate",
    "count",
    "index",
    "type",
    "dir",
    "channel",
    "shared",
    "buffer",
    "rank",
    "placement",
    "RoundRobin",
    "BySubnetwork",
    "\"$ranks\"",
    "In",
    "Out",
    "true",
    "false",
    "Some",
    "None",
    "0",
    "1",
    "-1",
    "2.5",
    "-0.0",
    "1e3",
    "0x10",
    "\"$n\"",
    "\"$i\"",
    "\"$n-1\"",
    "\"($i+1)%$n\"",
    "\"$\"",
    "\"$$\"",
    "\"c[$i]\"",
    "\"c[\"",
    "\"c[]\"",
    "\"c[-1]\"",
    "\"[0]\"",
    "\"u64\"",
    "\"i64\"",
    "\"f64\"",
    "\"String\"",
    "\"Vec<u8>\"",
    "\"bool\"",
    "\"T\"",
    "\"in\"",
    "\"out\"",
    "\"barrier\"",
    "\"farm.ron\"",
    "\"worker.ron\"",
    "\"case.ron\"",
    "\"missing.ron\"",
    "\"../networks/farm.ron\"",
    "\"/\"",
    "\"\"",
    "\"x\"",
    "\"é\"",
    "\"\\u{1F600}\"",
    "r#\"raw\"#",
    "'c'",
    "b\"bytes\"",
    "#![enable(implicit_some)]",
    "//",
    "/*",
    "*/",
    "\n",
    " ",
    "é",
    "\u{0}",
];

/// Bytes to put in: RON punctuation, letters, digits, and a few odd ones.
const BYTES: &[u8] = b"(){}[]:,\"$+-*/%_ azAZ09\n\\#'.\t\x00\xff\xc3";

/// Splits RON text into tokens: strings, words, numbers, single punctuation, spaces.
fn tokenize(s: &str) -> Vec<String> {
    let b: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let st = i;
        let c = b[i];
        if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '.') {
                i += 1;
            }
        } else if c.is_whitespace() {
            while i < b.len() && b[i].is_whitespace() {
                i += 1;
            }
        } else {
            i += 1;
        }
        out.push(b[st..i].iter().collect());
    }
    out
}

/// One to four random edits of `text`, on bytes or on tokens.
fn mutate(rng: &mut Rng, text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        if rng.chance(2) {
            let n = bytes.len();
            let at = rng.below(n + 1);
            let len = (1 + rng.below(8)).min(n - at.min(n));
            match rng.below(4) {
                0 => {
                    bytes.drain(at..at + len);
                }
                1 => {
                    let chunk = bytes[at..at + len].to_vec();
                    let to = rng.below(bytes.len() + 1);
                    bytes.splice(to..to, chunk);
                }
                2 => {
                    if at < bytes.len() {
                        bytes[at] = BYTES[rng.below(BYTES.len())];
                    }
                }
                _ => {
                    let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                    bytes.splice(at..at, t.iter().copied());
                }
            }
        } else {
            let s = String::from_utf8_lossy(&bytes).into_owned();
            let mut toks = tokenize(&s);
            if toks.is_empty() {
                continue;
            }
            let i = rng.below(toks.len());
            match rng.below(5) {
                0 => {
                    toks.remove(i);
                }
                1 => {
                    let t = toks[i].clone();
                    toks.insert(rng.below(toks.len() + 1), t);
                }
                2 => toks[i] = TOKENS[rng.below(TOKENS.len())].to_string(),
                3 => {
                    let j = rng.below(toks.len());
                    toks.swap(i, j);
                }
                _ => {
                    // Replace a string token by another string of the same file.
                    let strings: Vec<String> = toks
                        .iter()
                        .filter(|t| t.starts_with('"'))
                        .cloned()
                        .collect();
                    if !strings.is_empty() {
                        toks[i] = strings[rng.below(strings.len())].clone();
                    }
                }
            }
            bytes = toks.concat().into_bytes();
        }
    }
    bytes
}

/// Whether a mutated input could make the loader allocate millions of processes or
/// channels (see the module doc): integer literals of more than five digits, or more `*`
/// than the original.
fn too_big(original: &str, mutated: &[u8]) -> bool {
    let mut run = 0;
    for &c in mutated {
        if c.is_ascii_digit() {
            run += 1;
            if run > 5 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    let stars = |b: &[u8]| b.iter().filter(|&&c| c == b'*').count();
    stars(mutated) > stars(original.as_bytes())
}

#[test]
fn mutated_network_files_never_panic_the_loader() {
    let started = Instant::now();
    let mut rng = Rng::new(seed() ^ 0x6d75_7461);
    let mut bench = Bench::new("mutations");
    let seeds: Vec<(&str, String, String)> = seed_files()
        .into_iter()
        .map(|(sub, p)| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (sub, name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    // Sub-networks, and a file of the same directory that includes each.
    let includes: Vec<(usize, usize)> = seeds
        .iter()
        .enumerate()
        .flat_map(|(s, (sub, name, _))| {
            let pat = format!("network: \"{name}\"");
            seeds
                .iter()
                .enumerate()
                .filter(move |(_, (sub2, _, text))| sub2 == sub && text.contains(&pat))
                .map(move |(i, _)| (s, i))
        })
        .collect();
    assert!(!includes.is_empty(), "farm_main.ron includes farm.ron");
    let cases = env_or("OCCAMY_FUZZ_CASES", 4000);
    let mut skipped = 0;
    for _ in 0..cases {
        let sets = random_sets(&mut rng);
        if rng.chance(4) {
            // Mutate a sub-network, included (as sub_mut.ron) by an unchanged file.
            let (s, i) = includes[rng.below(includes.len())];
            let (sub, sub_name, sub_text) = &seeds[s];
            let sub_mut = mutate(&mut rng, sub_text);
            if too_big(sub_text, &sub_mut) {
                skipped += 1;
                continue;
            }
            let parent = seeds[i].2.replace(
                &format!("network: \"{sub_name}\""),
                "network: \"sub_mut.ron\"",
            );
            bench.try_one(
                sub,
                parent.as_bytes(),
                Some(("sub_mut.ron", &sub_mut)),
                &sets,
            );
        } else {
            let (sub, _, text) = &seeds[rng.below(seeds.len())];
            let m = mutate(&mut rng, text);
            if too_big(text, &m) {
                skipped += 1;
                continue;
            }
            bench.try_one(sub, &m, None, &sets);
        }
    }
    eprintln!("loader_fuzz mutations: {skipped} inputs skipped as too big");
    bench.finish(started);
}

// ---------------------------------------------------------------------------------------
// Token soups

#[test]
fn token_soups_never_panic_the_loader() {
    let started = Instant::now();
    let mut rng = Rng::new(seed() ^ 0x736f_7570);
    let mut bench = Bench::new("soups");
    let cases = env_or("OCCAMY_FUZZ_CASES", 6000);
    for _ in 0..cases {
        let mut s = String::new();
        let wrapped = !rng.chance(4);
        if wrapped {
            s.push_str("Network(name: \"soup\", ");
        }
        for _ in 0..rng.below(40) {
            s.push_str(TOKENS[rng.below(TOKENS.len())]);
            if rng.chance(3) {
                s.push(' ');
            }
        }
        if wrapped && !rng.chance(3) {
            s.push(')');
        }
        bench.try_one("tests", s.as_bytes(), None, &[]);
    }
    bench.finish(started);
}

// ---------------------------------------------------------------------------------------
// Random networks: valid RON, anything else

/// An integer expression, shallow, with literals at the edges of i64.
fn expr(rng: &mut Rng, depth: u32) -> String {
    if depth == 0 || rng.chance(3) {
        return rng
            .pick(&[
                "0",
                "1",
                "2",
                "3",
                "7",
                "-1",
                "-1",
                "-1",
                "$n",
                "$i",
                "$k",
                "$zzz",
                "$label",
                "$f",
                "9223372036854775807",
                "(-9223372036854775807-1)",
                "(-9223372036854775807-1)",
                "4611686018427387904",
                "99999999999999999999",
                "",
                "$",
                "x",
            ])
            .to_string();
    }
    match rng.below(4) {
        0 => format!("({})", expr(rng, depth - 1)),
        1 => format!("-{}", expr(rng, depth - 1)),
        _ => format!(
            "{}{}{}",
            expr(rng, depth - 1),
            rng.pick(&["+", "-", "*", "/", "/", "%", "%", " ", "("]),
            expr(rng, depth - 1)
        ),
    }
}

/// A count: small whatever the params are (see the module doc).
fn small_count(rng: &mut Rng) -> String {
    rng.pick(&[
        "0",
        "1",
        "2",
        "3",
        "-1",
        "\"$n\"",
        "\"$n-1\"",
        "\"$n+1\"",
        "\"(2-$n)%4\"",
        "\"$label\"",
        "\"$zzz\"",
        "\"1/0\"",
        "\"$f\"",
        "\"$b\"",
        "2.5",
        "true",
        "\"\"",
        "()",
        "[]",
        "\"3\"",
    ])
    .to_string()
}

fn channel_names() -> [&'static str; 6] {
    ["a", "b", "c", "in", "out", "step"]
}

/// A channel reference, or something in its place.
fn chan_ref(rng: &mut Rng) -> String {
    let n = rng.pick(&channel_names());
    match rng.below(9) {
        0 | 1 => format!("\"{n}\""),
        2 | 3 => format!("\"{n}[{}]\"", expr(rng, 2)),
        4 => {
            let k = rng.below(4);
            let items: Vec<String> = (0..k).map(|_| chan_ref(rng)).collect();
            format!("[{}]", items.join(", "))
        }
        5 => format!("\"{n}[\""),
        6 => rng
            .pick(&["5", "()", "true", "\"\"", "[]", "{}", "\"[1]\""])
            .to_string(),
        7 => format!(
            "\"{n}\"",
            n = rng.pick(&["zz", "a ", " b", "c]", "a[0][1]"])
        ),
        _ => format!("\"{n}[$i]\""),
    }
}

/// A param value, or something in its place.
fn value(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => format!("\"{}\"", expr(rng, 3)),
        1 => small_count(rng),
        2 => rng
            .pick(&[
                "\"$n\"",
                "\"$label\"",
                "\"$f\"",
                "\"$b\"",
                "\"$list\"",
                "\"$ $n\"",
                "\"$n \"",
            ])
            .to_string(),
        3 => rng
            .pick(&[
                "\"text\"",
                "-5",
                "1.5",
                "-0.0",
                "18446744073709551615",
                "-9223372036854775808",
                "1e308",
                "true",
                "'c'",
                "(x: 1, y: 2)",
                "Some(3)",
                "None",
                "[1, \"$n\"]",
                "{ \"k\": \"$n\" }",
                "\"-\"",
                "\"/nonexistent/occamy/x\"",
            ])
            .to_string(),
        _ => rng.below(6).to_string(),
    }
}

fn random_network(rng: &mut Rng, kinds: &[(String, Vec<String>, Vec<String>)]) -> String {
    let mut s = String::from("Network(\n    name: \"random\",\n");
    if rng.chance(2) {
        s.push_str(
            "    params: { \"n\": 3, \"label\": \"x\", \"f\": 1.5, \"b\": true, \"list\": [1, 2] },\n",
        );
    }
    if rng.chance(3) {
        let bs: Vec<String> = (0..rng.below(3))
            .map(|_| format!("\"{}\"", rng.pick(&["step", "a", "sync", "step"])))
            .collect();
        let _ = writeln!(s, "    barriers: [{}],", bs.join(", "));
    }
    s.push_str("    channels: {\n");
    for _ in 0..rng.below(5) {
        let name = rng.pick(&channel_names());
        let ty = rng.pick(&[
            "u64", "u64", "i64", "f64", "String", "bool", "Vec<u8>", "u46", "T",
        ]);
        let spec = match rng.below(4) {
            0 => format!("\"{ty}\""),
            1 => format!("(type: \"{ty}\", count: {})", small_count(rng)),
            2 => format!(
                "(type: \"{ty}\", shared: {}, buffer: {})",
                rng.pick(&["true", "false", "\"yes\""]),
                small_count(rng)
            ),
            _ => rng
                .pick(&[
                    "(count: 2)",
                    "(type: \"u64\", cont: 1)",
                    "7",
                    "(\"u64\")",
                    "(type: 1)",
                ])
                .to_string(),
        };
        let _ = writeln!(s, "        \"{name}\": {spec},");
    }
    s.push_str("    },\n    processes: {\n");
    for p in 0..rng.below(6) {
        let mut fields = Vec::new();
        let (ports, params): (Vec<String>, Vec<String>) = if rng.chance(5) {
            let net = rng.pick(&[
                "worker.ron",
                "farm.ron",
                "../networks/farm.ron",
                "case.ron",
                "missing.ron",
                "cycle_a.ron",
                "",
            ]);
            fields.push(format!("network: \"{net}\""));
            (
                vec!["in".into(), "out".into(), "ot".into()],
                vec!["workers".into(), "n".into()],
            )
        } else {
            let (k, ports, params) = &kinds[rng.below(kinds.len())];
            let k = if rng.chance(10) {
                format!("{k}x")
            } else {
                k.clone()
            };
            fields.push(format!("kind: \"{k}\""));
            (ports.clone(), params.clone())
        };
        if rng.chance(4) {
            fields.push(format!(
                "replicate: (count: {}, index: \"{}\")",
                small_count(rng),
                rng.pick(&["i", "k", "n", "i"])
            ));
        }
        let mut ps = Vec::new();
        for k in params.iter().chain(["bogus".to_string()].iter()) {
            if (k == "bogus" && rng.chance(6)) || (k != "bogus" && !rng.chance(3)) {
                ps.push(format!("\"{k}\": {}", value(rng)));
            }
        }
        if !ps.is_empty() {
            fields.push(format!("params: {{ {} }}", ps.join(", ")));
        }
        let mut bs = Vec::new();
        for port in &ports {
            if !rng.chance(6) {
                bs.push(format!("\"{port}\": {}", chan_ref(rng)));
            }
        }
        fields.push(format!("ports: {{ {} }}", bs.join(", ")));
        let _ = writeln!(s, "        \"p{p}\": ({}),", fields.join(", "));
    }
    s.push_str("    },\n");
    if rng.chance(4) {
        let _ = writeln!(
            s,
            "    ports: {{ \"in\": (type: \"u64\", dir: {}, channel: \"{}\") }},",
            rng.pick(&["In", "Out"]),
            rng.pick(&channel_names())
        );
    }
    s.push_str(")\n");
    s
}

fn random_sets(rng: &mut Rng) -> Vec<(String, String)> {
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

#[test]
fn random_networks_never_panic_the_loader() {
    let started = Instant::now();
    let mut rng = Rng::new(seed() ^ 0x7261_6e64);
    let mut bench = Bench::new("random");
    let kinds: Vec<(String, Vec<String>, Vec<String>)> = bench
        .reg
        .kinds()
        .map(|k| {
            let ports = k
                .ports()
                .iter()
                .map(|p| p.name.clone())
                .chain(k.barrier_ports().iter().cloned())
                .chain(["inn".to_string()])
                .collect();
            let params = k.params().iter().map(|p| p.name.clone()).collect();
            (k.name().to_string(), ports, params)
        })
        .collect();
    let cases = env_or("OCCAMY_FUZZ_CASES", 6000);
    for _ in 0..cases {
        let text = random_network(&mut rng, &kinds);
        let sets = random_sets(&mut rng);
        bench.try_one("tests", text.as_bytes(), None, &sets);
    }
    bench.finish(started);
}

#[test]
fn the_generators_produce_what_they_should() {
    let toks = tokenize("Network(name: \"a b\", count: 12)");
    assert_eq!(
        toks,
        ["Network", "(", "name", ":", " ", "\"a b\"", ",", " ", "count", ":", " ", "12", ")"]
    );
    assert!(too_big("x", b"count: 1234567"));
    assert!(too_big("\"$n-1\"", b"\"$n*1\""));
    assert!(!too_big("\"$n\"", b"\"$n\" 50000"));
    let mut a = Rng::new(7);
    let mut b = Rng::new(7);
    assert_eq!(
        (0..5).map(|_| a.next()).collect::<Vec<_>>(),
        (0..5).map(|_| b.next()).collect::<Vec<_>>()
    );
}
