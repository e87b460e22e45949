//! The tokio HTTP example (examples/http_pipeline.rs): requests from many concurrent
//! clients go into the network over a flume bridge and each gets its own answer back;
//! bad requests get 400, 404 and 405 without reaching the network; and shutting down
//! retires the whole network, with nothing left undelivered. Every run is under a
//! watchdog; the server listens on 127.0.0.1 only.

#![cfg(not(loom))]

mod common;
#[path = "../examples/http_pipeline.rs"]
#[allow(dead_code)]
mod http_pipeline;

use common::{watchdog, LIMIT};
use http_pipeline::{factorise, route, serve};
use occamy::ProcessEnd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[test]
fn factorise_gives_the_prime_factors_smallest_first() {
    assert_eq!(factorise(600_851_475_143), [71, 839, 1471, 6857]);
    assert_eq!(factorise(2 * 2 * 2 * 3 * 97), [2, 2, 2, 3, 97]);
    assert_eq!(factorise(1_000_003), [1_000_003]);
    assert_eq!(factorise(u64::MAX), [3, 5, 17, 257, 641, 65537, 6_700_417]);
    assert!(factorise(0).is_empty() && factorise(1).is_empty());
}

#[test]
fn route_reads_the_request_line() {
    assert_eq!(route("GET /factor/12 HTTP/1.1"), Ok(12));
    assert_eq!(
        route("POST /factor/12 HTTP/1.1").unwrap_err().0,
        "405 Method Not Allowed"
    );
    assert_eq!(
        route("GET /factor/x HTTP/1.1").unwrap_err().0,
        "400 Bad Request"
    );
    assert_eq!(
        route("GET /factor/-1 HTTP/1.1").unwrap_err().0,
        "400 Bad Request"
    );
    assert_eq!(route("GET / HTTP/1.1").unwrap_err().0, "404 Not Found");
    assert_eq!(route("").unwrap_err().0, "405 Method Not Allowed");
}

/// One request to the server at `addr`: the status line and the body.
async fn request(addr: std::net::SocketAddr, line: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("{line}\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .expect("send the request");
    let mut response = String::new();
    s.read_to_string(&mut response)
        .await
        .expect("read the response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.lines().next().unwrap_or("").to_string();
    (status, body.to_string())
}

#[test]
fn concurrent_requests_get_their_own_answers_and_shutdown_retires_the_network() {
    watchdog(LIMIT, "the http pipeline", || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(serve(listener, 3, async move {
                let _ = stopped.await;
            }));

            let numbers: Vec<u64> = (0..60u64).map(|i| 1_000 + i * 7_919).collect();
            let clients: Vec<_> = numbers
                .iter()
                .map(|&n| {
                    tokio::spawn(async move {
                        (n, request(addr, &format!("GET /factor/{n} HTTP/1.1")).await)
                    })
                })
                .collect();
            for c in clients {
                let (n, (status, body)) = c.await.unwrap();
                assert_eq!(status, "HTTP/1.1 200 OK", "{n}: {body}");
                let product: Vec<String> = factorise(n).iter().map(u64::to_string).collect();
                assert_eq!(body, format!("{n} = {}\n", product.join(" × ")));
            }
            for (line, want) in [
                ("GET /factor/twelve HTTP/1.1", "HTTP/1.1 400 Bad Request"),
                ("GET /primes HTTP/1.1", "HTTP/1.1 404 Not Found"),
                (
                    "DELETE /factor/3 HTTP/1.1",
                    "HTTP/1.1 405 Method Not Allowed",
                ),
            ] {
                let (status, body) = request(addr, line).await;
                assert_eq!(status, want, "{line}: {body}");
            }

            stop.send(()).unwrap();
            let report = server.await.unwrap();
            assert_eq!(report.answered, numbers.len() as u64);
            assert!(report.outcome.result.is_ok(), "{:?}", report.outcome.result);
            assert_eq!(report.undelivered, 0);
            let ends: Vec<(String, Option<ProcessEnd>)> = report
                .outcome
                .processes
                .iter()
                .map(|p| (p.name.clone(), p.end))
                .collect();
            // The flume side's disconnection ends `requests`, and retirement flows on.
            let want = |name: &str| match name {
                "requests" | "answers" => Some(ProcessEnd::Ok),
                _ => Some(ProcessEnd::Retired),
            };
            assert_eq!(ends.len(), 5, "{ends:?}");
            for (name, end) in &ends {
                assert_eq!(*end, want(name), "{name}: {ends:?}");
            }
        });
    });
}
