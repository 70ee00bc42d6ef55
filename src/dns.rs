//! A minimal DNS client for one job: reading the TXT records of a custom domain's challenge name
//! (RFC 1035 over UDP) from a configurable resolver.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsError {
    /// The resolver did not answer in time, or answered with a server failure.
    Unavailable(String),
    /// The answer could not be parsed.
    Malformed,
}

/// The resolver to use: configured, else the first `nameserver` in /etc/resolv.conf.
pub fn system_resolver() -> Option<SocketAddr> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .next()
}

/// The TXT strings at `name` (each record's character-strings joined). NXDOMAIN is an empty list.
pub async fn lookup_txt(resolver: SocketAddr, name: &str, timeout: Duration) -> Result<Vec<String>, DnsError> {
    let bind: SocketAddr = if resolver.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().expect("addr");
    let sock = UdpSocket::bind(bind).await.map_err(|e| DnsError::Unavailable(e.to_string()))?;
    sock.connect(resolver).await.map_err(|e| DnsError::Unavailable(e.to_string()))?;
    let id: u16 = rand::random();
    let query = encode_query(id, name).ok_or(DnsError::Malformed)?;
    let mut buf = vec![0u8; 4096];
    for _attempt in 0..2 {
        sock.send(&query).await.map_err(|e| DnsError::Unavailable(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
                Err(_) => break,
                Ok(Err(e)) => return Err(DnsError::Unavailable(e.to_string())),
                Ok(Ok(n)) => match parse_txt_response(id, &buf[..n]) {
                    Some(result) => return result,
                    None => continue, // a stray datagram; keep waiting for ours
                },
            }
        }
    }
    Err(DnsError::Unavailable("no answer from resolver".into()))
}

/// Builds a recursive TXT query for `name`.
pub fn encode_query(id: u16, name: &str) -> Option<Vec<u8>> {
    let mut q = Vec::with_capacity(512);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0, 16, 0, 1]);
    Some(q)
}

/// `None` when the datagram is not the answer to query `id`.
fn parse_txt_response(id: u16, msg: &[u8]) -> Option<Result<Vec<String>, DnsError>> {
    if msg.len() < 12 || u16::from_be_bytes([msg[0], msg[1]]) != id || msg[2] & 0x80 == 0 {
        return None;
    }
    let rcode = msg[3] & 0x0f;
    match rcode {
        0 => {}
        3 => return Some(Ok(Vec::new())),
        _ => return Some(Err(DnsError::Unavailable(format!("resolver answered rcode {rcode}")))),
    }
    let qd = u16::from_be_bytes([msg[4], msg[5]]) as usize;
    let an = u16::from_be_bytes([msg[6], msg[7]]) as usize;
    Some(parse_answers(msg, qd, an).ok_or(DnsError::Malformed))
}

fn parse_answers(msg: &[u8], qd: usize, an: usize) -> Option<Vec<String>> {
    let mut pos = 12;
    for _ in 0..qd {
        pos = skip_name(msg, pos)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        pos = skip_name(msg, pos)?;
        let header = msg.get(pos..pos + 10)?;
        let rtype = u16::from_be_bytes([header[0], header[1]]);
        let rdlen = u16::from_be_bytes([header[8], header[9]]) as usize;
        pos += 10;
        let rdata = msg.get(pos..pos + rdlen)?;
        pos += rdlen;
        if rtype != 16 {
            continue;
        }
        let mut text = Vec::new();
        let mut i = 0;
        while i < rdata.len() {
            let len = rdata[i] as usize;
            text.extend_from_slice(rdata.get(i + 1..i + 1 + len)?);
            i += 1 + len;
        }
        out.push(String::from_utf8_lossy(&text).into_owned());
    }
    Some(out)
}

/// Returns the position after a (possibly compressed) name.
fn skip_name(msg: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *msg.get(pos)? as usize;
        if len == 0 {
            return Some(pos + 1);
        }
        if len & 0xc0 == 0xc0 {
            msg.get(pos + 1)?;
            return Some(pos + 2);
        }
        pos += 1 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_encode_labels() {
        let q = encode_query(0x1234, "_c.example.com.").unwrap();
        assert_eq!(&q[..2], &[0x12, 0x34]);
        assert_eq!(&q[12..], b"\x02_c\x07example\x03com\x00\x00\x10\x00\x01");
        assert!(encode_query(1, "a..b").is_none());
    }

    #[test]
    fn answers_with_compression_and_split_strings_parse() {
        let mut m = vec![0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(b"\x01x\x03com\x00\x00\x10\x00\x01");
        // Answer 1: pointer to offset 12, TXT with two strings.
        m.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 8]);
        m.extend_from_slice(b"\x03abc\x03def");
        // Answer 2: an A record, skipped.
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4]);
        assert_eq!(parse_txt_response(0xabcd, &m), Some(Ok(vec!["abcdef".to_string()])));
        assert_eq!(parse_txt_response(0x0001, &m), None);
        m[3] = 0x83;
        assert_eq!(parse_txt_response(0xabcd, &m), Some(Ok(vec![])));
        m[3] = 0x80;
        m.truncate(40);
        assert_eq!(parse_txt_response(0xabcd, &m), Some(Err(DnsError::Malformed)));
    }
}
