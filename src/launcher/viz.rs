//! `occamy run FILE --viz [ADDR]`: the live web view of the run (see `occamy::viz` and
//! docs/viewer.md).

use std::sync::mpsc::Receiver;

use super::EXIT_INVALID;
use crate::graph::Graph;
use crate::network::Plan;
use crate::observe::Watch;
use crate::runtime::Runtime;
use crate::viz::Viewer;

/// The `--viz` arguments of `occamy run`.
#[derive(clap::Args, Debug)]
pub(super) struct VizArgs {
    /// Serve a live view of the run in a browser at http://ADDR/ (ADDR: HOST or
    /// HOST:PORT, default 127.0.0.1 and a free port; put it after FILE). The view stays
    /// after the network ends, until Ctrl-C.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1")]
    pub(super) viz: Option<String>,
    /// Allow --viz on an address that is not loopback (reachable from other machines):
    /// the URL then carries a random token, and requests without it get 403.
    #[arg(long, requires = "viz")]
    viz_public: bool,
    /// With --viz: exit when the network ends instead of keeping the view until Ctrl-C.
    #[arg(long, requires = "viz")]
    viz_exit: bool,
}

/// Starts the view if asked, on `watch`: prints where, and returns the runtime that feeds
/// it.
///
/// # Errors
/// The exit status when the view cannot start (a bad or refused address).
pub(super) fn start(
    a: &VizArgs,
    plan: &Plan,
    runtime: Runtime,
    watch: &Watch,
) -> Result<(Runtime, Option<Viewer>), u8> {
    let Some(addr) = &a.viz else {
        return Ok((runtime, None));
    };
    let viewer = Viewer::options(watch)
        .graph(Graph::from_plan(plan))
        .public(a.viz_public)
        .bind(addr)
        .map_err(|e| {
            eprintln!("error: --viz: {e}");
            EXIT_INVALID
        })?;
    if !viewer.addr().ip().is_loopback() {
        eprintln!(
            "warning: the view is reachable from other machines at {}; anyone with its URL (and token) can read it",
            viewer.addr()
        );
    }
    eprintln!("viewing at {}", viewer.url());
    Ok((runtime.watch(watch), Some(viewer)))
}

/// After the run: keeps the view up until Ctrl-C (unless `--viz-exit`, or the run was
/// itself interrupted), then stops it.
pub(super) fn linger(a: &VizArgs, viewer: Option<Viewer>, interrupted: &Receiver<()>, code: u8) {
    let Some(viewer) = viewer else { return };
    if a.viz_exit || code == super::EXIT_INTERRUPTED {
        return;
    }
    eprintln!(
        "the network has ended (exit status {code}); the view stays at {} until Ctrl-C",
        viewer.url()
    );
    // Returns at Ctrl-C, or at once if this program could not install the handler.
    let _ = interrupted.recv();
}
