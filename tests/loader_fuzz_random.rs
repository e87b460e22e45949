//! No random network makes the loader panic: networks that are valid RON but anything
//! else (random kinds, ports, params, channel declarations, replicators, sub-network
//! includes of real files, of missing ones and of the file itself, integer expressions at
//! the edges of `i64`). The third generator of tests/loader_fuzz.rs (whose header says what
//! the fuzzing leaves out); `OCCAMY_FUZZ_SEED` and `OCCAMY_FUZZ_CASES` apply here too.

#[path = "support/fuzz.rs"]
mod fuzz;

use std::fmt::Write as _;
use std::time::Instant;

use fuzz::{env_or, random_sets, seed, Bench, Rng};

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
