//! A counting SMTP sink for the fan-out benchmark (`scripts/bench-fanout`): the same in-process
//! SMTP server the integration tests use, listening on `127.0.0.1:<port>`; it exits once `<count>`
//! messages are accepted and prints the Unix time in milliseconds of the first and the last.
//!
//! Usage: `smtp_sink <port> <count>`

#[path = "../tests/it/smtp_sink.rs"]
mod smtp_sink;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (port, want): (u16, usize) = match (args.get(1).map(|p| p.parse()), args.get(2).map(|c| c.parse())) {
        (Some(Ok(p)), Some(Ok(c))) => (p, c),
        _ => {
            eprintln!("usage: smtp_sink <port> <count>");
            std::process::exit(2);
        }
    };
    let sink = smtp_sink::Sink::start_on(port).await;
    println!("listening on {}", sink.addr);
    let mut first = None;
    loop {
        let n = sink.count();
        if n > 0 && first.is_none() {
            first = Some(now_ms());
        }
        if n >= want {
            println!("first {} last {} count {n}", first.unwrap_or_default(), now_ms());
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
