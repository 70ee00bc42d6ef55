//! A minimal SMTP client (RFC 5321) with TLS and authentication. A [`Connection`] carries any
//! number of mail transactions one after the other (RFC 5321 §3.3), so a worker greets a relay
//! once per batch.
//!
//! TLS: `smtps://` speaks TLS from the first byte (RFC 8314 implicit TLS, port 465 by default).
//! `smtp://` upgrades with STARTTLS (RFC 3207) whenever the server's EHLO offers it and goes on in
//! plain text otherwise; `?tls=required` makes STARTTLS mandatory (an attempt fails, and is
//! retried, when the server does not offer it), `?tls=none` never uses it. An offered upgrade
//! that fails (a certificate that does not verify, say) fails the attempt: there is no fallback
//! to plain text. After STARTTLS the client greets again and forgets what it learnt before.
//!
//! Authentication (RFC 4954): credentials come from the URL (`smtp://user:password@host`,
//! percent-encoded) and go out with AUTH PLAIN, or AUTH LOGIN when that is all the server offers,
//! only over an encrypted connection, or to a loopback host. They never appear in `Debug`
//! output, logs or errors.

pub use crate::delivery::smtp_url::{redact, Credentials, SmtpTarget, TlsMode};

use crate::delivery::smtp_url::is_loopback;
use crate::delivery::tls::{TlsClient, TlsStream};
use crate::domain::types::is_envelope_mailbox;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// RFC 5321 §4.5.3.2 suggests minutes; a relay that takes longer is treated as down.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
const DATA_END_TIMEOUT: Duration = Duration::from_secs(120);
/// The most one message may take, so a slow relay cannot outlast the claim on its row.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(180);
/// A reply longer than this is not an SMTP server we can talk to.
const MAX_REPLY_LINES: usize = 100;

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpError {
    /// A 5xx reply: the server will not take this message; retrying will not help.
    Permanent(String),
    /// A 5xx reply to `RCPT TO`: this address does not accept mail (a bounce).
    RecipientRejected(String),
    /// A 4xx reply, a timeout, a broken connection or an unexpected reply: worth retrying.
    Transient(String),
}

impl std::fmt::Display for SmtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmtpError::Permanent(m) => write!(f, "permanent: {m}"),
            SmtpError::RecipientRejected(m) => write!(f, "recipient rejected: {m}"),
            SmtpError::Transient(m) => write!(f, "transient: {m}"),
        }
    }
}

/// One envelope and its already-formatted message (CRLF line endings, no dot-stuffing yet).
pub struct Envelope<'a> {
    /// The name we greet with (EHLO).
    pub helo: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub data: &'a str,
}

/// Sends one message over its own connection and says goodbye.
pub async fn send(target: &SmtpTarget, tls: &TlsClient, env: &Envelope<'_>) -> Result<(), SmtpError> {
    let mut c = Connection::open(target, env.helo, tls).await?;
    c.send(env.from, env.to, env.data).await?;
    c.quit().await;
    Ok(())
}

/// An open, greeted (and, as configured, encrypted and authenticated) SMTP connection.
pub struct Connection {
    s: Session,
}

impl Connection {
    /// Connects, greets (EHLO, or HELO for servers from before RFC 1869), sets up TLS and
    /// authenticates as the target says.
    pub async fn open(target: &SmtpTarget, helo: &str, tls: &TlsClient) -> Result<Connection, SmtpError> {
        let addr = (target.host.as_str(), target.port);
        let tcp = timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| transient("connect timed out"))?
            .map_err(|e| transient(&format!("connect: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let stream = if target.tls == TlsMode::Implicit {
            Stream::Tls(Box::new(handshake(tls, tcp, &target.host).await?))
        } else {
            Stream::Plain(tcp)
        };
        let mut s = Session { io: BufReader::new(stream), broken: false };
        s.expect(COMMAND_TIMEOUT, 220, "greeting").await?;
        let mut caps = s.greet(helo).await?;
        let offers_starttls = caps.iter().any(|c| c.eq_ignore_ascii_case("STARTTLS"));
        match target.tls {
            TlsMode::Opportunistic | TlsMode::Required if offers_starttls => {
                s.write("STARTTLS\r\n").await?;
                s.expect(COMMAND_TIMEOUT, 220, "STARTTLS").await?;
                s = s.upgrade(tls, &target.host).await?;
                // RFC 3207 §4.2: what the server said before TLS is forgotten; ask again.
                caps = s.greet(helo).await?;
            }
            TlsMode::Required => {
                return Err(transient("the server does not offer STARTTLS, and the SMTP URL says tls=required"))
            }
            _ => {}
        }
        if let Some(credentials) = &target.credentials {
            if !s.is_encrypted() && !is_loopback(&target.host) {
                // A relay configuration problem, not the message's: retried (with backoff) so that
                // no mail is lost while the operator fixes the URL.
                return Err(transient(
                    "configuration: the relay offers no TLS, and credentials are never sent in plain text \
                     (use smtps://, a relay with STARTTLS, or one on a loopback address)",
                ));
            }
            s.authenticate(credentials, &caps).await?;
        }
        Ok(Connection { s })
    }

    /// Whether the conversation is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.s.is_encrypted()
    }

    /// Whether the connection can carry another transaction.
    pub fn is_usable(&self) -> bool {
        !self.s.broken
    }

    /// One mail transaction, within [`SEND_TIMEOUT`]. After a refusal the transaction is reset
    /// (RSET) so the connection stays usable; after a timeout or an I/O error it is not.
    pub async fn send(&mut self, from: &str, to: &str, data: &str) -> Result<(), SmtpError> {
        let r = match timeout(SEND_TIMEOUT, self.transaction(from, to, data)).await {
            Ok(r) => r,
            Err(_) => {
                self.s.broken = true;
                Err(transient("gave up after 3 minutes"))
            }
        };
        if r.is_err() && !self.s.broken && self.s.write("RSET\r\n").await.is_ok() {
            let _ = self.s.expect(COMMAND_TIMEOUT, 250, "RSET").await;
        }
        r
    }

    async fn transaction(&mut self, from: &str, to: &str, data: &str) -> Result<(), SmtpError> {
        // Nothing that could close the command early or start another (`>`, CR, LF) goes out,
        // whatever reached the outbox; a bad recipient is a bounce, a bad sender the operator's.
        if !is_envelope_mailbox(from) {
            return Err(transient("configuration: the sender address is not a valid mailbox"));
        }
        if !is_envelope_mailbox(to) {
            return Err(SmtpError::RecipientRejected("not a valid mailbox (RFC 5321), never sent".into()));
        }
        let s = &mut self.s;
        s.write(&format!("MAIL FROM:<{from}>\r\n")).await?;
        s.expect(COMMAND_TIMEOUT, 250, "MAIL FROM").await?;
        s.write(&format!("RCPT TO:<{to}>\r\n")).await?;
        match s.expect(COMMAND_TIMEOUT, 250, "RCPT TO").await {
            Err(SmtpError::Permanent(m)) => return Err(SmtpError::RecipientRejected(m)),
            r => r?,
        };
        s.write("DATA\r\n").await?;
        s.expect(COMMAND_TIMEOUT, 354, "DATA").await?;
        s.write(&dot_stuff(data)).await?;
        s.expect(DATA_END_TIMEOUT, 250, "end of data").await?;
        Ok(())
    }

    /// Says goodbye; a failed goodbye changes nothing.
    pub async fn quit(mut self) {
        if !self.s.broken && self.s.write("QUIT\r\n").await.is_ok() {
            let _ = self.s.reply(Duration::from_secs(5)).await;
        }
    }
}

/// A TLS handshake within the command timeout. A certificate that does not verify is worth
/// another attempt later (the relay's operator may fix it), like any network failure.
async fn handshake(tls: &TlsClient, tcp: TcpStream, host: &str) -> Result<TlsStream<TcpStream>, SmtpError> {
    timeout(COMMAND_TIMEOUT, tls.connect(tcp, host))
        .await
        .map_err(|_| transient("TLS handshake timed out"))?
        .map_err(|e| transient(&e))
}

/// The DATA payload: lines starting with '.' get another '.', CRLF line endings, then `.` alone.
pub fn dot_stuff(data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 8);
    for line in data.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    if data.ends_with('\n') {
        // `split` yielded a final empty line for the trailing newline; drop its CRLF.
        out.truncate(out.len() - 2);
    }
    out.push_str(".\r\n");
    out
}

fn transient(m: &str) -> SmtpError {
    SmtpError::Transient(m.to_string())
}

/// A server reply: the code and its text lines.
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        self.lines.join(" ")
    }
}

/// The transport under a session: TCP until TLS starts.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

struct Session {
    io: BufReader<Stream>,
    /// An I/O error, a timeout or a reply we could not parse: the conversation is lost.
    broken: bool,
}

impl Session {
    fn is_encrypted(&self) -> bool {
        matches!(self.io.get_ref(), Stream::Tls(_))
    }

    async fn write(&mut self, s: &str) -> Result<(), SmtpError> {
        let io = self.io.get_mut();
        let r = match timeout(COMMAND_TIMEOUT, async {
            io.write_all(s.as_bytes()).await?;
            io.flush().await
        })
        .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(transient(&format!("write: {e}"))),
            Err(_) => Err(transient("write timed out")),
        };
        self.broken |= r.is_err();
        r
    }

    /// EHLO, or HELO when EHLO is refused; the capabilities (the EHLO lines after the first,
    /// none after HELO).
    async fn greet(&mut self, helo: &str) -> Result<Vec<String>, SmtpError> {
        self.write(&format!("EHLO {helo}\r\n")).await?;
        let ehlo = self.reply(COMMAND_TIMEOUT).await?;
        if ehlo.code == 250 {
            return Ok(ehlo.lines.into_iter().skip(1).collect());
        }
        self.write(&format!("HELO {helo}\r\n")).await?;
        self.expect(COMMAND_TIMEOUT, 250, "HELO").await?;
        Ok(Vec::new())
    }

    /// Turns the plain session into a TLS one after the server's `220` to STARTTLS.
    async fn upgrade(self, tls: &TlsClient, host: &str) -> Result<Session, SmtpError> {
        // Anything the server sent after its 220 was sent in plain text and could have been
        // injected by someone in the middle (the STARTTLS command injection attack): refuse.
        if !self.io.buffer().is_empty() {
            return Err(transient("the server sent data after agreeing to STARTTLS"));
        }
        let Stream::Plain(tcp) = self.io.into_inner() else {
            return Err(transient("STARTTLS on a connection that is already encrypted"));
        };
        let stream = handshake(tls, tcp, host).await?;
        Ok(Session { io: BufReader::new(Stream::Tls(Box::new(stream))), broken: false })
    }

    /// AUTH PLAIN (RFC 4616, with the initial response of RFC 4954), or AUTH LOGIN when that is
    /// all the server offers. Nothing said here ends up in an error message but the server's reply.
    async fn authenticate(&mut self, c: &Credentials, caps: &[String]) -> Result<(), SmtpError> {
        let mechanisms: Vec<String> = caps
            .iter()
            .filter_map(|cap| {
                let upper = cap.to_ascii_uppercase();
                upper.strip_prefix("AUTH ").or(upper.strip_prefix("AUTH=")).map(str::to_string)
            })
            .flat_map(|m| m.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect();
        let offers = |m: &str| mechanisms.iter().any(|x| x == m);
        if offers("PLAIN") {
            let token = STANDARD.encode(format!("\0{}\0{}", c.user, c.password()));
            self.write(&format!("AUTH PLAIN {token}\r\n")).await?;
        } else if offers("LOGIN") {
            self.write("AUTH LOGIN\r\n").await?;
            self.expect(COMMAND_TIMEOUT, 334, "AUTH LOGIN").await?;
            self.write(&format!("{}\r\n", STANDARD.encode(&c.user))).await?;
            self.expect(COMMAND_TIMEOUT, 334, "AUTH LOGIN user name").await?;
            self.write(&format!("{}\r\n", STANDARD.encode(c.password()))).await?;
        } else {
            return Err(transient(
                "configuration: the SMTP URL has credentials, but the relay offers neither AUTH PLAIN nor AUTH LOGIN",
            ));
        }
        // Refused credentials are the relay configuration's fault, not the message's: retried, so
        // the queue survives a mistyped password until the operator fixes it.
        match self.expect(COMMAND_TIMEOUT, 235, "AUTH").await {
            Err(SmtpError::Permanent(m)) => Err(SmtpError::Transient(format!("configuration: {m}"))),
            r => r.map(|_| ()),
        }
    }

    /// Reads one reply, multi-line (`250-...` continued until `250 ...`) or not.
    async fn reply(&mut self, wait: Duration) -> Result<Reply, SmtpError> {
        let r = self.read_reply(wait).await;
        self.broken |= r.is_err();
        r
    }

    async fn read_reply(&mut self, wait: Duration) -> Result<Reply, SmtpError> {
        let mut lines = Vec::new();
        for _ in 0..MAX_REPLY_LINES {
            let mut line = String::new();
            let n = match timeout(wait, self.io.read_line(&mut line)).await {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(transient(&format!("read: {e}"))),
                Err(_) => return Err(transient("server did not answer in time")),
            };
            if n == 0 {
                return Err(transient("connection closed by server"));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
            let Some(code) = code.filter(|c| (200..600).contains(c)) else {
                return Err(transient(&format!("unexpected reply: {}", truncate(line))));
            };
            lines.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(Reply { code, lines });
            }
        }
        Err(transient("reply too long"))
    }

    /// Reads a reply and requires `want`; 5xx is permanent, anything else transient.
    async fn expect(&mut self, wait: Duration, want: u16, step: &str) -> Result<Reply, SmtpError> {
        let r = self.reply(wait).await?;
        if r.code == want || (want == 250 && r.code == 251) {
            return Ok(r);
        }
        let m = format!("{step}: {} {}", r.code, truncate(&r.text()));
        Err(if r.code >= 500 { SmtpError::Permanent(m) } else { SmtpError::Transient(m) })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing_doubles_leading_dots_and_ends_with_a_lone_dot() {
        assert_eq!(dot_stuff("a\r\n.b\r\n..c\r\n"), "a\r\n..b\r\n...c\r\n.\r\n");
        assert_eq!(dot_stuff("a\n."), "a\r\n..\r\n.\r\n");
        assert_eq!(dot_stuff("x"), "x\r\n.\r\n");
    }
}
