//! Loading: from files to a flat, checked [`Plan`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use ron::Value;

use super::expr::{as_int, chan_ref, eval_int_value, eval_value, Scope};
use super::model::{parse, Locator, NetworkDecl};
use super::{
    suggest, Diagnostic, NetworkError, Plan, PlanBarrier, PlanChannel, PlanProcess, PortBind,
};
use crate::registry::{show_value, Kind, ParamType, PortDir, Registry};

type Pos = Option<(usize, usize)>;

/// Where a diagnostic points.
#[derive(Clone)]
struct Site {
    file: PathBuf,
    pos: Pos,
    context: Vec<String>,
}

impl Site {
    fn with(&self, c: String) -> Site {
        let mut s = self.clone();
        s.context.push(c);
        s
    }
    fn at(&self, pos: Pos) -> Site {
        Site {
            pos: pos.or(self.pos),
            ..self.clone()
        }
    }
}

/// A declared channel (or array) of one file, as its processes see it.
struct ChanEntry {
    ids: Vec<usize>,
    array: bool,
    /// Declared with a mistake (already reported): references to it report nothing more.
    broken: bool,
}

/// The most instances one replicated process or channel array may have.
const MAX_COUNT: i64 = 100_000;

struct Loader<'r> {
    reg: &'r Registry,
    diags: Vec<Diagnostic>,
    stack: Vec<PathBuf>,
    channels: Vec<PlanChannel>,
    chan_sites: Vec<Site>,
    processes: Vec<PlanProcess>,
    barriers: Vec<PlanBarrier>,
    barrier_sites: Vec<Site>,
    /// The barriers each file being loaded declares: name -> index into `barriers`.
    barrier_scope: Vec<HashMap<String, usize>>,
    /// Channels bound by processes that are already reported broken: a missing writer or
    /// reader there is a consequence, not another mistake.
    excused: std::collections::HashSet<usize>,
}

/// A sub-network's ports as bound by the including process: port -> channel ids.
struct Binding {
    ports: IndexMap<String, Vec<usize>>,
    site: Site,
}

pub(crate) fn load(
    path: &Path,
    sets: &[(String, String)],
    reg: &Registry,
) -> Result<Plan, NetworkError> {
    let mut l = Loader {
        reg,
        diags: vec![],
        stack: vec![],
        channels: vec![],
        chan_sites: vec![],
        processes: vec![],
        barriers: vec![],
        barrier_sites: vec![],
        barrier_scope: vec![],
        excused: Default::default(),
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
    if let Some(decl) = &decl {
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
    match decl {
        Some(decl) if l.diags.is_empty() => Ok(Plan {
            name: decl.name,
            doc: decl.doc,
            file: path.to_path_buf(),
            channels: l.channels,
            processes: l.processes,
            barriers: l.barriers,
        }),
        _ => Err(NetworkError {
            diagnostics: l.diags,
        }),
    }
}

impl Loader<'_> {
    fn err(&mut self, site: &Site, message: impl Into<String>, help: Option<String>) {
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
            Err((msg, pos)) => {
                self.err(
                    &here.at(Some(pos)),
                    msg,
                    Some("see docs/network-format.md for the format".into()),
                );
                return None;
            }
        };
        let loc = Locator::new(&src);
        self.stack.push(canon);

        let mut params = decl.params.clone();
        for (k, v) in overrides {
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
            self.barriers.push(PlanBarrier {
                name: format!("{prefix}{b}"),
                cluster: cluster.to_vec(),
                parties: vec![],
            });
            self.barrier_sites.push(site);
        }
        self.barrier_scope.push(scope);
        for (pname, p) in &decl.processes {
            let psite = here
                .at(loc.find("processes", pname))
                .with(format!("process `{prefix}{pname}`"));
            self.process(
                pname, p, &params, &chans, &loc, &psite, path, prefix, cluster,
            );
        }
        self.check_exports(&decl, &chans, &loc, &here, prefix);
        self.barrier_scope.pop();
        self.stack.pop();
        Some(decl)
    }

    /// An exported port's channel is only read inside the sub-network (`In`) or only
    /// written (`Out`); the other side is the including network's.
    fn check_exports(
        &mut self,
        decl: &NetworkDecl,
        chans: &HashMap<String, ChanEntry>,
        loc: &Locator,
        here: &Site,
        prefix: &str,
    ) {
        for (port, e) in &decl.ports {
            let Some(entry) = chans.get(&e.channel) else {
                continue;
            };
            let site = here
                .at(loc.find("ports", port))
                .with(format!("port `{port}`"));
            for &id in &entry.ids {
                let c = &self.channels[id];
                let (wrong, what) = match e.dir {
                    PortDir::In => (&c.writers, "written"),
                    PortDir::Out => (&c.readers, "read"),
                };
                let inside: Vec<String> = wrong
                    .iter()
                    .map(|(p, _)| self.processes[*p].name.clone())
                    .filter(|n| n.starts_with(prefix))
                    .collect();
                if !inside.is_empty() {
                    let quoted: Vec<String> = inside.iter().map(|n| format!("`{n}`")).collect();
                    let m =
                        format!(
                        "is an {} port, but its channel `{}` is {what} inside the network by {}",
                        if e.dir == PortDir::In { "input" } else { "output" },
                        e.channel,
                        quoted.join(", ")
                    );
                    self.err(
                        &site,
                        m,
                        Some(
                            "use `dir: In` for values coming in, `dir: Out` for values going out"
                                .into(),
                        ),
                    );
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn channels_of(
        &mut self,
        decl: &NetworkDecl,
        params: &IndexMap<String, Value>,
        loc: &Locator,
        here: &Site,
        binding: Option<&Binding>,
        prefix: &str,
        cluster: &[String],
    ) -> HashMap<String, ChanEntry> {
        let scope = Scope {
            params,
            index: None,
        };
        let mut chans = HashMap::new();
        let exported: HashMap<&str, (&str, &super::model::ExportDecl)> = decl
            .ports
            .iter()
            .map(|(p, e)| (e.channel.as_str(), (p.as_str(), e)))
            .collect();
        if let Some(b) = binding {
            for port in b.ports.keys() {
                if !decl.ports.contains_key(port) {
                    let s = suggest(port, decl.ports.keys().map(|s| s.as_str()));
                    self.err(
                        &b.site,
                        format!("sub-network `{}` has no port `{port}`{s}", decl.name),
                        None,
                    );
                }
            }
            for port in decl.ports.keys() {
                if !b.ports.contains_key(port) {
                    self.err(
                        &b.site,
                        format!("port `{port}` of sub-network `{}` is not bound", decl.name),
                        Some(format!(
                            "add `\"{port}\": \"CHANNEL\"` to the process's ports"
                        )),
                    );
                }
            }
        }
        for (name, spec) in &decl.channels {
            let site = here
                .at(loc.find("channels", name))
                .with(format!("channel `{prefix}{name}`"));
            let broken = ChanEntry {
                ids: vec![],
                array: false,
                broken: true,
            };
            let Some((ty, count, shared, buffer)) = self.channel_spec(spec, &scope, &site) else {
                chans.insert(name.clone(), broken);
                continue;
            };
            if self.reg.type_info(&ty).is_none() {
                let s = suggest(&ty, self.reg.type_names());
                self.err(
                    &site,
                    format!("unknown type `{ty}`{s}"),
                    Some("register it with Registry::register_type".into()),
                );
                chans.insert(name.clone(), broken);
                continue;
            }
            let outer = exported.get(name.as_str()).and_then(|(port, e)| {
                if e.ty != ty {
                    self.err(
                        &site,
                        format!(
                            "port `{port}` says `{}` but the channel carries `{ty}`",
                            e.ty
                        ),
                        None,
                    );
                }
                binding.and_then(|b| b.ports.get(*port).map(|ids| (*port, ids.clone())))
            });
            let ids = if let Some((port, ids)) = outer {
                let want = count.unwrap_or(1);
                if ids.len() != want {
                    self.err(
                        &site,
                        format!(
                            "port `{port}` is bound to {} channels but `{name}` has {want}",
                            ids.len()
                        ),
                        None,
                    );
                    self.excused.extend(ids.iter().copied());
                    chans.insert(name.clone(), broken);
                    continue;
                }
                for &id in &ids {
                    if self.channels[id].ty != ty {
                        let outer = &self.channels[id];
                        self.err(
                            &site,
                            format!(
                                "port `{port}` carries `{ty}` but is bound to `{}` of type `{}`",
                                outer.name, outer.ty
                            ),
                            None,
                        );
                    }
                }
                ids
            } else {
                let n = count.unwrap_or(1);
                (0..n)
                    .map(|k| {
                        let inst = match count {
                            Some(_) => format!("{prefix}{name}[{k}]"),
                            None => format!("{prefix}{name}"),
                        };
                        self.channels.push(PlanChannel {
                            name: inst,
                            decl: format!("{prefix}{name}"),
                            ty: ty.clone(),
                            buffer,
                            shared,
                            cluster: cluster.to_vec(),
                            writers: vec![],
                            readers: vec![],
                        });
                        self.chan_sites.push(site.clone());
                        self.channels.len() - 1
                    })
                    .collect()
            };
            chans.insert(
                name.clone(),
                ChanEntry {
                    ids,
                    array: count.is_some(),
                    broken: false,
                },
            );
        }
        for (port, e) in &decl.ports {
            if !decl.channels.contains_key(&e.channel) {
                let site = here
                    .at(loc.find("ports", port))
                    .with(format!("port `{port}`"));
                let s = suggest(&e.channel, decl.channels.keys().map(|s| s.as_str()));
                self.err(&site, format!("unknown channel `{}`{s}", e.channel), None);
            }
        }
        chans
    }

    /// Reads a channel declaration: `"u64"` or `(type: "u64", count: .., shared: .., buffer: ..)`.
    fn channel_spec(
        &mut self,
        spec: &Value,
        scope: &Scope,
        site: &Site,
    ) -> Option<(String, Option<usize>, bool, usize)> {
        let m = match spec {
            Value::String(ty) => return Some((ty.clone(), None, false, 0)),
            Value::Map(m) => m,
            other => {
                let found = show_value(other);
                self.err(
                    site,
                    format!("expected a type name or (type: ..), found {found}"),
                    None,
                );
                return None;
            }
        };
        // Any mistake makes the whole declaration broken (reported once, not again as
        // "no writer" or "not an array" wherever the channel is used).
        let before = self.diags.len();
        let (mut ty, mut count, mut shared, mut buffer) = (None, None, false, 0usize);
        let mut typed = false;
        for (k, v) in m.iter() {
            let Value::String(k) = k else {
                self.err(site, format!("unexpected key {}", show_value(k)), None);
                continue;
            };
            match k.as_str() {
                "type" => {
                    typed = true;
                    match v {
                        Value::String(t) => ty = Some(t.clone()),
                        _ => self.err(site, "`type` must be a string such as \"u64\"", None),
                    }
                }
                "shared" => match eval_value(v, scope) {
                    Ok(Value::Bool(b)) => shared = b,
                    Ok(other) => {
                        let found = show_value(&other);
                        self.err(
                            site,
                            format!("`shared` must be true or false, not {found}"),
                            None,
                        )
                    }
                    Err(e) => self.err(site, format!("`shared`: {e}"), None),
                },
                "count" | "buffer" => match eval_int_value(v, scope) {
                    Ok(n) if k == "count" && n > MAX_COUNT => self.err(
                        site,
                        format!("`count` is {n}; at most {MAX_COUNT} are allowed"),
                        None,
                    ),
                    Ok(n) if n >= 0 => {
                        if k == "count" {
                            count = Some(n as usize)
                        } else {
                            buffer = n as usize
                        }
                    }
                    Ok(n) => self.err(site, format!("`{k}` is {n}; it must not be negative"), None),
                    Err(e) => self.err(site, format!("`{k}`: {e}"), None),
                },
                _ => {
                    let s = suggest(k, ["type", "count", "shared", "buffer"]);
                    self.err(
                        site,
                        format!("unknown field `{k}`{s}"),
                        Some("a channel has `type`, `count`, `shared` and `buffer`".into()),
                    );
                }
            }
        }
        if !typed {
            self.err(
                site,
                "missing `type`",
                Some("write e.g. (type: \"u64\")".into()),
            );
        }
        if self.diags.len() > before {
            return None;
        }
        ty.map(|t| (t, count, shared, buffer))
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
    ) {
        let mut broken = false;
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
        for r in 0..count.unwrap_or(1) {
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
            let bind_site = |key: &str| site.at(loc.find_key("processes", pname, key));
            match kind {
                Some(kind) => self.kind_instance(
                    kind, &local, pname, p, &scope, chans, &site, &bind_site, path, prefix, cluster,
                ),
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
                    let b = Binding {
                        ports,
                        site: site.clone(),
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
        let mut ports = IndexMap::new();
        let mut barriers = IndexMap::new();
        for (port, v) in &p.ports {
            let s = bind_site(port).with(format!("port `{port}`"));
            if kind.barrier_ports().iter().any(|b| b == port) {
                if let Some(b) = self.resolve_barrier(v, &s) {
                    self.barriers[b].parties.push((idx, port.clone()));
                    barriers.insert(port.clone(), b);
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
            for &id in &ids {
                let list = match spec.dir {
                    PortDir::Out => &mut self.channels[id].writers,
                    PortDir::In => &mut self.channels[id].readers,
                };
                list.push((idx, port.clone()));
            }
            if !spec.array && ids.len() != 1 {
                continue;
            }
            let bind = if spec.array {
                PortBind::Many(ids)
            } else {
                PortBind::One(ids[0])
            };
            ports.insert(port.clone(), (spec.dir, bind));
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
            if !ports.contains_key(&spec.name) && !p.ports.contains_key(&spec.name) {
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
        ports.sort_by_cached_key(|k, _| kind.ports().iter().position(|p| &p.name == k));
        self.processes.push(PlanProcess {
            name: format!("{prefix}{local}"),
            decl: format!("{prefix}{pname}"),
            kind: kind.name().to_string(),
            params: values,
            ports,
            elem: None,
            barriers,
            cluster: cluster.to_vec(),
            file: path.to_path_buf(),
            pos: site.pos,
        });
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

    /// Checks the flat network: writers and readers of every channel, parties of every
    /// barrier, and types.
    fn check(&mut self) {
        for (i, b) in self.barriers.iter().enumerate() {
            if b.parties.is_empty() {
                let site = &self.barrier_sites[i];
                self.diags.push(Diagnostic {
                    file: site.file.clone(),
                    pos: site.pos,
                    context: site.context.clone(),
                    message: "has no parties".into(),
                    help: Some("bind it to a barrier port of some process, or remove it".into()),
                });
            }
        }
        for (i, c) in self.channels.iter().enumerate() {
            let site = self.chan_sites[i].clone();
            let site = Site {
                context: vec![format!("channel `{}`", c.name)],
                ..site
            };
            let names = |v: &Vec<(usize, String)>| {
                v.iter()
                    .map(|(p, port)| format!("`{}` (port `{port}`)", self.processes[*p].name))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut errs = Vec::new();
            if self.excused.contains(&i) && (c.writers.is_empty() || c.readers.is_empty()) {
                continue;
            }
            if c.writers.is_empty() {
                errs.push((
                    "has no writer".to_string(),
                    Some("bind it to an output port of some process".to_string()),
                ));
            }
            if c.readers.is_empty() {
                errs.push((
                    "has no reader".to_string(),
                    Some("bind it to an input port of some process".to_string()),
                ));
            }
            if !c.shared && c.writers.len() > 1 {
                errs.push((
                    format!("has {} writers: {}", c.writers.len(), names(&c.writers)),
                    Some(
                        "declare it with `shared: true`, or give each writer its own channel"
                            .into(),
                    ),
                ));
            }
            if !c.shared && c.readers.len() > 1 {
                errs.push((
                    format!("has {} readers: {}", c.readers.len(), names(&c.readers)),
                    Some(
                        "declare it with `shared: true`, or give each reader its own channel"
                            .into(),
                    ),
                ));
            }
            for (m, h) in errs {
                self.diags.push(Diagnostic {
                    file: site.file.clone(),
                    pos: site.pos,
                    context: site.context.clone(),
                    message: m,
                    help: h,
                });
            }
        }
        for pi in 0..self.processes.len() {
            let p = &self.processes[pi];
            let kind = self.reg.kind(&p.kind).expect("checked kind");
            let site = Site {
                file: p.file.clone(),
                pos: p.pos,
                context: vec![format!("process `{}`", p.name)],
            };
            let mut elem: Option<(String, String, String)> = None; // (type, port, channel)
            let mut errs = Vec::new();
            for (port, (_, bind)) in &p.ports {
                let spec = kind.port_spec(port).expect("checked port");
                let ids = match bind {
                    PortBind::One(i) => vec![*i],
                    PortBind::Many(v) => v.clone(),
                };
                for id in ids {
                    let ch = &self.channels[id];
                    if spec.ty == "T" {
                        match &elem {
                            None => elem = Some((ch.ty.clone(), port.clone(), ch.name.clone())),
                            Some((t, p0, c0)) if *t != ch.ty => errs.push(format!(
                                "port `{p0}` is bound to `{c0}` ({t}) but port `{port}` to `{}` ({}); a process of kind `{}` carries one type",
                                ch.name, ch.ty, kind.name()
                            )),
                            _ => {}
                        }
                    } else if spec.ty != ch.ty {
                        errs.push(format!(
                            "port `{port}` carries `{}` but channel `{}` carries `{}`",
                            spec.ty, ch.name, ch.ty
                        ));
                    }
                }
            }
            let elem = elem.map(|e| e.0);
            if let Some(t) = &elem {
                let info = self.reg.type_info(t).expect("checked type");
                if kind.is_numeric() && !info.is_numeric() {
                    errs.push(format!(
                        "kind `{}` works on i64, u64 or f64, not `{t}`",
                        kind.name()
                    ));
                } else {
                    for spec in kind.params().iter().filter(|s| s.ty == ParamType::Elem) {
                        if let Some(v) = p.params.get(&spec.name) {
                            if !matches!(v, Value::Unit) {
                                if let Err(e) = info.check_value(v) {
                                    let e = lower_first(&e);
                                    errs.push(format!("param `{}` is not a `{t}`: {e}", spec.name));
                                }
                            }
                        }
                    }
                }
            }
            for e in errs {
                self.err(&site, e, None);
            }
            self.processes[pi].elem = elem;
        }
    }
}

/// Checks a param value against its declared type.
fn check_param(ty: ParamType, v: &Value) -> Result<(), String> {
    let ok = match ty {
        ParamType::Int => as_int(v).is_some(),
        ParamType::UInt => {
            as_int(v).is_some_and(|n| n >= 0)
                || matches!(v, Value::Number(ron::value::Number::U64(_)))
        }
        ParamType::Float => matches!(v, Value::Number(_)),
        ParamType::Bool => matches!(v, Value::Bool(_)),
        ParamType::Str => matches!(v, Value::String(_)),
        ParamType::Elem | ParamType::Any => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected a {ty}, found {}", show_value(v)))
    }
}

/// `s` with its first letter in lower case (serde's messages start with a capital).
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
