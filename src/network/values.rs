//! Values a network hands back to the program that ran it: what its sink processes (the
//! built-in `collect`, or a program's own kinds through [`BuildCtx::values_out`](super::BuildCtx::values_out)) kept,
//! by process name, read typed from the [`RunReport`](super::RunReport).

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::runtime::record::lock_std;

/// Where one process leaves values for the program that ran its network: a cheap,
/// clonable handle, made by [`BuildCtx::values_out`](super::BuildCtx::values_out). The run's report gives the values
/// back under the process's name ([`RunReport::values`](super::RunReport::values)).
///
/// # Examples
/// A kind that hands back the sum of its input, as the program's result:
/// ```
/// use occamy::network::{Kind, Registry};
/// let mut reg = Registry::with_builtins();
/// reg.register(Kind::new("sum", "adds up `in`; hands back the total").input("in", "u64").build(|ctx| {
///     let rx = ctx.input::<u64>("in")?;
///     let out = ctx.values_out::<u64>();
///     Ok(ctx.process_async(async move {
///         let mut total = 0;
///         while let Ok(v) = rx.recv_async().await {
///             total += v;
///         }
///         out.push(total);
///         Ok(())
///     }))
/// }));
/// # let dir = std::env::temp_dir().join(format!("occamy-doc-values-out-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join("sum.ron");
/// std::fs::write(&file, r#"Network(
///     name: "sum",
///     channels: { "c": "u64" },
///     processes: {
///         "nums":  (kind: "numbers", params: { "start": 1, "count": 4 }, ports: { "out": "c" }),
///         "total": (kind: "sum", ports: { "in": "c" }),
///     },
/// )"#).unwrap();
/// let report = occamy::network::run_file(&file, &[], &reg).unwrap();
/// assert_eq!(report.values::<u64>("total").unwrap(), [10]);
/// ```
pub struct ValuesOut<T> {
    values: Arc<Mutex<Vec<T>>>,
}

impl<T> Clone for ValuesOut<T> {
    fn clone(&self) -> Self {
        ValuesOut {
            values: self.values.clone(),
        }
    }
}

impl<T> fmt::Debug for ValuesOut<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValuesOut<{}>", std::any::type_name::<T>())
    }
}

impl<T> ValuesOut<T> {
    /// Keeps `v` for the program, after the values kept before it.
    pub fn push(&self, v: T) {
        lock_std(&self.values).push(v);
    }
}

/// What went wrong taking a process's values from a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuesError {
    /// No process or open port of that name kept values (it is not in the network, or its
    /// kind hands none back).
    Unknown {
        /// The name asked for.
        name: String,
        /// The processes and output ports that did keep values, in the order they were
        /// built (the ports after the processes).
        known: Vec<String>,
    },
    /// The process (or port) keeps values of another type.
    WrongType {
        /// The process's (or port's) name.
        name: String,
        /// Whether `name` is an open port of the network (else a process).
        port: bool,
        /// The type its values have (without module paths: `String`, `Vec<u8>`).
        kept: String,
        /// The type asked for.
        asked: String,
    },
}

impl fmt::Display for ValuesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValuesError::Unknown { name, known } if known.is_empty() => write!(
                f,
                "no process or port `{name}` hands back values (none in this network does)"
            ),
            ValuesError::Unknown { name, known } => {
                let s = super::suggest(name, known.iter().map(String::as_str));
                const SHOWN: usize = 10;
                let mut names: Vec<String> =
                    known.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
                if known.len() > SHOWN {
                    names.push(format!("... ({} in all)", known.len()));
                }
                write!(
                    f,
                    "no process or port `{name}` hands back values{s}; those that do: {}",
                    names.join(", ")
                )
            }
            ValuesError::WrongType {
                name,
                port,
                kept,
                asked,
            } => write!(
                f,
                "{} `{name}` hands back values of type `{kept}`, not `{asked}`",
                if *port { "port" } else { "process" }
            ),
        }
    }
}

impl std::error::Error for ValuesError {}

/// `name` without module paths: `alloc::vec::Vec<alloc::string::String>` is
/// `Vec<String>`, as a network file names types.
pub(crate) fn short_type_name(name: &str) -> String {
    let mut out = String::new();
    let mut seg = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            seg.clear();
        } else if c.is_alphanumeric() || c == '_' {
            seg.push(c);
        } else {
            out.push_str(&seg);
            seg.clear();
            out.push(c);
        }
    }
    out + &seg
}

/// Shows the values of a slot (its `Arc<Mutex<Vec<T>>>`) as `print` would.
type ShowFn = Box<dyn Fn(&(dyn Any + Send + Sync)) -> Vec<String> + Send + Sync>;

/// One process's values: type-erased, with the name of their type for errors.
struct Slot {
    type_name: &'static str,
    /// An `Arc<Mutex<Vec<T>>>`.
    values: Box<dyn Any + Send + Sync>,
    /// Whether it is an open port's (else a process's).
    port: bool,
    /// How to show its values, if known (`collect` knows its type's format).
    show: Option<ShowFn>,
}

/// The values of one run, by process name.
#[derive(Default)]
pub(crate) struct Collected {
    slots: Mutex<(Vec<String>, HashMap<String, Slot>)>,
}

impl fmt::Debug for Collected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(lock_std(&self.slots).0.iter())
            .finish()
    }
}

impl Collected {
    /// The handle through which process `name` keeps values of `T`. A second call for the
    /// same name and type shares the first's values.
    pub(crate) fn out<T: Send + 'static>(&self, name: &str) -> ValuesOut<T> {
        let mut g = lock_std(&self.slots);
        if let Some(v) =
            g.1.get(name)
                .and_then(|s| s.values.downcast_ref::<Arc<Mutex<Vec<T>>>>())
        {
            return ValuesOut { values: v.clone() };
        }
        let values = Arc::new(Mutex::new(Vec::new()));
        if !g.1.contains_key(name) {
            g.0.push(name.to_string());
        }
        g.1.insert(
            name.to_string(),
            Slot {
                type_name: std::any::type_name::<T>(),
                values: Box::new(values.clone()),
                port: false,
                show: None,
            },
        );
        ValuesOut { values }
    }

    /// As [`out`](Collected::out), with how to show the values (for `occamy run`).
    pub(crate) fn out_shown<T: Send + 'static>(
        &self,
        name: &str,
        format: fn(&T) -> String,
    ) -> ValuesOut<T> {
        let out = self.out::<T>(name);
        if let Some(slot) = lock_std(&self.slots).1.get_mut(name) {
            slot.show = Some(Box::new(move |v| {
                v.downcast_ref::<Arc<Mutex<Vec<T>>>>()
                    .map(|v| lock_std(v).iter().map(format).collect())
                    .unwrap_or_default()
            }));
        }
        out
    }

    /// Marks `name`'s values as an open port's.
    pub(crate) fn mark_port(&self, name: &str) {
        if let Some(slot) = lock_std(&self.slots).1.get_mut(name) {
            slot.port = true;
        }
    }

    /// `name`'s values as `print` would show them, if known.
    #[cfg_attr(not(feature = "launcher"), allow(dead_code))] // its one user: the launcher
    pub(crate) fn shown(&self, name: &str) -> Option<Vec<String>> {
        let g = lock_std(&self.slots);
        let slot = g.1.get(name)?;
        slot.show.as_ref().map(|show| show(&*slot.values))
    }

    fn with<T: 'static, R>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Vec<T>) -> R,
    ) -> Result<R, ValuesError> {
        let g = lock_std(&self.slots);
        let Some(slot) = g.1.get(name) else {
            return Err(ValuesError::Unknown {
                name: name.to_string(),
                known: g.0.clone(),
            });
        };
        match slot.values.downcast_ref::<Arc<Mutex<Vec<T>>>>() {
            Some(v) => Ok(f(&mut lock_std(v))),
            None => Err(ValuesError::WrongType {
                name: name.to_string(),
                port: slot.port,
                kept: short_type_name(slot.type_name),
                asked: short_type_name(std::any::type_name::<T>()),
            }),
        }
    }

    pub(crate) fn values<T: Clone + 'static>(&self, name: &str) -> Result<Vec<T>, ValuesError> {
        self.with(name, |v: &mut Vec<T>| v.clone())
    }

    pub(crate) fn take<T: 'static>(&self, name: &str) -> Result<Vec<T>, ValuesError> {
        self.with(name, std::mem::take)
    }

    pub(crate) fn names(&self) -> Vec<String> {
        lock_std(&self.slots).0.clone()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn type_names_lose_their_module_paths() {
        let short = |n: &str| super::short_type_name(n);
        assert_eq!(short(std::any::type_name::<String>()), "String");
        assert_eq!(short(std::any::type_name::<Vec<u8>>()), "Vec<u8>");
        assert_eq!(
            short(std::any::type_name::<
                std::collections::HashMap<String, Vec<u8>>,
            >()),
            "HashMap<String, Vec<u8>>"
        );
        assert_eq!(short("u64"), "u64");
    }
}
