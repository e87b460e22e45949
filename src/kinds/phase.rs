//! Kinds synchronised by a barrier (occam-pi's phased networks): `phases` and `gate`.

use super::Num;
use crate::barrier::Barrier;
use crate::registry::{BuildCtx, BuildError, GenericBuildFn, Kind, Msg, ParamType};
use crate::runtime::Process;

pub(super) fn kinds() -> Vec<Kind> {
    vec![
        Kind::generic(
            "phases",
            "port `out`, barrier `barrier`: syncs on the barrier, then sends the phase number 0, 1, 2, ...; retires after `count` phases",
            true,
        )
        .output("out", "T")
        .barrier("barrier")
        .param("count", ParamType::UInt, ron::Value::Unit, "how many phases (optional: for ever)"),
        Kind::generic(
            "gate",
            "ports `in`, `out`, barrier `barrier`: passes each value on once every party of the barrier has synced",
            false,
        )
        .input("in", "T")
        .output("out", "T")
        .barrier("barrier"),
    ]
}

pub(super) fn builds<T: Msg>() -> Vec<(&'static str, GenericBuildFn)> {
    vec![("gate", gate::<T> as GenericBuildFn)]
}

pub(super) fn numeric_builds<T: Num>() -> Vec<(&'static str, GenericBuildFn)> {
    vec![("phases", phases::<T> as GenericBuildFn)]
}

/// `phases`: port `out`, barrier `barrier`; param `count` (optional). Each phase: sync on
/// the barrier, then send the phase number.
fn phases<T: Num>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let tx = ctx.output::<T>("out")?;
    let barrier: Barrier = ctx.barrier("barrier")?;
    let count: Option<u64> = ctx.param_opt("count")?;
    Ok(ctx.process_async(async move {
        let mut k = 0u64;
        while count.is_none_or(|c| k < c) {
            barrier.sync_async().await?;
            tx.send_async(T::from_u64(k)).await?;
            k += 1;
        }
        Ok(())
    }))
}

/// `gate`: ports `in`, `out`, barrier `barrier`. Each value: receive it, sync on the
/// barrier, send it on.
fn gate<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let (rx, tx) = (ctx.input::<T>("in")?, ctx.output::<T>("out")?);
    let barrier: Barrier = ctx.barrier("barrier")?;
    Ok(ctx.process_async(async move {
        loop {
            let v = rx.recv_async().await?;
            barrier.sync_async().await?;
            tx.send_async(v).await?;
        }
    }))
}
