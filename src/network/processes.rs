//! Elaborating processes: a declaration's replicas, each a kind instance with its
//! params evaluated and checked and its ports bound to channel instances, or a
//! sub-network instance loaded in its turn.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use ron::Value;

use super::check::check_param;
use super::codes;
use super::error::Site;
use super::expr::{chan_ref, eval_int_value, eval_value, Scope};
use super::loader::{Binding, ChanEntry, Loader, MAX_COUNT, MAX_PROCESSES};
use super::model::Locator;
use super::placement::{policy_rank, Enclosing};
use super::{suggest, PlanPort, PlanProcess, PortBind};
use crate::registry::{show_value, Kind, PortDir};

type Pos = Option<(usize, usize)>;

impl Loader<'_> {
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
            self.sites.excused.extend(ids);
        }
        self.diags.truncate(n);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn process(
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
                        codes::COUNT_LIMIT,
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
                        codes::NEGATIVE,
                        psite,
                        format!("replicate count is {n}; it must not be negative"),
                        None,
                    );
                    broken = true;
                    (None, r.index.as_str())
                }
                Err(e) => {
                    self.err(e.code, psite, format!("replicate count: {e}"), None);
                    broken = true;
                    (None, r.index.as_str())
                }
            },
        };
        let kind = match (&p.kind, &p.network) {
            (Some(_), Some(_)) => {
                self.err(
                    codes::PROCESS_SPEC,
                    psite,
                    "has both `kind` and `network`",
                    Some("a process is either a kind or a sub-network".into()),
                );
                broken = true;
                None
            }
            (None, None) => {
                self.err(
                    codes::PROCESS_SPEC,
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
                        codes::UNKNOWN_KIND,
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
                            Err(e) => {
                                let s = bind_site(k).with(format!("param `{k}`"));
                                self.err(e.code, &s, e.message, None)
                            }
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
                let m = format!("unknown param `{k}`{sug}");
                self.err(codes::UNKNOWN_PARAM, &s, m, Some(help));
                continue;
            };
            match eval_value(v, scope) {
                Ok(v) => {
                    if let Err(e) = check_param(spec.ty, &v) {
                        self.err(codes::PARAM_TYPE, &s, e, None);
                    }
                    values.insert(k.clone(), v);
                }
                Err(e) => self.err(e.code, &s, e.message, None),
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
                    codes::MISSING_PARAM,
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
                    codes::UNKNOWN_PORT,
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
                    codes::BARRIER_PORT_UNBOUND,
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
                    codes::PORT_UNBOUND,
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
        // A generic kind's element type is its first `T` channel's; the checker reports
        // any other `T` channel of another type.
        let elem = ports
            .iter()
            .filter(|b| kind.port_spec(&b.name).is_some_and(|s| s.ty == "T"))
            .find_map(|b| b.bind.ids().first())
            .map(|&id| self.channels[id].ty.clone());
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
            elem,
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
                codes::SIZE_LIMIT,
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
                        codes::UNKNOWN_BARRIER,
                        site,
                        format!("unknown barrier `{name}`{sug}"),
                        Some("declare it under `barriers`".into()),
                    );
                    None
                }
            },
            other => {
                self.err(
                    codes::WRONG_SHAPE,
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
                        self.err(e.code, site, e.message, None);
                        return None;
                    }
                };
                let Some(entry) = chans.get(&r.name) else {
                    let sug = suggest(&r.name, chans.keys().map(|s| s.as_str()));
                    self.err(
                        codes::UNKNOWN_CHANNEL,
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
                            codes::WHOLE_ARRAY,
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
                            codes::NOT_ARRAY,
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
                                codes::INDEX_RANGE,
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
                let m = "a single port takes one channel, not a list";
                self.err(codes::LIST_TO_SINGLE, site, m, None);
                None
            }
            other => {
                self.err(
                    codes::WRONG_SHAPE,
                    site,
                    format!("expected a channel name, found {}", show_value(other)),
                    None,
                );
                None
            }
        }
    }
}
