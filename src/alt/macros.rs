//! `alt!` and `pri_alt!`: a fixed set of guards written inline, in the style of
//! crossbeam's `select!`. Both expand to an [`Alt`](crate::Alt) built for one select.

/// Waits for the first of several guards, with fair choice among ready ones.
///
/// Arms (each may carry a precondition `if COND` before `=>`; a guard whose precondition
/// is false is ignored):
/// - `recv(rx) -> v => body`: input; `v` is `Result<T, RecvError>` (`Err` when the channel
///   is poisoned or retired).
/// - `send(tx, value) -> r => body`: output; `r` is `Result<(), SendError<T>>`. `value` is
///   evaluated before the alt starts (as in Go) and is taken only if this guard is chosen;
///   an unchosen value is dropped with the alt. To keep unchosen values, use
///   [`Alt::send`](crate::Alt::send) and [`Alt::take_back`](crate::Alt::take_back).
/// - `after(duration) => body`: timeout, relative to the start of the alt.
/// - `at(instant) => body`: timeout at an absolute time.
/// - `skip => body`: always ready.
///
/// Bodies are expressions (a block needs no comma after it); the alt evaluates to the
/// chosen body's value. The channel expressions are evaluated again for the chosen arm, so
/// keep them to plain variables or field accesses.
///
/// # Blocking
/// As [`Alt::select`](crate::Alt::select). If no guard is enabled, the macro panics rather than wait for ever
/// (occam's `ALT` would deadlock).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use occamy::alt;
/// let (tx, rx) = occamy::channel::<i32>();
/// let (out, sink) = occamy::channel::<&str>();
/// std::thread::spawn(move || tx.send(7));
/// std::thread::spawn(move || { let _ = sink.recv(); });
/// let mut seen = 0;
/// while seen < 2 {
///     alt! {
///         recv(rx) -> v => { if let Ok(v) = v { assert_eq!(v, 7); seen += 1 } }
///         send(out, "hi") -> r if seen == 1 => { r.unwrap(); seen += 1 }
///         after(Duration::from_secs(5)) => panic!("nothing happened"),
///     }
/// }
/// ```
#[macro_export]
macro_rules! alt {
    ($($arms:tt)*) => { $crate::__alt_munch!(($crate::Alt::new()) [] $($arms)*) };
}

/// As [`alt!`], with priority choice: the first ready guard in written order wins
/// (occam's `PRI ALT`).
///
/// # Examples
/// ```
/// use occamy::pri_alt;
/// let (tx, rx) = occamy::buffered::<i32>(1);
/// tx.send(1).unwrap();
/// let got = pri_alt! {
///     recv(rx) -> v => v.unwrap(),
///     skip => 0,
/// };
/// assert_eq!(got, 1); // the input is ready and comes first
/// ```
#[macro_export]
macro_rules! pri_alt {
    ($($arms:tt)*) => { $crate::__alt_munch!(($crate::Alt::priority()) [] $($arms)*) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __alt_munch {
    (($new:expr) [$($arms:tt)*]) => { $crate::__alt_build!(($new) $($arms)*) };

    (($new:expr) [$($arms:tt)*] recv($rx:expr) -> $v:pat $(if $c:expr)? => $body:block $(,)? $($rest:tt)*) => {
        $crate::__alt_munch!(($new) [$($arms)* [recv ($rx) ($v) ($($c)?) ($body)]] $($rest)*)
    };
    (($new:expr) [$($arms:tt)*] recv($rx:expr) -> $v:pat $(if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__alt_munch!(($new) [$($arms)* [recv ($rx) ($v) ($($c)?) ($body)]] $($($rest)*)?)
    };
    (($new:expr) [$($arms:tt)*] send($tx:expr, $val:expr) -> $r:pat $(if $c:expr)? => $body:block $(,)? $($rest:tt)*) => {
        $crate::__alt_munch!(($new) [$($arms)* [send ($tx, $val) ($r) ($($c)?) ($body)]] $($rest)*)
    };
    (($new:expr) [$($arms:tt)*] send($tx:expr, $val:expr) -> $r:pat $(if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__alt_munch!(($new) [$($arms)* [send ($tx, $val) ($r) ($($c)?) ($body)]] $($($rest)*)?)
    };
    (($new:expr) [$($arms:tt)*] $kind:ident($arg:expr) $(if $c:expr)? => $body:block $(,)? $($rest:tt)*) => {
        $crate::__alt_munch!(($new) [$($arms)* [$kind ($arg) (_) ($($c)?) ($body)]] $($rest)*)
    };
    (($new:expr) [$($arms:tt)*] $kind:ident($arg:expr) $(if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__alt_munch!(($new) [$($arms)* [$kind ($arg) (_) ($($c)?) ($body)]] $($($rest)*)?)
    };
    (($new:expr) [$($arms:tt)*] skip $(if $c:expr)? => $body:block $(,)? $($rest:tt)*) => {
        $crate::__alt_munch!(($new) [$($arms)* [skip () (_) ($($c)?) ($body)]] $($rest)*)
    };
    (($new:expr) [$($arms:tt)*] skip $(if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__alt_munch!(($new) [$($arms)* [skip () (_) ($($c)?) ($body)]] $($($rest)*)?)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __alt_build {
    (($new:expr) $([$kind:ident ($($args:tt)*) ($p:pat) ($($c:tt)*) ($body:expr)])*) => {{
        let mut __alt = $new;
        $( $crate::__alt_add!(__alt $kind ($($args)*) ($crate::__alt_cond!($($c)*))); )*
        let __sel = __alt.select();
        let __idx = __sel.index();
        let __counter = ::core::cell::Cell::new(0usize);
        let __next = || {
            let k = __counter.get();
            __counter.set(k + 1);
            k
        };
        $( if __idx == __next() { $crate::__alt_arm!(__alt __sel $kind ($($args)*) ($p) $body) } else )*
        { ::core::panic!("occamy: alt! with no guard enabled") }
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __alt_cond {
    () => {
        true
    };
    ($c:expr) => {
        $c
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __alt_add {
    ($alt:ident recv ($rx:expr) ($c:expr)) => {
        $alt.recv_if($c, &$rx)
    };
    ($alt:ident send ($tx:expr, $val:expr) ($c:expr)) => {
        $alt.send_if($c, &$tx, $val)
    };
    ($alt:ident after ($d:expr) ($c:expr)) => {
        $alt.timeout_if($c, $d)
    };
    ($alt:ident at ($t:expr) ($c:expr)) => {{
        let i = $alt.deadline($t);
        $alt.set_enabled(i, $c);
        i
    }};
    ($alt:ident skip () ($c:expr)) => {
        $alt.skip_if($c)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __alt_arm {
    ($alt:ident $sel:ident recv ($rx:expr) ($p:pat) $body:expr) => {{
        let $p = $crate::__recv_of(&$rx, $sel);
        $body
    }};
    ($alt:ident $sel:ident send ($tx:expr, $val:expr) ($p:pat) $body:expr) => {{
        let $p = $crate::__send_of(&$tx, &mut $alt, $sel);
        $body
    }};
    ($alt:ident $sel:ident $kind:ident ($($args:tt)*) ($p:pat) $body:expr) => {{
        let _ = $sel;
        $body
    }};
}
