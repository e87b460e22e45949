//! A tokio HTTP server whose handlers send their requests into a CSP process network
//! over a bridge and await the answers (`occamy::bridge`, cargo feature `bridge`).
//!
//! ```text
//!   tokio                       │ occamy (green processes)                │ tokio
//!                               │                                         │
//!   handler ─┐  flume   ┌───────┴──┐  jobs   ┌ worker[0] ┐ answers ┌─────┴──────┐ flume
//!   handler ─┼────────▶ │ requests ├───────▶ ┤    ...    ├───────▶ │  answers   ├──────▶ dispatcher
//!   handler ─┘          │ (bridge) │ shared  └ worker[W-1]┘ shared  │  (bridge)  │          │
//!      ▲                └───────┬──┘                                └─────┬──────┘          │
//!      └───────────────── oneshot, by request id ◀─────────────────────────────────────────┘
//! ```
//!
//! - Each connection is a tokio task: it reads one request, `GET /factor/N`, gives it an
//!   id, registers a `oneshot` for the answer with the dispatcher, and sends the job on a
//!   flume channel.
//! - `requests` (`bridge::from_flume`) moves jobs into the network's `jobs` channel,
//!   which `W` workers share (`Receiver::clones`): each job goes to one free worker, which
//!   factorises `N` by trial division and sends the answer on `answers`
//!   (`Sender::clones`).
//! - `answers` (`bridge::to_flume`) moves the answers out to the dispatcher, a tokio task,
//!   which hands each to the handler waiting for that id.
//!
//! Shutting down is retirement all the way: the server stops accepting, and once every
//! handler has sent its job and dropped its flume sender, `requests` sees its flume
//! channel disconnected and retires `jobs`; the workers finish what they hold and retire
//! `answers`; the `answers` bridge drops its flume sender, and the dispatcher ends. No
//! request is lost: one the pipeline could not answer gets a 503.
//!
//! ```sh
//! cargo run --release --features bridge --example http_pipeline -- --port 8080 --workers 4
//! curl http://127.0.0.1:8080/factor/600851475143     # 600851475143 = 71 × 839 × 1471 × 6857
//! ```
//! Ctrl-C stops it and prints what the network did.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use occamy::bridge;
use occamy::{channel, ParOutcome, Process, Receiver, Runtime, Sender};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A request on its way into the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Which request it is (the dispatcher matches the answer to its handler by it).
    pub id: u64,
    /// The number to factorise.
    pub n: u64,
}

/// A worker's answer to a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The job's id.
    pub id: u64,
    /// The prime factors of the job's `n`, smallest first (none for 0 and 1).
    pub factors: Vec<u64>,
}

/// The prime factors of `n`, smallest first, by trial division.
pub fn factorise(mut n: u64) -> Vec<u64> {
    let mut factors = Vec::new();
    let mut d = 2u64;
    while n > 1 && d.saturating_mul(d) <= n {
        while n % d == 0 {
            factors.push(d);
            n /= d;
        }
        d += if d == 2 { 1 } else { 2 };
    }
    if n > 1 {
        factors.push(n);
    }
    factors
}

/// The network: `requests` (flume in), `workers` sharing `jobs`, `answers` (flume out).
/// Returns its processes, and what the two bridges may give back.
fn network(
    workers: usize,
    from_handlers: flume::Receiver<Job>,
    to_dispatcher: flume::Sender<Answer>,
) -> (
    Vec<Process>,
    bridge::Undelivered<Job>,
    bridge::Undelivered<Answer>,
) {
    let (jobs_tx, jobs_rx) = channel::<Job>();
    let (answers_tx, answers_rx) = channel::<Answer>();
    jobs_tx.set_name("jobs");
    answers_tx.set_name("answers");
    let (requests, jobs_back) = bridge::from_flume("requests", from_handlers, jobs_tx);
    let (answers, answers_back) = bridge::to_flume("answers", answers_rx, to_dispatcher);
    let mut processes = vec![requests, answers];
    for (i, ends) in jobs_rx
        .clones(workers)
        .into_iter()
        .zip(answers_tx.clones(workers))
        .enumerate()
    {
        processes.push(Process::with_async(
            format!("worker[{i}]"),
            ends,
            |(jobs, answers)| worker(jobs, answers),
        ));
    }
    (processes, jobs_back, answers_back)
}

/// A worker: factorises each job's number. Ends when `jobs` retires (the server has
/// stopped), which retires its end of `answers`, or is poisoned, which it passes on.
async fn worker(jobs: Receiver<Job>, answers: Sender<Answer>) -> occamy::Result {
    loop {
        let job = jobs.recv_async().await?;
        let factors = factorise(job.n);
        answers
            .send_async(Answer {
                id: job.id,
                factors,
            })
            .await?;
    }
}

/// The handlers waiting for an answer, by request id.
type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Answer>>>>;

/// What a run of the server did, once it has stopped.
#[derive(Debug)]
pub struct Report {
    /// Requests answered by the network.
    pub answered: u64,
    /// The network's run: its result and how each process ended.
    pub outcome: ParOutcome,
    /// Jobs and answers the bridges took and could not pass on (none when the network
    /// ended by retirement).
    pub undelivered: usize,
}

/// Serves HTTP on `listener` until `shutdown` completes, with `workers` workers; then
/// lets the network retire and says what it did.
pub async fn serve(
    listener: TcpListener,
    workers: usize,
    shutdown: impl Future<Output = ()>,
) -> Report {
    let (jobs, from_handlers) = flume::unbounded::<Job>();
    let (to_dispatcher, answers) = flume::unbounded::<Answer>();
    let (processes, jobs_back, answers_back) = network(workers, from_handlers, to_dispatcher);
    // The network runs on a thread of its own; its processes are green tasks there.
    let net = std::thread::spawn(move || Runtime::new().run(processes));

    let pending: Pending = Arc::default();
    let dispatcher = {
        let pending = pending.clone();
        tokio::spawn(async move {
            let mut answered = 0u64;
            while let Ok(answer) = answers.recv_async().await {
                if let Some(reply) = lock(&pending).remove(&answer.id) {
                    answered += 1;
                    let _ = reply.send(answer);
                }
            }
            // The network has ended: whoever still waits gets a 503, not silence.
            lock(&pending).clear();
            answered
        })
    };

    let next_id = Arc::new(AtomicU64::new(0));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (jobs, pending, next_id) = (jobs.clone(), pending.clone(), next_id.clone());
                tokio::spawn(async move { handle(stream, jobs, pending, next_id).await });
            }
            () = &mut shutdown => break,
        }
    }
    // Our sender goes; the handlers' go as they finish: then the network retires.
    drop(jobs);
    let answered = dispatcher.await.expect("the dispatcher");
    let outcome = tokio::task::spawn_blocking(move || net.join().expect("the network thread"))
        .await
        .expect("joining the network");
    Report {
        answered,
        outcome,
        undelivered: jobs_back.len() + answers_back.len(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One connection: one request, one response.
async fn handle(
    mut stream: TcpStream,
    jobs: flume::Sender<Job>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
) {
    // A client that never finishes its request must not hold up shutdown for ever.
    let line = tokio::time::timeout(Duration::from_secs(10), read_request_line(&mut stream));
    let (status, body) = match line.await.ok().flatten() {
        None => (
            "400 Bad Request",
            "a request line was expected\n".to_string(),
        ),
        Some(line) => match route(&line) {
            Err((status, why)) => (status, format!("{why}\n")),
            Ok(n) => {
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                let (reply, answer) = oneshot::channel();
                lock(&pending).insert(id, reply);
                let sent = jobs.send_async(Job { id, n }).await.is_ok();
                drop(jobs);
                match (sent, answer.await) {
                    (true, Ok(a)) => ("200 OK", format!("{n} = {}\n", show(n, &a.factors))),
                    _ => {
                        lock(&pending).remove(&id);
                        (
                            "503 Service Unavailable",
                            "the pipeline has stopped\n".to_string(),
                        )
                    }
                }
            }
        },
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The request line of a request (its first line), once the whole head has arrived;
/// `None` if the connection closes first or the head is over 8 KiB.
async fn read_request_line(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > 8192 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    head.lines().next().map(str::to_string)
}

/// What a request line asks for: the number of `GET /factor/N`, or a status and why not.
pub fn route(line: &str) -> Result<u64, (&'static str, String)> {
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return Err((
            "405 Method Not Allowed",
            format!("`{method}`: only GET is served"),
        ));
    }
    match path.strip_prefix("/factor/") {
        Some(n) => n.parse().map_err(|_| {
            (
                "400 Bad Request",
                format!("`{n}` is not a number from 0 to {}", u64::MAX),
            )
        }),
        None => Err((
            "404 Not Found",
            format!("`{path}`: try /factor/N, e.g. /factor/600851475143"),
        )),
    }
}

/// `factors` as a product (`71 × 839`), or `n` itself for 0 and 1.
fn show(n: u64, factors: &[u64]) -> String {
    if factors.is_empty() {
        return n.to_string();
    }
    let f: Vec<String> = factors.iter().map(u64::to_string).collect();
    f.join(" × ")
}

/// `--port N` (0: any free port) and `--workers N`.
fn args() -> Result<(u16, usize), String> {
    let mut port = 8080;
    let mut workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| format!("{a} needs {what}"))
        };
        match a.as_str() {
            "--port" => {
                port = u16::try_from(value("a port number")?).map_err(|_| "no such port")?
            }
            "--workers" => workers = value("a number")?.max(1),
            _ => return Err(format!("unknown argument `{a}` (--port N, --workers N)")),
        }
    }
    Ok((port, workers))
}

fn main() -> std::process::ExitCode {
    let (port, workers) = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    rt.block_on(async move {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = match TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {addr}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        let addr = listener.local_addr().expect("a bound address");
        println!("listening on http://{addr}/factor/N with {workers} workers; Ctrl-C stops");
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let report = serve(listener, workers, ctrl_c).await;
        println!("answered {} requests", report.answered);
        for p in &report.outcome.processes {
            let end = p.end.map_or("?".to_string(), |e| e.to_string());
            println!("  {:<12} {end}", p.name);
        }
        match report.outcome.result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::ExitCode::FAILURE
            }
        }
    })
}
