//! Channel declarations: reading a file's `channels` (shorthand or full specs, arrays,
//! buffers, shared channels) into channel instances, and aliasing a sub-network's exported
//! channels to the including network's.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use ron::Value;

use super::codes;
use super::error::Site;
use super::expr::{eval_int_value, eval_value, Scope};
use super::loader::{Binding, ChanEntry, Loader, MAX_BUFFER, MAX_CHANNELS, MAX_COUNT};
use super::model::{Locator, NetworkDecl};
use super::{suggest, PlanChannel};
use crate::registry::show_value;

impl Loader<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn channels_of(
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
                        codes::UNKNOWN_SUB_PORT,
                        &b.site,
                        format!("sub-network `{}` has no port `{port}`{s}", decl.name),
                        None,
                    );
                }
            }
            for port in decl.ports.keys() {
                if !b.ports.contains_key(port) {
                    self.err(
                        codes::SUB_PORT_UNBOUND,
                        &b.site,
                        format!("port `{port}` of sub-network `{}` is not bound", decl.name),
                        Some(format!(
                            "add `\"{port}\": \"CHANNEL\"` to the process's ports"
                        )),
                    );
                }
            }
        }
        for (k, (name, spec)) in decl.channels.iter().enumerate() {
            let siblings = decl.channels.len() - k - 1;
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
                    codes::UNKNOWN_TYPE,
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
                        codes::EXPORT_TYPE,
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
                        codes::SUB_PORT_COUNT,
                        &site,
                        format!(
                            "port `{port}` is bound to {} channels but `{name}` has {want}",
                            ids.len()
                        ),
                        None,
                    );
                    self.sites.excused.extend(ids.iter().copied());
                    chans.insert(name.clone(), broken);
                    continue;
                }
                for &id in &ids {
                    if *self.channels[id].ty != *ty {
                        let outer = &self.channels[id];
                        self.err(
                            codes::SUB_PORT_TYPE,
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
                if self.channels.len() + n > MAX_CHANNELS {
                    self.too_big(&site, "channels", MAX_CHANNELS);
                    chans.insert(name.clone(), broken);
                    continue;
                }
                // Room for the declarations after this one too (see `Loader::siblings`).
                self.channels.reserve(n + siblings);
                let decl: Arc<str> = format!("{prefix}{name}").into();
                self.sites.channels.insert(decl.clone(), site.clone());
                let ty: Arc<str> = ty.as_str().into();
                let cluster = self.cluster_of(cluster);
                (0..n)
                    .map(|k| {
                        let inst = match count {
                            Some(_) => format!("{prefix}{name}[{k}]"),
                            None => format!("{prefix}{name}"),
                        };
                        self.channels.push(PlanChannel {
                            name: inst,
                            decl: decl.clone(),
                            ty: ty.clone(),
                            buffer,
                            shared,
                            cluster: cluster.clone(),
                            writers: vec![],
                            readers: vec![],
                        });
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
                let m = format!("unknown channel `{}`{s}", e.channel);
                self.err(codes::UNKNOWN_CHANNEL, &site, m, None);
            }
        }
        chans
    }

    /// Reads a channel declaration: `"u64"` or `(type: "u64", count: .., shared: .., buffer: ..)`.
    pub(super) fn channel_spec(
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
                    codes::WRONG_SHAPE,
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
                let m = format!("unexpected key {}", show_value(k));
                self.err(codes::UNKNOWN_CHANNEL_FIELD, site, m, None);
                continue;
            };
            match k.as_str() {
                "type" => {
                    typed = true;
                    match v {
                        Value::String(t) => ty = Some(t.clone()),
                        _ => self.err(
                            codes::WRONG_SHAPE,
                            site,
                            "`type` must be a string such as \"u64\"",
                            None,
                        ),
                    }
                }
                "shared" => match eval_value(v, scope) {
                    Ok(Value::Bool(b)) => shared = b,
                    Ok(other) => {
                        let found = show_value(&other);
                        self.err(
                            codes::WRONG_SHAPE,
                            site,
                            format!("`shared` must be true or false, not {found}"),
                            None,
                        )
                    }
                    Err(e) => self.err(e.code, site, format!("`shared`: {e}"), None),
                },
                "count" | "buffer" => match eval_int_value(v, scope) {
                    Ok(n) if k == "count" && n > MAX_COUNT => self.err(
                        codes::COUNT_LIMIT,
                        site,
                        format!("`count` is {n}; at most {MAX_COUNT} are allowed"),
                        None,
                    ),
                    Ok(n) if k == "buffer" && n > MAX_BUFFER => self.err(
                        codes::BUFFER_LIMIT,
                        site,
                        format!("`buffer` is {n}; at most {MAX_BUFFER} are allowed"),
                        None,
                    ),
                    Ok(n) if n >= 0 => {
                        if k == "count" {
                            count = Some(n as usize)
                        } else {
                            buffer = n as usize
                        }
                    }
                    Ok(n) => {
                        let m = format!("`{k}` is {n}; it must not be negative");
                        self.err(codes::NEGATIVE, site, m, None)
                    }
                    Err(e) => self.err(e.code, site, format!("`{k}`: {e}"), None),
                },
                _ => {
                    let s = suggest(k, ["type", "count", "shared", "buffer"]);
                    self.err(
                        codes::UNKNOWN_CHANNEL_FIELD,
                        site,
                        format!("unknown field `{k}`{s}"),
                        Some("a channel has `type`, `count`, `shared` and `buffer`".into()),
                    );
                }
            }
        }
        if !typed {
            self.err(
                codes::MISSING_TYPE,
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
}
