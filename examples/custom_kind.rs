//! A launcher of your own: occamy's built-in kinds, plus a channel type and two kinds of
//! yours, all usable from network files.
//!
//! ```text
//! cargo run --example custom_kind -- run examples/custom_kind.ron
//! cargo run --example custom_kind -- run examples/custom_kind.ron --set factor=0.5
//! cargo run --example custom_kind -- kinds scale
//! ```

use std::fmt;
use std::process::ExitCode;

use occamy::{Kind, ParamType, Registry};

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
                Ok(ctx.process(move || -> occamy::Result {
                    loop {
                        let p = rx.recv()?; // ends the process when `in` retires or is poisoned
                        tx.send(p.x.hypot(p.y))?;
                    }
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
            Ok(ctx.process(move || -> occamy::Result {
                loop {
                    tx.send(rx.recv()? * factor)?;
                }
            }))
        }),
    );
    occamy::launcher::main_with(registry)
}
