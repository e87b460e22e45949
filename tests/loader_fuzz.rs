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
//! `OCCAMY_FUZZ_SEED` and `OCCAMY_FUZZ_CASES` (per generator) override the defaults. The
//! third generator is in tests/loader_fuzz_random.rs, the harness in tests/support/fuzz.rs.

#[path = "support/fuzz.rs"]
mod fuzz;

use std::time::Instant;

use fuzz::{env_or, random_sets, seed, seed_files, Bench, Rng};

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
