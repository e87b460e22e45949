//! `occamy check FILE`.

use super::{NetworkArgs, EXIT_INVALID, EXIT_OK};
use crate::registry::Registry;

/// Arguments of `occamy check`.
#[derive(clap::Args, Debug)]
pub(super) struct CheckArgs {
    #[command(flatten)]
    net: NetworkArgs,
}

pub(super) fn check(reg: &Registry, a: CheckArgs) -> u8 {
    match crate::network::load(&a.net.file, &a.net.sets, reg) {
        Ok(plan) => {
            super::write_stdout(&format!("ok: {}\n", plan.summary()));
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_INVALID
        }
    }
}
