//! The registry of process kinds and channel types that declared networks draw on.
//!
//! A *kind* declares its name, a doc line, its ports (name, direction, single or array,
//! element type) and its params (type, default). Its element types are either concrete
//! type names (`"u64"`, `"String"`, a user type) or `"T"`: a *generic* kind takes its
//! element type from the channels bound to it. Generic kinds are occamy's built-ins; a
//! user's kinds are concrete and built by a closure given the process's [`BuildCtx`].
//!
//! A *type* is a name for a Rust type that channels of declared networks can carry. The
//! registry instantiates the built-in generic kinds for every type registered, so `id`,
//! `delta`, `print` ... work on a user's own types too. What a type must be is what its
//! uses need, no more: any [`Msg`] (sendable and clonable: `delta` copies values) can be
//! registered; one that a file may write values of (`prefix`'s `value`) must also be
//! `Deserialize` ([`Registry::register_type`]), one that it never does need not be
//! ([`Registry::register_opaque_type`]). A type whose channels may cross MPI ranks needs a
//! *codec* (`Serialize + DeserializeOwned`: values cross as postcard bytes): the built-in
//! types have one, a user's type gets one with [`Registry::add_codec`], and the checker
//! refuses a cross-rank channel of a type without one.

mod ctx;
mod kind;
mod types;

use std::fmt;

use indexmap::IndexMap;
use serde::de::DeserializeOwned;

use crate::runtime::Process;

pub(crate) use ctx::Bound;
pub use ctx::BuildCtx;
pub use kind::*;
pub use types::*;

/// What a channel of a declared network can carry: any sendable type that clones (the
/// built-in kinds copy values: `delta` sends one to every output, `generate` again and
/// again). Being read from a network file (`Deserialize`) is asked only by the
/// registrations that need it ([`Registry::register_type`]).
///
/// # Examples
/// A type with no serde at all, in a declared network:
/// ```
/// use occamy::network::{Msg, Registry};
/// #[derive(Clone)]
/// struct Job(std::sync::Arc<Vec<u8>>);
/// fn needs_msg<T: Msg>() {}
/// needs_msg::<Job>();
/// let mut reg = Registry::with_builtins();
/// reg.register_opaque_type::<Job>("Job", |j| format!("job of {} bytes", j.0.len()));
/// assert!(reg.type_info("Job").is_some_and(|t| !t.is_readable()));
/// ```
pub trait Msg: Clone + Send + 'static {}

impl<T: Clone + Send + 'static> Msg for T {}

/// The kinds and types a declared network can use.
#[derive(Default)]
pub struct Registry {
    kinds: IndexMap<String, Kind>,
    types: IndexMap<String, TypeInfo>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds.keys().collect::<Vec<_>>())
            .field("types", &self.types.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// An empty registry: no kinds, no types.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The built-in types (bool, i64, u64, f64, String, `Vec<u8>`) and kinds.
    pub fn with_builtins() -> Registry {
        let mut r = Registry::new();
        r.types.insert(
            "bool".into(),
            TypeInfo::readable::<bool>("bool", false, |v| v.to_string()),
        );
        r.add_numeric::<i64>("i64");
        r.add_numeric::<u64>("u64");
        r.add_numeric::<f64>("f64");
        r.types.insert(
            "String".into(),
            TypeInfo::readable::<String>("String", false, |v| v.clone()),
        );
        r.types.insert(
            "Vec<u8>".into(),
            TypeInfo::readable::<Vec<u8>>("Vec<u8>", false, |v| format!("{v:?}")),
        );
        // Every built-in type crosses ranks.
        for (name, set) in [
            ("bool", TypeInfo::set_codec::<bool> as fn(&mut TypeInfo)),
            ("i64", TypeInfo::set_codec::<i64>),
            ("u64", TypeInfo::set_codec::<u64>),
            ("f64", TypeInfo::set_codec::<f64>),
            ("String", TypeInfo::set_codec::<String>),
            ("Vec<u8>", TypeInfo::set_codec::<Vec<u8>>),
        ] {
            set(r.types.get_mut(name).expect("a built-in type"));
        }
        for k in crate::kinds::builtin_kinds() {
            r.register(k);
        }
        r
    }

    fn add_numeric<T: crate::kinds::Num>(&mut self, name: &str) {
        let mut t = TypeInfo::readable::<T>(name, true, |v| v.to_string());
        for (k, f) in crate::kinds::numeric_builds::<T>() {
            t.generic.insert(k, f);
        }
        self.types.insert(name.into(), t);
    }

    /// Registers a channel type under `name`, which network files can write values of
    /// (`prefix`'s `value`: hence `Deserialize`); `print` shows its values with `Display`.
    /// Every generic kind works on it.
    ///
    /// # Examples
    /// ```
    /// #[derive(Clone, serde::Deserialize)]
    /// struct Point { x: i32, y: i32 }
    /// impl std::fmt::Display for Point {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "({}, {})", self.x, self.y) }
    /// }
    /// let mut reg = occamy::network::Registry::with_builtins();
    /// reg.register_type::<Point>("Point");
    /// assert!(reg.type_info("Point").is_some_and(|t| t.is_readable()));
    /// ```
    pub fn register_type<T: Msg + DeserializeOwned + fmt::Display>(&mut self, name: &str) {
        self.types.insert(
            name.into(),
            TypeInfo::readable::<T>(name, false, |v| v.to_string()),
        );
    }

    /// Registers a channel type as [`register_type`](Registry::register_type) does, but
    /// `print` shows its values with `Debug`.
    ///
    /// # Examples
    /// ```
    /// #[derive(Clone, Debug, serde::Deserialize)]
    /// enum Cmd { Start, Stop }
    /// let mut reg = occamy::network::Registry::with_builtins();
    /// reg.register_debug_type::<Cmd>("Cmd");
    /// assert!(reg.type_info("Cmd").is_some());
    /// ```
    pub fn register_debug_type<T: Msg + DeserializeOwned + fmt::Debug>(&mut self, name: &str) {
        self.types.insert(
            name.into(),
            TypeInfo::readable::<T>(name, false, |v| format!("{v:?}")),
        );
    }

    /// Registers a channel type whose values network files never write: no serde needed
    /// (a type holding a channel end, a buffer, a reply handle). Channels of it can be
    /// declared and every generic kind that reads no value from the file works on it
    /// (`id`, `delta`, `merge`, `print` with `show`, ...); `generate` and `prefix`, which
    /// do, are refused by the checker with a message naming the param. `show` is how
    /// `print` writes a value.
    ///
    /// # Examples
    /// ```
    /// #[derive(Clone)]
    /// struct Frame { pixels: Vec<u8> }
    /// let mut reg = occamy::network::Registry::with_builtins();
    /// reg.register_opaque_type::<Frame>("Frame", |f| format!("{} pixels", f.pixels.len()));
    /// let t = reg.type_info("Frame").unwrap();
    /// assert!(!t.is_readable());
    /// assert!(t.check_value(&ron::Value::Unit).is_err());
    /// ```
    pub fn register_opaque_type<T: Msg>(&mut self, name: &str, show: fn(&T) -> String) {
        self.types
            .insert(name.into(), TypeInfo::opaque::<T>(name, false, show));
    }

    /// Gives the type registered as `name` a codec, so that its channels may cross MPI
    /// ranks (feature `mpi`): its values travel as postcard bytes. The built-in types have
    /// one already; without one, `occamy check` refuses a channel of the type whose ends
    /// are placed on two ranks, naming it.
    ///
    /// # Errors
    /// No type registered as `name`, or one that is not `T`.
    ///
    /// # Examples
    /// ```
    /// #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
    /// struct Job { row: u32 }
    /// let mut reg = occamy::network::Registry::with_builtins();
    /// reg.register_debug_type::<Job>("Job");
    /// assert!(!reg.type_info("Job").unwrap().has_codec());
    /// reg.add_codec::<Job>("Job").unwrap();
    /// assert!(reg.type_info("Job").unwrap().has_codec());
    /// assert!(reg.add_codec::<u32>("Job").is_err());
    /// ```
    pub fn add_codec<T: Send + serde::Serialize + DeserializeOwned + 'static>(
        &mut self,
        name: &str,
    ) -> Result<(), String> {
        let Some(t) = self.types.get_mut(name) else {
            return Err(format!(
                "no type `{name}` is registered (register it first)"
            ));
        };
        if t.type_id != std::any::TypeId::of::<T>() {
            return Err(format!(
                "type `{name}` was registered as another Rust type than {}",
                std::any::type_name::<T>()
            ));
        }
        t.set_codec::<T>();
        Ok(())
    }

    /// Registers (or replaces) a kind.
    pub fn register(&mut self, kind: Kind) {
        self.kinds.insert(kind.name.clone(), kind);
    }

    /// The kind named `name`.
    pub fn kind(&self, name: &str) -> Option<&Kind> {
        self.kinds.get(name)
    }

    /// All kinds, in registration order.
    pub fn kinds(&self) -> impl Iterator<Item = &Kind> {
        self.kinds.values()
    }

    /// The type named `name`.
    pub fn type_info(&self, name: &str) -> Option<&TypeInfo> {
        self.types.get(name)
    }

    /// All type names.
    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(|s| s.as_str())
    }

    /// Builds a process of `kind` from `ctx`; `elem` is its element type if generic.
    pub(crate) fn build(&self, kind: &Kind, ctx: &mut BuildCtx) -> Result<Process, BuildError> {
        match &kind.build {
            Build::Concrete(f) => f(ctx),
            Build::Generic { .. } => {
                let t = ctx
                    .elem
                    .clone()
                    .ok_or_else(|| BuildError("no element type".into()))?;
                let info = self
                    .type_info(&t)
                    .ok_or_else(|| BuildError(format!("unknown type `{t}`")))?;
                let f = info.generic_build(&kind.name).ok_or_else(|| {
                    BuildError(format!("kind `{}` does not work on `{t}`", kind.name))
                })?;
                ctx.format = Some(info.format.clone());
                f(ctx)
            }
            Build::Unset => Err(BuildError(format!(
                "kind `{}` has no build function",
                kind.name
            ))),
        }
    }
}
