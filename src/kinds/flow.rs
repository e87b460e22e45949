//! Fan-out and fan-in: `delta` (every value to every output, in parallel), `merge` (fair
//! merge of many inputs) and `round_robin` (each value to the next output). Generic.

use super::need_some;
use crate::alt::{Alt, Event};
use crate::registry::{BuildCtx, BuildError, GenericBuildFn, Kind, Msg};
use crate::runtime::Error;
use crate::Process;

pub(super) fn kinds() -> Vec<Kind> {
    vec![
        Kind::generic(
            "delta",
            "sends each value of `in` to every channel of `out`, all in parallel (occam's PAR delta)",
            false,
        )
        .input("in", "T")
        .output_array("out", "T"),
        Kind::generic(
            "merge",
            "copies the values of every channel of `in` to `out`, choosing fairly; ends when all of `in` have retired",
            false,
        )
        .input_array("in", "T")
        .output("out", "T"),
        Kind::generic(
            "round_robin",
            "sends each value of `in` to the next channel of `out` in turn",
            false,
        )
        .input("in", "T")
        .output_array("out", "T"),
    ]
}

pub(super) fn builds<T: Msg>() -> Vec<(&'static str, GenericBuildFn)> {
    vec![
        ("delta", delta::<T> as GenericBuildFn),
        ("merge", merge::<T>),
        ("round_robin", round_robin::<T>),
    ]
}

/// `delta`: ports `in`, `out` (array). Sends each value to every output *in parallel*:
/// one alt holds an output guard per channel, each offering its own copy of the value,
/// and selects until every copy has been taken, so that the readers may take them in any
/// order (occam's `PAR` delta; a `SEQ` delta would impose an order and can deadlock).
/// Then it reads the next value. Ends when `in` ends or any output retires or is poisoned.
fn delta<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, outs) = (ctx.input::<T>("in")?, ctx.outputs::<T>("out")?);
    Ok(ctx.process_async(async move {
        if let [tx] = outs.as_slice() {
            return super::copy(&rx, tx).await;
        }
        let mut alt = Alt::new();
        let mut guards = Vec::new();
        loop {
            let v = rx.recv_async().await?;
            let copies = copies(v, outs.len());
            if guards.is_empty() {
                guards = outs
                    .iter()
                    .zip(copies)
                    .map(|(tx, c)| alt.send(tx, c))
                    .collect();
            } else {
                for (&g, c) in guards.iter().zip(copies) {
                    assert!(alt.offer(g, c).is_ok(), "delta: output {g:?} still armed");
                }
            }
            send_all(&mut alt).await?;
        }
    }))
}

/// `n` copies of `v` (the last is `v` itself).
fn copies<T: Clone>(v: T, n: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(n);
    if n > 0 {
        out.extend(std::iter::repeat_n(&v, n - 1).cloned());
        out.push(v);
    }
    out
}

/// Selects on `alt` (output guards only) until every guard has sent.
async fn send_all(alt: &mut Alt) -> crate::Result {
    loop {
        match alt.select_async().await.event() {
            Event::Sent => {}
            Event::Exhausted => return Ok(()),
            Event::Poisoned => return Err(Error::Poisoned),
            Event::Retired => return Err(Error::Retired),
            other => unreachable!("delta: output guard event {other:?}"),
        }
    }
}

/// `merge`: ports `in` (array), `out`. A fair alt over the inputs (reused, so each ready
/// input is chosen at least once in every `n` values); forwards each value. An input that
/// retires is dropped; when every input has retired, `merge` ends, retiring `out`. Poison
/// on any input ends it by poison.
fn merge<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (ins, tx) = (ctx.inputs::<T>("in")?, ctx.output::<T>("out")?);
    Ok(ctx.process_async(async move {
        let mut alt = Alt::new();
        let guards: Vec<_> = ins.iter().map(|rx| alt.recv(rx)).collect();
        loop {
            let mut sel = alt.select_async().await;
            match sel.event() {
                Event::Received => {
                    if let Some(Ok(v)) = sel.recv(guards[sel.index()]) {
                        tx.send_async(v).await?;
                    }
                }
                Event::Retired => {} // that input's guard is disabled from now on
                Event::Exhausted => return Ok(()),
                Event::Poisoned => return Err(Error::Poisoned),
                other => unreachable!("merge: input guard event {other:?}"),
            }
        }
    }))
}

/// `round_robin`: ports `in`, `out` (array, at least one channel). Sends the first value to
/// the first output, the next to the second, and so on, wrapping round.
fn round_robin<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, outs) = (ctx.input::<T>("in")?, ctx.outputs::<T>("out")?);
    need_some(&outs, "out")?;
    Ok(ctx.process_async(async move {
        for tx in outs.iter().cycle() {
            tx.send_async(rx.recv_async().await?).await?;
        }
        unreachable!("cycle over a non-empty list never ends")
    }))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::{channel, Error, Process, RecvError};

    #[test]
    fn copies_makes_n() {
        assert_eq!(super::copies("x".to_string(), 3), ["x", "x", "x"]);
        assert!(super::copies(1, 0).is_empty());
    }

    #[test]
    fn delta_copies_to_every_output() {
        watchdog("delta", || {
            let (in_tx, in_rx) = channel::<u64>();
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| channel::<u64>()).unzip();
            let p = spec::<u64>("delta")
                .input("in", in_rx)
                .outputs("out", txs)
                .build();
            let mut ps = vec![feeder(in_tx, vec![1, 2, 3]), p];
            let mut gots = Vec::new();
            for rx in rxs {
                let (c, got) = collector(rx);
                ps.push(c);
                gots.push(got);
            }
            run(ps);
            for got in gots {
                assert_eq!(*got.lock().unwrap(), [1, 2, 3]);
            }
        });
    }

    #[test]
    fn delta_sends_in_parallel() {
        watchdog("delta in parallel", || {
            let (in_tx, in_rx) = channel::<u64>();
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| channel::<u64>()).unzip();
            let p = spec::<u64>("delta")
                .input("in", in_rx)
                .outputs("out", txs)
                .build();
            // One reader taking the outputs last-first: a delta sending in order would
            // deadlock with it.
            let reader = Process::new("reader", move || -> crate::Result {
                for want in [5, 6] {
                    for rx in rxs.iter().rev() {
                        assert_eq!(rx.recv()?, want);
                    }
                }
                for rx in &rxs {
                    assert_eq!(rx.recv(), Err(RecvError::Retired));
                }
                Ok(())
            });
            run(vec![feeder(in_tx, vec![5, 6]), p, reader]);
        });
    }

    #[test]
    fn delta_with_one_output_and_strings() {
        watchdog("delta of one", || {
            let (in_tx, in_rx) = channel::<String>();
            let (tx, rx) = channel::<String>();
            let p = spec::<String>("delta")
                .input("in", in_rx)
                .outputs("out", vec![tx])
                .build();
            let (c, got) = collector(rx);
            run(vec![feeder(in_tx, vec!["a".into(), "b".into()]), p, c]);
            assert_eq!(*got.lock().unwrap(), ["a", "b"]);
        });
    }

    #[test]
    fn delta_spreads_poison_from_one_output() {
        watchdog("delta poison", || {
            let (in_tx, in_rx) = channel::<u64>();
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..2).map(|_| channel::<u64>()).unzip();
            let p = spec::<u64>("delta")
                .input("in", in_rx)
                .outputs("out", txs)
                .build();
            let [r0, r1]: [_; 2] = rxs.try_into().unwrap();
            let poisoner = Process::new("poisoner", move || r0.poison());
            // It may take a value or two before the poison reaches it, but then sees poison,
            // not retirement.
            let other = Process::new("other", move || -> crate::Result {
                let end = loop {
                    if let Err(e) = r1.recv() {
                        break e;
                    }
                };
                assert_eq!(end, RecvError::Poisoned);
                Err(Error::Poisoned)
            });
            let writer = Process::new("writer", move || -> crate::Result {
                loop {
                    in_tx.send(1)?;
                }
            });
            run(vec![writer, p, poisoner, other]);
        });
    }

    #[test]
    fn merge_forwards_everything_and_ends_when_all_retire() {
        watchdog("merge", || {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| channel::<u64>()).unzip();
            let (out_tx, out_rx) = channel::<u64>();
            let p = spec::<u64>("merge")
                .inputs("in", rxs)
                .output("out", out_tx)
                .build();
            let mut ps = vec![p];
            for (k, tx) in txs.into_iter().enumerate() {
                let k = k as u64;
                ps.push(feeder(tx, (0..4).map(|i| 10 * k + i).collect()));
            }
            let (c, got) = collector(out_rx);
            ps.push(c);
            run(ps);
            let got = got.lock().unwrap().clone();
            for k in 0..3 {
                let from_k: Vec<u64> = got.iter().copied().filter(|v| v / 10 == k).collect();
                assert_eq!(
                    from_k,
                    (0..4).map(|i| 10 * k + i).collect::<Vec<_>>(),
                    "in order per input"
                );
            }
            assert_eq!(got.len(), 12);
        });
    }

    #[test]
    fn merge_ends_by_poison() {
        watchdog("merge poison", || {
            let (t0, r0) = channel::<u64>();
            let (_t1, r1) = channel::<u64>();
            let (out_tx, out_rx) = channel::<u64>();
            let p = spec::<u64>("merge")
                .inputs("in", vec![r0, r1])
                .output("out", out_tx)
                .build();
            let poisoner = Process::new("poisoner", move || -> crate::Result {
                t0.send(1)?;
                t0.poison();
                Ok(())
            });
            let reader = Process::new("reader", move || {
                assert_eq!(out_rx.recv(), Ok(1));
                assert_eq!(out_rx.recv(), Err(RecvError::Poisoned));
            });
            run(vec![p, poisoner, reader]);
        });
    }

    #[test]
    fn round_robin_deals_in_turn() {
        watchdog("round_robin", || {
            let (in_tx, in_rx) = channel::<u64>();
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| channel::<u64>()).unzip();
            let p = spec::<u64>("round_robin")
                .input("in", in_rx)
                .outputs("out", txs)
                .build();
            let mut ps = vec![feeder(in_tx, (0..7).collect()), p];
            let mut gots = Vec::new();
            for rx in rxs {
                let (c, got) = collector(rx);
                ps.push(c);
                gots.push(got);
            }
            run(ps);
            let gots: Vec<Vec<u64>> = gots.iter().map(|g| g.lock().unwrap().clone()).collect();
            assert_eq!(gots, [vec![0, 3, 6], vec![1, 4], vec![2, 5]]);
        });
    }

    #[test]
    fn round_robin_needs_an_output() {
        let (_t, r) = channel::<u64>();
        let e = spec::<u64>("round_robin")
            .input("in", r)
            .outputs::<u64>("out", vec![])
            .try_build()
            .unwrap_err();
        assert!(e.0.contains("at least one"), "{e}");
    }
}
