//! What the benchmarks share: sizes from the environment, time, and how figures are shown.

// Each benchmark uses its own subset.
#![allow(dead_code)]

use std::time::Instant;

/// Nanoseconds since `t0`.
pub fn ns_since(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64() * 1e9
}

/// The number in environment variable `name`, or `default` if it is not set.
pub fn env_num<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{name}={s:?} is not a number")),
        Err(_) => Ok(default),
    }
}

pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[m]),
        _ => Some((v[m - 1] + v[m]) / 2.0),
    }
}

/// `[min..max]` of the rounds.
pub fn spread(xs: &[f64]) -> String {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if xs.is_empty() {
        String::new()
    } else {
        format!("[{lo:.0}..{hi:.0}]")
    }
}

pub fn show(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{x:.0}"))
}
