//! Numeric kinds, on `i64`, `u64` and `f64`: the sources `numbers` and `tick`, and
//! `succ`, `plus`, `pairs`, `integrate` (the arithmetic of occam's and JCSP's demos).
//! Integer overflow fails the process.

use std::time::Duration;

use ron::Value;

use super::{add, Num};
use crate::alt::Alt;
use crate::registry::{BuildCtx, BuildError, GenericBuildFn, Kind, ParamType};
use crate::runtime::Error;
use crate::time::{now, sleep_until_async};
use crate::Process;

pub(super) fn kinds() -> Vec<Kind> {
    vec![
        Kind::generic(
            "numbers",
            "sends `start`, `start + step`, ... on `out`; retires `out` after `count` values if given",
            true,
        )
        .output("out", "T")
        .param("start", ParamType::Elem, 0, "the first value")
        .param("step", ParamType::Elem, 1, "the difference between one value and the next")
        .param("count", ParamType::UInt, Value::Unit, "how many values to send (default: no end)"),
        Kind::generic(
            "tick",
            "sends 0, 1, 2, ... on `out`, one every `period` ms on fixed deadlines; retires after `count` values if given",
            true,
        )
        .output("out", "T")
        .required_param("period", ParamType::UInt, "the time between values, in milliseconds")
        .param("count", ParamType::UInt, Value::Unit, "how many values to send (default: no end)"),
        Kind::generic("succ", "adds one to each value of `in` and sends it on `out`", true)
            .input("in", "T")
            .output("out", "T"),
        Kind::generic(
            "plus",
            "reads one value from each of the two channels of `in` in parallel and sends their sum on `out`",
            true,
        )
        .input_array("in", "T")
        .output("out", "T"),
        Kind::generic(
            "pairs",
            "sends the sum of each two consecutive values of `in` on `out`: x0+x1, x1+x2, ...",
            true,
        )
        .input("in", "T")
        .output("out", "T"),
        Kind::generic(
            "integrate",
            "sends the running sum of the values of `in` on `out`: x0, x0+x1, ...",
            true,
        )
        .input("in", "T")
        .output("out", "T"),
    ]
}

pub(super) fn builds<T: Num>() -> Vec<(&'static str, GenericBuildFn)> {
    vec![
        ("numbers", numbers::<T> as GenericBuildFn),
        ("tick", tick::<T>),
        ("succ", succ::<T>),
        ("plus", plus::<T>),
        ("pairs", pairs::<T>),
        ("integrate", integrate::<T>),
    ]
}

/// `numbers`: port `out`; params `start` (T, default 0), `step` (T, default 1), `count`
/// (optional). Sends `start`, `start + step`, ...; after `count` values it retires `out`.
fn numbers<T: Num>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let tx = ctx.output::<T>("out")?;
    let start: T = ctx.param("start")?;
    let step: T = ctx.param("step")?;
    let count: Option<u64> = ctx.param_opt("count")?;
    Ok(ctx.process_async(async move {
        let mut v = start;
        let mut n = 0u64;
        while count.is_none_or(|c| n < c) {
            tx.send_async(v).await?;
            n += 1;
            if count.is_none_or(|c| n < c) {
                v = add(v, step)?; // not past the last value, which may be the type's maximum
            }
        }
        Ok(())
    }))
}

/// `tick`: port `out`; params `period` (ms, required), `count` (optional). Sends value `k`
/// (0, 1, 2, ...) at `start + k * period`: fixed deadlines, so the rate does not drift; a
/// reader that falls behind gets the late values at once.
fn tick<T: Num>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let tx = ctx.output::<T>("out")?;
    let period: u64 = ctx.param("period")?;
    let count: Option<u64> = ctx.param_opt("count")?;
    Ok(ctx.process_async(async move {
        let start = now();
        let mut k = 0u64;
        while count.is_none_or(|c| k < c) {
            sleep_until_async(start + Duration::from_millis(period.saturating_mul(k))).await;
            tx.send_async(T::from_u64(k)).await?;
            k += 1;
        }
        Ok(())
    }))
}

/// `succ`: ports `in`, `out`. Sends each value plus one.
fn succ<T: Num>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, tx) = (ctx.input::<T>("in")?, ctx.output::<T>("out")?);
    Ok(ctx.process_async(async move {
        loop {
            tx.send_async(add(rx.recv_async().await?, T::one())?)
                .await?;
        }
    }))
}

/// `plus`: ports `in` (an array of exactly two channels), `out`. Reads one value from each
/// input in parallel (an alt over the inputs not read yet, occam's `PAR` of two inputs)
/// and sends their sum. Ends when either input ends.
fn plus<T: Num>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (ins, tx) = (ctx.inputs::<T>("in")?, ctx.output::<T>("out")?);
    if ins.len() != 2 {
        return Err(BuildError(format!(
            "port `in` of `plus` takes exactly 2 channels, not {}",
            ins.len()
        )));
    }
    Ok(ctx.process_async(async move {
        let mut alt = Alt::priority();
        let guards = [alt.recv(&ins[0]), alt.recv(&ins[1])];
        loop {
            let mut got: [Option<T>; 2] = [None, None];
            for g in guards {
                alt.set_enabled(g.index(), true);
            }
            for _ in 0..2 {
                let mut sel = alt.select_async().await;
                let i = sel.index();
                let Some(v) = guards.get(i).and_then(|&g| sel.recv(g)) else {
                    return Err(Error::failed(format!("plus: unexpected {:?}", sel.event())));
                };
                got[i] = Some(v?);
                alt.set_enabled(i, false);
            }
            let [Some(a), Some(b)] = got else {
                return Err(Error::failed("plus: an input was read twice"));
            };
            tx.send_async(add(a, b)?).await?;
        }
    }))
}

/// `pairs`: ports `in`, `out`. Sends the sum of each two consecutive values, x0+x1,
/// x1+x2, ... (JCSP's `Pairs`): one value fewer than it reads.
fn pairs<T: Num>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, tx) = (ctx.input::<T>("in")?, ctx.output::<T>("out")?);
    Ok(ctx.process_async(async move {
        let mut prev = rx.recv_async().await?;
        loop {
            let v = rx.recv_async().await?;
            tx.send_async(add(prev, v)?).await?;
            prev = v;
        }
    }))
}

/// `integrate`: ports `in`, `out`. Sends the running sum: x0, x0+x1, x0+x1+x2, ...
fn integrate<T: Num>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, tx) = (ctx.input::<T>("in")?, ctx.output::<T>("out")?);
    Ok(ctx.process_async(async move {
        let mut sum = T::default();
        loop {
            sum = add(sum, rx.recv_async().await?)?;
            tx.send_async(sum).await?;
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::{channel, par, Process};

    #[test]
    fn numbers_counts_from_start_by_step() {
        let got: Vec<u64> = source("numbers", &[("count", 5.into())]);
        assert_eq!(got, [0, 1, 2, 3, 4]);
        let got: Vec<i64> = source(
            "numbers",
            &[
                ("start", 10.into()),
                ("step", (-3).into()),
                ("count", 3.into()),
            ],
        );
        assert_eq!(got, [10, 7, 4]);
        let got: Vec<f64> = source(
            "numbers",
            &[
                ("start", 0.5.into()),
                ("step", 0.25.into()),
                ("count", 3.into()),
            ],
        );
        assert_eq!(got, [0.5, 0.75, 1.0]);
        let got: Vec<u64> = source(
            "numbers",
            &[("start", u64::MAX.into()), ("count", 1.into())],
        );
        assert_eq!(got, [u64::MAX], "no overflow computing past the last value");
    }

    #[test]
    fn numbers_without_count_runs_until_its_reader_retires() {
        watchdog("numbers forever", || {
            let (tx, rx) = channel::<u64>();
            let p = spec::<u64>("numbers").output("out", tx).build();
            let reader = Process::new("reader", move || {
                let got: Vec<u64> = (0..4).map(|_| rx.recv().unwrap()).collect();
                assert_eq!(got, [0, 1, 2, 3]);
            });
            run(vec![p, reader]);
        });
    }

    #[test]
    fn tick_counts_in_order() {
        let got: Vec<u64> = source("tick", &[("period", 1.into()), ("count", 5.into())]);
        assert_eq!(got, [0, 1, 2, 3, 4]);
        let got: Vec<f64> = source("tick", &[("period", 0.into()), ("count", 2.into())]);
        assert_eq!(got, [0.0, 1.0]);
    }

    #[test]
    fn succ_adds_one() {
        assert_eq!(pipe::<u64>("succ", &[], vec![1, 2, 3]), [2, 3, 4]);
        assert_eq!(pipe::<i64>("succ", &[], vec![-1]), [0]);
        assert_eq!(pipe::<f64>("succ", &[], vec![0.5]), [1.5]);
    }

    #[test]
    fn overflow_fails_the_process() {
        watchdog("succ overflow", || {
            let (in_tx, in_rx) = channel::<u64>();
            let (out_tx, out_rx) = channel::<u64>();
            let p = spec::<u64>("succ")
                .input("in", in_rx)
                .output("out", out_tx)
                .build();
            let (c, _) = collector(out_rx);
            let err = par(vec![feeder(in_tx, vec![u64::MAX]), p, c]).unwrap_err();
            assert_eq!(err.process, "test succ");
            assert!(err.to_string().contains("overflow"), "{err}");
        });
    }

    #[test]
    fn pairs_adds_neighbours() {
        assert_eq!(pipe::<u64>("pairs", &[], vec![1, 2, 3, 4]), [3, 5, 7]);
        assert!(pipe::<u64>("pairs", &[], vec![1]).is_empty());
    }

    #[test]
    fn integrate_sums() {
        assert_eq!(
            pipe::<i64>("integrate", &[], vec![1, 2, 3, -10]),
            [1, 3, 6, -4]
        );
    }

    #[test]
    fn plus_adds_one_from_each_input() {
        watchdog("plus", || {
            let (a_tx, a_rx) = channel::<u64>();
            let (b_tx, b_rx) = channel::<u64>();
            let (out_tx, out_rx) = channel::<u64>();
            let p = spec::<u64>("plus")
                .inputs("in", vec![a_rx, b_rx])
                .output("out", out_tx)
                .build();
            let (c, got) = collector(out_rx);
            // The second input has one value more: plus ends when the first retires.
            run(vec![
                feeder(a_tx, vec![1, 2, 3]),
                feeder(b_tx, vec![10, 20, 30, 40]),
                p,
                c,
            ]);
            assert_eq!(*got.lock().unwrap(), [11, 22, 33]);
        });
    }

    #[test]
    fn plus_reads_its_inputs_in_parallel() {
        watchdog("plus in parallel", || {
            let (a_tx, a_rx) = channel::<u64>();
            let (b_tx, b_rx) = channel::<u64>();
            let (out_tx, out_rx) = channel::<u64>();
            let p = spec::<u64>("plus")
                .inputs("in", vec![a_rx, b_rx])
                .output("out", out_tx)
                .build();
            // One writer that offers the second input first: plus reading in order would
            // deadlock with it.
            let writer = Process::new("writer", move || -> crate::Result {
                for i in 0..3 {
                    b_tx.send(100 * i)?;
                    a_tx.send(i)?;
                }
                Ok(())
            });
            let (c, got) = collector(out_rx);
            run(vec![writer, p, c]);
            assert_eq!(*got.lock().unwrap(), [0, 101, 202]);
        });
    }

    #[test]
    fn plus_needs_two_inputs() {
        let (_t1, r1) = channel::<u64>();
        let (out_tx, _out_rx) = channel::<u64>();
        let e = spec::<u64>("plus")
            .inputs("in", vec![r1])
            .output("out", out_tx)
            .try_build()
            .unwrap_err();
        assert!(e.0.contains("exactly 2"), "{e}");
    }

    #[test]
    fn numeric_kinds_refuse_other_types() {
        let (tx, _rx) = channel::<String>();
        let e = spec::<String>("numbers")
            .output("out", tx)
            .try_build()
            .unwrap_err();
        assert!(e.0.contains("does not work on `String`"), "{e}");
    }
}
