//! The web-crawler example (examples/crawler.rs), run small: 60 pages, 2 ms per request,
//! 4 fetchers. Each crawl must visit exactly the pages reachable in the generated link
//! graph, request every path exactly once (the server counts), and find the same set as
//! the serial crawl. Every crawl runs under a watchdog; nothing here depends on timing.

mod common;

#[path = "../examples/crawler.rs"]
#[allow(dead_code)]
mod crawler;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use common::{watchdog, LIMIT};
use crawler::{
    crawl_network, crawl_parallel, crawl_serial, registry, resolve, serve, verify, Report,
    ServerHandle, Site, NETWORK_FILE,
};

const PAGES: usize = 60;
const SEED: u64 = 7;
const DELAY: Duration = Duration::from_millis(2);
const FETCHERS: usize = 4;

fn small_site() -> Site {
    Site::generate(PAGES, SEED)
}

/// The checks every crawl of the small site must pass, with the server's request counts.
fn assert_crawled_once(site: &Site, report: &Report, server: &ServerHandle) {
    let requests = server.take_requests();
    assert_eq!(report.count(), site.reachable().len(), "pages visited");
    let reachable: BTreeSet<String> = site.reachable().into_iter().map(Site::path).collect();
    assert_eq!(report.ok, reachable);
    let twice: Vec<_> = requests.iter().filter(|(_, &n)| n != 1).collect();
    assert!(
        twice.is_empty(),
        "paths not requested exactly once: {twice:?}"
    );
    let requested: BTreeSet<String> = requests.keys().cloned().collect();
    assert_eq!(requested, site.expected_paths());
    verify(site, report, &requests).unwrap();
}

#[test]
fn the_site_is_reproducible_with_unreachable_pages_and_broken_links() {
    let site = small_site();
    assert_eq!(site, Site::generate(PAGES, SEED));
    assert_ne!(site, Site::generate(PAGES, SEED + 1));
    assert_eq!(site.pages(), PAGES);
    let reachable = site.reachable();
    assert!(reachable.contains(&0));
    assert!(
        !reachable.contains(&(PAGES - 1)),
        "the last page is an orphan"
    );
    assert!(reachable.len() < PAGES);
    assert!(!site.broken_links().is_empty());
    assert!(site.broken_links().iter().all(|&n| n >= PAGES));
}

#[test]
fn links_resolve_to_absolute_urls_without_fragments() {
    let base = "http://127.0.0.1:8000/p/3";
    assert_eq!(
        resolve(base, "/p/7").as_deref(),
        Some("http://127.0.0.1:8000/p/7")
    );
    assert_eq!(
        resolve(base, "7").as_deref(),
        Some("http://127.0.0.1:8000/p/7")
    );
    assert_eq!(
        resolve(base, "/p/7#part-2").as_deref(),
        Some("http://127.0.0.1:8000/p/7")
    );
    assert_eq!(
        resolve(base, "http://example.invalid/1").as_deref(),
        Some("http://example.invalid/1")
    );
    assert_eq!(resolve(base, "#top"), None);
    assert_eq!(resolve(base, "mailto:someone@example.invalid"), None);
    let html = r#"<a href="/p/1">one</a> <a href="2">two</a>"#;
    assert_eq!(crawler::hrefs(html).collect::<Vec<_>>(), ["/p/1", "2"]);
}

#[test]
fn only_127_0_0_1_is_ever_fetched() {
    // Refused before any request is made.
    let page = crawler::fetch(&crawler::agent(), "http://example.invalid/");
    assert_eq!(page.status, 0);
    assert!(page.links.is_empty());
    assert!(crawler::Frontier::new("http://example.invalid/p/0", 10).is_err());
    assert!(crawler::Frontier::new("", 10).is_err());
    // The frontier keeps other hosts and other ports out, and each URL in once.
    let mut f = crawler::Frontier::new("http://127.0.0.1:8000/p/0", 10).unwrap();
    for url in [
        "http://127.0.0.1:8000/p/1",
        "http://127.0.0.1:8000/p/1",
        "http://127.0.0.1:80001/p/2",
        "http://127.0.0.1:800/p/2",
        "http://example.invalid/p/3",
        "http://127.0.0.1:8000/p/0",
    ] {
        f.offer(url);
    }
    let mut queued = vec![];
    while let Some(u) = f.pop() {
        queued.push(u);
    }
    assert_eq!(
        queued,
        ["http://127.0.0.1:8000/p/0", "http://127.0.0.1:8000/p/1"]
    );
}

#[test]
fn the_network_built_in_code_and_the_serial_crawl_visit_each_reachable_page_once() {
    watchdog(LIMIT, "the crawl built in code", || {
        let site = small_site();
        let server = serve(site.clone(), DELAY).unwrap();
        let parallel = crawl_parallel(&server.start_url(), FETCHERS).unwrap();
        assert_crawled_once(&site, &parallel, &server);
        let serial = crawl_serial(&server.start_url()).unwrap();
        assert_crawled_once(&site, &serial, &server);
        assert_eq!(parallel.paths(), serial.paths());
        assert_eq!(parallel.broken, serial.broken);
    });
}

#[test]
fn the_network_file_visits_each_reachable_page_once() {
    watchdog(LIMIT, "the crawl from networks/crawler.ron", || {
        let site = small_site();
        let server = serve(site.clone(), DELAY).unwrap();
        let report = crawl_network(Path::new(NETWORK_FILE), &server.start_url(), FETCHERS).unwrap();
        assert_crawled_once(&site, &report, &server);
        let serial = crawl_serial(&server.start_url()).unwrap();
        assert_eq!(report.paths(), serial.paths());
    });
}

#[test]
fn the_network_file_runs_with_load_and_start_and_set_url() {
    watchdog(LIMIT, "network::load + start of crawler.ron", || {
        let site = small_site();
        let server = serve(site.clone(), DELAY).unwrap();
        let reg = registry();
        let sets = [
            ("url".to_string(), server.start_url()),
            ("fetchers".to_string(), "3".to_string()),
        ];
        let plan = occamy::network::load(Path::new(NETWORK_FILE), &sets, &reg).unwrap();
        assert_eq!(
            plan.processes
                .iter()
                .filter(|p| &*p.kind == "fetcher")
                .count(),
            3
        );
        let run = occamy::network::start(&plan, &reg, &occamy::Runtime::new())
            .unwrap()
            .wait();
        run.result.unwrap();
        let visited = run.channels.iter().find(|c| c.name == "visited").unwrap();
        assert_eq!(visited.carried as usize, site.expected_paths().len());
        let requests = server.take_requests();
        assert!(requests.values().all(|&n| n == 1), "{requests:?}");
        let requested: BTreeSet<String> = requests.keys().cloned().collect();
        assert_eq!(requested, site.expected_paths());
    });
}

#[test]
fn the_launcher_runs_checks_and_draws_the_network() {
    watchdog(LIMIT, "the launcher on crawler.ron", || {
        let site = small_site();
        let server = serve(site.clone(), DELAY).unwrap();
        let url = format!("url={}", server.start_url());
        let args = [
            "crawler",
            "run",
            NETWORK_FILE,
            "--set",
            &url,
            "--set",
            "fetchers=2",
        ];
        assert_eq!(
            occamy::launcher::main_from(registry(), args),
            ExitCode::SUCCESS
        );
        let requests = server.take_requests();
        assert!(requests.values().all(|&n| n == 1), "{requests:?}");
        assert_eq!(
            requests.keys().cloned().collect::<BTreeSet<_>>(),
            site.expected_paths()
        );

        let check = ["crawler", "check", NETWORK_FILE];
        assert_eq!(
            occamy::launcher::main_from(registry(), check),
            ExitCode::SUCCESS
        );
        let dir = std::env::temp_dir().join(format!("occamy-crawler-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("crawler.dot");
        let out_arg = out.to_str().unwrap();
        let dot = ["crawler", "dot", NETWORK_FILE, "-o", out_arg];
        assert_eq!(
            occamy::launcher::main_from(registry(), dot),
            ExitCode::SUCCESS
        );
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(
            text.contains("coordinator") && text.contains("fetcher[7]"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn a_network_without_a_url_fails_with_a_message_and_stops() {
    watchdog(LIMIT, "crawler.ron without url", || {
        let err = crawl_network(Path::new(NETWORK_FILE), "", 2).unwrap_err();
        assert!(err.contains("no start URL"), "{err}");
        let err = crawl_parallel("http://example.invalid/p/0", 2).unwrap_err();
        assert_eq!(err.process, "coordinator");
        assert!(
            err.to_string().contains("only fetches from 127.0.0.1"),
            "{err}"
        );
    });
}
