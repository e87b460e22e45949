//! What a kind's build closure gets: the process's name, ends, params and barriers.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use indexmap::IndexMap;
use ron::Value;
use serde::de::DeserializeOwned;

use crate::channel::{Receiver, Sender};
use crate::runtime::{Process, ProcessResult};

use super::BuildError;

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
