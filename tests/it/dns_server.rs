//! A real DNS server for tests, on loopback: it answers TXT queries (RFC 1035 over UDP) from a map
//! the test can change while the server runs, and NXDOMAIN for names it does not know. The wire
//! encoding is written here on purpose, independently of the application's client in
//! `src/dns.rs`, so a mistake in one is not mirrored by the other.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;

/// Record types and classes used here.
const TYPE_TXT: u16 = 16;
const CLASS_IN: u16 = 1;
/// Response codes.
const RCODE_NOERROR: u8 = 0;
const RCODE_FORMERR: u8 = 1;
const RCODE_NXDOMAIN: u8 = 3;
const RCODE_NOTIMP: u8 = 4;

/// A TXT server on `127.0.0.1:<random port>`; stops when dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    records: Arc<Mutex<HashMap<String, Vec<String>>>>,
    queries: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl DnsServer {
    pub async fn start() -> DnsServer {
        let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind the test DNS server");
        let addr = sock.local_addr().unwrap();
        let records: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
        let queries = Arc::new(AtomicUsize::new(0));
        let delay_ms = Arc::new(AtomicUsize::new(0));
        let (r, q, d) = (records.clone(), queries.clone(), delay_ms.clone());
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = sock.recv_from(&mut buf).await else { continue };
                q.fetch_add(1, Ordering::SeqCst);
                let answer = {
                    let map = r.lock().unwrap();
                    respond(&buf[..n], |name| map.get(name).cloned())
                };
                let wait = d.load(Ordering::SeqCst) as u64;
                if wait > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                }
                if let Some(answer) = answer {
                    let _ = sock.send_to(&answer, peer).await;
                }
            }
        });
        DnsServer { addr, records, queries, delay_ms, task }
    }

    /// Publishes (or replaces) the TXT records at `name`: one record per value.
    pub fn set_txt(&self, name: &str, values: &[&str]) {
        self.records.lock().unwrap().insert(key(name), values.iter().map(|s| s.to_string()).collect());
    }

    /// Removes `name`; it answers NXDOMAIN again.
    pub fn remove(&self, name: &str) {
        self.records.lock().unwrap().remove(&key(name));
    }

    /// Makes every answer wait this long (a slow resolver).
    pub fn set_delay_ms(&self, ms: usize) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// How many datagrams the server has received.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A resolver address that receives queries and never answers (a black hole).
pub struct SilentResolver {
    pub addr: SocketAddr,
    _sock: std::net::UdpSocket,
}

impl SilentResolver {
    pub fn start() -> SilentResolver {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind the silent resolver");
        SilentResolver { addr: sock.local_addr().unwrap(), _sock: sock }
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Builds the response to one query datagram; `None` for datagrams that are not queries.
pub fn respond(msg: &[u8], lookup: impl Fn(&str) -> Option<Vec<String>>) -> Option<Vec<u8>> {
    if msg.len() < 12 || msg[2] & 0x80 != 0 {
        return None; // too short to answer, or itself a response
    }
    let id = [msg[0], msg[1]];
    let opcode = (msg[2] >> 3) & 0x0f;
    let rd = msg[2] & 0x01;
    let qdcount = u16::from_be_bytes([msg[4], msg[5]]);
    let reply = |rcode: u8, question: &[u8], answers: &[Vec<u8>]| {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(&id);
        // QR=1, opcode echoed, AA=1, TC=0, RD echoed; RA=0, Z=0, RCODE.
        out.push(0x80 | (opcode << 3) | 0x04 | rd);
        out.push(rcode & 0x0f);
        out.extend_from_slice(&(if question.is_empty() { 0u16 } else { 1 }).to_be_bytes());
        out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]); // NSCOUNT, ARCOUNT
        out.extend_from_slice(question);
        for a in answers {
            out.extend_from_slice(a);
        }
        out
    };
    if opcode != 0 {
        return Some(reply(RCODE_NOTIMP, &[], &[]));
    }
    if qdcount != 1 {
        return Some(reply(RCODE_FORMERR, &[], &[]));
    }
    let Some((name, end)) = read_name(msg, 12) else { return Some(reply(RCODE_FORMERR, &[], &[])) };
    let Some(tail) = msg.get(end..end + 4) else { return Some(reply(RCODE_FORMERR, &[], &[])) };
    let qtype = u16::from_be_bytes([tail[0], tail[1]]);
    let qclass = u16::from_be_bytes([tail[2], tail[3]]);
    let question = &msg[12..end + 4];
    let Some(values) = lookup(&name) else { return Some(reply(RCODE_NXDOMAIN, question, &[])) };
    if qtype != TYPE_TXT || qclass != CLASS_IN {
        return Some(reply(RCODE_NOERROR, question, &[])); // the name exists, without such data
    }
    let answers: Vec<Vec<u8>> = values.iter().map(|v| txt_record(v)).collect();
    Some(reply(RCODE_NOERROR, question, &answers))
}

/// One TXT answer whose owner is the question name (a compression pointer to offset 12).
fn txt_record(value: &str) -> Vec<u8> {
    let mut rdata = Vec::new();
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        rdata.push(0);
    }
    for chunk in bytes.chunks(255) {
        rdata.push(chunk.len() as u8);
        rdata.extend_from_slice(chunk);
    }
    let mut rr = vec![0xc0, 12];
    rr.extend_from_slice(&TYPE_TXT.to_be_bytes());
    rr.extend_from_slice(&CLASS_IN.to_be_bytes());
    rr.extend_from_slice(&60u32.to_be_bytes()); // TTL
    rr.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    rr.extend_from_slice(&rdata);
    rr
}

/// Reads an uncompressed question name at `pos`: (lower-case dotted name, position after it).
fn read_name(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut labels = Vec::new();
    loop {
        let len = *msg.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None; // compression is not used in questions of a single-question query
        }
        let label = msg.get(pos..pos + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += len;
    }
    Some((labels.join("."), pos))
}

/// A TXT query for `name` as a stub resolver sends it (for testing the server itself).
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    q
}

mod tests {
    use super::*;
    use std::time::Duration;

    async fn ask(server: SocketAddr, datagram: &[u8]) -> Vec<u8> {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sock.send_to(datagram, server).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let (n, _) = tokio::time::timeout(Duration::from_secs(2), sock.recv_from(&mut buf)).await.unwrap().unwrap();
        buf.truncate(n);
        buf
    }

    #[tokio::test]
    async fn the_test_dns_server_speaks_rfc_1035() {
        let dns = DnsServer::start().await;
        dns.set_txt("_c.Example.com", &["abc", &"x".repeat(300)]);
        let q = query(0xbeef, "_c.example.COM", TYPE_TXT);
        let r = ask(dns.addr, &q).await;
        assert_eq!(&r[..2], &[0xbe, 0xef], "id echoed");
        assert_eq!(r[2] & 0x80, 0x80, "QR set");
        assert_eq!(r[2] & 0x01, 0x01, "RD echoed");
        assert_eq!(r[3] & 0x0f, RCODE_NOERROR);
        assert_eq!(&r[4..12], &[0, 1, 0, 2, 0, 0, 0, 0], "1 question, 2 answers");
        assert_eq!(&r[12..q.len()], &q[12..], "question echoed");
        let a1 = &r[q.len()..];
        assert_eq!(&a1[..12], &[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 4]);
        assert_eq!(&a1[12..16], b"\x03abc");
        let a2 = &a1[16..];
        assert_eq!(&a2[..10], &[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60]);
        assert_eq!(u16::from_be_bytes([a2[10], a2[11]]), 302, "300 bytes as 255 + 45 with two length bytes");
        assert_eq!(a2[12], 255);
        assert_eq!(a2[12 + 256], 45);
        assert_eq!(r.len(), q.len() + 16 + 12 + 302);

        // Unknown names are NXDOMAIN with the question echoed and no answers.
        let r = ask(dns.addr, &query(7, "nope.example.com", TYPE_TXT)).await;
        assert_eq!((r[3] & 0x0f, &r[4..8]), (RCODE_NXDOMAIN, &[0u8, 1, 0, 0][..]));
        // A known name asked for another type: NOERROR, no data.
        let r = ask(dns.addr, &query(8, "_c.example.com", 1)).await;
        assert_eq!((r[3] & 0x0f, &r[6..8]), (RCODE_NOERROR, &[0u8, 0][..]));

        // The application's own client reads what the server publishes, and sees changes live.
        let lookup = |name: &'static str| statibeat::dns::lookup_txt(dns.addr, name, Duration::from_secs(2));
        assert_eq!(lookup("_c.example.com").await.unwrap(), vec!["abc".to_string(), "x".repeat(300)]);
        dns.set_txt("_c.example.com", &["changed"]);
        assert_eq!(lookup("_c.example.com").await.unwrap(), vec!["changed".to_string()]);
        dns.remove("_c.example.com");
        assert_eq!(lookup("_c.example.com").await.unwrap(), Vec::<String>::new());
        assert!(dns.queries() >= 6);
    }
}
