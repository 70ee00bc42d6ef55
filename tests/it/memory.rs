//! Memory per request is bounded (issue 8, finding 3; decision 0011), measured on the real
//! binary: a page at the component cap with 90 days of impact history, 20 readers at once walking
//! its whole uptime (the largest pages the API serves) and its summary, and the server's peak
//! resident memory (`VmHWM`) stays under [`PEAK_RSS_BOUND_KB`]. SQLite only.

use crate::harness::*;
use crate::process::http_call;
use statibeat::clock::{DAY, HOUR};
use statibeat::service::status::hierarchy::MAX_COMPONENTS;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bound the server's peak resident set must stay under: 100 MB (the goal).
const PEAK_RSS_BOUND_KB: u64 = 100 * 1024;
/// Readers at once.
const READERS: usize = 20;

/// Fills the page with [`MAX_COMPONENTS`] components and three public outages per component in
/// the last 90 days (all before `now`, the real clock the binary will read).
async fn seed_a_full_page(t: &TestApp, page_id: i64, now: i64) {
    let pool = &t.app.db.pool;
    let run = |sql: String| async move { sqlx::query(&sql).execute(pool).await.unwrap() };
    run(format!(
        "INSERT INTO hierarchy_levels (page_id, depth, singular, plural) VALUES ({page_id}, 1, 'Service', 'Services')"
    ))
    .await;
    run(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {MAX_COMPONENTS}) \
         INSERT INTO hierarchy_items (page_id, depth, parent_id, identifier, name, abbreviation, description, \
         display_order, metadata, visible, created_at, updated_at) \
         SELECT {page_id}, 1, NULL, 'component-' || i, 'Component number ' || i, '', '', i, '{{}}', 1, {now}, {now} FROM n"
    ))
    .await;
    let start = now - 89 * DAY;
    run(format!(
        "INSERT INTO incidents (page_id, external_id, request_hash, title, description, status, stage, impact, \
         affected_items_freetext, visibility, started_at, acknowledged_at, resolved_at, resolution_message, report_body, \
         report_state, report_published_at, created_at, updated_at) VALUES ({page_id}, NULL, '', 'History', '', \
         'major_outage', 'resolved', '', '', 'public', {start}, NULL, {now}, '', '', 'draft', NULL, {start}, {now})"
    ))
    .await;
    for k in 0..3 {
        let from = start + k * 30 * DAY;
        let until = from + 2 * HOUR;
        run(format!(
            "INSERT INTO incident_impacts (incident_id, item_id, status, from_at, until_at) \
             SELECT (SELECT MAX(id) FROM incidents), id, 'major_outage', {from}, {until} FROM hierarchy_items \
             WHERE page_id = {page_id}"
        ))
        .await;
    }
}

/// The server process; killed and reaped when dropped, so a failing test leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real binary with public-read rate limits off (the readers share one address).
fn start_server(url: &str) -> (Running, u16) {
    let dir = std::env::temp_dir().join("statibeat-tests");
    let out = dir.join(format!("memory-{}-{}.out", std::process::id(), rand::random::<u32>()));
    let child = Running(
        Command::new(env!("CARGO_BIN_EXE_statibeat"))
            .arg("serve")
            .env("STATIBEAT_DATABASE_URL", url)
            .env("STATIBEAT_LISTEN", "127.0.0.1:0")
            .env("STATIBEAT_BASE_DOMAIN", BASE)
            .env("STATIBEAT_ADMIN_HOST", ADMIN)
            .env("STATIBEAT_RATE_LIMIT_PUBLIC_READ", "0")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start statibeat"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if let Some(addr) = text.lines().find_map(|l| l.strip_prefix("listening on ")) {
            return (child, addr.trim().rsplit(':').next().unwrap().parse().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not start");
}

/// A `/proc/<pid>/status` figure in kB (`VmHWM`: peak resident set; `VmRSS`: now).
fn proc_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("{field} in {status}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .map_or(0, |(_, v)| v.trim().parse().unwrap())
}

/// One GET: (status, body, bytes, time taken).
fn get(port: u16, host: &str, path: &str) -> (u16, serde_json::Value, usize, Duration) {
    let started = Instant::now();
    let (status, head, body) =
        http_call(port, "GET", host, path, &[], None, Duration::from_secs(120)).expect("an answer");
    (status, body, content_length(&head), started.elapsed())
}

/// The uptime paths of every page of components, 200 (the most one request may ask for) each.
fn uptime_pages(port: u16, host: &str) -> Vec<String> {
    let first = "/api/v1/uptime?days=90&limit=200".to_string();
    let mut paths = vec![first.clone()];
    loop {
        let (status, body, _, _) = get(port, host, paths.last().unwrap());
        assert_eq!(status, 200, "{body}");
        match body["next_cursor"].as_str() {
            Some(c) => paths.push(format!("{first}&cursor={c}")),
            None => return paths,
        }
    }
}

/// `READERS` requests at once, reader `i` asking for `paths[i % len]`: each (components, bytes, time).
fn all_at_once(
    port: u16,
    host: &str,
    paths: &[String],
    count: fn(&serde_json::Value) -> usize,
) -> Vec<(usize, usize, Duration)> {
    let readers: Vec<_> = (0..READERS)
        .map(|i| {
            let (host, path) = (host.to_string(), paths[i % paths.len()].clone());
            std::thread::spawn(move || {
                let (status, body, bytes, took) = get(port, &host, &path);
                assert_eq!(status, 200, "{path}: {body}");
                (count(&body), bytes, took)
            })
        })
        .collect();
    readers.into_iter().map(|r| r.join().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_readers_of_a_full_page_keep_the_server_under_100_mb() {
    let t = TestApp::new(Engine::Sqlite).await;
    let a = t.tenant("big").await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    seed_a_full_page(&t, a.page_id, now).await;
    let url = t.url.clone();
    t.app.db.pool.close().await;
    drop(t);

    let (server, port) = start_server(&url);
    let pid = server.0.id();
    let host = a.host.clone();
    let result = tokio::task::spawn_blocking(move || {
        // A first walk (the baseline then includes the connection pool): every component once.
        let paths = uptime_pages(port, &host);
        assert_eq!(paths.len(), (MAX_COMPONENTS as usize).div_ceil(200));
        // More days than the page shows are refused, not computed.
        let (status, body, _, _) = get(port, &host, "/api/v1/uptime?days=365");
        assert_eq!((status, body["field"].as_str()), (400, Some("days")), "{body}");
        let rss_before = proc_kb(pid, "VmRSS");
        let data_len = |b: &serde_json::Value| b["data"].as_array().map_or(0, Vec::len);
        let uptime = all_at_once(port, &host, &paths, data_len);
        let summary = all_at_once(port, &host, &["/api/v1/summary".to_string()], |b| {
            b["components"].as_array().map_or(0, Vec::len)
        });
        (rss_before, uptime, summary, proc_kb(pid, "VmHWM"), proc_kb(pid, "VmRSS"))
    })
    .await;
    drop(server);
    let (rss_before, uptime, summary, peak, rss_after) = result.unwrap();

    assert!(uptime.iter().all(|(n, _, _)| *n == 200), "each answer holds one full page of 200 components");
    assert!(summary.iter().all(|(n, _, _)| *n as i64 == MAX_COMPONENTS), "the summary holds the whole tree");
    let figures =
        |v: &[(usize, usize, Duration)]| (v.iter().map(|x| x.1).max().unwrap(), v.iter().map(|x| x.2).max().unwrap());
    let ((uptime_bytes, uptime_slowest), (summary_bytes, summary_slowest)) = (figures(&uptime), figures(&summary));
    eprintln!(
        "memory: {MAX_COMPONENTS} components x 90 days, {READERS} concurrent requests: RSS before {rss_before} kB, \
         peak (VmHWM) {peak} kB, after {rss_after} kB; uptime?days=90&limit=200: {uptime_bytes} bytes, slowest \
         {uptime_slowest:?}; summary: {summary_bytes} bytes, slowest {summary_slowest:?}"
    );
    assert!(peak <= PEAK_RSS_BOUND_KB, "peak RSS {peak} kB is over the bound of {PEAK_RSS_BOUND_KB} kB");
}
