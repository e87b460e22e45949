//! `occamy run FILE --record T` (the recorder's start) and `occamy replay T`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{NetworkArgs, EXIT_INVALID, EXIT_OK};
use crate::graph::Graph;
use crate::network::{self, ChannelStats, Plan, ProcessStats};
use crate::registry::Registry;
use crate::runtime::Scheduler;
use crate::trace::{self, DeclaredChannel, DeclaredProcess, Header, Recorder, Replay};

/// Arguments of `occamy replay`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["summary", "viz"])))]
pub(super) struct ReplayArgs {
    /// The trace file (`occamy run FILE --record T` wrote it).
    trace: PathBuf,
    /// Print per channel how many messages it carried and per process how long it ran
    /// and how it ended: what `occamy run --stats` printed for the run (to stdout).
    #[arg(long)]
    summary: bool,
    /// Serve the live view of the recorded run at http://ADDR/ (HOST or HOST:PORT,
    /// default 127.0.0.1 and a free port), with a time slider, play/pause and step,
    /// until Ctrl-C (put it after T). It needs the network file the run was loaded from, unchanged.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1")]
    viz: Option<String>,
    /// Allow --viz on an address that is not loopback (the URL then carries a token).
    #[arg(long, requires = "viz")]
    viz_public: bool,
}

/// Starts recording the run of `plan` into `path`.
///
/// # Errors
/// The exit status when the file cannot be made (after saying why).
pub(super) fn record(
    path: &Path,
    net: &NetworkArgs,
    plan: &Plan,
    scheduler: Scheduler,
    values: bool,
) -> Result<Recorder, u8> {
    let header = Header {
        network: plan.name.clone(),
        file: Some(
            std::path::absolute(&net.file)
                .unwrap_or_else(|_| net.file.clone())
                .display()
                .to_string(),
        ),
        sets: net.sets.clone(),
        scheduler: match scheduler {
            Scheduler::Threads => "threads".into(),
            Scheduler::Green { .. } => "green".into(),
        },
        channels: plan
            .channels
            .iter()
            .map(|c| DeclaredChannel {
                name: c.name.clone(),
                ty: c.ty.to_string(),
            })
            .collect(),
        processes: plan
            .processes
            .iter()
            .map(|p| DeclaredProcess {
                name: p.name.clone(),
                kind: p.kind.to_string(),
            })
            .collect(),
        graph: Some(Graph::from_plan(plan).to_json()),
    };
    let started = if values {
        Recorder::start_with_values(path, header)
    } else {
        Recorder::start(path, header)
    };
    started.map_err(|e| {
        eprintln!("error: --record: {e}");
        EXIT_INVALID
    })
}

pub(super) fn replay(reg: &Registry, a: ReplayArgs) -> u8 {
    let t = match trace::open(&a.trace) {
        Ok(t) => t,
        Err(e) => {
            match e.offset {
                Some(_) => eprintln!("error: {}: {e}", a.trace.display()),
                None => eprintln!("error: {e}"),
            }
            eprintln!("  help: a trace is what `occamy run FILE --record T` writes");
            return EXIT_INVALID;
        }
    };
    let replay = Replay::new(t);
    if a.summary {
        let (channels, processes) = replay.summary();
        let channels: Vec<ChannelStats> = channels
            .into_iter()
            .map(|c| ChannelStats {
                name: c.name,
                ty: c.ty,
                carried: c.carried,
            })
            .collect();
        let processes: Vec<ProcessStats> = processes
            .into_iter()
            .map(|p| ProcessStats {
                name: p.name,
                kind: p.kind.into(),
                ran: p.ran,
                end: p.end,
            })
            .collect();
        super::write_stdout(&super::run::stats(&channels, &processes));
    }
    match &a.viz {
        Some(addr) => view(reg, &a, addr, replay),
        None => EXIT_OK,
    }
}

/// `--viz`: the view of the replay, until Ctrl-C.
fn view(reg: &Registry, a: &ReplayArgs, addr: &str, replay: Replay) -> u8 {
    let header = &replay.trace().header;
    let Some(file) = &header.file else {
        eprintln!(
            "error: {}: the trace names no network file, and the view needs its graph",
            a.trace.display()
        );
        return EXIT_INVALID;
    };
    let plan = match network::load(Path::new(file), &header.sets, reg) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            eprintln!(
                "error: {}: cannot load the network file it was recorded from ({file}), which the view needs",
                a.trace.display()
            );
            return EXIT_INVALID;
        }
    };
    let graph = Graph::from_plan(&plan);
    if header.graph.as_ref().is_some_and(|g| *g != graph.to_json()) {
        eprintln!(
            "error: {}: the network file {file} has changed since the run was recorded\n  help: record the run again",
            a.trace.display()
        );
        return EXIT_INVALID;
    }
    let viewer = match crate::viz::Viewer::replay(Arc::new(replay), graph)
        .public(a.viz_public)
        .bind(addr)
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: --viz: {e}");
            return EXIT_INVALID;
        }
    };
    eprintln!("viewing at {}", viewer.url());
    eprintln!("the view of the replay stays until Ctrl-C");
    let (tx, rx) = std::sync::mpsc::channel();
    if ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .is_err()
    {
        eprintln!("error: cannot catch Ctrl-C: the view would never stop");
        return super::EXIT_FAILURE;
    }
    let _ = rx.recv();
    drop(viewer);
    EXIT_OK
}
