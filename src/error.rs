//! Errors of channel operations. Every error of an operation that was handed a value gives
//! that value back.

use std::fmt;

macro_rules! value_error {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $msg:literal,)* }) => {
        $(#[$m])*
        #[derive(PartialEq, Eq, Clone, Copy)]
        pub enum $name<T> {
            $($(#[$vm])* $variant(T),)*
        }

        impl<T> $name<T> {
            /// The value that was not sent.
            pub fn into_inner(self) -> T {
                match self { $($name::$variant(v) => v,)* }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $($name::$variant(_) => write!(f, concat!(stringify!($name), "::", stringify!($variant), "(..)")),)* }
            }
        }

        impl<T> fmt::Display for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $($name::$variant(_) => f.write_str($msg),)* }
            }
        }

        impl<T> std::error::Error for $name<T> {}
    };
}

value_error! {
    /// A [`send`](crate::Sender::send) that failed; the value comes back inside.
    ///
    /// # Examples
    /// ```
    /// let (tx, rx) = occamy::channel::<String>();
    /// drop(rx);
    /// let err = tx.send("hello".to_string()).unwrap_err();
    /// assert!(matches!(err, occamy::SendError::Retired(_)));
    /// assert_eq!(err.into_inner(), "hello");
    /// ```
    SendError {
        /// The channel is poisoned.
        Poisoned => "sending on a poisoned channel",
        /// Every reader has gone.
        Retired => "sending on a channel with no readers left",
    }
}

value_error! {
    /// A [`try_send`](crate::Sender::try_send) that failed; the value comes back inside.
    TrySendError {
        /// No reader was ready and the buffer (if any) was full.
        Full => "sending on a channel with no reader ready",
        /// The channel is poisoned.
        Poisoned => "sending on a poisoned channel",
        /// Every reader has gone.
        Retired => "sending on a channel with no readers left",
    }
}

value_error! {
    /// A [`send_timeout`](crate::Sender::send_timeout) that failed; the value comes back inside.
    SendTimeoutError {
        /// No reader took the value before the deadline.
        Timeout => "timed out sending on a channel",
        /// The channel is poisoned.
        Poisoned => "sending on a poisoned channel",
        /// Every reader has gone.
        Retired => "sending on a channel with no readers left",
    }
}

/// Why a channel can carry no more values: the two ordinary ways a network ends.
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum RecvError {
    /// The channel is poisoned.
    Poisoned,
    /// Every writer has gone and the buffer is empty.
    Retired,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvError::Poisoned => "receiving on a poisoned channel",
            RecvError::Retired => "receiving on a channel with no writers left",
        })
    }
}

impl std::error::Error for RecvError {}

/// A [`try_recv`](crate::Receiver::try_recv) that found nothing.
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum TryRecvError {
    /// No writer was ready and the buffer (if any) was empty.
    Empty,
    /// The channel is poisoned.
    Poisoned,
    /// Every writer has gone and the buffer is empty.
    Retired,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "receiving on a channel with no writer ready",
            TryRecvError::Poisoned => "receiving on a poisoned channel",
            TryRecvError::Retired => "receiving on a channel with no writers left",
        })
    }
}

impl std::error::Error for TryRecvError {}

/// A [`recv_timeout`](crate::Receiver::recv_timeout) that failed.
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum RecvTimeoutError {
    /// No value arrived before the deadline.
    Timeout,
    /// The channel is poisoned.
    Poisoned,
    /// Every writer has gone and the buffer is empty.
    Retired,
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvTimeoutError::Timeout => "timed out receiving on a channel",
            RecvTimeoutError::Poisoned => "receiving on a poisoned channel",
            RecvTimeoutError::Retired => "receiving on a channel with no writers left",
        })
    }
}

impl std::error::Error for RecvTimeoutError {}
