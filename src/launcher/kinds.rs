//! `occamy kinds [NAME]`.

use super::{EXIT_INVALID, EXIT_OK};
use crate::registry::Registry;

/// Arguments of `occamy kinds`.
#[derive(clap::Args, Debug)]
pub(super) struct KindsArgs {
    /// Show this kind in full.
    name: Option<String>,
}

/// Appends a formatted line to a `String` (writing to a `String` cannot fail).
macro_rules! outln {
    ($out:ident, $($t:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($t)*);
    }};
}

macro_rules! outf {
    ($out:ident, $($t:tt)*) => {{
        use std::fmt::Write as _;
        let _ = write!($out, $($t)*);
    }};
}

pub(super) fn kinds(reg: &Registry, a: KindsArgs) -> u8 {
    let mut out = String::new();
    let code = list(reg, a, &mut out);
    super::write_stdout(&out);
    code
}

fn list(reg: &Registry, a: KindsArgs, out: &mut String) -> u8 {
    match a.name {
        Some(name) => match reg.kind(&name) {
            Some(k) => {
                outf!(out, "{k}");
                EXIT_OK
            }
            None => {
                let s = crate::network::suggest(&name, reg.kinds().map(|k| k.name()));
                eprintln!(
                    "error: unknown kind `{name}`{s}\n  help: `occamy kinds` lists the kinds"
                );
                EXIT_INVALID
            }
        },
        None => {
            for k in reg.kinds() {
                let mut ports: Vec<String> = k
                    .ports()
                    .iter()
                    .map(|p| format!("{}{}: {}", p.name, if p.array { "[]" } else { "" }, p.ty))
                    .collect();
                ports.extend(k.barrier_ports().iter().map(|b| format!("{b}: barrier")));
                let params: Vec<String> = k
                    .params()
                    .iter()
                    .map(|p| {
                        if p.default.is_some() {
                            format!("{}?", p.name)
                        } else {
                            p.name.clone()
                        }
                    })
                    .collect();
                outln!(out, "{:<12} {}", k.name(), k.doc());
                outln!(out, "{:<12} ports: {}", "", ports.join(", "));
                if !params.is_empty() {
                    let optional = params.iter().any(|p| p.ends_with('?'));
                    let note = if optional { " (? = optional)" } else { "" };
                    outln!(out, "{:<12} params: {}{note}", "", params.join(", "));
                }
            }
            outln!(
                out,
                "\ntypes: {}",
                reg.type_names().collect::<Vec<_>>().join(", ")
            );
            EXIT_OK
        }
    }
}
