//! `occamy check FILE [--json]`.

use super::{NetworkArgs, EXIT_INVALID, EXIT_OK};
use crate::network::Diagnostic;
use crate::registry::Registry;

/// Arguments of `occamy check`.
#[derive(clap::Args, Debug)]
pub(super) struct CheckArgs {
    #[command(flatten)]
    net: NetworkArgs,
    /// Print the result as JSON on stdout, for editors: `{"ok", "summary", "diagnostics":
    /// [{"file", "line", "column", "code", "context", "message", "help"}]}` (line, column
    /// and help may be null). The exit status is the same as without.
    #[arg(long)]
    json: bool,
}

pub(super) fn check(reg: &Registry, a: CheckArgs) -> u8 {
    let result = crate::network::load(&a.net.file, &a.net.sets, reg);
    if a.json {
        let (summary, diags) = match &result {
            Ok(plan) => (Some(plan.summary()), &[][..]),
            Err(e) => (None, &e.diagnostics[..]),
        };
        let doc = serde_json::json!({
            "ok": result.is_ok(),
            "summary": summary,
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
