//! The live web view of a running network: a small HTTP server that shows the process
//! graph in a browser, with each channel's messages and rate, each process's state
//! (running, blocked on what and waiting for whom, how it ended) and a deadlock's cycle
//! in red, updated several times a second.
//!
//! It only reads, through a [`Watch`]: the page, the graph and the
//! state are all served by occamy itself (no request leaves the machine), and the graph
//! is laid out by occamy ([`Graph::layout`]), so neither Graphviz nor a CDN is needed.
//! The endpoints, documented in `docs/viewer.md` for other tools:
//!
//! - `/`: the page;
//! - `/graph.json`: the graph in the schema `occamy dot --json` writes (`occamy-graph/1`),
//!   annotated with what is known now;
//! - `/layout.json`: the drawing the page shows (`?expand=DECL,...`, `?fold=DECL,...`);
//! - `/state.json`: the live state once (`occamy-state/1`);
//! - `/events`: the live state as server-sent events, one `state` event per update.
//!
//! A replay ([`Viewer::replay`], `occamy replay T --viz`) serves the same page fed from
//! a [`Timeline`] instead: the page shows a time slider, play/pause and step, and asks
//! for `/replay.json` (how many positions, and the time of each) and
//! `/state.json?frame=K` (the state at position K); it has no `/events`.
//!
//! It binds a loopback address unless told otherwise; any other address needs
//! [`ViewerOptions::public`], and then every request must carry a random token
//! (`?token=...`, in the URL [`Viewer::url`] gives), else it gets 403.
//!
//! # Examples
//! A network built in code, watched while it runs:
//! ```
//! use occamy::observe::Watch;
//! use occamy::viz::Viewer;
//! use occamy::{Process, Runtime};
//! let watch = Watch::new();
//! let viewer = Viewer::options(&watch).name("pair").bind("127.0.0.1").unwrap();
//! eprintln!("viewing at {}", viewer.url());
//! let (tx, rx) = occamy::channel::<u32>();
//! let out = Runtime::new().watch(&watch).run([
//!     Process::with("source", tx, |tx| tx.send(1)),
//!     Process::with("sink", rx, |rx| rx.recv().map(drop)),
//! ]);
//! assert!(out.result.is_ok());
//! // The view still shows the final state; dropping the viewer stops its server.
//! assert!(viewer.state_json().contains("\"finished\":true"));
//! ```

pub(crate) mod state;

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::graph::{Graph, ViewOptions};
use crate::observe::{Snapshot, Watch};
use crate::runtime::record::lock_std;
use state::Model;
pub use state::MAX_DETAIL;

const PAGE: &str = include_str!("page.html");
const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// How often the state is sent while someone watches.
const EVERY: Duration = Duration::from_millis(250);
/// At most this many event streams at once.
const MAX_STREAMS: usize = 32;

/// What a [`Viewer`] shows and where it listens; [`Viewer::options`] makes one.
///
/// # Examples
/// ```
/// let watch = occamy::observe::Watch::new();
/// let opts = occamy::viz::Viewer::options(&watch).name("mine");
/// let viewer = opts.bind("127.0.0.1:0").unwrap();
/// assert!(viewer.url().starts_with("http://127.0.0.1:"));
/// ```
#[derive(Clone)]
pub struct ViewerOptions {
    watch: Watch,
    timeline: Option<Arc<dyn Timeline>>,
    name: String,
    graph: Option<Graph>,
    public: bool,
}

impl std::fmt::Debug for ViewerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerOptions")
            .field("name", &self.name)
            .field("replay", &self.timeline.is_some())
            .field("public", &self.public)
            .finish()
    }
}

/// A recorded run that a [`Viewer`] can show at any of its positions (a replay):
/// `occamy::trace::Replay` is one.
pub trait Timeline: Send + Sync {
    /// How many positions the slider has (at least 1).
    fn frames(&self) -> usize;
    /// The time of position `frame` from the start of the run.
    fn time_of(&self, frame: usize) -> Duration;
    /// The state at position `frame` (the last position for a larger one).
    fn at(&self, frame: usize) -> Snapshot;
}

impl ViewerOptions {
    /// The name the page shows (for a network built in code; a declared network's graph
    /// brings its own).
    pub fn name(mut self, name: &str) -> ViewerOptions {
        self.name = name.to_string();
        self
    }

    /// The graph of a declared network ([`Graph::from_plan`]): the page then shows every
    /// process from the start, and matches the runtime's processes and channels to it by
    /// name. Without it, the graph is made from what the watch sees
    /// ([`Graph::from_processes`]) and grows as processes start.
    pub fn graph(mut self, graph: Graph) -> ViewerOptions {
        self.name = graph.name().to_string();
        self.graph = Some(graph);
        self
    }

    /// Allows an address that is not loopback. Every request must then carry the token
    /// in [`Viewer::url`]: anyone who can reach the address can otherwise read the view.
    pub fn public(mut self, yes: bool) -> ViewerOptions {
        self.public = yes;
        self
    }

    /// Starts serving on `addr`: `HOST` (a free port) or `HOST:PORT`.
    ///
    /// # Errors
    /// An address that does not resolve, is not loopback without
    /// [`public`](ViewerOptions::public), or cannot be bound.
    pub fn bind(self, addr: &str) -> io::Result<Viewer> {
        let addr = resolve(addr)?;
        let loopback = addr.ip().is_loopback();
        if !loopback && !self.public {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{addr} is not a loopback address: the view would be readable from other machines; allow it explicitly (`--viz-public`, `ViewerOptions::public`)"
                ),
            ));
        }
        let token = if loopback && !self.public {
            None
        } else {
            Some(new_token()?)
        };
        let server = tiny_http::Server::http(addr).map_err(|e| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("cannot listen on {addr}: {e}"),
            )
        })?;
        let bound = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("the server has no IP address"))?;
        let shown = match bound.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => format!("127.0.0.1:{}", bound.port()),
            IpAddr::V6(ip) if ip.is_unspecified() => format!("[::1]:{}", bound.port()),
            _ => bound.to_string(),
        };
        let url = match &token {
            Some(t) => format!("http://{shown}/?token={t}"),
            None => format!("http://{shown}/"),
        };
        let shared = Arc::new(Shared {
            model: Model::new(&self.name, self.graph),
            watch: self.watch,
            timeline: self.timeline,
            token,
            port: bound.port(),
            server,
            subs: Mutex::new(Vec::new()),
            cv: Condvar::new(),
            stop: AtomicBool::new(false),
            latest: Mutex::new(None),
            seq: AtomicU64::new(0),
        });
        let s = shared.clone();
        let accept = std::thread::Builder::new()
            .name("occamy-viz".into())
            .spawn(move || serve(&s))?;
        let s = shared.clone();
        let ticker = std::thread::Builder::new()
            .name("occamy-viz-ticker".into())
            .spawn(move || tick(&s))?;
        Ok(Viewer {
            shared,
            url,
            addr: bound,
            threads: vec![accept, ticker],
        })
    }
}

/// A running view: the HTTP server and the thread that sends the state to whoever
/// watches. Dropping it stops both.
pub struct Viewer {
    shared: Arc<Shared>,
    url: String,
    addr: SocketAddr,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Viewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Viewer({})", self.addr)
    }
}

impl Viewer {
    /// The options of a viewer that shows what `watch` sees.
    pub fn options(watch: &Watch) -> ViewerOptions {
        ViewerOptions {
            watch: watch.clone(),
            timeline: None,
            name: "network".into(),
            graph: None,
            public: false,
        }
    }

    /// The options of a viewer that replays `timeline`, a recorded run of the network
    /// whose graph is `graph`.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use occamy::trace::{Event, Header, Replay, TraceWriter};
    /// let mut w = TraceWriter::new(Vec::new(), &Header::default()).unwrap();
    /// w.write_events(&[(0, Event::Process { id: 1, name: "a".into() })]).unwrap();
    /// let replay = Replay::new(occamy::trace::read(&w.finish(1).unwrap()).unwrap());
    /// let graph = occamy::graph::Graph::from_processes("one", &[]);
    /// let viewer = occamy::viz::Viewer::replay(Arc::new(replay), graph).bind("127.0.0.1").unwrap();
    /// assert!(viewer.state_json().contains("\"replay\":true"));
    /// ```
    pub fn replay(timeline: Arc<dyn Timeline>, graph: Graph) -> ViewerOptions {
        ViewerOptions {
            watch: Watch::new(),
            timeline: Some(timeline),
            name: "network".into(),
            graph: None,
            public: false,
        }
        .graph(graph)
    }

    /// The page's address, with the token when one is needed.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token every request must carry, if one is needed (a non-loopback address).
    pub fn token(&self) -> Option<&str> {
        self.shared.token.as_deref()
    }

    /// The live state now, as `/state.json` serves it.
    pub fn state_json(&self) -> String {
        let snap = self.shared.snapshot(None);
        self.shared
            .model
            .state_json(0, &snap, None, self.shared.replay_of(None))
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        {
            let _g = lock_std(&self.shared.subs);
            self.shared.cv.notify_all();
        }
        self.shared.server.unblock();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        lock_std(&self.shared.subs).clear();
    }
}

struct Shared {
    watch: Watch,
    /// What a replay shows instead of the watch.
    timeline: Option<Arc<dyn Timeline>>,
    model: Model,
    token: Option<String>,
    port: u16,
    server: tiny_http::Server,
    /// The event streams: each gets every frame, or misses it if it is behind.
    subs: Mutex<Vec<SyncSender<Arc<str>>>>,
    cv: Condvar,
    stop: AtomicBool,
    /// The last frame sent, for a stream that just joined.
    latest: Mutex<Option<Arc<str>>>,
    seq: AtomicU64,
}

impl Shared {
    /// The state now, or (a replay) at position `frame`, the last one by default.
    fn snapshot(&self, frame: Option<usize>) -> Snapshot {
        match &self.timeline {
            Some(t) => t.at(frame.unwrap_or(usize::MAX).min(t.frames() - 1)),
            None => self.watch.snapshot(),
        }
    }

    /// A replay's position (`frame`, the last one by default) and how many there are.
    fn replay_of(&self, frame: Option<usize>) -> Option<(usize, usize)> {
        let t = self.timeline.as_ref()?;
        let n = t.frames();
        Some((frame.unwrap_or(usize::MAX).min(n - 1), n))
    }
}

/// `HOST` or `HOST:PORT` (a bare host gets a free port).
fn resolve(addr: &str) -> io::Result<SocketAddr> {
    let with_port = if addr.parse::<SocketAddr>().is_ok() || has_port(addr) {
        addr.to_string()
    } else if addr.contains(':') && !addr.starts_with('[') {
        format!("[{addr}]:0") // a bare IPv6 address
    } else {
        format!("{addr}:0")
    };
    with_port
        .to_socket_addrs()
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad address `{addr}`: {e}"),
            )
        })?
        .next()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{addr}` resolves to no address"),
            )
        })
}

fn has_port(addr: &str) -> bool {
    match addr.rsplit_once(':') {
        Some((host, port)) => {
            port.parse::<u16>().is_ok() && (!host.contains(':') || host.ends_with(']'))
        }
        None => false,
    }
}

/// 128 random bits, as hex.
fn new_token() -> io::Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| io::Error::other(format!("no random token: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The accept loop: answers each request (event streams get a thread of their own).
fn serve(s: &Arc<Shared>) {
    for req in s.server.incoming_requests() {
        if s.stop.load(Ordering::Acquire) {
            break;
        }
        handle(s, req);
    }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Undoes %-escapes (enough for names in a query: no `+` in them, and `%2C` for commas).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn list(query: &str, name: &str) -> Vec<String> {
    query_param(query, name)
        .map(unescape)
        .map(|v| {
            v.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn respond(req: tiny_http::Request, status: u16, ty: &str, body: String) {
    // A length, never chunks: simple clients (curl, a test's socket) read it whole.
    let resp = tiny_http::Response::from_string(body)
        .with_chunked_threshold(usize::MAX)
        .with_status_code(status)
        .with_header(header("Content-Type", ty))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
        .with_header(header(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
        ));
    let _ = req.respond(resp);
}

/// Whether the request names this server in its Host header: a loopback view has no
/// token, and this keeps a web page elsewhere from reading it through a name of its own
/// that resolves to 127.0.0.1 (DNS rebinding).
fn host_ok(s: &Shared, req: &tiny_http::Request) -> bool {
    if s.token.is_some() {
        return true;
    }
    let Some(h) = req.headers().iter().find(|h| h.field.equiv("Host")) else {
        return false;
    };
    let host = h.value.as_str();
    let name = match host.rsplit_once(':') {
        Some((n, p)) if p.parse::<u16>() == Ok(s.port) => n,
        _ => return false,
    };
    name == "localhost"
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn handle(s: &Arc<Shared>, req: tiny_http::Request) {
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    if let Some(t) = &s.token {
        if query_param(query, "token") != Some(t.as_str()) {
            return respond(
                req,
                403,
                "text/plain; charset=utf-8",
                "forbidden: this view needs the token in its URL\n".into(),
            );
        }
    }
    if !host_ok(s, &req) {
        return respond(
            req,
            403,
            "text/plain; charset=utf-8",
            "forbidden: unknown host\n".into(),
        );
    }
    if !matches!(
        req.method(),
        tiny_http::Method::Get | tiny_http::Method::Head
    ) {
        return respond(
            req,
            405,
            "text/plain; charset=utf-8",
            "the view only reads: GET only\n".into(),
        );
    }
    match path {
        "/" | "/index.html" => {
            let replay = if s.timeline.is_some() {
                "true"
            } else {
                "false"
            };
            let page = PAGE
                .replace("/*CSS*/", CSS)
                .replace("/*JS*/", JS)
                .replace("/*REPLAY*/false", replay);
            respond(req, 200, "text/html; charset=utf-8", page)
        }
        "/replay.json" => match &s.timeline {
            Some(t) => {
                let times: Vec<f64> = (0..t.frames())
                    .map(|f| (t.time_of(f).as_secs_f64() * 1e6).round() / 1e3)
                    .collect();
                let body = serde_json::json!({ "frames": t.frames(), "t_ms": times });
                respond(req, 200, "application/json", body.to_string())
            }
            None => respond(
                req,
                404,
                "text/plain; charset=utf-8",
                "not a replay: this view is live\n".into(),
            ),
        },
        "/events" if s.timeline.is_some() => respond(
            req,
            404,
            "text/plain; charset=utf-8",
            "a replay has no live events: ask /state.json?frame=K\n".into(),
        ),
        "/graph.json" => {
            let snap = s.snapshot(None);
            let body = s.model.graph_json(&s.watch, &snap);
            respond(req, 200, "application/json", body)
        }
        "/layout.json" => {
            let opts = ViewOptions {
                expand: list(query, "expand"),
                fold: list(query, "fold"),
                live: true,
                sample: 16,
                ..ViewOptions::default()
            };
            let snap = s.snapshot(None);
            let body = s.model.layout_json(&s.watch, &snap, &opts);
            respond(req, 200, "application/json", body)
        }
        "/state.json" => {
            let frame = query_param(query, "frame").and_then(|f| f.parse::<usize>().ok());
            let snap = s.snapshot(frame);
            let replay = s.replay_of(frame);
            let seq = match replay {
                Some((f, _)) => f as u64,
                None => s.seq.load(Ordering::Relaxed),
            };
            let body = s.model.state_json(seq, &snap, None, replay);
            respond(req, 200, "application/json", body)
        }
        "/events" => {
            if lock_std(&s.subs).len() >= MAX_STREAMS {
                return respond(
                    req,
                    503,
                    "text/plain; charset=utf-8",
                    "too many viewers\n".into(),
                );
            }
            let s = s.clone();
            let _ = std::thread::Builder::new()
                .name("occamy-viz-stream".into())
                .spawn(move || stream(&s, req));
        }
        _ => respond(req, 404, "text/plain; charset=utf-8", "not found\n".into()),
    }
}

/// One event stream: the latest frame at once, then every frame until the client goes.
fn stream(s: &Shared, req: tiny_http::Request) {
    let (tx, rx): (SyncSender<Arc<str>>, Receiver<Arc<str>>) = mpsc::sync_channel(2);
    let mut w = req.into_writer();
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n\r\nretry: 1000\n\n";
    if w.write_all(head.as_bytes())
        .and_then(|()| w.flush())
        .is_err()
    {
        return;
    }
    {
        let mut subs = lock_std(&s.subs);
        if let Some(f) = lock_std(&s.latest).clone() {
            let _ = tx.try_send(f);
        }
        subs.push(tx);
        s.cv.notify_all();
    }
    loop {
        let frame = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(f) => format!("event: state\ndata: {f}\n\n"),
            Err(mpsc::RecvTimeoutError::Timeout) => ": still here\n\n".to_string(),
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        if w.write_all(frame.as_bytes())
            .and_then(|()| w.flush())
            .is_err()
        {
            return; // the client went; the ticker drops its sender at the next frame
        }
    }
}

/// Takes a snapshot and sends it to every stream, every [`EVERY`] (or three times what
/// one took, for very large networks: at most a quarter of a core), only while there is a stream; after the runs
/// ended, once more a second so that new viewers still get the final state.
fn tick(s: &Shared) {
    let mut prev: Option<Snapshot> = None;
    loop {
        {
            let subs = lock_std(&s.subs);
            let _g =
                s.cv.wait_while(subs, |subs| {
                    subs.is_empty() && !s.stop.load(Ordering::Acquire)
                })
                .unwrap_or_else(|e| e.into_inner());
        }
        if s.stop.load(Ordering::Acquire) {
            return;
        }
        let t0 = Instant::now();
        let snap = s.watch.snapshot();
        let seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let frame: Arc<str> = s.model.state_json(seq, &snap, prev.as_ref(), None).into();
        let finished = snap.finished;
        prev = Some(snap);
        *lock_std(&s.latest) = Some(frame.clone());
        lock_std(&s.subs).retain(|tx| match tx.try_send(frame.clone()) {
            Ok(()) | Err(TrySendError::Full(_)) => true,
            Err(TrySendError::Disconnected(_)) => false,
        });
        let took = t0.elapsed();
        let pause = if finished {
            Duration::from_secs(1)
        } else {
            EVERY.max(took * 3)
        };
        let subs = lock_std(&s.subs);
        let _ =
            s.cv.wait_timeout_while(subs, pause, |_| !s.stop.load(Ordering::Acquire))
                .unwrap_or_else(|e| e.into_inner());
    }
}
