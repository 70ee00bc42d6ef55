//! Connection hygiene against the real binary (issue 8, finding 5): slow clients are closed after
//! the header-read timeout while others are served; kept-alive connections may idle for the
//! keep-alive timeout but not trickle a head; one address cannot hold more than its share of
//! connections. SQLite only, like the other process scenarios: this is the socket layer, the
//! same code on both engines.

use crate::harness::*;
use crate::process::{http_call, Server};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A connection to the server from a chosen loopback address (127.0.0.0/8 is all loopback).
async fn connect_from(ip: &str, port: u16) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(ip.parse().unwrap(), 0)).unwrap();
    socket.connect(SocketAddr::from(([127, 0, 0, 1], port))).await.unwrap()
}

/// Reads until the server closes the connection (end of stream or reset); false if it is still
/// open after `within`.
async fn closed_within(stream: &mut (impl AsyncReadExt + Unpin), within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let drained = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout(within, drained).await.is_ok()
}

/// One request on a kept-alive connection; returns the status (the body is read by length).
async fn request(stream: &mut TcpStream, path: &str) -> u16 {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {ADMIN}\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let (head, start) = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break (String::from_utf8_lossy(&raw[..i]).to_ascii_lowercase(), i + 4);
        }
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed before answering");
        raw.extend_from_slice(&buf[..n]);
    };
    let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).unwrap().trim().parse().unwrap();
    while raw.len() < start + len {
        let n = stream.read(&mut buf).await.unwrap();
        raw.extend_from_slice(&buf[..n]);
    }
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

/// A normal request on a fresh connection from 127.0.0.1; (status, how long it took).
async fn timed_call(port: u16, host: &'static str, path: &'static str) -> (u16, Duration) {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let status = http_call(port, "GET", host, path, &[], None, Duration::from_secs(10)).map_or(0, |r| r.0);
        (status, started.elapsed())
    })
    .await
    .unwrap()
}

const SLOW_CLIENTS: usize = 2_000;
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// What a slow client does after connecting: nothing; half a head, then nothing; half a head,
/// then a byte every 300 ms for ever (Slowloris).
async fn slow_client(stream: TcpStream, kind: usize) -> Option<Duration> {
    let opened = Instant::now();
    let (mut rd, mut wr) = stream.into_split();
    if kind > 0 {
        let _ = wr.write_all(b"GET /api/v1/summary HTTP/1.1\r\nHost: demo.status.test\r\nX-Slow: ").await;
    }
    let trickle = async {
        if kind == 2 {
            while wr.write_all(b"a").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        closed = closed_within(&mut rd, HEADER_TIMEOUT + Duration::from_secs(10)) => closed.then(|| opened.elapsed()),
        _ = trickle => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_slow_clients_are_closed_after_the_header_timeout_while_others_are_served() {
    let url = fresh_database(Engine::Sqlite).await;
    // The default bound (256 per address) stays on: the slow clients come from eight addresses.
    let s = Server::start_with(&url, "slow-clients", &[("STATIBEAT_HEADER_READ_TIMEOUT_SECS", "2")]);
    let port = s.port;
    let started = Instant::now();
    let mut slow = tokio::task::JoinSet::new();
    let mut normal = Vec::new();
    for i in 0..SLOW_CLIENTS {
        let stream = connect_from(&format!("127.0.0.{}", 2 + i % 8), port).await;
        slow.spawn(slow_client(stream, i % 3));
        if i % 250 == 249 {
            normal.push(timed_call(port, ADMIN, "/healthz").await);
            normal.push(timed_call(port, "demo.status.test", "/api/v1/summary").await);
        }
    }
    let opened_in = started.elapsed();
    for _ in 0..5 {
        normal.push(timed_call(port, "demo.status.test", "/api/v1/summary").await);
    }
    let mut closed_after = Vec::new();
    while let Some(r) = slow.join_next().await {
        closed_after.push(r.unwrap());
    }
    let still_open = closed_after.iter().filter(|c| c.is_none()).count();
    assert_eq!(still_open, 0, "every slow client is closed by the server");
    let closed_after: Vec<Duration> = closed_after.into_iter().flatten().collect();
    let (earliest, latest) = (closed_after.iter().min().unwrap(), closed_after.iter().max().unwrap());
    let slowest_normal = normal.iter().map(|n| n.1).max().unwrap();
    eprintln!(
        "{SLOW_CLIENTS} slow clients opened in {opened_in:?}; closed after {earliest:?}..{latest:?}; \
         {} normal requests, slowest {slowest_normal:?}",
        normal.len()
    );
    assert!(normal.iter().all(|n| n.0 == 200), "normal requests are answered: {normal:?}");
    assert!(slowest_normal < Duration::from_secs(1), "promptly: {normal:?}");
    // Closed by the timeout, not refused at once, and not much later than it.
    assert!(*earliest >= HEADER_TIMEOUT - Duration::from_millis(300), "{earliest:?}");
    assert!(*latest < HEADER_TIMEOUT + Duration::from_secs(4), "{latest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_may_idle_for_the_keep_alive_timeout_but_not_trickle_a_head() {
    let url = fresh_database(Engine::Sqlite).await;
    let s = Server::start_with(
        &url,
        "keep-alive",
        &[("STATIBEAT_HEADER_READ_TIMEOUT_SECS", "1"), ("STATIBEAT_KEEP_ALIVE_TIMEOUT_SECS", "3")],
    );
    // Idle for longer than the header-read timeout between requests: still served.
    let mut idle = connect_from("127.0.0.1", s.port).await;
    assert_eq!(request(&mut idle, "/healthz").await, 200);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(request(&mut idle, "/healthz").await, 200, "a kept-alive connection may idle past the header timeout");
    // ...and closed once idle for the keep-alive timeout.
    let since = Instant::now();
    assert!(closed_within(&mut idle, Duration::from_secs(6)).await);
    let idled = since.elapsed();
    assert!(idled >= Duration::from_millis(2_700) && idled < Duration::from_millis(4_500), "{idled:?}");

    // A kept-alive connection whose next head trickles in is closed a header timeout after its
    // first byte, long before the keep-alive timeout.
    let mut trickler = connect_from("127.0.0.1", s.port).await;
    assert_eq!(request(&mut trickler, "/healthz").await, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let since = Instant::now();
    trickler.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let (mut rd, mut wr) = trickler.into_split();
    let trickle = async {
        while wr.write_all(b"X").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        closed = closed_within(&mut rd, Duration::from_secs(6)) => assert!(closed),
        _ = trickle => {}
    }
    let took = since.elapsed();
    assert!(took >= Duration::from_millis(800) && took < Duration::from_millis(2_200), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_per_address_bound_are_closed_while_other_addresses_are_served() {
    const BOUND: usize = 50;
    let url = fresh_database(Engine::Sqlite).await;
    let s = Server::start_with(
        &url,
        "per-address",
        &[("STATIBEAT_MAX_CONNECTIONS_PER_ADDRESS", "50"), ("STATIBEAT_RATE_LIMIT_PUBLIC_READ", "2")],
    );
    let mut held = Vec::new();
    for _ in 0..BOUND {
        held.push(connect_from("127.0.0.2", s.port).await);
    }
    // The next one from that address is closed at once, before it can send anything.
    let mut refused = connect_from("127.0.0.2", s.port).await;
    assert!(closed_within(&mut refused, Duration::from_secs(2)).await, "past the bound: closed");
    let mut refused = connect_from("127.0.0.2", s.port).await;
    let _ = refused.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {ADMIN}\r\n\r\n").as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), refused.read_to_end(&mut answer)).await;
    assert!(answer.is_empty(), "no answer past the bound: {}", String::from_utf8_lossy(&answer));
    // Other addresses are served meanwhile.
    for ip in ["127.0.0.3", "127.0.0.1"] {
        let mut other = connect_from(ip, s.port).await;
        assert_eq!(request(&mut other, "/healthz").await, 200, "{ip}");
    }
    // Handlers see the socket's peer address: the per-client rate limit counts addresses apart.
    let summary = |ip: &'static str| async move {
        let mut c = connect_from(ip, s.port).await;
        let req = "GET /api/v1/summary HTTP/1.1\r\nHost: demo.status.test\r\n\r\n";
        c.write_all(req.as_bytes()).await.unwrap();
        let mut buf = [0u8; 12];
        c.read_exact(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[9..]).into_owned()
    };
    assert_eq!(
        [summary("127.0.0.4").await, summary("127.0.0.4").await, summary("127.0.0.4").await],
        ["200", "200", "429"]
    );
    assert_eq!(summary("127.0.0.5").await, "200", "another address has its own budget");
    // The held ones are alive (within the header timeout), and closing some frees their slots.
    let mut first = held.remove(0);
    assert!(!closed_within(&mut first, Duration::from_millis(200)).await, "held connections stay open");
    drop(first);
    held.truncate(BOUND - 10);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut again = connect_from("127.0.0.2", s.port).await;
        let _ = again.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {ADMIN}\r\n\r\n").as_bytes()).await;
        let mut buf = [0u8; 12];
        let served =
            matches!(tokio::time::timeout(Duration::from_secs(1), again.read_exact(&mut buf)).await, Ok(Ok(_)));
        if served {
            assert_eq!(&buf, b"HTTP/1.1 200");
            break;
        }
        assert!(Instant::now() < deadline, "closed connections free their slots");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The operator hears of it once per episode, not once per refused connection.
    let log = std::fs::read_to_string(&s.stderr).unwrap();
    assert_eq!(log.matches("too many connections from one address").count(), 1, "{log}");
}
