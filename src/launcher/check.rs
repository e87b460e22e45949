//! `occamy check FILE`.

use super::{NetworkArgs, RanksArg, EXIT_INVALID, EXIT_OK};
use crate::registry::Registry;

/// Arguments of `occamy check`.
#[derive(clap::Args, Debug)]
pub(super) struct CheckArgs {
    #[command(flatten)]
    net: NetworkArgs,
    #[command(flatten)]
    ranks: RanksArg,
}

pub(super) fn check(reg: &Registry, a: CheckArgs) -> u8 {
    match crate::network::load_with(&a.net.file, &a.net.options(a.ranks.ranks), reg) {
        Ok(plan) => {
            let placed = if plan.ranks() > 1 {
                placement_summary(&plan)
            } else {
                String::new()
            };
            super::write_stdout(&format!("ok: {}{placed}\n", plan.summary()));
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_INVALID
        }
    }
}

/// `; placed on 3 ranks (4 + 2 + 2 processes), 2 channels between ranks`: how the
/// processes spread, for a run on several ranks (the counts only for a few ranks).
fn placement_summary(plan: &crate::network::Plan) -> String {
    let ranks = plan.ranks();
    let counts = if ranks <= 16 {
        let mut n = vec![0usize; ranks as usize];
        for p in &plan.processes {
            n[p.rank as usize] += 1;
        }
        let n: Vec<String> = n.iter().map(usize::to_string).collect();
        format!(" ({} processes)", n.join(" + "))
    } else {
        String::new()
    };
    let cross = plan.cross_rank_channels().count();
    let s = if cross == 1 { "" } else { "s" };
    format!("; placed on {ranks} ranks{counts}, {cross} channel{s} between ranks")
}
