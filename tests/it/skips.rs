//! Parts of the suite that could not run on this machine, made visible. A passing test's own
//! output is captured and thrown away, so a skip noted there is a skip nobody sees.
//!
//! Each skipped test appends one line `<part>\t<test>` to the file named by `STATIBEAT_SKIP_LOG`
//! (set by `scripts/test`, which counts and names them in its closing line). Each part is also
//! announced once on the real stderr, past the capture, so a plain `cargo test` shows it too.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Mutex;

/// The PostgreSQL half (no `STATIBEAT_TEST_POSTGRES_URL`).
pub const POSTGRES: &str = "PostgreSQL half";
/// Validation of the feeds by Python's `feedparser` and `icalendar`.
pub const FEED_PARSERS: &str = "feed parsers";
/// The headless-chromium scenarios.
pub const BROWSER: &str = "browser";
/// Validation of the rendered pages by the Nu Html Checker (`vnu-jar`, run with `java`).
pub const HTML_CHECKER: &str = "HTML checker";

static ANNOUNCED: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

/// Records that the running test skipped `part`; `why` is the one-line note for the terminal.
/// The test is named by its thread, which the test harness names after it.
pub fn skipped(part: &'static str, why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("(unnamed test)");
    if let Ok(path) = std::env::var("STATIBEAT_SKIP_LOG") {
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("STATIBEAT_SKIP_LOG={path}: {e}"));
        // One write of one short line: appends from parallel tests do not interleave.
        log.write_all(format!("{part}\t{test}\n").as_bytes()).expect("write the skip log");
    }
    let first = ANNOUNCED.lock().unwrap().get_or_insert_with(HashSet::new).insert(part);
    if first {
        let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
    }
}
