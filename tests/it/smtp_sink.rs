//! A real SMTP server for tests on 127.0.0.1: it speaks enough of RFC 5321 for our client,
//! records every accepted message, and can be told to fail.

#![allow(dead_code)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA payload with dot-stuffing undone, CRLF line endings.
    pub data: String,
}

impl Received {
    /// The decoded body of the first MIME part of `content_type` (base64 parts only).
    pub fn part(&self, content_type: &str) -> Option<String> {
        let marker = format!("Content-Type: {content_type}");
        let start = self.data.find(&marker)?;
        let rest = &self.data[start..];
        let body_start = rest.find("\r\n\r\n")? + 4;
        let body = &rest[body_start..];
        let end = body.find("\r\n--").unwrap_or(body.len());
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        Some(String::from_utf8(decode_base64(&b64)).unwrap())
    }

    /// The value of a top-level header.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let prefix = format!("{}:", name.to_ascii_lowercase());
        head.split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Answer the end of DATA with 451 for this many more messages.
    fail_next: usize,
    /// Recipients refused with 550 at RCPT TO.
    reject: HashSet<String>,
}

/// The running sink; cheap to clone.
#[derive(Clone)]
pub struct Sink {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Sink {
    /// Starts a sink on a free port.
    pub async fn start() -> Sink {
        Sink::start_on(0).await
    }

    /// Starts a sink on `port` (0: a free one).
    pub async fn start_on(port: u16) -> Sink {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let sink = Sink { addr: listener.local_addr().unwrap(), state: Arc::default() };
        let state = sink.state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, state.clone()));
            }
        });
        sink
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// How many messages were accepted.
    pub fn count(&self) -> usize {
        self.state.lock().unwrap().received.len()
    }

    /// How many different recipients got at least one message.
    pub fn distinct_recipients(&self) -> usize {
        let s = self.state.lock().unwrap();
        s.received.iter().flat_map(|m| m.to.iter()).collect::<HashSet<_>>().len()
    }

    /// Answer `451` to the next `n` messages.
    pub fn fail_next(&self, n: usize) {
        self.state.lock().unwrap().fail_next = n;
    }

    /// Refuse `address` with `550` at RCPT TO.
    pub fn reject(&self, address: &str) {
        self.state.lock().unwrap().reject.insert(address.to_string());
    }
}

async fn session(stream: TcpStream, state: Arc<Mutex<State>>) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut from = String::new();
    let mut to = Vec::new();
    let _ = w.write_all(b"220 sink.test ESMTP ready\r\n").await;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO ") {
            "250-sink.test greets you\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n".into()
        } else if upper.starts_with("HELO ") {
            "250 sink.test\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            from = angle(&cmd);
            to.clear();
            "250 OK\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = angle(&cmd);
            if state.lock().unwrap().reject.contains(&rcpt) {
                "550 5.1.1 no such user here\r\n".into()
            } else {
                to.push(rcpt);
                "250 OK\r\n".into()
            }
        } else if upper == "DATA" {
            let _ = w.write_all(b"354 go ahead\r\n").await;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).await.unwrap_or(0) == 0 {
                    return;
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            let mut s = state.lock().unwrap();
            if s.fail_next > 0 {
                s.fail_next -= 1;
                "451 4.3.0 try again later\r\n".into()
            } else {
                s.received.push(Received { from: from.clone(), to: to.clone(), data });
                "250 2.0.0 queued\r\n".into()
            }
        } else if upper == "RSET" || upper == "NOOP" {
            "250 OK\r\n".into()
        } else if upper == "QUIT" {
            let _ = w.write_all(b"221 bye\r\n").await;
            return;
        } else {
            "502 5.5.2 command not recognised\r\n".into()
        };
        if w.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn angle(cmd: &str) -> String {
    let a = cmd.find('<').map(|i| i + 1).unwrap_or(0);
    let b = cmd.rfind('>').unwrap_or(cmd.len());
    cmd[a..b].to_string()
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let n = chunk.iter().fold(0u32, |n, &c| (n << 6) | if c == b'=' { 0 } else { val(c) as u32 });
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    out
}
