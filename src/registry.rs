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

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use indexmap::IndexMap;
use ron::Value;
use serde::de::DeserializeOwned;

use crate::channel::{buffered, Core, Receiver, Sender};
use crate::runtime::{Process, ProcessResult};

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

/// Which way a port carries values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
pub enum PortDir {
    /// The process reads from the port.
    In,
    /// The process writes to the port.
    Out,
}

impl fmt::Display for PortDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortDir::In => "in",
            PortDir::Out => "out",
        })
    }
}

/// A port of a kind.
#[derive(Clone, Debug)]
pub struct PortSpec {
    /// Its name.
    pub name: String,
    /// Its direction.
    pub dir: PortDir,
    /// Whether it takes a list of channels.
    pub array: bool,
    /// The element type name, or `"T"` for the kind's generic element type.
    pub ty: String,
}

/// The type of a kind's param.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// A signed integer.
    Int,
    /// A non-negative integer.
    UInt,
    /// A number (integers are accepted).
    Float,
    /// `true` or `false`.
    Bool,
    /// A string.
    Str,
    /// A value of the kind's element type `T` (e.g. `prefix`'s `value`).
    Elem,
    /// Any value; the kind checks it.
    Any,
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamType::Int => "integer",
            ParamType::UInt => "non-negative integer",
            ParamType::Float => "number",
            ParamType::Bool => "bool",
            ParamType::Str => "string",
            ParamType::Elem => "value of the element type",
            ParamType::Any => "any value",
        })
    }
}

/// A param of a kind.
#[derive(Clone, Debug)]
pub struct ParamSpec {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: ParamType,
    /// Its default; `None` makes it required.
    pub default: Option<Value>,
    /// One line saying what it does.
    pub doc: String,
}

/// Builds a process of a concrete kind from its build context.
pub type BuildFn = Arc<dyn Fn(&mut BuildCtx) -> Result<Process, BuildError> + Send + Sync>;

/// Builds a process of a generic kind for one element type.
pub(crate) type GenericBuildFn = fn(&mut BuildCtx) -> Result<Process, BuildError>;

#[derive(Clone)]
enum Build {
    Concrete(BuildFn),
    Generic { numeric: bool },
    Unset,
}

/// A process kind: what a network file names in `kind: "..."`.
///
/// # Examples
/// A user's kind that scales each value:
/// ```
/// use occamy::network::{Kind, ParamType, Registry};
/// let mut reg = Registry::with_builtins();
/// reg.register(
///     Kind::new("scale", "multiplies each value by `factor`")
///         .input("in", "f64")
///         .output("out", "f64")
///         .param("factor", ParamType::Float, 2.0, "the multiplier")
///         .build(|ctx| {
///             let (rx, tx) = (ctx.input::<f64>("in")?, ctx.output::<f64>("out")?);
///             let k: f64 = ctx.param("factor")?;
///             Ok(ctx.process(move || -> occamy::Result {
///                 for v in rx.values() { tx.send(v? * k)?; }
///                 Ok(())
///             }))
///         }),
/// );
/// assert!(reg.kind("scale").is_some());
/// ```
#[derive(Clone)]
pub struct Kind {
    name: String,
    doc: String,
    ports: Vec<PortSpec>,
    barriers: Vec<String>,
    params: Vec<ParamSpec>,
    build: Build,
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kind")
            .field("name", &self.name)
            .field("ports", &self.ports)
            .field("barriers", &self.barriers)
            .field("params", &self.params)
            .finish()
    }
}

impl Kind {
    /// A concrete kind; give it ports, params and a [`build`](Kind::build) closure.
    pub fn new(name: impl Into<String>, doc: impl Into<String>) -> Kind {
        Kind {
            name: name.into(),
            doc: doc.into(),
            ports: vec![],
            barriers: vec![],
            params: vec![],
            build: Build::Unset,
        }
    }

    /// A generic built-in kind, instantiated per element type by the registry.
    pub(crate) fn generic(name: &str, doc: &str, numeric: bool) -> Kind {
        Kind {
            build: Build::Generic { numeric },
            ..Kind::new(name, doc)
        }
    }

    fn port(mut self, name: &str, dir: PortDir, array: bool, ty: &str) -> Kind {
        self.ports.push(PortSpec {
            name: name.into(),
            dir,
            array,
            ty: ty.into(),
        });
        self
    }

    /// Adds an input port carrying `ty` (a registered type name, or `"T"` in generic kinds).
    pub fn input(self, name: &str, ty: &str) -> Kind {
        self.port(name, PortDir::In, false, ty)
    }

    /// Adds an output port.
    pub fn output(self, name: &str, ty: &str) -> Kind {
        self.port(name, PortDir::Out, false, ty)
    }

    /// Adds an input port that takes a list of channels.
    pub fn input_array(self, name: &str, ty: &str) -> Kind {
        self.port(name, PortDir::In, true, ty)
    }

    /// Adds an output port that takes a list of channels.
    pub fn output_array(self, name: &str, ty: &str) -> Kind {
        self.port(name, PortDir::Out, true, ty)
    }

    /// Adds a barrier port: the process is enrolled on the network barrier bound to it
    /// (declared under `barriers` in the network file).
    pub fn barrier(mut self, name: &str) -> Kind {
        self.barriers.push(name.into());
        self
    }

    /// Adds a param with a default.
    pub fn param(
        mut self,
        name: &str,
        ty: ParamType,
        default: impl Into<Value>,
        doc: &str,
    ) -> Kind {
        self.params.push(ParamSpec {
            name: name.into(),
            ty,
            default: Some(default.into()),
            doc: doc.into(),
        });
        self
    }

    /// Adds a param the network file must give.
    pub fn required_param(mut self, name: &str, ty: ParamType, doc: &str) -> Kind {
        self.params.push(ParamSpec {
            name: name.into(),
            ty,
            default: None,
            doc: doc.into(),
        });
        self
    }

    /// Sets how a process of this kind is built.
    pub fn build<F>(mut self, f: F) -> Kind
    where
        F: Fn(&mut BuildCtx) -> Result<Process, BuildError> + Send + Sync + 'static,
    {
        self.build = Build::Concrete(Arc::new(f));
        self
    }

    /// The kind's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its doc line.
    pub fn doc(&self) -> &str {
        &self.doc
    }

    /// Its ports.
    pub fn ports(&self) -> &[PortSpec] {
        &self.ports
    }

    /// Its barrier ports.
    pub fn barrier_ports(&self) -> &[String] {
        &self.barriers
    }

    /// Its params.
    pub fn params(&self) -> &[ParamSpec] {
        &self.params
    }

    /// The port named `name`.
    pub fn port_spec(&self, name: &str) -> Option<&PortSpec> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// The param named `name`.
    pub fn param_spec(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Whether its element type comes from the channels bound to it.
    pub fn is_generic(&self) -> bool {
        matches!(self.build, Build::Generic { .. })
    }

    /// Whether it is generic over numeric types only (i64, u64, f64).
    pub fn is_numeric(&self) -> bool {
        matches!(self.build, Build::Generic { numeric: true })
    }
}

impl fmt::Display for Kind {
    /// The kind as `occamy kinds NAME` shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.name, self.doc)?;
        if self.is_numeric() {
            writeln!(f, "  element type T: i64, u64 or f64")?;
        } else if self.is_generic() {
            writeln!(f, "  element type T: taken from the channels bound to it")?;
        }
        for p in &self.ports {
            let arr = if p.array { "[]" } else { "" };
            writeln!(f, "  port {:<10} {:<3} {}{}", p.name, p.dir, p.ty, arr)?;
        }
        for b in &self.barriers {
            writeln!(f, "  barrier {b}")?;
        }
        for p in &self.params {
            let d = match &p.default {
                Some(Value::Unit) => "optional".to_string(),
                Some(v) => format!("default {}", show_value(v)),
                None => "required".to_string(),
            };
            writeln!(f, "  param {:<9} {} ({}): {}", p.name, p.ty, d, p.doc)?;
        }
        Ok(())
    }
}

/// A value as written in a network file.
pub(crate) fn show_value(v: &Value) -> String {
    ron::to_string(v).unwrap_or_else(|_| format!("{v:?}"))
}

/// A kind's build failed: a message naming the port or param at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(pub String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

impl From<String> for BuildError {
    fn from(s: String) -> Self {
        BuildError(s)
    }
}

impl From<&str> for BuildError {
    fn from(s: &str) -> Self {
        BuildError(s.into())
    }
}

/// The ends of one channel, type-erased, and how to make more of them.
pub(crate) struct AnyChannel {
    pub(crate) tx: Box<dyn Any + Send>,
    pub(crate) rx: Box<dyn Any + Send>,
    pub(crate) core: Arc<Core>,
    pub(crate) clone_tx: fn(&(dyn Any + Send)) -> Box<dyn Any + Send>,
    pub(crate) clone_rx: fn(&(dyn Any + Send)) -> Box<dyn Any + Send>,
}

/// The ends of a channel that crosses ranks that one rank holds (feature `mpi`).
#[cfg(feature = "mpi")]
pub(crate) struct AnyLink {
    pub(crate) tx: Option<Box<dyn Any + Send>>,
    pub(crate) rx: Option<Box<dyn Any + Send>>,
    /// The local channel behind this rank's ends.
    pub(crate) core: Option<Arc<Core>>,
    pub(crate) clone_tx: fn(&(dyn Any + Send)) -> Box<dyn Any + Send>,
    pub(crate) clone_rx: fn(&(dyn Any + Send)) -> Box<dyn Any + Send>,
}

#[cfg(feature = "mpi")]
type LinkFn = fn(&crate::mpi::World, &crate::mpi::Link) -> Result<AnyLink, crate::mpi::MpiError>;

#[cfg(feature = "mpi")]
fn make_link<T: Send + serde::Serialize + DeserializeOwned + 'static>(
    w: &crate::mpi::World,
    l: &crate::mpi::Link,
) -> Result<AnyLink, crate::mpi::MpiError> {
    let ends = w.link::<T>(l)?;
    let core = ends
        .sender
        .as_ref()
        .map(|t| t.core.clone())
        .or_else(|| ends.receiver.as_ref().map(|r| r.core.clone()));
    Ok(AnyLink {
        tx: ends.sender.map(|t| Box::new(t) as Box<dyn Any + Send>),
        rx: ends.receiver.map(|r| Box::new(r) as Box<dyn Any + Send>),
        core,
        clone_tx: |b| Box::new(b.downcast_ref::<Sender<T>>().expect("sender type").clone()),
        clone_rx: |b| {
            Box::new(
                b.downcast_ref::<Receiver<T>>()
                    .expect("receiver type")
                    .clone(),
            )
        },
    })
}

/// A channel type of declared networks.
pub struct TypeInfo {
    name: String,
    type_id: std::any::TypeId,
    /// Whether its values can cross ranks (it has a codec: see [`Registry::add_codec`]).
    codec: bool,
    #[cfg(feature = "mpi")]
    link: Option<LinkFn>,
    numeric: bool,
    make: fn(usize) -> AnyChannel,
    /// `TypeId` of its channels' writing end, `Sender<T>` (to check values fed to one).
    sender: fn() -> std::any::TypeId,
    check_value: fn(&Value) -> Result<(), String>,
    readable: bool,
    format: Arc<dyn Any + Send + Sync>,
    /// Shows a value of the type with `format` (for recorded values).
    show: fn(&(dyn Any + Send + Sync), &dyn Any) -> Option<String>,
    generic: HashMap<&'static str, GenericBuildFn>,
    /// Values for an input port from a RON list (`occamy run --feed`): readable types only.
    feed_ron: Option<crate::network::FeedRonFn>,
}

fn show_typed<T: 'static>(format: &(dyn Any + Send + Sync), v: &dyn Any) -> Option<String> {
    let f = format.downcast_ref::<fn(&T) -> String>()?;
    Some(f(v.downcast_ref::<T>()?))
}

impl fmt::Debug for TypeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypeInfo({})", self.name)
    }
}

fn make_channel<T: Send + 'static>(cap: usize) -> AnyChannel {
    let (tx, rx) = buffered::<T>(cap);
    let core = tx.core.clone();
    AnyChannel {
        tx: Box::new(tx),
        rx: Box::new(rx),
        core,
        clone_tx: |b| Box::new(b.downcast_ref::<Sender<T>>().expect("sender type").clone()),
        clone_rx: |b| {
            Box::new(
                b.downcast_ref::<Receiver<T>>()
                    .expect("receiver type")
                    .clone(),
            )
        },
    }
}

fn check_value<T: DeserializeOwned>(v: &Value) -> Result<(), String> {
    v.clone()
        .into_rust::<T>()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn not_readable(_: &Value) -> Result<(), String> {
    Err(
        "its values cannot be written in a network file (it is registered as opaque: \
         `Registry::register_opaque_type`)"
            .into(),
    )
}

impl TypeInfo {
    /// A type whose values a file never writes: the generic kinds that read none.
    fn opaque<T: Msg>(name: &str, numeric: bool, format: fn(&T) -> String) -> TypeInfo {
        let mut generic: HashMap<&'static str, GenericBuildFn> = HashMap::new();
        for (k, f) in crate::kinds::generic_builds::<T>() {
            generic.insert(k, f);
        }
        TypeInfo {
            name: name.into(),
            type_id: std::any::TypeId::of::<T>(),
            codec: false,
            #[cfg(feature = "mpi")]
            link: None,
            numeric,
            make: make_channel::<T>,
            sender: std::any::TypeId::of::<Sender<T>>,
            feed_ron: None,
            check_value: not_readable,
            readable: false,
            format: Arc::new(format),
            show: show_typed::<T>,
            generic,
        }
    }

    /// A type a file can write values of: every generic kind.
    fn readable<T: Msg + DeserializeOwned>(
        name: &str,
        numeric: bool,
        format: fn(&T) -> String,
    ) -> TypeInfo {
        let mut t = TypeInfo::opaque::<T>(name, numeric, format);
        t.check_value = check_value::<T>;
        t.readable = true;
        t.generic.extend(crate::kinds::readable_builds::<T>());
        t.feed_ron = Some(crate::network::feed_from_ron::<T>);
        t
    }

    /// The type's name in network files.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether numeric kinds (succ, plus, ...) work on it.
    pub fn is_numeric(&self) -> bool {
        self.numeric
    }

    /// Whether a network file can write values of this type (it was registered with
    /// [`Registry::register_type`] or [`Registry::register_debug_type`]).
    pub fn is_readable(&self) -> bool {
        self.readable
    }

    /// Whether channels of this type may cross MPI ranks: it has a codec (the built-in
    /// types do; a user's type once [`Registry::add_codec`] gave it one).
    pub fn has_codec(&self) -> bool {
        self.codec
    }

    /// This rank's ends of a cross-rank channel of this type (`None`: no codec).
    #[cfg(feature = "mpi")]
    pub(crate) fn link(
        &self,
        w: &crate::mpi::World,
        l: &crate::mpi::Link,
    ) -> Option<Result<AnyLink, crate::mpi::MpiError>> {
        self.link.map(|f| f(w, l))
    }

    fn set_codec<T: Send + serde::Serialize + DeserializeOwned + 'static>(&mut self) {
        self.codec = true;
        #[cfg(feature = "mpi")]
        {
            self.link = Some(make_link::<T>);
        }
    }

    /// Whether `v` (from a network file) is a value of this type; `Err` says why not.
    pub fn check_value(&self, v: &Value) -> Result<(), String> {
        (self.check_value)(v)
    }

    pub(crate) fn feed_ron(&self) -> Option<crate::network::FeedRonFn> {
        self.feed_ron
    }

    pub(crate) fn sender_type(&self) -> std::any::TypeId {
        (self.sender)()
    }

    pub(crate) fn make(&self, cap: usize) -> AnyChannel {
        (self.make)(cap)
    }

    /// Shows values of this type as `print` does (for a recording of values).
    pub(crate) fn shower(&self) -> crate::runtime::recorder::Show {
        let (format, show) = (self.format.clone(), self.show);
        Box::new(move |v| show(&*format, v))
    }

    pub(crate) fn generic_build(&self, kind: &str) -> Option<GenericBuildFn> {
        self.generic.get(kind).copied()
    }
}

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

/// What a port of a process being built is bound to.
pub(crate) enum Bound {
    One(Box<dyn Any + Send>),
    Many(Vec<Box<dyn Any + Send>>),
}

/// A process's build context: what a kind's build closure gets to make one process of
/// that kind: the process's name, its channel ends, its params, its barriers.
pub struct BuildCtx {
    pub(crate) name: String,
    pub(crate) ports: HashMap<String, Bound>,
    /// Shared with the plan (and, where equal, with the process's replicas).
    pub(crate) params: Arc<IndexMap<String, Value>>,
    pub(crate) elem: Option<Arc<str>>,
    pub(crate) format: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) barriers: HashMap<String, crate::barrier::Barrier>,
    /// The run's values for the program, by process name.
    pub(crate) collected: Arc<crate::network::values::Collected>,
}

impl fmt::Debug for BuildCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildCtx")
            .field("name", &self.name)
            .field("params", &self.params)
            .finish()
    }
}

impl BuildCtx {
    /// The process's (qualified) name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where this process leaves values for the program that runs its network: the run's
    /// report gives them back under the process's name
    /// ([`RunReport::values`](crate::network::RunReport::values)), in the order pushed.
    /// The built-in kind `collect` keeps every value of its input this way; a program's
    /// own sink kinds can keep what they compute (see [`ValuesOut`](crate::network::ValuesOut)).
    /// A process keeps values of one type: a second call with the same `T` shares the
    /// first's values; with another `T` it starts afresh, and the first's are dropped.
    pub fn values_out<T: Send + 'static>(&self) -> crate::network::ValuesOut<T> {
        self.collected.out(&self.name)
    }

    /// The element type's name, for generic kinds.
    pub fn elem_type(&self) -> Option<&str> {
        self.elem.as_deref()
    }

    fn take(&mut self, port: &str) -> Result<Bound, BuildError> {
        self.ports
            .remove(port)
            .ok_or_else(|| BuildError(format!("port `{port}` is not bound (or taken twice)")))
    }

    fn one<E: 'static>(&mut self, port: &str, what: &str) -> Result<E, BuildError> {
        match self.take(port)? {
            Bound::One(b) => b
                .downcast::<E>()
                .map(|b| *b)
                .map_err(|_| BuildError(format!("port `{port}` is not {what}"))),
            Bound::Many(_) => Err(BuildError(format!("port `{port}` is an array port"))),
        }
    }

    fn many<E: 'static>(&mut self, port: &str, what: &str) -> Result<Vec<E>, BuildError> {
        match self.take(port)? {
            Bound::Many(v) => v
                .into_iter()
                .map(|b| {
                    b.downcast::<E>()
                        .map(|b| *b)
                        .map_err(|_| BuildError(format!("port `{port}` is not {what}")))
                })
                .collect(),
            Bound::One(_) => Err(BuildError(format!("port `{port}` is not an array port"))),
        }
    }

    /// The reading end bound to input port `port`.
    pub fn input<T: Send + 'static>(&mut self, port: &str) -> Result<Receiver<T>, BuildError> {
        self.one(port, &format!("an input of {}", std::any::type_name::<T>()))
    }

    /// The writing end bound to output port `port`.
    pub fn output<T: Send + 'static>(&mut self, port: &str) -> Result<Sender<T>, BuildError> {
        self.one(
            port,
            &format!("an output of {}", std::any::type_name::<T>()),
        )
    }

    /// The reading ends bound to input array port `port`, in order.
    pub fn inputs<T: Send + 'static>(
        &mut self,
        port: &str,
    ) -> Result<Vec<Receiver<T>>, BuildError> {
        self.many(port, &format!("an input of {}", std::any::type_name::<T>()))
    }

    /// The writing ends bound to output array port `port`, in order.
    pub fn outputs<T: Send + 'static>(&mut self, port: &str) -> Result<Vec<Sender<T>>, BuildError> {
        self.many(
            port,
            &format!("an output of {}", std::any::type_name::<T>()),
        )
    }

    /// The barrier bound to barrier port `port` (this process's enrolment on it).
    pub fn barrier(&mut self, port: &str) -> Result<crate::barrier::Barrier, BuildError> {
        self.barriers.remove(port).ok_or_else(|| {
            BuildError(format!(
                "barrier port `{port}` is not bound (or taken twice)"
            ))
        })
    }

    /// Param `name` (given in the file, or its default) as a `T`.
    pub fn param<T: DeserializeOwned>(&self, name: &str) -> Result<T, BuildError> {
        self.param_opt(name)?
            .ok_or_else(|| BuildError(format!("param `{name}` is missing")))
    }

    /// Param `name` if given (or defaulted), as a `T`. A param whose default is `()`
    /// counts as not given.
    pub fn param_opt<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, BuildError> {
        match self.params.get(name) {
            None | Some(Value::Unit) | Some(Value::Option(None)) => Ok(None),
            Some(v) => v
                .clone()
                .into_rust::<T>()
                .map(Some)
                .map_err(|e| BuildError(format!("param `{name}`: {e}"))),
        }
    }

    /// How `print` shows values of the element type (generic kinds only).
    pub fn formatter<T: 'static>(&self) -> fn(&T) -> String {
        self.format
            .as_ref()
            .and_then(|f| f.downcast_ref::<fn(&T) -> String>().copied())
            .unwrap_or(|_| "?".to_string())
    }

    /// A process with this process's name running the blocking code `body`: it keeps an
    /// OS thread to itself. Use it for a body that blocks in the OS (reading a file or
    /// stdin, writing to stdout); otherwise prefer [`process_async`](BuildCtx::process_async).
    pub fn process<F, R>(&self, body: F) -> Process
    where
        F: FnOnce() -> R + Send + 'static,
        R: ProcessResult,
    {
        Process::new(self.name.clone(), body)
    }

    /// A process with this process's name running the async code `body` (an `async move`
    /// block, which does nothing until the process starts): it can run as a green task,
    /// and under the thread scheduler on a thread of its own. Inside, use the channels'
    /// async operations (`send_async`, `recv_async`, `Alt::select_async`,
    /// [`sleep_async`](crate::sleep_async), `Barrier::sync_async`) and `.await` them; a
    /// blocking call would hold up the worker thread it runs on. `body` yields an
    /// [`occamy::Result`](crate::Result), so `?` works inside it without annotations.
    ///
    /// # Examples
    /// A user's kind that scales each value, as a green task:
    /// ```
    /// use occamy::network::{Kind, ParamType, Registry};
    /// use occamy::RecvError;
    /// let mut reg = Registry::with_builtins();
    /// reg.register(
    ///     Kind::new("scale", "multiplies each value of `in` by `factor`, onto `out`")
    ///         .input("in", "f64")
    ///         .output("out", "f64")
    ///         .param("factor", ParamType::Float, 2.0, "the multiplier")
    ///         .build(|ctx| {
    ///             let (rx, tx) = (ctx.input::<f64>("in")?, ctx.output::<f64>("out")?);
    ///             let k: f64 = ctx.param("factor")?;
    ///             Ok(ctx.process_async(async move {
    ///                 loop {
    ///                     match rx.recv_async().await {
    ///                         Ok(v) => tx.send_async(v * k).await?,
    ///                         Err(RecvError::Retired) => break,
    ///                         // end by poison, so that it passes on to `out`
    ///                         Err(e) => return Err(e.into()),
    ///                     }
    ///                 }
    ///                 Ok(())
    ///             }))
    ///         }),
    /// );
    /// assert!(reg.kind("scale").is_some());
    /// ```
    pub fn process_async<F>(&self, body: F) -> Process
    where
        F: Future<Output = crate::Result> + Send + 'static,
    {
        Process::new_async(self.name.clone(), body)
    }
}
