//! Kinds that copy and shape one stream: `generate`, `id`, `prefix`, `tail`, `take`,
//! `skip_first`, `delay`, `discard`. All generic over any element type `T`; `generate` and
//! `prefix` read a `T` from the file, so they work on the types registered as readable.

use std::time::Duration;

use ron::Value;
use serde::de::DeserializeOwned;

use super::copy;
use crate::registry::{BuildCtx, BuildError, GenericBuildFn, Kind, Msg, ParamType};
use crate::time::sleep_async;
use crate::Process;

pub(super) fn kinds() -> Vec<Kind> {
    vec![
        Kind::generic(
            "generate",
            "sends `value` on `out` again and again; retires `out` after `count` values if given",
            false,
        )
        .output("out", "T")
        .required_param("value", ParamType::Elem, "the value to send")
        .param(
            "count",
            ParamType::UInt,
            Value::Unit,
            "how many values to send (default: no end)",
        ),
        Kind::generic("id", "copies each value of `in` to `out`", false)
            .input("in", "T")
            .output("out", "T"),
        Kind::generic(
            "prefix",
            "sends `value` on `out`, then copies `in` to `out`",
            false,
        )
        .input("in", "T")
        .output("out", "T")
        .required_param("value", ParamType::Elem, "the value sent first"),
        Kind::generic(
            "tail",
            "drops the first value of `in`, then copies `in` to `out`",
            false,
        )
        .input("in", "T")
        .output("out", "T"),
        Kind::generic(
            "take",
            "copies the first `count` values of `in` to `out`, then retires both",
            false,
        )
        .input("in", "T")
        .output("out", "T")
        .required_param("count", ParamType::UInt, "how many values to pass"),
        Kind::generic(
            "skip_first",
            "drops the first `count` values of `in`, then copies `in` to `out`",
            false,
        )
        .input("in", "T")
        .output("out", "T")
        .required_param("count", ParamType::UInt, "how many values to drop"),
        Kind::generic(
            "delay",
            "copies each value of `in` to `out` after waiting `ms` milliseconds",
            false,
        )
        .input("in", "T")
        .output("out", "T")
        .required_param(
            "ms",
            ParamType::UInt,
            "the wait before each value, in milliseconds",
        ),
        Kind::generic("discard", "reads every value of `in` and drops it", false).input("in", "T"),
    ]
}

pub(super) fn builds<T: Msg>() -> Vec<(&'static str, GenericBuildFn)> {
    vec![
        ("id", id::<T> as GenericBuildFn),
        ("tail", tail::<T>),
        ("take", take::<T>),
        ("skip_first", skip_first::<T>),
        ("delay", delay::<T>),
        ("discard", discard::<T>),
    ]
}

/// The kinds that read a value of `T` from the network file (`generate`, `prefix`).
pub(super) fn readable_builds<T: Msg + DeserializeOwned>() -> Vec<(&'static str, GenericBuildFn)> {
    vec![
        ("generate", generate::<T> as GenericBuildFn),
        ("prefix", prefix::<T>),
    ]
}

/// `generate`: port `out`; params `value` (T, required), `count` (optional). Sends
/// `value` again and again, or `count` times and then retires `out`.
fn generate<T: Msg + DeserializeOwned>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let tx = ctx.output::<T>("out")?;
    let value: T = ctx.param("value")?;
    let count: Option<u64> = ctx.param_opt("count")?;
    Ok(ctx.process_async(async move {
        let mut n = 0u64;
        while count.is_none_or(|c| n < c) {
            tx.send_async(value.clone()).await?;
            n += 1;
        }
        Ok(())
    }))
}

/// `id`: ports `in`, `out`. Copies each value.
fn id<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, tx) = (ctx.input::<T>("in")?, ctx.output::<T>("out")?);
    Ok(ctx.process_async(async move { copy(&rx, &tx).await }))
}

/// `prefix`: ports `in`, `out`; param `value` (T, required). Sends `value`, then copies
/// (occam's `prefix`, the head of commstime's loop).
fn prefix<T: Msg + DeserializeOwned>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, tx) = (ctx.input::<T>("in")?, ctx.output::<T>("out")?);
    let value: T = ctx.param("value")?;
    Ok(ctx.process_async(async move {
        tx.send_async(value).await?;
        copy(&rx, &tx).await
    }))
}

/// `tail`: ports `in`, `out`. Drops the first value, then copies.
fn tail<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, tx) = (ctx.input::<T>("in")?, ctx.output::<T>("out")?);
    Ok(ctx.process_async(async move {
        rx.recv_async().await?;
        copy(&rx, &tx).await
    }))
}

/// `take`: ports `in`, `out`; param `count` (required). Copies the first `count` values,
/// then ends, which retires both its input (its writer's next send fails `Retired`) and
/// its output.
fn take<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, tx) = (ctx.input::<T>("in")?, ctx.output::<T>("out")?);
    let count: u64 = ctx.param("count")?;
    Ok(ctx.process_async(async move {
        for _ in 0..count {
            tx.send_async(rx.recv_async().await?).await?;
        }
        Ok(())
    }))
}

/// `skip_first`: ports `in`, `out`; param `count` (required). Drops the first `count`
/// values, then copies.
fn skip_first<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, tx) = (ctx.input::<T>("in")?, ctx.output::<T>("out")?);
    let count: u64 = ctx.param("count")?;
    Ok(ctx.process_async(async move {
        for _ in 0..count {
            rx.recv_async().await?;
        }
        copy(&rx, &tx).await
    }))
}

/// `delay`: ports `in`, `out`; param `ms` (required). Copies each value after sleeping
/// `ms` milliseconds (poison arriving meanwhile is seen at the next send).
fn delay<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, tx) = (ctx.input::<T>("in")?, ctx.output::<T>("out")?);
    let wait = Duration::from_millis(ctx.param("ms")?);
    Ok(ctx.process_async(async move {
        loop {
            let v = rx.recv_async().await?;
            sleep_async(wait).await;
            tx.send_async(v).await?;
        }
    }))
}

/// `discard`: port `in`. Reads every value and drops it.
fn discard<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let rx = ctx.input::<T>("in")?;
    Ok(ctx.process_async(async move {
        loop {
            rx.recv_async().await?;
        }
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::super::testing::*;
    use crate::{channel, Error, Process, RecvError, SendError};

    #[test]
    fn id_copies() {
        assert_eq!(pipe::<u64>("id", &[], vec![1, 2, 3]), [1, 2, 3]);
        let words = vec!["a".to_string(), "b".to_string()];
        assert_eq!(pipe::<String>("id", &[], words.clone()), words);
    }

    #[test]
    fn generate_repeats_count_times() {
        let got: Vec<u64> = source("generate", &[("value", 7.into()), ("count", 3.into())]);
        assert_eq!(got, [7, 7, 7]);
        let got: Vec<String> = source("generate", &[("value", "hi".into()), ("count", 2.into())]);
        assert_eq!(got, ["hi", "hi"]);
        let none: Vec<u64> = source("generate", &[("value", 7.into()), ("count", 0.into())]);
        assert!(none.is_empty());
    }

    #[test]
    fn generate_without_count_runs_until_its_reader_retires() {
        watchdog("generate forever", || {
            let (tx, rx) = channel::<u64>();
            let p = spec::<u64>("generate")
                .param("value", 4)
                .output("out", tx)
                .build();
            let reader = Process::new("reader", move || {
                assert_eq!(rx.recv(), Ok(4));
                assert_eq!(rx.recv(), Ok(4));
            });
            run(vec![p, reader]);
        });
    }

    #[test]
    fn prefix_sends_its_value_first() {
        assert_eq!(
            pipe::<u64>("prefix", &[("value", 9.into())], vec![1, 2]),
            [9, 1, 2]
        );
        assert_eq!(
            pipe::<i64>("prefix", &[("value", (-1).into())], vec![]),
            [-1]
        );
    }

    #[test]
    fn tail_drops_the_first() {
        assert_eq!(pipe::<u64>("tail", &[], vec![1, 2, 3]), [2, 3]);
        assert!(pipe::<u64>("tail", &[], vec![]).is_empty());
    }

    #[test]
    fn skip_first_drops_count() {
        assert_eq!(
            pipe::<u64>("skip_first", &[("count", 2.into())], vec![1, 2, 3, 4]),
            [3, 4]
        );
        assert!(pipe::<u64>("skip_first", &[("count", 5.into())], vec![1, 2]).is_empty());
    }

    #[test]
    fn take_passes_count_then_retires_both_ends() {
        assert_eq!(
            pipe::<u64>("take", &[("count", 2.into())], vec![1, 2, 3]),
            [1, 2]
        );
        watchdog("take retires its input", || {
            let (in_tx, in_rx) = channel::<u64>();
            let (out_tx, out_rx) = channel::<u64>();
            let p = spec::<u64>("take")
                .param("count", 3)
                .input("in", in_rx)
                .output("out", out_tx)
                .build();
            let ended = Arc::new(Mutex::new(None));
            let e = ended.clone();
            let writer = Process::new("endless", move || {
                for i in 0.. {
                    if let Err(err) = in_tx.send(i) {
                        *e.lock().unwrap() = Some(matches!(err, SendError::Retired(_)));
                        return;
                    }
                }
            });
            let (c, got) = collector(out_rx);
            run(vec![writer, p, c]);
            assert_eq!(*got.lock().unwrap(), [0, 1, 2]);
            assert_eq!(
                *ended.lock().unwrap(),
                Some(true),
                "the writer saw retirement"
            );
        });
    }

    #[test]
    fn delay_keeps_values_and_order() {
        assert_eq!(
            pipe::<u64>("delay", &[("ms", 1.into())], vec![3, 1, 2]),
            [3, 1, 2]
        );
    }

    #[test]
    fn discard_reads_everything() {
        watchdog("discard", || {
            let (tx, rx) = channel::<u64>();
            let p = spec::<u64>("discard").input("in", rx).build();
            run(vec![feeder(tx, (0..10).collect()), p]);
        });
    }

    #[test]
    fn poison_on_the_input_spreads_to_an_unused_output() {
        watchdog("id poison", || {
            let (in_tx, in_rx) = channel::<u64>();
            let (out_tx, out_rx) = channel::<u64>();
            let p = spec::<u64>("id")
                .input("in", in_rx)
                .output("out", out_tx)
                .build();
            in_tx.poison();
            let reader = Process::new("reader", move || -> crate::Result {
                assert_eq!(out_rx.recv(), Err(RecvError::Poisoned));
                Err(Error::Poisoned)
            });
            run(vec![p, reader]);
        });
    }

    #[test]
    fn missing_required_param_is_a_build_error() {
        let (tx, _rx) = channel::<u64>();
        let (_tx2, rx2) = channel::<u64>();
        let e = spec::<u64>("take")
            .input("in", rx2)
            .output("out", tx)
            .try_build()
            .unwrap_err();
        assert!(e.0.contains("count"), "{e}");
    }
}
