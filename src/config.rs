//! Configuration: flags > `STATIBEAT_*` environment > optional TOML file > defaults,
//! validated once at start-up.

use crate::domain::types::is_hostname;
use clap::Args;
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// Settings shared by every subcommand. Each flag also reads its `STATIBEAT_*` variable.
#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Address to listen on.
    #[arg(long, env = "STATIBEAT_LISTEN", global = true)]
    pub listen: Option<String>,
    /// `sqlite://path` (default `sqlite://./statibeat.db`) or `postgres://...`.
    #[arg(long, env = "STATIBEAT_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Pages are served at `<url_prefix>.<base_domain>`.
    #[arg(long, env = "STATIBEAT_BASE_DOMAIN", global = true)]
    pub base_domain: Option<String>,
    /// Host of the signed-in web app and org routes (default: the base domain).
    #[arg(long, env = "STATIBEAT_ADMIN_HOST", global = true)]
    pub admin_host: Option<String>,
    /// `http` or `https`: used for links in mail and the cookie `Secure` flag.
    #[arg(long, env = "STATIBEAT_PUBLIC_SCHEME", global = true)]
    pub public_scheme: Option<String>,
    /// `smtp://[user:password@]host[:port][?tls=required|none]` (STARTTLS when offered) or
    /// `smtps://...` (TLS from the start); unset keeps mail in the outbox.
    #[arg(long, env = "STATIBEAT_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// PEM file of CA certificates trusted in addition to the web's roots (SMTP and webhooks).
    #[arg(long, env = "STATIBEAT_TLS_CA_FILE", global = true)]
    pub tls_ca_file: Option<String>,
    /// Sender address of outgoing mail.
    #[arg(long, env = "STATIBEAT_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,
    /// Shared rate limits across instances (reserved; in-process limits when unset).
    #[arg(long, env = "STATIBEAT_REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// DNS server (`ip:port`) used to verify custom domains (default: first nameserver of
    /// /etc/resolv.conf).
    #[arg(long, env = "STATIBEAT_DNS_RESOLVER", global = true)]
    pub dns_resolver: Option<String>,
    /// Public reads per minute per client (0 = off).
    #[arg(long, env = "STATIBEAT_RATE_LIMIT_PUBLIC_READ", global = true)]
    pub rate_limit_public_read: Option<u32>,
    /// Internal-service and authenticated reads per minute (0 = off).
    #[arg(long, env = "STATIBEAT_RATE_LIMIT_INTERNAL_READ", global = true)]
    pub rate_limit_internal_read: Option<u32>,
    /// Admin writes per minute per principal and route (0 = off).
    #[arg(long, env = "STATIBEAT_RATE_LIMIT_ADMIN_WRITE", global = true)]
    pub rate_limit_admin_write: Option<u32>,
    /// Subscriber and access-request creation per minute per client (0 = off).
    #[arg(long, env = "STATIBEAT_RATE_LIMIT_SUBSCRIBE", global = true)]
    pub rate_limit_subscribe: Option<u32>,
    /// Magic-token and viewer-gate flows per minute per client (0 = off).
    #[arg(long, env = "STATIBEAT_RATE_LIMIT_MAGIC", global = true)]
    pub rate_limit_magic: Option<u32>,
    /// How long a page's rendered summary may be served from memory (ms; 0 = off).
    #[arg(long, env = "STATIBEAT_SUMMARY_CACHE_MS", global = true)]
    pub summary_cache_ms: Option<i64>,
    /// Let webhooks reach loopback, private and link-local addresses (off: SSRF guard).
    #[arg(long, env = "STATIBEAT_WEBHOOK_ALLOW_PRIVATE", global = true)]
    pub webhook_allow_private: Option<bool>,
    /// Seconds a client has to send a request's headers (from accepting the connection, or from
    /// the first byte of a later request on a kept-alive one; 0 = off).
    #[arg(long, env = "STATIBEAT_HEADER_READ_TIMEOUT_SECS", global = true)]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a kept-alive connection may wait for its next request (0 = no keep-alive).
    #[arg(long, env = "STATIBEAT_KEEP_ALIVE_TIMEOUT_SECS", global = true)]
    pub keep_alive_timeout_secs: Option<u64>,
    /// Open connections allowed from one client address (the socket's peer; 0 = no bound).
    #[arg(long, env = "STATIBEAT_MAX_CONNECTIONS_PER_ADDRESS", global = true)]
    pub max_connections_per_address: Option<usize>,
    /// Optional TOML file with the same keys (lower-case, without the prefix).
    #[arg(long, env = "STATIBEAT_CONFIG", global = true)]
    pub config: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    database_url: Option<String>,
    base_domain: Option<String>,
    admin_host: Option<String>,
    public_scheme: Option<String>,
    smtp_url: Option<String>,
    tls_ca_file: Option<String>,
    mail_from: Option<String>,
    redis_url: Option<String>,
    dns_resolver: Option<String>,
    rate_limit_public_read: Option<u32>,
    rate_limit_internal_read: Option<u32>,
    rate_limit_admin_write: Option<u32>,
    rate_limit_subscribe: Option<u32>,
    rate_limit_magic: Option<u32>,
    summary_cache_ms: Option<i64>,
    webhook_allow_private: Option<bool>,
    header_read_timeout_secs: Option<u64>,
    keep_alive_timeout_secs: Option<u64>,
    max_connections_per_address: Option<usize>,
}

/// How the server treats connections (see `http::server`); `None` turns a bound off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Option<Duration>,
    /// `None`: one request per connection.
    pub keep_alive_timeout: Option<Duration>,
    pub max_per_address: Option<usize>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Some(Duration::from_secs(10)),
            keep_alive_timeout: Some(Duration::from_secs(60)),
            max_per_address: Some(256),
        }
    }
}

/// Requests per minute for each rate-limit tier; 0 turns a tier off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub public_read: u32,
    pub internal_read: u32,
    pub admin_write: u32,
    pub subscribe: u32,
    pub magic: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { public_read: 100, internal_read: 600, admin_write: 120, subscribe: 10, magic: 30 }
    }
}

/// The validated configuration. `Debug` hides the SMTP password.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub base_domain: String,
    pub admin_host: String,
    pub public_scheme: String,
    /// May carry credentials: never log it as is (see `delivery::smtp::redact`).
    pub smtp_url: Option<String>,
    /// Extra trusted CA certificates (PEM) for outgoing TLS.
    pub tls_ca_file: Option<String>,
    pub mail_from: String,
    pub redis_url: Option<String>,
    pub dns_resolver: Option<SocketAddr>,
    pub rate_limits: RateLimits,
    pub summary_cache_ms: i64,
    /// Webhook targets may be private or loopback addresses (tests, trusted networks).
    pub webhook_allow_private: bool,
    pub connections: ConnectionLimits,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &self.database_url)
            .field("base_domain", &self.base_domain)
            .field("admin_host", &self.admin_host)
            .field("public_scheme", &self.public_scheme)
            .field("smtp_url", &self.smtp_url.as_deref().map(crate::delivery::smtp::redact))
            .field("tls_ca_file", &self.tls_ca_file)
            .field("mail_from", &self.mail_from)
            .field("redis_url", &self.redis_url)
            .field("dns_resolver", &self.dns_resolver)
            .field("rate_limits", &self.rate_limits)
            .field("summary_cache_ms", &self.summary_cache_ms)
            .field("webhook_allow_private", &self.webhook_allow_private)
            .field("connections", &self.connections)
            .finish()
    }
}

impl Config {
    /// Merges flags/env with the optional file and validates the result.
    pub fn load(args: &ConfigArgs) -> Result<Config, String> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("config file {path}: {e}"))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| format!("config file {path}: {e}"))?
            }
            None => FileConfig::default(),
        };
        let pick = |a: &Option<String>, f: Option<String>| a.clone().or(f);
        let listen = pick(&args.listen, file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen.parse().map_err(|_| format!("listen: '{listen}' is not ip:port"))?;
        let database_url =
            pick(&args.database_url, file.database_url).unwrap_or_else(|| "sqlite://./statibeat.db".into());
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            return Err("database_url: must start with sqlite:// or postgres://".into());
        }
        let base_domain = host_setting("base_domain", pick(&args.base_domain, file.base_domain), "localhost")?;
        let admin_host = host_setting("admin_host", pick(&args.admin_host, file.admin_host), &base_domain)?;
        let public_scheme = pick(&args.public_scheme, file.public_scheme).unwrap_or_else(|| "http".into());
        if public_scheme != "http" && public_scheme != "https" {
            return Err("public_scheme: must be http or https".into());
        }
        let mail_from =
            pick(&args.mail_from, file.mail_from).unwrap_or_else(|| format!("StatiBeat <noreply@{base_domain}>"));
        let smtp_url = pick(&args.smtp_url, file.smtp_url).filter(|u| !u.is_empty());
        if let Some(url) = &smtp_url {
            crate::delivery::smtp::SmtpTarget::parse(url)?;
        }
        let tls_ca_file = pick(&args.tls_ca_file, file.tls_ca_file).filter(|f| !f.is_empty());
        // Read and parsed now, so a bad file stops the start instead of the first delivery.
        crate::delivery::tls::TlsClient::load(tls_ca_file.as_deref())?;
        let dns_resolver = match pick(&args.dns_resolver, file.dns_resolver) {
            Some(s) => Some(parse_resolver(&s)?),
            None => None,
        };
        let d = RateLimits::default();
        let rate_limits = RateLimits {
            public_read: args.rate_limit_public_read.or(file.rate_limit_public_read).unwrap_or(d.public_read),
            internal_read: args.rate_limit_internal_read.or(file.rate_limit_internal_read).unwrap_or(d.internal_read),
            admin_write: args.rate_limit_admin_write.or(file.rate_limit_admin_write).unwrap_or(d.admin_write),
            subscribe: args.rate_limit_subscribe.or(file.rate_limit_subscribe).unwrap_or(d.subscribe),
            magic: args.rate_limit_magic.or(file.rate_limit_magic).unwrap_or(d.magic),
        };
        let d = ConnectionLimits::default();
        let secs = |v: Option<u64>, default: Option<Duration>| match v {
            Some(0) => None,
            Some(n) => Some(Duration::from_secs(n)),
            None => default,
        };
        let connections = ConnectionLimits {
            header_read_timeout: secs(
                args.header_read_timeout_secs.or(file.header_read_timeout_secs),
                d.header_read_timeout,
            ),
            keep_alive_timeout: secs(
                args.keep_alive_timeout_secs.or(file.keep_alive_timeout_secs),
                d.keep_alive_timeout,
            ),
            max_per_address: match args.max_connections_per_address.or(file.max_connections_per_address) {
                Some(0) => None,
                Some(n) => Some(n),
                None => d.max_per_address,
            },
        };
        Ok(Config {
            listen,
            database_url,
            base_domain,
            admin_host,
            public_scheme,
            smtp_url,
            tls_ca_file,
            mail_from,
            redis_url: pick(&args.redis_url, file.redis_url),
            dns_resolver,
            rate_limits,
            summary_cache_ms: args.summary_cache_ms.or(file.summary_cache_ms).unwrap_or(1000).max(0),
            webhook_allow_private: args.webhook_allow_private.or(file.webhook_allow_private).unwrap_or(false),
            connections,
        })
    }

    /// The origin of the admin host, e.g. `http://localhost:8080`.
    pub fn admin_origin(&self) -> String {
        self.origin_for(&self.admin_host)
    }

    /// The public origin of any host we serve. The port is kept when the listener is not on the
    /// scheme's default port (local installs); behind a proxy on 80/443 it is omitted.
    pub fn origin_for(&self, host: &str) -> String {
        let port = self.listen.port();
        let default = if self.public_scheme == "https" { 443 } else { 80 };
        let is_local = host == "localhost" || host.ends_with(".localhost");
        if port != default && is_local {
            format!("{}://{host}:{port}", self.public_scheme)
        } else {
            format!("{}://{host}", self.public_scheme)
        }
    }

    /// Whether cookies get `Secure` and the `__Host-` prefix.
    pub fn secure_cookies(&self) -> bool {
        self.public_scheme == "https"
    }
}

fn host_setting(name: &str, value: Option<String>, default: &str) -> Result<String, String> {
    let v = value.unwrap_or_else(|| default.to_string()).to_ascii_lowercase();
    let v = v.strip_suffix('.').unwrap_or(&v).to_string();
    if !is_hostname(&v) {
        return Err(format!("{name}: '{v}' is not a host name"));
    }
    Ok(v)
}

fn parse_resolver(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| format!("dns_resolver: '{s}' is not ip or ip:port"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let c = Config::load(&ConfigArgs::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://./statibeat.db");
        assert_eq!(c.base_domain, "localhost");
        assert_eq!(c.admin_host, "localhost");
        assert_eq!(c.mail_from, "StatiBeat <noreply@localhost>");
        assert_eq!(c.rate_limits, RateLimits::default());
        assert_eq!(c.connections.header_read_timeout, Some(Duration::from_secs(10)));
        assert_eq!(c.connections.keep_alive_timeout, Some(Duration::from_secs(60)));
        assert_eq!(c.connections.max_per_address, Some(256));
        assert_eq!(c.origin_for("demo.localhost"), "http://demo.localhost:8080");
    }

    #[test]
    fn flags_beat_the_file() {
        let dir = std::env::temp_dir().join(format!("sb-conf-{}", std::process::id()));
        std::fs::write(&dir, "base_domain = \"status.test\"\nrate_limit_magic = 5\nlisten = \"0.0.0.0:9000\"\n")
            .unwrap();
        let args = ConfigArgs {
            config: Some(dir.display().to_string()),
            listen: Some("127.0.0.1:9999".into()),
            ..Default::default()
        };
        let c = Config::load(&args).unwrap();
        std::fs::remove_file(&dir).ok();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.base_domain, "status.test");
        assert_eq!(c.admin_host, "status.test");
        assert_eq!(c.rate_limits.magic, 5);
    }

    #[test]
    fn connection_limits_come_from_flags_and_the_file_and_zero_turns_them_off() {
        let file = std::env::temp_dir().join(format!("sb-conf-conn-{}", std::process::id()));
        std::fs::write(
            &file,
            "header_read_timeout_secs = 3\nkeep_alive_timeout_secs = 0\nmax_connections_per_address = 9\n",
        )
        .unwrap();
        let args = ConfigArgs {
            config: Some(file.display().to_string()),
            max_connections_per_address: Some(0),
            ..Default::default()
        };
        let c = Config::load(&args).unwrap();
        std::fs::remove_file(&file).ok();
        assert_eq!(
            c.connections,
            ConnectionLimits {
                header_read_timeout: Some(Duration::from_secs(3)),
                keep_alive_timeout: None,
                max_per_address: None
            }
        );
    }

    #[test]
    fn bad_values_are_refused_with_their_name() {
        let args = ConfigArgs { public_scheme: Some("ftp".into()), ..Default::default() };
        assert!(Config::load(&args).unwrap_err().contains("public_scheme"));
        let args = ConfigArgs { dns_resolver: Some("nope".into()), ..Default::default() };
        assert!(Config::load(&args).unwrap_err().contains("dns_resolver"));
    }

    #[test]
    fn smtp_urls_and_the_ca_file_are_checked_at_start() {
        let smtp = |url: &str| Config::load(&ConfigArgs { smtp_url: Some(url.into()), ..Default::default() });
        assert_eq!(smtp("smtp://127.0.0.1:2525").unwrap().smtp_url.as_deref(), Some("smtp://127.0.0.1:2525"));
        assert!(smtp("smtps://mail.example.com").is_ok());
        assert!(smtp("smtp://mail.example.com:587?tls=required").is_ok());
        assert!(smtp("smtp://mail.example.com:587?tls=sometimes").unwrap_err().contains("smtp_url"));
        assert!(smtp("smtp://u:pw@mail.example.com?tls=none").unwrap_err().contains("plain text"));
        assert_eq!(smtp("").unwrap().smtp_url, None, "an empty variable means unset");
        let c = smtp("smtps://mailer:s3cret@mail.example.com").unwrap();
        let debug = format!("{c:?}");
        assert!(debug.contains("smtps://mailer:<redacted>@mail.example.com") && !debug.contains("s3cret"), "{debug}");

        let ca = |f: &str| Config::load(&ConfigArgs { tls_ca_file: Some(f.into()), ..Default::default() });
        let fixture = format!("{}/tests/fixtures/tls/ca.pem", env!("CARGO_MANIFEST_DIR"));
        assert_eq!(ca(&fixture).unwrap().tls_ca_file, Some(fixture.clone()));
        let file = std::env::temp_dir().join(format!("sb-conf-tls-{}", std::process::id()));
        std::fs::write(&file, format!("tls_ca_file = {fixture:?}\nsmtp_url = \"smtps://relay.example.com\"\n"))
            .unwrap();
        let c = Config::load(&ConfigArgs { config: Some(file.display().to_string()), ..Default::default() });
        std::fs::remove_file(&file).ok();
        assert_eq!(c.unwrap().tls_ca_file, Some(fixture), "the TOML key");
        assert!(ca("/nonexistent.pem").unwrap_err().starts_with("tls_ca_file /nonexistent.pem: "));
        assert_eq!(ca("").unwrap().tls_ca_file, None);
    }
}
