//! A minimal SMTP client (RFC 5321) over plain TCP. A [`Connection`] carries any number of mail
//! transactions one after the other (RFC 5321 §3.3), so a worker greets a relay once per batch.
//!
//! TLS is not built yet: `smtps://` and `?tls=required` are refused when the configuration is
//! loaded, so a deployment never believes it sends encrypted mail when it does not.

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
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

/// Where to send mail: a relay reached with `smtp://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
}

impl SmtpTarget {
    /// Parses `smtp://host[:port]` (port 25 by default); refuses what we cannot honour yet.
    pub fn parse(url: &str) -> Result<SmtpTarget, String> {
        if url.starts_with("smtps://") || url.contains("tls=") {
            return Err("smtp_url: TLS (smtps:// or ?tls=required) is not supported yet; \
                        use smtp://host:port to a relay on a trusted network"
                .into());
        }
        let rest = url.strip_prefix("smtp://").ok_or("smtp_url: must start with smtp://")?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '@']) {
            return Err("smtp_url: only smtp://host:port is supported (no credentials, path or options)".into());
        }
        let port = |p: &str| p.parse::<u16>().map_err(|_| format!("smtp_url: '{p}' is not a port"));
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or("smtp_url: unclosed '['")?;
            match after.strip_prefix(':') {
                Some(p) => (h, port(p)?),
                None if after.is_empty() => (h, 25),
                None => return Err("smtp_url: bad host".into()),
            }
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, port(p)?),
                None => (rest, 25),
            }
        };
        if host.is_empty() {
            return Err("smtp_url: no host".into());
        }
        Ok(SmtpTarget { host: host.to_string(), port })
    }
}

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
pub async fn send(target: &SmtpTarget, env: &Envelope<'_>) -> Result<(), SmtpError> {
    let mut c = Connection::open(target, env.helo).await?;
    c.send(env.from, env.to, env.data).await?;
    c.quit().await;
    Ok(())
}

/// An open, greeted SMTP connection.
pub struct Connection {
    s: Session,
}

impl Connection {
    /// Connects and greets (EHLO, or HELO for servers from before RFC 1869).
    pub async fn open(target: &SmtpTarget, helo: &str) -> Result<Connection, SmtpError> {
        let addr = (target.host.as_str(), target.port);
        let stream = timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| transient("connect timed out"))?
            .map_err(|e| transient(&format!("connect: {e}")))?;
        let _ = stream.set_nodelay(true);
        let mut s = Session { io: BufReader::new(stream), broken: false };
        s.expect(COMMAND_TIMEOUT, 220, "greeting").await?;
        s.write(&format!("EHLO {helo}\r\n")).await?;
        let ehlo = s.reply(COMMAND_TIMEOUT).await?;
        if ehlo.code != 250 {
            s.write(&format!("HELO {helo}\r\n")).await?;
            s.expect(COMMAND_TIMEOUT, 250, "HELO").await?;
        }
        Ok(Connection { s })
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

/// A server reply: the code and its text lines joined.
#[derive(Debug)]
struct Reply {
    code: u16,
    text: String,
}

struct Session {
    io: BufReader<TcpStream>,
    /// An I/O error, a timeout or a reply we could not parse: the conversation is lost.
    broken: bool,
}

impl Session {
    async fn write(&mut self, s: &str) -> Result<(), SmtpError> {
        let r = match timeout(COMMAND_TIMEOUT, self.io.get_mut().write_all(s.as_bytes())).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(transient(&format!("write: {e}"))),
            Err(_) => Err(transient("write timed out")),
        };
        self.broken |= r.is_err();
        r
    }

    /// Reads one reply, multi-line (`250-...` continued until `250 ...`) or not.
    async fn reply(&mut self, wait: Duration) -> Result<Reply, SmtpError> {
        let r = self.read_reply(wait).await;
        self.broken |= r.is_err();
        r
    }

    async fn read_reply(&mut self, wait: Duration) -> Result<Reply, SmtpError> {
        let mut text = Vec::new();
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
            text.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(Reply { code, text: text.join(" ") });
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
        let m = format!("{step}: {} {}", r.code, truncate(&r.text));
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
    fn urls_are_plain_smtp_only() {
        assert_eq!(
            SmtpTarget::parse("smtp://mail.example.com:2525"),
            Ok(SmtpTarget { host: "mail.example.com".into(), port: 2525 })
        );
        assert_eq!(SmtpTarget::parse("smtp://relay").unwrap().port, 25);
        assert_eq!(SmtpTarget::parse("smtp://127.0.0.1:25/").unwrap().host, "127.0.0.1");
        assert_eq!(SmtpTarget::parse("smtp://[::1]:587").unwrap(), SmtpTarget { host: "::1".into(), port: 587 });
        assert!(SmtpTarget::parse("smtps://mail.example.com").unwrap_err().contains("not supported yet"));
        assert!(SmtpTarget::parse("smtp://mail.example.com:587?tls=required").unwrap_err().contains("TLS"));
        assert!(SmtpTarget::parse("smtp://user:pw@mail.example.com").is_err());
        assert!(SmtpTarget::parse("http://mail.example.com").is_err());
        assert!(SmtpTarget::parse("smtp://host:port").is_err());
    }

    #[test]
    fn dot_stuffing_doubles_leading_dots_and_ends_with_a_lone_dot() {
        assert_eq!(dot_stuff("a\r\n.b\r\n..c\r\n"), "a\r\n..b\r\n...c\r\n.\r\n");
        assert_eq!(dot_stuff("a\n."), "a\r\n..\r\n.\r\n");
        assert_eq!(dot_stuff("x"), "x\r\n.\r\n");
    }
}
