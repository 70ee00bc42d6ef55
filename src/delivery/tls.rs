//! TLS for outgoing connections: SMTP (STARTTLS and implicit TLS) and `https` webhooks.
//!
//! rustls with the ring provider. Trusted: Mozilla's roots (`webpki-roots`) plus the PEM bundle of
//! `tls_ca_file`, if set (a private relay's CA). Certificates are always verified; the name
//! verified (and sent as SNI) is the host of the configured URL. There is no switch to accept
//! invalid certificates.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

pub use tokio_rustls::client::TlsStream;

/// The client side of TLS, shared by every connection; cheap to clone.
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
}

impl TlsClient {
    /// The client trusting the web roots and the certificates of `ca_file`. Built once per file
    /// and process; later calls return the same configuration.
    pub fn load(ca_file: Option<&str>) -> Result<TlsClient, String> {
        static BUILT: OnceLock<Mutex<HashMap<Option<String>, TlsClient>>> = OnceLock::new();
        let mut built = BUILT.get_or_init(Default::default).lock().expect("tls config lock");
        let key = ca_file.map(str::to_string);
        if let Some(c) = built.get(&key) {
            return Ok(c.clone());
        }
        let client = TlsClient { connector: TlsConnector::from(Arc::new(client_config(ca_file)?)) };
        built.insert(key, client.clone());
        Ok(client)
    }

    /// Runs the TLS handshake over `stream`, verifying the certificate for `host` (a DNS name or
    /// an IP address, as written in the URL).
    pub async fn connect<S>(&self, stream: S, host: &str) -> Result<TlsStream<S>, String>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let name = ServerName::try_from(host.to_string()).map_err(|_| format!("'{host}' is not a TLS server name"))?;
        self.connector.connect(name, stream).await.map_err(|e| format!("TLS with {host}: {e}"))
    }
}

fn client_config(ca_file: Option<&str>) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = ca_file {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|e| format!("tls_ca_file {path}: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The certificates of a PEM bundle; a file without any is an error.
pub fn read_ca_file(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = std::fs::read(path).map_err(|e| format!("tls_ca_file {path}: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("tls_ca_file {path}: not a PEM bundle: {e}"))?;
    if certs.is_empty() {
        return Err(format!("tls_ca_file {path}: no CERTIFICATE in the file"));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        format!("{}/tests/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn ca_files_are_checked() {
        assert_eq!(read_ca_file(&fixture("ca.pem")).unwrap().len(), 1);
        assert!(TlsClient::load(Some(&fixture("ca.pem"))).is_ok());
        assert!(TlsClient::load(None).is_ok());
        let missing = TlsClient::load(Some("/nonexistent/ca.pem")).err().unwrap();
        assert!(missing.starts_with("tls_ca_file /nonexistent/ca.pem:"), "{missing}");
        let key_only = read_ca_file(&fixture("server.key")).unwrap_err();
        assert!(key_only.contains("no CERTIFICATE"), "{key_only}");
        let garbage = std::env::temp_dir().join(format!("sb-ca-{}", std::process::id()));
        std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n").unwrap();
        let bad = read_ca_file(&garbage.display().to_string());
        std::fs::remove_file(&garbage).ok();
        assert!(bad.is_err());
    }
}
