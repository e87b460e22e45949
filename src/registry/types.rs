//! A channel type a declared network can carry: how to make its channels (and links),
//! read its values from a file, show them.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use ron::Value;
use serde::de::DeserializeOwned;

use crate::channel::{buffered, Core, Receiver, Sender};

use super::{GenericBuildFn, Msg};

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
    pub(super) type_id: std::any::TypeId,
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
    pub(super) format: Arc<dyn Any + Send + Sync>,
    /// Shows a value of the type with `format` (for recorded values).
    show: fn(&(dyn Any + Send + Sync), &dyn Any) -> Option<String>,
    pub(super) generic: HashMap<&'static str, GenericBuildFn>,
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
    pub(super) fn opaque<T: Msg>(name: &str, numeric: bool, format: fn(&T) -> String) -> TypeInfo {
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
    pub(super) fn readable<T: Msg + DeserializeOwned>(
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
    /// [`Registry::register_type`](super::Registry::register_type) or [`Registry::register_debug_type`](super::Registry::register_debug_type)).
    pub fn is_readable(&self) -> bool {
        self.readable
    }

    /// Whether channels of this type may cross MPI ranks: it has a codec (the built-in
    /// types do; a user's type once [`Registry::add_codec`](super::Registry::add_codec) gave it one).
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

    // `T` is used only with the `mpi` feature (the link maker); without it a type with a
    // codec is only marked.
    #[cfg_attr(not(feature = "mpi"), allow(clippy::extra_unused_type_parameters))]
    pub(super) fn set_codec<T: Send + serde::Serialize + DeserializeOwned + 'static>(&mut self) {
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

    #[cfg_attr(not(feature = "launcher"), allow(dead_code))] // its one user: the launcher
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
