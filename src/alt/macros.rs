//! `alt!` and `pri_alt!`: a fixed set of guards written inline, in the style of
//! crossbeam's `select!`. Both expand to an [`Alt`](crate::Alt) built for one select.
//!
//! The muncher turns each arm into `[kind (args) (pattern) (precondition) (body) g o s]`,
//! where `g`, `o` and `s` are identifiers made in that arm's own expansion step, so that
//! hygiene keeps them apart: the arm's guard handle, its outcome, and (`send_from`) its
//! slot.

/// Waits for the first of several guards, with fair choice among ready ones.
///
/// Arms (each guard may carry a precondition `if COND` before `=>`; a guard whose
/// precondition is false is ignored):
/// - `recv(rx) -> v => body`: input; `v` is `Result<T, RecvError>` (`Err` when the channel
///   is poisoned or retired).
/// - `send(tx, value) -> r => body`: output; `r` is `Result<(), SendError<T>>`, as
///   [`Sender::send`](crate::Sender::send) returns (the error holds the value). The value
///   is taken only if this guard is chosen; a value not chosen is dropped with the alt. To
///   keep it, use `send_from`.
/// - `send_from(tx, slot) -> r => body`: output of the value in `slot`, a
///   `&mut Option<T>`; the guard is enabled only while `slot` holds a value. If the guard
///   is chosen, the value leaves `slot` (into the channel, or into `r`'s error); if not,
///   it is back in `slot` before the chosen body runs. The slot stays borrowed until then,
///   so the alt's preconditions cannot read it (decide before the alt instead).
/// - `after(duration) => body`: timeout, relative to the start of the alt.
/// - `at(instant) => body`: timeout at an absolute time.
/// - `skip => body`: always ready.
/// - `exhausted => body`: runs when no guard is enabled (every precondition false, every
///   `send_from` slot empty), where [`Alt::select`](crate::Alt::select) returns
///   [`Event::Exhausted`](crate::Event::Exhausted). An `alt!` whose every guard may be
///   disabled (each has a precondition or is a `send_from`) must have this arm: without
///   it, it does not compile, so that it can neither wait for ever nor panic.
///
/// Bodies are expressions (a block needs no comma after it); the alt evaluates to the
/// chosen body's value. Every expression of the guards (precondition, channel, value or
/// slot) is evaluated exactly once, in written order, before the alt starts (as in Go).
/// Which ready guard is chosen: a uniformly random one, whatever the guards' positions;
/// when several guards are on one channel and the alt has to wait, the peer completes a
/// uniformly random one of them (see [`Alt`](crate::Alt#fair-and-priority-choice)).
///
/// # Blocking
/// As [`Alt::select`](crate::Alt::select).
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
///
/// A value offered from a slot stays there until it is sent, and an alt whose guards may
/// all be disabled says what to do then:
/// ```
/// use std::time::Duration;
/// use occamy::alt;
/// let (tx, rx) = occamy::channel::<String>();
/// let mut next = Some("first".to_string());
/// // Nobody reads yet: the timeout wins, and the value is still in `next`.
/// alt! {
///     send_from(tx, &mut next) -> r => r.unwrap(),
///     after(Duration::from_millis(1)) => {}
/// }
/// assert_eq!(next.as_deref(), Some("first"));
///
/// let reader = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
/// let mut pending = vec!["third".to_string(), "second".to_string()];
/// loop {
///     if next.is_none() {
///         next = pending.pop();
///     }
///     alt! {
///         send_from(tx, &mut next) -> r => r.unwrap(),
///         exhausted => break, // nothing left to send
///     }
/// }
/// drop(tx);
/// assert_eq!(reader.join().unwrap(), ["first", "second", "third"]);
/// ```
///
/// Without an `exhausted` arm, an alt whose guards may all be disabled is refused:
/// ```compile_fail
/// let (_tx, rx) = occamy::channel::<u8>();
/// let ready = false;
/// occamy::alt! { recv(rx) -> _ if ready => () }
/// ```
#[macro_export]
macro_rules! alt {
    ($($arms:tt)*) => { $crate::__alt_munch!((new) [] [] $($arms)*) };
}

/// As [`alt!`], with priority choice: the first ready guard in written order wins
/// (occam's `PRI ALT`), and when it blocks, a peer that could complete several of its
/// guards completes the first written.
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
    ($($arms:tt)*) => { $crate::__alt_munch!((priority) [] [] $($arms)*) };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __alt_munch {
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*]) => { $crate::__alt_build!(($new) [$($arms)*] [$($exh)*]) };

    (($new:ident) [$($arms:tt)*] [$($exh:tt)+] exhausted => $($rest:tt)*) => {
        ::core::compile_error!("alt!: more than one `exhausted` arm")
    };
    (($new:ident) [$($arms:tt)*] [] exhausted => $body:block $(,)? $($rest:tt)*) => {
        $crate::__alt_munch!(($new) [$($arms)*] [($body)] $($rest)*)
    };
    (($new:ident) [$($arms:tt)*] [] exhausted => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__alt_munch!(($new) [$($arms)*] [($body)] $($($rest)*)?)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] recv($rx:expr) -> $v:pat $(if $c:expr)? => $body:block $(,)? $($rest:tt)*) => {
        $crate::__alt_munch!(($new) [$($arms)* [recv ($rx) ($v) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($rest)*)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] recv($rx:expr) -> $v:pat $(if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__alt_munch!(($new) [$($arms)* [recv ($rx) ($v) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($($rest)*)?)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] send($tx:expr, $val:expr) -> $r:pat $(if $c:expr)? => $body:block $(,)? $($rest:tt)*) => {
        $crate::__alt_munch!(($new) [$($arms)* [send ($tx, $val) ($r) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($rest)*)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] send($tx:expr, $val:expr) -> $r:pat $(if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__alt_munch!(($new) [$($arms)* [send ($tx, $val) ($r) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($($rest)*)?)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] send_from($tx:expr, $slot:expr) -> $r:pat $(if $c:expr)? => $body:block $(,)? $($rest:tt)*) => {
        $crate::__alt_munch!(($new) [$($arms)* [send_from ($tx, $slot) ($r) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($rest)*)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] send_from($tx:expr, $slot:expr) -> $r:pat $(if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__alt_munch!(($new) [$($arms)* [send_from ($tx, $slot) ($r) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($($rest)*)?)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] after($d:expr) $(if $c:expr)? => $body:block $(,)? $($rest:tt)*) => {
        $crate::__alt_munch!(($new) [$($arms)* [after ($d) (_) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($rest)*)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] after($d:expr) $(if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__alt_munch!(($new) [$($arms)* [after ($d) (_) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($($rest)*)?)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] at($t:expr) $(if $c:expr)? => $body:block $(,)? $($rest:tt)*) => {
        $crate::__alt_munch!(($new) [$($arms)* [at ($t) (_) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($rest)*)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] at($t:expr) $(if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__alt_munch!(($new) [$($arms)* [at ($t) (_) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($($rest)*)?)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] skip $(if $c:expr)? => $body:block $(,)? $($rest:tt)*) => {
        $crate::__alt_munch!(($new) [$($arms)* [skip () (_) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($rest)*)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] skip $(if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__alt_munch!(($new) [$($arms)* [skip () (_) ($($c)?) ($body) __g __o __s]] [$($exh)*] $($($rest)*)?)
    };
    (($new:ident) [$($arms:tt)*] [$($exh:tt)*] $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "alt!: expected an arm `recv(rx) -> v => ...`, `send(tx, value) -> r => ...`, ",
            "`send_from(tx, slot) -> r => ...`, `after(duration) => ...`, `at(instant) => ...`, ",
            "`skip => ...` or `exhausted => ...`, found `",
            ::core::stringify!($($rest)+),
            "`"
        ))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __alt_build {
    (($new:ident) [$([$kind:ident ($($args:tt)*) ($p:pat) ($($c:tt)*) ($body:expr) $g:ident $o:ident $s:ident])*] [$($exh:tt)*]) => {{
        let mut __alt = $crate::Alt::$new();
        $( $crate::__alt_add!(__alt $kind ($($args)*) ($crate::__alt_cond!($($c)*)) $g $s); )*
        #[allow(unused_mut)]
        let mut __sel = __alt.select();
        let __i = __sel.index();
        $(
            let $o = if __i == $g {
                ::core::option::Option::Some($crate::__alt_outcome!(__sel $kind $g))
            } else {
                ::core::option::Option::None
            };
        )*
        $( $crate::__alt_restore!(__alt $kind $g $s); )*
        $( if let ::core::option::Option::Some(__x) = $o { let $p = __x; $body } else )*
        { $crate::__alt_exhausted!([$($exh)*] $(($kind $($c)*))*) }
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

/// Adds one arm's guard, binding its handle to `$g` (and a `send_from` slot to `$s`).
#[doc(hidden)]
#[macro_export]
macro_rules! __alt_add {
    ($alt:ident recv ($rx:expr) ($c:expr) $g:ident $s:ident) => {
        let $g = $alt.recv_if($c, &$rx);
    };
    ($alt:ident send ($tx:expr, $val:expr) ($c:expr) $g:ident $s:ident) => {
        let $g = $alt.send_if($c, &$tx, $val);
    };
    ($alt:ident send_from ($tx:expr, $slot:expr) ($c:expr) $g:ident $s:ident) => {
        let ($g, $s) = {
            let __c = $c;
            let __tx = &$tx;
            let __slot: &mut ::core::option::Option<_> = $slot;
            let __v = if __c {
                __slot.take()
            } else {
                ::core::option::Option::None
            };
            let __on = __v.is_some();
            ($alt.__send_opt(__on, __tx, __v), __slot)
        };
    };
    ($alt:ident after ($d:expr) ($c:expr) $g:ident $s:ident) => {
        let $g = $alt.timeout_if($c, $d);
    };
    ($alt:ident at ($t:expr) ($c:expr) $g:ident $s:ident) => {
        let $g = $alt.deadline_if($c, $t);
    };
    ($alt:ident skip () ($c:expr) $g:ident $s:ident) => {
        let $g = $alt.skip_if($c);
    };
}

/// The chosen arm's outcome: what its pattern binds.
#[doc(hidden)]
#[macro_export]
macro_rules! __alt_outcome {
    ($sel:ident recv $g:ident) => {
        $crate::__recv_of(&mut $sel, $g)
    };
    ($sel:ident send $g:ident) => {
        $crate::__sent_of(&mut $sel, $g)
    };
    ($sel:ident send_from $g:ident) => {
        $crate::__sent_of(&mut $sel, $g)
    };
    ($sel:ident $kind:ident $g:ident) => {
        ()
    };
}

/// Puts a `send_from` arm's unsent value back in its slot.
#[doc(hidden)]
#[macro_export]
macro_rules! __alt_restore {
    ($alt:ident send_from $g:ident $s:ident) => {
        if let ::core::option::Option::Some(__v) = $alt.take_back($g) {
            *$s = ::core::option::Option::Some(__v);
        }
    };
    ($alt:ident $kind:ident $g:ident $s:ident) => {};
}

/// What an alt with no guard enabled does: its `exhausted` arm; or, if some guard has no
/// precondition (so that case cannot arise), nothing; or, if every guard may be disabled
/// and there is no `exhausted` arm, refuse to compile.
#[doc(hidden)]
#[macro_export]
macro_rules! __alt_exhausted {
    ([($body:expr)] $($arms:tt)*) => {
        $body
    };
    ([] $($arms:tt)*) => {
        $crate::__alt_unconditional!($($arms)*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __alt_unconditional {
    ((send_from $($c:tt)*) $($rest:tt)*) => {
        $crate::__alt_unconditional!($($rest)*)
    };
    (($kind:ident) $($rest:tt)*) => {
        ::core::unreachable!("occamy: alt! found no guard enabled, though one has no precondition")
    };
    (($kind:ident $($c:tt)+) $($rest:tt)*) => {
        $crate::__alt_unconditional!($($rest)*)
    };
    () => {
        ::core::compile_error!(
            "alt!: every guard may be disabled (each has a precondition or is a `send_from`), so add an `exhausted => ...` arm for when none is enabled"
        )
    };
}
