//! How a process ends: `Error`, `ProcessEnd`, `Failure`, `ParError` (see `Error`).

use std::fmt;

use crate::deadlock::DeadlockReport;
use crate::error::{RecvError, SendError, SendTimeoutError, TrySendError};

/// How a process ends other than normally.
///
/// # How a process ends, in four types
///
/// - [`Error`] is what a process *body* returns when it does not return `Ok(())`: poisoned,
///   retired, or failed with an error. `?` converts channel and barrier errors into it.
/// - [`ProcessEnd`] is how the runtime saw a process end: `Ok`, `Poisoned`, `Retired`
///   (the three normal ends), `Failed` or `Panicked`. It is what
///   [`ProcessInfo::end`](crate::ProcessInfo) and `--stats` show.
/// - [`Failure`] is the detail of an end that is *not* normal: the error a body returned,
///   a panic's message, a thread that could not start, or a deadlock.
/// - [`ParError`] is what [`par`](crate::par), [`seq`](crate::seq) and joins return when
///   at least one process failed: the first failure, naming its process, and the others.
///
/// ```
/// use occamy::{Error, Failure, Process, ProcessEnd, Runtime};
/// let (tx, rx) = occamy::channel::<u8>();
/// let out = Runtime::new().run([
///     // ends with Error::Poisoned (from `?`): ProcessEnd::Poisoned, a normal end
///     Process::new("reader", move || -> occamy::Result { loop { rx.recv()?; } }),
///     // ends with Error::Failed: ProcessEnd::Failed, and a Failure::Error in the ParError
///     Process::new("writer", move || -> occamy::Result {
///         tx.send(1)?;
///         Err(Error::failed("out of ideas"))
///     }),
/// ]);
/// let ends: Vec<_> = out.processes.iter().map(|p| (p.name.as_str(), p.end)).collect();
/// assert_eq!(ends, [("reader", Some(ProcessEnd::Poisoned)), ("writer", Some(ProcessEnd::Failed))]);
/// let err = out.result.unwrap_err();
/// assert_eq!(err.process, "writer");
/// assert!(matches!(err.failure, Failure::Error(_)));
/// assert_eq!(err.to_string(), "process `writer` failed: out of ideas");
/// ```
///
/// `Poisoned` and `Retired` are the ordinary ways a network shuts down; `par` treats them
/// as success. `Failed` is a real failure. The `?` operator converts channel errors (the
/// value of a failed send is dropped), [`BarrierPoisoned`](crate::BarrierPoisoned), I/O
/// errors and strings; wrap any other error with [`Error::failed`].
#[derive(Debug)]
pub enum Error {
    /// A channel or barrier the process used was poisoned.
    Poisoned,
    /// A channel the process used retired.
    Retired,
    /// The process failed.
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// A failure carrying `e`.
    pub fn failed(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::Failed(e.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Poisoned => f.write_str("poisoned"),
            Error::Retired => f.write_str("retired"),
            Error::Failed(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for Error {}

impl From<RecvError> for Error {
    fn from(e: RecvError) -> Error {
        match e {
            RecvError::Poisoned => Error::Poisoned,
            RecvError::Retired => Error::Retired,
        }
    }
}

impl<T> From<SendError<T>> for Error {
    fn from(e: SendError<T>) -> Error {
        match e {
            SendError::Poisoned(_) => Error::Poisoned,
            SendError::Retired(_) => Error::Retired,
        }
    }
}

impl<T> From<SendTimeoutError<T>> for Error {
    fn from(e: SendTimeoutError<T>) -> Error {
        match e {
            SendTimeoutError::Poisoned(_) => Error::Poisoned,
            SendTimeoutError::Retired(_) => Error::Retired,
            SendTimeoutError::Timeout(_) => Error::failed("timed out sending"),
        }
    }
}

impl<T> From<TrySendError<T>> for Error {
    fn from(e: TrySendError<T>) -> Error {
        match e {
            TrySendError::Poisoned(_) => Error::Poisoned,
            TrySendError::Retired(_) => Error::Retired,
            TrySendError::Full(_) => Error::failed("no reader ready"),
        }
    }
}

impl From<crate::error::RecvTimeoutError> for Error {
    fn from(e: crate::error::RecvTimeoutError) -> Error {
        use crate::error::RecvTimeoutError as E;
        match e {
            E::Poisoned => Error::Poisoned,
            E::Retired => Error::Retired,
            E::Timeout => Error::failed("timed out receiving"),
        }
    }
}

impl From<crate::error::TryRecvError> for Error {
    fn from(e: crate::error::TryRecvError) -> Error {
        use crate::error::TryRecvError as E;
        match e {
            E::Poisoned => Error::Poisoned,
            E::Retired => Error::Retired,
            E::Empty => Error::failed("no writer ready"),
        }
    }
}

impl From<crate::barrier::BarrierPoisoned> for Error {
    fn from(_: crate::barrier::BarrierPoisoned) -> Error {
        Error::Poisoned
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::failed(e)
    }
}

impl From<String> for Error {
    fn from(e: String) -> Error {
        Error::failed(e)
    }
}

impl From<&str> for Error {
    fn from(e: &str) -> Error {
        Error::failed(e)
    }
}

/// What a process body may return: `()` or `Result<(), E>` with `E: Into<Error>`.
pub trait ProcessResult {
    /// The result as occamy sees it.
    fn into_result(self) -> Result<(), Error>;
}

impl ProcessResult for () {
    fn into_result(self) -> Result<(), Error> {
        Ok(())
    }
}

impl<E: Into<Error>> ProcessResult for Result<(), E> {
    fn into_result(self) -> Result<(), Error> {
        self.map_err(Into::into)
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcessEnd {
    /// It returned normally.
    Ok,
    /// It ended by poison.
    Poisoned,
    /// It ended by retirement.
    Retired,
    /// It returned a failure.
    Failed,
    /// It panicked.
    Panicked,
}

impl fmt::Display for ProcessEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProcessEnd::Ok => "ok",
            ProcessEnd::Poisoned => "poisoned",
            ProcessEnd::Retired => "retired",
            ProcessEnd::Failed => "failed",
            ProcessEnd::Panicked => "panicked",
        })
    }
}

/// A process that did not end normally.
#[derive(Debug)]
pub enum Failure {
    /// It returned [`Error::Failed`].
    Error(Box<dyn std::error::Error + Send + Sync>),
    /// It panicked, with this message.
    Panic(String),
    /// Its thread could not be started.
    Spawn(std::io::Error),
    /// It was part of a deadlock (the report says who waited on whom).
    Deadlock(DeadlockReport),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => write!(f, "failed: {e}"),
            Failure::Panic(m) => write!(f, "panicked: {m}"),
            Failure::Spawn(e) => write!(f, "could not start: {e}"),
            Failure::Deadlock(d) => write!(f, "is deadlocked: {d}"),
        }
    }
}

/// The failures of a [`par`](crate::par), [`seq`](crate::seq) or joined [`spawn`](crate::spawn): the first (in the order they
/// happened) is the one reported; the others are kept.
#[derive(Debug)]
pub struct ParError {
    /// The process that failed first.
    pub process: String,
    /// How it failed.
    pub failure: Failure,
    /// Any further failures, in the order they happened.
    pub others: Vec<(String, Failure)>,
}

impl fmt::Display for ParError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process `{}` {}", self.process, self.failure)?;
        if !self.others.is_empty() {
            write!(f, " (and {} more failed)", self.others.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ParError {}

impl ParError {
    pub(crate) fn from_failures(mut all: Vec<(u64, String, Failure)>) -> Option<ParError> {
        all.sort_by_key(|f| f.0);
        let mut it = all.into_iter();
        let (_, process, failure) = it.next()?;
        Some(ParError {
            process,
            failure,
            others: it.map(|(_, p, f)| (p, f)).collect(),
        })
    }
}
