//! occamy's built-in process kinds: what a network file names in `kind: "..."`.
//!
//! Each kind is described once, by the [`Kind`] its module builds (name, doc, ports,
//! params): `occamy kinds` prints those descriptions, `occamy kinds --json` gives them to
//! editors and GUIs, and the table in docs/network-format.md ("The built-in kinds") is
//! rendered from them and tested to match. `T` is the element type, taken from the
//! channels bound to the process; *numeric* kinds work on `i64`, `u64` and `f64` only.
//!
//! # Ending
//! A kind's process runs until a channel ends it: `?` on a channel error returns
//! [`Error::Retired`] or [`Error::Poisoned`]. Ending by retirement lets go of the
//! process's ends, so retirement flows on: downstream readers see their channel retire,
//! and so does a writer upstream on its next send. Ending by poison (or failing) poisons
//! every channel the process holds, used or not (the runtime holds back the ends a process
//! drops until it knows how the process ended). Integer overflow fails the process
//! (occam's checked `+`) in debug and release builds alike.
//!
//! # Async, and the OS
//! Every kind's process is async ([`Process::is_async`](crate::Process::is_async)), so
//! that a declared network runs entirely as green tasks. The kinds that talk to the OS
//! (`print`, `count`, `stopwatch`, `lines_in`, `lines_out`: stdout, stdin, files) make
//! their calls through [`offload`](crate::offload), so a full pipe or a read of stdin
//! holds up no worker; a process can still ask for a thread of its own (`thread: true`).
//!
//! The kinds are split by concept: [`basic`] (copying and shaping streams), [`arith`]
//! (numeric kinds), [`flow`] (fan-in and fan-out), [`io`] (printing, timing, files),
//! [`phase`] (barrier-synchronised kinds).

mod arith;
mod basic;
mod flow;
mod io;
mod phase;

use std::fmt::Display;
use std::ops::Add;

use serde::de::DeserializeOwned;

use crate::channel::{Receiver, Sender};
use crate::registry::{BuildError, GenericBuildFn, Kind, Msg};
use crate::runtime::Error;

/// The numeric element types that the numeric built-in kinds (`numbers`, `tick`, `succ`,
/// `plus`, `pairs`, `integrate`) work on: `i64`, `u64` and `f64`.
pub trait Num:
    Msg + DeserializeOwned + Copy + PartialOrd + Add<Output = Self> + Display + Default
{
    /// The number one (`succ` adds it).
    fn one() -> Self;

    /// `n` as this type (`tick` counts with it): saturating for `i64`, nearest for `f64`.
    fn from_u64(n: u64) -> Self;

    /// `self + other`, or `None` if the sum overflows the type (never for `f64`).
    fn checked_add(self, other: Self) -> Option<Self>;
}

impl Num for i64 {
    fn one() -> Self {
        1
    }
    fn from_u64(n: u64) -> Self {
        i64::try_from(n).unwrap_or(i64::MAX)
    }
    fn checked_add(self, other: Self) -> Option<Self> {
        i64::checked_add(self, other)
    }
}

impl Num for u64 {
    fn one() -> Self {
        1
    }
    fn from_u64(n: u64) -> Self {
        n
    }
    fn checked_add(self, other: Self) -> Option<Self> {
        u64::checked_add(self, other)
    }
}

impl Num for f64 {
    fn one() -> Self {
        1.0
    }
    fn from_u64(n: u64) -> Self {
        n as f64
    }
    fn checked_add(self, other: Self) -> Option<Self> {
        Some(self + other)
    }
}

/// `a + b`, or a failure naming the overflowing sum.
fn add<T: Num>(a: T, b: T) -> crate::Result<T> {
    a.checked_add(b)
        .ok_or_else(|| Error::failed(format!("arithmetic overflow: {a} + {b}")))
}

/// Copies every value of `rx` to `tx` until either end stops. `?` ends it `Retired` or
/// `Poisoned` as the channel did, so that poison on `rx` passes on to `tx`.
async fn copy<T: Send + 'static>(rx: &Receiver<T>, tx: &Sender<T>) -> crate::Result {
    loop {
        tx.send_async(rx.recv_async().await?).await?;
    }
}

/// An array port bound to no channel at all, where the kind needs at least one.
fn need_some<E>(ends: &[E], port: &str) -> Result<(), BuildError> {
    if ends.is_empty() {
        return Err(BuildError(format!(
            "port `{port}` needs at least one channel"
        )));
    }
    Ok(())
}

/// The generic (non-numeric) kinds' build functions, instantiated for `T`.
pub(crate) fn generic_builds<T: Msg>() -> Vec<(&'static str, GenericBuildFn)> {
    let mut v = basic::builds::<T>();
    v.extend(flow::builds::<T>());
    v.extend(io::builds::<T>());
    v.extend(phase::builds::<T>());
    v
}

/// The generic kinds that read a value of `T` from the network file, instantiated for `T`.
pub(crate) fn readable_builds<T: Msg + DeserializeOwned>() -> Vec<(&'static str, GenericBuildFn)> {
    basic::readable_builds::<T>()
}

/// The numeric kinds' build functions, instantiated for `T`.
pub(crate) fn numeric_builds<T: Num>() -> Vec<(&'static str, GenericBuildFn)> {
    let mut v = arith::builds::<T>();
    v.extend(phase::numeric_builds::<T>());
    v
}

/// The specs of every built-in kind, in the order `occamy kinds` lists them.
pub(crate) fn builtin_kinds() -> Vec<Kind> {
    let mut v = arith::kinds();
    v.extend(basic::kinds());
    v.extend(flow::kinds());
    v.extend(io::kinds());
    v.extend(phase::kinds());
    v
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the kinds' tests: a watchdog, building a kind's process from a
    //! registry, and feeder and collector processes.

    use std::sync::{Arc, Mutex};

    use ron::Value;

    use crate::registry::{
        Bound, BuildCtx, BuildError, Kind, Msg, ParamSpec, ParamType, PortDir, Registry,
    };
    use crate::{channel, par, Process, Receiver, Sender};

    pub(crate) use crate::testing::watchdog;

    /// The network-file name of `T`.
    pub fn elem_name<T>() -> String {
        let full = std::any::type_name::<T>();
        match full {
            "alloc::string::String" => "String".into(),
            other => other.into(),
        }
    }

    /// A process of a kind being assembled: its ports and params.
    pub struct Spec {
        kind: String,
        ctx: BuildCtx,
    }

    /// Starts assembling a process of `kind` on element type `T`.
    pub fn spec<T>(kind: &str) -> Spec {
        Spec {
            kind: kind.into(),
            ctx: BuildCtx {
                name: format!("test {kind}"),
                ports: Default::default(),
                params: Default::default(),
                elem: Some(elem_name::<T>().into()),
                format: None,
                barriers: Default::default(),
                collected: Default::default(),
            },
        }
    }

    impl Spec {
        pub fn param(mut self, name: &str, v: impl Into<Value>) -> Spec {
            Arc::make_mut(&mut self.ctx.params).insert(name.into(), v.into());
            self
        }

        pub fn input<T: Msg>(mut self, port: &str, rx: Receiver<T>) -> Spec {
            self.ctx.ports.insert(port.into(), Bound::One(Box::new(rx)));
            self
        }

        pub fn output<T: Msg>(mut self, port: &str, tx: Sender<T>) -> Spec {
            self.ctx.ports.insert(port.into(), Bound::One(Box::new(tx)));
            self
        }

        pub fn inputs<T: Msg>(mut self, port: &str, rxs: Vec<Receiver<T>>) -> Spec {
            let v = rxs.into_iter().map(|r| Box::new(r) as _).collect();
            self.ctx.ports.insert(port.into(), Bound::Many(v));
            self
        }

        pub fn outputs<T: Msg>(mut self, port: &str, txs: Vec<Sender<T>>) -> Spec {
            let v = txs.into_iter().map(|t| Box::new(t) as _).collect();
            self.ctx.ports.insert(port.into(), Bound::Many(v));
            self
        }

        pub fn barrier(mut self, port: &str, b: crate::Barrier) -> Spec {
            self.ctx.barriers.insert(port.into(), b);
            self
        }

        /// Builds the process with the built-in registry, filling in param defaults.
        pub fn try_build(mut self) -> Result<Process, BuildError> {
            let reg = Registry::with_builtins();
            let kind = reg.kind(&self.kind).expect("a built-in kind").clone();
            for p in kind.params() {
                if let (false, Some(d)) = (self.ctx.params.contains_key(&p.name), &p.default) {
                    Arc::make_mut(&mut self.ctx.params).insert(p.name.clone(), d.clone());
                }
            }
            reg.build(&kind, &mut self.ctx)
        }

        pub fn build(self) -> Process {
            let kind = self.kind.clone();
            self.try_build()
                .unwrap_or_else(|e| panic!("building `{kind}`: {e}"))
        }
    }

    /// A process sending `values` on `tx`, then retiring it.
    pub fn feeder<T: Msg>(tx: Sender<T>, values: Vec<T>) -> Process {
        Process::new("feeder", move || -> crate::Result {
            for v in values {
                tx.send(v)?;
            }
            Ok(())
        })
    }

    /// A process receiving from `rx` until it ends, and where the values go.
    pub fn collector<T: Msg>(rx: Receiver<T>) -> (Process, Arc<Mutex<Vec<T>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        let p = Process::new("collector", move || -> crate::Result {
            loop {
                let v = rx.recv()?;
                sink.lock().unwrap().push(v);
            }
        });
        (p, got)
    }

    /// A value for each required param of a built-in kind that lets it build.
    fn required_value(p: &ParamSpec) -> Value {
        match p.ty {
            ParamType::Str => Value::String("-".into()),
            ParamType::Elem => Value::from(0u64),
            _ => Value::from(1u64),
        }
    }

    /// What [`bind_all`] built: the process, the writers of its inputs and the readers of
    /// its outputs, in port order.
    pub struct Wired<T> {
        pub process: Process,
        pub writers: Vec<Sender<T>>,
        pub readers: Vec<Receiver<T>>,
    }

    /// A process of built-in `kind` on element type `T` with every port bound (array ports
    /// to two channels each, barrier ports to a barrier of its own) and its required params
    /// given.
    pub fn bind_all<T: Msg>(kind: &Kind) -> Wired<T> {
        let mut s = spec::<T>(kind.name());
        let (mut writers, mut readers) = (Vec::new(), Vec::new());
        for port in kind.ports() {
            let n = if port.array { 2 } else { 1 };
            let (mut txs, mut rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| channel::<T>()).unzip();
            match port.dir {
                PortDir::In => {
                    s = if port.array {
                        s.inputs(&port.name, rxs)
                    } else {
                        s.input(&port.name, rxs.remove(0))
                    };
                    writers.extend(txs);
                }
                PortDir::Out => {
                    s = if port.array {
                        s.outputs(&port.name, txs)
                    } else {
                        s.output(&port.name, txs.remove(0))
                    };
                    readers.extend(rxs);
                }
            }
        }
        for b in kind.barrier_ports() {
            s = s.barrier(b, crate::Barrier::new());
        }
        for p in kind.params().iter().filter(|p| p.default.is_none()) {
            s = s.param(&p.name, required_value(p));
        }
        Wired {
            process: s.build(),
            writers,
            readers,
        }
    }

    /// Runs processes in parallel and expects no failure.
    pub fn run(ps: Vec<Process>) {
        par(ps).expect("no process failed");
    }

    /// Runs a kind with ports `in` and `out` between a feeder of `input` and a collector,
    /// under the watchdog, and returns what it sent.
    pub fn pipe<T: Msg>(kind: &str, params: &[(&str, Value)], input: Vec<T>) -> Vec<T> {
        let mut s = spec::<T>(kind);
        for (k, v) in params {
            s = s.param(k, v.clone());
        }
        watchdog(kind, move || {
            let (in_tx, in_rx) = channel::<T>();
            let (out_tx, out_rx) = channel::<T>();
            let p = s.input("in", in_rx).output("out", out_tx).build();
            let (c, got) = collector(out_rx);
            run(vec![feeder(in_tx, input), p, c]);
            let v = std::mem::take(&mut *got.lock().unwrap());
            v
        })
    }

    /// Runs a source kind with port `out` into a collector, under the watchdog.
    pub fn source<T: Msg>(kind: &str, params: &[(&str, Value)]) -> Vec<T> {
        let mut s = spec::<T>(kind);
        for (k, v) in params {
            s = s.param(k, v.clone());
        }
        watchdog(kind, move || {
            let (out_tx, out_rx) = channel::<T>();
            let p = s.output("out", out_tx).build();
            let (c, got) = collector(out_rx);
            run(vec![p, c]);
            let v = std::mem::take(&mut *got.lock().unwrap());
            v
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::testing::*;
    use super::Num;
    use crate::registry::{Kind, PortDir, Registry};
    use crate::{Process, RecvError};

    #[test]
    fn every_kind_is_registered_with_documented_ports() {
        let reg = Registry::with_builtins();
        let names = [
            "numbers",
            "generate",
            "tick",
            "id",
            "succ",
            "prefix",
            "tail",
            "delta",
            "plus",
            "pairs",
            "integrate",
            "merge",
            "round_robin",
            "take",
            "skip_first",
            "delay",
            "print",
            "discard",
            "count",
            "stopwatch",
            "collect",
            "lines_in",
            "lines_out",
            "phases",
            "gate",
        ];
        for n in names {
            let k = reg.kind(n).unwrap_or_else(|| panic!("kind `{n}` missing"));
            assert!(!k.ports().is_empty(), "{n} has ports");
            for p in k.ports() {
                assert!(
                    k.doc().contains(&format!("`{}`", p.name)),
                    "{n}'s doc names port {}",
                    p.name
                );
            }
            for p in k.params() {
                assert!(!p.doc.is_empty(), "{n}'s param {} is documented", p.name);
            }
        }
        assert_eq!(reg.kinds().count(), names.len());
        for t in ["i64", "u64", "f64"] {
            let info = reg.type_info(t).unwrap();
            for n in names {
                let k = reg.kind(n).unwrap();
                if k.is_generic() {
                    assert!(info.generic_build(n).is_some(), "{n} on {t}");
                }
            }
        }
        let s = reg.type_info("String").unwrap();
        assert!(s.generic_build("succ").is_none());
        assert!(s.generic_build("delta").is_some());
    }

    #[test]
    fn num_helpers() {
        assert_eq!(<u64 as Num>::from_u64(7), 7);
        assert_eq!(<i64 as Num>::from_u64(u64::MAX), i64::MAX);
        assert_eq!(<f64 as Num>::from_u64(3), 3.0);
        assert_eq!(<i64 as Num>::one() + 1, 2);
        assert!(super::add(u64::MAX, 1).is_err());
        assert_eq!(super::add(-3i64, 1).unwrap(), -2);
    }

    #[test]
    fn every_kind_is_async() {
        let reg = Registry::with_builtins();
        for k in reg.kinds() {
            let k = k.clone();
            let name = k.name().to_string();
            let is_async = watchdog(&name, move || {
                // A concrete kind's element type comes from its port types, not `T`.
                let wired = if k.ports().iter().any(|p| p.ty == "String") {
                    bind_all::<String>(&k).process
                } else {
                    bind_all::<u64>(&k).process
                };
                wired.is_async()
            });
            assert!(is_async, "{name} is not async");
        }
    }

    #[test]
    fn poison_passes_through_every_transforming_kind() {
        let reg = Registry::with_builtins();
        let transforming: Vec<Kind> = reg
            .kinds()
            .filter(|k| {
                let has = |d| k.ports().iter().any(|p| p.dir == d);
                has(PortDir::In) && has(PortDir::Out)
            })
            .cloned()
            .collect();
        let names: Vec<&str> = transforming.iter().map(|k| k.name()).collect();
        assert_eq!(
            names.len(),
            14,
            "the kinds between a source and a sink: {names:?}"
        );
        for k in transforming {
            let name = k.name().to_string();
            let ends = watchdog(&name, move || {
                let Wired {
                    process,
                    writers,
                    readers,
                } = bind_all::<u64>(&k);
                let source = Process::new("source", move || {
                    for tx in &writers {
                        tx.poison();
                    }
                });
                let ends = Arc::new(Mutex::new(Vec::new()));
                let mut ps = vec![source, process];
                for rx in readers {
                    let ends = ends.clone();
                    // Reads until the channel ends (`prefix` sends its value first).
                    ps.push(Process::new("sink", move || loop {
                        if let Err(e) = rx.recv() {
                            ends.lock().unwrap().push(e);
                            return;
                        }
                    }));
                }
                run(ps);
                let v = std::mem::take(&mut *ends.lock().unwrap());
                v
            });
            assert!(!ends.is_empty(), "{name} has outputs");
            assert!(
                ends.iter().all(|e| *e == RecvError::Poisoned),
                "{name}: its outputs ended {ends:?}, not all poisoned"
            );
        }
    }

    #[test]
    fn watchdog_returns_the_result() {
        assert_eq!(watchdog("trivial", || 5), 5);
    }
}
