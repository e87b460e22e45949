//! The `occamy` command line: `run`, `check`, `kinds` and `dot` on declared networks,
//! `replay` on a recorded run.
//!
//! A user's own binary registers its kinds and hands the registry to [`main_with`]:
//! ```no_run
//! use std::process::ExitCode;
//! fn main() -> ExitCode {
//!     let mut registry = occamy::network::Registry::with_builtins();
//!     // registry.register(occamy::network::Kind::new("mykind", "...")...);
//!     occamy::launcher::main_with(registry)
//! }
//! ```
//! Exit codes: 0 when every process ended normally (including by poison or retirement),
//! 1 on a process failure or a `--timeout`, 2 on an invalid network file or usage,
//! 3 on deadlock, 130 when interrupted by Ctrl-C.
//! `occamy dot` exits 1 when it cannot write its output or Graphviz (for `--svg`) fails
//! (where it is missing, `--svg` lays the graph out itself). `occamy replay` exits 2 on a
//! trace it cannot read (or, with `--viz`, a network file it cannot load), 0 otherwise.

mod check;
mod dot;
mod kinds;
mod replay;
mod run;
#[cfg(unix)]
mod top;
#[cfg(feature = "viz")]
mod viz;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::registry::Registry;

/// Exit status: every process ended normally.
pub const EXIT_OK: u8 = 0;
/// Exit status: a process failed, or the run timed out.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: invalid network file or usage.
pub const EXIT_INVALID: u8 = 2;
/// Exit status: the network deadlocked.
pub const EXIT_DEADLOCK: u8 = 3;
/// Exit status: interrupted (Ctrl-C).
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Parser, Debug)]
#[command(
    name = "occamy",
    version,
    about = "Check and run CSP process networks declared in RON files"
)]
struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check, wire and run a network file.
    Run(run::RunArgs),
    /// Check a network file without running it.
    Check(check::CheckArgs),
    /// List the process kinds, or show one.
    Kinds(kinds::KindsArgs),
    /// Draw a network file's process graph (Graphviz DOT, SVG or JSON).
    Dot(dot::DotArgs),
    /// Show a run recorded with `occamy run FILE --record T` again: its summary, or the
    /// live view with a time slider.
    Replay(replay::ReplayArgs),
}

/// A `NAME=VALUE` param override.
fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

/// Where to find the network file and how to override its params.
#[derive(clap::Args, Debug)]
struct NetworkArgs {
    /// The network file (.ron).
    file: PathBuf,
    /// Override a param of the network: NAME=VALUE (VALUE in RON syntax; a bare word is a string).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    sets: Vec<(String, String)>,
}

/// `--ranks N`: how many MPI ranks to place the network on (for `check` and `dot`; under
/// MPI, `run` takes the world size).
#[derive(clap::Args, Debug)]
struct RanksArg {
    /// Place the network on N MPI ranks ($ranks in the file; default 1) and check each
    /// process's rank.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=MAX_RANKS))]
    ranks: u32,
}

/// The most ranks `--ranks` accepts: more than any MPI job occamy is meant for, and a
/// bound on what a mistaken number costs `occamy dot`'s legend.
const MAX_RANKS: i64 = 1 << 16;

impl NetworkArgs {
    /// The loader's options: these overrides, placed on `ranks` ranks.
    fn options(&self, ranks: u32) -> crate::network::LoadOptions {
        crate::network::LoadOptions {
            sets: self.sets.clone(),
            ranks,
        }
    }
}

/// Runs the command line from the process's arguments with `registry`.
pub fn main_with(registry: Registry) -> ExitCode {
    main_from(registry, std::env::args_os())
}

/// Runs the command line from `args` (the first is the program name) with `registry`.
pub fn main_from<I, T>(registry: Registry, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                EXIT_INVALID
            } else {
                EXIT_OK
            });
        }
    };
    init_logging(cli.verbose);
    let code = match cli.command {
        Command::Run(a) => run::run(&registry, a),
        Command::Check(a) => check::check(&registry, a),
        Command::Kinds(a) => kinds::kinds(&registry, a),
        Command::Dot(a) => dot::dot(&registry, a),
        Command::Replay(a) => replay::replay(&registry, a),
    };
    ExitCode::from(code)
}

/// Writes to stdout; a closed pipe (`occamy kinds | head`) is not an error worth a
/// panic, so write errors are ignored.
pub(crate) fn write_stdout(s: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes()).and_then(|()| o.flush());
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
