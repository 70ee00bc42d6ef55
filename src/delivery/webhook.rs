//! Webhook delivery: Standard Webhooks signatures, a guard against server-side request forgery,
//! and one HTTP/1.1 POST per attempt.
//!
//! Signing (<https://www.standardwebhooks.com>): the secret is `whsec_` + base64 of 32 random
//! bytes; each request carries `webhook-id` (stable across retries, so receivers de-duplicate),
//! `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`:
//! `v1,` + base64(HMAC-SHA256(secret bytes, "<id>.<timestamp>.<body>")).
//!
//! SSRF: the host is resolved here, every address must be public (no loopback, private,
//! link-local, shared, documentation, multicast or reserved range, IPv4-mapped and NAT64 forms
//! included), and the connection goes to the vetted address itself, so a second DNS answer cannot
//! swap in an internal one. Redirects are not followed. `webhook_allow_private` lifts the address
//! check for deployments whose receivers live on a trusted network (and for tests).
//!
//! `https` URLs: TLS over that same vetted connection (see `delivery::tls`), the certificate
//! verified for the URL's host, which is also sent as SNI.

use crate::delivery::tls::TlsClient;
use crate::domain::delivery::FailureClass;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::timeout;
use url::Url;

/// The most one attempt may take, from DNS to the response head.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// How much of a response body is read (and then dropped) before the connection closes.
const MAX_RESPONSE_BODY: usize = 64 * 1024;
/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2000;

/// A new signing secret.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` value for one message.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = STANDARD.decode(key).map_err(|_| "webhook secret is not base64".to_string())?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Checks a webhook URL's form: `http`/`https`, a host, no credentials or fragment. Addresses
/// are checked again at every delivery (DNS can change); an IP literal that can never be public
/// is refused here already unless `allow_private`.
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("at most {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("must be an http or https URL".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    let Some(host) = url.host() else { return Err("must name a host".into()) };
    let literal = match host {
        url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
        url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
        url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost") => {
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        }
        url::Host::Domain(_) => None,
    };
    if let Some(ip) = literal {
        if !allow_private && !is_public(ip) {
            return Err("must not point at a private, loopback or reserved address".into());
        }
    }
    Ok(url)
}

/// Whether an address is reachable on the public internet (see the module doc).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_public_v4(a),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = a.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return is_public_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
            }
            !(a.is_unspecified()
                || a.is_loopback()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard
                || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated) and other ::/96
        }
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let o = a.octets();
    !(a.is_unspecified()
        || o[0] == 0
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 192 && o[1] == 0 && o[2] == 2) // TEST-NET-1
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || (o[0] == 198 && o[1] == 51 && o[2] == 100) // TEST-NET-2
        || (o[0] == 203 && o[1] == 0 && o[2] == 113) // TEST-NET-3
        || a.is_multicast()
        || o[0] >= 240) // reserved and broadcast
}

/// Why an attempt did not deliver: its class (what a tenant is told) and the full message (for
/// the server log only: it can name resolved addresses and internal hosts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookError {
    /// Worth retrying: a network error, a timeout, a response other than 2xx and 410, or a host
    /// name that does not resolve to allowed addresses (DNS can change).
    Transient { class: FailureClass, status: Option<u16>, message: String },
    /// Retrying will not help: the receiver answered 410 Gone, or the URL itself names an address
    /// that is not allowed.
    Permanent { class: FailureClass, status: Option<u16>, message: String },
}

impl WebhookError {
    pub fn status(&self) -> Option<u16> {
        match self {
            WebhookError::Transient { status, .. } | WebhookError::Permanent { status, .. } => *status,
        }
    }

    pub fn class(&self) -> FailureClass {
        match self {
            WebhookError::Transient { class, .. } | WebhookError::Permanent { class, .. } => *class,
        }
    }
}

impl std::fmt::Display for WebhookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookError::Transient { message, .. } => write!(f, "transient: {message}"),
            WebhookError::Permanent { message, .. } => write!(f, "permanent: {message}"),
        }
    }
}

fn transient(class: FailureClass, message: impl Into<String>) -> WebhookError {
    WebhookError::Transient { class, status: None, message: message.into() }
}

fn permanent(class: FailureClass, message: impl Into<String>) -> WebhookError {
    WebhookError::Permanent { class, status: None, message: message.into() }
}

/// One signed request.
pub struct Request<'a> {
    pub url: &'a str,
    pub msg_id: &'a str,
    pub timestamp: i64,
    pub secret: &'a str,
    pub body: &'a str,
    pub user_agent: &'a str,
}

/// Posts one message; `Ok(status)` for a 2xx answer.
pub async fn post(req: &Request<'_>, allow_private: bool, tls: &TlsClient) -> Result<u16, WebhookError> {
    timeout(ATTEMPT_TIMEOUT, attempt(req, allow_private, tls))
        .await
        .map_err(|_| transient(FailureClass::TimedOut, "no answer in 15 s"))?
}

async fn attempt(req: &Request<'_>, allow_private: bool, tls: &TlsClient) -> Result<u16, WebhookError> {
    let url = check_url(req.url, allow_private)
        .map_err(|e| permanent(FailureClass::AddressNotAllowed, format!("webhook_url {e}")))?;
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    // A name that does not resolve and a name that resolves inside the network fail alike (same
    // class, same retries): otherwise a tenant could probe which internal names exist. The
    // difference is in the message, which only the server log sees.
    let refused = |message: String| transient(FailureClass::AddressNotAllowed, message);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| refused(format!("cannot resolve {host}: {e}")))?
        .collect();
    // Every answer must be public, not just the first: a name that also resolves inside the
    // network is refused as a whole.
    if !allow_private {
        if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(refused(format!("{host} resolves to {}, which is not a public address", bad.ip())));
        }
    }
    let addr = *addrs.first().ok_or_else(|| refused(format!("{host} has no address")))?;
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| transient(FailureClass::ConnectionFailed, format!("connect {addr}: {e}")))?;
    let _ = stream.set_nodelay(true);
    let signature =
        sign(req.secret, req.msg_id, req.timestamp, req.body).map_err(|e| permanent(FailureClass::Other, e))?;
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let host_header = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let request = hyper::Request::post(path)
        .header("host", host_header)
        .header("content-type", "application/json")
        .header("user-agent", req.user_agent)
        .header("webhook-id", req.msg_id)
        .header("webhook-timestamp", req.timestamp.to_string())
        .header("webhook-signature", signature)
        .header("connection", "close")
        .body(Full::new(Bytes::copy_from_slice(req.body.as_bytes())))
        .map_err(|e| permanent(FailureClass::Other, format!("request: {e}")))?;
    if url.scheme() == "https" {
        let stream = tls.connect(stream, &host).await.map_err(|e| transient(FailureClass::TlsFailed, e))?;
        exchange(stream, request).await
    } else {
        exchange(stream, request).await
    }
}

/// One request and its response over an open connection (TLS or not).
async fn exchange<S>(stream: S, request: hyper::Request<Full<Bytes>>) -> Result<u16, WebhookError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| transient(FailureClass::ConnectionFailed, format!("handshake: {e}")))?;
    let driver = tokio::spawn(conn);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| transient(FailureClass::ConnectionFailed, format!("request: {e}")))?;
    let status = response.status().as_u16();
    // Drain a little of the body so the receiver sees a clean close; its content is not used.
    let mut body = response.into_body();
    let mut read = 0;
    while read < MAX_RESPONSE_BODY {
        match body.frame().await {
            Some(Ok(f)) => read += f.data_ref().map_or(0, |d| d.len()),
            _ => break,
        }
    }
    driver.abort();
    match status {
        200..=299 => Ok(status),
        410 => Err(WebhookError::Permanent {
            class: FailureClass::HttpStatus,
            status: Some(status),
            message: "410 Gone: the receiver is gone".into(),
        }),
        _ => Err(WebhookError::Transient {
            class: FailureClass::HttpStatus,
            status: Some(status),
            message: format!("answered {status}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let sig = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(new_secret().starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&new_secret()[6..]).unwrap().len(), 32);
    }

    #[test]
    fn only_public_addresses_pass() {
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "93.184.216.34"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_checked_for_form_and_literal_addresses() {
        assert!(check_url("https://hooks.example.com/statibeat?x=1", false).is_ok());
        assert!(check_url("ftp://example.com/", false).is_err());
        assert!(check_url("https://user:pw@example.com/", false).is_err());
        assert!(check_url("https://example.com/#frag", false).is_err());
        assert!(check_url("http://127.0.0.1:8080/", false).is_err());
        assert!(check_url("http://[::1]/", false).is_err());
        assert!(check_url("http://localhost/", false).is_err());
        assert!(check_url("http://169.254.169.254/latest/meta-data", false).is_err());
        assert!(check_url("http://127.0.0.1:8080/", true).is_ok());
        assert!(check_url("not a url", false).is_err());
        assert!(check_url(&format!("https://example.com/{}", "a".repeat(MAX_URL_LEN)), false).is_err());
    }
}
