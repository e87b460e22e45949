//! `occamy kinds [NAME]`.

use super::{EXIT_INVALID, EXIT_OK};
use crate::registry::Registry;

/// Arguments of `occamy kinds`.
#[derive(clap::Args, Debug)]
pub(super) struct KindsArgs {
    /// Show this kind in full.
    name: Option<String>,
}

pub(super) fn kinds(reg: &Registry, a: KindsArgs) -> u8 {
    match a.name {
        Some(name) => match reg.kind(&name) {
            Some(k) => {
                print!("{k}");
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
                let ports: Vec<String> = k
                    .ports()
                    .iter()
                    .map(|p| {
                        format!(
                            "{} {}{}{}",
                            p.dir,
                            p.name,
                            if p.array { "[]" } else { "" },
                            if p.ty == "T" {
                                String::new()
                            } else {
                                format!(":{}", p.ty)
                            }
                        )
                    })
                    .collect();
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
                println!(
                    "{:<12} ports: {:<26} params: {:<24} {}",
                    k.name(),
                    ports.join(", "),
                    params.join(", "),
                    k.doc()
                );
            }
            println!(
                "\ntypes: {}",
                reg.type_names().collect::<Vec<_>>().join(", ")
            );
            EXIT_OK
        }
    }
}
