//! A launcher of your own: occamy's built-in kinds, plus a channel type and two kinds of
//! yours, all usable from network files: `length` in the async form (`ctx.process_async`),
//! `scale` in the blocking one (`ctx.process`).
//!
//! ```text
//! cargo run --example custom_kind -- run examples/custom_kind.ron
//! cargo run --example custom_kind -- run examples/custom_kind.ron --set factor=0.5
//! cargo run --example custom_kind -- kinds scale
//! ```

use std::fmt;
use std::process::ExitCode;

use occamy::network::{Kind, ParamType, Registry};
use occamy::RecvError;

/// A point: a channel type, written in network files as `(x: 3.0, y: 4.0)`.
#[derive(Clone, Debug, serde::Deserialize)]
struct Point {
    x: f64,
    y: f64,
}

/// How the built-in `print` shows a point.
impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.x, self.y)
    }
}

fn main() -> ExitCode {
    let mut registry = Registry::with_builtins();
    // Generic built-ins (`generate`, `id`, `delta`, `print`, ...) now work on points too.
    registry.register_type::<Point>("Point");
    registry.register(
        Kind::new("length", "sends the length of each point of `in` on `out`")
            .input("in", "Point")
            .output("out", "f64")
            .build(|ctx| {
                let (rx, tx) = (ctx.input::<Point>("in")?, ctx.output::<f64>("out")?);
                // The async form: the process can run as a green task, not a thread.
                Ok(ctx.process_async(async move {
                    loop {
                        match rx.recv_async().await {
                            Ok(p) => tx.send_async(p.x.hypot(p.y)).await?,
                            Err(RecvError::Retired) => break,
                            // Ending by poison passes it on to `out`; `Ok(())` would
                            // retire `out` instead.
                            Err(e) => return Err(e.into()),
                        }
                    }
                    Ok(())
                }))
            }),
    );
    registry.register(
        Kind::new(
            "scale",
            "multiplies each value of `in` by `factor`, onto `out`",
        )
        .input("in", "f64")
        .output("out", "f64")
        .param("factor", ParamType::Float, 2.0, "the multiplier")
        .build(|ctx| {
            let (rx, tx) = (ctx.input::<f64>("in")?, ctx.output::<f64>("out")?);
            let factor: f64 = ctx.param("factor")?;
            // The blocking form: the process keeps an OS thread to itself, which a body
            // that blocks in the OS (a file, stdin) needs; this one merely shows it.
            Ok(ctx.process(move || -> occamy::Result {
                for v in rx.values() {
                    tx.send(v? * factor)?; // `?` on `v` passes poison on
                }
                Ok(())
            }))
        }),
    );
    occamy::launcher::main_with(registry)
}
