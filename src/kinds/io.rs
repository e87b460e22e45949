//! Kinds that talk to the world: `print`, `count` and `stopwatch` (generic, writing to
//! stdout), and `lines_in` / `lines_out` (concrete, on `String`: files or stdin/stdout).
//!
//! They are async like every built-in kind, but their OS calls may block (a write to a
//! full pipe, a read of stdin), so they make them through [`offload`]: on an offload
//! thread under the green scheduler, where they hold up no worker, and directly on a
//! process's own thread.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use crate::error::RecvError;
use crate::registry::{BuildCtx, BuildError, GenericBuildFn, Kind, Msg, ParamType};
use crate::runtime::{offload, Error};
use crate::Process;

pub(super) fn kinds() -> Vec<Kind> {
    vec![
        Kind::generic(
            "print",
            "writes each value of `in` to stdout on its own line, after `prefix`",
            false,
        )
        .input("in", "T")
        .param("prefix", ParamType::Str, "", "written before each value"),
        Kind::generic(
            "count",
            "counts the values of `in`; when it ends, prints `LABEL: N values`",
            false,
        )
        .input("in", "T")
        .param("label", ParamType::Str, "", "the label (default: the process name)"),
        Kind::generic(
            "stopwatch",
            "times `count` values of `in` from the first, prints `LABEL: COUNT values in SECS s, NS ns/value`, then poisons `in`",
            false,
        )
        .input("in", "T")
        .required_param("count", ParamType::UInt, "how many values to time")
        .param("label", ParamType::Str, "", "the label (default: the process name)")
        .param(
            "per_value",
            ParamType::UInt,
            1,
            "communications per value (e.g. 4 in commstime); above 1 adds ns/communication",
        ),
        Kind::generic(
            "collect",
            "keeps every value of `in` until it ends, for the program that ran the network (`RunReport::values`)",
            false,
        )
        .input("in", "T"),
        Kind::new(
            "lines_in",
            "sends each line of file `path` (`-`: stdin) on `out`, without its newline, then retires",
        )
        .output("out", "String")
        .required_param("path", ParamType::Str, "the file to read; `-` is stdin")
        .build(lines_in),
        Kind::new(
            "lines_out",
            "writes each value of `in` as a line of file `path` (`-`: stdout), created or truncated",
        )
        .input("in", "String")
        .required_param("path", ParamType::Str, "the file to write; `-` is stdout")
        .build(lines_out),
    ]
}

pub(super) fn builds<T: Msg>() -> Vec<(&'static str, GenericBuildFn)> {
    vec![
        ("print", print::<T> as GenericBuildFn),
        ("count", count::<T>),
        ("stopwatch", stopwatch::<T>),
        ("collect", collect::<T>),
    ]
}

/// `collect`: port `in`. Keeps every value of `in` in the run's report, under the
/// process's name, until `in` ends (retired or poisoned: the values so far stay).
fn collect<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let rx = ctx.input::<T>("in")?;
    let out = ctx
        .collected
        .out_shown::<T>(&ctx.name, ctx.formatter::<T>());
    Ok(ctx.process_async(async move {
        loop {
            out.push(rx.recv_async().await?);
        }
    }))
}

/// Writes `line` (which ends in a newline) to stdout in one go and flushes; a failure
/// (a closed pipe, a full disk) fails the process.
fn write_stdout(line: &str) -> crate::Result {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::failed(format!("writing to stdout: {e}")))
}

/// [`write_stdout`] from async code: on an offload thread under the green scheduler, so
/// that a full pipe holds up no worker.
async fn print_out(line: String) -> crate::Result {
    offload(move || write_stdout(&line)).await
}

/// The line `print` writes for a value shown as `shown`.
fn print_line(prefix: &str, shown: &str) -> String {
    format!("{prefix}{shown}\n")
}

/// `print`: port `in`; param `prefix` (default `""`). Writes each value in its type's
/// `Display` form (as the registry's formatter for the type shows it), after `prefix`, on
/// its own line of stdout (on an offload thread under the green scheduler).
fn print<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let rx = ctx.input::<T>("in")?;
    let prefix: String = ctx.param("prefix")?;
    let show = ctx.formatter::<T>();
    Ok(ctx.process_async(async move {
        loop {
            let v = rx.recv_async().await?;
            print_out(print_line(&prefix, &show(&v))).await?;
        }
    }))
}

/// A `label` param: its value, or the process's name if empty.
fn label(ctx: &BuildCtx) -> Result<String, BuildError> {
    let l: String = ctx.param("label")?;
    Ok(if l.is_empty() {
        ctx.name().to_string()
    } else {
        l
    })
}

/// The line `count` prints.
fn count_line(label: &str, n: u64) -> String {
    format!("{label}: {n} values\n")
}

/// `count`: port `in`; param `label` (default: the process name). Counts the values; when
/// `in` retires or is poisoned, prints `LABEL: N values` and ends the same way.
fn count<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let rx = ctx.input::<T>("in")?;
    let label = label(ctx)?;
    Ok(ctx.process_async(async move {
        let mut n = 0u64;
        let end = loop {
            match rx.recv_async().await {
                Ok(_) => n += 1,
                Err(e) => break e,
            }
        };
        print_out(count_line(&label, n)).await?;
        Err(end.into())
    }))
}

/// The line `stopwatch` prints for `n` values whose first arrived `elapsed` before the
/// last. The clock starts at the first value, so `n` values span `n - 1` intervals:
/// ns/value is `elapsed / (n - 1)`, the time one value takes in a steady stream.
fn stopwatch_line(label: &str, n: u64, elapsed: Duration, per_value: u64) -> String {
    let ns = elapsed.as_nanos() as f64 / n.saturating_sub(1).max(1) as f64;
    let mut line = format!(
        "{label}: {n} values in {:.3} s, {} ns/value",
        elapsed.as_secs_f64(),
        ns.round() as u64
    );
    if per_value > 1 {
        let per_comm = (ns / per_value as f64).round() as u64;
        line.push_str(&format!(", {per_comm} ns/communication"));
    }
    line.push('\n');
    line
}

/// `stopwatch`: port `in`; params `count` (required), `label` (default: the process name),
/// `per_value` (default 1). Takes `count` values, starting its clock at the first, prints
/// `LABEL: COUNT values in SECS s, NS ns/value` (with `, NS2 ns/communication` when
/// `per_value` > 1), then poisons `in` (which ends a cyclic network such as commstime) and
/// ends. If `in` ends first, it prints what it timed and ends the same way.
fn stopwatch<T: Msg>(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let rx = ctx.input::<T>("in")?;
    let count: u64 = ctx.param("count")?;
    let label = label(ctx)?;
    let per_value: u64 = ctx.param("per_value")?;
    if per_value == 0 {
        return Err(BuildError("param `per_value` must be at least 1".into()));
    }
    Ok(ctx.process_async(async move {
        let mut start: Option<Instant> = None;
        let mut n = 0u64;
        let mut end: Option<RecvError> = None;
        while n < count {
            match rx.recv_async().await {
                Ok(_) => {
                    start.get_or_insert_with(Instant::now);
                    n += 1;
                }
                Err(e) => {
                    end = Some(e);
                    break;
                }
            }
        }
        let elapsed = start.map_or(Duration::ZERO, |s| s.elapsed());
        print_out(stopwatch_line(&label, n, elapsed, per_value)).await?;
        match end {
            Some(e) => Err(e.into()),
            None => {
                rx.poison();
                Ok(())
            }
        }
    }))
}

/// How many lines of a file `lines_in` reads per trip to an offload thread (stdin is
/// read a line at a time, so that an interactive line goes on at once).
const LINES_PER_READ: usize = 1024;

/// `lines_in`: port `out` (String); param `path` (required; `-` is stdin). Sends each
/// line without its line ending (`\n` or `\r\n`), then retires `out`. A file that cannot
/// be opened or read fails the process with a message naming it. Under the green
/// scheduler it reads on an offload thread.
fn lines_in(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let tx = ctx.output::<String>("out")?;
    let path: String = ctx.param("path")?;
    Ok(ctx.process_async(async move {
        let stdin = path == "-";
        let p = path.clone();
        let reader: Box<dyn BufRead + Send> =
            offload(move || -> crate::Result<Box<dyn BufRead + Send>> {
                if stdin {
                    Ok(Box::new(BufReader::new(std::io::stdin())))
                } else {
                    let f = File::open(&p)
                        .map_err(|e| Error::failed(format!("cannot open `{p}`: {e}")))?;
                    Ok(Box::new(BufReader::new(f)))
                }
            })
            .await?;
        let per_read = if stdin { 1 } else { LINES_PER_READ };
        let mut reader = Some(reader);
        loop {
            let mut r = reader.take().expect("given back by each read");
            let p = path.clone();
            let (lines, r, done) = offload(move || {
                let mut lines = Vec::with_capacity(per_read);
                let mut done = false;
                for _ in 0..per_read {
                    let mut line = String::new();
                    match r.read_line(&mut line) {
                        Ok(0) => {
                            done = true;
                            break;
                        }
                        Ok(_) => {
                            if line.ends_with('\n') {
                                line.pop();
                                if line.ends_with('\r') {
                                    line.pop();
                                }
                            }
                            lines.push(Ok(line));
                        }
                        Err(e) => {
                            lines.push(Err(Error::failed(format!("reading `{p}`: {e}"))));
                            done = true;
                            break;
                        }
                    }
                }
                (lines, r, done)
            })
            .await;
            for line in lines {
                tx.send_async(line?).await?;
            }
            if done {
                return Ok(());
            }
            reader = Some(r);
        }
    }))
}

/// How much `lines_out` gathers before it writes to a file.
const WRITE_CHUNK: usize = 64 * 1024;

/// `lines_out`: port `in` (String); param `path` (required; `-` is stdout). Creates (or
/// truncates) the file and writes each value followed by a newline; stdout is flushed
/// after every line, a file when `in` ends. A write error fails the process. Under the
/// green scheduler it writes on an offload thread.
fn lines_out(ctx: &mut BuildCtx) -> Result<Process, BuildError> {
    let rx = ctx.input::<String>("in")?;
    let path: String = ctx.param("path")?;
    Ok(ctx.process_async(async move {
        if path == "-" {
            loop {
                print_out(format!("{}\n", rx.recv_async().await?)).await?;
            }
        }
        let p = path.clone();
        let mut file = offload(move || {
            File::create(&p).map_err(|e| Error::failed(format!("cannot create `{p}`: {e}")))
        })
        .await?;
        let mut buf = String::new();
        let end = loop {
            match rx.recv_async().await {
                Ok(line) => {
                    buf.push_str(&line);
                    buf.push('\n');
                }
                Err(e) => break e,
            }
            if buf.len() >= WRITE_CHUNK {
                let chunk = std::mem::take(&mut buf);
                file = write_chunk(file, chunk, path.clone()).await?;
            }
        };
        let file = write_chunk(file, buf, path.clone()).await?;
        drop(file);
        Err(end.into())
    }))
}

/// Writes `chunk` to `file` (on an offload thread under the green scheduler) and gives the
/// file back.
async fn write_chunk(mut file: File, chunk: String, path: String) -> crate::Result<File> {
    offload(move || {
        file.write_all(chunk.as_bytes())
            .and_then(|()| file.flush())
            .map(|()| file)
            .map_err(|e| Error::failed(format!("writing `{path}`: {e}")))
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::super::testing::*;
    use crate::{channel, par, Process, SendError};

    #[test]
    fn print_line_format() {
        assert_eq!(super::print_line("", "3"), "3\n");
        assert_eq!(super::print_line("x = ", "3"), "x = 3\n");
    }

    #[test]
    fn count_line_format() {
        assert_eq!(super::count_line("sink", 0), "sink: 0 values\n");
        assert_eq!(super::count_line("sink", 42), "sink: 42 values\n");
    }

    #[test]
    fn stopwatch_line_format() {
        let d = Duration::from_millis(1500);
        assert_eq!(
            super::stopwatch_line("sw", 4, d, 1),
            "sw: 4 values in 1.500 s, 500000000 ns/value\n"
        );
        assert_eq!(
            super::stopwatch_line("commstime", 1_000_001, Duration::from_secs(1), 4),
            "commstime: 1000001 values in 1.000 s, 1000 ns/value, 250 ns/communication\n"
        );
        assert_eq!(
            super::stopwatch_line("one", 1, Duration::ZERO, 1),
            "one: 1 values in 0.000 s, 0 ns/value\n"
        );
    }

    #[test]
    fn label_defaults_to_the_process_name() {
        let (_tx, rx) = channel::<u64>();
        let s = spec::<u64>("count").input("in", rx);
        let p = s.build();
        assert_eq!(p.name(), "test count");
    }

    #[test]
    fn stopwatch_takes_count_values_then_poisons_its_input() {
        watchdog("stopwatch", || {
            let (tx, rx) = channel::<u64>();
            let p = spec::<u64>("stopwatch")
                .param("count", 5)
                .param("label", "kinds test stopwatch")
                .input("in", rx)
                .build();
            let sent = Arc::new(Mutex::new((0u64, false)));
            let s = sent.clone();
            let writer = Process::new("endless", move || {
                for i in 0.. {
                    match tx.send(i) {
                        Ok(()) => s.lock().unwrap().0 += 1,
                        Err(e) => {
                            s.lock().unwrap().1 = matches!(e, SendError::Poisoned(_));
                            return;
                        }
                    }
                }
            });
            run(vec![writer, p]);
            assert_eq!(*sent.lock().unwrap(), (5, true));
        });
    }

    #[test]
    fn count_ends_when_its_input_retires() {
        watchdog("count", || {
            let (tx, rx) = channel::<String>();
            let p = spec::<String>("count")
                .param("label", "kinds test count")
                .input("in", rx)
                .build();
            run(vec![feeder(tx, vec!["a".into(), "b".into()]), p]);
        });
    }

    fn temp_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("occamy-kinds-{}-{name}", std::process::id()))
    }

    #[test]
    fn lines_in_sends_each_line() {
        let path = temp_path("in.txt");
        std::fs::write(&path, "one\ntwo\r\n\nthree").unwrap();
        let p = path.to_str().unwrap().to_string();
        let got: Vec<String> = source("lines_in", &[("path", p.into())]);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(got, ["one", "two", "", "three"]);
    }

    #[test]
    fn lines_in_names_a_missing_file() {
        watchdog("lines_in missing", || {
            let (tx, rx) = channel::<String>();
            let p = spec::<String>("lines_in")
                .param("path", "/nonexistent/occamy/x")
                .output("out", tx)
                .build();
            let (c, _) = collector(rx);
            let err = par(vec![p, c]).unwrap_err();
            assert!(err.to_string().contains("/nonexistent/occamy/x"), "{err}");
        });
    }

    #[test]
    fn lines_out_writes_each_line() {
        let path = temp_path("out.txt");
        std::fs::write(&path, "old content that is longer\n").unwrap();
        let p = path.to_str().unwrap().to_string();
        watchdog("lines_out", move || {
            let (tx, rx) = channel::<String>();
            let w = spec::<String>("lines_out")
                .param("path", p)
                .input("in", rx)
                .build();
            run(vec![feeder(tx, vec!["x".into(), "y z".into()]), w]);
        });
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(text, "x\ny z\n");
    }
}
