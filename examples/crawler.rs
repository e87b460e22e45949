//! A web crawler as a process network (issue "Examples from the field").
//!
//! The example serves a small generated web site on 127.0.0.1 (an ephemeral port), with a
//! delay per request standing in for network latency, and crawls it with this network
//! (`networks/crawler.ron`, or the same network built in code with `--code`):
//!
//! ```text
//!                   todo (String, shared)
//!   coordinator ─────────────────────────────▶ fetcher[0] .. fetcher[K-1]
//!     ▲     │                                        │
//!     │     │ visited (Page)                         │ GET url, parse the links
//!     │     ▼                                        │
//!     │   progress                                   │
//!     └──────────── fetched (Page, shared) ◀─────────┘
//! ```
//!
//! - `coordinator` keeps the visited set and a queue of URLs to fetch. With an alt it offers
//!   the next URL on `todo` to whichever fetcher is free, or takes a fetched page back on
//!   `fetched`, adds its new same-site links to the queue and passes the page on to
//!   `progress`. When the queue is empty and no fetch is outstanding it retires `todo`;
//!   the fetchers see the retirement and end, and the network ends with them.
//! - `fetcher[k]` fetches each URL it gets over HTTP and sends back the page's links.
//! - `progress` counts pages, prints how many so far when the crawl runs longer than two
//!   seconds, and a summary at the end.
//!
//! Every page is fetched exactly once (the server counts requests per path), and never
//! from any host other than 127.0.0.1. The same crawl done serially, one request at a
//! time, gives the speedup.
//!
//! ```sh
//! cargo run --release --example crawler                      # network file, serial, speedup
//! cargo run --release --example crawler -- --code            # the same network built in code
//! cargo run --release --example crawler -- --serial          # the serial crawl only
//! cargo run --release --example crawler -- --pages 300 --delay-ms 20 --fetchers 8 --seed 1
//! cargo run --release --example crawler -- run networks/crawler.ron --set fetchers=4
//! cargo run --example crawler -- dot networks/crawler.ron    # the launcher: run/check/kinds/dot
//! ```
//! Under `run`, the example starts its site first (sized by the environment variables
//! `CRAWLER_PAGES`, `CRAWLER_DELAY_MS`, `CRAWLER_SEED`) and adds `--set url=...`.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::ffi::OsString;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use occamy::network::{Kind, ParamType, Registry};
use occamy::{
    alt, channel, network, par, Error, ParError, Process, Receiver, RecvError, RecvTimeoutError,
    Sender,
};
use serde::Deserialize;

/// The only host the crawler ever fetches from.
pub const ONLY_HOST: &str = "127.0.0.1";
/// The network file, wherever the example runs from.
pub const NETWORK_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/networks/crawler.ron");
/// A crawl stops taking new URLs after this many (a bound on every request loop).
pub const MAX_PAGES: usize = 10_000;
/// How long one request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest page body read.
const MAX_BODY: u64 = 1 << 20;
/// Progress lines start after this long, and repeat this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------
// The site: generated pages and the links between them.
// ---------------------------------------------------------------------------------------

/// How a link to a page is written in the HTML.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    /// `/p/7`
    Rooted,
    /// `http://127.0.0.1:PORT/p/7`
    Absolute,
    /// `7` (relative to `/p/`)
    Relative,
    /// `/p/7#part-2`
    Fragment,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Link {
    /// A page of the site.
    Page(usize, Form),
    /// A page that does not exist (the server answers 404): `/p/N` with N past the end.
    Missing(usize),
    /// Another site (`http://example.invalid/...`), which the crawler must not follow.
    External(u64),
}

/// A generated web site: pages `/p/0` .. `/p/{n-1}` linking to each other. About one page
/// in ten (and always the last) is an orphan: only other orphans link to it, so a crawl
/// from `/p/0` cannot reach it. A few links point to missing pages, some to other sites.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    links: Vec<Vec<Link>>,
}

/// splitmix64: small, seedable, reproducible everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

impl Site {
    /// A site of `pages` pages (at least 2), the same for the same seed.
    pub fn generate(pages: usize, seed: u64) -> Site {
        assert!(pages >= 2, "a site needs at least 2 pages");
        let mut rng = Rng(seed);
        let orphan: Vec<bool> = (0..pages)
            .map(|i| i != 0 && (i == pages - 1 || rng.one_in(10)))
            .collect();
        let linked: Vec<usize> = (0..pages).filter(|&i| !orphan[i]).collect();
        let links = (0..pages)
            .map(|i| {
                let mut links = Vec::new();
                for _ in 0..2 + rng.below(5) {
                    let to = if orphan[i] && rng.one_in(2) {
                        rng.below(pages)
                    } else {
                        linked[rng.below(linked.len())]
                    };
                    let form = match rng.below(8) {
                        0 => Form::Absolute,
                        1 => Form::Relative,
                        2 => Form::Fragment,
                        _ => Form::Rooted,
                    };
                    links.push(Link::Page(to, form));
                }
                if rng.one_in(12) {
                    links.push(Link::Missing(pages + rng.below(5)));
                }
                if rng.one_in(8) {
                    links.push(Link::External(rng.next() % 100));
                }
                links
            })
            .collect();
        Site { links }
    }

    /// How many pages the site has.
    pub fn pages(&self) -> usize {
        self.links.len()
    }

    /// The path of page `i`.
    pub fn path(i: usize) -> String {
        format!("/p/{i}")
    }

    /// The page a path names, if the site has it.
    fn page_of(&self, path: &str) -> Option<usize> {
        let i: usize = path.strip_prefix("/p/")?.parse().ok()?;
        (i < self.pages()).then_some(i)
    }

    /// The pages reachable from `/p/0` by following links.
    pub fn reachable(&self) -> BTreeSet<usize> {
        let mut seen = BTreeSet::from([0]);
        let mut todo = vec![0];
        while let Some(i) = todo.pop() {
            for l in &self.links[i] {
                if let Link::Page(to, _) = *l {
                    if seen.insert(to) {
                        todo.push(to);
                    }
                }
            }
        }
        seen
    }

    /// The missing pages (404) that reachable pages link to.
    pub fn broken_links(&self) -> BTreeSet<usize> {
        self.reachable()
            .into_iter()
            .flat_map(|i| &self.links[i])
            .filter_map(|l| match *l {
                Link::Missing(n) => Some(n),
                _ => None,
            })
            .collect()
    }

    /// Every path a crawl from `/p/0` requests: the reachable pages and the broken links.
    pub fn expected_paths(&self) -> BTreeSet<String> {
        self.reachable()
            .into_iter()
            .chain(self.broken_links())
            .map(Site::path)
            .collect()
    }

    /// Page `i` as HTML, its absolute links on `origin`.
    fn html(&self, i: usize, origin: &str) -> String {
        let mut h = format!(
            "<!DOCTYPE html>\n<html><head><title>Page {i}</title></head><body>\n\
             <h1 id=\"top\">Page {i}</h1>\n<p>A generated page of the crawler example.</p>\n<ul>\n"
        );
        for l in &self.links[i] {
            let href = match *l {
                Link::Page(to, Form::Rooted) => format!("/p/{to}"),
                Link::Page(to, Form::Absolute) => format!("{origin}/p/{to}"),
                Link::Page(to, Form::Relative) => format!("{to}"),
                Link::Page(to, Form::Fragment) => format!("/p/{to}#part-2"),
                Link::Missing(n) => format!("/p/{n}"),
                Link::External(n) => format!("http://example.invalid/{n}"),
            };
            h.push_str(&format!("<li><a href=\"{href}\">{href}</a></li>\n"));
        }
        h.push_str(
            "</ul>\n<p><a href=\"#top\">top</a> · \
             <a href=\"mailto:webmaster@example.invalid\">mail</a></p>\n</body></html>\n",
        );
        h
    }
}

// ---------------------------------------------------------------------------------------
// The server: tiny_http on 127.0.0.1, an ephemeral port, a delay per request.
// ---------------------------------------------------------------------------------------

/// Worker threads answering requests (each sleeps the delay, so this bounds concurrency).
const SERVER_THREADS: usize = 32;
/// The server stops by itself after this long, even if nobody stops it.
const SERVER_LIFETIME: Duration = Duration::from_secs(600);

/// The running site server. Dropping it (or [`ServerHandle::stop`]) stops it.
pub struct ServerHandle {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<HashMap<String, u32>>>,
    workers: Vec<JoinHandle<()>>,
}

/// Serves `site` on 127.0.0.1 (an ephemeral port), answering each request after `delay`.
/// The server stops when the handle is dropped, after `SERVER_LIFETIME`, or after a
/// number of requests well above what a crawl needs, whichever comes first.
pub fn serve(site: Site, delay: Duration) -> io::Result<ServerHandle> {
    let server = tiny_http::Server::http((ONLY_HOST, 0)).map_err(io::Error::other)?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| io::Error::other("the server has no IP address"))?;
    let mut handle = ServerHandle {
        server: Arc::new(server),
        addr,
        stop: Arc::new(AtomicBool::new(false)),
        requests: Arc::default(),
        workers: Vec::new(),
    };
    let origin = handle.url();
    let site = Arc::new(site);
    let max_requests = 20 * site.pages() + 1000;
    let served = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + SERVER_LIFETIME;
    for i in 0..SERVER_THREADS {
        let (server, stop, requests) = (
            handle.server.clone(),
            handle.stop.clone(),
            handle.requests.clone(),
        );
        let (site, origin, served) = (site.clone(), origin.clone(), served.clone());
        let worker = std::thread::Builder::new()
            .name(format!("site server {i}"))
            .spawn(move || {
                while !stop.load(Ordering::Acquire)
                    && Instant::now() < deadline
                    && served.load(Ordering::Relaxed) < max_requests
                {
                    match server.recv_timeout(Duration::from_millis(100)) {
                        Ok(Some(req)) => {
                            served.fetch_add(1, Ordering::Relaxed);
                            answer(&site, &origin, delay, &requests, req);
                        }
                        Ok(None) => {}
                        Err(_) => break,
                    }
                }
            })?; // on error, dropping `handle` stops the workers already started
        handle.workers.push(worker);
    }
    Ok(handle)
}

fn answer(
    site: &Site,
    origin: &str,
    delay: Duration,
    requests: &Mutex<HashMap<String, u32>>,
    req: tiny_http::Request,
) {
    let path = req.url().to_string();
    *lock(requests).entry(path.clone()).or_default() += 1;
    std::thread::sleep(delay);
    let (status, body) = match site.page_of(&path) {
        Some(i) => (200, site.html(i, origin)),
        None => (404, format!("<html><body>no page {path}</body></html>\n")),
    };
    let html: tiny_http::Header = "Content-Type: text/html; charset=utf-8"
        .parse()
        .expect("a valid header");
    let _ = req.respond(
        tiny_http::Response::from_string(body)
            .with_status_code(status)
            .with_header(html),
    );
}

impl ServerHandle {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL a crawl starts from: page 0.
    pub fn start_url(&self) -> String {
        format!("{}{}", self.url(), Site::path(0))
    }

    /// How many times each path has been requested.
    pub fn requests(&self) -> HashMap<String, u32> {
        lock(&self.requests).clone()
    }

    /// As [`requests`](Self::requests), and starts counting again from nothing.
    pub fn take_requests(&self) -> HashMap<String, u32> {
        std::mem::take(&mut *lock(&self.requests))
    }

    /// Stops the server and waits for its threads.
    pub fn stop(self) {}
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for _ in &self.workers {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fetching and links: ureq, plain HTTP, 127.0.0.1 only.
// ---------------------------------------------------------------------------------------

/// A fetched page: its URL, the HTTP status (0 if it could not be fetched) and the
/// absolute URLs it links to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Page {
    /// The URL fetched.
    pub url: String,
    /// The HTTP status, or 0 if the fetch failed.
    pub status: u16,
    /// The page's links, made absolute (fragments dropped), in page order.
    pub links: Vec<String>,
}

/// `http://host:port` of an `http://` URL.
fn origin_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (end > 0).then(|| &url[.."http://".len() + end])
}

/// The host of an `http://` URL, without its port.
fn host_of(url: &str) -> Option<&str> {
    let authority = &origin_of(url)?["http://".len()..];
    Some(authority.rsplit_once(':').map_or(authority, |(h, _)| h))
}

/// The path of a URL (`/p/3` of `http://127.0.0.1:9/p/3`).
pub fn path_of(url: &str) -> &str {
    origin_of(url).map_or(url, |o| &url[o.len()..])
}

/// `href` as an absolute URL, read on the page at `base`: fragments dropped; `None` for
/// links that name no page (`mailto:`, `#top`).
pub fn resolve(base: &str, href: &str) -> Option<String> {
    let href = href.split('#').next().unwrap_or("").trim();
    if href.is_empty() {
        None
    } else if href.starts_with("http://") || href.starts_with("https://") {
        Some(href.to_string())
    } else if let Some(rest) = href.strip_prefix("//") {
        Some(format!("http://{rest}"))
    } else if href.starts_with('/') {
        Some(format!("{}{href}", origin_of(base)?))
    } else if href.contains(':') {
        None
    } else {
        let dir = &base[..base.rfind('/')? + 1];
        (dir.len() > "http://".len()).then(|| format!("{dir}{href}"))
    }
}

/// The `href="..."` values in `html`, in order.
pub fn hrefs(html: &str) -> impl Iterator<Item = &str> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split_once('"').map(|(h, _)| h))
}

/// An HTTP client for the crawl: no proxy (the environment's proxy settings could send
/// requests elsewhere), no redirects, statuses as values, a timeout on every request, no
/// idle connections kept.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .build()
        .into()
}

/// Fetches `url` (only ever from 127.0.0.1) and reads its links.
pub fn fetch(agent: &ureq::Agent, url: &str) -> Page {
    let mut page = Page {
        url: url.to_string(),
        status: 0,
        links: vec![],
    };
    if host_of(url) != Some(ONLY_HOST) {
        eprintln!("crawler: not fetching {url}: only {ONLY_HOST} is crawled");
        return page;
    }
    // `Connection: close`: a connection per request. tiny_http 0.12 runs each connection
    // on a pool thread for as long as it stays open, and its pool can leave a new
    // connection queued behind kept-alive ones (a lost wakeup), stalling that request
    // until another connection closes; short connections keep the queue moving.
    match agent.get(url).header("Connection", "close").call() {
        Ok(mut resp) => {
            page.status = resp.status().as_u16();
            let body = resp
                .body_mut()
                .with_config()
                .limit(MAX_BODY)
                .read_to_string();
            match body {
                Ok(html) if page.status == 200 => {
                    page.links = hrefs(&html).filter_map(|h| resolve(url, h)).collect();
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("crawler: {url}: {e}");
                    page.status = 0;
                }
            }
        }
        Err(e) => eprintln!("crawler: {url}: {e}"),
    }
    page
}

// ---------------------------------------------------------------------------------------
// The crawl's state and report, shared by the network and the serial crawl.
// ---------------------------------------------------------------------------------------

/// The URLs seen so far and those still to fetch: only URLs on the start URL's origin,
/// each once, at most `max_pages` in all.
pub struct Frontier {
    origin: String,
    seen: HashSet<String>,
    queue: VecDeque<String>,
    max_pages: usize,
}

impl Frontier {
    /// A frontier holding `start`, which must be an `http://127.0.0.1:PORT/...` URL.
    pub fn new(start: &str, max_pages: usize) -> Result<Frontier, String> {
        if start.is_empty() {
            return Err(
                "no start URL: the `url` param is empty. Run the network through \
                        the crawler example (`cargo run --example crawler -- run \
                        networks/crawler.ron`), which serves the site and sets `url`"
                    .into(),
            );
        }
        if host_of(start) != Some(ONLY_HOST) {
            return Err(format!(
                "`{start}` is not an http://{ONLY_HOST}:PORT/ URL: \
                 the crawler only fetches from {ONLY_HOST}"
            ));
        }
        let origin = origin_of(start).unwrap_or_default().to_string();
        let mut f = Frontier {
            origin,
            seen: HashSet::new(),
            queue: VecDeque::new(),
            max_pages: max_pages.max(1),
        };
        f.offer(start);
        Ok(f)
    }

    /// Queues `url` if it is on the site and new.
    pub fn offer(&mut self, url: &str) {
        if origin_of(url) == Some(self.origin.as_str())
            && self.seen.len() < self.max_pages
            && !self.seen.contains(url)
        {
            self.seen.insert(url.to_string());
            self.queue.push_back(url.to_string());
        }
    }

    /// The next URL to fetch, taken from the queue.
    pub fn pop(&mut self) -> Option<String> {
        self.queue.pop_front()
    }
}

/// What a crawl found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Paths fetched with status 200.
    pub ok: BTreeSet<String>,
    /// Paths fetched with another status (broken links).
    pub broken: BTreeSet<String>,
    /// Paths that could not be fetched.
    pub failed: BTreeSet<String>,
    /// How long the crawl took.
    pub elapsed: Duration,
}

impl Report {
    fn add(&mut self, page: &Page) {
        let path = path_of(&page.url).to_string();
        match page.status {
            200 => self.ok.insert(path),
            0 => self.failed.insert(path),
            _ => self.broken.insert(path),
        };
    }

    /// How many pages the crawl visited (status 200).
    pub fn count(&self) -> usize {
        self.ok.len()
    }

    /// Every path fetched, whatever the outcome.
    pub fn paths(&self) -> BTreeSet<String> {
        self.ok
            .iter()
            .chain(&self.broken)
            .chain(&self.failed)
            .cloned()
            .collect()
    }

    /// One line: pages, broken links, failures, time.
    pub fn summary(&self) -> String {
        format!(
            "visited {} pages ({} broken links, {} failed) in {:.2} s",
            self.count(),
            self.broken.len(),
            self.failed.len(),
            self.elapsed.as_secs_f64()
        )
    }
}

/// Prints "N pages visited so far" every `PROGRESS_EVERY`, once a crawl has run that long.
struct Ticker {
    started: Instant,
    next: Instant,
}

impl Ticker {
    fn new() -> Ticker {
        let started = Instant::now();
        Ticker {
            started,
            next: started + PROGRESS_EVERY,
        }
    }

    fn tick(&mut self, visited: usize) {
        let now = Instant::now();
        if now >= self.next {
            let secs = (now - self.started).as_secs_f64();
            eprintln!("crawler: {visited} pages visited so far ({secs:.0} s)");
            self.next = now + PROGRESS_EVERY;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The processes.
// ---------------------------------------------------------------------------------------

/// The coordinator: hands each new URL to a fetcher over `urls` (shared by the
/// fetchers), takes fetched pages back on `fetched`, and passes each on to `visited`.
/// Retires `urls` when the queue is empty and no fetch is outstanding, which ends the
/// fetchers and so the network.
pub fn coordinator(
    start: &str,
    max_pages: usize,
    urls: Sender<String>,
    fetched: Receiver<Page>,
    visited: Sender<Page>,
) -> occamy::Result {
    let mut frontier = Frontier::new(start, max_pages)?;
    let mut outstanding = 0usize;
    // The URL on offer: it leaves `next` only when a fetcher takes it.
    let mut next: Option<String> = None;
    loop {
        if next.is_none() {
            next = frontier.pop();
        }
        alt! {
            send_from(urls, &mut next) -> sent => {
                sent?;
                outstanding += 1;
            }
            recv(fetched) -> page if outstanding > 0 => {
                let page = page?;
                outstanding -= 1;
                for link in &page.links {
                    frontier.offer(link);
                }
                visited.send(page)?;
            }
            // Nothing to hand out and nothing outstanding: the crawl is done.
            exhausted => break,
        }
    }
    urls.retire();
    Ok(())
}

/// A fetcher: fetches each URL it is given and sends the page back, until `urls` retires.
pub fn fetcher(urls: Receiver<String>, fetched: Sender<Page>) -> occamy::Result {
    let agent = agent();
    loop {
        let url = match urls.recv() {
            Ok(url) => url,
            Err(RecvError::Retired) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        fetched.send(fetch(&agent, &url))?;
    }
}

/// The progress process: counts the pages, shows progress on long crawls and prints the
/// summary at the end; then hands the report to `keep`.
pub fn progress(visited: Receiver<Page>, keep: impl FnOnce(Report)) -> occamy::Result {
    let mut report = Report::default();
    let mut ticker = Ticker::new();
    loop {
        match visited.recv_timeout(PROGRESS_EVERY) {
            Ok(page) => report.add(&page),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Retired) => break,
            Err(RecvTimeoutError::Poisoned) => return Err(Error::Poisoned),
        }
        ticker.tick(report.count());
    }
    report.elapsed = ticker.started.elapsed();
    // Not `println!`: a closed stdout (`| head`) must not make the process panic.
    let _ = writeln!(io::stdout(), "crawler: {}", report.summary());
    keep(report);
    Ok(())
}

/// The registry for `networks/crawler.ron`: the built-ins, the type `Page`, and the kinds
/// `coordinator`, `fetcher` and `progress`. `progress` hands its report back to a program
/// running the file (`BuildCtx::values_out`): [`crawl_network`] takes it from the run's
/// report.
pub fn registry() -> Registry {
    let mut reg = Registry::with_builtins();
    reg.register_debug_type::<Page>("Page");
    reg.register(
        Kind::new(
            "coordinator",
            "keeps the visited set, hands new URLs to fetchers; \
             ends the crawl when no work is outstanding",
        )
        .output("urls", "String")
        .input("fetched", "Page")
        .output("visited", "Page")
        .required_param(
            "url",
            ParamType::Str,
            "the start URL (http://127.0.0.1:PORT/...)",
        )
        .param(
            "max_pages",
            ParamType::UInt,
            MAX_PAGES as u64,
            "take no new URLs after this many",
        )
        .build(|ctx| {
            let urls = ctx.output::<String>("urls")?;
            let fetched = ctx.input::<Page>("fetched")?;
            let visited = ctx.output::<Page>("visited")?;
            let url: String = ctx.param("url")?;
            let max: u64 = ctx.param("max_pages")?;
            let max = usize::try_from(max).map_err(|_| "param `max_pages` is too large")?;
            Ok(ctx.process(move || coordinator(&url, max, urls, fetched, visited)))
        }),
    );
    reg.register(
        Kind::new(
            "fetcher",
            "fetches each URL over HTTP and sends back its links",
        )
        .input("urls", "String")
        .output("fetched", "Page")
        .build(|ctx| {
            let urls = ctx.input::<String>("urls")?;
            let fetched = ctx.output::<Page>("fetched")?;
            Ok(ctx.process(move || fetcher(urls, fetched)))
        }),
    );
    reg.register(
        Kind::new(
            "progress",
            "counts visited pages, shows progress on long crawls, prints a summary",
        )
        .input("in", "Page")
        .build(|ctx| {
            let visited = ctx.input::<Page>("in")?;
            let out = ctx.values_out::<Report>();
            Ok(ctx.process(move || progress(visited, |r| out.push(r))))
        }),
    );
    reg
}

// ---------------------------------------------------------------------------------------
// The crawls: the network file, the same network in code, and serially.
// ---------------------------------------------------------------------------------------

/// Crawls from `url` with the network in `file` and `fetchers` fetchers.
pub fn crawl_network(file: &Path, url: &str, fetchers: usize) -> Result<Report, String> {
    let sets = [
        ("url".to_string(), url.to_string()),
        ("fetchers".to_string(), fetchers.to_string()),
    ];
    let mut run = network::run_file(file, &sets, &registry()).map_err(|e| e.to_string())?;
    run.result.as_ref().map_err(|e| e.to_string())?;
    let mut report = run
        .take_values::<Report>("progress")
        .map_err(|e| e.to_string())?
        .pop()
        .ok_or("the progress process left no report")?;
    report.elapsed = run.elapsed;
    Ok(report)
}

/// The same network as `networks/crawler.ron`, built in code.
pub fn crawl_parallel(url: &str, fetchers: usize) -> Result<Report, ParError> {
    let (todo_tx, todo_rx) = channel::<String>();
    let (fetched_tx, fetched_rx) = channel::<Page>();
    let (visited_tx, visited_rx) = channel::<Page>();
    todo_tx.set_name("todo");
    fetched_tx.set_name("fetched");
    visited_tx.set_name("visited");
    let collect: Arc<Mutex<Option<Report>>> = Arc::default();
    let start = url.to_string();
    let mut processes = vec![Process::with(
        "coordinator",
        (todo_tx, fetched_rx, visited_tx),
        move |(urls, fetched, visited)| coordinator(&start, MAX_PAGES, urls, fetched, visited),
    )];
    for k in 0..fetchers {
        processes.push(Process::with(
            format!("fetcher[{k}]"),
            (todo_rx.clone(), fetched_tx.clone()),
            |(urls, fetched)| fetcher(urls, fetched),
        ));
    }
    // The fetchers hold the only ends now: when they end, the channels retire.
    drop((todo_rx, fetched_tx));
    let c = collect.clone();
    processes.push(Process::with("progress", visited_rx, move |visited| {
        progress(visited, |r| *lock(&c) = Some(r))
    }));
    let started = Instant::now();
    par(processes)?;
    let mut report = lock(&collect).take().unwrap_or_default();
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The same crawl, one request at a time.
pub fn crawl_serial(url: &str) -> Result<Report, String> {
    let started = Instant::now();
    let agent = agent();
    let mut frontier = Frontier::new(url, MAX_PAGES)?;
    let mut report = Report::default();
    let mut ticker = Ticker::new();
    while let Some(url) = frontier.pop() {
        let page = fetch(&agent, &url);
        for link in &page.links {
            frontier.offer(link);
        }
        report.add(&page);
        ticker.tick(report.count());
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Whether `report` and the server's `requests` show a correct crawl of `site`: every
/// reachable page visited, every broken link tried, nothing failed, each path requested
/// exactly once. `Err` says what is wrong.
pub fn verify(site: &Site, report: &Report, requests: &HashMap<String, u32>) -> Result<(), String> {
    let mut wrong = Vec::new();
    let want_ok: BTreeSet<String> = site.reachable().into_iter().map(Site::path).collect();
    let want_broken: BTreeSet<String> = site.broken_links().into_iter().map(Site::path).collect();
    if report.ok != want_ok {
        wrong.push(format!(
            "visited {} pages, expected {} (missed {:?}, extra {:?})",
            report.ok.len(),
            want_ok.len(),
            want_ok.difference(&report.ok).take(5).collect::<Vec<_>>(),
            report.ok.difference(&want_ok).take(5).collect::<Vec<_>>()
        ));
    }
    if report.broken != want_broken {
        wrong.push(format!(
            "found broken links {:?}, expected {:?}",
            report.broken, want_broken
        ));
    }
    if !report.failed.is_empty() {
        wrong.push(format!("could not fetch {:?}", report.failed));
    }
    let twice: Vec<_> = requests.iter().filter(|(_, &n)| n != 1).collect();
    if !twice.is_empty() {
        wrong.push(format!("requested more than once: {twice:?}"));
    }
    let requested: BTreeSet<String> = requests.keys().cloned().collect();
    if requested != site.expected_paths() {
        wrong.push(format!(
            "the server saw {} paths, expected {}",
            requested.len(),
            site.expected_paths().len()
        ));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

// ---------------------------------------------------------------------------------------
// main: the launcher, or the demo.
// ---------------------------------------------------------------------------------------

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("run") => launch_run(args),
        Some("check" | "kinds" | "dot") => occamy::launcher::main_from(registry(), args),
        _ => match demo(&args[1.min(args.len())..]) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// The `--set NAME=VALUE` (or `--set=NAME=VALUE`) names in `args`.
fn set_names(args: &[OsString]) -> Vec<String> {
    let mut names = Vec::new();
    let mut it = args.iter().filter_map(|a| a.to_str());
    while let Some(a) = it.next() {
        let kv = if a == "--set" {
            it.next()
        } else {
            a.strip_prefix("--set=")
        };
        if let Some((k, _)) = kv.and_then(|kv| kv.split_once('=')) {
            names.push(k.trim().to_string());
        }
    }
    names
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `run`: serve the site, add `--set url=...` (unless given), run the launcher, then
/// report what the server saw.
fn launch_run(mut args: Vec<OsString>) -> ExitCode {
    if set_names(&args).iter().any(|n| n == "url") {
        return occamy::launcher::main_from(registry(), args);
    }
    let pages: usize = env_or("CRAWLER_PAGES", 300).clamp(2, MAX_PAGES);
    let delay = Duration::from_millis(env_or("CRAWLER_DELAY_MS", 20));
    let site = Site::generate(pages, env_or("CRAWLER_SEED", 1));
    let server = match serve(site.clone(), delay) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the site server: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "crawler: serving {pages} pages at {} ({} reachable from /p/0), {} ms per request",
        server.url(),
        site.reachable().len(),
        delay.as_millis()
    );
    args.push("--set".into());
    args.push(format!("url={}", server.start_url()).into());
    let code = occamy::launcher::main_from(registry(), args);
    let requests = server.take_requests();
    server.stop();
    if !requests.is_empty() {
        let once = requests.values().all(|&n| n == 1);
        let all = requests.keys().cloned().collect::<BTreeSet<_>>() == site.expected_paths();
        eprintln!(
            "crawler: the server answered {} requests for {} paths; each path once: {}; \
             every reachable page and broken link: {}",
            requests.values().sum::<u32>(),
            requests.len(),
            if once { "yes" } else { "NO" },
            if all { "yes" } else { "NO" },
        );
    }
    code
}

struct Options {
    pages: usize,
    delay_ms: u64,
    seed: u64,
    fetchers: usize,
    code: bool,
    serial: bool,
    network: PathBuf,
}

const USAGE: &str = "\
usage: crawler [--pages N] [--delay-ms MS] [--fetchers K] [--seed S] [--code | --serial] [--network FILE]
       crawler run|check|kinds|dot ...   (the occamy launcher, with the crawler's kinds)

Serves a generated site on 127.0.0.1 and crawls it with K fetchers (networks/crawler.ron,
or the same network built in code with --code), then serially; checks both and prints
the speedup. --serial does the serial crawl only.
Defaults: --pages 300 --delay-ms 20 --fetchers 8 --seed 1";

fn options(args: &[OsString]) -> Result<Option<Options>, String> {
    let mut o = Options {
        pages: 300,
        delay_ms: 20,
        seed: 1,
        fetchers: 8,
        code: false,
        serial: false,
        network: PathBuf::from(NETWORK_FILE),
    };
    let mut it = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("{name}: `{v}` is not a number"))
        }
        match a.as_str() {
            "--pages" => o.pages = num("--pages", value("--pages")?)?,
            "--delay-ms" => o.delay_ms = num("--delay-ms", value("--delay-ms")?)?,
            "--seed" => o.seed = num("--seed", value("--seed")?)?,
            "--fetchers" => o.fetchers = num("--fetchers", value("--fetchers")?)?,
            "--network" => o.network = PathBuf::from(value("--network")?),
            "--code" => o.code = true,
            "--serial" => o.serial = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if !(2..=MAX_PAGES).contains(&o.pages) {
        return Err(format!("--pages must be between 2 and {MAX_PAGES}"));
    }
    if o.fetchers == 0 || o.fetchers > 256 {
        return Err("--fetchers must be between 1 and 256".into());
    }
    if o.delay_ms > 10_000 {
        return Err("--delay-ms must be at most 10000".into());
    }
    Ok(Some(o))
}

/// Crawls in parallel (unless `--serial`) and serially, checks both, prints the speedup.
/// `Ok(false)` when a check failed.
fn demo(args: &[OsString]) -> Result<bool, String> {
    let Some(o) = options(args)? else {
        return Ok(true);
    };
    let site = Site::generate(o.pages, o.seed);
    let server = serve(site.clone(), Duration::from_millis(o.delay_ms))
        .map_err(|e| format!("cannot start the site server: {e}"))?;
    let url = server.start_url();
    println!(
        "site: {} pages at {}, {} reachable from /p/0, {} broken links; \
         {} ms per request; {} cores",
        o.pages,
        server.url(),
        site.reachable().len(),
        site.broken_links().len(),
        o.delay_ms,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut all_ok = true;
    let mut check = |what: &str, report: &Report| {
        let verdict = verify(&site, report, &server.take_requests());
        println!(
            "{what}: {}; check: {}",
            report.summary(),
            verdict.as_ref().map_or_else(
                |e| format!("FAILED: {e}"),
                |()| { "every reachable page once".to_string() }
            )
        );
        all_ok &= verdict.is_ok();
    };
    let parallel = if o.serial {
        None
    } else {
        let (what, report) = if o.code {
            let r = crawl_parallel(&url, o.fetchers).map_err(|e| e.to_string())?;
            (format!("network in code, {} fetchers", o.fetchers), r)
        } else {
            let r = crawl_network(&o.network, &url, o.fetchers)?;
            let file = o.network.file_name().unwrap_or_default().to_string_lossy();
            (format!("{file}, {} fetchers", o.fetchers), r)
        };
        check(&what, &report);
        Some(report)
    };
    let serial = crawl_serial(&url)?;
    check("serial", &serial);
    if let Some(p) = parallel {
        let same = p.paths() == serial.paths();
        println!(
            "parallel and serial crawls found the same pages: {}",
            if same { "yes" } else { "NO" }
        );
        all_ok &= same;
        println!(
            "speedup: {:.1}x ({:.2} s serial / {:.2} s with {} fetchers)",
            serial.elapsed.as_secs_f64() / p.elapsed.as_secs_f64().max(1e-9),
            serial.elapsed.as_secs_f64(),
            p.elapsed.as_secs_f64(),
            o.fetchers
        );
    }
    server.stop();
    Ok(all_ok)
}
