//! Loading: from files to a flat, checked [`Plan`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use ron::Value;

use super::check::check_param;
use super::expr::{chan_ref, eval_int_value, eval_value, Scope};
use super::model::{parse, Locator, NetworkDecl, PlacementDecl, SchedulerDecl};
use super::placement::{add_builtin_params, policy_rank, Enclosing, RANKS_PARAM};
use super::{
    suggest, Diagnostic, NetworkError, Plan, PlanBarrier, PlanChannel, PlanPort, PlanProcess,
    PortBind,
};
use crate::registry::{show_value, Kind, PortDir, Registry};
use crate::runtime::Scheduler;

type Pos = Option<(usize, usize)>;

/// Where a diagnostic points.
#[derive(Clone)]
pub(super) struct Site {
    pub(super) file: PathBuf,
    pub(super) pos: Pos,
    pub(super) context: Vec<String>,
}

impl Site {
    pub(super) fn with(&self, c: String) -> Site {
        let mut s = self.clone();
        s.context.push(c);
        s
    }
    pub(super) fn at(&self, pos: Pos) -> Site {
        Site {
            pos: pos.or(self.pos),
            ..self.clone()
        }
    }
}

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
    pub(super) stack: Vec<PathBuf>,
    pub(super) channels: Vec<PlanChannel>,
    /// Per channel instance, its declaration's index into `decl_sites`: the elements of
    /// an array share one site rather than a copy each.
    pub(super) chan_sites: Vec<u32>,
    /// Where each channel declaration is.
    pub(super) decl_sites: Vec<Site>,
    pub(super) processes: Vec<PlanProcess>,
    pub(super) barriers: Vec<PlanBarrier>,
    pub(super) barrier_sites: Vec<Site>,
    /// The barriers each file being loaded declares: name -> index into `barriers`.
    pub(super) barrier_scope: Vec<HashMap<String, usize>>,
    /// Set once the network has grown past [`MAX_PROCESSES`] or [`MAX_CHANNELS`]: loading
    /// stops adding to it (reported once).
    pub(super) too_big: bool,
    /// Channels bound by processes that are already reported broken: a missing writer or
    /// reader there is a consequence, not another mistake.
    pub(super) excused: std::collections::HashSet<usize>,
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

    fn file_of(&mut self, p: &Path) -> Arc<Path> {
        if let Some(a) = self.shared.files.get(p) {
            return a.clone();
        }
        let a: Arc<Path> = p.into();
        self.shared.files.insert(p.to_path_buf(), a.clone());
        a
    }

    fn share_params(&mut self, v: IndexMap<String, Value>) -> Arc<IndexMap<String, Value>> {
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
        chan_sites: vec![],
        decl_sites: vec![],
        processes: vec![],
        barriers: vec![],
        barrier_sites: vec![],
        barrier_scope: vec![],
        excused: Default::default(),
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
    // A network cut short at a size limit is incomplete: checking it would only report
    // what is missing from the part not loaded.
    if let (Some(decl), false) = (&decl, l.too_big) {
        l.check();
        if !decl.ports.is_empty() && !l.diags.is_empty() {
            for d in &mut l.diags {
                if d.message.starts_with("has no") {
                    d.help = Some(
                        "this file declares `ports`: it is meant to be included as a sub-network"
                            .into(),
                    );
                }
            }
        }
    }
    // Vectors grow by doubling as replicas are added: give the spare room back, as a plan
    // is held for the whole run.
    l.processes.shrink_to_fit();
    l.channels.shrink_to_fit();
    match decl {
        Some(decl) if l.diags.is_empty() => Ok(Plan {
            name: decl.name,
            doc: decl.doc,
            file: path.to_path_buf(),
            channels: l.channels,
            processes: l.processes,
            barriers: l.barriers,
            scheduler: l.scheduler,
            ranks: l.ranks,
        }),
        _ => Err(NetworkError {
            diagnostics: l.diags,
        }),
    }
}

impl Loader<'_> {
    pub(super) fn err(&mut self, site: &Site, message: impl Into<String>, help: Option<String>) {
        let message = message.into();
        // One mistake in a replicated declaration is reported once, not once per instance.
        if self.diags.iter().any(|d| {
            d.file == site.file
                && d.pos == site.pos
                && d.message == message
                && d.help == help
                && site.pos.is_some()
        }) {
            return;
        }
        self.diags.push(Diagnostic {
            file: site.file.clone(),
            pos: site.pos,
            context: site.context.clone(),
            message,
            help,
        });
    }

    /// Resolves a binding without reporting anything (for bindings of a process that is
    /// already reported broken: their channels are excused from the writer/reader check).
    fn excuse(&mut self, v: &Value, scope: &Scope, chans: &HashMap<String, ChanEntry>) {
        let n = self.diags.len();
        if let Some(ids) = self.resolve(
            v,
            true,
            scope,
            chans,
            &Site {
                file: PathBuf::new(),
                pos: None,
                context: vec![],
            },
        ) {
            self.excused.extend(ids);
        }
        self.diags.truncate(n);
    }

    /// Loads one file. `include` is the site of the including process (or the command
    /// line), which diagnostics about the file as a whole point at.
    fn file(
        &mut self,
        path: &Path,
        overrides: IndexMap<String, Value>,
        include: &Site,
        binding: Option<&Binding>,
        prefix: &str,
        cluster: &[String],
    ) -> Option<NetworkDecl> {
        let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if self.stack.contains(&canon) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .chain([&canon])
                .map(|p| p.display().to_string())
                .collect();
            self.err(
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
            Err((msg, pos, help)) => {
                let help =
                    help.unwrap_or_else(|| "see docs/network-format.md for the format".into());
                self.err(&here.at(Some(pos)), msg, Some(help));
                return None;
            }
        };
        let loc = Locator::new(&src);
        self.stack.push(canon);

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
            self.barrier_sites.push(site);
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
        self.check_exports(&decl, &chans, &loc, &here, prefix);
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
                        return self.err(&ws, m, help);
                    }
                    Ok(n) if n as u64 > MAX_THREADS as u64 => {
                        let m = format!("`workers` is {n}; at most {MAX_THREADS} are allowed");
                        return self.err(&ws, m, help);
                    }
                    Ok(n) => n as usize,
                    Err(e) => return self.err(&ws, format!("`workers`: {e}"), help),
                }
            }
        };
        self.scheduler = Some(Scheduler::Green { workers });
    }

    /// Reads a process's `thread` (true, false or a `$` param giving one).
    fn thread_of(
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
                    site,
                    format!("`thread` must be true or false, not {found}"),
                    help,
                );
                None
            }
            Err(e) => {
                self.err(site, format!("`thread`: {e}"), help);
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn process(
        &mut self,
        pname: &str,
        p: &super::model::ProcessDecl,
        params: &IndexMap<String, Value>,
        chans: &HashMap<String, ChanEntry>,
        loc: &Locator,
        psite: &Site,
        path: &Path,
        prefix: &str,
        cluster: &[String],
        outer: Enclosing,
        top: bool,
    ) {
        let mut broken = false;
        let tsite = psite.at(loc.find_field("processes", pname, "thread"));
        let own_thread = match self.thread_of(p.thread.as_ref(), params, &tsite) {
            Some(t) => t || outer.thread,
            None => {
                broken = true;
                false
            }
        };
        let (count, index) = match &p.replicate {
            None => (None, "i"),
            Some(r) => match eval_int_value(
                &r.count,
                &Scope {
                    params,
                    index: None,
                },
            ) {
                Ok(n) if n > MAX_COUNT => {
                    self.err(
                        psite,
                        format!("replicate count is {n}; at most {MAX_COUNT} are allowed"),
                        None,
                    );
                    broken = true;
                    (None, r.index.as_str())
                }
                Ok(n) if n >= 0 => (Some(n), r.index.as_str()),
                Ok(n) => {
                    self.err(
                        psite,
                        format!("replicate count is {n}; it must not be negative"),
                        None,
                    );
                    broken = true;
                    (None, r.index.as_str())
                }
                Err(e) => {
                    self.err(psite, format!("replicate count: {e}"), None);
                    broken = true;
                    (None, r.index.as_str())
                }
            },
        };
        let kind = match (&p.kind, &p.network) {
            (Some(_), Some(_)) => {
                self.err(
                    psite,
                    "has both `kind` and `network`",
                    Some("a process is either a kind or a sub-network".into()),
                );
                broken = true;
                None
            }
            (None, None) => {
                self.err(
                    psite,
                    "has neither `kind` nor `network`",
                    Some("add `kind: \"NAME\"` (see `occamy kinds`)".into()),
                );
                broken = true;
                None
            }
            (Some(k), None) => match self.reg.kind(k) {
                Some(k) => Some(k),
                None => {
                    let s = suggest(k, self.reg.kinds().map(|k| k.name()));
                    self.err(
                        psite,
                        format!("unknown kind `{k}`{s}"),
                        Some("`occamy kinds` lists the kinds".into()),
                    );
                    broken = true;
                    None
                }
            },
            (None, Some(_)) => None,
        };
        if broken {
            // Reported once; its channels are not blamed for a missing writer or reader.
            for r in 0..count.unwrap_or(1) {
                let scope = Scope {
                    params,
                    index: count.map(|_| (index, r)),
                };
                for v in p.ports.values() {
                    self.excuse(v, &scope, chans);
                }
            }
            return;
        }
        // Where each param and port binding is: the same for every instance, and finding
        // one reads the file, so it is found once per declaration, not once per instance.
        let key_pos: HashMap<&str, Pos> = p
            .params
            .keys()
            .chain(p.ports.keys())
            .map(|k| (k.as_str(), loc.find_key("processes", pname, k)))
            .collect();
        if kind.is_some() {
            let room = MAX_PROCESSES.saturating_sub(self.processes.len());
            // Room for the declarations after this one too: one more push past the
            // reserved room would double a million-process vector.
            self.processes
                .reserve((count.unwrap_or(1) as usize).min(room) + self.siblings);
        }
        let rank_site = psite.at(loc.find_field_value("processes", pname, "rank"));
        // The first instance whose rank is out of range, and how many are: one mistake,
        // reported once (a million replicas cost no million messages).
        let mut rank_faults: (Option<(String, i64)>, usize) = (None, 0);
        for r in 0..count.unwrap_or(1) {
            if self.too_big {
                return;
            }
            let local = match count {
                Some(_) => format!("{pname}[{r}]"),
                None => pname.to_string(),
            };
            let scope = Scope {
                params,
                index: count.map(|_| (index, r)),
            };
            let mut site = psite.clone();
            if count.is_some() {
                *site.context.last_mut().expect("process context") =
                    format!("process `{prefix}{local}`");
            }
            let own_rank = match self.eval_rank(p.rank.as_ref(), &scope, &rank_site) {
                Ok(rank) => rank,
                Err(n) => {
                    if rank_faults.0.is_none() {
                        rank_faults.0 = Some((format!("process `{prefix}{local}`"), n));
                    }
                    rank_faults.1 += 1;
                    None
                }
            };
            let replica = outer.replica.or(count.map(|_| r));
            let bind_site = |key: &str| site.at(key_pos.get(key).copied().flatten());
            match kind {
                Some(kind) => {
                    let rank = own_rank.or(outer.rank).unwrap_or_else(|| {
                        policy_rank(self.placement, self.ranks, replica, outer.instance)
                    });
                    self.kind_instance(
                        kind,
                        &local,
                        pname,
                        p,
                        &scope,
                        chans,
                        &site,
                        &bind_site,
                        path,
                        prefix,
                        cluster,
                        (own_thread, rank),
                    )
                }
                None => {
                    let net = p.network.as_deref().expect("network");
                    let sub = path.parent().unwrap_or(Path::new(".")).join(net);
                    let mut overrides = IndexMap::new();
                    for (k, v) in &p.params {
                        match eval_value(v, &scope) {
                            Ok(v) => {
                                overrides.insert(k.clone(), v);
                            }
                            Err(e) => self.err(&bind_site(k).with(format!("param `{k}`")), e, None),
                        }
                    }
                    let mut ports = IndexMap::new();
                    for (port, v) in &p.ports {
                        let s = bind_site(port).with(format!("port `{port}`"));
                        if let Some(ids) = self.resolve(v, true, &scope, chans, &s) {
                            ports.insert(port.clone(), ids);
                        }
                    }
                    let mut cl = cluster.to_vec();
                    cl.push(format!("{prefix}{local}"));
                    let instance = outer.instance.or_else(|| {
                        top.then(|| {
                            self.top_instances += 1;
                            self.top_instances - 1
                        })
                    });
                    let b = Binding {
                        ports,
                        site: site.clone(),
                        outer: Enclosing {
                            thread: own_thread,
                            rank: own_rank.or(outer.rank),
                            replica,
                            instance,
                        },
                    };
                    self.file(
                        &sub,
                        overrides,
                        &site,
                        Some(&b),
                        &format!("{prefix}{local}."),
                        &cl,
                    );
                }
            }
        }
        self.report_ranks(&rank_faults, &rank_site);
    }

    #[allow(clippy::too_many_arguments)]
    fn kind_instance(
        &mut self,
        kind: &Kind,
        local: &str,
        pname: &str,
        p: &super::model::ProcessDecl,
        scope: &Scope,
        chans: &HashMap<String, ChanEntry>,
        site: &Site,
        bind_site: &dyn Fn(&str) -> Site,
        path: &Path,
        prefix: &str,
        cluster: &[String],
        (own_thread, rank): (bool, u32),
    ) {
        let mut values = IndexMap::new();
        for (k, v) in &p.params {
            let s = bind_site(k).with(format!("param `{k}`"));
            let Some(spec) = kind.param_spec(k) else {
                let sug = suggest(k, kind.params().iter().map(|p| p.name.as_str()));
                let help = if kind.params().is_empty() {
                    format!("kind `{}` takes no params", kind.name())
                } else {
                    format!(
                        "kind `{}` takes {}",
                        kind.name(),
                        kind.params()
                            .iter()
                            .map(|p| format!("`{}`", p.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                self.err(&s, format!("unknown param `{k}`{sug}"), Some(help));
                continue;
            };
            match eval_value(v, scope) {
                Ok(v) => {
                    if let Err(e) = check_param(spec.ty, &v) {
                        self.err(&s, e, None);
                    }
                    values.insert(k.clone(), v);
                }
                Err(e) => self.err(&s, e, None),
            }
        }
        for spec in kind.params() {
            if values.contains_key(&spec.name) {
                continue;
            }
            match &spec.default {
                Some(d) => {
                    values.insert(spec.name.clone(), d.clone());
                }
                None => self.err(
                    site,
                    format!("missing param `{}` ({})", spec.name, spec.doc),
                    Some(format!(
                        "add `\"{}\": ...` to the process's params",
                        spec.name
                    )),
                ),
            }
        }
        let idx = self.processes.len();
        let mut ports: Vec<PlanPort> = Vec::with_capacity(p.ports.len());
        let mut barriers = Vec::new();
        for (port, v) in &p.ports {
            let s = bind_site(port).with(format!("port `{port}`"));
            if kind.barrier_ports().iter().any(|b| b == port) {
                if let Some(b) = self.resolve_barrier(v, &s) {
                    let name = self.intern(port);
                    self.barriers[b].parties.push((idx, name.clone()));
                    barriers.push((name, b));
                }
                continue;
            }
            let Some(spec) = kind.port_spec(port) else {
                let names = kind
                    .ports()
                    .iter()
                    .map(|p| p.name.as_str())
                    .chain(kind.barrier_ports().iter().map(String::as_str));
                let sug = suggest(port, names.clone());
                let have = names
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.err(
                    &s,
                    format!("unknown port `{port}`{sug}"),
                    Some(format!("kind `{}` has ports {have}", kind.name())),
                );
                self.excuse(v, scope, chans);
                continue;
            };
            let Some(ids) = self.resolve(v, spec.array, scope, chans, &s) else {
                continue;
            };
            let name = self.intern(port);
            for &id in &ids {
                let list = match spec.dir {
                    PortDir::Out => &mut self.channels[id].writers,
                    PortDir::In => &mut self.channels[id].readers,
                };
                // Most channels have one writer and one reader: room for one, not four.
                if list.capacity() == 0 {
                    list.reserve_exact(1);
                }
                list.push((idx, name.clone()));
            }
            if !spec.array && ids.len() != 1 {
                continue;
            }
            let bind = if spec.array {
                PortBind::Many(ids)
            } else {
                PortBind::One(ids[0])
            };
            ports.push(PlanPort {
                name,
                dir: spec.dir,
                bind,
            });
        }
        for b in kind.barrier_ports() {
            if !p.ports.contains_key(b) {
                self.err(
                    site,
                    format!("barrier port `{b}` is not bound"),
                    Some(format!("add `\"{b}\": \"BARRIER\"` to the process's ports")),
                );
            }
        }
        for spec in kind.ports() {
            if !ports.iter().any(|b| *b.name == *spec.name) && !p.ports.contains_key(&spec.name) {
                let example = if spec.array {
                    "[\"CHANNEL\", ...]"
                } else {
                    "\"CHANNEL\""
                };
                self.err(
                    site,
                    format!("port `{}` is not bound", spec.name),
                    Some(format!(
                        "add `\"{}\": {example}` to the process's ports",
                        spec.name
                    )),
                );
            }
        }
        // Keep the kind's port order, which is what the graph and the builder show.
        ports.sort_by_cached_key(|b| kind.ports().iter().position(|p| *p.name == *b.name));
        if self.processes.len() >= MAX_PROCESSES {
            self.too_big(site, "processes", MAX_PROCESSES);
            return;
        }
        let decl = self.intern(&format!("{prefix}{pname}"));
        let kind_name = self.intern(kind.name());
        let params = self.share_params(values);
        let cluster = self.cluster_of(cluster);
        let file = self.file_of(path);
        self.processes.push(PlanProcess {
            name: format!("{prefix}{local}"),
            decl,
            kind: kind_name,
            params,
            ports: ports.into_boxed_slice(),
            elem: None,
            barriers,
            cluster,
            file,
            pos: site.pos,
            own_thread,
            rank,
        });
    }

    /// Stops the network growing past a limit (reported once).
    pub(super) fn too_big(&mut self, site: &Site, what: &str, max: usize) {
        if !self.too_big {
            self.too_big = true;
            self.err(
                &Site {
                    context: vec![],
                    ..site.clone()
                },
                format!("the network has more than {max} {what}"),
                Some("make the network smaller (is a count mistaken?)".into()),
            );
        }
    }

    /// Resolves a barrier port's binding to a barrier of the file being loaded.
    fn resolve_barrier(&mut self, v: &Value, site: &Site) -> Option<usize> {
        let scope = self.barrier_scope.last().cloned().unwrap_or_default();
        match v {
            Value::String(name) => match scope.get(name) {
                Some(&b) => Some(b),
                None => {
                    let sug = suggest(name, scope.keys().map(String::as_str));
                    self.err(
                        site,
                        format!("unknown barrier `{name}`{sug}"),
                        Some("declare it under `barriers`".into()),
                    );
                    None
                }
            },
            other => {
                self.err(
                    site,
                    format!("expected a barrier name, found {}", show_value(other)),
                    None,
                );
                None
            }
        }
    }

    /// Resolves a port binding to channel ids: a reference, a whole array (array ports),
    /// or a list of references (array ports).
    fn resolve(
        &mut self,
        v: &Value,
        array: bool,
        scope: &Scope,
        chans: &HashMap<String, ChanEntry>,
        site: &Site,
    ) -> Option<Vec<usize>> {
        match v {
            Value::String(s) => {
                let r = match chan_ref(s, scope) {
                    Ok(r) => r,
                    Err(e) => {
                        self.err(site, e, None);
                        return None;
                    }
                };
                let Some(entry) = chans.get(&r.name) else {
                    let sug = suggest(&r.name, chans.keys().map(|s| s.as_str()));
                    self.err(
                        site,
                        format!("unknown channel `{}`{sug}", r.name),
                        Some("declare it under `channels`".into()),
                    );
                    return None;
                };
                if entry.broken {
                    return None;
                }
                match (r.index, entry.array) {
                    (None, false) => Some(entry.ids.clone()),
                    (None, true) if array => Some(entry.ids.clone()),
                    (None, true) => {
                        self.err(
                            site,
                            format!(
                                "channel `{}` is an array of {}; bind one element",
                                r.name,
                                entry.ids.len()
                            ),
                            Some(format!("write e.g. `{}[0]`", r.name)),
                        );
                        None
                    }
                    (Some(_), false) => {
                        self.err(
                            site,
                            format!("channel `{}` is not an array", r.name),
                            Some(format!("write `{}`", r.name)),
                        );
                        None
                    }
                    (Some(i), true) => match usize::try_from(i).ok().and_then(|i| entry.ids.get(i))
                    {
                        Some(&id) => Some(vec![id]),
                        None => {
                            self.err(
                                site,
                                format!(
                                    "index {i} is out of range for `{}` (0..{})",
                                    r.name,
                                    entry.ids.len()
                                ),
                                None,
                            );
                            None
                        }
                    },
                }
            }
            Value::Seq(items) if array => {
                let mut ids = Vec::new();
                for it in items {
                    ids.extend(self.resolve(it, true, scope, chans, site)?);
                }
                Some(ids)
            }
            Value::Seq(_) => {
                self.err(site, "a single port takes one channel, not a list", None);
                None
            }
            other => {
                self.err(
                    site,
                    format!("expected a channel name, found {}", show_value(other)),
                    None,
                );
                None
            }
        }
    }
}
