//! Checking an elaborated network as a whole, as a pure function of its [`Plan`] and the
//! [`Registry`]: every channel has its writer and reader (one each unless shared), every
//! barrier its parties, every process consistent types, and every exported port the right
//! direction. Elaboration (loader.rs) reports what it finds while reading files (syntax,
//! names, expressions, limits); this pass reports what only the whole network shows.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use indexmap::IndexMap;
use ron::Value;

use super::codes;
use super::error::{push_once, Site};
use super::expr::as_int;
use super::{Diagnostic, Plan};
use crate::registry::{show_value, ParamType, PortDir, Registry};

/// Where the parts of a plan were declared, for the checker's diagnostics, and what
/// elaboration already knows to be broken. A plan holds it once (`Arc`).
#[derive(Debug, Default)]
pub(crate) struct Sites {
    /// Where each channel declaration is, by its qualified name ([`super::PlanChannel::decl`]).
    pub(crate) channels: HashMap<Arc<str>, Site>,
    /// Where each barrier is declared, in [`Plan::barriers`]' order.
    pub(crate) barriers: Vec<Site>,
    /// Channels bound by processes already reported broken: a missing writer or reader
    /// there is a consequence, not another mistake.
    pub(crate) excused: HashSet<usize>,
    /// Every file's exported ports (`ports:`), sub-networks' and the top level's.
    pub(crate) exports: Vec<Export>,
}

/// One exported port of one file (of one sub-network instance).
#[derive(Debug)]
pub(crate) struct Export {
    pub(crate) site: Site,
    /// The port's name.
    pub(crate) port: String,
    /// Whether its channel is an array (its elements are ports `port[0]`, ...).
    pub(crate) array: bool,
    pub(crate) dir: PortDir,
    /// Its channel's name as the file declares it.
    pub(crate) channel: String,
    pub(crate) ids: Vec<usize>,
    /// The qualified-name prefix of the processes inside (`farm.worker[2].`; empty at top
    /// level).
    pub(crate) prefix: String,
}

/// Where a channel declaration is, the help for one mistake, and the instances with it.
type Faults = (Option<Site>, &'static str, Option<String>, Vec<String>);

/// Checks `plan` as a whole against `registry`: the wiring of every channel and barrier,
/// the types of every process, the directions of exported ports, and every process's
/// rank below the plan's [`ranks`](Plan::ranks). Returns every
/// problem found (none for a plan [`load`](super::load) returned), each with its code,
/// the file, line and column of the declaration at fault, and help where it can give some.
///
/// It reads the plan only, so a tool that builds or changes a plan (an editor, a
/// placement pass) can check it again.
///
/// # Examples
/// ```
/// # let dir = std::env::temp_dir().join(format!("occamy-doc-check-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join("two.ron");
/// std::fs::write(&file, r#"Network(
///     name: "two",
///     channels: { "c": "u64" },
///     processes: {
///         "nums": (kind: "numbers", params: { "count": 3 }, ports: { "out": "c" }),
///         "sink": (kind: "discard", ports: { "in": "c" }),
///     },
/// )"#).unwrap();
/// let reg = occamy::network::Registry::with_builtins();
/// let mut plan = occamy::network::load(&file, &[], &reg).unwrap();
/// assert!(occamy::network::check(&plan, &reg).is_empty());
/// // Take away the sink: its channel has no reader.
/// plan.processes.pop();
/// plan.channels[0].readers.clear();
/// let diags = occamy::network::check(&plan, &reg);
/// assert_eq!(diags[0].code, "E0303");
/// assert_eq!(diags[0].pos, Some((3, 17)));
/// assert_eq!(diags[0].to_string().lines().next().unwrap(),
///            format!("{}:3:17: error[E0303]: channel `c`: has no reader", file.display()));
/// ```
pub fn check(plan: &Plan, registry: &Registry) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let misdirected = exports(plan, &mut diags);
    barriers(plan, &mut diags);
    channels(plan, &misdirected, &mut diags);
    types(plan, registry, &mut diags);
    ranks(plan, &mut diags);
    if plan.ranks > 1 {
        cross_ranks(plan, registry, &mut diags);
    }
    diags
}

/// What may cross ranks: a channel with ends on several ranks needs a codec for its type,
/// and may not be both written and read on several. (A barrier's parties may be on any
/// ranks: `mpi::World::barrier` joins its sides.)
fn cross_ranks(plan: &Plan, reg: &Registry, diags: &mut Vec<Diagnostic>) {
    let list = |v: &[u32]| {
        let s = if v.len() == 1 { "" } else { "s" };
        let v: Vec<String> = v.iter().map(u32::to_string).collect();
        format!("rank{s} {}", v.join(", "))
    };
    let dedup = |mut v: Vec<u32>| {
        v.sort_unstable();
        v.dedup();
        v
    };
    for (ci, c) in plan.channels.iter().enumerate() {
        let (w, r) = plan.end_ranks(ci);
        let (w, r) = (dedup(w), dedup(r));
        let mut all: Vec<u32> = w.iter().chain(&r).copied().collect();
        all.sort_unstable();
        all.dedup();
        if all.len() < 2 {
            continue;
        }
        let site = plan
            .sites
            .channels
            .get(&c.decl)
            .cloned()
            .unwrap_or_else(|| file_site(plan, String::new()));
        let diag = |code, m: String, h: String| Diagnostic {
            context: vec![format!("channel `{}`", c.name)],
            ..site.diag(code, m, Some(h))
        };
        if reg.type_info(&c.ty).is_some_and(|t| !t.has_codec()) {
            let m = format!(
                "crosses ranks (written on {}, read on {}) but its type `{}` has no codec to cross them with",
                list(&w),
                list(&r),
                c.ty
            );
            let h = format!(
                "give `{}` a codec with `Registry::add_codec` (it must be Serialize and Deserialize), or place the channel's writers and readers on one rank",
                c.ty
            );
            push_once(diags, diag(codes::NO_CODEC, m, h));
        }
        if r.len() > 1 && w.len() > 1 {
            let m = format!(
                "is written on {} and read on {}: a channel read on several ranks must be written on one",
                list(&w),
                list(&r)
            );
            let h = "place its writers on one rank (or its readers), or split it into one channel per writer rank";
            push_once(diags, diag(codes::SPREAD_BOTH, m, h.into()));
        }
    }
}

/// Every process is on one of the plan's ranks. Elaboration checks each `rank:` where it
/// is written (a rank below 0 cannot even be held in a plan), so for a loaded plan this
/// finds nothing: it is for a plan a tool has placed or changed since. A declaration's
/// replicas out of range are reported once, at the first.
fn ranks(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    // Declaration -> its first process out of range, and how many are.
    let mut faults: IndexMap<&str, (usize, usize)> = IndexMap::new();
    for (i, p) in plan.processes.iter().enumerate() {
        if p.rank >= plan.ranks {
            faults.entry(&*p.decl).or_insert((i, 0)).1 += 1;
        }
    }
    for (first, count) in faults.into_values() {
        let p = &plan.processes[first];
        let Some((m, help)) = rank_fault(p.rank.into(), plan.ranks, count - 1) else {
            continue;
        };
        let site = Site {
            file: p.file.to_path_buf(),
            pos: p.pos,
            context: vec![format!("process `{}`", p.name)],
        };
        diags.push(site.diag(codes::RANK_RANGE, m, Some(help)));
    }
}

/// The site of `plan`'s file as a whole (for a plan whose sites are unknown).
fn file_site(plan: &Plan, context: String) -> Site {
    Site {
        file: plan.file.clone(),
        pos: None,
        context: vec![context],
    }
}

/// An exported port's channel is only read inside its network (`In`) or only written
/// (`Out`); the other side is the including network's, or, at top level, the program's.
/// A top-level port also may not have a process's name: values are asked for by name.
/// Returns the channels of ports found to have the wrong direction (their writers and
/// readers are not counted again).
fn exports(plan: &Plan, diags: &mut Vec<Diagnostic>) -> HashSet<usize> {
    let mut misdirected = HashSet::new();
    for e in &plan.sites.exports {
        for &id in &e.ids {
            let Some(c) = plan.channels.get(id) else {
                continue;
            };
            let (wrong, what) = match e.dir {
                PortDir::In => (&c.writers, "written"),
                PortDir::Out => (&c.readers, "read"),
            };
            let inside: Vec<String> = wrong
                .iter()
                .filter_map(|(p, _)| plan.processes.get(*p))
                .map(|p| &p.name)
                .filter(|n| n.starts_with(&e.prefix))
                .map(|n| format!("`{n}`"))
                .collect();
            if !inside.is_empty() {
                misdirected.insert(id);
                let m = format!(
                    "is an {} port, but its channel `{}` is {what} inside the network by {}",
                    if e.dir == PortDir::In {
                        "input"
                    } else {
                        "output"
                    },
                    e.channel,
                    inside.join(", ")
                );
                let help = "use `dir: In` for values coming in, `dir: Out` for values going out";
                push_once(diags, e.site.diag(codes::EXPORT_DIR, m, Some(help.into())));
            }
        }
    }
    if plan.ports.is_empty() {
        return misdirected;
    }
    // A port's name has no `.`: only top-level processes can share it.
    let names: HashSet<&str> = plan
        .processes
        .iter()
        .filter(|p| p.cluster.is_empty())
        .map(|p| p.name.as_str())
        .collect();
    for port in &plan.ports {
        if names.contains(port.name.as_str()) {
            let site = plan
                .sites
                .exports
                .iter()
                .find(|e| e.prefix.is_empty() && e.ids.contains(&port.channel))
                .map(|e| e.site.clone())
                .unwrap_or_else(|| file_site(plan, format!("port `{}`", port.name)));
            let m = format!("has the name of process `{}`", port.name);
            let help =
                "rename one: `RunReport::values` finds a port's and a process's values by name";
            push_once(
                diags,
                site.diag(codes::PORT_NAME_CLASH, m, Some(help.into())),
            );
        }
    }
    misdirected
}

fn barriers(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for (i, b) in plan.barriers.iter().enumerate() {
        if b.parties.is_empty() {
            let site = plan
                .sites
                .barriers
                .get(i)
                .cloned()
                .unwrap_or_else(|| file_site(plan, format!("barrier `{}`", b.name)));
            diags.push(site.diag(
                codes::NO_PARTIES,
                "has no parties",
                Some("bind it to a barrier port of some process, or remove it".into()),
            ));
        }
    }
}

fn channels(plan: &Plan, misdirected: &HashSet<usize>, diags: &mut Vec<Diagnostic>) {
    // The channels the program feeds (writes) or collects (reads) at top level.
    let mut fed: HashMap<usize, Vec<&str>> = HashMap::new();
    let mut collected: HashMap<usize, Vec<&str>> = HashMap::new();
    for p in &plan.ports {
        match p.dir {
            PortDir::In => &mut fed,
            PortDir::Out => &mut collected,
        }
        .entry(p.channel)
        .or_default()
        .push(&p.name);
    }
    let none = Vec::new();
    // Per declaration and message, the instances at fault: an array whose elements all
    // lack a writer is one mistake, reported once.
    let mut grouped: IndexMap<(&str, String), Faults> = IndexMap::new();
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for c in &plan.channels {
        *sizes.entry(&*c.decl).or_default() += 1;
    }
    let name_of = |p: usize| plan.processes.get(p).map_or("?", |p| p.name.as_str());
    for (i, c) in plan.channels.iter().enumerate() {
        let (fed, collected) = (
            fed.get(&i).unwrap_or(&none),
            collected.get(&i).unwrap_or(&none),
        );
        // The processes at its ends, then the network's own ports (the program's side).
        let names = |v: &Vec<(usize, Arc<str>)>, open: &Vec<&str>| {
            v.iter()
                .map(|(p, port)| format!("`{}` (port `{port}`)", name_of(*p)))
                .chain(open.iter().map(|n| format!("the program (port `{n}`)")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (no_writer, no_reader) = (
            c.writers.is_empty() && fed.is_empty(),
            c.readers.is_empty() && collected.is_empty(),
        );
        if plan.sites.excused.contains(&i) && (no_writer || no_reader) || misdirected.contains(&i) {
            continue;
        }
        let mut errs: Vec<(&'static str, String, Option<String>)> = Vec::new();
        // A channel no process uses is one mistake (declared but not wired, or left
        // over), not two.
        if no_writer && no_reader {
            errs.push((
                codes::UNUSED_CHANNEL,
                "has no writer and no reader".to_string(),
                Some("bind it to ports of some processes, or remove it".to_string()),
            ));
        } else if no_writer {
            errs.push((
                codes::NO_WRITER,
                "has no writer".to_string(),
                Some("bind it to an output port of some process".to_string()),
            ));
        } else if no_reader {
            errs.push((
                codes::NO_READER,
                "has no reader".to_string(),
                Some("bind it to an input port of some process".to_string()),
            ));
        }
        let writers = c.writers.len() + fed.len();
        if !c.shared && writers > 1 {
            errs.push((
                codes::WRITERS,
                format!("has {writers} writers: {}", names(&c.writers, fed)),
                Some("declare it with `shared: true`, or give each writer its own channel".into()),
            ));
        }
        let readers = c.readers.len() + collected.len();
        if !c.shared && readers > 1 {
            errs.push((
                codes::READERS,
                format!("has {readers} readers: {}", names(&c.readers, collected)),
                Some("declare it with `shared: true`, or give each reader its own channel".into()),
            ));
        }
        for (code, m, h) in errs {
            grouped
                .entry((&c.decl, m))
                .or_insert_with(|| (plan.sites.channels.get(&c.decl).cloned(), code, h, vec![]))
                .3
                .push(c.name.clone());
        }
    }
    for ((decl, message), (site, code, help, names)) in grouped {
        let total = sizes.get(decl).copied().unwrap_or(1);
        let (context, message) = if names.len() == 1 {
            (format!("channel `{}`", names[0]), message)
        } else {
            let shown: Vec<String> = names.iter().take(3).map(|n| format!("`{n}`")).collect();
            let more = if names.len() > 3 { ", ..." } else { "" };
            let m = format!(
                "{message}: {} of its {total} elements ({}{more})",
                names.len(),
                shown.join(", ")
            );
            (format!("channel `{decl}`"), m)
        };
        let site = site.unwrap_or_else(|| file_site(plan, String::new()));
        diags.push(Diagnostic {
            context: vec![context],
            ..site.diag(code, message, help)
        });
    }
}

/// Each process's ports against its kind's, and its element type against its kind and
/// its params of that type.
fn types(plan: &Plan, reg: &Registry, diags: &mut Vec<Diagnostic>) {
    for p in &plan.processes {
        let site = Site {
            file: p.file.to_path_buf(),
            pos: p.pos,
            context: vec![format!("process `{}`", p.name)],
        };
        let Some(kind) = reg.kind(&p.kind) else {
            let m = format!("unknown kind `{}`", p.kind);
            let help = "`occamy kinds` lists the kinds";
            push_once(diags, site.diag(codes::UNKNOWN_KIND, m, Some(help.into())));
            continue;
        };
        let mut elem: Option<(&str, &str, &str)> = None; // (type, port, channel)
        let mut errs = Vec::new();
        for b in p.ports.iter() {
            let port = &*b.name;
            let Some(spec) = kind.port_spec(port) else {
                errs.push((codes::UNKNOWN_PORT, format!("unknown port `{port}`")));
                continue;
            };
            for &id in b.bind.ids() {
                let Some(ch) = plan.channels.get(id) else {
                    continue;
                };
                if spec.ty == "T" {
                    match elem {
                        None => elem = Some((&ch.ty, port, &ch.name)),
                        Some((t, p0, c0)) if t != &*ch.ty => errs.push((
                            codes::GENERIC_MISMATCH,
                            format!(
                                "port `{p0}` is bound to `{c0}` ({t}) but port `{port}` to `{}` ({}); a process of kind `{}` carries one type",
                                ch.name, ch.ty, kind.name()
                            ),
                        )),
                        _ => {}
                    }
                } else if *spec.ty != *ch.ty {
                    errs.push((
                        codes::PORT_TYPE,
                        format!(
                            "port `{port}` carries `{}` but channel `{}` carries `{}`",
                            spec.ty, ch.name, ch.ty
                        ),
                    ));
                }
            }
        }
        if let Some((t, ..)) = elem {
            match reg.type_info(t) {
                None => errs.push((codes::UNKNOWN_TYPE, format!("unknown type `{t}`"))),
                Some(info) if kind.is_numeric() && !info.is_numeric() => errs.push((
                    codes::NOT_NUMERIC,
                    format!("kind `{}` works on i64, u64 or f64, not `{t}`", kind.name()),
                )),
                Some(info) => {
                    for spec in kind.params().iter().filter(|s| s.ty == ParamType::Elem) {
                        if let Some(v) = p.params.get(&spec.name) {
                            if !matches!(v, Value::Unit) {
                                if let Err(e) = info.check_value(v) {
                                    let e = lower_first(&e);
                                    errs.push((
                                        codes::ELEM_PARAM,
                                        format!("param `{}` is not a `{t}`: {e}", spec.name),
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
        for (code, e) in errs {
            push_once(diags, site.diag(code, e, None));
        }
    }
}

/// Checks a param value against its declared type.
pub(super) fn check_param(ty: ParamType, v: &Value) -> Result<(), String> {
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

/// Checks a computed rank against the run's number of ranks: the rank, or the message
/// and help of the error.
pub(super) fn check_rank(value: i64, ranks: u32) -> Result<u32, (String, String)> {
    if (0..i64::from(ranks)).contains(&value) {
        return Ok(value as u32);
    }
    let s = if ranks == 1 { "" } else { "s" };
    Err((
        format!(
            "rank {value} is out of range: this run has {ranks} rank{s} (0..={})",
            ranks.saturating_sub(1)
        ),
        if value < 0 {
            "ranks count from 0: compute the rank modulo `$ranks` (`rank: \"$i % $ranks\"`)"
        } else {
            "run on more ranks (`--ranks N`), or compute the rank modulo `$ranks` \
             (`rank: \"$i % $ranks\"`)"
        }
        .into(),
    ))
}

/// The message and help for a rank out of range shared by `more` other replicas of its
/// declaration (`None` when it is in range).
pub(super) fn rank_fault(value: i64, ranks: u32, more: usize) -> Option<(String, String)> {
    let (mut m, help) = check_rank(value, ranks).err()?;
    match more {
        0 => {}
        1 => m.push_str("; so is that of 1 more replica"),
        n => m.push_str(&format!("; so are those of {n} more replicas")),
    }
    Some((m, help))
}

/// `s` with its first letter in lower case (serde's messages start with a capital).
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
