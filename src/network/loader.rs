//! Loading: from files to a flat [`Plan`] (elaboration), then checked as a whole by
//! [`check`](super::check). This file reads the files, their params, barriers and
//! scheduler; processes.rs elaborates their processes, channels.rs their channels.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use ron::Value;

use super::check::{check, Export, Sites};
use super::codes;
use super::error::{push_once, Site};
use super::expr::{eval_int_value, eval_value, Scope};
use super::model::{parse, Locator, NetworkDecl, PlacementDecl, SchedulerDecl};
use super::placement::{add_builtin_params, Enclosing, RANKS_PARAM};
use super::{
    suggest, Diagnostic, NetworkError, OpenPort, Plan, PlanBarrier, PlanChannel, PlanProcess,
};
use crate::registry::{show_value, Registry};
use crate::runtime::Scheduler;

/// A declared channel (or array) of one file, as its processes see it.
pub(super) struct ChanEntry {
    pub(super) ids: Vec<usize>,
    pub(super) array: bool,
    /// Declared with a mistake (already reported): references to it report nothing more.
    pub(super) broken: bool,
}

/// The most instances one replicated process or channel array may have: as many as a
/// whole network.
pub(super) const MAX_COUNT: i64 = MAX_PROCESSES as i64;

/// The most processes a network may have. Green processes cost a task each (a few
/// hundred bytes), so this only keeps a mistaken count from exhausting memory while
/// loading; a network run on threads has the lower [`MAX_THREADS`].
pub(super) const MAX_PROCESSES: usize = 10_000_000;

/// The most channels a network may have: two per process, which rings, pipelines and
/// farms stay well within, and a bound on what a plan may allocate.
pub(super) const MAX_CHANNELS: usize = 2 * MAX_PROCESSES;

/// The most processes that may each have an OS thread: a machine runs out of thread
/// stacks near 16,000 (Linux's default limits), so `occamy run` refuses a network that
/// would need more before starting it. Also the most green workers a file may ask for.
pub const MAX_THREADS: usize = 10_000;

/// The largest buffer a channel may declare.
pub(super) const MAX_BUFFER: i64 = 1 << 20;

pub(super) struct Loader<'r> {
    pub(super) reg: &'r Registry,
    pub(super) diags: Vec<Diagnostic>,
    /// The files being loaded, outermost first: canonical (to find a cycle), and as named
    /// (to show one: a canonical path would name the machine's directories).
    pub(super) stack: Vec<(PathBuf, PathBuf)>,
    pub(super) channels: Vec<PlanChannel>,
    pub(super) processes: Vec<PlanProcess>,
    pub(super) barriers: Vec<PlanBarrier>,
    /// Where channels and barriers are declared, which channels are excused, and every
    /// file's exports: what the checker needs besides the plan.
    pub(super) sites: Sites,
    /// The barriers each file being loaded declares: name -> index into `barriers`.
    pub(super) barrier_scope: Vec<HashMap<String, usize>>,
    /// Set once the network has grown past [`MAX_PROCESSES`] or [`MAX_CHANNELS`]: loading
    /// stops adding to it (reported once).
    pub(super) too_big: bool,
    /// The top-level file's `scheduler`, if it chose one.
    pub(super) scheduler: Option<Scheduler>,
    /// What many instances share, held once (see [`PlanProcess`]).
    pub(super) shared: Shared,
    /// The process declarations of the file being loaded still to come after the current
    /// one.
    pub(super) siblings: usize,
    /// The run's number of MPI ranks (`$ranks`).
    pub(super) ranks: u32,
    /// The top-level file's `placement`, if it chose one.
    pub(super) placement: Option<PlacementDecl>,
    /// The top-level file's sub-network instances so far (for `BySubnetwork`).
    pub(super) top_instances: u64,
}

/// The strings, clusters, files and params that the instances of a replicated declaration
/// have in common: a plan holds each once, so that a million-process network costs a few
/// hundred bytes per process, not kilobytes.
#[derive(Default)]
pub(super) struct Shared {
    strs: HashSet<Arc<str>>,
    clusters: HashMap<Vec<String>, Arc<[String]>>,
    files: HashMap<PathBuf, Arc<Path>>,
    /// The params of the process last added: the next, if equal, shares them.
    params: Option<Arc<IndexMap<String, Value>>>,
}

impl Loader<'_> {
    pub(super) fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.shared.strs.get(s) {
            return a.clone();
        }
        let a: Arc<str> = s.into();
        self.shared.strs.insert(a.clone());
        a
    }

    pub(super) fn cluster_of(&mut self, c: &[String]) -> Arc<[String]> {
        if let Some(a) = self.shared.clusters.get(c) {
            return a.clone();
        }
        let a: Arc<[String]> = c.into();
        self.shared.clusters.insert(c.to_vec(), a.clone());
        a
    }

    pub(super) fn file_of(&mut self, p: &Path) -> Arc<Path> {
        if let Some(a) = self.shared.files.get(p) {
            return a.clone();
        }
        let a: Arc<Path> = p.into();
        self.shared.files.insert(p.to_path_buf(), a.clone());
        a
    }

    pub(super) fn share_params(
        &mut self,
        v: IndexMap<String, Value>,
    ) -> Arc<IndexMap<String, Value>> {
        match &self.shared.params {
            Some(last) if **last == v => last.clone(),
            _ => {
                let a = Arc::new(v);
                self.shared.params = Some(a.clone());
                a
            }
        }
    }
}

/// A sub-network's ports as bound by the including process: port -> channel ids.
pub(super) struct Binding {
    pub(super) ports: IndexMap<String, Vec<usize>>,
    pub(super) site: Site,
    /// What every process inside inherits: `thread: true`, and its placement.
    pub(super) outer: Enclosing,
}

pub(crate) fn load(
    path: &Path,
    sets: &[(String, String)],
    ranks: u32,
    reg: &Registry,
) -> Result<Plan, NetworkError> {
    let mut l = Loader {
        reg,
        diags: vec![],
        stack: vec![],
        channels: vec![],
        processes: vec![],
        barriers: vec![],
        sites: Sites::default(),
        barrier_scope: vec![],
        too_big: false,
        scheduler: None,
        shared: Shared::default(),
        siblings: 0,
        ranks: ranks.max(1),
        placement: None,
        top_instances: 0,
    };
    let overrides: IndexMap<String, Value> = sets
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                match ron::from_str::<Value>(v) {
                    // RON reads a bare word as a unit struct: on the command line it is a
                    // string.
                    Ok(Value::Unit) if v.trim() != "()" => Value::String(v.clone()),
                    Ok(val) => val,
                    Err(_) => Value::String(v.clone()),
                },
            )
        })
        .collect();
    let site = Site {
        file: path.to_path_buf(),
        pos: None,
        context: vec![],
    };
    let decl = l.file(path, overrides, &site, None, "", &[]);
    // Vectors grow by doubling as replicas are added: give the spare room back, as a plan
    // is held for the whole run.
    l.processes.shrink_to_fit();
    l.channels.shrink_to_fit();
    // The channels the top-level file leaves open: an array's elements one port each.
    let mut ports = Vec::new();
    for e in l.sites.exports.iter().filter(|e| e.prefix.is_empty()) {
        for (k, &id) in e.ids.iter().enumerate() {
            let name = match e.array {
                true => format!("{}[{k}]", e.port),
                false => e.port.clone(),
            };
            ports.push(OpenPort {
                name,
                dir: e.dir,
                channel: id,
            });
        }
    }
    let Some(decl) = decl else {
        return Err(NetworkError {
            diagnostics: l.diags,
        });
    };
    let plan = Plan {
        name: decl.name,
        doc: decl.doc,
        file: path.to_path_buf(),
        channels: l.channels,
        processes: l.processes,
        barriers: l.barriers,
        ports,
        scheduler: l.scheduler,
        ranks: l.ranks,
        sites: Arc::new(l.sites),
    };
    // A network cut short at a size limit is incomplete: checking it would only report
    // what is missing from the part not loaded.
    if !l.too_big {
        l.diags.extend(check(&plan, reg));
    }
    if l.diags.is_empty() {
        Ok(plan)
    } else {
        Err(NetworkError {
            diagnostics: l.diags,
        })
    }
}

impl Loader<'_> {
    /// Reports a mistake found while elaborating (once, for a replicated declaration).
    pub(super) fn err(
        &mut self,
        code: &'static str,
        site: &Site,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        push_once(&mut self.diags, site.diag(code, message, help));
    }

    /// Loads one file. `include` is the site of the including process (or the command
    /// line), which diagnostics about the file as a whole point at.
    pub(super) fn file(
        &mut self,
        path: &Path,
        overrides: IndexMap<String, Value>,
        include: &Site,
        binding: Option<&Binding>,
        prefix: &str,
        cluster: &[String],
    ) -> Option<NetworkDecl> {
        let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if self.stack.iter().any(|(c, _)| *c == canon) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .map(|(_, shown)| shown.as_path())
                .chain([path])
                .map(|p| p.display().to_string())
                .collect();
            self.err(
                codes::INCLUDE_CYCLE,
                include,
                format!(
                    "sub-network `{}` includes itself ({})",
                    path.display(),
                    chain.join(" -> ")
                ),
                None,
            );
            return None;
        }
        let src = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                let what = if binding.is_some() {
                    "sub-network file"
                } else {
                    "network file"
                };
                self.err(
                    codes::FILE_UNREADABLE,
                    include,
                    format!("cannot read {what} `{}`: {e}", path.display()),
                    None,
                );
                return None;
            }
        };
        let here = Site {
            file: path.to_path_buf(),
            pos: None,
            context: vec![],
        };
        let decl = match parse(&src) {
            Ok(d) => d,
            Err((code, msg, pos, help)) => {
                let help =
                    help.unwrap_or_else(|| "see docs/network-format.md for the format".into());
                self.err(code, &here.at(Some(pos)), msg, Some(help));
                return None;
            }
        };
        let loc = Locator::new(&src);
        self.stack.push((canon, path.to_path_buf()));

        let mut params = decl.params.clone();
        if params.contains_key(RANKS_PARAM) {
            self.reserved_declared(&here.at(loc.find("params", RANKS_PARAM)));
        }
        for (k, v) in overrides {
            if self.reserved_override(&k, include, binding.is_some()) {
                continue;
            }
            if params.contains_key(&k) {
                params.insert(k, v);
            } else {
                let names = decl.params.keys().map(|s| s.as_str());
                let s = suggest(&k, names);
                self.err(
                    codes::UNKNOWN_NETWORK_PARAM,
                    include,
                    format!("network `{}` has no param `{k}`{s}", decl.name),
                    None,
                );
            }
        }

        add_builtin_params(&mut params, self.ranks);
        self.scheduler_of(&decl, &params, &loc, &here, binding.is_some());
        self.placement_of(&decl, &loc, &here, binding.is_some());
        let chans = self.channels_of(&decl, &params, &loc, &here, binding, prefix, cluster);
        let mut scope = HashMap::new();
        for b in &decl.barriers {
            let site = here
                .at(loc.find("barriers", b))
                .with(format!("barrier `{prefix}{b}`"));
            if scope.contains_key(b) || chans.contains_key(b) {
                self.err(
                    codes::DECLARED_TWICE,
                    &site,
                    "is declared twice (barrier and channel names share one space)",
                    None,
                );
                continue;
            }
            scope.insert(b.clone(), self.barriers.len());
            let cluster = self.cluster_of(cluster);
            self.barriers.push(PlanBarrier {
                name: format!("{prefix}{b}"),
                cluster,
                parties: vec![],
            });
            self.sites.barriers.push(site);
        }
        self.barrier_scope.push(scope);
        for (k, (pname, p)) in decl.processes.iter().enumerate() {
            self.siblings = decl.processes.len() - k - 1;
            let psite = here
                .at(loc.find("processes", pname))
                .with(format!("process `{prefix}{pname}`"));
            let outer = binding.map(|b| b.outer).unwrap_or_default();
            let top = binding.is_none();
            self.process(
                pname, p, &params, &chans, &loc, &psite, path, prefix, cluster, outer, top,
            );
        }
        for (port, e) in &decl.ports {
            let Some(entry) = chans.get(&e.channel) else {
                continue;
            };
            self.sites.exports.push(Export {
                site: here
                    .at(loc.find("ports", port))
                    .with(format!("port `{port}`")),
                port: port.clone(),
                array: entry.array,
                dir: e.dir,
                channel: e.channel.clone(),
                ids: entry.ids.clone(),
                prefix: prefix.to_string(),
            });
        }
        self.barrier_scope.pop();
        self.stack.pop();
        Some(decl)
    }

    /// Reads the file's `scheduler`. Only the top-level file may choose one: a network runs
    /// under one scheduler, and a sub-network silently overruled would mislead.
    fn scheduler_of(
        &mut self,
        decl: &NetworkDecl,
        params: &IndexMap<String, Value>,
        loc: &Locator,
        here: &Site,
        sub: bool,
    ) {
        let Some(s) = &decl.scheduler else {
            return;
        };
        let site = here.at(loc.find_top("scheduler")).with("scheduler".into());
        if sub {
            self.err(
                codes::SUB_SCHEDULER,
                &site,
                "a sub-network cannot choose the scheduler",
                Some("choose it in the top-level file, or with `occamy run --scheduler`".into()),
            );
            return;
        }
        let workers = match s {
            SchedulerDecl::Threads => {
                self.scheduler = Some(Scheduler::Threads);
                return;
            }
            SchedulerDecl::Green { workers: None } => 0,
            SchedulerDecl::Green { workers: Some(v) } => {
                let ws = site.at(loc.find_top_key("scheduler", "workers"));
                let help = Some(format!(
                    "`workers` is how many worker threads: 0 (one per core) to {MAX_THREADS}"
                ));
                let scope = Scope {
                    params,
                    index: None,
                };
                match eval_int_value(v, &scope) {
                    Ok(n) if n < 0 => {
                        let m = format!("`workers` is {n}; it must not be negative");
                        return self.err(codes::NEGATIVE, &ws, m, help);
                    }
                    Ok(n) if n as u64 > MAX_THREADS as u64 => {
                        let m = format!("`workers` is {n}; at most {MAX_THREADS} are allowed");
                        return self.err(codes::WORKERS_LIMIT, &ws, m, help);
                    }
                    Ok(n) => n as usize,
                    Err(e) => return self.err(e.code, &ws, format!("`workers`: {e}"), help),
                }
            }
        };
        self.scheduler = Some(Scheduler::Green { workers });
    }

    /// Reads a process's `thread` (true, false or a `$` param giving one).
    pub(super) fn thread_of(
        &mut self,
        v: Option<&Value>,
        params: &IndexMap<String, Value>,
        site: &Site,
    ) -> Option<bool> {
        let Some(v) = v else {
            return Some(false);
        };
        let scope = Scope {
            params,
            index: None,
        };
        let help = Some("write `thread: true` to give the process an OS thread of its own".into());
        match eval_value(v, &scope) {
            Ok(Value::Bool(b)) => Some(b),
            Ok(other) => {
                let found = show_value(&other);
                self.err(
                    codes::WRONG_SHAPE,
                    site,
                    format!("`thread` must be true or false, not {found}"),
                    help,
                );
                None
            }
            Err(e) => {
                self.err(e.code, site, format!("`thread`: {e}"), help);
                None
            }
        }
    }
}
