//! `occamy kinds [NAME] [--json]`.

use serde_json::{json, Value as Json};

use super::{EXIT_INVALID, EXIT_OK};
use crate::registry::{Kind, ParamType, PortDir, Registry};

/// Arguments of `occamy kinds`.
#[derive(clap::Args, Debug)]
pub(super) struct KindsArgs {
    /// Show this kind in full.
    name: Option<String>,
    /// Print the catalogue (or the one kind) as JSON, for editors and GUIs: every kind
    /// with its ports, barrier ports and params, and the registered types.
    #[arg(long)]
    json: bool,
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
            Some(k) if a.json => {
                outln!(out, "{:#}", kind_json(k));
                EXIT_OK
            }
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
        None if a.json => {
            let doc = json!({
                "kinds": reg.kinds().map(kind_json).collect::<Vec<_>>(),
                "types": reg.type_names().collect::<Vec<_>>(),
            });
            outln!(out, "{doc:#}");
            EXIT_OK
        }
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

/// One kind as `occamy kinds --json` describes it. The shape is documented in
/// docs/network-format.md ("The kind catalogue as JSON"); tests/kinds_catalogue.rs reads
/// it back.
fn kind_json(k: &Kind) -> Json {
    let type_param = if k.is_numeric() {
        json!({ "name": "T", "types": "numeric" })
    } else if k.is_generic() {
        json!({ "name": "T", "types": "any" })
    } else {
        Json::Null
    };
    let ports: Vec<Json> = k
        .ports()
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "dir": match p.dir { PortDir::In => "in", PortDir::Out => "out" },
                "type": p.ty,
                "array": p.array,
            })
        })
        .collect();
    let params: Vec<Json> = k
        .params()
        .iter()
        .map(|p| {
            // `()` as a default marks a param that may be left out and has no value then.
            let default = match &p.default {
                None | Some(ron::Value::Unit) => Json::Null,
                Some(v) => serde_json::to_value(v)
                    .unwrap_or_else(|_| Json::String(crate::registry::show_value(v))),
            };
            json!({
                "name": p.name,
                "type": param_type(p.ty),
                "required": p.default.is_none(),
                "default": default,
                "doc": p.doc,
            })
        })
        .collect();
    json!({
        "name": k.name(),
        "doc": k.doc(),
        "type_param": type_param,
        "ports": ports,
        "barriers": k.barrier_ports(),
        "params": params,
    })
}

/// A param type's name in the JSON catalogue: stable identifiers, not prose.
fn param_type(t: ParamType) -> &'static str {
    match t {
        ParamType::Int => "int",
        ParamType::UInt => "uint",
        ParamType::Float => "float",
        ParamType::Bool => "bool",
        ParamType::Str => "string",
        ParamType::Elem => "T",
        ParamType::Any => "any",
    }
}
