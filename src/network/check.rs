//! Checking a loaded network as a whole: every channel has its writer and reader (one
//! each unless shared), every barrier its parties, every process consistent types, and
//! every exported port of a sub-network the right direction.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;

use ron::Value;

use super::expr::as_int;
use super::loader::{ChanEntry, Loader, Site};
use super::model::{Locator, NetworkDecl};
use super::Diagnostic;
use crate::registry::{show_value, ParamType, PortDir};

/// Where a channel declaration is, the help for one mistake, and the instances with it.
type Faults = (Site, Option<String>, Vec<String>);

impl Loader<'_> {
    /// An exported port's channel is only read inside the sub-network (`In`) or only
    /// written (`Out`); the other side is the including network's.
    pub(super) fn check_exports(
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

    /// Checks the flat network: writers and readers of every channel, parties of every
    /// barrier, and types.
    pub(super) fn check(&mut self) {
        for (i, b) in self.barriers.iter().enumerate() {
            let mut ranks: Vec<u32> = b
                .parties
                .iter()
                .map(|(p, _)| self.processes[*p].rank)
                .collect();
            ranks.sort_unstable();
            ranks.dedup();
            if ranks.len() > 1 {
                let site = &self.barrier_sites[i];
                let list: Vec<String> = ranks.iter().map(u32::to_string).collect();
                self.diags.push(Diagnostic {
                    file: site.file.clone(),
                    pos: site.pos,
                    context: site.context.clone(),
                    message: format!(
                        "has parties on ranks {}: a barrier does not cross ranks",
                        list.join(", ")
                    ),
                    help: Some("place every party of the barrier on one rank".into()),
                });
            }
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
        // Per declaration and message, the instances at fault: an array whose elements all
        // lack a writer is one mistake, reported once.
        let mut grouped: IndexMap<(String, String), Faults> = IndexMap::new();
        let mut sizes: HashMap<&str, usize> = HashMap::new();
        for c in &self.channels {
            *sizes.entry(&*c.decl).or_default() += 1;
        }
        for (i, c) in self.channels.iter().enumerate() {
            let site = &self.decl_sites[self.chan_sites[i] as usize];
            let names = |v: &Vec<(usize, Arc<str>)>| {
                v.iter()
                    .map(|(p, port)| format!("`{}` (port `{port}`)", self.processes[*p].name))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut errs = Vec::new();
            if self.excused.contains(&i) && (c.writers.is_empty() || c.readers.is_empty()) {
                continue;
            }
            // A channel no process uses is one mistake (declared but not wired, or left
            // over), not two.
            if c.writers.is_empty() && c.readers.is_empty() {
                errs.push((
                    "has no writer and no reader".to_string(),
                    Some("bind it to ports of some processes, or remove it".to_string()),
                ));
            } else if c.writers.is_empty() {
                errs.push((
                    "has no writer".to_string(),
                    Some("bind it to an output port of some process".to_string()),
                ));
            } else if c.readers.is_empty() {
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
            if self.ranks > 1 {
                errs.extend(self.cross_rank_faults(c));
            }
            for (m, h) in errs {
                grouped
                    .entry((c.decl.to_string(), m))
                    .or_insert_with(|| (site.clone(), h, vec![]))
                    .2
                    .push(c.name.clone());
            }
        }
        for ((decl, message), (site, help, names)) in grouped {
            let total = sizes.get(decl.as_str()).copied().unwrap_or(1);
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
            self.diags.push(Diagnostic {
                file: site.file,
                pos: site.pos,
                context: vec![context],
                message,
                help,
            });
        }
        for pi in 0..self.processes.len() {
            let p = &self.processes[pi];
            let kind = self.reg.kind(&p.kind).expect("checked kind");
            let mut elem: Option<(Arc<str>, &str, &str)> = None; // (type, port, channel)
            let mut errs = Vec::new();
            for b in p.ports.iter() {
                let port = &*b.name;
                let spec = kind.port_spec(port).expect("checked port");
                for &id in b.bind.ids() {
                    let ch = &self.channels[id];
                    if spec.ty == "T" {
                        match &elem {
                            None => elem = Some((ch.ty.clone(), port, &ch.name)),
                            Some((t, p0, c0)) if **t != *ch.ty => errs.push(format!(
                                "port `{p0}` is bound to `{c0}` ({t}) but port `{port}` to `{}` ({}); a process of kind `{}` carries one type",
                                ch.name, ch.ty, kind.name()
                            )),
                            _ => {}
                        }
                    } else if *spec.ty != *ch.ty {
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
            if !errs.is_empty() {
                let site = Site {
                    file: p.file.to_path_buf(),
                    pos: p.pos,
                    context: vec![format!("process `{}`", p.name)],
                };
                for e in errs {
                    self.err(&site, e, None);
                }
            }
            self.processes[pi].elem = elem;
        }
    }
}

impl Loader<'_> {
    /// What keeps channel `c` from crossing ranks, if its ends are placed on several: a
    /// type without a codec, or readers on more than one rank.
    fn cross_rank_faults(&self, c: &super::PlanChannel) -> Vec<(String, Option<String>)> {
        let rank = |v: &Vec<(usize, Arc<str>)>| -> Vec<u32> {
            let mut r: Vec<u32> = v.iter().map(|(p, _)| self.processes[*p].rank).collect();
            r.sort_unstable();
            r.dedup();
            r
        };
        let (w, r) = (rank(&c.writers), rank(&c.readers));
        let mut all: Vec<u32> = w.iter().chain(&r).copied().collect();
        all.sort_unstable();
        all.dedup();
        if all.len() < 2 {
            return Vec::new();
        }
        let list = |v: &[u32]| {
            let s = if v.len() == 1 { "" } else { "s" };
            let v: Vec<String> = v.iter().map(u32::to_string).collect();
            format!("rank{s} {}", v.join(", "))
        };
        let mut errs = Vec::new();
        let info = self.reg.type_info(&c.ty).expect("checked type");
        if !info.has_codec() {
            errs.push((
                format!(
                    "crosses ranks (written on {}, read on {}) but its type `{}` has no codec to cross them with",
                    list(&w),
                    list(&r),
                    c.ty
                ),
                Some(format!(
                    "give `{}` a codec with `Registry::add_codec` (it must be Serialize and Deserialize), or place the channel's writers and readers on one rank",
                    c.ty
                )),
            ));
        }
        if r.len() > 1 && w.len() > 1 {
            errs.push((
                format!(
                    "is written on {} and read on {}: a channel read on several ranks must be written on one",
                    list(&w),
                    list(&r)
                ),
                Some("place its writers on one rank (or its readers), or split it into one channel per writer rank".into()),
            ));
        }
        errs
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

/// `s` with its first letter in lower case (serde's messages start with a capital).
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
