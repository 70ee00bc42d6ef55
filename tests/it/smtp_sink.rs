//! A real SMTP server for tests on 127.0.0.1: it speaks enough of RFC 5321 for our client,
//! records every accepted message, and can be told to fail. Started with [`Options`] it also
//! offers STARTTLS (RFC 3207) or speaks TLS from the first byte (RFC 8314), and asks for AUTH
//! PLAIN and/or LOGIN (RFC 4954), with the test certificate of `tests/fixtures/tls`.

#![allow(dead_code)]

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A file of `tests/fixtures/tls` (`ca.pem` is what clients trust).
pub fn tls_fixture(name: &str) -> String {
    format!("{}/tests/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The server side of TLS with the test certificate for `localhost` and `127.0.0.1`.
pub fn tls_acceptor() -> TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls_fixture("server.pem")).unwrap().map(|c| c.unwrap()).collect();
    let key = PrivateKeyDer::from_pem_file(tls_fixture("server.key")).unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

/// How a sink talks; the default is the plain sink other tests use.
#[derive(Clone, Default)]
pub struct Options {
    /// Offer STARTTLS. AUTH is then advertised on the encrypted session only, as most relays do.
    pub starttls: bool,
    /// TLS from the first byte (smtps).
    pub implicit_tls: bool,
    /// Require AUTH with these mechanisms (`PLAIN`, `LOGIN`) and this user and password.
    pub auth: Option<(Vec<&'static str>, String, String)>,
}

/// One AUTH exchange the sink saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub mechanism: String,
    pub user: String,
    pub ok: bool,
    /// Whether it happened on an encrypted session.
    pub encrypted: bool,
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA payload with dot-stuffing undone, CRLF line endings.
    pub data: String,
    /// Whether the session was encrypted (STARTTLS or implicit TLS) when the message came.
    pub encrypted: bool,
    /// The user the session authenticated as.
    pub user: Option<String>,
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
    logins: Vec<Login>,
    /// TLS handshakes that failed (the client refused our certificate, say).
    failed_handshakes: usize,
}

/// The running sink; cheap to clone.
#[derive(Clone)]
pub struct Sink {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    options: Options,
}

impl Sink {
    /// Starts a sink on a free port.
    pub async fn start() -> Sink {
        Sink::start_on(0).await
    }

    /// Starts a sink on `port` (0: a free one).
    pub async fn start_on(port: u16) -> Sink {
        Sink::start_with(port, Options::default()).await
    }

    /// Starts a sink on `port` (0: a free one) that talks as `options` say.
    pub async fn start_with(port: u16, options: Options) -> Sink {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let sink = Sink { addr: listener.local_addr().unwrap(), state: Arc::default(), options };
        let (state, options) = (sink.state.clone(), sink.options.clone());
        let acceptor = tls_acceptor();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, state.clone(), options.clone(), acceptor.clone()));
            }
        });
        sink
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every AUTH exchange so far.
    pub fn logins(&self) -> Vec<Login> {
        self.state.lock().unwrap().logins.clone()
    }

    /// How many TLS handshakes failed.
    pub fn failed_handshakes(&self) -> usize {
        self.state.lock().unwrap().failed_handshakes
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

/// One client: TLS first for implicit TLS, then the conversation, started again on the encrypted
/// stream after STARTTLS (without a new greeting, RFC 3207 §4.2).
async fn connection(stream: TcpStream, state: Arc<Mutex<State>>, options: Options, acceptor: TlsAcceptor) {
    if options.implicit_tls {
        match acceptor.accept(stream).await {
            Ok(tls) => {
                session(tls, state, options, true).await;
            }
            Err(_) => state.lock().unwrap().failed_handshakes += 1,
        }
        return;
    }
    if let Some(plain) = session(stream, state.clone(), options.clone(), false).await {
        match acceptor.accept(plain).await {
            Ok(tls) => {
                session(tls, state, options, true).await;
            }
            Err(_) => state.lock().unwrap().failed_handshakes += 1,
        }
    }
}

/// The conversation; returns the stream when the client asked for STARTTLS.
async fn session<S>(stream: S, state: Arc<Mutex<State>>, options: Options, encrypted: bool) -> Option<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut r = BufReader::new(stream);
    let mut from = String::new();
    let mut to = Vec::new();
    let mut user: Option<String> = None;
    let greet = options.implicit_tls || !encrypted;
    if greet {
        say(&mut r, "220 sink.test ESMTP ready\r\n").await.ok()?;
    }
    let offer_auth = options.auth.is_some() && (encrypted || !options.starttls);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return None;
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO ") {
            let mut caps = vec!["sink.test greets you".to_string(), "8BITMIME".into()];
            if options.starttls && !encrypted {
                caps.push("STARTTLS".into());
            }
            if let (true, Some((mechanisms, _, _))) = (offer_auth, &options.auth) {
                caps.push(format!("AUTH {}", mechanisms.join(" ")));
            }
            caps.push("SIZE 10000000".into());
            let last = caps.len() - 1;
            caps.iter().enumerate().map(|(i, c)| format!("250{}{c}\r\n", if i == last { ' ' } else { '-' })).collect()
        } else if upper.starts_with("HELO ") {
            "250 sink.test\r\n".into()
        } else if upper == "STARTTLS" && options.starttls && !encrypted {
            say(&mut r, "220 2.0.0 ready to start TLS\r\n").await.ok()?;
            return Some(r.into_inner());
        } else if upper.starts_with("AUTH ") && offer_auth && user.is_none() {
            let (mechanisms, want_user, want_password) = options.auth.clone().unwrap();
            let mut words = cmd.split_whitespace().skip(1);
            let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
            let initial = words.next().map(str::to_string);
            let given = if !mechanisms.contains(&mechanism.as_str()) {
                None
            } else if mechanism == "PLAIN" {
                let response = match initial {
                    Some(i) => i,
                    None => ask(&mut r, "").await?,
                };
                let decoded = String::from_utf8(decode_base64(&response)).unwrap_or_default();
                let mut parts = decoded.split('\0').skip(1);
                Some((parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string()))
            } else {
                let u = ask(&mut r, "VXNlcm5hbWU6").await?;
                let p = ask(&mut r, "UGFzc3dvcmQ6").await?;
                let text = |b: &str| String::from_utf8(decode_base64(b)).unwrap_or_default();
                Some((text(&u), text(&p)))
            };
            match given {
                None => "504 5.5.4 mechanism not supported\r\n".into(),
                Some((u, p)) => {
                    let ok = u == want_user && p == want_password;
                    let login = Login { mechanism, user: u.clone(), ok, encrypted };
                    state.lock().unwrap().logins.push(login);
                    if ok {
                        user = Some(u);
                        "235 2.7.0 authentication successful\r\n".into()
                    } else {
                        "535 5.7.8 authentication credentials invalid\r\n".into()
                    }
                }
            }
        } else if upper.starts_with("MAIL FROM:") && options.auth.is_some() && user.is_none() {
            "530 5.7.0 authentication required\r\n".into()
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
            say(&mut r, "354 go ahead\r\n").await.ok()?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if r.read_line(&mut l).await.unwrap_or(0) == 0 {
                    return None;
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
                let received = Received { from: from.clone(), to: to.clone(), data, encrypted, user: user.clone() };
                s.received.push(received);
                "250 2.0.0 queued\r\n".into()
            }
        } else if upper == "RSET" || upper == "NOOP" {
            "250 OK\r\n".into()
        } else if upper == "QUIT" {
            let _ = say(&mut r, "221 bye\r\n").await;
            let _ = r.get_mut().shutdown().await;
            return None;
        } else {
            "502 5.5.2 command not recognised\r\n".into()
        };
        say(&mut r, &reply).await.ok()?;
    }
}

async fn say<S: AsyncRead + AsyncWrite + Unpin>(r: &mut BufReader<S>, text: &str) -> std::io::Result<()> {
    r.get_mut().write_all(text.as_bytes()).await?;
    r.get_mut().flush().await
}

/// Sends a `334` challenge and reads the client's answer line.
async fn ask<S: AsyncRead + AsyncWrite + Unpin>(r: &mut BufReader<S>, challenge: &str) -> Option<String> {
    say(r, &format!("334 {challenge}\r\n")).await.ok()?;
    let mut line = String::new();
    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
        return None;
    }
    Some(line.trim_end().to_string())
}

fn angle(cmd: &str) -> String {
    let a = cmd.find('<').map(|i| i + 1).unwrap_or(0);
    let b = cmd.rfind('>').unwrap_or(cmd.len());
    cmd[a..b].to_string()
}

fn decode_base64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s.trim()).unwrap_or_default()
}
