//! `occamy dot FILE`: the network's graph as Graphviz DOT (or JSON, or SVG through
//! Graphviz), and the graphs `occamy run --dot` writes.
//!
//! Exit status: 0 when the graph was written; 2 on an invalid network file or usage;
//! 1 when an output file cannot be written or Graphviz (`dot`, for `--svg`) fails. Where
//! Graphviz is missing, `--svg` writes occamy's own layout ([`Graph::to_svg`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{NetworkArgs, RanksArg, EXIT_FAILURE, EXIT_INVALID, EXIT_OK};
use crate::deadlock::DeadlockReport;
use crate::graph::{DotOptions, Graph};
use crate::network::{self, ChannelStats, Plan, ProcessStats, RunReport};
use crate::registry::Registry;

/// Arguments of `occamy dot`.
#[derive(clap::Args, Debug)]
pub(super) struct DotArgs {
    #[command(flatten)]
    net: NetworkArgs,
    #[command(flatten)]
    ranks: RanksArg,
    /// Write the graph to OUT instead of stdout.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Draw each group of replicated processes (node[0], node[1], ...) as one node, and
    /// the channels between such groups as one edge with their count.
    #[arg(long)]
    collapse: bool,
    /// Also render the graph as SVG to OUT.svg: with Graphviz's `dot` where it is
    /// installed ($OCCAMY_DOT names another program), else laid out by occamy itself
    /// (also with OCCAMY_LAYOUT=builtin). Without -o, no DOT is printed.
    #[arg(long, value_name = "OUT.svg")]
    svg: Option<PathBuf>,
    /// Write the graph as JSON (schema occamy-graph/1) instead of DOT.
    #[arg(long)]
    json: bool,
}

pub(super) fn dot(reg: &Registry, a: DotArgs) -> u8 {
    let plan = match network::load_with(&a.net.file, &a.net.options(a.ranks.ranks), reg) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_INVALID;
        }
    };
    let graph = Graph::from_plan(&plan);
    let dot = graph.to_dot(&DotOptions {
        collapse_replicated: a.collapse,
    });
    let text = if a.json { graph.to_json() } else { dot.clone() };
    match (&a.output, &a.svg) {
        (Some(out), _) => {
            if let Err(e) = std::fs::write(out, &text) {
                eprintln!("error: cannot write {}: {e}", out.display());
                return EXIT_FAILURE;
            }
        }
        (None, None) => {
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return EXIT_FAILURE;
            }
        }
        (None, Some(_)) => {}
    }
    if let Some(svg) = &a.svg {
        let own = || {
            graph.to_svg(&DotOptions {
                collapse_replicated: a.collapse,
            })
        };
        if let Err(e) = render_svg(&dot, own, svg) {
            eprintln!("{e}");
            return EXIT_FAILURE;
        }
    }
    EXIT_OK
}

/// The Graphviz program to run: `$OCCAMY_DOT`, else `dot`.
fn dot_program() -> std::ffi::OsString {
    std::env::var_os("OCCAMY_DOT")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "dot".into())
}

/// Renders `dot` to the SVG file `out` with Graphviz, or where Graphviz is missing (or
/// `OCCAMY_LAYOUT=builtin` asks for it) writes occamy's own rendering, `own()`.
///
/// # Errors
/// A message saying what went wrong: Graphviz failing (with what it said), or the file
/// not written.
fn render_svg(dot: &str, own: impl FnOnce() -> String, out: &Path) -> Result<(), String> {
    let write_own = |svg: String| {
        std::fs::write(out, svg).map_err(|e| format!("error: cannot write {}: {e}", out.display()))
    };
    if std::env::var("OCCAMY_LAYOUT").as_deref() == Ok("builtin") {
        return write_own(own());
    }
    let program = dot_program();
    let shown = program.to_string_lossy().into_owned();
    let spawned = Command::new(&program)
        .arg("-Tsvg")
        .arg("-o")
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!("`{shown}` not found: occamy lays the graph out itself");
            return write_own(own());
        }
        Err(e) => return Err(format!("error: cannot run `{shown}`: {e}")),
    };
    // Write on another thread: Graphviz may fill its stderr pipe before reading all of
    // its input.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = dot.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|e| format!("error: `{shown}` did not finish: {e}"))?;
    let written = writer.join().unwrap_or(Ok(()));
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "error: `{shown} -Tsvg` failed ({}){}{}",
            output.status,
            if said.trim().is_empty() { "" } else { ":\n" },
            said.trim_end()
        ));
    }
    written.map_err(|e| format!("error: cannot send the graph to `{shown}`: {e}"))
}

/// Writes the graph of `plan` after a run, annotated with its report (messages per
/// channel, how each process ended, the deadlock if any), as DOT to `path`.
///
/// # Errors
/// The file cannot be written.
pub(super) fn write_run_dot(plan: &Plan, report: &RunReport, path: &Path) -> Result<(), String> {
    let mut graph = Graph::from_plan(plan);
    graph.annotate_run(report);
    write_graph(&graph, path)
}

/// Writes the graph of `plan` after a run that was stopped (`what`: timed out,
/// interrupted), annotated with what was known then.
///
/// # Errors
/// The file cannot be written.
pub(super) fn write_stopped_dot(
    plan: &Plan,
    (channels, processes): (&[ChannelStats], &[ProcessStats]),
    deadlock: Option<&DeadlockReport>,
    what: &str,
    path: &Path,
) -> Result<(), String> {
    let mut graph = Graph::from_plan(plan);
    graph.annotate_stats(channels, processes);
    graph.add_note(what);
    if let Some(d) = deadlock {
        graph.annotate_deadlock(d);
    }
    write_graph(&graph, path)
}

pub(super) fn write_graph(graph: &Graph, path: &Path) -> Result<(), String> {
    std::fs::write(path, graph.to_dot(&DotOptions::default()))
        .map_err(|e| format!("error: cannot write the graph to {}: {e}", path.display()))
}
