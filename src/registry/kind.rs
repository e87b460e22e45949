//! A process kind: its ports, its params, and how to build one.

use std::fmt;
use std::sync::Arc;

use ron::Value;

use crate::runtime::Process;

use super::BuildCtx;

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
pub(super) enum Build {
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
    pub(super) name: String,
    doc: String,
    ports: Vec<PortSpec>,
    barriers: Vec<String>,
    params: Vec<ParamSpec>,
    pub(super) build: Build,
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
