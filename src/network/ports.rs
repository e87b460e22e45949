//! A top-level network's open ports: the values a program feeds its `In` ports
//! ([`RunOptions::feed`]) and the processes that feed them and collect what arrives on its
//! `Out` ports (under the port's name, read back with [`RunReport::values`](super::RunReport::values)).

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use super::values::{short_type_name, Collected};
use super::{codes, suggest, Diagnostic, LoadOptions, OpenPort, Plan};
use crate::channel::Sender;
use crate::registry::{Bound, BuildCtx, Kind, PortDir, Registry};
use crate::runtime::Process;

/// Builds the process that feeds one input port, from the writing end of its channel
/// (which the caller has checked is a `Sender<T>`) and the port's name.
type FeedFn = Box<dyn FnOnce(Box<dyn Any + Send>, String) -> Process + Send>;

/// The values for one input port.
pub(crate) struct Feed {
    pub(crate) port: String,
    /// `Sender<T>`'s, to check the port's channel against before anything is built.
    sender: TypeId,
    type_name: &'static str,
    build: FeedFn,
}

/// How [`run_file_with`](super::run_file_with) runs a network file: how to load it (a
/// [`LoadOptions`]: overrides of its params, as `occamy run --set` gives them, and the
/// number of MPI ranks to place it on), and the values to feed its open input ports.
///
/// A top-level network's `ports:` (declared as a sub-network declares its exports) leave
/// channels open: each `dir: In` port is written by the program (the values given to
/// [`feed`](RunOptions::feed), then retired; a port not fed is retired at once), each
/// `dir: Out` port is read by it (every value that arrives, in order, kept under the
/// port's name for [`RunReport::values`](super::RunReport::values)).
///
/// # Examples
/// ```
/// use occamy::network::{self, Registry, RunOptions};
/// # let dir = std::env::temp_dir().join(format!("occamy-doc-run-options-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join("prefixed.ron");
/// std::fs::write(&file, r#"Network(
///     name: "prefixed",
///     params: { "first": 0 },
///     channels: { "in": "u64", "out": "u64" },
///     processes: {
///         "pre": (kind: "prefix", params: { "value": "$first" }, ports: { "in": "in", "out": "out" }),
///     },
///     ports: {
///         "in":  (type: "u64", dir: In,  channel: "in"),
///         "out": (type: "u64", dir: Out, channel: "out"),
///     },
/// )"#).unwrap();
/// let options = RunOptions::new().set("first", "10").feed("in", vec![1u64, 2, 3]);
/// let report = network::run_file_with(&file, options, &Registry::with_builtins()).unwrap();
/// assert!(report.result.is_ok());
/// assert_eq!(report.values::<u64>("out").unwrap(), [10, 1, 2, 3]);
/// // Asked for as another type, the values are an error naming the port and both types.
/// assert_eq!(
///     report.values::<i64>("out").unwrap_err().to_string(),
///     "port `out` hands back values of type `u64`, not `i64`"
/// );
/// ```
#[derive(Default)]
pub struct RunOptions {
    pub(crate) load: LoadOptions,
    pub(crate) feeds: Vec<Feed>,
}

impl fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let feeds: Vec<String> = self
            .feeds
            .iter()
            .map(|fd| format!("{} <- {}", fd.port, short_type_name(fd.type_name)))
            .collect();
        f.debug_struct("RunOptions")
            .field("load", &self.load)
            .field("feeds", &feeds)
            .finish()
    }
}

impl RunOptions {
    /// No overrides and nothing to feed.
    pub fn new() -> RunOptions {
        RunOptions::default()
    }

    /// Overrides param `name` of the top-level network with `value`, in RON syntax (a
    /// bare word is a string), as `occamy run --set NAME=VALUE` does.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> RunOptions {
        self.load.sets.push((name.into(), value.into()));
        self
    }

    /// Loads the network as `load` says ([`load_with`](super::load_with)): its overrides
    /// and number of ranks replace those given so far. Without it, the network is loaded
    /// on one rank, with the overrides of [`set`](RunOptions::set).
    ///
    /// Placement decides only [`PlanProcess::rank`](super::PlanProcess::rank) (and checks
    /// every `rank:`): [`run_file_with`](super::run_file_with) runs every process in this
    /// program whatever its rank.
    ///
    /// # Examples
    /// ```
    /// use occamy::network::{LoadOptions, RunOptions};
    /// let load = LoadOptions { sets: vec![("n".into(), "4".into())], ranks: 2 };
    /// let options = RunOptions::new().load(load).set("m", "1");
    /// assert_eq!(options.load_options().ranks, 2);
    /// assert_eq!(options.load_options().sets.len(), 2);
    /// ```
    pub fn load(mut self, load: LoadOptions) -> RunOptions {
        self.load = load;
        self
    }

    /// How the network will be loaded: the overrides and number of ranks given so far.
    ///
    /// # Examples
    /// ```
    /// let options = occamy::network::RunOptions::new().set("n", "4");
    /// assert_eq!(options.load_options().sets, [("n".to_string(), "4".to_string())]);
    /// assert_eq!(options.load_options().ranks, 1);
    /// ```
    pub fn load_options(&self) -> &LoadOptions {
        &self.load
    }

    /// Feeds `values` to the network's input port `port`: a process sends them on the
    /// port's channel, in order, then retires it. The values must be of the type the
    /// port's channel carries (`u64` for `"u64"`, `String` for `"String"`, a registered
    /// type's Rust type); feeding a name that is no input port of the network, or values
    /// of another type, makes the run an error before anything starts. The iterator is
    /// run by the feeding process, so it should not block; feeding a port twice feeds the
    /// later values only.
    ///
    /// # Examples
    /// See [`RunOptions`].
    pub fn feed<T, I>(mut self, port: impl Into<String>, values: I) -> RunOptions
    where
        T: Send + 'static,
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        let port = port.into();
        let values = values.into_iter();
        let build: FeedFn = Box::new(move |end, name| {
            let tx = *end
                .downcast::<Sender<T>>()
                .expect("the port's end is checked before it is fed");
            Process::new_async(name, async move {
                for v in values {
                    tx.send_async(v).await?;
                }
                tx.retire();
                Ok::<(), crate::Error>(())
            })
        });
        self.feeds.retain(|f| f.port != port);
        self.feeds.push(Feed {
            port,
            sender: TypeId::of::<Sender<T>>(),
            type_name: std::any::type_name::<T>(),
            build,
        });
        self
    }
}

/// Makes the feed of input port `port` from a RON list of values of the port's type.
pub(crate) type FeedRonFn = fn(RunOptions, &str, &ron::Value) -> Result<RunOptions, String>;

/// `options` feeding `port` the values of the RON list `list`, read as `T`s (what
/// `occamy run --feed PORT=[..]` gives).
pub(crate) fn feed_from_ron<T: Send + serde::de::DeserializeOwned + 'static>(
    options: RunOptions,
    port: &str,
    list: &ron::Value,
) -> Result<RunOptions, String> {
    let values: Vec<T> = list.clone().into_rust().map_err(|e| {
        let e = e.to_string();
        let mut c = e.chars();
        let e: String = c
            .next()
            .map(|f| f.to_lowercase().chain(c).collect())
            .unwrap_or_default();
        format!(
            "not a list of `{}`: {e}",
            short_type_name(std::any::type_name::<T>())
        )
    })?;
    Ok(options.feed(port, values))
}

/// The site of open port `port` of `plan`, for a diagnostic about it.
fn port_diag(
    plan: &Plan,
    port: Option<&OpenPort>,
    code: &'static str,
    message: String,
    help: Option<String>,
) -> Diagnostic {
    let site = port.and_then(|p| {
        plan.sites
            .exports
            .iter()
            .find(|e| e.prefix.is_empty() && e.ids.contains(&p.channel))
    });
    match site {
        Some(e) => e.site.diag(code, message, help),
        None => Diagnostic {
            file: plan.file.clone(),
            pos: None,
            code,
            context: vec![],
            message,
            help,
        },
    }
}

/// `plan`'s input port `name`, or the diagnostic for feeding a name that is none (listing
/// those it has).
pub(crate) fn input_port<'p>(plan: &'p Plan, name: &str) -> Result<&'p OpenPort, Box<Diagnostic>> {
    let inputs: Vec<&OpenPort> = plan.ports.iter().filter(|p| p.dir == PortDir::In).collect();
    if let Some(port) = inputs.iter().find(|p| p.name == name) {
        return Ok(port);
    }
    let s = suggest(name, inputs.iter().map(|p| p.name.as_str()));
    let help = if inputs.is_empty() {
        "the network has no input ports (top-level `ports` with `dir: In`)".to_string()
    } else {
        let names: Vec<String> = inputs.iter().map(|p| format!("`{}`", p.name)).collect();
        format!("its input ports are {}", names.join(", "))
    };
    let m = format!("network `{}` has no input port `{name}`{s}", plan.name);
    Err(Box::new(port_diag(
        plan,
        None,
        codes::FEED_UNKNOWN,
        m,
        Some(help),
    )))
}

/// Checks `feeds` against `plan`'s input ports: every name fed is one, and (given the
/// writing ends' types of its channels, by channel) of the type fed.
pub(crate) fn check_feeds(
    plan: &Plan,
    feeds: &[Feed],
    end_type: impl Fn(usize) -> Option<TypeId>,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for f in feeds {
        let port = match input_port(plan, &f.port) {
            Ok(p) => p,
            Err(d) => {
                diags.push(*d);
                continue;
            }
        };
        if end_type(port.channel) != Some(f.sender) {
            let ty = &plan.channels[port.channel].ty;
            let m = format!(
                "carries `{ty}`, but the values fed to it are `{}`",
                short_type_name(f.type_name)
            );
            let help = format!("feed values of the Rust type registered as `{ty}`");
            diags.push(port_diag(plan, Some(port), codes::FEED_TYPE, m, Some(help)));
        }
    }
    diags
}

/// The process feeding input port `port` through `end`, if it is fed.
pub(crate) fn feeder(
    feeds: &mut Vec<Feed>,
    port: &str,
    end: Box<dyn Any + Send>,
) -> Option<Process> {
    let i = feeds.iter().position(|f| f.port == port)?;
    let f = feeds.swap_remove(i);
    Some((f.build)(end, port.to_string()))
}

/// The process collecting what arrives on output port `port` (a channel of type `ty`)
/// through `end`, under the port's name.
pub(crate) fn collector(
    reg: &Registry,
    port: &str,
    ty: &Arc<str>,
    end: Box<dyn Any + Send>,
    collected: &Arc<Collected>,
) -> Result<Process, String> {
    let mut ctx = BuildCtx {
        name: port.to_string(),
        ports: [("in".to_string(), Bound::One(end))].into_iter().collect(),
        params: Arc::default(),
        elem: Some(ty.clone()),
        format: None,
        barriers: Default::default(),
        collected: collected.clone(),
    };
    // Built as the generic `collect` is, whether or not the registry lists that kind.
    let collect = Kind::generic("collect", "", false);
    let p = reg.build(&collect, &mut ctx).map_err(|e| e.0)?;
    collected.mark_port(port);
    Ok(p)
}
