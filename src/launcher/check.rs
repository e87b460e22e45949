//! `occamy check FILE [--ranks N] [--json]`.

use super::{NetworkArgs, RanksArg, EXIT_INVALID, EXIT_OK};
use crate::network::Diagnostic;
use crate::registry::Registry;

/// Arguments of `occamy check`.
#[derive(clap::Args, Debug)]
pub(super) struct CheckArgs {
    #[command(flatten)]
    net: NetworkArgs,
    #[command(flatten)]
    ranks: RanksArg,
    /// Print the result as JSON on stdout, for editors: `{"ok", "summary", "ranks",
    /// "diagnostics": [{"file", "line", "column", "code", "context", "message", "help"}]}`
    /// (summary, line, column and help may be null). The exit status is the same as without.
    #[arg(long)]
    json: bool,
}

pub(super) fn check(reg: &Registry, a: CheckArgs) -> u8 {
    let result = crate::network::load_with(&a.net.file, &a.net.options(a.ranks.ranks), reg);
    // The text after `ok: `, the placement's spread included when there are several ranks.
    let summary = result.as_ref().ok().map(|plan| {
        let placed = if plan.ranks() > 1 {
            placement_summary(plan)
        } else {
            String::new()
        };
        format!("{}{placed}", plan.summary())
    });
    if a.json {
        let diags = match &result {
            Ok(_) => &[][..],
            Err(e) => &e.diagnostics[..],
        };
        let doc = serde_json::json!({
            "ok": result.is_ok(),
            "summary": summary,
            "ranks": a.ranks.ranks,
            "diagnostics": diags.iter().map(json_of).collect::<Vec<_>>(),
        });
        super::write_stdout(&format!("{doc:#}\n"));
        return if result.is_ok() {
            EXIT_OK
        } else {
            EXIT_INVALID
        };
    }
    match result {
        Ok(_) => {
            let summary = summary.unwrap_or_default();
            super::write_stdout(&format!("ok: {summary}\n"));
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_INVALID
        }
    }
}

/// One diagnostic as `occamy check --json` gives it.
pub(super) fn json_of(d: &Diagnostic) -> serde_json::Value {
    serde_json::json!({
        "file": d.file.display().to_string(),
        "line": d.pos.map(|p| p.0),
        "column": d.pos.map(|p| p.1),
        "code": d.code,
        "context": d.context,
        "message": d.message,
        "help": d.help,
    })
}

/// `; placed on 3 ranks (4 + 2 + 2 processes), 2 channels between ranks` (`2 channels
/// and 1 barrier`, when a barrier's parties are on several ranks): how the processes
/// spread, for a run on several ranks (the counts only for a few ranks).
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
    // Barriers only when some cross: the line reads as before for every other network.
    let barriers = plan
        .barriers
        .iter()
        .filter(|b| b.ranks(|p| plan.processes[p].rank).len() > 1)
        .count();
    let b = match barriers {
        0 => String::new(),
        1 => " and 1 barrier".into(),
        n => format!(" and {n} barriers"),
    };
    format!("; placed on {ranks} ranks{counts}, {cross} channel{s}{b} between ranks")
}
